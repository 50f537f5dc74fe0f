//! Shared by the tests that read the course material in `../shared`: finding it (or printing
//! a notice and skipping), the manifest, the shipped rubrics, and checking one notebook.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use examiner::grading::{self, Audience, SubmissionResult};
use examiner::reference::cache::Cache;
use examiner::rubric::{self, keys, Rubric};

pub fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("corpus/MANIFEST.tsv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: ../shared not found (the course corpus is not part of the repository)"
        );
        None
    }
}

/// Splits one TSV line, honouring double-quoted fields: the library's own reader of label
/// files, so the tests read `../shared` exactly as `rubric calibrate` does.
pub use examiner::grading::calibrate::tsv_fields;

pub fn load_rubrics() -> Vec<Rubric> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rubrics");
    rubric::load_dir(&dir)
        .expect("shipped rubrics load")
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

pub fn check(path: &Path, rubrics: &[Rubric], cache: &Cache) -> SubmissionResult {
    let notebook = examiner::notebook::read_path(path).expect("corpus notebook reads");
    let rubric = examiner::extract::recognise(&notebook, rubrics)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let keys = keys::resolve(rubric, cache).expect("keys resolve");
    grading::check(
        &path.display().to_string(),
        &notebook,
        rubric,
        &keys,
        Audience::Grader,
    )
}

/// One manifest row: the notebook, its variant (V1-V6) and the three recorded answers
/// (receptive field, q, embedding shape), as written in the manifest.
pub struct Row {
    pub path: PathBuf,
    pub variant: String,
    pub rf: String,
    pub q: String,
    pub embedding: String,
}

/// The rows of `corpus/MANIFEST.tsv`.
pub fn manifest(shared: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(shared.join("corpus/MANIFEST.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f = tsv_fields(line);
            Row {
                path: shared.join("corpus").join(&f[0]),
                variant: f[4].split_whitespace().next().unwrap_or("?").to_string(),
                rf: f[5].clone(),
                q: f[6].clone(),
                embedding: f[7].clone(),
            }
        })
        .collect()
}

/// The seed whose file name starts with `prefix`.
pub fn seed(shared: &Path, prefix: &str) -> PathBuf {
    std::fs::read_dir(shared.join("seeds"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .expect("seed exists")
}

/// Copies the folder `from` into `to` with its subfolders (a rubric folder holds its bank in
/// `bank/`), so that a test can edit a class without touching the project's own files.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()));
        } else if path.is_file() {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// Whether `examiner-reference` (libtorch) can be run, for a test that computes a key no lock
/// holds or embeds answers. When it cannot (the light build's test run), prints a notice and
/// the test returns early; under `EXAMINER_REQUIRE_REFERENCE` (the full test gate) its absence
/// fails the test instead.
pub fn reference_available(test: &str) -> bool {
    match examiner::reference::client::locate() {
        Ok(_) => true,
        Err(e) if std::env::var_os("EXAMINER_REQUIRE_REFERENCE").is_some() => {
            panic!("{test} needs examiner-reference: {e}")
        }
        Err(e) => {
            eprintln!("skipped {test}: {e}");
            false
        }
    }
}

/// The ```yaml example of rubrics/FORMAT.md: the documented rubric, which many tests grade with.
pub fn format_example() -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rubrics/FORMAT.md"))
            .unwrap();
    let start = doc.find("```yaml\n").expect("FORMAT.md has a yaml example") + 8;
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_string()
}

/// [`format_example`] written to `dir/example.yaml`; with `locked`, its committed key lock
/// (`tests/fixtures/format-example.keys.json`, checked fresh by rubric_format.rs) beside it,
/// so that no key needs libtorch.
pub fn write_format_example(dir: &Path, locked: bool) -> PathBuf {
    let path = dir.join("example.yaml");
    std::fs::write(&path, format_example()).unwrap();
    if locked {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-example.keys.json"),
            dir.join("example.keys.json"),
        )
        .unwrap();
    }
    path
}

/// `name`'s row of the gradebook in `out` (the header's, for `student`).
pub fn gradebook_row(out: &Path, name: &str) -> String {
    let gradebook = std::fs::read_to_string(out.join("gradebook.csv")).unwrap();
    gradebook
        .lines()
        .find(|l| l.starts_with(&format!("{name},")))
        .unwrap_or_else(|| panic!("{name} in {gradebook}"))
        .to_string()
}

/// Runs `examiner grade --out out` in `dir` (see [`run_examiner`]), which must exit 0; returns
/// the output folder.
pub fn grade_out(dir: &Path) -> PathBuf {
    let out = run_examiner(&["grade", "--out", "out"], dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("out")
}

/// A fresh, empty folder `examiner-PREFIX-NAME-<pid>` in the system's temporary folder.
pub fn fresh_dir(prefix: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("examiner-{prefix}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the examiner binary with `args` in `dir` as a user would in a plain terminal: its own
/// key cache (`dir/.cache`), no colour, not under GitHub Actions.
pub fn run_examiner(args: &[&str], dir: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(args)
        .current_dir(dir)
        .env("EXAMINER_CACHE_DIR", dir.join(".cache"))
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("examiner runs")
}
