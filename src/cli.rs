//! The command line, declared. Nothing here runs anything: `main.rs` turns these values into
//! the library's own configuration.

use clap::Parser;

/// Grade the written parts of deep-learning homework notebooks.
///
/// examiner reads a YAML answer key (a rubric), finds each student's answer in a Jupyter
/// notebook without running it, and checks numeric answers against reference computations run
/// with libtorch.
#[derive(Debug, Parser)]
#[command(name = "examiner", version, about, long_about)]
pub struct Cli {}
