//! Text for `examiner rubric lint`: one line per computed key.

use crate::grading::samples::SampleOutcome;
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
        // Lint has checked every accepted formula against autograd at every draw.
        Key::Gradient {
            formulas, source, ..
        } => {
            let mut out = format!(
                "  {id}: {} derivatives, each accepted formula matches {source}\n",
                formulas.len()
            );
            for (wrt, f) in formulas {
                out.push_str(&format!("    dL/d{wrt} = {f}\n"));
            }
            Some(out)
        }
        _ => None,
    }
}

/// `examiner rubric test`: a line per failing sample, and a summary.
pub fn samples(file: &str, outcomes: &[SampleOutcome]) -> String {
    let mut out = String::new();
    for o in outcomes.iter().filter(|o| !o.passed()) {
        out.push_str(&format!(
            "FAIL {file}: {} sample {}: {}\n",
            o.question,
            o.sample,
            o.problems.join("; ")
        ));
        for f in &o.feedback {
            out.push_str(&format!("       feedback: {f}\n"));
        }
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    out.push_str(&format!(
        "{file}: {} samples, {} passed, {failed} failed\n",
        outcomes.len(),
        outcomes.len() - failed
    ));
    out
}
