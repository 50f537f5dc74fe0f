//! Gradients by autograd: of a scalar the question's code defines (`loss = foo(W, b)`) at its
//! seeded inputs, and the per-layer gradient-norm profile of a deep network, which turns
//! "vanishing gradients" into a measured number.

use std::collections::BTreeMap;

use examiner::reference::code::Code;
use examiner::reference::error::{Error, Result};
pub use examiner::reference::gradient::{Grad, Gradients, Profile, ProfileStep, MAX_VALUES};
use examiner::reference::layers::Layer;
use examiner::reference::python::eval::{TensorExpr, Value};
use tch::{Device, Kind, Tensor};

use crate::network::Mode;
use crate::tensors::{Evaluator, SEED};
use crate::torch_error;

/// Differentiates the scalar `of` (default: the last scalar tensor the code assigns) with
/// respect to `wrt` (default: the tensors created with `requires_grad=True`).
pub fn gradient(code: &Code, of: Option<&str>, wrt: &[String]) -> Result<Gradients> {
    crate::tensors::seeded(|| {
        let (of_name, expr) = scalar(code, of)?;
        let wrt = leaves_for(code, wrt)?;
        let mut ev = Evaluator::new(Mode::Default);
        for (_, id) in &wrt {
            ev.require_grad(*id);
        }
        let value = ev.eval(&expr)?;
        if value.numel() != 1 {
            return Err(Error::Invalid(format!(
                "`{of_name}` has shape {:?}; a gradient needs a scalar (wrap it in torch.mean or \
             torch.sum)",
                value.size()
            )));
        }
        let mut inputs = Vec::new();
        for (name, id) in &wrt {
            match ev.leaf(*id) {
                Some(t) => inputs.push(t.shallow_clone()),
                None => {
                    return Err(Error::Invalid(format!(
                        "`{of_name}` does not depend on `{name}`"
                    )))
                }
            }
        }
        let grads = Tensor::f_run_backward(&[&value], &inputs, false, false)
            .map_err(torch_error(format!("to differentiate `{of_name}`")))?;
        let mut gradients = BTreeMap::new();
        for ((name, _), g) in wrt.iter().zip(grads) {
            gradients.insert(name.clone(), summarise(&g)?);
        }
        Ok(Gradients {
            of: of_name,
            value: value.double_value(&[]),
            gradients,
        })
    })
}

fn summarise(g: &Tensor) -> Result<Grad> {
    let flat = g
        .f_to_kind(Kind::Double)
        .and_then(|t| t.f_reshape([-1]))
        .map_err(torch_error("to read a gradient"))?;
    let n = flat.numel();
    let take = n.min(MAX_VALUES);
    let values: Vec<f64> = (0..take as i64).map(|i| flat.double_value(&[i])).collect();
    let norm = flat
        .f_norm()
        .map_err(torch_error("to take a gradient's norm"))?
        .double_value(&[]);
    Ok(Grad {
        shape: g.size(),
        values,
        truncated: n > take,
        norm,
    })
}

fn scalar(code: &Code, of: Option<&str>) -> Result<(String, std::rc::Rc<TensorExpr>)> {
    if of.is_some() {
        return code.tensor(of);
    }
    code.evaluated
        .bindings
        .iter()
        .rev()
        .find_map(|b| match &b.value {
            Value::Tensor(t) if matches!(t.as_ref(), TensorExpr::Reduce(..)) => {
                Some((b.name.clone(), t.clone()))
            }
            _ => None,
        })
        .ok_or_else(|| {
            Error::Invalid(
                "the code assigns no scalar (a torch.mean or torch.sum); name one with --of".into(),
            )
        })
}

/// The leaf tensors to differentiate with respect to, by name and id.
fn leaves_for(code: &Code, wrt: &[String]) -> Result<Vec<(String, usize)>> {
    let leaf = |v: &Value| match v {
        Value::Tensor(t) => match t.as_ref() {
            TensorExpr::Leaf { id, spec, .. } => Some((*id, spec.requires_grad, spec.dtype)),
            _ => None,
        },
        _ => None,
    };
    if wrt.is_empty() {
        let mut out = Vec::new();
        for name in code.evaluated.names() {
            let binding = code.evaluated.get(name).expect("listed");
            if let Some((id, true, _)) = leaf(&binding.value) {
                out.push((name.to_string(), id));
            }
        }
        if out.is_empty() {
            return Err(Error::Invalid(
                "no tensor is created with requires_grad=True; name them with --wrt".into(),
            ));
        }
        return Ok(out);
    }
    wrt.iter()
        .map(|name| {
            let binding = code.evaluated.get(name).ok_or_else(|| {
                Error::Invalid(format!(
                    "the code assigns no `{name}`; it assigns {}",
                    code.names_list()
                ))
            })?;
            match leaf(&binding.value) {
                Some((_, _, examiner::reference::python::eval::DType::Int64)) => Err(
                    Error::Invalid(format!("`{name}` is an integer tensor and has no gradient")),
                ),
                Some((id, _, _)) => Ok((name.clone(), id)),
                None => Err(Error::Invalid(format!(
                    "`{name}` is not a tensor the code creates (it is {})",
                    binding.value.kind()
                ))),
            }
        })
        .collect()
}

/// Batch size of the random input when the code feeds the model none.
const PROFILE_BATCH: i64 = 64;

/// The per-layer gradient-norm profile of `model`, with PyTorch's default initialisation
/// (seeded), on the code's input or a seeded uniform batch, for the loss `mean(output)`.
pub fn profile(code: &Code, model: Option<&str>, input: Option<Vec<i64>>) -> Result<Profile> {
    crate::tensors::seeded(|| {
        let named = code.model(model)?;
        if !named.module.is_sequential() {
            return Err(Error::Invalid(format!(
                "`{}` is not a sequence of layers; the gradient profile follows one path, give \
                 an nn.Sequential",
                named.name
            )));
        }
        let layers = named.module.layers();
        let input_shape = match input.or_else(|| code.input_shape(&named.module)) {
            Some(shape) => shape,
            None => match layers.first() {
                Some((_, Layer::Linear { in_features, .. })) => vec![PROFILE_BATCH, *in_features],
                _ => {
                    return Err(Error::Invalid(format!(
                        "the code feeds `{}` no input; give its shape with --input",
                        named.name
                    )))
                }
            },
        };
        let mut ev = Evaluator::new(Mode::Default);
        let net = ev.network(&named.module)?;
        tch::manual_seed(SEED);
        // The input records gradients so that every layer's output does too.
        let x = Tensor::f_rand(input_shape.as_slice(), (Kind::Float, Device::Cpu))
            .map_err(torch_error("to create the input"))?
            .set_requires_grad(true);
        let mut outputs = Vec::with_capacity(net.len());
        let mut h = x;
        for index in 0..net.len() {
            h = net
                .forward_layer(index, &h)
                .map_err(torch_error(format!("to run layer {index}")))?;
            outputs.push(h.shallow_clone());
        }
        let loss = h
            .f_mean(Kind::Float)
            .map_err(torch_error("to take the loss"))?;
        let with_params: Vec<usize> = layers
            .iter()
            .enumerate()
            .filter(|(_, (_, l))| matches!(l, Layer::Linear { .. } | Layer::Conv2d(_)))
            .map(|(i, _)| i)
            .collect();
        if with_params.is_empty() {
            return Err(Error::Invalid(
                "the model has no Linear or Conv2d layer".into(),
            ));
        }
        let wanted: Vec<&Tensor> = with_params.iter().map(|&i| &outputs[i]).collect();
        let grads = Tensor::f_run_backward(&[&loss], &wanted, false, false)
            .map_err(torch_error("to backpropagate the loss"))?;
        let mut steps = Vec::new();
        for (&index, g) in with_params.iter().zip(grads) {
            // In double: the squares of gradients near 1e-25 underflow float32 to zero.
            let norm = g
                .f_to_kind(Kind::Double)
                .and_then(|g| g.f_norm())
                .map_err(torch_error("to take a gradient norm"))?
                .double_value(&[]);
            steps.push(ProfileStep {
                index,
                layer: layers[index].1.to_string(),
                grad_norm: norm,
            });
        }
        let first = steps.first().map_or(f64::NAN, |s| s.grad_norm);
        let last = steps.last().map_or(f64::NAN, |s| s.grad_norm);
        Ok(Profile {
            model: named.name,
            input_shape,
            loss: "mean of the model's output".into(),
            layers: steps,
            first_to_last_ratio: first / last,
        })
    })
}
