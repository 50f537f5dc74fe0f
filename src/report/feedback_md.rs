//! A student's feedback as a Markdown document: their score, a table of questions, and per
//! question what was read from their notebook, the expected answer where the rubric shows
//! it, and the feedback. Markdown because it reads well both as plain text and rendered (an
//! LMS, a GitHub repository, an e-mail client).
//!
//! Written by hand rather than from a template: the document is small, and Markdown needs
//! its own escaping (backslashes, fences) that a template engine's HTML escaping does not
//! give. Every piece of text from the submission goes through [`super::escape`]; a student's
//! answer sits in a code fence longer than any run of backticks in it, so it shows verbatim
//! and nothing in it is read as markup.

use std::fmt::Write;

use crate::grading::{QuestionResult, Status, SubmissionResult};
use crate::rubric::keys::format_points;

use super::escape::{fence, inline_code, markdown, truncate};

/// At most this many characters of a student's answer are quoted.
pub const ANSWER_SHOWN: usize = 1500;

/// The feedback document for `student`'s result `r`.
pub fn render(student: &str, r: &SubmissionResult) -> String {
    // Blocks (headings, paragraphs, tables, fences, lists), one blank line between each.
    let mut blocks: Vec<String> = vec![
        format!("# Feedback for {}", markdown(student)),
        format!(
            "Rubric: {}  \nSubmission: {}",
            markdown(&r.rubric),
            markdown(&r.submission)
        ),
        score_line(r),
    ];
    // How the notebook was read, where it matters: a limit hit, hidden text not graded
    // (issue 15). Grader-only notes are not shown.
    if !r.warnings.is_empty() {
        let list: Vec<String> = r
            .warnings
            .iter()
            .map(|w| format!("- {}", markdown(w)))
            .collect();
        blocks.push(format!(
            "Notes on how your notebook was read:\n\n{}",
            list.join("\n")
        ));
    }
    if !r.questions.is_empty() {
        let mut table = String::from("| Question | Status | Points |\n| --- | --- | ---: |");
        for q in &r.questions {
            let _ = write!(
                table,
                "\n| {} | {} | {} |",
                markdown(&heading(q)),
                q.status.as_str(),
                points(q)
            );
        }
        blocks.push(table);
    }
    for q in &r.questions {
        question(&mut blocks, q);
    }
    let mut out = blocks.join("\n\n");
    out.push('\n');
    out
}

/// The score sentence, shared with the HTML document.
pub(crate) fn score_line(r: &SubmissionResult) -> String {
    let mut line = match r.score {
        Some(score) => format!(
            "Score: {} of {} points.",
            format_points(score),
            format_points(r.max_score)
        ),
        None => format!(
            "Score: not shown ({} points in all).",
            format_points(r.max_score)
        ),
    };
    match r.pending_review {
        0 => {}
        1 => line.push_str(" 1 answer awaits review by a grader and counts 0 until then."),
        n => line.push_str(&format!(
            " {n} answers await review by a grader and count 0 until then."
        )),
    }
    line
}

/// `q1: Title`, or the id alone.
pub(crate) fn heading(q: &QuestionResult) -> String {
    if q.title.is_empty() || q.title == q.id {
        q.id.clone()
    } else {
        format!("{}: {}", q.id, q.title)
    }
}

/// `1.5 / 2`, or `– / 2` when not scored.
pub(crate) fn points(q: &QuestionResult) -> String {
    format!(
        "{} / {}",
        q.points.map_or_else(|| "–".to_string(), format_points),
        format_points(q.max_points)
    )
}

/// Where the answer was found: `cell 4, line 2`.
pub(crate) fn location(q: &QuestionResult) -> String {
    let mut parts = Vec::new();
    match q.answer.cells.as_slice() {
        [] => {}
        [one] => parts.push(format!("cell {one}")),
        many => parts.push(format!(
            "cells {}",
            many.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    if let Some(line) = q.answer.line {
        parts.push(format!("line {line}"));
    }
    parts.join(", ")
}

/// The rows of a question's per-part table (a truth question's statements): number, what
/// was read, the key (None unless the rubric reveals it), status. Shared with the HTML page.
pub(crate) fn part_rows(q: &QuestionResult) -> (bool, Vec<[String; 4]>) {
    let keys = q.parts.iter().any(|p| p.expected.is_some());
    let rows = q
        .parts
        .iter()
        .map(|p| {
            [
                p.id.clone(),
                crate::report::terminal::part_reading(&p.value),
                p.expected
                    .as_ref()
                    .map(crate::report::terminal::part_reading)
                    .unwrap_or_default(),
                p.status.as_str().to_string(),
            ]
        })
        .collect();
    (keys, rows)
}

fn part_table(q: &QuestionResult) -> String {
    let (keys, rows) = part_rows(q);
    let mut table = if keys {
        String::from("| Statement | Read as | Key | Status |\n| ---: | --- | --- | --- |")
    } else {
        String::from("| Statement | Read as | Status |\n| ---: | --- | --- |")
    };
    for [id, read, key, status] in rows {
        if keys {
            let _ = write!(
                table,
                "\n| {} | {} | {} | {} |",
                markdown(&id),
                markdown(&read),
                markdown(&key),
                status
            );
        } else {
            let _ = write!(
                table,
                "\n| {} | {} | {} |",
                markdown(&id),
                markdown(&read),
                status
            );
        }
    }
    table
}

fn question(blocks: &mut Vec<String>, q: &QuestionResult) {
    blocks.push(format!("## {}", markdown(&heading(q))));
    blocks.push(match q.reviewers() {
        Some(by) => format!(
            "**{}**, {} points, reviewed by {}",
            q.status.as_str(),
            points(q),
            markdown(&by)
        ),
        None => format!("**{}**, {} points", q.status.as_str(), points(q)),
    });
    if q.status == Status::Missing {
        blocks.push("No answer was found.".to_string());
    } else {
        let at = location(q);
        blocks.push(if at.is_empty() {
            "Your answer:".to_string()
        } else {
            format!("Your answer ({at}):")
        });
        let (shown, more) = truncate(q.answer.text.trim_end(), ANSWER_SHOWN);
        let ticks = fence(shown);
        blocks.push(format!("{ticks}text\n{shown}\n{ticks}"));
        if more > 0 {
            blocks.push(format!("*({more} more characters not shown)*"));
        }
    }
    if let Some(expected) = &q.expected {
        blocks.push(format!("Expected: {}", inline_code(expected)));
    }
    if !q.parts.is_empty() {
        blocks.push(part_table(q));
    }
    if !q.feedback.is_empty() {
        let list: Vec<String> = q
            .feedback
            .iter()
            .map(|f| format!("- {}", markdown(f)))
            .collect();
        blocks.push(list.join("\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::{AnswerOut, PartResult};

    fn result(expected: Option<bool>) -> QuestionResult {
        let part = |id: &str, value: serde_json::Value, status| PartResult {
            id: id.to_string(),
            status,
            points: None,
            max_points: 0.5,
            value,
            expected: expected.map(serde_json::Value::Bool),
            feedback: Vec::new(),
            cells: Vec::new(),
            line: None,
        };
        QuestionResult {
            id: "t".into(),
            title: String::new(),
            status: Status::NeedsReview,
            points: None,
            max_points: 1.0,
            answer: AnswerOut {
                text: "1. False\n2. it depends".into(),
                value: serde_json::json!([false, null]),
                cells: Vec::new(),
                line: None,
                confidence: 0.9,
                method: None,
            },
            expected: None,
            feedback: Vec::new(),
            required: false,
            counted: true,
            parts: vec![
                part("1", serde_json::Value::Bool(false), Status::Correct),
                part("2", serde_json::Value::Null, Status::NeedsReview),
            ],
            answer_hash: String::new(),
            reviews: Vec::new(),
        }
    }

    #[test]
    fn the_statement_table_shows_keys_only_when_revealed() {
        let shown = part_table(&result(Some(false)));
        assert!(
            shown.starts_with("| Statement | Read as | Key | Status |"),
            "{shown}"
        );
        assert!(shown.contains("| 1 | false | false | correct |"), "{shown}");
        assert!(
            shown.contains("| 2 | none | false | needs-review |"),
            "{shown}"
        );
        let hidden = part_table(&result(None));
        assert!(
            hidden.starts_with("| Statement | Read as | Status |"),
            "{hidden}"
        );
        assert!(hidden.contains("| 2 | none | needs-review |"), "{hidden}");
    }
}
