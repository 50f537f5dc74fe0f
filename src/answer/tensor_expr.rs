//! Matrix-calculus formulas as students write them: the reader for `kind: gradient` answers.
//!
//! The scalar reader ([`super::expr`]) flattens LaTeX to plain text; derivatives need its
//! structure (`\frac{\partial L}{\partial W_1}` names a tensor, `\sum_{i=1}^{N}` ranges over
//! samples, `^{(i)}` marks one, `^\top` transposes), so this reader tokenises LaTeX, Unicode
//! and ASCII directly. Classes of writing it reads (each seen across many students):
//!
//! - **Tensor names** with decorations stripped: `\mat{W}_2`, `\mathbf{W}_{2}`, `W_2`, `W2`;
//!   `\hat{y}`, `\hat y`, `ŷ`, `y_hat`; sample indices `x^{(i)}`, `x^(i)`, `x_i`.
//! - **Products** by juxtaposition, `\cdot`, `*`, `\times`, `·`; elementwise `\odot`, `\circ`,
//!   `⊙`; which product is meant is settled by the operands' shapes at evaluation
//!   ([`super::tensor_eval`]).
//! - **Transposes** `^T`, `^t`, `^\top`, `^{T}`, `ᵀ`, `'` after a tensor; `'` after `\varphi`
//!   or `\sigma` is the derivative (`\varphi'(z)`, bare `\varphi'`), as are
//!   `\frac{d\varphi}{dz}` and `\nabla_{z}\varphi(z)`.
//! - **Derivative symbols** `\frac{\partial a}{\partial b}`, `\frac{da}{db}`, `da/db`,
//!   `∂a/∂b`, `\nabla_{b} a`, `\delta W_1`, `L'(W_1)`: a statement's left-hand side names
//!   the tensor, and a derivative on a right-hand side refers to the student's own
//!   definition of it (`\frac{d\ell}{d\hat y} = ...` on another line).
//! - **Sums** `\sum_{i=1}^{N}`, `\sum_i`, `\sum{i=1}^m`, `Σ`, bare `\sum`, whose body runs to
//!   the next `+`/`-` of the same level; **fractions** `\frac`, `\dfrac`, `/`; **norms**
//!   `\|W\|_F`, `\norm{W}_F`, `||W||`, `‖W‖`; `\log`, `\exp`.
//! - Unclosed brackets at the end of a formula are closed (a class of typo that changes
//!   nothing else).
//!
//! Everything is bounded: at most [`MAX_CHARS`] characters per formula, [`MAX_DEPTH`] levels
//! of nesting; unknown commands and stray symbols are errors (the caller reports
//! `needs-review`), never panics.

use std::fmt;

/// Longest formula read, in characters.
pub const MAX_CHARS: usize = 4000;
/// Deepest nesting read.
pub const MAX_DEPTH: usize = 48;

/// Functions of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// The question's activation (`\varphi`, `\phi`, `φ`).
    Phi,
    /// The logistic sigmoid (`\sigma`): commits to one activation.
    Sigma,
    Log,
    Exp,
    Tanh,
    /// `\operatorname{diag}(v)`: the diagonal matrix of a vector.
    Diag,
}

impl Func {
    /// The function's name in keys and messages.
    fn name(self) -> &'static str {
        match self {
            Func::Phi => "phi",
            Func::Sigma => "sigma",
            Func::Log => "log",
            Func::Exp => "exp",
            Func::Tanh => "tanh",
            Func::Diag => "diag",
        }
    }
    /// Whether a bare use (no argument) means "at the layer's pre-activation".
    pub fn is_activation(self) -> bool {
        matches!(self, Func::Phi | Func::Sigma)
    }
}

/// How two factors were written next to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MulKind {
    /// Juxtaposition, `\cdot`, `*`, `\times`: settled by shapes.
    Product,
    /// `\odot`, `\circ`, `⊙`: elementwise.
    Hadamard,
}

/// A parsed formula.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Num(f64),
    /// A name, canonical (`W2`, `x`, `yhat`, `lambda`, `delta`, `N`); `sample` when it
    /// carries a sample index (`x^{(i)}`).
    Sym {
        name: String,
        sample: bool,
    },
    Neg(Box<Node>),
    Add(Box<Node>, Box<Node>),
    Sub(Box<Node>, Box<Node>),
    Mul(Box<Node>, Box<Node>, MulKind),
    Div(Box<Node>, Box<Node>),
    Pow(Box<Node>, Box<Node>),
    Transpose(Box<Node>),
    /// `f(arg)`, or `f'(arg)` with `derivative`; `arg` None for a bare `\varphi'`.
    Call {
        func: Func,
        derivative: bool,
        arg: Option<Box<Node>>,
    },
    /// `\frac{\partial of}{\partial wrt}` and its spellings.
    Deriv {
        of: Box<Node>,
        wrt: Box<Node>,
    },
    /// `\nabla_{wrt} {body}`: the derivative of the activation inside `body`.
    Grad {
        wrt: Box<Node>,
        body: Box<Node>,
    },
    /// `\sum` over the samples.
    Sum(Box<Node>),
    /// `\|arg\|` (Frobenius).
    Norm(Box<Node>),
    /// `(a, b)`: only as a function's arguments (`\ell(y, \hat y)`).
    Tuple(Vec<Node>),
}

/// Why a formula could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Func(Func),
    Prime,
    Frac,
    Sum,
    Nabla,
    Partial,
    LParen,
    RParen,
    LBrace,
    RBrace,
    Plus,
    Minus,
    Slash,
    Star,
    Odot,
    Caret,
    Under,
    Eq,
    Comma,
    Norm,
    NormCmd,
    Top,
    /// `|`: only as `|S|`, the size of a set.
    Bar,
    /// A word of prose: never read as a formula.
    Word(String),
}

/// LaTeX commands that only decorate their argument.
const WRAPPERS: [&str; 17] = [
    "mat",
    "vec",
    "mathbf",
    "boldsymbol",
    "bm",
    "mathrm",
    "mathit",
    "mathcal",
    "mathbb",
    "text",
    "textbf",
    "textit",
    "operatorname",
    "boxed",
    "underline",
    "mathsf",
    "pmb",
];

/// LaTeX commands that are spacing or sizing only.
const IGNORED: [&str; 20] = [
    "left",
    "right",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "quad",
    "qquad",
    "displaystyle",
    "limits",
    "nolimits",
    "textstyle",
    "middle",
    "space",
    "mkern",
    "hspace",
];

/// Tokens of a formula (see the module doc for what is read).
fn lex(src: &str) -> Result<Vec<Tok>, ParseError> {
    if src.chars().count() > MAX_CHARS {
        return Err(ParseError(format!("longer than {MAX_CHARS} characters")));
    }
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::with_capacity(chars.len() / 2 + 4);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() || c == '~' || c == '&' || c == '$' => i += 1,
            // numpy's and MATLAB's `.T` (transpose) and `.*` (elementwise product).
            '.' if chars.get(i + 1) == Some(&'T')
                && !chars.get(i + 2).is_some_and(|d| d.is_ascii_alphanumeric()) =>
            {
                out.push(Tok::Caret);
                out.push(Tok::Top);
                i += 2;
            }
            '.' if chars.get(i + 1) == Some(&'*') => {
                out.push(Tok::Odot);
                i += 2;
            }
            '0'..='9' | '.' if c != '.' || chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                let v = s
                    .parse::<f64>()
                    .map_err(|_| ParseError(format!("bad number `{s}`")))?;
                out.push(Tok::Num(v));
            }
            '\\' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i].is_ascii_alphabetic() {
                    i += 1;
                }
                if i == start {
                    // `\|`, `\{`, `\,` ...
                    let Some(&d) = chars.get(i) else { break };
                    i += 1;
                    match d {
                        '|' => out.push(Tok::Norm),
                        '{' => out.push(Tok::LParen),
                        '}' => out.push(Tok::RParen),
                        ',' | ';' | '!' | ':' | ' ' | '\\' => {}
                        other => return Err(ParseError(format!("unexpected `\\{other}`"))),
                    }
                    continue;
                }
                // The command's letters (ASCII, checked above), in a buffer on the stack.
                let mut buf = [0u8; 32];
                let long: String;
                let cmd: &str = if i - start <= buf.len() {
                    for (b, c) in buf.iter_mut().zip(&chars[start..i]) {
                        *b = *c as u8;
                    }
                    std::str::from_utf8(&buf[..i - start]).unwrap_or_default()
                } else {
                    long = chars[start..i].iter().collect();
                    &long
                };
                if WRAPPERS.contains(&cmd) || IGNORED.contains(&cmd) {
                    continue;
                }
                match cmd {
                    "hat" | "widehat" => {
                        // \hat{y}, \hat y, \hat{\vec{y}}: the name with `hat` appended.
                        let (inner, next) = hat_argument(&chars, i);
                        i = next;
                        out.push(Tok::Ident(format!("{inner}hat")));
                    }
                    "color" | "textcolor" => {
                        i = skip_group(&chars, i);
                    }
                    "frac" | "dfrac" | "tfrac" | "cfrac" => out.push(Tok::Frac),
                    "sum" => out.push(Tok::Sum),
                    "nabla" => out.push(Tok::Nabla),
                    "partial" => out.push(Tok::Partial),
                    "cdot" | "times" | "bullet" | "ast" => out.push(Tok::Star),
                    "odot" | "circ" | "otimes" => out.push(Tok::Odot),
                    "top" | "intercal" | "mathsf" | "T" => out.push(Tok::Top),
                    "prime" => out.push(Tok::Prime),
                    "norm" => out.push(Tok::NormCmd),
                    "Vert" | "lVert" | "rVert" | "Arrowvert" => out.push(Tok::Norm),
                    "vert" | "lvert" | "rvert" | "mid" => out.push(Tok::Bar),
                    "log" | "ln" => out.push(Tok::Func(Func::Log)),
                    "exp" => out.push(Tok::Func(Func::Exp)),
                    "tanh" => out.push(Tok::Func(Func::Tanh)),
                    "varphi" | "phi" | "Phi" => out.push(Tok::Func(Func::Phi)),
                    "sigma" => out.push(Tok::Func(Func::Sigma)),
                    "lambda" => out.push(Tok::Ident("lambda".into())),
                    "delta" => out.push(Tok::Ident("delta".into())),
                    "Delta" => out.push(Tok::Ident("Delta".into())),
                    "ell" => out.push(Tok::Ident("ell".into())),
                    "epsilon" | "varepsilon" => out.push(Tok::Ident("epsilon".into())),
                    "lbrack" => out.push(Tok::LParen),
                    "rbrack" => out.push(Tok::RParen),
                    other => return Err(ParseError(format!("unsupported command `\\{other}`"))),
                }
            }
            '(' | '[' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' | ']' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '{' => {
                out.push(Tok::LBrace);
                i += 1;
            }
            '}' => {
                out.push(Tok::RBrace);
                i += 1;
            }
            '+' => {
                out.push(Tok::Plus);
                i += 1;
            }
            '-' | '\u{2212}' | '\u{2013}' => {
                out.push(Tok::Minus);
                i += 1;
            }
            '/' => {
                out.push(Tok::Slash);
                i += 1;
            }
            '*' | '·' | '⋅' | '∙' | '×' | '•' => {
                // `**` is a power in Python-like writing.
                if c == '*' && chars.get(i + 1) == Some(&'*') {
                    out.push(Tok::Caret);
                    i += 2;
                } else {
                    out.push(Tok::Star);
                    i += 1;
                }
            }
            '⊙' | '∘' | '⊗' => {
                out.push(Tok::Odot);
                i += 1;
            }
            '^' => {
                out.push(Tok::Caret);
                i += 1;
            }
            '_' => {
                out.push(Tok::Under);
                i += 1;
            }
            '=' => {
                out.push(Tok::Eq);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '|' => {
                // `||W||` is a norm; a single bar is `|S|`.
                if chars.get(i + 1) == Some(&'|') {
                    out.push(Tok::Norm);
                    i += 2;
                } else {
                    out.push(Tok::Bar);
                    i += 1;
                }
            }
            '‖' => {
                out.push(Tok::Norm);
                i += 1;
            }
            '\'' | '′' | '’' => {
                out.push(Tok::Prime);
                i += 1;
            }
            'ᵀ' | '⊤' => {
                out.push(Tok::Caret);
                out.push(Tok::Top);
                i += 1;
            }
            '∂' => {
                out.push(Tok::Partial);
                i += 1;
            }
            '∇' => {
                out.push(Tok::Nabla);
                i += 1;
            }
            'Σ' | '∑' => {
                out.push(Tok::Sum);
                i += 1;
            }
            'φ' | 'ϕ' => {
                out.push(Tok::Func(Func::Phi));
                i += 1;
            }
            'σ' => {
                out.push(Tok::Func(Func::Sigma));
                i += 1;
            }
            'λ' => {
                out.push(Tok::Ident("lambda".into()));
                i += 1;
            }
            'δ' => {
                out.push(Tok::Ident("delta".into()));
                i += 1;
            }
            'ℓ' => {
                out.push(Tok::Ident("ell".into()));
                i += 1;
            }
            'ŷ' => {
                out.push(Tok::Ident("yhat".into()));
                i += 1;
            }
            // Unicode sample indices: `xᵢ`, `x⁽ⁱ⁾`.
            'ᵢ' => {
                out.push(Tok::Under);
                out.push(Tok::Ident("i".into()));
                i += 1;
            }
            '⁽' => {
                let mut k = i + 1;
                while k < chars.len() && k < i + 4 && chars[k] != '⁾' {
                    k += 1;
                }
                out.extend([
                    Tok::Caret,
                    Tok::LBrace,
                    Tok::LParen,
                    Tok::Ident("i".into()),
                    Tok::RParen,
                    Tok::RBrace,
                ]);
                i = (k + 1).min(chars.len());
            }
            'ⁱ' | '⁾' => i += 1,
            '₁' | '₂' => {
                out.push(Tok::Under);
                out.push(Tok::Num(if c == '₁' { 1.0 } else { 2.0 }));
                i += 1;
            }
            c if c.is_ascii_alphabetic() => {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                // y\u{302} (combining circumflex) is ŷ.
                if chars.get(i) == Some(&'\u{302}') {
                    i += 1;
                }
                let run: String = chars[start..i].iter().collect();
                words(&run, &mut out);
            }
            other => return Err(ParseError(format!("unexpected `{other}`"))),
        }
    }
    Ok(out)
}

/// A run of ASCII letters and digits as tokens: known words (`lambda`, `log`, `phi`,
/// `y_hat` is handled by the caller), else letter-and-digits chunks (`W1x` is `W1 x`, `dL`
/// is `d L`).
fn words(run: &str, out: &mut Vec<Tok>) {
    let run = run.trim_end_matches('\u{302}');
    // The token of each known word, made only for the word that matches (no allocation per
    // run of letters).
    type MakeTok = fn() -> Tok;
    let known: [(&str, MakeTok); 15] = [
        ("lambda", || Tok::Ident("lambda".into())),
        ("lam", || Tok::Ident("lambda".into())),
        ("delta", || Tok::Ident("delta".into())),
        ("varphi", || Tok::Func(Func::Phi)),
        ("phi", || Tok::Func(Func::Phi)),
        ("sigma", || Tok::Func(Func::Sigma)),
        ("sigmoid", || Tok::Func(Func::Sigma)),
        ("log", || Tok::Func(Func::Log)),
        ("ln", || Tok::Func(Func::Log)),
        ("exp", || Tok::Func(Func::Exp)),
        ("tanh", || Tok::Func(Func::Tanh)),
        ("yhat", || Tok::Ident("yhat".into())),
        ("diag", || Tok::Func(Func::Diag)),
        ("grad", || Tok::Nabla),
        ("ones", || Tok::Ident("ones".into())),
    ];
    for (w, t) in &known {
        if run.eq_ignore_ascii_case(w) {
            out.push(t());
            return;
        }
    }
    if run == "sum" {
        out.push(Tok::Sum);
        return;
    }
    // A plain word (`number`, `samples`): prose, never a product of one-letter names.
    if run.len() >= 4 && run.chars().all(|c| c.is_ascii_alphabetic()) {
        out.push(Tok::Word(run.to_string()));
        return;
    }
    // Letters and digits (ASCII from the lexer): split by byte, without a copy of the run.
    if run.is_ascii() {
        let b = run.as_bytes();
        let mut k = 0;
        while k < b.len() {
            let start = k;
            k += 1;
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            let chunk = &run[start..k];
            if chunk.bytes().all(|c| c.is_ascii_digit()) {
                out.push(Tok::Num(chunk.parse().unwrap_or(0.0)));
            } else {
                out.push(Tok::Ident(chunk.to_string()));
            }
        }
        return;
    }
    let cs: Vec<char> = run.chars().collect();
    let mut k = 0;
    while k < cs.len() {
        let start = k;
        k += 1;
        while k < cs.len() && cs[k].is_ascii_digit() {
            k += 1;
        }
        let chunk: String = cs[start..k].iter().collect();
        if chunk.chars().all(|c| c.is_ascii_digit()) {
            out.push(Tok::Num(chunk.parse().unwrap_or(0.0)));
        } else {
            out.push(Tok::Ident(chunk));
        }
    }
}

/// The argument of `\hat`: `{y}`, `{\vec{y}}`, ` y`; returns the letters and where to go on.
fn hat_argument(chars: &[char], mut i: usize) -> (String, usize) {
    while i < chars.len() && chars[i] == ' ' {
        i += 1;
    }
    if chars.get(i) == Some(&'{') {
        let end = skip_group(chars, i);
        let inner: String = chars[i + 1..end.saturating_sub(1).max(i + 1)]
            .iter()
            .collect();
        // Drop wrappers inside: \vec{y} -> y.
        let letters: String = strip_wrappers(&inner)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        return (letters, end);
    }
    let start = i;
    if i < chars.len() && chars[i].is_ascii_alphabetic() {
        i += 1;
    }
    (chars[start..i].iter().collect(), i)
}

/// `s` without the decorating commands (`\vec`, `\mathbf`, ...).
fn strip_wrappers(s: &str) -> String {
    static PATTERNS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| WRAPPERS.iter().map(|w| format!("\\{w}")).collect());
    let mut out = s.to_string();
    // Each command is removed in turn (the order matters: `\mat` is a prefix of `\mathbf`);
    // a string without a backslash has none.
    if !out.contains('\\') {
        return out;
    }
    for p in patterns {
        if out.contains(p.as_str()) {
            out = out.replace(p.as_str(), "");
        }
    }
    out
}

/// The index just past a `{...}` group starting at `i` (or `i` when there is none).
fn skip_group(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i] == ' ' {
        i += 1;
    }
    if chars.get(i) != Some(&'{') {
        return i;
    }
    let mut depth = 0usize;
    while i < chars.len() {
        match chars[i] {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Parses one side of an equation (`\frac{1}{N}\sum_i \delta^{(i)} h^{(i)\top} + \lambda W_2`).
pub fn parse(src: &str) -> Result<Node, ParseError> {
    let mut src = src.to_string();
    for spelling in ["y_hat", "y_{hat}"] {
        if src.contains(spelling) {
            src = src.replace(spelling, "yhat");
        }
    }
    // `\mat{W}2`, `\vec{b}1`: a subscript written without `_` after a decorated name.
    static DECORATED_DIGIT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = DECORATED_DIGIT.get_or_init(|| {
        regex::Regex::new(r"\\(mat|vec|mathbf|bm|boldsymbol)\s*\{\s*([A-Za-z])\s*\}([0-9])")
            .expect("valid")
    });
    // (Each pattern is searched for only when text it needs occurs: a `}` right before a
    // digit, a backslash right before a font command's name.)
    let src: std::borrow::Cow<'_, str> = if src
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'}' && w[1].is_ascii_digit())
    {
        re.replace_all(&src, "${2}_${3}")
    } else {
        std::borrow::Cow::Borrowed(&src)
    };
    // `\operatorname{diag}`, `\mathrm{d}`: a word in a font command is the word.
    static FONT_WORD: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let font = FONT_WORD.get_or_init(|| {
        regex::Regex::new(r"\\(operatorname|mathrm|text|textrm|mathit)\s*\{\s*([A-Za-z]+)\s*\}")
            .expect("valid")
    });
    let has_font = src.match_indices('\\').any(|(i, _)| {
        let rest = &src[i + 1..];
        ["operatorname", "mathrm", "text", "mathit"]
            .iter()
            .any(|w| rest.starts_with(w))
    });
    let src: std::borrow::Cow<'_, str> = if has_font {
        font.replace_all(&src, " ${2} ")
    } else {
        std::borrow::Cow::Borrowed(&src)
    };
    // `\mathbf{1}`, `\vec{1}`, `𝟙`: the vector of ones.
    static ONES: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let ones = ONES.get_or_init(|| {
        regex::Regex::new(r"\\(mathbf|vec|boldsymbol|mathbb|bm|mathds)\s*\{\s*1\s*\}|𝟙")
            .expect("valid")
    });
    let src = ones.replace_all(&src, " ones ");
    let toks = lex(&src)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        depth: 0,
        closing_norm: false,
    };
    let node = p.expr()?;
    // Unclosed brackets at the end are forgiven; stray closers are not.
    if p.pos < toks.len() {
        return Err(ParseError(format!(
            "unexpected {} after the formula",
            describe(&toks[p.pos])
        )));
    }
    Ok(node)
}

/// Splits a statement at its top-level `=` signs (not inside brackets) into sides.
pub fn sides(src: &str) -> Vec<String> {
    // Unbalanced round brackets (`\lambda(\norm{W}_F = ...`, a class of typo): split at
    // every `=` outside braces instead.
    let opened = src.bytes().filter(|b| matches!(b, b'(' | b'[')).count();
    let closed = src.bytes().filter(|b| matches!(b, b')' | b']')).count();
    sides_at(src, opened == closed)
}

/// The sides of `src` split at `=` outside braces (and outside round brackets with `round`).
fn sides_at(src: &str, round: bool) -> Vec<String> {
    // The characters looked at are ASCII, so the bytes are walked and the text between them
    // copied in slices (a UTF-8 continuation byte is never one of them).
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    // Start of the text not yet copied into `cur`.
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b'(' | b'[' if round => depth += 1,
            b')' | b']' if round => depth -= 1,
            _ => {}
        }
        // `==`, `:=`, `\coloneqq` and `=` all separate; `\neq`, `<=`, `>=` do not occur.
        if c == b'=' && depth <= 0 {
            cur.push_str(&src[from..i]);
            out.push(std::mem::take(&mut cur));
            while bytes.get(i + 1) == Some(&b'=') {
                i += 1;
            }
            from = i + 1;
        } else if c == b':' && bytes.get(i + 1) == Some(&b'=') {
            // `:=` is a definition: the colon is dropped.
            cur.push_str(&src[from..i]);
            from = i + 1;
        }
        i += 1;
    }
    cur.push_str(&src[from..]);
    out.push(cur);
    out
}

/// A token as an error message names it.
fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(v) => format!("`{v}`"),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Func(f) => format!("`{}`", f.name()),
        Tok::RParen | Tok::RBrace => "a closing bracket".into(),
        Tok::Eq => "`=`".into(),
        Tok::Word(w) => format!("the word `{w}`"),
        Tok::Comma => "`,`".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// A recursive-descent parser over tokens, with a depth budget.
struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    depth: usize,
    /// Inside `‖...‖`: the next `‖` closes instead of opening a factor.
    closing_norm: bool,
}

impl Parser<'_> {
    /// The next token.
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    /// The token `k` places ahead.
    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k)
    }
    /// Consumes `t` when it is next.
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    /// One level deeper, or an error past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(ParseError("nested too deeply".into()))
        } else {
            Ok(())
        }
    }

    /// `term (('+' | '-') term)*`.
    fn expr(&mut self) -> Result<Node, ParseError> {
        self.enter()?;
        let mut left = self.term()?;
        loop {
            if self.eat(&Tok::Plus) {
                let right = self.term()?;
                left = Node::Add(Box::new(left), Box::new(right));
            } else if self.eat(&Tok::Minus) {
                let right = self.term()?;
                left = Node::Sub(Box::new(left), Box::new(right));
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(left)
    }

    /// Whether the next token starts a factor of an implicit product.
    fn starts_factor(&self) -> bool {
        matches!(
            self.peek(),
            Some(
                Tok::Num(_)
                    | Tok::Ident(_)
                    | Tok::Func(_)
                    | Tok::Frac
                    | Tok::Sum
                    | Tok::Nabla
                    | Tok::Partial
                    | Tok::LParen
                    | Tok::LBrace
                    | Tok::NormCmd
            )
        ) || (self.peek() == Some(&Tok::Norm) && !self.closing_norm)
    }

    /// Factors joined by juxtaposition, `*`, `\cdot`, `\odot` or `/`, left to right.
    fn term(&mut self) -> Result<Node, ParseError> {
        self.enter()?;
        let mut left = self.unary()?;
        loop {
            let kind = match self.peek() {
                Some(Tok::Star) => {
                    self.pos += 1;
                    Some(MulKind::Product)
                }
                Some(Tok::Odot) => {
                    self.pos += 1;
                    Some(MulKind::Hadamard)
                }
                Some(Tok::Slash) => {
                    self.pos += 1;
                    let right = self.unary()?;
                    left = Node::Div(Box::new(left), Box::new(right));
                    continue;
                }
                _ if self.starts_factor() => Some(MulKind::Product),
                _ => None,
            };
            let Some(kind) = kind else { break };
            let right = self.unary()?;
            left = Node::Mul(Box::new(left), Box::new(right), kind);
        }
        self.depth -= 1;
        Ok(left)
    }

    /// A signed factor.
    fn unary(&mut self) -> Result<Node, ParseError> {
        self.enter()?;
        let out = if self.eat(&Tok::Minus) {
            Node::Neg(Box::new(self.unary()?))
        } else if self.eat(&Tok::Plus) {
            self.unary()?
        } else {
            self.postfix()?
        };
        self.depth -= 1;
        Ok(out)
    }

    /// A superscript: `T`, `\top`, `(i)`, a power, or several of them in one group.
    fn superscript(&mut self, base: Node) -> Result<Node, ParseError> {
        let group: Vec<Tok> = if self.eat(&Tok::LBrace) {
            self.brace_rest()
        } else if self.peek() == Some(&Tok::LParen)
            && matches!(self.peek_at(1), Some(Tok::Ident(_)))
            && self.peek_at(2) == Some(&Tok::RParen)
        {
            let g = self.toks[self.pos..self.pos + 3].to_vec();
            self.pos += 3;
            g
        } else if self.eat(&Tok::Minus) {
            match self.peek().cloned() {
                Some(Tok::Num(v)) => {
                    self.pos += 1;
                    vec![Tok::Minus, Tok::Num(v)]
                }
                _ => return Err(ParseError("a superscript `-` without a number".into())),
            }
        } else {
            match self.peek().cloned() {
                Some(t) => {
                    self.pos += 1;
                    vec![t]
                }
                None => return Err(ParseError("a `^` at the end".into())),
            }
        };
        let mut node = base;
        let mut rest = Vec::new();
        let mut k = 0;
        while k < group.len() {
            match (&group[k], group.get(k + 1), group.get(k + 2)) {
                (Tok::LParen, Some(Tok::Ident(_)), Some(Tok::RParen)) => {
                    node = mark_sample(node);
                    k += 3;
                }
                (Tok::Top, _, _) => {
                    node = Node::Transpose(Box::new(node));
                    k += 1;
                }
                (Tok::Ident(s), _, _) if (s == "T" || s == "t") && group.len() - k == 1 => {
                    node = Node::Transpose(Box::new(node));
                    k += 1;
                }
                (Tok::Ident(s), _, _) if s == "T" || s == "t" => {
                    node = Node::Transpose(Box::new(node));
                    k += 1;
                }
                (Tok::Prime, _, _) => {
                    node = Node::Transpose(Box::new(node));
                    k += 1;
                }
                (t, _, _) => {
                    rest.push(t.clone());
                    k += 1;
                }
            }
        }
        if !rest.is_empty() {
            let mut p = Parser {
                toks: &rest,
                pos: 0,
                depth: self.depth,
                closing_norm: false,
            };
            let power = p.expr()?;
            if p.pos < rest.len() {
                return Err(ParseError("a superscript that is not read".into()));
            }
            node = Node::Pow(Box::new(node), Box::new(power));
        }
        Ok(node)
    }

    /// A subscript's tokens (one token or a braced group).
    fn subscript(&mut self) -> Vec<Tok> {
        if self.eat(&Tok::LBrace) {
            self.brace_rest()
        } else {
            match self.peek().cloned() {
                Some(t) => {
                    self.pos += 1;
                    vec![t]
                }
                None => Vec::new(),
            }
        }
    }

    /// A primary with its superscripts, subscripts, primes and sample index.
    fn postfix(&mut self) -> Result<Node, ParseError> {
        let mut node = self.primary()?;
        loop {
            match self.peek() {
                Some(Tok::Caret) => {
                    self.pos += 1;
                    node = self.superscript(node)?;
                }
                Some(Tok::Under) => {
                    self.pos += 1;
                    let sub = self.subscript();
                    node = subscripted(node, &sub)?;
                }
                Some(Tok::Prime) => {
                    self.pos += 1;
                    node = Node::Transpose(Box::new(node));
                }
                // `x(i)`: a sample index in brackets right after a name.
                Some(Tok::LParen)
                    if matches!(node, Node::Sym { .. })
                        && matches!(self.peek_at(1), Some(Tok::Ident(s)) if matches!(s.as_str(), "i" | "n" | "j"))
                        && self.peek_at(2) == Some(&Tok::RParen) =>
                {
                    self.pos += 3;
                    node = mark_sample(node);
                }
                _ => break,
            }
        }
        Ok(node)
    }

    /// A bracketed group's content, closing brackets forgiven at the very end.
    fn group(&mut self, closer: &Tok) -> Result<Node, ParseError> {
        let saved = self.closing_norm;
        self.closing_norm = false;
        let inner = self.expr_or_tuple()?;
        self.closing_norm = saved;
        if !self.eat(closer) && self.peek().is_some() {
            // `{(...}` or a mismatched pair: accept either closer.
            if !(self.eat(&Tok::RParen) || self.eat(&Tok::RBrace)) {
                return Err(ParseError(format!(
                    "expected a closing bracket, found {}",
                    describe(self.peek().expect("some"))
                )));
            }
        }
        Ok(inner)
    }

    /// An expression, or a comma-separated list (a function's arguments).
    fn expr_or_tuple(&mut self) -> Result<Node, ParseError> {
        let first = self.expr()?;
        if self.peek() != Some(&Tok::Comma) {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat(&Tok::Comma) {
            items.push(self.expr()?);
            if items.len() > 8 {
                return Err(ParseError("too many arguments".into()));
            }
        }
        Ok(Node::Tuple(items))
    }

    /// A function's argument: `(...)`, `{...}`, `{(...)}`; None when none follows.
    fn argument(&mut self) -> Result<Option<Node>, ParseError> {
        if self.eat(&Tok::LParen) {
            return Ok(Some(self.group(&Tok::RParen)?));
        }
        if self.eat(&Tok::LBrace) {
            return Ok(Some(self.group(&Tok::RBrace)?));
        }
        Ok(None)
    }

    /// A number, name, bracketed group, function, fraction, sum, gradient or norm.
    fn primary(&mut self) -> Result<Node, ParseError> {
        self.enter()?;
        let Some(tok) = self.peek().cloned() else {
            return Err(ParseError("the formula ends too early".into()));
        };
        self.pos += 1;
        let out = match tok {
            Tok::Num(v) => Node::Num(v),
            Tok::Ident(name) => {
                // `d a / d b` and `\partial a / \partial b` written inline.
                if name == "d" {
                    if let Some(d) = self.inline_derivative()? {
                        self.depth -= 1;
                        return Ok(d);
                    }
                }
                Node::Sym {
                    name,
                    sample: false,
                }
            }
            Tok::Partial => match self.inline_derivative()? {
                Some(d) => d,
                None => return Err(ParseError("a `∂` that is not a derivative".into())),
            },
            Tok::LParen => self.group(&Tok::RParen)?,
            Tok::LBrace => self.group(&Tok::RBrace)?,
            Tok::Func(func) => {
                let mut derivative = false;
                let mut transposed = false;
                loop {
                    if self.eat(&Tok::Prime) {
                        derivative = true;
                    } else if self.peek() == Some(&Tok::Caret) {
                        // \phi^{T}(...), \varphi^{'}(...), \sigma^{\prime}
                        match self.peek_at(1) {
                            Some(Tok::Prime) => {
                                self.pos += 2;
                                derivative = true;
                            }
                            Some(Tok::Top) => {
                                self.pos += 2;
                                transposed = true;
                            }
                            Some(Tok::Ident(s)) if s == "T" || s == "t" => {
                                self.pos += 2;
                                transposed = true;
                            }
                            Some(Tok::LBrace)
                                if matches!(
                                    (self.peek_at(2), self.peek_at(3)),
                                    (Some(Tok::Prime), Some(Tok::RBrace))
                                ) =>
                            {
                                self.pos += 4;
                                derivative = true;
                            }
                            Some(Tok::LBrace)
                                if matches!(
                                    (self.peek_at(2), self.peek_at(3)),
                                    (Some(Tok::Top), Some(Tok::RBrace))
                                ) || matches!(
                                    (self.peek_at(2), self.peek_at(3)),
                                    (Some(Tok::Ident(_)), Some(Tok::RBrace))
                                ) && matches!(self.peek_at(2), Some(Tok::Ident(s)) if s == "T" || s == "t") =>
                            {
                                self.pos += 4;
                                transposed = true;
                            }
                            _ => break,
                        }
                    } else {
                        break;
                    }
                }
                let arg = match self.argument()? {
                    Some(a) => Some(Box::new(a)),
                    None if func.is_activation() => None,
                    None => Some(Box::new(self.postfix()?)),
                };
                let call = Node::Call {
                    func,
                    derivative,
                    arg,
                };
                if transposed {
                    Node::Transpose(Box::new(call))
                } else {
                    call
                }
            }
            Tok::Frac => {
                let num = self.frac_part()?;
                let den = self.frac_part()?;
                match (derivative_operand(&num), derivative_operand(&den)) {
                    (Some(of), Some(wrt)) => {
                        let mut p = Parser {
                            toks: &of,
                            pos: 0,
                            depth: self.depth,
                            closing_norm: false,
                        };
                        let of = p.operand()?;
                        let mut q = Parser {
                            toks: &wrt,
                            pos: 0,
                            depth: self.depth,
                            closing_norm: false,
                        };
                        let wrt = q.operand()?;
                        Node::Deriv {
                            of: Box::new(of),
                            wrt: Box::new(wrt),
                        }
                    }
                    _ => {
                        let n = self.sub_parse(&num)?;
                        let d = self.sub_parse(&den)?;
                        Node::Div(Box::new(n), Box::new(d))
                    }
                }
            }
            Tok::Sum => {
                // Bounds: _{i=1}^{N}, _i, {i=1}^m (a typo for _{...}), ^N.
                loop {
                    if self.eat(&Tok::Caret) {
                        let upper = self.subscript();
                        if matches!(upper.as_slice(), [Tok::Num(_)]) {
                            return Err(ParseError(
                                "the sum runs to a number, not to the sample count".into(),
                            ));
                        }
                    } else if self.eat(&Tok::Under) {
                        let _ = self.subscript();
                    } else if self.peek() == Some(&Tok::LBrace) && self.brace_has_eq() {
                        self.pos += 1;
                        let _ = self.subscript_rest();
                    } else {
                        break;
                    }
                }
                Node::Sum(Box::new(self.term()?))
            }
            Tok::Nabla => {
                let wrt = if self.eat(&Tok::Under) {
                    let sub = self.subscript();
                    self.sub_parse(&sub)?
                } else {
                    Node::Sym {
                        name: String::new(),
                        sample: false,
                    }
                };
                let body = if self.peek() == Some(&Tok::LBrace) {
                    self.pos += 1;
                    self.group(&Tok::RBrace)?
                } else {
                    self.postfix()?
                };
                match body {
                    Node::Call { func, arg, .. } if func.is_activation() => Node::Call {
                        func,
                        derivative: true,
                        arg,
                    },
                    Node::Transpose(inner) if matches!(inner.as_ref(), Node::Call { func, .. } if func.is_activation()) => {
                        match *inner {
                            Node::Call { func, arg, .. } => Node::Transpose(Box::new(Node::Call {
                                func,
                                derivative: true,
                                arg,
                            })),
                            other => other,
                        }
                    }
                    Node::Sym { .. } => Node::Deriv {
                        of: Box::new(body),
                        wrt: Box::new(wrt),
                    },
                    other => Node::Grad {
                        wrt: Box::new(wrt),
                        body: Box::new(other),
                    },
                }
            }
            Tok::Norm => {
                let saved = self.closing_norm;
                self.closing_norm = true;
                let inner = self.expr()?;
                self.closing_norm = saved;
                if !self.eat(&Tok::Norm) {
                    return Err(ParseError("an unclosed norm".into()));
                }
                self.norm_suffix(inner)?
            }
            Tok::Bar => {
                // |S|, |\mathcal{S}|: the size of the sample set, a name of its own.
                let inner = self.expr()?;
                if !self.eat(&Tok::Bar) {
                    return Err(ParseError("an unclosed `|`".into()));
                }
                match inner {
                    Node::Sym { name, .. } => Node::Sym {
                        name: format!("|{name}|"),
                        sample: false,
                    },
                    _ => return Err(ParseError("an absolute value is not read".into())),
                }
            }
            Tok::NormCmd => {
                let Some(inner) = self.argument()? else {
                    return Err(ParseError("`\\norm` without an argument".into()));
                };
                self.norm_suffix(inner)?
            }
            other => {
                return Err(ParseError(format!("unexpected {}", describe(&other))));
            }
        };
        self.depth -= 1;
        Ok(out)
    }

    /// `_F`, `_2` after a norm are dropped (Frobenius is the only norm of a matrix here).
    fn norm_suffix(&mut self, inner: Node) -> Result<Node, ParseError> {
        if self.peek() == Some(&Tok::Under) {
            self.pos += 1;
            let _ = self.subscript();
        }
        Ok(Node::Norm(Box::new(inner)))
    }

    /// Whether the brace group ahead holds `=` (the bounds of `\sum{i=1}`).
    fn brace_has_eq(&self) -> bool {
        let mut k = self.pos + 1;
        while let Some(t) = self.toks.get(k) {
            match t {
                Tok::Eq => return true,
                Tok::RBrace => return false,
                _ => k += 1,
            }
        }
        false
    }

    /// The tokens up to the closing brace (consumed).
    fn subscript_rest(&mut self) -> Vec<Tok> {
        let start = self.pos;
        while let Some(t) = self.peek() {
            if *t == Tok::RBrace {
                break;
            }
            self.pos += 1;
        }
        let g = self.toks[start..self.pos].to_vec();
        self.eat(&Tok::RBrace);
        g
    }

    /// One argument of `\frac`: a braced group or a single token.
    fn frac_part(&mut self) -> Result<Vec<Tok>, ParseError> {
        if self.peek() == Some(&Tok::LBrace) {
            self.pos += 1;
            Ok(self.brace_rest())
        } else {
            match self.peek().cloned() {
                Some(t) => {
                    self.pos += 1;
                    Ok(vec![t])
                }
                None => Err(ParseError("`\\frac` without its parts".into())),
            }
        }
    }

    /// The tokens up to the matching closing brace (consumed).
    fn brace_rest(&mut self) -> Vec<Tok> {
        let start = self.pos;
        let mut depth = 1;
        while let Some(t) = self.peek() {
            match t {
                Tok::LBrace => depth += 1,
                Tok::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        let g = self.toks[start..self.pos].to_vec();
        self.eat(&Tok::RBrace);
        g
    }

    /// A whole token list as one expression.
    fn sub_parse(&self, toks: &[Tok]) -> Result<Node, ParseError> {
        let mut p = Parser {
            toks,
            pos: 0,
            depth: self.depth,
            closing_norm: false,
        };
        let n = p.expr()?;
        if p.pos < toks.len() {
            return Err(ParseError(format!(
                "unexpected {} in a fraction",
                describe(&toks[p.pos])
            )));
        }
        Ok(n)
    }

    /// What a derivative is of, or with respect to: the whole rest of the tokens as one
    /// expression.
    fn operand(&mut self) -> Result<Node, ParseError> {
        let n = self.expr_or_tuple()?;
        if self.pos < self.toks.len() {
            return Err(ParseError("a derivative's operand is not read".into()));
        }
        Ok(n)
    }

    /// After `d` or `∂`: `a / d b` (inline) when it follows; the cursor is just past the `d`.
    fn inline_derivative(&mut self) -> Result<Option<Node>, ParseError> {
        let save = self.pos;
        let Ok(of) = self.postfix() else {
            self.pos = save;
            return Ok(None);
        };
        if !self.eat(&Tok::Slash) {
            self.pos = save;
            return Ok(None);
        }
        let is_d = matches!(self.peek(), Some(Tok::Ident(s)) if s == "d")
            || self.peek() == Some(&Tok::Partial);
        if !is_d {
            self.pos = save;
            return Ok(None);
        }
        self.pos += 1;
        let wrt = self.postfix()?;
        Ok(Some(Node::Deriv {
            of: Box::new(of),
            wrt: Box::new(wrt),
        }))
    }
}

/// The tokens after a leading `d` or `∂` (`d\ell` -> `\ell`); None when they do not start so.
fn derivative_operand(toks: &[Tok]) -> Option<Vec<Tok>> {
    match toks.first() {
        Some(Tok::Partial) if toks.len() > 1 => Some(toks[1..].to_vec()),
        Some(Tok::Ident(s)) if s == "d" && toks.len() > 1 => Some(toks[1..].to_vec()),
        _ => None,
    }
}

/// `node` with a sample index (`x` -> `x^{(i)}`).
fn mark_sample(node: Node) -> Node {
    match node {
        Node::Sym { name, .. } => Node::Sym { name, sample: true },
        Node::Transpose(inner) => Node::Transpose(Box::new(mark_sample(*inner))),
        other => other,
    }
}

/// `W_1` -> `W1`, `L_{S}` -> `LS`, `x_i` -> `x` with a sample index; a subscript on anything
/// else is dropped when it is a sample index and an error otherwise.
fn subscripted(node: Node, sub: &[Tok]) -> Result<Node, ParseError> {
    let text: Option<String> = sub
        .iter()
        .filter(|t| !matches!(t, Tok::LBrace | Tok::RBrace))
        .map(|t| match t {
            Tok::Num(v) if v.fract() == 0.0 && *v >= 0.0 && *v < 1e6 => Some(format!("{v}")),
            Tok::Ident(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let sample_letter = |s: &str| matches!(s, "i" | "n" | "j" | "k");
    match (node, text) {
        (Node::Sym { name, .. }, Some(t)) if sample_letter(&t) => {
            Ok(Node::Sym { name, sample: true })
        }
        (Node::Sym { name, sample }, Some(t)) => Ok(Node::Sym {
            name: format!("{name}{t}"),
            sample,
        }),
        (Node::Transpose(inner), Some(t)) => Ok(Node::Transpose(Box::new(subscripted(
            *inner,
            &[Tok::Ident(t)],
        )?))),
        (other, Some(t)) if sample_letter(&t) => Ok(mark_sample(other)),
        (
            Node::Call {
                func,
                derivative,
                arg,
            },
            Some(_),
        ) => {
            // \varphi_1(z): layer-numbered activation, the same function.
            Ok(Node::Call {
                func,
                derivative,
                arg,
            })
        }
        (_, _) => Err(ParseError("a subscript that is not read".into())),
    }
}

/// A canonical text of a node, for matching a student's definition to its uses: sample
/// marks and a function's arguments (`\ell(y, \hat y)`) are left out.
pub fn key(node: &Node) -> String {
    let mut out = String::new();
    write_key(node, &mut out);
    out
}

/// Appends [`key`]`(node)` to `out` (one buffer for the whole tree instead of a string per
/// node).
pub fn write_key(node: &Node, out: &mut String) {
    use std::fmt::Write as _;
    let wrap = |out: &mut String, a: &Node, op: &str, b: &Node| {
        out.push('(');
        write_key(a, out);
        out.push_str(op);
        write_key(b, out);
        out.push(')');
    };
    match node {
        Node::Num(v) => {
            let _ = write!(out, "{v}");
        }
        Node::Sym { name, .. } => out.push_str(name),
        Node::Neg(a) => {
            out.push('-');
            write_key(a, out);
        }
        Node::Add(a, b) => wrap(out, a, "+", b),
        Node::Sub(a, b) => wrap(out, a, "-", b),
        Node::Mul(a, b, _) => match (a.as_ref(), b.as_ref()) {
            (Node::Sym { .. }, Node::Tuple(_)) => write_key(a, out),
            _ => wrap(out, a, " ", b),
        },
        Node::Div(a, b) => wrap(out, a, "/", b),
        Node::Pow(a, b) => {
            write_key(a, out);
            out.push('^');
            write_key(b, out);
        }
        Node::Transpose(a) => {
            write_key(a, out);
            out.push_str("^T");
        }
        Node::Call {
            func,
            derivative,
            arg,
        } => {
            out.push_str(func.name());
            if *derivative {
                out.push('\'');
            }
            if let Some(a) = arg {
                out.push('(');
                write_key(a, out);
                out.push(')');
            }
        }
        Node::Deriv { of, wrt } => {
            out.push('d');
            write_key(of, out);
            out.push_str("/d");
            write_key(wrt, out);
        }
        Node::Grad { wrt, body } => {
            out.push_str("grad_");
            write_key(wrt, out);
            out.push('(');
            write_key(body, out);
            out.push(')');
        }
        Node::Sum(a) => {
            out.push_str("sum(");
            write_key(a, out);
            out.push(')');
        }
        Node::Norm(a) => {
            out.push('|');
            write_key(a, out);
            out.push('|');
        }
        Node::Tuple(items) => {
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_key(item, out);
            }
        }
    }
}

impl Node {
    /// Binding strength when printed: sums 1, products 2, signs 3, powers and transposes 4,
    /// everything else 5.
    fn precedence(&self) -> u8 {
        match self {
            Node::Add(..) | Node::Sub(..) => 1,
            Node::Mul(..) | Node::Div(..) | Node::Sum(_) => 2,
            Node::Neg(_) => 3,
            Node::Pow(..) | Node::Transpose(_) => 4,
            _ => 5,
        }
    }
}

/// `node`, bracketed when it binds less tightly than `min`.
struct Bracketed<'a>(&'a Node, u8);

impl fmt::Display for Bracketed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.precedence() < self.1 {
            write!(f, "({})", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Plain text with as few brackets as the precedence needs: `1/N Σᵢ δ⁽ⁱ⁾ hᵀ + λ W2`.
impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Children are written straight into `f` (no string per child).
        fn b(n: &Node, min: u8) -> Bracketed<'_> {
            Bracketed(n, min)
        }
        match self {
            Node::Num(v) => write!(f, "{v}"),
            Node::Sym { name, sample } => {
                write!(f, "{name}{}", if *sample { "⁽ⁱ⁾" } else { "" })
            }
            Node::Neg(a) => write!(f, "-{}", b(a, 3)),
            Node::Add(x, y) => write!(f, "{} + {}", b(x, 1), b(y, 2)),
            Node::Sub(x, y) => write!(f, "{} - {}", b(x, 1), b(y, 2)),
            Node::Mul(x, y, MulKind::Product) => write!(f, "{} {}", b(x, 2), b(y, 3)),
            Node::Mul(x, y, MulKind::Hadamard) => write!(f, "{} ⊙ {}", b(x, 2), b(y, 3)),
            Node::Div(x, y) => write!(f, "{}/{}", b(x, 3), b(y, 4)),
            Node::Pow(x, y) => write!(f, "{}^{}", b(x, 5), b(y, 5)),
            Node::Transpose(a) => write!(f, "{}ᵀ", b(a, 5)),
            Node::Call {
                func,
                derivative,
                arg,
            } => {
                write!(f, "{}{}", func.name(), if *derivative { "'" } else { "" })?;
                match arg {
                    Some(a) => write!(f, "({a})"),
                    None => Ok(()),
                }
            }
            Node::Deriv { of, wrt } => write!(f, "∂{}/∂{}", b(of, 5), b(wrt, 5)),
            Node::Grad { wrt, body } => write!(f, "∇_{}({body})", b(wrt, 5)),
            Node::Sum(a) => write!(f, "Σᵢ {}", b(a, 2)),
            Node::Norm(a) => write!(f, "‖{a}‖"),
            Node::Tuple(items) => {
                f.write_str("(")?;
                for (k, n) in items.iter().enumerate() {
                    if k > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}")?;
                }
                f.write_str(")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> String {
        key(&parse(s).unwrap_or_else(|e| panic!("{s}: {e}")))
    }

    #[test]
    fn reads_the_common_spellings() {
        assert_eq!(k(r"\mat{W}_2"), "W2");
        assert_eq!(k(r"\mat{W}2"), "W2");
        assert_eq!(k("W2"), "W2");
        assert_eq!(k(r"\hat{y}^{(i)}"), "yhat");
        assert_eq!(
            k(r"\frac{\partial L_{\mathcal{S}}}{\partial \mat{W}_1}"),
            "dLS/dW1"
        );
        assert_eq!(k("dL/dW1"), "dL/dW1");
        assert_eq!(k(r"\frac{d\ell}{d\hat y}"), "dell/dyhat");
        assert_eq!(
            k(r"\frac{\partial \ell(y^{(i)}, \hat{y}^{(i)})}{\partial \hat{y}^{(i)}}"),
            "dell/dyhat"
        );
        assert_eq!(k(r"\nabla_{W_1}{L_s}"), "dLs/dW1");
        assert_eq!(k("∂L/∂W₂"), "dL/dW2");
        assert_eq!(k(r"\varphi'(z)"), "phi'(z)");
        assert_eq!(k(r"x^{(i)T}"), "x^T");
    }

    #[test]
    fn parses_a_whole_gradient() {
        let n = parse(
            r"\frac{1}{N}\sum_{i=1}^{N}\left(\mat{W}_2^\top \delta^{(i)} \odot \varphi'(\vec z^{(i)})\right)\vec{x}^{(i)\top} + \lambda \mat{W}_1",
        )
        .unwrap();
        assert!(matches!(n, Node::Add(..)), "{n}");
        // An unclosed bracket at the end is forgiven.
        assert!(parse(r"\lambda(\norm{\mat{W}_1}_F").is_ok());
        assert!(parse(r"\frac{1}{N} * \sum_{n=1}^{N}(\frac{a}{b} *W_2*\varphi'").is_ok());
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        for s in [
            "",
            "(((((",
            "\\frac",
            "^",
            "_",
            "\\sum",
            "‖",
            "a = = b",
            "\\hat",
            "\\hat{",
            "x^{(i",
            "\\nabla_",
            "d/d",
            "∂",
            "{}",
            "\\frac{d}{d}",
            "φ'^'^",
            "1/",
            "--",
        ] {
            let _ = parse(s);
        }
        let deep = "(".repeat(10_000);
        assert!(parse(&deep).is_err());
        let long = "x+".repeat(5_000);
        assert!(parse(&long).is_err());
        // Random strings of the pieces formulas are made of: an error or a tree, never a panic.
        let pieces = [
            "\\frac",
            "{",
            "}",
            "(",
            ")",
            "^",
            "_",
            "\\sum",
            "'",
            "\\partial",
            "d",
            "W_1",
            "x",
            "=",
            "+",
            "-",
            "\\odot",
            "\\varphi",
            "|",
            "‖",
            "\\nabla",
            "^{(i)}",
            "1",
            "\\mathbf{1}",
            ".T",
            ",",
            "\\hat",
            "ᵀ",
            "⁽",
            "\\left(",
            "\\right)",
            "/",
        ];
        let mut rng = crate::answer::gradient_key::SplitMix::new(11);
        for _ in 0..3000 {
            let n = (rng.next_u64() % 24) as usize;
            let s: String = (0..n)
                .map(|_| pieces[(rng.next_u64() % pieces.len() as u64) as usize])
                .collect();
            let _ = parse(&s);
            let _ = sides(&s);
        }
    }
}
