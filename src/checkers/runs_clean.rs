//! Code that must run: judged from the outputs the student's notebook saved (never by running
//! it). An error output (`NameError`, a failed `assert`) fails the answer and is quoted.

use super::Status;
use super::Verdict;
use crate::notebook::{Notebook, OutputKind};

/// An error line as Python prints it: `NameError: name 'x' is not defined`, a traceback.
fn error_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("Traceback (most recent call last)")
        || t.split_once(':').is_some_and(|(head, _)| {
            (head.ends_with("Error") || head.ends_with("Exception"))
                && head
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        })
}

/// Checks a transcript of printed output (a rubric's sample answer): no error line.
pub fn check_transcript(text: &str) -> Verdict {
    let errors: Vec<String> = text
        .lines()
        .filter(|l| error_line(l))
        .map(|l| l.trim().to_string())
        .collect();
    if errors.is_empty() {
        Verdict {
            parts: Vec::new(),
            status: Status::Correct,
            score: 1.0,
            feedback: Vec::new(),
            value: serde_json::json!({ "errors": [] }),
        }
    } else {
        Verdict {
            parts: Vec::new(),
            status: Status::Wrong,
            score: 0.0,
            value: serde_json::json!({ "errors": errors }),
            feedback: errors,
        }
    }
}

/// Said with a verdict taken from saved outputs: a student can edit outputs.
pub const SAVED_OUTPUTS: &str =
    "judged from the outputs saved in the notebook; examiner does not re-run the code";

/// Checks that the answer's code `cells` saved no error output.
pub fn check(notebook: &Notebook, cells: &[usize]) -> Verdict {
    let code: Vec<_> = cells
        .iter()
        .filter_map(|&i| notebook.cells.get(i))
        .filter(|c| c.is_code())
        .collect();
    if code.is_empty() {
        return Verdict {
            parts: Vec::new(),
            status: Status::Missing,
            score: 0.0,
            feedback: vec!["no code cell found for this answer".into()],
            value: serde_json::Value::Null,
        };
    }
    let errors: Vec<String> = code
        .iter()
        .flat_map(|c| {
            c.outputs
                .iter()
                .filter(|o| o.kind == OutputKind::Error)
                .map(move |o| {
                    let first = o.text.lines().next().unwrap_or("error");
                    format!("cell {}: {first}", c.index)
                })
        })
        .collect();
    let ran = code.iter().any(|c| !c.outputs.is_empty());
    match (errors.is_empty(), ran) {
        (true, true) => Verdict {
            parts: Vec::new(),
            status: Status::Correct,
            score: 1.0,
            // The verdict trusts the saved outputs: say so (issue 15, class 9).
            feedback: vec![SAVED_OUTPUTS.into()],
            value: serde_json::json!({ "errors": [] }),
        },
        (true, false) => Verdict {
            parts: Vec::new(),
            status: Status::NeedsReview,
            score: 0.0,
            feedback: vec!["the code has no saved output: it may never have been run".into()],
            value: serde_json::json!({ "errors": [] }),
        },
        (false, _) => Verdict {
            parts: Vec::new(),
            status: Status::Wrong,
            score: 0.0,
            value: serde_json::json!({ "errors": errors }),
            feedback: errors,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_in_a_transcript() {
        assert_eq!(check_transcript("True\nTrue").status, Status::Correct);
        let v = check_transcript("NameError: name 'grad_W' is not defined");
        assert_eq!(v.status, Status::Wrong);
        assert_eq!(v.feedback, ["NameError: name 'grad_W' is not defined"]);
        assert_eq!(check_transcript("The Error: none").status, Status::Correct);
    }
}
