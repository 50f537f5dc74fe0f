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
//!
//! Beyond brackets and products (issue 9), [`read_shape`] handles: comma lists without
//! brackets after a shape word (`The output shape is 5,6,7,8,42000`, `Y: 5, 6, ...`);
//! thousands separators in products and lists (`5x6x7x8x42,000`, `42{,}000`, `42 000`);
//! `by` products of three or more factors; multi-part answers, where the cue words before
//! each shape (output / Y / result vs weight / matrix / table / lookup vs X / input) choose
//! the output's shape and a symbolic `(num_tokens, embedding_dim)` never overrides a numeric
//! one; and shapes stated in words ("the first 4 dimensions are X's, each entry becomes a
//! 42000 vector"). Every reading carries a doubt when the choice is not clear-cut.

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
    /// A comma list without brackets after a shape word: `the output shape is 5,6,7,8,42000`.
    Bare,
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
    let (best, _) = choose(&norm.text, &norm.marks, &all)?;
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
        .map(|(s, _)| s.clone())
}

/// The shape a student gives, with how sure the reading is (see [`read_shape`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShapeReading {
    /// The dimensions, outermost first. A shape stated in words without X's numbers has
    /// named dimensions `X.shape[0]`, `X.shape[1]`, ...
    pub dims: Vec<Dim>,
    /// The text it was read from.
    pub text: String,
    /// Read from words ("the first 4 dimensions are X's, each entry becomes a 42000
    /// vector") rather than from a written-out shape.
    pub from_words: bool,
    /// Why the reading may not be what the student means; `None` when it is clear.
    pub doubt: Option<String>,
}

/// The shape the student answers with, and how sure the reading is.
///
/// A written-out shape (any notation of [`shapes`] and [`symbolic_shapes`], or a bare comma
/// list after a shape word) is chosen by the cues of [`final_shape`], numeric shapes before
/// symbolic ones; it is doubtful when another output shape (or another shape with no cue)
/// disagrees, or when the only shape given is a weight's. Without one, a shape stated in
/// words is read: the answer says the output keeps X's (the input's) dimensions ("the first
/// 4 dimensions of Y are the same as X", "X's shape with an extra dimension") and names the
/// size of the new one ("a 42000 vector", "embedded to dimension 42,000"), or that each
/// element of X becomes a vector of that size. X's dimensions are taken from the answer when
/// it writes X's shape out, else named `X.shape[i]` when it says how many there are ("first
/// 4", "4-dimensional"), else all of them as [`ALL_OF_X`]; with several candidate sizes for
/// the new dimension the reading is doubtful.
///
/// ```
/// use examiner::answer::{read_shape, Dim};
/// let r = read_shape("2.1 The output shape is (5, 6, 7, 8, 42000)\n\
///                     2.2 The weight is a matrix of size (42, 42000)").unwrap();
/// assert_eq!(r.dims.last(), Some(&Dim::Size(42000)));
/// assert_eq!(r.dims.len(), 5);
/// assert!(r.doubt.is_none());
/// ```
pub fn read_shape(text: &str) -> Option<ShapeReading> {
    let norm = normalize(text);
    let t = norm.text.as_str();
    let all = scan(t);
    let numeric_only: Vec<SymbolicShape> = all
        .iter()
        .filter(|s| numeric(s).is_some())
        .cloned()
        .collect();
    let written = choose(t, &norm.marks, &numeric_only).or_else(|| choose(t, &norm.marks, &all));
    if let Some((s, doubt)) = written {
        return Some(ShapeReading {
            dims: s.dims.clone(),
            text: s.text.clone(),
            from_words: false,
            doubt,
        });
    }
    words_shape(t, &numeric_only)
}

/// The name standing for all of X's dimensions in a shape read from words that does not
/// say how many there are: `(*X.shape, 42000)`.
pub const ALL_OF_X: &str = "*X.shape";

/// Words that say a dimension is the input's, unchanged.
const KEEP_WORDS: &[&str] = &[
    "same",
    "identical",
    "keep",
    "keeps",
    "kept",
    "preserve",
    "preserves",
    "preserved",
    "retain",
    "retains",
    "unchanged",
    "extra",
    "additional",
    "appended",
    "append",
    "appends",
    "plus",
];

const SMALL_NUMBERS: &[(&str, usize)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
];

/// The count of X's dimensions the answer states: `first 4 dimensions`, `4-dimensional`,
/// `all four dims`, `4D tensor`.
fn stated_count(lower: &str) -> Option<usize> {
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric()))
        .filter(|w| !w.is_empty())
        .collect();
    let as_count = |w: &str| {
        w.parse::<usize>()
            .ok()
            .filter(|n| (1..=8).contains(n))
            .or_else(|| SMALL_NUMBERS.iter().find(|(s, _)| *s == w).map(|(_, n)| *n))
    };
    let mut found: Option<usize> = None;
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or_default();
        let n = if let Some(d) = w.strip_suffix('d').filter(|d| !d.is_empty()) {
            // `4D tensor`
            as_count(d).filter(|_| matches!(next, "tensor" | "input" | "array"))
        } else if matches!(
            next,
            "dimensions" | "dims" | "dimensional" | "dim" | "axes" | "dimension"
        ) {
            as_count(w)
        } else {
            None
        };
        if let Some(n) = n {
            if found.is_some_and(|f| f != n) {
                return None;
            }
            found = Some(n);
        }
    }
    found
}

/// Sizes the answer gives for a new dimension: a number right before `vector`, `-dim`,
/// `-dimensional`, `dim`, or right after `vector of size`, `dimension`, `embedding_dim =`,
/// `size`, `length`, `to dimension`.
fn new_dimension_sizes(t: &str) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::new();
    for m in super::number::scan_numbers(t) {
        if m.value.fract() != 0.0 || m.value < 2.0 || m.value > 1e9 || m.percent {
            continue;
        }
        let after = t[m.span.end..]
            .trim_start_matches([' ', '-'])
            .to_ascii_lowercase();
        let before_start = m.span.start.saturating_sub(30);
        let mut bs = before_start;
        while !t.is_char_boundary(bs) {
            bs += 1;
        }
        let before = t[bs..m.span.start].to_ascii_lowercase();
        // The word before, past connectors: "dimension is 42000", "size of 42,000".
        let mut words_before = before
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .rev()
            .skip_while(|w| matches!(*w, "is" | "of" | "equals" | "to" | "be" | "in" | "will"));
        let last_word = words_before.next().unwrap_or_default().to_string();
        let after_word: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let cue_after = matches!(
            after_word.as_str(),
            "vector"
                | "vectors"
                | "dim"
                | "dimensional"
                | "d"
                | "long"
                | "entries"
                | "values"
                | "sized"
        );
        let cue_before = matches!(
            last_word.as_str(),
            "size" | "sized" | "dimension" | "dim" | "length" | "embedding_dim" | "dimensionality"
        ) && !before.trim_end().ends_with("first");
        if (cue_after || cue_before) && !m.list_marker {
            let v = m.value as i64;
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// A shape stated in words; see [`read_shape`].
fn words_shape(t: &str, numeric_shapes: &[SymbolicShape]) -> Option<ShapeReading> {
    let lower = t.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    let names_input = words.iter().any(|w| matches!(*w, "x" | "input" | "inputs"));
    // Either the output is said to keep X's dimensions, or each element of X is said to
    // become a vector ("every value in X is embedded by a vector sized 42000").
    let keeps = words.iter().any(|w| KEEP_WORDS.contains(w))
        || (words.iter().any(|w| matches!(*w, "each" | "every"))
            && words.iter().any(|w| {
                matches!(
                    *w,
                    "vector" | "vectors" | "embedded" | "mapped" | "replaced" | "represented"
                )
            }));
    if !(names_input && keeps) {
        return None;
    }
    let sizes = new_dimension_sizes(t);
    let count = stated_count(&lower);
    // Numbers that are X's dimension count are not the new size.
    let sizes: Vec<i64> = sizes
        .into_iter()
        .filter(|&v| Some(v as usize) != count)
        .collect();
    let &n = sizes.last()?;
    let mut doubt = (sizes.len() > 1).then(|| {
        format!(
            "the answer states the shape in words and gives several sizes for the new \
             dimension: {sizes:?}"
        )
    });
    let input_shape = numeric_shapes
        .iter()
        .rev()
        .find(|s| role(t, s.span.start) == Role::Input)
        .and_then(numeric);
    let mut dims: Vec<Dim> = match (&input_shape, count) {
        (Some(x), _) => x.dims.iter().map(|&d| Dim::Size(d)).collect(),
        (None, Some(c)) => (0..c).map(|i| Dim::Name(format!("X.shape[{i}]"))).collect(),
        // "X's shape with an extra dimension of 42000": all of X's dimensions, however many.
        (None, None) => vec![Dim::Name(ALL_OF_X.into())],
    };
    if let (Some(x), Some(c)) = (&input_shape, count) {
        if x.dims.len() != c {
            doubt.get_or_insert_with(|| {
                format!(
                    "the answer writes X's shape {} but speaks of {c} dimensions",
                    x.text
                )
            });
        }
    }
    dims.push(Dim::Size(n));
    Some(ShapeReading {
        dims,
        text: String::new(),
        from_words: true,
        doubt,
    })
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

/// What the sentence around a shape says it is the shape of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The input (`X`, `input`, `original`): not the answer to "the shape of Y".
    Input,
    /// The output (`Y`, `output`, `result`, `it`, `returns`): the answer.
    Output,
    /// Something else the answer explains: a weight, matrix, lookup table, vocabulary.
    Other,
    /// No cue.
    Unknown,
}

/// The role of the shape starting at `pos`: the nearest cue word before it in its sentence
/// (at most 80 bytes back). Multi-part answers (`2.1 ... output shape (5, 6, 7, 8, 42000)`,
/// `2.2 ... a matrix of size (42, 42000)`) describe several tensors; the cue words tell the
/// output from the weight.
fn role(t: &str, pos: usize) -> Role {
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
    // A function's argument (`Y = embedding(X) has shape ...`) is not the subject: drop
    // short bracketed groups before looking for the nearest cue word.
    let mut window = String::new();
    let mut depth = 0usize;
    for c in t[start..pos].chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => window.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    if depth > 0 {
        window = t[start..pos].to_ascii_lowercase();
    }
    for word in window
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .rev()
    {
        match word {
            "x" | "input" | "inputs" | "origin" | "original" | "source" | "indices" => {
                return Role::Input
            }
            "y" | "output" | "outputs" | "out" | "result" | "resulting" | "it" | "its"
            | "embedding" | "embeddings" | "embedded" | "return" | "returns" | "final" => {
                return Role::Output
            }
            "weight" | "weights" | "matrix" | "table" | "lookup" | "parameter" | "parameters"
            | "params" | "vocabulary" | "vocab" | "dictionary" | "w" | "kernel" | "layer" => {
                return Role::Other
            }
            _ => {}
        }
    }
    Role::Unknown
}

/// The shape chosen as the answer among `all`, with a reason to doubt it when the choice
/// is not clear-cut: bold/boxed first, then the last shape said to be the output's, then the
/// last shape with no cue; the input's and weights' shapes only as a flagged last resort.
fn choose<'a>(
    t: &str,
    marks: &[super::normalize::Mark],
    all: &'a [SymbolicShape],
) -> Option<(&'a SymbolicShape, Option<String>)> {
    let roles: Vec<Role> = all.iter().map(|s| role(t, s.span.start)).collect();
    let usable = |i: usize| {
        all[i].notation != ShapeNotation::Call && !matches!(roles[i], Role::Input | Role::Other)
    };
    // Bold or boxed, unless it is said to be the input's or a weight's.
    if let Some(i) = (0..all.len())
        .rev()
        .find(|&i| marks.iter().any(|m| m.span.contains(&all[i].span)) && usable(i))
    {
        return Some((&all[i], None));
    }
    let output: Vec<usize> = (0..all.len())
        .filter(|&i| usable(i) && roles[i] == Role::Output)
        .collect();
    let unknown: Vec<usize> = (0..all.len())
        .filter(|&i| usable(i) && roles[i] == Role::Unknown)
        .collect();
    // An earlier shape that the chosen one extends (`5x6x7x8 goes to (5x6x7x8)x42000`) is
    // the input's, restated: no doubt.
    let differs = |a: usize, b: usize| {
        let (p, c) = (&all[a].dims, &all[b].dims);
        p != c && !(a < b && p.len() < c.len() && c.starts_with(p))
    };
    if let Some(&o) = output.last() {
        // Another output shape that disagrees: which one is meant?
        let doubt = output.iter().rev().find(|&&p| differs(p, o)).map(|&p| {
            format!(
                "the answer gives two shapes for the output, {} and {}",
                all[p].text, all[o].text
            )
        });
        return Some((&all[o], doubt));
    }
    if let Some(&u) = unknown.last() {
        let doubt = unknown.iter().rev().find(|&&p| differs(p, u)).map(|&p| {
            format!(
                "the answer gives several shapes ({} and {}) without saying which is the output",
                all[p].text, all[u].text
            )
        });
        return Some((&all[u], doubt));
    }
    // Only a weight's (or another tensor's) shape: the best reading, flagged.
    (0..all.len())
        .rev()
        .find(|&i| all[i].notation != ShapeNotation::Call && roles[i] == Role::Other)
        .map(|i| {
            (
                &all[i],
                Some(format!(
                    "the only shape given, {}, is described as a weight or table, not the output",
                    all[i].text
                )),
            )
        })
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
    // A piece such as `000` or `050` cannot be a dimension: with no spaced commas at all
    // (`5,6,7,8,42,000`) it still continues the number before it.
    let any_spaced = spaced.iter().any(|&s| s)
        || pieces
            .iter()
            .skip(1)
            .any(|p| p.len() == 3 && p.starts_with('0') && p.bytes().all(|c| c.is_ascii_digit()));
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
    let mut by_used = false;
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
            let mut digits = t[s..k].to_string();
            // Thousands separators inside a product: `5x6x7x8x42,000` ends in 42000.
            let grouped = (1..=3).contains(&(k - s));
            // `42 000`: a space before a three-digit group that starts with 0 (no dimension
            // is written with a leading zero) separates thousands too.
            while grouped
                && b.get(k) == Some(&b' ')
                && b.get(k + 1) == Some(&b'0')
                && b.get(k + 1..k + 4)
                    .is_some_and(|g| g.iter().all(u8::is_ascii_digit))
                && !b.get(k + 4).is_some_and(u8::is_ascii_digit)
            {
                digits.push_str(&t[k + 1..k + 4]);
                k += 4;
            }
            while grouped
                && b.get(k) == Some(&b',')
                && b.get(k + 1..k + 4)
                    .is_some_and(|g| g.iter().all(u8::is_ascii_digit))
                && !b.get(k + 4).is_some_and(u8::is_ascii_digit)
            {
                digits.push_str(&t[k + 1..k + 4]);
                k += 4;
            }
            let v = positive_int(&digits)?;
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
        // An `x` (or the word `by`) and the next factor?
        let mut j = k;
        while b.get(j) == Some(&b' ') {
            j += 1;
        }
        let sep_len = if matches!(b.get(j), Some(b'x') | Some(b'X')) {
            1
        } else if j > k && b.get(j..j + 3) == Some(b"by ") {
            by_used = true;
            2
        } else {
            break;
        };
        let mut n = j + sep_len;
        while b.get(n) == Some(&b' ') {
            n += 1;
        }
        match b.get(n) {
            Some(c) if c.is_ascii_digit() || *c == b'(' => k = n,
            _ => break,
        }
    }
    // `5 by 6` is too often prose ("grows 3 by 2"); a `by` product needs three factors.
    if dims.len() < 2 || (by_used && dims.len() < 3) {
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

/// Words that announce a shape right before a bare comma list.
const SHAPE_WORDS: &[&str] = &[
    "shape",
    "shaped",
    "size",
    "sized",
    "dimension",
    "dimensions",
    "dims",
    "dim",
    "torch.size",
];

/// Comma lists of two or more integers outside brackets (`5,6,7,8,42000`,
/// `5, 6, 7, 8, 42,000`) whose sentence names a shape within 60 bytes before the list:
/// "The output shape is 5,6,7,8,42000". Without such a word a list of numbers is prose
/// ("layers 1, 2, 3"). Returns byte ranges of the lists.
fn bare_lists(t: &str) -> Vec<(usize, usize)> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0
            || !(b[i - 1].is_ascii_alphanumeric()
                || matches!(b[i - 1], b'_' | b'.' | b',' | b'(' | b'[' | b'-' | b'^'));
        if !(b[i].is_ascii_digit() && boundary) {
            i += 1;
            continue;
        }
        // Digits, then (`,` optional space digits)+.
        let start = i;
        let mut k = i;
        let mut items = 0;
        loop {
            let s = k;
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            if k == s || k - s > 7 {
                break;
            }
            items += 1;
            let mut n = k;
            if b.get(n) != Some(&b',') {
                break;
            }
            n += 1;
            if b.get(n) == Some(&b' ') {
                n += 1;
            }
            if !b.get(n).is_some_and(u8::is_ascii_digit) || items > 40 {
                break;
            }
            k = n;
        }
        let end = k;
        // A letter, `_`, `^` or a decimal point right after the list: not a shape.
        let glued = match b.get(end) {
            Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'^') => true,
            Some(b'.') => b.get(end + 1).is_some_and(u8::is_ascii_digit),
            _ => false,
        };
        if items >= 2 && !glued && t[start..end].contains(',') {
            let from = start.saturating_sub(60);
            let mut from = from;
            while !t.is_char_boundary(from) {
                from += 1;
            }
            let before = &t[from..start];
            let line = before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let cue = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                .any(|w| SHAPE_WORDS.contains(&w.trim_end_matches('.')));
            // ... or the list directly follows `Y:` / `Y =` / `output is`.
            let last_word = line
                .trim_end()
                .trim_end_matches([':', '='])
                .trim_end()
                .trim_end_matches(" is")
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                .next()
                .unwrap_or_default()
                .to_string();
            let names_output = matches!(last_word.as_str(), "y" | "output" | "y.shape" | "out");
            if cue || names_output {
                out.push((start, end));
            }
        }
        i = end.max(i + 1);
    }
    out
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

    // Comma lists without brackets after a shape word.
    for (start, end) in bare_lists(t) {
        if let Some(dims) = parse_list(&t[start..end]) {
            if dims.iter().all(|d| matches!(d, Dim::Size(_))) {
                push(&mut found, dims, Span::new(start, end), ShapeNotation::Bare);
            }
        }
    }

    // Drop shapes that lie inside another one, keep text order.
    found.sort_by_key(|s| (s.span.start, std::cmp::Reverse(s.span.end)));
    // Sorted by start (longest first), a shape lies inside an earlier one exactly when it
    // ends before the furthest end seen so far: one pass, linear in the number of shapes.
    let mut kept: Vec<SymbolicShape> = Vec::new();
    let mut furthest = 0usize;
    for s in found {
        if !kept.is_empty() && s.span.end <= furthest {
            continue;
        }
        furthest = furthest.max(s.span.end);
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
    fn shapes_without_brackets() {
        for text in [
            "The output shape is 5,6,7,8,42000",
            "Y has size 5, 6, 7, 8, 42,000.",
            "Y: 5, 6, 7, 8, 42000",
            "the dimensions of Y are 5,6,7,8,42,000",
            "5x6x7x8x42,000",
            "5 x 6 x 7 x 8 x 42,000",
            "5 by 6 by 7 by 8 by 42000",
            "5 \u{00d7} 6 \u{00d7} 7 \u{00d7} 8 \u{00d7} 42000",
        ] {
            assert_eq!(final_shape(text), Some(FULL.to_vec()), "{text}");
        }
        // A list of numbers with no shape word is prose; `3 by 2` is not a shape.
        assert!(dims("we tried layers 1, 2, 3 and 4").is_empty());
        assert!(dims("grows 3 by 2").is_empty());
        assert_eq!(dims("(5, 6, 7, 8, 42,000)"), vec![FULL.to_vec()]);
        assert_eq!(dims("[5,6,7,8,42,000]"), vec![FULL.to_vec()]);
        assert_eq!(dims("5x6x7x8x42 000"), vec![FULL.to_vec()]);
        assert_eq!(dims("$(5, 6, 7, 8, 42{,}000)$"), vec![FULL.to_vec()]);
        // Only a group with a leading zero continues a number after a space.
        assert_eq!(dims("3x3 128 filters"), vec![vec![3, 3]]);
    }

    #[test]
    fn the_output_part_of_a_multi_part_answer() {
        let text = "2.1 Y holds one embedding per entry of X, the output shape is \
                    (5, 6, 7, 8, 42000)\n2.2 The embedding weight is a matrix of size (42, 42000)";
        let r = read_shape(text).unwrap();
        assert_eq!(r.dims.len(), 5);
        assert!(r.doubt.is_none());
        let text = "Y = (5, 6, 7, 8, 42000).\nThe lookup table is (num_tokens, embedding_dim).";
        assert_eq!(read_shape(text).unwrap().dims.len(), 5);
        // Two shapes without cues that disagree: doubtful.
        let r = read_shape("maybe (5, 6, 7, 8, 42) or (5, 6, 7, 8, 42000)").unwrap();
        assert!(r.doubt.is_some());
        // Only a weight's shape: read, but doubtful.
        let r = read_shape("the embedding matrix has shape (42, 42000)").unwrap();
        assert!(r.doubt.is_some());
    }

    #[test]
    fn shapes_in_words() {
        let r = read_shape(
            "Each entry of X is replaced by a 42000 vector, so the first 4 dimensions of Y \
             are the same as X.",
        )
        .unwrap();
        assert!(r.from_words && r.doubt.is_none(), "{r:?}");
        assert_eq!(r.dims.len(), 5);
        assert_eq!(r.dims[0], Dim::Name("X.shape[0]".into()));
        assert_eq!(r.dims[4], Dim::Size(42000));
        let r = read_shape(
            "X is a 4-dimensional tensor and Y keeps its dimensions, each element embedded \
             to dimension 42,000.",
        )
        .unwrap();
        assert_eq!((r.dims.len(), r.dims[4].clone()), (5, Dim::Size(42000)));
        // X's shape written out: numbers.
        let r = read_shape(
            "X is of shape (5, 6, 7, 8); Y keeps those dims plus an extra one of size 42000",
        )
        .unwrap();
        assert_eq!(
            r.dims,
            FULL.iter().map(|&d| Dim::Size(d)).collect::<Vec<_>>()
        );
        // No count of X's dimensions: all of them.
        let r = read_shape("Y keeps the shape of X and adds a vector of size 42000").unwrap();
        assert_eq!(r.dims, [Dim::Name(ALL_OF_X.into()), Dim::Size(42000)]);
        assert!(r.doubt.is_none());
        let r =
            read_shape("the fifth dim is 42000 and the first four dims are the same as X").unwrap();
        assert_eq!((r.dims.len(), r.doubt.is_none()), (5, true));
        // Two sizes for the new dimension: doubtful.
        let r = read_shape(
            "every index of X gets a vector of size 42,000 from a dictionary of size 42",
        )
        .unwrap();
        assert!(r.doubt.is_some(), "{r:?}");
        // Nothing about X: no reading from words.
        assert!(read_shape("every word becomes a 42000 vector").is_none());
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
