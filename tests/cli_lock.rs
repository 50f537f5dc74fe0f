//! `examiner rubric lock` end to end: it writes a lock beside the rubric that grading then uses
//! without libtorch, `--check` accepts a fresh lock and refuses a stale or missing one, and a
//! student edition needs none. The expected key (4) is the FORMAT.md example's own `expect`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn temp(name: &str) -> PathBuf {
    common::fresh_dir("lock", name)
}

/// The FORMAT.md example as `dir/example.yaml`, without a lock.
fn example(dir: &Path) -> PathBuf {
    common::write_format_example(dir, false)
}

fn examiner(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(args)
        .current_dir(dir)
        .env("EXAMINER_CACHE_DIR", dir.join(".cache"))
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_lock_is_written_checked_used_without_libtorch_and_refused_when_stale() {
    if !common::reference_available("a_lock_is_written_checked_used") {
        return;
    }
    let dir = temp("cycle");
    let rubric = example(&dir);
    // No lock yet: --check says so.
    let o = examiner(&dir, &["rubric", "lock", "--check", "example.yaml"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no key lock"), "{}", text(&o));
    assert!(
        !dir.join("example.keys.json").exists(),
        "--check writes nothing"
    );

    let o = examiner(&dir, &["rubric", "lock", "example.yaml"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 computations locked"), "{}", text(&o));
    let lock = std::fs::read_to_string(dir.join("example.keys.json")).unwrap();
    assert!(lock.contains("\"kind\": \"receptive-field\""), "{lock}");
    let o = examiner(&dir, &["rubric", "lock", "--check", "."], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("up to date"), "{}", text(&o));

    // With the lock, lint needs no examiner-reference (nor a cache).
    let _ = std::fs::remove_dir_all(dir.join(".cache"));
    let no_reference = [("EXAMINER_REFERENCE", "/nonexistent/examiner-reference")];
    let o = examiner(&dir, &["rubric", "lint", "example.yaml"], &no_reference);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("receptive-field: 4"), "{}", text(&o));
    // Ignoring locks, the same key needs examiner-reference: the message says what to do.
    let mut ignoring = no_reference.to_vec();
    ignoring.push(("EXAMINER_IGNORE_KEY_LOCKS", "1"));
    let o = examiner(&dir, &["rubric", "lint", "example.yaml"], &ignoring);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("examiner rubric lock"), "{}", text(&o));

    // The code changes (a 3x3 pooling: 3 + 2 = 5, and the author's `expect` with it): the
    // lock no longer holds the computation, and nothing uses it.
    let changed = std::fs::read_to_string(&rubric)
        .unwrap()
        .replace("nn.MaxPool2d(2)", "nn.MaxPool2d(3)")
        .replace("expect: 4", "expect: 5");
    assert!(changed.contains("expect: 5"));
    std::fs::write(&rubric, changed).unwrap();
    let o = examiner(&dir, &["rubric", "lint", "example.yaml"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is stale"), "{}", text(&o));
    let o = examiner(&dir, &["rubric", "lock", "--check", "example.yaml"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("differs"), "{}", text(&o));
    // Locking again brings it up to date.
    let o = examiner(&dir, &["rubric", "lock", "example.yaml"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = examiner(&dir, &["rubric", "lock", "--check", "example.yaml"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = examiner(&dir, &["rubric", "lint", "example.yaml"], &no_reference);
    assert!(text(&o).contains("receptive-field: 5"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_student_edition_and_a_rubric_without_computations_need_no_lock() {
    let dir = temp("student");
    let rubric = example(&dir);
    let o = examiner(
        &dir,
        &["rubric", "student", "example.yaml", "-o", "student.yaml"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    std::fs::remove_file(rubric).unwrap();
    let no_reference = [("EXAMINER_REFERENCE", "/nonexistent/examiner-reference")];
    let o = examiner(&dir, &["rubric", "lock", "student.yaml"], &no_reference);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no keys to lock"), "{}", text(&o));
    // The DRY sheet computes nothing.
    let o = examiner(
        root(),
        &["rubric", "lock", "--check", "rubrics/dry-sheet-004.yaml"],
        &no_reference,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no lock needed"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_lock_made_for_another_rubric_is_an_error() {
    let dir = temp("other");
    example(&dir);
    let lock = std::fs::read_to_string(root().join("tests/fixtures/format-example.keys.json"))
        .unwrap()
        .replace(
            "\"rubric\": \"example-summary-questions\"",
            "\"rubric\": \"another\"",
        );
    std::fs::write(dir.join("example.keys.json"), lock).unwrap();
    let o = examiner(&dir, &["rubric", "lint", "example.yaml"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the key lock is for rubric `another`"),
        "{}",
        text(&o)
    );
    std::fs::write(dir.join("example.keys.json"), "{not json").unwrap();
    let o = examiner(&dir, &["rubric", "lint", "example.yaml"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not a key lock"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}
