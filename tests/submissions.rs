//! The bundled `submissions/` (written by us) graded with the bundled `rubrics/`: what the
//! README's main command shows a new user. Each file meets its intended rubric, the broken one
//! is an error row, and the key answers get the verdicts the files were written to get.

use std::path::Path;

use examiner::grading::batch::{self, Outcome, Prepared};
use examiner::grading::Status;
use examiner::reference::cache::Cache;

#[test]
fn the_bundled_class_grades_as_intended() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = Cache::in_memory();
    let rubrics: Vec<Prepared> = examiner::rubric::load_dir(&root.join("rubrics"))
        .unwrap()
        .into_iter()
        .map(|(_, rubric)| Prepared {
            keys: examiner::rubric::keys::resolve(&rubric, &cache).unwrap(),
            rubric,
        })
        .collect();
    let subs = batch::discover(&[root.join("submissions")]).unwrap();
    assert!(subs.len() >= 8, "at least 8 sample submissions");
    assert!(subs.iter().all(|s| s.student != "README"));
    let graded = batch::grade_all(&subs, &rubrics, &|_| {});
    let find = |student: &str| {
        graded
            .iter()
            .find(|g| g.submission.student == student)
            .unwrap_or_else(|| panic!("{student} is graded"))
    };
    let status = |student: &str, id: &str| match &find(student).outcome {
        Outcome::Graded(r) => r.questions.iter().find(|q| q.id == id).unwrap().status,
        Outcome::Failed { error } => panic!("{student}: {error}"),
    };
    match &find("broken_truncated").outcome {
        Outcome::Failed { error } => assert!(error.contains("truncated"), "{error}"),
        Outcome::Graded(_) => panic!("the truncated notebook is an error row"),
    }
    for (student, rubric) in [
        ("ada_lovelace", "cs236781-hw4-summary-v1"),
        ("alan_turing", "cs236781-hw4-summary-v2"),
        ("edsger_dijkstra", "cs236781-hw4-summary-v2"),
        ("grace_hopper", "cs236781-hw4-summary-v3"),
        ("katherine_johnson", "cs236781-hw4-summary-v4"),
        ("barbara_liskov", "cs236781-hw4-summary-v5"),
        ("john_von_neumann", "cs236781-hw4-summary-v5"),
        ("claude_shannon", "cs236781-2023-theoretical-v6"),
        ("donald_knuth", "cs236781-2023-theoretical-v6"),
        ("emmy_noether", "dry-sheet-004"),
    ] {
        match &find(student).outcome {
            Outcome::Graded(r) => assert_eq!(r.rubric, rubric, "{student}"),
            Outcome::Failed { error } => panic!("{student}: {error}"),
        }
    }
    for (student, id, want) in [
        ("ada_lovelace", "receptive-field", Status::Correct),
        ("ada_lovelace", "dropout-q", Status::Correct),
        ("ada_lovelace", "embedding-shape", Status::Correct),
        ("alan_turing", "receptive-field", Status::Wrong),
        ("alan_turing", "dropout-q", Status::Wrong),
        ("alan_turing", "embedding-shape", Status::Wrong),
        ("alan_turing", "numerical-gradient-code", Status::Wrong),
        ("barbara_liskov", "receptive-field", Status::Correct),
        ("barbara_liskov", "dropout-placement", Status::Correct),
        ("edsger_dijkstra", "receptive-field", Status::Correct),
        ("edsger_dijkstra", "embedding-shape", Status::Correct),
        ("grace_hopper", "receptive-field", Status::Correct),
        ("john_von_neumann", "receptive-field", Status::Wrong),
        ("john_von_neumann", "bilevel-inner-solver", Status::Missing),
        ("katherine_johnson", "receptive-field", Status::Wrong),
        ("katherine_johnson", "dropout-q", Status::Partial),
        ("katherine_johnson", "sgd-statements", Status::Correct),
    ] {
        assert_eq!(status(student, id), want, "{student} {id}");
    }
}
