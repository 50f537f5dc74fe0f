//! `examiner grade` and `examiner check` as a user runs them: broken files become error rows
//! and the run goes on, every output file is written, and the exit codes are the documented
//! ones (0 ok, 1 below --fail-under or a required answer missing, 2 usage or rubric error).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn examiner(args: &[&str], dir: &Path) -> Output {
    common::run_examiner(args, dir)
}

fn temp(name: &str) -> PathBuf {
    common::fresh_dir("cli-grade", name)
}

/// A small class: one notebook we write here (a V1-style question set is not needed: the
/// documented example rubric recognises "Summary Questions" and "receptive field"), plus
/// broken files of every kind.
fn class(dir: &Path) -> PathBuf {
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
            {"cell_type": "markdown", "metadata": {}, "source": ["**Answer:** RF = 4x4 pixels"]}
        ]
    });
    std::fs::write(
        subs.join("good.ipynb"),
        serde_json::to_vec(&notebook).unwrap(),
    )
    .unwrap();
    std::fs::write(
        subs.join("truncated.ipynb"),
        br#"{"cells": [{"cell_type": "mark"#,
    )
    .unwrap();
    std::fs::write(subs.join("empty.ipynb"), b"").unwrap();
    std::fs::write(subs.join("binary.ipynb"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    std::fs::write(subs.join("README.md"), b"not a submission").unwrap();
    subs
}

/// The rubric of rubrics/FORMAT.md, as a file in `dir`, with its key lock.
fn rubric(dir: &Path) -> PathBuf {
    common::write_format_example(dir, true)
}

#[test]
fn broken_files_are_error_rows_and_every_output_is_written() {
    let dir = temp("outputs");
    let subs = class(&dir);
    let rubric = rubric(&dir);
    let out = dir.join("out");
    let o = examiner(
        &[
            "grade",
            subs.to_str().unwrap(),
            "--rubric",
            rubric.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--gradescope",
        ],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (student, reason) in [
        ("truncated", "truncated"),
        ("empty", "empty"),
        ("binary", "binary"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(student))
            .unwrap_or_else(|| panic!("a row for {student}: {stdout}"));
        assert!(line.contains("ERROR"), "{line}");
        assert!(
            line.to_lowercase().contains(reason) || reason == "binary",
            "{line}"
        );
    }
    assert!(!stdout.contains("README"), "README.md is not a submission");
    let good = stdout
        .lines()
        .find(|l| l.starts_with("good"))
        .expect("good row");
    assert!(good.contains("5/5"), "{good}");

    for file in [
        "gradebook.csv",
        "results.json",
        "junit.xml",
        "items.md",
        "items.json",
    ] {
        assert!(out.join(file).is_file(), "{file} written");
    }
    assert!(out.join("feedback/good.md").is_file());
    assert!(out.join("feedback/good.html").is_file());
    assert!(out.join("gradescope/good.json").is_file());
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "header + 4 submissions:\n{csv}");
    assert!(csv
        .lines()
        .any(|l| l.starts_with("truncated,") && l.contains("error")));
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "atomic writes leave no temporary files"
    );
}

#[test]
fn fail_under_exits_1() {
    let dir = temp("fail-under");
    let subs = class(&dir);
    let rubric = rubric(&dir);
    let run = |threshold: &str| {
        examiner(
            &[
                "grade",
                subs.join("good.ipynb").to_str().unwrap(),
                "--rubric",
                rubric.to_str().unwrap(),
                "--fail-under",
                threshold,
            ],
            &dir,
        )
        .status
        .code()
    };
    assert_eq!(run("5"), Some(0), "5/5 is not below 5");
    assert_eq!(run("100%"), Some(0));
    assert_eq!(run("6"), Some(1));
    assert_eq!(run("101%"), Some(1));
}

#[test]
fn check_exit_codes_and_junit() {
    let dir = temp("check");
    let subs = class(&dir);
    let rubric = rubric(&dir);
    let good = subs.join("good.ipynb");
    let o = examiner(
        &[
            "check",
            good.to_str().unwrap(),
            "--rubric",
            rubric.to_str().unwrap(),
            "--format",
            "junit",
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(0));
    let xml = String::from_utf8_lossy(&o.stdout);
    assert!(
        xml.contains("<testcase") && xml.contains("receptive-field"),
        "{xml}"
    );

    // The question without its answer: a required answer is missing, exit 1.
    let text = std::fs::read_to_string(&good)
        .unwrap()
        .replace("RF = 4x4 pixels", "");
    let unanswered = subs.join("unanswered.ipynb");
    std::fs::write(&unanswered, text).unwrap();
    let o = examiner(
        &[
            "check",
            unanswered.to_str().unwrap(),
            "--rubric",
            rubric.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // A rubric with a typo: exit 2 with file:line:col.
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&rubric)
            .unwrap()
            .replace("points:", "pointz:"),
    )
    .unwrap();
    let o = examiner(
        &[
            "check",
            good.to_str().unwrap(),
            "--rubric",
            bad.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.yaml:16:5"));

    // A notebook that is not one: exit 2 with the reason.
    let o = examiner(
        &[
            "check",
            subs.join("empty.ipynb").to_str().unwrap(),
            "--rubric",
            rubric.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(2));
}
