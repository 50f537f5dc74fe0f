//! `examiner rubric student`: writes the student edition of a rubric (see
//! [`crate::rubric::student`]) and proves it loads.

use std::path::Path;

use super::write_stdout;
use crate::exit_codes;

/// `examiner rubric student RUBRIC [-o STUDENT]`.
pub fn run(file: &Path, out: Option<&Path>) -> anyhow::Result<i32> {
    let rubric = crate::rubric::load_file(file)?;
    let yaml = crate::rubric::student::student_edition(&rubric);
    // What is handed to students must load as a student edition.
    let again = crate::rubric::load_str("student edition", &yaml)
        .map_err(|e| anyhow::anyhow!("the student edition does not load (a bug): {e}"))?;
    debug_assert!(again.student);
    match out {
        Some(path) => {
            std::fs::write(path, &yaml)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "{}: student edition of `{}`: {} questions, no keys",
                path.display(),
                rubric.id,
                again.questions.len()
            );
        }
        None => write_stdout(&yaml)?,
    }
    Ok(exit_codes::OK)
}
