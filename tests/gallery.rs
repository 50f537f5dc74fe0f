//! The gallery of written forms (issue 9): short answers written by the examiner developers,
//! each in a class of writing that real students use (where the answer sits, how a conclusion
//! is stated, how a shape or formula is written, how a true/false verdict is phrased), with the
//! value it must read as. None of it is copied from a student notebook.
//!
//! Every `tests/gallery/*.yaml` file is a list of entries:
//!
//! ```yaml
//! - class: conclusion            # region | conclusion | shape | multipart | truth | formula
//!   question: receptive-field    # a question of the rubric
//!   rubric: cs236781-hw4-summary-v1   # optional, this is the default
//!   answer: "... so the receptive field is 112."   # the markdown cell after the question
//!   read: 112                    # what `answer.value` must be (JSON)
//!   status: correct              # optional: the status it must get
//!   note: why this form is here  # optional
//! ```
//!
//! Instead of `answer`, `cells` lays out a notebook: a plain string is a markdown cell;
//! `{q:ID}` is question ID's own cell, built from the rubric (its number, `locate.start`,
//! the statements' texts when the rubric gives them, `locate.end`); `{h:Title}` a
//! `### Title` heading; `code:...` a code cell, and `output:...` right after it that code
//! cell's printed output. Each entry is graded as a whole notebook with the shipped rubric,
//! so the test covers finding the answer as well as reading it.
//!
//! A `gradient` entry (a derivation for the backpropagation question) gives `parts` instead
//! of `read`: per tensor, the status its derivative must get and, optionally, the diagnosis:
//!
//! ```yaml
//! - class: gradient
//!   question: backprop
//!   answer: "$$\\frac{\\partial L}{\\partial W_2} = ...$$"
//!   parts: {W2: {status: correct}, W1: {status: partial, diagnosis: missing-regularisation}}
//! ```
//!
//! The test checks every entry, requires at least ten entries per class, and snapshots the
//! table of what was read (`tests/snapshots/gallery__forms.snap`; gradient entries, judged
//! part by part, are left out of it).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use examiner::grading::{self, Audience};
use examiner::reference::cache::Cache;
use examiner::rubric::{keys, Answer, Rubric};
use serde::Deserialize;
use serde_json::{json, Value};

/// The classes of writing issue 9 names; each needs at least [`MIN_PER_CLASS`] forms.
const CLASSES: [&str; 7] = [
    "region",
    "conclusion",
    "shape",
    "multipart",
    "truth",
    "formula",
    "gradient",
];
const MIN_PER_CLASS: usize = 10;
const DEFAULT_RUBRIC: &str = "cs236781-hw4-summary-v1";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    class: String,
    question: String,
    #[serde(default)]
    rubric: Option<String>,
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    cells: Option<Vec<String>>,
    /// What `answer.value` must be (every class but `gradient`, which gives `parts`).
    #[serde(default)]
    read: Value,
    /// Per part (a derivative's tensor): the status and diagnosis it must get.
    #[serde(default)]
    parts: Option<BTreeMap<String, PartWant>>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

/// What one part of an answer must get.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartWant {
    status: String,
    #[serde(default)]
    diagnosis: Option<String>,
}

/// The question's own cell, as a blank template would show it.
fn question_cell(rubric: &Rubric, id: &str) -> Result<String, String> {
    let q = rubric
        .questions
        .iter()
        .find(|q| q.id == id)
        .ok_or_else(|| format!("rubric {} has no question {id}", rubric.id))?;
    let mut text = String::new();
    if let Some(n) = &q.locate.number {
        write!(text, "{n}. ").unwrap();
    }
    text.push_str(q.locate.start.as_deref().unwrap_or(&q.title));
    if let Answer::Truth { statements } = &q.answer {
        let texts: Vec<String> = statements
            .iter()
            .filter_map(|s| serde_json::to_value(s).ok())
            .filter_map(|v| v.get("text").and_then(Value::as_str).map(str::to_string))
            .collect();
        for (i, t) in texts.iter().enumerate() {
            write!(text, "\n{}. {t}", i + 1).unwrap();
        }
    }
    if let Some(end) = &q.locate.end {
        write!(text, "\n{end}").unwrap();
    }
    Ok(text)
}

/// An nbformat-4 notebook of the entry's cells.
fn notebook_json(rubric: &Rubric, entry: &Entry) -> Result<String, String> {
    let layout: Vec<String> = match (&entry.cells, &entry.answer) {
        (Some(cells), None) => cells.clone(),
        (None, Some(answer)) => vec![format!("{{q:{}}}", entry.question), answer.clone()],
        _ => return Err("give exactly one of `answer` and `cells`".into()),
    };
    let mut cells: Vec<Value> = Vec::new();
    for item in layout {
        if let Some(id) = item.strip_prefix("{q:").and_then(|s| s.strip_suffix('}')) {
            cells.push(markdown(&question_cell(rubric, id)?));
        } else if let Some(title) = item.strip_prefix("{h:").and_then(|s| s.strip_suffix('}')) {
            cells.push(markdown(&format!("### {title}")));
        } else if let Some(source) = item.strip_prefix("code:") {
            cells.push(json!({
                "cell_type": "code", "execution_count": 1, "metadata": {},
                "outputs": [], "source": source.trim_start(),
            }));
        } else if let Some(printed) = item.strip_prefix("output:") {
            let code = cells
                .last_mut()
                .filter(|c| c["cell_type"] == "code")
                .ok_or("`output:` must follow a `code:` cell")?;
            code["outputs"] = json!([{
                "output_type": "stream", "name": "stdout", "text": printed.trim_start(),
            }]);
        } else {
            cells.push(markdown(&item));
        }
    }
    let doc = json!({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells,
    });
    Ok(doc.to_string())
}

fn markdown(source: &str) -> Value {
    json!({"cell_type": "markdown", "metadata": {}, "source": source})
}

/// Whether `got` reads as `want`: numbers within a relative 1e-9, lists element-wise.
fn same(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        _ => got == want,
    }
}

#[test]
fn forms() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gallery");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/gallery exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let rubrics: BTreeMap<String, Rubric> = common::load_rubrics()
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let cache = Cache::in_memory();
    let mut keys_of = BTreeMap::new();
    let mut per_class: BTreeMap<String, usize> = BTreeMap::new();
    let mut table = String::new();
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        let entries: Vec<Entry> =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("{name}#{}", i + 1);
            if !CLASSES.contains(&entry.class.as_str()) {
                failures.push(format!("{at}: unknown class {:?}", entry.class));
                continue;
            }
            *per_class.entry(entry.class.clone()).or_default() += 1;
            let rubric_id = entry.rubric.as_deref().unwrap_or(DEFAULT_RUBRIC);
            let Some(rubric) = rubrics.get(rubric_id) else {
                failures.push(format!("{at}: no rubric {rubric_id}"));
                continue;
            };
            let keys = keys_of
                .entry(rubric_id.to_string())
                .or_insert_with(|| keys::resolve(rubric, &cache).expect("keys resolve"));
            let json = match notebook_json(rubric, entry) {
                Ok(j) => j,
                Err(e) => {
                    failures.push(format!("{at}: {e}"));
                    continue;
                }
            };
            let notebook = examiner::notebook::read_bytes("gallery.ipynb", json.as_bytes())
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            let result = grading::check(&at, &notebook, rubric, keys, Audience::Grader);
            let Some(q) = result.questions.iter().find(|q| q.id == entry.question) else {
                failures.push(format!("{at}: no question {}", entry.question));
                continue;
            };
            let got = &q.answer.value;
            let status = q.status.as_str();
            if let Some(parts) = &entry.parts {
                for (wrt, want) in parts {
                    let Some(p) = q.parts.iter().find(|p| p.id == *wrt) else {
                        // No answer at all: every part is missing.
                        if !(q.status.as_str() == "missing" && want.status == "missing") {
                            failures.push(format!("{at}: no part {wrt} ({status})"));
                        }
                        continue;
                    };
                    let diagnosis = p.value.get("diagnosis").and_then(Value::as_str);
                    let bad_status = p.status.as_str() != want.status;
                    let bad_diagnosis = want
                        .diagnosis
                        .as_deref()
                        .is_some_and(|d| diagnosis != Some(d));
                    if bad_status || bad_diagnosis {
                        failures.push(format!(
                            "{at} [{}] {}/{wrt}: {} {}, want {} {}; read {}; feedback {:?}",
                            entry.class,
                            entry.question,
                            p.status.as_str(),
                            diagnosis.unwrap_or("-"),
                            want.status,
                            want.diagnosis.as_deref().unwrap_or("-"),
                            p.value.get("read").unwrap_or(&Value::Null),
                            p.feedback
                        ));
                    }
                }
                continue;
            }
            writeln!(
                table,
                "{at:<18} {:<10} {:<22} {:<13} {}",
                entry.class, entry.question, status, got
            )
            .unwrap();
            let read = &entry.read;
            if !same(got, read) {
                failures.push(format!(
                    "{at} [{}] {}: read {got}, want {read}\n    text: {:?}",
                    entry.class, entry.question, q.answer.text
                ));
            }
            if let Some(want) = &entry.status {
                if status != want {
                    failures.push(format!(
                        "{at} [{}] {}: status {status}, want {want}; feedback {:?}",
                        entry.class, entry.question, q.feedback
                    ));
                }
            }
        }
    }
    for class in CLASSES {
        let n = per_class.get(class).copied().unwrap_or(0);
        if n < MIN_PER_CLASS {
            failures.push(format!(
                "class {class}: {n} forms, at least {MIN_PER_CLASS} wanted"
            ));
        }
    }
    let total: usize = per_class.values().sum();
    println!("gallery: {total} forms, {per_class:?}");
    assert!(
        failures.is_empty(),
        "{} of {total} gallery checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    insta::assert_snapshot!("forms", table);
}
