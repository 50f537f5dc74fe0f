//! Gradescope's autograder `results.json` for one submission, so a course that collects
//! notebooks on Gradescope can run examiner as its autograder and show each question as a
//! test with its points and feedback.
//!
//! Every test is `visible`. Correct = `passed`; partial, wrong, missing, unparseable =
//! `failed`; an answer awaiting review (or whose verdict is hidden) has no `score` and no
//! `status` (Gradescope then shows it neutral) and says so in its `output`.

use serde::Serialize;

use crate::grading::{QuestionResult, Status, SubmissionResult};
use crate::rubric::keys::format_points;

use super::escape::truncate;

/// At most this many characters of a student's answer are quoted in a test's output.
const ANSWER_SHOWN: usize = 500;

/// The whole `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    pub score: f64,
    pub output: String,
    pub tests: Vec<Test>,
}

/// One question, as a Gradescope test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Test {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    pub max_score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    pub output: String,
    pub visibility: &'static str,
}

/// The results for `r`, as data.
pub fn build(r: &SubmissionResult) -> Results {
    let mut output = match r.score {
        Some(score) => format!(
            "Automatically scored {} of {} points.",
            format_points(score),
            format_points(r.max_score)
        ),
        None => format!(
            "Scores are hidden ({} points in all).",
            format_points(r.max_score)
        ),
    };
    match r.pending_review {
        0 => {}
        1 => output.push_str(" 1 answer awaits review by a grader."),
        n => output.push_str(&format!(" {n} answers await review by a grader.")),
    }
    Results {
        score: r.score.unwrap_or(0.0),
        output,
        tests: r.questions.iter().map(test).collect(),
    }
}

/// `results.json` for `r`, pretty-printed with a final newline.
pub fn results(r: &SubmissionResult) -> String {
    // Serialising these types to a string cannot fail: no maps, only plain fields.
    let mut out = serde_json::to_string_pretty(&build(r)).expect("results serialise to JSON");
    out.push('\n');
    out
}

fn test(q: &QuestionResult) -> Test {
    let name = if q.title.is_empty() || q.title == q.id {
        q.id.clone()
    } else {
        format!("{}: {}", q.id, q.title)
    };
    let status = match q.status {
        Status::Correct => Some("passed"),
        Status::Partial | Status::Wrong | Status::Missing | Status::Unparseable => Some("failed"),
        Status::NeedsReview | Status::Ungraded => None,
    };
    let mut lines = vec![match q.status {
        Status::NeedsReview => "Awaiting review by a grader.".to_string(),
        Status::Ungraded => "Not scored automatically.".to_string(),
        _ => format!(
            "{}: {} of {} points",
            q.status.as_str(),
            format_points(q.points.unwrap_or(0.0)),
            format_points(q.max_points)
        ),
    }];
    if let Some(by) = q.reviewers() {
        lines.push(format!("Reviewed by {by}."));
    }
    if q.status != Status::Missing {
        let (shown, more) = truncate(q.answer.text.trim(), ANSWER_SHOWN);
        lines.push(String::new());
        lines.push("Your answer, as read:".to_string());
        lines.push(shown.to_string());
        if more > 0 {
            lines.push(format!("... ({more} more characters)"));
        }
    }
    if let Some(expected) = &q.expected {
        lines.push(String::new());
        lines.push(format!("Expected: {expected}"));
    }
    if !q.feedback.is_empty() {
        lines.push(String::new());
        lines.extend(q.feedback.iter().map(|f| format!("- {f}")));
    }
    Test {
        name,
        score: q.points,
        max_score: q.max_points,
        status,
        output: lines.join("\n"),
        visibility: "visible",
    }
}
