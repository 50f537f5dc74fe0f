//! Parameter counts of a model, per layer and in total, as `sum(p.numel() for p in
//! model.parameters())` gives them: each registered module counted once however often it is
//! used (Python's `[layer] * 24` is one layer), weights and biases by torch's shapes. Also the
//! model's output shape, from the layers' geometry, when the code feeds it an input.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::code::Code;
use super::error::{Error, Result};
use super::geometry;
use super::layers::Layer;
use super::python::eval::DType;

/// The parameters of one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerParameters {
    /// PyTorch's name for it (`0`, `conv1`, `layer1.0.conv2`).
    pub name: String,
    pub layer: String,
    /// Elements of its weight and bias.
    pub parameters: i64,
    /// Whether they record gradients (`requires_grad`): all parameters of a module built in
    /// question code do.
    pub trainable: bool,
}

/// The answer to "how many parameters does this model have".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameters {
    pub model: String,
    /// Layers with parameters, in registration order (as `model.named_parameters()`).
    pub layers: Vec<LayerParameters>,
    pub total: i64,
    pub trainable: i64,
    /// The input the code feeds the model (or `--input`), and the model's output shape on it.
    pub input_shape: Option<Vec<i64>>,
    pub output_shape: Option<Vec<i64>>,
}

/// Elements of a layer's parameters (weight and bias), by torch's shapes.
pub fn count(layer: &Layer) -> i64 {
    let mul = |a: i64, b: i64| a.saturating_mul(b);
    match layer {
        Layer::Conv2d(c) => {
            let per_group = c.in_channels / c.groups.max(1);
            let weight = mul(
                mul(c.out_channels, per_group),
                mul(c.kernel_size[0], c.kernel_size[1]),
            );
            weight.saturating_add(if c.bias { c.out_channels } else { 0 })
        }
        Layer::Linear {
            in_features,
            out_features,
            bias,
        } => mul(*in_features, *out_features).saturating_add(if *bias { *out_features } else { 0 }),
        Layer::Embedding {
            num_embeddings,
            embedding_dim,
        } => mul(*num_embeddings, *embedding_dim),
        // weight (gamma) and bias (beta); running statistics are buffers, not parameters.
        Layer::BatchNorm2d { num_features, .. } => mul(2, *num_features),
        Layer::MaxPool2d(_)
        | Layer::AvgPool2d(_)
        | Layer::ReLU
        | Layer::Sigmoid
        | Layer::Tanh
        | Layer::Dropout { .. }
        | Layer::Flatten { .. }
        | Layer::Identity => 0,
    }
}

/// The parameters of `model` (default: the last model assigned) in `code`, and its output
/// shape for `input` (default: the input the code feeds it).
pub fn parameters(code: &Code, model: Option<&str>, input: Option<Vec<i64>>) -> Result<Parameters> {
    let named = code.model(model)?;
    let input_shape = input.or_else(|| code.input_shape(&named.module));
    let mut seen = HashSet::new();
    let mut layers = Vec::new();
    for (name, id, layer) in named.module.named_layers() {
        let n = count(&layer);
        if n == 0 || !seen.insert(id) {
            continue;
        }
        layers.push(LayerParameters {
            name,
            layer: layer.to_string(),
            parameters: n,
            trainable: true,
        });
    }
    let total = layers
        .iter()
        .fold(0i64, |acc, l| acc.saturating_add(l.parameters));
    let trainable = layers
        .iter()
        .filter(|l| l.trainable)
        .fold(0i64, |acc, l| acc.saturating_add(l.parameters));
    let output_shape = match &input_shape {
        Some(shape) => Some(
            geometry::module_output_shape(&named.module, shape, DType::Float32).map_err(
                |e| match e {
                    Error::Invalid(m) => Error::Invalid(format!("`{}`: {m}", named.name)),
                    other => other,
                },
            )?,
        ),
        None => None,
    };
    Ok(Parameters {
        model: named.name,
        layers,
        total,
        trainable,
        input_shape,
        output_shape,
    })
}
