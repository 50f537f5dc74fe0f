//! Reference computations: answer keys computed with libtorch (through `tch`) from the
//! question's own PyTorch code, so that a key is derived, never typed in.
//!
//! [`python`] reads the code without executing it; [`layers`] holds the `torch.nn` layers it
//! describes and instantiates them; the computations ([`receptive_field`], [`shape`],
//! [`dropout`], [`gradient`], [`parameters`]) run them with libtorch and return plain,
//! serialisable results; [`geometry`] gives output shapes from shapes alone;
//! [`cache`] keeps those by content so a second evaluation costs nothing.

pub mod budget;
pub mod cache;
pub mod code;
pub mod dropout;
pub mod error;
pub mod geometry;
pub mod gradient;
pub mod gradient_draws;
pub mod layers;
pub mod parameters;
pub mod python;
pub mod receptive_field;
pub mod shape;
pub mod tensors;

pub use code::Code;
pub use error::{Error, Result};
