//! Evaluating the code's tensor expressions with libtorch: leaves become seeded tensors,
//! modules become [`Network`]s (sharing parameters where Python would), a class's `forward`
//! graph is evaluated on its input, and operators become torch operators. Also the output
//! shape of an expression, from the layers' geometry ([`examiner::reference::geometry`]), and the same
//! shape probed with libtorch on a slice of the input (a cross-check for the tests).

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Mutex, PoisonError};

use tch::{Device, Kind, Tensor};

use examiner::reference::error::{Error, Result};
use examiner::reference::layers::Layer;

use crate::network::{Mode, Network};
use crate::torch_error;
use examiner::reference::python::ast::BinOp;
use examiner::reference::python::eval::{
    DType, Elementwise, Init, Module, ModuleKind, Operand, Reduction, TensorExpr, ViewDim,
};

/// Largest tensor evaluated in full, in elements (1 GiB of float32).
pub const MAX_MATERIALISED_ELEMENTS: i64 = 1 << 28;

/// The seed every reference computation starts from, so that results are reproducible.
pub const SEED: i64 = 0;

/// libtorch's random generator is global to the process: two computations drawing from it at
/// once (parallel grading, parallel tests) would each see the other's draws. Every public
/// computation therefore runs under this lock, seeded.
static TORCH_RNG: Mutex<()> = Mutex::new(());

thread_local! {
    static HOLDS_RNG: Cell<bool> = const { Cell::new(false) };
}

/// Resets the thread's flag even when the computation panics.
struct Holding;

impl Drop for Holding {
    fn drop(&mut self) {
        HOLDS_RNG.with(|h| h.set(false));
    }
}

/// Runs `f` with torch's generator seeded with [`SEED`] and reserved for this thread, so its
/// results are the same whatever else runs. Nested calls run inside the outer reservation.
pub fn seeded<T>(f: impl FnOnce() -> T) -> T {
    if HOLDS_RNG.with(Cell::get) {
        return f();
    }
    let _lock = TORCH_RNG.lock().unwrap_or_else(PoisonError::into_inner);
    HOLDS_RNG.with(|h| h.set(true));
    let _holding = Holding;
    tch::manual_seed(SEED);
    f()
}

fn kind(dtype: DType) -> Kind {
    match dtype {
        DType::Float32 => Kind::Float,
        DType::Float64 => Kind::Double,
        DType::Int64 => Kind::Int64,
    }
}

fn elements(shape: &[i64]) -> i64 {
    shape.iter().fold(1i64, |acc, &d| acc.saturating_mul(d))
}

/// Turns tensor expressions into libtorch tensors. Each leaf and each module is made once, so
/// a tensor used twice is the same tensor, as in Python.
#[derive(Debug)]
pub struct Evaluator {
    mode: Mode,
    leaves: HashMap<usize, Tensor>,
    networks: HashMap<usize, Rc<Network>>,
    /// Leaves made to record gradients, by id.
    grad_leaves: Vec<usize>,
    /// The inputs of the class `forward`s being evaluated, innermost last, with the frame
    /// each opened.
    inputs: Vec<(Tensor, usize)>,
    next_frame: usize,
    /// Nodes already evaluated, by node and input frame (a value used twice is one tensor,
    /// as in Python, and a graph that reuses values is not evaluated exponentially).
    memo: HashMap<(usize, usize), Tensor>,
}

impl Evaluator {
    /// An evaluator whose modules run in `mode`; seeds torch's generator.
    pub fn new(mode: Mode) -> Self {
        tch::manual_seed(SEED);
        Evaluator {
            mode,
            leaves: HashMap::new(),
            networks: HashMap::new(),
            grad_leaves: Vec::new(),
            inputs: Vec::new(),
            next_frame: 0,
            memo: HashMap::new(),
        }
    }

    /// Runs `module` on `x`.
    pub fn run_module(&mut self, module: &Module, x: &Tensor) -> Result<Tensor> {
        match &module.kind {
            ModuleKind::Layer(_) | ModuleKind::Sequential(_) => {
                let net = self.network(module)?;
                let x = match module.layers().first() {
                    Some((_, Layer::Embedding { .. })) => x.shallow_clone(),
                    _ if !x.is_floating_point() => x.to_kind(self.mode.kind()),
                    _ => x.shallow_clone(),
                };
                net.forward(&x).map_err(torch_error(format!(
                    "to run {} at {}",
                    module.describe(),
                    module.span
                )))
            }
            ModuleKind::Chain(children) => {
                let mut x = x.shallow_clone();
                for child in children {
                    x = self.run_module(child, &x)?;
                }
                Ok(x)
            }
            ModuleKind::List(_) => Err(Error::Invalid(
                "an nn.ModuleList cannot be called; call its items".into(),
            )),
            ModuleKind::Class(c) => {
                self.next_frame += 1;
                self.inputs.push((x.shallow_clone(), self.next_frame));
                let out = self.eval(&c.forward);
                self.inputs.pop();
                out
            }
        }
    }

    /// Makes leaf `id` record gradients even if the code did not ask for it.
    pub fn require_grad(&mut self, id: usize) {
        self.grad_leaves.push(id);
    }

    /// The tensor made for leaf `id`, once evaluated.
    pub fn leaf(&self, id: usize) -> Option<&Tensor> {
        self.leaves.get(&id)
    }

    /// The network made for `module`.
    pub fn network(&mut self, module: &Module) -> Result<Rc<Network>> {
        if let Some(net) = self.networks.get(&module.id) {
            return Ok(net.clone());
        }
        let net = Network::shared(&module.layers(), self.mode).map_err(torch_error(format!(
            "to build the model at {}",
            module.span
        )))?;
        let net = Rc::new(net);
        self.networks.insert(module.id, net.clone());
        Ok(net)
    }

    /// Evaluates `expr`.
    pub fn eval(&mut self, expr: &TensorExpr) -> Result<Tensor> {
        let frame = self.inputs.last().map_or(0, |(_, f)| *f);
        let key = (expr as *const TensorExpr as usize, frame);
        if let Some(t) = self.memo.get(&key) {
            return Ok(t.shallow_clone());
        }
        let out = self.eval_inner(expr)?;
        self.memo.insert(key, out.shallow_clone());
        Ok(out)
    }

    fn eval_inner(&mut self, expr: &TensorExpr) -> Result<Tensor> {
        match expr {
            TensorExpr::Leaf { id, spec, span } => {
                if let Some(t) = self.leaves.get(id) {
                    return Ok(t.shallow_clone());
                }
                if elements(&spec.shape) > MAX_MATERIALISED_ELEMENTS {
                    return Err(Error::Invalid(format!(
                        "{span}: the tensor of shape {:?} is too large to evaluate",
                        spec.shape
                    )));
                }
                let t = make_leaf(spec.shape.as_slice(), spec.dtype, &spec.init)
                    .map_err(torch_error(format!("to create the tensor at {span}")))?;
                let t = if spec.requires_grad || self.grad_leaves.contains(id) {
                    t.set_requires_grad(true)
                } else {
                    t
                };
                self.leaves.insert(*id, t.shallow_clone());
                Ok(t)
            }
            TensorExpr::Apply {
                module,
                input,
                span,
            } => {
                let x = self.eval(input)?;
                self.run_module(module, &x).map_err(|e| match e {
                    Error::Torch { message, .. } => Error::Torch {
                        context: format!("to run the model at {span}"),
                        message,
                    },
                    other => other,
                })
            }
            TensorExpr::Input => self
                .inputs
                .last()
                .map(|(t, _)| t.shallow_clone())
                .ok_or_else(|| Error::Invalid("a model's input used outside its forward".into())),
            TensorExpr::Cat { items, dim, span } => {
                let mut tensors = Vec::new();
                for item in items {
                    tensors.push(self.eval(item)?);
                }
                Tensor::f_cat(&tensors, *dim).map_err(torch_error(format!("torch.cat at {span}")))
            }
            TensorExpr::View { input, shape, span } => {
                let x = self.eval(input)?;
                let mut sizes = Vec::new();
                for d in shape {
                    sizes.push(match d {
                        ViewDim::Fixed(v) => *v,
                        ViewDim::SizeOf(t, dim) => {
                            let size = self.eval(t)?.size();
                            let rank = size.len() as i64;
                            let i = if *dim < 0 { dim + rank } else { *dim };
                            if !(0..rank).contains(&i) {
                                return Err(Error::Invalid(format!(
                                    "size({dim}) at {span}: out of range for {rank} dimensions"
                                )));
                            }
                            size[i as usize]
                        }
                    });
                }
                x.f_reshape(sizes.as_slice())
                    .map_err(torch_error(format!("view at {span}")))
            }
            TensorExpr::Binary {
                op,
                left,
                right,
                span,
            } => {
                let l = self.operand(left)?;
                let r = self.operand(right)?;
                binary(*op, &l, &r).map_err(torch_error(format!("`{}` at {span}", op.symbol())))
            }
            TensorExpr::Neg(t) => {
                let t = self.eval(t)?;
                t.f_neg().map_err(torch_error("a negation"))
            }
            TensorExpr::Map(f, t) => {
                let t = self.eval(t)?;
                let r = match f {
                    Elementwise::Sigmoid => t.f_sigmoid(),
                    Elementwise::Tanh => t.f_tanh(),
                    Elementwise::Relu => t.f_relu(),
                    Elementwise::Exp => t.f_exp(),
                    Elementwise::Log => t.f_log(),
                    Elementwise::Abs => t.f_abs(),
                    Elementwise::Sqrt => t.f_sqrt(),
                    Elementwise::Square => t.f_square(),
                };
                r.map_err(torch_error(format!("{f:?}")))
            }
            TensorExpr::Reduce(r, t) => {
                let t = self.eval(t)?;
                let k = t.kind();
                match r {
                    Reduction::Mean => t.f_mean(k),
                    Reduction::Sum => t.f_sum(k),
                }
                .map_err(torch_error(format!("{r:?}")))
            }
        }
    }

    fn operand(&mut self, o: &Operand) -> Result<Tensor> {
        match o {
            Operand::Tensor(t) => self.eval(t),
            Operand::Scalar(s) => Ok(Tensor::from(*s)),
        }
    }
}

fn binary(op: BinOp, l: &Tensor, r: &Tensor) -> std::result::Result<Tensor, tch::TchError> {
    match op {
        BinOp::Add => l.f_add(r),
        BinOp::Sub => l.f_sub(r),
        BinOp::Mul => l.f_mul(r),
        BinOp::Div => l.f_div(r),
        BinOp::FloorDiv => l.f_floor_divide(r),
        BinOp::Mod => l.f_remainder_tensor(r),
        BinOp::Pow => l.f_pow(r),
        BinOp::MatMul => l.f_matmul(r),
    }
}

fn make_leaf(
    shape: &[i64],
    dtype: DType,
    init: &Init,
) -> std::result::Result<Tensor, tch::TchError> {
    let opts = (kind(dtype), Device::Cpu);
    match init {
        Init::Rand => Tensor::f_rand(shape, opts),
        Init::Randn => Tensor::f_randn(shape, opts),
        Init::Randint { low, high } => Tensor::f_randint_low(*low, *high, shape, opts),
        Init::Ones => Tensor::f_ones(shape, opts),
        Init::Zeros => Tensor::f_zeros(shape, opts),
        Init::Full(v) => Tensor::f_full(shape, *v, opts),
        Init::Data(values) => Tensor::f_from_slice(values)?
            .f_reshape(shape)?
            .f_to_kind(opts.0),
    }
}

/// An output shape, with what computing it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeResult {
    pub shape: Vec<i64>,
    /// Bytes of the largest tensor libtorch actually held while computing the shape.
    pub peak_bytes: i64,
    /// Bytes the full output would take.
    pub output_bytes: i64,
}

/// The shape of `expr`, from the layers' geometry: nothing is materialised (an embedding of a
/// (5, 6, 7, 8) index tensor into 42000 dimensions costs arithmetic, not 282 MB).
pub fn shape_of(expr: &TensorExpr) -> Result<ShapeResult> {
    let (shape, dtype) = examiner::reference::geometry::expr_shape(expr)?;
    Ok(ShapeResult {
        output_bytes: elements(&shape).saturating_mul(dtype.size()),
        shape,
        peak_bytes: 0,
    })
}

/// How many leading dimensions `layer` treats independently for an input of rank `rank`.
fn independent_dims(layer: &Layer, rank: usize) -> usize {
    match layer {
        Layer::Conv2d(_)
        | Layer::MaxPool2d(_)
        | Layer::AvgPool2d(_)
        | Layer::BatchNorm2d { .. } => usize::from(rank == 4),
        Layer::Linear { .. } => rank.saturating_sub(1),
        Layer::Flatten { start_dim, .. } => {
            let start = if *start_dim < 0 {
                rank as i64 + start_dim
            } else {
                *start_dim
            };
            start.clamp(0, rank as i64) as usize
        }
        Layer::Embedding { .. }
        | Layer::ReLU
        | Layer::Sigmoid
        | Layer::Tanh
        | Layer::Dropout { .. }
        | Layer::Identity => rank,
    }
}

/// The output shape of a sequential `module` on an input of `shape`, probed with libtorch:
/// each layer runs on a slice of its input (the leading dimensions it treats independently set
/// to one). [`examiner::reference::geometry`] computes the same shape by arithmetic; this is its
/// cross-check.
pub fn probe_output_shape(
    module: &Module,
    shape: &[i64],
    dtype: DType,
    peak: &mut i64,
) -> Result<Vec<i64>> {
    // Layers draw their weights from torch's global generator: under the lock, like every
    // computation, so a measurement running on another thread never sees its draws.
    seeded(|| probe_layers(module, shape, dtype, peak))
}

fn probe_layers(module: &Module, shape: &[i64], dtype: DType, peak: &mut i64) -> Result<Vec<i64>> {
    let _guard = tch::no_grad_guard();
    let layers = module.layers();
    let mut shape = shape.to_vec();
    let mut dtype = dtype;
    for (index, (_, layer)) in layers.iter().enumerate() {
        let net = Network::new(std::slice::from_ref(layer), Mode::Default)
            .map_err(torch_error(format!("to build layer {index} ({layer})")))?;
        let keep = independent_dims(layer, shape.len());
        let mut probe = vec![1; keep];
        probe.extend_from_slice(&shape[keep..]);
        if elements(&probe) > MAX_MATERIALISED_ELEMENTS {
            return Err(Error::Invalid(format!(
                "layer {index} ({layer}) would need a tensor of shape {probe:?}, too large to \
                 evaluate"
            )));
        }
        let input = match layer {
            Layer::Embedding { .. } => {
                Tensor::f_zeros(probe.as_slice(), (Kind::Int64, Device::Cpu))
            }
            _ => {
                if dtype == DType::Int64 {
                    return Err(Error::Invalid(format!(
                        "layer {index} ({layer}) gets an integer tensor; only nn.Embedding takes \
                         indices"
                    )));
                }
                Tensor::f_zeros(probe.as_slice(), (Kind::Float, Device::Cpu))
            }
        }
        .map_err(torch_error("to allocate a probe"))?;
        let out = net.forward(&input).map_err(torch_error(format!(
            "layer {index} ({layer}) on shape {shape:?}"
        )))?;
        let bytes = (input.numel() * input.kind().elt_size_in_bytes()
            + out.numel() * out.kind().elt_size_in_bytes()) as i64;
        *peak = (*peak).max(bytes);
        let mut next = shape[..keep].to_vec();
        next.extend_from_slice(&out.size()[keep..]);
        shape = next;
        dtype = DType::Float32;
    }
    Ok(shape)
}
