//! The serialisable halves of a gradient key (`kind: gradient`), free of libtorch.
//!
//! A [`GradientSpec`] says what to differentiate: the question's computation in the
//! question-code subset of Python (with `phi(` standing for the activation), the loss it
//! assigns, the tensors to differentiate with respect to, and the seeded inputs of each draw
//! ([`GradientSpec::inputs`], generated here so that both sides of a process boundary agree on
//! them). [`GradientDraws`] is what autograd answered: per draw and activation, the inputs and
//! the gradient of the loss with respect to each tensor. The libtorch side is
//! `reference::gradient_draws::compute`; grading reads only these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// At most this many draws per activation (each one is a libtorch run at key time).
pub const MAX_DRAWS: usize = 16;
/// At most this many elements per input tensor (the sizes are small by design).
pub const MAX_ELEMENTS: usize = 4096;

/// One input tensor of the computation, with its draw domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GradientInput {
    /// Its shape, each dimension a number or one of the rubric's `sizes` (`[h, d]`).
    pub shape: Vec<SizeRef>,
    /// Values are drawn uniformly from this interval...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[f64; 2]>,
    /// ...or, instead, uniformly among these values (labels: `[0, 1]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
}

/// A dimension: a number or the name of a size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SizeRef {
    Fixed(usize),
    Named(String),
}

/// A dense float64 tensor (row-major; 2-D in practice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tensor64 {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// What autograd is asked: the computation and the inputs of each draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientSpec {
    /// The computation (question-code subset of Python); `phi(` is the activation.
    pub code: String,
    /// The scalar differentiated (`loss`).
    pub of: String,
    /// The code's tensors differentiated with respect to (`W1`, `X`, ...).
    pub wrt: Vec<String>,
    /// Inputs and their concrete shapes and domains.
    pub inputs: BTreeMap<String, GradientInput>,
    /// The sizes (`N: 5`, `h: 3`).
    pub sizes: BTreeMap<String, usize>,
    /// Scalars bound before the code (`lam: 0.3`), also as Python floats.
    pub constants: BTreeMap<String, f64>,
    /// The concrete activations `phi` is drawn as (`tanh`, `sigmoid`).
    pub activations: Vec<String>,
    /// Draws per activation.
    pub draws: usize,
    pub seed: u64,
}

/// One draw: inputs, constants, and autograd's gradients at them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draw {
    pub activation: String,
    pub inputs: BTreeMap<String, Tensor64>,
    pub constants: BTreeMap<String, f64>,
    /// The loss at the draw.
    pub loss: f64,
    /// d loss / d tensor, shaped like the tensor.
    pub grads: BTreeMap<String, Tensor64>,
}

/// Autograd's answers at every draw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientDraws {
    pub draws: Vec<Draw>,
}

/// splitmix64: a tiny, portable, seeded generator (the same numbers on every platform).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator started at `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl GradientSpec {
    /// The concrete shape of input `name`.
    pub fn shape_of(&self, name: &str) -> Result<Vec<usize>, String> {
        let input = self
            .inputs
            .get(name)
            .ok_or_else(|| format!("no input `{name}`"))?;
        resolve_shape(&input.shape, &self.sizes)
    }

    /// The inputs of draw `index` (the same for every activation), seeded by the spec's seed.
    pub fn inputs(&self, index: usize) -> Result<BTreeMap<String, Tensor64>, String> {
        let mut rng = SplitMix::new(self.seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let mut out = BTreeMap::new();
        for (name, input) in &self.inputs {
            let shape = resolve_shape(&input.shape, &self.sizes)?;
            let n: usize = shape.iter().product();
            if n == 0 || n > MAX_ELEMENTS {
                return Err(format!(
                    "input `{name}` has {n} elements (1 to {MAX_ELEMENTS})"
                ));
            }
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                let v = if !input.values.is_empty() {
                    let k = (rng.next_u64() % input.values.len() as u64) as usize;
                    input.values[k]
                } else {
                    let [lo, hi] = input.range.unwrap_or([-1.0, 1.0]);
                    lo + (hi - lo) * rng.unit()
                };
                values.push(v);
            }
            out.insert(name.clone(), Tensor64 { shape, values });
        }
        Ok(out)
    }

    /// Checks sizes and counts before anything is computed.
    pub fn validate(&self) -> Result<(), String> {
        if self.draws == 0 || self.draws > MAX_DRAWS {
            return Err(format!("`draws` must be 1 to {MAX_DRAWS}"));
        }
        if self.activations.is_empty() {
            return Err("at least one activation is needed".into());
        }
        for a in &self.activations {
            if !matches!(a.as_str(), "tanh" | "sigmoid") {
                return Err(format!("activation `{a}`: only tanh and sigmoid are drawn"));
            }
        }
        for name in self.inputs.keys() {
            self.shape_of(name)?;
        }
        for w in &self.wrt {
            if !self.inputs.contains_key(w) {
                return Err(format!("`{w}` is differentiated but is not an input"));
            }
        }
        Ok(())
    }
}

/// A shape with its named sizes replaced by their values (one or two dimensions).
fn resolve_shape(shape: &[SizeRef], sizes: &BTreeMap<String, usize>) -> Result<Vec<usize>, String> {
    if shape.is_empty() || shape.len() > 2 {
        return Err("input shapes have one or two dimensions".into());
    }
    shape
        .iter()
        .map(|d| match d {
            SizeRef::Fixed(n) => Ok(*n),
            SizeRef::Named(s) => sizes
                .get(s)
                .copied()
                .ok_or_else(|| format!("size `{s}` is not in `sizes`")),
        })
        .collect()
}

/// The Python prelude that binds one draw's inputs and constants before the computation.
pub fn prelude(spec: &GradientSpec, inputs: &BTreeMap<String, Tensor64>) -> String {
    let mut s = String::from("import torch\n");
    for (name, t) in inputs {
        let grad = spec.wrt.contains(name);
        s.push_str(&format!(
            "{name} = torch.tensor({}, dtype=torch.float64{})\n",
            nested(t),
            if grad { ", requires_grad=True" } else { "" }
        ));
    }
    for (name, v) in &spec.constants {
        s.push_str(&format!("{name} = {v:?}\n"));
    }
    for (name, v) in &spec.sizes {
        s.push_str(&format!("{name} = {v}\n"));
    }
    s
}

/// A tensor as a nested Python list.
fn nested(t: &Tensor64) -> String {
    let num = |v: f64| format!("{v:?}");
    match t.shape.as_slice() {
        [_] => format!(
            "[{}]",
            t.values
                .iter()
                .map(|v| num(*v))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        [r, c] => {
            let rows: Vec<String> = (0..*r)
                .map(|i| {
                    format!(
                        "[{}]",
                        t.values[i * c..(i + 1) * c]
                            .iter()
                            .map(|v| num(*v))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .collect();
            format!("[{}]", rows.join(", "))
        }
        _ => "[]".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_and_in_their_domain() {
        let mut inputs = BTreeMap::new();
        inputs.insert(
            "W".to_string(),
            GradientInput {
                shape: vec![SizeRef::Named("h".into()), SizeRef::Fixed(2)],
                range: Some([0.4, 0.6]),
                values: vec![],
            },
        );
        let spec = GradientSpec {
            code: String::new(),
            of: "loss".into(),
            wrt: vec!["W".into()],
            inputs,
            sizes: [("h".to_string(), 3)].into(),
            constants: BTreeMap::new(),
            activations: vec!["tanh".into()],
            draws: 2,
            seed: 7,
        };
        let a = spec.inputs(0).unwrap();
        assert_eq!(a, spec.inputs(0).unwrap());
        assert_ne!(a, spec.inputs(1).unwrap());
        assert_eq!(a["W"].shape, vec![3, 2]);
        assert!(a["W"].values.iter().all(|v| (0.4..0.6).contains(v)));
        assert!(prelude(&spec, &a).contains("requires_grad=True"));
    }
}
