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

/// How a verdict stands against what a careful grader concludes: right (and confident),
/// flagged for review, or confidently wrong (any confident status that disagrees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Right,
    Flagged,
    ConfidentlyWrong,
}

fn outcome(expected: Expected, got: Status) -> Outcome {
    if got == Status::NeedsReview {
        return Outcome::Flagged;
    }
    let right = match expected {
        Expected::NotAsked => true,
        Expected::Is(s) => s == got,
        // Stated in words and right: a TA gives the marks.
        Expected::NotWrong => got == Status::Correct,
        Expected::NoValue => matches!(got, Status::Missing | Status::Unparseable),
    };
    if right {
        Outcome::Right
    } else {
        Outcome::ConfidentlyWrong
    }
}

/// Variants held out while the readers were tuned: their answers were not read when the
/// first round of rules (conclusions, bare and multi-part shapes) was written, and their
/// figures are reported separately. (The shapes-in-words rules of the second round were
/// written after reading V3's misses: V3 was 0 / 4 / 0 before that round.)
const HELD_OUT: &[&str] = &["V3"];

/// The per-kind table of issue 9: for the receptive field (number), q (expression) and the
/// embedding shape (shape), how many corpus answers are right, flagged for review, or
/// confidently wrong; for all of the dev corpus and for the held-out variants alone.
/// Acceptance: 0 confidently wrong, at most 2 flagged.
#[test]
fn per_kind_right_flagged_confidently_wrong() {
    let Some(shared) = shared() else { return };
    let rubrics = load_rubrics();
    let cache = Cache::in_memory();
    // (kind, held out) -> [right, flagged, wrong]
    let mut table: BTreeMap<(&str, bool), [usize; 3]> = BTreeMap::new();
    let mut by_variant: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    let mut lines = Vec::new();
    for row in manifest(&shared) {
        let result = check(&row.path, &rubrics, &cache);
        let held = HELD_OUT.contains(&row.variant.as_str());
        for (id, expected) in [
            ("receptive-field", rf_verdict(&row.rf)),
            ("dropout-q", q_verdict(&row.q)),
            ("embedding-shape", shape_verdict(&row.embedding)),
        ] {
            if expected == Expected::NotAsked {
                continue;
            }
            let q = question(&result, id);
            let o = outcome(expected, q.status);
            table.entry((id, held)).or_default()[o as usize] += 1;
            by_variant.entry(row.variant.clone()).or_default()[o as usize] += 1;
            if o != Outcome::Right {
                lines.push(format!(
                    "  {o:?}: {} {id}: expected {expected:?}, got {:?} read {} ({:?})",
                    row.path.file_name().unwrap().to_string_lossy(),
                    q.status,
                    q.answer.value,
                    q.feedback
                ));
            }
        }
    }
    eprintln!("per kind (right / flagged / confidently wrong):");
    let mut totals = [0usize; 3];
    for kind in ["receptive-field", "dropout-q", "embedding-shape"] {
        let dev = table.get(&(kind, false)).copied().unwrap_or_default();
        let held = table.get(&(kind, true)).copied().unwrap_or_default();
        let all: Vec<usize> = (0..3).map(|i| dev[i] + held[i]).collect();
        for i in 0..3 {
            totals[i] += all[i];
        }
        eprintln!(
            "  {kind:<16} all {:>2} / {} / {}   tuned-on {:>2} / {} / {}   held-out ({}) {} / {} / {}",
            all[0],
            all[1],
            all[2],
            dev[0],
            dev[1],
            dev[2],
            HELD_OUT.join(","),
            held[0],
            held[1],
            held[2]
        );
    }
    eprintln!(
        "  {:<16} all {:>2} / {} / {}",
        "total", totals[0], totals[1], totals[2]
    );
    eprintln!("per variant, the three kinds together (right / flagged / confidently wrong):");
    for (v, [r, f, w]) in &by_variant {
        eprintln!("  {v:<4} {r:>2} / {f} / {w}");
    }
    for l in &lines {
        eprintln!("{l}");
    }
    // Issue 9 acceptance: at most 2 flagged, 0 confidently wrong.
    assert!(totals[1] <= 2, "{} answers flagged (at most 2)", totals[1]);
    assert!(totals[2] == 0, "{} answers confidently wrong", totals[2]);
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
