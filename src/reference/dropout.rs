//! The drop probability of stacked dropouts: measured by running libtorch's dropout in
//! training mode on a large seeded tensor, and in closed form `q = 1 - prod(1 - p_i)`. Also
//! checks that kept activations are scaled by `1 / (1 - p)`, which keeps the mean. The
//! measurement needs libtorch and runs in `examiner-reference` ([`super::client`]).

use serde::{Deserialize, Serialize};

use super::client::{self, Request};
use super::code::Code;
use super::error::{Error, Result};
use super::layers::Layer;

/// Elements in the measured tensor: the standard error of q is below 2.5e-4.
pub const SAMPLES: i64 = 1 << 22;

/// Stacked dropout, measured and in closed form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropout {
    /// The dropout probabilities, in order.
    pub p: Vec<f64>,
    /// Closed form: the probability that an activation is dropped by at least one layer.
    pub q: f64,
    /// Fraction of the activations libtorch's dropout zeroed.
    pub q_measured: f64,
    /// Standard error of `q_measured` (binomial, with `samples` activations).
    pub stderr: f64,
    pub samples: i64,
    /// Value of a kept activation of input 1: `1 / prod(1 - p_i)` (None when q = 1).
    pub kept_scale: Option<f64>,
    /// Mean of the output for an input of ones: 1 up to sampling error, since the scaling
    /// preserves the mean.
    pub output_mean: f64,
}

/// The closed form.
pub fn closed_form(p: &[f64]) -> f64 {
    1.0 - p.iter().map(|p| 1.0 - p).product::<f64>()
}

/// The dropout probabilities of the stacked `nn.Dropout` layers of a model in `code`.
pub fn probabilities(code: &Code, model: Option<&str>) -> Result<Vec<f64>> {
    let named = code.model(model)?;
    let p: Vec<f64> = named
        .module
        .layers()
        .iter()
        .filter_map(|(_, l)| match l {
            Layer::Dropout { p } => Some(*p),
            _ => None,
        })
        .collect();
    if p.is_empty() {
        return Err(Error::Invalid(format!(
            "the model `{}` has no nn.Dropout layer",
            named.name
        )));
    }
    Ok(p)
}

/// Measures stacked dropout with probabilities `p`, in `examiner-reference`.
pub fn dropout(p: &[f64]) -> Result<Dropout> {
    client::compute(&Request::Dropout { p: p.to_vec() })
}
