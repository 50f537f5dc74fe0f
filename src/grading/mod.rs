//! From a notebook and a rubric to a result per question: extraction, the parsed value of each
//! answer, and (once checkers judge them) status, points and feedback. The result types here
//! are what every reporter reads.

pub mod batch;
pub mod calibrate;
pub mod groups;
pub mod reviews;
pub mod row;
pub mod samples;
pub mod value;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::checkers::{self, Input, Verdict};
use crate::extract::{self, Extraction, Method};
use crate::notebook::Notebook;
use crate::rubric::keys::Key;
use crate::rubric::{Reveal, Rubric};

pub use crate::checkers::Status;
pub use value::parse_value;

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
    /// False when an "answer k of n" rule leaves this question out of the total.
    pub counted: bool,
    /// Sub-answers judged one by one (true/false statements, labelled parts); empty when the
    /// answer is judged whole.
    pub parts: Vec<PartResult>,
    /// [`reviews::answer_hash`] of the cells the answer was found in: what a review names to
    /// say which answer it was given for.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub answer_hash: String,
    /// The reviews applied to this question (see [`reviews`]); empty when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<reviews::ReviewMark>,
}

/// One sub-answer's result, under its question: `{"id", "status", "points", "max_points",
/// "value", "feedback", "cells", "line"}`. The same shape serves statements, labelled parts
/// and (later) concepts and derivatives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartResult {
    pub id: String,
    pub status: Status,
    /// Points awarded for this part; null while it awaits review.
    pub points: Option<f64>,
    pub max_points: f64,
    /// What was read for this part.
    pub value: serde_json::Value,
    /// This part's key (a statement's `true`/`false`), where the rubric lets it be shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<serde_json::Value>,
    pub feedback: Vec<String>,
    pub cells: Vec<usize>,
    /// 1-based line within the first of `cells`.
    pub line: Option<usize>,
}

/// One submission's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubmissionResult {
    pub submission: String,
    pub rubric: String,
    /// Points scored automatically; null in a student's self-check that hides verdicts.
    pub score: Option<f64>,
    pub max_score: f64,
    /// Answers awaiting a person's review (scored 0 until then).
    pub pending_review: usize,
    pub questions: Vec<QuestionResult>,
    /// What the grader should know about how this submission was read: a limit that was hit,
    /// files of a student folder that were skipped, text hidden from readers that was not
    /// graded. Empty for a clean read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Notes for the grader only, never shown in a student's feedback (a submission identical
    /// to another student's names that student).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grader_notes: Vec<String>,
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

/// Extracts, reads and judges every answer of `notebook` under `rubric`.
pub fn check(
    submission: &str,
    notebook: &Notebook,
    rubric: &Rubric,
    keys: &BTreeMap<String, Key>,
    audience: Audience,
) -> SubmissionResult {
    let extractions = extract::extract(notebook, rubric);
    judge(submission, notebook, rubric, keys, audience, extractions)
}

/// Reads and judges answers already extracted from `notebook` (in rubric order).
pub fn judge(
    submission: &str,
    notebook: &Notebook,
    rubric: &Rubric,
    keys: &BTreeMap<String, Key>,
    audience: Audience,
    extractions: Vec<Extraction>,
) -> SubmissionResult {
    let mut questions: Vec<QuestionResult> = rubric
        .questions
        .iter()
        .zip(extractions)
        .map(|(q, e)| {
            let key = keys.get(&q.id).unwrap_or(&Key::InRubric);
            if rubric.student {
                return found_only(q, e);
            }
            question_result(q, e, key, notebook)
        })
        .collect();
    let score = total(rubric, &mut questions);
    let pending_review = questions
        .iter()
        .filter(|q| q.counted && q.status == Status::NeedsReview)
        .count();
    // A student edition has no keys: no score either.
    let mut hidden = rubric.student;
    if audience == Audience::Student {
        for (q, r) in rubric.questions.iter().zip(questions.iter_mut()) {
            hidden |= hide_for_student(q.reveal, r);
        }
    }
    SubmissionResult {
        submission: submission.to_string(),
        rubric: rubric.id.clone(),
        score: (!hidden).then_some(score),
        max_score: rubric.max_score(),
        pending_review,
        questions,
        warnings: Vec::new(),
        grader_notes: Vec::new(),
    }
}

/// The total of the automatically scored points, under the rubric's "answer k of n" rules
/// (the best `k` of each group count). Answers awaiting review count 0 until a person scores
/// them; `pending_review` says how many there are.
fn total(rubric: &Rubric, questions: &mut [QuestionResult]) -> f64 {
    for rule in &rubric.choose {
        let mut group: Vec<usize> = questions
            .iter()
            .enumerate()
            .filter(|(_, q)| rule.questions.contains(&q.id))
            .map(|(i, _)| i)
            .collect();
        group.sort_by(|&a, &b| {
            let pa = questions[a].points.unwrap_or(f64::INFINITY);
            let pb = questions[b].points.unwrap_or(f64::INFINITY);
            pb.total_cmp(&pa)
        });
        for &i in group.iter().skip(rule.count) {
            let q = &mut questions[i];
            q.counted = false;
            q.feedback.push(match &rule.rule {
                Some(r) => format!("not counted: {r}"),
                None => format!("not counted: only {} of these questions count", rule.count),
            });
        }
    }
    questions
        .iter()
        .filter(|q| q.counted)
        .map(|q| q.points.unwrap_or(0.0))
        .sum()
}

/// Recomputes `result`'s total, "answer k of n" choices and `pending_review` after its
/// questions' points changed (a review was applied). `rubric` gives the choice rules; without
/// it every question counts.
pub(crate) fn rescore(rubric: Option<&Rubric>, result: &mut SubmissionResult) {
    for q in &mut result.questions {
        if !q.counted {
            q.counted = true;
            q.feedback.retain(|f| !f.starts_with("not counted: "));
        }
    }
    let score = match rubric {
        Some(rubric) => total(rubric, &mut result.questions),
        None => result
            .questions
            .iter()
            .map(|q| q.points.unwrap_or(0.0))
            .sum(),
    };
    if result.score.is_some() {
        result.score = Some(score);
    }
    result.pending_review = result
        .questions
        .iter()
        .filter(|q| q.counted && q.status == Status::NeedsReview)
        .count();
}

/// What a student's self-check may show, by the rubric's `reveal` policy; true when a
/// verdict was hidden.
fn hide_for_student(reveal: Reveal, r: &mut QuestionResult) -> bool {
    let mut hidden = false;
    if reveal == Reveal::Extracted && !matches!(r.status, Status::Missing | Status::Unparseable) {
        r.status = Status::Ungraded;
        r.points = None;
        r.feedback.clear();
        hidden = true;
    }
    if reveal != Reveal::Everything {
        r.expected = None;
        if reveal == Reveal::Verdict {
            r.feedback.clear();
        }
    }
    // Each part as its question: what is read stays, verdicts, keys and feedback only as
    // far as the rubric reveals them.
    for p in &mut r.parts {
        if reveal == Reveal::Extracted && !matches!(p.status, Status::Missing | Status::Unparseable)
        {
            p.status = Status::Ungraded;
            p.points = None;
            p.feedback.clear();
        }
        if reveal != Reveal::Everything {
            p.expected = None;
            if reveal == Reveal::Verdict {
                p.feedback.clear();
            }
            // A derivative's diagnosis is feedback.
            if let Some(read) = p.value.as_object_mut() {
                read.remove("diagnosis");
            }
        }
    }
    hidden
}

/// A question under a student edition (no key): what was found and read, never a verdict.
/// `missing` when nothing was found, `unparseable` when an answer of a kind with a value
/// (number, shape, formula, true/false) could not be read, `ungraded` otherwise.
fn found_only(q: &crate::rubric::Question, e: Extraction) -> QuestionResult {
    use crate::rubric::Answer;
    let value = if e.is_missing() {
        serde_json::Value::Null
    } else {
        parse_value(&q.answer, &e.text)
    };
    // True/false answers read as one value per statement: none read is no value.
    let value = match value {
        serde_json::Value::Array(v)
            if matches!(q.answer, Answer::Truth { .. })
                && v.iter().all(serde_json::Value::is_null) =>
        {
            serde_json::Value::Null
        }
        v => v,
    };
    let has_value = matches!(
        q.answer,
        Answer::Number { .. }
            | Answer::Shape { .. }
            | Answer::Expression { .. }
            | Answer::Truth { .. }
    );
    let (status, feedback) = if e.is_missing() {
        (
            Status::Missing,
            vec![if e.question_found {
                "no answer found after this question".to_string()
            } else {
                "this question was not found in the notebook".to_string()
            }],
        )
    } else if has_value && value.is_null() {
        (
            Status::Unparseable,
            vec!["found, but no value of this kind could be read from it".to_string()],
        )
    } else {
        (Status::Ungraded, Vec::new())
    };
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
        expected: None,
        feedback,
        required: q.required,
        counted: true,
        parts: Vec::new(),
        // A student's self-check with an edition is never reviewed.
        answer_hash: String::new(),
        reviews: Vec::new(),
    }
}

fn question_result(
    q: &crate::rubric::Question,
    e: Extraction,
    key: &Key,
    notebook: &Notebook,
) -> QuestionResult {
    let verdict = if e.is_missing() {
        Verdict {
            parts: Vec::new(),
            status: Status::Missing,
            score: 0.0,
            feedback: vec![if e.question_found {
                "no answer found after this question".to_string()
            } else {
                "this question was not found in the notebook".to_string()
            }],
            value: serde_json::Value::Null,
        }
    } else {
        checkers::check(
            q,
            key,
            Input {
                text: &e.text,
                question_text: &e.question_text,
                cells: &e.cells,
                notebook,
            },
        )
    };
    let points = match verdict.status {
        Status::NeedsReview | Status::Ungraded => None,
        _ => Some(verdict.score * q.points),
    };
    // A truth question's value is the checker's reading of each statement, which may come
    // from verdicts typed inside the question's own cell: taken from the verdict rather than
    // read a second time.
    let value = match (&q.answer, &verdict.value) {
        _ if e.is_missing() => serde_json::Value::Null,
        (crate::rubric::Answer::Truth { .. }, read @ serde_json::Value::Array(_)) => read.clone(),
        _ => parse_value(&q.answer, &e.text),
    };
    let expected = (!matches!(key, Key::InRubric)).then(|| key.display());
    let statements = match &q.answer {
        crate::rubric::Answer::Truth { statements } => statements.as_slice(),
        _ => &[],
    };
    let parts = verdict
        .parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (cells, line) = match (p.offset, p.question_offset) {
                (Some(offset), _) => e.locate_offset(offset),
                (None, Some(offset)) => e.locate_question_offset(offset),
                (None, None) => (Vec::new(), None),
            };
            PartResult {
                id: p.id.clone(),
                status: p.status,
                points: match p.status {
                    Status::NeedsReview | Status::Ungraded => None,
                    _ => Some(p.score * p.weight * q.points),
                },
                max_points: p.weight * q.points,
                value: p.value.clone(),
                expected: statements.get(i).map(|s| serde_json::Value::Bool(s.key)),
                feedback: p.feedback.clone(),
                cells,
                line,
            }
        })
        .collect();
    let answer_hash = reviews::answer_hash(notebook, &e.cells);
    QuestionResult {
        id: q.id.clone(),
        title: q.title.clone(),
        status: verdict.status,
        points,
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
        feedback: verdict.feedback,
        required: q.required,
        counted: true,
        parts,
        answer_hash,
        reviews: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth_result() -> QuestionResult {
        let part = |id: &str, status, value: bool, key: bool| PartResult {
            id: id.to_string(),
            status,
            points: Some(if value == key { 0.5 } else { 0.0 }),
            max_points: 0.5,
            value: serde_json::Value::Bool(value),
            expected: Some(serde_json::Value::Bool(key)),
            feedback: vec!["why".to_string()],
            cells: vec![3],
            line: Some(1),
        };
        QuestionResult {
            id: "t".into(),
            title: "T or F".into(),
            status: Status::Partial,
            points: Some(0.5),
            max_points: 1.0,
            answer: AnswerOut {
                text: "1. True\n2. True".into(),
                value: serde_json::json!([true, true]),
                cells: vec![3],
                line: Some(1),
                confidence: 0.9,
                method: None,
            },
            expected: None,
            feedback: vec!["statement 2: ...".into()],
            required: false,
            counted: true,
            parts: vec![
                part("1", Status::Correct, true, true),
                part("2", Status::Wrong, true, false),
            ],
            answer_hash: String::new(),
            reviews: Vec::new(),
        }
    }

    #[test]
    fn a_student_sees_part_keys_and_verdicts_only_as_far_as_the_rubric_reveals() {
        let mut r = truth_result();
        hide_for_student(Reveal::Everything, &mut r);
        assert!(r
            .parts
            .iter()
            .all(|p| p.expected.is_some() && !p.feedback.is_empty()));

        let mut r = truth_result();
        hide_for_student(Reveal::Verdict, &mut r);
        assert!(r
            .parts
            .iter()
            .all(|p| p.expected.is_none() && p.feedback.is_empty()));
        assert_eq!(r.parts[1].status, Status::Wrong);

        let mut r = truth_result();
        assert!(hide_for_student(Reveal::Extracted, &mut r));
        for p in &r.parts {
            assert_eq!(
                (p.status, p.points, p.expected.is_none()),
                (Status::Ungraded, None, true)
            );
            // What was read stays visible.
            assert_eq!(p.value, serde_json::Value::Bool(true));
        }
    }
}
