//! Issue 15: what a hostile class, a shared machine and a CI log can do to a grading run, one
//! test per class of failure. Every fixture is generated here; nothing is copied from a
//! student. Runs that could hang (FIFOs, devices) are bounded by a deadline, so a regression
//! fails the test instead of hanging the suite.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs examiner in `dir` with extra environment, killed after 60 s (a hang is a failure).
/// Its output is read while it runs, so a run that prints more than a pipe holds does not
/// wait on the test.
fn examiner_env(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_examiner"));
    cmd.args(args)
        .current_dir(dir)
        .env("EXAMINER_CACHE_DIR", dir.join(".cache"))
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI")
        .env_remove("EXAMINER_FAULT_AFTER_FILES")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("examiner runs");
    fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    }
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "examiner {args:?} hung (killed after 60 s); stderr:\n{}",
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn examiner(args: &[&str], dir: &Path) -> Output {
    examiner_env(args, dir, &[])
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn temp(name: &str) -> PathBuf {
    common::fresh_dir("hardening", name)
}

/// The rubric of rubrics/FORMAT.md, as a file in `dir`, with its key lock.
fn rubric(dir: &Path) -> PathBuf {
    common::write_format_example(dir, true)
}

/// The example's key lock beside a copy of it at `rubric`, for rubric id `id` (same code).
fn lock_beside(rubric: &Path, id: &str) {
    let lock = std::fs::read_to_string(root().join("tests/fixtures/format-example.keys.json"))
        .unwrap()
        .replace(
            "\"rubric\": \"example-summary-questions\"",
            &format!("\"rubric\": \"{id}\""),
        );
    std::fs::write(examiner::rubric::lock::path_for(rubric), lock).unwrap();
}

/// A notebook of the example question set with `answer` after the question, and `before`
/// (extra cells, e.g. a long log) in front of it.
fn notebook(answer: &str, before: Vec<serde_json::Value>) -> Vec<u8> {
    let mut cells = vec![serde_json::json!(
        {"cell_type": "markdown", "metadata": {}, "source": ["# Summary Questions\n", "### CNNs\n"]}
    )];
    cells.extend(before);
    cells.extend([
        serde_json::json!({"cell_type": "markdown", "metadata": {}, "source": [
            "3. Imagine a CNN with three convolutional layers, defined as follows:\n"]}),
        serde_json::json!({"cell_type": "markdown", "metadata": {}, "source": [
            "What is the size of the receptive field of each pixel in the output tensor?"]}),
        serde_json::json!({"cell_type": "markdown", "metadata": {}, "source": [answer]}),
    ]);
    serde_json::to_vec(&serde_json::json!({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells
    }))
    .unwrap()
}

fn good() -> Vec<u8> {
    notebook("**Answer:** the receptive field is 4x4 pixels", vec![])
}

fn grade(dir: &Path, subs: &Path, out: &Path, extra: &[&str]) -> Output {
    let rubric = rubric(dir);
    let mut args = vec![
        "grade",
        subs.to_str().unwrap(),
        "--rubric",
        rubric.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    examiner(&args, dir)
}

fn csv_rows(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("gradebook.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

fn row<'a>(rows: &'a [String], student: &str) -> &'a str {
    rows.iter()
        .find(|r| r.starts_with(&format!("{student},")))
        .unwrap_or_else(|| panic!("a row for {student}: {rows:#?}"))
}

/// Class 1: FIFOs, devices and links are error rows (never read, never a hang); a link in a
/// student folder is followed only with --follow-links and only inside that folder; the
/// grading machine's files never reach feedback; identical submissions are reported.
#[test]
fn special_and_linked_files_are_error_rows_and_never_read() {
    let dir = temp("special");
    let subs = dir.join("class");
    std::fs::create_dir_all(subs.join("eve")).unwrap();
    std::fs::create_dir_all(subs.join("ada")).unwrap();
    std::fs::create_dir_all(subs.join("kim")).unwrap();
    std::fs::write(subs.join("ada/hw.ipynb"), good()).unwrap();
    std::fs::write(subs.join("bob.ipynb"), good()).unwrap(); // the same bytes as ada's
    let secret = dir.join("grader-secret.md");
    std::fs::write(&secret, "# Summary Questions\nTOP-SECRET-GRADER-FILE\n").unwrap();
    std::os::unix::fs::symlink(&secret, subs.join("eve/zz.md")).unwrap();
    std::fs::write(subs.join("eve/hw.ipynb"), notebook("RF = 3", vec![])).unwrap();
    std::os::unix::fs::symlink("../ada/hw.ipynb", subs.join("mallory.ipynb")).unwrap();
    std::os::unix::fs::symlink("/dev/stdin", subs.join("stdin.ipynb")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", subs.join("zero.ipynb")).unwrap();
    // kim's folder: a part and a link to it (inside the folder).
    std::fs::write(subs.join("kim/part1.ipynb"), good()).unwrap();
    std::os::unix::fs::symlink("part1.ipynb", subs.join("kim/part2.ipynb")).unwrap();
    let fifo = subs.join("fifo.ipynb");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());

    let out = dir.join("out");
    let o = grade(&dir, &subs, &out, &[]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    let rows = csv_rows(&out);
    for (student, what) in [
        ("fifo", "named pipe"),
        ("stdin", "symbolic link"),
        ("zero", "symbolic link"),
        ("mallory", "symbolic link"),
        ("eve", "symbolic link"),
        ("kim", "symbolic link"),
    ] {
        let r = row(&rows, student);
        assert!(r.contains("error:") && r.contains(what), "{student}: {r}");
    }
    assert!(row(&rows, "ada").contains(",ok; warning: identical to the submission of bob"));
    assert!(row(&rows, "bob").contains("identical to the submission of ada"));
    // For the grader only: a student's feedback never names another student.
    let feedback = std::fs::read_to_string(out.join("feedback/ada.md")).unwrap();
    assert!(!feedback.contains("bob"), "{feedback}");
    for entry in walk(&out) {
        let content = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(
            !content.contains("TOP-SECRET-GRADER-FILE"),
            "{} quotes a file of the grading machine",
            entry.display()
        );
    }

    // With --follow-links, kim's link inside her folder is read; eve's still is not.
    let out2 = dir.join("out2");
    let o = grade(&dir, &subs, &out2, &["--follow-links"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let rows = csv_rows(&out2);
    assert!(row(&rows, "kim").contains(",ok"), "{rows:#?}");
    assert!(row(&rows, "eve").contains("outside the student's folder"));
    assert!(row(&rows, "mallory").contains("symbolic link"));

    // A FIFO or a device in the rubric folder is an error, not a hang.
    let rubrics = dir.join("rubrics");
    std::fs::create_dir_all(&rubrics).unwrap();
    std::fs::copy(rubric(&dir), rubrics.join("a.yaml")).unwrap();
    lock_beside(&rubrics.join("a.yaml"), "example-summary-questions");
    std::os::unix::fs::symlink("/dev/zero", rubrics.join("zz.yaml")).unwrap();
    let o = examiner(
        &[
            "grade",
            subs.join("bob.ipynb").to_str().unwrap(),
            "--rubric",
            "rubrics",
        ],
        &dir,
    );
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("device file"), "{stderr}");
}

/// Every file under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if entry.file_type().unwrap().is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files.sort();
    files
}

/// Class 3: every submission has its own row and its own feedback files, whatever its name;
/// what is not a submission is named with the reason; `--out` inside the class is not graded;
/// a second run into the same `--out` is refused while the first holds it.
#[test]
fn every_submission_has_one_row_and_one_feedback_file() {
    let dir = temp("rows");
    let subs = dir.join("class");
    std::fs::create_dir_all(subs.join("bob.v1")).unwrap();
    std::fs::create_dir_all(subs.join("bob.v2")).unwrap();
    for p in [
        "alice.ipynb",
        "alice.txt",
        "a b.ipynb",
        "a_b.ipynb",
        "bob.v1/hw.ipynb",
        "bob.v2/hw.ipynb",
    ] {
        std::fs::write(subs.join(p), good()).unwrap();
    }
    let long = format!("{}.ipynb", "x".repeat(240));
    std::fs::write(subs.join(&long), notebook("It is 4 by 4", vec![])).unwrap();
    std::fs::write(subs.join("scan.pdf"), b"%PDF-1.4\n").unwrap();
    std::fs::write(subs.join("noext"), notebook("RF = 4", vec![])).unwrap();
    std::fs::write(subs.join(".hidden.ipynb"), good()).unwrap();
    std::fs::write(subs.join("README.md"), "the TA's notes").unwrap();
    // A previous run's outputs inside the class folder.
    let out = subs.join("out");
    let o = grade(&dir, &subs, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let o = grade(&dir, &subs, &out, &[]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let rows = csv_rows(&out);
    let ids: Vec<&str> = rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "unique ids: {ids:?}");
    // alice x2, "a b", a_b, bob.v1, bob.v2, the long name, scan, noext: 9 rows.
    assert_eq!(rows.len(), 9, "{rows:#?}");
    assert!(row(&rows, "scan").contains("PDF"), "{rows:#?}");
    assert!(!ids
        .iter()
        .any(|i| i.contains("out") || i.contains("hidden")));
    let feedback: Vec<_> = walk(&out.join("feedback"));
    let graded = rows.iter().filter(|r| !r.contains("error: ")).count();
    assert_eq!(feedback.len(), 2 * graded, "{feedback:#?}");
    // "a b" and a_b share a file name's base: each has its own page, and the class report
    // links each student to their own.
    let page = |name: &str| std::fs::read_to_string(out.join("feedback").join(name)).unwrap();
    let (first, second) = (page("a_b.html"), page("a_b-2.html"));
    assert_ne!(first, second);
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    for (file, html) in [("a_b.html", &first), ("a_b-2.html", &second)] {
        let student = if html.contains("a b") { "a b" } else { "a_b" };
        assert!(
            report.contains(&format!(
                "href=\"feedback/{file}\" dir=\"auto\">{student}</a>"
            )),
            "{student} links to {file}"
        );
    }
    let skipped = std::fs::read_to_string(out.join("skipped.txt")).unwrap();
    for name in [".hidden.ipynb", "README.md", "out"] {
        assert!(
            skipped.lines().any(|l| l.contains(&format!("/{name}:"))),
            "{name} named in skipped.txt:\n{skipped}"
        );
    }
    assert!(stderr.contains("skipped") && stderr.contains("README.md"));

    // A run holding the lock: a second run into the same --out stops before writing.
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(subs.join(".out.examiner-lock"))
        .unwrap();
    lock.lock().unwrap();
    let before = std::fs::read(out.join("gradebook.csv")).unwrap();
    let o = grade(&dir, &subs, &out, &[]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("another examiner run"), "{stderr}");
    assert_eq!(std::fs::read(out.join("gradebook.csv")).unwrap(), before);
    drop(lock);

    // A folder examiner did not write is never replaced.
    let mine = dir.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("thesis.tex"), "precious").unwrap();
    let o = grade(&dir, &subs, &mine, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(mine.join("thesis.tex")).unwrap(),
        "precious"
    );
    // A folder an older examiner wrote (its files, no marker) is replaced.
    let older = dir.join("older");
    std::fs::create_dir_all(older.join("feedback")).unwrap();
    std::fs::write(older.join("gradebook.csv"), "old").unwrap();
    let o = grade(&dir, &subs, &older, &[]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_ne!(
        std::fs::read_to_string(older.join("gradebook.csv")).unwrap(),
        "old"
    );
}

/// A snapshot of a folder: every file's path (relative) and bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walk(dir)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// Class 3, acceptance: an abort at any point of writing the outputs (injected after N
/// files, for every N, and around the swap) leaves the previous complete set or the new
/// one, never a mix, and the next run cleans up and succeeds.
#[test]
fn an_abort_at_any_point_leaves_the_previous_set_or_the_new_one() {
    let dir = temp("abort");
    let subs = dir.join("class");
    std::fs::create_dir_all(&subs).unwrap();
    std::fs::write(subs.join("ada.ipynb"), good()).unwrap();
    std::fs::write(subs.join("bob.ipynb"), notebook("RF = 3", vec![])).unwrap();
    let out = dir.join("out");
    let o = grade(&dir, &subs, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let old = snapshot(&out);

    // The new class: another student and a changed answer.
    std::fs::write(subs.join("cy.ipynb"), good()).unwrap();
    std::fs::write(subs.join("bob.ipynb"), good()).unwrap();
    let fresh = dir.join("fresh");
    let o = grade(&dir, &subs, &fresh, &[]);
    assert_eq!(o.status.code(), Some(0));
    let new = snapshot(&fresh);
    assert_ne!(old, new);
    let files = new.len() - 1; // the marker is written before the counted files

    let rubric = rubric(&dir);
    let mut saw_old = false;
    let mut saw_new = false;
    for n in 0..=files + 1 {
        let o = examiner_env(
            &[
                "grade",
                subs.to_str().unwrap(),
                "--rubric",
                rubric.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &dir,
            &[("EXAMINER_FAULT_AFTER_FILES", &n.to_string())],
        );
        assert_ne!(o.status.code(), Some(0), "aborted at {n}");
        let now = snapshot(&out);
        if now == old {
            saw_old = true;
        } else if now == new {
            saw_new = true;
            // Back to the old set for the next abort point.
            std::fs::remove_dir_all(&out).unwrap();
            copy_tree(&old, &out);
        } else {
            panic!("abort after {n} files left a mixed set: {:#?}", names(&now));
        }
    }
    assert!(saw_old && saw_new, "both ends were exercised");
    // No temporary files beside --out other than the lock; the next run finishes.
    let o = grade(&dir, &subs, &out, &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(snapshot(&out), new);
    let beside: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".out."))
        .collect();
    assert_eq!(beside, vec![".out.examiner-lock".to_string()]);
}

fn names(s: &[(PathBuf, Vec<u8>)]) -> Vec<&Path> {
    s.iter().map(|(p, _)| p.as_path()).collect()
}

fn copy_tree(files: &[(PathBuf, Vec<u8>)], to: &Path) {
    for (p, bytes) in files {
        let path = to.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// Class 4: names planted in `--out` (links to a victim file, old-style temporary names) are
/// never written through.
#[test]
fn planted_links_in_the_output_folder_are_never_written_through() {
    let dir = temp("planted");
    let subs = dir.join("class");
    std::fs::create_dir_all(&subs).unwrap();
    std::fs::write(subs.join("ada.ipynb"), good()).unwrap();
    let out = dir.join("out");
    let o = grade(&dir, &subs, &out, &[]);
    assert_eq!(o.status.code(), Some(0));
    let victim = dir.join("victim");
    std::fs::write(&victim, "untouched").unwrap();
    for name in ["gradebook.csv", "results.json", "feedback/ada.md"] {
        let p = out.join(name);
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink(&victim, &p).unwrap();
    }
    for pid in 0..64 {
        let _ = std::os::unix::fs::symlink(&victim, out.join(format!(".gradebook.csv.{pid}.tmp")));
    }
    let o = grade(&dir, &subs, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    let meta = std::fs::symlink_metadata(out.join("gradebook.csv")).unwrap();
    assert!(meta.is_file());
}

/// Class 2: a long training log in one cell does not crowd the answer out, and a limit that
/// was hit is a warning on the row, never silence.
#[test]
fn a_long_log_does_not_crowd_out_answers_and_limits_are_warned() {
    let dir = temp("limits");
    let subs = dir.join("class");
    std::fs::create_dir_all(&subs).unwrap();
    let log: String = (0..250_000)
        .map(|i| format!("epoch {i}: loss 0.5\n"))
        .collect();
    let cell = serde_json::json!({
        "cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["train()"],
        "outputs": [{"output_type": "stream", "name": "stdout", "text": log}]
    });
    std::fs::write(
        subs.join("ada.ipynb"),
        notebook("The receptive field is 4x4.", vec![cell]),
    )
    .unwrap();
    let out = dir.join("out");
    let o = grade(&dir, &subs, &out, &[]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    let rows = csv_rows(&out);
    let ada = row(&rows, "ada");
    assert!(
        ada.contains(",5,5,"),
        "the answer after the log is graded: {ada}"
    );
    assert!(ada.contains("output lines were not read"), "{ada}");
    assert!(stderr.contains("output lines were not read"), "{stderr}");
}

/// Class 5: student file names and answers never put raw control characters or workflow
/// commands on standard output; CSV cells (header and leading-space cells too) are defused.
#[test]
fn student_text_cannot_drive_the_terminal_or_the_ci_log() {
    let dir = temp("inject");
    let subs = dir.join("class");
    std::fs::create_dir_all(&subs).unwrap();
    std::fs::write(subs.join("x\n::stop-commands::pwn.ipynb"), good()).unwrap();
    std::fs::write(subs.join(" =1+1.ipynb"), good()).unwrap();
    std::fs::write(
        subs.join("eve.ipynb"),
        notebook(
            "RF = 3\n::error file=x.py::forged\n\x1b]0;owned\x07\x1b[2J",
            vec![],
        ),
    )
    .unwrap();
    let rubric = rubric(&dir);
    let o = examiner_env(
        &[
            "grade",
            subs.to_str().unwrap(),
            "--rubric",
            rubric.to_str().unwrap(),
            "--details",
            "--out",
            dir.join("out").to_str().unwrap(),
        ],
        &dir,
        &[("GITHUB_ACTIONS", "true")],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains('\x1b') && !stderr.contains('\x1b'),
        "{stdout}"
    );
    assert!(!stdout.contains('\x07'));
    // Outside a stop-commands block, only examiner's own commands start a line with `::`.
    let mut token: Option<String> = None;
    for line in stdout.lines() {
        let t = line.trim_start();
        match &token {
            Some(tok) if t == format!("::{tok}::") => token = None,
            Some(_) => {}
            None => {
                if let Some(tok) = t.strip_prefix("::stop-commands::") {
                    assert!(tok.starts_with("examiner-"), "forged: {line}");
                    token = Some(tok.to_string());
                } else if t.starts_with("::") {
                    assert!(
                        t.starts_with("::error file=") || t.starts_with("::warning file="),
                        "{line}"
                    );
                    assert!(!t.contains("forged") || t.contains("%0A"), "{line}");
                }
            }
        }
    }
    // eve's answer is wrong: its annotation is printed (kept in a scratch file until the
    // summary is out).
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("::error file=") && l.contains("eve.ipynb")),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.join("out/gradebook.csv")).unwrap();
    assert!(
        csv.contains("\"' =1+1\"") || csv.contains("' =1+1"),
        "{csv}"
    );
}

/// Classes 7 and 8: flags that would make a run unbounded or a gate that never fails are
/// refused with a clear error.
#[test]
fn unbounded_flags_and_nan_gates_are_refused() {
    let dir = temp("flags");
    let subs = dir.join("class");
    std::fs::create_dir_all(&subs).unwrap();
    std::fs::write(subs.join("ada.ipynb"), notebook("RF = 3", vec![])).unwrap();
    let rubric = rubric(&dir);
    let run = |extra: &[&str]| {
        let mut args = vec![
            "grade",
            subs.to_str().unwrap(),
            "--rubric",
            rubric.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        examiner(&args, &dir)
    };
    for gate in ["NaN", "nan%", "inf", "-1", "-inf%"] {
        let o = run(&["--fail-under", gate]);
        assert_eq!(o.status.code(), Some(2), "--fail-under {gate}");
    }
    assert_eq!(run(&["--fail-under", "4"]).status.code(), Some(1));
    let o = run(&["--jobs", "20000"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("from 1 to 256"));
    let mut args = vec!["reference", "dropout"];
    for _ in 0..5000 {
        args.extend(["--p", "0.1"]);
    }
    let o = examiner(&args, &dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("at most 64"), "{:?}", text(&o));
}

/// Class 6: what a student writes in an answer does not choose the rubric: a `none:` snippet
/// found only in an answer does not exclude the question set's rubric, an `all:` snippet
/// found only in another rubric's answers does not make that one match, and a notebook two
/// rubrics both match is graded with a warning naming the other.
#[test]
fn answers_do_not_choose_the_rubric() {
    let dir = temp("recognise");
    let subs = dir.join("class");
    std::fs::create_dir_all(&subs).unwrap();
    let rubrics = dir.join("rubrics");
    std::fs::create_dir_all(&rubrics).unwrap();
    let a = std::fs::read_to_string(rubric(&dir)).unwrap();
    assert!(a.contains(r#"none: ["Graph Neural Networks"]"#));
    std::fs::write(rubrics.join("a.yaml"), &a).unwrap();
    lock_beside(&rubrics.join("a.yaml"), "example-summary-questions");
    // Another question set: same heading, but about graph networks.
    let b = a
        .replace("id: example-summary-questions", "id: other-set")
        .replace(
            r#"all: ["Summary Questions", "receptive field"]"#,
            r#"all: ["Summary Questions", "Graph Neural Networks"]"#,
        )
        .replace(
            r#"none: ["Graph Neural Networks"]"#,
            r#"none: ["zzz-never"]"#,
        )
        .replace(
            "Imagine a CNN with three convolutional layers",
            "Explain message passing",
        );
    std::fs::write(rubrics.join("b.yaml"), &b).unwrap();
    lock_beside(&rubrics.join("b.yaml"), "other-set");
    std::fs::write(
        subs.join("ada.ipynb"),
        notebook(
            "The receptive field is 4x4, much like a 2-hop neighbourhood in Graph Neural Networks.",
            vec![],
        ),
    )
    .unwrap();
    let out = dir.join("out");
    let o = examiner(
        &[
            "grade",
            subs.to_str().unwrap(),
            "--rubric",
            "rubrics",
            "--out",
            out.to_str().unwrap(),
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let rows = csv_rows(&out);
    let ada = row(&rows, "ada");
    assert!(ada.contains(",example-summary-questions,ok,5,5,"), "{ada}");

    // Two rubrics that both match are reported.
    std::fs::write(
        rubrics.join("c.yaml"),
        a.replace("id: example-summary-questions", "id: twin-set"),
    )
    .unwrap();
    lock_beside(&rubrics.join("c.yaml"), "twin-set");
    let o = examiner(
        &[
            "grade",
            subs.to_str().unwrap(),
            "--rubric",
            "rubrics",
            "--out",
            out.to_str().unwrap(),
        ],
        &dir,
    );
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("also matches rubric"), "{stderr}");
    assert!(row(&csv_rows(&out), "ada").contains("also matches rubric"));

    // The rubric source is printed when it is not given.
    std::fs::remove_file(rubrics.join("c.yaml")).unwrap();
    let o = examiner(&["grade", subs.to_str().unwrap()], &dir);
    let (_, stderr) = text(&o);
    assert!(
        stderr.contains("rubrics from") && stderr.contains("rubrics"),
        "{stderr}"
    );
}

/// Class 2: a notebook of millions of blank lines is cut at the line limit with a warning,
/// in bounded memory (the cut happens line by line, not after the cell).
#[test]
fn the_line_limit_is_a_warning_on_the_row() {
    let dir = temp("lines");
    let subs = dir.join("class");
    std::fs::create_dir_all(&subs).unwrap();
    let blank = serde_json::json!({
        "cell_type": "markdown", "metadata": {}, "source": "\n".repeat(300_000)
    });
    let mut nb: serde_json::Value = serde_json::from_slice(&good()).unwrap();
    nb["cells"].as_array_mut().unwrap().push(blank);
    std::fs::write(subs.join("ada.ipynb"), serde_json::to_vec(&nb).unwrap()).unwrap();
    let out = dir.join("out");
    let o = grade(&dir, &subs, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let rows = csv_rows(&out);
    let ada = row(&rows, "ada");
    assert!(ada.contains("more than 200000 lines"), "{ada}");
    assert!(ada.contains(",5,5,"), "{ada}");
}

/// Class 9: text the rendered notebook hides (HTML comments, elements styled invisible) is
/// not graded, and the row says hidden text was left out.
#[test]
fn text_hidden_from_readers_is_not_graded() {
    let dir = temp("hidden");
    let subs = dir.join("class");
    std::fs::create_dir_all(&subs).unwrap();
    // What the TA sees: 3 (wrong). What a grader reading raw text would see first: 4.
    let cases = [
        ("comment", "The receptive field is <!-- 4x4 -->3x3."),
        (
            "none",
            "The receptive field is <span style=\"display: none\">4x4</span>3x3.",
        ),
        (
            "white",
            "The receptive field is <font style=\"color:#ffffff\">4x4</font>3x3.",
        ),
        (
            "tiny",
            "The receptive field is <span style=\"font-size:0\">4x4</span>3x3.",
        ),
    ];
    for (name, answer) in cases {
        std::fs::write(subs.join(format!("{name}.ipynb")), notebook(answer, vec![])).unwrap();
    }
    let out = dir.join("out");
    let o = grade(&dir, &subs, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let rows = csv_rows(&out);
    for (name, _) in cases {
        let r = row(&rows, name);
        assert!(
            !r.contains(",5,5,"),
            "{name}: the hidden 4x4 was graded: {r}"
        );
        assert!(r.contains("hidden by HTML"), "{name}: {r}");
        // The student's feedback says so too.
        let feedback = std::fs::read_to_string(out.join(format!("feedback/{name}.md"))).unwrap();
        assert!(feedback.contains("hidden by HTML"), "{feedback}");
    }
}

/// A class larger than the chunks it is graded in ([`examiner::grading::batch::CHUNK`]):
/// every submission's outputs are written as its chunk is graded, yet a copy is noticed
/// across chunks, a review reaches a student of the last chunk, a review of nobody is
/// reported, and every file covers the whole class in order.
#[test]
fn a_class_larger_than_a_chunk_is_written_whole_and_in_order() {
    let n = 2 * examiner::grading::batch::CHUNK + 5;
    let dir = temp("chunks");
    let subs = dir.join("submissions");
    std::fs::create_dir_all(&subs).unwrap();
    let name = |i: usize| format!("s{i:04}");
    for i in 0..n {
        // Distinct answers, except the first and the last: the same bytes.
        let answer = if i == 0 || i == n - 1 {
            "**Answer:** the receptive field is 4x4 pixels".to_string()
        } else {
            format!(
                "**Answer:** the receptive field is {}x{} pixels",
                i + 4,
                i + 4
            )
        };
        std::fs::write(
            subs.join(format!("{}.ipynb", name(i))),
            notebook(&answer, vec![]),
        )
        .unwrap();
    }
    let reviews = dir.join("reviews.csv");
    std::fs::write(
        &reviews,
        format!(
            "student,question,points,comment,grader,timestamp,answer_hash\n\
             {},receptive-field,1,close enough,ta,,\n\
             nobody,receptive-field,1,,ta,,\n",
            name(n - 2)
        ),
    )
    .unwrap();
    let out = dir.join("out");
    let o = grade(
        &dir,
        &subs,
        &out,
        &["--details", "--reviews", reviews.to_str().unwrap()],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stderr}");

    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let entries = results["submissions"].as_array().unwrap();
    let students: Vec<&str> = entries
        .iter()
        .map(|e| e["student"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..n).map(name).collect();
    assert_eq!(students, expected);
    let notes = |i: usize| entries[i]["grader_notes"].to_string();
    assert!(notes(0).contains(&name(n - 1)), "{}", notes(0));
    assert!(notes(n - 1).contains(&name(0)), "{}", notes(n - 1));
    assert_eq!(entries[1].get("grader_notes"), None);
    let reviewed = &entries[n - 2]["questions"][0];
    assert_eq!(reviewed["reviews"][0]["grader"], "ta", "{reviewed}");
    assert!(
        stderr.contains("no submission of a student `nobody`"),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 2 reviews applied"), "{stderr}");

    assert_eq!(csv_rows(&out).len(), n);
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testsuite ").count(), n);
    let cases = junit.matches("<testcase ").count();
    assert!(
        junit.contains(&format!("<testsuites name=\"examiner\" tests=\"{cases}\"")),
        "the root counts every suite's cases"
    );
    for i in 0..n {
        assert!(out.join(format!("feedback/{}.md", name(i))).is_file());
        assert!(out.join(format!("feedback/{}.html", name(i))).is_file());
    }
    // --details prints every submission, in order, before the summary.
    let mut at = 0;
    for student in &expected {
        let found = stdout[at..]
            .find(&format!("{student}.ipynb"))
            .unwrap_or_else(|| panic!("{student}'s details in order"));
        at += found + 1;
    }
    assert!(stdout[at..].contains("Item analysis") || stdout[at..].contains("student "));
}
