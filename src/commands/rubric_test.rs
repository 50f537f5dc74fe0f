//! `examiner rubric test`: runs a rubric's own sample answers like unit tests; each must get
//! its stated status, score and feedback.

use super::{cache, write_stdout};
use crate::{exit_codes, report};

/// `examiner rubric test`: every sample answer must get its stated outcome.
pub fn run(files: &[std::path::PathBuf]) -> anyhow::Result<i32> {
    let cache = cache();
    let mut failed_samples = 0;
    let mut invalid = false;
    for file in files {
        let rubric = match crate::rubric::load_file(file) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                invalid = true;
                continue;
            }
        };
        let keys = match crate::rubric::keys::resolve(&rubric, &cache) {
            Ok(k) => k,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                invalid = true;
                continue;
            }
        };
        let outcomes = crate::grading::samples::run(&rubric, &keys);
        failed_samples += outcomes.iter().filter(|o| !o.passed()).count();
        write_stdout(&report::rubric::samples(
            &file.display().to_string(),
            &outcomes,
        ))?;
    }
    Ok(if invalid {
        exit_codes::USAGE_OR_INPUT
    } else if failed_samples > 0 {
        exit_codes::BELOW_THRESHOLD
    } else {
        exit_codes::OK
    })
}
