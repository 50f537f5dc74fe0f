//! Tensor shapes in a student's answer.
//!
//! Shape questions ("what is the shape of `Y = embedding(X)`?") are answered as
//! `(5, 6, 7, 8, 42000)`, `torch.Size([5, 6, 7, 8, 42000])`, `[5,6,7,8,42000]`,
//! `5x6x7x8x42000`, `5 \times 6 \times ... \times 42000`, `(5x6x7x8)x42000`, or with names
//! such as `(batch_size, seq_length, 42000)`. [`shapes`] finds the numeric ones,
//! [`symbolic_shapes`] the ones with named dimensions (so a grader can at least see a 3-D
//! answer), and [`final_shape`] picks the one the student gives as the answer: answers often
//! mention the input's shape too ("X, which is of shape (5, 6, 7, 8)").
//!
//! What counts as a shape: two or more comma-separated dimensions in `()` or `[]`, each a
//! positive integer or an identifier, at most 12 of them; or two or more positive integers
//! joined by `x` (a parenthesised factor is flattened). One-element groups like `(1)` are
//! not shapes. A function call `f(x, y)` is not a shape unless all its arguments are
//! integers (`zeros(5, 6)`); `torch.Size([..])` and `Size([..])` are. Spans index into the
//! normalised text (`normalize_math(text)`).

use serde::Serialize;

use super::normalize::normalize;
use super::Span;

/// At most this many dimensions: a longer bracketed list is data, not a shape.
const MAX_DIMS: usize = 12;

/// How a shape was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeNotation {
    /// `(5, 6, 7, 8, 42000)`.
    Tuple,
    /// `[5, 6, 7, 8, 42000]`.
    List,
    /// `torch.Size([5, 6, 7, 8, 42000])`.
    TorchSize,
    /// A call with integer arguments, such as `zeros(5, 6)`.
    Call,
    /// `5x6x7x8x42000` (also from `\times` and `×`).
    Times,
    /// A product with a parenthesised factor, `(5x6x7x8)x42000`, flattened.
    NestedTimes,
}

/// One dimension of a [`SymbolicShape`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Dim {
    /// A number: `42000`.
    Size(i64),
    /// A name: `batch_size`, `N`.
    Name(String),
}

/// A shape whose dimensions are all numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShapeMention {
    /// The dimensions, outermost first.
    pub dims: Vec<i64>,
    /// Where it is in the normalised text.
    pub span: Span,
    /// The text of the span.
    pub text: String,
    /// How it was written.
    pub notation: ShapeNotation,
}

/// A shape with at least one named dimension (from [`symbolic_shapes`]), or any shape
/// (from [`final_symbolic_shape`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolicShape {
    /// The dimensions, outermost first.
    pub dims: Vec<Dim>,
    /// Where it is in the normalised text.
    pub span: Span,
    /// The text of the span.
    pub text: String,
    /// How it was written.
    pub notation: ShapeNotation,
}

/// Every all-numeric shape in `text`, in order.
///
/// ```
/// use examiner::answer::shapes;
/// let found = shapes("X is (5, 6, 7, 8), so Y.shape = torch.Size([5, 6, 7, 8, 42000])");
/// assert_eq!(found[1].dims, vec![5, 6, 7, 8, 42000]);
/// ```
pub fn shapes(text: &str) -> Vec<ShapeMention> {
    let norm = normalize(text);
    scan(&norm.text)
        .into_iter()
        .filter_map(|s| numeric(&s))
        .collect()
}

/// Every shape in `text` that has at least one named dimension, e.g.
/// `(batch_size, seq_length, 42000)`.
pub fn symbolic_shapes(text: &str) -> Vec<SymbolicShape> {
    let norm = normalize(text);
    scan(&norm.text)
        .into_iter()
        .filter(|s| s.dims.iter().any(|d| matches!(d, Dim::Name(_))))
        .collect()
}

/// The numeric shape the student answers with.
///
/// Preference: the last shape inside bold or `\boxed{}` text; else the last shape not
/// described as the input's (the nearest subject word before it in its sentence is `X`,
/// `input` or `original` rather than `Y`, `output`, `it`, `result`, ...); else the last
/// shape. Calls such as `nn.Linear(420, 42)` are never the answer.
///
/// ```
/// use examiner::answer::final_shape;
/// let text = "Its shape is (5, 6, 7, 8, 42000) since each integer in X, \
///             which is of shape (5, 6, 7, 8), becomes a vector.";
/// assert_eq!(final_shape(text), Some(vec![5, 6, 7, 8, 42000]));
/// ```
pub fn final_shape(text: &str) -> Option<Vec<i64>> {
    let norm = normalize(text);
    let all: Vec<SymbolicShape> = scan(&norm.text)
        .into_iter()
        .filter(|s| numeric(s).is_some())
        .collect();
    let best = choose(&norm.text, &norm.marks, &all)?;
    numeric(best).map(|m| m.dims)
}

/// Like [`final_shape`] but over every shape, named dimensions included: the answer
/// `(batch_size, seq_length, embedding_size)` is returned as a 3-D shape.
///
/// A numeric shape, when the text has one, is preferred over symbolic ones (which are then
/// usually explanations, like a weight of shape `(num_embeddings, embedding_dim)`).
pub fn final_symbolic_shape(text: &str) -> Option<SymbolicShape> {
    let norm = normalize(text);
    let all = scan(&norm.text);
    let numeric_only: Vec<SymbolicShape> = all
        .iter()
        .filter(|s| numeric(s).is_some())
        .cloned()
        .collect();
    choose(&norm.text, &norm.marks, &numeric_only)
        .or_else(|| choose(&norm.text, &norm.marks, &all))
        .cloned()
}

fn numeric(s: &SymbolicShape) -> Option<ShapeMention> {
    let dims = s
        .dims
        .iter()
        .map(|d| match d {
            Dim::Size(n) => Some(*n),
            Dim::Name(_) => None,
        })
        .collect::<Option<Vec<i64>>>()?;
    Some(ShapeMention {
        dims,
        span: s.span,
        text: s.text.clone(),
        notation: s.notation,
    })
}

fn choose<'a>(
    t: &str,
    marks: &[super::normalize::Mark],
    all: &'a [SymbolicShape],
) -> Option<&'a SymbolicShape> {
    if let Some(s) = all
        .iter()
        .rev()
        .find(|s| marks.iter().any(|m| m.span.contains(&s.span)))
    {
        return Some(s);
    }
    let candidates: Vec<&SymbolicShape> = all
        .iter()
        .filter(|s| s.notation != ShapeNotation::Call)
        .collect();
    // A shape that only describes the input (`X's shape is (5, 6, 7, 8)`) is not the answer.
    candidates
        .iter()
        .rev()
        .find(|s| !describes_input(t, s.span.start))
        .copied()
}

/// Whether the nearest subject word before `pos` in its sentence names the input.
fn describes_input(t: &str, pos: usize) -> bool {
    let b = t.as_bytes();
    let mut start = pos;
    let limit = pos.saturating_sub(80);
    while start > limit {
        let c = b[start - 1];
        if c == b'\n' || (c == b'.' && b.get(start) == Some(&b' ')) {
            break;
        }
        start -= 1;
    }
    while start < pos && !t.is_char_boundary(start) {
        start += 1;
    }
    let window = t[start..pos].to_ascii_lowercase();
    for word in window
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .rev()
    {
        match word {
            "x" | "input" | "inputs" | "origin" | "original" | "source" | "indices" => return true,
            "y" | "output" | "outputs" | "out" | "result" | "resulting" | "it" | "its"
            | "embedding" | "embeddings" | "embedded" | "return" | "returns" | "final" => {
                return false
            }
            _ => {}
        }
    }
    false
}

/// For each `(` / `[`, the index of its matching closer (usize::MAX if none).
fn match_brackets(b: &[u8]) -> Vec<usize> {
    let mut close = vec![usize::MAX; b.len()];
    let mut stack: Vec<usize> = Vec::new();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'(' | b'[' => stack.push(i),
            b')' | b']' => {
                let want = if c == b')' { b'(' } else { b'[' };
                if let Some(&top) = stack.last() {
                    if b[top] == want {
                        stack.pop();
                        close[top] = i;
                    }
                }
            }
            b'\n' => stack.clear(),
            _ => {}
        }
    }
    close
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn positive_int(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v: i64 = s.parse().ok()?;
    (v > 0).then_some(v)
}

/// The dimensions of a comma-separated list (the content of a bracket group).
fn parse_list(content: &str) -> Option<Vec<Dim>> {
    if content.len() > 400 {
        return None;
    }
    // Pieces between commas, and whether each comma is followed by a space.
    let mut pieces: Vec<&str> = Vec::new();
    let mut spaced: Vec<bool> = Vec::new();
    let mut from = 0;
    let b = content.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b',' {
            pieces.push(&content[from..i]);
            spaced.push(b.get(i + 1) == Some(&b' '));
            from = i + 1;
        }
    }
    pieces.push(&content[from..]);
    if pieces.last().is_some_and(|p| p.trim().is_empty()) && pieces.len() > 1 {
        pieces.pop();
        spaced.pop();
    }
    // `(5, 6, 7, 8, 42,000)`: with spaced commas elsewhere, `42,000` is one number.
    let mut merged: Vec<String> = Vec::new();
    let any_spaced = spaced.iter().any(|&s| s);
    let mut k = 0;
    while k < pieces.len() {
        let mut piece = pieces[k].trim().to_string();
        while any_spaced
            && k < spaced.len()
            && !spaced[k]
            && (1..=3).contains(&piece.len())
            && piece.bytes().all(|c| c.is_ascii_digit())
            && pieces[k + 1].len() == 3
            && pieces[k + 1].bytes().all(|c| c.is_ascii_digit())
        {
            piece.push_str(pieces[k + 1]);
            k += 1;
        }
        merged.push(piece);
        k += 1;
    }
    if merged.len() < 2 || merged.len() > MAX_DIMS {
        return None;
    }
    merged
        .into_iter()
        .map(|p| {
            if let Some(v) = positive_int(&p) {
                Some(Dim::Size(v))
            } else if is_ident(&p) {
                Some(Dim::Name(p))
            } else {
                None
            }
        })
        .collect()
}

/// How deep parenthesised factors of a product may nest: `((5x6)x7)x8`.
const MAX_FACTOR_DEPTH: usize = 4;

/// A product `a x b x ...` starting at `i` (a digit or `(`): its dims, end, and whether a
/// parenthesised factor was flattened.
fn chain_at(t: &str, close: &[usize], i: usize, depth: usize) -> Option<(Vec<i64>, usize, bool)> {
    let b = t.as_bytes();
    let mut dims: Vec<i64> = Vec::new();
    let mut nested = false;
    let mut k = i;
    loop {
        // A factor.
        if b.get(k) == Some(&b'(') {
            let c = *close.get(k)?;
            if c == usize::MAX || c - k > 400 || depth >= MAX_FACTOR_DEPTH {
                return None;
            }
            let inner = &t[k + 1..c];
            let inner_dims = match parse_list(inner) {
                Some(list) => list
                    .into_iter()
                    .map(|d| match d {
                        Dim::Size(v) => Some(v),
                        Dim::Name(_) => None,
                    })
                    .collect::<Option<Vec<i64>>>()?,
                None => {
                    let inner = inner.trim();
                    let inner_close = match_brackets(inner.as_bytes());
                    chain_at(inner, &inner_close, 0, depth + 1)
                        .filter(|(_, end, _)| *end == inner.len())?
                        .0
                }
            };
            dims.extend(inner_dims);
            nested = true;
            k = c + 1;
        } else {
            let s = k;
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            let v = positive_int(&t[s..k])?;
            if matches!(b.get(k), Some(b'^') | Some(b'_'))
                || (b.get(k) == Some(&b'.') && b.get(k + 1).is_some_and(u8::is_ascii_digit))
            {
                return None;
            }
            dims.push(v);
        }
        if dims.len() > MAX_DIMS * 2 {
            return None;
        }
        // An `x` and the next factor?
        let mut j = k;
        while b.get(j) == Some(&b' ') {
            j += 1;
        }
        if !matches!(b.get(j), Some(b'x') | Some(b'X')) {
            break;
        }
        let mut n = j + 1;
        while b.get(n) == Some(&b' ') {
            n += 1;
        }
        match b.get(n) {
            Some(c) if c.is_ascii_digit() || *c == b'(' => k = n,
            _ => break,
        }
    }
    if dims.len() < 2 {
        return None;
    }
    // A trailing letter glued to the last factor (`3x3px`? `2x2d`) is not a shape.
    if b.get(k).is_some_and(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some((dims, k, nested))
}

/// Whether the group opening at `i` is followed by `x` and another factor: `(5x6)x42000`.
fn group_times_follows(b: &[u8], close: &[usize], i: usize) -> bool {
    let c = close[i];
    if c == usize::MAX {
        return false;
    }
    let mut j = c + 1;
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    if !matches!(b.get(j), Some(b'x') | Some(b'X')) {
        return false;
    }
    j += 1;
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    b.get(j).is_some_and(|c| c.is_ascii_digit() || *c == b'(')
}

/// Every shape, numeric or symbolic, in normalised text.
fn scan(t: &str) -> Vec<SymbolicShape> {
    let b = t.as_bytes();
    let close = match_brackets(b);
    let mut found: Vec<SymbolicShape> = Vec::new();
    let push = |found: &mut Vec<SymbolicShape>, dims: Vec<Dim>, span: Span, notation| {
        found.push(SymbolicShape {
            dims,
            span,
            text: span.slice(t).to_string(),
            notation,
        });
    };

    // Bracketed lists.
    let mut consumed = vec![false; b.len()];
    for o in 0..b.len() {
        let c = close[o];
        if c == usize::MAX || consumed[o] {
            continue;
        }
        let callee_end = o;
        let mut callee_start = o;
        while callee_start > 0
            && (b[callee_start - 1].is_ascii_alphanumeric()
                || b[callee_start - 1] == b'_'
                || b[callee_start - 1] == b'.')
        {
            callee_start -= 1;
        }
        let callee = &t[callee_start..callee_end];
        let content = &t[o + 1..c];
        if b[o] == b'(' && (callee == "Size" || callee.ends_with(".Size")) {
            let inner = content.trim();
            let inner_start = o + 1 + (content.len() - content.trim_start().len());
            if (inner.starts_with('[') || inner.starts_with('('))
                && close[inner_start] == inner_start + inner.len() - 1
            {
                consumed[inner_start] = true;
                if let Some(dims) = parse_list(&inner[1..inner.len() - 1]) {
                    push(
                        &mut found,
                        dims,
                        Span::new(callee_start, c + 1),
                        ShapeNotation::TorchSize,
                    );
                }
            }
            continue;
        }
        let Some(dims) = parse_list(content) else {
            continue;
        };
        let is_call = b[o] == b'(' && callee_start < callee_end;
        let notation = if is_call {
            if dims.iter().any(|d| matches!(d, Dim::Name(_))) {
                continue;
            }
            ShapeNotation::Call
        } else if b[o] == b'(' {
            ShapeNotation::Tuple
        } else {
            ShapeNotation::List
        };
        push(&mut found, dims, Span::new(o, c + 1), notation);
    }

    // Products.
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let boundary =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.');
        let starts = c.is_ascii_digit() || (c == b'(' && group_times_follows(b, &close, i));
        if starts && boundary {
            if let Some((dims, end, nested)) = chain_at(t, &close, i, 0) {
                let notation = if nested {
                    ShapeNotation::NestedTimes
                } else {
                    ShapeNotation::Times
                };
                let one_group = nested && b[i] == b'(' && close[i] + 1 == end;
                if !one_group {
                    push(
                        &mut found,
                        dims.into_iter().map(Dim::Size).collect(),
                        Span::new(i, end),
                        notation,
                    );
                    i = end;
                    continue;
                }
            }
            if c.is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                continue;
            }
        }
        i += 1;
    }

    // Drop shapes that lie inside another one, keep text order.
    found.sort_by_key(|s| (s.span.start, std::cmp::Reverse(s.span.end)));
    let mut kept: Vec<SymbolicShape> = Vec::new();
    for s in found {
        if kept
            .iter()
            .any(|k| k.span.contains(&s.span) && k.span != s.span)
        {
            continue;
        }
        if kept.iter().any(|k| k.span == s.span) {
            continue;
        }
        kept.push(s);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(text: &str) -> Vec<Vec<i64>> {
        shapes(text).into_iter().map(|s| s.dims).collect()
    }

    const FULL: [i64; 5] = [5, 6, 7, 8, 42000];

    #[test]
    fn every_notation() {
        for (text, notation) in [
            ("(5, 6, 7, 8, 42000)", ShapeNotation::Tuple),
            ("(5,6,7,8,42000)", ShapeNotation::Tuple),
            ("torch.Size([5, 6, 7, 8, 42000])", ShapeNotation::TorchSize),
            (
                "Y.shape=torch.Size([5, 6, 7, 8, 42000])",
                ShapeNotation::TorchSize,
            ),
            ("[5,6,7,8,42000]", ShapeNotation::List),
            ("5x6x7x8x42000", ShapeNotation::Times),
            ("5 x 6 x 7 x 8 x 42000", ShapeNotation::Times),
            (
                r"$5 \times 6 \times 7 \times 8 \times 42000$",
                ShapeNotation::Times,
            ),
            ("5×6×7×8×42000", ShapeNotation::Times),
            ("(5x6x7x8)x42000", ShapeNotation::NestedTimes),
            (
                r"$(5 \times 6 \times 7 \times 8) \times 42000$",
                ShapeNotation::NestedTimes,
            ),
            ("(5, 6, 7, 8, 42,000)", ShapeNotation::Tuple),
        ] {
            let found = shapes(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert_eq!(found[0].dims, FULL.to_vec(), "{text}");
            assert_eq!(found[0].notation, notation, "{text}");
        }
    }

    #[test]
    fn torch_size_span_covers_the_call() {
        let found = shapes("Y.shape=torch.Size([5, 6, 7, 8, 42000])");
        assert_eq!(found[0].text, "torch.Size([5, 6, 7, 8, 42000])");
    }

    #[test]
    fn symbolic_dims() {
        let found = symbolic_shapes("(batch_size, seq_length, 42000)");
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].dims,
            vec![
                Dim::Name("batch_size".into()),
                Dim::Name("seq_length".into()),
                Dim::Size(42000)
            ]
        );
        assert!(shapes("(batch_size, seq_length, 42000)").is_empty());
        assert_eq!(
            final_symbolic_shape("Y is (batch_size, seq_length, embedding_size)")
                .unwrap()
                .dims
                .len(),
            3
        );
        assert_eq!(
            final_shape("Y is (batch_size, seq_length, embedding_size)"),
            None
        );
    }

    #[test]
    fn not_shapes() {
        assert!(dims("(1)").is_empty());
        assert!(dims("f(x, y)").is_empty());
        assert!(symbolic_shapes("f(x, y)").is_empty());
        assert!(dims("(A or B)").is_empty());
        assert!(dims("(0.1, 0.2)").is_empty());
        assert!(dims("[2,2,2,-2,-2,-2]").is_empty());
        assert!(dims("range [0,42]").is_empty());
        assert!(dims(r"$2.5 \times 10^{-3}$").is_empty());
        assert!(dims("1.125x10^{-7}").is_empty());
        assert!(dims("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]").is_empty());
        assert!(dims("p(A or B) = p(A) + p(B)").is_empty());
    }

    #[test]
    fn calls_with_integer_arguments() {
        let found = shapes("torch.zeros(5, 6)");
        assert_eq!(found[0].notation, ShapeNotation::Call);
        assert_eq!(
            final_shape("torch.zeros(5, 6) and the output is (2, 3)"),
            Some(vec![2, 3])
        );
    }

    #[test]
    fn final_shape_prefers_the_output() {
        let text = "Its shape is (5, 6, 7, 8, 42000) since each integer in the origin tensor X, \
                    which is of shape (5, 6, 7, 8) will now be a 42000 dimension vector.";
        assert_eq!(final_shape(text), Some(FULL.to_vec()));
        let text = "X - a tensor of shape (5, 6, 7, 8) with values from 0 to 41. Hence, Y will \
                    have an additional dimension, leading to the output shape (5, 6, 7, 8, 42000).";
        assert_eq!(final_shape(text), Some(FULL.to_vec()));
        let text = "so 5x6x7x8 goes to (5x6x7x8)x42000.";
        assert_eq!(final_shape(text), Some(FULL.to_vec()));
        assert_eq!(dims(text), vec![vec![5, 6, 7, 8], FULL.to_vec()]);
        // Only the input's shape stated: the answer gives no shape for Y.
        assert_eq!(final_shape("X's shape is (5, 6, 7, 8)"), None);
        assert_eq!(
            final_shape("the answer is **(5, 6, 7, 8, 42000)**; X is (5, 6, 7, 8)"),
            Some(FULL.to_vec())
        );
        assert_eq!(final_shape("no shape here"), None);
    }
}
