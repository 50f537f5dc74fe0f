//! From a notebook and a rubric to a result per question: extraction, the parsed value of each
//! answer, and (once checkers judge them) status, points and feedback. The result types here
//! are what every reporter reads.

pub mod value;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::extract::{self, Extraction, Method};
use crate::notebook::Notebook;
use crate::rubric::keys::Key;
use crate::rubric::{Reveal, Rubric};

pub use value::parse_value;

/// The verdict on one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Correct,
    Partial,
    Wrong,
    Missing,
    Unparseable,
    NeedsReview,
    /// Found, but no checker has judged it.
    Ungraded,
}

impl Status {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Correct => "correct",
            Status::Partial => "partial",
            Status::Wrong => "wrong",
            Status::Missing => "missing",
            Status::Unparseable => "unparseable",
            Status::NeedsReview => "needs-review",
            Status::Ungraded => "ungraded",
        }
    }
}

/// What was found for a question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerOut {
    pub text: String,
    /// The parsed answer: a number, a shape (list), an expression's text, ...; null when
    /// nothing could be parsed.
    pub value: serde_json::Value,
    pub cells: Vec<usize>,
    pub line: Option<usize>,
    pub confidence: f64,
    pub method: Option<Method>,
}

/// One question's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionResult {
    pub id: String,
    pub title: String,
    pub status: Status,
    /// Points awarded; null until graded.
    pub points: Option<f64>,
    pub max_points: f64,
    pub answer: AnswerOut,
    /// The key, where the rubric lets it be shown.
    pub expected: Option<String>,
    pub feedback: Vec<String>,
    pub required: bool,
}

/// One submission's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubmissionResult {
    pub submission: String,
    pub rubric: String,
    /// Total points; null until every question is graded.
    pub score: Option<f64>,
    pub max_score: f64,
    pub questions: Vec<QuestionResult>,
}

impl SubmissionResult {
    /// Whether a required answer is missing.
    pub fn missing_required(&self) -> bool {
        self.questions
            .iter()
            .any(|q| q.required && q.status == Status::Missing)
    }
}

/// Who the result is for: a student's self-check sees only what the rubric reveals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Student,
    Grader,
}

/// Extracts and reads every answer of `notebook` under `rubric`.
pub fn check(
    submission: &str,
    notebook: &Notebook,
    rubric: &Rubric,
    keys: &BTreeMap<String, Key>,
    audience: Audience,
) -> SubmissionResult {
    let extractions = extract::extract(notebook, rubric);
    let questions = rubric
        .questions
        .iter()
        .zip(extractions)
        .map(|(q, e)| {
            let key = keys.get(&q.id).unwrap_or(&Key::InRubric);
            question_result(q, e, key, audience)
        })
        .collect();
    SubmissionResult {
        submission: submission.to_string(),
        rubric: rubric.id.clone(),
        score: None,
        max_score: rubric.max_score(),
        questions,
    }
}

fn question_result(
    q: &crate::rubric::Question,
    e: Extraction,
    key: &Key,
    audience: Audience,
) -> QuestionResult {
    let value = if e.is_missing() {
        serde_json::Value::Null
    } else {
        parse_value(&q.answer, &e.text)
    };
    let needs_value = matches!(
        q.answer,
        crate::rubric::Answer::Number { .. }
            | crate::rubric::Answer::Shape { .. }
            | crate::rubric::Answer::Expression { .. }
    );
    let status = if e.is_missing() {
        Status::Missing
    } else if needs_value && value.is_null() {
        Status::Unparseable
    } else {
        Status::Ungraded
    };
    let mut feedback = Vec::new();
    if status == Status::Missing {
        feedback.push(if e.question_found {
            "no answer found after this question".to_string()
        } else {
            "this question was not found in the notebook".to_string()
        });
    }
    if status == Status::Unparseable {
        feedback.push(format!(
            "an answer was found, but no {} could be read from it",
            match q.answer {
                crate::rubric::Answer::Shape { .. } => "shape",
                crate::rubric::Answer::Expression { .. } => "formula",
                _ => "number",
            }
        ));
    }
    let shown = audience == Audience::Grader || q.reveal == Reveal::Everything;
    let expected = (shown && !matches!(key, Key::InRubric)).then(|| key.display());
    QuestionResult {
        id: q.id.clone(),
        title: q.title.clone(),
        status,
        points: None,
        max_points: q.points,
        answer: AnswerOut {
            text: e.text,
            value,
            cells: e.cells,
            line: e.line,
            confidence: e.confidence,
            method: e.method,
        },
        expected,
        feedback,
        required: q.required,
    }
}
