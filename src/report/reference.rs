//! Text tables for reference computations (`examiner reference ...`); JSON is the results'
//! own serde form.

use std::fmt::Write;

use crate::reference::dropout::Dropout;
use crate::reference::gradient::{Gradients, Profile};
use crate::reference::parameters::Parameters;
use crate::reference::receptive_field::ReceptiveField;
use crate::reference::shape::Shape;

fn pair(p: [i64; 2]) -> String {
    if p[0] == p[1] {
        format!("{0} x {0}", p[0])
    } else {
        format!("{} x {}", p[0], p[1])
    }
}

fn shape(s: &[i64]) -> String {
    format!(
        "[{}]",
        s.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    )
}

fn bytes(b: i64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    if b as f64 >= MB {
        format!("{:.1} MiB", b as f64 / MB)
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}

/// `examiner reference receptive-field`.
pub fn receptive_field(rf: &ReceptiveField) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "model            {}", rf.model);
    if let Some(input) = &rf.input_shape {
        let _ = writeln!(out, "input shape      {}", shape(input));
    }
    if let Some(output) = &rf.output_shape {
        let _ = writeln!(out, "output shape     {}", shape(output));
    }
    let _ = writeln!(
        out,
        "receptive field  {}  (autograd and closed form agree)",
        pair(rf.receptive_field)
    );
    if let Some(longest) = rf.largest_path {
        let _ = writeln!(
            out,
            "largest path     {}  (the paths' fields {})",
            pair(longest),
            if rf.misaligned.is_empty() {
                "are centred on the same pixel"
            } else {
                "are not all centred on the same pixel"
            }
        );
    }
    for m in &rf.misaligned {
        let _ = writeln!(
            out,
            "misaligned       at {}: the merged fields' centres are {} x {} pixels apart",
            m.at, m.offset[0], m.offset[1]
        );
    }
    let _ = writeln!(out);
    let width = rf
        .trace
        .iter()
        .map(|s| s.layer.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        "{:>3}  {:<width$}  {:>15}  {:>9}",
        "#", "layer", "receptive field", "jump"
    );
    for step in &rf.trace {
        let _ = writeln!(
            out,
            "{:>3}  {:<width$}  {:>15}  {:>9}",
            step.index,
            step.layer,
            pair(step.receptive_field),
            pair(step.jump)
        );
    }
    out
}

/// Thousands separated by commas, as course questions write parameter counts.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// `examiner reference parameters`.
pub fn parameters(p: &Parameters) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "model            {}", p.model);
    if let Some(input) = &p.input_shape {
        let _ = writeln!(out, "input shape      {}", shape(input));
    }
    if let Some(output) = &p.output_shape {
        let _ = writeln!(out, "output shape     {}", shape(output));
    }
    let _ = writeln!(
        out,
        "parameters       {} ({} trainable)",
        thousands(p.total),
        thousands(p.trainable)
    );
    let _ = writeln!(out);
    let name_w = p
        .layers
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let layer_w = p
        .layers
        .iter()
        .map(|l| l.layer.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        "{:<name_w$}  {:<layer_w$}  {:>12}",
        "name", "layer", "parameters"
    );
    for l in &p.layers {
        let _ = writeln!(
            out,
            "{:<name_w$}  {:<layer_w$}  {:>12}{}",
            l.name,
            l.layer,
            thousands(l.parameters),
            if l.trainable { "" } else { "  (frozen)" }
        );
    }
    out
}

/// `examiner reference shape`.
pub fn shape_report(s: &Shape) -> String {
    format!(
        "{}.shape = {}\n(full tensor: {}; computed from the layers' geometry, nothing \
         materialised)\n",
        s.name,
        shape(&s.shape),
        bytes(s.output_bytes),
    )
}

/// `examiner reference dropout`.
pub fn dropout(d: &Dropout) -> String {
    let p: Vec<String> = d.p.iter().map(|p| p.to_string()).collect();
    let mut out = String::new();
    let _ = writeln!(out, "p                  {}", p.join(", "));
    let _ = writeln!(out, "q (closed form)    {:.6}   = 1 - prod(1 - p_i)", d.q);
    let _ = writeln!(
        out,
        "q (measured)       {:.6} +- {:.6}  ({} activations, libtorch dropout in training mode)",
        d.q_measured, d.stderr, d.samples
    );
    if let Some(scale) = d.kept_scale {
        let _ = writeln!(out, "kept activation    {scale:.6}   = 1 / prod(1 - p_i)");
    }
    let _ = writeln!(
        out,
        "output mean        {:.6}   (input mean 1: dropout keeps the mean)",
        d.output_mean
    );
    out
}

/// `examiner reference gradient`.
pub fn gradients(g: &Gradients) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} = {:.6}", g.of, g.value);
    for (name, grad) in &g.gradients {
        let _ = writeln!(
            out,
            "\nd{}/d{}  shape {}  norm {:.6}",
            g.of,
            name,
            shape(&grad.shape),
            grad.norm
        );
        let cols = grad.shape.last().copied().unwrap_or(1).clamp(1, 8) as usize;
        for row in grad.values.chunks(cols).take(16) {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:>10.6}")).collect();
            let _ = writeln!(out, "  {}", cells.join(" "));
        }
        if grad.truncated || grad.values.len() > cols * 16 {
            let _ = writeln!(
                out,
                "  ... ({} values in all; --format json lists them)",
                grad.shape.iter().product::<i64>()
            );
        }
    }
    out
}

/// `examiner reference gradient --profile`.
pub fn profile(p: &Profile) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "model        {}", p.model);
    let _ = writeln!(out, "input shape  {}", shape(&p.input_shape));
    let _ = writeln!(out, "loss         {}", p.loss);
    let _ = writeln!(out);
    let width = p
        .layers
        .iter()
        .map(|s| s.layer.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(out, "{:>3}  {:<width$}  {:>12}", "#", "layer", "|dL/d out|");
    for step in &p.layers {
        let _ = writeln!(
            out,
            "{:>3}  {:<width$}  {:>12.3e}",
            step.index, step.layer, step.grad_norm
        );
    }
    let _ = writeln!(
        out,
        "\nfirst / last layer gradient norm: {:.3e}",
        p.first_to_last_ratio
    );
    out
}
