//! True/false statements, read and judged one statement at a time, the way a TA reads them.
//!
//! **Verdicts.** `True`/`False`, `T`/`F`, `Correct`/`Incorrect`, `Right`/`Wrong`, `Yes`/`No`
//! (every statement asks "is it true that ...", so `Yes` is true), `Not necessarily` / `Not
//! always` (false), negations (`not true`, `isn't correct`, `not false`), common typos
//! (`flase`, `ture`), in bold, HTML or lowercase.
//!
//! **Rank.** A verdict at the start of a part (after its label, an `Answer:` marker, `The
//! answer is`, `This statement is`) or right after the retyped statement on its line ranks
//! highest; then a verdict at the start of another line of the part, or one followed by
//! punctuation (`..., so it is false.`); last a verdict word inside the explanation (`the
//! true gradient`, `on the right of zero`), which is only a guess and sent to review.
//!
//! **Alignment.** Parts are matched to statements by the student's own labels (`1.`, `3.2`,
//! `3.3` without a trailing dot, `a)`, `(i)`, `B -`, `F True`, `- ` bullets, table rows
//! `| 1 | False |`, numbering that continues from earlier questions, labels that restart when
//! two questions' answers follow both questions), by the statement text the student retyped
//! (or the question's own statements, when the student typed verdicts inside the question
//! cell), or, last, by the order of the verdicts. A clean, complete structural reading wins;
//! then one label per statement; then a clean reading in order; else whichever reads most.
//!
//! **Doubt.** Two different verdicts of equal rank, a hedge (`it depends`, `partially`,
//! `can also be true`), a verdict read only from a word inside the explanation, or more or
//! fewer verdicts than statements without labels: the statement is flagged `needs-review`
//! with the reason, still reporting its best reading, and so is the question.

use std::sync::OnceLock;

use regex::Regex;

use super::Status;
use super::{Part, Verdict};
use crate::rubric::Statement;

/// The reading of one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The verdict read: true, false, or none.
    pub value: Option<bool>,
    /// Byte offset in the answer text where the verdict was read; None when it was read in
    /// the question's own text or not found.
    pub offset: Option<usize>,
    /// Byte offset in the question's own text where the verdict was read, when it was read
    /// there (typed inside the question cell).
    pub question_offset: Option<usize>,
    /// Why a person should check this reading, when one should.
    pub doubt: Option<String>,
}

impl Reading {
    fn none() -> Reading {
        Reading {
            value: None,
            offset: None,
            question_offset: None,
            doubt: None,
        }
    }
}

/// A verdict found in the text.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Found {
    value: bool,
    /// Byte offset in the analysed text.
    at: usize,
    /// 3: at the start of the part; 2: at the start of a line, or followed by punctuation;
    /// 1: a word inside the explanation.
    rank: u8,
    /// Qualified by a hedge in its own sentence (`partially true`, `it depends`).
    hedged: bool,
}

// ---------------------------------------------------------------------------------------
// Masking: the text analysed has the same bytes as the original (so offsets carry over),
// with markup and the question's own "true or false" phrases blanked out.

fn html_tag() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"<[/!]?[A-Za-z][^<>\n]{0,80}>|&nbsp;").expect("valid"))
}

const TEMPLATE_PHRASE: &str =
    r"(?i)\btrue\s*(?:or|/|\\)\s*false\b|\bt\s*/\s*f\b|\byes\s*(?:or|/)\s*no\b";

fn template_phrase() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(TEMPLATE_PHRASE).expect("valid"))
}

fn template_phrase_ascii() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(&ascii_boundaries(TEMPLATE_PHRASE)).expect("valid"))
}

// ---------------------------------------------------------------------------------------
// Word boundaries. A Unicode `\b` stops the regex crate's fast engine at the first non-ASCII
// byte (a curly quote, a dash), and the slow one then reads the whole text again, often the
// larger cost of reading an answer. So the patterns below whose every `\b` stands next to
// one of their own ASCII letters are searched with ASCII boundaries, and each boundary of
// the match is then checked the Unicode way. Where a letter's `\b` holds the Unicode way it
// holds the ASCII way too (a character that is no word character is, or starts with, a byte
// that is none), so the ASCII search misses no match; a match whose boundaries all hold the
// Unicode way is the one the Unicode search makes. Only `ſ` (U+017F) and the Kelvin sign
// (U+212A) match an ASCII letter under `(?i)` (a test below checks it), and a text holding
// either is searched the Unicode way.

/// `pattern` with ASCII word boundaries (it must hold no escaped backslash before a `b`).
fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

/// Whether `text` holds a character that `(?i)` folds to an ASCII letter.
fn folds_to_ascii(text: &str) -> bool {
    !text.is_ascii() && text.contains(['\u{17f}', '\u{212a}'])
}

/// Whether a Unicode `\b` holds at byte `at` of `text`.
fn word_boundary(text: &str, at: usize) -> bool {
    fn is_word(c: char) -> bool {
        static RE: OnceLock<Regex> = OnceLock::new();
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '_'
        } else {
            let re = RE.get_or_init(|| Regex::new(r"\A\w\z").expect("valid"));
            re.is_match(c.encode_utf8(&mut [0; 4]))
        }
    }
    let before = text.get(..at).and_then(|t| t.chars().next_back());
    let after = text.get(at..).and_then(|t| t.chars().next());
    before.is_some_and(is_word) != after.is_some_and(is_word)
}

/// The byte ranges of the matches of `re` in `text`.
fn ranges(re: &Regex, text: &str) -> Vec<(usize, usize)> {
    re.find_iter(text).map(|m| (m.start(), m.end())).collect()
}

/// The matches of `unicode` in `text`, searched with `ascii` (the same pattern with ASCII
/// boundaries) when the matches found start and end at Unicode boundaries.
fn find_all(unicode: &Regex, ascii: &Regex, text: &str) -> Vec<(usize, usize)> {
    if !folds_to_ascii(text) {
        let found = ranges(ascii, text);
        if found
            .iter()
            .all(|&(s, e)| word_boundary(text, s) && word_boundary(text, e))
        {
            return found;
        }
    }
    ranges(unicode, text)
}

/// What `mask` writes over each byte: the byte itself when it stays. Table bars become
/// colons (`| 1 | False |`, and HTML tables once cleaned, read as `1 : False`); emphasis and
/// math marks become spaces, and so does `_` unless it joins two alphanumerics.
const MASKED: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b as u8;
        b += 1;
    }
    table[b'|' as usize] = b':';
    table[b'*' as usize] = b' ';
    table[b'`' as usize] = b' ';
    table[b'~' as usize] = b' ';
    table[b'#' as usize] = b' ';
    table[b'$' as usize] = b' ';
    table[b'_' as usize] = b' ';
    table
};

/// `text` with HTML tags, emphasis marks and "true or false" phrases replaced by spaces,
/// and table bars by colons.
fn mask(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let blank = |bytes: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut bytes[from..to] {
            *b = b' ';
        }
    };
    for m in html_tag().find_iter(text) {
        blank(&mut bytes, m.start(), m.end());
    }
    for i in 0..bytes.len() {
        let b = bytes[i];
        let m = MASKED[usize::from(b)];
        if m == b {
            continue;
        }
        if b == b'_' {
            let prev_alnum = i > 0 && bytes[i - 1].is_ascii_alphanumeric();
            let next_alnum = bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphanumeric());
            if !(prev_alnum && next_alnum) {
                bytes[i] = b' ';
            }
        } else {
            bytes[i] = m;
        }
    }
    // Only ASCII bytes were replaced by ASCII spaces, so this is still UTF-8.
    let masked = String::from_utf8(bytes).unwrap_or_else(|_| " ".repeat(text.len()));
    // Most answers hold no such phrase: the text is copied only when one is blanked.
    let phrases = find_all(template_phrase(), template_phrase_ascii(), &masked);
    if phrases.is_empty() {
        return masked;
    }
    let mut bytes = masked.clone().into_bytes();
    for (from, to) in phrases {
        blank(&mut bytes, from, to);
    }
    String::from_utf8(bytes).unwrap_or(masked)
}

// ---------------------------------------------------------------------------------------
// Verdict words.

/// What a verdict token says, or None when it is not one.
fn token_value(token: &str) -> Option<bool> {
    const TRUE: [&str; 9] = [
        "true", "t", "correct", "right", "yes", "ture", "treu", "tru", "corect",
    ];
    const FALSE: [&str; 10] = [
        "false",
        "f",
        "incorrect",
        "wrong",
        "no",
        "flase",
        "fasle",
        "fales",
        "fals",
        "incorect",
    ];
    let value = |t: &str| {
        if TRUE.iter().any(|w| t.eq_ignore_ascii_case(w)) {
            Some(true)
        } else if FALSE.iter().any(|w| t.eq_ignore_ascii_case(w)) {
            Some(false)
        } else {
            None
        }
    };
    // A single ASCII word, most tokens, needs none of the copies below.
    if token.bytes().all(|b| b.is_ascii_alphabetic()) {
        return value(token);
    }
    let t = token.to_lowercase();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = t.replace('’', "'");
    if let Some(rest) = t.strip_prefix("not ") {
        return match rest {
            "false" | "wrong" | "incorrect" => Some(true),
            _ => Some(false),
        };
    }
    value(&t)
}

/// The opening of a part: markers students put before a verdict, then the verdict.
fn lead() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?ix)^
            (?:[\s>:|•·\-–—]|\(\s*\))*
            (?:(?:final\s+)?(?:answers?|ans|solution|verdict|response)\s*(?:\d{1,2}(?:\.\d{1,2})*)?\s*(?:[:.\-–—=]|\bis\b)\s*(?:[\s>\-–—]|\(\s*\))*)?
            (?:(?:the\s+|this\s+)?(?:answer|statement|claim|sentence|assertion)\s+is\s*:?\s*
              |(?:this|it|that)\s+is\s+|it'?s\s+|it’s\s+
              |i\s+(?:think|believe|would\s+say|say)\s+(?:that\s+)?(?:it'?s\s+|it\s+is\s+|this\s+is\s+)?)?
            [(\[]?\s*
            (not\s+(?:necessarily|always|quite|exactly|entirely|completely|really|generally)(?:\s+(?:true|correct|right|the\s+case))?
              |not\s+(?:true|correct|right|false|wrong|incorrect)
              |true|false|correct|incorrect|right|wrong|ture|treu|flase|fasle|fales|incorect|corect
              |yes|no|t|f)
            (?:\b|$)
            ([^\n]{0,12})",
        )
        .expect("valid")
    })
}

/// The first words of `lead`'s optional openings after its markers (`final answer:`, `the
/// statement is`, `it's`, `I think`), lowercased; with [`LEAD_VERDICTS`] and `not`, every word
/// a `lead` match can open with.
const LEAD_OPENINGS: [&str; 18] = [
    "final",
    "answer",
    "answers",
    "ans",
    "solution",
    "verdict",
    "response",
    "the",
    "this",
    "statement",
    "claim",
    "sentence",
    "assertion",
    "it",
    "that",
    "its",
    "i",
    "not",
];

/// Whether `word` can open a `lead` match (see [`LEAD_OPENINGS`]).
fn opens_lead(word: &str) -> bool {
    LEAD_OPENINGS
        .iter()
        .chain(&LEAD_VERDICTS)
        .any(|w| word.eq_ignore_ascii_case(w))
}

/// The verdicts of `lead` that are one word (all but the `not ...` ones), lowercased.
const LEAD_VERDICTS: [&str; 17] = [
    "true",
    "false",
    "correct",
    "incorrect",
    "right",
    "wrong",
    "ture",
    "treu",
    "flase",
    "fasle",
    "fales",
    "incorect",
    "corect",
    "yes",
    "no",
    "t",
    "f",
];

/// What opens `text` past `lead`'s markers, as far as a byte test can tell.
#[derive(Debug, PartialEq)]
enum Opening {
    /// `lead` cannot match: the text opens with a word that cannot open it, or no word.
    Cannot,
    /// This ASCII word, followed by an ASCII character or the end.
    Word(usize, usize),
    /// A `(` or `[`, or a non-ASCII character where this looks (a folded `ſ`, another
    /// space): only the regex can tell.
    Unsure,
}

/// The opening of `text` past `lead`'s markers. Every branch of `lead` past its markers opens
/// with `(`, `[` or a word of [`opens_lead`], and each of those words is followed there by a
/// space, a digit, a mark or a word boundary, never by another ASCII letter; so a text whose
/// first word (its ASCII letters) is none of them cannot match. Most lines of an explanation
/// are settled here, without the regex.
fn opening(text: &str) -> Opening {
    for (i, c) in text.char_indices() {
        if c.is_ascii_whitespace()
            || matches!(c, '\x0B' | '>' | ':' | '|' | '-' | '•' | '·' | '–' | '—')
        {
            continue;
        }
        if !c.is_ascii() || c == '(' || c == '[' {
            return Opening::Unsure;
        }
        if !c.is_ascii_alphabetic() {
            return Opening::Cannot;
        }
        let rest = &text.as_bytes()[i..];
        let len = rest.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        if rest.get(len).is_some_and(|b| !b.is_ascii()) {
            return Opening::Unsure;
        }
        let word = &text[i..i + len];
        if !opens_lead(word) {
            return Opening::Cannot;
        }
        return Opening::Word(i, i + len);
    }
    Opening::Cannot
}

/// The verdict word `lead` reads at the start of `text` (its group 1), as a byte range. A
/// one-word verdict opening the text, followed by no word character, is that group without
/// the regex: none of `lead`'s optional openings starts with a verdict word, and a shorter
/// verdict inside the word would need a boundary there. (The captures were most of the cost
/// of reading an opening.)
fn lead_word(text: &str) -> Option<(usize, usize)> {
    match opening(text) {
        Opening::Cannot => None,
        Opening::Word(start, end)
            if LEAD_VERDICTS
                .iter()
                .any(|w| text[start..end].eq_ignore_ascii_case(w))
                && text
                    .as_bytes()
                    .get(end)
                    .is_none_or(|&b| !ASCII_WORD[usize::from(b)]) =>
        {
            Some((start, end))
        }
        _ => {
            let c = lead().captures(text)?;
            let m = c.get(1)?;
            Some((m.start(), m.end()))
        }
    }
}

/// Up to 12 characters of `text` before its first line break (`lead`'s group 2).
fn lead_tail(text: &str) -> &str {
    let end = text
        .char_indices()
        .enumerate()
        .find(|&(n, (_, c))| n == 12 || c == '\n')
        .map_or(text.len(), |(_, (i, _))| i);
    &text[..end]
}

/// Whether what follows a short verdict (`T`, `F`, `Yes`, `No`) ends it: punctuation, the
/// end of the line, or a word that starts the explanation.
fn short_ok(after: &str) -> bool {
    let a = after.trim_start();
    a.is_empty() || a.starts_with(['.', ',', ':', ';', '!', ')', ']', '-', '–', '—', '\n']) || {
        let w: String = a
            .chars()
            .take_while(|c| c.is_alphabetic() || *c == '\'')
            .collect::<String>()
            .to_lowercase();
        matches!(
            w.as_str(),
            "it" | "this" | "that" | "since" | "because" | "as" | "the" | "we" | "its"
        )
    }
}

/// The verdict opening `text` (at its very start, after markers), with its offset.
fn lead_verdict(text: &str) -> Option<(bool, usize)> {
    let (start, end) = lead_word(text)?;
    let w = &text[start..end];
    let tail = lead_tail(&text[end..]);
    let short = matches!(w.to_lowercase().as_str(), "t" | "f" | "yes" | "no");
    if short && !short_ok(tail) {
        return None;
    }
    // A lowercase `t` or `f` is a verdict only before a stop or a dash (`f - ...`, `t.`);
    // otherwise it is a variable (`f(0) = 0`) far more often.
    if matches!(w, "t" | "f") {
        let stop = tail.trim_start_matches([' ', '\t']);
        if !(stop.is_empty() || stop.starts_with(['.', ':', '-', '–', '—', ',']))
            || stop.starts_with("..")
        {
            return None;
        }
    }
    // `right` opening a line is rarely a verdict unless punctuation follows.
    if w.eq_ignore_ascii_case("right") && !short_ok(tail) {
        return None;
    }
    Some((token_value(w)?, start))
}

/// Verdict words anywhere (not the short ones, which are only read where a part opens).
fn any_word() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b(true|false|correct|incorrect|right|wrong|flase|ture)\b").expect("valid")
    })
}

/// Whether each byte is an ASCII word character (`[0-9A-Za-z_]`).
const ASCII_WORD: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    table
};

/// The byte ranges of the words `any_word` matches in `text`, found without the regex: they
/// are the runs of ASCII word characters spelling a verdict word, the regex's own (Unicode)
/// word boundary being asked only beside a non-ASCII character. A text holding `ſ` (U+017F)
/// or the Kelvin sign (U+212A), which `(?i)` folds to `s` and `k`, is left to the regex.
/// This scan runs over every part of every alignment tried, where the regex was the larger
/// cost of reading a part.
fn verdict_words(text: &str) -> Vec<(usize, usize)> {
    const WORDS: [&str; 8] = [
        "true",
        "false",
        "correct",
        "incorrect",
        "right",
        "wrong",
        "flase",
        "ture",
    ];
    if folds_to_ascii(text) {
        return ranges(any_word(), text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && !ASCII_WORD[usize::from(bytes[i])] {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && ASCII_WORD[usize::from(bytes[i])] {
            i += 1;
        }
        // Cheap tests first: a verdict word has 4, 5, 7 or 9 letters, the first t, f, c, i, r or w.
        let first = bytes.get(start).map_or(0, |b| b | 0x20);
        if !matches!(i - start, 4 | 5 | 7 | 9)
            || !matches!(first, b't' | b'f' | b'c' | b'i' | b'r' | b'w')
        {
            continue;
        }
        let run = &text[start..i];
        if !WORDS.iter().any(|w| run.eq_ignore_ascii_case(w)) {
            continue;
        }
        let beside_non_ascii = (start > 0 && !bytes[start - 1].is_ascii())
            || bytes.get(i).is_some_and(|b| !b.is_ascii());
        if beside_non_ascii
            && any_word()
                .find_at(text, start)
                .is_none_or(|m| m.range() != (start..i))
        {
            continue;
        }
        out.push((start, i));
    }
    out
}

/// A `T`/`F` letter given as a verdict after a colon or `is` (`...gradients: F.`).
fn letter_verdict() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:[:(]|\bis|\banswer)\s*([TF])\s*(?:[.)!,;]|$)").expect("valid")
    })
}

/// Whether `letter_verdict` can match `text`: its letter is a `T` or `F` followed, past
/// spaces, by `.`, `)`, `!`, `,`, `;` or the end. (Most parts have no such letter and skip the
/// regex; a non-ASCII character after the letter is left to it.)
fn may_letter(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        (b == b'T' || b == b'F') && {
            let next = bytes[i + 1..]
                .iter()
                .find(|&&c| !(c.is_ascii_whitespace() || c == 0x0B));
            next.is_none_or(|&c| !c.is_ascii() || matches!(c, b'.' | b')' | b'!' | b',' | b';'))
        }
    })
}

fn negated_before() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(?:\bnot|n['’]t|\bnever)\s+(?:(?:necessarily|always|entirely|completely|quite|exactly|really|be|been)\s+)?$")
            .expect("valid")
    })
}

fn hedge_before() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b(?:generally|mostly|usually|partially|partly|sometimes|somewhat|half|often|probably|kind\s+of|sort\s+of)\s+$")
            .expect("valid")
    })
}

/// Words that hedge a verdict: `it depends` (but not `X depends on Y` in an explanation),
/// `partially`, `not sure`, `can also be true`, `both true and false`.
const HEDGE: &str = r"(?i)(?:^\W*|\b(?:it|this|that|answer|verdict|which)\s+)depends\b|\b(?:partially|partly|debatable|ambiguous|not\s+sure|unsure|can\s+(?:also\s+)?be\s+(?:both|either|true|false|correct)|both\s+true|true\s+and\s+false|false\s+and\s+true|in\s+some\s+cases)\b";

fn hedge() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(HEDGE).expect("valid"))
}

fn hedge_ascii() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(&ascii_boundaries(HEDGE)).expect("valid"))
}

/// Whether `text` holds a hedge (`hedge().is_match`, searched with ASCII boundaries: see
/// "Word boundaries"). A match at 0 may be the `^` branch, which has no `\b` there, and a `\b`
/// at 0 next to an ASCII letter holds both ways.
fn hedged(text: &str) -> bool {
    if !folds_to_ascii(text) {
        match hedge_ascii().find(text) {
            None => return false,
            Some(m)
                if (m.start() == 0 || word_boundary(text, m.start()))
                    && word_boundary(text, m.end()) =>
            {
                return true
            }
            Some(_) => {}
        }
    }
    hedge().is_match(text)
}

/// The sentence of `text` around byte `at`.
/// (At most 300 bytes either side, so that reading stays linear in the text's length.)
fn sentence_around(text: &str, at: usize) -> &str {
    let at = floor_boundary(text, at);
    let lo = floor_boundary(text, at.saturating_sub(300));
    let hi = floor_boundary(text, at + 300);
    // The stops are ASCII, so a byte search finds them (and is the cheaper).
    let stop = |b: &u8| matches!(b, b'.' | b'!' | b'?' | b'\n');
    let bytes = text.as_bytes();
    let start = bytes[lo..at]
        .iter()
        .rposition(stop)
        .map_or(lo, |i| lo + i + 1);
    let end = bytes[at..hi].iter().position(stop).map_or(hi, |i| at + i);
    text.get(start..end).unwrap_or_default()
}

/// The largest char boundary of `text` at or before `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The first sentence of `text` (up to `.`, `!`, `?` or a line break, skipping a leading
/// short token such as `T.`).
fn first_sentence(text: &str) -> &str {
    let t = text.trim_start();
    let skip = text.len() - t.len();
    let mut end = t.len();
    for (i, c) in t.char_indices() {
        if matches!(c, '.' | '!' | '?' | '\n') && i > 4 {
            end = i;
            break;
        }
    }
    text.get(skip..skip + end).unwrap_or_default()
}

/// Every verdict in `part` (masked text), with its rank. `base` is added to offsets.
fn verdicts_in(part: &str, base: usize) -> Vec<Found> {
    let mut out = Vec::new();
    // The part's opening.
    if let Some((value, at)) = lead_verdict(part) {
        let hedged = hedged(first_sentence(&part[at..]));
        out.push(Found {
            value,
            at: base + at,
            rank: 3,
            hedged,
        });
    }
    let opening = out.first().map(|f| f.at - base);
    // The opening of each further line.
    let mut offset = 0;
    for line in part.split_inclusive('\n') {
        if offset > 0 && !line.trim().is_empty() {
            if let Some((value, at)) = lead_verdict(line) {
                let hedged = hedged(first_sentence(&line[at..]));
                out.push(Found {
                    value,
                    at: base + offset + at,
                    rank: 2,
                    hedged,
                });
            }
        }
        offset += line.len();
    }
    let seen: std::collections::BTreeSet<usize> = out.iter().map(|f| f.at - base).collect();
    for (start, end) in verdict_words(part) {
        if Some(start) == opening || seen.contains(&start) {
            continue;
        }
        let Some(mut value) = token_value(&part[start..end]) else {
            continue;
        };
        // Bounded look-behind keeps hostile inputs linear.
        let before = &part[floor_boundary(part, start.saturating_sub(80))..start];
        let after = &part[end..];
        if negated_before().is_match(before) {
            value = !value;
        }
        let punct = {
            let a = after.trim_start_matches([' ', '\t']);
            a.is_empty() || a.starts_with(['.', ',', ':', ';', '!', ')', '\n', '-', '–', '—'])
        };
        let rank = if punct { 2 } else { 1 };
        let hedged = hedge_before().is_match(before) || hedged(sentence_around(part, start));
        out.push(Found {
            value,
            at: base + start,
            rank,
            hedged,
        });
    }
    let letters = may_letter(part).then(|| letter_verdict().captures_iter(part));
    for c in letters.into_iter().flatten() {
        if let Some(m) = c.get(1) {
            if Some(m.start()) == opening || seen.contains(&m.start()) {
                continue;
            }
            out.push(Found {
                value: m.as_str() == "T",
                at: base + m.start(),
                rank: 2,
                hedged: false,
            });
        }
    }
    out.sort_by_key(|f| f.at);
    out
}

/// The best reading of one part: the verdict of the highest rank, with a doubt when that
/// rank holds two different verdicts, when it is hedged, or when it is only a word inside
/// the explanation.
fn judge_part(found: &[Found]) -> (Option<bool>, Option<usize>, Option<String>) {
    let Some(top) = found.iter().map(|f| f.rank).max() else {
        return (None, None, None);
    };
    let best: Vec<&Found> = found.iter().filter(|f| f.rank == top).collect();
    let first = best[0];
    if top == 3 {
        // The opening decides; a hedge in its sentence asks for a second look.
        let doubt = first
            .hedged
            .then(|| "the verdict is hedged in the same sentence".to_string());
        return (Some(first.value), Some(first.at), doubt);
    }
    let unhedged: Vec<&&Found> = best.iter().filter(|f| !f.hedged).collect();
    if unhedged.is_empty() {
        // "generally true, but it depends": no verdict a TA would take as given.
        return (
            None,
            Some(first.at),
            Some("the only verdict is hedged (e.g. \"it depends\")".to_string()),
        );
    }
    let pick = unhedged[0];
    if unhedged.iter().any(|f| f.value != pick.value) {
        return (
            Some(pick.value),
            Some(pick.at),
            Some("two different verdicts of equal weight".to_string()),
        );
    }
    if top == 1 {
        return (
            Some(pick.value),
            Some(pick.at),
            Some("no clear verdict; read from a word inside the explanation".to_string()),
        );
    }
    let doubt = (unhedged.len() < best.len())
        .then(|| "the verdict is hedged elsewhere in the answer".to_string());
    (Some(pick.value), Some(pick.at), doubt)
}

// ---------------------------------------------------------------------------------------
// Labels.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Number,
    Letter,
    Roman,
    Bullet,
}

#[derive(Debug, Clone, Copy)]
struct Label {
    family: Family,
    /// 1-based position the label names (the last component of `3.2`); 0 for bullets.
    value: usize,
    /// Where the label's line starts and where the part's text starts (after the label).
    line_start: usize,
    body: usize,
    indent: usize,
}

fn label_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?ix)^([\ \t]*)(?::[\ \t]*)?(?:>\s*)*
            (?:(?:answer|ans|question|q|statement|part|section)\s*)?
            (?:
               \((?P<pn>\d{1,2}|[a-h]|i{1,3}|iv|vi{0,3})\)
             | (?P<dotted>\d{1,2}(?:\.\d{1,2})+)\.?(?:[):]|\s|$)
             | (?P<num>\d{1,2})\s*(?:[.):]|\s[-–—]\s)
             | (?P<roman>i{1,3}|iv|vi{0,3})\s*[.)]
             | (?P<letter>[a-h])\s*(?:[.):]|\s[-–—]\s)
             | (?P<bare>[a-h])\s+(?:true|false|correct|incorrect|yes|no)\b
             | (?P<bullet>[-•–*])\s
            )",
        )
        .expect("valid")
    })
}

/// Whether `label_re` can match `line`. Past its spaces, colon and `>` marks, every branch of
/// the pattern opens with `(`, a digit, a bullet mark, a keyword (`answer`, `q`, `part`, ...)
/// or a one-letter or roman label; so a line whose first word (its ASCII letters) is none of
/// those cannot match, and most lines of an explanation skip the regex. A non-ASCII character
/// where this looks (a bullet, a folded `ſ`) is left to the regex.
fn may_label(line: &str) -> bool {
    const KEYWORDS: [&str; 5] = ["ans", "q", "statement", "part", "section"];
    const ROMAN: [&str; 8] = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii"];
    let bytes = line.as_bytes();
    let Some(at) = bytes
        .iter()
        .position(|&b| !(b.is_ascii_whitespace() || matches!(b, 0x0B | b':' | b'>')))
    else {
        return false;
    };
    let first = bytes[at];
    if !first.is_ascii_alphabetic() {
        return !first.is_ascii() || first.is_ascii_digit() || matches!(first, b'(' | b'-' | b'*');
    }
    let len = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    if bytes.get(at + len).is_some_and(|b| !b.is_ascii()) {
        return true;
    }
    let word = &line[at..at + len];
    let starts_with = |k: &str| {
        word.get(..k.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(k))
    };
    KEYWORDS.iter().any(|k| starts_with(k))
        || (len == 1 && matches!(first | 0x20, b'a'..=b'h'))
        || ROMAN.iter().any(|r| word.eq_ignore_ascii_case(r))
}

/// `a` is 1, `b` 2, ... (from the first character).
fn letter_value(s: &str) -> usize {
    let c = s.chars().next().unwrap_or('a').to_ascii_lowercase();
    if c.is_ascii_lowercase() {
        (c as usize) - ('a' as usize) + 1
    } else {
        0
    }
}

fn roman_value(s: &str) -> usize {
    match s.to_ascii_lowercase().as_str() {
        "i" => 1,
        "ii" => 2,
        "iii" => 3,
        "iv" => 4,
        "v" => 5,
        "vi" => 6,
        "vii" => 7,
        "viii" => 8,
        _ => 0,
    }
}

/// The labels opening lines of `masked` (markup already blanked), of the family of the first
/// one (a letter family must open with `a`; `F.` alone is a verdict, not the sixth label).
fn labels(masked: &str) -> Vec<Label> {
    let mut out: Vec<Label> = Vec::new();
    let mut offset = 0;
    for line in masked.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        if !may_label(line) {
            continue;
        }
        let Some(c) = label_re().captures(line) else {
            continue;
        };
        let indent = c.get(1).map_or(0, |m| m.as_str().len());
        let end = c.get(0).map_or(0, |m| m.end());
        let (family, value, body) = if let Some(m) = c.name("pn") {
            let s = m.as_str();
            if let Ok(n) = s.parse::<usize>() {
                (Family::Number, n, end)
            } else if roman_value(s) > 0 {
                (Family::Roman, roman_value(s), end)
            } else {
                (Family::Letter, letter_value(s), end)
            }
        } else if let Some(m) = c.name("dotted") {
            let last = m.as_str().rsplit('.').next().unwrap_or("0");
            (Family::Number, last.parse().unwrap_or(0), end)
        } else if let Some(m) = c.name("num") {
            (Family::Number, m.as_str().parse().unwrap_or(0), end)
        } else if let Some(m) = c.name("roman") {
            (Family::Roman, roman_value(m.as_str()), end)
        } else if let Some(m) = c.name("letter").or_else(|| c.name("bare")) {
            let body = if c.name("bare").is_some() {
                m.end()
            } else {
                end
            };
            (Family::Letter, letter_value(m.as_str()), body)
        } else {
            (Family::Bullet, 0, end)
        };
        // `i.` / `v.` open a roman list only when it starts at i; otherwise letters.
        let (family, value) = match (family, out.first().map(|l| l.family)) {
            (Family::Roman, Some(Family::Letter)) => {
                let s = line.trim_start().trim_start_matches(['(', '>', ' ']);
                (Family::Letter, letter_value(s))
            }
            other => (other.0, value),
        };
        if family == Family::Letter && out.is_empty() && value != 1 {
            // `F. ...` / `T. ...` opening the answer is a verdict, not a label.
            continue;
        }
        if let Some(m) = c.name("bare") {
            // A capital letter without punctuation (`F True`) is a label only inside a
            // lettered list already under way; `A true gradient ...` is prose.
            let capital = m.as_str().chars().all(|ch| ch.is_ascii_uppercase());
            if out.is_empty() || !capital {
                continue;
            }
        }
        if let (Some(first), Some(last)) = (out.first(), out.last()) {
            // A deeper-indented label is a list inside an explanation, unless it carries on
            // the sequence.
            let continues = family == Family::Bullet || value == last.value + 1;
            if family != first.family || (indent > first.indent + 1 && !continues) {
                continue;
            }
        }
        out.push(Label {
            family,
            value,
            line_start,
            body: line_start + body,
            indent,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------
// Alignments: each gives, per statement, the byte range of its part (or none).

type Parts = Vec<Option<(usize, usize)>>;

/// When the labels restart (`A. B. C.` then `A. B. C. D. E.`: the answers to two questions
/// laid out after both), the run with as many labels as there are statements; the last
/// run when none or several fit.
fn one_run(labels: Vec<Label>, n: usize) -> Vec<Label> {
    if labels.first().is_none_or(|l| l.family == Family::Bullet) {
        return labels;
    }
    let mut runs: Vec<Vec<Label>> = Vec::new();
    for l in labels {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|p| l.value > p.value) => run.push(l),
            _ => runs.push(vec![l]),
        }
    }
    if runs.len() == 1 {
        return runs.pop().unwrap_or_default();
    }
    // Runs of a single label are stray numbers inside an explanation, not a restart.
    let fitting: Vec<&Vec<Label>> = runs.iter().filter(|r| r.len() == n).collect();
    if fitting.len() == 1 && runs.iter().filter(|r| r.len() > 1).count() > 1 {
        return fitting[0].clone();
    }
    runs.into_iter().flatten().collect()
}

/// Parts by the student's labels; None when there are fewer than two labels or they cannot
/// be matched to the statements.
/// The flag says whether there is exactly one label per statement (an alignment that is
/// trusted over any by order).
fn by_labels(masked: &str, n: usize) -> Option<(Parts, Option<String>, bool)> {
    let labels = one_run(labels(masked), n);
    if labels.len() < 2 && !(n == 1 && labels.len() == 1) {
        return None;
    }
    let range = |i: usize| {
        let end = labels
            .get(i + 1)
            .map_or(masked.len(), |l: &Label| l.line_start);
        (labels[i].body.min(end), end)
    };
    let mut parts: Parts = vec![None; n];
    if labels.len() == n {
        for (i, p) in parts.iter_mut().enumerate() {
            *p = Some(range(i));
        }
        return Some((parts, None, true));
    }
    if labels[0].family == Family::Bullet {
        return None;
    }
    // By the numbers: from 1, or continuing the numbering of earlier questions.
    let min = labels.iter().map(|l| l.value).min().unwrap_or(1);
    let base = if min <= 1 { 1 } else { min };
    let mut doubt = None;
    for (i, l) in labels.iter().enumerate() {
        let Some(index) = l.value.checked_sub(base) else {
            continue;
        };
        if index >= n {
            continue;
        }
        if parts[index].is_some() {
            doubt = Some("the same statement number is given twice".to_string());
            continue;
        }
        parts[index] = Some(range(i));
    }
    Some((parts, doubt, false))
}

/// A byte that separates words in `NORMALIZED`.
const GAP: u8 = 0;
/// A byte dropped from words in `NORMALIZED` (an apostrophe: `don't` is `dont`).
const SKIP: u8 = 1;
/// What `normalize_walk` makes of each ASCII byte: its lowercase when alphanumeric, else
/// `GAP` or `SKIP`.
const NORMALIZED: [u8; 128] = {
    let mut table = [GAP; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    table[b'\'' as usize] = SKIP;
    table
};

/// Walks `text` as it is normalised (lowercased alphanumerics, one space between words):
/// `emit(byte, at)` for each byte of the output, with the byte offset in `text` it comes from,
/// until `emit` returns false.
fn normalize_walk(text: &str, mut emit: impl FnMut(u8, usize) -> bool) {
    let mut space = true;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // ASCII, most of any answer, is read a byte at a time.
        let b = bytes[i];
        if b.is_ascii() {
            match NORMALIZED[usize::from(b)] {
                GAP => {
                    if !space {
                        if !emit(b' ', i) {
                            return;
                        }
                        space = true;
                    }
                }
                SKIP => {}
                lower => {
                    if !emit(lower, i) {
                        return;
                    }
                    space = false;
                }
            }
            i += 1;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        let at = i;
        i += c.len_utf8();
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                for &b in l.encode_utf8(&mut [0; 4]).as_bytes() {
                    if !emit(b, at) {
                        return;
                    }
                }
            }
            space = false;
        } else if c != '’' && !space {
            if !emit(b' ', at) {
                return;
            }
            space = true;
        }
    }
}

/// Lowercased alphanumerics of `text`, one space between words.
fn normalize(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    normalize_walk(text, |b, _| {
        out.push(b);
        true
    });
    // Whole characters were written, so this is UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// The byte offset in `text` of each of the `positions` (increasing) of `normalize(text)`.
/// (Walked again for the few positions asked, rather than kept for every byte.)
fn source_offsets(text: &str, positions: &[usize]) -> Vec<Option<usize>> {
    let mut out = vec![None; positions.len()];
    let mut next = 0;
    let mut written = 0;
    normalize_walk(text, |_, at| {
        while positions.get(next) == Some(&written) {
            out[next] = Some(at);
            next += 1;
        }
        written += 1;
        next < positions.len()
    });
    out
}

/// A statement's `text` snippet as it is looked for: normalised, and its first words (at
/// least five, at least half) for a student who retyped only the start. Made at most once per
/// answer.
#[derive(Debug, Clone)]
struct Snippet {
    want: String,
    head: String,
}

/// The statements' snippets, made on first use: most answers are read by their labels,
/// without them.
struct LazySnippets<'a> {
    statements: &'a [Statement],
    made: std::cell::OnceCell<Vec<Option<Snippet>>>,
}

impl LazySnippets<'_> {
    fn get(&self) -> &[Option<Snippet>] {
        self.made.get_or_init(|| snippets(self.statements))
    }
}

fn snippets(statements: &[Statement]) -> Vec<Option<Snippet>> {
    statements
        .iter()
        .map(|s| {
            let want = normalize(s.text.as_deref()?);
            let want = want.trim().to_string();
            if want.is_empty() {
                return None;
            }
            let words: Vec<&str> = want.split(' ').collect();
            let head = words[..words.len().div_ceil(2).max(5).min(words.len())].join(" ");
            Some(Snippet { want, head })
        })
        .collect()
}

/// Where each statement's text stands in `norm` (a normalised text; in order), by its `text`
/// snippet or the snippet's first words: positions in `norm`.
fn anchor_hits(snippets: &[Option<Snippet>], norm: &str) -> Vec<Option<usize>> {
    let mut cursor = 0;
    let mut hits = Vec::new();
    for snippet in snippets {
        let Some(Snippet { want, head }) = snippet else {
            hits.push(None);
            continue;
        };
        // `head` starts `want`, so without `head` there is no `want`, and the first `want`
        // is at or after the first `head`: one scan when neither is there.
        let hit = norm
            .get(cursor..)
            .and_then(|rest| {
                let h = rest.find(head.as_str())?;
                Some(rest[h..].find(want.as_str()).map_or(h, |w| h + w))
            })
            .map(|i| cursor + i);
        if let Some(i) = hit {
            cursor = i + head.len().min(want.len());
        }
        hits.push(hit);
    }
    hits
}

/// Parts by the statements' own text: each from the line where its statement stands to the
/// line of the next one found.
/// `norm` is `normalize(text)`.
fn by_anchors(snippets: &[Option<Snippet>], text: &str, norm: &str) -> Option<Parts> {
    let hits = anchor_hits(snippets, norm);
    let count = hits.iter().flatten().count();
    if count == 0 || (snippets.len() > 1 && count < 2) {
        return None;
    }
    // Each hit lies past the previous one's cursor, so they are increasing.
    let positions: Vec<usize> = hits.iter().flatten().copied().collect();
    let mut offsets = source_offsets(text, &positions).into_iter();
    let found: Vec<Option<usize>> = hits
        .iter()
        .map(|h| h.and_then(|_| offsets.next().flatten()))
        .collect();
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |i| i + 1);
    let starts: Vec<Option<usize>> = found.iter().map(|a| a.map(line_start)).collect();
    let mut parts: Parts = vec![None; snippets.len()];
    for (i, s) in starts.iter().enumerate() {
        let Some(s) = *s else { continue };
        let end = starts[i + 1..]
            .iter()
            .flatten()
            .copied()
            .find(|&e| e > s)
            .unwrap_or(text.len());
        parts[i] = Some((s, end));
    }
    Some(parts)
}

/// Parts by order: each line (or, failing that, sentence) that opens with a verdict starts
/// the next statement's part. A count that differs from the statements' is a doubt.
fn by_order(masked: &str, n: usize) -> (Parts, Option<String>) {
    let mut starts: Vec<usize> = Vec::new();
    let mut offset = 0;
    for line in masked.split_inclusive('\n') {
        if lead_verdict(line).is_some() {
            starts.push(offset);
        }
        offset += line.len();
    }
    if starts.len() < n {
        // One paragraph: "True, ... . False, ... ."
        let mut sentence_starts = vec![0];
        for (i, c) in masked.char_indices() {
            if matches!(c, '.' | '!' | ';' | '\n') {
                sentence_starts.push(i + 1);
            }
        }
        // Each part starts at its verdict, so a verdict after several breaks counts once.
        let mut by_sentence: Vec<usize> = sentence_starts
            .into_iter()
            .filter(|&s| s < masked.len())
            .filter_map(|s| lead_verdict(&masked[s..]).map(|(_, at)| s + at))
            .collect();
        by_sentence.dedup();
        if by_sentence.len() > starts.len() {
            starts = by_sentence;
        }
    }
    let doubt = (starts.len() != n).then(|| {
        format!(
            "{} verdicts for {n} statements, without labels to align them",
            starts.len()
        )
    });
    let mut parts: Parts = vec![None; n];
    for (i, p) in parts.iter_mut().enumerate() {
        if let Some(&s) = starts.get(i) {
            let end = starts.get(i + 1).copied().unwrap_or(masked.len());
            *p = Some((s, end));
        }
    }
    (parts, doubt)
}

/// Reads each part; offsets are in `masked`.
fn read_parts(snippets: &LazySnippets, masked: &str, parts: &Parts) -> Vec<Reading> {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let Some((s, e)) = *p else {
                return Reading::none();
            };
            let part = masked.get(s..e).unwrap_or_default();
            let mut found = verdicts_in(part, s);
            // A verdict closing the line where the statement is retyped (`...gradients: F.`)
            // is as good as one opening the part.
            // (Only a statement with a text can be retyped; its snippet is looked for only
            // behind a closing verdict, normalising the line costing more than that test.)
            let has_text = snippets
                .statements
                .get(i)
                .is_some_and(|st| st.text.is_some());
            if has_text {
                let first_line_end = part.find('\n').unwrap_or(part.len());
                let first = &part[..first_line_end];
                let has_statement = || {
                    let snippet = snippets.get().get(i).filter(|sn| sn.is_some());
                    snippet.is_some_and(|sn| {
                        anchor_hits(std::slice::from_ref(sn), &normalize(first))[0].is_some()
                    })
                };
                if let Some((value, at)) = line_end_verdict(first).filter(|_| has_statement()) {
                    let at = s + at;
                    // The line opens with the statement itself: its closing verdict is the
                    // part's opening one.
                    found.retain(|x| x.at != at && (x.rank < 3 || x.at > s + first_line_end));
                    found.push(Found {
                        value,
                        at,
                        rank: 3,
                        hedged: false,
                    });
                    found.sort_by_key(|x| x.at);
                }
            }
            let (value, offset, mut doubt) = judge_part(&found);
            if value.is_none() && doubt.is_none() && hedged(part) {
                doubt = Some("a hedged answer without a true/false verdict".to_string());
            }
            Reading {
                value,
                offset,
                question_offset: None,
                doubt,
            }
        })
        .collect()
}

fn line_end_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(?:^|[\s:\-–—(,])(true|false|t|f|correct|incorrect|yes|no|flase|ture)\s*[.!)]*\s*$")
            .expect("valid")
    })
}

/// A verdict closing a line (`... no vanishing gradients: F.`), with its offset.
fn line_end_verdict(line: &str) -> Option<(bool, usize)> {
    let c = line_end_re().captures(line)?;
    let m = c.get(1)?;
    if matches!(m.as_str(), "t" | "f") {
        return None;
    }
    // "... there can be no" is the statement's own word, not a verdict.
    if m.as_str().eq_ignore_ascii_case("no")
        && !line[..m.start()]
            .trim_end()
            .ends_with([':', '-', '–', '—', '.'])
    {
        return None;
    }
    Some((token_value(m.as_str())?, m.start()))
}

fn quality(readings: &[Reading]) -> (usize, usize) {
    let read = readings.iter().filter(|r| r.value.is_some()).count();
    let doubts = readings.iter().filter(|r| r.doubt.is_some()).count();
    (read, doubts)
}

/// The reading of every statement. `question_text` is the question as it stands in the
/// notebook (verdicts typed between its statements are read); `text` is the answer.
pub fn read(statements: &[Statement], question_text: &str, text: &str) -> Vec<Reading> {
    let n = statements.len();
    if n == 0 {
        return Vec::new();
    }
    let masked = mask(text);
    let snippets = LazySnippets {
        statements,
        made: std::cell::OnceCell::new(),
    };
    // Structural alignments first (labels, statement text), the order of verdicts last.
    let mut tries: Vec<Vec<Reading>> = Vec::new();
    let mut trusted = None;
    // 1. The student's own labels.
    if let Some((parts, doubt, exact)) = by_labels(&masked, n) {
        if exact {
            trusted = Some(tries.len());
        }
        let mut r = read_parts(&snippets, &masked, &parts);
        if let Some(d) = doubt {
            for x in r.iter_mut().filter(|x| x.value.is_some()) {
                x.doubt.get_or_insert_with(|| d.clone());
            }
        }
        tries.push(r);
    }
    // The first clean, complete try is the reading (see the choice below): the later ones
    // need not be made.
    let clean = |tries: &[Vec<Reading>]| tries.iter().position(|t| quality(t) == (n, 0));
    if let Some(i) = clean(&tries) {
        return tries.swap_remove(i);
    }
    // 2. The statements retyped in the answer.
    let mut normalized = None;
    if n > 1 {
        let norm = normalized.insert(normalize(&masked));
        if let Some(parts) = by_anchors(snippets.get(), &masked, norm) {
            tries.push(read_parts(&snippets, &masked, &parts));
        }
    }
    if let Some(i) = clean(&tries) {
        return tries.swap_remove(i);
    }
    // 3. Verdicts typed inside the question cell, after each statement.
    if !question_text.trim().is_empty() {
        let combined = format!("{question_text}\n{text}");
        let shift = question_text.len() + 1;
        let cmasked = mask(&combined);
        // The answer's part, when masked alike, is normalised alike: the line break before it
        // leaves the walk between words, as at the start.
        let cnorm = match normalized {
            Some(norm) if cmasked.get(shift..) == Some(masked.as_str()) => {
                normalize(&cmasked[..shift]) + &norm
            }
            _ => normalize(&cmasked),
        };
        if let Some(parts) = by_anchors(snippets.get(), &cmasked, &cnorm) {
            let mut r = read_parts(&snippets, &cmasked, &parts);
            for x in r.iter_mut() {
                match x.offset {
                    Some(o) if o < shift => {
                        x.question_offset = Some(o);
                        x.offset = None;
                    }
                    Some(o) => x.offset = Some(o - shift),
                    None => {}
                }
            }
            tries.push(r);
        }
    }
    // 4. Verdicts in order (a single statement: the whole answer).
    let ordered = if n == 1 {
        read_parts(&snippets, &masked, &vec![Some((0, masked.len()))])
    } else {
        let (parts, doubt) = by_order(&masked, n);
        let mut r = read_parts(&snippets, &masked, &parts);
        if let Some(d) = doubt {
            for x in r.iter_mut().filter(|x| x.value.is_some()) {
                x.doubt.get_or_insert_with(|| d.clone());
            }
        }
        r
    };
    // A clean, complete structural reading; else one label per statement; else a clean
    // reading in order; else whichever reads most (on a tie, the earlier).
    if let Some(i) = tries.iter().position(|t| quality(t) == (n, 0)).or(trusted) {
        return tries.swap_remove(i);
    }
    if quality(&ordered) == (n, 0) {
        return ordered;
    }
    if n == 1 {
        // The whole answer comes before the question's own text.
        tries.insert(0, ordered);
    } else {
        tries.push(ordered);
    }
    let mut best: Option<Vec<Reading>> = None;
    for t in tries {
        if best.as_ref().is_none_or(|b| quality(&t).0 > quality(b).0) {
            best = Some(t);
        }
    }
    best.unwrap_or_else(|| vec![Reading::none(); n])
}

/// The verdict opening `text` or, failing that, the best verdict anywhere in it.
pub fn first_verdict(text: &str) -> Option<bool> {
    let masked = mask(text);
    judge_part(&verdicts_in(&masked, 0)).0
}

/// Checks the verdicts on `statements`, reading the answer `text` and, for verdicts typed
/// between the statements, the question's own `question_text`.
pub fn check(statements: &[Statement], question_text: &str, text: &str) -> Verdict {
    let read = read(statements, question_text, text);
    let n = statements.len().max(1);
    let weight = 1.0 / n as f64;
    let mut right = 0usize;
    let mut unread = 0usize;
    let mut doubts = Vec::new();
    let mut feedback = Vec::new();
    let mut parts = Vec::new();
    let offsets: Vec<Option<usize>> = read.iter().map(|r| r.offset).collect();
    for (i, (s, got)) in statements.iter().zip(&read).enumerate() {
        let label = if statements.len() > 1 {
            format!("statement {}: ", i + 1)
        } else {
            String::new()
        };
        let mut part_feedback = Vec::new();
        let (status, score) = match got.value {
            Some(v) if v == s.key => {
                right += 1;
                (Status::Correct, 1.0)
            }
            Some(v) => {
                // A debatable statement may accept, or send to review, the other verdict.
                let explained = super::debatable::explanation(text, &offsets, i);
                match super::debatable::other_verdict(s, v, explained) {
                    Some((st, sc, msg)) => {
                        right += usize::from(st == Status::Correct);
                        if st == Status::NeedsReview {
                            doubts.push(format!("{label}{msg}"));
                        }
                        part_feedback.push(msg);
                        (st, sc)
                    }
                    None => {
                        let msg = format!(
                            "you answered {}, but it is {}: {}",
                            word(v),
                            word(s.key),
                            s.why
                        );
                        feedback.push(format!("{label}{msg}"));
                        part_feedback.push(msg);
                        (Status::Wrong, 0.0)
                    }
                }
            }
            None => {
                unread += 1;
                if got.doubt.is_none() {
                    feedback.push(format!("{label}no true/false verdict found"));
                    part_feedback.push("no true/false verdict found".to_string());
                }
                (Status::Unparseable, 0.0)
            }
        };
        let status = match &got.doubt {
            Some(d) => {
                let msg = format!("needs review: {d}");
                doubts.push(format!("{label}{msg}"));
                part_feedback.insert(0, msg);
                Status::NeedsReview
            }
            None => status,
        };
        parts.push(Part {
            id: (i + 1).to_string(),
            status,
            score,
            weight,
            value: got
                .value
                .map_or(serde_json::Value::Null, serde_json::Value::Bool),
            feedback: part_feedback,
            offset: got.offset,
            question_offset: got.question_offset,
        });
    }
    let score = right as f64 / n as f64;
    let status = if !doubts.is_empty() {
        Status::NeedsReview
    } else if unread == statements.len() {
        Status::Unparseable
    } else if right == statements.len() {
        Status::Correct
    } else if right == 0 {
        Status::Wrong
    } else {
        Status::Partial
    };
    if !doubts.is_empty() {
        let mut all = doubts;
        all.extend(feedback);
        feedback = all;
    }
    let value = serde_json::Value::Array(
        read.iter()
            .map(|r| {
                r.value
                    .map_or(serde_json::Value::Null, serde_json::Value::Bool)
            })
            .collect(),
    );
    Verdict {
        parts,
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
                text: None,
                accept: Default::default(),
                review: false,
            })
            .collect()
    }

    /// Three statements with text, as a rubric gives them (my own wording).
    fn with_text() -> Vec<Statement> {
        [
            (false, "Sigmoid units never saturate for large inputs"),
            (
                true,
                "Batch normalisation normalises each feature over the batch",
            ),
            (
                false,
                "Weight decay is the same as adding noise to the labels",
            ),
        ]
        .into_iter()
        .map(|(key, text)| Statement {
            key,
            why: "because".into(),
            text: Some(text.into()),
            accept: Default::default(),
            review: false,
        })
        .collect()
    }

    fn values(statements: &[Statement], question: &str, text: &str) -> Vec<Option<bool>> {
        read(statements, question, text)
            .into_iter()
            .map(|r| r.value)
            .collect()
    }

    fn doubts(statements: &[Statement], question: &str, text: &str) -> Vec<bool> {
        read(statements, question, text)
            .into_iter()
            .map(|r| r.doubt.is_some())
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
            ("Wrong, the gradient vanishes", false),
            ("Right.", true),
            ("yes, the noise helps", true),
            ("No. It needs less memory", false),
            ("Not necessarily: a closed form works too", false),
            ("Not always, since", false),
            ("<b>False</b> - it can go either side", false),
            ("flase, the encoder samples", false),
            ("false", false),
            ("The answer is F.", false),
            ("This statement is true: the noise helps.", true),
            ("Not true. Dropout can go before", false),
            ("This isn't correct", false),
            ("The statement is not false, it holds.", true),
        ] {
            assert_eq!(first_verdict(text), Some(want), "{text}");
        }
        assert_eq!(first_verdict("Truly ambiguous"), None);
        assert_eq!(first_verdict("No vanishing gradient occurs here"), None);
    }

    #[test]
    fn an_opening_verdict_outranks_words_inside_the_explanation() {
        let one = st(&[false]);
        // The explanation's "true gradient" and "right of zero" are not verdicts.
        let text = "False. SGD follows a noisy estimate of the true gradient, whose slope on the right of zero is 1.";
        assert_eq!(values(&one, "", text), [Some(false)]);
        assert_eq!(doubts(&one, "", text), [false]);
        // A verdict after the explanation, followed by punctuation, still counts.
        let text = "The true gradient is replaced by a noisy one, so the statement is false.";
        assert_eq!(values(&one, "", text), [Some(false)]);
        assert_eq!(doubts(&one, "", text), [false]);
    }

    #[test]
    fn parts_align_by_the_students_own_numbering() {
        let three = st(&[true, false, false]);
        for text in [
            "1. True, it is a modified backprop.\n2. False: the state is carried on.\n3. False - longer relations too.",
            "3.1 True, a modified backprop\n3.2 False, the hidden state is kept\n3.3 False, longer ones are learned",
            "**5.** **True**, modified\n\n**6.** **False**, not only the length\n\n**7.** **False**, the state carries on",
            "a) True\nb) False\nc) False",
            "(i) True: yes.\n(ii) False: no.\n(iii) False: no.",
            "- True, it cuts the gradient path.\n- False, we also detach the state.\n- False, information flows further.",
            "A - True, modified.\n  B - False, more is needed.\n C - False, longer too.",
        ] {
            assert_eq!(
                values(&three, "", text),
                [Some(true), Some(false), Some(false)],
                "{text}"
            );
        }
        // A skipped statement stays unread, the others keep their place.
        assert_eq!(
            values(
                &three,
                "",
                "1. True, modified.\n3. False, longer relations."
            ),
            [Some(true), None, Some(false)]
        );
    }

    #[test]
    fn one_label_per_statement_beats_verdicts_in_order() {
        // Explanation lines that open with "this is true" would shift an alignment by order.
        let three = st(&[true, false, false]);
        let text = "1. The first claim, restated. T.\nthis is true by definition.\n\
                    2. The second claim, restated. F.\nthat is wrong, see above.\n\
                    3. The third claim, restated.\nIt depends on the sequence.";
        let r = read(&three, "", text);
        let got: Vec<Option<bool>> = r.iter().map(|x| x.value).collect();
        assert_eq!(got, [Some(true), Some(false), None]);
        assert!(r[2].doubt.is_some());
    }

    #[test]
    fn a_bare_letter_label_before_a_verdict_is_a_label() {
        let six = st(&[true, false, true, false, false, false]);
        let text = "A. True\nB. False\nC. True\nD. False\nE. False\nF True - momentum helps here";
        assert_eq!(
            values(&six, "", text),
            [
                Some(true),
                Some(false),
                Some(true),
                Some(false),
                Some(false),
                Some(true)
            ]
        );
        // Prose opening with "A true ..." has no label.
        assert_eq!(
            values(
                &st(&[true]),
                "",
                "A true gradient step is replaced by a noisy one, so it is false."
            ),
            [Some(false)]
        );
        // `F.` opening an answer is a verdict, not a sixth label.
        assert_eq!(
            values(&st(&[false]), "", "F. It can be placed before."),
            [Some(false)]
        );
    }

    #[test]
    fn labels_that_restart_take_the_run_that_fits() {
        let five = st(&[false, false, true, true, false]);
        let text = "A. F\nB. F\nC. T\n\nA. The answer is F.\nB. The answer is F.\nC. The answer is T.\nD. The answer is T.\nE. The answer is F.";
        assert_eq!(
            values(&five, "", text),
            [
                Some(false),
                Some(false),
                Some(true),
                Some(true),
                Some(false)
            ]
        );
    }

    #[test]
    fn retyped_statements_are_aligned_by_their_text() {
        let s = with_text();
        let text =
            "Sigmoid units never saturate for large inputs: F.\nthey do, the slope goes to 0.\n\
                    Batch normalisation normalises each feature over the batch: T.\n\
                    Weight decay is the same as adding noise to the labels - F.";
        assert_eq!(values(&s, "", text), [Some(false), Some(true), Some(false)]);
    }

    #[test]
    fn verdicts_typed_inside_the_question_cell_are_read() {
        let s = with_text();
        let question = "3. State whether each is **true or false**:\n  1. Sigmoid units never saturate for large inputs.\n  **False**, they saturate.\n  2. Batch normalisation normalises each feature over the batch.\n  True.\n  3. Weight decay is the same as adding noise to the labels.";
        let answer = "False, it shrinks the weights.";
        assert_eq!(
            values(&s, question, answer),
            [Some(false), Some(true), Some(false)]
        );
        // The verdict read in the answer text has its offset there; the others have none.
        let r = read(&s, question, answer);
        assert_eq!(r[2].offset, Some(0));
        assert_eq!(r[0].offset, None);
        let at = r[0].question_offset.expect("read in the question");
        assert!(question[at..].starts_with("False"), "{}", &question[at..]);
        // The question's own "true or false" is never a verdict.
        assert_eq!(
            values(
                &st(&[false]),
                "**True or false**: sigmoid saturates.",
                "It does."
            ),
            [None]
        );
    }

    #[test]
    fn unlabelled_verdicts_are_read_in_order() {
        let three = st(&[true, false, false]);
        let text = "True, it uses a modified backprop.\n\nFalse: the length is not limited.\n\nFalse, longer relations.";
        assert_eq!(
            values(&three, "", text),
            [Some(true), Some(false), Some(false)]
        );
        let text = "True, it is modified. False, the state is kept. False, it learns longer ones.";
        assert_eq!(
            values(&three, "", text),
            [Some(true), Some(false), Some(false)]
        );
    }

    #[test]
    fn doubtful_readings_are_flagged_with_their_best_guess() {
        let one = st(&[false]);
        // A hedge and no verdict: nothing read, flagged.
        let r = read(&one, "", "It depends on the activation function.");
        assert_eq!(r[0].value, None);
        assert!(r[0].doubt.is_some());
        // A verdict hedged in its own sentence keeps its reading, flagged.
        let r = read(
            &one,
            "",
            "False, though it can also be true with a leaky ReLU.",
        );
        assert_eq!(r[0].value, Some(false));
        assert!(r[0].doubt.is_some());
        // "generally true, but it depends": no verdict a TA takes as given.
        let r = read(
            &one,
            "",
            "This is generally true, but it depends on the data.",
        );
        assert_eq!(r[0].value, None);
        assert!(r[0].doubt.is_some());
        // Two verdicts of equal rank that disagree.
        let r = read(&one, "", "So it is true.\nOn the other hand, it is false.");
        assert!(r[0].doubt.is_some());
        // Only a word inside the explanation.
        let r = read(&one, "", "The gradient is the true one only on average");
        assert_eq!(r[0].value, Some(true));
        assert!(r[0].doubt.is_some());
        // "depends on" inside an explanation is not a hedge.
        let r = read(
            &one,
            "",
            "False - the result depends on where the mask is applied.",
        );
        assert_eq!((r[0].value, r[0].doubt.is_some()), (Some(false), false));
        // Two verdicts for three statements, without labels: flagged.
        let d = doubts(
            &st(&[true, false, false]),
            "",
            "True, modified.\n\nFalse, not only.",
        );
        assert!(d.iter().any(|&x| x));
    }

    #[test]
    fn check_reports_each_statement_as_a_part() {
        let text = "1. **False**, dead units\n2. True: the slope\n3. It depends on the weights";
        let v = check(&st(&[false, false, true]), "", text);
        assert_eq!(v.parts.len(), 3);
        assert_eq!(v.parts[0].status, Status::Correct);
        assert_eq!(v.parts[1].status, Status::Wrong);
        assert_eq!(v.parts[2].status, Status::NeedsReview);
        assert_eq!(v.status, Status::NeedsReview);
        assert!((v.parts[0].weight - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(v.value, serde_json::json!([false, true, null]));
        assert!(v.feedback[0].starts_with("statement 3: needs review"));
        // The offset is where the verdict stands in the answer text.
        let at = v.parts[1].offset.expect("offset");
        assert!(text[at..].starts_with("True"));
    }

    #[test]
    fn statuses_without_doubt() {
        let text = "A. **False**, dead units\nB. True: the slope\nC. False - it can";
        let v = check(&st(&[false, false, true]), "", text);
        assert_eq!(v.status, Status::Partial);
        assert!((v.score - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(v.feedback.len(), 2);
        let v = check(&st(&[true]), "", "Dropout regularises the network.");
        assert_eq!(v.status, Status::Unparseable);
    }

    #[test]
    fn verdict_words_are_the_words_the_regex_finds() {
        // Hand-written texts covering each boundary the scan decides: ASCII punctuation,
        // digits and underscores, non-ASCII letters and marks, and the folded `ſ`.
        let texts = [
            "True. false, CORRECT; incorrect! Right wrong flase ture",
            "untrue trueish true_ 1true true1 _false",
            "é true étrue trueé “true” ‘false’ – wrong —right",
            "falſe is false, tru\u{17f}e",
            "It is TrUe, or fAlSe: \u{212a} Right.",
            "",
            "true",
            "naïve correct café wrong",
        ];
        for t in texts {
            let want = ranges(any_word(), t);
            assert_eq!(verdict_words(t), want, "{t}");
        }
    }

    #[test]
    fn only_long_s_and_kelvin_fold_to_ascii_letters() {
        // verdict_words relies on this: no other character matches an ASCII letter under (?i).
        let letter = Regex::new("(?i)^[a-z]$").expect("valid");
        let folded: Vec<char> = (0x80..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| letter.is_match(&c.to_string()))
            .collect();
        assert_eq!(folded, vec!['\u{17f}', '\u{212a}']);
    }

    #[test]
    fn lead_words_are_the_ones_the_pattern_reads() {
        let lines = [
            "True. It holds because ...",
            "  - false, since ...",
            "• Final answer 2.1: correct",
            "— (  ) T.",
            "Answer is: no, it does not",
            "The statement is incorrect",
            "It's not necessarily true",
            "It’s wrong",
            "Its true",
            "I would say it is right.",
            "[False] ...",
            "(True)",
            "\u{a0}True",
            "Fal\u{17f}e",
            "Statement 1: T",
            "> yes",
            "FALSE\n\nbecause the sum of all the terms",
            "true_ or true1",
            "Trueé",
            "True—the gradient",
            "no",
            "Gradients vanish here.",
            "Because the loss is convex, ...",
            "f(0) = 0",
            "Truely so",
            "Consider the case x = 0.",
            "Answer1: true",
            "",
            "   ",
        ];
        for line in lines {
            let want = lead()
                .captures(line)
                .and_then(|c| c.get(1).map(|m| (m.start(), m.end())));
            assert_eq!(lead_word(line), want, "{line}");
            let tail = lead()
                .captures(line)
                .and_then(|c| c.get(2).map(|m| m.as_str()));
            if let (Some((_, end)), Some(tail)) = (want, tail) {
                assert_eq!(lead_tail(&line[end..]), tail, "{line}");
            }
        }
        // Prose lines, settled without the regex.
        for line in [
            "Gradients vanish here.",
            "Because the loss is convex",
            "Consider x = 0.",
        ] {
            assert_eq!(opening(line), Opening::Cannot, "{line}");
        }
    }

    #[test]
    fn prefilters_turn_away_no_line_the_patterns_read() {
        let lines = [
            "1. True",
            "  3.2 False",
            "a) correct",
            "(iv) wrong",
            "B - no",
            "F True",
            "- True",
            "• False",
            "* yes",
            "| 1 | False |",
            ": 2) T",
            "> > c. F",
            "Answer 3: True",
            "Q2. false",
            "Parta) true",
            "an\u{17f}1. True",
            "Statement\u{a0}2: no",
            "viii. no",
            "The gradient is T.",
            "so it is F",
            "answer: T ;",
            "Because it is (F)",
            "This is T\u{a0}.",
            "The end",
            "Gradients vanish.",
            "x = 3",
            "",
        ];
        for line in lines {
            if label_re().is_match(line) {
                assert!(may_label(line), "{line}");
            }
            if letter_verdict().is_match(line) {
                assert!(may_letter(line), "{line}");
            }
        }
        for line in ["The end", "Gradients vanish.", "x = 3", "Then T is large"] {
            assert!(!may_label(line), "{line}");
            assert!(!may_letter(line), "{line}");
        }
    }

    #[test]
    fn ascii_boundary_searches_agree_with_the_unicode_ones() {
        let texts = [
            "True or False: the gradient is zero.",
            "“True or False” — it depends on the step.",
            "éTrue or false, T/F, yes or no",
            "true or falseé; it dependsé; partiallyé true",
            "partially true, can also be false",
            "Ambiguous: the loss falls in some cases.",
            "x depends on y; it depends",
            "– depends on the rate",
            "naïve partly wrong",
            "yeſ or no, dependſ, it dependſ",
            "",
        ];
        for t in texts {
            let want = ranges(template_phrase(), t);
            assert_eq!(
                find_all(template_phrase(), template_phrase_ascii(), t),
                want,
                "{t}"
            );
            assert_eq!(hedged(t), hedge().is_match(t), "{t}");
        }
    }

    #[test]
    fn normalised_positions_map_back_to_the_text() {
        let text = "X-ray’s  Gradient É";
        assert_eq!(normalize(text), "x rays gradient é");
        // `x`, `r`, `g`, and both bytes of `é` (from the two-byte `É` at 20).
        assert_eq!(
            source_offsets(text, &[0, 2, 7, 16, 17, 99]),
            vec![Some(0), Some(2), Some(11), Some(20), Some(20), None]
        );
    }

    #[test]
    fn hostile_input_neither_panics_nor_hangs() {
        let s = with_text();
        let long = "1. True ".repeat(20_000) + &"é<b>**".repeat(10_000);
        let _ = read(&s, &long, &long);
        let words = "true false right. ".repeat(20_000) + &"\nTrue, yes.".repeat(20_000);
        let started = std::time::Instant::now();
        let _ = check(&st(&[true]), &words, &words);
        let _ = check(&s, &words, &words);
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        for text in [
            "", "\n\n", "é", "<", "**", "1.", "a)", "(", "- ", "F", "F True", "3.2",
        ] {
            let _ = check(&s, text, text);
            let _ = check(&st(&[true]), "", text);
        }
    }
}
