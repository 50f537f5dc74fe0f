//! The reference engine on the question sets' own code: every value here is computed by
//! libtorch from the code in `tests/fixtures/reference/`, and checked against an independent
//! derivation (closed form, analytic gradient, or torch's documented shapes).

use std::path::Path;
use std::rc::Rc;

use examiner::reference::dropout::{closed_form, dropout, probabilities};
use examiner::reference::gradient::{gradient, profile};
use examiner::reference::layers::{Conv2d, Layer, Pool2d};
use examiner::reference::python::eval::{Module, ModuleKind};
use examiner::reference::receptive_field::{self, of_module, receptive_field};
use examiner::reference::shape::shape;
use examiner::reference::{Code, Error};

fn fixture(name: &str) -> Code {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reference")
        .join(name);
    let source = std::fs::read_to_string(&path).expect("fixture exists");
    Code::new(&source).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn seed_cnn_receptive_field_trace_and_output_shape() {
    let rf = receptive_field(&fixture("seed_cnn.py"), None, None).expect("computes");
    assert_eq!(rf.model, "cnn");
    assert_eq!(rf.receptive_field, [112, 112]);
    assert_eq!(rf.input_shape, Some(vec![1, 3, 1024, 1024]));
    assert_eq!(rf.output_shape, Some(vec![1, 32, 122, 122]));
    let trace: Vec<i64> = rf.trace.iter().map(|s| s.receptive_field[0]).collect();
    assert_eq!(trace, [3, 4, 12, 16, 112]);
    let layers: Vec<usize> = rf.trace.iter().map(|s| s.index).collect();
    assert_eq!(layers, [0, 2, 3, 5, 6], "conv, pool, conv, pool, conv");
    let jumps: Vec<i64> = rf.trace.iter().map(|s| s.jump[0]).collect();
    assert_eq!(jumps, [1, 2, 4, 8, 8]);
}

#[test]
fn an_explicit_input_overrides_the_codes() {
    let rf = receptive_field(
        &fixture("seed_cnn.py"),
        Some("cnn"),
        Some(vec![2, 3, 256, 128]),
    )
    .expect("computes");
    assert_eq!(rf.receptive_field, [112, 112]);
    assert_eq!(rf.output_shape, Some(vec![2, 32, 26, 10]));
}

/// A small deterministic generator, so the stacks are the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn pair(&mut self, lo: i64, hi: i64, square: bool) -> [i64; 2] {
        let a = self.range(lo, hi);
        if square {
            [a, a]
        } else {
            [a, self.range(lo, hi)]
        }
    }
}

fn random_stack(rng: &mut XorShift) -> Vec<Layer> {
    let mut layers = Vec::new();
    let mut channels = rng.range(1, 3);
    for _ in 0..rng.range(1, 5) {
        let square = rng.range(0, 2) > 0;
        match rng.range(0, 3) {
            0 | 1 => {
                let out = rng.range(1, 4);
                let kernel = rng.pair(1, 6, square);
                layers.push(Layer::Conv2d(Conv2d {
                    stride: rng.pair(1, 3, square),
                    padding: [rng.range(0, kernel[0] / 2), rng.range(0, kernel[1] / 2)],
                    dilation: rng.pair(1, 3, square),
                    ..Conv2d::new(channels, out, kernel)
                }));
                channels = out;
                layers.push(Layer::ReLU);
            }
            2 => {
                let kernel = rng.pair(2, 4, square);
                layers.push(Layer::MaxPool2d(Pool2d {
                    stride: rng.pair(1, 3, square),
                    padding: [rng.range(0, kernel[0] / 2), rng.range(0, kernel[1] / 2)],
                    dilation: rng.pair(1, 2, square),
                    ..Pool2d::new(kernel)
                }));
            }
            _ => {
                let kernel = rng.pair(2, 3, square);
                layers.push(Layer::AvgPool2d(Pool2d {
                    stride: rng.pair(1, 2, square),
                    ..Pool2d::new(kernel)
                }));
            }
        }
    }
    layers
}

fn sequential(layers: &[Layer]) -> Module {
    Module {
        id: 1,
        kind: ModuleKind::Sequential(layers.iter().cloned().enumerate().collect()),
        span: Default::default(),
    }
}

#[test]
fn autograd_agrees_with_the_closed_form_on_60_generated_stacks() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut non_square = 0;
    for case in 0..60 {
        let layers = random_stack(&mut rng);
        let module = sequential(&layers);
        let result =
            of_module(&module, None).unwrap_or_else(|e| panic!("stack {case} {layers:?}: {e}"));
        // `of_module` errors on any disagreement; check its answer is the recurrence's too.
        let closed = receptive_field::closed_form(&layers);
        assert_eq!(
            result.receptive_field,
            closed.last().unwrap().0,
            "stack {case}"
        );
        if result.receptive_field[0] != result.receptive_field[1] {
            non_square += 1;
        }
    }
    assert!(
        non_square > 5,
        "tuple sizes were exercised ({non_square} non-square fields)"
    );
}

#[test]
fn a_fully_connected_layer_has_no_receptive_field() {
    let err = receptive_field(&fixture("mlpirate.py"), None, None).expect_err("refused");
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert!(
        err.to_string().contains("layer 0 (Linear(42, 128))"),
        "{err}"
    );
}

#[test]
fn stacked_dropout_measured_within_four_standard_errors_of_the_closed_form() {
    for p in [
        vec![0.1, 0.2],
        vec![0.5],
        vec![0.3, 0.3, 0.3],
        vec![0.05, 0.9],
        vec![0.0, 0.25],
    ] {
        let d = dropout(&p).expect("measures");
        let q = closed_form(&p);
        assert!((d.q - q).abs() < 1e-15);
        assert!(
            (d.q_measured - q).abs() <= 4.0 * d.stderr,
            "p={p:?}: measured {} vs {q} (stderr {})",
            d.q_measured,
            d.stderr
        );
        let scale = 1.0 / p.iter().map(|p| 1.0 - p).product::<f64>();
        let kept = d.kept_scale.expect("something is kept");
        assert!(
            (kept - scale).abs() < 1e-9 * scale,
            "kept {kept} vs {scale}"
        );
        // Mean preserved: each output is `scale` with probability 1 - q, so its standard
        // deviation is scale * sqrt(q (1 - q)); the mean of 4M of them is 1 within 4 sigma.
        let sigma = scale * (q * (1.0 - q) / d.samples as f64).sqrt();
        assert!(
            (d.output_mean - 1.0).abs() <= 4.0 * sigma + 1e-12,
            "mean {}",
            d.output_mean
        );
    }
}

#[test]
fn dropout_probabilities_come_from_the_stacked_layers() {
    let code = fixture("dropout_stack.py");
    let p = probabilities(&code, None).expect("found");
    assert_eq!(p, [0.1, 0.2]);
    let d = dropout(&p).unwrap();
    assert!((d.q - 0.28).abs() < 1e-12);
}

#[test]
fn embedding_output_shape_without_materialising_it() {
    let s = shape(&fixture("embedding.py"), None).expect("computes");
    assert_eq!(s.name, "Y");
    assert_eq!(s.shape, [5, 6, 7, 8, 42000]);
    assert_eq!(s.output_bytes, 5 * 6 * 7 * 8 * 42000 * 4);
    assert!(
        s.peak_bytes * 1000 < s.output_bytes,
        "peak {} bytes for a {} byte output",
        s.peak_bytes,
        s.output_bytes
    );
}

#[test]
fn gradient_of_foo_matches_its_analytic_form() {
    let g = gradient(&fixture("foo_gradient.py"), None, &[]).expect("computes");
    assert_eq!(g.of, "loss");
    let names: Vec<&str> = g.gradients.keys().map(String::as_str).collect();
    assert_eq!(names, ["W", "b"]);
    let d = 5.0;
    // loss = mean over N*d entries of (XW + b): d loss / d b_j = N / (N d) = 1/d exactly.
    let gb = &g.gradients["b"];
    assert_eq!(gb.shape, [5]);
    for v in &gb.values {
        assert!((v - 1.0 / d).abs() < 1e-12, "{v}");
    }
    // d loss / d W_kj = sum_i X_ik / (N d): constant along j, and within (0, 1/d) since
    // X is uniform on [0, 1).
    let gw = &g.gradients["W"];
    assert_eq!(gw.shape, [5, 5]);
    for row in gw.values.chunks(5) {
        for v in row {
            assert!((v - row[0]).abs() < 1e-12);
            assert!(*v > 0.0 && *v < 1.0 / d);
        }
    }
    let norm: f64 = gw.values.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((gw.norm - norm).abs() < 1e-12);
    // The seeded X is reproducible: the same code gives the same numbers.
    let again = gradient(&fixture("foo_gradient.py"), None, &[]).unwrap();
    assert_eq!(g, again);
}

#[test]
fn mlpirate_gradients_vanish_through_24_sigmoid_layers() {
    let p = profile(&fixture("mlpirate.py"), None, None).expect("computes");
    assert_eq!(p.model, "mlpirate");
    assert_eq!(p.input_shape, [64, 42]);
    assert_eq!(p.layers.len(), 26, "first Linear, 24 hidden, output");
    assert!(
        p.first_to_last_ratio < 1e-6,
        "first/last gradient norm ratio {}",
        p.first_to_last_ratio
    );
    // The hidden Linear is one module repeated (Python's `[...] * 24`), yet each position has
    // its own activation gradient, shrinking layer after layer.
    let norms: Vec<f64> = p.layers.iter().map(|s| s.grad_norm).collect();
    assert!(
        norms.iter().all(|n| *n > 0.0),
        "no norm underflows to zero: {norms:?}"
    );
    assert!(norms.windows(2).all(|w| w[0] < w[1]), "{norms:?}");
}

#[test]
fn shared_modules_are_one_module() {
    let code = fixture("mlpirate.py");
    let model = code.model(None).unwrap();
    let layers = model.module.layers();
    let hidden: Vec<usize> = layers[2..50].iter().step_by(2).map(|(id, _)| *id).collect();
    assert!(
        hidden.windows(2).all(|w| w[0] == w[1]),
        "one Linear repeated 24 times"
    );
    assert_ne!(layers[0].0, layers[2].0);
    let _ = Rc::clone(&model.module);
}

#[test]
fn seeded_results_do_not_depend_on_other_threads() {
    let alone = gradient(&fixture("foo_gradient.py"), None, &[]).unwrap();
    let threads: Vec<_> = (0..6)
        .map(|i| {
            std::thread::spawn(move || {
                if i % 2 == 0 {
                    Some(gradient(&fixture("foo_gradient.py"), None, &[]).unwrap())
                } else {
                    // Draws millions of random numbers from torch's global generator.
                    dropout(&[0.5, 0.1]).unwrap();
                    None
                }
            })
        })
        .collect();
    for t in threads {
        if let Some(g) = t.join().unwrap() {
            assert_eq!(g, alone);
        }
    }
}
