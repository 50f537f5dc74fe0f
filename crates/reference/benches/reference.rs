//! Time and peak memory of each reference computation for the seeds' question set, the
//! receptive field on the 1024x1024 input included, the networks of the Distill table
//! (VGG-16 on 224x224 among them), class models (ResNet-style, two-branch), and the median
//! over the 60 generated conv/pool stacks of `tests/reference.rs`. Run with `cargo xtask
//! bench` (or `cargo bench --bench reference`); it prints a table, it asserts nothing.
//!
//! Peak memory is the process's resident high-water mark (Linux `VmHWM`), reset before each
//! computation through `/proc/self/clear_refs`; elsewhere it is not reported.

use std::path::Path;
use std::time::{Duration, Instant};

use examiner::reference::cache::Cache;
use examiner::reference::python::eval::{Module, ModuleKind};
use examiner::reference::{parameters, shape, Code};
use examiner_reference::{dropout, gradient, receptive_field};

const RUNS: usize = 5;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/reference")
        .join(name);
    std::fs::read_to_string(path).expect("fixture exists")
}

fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Median wall time over `RUNS` runs, and the peak resident memory above the resident size
/// before the runs.
fn measure(mut f: impl FnMut()) -> (Duration, Option<u64>) {
    f(); // warm-up: libtorch's first use of an operator initialises it.
    let can_reset = reset_peak();
    let before = status_kib("VmRSS:");
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        f();
        times.push(start.elapsed());
    }
    times.sort();
    let peak = match (can_reset, before, status_kib("VmHWM:")) {
        (true, Some(b), Some(p)) => Some(p.saturating_sub(b)),
        _ => None,
    };
    (times[RUNS / 2], peak)
}

#[path = "../tests/support/stacks.rs"]
mod stacks;
use stacks::{random_stack, XorShift};

/// Median and largest time of the receptive field over the 60 generated stacks.
fn generated_stacks() -> (Duration, Duration) {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut times = Vec::new();
    for _ in 0..60 {
        let layers = random_stack(&mut rng);
        let module = Module {
            id: 1,
            kind: ModuleKind::Sequential(layers.into_iter().enumerate().collect()),
            span: Default::default(),
        };
        receptive_field::of_module(&module, None).unwrap();
        let start = Instant::now();
        receptive_field::of_module(&module, None).unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

fn main() {
    tch::set_num_threads(1);
    let vgg16 = fixture("vgg16.py");
    let alexnet = fixture("alexnet.py");
    let mobilenet = fixture("mobilenet_v1.py");
    let resnet = fixture("resnet_bottleneck.py");
    let two_branch = fixture("two_branch.py");
    let cnn = fixture("seed_cnn.py");
    let embedding = fixture("embedding.py");
    let foo_code = fixture("foo_gradient.py");
    let mlpirate = fixture("mlpirate.py");
    let stack = fixture("dropout_stack.py");

    type Case<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let cases: Vec<Case> = vec![
        (
            "parse + interpret the seed CNN code",
            Box::new(|| {
                Code::new(&cnn).unwrap();
            }),
        ),
        (
            "receptive field of the seed CNN (+ output shape on 1x3x1024x1024)",
            Box::new(|| {
                let code = Code::new(&cnn).unwrap();
                receptive_field::receptive_field(&code, None, None).unwrap();
            }),
        ),
        (
            "receptive field only (no input shape)",
            Box::new(|| {
                let code = Code::new(&cnn).unwrap();
                receptive_field::receptive_field(&code, None, Some(vec![1, 3, 64, 64])).unwrap();
            }),
        ),
        (
            "receptive field of VGG-16 (+ output shape on 1x3x224x224)",
            Box::new(|| {
                let code = Code::new(&vgg16).unwrap();
                receptive_field::receptive_field(&code, None, None).unwrap();
            }),
        ),
        (
            "receptive field of AlexNet (+ output shape on 1x3x224x224)",
            Box::new(|| {
                let code = Code::new(&alexnet).unwrap();
                receptive_field::receptive_field(&code, None, None).unwrap();
            }),
        ),
        (
            "receptive field of MobileNet-v1, a class (+ output shape)",
            Box::new(|| {
                let code = Code::new(&mobilenet).unwrap();
                receptive_field::receptive_field(&code, None, None).unwrap();
            }),
        ),
        (
            "receptive field of the ResNet-style class, 7 bottlenecks",
            Box::new(|| {
                let code = Code::new(&resnet).unwrap();
                receptive_field::receptive_field(&code, None, None).unwrap();
            }),
        ),
        (
            "receptive field of the two-branch class",
            Box::new(|| {
                let code = Code::new(&two_branch).unwrap();
                receptive_field::receptive_field(&code, None, None).unwrap();
            }),
        ),
        (
            "parameters of the ResNet-style class (+ output shape)",
            Box::new(|| {
                let code = Code::new(&resnet).unwrap();
                parameters::parameters(&code, None, None).unwrap();
            }),
        ),
        (
            "embedding output shape (5, 6, 7, 8) -> 42000",
            Box::new(|| {
                let code = Code::new(&embedding).unwrap();
                shape::shape(&code, None).unwrap();
            }),
        ),
        (
            "dropout q for p = (0.1, 0.2), 4M activations",
            Box::new(|| {
                let code = Code::new(&stack).unwrap();
                let p = examiner::reference::dropout::probabilities(&code, None).unwrap();
                dropout::dropout(&p).unwrap();
            }),
        ),
        (
            "gradient of foo(W, b)",
            Box::new(|| {
                let code = Code::new(&foo_code).unwrap();
                gradient::gradient(&code, None, &[]).unwrap();
            }),
        ),
        (
            "gradient profile of mlpirate (26 Linear layers)",
            Box::new(|| {
                let code = Code::new(&mlpirate).unwrap();
                gradient::profile(&code, None, None).unwrap();
            }),
        ),
    ];

    println!("reference computations, {RUNS} runs each (median), 1 libtorch thread\n");
    println!("{:<70} {:>10} {:>14}", "computation", "time", "peak memory");
    let mut total = Duration::ZERO;
    for (name, f) in &cases {
        let (t, peak) = measure(f);
        let seed_key = name.contains("seed CNN (")
            || name.starts_with("embedding")
            || name.starts_with("dropout")
            || name.starts_with("gradient");
        if seed_key {
            total += t;
        }
        let peak = peak.map_or("n/a".to_string(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        });
        println!("{name:<70} {:>8.1} ms {peak:>14}", t.as_secs_f64() * 1e3);
    }
    println!(
        "{:<70} {:>8.1} ms",
        "whole seed question set (the five keys)",
        total.as_secs_f64() * 1e3
    );

    let (median, largest) = generated_stacks();
    println!(
        "{:<70} {:>8.1} ms   (largest {:.1} ms)",
        "receptive field, median over the 60 generated stacks",
        median.as_secs_f64() * 1e3,
        largest.as_secs_f64() * 1e3
    );

    let cache = Cache::in_memory();
    let code = Code::new(&cnn).unwrap();
    let key = "seed-cnn";
    cache
        .get_or_compute("receptive-field", &key, || {
            receptive_field::receptive_field(&code, None, None)
        })
        .unwrap();
    let (t, _) = measure(|| {
        cache
            .get_or_compute("receptive-field", &key, || {
                receptive_field::receptive_field(&code, None, None)
            })
            .unwrap();
    });
    println!(
        "{:<70} {:>8.3} ms",
        "receptive field again, from the cache",
        t.as_secs_f64() * 1e3
    );
}
