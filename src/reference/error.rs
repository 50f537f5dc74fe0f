//! What can go wrong in a reference computation, in words for the rubric author.

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
    /// A computation in `examiner-reference` failed; `located` when `message` starts with the
    /// `line:col` of the question code it is about.
    #[error("{message}")]
    Remote { located: bool, message: String },
    /// The computation needs libtorch and `examiner-reference` cannot be run (not installed,
    /// or it failed): the message says what to do.
    #[error("{0}")]
    Unavailable(String),
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

/// Results of reference computations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
