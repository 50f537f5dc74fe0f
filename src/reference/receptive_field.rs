//! The receptive field of one output pixel of a CNN, measured two independent ways that must
//! agree:
//!
//! - **by autograd**, on a surrogate of the model: the same geometry (kernels, strides,
//!   padding, dilation, every path of a class's `forward`), but one channel per path, weights
//!   of ones, activations and normalisations as identities and pooling as a window of ones, on
//!   the smallest input that contains the field. The gradient of one output pixel is nonzero
//!   exactly on the input pixels it sees. The cost is that of the field, not of the model's
//!   FLOPs or channels: VGG-16 is milliseconds.
//! - **in closed form**, by the recurrence of Araujo, Norris & Sim ("Computing Receptive
//!   Fields of Convolutional Neural Networks", Distill 2019) over the module graph:
//!   `r += d (k - 1) jump; jump *= stride`, and at a merge (`+`, `torch.cat`) the union of the
//!   paths' fields. The largest single path (the paper's "max over paths") is reported, and so
//!   are merges whose paths' fields are centred differently (misaligned).
//!
//! The per-layer trace is what feedback compares a student's intermediate numbers with.

//!
//! This module holds the results and the closed form; the measurement needs libtorch and runs
//! in `examiner-reference` ([`super::client`]).

use serde::{Deserialize, Serialize};

use super::client::{self, Request};
use super::code::Code;
use super::error::Result;
use super::layers::Layer;

/// The receptive field after one sliding-window layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// Position of the layer application: in a `nn.Sequential`, its index as `model[i]` in
    /// PyTorch; in a class's `forward`, the order in which layers run.
    pub index: usize,
    /// The layer as torch prints it, preceded in a class model by its name
    /// (`layer1.0.conv2: Conv2d(...)`).
    pub layer: String,
    /// Height and width, measured by autograd (equal to the closed form, or it is an error).
    pub receptive_field: [i64; 2],
    /// Distance in input pixels between neighbouring outputs of this layer.
    pub jump: [i64; 2],
}

/// Paths that merge with fields centred at different input positions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Misalignment {
    /// Where they merge (`line:col` of the `+` or `torch.cat`).
    pub at: String,
    /// How far apart the centres of the two fields are, in input pixels (height, width).
    pub offset: [f64; 2],
}

/// The answer to "what is the receptive field of this CNN".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceptiveField {
    pub model: String,
    /// The input the question feeds the model, when known.
    pub input_shape: Option<Vec<i64>>,
    /// Height and width of the field of one output pixel: for a multi-path model, the union
    /// of its paths' fields (what autograd measures).
    pub receptive_field: [i64; 2],
    /// The model's output shape for `input_shape`.
    pub output_shape: Option<Vec<i64>>,
    pub trace: Vec<TraceStep>,
    /// Multi-path models: the largest field of a single path (Distill's max over paths); equal
    /// to `receptive_field` when the paths are aligned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub largest_path: Option<[i64; 2]>,
    /// Merges whose paths are not centred on the same input pixel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub misaligned: Vec<Misalignment>,
}

/// Computes the receptive field of `model` (default: the last model assigned) in `code`, for
/// `input` (default: the input the code feeds it), in `examiner-reference`.
pub fn receptive_field(
    source: &str,
    model: Option<&str>,
    input: Option<Vec<i64>>,
) -> Result<ReceptiveField> {
    // Read here first: an error in the code is reported without starting libtorch.
    Code::new(source)?;
    client::compute(&Request::ReceptiveField {
        code: source.to_string(),
        model: model.map(str::to_string),
        input,
    })
}

/// The recurrence, per layer of a sequence: receptive field and jump after each layer.
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
