//! True/false statements: the student's verdict on each statement, in order, against the key;
//! partial credit per statement, and the rubric's one-line reason for each one missed.
//!
//! Students write `True`, `T.`, `False -`, `F`, `Correct`, `Incorrect`, `**True**`, one per
//! sub-part (`1.`, `A.`, `a)`, `i.`) or in sequence without labels.

use std::sync::OnceLock;

use regex::Regex;

use super::Verdict;
use crate::grading::Status;
use crate::rubric::Statement;

fn verdict_word() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)(?:^|[^\p{L}])(?i:(true|correct|right|incorrect|false|wrong))(?:[^\p{L}]|$)|(?:^|[\s*(>])([TF])(?:[.):\-,\s*]|$)",
        )
        .expect("valid")
    })
}

fn part_label() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?m)^\s*(?:\*\*|__)?\s*\(?(?:\d{1,2}(?:\.\d{1,2})?|[A-Ha-h]|i{1,3}|iv|vi{0,3}|ix|x)\s*[.):](?:\*\*|__)?\s")
            .expect("valid")
    })
}

/// The first true/false word of `text`, if any.
pub fn first_verdict(text: &str) -> Option<bool> {
    let c = verdict_word().captures(text)?;
    if let Some(word) = c.get(1) {
        let w = word.as_str().to_ascii_lowercase();
        let positive = matches!(w.as_str(), "true" | "correct" | "right");
        // "Not true", "isn't correct": the verdict is the opposite word's.
        let before = text[..word.start()].trim_end().to_ascii_lowercase();
        let negated = before.ends_with("not") || before.ends_with("n't") || before.ends_with("n’t");
        return Some(positive != negated);
    }
    c.get(2).map(|l| l.as_str() == "T")
}

/// The student's verdicts, one per statement where they can be read.
pub fn read_verdicts(text: &str, n: usize) -> Vec<Option<bool>> {
    if n == 1 {
        return vec![first_verdict(text)];
    }
    // Labelled parts: one verdict each.
    let starts: Vec<usize> = part_label().find_iter(text).map(|m| m.start()).collect();
    if starts.len() >= 2 {
        let mut parts: Vec<&str> = Vec::new();
        for (i, &s) in starts.iter().enumerate() {
            let e = starts.get(i + 1).copied().unwrap_or(text.len());
            parts.push(&text[s..e]);
        }
        let mut out: Vec<Option<bool>> = parts.iter().map(|p| first_verdict(p)).collect();
        out.resize(n, None);
        out.truncate(n);
        return out;
    }
    // Otherwise, the verdict words in order, one per paragraph or sentence that has one.
    let mut out = Vec::new();
    for para in text.split("\n\n").flat_map(|p| p.split('\n')) {
        if let Some(v) = first_verdict(para) {
            out.push(Some(v));
        }
        if out.len() == n {
            break;
        }
    }
    out.resize(n, None);
    out
}

/// Checks the verdicts on `statements`.
pub fn check(statements: &[Statement], text: &str) -> Verdict {
    let read = read_verdicts(text, statements.len());
    let mut right = 0usize;
    let mut feedback = Vec::new();
    let mut unread = 0usize;
    for (i, (s, got)) in statements.iter().zip(&read).enumerate() {
        let label = if statements.len() > 1 {
            format!("statement {}: ", i + 1)
        } else {
            String::new()
        };
        match got {
            Some(v) if *v == s.key => right += 1,
            Some(v) => feedback.push(format!(
                "{label}you answered {}, but it is {}: {}",
                word(*v),
                word(s.key),
                s.why
            )),
            None => {
                unread += 1;
                feedback.push(format!("{label}no true/false verdict found"));
            }
        }
    }
    let n = statements.len().max(1);
    let score = right as f64 / n as f64;
    let status = if unread == statements.len() {
        Status::Unparseable
    } else if right == statements.len() {
        Status::Correct
    } else if right == 0 {
        Status::Wrong
    } else {
        Status::Partial
    };
    let value = serde_json::Value::Array(
        read.iter()
            .map(|v| v.map_or(serde_json::Value::Null, serde_json::Value::Bool))
            .collect(),
    );
    Verdict {
        parts: Vec::new(),
        status,
        score,
        feedback,
        value,
    }
}

fn word(v: bool) -> &'static str {
    if v {
        "true"
    } else {
        "false"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(keys: &[bool]) -> Vec<Statement> {
        keys.iter()
            .map(|&key| Statement {
                key,
                why: "because".into(),
            })
            .collect()
    }

    #[test]
    fn verdict_words_in_their_many_forms() {
        for (text, want) in [
            ("True", true),
            ("**False**, because", false),
            ("T. since", true),
            ("F - no", false),
            ("Correct: it is", true),
            ("Incorrect. The", false),
            ("The statement is false.", false),
            ("Not true. Dropout can go before", false),
            ("This isn't correct", false),
        ] {
            assert_eq!(first_verdict(text), Some(want), "{text}");
        }
        assert_eq!(first_verdict("It depends on the model"), None);
        assert_eq!(first_verdict("Truly ambiguous"), None);
    }

    #[test]
    fn labelled_parts_each_get_a_verdict() {
        let text = "A. **False**, dead units\nB. True: the slope\nC. False - it can";
        assert_eq!(
            read_verdicts(text, 3),
            [Some(false), Some(true), Some(false)]
        );
        let v = check(&st(&[false, false, true]), text);
        assert_eq!(v.status, Status::Partial);
        assert!((v.score - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(v.feedback.len(), 2);
    }

    #[test]
    fn unlabelled_verdicts_are_read_in_order() {
        let text = "True, it uses a modified backprop.\n\nFalse: the length is not limited.\n\nFalse, longer relations.";
        let v = check(&st(&[true, false, false]), text);
        assert_eq!(v.status, Status::Correct);
        assert_eq!(v.score, 1.0);
    }

    #[test]
    fn an_answer_without_verdicts_is_unparseable() {
        let v = check(&st(&[true]), "Dropout regularises the network.");
        assert_eq!(v.status, Status::Unparseable);
    }
}
