//! examiner grades the written parts of deep-learning homework notebooks.
//!
//! The pipeline, one module each: rubric -> notebook (ingest, extract) -> checkers ->
//! reference (tch) -> grading -> report. This crate is the library behind the `examiner`
//! binary; the binary only parses arguments, calls in here and maps errors to exit codes.

pub mod answer;
pub mod checkers;
pub mod exit_codes;
pub mod extract;
pub mod grade;
pub mod grading;
pub mod notebook;
pub mod reference;
pub mod report;
pub mod rubric;
