//! Gradients by autograd: of a scalar the question's code defines (`loss = foo(W, b)`) at its
//! seeded inputs, and the per-layer gradient-norm profile of a deep network, which turns
//! "vanishing gradients" into a measured number.
//!
//! The results are defined here; autograd runs in `examiner-reference` ([`super::client`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::client::{self, Request};
use super::code::Code;
use super::error::Result;

/// Gradient values listed in full up to this many entries.
pub const MAX_VALUES: usize = 1024;

/// The gradient with respect to one tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grad {
    pub shape: Vec<i64>,
    /// Row-major values (the first [`MAX_VALUES`] when `truncated`).
    pub values: Vec<f64>,
    pub truncated: bool,
    /// Euclidean (Frobenius) norm.
    pub norm: f64,
}

/// Gradients of a scalar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gradients {
    /// The name of the differentiated scalar.
    pub of: String,
    /// Its value at the seeded inputs.
    pub value: f64,
    pub gradients: BTreeMap<String, Grad>,
}

/// Differentiates the scalar `of` (default: the last scalar tensor the code assigns) with
/// respect to `wrt` (default: the tensors created with `requires_grad=True`).
pub fn gradient(source: &str, of: Option<&str>, wrt: &[String]) -> Result<Gradients> {
    Code::new(source)?;
    client::compute(&Request::Gradient {
        code: source.to_string(),
        of: of.map(str::to_string),
        wrt: wrt.to_vec(),
    })
}

/// One layer of a gradient-norm profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileStep {
    pub index: usize,
    pub layer: String,
    /// Norm of the loss's gradient with respect to this layer's output.
    pub grad_norm: f64,
}

/// How gradients shrink (or grow) through a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub model: String,
    pub input_shape: Vec<i64>,
    /// What was differentiated.
    pub loss: String,
    /// One entry per layer with parameters (Linear, Conv2d), input side first.
    pub layers: Vec<ProfileStep>,
    /// Gradient norm at the first such layer divided by that at the last.
    pub first_to_last_ratio: f64,
}

/// The per-layer gradient-norm profile of `model`, with PyTorch's default initialisation
/// (seeded), on the code's input or a seeded uniform batch, for the loss `mean(output)`.
pub fn profile(source: &str, model: Option<&str>, input: Option<Vec<i64>>) -> Result<Profile> {
    Code::new(source)?;
    client::compute(&Request::Profile {
        code: source.to_string(),
        model: model.map(str::to_string),
        input,
    })
}
