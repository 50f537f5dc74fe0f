//! The shape of a tensor the question's code computes, e.g. `Y = embedding(X)`.

use serde::{Deserialize, Serialize};

use super::code::Code;
use super::error::Result;
use super::geometry;

/// A computed shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub name: String,
    pub shape: Vec<i64>,
    /// Bytes of the largest tensor libtorch held to compute it.
    pub peak_bytes: i64,
    /// Bytes the whole tensor would take (it is not materialised when it is large).
    pub output_bytes: i64,
}

/// The shape of `name` (default: the last tensor the code assigns).
pub fn shape(code: &Code, name: Option<&str>) -> Result<Shape> {
    let (name, expr) = code.tensor(name)?;
    let (shape, dtype) = geometry::expr_shape(&expr)?;
    let elements = shape.iter().fold(1i64, |n, d| n.saturating_mul(*d));
    Ok(Shape {
        name,
        output_bytes: elements.saturating_mul(dtype.size()),
        shape,
        peak_bytes: 0,
    })
}
