//! What can go wrong in a reference computation, in words for the rubric author.

use tch::TchError;

use super::python::eval::EvalError;
use super::python::ParseError;

/// A reference computation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The question code is not in the supported subset or is not valid Python.
    #[error("{0}")]
    Parse(#[from] ParseError),
    /// The question code parses but cannot be interpreted.
    #[error("{0}")]
    Eval(#[from] EvalError),
    /// The request does not fit the code (no such model, no scalar to differentiate, ...).
    #[error("{0}")]
    Invalid(String),
    /// libtorch refused an operation (e.g. a layer that does not fit its input).
    #[error("libtorch refused {context}: {message}")]
    Torch { context: String, message: String },
    /// The two independent methods gave different answers: a bug, never silently resolved.
    #[error(
        "receptive field after layer {index} ({layer}): autograd measures {autograd:?} but the \
         closed-form recurrence gives {closed_form:?}; refusing to pick one"
    )]
    Disagreement {
        index: usize,
        layer: String,
        autograd: [i64; 2],
        closed_form: [i64; 2],
    },
}

impl Error {
    /// Wraps a libtorch error with what was being done.
    pub fn torch(context: impl Into<String>) -> impl FnOnce(TchError) -> Error {
        let context = context.into();
        move |source| Error::Torch {
            context,
            message: torch_message(&source),
        }
    }
}

/// libtorch's own message without the C++ backtrace that follows it.
pub fn torch_message(err: &TchError) -> String {
    let text = err.to_string();
    let text = text
        .split("\nException raised from")
        .next()
        .unwrap_or(&text);
    let text = text.split("Exception raised from").next().unwrap_or(text);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("unknown error")
        .trim_start_matches("Torch(\"")
        .trim_start_matches("Internal torch error: ")
        .to_string()
}

/// Results of reference computations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
