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
        let resolved = crate::rubric::keys::resolve(&rubric, &cache).and_then(|keys| {
            crate::checkers::gradient::verify_rubric(&rubric, &keys).map(|()| keys)
        });
        match resolved {
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
                let left = todo_lines(file);
                if !left.is_empty() {
                    out.push_str(&left);
                    failed += 1;
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

/// The `TODO` placeholders left in a rubric file (a draft from `examiner init`), one line
/// each with the question they are in, then their count; empty when there are none.
fn todo_lines(file: &std::path::Path) -> String {
    let Ok(text) = std::fs::read_to_string(file) else {
        return String::new();
    };
    let todos = crate::rubric::todos(&text);
    if todos.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for t in &todos {
        let question = lines[..(t.line as usize).saturating_sub(1)]
            .iter()
            .rev()
            .find_map(|l| l.trim_start().strip_prefix("- id:"))
            .map_or("(top level)".to_string(), |id| format!("`{}`", id.trim()));
        out.push_str(&format!(
            "{}:{}: TODO: `{}` of question {question} is not written yet\n",
            file.display(),
            t.line,
            t.field
        ));
    }
    out.push_str(&format!(
        "{}: {} TODO{} left; questions holding one are graded by hand until then\n",
        file.display(),
        todos.len(),
        if todos.len() == 1 { "" } else { "s" }
    ));
    out
}
