//! The text of `examiner check`: per question, what was found, in the student's terms.

use std::fmt::Write;

use crate::grading::{Status, SubmissionResult};

/// At most this many characters of an answer are shown per question.
const SHOWN: usize = 240;

/// A student's self-check report.
pub fn text(r: &SubmissionResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}  (rubric {})", r.submission, r.rubric);
    let width = r.questions.iter().map(|q| q.id.len()).max().unwrap_or(2);
    for q in &r.questions {
        let where_ = if q.answer.cells.is_empty() {
            String::new()
        } else {
            format!(
                "cell {}",
                q.answer
                    .cells
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let _ = writeln!(
            out,
            "\n{:<width$}  {:<12} {}",
            q.id,
            q.status.as_str(),
            where_
        );
        if q.status != Status::Missing {
            let mut text: String = q.answer.text.chars().take(SHOWN).collect();
            if q.answer.text.chars().count() > SHOWN {
                text.push_str(" ...");
            }
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let _ = writeln!(out, "    | {line}");
            }
            if !q.answer.value.is_null() {
                let _ = writeln!(out, "    read as: {}", q.answer.value);
            }
        }
        for f in &q.feedback {
            let _ = writeln!(out, "    {f}");
        }
        if let Some(expected) = &q.expected {
            let _ = writeln!(out, "    expected: {expected}");
        }
    }
    let found = r
        .questions
        .iter()
        .filter(|q| q.status != Status::Missing)
        .count();
    let _ = writeln!(out, "\n{found} of {} answers found", r.questions.len());
    out
}
