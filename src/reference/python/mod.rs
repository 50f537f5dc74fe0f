//! Reading the PyTorch code of a question without executing it: a lexer and parser for a small
//! Python subset ([`ast`]), and an interpreter ([`eval`]) that turns the statements into layers,
//! tensor specifications and tensor expressions that libtorch evaluates.

pub mod ast;
pub mod eval;
mod lexer;
mod parser;

pub use parser::{parse, ParseError};
