//! Formulas in a student's answer: our own small parser and evaluator.
//!
//! Expression questions ("write `q` in terms of `p1` and `p2`") are graded by evaluating the
//! student's formula at sampled points against the reference, so the formula has to be parsed
//! the way students write it: `1-(1-p_1)(1-p_2)`, `p1 + p2 - p1*p2`, `p_1+p_2∙(1-p_1)`,
//! `\frac{1}{1-p}`, `1 - ((1-P1)*(1-P2))`. Input goes through
//! [`normalize_math`] first, so LaTeX and Unicode operators
//! are already plain.
//!
//! # Grammar
//!
//! ```text
//! sum     = product (("+" | "-") product)*
//! product = unary (("*" | "/") unary | implicit)*      implicit: 2p, (1-p)(1-q), p_1 p_2, 2(1-p)
//! unary   = ("-" | "+") unary | power
//! power   = primary (("^" | "**") unary)?               right-associative: 2^-1, a^b^c
//! primary = number | variable | "pi" | function ( "(" sum ")" | power ) | ( "(" | "[" | "{" ) sum closer
//! ```
//!
//! Numbers: `112`, `0.28`, `.5`, `1e-5`. A `x` between two numbers (`112x112`) is
//! multiplication. Variables: a letter run with optional digits and an optional subscript:
//! `p`, `p1`, `P1`, `p_1`, `p_{1}`, `keep_prob`, `V_{in}`; [`canonical_var`] folds them
//! (`p_1`, `p_{1}`, `P1` -> `p1`) and [`Expr`] stores canonical names. `p1p2` is two
//! variables (`p1`, `p2`); a run of letters without digits (`xy`) is one variable. Functions:
//! `exp log ln sqrt sin cos tan tanh sigmoid abs` (`log` is the natural logarithm). `pi` (and
//! `π`, `\pi`) is π. `e` is a variable that evaluates to Euler's number unless the caller
//! gives it a value.
//!
//! Limits: at most [`MAX_EXPR_CHARS`] characters, [`MAX_DEPTH`] levels of nesting (brackets,
//! signs, exponents, function applications) and a syntax tree at most 256 nodes tall; beyond
//! that the parser returns [`ExprError::TooLong`] or [`ExprError::TooDeep`] instead of
//! overflowing the stack.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::normalize::normalize_math;
use super::Span;

/// Longest expression [`parse_expr`] accepts, in characters.
pub const MAX_EXPR_CHARS: usize = 4096;

/// Deepest nesting [`parse_expr`] accepts (brackets, signs, exponents, function calls).
pub const MAX_DEPTH: usize = 64;

/// Tallest syntax tree (so evaluating, printing and dropping it stay shallow).
const MAX_HEIGHT: usize = 256;

/// Longest run of tokens [`find_expressions`] searches for a parseable sub-range.
const MAX_SHRINK_TOKENS: usize = 128;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`, `·`, `\cdot`, or implicit (`2p`).
    Mul,
    /// `/`, `\frac`.
    Div,
    /// `^` or `**`.
    Pow,
}

/// A function of one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    /// `exp`
    Exp,
    /// `log`, `ln` (natural logarithm)
    Log,
    /// `sqrt`
    Sqrt,
    /// `sin`
    Sin,
    /// `cos`
    Cos,
    /// `tan`
    Tan,
    /// `tanh`
    Tanh,
    /// `sigmoid`: 1 / (1 + e^-x)
    Sigmoid,
    /// `abs`
    Abs,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name.to_ascii_lowercase().as_str() {
            "exp" => Func::Exp,
            "log" | "ln" => Func::Log,
            "sqrt" => Func::Sqrt,
            "sin" => Func::Sin,
            "cos" => Func::Cos,
            "tan" => Func::Tan,
            "tanh" => Func::Tanh,
            "sigmoid" => Func::Sigmoid,
            "abs" => Func::Abs,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Sqrt => "sqrt",
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Tan => "tan",
            Func::Tanh => "tanh",
            Func::Sigmoid => "sigmoid",
            Func::Abs => "abs",
        }
    }

    fn apply(self, x: f64) -> f64 {
        match self {
            Func::Exp => x.exp(),
            Func::Log => x.ln(),
            Func::Sqrt => x.sqrt(),
            Func::Sin => x.sin(),
            Func::Cos => x.cos(),
            Func::Tan => x.tan(),
            Func::Tanh => x.tanh(),
            Func::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Func::Abs => x.abs(),
        }
    }
}

/// A parsed expression. Variable names are canonical (see [`canonical_var`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expr {
    /// A number.
    Num {
        /// Its value.
        value: f64,
    },
    /// A variable, by canonical name (`p1`).
    Var {
        /// Canonical name.
        name: String,
    },
    /// π.
    Pi,
    /// `-x`.
    Neg {
        /// The negated expression.
        arg: Box<Expr>,
    },
    /// `a op b`.
    Bin {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `f(x)`.
    Call {
        /// The function.
        func: Func,
        /// Its argument.
        arg: Box<Expr>,
    },
}

/// Why text is not an expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExprError {
    /// Nothing to parse.
    #[error("no expression")]
    Empty,
    /// Longer than [`MAX_EXPR_CHARS`].
    #[error("expression too long: more than {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Nested deeper than [`MAX_DEPTH`], or a syntax tree too tall.
    #[error("expression nested too deeply (at most {max} levels)")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Something that cannot appear where it does.
    #[error("unexpected `{found}` at byte {pos} of the normalised text")]
    Unexpected {
        /// The offending text.
        found: String,
        /// Where it is in the normalised text.
        pos: usize,
    },
    /// The text stops in the middle of an expression (`1 -`).
    #[error("expression ends early")]
    UnexpectedEnd,
    /// A bracket that is never closed.
    #[error("bracket opened at byte {pos} is never closed")]
    Unclosed {
        /// Where the bracket is in the normalised text.
        pos: usize,
    },
}

/// Why an expression has no value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EvalError {
    /// The caller gave no value for this (canonical) variable.
    #[error("no value for variable `{name}`")]
    UnknownVariable {
        /// Canonical name.
        name: String,
    },
    /// `x / 0`.
    #[error("division by zero")]
    DivisionByZero,
    /// An infinite or NaN intermediate result (`log(-1)`, `sqrt(-1)`, overflow).
    #[error("result is not a finite number")]
    NotFinite,
}

/// The canonical form of a variable name: lower case, without `_`, `{`, `}` and spaces, so
/// `p_1`, `p_{1}`, `p1` and `P1` are all `p1`.
pub fn canonical_var(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '{' | '}' | ' ' | '\\'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Expr {
    /// The value of the expression; `vars` gives each variable's value by canonical name.
    /// A variable `e` that `vars` does not know is Euler's number.
    ///
    /// ```
    /// use examiner::answer::parse_expr;
    /// let q = parse_expr("p_1+p_2∙(1-p_1)").unwrap();
    /// let v = q.eval(&|name: &str| match name { "p1" => Some(0.1), "p2" => Some(0.2), _ => None }).unwrap();
    /// assert!((v - 0.28).abs() < 1e-12);
    /// ```
    pub fn eval(&self, vars: &dyn Fn(&str) -> Option<f64>) -> Result<f64, EvalError> {
        let v = match self {
            Expr::Num { value } => *value,
            Expr::Pi => std::f64::consts::PI,
            Expr::Var { name } => match vars(name) {
                Some(v) => v,
                None if name == "e" => std::f64::consts::E,
                None => return Err(EvalError::UnknownVariable { name: name.clone() }),
            },
            Expr::Neg { arg } => -arg.eval(vars)?,
            Expr::Call { func, arg } => func.apply(arg.eval(vars)?),
            Expr::Bin { op, lhs, rhs } => {
                let a = lhs.eval(vars)?;
                let b = rhs.eval(vars)?;
                match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div => {
                        if b == 0.0 {
                            return Err(EvalError::DivisionByZero);
                        }
                        a / b
                    }
                    BinOp::Pow => a.powf(b),
                }
            }
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err(EvalError::NotFinite)
        }
    }

    /// The canonical names of the variables used (not `pi`).
    pub fn variables(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.collect_vars(&mut out);
        out
    }

    fn collect_vars(&self, out: &mut BTreeSet<String>) {
        match self {
            Expr::Var { name } => {
                out.insert(name.clone());
            }
            Expr::Neg { arg } | Expr::Call { arg, .. } => arg.collect_vars(out),
            Expr::Bin { lhs, rhs, .. } => {
                lhs.collect_vars(out);
                rhs.collect_vars(out);
            }
            Expr::Num { .. } | Expr::Pi => {}
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Expr::Bin { op, .. } => match op {
                BinOp::Add | BinOp::Sub => 1,
                BinOp::Mul | BinOp::Div => 2,
                BinOp::Pow => 4,
            },
            Expr::Neg { .. } => 3,
            _ => 5,
        }
    }
}

impl fmt::Display for Expr {
    /// Plain notation with the fewest parentheses: `1 - (1 - p1) * (1 - p2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn wrap(f: &mut fmt::Formatter<'_>, e: &Expr, paren: bool) -> fmt::Result {
            if paren {
                write!(f, "({e})")
            } else {
                write!(f, "{e}")
            }
        }
        match self {
            Expr::Num { value } => write!(f, "{value}"),
            Expr::Var { name } => f.write_str(name),
            Expr::Pi => f.write_str("pi"),
            Expr::Neg { arg } => {
                f.write_str("-")?;
                wrap(f, arg, arg.precedence() < 3)
            }
            Expr::Call { func, arg } => write!(f, "{}({arg})", func.name()),
            Expr::Bin { op, lhs, rhs } => {
                let p = self.precedence();
                let (sym, left_paren, right_paren) = match op {
                    BinOp::Pow => ("^", lhs.precedence() <= p, rhs.precedence() < p),
                    BinOp::Sub | BinOp::Div => (
                        if *op == BinOp::Sub { " - " } else { " / " },
                        lhs.precedence() < p,
                        rhs.precedence() <= p,
                    ),
                    BinOp::Add | BinOp::Mul => (
                        if *op == BinOp::Add { " + " } else { " * " },
                        lhs.precedence() < p,
                        rhs.precedence() < p,
                    ),
                };
                wrap(f, lhs, left_paren)?;
                f.write_str(sym)?;
                wrap(f, rhs, right_paren)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Func(Func),
    Pi,
    Op(char),
    Open,
    Close,
    Eq,
    Newline,
    Other(char),
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    tok: Tok,
    span: Span,
}

fn lex(t: &str) -> Vec<Token> {
    let b = t.as_bytes();
    let n = b.len();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while i < n {
        let c = b[i];
        let start = i;
        let tok = match c {
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'\n' => {
                i += 1;
                Tok::Newline
            }
            b'0'..=b'9' => lex_number(t, &mut i),
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => lex_number(t, &mut i),
            b'x' | b'X'
                if matches!(
                    out.last(),
                    Some(Token {
                        tok: Tok::Num(_) | Tok::Close,
                        ..
                    })
                ) && next_non_space(b, i + 1).is_some_and(|c| c.is_ascii_digit()) =>
            {
                i += 1;
                Tok::Op('*')
            }
            b'a'..=b'z' | b'A'..=b'Z' => lex_word(t, &mut i),
            b'*' => {
                if b.get(i + 1) == Some(&b'*') {
                    i += 2;
                    Tok::Op('^')
                } else {
                    i += 1;
                    Tok::Op('*')
                }
            }
            b'+' | b'-' | b'/' | b'^' => {
                i += 1;
                Tok::Op(c as char)
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                Tok::Open
            }
            b')' | b']' | b'}' => {
                i += 1;
                Tok::Close
            }
            b'=' => {
                i += 1;
                while b.get(i) == Some(&b'=') {
                    i += 1;
                }
                if matches!(
                    out.last(),
                    Some(Token {
                        tok: Tok::Other('!' | '<' | '>'),
                        ..
                    })
                ) {
                    Tok::Other('=')
                } else {
                    Tok::Eq
                }
            }
            _ => {
                let ch = t[i..].chars().next().unwrap_or('\u{FFFD}');
                i += ch.len_utf8().max(1);
                if ch == '≈' {
                    Tok::Eq
                } else {
                    Tok::Other(ch)
                }
            }
        };
        // Keep `i` on a character boundary whatever happened above.
        while i < n && !t.is_char_boundary(i) {
            i += 1;
        }
        out.push(Token {
            tok,
            span: Span::new(start, i),
        });
    }
    out
}

fn next_non_space(b: &[u8], mut i: usize) -> Option<u8> {
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    b.get(i).copied()
}

fn lex_number(t: &str, i: &mut usize) -> Tok {
    let b = t.as_bytes();
    let start = *i;
    while b.get(*i).is_some_and(u8::is_ascii_digit) {
        *i += 1;
    }
    if b.get(*i) == Some(&b'.') && b.get(*i + 1).is_some_and(u8::is_ascii_digit) {
        *i += 1;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
    }
    if matches!(b.get(*i), Some(b'e') | Some(b'E')) {
        let mut k = *i + 1;
        if matches!(b.get(k), Some(b'-') | Some(b'+')) {
            k += 1;
        }
        if b.get(k).is_some_and(u8::is_ascii_digit) {
            while b.get(k).is_some_and(u8::is_ascii_digit) {
                k += 1;
            }
            if !b.get(k).is_some_and(u8::is_ascii_alphabetic) {
                *i = k;
            }
        }
    }
    let text = &t[start..*i];
    let text = if text.starts_with('.') {
        format!("0{text}")
    } else {
        text.to_string()
    };
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Tok::Num(v),
        _ => Tok::Other('#'),
    }
}

/// A letter run, then digits, then an optional subscript (`_1`, `_in`, `_{i-1}`).
fn lex_word(t: &str, i: &mut usize) -> Tok {
    let b = t.as_bytes();
    let start = *i;
    while b.get(*i).is_some_and(u8::is_ascii_alphabetic) {
        *i += 1;
    }
    let letters_end = *i;
    while b.get(*i).is_some_and(u8::is_ascii_digit) {
        *i += 1;
    }
    let plain = *i == letters_end;
    let mut subscripted = false;
    if b.get(*i) == Some(&b'_') {
        let k = *i + 1;
        if b.get(k) == Some(&b'{') {
            if let Some(close) = b[k..].iter().take(34).position(|&c| c == b'}') {
                let inner = &b[k + 1..k + close];
                if !inner.is_empty()
                    && inner
                        .iter()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'_'))
                {
                    *i = k + close + 1;
                    subscripted = true;
                }
            }
        } else if b.get(k).is_some_and(u8::is_ascii_digit) {
            // A numeric subscript is digits only: in `p_1p_2` the `p` after `_1` starts the
            // next factor (an implicit product), it does not extend the subscript.
            let mut e = k;
            while b.get(e).is_some_and(u8::is_ascii_digit) {
                e += 1;
            }
            *i = e;
            subscripted = true;
        } else if b.get(k).is_some_and(u8::is_ascii_alphanumeric) {
            // A word subscript (`V_in`, `keep_prob`, `p_drop_1`) runs to the end of the name.
            let mut e = k;
            while b
                .get(e)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                e += 1;
            }
            *i = e;
            subscripted = true;
        }
    }
    let word = &t[start..*i];
    if plain && !subscripted {
        if word.eq_ignore_ascii_case("pi") {
            return Tok::Pi;
        }
        if let Some(f) = Func::from_name(word) {
            return Tok::Func(f);
        }
    }
    Tok::Ident(word.to_string())
}

// ---------------------------------------------------------------------------------------
// Parser

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    depth: usize,
}

type Parsed = (Expr, usize);

fn node(e: Expr, height: usize) -> Result<Parsed, ExprError> {
    if height > MAX_HEIGHT {
        Err(ExprError::TooDeep { max: MAX_DEPTH })
    } else {
        Ok((e, height))
    }
}

fn bin(op: BinOp, l: Parsed, r: Parsed) -> Result<Parsed, ExprError> {
    let h = 1 + l.1.max(r.1);
    node(
        Expr::Bin {
            op,
            lhs: Box::new(l.0),
            rhs: Box::new(r.0),
        },
        h,
    )
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn unexpected(&self) -> ExprError {
        match self.toks.get(self.pos) {
            Some(t) => ExprError::Unexpected {
                found: match &t.tok {
                    Tok::Num(v) => v.to_string(),
                    Tok::Ident(s) => s.clone(),
                    Tok::Func(f) => f.name().to_string(),
                    Tok::Pi => "pi".into(),
                    Tok::Op(c) | Tok::Other(c) => c.to_string(),
                    Tok::Open => "(".into(),
                    Tok::Close => ")".into(),
                    Tok::Eq => "=".into(),
                    Tok::Newline => "line break".into(),
                },
                pos: t.span.start,
            },
            None => ExprError::UnexpectedEnd,
        }
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(ExprError::TooDeep { max: MAX_DEPTH })
        } else {
            Ok(())
        }
    }

    fn sum(&mut self) -> Result<Parsed, ExprError> {
        let mut left = self.product()?;
        while let Some(Tok::Op(c @ ('+' | '-'))) = self.peek() {
            let op = if *c == '+' { BinOp::Add } else { BinOp::Sub };
            self.pos += 1;
            let right = self.product()?;
            left = bin(op, left, right)?;
        }
        Ok(left)
    }

    fn implicit_follows(&self) -> bool {
        match self.peek() {
            Some(Tok::Ident(_) | Tok::Func(_) | Tok::Pi | Tok::Open) => true,
            // `(1-p)2` but not `2 3`.
            Some(Tok::Num(_)) => matches!(
                self.pos.checked_sub(1).and_then(|k| self.toks.get(k)),
                Some(Token {
                    tok: Tok::Close,
                    ..
                })
            ),
            _ => false,
        }
    }

    fn product(&mut self) -> Result<Parsed, ExprError> {
        let mut left = self.unary()?;
        loop {
            match self.peek() {
                Some(Tok::Op(c @ ('*' | '/'))) => {
                    let op = if *c == '*' { BinOp::Mul } else { BinOp::Div };
                    self.pos += 1;
                    let right = self.unary()?;
                    left = bin(op, left, right)?;
                }
                _ if self.implicit_follows() => {
                    let right = self.power()?;
                    left = bin(BinOp::Mul, left, right)?;
                }
                _ => return Ok(left),
            }
        }
    }

    fn unary(&mut self) -> Result<Parsed, ExprError> {
        match self.peek() {
            Some(Tok::Op(c @ ('-' | '+'))) => {
                let negate = *c == '-';
                self.pos += 1;
                self.enter()?;
                let (inner, h) = self.unary()?;
                self.depth -= 1;
                if negate {
                    node(
                        Expr::Neg {
                            arg: Box::new(inner),
                        },
                        h + 1,
                    )
                } else {
                    Ok((inner, h))
                }
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Result<Parsed, ExprError> {
        let base = self.primary()?;
        if let Some(Tok::Op('^')) = self.peek() {
            self.pos += 1;
            self.enter()?;
            let exponent = self.unary()?;
            self.depth -= 1;
            return bin(BinOp::Pow, base, exponent);
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Parsed, ExprError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(ExprError::UnexpectedEnd);
        };
        match tok {
            Tok::Num(v) => {
                self.pos += 1;
                Ok((Expr::Num { value: v }, 1))
            }
            Tok::Pi => {
                self.pos += 1;
                Ok((Expr::Pi, 1))
            }
            Tok::Ident(name) => {
                self.pos += 1;
                Ok((
                    Expr::Var {
                        name: canonical_var(&name),
                    },
                    1,
                ))
            }
            Tok::Func(func) => {
                self.pos += 1;
                self.enter()?;
                let (arg, h) = if let Some(Tok::Open) = self.peek() {
                    self.group()?
                } else {
                    self.power()?
                };
                self.depth -= 1;
                node(
                    Expr::Call {
                        func,
                        arg: Box::new(arg),
                    },
                    h + 1,
                )
            }
            Tok::Open => {
                self.enter()?;
                let inner = self.group()?;
                self.depth -= 1;
                Ok(inner)
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `( sum )` at the current position.
    fn group(&mut self) -> Result<Parsed, ExprError> {
        let open_pos = self.toks.get(self.pos).map_or(0, |t| t.span.start);
        self.pos += 1;
        let inner = self.sum()?;
        match self.peek() {
            Some(Tok::Close) => {
                self.pos += 1;
                Ok(inner)
            }
            None => Err(ExprError::Unclosed { pos: open_pos }),
            Some(_) => Err(self.unexpected()),
        }
    }
}

fn parse_tokens(toks: &[Token]) -> Result<Expr, ExprError> {
    if toks.is_empty() {
        return Err(ExprError::Empty);
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let (e, _) = p.sum()?;
    if p.pos < toks.len() {
        return Err(p.unexpected());
    }
    Ok(e)
}

/// Parses one expression (no `=`): plain, LaTeX subset or Unicode, as students write it.
///
/// ```
/// use examiner::answer::parse_expr;
/// let e = parse_expr(r"\frac{1}{1-p}").unwrap();
/// assert_eq!(e.to_string(), "1 / (1 - p)");
/// assert_eq!(parse_expr("1 - ((1-P1)*(1-P2))").unwrap().to_string(), "1 - (1 - p1) * (1 - p2)");
/// ```
pub fn parse_expr(text: &str) -> Result<Expr, ExprError> {
    if text.chars().take(MAX_EXPR_CHARS + 1).count() > MAX_EXPR_CHARS {
        return Err(ExprError::TooLong {
            max: MAX_EXPR_CHARS,
        });
    }
    let norm = normalize_math(text);
    let toks: Vec<Token> = lex(&norm)
        .into_iter()
        .filter(|t| t.tok != Tok::Newline)
        .collect();
    parse_tokens(&toks)
}

// ---------------------------------------------------------------------------------------
// Finding formulas in free text

/// What a formula found by [`find_expressions`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExprRole {
    /// The first expression with variables in an equation chain: the student's formula.
    Formula,
    /// A later expression with variables in the same chain (a rewriting of the formula).
    Rewrite,
    /// An expression without variables: the student's arithmetic (`1-0.9*0.8`, `0.28`).
    Arithmetic,
}

/// A formula or piece of arithmetic found in free text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoundExpr {
    /// The variable the chain assigns (`q` in `q = ...`), canonical; `None` for a bare formula.
    pub lhs: Option<String>,
    /// The parsed expression.
    pub expr: Expr,
    /// Its text in the normalised answer.
    pub text: String,
    /// Where it is in the normalised answer.
    pub span: Span,
    /// Formula, rewrite or arithmetic.
    pub role: ExprRole,
    /// For arithmetic, its value.
    pub value: Option<f64>,
    /// Which equation chain it belongs to (0, 1, ... in text order).
    pub chain: usize,
}

/// Greek letter names that are variables, not prose, when they appear in a formula.
const GREEK: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
];

/// Two-letter English words that end a formula.
const SHORT_WORDS: &[&str] = &[
    "is", "of", "in", "we", "so", "be", "to", "an", "or", "as", "at", "by", "if", "it", "on", "no",
    "do", "go", "he", "me", "my", "up", "us", "am", "pr", "th", "st", "nd", "rd",
];

/// Whether an identifier is a word of the surrounding prose rather than a variable.
///
/// Variables: one letter (except the article `a`), anything with a subscript (`p_1`,
/// `keep_prob`), a letter or two with digits (`p1`, `L2`), two capitals (`RF`, `KL`), Greek
/// letter names. Prose: longer words (`since`, `conv2`, `CNN`), two-letter English words
/// (`is`, `so`) and capitalised two-letter words (`Pr`, `So`).
fn is_prose(word: &str) -> bool {
    let letters = word.bytes().take_while(u8::is_ascii_alphabetic).count();
    if word.contains('_') {
        return false;
    }
    match letters {
        0 => false,
        1 => word == "a",
        2 => {
            let lower = word[..2].to_ascii_lowercase();
            let upper = word[..2].bytes().all(|c| c.is_ascii_uppercase());
            let lower_only = word[..2].bytes().all(|c| c.is_ascii_lowercase());
            SHORT_WORDS.contains(&lower.as_str()) || !(upper || lower_only)
        }
        _ => !GREEK.contains(&word),
    }
}

fn is_prose_tok(tok: &Tok) -> bool {
    matches!(tok, Tok::Ident(w) if is_prose(w))
}

fn in_run(tok: &Tok) -> bool {
    !matches!(tok, Tok::Newline | Tok::Other(_))
}

/// Runs of tokens between punctuation, line breaks and unbalanced closers. Prose words stay
/// in a run (they end formulas, not equation chains: `q = Pr(A or B) = p_1 + p_2 - p_1 p_2`).
fn runs(toks: &[Token]) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut level = 0usize;
    for (k, t) in toks.iter().enumerate() {
        let keep = in_run(&t.tok)
            && match t.tok {
                Tok::Open => {
                    level += 1;
                    true
                }
                Tok::Close if level == 0 => false,
                Tok::Close => {
                    level -= 1;
                    true
                }
                _ => true,
            };
        if !keep {
            if k > start {
                out.push(&toks[start..k]);
            }
            start = k + 1;
            level = 0;
        }
    }
    if toks.len() > start {
        out.push(&toks[start..]);
    }
    out
}

/// The longest sub-range of `seg` that parses: the whole, else the longest prefix, or
/// suffix when `from_end` (the left-hand side of an `=`).
fn best_parse(seg: &[Token], from_end: bool) -> Option<(Expr, &[Token])> {
    if seg.is_empty() {
        return None;
    }
    if let Ok(e) = parse_tokens(seg) {
        return Some((e, seg));
    }
    if seg.len() > MAX_SHRINK_TOKENS {
        return None;
    }
    for len in (1..seg.len()).rev() {
        let sub = if from_end {
            &seg[seg.len() - len..]
        } else {
            &seg[..len]
        };
        if let Ok(e) = parse_tokens(sub) {
            return Some((e, sub));
        }
    }
    None
}

/// The formula at the start of a segment, up to the first prose word. A formula cut by the
/// prose in the middle of an operation (`1-Pr(...)`) is no formula.
fn leading_formula(seg: &[Token]) -> Option<(Expr, &[Token])> {
    let end = seg
        .iter()
        .position(|t| is_prose_tok(&t.tok))
        .unwrap_or(seg.len());
    let head = &seg[..end];
    if end < seg.len()
        && matches!(
            head.last(),
            Some(Token {
                tok: Tok::Op(_),
                ..
            })
        )
    {
        return None;
    }
    best_parse(head, false)
}

/// The variable a segment ends with, when it is the left-hand side of an `=`: `we get q`.
fn trailing_variable(seg: &[Token]) -> Option<String> {
    let start = seg
        .iter()
        .rposition(|t| is_prose_tok(&t.tok))
        .map_or(0, |p| p + 1);
    match best_parse(&seg[start..], true) {
        Some((Expr::Var { name }, toks)) if toks.len() == 1 => Some(name),
        _ => None,
    }
}

/// One equation chain: `lhs = item = item = ...`.
struct Chain<'a> {
    lhs: Option<String>,
    items: Vec<(Expr, &'a [Token])>,
}

/// The equation chains of one run.
fn chains_of(run: &[Token]) -> Vec<Chain<'_>> {
    let segments: Vec<&[Token]> = run.split(|t| t.tok == Tok::Eq).collect();
    let mut chains = Vec::new();
    if segments.len() == 1 {
        // No `=`: every prose-free piece is a bare formula candidate.
        for piece in run.split(|t| is_prose_tok(&t.tok)) {
            if let Some(item) = best_parse(piece, false) {
                chains.push(Chain {
                    lhs: None,
                    items: vec![item],
                });
            }
        }
        return chains;
    }
    let last = segments.len() - 1;
    let mut current = Chain {
        lhs: None,
        items: Vec::new(),
    };
    for (k, seg) in segments.iter().enumerate() {
        let clean = !seg.iter().any(|t| is_prose_tok(&t.tok));
        if k == 0 {
            match trailing_variable(seg) {
                Some(name) => current.lhs = Some(name),
                None => {
                    // `1-(1-p1)(1-p2) = q`: the left side is an item.
                    let start = seg
                        .iter()
                        .rposition(|t| is_prose_tok(&t.tok))
                        .map_or(0, |p| p + 1);
                    if let Some(item) = best_parse(&seg[start..], true) {
                        current.items.push(item);
                    }
                }
            }
            continue;
        }
        if clean {
            if let Some(item) = best_parse(seg, false) {
                current.items.push(item);
            }
            continue;
        }
        if let Some(item) = leading_formula(seg) {
            current.items.push(item);
        }
        // `... probability q = ...`: a new chain starts when prose ends in a variable that an
        // `=` follows; other prose (`= Pr(A or B) =`) is skipped without ending the chain.
        if k < last {
            if let Some(name) = trailing_variable(seg) {
                chains.push(std::mem::replace(
                    &mut current,
                    Chain {
                        lhs: Some(name),
                        items: Vec::new(),
                    },
                ));
            }
        }
    }
    chains.push(current);
    chains
}

/// Candidate formulas in free text, in text order.
///
/// The text is normalised and cut into runs at punctuation and line breaks; each run is an
/// equation chain split at `=` (and `≈`). Formulas end at prose words; a prose segment that
/// ends in a variable followed by `=` starts a new chain (`... with probability q = ...`). In
/// `q = 1-(1-p_1)(1-p_2) = 1-0.9*0.8 = 0.28` the chain assigns `q`; its first right-hand side
/// with variables is the [`ExprRole::Formula`], later ones with variables are
/// [`ExprRole::Rewrite`]s, and the ones without variables are the student's
/// [`ExprRole::Arithmetic`] with their value. A chain that ends in the variable
/// (`1-(1-p1)(1-p2) = q`) assigns it too.
///
/// With `target` (e.g. `Some("q")`, compared by [`canonical_var`]) only chains assigning that
/// variable are returned. Without, every chain is returned, including bare formulas such as
/// `p_1+p_2∙(1-p_1)` (with `lhs: None`); a lone number or name without `=` is skipped.
pub fn find_expressions(text: &str, target: Option<&str>) -> Vec<FoundExpr> {
    let norm = normalize_math(text);
    let toks = lex(&norm);
    let target = target.map(canonical_var);
    let mut out = Vec::new();
    let mut chain_index = 0;
    for run in runs(&toks) {
        for mut chain in chains_of(run) {
            if chain.lhs.is_none() {
                if let (Some(t), Some((Expr::Var { name }, toks))) = (&target, chain.items.last()) {
                    if toks.len() == 1 && name == t && chain.items.len() > 1 {
                        chain.lhs = Some(name.clone());
                        chain.items.pop();
                    }
                }
            }
            if let Some(t) = &target {
                if chain.lhs.as_ref() != Some(t) {
                    continue;
                }
            }
            if chain.items.is_empty() {
                continue;
            }
            if chain.lhs.is_none()
                && chain.items.len() == 1
                && matches!(
                    chain.items[0].0,
                    Expr::Num { .. } | Expr::Var { .. } | Expr::Pi
                )
            {
                continue;
            }
            let mut seen_formula = false;
            for (expr, toks) in chain.items {
                let span = Span::new(
                    toks.first().map_or(0, |t| t.span.start),
                    toks.last().map_or(0, |t| t.span.end),
                );
                let (role, value) = if expr.variables().is_empty() {
                    (ExprRole::Arithmetic, expr.eval(&|_| None).ok())
                } else if seen_formula {
                    (ExprRole::Rewrite, None)
                } else {
                    seen_formula = true;
                    (ExprRole::Formula, None)
                };
                out.push(FoundExpr {
                    lhs: chain.lhs.clone(),
                    text: span.slice(&norm).to_string(),
                    expr,
                    span,
                    role,
                    value,
                    chain: chain_index,
                });
            }
            chain_index += 1;
        }
    }
    out
}

/// A student's answer to "write `target` as a formula": the formula, other formulas for the
/// same variable, and the arithmetic they did with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormulaAnswer {
    /// The [`ExprRole::Formula`] assigned to the target with the most distinct variables
    /// (ties: the last one, as students conclude at the end); when no chain assigns the
    /// target, the bare formula chosen the same way.
    pub formula: Option<FoundExpr>,
    /// Every other formula or rewrite for the target; the caller can check they agree.
    pub other_formulas: Vec<FoundExpr>,
    /// The arithmetic in the target's chains (`1-0.9*0.8`, `0.28`), in text order.
    pub numeric: Vec<FoundExpr>,
}

/// The formula a student gives for `target`, with their arithmetic; `None` when there is
/// neither.
///
/// ```
/// use examiner::answer::formula_answer;
/// let a = formula_answer("q = 1-(1-p_1)(1-p_2) = 1-0.9*0.8 = 0.28", "q").unwrap();
/// assert_eq!(a.formula.unwrap().expr.to_string(), "1 - (1 - p1) * (1 - p2)");
/// assert_eq!(a.numeric.last().unwrap().value, Some(0.28));
/// ```
pub fn formula_answer(text: &str, target: &str) -> Option<FormulaAnswer> {
    let found = find_expressions(text, Some(target));
    let (symbolic, numeric): (Vec<FoundExpr>, Vec<FoundExpr>) = found
        .into_iter()
        .partition(|f| f.role != ExprRole::Arithmetic);
    let (formula, other_formulas) = match richest(&symbolic, |f| f.role == ExprRole::Formula) {
        Some(k) => {
            let mut rest = symbolic;
            let f = rest.remove(k);
            (Some(f), rest)
        }
        None => {
            let bare: Vec<FoundExpr> = find_expressions(text, None)
                .into_iter()
                .filter(|f| f.lhs.is_none() && f.role == ExprRole::Formula)
                .collect();
            let k = richest(&bare, |_| true);
            (k.map(|k| bare[k].clone()), Vec::new())
        }
    };
    if formula.is_none() && numeric.is_empty() {
        return None;
    }
    Some(FormulaAnswer {
        formula,
        other_formulas,
        numeric,
    })
}

/// Among the entries that pass `keep`, the one with the most distinct variables; ties go to
/// the last (students conclude at the end).
fn richest(found: &[FoundExpr], keep: impl Fn(&FoundExpr) -> bool) -> Option<usize> {
    found
        .iter()
        .enumerate()
        .filter(|(_, f)| keep(f))
        .max_by_key(|(k, f)| (f.expr.variables().len(), *k))
        .map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(pairs: &'a [(&'a str, f64)]) -> impl Fn(&str) -> Option<f64> + 'a {
        move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    fn eval(text: &str, pairs: &[(&str, f64)]) -> f64 {
        parse_expr(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .eval(&at(pairs))
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    const P: &[(&str, f64)] = &[("p1", 0.1), ("p2", 0.2), ("p", 0.5)];

    #[test]
    fn student_formulas_evaluate() {
        for text in [
            "1 - (1 - p1) * (1 - p2)",
            "1-(1-p_1)(1-p_2)",
            "p1+p2-p1*p2",
            "p_1 + p_2 - p_1 p_2",
            "p_1+p_2∙(1-p_1)",
            "p_{1}+p_{2}\\cdot(1-p_{1})",
            "1 - ((1-P1)*(1-P2))",
            "1-(1-p_1)\\cdot(1-p2)",
            "p1 + p2 - p1p2",
            "$1 - (1-p_1) \\times (1-p_2)$",
            "[1 -(1-p_2)\\cdot (1-p_1)]",
            // Implicit products of subscripted names.
            "p_1+p_2-p_1p_2",
            "p_{1}+p_{2}-p_{1}p_{2}",
            "P_1 + P_2 - P_1P_2",
            "p_1 + p_2 - p_1 p_2",
            "1-(1-p_1)(1-p_2)",
        ] {
            assert!((eval(text, P) - 0.28).abs() < 1e-12, "{text}");
        }
    }

    #[test]
    fn word_subscripts_still_make_one_name() {
        let e = parse_expr("p_drop + V_in - keep_prob").unwrap();
        let vars: Vec<String> = e.variables().into_iter().collect();
        assert_eq!(vars.len(), 3, "{vars:?}");
        assert!((eval("p_12", &[("p12", 3.0)]) - 3.0).abs() < 1e-12);
        // `p_1p_2` is a product of two variables, not one named `p1p2`.
        let vars: Vec<String> = parse_expr("p_1p_2")
            .unwrap()
            .variables()
            .into_iter()
            .collect();
        assert_eq!(vars, ["p1", "p2"]);
    }

    #[test]
    fn latex_fractions_and_functions() {
        assert!((eval("\\frac{1}{1-p}", P) - 2.0).abs() < 1e-12);
        assert!((eval("\\dfrac{p}{2}", P) - 0.25).abs() < 1e-12);
        assert!((eval("sqrt(4) + exp(0) + ln(1) + log(1)", &[]) - 3.0).abs() < 1e-12);
        assert!((eval("sigmoid(0)", &[]) - 0.5).abs() < 1e-12);
        assert!((eval("tanh(0) + sin(0) + cos(0)", &[]) - 1.0).abs() < 1e-12);
        assert!((eval("\\pi", &[]) - std::f64::consts::PI).abs() < 1e-12);
        assert!((eval("2pi", &[]) - 2.0 * std::f64::consts::PI).abs() < 1e-12);
        assert!((eval("e^{0}", &[]) - 1.0).abs() < 1e-12);
        assert!((eval("e", &[]) - std::f64::consts::E).abs() < 1e-12);
        assert!((eval("e", &[("e", 2.0)]) - 2.0).abs() < 1e-12);
        assert!((eval("\\sqrt{p}", &[("p", 9.0)]) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn operators_and_precedence() {
        assert_eq!(eval("2^3^2", &[]), 512.0);
        assert_eq!(eval("2**10", &[]), 1024.0);
        assert_eq!(eval("-2^2", &[]), -4.0);
        assert_eq!(eval("2^-1", &[]), 0.5);
        assert_eq!(eval("8/4/2", &[]), 1.0);
        assert_eq!(eval("10-4-3", &[]), 3.0);
        assert_eq!(eval("2(1-p)", P), 1.0);
        assert_eq!(eval("2p", P), 1.0);
        assert_eq!(eval("(1-p)(1-p)", P), 0.25);
        assert_eq!(eval("(1-p)2", P), 1.0);
        assert_eq!(eval("112x112", &[]), 12544.0);
        assert_eq!(eval("(2x3)x4", &[]), 24.0);
        assert_eq!(eval("1e-5 * 1e5", &[]), 1.0);
        assert_eq!(eval(".5 + 0.5", &[]), 1.0);
        assert_eq!(eval("{1 + 1}", &[]), 2.0);
    }

    #[test]
    fn canonical_names() {
        for name in ["p_1", "p_{1}", "p1", "P1", "P_{1}"] {
            assert_eq!(canonical_var(name), "p1");
        }
        let e = parse_expr("p_1 + P_{2} + keep_prob + V_{in}").unwrap();
        let vars: Vec<String> = e.variables().into_iter().collect();
        assert_eq!(vars, vec!["keepprob", "p1", "p2", "vin"]);
        assert!(parse_expr("2 pi").unwrap().variables().is_empty());
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "1 - (1 - p1) * (1 - p2)",
            "p1 + p2 - p1 * p2",
            "1 / (1 - p)",
            "-p^2",
            "2^(-1)",
            "a - (b - c)",
            "sqrt(x + 1)",
        ] {
            let e = parse_expr(text).unwrap();
            assert_eq!(e.to_string(), text);
            assert_eq!(parse_expr(&e.to_string()).unwrap(), e);
        }
    }

    #[test]
    fn errors() {
        assert_eq!(parse_expr(""), Err(ExprError::Empty));
        assert_eq!(parse_expr("1 -"), Err(ExprError::UnexpectedEnd));
        assert!(matches!(
            parse_expr("(1 - p"),
            Err(ExprError::Unclosed { .. })
        ));
        assert!(matches!(
            parse_expr("1 + )"),
            Err(ExprError::Unexpected { .. })
        ));
        assert!(matches!(
            parse_expr("q = 1"),
            Err(ExprError::Unexpected { .. })
        ));
        assert!(matches!(
            parse_expr(&"1+".repeat(3000)),
            Err(ExprError::TooLong { .. })
        ));
        assert!(matches!(
            parse_expr(&format!("{}1{}", "(".repeat(100), ")".repeat(100))),
            Err(ExprError::TooDeep { .. })
        ));
        assert!(matches!(
            parse_expr(&"-".repeat(100)),
            Err(ExprError::TooDeep { .. })
        ));
        assert!(matches!(
            parse_expr(&"2^".repeat(100)),
            Err(ExprError::TooDeep { .. })
        ));
        assert!(matches!(
            parse_expr(&"1+".repeat(1000)),
            Err(ExprError::TooDeep { .. })
        ));
        assert!(parse_expr(&format!("{}1", "1+".repeat(200))).is_ok());
        let e = parse_expr("1/(p-p)").unwrap();
        assert_eq!(e.eval(&at(P)), Err(EvalError::DivisionByZero));
        assert_eq!(
            parse_expr("log(0-1)").unwrap().eval(&at(&[])),
            Err(EvalError::NotFinite)
        );
        assert_eq!(
            parse_expr("p + z").unwrap().eval(&at(P)),
            Err(EvalError::UnknownVariable { name: "z".into() })
        );
    }

    #[test]
    fn finds_the_formula_and_the_arithmetic() {
        let found = find_expressions("q = 1-(1-p_1)(1-p_2) = 1-0.9*0.8 = 0.28", Some("q"));
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].role, ExprRole::Formula);
        assert_eq!(found[0].lhs.as_deref(), Some("q"));
        assert_eq!(found[0].text, "1-(1-p_1)(1-p_2)");
        assert_eq!(found[1].role, ExprRole::Arithmetic);
        assert!((found[1].value.unwrap() - 0.28).abs() < 1e-12);
        assert_eq!(found[2].value, Some(0.28));
    }

    #[test]
    fn finds_formulas_in_prose() {
        let text = "The probability of a dropout for a specific neuron would be:\n\
                    q = p1 + p2 - p1*p2\nWith the numbers of the previous question, we would get q=0.28";
        let a = formula_answer(text, "q").unwrap();
        assert_eq!(a.formula.as_ref().unwrap().text, "p1 + p2 - p1*p2");
        assert_eq!(a.numeric.len(), 1);
        assert_eq!(a.numeric[0].value, Some(0.28));

        let a = formula_answer("**Answer**: q = 1 - ((1-P1)*(1-P2))", "q").unwrap();
        assert_eq!(
            a.formula.unwrap().expr.to_string(),
            "1 - (1 - p1) * (1 - p2)"
        );

        let a = formula_answer("Therefore, **let $q = p_1 +p_2 -p_1 * p_2$**", "q").unwrap();
        assert_eq!(a.formula.unwrap().expr.to_string(), "p1 + p2 - p1 * p2");

        let a = formula_answer("So q = 1 - (1-p1)(1-p2) since both must keep it.", "q").unwrap();
        assert_eq!(a.formula.unwrap().text, "1 - (1-p1)(1-p2)");

        let a = formula_answer("q=p_1+p_2∙(1-p_1 )=0.1+0.2∙0.1= 0.12", "q").unwrap();
        assert_eq!(a.numeric.last().unwrap().value, Some(0.12));
        let f = a.formula.unwrap();
        assert!((f.expr.eval(&at(P)).unwrap() - 0.28).abs() < 1e-12);

        let a = formula_answer("1-(1-p1)(1-p2) = q", "q").unwrap();
        assert_eq!(a.formula.unwrap().lhs.as_deref(), Some("q"));
    }

    #[test]
    fn prose_inside_a_chain() {
        let text = "an equivalent layer `nn.Dropout(p=q)` will need to be with probability \
                    $q = Pr(dropout_1 \\cup dropout_2) = p_1 + p_2 - p_1 \\cdot p_2 = 0.1 + 0.2 - 0.1 \\cdot 0.2 = 0.28$.";
        let a = formula_answer(text, "q").unwrap();
        assert_eq!(a.formula.unwrap().expr.to_string(), "p1 + p2 - p1 * p2");
        let values: Vec<Option<f64>> = a.numeric.iter().map(|f| f.value).collect();
        assert_eq!(values.len(), 2);
        assert!(values.iter().all(|v| (v.unwrap() - 0.28).abs() < 1e-12));

        let text = "the equivalent is: $q = 1-Pr(\\overline{dropout}_1 \\cap \\overline{dropout}_2) = 1-(1-p_1) \\cdot (1-p_2) = 1-0.9 \\cdot 0.8 = 0.28$";
        let a = formula_answer(text, "q").unwrap();
        assert_eq!(
            a.formula.unwrap().expr.to_string(),
            "1 - (1 - p1) * (1 - p2)"
        );
        assert!(a
            .numeric
            .iter()
            .all(|f| (f.value.unwrap() - 0.28).abs() < 1e-12));
    }

    #[test]
    fn the_richest_formula_wins() {
        let text = "This can be computed as follows:\n\nq = 1 - (1 - p1) * (1 - p2)\n\n\
                    which is equivalent to the probability of dropping out each unit with \
                    probability q = 1 - keep_prob,In our case, q=0.28.";
        let a = formula_answer(text, "q").unwrap();
        assert_eq!(
            a.formula.unwrap().expr.to_string(),
            "1 - (1 - p1) * (1 - p2)"
        );
        assert_eq!(a.other_formulas[0].expr.to_string(), "1 - keepprob");
        assert_eq!(a.numeric[0].value, Some(0.28));
    }

    #[test]
    fn prose_is_not_a_formula() {
        for text in [
            "In a Convolutional Neural Network (CNN), the size",
            "X - a tensor of shape",
            "a CNN with three conv2d layers",
            "In (A) we do so",
        ] {
            assert!(
                find_expressions(text, None).is_empty(),
                "{text}: {:?}",
                find_expressions(text, None)
            );
            assert!(formula_answer(text, "q").is_none(), "{text}");
        }
    }

    #[test]
    fn bare_formulas_without_target() {
        let found = find_expressions("p_1+p_2∙(1-p_1)", None);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].lhs, None);
        assert_eq!(found[0].role, ExprRole::Formula);
        let a = formula_answer("the answer: p_1+p_2∙(1-p_1)", "q").unwrap();
        assert_eq!(a.formula.unwrap().text, "p_1+p_2*(1-p_1)");
        let found = find_expressions("\\frac{1}{1-p}", None);
        assert_eq!(found[0].text, "(1)/(1-p)");
        assert!(find_expressions("the value is 42000 here", None).is_empty());
        assert!(formula_answer("no formula here", "q").is_none());
    }

    #[test]
    fn chains_for_other_variables_are_ignored_with_a_target() {
        let text = "x'=(1-p_1)*X and V_out = V_in(1-(p_1+p_2-p_1 * p_2))";
        assert!(find_expressions(text, Some("q")).is_empty());
        let all = find_expressions(text, None);
        assert!(all.iter().any(|f| f.lhs.as_deref() == Some("vout")));
    }
}
