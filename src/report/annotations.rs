//! GitHub Actions workflow commands, so a CI run on an assignment repository marks each
//! wrong or missing answer on the notebook in the pull request's "Files changed" view.
//!
//! `::error` for wrong, missing and unparseable answers and for a submission that could not
//! be read; `::warning` for partial credit and answers awaiting review. Correct, ungraded
//! and not-counted answers get nothing. The line is the answer's line within its first cell
//! (GitHub has no notion of cells), so the title names the cell too. Values are escaped by
//! GitHub's rules ([`escape_property`], [`escape_data`]) so an answer with a newline or a
//! `::` cannot end a command early or start another.

use std::fmt::Write;

use crate::grading::{QuestionResult, Status};
use crate::rubric::keys::format_points;

pub use super::row::Row;

/// One workflow command per line for `rows`.
pub fn commands(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows {
        match row {
            Row::Graded { result, .. } => {
                for q in &result.questions {
                    if let Some(line) = command(&result.submission, q) {
                        out.push_str(&line);
                        out.push('\n');
                    }
                }
            }
            Row::Failed {
                submission, error, ..
            } => {
                let _ = writeln!(
                    out,
                    "::error file={},title={}::{}",
                    escape_property(submission),
                    escape_property("submission could not be read"),
                    escape_data(error)
                );
            }
        }
    }
    out
}

/// The command for one question, if it deserves one.
fn command(file: &str, q: &QuestionResult) -> Option<String> {
    if !q.counted && q.status != Status::Correct {
        return None;
    }
    let level = match q.status {
        Status::Wrong | Status::Missing | Status::Unparseable => "error",
        Status::Partial | Status::NeedsReview => "warning",
        Status::Correct | Status::Ungraded => return None,
    };
    let mut title = q.id.clone();
    if let Some(cell) = q.answer.cells.first() {
        let _ = write!(title, " (cell {cell})");
    }
    let _ = write!(title, ": {}", q.status.as_str());
    if let Some(points) = q.points {
        let _ = write!(
            title,
            ", {} of {} points",
            format_points(points),
            format_points(q.max_points)
        );
    }
    let mut message: Vec<String> = Vec::new();
    if !q.title.is_empty() && q.title != q.id {
        message.push(q.title.clone());
    }
    message.extend(q.feedback.iter().cloned());
    if let Some(expected) = &q.expected {
        message.push(format!("expected: {expected}"));
    }
    if message.is_empty() {
        message.push(q.status.as_str().to_string());
    }
    Some(format!(
        "::{level} file={},line={},title={}::{}",
        escape_property(file),
        q.answer.line.unwrap_or(1),
        escape_property(&title),
        escape_data(&message.join("\n"))
    ))
}

/// A command's message, escaped: `%` as `%25`, carriage return as `%0D`, newline as `%0A`.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property value, escaped: as [`escape_data`], and `:` as `%3A`, `,` as `%2C`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
