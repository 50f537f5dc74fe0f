//! Reviews as data (issue 12): `grade` merges a review file into every output. A review file
//! grading every answer that awaits a person leaves no question pending; a student who edits an
//! answer after it was reviewed gets the review reported, not applied; `grade --out` never
//! touches the review file, and refuses one inside `--out`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Question `id` of `student` in the results.json file `results` (null when absent).
fn question(results: &Path, student: &str, id: &str) -> serde_json::Value {
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results).unwrap()).unwrap();
    results["submissions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["student"] == student)
        .and_then(|s| s["questions"].as_array()?.iter().find(|q| q["id"] == id))
        .cloned()
        .unwrap_or_default()
}

fn examiner(args: &[&str], dir: &Path) -> Output {
    common::run_examiner(args, dir)
}

/// A class folder: the sample submissions and rubrics, copied so that a test may edit them.
fn class(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("examiner-reviews-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["submissions", "rubrics"] {
        common::copy_tree(&root().join(sub), &dir.join(sub));
    }
    dir
}

/// The rows of a CSV file, each as column name -> value.
fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn by_student(rows: &[BTreeMap<String, String>]) -> BTreeMap<String, BTreeMap<String, String>> {
    rows.iter()
        .map(|r| (r["student"].clone(), r.clone()))
        .collect()
}

fn run_ok(args: &[&str], dir: &Path) -> String {
    let out = examiner(args, dir);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    stderr
}

/// Run 1 lists the answers awaiting a person; a TA gives each full marks (with a comment) in
/// `reviews.csv`; run 2, which reads `reviews.csv` from the current folder by default, has no
/// pending question and adds exactly those points.
#[test]
fn reviewing_every_pending_answer_completes_the_gradebook() {
    let dir = class("complete");
    run_ok(&["grade", "--out", "out1"], &dir);
    let before = by_student(&rows(&dir.join("out1/gradebook.csv")));
    let todo = rows(&dir.join("out1/reviews-todo.csv"));
    // The samples' README: Ada's dL/dx (written with a Jacobian the reader does not know) is
    // her one answer graded by hand.
    assert!(todo
        .iter()
        .any(|t| t["student"] == "ada_lovelace" && t["question"] == "backprop/x"));
    let pending: usize = before
        .values()
        .filter_map(|r| r["pending_review"].parse::<usize>().ok())
        .sum();
    assert!(pending > 0);

    let mut file = String::from("student,question,points,comment,grader,answer_hash\n");
    let mut added: BTreeMap<String, f64> = BTreeMap::new();
    // A part's review releases its question's automatic points too (the question is scored
    // as the sum of its parts once none awaits review): the gain is bounded by the question.
    let results1 = dir.join("out1/results.json");
    let question_max =
        |student: &str, id: &str| question(&results1, student, id)["max_points"].as_f64();
    for t in &todo {
        let max: f64 = match t["question"].split_once('/') {
            Some((q, _)) => question_max(&t["student"], q).unwrap(),
            None => t["max_points"].parse().unwrap(),
        };
        *added.entry(t["student"].clone()).or_default() += max;
        file.push_str(&format!(
            "{},{},{},\"fine, thorough\",ta-lin,{}\n",
            t["student"], t["question"], t["max_points"], t["answer_hash"]
        ));
    }
    std::fs::write(dir.join("reviews.csv"), &file).unwrap();
    let modified = std::fs::metadata(dir.join("reviews.csv"))
        .unwrap()
        .modified()
        .unwrap();

    let stderr = run_ok(&["grade", "--out", "out2", "--gradescope"], &dir);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{n} of {n} reviews applied from reviews.csv",
            n = todo.len()
        )),
        "{stderr}"
    );
    let after = by_student(&rows(&dir.join("out2/gradebook.csv")));
    for (student, row) in &after {
        if row["status"] != "ok" {
            continue;
        }
        assert_eq!(row["pending_review"], "0", "{student}");
        let old: f64 = before[student]["score"].parse().unwrap();
        let new: f64 = row["score"].parse().unwrap();
        let gained = added.get(student).copied().unwrap_or(0.0);
        // A review may promote an optional question over another ("answer k of n"), so the
        // gain is at most the points given.
        assert!(
            new > old - 1e-9 && new <= old + gained + 1e-9,
            "{student}: {old} -> {new}"
        );
        if gained > 0.0 {
            assert!(row["reviewed"].contains("by ta-lin"), "{row:?}");
        }
    }
    // The samples' README: Ada scores 50.4 of 51 automatically, plus 0.6 by hand.
    assert_eq!(after["ada_lovelace"]["score"], "51");

    // Every other output shows the review.
    let q = question(&dir.join("out2/results.json"), "ada_lovelace", "backprop");
    assert_eq!(q["status"], "correct");
    assert_eq!(q["reviews"][0]["grader"], "ta-lin");
    assert_eq!(q["reviews"][0]["automatic_status"], "needs-review");
    for (file, needle) in [
        ("out2/feedback/ada_lovelace.md", "reviewed by ta-lin"),
        ("out2/feedback/ada_lovelace.html", "reviewed by ta-lin"),
        ("out2/junit.xml", "reviewed by: ta-lin"),
        ("out2/gradescope/ada_lovelace.json", "Reviewed by ta-lin."),
        ("out2/feedback/ada_lovelace.md", "fine, thorough"),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(text.contains(needle), "{file} lacks {needle:?}");
    }
    assert_eq!(rows(&dir.join("out2/reviews-todo.csv")).len(), 0);
    // Never touched by a run.
    assert_eq!(
        std::fs::read_to_string(dir.join("reviews.csv")).unwrap(),
        file
    );
    assert_eq!(
        std::fs::metadata(dir.join("reviews.csv"))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ada rewrites her derivation after it was reviewed: the review is reported with its line
/// and not applied, and the answer is pending again.
#[test]
fn an_edited_answer_invalidates_its_review() {
    let dir = class("stale");
    run_ok(&["grade", "--out", "out1"], &dir);
    let todo = rows(&dir.join("out1/reviews-todo.csv"));
    let t = todo
        .iter()
        .find(|t| t["student"] == "ada_lovelace" && t["question"] == "backprop/x")
        .unwrap();
    std::fs::write(
        dir.join("my-reviews.csv"),
        format!(
            "student,question,points,comment,answer_hash\nada_lovelace,backprop/x,0.6,,{}\n",
            t["answer_hash"]
        ),
    )
    .unwrap();

    // The student edits the answer's cell.
    let cell = question(&dir.join("out1/results.json"), "ada_lovelace", "backprop")["answer"]
        ["cells"][0]
        .as_u64()
        .unwrap() as usize;
    let path = dir.join("submissions/ada_lovelace.ipynb");
    let mut nb: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let source = &mut nb["cells"][cell]["source"];
    let mut text: String = match &*source {
        serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect(),
        other => other.as_str().unwrap().to_string(),
    };
    text.push_str("\n\nAlso, by the chain rule the bias gradient is the mean of the deltas.");
    *source = serde_json::Value::String(text);
    std::fs::write(&path, serde_json::to_vec(&nb).unwrap()).unwrap();

    let stderr = run_ok(
        &["grade", "--reviews", "my-reviews.csv", "--out", "out2"],
        &dir,
    );
    assert!(
        stderr
            .contains("warning: my-reviews.csv:2: ada_lovelace's answer to backprop/x has changed"),
        "{stderr}"
    );
    assert!(stderr.contains("0 of 1 reviews applied"), "{stderr}");
    let after = by_student(&rows(&dir.join("out2/gradebook.csv")));
    assert_eq!(after["ada_lovelace"]["pending_review"], "1");
    assert_eq!(after["ada_lovelace"]["score"], "48");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A review file inside `--out` (which a run may replace) is refused; so is a broken one, with
/// its line.
#[test]
fn a_review_file_inside_out_or_broken_is_refused() {
    let dir = class("refused");
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(
        dir.join("out/reviews.csv"),
        "student,question,points,comment\n",
    )
    .unwrap();
    let out = examiner(
        &["grade", "--reviews", "out/reviews.csv", "--out", "out"],
        &dir,
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside the --out folder"));

    std::fs::write(
        dir.join("reviews.csv"),
        "student,question,points,comment\nada_lovelace,backprop,three,\n",
    )
    .unwrap();
    let out = examiner(&["grade"], &dir);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reviews.csv:2: points `three` is not a number"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
