//! `examiner rubric lint`: loads each rubric and computes its keys, so an author sees every
//! error (with `file:line:col`) and every computed key before the deadline.

use super::{cache, write_stdout};
use crate::{exit_codes, report};

/// `examiner rubric lint`: loads each rubric and computes its keys.
pub fn run(files: &[std::path::PathBuf]) -> anyhow::Result<i32> {
    let cache = cache();
    let mut failed = 0;
    for file in files {
        let rubric = match crate::rubric::load_file(file) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                failed += 1;
                continue;
            }
        };
        match crate::rubric::keys::resolve(&rubric, &cache) {
            Ok(keys) => {
                let mut out = format!(
                    "{}: ok: `{}`, {} questions, {} points\n",
                    file.display(),
                    rubric.id,
                    rubric.questions.len(),
                    crate::rubric::keys::format_number(rubric.max_score())
                );
                for (id, key) in &keys {
                    if let Some(line) = report::rubric::key_line(id, key) {
                        out.push_str(&line);
                    }
                }
                write_stdout(&out)?;
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 {
        exit_codes::OK
    } else {
        exit_codes::USAGE_OR_INPUT
    })
}
