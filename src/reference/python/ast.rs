//! The syntax tree of the Python subset that question code is written in.
//!
//! It is deliberately small: assignments, expression statements, imports (ignored),
//! `def f(a, b): return <expr>`, `class Name(nn.Module)` with methods, and expressions made of
//! literals, names, attributes, calls (positional, keyword and `*` arguments), tuples, lists,
//! arithmetic and subscripts. Inside a class's methods (and only there) a body may also hold
//! `self.attr = ...` assignments, `for NAME in ...:` loops, `pass` and `return`. Anything else
//! is refused by the parser with its position and name.

use std::fmt;

/// A 1-based position in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A whole file or cell.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Program {
    pub statements: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// `a = 1`, `p1, p2 = 0.1, 0.2`, `a = b = 3` (targets in source order).
    Assign { targets: Vec<Target>, value: Expr },
    /// A bare expression: `cnn(x).shape`, `print(...)`, `loss.backward()`.
    Expr(Expr),
    /// `def name(params): return body` (a docstring before the `return` is allowed).
    Def {
        name: String,
        params: Vec<String>,
        body: Expr,
    },
    /// `import torch`, `import torch.nn as nn`, `from torch import nn`: no effect here.
    Import,
    /// `class Name(nn.Module):` and its methods (`__init__`, `forward`, ...).
    Class { name: String, methods: Vec<Method> },
    /// `return value` (only in a method body).
    Return(Option<Expr>),
    /// `for target in iter:` and its body (only in a method body).
    For {
        target: Target,
        iter: Expr,
        body: Vec<Stmt>,
    },
    /// `pass` (only in a method body).
    Pass,
}

/// A method of a class: `def name(self, a, b=1): body`.
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    pub name: String,
    /// Parameters in order (`self` first), each with its default value if it has one.
    pub params: Vec<(String, Option<Expr>)>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

/// The left-hand side of an assignment.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Name(String, Span),
    Tuple(Vec<Target>, Span),
    /// `value.attr` (only in a method body: `self.conv = nn.Conv2d(...)`).
    Attr(Box<Expr>, String, Span),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    /// Any string literal, f-strings included (kept as written, not interpolated).
    Str(String),
    Bool(bool),
    None,
    Name(String),
    /// `value.attr`
    Attribute {
        value: Box<Expr>,
        attr: String,
    },
    /// `func(args)`
    Call {
        func: Box<Expr>,
        args: Vec<Arg>,
    },
    Tuple(Vec<Expr>),
    List(Vec<Expr>),
    /// `*expr` inside a list, tuple or call.
    Starred(Box<Expr>),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `value[index]` (a single index; `a[1, 2]` has a tuple index).
    Subscript {
        value: Box<Expr>,
        index: Box<Expr>,
    },
}

/// One argument of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Positional(Expr),
    Keyword(String, Expr),
    /// `*expr`
    Star(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Mod,
    Pow,
    MatMul,
}

impl BinOp {
    /// The operator as written in Python.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Pow => "**",
            BinOp::MatMul => "@",
        }
    }
}
