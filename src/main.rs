//! The `examiner` binary: parses the command line and hands it to the library
//! ([`examiner::commands::run`]), mapping an error to the documented exit code.

use std::process::ExitCode;

use clap::Parser;

use examiner::cli::Cli;
use examiner::exit_codes;

/// Grading allocates many small, short-lived strings per answer: mimalloc serves them with a
/// fraction of the system allocator's instructions (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match examiner::commands::run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            // Errors can quote file names and rubric text: no raw control characters.
            let text = examiner::report::sanitize::terminal(&format!("{err:#}"), false);
            eprintln!("examiner: error: {text}");
            ExitCode::from(exit_codes::USAGE_OR_INPUT as u8)
        }
    }
}
