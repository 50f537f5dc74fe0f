//! The reference engine on the question sets' own code: every value here is computed by
//! libtorch from the code in `tests/fixtures/reference/`, and checked against an independent
//! derivation (closed form, analytic gradient, torch's documented shapes, the published table
//! of Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks",
//! Distill 2019, or PyTorch itself running the fixtures: `measure_with_pytorch.py`, whose
//! output is committed as `measure_with_pytorch.txt`).

use std::path::Path;
use std::rc::Rc;

use examiner::reference::cache::Cache;
use examiner::reference::dropout::{closed_form, probabilities};
use examiner::reference::geometry;
use examiner::reference::layers::{Conv2d, Layer};
use examiner::reference::parameters::parameters;
use examiner::reference::python::eval::DType;
use examiner::reference::python::eval::{Module, ModuleKind};
use examiner::reference::shape::shape;
use examiner::reference::{Code, Error};
use examiner_reference::dropout::dropout;
use examiner_reference::gradient::{gradient, profile};
use examiner_reference::receptive_field::{self, of_module, receptive_field};
use examiner_reference::tensors::probe_output_shape;

fn fixture(name: &str) -> Code {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/reference")
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

#[path = "support/stacks.rs"]
mod stacks;
use stacks::{random_stack, XorShift};

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
fn geometry_gives_libtorchs_output_shapes_on_the_generated_stacks() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut compared = 0;
    for case in 0..60 {
        let layers = random_stack(&mut rng);
        let module = sequential(&layers);
        let channels = match &layers[0] {
            Layer::Conv2d(c) => c.in_channels,
            _ => 2,
        };
        for side in [17, 40] {
            let shape = [2, channels, side, side + 3];
            let by_geometry = geometry::module_output_shape(&module, &shape, DType::Float32);
            let mut peak = 0;
            let by_libtorch = probe_output_shape(&module, &shape, DType::Float32, &mut peak);
            match (by_geometry, by_libtorch) {
                (Ok(g), Ok(t)) => {
                    assert_eq!(g, t, "stack {case} on {shape:?}: {layers:?}");
                    compared += 1;
                }
                (Err(_), Err(_)) => {}
                (g, t) => panic!("stack {case} on {shape:?}: geometry {g:?}, libtorch {t:?}"),
            }
        }
    }
    assert!(compared > 60, "most stacks fit their input ({compared})");
}

/// Araujo, Norris & Sim (Distill, 2019), Table 1: the receptive fields of AlexNet (195),
/// VGG-16 (212) and MobileNet-v1 (315), here from the networks written in question code (the
/// last as an nn.Module class built in a loop); output shapes as torchvision documents them
/// (AlexNet's features give 256x6x6 on 224x224, VGG-16's and MobileNet's 7x7).
#[test]
fn the_distill_table() {
    for (file, field, output) in [
        ("alexnet.py", 195, [1, 256, 6, 6]),
        ("vgg16.py", 212, [1, 512, 7, 7]),
        ("mobilenet_v1.py", 315, [1, 1024, 7, 7]),
    ] {
        let rf =
            receptive_field(&fixture(file), None, None).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(rf.receptive_field, [field, field], "{file}");
        assert_eq!(rf.output_shape, Some(output.to_vec()), "{file}");
        assert!(rf.misaligned.is_empty(), "{file}: single path");
    }
}

/// A class with a stem and seven bottleneck blocks (a ModuleList iterated in `forward`, an
/// nn.Sequential of blocks, projections and identities on the shortcut): PyTorch, running
/// the fixture, measures 91 x 91 (`measure_with_pytorch.txt`).
#[test]
fn a_resnet_style_model_matches_pytorch() {
    let code = fixture("resnet_bottleneck.py");
    let rf = receptive_field(&code, None, None).expect("computes");
    assert_eq!(rf.model, "model");
    assert_eq!(rf.receptive_field, [91, 91]);
    assert_eq!(rf.output_shape, Some(vec![1, 512, 28, 28]));
    // Every path is centred: the shortcut's strided 1x1 picks the centre of the 3x3's window.
    assert!(rf.misaligned.is_empty(), "{:?}", rf.misaligned);
    assert_eq!(rf.largest_path, Some([91, 91]));
    // The trace names layers as PyTorch does and follows `forward`'s order.
    let first: Vec<&str> = rf.trace.iter().take(3).map(|s| s.layer.as_str()).collect();
    assert!(first[0].starts_with("conv1: Conv2d(3, 64"), "{first:?}");
    assert!(first[1].starts_with("maxpool: MaxPool2d"), "{first:?}");
    assert!(first[2].starts_with("layer1.0.conv1:"), "{first:?}");
    assert!(rf
        .trace
        .iter()
        .any(|s| s.layer.starts_with("layer2.3.conv3:")));
}

/// Three paths concatenated, one of them half a pixel off the others: the field is their
/// union, 25 x 25 as PyTorch measures it, and the misalignment is reported where `torch.cat`
/// merges them.
#[test]
fn a_two_branch_model_matches_pytorch_and_reports_misalignment() {
    let rf = receptive_field(&fixture("two_branch.py"), None, None).expect("computes");
    assert_eq!(rf.receptive_field, [25, 25]);
    assert_eq!(rf.output_shape, Some(vec![2, 32, 32, 32]));
    assert_eq!(rf.misaligned.len(), 1, "{:?}", rf.misaligned);
    assert_eq!(rf.misaligned[0].offset, [0.5, 0.5]);
    // The `torch.cat` line of the fixture.
    assert!(
        rf.misaligned[0].at.starts_with("25:"),
        "{:?}",
        rf.misaligned
    );
}

/// `sum(p.numel() for p in model.parameters())` as PyTorch prints it for each fixture
/// (`measure_with_pytorch.txt`), and the course's 70,016 versus 1,180,160.
#[test]
fn parameter_counts_match_pytorch() {
    for (file, model, total) in [
        ("alexnet.py", None, 2_469_696),
        ("vgg16.py", None, 14_714_688),
        ("mobilenet_v1.py", None, 3_206_976),
        ("resnet_bottleneck.py", None, 1_444_928),
        ("two_branch.py", None, 28_192),
        ("blocks_256.py", Some("plain"), 1_180_160),
        ("blocks_256.py", Some("bottleneck"), 70_016),
        ("seed_cnn.py", None, 112 + 1616 + 25120),
    ] {
        let p = parameters(&fixture(file), model, None).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(p.total, total, "{file} {model:?}");
        assert_eq!(p.trainable, total, "{file} {model:?}");
    }
    // Per layer, with PyTorch's names.
    let p = parameters(&fixture("resnet_bottleneck.py"), None, None).unwrap();
    let named: Vec<(&str, i64)> = p
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.parameters))
        .collect();
    assert_eq!(named[0], ("conv1", 9408));
    assert!(named.contains(&("layer1.0.shortcut.0", 16384)));
    assert!(named.contains(&("layer2.0.shortcut.0", 131_072)));
    assert_eq!(p.output_shape, Some(vec![1, 512, 28, 28]));
    let p = parameters(&fixture("two_branch.py"), None, None).unwrap();
    let named: Vec<(&str, i64)> = p
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.parameters))
        .collect();
    assert_eq!(
        named,
        [
            ("stem", 448),
            ("a1", 272),
            ("a2", 3480),
            ("b", 520),
            ("c", 9616),
            ("head", 13856)
        ]
    );
    // A module repeated by `[...] * 24` is one module: 42*128+128 + 128*128+128 + 128+1.
    let p = parameters(&fixture("mlpirate.py"), None, None).unwrap();
    assert_eq!(p.total, 42 * 128 + 128 + 128 * 128 + 128 + 128 + 1);
}

/// The class model evaluated with libtorch (real weights, seeded) gives the shape the
/// geometry gives, and sharing: a value used by two paths is computed once.
#[test]
fn class_models_run_with_libtorch() {
    let code = fixture("two_branch.py");
    let s = shape(&code, Some("y")).expect("computes");
    assert_eq!(s.shape, [2, 32, 32, 32]);
    let source = "import torch\nimport torch.nn as nn\n\
        class Net(nn.Module):\n\
        \x20   def __init__(self):\n\
        \x20       super().__init__()\n\
        \x20       self.conv = nn.Conv2d(1, 2, 3, padding=1)\n\
        \x20       self.fc = nn.Linear(2 * 4 * 4, 3)\n\
        \x20   def forward(self, x):\n\
        \x20       h = self.conv(x)\n\
        \x20       h = h.view(h.size(0), -1)\n\
        \x20       return self.fc(h)\n\
        net = Net()\n\
        out = net(torch.rand(5, 1, 4, 4))\n\
        loss = torch.mean(out)\n";
    let code = Code::new(source).expect("reads");
    assert_eq!(shape(&code, Some("out")).unwrap().shape, [5, 3]);
    let g = gradient(&code, Some("loss"), &[]);
    // No tensor requires grad: the gradient computation says so rather than guessing.
    assert!(g.is_err());
    // The receptive field stops at the view, by name.
    let err = receptive_field(&code, None, None).expect_err("refused");
    assert!(err.to_string().contains("the view at"), "{err}");
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

/// `compute: parameters` in a rubric: the FORMAT.md example rubric with the bottleneck block of
/// the course question as code; the key is the question's own 70,016, and one layer by name.
#[test]
fn a_rubric_computes_parameter_keys() {
    use examiner::rubric::keys::{resolve, Key};
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rubrics/FORMAT.md"),
    )
    .unwrap();
    let start = doc.find("```yaml\n").unwrap() + 8;
    let end = start + doc[start..].find("```").unwrap();
    let block = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/reference/blocks_256.py"),
    )
    .unwrap();
    let indented: String = block.lines().map(|l| format!("    {l}\n")).collect();
    let mut text =
        doc[start..end].replacen("\ncode:", &format!("\ncode:\n  blocks: |\n{indented}"), 1);
    for (id, extra) in [
        ("bottleneck-total", "model: bottleneck"),
        ("plain-conv1", "model: plain, layer: conv1"),
    ] {
        text.push_str(&format!(
            "  - id: {id}\n    title: t\n    points: 1\n    locate: {{start: \"{id}\"}}\n    \
             answer:\n      kind: number\n      reference: {{compute: parameters, code: blocks, \
             {extra}}}\n"
        ));
    }
    let rubric = examiner::rubric::load_str("r.yaml", &text).expect("loads");
    let keys = resolve(&rubric, &Cache::in_memory()).expect("computes");
    let value = |id: &str| match &keys[id] {
        Key::Number { value, .. } => *value,
        other => panic!("{other:?}"),
    };
    assert_eq!(value("bottleneck-total"), 70_016.0);
    // 256 * 256 * 3 * 3 + 256.
    assert_eq!(value("plain-conv1"), 590_080.0);
}

/// Forty 3x3 convolutions: the surrogate's values reach 9^40, past float's range (it runs in
/// double); each adds 2 to the field (1 + 40 * 2 = 81, by the definition of a 3x3 window).
#[test]
fn a_deep_stack_does_not_overflow_the_surrogate() {
    let layers: Vec<Layer> = (0..40)
        .map(|_| {
            Layer::Conv2d(Conv2d {
                padding: [1, 1],
                ..Conv2d::new(1, 1, [3, 3])
            })
        })
        .collect();
    let rf = of_module(&sequential(&layers), Some(&[1, 1, 32, 32])).expect("computes");
    assert_eq!(rf.receptive_field, [81, 81]);
    assert_eq!(rf.output_shape, Some(vec![1, 1, 32, 32]));
    assert_eq!(rf.trace.len(), 40);
}
