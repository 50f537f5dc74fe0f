//! examiner's computations that need libtorch, through `tch`: receptive fields by autograd,
//! measured dropout, gradients and gradient profiles, and sentence embeddings. `examiner`
//! itself never links libtorch; it runs this crate's binary, `examiner-reference`, as a
//! subprocess when neither a rubric's key lock nor its cache holds a result
//! (`examiner::reference::client` describes the protocol, [`serve`] answers it).
//!
//! The results, the question-code reader and everything that needs no libtorch (shapes and
//! parameter counts by geometry, closed forms) live in `examiner::reference`.

pub mod dropout;
pub mod embed;
pub mod gradient;
pub mod network;
pub mod receptive_field;
pub mod serve;
pub mod tensors;

use examiner::reference::Error;
use tch::TchError;

/// Wraps a libtorch error with what was being done.
pub fn torch_error(context: impl Into<String>) -> impl FnOnce(TchError) -> Error {
    let context = context.into();
    move |source| Error::Torch {
        context,
        message: torch_message(&source),
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
