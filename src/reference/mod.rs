//! Reference computations: answer keys computed with libtorch (through `tch`) from the
//! question's own PyTorch code, so that a key is derived, never typed in.

pub mod layers;
