//! Grading a class: finding the submissions (one per notebook file, or one per student
//! folder), matching each to its rubric, and grading them in parallel. A submission that
//! cannot be read or matched becomes an error row with the reason; the run always goes on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::grading::{self, Audience, SubmissionResult};
use crate::notebook::{self, Cell, Notebook};
use crate::rubric::keys::Key;
use crate::rubric::Rubric;

/// File extensions read as submissions.
const EXTENSIONS: [&str; 4] = ["ipynb", "txt", "md", "json"];

/// One student's submission: a notebook file, or a folder of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Submission {
    /// The student's id: the file's stem or the folder's name.
    pub student: String,
    pub path: PathBuf,
}

/// What grading one submission gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Graded(SubmissionResult),
    /// Could not be read or matched to a rubric; the reason is for the gradebook.
    Failed {
        error: String,
    },
}

/// A submission and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    pub submission: Submission,
    pub outcome: Outcome,
}

/// A rubric ready to grade with: its keys computed once.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub rubric: Rubric,
    pub keys: BTreeMap<String, Key>,
}

fn is_submission_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if name.starts_with('.') || name.to_ascii_lowercase().starts_with("readme") {
        return false;
    }
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .or_else(|| path.file_name())
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string())
}

/// The submissions in `inputs`: each file is one; in a folder, each notebook file is one and
/// each sub-folder is one student's (its notebooks read together). `README*` and hidden
/// files are not submissions. Sorted by student id, so reports are in a stable order.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<Submission>, String> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_file() {
            out.push(Submission {
                student: stem(input),
                path: input.clone(),
            });
            continue;
        }
        let entries = std::fs::read_dir(input)
            .map_err(|e| format!("cannot read {}: {e}", input.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if (path.is_dir() && !hidden) || is_submission_file(&path) {
                out.push(Submission {
                    student: stem(&path),
                    path,
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a submission: a file, or a folder's notebooks joined in name order.
pub fn read(submission: &Submission) -> Result<Notebook, String> {
    if !submission.path.is_dir() {
        return notebook::read_path(&submission.path).map_err(|e| e.to_string());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&submission.path)
        .map_err(|e| format!("cannot read the folder: {e}"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && is_submission_file(p))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err("the folder has no notebook (.ipynb, .txt, .md)".into());
    }
    let mut cells: Vec<Cell> = Vec::new();
    let mut first = None;
    for file in &files {
        let nb = notebook::read_path(file).map_err(|e| {
            format!(
                "{}: {e}",
                file.file_name().unwrap_or_default().to_string_lossy()
            )
        })?;
        first.get_or_insert((nb.format, nb.language.clone()));
        for mut cell in nb.cells {
            cell.index = cells.len();
            cells.push(cell);
        }
    }
    let (format, language) = first.expect("at least one file");
    Ok(Notebook {
        cells,
        format,
        language,
    })
}

/// Grades one submission against the matching prepared rubric.
pub fn grade_one(submission: &Submission, rubrics: &[Prepared]) -> Outcome {
    match read(submission) {
        Ok(notebook) => grade_notebook(&submission.path.display().to_string(), &notebook, rubrics),
        Err(error) => Outcome::Failed { error },
    }
}

/// Grades a notebook already read, named `name` in its result.
pub fn grade_notebook(name: &str, notebook: &Notebook, rubrics: &[Prepared]) -> Outcome {
    // Laid out once: recognising the rubric and extracting the answers share it.
    let mut stream = crate::extract::text::Stream::new(notebook);
    let chosen = match crate::extract::recognise_in(&stream, rubrics.iter().map(|p| &p.rubric)) {
        Ok(r) => r.id.clone(),
        Err(error) => return Outcome::Failed { error },
    };
    let prepared = rubrics
        .iter()
        .find(|p| p.rubric.id == chosen)
        .expect("recognised among these");
    let extractions = crate::extract::extract_in(&mut stream, notebook, &prepared.rubric);
    Outcome::Graded(grading::judge(
        name,
        notebook,
        &prepared.rubric,
        &prepared.keys,
        Audience::Grader,
        extractions,
    ))
}

/// Grades every submission in parallel; `progress` is called once per finished submission.
pub fn grade_all(
    submissions: &[Submission],
    rubrics: &[Prepared],
    progress: &(dyn Fn(&Graded) + Sync),
) -> Vec<Graded> {
    submissions
        .par_iter()
        .map(|s| {
            // A notebook that trips a bug must not take the class down with it.
            let outcome = std::panic::catch_unwind(|| grade_one(s, rubrics)).unwrap_or_else(|_| {
                Outcome::Failed {
                    error: "internal error while grading this submission (please report it)".into(),
                }
            });
            let graded = Graded {
                submission: s.clone(),
                outcome,
            };
            progress(&graded);
            graded
        })
        .collect()
}
