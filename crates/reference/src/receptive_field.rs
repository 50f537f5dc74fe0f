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

use std::collections::HashMap;

use examiner::reference::code::Code;
use examiner::reference::error::{Error, Result};
use examiner::reference::geometry;
use examiner::reference::layers::Layer;
use examiner::reference::python::ast::Span;
use examiner::reference::python::eval::{DType, Module, ModuleKind, Operand, TensorExpr};
pub use examiner::reference::receptive_field::{
    closed_form, Misalignment, ReceptiveField, TraceStep,
};
use tch::{Device, Kind, Tensor};

use crate::torch_error;

/// Largest input (height x width) the surrogate is run on: 4M pixels, 32 MiB per tensor.
const MAX_AREA: i64 = 1 << 22;

/// Computes the receptive field of `model` (default: the last model assigned) in `code`, for
/// `input` (default: the input the code feeds it).
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
    // Each traced layer is measured with a backward pass through the layers before it: the
    // work grows with the square of the depth (issue 15, class 7).
    let depth = module.layers().len();
    if depth > examiner::reference::budget::MAX_LAYERS {
        return Err(Error::Invalid(format!(
            "the model has {depth} layers; the budget is {}",
            examiner::reference::budget::MAX_LAYERS
        )));
    }
    if let Some(shape) = input_shape {
        if shape.len() != 4 {
            return Err(Error::Invalid(format!(
                "the input shape {shape:?} is not (N, C, H, W)"
            )));
        }
    }
    let mut closed = ClosedForm::default();
    let out = Walk::new(&mut closed).module(module, Field::input(), "")?;
    if closed.traced.is_empty() {
        return Err(Error::Invalid(
            "the model has no convolution or pooling layer".to_string(),
        ));
    }
    let output_shape = match input_shape {
        Some(shape) => Some(geometry::module_output_shape(
            module,
            shape,
            DType::Float32,
        )?),
        None => None,
    };
    // Double: products of ones grow with depth (9^40 after forty 3x3 windows) and must not
    // overflow; and libtorch's double convolution has no per-shape set-up, which makes it
    // faster than float on these small tensors (VGG-16: 65 ms against 210 ms of CPU).
    let (per_step, last) =
        crate::tensors::seeded(|| measure(module, &closed.traced, &out, Kind::Double))?;
    let mut trace = Vec::new();
    for ((index, layer, field), measured) in closed.traced.iter().zip(per_step) {
        if measured != field.extent() {
            return Err(Error::Disagreement {
                index: *index,
                layer: layer.clone(),
                autograd: measured,
                closed_form: field.extent(),
            });
        }
        trace.push(TraceStep {
            index: *index,
            layer: layer.clone(),
            receptive_field: measured,
            jump: field.jump,
        });
    }
    if last != out.extent() {
        return Err(Error::Disagreement {
            index: closed.traced.len(),
            layer: "the model's output".into(),
            autograd: last,
            closed_form: out.extent(),
        });
    }
    Ok(ReceptiveField {
        model: String::new(),
        input_shape: input_shape.map(<[i64]>::to_vec),
        receptive_field: last,
        output_shape,
        trace,
        largest_path: closed.merged.then_some(out.longest),
        misaligned: closed.misaligned,
    })
}

// ----- The module graph, walked in one of two domains -----

/// The geometry of a sliding-window layer.
#[derive(Debug, Clone, Copy)]
struct Geom {
    kernel: [i64; 2],
    stride: [i64; 2],
    padding: [i64; 2],
    dilation: [i64; 2],
    pool: bool,
}

fn geom(layer: &Layer) -> Option<Geom> {
    let w = layer.window()?;
    let (padding, pool) = match layer {
        Layer::Conv2d(c) => (c.padding, false),
        Layer::MaxPool2d(p) | Layer::AvgPool2d(p) => (p.padding, true),
        _ => return None,
    };
    Some(Geom {
        kernel: w.kernel,
        stride: w.stride,
        padding,
        dilation: w.dilation,
        pool,
    })
}

/// What a walk computes with: tensors (the surrogate) or field descriptors (closed form).
trait Domain {
    type V: Clone;
    /// A sliding-window layer.
    fn window(&mut self, g: Geom, x: &Self::V) -> Result<Self::V>;
    /// Paths meeting at `span` (`+`, `torch.cat`, ...).
    fn merge(&mut self, items: Vec<Self::V>, span: Span) -> Result<Self::V>;
    /// The output of traced layer application `index`.
    fn record(&mut self, index: usize, label: String, v: &Self::V);
}

/// A class `forward` being walked: its input, its frame (for memoisation), its name prefix,
/// and the names of the class's registered modules by id.
type Frame<V> = (V, usize, String, HashMap<usize, String>);

/// Fields measured by autograd: one per traced layer, and the output's.
type Measured = (Vec<[i64; 2]>, [i64; 2]);

struct Walk<'d, D: Domain> {
    domain: &'d mut D,
    frames: Vec<Frame<D::V>>,
    next_frame: usize,
    memo: HashMap<(usize, usize), D::V>,
    index: usize,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The names of a class's registered modules (and of their layers), by module id.
fn names(module: &Module) -> HashMap<usize, String> {
    fn walk(m: &Module, prefix: &str, out: &mut HashMap<usize, String>) {
        out.entry(m.id).or_insert_with(|| prefix.to_string());
        match &m.kind {
            ModuleKind::Sequential(layers) => {
                for (i, (id, _)) in layers.iter().enumerate() {
                    out.entry(*id)
                        .or_insert_with(|| join(prefix, &i.to_string()));
                }
            }
            ModuleKind::Chain(children) | ModuleKind::List(children) => {
                for (i, c) in children.iter().enumerate() {
                    walk(c, &join(prefix, &i.to_string()), out);
                }
            }
            ModuleKind::Layer(_) | ModuleKind::Class(_) => {}
        }
    }
    let mut out = HashMap::new();
    if let ModuleKind::Class(c) = &module.kind {
        for (name, m) in &c.children {
            walk(m, name, &mut out);
        }
    }
    out
}

impl<'d, D: Domain> Walk<'d, D> {
    fn new(domain: &'d mut D) -> Self {
        Walk {
            domain,
            frames: Vec::new(),
            next_frame: 0,
            memo: HashMap::new(),
            index: 0,
        }
    }

    fn module(&mut self, module: &Module, x: D::V, prefix: &str) -> Result<D::V> {
        match &module.kind {
            ModuleKind::Layer(layer) => self.layer(layer, x, prefix),
            ModuleKind::Sequential(layers) => {
                let mut x = x;
                for (i, (_, layer)) in layers.iter().enumerate() {
                    x = self.layer(layer, x, &join(prefix, &i.to_string()))?;
                }
                Ok(x)
            }
            ModuleKind::Chain(children) => {
                let mut x = x;
                for (i, child) in children.iter().enumerate() {
                    x = self.module(child, x, &join(prefix, &i.to_string()))?;
                }
                Ok(x)
            }
            ModuleKind::List(_) => Err(Error::Invalid(
                "an nn.ModuleList cannot be called; call its items".into(),
            )),
            ModuleKind::Class(c) => {
                self.next_frame += 1;
                self.frames
                    .push((x, self.next_frame, prefix.to_string(), names(module)));
                let out = self.expr(&c.forward);
                self.frames.pop();
                out
            }
        }
    }

    fn layer(&mut self, layer: &Layer, x: D::V, label: &str) -> Result<D::V> {
        let index = self.index;
        self.index += 1;
        // A plain `nn.Sequential` names its layers by position, already in `index`.
        let shown = if label.is_empty() || label.parse::<usize>().is_ok() {
            layer.to_string()
        } else {
            format!("{label}: {layer}")
        };
        match layer {
            Layer::Conv2d(_) | Layer::MaxPool2d(_) | Layer::AvgPool2d(_) => {
                let g = geom(layer).expect("a window layer");
                let y = self.domain.window(g, &x)?;
                self.domain.record(index, shown, &y);
                Ok(y)
            }
            Layer::ReLU
            | Layer::Sigmoid
            | Layer::Tanh
            | Layer::Identity
            | Layer::Dropout { .. }
            | Layer::BatchNorm2d { .. } => Ok(x),
            Layer::Linear { .. } | Layer::Flatten { .. } | Layer::Embedding { .. } => {
                let at = if label.is_empty() || label.parse::<usize>().is_ok() {
                    format!("layer {index} ({layer})")
                } else {
                    format!("layer {label} ({layer})")
                };
                Err(Error::Invalid(format!(
                    "{at} connects every input position, so a receptive field is defined only \
                     for the layers before it; give a model of convolutions, pooling and \
                     elementwise layers"
                )))
            }
        }
    }

    fn expr(&mut self, expr: &TensorExpr) -> Result<D::V> {
        let frame = self.frames.last().map_or(0, |f| f.1);
        let key = (expr as *const TensorExpr as usize, frame);
        if let Some(v) = self.memo.get(&key) {
            return Ok(v.clone());
        }
        let v = self.expr_inner(expr)?;
        self.memo.insert(key, v.clone());
        Ok(v)
    }

    fn expr_inner(&mut self, expr: &TensorExpr) -> Result<D::V> {
        let everywhere = |what: String| {
            Err(Error::Invalid(format!(
                "{what} connects every input position, so a receptive field is defined only for \
                 the layers before it"
            )))
        };
        match expr {
            TensorExpr::Input => {
                self.frames.last().map(|f| f.0.clone()).ok_or_else(|| {
                    Error::Invalid("a model's input used outside its forward".into())
                })
            }
            TensorExpr::Leaf { span, .. } => Err(Error::Invalid(format!(
                "the tensor made at {span} inside `forward` does not depend on the input; a \
                 receptive field needs every path to start at the input"
            ))),
            TensorExpr::Apply {
                module,
                input,
                span,
            } => {
                let x = self.expr(input)?;
                let (prefix, name) = match self.frames.last() {
                    Some((_, _, prefix, names)) => (prefix.clone(), names.get(&module.id).cloned()),
                    None => (String::new(), None),
                };
                let label = match name {
                    Some(name) => join(&prefix, &name),
                    None => join(&prefix, &span.to_string()),
                };
                self.module(module, x, &label)
            }
            TensorExpr::Binary {
                left, right, span, ..
            } => match (left, right) {
                (Operand::Tensor(a), Operand::Tensor(b)) => {
                    let a = self.expr(a)?;
                    let b = self.expr(b)?;
                    self.domain.merge(vec![a, b], *span)
                }
                (Operand::Tensor(t), Operand::Scalar(_))
                | (Operand::Scalar(_), Operand::Tensor(t)) => self.expr(t),
                (Operand::Scalar(_), Operand::Scalar(_)) => Err(Error::Invalid(format!(
                    "{span}: an operation on numbers where a tensor was expected"
                ))),
            },
            TensorExpr::Neg(t) | TensorExpr::Map(_, t) => self.expr(t),
            TensorExpr::Reduce(r, _) => everywhere(format!("the reduction {r:?}")),
            TensorExpr::View { span, .. } => everywhere(format!("the view at {span}")),
            TensorExpr::Cat { items, dim, span } => {
                if !matches!(dim, 1 | -3) {
                    return Err(Error::Invalid(format!(
                        "torch.cat at {span} joins along dim {dim}; a receptive field is \
                         defined for models that concatenate channels (dim=1)"
                    )));
                }
                let mut values = Vec::new();
                for item in items {
                    values.push(self.expr(item)?);
                }
                self.domain.merge(values, *span)
            }
        }
    }
}

// ----- Closed form (Distill) -----

/// The field of output pixel 0 of a node, in input coordinates: the union `[lo, hi]` over
/// the paths reaching it, the jump, and the largest single path.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Field {
    lo: [i64; 2],
    hi: [i64; 2],
    jump: [i64; 2],
    longest: [i64; 2],
}

impl Field {
    fn input() -> Field {
        Field {
            lo: [0, 0],
            hi: [0, 0],
            jump: [1, 1],
            longest: [1, 1],
        }
    }

    fn extent(&self) -> [i64; 2] {
        [
            self.hi[0].saturating_sub(self.lo[0]).saturating_add(1),
            self.hi[1].saturating_sub(self.lo[1]).saturating_add(1),
        ]
    }
}

#[derive(Default)]
struct ClosedForm {
    traced: Vec<(usize, String, Field)>,
    misaligned: Vec<Misalignment>,
    merged: bool,
}

impl Domain for ClosedForm {
    type V = Field;

    fn window(&mut self, g: Geom, x: &Field) -> Result<Field> {
        let mut f = *x;
        for d in 0..2 {
            let span = g.dilation[d].saturating_mul(g.kernel[d] - 1);
            f.lo[d] = x.lo[d].saturating_sub(g.padding[d].saturating_mul(x.jump[d]));
            f.hi[d] =
                x.hi[d].saturating_add(span.saturating_sub(g.padding[d]).saturating_mul(x.jump[d]));
            f.longest[d] = x.longest[d].saturating_add(span.saturating_mul(x.jump[d]));
            f.jump[d] = x.jump[d].saturating_mul(g.stride[d]);
        }
        Ok(f)
    }

    fn merge(&mut self, items: Vec<Field>, span: Span) -> Result<Field> {
        let mut out = items[0];
        for f in &items[1..] {
            if f.jump != out.jump {
                return Err(Error::Invalid(format!(
                    "the paths merging at {span} have strides {:?} and {:?} (in input pixels): \
                     their outputs do not correspond to the same input positions, so the \
                     receptive field depends on the output position",
                    out.jump, f.jump
                )));
            }
            let centre = |f: &Field, d: usize| (f.lo[d] + f.hi[d]) as f64 / 2.0;
            let offset = [
                centre(f, 0) - centre(&out, 0),
                centre(f, 1) - centre(&out, 1),
            ];
            if offset != [0.0, 0.0] {
                self.misaligned.push(Misalignment {
                    at: span.to_string(),
                    offset,
                });
            }
            for d in 0..2 {
                out.lo[d] = out.lo[d].min(f.lo[d]);
                out.hi[d] = out.hi[d].max(f.hi[d]);
                out.longest[d] = out.longest[d].max(f.longest[d]);
            }
        }
        self.merged = true;
        Ok(out)
    }

    fn record(&mut self, index: usize, label: String, v: &Field) {
        self.traced.push((index, label, *v));
    }
}

// ----- Autograd on the surrogate -----

/// The surrogate's tensors: one channel per path.
struct Surrogate {
    kind: Kind,
    traced: Vec<Tensor>,
}

/// One channel: the sum over channels, which sees what any channel sees (all values are
/// positive, so nothing cancels).
fn one_channel(x: &Tensor) -> Result<Tensor> {
    if x.size().get(1) == Some(&1) {
        return Ok(x.shallow_clone());
    }
    x.f_sum_dim_intlist([1i64].as_slice(), true, x.kind())
        .map_err(torch_error("to sum the surrogate's channels"))
}

/// A tensor in the walk (tch's `Tensor` is not `Clone`: clones share storage, as in Python).
struct T(Tensor);

impl Clone for T {
    fn clone(&self) -> Self {
        T(self.0.shallow_clone())
    }
}

impl Domain for Surrogate {
    type V = T;

    fn window(&mut self, g: Geom, x: &T) -> Result<T> {
        let x = one_channel(&x.0)?;
        let ones = Tensor::f_ones([1, 1, g.kernel[0], g.kernel[1]], (self.kind, Device::Cpu))
            .map_err(torch_error("to make the surrogate's window"))?;
        let _ = g.pool; // Pooling and convolution are the same window of ones here.
        x.f_conv2d(&ones, None::<&Tensor>, g.stride, g.padding, g.dilation, 1)
            .map(T)
            .map_err(torch_error("to run the surrogate"))
    }

    fn merge(&mut self, items: Vec<T>, span: Span) -> Result<T> {
        // Every merge is a sum: a difference or a product would let paths cancel.
        let mut out = one_channel(&items[0].0)?;
        for item in &items[1..] {
            let x = one_channel(&item.0)?;
            out = out
                .f_add(&x)
                .map_err(torch_error(format!("to merge the paths at {span}")))?;
        }
        Ok(T(out))
    }

    fn record(&mut self, _index: usize, _label: String, v: &T) {
        self.traced.push(v.0.shallow_clone());
    }
}

/// Which output pixel a measurement differentiates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pick {
    /// The pixel whose field the closed form centres in the input (the tightest input).
    Centred,
    /// The middle output pixel (the closed form plays no part).
    Middle,
}

/// The smallest input side that contains `field` around a well-placed output pixel.
fn tight_side(field: &Field) -> [i64; 2] {
    let extent = field.extent();
    [0, 1].map(|d| {
        extent[d]
            .saturating_add(field.jump[d].saturating_mul(2))
            .saturating_add(2)
    })
}

fn too_large(side: [i64; 2], extent: [i64; 2]) -> Result<()> {
    if side[0].saturating_mul(side[1]) > MAX_AREA {
        return Err(Error::Invalid(format!(
            "the receptive field ({} x {}) needs an input larger than {MAX_AREA} pixels to \
             measure",
            extent[0], extent[1]
        )));
    }
    Ok(())
}

/// Measures every traced node's field and the output's, by autograd on the surrogate: one
/// forward pass on the smallest input that contains the output's field (the closed form says
/// where to look: VGG-16 on 278x278, one channel), then one backward pass per node. If any
/// field touches the input's border, the input doubles and the middle output pixels are used
/// instead. The output's field is then measured again on larger inputs until it stops
/// growing.
fn measure(
    module: &Module,
    traced: &[(usize, String, Field)],
    out: &Field,
    kind: Kind,
) -> Result<Measured> {
    let mut side = tight_side(out);
    let mut pick = Pick::Centred;
    let (steps, last) = loop {
        too_large(side, out.extent())?;
        if let Some(found) = measure_at(module, side, kind, traced, out, pick)? {
            break found;
        }
        pick = Pick::Middle;
        side = [side[0].saturating_mul(2), side[1].saturating_mul(2)];
    };
    // Grow the input until the field stops growing.
    let mut previous = last;
    let mut bigger = side;
    loop {
        for (b, j) in bigger.iter_mut().zip(out.jump) {
            *b = b.saturating_add(j.saturating_mul(4).max(4));
        }
        too_large(bigger, previous)?;
        match measure_at(module, bigger, kind, &[], out, Pick::Middle)? {
            Some((_, again)) if again == previous => return Ok((steps, last)),
            Some((_, again)) => previous = again,
            None => {}
        }
    }
}

/// One measurement on a `side` input: the field of each of the `traced` nodes and of the
/// output; `None` when a field touches the border or the input is too small for the model.
fn measure_at(
    module: &Module,
    side: [i64; 2],
    kind: Kind,
    traced: &[(usize, String, Field)],
    out: &Field,
    pick: Pick,
) -> Result<Option<Measured>> {
    let input = Tensor::f_ones([1, 1, side[0], side[1]], (kind, Device::Cpu))
        .map_err(torch_error("to allocate the surrogate's input"))?
        .set_requires_grad(true);
    let mut surrogate = Surrogate {
        kind,
        traced: Vec::new(),
    };
    let output = match Walk::new(&mut surrogate).module(module, T(input.shallow_clone()), "") {
        Ok(o) => o.0,
        // Too small an input for the kernels, or paths whose sizes differ at this size.
        Err(Error::Torch { .. }) => return Ok(None),
        Err(other) => return Err(other),
    };
    let mut steps = Vec::with_capacity(traced.len());
    for (t, (_, _, field)) in surrogate.traced.iter().zip(traced) {
        match field_of(&input, t, field, side, pick, true)? {
            Some(found) => steps.push(found),
            None => return Ok(None),
        }
    }
    Ok(field_of(&input, &output, out, side, pick, false)?.map(|last| (steps, last)))
}

/// The extent of the input pixels one output pixel of `node` sees.
fn field_of(
    input: &Tensor,
    node: &Tensor,
    field: &Field,
    side: [i64; 2],
    pick: Pick,
    retain: bool,
) -> Result<Option<[i64; 2]>> {
    let size = node.size();
    if size.len() != 4 {
        return Err(Error::Invalid(format!(
            "the model's output has shape {size:?}, not (N, C, H, W)"
        )));
    }
    let mut at = [0i64; 2];
    for d in 0..2 {
        let n = size[2 + d];
        if n < 1 {
            return Ok(None);
        }
        at[d] = match pick {
            Pick::Middle => n / 2,
            Pick::Centred => {
                // Centre of output pixel i's field: (lo + hi) / 2 + i * jump.
                let want = (side[d] - 1) as f64 / 2.0 - (field.lo[d] + field.hi[d]) as f64 / 2.0;
                ((want / field.jump[d].max(1) as f64).round() as i64).clamp(0, n - 1)
            }
        };
    }
    let pixel = node
        .f_select(2, at[0])
        .and_then(|t| t.f_select(2, at[1]))
        .and_then(|t| t.f_sum(Kind::Double))
        .map_err(torch_error("to select an output pixel"))?;
    let grads = Tensor::f_run_backward(&[pixel], &[input], retain, false)
        .map_err(torch_error("to backpropagate from the output pixel"))?;
    let seen = grads[0]
        .f_sum_dim_intlist([0i64, 1].as_slice(), false, Kind::Double)
        .and_then(|g| g.f_ne(0.0))
        .map_err(torch_error("to read the gradient"))?;
    let extent = |dim: i64| -> Result<Option<(i64, i64)>> {
        let any = seen
            .f_any_dim(1 - dim, false)
            .and_then(|t| t.f_nonzero())
            .map_err(torch_error("to find the gradient's extent"))?;
        let n = any.size()[0];
        if n == 0 {
            return Ok(None);
        }
        Ok(Some((
            any.int64_value(&[0, 0]),
            any.int64_value(&[n - 1, 0]),
        )))
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
