//! `examiner check`: a student's self-check of one notebook: every answer as examiner reads
//! it, with verdicts only where the rubric reveals them.

use std::path::Path;

use super::{cache, rubric_for, style, write_stdout};
use crate::cli::CheckFormat;
use crate::{exit_codes, report};

/// `examiner check`: every answer of one notebook as examiner reads it, for its student.
pub fn run(
    notebook_path: &Path,
    rubric: Option<&Path>,
    format: CheckFormat,
) -> anyhow::Result<i32> {
    let notebook = crate::notebook::read_path(notebook_path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", notebook_path.display()))?;
    let (rubric, note) = rubric_for(&notebook, rubric)?;
    if let Some(note) = &note {
        // On standard error, whatever the format: the rubric's source is never silent.
        eprintln!("{}", report::sanitize::line(note));
    }
    let keys = crate::rubric::keys::resolve(&rubric, &cache())
        .map_err(|e| anyhow::anyhow!("rubric `{}`: {e}", rubric.id))?;
    let name = notebook_path.display().to_string();
    // Limits hit and hidden text left out are said here too (issue 15, classes 2 and 9).
    let read_warnings = crate::extract::text::Stream::new(&notebook).warnings;
    let mut result = crate::grading::check(
        &name,
        &notebook,
        &rubric,
        &keys,
        crate::grading::Audience::Student,
    );
    for w in &read_warnings {
        eprintln!("examiner: {}", report::sanitize::line(w));
    }
    result.warnings.extend(read_warnings);
    let out = match format {
        CheckFormat::Text if rubric.student => format!(
            "student edition of the rubric: this shows what examiner finds and reads in the \
             notebook, never whether an answer is right\n\n{}",
            report::terminal::submission(&result, style())
        ),
        CheckFormat::Text => report::terminal::submission(&result, style()),
        CheckFormat::Json => serde_json::to_string_pretty(&result)? + "\n",
        CheckFormat::Junit => report::junit::report(&[report::row::Row::Graded {
            student: &student_of(notebook_path),
            result: &result,
        }]),
    };
    write_stdout(&out)?;
    Ok(if result.missing_required() {
        exit_codes::BELOW_THRESHOLD
    } else {
        exit_codes::OK
    })
}

fn student_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}
