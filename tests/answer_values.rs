//! Pins what `examiner::answer` reads out of answers written the way real students write
//! them (forms taken from the seeds and the corpus), through the public API only.

use examiner::answer::{
    canonical_var, final_shape, final_symbolic_shape, final_value, find_expressions,
    formula_answer, normalize, normalize_math, numbers, parse_expr, scan_numbers, shapes,
    symbolic_shapes, Conclusion, Dim, ExprError, ExprRole, NumberForm, ShapeNotation,
};
use serde::Serialize;

fn value(text: &str) -> f64 {
    final_value(text)
        .unwrap_or_else(|| panic!("no value in {text:?}"))
        .value
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// ---------------------------------------------------------------------------------------
// normalisation

#[test]
fn normalisation_examples() {
    assert_eq!(normalize_math(r"$112 \times 112$"), "112x112");
    assert_eq!(normalize_math(r"\boxed{125 \times 125}"), "125x125");
    assert_eq!(normalize_math(r"$\frac{1}{1-p}$"), "(1)/(1-p)");
    assert_eq!(normalize_math("p_1+p_2∙(1-p_1)"), "p_1+p_2*(1-p_1)");
    assert_eq!(normalize_math("(2−1)⋅1"), "(2-1)*1");
    assert_eq!(normalize_math(r"$p_{1} \cdot p_{2}$"), "p_1 * p_2");
    assert_eq!(normalize_math(r"\( 2^{10} \)"), "2^(10)");
    assert_eq!(normalize_math(r"$28\%$"), "28%");
    assert_eq!(normalize_math(r"$\left(1 - p\right)$"), "(1 - p)");
    assert_eq!(
        normalize_math("<font color='darkgreen'>\n**Answer:** <b><u>112</u></b></font>"),
        "Answer: 112"
    );
    let n = normalize("The RF is **112**.");
    assert_eq!(n.marks[0].span.slice(&n.text), "112");
}

// ---------------------------------------------------------------------------------------
// numbers

#[test]
fn number_forms() {
    let m = &numbers("RF=112 pixels")[0];
    assert_eq!(
        (m.value, &m.form, m.unit.as_deref()),
        (112.0, &NumberForm::Integer, Some("pixels"))
    );
    for text in [
        "112x112",
        "112 x 112",
        "112×112",
        "112 by 112",
        "112^2",
        r"$112 \times 112$",
    ] {
        let found = numbers(text);
        assert_eq!(found.len(), 1, "{text}");
        assert_eq!(
            (found[0].value, &found[0].form),
            (112.0, &NumberForm::Square),
            "{text}"
        );
    }
    assert_eq!(
        numbers("36x34")[0].form,
        NumberForm::Pair {
            first: 36.0,
            second: 34.0
        }
    );
    assert_eq!(numbers("0.28")[0].form, NumberForm::Decimal);
    assert_eq!(numbers(".5")[0].value, 0.5);
    let pct = &numbers("28%")[0];
    assert!(pct.percent && close(pct.value, 0.28));
    let th = &numbers("1,156")[0];
    assert_eq!((th.value, &th.form), (1156.0, &NumberForm::Thousands));
    let tuple: Vec<f64> = numbers("(1, 2)").iter().map(|m| m.value).collect();
    assert_eq!(tuple, vec![1.0, 2.0]);
    let sci = &numbers("1e-5")[0];
    assert!(sci.form == NumberForm::Scientific && close(sci.value, 1e-5));
    let sci = &numbers(r"$2.5 \times 10^{-3}$")[0];
    assert!(sci.form == NumberForm::Scientific && close(sci.value, 2.5e-3));
    let chain: Vec<f64> = numbers("13 -> 26 -> 55 -> 110 -> 112")
        .iter()
        .map(|m| m.value)
        .collect();
    assert_eq!(chain, vec![13.0, 26.0, 55.0, 110.0, 112.0]);
    assert_eq!(numbers("r_0=112")[0].value, 112.0);
    assert!(numbers("p1 + p_2 + conv2d").is_empty());
}

#[test]
fn spans_index_the_normalised_text() {
    let text = r"so $RF_0=112 \times 112$ pixels";
    let norm = normalize_math(text);
    for m in numbers(text) {
        assert_eq!(m.span.slice(&norm), m.text);
    }
    assert_eq!(scan_numbers(&norm), numbers(text));
}

#[test]
fn final_value_examples() {
    assert_eq!(value("RF=112 pixels"), 112.0);
    assert_eq!(value(r"$112 \times 112$"), 112.0);
    let v = final_value(r"The receptive field is $\boxed{125 \times 125}$").unwrap();
    assert_eq!((v.value, v.chosen_by), (125.0, Conclusion::Boxed));
    assert_eq!(v.mention.form, NumberForm::Square);
    let v = final_value("The size of the receptive field of the last layer is **112**.").unwrap();
    assert_eq!((v.value, v.chosen_by), (112.0, Conclusion::Bold));
    assert_eq!(value("$\\Rightarrow r_0=112$"), 112.0);
    assert_eq!(value("13 -> 26 -> 55 -> 110 -> 112"), 112.0);
    assert_eq!(value("0.28"), 0.28);
    assert!(close(value("28%"), 0.28));
    assert_eq!(value("1,156"), 1156.0);
    assert_eq!(value("**Answer**: 13"), 13.0);
    assert_eq!(value("q=p_1+p_2∙(1-p_1 )=0.1+0.2∙0.1= 0.12"), 0.12);
    assert!(final_value("The receptive field is the region of the input.").is_none());
}

#[test]
fn final_value_skips_intermediate_values() {
    let seed = "We will calculate this by working backwards from the final layer.\n\
        conv 16->32:\n\
        this is a layer with a kernel size of 7,a dilation of 2, and a stride of 1 as such the effective kernel size is 2*7-1 = 13.\n\
        Hence the receptive field w.r.t previous layer is 1*1 + (13-1) = 13\n\
        maxPool2d:\n\
        as such the receptive field is 2*13 + (2-2) = 26\n\
        conv 4->16:\n\
        2*26 + (5-2) = 55\n\
        maxPool2d: the receptive field is again multiplied by 2 and grows to 110.\n\
        conv 3->4: this has a kernel size of 3 and stride of 1 and as such the receptive field is:\n\
        1*110 + (3-1) = 112.\n\
        so the final size is 112x112.";
    let v = final_value(seed).unwrap();
    assert_eq!(v.value, 112.0);
    assert!(v.other_candidates.is_empty(), "{:?}", v.other_candidates);

    let wrong = "Layer 5 Conv2d: each neuron sees a block of 7x7 from layer 4. Considering the \
        dilation: (7\\*2+1+3)x(7\\*2+1+3) = 17x17 = 289 pixels.\n\n\
        So the receptive field of each pixel in the output tensor is 289 input pixels.";
    assert_eq!(value(wrong), 289.0);
}

#[test]
fn final_value_flags_disagreement() {
    let v = final_value("RF = 1 + 2 + 4 + 8 + 96 + 1 = 112\nTherefore the receptive field is 125.")
        .unwrap();
    assert_eq!(v.value, 125.0);
    let others: Vec<f64> = v.other_candidates.iter().map(|c| c.value).collect();
    assert_eq!(others, vec![112.0]);
    assert_eq!(v.other_candidates[0].kind, Conclusion::DerivationResult);
}

// ---------------------------------------------------------------------------------------
// shapes

#[test]
fn shape_examples() {
    let full = vec![5, 6, 7, 8, 42000];
    for text in [
        "(5, 6, 7, 8, 42000)",
        "(5,6,7,8,42000)",
        "torch.Size([5, 6, 7, 8, 42000])",
        "[5,6,7,8,42000]",
        "[5, 6, 7, 8, 42000]",
        "5x6x7x8x42000",
        r"$5 \times 6 \times 7 \times 8 \times 42000$",
        "(5x6x7x8)x42000",
    ] {
        assert_eq!(final_shape(text), Some(full.clone()), "{text}");
    }
    assert_eq!(
        shapes("Y.shape=torch.Size([5, 6, 7, 8, 42000])")[0].notation,
        ShapeNotation::TorchSize
    );
    assert_eq!(
        shapes("(5x6x7x8)x42000")[0].notation,
        ShapeNotation::NestedTimes
    );
    assert!(shapes("(1)").is_empty());
    assert!(shapes("f(x, y)").is_empty() && symbolic_shapes("f(x, y)").is_empty());

    let sym = symbolic_shapes("The output is (batch_size, seq_length, 42000)");
    assert_eq!(
        sym[0].dims,
        vec![
            Dim::Name("batch_size".into()),
            Dim::Name("seq_length".into()),
            Dim::Size(42000)
        ]
    );
    let any = final_symbolic_shape("(batch_size, seq_length, embedding_size) - wrong").unwrap();
    assert_eq!(any.dims.len(), 3);

    let text = "It's shape is (5, 6, 7, 8, 42000) since each integer in the origin tensor X, \
                which is of shape (5, 6, 7, 8) will now be a 42000 dimension vector.";
    assert_eq!(final_shape(text), Some(full));
}

// ---------------------------------------------------------------------------------------
// expressions

fn p1p2(name: &str) -> Option<f64> {
    match name {
        "p1" => Some(0.1),
        "p2" => Some(0.2),
        "p" => Some(0.5),
        _ => None,
    }
}

#[test]
fn expression_examples() {
    for text in [
        "1 - (1 - p1) * (1 - p2)",
        "1-(1-p_1)(1-p_2)",
        "p1+p2-p1*p2",
        "p_1+p_2∙(1-p_1)",
        "1 - ((1-P1)*(1-P2))",
        r"$p_{1} + p_{2} - p_{1} p_{2}$",
    ] {
        let e = parse_expr(text).unwrap_or_else(|err| panic!("{text}: {err}"));
        assert!(close(e.eval(&p1p2).unwrap(), 0.28), "{text}");
        assert_eq!(
            e.variables().into_iter().collect::<Vec<_>>(),
            vec!["p1", "p2"]
        );
    }
    let e = parse_expr(r"\frac{1}{1-p}").unwrap();
    assert!(close(e.eval(&p1p2).unwrap(), 2.0));
    assert_eq!(e.to_string(), "1 / (1 - p)");
    for name in ["p_1", "p_{1}", "p1", "P1"] {
        assert_eq!(canonical_var(name), "p1");
    }
    assert!(matches!(
        parse_expr(&"(".repeat(500)),
        Err(ExprError::TooDeep { .. })
    ));
}

#[test]
fn finding_formulas_in_answers() {
    let found = find_expressions("q = 1-(1-p_1)(1-p_2) = 1-0.9*0.8 = 0.28", Some("q"));
    let roles: Vec<ExprRole> = found.iter().map(|f| f.role).collect();
    assert_eq!(
        roles,
        vec![
            ExprRole::Formula,
            ExprRole::Arithmetic,
            ExprRole::Arithmetic
        ]
    );
    assert!(close(found[0].expr.eval(&p1p2).unwrap(), 0.28));
    assert!(close(found[1].value.unwrap(), 0.28));

    let a = formula_answer("q=p1+p2-p1*p2", "q").unwrap();
    assert!(close(a.formula.unwrap().expr.eval(&p1p2).unwrap(), 0.28));

    // Seed 001: right formula, wrong arithmetic.
    let a = formula_answer("q=p_1+p_2∙(1-p_1 )=0.1+0.2∙0.1= 0.12", "q").unwrap();
    assert!(close(a.formula.unwrap().expr.eval(&p1p2).unwrap(), 0.28));
    assert_eq!(a.numeric.last().unwrap().value, Some(0.12));

    let a = formula_answer("**Answer**: q = 1 - ((1-P1)*(1-P2))", "q").unwrap();
    assert!(close(a.formula.unwrap().expr.eval(&p1p2).unwrap(), 0.28));
    assert!(a.numeric.is_empty());

    let a = formula_answer("the drop probability is p_1+p_2∙(1-p_1)", "q").unwrap();
    let f = a.formula.unwrap();
    assert_eq!(f.lhs, None);
    assert!(close(f.expr.eval(&p1p2).unwrap(), 0.28));
}

// ---------------------------------------------------------------------------------------
// a gallery of real-style answers, snapshotted

#[derive(Serialize)]
struct Reading {
    answer: &'static str,
    normalized: String,
    final_value: Option<(f64, Conclusion, String, Vec<f64>)>,
    final_shape: Option<Vec<i64>>,
    q_formula: Option<String>,
    q_numeric: Vec<Option<f64>>,
}

const GALLERY: &[&str] = &[
    "**Answer**: 13",
    "The size of the receptive field of the last layer is **112**.\n\n$(3-1) + (2-1)\\cdot1 + (5-1)\\cdot2\\cdot1 + (2-1)\\cdot2\\cdot2\\cdot1 + (13-1)\\cdot2\\cdot2\\cdot2\\cdot1 + 1 = 112$",
    "In conclusion, for each axis we have $RF$ of 112, so we have got $RF_0=112 \\times 112$",
    "and in the end the last convolution op. will result in 112 pixels.",
    "$\\Rightarrow r_0 = 1\\cdot (3-1)\\cdot 1 + 2\\cdot (7-1)\\cdot 1\\cdot 2\\cdot 2\\cdot 2 + 1 = 112$\n\n$\\Rightarrow r_0=112$",
    "Layer 5 (Conv2D): \n$$ R_5 = R_4 + (13 - 1) * 2^3 = 125 $$\n\nThe size of the receptive field of each \"pixel\" in the output tensor is [125 x 125]",
    "(2−1)⋅1+(3−1)⋅1+(5−1)⋅2⋅1+(13−1)⋅2⋅2⋅2⋅1+1+(2−1)⋅2⋅2⋅1 = 112\n\nThat means that we have a receptive field of 112 for every pixel in the output tensor.",
    "<b> q = 1 - (1 - p1) * (1 - p2) </b>\n\nin our example: 1 - (1 - 0.1) * (1 - 0.2) = <b> 0.28 </b>",
    "**1.** $q=1-(1-p_1)\\cdot(1-p2)=1-(0.9\\cdot0.8)=0.28$",
    "Therefore, **let $q = p_1 +p_2 -p_1 * p_2$**",
    "q = p1 + p2 - p1*p2\nWith the numbers of the previous question, we would get q=0.28",
    "The output shape of Y is (5, 6, 7, 8, 42000), where 5 is the batch size.",
    "So Y will be equal to the words imbedding. so 5x6x7x8 goes to (5x6x7x8)x42000.",
    "Y.shape=torch.Size([5, 6, 7, 8, 42000])",
];

fn read(answer: &'static str) -> Reading {
    let q = formula_answer(answer, "q");
    Reading {
        answer,
        normalized: normalize_math(answer),
        final_value: final_value(answer).map(|v| {
            (
                v.value,
                v.chosen_by,
                v.mention.text,
                v.other_candidates.iter().map(|c| c.value).collect(),
            )
        }),
        final_shape: final_shape(answer),
        q_formula: q
            .as_ref()
            .and_then(|a| a.formula.as_ref().map(|f| f.expr.to_string())),
        q_numeric: q
            .map(|a| a.numeric.iter().map(|f| f.value).collect())
            .unwrap_or_default(),
    }
}

#[test]
fn gallery() {
    let readings: Vec<Reading> = GALLERY.iter().map(|a| read(a)).collect();
    insta::assert_json_snapshot!(readings);
}

// ---------------------------------------------------------------------------------------
// no input makes any public function panic

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

const ALPHABET: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "5",
    "8",
    "9",
    "42000",
    "a",
    "b",
    "e",
    "p",
    "q",
    "x",
    "X",
    "P",
    "R",
    "F",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\\",
    "$",
    "^",
    "_",
    "*",
    "/",
    "+",
    "-",
    "×",
    "∙",
    ".",
    ",",
    " ",
    "=",
    "\n",
    "%",
    "−",
    "⋅",
    "²",
    "π",
    "<b>",
    "</b>",
    "**",
    "`",
    "\\frac",
    "\\times",
    "\\cdot",
    "\\boxed",
    "\\text",
    "\\mathrm",
    "\\left",
    "\\right",
    "\\sqrt",
    "\\pi",
    "\\,",
    "\\%",
    "\\(",
    "\\)",
    "\\[",
    "\\]",
    "\\dfrac",
    "\\textbf",
    "\\approx",
    "\\rightarrow",
    "torch.Size(",
    "answer is ",
    " RF ",
    " by ",
    " pixels",
    "sigmoid",
    "exp",
    "log",
    "1. ",
    " -> ",
    "→",
    " shape ",
    " same as X ",
    " vector",
    " k=",
    " since ",
    "42,000",
    "é",
];

fn exercise(text: &str) {
    let norm = normalize(text);
    assert_eq!(normalize_math(text), norm.text);
    for m in numbers(text) {
        assert!(norm.text.get(m.span.start..m.span.end).is_some());
    }
    let _ = scan_numbers(text);
    if let Some(v) = final_value(text) {
        assert!(v.value.is_finite());
    }
    let _ = shapes(text);
    let _ = symbolic_shapes(text);
    let _ = final_shape(text);
    let _ = final_symbolic_shape(text);
    let _ = examiner::answer::read_shape(text);
    if let Ok(e) = parse_expr(text) {
        let _ = e.to_string();
        let _ = e.eval(&|_| Some(0.5));
        let _ = e.variables();
    }
    let _ = find_expressions(text, None);
    let _ = find_expressions(text, Some("q"));
    let _ = formula_answer(text, "q");
    let _ = canonical_var(text);
}

#[test]
fn random_inputs_never_panic() {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
            for _ in 0..3000 {
                let len = rng.below(100);
                let text: String = (0..len)
                    .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                    .collect();
                exercise(&text);
            }
            for hostile in [
                "(".repeat(50_000),
                "\\frac{".repeat(20_000),
                "{".repeat(50_000),
                "-".repeat(50_000) + "1",
                "2^".repeat(20_000) + "2",
                "1+".repeat(50_000),
                "((5x6)x".repeat(10_000),
                "é".repeat(70_000),
                "1 -> ".repeat(20_000),
                "shape 1,".repeat(20_000),
                "5 by ".repeat(20_000) + "5",
                "1,000x".repeat(20_000) + "1",
                "each X same vector of size 4".repeat(5_000),
            ] {
                exercise(&hostile);
            }
        })
        .expect("spawn")
        .join()
        .expect("a public function panicked");
}

// ---------------------------------------------------------------------------------------
// issue 9: conclusions that are not the last number, shapes without brackets, multi-part
// answers, implicit products of subscripted names (hand-written forms)

#[test]
fn conclusions_that_are_not_the_last_number() {
    for (text, want) in [
        (
            "r = ((3-1)*1 + (2-1)*1 + (5-1)*2) + 1 = 38 since the dilation makes the kernel 7*2-1",
            38.0,
        ),
        (
            "Layer by layer: 3 -> 4 -> 12 -> 16 -> 112 (the first conv has k=3)",
            112.0,
        ),
        (
            "$3 \\rightarrow 4 \\rightarrow 12 \\rightarrow 16 \\rightarrow 112$",
            112.0,
        ),
        ("3 → 4 → 12 → 16 → 112, stride 2", 112.0),
        (
            "| layer | r |\n|---|---|\n| conv1 | 3 |\n| pool | 4 |\n| conv2 | 12 |\n\n\
             r = 1 + 2 + 1 + 8 + 4 + 96 = 112",
            112.0,
        ),
        (
            "The receptive field is 112, computed with k=3 and s=1 first.",
            112.0,
        ),
    ] {
        assert!(close(value(text), want), "{text}: {}", value(text));
    }
    // Two equally explicit readings that disagree are reported.
    let v = final_value("3 -> 6 -> 10 -> 22 -> 54\nr = 2 + 1 + 8 + 4 + 96 + 1 = 112").unwrap();
    assert!(v.other_candidates.iter().any(|c| c.value == 54.0));
}

#[test]
fn shapes_without_brackets_and_in_parts() {
    use examiner::answer::{read_shape, ALL_OF_X};
    let full = Some(vec![5, 6, 7, 8, 42000]);
    for text in [
        "The output shape is 5,6,7,8,42000",
        "Y.shape: 5x6x7x8x42,000",
        "$5 \\times 6 \\times 7 \\times 8 \\times 42,000$",
        "Y is 5 by 6 by 7 by 8 by 42000",
        "5 × 6 × 7 × 8 × 42000",
        "2.1 the output shape (5, 6, 7, 8, 42000)\n2.2 the weight is a matrix of size (42, 42000)",
    ] {
        assert_eq!(final_shape(text), full, "{text}");
    }
    let r =
        read_shape("Y = (5, 6, 7, 8, 42000), and the lookup table is (num_tokens, embedding_dim)")
            .unwrap();
    assert_eq!(r.dims.len(), 5);
    let r = read_shape("Y has the size of X with an extra dimension of 42,000").unwrap();
    assert_eq!(r.dims, [Dim::Name(ALL_OF_X.into()), Dim::Size(42000)]);
    let r = read_shape("X is a 4-dimensional tensor; each element is embedded to dimension 42,000")
        .unwrap();
    assert_eq!(r.dims.len(), 5);
    assert!(r.doubt.is_none());
}

#[test]
fn implicit_products_of_subscripted_names() {
    let at = |name: &str| match canonical_var(name).as_str() {
        "p1" => Some(0.1),
        "p2" => Some(0.2),
        _ => None,
    };
    for text in [
        "p_1+p_2-p_1p_2",
        "p_1 + p_2 - p_1 p_2",
        "p1+p2-p1p2",
        "p_{1}+p_{2}-p_{1}p_{2}",
    ] {
        let v = parse_expr(text).unwrap().eval(&at).unwrap();
        assert!(close(v, 0.28), "{text}: {v}");
    }
    // Multi-letter names elsewhere are untouched.
    let e = parse_expr("keep_prob * V_in").unwrap();
    assert_eq!(e.variables().len(), 2);
}
