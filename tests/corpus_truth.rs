//! Per-statement true/false readings against `../shared/corpus/TRUTH.tsv`: what each corpus
//! student (and each of the first three seeds) answered for every one of the 22 true/false
//! statements, as labelled by reviewers. Every notebook is graded with the shipped rubric it
//! is recognised as, and the reading of each statement (`answer.value` of its question, one
//! entry per statement) must agree with the label: `true` with `T`, `false` with `F`, and
//! `null` only with `none`. A statement flagged for review still reports its best reading.
//!
//! Prints the overall figure, the figure per notebook, every disagreement, and how many
//! readings were right, flagged for review, or confidently wrong. Skipped, with a notice, when
//! `../shared` is absent; fails when `../shared` exists without `TRUTH.tsv`.

mod common;

use std::collections::BTreeMap;

use common::{check, load_rubrics, shared, tsv_fields};
use examiner::grading::{QuestionResult, Status, SubmissionResult};
use examiner::reference::cache::Cache;
use serde_json::Value;

/// The rubric question and 0-based statement index of a `TRUTH.tsv` statement id.
fn statement(id: &str) -> (&'static str, usize) {
    let (stem, n) = match id.rsplit_once('-') {
        Some((stem, n)) if n.chars().all(|c| c.is_ascii_digit()) => {
            (stem, n.parse::<usize>().expect("statement number"))
        }
        _ => (id, 1),
    };
    let question = match stem {
        "dropout-placement" => "dropout-placement",
        "relu" => "relu-statements",
        "sgd" => "sgd-statements",
        "bilevel" => "bilevel-inner-solver",
        "tbptt" => "tbptt-statements",
        "vae" => "vae-statements",
        "gan" => "gan-statements",
        other => panic!("unknown statement id {other}"),
    };
    (question, n - 1)
}

fn question<'a>(r: &'a SubmissionResult, id: &str) -> Option<&'a QuestionResult> {
    r.questions.iter().find(|q| q.id == id)
}

/// The reading of statement `index` of `q`: `Some(true)`, `Some(false)`, or `None` (null,
/// or the question is absent); and whether that statement was flagged for review.
fn reading(q: Option<&QuestionResult>, index: usize) -> (Option<bool>, bool, String) {
    let Some(q) = q else {
        return (None, false, String::new());
    };
    let read = match &q.answer.value {
        Value::Array(items) => items.get(index).and_then(Value::as_bool),
        _ => None,
    };
    let part = q.parts.get(index);
    let flagged = part.is_some_and(|p| p.status == Status::NeedsReview);
    let why = part.map(|p| p.feedback.join("; ")).unwrap_or_default();
    (read, flagged, why)
}

/// `cell 19 line 1 ...` -> 19.
fn where_cell(at: &str) -> Option<usize> {
    let mut words = at.split_whitespace();
    (words.next()? == "cell").then_some(())?;
    words.next()?.parse().ok()
}

/// `cell 19 line 1 ...` -> 1.
fn where_line(at: &str) -> Option<usize> {
    let words: Vec<&str> = at.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "line")?;
    words.get(i + 1)?.parse().ok()
}

fn label(word: &str) -> Option<bool> {
    match word {
        "T" => Some(true),
        "F" => Some(false),
        "none" => None,
        other => panic!("unknown label {other}"),
    }
}

#[test]
fn statement_readings_agree_with_truth_tsv() {
    let Some(shared) = shared() else { return };
    let tsv = shared.join("corpus/TRUTH.tsv");
    let text = std::fs::read_to_string(&tsv)
        .unwrap_or_else(|e| panic!("{} must exist next to MANIFEST.tsv: {e}", tsv.display()));
    let rubrics = load_rubrics();
    let cache = Cache::in_memory();
    let mut results: BTreeMap<String, SubmissionResult> = BTreeMap::new();
    let mut per_notebook: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut disagreements = Vec::new();
    let mut flags = Vec::new();
    // Where the verdict was read against where the label says it is (notebooks only).
    let (mut located, mut same_cell, mut same_line) = (0usize, 0usize, 0usize);
    let mut elsewhere = Vec::new();
    let (mut right, mut flagged, mut unread, mut wrong) = (0usize, 0usize, 0usize, 0usize);
    let mut rows = 0usize;
    let (mut tricky_rows, mut tricky_agree) = (0usize, 0usize);
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let f = tsv_fields(line);
        assert!(f.len() >= 5, "malformed TRUTH.tsv row: {line}");
        let (file, id, answer, tricky) = (&f[0], &f[1], &f[2], &f[4]);
        let path = if file.ends_with(".ipynb") {
            shared.join("corpus").join(file)
        } else {
            shared.join("seeds").join(file)
        };
        let result = results
            .entry(file.clone())
            .or_insert_with(|| check(&path, &rubrics, &cache));
        let (qid, index) = statement(id);
        let (read, is_flagged, why) = reading(question(result, qid), index);
        let want = label(answer);
        let place = question(result, qid).and_then(|q| q.parts.get(index));
        if let (Some(p), Some(cell), Some(line)) = (place, where_cell(&f[3]), where_line(&f[3])) {
            if read.is_some() && file.ends_with(".ipynb") {
                located += 1;
                if p.cells.first() == Some(&cell) {
                    same_cell += 1;
                    same_line += usize::from(p.line == Some(line));
                }
                if p.cells.first() != Some(&cell) || p.line != Some(line) {
                    elsewhere.push(format!(
                        "{file} {id}: label at {}, read at cells {:?} line {:?}",
                        f[3], p.cells, p.line
                    ));
                }
            }
        }
        let ok = read == want;
        rows += 1;
        if tricky == "1" {
            tricky_rows += 1;
            tricky_agree += usize::from(ok);
        }
        let tally = per_notebook.entry(file.clone()).or_default();
        tally.1 += 1;
        tally.0 += usize::from(ok);
        if is_flagged {
            flags.push(format!("{file} {id}: label {answer}: {why}"));
        }
        if ok && !is_flagged {
            right += 1;
        } else if is_flagged {
            flagged += 1;
        } else if read.is_none() {
            unread += 1;
        } else {
            wrong += 1;
        }
        if !ok {
            let show = |v: Option<bool>| v.map_or("null".to_string(), |b| b.to_string());
            disagreements.push(format!(
                "{file} {id}: label {answer}, read {}{}{}",
                show(read),
                if is_flagged { " (flagged)" } else { "" },
                if tricky == "1" { " [tricky]" } else { "" },
            ));
        }
    }
    let agree: usize = per_notebook.values().map(|t| t.0).sum();
    let figure = 100.0 * agree as f64 / rows.max(1) as f64;
    eprintln!("per-statement readings vs TRUTH.tsv: {agree}/{rows} agree ({figure:.1}%)");
    eprintln!("  of which rows marked tricky: {tricky_agree}/{tricky_rows} agree");
    for (file, (ok, n)) in &per_notebook {
        eprintln!("  {ok:>2}/{n:<2} {file}");
    }
    eprintln!(
        "right {right}, flagged for review {flagged}, unread (null, a verdict was given) {unread}, \
         confidently wrong {wrong}"
    );
    eprintln!(
        "where read vs the label's where (notebooks): same cell {same_cell}/{located}, \
         same cell and line {same_line}/{located}"
    );
    for e in &elsewhere {
        eprintln!("  located elsewhere: {e}");
    }
    for f in &flags {
        eprintln!("  flagged: {f}");
    }
    for d in &disagreements {
        eprintln!("  disagreement: {d}");
    }
    assert_eq!(rows, 374, "TRUTH.tsv has 374 statement rows");
    assert!(
        agree as f64 >= 0.98 * rows as f64,
        "{agree}/{rows} agree ({figure:.1}%, below 98%)"
    );
}
