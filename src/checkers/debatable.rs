//! Debatable true/false statements: a rubric may accept the verdict other than its key when
//! the answer argues it (`accept: either`), or send that verdict to a person (`review:
//! true`). The truth checker asks [`other_verdict`] what to do with a verdict that is not
//! the key; everything else about reading verdicts stays in `truth.rs`.

use super::Status;
use crate::rubric::{Accept, Statement};

/// Words an explanation needs to count as a justification.
pub const JUSTIFICATION_WORDS: usize = 8;

/// What becomes of a verdict that is not the key: `None` when it is simply wrong, else the
/// status, score and feedback it gets.
pub fn other_verdict(
    s: &Statement,
    answered: bool,
    explanation: &str,
) -> Option<(Status, f64, String)> {
    let word = |v: bool| if v { "true" } else { "false" };
    let justified = own_words(s, explanation) >= JUSTIFICATION_WORDS;
    match (s.accept, justified, s.review) {
        (Accept::Either, true, _) => Some((
            Status::Correct,
            1.0,
            format!(
                "the key is {}, but {} is defensible and your answer argues it",
                word(s.key),
                word(answered)
            ),
        )),
        (_, _, true) => Some((
            Status::NeedsReview,
            0.0,
            format!(
                "the key is {}; {} can be argued ({}): a person reviews this statement",
                word(s.key),
                word(answered),
                s.why
            ),
        )),
        (Accept::Either, false, false) => Some((
            Status::Wrong,
            0.0,
            format!(
                "the key is {}; {} is defensible only with a justification, and the answer \
                 gives none",
                word(s.key),
                word(answered)
            ),
        )),
        (Accept::Key, _, false) => None,
    }
}

/// How many words of `explanation` are the student's own: the statement retyped (its
/// `text` snippet) is no justification.
fn own_words(s: &Statement, explanation: &str) -> usize {
    let flat = |t: &str| {
        t.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let mut rest = flat(explanation);
    if let Some(text) = s.text.as_deref().map(flat).filter(|t| !t.is_empty()) {
        rest = rest.replace(&text, " ");
    }
    rest.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// The explanation that goes with statement `i`: from where its verdict was read to where
/// the next statement's verdict (later in `text`) was read, or the end.
pub fn explanation<'a>(text: &'a str, offsets: &[Option<usize>], i: usize) -> &'a str {
    let Some(start) = offsets.get(i).copied().flatten() else {
        return "";
    };
    let end = offsets
        .iter()
        .flatten()
        .copied()
        .filter(|&o| o > start)
        .min()
        .unwrap_or(text.len());
    text.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(accept: Accept, review: bool) -> Statement {
        Statement {
            key: true,
            why: "the course's definition".into(),
            text: None,
            accept,
            review,
        }
    }

    #[test]
    fn either_needs_a_justification() {
        let s = statement(Accept::Either, false);
        let argued = "False: the backward pass is ordinary backprop on a truncated graph.";
        assert_eq!(other_verdict(&s, false, argued).unwrap().0, Status::Correct);
        assert_eq!(other_verdict(&s, false, "False.").unwrap().0, Status::Wrong);
    }

    #[test]
    fn the_statement_retyped_is_no_justification() {
        let mut s = statement(Accept::Either, false);
        s.text = Some("TBPTT uses a modified version of the backpropagation algorithm".into());
        let retyped = "False - TBPTT uses a modified version of the backpropagation algorithm.";
        assert_eq!(other_verdict(&s, false, retyped).unwrap().0, Status::Wrong);
    }

    #[test]
    fn review_sends_the_other_verdict_to_a_person() {
        let s = statement(Accept::Key, true);
        assert_eq!(
            other_verdict(&s, false, "False, in practice SGD means mini-batches.")
                .unwrap()
                .0,
            Status::NeedsReview
        );
        assert!(other_verdict(&statement(Accept::Key, false), false, "x").is_none());
    }

    #[test]
    fn explanations_run_to_the_next_verdict() {
        let text = "1. True, because x. 2. False, since y and z.";
        let offsets = [Some(3), Some(23)];
        assert_eq!(explanation(text, &offsets, 0), "True, because x. 2. ");
        assert_eq!(explanation(text, &offsets, 1), "False, since y and z.");
        assert_eq!(explanation(text, &[None], 0), "");
    }
}
