//! Evaluates a [`Node`] read by [`super::tensor_expr`] on small dense float64 matrices, so a
//! student's derivative can be compared with autograd's at seeded draws without libtorch.
//!
//! Values are scalars, matrices, or the diagonal Jacobian of an elementwise function
//! (`\varphi'(z)` next to a matrix scales its rows or columns; next to a vector of its
//! length, on either side and in either orientation, it is elementwise, the way students
//! write `W_2^\top\delta\,\varphi'(z)` or `\varphi'\,W_2`).
//! Juxtaposition and `\cdot` are a matrix product when the inner sizes agree, elementwise
//! when the shapes are equal, and a shape error otherwise. A shape error can be *repaired*
//! (on request) by transposing one or both factors of the product that failed: the count of
//! repairs says how many transposes the student left out. Adding a row vector to a column
//! vector of the same length aligns them (vector orientation is loose in students' writing
//! and not a mistake by itself).
//!
//! Names resolve first to the student's own definitions, then to the rubric's symbol table.
//! A per-sample name (`x`, `y`, `\hat y`) outside a sum over samples leaves the sample index
//! free: the whole formula is then evaluated once per sample. Work is bounded: definitions
//! expand at most [`MAX_EXPANSION`] deep and matrices stay at the draws' small sizes.

use std::collections::HashMap;

use super::tensor_expr::{key, write_key, Func, MulKind, Node};

/// Deepest chain of definitions expanded (a student's `a = b`, `b = a` stops here).
pub const MAX_EXPANSION: usize = 24;
/// At most this many nodes evaluated per formula and draw.
pub const MAX_STEPS: usize = 200_000;
/// At most this many elements in any value (the draws are small).
const MAX_ELEMENTS: usize = 1 << 16;

/// A map from names (keys of [`key`]) to what they stand for.
pub type NameMap<V> = HashMap<String, V, std::hash::BuildHasherDefault<NameHasher>>;

/// The hasher of [`NameMap`]: FxHash's multiply-rotate over 8-byte words. Names are short
/// and looked up at every node evaluated, where SipHash's cost dominated the lookup. A
/// student's text can choose the names, but at most a few hundred statements are read per
/// answer, so even colliding names keep lookups bounded.
#[derive(Debug, Default, Clone, Copy)]
pub struct NameHasher(u64);

impl NameHasher {
    /// Mixes one word in.
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A dense row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat {
    pub r: usize,
    pub c: usize,
    pub v: Vec<f64>,
}

impl Mat {
    /// An `r`×`c` matrix of `v` (row-major).
    pub fn new(r: usize, c: usize, v: Vec<f64>) -> Mat {
        Mat { r, c, v }
    }
    /// Entry `(i, j)`.
    fn at(&self, i: usize, j: usize) -> f64 {
        self.v[i * self.c + j]
    }
    /// The transpose.
    pub fn t(&self) -> Mat {
        let mut v = Vec::with_capacity(self.v.len());
        for j in 0..self.c {
            for i in 0..self.r {
                v.push(self.at(i, j));
            }
        }
        Mat::new(self.c, self.r, v)
    }
    /// The matrix product (the caller has checked the inner sizes).
    fn matmul(&self, o: &Mat) -> Mat {
        let mut v = vec![0.0; self.r * o.c];
        if o.c > 0 {
            // Row by row over slices (each entry still sums its terms in the order of k).
            for (out, row) in v.chunks_mut(o.c).zip(self.v.chunks(self.c.max(1))) {
                for (a, orow) in row.iter().zip(o.v.chunks(o.c)) {
                    for (x, y) in out.iter_mut().zip(orow) {
                        *x += a * y;
                    }
                }
            }
        }
        Mat::new(self.r, o.c, v)
    }
    /// Entrywise `f` of this matrix and one of as many entries, in place (the operands of
    /// an operation are owned, so no new storage is needed).
    fn zip(mut self, o: &Mat, f: impl Fn(f64, f64) -> f64) -> Mat {
        for (a, b) in self.v.iter_mut().zip(&o.v) {
            *a = f(*a, *b);
        }
        self
    }
    /// Entrywise `f`, in place.
    fn map(mut self, f: impl Fn(f64) -> f64) -> Mat {
        for a in &mut self.v {
            *a = f(*a);
        }
        self
    }
    /// The transpose, without copying a vector (its entries keep their order).
    fn into_t(self) -> Mat {
        if self.is_vector() {
            Mat::new(self.c, self.r, self.v)
        } else {
            self.t()
        }
    }
    /// Column `j` as an `r`×1 matrix.
    pub fn column(&self, j: usize) -> Mat {
        Mat::new(self.r, 1, (0..self.r).map(|i| self.at(i, j)).collect())
    }
    /// One row or one column.
    fn is_vector(&self) -> bool {
        self.r == 1 || self.c == 1
    }
    /// The number of entries.
    fn len(&self) -> usize {
        self.v.len()
    }
}

/// A value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    S(f64),
    M(Mat),
    /// A diagonal Jacobian (of an elementwise function at a vector).
    D(Vec<f64>),
}

impl Val {
    /// A 1×1 matrix or one-entry diagonal as the scalar it is.
    #[inline]
    fn norm(self) -> Val {
        match self {
            Val::M(m) if m.r == 1 && m.c == 1 => Val::S(m.v[0]),
            Val::D(d) if d.len() == 1 => Val::S(d[0]),
            v => v,
        }
    }
    /// As a matrix: a diagonal as a column, a scalar as 1×1.
    pub fn to_mat(&self) -> Mat {
        match self {
            Val::S(x) => Mat::new(1, 1, vec![*x]),
            Val::M(m) => m.clone(),
            Val::D(d) => Mat::new(d.len(), 1, d.clone()),
        }
    }
    /// `r×c` as people write it.
    pub fn shape_text(&self) -> String {
        match self {
            Val::S(_) => "a scalar".into(),
            Val::M(m) => format!("{}×{}", m.r, m.c),
            Val::D(d) => format!("{}×1 (elementwise derivative)", d.len()),
        }
    }
}

/// The concrete activation of a draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Tanh,
    Sigmoid,
}

impl Act {
    /// The activation at `x`.
    fn f(self, x: f64) -> f64 {
        match self {
            Act::Tanh => x.tanh(),
            Act::Sigmoid => sigmoid(x),
        }
    }
    /// Its derivative at `x`.
    fn df(self, x: f64) -> f64 {
        match self {
            Act::Tanh => 1.0 - x.tanh().powi(2),
            Act::Sigmoid => {
                let s = sigmoid(x);
                s * (1.0 - s)
            }
        }
    }
}

/// The logistic function.
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// What a name in the rubric's symbol table stands for at one draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Binding {
    /// A whole tensor (`W_1`).
    Tensor(Mat),
    /// One sample's column of a tensor whose columns are samples (`x^{(i)}` of `X`); a
    /// 1-row tensor gives scalars (`y^{(i)}`).
    Column(Mat),
    Scalar(f64),
    /// A formula in the student notation (`z_1 = W_1 x + b_1`).
    Define(Node),
    /// A whole tensor whose columns are the samples (`X`): transposed when the answer stacks
    /// the samples as rows.
    Batch(Mat),
}

/// Everything a formula is evaluated against.
#[derive(Debug)]
pub struct Scope<'a> {
    pub rubric: &'a NameMap<Binding>,
    /// The student's own definitions, by [`key`].
    pub student: &'a NameMap<Node>,
    pub act: Act,
    pub samples: usize,
    /// What a bare `\varphi'` is applied to (`z1`).
    pub default_arg: &'a Node,
    /// Batch form: outside a sum over samples, a per-sample name without a sample index
    /// (`y`, `x`) means all samples at once; `Some(true)` when the samples are rows.
    pub batch: Option<bool>,
}

/// Why a formula could not be evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError {
    /// A per-sample name outside a sum (handled by [`evaluate`]).
    FreeSample,
    Unbound(String),
    Shape(String),
    /// Terms of a sum with shapes that cannot be added (no transpose is tried).
    SumShape(String),
    Unsupported(String),
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::FreeSample => f.write_str("a sample index is used outside a sum"),
            EvalError::Unbound(s) => write!(f, "`{s}` is not defined"),
            EvalError::Shape(s) | EvalError::SumShape(s) => write!(f, "{s}"),
            EvalError::Unsupported(s) => write!(f, "{s}"),
        }
    }
}

/// A formula's value: one value, or one per sample when a sample index is free.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Batch(Val),
    PerSample(Vec<Val>),
}

/// What evaluation noticed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Info {
    /// Transposes added to make products well-formed (0 unless repair was asked for).
    pub repairs: usize,
    /// `\sigma` was used: the formula commits to the sigmoid.
    pub sigma: bool,
    /// The activation `\varphi` was used.
    pub phi: bool,
}

/// A definition's value, remembered within one evaluation (see [`Ctx::memoised`]).
#[derive(Debug)]
struct Memo {
    /// The sample in scope, `force_cols` and the repair mode when it was computed: the value
    /// depends on them (on the mode only when a repair was made).
    sample: Option<usize>,
    force_cols: bool,
    repair: bool,
    val: Val,
    /// Nodes its evaluation took (charged again on reuse, so the step budget is unchanged).
    steps: usize,
    /// The depth it was evaluated at, and how much deeper its evaluation went.
    depth: usize,
    rel_depth: usize,
    /// What its evaluation noticed.
    info: Info,
}

impl Info {
    /// `self` and what `other` noticed.
    fn merge(&mut self, other: &Info) {
        self.repairs += other.repairs;
        self.sigma |= other.sigma;
        self.phi |= other.phi;
    }
}

/// One evaluation's state: the sample in scope, depth and step budgets, what was noticed.
struct Ctx<'s, 'a> {
    scope: &'s Scope<'a>,
    /// Nodes evaluated so far: definitions are expanded where used, so a hostile chain
    /// (`a_2 = a_1 + a_1`, `a_3 = a_2 + a_2`, ...) is stopped by this budget.
    steps: usize,
    /// Evaluating a rubric definition of a rows-layout answer: samples as columns.
    force_cols: bool,
    sample: Option<usize>,
    depth: usize,
    repair: bool,
    info: Info,
    /// The deepest `depth` reached so far (see [`Ctx::memoised`]).
    peak: usize,
    /// Definitions already evaluated, by key (see [`Ctx::memoised`]).
    memo: NameMap<Vec<Memo>>,
    /// Some student definition's key is that of a product or application (`(ell^T yhat)`,
    /// it starts with a bracket): only then can a product's key name a definition.
    product_keys: bool,
    /// Buffers for nodes' keys, reused (one per level of nesting that needs one).
    key_bufs: Vec<String>,
}

/// Evaluates `node` (with transposes repaired when `repair`).
pub fn evaluate(
    node: &Node,
    scope: &Scope<'_>,
    repair: bool,
) -> Result<(Outcome, Info), EvalError> {
    evaluate_with(node, scope, repair, &mut Memos::default())
}

/// Definitions' values kept from one evaluation to the next against the same scope (the
/// parts of one answer use the same definitions: `\delta^{(i)}`, `z^{(i)}`, `\hat y^{(i)}`).
/// A value is a function of the scope, the definition, the sample in scope and (when it
/// needed a repair) the repair mode only, and is charged as in [`Ctx::memoised`], so evaluating with kept values gives
/// exactly what evaluating afresh gives.
#[derive(Debug, Default)]
pub struct Memos {
    /// The scope the values are for: its tables' and default argument's addresses and its
    /// settings. Another scope clears them.
    scope: Option<(usize, usize, usize, Act, usize, Option<bool>)>,
    table: NameMap<Vec<Memo>>,
}

/// [`evaluate`], reusing and adding to the definitions' values in `memos`.
pub fn evaluate_with(
    node: &Node,
    scope: &Scope<'_>,
    repair: bool,
    memos: &mut Memos,
) -> Result<(Outcome, Info), EvalError> {
    let id = (
        std::ptr::from_ref(scope.rubric) as usize,
        std::ptr::from_ref(scope.student) as usize,
        std::ptr::from_ref(scope.default_arg) as usize,
        scope.act,
        scope.samples,
        scope.batch,
    );
    if memos.scope != Some(id) {
        memos.table.clear();
        memos.scope = Some(id);
    }
    let mut ctx = Ctx {
        scope,
        steps: 0,
        force_cols: false,
        sample: None,
        depth: 0,
        repair,
        info: Info::default(),
        peak: 0,
        memo: std::mem::take(&mut memos.table),
        product_keys: scope.student.keys().any(|k| k.starts_with('(')),
        key_bufs: Vec::new(),
    };
    let out = run(&mut ctx, node);
    memos.table = std::mem::take(&mut ctx.memo);
    out
}

/// `node`'s outcome: one value, or one per sample when a sample index is free.
fn run(ctx: &mut Ctx<'_, '_>, node: &Node) -> Result<(Outcome, Info), EvalError> {
    let samples = ctx.scope.samples;
    match ctx.eval(node) {
        Ok(v) => Ok((Outcome::Batch(v.norm()), ctx.info.clone())),
        Err(EvalError::FreeSample) => {
            let mut out = Vec::with_capacity(samples);
            for i in 0..samples {
                ctx.sample = Some(i);
                ctx.depth = 0;
                out.push(ctx.eval(node)?.norm());
            }
            Ok((Outcome::PerSample(out), ctx.info.clone()))
        }
        Err(e) => Err(e),
    }
}

/// The error for an operation whose operands' shapes do not fit.
fn shape_err(op: &str, a: &Val, b: &Val) -> EvalError {
    EvalError::Shape(format!(
        "{op} of {} and {} does not fit",
        a.shape_text(),
        b.shape_text()
    ))
}

/// Refuses values larger than the draws can produce.
fn check_size(m: &Mat) -> Result<(), EvalError> {
    if m.len() > MAX_ELEMENTS {
        Err(EvalError::Unsupported(
            "a value too large to evaluate".into(),
        ))
    } else {
        Ok(())
    }
}

impl Ctx<'_, '_> {
    /// Batch form with the samples as rows (and not inside a rubric definition).
    fn rows(&self) -> bool {
        self.scope.batch == Some(true) && !self.force_cols
    }

    /// Evaluates `node` within the depth and step budgets.
    fn eval(&mut self, node: &Node) -> Result<Val, EvalError> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(EvalError::Unsupported(
                "the formula takes too long to evaluate".into(),
            ));
        }
        self.depth += 1;
        self.peak = self.peak.max(self.depth);
        if self.depth > 4 * MAX_EXPANSION + 200 {
            return Err(EvalError::Unsupported(
                "the formula is nested too deeply".into(),
            ));
        }
        let out = self.eval_inner(node).map(Val::norm);
        self.depth -= 1;
        out
    }

    /// One node's value.
    fn eval_inner(&mut self, node: &Node) -> Result<Val, EvalError> {
        match node {
            Node::Num(v) => Ok(Val::S(*v)),
            Node::Sym { name, sample } => self.symbol(name, *sample),
            Node::Neg(a) => Ok(scale(self.eval(a)?, -1.0)),
            Node::Add(a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                add(a, b, 1.0, self.scope.samples)
            }
            Node::Sub(a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                add(a, b, -1.0, self.scope.samples)
            }
            // `\ell'(\hat y)`, `m'(W_1)`: a function the student defined, applied.
            Node::Mul(f, _, _)
                if !self.scope.student.is_empty()
                    && matches!(f.as_ref(), Node::Sym { .. } | Node::Transpose(_))
                    && self.student_defines(node) =>
            {
                match self.defined(&key(node))? {
                    Some(v) => Ok(v),
                    None => Err(EvalError::Unbound(key(node))),
                }
            }
            Node::Mul(a, b, kind) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                match kind {
                    MulKind::Product => self.product(a, b),
                    MulKind::Hadamard => hadamard(a, b),
                }
            }
            Node::Div(a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                match (a, b) {
                    (a, Val::S(d)) => Ok(scale(a, 1.0 / d)),
                    (Val::M(x), Val::M(y)) if x.r == y.r && x.c == y.c => {
                        Ok(Val::M(x.zip(&y, |p, q| p / q)))
                    }
                    (a, b) => Err(shape_err("dividing", &a, &b)),
                }
            }
            Node::Pow(a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                match (a, b) {
                    (Val::S(x), Val::S(p)) => Ok(Val::S(x.powf(p))),
                    (Val::M(m), Val::S(p)) => Ok(Val::M(m.map(|x| x.powf(p)))),
                    (a, b) => Err(shape_err("a power", &a, &b)),
                }
            }
            Node::Transpose(a) => Ok(match self.eval(a)? {
                Val::M(m) => Val::M(m.into_t()),
                other => other,
            }),
            Node::Call {
                func,
                derivative,
                arg,
            } => self.call(*func, *derivative, arg.as_deref()),
            Node::Deriv { of, wrt: _ } => {
                let k = self.key_of(node);
                match self.defined(&k) {
                    Ok(None) => {}
                    Ok(Some(v)) => {
                        self.key_bufs.push(k);
                        return Ok(v);
                    }
                    Err(e) => {
                        self.key_bufs.push(k);
                        return Err(e);
                    }
                }
                // d\varphi(z)/dz and its spellings are \varphi'(z).
                if let Node::Call { func, arg, .. } = of.as_ref() {
                    if func.is_activation() {
                        self.key_bufs.push(k);
                        return self.call(*func, true, arg.as_deref());
                    }
                }
                Err(EvalError::Unbound(k))
            }
            Node::Grad { body, .. } => match differentiate_activation(body) {
                Some(b) => self.eval(&b),
                None => Err(EvalError::Unbound(key(node))),
            },
            Node::Sum(body) => {
                if self.sample.is_some() {
                    return Err(EvalError::Unsupported("a sum inside a sum".into()));
                }
                let mut total: Option<Val> = None;
                for i in 0..self.scope.samples {
                    self.sample = Some(i);
                    let v = self.eval(body);
                    self.sample = None;
                    let v = v?;
                    total = Some(match total {
                        None => v,
                        Some(t) => add(t, v, 1.0, self.scope.samples)?,
                    });
                }
                total.ok_or_else(|| EvalError::Unsupported("no samples".into()))
            }
            Node::Norm(a) => {
                let v = self.eval(a)?;
                let m = v.to_mat();
                Ok(Val::S(m.v.iter().map(|x| x * x).sum::<f64>().sqrt()))
            }
            Node::Tuple(_) => Err(EvalError::Unsupported(
                "a list of values where one value is needed".into(),
            )),
        }
    }

    /// `node`'s [`key`], written into a reused buffer (handed back to `key_bufs` when done).
    fn key_of(&mut self, node: &Node) -> String {
        let mut k = self.key_bufs.pop().unwrap_or_default();
        k.clear();
        write_key(node, &mut k);
        k
    }

    /// Whether the student defined product `node` (`\ell'(\hat y)`): its [`key`] is the
    /// function's name when applied to a list of arguments, else it starts with a bracket, so
    /// it is built only when some definition's key could be it.
    fn student_defines(&self, node: &Node) -> bool {
        match node {
            Node::Mul(f, args, _) => match (f.as_ref(), args.as_ref()) {
                (Node::Sym { name, .. }, Node::Tuple(_)) => {
                    self.scope.student.contains_key(name.as_str())
                }
                _ => self.product_keys && self.scope.student.contains_key(&key(node)),
            },
            _ => self.scope.student.contains_key(&key(node)),
        }
    }

    /// The student's definition (or the rubric's) of `k`, evaluated; None when neither has one.
    fn defined(&mut self, k: &str) -> Result<Option<Val>, EvalError> {
        if self.depth > MAX_EXPANSION * 4 {
            return Err(EvalError::Unsupported(format!(
                "`{k}` is defined in terms of itself"
            )));
        }
        if let Some(def) = self.scope.student.get(k) {
            return self.memoised(k, |ctx| ctx.eval(def)).map(Some);
        }
        match self.scope.rubric.get(k) {
            // The rubric's definitions are written with the samples as columns: in an answer
            // that stacks them as rows, they are evaluated so and transposed.
            Some(Binding::Define(def)) if self.rows() => self
                .memoised(k, |ctx| {
                    ctx.force_cols = true;
                    let v = ctx.eval(def);
                    ctx.force_cols = false;
                    Ok(match v? {
                        Val::M(m) if m.c == ctx.scope.samples && m.c > 1 => Val::M(m.t()),
                        other => other,
                    })
                })
                .map(Some),
            Some(Binding::Define(def)) => self.memoised(k, |ctx| ctx.eval(def)).map(Some),
            Some(Binding::Tensor(m)) => Ok(Some(Val::M(m.clone()))),
            Some(Binding::Scalar(x)) => Ok(Some(Val::S(*x))),
            Some(Binding::Batch(m)) => {
                Ok(Some(Val::M(if self.rows() { m.t() } else { m.clone() })))
            }
            Some(Binding::Column(m)) => match self.sample {
                None => match self.scope.batch {
                    None => Err(EvalError::FreeSample),
                    Some(_) => Ok(Some(Val::M(if self.rows() { m.t() } else { m.clone() }))),
                },
                // A 1-row tensor's column is one number (read without a copy).
                Some(i) if i < m.c && m.r == 1 => Ok(Some(Val::S(m.v[i]))),
                Some(i) if i < m.c => Ok(Some(Val::M(m.column(i)))),
                Some(_) => Err(EvalError::Unsupported("sample index out of range".into())),
            },
            None => Ok(None),
        }
    }

    /// The value of definition `k` as `compute` evaluates it, computed once per sample in
    /// scope: a definition is expanded wherever its name is used (`\hat y` twice in `\delta`,
    /// `z_1` in `h` and in `\varphi'(z_1)`), and its value depends on nothing else in this
    /// evaluation. A reused value is charged the steps, repairs and activations its evaluation
    /// took, and is reused only where the depth budget could not have stopped that evaluation
    /// (no deeper than before, or within the budget with its depth added), so results and
    /// errors are exactly those of evaluating it again.
    fn memoised(
        &mut self,
        k: &str,
        compute: impl FnOnce(&mut Self) -> Result<Val, EvalError>,
    ) -> Result<Val, EvalError> {
        let (sample, force_cols, repair) = (self.sample, self.force_cols, self.repair);
        // A value that needed no repair is the same in either mode: a successful evaluation
        // without repairs never reached a product that only a repair makes fit.
        let same = |m: &Memo| {
            m.sample == sample
                && m.force_cols == force_cols
                && (m.repair == repair || m.info.repairs == 0)
        };
        if let Some(m) = self.memo.get(k).and_then(|ms| ms.iter().find(|m| same(m))) {
            let depth_ok = self.depth <= m.depth || self.depth + m.rel_depth <= 4 * MAX_EXPANSION;
            if depth_ok && self.steps + m.steps <= MAX_STEPS {
                self.steps += m.steps;
                self.info.merge(&m.info);
                self.peak = self.peak.max(self.depth + m.rel_depth);
                return Ok(m.val.clone());
            }
        }
        let outer_info = std::mem::take(&mut self.info);
        let outer_peak = std::mem::replace(&mut self.peak, self.depth);
        let (steps, depth) = (self.steps, self.depth);
        let out = compute(self);
        let info = std::mem::replace(&mut self.info, outer_info);
        self.info.merge(&info);
        let rel_depth = self.peak.saturating_sub(depth);
        self.peak = self.peak.max(outer_peak);
        if let Ok(val) = &out {
            let memo = Memo {
                sample,
                force_cols,
                repair,
                val: val.clone(),
                steps: self.steps - steps,
                depth,
                rel_depth,
                info,
            };
            // (The key is copied only for a definition seen for the first time.)
            match self.memo.get_mut(k) {
                Some(entries) => match entries.iter_mut().find(|m| same(m)) {
                    Some(old) => *old = memo,
                    None => entries.push(memo),
                },
                None => {
                    self.memo.insert(k.to_string(), vec![memo]);
                }
            }
        }
        out
    }

    /// A name's value: the student's definition, the rubric's symbol, or a sample-indexed
    /// spelling of one (`x_i`).
    fn symbol(&mut self, name: &str, sample: bool) -> Result<Val, EvalError> {
        if sample && self.sample.is_none() {
            // `x^{(i)}` outside a sum: the index is free (unless it names no per-sample value,
            // which the lookup below reports).
            if matches!(self.scope.rubric.get(name), Some(Binding::Column(_))) {
                return Err(EvalError::FreeSample);
            }
        }
        if let Some(v) = self.defined(name)? {
            return Ok(v);
        }
        // `x_i`, `yi`: a name with a sample letter appended.
        for suffix in ["i", "n", "j"] {
            if let Some(stem) = name.strip_suffix(suffix) {
                if !stem.is_empty() {
                    if let Some(v) = self.defined(stem)? {
                        return Ok(v);
                    }
                }
            }
        }
        // `\mathbf{1}`: the vector of N ones (sums and broadcasts over the samples).
        if name == "ones" {
            return Ok(Val::M(Mat::new(
                self.scope.samples,
                1,
                vec![1.0; self.scope.samples],
            )));
        }
        Err(EvalError::Unbound(name.to_string()))
    }

    /// A function (or the activation's derivative) applied to its argument, elementwise.
    fn call(&mut self, func: Func, derivative: bool, arg: Option<&Node>) -> Result<Val, EvalError> {
        let scope = self.scope;
        let arg = match arg {
            Some(a) => self.eval(a)?,
            None => self.eval(scope.default_arg)?,
        };
        if func == Func::Diag {
            return match arg {
                Val::M(m) if m.is_vector() => Ok(Val::D(m.v)),
                Val::D(d) => Ok(Val::D(d)),
                Val::S(x) => Ok(Val::S(x)),
                Val::M(_) => Err(EvalError::Unsupported("diag of a matrix".into())),
            };
        }
        let act = match func {
            Func::Phi => {
                self.info.phi = true;
                Some(scope.act)
            }
            Func::Sigma => {
                self.info.sigma = true;
                Some(Act::Sigmoid)
            }
            _ => None,
        };
        let f = |x: f64| -> f64 {
            match (func, derivative, act) {
                (_, false, Some(a)) => a.f(x),
                (_, true, Some(a)) => a.df(x),
                (Func::Log, false, _) => x.ln(),
                (Func::Log, true, _) => 1.0 / x,
                (Func::Exp, _, _) => x.exp(),
                (Func::Tanh, false, _) => x.tanh(),
                (Func::Tanh, true, _) => 1.0 - x.tanh().powi(2),
                _ => f64::NAN,
            }
        };
        Ok(match arg {
            Val::S(x) => Val::S(f(x)),
            Val::M(m) if derivative && act.is_some() && m.is_vector() => Val::D(m.map(f).v),
            Val::M(m) => Val::M(m.map(f)),
            Val::D(_) => {
                return Err(EvalError::Unsupported(
                    "a function of an elementwise derivative".into(),
                ))
            }
        })
    }

    /// A product written by juxtaposition or `\cdot`, settled by the shapes (see the module doc).
    fn product(&mut self, a: Val, b: Val) -> Result<Val, EvalError> {
        let (a, b) = match plain_product(a, b) {
            Ok(out) => return out,
            Err(operands) => operands,
        };
        if !self.repair {
            return Err(shape_err("the product", &a, &b));
        }
        // Repair: the fewest transposes that make the product well-formed.
        let t = |v: &Val| match v {
            Val::M(m) => Val::M(m.t()),
            other => other.clone(),
        };
        // Built one at a time: the first that fits ends the search.
        let tries = (0..3).map(|n| match n {
            0 => (a.clone(), t(&b)),
            1 => (t(&a), b.clone()),
            _ => (t(&a), t(&b)),
        });
        for (x, y) in tries {
            if x == a && y == b {
                continue;
            }
            if let Ok(Ok(v)) = plain_product(x, y) {
                self.info.repairs += 1;
                return Ok(v);
            }
        }
        Err(shape_err("the product", &a, &b))
    }
}

/// A product written by juxtaposition or `\cdot` whose shapes fit as written (see the
/// module doc): `Err` gives the operands back when none of the cases applies.
fn plain_product(a: Val, b: Val) -> Result<Result<Val, EvalError>, (Val, Val)> {
    // Each case works on the operands it owns, in place where the shape is kept.
    Ok(match (a, b) {
        (Val::S(x), b) => Ok(scale(b, x)),
        (a, Val::S(y)) => Ok(scale(a, y)),
        (Val::D(mut p), Val::D(q)) if p.len() == q.len() => {
            for (x, y) in p.iter_mut().zip(&q) {
                *x *= y;
            }
            Ok(Val::D(p))
        }
        (Val::D(p), Val::M(mut m)) if m.r == p.len() => {
            let c = m.c.max(1);
            for (row, k) in m.v.chunks_mut(c).zip(&p) {
                row.iter_mut().for_each(|x| *x *= k);
            }
            Ok(Val::M(m))
        }
        // A diagonal next to a vector of its length, either side, in either orientation:
        // the elementwise product (`\varphi'(z)\,W_2` with W_2 a row).
        (Val::D(p), Val::M(mut m)) if m.r == 1 && m.c == p.len() => {
            for (x, y) in m.v.iter_mut().zip(&p) {
                *x *= y;
            }
            Ok(Val::M(m))
        }
        (Val::M(mut m), Val::D(p)) if m.c == p.len() || (m.c == 1 && m.r == p.len()) => {
            let cols = m.c == p.len();
            for i in 0..m.r {
                for j in 0..m.c {
                    m.v[i * m.c + j] *= if cols { p[j] } else { p[i] };
                }
            }
            Ok(Val::M(m))
        }
        (Val::M(x), Val::M(y)) if x.c == y.r => match check_size(&x) {
            Ok(()) => Ok(Val::M(x.matmul(&y))),
            Err(e) => Err(e),
        },
        (Val::M(x), Val::M(y)) if x.r == y.r && x.c == y.c => Ok(Val::M(x.zip(&y, |p, q| p * q))),
        other => return Err(other),
    })
}

/// `body` with its first activation turned into the activation's derivative
/// (`\nabla_{b_1}\{\varphi(z)\,W_2^\top\}` is `\varphi'(z)\,W_2^\top`).
fn differentiate_activation(body: &Node) -> Option<Node> {
    fn walk(n: &Node, done: &mut bool) -> Node {
        if *done {
            return n.clone();
        }
        match n {
            Node::Call { func, arg, .. } if func.is_activation() => {
                *done = true;
                Node::Call {
                    func: *func,
                    derivative: true,
                    arg: arg.clone(),
                }
            }
            Node::Mul(a, b, k) => {
                let a2 = walk(a, done);
                let b2 = walk(b, done);
                Node::Mul(Box::new(a2), Box::new(b2), *k)
            }
            Node::Transpose(a) => Node::Transpose(Box::new(walk(a, done))),
            other => other.clone(),
        }
    }
    let mut done = false;
    let out = walk(body, &mut done);
    done.then_some(out)
}

/// `k` times a value.
fn scale(v: Val, k: f64) -> Val {
    match v {
        Val::S(x) => Val::S(x * k),
        Val::M(m) => Val::M(m.map(|x| x * k)),
        Val::D(mut d) => {
            d.iter_mut().for_each(|x| *x *= k);
            Val::D(d)
        }
    }
}

/// The elementwise product.
fn hadamard(a: Val, b: Val) -> Result<Val, EvalError> {
    match (a, b) {
        (Val::S(x), b) => Ok(scale(b, x)),
        (a, Val::S(y)) => Ok(scale(a, y)),
        (Val::D(mut p), Val::D(q)) if p.len() == q.len() => {
            for (x, y) in p.iter_mut().zip(&q) {
                *x *= y;
            }
            Ok(Val::D(p))
        }
        (Val::D(p), Val::M(mut m)) | (Val::M(mut m), Val::D(p))
            if m.is_vector() && m.len() == p.len() =>
        {
            for (x, y) in m.v.iter_mut().zip(&p) {
                *x *= y;
            }
            Ok(Val::M(m))
        }
        (Val::M(x), Val::M(y)) if x.r == y.r && x.c == y.c => Ok(Val::M(x.zip(&y, |p, q| p * q))),
        // Two vectors of one length in different orientations: the first's.
        (Val::M(x), Val::M(y)) if x.is_vector() && y.is_vector() && x.len() == y.len() => {
            Ok(Val::M(x.zip(&y, |p, q| p * q)))
        }
        (a, b) => Err(shape_err("the elementwise product", &a, &b)),
    }
}

/// `a + sign·b`.
fn add(a: Val, b: Val, sign: f64, samples: usize) -> Result<Val, EvalError> {
    let a = match a {
        Val::D(d) => Val::M(Mat::new(d.len(), 1, d)),
        v => v,
    };
    let b = match b {
        Val::D(d) => Val::M(Mat::new(d.len(), 1, d)),
        v => v,
    };
    match (a, b) {
        (Val::S(x), Val::S(y)) => Ok(Val::S(x + sign * y)),
        (Val::S(x), Val::M(m)) => Ok(Val::M(m.map(|y| x + sign * y))),
        (Val::M(m), Val::S(y)) => Ok(Val::M(m.map(|x| x + sign * y))),
        (Val::M(x), Val::M(y)) if x.r == y.r && x.c == y.c => {
            Ok(Val::M(x.zip(&y, |p, q| p + sign * q)))
        }
        // Two vectors of one length in different orientations: the first's.
        (Val::M(x), Val::M(y)) if x.is_vector() && y.is_vector() && x.len() == y.len() => {
            Ok(Val::M(x.zip(&y, |p, q| p + sign * q)))
        }
        // A bias added to a batch (one column or row per sample): broadcast over the
        // samples (`W_1 X + b_1`).
        (Val::M(mut x), Val::M(y)) if y.c == 1 && y.r == x.r && x.c > 1 && x.c == samples => {
            let c = x.c;
            for (k, p) in x.v.iter_mut().enumerate() {
                *p += sign * y.v[k / c];
            }
            Ok(Val::M(x))
        }
        (Val::M(mut x), Val::M(y)) if y.r == 1 && y.c == x.c && x.r > 1 && x.r == samples => {
            let c = x.c;
            for (k, p) in x.v.iter_mut().enumerate() {
                *p += sign * y.v[k % c];
            }
            Ok(Val::M(x))
        }
        (a, b) => Err(EvalError::SumShape(format!(
            "a sum of {} and {}",
            a.shape_text(),
            b.shape_text()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tensor_expr::parse;
    use super::*;

    fn scope_parts() -> (NameMap<Binding>, Node) {
        let mut r = NameMap::default();
        r.insert(
            "W".into(),
            Binding::Tensor(Mat::new(2, 3, vec![1., 2., 3., 4., 5., 6.])),
        );
        r.insert(
            "X".into(),
            Binding::Tensor(Mat::new(3, 2, vec![1., 0., 0., 1., 1., 1.])),
        );
        r.insert(
            "x".into(),
            Binding::Column(Mat::new(3, 2, vec![1., 0., 0., 1., 1., 1.])),
        );
        r.insert("N".into(), Binding::Scalar(2.0));
        r.insert(
            "V".into(),
            Binding::Tensor(Mat::new(2, 2, vec![1., 2., 3., 4.])),
        );
        r.insert("z".into(), Binding::Define(parse("W x").unwrap()));
        (r, parse("z").unwrap())
    }

    /// The scope of these tests: φ = tanh, two samples, per-sample form.
    fn tanh_scope<'a>(
        rubric: &'a NameMap<Binding>,
        student: &'a NameMap<Node>,
        default_arg: &'a Node,
    ) -> Scope<'a> {
        Scope {
            rubric,
            student,
            act: Act::Tanh,
            samples: 2,
            default_arg,
            batch: None,
        }
    }

    fn eval(s: &str, repair: bool) -> Result<Outcome, EvalError> {
        let (r, z) = scope_parts();
        let student = NameMap::default();
        let scope = tanh_scope(&r, &student, &z);
        evaluate(&parse(s).unwrap(), &scope, repair).map(|(o, _)| o)
    }

    #[test]
    fn products_follow_shapes() {
        let Ok(Outcome::Batch(Val::M(m))) = eval("W X", false) else {
            panic!()
        };
        assert_eq!((m.r, m.c), (2, 2));
        assert!(matches!(eval("W V", false), Err(EvalError::Shape(_))));
        let Ok(Outcome::Batch(Val::M(m))) = eval("W V", true) else {
            panic!()
        };
        assert_eq!((m.r, m.c), (3, 2));
        // A sum over samples, and a free sample index.
        let Ok(Outcome::Batch(Val::M(m))) = eval(r"\frac{1}{N}\sum_{i=1}^N x^{(i)}", false) else {
            panic!()
        };
        assert_eq!(m.v, vec![0.5, 0.5, 1.0]);
        assert!(matches!(eval("x^{(i)}", false), Ok(Outcome::PerSample(v)) if v.len() == 2));
        // A bare derivative of the activation is at the default argument.
        assert!(matches!(
            eval(r"\varphi' W", false),
            Ok(Outcome::PerSample(_))
        ));
        assert!(matches!(eval("q", false), Err(EvalError::Unbound(_))));
    }

    /// A student's definitions: `a0 = W`, then `a{k+1} = a{k} + a{k}` up to `a{n}`.
    fn doubling_chain(n: usize) -> NameMap<Node> {
        let mut student = NameMap::default();
        student.insert("a0".to_string(), parse("W").unwrap());
        for k in 0..n {
            student.insert(
                format!("a{}", k + 1),
                parse(&format!("a{k} + a{k}")).unwrap(),
            );
        }
        student
    }

    #[test]
    fn reused_definitions_keep_the_step_budget() {
        let (r, z) = scope_parts();
        let run = |student: &NameMap<Node>, s: &str| {
            let scope = tanh_scope(&r, student, &z);
            evaluate(&parse(s).unwrap(), &scope, false).map(|(o, _)| o)
        };
        // Five doublings of W = [1 2 3; 4 5 6].
        let Ok(Outcome::Batch(Val::M(m))) = run(&doubling_chain(5), "a5") else {
            panic!()
        };
        assert_eq!(m.v, vec![32., 64., 96., 128., 160., 192.]);
        // Expanded as written, twenty doublings take millions of nodes: a value computed once
        // and reused is still charged its nodes, so the budget stops it as it always did.
        match run(&doubling_chain(20), "a20") {
            Err(EvalError::Unsupported(why)) => assert!(why.contains("too long"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kept_values_give_what_fresh_evaluation_gives() {
        let (r, z) = scope_parts();
        let student = doubling_chain(6);
        let scope = tanh_scope(&r, &student, &z);
        let mut memos = Memos::default();
        for s in [
            "a6",
            r"a3 + W",
            r"\sum_{i=1}^N a2 x^{(i)}",
            "a6 V",
            r"\varphi'(z) a1",
        ] {
            let node = parse(s).unwrap();
            for repair in [false, true] {
                let fresh = evaluate(&node, &scope, repair);
                let kept = evaluate_with(&node, &scope, repair, &mut memos);
                assert_eq!(fresh, kept, "{s} (repair: {repair})");
            }
        }
        // Another table of definitions: the kept values are not used for it.
        let other = doubling_chain(1);
        let scope = Scope {
            student: &other,
            ..scope
        };
        let node = parse("a1").unwrap();
        assert_eq!(
            evaluate(&node, &scope, false),
            evaluate_with(&node, &scope, false, &mut memos)
        );
    }
}
