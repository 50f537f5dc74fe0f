//! The receptive field of one output pixel of a CNN, measured two independent ways that must
//! agree: by autograd (which input pixels does one output pixel's gradient reach, with every
//! path through the network open) and by the closed-form recurrence
//! `r += d (k - 1) jump; jump *= stride`. The per-layer trace is what feedback compares a
//! student's intermediate numbers with.

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use super::code::Code;
use super::error::{Error, Result};
use super::layers::{Layer, Mode, Network};
use super::python::eval::{DType, Module};
use super::tensors::module_output_shape;

/// Largest input side tried when looking for an input big enough for the measurement.
const MAX_SIDE: i64 = 1 << 14;

/// The receptive field after one sliding-window layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// Position of the layer in the model (0-based, as `model[i]` in PyTorch).
    pub index: usize,
    pub layer: String,
    /// Height and width, measured by autograd (equal to the closed form, or it is an error).
    pub receptive_field: [i64; 2],
    /// Distance in input pixels between neighbouring outputs of this layer.
    pub jump: [i64; 2],
}

/// The answer to "what is the receptive field of this CNN".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceptiveField {
    pub model: String,
    /// The input the question feeds the model, when known.
    pub input_shape: Option<Vec<i64>>,
    pub receptive_field: [i64; 2],
    /// The model's output shape for `input_shape`.
    pub output_shape: Option<Vec<i64>>,
    pub trace: Vec<TraceStep>,
}

/// Computes the receptive field of `model` (default: the last `nn.Sequential` assigned) in
/// `code`, for `input` (default: the input the code feeds it).
pub fn receptive_field(
    code: &Code,
    model: Option<&str>,
    input: Option<Vec<i64>>,
) -> Result<ReceptiveField> {
    let named = code.model(model)?;
    let input_shape = input.or_else(|| code.input_shape(&named.module));
    let mut result = of_module(&named.module, input_shape.as_deref())?;
    result.model = named.name;
    Ok(result)
}

/// The receptive field of a module, with its output shape for `input_shape` if given.
pub fn of_module(module: &Module, input_shape: Option<&[i64]>) -> Result<ReceptiveField> {
    super::tensors::seeded(|| {
        let layers: Vec<Layer> = module.layers().into_iter().map(|(_, l)| l).collect();
        // Every prefix is measured: the work grows with the square of the depth (issue 15,
        // class 7).
        if layers.len() > super::budget::MAX_LAYERS {
            return Err(Error::Invalid(format!(
                "the model has {} layers; the budget is {}",
                layers.len(),
                super::budget::MAX_LAYERS
            )));
        }
        if let Some(shape) = input_shape {
            if shape.len() != 4 {
                return Err(Error::Invalid(format!(
                    "the input shape {shape:?} is not (N, C, H, W)"
                )));
            }
        }
        for (index, layer) in layers.iter().enumerate() {
            if matches!(
                layer,
                Layer::Linear { .. } | Layer::Flatten { .. } | Layer::Embedding { .. }
            ) {
                return Err(Error::Invalid(format!(
                    "layer {index} ({layer}) connects every input position, so a receptive field \
                 is defined only for the layers before it; give a model of convolutions, \
                 pooling and elementwise layers"
                )));
            }
        }
        if !layers.iter().any(|l| l.window().is_some()) {
            return Err(Error::Invalid(
                "the model has no convolution or pooling layer".to_string(),
            ));
        }
        let channels = input_shape
            .map(|s| s[1])
            .or_else(|| {
                layers.iter().find_map(|l| match l {
                    Layer::Conv2d(c) => Some(c.in_channels),
                    Layer::BatchNorm2d { num_features, .. } => Some(*num_features),
                    _ => None,
                })
            })
            .unwrap_or(1);

        let closed = closed_form(&layers);
        let mut trace = Vec::new();
        for (index, layer) in layers.iter().enumerate() {
            if layer.window().is_none() {
                continue;
            }
            let (rf, jump) = closed[index];
            let measured = measure(&layers[..=index], channels, rf, jump)?;
            if measured != rf {
                return Err(Error::Disagreement {
                    index,
                    layer: layer.to_string(),
                    autograd: measured,
                    closed_form: rf,
                });
            }
            trace.push(TraceStep {
                index,
                layer: layer.to_string(),
                receptive_field: measured,
                jump,
            });
        }
        let receptive_field = trace.last().expect("a window layer exists").receptive_field;
        let output_shape = match input_shape {
            Some(shape) => {
                let mut peak = 0;
                Some(module_output_shape(
                    module,
                    shape,
                    DType::Float32,
                    &mut peak,
                )?)
            }
            None => None,
        };
        Ok(ReceptiveField {
            model: String::new(),
            input_shape: input_shape.map(<[i64]>::to_vec),
            receptive_field,
            output_shape,
            trace,
        })
    })
}

/// The recurrence, per layer: receptive field and jump after each layer.
pub fn closed_form(layers: &[Layer]) -> Vec<([i64; 2], [i64; 2])> {
    let mut rf = [1i64, 1];
    let mut jump = [1i64, 1];
    layers
        .iter()
        .map(|layer| {
            if let Some(w) = layer.window() {
                for d in 0..2 {
                    rf[d] = rf[d].saturating_add(
                        w.dilation[d]
                            .saturating_mul(w.kernel[d] - 1)
                            .saturating_mul(jump[d]),
                    );
                    jump[d] = jump[d].saturating_mul(w.stride[d]);
                }
            }
            (rf, jump)
        })
        .collect()
}

/// Measures the receptive field of the last layer of `layers` by autograd: the gradient of one
/// output pixel (channel 0, away from the borders) with respect to the input is nonzero
/// exactly on the pixels it sees, because every weight is one, activations are identities and
/// max pooling is replaced by average pooling. The input grows until the field it finds
/// touches no border, so the answer never depends on the size guessed first.
fn measure(layers: &[Layer], channels: i64, guess: [i64; 2], jump: [i64; 2]) -> Result<[i64; 2]> {
    let net = Network::new(layers, Mode::OpenPaths)
        .map_err(Error::torch("to build the open-path network"))?;
    let mut side = [0i64; 2];
    for d in 0..2 {
        side[d] = (2 * guess[d] + 4 * jump[d] + 8).min(MAX_SIDE);
    }
    loop {
        match measure_once(&net, channels, side)? {
            Some(found) => return Ok(found),
            None if side[0] >= MAX_SIDE && side[1] >= MAX_SIDE => {
                return Err(Error::Invalid(format!(
                    "the receptive field reaches the border of a {MAX_SIDE}x{MAX_SIDE} input; \
                     it is too large to measure"
                )))
            }
            None => side = [(side[0] * 2).min(MAX_SIDE), (side[1] * 2).min(MAX_SIDE)],
        }
    }
}

/// One measurement on an input of `side`; `None` when the field touches the input's border
/// or the output is empty (the input was too small).
fn measure_once(net: &Network, channels: i64, side: [i64; 2]) -> Result<Option<[i64; 2]>> {
    // Budget before allocating (issue 15, class 7): the input, and the activations every
    // layer keeps for the backward pass (bounded by input size times depth).
    let elements = channels
        .max(1)
        .saturating_mul(side[0])
        .saturating_mul(side[1])
        .saturating_mul(net.len() as i64 + 1);
    if elements > super::budget::MAX_INPUT_ELEMENTS {
        return Err(Error::Invalid(format!(
            "measuring this receptive field needs a {channels}x{}x{} input through {} layers, \
             over the budget of {} elements",
            side[0],
            side[1],
            net.len(),
            super::budget::MAX_INPUT_ELEMENTS
        )));
    }
    let opts = (Mode::OpenPaths.kind(), Device::Cpu);
    let input = Tensor::f_ones([1, channels, side[0], side[1]], opts)
        .map_err(Error::torch("to allocate the input"))?
        .set_requires_grad(true);
    let output = match net.forward(&input) {
        Ok(o) => o,
        // Too small an input for the kernels: grow it.
        Err(_) => return Ok(None),
    };
    let size = output.size();
    let (oh, ow) = (size[2], size[3]);
    if oh < 3 || ow < 3 {
        return Ok(None);
    }
    let pixel = output
        .f_select(1, 0)
        .and_then(|t| t.f_select(1, oh / 2))
        .and_then(|t| t.f_select(1, ow / 2))
        .and_then(|t| t.f_sum(Mode::OpenPaths.kind()))
        .map_err(Error::torch("to select an output pixel"))?;
    let grads = Tensor::f_run_backward(&[pixel], &[&input], false, false)
        .map_err(Error::torch("to backpropagate from the output pixel"))?;
    // Nonzero gradient, summed over batch and channels: an [H, W] map of what the pixel sees.
    let seen = grads[0]
        .f_abs()
        .and_then(|g| g.f_sum_dim_intlist([0i64, 1].as_slice(), false, Mode::OpenPaths.kind()))
        .and_then(|g| g.f_gt(0.0))
        .map_err(Error::torch("to read the gradient"))?;
    let extent = |dim: i64| -> Result<Option<(i64, i64)>> {
        let other = 1 - dim;
        let any = seen
            .f_any_dim(other, false)
            .and_then(|t| t.f_nonzero())
            .map_err(Error::torch("to find the gradient's extent"))?;
        let n = any.size()[0];
        if n == 0 {
            return Ok(None);
        }
        let first = any.int64_value(&[0, 0]);
        let last = any.int64_value(&[n - 1, 0]);
        Ok(Some((first, last)))
    };
    let (Some(rows), Some(cols)) = (extent(0)?, extent(1)?) else {
        return Err(Error::Invalid(
            "the output pixel's gradient is zero everywhere; the model has a dead path".into(),
        ));
    };
    let touches = rows.0 == 0 || cols.0 == 0 || rows.1 == side[0] - 1 || cols.1 == side[1] - 1;
    if touches {
        return Ok(None);
    }
    Ok(Some([rows.1 - rows.0 + 1, cols.1 - cols.0 + 1]))
}
