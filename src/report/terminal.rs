//! The terminal report: per question its status, points, what the student wrote against what
//! was expected (a character diff from `similar`), and feedback; and the one-line-per-student
//! summary of a class. Colour only when asked (the binary turns it off for `NO_COLOR` and for
//! output that is not a terminal).

use std::fmt::Write;

use similar::{ChangeTag, TextDiff};

use super::row::{Row, ScoreCard};
use crate::grading::{QuestionResult, Status, SubmissionResult};
use crate::rubric::keys::{format_number, format_points};

/// How to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn status(self, s: Status) -> String {
        let code = match s {
            Status::Correct => "32",
            Status::Partial | Status::NeedsReview => "33",
            Status::Wrong | Status::Missing | Status::Unparseable => "31",
            Status::Ungraded => "2",
        };
        self.paint(code, &format!("{:<12}", s.as_str()))
    }
}

/// At most this many characters of an answer are shown.
const SHOWN: usize = 300;

fn points(q: &QuestionResult) -> String {
    match q.points {
        Some(p) => format!("{}/{}", format_points(p), format_points(q.max_points)),
        None => format!("-/{}", format_points(q.max_points)),
    }
}

/// `got` against `expected`, character by character: what the student left out in red and
/// struck through, what they wrote instead in green and underlined. Without colour, `got`.
pub fn diff(expected: &str, got: &str, style: Style) -> String {
    if !style.color {
        return got.to_string();
    }
    let d = TextDiff::from_chars(expected, got);
    let mut out = String::new();
    for change in d.iter_all_changes() {
        let text = change.value();
        match change.tag() {
            ChangeTag::Equal => out.push_str(text),
            ChangeTag::Delete => out.push_str(&style.paint("31;9", text)),
            ChangeTag::Insert => out.push_str(&style.paint("32;4", text)),
        }
    }
    out
}

fn shown_value(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => n.as_f64().map(format_number),
        serde_json::Value::Array(items) => Some(format!(
            "[{}]",
            items
                .iter()
                .map(|i| match i {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) =>
                        n.as_f64().map(format_number).unwrap_or_default(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        )),
        other => Some(other.to_string()),
    }
}

/// One submission, question by question.
pub fn submission(r: &SubmissionResult, style: Style) -> String {
    let mut out = String::new();
    let score = r.score.map_or_else(|| "-".to_string(), format_points);
    let _ = writeln!(
        out,
        "{}  {}  {} / {}",
        style.paint("1", &r.submission),
        r.rubric,
        score,
        format_points(r.max_score)
    );
    let width = r.questions.iter().map(|q| q.id.len()).max().unwrap_or(2);
    for q in &r.questions {
        let cells = if q.answer.cells.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = q.answer.cells.iter().map(usize::to_string).collect();
            format!("  cell {}", list.join(","))
        };
        let _ = writeln!(
            out,
            "\n  {:<width$}  {} {:>7}{}",
            q.id,
            style.status(q.status),
            points(q),
            style.paint("2", &cells)
        );
        if q.status != Status::Missing {
            let mut text: String = q.answer.text.chars().take(SHOWN).collect();
            if q.answer.text.chars().count() > SHOWN {
                text.push_str(" ...");
            }
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let _ = writeln!(out, "      {} {line}", style.paint("2", "|"));
            }
        }
        let got = shown_value(&q.answer.value);
        if !q.parts.is_empty() {
            statement_table(&mut out, q, style);
        } else {
            match (&q.expected, &got) {
                (Some(expected), Some(got)) if expected != got && q.status != Status::Correct => {
                    let _ = writeln!(
                        out,
                        "      expected {expected}, got {}",
                        diff(expected, got, style)
                    );
                }
                (_, Some(got)) => {
                    let _ = writeln!(out, "      read as {got}");
                }
                (Some(expected), None) if q.status != Status::Correct => {
                    let _ = writeln!(out, "      expected {expected}");
                }
                _ => {}
            }
        }
        for f in &q.feedback {
            let _ = writeln!(out, "      - {f}");
        }
        if !q.counted {
            let _ = writeln!(
                out,
                "      {}",
                style.paint("2", "(not counted in the total)")
            );
        }
    }
    let found = r
        .questions
        .iter()
        .filter(|q| q.status != Status::Missing)
        .count();
    let _ = writeln!(
        out,
        "\n  {found} of {} answers found{}",
        r.questions.len(),
        if r.pending_review > 0 {
            format!(", {} awaiting review", r.pending_review)
        } else {
            String::new()
        }
    );
    out
}

/// A part's reading in words: `true`, `false`, `none` when nothing was read, else the value.
pub(crate) fn part_reading(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "none".to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        // A derivative: the formula as read, and the diagnosis where one was named.
        serde_json::Value::Object(o) if o.contains_key("wrt") => {
            let read = o.get("read").and_then(|r| r.as_str()).unwrap_or("none");
            match o.get("diagnosis").and_then(|d| d.as_str()) {
                Some(d) => format!("{read} [{d}]"),
                None => read.to_string(),
            }
        }
        other => shown_value(other).unwrap_or_default(),
    }
}

/// The per-part table (a truth question's statements): number, what was read, the key
/// where the rubric reveals it, and the part's status.
fn statement_table(out: &mut String, q: &QuestionResult, style: Style) {
    let keys = q.parts.iter().any(|p| p.expected.is_some());
    let _ = writeln!(
        out,
        "      {}",
        style.paint(
            "2",
            &if keys {
                format!("{:<10} {:<8} {:<6} status", "statement", "read as", "key")
            } else {
                format!("{:<10} {:<8} status", "statement", "read as")
            }
        )
    );
    for p in &q.parts {
        let read = part_reading(&p.value);
        let key = p.expected.as_ref().map(part_reading);
        let row = match key {
            Some(key) if keys => format!("{:<10} {read:<8} {key:<6}", p.id),
            _ if keys => format!("{:<10} {read:<8} {:<6}", p.id, ""),
            _ => format!("{:<10} {read:<8}", p.id),
        };
        let _ = writeln!(out, "      {row} {}", style.status(p.status).trim_end());
    }
}

/// The class at a glance: a line per student.
pub fn summary(rows: &[Row<'_, ScoreCard>], style: Style) -> String {
    let width = rows
        .iter()
        .map(|r| match r {
            Row::Graded { student, .. } | Row::Failed { student, .. } => student.len(),
        })
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>9}  {:>7}  {:>6}  rubric",
        "student", "score", "missing", "review"
    );
    for row in rows {
        match row {
            Row::Graded { student, result } => {
                let missing = result
                    .questions
                    .iter()
                    .filter(|q| q.status == Status::Missing)
                    .count();
                let score = format!(
                    "{}/{}",
                    result.score.map_or_else(|| "-".into(), format_points),
                    format_points(result.max_score)
                );
                let _ = writeln!(
                    out,
                    "{student:<width$}  {score:>9}  {missing:>7}  {:>6}  {}",
                    result.pending_review, result.rubric
                );
            }
            Row::Failed { student, error, .. } => {
                let _ = writeln!(
                    out,
                    "{student:<width$}  {}  {error}",
                    style.paint("31", &format!("{:>9}", "ERROR"))
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_marks_what_changed_only_when_colour_is_on() {
        let plain = diff("112", "125", Style { color: false });
        assert_eq!(plain, "125");
        let coloured = diff("112", "125", Style { color: true });
        assert!(coloured.contains("\x1b[31;9m"));
        assert!(coloured.contains("\x1b[32;4m"));
    }
}
