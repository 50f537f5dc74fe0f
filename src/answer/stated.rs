//! The value an answer states, read from its text: the number a student concludes with, the
//! shape they give, or the formula they write. Checkers judge these readings; the grading
//! module shows them before any judgement ([`crate::grading::value`]).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::thread::LocalKey;

use regex::Regex;
use serde_json::{json, Value};

use super::{
    canonical_var, final_value, find_expressions, formula_answer, normalize_math, read_shape,
    Conclusion, Dim, ExprRole, FinalValue, FoundExpr, ShapeReading,
};

fn after_variable() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"[A-Za-z}\)]\s*[-+*/^]\s*\(?\s*$").expect("valid"))
}

/// The last reading of one kind made on this thread, with what it was read from.
type Last<T> = RefCell<Option<(String, T)>>;

thread_local! {
    static LAST_NUMBER: Last<Option<FinalValue>> = const { RefCell::new(None) };
    static LAST_SHAPE: Last<Option<ShapeReading>> = const { RefCell::new(None) };
    static LAST_FORMULA: Last<Option<FormulaReading>> = const { RefCell::new(None) };
}

/// `read()`, unless the last reading of this kind on this thread was made from the same
/// `input`: the checker and the report read the same answer one after the other (see
/// `grading::judge`), and a second reading would find nothing new. One entry per kind, so
/// the memory it holds is one answer's.
fn remembered<T: Clone>(
    last: &'static LocalKey<Last<T>>,
    input: &str,
    read: impl FnOnce() -> T,
) -> T {
    if let Some(value) = last.with_borrow(|l| {
        l.as_ref()
            .filter(|(k, _)| k == input)
            .map(|(_, v)| v.clone())
    }) {
        return value;
    }
    let value = read();
    last.set(Some((input.to_string(), value.clone())));
    value
}

/// The number the student concludes with. A number that is only a term of a symbolic formula
/// (the `1` of `RF_i = RF_{i-1} + (k + d - 1)`) is not a stated value.
pub fn stated_number(text: &str) -> Option<FinalValue> {
    remembered(&LAST_NUMBER, text, || read_stated_number(text))
}

/// See [`stated_number`].
fn read_stated_number(text: &str) -> Option<FinalValue> {
    let found = final_value(text)?;
    if matches!(
        found.chosen_by,
        Conclusion::LastNumber | Conclusion::FinalEquation
    ) {
        let norm = normalize_math(text);
        let before = norm.get(..found.span.start).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        if after_variable().is_match(&before[line_start..]) {
            return None;
        }
    }
    Some(found)
}

/// The shape the student writes out: an all-numeric one when there is one (a later symbolic
/// `(num_embeddings, embedding_dim)` describes something else), else a symbolic one; see
/// [`read_shape`]. A shape only stated in words is not a written value (null here); the
/// shape checker still judges it and its feedback shows the reading.
pub fn stated_shape(text: &str) -> Option<Vec<Value>> {
    shape_reading(text)
        .filter(|r| !r.from_words)
        .map(|r| dims_json(&r.dims))
}

/// The shape reading with its doubt (why it may not be what the student means).
pub fn shape_reading(text: &str) -> Option<ShapeReading> {
    remembered(&LAST_SHAPE, text, || {
        read_shape(&text.replace(['\u{2019}', '\u{2018}'], "'"))
    })
}

/// Dimensions as JSON: numbers, or names for symbolic ones.
pub fn dims_json(dims: &[Dim]) -> Vec<Value> {
    dims.iter()
        .map(|d| match d {
            Dim::Size(n) => json!(n),
            Dim::Name(name) => json!(name),
        })
        .collect()
}

/// The student's formula for `name` (`q = ...`) in the question's variables: the last one
/// written that uses only `allowed` variables (a closing `q = 1 - keep_prob` restates, it
/// does not answer), else the last formula at all.
pub fn stated_formula(
    name: Option<&str>,
    allowed: &BTreeSet<String>,
    text: &str,
) -> Option<FoundExpr> {
    formula_reading(name, allowed, text).map(|r| r.formula)
}

/// The formula a student answers with, and the earlier formulas in the question's variables
/// that compete with it.
#[derive(Debug, Clone)]
pub struct FormulaReading {
    /// The formula chosen (see [`stated_formula`]).
    pub formula: FoundExpr,
    /// Earlier formulas in the question's variables, written in a separate equation chain
    /// with no retraction ("but", "wrong", "actually", "instead", "mistake", "correct") between
    /// them and the chosen one. A checker that finds one of them not equivalent to the chosen
    /// formula has an ambiguous reading.
    pub rivals: Vec<FoundExpr>,
}

/// Words that take back what was written before: a formula before one of them is not a
/// competing answer.
const RETRACTIONS: &[&str] = &[
    "but",
    "wrong",
    "actually",
    "instead",
    "mistake",
    "correct",
    "correction",
    "however",
    "incorrect",
    "not",
    "fix",
    "fixed",
    "oops",
];

/// See [`FormulaReading`].
pub fn formula_reading(
    name: Option<&str>,
    allowed: &BTreeSet<String>,
    text: &str,
) -> Option<FormulaReading> {
    // The key holds everything the reading depends on; NUL separates its fields.
    let mut input = format!("{}\0", name.unwrap_or("\0"));
    for v in allowed {
        input.push_str(v);
        input.push('\0');
    }
    input.push('\0');
    input.push_str(text);
    remembered(&LAST_FORMULA, &input, || read_formula(name, allowed, text))
}

/// See [`formula_reading`].
fn read_formula(
    name: Option<&str>,
    allowed: &BTreeSet<String>,
    text: &str,
) -> Option<FormulaReading> {
    let fits = |f: &FoundExpr| {
        let vars = f.expr.variables();
        !vars.is_empty() && vars.iter().all(|v| allowed.contains(&canonical_var(v)))
    };
    let mut candidates: Vec<FoundExpr> = Vec::new();
    if let Some(a) = name.and_then(|n| formula_answer(text, n)) {
        candidates.extend(a.other_formulas);
        candidates.extend(a.formula);
        candidates.sort_by_key(|f| f.span.start);
    }
    if candidates.is_empty() {
        candidates = find_expressions(text, None)
            .into_iter()
            .filter(|f| f.role == ExprRole::Formula)
            .collect();
    }
    let chosen = candidates
        .iter()
        .rev()
        .find(|f| fits(f))
        .or_else(|| candidates.last())
        .cloned()?;
    let norm = normalize_math(text);
    let rivals = candidates
        .iter()
        .filter(|f| f.span.end <= chosen.span.start && f.chain != chosen.chain && fits(f))
        .filter(|f| {
            let between = norm
                .get(f.span.end..chosen.span.start)
                .unwrap_or_default()
                .to_ascii_lowercase();
            !between
                .split(|c: char| !c.is_ascii_alphabetic())
                .any(|w| RETRACTIONS.contains(&w))
        })
        .cloned()
        .collect();
    Some(FormulaReading {
        formula: chosen,
        rivals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_of_a_symbolic_formula_is_not_a_value() {
        assert!(stated_number("formula: $RF_{i} = (RF_{i-1}) + (k + d - 1) $").is_none());
        assert_eq!(
            stated_number("RF = 112 pixels").map(|f| f.value),
            Some(112.0)
        );
    }

    #[test]
    fn the_formula_in_the_questions_variables_wins() {
        let allowed: BTreeSet<String> = ["p1", "p2"].map(String::from).into();
        let text = "q = 1 - (1 - p1) * (1 - p2)\n\nwhich is q = 1 - keep_prob. In our case q=0.28.";
        let f = stated_formula(Some("q"), &allowed, text).unwrap();
        assert_eq!(f.expr.to_string(), "1 - (1 - p1) * (1 - p2)");
    }

    #[test]
    fn a_numeric_shape_beats_a_later_symbolic_one() {
        let text = "Y has shape (5, 6, 7, 8, 42000).\nB. a weight of shape (num_embeddings, embedding_dim)";
        assert_eq!(
            stated_shape(text),
            Some([5, 6, 7, 8, 42000].iter().map(|d| json!(d)).collect())
        );
    }
}
