//! One checker per answer kind, each in its own file: it reads the student's answer (already
//! extracted and cleaned) and returns a [`Verdict`] with a status, a score between 0 and 1, and
//! feedback that says what was right and what went wrong. Known-mistake rules from the rubric
//! are applied here too, the same way for every kind.

pub mod choice;
pub mod concepts;
pub mod debatable;
pub mod expression;
pub mod gradient;
pub mod manual;
pub mod number;
pub mod runs_clean;
pub mod shape;
pub mod truth;

use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use regex::Regex;

use crate::notebook::Notebook;
use crate::rubric::keys::Key;
use crate::rubric::{Answer, Mistake, Question};

/// A checker's judgement of one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: Status,
    /// Fraction of the question's points, 0 to 1.
    pub score: f64,
    pub feedback: Vec<String>,
    /// What the checker read from the answer (shown in reports and JSON).
    pub value: serde_json::Value,
    /// Sub-answers judged one by one (true/false statements, labelled parts), in the
    /// question's order; empty when the answer is judged whole.
    pub parts: Vec<Part>,
}

/// The judgement of one sub-answer: a true/false statement, a labelled part, (later) a
/// concept or a derivative. Reported under its question as `parts` (see
/// `grading::PartResult`).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Stable within the question: `1`, `2`, ... for statements, the label for parts.
    pub id: String,
    pub status: Status,
    /// Fraction of this part's own weight, 0 to 1.
    pub score: f64,
    /// This part's share of the question's points, 0 to 1 (the parts' weights sum to 1).
    pub weight: f64,
    /// What was read for this part (`true`/`false`/`null` for a statement).
    pub value: serde_json::Value,
    pub feedback: Vec<String>,
    /// Where the part's reading starts: a byte offset in the answer text the checker was
    /// given, mapped back to a cell and line by grading. None when it was not found.
    pub offset: Option<usize>,
    /// Where the reading stands when it was read in the question's own text instead (a
    /// verdict typed inside the question cell): a byte offset in `Input::question_text`.
    pub question_offset: Option<usize>,
}

/// What a checker gets to look at.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The answer text, cleaned.
    pub text: &'a str,
    /// The question's own text as it stands in the notebook (see
    /// [`crate::extract::Extraction::question_text`]); empty when unknown.
    pub question_text: &'a str,
    /// The cells it came from.
    pub cells: &'a [usize],
    pub notebook: &'a Notebook,
}

/// Judges one answer of `question`, whose key is `key`.
pub fn check(question: &Question, key: &Key, input: Input<'_>) -> Verdict {
    // Typographic minus and dashes read as the ASCII minus rubric patterns are written with.
    // (Both are three bytes opening with 0xE2: an answer without that byte is kept as it is,
    // not copied.)
    let text: std::borrow::Cow<'_, str> = if input.text.as_bytes().contains(&0xE2) {
        std::borrow::Cow::Owned(input.text.replace(['\u{2212}', '\u{2013}'], "-"))
    } else {
        std::borrow::Cow::Borrowed(input.text)
    };
    let input = Input {
        text: &text,
        ..input
    };
    let verdict = match &question.answer {
        Answer::Number {
            abs_tol, rel_tol, ..
        } => number::check(key, *abs_tol, *rel_tol, input.text),
        Answer::Expression {
            name,
            formula,
            variables,
            at,
            ..
        } => expression::check(name.as_deref(), formula, variables, at, key, input.text),
        Answer::Shape { .. } => shape::check(key, input.text),
        Answer::Truth { statements } => truth::check(statements, input.question_text, input.text),
        Answer::Choice { options, key } => choice::check(options, key, input.text),
        Answer::Concepts {
            rules,
            min_words,
            forbidden,
            decision,
            decisions,
        } => {
            let decisions: Vec<&crate::rubric::Decision> =
                decision.iter().chain(decisions).collect();
            concepts::check(rules, forbidden, *min_words, &decisions, input.text)
        }
        Answer::RunsClean {} if input.cells.is_empty() => runs_clean::check_transcript(input.text),
        Answer::RunsClean {} => runs_clean::check(input.notebook, input.cells),
        Answer::Manual {} => manual::check(),
        Answer::Gradient(answer) => match key {
            Key::Gradient { draws, .. } => {
                // The question's own text only where it is this question's (answers grouped
                // after a section come with the next question's text).
                let squash = |s: &str| s.split_whitespace().collect::<String>();
                let own = question
                    .locate
                    .start
                    .as_deref()
                    .is_some_and(|start| squash(input.question_text).contains(&squash(start)));
                let question_text = if own { input.question_text } else { "" };
                gradient::check(answer, draws, question_text, input.text)
            }
            _ => manual::check(),
        },
    };
    apply_mistakes(&question.mistakes, input.text, verdict)
}

/// Known mistakes: when a wrong answer matches one (by value or by pattern), its message leads
/// the feedback and its score is the credit (the status stays as the checker said). A correct
/// answer is never changed.
fn apply_mistakes(mistakes: &[Mistake], text: &str, mut verdict: Verdict) -> Verdict {
    if verdict.status == Status::Correct {
        return verdict;
    }
    let read = verdict
        .value
        .get("value")
        .cloned()
        .unwrap_or_else(|| verdict.value.clone());
    for m in mistakes {
        let hit = match (&m.value, &m.pattern) {
            (Some(v), _) => read
                .as_f64()
                .is_some_and(|x| (x - v).abs() < 1e-9 * v.abs().max(1.0)),
            (None, Some(p)) => rubric_regex(p).is_some_and(|re| re.is_match(text)),
            (None, None) => false,
        };
        if hit {
            verdict.feedback.insert(0, m.message.clone());
            // The answer stays wrong; the rubric may still give credit for the method.
            verdict.score = verdict.score.max(m.score);
            break;
        }
    }
    verdict
}

/// A rubric's pattern (case-insensitive), compiled once per process: the same rubric judges
/// thousands of answers, and compiling a regex costs far more than running it.
pub fn rubric_regex(pattern: &str) -> Option<Arc<Regex>> {
    static CACHE: OnceLock<RwLock<HashMap<String, Option<Arc<Regex>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(RwLock::default);
    if let Some(hit) = cache
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(pattern)
    {
        return hit.clone();
    }
    let compiled = regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .build()
        .ok()
        .map(Arc::new);
    cache
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(pattern.to_string(), compiled.clone());
    compiled
}

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
