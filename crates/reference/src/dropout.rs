//! The drop probability of stacked dropouts, measured by running libtorch's dropout in
//! training mode on a large seeded tensor (the closed form is `examiner`'s).

use examiner::reference::dropout::{closed_form, Dropout};
use examiner::reference::error::{Error, Result};
use tch::{Device, Kind, Tensor};

use crate::tensors::SEED;
use crate::torch_error;

/// Elements in the measured tensor: the standard error of q is below 2.5e-4.
pub const SAMPLES: i64 = 1 << 22;

/// Measures stacked dropout with probabilities `p`.
pub fn dropout(p: &[f64]) -> Result<Dropout> {
    crate::tensors::seeded(|| {
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
            .map_err(torch_error("to allocate the activations"))?;
        let mut x = ones;
        for &pi in p {
            x = x
                .f_dropout(pi, true)
                .map_err(torch_error("to apply dropout"))?;
        }
        let dropped = x
            .f_eq(0.0)
            .and_then(|z| z.f_to_kind(Kind::Double))
            .and_then(|z| z.f_mean(Kind::Double))
            .map_err(torch_error("to count dropped activations"))?
            .double_value(&[]);
        let output_mean = x
            .f_mean(Kind::Double)
            .map_err(torch_error("to average the output"))?
            .double_value(&[]);
        let q = closed_form(p);
        let kept_scale = if q < 1.0 {
            let kept = x
                .f_max()
                .map_err(torch_error("to read a kept activation"))?
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
