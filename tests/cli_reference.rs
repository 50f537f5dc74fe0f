//! `examiner reference ...` as a user runs it: the stable JSON shapes, file:line:col errors
//! and exit code 2, and standard input.

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
