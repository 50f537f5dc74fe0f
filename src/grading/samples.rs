//! A rubric's own tests: every sample answer is judged as if a student had written it, and
//! must get the status, score and feedback the rubric says (`examiner rubric test`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::checkers::{self, Input};
use crate::extract::text::clean;
use crate::notebook::{Notebook, SourceFormat};
use crate::rubric::keys::{format_number, Key};
use crate::rubric::Rubric;

/// The outcome of one sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleOutcome {
    pub question: String,
    /// 1-based position among the question's samples.
    pub sample: usize,
    pub expected_status: String,
    pub status: String,
    pub score: f64,
    pub feedback: Vec<String>,
    /// Why the sample fails; empty when it passes.
    pub problems: Vec<String>,
}

impl SampleOutcome {
    /// True when the rubric's expectation holds.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Judges every sample of `rubric`.
pub fn run(rubric: &Rubric, keys: &BTreeMap<String, Key>) -> Vec<SampleOutcome> {
    // Samples are text only: there is no notebook, so no saved outputs.
    let empty = Notebook {
        cells: Vec::new(),
        format: SourceFormat::TextExport,
        language: None,
    };
    let mut out = Vec::new();
    for q in &rubric.questions {
        let key = keys.get(&q.id).unwrap_or(&Key::InRubric);
        for (i, sample) in q.samples.iter().enumerate() {
            let lines: Vec<&str> = sample.answer.lines().collect();
            let text = clean(&lines);
            let verdict = checkers::check(
                q,
                key,
                Input {
                    text: &text,
                    question_text: "",
                    cells: &[],
                    notebook: &empty,
                },
            );
            let status = verdict.status.as_str().to_string();
            let mut problems = Vec::new();
            if status != sample.status {
                problems.push(format!(
                    "status is {status}, the rubric expects {}",
                    sample.status
                ));
            }
            if let Some(want) = sample.score {
                if (verdict.score - want).abs() > 1e-9 {
                    problems.push(format!(
                        "score is {}, the rubric expects {}",
                        format_number(verdict.score),
                        format_number(want)
                    ));
                }
            }
            if let Some(want) = &sample.feedback {
                if !verdict.feedback.iter().any(|f| f.contains(want.as_str())) {
                    problems.push(format!("no feedback contains \"{want}\""));
                }
            }
            out.push(SampleOutcome {
                question: q.id.clone(),
                sample: i + 1,
                expected_status: sample.status.clone(),
                status,
                score: verdict.score,
                feedback: verdict.feedback,
                problems,
            });
        }
    }
    out
}
