//! Budgets on the work a rubric's code may ask of libtorch (issue 15, class 7).
//!
//! A rubric is data, but its `code:` decides how much memory and time a reference
//! computation takes: `*[conv] * 100000` builds a hundred thousand layers, and
//! `nn.Embedding(500000, 1000)` or `out_channels=5*10**7` allocate gigabytes of weights
//! before anything is checked. The budgets below are checked from the layer descriptions,
//! before any tensor is allocated, and a computation over budget is refused with an error
//! that names the budget and what asked for more.

use super::layers::Layer;

/// Most layers in one network (a course's models have a few dozen).
pub const MAX_LAYERS: usize = 1_000;

/// Most parameter elements (weights and biases) of one network: 50 million (200 MB of
/// 32-bit floats).
pub const MAX_PARAMETER_ELEMENTS: i64 = 50_000_000;

/// Most elements of the input a receptive field is measured on, times the number of layers
/// it goes through (the activations kept for the backward pass): 64 Mi (256 MB of floats).
pub const MAX_INPUT_ELEMENTS: i64 = 1 << 26;

/// The number of parameter elements `layer` would allocate (saturating; negative sizes,
/// which libtorch refuses anyway, count as 0).
pub fn parameter_elements(layer: &Layer) -> i64 {
    let mul = |a: i64, b: i64| a.max(0).saturating_mul(b.max(0));
    match layer {
        Layer::Conv2d(c) => {
            let per_group = c.in_channels.max(0) / c.groups.max(1);
            mul(
                mul(c.out_channels, per_group),
                mul(c.kernel_size[0], c.kernel_size[1]),
            )
            .saturating_add(c.out_channels.max(0))
        }
        Layer::Linear {
            in_features,
            out_features,
            ..
        } => mul(*in_features, *out_features).saturating_add((*out_features).max(0)),
        Layer::Embedding {
            num_embeddings,
            embedding_dim,
        } => mul(*num_embeddings, *embedding_dim),
        Layer::BatchNorm2d { num_features, .. } => mul(*num_features, 2),
        _ => 0,
    }
}

/// Checks a network (layers with module ids; a repeated id shares its parameters) against
/// [`MAX_LAYERS`] and [`MAX_PARAMETER_ELEMENTS`].
pub fn check_network(layers: &[(usize, Layer)]) -> Result<(), String> {
    if layers.len() > MAX_LAYERS {
        return Err(format!(
            "the network has {} layers; the budget is {MAX_LAYERS}",
            layers.len()
        ));
    }
    let mut seen: Vec<usize> = Vec::new();
    let mut total: i64 = 0;
    for (id, layer) in layers {
        if seen.contains(id) {
            continue;
        }
        seen.push(*id);
        total = total.saturating_add(parameter_elements(layer));
        if total > MAX_PARAMETER_ELEMENTS {
            return Err(format!(
                "the network's parameters exceed the budget of {MAX_PARAMETER_ELEMENTS} \
                 elements (at layer {layer})"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::layers::Conv2d;

    #[test]
    fn huge_layers_and_long_networks_are_over_budget() {
        let embedding = Layer::Embedding {
            num_embeddings: 500_000,
            embedding_dim: 1000,
        };
        let err = check_network(&[(0, embedding)]).unwrap_err();
        assert!(err.contains("budget"), "{err}");
        let wide = Layer::Conv2d(Conv2d::new(3, 50_000_000, [3, 3]));
        assert!(check_network(&[(0, wide)]).is_err());
        let conv = Layer::Conv2d(Conv2d::new(3, 3, [3, 3]));
        let many: Vec<(usize, Layer)> = (0..100_000).map(|i| (i, conv.clone())).collect();
        assert!(check_network(&many).unwrap_err().contains("100000 layers"));
        // Shared parameters count once.
        let linear = Layer::Linear {
            in_features: 4000,
            out_features: 4000,
            bias: true,
        };
        let shared: Vec<(usize, Layer)> = (0..24).map(|_| (7, linear.clone())).collect();
        assert!(check_network(&shared).is_ok());
    }
}
