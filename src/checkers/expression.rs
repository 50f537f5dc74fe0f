//! Formula answers (`q = 1-(1-p_1)(1-p_2)`): the student's formula is parsed by our own parser
//! and compared with the reference formula at many sampled points of the variables' ranges;
//! a numeric value the student works out is checked separately, so a right formula with a
//! slip in the arithmetic earns partial credit and feedback that says which part was right.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::Status;
use super::Verdict;
use crate::answer::stated::formula_reading;
use crate::answer::{canonical_var, formula_answer, parse_expr, Expr, ExprRole};
use crate::rubric::keys::{format_number, Key};

/// Points at which two formulas are compared.
pub const SAMPLES: usize = 24;
/// Credit for a right formula with wrong arithmetic, or right arithmetic without the formula.
const HALF: f64 = 0.5;

/// Deterministic sample points inside the variables' ranges (never on the edges, where
/// formulas such as `1/(1-p)` blow up).
pub fn sample_points(variables: &BTreeMap<String, [f64; 2]>) -> Vec<BTreeMap<String, f64>> {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    (0..SAMPLES)
        .map(|_| {
            variables
                .iter()
                .map(|(name, [lo, hi])| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                    let t = 0.02 + 0.96 * u;
                    (canonical_var(name), lo + t * (hi - lo))
                })
                .collect()
        })
        .collect()
}

fn eval_at(e: &Expr, point: &BTreeMap<String, f64>) -> Option<f64> {
    e.eval(&|name: &str| point.get(&canonical_var(name)).copied())
        .ok()
        .filter(|v| v.is_finite())
}

/// Whether `student` equals `reference` at every sample point where the reference is defined.
pub fn equivalent(
    student: &Expr,
    reference: &Expr,
    variables: &BTreeMap<String, [f64; 2]>,
) -> bool {
    let mut compared = 0;
    for point in sample_points(variables) {
        let Some(want) = eval_at(reference, &point) else {
            continue;
        };
        match eval_at(student, &point) {
            Some(got) if (got - want).abs() <= 1e-9 * want.abs().max(1.0) => compared += 1,
            _ => return false,
        }
    }
    compared > 0
}

/// Checks a formula answer.
pub fn check(
    name: Option<&str>,
    formula: &str,
    variables: &BTreeMap<String, [f64; 2]>,
    at: &BTreeMap<String, f64>,
    key: &Key,
    text: &str,
) -> Verdict {
    let Ok(reference) = parse_expr(formula) else {
        return Verdict {
            parts: Vec::new(),
            status: Status::NeedsReview,
            score: 0.0,
            feedback: vec![format!("the rubric's formula `{formula}` does not parse")],
            value: serde_json::Value::Null,
        };
    };
    // Where a numeric value is checked: the rubric's point, else the code's own values.
    let point: BTreeMap<String, f64> = if at.is_empty() {
        match key {
            Key::Expression { reference_at, .. } => reference_at
                .iter()
                .map(|(k, v)| (canonical_var(k), *v))
                .collect(),
            _ => BTreeMap::new(),
        }
    } else {
        at.iter().map(|(k, v)| (canonical_var(k), *v)).collect()
    };
    let want_value = eval_at(&reference, &point);
    let allowed: BTreeSet<String> = variables.keys().map(|v| canonical_var(v)).collect();
    let reading = formula_reading(name, &allowed, text);
    let student = reading.as_ref().map(|r| r.formula.clone());
    let stated = stated_value(name, text);
    let point_text = point
        .iter()
        .map(|(k, v)| format!("{k} = {}", format_number(*v)))
        .collect::<Vec<_>>()
        .join(", ");

    let formula_ok = student
        .as_ref()
        .map(|f| equivalent(&f.expr, &reference, variables));
    let value_ok = match (stated, want_value) {
        (Some(s), Some(w)) => Some((s - w).abs() <= 1e-6 * w.abs().max(1.0)),
        _ => None,
    };
    let student_at = student.as_ref().and_then(|f| eval_at(&f.expr, &point));
    let value = json!({
        "formula": student.as_ref().map(|f| f.expr.to_string()),
        "value": student_at.or(stated),
        "stated": stated,
    });
    let want_text = want_value.map(format_number).unwrap_or_default();
    // Two formulas for the answer that disagree, neither taken back: which one is meant?
    if let Some(r) = &reading {
        if let Some(rival) = r
            .rivals
            .iter()
            .find(|f| !equivalent(&f.expr, &r.formula.expr, variables))
        {
            return Verdict {
                parts: Vec::new(),
                status: Status::NeedsReview,
                score: 0.0,
                feedback: vec![format!(
                    "the answer gives two different formulas, `{}` and later `{}`; which is meant?",
                    rival.expr, r.formula.expr
                )],
                value,
            };
        }
    }
    let (status, score, feedback) = match (formula_ok, value_ok) {
        (Some(true), Some(false)) => (
            Status::Partial,
            HALF,
            vec![format!(
                "your formula is right, but at {point_text} it gives {want_text}, not {}",
                format_number(stated.unwrap_or_default())
            )],
        ),
        (Some(true), _) => (Status::Correct, 1.0, Vec::new()),
        (Some(false), Some(true)) => (
            Status::Partial,
            HALF,
            vec![format!(
                "your value {want_text} at {point_text} is right, but your formula is not \
                 equivalent to the expected one"
            )],
        ),
        (Some(false), _) => {
            let unknown: Vec<String> = student
                .as_ref()
                .map(|f| f.expr.variables())
                .unwrap_or_default()
                .into_iter()
                .filter(|v| !allowed.contains(&canonical_var(v)))
                .collect();
            let mut fb = vec![match student_at {
                Some(v) => format!(
                    "your formula gives {} at {point_text}; the expected value is {want_text}",
                    format_number(v)
                ),
                None => "your formula is not equivalent to the expected one".to_string(),
            }];
            if !unknown.is_empty() {
                fb.push(format!(
                    "it uses variables the question does not: {}",
                    unknown.join(", ")
                ));
            }
            (Status::Wrong, 0.0, fb)
        }
        (None, Some(true)) => (
            Status::Partial,
            HALF,
            vec![format!(
                "the value {want_text} is right, but the question asks for a formula"
            )],
        ),
        (None, Some(false)) => (
            Status::Wrong,
            0.0,
            vec![format!(
                "no formula found, and the value is not {want_text}"
            )],
        ),
        (None, None) => (
            Status::Unparseable,
            0.0,
            vec!["no formula found in the answer".into()],
        ),
    };
    Verdict {
        parts: Vec::new(),
        status,
        score,
        feedback,
        value,
    }
}

/// The number the student works the formula out to (the last piece of arithmetic).
fn stated_value(name: Option<&str>, text: &str) -> Option<f64> {
    let answer = formula_answer(text, name?)?;
    answer
        .numeric
        .iter()
        .rev()
        .filter(|f| f.role == ExprRole::Arithmetic)
        .find_map(|f| f.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, [f64; 2]> {
        [
            ("p1".to_string(), [0.0, 1.0]),
            ("p2".to_string(), [0.0, 1.0]),
        ]
        .into()
    }

    fn at() -> BTreeMap<String, f64> {
        [("p1".to_string(), 0.1), ("p2".to_string(), 0.2)].into()
    }

    fn run(text: &str) -> Verdict {
        check(
            Some("q"),
            "1 - (1 - p1)*(1 - p2)",
            &vars(),
            &at(),
            &Key::InRubric,
            text,
        )
    }

    #[test]
    fn equivalent_formulas_in_many_spellings() {
        for text in [
            "q = 1-(1-p_1)(1-p_2)",
            "q = p1 + p2 - p1*p2",
            "$q = p_1+p_2 \\cdot (1-p_1)$",
            "q = 1 - ((1-P1)*(1-P2))",
            "q=1-(1-p_1)*(1-p2)=1-(0.9*0.8)=0.28",
        ] {
            let v = run(text);
            assert_eq!(v.status, Status::Correct, "{text}: {:?}", v.feedback);
        }
    }

    #[test]
    fn right_formula_wrong_arithmetic_is_partial() {
        let v = run("q=p_1+p_2∙(1-p_1 )=0.1+0.2∙0.1= 0.12");
        assert_eq!(v.status, Status::Partial, "{:?}", v.feedback);
        assert_eq!(v.score, 0.5);
        assert!(
            v.feedback[0].contains("formula is right"),
            "{:?}",
            v.feedback
        );
    }

    #[test]
    fn implicit_products_of_subscripted_names() {
        for text in [
            "q = p_1+p_2-p_1p_2",
            "$q = p_{1}+p_{2}-p_{1}p_{2}$",
            "q=p1+p2-p1p2",
        ] {
            assert_eq!(run(text).status, Status::Correct, "{text}");
        }
    }

    #[test]
    fn two_formulas_that_disagree_are_for_review() {
        let v = run("q = p1 + p2\n\nq = 1 - (1-p1)(1-p2)");
        assert_eq!(v.status, Status::NeedsReview, "{:?}", v.feedback);
        // A formula taken back is not a rival.
        let v = run("At first q = p1 + p2, but that counts both twice: q = p1 + p2 - p1 p2");
        assert_eq!(v.status, Status::Correct, "{:?}", v.feedback);
    }

    #[test]
    fn a_wrong_formula_reports_its_value() {
        let v = run("q = p1 * p2");
        assert_eq!(v.status, Status::Wrong);
        assert_eq!(
            v.value["value"].as_f64().map(|x| (x * 100.0).round()),
            Some(2.0)
        );
    }
}
