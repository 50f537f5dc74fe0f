//! Verdicts on real student answers: for the receptive field, q and the embedding shape, the
//! checkers' verdicts must agree with what a careful grader concludes from
//! `../shared/corpus/MANIFEST.tsv` (at least 95%), and the seeds get the verdicts the course
//! staff would give (000 full marks; 001 receptive field wrong with trace feedback, q partial;
//! 002 receptive field wrong). Skipped, with a notice, when `../shared` is absent.

mod common;

use std::collections::BTreeMap;

use common::{check, load_rubrics, manifest, seed, shared};
use examiner::grading::{QuestionResult, Status, SubmissionResult};
use examiner::reference::cache::Cache;

/// What a grader concludes from a manifest entry.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expected {
    NotAsked,
    Is(Status),
    /// Anything but `wrong`: the answer states the right thing only in words, which a person
    /// must confirm.
    NotWrong,
    /// No value given: missing or unparseable.
    NoValue,
}

fn rf_verdict(entry: &str) -> Expected {
    if entry.starts_with("n/a") {
        Expected::NotAsked
    } else if entry.starts_with("none") {
        Expected::NoValue
    } else if entry.trim_start().starts_with("112") {
        Expected::Is(Status::Correct)
    } else {
        Expected::Is(Status::Wrong)
    }
}

/// Every q formula in the manifest is equivalent to 1 - (1 - p1)(1 - p2), and any number
/// given is 0.28.
fn q_verdict(entry: &str) -> Expected {
    if entry.starts_with("n/a") {
        Expected::NotAsked
    } else {
        Expected::Is(Status::Correct)
    }
}

fn shape_verdict(entry: &str) -> Expected {
    let e = entry.trim();
    if e.starts_with("n/a") {
        Expected::NotAsked
    } else if e.starts_with("(5, 6, 7, 8, 42000)") || e.starts_with("(5x6x7x8)x42000") {
        Expected::Is(Status::Correct)
    } else if e.contains("wrong") {
        Expected::Is(Status::Wrong)
    } else {
        // "no tuple: first 4 dimensions ... + 42000", "size of X with extra dimension of 42000"
        Expected::NotWrong
    }
}

fn agrees(expected: Expected, got: Status) -> bool {
    match expected {
        Expected::NotAsked => true,
        Expected::Is(s) => s == got,
        Expected::NotWrong => got != Status::Wrong,
        Expected::NoValue => matches!(got, Status::Missing | Status::Unparseable),
    }
}

fn question<'a>(r: &'a SubmissionResult, id: &str) -> &'a QuestionResult {
    r.questions
        .iter()
        .find(|q| q.id == id)
        .unwrap_or_else(|| panic!("{} has {id}", r.rubric))
}

#[test]
fn verdicts_agree_with_the_manifest() {
    let Some(shared) = shared() else { return };
    let rubrics = load_rubrics();
    let cache = Cache::in_memory();
    let mut per_question: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut per_variant: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for row in manifest(&shared) {
        let result = check(&row.path, &rubrics, &cache);
        for (id, expected) in [
            ("receptive-field", rf_verdict(&row.rf)),
            ("dropout-q", q_verdict(&row.q)),
            ("embedding-shape", shape_verdict(&row.embedding)),
        ] {
            if expected == Expected::NotAsked {
                continue;
            }
            let q = question(&result, id);
            let ok = agrees(expected, q.status);
            for tally in [
                per_question.entry(id).or_default(),
                per_variant.entry(row.variant.clone()).or_default(),
            ] {
                tally.1 += 1;
                tally.0 += usize::from(ok);
            }
            if !ok {
                disagreements.push(format!(
                    "{} {id}: expected {expected:?}, got {:?} ({:?})",
                    row.path.file_name().unwrap().to_string_lossy(),
                    q.status,
                    q.feedback
                ));
            }
        }
    }
    eprintln!("verdicts vs MANIFEST.tsv:");
    for (v, (ok, n)) in &per_variant {
        eprintln!("  {v:<4} {ok}/{n}");
    }
    for (q, (ok, n)) in &per_question {
        eprintln!("  {q:<16} {ok}/{n}");
    }
    for d in &disagreements {
        eprintln!("  disagreement: {d}");
    }
    for (q, (ok, n)) in &per_question {
        assert!(
            *ok as f64 >= 0.95 * *n as f64,
            "{q}: {ok}/{n} agree (below 95%)"
        );
    }
}

#[test]
fn the_seeds_get_the_staffs_verdicts() {
    let Some(shared) = shared() else { return };
    let rubrics = load_rubrics();
    let cache = Cache::in_memory();

    let s000 = check(&seed(&shared, "000"), &rubrics, &cache);
    for id in ["receptive-field", "dropout-q"] {
        let q = question(&s000, id);
        assert_eq!(q.status, Status::Correct, "000 {id}: {:?}", q.feedback);
        assert_eq!(q.points, Some(q.max_points), "000 {id}: full marks");
    }

    let s001 = check(&seed(&shared, "001"), &rubrics, &cache);
    let rf = question(&s001, "receptive-field");
    assert_eq!(rf.status, Status::Wrong, "001 rf: {:?}", rf.feedback);
    assert_eq!(rf.answer.value, serde_json::json!(54.0));
    assert!(
        rf.feedback.iter().any(|f| f.contains("Reference trace")),
        "001 rf names where the working diverges: {:?}",
        rf.feedback
    );
    let q = question(&s001, "dropout-q");
    assert_eq!(q.status, Status::Partial, "001 q: {:?}", q.feedback);
    assert!(
        q.feedback.iter().any(|f| f.contains("formula is right")),
        "001 q says which part was right: {:?}",
        q.feedback
    );

    let s002 = check(&seed(&shared, "002"), &rubrics, &cache);
    let rf = question(&s002, "receptive-field");
    assert_eq!(rf.status, Status::Wrong, "002 rf: {:?}", rf.feedback);
    assert_eq!(rf.answer.value, serde_json::json!(289.0));
}

#[test]
fn only_the_allowed_number_of_optional_theory_questions_count() {
    let Some(shared) = shared() else { return };
    let rubrics = load_rubrics();
    let v6 = rubrics
        .iter()
        .find(|r| r.id == "cs236781-2023-theoretical-v6")
        .expect("V6 rubric");
    assert!(!v6.choose.is_empty(), "V6 has an answer-k-of-n rule");
    let cache = Cache::in_memory();
    for row in manifest(&shared).iter().filter(|r| r.variant == "V6") {
        let result = check(&row.path, &rubrics, &cache);
        for rule in &v6.choose {
            let counted = result
                .questions
                .iter()
                .filter(|q| rule.questions.contains(&q.id) && q.counted)
                .count();
            assert_eq!(counted, rule.count, "{}", row.path.display());
        }
        let sum: f64 = result
            .questions
            .iter()
            .filter(|q| q.counted)
            .map(|q| q.points.unwrap_or(0.0))
            .sum();
        assert_eq!(result.score, Some(sum));
        assert!(sum <= result.max_score);
    }
}
