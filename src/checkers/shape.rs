//! Shape answers: the shape the student states against the reference shape, dimension by
//! dimension. A shape stated only in words ("the first four dimensions are X's, the fifth is
//! 42000") is sent to review rather than marked wrong.

use serde_json::Value;

use super::Status;
use super::Verdict;
use crate::answer::stated::{dims_json, shape_reading};
use crate::answer::{Dim, ALL_OF_X};
use crate::rubric::keys::Key;

/// `(5, 6, 7, 8, 42000)` or `(X.shape[0], ..., 42000)`.
fn show(dims: &[Dim]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| match d {
            Dim::Size(n) => n.to_string(),
            Dim::Name(s) => s.clone(),
        })
        .collect();
    format!("({})", parts.join(", "))
}

/// Checks a shape answer against `key`.
pub fn check(key: &Key, text: &str) -> Verdict {
    let Key::Shape { value: want, .. } = key else {
        return Verdict {
            parts: Vec::new(),
            status: Status::NeedsReview,
            score: 0.0,
            feedback: vec!["the rubric has no shape key for this question".into()],
            value: Value::Null,
        };
    };
    let Some(reading) = shape_reading(text) else {
        // The last dimension said in words, with the others described as X's.
        let last = want.last().map(i64::to_string).unwrap_or_default();
        let digits: String = text.chars().filter(|c| !matches!(c, ',' | ' ')).collect();
        if !last.is_empty() && digits.contains(&last) {
            return Verdict {
                parts: Vec::new(),
                status: Status::NeedsReview,
                score: 0.0,
                feedback: vec![format!(
                    "no shape written out, but the answer mentions {last}: it may state the \
                     shape in words"
                )],
                value: Value::Null,
            };
        }
        return Verdict {
            parts: Vec::new(),
            status: Status::Unparseable,
            score: 0.0,
            feedback: vec!["no shape found in the answer".into()],
            value: Value::Null,
        };
    };
    let got = dims_json(&reading.dims);
    if let Some(doubt) = &reading.doubt {
        return Verdict {
            parts: Vec::new(),
            status: Status::NeedsReview,
            score: 0.0,
            feedback: vec![format!("read as {}, but {doubt}", show(&reading.dims))],
            value: Value::Array(got),
        };
    }
    if reading.from_words {
        // "The first 4 dimensions are X's, each entry becomes a 42000 vector": the count of
        // X's dimensions (when stated) and the new size are checked; that the output keeps
        // X's dimensions is the student's claim, which holds when the key is X's shape plus
        // one dimension (as for an embedding lookup).
        let last = reading.dims.last().and_then(|d| match d {
            Dim::Size(n) => Some(*n),
            Dim::Name(_) => None,
        });
        let named = reading
            .dims
            .iter()
            .filter(|d| matches!(d, Dim::Name(_)))
            .count();
        if named > 0 {
            let all_of_x = reading.dims.first() == Some(&Dim::Name(ALL_OF_X.into()));
            let ok = (all_of_x || reading.dims.len() == want.len())
                && want.len() >= 2
                && last == want.last().copied();
            return Verdict {
                parts: Vec::new(),
                status: if ok { Status::Correct } else { Status::Wrong },
                score: if ok { 1.0 } else { 0.0 },
                feedback: vec![format!(
                    "read from words as {}{}",
                    show(&reading.dims),
                    if ok {
                        String::new()
                    } else {
                        format!("; the expected shape is {want:?}")
                    }
                )],
                value: Value::Array(got),
            };
        }
    }
    let value = Value::Array(got.clone());
    let got_dims: Vec<Option<i64>> = got.iter().map(Value::as_i64).collect();
    if got_dims.len() == want.len() && got_dims.iter().zip(want).all(|(g, w)| *g == Some(*w)) {
        return Verdict {
            parts: Vec::new(),
            status: Status::Correct,
            score: 1.0,
            feedback: Vec::new(),
            value,
        };
    }
    let mut feedback = Vec::new();
    if got_dims.len() != want.len() {
        feedback.push(format!(
            "your shape has {} dimensions; the expected shape {:?} has {}",
            got_dims.len(),
            want,
            want.len()
        ));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g.as_i64() != Some(*w) {
            let shown = g.as_str().map_or_else(|| g.to_string(), str::to_string);
            feedback.push(format!(
                "dimension {}: you wrote {shown}, expected {w}",
                i + 1
            ));
        }
    }
    Verdict {
        parts: Vec::new(),
        status: Status::Wrong,
        score: 0.0,
        feedback,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::Shape {
            value: vec![5, 6, 7, 8, 42000],
            source: "test".into(),
        }
    }

    #[test]
    fn shapes_in_their_many_forms() {
        for text in [
            "(5, 6, 7, 8, 42000)",
            "torch.Size([5, 6, 7, 8, 42000])",
            "[5,6,7,8,42000]",
            "5x6x7x8x42000",
            "(5x6x7x8)x42000",
        ] {
            assert_eq!(check(&key(), text).status, Status::Correct, "{text}");
        }
    }

    #[test]
    fn per_dimension_diff() {
        let v = check(&key(), "Y is (5, 6, 7, 8, 42)");
        assert_eq!(v.status, Status::Wrong);
        assert_eq!(v.feedback, ["dimension 5: you wrote 42, expected 42000"]);
        let v = check(&key(), "(batch_size, seq_length, embedding_size)");
        assert_eq!(v.status, Status::Wrong);
        assert!(v.feedback[0].contains("3 dimensions"));
    }

    #[test]
    fn readings_and_their_doubts() {
        let words = "the first 4 dimensions of Y are the same as X, and each entry becomes a \
                     42000 vector";
        assert_eq!(check(&key(), words).status, Status::Correct);
        let words42 = "the first 4 dimensions of Y are the same as X, each entry becomes a \
                       vector of size 42";
        assert_eq!(check(&key(), words42).status, Status::Wrong);
        let parts = "2.1 output shape: (5, 6, 7, 8, 42000)\n2.2 the weight matrix is (42, 42000)";
        assert_eq!(check(&key(), parts).status, Status::Correct);
        let two = "(5, 6, 7, 8, 42) or maybe (5, 6, 7, 8, 42000)";
        let v = check(&key(), two);
        assert_eq!(v.status, Status::NeedsReview);
        assert!(v.feedback[0].contains("several shapes"), "{:?}", v.feedback);
        assert_eq!(
            check(&key(), "The output shape is 5,6,7,8,42,000").status,
            Status::Correct
        );
    }

    #[test]
    fn a_shape_in_words_is_for_review() {
        let v = check(&key(), "the first 4 dims are X's and the 5th is 42,000");
        assert_eq!(v.status, Status::NeedsReview);
    }
}
