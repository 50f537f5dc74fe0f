//! Autograd gradients at the seeded draws of a `kind: gradient` question. Its input and output
//! ([`GradientSpec`], [`GradientDraws`]) are plain serde types, kept in the key lock; each
//! draw is one gradient request to `examiner-reference` ([`super::client`]).
//!
//! Each draw binds the spec's inputs as float64 tensors (`torch.tensor([...])`, the ones
//! differentiated with `requires_grad=True`), replaces `phi(` in the computation with the
//! draw's activation, and differentiates the loss with the interpreter's
//! [`super::gradient::gradient`].

use crate::answer::gradient_key::{prelude, Draw, GradientDraws, GradientSpec, Tensor64};

use super::code::Code;

/// Runs the computation at every draw, under every activation.
pub fn compute(spec: &GradientSpec) -> Result<GradientDraws, String> {
    spec.validate()?;
    let mut draws = Vec::new();
    for activation in &spec.activations {
        let call = match activation.as_str() {
            "tanh" => "torch.tanh(",
            "sigmoid" => "torch.sigmoid(",
            other => return Err(format!("unknown activation `{other}`")),
        };
        for index in 0..spec.draws {
            let inputs = spec.inputs(index)?;
            let source = format!(
                "{}{}",
                prelude(spec, &inputs),
                spec.code.replace("phi(", call)
            );
            Code::new(&source).map_err(|e| format!("the computation: {e}"))?;
            let g = super::gradient::gradient(&source, Some(&spec.of), &spec.wrt)
                .map_err(|e| format!("autograd at draw {index} ({activation}): {e}"))?;
            if !g.value.is_finite() {
                return Err(format!(
                    "the loss is not finite at draw {index} ({activation}): narrow the draw domain"
                ));
            }
            let mut grads = std::collections::BTreeMap::new();
            for (name, grad) in g.gradients {
                if grad.truncated {
                    return Err(format!("the gradient of `{name}` is too large to store"));
                }
                grads.insert(
                    name,
                    Tensor64 {
                        shape: grad.shape.iter().map(|d| (*d).max(0) as usize).collect(),
                        values: grad.values,
                    },
                );
            }
            draws.push(Draw {
                activation: activation.clone(),
                inputs,
                constants: spec.constants.clone(),
                loss: g.value,
                grads,
            });
        }
    }
    Ok(GradientDraws { draws })
}
