//! The drop probability of stacked dropouts: measured by running libtorch's dropout in
//! training mode on a large seeded tensor, and in closed form `q = 1 - prod(1 - p_i)`. Also
//! checks that kept activations are scaled by `1 / (1 - p)`, which keeps the mean.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::code::Code;
use super::error::{Error, Result};
use super::layers::Layer;
use super::tensors::SEED;

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

/// Measures stacked dropout with probabilities `p`.
pub fn dropout(p: &[f64]) -> Result<Dropout> {
    super::tensors::seeded(|| {
        if p.is_empty() {
            return Err(Error::Invalid(
                "give at least one dropout probability".into(),
            ));
        }
        if let Some(bad) = p.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            return Err(Error::Invalid(format!(
                "a dropout probability is between 0 and 1, not {bad}"
            )));
        }
        let _guard = tch::no_grad_guard();
        tch::manual_seed(SEED);
        let ones = Tensor::f_ones([SAMPLES], (Kind::Double, Device::Cpu))
            .map_err(Error::torch("to allocate the activations"))?;
        let mut x = ones;
        for &pi in p {
            x = x
                .f_dropout(pi, true)
                .map_err(Error::torch("to apply dropout"))?;
        }
        let dropped = x
            .f_eq(0.0)
            .and_then(|z| z.f_to_kind(Kind::Double))
            .and_then(|z| z.f_mean(Kind::Double))
            .map_err(Error::torch("to count dropped activations"))?
            .double_value(&[]);
        let output_mean = x
            .f_mean(Kind::Double)
            .map_err(Error::torch("to average the output"))?
            .double_value(&[]);
        let q = closed_form(p);
        let kept_scale = if q < 1.0 {
            let kept = x
                .f_max()
                .map_err(Error::torch("to read a kept activation"))?
                .double_value(&[]);
            Some(kept)
        } else {
            None
        };
        let stderr = (q * (1.0 - q) / SAMPLES as f64).sqrt();
        Ok(Dropout {
            p: p.to_vec(),
            q,
            q_measured: dropped,
            stderr,
            samples: SAMPLES,
            kept_scale,
            output_mean,
        })
    })
}
