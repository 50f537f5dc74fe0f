//! Derivative answers (`kind: gradient`): each "∂L/∂W₂ = ..." the student wrote is bound to
//! its tensor, read with [`crate::answer::tensor_expr`], evaluated at the key's seeded draws
//! ([`crate::answer::tensor_eval`], no libtorch) and compared with autograd's gradient there.
//! A formula that does not match is tried against the rubric's known mistakes, and the one it
//! matches is named.
//!
//! Binding statements to tensors follows classes of writing seen across students:
//!
//! - a statement is one line of math (`$...$`, `$$...$$`, `\\`-separated lines of an
//!   aligned block, or a plain-text line with `=`); a line that starts with `=` continues
//!   the one before; the **last** side of a chain `a = b = c` is the result;
//! - the left side names the tensor: `\frac{\partial L}{\partial W_2}`, `dL/dW2`, `∂L/∂W₂`,
//!   `\nabla_{W_2} L`, `\delta W_2`, `dW_2`, `L'(W_2)`; or prose does: "the gradient w.r.t.
//!   $W_2$ is $...$";
//! - every other `name = formula` is the student's own definition (`\delta^{(i)} = ...`,
//!   `\frac{d\ell}{d\hat y} = ...`, `z = ...`), used wherever the name appears; so is a name
//!   declared in words with its meaning quoted (`Notation: m is "y hat"`, see
//!   [`prose_declaration`]);
//! - a tensor labelled twice (students copy the left side of the previous line) goes to
//!   review, and so do the tensors left without a line when a labelled line has another
//!   tensor's shape: which line is whose is for a person to say.
//!
//! Verdicts per part: `correct` (matches an accepted form at every draw), `partial` (matches
//! one known mistake of status partial, or two of them at once: see [`mistake_pairs`], or the
//! transposed key), `wrong` (evaluates, matches nothing, or involves a mistake of status
//! wrong), `needs-review` (could
//! not be read, a name is not bound, cannot be evaluated as written: terms of different shapes
//! added or a product whose shapes do not fit), `missing`.

use std::collections::HashMap;

use serde_json::json;

use super::Status;
use super::{Part, Verdict};
use crate::answer::gradient_key::{Draw, GradientDraws, Tensor64};
use crate::answer::tensor_eval::{self, Act, Binding, Info, Mat, NameMap, Outcome, Scope, Val};
use crate::answer::tensor_expr::{self, key, MulKind, Node};
use crate::rubric::{GradientAnswer, GradientConvention, GradientPart};

/// Names of the whole loss on a derivative's left side (`L`, `L_S`, `L_{\mathcal{S}}`, `J`).
const LOSS_NAMES: [&str; 8] = ["L", "LS", "Ls", "J", "Loss", "loss", "E", "Lossfunction"];
/// Names of the per-sample loss (`\ell`, `l`).
const SAMPLE_LOSS_NAMES: [&str; 2] = ["ell", "l"];
/// Most statements read from one answer.
const MAX_STATEMENTS: usize = 200;

/// One statement of the answer: where it starts and its sides.
#[derive(Debug, Clone)]
struct Statement {
    offset: usize,
    sides: Vec<String>,
}

/// Splits the answer into statements (see the module doc).
fn statements(text: &str) -> Vec<Statement> {
    let text = &text[..text.len().min(crate::answer::MAX_INPUT_BYTES)];
    let mut out: Vec<Statement> = Vec::new();
    // Math segments and the prose between them, with their offsets.
    let mut pieces: Vec<(usize, &str, bool)> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut prose_start = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let double = bytes.get(i + 1) == Some(&b'$');
            let open = if double { 2 } else { 1 };
            let close_pat = if double { "$$" } else { "$" };
            if let Some(end) = text[i + open..].find(close_pat) {
                if prose_start < i {
                    pieces.push((prose_start, &text[prose_start..i], false));
                }
                let start = i + open;
                pieces.push((start, &text[start..start + end], true));
                i = start + end + open;
                prose_start = i;
                continue;
            }
        }
        i += 1;
    }
    if prose_start < text.len() {
        pieces.push((prose_start, &text[prose_start..], false));
    }
    let mut last_math_line_end: Option<usize> = None;
    for (k, (offset, piece, math)) in pieces.iter().enumerate() {
        if out.len() >= MAX_STATEMENTS {
            break;
        }
        // Prose naming a tensor right before a formula: "the gradient w.r.t. $W_2$ is $...$".
        if *math && !piece.contains('=') {
            if let (Some((_, before, false)), Some((_, between, false)), Some((o2, next, true))) = (
                k.checked_sub(1).and_then(|j| pieces.get(j)),
                pieces.get(k + 1),
                pieces.get(k + 2),
            ) {
                let b = before.to_lowercase();
                let b = b.trim_end().trim_end_matches(['*', '_']).trim_end();
                let between = between.replace(['*', '_'], "").trim().to_lowercase();
                let names_tensor = b.ends_with("w.r.t.")
                    || b.ends_with("w.r.t")
                    || b.ends_with("wrt")
                    || b.ends_with("with respect to")
                    || b.ends_with("by");
                let is_word = matches!(
                    between.as_str(),
                    "is" | ":" | "is:" | "=" | "are" | "" | "reads" | "equals"
                );
                if names_tensor && is_word && !next.contains('=') {
                    out.push(Statement {
                        offset: *o2,
                        sides: vec![format!("\\nabla_{{{piece}}} L"), next.to_string()],
                    });
                    continue;
                }
            }
        }
        // A math piece without `=` may still name a derivative (`$\\frac{\\partial L}{\\partial
        // W_1}$ = the same as above`): kept as a one-sided statement, a label.
        if *math && !piece.contains('=') && piece.len() < 400 && out.len() < MAX_STATEMENTS {
            out.push(Statement {
                offset: *offset,
                sides: vec![piece.to_string()],
            });
            continue;
        }
        // Inside math a line break is only a space (markdown renders `$...$` and `$$...$$`
        // across lines as one formula); `\\`, environments and implication arrows separate.
        let piece = if *math {
            piece.replace('\n', " ")
        } else {
            piece.to_string()
        };
        let normalized = line_breaks(piece);
        let mut line_offset = *offset;
        for line in normalized.split('\n') {
            let here = line_offset;
            line_offset += line.len() + 1;
            let mut line = line.trim().to_string();
            if !*math {
                // `Notation: m is "y hat"`: a name declared in words.
                if let Some((name, meaning)) = prose_declaration(&line) {
                    if out.len() < MAX_STATEMENTS {
                        out.push(Statement {
                            offset: here.min(text.len()),
                            sides: vec![name, meaning],
                        });
                    }
                    continue;
                }
                // "the gradient w.r.t. W2 is 1/N sum_i ...", in plain text.
                if let Some((wrt, rest)) = prose_gradient(&line) {
                    if out.len() < MAX_STATEMENTS {
                        out.push(Statement {
                            offset: here.min(text.len()),
                            sides: vec![format!("\\nabla_{{{wrt}}} L"), rest],
                        });
                    }
                    continue;
                }
                line = prose_formula(&line);
            }
            line = line.trim().trim_end_matches(['.', ',', ';']).to_string();
            if line.is_empty() || !line.contains('=') {
                continue;
            }
            // The first side can be empty (blank or alignment marks before `=`) only when the
            // line starts with `=` or `:=` after them: only then are the sides worth reading.
            let lead = line.trim_start_matches(|c: char| c.is_whitespace() || c == '&');
            if lead.starts_with('=') || lead.starts_with(":=") {
                let sides = tensor_expr::sides(&line);
                let continues = sides
                    .first()
                    .is_some_and(|s| s.trim().trim_matches('&').trim().is_empty());
                if continues {
                    if let Some(prev) = out.last_mut() {
                        if last_math_line_end.is_some() {
                            prev.sides.extend(sides.into_iter().skip(1));
                            continue;
                        }
                    }
                }
            }
            // A prose line may hold several formulas: `a = b ; c = d`.
            for (k, part) in split_semicolons(&line).into_iter().enumerate() {
                let sides = tensor_expr::sides(&part);
                if sides.len() >= 2 && out.len() < MAX_STATEMENTS {
                    // Offsets order the statements (see `defs_for`); several on one line
                    // stay in their order.
                    out.push(Statement {
                        offset: (here + k).min(text.len()),
                        sides,
                    });
                }
            }
            last_math_line_end = Some(here);
        }
    }
    out
}

/// What separates lines inside math and in prose, replaced by `\n` in this order.
const LINE_BREAKS: [&str; 18] = [
    "\\qquad",
    "\\quad",
    "\\Longrightarrow",
    "\\Rightarrow",
    "\\implies",
    "\\\\",
    "\\newline",
    "\\begin{aligned}",
    "\\end{aligned}",
    "\\begin{align*}",
    "\\end{align*}",
    "\\begin{align}",
    "\\end{align}",
    "\\begin{equation}",
    "\\end{equation}",
    "\\[",
    "\\]",
    "<br>",
];

/// `piece` with each of [`LINE_BREAKS`] replaced by a line break, in turn. A separator is
/// looked for only when the text holds its first two bytes (a backslash followed by the
/// command's first letter, or `<b`), which most pieces do not: the result is that of
/// replacing every separator in turn.
fn line_breaks(mut piece: String) -> String {
    // Which bytes follow a `\`, and whether `<b` occurs: recomputed after each replacement.
    let scan = |s: &str| {
        let mut after = [false; 256];
        let mut br = false;
        for w in s.as_bytes().windows(2) {
            match w[0] {
                b'\\' => after[usize::from(w[1])] = true,
                b'<' if w[1] == b'b' => br = true,
                _ => {}
            }
        }
        (after, br)
    };
    let (mut after, mut br) = scan(&piece);
    for pat in LINE_BREAKS {
        let b = pat.as_bytes();
        let may = if b[0] == b'\\' {
            after[usize::from(b[1])]
        } else {
            br
        };
        if may && piece.contains(pat) {
            piece = piece.replace(pat, "\n");
            (after, br) = scan(&piece);
        }
    }
    piece
}

/// One line's statements: split at `;`, and at top-level commas when what follows the comma
/// is itself an equation (`z = W_1 x + b_1, \delta = ...`).
fn split_semicolons(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    // `a = b with c = d`, `a = b where c = d`: two equations joined by a word.
    let mut line = line.to_string();
    for word in [" with ", " where ", " and ", " for "] {
        if let Some(at) = line.find(word) {
            let (head, tail) = line.split_at(at);
            if head.contains('=') && tail.contains('=') {
                line = format!("{head};{}", &tail[word.len()..]);
            }
        }
    }
    for piece in line.split(';') {
        let mut parts: Vec<String> = Vec::new();
        let mut depth = 0i32;
        let mut cur = String::new();
        for c in piece.chars() {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                parts.push(std::mem::take(&mut cur));
            } else {
                cur.push(c);
            }
        }
        parts.push(cur);
        // Rejoin a comma that does not start an equation (`f(a, b)` outside brackets, lists).
        let mut joined: Vec<String> = Vec::new();
        for p in parts {
            match joined.last_mut() {
                Some(prev) if !p.contains('=') => {
                    prev.push(',');
                    prev.push_str(&p);
                }
                _ => joined.push(p),
            }
        }
        out.extend(joined.into_iter().filter(|s| !s.trim().is_empty()));
    }
    out
}

/// The formula of a plain-text line: list markers and bold dropped, and prose before a `:`
/// (`For W1: dL/dW1 = ...`) cut.
fn prose_formula(line: &str) -> String {
    let mut s = line.to_string();
    for mark in ["**", "__"] {
        if s.contains(mark) {
            s = s.replace(mark, "");
        }
    }
    let t = s.trim_start();
    // `1.`, `-`, `*`, `a)`
    let t = t
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start_matches(['.', ')', '-', '*', '•'])
        .trim_start();
    s = t.to_string();
    if let Some(eq) = s.find('=') {
        if let Some(colon) = s[..eq].rfind(':') {
            s = s[colon + 1..].to_string();
        }
    }
    // `Let d_i = ...`, `where z = ...`: a lead word before a definition.
    let lower = s.trim_start().to_lowercase();
    for word in [
        "let ", "where ", "with ", "and ", "define ", "denote ", "so ", "then ", "thus ",
    ] {
        if lower.starts_with(word) {
            s = s.trim_start()[word.len()..].to_string();
            break;
        }
    }
    s
}

/// A plain-text line that declares a name in words: `Notation: m is "y hat"`, `where k
/// denotes "y hat"`, `h stands for "phi(z)"` (a class of writing: students rename a quantity
/// once, in prose, and use the short name in every formula). The name is one letter with an
/// optional subscript; the meaning must be quoted (an unquoted `x is the input` is prose, not
/// a definition) and is a formula, or a letter spelled with its accent in words (`y hat`,
/// `hat y`, `y-hat`). The declaration is the student's definition of the name, so it replaces
/// the rubric's meaning of that name (`m` read as the sample count otherwise).
fn prose_declaration(line: &str) -> Option<(String, String)> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r#"(?i)^(?:notation\s*:\s*|where\s+|let\s+|here\s+)?([A-Za-z](?:_\{?[A-Za-z0-9]{1,3}\}?)?)\s+(?:is|denotes|stands\s+for|means)\s+["“'`]([^"”'`]{1,60})["”'`]\s*[.,;]?$"#,
        )
        .expect("valid")
    });
    // The meaning is quoted: a line without a quote mark declares nothing.
    if !line.contains(['"', '“', '\'', '`']) {
        return None;
    }
    let c = re.captures(line.trim().trim_start_matches(['-', '*', '•']).trim())?;
    let name = c[1].to_string();
    let meaning = c[2].trim();
    let words = meaning.to_lowercase();
    let accent = |w: &str| -> Option<String> {
        for (word, cmd) in [("hat", "hat"), ("bar", "bar"), ("tilde", "tilde")] {
            let w = w.trim();
            let Some(letter) = w
                .strip_suffix(word)
                .map(|l| l.trim().trim_end_matches('-').trim())
                .or_else(|| {
                    w.strip_prefix(word)
                        .map(|l| l.trim().trim_start_matches('-').trim())
                })
            else {
                continue;
            };
            if letter.len() == 1 && letter.chars().all(|c| c.is_ascii_alphabetic()) {
                return Some(format!("\\{cmd}{{{letter}}}"));
            }
        }
        None
    };
    // A quoted phrase in words (`"number of samples"`) is not a formula: every word of three
    // letters or more must be a function or command name.
    const WORDS: [&str; 21] = [
        "phi", "varphi", "sigma", "hat", "log", "exp", "tanh", "delta", "lambda", "frac", "mathbf",
        "vec", "mat", "top", "odot", "sum", "relu", "cdot", "circ", "left", "right",
    ];
    let formula = match accent(&words) {
        Some(f) => f,
        None => {
            let prose = meaning
                .split(|c: char| !c.is_ascii_alphabetic())
                .any(|w| w.len() >= 3 && !WORDS.contains(&w.to_lowercase().as_str()));
            if prose {
                return None;
            }
            meaning.to_string()
        }
    };
    tensor_expr::parse(&formula).ok()?;
    Some((name, formula))
}

/// A plain-text sentence naming the tensor in words: "the gradient (of L) w.r.t. W2 is ...",
/// "derivative with respect to b_1: ..."; the tensor and the formula.
fn prose_gradient(line: &str) -> Option<(String, String)> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b(?:gradient|derivative)\s+(?:of\s+\S+\s+)?(?:w\.?\s*r\.?\s*t\.?|with\s+respect\s+to)\s+([A-Za-z][A-Za-z0-9_{}\\]{0,20}?)\s*(?:is|:|=|equals)\s*(.+)$",
        )
        .expect("valid")
    });
    let c = re.captures(line)?;
    let rest = c.get(2)?.as_str().trim().to_string();
    (!rest.is_empty() && !rest.contains('=')).then(|| (c[1].to_string(), rest))
}

/// What a statement's left side says.
#[derive(Debug, Clone, PartialEq)]
enum Lhs {
    /// The derivative of the loss with respect to the tensor with this key.
    Target(String),
    /// The derivative of the per-sample loss with respect to a tensor (a fallback).
    SampleTarget(String),
    /// A definition of a name or derivative symbol, by [`key`].
    Define(String),
}

/// What a statement's left side names: the loss's derivative by a tensor, the per-sample
/// loss's, or a definition.
fn classify(lhs: &Node) -> Option<Lhs> {
    let strip = |n: &Node| -> String {
        match n {
            Node::Mul(a, b, _) if matches!(b.as_ref(), Node::Tuple(_) | Node::Sym { .. }) => key(a),
            other => key(other),
        }
    };
    match lhs {
        Node::Deriv { of, wrt } => {
            let of = strip(of);
            let wrt = key(wrt);
            if LOSS_NAMES.contains(&of.as_str()) {
                Some(Lhs::Target(wrt))
            } else if SAMPLE_LOSS_NAMES.contains(&of.as_str()) {
                Some(Lhs::SampleTarget(wrt))
            } else {
                Some(Lhs::Define(key(lhs)))
            }
        }
        // \delta W_1, dW_1, \Delta W_1
        Node::Mul(a, b, MulKind::Product)
            if matches!(a.as_ref(), Node::Sym { name, .. } if name == "delta" || name == "d" || name == "Delta")
                && matches!(b.as_ref(), Node::Sym { .. }) =>
        {
            Some(Lhs::Target(key(b)))
        }
        // L'(W_1)
        Node::Mul(a, b, MulKind::Product) if matches!(a.as_ref(), Node::Transpose(inner) if matches!(inner.as_ref(), Node::Sym { name, .. } if LOSS_NAMES.contains(&name.as_str()))) => {
            Some(Lhs::Target(key(b)))
        }
        Node::Sym { .. } | Node::Call { .. } | Node::Transpose(_) | Node::Mul(..) => {
            Some(Lhs::Define(key(lhs)))
        }
        _ => None,
    }
}

/// One part's statement, as bound.
#[derive(Debug, Clone)]
struct Bound {
    offset: usize,
    /// The result side as written.
    written: String,
    /// Earlier sides of the chain (tried when the last cannot be read).
    earlier: Vec<String>,
    note: Option<String>,
    /// Labelled with the per-sample loss (`∂ℓ/∂x`), not the loss `L`.
    sample_loss: bool,
    /// Why this part goes to a person instead (a label used twice, a label without formula).
    problem: Option<String>,
}

/// The statements of `text` bound to the parts (by wrt), and the student's definitions.
fn bind(
    text: &str,
    parts: &[GradientPart],
    wrt_keys: &[Vec<String>],
) -> (Vec<Option<Bound>>, Vec<Def>) {
    let mut defs: Vec<Def> = Vec::new();
    let mut targets: Vec<(usize, Bound)> = Vec::new();
    let mut sample_targets: Vec<(usize, Bound)> = Vec::new();
    let mut mentioned = vec![false; parts.len()];
    let mut ambiguous: Vec<Option<String>> = vec![None; parts.len()];
    for st in statements(text) {
        let Some(lhs_text) = st.sides.first() else {
            continue;
        };
        let Ok(lhs) = tensor_expr::parse(lhs_text) else {
            continue;
        };
        let Some(class) = classify(&lhs) else {
            continue;
        };
        if st.sides.len() < 2 {
            if let Lhs::Target(k) | Lhs::SampleTarget(k) = &class {
                if let Some(p) = wrt_keys.iter().position(|keys| keys.iter().any(|w| w == k)) {
                    mentioned[p] = true;
                }
            }
            continue;
        }
        let last = st.sides.last().cloned().unwrap_or_default();
        let earlier: Vec<String> = st.sides[1..st.sides.len() - 1].to_vec();
        let part_of = |k: &str| wrt_keys.iter().position(|keys| keys.iter().any(|w| w == k));
        let is_target = matches!(class, Lhs::Target(_));
        match class {
            // `∂L/∂W` where the question has W1 and W2: which one is for a person to say.
            Lhs::Target(k) | Lhs::SampleTarget(k)
                if part_of(&k).is_none()
                    && !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphabetic())
                    && wrt_keys
                        .iter()
                        .filter(|keys| keys.iter().any(|w| w.len() > k.len() && w.starts_with(&k)))
                        .count()
                        > 1 =>
            {
                for (p, keys) in wrt_keys.iter().enumerate() {
                    if keys.iter().any(|w| w.len() > k.len() && w.starts_with(&k)) {
                        ambiguous[p] = Some(k.clone());
                    }
                }
            }
            Lhs::Target(k) | Lhs::SampleTarget(k) if part_of(&k).is_some() => {
                let p = part_of(&k).expect("checked");
                let bound = Bound {
                    offset: st.offset,
                    written: last.trim().to_string(),
                    earlier,
                    note: None,
                    sample_loss: !is_target,
                    problem: None,
                };
                if is_target {
                    targets.push((p, bound));
                } else {
                    // Also a definition: the loss-per-sample derivative used elsewhere.
                    if let Ok(n) = tensor_expr::parse(&last) {
                        defs.push((st.offset, key(&lhs), n));
                    }
                    sample_targets.push((p, bound));
                }
            }
            // A derivative of the loss by something else (`\\frac{\\partial \\ell}{\\partial \\hat y}`)
            // is a definition like any other.
            Lhs::Define(_) | Lhs::Target(_) | Lhs::SampleTarget(_) => {
                let k = key(&lhs);
                if let Ok(n) = tensor_expr::parse(&last) {
                    defs.push((st.offset, k, n));
                } else if let Some(n) = earlier
                    .iter()
                    .rev()
                    .find_map(|s| tensor_expr::parse(s).ok())
                {
                    defs.push((st.offset, k, n));
                }
            }
        }
    }
    let mut bound: Vec<Option<Bound>> = vec![None; parts.len()];
    // A tensor labelled twice: which line is its derivative, and whether the other is another
    // tensor's with a copied label, is for a person to decide.
    for (p, b) in targets {
        match &mut bound[p] {
            None => bound[p] = Some(b),
            Some(first) => {
                first.problem = Some(format!(
                    "two lines are labelled as the derivative w.r.t. {}: one of them may be \
                     another tensor's",
                    parts[p].wrt
                ));
            }
        }
    }
    for (p, k) in ambiguous.iter().enumerate() {
        if let (Some(k), None) = (k, &bound[p]) {
            bound[p] = Some(Bound {
                offset: 0,
                written: String::new(),
                earlier: Vec::new(),
                note: None,
                sample_loss: false,
                problem: Some(format!(
                    "a line is labelled as the derivative w.r.t. {k}, which may be {}",
                    parts[p].wrt
                )),
            });
        }
    }
    for (p, m) in mentioned.iter().enumerate() {
        if *m && bound[p].is_none() {
            bound[p] = Some(Bound {
                offset: 0,
                written: String::new(),
                earlier: Vec::new(),
                note: None,
                sample_loss: false,
                problem: Some(format!(
                    "the derivative w.r.t. {} is named, but no formula for it is read",
                    parts[p].wrt
                )),
            });
        }
    }
    for (p, b) in sample_targets {
        if bound[p].is_none() {
            bound[p] = Some(Bound {
                note: Some("read from the derivative of the per-sample loss ℓ".into()),
                ..b
            });
        }
    }
    (bound, defs)
}

/// A student's definition: where it stands, the name (by [`key`]) and the formula.
type Def = (usize, String, Node);

/// The student's definitions as seen from a statement at `offset` (by index into `defs`). A name defined more than
/// once (a label copied from the previous block) means, for each statement, the first
/// definition at or after it (students state a result, then the pieces it is built from),
/// else the last one before it.
fn defs_for(defs: &[Def], offset: usize) -> NameMap<usize> {
    let mut out: NameMap<(usize, usize)> = NameMap::default();
    for (index, (at, k, _)) in defs.iter().enumerate() {
        let better = match out.get(k) {
            None => true,
            Some((prev, _)) => {
                let prev_after = *prev >= offset;
                let this_after = *at >= offset;
                match (prev_after, this_after) {
                    (true, true) => at < prev,
                    (false, true) => true,
                    (true, false) => false,
                    (false, false) => at > prev,
                }
            }
        };
        if better {
            out.insert(k.clone(), (*at, index));
        }
    }
    out.into_iter().map(|(k, (_, index))| (k, index)).collect()
}

/// The draws of one activation in the rubric's symbol table, ready to evaluate against.
struct DrawScope {
    act: Act,
    activation: String,
    bindings: NameMap<Binding>,
    draw_index: usize,
}

/// A stored tensor as a matrix (a vector as a column).
fn mat_of(t: &Tensor64) -> Mat {
    match t.shape.as_slice() {
        [r, c] => Mat::new(*r, *c, t.values.clone()),
        [n] => Mat::new(*n, 1, t.values.clone()),
        _ => Mat::new(1, 1, t.values.first().copied().into_iter().collect()),
    }
}

/// A formula of the rubric (a spelling, a definition, an accepted form or a mistake), parsed
/// once per process: the same rubric judges every submission, and parsing dominates.
fn parse_rubric(src: &str) -> Result<Node, tensor_expr::ParseError> {
    use std::sync::{OnceLock, PoisonError, RwLock};
    type Parsed = HashMap<String, Result<Node, tensor_expr::ParseError>>;
    static CACHE: OnceLock<RwLock<Parsed>> = OnceLock::new();
    let cache = CACHE.get_or_init(RwLock::default);
    if let Some(hit) = cache
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(src)
    {
        return hit.clone();
    }
    let parsed = tensor_expr::parse(src);
    let mut map = cache.write().unwrap_or_else(PoisonError::into_inner);
    if map.len() < 4096 {
        map.insert(src.to_string(), parsed.clone());
    }
    parsed
}

/// The rubric's symbols at one draw.
fn draw_scope(answer: &GradientAnswer, draw: &Draw, index: usize) -> Result<DrawScope, String> {
    let mut bindings = NameMap::default();
    for sym in &answer.symbols {
        let has_samples = |t: &str| {
            answer.inputs.get(t).is_some_and(|i| {
                i.shape.iter().any(|d| {
                    matches!(d, crate::answer::gradient_key::SizeRef::Named(n) if *n == answer.samples)
                })
            })
        };
        let binding = if let Some(t) = sym.tensor.as_ref().filter(|t| has_samples(t)) {
            Binding::Batch(mat_of(
                draw.inputs
                    .get(t)
                    .ok_or_else(|| format!("symbol tensor `{t}` is not an input"))?,
            ))
        } else if let Some(t) = &sym.tensor {
            Binding::Tensor(mat_of(
                draw.inputs
                    .get(t)
                    .ok_or_else(|| format!("symbol tensor `{t}` is not an input"))?,
            ))
        } else if let Some(t) = &sym.column {
            Binding::Column(mat_of(
                draw.inputs
                    .get(t)
                    .ok_or_else(|| format!("symbol column `{t}` is not an input"))?,
            ))
        } else if let Some(c) = &sym.constant {
            Binding::Scalar(
                *draw
                    .constants
                    .get(c)
                    .ok_or_else(|| format!("constant `{c}` is not defined"))?,
            )
        } else if let Some(s) = &sym.size {
            Binding::Scalar(
                *answer
                    .sizes
                    .get(s)
                    .ok_or_else(|| format!("size `{s}` is not defined"))? as f64,
            )
        } else if let Some(d) = &sym.define {
            Binding::Define(parse_rubric(d).map_err(|e| format!("the definition `{d}`: {e}"))?)
        } else {
            return Err(format!("symbol {:?} has no meaning", sym.spell));
        };
        for s in &sym.spell {
            let k = key(&parse_rubric(s).map_err(|e| format!("the spelling `{s}`: {e}"))?);
            bindings.insert(k, binding.clone());
        }
    }
    let act = match draw.activation.as_str() {
        "sigmoid" => Act::Sigmoid,
        _ => Act::Tanh,
    };
    Ok(DrawScope {
        act,
        activation: draw.activation.clone(),
        bindings,
        draw_index: index,
    })
}

/// Autograd's value for a part under a convention, as an outcome.
fn expected(
    answer: &GradientAnswer,
    part: &GradientPart,
    draw: &Draw,
    conv: GradientConvention,
) -> Option<Outcome> {
    let g = mat_of(draw.grads.get(&part.tensor)?);
    let n = *answer.sizes.get(&answer.samples)? as f64;
    let scale = |m: &Mat, k: f64| Mat::new(m.r, m.c, m.v.iter().map(|x| x * k).collect());
    let val = |m: Mat| {
        if m.r == 1 && m.c == 1 {
            Val::S(m.v[0])
        } else {
            Val::M(m)
        }
    };
    if part.per_sample {
        let cols: Vec<Mat> = (0..g.c).map(|j| g.column(j)).collect();
        Some(match conv {
            GradientConvention::Mean => Outcome::PerSample(cols.into_iter().map(val).collect()),
            GradientConvention::Sum => {
                Outcome::PerSample(cols.iter().map(|c| val(scale(c, n))).collect())
            }
            GradientConvention::Summed => {
                let mut total = Mat::new(g.r, 1, vec![0.0; g.r]);
                for c in &cols {
                    for (t, v) in total.v.iter_mut().zip(&c.v) {
                        *t += v;
                    }
                }
                Outcome::Batch(val(total))
            }
        })
    } else {
        Some(Outcome::Batch(match conv {
            GradientConvention::Sum => val(scale(&g, n)),
            _ => val(g),
        }))
    }
}

/// How far apart two values are (max abs difference), when comparable; vectors and (if
/// `transposed`) matrices are compared in either orientation.
fn distance(a: &Val, b: &Val, transposed: bool) -> Option<f64> {
    let ((ar, ac, av), (br, bc, bv)) = (entries(a), entries(b));
    // NaN compares as nothing: a formula that is not finite at a draw matches no key.
    if av.iter().chain(bv).any(|x| !x.is_finite()) {
        return None;
    }
    let rel = |p: f64, q: f64| (p - q).abs() / (1.0 + q.abs());
    if ar == br && ac == bc {
        return Some(
            av.iter()
                .zip(bv)
                .map(|(p, q)| rel(*p, *q))
                .fold(0.0f64, f64::max),
        );
    }
    let vector = (ar == 1 || ac == 1) && av.len() == bv.len() && (br == 1 || bc == 1);
    if vector || (transposed && ar == bc && ac == br) {
        // `a` transposed, read in its row-major order (as `Mat::t` lays it out).
        let t = (0..ac).flat_map(|j| (0..ar).map(move |i| av[i * ac + j]));
        return Some(t.zip(bv).map(|(p, q)| rel(p, *q)).fold(0.0f64, f64::max));
    }
    None
}

/// A value's shape and entries as [`Val::to_mat`] has them, without a copy.
fn entries(v: &Val) -> (usize, usize, &[f64]) {
    match v {
        Val::S(x) => (1, 1, std::slice::from_ref(x)),
        Val::M(m) => (m.r, m.c, &m.v),
        Val::D(d) => (d.len(), 1, d),
    }
}

/// The largest relative difference between two outcomes, when they are comparable (a batch
/// value against a batch value, per-sample values against per-sample values or the columns
/// of a batch matrix).
fn outcome_distance(a: &Outcome, b: &Outcome, transposed: bool) -> Option<f64> {
    match (a, b) {
        // A batch matrix against per-sample vectors: its columns (or rows) are the samples'.
        (Outcome::Batch(Val::M(m)), Outcome::PerSample(ys)) if m.r > 1 && m.c > 1 => {
            let cols: Vec<Val> = if m.c == ys.len() {
                (0..m.c).map(|j| Val::M(m.column(j))).collect()
            } else if m.r == ys.len() {
                let t = m.t();
                (0..t.c).map(|j| Val::M(t.column(j))).collect()
            } else {
                return None;
            };
            let mut worst = 0.0f64;
            for (c, y) in cols.iter().zip(ys) {
                worst = worst.max(distance(c, y, transposed)?);
            }
            Some(worst)
        }
        (Outcome::Batch(x), Outcome::Batch(y)) => distance(x, y, transposed),
        (Outcome::PerSample(xs), Outcome::PerSample(ys)) if xs.len() == ys.len() => {
            let mut worst = 0.0f64;
            for (x, y) in xs.iter().zip(ys) {
                worst = worst.max(distance(x, y, transposed)?);
            }
            Some(worst)
        }
        _ => None,
    }
}

/// The student's formula evaluated at every usable draw.
struct Evaluated {
    /// Per draw: (draw scope index, outcome).
    outcomes: Vec<(usize, Outcome)>,
    info: Info,
}

/// `node` evaluated at every draw (only the sigmoid ones with `only_sigmoid`), with the
/// definitions' values kept per draw in `memos` (one per scope of `prep`; see
/// [`tensor_eval::Memos`]).
fn evaluate_all(
    node: &Node,
    prep: &Prepared,
    defs: &NameMap<Node>,
    repair: bool,
    only_sigmoid: bool,
    batch: Option<bool>,
    memos: &mut [tensor_eval::Memos],
) -> Result<Evaluated, tensor_eval::EvalError> {
    let mut outcomes = Vec::new();
    let mut info = Info::default();
    for (k, s) in prep.scopes.iter().enumerate() {
        if only_sigmoid && s.act != Act::Sigmoid {
            continue;
        }
        let scope = Scope {
            rubric: &s.bindings,
            student: defs,
            act: s.act,
            samples: prep.samples,
            default_arg: &prep.default_arg,
            batch,
        };
        let (o, i) = tensor_eval::evaluate_with(node, &scope, repair, &mut memos[k])?;
        info.repairs = info.repairs.max(i.repairs);
        info.sigma |= i.sigma;
        info.phi |= i.phi;
        outcomes.push((k, o));
    }
    Ok(Evaluated { outcomes, info })
}

/// Whether `ev` matches `reference` (evaluated per draw by `f`) at every draw.
fn matches_all<R: std::borrow::Borrow<Outcome>>(
    ev: &Evaluated,
    transposed: bool,
    tol: f64,
    mut reference: impl FnMut(usize) -> Option<R>,
) -> (bool, Option<(usize, f64)>) {
    let mut worst: Option<(usize, f64)> = None;
    for (k, o) in &ev.outcomes {
        let Some(r) = reference(*k) else {
            return (false, None);
        };
        match outcome_distance(o, r.borrow(), transposed) {
            Some(d) if d <= tol => {}
            Some(d) => {
                if worst.is_none_or(|(_, w)| d > w) {
                    worst = Some((*k, d));
                }
                return (false, worst);
            }
            None => return (false, None),
        }
    }
    (!ev.outcomes.is_empty(), None)
}

/// Lower case without whitespace, for matching phrases.
fn squash_lower(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a formula (with the definitions it uses) is in batch form: it names the data
/// matrix `X`, `Y`, `\hat Y` or the ones vector.
fn batch_form(node: &Node, defs: &NameMap<Node>) -> bool {
    fn walk(
        n: &Node,
        defs: &NameMap<Node>,
        depth: usize,
        seen: &mut std::collections::HashSet<String>,
    ) -> bool {
        if depth > tensor_eval::MAX_EXPANSION {
            return false;
        }
        // Each definition is looked into once (a chain of definitions stays linear).
        // (Only a name that is defined is remembered: the others would find nothing anyway.)
        let expand = |k: &str, seen: &mut std::collections::HashSet<String>| {
            defs.get(k)
                .is_some_and(|d| seen.insert(k.to_string()) && walk(d, defs, depth + 1, seen))
        };
        match n {
            Node::Sym { name, .. } => {
                matches!(name.as_str(), "X" | "Y" | "Yhat" | "ones") || expand(name, seen)
            }
            Node::Deriv { .. } => expand(&key(n), seen),
            Node::Call { arg, .. } => arg
                .as_deref()
                .is_some_and(|a| walk(a, defs, depth + 1, seen)),
            Node::Neg(a) | Node::Transpose(a) | Node::Sum(a) | Node::Norm(a) => {
                walk(a, defs, depth + 1, seen)
            }
            Node::Add(a, b)
            | Node::Sub(a, b)
            | Node::Mul(a, b, _)
            | Node::Div(a, b)
            | Node::Pow(a, b) => walk(a, defs, depth + 1, seen) || walk(b, defs, depth + 1, seen),
            Node::Grad { body, .. } => walk(body, defs, depth + 1, seen),
            Node::Tuple(items) => items.iter().any(|i| walk(i, defs, depth + 1, seen)),
            Node::Num(_) => false,
        }
    }
    walk(node, defs, 0, &mut std::collections::HashSet::new())
}

/// Whether the student's formula (with the definitions it uses) writes `\sigma` and
/// `\varphi`.
fn written_activations(node: &Node, defs: &NameMap<Node>) -> (bool, bool) {
    fn walk(
        n: &Node,
        defs: &NameMap<Node>,
        depth: usize,
        out: &mut (bool, bool),
        seen: &mut std::collections::HashSet<String>,
    ) {
        if depth > tensor_eval::MAX_EXPANSION {
            return;
        }
        if let Node::Call { func, .. } = n {
            match func {
                tensor_expr::Func::Sigma => out.0 = true,
                tensor_expr::Func::Phi => out.1 = true,
                _ => {}
            }
        }
        // Each definition is looked into once (a chain of definitions stays linear). A name
        // is its own key.
        let defined = match n {
            Node::Sym { name, .. } => defs.get_key_value(name.as_str()),
            Node::Deriv { .. } => defs.get_key_value(key(n).as_str()),
            _ => None,
        };
        if let Some((k, d)) = defined {
            if seen.insert(k.clone()) {
                walk(d, defs, depth + 1, out, seen);
            }
        }
        let mut go = |m: &Node| walk(m, defs, depth + 1, out, seen);
        match n {
            Node::Call { arg, .. } => {
                if let Some(a) = arg {
                    go(a);
                }
            }
            Node::Sym { .. } => {}
            Node::Deriv { of, .. } => go(of),
            Node::Neg(a) | Node::Transpose(a) | Node::Sum(a) | Node::Norm(a) => go(a),
            Node::Add(a, b)
            | Node::Sub(a, b)
            | Node::Mul(a, b, _)
            | Node::Div(a, b)
            | Node::Pow(a, b) => {
                go(a);
                go(b);
            }
            Node::Grad { body, .. } => go(body),
            Node::Tuple(items) => items.iter().for_each(go),
            Node::Num(_) => {}
        }
    }
    let mut out = (false, false);
    walk(
        node,
        defs,
        0,
        &mut out,
        &mut std::collections::HashSet::new(),
    );
    out
}

/// The judgement of one part.
#[derive(Debug, Clone)]
pub struct PartVerdict {
    pub status: Status,
    /// Sent to review because its value has another tensor's shape (a mislabelled line?).
    pub suspect: bool,
    pub score: f64,
    pub diagnosis: Option<String>,
    pub feedback: Vec<String>,
    pub written: Option<String>,
    pub read: Option<String>,
    pub offset: Option<usize>,
}

/// What a part's judgement needs to know about where its formula stands.
struct JudgeCtx<'a> {
    /// The question's own text without whitespace (empty when unknown).
    question: &'a str,
    /// The line is labelled with the per-sample loss ℓ.
    sample_loss: bool,
    /// The answer says it uses numerator layout.
    numerator: bool,
    /// Batch form (`X`, `\\mathbf{1}`): `Some(true)` with the samples as rows.
    batch: Option<bool>,
}

/// Everything a part needs from the key, prepared once per answer.
struct Prepared {
    scopes: Vec<DrawScope>,
    default_arg: Node,
    samples: usize,
    tol: f64,
}

/// What judging needs from a rubric's gradient answer and its key alone: the draws' scopes,
/// each part's spellings, parsed mistakes, pairs of mistakes, autograd's values and the
/// mistakes' values at the draws. Every submission is judged against the same rubric, so
/// this is built once per run (per thread) instead of once per answer.
struct RubricPrep {
    /// The answer and key it was built from (what a lookup compares).
    answer: GradientAnswer,
    draws: GradientDraws,
    prep: Result<Prepared, String>,
    /// Per part: the keys its tensor is written as ([`wrt_spellings`]).
    wrt_keys: Vec<Vec<String>>,
    parts: Vec<PartPrep>,
}

/// One part's share of [`RubricPrep`].
struct PartPrep {
    /// Each known mistake's formula, parsed (None when it does not parse).
    mistakes: Vec<Option<Node>>,
    pairs: std::sync::Arc<Vec<(usize, usize, Node)>>,
    /// Autograd's value per draw, by convention ([`convention_index`]).
    expected: Vec<[Option<Outcome>; 3]>,
    /// The values of the mistakes (then of the pairs) per scope, computed on first use: they
    /// depend on the rubric and its key only, so every student's derivation is compared with
    /// values computed once per run instead of once per answer.
    values: Vec<Vec<std::cell::OnceCell<Option<Outcome>>>>,
}

/// The slot of a convention in [`PartPrep::expected`].
fn convention_index(conv: GradientConvention) -> usize {
    match conv {
        GradientConvention::Mean => 0,
        GradientConvention::Sum => 1,
        GradientConvention::Summed => 2,
    }
}

/// Most rubric answers whose preparation is kept per thread (a run grades a few rubrics).
const MAX_RUBRIC_PREPS: usize = 8;

thread_local! {
    /// The [`RubricPrep`]s of this thread, most recent last.
    static RUBRIC_PREPS: std::cell::RefCell<Vec<std::rc::Rc<RubricPrep>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The preparation of `answer` with `draws`, built on first use in this thread. Found by
/// comparing the answer and the draws themselves (cheap next to building it), so a rubric
/// changed or reloaded in the same process is never judged with a stale preparation.
fn rubric_prep(answer: &GradientAnswer, draws: &GradientDraws) -> std::rc::Rc<RubricPrep> {
    let hit = RUBRIC_PREPS.with(|c| {
        c.borrow()
            .iter()
            .rev()
            .find(|r| r.answer == *answer && r.draws == *draws)
            .cloned()
    });
    if let Some(hit) = hit {
        return hit;
    }
    let prep = prepare(answer, draws);
    let parts = answer
        .parts
        .iter()
        .map(|part| {
            let mistakes: Vec<Option<Node>> = part
                .mistakes
                .iter()
                .map(|m| parse_rubric(&m.formula).ok())
                .collect();
            let pairs = mistake_pairs(part);
            let scopes = prep.as_ref().map_or(0, |p| p.scopes.len());
            let expected = draws
                .draws
                .iter()
                .map(|d| {
                    [
                        GradientConvention::Mean,
                        GradientConvention::Sum,
                        GradientConvention::Summed,
                    ]
                    .map(|conv| expected(answer, part, d, conv))
                })
                .collect();
            let values = (0..mistakes.len() + pairs.len())
                .map(|_| (0..scopes).map(|_| std::cell::OnceCell::new()).collect())
                .collect();
            PartPrep {
                mistakes,
                pairs,
                expected,
                values,
            }
        })
        .collect();
    let wrt_keys = answer
        .parts
        .iter()
        .map(|p| wrt_spellings(answer, p))
        .collect();
    let built = std::rc::Rc::new(RubricPrep {
        answer: answer.clone(),
        draws: draws.clone(),
        prep,
        wrt_keys,
        parts,
    });
    RUBRIC_PREPS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_RUBRIC_PREPS {
            c.remove(0);
        }
        c.push(built.clone());
    });
    built
}

impl PartPrep {
    /// Autograd's value at scope `k` under `conv`.
    fn expected_at(&self, prep: &Prepared, k: usize, conv: GradientConvention) -> Option<&Outcome> {
        self.expected
            .get(prep.scopes[k].draw_index)
            .and_then(|e| e[convention_index(conv)].as_ref())
    }

    /// The value of rubric formula `node` (slot `slot` of [`PartPrep::values`]) at scope `k`.
    fn value_at(&self, prep: &Prepared, slot: usize, node: &Node, k: usize) -> Option<&Outcome> {
        self.values[slot][k]
            .get_or_init(|| rubric_eval(prep, node, k))
            .as_ref()
    }
}

/// A rubric formula's value at scope `k` (no student definitions).
fn rubric_eval(prep: &Prepared, node: &Node, k: usize) -> Option<Outcome> {
    let s = &prep.scopes[k];
    let empty = NameMap::default();
    let scope = Scope {
        rubric: &s.bindings,
        student: &empty,
        act: s.act,
        samples: prep.samples,
        default_arg: &prep.default_arg,
        batch: None,
    };
    tensor_eval::evaluate(node, &scope, false)
        .ok()
        .map(|(o, _)| o)
}

/// The draws' scopes, the default activation argument and the sample count, once per answer.
fn prepare(answer: &GradientAnswer, draws: &GradientDraws) -> Result<Prepared, String> {
    let scopes = draws
        .draws
        .iter()
        .enumerate()
        .map(|(i, d)| draw_scope(answer, d, i))
        .collect::<Result<Vec<_>, _>>()?;
    let default_arg = parse_rubric(&answer.activation_argument)
        .map_err(|e| format!("activation_argument: {e}"))?;
    let samples = *answer
        .sizes
        .get(&answer.samples)
        .ok_or_else(|| format!("`samples: {}` is not one of the sizes", answer.samples))?;
    Ok(Prepared {
        scopes,
        default_arg,
        samples,
        tol: answer.rel_tol.unwrap_or(1e-6),
    })
}

/// One empty [`tensor_eval::Memos`] per scope of `prep`.
fn fresh_memos(prep: &Prepared) -> Vec<tensor_eval::Memos> {
    prep.scopes
        .iter()
        .map(|_| tensor_eval::Memos::default())
        .collect()
}

/// The tensor's display name in feedback (`dL/dW2`).
fn dname(part: &GradientPart) -> String {
    format!("dL/d{}", part.wrt)
}

/// One part's verdict: the formula evaluated at the draws and compared with the accepted forms,
/// then with the known mistakes, then with the transposed key.
fn judge(
    prep: &Prepared,
    part: &GradientPart,
    pp: &PartPrep,
    node: &Node,
    defs: &NameMap<Node>,
    ctx: &JudgeCtx<'_>,
    memos: &mut [tensor_eval::Memos],
) -> PartVerdict {
    let mut v = PartVerdict {
        status: Status::NeedsReview,
        suspect: false,
        score: 0.0,
        diagnosis: None,
        feedback: Vec::new(),
        written: None,
        read: Some(node.to_string()),
        offset: None,
    };
    let name = dname(part);
    let mut eval = |repair: bool, only_sigmoid: bool| {
        evaluate_all(node, prep, defs, repair, only_sigmoid, ctx.batch, memos)
    };
    let mut ev = match eval(false, false) {
        Ok(ev) => ev,
        Err(tensor_eval::EvalError::Shape(s)) => match eval(true, false) {
            Ok(ev) => ev,
            Err(_) => {
                v.feedback.push(format!(
                    "needs review: your {name} could not be evaluated: {s}, and no placement \
                     of transposes makes it fit"
                ));
                return v;
            }
        },
        // Terms of different shapes added (W1/W2 mixed up, a bias added to a weight, a typo
        // such as φ(W1 + b1) that drops a factor): the formula cannot be evaluated as written,
        // so the reader cannot tell a typo from a wrong derivation. The corpus reviewers grade
        // such typos partial and such mix-ups wrong: a person decides, with the reason.
        Err(tensor_eval::EvalError::SumShape(s)) => {
            v.feedback.push(format!(
                "needs review: your {name} adds terms of different shapes ({s}), so it cannot \
                 be evaluated as written (a typo, or a wrong derivation?)"
            ));
            return v;
        }
        Err(e) => {
            v.feedback.push(format!(
                "needs review: your {name} could not be evaluated: {e}"
            ));
            return v;
        }
    };
    // A formula written with \sigma (and not \varphi) commits to the sigmoid: checked at
    // the sigmoid draws. What the student wrote counts, not the rubric's definitions.
    let (sigma, phi) = written_activations(node, defs);
    if sigma && !phi {
        let repair = ev.info.repairs > 0;
        match eval(repair, true) {
            Ok(e) if !e.outcomes.is_empty() => {
                ev = e;
                v.feedback.push(
                    "your formula uses σ for the activation: it is checked with φ = σ (the \
                     question's φ is any activation)"
                        .into(),
                );
            }
            _ => {
                v.feedback.push(format!(
                    "needs review: your {name} uses σ and the key has no sigmoid draws"
                ));
                return v;
            }
        }
    }
    let finite = |o: &Outcome| match o {
        Outcome::Batch(x) => entries(x).2.iter().all(|v| v.is_finite()),
        Outcome::PerSample(xs) => xs
            .iter()
            .all(|x| entries(x).2.iter().all(|v| v.is_finite())),
    };
    if let Some((k, _)) = ev.outcomes.iter().find(|(_, o)| !finite(o)) {
        v.feedback.push(format!(
            "needs review: your {name} is not a finite number at draw {} (a logarithm or \
             division outside its domain: a name may mean something else than the rubric reads)",
            prep.scopes[*k].draw_index + 1
        ));
        return v;
    }
    let repaired = ev.info.repairs > 0;
    let transposed_ok = part.transposed || ctx.numerator;
    let per_scope = |k: usize, conv: GradientConvention| pp.expected_at(prep, k, conv);
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let question = ctx.question;
    // A form for one wording applies only where the question's text is known to be it; the
    // per-sample loss's gradient (`sum`) only on a line labelled with ℓ.
    let applies = |form: &&crate::rubric::GradientForm| {
        let wording = match &form.if_question_has {
            None => true,
            Some(snippet) => question.contains(&squash(snippet)),
        };
        let label = form.convention != GradientConvention::Sum || ctx.sample_loss;
        wording && label
    };
    // What the formula matches: an accepted form, else the first known mistake.
    enum Found<'m> {
        Accepted,
        Mistake(&'m crate::rubric::GradientMistake),
        Pair(
            &'m crate::rubric::GradientMistake,
            &'m crate::rubric::GradientMistake,
        ),
        Transposed,
        Nothing(Option<(usize, f64)>),
    }
    let found = 'found: {
        let mut first_miss: Option<(usize, f64)> = None;
        for form in part.accept.iter().filter(applies) {
            let (ok, miss) = matches_all(&ev, transposed_ok, prep.tol, |k| {
                per_scope(k, form.convention)
            });
            if ok {
                break 'found Found::Accepted;
            }
            if first_miss.is_none() {
                first_miss = miss;
            }
        }
        for (slot, (m, mnode)) in part.mistakes.iter().zip(&pp.mistakes).enumerate() {
            let Some(mnode) = mnode else {
                continue;
            };
            let (ok, _) = matches_all(&ev, transposed_ok, prep.tol, |k| {
                pp.value_at(prep, slot, mnode, k)
            });
            if ok {
                break 'found Found::Mistake(m);
            }
        }
        if !transposed_ok {
            for form in part.accept.iter().filter(applies) {
                let (ok, _) = matches_all(&ev, true, prep.tol, |k| per_scope(k, form.convention));
                if ok {
                    break 'found Found::Transposed;
                }
            }
        }
        for (j, (a, b, mnode)) in pp.pairs.iter().enumerate() {
            let slot = pp.mistakes.len() + j;
            let (ok, _) = matches_all(&ev, transposed_ok, prep.tol, |k| {
                pp.value_at(prep, slot, mnode, k)
            });
            if ok {
                break 'found Found::Pair(&part.mistakes[*a], &part.mistakes[*b]);
            }
        }
        Found::Nothing(first_miss)
    };
    // A product that only fits with transposes the student did not write is for a person:
    // the reader cannot tell a slip from a misreading. The feedback says what it found.
    if repaired {
        let hint = match &found {
            Found::Accepted => "with the missing transposes added it matches autograd".to_string(),
            Found::Mistake(m) => format!(
                "with the missing transposes added it matches the known mistake `{}`",
                m.id
            ),
            Found::Pair(a, b) => format!(
                "with the missing transposes added it matches the known mistakes `{}` and `{}` \
                 at once",
                a.id, b.id
            ),
            _ => "no placement of transposes makes it match".to_string(),
        };
        v.status = Status::NeedsReview;
        v.feedback.push(format!(
            "needs review: as written, the products in your {name} do not fit; {hint}"
        ));
        return v;
    }
    match found {
        Found::Accepted => {
            v.status = Status::Correct;
            v.score = 1.0;
            v.feedback.push(format!(
                "your {name} matches autograd at all {} draws",
                ev.outcomes.len()
            ));
        }
        Found::Mistake(m) => {
            let wrong = m.status == "wrong";
            v.status = if wrong {
                Status::Wrong
            } else {
                Status::Partial
            };
            v.score = if wrong { 0.0 } else { m.score };
            v.diagnosis = Some(m.id.clone());
            v.feedback.push(m.message.clone());
        }
        Found::Pair(a, b) => {
            // Two slips at once still earn partial credit (the course's reviewers give it),
            // less than one slip; a pair with a mistake of status wrong is wrong.
            let wrong = a.status == "wrong" || b.status == "wrong";
            v.status = if wrong {
                Status::Wrong
            } else {
                Status::Partial
            };
            v.score = if wrong {
                0.0
            } else {
                a.score.min(b.score) / 2.0
            };
            v.diagnosis = Some(format!("{}+{}", a.id, b.id));
            v.feedback.push(format!(
                "two known mistakes at once: {}; and {}",
                a.message, b.message
            ));
        }
        Found::Transposed => {
            v.status = Status::Partial;
            v.score = 0.5;
            v.diagnosis = Some("transposed".into());
            v.feedback.push(format!(
                "your {name} is the transpose of autograd's: the gradient has the shape of {} \
                 (say so if you use numerator layout)",
                part.wrt
            ));
        }
        Found::Nothing(first_miss) => {
            // A value whose shape no form of this gradient has is a label or a reading
            // problem more likely than a wrong derivation.
            let want = pp
                .expected
                .first()
                .and_then(|e| e[convention_index(GradientConvention::Mean)].as_ref());
            let got = ev.outcomes.first().map(|(_, o)| o);
            let fits = |a: &Val, b: &Val| distance(a, b, true).is_some();
            let shape_ok = match (got, want) {
                (Some(Outcome::Batch(a)), Some(Outcome::Batch(b))) => fits(a, b),
                (Some(Outcome::PerSample(xs)), Some(Outcome::PerSample(ys))) => {
                    xs.first().zip(ys.first()).is_some_and(|(a, b)| fits(a, b))
                }
                (Some(Outcome::Batch(a)), Some(Outcome::PerSample(ys))) => {
                    ys.first().is_some_and(|b| fits(a, b))
                }
                (Some(Outcome::PerSample(xs)), Some(Outcome::Batch(b))) => {
                    xs.first().is_some_and(|a| fits(a, b))
                }
                _ => true,
            };
            if !shape_ok {
                let shape = |o: Option<&Outcome>| match o {
                    Some(Outcome::Batch(x)) => x.shape_text(),
                    Some(Outcome::PerSample(xs)) => {
                        xs.first().map(Val::shape_text).unwrap_or_default()
                    }
                    None => String::new(),
                };
                v.status = Status::NeedsReview;
                v.suspect = true;
                v.feedback.push(format!(
                    "needs review: your {name} evaluates to {}, but the gradient w.r.t. {} is \
                     {}: a line labelled with another tensor?",
                    shape(got),
                    part.wrt,
                    shape(want)
                ));
                return v;
            }
            v.status = Status::Wrong;
            v.score = 0.0;
            match first_miss {
                Some((k, d)) => {
                    let s = &prep.scopes[k];
                    v.feedback.push(format!(
                        "your {name} does not match autograd: at draw {} (φ = {}) it is off \
                         by up to {:.3} (relative to 1 + |autograd|)",
                        s.draw_index + 1,
                        s.activation,
                        d
                    ));
                }
                None => v.feedback.push(format!(
                    "your {name} does not match autograd (it is per sample where the \
                     gradient is one value, or the other way round)"
                )),
            }
        }
    }
    v
}

/// Most pairs of known mistakes tried per part (bounded time whatever the rubric lists).
const MAX_PAIRS: usize = 64;

/// A known mistake as a rewrite of an accepted formula: the smallest subtree of `accepted`
/// that differs from `mistake`, and what the mistake has there. Two nodes of the same kind
/// (same operator, function or tuple length) that differ in exactly one child differ inside
/// that child; otherwise the whole node is the rewrite. `None` when they are equal.
fn rewrite(accepted: &Node, mistake: &Node) -> Option<(Node, Node)> {
    if accepted == mistake {
        return None;
    }
    let ca = children(accepted);
    let cm = children(mistake);
    let same_kind = std::mem::discriminant(accepted) == std::mem::discriminant(mistake)
        && ca.len() == cm.len()
        && !ca.is_empty()
        && match (accepted, mistake) {
            (Node::Mul(_, _, x), Node::Mul(_, _, y)) => x == y,
            (
                Node::Call {
                    func: f,
                    derivative: d,
                    ..
                },
                Node::Call {
                    func: g,
                    derivative: e,
                    ..
                },
            ) => f == g && d == e,
            _ => true,
        };
    if same_kind {
        let differing: Vec<usize> = (0..ca.len()).filter(|&i| ca[i] != cm[i]).collect();
        if let [i] = differing.as_slice() {
            return rewrite(ca[*i], cm[*i]);
        }
    }
    Some((accepted.clone(), mistake.clone()))
}

/// A node's children, in order.
fn children(n: &Node) -> Vec<&Node> {
    match n {
        Node::Num(_) | Node::Sym { .. } => Vec::new(),
        Node::Neg(a) | Node::Transpose(a) | Node::Sum(a) | Node::Norm(a) => vec![a],
        Node::Add(a, b)
        | Node::Sub(a, b)
        | Node::Mul(a, b, _)
        | Node::Div(a, b)
        | Node::Pow(a, b) => vec![a, b],
        Node::Call { arg, .. } => arg.iter().map(|a| a.as_ref()).collect(),
        Node::Deriv { of, wrt } => vec![of, wrt],
        Node::Grad { wrt, body } => vec![wrt, body],
        Node::Tuple(items) => items.iter().collect(),
    }
}

/// How many times `pat` occurs in `n` as a subtree.
fn occurrences(n: &Node, pat: &Node) -> usize {
    if n == pat {
        return 1;
    }
    children(n).into_iter().map(|c| occurrences(c, pat)).sum()
}

/// `n` with every occurrence of `pat` replaced by `with`.
fn replaced(n: &Node, pat: &Node, with: &Node) -> Node {
    if n == pat {
        return with.clone();
    }
    let r = |c: &Node| Box::new(replaced(c, pat, with));
    match n {
        Node::Num(_) | Node::Sym { .. } => n.clone(),
        Node::Neg(a) => Node::Neg(r(a)),
        Node::Transpose(a) => Node::Transpose(r(a)),
        Node::Sum(a) => Node::Sum(r(a)),
        Node::Norm(a) => Node::Norm(r(a)),
        Node::Add(a, b) => Node::Add(r(a), r(b)),
        Node::Sub(a, b) => Node::Sub(r(a), r(b)),
        Node::Mul(a, b, k) => Node::Mul(r(a), r(b), *k),
        Node::Div(a, b) => Node::Div(r(a), r(b)),
        Node::Pow(a, b) => Node::Pow(r(a), r(b)),
        Node::Call {
            func,
            derivative,
            arg,
        } => Node::Call {
            func: *func,
            derivative: *derivative,
            arg: arg.as_ref().map(|a| r(a)),
        },
        Node::Deriv { of, wrt } => Node::Deriv {
            of: r(of),
            wrt: r(wrt),
        },
        Node::Grad { wrt, body } => Node::Grad {
            wrt: r(wrt),
            body: r(body),
        },
        Node::Tuple(items) => Node::Tuple(items.iter().map(|c| replaced(c, pat, with)).collect()),
    }
}

/// Pairs of a part's known mistakes made at once, as formulas: (index of the first mistake,
/// index of the second, the formula with both). Students who slip twice (no 1/N and a sum
/// over the samples; a doubled 1/N and λ‖W‖) are given partial credit by the course's
/// reviewers, so a formula that matches once two known mistakes are undone is diagnosed with
/// both. Each mistake is read as a rewrite of the part's first accepted form of the plain
/// mean convention ([`rewrite`]); two rewrites compose when one's changed subtree occurs
/// exactly once in the formula the other leaves (tried in both orders), and the result is
/// neither accepted nor one of the single mistakes. Two formulas of the same mistake id are
/// not a pair. At most [`MAX_PAIRS`] pairs; built once per process per part.
fn mistake_pairs(part: &GradientPart) -> std::sync::Arc<Vec<(usize, usize, Node)>> {
    use std::sync::{Arc, OnceLock, PoisonError, RwLock};
    type Pairs = HashMap<String, Arc<Vec<(usize, usize, Node)>>>;
    static CACHE: OnceLock<RwLock<Pairs>> = OnceLock::new();
    let cache = CACHE.get_or_init(RwLock::default);
    let cache_key = serde_json::to_string(&(&part.accept, &part.mistakes)).unwrap_or_default();
    if let Some(hit) = cache
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&cache_key)
    {
        return hit.clone();
    }
    let mut out = Vec::new();
    let base = part
        .accept
        .iter()
        .find(|f| f.convention == GradientConvention::Mean && f.if_question_has.is_none())
        .and_then(|f| parse_rubric(&f.formula).ok());
    if let Some(base) = base {
        let singles: Vec<Option<Node>> = part
            .mistakes
            .iter()
            .map(|m| parse_rubric(&m.formula).ok())
            .collect();
        let rewrites: Vec<Option<(Node, Node)>> = singles
            .iter()
            .map(|m| m.as_ref().and_then(|m| rewrite(&base, m)))
            .collect();
        'pairs: for i in 0..part.mistakes.len() {
            for j in i + 1..part.mistakes.len() {
                if out.len() >= MAX_PAIRS {
                    break 'pairs;
                }
                if part.mistakes[i].id == part.mistakes[j].id {
                    continue;
                }
                let (Some(ri), Some(rj)) = (&rewrites[i], &rewrites[j]) else {
                    continue;
                };
                let compose = |first: &(Node, Node), second: &(Node, Node)| {
                    if occurrences(&base, &first.0) != 1 {
                        return None;
                    }
                    let once = replaced(&base, &first.0, &first.1);
                    (occurrences(&once, &second.0) == 1)
                        .then(|| replaced(&once, &second.0, &second.1))
                };
                let Some(both) = compose(ri, rj).or_else(|| compose(rj, ri)) else {
                    continue;
                };
                if both == base || singles.iter().flatten().any(|s| *s == both) {
                    continue;
                }
                out.push((i, j, both));
            }
        }
    }
    let out = Arc::new(out);
    let mut map = cache.write().unwrap_or_else(PoisonError::into_inner);
    if map.len() < 256 {
        map.insert(cache_key, out.clone());
    }
    out
}

/// Judges every part of a gradient answer.
pub fn check_parts(
    answer: &GradientAnswer,
    draws: &GradientDraws,
    question: &str,
    text: &str,
) -> Result<Vec<PartVerdict>, String> {
    let rp = rubric_prep(answer, draws);
    let prep = rp.prep.as_ref().map_err(Clone::clone)?;
    let (bound, defs) = bind(text, &answer.parts, &rp.wrt_keys);
    let lower = text.to_lowercase();
    // Only a formula in batch form asks for these (once per answer).
    let squashed_lower = std::cell::OnceCell::new();
    let squashed_question: String = question.chars().filter(|c| !c.is_whitespace()).collect();
    let numerator = answer
        .numerator_layout
        .iter()
        .any(|p| lower.contains(&p.to_lowercase()));
    // Derivations handed in as pictures (a class of answer): what is not in the text may be
    // in the image, so a tensor without a formula is for a person to read.
    let has_image = ["<img", "![", "attachment:", "[image"]
        .iter()
        .any(|m| lower.contains(m));
    // An answer with words but no formula bound to any tensor (prose, code, a pointer to
    // another answer) is for a person too.
    let nothing_bound = bound.iter().all(Option::is_none)
        && !text.trim().is_empty()
        && statements(text).iter().all(|s| s.sides.len() < 2);
    let mut out: Vec<PartVerdict> = Vec::new();
    let unread = |part: &GradientPart, status: Status, why: String| PartVerdict {
        status,
        suspect: false,
        score: 0.0,
        diagnosis: None,
        feedback: vec![why.replace("{}", &dname(part))],
        written: None,
        read: None,
        offset: None,
    };
    // The distinct definition tables the parts see, and the definitions' values per table,
    // batch form and draw.
    let mut seen_defs: Vec<(NameMap<usize>, Box<NameMap<Node>>)> = Vec::new();
    let mut memos: HashMap<(usize, Option<bool>), Vec<tensor_eval::Memos>> = HashMap::new();
    for ((part, pp), b) in answer.parts.iter().zip(&rp.parts).zip(bound) {
        let Some(b) = b else {
            out.push(if has_image {
                unread(
                    part,
                    Status::NeedsReview,
                    "needs review: no formula for {} in the text, and the answer holds an image"
                        .into(),
                )
            } else if nothing_bound {
                unread(
                    part,
                    Status::NeedsReview,
                    "needs review: no line of the answer reads as a derivative of the loss \
                     ({} included)"
                        .into(),
                )
            } else {
                unread(part, Status::Missing, "no formula for {} found".into())
            });
            continue;
        };
        if let Some(problem) = &b.problem {
            let mut v = unread(
                part,
                Status::NeedsReview,
                format!("needs review: {problem}"),
            );
            v.suspect = true;
            v.written = (!b.written.is_empty()).then(|| b.written.clone());
            v.offset = (!b.written.is_empty()).then_some(b.offset);
            out.push(v);
            continue;
        }
        let parsed = tensor_expr::parse(&b.written)
            .map(|n| (n, b.written.clone()))
            .or_else(|e| {
                b.earlier
                    .iter()
                    .rev()
                    .find_map(|s| tensor_expr::parse(s).ok().map(|n| (n, s.clone())))
                    .ok_or(e)
            });
        let chosen = defs_for(&defs, b.offset);
        // Parts that see the same definitions share one table and its values (boxed: a
        // table's address identifies it to the evaluator while it lives).
        let slot = match seen_defs.iter().position(|(c, _)| *c == chosen) {
            Some(slot) => slot,
            None => {
                let table: NameMap<Node> = chosen
                    .iter()
                    .map(|(k, &i)| (k.clone(), defs[i].2.clone()))
                    .collect();
                seen_defs.push((chosen, Box::new(table)));
                seen_defs.len() - 1
            }
        };
        let defs_here: &NameMap<Node> = &seen_defs[slot].1;
        let batch = parsed.as_ref().ok().and_then(|(node, _)| {
            batch_form(node, defs_here).then(|| {
                answer.rows_layout.iter().any(|p| {
                    squashed_lower
                        .get_or_init(|| squash_lower(text))
                        .contains(&squash_lower(p))
                })
            })
        });
        let ctx = JudgeCtx {
            question: &squashed_question,
            sample_loss: b.sample_loss,
            numerator,
            batch,
        };
        let mut v = match parsed {
            Ok((node, _)) => {
                let memos = memos
                    .entry((slot, batch))
                    .or_insert_with(|| fresh_memos(prep));
                judge(prep, part, pp, &node, defs_here, &ctx, memos)
            }
            Err(e) => unread(
                part,
                Status::NeedsReview,
                format!("needs review: the formula for {{}} could not be read: {e}"),
            ),
        };
        if let Some(n) = b.note {
            v.feedback.push(n);
        }
        v.written = Some(b.written);
        v.offset = Some(b.offset);
        out.push(v);
    }
    // A line that has another tensor's shape may be the missing one, mislabelled.
    if out.iter().any(|v| v.suspect) {
        for (part, v) in answer.parts.iter().zip(out.iter_mut()) {
            if v.status == Status::Missing {
                v.status = Status::NeedsReview;
                v.feedback = vec![format!(
                    "needs review: no line is labelled {}, and a line labelled with another \
                     tensor has a shape that does not fit it",
                    dname(part)
                )];
            }
        }
    }
    Ok(out)
}

/// The keys a part's tensor is written as (its symbol's spellings).
fn wrt_spellings(answer: &GradientAnswer, part: &GradientPart) -> Vec<String> {
    let mut out = Vec::new();
    for sym in &answer.symbols {
        let hit = sym.tensor.as_deref() == Some(part.tensor.as_str())
            || sym.column.as_deref() == Some(part.tensor.as_str());
        if hit {
            for s in &sym.spell {
                if let Ok(n) = parse_rubric(s) {
                    out.push(key(&n));
                }
            }
        }
    }
    out.push(part.wrt.clone());
    out
}

/// The verdict of a whole gradient answer: one part per derivative.
pub fn check(
    answer: &GradientAnswer,
    draws: &GradientDraws,
    question: &str,
    text: &str,
) -> Verdict {
    let parts = match check_parts(answer, draws, question, text) {
        Ok(p) => p,
        Err(e) => {
            return Verdict {
                status: Status::NeedsReview,
                score: 0.0,
                feedback: vec![format!(
                    "needs review: the gradient key cannot be used: {e}"
                )],
                value: serde_json::Value::Null,
                parts: Vec::new(),
            }
        }
    };
    let total_weight: f64 = answer
        .parts
        .iter()
        .map(|p| p.weight.max(0.0))
        .sum::<f64>()
        .max(1e-12);
    let mut score = 0.0;
    let mut feedback = Vec::new();
    let mut out_parts = Vec::new();
    let mut values = Vec::new();
    for (p, v) in answer.parts.iter().zip(&parts) {
        let weight = p.weight.max(0.0) / total_weight;
        score += weight * v.score;
        for f in &v.feedback {
            feedback.push(format!("{}: {f}", p.wrt));
        }
        let value = json!({
            "wrt": p.wrt,
            "formula": v.written,
            "read": v.read,
            "diagnosis": v.diagnosis,
        });
        values.push(value.clone());
        out_parts.push(Part {
            id: p.wrt.clone(),
            status: v.status,
            score: v.score,
            weight,
            value,
            feedback: v.feedback.clone(),
            offset: v.offset,
            question_offset: None,
        });
    }
    let all = |s: Status| parts.iter().all(|v| v.status == s);
    let status = if parts.iter().any(|v| v.status == Status::NeedsReview) {
        Status::NeedsReview
    } else if all(Status::Missing) {
        Status::Missing
    } else if all(Status::Correct) {
        Status::Correct
    } else if score == 0.0 {
        Status::Wrong
    } else {
        Status::Partial
    };
    Verdict {
        status,
        score,
        feedback,
        value: serde_json::Value::Array(values),
        parts: out_parts,
    }
}

/// Checks every `kind: gradient` question of `rubric` against its resolved key: each accepted
/// formula must match autograd at the draws and each known mistake must differ from them
/// (what `rubric lint` and `rubric lock` prove). `Err` names the question.
pub fn verify_rubric(
    rubric: &crate::rubric::Rubric,
    keys: &std::collections::BTreeMap<String, crate::rubric::keys::Key>,
) -> Result<(), crate::rubric::keys::KeyError> {
    for q in &rubric.questions {
        if let (
            crate::rubric::Answer::Gradient(answer),
            Some(crate::rubric::keys::Key::Gradient { draws, .. }),
        ) = (&q.answer, keys.get(&q.id))
        {
            verify(answer, draws).map_err(|message| crate::rubric::keys::KeyError {
                question: q.id.clone(),
                message,
            })?;
        }
    }
    Ok(())
}

/// Lint: every accepted form matches autograd at every draw, and every mistake evaluates and
/// differs from the accepted forms. The error names the part and the formula.
pub fn verify(answer: &GradientAnswer, draws: &GradientDraws) -> Result<(), String> {
    let prep = prepare(answer, draws)?;
    let empty = NameMap::default();
    // A rubric formula's values at every draw; `what` names it in the error.
    let evaluate = |formula: &str, what: &str| {
        let node =
            tensor_expr::parse(formula).map_err(|e| format!("{what} does not parse: {e}"))?;
        evaluate_all(
            &node,
            &prep,
            &empty,
            false,
            false,
            None,
            &mut fresh_memos(&prep),
        )
        .map_err(|e| format!("{what} cannot be evaluated: {e}"))
    };
    for part in &answer.parts {
        if part.accept.is_empty() {
            return Err(format!("part `{}` accepts no formula", part.wrt));
        }
        for form in &part.accept {
            let ev = evaluate(
                &form.formula,
                &format!("part `{}`: `{}`", part.wrt, form.formula),
            )?;
            let (ok, miss) = matches_all(&ev, false, prep.tol, |k| {
                draws
                    .draws
                    .get(prep.scopes[k].draw_index)
                    .and_then(|d| expected(answer, part, d, form.convention))
            });
            if !ok {
                return Err(format!(
                    "part `{}`: the accepted formula `{}` does not match autograd{}",
                    part.wrt,
                    form.formula,
                    miss.map(|(k, d)| format!(" (draw {}, off by {d:.3e})", k + 1))
                        .unwrap_or_else(|| " (shapes differ)".into())
                ));
            }
        }
        for m in &part.mistakes {
            if !matches!(m.status.as_str(), "partial" | "wrong") {
                return Err(format!(
                    "part `{}`: mistake `{}` has status `{}` (partial or wrong)",
                    part.wrt, m.id, m.status
                ));
            }
            let ev = evaluate(
                &m.formula,
                &format!("part `{}`: mistake `{}`", part.wrt, m.id),
            )?;
            // A form accepted only for some wordings may be a mistake for the others.
            for form in part
                .accept
                .iter()
                .filter(|f| f.if_question_has.is_none() && f.convention != GradientConvention::Sum)
            {
                let (same, _) = matches_all(&ev, part.transposed, prep.tol, |k| {
                    draws
                        .draws
                        .get(prep.scopes[k].draw_index)
                        .and_then(|d| expected(answer, part, d, form.convention))
                });
                if same {
                    return Err(format!(
                        "part `{}`: mistake `{}` gives the accepted gradient",
                        part.wrt, m.id
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Forms written for these tests (none copied from a student), each in a class of writing
    //! the module doc names, with the verdict it must get.

    use std::sync::OnceLock;

    use super::*;
    use crate::rubric::keys::Key;
    use crate::rubric::{Answer, Rubric};

    fn fixture() -> &'static (Rubric, Key) {
        static F: OnceLock<(Rubric, Key)> = OnceLock::new();
        F.get_or_init(|| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rubrics");
            let rubric = crate::rubric::load_file(&dir.join("cs236781-hw4-summary-v2.yaml"))
                .expect("the shipped rubric loads");
            let cache = crate::reference::cache::Cache::in_memory();
            let keys = crate::rubric::keys::resolve(&rubric, &cache).expect("keys resolve");
            let key = keys["backprop"].clone();
            (rubric, key)
        })
    }

    /// (wrt, status, diagnosis) per part of `text`, with the indexed question wording.
    fn grade(text: &str) -> Vec<(String, &'static str, String)> {
        let (rubric, key) = fixture();
        let q = rubric
            .questions
            .iter()
            .find(|q| q.id == "backprop")
            .unwrap();
        let (Answer::Gradient(a), Key::Gradient { draws, .. }) = (&q.answer, key) else {
            panic!("backprop is a gradient question")
        };
        let parts = check_parts(a, draws, "y^{(i)} = W_2 x^{(i)}", text).unwrap();
        a.parts
            .iter()
            .zip(parts)
            .map(|(p, v)| {
                (
                    p.wrt.clone(),
                    v.status.as_str(),
                    v.diagnosis.unwrap_or_default() + " " + &v.feedback.join(" / "),
                )
            })
            .collect()
    }

    fn status_of(text: &str, wrt: &str) -> (&'static str, String) {
        grade(text)
            .into_iter()
            .find(|(w, _, _)| w == wrt)
            .map(|(_, s, d)| (s, d))
            .unwrap()
    }

    #[test]
    fn pairs_of_known_mistakes_compose() {
        let (rubric, _) = fixture();
        let q = rubric
            .questions
            .iter()
            .find(|q| q.id == "backprop")
            .unwrap();
        let Answer::Gradient(a) = &q.answer else {
            panic!("backprop is a gradient question")
        };
        let ids = |wrt: &str| -> Vec<String> {
            let p = a.parts.iter().find(|p| p.wrt == wrt).unwrap();
            mistake_pairs(p)
                .iter()
                .map(|(i, j, _)| format!("{}+{}", p.mistakes[*i].id, p.mistakes[*j].id))
                .collect()
        };
        // Slips in different places of the formula compose; one mistake id is never paired
        // with itself.
        let w2 = ids("W2");
        assert!(
            w2.contains(&"missing-regularisation+missing-mean".into()),
            "{w2:?}"
        );
        assert!(
            !w2.iter().any(|p| p == "missing-mean+missing-mean"),
            "{w2:?}"
        );
        let x = ids("x");
        assert!(
            x.contains(&"summed-over-samples+double-mean".into()),
            "{x:?}"
        );
        for p in &a.parts {
            assert!(mistake_pairs(p).len() <= MAX_PAIRS);
        }
    }

    #[test]
    fn two_slips_are_partial_with_both_named_and_three_are_wrong() {
        // No 1/N and λ‖W2‖ for λW2 (written for this test).
        let (s, d) = status_of(
            r"$\frac{\partial L}{\partial W_2} = \sum_{i=1}^{N} \delta^{(i)} h^{(i)T} + \lambda \|W_2\|_F$",
            "W2",
        );
        assert_eq!(s, "partial", "{d}");
        assert!(d.starts_with("regularisation-norm+missing-mean"), "{d}");
        // No 1/N, no λW2 and the sign flipped.
        let (s, d) = status_of(
            r"$\frac{\partial L}{\partial W_2} = -\sum_{i=1}^{N} \delta^{(i)} h^{(i)T}$",
            "W2",
        );
        assert_eq!(s, "wrong", "{d}");
    }

    #[test]
    fn names_declared_in_words_are_definitions() {
        let d = |l: &str| prose_declaration(l).map(|(n, f)| format!("{n} = {f}"));
        assert_eq!(
            d(r#"Notation: k is "y hat"."#).as_deref(),
            Some(r"k = \hat{y}")
        );
        assert_eq!(
            d(r#"where q denotes "hat-y""#).as_deref(),
            Some(r"q = \hat{y}")
        );
        assert_eq!(
            d(r#"h_1 stands for "phi(z)""#).as_deref(),
            Some("h_1 = phi(z)")
        );
        // Unquoted, or more than a name on the left: prose.
        assert_eq!(d("x is the input"), None);
        assert_eq!(d(r#"the loss is "convex""#), None);
        assert_eq!(d(r#"N is "the number of samples""#), None);
    }

    #[test]
    fn terms_of_different_shapes_go_to_review() {
        let (s, d) = status_of(
            r"$\frac{\partial L}{\partial W_2} = \frac{1}{N}\sum_{i=1}^{N} \delta^{(i)} \varphi(W_1 + b_1)^T + \lambda W_2$",
            "W2",
        );
        assert_eq!(s, "needs-review", "{d}");
        assert!(d.contains("different shapes"), "{d}");
    }

    #[test]
    fn sigmoid_output_shortcut_is_named() {
        let (s, d) = status_of(
            r"$\frac{\partial L}{\partial \vec{b}_1} = \frac{1}{m} \sum_{i=1}^m (\hat{y}^{(i)} - y^{(i)}) \cdot W_2^\top \cdot \sigma'(\vec{z}_1^{(i)})$",
            "b1",
        );
        // Another model's gradient: wrong, the diagnosis still named.
        assert_eq!(s, "wrong", "{d}");
        assert!(d.starts_with("output-sigmoid"), "{d}");
        assert!(d.contains("checked with φ = σ"), "{d}");
    }

    #[test]
    fn the_last_link_of_a_chain_is_the_result() {
        // The symbolic first link has the regulariser, the last drops it.
        let (s, d) = status_of(
            r"$$\frac{\partial L}{\partial W_2} = \frac{1}{N}\sum_i \frac{\partial \ell}{\partial \hat y^{(i)}} \frac{\partial \hat y^{(i)}}{\partial W_2} + \lambda W_2 = \frac{1}{N}\sum_i \delta^{(i)} h^{(i)T}$$",
            "W2",
        );
        assert_eq!(s, "partial", "{d}");
        assert!(d.starts_with("missing-regularisation"), "{d}");
    }

    #[test]
    fn a_tensor_named_in_words_is_bound() {
        let text = "The gradient w.r.t. W2 is 1/N * sum_i delta_i * phi(W1 x_i + b1)^T + lambda * W2\nand the derivative with respect to b_2: 1/N sum_i delta_i";
        assert_eq!(status_of(text, "W2").0, "correct");
        assert_eq!(status_of(text, "b2").0, "correct");
    }

    #[test]
    fn definitions_after_the_formula_are_used() {
        let text = "$$\\frac{\\partial L}{\\partial b_1} = \\frac{1}{N}\\sum_i g_i$$ where $g_i = (W_2^T e_i) \\odot \\varphi'(W_1 x_i + b_1)$ and $e_i = \\frac{\\hat y_i - y_i}{\\hat y_i (1 - \\hat y_i)}$";
        let (s, d) = status_of(text, "b1");
        assert_eq!(s, "correct", "{d}");
    }

    #[test]
    fn a_transposed_w1_gradient_is_partial_unless_numerator_layout_is_stated() {
        let f = r"$\frac{\partial L}{\partial W_1} = \frac{1}{N}\sum_i x^{(i)} \left(W_2^T \delta^{(i)} \odot \varphi'(z^{(i)})\right)^T + \lambda W_1^T$";
        let (s, d) = status_of(f, "W1");
        assert_eq!(
            (s, d.split(' ').next().unwrap_or("")),
            ("partial", "transposed"),
            "{d}"
        );
        let stated = format!("I use numerator layout. {f}");
        assert_eq!(status_of(&stated, "W1").0, "correct");
    }

    #[test]
    fn hostile_answers_are_bounded_and_never_panic() {
        let long = format!(
            "$$\\frac{{\\partial L}}{{\\partial W_1}} = {}x$$",
            "(".repeat(5000)
        );
        let many = "$a = b$ ".repeat(5000);
        let chain = format!(
            "$\\frac{{\\partial L}}{{\\partial b_2}} = {}$",
            "\\delta = ".repeat(3000)
        );
        let cycle = "$\\delta = \\delta + 1$ $$\\frac{\\partial L}{\\partial b_2} = \\delta$$";
        let started = std::time::Instant::now();
        for text in [
            long.as_str(),
            many.as_str(),
            chain.as_str(),
            cycle,
            "\u{0}$$$",
            "∂∂∂/∂",
        ] {
            let got = grade(text);
            assert_eq!(got.len(), 5);
        }
        let (s, _) = status_of(cycle, "b2");
        assert_eq!(s, "needs-review");
        // Definitions that double at every step: stopped by the evaluation budget.
        let mut doubling = String::from("$a_0 = \\delta$ ");
        for k in 1..40 {
            doubling.push_str(&format!("$a_{{{k}}} = a_{{{}}} + a_{{{}}}$ ", k - 1, k - 1));
        }
        doubling.push_str("$$\\frac{\\partial L}{\\partial b_2} = a_{39}$$");
        assert_eq!(status_of(&doubling, "b2").0, "needs-review");
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }

    #[test]
    fn random_answers_get_a_verdict_without_panicking() {
        let pieces = [
            "$$",
            "$",
            "\n",
            "\\frac{\\partial L}{\\partial W_1} = ",
            "\\frac{\\partial L}{\\partial b_2} = ",
            "\\delta^{(i)}",
            " = ",
            "\\sum_{i=1}^N ",
            "W_2^T",
            "\\odot",
            "\\varphi'(z)",
            "x^{(i)T}",
            "+ \\lambda W_1",
            "(",
            ")",
            "\\frac{1}{N}",
            "; ",
            ", ",
            " where ",
            "X",
            "\\mathbf{1}",
            "h",
        ];
        let mut rng = crate::answer::gradient_key::SplitMix::new(5);
        for _ in 0..300 {
            let n = (rng.next_u64() % 30) as usize;
            let text: String = (0..n)
                .map(|_| pieces[(rng.next_u64() % pieces.len() as u64) as usize])
                .collect();
            assert_eq!(grade(&text).len(), 5, "{text}");
        }
    }
}
