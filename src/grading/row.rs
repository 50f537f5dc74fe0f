//! The one input every class-level report takes: a submission that was graded, or one that
//! could not be read (or matched to a rubric). Broken notebooks get their own row in every
//! report instead of being skipped, so the reports borrow both kinds through this type.
//!
//! A row borrows a full [`SubmissionResult`] (what a submission's own outputs read: answers,
//! feedback, parts) or a [`ScoreCard`] (what the reports of the whole class read at the end
//! of a run: scores, statuses, points, reviews and warnings). `grade` keeps only score cards
//! once a submission's own outputs are written, so its memory stays flat in the size of the
//! class.

use std::collections::HashSet;
use std::sync::Arc;

use super::reviews::ReviewMark;
use super::{Status, SubmissionResult};

/// One submission of a run, as the reports see it: `R` is what a graded one holds.
#[derive(Debug, PartialEq)]
pub enum Row<'a, R = SubmissionResult> {
    /// Read and graded.
    Graded {
        /// The student's id (the file's stem or the folder's name).
        student: &'a str,
        result: &'a R,
    },
    /// Could not be read or matched to a rubric.
    Failed {
        student: &'a str,
        /// The submission's path, as given.
        submission: &'a str,
        /// Why, in words for the person reading the report.
        error: &'a str,
    },
}

// By hand: derived, they would ask `R` to be `Copy` too, though only a reference is copied.
impl<R> Clone for Row<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Row<'_, R> {}

/// What a graded row holds: its submission's path.
pub trait Graded {
    /// The submission's path.
    fn submission(&self) -> &str;
}

impl Graded for SubmissionResult {
    fn submission(&self) -> &str {
        &self.submission
    }
}

impl Graded for ScoreCard {
    fn submission(&self) -> &str {
        &self.submission
    }
}

impl<'a, R: Graded> Row<'a, R> {
    /// The student's id.
    pub fn student(&self) -> &'a str {
        match self {
            Row::Graded { student, .. } | Row::Failed { student, .. } => student,
        }
    }

    /// The submission's path.
    pub fn submission(&self) -> &'a str {
        match *self {
            Row::Graded { result, .. } => result.submission(),
            Row::Failed { submission, .. } => submission,
        }
    }

    /// The result, when the submission was graded.
    pub fn result(&self) -> Option<&'a R> {
        match self {
            Row::Graded { result, .. } => Some(result),
            Row::Failed { .. } => None,
        }
    }
}

impl<'a, R> Row<'a, R> {
    /// The same row holding what `f` gives for its result.
    pub fn map<S>(self, f: impl FnOnce(&'a R) -> &'a S) -> Row<'a, S> {
        match self {
            Row::Graded { student, result } => Row::Graded {
                student,
                result: f(result),
            },
            Row::Failed {
                student,
                submission,
                error,
            } => Row::Failed {
                student,
                submission,
                error,
            },
        }
    }
}

/// What the reports of a whole class read of one result: about 40 bytes a question (a
/// question id is shared by every card that has it), where a full result holds every answer,
/// its feedback and parts.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreCard {
    pub submission: String,
    pub rubric: Arc<str>,
    /// As in [`SubmissionResult::score`].
    pub score: Option<f64>,
    pub max_score: f64,
    pub pending_review: usize,
    pub questions: Vec<QuestionScore>,
    /// The reviews applied, by index in `questions`; only the reviewed questions.
    pub reviews: Vec<(usize, Vec<ReviewMark>)>,
    pub warnings: Vec<String>,
    pub grader_notes: Vec<String>,
}

/// One question of a [`ScoreCard`].
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionScore {
    pub id: Arc<str>,
    pub status: Status,
    pub points: Option<f64>,
    /// As in [`super::QuestionResult::counted`].
    pub counted: bool,
}

/// The names score cards share (rubric and question ids): each is stored once per run.
#[derive(Debug, Default)]
pub struct Names(HashSet<Arc<str>>);

impl Names {
    /// The shared copy of `name`.
    pub fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.0.get(name) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(name);
        self.0.insert(n.clone());
        n
    }
}

impl ScoreCard {
    /// The score card of `r`, its names shared through `names`.
    pub fn of(r: &SubmissionResult, names: &mut Names) -> ScoreCard {
        ScoreCard {
            submission: r.submission.clone(),
            rubric: names.get(&r.rubric),
            score: r.score,
            max_score: r.max_score,
            pending_review: r.pending_review,
            questions: r
                .questions
                .iter()
                .map(|q| QuestionScore {
                    id: names.get(&q.id),
                    status: q.status,
                    points: q.points,
                    counted: q.counted,
                })
                .collect(),
            reviews: r
                .questions
                .iter()
                .enumerate()
                .filter(|(_, q)| !q.reviews.is_empty())
                .map(|(i, q)| (i, q.reviews.clone()))
                .collect(),
            warnings: r.warnings.clone(),
            grader_notes: r.grader_notes.clone(),
        }
    }

    /// The question `id`, if the card has it.
    pub fn question(&self, id: &str) -> Option<&QuestionScore> {
        self.questions.iter().find(|q| &*q.id == id)
    }
}

/// The score cards of the graded ones of `rows`, in order: for a caller that holds its class
/// in full and calls the class-level reports (with [`card_rows`]).
pub fn cards(rows: &[Row<'_>]) -> Vec<ScoreCard> {
    let mut names = Names::default();
    rows.iter()
        .filter_map(|r| r.result())
        .map(|r| ScoreCard::of(r, &mut names))
        .collect()
}

/// `rows` holding their score cards, `cards` being [`cards`] of the same rows.
pub fn card_rows<'a>(rows: &[Row<'a>], cards: &'a [ScoreCard]) -> Vec<Row<'a, ScoreCard>> {
    let mut next = cards.iter();
    rows.iter()
        .map(|row| {
            row.map(|_| {
                next.next()
                    .expect("`cards` has a card for every graded row")
            })
        })
        .collect()
}
