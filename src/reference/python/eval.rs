//! The interpreter for question code: it walks the syntax tree and builds values, never running
//! Python and never touching libtorch.
//!
//! Numbers, tuples and lists are computed; `nn.*` constructors become [`Layer`]s; tensor
//! constructors (`torch.rand(...)`) become [`TensorSpec`]s; and everything done to a tensor
//! (a model call, `X @ W + b`, `torch.mean`) becomes a [`TensorExpr`] graph that the
//! computations later evaluate with libtorch. Anything outside this subset is an [`EvalError`]
//! with the line, column and the construct's name.
//!
//! A `class Name(nn.Module)` is instantiated by interpreting its `__init__` (which assigns
//! layers to `self`, possibly in `for` loops over `range`) and then its `forward` once, on a
//! symbolic input ([`TensorExpr::Input`]): the result is the module's graph (calls of its
//! layers, `+`, `torch.cat`, functional activations and pooling, `view`/`flatten`), which the
//! computations evaluate like any other tensor expression. Python is never run: a `forward`
//! with data-dependent control flow cannot even be written in the subset.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use super::ast::{
    Arg, BinOp, Expr, ExprKind, Method, Program, Span, Stmt, StmtKind, Target, UnaryOp,
};
use crate::reference::layers::{Conv2d, Layer, Pair, Pool2d};

/// Deepest call nesting of `def` functions (question code never recurses).
const MAX_CALL_DEPTH: usize = 32;
/// Largest list built by repetition (`[...] * n`): no question has more than a few hundred.
const MAX_REPEAT_LEN: usize = 100_000;
/// Most statements interpreted in all (loops included): bounds the time of hostile code.
const MAX_STEPS: usize = 1_000_000;
/// Deepest tensor graph a name may hold (operations from the inputs, a class's `forward`
/// counted in full): the computations walk graphs recursively, and a loop could otherwise
/// chain a million layers. ResNet-152 is about 600 deep.
pub const MAX_GRAPH_DEPTH: u32 = 1000;
/// Largest tensor a specification may describe, in elements (the 1024x1024 images are 3M).
pub const MAX_TENSOR_ELEMENTS: i64 = 1 << 40;

/// An error in question code: where, and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{span}: {message}")]
pub struct EvalError {
    pub span: Span,
    pub message: String,
}

fn err<T>(span: Span, message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError {
        span,
        message: message.into(),
    })
}

/// The element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    Float32,
    Float64,
    Int64,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> i64 {
        match self {
            DType::Float32 => 4,
            DType::Float64 | DType::Int64 => 8,
        }
    }

    /// torch's name for it.
    pub fn name(self) -> &'static str {
        match self {
            DType::Float32 => "torch.float32",
            DType::Float64 => "torch.float64",
            DType::Int64 => "torch.int64",
        }
    }
}

/// How a tensor's values are made.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// `torch.rand`: uniform on [0, 1).
    Rand,
    /// `torch.randn`: standard normal.
    Randn,
    /// `torch.randint(low, high, size)`.
    Randint {
        low: i64,
        high: i64,
    },
    Ones,
    Zeros,
    /// `torch.full(size, value)`.
    Full(f64),
    /// `torch.tensor([...])`: the values, row-major.
    Data(Vec<f64>),
}

/// A tensor the code creates: its shape, type, values and whether it records gradients.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    pub shape: Vec<i64>,
    pub dtype: DType,
    pub init: Init,
    pub requires_grad: bool,
}

/// A module the code builds: one layer, or a `nn.Sequential` of layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    /// Distinct per constructor call: `[layer] * 24` repeats one module (shared weights), as
    /// Python does.
    pub id: usize,
    pub kind: ModuleKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ModuleKind {
    Layer(Layer),
    /// The layers, nested `Sequential`s flattened, each with its module id.
    Sequential(Vec<(usize, Layer)>),
    /// A `nn.Sequential` holding class instances or lists: its children, run in order.
    Chain(Vec<Rc<Module>>),
    /// `nn.ModuleList`: registered children, not callable.
    List(Vec<Rc<Module>>),
    /// An instance of a `class Name(nn.Module)`.
    Class(ClassModule),
}

/// An instance of a user's `nn.Module` class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassModule {
    /// The class's name.
    pub class: String,
    /// The modules `__init__` assigned to `self`, in order of assignment (PyTorch's
    /// registration order), by attribute name.
    pub children: Vec<(String, Rc<Module>)>,
    /// What `forward` computes from [`TensorExpr::Input`].
    pub forward: Rc<TensorExpr>,
}

impl Module {
    /// The layers this module runs, in order, each with the id of the module that owns its
    /// parameters. For a class, every layer it registers, in registration order (what
    /// `model.modules()` lists), which is not necessarily the order `forward` runs them.
    pub fn layers(&self) -> Vec<(usize, Layer)> {
        match &self.kind {
            ModuleKind::Layer(layer) => vec![(self.id, layer.clone())],
            ModuleKind::Sequential(layers) => layers.clone(),
            ModuleKind::Chain(children) | ModuleKind::List(children) => {
                children.iter().flat_map(|c| c.layers()).collect()
            }
            ModuleKind::Class(c) => c.children.iter().flat_map(|(_, m)| m.layers()).collect(),
        }
    }

    /// Whether running the module is running [`Module::layers`] in order.
    pub fn is_sequential(&self) -> bool {
        match &self.kind {
            ModuleKind::Layer(_) | ModuleKind::Sequential(_) => true,
            ModuleKind::Chain(children) => children.iter().all(|c| c.is_sequential()),
            ModuleKind::List(_) | ModuleKind::Class(_) => false,
        }
    }

    /// The registered submodules with PyTorch's names (`0`, `conv1`, `layer1.0.conv1`), down
    /// to the layers: each layer once per place it is registered, with the id that owns its
    /// parameters.
    pub fn named_layers(&self) -> Vec<(String, usize, Layer)> {
        let mut out = Vec::new();
        self.collect_named("", &mut out);
        out
    }

    fn collect_named(&self, prefix: &str, out: &mut Vec<(String, usize, Layer)>) {
        let join = |name: &str| {
            if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}.{name}")
            }
        };
        match &self.kind {
            ModuleKind::Layer(layer) => out.push((prefix.to_string(), self.id, layer.clone())),
            ModuleKind::Sequential(layers) => {
                for (i, (id, layer)) in layers.iter().enumerate() {
                    out.push((join(&i.to_string()), *id, layer.clone()));
                }
            }
            ModuleKind::Chain(children) | ModuleKind::List(children) => {
                for (i, c) in children.iter().enumerate() {
                    c.collect_named(&join(&i.to_string()), out);
                }
            }
            ModuleKind::Class(c) => {
                for (name, m) in &c.children {
                    m.collect_named(&join(name), out);
                }
            }
        }
    }

    /// The registered child modules, as Python iterates them (`for m in self.blocks`).
    fn children(&self) -> Option<Vec<Rc<Module>>> {
        match &self.kind {
            ModuleKind::Sequential(layers) => Some(
                layers
                    .iter()
                    .map(|(id, layer)| {
                        Rc::new(Module {
                            id: *id,
                            kind: ModuleKind::Layer(layer.clone()),
                            span: self.span,
                        })
                    })
                    .collect(),
            ),
            ModuleKind::Chain(children) | ModuleKind::List(children) => Some(children.clone()),
            _ => None,
        }
    }

    /// A short description: the layer as torch prints it, or the container's kind.
    pub fn describe(&self) -> String {
        match &self.kind {
            ModuleKind::Layer(layer) => layer.to_string(),
            ModuleKind::Sequential(_) | ModuleKind::Chain(_) => "Sequential".to_string(),
            ModuleKind::List(_) => "ModuleList".to_string(),
            ModuleKind::Class(c) => c.class.clone(),
        }
    }
}

/// An elementwise function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elementwise {
    Sigmoid,
    Tanh,
    Relu,
    Exp,
    Log,
    Abs,
    Sqrt,
    Square,
}

/// A reduction to a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    Mean,
    Sum,
}

/// An operand of a tensor operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Tensor(Rc<TensorExpr>),
    Scalar(f64),
}

/// What the code computes with tensors, as a graph the computations evaluate with libtorch.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorExpr {
    /// A tensor made by a constructor; `id` is distinct per constructor call.
    Leaf {
        id: usize,
        spec: TensorSpec,
        span: Span,
    },
    /// `module(input)`
    Apply {
        module: Rc<Module>,
        input: Rc<TensorExpr>,
        span: Span,
    },
    Binary {
        op: BinOp,
        left: Operand,
        right: Operand,
        span: Span,
    },
    Neg(Rc<TensorExpr>),
    Map(Elementwise, Rc<TensorExpr>),
    Reduce(Reduction, Rc<TensorExpr>),
    /// The input of the module whose `forward` this graph is.
    Input,
    /// `torch.cat(items, dim)`
    Cat {
        items: Vec<Rc<TensorExpr>>,
        dim: i64,
        span: Span,
    },
    /// `x.view(...)` / `x.reshape(...)`
    View {
        input: Rc<TensorExpr>,
        shape: Vec<ViewDim>,
        span: Span,
    },
}

/// One size of a `view`: a number, or a size of a tensor (`x.size(0)`), known only when the
/// graph runs.
#[derive(Debug, Clone, PartialEq)]
pub enum ViewDim {
    Fixed(i64),
    SizeOf(Rc<TensorExpr>, i64),
}

/// A `class Name(nn.Module)` as written.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassDef {
    pub name: String,
    pub methods: Vec<Rc<Method>>,
    pub span: Span,
}

/// `self` while `__init__` and `forward` are interpreted: its attributes, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    pub class: String,
    pub attrs: Vec<(String, Value)>,
}

/// A user-defined function: `def name(params): return body`.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    pub params: Vec<String>,
    pub body: Expr,
}

/// The namespaces question code reaches through imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    Torch,
    Nn,
    /// `torch.nn.functional`, usually imported as `F`.
    Functional,
}

/// A value of question code.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    DType(DType),
    Namespace(Namespace),
    Module(Rc<Module>),
    Tensor(Rc<TensorExpr>),
    /// `t.shape` or `t.size()`.
    Shape(Rc<TensorExpr>),
    Function(Rc<Function>),
    /// A method bound to its receiver, e.g. `loss.backward` before the call.
    Method(Box<Value>, String),
    /// `print`: calls to it show a value in the notebook and change nothing.
    Print,
    /// A class the code defines.
    Class(Rc<ClassDef>),
    /// `self` inside a class's methods.
    Object(Rc<RefCell<Object>>),
    /// `super()`, whose `__init__()` does nothing here.
    Super,
    /// A size of a tensor (`x.size(0)`, `x.shape[1]`), known when the graph runs.
    Dim(Rc<TensorExpr>, i64),
    /// `range`, `len`.
    Builtin(&'static str),
}

impl Value {
    /// The kind of value, as a user reads it in an error.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "an int",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a bool",
            Value::None => "None",
            Value::Str(_) => "a string",
            Value::Tuple(_) => "a tuple",
            Value::List(_) => "a list",
            Value::DType(_) => "a dtype",
            Value::Namespace(_) => "a module namespace",
            Value::Module(_) => "a torch module",
            Value::Tensor(_) => "a tensor",
            Value::Shape(_) => "a shape",
            Value::Function(_) => "a function",
            Value::Method(..) => "a method",
            Value::Print | Value::Builtin(_) => "a builtin function",
            Value::Class(_) => "a class",
            Value::Object(_) => "`self`",
            Value::Super => "`super()`",
            Value::Dim(..) => "a tensor size",
        }
    }
}

/// One name bound by the code, in order of binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub name: String,
    pub value: Value,
    pub span: Span,
}

/// Everything the code bound and evaluated.
#[derive(Debug, Clone, Default)]
pub struct Evaluated {
    /// Every assignment, in source order (a name assigned twice appears twice).
    pub bindings: Vec<Binding>,
    /// The values of bare expression statements (e.g. `cnn(x).shape`), in order.
    pub expressions: Vec<(Value, Span)>,
    /// Every `module(tensor)` call evaluated, in order.
    pub applications: Vec<Rc<TensorExpr>>,
}

impl Evaluated {
    /// The current value of `name`.
    pub fn get(&self, name: &str) -> Option<&Binding> {
        self.bindings.iter().rev().find(|b| b.name == name)
    }

    /// The names bound, each once, in order of last binding.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for b in self.bindings.iter().rev() {
            if !names.contains(&b.name.as_str()) {
                names.push(&b.name);
            }
        }
        names.reverse();
        names
    }
}

/// Evaluates a parsed program.
pub fn evaluate(program: &Program) -> Result<Evaluated, EvalError> {
    let mut interp = Interpreter::default();
    for stmt in &program.statements {
        interp.statement(&stmt.kind, stmt.span)?;
    }
    Ok(interp.out)
}

#[derive(Default)]
struct Interpreter {
    globals: HashMap<String, Value>,
    out: Evaluated,
    next_id: usize,
    depth: usize,
    steps: usize,
    /// Depths of the tensor graphs built so far, by node (the node kept alive so that its
    /// address is not reused).
    graph_depths: HashMap<usize, (Rc<TensorExpr>, u32)>,
    /// Depths of the class modules' `forward` graphs, by module id.
    module_depths: HashMap<usize, u32>,
}

type Scope = HashMap<String, Value>;

impl Interpreter {
    fn fresh_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    fn statement(&mut self, stmt: &StmtKind, span: Span) -> Result<(), EvalError> {
        match stmt {
            StmtKind::Import => Ok(()),
            StmtKind::Def { name, params, body } => {
                let f = Function {
                    name: name.clone(),
                    params: params.clone(),
                    body: body.clone(),
                };
                self.bind(name, Value::Function(Rc::new(f)), span);
                Ok(())
            }
            StmtKind::Assign { targets, value } => {
                let value = self.expr(value, None)?;
                self.check_depth(&value, span)?;
                for target in targets {
                    self.assign(target, value.clone())?;
                }
                Ok(())
            }
            StmtKind::Expr(expr) => {
                let value = self.expr(expr, None)?;
                self.out.expressions.push((value, span));
                Ok(())
            }
            StmtKind::Class { name, methods } => {
                let class = ClassDef {
                    name: name.clone(),
                    methods: methods.iter().cloned().map(Rc::new).collect(),
                    span,
                };
                for required in ["__init__", "forward"] {
                    if !class.methods.iter().any(|m| m.name == required) {
                        return err(
                            span,
                            format!(
                                "class `{name}` has no `{required}`; a model class needs \
                                 `__init__` (its layers) and `forward` (what it computes)"
                            ),
                        );
                    }
                }
                self.bind(name, Value::Class(Rc::new(class)), span);
                Ok(())
            }
            StmtKind::Return(_) | StmtKind::For { .. } | StmtKind::Pass => {
                err(span, "this statement is only allowed in a method")
            }
        }
    }

    /// How deep a module's run is, in graph nodes.
    fn module_depth(&self, m: &Module) -> u32 {
        match &m.kind {
            ModuleKind::Layer(_) | ModuleKind::Sequential(_) | ModuleKind::List(_) => 1,
            ModuleKind::Chain(children) => children
                .iter()
                .fold(0u32, |acc, c| acc.saturating_add(self.module_depth(c))),
            ModuleKind::Class(_) => self.module_depths.get(&m.id).copied().unwrap_or(1),
        }
    }

    /// The depth of `t`'s graph, computed without recursion (nodes already measured are
    /// looked up).
    fn tensor_depth(&mut self, t: &Rc<TensorExpr>) -> u32 {
        fn children(t: &TensorExpr) -> Vec<Rc<TensorExpr>> {
            let operand = |o: &Operand| match o {
                Operand::Tensor(t) => Some(t.clone()),
                Operand::Scalar(_) => None,
            };
            match t {
                TensorExpr::Leaf { .. } | TensorExpr::Input => Vec::new(),
                TensorExpr::Apply { input, .. } => vec![input.clone()],
                TensorExpr::Binary { left, right, .. } => {
                    operand(left).into_iter().chain(operand(right)).collect()
                }
                TensorExpr::Neg(t) | TensorExpr::Map(_, t) | TensorExpr::Reduce(_, t) => {
                    vec![t.clone()]
                }
                TensorExpr::Cat { items, .. } => items.clone(),
                TensorExpr::View { input, shape, .. } => std::iter::once(input.clone())
                    .chain(shape.iter().filter_map(|d| match d {
                        ViewDim::SizeOf(t, _) => Some(t.clone()),
                        ViewDim::Fixed(_) => None,
                    }))
                    .collect(),
            }
        }
        let key = |t: &Rc<TensorExpr>| Rc::as_ptr(t) as usize;
        let mut stack = vec![(t.clone(), false)];
        while let Some((node, expanded)) = stack.pop() {
            if self.graph_depths.contains_key(&key(&node)) {
                continue;
            }
            let kids = children(&node);
            if !expanded {
                stack.push((node, true));
                for k in kids {
                    if !self.graph_depths.contains_key(&key(&k)) {
                        stack.push((k, false));
                    }
                }
                continue;
            }
            let below = kids
                .iter()
                .map(|k| self.graph_depths.get(&key(k)).map_or(0, |(_, d)| *d))
                .max()
                .unwrap_or(0);
            let own = match node.as_ref() {
                TensorExpr::Apply { module, .. } => self.module_depth(module),
                _ => 1,
            };
            let depth = below.saturating_add(own);
            self.graph_depths.insert(key(&node), (node, depth));
        }
        self.graph_depths.get(&key(t)).map_or(0, |(_, d)| *d)
    }

    /// Refuses a value whose tensor graph is deeper than [`MAX_GRAPH_DEPTH`].
    fn check_depth(&mut self, value: &Value, span: Span) -> Result<(), EvalError> {
        if let Value::Tensor(t) | Value::Shape(t) | Value::Dim(t, _) = value {
            let depth = self.tensor_depth(t);
            if depth > MAX_GRAPH_DEPTH {
                return err(
                    span,
                    format!(
                        "this tensor is the result of {depth} chained operations; at most \
                         {MAX_GRAPH_DEPTH} are supported"
                    ),
                );
            }
        }
        Ok(())
    }

    /// Counts one interpreted statement; errs past [`MAX_STEPS`].
    fn step(&mut self, span: Span) -> Result<(), EvalError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return err(
                span,
                format!("the code runs more than {MAX_STEPS} statements; loops are too long"),
            );
        }
        Ok(())
    }

    /// Runs a method body in `scope`; the value of its `return`, if one runs.
    fn block(&mut self, stmts: &[Stmt], scope: &mut Scope) -> Result<Option<Value>, EvalError> {
        for stmt in stmts {
            self.step(stmt.span)?;
            match &stmt.kind {
                StmtKind::Assign { targets, value } => {
                    let value = self.expr(value, Some(scope))?;
                    self.check_depth(&value, stmt.span)?;
                    for target in targets {
                        self.assign_local(target, value.clone(), scope)?;
                    }
                }
                StmtKind::Expr(expr) => {
                    if !self.append(expr, scope)? {
                        self.expr(expr, Some(scope))?;
                    }
                }
                StmtKind::Return(value) => {
                    let value = match value {
                        Some(v) => self.expr(v, Some(scope))?,
                        None => Value::None,
                    };
                    self.check_depth(&value, stmt.span)?;
                    return Ok(Some(value));
                }
                StmtKind::For { target, iter, body } => {
                    let items = self.expr(iter, Some(scope))?;
                    for item in iterate(items, iter.span)? {
                        self.assign_local(target, item, scope)?;
                        if let Some(v) = self.block(body, scope)? {
                            return Ok(Some(v));
                        }
                    }
                }
                StmtKind::Pass => {}
                StmtKind::Import => {}
                StmtKind::Def { .. } | StmtKind::Class { .. } => {
                    return err(stmt.span, "definitions inside a method are not supported")
                }
            }
        }
        Ok(None)
    }

    /// `xs.append(v)` on a local list or a `self` attribute (a list or an `nn.ModuleList`):
    /// lists are values here, so the name is rebound. False when `expr` is not an append.
    fn append(&mut self, expr: &Expr, scope: &mut Scope) -> Result<bool, EvalError> {
        let ExprKind::Call { func, args } = &expr.kind else {
            return Ok(false);
        };
        let ExprKind::Attribute { value: owner, attr } = &func.kind else {
            return Ok(false);
        };
        if attr != "append" {
            return Ok(false);
        }
        let current = self.expr(owner, Some(scope))?;
        let args = self.arguments(args, Some(scope))?;
        let (item, item_span) = args.single("object", expr.span)?;
        let updated = match current {
            Value::List(mut items) => {
                if items.len() >= MAX_REPEAT_LEN {
                    return err(expr.span, "list too long");
                }
                items.push(item);
                Value::List(items)
            }
            Value::Module(m) => match (&m.kind, item) {
                (ModuleKind::List(children), Value::Module(child)) => {
                    let mut children = children.clone();
                    children.push(child);
                    Value::Module(Rc::new(Module {
                        id: m.id,
                        kind: ModuleKind::List(children),
                        span: m.span,
                    }))
                }
                (_, other) => {
                    return err(
                        item_span,
                        format!(
                            "only a module can be appended to an nn.ModuleList, not {}",
                            other.kind()
                        ),
                    )
                }
            },
            other => return err(owner.span, format!("cannot append to {}", other.kind())),
        };
        match &owner.kind {
            ExprKind::Name(name) => {
                scope.insert(name.clone(), updated);
            }
            ExprKind::Attribute { value, attr } => {
                let target = Target::Attr(value.clone(), attr.clone(), owner.span);
                self.assign_local(&target, updated, scope)?;
            }
            _ => return err(owner.span, "can only append to a name or `self.attr`"),
        }
        Ok(true)
    }

    /// Assigns in a method's scope, or to an attribute of `self`.
    fn assign_local(
        &mut self,
        target: &Target,
        value: Value,
        scope: &mut Scope,
    ) -> Result<(), EvalError> {
        match target {
            Target::Name(name, _) => {
                scope.insert(name.clone(), value);
                Ok(())
            }
            Target::Attr(owner, attr, span) => match self.expr(owner, Some(scope))? {
                Value::Object(obj) => {
                    let mut obj = obj.borrow_mut();
                    match obj.attrs.iter_mut().find(|(n, _)| n == attr) {
                        Some((_, v)) => *v = value,
                        None => obj.attrs.push((attr.clone(), value)),
                    }
                    Ok(())
                }
                other => err(
                    *span,
                    format!(
                        "only attributes of `self` can be assigned, not of {}",
                        other.kind()
                    ),
                ),
            },
            Target::Tuple(targets, span) => {
                let items = match value {
                    Value::Tuple(items) | Value::List(items) if items.len() == targets.len() => {
                        items
                    }
                    other => {
                        return err(
                            *span,
                            format!(
                                "cannot unpack {} into {} names",
                                other.kind(),
                                targets.len()
                            ),
                        )
                    }
                };
                for (t, v) in targets.iter().zip(items) {
                    self.assign_local(t, v, scope)?;
                }
                Ok(())
            }
        }
    }

    /// `Name(args)`: interprets `__init__`, then `forward` on a symbolic input.
    fn instantiate(
        &mut self,
        class: &Rc<ClassDef>,
        args: Args,
        span: Span,
    ) -> Result<Value, EvalError> {
        if self.depth >= MAX_CALL_DEPTH {
            return err(span, format!("`{}` is built too deeply", class.name));
        }
        let method = |name: &str| {
            class
                .methods
                .iter()
                .find(|m| m.name == name)
                .cloned()
                .expect("checked when the class was defined")
        };
        let init = method("__init__");
        let forward = method("forward");
        let object = Rc::new(RefCell::new(Object {
            class: class.name.clone(),
            attrs: Vec::new(),
        }));
        let id = self.fresh_id();
        self.depth += 1;
        let result = (|| {
            let mut scope = self.bind_method(&class.name, &init, args, span)?;
            scope.insert("self".into(), Value::Object(object.clone()));
            self.block(&init.body, &mut scope)?;
            let mut fwd_args = Args::default();
            fwd_args
                .positional
                .push((Value::Tensor(Rc::new(TensorExpr::Input)), span));
            let mut scope = self.bind_method(&class.name, &forward, fwd_args, span)?;
            scope.insert("self".into(), Value::Object(object.clone()));
            let out = self.block(&forward.body, &mut scope)?;
            match out {
                Some(Value::Tensor(t)) => Ok(t),
                Some(other) => err(
                    forward.span,
                    format!(
                        "`{}.forward` returns {}, not a tensor",
                        class.name,
                        other.kind()
                    ),
                ),
                None => err(
                    forward.span,
                    format!("`{}.forward` returns nothing", class.name),
                ),
            }
        })();
        self.depth -= 1;
        let graph = result?;
        let depth = self.tensor_depth(&graph);
        self.module_depths.insert(id, depth);
        let children = object
            .borrow()
            .attrs
            .iter()
            .filter_map(|(name, v)| match v {
                Value::Module(m) => Some((name.clone(), m.clone())),
                _ => None,
            })
            .collect();
        Ok(Value::Module(Rc::new(Module {
            id,
            kind: ModuleKind::Class(ClassModule {
                class: class.name.clone(),
                children,
                forward: graph,
            }),
            span,
        })))
    }

    /// Binds a method's parameters after `self` (defaults evaluated in the global scope).
    fn bind_method(
        &mut self,
        class: &str,
        method: &Method,
        args: Args,
        span: Span,
    ) -> Result<Scope, EvalError> {
        let callee = format!("{class}.{}", method.name);
        let params: Vec<&str> = method.params[1..].iter().map(|(n, _)| n.as_str()).collect();
        let optional: Vec<&str> = method.params[1..]
            .iter()
            .filter(|(_, d)| d.is_some())
            .map(|(n, _)| n.as_str())
            .collect();
        let bound = args.bind(&callee, &params, &optional, span)?;
        let mut scope = Scope::new();
        for ((name, default), value) in method.params[1..].iter().zip(bound) {
            let value = match (value, default) {
                (Some(v), _) => v,
                (None, Some(d)) => self.expr(d, None)?,
                (None, None) => return err(span, format!("{callee} needs argument `{name}`")),
            };
            scope.insert(name.clone(), value);
        }
        Ok(scope)
    }

    fn bind(&mut self, name: &str, value: Value, span: Span) {
        self.globals.insert(name.to_string(), value.clone());
        self.out.bindings.push(Binding {
            name: name.to_string(),
            value,
            span,
        });
    }

    fn assign(&mut self, target: &Target, value: Value) -> Result<(), EvalError> {
        match target {
            Target::Name(name, span) => {
                self.bind(name, value, *span);
                Ok(())
            }
            Target::Attr(_, _, span) => err(*span, "attributes can only be assigned in a method"),
            Target::Tuple(targets, span) => {
                let items = match value {
                    Value::Tuple(items) | Value::List(items) => items,
                    other => {
                        return err(
                            *span,
                            format!(
                                "cannot unpack {} into {} names",
                                other.kind(),
                                targets.len()
                            ),
                        )
                    }
                };
                if items.len() != targets.len() {
                    return err(
                        *span,
                        format!(
                            "cannot unpack {} values into {} names",
                            items.len(),
                            targets.len()
                        ),
                    );
                }
                for (t, v) in targets.iter().zip(items) {
                    self.assign(t, v)?;
                }
                Ok(())
            }
        }
    }

    fn lookup(&self, name: &str, scope: Option<&Scope>, span: Span) -> Result<Value, EvalError> {
        if let Some(v) = scope.and_then(|s| s.get(name)) {
            return Ok(v.clone());
        }
        if let Some(v) = self.globals.get(name) {
            return Ok(v.clone());
        }
        match name {
            "torch" => Ok(Value::Namespace(Namespace::Torch)),
            "nn" => Ok(Value::Namespace(Namespace::Nn)),
            "F" | "functional" => Ok(Value::Namespace(Namespace::Functional)),
            "super" => Ok(Value::Builtin("super")),
            "range" => Ok(Value::Builtin("range")),
            "len" => Ok(Value::Builtin("len")),
            "True" => Ok(Value::Bool(true)),
            "False" => Ok(Value::Bool(false)),
            "None" => Ok(Value::None),
            "print" => Ok(Value::Print),
            _ => err(
                span,
                format!(
                    "name `{name}` is not defined (question code may use the names it assigns, \
                     `torch`, `nn` and `F`)"
                ),
            ),
        }
    }

    fn expr(&mut self, expr: &Expr, scope: Option<&Scope>) -> Result<Value, EvalError> {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Int(i) => Ok(Value::Int(*i)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Str(s) => Ok(Value::Str(s.clone())),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::None => Ok(Value::None),
            ExprKind::Name(name) => self.lookup(name, scope, span),
            ExprKind::Tuple(items) => Ok(Value::Tuple(self.sequence(items, scope)?)),
            ExprKind::List(items) => Ok(Value::List(self.sequence(items, scope)?)),
            ExprKind::Starred(_) => err(span, "`*` is only allowed in a list, tuple or call"),
            ExprKind::Attribute { value, attr } => {
                let value = self.expr(value, scope)?;
                self.attribute(value, attr, span)
            }
            ExprKind::Subscript { value, index } => {
                let value = self.expr(value, scope)?;
                let index = self.expr(index, scope)?;
                subscript(value, index, span)
            }
            ExprKind::Unary { op, operand } => {
                let v = self.expr(operand, scope)?;
                match (op, v) {
                    (UnaryOp::Pos, v @ (Value::Int(_) | Value::Float(_) | Value::Tensor(_))) => {
                        Ok(v)
                    }
                    (UnaryOp::Neg, Value::Int(i)) => i
                        .checked_neg()
                        .map(Value::Int)
                        .ok_or_else(|| overflow(span)),
                    (UnaryOp::Neg, Value::Float(f)) => Ok(Value::Float(-f)),
                    (UnaryOp::Neg, Value::Tensor(t)) => {
                        Ok(Value::Tensor(Rc::new(TensorExpr::Neg(t))))
                    }
                    (_, v) => err(span, format!("cannot negate {}", v.kind())),
                }
            }
            ExprKind::Binary { op, left, right } => {
                let l = self.expr(left, scope)?;
                let r = self.expr(right, scope)?;
                binary(*op, l, r, span)
            }
            ExprKind::Call { func, args } => {
                let callee = self.expr(func, scope)?;
                let args = self.arguments(args, scope)?;
                self.call(callee, args, span)
            }
        }
    }

    fn sequence(&mut self, items: &[Expr], scope: Option<&Scope>) -> Result<Vec<Value>, EvalError> {
        let mut out = Vec::new();
        for item in items {
            if let ExprKind::Starred(inner) = &item.kind {
                let v = self.expr(inner, scope)?;
                out.extend(iterate(v, inner.span)?);
            } else {
                out.push(self.expr(item, scope)?);
            }
        }
        Ok(out)
    }

    fn arguments(&mut self, args: &[Arg], scope: Option<&Scope>) -> Result<Args, EvalError> {
        let mut out = Args::default();
        for arg in args {
            match arg {
                Arg::Positional(e) => {
                    let v = self.expr(e, scope)?;
                    out.positional.push((v, e.span));
                }
                Arg::Star(e) => {
                    let v = self.expr(e, scope)?;
                    for item in iterate(v, e.span)? {
                        out.positional.push((item, e.span));
                    }
                }
                Arg::Keyword(name, e) => {
                    let v = self.expr(e, scope)?;
                    if out.keywords.iter().any(|(k, _, _)| k == name) {
                        return err(e.span, format!("keyword argument `{name}` repeated"));
                    }
                    out.keywords.push((name.clone(), v, e.span));
                }
            }
        }
        Ok(out)
    }

    fn attribute(&mut self, value: Value, attr: &str, span: Span) -> Result<Value, EvalError> {
        match (&value, attr) {
            (Value::Namespace(Namespace::Torch), "nn") => Ok(Value::Namespace(Namespace::Nn)),
            (Value::Namespace(Namespace::Nn), "functional") => {
                Ok(Value::Namespace(Namespace::Functional))
            }
            (Value::Object(obj), _) if attr != "append" => {
                let obj = obj.borrow();
                match obj.attrs.iter().find(|(n, _)| n == attr) {
                    Some((_, v)) => Ok(v.clone()),
                    None => err(
                        span,
                        format!(
                            "`self` ({}) has no attribute `{attr}` (it has {})",
                            obj.class,
                            if obj.attrs.is_empty() {
                                "none yet".to_string()
                            } else {
                                obj.attrs
                                    .iter()
                                    .map(|(n, _)| format!("`{n}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            }
                        ),
                    ),
                }
            }
            (Value::Super, "__init__") => Ok(Value::Method(Box::new(value), attr.to_string())),
            (Value::Module(m), _) if matches!(m.kind, ModuleKind::Class(_)) => {
                let ModuleKind::Class(c) = &m.kind else {
                    unreachable!("matched above")
                };
                match c.children.iter().find(|(n, _)| n == attr) {
                    Some((_, child)) => Ok(Value::Module(child.clone())),
                    None => Ok(Value::Method(Box::new(value), attr.to_string())),
                }
            }
            (Value::Namespace(Namespace::Torch), dtype) if parse_dtype(dtype).is_some() => {
                Ok(Value::DType(parse_dtype(dtype).expect("checked")))
            }
            (Value::Namespace(_), _) => Ok(Value::Method(Box::new(value), attr.to_string())),
            (Value::Method(receiver, name), _) => {
                let prefix = match receiver.as_ref() {
                    Value::Namespace(Namespace::Torch) => "torch.",
                    Value::Namespace(Namespace::Nn) => "nn.",
                    Value::Namespace(Namespace::Functional) => "F.",
                    _ => "",
                };
                err(
                    span,
                    format!("`{prefix}{name}.{attr}` is not supported in question code"),
                )
            }
            (Value::Tensor(t), "shape") => Ok(Value::Shape(t.clone())),
            (Value::Tensor(_), "T") => err(span, "`.T` is not supported in question code"),
            (Value::Tensor(_) | Value::Module(_) | Value::Shape(_), _) => {
                Ok(Value::Method(Box::new(value), attr.to_string()))
            }
            _ => err(
                span,
                format!("{} has no attribute `{attr}` here", value.kind()),
            ),
        }
    }

    fn call(&mut self, callee: Value, args: Args, span: Span) -> Result<Value, EvalError> {
        match callee {
            Value::Method(receiver, name) => match *receiver {
                Value::Namespace(Namespace::Nn) => self.nn_constructor(&name, args, span),
                Value::Namespace(Namespace::Torch) => self.torch_function(&name, args, span),
                Value::Namespace(Namespace::Functional) => self.functional(&name, args, span),
                Value::Super => Ok(Value::None),
                Value::Tensor(t) if name == "flatten" => {
                    let b = args.bind(
                        "Tensor.flatten",
                        &["start_dim", "end_dim"],
                        &["start_dim", "end_dim"],
                        span,
                    )?;
                    let layer = Layer::Flatten {
                        start_dim: opt_int(&b[0], "start_dim", 0, i64::MIN, span)?,
                        end_dim: opt_int(&b[1], "end_dim", -1, i64::MIN, span)?,
                    };
                    Ok(self.apply_layer(layer, t, span))
                }
                Value::Tensor(t) => tensor_method(t, &name, args, span),
                Value::Module(m) => module_method(m, &name, args, span),
                Value::Shape(_) => err(span, format!("shape method `{name}` is not supported")),
                other => err(span, format!("{} has no method `{name}`", other.kind())),
            },
            Value::Class(class) => self.instantiate(&class, args, span),
            Value::Builtin("super") => Ok(Value::Super),
            Value::Builtin("range") => {
                let mut ints = Vec::new();
                for (v, s) in &args.positional {
                    ints.push(int(v, "range argument", i64::MIN, *s)?);
                }
                if !args.keywords.is_empty() {
                    return err(span, "range takes no keyword arguments");
                }
                let (start, stop, step) = match ints.as_slice() {
                    [stop] => (0, *stop, 1),
                    [start, stop] => (*start, *stop, 1),
                    [start, stop, step] if *step != 0 => (*start, *stop, *step),
                    _ => return err(span, "range takes 1 to 3 ints (and a nonzero step)"),
                };
                let mut out = Vec::new();
                let mut i = start;
                while (step > 0 && i < stop) || (step < 0 && i > stop) {
                    if out.len() >= MAX_REPEAT_LEN {
                        return err(span, format!("range longer than {MAX_REPEAT_LEN}"));
                    }
                    out.push(Value::Int(i));
                    i = i.saturating_add(step);
                }
                Ok(Value::List(out))
            }
            Value::Builtin(_) => {
                let (v, s) = args.single("obj", span)?;
                let n = match &v {
                    Value::List(items) | Value::Tuple(items) => items.len(),
                    Value::Module(m) => match m.children() {
                        Some(c) => c.len(),
                        None => return err(s, format!("{} has no len()", v.kind())),
                    },
                    other => return err(s, format!("{} has no len()", other.kind())),
                };
                Ok(Value::Int(n as i64))
            }
            Value::Module(module) => {
                if matches!(module.kind, ModuleKind::List(_)) {
                    return err(span, "an nn.ModuleList cannot be called; call its items");
                }
                let (input, input_span) = args.single("input", span)?;
                match input {
                    Value::Tensor(input) => {
                        let applied = Rc::new(TensorExpr::Apply {
                            module,
                            input,
                            span,
                        });
                        self.out.applications.push(applied.clone());
                        Ok(Value::Tensor(applied))
                    }
                    other => err(
                        input_span,
                        format!("a module is called on a tensor, not on {}", other.kind()),
                    ),
                }
            }
            Value::Function(f) => self.call_function(&f, args, span),
            Value::Print => Ok(Value::None),
            other => err(span, format!("{} cannot be called", other.kind())),
        }
    }

    fn call_function(&mut self, f: &Function, args: Args, span: Span) -> Result<Value, EvalError> {
        if self.depth >= MAX_CALL_DEPTH {
            return err(span, format!("`{}` calls itself too deeply", f.name));
        }
        let names: Vec<&str> = f.params.iter().map(String::as_str).collect();
        let mut bound = args.bind(&f.name, &names, &[], span)?;
        let mut scope = Scope::new();
        for (name, value) in f.params.iter().zip(bound.drain(..)) {
            match value {
                Some(v) => {
                    scope.insert(name.clone(), v);
                }
                None => return err(span, format!("`{}` needs argument `{name}`", f.name)),
            }
        }
        self.depth += 1;
        let result = self.expr(&f.body, Some(&scope));
        self.depth -= 1;
        result
    }

    fn module(&mut self, kind: ModuleKind, span: Span) -> Value {
        Value::Module(Rc::new(Module {
            id: self.fresh_id(),
            kind,
            span,
        }))
    }

    fn nn_constructor(&mut self, name: &str, args: Args, span: Span) -> Result<Value, EvalError> {
        let what = format!("nn.{name}");
        let layer = match name {
            "Sequential" => {
                if !args.keywords.is_empty() {
                    return err(span, "nn.Sequential takes modules as positional arguments");
                }
                let mut children = Vec::new();
                for (v, s) in args.positional {
                    match v {
                        Value::Module(m) => children.push(m),
                        other => {
                            return err(
                                s,
                                format!("nn.Sequential takes modules, not {}", other.kind()),
                            )
                        }
                    }
                }
                let flat = children
                    .iter()
                    .all(|m| matches!(m.kind, ModuleKind::Layer(_) | ModuleKind::Sequential(_)));
                let kind = if flat {
                    ModuleKind::Sequential(children.iter().flat_map(|m| m.layers()).collect())
                } else if children
                    .iter()
                    .any(|m| matches!(m.kind, ModuleKind::List(_)))
                {
                    return err(span, "an nn.ModuleList inside nn.Sequential cannot run");
                } else {
                    ModuleKind::Chain(children)
                };
                return Ok(self.module(kind, span));
            }
            "ModuleList" => {
                let b = args.bind(&what, &["modules"], &["modules"], span)?;
                let mut children = Vec::new();
                if let Some(v) = b.into_iter().next().flatten() {
                    for item in iterate(v, span)? {
                        match item {
                            Value::Module(m) => children.push(m),
                            other => {
                                return err(
                                    span,
                                    format!("nn.ModuleList takes modules, not {}", other.kind()),
                                )
                            }
                        }
                    }
                }
                return Ok(self.module(ModuleKind::List(children), span));
            }
            "Conv2d" => {
                let b = args.bind(
                    &what,
                    &[
                        "in_channels",
                        "out_channels",
                        "kernel_size",
                        "stride",
                        "padding",
                        "dilation",
                        "groups",
                        "bias",
                        "padding_mode",
                    ],
                    &[
                        "stride",
                        "padding",
                        "dilation",
                        "groups",
                        "bias",
                        "padding_mode",
                    ],
                    span,
                )?;
                let conv = Conv2d {
                    in_channels: positive(&b[0], "in_channels", span)?,
                    out_channels: positive(&b[1], "out_channels", span)?,
                    kernel_size: pair(&b[2], "kernel_size", [1, 1], 1, span)?,
                    stride: pair(&b[3], "stride", [1, 1], 1, span)?,
                    padding: padding(&b[4], span)?,
                    dilation: pair(&b[5], "dilation", [1, 1], 1, span)?,
                    groups: opt_int(&b[6], "groups", 1, 1, span)?,
                    bias: opt_bool(&b[7], "bias", true, span)?,
                };
                if let Some(mode) = &b[8] {
                    if *mode != Value::Str("zeros".into()) {
                        return err(span, "only padding_mode='zeros' is supported");
                    }
                }
                if conv.in_channels % conv.groups != 0 || conv.out_channels % conv.groups != 0 {
                    return err(
                        span,
                        "in_channels and out_channels must be divisible by groups",
                    );
                }
                Layer::Conv2d(conv)
            }
            "MaxPool2d" | "AvgPool2d" => {
                let max = name == "MaxPool2d";
                let params: &[&str] = if max {
                    &[
                        "kernel_size",
                        "stride",
                        "padding",
                        "dilation",
                        "return_indices",
                        "ceil_mode",
                    ]
                } else {
                    &[
                        "kernel_size",
                        "stride",
                        "padding",
                        "ceil_mode",
                        "count_include_pad",
                        "divisor_override",
                    ]
                };
                let b = args.bind(&what, params, &params[1..], span)?;
                let kernel = pair(&b[0], "kernel_size", [1, 1], 1, span)?;
                let stride = match &b[1] {
                    None | Some(Value::None) => kernel,
                    some => pair(some, "stride", kernel, 1, span)?,
                };
                let pool_padding = pair(&b[2], "padding", [0, 0], 0, span)?;
                if pool_padding[0] * 2 > kernel[0] || pool_padding[1] * 2 > kernel[1] {
                    return err(
                        span,
                        "pool padding should be at most half of the kernel size",
                    );
                }
                let (dilation, ceil) = if max {
                    (
                        pair(&b[3], "dilation", [1, 1], 1, span)?,
                        opt_bool(&b[5], "ceil_mode", false, span)?,
                    )
                } else {
                    ([1, 1], opt_bool(&b[3], "ceil_mode", false, span)?)
                };
                let pool = Pool2d {
                    kernel_size: kernel,
                    stride,
                    padding: pool_padding,
                    dilation,
                    ceil_mode: ceil,
                };
                if max {
                    Layer::MaxPool2d(pool)
                } else {
                    Layer::AvgPool2d(pool)
                }
            }
            "ReLU" | "Sigmoid" | "Tanh" | "Identity" => {
                // ReLU(inplace=False); Identity accepts and ignores any arguments.
                if name == "ReLU" {
                    args.bind(&what, &["inplace"], &["inplace"], span)?;
                } else if name != "Identity" {
                    args.bind(&what, &[], &[], span)?;
                }
                match name {
                    "ReLU" => Layer::ReLU,
                    "Sigmoid" => Layer::Sigmoid,
                    "Tanh" => Layer::Tanh,
                    _ => Layer::Identity,
                }
            }
            "Linear" => {
                let b = args.bind(
                    &what,
                    &["in_features", "out_features", "bias"],
                    &["bias"],
                    span,
                )?;
                Layer::Linear {
                    in_features: positive(&b[0], "in_features", span)?,
                    out_features: positive(&b[1], "out_features", span)?,
                    bias: opt_bool(&b[2], "bias", true, span)?,
                }
            }
            "Dropout" => {
                let b = args.bind(&what, &["p", "inplace"], &["p", "inplace"], span)?;
                let p = match &b[0] {
                    None => 0.5,
                    Some(v) => number(v, "p", span)?,
                };
                if !(0.0..=1.0).contains(&p) {
                    return err(
                        span,
                        format!("dropout probability has to be between 0 and 1, but got {p}"),
                    );
                }
                Layer::Dropout { p }
            }
            "Embedding" => {
                let b = args.bind(
                    &what,
                    &["num_embeddings", "embedding_dim", "padding_idx"],
                    &["padding_idx"],
                    span,
                )?;
                Layer::Embedding {
                    num_embeddings: positive(&b[0], "num_embeddings", span)?,
                    embedding_dim: positive(&b[1], "embedding_dim", span)?,
                }
            }
            "BatchNorm2d" => {
                let b = args.bind(
                    &what,
                    &[
                        "num_features",
                        "eps",
                        "momentum",
                        "affine",
                        "track_running_stats",
                    ],
                    &["eps", "momentum", "affine", "track_running_stats"],
                    span,
                )?;
                Layer::BatchNorm2d {
                    num_features: positive(&b[0], "num_features", span)?,
                    eps: match &b[1] {
                        None => 1e-5,
                        Some(v) => number(v, "eps", span)?,
                    },
                }
            }
            "Flatten" => {
                let b = args.bind(
                    &what,
                    &["start_dim", "end_dim"],
                    &["start_dim", "end_dim"],
                    span,
                )?;
                Layer::Flatten {
                    start_dim: opt_int(&b[0], "start_dim", 1, i64::MIN, span)?,
                    end_dim: opt_int(&b[1], "end_dim", -1, i64::MIN, span)?,
                }
            }
            other => {
                return err(
                    span,
                    format!(
                        "unsupported layer `nn.{other}`; question code may use nn.Sequential, \
                         ModuleList, Conv2d, MaxPool2d, AvgPool2d, ReLU, Sigmoid, Tanh, Linear, \
                         Dropout, Embedding, BatchNorm2d, Flatten and Identity"
                    ),
                )
            }
        };
        Ok(self.module(ModuleKind::Layer(layer), span))
    }

    fn torch_function(&mut self, name: &str, args: Args, span: Span) -> Result<Value, EvalError> {
        let elementwise = match name {
            "sigmoid" => Some(Elementwise::Sigmoid),
            "tanh" => Some(Elementwise::Tanh),
            "relu" => Some(Elementwise::Relu),
            "exp" => Some(Elementwise::Exp),
            "log" => Some(Elementwise::Log),
            "abs" => Some(Elementwise::Abs),
            "sqrt" => Some(Elementwise::Sqrt),
            "square" => Some(Elementwise::Square),
            _ => None,
        };
        if let Some(f) = elementwise {
            let (t, s) = args.single("input", span)?;
            return Ok(Value::Tensor(Rc::new(TensorExpr::Map(f, tensor(t, s)?))));
        }
        match name {
            "mean" | "sum" => {
                let (t, s) = args.single("input", span)?;
                let r = if name == "mean" {
                    Reduction::Mean
                } else {
                    Reduction::Sum
                };
                Ok(Value::Tensor(Rc::new(TensorExpr::Reduce(r, tensor(t, s)?))))
            }
            "matmul" => {
                let b = args.bind("torch.matmul", &["input", "other"], &[], span)?;
                let (l, r) = (b[0].clone(), b[1].clone());
                binary(
                    BinOp::MatMul,
                    l.unwrap_or(Value::None),
                    r.unwrap_or(Value::None),
                    span,
                )
            }
            "rand" | "randn" | "ones" | "zeros" | "randint" | "full" | "tensor" => {
                let spec = tensor_constructor(name, args, span)?;
                let elements = spec
                    .shape
                    .iter()
                    .try_fold(1i64, |acc, &d| acc.checked_mul(d));
                match elements {
                    Some(n) if n <= MAX_TENSOR_ELEMENTS => {}
                    _ => return err(span, "tensor too large"),
                }
                Ok(Value::Tensor(Rc::new(TensorExpr::Leaf {
                    id: self.fresh_id(),
                    spec,
                    span,
                })))
            }
            "manual_seed" => Ok(Value::None),
            "cat" | "concat" | "concatenate" => {
                let b = args.bind(
                    &format!("torch.{name}"),
                    &["tensors", "dim"],
                    &["dim"],
                    span,
                )?;
                let items = b[0].clone().unwrap_or(Value::None);
                let dim = opt_int(&b[1], "dim", 0, i64::MIN, span)?;
                let mut tensors = Vec::new();
                for item in iterate(items, span)? {
                    tensors.push(tensor(item, span)?);
                }
                if tensors.is_empty() {
                    return err(span, "torch.cat needs at least one tensor");
                }
                Ok(Value::Tensor(Rc::new(TensorExpr::Cat {
                    items: tensors,
                    dim,
                    span,
                })))
            }
            "flatten" => {
                let b = args.bind(
                    "torch.flatten",
                    &["input", "start_dim", "end_dim"],
                    &["start_dim", "end_dim"],
                    span,
                )?;
                let t = tensor(b[0].clone().unwrap_or(Value::None), span)?;
                let layer = Layer::Flatten {
                    start_dim: opt_int(&b[1], "start_dim", 0, i64::MIN, span)?,
                    end_dim: opt_int(&b[2], "end_dim", -1, i64::MIN, span)?,
                };
                Ok(self.apply_layer(layer, t, span))
            }
            other => err(
                span,
                format!("`torch.{other}` is not supported in question code"),
            ),
        }
    }
}

impl Interpreter {
    /// `layer(t)` for a layer made on the spot (functional calls, `x.flatten()`): a module of
    /// its own, without parameters.
    fn apply_layer(&mut self, layer: Layer, t: Rc<TensorExpr>, span: Span) -> Value {
        let module = Rc::new(Module {
            id: self.fresh_id(),
            kind: ModuleKind::Layer(layer),
            span,
        });
        Value::Tensor(Rc::new(TensorExpr::Apply {
            module,
            input: t,
            span,
        }))
    }

    /// `F.relu(x)`, `F.max_pool2d(x, 2)`, ...: `torch.nn.functional`.
    fn functional(&mut self, name: &str, mut args: Args, span: Span) -> Result<Value, EvalError> {
        let map = match name {
            "relu" => Some(Elementwise::Relu),
            "sigmoid" => Some(Elementwise::Sigmoid),
            "tanh" => Some(Elementwise::Tanh),
            _ => None,
        };
        if let Some(f) = map {
            args.keywords.retain(|(k, _, _)| k != "inplace");
            let (t, s) = args.single("input", span)?;
            return Ok(Value::Tensor(Rc::new(TensorExpr::Map(f, tensor(t, s)?))));
        }
        match name {
            "max_pool2d" | "avg_pool2d" => {
                if args.positional.is_empty() {
                    return err(span, format!("F.{name} needs its input"));
                }
                let (input, input_span) = args.positional.remove(0);
                let input = tensor(input, input_span)?;
                let ctor = if name == "max_pool2d" {
                    "MaxPool2d"
                } else {
                    "AvgPool2d"
                };
                let Value::Module(m) = self.nn_constructor(ctor, args, span)? else {
                    unreachable!("nn_constructor returns a module")
                };
                let ModuleKind::Layer(layer) = &m.kind else {
                    unreachable!("a pooling constructor returns a layer")
                };
                Ok(self.apply_layer(layer.clone(), input, span))
            }
            "dropout" => {
                let b = args.bind(
                    "F.dropout",
                    &["input", "p", "training", "inplace"],
                    &["p", "training", "inplace"],
                    span,
                )?;
                let t = tensor(b[0].clone().unwrap_or(Value::None), span)?;
                let p = match &b[1] {
                    None => 0.5,
                    Some(v) => number(v, "p", span)?,
                };
                Ok(self.apply_layer(Layer::Dropout { p }, t, span))
            }
            other => err(
                span,
                format!(
                    "`F.{other}` is not supported in question code; F.relu, F.sigmoid, F.tanh, \
                     F.max_pool2d, F.avg_pool2d and F.dropout are"
                ),
            ),
        }
    }
}

/// Arguments of a call, evaluated.
#[derive(Debug, Default)]
struct Args {
    positional: Vec<(Value, Span)>,
    keywords: Vec<(String, Value, Span)>,
}

impl Args {
    /// Binds to parameters `params` like Python does; `optional` ones may be absent.
    fn bind(
        self,
        callee: &str,
        params: &[&str],
        optional: &[&str],
        span: Span,
    ) -> Result<Vec<Option<Value>>, EvalError> {
        if self.positional.len() > params.len() {
            return err(
                self.positional[params.len()].1,
                format!(
                    "{callee} takes at most {} positional arguments, {} given",
                    params.len(),
                    self.positional.len()
                ),
            );
        }
        let mut bound: Vec<Option<Value>> = vec![None; params.len()];
        for (i, (v, _)) in self.positional.into_iter().enumerate() {
            bound[i] = Some(v);
        }
        for (name, v, s) in self.keywords {
            match params.iter().position(|p| *p == name) {
                Some(i) if bound[i].is_some() => {
                    return err(s, format!("{callee} got argument `{name}` twice"))
                }
                Some(i) => bound[i] = Some(v),
                None => {
                    return err(
                        s,
                        format!(
                            "{callee} has no argument `{name}` (it takes {})",
                            if params.is_empty() {
                                "none".to_string()
                            } else {
                                params.join(", ")
                            }
                        ),
                    )
                }
            }
        }
        for (p, v) in params.iter().zip(&bound) {
            if v.is_none() && !optional.contains(p) {
                return err(span, format!("{callee} is missing argument `{p}`"));
            }
        }
        Ok(bound)
    }

    /// Exactly one positional (or the named keyword) argument.
    fn single(self, name: &str, span: Span) -> Result<(Value, Span), EvalError> {
        let mut all: Vec<(Value, Span)> = self.positional;
        for (k, v, s) in self.keywords {
            if k != name {
                return err(s, format!("unsupported keyword argument `{k}`"));
            }
            all.push((v, s));
        }
        if all.len() != 1 {
            return err(
                span,
                format!("expected exactly one argument, got {}", all.len()),
            );
        }
        Ok(all.pop().expect("one argument"))
    }
}

fn overflow(span: Span) -> EvalError {
    EvalError {
        span,
        message: "integer overflow".to_string(),
    }
}

fn parse_dtype(name: &str) -> Option<DType> {
    match name {
        "float32" | "float" => Some(DType::Float32),
        "float64" | "double" => Some(DType::Float64),
        "int64" | "long" => Some(DType::Int64),
        _ => None,
    }
}

fn iterate(v: Value, span: Span) -> Result<Vec<Value>, EvalError> {
    match v {
        Value::Tuple(items) | Value::List(items) => Ok(items),
        Value::Module(m) if m.children().is_some() => Ok(m
            .children()
            .unwrap_or_default()
            .into_iter()
            .map(Value::Module)
            .collect()),
        other => err(span, format!("cannot unpack {} with `*`", other.kind())),
    }
}

fn subscript(value: Value, index: Value, span: Span) -> Result<Value, EvalError> {
    let i = match index {
        Value::Int(i) => i,
        other => return err(span, format!("index must be an int, not {}", other.kind())),
    };
    let value = match value {
        Value::Module(m) if m.children().is_some() => Value::List(
            m.children()
                .unwrap_or_default()
                .into_iter()
                .map(Value::Module)
                .collect(),
        ),
        Value::Shape(t) => return Ok(Value::Dim(t, i)),
        other => other,
    };
    match value {
        Value::Tuple(items) | Value::List(items) => {
            let n = items.len() as i64;
            let at = if i < 0 { i + n } else { i };
            if (0..n).contains(&at) {
                Ok(items[at as usize].clone())
            } else {
                err(span, format!("index {i} out of range for length {n}"))
            }
        }
        other => err(span, format!("cannot index {} here", other.kind())),
    }
}

fn tensor(v: Value, span: Span) -> Result<Rc<TensorExpr>, EvalError> {
    match v {
        Value::Tensor(t) => Ok(t),
        other => err(span, format!("expected a tensor, found {}", other.kind())),
    }
}

fn binary(op: BinOp, l: Value, r: Value, span: Span) -> Result<Value, EvalError> {
    use Value::{Float, Int, List, Tensor, Tuple};
    let mismatch = |l: &Value, r: &Value| {
        err(
            span,
            format!(
                "cannot apply `{}` to {} and {}",
                op.symbol(),
                l.kind(),
                r.kind()
            ),
        )
    };
    match (l, r) {
        (Int(a), Int(b)) => int_op(op, a, b, span),
        (a @ (Int(_) | Float(_)), b @ (Int(_) | Float(_))) => {
            let (x, y) = (as_f64(&a), as_f64(&b));
            let v = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::FloorDiv => (x / y).floor(),
                BinOp::Mod => x - y * (x / y).floor(),
                BinOp::Pow => x.powf(y),
                BinOp::MatMul => return mismatch(&a, &b),
            };
            Ok(Float(v))
        }
        (List(items), Int(n)) | (Int(n), List(items)) if op == BinOp::Mul => {
            Ok(List(repeat(items, n, span)?))
        }
        (Tuple(items), Int(n)) | (Int(n), Tuple(items)) if op == BinOp::Mul => {
            Ok(Tuple(repeat(items, n, span)?))
        }
        (List(mut a), List(b)) if op == BinOp::Add => {
            a.extend(b);
            Ok(List(a))
        }
        (Tuple(mut a), Tuple(b)) if op == BinOp::Add => {
            a.extend(b);
            Ok(Tuple(a))
        }
        (Tensor(a), Tensor(b)) => Ok(tensor_binary(
            op,
            Operand::Tensor(a),
            Operand::Tensor(b),
            span,
        )),
        (Tensor(a), b @ (Int(_) | Float(_))) if op != BinOp::MatMul => Ok(tensor_binary(
            op,
            Operand::Tensor(a),
            Operand::Scalar(as_f64(&b)),
            span,
        )),
        (a @ (Int(_) | Float(_)), Tensor(b)) if op != BinOp::MatMul => Ok(tensor_binary(
            op,
            Operand::Scalar(as_f64(&a)),
            Operand::Tensor(b),
            span,
        )),
        (a, b) => mismatch(&a, &b),
    }
}

fn tensor_binary(op: BinOp, left: Operand, right: Operand, span: Span) -> Value {
    Value::Tensor(Rc::new(TensorExpr::Binary {
        op,
        left,
        right,
        span,
    }))
}

fn repeat(items: Vec<Value>, n: i64, span: Span) -> Result<Vec<Value>, EvalError> {
    let n = n.max(0) as usize;
    if items.len().saturating_mul(n) > MAX_REPEAT_LEN {
        return err(
            span,
            format!("list repeated to more than {MAX_REPEAT_LEN} items"),
        );
    }
    Ok(std::iter::repeat_n(items, n).flatten().collect())
}

fn int_op(op: BinOp, a: i64, b: i64, span: Span) -> Result<Value, EvalError> {
    let v = match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div => {
            if b == 0 {
                return err(span, "division by zero");
            }
            return Ok(Value::Float(a as f64 / b as f64));
        }
        BinOp::FloorDiv | BinOp::Mod => {
            if b == 0 {
                return err(span, "division by zero");
            }
            // Python floors toward negative infinity.
            let q = a.checked_div(b).map(|q| {
                if a % b != 0 && ((a < 0) != (b < 0)) {
                    q - 1
                } else {
                    q
                }
            });
            match op {
                BinOp::FloorDiv => q,
                _ => q
                    .and_then(|q| q.checked_mul(b))
                    .and_then(|qb| a.checked_sub(qb)),
            }
        }
        BinOp::Pow => {
            if b < 0 {
                return Ok(Value::Float((a as f64).powf(b as f64)));
            }
            u32::try_from(b).ok().and_then(|b| a.checked_pow(b))
        }
        BinOp::MatMul => return err(span, "cannot apply `@` to numbers"),
    };
    v.map(Value::Int).ok_or_else(|| overflow(span))
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

fn number(v: &Value, name: &str, span: Span) -> Result<f64, EvalError> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        other => err(
            span,
            format!("`{name}` must be a number, not {}", other.kind()),
        ),
    }
}

fn int(v: &Value, name: &str, min: i64, span: Span) -> Result<i64, EvalError> {
    match v {
        Value::Int(i) if *i >= min => Ok(*i),
        Value::Int(i) => err(span, format!("`{name}` must be at least {min}, got {i}")),
        other => err(
            span,
            format!("`{name}` must be an int, not {}", other.kind()),
        ),
    }
}

fn positive(v: &Option<Value>, name: &str, span: Span) -> Result<i64, EvalError> {
    match v {
        Some(v) => int(v, name, 1, span),
        None => err(span, format!("missing `{name}`")),
    }
}

fn opt_int(
    v: &Option<Value>,
    name: &str,
    default: i64,
    min: i64,
    span: Span,
) -> Result<i64, EvalError> {
    match v {
        None => Ok(default),
        Some(v) => int(v, name, min, span),
    }
}

fn opt_bool(v: &Option<Value>, name: &str, default: bool, span: Span) -> Result<bool, EvalError> {
    match v {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => err(
            span,
            format!("`{name}` must be True or False, not {}", other.kind()),
        ),
    }
}

/// An int or a pair of ints, as torch's `_pair`.
fn pair(
    v: &Option<Value>,
    name: &str,
    default: Pair,
    min: i64,
    span: Span,
) -> Result<Pair, EvalError> {
    match v {
        None => Ok(default),
        Some(Value::Tuple(items) | Value::List(items)) if items.len() == 2 => Ok([
            int(&items[0], name, min, span)?,
            int(&items[1], name, min, span)?,
        ]),
        Some(Value::Tuple(items) | Value::List(items)) => err(
            span,
            format!(
                "`{name}` must be an int or a pair, got {} values",
                items.len()
            ),
        ),
        Some(v) => {
            let i = int(v, name, min, span)?;
            Ok([i, i])
        }
    }
}

fn padding(v: &Option<Value>, span: Span) -> Result<Pair, EvalError> {
    match v {
        Some(Value::Str(s)) if s == "valid" => Ok([0, 0]),
        Some(Value::Str(s)) if s == "same" => err(
            span,
            "padding='same' is not supported; give the padding as a number",
        ),
        other => pair(other, "padding", [0, 0], 0, span),
    }
}

fn shape_of(v: &Value, span: Span) -> Result<Vec<i64>, EvalError> {
    match v {
        Value::Int(i) => Ok(vec![int(v, "size", 0, span).map(|_| *i)?]),
        Value::Tuple(items) | Value::List(items) => {
            items.iter().map(|i| int(i, "size", 0, span)).collect()
        }
        other => err(
            span,
            format!("a size is an int or a tuple of ints, not {}", other.kind()),
        ),
    }
}

fn tensor_constructor(name: &str, args: Args, span: Span) -> Result<TensorSpec, EvalError> {
    let mut dtype = None;
    let mut requires_grad = false;
    let mut size_kw = None;
    let mut low = None;
    let mut high = None;
    let mut fill = None;
    let mut data = None;
    for (k, v, s) in args.keywords {
        match k.as_str() {
            "dtype" => match v {
                Value::DType(d) => dtype = Some(d),
                other => {
                    return err(
                        s,
                        format!("`dtype` must be a torch dtype, not {}", other.kind()),
                    )
                }
            },
            "requires_grad" => requires_grad = opt_bool(&Some(v), "requires_grad", false, s)?,
            "size" => size_kw = Some(shape_of(&v, s)?),
            "low" if name == "randint" => low = Some(int(&v, "low", i64::MIN, s)?),
            "high" if name == "randint" => high = Some(int(&v, "high", i64::MIN, s)?),
            "fill_value" if name == "full" => fill = Some(number(&v, "fill_value", s)?),
            "device" | "generator" | "layout" | "pin_memory" => {}
            other => {
                return err(
                    s,
                    format!("torch.{name} has no supported argument `{other}`"),
                )
            }
        }
    }
    let mut positional = args.positional.into_iter();
    let (shape, init) = match name {
        "randint" => {
            let rest: Vec<(Value, Span)> = positional.collect();
            let mut ints = Vec::new();
            let mut size = size_kw;
            for (v, s) in rest {
                match v {
                    Value::Tuple(_) | Value::List(_) => size = Some(shape_of(&v, s)?),
                    v => ints.push(int(&v, "high", i64::MIN, s)?),
                }
            }
            match (ints.as_slice(), low, high) {
                ([h], None, None) => high = Some(*h),
                ([l, h], None, None) => {
                    low = Some(*l);
                    high = Some(*h);
                }
                ([h], Some(_), None) => high = Some(*h),
                ([], _, Some(_)) => {}
                _ => {
                    return err(
                        span,
                        "torch.randint takes (high, size) or (low, high, size)",
                    )
                }
            }
            let (low, high) = (low.unwrap_or(0), high.unwrap_or(0));
            if high <= low {
                return err(span, "torch.randint needs low < high");
            }
            let Some(size) = size else {
                return err(span, "torch.randint is missing its `size`");
            };
            dtype = Some(dtype.unwrap_or(DType::Int64));
            (size, Init::Randint { low, high })
        }
        "tensor" => {
            let Some((v, s)) = positional.next() else {
                return err(span, "torch.tensor needs data");
            };
            let (shape, values) = nested_data(&v, s, 0)?;
            data = Some(values);
            (shape, Init::Zeros)
        }
        _ => {
            let mut size = size_kw.unwrap_or_default();
            let rest: Vec<(Value, Span)> = positional.collect();
            let mut rest = rest.into_iter().peekable();
            if let Some((Value::Tuple(_) | Value::List(_), _)) = rest.peek() {
                let (v, s) = rest.next().expect("peeked");
                size = shape_of(&v, s)?;
            } else {
                while let Some((Value::Int(_), _)) = rest.peek() {
                    let (v, s) = rest.next().expect("peeked");
                    size.push(int(&v, "size", 0, s)?);
                }
            }
            if name == "full" {
                if let Some((v, s)) = rest.next() {
                    fill = Some(number(&v, "fill_value", s)?);
                }
            }
            if let Some((_, s)) = rest.next() {
                return err(s, format!("unexpected argument to torch.{name}"));
            }
            let init = match name {
                "rand" => Init::Rand,
                "randn" => Init::Randn,
                "ones" => Init::Ones,
                "zeros" => Init::Zeros,
                _ => match fill {
                    Some(f) => Init::Full(f),
                    None => return err(span, "torch.full needs a fill value"),
                },
            };
            (size, init)
        }
    };
    let init = match data {
        Some(values) => Init::Data(values),
        None => init,
    };
    let dtype = dtype.unwrap_or(DType::Float32);
    if requires_grad && dtype == DType::Int64 {
        return err(span, "only floating point tensors can require gradients");
    }
    Ok(TensorSpec {
        shape,
        dtype,
        init,
        requires_grad,
    })
}

fn nested_data(v: &Value, span: Span, depth: usize) -> Result<(Vec<i64>, Vec<f64>), EvalError> {
    if depth > 8 {
        return err(span, "tensor data nested too deeply");
    }
    match v {
        Value::Int(_) | Value::Float(_) => Ok((vec![], vec![as_f64(v)])),
        Value::List(items) | Value::Tuple(items) => {
            let mut shape = None;
            let mut values = Vec::new();
            for item in items {
                let (s, vals) = nested_data(item, span, depth + 1)?;
                if shape.get_or_insert_with(|| s.clone()) != &s {
                    return err(span, "tensor data rows have different lengths");
                }
                values.extend(vals);
            }
            let mut full = vec![items.len() as i64];
            full.extend(shape.unwrap_or_default());
            Ok((full, values))
        }
        other => err(
            span,
            format!("tensor data must be numbers, not {}", other.kind()),
        ),
    }
}

fn tensor_method(
    t: Rc<TensorExpr>,
    name: &str,
    args: Args,
    span: Span,
) -> Result<Value, EvalError> {
    let none = |args: Args| -> Result<(), EvalError> {
        args.bind(&format!("Tensor.{name}"), &[], &[], span)
            .map(|_| ())
    };
    let map = |f| Value::Tensor(Rc::new(TensorExpr::Map(f, t.clone())));
    match name {
        "size" => {
            let b = args.bind("Tensor.size", &["dim"], &["dim"], span)?;
            match &b[0] {
                None => Ok(Value::Shape(t)),
                Some(v) => Ok(Value::Dim(t, int(v, "dim", i64::MIN, span)?)),
            }
        }
        "view" | "reshape" => {
            if !args.keywords.is_empty() {
                return err(
                    span,
                    format!("Tensor.{name} takes sizes as positional arguments"),
                );
            }
            let mut sizes: Vec<(Value, Span)> = args.positional;
            if sizes.len() == 1 && matches!(sizes[0].0, Value::Tuple(_) | Value::List(_)) {
                let (v, s) = sizes.remove(0);
                sizes = iterate(v, s)?.into_iter().map(|v| (v, s)).collect();
            }
            let mut shape = Vec::new();
            for (v, s) in sizes {
                shape.push(match v {
                    Value::Int(i) if i >= -1 => ViewDim::Fixed(i),
                    Value::Dim(of, d) => ViewDim::SizeOf(of, d),
                    other => {
                        return err(
                            s,
                            format!(
                                "a size of `{name}` is an int or x.size(d), not {}",
                                other.kind()
                            ),
                        )
                    }
                });
            }
            if shape.iter().filter(|d| **d == ViewDim::Fixed(-1)).count() > 1 {
                return err(span, "only one size can be -1");
            }
            Ok(Value::Tensor(Rc::new(TensorExpr::View {
                input: t,
                shape,
                span,
            })))
        }
        "sum" | "mean" => {
            none(args)?;
            let r = if name == "sum" {
                Reduction::Sum
            } else {
                Reduction::Mean
            };
            Ok(Value::Tensor(Rc::new(TensorExpr::Reduce(r, t))))
        }
        "sigmoid" => none(args).map(|_| map(Elementwise::Sigmoid)),
        "tanh" => none(args).map(|_| map(Elementwise::Tanh)),
        "relu" => none(args).map(|_| map(Elementwise::Relu)),
        "exp" => none(args).map(|_| map(Elementwise::Exp)),
        "log" => none(args).map(|_| map(Elementwise::Log)),
        "abs" => none(args).map(|_| map(Elementwise::Abs)),
        "sqrt" => none(args).map(|_| map(Elementwise::Sqrt)),
        "pow" => {
            let (e, s) = args.single("exponent", span)?;
            binary(BinOp::Pow, Value::Tensor(t), e, s)
        }
        // Statements such as `loss.backward()` record nothing: the gradient computation
        // differentiates the expression itself.
        "backward" | "retain_grad" => Ok(Value::None),
        "requires_grad_" => match t.as_ref() {
            TensorExpr::Leaf { id, spec, span } => {
                none(args)?;
                let spec = TensorSpec {
                    requires_grad: true,
                    ..spec.clone()
                };
                Ok(Value::Tensor(Rc::new(TensorExpr::Leaf {
                    id: *id,
                    spec,
                    span: *span,
                })))
            }
            _ => err(
                span,
                "requires_grad_() is only supported on a created tensor",
            ),
        },
        other => err(
            span,
            format!("tensor method `{other}` is not supported in question code"),
        ),
    }
}

fn module_method(m: Rc<Module>, name: &str, args: Args, span: Span) -> Result<Value, EvalError> {
    match name {
        "train" | "eval" => {
            args.bind(&format!("Module.{name}"), &["mode"], &["mode"], span)?;
            Ok(Value::Module(m))
        }
        "forward" => {
            let (input, s) = args.single("input", span)?;
            Ok(Value::Tensor(Rc::new(TensorExpr::Apply {
                module: m,
                input: tensor(input, s)?,
                span,
            })))
        }
        other => err(
            span,
            format!("module method `{other}` is not supported in question code"),
        ),
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
