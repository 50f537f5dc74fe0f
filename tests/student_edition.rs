//! Student editions (`examiner rubric student`): an edition holds no key, mistake, sample or
//! import (what a rubric imports is written inline); the class in `submissions/` graded with the
//! student editions of every shipped rubric shows no verdict and no key in any output (the
//! terminal, results.json, gradebook.csv, junit.xml, items, feedback); and `check` with one
//! says once at the top that it gives no verdict. Independent evidence of "no key": the full
//! rubrics' own key texts (true/false reasons, known-mistake messages, concept names) appear
//! nowhere, and every status is one a search can give without a key (found, missing,
//! unparseable).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use examiner::rubric::{self, Answer};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn examiner(args: &[&std::ffi::OsStr], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(args)
        .current_dir(root())
        .env("EXAMINER_CACHE_DIR", dir.join(".cache"))
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("examiner runs")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Key texts of the full rubrics that no student writes: reasons of true/false keys and
/// known-mistake messages, of six words or more (concept names are short phrases a student
/// may well write).
fn key_texts() -> Vec<String> {
    let mut texts = Vec::new();
    for (_, r) in rubric::load_dir(&root().join("rubrics")).unwrap() {
        for q in &r.questions {
            texts.extend(q.mistakes.iter().map(|m| m.message.clone()));
            if let Answer::Truth { statements } = &q.answer {
                texts.extend(statements.iter().map(|s| s.why.clone()));
            }
        }
    }
    texts.retain(|t| t.split_whitespace().count() >= 6);
    texts
}

#[test]
fn grading_with_student_editions_shows_no_verdict_and_no_key() {
    let dir = std::env::temp_dir().join(format!("examiner-student-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let editions = dir.join("students");
    std::fs::create_dir_all(&editions).unwrap();
    let mut rubrics: Vec<PathBuf> = std::fs::read_dir(root().join("rubrics"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    rubrics.sort();
    for r in &rubrics {
        let out = editions.join(r.file_name().unwrap());
        let o = examiner(
            &[
                "rubric".as_ref(),
                "student".as_ref(),
                r.as_os_str(),
                "-o".as_ref(),
                out.as_os_str(),
            ],
            &dir,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let edition = rubric::load_file(&out).expect("a student edition loads");
        assert!(edition.student);
        let text = std::fs::read_to_string(&out).unwrap();
        for banned in [
            "imports:",
            "- use:",
            "mistakes:",
            "samples:",
            "reference:",
            "formula:",
            "key:",
            "why:",
            "any:",
            "value:",
        ] {
            assert!(
                !text.contains(banned),
                "{}: `{banned}` in the student edition",
                out.display()
            );
        }
    }
    let out = dir.join("out");
    let grade = examiner(
        &[
            "grade".as_ref(),
            "submissions".as_ref(),
            "--rubric".as_ref(),
            editions.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--details".as_ref(),
        ],
        &dir,
    );
    let terminal = format!(
        "{}{}",
        String::from_utf8_lossy(&grade.stdout),
        String::from_utf8_lossy(&grade.stderr)
    );

    // results.json: no status a key is needed for, no points, no score, no expected answer.
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let mut questions = 0;
    let submissions = results
        .get("submissions")
        .and_then(|s| s.as_array())
        .cloned()
        .or_else(|| results.as_array().cloned())
        .expect("results.json lists the submissions");
    for s in &submissions {
        let Some(qs) = s
            .pointer("/result/questions")
            .or_else(|| s.get("questions"))
        else {
            continue; // an error row
        };
        let score = s.pointer("/result/score").or_else(|| s.get("score"));
        assert!(score.is_none_or(|v| v.is_null()), "a score: {s}");
        for q in qs.as_array().unwrap() {
            questions += 1;
            let status = q["status"].as_str().unwrap();
            assert!(
                ["ungraded", "missing", "unparseable"].contains(&status),
                "verdict `{status}` in results.json: {q}"
            );
            assert!(q["points"].is_null(), "points in results.json: {q}");
            assert!(q["expected"].is_null(), "a key in results.json: {q}");
            assert!(q["parts"].as_array().is_none_or(|p| p.is_empty()), "{q}");
        }
    }
    assert!(
        questions > 100,
        "the class was graded ({questions} answers)"
    );

    // gradebook.csv: no score in any column after the status.
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let score_col = header.iter().position(|h| *h == "score").unwrap();
    for row in csv::Reader::from_reader(csv.as_bytes()).records().flatten() {
        if row.get(3) != Some("ok") {
            continue;
        }
        assert_eq!(
            row.get(score_col),
            Some(""),
            "a score in the gradebook: {row:?}"
        );
        for (i, cell) in row.iter().enumerate().skip(score_col + 3) {
            assert!(cell.is_empty(), "points for `{}`: {row:?}", header[i]);
        }
    }

    // junit.xml: failures only for missing or unreadable answers.
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    for (i, _) in junit.match_indices("<failure ") {
        let tag = &junit[i..junit[i..].find('>').map_or(junit.len(), |e| i + e)];
        assert!(
            tag.contains("type=\"missing\"") || tag.contains("type=\"unparseable\""),
            "a verdict in junit.xml: {tag}"
        );
    }

    // items.json: no answer counted right, partly right, wrong or for review.
    let items: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("items.json")).unwrap()).unwrap();
    let text = items.to_string();
    for verdict in [
        "correct",
        "partial",
        "wrong",
        "needs_review",
        "needs-review",
    ] {
        for (i, _) in text.match_indices(&format!("\"{verdict}\":")) {
            let rest = &text[i + verdict.len() + 3..];
            assert!(
                rest.starts_with('0'),
                "items.json counts `{verdict}`: {}",
                &rest[..20.min(rest.len())]
            );
        }
    }

    // Feedback pages and the terminal: every status label is one of the three, and no key
    // text of the full rubrics appears anywhere.
    let mut all = vec![(PathBuf::from("terminal"), terminal.clone())];
    let mut files = Vec::new();
    files_under(&out, &mut files);
    for f in files {
        all.push((f.clone(), std::fs::read_to_string(&f).unwrap_or_default()));
    }
    let label = regex::Regex::new(r#"class="status ([\w-]+)""#).unwrap();
    let md_row = regex::Regex::new(r"(?m)^\| [^|]+ \| ([\w-]+) \| [^|]*/[^|]* \|$").unwrap();
    let keys = key_texts();
    assert!(keys.len() > 50, "the full rubrics hold key texts");
    for (path, text) in &all {
        for c in label.captures_iter(text).chain(md_row.captures_iter(text)) {
            assert!(
                ["ungraded", "missing", "unparseable"].contains(&&c[1]),
                "{}: status `{}`",
                path.display(),
                &c[1]
            );
        }
        for k in &keys {
            assert!(
                !text.contains(k.as_str()),
                "{}: key text {k:?}",
                path.display()
            );
        }
    }

    // check: says once, at the top, that it gives no verdict.
    let edition = editions.join("cs236781-hw4-summary-v1.yaml");
    let check = examiner(
        &[
            "check".as_ref(),
            "submissions/ada_lovelace.ipynb".as_ref(),
            "--rubric".as_ref(),
            edition.as_os_str(),
        ],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        stdout.starts_with("student edition of the rubric"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("never whether an answer is right").count(),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}
