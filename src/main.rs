//! The `examiner` binary: parses the command line and hands over to the library.

mod cli;

use clap::Parser;

fn main() {
    let _cli = cli::Cli::parse();
}
