//! `examiner reference ...` as a user runs it: the stable JSON shapes, file:line:col errors
//! and exit code 2, and standard input.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reference")
        .join(name)
}

fn examiner(args: &[&str], stdin: Option<&str>) -> Output {
    let cache = std::env::temp_dir().join(format!("examiner-cli-test-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(args)
        .env("EXAMINER_CACHE_DIR", &cache)
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("examiner runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = examiner(args, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn keys(v: &serde_json::Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[test]
fn receptive_field_json() {
    if !common::reference_available("receptive_field_json") {
        return;
    }
    let file = fixture("seed_cnn.py");
    let v = json(&[
        "reference",
        "receptive-field",
        "--format",
        "json",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        keys(&v),
        [
            "input_shape",
            "model",
            "output_shape",
            "receptive_field",
            "trace"
        ]
    );
    assert_eq!(v["receptive_field"], serde_json::json!([112, 112]));
    assert_eq!(v["output_shape"], serde_json::json!([1, 32, 122, 122]));
    assert_eq!(
        keys(&v["trace"][0]),
        ["index", "jump", "layer", "receptive_field"]
    );
}

#[test]
fn shape_json_from_standard_input() {
    let source = std::fs::read_to_string(fixture("embedding.py")).unwrap();
    let out = examiner(
        &["reference", "shape", "--format", "json", "-"],
        Some(&source),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "Y");
    assert_eq!(v["shape"], serde_json::json!([5, 6, 7, 8, 42000]));
}

#[test]
fn dropout_json_from_flags_and_from_code() {
    if !common::reference_available("dropout_json_from_flags_and_from_code") {
        return;
    }
    let from_flags = json(&[
        "reference",
        "dropout",
        "--p",
        "0.1",
        "--p",
        "0.2",
        "--format",
        "json",
    ]);
    for k in ["p", "q", "q_measured", "stderr"] {
        assert!(from_flags.get(k).is_some(), "missing {k}");
    }
    let file = fixture("dropout_stack.py");
    let from_code = json(&[
        "reference",
        "dropout",
        "--format",
        "json",
        file.to_str().unwrap(),
    ]);
    assert_eq!(from_flags, from_code, "same p, same seed, same measurement");
}

#[test]
fn gradient_json() {
    if !common::reference_available("gradient_json") {
        return;
    }
    let file = fixture("foo_gradient.py");
    let v = json(&[
        "reference",
        "gradient",
        "--format",
        "json",
        file.to_str().unwrap(),
    ]);
    assert_eq!(v["of"], "loss");
    assert_eq!(keys(&v["gradients"]), ["W", "b"]);
    assert_eq!(
        keys(&v["gradients"]["b"]),
        ["norm", "shape", "truncated", "values"]
    );
    let only_b = json(&[
        "reference",
        "gradient",
        "--wrt",
        "b",
        "--format",
        "json",
        file.to_str().unwrap(),
    ]);
    assert_eq!(keys(&only_b["gradients"]), ["b"]);
}

#[test]
fn bad_code_exits_2_with_file_line_and_column() {
    let out = examiner(
        &["reference", "receptive-field", "-"],
        Some("cnn = nn.Sequential(\n    nn.Conv2d(3, 4, 3),\n)\nfor i in range(3):\n    pass\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("<stdin>:4:1:"), "{err}");
    assert!(err.contains("`for` loop"), "{err}");
}

#[test]
fn a_missing_file_exits_2() {
    let out = examiner(&["reference", "shape", "no/such/file.py"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read no/such/file.py"));
}

/// A temporary folder for one test.
fn temp(name: &str) -> PathBuf {
    common::fresh_dir("flags", name)
}

/// Every documented flag of every subcommand (src/cli.rs, README.md), run through the binary:
/// none may panic (exit 101, clap's "Mismatch between definition and access" included), and
/// each exits with a documented code. Inputs are the small fixtures, so the whole table runs
/// in seconds.
#[test]
fn every_documented_flag_runs_without_a_panic() {
    if !common::reference_available("every_documented_flag_runs_without_a_panic") {
        return;
    }
    let dir = temp("all");
    // The rubric of rubrics/FORMAT.md and a one-answer notebook written here.
    let rubric = common::write_format_example(&dir, false);
    let subs = dir.join("class");
    std::fs::create_dir_all(&subs).unwrap();
    let notebook = serde_json::json!({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Summary Questions\n", "### CNNs\n"]},
            {"cell_type": "markdown", "metadata": {}, "source": [
                "3. Imagine a CNN with three convolutional layers, defined as follows:\n"]},
            {"cell_type": "markdown", "metadata": {}, "source": [
                "What is the size of the receptive field of each pixel in the output tensor?"]},
            {"cell_type": "markdown", "metadata": {}, "source": ["**Answer:** it is 112 pixels"]}
        ]
    });
    let nb = subs.join("one.ipynb");
    std::fs::write(&nb, serde_json::to_vec(&notebook).unwrap()).unwrap();
    let out = dir.join("out");
    let (rubric, nb, subs, out) = (
        rubric.to_str().unwrap(),
        nb.to_str().unwrap(),
        subs.to_str().unwrap(),
        out.to_str().unwrap(),
    );
    let cnn = fixture("seed_cnn.py");
    let cnn = cnn.to_str().unwrap();
    let foo = fixture("foo_gradient.py");
    let foo = foo.to_str().unwrap();
    let mlp = fixture("mlpirate.py");
    let mlp = mlp.to_str().unwrap();
    let emb = fixture("embedding.py");
    let emb = emb.to_str().unwrap();
    let stack = dir.join("stack.py");
    std::fs::write(
        &stack,
        "import torch.nn as nn\nstack = nn.Sequential(nn.Dropout(0.1), nn.Dropout(p=0.2))\n",
    )
    .unwrap();
    let stack = stack.to_str().unwrap();
    let resnet = fixture("resnet_bottleneck.py");
    let resnet = resnet.to_str().unwrap();

    let ok: &[i32] = &[0];
    let ok_or_1: &[i32] = &[0, 1];
    let cases: Vec<(Vec<&str>, &[i32])> = vec![
        (vec!["--version"], ok),
        (vec!["--help"], ok),
        (vec!["reference", "--help"], ok),
        (vec!["rubric", "--help"], ok),
        // reference receptive-field: --model, --input, --format, --no-cache, FILE and -.
        (vec!["reference", "receptive-field", cnn], ok),
        (
            vec![
                "reference",
                "receptive-field",
                "--model",
                "cnn",
                "--input",
                "1,3,512,512",
                "--format",
                "json",
                "--no-cache",
                cnn,
            ],
            ok,
        ),
        (
            vec![
                "reference",
                "receptive-field",
                "--input",
                "(2, 3, 64, 64)",
                resnet,
            ],
            ok,
        ),
        (
            vec!["reference", "receptive-field", "--format", "text", cnn],
            ok,
        ),
        // reference shape: --name.
        (
            vec!["reference", "shape", "--name", "Y", "--no-cache", emb],
            ok,
        ),
        (vec!["reference", "shape", "--format", "json", emb], ok),
        // reference dropout: --p (repeated), --model, FILE, --format.
        (vec!["reference", "dropout", "--p", "0.1", "--p", "0.2"], ok),
        (
            vec![
                "reference",
                "dropout",
                "--model",
                "stack",
                "--format",
                "json",
                stack,
            ],
            ok,
        ),
        // reference gradient: --of, --wrt, --profile, --model, --input.
        (
            vec!["reference", "gradient", "--of", "loss", "--wrt", "W,b", foo],
            ok,
        ),
        (
            vec![
                "reference",
                "gradient",
                "--profile",
                "--model",
                "mlpirate",
                "--input",
                "8,42",
                "--format",
                "json",
                mlp,
            ],
            ok,
        ),
        // reference parameters: --model, --input, --format, --no-cache.
        (vec!["reference", "parameters", resnet], ok),
        (
            vec![
                "reference",
                "parameters",
                "--model",
                "cnn",
                "--input",
                "1,3,64,64",
                "--format",
                "json",
                "--no-cache",
                cnn,
            ],
            ok,
        ),
        // rubric lint / test.
        (vec!["rubric", "lint", rubric], ok_or_1),
        (vec!["rubric", "test", rubric], ok_or_1),
        // check: --rubric, --format text|json|junit.
        (vec!["check", nb, "--rubric", rubric], ok_or_1),
        (
            vec!["check", nb, "--rubric", rubric, "--format", "json"],
            ok_or_1,
        ),
        (
            vec!["check", nb, "--rubric", rubric, "--format", "junit"],
            ok_or_1,
        ),
        // grade: --rubric, --out, --gradescope, --fail-under (points and %), --details, --jobs.
        (
            vec![
                "grade",
                subs,
                "--rubric",
                rubric,
                "--out",
                out,
                "--gradescope",
                "--details",
                "--jobs",
                "1",
            ],
            ok,
        ),
        (
            vec!["grade", subs, "--rubric", rubric, "--fail-under", "60%"],
            ok_or_1,
        ),
        (
            vec!["grade", subs, "--rubric", rubric, "--fail-under", "1"],
            ok_or_1,
        ),
    ];
    let cache = dir.join(".cache");
    for (args, expected) in &cases {
        let started = std::time::Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_examiner"))
            .args(args)
            .current_dir(&dir)
            .env("EXAMINER_CACHE_DIR", &cache)
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_ACTIONS")
            .output()
            .expect("examiner runs");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
        let code = o.status.code().unwrap_or(-1);
        eprintln!("{:>6.2} s  {args:?}", started.elapsed().as_secs_f64());
        assert!(
            expected.contains(&code),
            "{args:?} exited {code}, expected one of {expected:?}: {stderr}"
        );
    }
    // A bad value is a usage error (2), never a panic.
    for args in [
        vec!["reference", "receptive-field", "--input", "1,3,x", cnn],
        vec!["reference", "receptive-field", "--input", "0,3,8,8", cnn],
        vec!["grade", "--fail-under", "lots"],
        vec!["check", nb, "--format", "yaml"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_examiner"))
            .args(&args)
            .current_dir(&dir)
            .env("EXAMINER_CACHE_DIR", &cache)
            .output()
            .expect("examiner runs");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
