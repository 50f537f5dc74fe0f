//! Turning a student's written answer into values a checker can compare.
//!
//! Extraction hands the checkers a piece of markdown exactly as the student typed it: LaTeX
//! (`$112 \times 112$`, `\boxed{125 \times 125}`, `\frac{1}{1-p}`), HTML (`<b><u>`, coloured
//! `<font>` blocks), markdown emphasis and Unicode operators (`∙ ⋅ − ×`). This module reads
//! values out of that text without guessing silently:
//!
//! - [`normalize`](mod@normalize): one plain-text spelling of the math, so the parsers below see `112x112`,
//!   `p_1*(1-p_1)` and `(1)/(1-p)` whatever the student typed. Bold and `\boxed{}` regions are
//!   remembered because they are how students mark their conclusion.
//! - [`number`]: every numeric mention (`112`, `1,156`, `28%`, `2.5 \times 10^{-3}`,
//!   `112x112`, `RF=112 pixels`) and the value the student *concludes with*, with the other
//!   conclusion-like values so an inconsistent answer can be flagged instead of guessed.
//! - [`shape`]: tensor shapes (`(5, 6, 7, 8, 42000)`, `torch.Size([...])`, `5x6x7x8x42000`,
//!   `(5x6x7x8)x42000`, symbolic `(batch_size, seq_length, 42000)`).
//! - [`expr`]: a small expression parser and evaluator for formulas such as
//!   `q = 1-(1-p_1)(1-p_2)`, and a finder for formulas and arithmetic in free text.
//! - [`meaning`]: free text as words, stems, sentences and clauses, and the rule language's
//!   phrases, proximity and formulas matched against it (the concepts checker judges with it;
//!   the rubric loader checks rules with it, without libtorch).
//!
//! Every public function takes arbitrary text, looks at no more than [`MAX_INPUT_BYTES`] of it,
//! and returns without panicking; recursion is bounded so hostile nesting cannot overflow the
//! stack.

pub mod expr;
pub mod gradient_key;
pub mod meaning;
pub mod normalize;
pub mod number;
pub mod shape;
pub mod stated;
pub mod tensor_eval;
pub mod tensor_expr;

use serde::Serialize;

pub use expr::{
    canonical_var, find_expressions, formula_answer, parse_expr, EvalError, Expr, ExprError,
    ExprRole, FormulaAnswer, FoundExpr,
};
pub use normalize::{normalize, normalize_math, Mark, MarkKind, Normalized, MAX_INPUT_BYTES};
pub use number::{
    final_value, numbers, scan_numbers, Candidate, Conclusion, FinalValue, NumberForm,
    NumberMention,
};
pub use shape::{
    final_shape, final_symbolic_shape, read_shape, shapes, symbolic_shapes, Dim, ShapeMention,
    ShapeNotation, ShapeReading, SymbolicShape, ALL_OF_X,
};

/// A byte range `start..end` in a normalised text (see [`normalize::normalize`]).
///
/// Spans always fall on character boundaries, so `&text[span.start..span.end]` is safe for
/// the text they were computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (bytes).
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The text this span covers in `text`, or `""` when the span does not fit it.
    pub fn slice<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.start..self.end).unwrap_or("")
    }

    /// Whether `other` lies entirely inside this span.
    pub fn contains(&self, other: &Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Whether two values are the same number for the purpose of comparing candidates.
pub(crate) fn same_value(a: f64, b: f64) -> bool {
    let scale = 1.0_f64.max(a.abs()).max(b.abs());
    (a - b).abs() <= 1e-9 * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A xorshift64* generator: deterministic, no extra crates.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    const PIECES: &[&str] = &[
        "0",
        "1",
        "2",
        "5",
        "7",
        "9",
        "112",
        "42000",
        "0.28",
        ".5",
        "1,156",
        "1e-5",
        "p",
        "q",
        "x",
        "X",
        "e",
        "a",
        "RF",
        "P1",
        "p_1",
        "pi",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "\\",
        "$",
        "$$",
        "^",
        "_",
        "*",
        "**",
        "/",
        "+",
        "-",
        "x",
        "×",
        "∙",
        "⋅",
        "·",
        "−",
        "–",
        ".",
        ",",
        " ",
        " ",
        "=",
        "\n",
        "%",
        "²",
        "₁",
        "→",
        "π",
        "≈",
        "é",
        "😀",
        "<b>",
        "</b>",
        "<br>",
        "<font color=red>",
        "&nbsp;",
        "&times;",
        "`",
        "```",
        "#",
        "> ",
        "* ",
        "1. ",
        "\\frac",
        "\\dfrac",
        "\\times",
        "\\cdot",
        "\\boxed",
        "\\text",
        "\\mathrm",
        "\\textbf",
        "\\left",
        "\\right",
        "\\sqrt",
        "\\pi",
        "\\sigma",
        "\\approx",
        "\\,",
        "\\;",
        "\\%",
        "\\(",
        "\\)",
        "\\[",
        "\\]",
        "\\\\",
        "\\color",
        "\\begin",
        "\\end",
        "\\lfloor",
        "~",
        "torch.Size(",
        "answer is ",
        "receptive field ",
        " is ",
        "so ",
        "by ",
        "pixels",
        "sqrt",
        "exp",
        "log",
        "sigmoid",
        "<sup>",
        "</sup>",
        "<sub>",
        "![a](b)",
        "[t](u)",
        "http://x",
        "&#",
        ";",
    ];

    fn random_text(rng: &mut XorShift) -> String {
        let len = rng.below(120);
        (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect()
    }

    /// Calls every public function of the module on `text`.
    pub(crate) fn exercise(text: &str) {
        let norm = normalize(text);
        for mark in &norm.marks {
            assert!(norm.text.get(mark.span.start..mark.span.end).is_some());
        }
        assert_eq!(normalize_math(text), norm.text);
        for m in numbers(text) {
            assert!(norm.text.get(m.span.start..m.span.end).is_some());
        }
        let _ = scan_numbers(text);
        if let Some(v) = final_value(text) {
            assert!(v.value.is_finite());
            assert!(norm.text.get(v.span.start..v.span.end).is_some());
        }
        let _ = shapes(text);
        let _ = symbolic_shapes(text);
        let _ = final_shape(text);
        let _ = final_symbolic_shape(text);
        if let Ok(e) = parse_expr(text) {
            let _ = e.to_string();
            let vars = e.variables();
            let _ = e.eval(&|name: &str| vars.contains(name).then_some(0.3));
        }
        let _ = find_expressions(text, None);
        let _ = find_expressions(text, Some("q"));
        let _ = formula_answer(text, "p_1");
        let _ = canonical_var(text);
    }

    fn adversarial() -> Vec<String> {
        vec![
            "(".repeat(20_000) + "1" + &")".repeat(20_000),
            "[".repeat(20_000),
            "{".repeat(40_000) + "x",
            "}".repeat(40_000),
            "\\frac{".repeat(10_000) + "1" + &"}{2}".repeat(10_000),
            "\\sqrt{".repeat(10_000),
            "\\boxed{".repeat(10_000) + "1",
            "**".repeat(20_000),
            "-".repeat(50_000) + "1",
            "1+".repeat(30_000) + "1",
            "2^".repeat(20_000) + "2",
            "sin ".repeat(10_000) + "x",
            "_{".repeat(20_000),
            "^(".repeat(20_000),
            "(".repeat(10_000) + "5x6" + &")".repeat(10_000) + "x7",
            "5x".repeat(20_000) + "5",
            "1,".repeat(30_000),
            "q = ".repeat(10_000) + "1",
            "é".repeat(40_000) + "112",
            "<b>".repeat(10_000) + "112",
            "<".repeat(30_000),
            "&".repeat(30_000),
            "$".repeat(30_000),
            "\\".repeat(30_000),
            "1. ".repeat(20_000),
            "answer is ".repeat(5_000) + "5",
            "(a, ".repeat(10_000),
            "torch.Size([".repeat(5_000),
            "😀".repeat(30_000),
            "1".repeat(100_000),
        ]
    }

    #[test]
    fn no_public_function_panics() {
        let worker = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| {
                let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
                for _ in 0..4000 {
                    exercise(&random_text(&mut rng));
                }
                for text in adversarial() {
                    exercise(&text);
                }
            })
            .expect("spawn test thread");
        worker.join().expect("a public function panicked");
    }

    #[test]
    fn truncate_keeps_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
