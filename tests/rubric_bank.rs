//! Question banks: a rubric imports shared question definitions and `use`s them by id,
//! overriding what differs; mistakes are reported naming both files.

use std::path::{Path, PathBuf};

use examiner::rubric::load_file;

/// A fresh folder with `files` written in it.
fn folder(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("examiner-bank-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

const BANK: &str = r#"bank: demo
questions:
  - id: meaning
    title: Meaning of the receptive field
    points: 1
    locate: {section: CNNs, number: "1", start: "Explain the meaning of the term"}
    answer:
      kind: concepts
      rules:
        - name: a region of the input
          any: [input region|area|pixels]
  - id: choice
    title: Pick one
    points: 1
    locate: {start: "Pick one of"}
    answer: {kind: choice, options: [a, b], key: a}
"#;

fn rubric(questions: &str) -> String {
    format!(
        "id: demo-v1\ntitle: Demo\nrecognise: {{all: [Demo]}}\nimports: [bank/demo.yaml]\nquestions:\n{questions}"
    )
}

#[test]
fn a_variant_uses_bank_questions_and_overrides_what_differs() {
    let dir = folder(
        "use",
        &[
            ("bank/demo.yaml", BANK),
            (
                "v1.yaml",
                &rubric("  - use: meaning\n    points: 2\n    locate: {number: \"3\"}\n  - use: choice\n"),
            ),
        ],
    );
    let r = load_file(&dir.join("v1.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.questions.len(), 2);
    let q = &r.questions[0];
    assert_eq!((q.id.as_str(), q.points), ("meaning", 2.0));
    // locate is merged field by field: the number changes, the snippets stay.
    assert_eq!(q.locate.number.as_deref(), Some("3"));
    assert_eq!(q.locate.section.as_deref(), Some("CNNs"));
    assert_eq!(
        q.locate.start.as_deref(),
        Some("Explain the meaning of the term")
    );
}

#[test]
fn an_unknown_use_names_the_rubric_and_the_bank() {
    let dir = folder(
        "unknown",
        &[
            ("bank/demo.yaml", BANK),
            ("v1.yaml", &rubric("  - use: meanin\n")),
        ],
    );
    let err = load_file(&dir.join("v1.yaml")).unwrap_err().to_string();
    assert!(err.contains("v1.yaml:6:5"), "{err}");
    assert!(err.contains("`use: meanin`"), "{err}");
    assert!(
        err.contains("bank/demo.yaml defines meaning, choice"),
        "{err}"
    );
}

#[test]
fn a_mistake_in_the_bank_names_the_bank_and_the_rubric() {
    let broken = BANK.replace(
        "    points: 1\n    locate: {start",
        "    pointz: 1\n    locate: {start",
    );
    let dir = folder(
        "broken",
        &[
            ("bank/demo.yaml", &broken),
            ("v1.yaml", &rubric("  - use: choice\n")),
        ],
    );
    let err = load_file(&dir.join("v1.yaml")).unwrap_err().to_string();
    assert!(err.contains("bank/demo.yaml:"), "{err}");
    assert!(err.contains("unknown field `pointz`"), "{err}");
    assert!(
        err.contains("imported by") && err.contains("v1.yaml"),
        "{err}"
    );
}

#[test]
fn an_override_that_breaks_a_question_names_both_files() {
    let dir = folder(
        "override",
        &[
            ("bank/demo.yaml", BANK),
            (
                "v1.yaml",
                &rubric("  - use: choice\n    answer: {kind: choice, options: [a, b], key: c}\n"),
            ),
        ],
    );
    let err = load_file(&dir.join("v1.yaml")).unwrap_err().to_string();
    assert!(err.contains("v1.yaml:6:5: question `choice`"), "{err}");
    assert!(
        err.contains("defined in") && err.contains("bank/demo.yaml"),
        "{err}"
    );
}

#[test]
fn a_question_in_two_banks_names_both() {
    let dir = folder(
        "twice",
        &[
            ("bank/demo.yaml", BANK),
            (
                "bank/other.yaml",
                &BANK.replace("bank: demo", "bank: other"),
            ),
            (
                "v1.yaml",
                &rubric("  - use: choice\n").replace(
                    "imports: [bank/demo.yaml]",
                    "imports: [bank/demo.yaml, bank/other.yaml]",
                ),
            ),
        ],
    );
    let err = load_file(&dir.join("v1.yaml")).unwrap_err().to_string();
    assert!(
        err.contains("bank/demo.yaml") && err.contains("bank/other.yaml"),
        "{err}"
    );
}

#[test]
fn a_question_needs_its_fields_or_a_use() {
    let dir = folder(
        "inline",
        &[
            ("bank/demo.yaml", BANK),
            ("v1.yaml", &rubric("  - title: No id\n")),
        ],
    );
    let err = load_file(&dir.join("v1.yaml")).unwrap_err().to_string();
    assert!(err.contains("needs `id` (or `use: ID`"), "{err}");
}

#[test]
fn banks_are_never_loaded_as_rubrics() {
    let rubrics = Path::new(env!("CARGO_MANIFEST_DIR")).join("rubrics");
    assert!(rubrics.join("bank/cs236781-summary.yaml").is_file());
    let loaded = examiner::rubric::load_dir(&rubrics).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded
        .iter()
        .all(|(p, _)| !p.starts_with(rubrics.join("bank"))));
    // Every summary variant takes its questions from the bank.
    for (path, r) in &loaded {
        let text = std::fs::read_to_string(path).unwrap();
        if r.id.starts_with("cs236781-hw4-summary") {
            assert!(
                text.contains("imports: [bank/cs236781-summary.yaml]"),
                "{}",
                path.display()
            );
            assert!(r.questions.len() >= 28);
        }
    }
}
