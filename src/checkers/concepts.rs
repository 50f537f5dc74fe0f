//! Free-text answers judged by concept rules and decisions.
//!
//! Each rule is a concept the answer should state, as terms of the rule language (phrases
//! matched by word form across markup and line breaks, `near` terms, formulas, with a
//! polarity; regular expressions as the escape hatch), weighted; see [`crate::answer::meaning`] for
//! how text is read. A concept stated only in negation does not count; forbidden claims cost
//! credit; answers shorter than `min_words` get at most half.
//!
//! A decision (yes/no, a direction, a choice) is read from the answer's first sentence, else
//! its conclusion; a wrong one caps the score (25% by default), a hedged right one ("it
//! depends", "may or may not") at 50%, a missing one is reported.
//! Every concept and decision is reported as a part of the question: found (with the
//! sentence) or missing (with what was expected, in words).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use regex::Regex;

use super::Status;
use super::{Part, Verdict};
use crate::answer::meaning::{self, Doc, Formula, Hit, Phrase, Window};
use crate::rubric::{ConceptRule, Decision, Polarity, Term, Within};

/// The cap of a wrong decision when the rubric gives none.
pub const DEFAULT_CAP: f64 = 0.25;

/// A term, ready to match.
enum Matcher {
    Phrase(Phrase),
    Near(Vec<Phrase>, Window),
    Formula(Option<Formula>),
    Regex(Option<Arc<Regex>>),
}

struct Compiled {
    matcher: Matcher,
    polarity: Polarity,
}

/// Most compiled terms remembered per process; past it the memory starts over.
const COMPILED_TERMS: usize = 4_096;

/// Compiled terms by their text: phrases by the phrase, regexes by the pattern, other forms
/// by [`form_key`].
type TermCache = HashMap<(u8, String), Arc<Compiled>, std::hash::BuildHasherDefault<KeyHasher>>;

/// FNV-1a for the keys of [`TermCache`]: looked up for every term of every answer, where
/// the default hasher's fixed cost showed (`cargo xtask bench instructions`). The keys are
/// the rubric's own text.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// `term` compiled once per process and shared: a rubric's terms are the same for every
/// answer it judges, and compiling them (splitting, stemming each word, parsing formulas) for
/// every answer cost more than matching them (`cargo xtask bench instructions`). Keyed by
/// the rubric's text only, never by an answer.
fn cached(kind: u8, text: &str, make: impl FnOnce() -> Compiled) -> Arc<Compiled> {
    cached_by(kind, |key| key.push_str(text), make)
}

/// [`cached`] under the key `write` writes (into a reused buffer).
fn cached_by(
    kind: u8,
    write: impl FnOnce(&mut String),
    make: impl FnOnce() -> Compiled,
) -> Arc<Compiled> {
    static CACHE: OnceLock<RwLock<TermCache>> = OnceLock::new();
    let cache = CACHE.get_or_init(RwLock::default);
    // (A tuple key cannot be looked up by borrowed parts: the kind goes into a small buffer.)
    thread_local! {
        static KEY: std::cell::RefCell<(u8, String)> = const {
            std::cell::RefCell::new((0, String::new()))
        };
    }
    let hit = KEY.with(|key| {
        let mut key = key.borrow_mut();
        key.0 = kind;
        key.1.clear();
        write(&mut key.1);
        cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&*key)
            .cloned()
    });
    if let Some(hit) = hit {
        return hit;
    }
    let compiled = Arc::new(make());
    let mut cache = cache.write().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= COMPILED_TERMS {
        cache.clear();
    }
    let key = KEY.with(|key| key.borrow().1.clone());
    cache.insert((kind, key), compiled.clone());
    compiled
}

/// [`compile`], once per process for each term (see [`cached`]).
fn compile_cached(term: &Term) -> Arc<Compiled> {
    match term {
        Term::Phrase(p) => cached(b'p', p, || compile(term)),
        Term::Form(f) => cached_by(b'f', |key| form_key(key, f), || compile(term)),
    }
}

/// A key that tells term forms apart by every field [`compile`] reads, written without the
/// formatting machinery (a `Debug` string of the form cost more than matching the term).
/// Each text is preceded by its length, so no two forms write the same key.
fn form_key(key: &mut String, f: &crate::rubric::TermForm) {
    fn text(key: &mut String, tag: char, s: &str) {
        key.push(tag);
        number(key, s.len());
        key.push(':');
        key.push_str(s);
    }
    fn number(key: &mut String, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut k = digits.len();
        loop {
            k -= 1;
            digits[k] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        key.extend(digits[k..].iter().map(|&d| char::from(d)));
    }
    if let Some(p) = &f.phrase {
        text(key, 'p', p);
    }
    if let Some(near) = &f.near {
        key.push('n');
        number(key, near.len());
        for p in near {
            text(key, ',', p);
        }
    }
    match &f.within {
        Some(Within::Words(n)) => {
            key.push('w');
            number(key, *n);
        }
        Some(Within::Sentence(w)) => text(key, 's', w),
        None => {}
    }
    if let Some(e) = &f.expr {
        text(key, 'e', e);
    }
    key.push(match f.polarity {
        Polarity::Asserted => 'A',
        Polarity::Negated => 'N',
        Polarity::Any => 'Y',
    });
}

/// [`compile_regex`], once per process for each pattern.
fn compile_regex_cached(pattern: &str) -> Arc<Compiled> {
    cached(b'r', pattern, || compile_regex(pattern))
}

/// A term of the rubric, ready to match.
fn compile(term: &Term) -> Compiled {
    match term {
        Term::Phrase(p) => Compiled {
            matcher: Matcher::Phrase(Phrase::new(p)),
            polarity: Polarity::Asserted,
        },
        Term::Form(f) => {
            let matcher = if let Some(near) = &f.near {
                let window = match &f.within {
                    Some(Within::Words(n)) => Window::Words(*n),
                    Some(Within::Sentence(w)) if w == "clause" => Window::Clause,
                    _ => Window::Sentence,
                };
                Matcher::Near(near.iter().map(|p| Phrase::new(p)).collect(), window)
            } else if let Some(e) = &f.expr {
                Matcher::Formula(Formula::new(e))
            } else {
                Matcher::Phrase(Phrase::new(f.phrase.as_deref().unwrap_or_default()))
            };
            Compiled {
                matcher,
                polarity: f.polarity,
            }
        }
    }
}

/// A regular expression matches exactly what it says: negation is not read for it (write
/// the negation into the pattern when it matters).
fn compile_regex(pattern: &str) -> Compiled {
    Compiled {
        matcher: Matcher::Regex(super::rubric_regex(&format!("(?s){pattern}"))),
        polarity: Polarity::Any,
    }
}

/// Every place a term matches, negated or not.
fn raw_hits(c: &Compiled, doc: &Doc<'_>) -> Vec<Hit> {
    match &c.matcher {
        Matcher::Phrase(p) => meaning::phrase_hits(p, doc),
        Matcher::Near(ps, w) => meaning::near_hits(ps, *w, doc),
        Matcher::Formula(Some(f)) => meaning::formula_hits(f, doc),
        Matcher::Formula(None) | Matcher::Regex(None) => Vec::new(),
        Matcher::Regex(Some(re)) => re
            .find_iter(doc.text)
            .take(64)
            .filter_map(|m| {
                // The first token ending after the match starts and the last starting before
                // it ends, found by bisection: tokens are in text order and do not overlap,
                // so their starts and ends both increase (a scan per match cost the length
                // of the answer).
                let first = doc.tokens.partition_point(|t| t.end <= m.start());
                let last = doc
                    .tokens
                    .partition_point(|t| t.start < m.end())
                    .checked_sub(1)?;
                doc.tokens.get(first)?;
                (first <= last).then(|| Hit {
                    start: m.start(),
                    end: m.end(),
                    sentence: doc.tokens[first].sentence,
                    negated: doc.negated(first..last + 1, &[]),
                })
            })
            .collect(),
    }
}

/// Whether a hit counts under the term's polarity.
fn counts(polarity: Polarity, hit: &Hit) -> bool {
    match polarity {
        Polarity::Asserted => !hit.negated,
        Polarity::Negated => hit.negated,
        Polarity::Any => true,
    }
}

/// Where a rule is stated in an answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Finding {
    /// The first hit that counts.
    pub stated: Option<Hit>,
    /// The first hit of an asserted term that was negated, when none counts.
    pub only_negated: Option<Hit>,
}

/// Where `rule` is stated in `doc`.
/// `parts`: how many parts the question has (the largest `part` its rules and decisions
/// name), for rules that look in one part.
pub fn find(rule: &ConceptRule, doc: &Doc<'_>, parts: usize) -> Finding {
    // A rule about one part of the question looks in the student's part with that number,
    // when the answer has one.
    let only = rule.part.and_then(|n| part_sentences(doc, n.max(1), parts));
    let mut finding = find_in(rule, doc);
    if let Some(range) = only {
        let keep = |h: &Option<Hit>| h.clone().filter(|h| range.contains(&h.sentence));
        if finding
            .stated
            .as_ref()
            .is_some_and(|h| !range.contains(&h.sentence))
        {
            // Look again among the hits inside the part.
            let inside = find_all(rule, doc)
                .into_iter()
                .filter(|(h, _)| range.contains(&h.sentence))
                .collect::<Vec<_>>();
            finding.stated = inside.iter().find(|(_, c)| *c).map(|(h, _)| h.clone());
            finding.only_negated = inside.iter().find(|(_, c)| !*c).map(|(h, _)| h.clone());
        } else {
            finding.only_negated = keep(&finding.only_negated);
        }
        if finding.stated.is_some() {
            finding.only_negated = None;
        }
    }
    finding
}

/// A rule's terms as [`rule_terms`] remembers them: the terms, and each compiled.
struct RuleTerms {
    any: Vec<Term>,
    regex: Vec<String>,
    compiled: std::rc::Rc<[Arc<Compiled>]>,
}

/// The compiled terms of `rule` (its `any`, then its `regex`, each as [`compile_cached`] and
/// [`compile_regex_cached`] give it), remembered per thread by the rule's address: looking
/// each term up by its text, for every rule of every answer, cost more than matching most
/// of them (`cargo xtask bench instructions`). A remembered rule is used only when its terms
/// equal the rule's (another rule may live at a freed rule's address later), and the memory
/// holds at most [`COMPILED_TERMS`] rules, of rubrics only.
fn rule_terms(rule: &ConceptRule) -> std::rc::Rc<[Arc<Compiled>]> {
    type Rules = HashMap<usize, RuleTerms, std::hash::BuildHasherDefault<KeyHasher>>;
    thread_local! {
        static RULES: std::cell::RefCell<Rules> = std::cell::RefCell::default();
    }
    let address = std::ptr::from_ref(rule) as usize;
    RULES.with(|rules| {
        if let Some(known) = rules
            .borrow()
            .get(&address)
            .filter(|known| known.any == rule.any && known.regex == rule.regex)
        {
            return known.compiled.clone();
        }
        let compiled: std::rc::Rc<[Arc<Compiled>]> = rule
            .any
            .iter()
            .map(compile_cached)
            .chain(rule.regex.iter().map(|r| compile_regex_cached(r)))
            .collect();
        let mut rules = rules.borrow_mut();
        if rules.len() >= COMPILED_TERMS {
            rules.clear();
        }
        rules.insert(
            address,
            RuleTerms {
                any: rule.any.clone(),
                regex: rule.regex.clone(),
                compiled: compiled.clone(),
            },
        );
        compiled
    })
}

/// Every hit of `rule`, with whether it counts.
fn find_all(rule: &ConceptRule, doc: &Doc<'_>) -> Vec<(Hit, bool)> {
    let mut out = Vec::new();
    for c in rule_terms(rule).iter() {
        for hit in raw_hits(c, doc) {
            let counted = counts(c.polarity, &hit);
            if counted || c.polarity == Polarity::Asserted {
                out.push((hit, counted));
            }
        }
    }
    out.sort_by_key(|(h, _)| h.start);
    out
}

/// [`find`] over the whole answer: the first hit that counts (of two at one place, the
/// one of the earlier term), else the first negated hit of an asserted term.
///
/// Formula terms are matched last, and only in the sentences that could still hold an
/// earlier hit than the other terms found, up to their first hit: reading formulas is the
/// dearest part of matching. Their hits are never negated, so they never make
/// `only_negated`, and the result is the one of matching the terms in order.
fn find_in(rule: &ConceptRule, doc: &Doc<'_>) -> Finding {
    let compiled = rule_terms(rule);
    let mut finding = Finding::default();
    // The index of the term that made `finding.stated`.
    let mut stated_by = usize::MAX;
    // A hit of term `k` (not a formula).
    let take = |finding: &mut Finding, stated_by: &mut usize, k: usize, c: &Compiled, hit: Hit| {
        if counts(c.polarity, &hit) {
            if finding.stated.as_ref().is_none_or(|h| hit.start < h.start) {
                finding.stated = Some(hit);
                *stated_by = k;
            }
        } else if c.polarity == Polarity::Asserted && finding.only_negated.is_none() {
            finding.only_negated = Some(hit);
        }
    };
    for (k, c) in compiled.iter().enumerate() {
        match &c.matcher {
            Matcher::Formula(_) => {}
            // A phrase's hits come in the order of their starts: after its first hit that
            // counts, or from a hit that starts where the stated one does or later, no hit
            // changes what is stated (and `only_negated` is dropped once a hit is stated),
            // so the rest are not looked for.
            Matcher::Phrase(p) => meaning::each_phrase_hit(p, doc, |hit| {
                if finding
                    .stated
                    .as_ref()
                    .is_some_and(|h| hit.start >= h.start)
                {
                    return false;
                }
                let counted = counts(c.polarity, &hit);
                take(&mut finding, &mut stated_by, k, c, hit);
                !counted
            }),
            _ => {
                for hit in raw_hits(c, doc) {
                    take(&mut finding, &mut stated_by, k, c, hit);
                }
            }
        }
    }
    for (k, c) in compiled.iter().enumerate() {
        let Matcher::Formula(Some(f)) = &c.matcher else {
            continue;
        };
        // A formula's hits are never negated: a term that asks for a negated formula never
        // counts, and of the others only the first hit can come before the others' (a
        // later one starts later).
        if c.polarity == Polarity::Negated {
            continue;
        }
        let last_start = finding.stated.as_ref().map_or(usize::MAX, |h| h.start);
        for hit in meaning::formula_hits_from(f, doc, last_start, 1) {
            if counts(c.polarity, &hit) {
                let earlier = finding
                    .stated
                    .as_ref()
                    .is_none_or(|h| hit.start < h.start || (hit.start == h.start && k < stated_by));
                if earlier {
                    finding.stated = Some(hit);
                    stated_by = k;
                }
            }
        }
    }
    if finding.stated.is_some() {
        finding.only_negated = None;
    }
    finding
}

/// Whether any of `terms` is stated in the sentences `sentences` of `doc` (all when `None`);
/// for each term found, its position and whether it counts (`true`) or was found negated.
fn term_votes(terms: &[Term], doc: &Doc<'_>, sentence: Option<usize>) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    for t in terms {
        let c = compile_cached(t);
        for hit in raw_hits(&c, doc) {
            if sentence.is_some_and(|s| s != hit.sentence) {
                continue;
            }
            if counts(c.polarity, &hit) {
                out.push((hit.start, hit.end, true));
            } else if c.polarity == Polarity::Asserted {
                out.push((hit.start, hit.end, false));
            }
        }
    }
    out
}

/// What was read for a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The option read; `None` when the answer commits to none.
    pub option: Option<String>,
    /// The sentence it was read from.
    pub sentence: Option<usize>,
    /// Where: "the first sentence", "the conclusion", "the body".
    pub from: &'static str,
    /// Other options the same sentence also states.
    pub also_states: Vec<String>,
}

/// Sentences starting with these words conclude.
const CONCLUDERS: [&str; 9] = [
    "so",
    "therefore",
    "thus",
    "hence",
    "overall",
    "conclusion",
    "conclude",
    "summary",
    "consequently",
];

/// Every option the answer states, once: (sentence, priority, start, end, option). A
/// standalone yes/no outranks terms (priority 0); of two terms starting at one word, the
/// shorter ("iterations ... increase" before "iterations ... reduced") is read first.
fn all_votes(d: &Decision, doc: &Doc<'_>) -> Vec<(usize, u8, usize, usize, String)> {
    let names: Vec<&String> = d.options.keys().collect();
    let mut votes = Vec::new();
    for (name, terms) in &d.options {
        for t in terms {
            let c = compile_cached(t);
            for hit in raw_hits(&c, doc) {
                let option = if counts(c.polarity, &hit) {
                    Some(name.clone())
                } else if c.polarity == Polarity::Asserted && names.len() == 2 {
                    // "not correct" is the other of two options.
                    names.iter().find(|n| **n != name).map(|n| (*n).clone())
                } else {
                    None
                };
                if let Some(o) = option {
                    votes.push((hit.sentence, 1, hit.start, hit.end, o));
                }
            }
        }
    }
    // A standalone "Yes"/"No" opening a sentence or followed by punctuation, or an option's
    // own name followed by punctuation ("Decrease.", "Transformer:").
    //
    // What each distinct word of the answer would vote (and whether it is a yes/no, which
    // must stand alone, or an option's name, which must be followed by punctuation), worked
    // out once per word: most tokens vote nothing and are passed over without looking at
    // the text around them.
    let name_stems: Vec<String> = names.iter().map(|n| meaning::stem(n)).collect();
    let word_votes: Vec<Option<(bool, String)>> = (0..doc.distinct_words())
        .map(|id| {
            let (yes_no, option) = match doc.spelling(id) {
                "yes" | "yeah" | "yep" => (true, "yes".to_string()),
                "no" | "nope" => (true, "no".to_string()),
                _ => {
                    let stem = doc.stem_of_word(id);
                    let (n, _) = names
                        .iter()
                        .zip(&name_stems)
                        .find(|(_, s)| s.as_str() == stem)?;
                    (false, (*n).clone())
                }
            };
            (d.options.contains_key(&option) || d.expect == option).then_some((yes_no, option))
        })
        .collect();
    for (k, t) in doc.tokens.iter().enumerate() {
        let Some((yes_no, option)) = &word_votes[t.word_id as usize] else {
            continue;
        };
        // (A word followed by punctuation stands alone: a yes/no asks for either.)
        let stands = if *yes_no {
            doc.standalone(k)
        } else {
            doc.punct_after(t)
        };
        if stands {
            votes.push((t.sentence, 0, t.start, t.end, option.clone()));
        }
    }
    votes.sort();
    votes
}

/// The options sentence `sentence` states, in the order they are read.
fn votes_in(votes: &[(usize, u8, usize, usize, String)], sentence: usize) -> Vec<(usize, String)> {
    votes
        .iter()
        .filter(|v| v.0 == sentence)
        .map(|v| (v.2, v.4.clone()))
        .collect()
}

/// Reads a decision from the sentences `range` of `doc`: the first sentence, else the
/// conclusion (a concluding sentence, the last one first, or the last sentence), else the
/// first sentence of the body that states an option.
pub fn read_decision(d: &Decision, doc: &Doc<'_>, range: std::ops::Range<usize>) -> Reading {
    let mut reading = Reading {
        option: None,
        sentence: None,
        from: "",
        also_states: Vec::new(),
    };
    if range.is_empty() {
        return reading;
    }
    let first_word = |s: usize| -> Option<&str> {
        doc.sentence_tokens(s)
            .iter()
            .map(|t| doc.word(t))
            .find(|&w| w != "answer")
    };
    let mut candidates: Vec<(usize, &'static str)> = vec![(range.start, "the first sentence")];
    for s in range.clone().rev() {
        let concluding = first_word(s).is_some_and(|w| CONCLUDERS.contains(&w))
            || doc
                .sentence_tokens(s)
                .iter()
                .take(3)
                .any(|t| matches!(doc.word(t), "conclusion" | "summary" | "conclude"));
        if concluding && s != range.start {
            candidates.push((s, "the conclusion"));
        }
    }
    if range.end - 1 != range.start {
        candidates.push((range.end - 1, "the conclusion"));
    }
    candidates.extend(range.clone().skip(1).map(|s| (s, "the body")));
    let all = all_votes(d, doc);
    // A question (often the student's copy of the question's own text) commits to nothing.
    let asks = |s: usize| {
        doc.sentences
            .get(s)
            .and_then(|r| doc.text.get(r.clone()))
            .is_some_and(|t| t.trim_end_matches(['*', '_', ' ', '\n']).ends_with('?'))
    };
    for (s, from) in candidates.into_iter().filter(|(s, _)| !asks(*s)) {
        let votes = votes_in(&all, s);
        if let Some((_, option)) = votes.first() {
            let mut others: Vec<String> = votes
                .iter()
                .map(|(_, o)| o.clone())
                .filter(|o| o != option)
                .collect();
            others.dedup();
            reading = Reading {
                option: Some(option.clone()),
                sentence: Some(s),
                from,
                also_states: others,
            };
            return reading;
        }
    }
    reading
}

/// The sentences of the student's `n`-th part (1-based) of a question in `expected` parts.
/// Parts are, in this order of trust: lines labelled `1.`, `2)`, `(a)`, `b.`, `A:`, `iii.`
/// (a list that starts again at its first label is nested: its last restart holds the
/// parts); bullet items (`*`, `-`, `•`); paragraphs. A layout is used only when it has
/// exactly `expected` parts: more parts (a preamble, sub-points) or fewer make the mapping
/// a guess, and then `None` (the caller reads the whole answer).
fn part_sentences(doc: &Doc<'_>, n: usize, expected: usize) -> Option<std::ops::Range<usize>> {
    let expected = expected.max(n);
    let line_starts = |keep: &dyn Fn(&str) -> bool| -> Vec<usize> {
        let mut out = Vec::new();
        let mut offset = 0;
        for line in doc.text.split_inclusive('\n') {
            if keep(line) {
                out.push(offset + (line.len() - line.trim_start().len()));
            }
            offset += line.len();
        }
        out
    };
    let mut labels = line_starts(&|line| {
        is_label(
            line.trim_start()
                .trim_start_matches(['*', '_', '#', '>', ' '])
                .trim_start(),
        )
    });
    let firsts: Vec<usize> = labels
        .iter()
        .enumerate()
        .filter(|(_, &o)| is_first_label(&doc.text[o..]))
        .map(|(i, _)| i)
        .collect();
    if labels.len() != expected {
        if let Some(&last) = firsts.last() {
            if last > 0 && labels.len() - last == expected {
                labels.drain(..last);
            }
        }
    }
    let bullets = || {
        line_starts(&|line| {
            let l = line.trim_start();
            ["* ", "- ", "• ", "+ "].iter().any(|b| l.starts_with(b))
        })
    };
    let paragraphs = || {
        let mut out = Vec::new();
        let mut offset = 0;
        let mut previous_blank = true;
        for line in doc.text.split_inclusive('\n') {
            let blank = line.trim().is_empty();
            if !blank && previous_blank {
                out.push(offset);
            }
            previous_blank = blank;
            offset += line.len();
        }
        out
    };
    let starts = if labels.len() == expected {
        labels
    } else if labels.len() > expected {
        return None;
    } else {
        let b = bullets();
        if b.len() == expected {
            b
        } else {
            let p = paragraphs();
            if p.len() == expected {
                p
            } else {
                return None;
            }
        }
    };
    let begin = *starts.get(n - 1)?;
    let end = starts.get(n).copied().unwrap_or(doc.text.len());
    // A sentence belongs to the part its first word is in.
    let mut sentences: Vec<usize> = doc
        .tokens
        .iter()
        .filter(|t| t.start >= begin && t.start < end)
        .map(|t| t.sentence)
        .collect();
    sentences.dedup();
    Some(*sentences.first()?..*sentences.last()? + 1)
}

/// Whether a line starts with a first label: `1.`, `a)`, `(A)`, `i.`.
fn is_first_label(line: &str) -> bool {
    let l = line
        .trim_start_matches(['*', '_', '#', '>', ' ', '\t', '('])
        .to_ascii_lowercase();
    (l.starts_with('1') && !l[1..].starts_with(|c: char| c.is_ascii_digit()))
        || l.starts_with("a.")
        || l.starts_with("a)")
        || l.starts_with("a:")
        || l.starts_with("i.")
        || l.starts_with("i)")
}

/// Whether a line starts with a part label: `1.`, `2)`, `(a)`, `B:`, `iii.`.
fn is_label(line: &str) -> bool {
    let l = line.strip_prefix('(').unwrap_or(line);
    let label_len = l
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .map(char::len_utf8)
        .sum::<usize>();
    if label_len == 0 || label_len > 4 {
        return false;
    }
    let label = &l[..label_len];
    let numbered = label.chars().all(|c| c.is_ascii_digit())
        || label.len() == 1
        || label
            .chars()
            .all(|c| matches!(c, 'i' | 'v' | 'x' | 'I' | 'V' | 'X'));
    let rest = &l[label_len..];
    let rest = rest.trim_start_matches(['*', '_']);
    numbered
        && rest.starts_with(['.', ')', ':'])
        && !rest[1..].starts_with(|c: char| c.is_ascii_digit())
}

/// The judgement of one decision: its part, and the cap it puts on the score.
fn judge_decision(d: &Decision, doc: &Doc<'_>, parts: usize) -> (Part, f64) {
    let id = match &d.name {
        Some(n) => format!("decision: {n}"),
        None => "decision".to_string(),
    };
    let cap = d.cap.unwrap_or(DEFAULT_CAP);
    let range = match d.part {
        Some(n) => part_sentences(doc, n.max(1), parts),
        None => Some(0..doc.sentences.len()),
    };
    let where_ = d.part.map_or(String::new(), |n| format!(" in part {n}"));
    let range_of_reading = range.clone();
    let reading = range.map_or(
        Reading {
            option: None,
            sentence: None,
            from: "",
            also_states: Vec::new(),
        },
        |r| read_decision(d, doc, r),
    );
    let quote = |s: Option<usize>| s.map(|s| doc.sentence_text(s)).unwrap_or_default();
    let offset = reading
        .sentence
        .and_then(|s| doc.sentences.get(s))
        .map(|r| r.start);
    let Some(option) = reading.option.clone() else {
        let part = Part {
            id,
            status: Status::Missing,
            score: 0.0,
            weight: 0.0,
            value: serde_json::Value::Null,
            feedback: vec![format!(
                "no decision read{where_}: the answer should commit to \"{}\" in its first \
                 sentence or its conclusion",
                d.expect
            )],
            offset: None,
            question_offset: None,
        };
        return (part, 1.0);
    };
    let hedged = range_of_reading.clone().is_some_and(|r| is_hedged(doc, r));
    let right_by_condition = d
        .also
        .iter()
        .find(|a| a.expect == option && !term_votes(&a.when, doc, None).iter().all(|(_, _, s)| !s));
    let right = option == d.expect || right_by_condition.is_some();
    let mut feedback = vec![format!(
        "decision{where_}: read \"{option}\" from {}: \u{201c}{}\u{201d}",
        reading.from,
        quote(reading.sentence)
    )];
    if !reading.also_states.is_empty() {
        feedback.push(format!(
            "the same sentence also states \"{}\"; the first one stated was taken",
            reading.also_states.join("\", \"")
        ));
    }
    if right_by_condition.is_some() {
        feedback.push(format!(
            "\"{option}\" is right under the condition the answer states"
        ));
    } else if !right {
        feedback.push(format!(
            "the right decision is \"{}\": the score is capped at {:.0}%",
            d.expect,
            cap * 100.0
        ));
    }
    if right && hedged {
        feedback.push(format!(
            "the answer hedges its decision (\"it depends\", \"may or may not\"): the score \
             is capped at {:.0}%",
            HEDGED_CAP * 100.0
        ));
    }
    let part = Part {
        id,
        status: if right {
            Status::Correct
        } else {
            Status::Wrong
        },
        score: if right { 1.0 } else { 0.0 },
        weight: 0.0,
        value: serde_json::Value::String(option),
        feedback,
        offset,
        question_offset: None,
    };
    let cap = match (right, hedged) {
        (true, false) => 1.0,
        (true, true) => HEDGED_CAP,
        (false, _) => cap,
    };
    (part, cap)
}

/// The cap of a right decision the answer hedges.
pub const HEDGED_CAP: f64 = 0.5;

/// Phrases that hedge a decision: the answer does not commit.
const HEDGES: [&str; 6] = [
    "difficult|hard to know|say|tell|predict|determine",
    "it depends",
    "may or may not",
    "might or might not",
    "not sure",
    "cannot|can't be sure|certain",
];

/// Whether the sentences `range` hedge the decision.
fn is_hedged(doc: &Doc<'_>, range: std::ops::Range<usize>) -> bool {
    static PHRASES: OnceLock<Vec<Phrase>> = OnceLock::new();
    let phrases = PHRASES.get_or_init(|| HEDGES.iter().map(|h| Phrase::new(h)).collect());
    phrases.iter().any(|h| {
        meaning::phrase_hits(h, doc)
            .iter()
            .any(|hit| range.contains(&hit.sentence))
    })
}

/// Checks a free-text answer.
pub fn check(
    rules: &[ConceptRule],
    forbidden: &[ConceptRule],
    min_words: Option<usize>,
    decisions: &[&Decision],
    text: &str,
) -> Verdict {
    let doc = Doc::new(text);
    // How many parts the question has: the largest part its rules and decisions name.
    let question_parts = rules
        .iter()
        .chain(forbidden)
        .filter_map(|r| r.part)
        .chain(decisions.iter().filter_map(|d| d.part))
        .max()
        .unwrap_or(1);
    let total: f64 = rules.iter().map(|r| r.weight.max(0.0)).sum::<f64>()
        + decisions.iter().map(|d| d.weight.max(0.0)).sum::<f64>();
    let mut got = 0.0;
    let mut found = Vec::new();
    let mut feedback = Vec::new();
    let mut parts = Vec::new();
    for rule in rules {
        let finding = find(rule, &doc, question_parts);
        let weight = if total > 0.0 {
            rule.weight.max(0.0) / total
        } else {
            0.0
        };
        let expects = rule.expects.as_deref().unwrap_or(&rule.name);
        let (status, score, part_feedback, value, offset) = if let Some(hit) = &finding.stated {
            got += rule.weight.max(0.0);
            found.push(rule.name.clone());
            let sentence = doc.sentence_text(hit.sentence);
            (
                Status::Correct,
                1.0,
                format!("found: \u{201c}{sentence}\u{201d}"),
                serde_json::Value::String(sentence),
                Some(hit.start),
            )
        } else if let Some(hit) = &finding.only_negated {
            let sentence = doc.sentence_text(hit.sentence);
            feedback.push(format!("mentions \"{}\" only in negation", rule.name));
            (
                Status::Wrong,
                0.0,
                format!("stated only in negation: \u{201c}{sentence}\u{201d}; expected: {expects}"),
                serde_json::Value::String(sentence),
                Some(hit.start),
            )
        } else {
            feedback.push(format!("missing: {}", rule.name));
            (
                Status::Wrong,
                0.0,
                format!("missing: {expects}"),
                serde_json::Value::Null,
                None,
            )
        };
        parts.push(Part {
            id: rule.name.clone(),
            status,
            score,
            weight,
            value,
            feedback: vec![part_feedback],
            offset,
            question_offset: None,
        });
    }
    // Decisions: each one right may earn its weight; each wrong one caps its share.
    let mut decided = Vec::new();
    let mut cap_sum = 0.0;
    for d in decisions {
        let (mut part, cap) = judge_decision(d, &doc, question_parts);
        cap_sum += cap;
        if total > 0.0 && d.weight > 0.0 {
            part.weight = d.weight / total;
            if part.status == Status::Correct {
                got += d.weight;
            }
        }
        feedback.extend(
            part.feedback
                .iter()
                .filter(|f| f.contains("capped") || f.starts_with("no decision"))
                .cloned(),
        );
        decided.push(serde_json::json!({"id": part.id, "read": part.value}));
        parts.push(part);
    }
    let mut score = if total > 0.0 { got / total } else { 0.0 };
    for rule in forbidden {
        let finding = find(rule, &doc, question_parts);
        if let Some(hit) = finding.stated {
            score = (score - rule.weight.max(0.0) / total.max(1.0)).max(0.0);
            feedback.push(format!(
                "claims \"{}\", which is wrong: \u{201c}{}\u{201d}",
                rule.name,
                doc.sentence_text(hit.sentence)
            ));
        }
    }
    let words = doc.tokens.len();
    let short = min_words.is_some_and(|m| words < m);
    if short {
        feedback.push(format!(
            "the answer has {words} words; a full explanation needs at least {}",
            min_words.unwrap_or(0)
        ));
        // Too short for a full explanation: at most half the credit.
        score = score.min(0.5);
    }
    if !decisions.is_empty() {
        // All wrong is the cap, all right is no cap.
        score = score.min(cap_sum / decisions.len() as f64);
    }
    let status = if score >= 0.999 && !short {
        Status::Correct
    } else if score <= 0.0 {
        Status::Wrong
    } else {
        Status::Partial
    };
    let mut value = serde_json::json!({ "concepts": found, "words": words });
    if !decided.is_empty() {
        value["decisions"] = serde_json::Value::Array(decided);
    }
    Verdict {
        parts,
        status,
        score,
        feedback,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rubric::{AlsoRight, TermForm};

    fn rule(name: &str, any: &[&str]) -> ConceptRule {
        ConceptRule {
            name: name.into(),
            expects: None,
            any: any.iter().map(|s| Term::Phrase(s.to_string())).collect(),
            regex: Vec::new(),
            weight: 1.0,
            part: None,
        }
    }

    fn yes_no(expect: &str, yes: &[&str]) -> Decision {
        Decision {
            name: None,
            expect: expect.into(),
            options: [
                (
                    "yes".to_string(),
                    yes.iter().map(|s| Term::Phrase(s.to_string())).collect(),
                ),
                ("no".to_string(), Vec::new()),
            ]
            .into_iter()
            .collect(),
            cap: None,
            also: Vec::new(),
            part: None,
            weight: 0.0,
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
            assert!(find(&r, &Doc::new(text), 1).stated.is_some(), "{text}");
        }
        assert!(find(&r, &Doc::new("the perceptive yield"), 1)
            .stated
            .is_none());
    }

    #[test]
    fn negated_concepts_do_not_count() {
        let r = rule("vanishing gradients", &["vanishing gradient"]);
        let v = check(
            std::slice::from_ref(&r),
            &[],
            None,
            &[],
            "This is not vanishing gradients at all.",
        );
        assert_eq!(v.status, Status::Wrong);
        assert!(v.feedback[0].contains("negation"));
        assert!(v.parts[0].feedback[0].contains("only in negation"));
        let v = check(&[r], &[], None, &[], "The cause is vanishing gradients.");
        assert_eq!(v.status, Status::Correct);
        assert_eq!(
            v.parts[0].value,
            serde_json::json!("The cause is vanishing gradients.")
        );
    }

    #[test]
    fn negated_claims_and_mentions() {
        let mut r = rule("linear cannot separate", &[]);
        for p in ["linear classifier separate", "hyperplane separate"] {
            r.any.push(Term::Form(TermForm {
                phrase: Some(p.into()),
                polarity: Polarity::Negated,
                ..TermForm::default()
            }));
        }
        for text in [
            "one class lies inside the ellipse, which no linear classifier can separate",
            "no hyperplane in R^2 can separate that",
        ] {
            assert!(find(&r, &Doc::new(text), 1).stated.is_some(), "{text}");
        }
        assert!(find(&r, &Doc::new("a hyperplane can separate them"), 1)
            .stated
            .is_none());
    }

    #[test]
    fn missing_concepts_say_what_was_expected() {
        let mut r = rule("expectation", &["expect*"]);
        r.expects = Some("the expected value of the kept activation".into());
        let v = check(&[r], &[], None, &[], "It is scaled.");
        assert_eq!(
            v.parts[0].feedback,
            vec!["missing: the expected value of the kept activation".to_string()]
        );
    }

    #[test]
    fn a_wrong_decision_caps_the_score() {
        let d = yes_no("no", &["correct", "tanh solve|fix|help"]);
        let rules = [rule("saturates", &["saturate"])];
        let v = check(
            &rules,
            &[],
            None,
            &[&d],
            "Yes, he is correct. tanh saturates less, so it fixes the gradients.",
        );
        assert!((v.score - 0.25).abs() < 1e-12, "{v:?}");
        assert_eq!(v.parts[1].status, Status::Wrong);
        assert_eq!(v.parts[1].value, serde_json::json!("yes"));
        let v = check(
            &rules,
            &[],
            None,
            &[&d],
            "He is not correct: tanh also saturates for large inputs.",
        );
        assert_eq!(v.status, Status::Correct, "{v:?}");
        assert_eq!(v.parts[1].value, serde_json::json!("no"));
        let v = check(&rules, &[], None, &[&d], "Tanh saturates as well.");
        assert_eq!(v.parts[1].status, Status::Missing);
        assert!((v.score - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_stated_condition_allows_the_other_decision() {
        let mut d = Decision {
            name: None,
            expect: "increase".into(),
            options: [
                (
                    "increase".to_string(),
                    vec![Term::Phrase("increase|double|raise".into())],
                ),
                (
                    "decrease".to_string(),
                    vec![Term::Phrase("decrease|halve|reduce".into())],
                ),
            ]
            .into_iter()
            .collect(),
            cap: None,
            also: Vec::new(),
            part: None,
            weight: 0.0,
        };
        d.also.push(AlsoRight {
            expect: "decrease".into(),
            when: vec![Term::Form(TermForm {
                near: Some(vec!["sum".into(), "loss|reduction".into()]),
                ..TermForm::default()
            })],
        });
        let rules = [rule("lr", &["learning rate"])];
        let text = "We should halve the learning rate, because our loss is a sum over the batch.";
        let v = check(&rules, &[], None, &[&d], text);
        assert_eq!(v.status, Status::Correct, "{v:?}");
        let text = "We should halve the learning rate.";
        let v = check(&rules, &[], None, &[&d], text);
        assert!((v.score - 0.25).abs() < 1e-12);
    }

    #[test]
    fn decisions_per_part() {
        let choice = |n: usize, expect: &str| Decision {
            name: Some(format!("scenario {n}")),
            expect: expect.into(),
            options: [
                (
                    "rnn".to_string(),
                    vec![Term::Phrase("rnn|recurrent".into())],
                ),
                (
                    "transformer".to_string(),
                    vec![Term::Phrase("transformer".into())],
                ),
            ]
            .into_iter()
            .collect(),
            cap: None,
            also: Vec::new(),
            part: Some(n),
            weight: 0.0,
        };
        let ds = [
            choice(1, "transformer"),
            choice(2, "rnn"),
            choice(3, "transformer"),
        ];
        let refs: Vec<&Decision> = ds.iter().collect();
        let rules = [rule("x", &["parallel"])];
        let wrong = "1. RNN, it reads in order.\n2. Transformer, runs in parallel.\n3. RNN again.";
        let v = check(&rules, &[], None, &refs, wrong);
        assert!((v.score - 0.25).abs() < 1e-12, "{v:?}");
        let right = "1. Transformer, runs in parallel.\n2. RNN: constant memory.\n3. Transformer.";
        let v = check(&rules, &[], None, &refs, right);
        assert_eq!(v.status, Status::Correct, "{v:?}");
        let one_wrong = "1. Transformer, in parallel.\n2. Transformer.\n3. Transformer.";
        let v = check(&rules, &[], None, &refs, one_wrong);
        assert!((v.score - 0.75).abs() < 1e-12, "{v:?}");
    }

    #[test]
    fn weights_give_partial_credit_and_forbidden_claims_cost() {
        let rules = [
            rule("sigmoid saturates", &["saturate"]),
            rule("small derivative", &["derivative small|0.25"]),
        ];
        let v = check(
            &rules,
            &[],
            None,
            &[],
            "The sigmoid saturates for large inputs.",
        );
        assert_eq!(v.status, Status::Partial);
        assert!((v.score - 0.5).abs() < 1e-12);
        let forbidden = [rule("tanh fixes it", &["tanh solve|fix"])];
        let v = check(
            &rules,
            &forbidden,
            None,
            &[],
            "It saturates; the derivative is at most 0.25. Tanh fixes it.",
        );
        assert!(v.score < 1.0);
        assert!(v.feedback.iter().any(|f| f.contains("wrong")));
    }

    #[test]
    fn regexes_cross_line_breaks() {
        let mut r = rule("vanishing defined", &[]);
        r.regex.push("vanishing.{0,40}tiny".into());
        assert!(find(&r, &Doc::new("Vanishing:\nthe gradient is tiny"), 1)
            .stated
            .is_some());
    }

    #[test]
    fn hostile_answers_are_judged_in_bounded_time() {
        let d = yes_no("no", &["correct", "tanh solve|fix|help"]);
        let rules = [rule("saturates", &["saturate"]), rule("near", &[])];
        let text = "Tanh saturates, so it is not correct. ".repeat(3000);
        let start = std::time::Instant::now();
        let v = check(&rules, &[], None, &[&d], &text);
        assert!(v.score <= 1.0);
        let text = "correct tanh fixes no ".repeat(5000);
        let _ = check(&rules, &[], None, &[&d], &text);
        assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    }

    #[test]
    fn any_layout_is_read_without_panicking() {
        let d = Decision {
            part: Some(2),
            ..yes_no("no", &["correct"])
        };
        let mut r = rule("x", &["x"]);
        r.part = Some(2);
        for text in [
            "•\n• a\n• b",
            "(\n(a) x\n(b",
            "1.\n1.\n2.",
            "a)\nb)\né) x",
            "\n\n\n",
            "1) x?\n2) No.",
            "ⅰ. x\nⅱ. y",
        ] {
            let _ = check(std::slice::from_ref(&r), &[], Some(3), &[&d], text);
        }
    }

    #[test]
    fn short_answers_are_flagged() {
        let v = check(&[rule("x", &["dropout"])], &[], Some(10), &[], "dropout");
        assert_eq!(v.status, Status::Partial);
        assert!(v.feedback.iter().any(|f| f.contains("1 words")));
    }
}
