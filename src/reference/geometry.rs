//! Output shapes from the layers' geometry, computed on shapes alone: a convolution's output
//! size is `floor((H + 2p - d(k - 1) - 1) / s) + 1`, whatever its channels hold, so VGG-16 on
//! a 224x224 image costs arithmetic, not 15 GFLOPs. Every rule is torch's documented one
//! (the `Shape:` section of each layer's documentation), and the checks are torch's too (a
//! convolution's input channels, a linear layer's features): a model that does not fit its
//! input is refused here as libtorch would refuse it.

use std::collections::HashMap;

use super::error::{Error, Result};
use super::layers::Layer;
use super::python::eval::{DType, Module, ModuleKind, Operand, TensorExpr, ViewDim};

/// The output shape of `module` on an input of `shape` and type `dtype`.
pub fn module_output_shape(module: &Module, shape: &[i64], dtype: DType) -> Result<Vec<i64>> {
    let mut walker = Walker::default();
    walker
        .module(module, (shape.to_vec(), dtype), "")
        .map(|(s, _)| s)
}

/// The shape and type of `expr` (a tensor the question's code computes).
pub fn expr_shape(expr: &TensorExpr) -> Result<(Vec<i64>, DType)> {
    Walker::default().expr(expr)
}

#[derive(Default)]
struct Walker {
    /// The inputs of the class `forward`s being walked, innermost last.
    inputs: Vec<(Vec<i64>, DType)>,
    /// Shapes already computed, by node and input frame.
    memo: HashMap<(usize, usize), (Vec<i64>, DType)>,
    frames: Vec<usize>,
    next_frame: usize,
    /// Layer applications so far (a sequential model's layers are numbered as in PyTorch).
    index: usize,
}

type Typed = (Vec<i64>, DType);

impl Walker {
    fn module(&mut self, module: &Module, x: Typed, prefix: &str) -> Result<Typed> {
        let join = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        match &module.kind {
            ModuleKind::Layer(layer) => self.layer(layer, x, prefix),
            ModuleKind::Sequential(layers) => {
                let mut x = x;
                for (i, (_, layer)) in layers.iter().enumerate() {
                    x = self.layer(layer, x, &join(&i.to_string()))?;
                }
                Ok(x)
            }
            ModuleKind::Chain(children) => {
                let mut x = x;
                for (i, child) in children.iter().enumerate() {
                    x = self.module(child, x, &join(&i.to_string()))?;
                }
                Ok(x)
            }
            ModuleKind::List(_) => Err(Error::Invalid(
                "an nn.ModuleList cannot be called; call its items".into(),
            )),
            ModuleKind::Class(c) => {
                self.next_frame += 1;
                self.frames.push(self.next_frame);
                self.inputs.push(x);
                let out = self.expr(&c.forward);
                self.inputs.pop();
                self.frames.pop();
                out
            }
        }
    }

    fn layer(&mut self, layer: &Layer, (shape, dtype): Typed, name: &str) -> Result<Typed> {
        let index = self.index;
        self.index += 1;
        let fail = |reason: String| {
            let at = if name.is_empty() {
                format!("layer {index}")
            } else {
                format!("layer {name}")
            };
            Error::Invalid(format!(
                "{at} ({layer}) does not fit its input of shape {shape:?}: {reason}"
            ))
        };
        if dtype == DType::Int64 && !matches!(layer, Layer::Embedding { .. }) {
            return Err(fail(
                "it gets an integer tensor; only nn.Embedding takes indices".into(),
            ));
        }
        let rank = shape.len();
        let out = match layer {
            Layer::Conv2d(c) => {
                if !(rank == 3 || rank == 4) {
                    return Err(fail(format!(
                        "Conv2d takes (N, C, H, W) or (C, H, W), not {rank} dimensions"
                    )));
                }
                let ch = shape[rank - 3];
                if ch != c.in_channels {
                    return Err(fail(format!(
                        "it expects {} input channels, got {ch}",
                        c.in_channels
                    )));
                }
                let mut out = shape.clone();
                out[rank - 3] = c.out_channels;
                for d in 0..2 {
                    out[rank - 2 + d] = window_out(
                        shape[rank - 2 + d],
                        c.kernel_size[d],
                        c.stride[d],
                        c.padding[d],
                        c.dilation[d],
                        false,
                    )
                    .ok_or_else(|| fail("the input is smaller than the kernel".into()))?;
                }
                out
            }
            Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => {
                if !(rank == 3 || rank == 4) {
                    return Err(fail(format!(
                        "pooling takes (N, C, H, W) or (C, H, W), not {rank} dimensions"
                    )));
                }
                let mut out = shape.clone();
                for d in 0..2 {
                    out[rank - 2 + d] = window_out(
                        shape[rank - 2 + d],
                        p.kernel_size[d],
                        p.stride[d],
                        p.padding[d],
                        p.dilation[d],
                        p.ceil_mode,
                    )
                    .ok_or_else(|| fail("the input is smaller than the window".into()))?;
                }
                out
            }
            Layer::ReLU
            | Layer::Sigmoid
            | Layer::Tanh
            | Layer::Identity
            | Layer::Dropout { .. } => shape.clone(),
            Layer::BatchNorm2d { num_features, .. } => {
                if rank != 4 {
                    return Err(fail(format!("BatchNorm2d expects 4D input (got {rank}D)")));
                }
                if shape[1] != *num_features {
                    return Err(fail(format!(
                        "it expects {num_features} channels, got {}",
                        shape[1]
                    )));
                }
                shape.clone()
            }
            Layer::Linear {
                in_features,
                out_features,
                ..
            } => {
                let last = shape.last().copied();
                if last != Some(*in_features) {
                    return Err(fail(format!(
                        "its last dimension must be {in_features} (in_features)"
                    )));
                }
                let mut out = shape.clone();
                out[rank - 1] = *out_features;
                out
            }
            Layer::Embedding { embedding_dim, .. } => {
                if dtype != DType::Int64 {
                    return Err(fail("nn.Embedding takes integer indices".into()));
                }
                let mut out = shape.clone();
                out.push(*embedding_dim);
                out
            }
            Layer::Flatten { start_dim, end_dim } => {
                flatten(&shape, *start_dim, *end_dim).map_err(fail)?
            }
        };
        Ok((out, DType::Float32))
    }

    fn expr(&mut self, expr: &TensorExpr) -> Result<Typed> {
        let key = (
            expr as *const TensorExpr as usize,
            self.frames.last().copied().unwrap_or(0),
        );
        if let Some(hit) = self.memo.get(&key) {
            return Ok(hit.clone());
        }
        let out = self.expr_inner(expr)?;
        self.memo.insert(key, out.clone());
        Ok(out)
    }

    fn expr_inner(&mut self, expr: &TensorExpr) -> Result<Typed> {
        match expr {
            TensorExpr::Leaf { spec, .. } => Ok((spec.shape.clone(), spec.dtype)),
            TensorExpr::Input => {
                self.inputs.last().cloned().ok_or_else(|| {
                    Error::Invalid("a model's input used outside its forward".into())
                })
            }
            TensorExpr::Apply {
                module,
                input,
                span,
            } => {
                let x = self.expr(input)?;
                self.module(module, x, "").map_err(|e| match e {
                    Error::Invalid(m) => Error::Invalid(format!("the model call at {span}: {m}")),
                    other => other,
                })
            }
            TensorExpr::Binary {
                op,
                left,
                right,
                span,
            } => {
                let l = self.operand(left)?;
                let r = self.operand(right)?;
                let dtype = match (l.1, r.1) {
                    (DType::Float64, _) | (_, DType::Float64) => DType::Float64,
                    (DType::Float32, _) | (_, DType::Float32) => DType::Float32,
                    _ => DType::Int64,
                };
                let shape = if *op == super::python::ast::BinOp::MatMul {
                    matmul(&l.0, &r.0)
                } else {
                    broadcast(&l.0, &r.0)
                }
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "`{}` at {span}: the shapes {:?} and {:?} do not match",
                        op.symbol(),
                        l.0,
                        r.0
                    ))
                })?;
                Ok((shape, dtype))
            }
            TensorExpr::Neg(t) | TensorExpr::Map(_, t) => self.expr(t),
            TensorExpr::Reduce(_, t) => {
                let (_, dtype) = self.expr(t)?;
                Ok((Vec::new(), dtype))
            }
            TensorExpr::Cat { items, dim, span } => {
                let mut shapes = Vec::new();
                for item in items {
                    shapes.push(self.expr(item)?);
                }
                let (first, dtype) = shapes[0].clone();
                let rank = first.len() as i64;
                let d = if *dim < 0 { dim + rank } else { *dim };
                if !(0..rank).contains(&d) {
                    return Err(Error::Invalid(format!(
                        "torch.cat at {span}: dim {dim} is out of range for {rank} dimensions"
                    )));
                }
                let d = d as usize;
                let mut out = first.clone();
                out[d] = 0;
                for (s, _) in &shapes {
                    let fits = s.len() == first.len()
                        && s.iter()
                            .zip(&first)
                            .enumerate()
                            .all(|(i, (a, b))| i == d || a == b);
                    if !fits {
                        return Err(Error::Invalid(format!(
                            "torch.cat at {span}: the shapes {:?} differ outside dim {dim}",
                            shapes.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>()
                        )));
                    }
                    out[d] = out[d].saturating_add(s[d]);
                }
                Ok((out, dtype))
            }
            TensorExpr::View { input, shape, span } => {
                let (from, dtype) = self.expr(input)?;
                let mut sizes = Vec::new();
                for d in shape {
                    sizes.push(match d {
                        ViewDim::Fixed(v) => *v,
                        ViewDim::SizeOf(t, dim) => {
                            let (s, _) = self.expr(t)?;
                            let rank = s.len() as i64;
                            let i = if *dim < 0 { dim + rank } else { *dim };
                            if !(0..rank).contains(&i) {
                                return Err(Error::Invalid(format!(
                                    "size({dim}) at {span}: out of range for {rank} dimensions"
                                )));
                            }
                            s[i as usize]
                        }
                    });
                }
                Ok((
                    view(&from, &sizes)
                        .map_err(|m| Error::Invalid(format!("view at {span}: {m}")))?,
                    dtype,
                ))
            }
        }
    }

    fn operand(&mut self, o: &Operand) -> Result<Typed> {
        match o {
            Operand::Tensor(t) => self.expr(t),
            Operand::Scalar(_) => Ok((Vec::new(), DType::Float32)),
        }
    }
}

/// The output size of a sliding window (torch's formula, `ceil_mode` included: the last
/// window must start inside the input or its left padding). `None` when no window fits.
pub fn window_out(
    size: i64,
    kernel: i64,
    stride: i64,
    padding: i64,
    dilation: i64,
    ceil_mode: bool,
) -> Option<i64> {
    let span = dilation.checked_mul(kernel - 1)?.checked_add(1)?;
    let room = size.checked_add(2 * padding)?.checked_sub(span)?;
    if room < 0 || stride <= 0 {
        return None;
    }
    let mut out = if ceil_mode {
        (room + stride - 1) / stride + 1
    } else {
        room / stride + 1
    };
    if ceil_mode && (out - 1) * stride >= size + padding {
        out -= 1;
    }
    Some(out)
}

fn norm_dim(dim: i64, rank: usize) -> Option<usize> {
    let r = rank.max(1) as i64;
    let d = if dim < 0 { dim + r } else { dim };
    (0..r).contains(&d).then_some(d as usize)
}

fn flatten(shape: &[i64], start: i64, end: i64) -> std::result::Result<Vec<i64>, String> {
    if shape.is_empty() {
        return Ok(vec![1]);
    }
    let (Some(s), Some(e)) = (norm_dim(start, shape.len()), norm_dim(end, shape.len())) else {
        return Err(format!("flatten({start}, {end}) is out of range"));
    };
    if s > e {
        return Err(format!(
            "flatten: start_dim {start} comes after end_dim {end}"
        ));
    }
    let mut out = shape[..s].to_vec();
    out.push(
        shape[s..=e]
            .iter()
            .fold(1i64, |acc, &d| acc.saturating_mul(d)),
    );
    out.extend_from_slice(&shape[e + 1..]);
    Ok(out)
}

fn view(from: &[i64], sizes: &[i64]) -> std::result::Result<Vec<i64>, String> {
    let total: i64 = from.iter().fold(1i64, |a, &d| a.saturating_mul(d));
    let known: i64 = sizes
        .iter()
        .filter(|&&d| d != -1)
        .fold(1i64, |a, &d| a.saturating_mul(d));
    let mut out = sizes.to_vec();
    if let Some(i) = sizes.iter().position(|&d| d == -1) {
        if known == 0 || total % known != 0 {
            return Err(format!(
                "shape {sizes:?} is invalid for an input of shape {from:?}"
            ));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(format!(
            "shape {sizes:?} is invalid for an input of shape {from:?}"
        ));
    }
    Ok(out)
}

/// Broadcasting (numpy's rules, which torch follows).
fn broadcast(a: &[i64], b: &[i64]) -> Option<Vec<i64>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let x = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let y = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// `torch.matmul`'s shape rules.
fn matmul(a: &[i64], b: &[i64]) -> Option<Vec<i64>> {
    match (a.len(), b.len()) {
        (0, _) | (_, 0) => None,
        (1, 1) => (a[0] == b[0]).then(Vec::new),
        (1, _) => {
            let k = b[b.len() - 2];
            (a[0] == k).then(|| {
                let mut out = b[..b.len() - 2].to_vec();
                out.push(b[b.len() - 1]);
                out
            })
        }
        (_, 1) => (a[a.len() - 1] == b[0]).then(|| a[..a.len() - 1].to_vec()),
        _ => {
            if a[a.len() - 1] != b[b.len() - 2] {
                return None;
            }
            let mut out = broadcast(&a[..a.len() - 2], &b[..b.len() - 2])?;
            out.push(a[a.len() - 2]);
            out.push(b[b.len() - 1]);
            Some(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_sizes_follow_torch() {
        // nn.Conv2d docs: H_out = floor((H + 2p - d(k-1) - 1)/s + 1).
        assert_eq!(window_out(224, 3, 1, 1, 1, false), Some(224));
        assert_eq!(window_out(224, 11, 4, 2, 1, false), Some(55));
        assert_eq!(window_out(7, 3, 2, 0, 1, false), Some(3));
        // ceil_mode: 6 -> ceil((6-2)/4)+1 = 2, the last window starts at 4 < 6.
        assert_eq!(window_out(6, 2, 4, 0, 1, true), Some(2));
        // ceil_mode never starts a window in the right padding: 5, k3, s2, p1 -> 3.
        assert_eq!(window_out(5, 3, 2, 1, 1, true), Some(3));
        assert_eq!(window_out(2, 3, 1, 0, 1, false), None);
    }

    #[test]
    fn broadcasting_and_matmul() {
        assert_eq!(broadcast(&[4, 1, 3], &[5, 1]), Some(vec![4, 5, 3]));
        assert_eq!(broadcast(&[2], &[3]), None);
        assert_eq!(matmul(&[100, 5], &[5, 5]), Some(vec![100, 5]));
        assert_eq!(matmul(&[2, 3, 4], &[4]), Some(vec![2, 3]));
    }
}
