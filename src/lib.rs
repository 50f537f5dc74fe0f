//! examiner grades the written parts of deep-learning homework notebooks.
//!
//! The pipeline, one module each: notebook -> answer -> rubric -> extract -> checkers ->
//! grading -> report, with the reference computations ([`reference`]) beside them. Each module
//! uses only those before it (no import cycles); [`draft`] (rubrics drafted from blank
//! templates), [`review_page`] and [`commands`] sit on top, and [`sanitize`] is shared by
//! grading and the reports. Nothing here links libtorch: what needs it runs in the
//! `examiner-reference` binary (`crates/reference`), through [`reference::client`]. This crate
//! is the library behind the `examiner` binary; the binary only parses arguments and calls
//! [`commands::run`]; the command line is declared in [`cli`], and each command is one file of
//! [`commands`].

pub mod answer;
pub mod checkers;
pub mod cli;
pub mod commands;
pub mod draft;
pub mod embed;
pub mod exit_codes;
pub mod extract;
pub mod grading;
pub mod notebook;
pub mod reference;
pub mod report;
pub mod review_page;
pub mod rubric;
pub mod sanitize;
