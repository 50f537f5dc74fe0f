//! Reference computations: answer keys computed from the question's own PyTorch code, so that
//! a key is derived, never typed in.
//!
//! [`python`] reads the code without executing it; [`layers`] holds the `torch.nn` layers it
//! describes; [`geometry`] gives output shapes from shapes alone, so [`shape`] and
//! [`parameters`] need no libtorch. The computations that do ([`receptive_field`] by autograd,
//! [`dropout`] measured, [`gradient`]) are defined here with their plain, serialisable results
//! and run in the `examiner-reference` binary through [`client`], only when neither the
//! rubric's key lock nor the [`cache`] holds the result.

pub mod budget;
pub mod cache;
pub mod client;
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

pub use code::Code;
pub use error::{Error, Result};
