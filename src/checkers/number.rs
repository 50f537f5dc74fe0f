//! Numeric answers: the value the student concludes with (not an intermediate one) against
//! the key, within the rubric's tolerance. A derivation that reaches the key while the
//! conclusion states another number is flagged for review with both shown; for a receptive
//! field, the student's intermediate numbers are compared with the reference trace and the
//! feedback names the first layer where they part.

use super::Status;
use super::Verdict;
use crate::answer::stated::stated_number;
use crate::answer::{numbers, Conclusion};
use crate::reference::receptive_field::TraceStep;
use crate::rubric::keys::{format_number, Key};

/// Whether `got` equals `want` within the tolerances (default: exact up to rounding noise).
pub fn close(got: f64, want: f64, abs_tol: Option<f64>, rel_tol: Option<f64>) -> bool {
    let tol = abs_tol
        .unwrap_or(0.0)
        .max(rel_tol.unwrap_or(0.0) * want.abs())
        .max(1e-9 * want.abs().max(1.0));
    (got - want).abs() <= tol
}

/// Checks a numeric answer against `key`.
pub fn check(key: &Key, abs_tol: Option<f64>, rel_tol: Option<f64>, text: &str) -> Verdict {
    let (want, trace) = match key {
        Key::Number { value, trace, .. } => (*value, trace.as_slice()),
        _ => {
            return Verdict {
                parts: Vec::new(),
                status: Status::NeedsReview,
                score: 0.0,
                feedback: vec!["the rubric has no numeric key for this question".into()],
                value: serde_json::Value::Null,
            }
        }
    };
    let Some(found) = stated_number(text) else {
        return Verdict {
            parts: Vec::new(),
            status: Status::Unparseable,
            score: 0.0,
            feedback: vec!["no final number found in the answer".into()],
            value: serde_json::Value::Null,
        };
    };
    let got = found.value;
    let value = serde_json::json!({ "value": got, "text": found.mention.text });
    if close(got, want, abs_tol, rel_tol) {
        // Right, unless another conclusion-like value contradicts it.
        // Only a conclusion at least as explicit as the chosen one casts doubt: an early
        // "RF = 13" does not contradict a closing \boxed{112}.
        let conflicting: Vec<f64> = found
            .other_candidates
            .iter()
            .filter(|c| c.kind.strength() <= found.chosen_by.strength())
            .map(|c| c.value)
            .filter(|v| !close(*v, want, abs_tol, rel_tol))
            .collect();
        if let Some(other) = conflicting.first() {
            return Verdict {
                parts: Vec::new(),
                status: Status::NeedsReview,
                score: 0.0,
                feedback: vec![format!(
                    "the answer concludes {} but also states {}; which is meant?",
                    format_number(got),
                    format_number(*other)
                )],
                value,
            };
        }
        return Verdict {
            parts: Vec::new(),
            status: Status::Correct,
            score: 1.0,
            feedback: Vec::new(),
            value,
        };
    }
    // Wrong final value; did the working reach the key anyway?
    if found
        .other_candidates
        .iter()
        .any(|c| close(c.value, want, abs_tol, rel_tol))
    {
        return Verdict {
            parts: Vec::new(),
            status: Status::NeedsReview,
            score: 0.0,
            feedback: vec![format!(
                "the working reaches {} but the conclusion states {}",
                format_number(want),
                format_number(got)
            )],
            value,
        };
    }
    let mut feedback = vec![format!(
        "you stated {}; the expected value is {}",
        format_number(got),
        format_number(want)
    )];
    if let Some(note) = trace_feedback(trace, text) {
        feedback.push(note);
    }
    // No conclusion cue at all (no `= N`, keyword, bold, box or arrow chain) in an answer
    // with several numbers: the last one is only a guess at what the student concludes, too
    // weak to mark the answer wrong.
    let mut distinct: Vec<f64> = Vec::new();
    for m in numbers(text).iter().filter(|m| !m.list_marker) {
        if !distinct.contains(&m.value) {
            distinct.push(m.value);
        }
    }
    if found.chosen_by == Conclusion::LastNumber && distinct.len() >= 3 {
        feedback[0] = format!(
            "no conclusion is stated; the last number, {}, was read, and the expected value \
             is {}",
            format_number(got),
            format_number(want)
        );
        return Verdict {
            parts: Vec::new(),
            status: Status::NeedsReview,
            score: 0.0,
            feedback,
            value,
        };
    }
    Verdict {
        parts: Vec::new(),
        status: Status::Wrong,
        score: 0.0,
        feedback,
        value,
    }
}

/// Compares the numbers a student wrote with the receptive-field trace, layer by layer: the
/// first reference value their working never states is where it went wrong.
pub fn trace_feedback(trace: &[TraceStep], text: &str) -> Option<String> {
    if trace.is_empty() {
        return None;
    }
    let written: Vec<f64> = numbers(text)
        .iter()
        .filter(|m| !m.list_marker)
        .map(|m| m.value)
        .collect();
    let reference: Vec<String> = trace
        .iter()
        .map(|s| s.receptive_field[0].to_string())
        .collect();
    if written.len() < 3 {
        return Some(format!(
            "the answer shows no layer-by-layer working; the reference trace is {}",
            reference.join(" -> ")
        ));
    }
    let mut matched = 0;
    for step in trace {
        if written.iter().any(|v| *v == step.receptive_field[0] as f64) {
            matched += 1;
        } else {
            let intro = if matched == 0 {
                "your working already differs at the first layer".to_string()
            } else {
                format!("your working agrees with the reference for the first {matched} layer(s)")
            };
            return Some(format!(
                "{intro}; after layer {} ({}) the receptive field is {} (jump {}). Reference \
                 trace: {}",
                step.index,
                step.layer,
                step.receptive_field[0],
                step.jump[0],
                reference.join(" -> ")
            ));
        }
    }
    Some(format!(
        "your working states every value of the reference trace ({}), but not as the \
         conclusion",
        reference.join(" -> ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: f64) -> Key {
        let step = |index, rf, jump| TraceStep {
            index,
            layer: format!("layer{index}"),
            receptive_field: [rf, rf],
            jump: [jump, jump],
        };
        Key::Number {
            value,
            trace: vec![
                step(0, 3, 1),
                step(2, 4, 2),
                step(3, 12, 4),
                step(5, 16, 8),
                step(6, 112, 8),
            ],
            source: "test".into(),
        }
    }

    #[test]
    fn the_final_value_in_its_many_forms() {
        for text in [
            "112",
            "112x112",
            "$112 \\times 112$",
            "RF=112 pixels",
            "The receptive field is **112**.",
        ] {
            assert_eq!(
                check(&key(112.0), None, None, text).status,
                Status::Correct,
                "{text}"
            );
        }
    }

    #[test]
    fn an_early_weaker_statement_does_not_contradict_a_boxed_answer() {
        let text =
            "RF = 13 -> 26 -> 55 -> 110 -> 112 going backwards, i.e. $\\boxed{112 \\times 112}$.";
        assert_eq!(check(&key(112.0), None, None, text).status, Status::Correct);
    }

    #[test]
    fn chains_and_closing_derivations() {
        for text in [
            "RF: 3 -> 4 -> 12 -> 16 -> 112, that is 112x112 input pixels",
            "Receptive field: 3 \u{2192} 4 \u{2192} 12 \u{2192} 16 \u{2192} 112.",
            "r = 2 + 1 + 8 + 4 + 96 + 1 = 112 since the dilated kernel spans 2*6+1",
        ] {
            let v = check(&key(112.0), None, None, text);
            assert_eq!(v.status, Status::Correct, "{text}: {:?}", v.feedback);
        }
        // A chain and a sum that disagree: review, both values named.
        let v = check(
            &key(112.0),
            None,
            None,
            "3 -> 6 -> 10 -> 22 -> 54\nr = 2 + 1 + 8 + 4 + 96 + 1 = 112",
        );
        assert_eq!(v.status, Status::NeedsReview);
        assert!(
            v.feedback[0].contains("112") && v.feedback[0].contains("54"),
            "{:?}",
            v.feedback
        );
    }

    #[test]
    fn tolerance_and_percent() {
        assert!(close(0.2801, 0.28, Some(1e-3), None));
        assert!(!close(0.29, 0.28, Some(1e-3), None));
        assert!(close(0.28, 0.28, None, None));
    }

    #[test]
    fn a_wrong_value_gets_the_trace_divergence() {
        let v = check(
            &key(112.0),
            None,
            None,
            "layer 1: 3, then 6, then 10, then 22, so RF = 54",
        );
        assert_eq!(v.status, Status::Wrong);
        assert!(v.feedback[1].contains("first 1 layer"), "{:?}", v.feedback);
        assert!(v.feedback[1].contains("after layer 2"), "{:?}", v.feedback);
    }

    #[test]
    fn a_guess_at_the_conclusion_is_not_marked_wrong() {
        let v = check(
            &key(112.0),
            None,
            None,
            "The first conv sees 3 pixels, pooling doubles it and the last conv has a kernel of 7 with dilation 2",
        );
        assert_eq!(v.status, Status::NeedsReview, "{:?}", v.feedback);
        assert!(v.feedback[0].contains("no conclusion"), "{:?}", v.feedback);
        // A single number is the answer.
        assert_eq!(check(&key(112.0), None, None, "13").status, Status::Wrong);
    }

    #[test]
    fn no_number_is_unparseable() {
        let v = check(&key(112.0), None, None, "It depends on the kernel sizes.");
        assert_eq!(v.status, Status::Unparseable);
    }
}
