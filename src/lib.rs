//! examiner grades the written parts of deep-learning homework notebooks.
//!
//! The pipeline, one module each: rubric -> notebook (ingest, extract) -> checkers ->
//! reference (tch) -> grading -> report. This crate is the library behind the `examiner`
//! binary; the binary only parses arguments and calls [`commands::run`]; the command line is
//! declared in [`cli`], and each command is one file of [`commands`].

pub mod answer;
#[cfg(feature = "torch")]
pub mod checkers;
pub mod cli;
#[cfg(feature = "torch")]
pub mod commands;
#[cfg(feature = "torch")]
pub mod embed;
pub mod exit_codes;
pub mod extract;
#[cfg(feature = "torch")]
pub mod grading;
pub mod notebook;
#[cfg(feature = "torch")]
pub mod reference;
#[cfg(feature = "torch")]
pub mod report;
#[cfg(feature = "torch")]
pub mod review_page;
pub mod rubric;
