//! One option of several: the student's choice, by label (`B`, `(b)`) or by the option's
//! text, against the key.

use super::Status;
use super::Verdict;

/// Which option `text` chooses: a bare label (`B`, `b)`, `(B)`) at its start, else the one
/// option whose text it contains.
pub fn chosen(options: &[String], text: &str) -> Option<usize> {
    let t = text.trim().trim_start_matches(['*', '(', ' ']);
    let first = t.chars().next()?;
    let rest = t[first.len_utf8()..].chars().next();
    // A label stands alone or is closed by `.`, `)` or `:`; "A transformer" is an article.
    if first.is_ascii_alphabetic() && rest.is_none_or(|c| matches!(c, '.' | ')' | ':')) {
        let i = (first.to_ascii_lowercase() as u8).checked_sub(b'a')? as usize;
        if i < options.len() {
            return Some(i);
        }
    }
    let lower = text.to_lowercase();
    let hits: Vec<usize> = options
        .iter()
        .enumerate()
        .filter(|(_, o)| lower.contains(&o.to_lowercase()))
        .map(|(i, _)| i)
        .collect();
    (hits.len() == 1).then(|| hits[0])
}

/// Checks a choice against `key`.
pub fn check(options: &[String], key: &str, text: &str) -> Verdict {
    let want = options.iter().position(|o| o == key);
    match chosen(options, text) {
        None => Verdict {
            parts: Vec::new(),
            status: Status::Unparseable,
            score: 0.0,
            feedback: vec![format!(
                "no single option found; choose one of: {}",
                options.join(", ")
            )],
            value: serde_json::Value::Null,
        },
        Some(i) if Some(i) == want => Verdict {
            parts: Vec::new(),
            status: Status::Correct,
            score: 1.0,
            feedback: Vec::new(),
            value: options[i].clone().into(),
        },
        Some(i) => Verdict {
            parts: Vec::new(),
            status: Status::Wrong,
            score: 0.0,
            feedback: vec![format!("you chose \"{}\"", options[i])],
            value: options[i].clone().into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_label_or_by_text() {
        let options: Vec<String> = ["RNN", "Transformer"].map(String::from).to_vec();
        assert_eq!(chosen(&options, "B) because of attention"), Some(1));
        assert_eq!(chosen(&options, "(a)"), Some(0));
        assert_eq!(chosen(&options, "A transformer, since"), Some(1));
        assert_eq!(
            check(&options, "Transformer", "transformer").status,
            Status::Correct
        );
        assert_eq!(check(&options, "RNN", "transformer").status, Status::Wrong);
        assert_eq!(
            check(&options, "RNN", "either an RNN or a Transformer").status,
            Status::Unparseable
        );
    }
}
