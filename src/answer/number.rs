//! Numbers in a student's answer, and the one the student concludes with.
//!
//! A receptive-field answer is rarely just `112`: it is `RF=112 pixels`,
//! `$112 \times 112$`, `\boxed{125 \times 125}`, `**112**`, a derivation
//! `13 -> 26 -> 55 -> 110 -> 112`, or three paragraphs of arithmetic ending in a sentence.
//! [`numbers`] lists every numeric mention with its form (so `112x112` is one square value,
//! `1,156` is one thousand-and-something, and `(1, 2)` is two numbers), and [`final_value`]
//! picks the value the student concludes with, reporting other conclusion-like values that
//! disagree so a grader can flag the answer rather than guess.
//!
//! The conclusion is often not the last number (issue 9). The classes handled, each where
//! its rule lives: the last element of an arrow chain `3 -> 4 -> 12 -> 16 -> 112`
//! ([`Conclusion::ChainEnd`]; earlier elements never conclude); a derivation closed by
//! `= N` and followed by a remark whose numbers are operands, "`= 38` since the dilation makes
//! the kernel 7*2-1" ([`Conclusion::DerivationResult`]); settings after the result, "112 (we
//! used k=3)", which never conclude (`parameter_assignment`); a table of per-layer values
//! followed by the sum (the final equation). Readings that are equally explicit
//! ([`Conclusion::strength`]) and disagree are all reported, so a checker can send the answer
//! to review with both values instead of picking one silently.
//!
//! All spans index into the *normalised* text, `normalize_math(text)`
//! (see [`crate::answer::normalize`](mod@crate::answer::normalize)).

use serde::Serialize;

use super::normalize::{normalize, MarkKind};
use super::{same_value, Span};

/// How a number was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NumberForm {
    /// Digits only: `112`, `-3`.
    Integer,
    /// With a decimal point: `0.28`, `.5`, `3.0`.
    Decimal,
    /// With thousands separators: `1,156` (value 1156), `42,000`.
    Thousands,
    /// Scientific notation: `1e-5`, `2.5x10^(-3)` (from `2.5 \times 10^{-3}`), `3 * 10^6`.
    Scientific,
    /// A side written twice or squared: `112x112`, `112 x 112`, `112 by 112`, `112^2`. The
    /// mention's value is the side (112).
    Square,
    /// Two different sides: `36x34`. The mention's value is the first side.
    Pair {
        /// The side written first.
        first: f64,
        /// The side written second.
        second: f64,
    },
    /// One factor of a product of three or more, `5x6x7x8x42000`: a shape's dimension, never
    /// chosen as a conclusion by [`final_value`] (only as the last number).
    Dimension,
    /// A power other than a square: `2^10` (value 1024), `10^(-3)`.
    Power {
        /// The base.
        base: f64,
        /// The exponent.
        exponent: f64,
    },
}

/// One number in the normalised text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumberMention {
    /// The value: `28%` is 0.28, `112x112` is 112, `1,156` is 1156.
    pub value: f64,
    /// Where the number is in the normalised text (the unit word is not included).
    pub span: Span,
    /// The text of the span.
    pub text: String,
    /// How it was written.
    pub form: NumberForm,
    /// Written as a percentage (`28%`, `28 %`, `28 percent`); `value` is already divided by 100.
    pub percent: bool,
    /// A unit word right after it, as written (`pixels`, `px`, `neurons`, ...).
    pub unit: Option<String>,
    /// A list enumerator at the start of a line (`1. ...`, `2) ...`), not a value.
    pub list_marker: bool,
}

/// How [`final_value`] recognised a conclusion, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// Inside `\boxed{...}`.
    Boxed,
    /// In bold (`**112**`, `<b>0.28</b>`), when the bold text is not a label like `Answer 3:`.
    Bold,
    /// Right after "answer is", "answer:", "answer =", "final answer would be", ...
    AnswerPhrase,
    /// After a keyword (receptive field, RF, result, total, final, so, therefore, ...) and a
    /// connector (is, =, :, of, to, ...) in the same sentence, e.g. `RF=112 pixels`,
    /// "the receptive field of each pixel is 112".
    KeywordPhrase,
    /// `= N` ending the last sentence (or line) that mentions a number.
    FinalEquation,
    /// The last element of a chain of three or more values joined by arrows,
    /// `3 -> 4 -> 12 -> 16 -> 112` (also `→`, `\to`, `\rightarrow` after normalisation): the
    /// earlier elements are intermediate values, never conclusions.
    ChainEnd,
    /// `= N` closing the last equation of a derivation (an arithmetic left side), at the end
    /// of its sentence or followed by a connective (`= 38 since ...`). Chosen when nothing
    /// above applies and the text goes on with a remark (`the dilation makes the kernel
    /// 7*2-1`) whose numbers are operands, not conclusions.
    DerivationResult,
    /// Nothing above applied: the last number mentioned.
    LastNumber,
}

impl Conclusion {
    /// How explicit a conclusion is, for deciding whether another candidate casts doubt on
    /// the chosen one (lower is more explicit). The three equation-like readings (final
    /// equation, chain end, derivation result) are equally explicit: when two of them
    /// disagree the answer is ambiguous.
    pub fn strength(self) -> u8 {
        match self {
            Conclusion::Boxed => 0,
            Conclusion::Bold => 1,
            Conclusion::AnswerPhrase => 2,
            Conclusion::KeywordPhrase => 3,
            Conclusion::FinalEquation | Conclusion::ChainEnd | Conclusion::DerivationResult => 4,
            Conclusion::LastNumber => 5,
        }
    }
}

/// Another value the student could be read as concluding with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Its value.
    pub value: f64,
    /// Where it is in the normalised text.
    pub span: Span,
    /// Its text.
    pub text: String,
    /// Why it looks like a conclusion.
    pub kind: Conclusion,
}

/// Whether `between` takes back the value before it: a word of correction ("actually",
/// "instead", "mistake", "oops", "sorry", "wait", "recounting", ...) or a question answered
/// "no" (`= 121? No, ...`). Narrower than the formula reader's list: "not" and "but" are
/// everyday words in a numeric derivation ("no padding", "but the stride is 2").
fn retracted(between: &str) -> bool {
    /// Words that take a value back, matched by length and spelling at once (a comparison
    /// with each of a list cost every word of the text between two values fourteen).
    fn takes_back(word: &str) -> bool {
        matches!(
            word,
            "actually"
                | "instead"
                | "mistake"
                | "mistaken"
                | "oops"
                | "sorry"
                | "wait"
                | "correction"
                | "corrected"
                | "recount"
                | "recounting"
                | "recomputing"
                | "redo"
                | "redoing"
        )
    }
    let lower = between.to_lowercase();
    let asked_no = lower
        .split('?')
        .skip(1)
        .any(|after| after.trim_start().starts_with("no"));
    asked_no || lower.split(|c: char| !c.is_alphabetic()).any(takes_back)
}

/// The value a student concludes with; see [`final_value`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalValue {
    /// The value (same as `mention.value`).
    pub value: f64,
    /// Where it is in the normalised text.
    pub span: Span,
    /// How it was chosen.
    pub chosen_by: Conclusion,
    /// The mention itself, with its form and unit.
    pub mention: NumberMention,
    /// Other conclusion-like values that differ from `value`; non-empty means the answer is
    /// ambiguous (e.g. a derivation reaching 112 and a final sentence stating 125).
    pub other_candidates: Vec<Candidate>,
}

/// Every numeric mention in `text`, in order. Spans index into `normalize_math(text)`.
///
/// Digits inside identifiers (`p1`, `RF_0`, `conv2d`, `L2`), subscripts (`_{i-1}`) and
/// exponents (`(1-p)^2`) are not mentions; ordinals and similar (`3rd`, `2D`) are not either.
///
/// ```
/// use examiner::answer::{numbers, NumberForm};
/// let found = numbers("RF=112x112 pixels, i.e. 1,156 or 28%");
/// assert_eq!(found[0].value, 112.0);
/// assert_eq!(found[0].form, NumberForm::Square);
/// assert_eq!(found[0].unit.as_deref(), Some("pixels"));
/// assert_eq!(found[1].value, 1156.0);
/// assert!(found[2].percent);
/// ```
pub fn numbers(text: &str) -> Vec<NumberMention> {
    scan_numbers(&normalize(text).text)
}

/// Like [`numbers`] for text that is already normalised (spans index into `normalized`).
pub fn scan_numbers(normalized: &str) -> Vec<NumberMention> {
    let t = normalized;
    let b = t.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let c = b[i];
        if c == b'_' {
            i = skip_subscript(b, i);
            continue;
        }
        if matches!(c, b'x' | b'X') && i > 0 && b[i - 1] == b')' && digit_at(b, i + 1) {
            // `(5x6x7x8)x42000`: the factor after a parenthesised product.
            let (found, next) = parse_at(t, i + 1);
            out.extend(found);
            i = next.max(i + 2);
            continue;
        }
        if c.is_ascii_alphabetic() {
            // An identifier (`p1`, `conv2d`); a subscript after it is skipped next round.
            while i < n && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            continue;
        }
        if c == b'^' {
            i = skip_exponent(b, i);
            continue;
        }
        let starts = c.is_ascii_digit()
            || (c == b'.' && digit_at(b, i + 1) && !(i > 0 && b[i - 1].is_ascii_digit()))
            || (c == b'-'
                && negative_context(b, i)
                && (digit_at(b, i + 1) || (b.get(i + 1) == Some(&b'.') && digit_at(b, i + 2))));
        let boundary_ok = i == 0 || {
            let p = b[i - 1];
            !(p.is_ascii_alphanumeric() || p == b'_' || (p == b'.' && c != b'-'))
        };
        if starts && boundary_ok {
            let (found, next) = parse_at(t, i);
            out.extend(found);
            i = next.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

fn digit_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_digit)
}

/// `_x`, `_12`, `_{...}`: returns the index after the subscript.
fn skip_subscript(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    if b.get(j) == Some(&b'{') {
        let limit = b.len().min(j + 64);
        let mut level = 0usize;
        while j < limit {
            match b[j] {
                b'{' => level += 1,
                b'}' => {
                    level -= 1;
                    if level == 0 {
                        return j + 1;
                    }
                }
                b'\n' => return j,
                _ => {}
            }
            j += 1;
        }
        return i + 2;
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    j
}

/// `^2`, `^(-3)`, `^-1`, `^x`: returns the index after the exponent.
fn skip_exponent(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    let paren = b.get(j) == Some(&b'(');
    if paren {
        j += 1;
    }
    if matches!(b.get(j), Some(b'-') | Some(b'+')) {
        j += 1;
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.' || b[j] == b'_') {
        j += 1;
    }
    if paren && b.get(j) == Some(&b')') {
        j += 1;
    }
    j
}

/// Whether a `-` at `i` is a sign rather than subtraction (or a bullet / arrow).
fn negative_context(b: &[u8], i: usize) -> bool {
    let mut k = i;
    while k > 0 && b[k - 1] == b' ' {
        k -= 1;
    }
    if k == 0 {
        return true;
    }
    let p = b[k - 1];
    if p.is_ascii_alphanumeric() || matches!(p, b')' | b']' | b'%' | b'-' | b'.') {
        return false;
    }
    true
}

/// A run of digits with an optional thousands grouping and decimal part, starting at `j`.
struct Mantissa {
    value: f64,
    end: usize,
    decimal: bool,
    thousands: bool,
}

fn mantissa(t: &str, j: usize, allow_thousands: bool) -> Option<Mantissa> {
    let b = t.as_bytes();
    let n = b.len();
    let mut k = j;
    while k < n && b[k].is_ascii_digit() {
        k += 1;
    }
    let int_len = k - j;
    let mut clean: String = t[j..k].to_string();
    let mut thousands = false;
    if allow_thousands && (1..=3).contains(&int_len) {
        let mut m = k;
        let mut groups = 0;
        while b.get(m) == Some(&b',')
            && b.get(m + 1..m + 4)
                .is_some_and(|g| g.iter().all(u8::is_ascii_digit))
            && !digit_at(b, m + 4)
        {
            m += 4;
            groups += 1;
        }
        // `1,156,7` or `1,156, 2`: a list, not a grouped number.
        let list_follows = b.get(m) == Some(&b',')
            && (digit_at(b, m + 1) || (b.get(m + 1) == Some(&b' ') && digit_at(b, m + 2)));
        if groups > 0 && !list_follows {
            for g in 0..groups {
                let s = k + g * 4 + 1;
                clean.push_str(&t[s..s + 3]);
            }
            k = m;
            thousands = true;
        }
    }
    let mut decimal = false;
    if b.get(k) == Some(&b'.') && digit_at(b, k + 1) {
        let s = k + 1;
        k += 1;
        while k < n && b[k].is_ascii_digit() {
            k += 1;
        }
        clean.push('.');
        clean.push_str(&t[s..k]);
        decimal = true;
    }
    if clean.is_empty() || clean == "." {
        return None;
    }
    if clean.starts_with('.') {
        clean.insert(0, '0');
    }
    let value: f64 = clean.parse().ok()?;
    value.is_finite().then_some(Mantissa {
        value,
        end: k,
        decimal,
        thousands,
    })
}

/// A signed integer or decimal exponent at `j`, optionally in parentheses: `-3`, `(-3)`, `2`.
fn exponent(t: &str, j: usize) -> Option<(f64, usize)> {
    let b = t.as_bytes();
    let mut k = j;
    let paren = b.get(k) == Some(&b'(');
    if paren {
        k += 1;
    }
    let mut negative = false;
    if matches!(b.get(k), Some(b'-') | Some(b'+')) {
        negative = b[k] == b'-';
        k += 1;
    }
    let m = mantissa(t, k, false)?;
    k = m.end;
    if paren {
        if b.get(k) != Some(&b')') {
            return None;
        }
        k += 1;
    }
    if b.get(k).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((if negative { -m.value } else { m.value }, k))
}

const UNITS: &[&str] = &[
    "pixels",
    "pixel",
    "px",
    "pxls",
    "neurons",
    "neuron",
    "units",
    "unit",
    "elements",
    "entries",
    "parameters",
    "params",
    "weights",
    "layers",
    "channels",
    "dimensions",
    "dims",
    "features",
    "epochs",
    "steps",
    "timesteps",
    "samples",
    "tokens",
    "words",
    "bits",
    "bytes",
    "kb",
    "mb",
    "gb",
    "flops",
    "ms",
    "seconds",
];

/// A unit word starting at `k` (after at most one space); returns it and its end.
fn unit_at(t: &str, k: usize) -> Option<(String, usize)> {
    let b = t.as_bytes();
    let mut s = k;
    if b.get(s) == Some(&b' ') {
        s += 1;
    }
    let mut e = s;
    while e < b.len() && b[e].is_ascii_alphabetic() {
        e += 1;
    }
    if e == s
        || b.get(e)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    {
        return None;
    }
    let word = &t[s..e];
    UNITS
        .contains(&word.to_ascii_lowercase().as_str())
        .then(|| (word.to_string(), e))
}

fn skip_spaces(b: &[u8], mut k: usize) -> usize {
    while b.get(k) == Some(&b' ') {
        k += 1;
    }
    k
}

/// The multiplication sign of a square/pair form at `k` (`x`, `X`, or the word `by`), and the
/// index of the second number.
fn times_form(b: &[u8], k: usize) -> Option<usize> {
    let k = skip_spaces(b, k);
    let after = if matches!(b.get(k), Some(b'x') | Some(b'X')) {
        k + 1
    } else if b.get(k..k + 2) == Some(b"by") && b.get(k + 2) == Some(&b' ') {
        k + 2
    } else {
        return None;
    };
    if b.get(after).is_some_and(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let s = skip_spaces(b, after);
    (digit_at(b, s) && !b[after..s].contains(&b'\n')).then_some(s)
}

/// Parses the number(s) starting at `i`. A chain like `5x6x7x8` yields one mention per factor.
fn parse_at(t: &str, i: usize) -> (Vec<NumberMention>, usize) {
    let b = t.as_bytes();
    let mut j = i;
    let negative = b[j] == b'-';
    if negative {
        j += 1;
    }
    let allow_thousands = {
        let mut p = i;
        while p > 0 && b[p - 1] == b' ' {
            p -= 1;
        }
        !(p > 0 && matches!(b[p - 1], b'(' | b'[' | b',' | b'{'))
    };
    let Some(m) = mantissa(t, j, allow_thousands) else {
        return (Vec::new(), i + 1);
    };
    let sign = if negative { -1.0 } else { 1.0 };
    let mut value = sign * m.value;
    let mut end = m.end;
    let mut form = if m.thousands {
        NumberForm::Thousands
    } else if m.decimal {
        NumberForm::Decimal
    } else {
        NumberForm::Integer
    };

    // Scientific: 1e-5, 1E5.
    if matches!(b.get(end), Some(b'e') | Some(b'E')) {
        let k = end + 1;
        let k2 = if matches!(b.get(k), Some(b'-') | Some(b'+')) {
            k + 1
        } else {
            k
        };
        if digit_at(b, k2) {
            let mut e = k2;
            while digit_at(b, e) {
                e += 1;
            }
            if !b.get(e).is_some_and(u8::is_ascii_alphabetic) {
                if let Ok(exp) = t[k..e].parse::<f64>() {
                    let v = value * 10f64.powf(exp);
                    if v.is_finite() {
                        value = v;
                        end = e;
                        form = NumberForm::Scientific;
                    }
                }
            }
        }
    }

    let mut chain: Vec<(f64, Span)> = Vec::new();
    if form != NumberForm::Scientific {
        // Powers written on the number: 112^2, 2^(10), 10^-3.
        if b.get(end) == Some(&b'^') {
            if let Some((exp, e)) = exponent(t, end + 1) {
                if exp == 2.0 && m.value.fract() == 0.0 && !negative {
                    form = NumberForm::Square;
                    end = e;
                } else {
                    let v = value.powf(exp);
                    if v.is_finite() {
                        form = NumberForm::Power {
                            base: value,
                            exponent: exp,
                        };
                        value = v;
                        end = e;
                    }
                }
            }
        } else if let Some(s) = times_form(b, end) {
            // 112x112, 112 x 112, 112 by 112, 2.5x10^(-3), 5x6x7x8.
            if let Some(m2) = mantissa(t, s, false) {
                if &t[s..m2.end] == "10" && b.get(m2.end) == Some(&b'^') {
                    if let Some((exp, e)) = exponent(t, m2.end + 1) {
                        let v = value * 10f64.powf(exp);
                        if v.is_finite() {
                            value = v;
                            end = e;
                            form = NumberForm::Scientific;
                        }
                    }
                } else if !b
                    .get(m2.end)
                    .is_some_and(|c| c.is_ascii_alphabetic() && *c != b'x' && *c != b'X')
                    || unit_at(t, m2.end).is_some()
                {
                    chain.push((value, Span::new(i, end)));
                    chain.push((m2.value, Span::new(s, m2.end)));
                    let mut e = m2.end;
                    while let Some(s3) = times_form(b, e) {
                        match mantissa(t, s3, false) {
                            Some(m3) if chain.len() < 64 => {
                                chain.push((m3.value, Span::new(s3, m3.end)));
                                e = m3.end;
                            }
                            _ => break,
                        }
                    }
                    if chain.len() == 2 {
                        let (a, c) = (chain[0].0, chain[1].0);
                        form = if same_value(a, c) {
                            NumberForm::Square
                        } else {
                            NumberForm::Pair {
                                first: a,
                                second: c,
                            }
                        };
                        end = e;
                        chain.clear();
                    } else {
                        end = e;
                    }
                }
            }
        } else {
            // 2.5 * 10^(-3)
            let k = skip_spaces(b, end);
            if b.get(k) == Some(&b'*') {
                let s = skip_spaces(b, k + 1);
                if b.get(s..s + 3) == Some(b"10^") {
                    if let Some((exp, e)) = exponent(t, s + 3) {
                        let v = value * 10f64.powf(exp);
                        if v.is_finite() && (m.decimal || exp.abs() >= 2.0) {
                            value = v;
                            end = e;
                            form = NumberForm::Scientific;
                        }
                    }
                }
            }
        }
    }

    if chain.len() >= 3 {
        // A dimension chain (5x6x7x8x42000) is a shape: report each factor as a number.
        let mentions = chain
            .into_iter()
            .map(|(v, span)| NumberMention {
                value: v,
                span,
                text: span.slice(t).to_string(),
                form: NumberForm::Dimension,
                percent: false,
                unit: None,
                list_marker: false,
            })
            .collect();
        return (mentions, end);
    }

    // Percent.
    let mut percent = false;
    let k = skip_spaces(b, end);
    if b.get(k) == Some(&b'%') {
        percent = true;
        end = k + 1;
    } else if b.get(k..k + 7) == Some(b"percent")
        && !b.get(k + 7).is_some_and(u8::is_ascii_alphabetic)
    {
        percent = true;
        end = k + 7;
    }
    if percent {
        value /= 100.0;
    }

    // A letter glued to the number that is not a unit: `3rd`, `2D`, `1st`.
    let unit = if percent { None } else { unit_at(t, end) };
    if unit.is_none() && b.get(end).is_some_and(|c| c.is_ascii_alphabetic()) {
        let mut e = end;
        while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
            e += 1;
        }
        return (Vec::new(), e);
    }

    let span = Span::new(i, end);
    let list_marker = is_list_marker(t, span, &form, unit.is_some() || percent);
    let mention = NumberMention {
        value,
        span,
        text: span.slice(t).to_string(),
        form,
        percent,
        unit: unit.map(|(u, _)| u),
        list_marker,
    };
    (vec![mention], end)
}

/// `1. text`, `2) text`, `(3) text` at the start of a line.
fn is_list_marker(t: &str, span: Span, form: &NumberForm, has_suffix: bool) -> bool {
    if *form != NumberForm::Integer || has_suffix {
        return false;
    }
    let b = t.as_bytes();
    if !matches!(b.get(span.end), Some(b'.') | Some(b')')) || b.get(span.end + 1) != Some(&b' ') {
        return false;
    }
    // Only spaces or `(` between the line start and the number...
    let mut k = span.start;
    while k > 0 && matches!(b[k - 1], b' ' | b'(') {
        k -= 1;
    }
    if k > 0 && b[k - 1] != b'\n' {
        return false;
    }
    // ...and some text after the marker on the same line.
    let after = skip_spaces(b, span.end + 1);
    after < b.len() && b[after] != b'\n'
}

// ---------------------------------------------------------------------------------------
// final_value

/// Where a mention's trailing unit ends (or the mention itself, without a unit).
fn end_with_unit(t: &str, m: &NumberMention) -> usize {
    match &m.unit {
        Some(u) => {
            let b = t.as_bytes();
            let k = if b.get(m.span.end) == Some(&b' ') {
                m.span.end + 1
            } else {
                m.span.end
            };
            (k + u.len()).min(t.len())
        }
        None => m.span.end,
    }
}

fn prev_char(t: &str, mut pos: usize) -> Option<(char, usize)> {
    while pos > 0 {
        let c = t[..pos].chars().next_back()?;
        if c != ' ' {
            return Some((c, pos - c.len_utf8()));
        }
        pos -= 1;
    }
    None
}

fn next_char(t: &str, pos: usize) -> Option<char> {
    t.get(pos..)?.chars().find(|&c| c != ' ')
}

/// Not an operand of surrounding arithmetic: `= 112.` yes, `6 + ...` and `... - 1` no.
fn standalone(t: &str, m: &NumberMention) -> bool {
    let after = end_with_unit(t, m);
    // `2(1-p)` multiplies; `36x36 (16x16 from ...)` is a remark.
    if t.as_bytes().get(m.span.end) == Some(&b'(') {
        return false;
    }
    if matches!(
        next_char(t, after),
        Some('+' | '-' | '*' | '/' | '^' | '×' | '∙' | '·')
    ) {
        // `112 -> ...` is an arrow, not a subtraction.
        let rest = t[after..].trim_start_matches(' ');
        if !rest.starts_with("->") {
            return false;
        }
    }
    !matches!(
        prev_char(t, m.span.start),
        Some(('+' | '-' | '*' | '/' | '^', _))
    )
}

/// Chains of values joined by arrows: `3 -> 4 -> 12 -> 16 -> 112`, with optional short
/// labels between (`3 (conv1) -> 4 (pool)`). Returns, per chain of at least three values,
/// the indices (into `usable`) of its elements, in order.
fn arrow_chains(t: &str, mentions: &[NumberMention], usable: &[usize]) -> Vec<Vec<usize>> {
    let mut chains: Vec<Vec<usize>> = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    for &k in usable {
        let joined = cur.last().is_some_and(|&p| {
            let from = end_with_unit(t, &mentions[p]);
            let b = &mentions[k];
            let between = t.get(from..b.span.start).unwrap_or("x");
            between.matches("->").count() + between.matches("=>").count() == 1
                && between.len() <= 40
                && !between.contains('\n')
        });
        if !joined {
            if cur.len() >= 3 {
                chains.push(std::mem::take(&mut cur));
            }
            cur.clear();
        }
        cur.push(k);
    }
    if cur.len() >= 3 {
        chains.push(cur);
    }
    chains
}

/// Names of layer hyper-parameters (kernel, stride, dilation, padding) and loop indices
/// whose assignment (`k=3`, `s = 2`, `dilation=2`, `i=1`) states a setting of the question,
/// never the answer.
const PARAMETERS: &[&str] = &[
    "k",
    "s",
    "d",
    "p",
    "i",
    "j",
    "stride",
    "kernel",
    "kernel_size",
    "dilation",
    "padding",
    "pad",
];

/// Whether `= N` assigns a hyper-parameter: the left side is one short name from
/// [`PARAMETERS`] (with an optional index), not an expression or a result name.
fn parameter_assignment(t: &str, m: &NumberMention) -> bool {
    let Some(('=', eq)) = prev_char(t, m.span.start) else {
        return false;
    };
    let b = t.as_bytes();
    let mut e = eq;
    while e > 0 && b[e - 1] == b' ' {
        e -= 1;
    }
    let mut s = e;
    while s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_') {
        s -= 1;
    }
    let name = t[s..e].to_ascii_lowercase();
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
    PARAMETERS.contains(&base)
}

/// Whether the left side of the `=` before the mention ends in arithmetic (a number or a
/// closing bracket): `... + 1 = 38`, `(7*2-1) = 13`.
fn arithmetic_left(t: &str, m: &NumberMention) -> bool {
    let mut pos = m.span.start;
    loop {
        match prev_char(t, pos) {
            Some(('(' | '[', p)) => pos = p,
            Some(('=' | '≈', p)) => {
                return matches!(prev_char(t, p), Some((c, _)) if c.is_ascii_digit() || matches!(c, ')' | ']'))
            }
            _ => return false,
        }
    }
}

/// Words that go on from a result to its justification: `= 38 since ...`.
const CONNECTIVES: &[&str] = &[
    "since",
    "because",
    "as",
    "where",
    "which",
    "and",
    "so",
    "for",
    "i",
    "ie",
    "thus",
    "hence",
    "therefore",
    "by",
    "with",
    "when",
    "from",
    "in",
    "at",
    "after",
    "is",
    "this",
    "then",
    "but",
    "or",
];

/// `= N` closing a derivation: alone, after `=` with arithmetic on the left, and followed by
/// the end of its sentence or a connective word (`= 38 since the dilation ...`).
fn closes_derivation(t: &str, m: &NumberMention) -> bool {
    if !(preceded_by_equals(t, m) && arithmetic_left(t, m)) {
        return false;
    }
    if ends_sentence(t, m) {
        return true;
    }
    let rest = t[end_with_unit(t, m)..].trim_start_matches([' ', ',']);
    let word: String = rest
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase();
    CONNECTIVES.contains(&word.as_str())
}

fn preceded_by_equals(t: &str, m: &NumberMention) -> bool {
    let mut pos = m.span.start;
    loop {
        match prev_char(t, pos) {
            Some(('(' | '[', p)) => pos = p,
            Some(('=' | '≈', _)) => return true,
            _ => return false,
        }
    }
}

/// Nothing but closing punctuation between the mention (and its unit) and the end of its
/// sentence or line.
fn ends_sentence(t: &str, m: &NumberMention) -> bool {
    let rest = &t[end_with_unit(t, m)..];
    for c in rest.chars() {
        match c {
            ' ' | ')' | ']' | '}' | '"' | '\'' => continue,
            '\n' => return true,
            '.' | ';' | '!' | '?' => return true,
            _ => return false,
        }
    }
    true
}

/// Start of the sentence containing byte `pos` (after `\n`, `. `, `; `, `! `, `? `), looking
/// back at most 400 bytes.
fn sentence_start(t: &str, pos: usize) -> usize {
    let b = t.as_bytes();
    let mut k = pos;
    let limit = pos.saturating_sub(400);
    while k > limit {
        let c = b[k - 1];
        if c == b'\n' {
            return k;
        }
        if matches!(c, b'.' | b';' | b'!' | b'?') && b.get(k) == Some(&b' ') {
            return k;
        }
        k -= 1;
    }
    while k < pos && !t.is_char_boundary(k) {
        k += 1;
    }
    k
}

const FILLERS: &[&str] = &[
    "a",
    "an",
    "the",
    "size",
    "approximately",
    "approx",
    "about",
    "around",
    "roughly",
    "exactly",
    "just",
    "only",
    "simply",
    "then",
    "now",
    "also",
    "still",
    "therefore",
    "thus",
    "hence",
    "finally",
    "value",
];

const CONNECTORS: &[&str] = &[
    "is", "are", "was", "were", "be", "equals", "equal", "of", "to", "in", "get", "gets", "got",
    "obtain", "gives", "give", "reach", "reaches", "becomes", "become", "yields",
];

const KEYWORDS: &[&str] = &[
    "receptive field",
    "receptive filed",
    "rf",
    "result",
    "results",
    "total",
    "final",
    "finally",
    "overall",
    "therefore",
    "thus",
    "hence",
    "so",
    "conclusion",
    "summary",
    "altogether",
    "answer",
];

/// The word ending at `end` (ASCII letters), with its start.
fn word_before(t: &str, end: usize) -> Option<(usize, &str)> {
    let b = t.as_bytes();
    let mut s = end;
    while s > 0 && b[s - 1].is_ascii_alphabetic() {
        s -= 1;
    }
    (s < end).then(|| (s, &t[s..end]))
}

/// Where the connector before the mention starts, if the mention follows one (after fillers).
fn connector_before(t: &str, m: &NumberMention) -> Option<usize> {
    let b = t.as_bytes();
    let mut pos = m.span.start;
    for _ in 0..6 {
        while pos > 0 && matches!(b[pos - 1], b' ' | b'(' | b'[') {
            pos -= 1;
        }
        if pos == 0 {
            return None;
        }
        if let Some((c, p)) = prev_char(t, pos) {
            if matches!(c, '=' | ':' | '≈') {
                return Some(p);
            }
        }
        let (s, word) = word_before(t, pos)?;
        let lower = word.to_ascii_lowercase();
        if CONNECTORS.contains(&lower.as_str()) {
            return Some(s);
        }
        if !FILLERS.contains(&lower.as_str()) {
            return None;
        }
        pos = s;
    }
    None
}

/// Whether `window` (lower-case) contains `keyword` as a word; `_` may follow it (`RF_0`).
fn contains_word(window: &str, keyword: &str) -> Option<usize> {
    let b = window.as_bytes();
    let mut from = 0;
    while let Some(p) = window[from..].find(keyword) {
        let s = from + p;
        let e = s + keyword.len();
        let before_ok = s == 0 || !b[s - 1].is_ascii_alphanumeric();
        let after_ok = e >= b.len() || !b[e].is_ascii_alphanumeric();
        if before_ok && after_ok {
            return Some(e);
        }
        from = s + 1;
    }
    None
}

fn phrase_kind(t: &str, m: &NumberMention) -> Option<Conclusion> {
    let conn = connector_before(t, m)?;
    let start = sentence_start(t, conn).max(conn.saturating_sub(160));
    let mut start = start;
    while !t.is_char_boundary(start) {
        start += 1;
    }
    let window = t[start..conn].to_lowercase();
    if let Some(e) = contains_word(&window, "answer") {
        if window.len() - e <= 20 {
            return Some(Conclusion::AnswerPhrase);
        }
    }
    // (A hyper-parameter assignment such as the `3` of "the receptive field is 112 (we used
    // k=3)" never gets here: it is not a standalone value.)
    KEYWORDS
        .iter()
        .any(|k| contains_word(&window, k).is_some())
        .then_some(Conclusion::KeywordPhrase)
}

/// Bold text that labels rather than concludes: `Answer 3:`, `Question 2`, `Part 1`.
fn is_label(bold: &str) -> bool {
    let lower = bold.to_lowercase();
    [
        "answer", "question", "part", "section", "exercise", "task", "step", "layer", "bonus",
        "note", "hint", "q.",
    ]
    .iter()
    .any(|w| contains_word(&lower, w).is_some())
}

/// The value the student concludes with, chosen in this order:
///
/// 1. inside `\boxed{}` ([`Conclusion::Boxed`]);
/// 2. in bold in the original text, unless the bold text is a label such as `Answer 3:`
///    ([`Conclusion::Bold`]);
/// 3. after "answer is / answer: / answer =" ([`Conclusion::AnswerPhrase`]);
/// 4. after a keyword (receptive field, RF, result, total, final, so, therefore, ...) and a
///    connector (is, =, :, of, to, ...) in one sentence ([`Conclusion::KeywordPhrase`]);
/// 5. `= N` ending the last sentence or line that has a number ([`Conclusion::FinalEquation`]);
/// 6. otherwise the last number ([`Conclusion::LastNumber`]).
///
/// Within a rule the last occurrence wins (students conclude at the end). Only values that
/// stand alone count for rules 1–5: the `1` in `= 1 - 0.9*0.8` is an operand, not a result.
/// List enumerators (`1.`) are never chosen; `None` when there is no other number.
///
/// `other_candidates` lists values that disagree with the chosen one: every boxed, bold and
/// answer-phrase value, the last keyword-phrase value, the final equation, and the result of
/// the last `= N` of a derivation when it comes after the chosen value or right before it
/// (no other number in between).
///
/// ```
/// use examiner::answer::{final_value, Conclusion};
/// let v = final_value("1*110 + (3-1) = 112.\nso the final size is 112x112.").unwrap();
/// assert_eq!(v.value, 112.0);
/// assert!(v.other_candidates.is_empty());
/// let v = final_value("RF = 1 + 2*(2-1) + ... = 112\nTherefore the receptive field is 125.").unwrap();
/// assert_eq!(v.value, 125.0);
/// assert_eq!(v.other_candidates[0].value, 112.0);
/// ```
pub fn final_value(text: &str) -> Option<FinalValue> {
    let norm = normalize(text);
    let t = norm.text.as_str();
    let mentions = scan_numbers(t);
    if mentions.is_empty() {
        return None;
    }
    // List enumerators are never values; a text with nothing else has no value.
    let usable: Vec<usize> = (0..mentions.len())
        .filter(|&k| !mentions[k].list_marker)
        .collect();
    // Elements of an arrow chain other than its last are intermediate values; a
    // hyper-parameter assignment (`k=3`) states the question's settings. Neither concludes.
    let chains = arrow_chains(t, &mentions, &usable);
    let mut mid_chain = vec![false; mentions.len()];
    for chain in &chains {
        for &k in &chain[..chain.len() - 1] {
            mid_chain[k] = true;
        }
    }
    let alone: Vec<bool> = mentions
        .iter()
        .enumerate()
        .map(|(k, m)| {
            m.form != NumberForm::Dimension
                && standalone(t, m)
                && !mid_chain[k]
                && !parameter_assignment(t, m)
        })
        .collect();

    let mut cands: Vec<(Conclusion, usize)> = Vec::new();
    for mark in &norm.marks {
        let kind = match mark.kind {
            MarkKind::Boxed => Conclusion::Boxed,
            MarkKind::Bold => {
                if is_label(mark.span.slice(t)) {
                    continue;
                }
                Conclusion::Bold
            }
        };
        let from = usable.partition_point(|&k| mentions[k].span.start < mark.span.start);
        let to = usable.partition_point(|&k| mentions[k].span.start < mark.span.end);
        if let Some(&k) = usable[from..to.max(from)]
            .iter()
            .rev()
            .find(|&&k| mark.span.contains(&mentions[k].span) && alone[k])
        {
            cands.push((kind, k));
        }
    }
    for &k in &usable {
        if alone[k] {
            if let Some(kind) = phrase_kind(t, &mentions[k]) {
                cands.push((kind, k));
            }
        }
    }
    let last = *usable.last()?;
    let last_m = &mentions[last];
    if alone[last] && preceded_by_equals(t, last_m) && ends_sentence(t, last_m) {
        cands.push((Conclusion::FinalEquation, last));
    }
    if let Some(&k) = chains.last().and_then(|c| c.last()) {
        if alone[k] {
            cands.push((Conclusion::ChainEnd, k));
        }
    }
    if let Some(&k) = usable
        .iter()
        .rev()
        .find(|&&k| alone[k] && closes_derivation(t, &mentions[k]))
    {
        // Only when nothing that reads as a conclusion comes after it: the text after it is
        // a remark, not more working.
        let later = cands
            .iter()
            .any(|&(_, c)| mentions[c].span.start > mentions[k].span.start);
        if k != last && !later {
            cands.push((Conclusion::DerivationResult, k));
        }
    }

    // A value the student takes back ("= 121? No, recounting ... 112", "Actually, ...") is no
    // conclusion: a retraction between it and a later value drops it.
    // Only the text up to the last such value is read: a retraction before an earlier one is
    // also before the last (values open with a digit, a sign or a point, so no word runs into
    // one), and reading each gap separately made this quadratic in the number of values.
    let taken_back = |k: usize| {
        usable
            .iter()
            .rev()
            .find(|&&m| alone[m] && mentions[m].span.start >= mentions[k].span.end)
            .is_some_and(|&m| {
                retracted(
                    t.get(mentions[k].span.end..mentions[m].span.start)
                        .unwrap_or(""),
                )
            })
    };
    cands.retain(|&(_, k)| !taken_back(k));

    // The most explicit conclusion; among equally explicit ones, the last written.
    let chosen = cands
        .iter()
        .min_by(|a, b| {
            a.0.strength()
                .cmp(&b.0.strength())
                .then(mentions[b.1].span.start.cmp(&mentions[a.1].span.start))
        })
        .copied()
        .unwrap_or((Conclusion::LastNumber, last));
    let (chosen_by, ci) = chosen;
    let chosen_m = &mentions[ci];

    // Other conclusion-like values.
    let mut others: Vec<(Conclusion, usize)> = Vec::new();
    for &(kind, k) in &cands {
        if matches!(
            kind,
            Conclusion::Boxed | Conclusion::Bold | Conclusion::AnswerPhrase
        ) {
            others.push((kind, k));
        }
    }
    // A keyword conclusion that opens the answer ("The receptive field is 112." before the
    // working) is stated as the answer as much as the last one is: two that disagree are two
    // answers. Keyword phrases in the middle of a derivation are its steps.
    // (The kind first, then the opening: every candidate looked for the end of its sentence
    // with a search per mark through the rest of the answer.)
    for &(kind, k) in &cands {
        if kind != Conclusion::KeywordPhrase {
            continue;
        }
        let at = mentions[k].span;
        let opening = t[..sentence_start(t, at.start)].trim().is_empty();
        if !opening {
            continue;
        }
        // A statement, not a step: its sentence holds no other number (`... is the 13=7*2-1`
        // opens a derivation). The sentence ends at the first line break or `. `, `? `, `! `.
        let rest = &t.as_bytes()[at.end..];
        let sentence_end = at.end
            + (0..rest.len())
                .find(|&i| {
                    rest[i] == b'\n'
                        || (matches!(rest[i], b'.' | b'?' | b'!') && rest.get(i + 1) == Some(&b' '))
                })
                .unwrap_or(rest.len());
        let alone_in_sentence = usable
            .iter()
            .filter(|&&m| mentions[m].span.start < sentence_end)
            .count()
            == 1;
        if alone_in_sentence {
            others.push((kind, k));
        }
    }
    for kind in [
        Conclusion::KeywordPhrase,
        Conclusion::FinalEquation,
        Conclusion::ChainEnd,
        Conclusion::DerivationResult,
    ] {
        if let Some(&(_, k)) = cands
            .iter()
            .filter(|(c, _)| *c == kind)
            .max_by_key(|(_, k)| mentions[*k].span.start)
        {
            others.push((kind, k));
        }
    }
    if let Some(&k) = usable.iter().rev().find(|&&k| {
        alone[k] && preceded_by_equals(t, &mentions[k]) && ends_sentence(t, &mentions[k])
    }) {
        let eq = &mentions[k];
        let qualifies = if eq.span.start >= chosen_m.span.end {
            true
        } else {
            let sent = sentence_start(t, chosen_m.span.start);
            !usable.iter().any(|&o| {
                o != k && mentions[o].span.start >= eq.span.end && mentions[o].span.end <= sent
            })
        };
        if qualifies {
            others.push((Conclusion::DerivationResult, k));
        }
    }
    if chosen_by != Conclusion::LastNumber && last != ci && alone[last] {
        // The last number, when something else was chosen: shown, but it casts no doubt
        // (it is the weakest reading).
        others.push((Conclusion::LastNumber, last));
    }
    others.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(mentions[a.1].span.start.cmp(&mentions[b.1].span.start))
    });
    let mut other_candidates: Vec<Candidate> = Vec::new();
    for (kind, k) in others {
        let m = &mentions[k];
        if k == ci
            || same_value(m.value, chosen_m.value)
            || other_candidates
                .iter()
                .any(|c| same_value(c.value, m.value))
        {
            continue;
        }
        other_candidates.push(Candidate {
            value: m.value,
            span: m.span,
            text: m.text.clone(),
            kind,
        });
    }

    Some(FinalValue {
        value: chosen_m.value,
        span: chosen_m.span,
        chosen_by,
        mention: chosen_m.clone(),
        other_candidates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<f64> {
        numbers(text).iter().map(|m| m.value).collect()
    }

    fn one(text: &str) -> NumberMention {
        let found = numbers(text);
        assert_eq!(found.len(), 1, "{text:?} -> {found:?}");
        found.into_iter().next().unwrap()
    }

    #[test]
    fn plain_decimal_and_percent() {
        let m = one("112");
        assert_eq!((m.value, m.form.clone()), (112.0, NumberForm::Integer));
        assert_eq!(m.span, Span::new(0, 3));
        assert_eq!(one("0.28").form, NumberForm::Decimal);
        assert_eq!(one(".5").value, 0.5);
        let m = one("28%");
        assert!(m.percent);
        assert!((m.value - 0.28).abs() < 1e-12);
        assert!(one("28 percent").percent);
        assert!(one(r"$28\%$").percent);
        assert_eq!(one("x = -3").value, -3.0);
    }

    #[test]
    fn thousands_and_tuples() {
        let m = one("1,156");
        assert_eq!((m.value, m.form), (1156.0, NumberForm::Thousands));
        assert_eq!(one("a vector of size 42,000").value, 42000.0);
        assert_eq!(values("(1, 2)"), vec![1.0, 2.0]);
        assert_eq!(values("(1,156)"), vec![1.0, 156.0]);
        assert_eq!(values("[5,6,7,8,42000]"), vec![5.0, 6.0, 7.0, 8.0, 42000.0]);
        assert_eq!(values("1,156,7"), vec![1.0, 156.0, 7.0]);
    }

    #[test]
    fn scientific_forms() {
        let m = one("1e-5");
        assert_eq!(m.form, NumberForm::Scientific);
        assert!((m.value - 1e-5).abs() < 1e-18);
        let m = one(r"$2.5 \times 10^{-3}$");
        assert_eq!(m.form, NumberForm::Scientific);
        assert!((m.value - 2.5e-3).abs() < 1e-15);
        let m = one("1.125x10^{-7}");
        assert!((m.value - 1.125e-7).abs() < 1e-18);
        let m = one("3.9 * 10^-3");
        assert!((m.value - 3.9e-3).abs() < 1e-15);
    }

    #[test]
    fn square_and_pair_forms() {
        for text in [
            "112x112",
            "112 x 112",
            "112×112",
            "112 by 112",
            "112^2",
            r"$112 \times 112$",
        ] {
            let m = one(text);
            assert_eq!((m.value, m.form), (112.0, NumberForm::Square), "{text}");
        }
        assert_eq!(one("112x112px").form, NumberForm::Square);
        let m = one("36x34");
        assert_eq!(
            m.form,
            NumberForm::Pair {
                first: 36.0,
                second: 34.0
            }
        );
        assert_eq!(m.value, 36.0);
        let m = one("RF=112 pixels");
        assert_eq!(m.unit.as_deref(), Some("pixels"));
        assert_eq!(m.text, "112");
        assert_eq!(one("112x112 px").unit.as_deref(), Some("px"));
        assert_eq!(one("10px").unit.as_deref(), Some("px"));
        let m = one("2^10");
        assert_eq!(m.value, 1024.0);
        assert!(matches!(m.form, NumberForm::Power { .. }));
    }

    #[test]
    fn dimension_chains_are_separate_numbers() {
        assert_eq!(values("5x6x7x8x42000"), vec![5.0, 6.0, 7.0, 8.0, 42000.0]);
        assert!(numbers("5x6x7x8x42000")
            .iter()
            .all(|m| m.form == NumberForm::Dimension));
        let v = fv("so 5x6x7x8 goes to (5x6x7x8)x42000.");
        assert_eq!((v.value, v.chosen_by), (42000.0, Conclusion::LastNumber));
        assert_eq!(values("(5x6x7x8)x42000"), vec![5.0, 6.0, 7.0, 8.0, 42000.0]);
    }

    #[test]
    fn identifiers_subscripts_exponents_are_not_numbers() {
        assert!(numbers("p1 + p_2 + RF_0 + conv2d + L2 + RF_{i-1}").is_empty());
        assert_eq!(values("(1-p_1)^2 = 0.3025"), vec![1.0, 0.3025]);
        assert!(numbers("the 3rd layer is 2D").is_empty());
        assert_eq!(values("r_0=112"), vec![112.0]);
    }

    #[test]
    fn arrows_and_subtraction_are_not_signs() {
        assert_eq!(
            values("13 -> 26 -> 55 -> 110 -> 112"),
            vec![13.0, 26.0, 55.0, 110.0, 112.0]
        );
        assert_eq!(values("1-0.9*0.8"), vec![1.0, 0.9, 0.8]);
        assert_eq!(values("- 112 pixels"), vec![112.0]);
    }

    #[test]
    fn list_markers() {
        let found = numbers("1. conv(k=3, s=1)\n2) pool\n112.");
        assert!(found[0].list_marker);
        assert!(
            found
                .iter()
                .find(|m| m.value == 2.0 && m.span.start > 10)
                .unwrap()
                .list_marker
        );
        assert!(!found.last().unwrap().list_marker);
    }

    fn fv(text: &str) -> FinalValue {
        final_value(text).unwrap_or_else(|| panic!("no value in {text:?}"))
    }

    #[test]
    fn final_value_forms() {
        assert_eq!(fv("RF=112 pixels").value, 112.0);
        assert_eq!(fv("RF=112 pixels").chosen_by, Conclusion::KeywordPhrase);
        assert_eq!(fv(r"$112 \times 112$").value, 112.0);
        let v = fv(r"so the RF is $\boxed{125 \times 125}$");
        assert_eq!((v.value, v.chosen_by), (125.0, Conclusion::Boxed));
        let v = fv("The size of the receptive field of the last layer is **112**.\n\n$(3-1) + (2-1)\\cdot1 + 1 = 112$");
        assert_eq!((v.value, v.chosen_by), (112.0, Conclusion::Bold));
        assert!(v.other_candidates.is_empty());
        let v = fv("$\\Rightarrow r_0 = 1\\cdot (3-1) + 1 = 112$\n\n$\\Rightarrow r_0=112$");
        assert_eq!((v.value, v.chosen_by), (112.0, Conclusion::FinalEquation));
        assert_eq!(fv("13 -> 26 -> 55 -> 110 -> 112").value, 112.0);
        assert_eq!(
            fv("13 -> 26 -> 55 -> 110 -> 112").chosen_by,
            Conclusion::ChainEnd
        );
        assert_eq!(fv("0.28").value, 0.28);
        assert!((fv("28%").value - 0.28).abs() < 1e-12);
        assert_eq!(fv("1,156").value, 1156.0);
        let v = fv("**Answer**: 13");
        assert_eq!((v.value, v.chosen_by), (13.0, Conclusion::AnswerPhrase));
    }

    #[test]
    fn final_value_prefers_conclusions_over_intermediates() {
        let text = "conv 16->32: effective kernel 2*7-1 = 13.\nmaxPool2d: 2*13 + (2-2) = 26\n\
                    conv 4->16: 2*26 + (5-2) = 55\nmaxPool2d: grows to 110.\n\
                    conv 3->4: 1*110 + (3-1) = 112.\nso the final size is 112x112.";
        let v = fv(text);
        assert_eq!(v.value, 112.0);
        assert!(v.other_candidates.is_empty(), "{:?}", v.other_candidates);

        let text = "The sizeof the receptive field of each pixel is 112x112 pixels.\n\
                    First layer: resulting in a receptive field of size 3x3.\n\
                    Second: resulting in a receptive field of size 6x6.\n\
                    Therefore, the receptive field of each pixel is 112x112 pixels.";
        assert_eq!(fv(text).value, 112.0);

        let text = "rec_field = $5+(26-1)*2 = 55$ pixels.\n\nthen, another max pool, therefore, 110 pixels.\n\n\
                    and after that, a final conv of 3, achieving a size of $112$ pixels.";
        let v = fv(text);
        assert_eq!(v.value, 112.0);
        assert!(v.other_candidates.is_empty(), "{:?}", v.other_candidates);
    }

    #[test]
    fn a_closing_derivation_beats_a_later_remark() {
        let v = fv("r = ((3-1)*1 + (2-1)*1) + 1 = 38 since the dilation makes the kernel 7*2-1");
        assert_eq!((v.value, v.chosen_by), (38.0, Conclusion::DerivationResult));
        let v = fv("RF = 2*1 + 1*1 + 4*2 + 1*4 + 12*8 + 1 = 112\n\n\
                    (remember that a dilated kernel spans 2*(7-1)+1 = 13 pixels)");
        assert_eq!(v.value, 112.0);
        // A bare setting after the result is not a conclusion either.
        assert_eq!(fv("the receptive field is 112, we used k=3").value, 112.0);
        assert_eq!(fv("(3-1) + (2-1) + 1 = 4, then k=5").value, 4.0);
    }

    #[test]
    fn the_last_element_of_an_arrow_chain() {
        for text in [
            "3 -> 4 -> 12 -> 16 -> 112",
            "RF: 3 -> 4 -> 12 -> 16 -> 112 (k=3 for the first conv)",
            "3 \u{2192} 4 \u{2192} 12 \u{2192} 16 \u{2192} 112",
            "$3 \\to 4 \\to 12 \\to 16 \\to 112$",
            "$3 \\rightarrow 4 \\rightarrow 12 \\rightarrow 16 \\rightarrow 112$ pixels",
            "3 (conv1) -> 4 (pool) -> 12 (conv2) -> 16 -> 112",
        ] {
            let v = fv(text);
            assert_eq!(
                (v.value, v.chosen_by),
                (112.0, Conclusion::ChainEnd),
                "{text}"
            );
        }
        // Two arrow-free numbers are not a chain.
        assert_eq!(fv("from 3 to 112").chosen_by, Conclusion::LastNumber);
    }

    #[test]
    fn disagreeing_equation_like_readings_are_reported() {
        // A chain ending in 54 and a final equation reaching 112: equally explicit.
        let v = fv("3 -> 6 -> 10 -> 22 -> 54\nr = 1 + 2 + 1 + 8 + 4 + 96 = 112");
        assert_eq!(v.value, 112.0);
        assert_eq!(v.other_candidates[0].value, 54.0);
        assert_eq!(
            v.other_candidates[0].kind.strength(),
            v.chosen_by.strength()
        );
    }

    #[test]
    fn parenthetical_remarks_do_not_hide_values() {
        let text = "each pixel will have a receptive field of size 3x3.\n\
                    each pixel will have a receptive field of size 4x4 (2x2 from the max pooling).\n\
                    each pixel will have a receptive field of size 36x36 (16x16 from the previous \
                    max pooling, and 7x7 from the previous convolution with dilation).";
        let v = fv(text);
        assert_eq!((v.value, v.chosen_by), (36.0, Conclusion::KeywordPhrase));
        assert_eq!(fv("2(1-p) is not 7").value, 7.0);
    }

    #[test]
    fn only_list_markers_is_no_value() {
        assert!(final_value("**2.** The definition talks about regions").is_none());
        assert_eq!(fv("1. RF=112").value, 112.0);
    }

    #[test]
    fn taken_back_values_and_opening_statements() {
        // Retracted: the corrected value is the answer, and the first casts no doubt.
        let v = fv("The receptive field is 104.\n\nActually, I forgot a pooling: the receptive field is 112.");
        assert_eq!(v.value, 112.0);
        assert!(
            v.other_candidates.iter().all(|c| c.value != 104.0),
            "{:?}",
            v.other_candidates
        );
        let v = fv("r = 1 + 2 + 4 = 121? No, recounting with the jumps gives 112.");
        assert_eq!(v.value, 112.0);
        // Two plain statements of the answer that disagree: both are reported.
        let v = fv("The receptive field is 112.\n\nThe receptive field is 104.");
        assert_eq!(v.value, 104.0);
        assert!(
            v.other_candidates.iter().any(|c| c.value == 112.0),
            "{:?}",
            v.other_candidates
        );
        // An opening sentence that computes is the first step of the working.
        let v = fv("From the end, the field of the last layer is 13=7*2-1.\nThen pooling doubles it to 26.\nIn the end the receptive field is 112.");
        assert_eq!(v.value, 112.0);
        assert!(
            v.other_candidates.iter().all(|c| c.value != 13.0),
            "{:?}",
            v.other_candidates
        );
        // Keyword phrases inside the working are its steps, not rival answers.
        let v = fv("First the receptive field is 3.\nAfter pooling the receptive field is 4.\nSo the receptive field is 112.");
        assert_eq!(v.value, 112.0);
        assert!(
            v.other_candidates.iter().all(|c| c.value != 4.0),
            "{:?}",
            v.other_candidates
        );
    }

    #[test]
    fn final_value_reports_disagreement() {
        let v = fv("RF = 1 + 2 + 4*(2-1) + 8*12 + 9 = 112\nSo the receptive field is 125.");
        assert_eq!(v.value, 125.0);
        assert_eq!(v.other_candidates.len(), 1);
        assert_eq!(v.other_candidates[0].value, 112.0);
        assert_eq!(v.other_candidates[0].kind, Conclusion::DerivationResult);

        let v = fv("The RF is **112**.\n$3 + 2 + 8 + 4 + 96 = 125$");
        assert_eq!(v.value, 112.0);
        assert_eq!(v.other_candidates[0].value, 125.0);
    }

    #[test]
    fn final_value_arithmetic_chain() {
        let v = fv("q=p_1+p_2∙(1-p_1 )=0.1+0.2∙0.1= 0.12");
        assert_eq!((v.value, v.chosen_by), (0.12, Conclusion::FinalEquation));
        let v = fv("<b> q = 1 - (1 - p1) * (1 - p2) </b>\n\nin our example: 1 - (1 - 0.1) * (1 - 0.2) = <b> 0.28 </b>");
        assert_eq!((v.value, v.chosen_by), (0.28, Conclusion::Bold));
        let v = fv("With the numbers of the previous question, we would get q=0.28");
        assert_eq!(v.value, 0.28);
    }

    #[test]
    fn final_value_ignores_labels_and_markers() {
        let v =
            fv("<b><u>Answer 3:</b></u>\nThe receptive field of each pixel is 112, as required.");
        assert_eq!(v.value, 112.0);
        assert!(v.other_candidates.is_empty());
        assert!(final_value("no numbers here").is_none());
        assert!(final_value("").is_none());
    }

    #[test]
    fn spans_point_into_normalized_text() {
        let text = r"**Answer:** the RF is $\boxed{125 \times 125}$ pixels";
        let norm = crate::answer::normalize_math(text);
        let v = fv(text);
        assert_eq!(v.span.slice(&norm), "125x125");
    }
}
