//! Text for `examiner rubric lint`: one line per computed key.

use crate::rubric::keys::{format_number, Key};

/// `  receptive-field: 112 = the receptive field of `cnn` (...)`, for computed keys only.
pub fn key_line(id: &str, key: &Key) -> Option<String> {
    match key {
        Key::Number { source, .. } | Key::Shape { source, .. } => {
            Some(format!("  {id}: {} = {source}\n", key.display()))
        }
        Key::Expression {
            formula,
            reference_value: Some(v),
            reference_at,
            source,
        } => {
            let at: Vec<String> = reference_at
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            Some(format!(
                "  {id}: {formula}; at {} the key is {} = {source}\n",
                at.join(", "),
                format_number(*v)
            ))
        }
        _ => None,
    }
}
