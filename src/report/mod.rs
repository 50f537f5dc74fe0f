//! Rendering results for people and programs. Reporters read only result types.

pub mod annotations;
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
pub mod row;
pub mod rubric;
pub mod sanitize;
pub mod terminal;
