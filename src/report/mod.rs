//! Rendering results for people and programs. Reporters read only result types.

pub mod check;
pub mod reference;
pub mod rubric;
