//! Rendering results for people and programs. Reporters read only result types.

pub mod annotations;
pub mod class_outputs;
pub mod class_report;
pub mod escape;
pub mod feedback_html;
pub mod feedback_md;
pub mod gradebook;
pub mod gradescope;
pub mod groups;
pub mod items;
pub mod json;
pub mod junit;
pub mod output_set;
pub mod reference;
pub mod review_todo;
pub mod rubric;
pub mod terminal;

/// The row every class-level report takes (defined with the results it borrows).
pub use crate::grading::row;
/// Making student text safe to print (shared with grading, which cleans student ids).
pub use crate::sanitize;
