//! The value an answer states, as reports show it: the number a student concludes with, the
//! shape they give, or the formula they write (read by [`crate::answer::stated`]), and a true/
//! false question's readings. Checkers judge these values; this is what `check` shows before
//! any judgement.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::answer::canonical_var;
pub use crate::answer::stated::{
    dims_json, formula_reading, shape_reading, stated_formula, stated_number, stated_shape,
};
use crate::rubric::Answer;

/// The parsed value of `text` as an answer of kind `answer`; null when none can be read (or
/// the kind has no single value).
pub fn parse_value(answer: &Answer, text: &str) -> Value {
    // Typographic apostrophes (`X’s shape`) read as plain ones.
    let text: &str = &if text.contains(['\u{2019}', '\u{2018}']) {
        std::borrow::Cow::Owned(text.replace(['\u{2019}', '\u{2018}'], "'"))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    match answer {
        Answer::Number { .. } => stated_number(text).map_or(Value::Null, |f| json!(f.value)),
        Answer::Shape { .. } => stated_shape(text).map_or(Value::Null, Value::Array),
        Answer::Expression {
            name, variables, ..
        } => {
            let allowed: BTreeSet<String> = variables.keys().map(|v| canonical_var(v)).collect();
            stated_formula(name.as_deref(), &allowed, text)
                .map_or(Value::Null, |f| Value::String(f.expr.to_string()))
        }
        // One reading per statement (true, false or null), from the answer text alone.
        Answer::Truth { statements } => Value::Array(
            crate::checkers::truth::read(statements, "", text)
                .into_iter()
                .map(|r| r.value.map_or(Value::Null, Value::Bool))
                .collect(),
        ),
        _ => Value::Null,
    }
}
