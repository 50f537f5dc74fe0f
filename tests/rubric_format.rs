//! The rubric format as a rubric author meets it: the documented example is valid, mistakes
//! are reported with `file:line:col` and what was expected, the JSON Schema matches the
//! types, and every shipped rubric loads.

use std::path::Path;

mod common;

use examiner::reference::cache::Cache;
use examiner::rubric::{self, keys, load_str};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The ```yaml block of rubrics/FORMAT.md.
fn documented_example() -> String {
    common::format_example()
}

/// `r` with the documented example's committed key lock
/// (`tests/fixtures/format-example.keys.json`), so its key needs no libtorch.
fn locked(mut r: rubric::Rubric) -> rubric::Rubric {
    let path = root().join("tests/fixtures/format-example.yaml");
    r.lock = rubric::lock::read_for(&path, &r.id).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.lock.is_some(), "the example's lock is committed");
    r
}

#[test]
fn the_documented_example_loads_and_its_keys_compute() {
    let r = load_str("FORMAT.md", &documented_example()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.questions[0].id, "receptive-field");
    let keys = keys::resolve(&locked(r), &Cache::in_memory()).unwrap_or_else(|e| panic!("{e}"));
    // Conv 3x3 then 2x2 pooling: 3 + (2 - 1) * 1 = 4, as the example's `expect` says.
    assert_eq!(keys["receptive-field"].display(), "4");
}

/// The committed lock is what libtorch computes now (the other tests trust it).
#[test]
fn the_documented_examples_lock_is_what_a_fresh_computation_gives() {
    if !common::reference_available("the_documented_examples_lock_is_fresh") {
        return;
    }
    let r = load_str("FORMAT.md", &documented_example()).unwrap();
    let (keys, fresh) = keys::lock(&r, &Cache::in_memory()).unwrap_or_else(|e| panic!("{e}"));
    let r = r.clone();
    assert_eq!(keys["receptive-field"].display(), "4");
    let fresh: rubric::lock::KeyLock = serde_json::from_str(&fresh.to_json()).unwrap();
    let committed = locked(r.clone()).lock.unwrap();
    assert_eq!(committed.entries, fresh.entries);
    assert_eq!(committed.engine, fresh.engine);
}

/// A lock that does not hold what the rubric asks for is an error that says to lock again,
/// never a key.
#[test]
fn a_stale_lock_is_an_error() {
    let r = load_str(
        "FORMAT.md",
        &documented_example().replace("nn.MaxPool2d(2)", "nn.MaxPool2d(3)"),
    )
    .unwrap();
    assert!(r.code["cnn"].contains("MaxPool2d(3)"), "the code changed");
    let err = keys::resolve(&locked(r), &Cache::in_memory()).expect_err("stale");
    assert!(err.to_string().contains("is stale"), "{err}");
    assert!(err.to_string().contains("examiner rubric lock"), "{err}");
}

fn error_for(edit: impl Fn(String) -> String) -> String {
    let text = edit(documented_example());
    load_str("rubric.yaml", &text)
        .expect_err("the edit makes the rubric invalid")
        .to_string()
}

#[test]
fn a_misspelled_field_is_named_with_its_position() {
    let err = error_for(|t| t.replace("    points: 5", "    pointz: 5"));
    insta::assert_snapshot!(err);
}

#[test]
fn an_unknown_answer_kind_lists_the_kinds() {
    let err = error_for(|t| t.replace("kind: number", "kind: numbr"));
    insta::assert_snapshot!(err);
}

#[test]
fn a_wrong_type_is_explained() {
    let err = error_for(|t| t.replace("points: 5", "points: five"));
    insta::assert_snapshot!(err);
}

#[test]
fn a_reference_to_missing_code_names_the_question_and_line() {
    let err = error_for(|t| t.replace("code: cnn}", "code: net}"));
    insta::assert_snapshot!(err);
}

#[test]
fn an_expect_that_disagrees_with_the_computation_fails_lint() {
    let r = load_str(
        "rubric.yaml",
        &documented_example().replace("expect: 4", "expect: 5"),
    )
    .expect("valid format");
    let err = keys::resolve(&locked(r), &Cache::in_memory()).expect_err("lint must fail");
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn the_json_schema_matches_the_rubric_types() {
    let path = root().join("rubrics/rubric.schema.json");
    let generated = rubric::json_schema();
    if std::env::var_os("EXAMINER_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "rubrics/rubric.schema.json is stale; regenerate it with \
         EXAMINER_UPDATE_SCHEMA=1 cargo test --test rubric_format"
    );
}

#[test]
fn every_shipped_rubric_loads_and_its_keys_compute() {
    let rubrics = rubric::load_dir(&root().join("rubrics")).unwrap_or_else(|e| panic!("{e}"));
    assert!(!rubrics.is_empty());
    let cache = Cache::in_memory();
    for (path, r) in &rubrics {
        keys::resolve(r, &cache).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn a_formula_that_disagrees_with_its_reference_fails_lint() {
    // The V1 rubric takes the question from the bank: break the bank's formula in a copy.
    let bank = std::fs::read_to_string(root().join("rubrics/bank/cs236781-summary.yaml")).unwrap();
    assert!(bank.contains(r#"formula: "1 - (1 - p1)*(1 - p2)""#));
    let wrong = bank.replace(
        r#"formula: "1 - (1 - p1)*(1 - p2)""#,
        r#"formula: "p1 * p2""#,
    );
    let dir = std::env::temp_dir().join(format!("examiner-formula-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("bank")).unwrap();
    std::fs::write(dir.join("bank/cs236781-summary.yaml"), wrong).unwrap();
    let v1 = std::fs::read_to_string(root().join("rubrics/cs236781-hw4-summary-v1.yaml")).unwrap();
    let mut r = rubric::load_str_in("v1.yaml", &v1, &dir).expect("valid format");
    // The shipped lock: the formula is not part of any computation.
    r.lock = rubric::lock::read_for(&root().join("rubrics/cs236781-hw4-summary-v1.yaml"), &r.id)
        .unwrap();
    let err = keys::resolve(&r, &Cache::in_memory()).expect_err("lint must fail");
    assert!(err.to_string().contains("gives 0.02"), "{err}");
}

#[test]
fn every_shipped_rubric_passes_its_samples() {
    let rubrics = rubric::load_dir(&root().join("rubrics")).unwrap_or_else(|e| panic!("{e}"));
    let cache = Cache::in_memory();
    let mut failures = Vec::new();
    let mut kinds_without_samples = Vec::new();
    for (path, r) in &rubrics {
        let keys = keys::resolve(r, &cache).unwrap();
        for o in examiner::grading::samples::run(r, &keys) {
            if !o.passed() {
                failures.push(format!(
                    "{} {} #{}: {:?}",
                    path.display(),
                    o.question,
                    o.sample,
                    o.problems
                ));
            }
        }
        for q in r.questions.iter().filter(|q| q.samples.is_empty()) {
            kinds_without_samples.push(format!("{} {}", path.display(), q.id));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        kinds_without_samples.is_empty(),
        "questions without samples: {kinds_without_samples:?}"
    );
}

#[test]
fn a_sample_with_the_wrong_expectation_fails_rubric_test() {
    let text = documented_example().replace("status: correct", "status: wrong");
    let r = locked(load_str("rubric.yaml", &text).unwrap());
    let keys = keys::resolve(&r, &Cache::in_memory()).unwrap();
    let outcomes = examiner::grading::samples::run(&r, &keys);
    assert_eq!(outcomes.len(), 1);
    assert!(!outcomes[0].passed());
    assert_eq!(
        outcomes[0].problems,
        ["status is correct, the rubric expects wrong"]
    );
}

/// `rubric lint` of the V2 rubric (with its shipped key lock) over `bank`, a text of the
/// CS236781 bank: its exit code and standard error.
fn lint_v2_with_bank(bank: &str, name: &str) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!(
        "examiner-gradient-lint-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("bank")).unwrap();
    std::fs::write(dir.join("bank/cs236781-summary.yaml"), bank).unwrap();
    let v2 = std::fs::read_to_string(root().join("rubrics/cs236781-hw4-summary-v2.yaml")).unwrap();
    std::fs::write(dir.join("v2.yaml"), v2).unwrap();
    // The draws do not depend on the formulas: the shipped lock still holds them.
    std::fs::copy(
        root().join("rubrics/cs236781-hw4-summary-v2.keys.json"),
        dir.join("v2.keys.json"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(["rubric", "lint", "v2.yaml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `rubric lint` checks a gradient question's own formulas against autograd at the locked
/// draws: an accepted formula missing its regularisation term fails, naming the question, and
/// so does a known mistake that does not parse, naming the part and the mistake.
#[test]
fn a_derivative_formula_that_disagrees_with_autograd_fails_lint() {
    let bank = std::fs::read_to_string(root().join("rubrics/bank/cs236781-summary.yaml")).unwrap();
    let right = r"- formula: '\frac{1}{N}\sum_{i=1}^{N} \delta^{(i)} h^{(i)\top} + \lambda W_2'";
    assert!(bank.contains(right), "the bank's dL/dW2");
    let wrong = bank.replace(
        right,
        r"- formula: '\frac{1}{N}\sum_{i=1}^{N} \delta^{(i)} h^{(i)\top}'",
    );
    let (code, err) = lint_v2_with_bank(&wrong, "accepted");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("question `backprop`"), "{err}");

    let mistake = r"formula: '\sum_{i=1}^{N} W_2^\top \delta^{(i)} \odot \varphi''(z_1^{(i)})'";
    assert!(
        bank.contains(mistake),
        "the bank's missing-mean mistake of dL/db1"
    );
    for (formula, says) in [
        ("+ * )", "mistake `missing-mean` does not parse"),
        (
            r"\sum_{i=1}^{N} Q_{7}",
            "mistake `missing-mean` cannot be evaluated",
        ),
    ] {
        let broken = bank.replace(mistake, &format!("formula: '{formula}'"));
        let (code, err) = lint_v2_with_bank(&broken, "mistake");
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains("question `backprop`: part `b1`") && err.contains(says),
            "{err}"
        );
    }

    // The unbroken rubric passes.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(["rubric", "lint", "rubrics/cs236781-hw4-summary-v2.yaml"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
