//! Free-text answers judged by concept rules: each rule is a set of patterns (regular
//! expressions, or plain words matched with typo tolerance, so "recpetive" and "reciptive"
//! count as "receptive"), weighted; a concept stated only in negation ("not vanishing") does
//! not count; forbidden claims cost credit; answers shorter than `min_words` are flagged.

use super::Verdict;
use crate::grading::Status;
use crate::rubric::ConceptRule;

/// Words that negate a concept when they come shortly before it.
const NEGATIONS: [&str; 8] = [
    "not", "no", "never", "without", "isn't", "doesn't", "don't", "cannot",
];
/// How many words before a match a negation still applies to.
const NEGATION_WINDOW: usize = 3;
/// Longest answer examined (characters).
const MAX_CHARS: usize = 64 * 1024;

/// Where a concept was found: its byte range in the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub negated: bool,
}

fn words_with_offsets(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let part = c.is_alphanumeric() || c == '\'' || c == '-';
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, text[s..i].to_lowercase()));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text[s..].to_lowercase()));
    }
    out
}

/// Whether two words are the same up to a typo: exact for short words, one edit for words of
/// 5 to 7 letters, two for longer ones (Damerau: a swap is one edit), same first letter.
fn same_word(pattern: &str, word: &str) -> bool {
    if pattern == word {
        return true;
    }
    let n = pattern.chars().count();
    let allowed = match n {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    };
    // Cheap rejections first: this runs for every word of every answer against every rule.
    // Typos keep the first letter; "perceptive" is another word than "receptive".
    allowed > 0
        && pattern.chars().next() == word.chars().next()
        && word.chars().count().abs_diff(n) <= allowed
        && strsim::damerau_levenshtein(pattern, word) <= allowed
}

/// `word` matches pattern word `w`: the same up to a typo, or a longer form of it
/// ("vanish" in "vanishing", "recpetive" in "recpetively").
fn word_matches(w: &str, word: &str) -> bool {
    // Every way of matching keeps the first letter: reject most words in one comparison.
    if w.as_bytes().first() != word.as_bytes().first() {
        return false;
    }
    if same_word(w, word) {
        return true;
    }
    if word.len() > w.len() && w.len() >= 4 && word.starts_with(w) {
        return true;
    }
    let n = w.chars().count();
    if word.chars().count() > n + 2 {
        let end = word.char_indices().nth(n).map_or(word.len(), |(i, _)| i);
        return same_word(w, &word[..end]);
    }
    false
}

fn is_plain(pattern: &str) -> bool {
    pattern
        .chars()
        .all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '\'')
}

/// Every match of `pattern` in `text`.
fn matches(pattern: &str, text: &str, words: &[(usize, String)]) -> Vec<(usize, usize)> {
    if is_plain(pattern) {
        let wanted: Vec<String> = pattern.split_whitespace().map(str::to_lowercase).collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for i in 0..words.len().saturating_sub(wanted.len() - 1) {
            // A plain word also matches as a prefix of a longer one ("vanish" in "vanishing").
            let ok = wanted
                .iter()
                .enumerate()
                .all(|(j, w)| word_matches(w, &words[i + j].1));
            if ok {
                let last = &words[i + wanted.len() - 1];
                out.push((words[i].0, last.0 + last.1.len()));
            }
        }
        return out;
    }
    match super::rubric_regex(pattern) {
        Some(re) => re.find_iter(text).map(|m| (m.start(), m.end())).collect(),
        None => Vec::new(),
    }
}

/// Whether a negation governs the match at `start`: one of the few words before it, in the
/// same clause ("No, he is not correct: tanh also saturates" does not negate "saturates").
fn negated(text: &str, start: usize, words: &[(usize, String)]) -> bool {
    words
        .iter()
        .filter(|(o, _)| *o < start)
        .rev()
        .take(NEGATION_WINDOW)
        .any(|(o, w)| {
            let is_negation = NEGATIONS.contains(&w.as_str()) || w.ends_with("n't");
            let between = text.get(o + w.len()..start).unwrap_or_default();
            is_negation && !between.contains(['.', ',', ';', ':', '!', '?'])
        })
}

/// Where `rule` is stated in `text`, negated or not.
pub fn find(rule: &ConceptRule, text: &str) -> Vec<Hit> {
    let text = cut(text);
    find_in(rule, text, &words_with_offsets(text))
}

/// [`find`] with the answer's words already split (they are shared by every rule).
fn find_in(rule: &ConceptRule, text: &str, words: &[(usize, String)]) -> Vec<Hit> {
    let mut hits: Vec<Hit> = rule
        .any
        .iter()
        .flat_map(|p| matches(p, text, words))
        .map(|(start, end)| Hit {
            start,
            end,
            negated: negated(text, start, words),
        })
        .collect();
    hits.sort_by_key(|h| h.start);
    hits
}

fn cut(text: &str) -> &str {
    if text.len() <= MAX_CHARS {
        return text;
    }
    let mut end = MAX_CHARS;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Checks a free-text answer.
pub fn check(
    rules: &[ConceptRule],
    forbidden: &[ConceptRule],
    min_words: Option<usize>,
    text: &str,
) -> Verdict {
    let text = cut(text);
    let words = words_with_offsets(text);
    let total: f64 = rules.iter().map(|r| r.weight.max(0.0)).sum();
    let mut got = 0.0;
    let mut found = Vec::new();
    let mut feedback = Vec::new();
    for rule in rules {
        let hits = find_in(rule, text, &words);
        if hits.iter().any(|h| !h.negated) {
            got += rule.weight.max(0.0);
            found.push(rule.name.clone());
        } else if hits.iter().any(|h| h.negated) {
            feedback.push(format!("mentions \"{}\" only in negation", rule.name));
        } else {
            feedback.push(format!("missing: {}", rule.name));
        }
    }
    let mut score = if total > 0.0 { got / total } else { 0.0 };
    for rule in forbidden {
        if find_in(rule, text, &words).iter().any(|h| !h.negated) {
            score = (score - rule.weight.max(0.0) / total.max(1.0)).max(0.0);
            feedback.push(format!("claims \"{}\", which is wrong", rule.name));
        }
    }
    let words = words.len();
    let short = min_words.is_some_and(|m| words < m);
    if short {
        feedback.push(format!(
            "the answer has {words} words; a full explanation needs at least {}",
            min_words.unwrap_or(0)
        ));
    }
    if short {
        // Too short for a full explanation: at most half the credit.
        score = score.min(0.5);
    }
    let status = if score >= 0.999 && !short {
        Status::Correct
    } else if score <= 0.0 {
        Status::Wrong
    } else {
        Status::Partial
    };
    Verdict {
        parts: Vec::new(),
        status,
        score,
        feedback,
        value: serde_json::json!({ "concepts": found, "words": words }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, any: &[&str]) -> ConceptRule {
        ConceptRule {
            name: name.into(),
            any: any.iter().map(|s| s.to_string()).collect(),
            weight: 1.0,
        }
    }

    #[test]
    fn typos_still_count() {
        let r = rule("receptive field", &["receptive field"]);
        for text in [
            "the recpetive field grows",
            "the reciptive field grows",
            "The Receptive Field grows",
        ] {
            assert!(find(&r, text).iter().any(|h| !h.negated), "{text}");
        }
        assert!(find(&r, "the perceptive yield").is_empty());
    }

    #[test]
    fn negated_concepts_do_not_count() {
        let r = rule("vanishing gradients", &["vanishing gradients"]);
        let v = check(
            std::slice::from_ref(&r),
            &[],
            None,
            "This is not vanishing gradients at all.",
        );
        assert_eq!(v.status, Status::Wrong);
        assert!(v.feedback[0].contains("negation"));
        let v = check(&[r], &[], None, "The cause is vanishing gradients.");
        assert_eq!(v.status, Status::Correct);
    }

    #[test]
    fn a_negation_in_another_clause_does_not_count() {
        let r = rule("tanh saturates too", &["saturat"]);
        let v = check(
            &[r],
            &[],
            None,
            "No, he is not correct: tanh also saturates.",
        );
        assert_eq!(v.status, Status::Correct);
    }

    #[test]
    fn weights_give_partial_credit_and_forbidden_claims_cost() {
        let rules = [
            rule("sigmoid saturates", &["saturat"]),
            rule("small derivative", &[r"derivative.{0,20}(small|0\.25)"]),
        ];
        let v = check(&rules, &[], None, "The sigmoid saturates for large inputs.");
        assert_eq!(v.status, Status::Partial);
        assert!((v.score - 0.5).abs() < 1e-12);
        let forbidden = [rule("tanh fixes it", &["tanh (solves|fixes)"])];
        let v = check(
            &rules,
            &forbidden,
            None,
            "It saturates; the derivative is at most 0.25. Tanh fixes it.",
        );
        assert!(v.score < 1.0);
        assert!(v.feedback.iter().any(|f| f.contains("wrong")));
    }

    #[test]
    fn short_answers_are_flagged() {
        let v = check(&[rule("x", &["dropout"])], &[], Some(10), "dropout");
        assert_eq!(v.status, Status::Partial);
        assert!(v.feedback.iter().any(|f| f.contains("1 words")));
    }
}
