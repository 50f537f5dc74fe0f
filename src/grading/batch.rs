//! Grading a class: finding the submissions (one per notebook file, or one per student
//! folder), matching each to its rubric, and grading them in parallel. A submission that
//! cannot be read or matched becomes an error row with the reason; the run always goes on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;

use crate::extract::text::Snippets;
use crate::grading::{self, Audience, SubmissionResult};
use crate::notebook::{self, Cell, Notebook};
use crate::rubric::keys::Key;
use crate::rubric::Rubric;

/// File extensions read as submissions.
const EXTENSIONS: [&str; 4] = ["ipynb", "txt", "md", "json"];

/// One student's submission: a notebook file, or a folder of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Submission {
    /// The student's id: the file's stem or the folder's name, unique in a run (see
    /// [`discover_with`]).
    pub student: String,
    pub path: PathBuf,
    /// Which symbolic links reading it may follow.
    pub links: LinkRule,
}

/// Which symbolic links reading a submission may follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkRule {
    /// The path was named on the command line: a link there is followed, but what it leads
    /// to must be a regular file; links inside a named folder are refused.
    Named,
    /// Found in a folder: no link is followed.
    Refuse,
    /// Found in a folder, with `--follow-links`: a link inside a student's folder is followed
    /// when it leads to a file in that same folder.
    WithinFolder,
}

/// How to look for submissions.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// Follow links inside a student's folder that stay inside it.
    pub follow_links_within: bool,
    /// Paths that are not submissions even inside a submissions folder (the `--out` folder).
    pub exclude: Vec<PathBuf>,
}

/// A file or folder that was looked at and is not a submission, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// What [`discover_with`] found.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub submissions: Vec<Submission>,
    /// Everything looked at that is not a submission, each with why.
    pub skipped: Vec<Skipped>,
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
    !is_hidden_or_readme(path)
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Why `path` is not a submission (hidden, or a README), if it is one of those.
fn hidden_or_readme(path: &Path) -> Option<&'static str> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.starts_with('.') {
        Some("hidden")
    } else if name.starts_with("readme") {
        Some("a README, not a submission")
    } else {
        None
    }
}

fn is_hidden_or_readme(path: &Path) -> bool {
    hidden_or_readme(path).is_some()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .or_else(|| path.file_name())
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string())
}

/// The submissions in `inputs` ([`discover_with`] with default options, skips dropped).
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<Submission>, String> {
    discover_with(inputs, &DiscoverOptions::default()).map(|d| d.submissions)
}

/// The submissions in `inputs`: each named file is one; in a named folder, each entry is one
/// (a sub-folder is one student's, its notebooks read together), so that every file a class
/// handed in gets a row, even a PDF or a link (whose row says why it was not graded).
/// Hidden entries, `README*` files and the `exclude`d paths are not submissions; each is
/// named in [`Discovery::skipped`] with the reason. Sorted by student id, so reports are in
/// a stable order; ids are made unique (`alice.ipynb` and `alice.txt` are two students).
pub fn discover_with(inputs: &[PathBuf], options: &DiscoverOptions) -> Result<Discovery, String> {
    let exclude: Vec<PathBuf> = options
        .exclude
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let excluded =
        |p: &Path| std::fs::canonicalize(p).is_ok_and(|c| exclude.iter().any(|e| c.starts_with(e)));
    let found_rule = if options.follow_links_within {
        LinkRule::WithinFolder
    } else {
        LinkRule::Refuse
    };
    let mut found = Discovery::default();
    for input in inputs {
        if !input.is_dir() {
            found.submissions.push(Submission {
                student: stem(input),
                path: input.clone(),
                links: LinkRule::Named,
            });
            continue;
        }
        let entries = std::fs::read_dir(input)
            .map_err(|e| format!("cannot read {}: {e}", input.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", input.display()))?;
            let path = entry.path();
            // The entry itself, never what a link points to.
            let Ok(kind) = entry.file_type() else {
                found.skipped.push(Skipped {
                    path,
                    reason: "its type could not be read".into(),
                });
                continue;
            };
            if !kind.is_symlink() && excluded(&path) {
                found.skipped.push(Skipped {
                    path,
                    reason: "the output folder (--out)".into(),
                });
                continue;
            }
            if let Some(why) = hidden_or_readme(&path) {
                found.skipped.push(Skipped {
                    path,
                    reason: why.into(),
                });
                continue;
            }
            found.submissions.push(Submission {
                student: if kind.is_dir() {
                    path.file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default()
                } else {
                    stem(&path)
                },
                path,
                links: found_rule,
            });
        }
    }
    // Ids are printed everywhere (terminal, CI log, CSV, feedback): no control characters
    // (`x\n::stop-commands::` is shown as `x\\n::stop-commands::`), issue 15, class 5.
    for s in &mut found.submissions {
        s.student = crate::sanitize::line(&s.student);
    }
    found.submissions.sort();
    found.submissions.dedup_by(|a, b| a.path == b.path);
    unique_ids(&mut found.submissions);
    found.submissions.sort();
    found.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Makes every student id unique: ids shared by several submissions become the file (or
/// folder) name, then the whole path, so no two rows (or feedback files) are one student's.
fn unique_ids(subs: &mut [Submission]) {
    use std::collections::HashMap;
    for level in 0..2 {
        let mut count: HashMap<String, usize> = HashMap::new();
        for s in subs.iter() {
            *count.entry(s.student.clone()).or_default() += 1;
        }
        for s in subs.iter_mut() {
            if count[&s.student] > 1 {
                s.student = if level == 0 {
                    s.path
                        .file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_else(|| s.path.display().to_string())
                } else {
                    s.path.display().to_string()
                };
            }
        }
    }
}

/// A notebook read from a submission, with what was skipped on the way.
#[derive(Debug)]
pub struct Read {
    pub notebook: Notebook,
    /// Files of a student folder that were not read, each with why.
    pub warnings: Vec<String>,
}

/// Largest total of all files of one student folder (128 MiB): twice one file's limit.
pub const MAX_FOLDER_BYTES: u64 = 2 * notebook::Limits::DEFAULT.max_file_bytes;

/// Reads a submission: a file, or a folder's notebooks joined in name order.
pub fn read(submission: &Submission) -> Result<Notebook, String> {
    read_submission(submission).map(|r| r.notebook)
}

/// [`read`], with the warnings.
pub fn read_submission(submission: &Submission) -> Result<Read, String> {
    let limits = notebook::Limits::DEFAULT;
    let mut cells: Vec<Cell> = Vec::new();
    let mut first = None;
    let warnings = each_file(submission, |name, bytes, in_folder| {
        // A folder's file is named in an error; a lone file is the submission itself.
        let nb = notebook::read_bytes_with(name, bytes, &limits).map_err(|e| {
            if in_folder {
                format!("{name}: {e}")
            } else {
                e.to_string()
            }
        })?;
        if cells.len() + nb.cells.len() > limits.max_cells {
            return Err(format!(
                "the folder's notebooks together have more than {} cells",
                limits.max_cells
            ));
        }
        first.get_or_insert((nb.format, nb.language.clone()));
        for mut cell in nb.cells {
            cell.index = cells.len();
            cells.push(cell);
        }
        Ok(())
    })?;
    let (format, language) = first.expect("at least one file");
    Ok(Read {
        notebook: Notebook {
            cells,
            format,
            language,
        },
        warnings,
    })
}

/// A hash of the bytes of every file [`read_submission`] reads of `submission`, in order
/// (not their names: a copy renamed is still a copy), to find identical submissions;
/// `None` when it cannot be read. Only compared within a run, never stored.
pub fn fingerprint(submission: &Submission) -> Option<u64> {
    use std::hash::Hasher;
    let mut hasher = std::hash::DefaultHasher::new();
    each_file(submission, |_, bytes, _| {
        hasher.write_usize(bytes.len());
        hasher.write(bytes);
        Ok(())
    })
    .ok()?;
    Some(hasher.finish())
}

/// Reads the files of `submission` (the file, or a folder's notebook files in name order,
/// within the size limits and link rules) and hands each one's name and bytes to `each`, in
/// order (with whether it is one of a folder's files); returns the warnings (files of a
/// folder that were skipped). Grading and the identical-submission check both read through
/// it, so they agree on what a submission's bytes are.
fn each_file(
    submission: &Submission,
    mut each: impl FnMut(&str, &[u8], bool) -> Result<(), String>,
) -> Result<Vec<String>, String> {
    use notebook::open::Links;
    let limits = notebook::Limits::DEFAULT;
    let top_links = match submission.links {
        LinkRule::Named => Links::Follow,
        LinkRule::Refuse | LinkRule::WithinFolder => Links::Refuse,
    };
    let top = std::fs::symlink_metadata(&submission.path).map_err(|e| e.to_string())?;
    let is_folder = if top.file_type().is_symlink() {
        top_links == Links::Follow && submission.path.is_dir()
    } else {
        top.is_dir()
    };
    if !is_folder {
        let bytes =
            notebook::open::read_regular(&submission.path, limits.max_file_bytes, top_links)
                .map_err(|e| e.to_string())?;
        let name = submission
            .path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        each(&name, &bytes, false)?;
        return Ok(Vec::new());
    }
    let inner_links = match submission.links {
        LinkRule::WithinFolder => Links::Within(&submission.path),
        LinkRule::Named | LinkRule::Refuse => Links::Refuse,
    };
    let mut warnings = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(&submission.path)
        .map_err(|e| format!("cannot read the folder: {e}"))?
        .flatten()
    {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_submission_file(&path) && !is_dir {
            files.push(path);
        } else if let Some(why) = hidden_or_readme(&path) {
            warnings.push(format!("skipped {name}: {why}"));
        } else if is_dir {
            warnings.push(format!("skipped {name}/: sub-folders are not read"));
        } else {
            warnings.push(format!(
                "skipped {name}: not a notebook file (.ipynb, .txt, .md, .json)"
            ));
        }
    }
    files.sort();
    warnings.sort();
    if files.is_empty() {
        let mut error = "the folder has no notebook (.ipynb, .txt, .md)".to_string();
        if !warnings.is_empty() {
            error.push_str(&format!(" ({})", warnings.join("; ")));
        }
        return Err(error);
    }
    let mut total: u64 = 0;
    for file in &files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let left = MAX_FOLDER_BYTES.saturating_sub(total);
        let bytes =
            notebook::open::read_regular(file, left.min(limits.max_file_bytes), inner_links)
                .map_err(|e| match e {
                    notebook::IngestError::TooLarge { .. } if left < limits.max_file_bytes => {
                        format!(
                            "{name}: the folder's files together are over the limit of {} MB",
                            MAX_FOLDER_BYTES / (1024 * 1024)
                        )
                    }
                    e => format!("{name}: {e}"),
                })?;
        total += bytes.len() as u64;
        each(&name, &bytes, true)?;
    }
    Ok(warnings)
}

/// Grades one submission against the matching prepared rubric.
pub fn grade_one(submission: &Submission, rubrics: &[Prepared]) -> Outcome {
    grade_read(submission, rubrics)
}

/// [`grade_one`] (under its own name: `cargo xtask bench instructions` counts in it).
fn grade_read(submission: &Submission, rubrics: &[Prepared]) -> Outcome {
    match read_submission(submission) {
        Ok(read) => {
            let mut outcome = grade_notebook(
                &submission.path.display().to_string(),
                &read.notebook,
                rubrics,
            );
            if let Outcome::Graded(r) = &mut outcome {
                r.warnings.extend(read.warnings);
            }
            outcome
        }
        Err(error) => Outcome::Failed { error },
    }
}

/// Every snippet `rubrics` locate questions and recognise notebooks by, in a fixed order.
fn snippets_of(rubrics: &[Prepared]) -> Vec<&str> {
    let mut out = Vec::new();
    for p in rubrics {
        let r = &p.rubric;
        out.extend(r.recognise.all.iter().map(String::as_str));
        out.extend(r.recognise.none.iter().map(String::as_str));
        for q in &r.questions {
            out.extend(q.locate.start.as_deref());
            out.extend(q.locate.end.as_deref());
        }
    }
    out
}

/// The snippet automaton of `rubrics`, built once per set of rubrics (by their snippets'
/// text, never by a notebook) and shared by every notebook graded with them.
fn snippets(rubrics: &[Prepared]) -> Arc<Snippets> {
    static LAST: Mutex<Option<Arc<Snippets>>> = Mutex::new(None);
    let wanted = snippets_of(rubrics);
    let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
    match &*last {
        Some(s) if s.is_for(&wanted) => s.clone(),
        _ => {
            let built = Arc::new(Snippets::new(&wanted));
            *last = Some(built.clone());
            built
        }
    }
}

/// Grades a notebook already read, named `name` in its result.
pub fn grade_notebook(name: &str, notebook: &Notebook, rubrics: &[Prepared]) -> Outcome {
    // Laid out once: recognising the rubric and extracting the answers share it, and every
    // rubric's snippets are found in it in one pass.
    let mut stream = crate::extract::text::Stream::new(notebook);
    stream.index(snippets(rubrics));
    // Chosen from the question set's text, never from answers (issue 15, class 6).
    let candidates: Vec<&Rubric> = rubrics.iter().map(|p| &p.rubric).collect();
    let (chosen, also, extracted) = match crate::extract::recognise::recognise_outside_answers(
        &mut stream,
        notebook,
        &candidates,
    ) {
        Ok(r) => (
            r.rubric.id.clone(),
            r.also.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
            r.extracted,
        ),
        Err(error) => return Outcome::Failed { error },
    };
    let prepared = rubrics
        .iter()
        .find(|p| p.rubric.id == chosen)
        .expect("recognised among these");
    // Recognising the rubric extracted its answers already: taken over, not redone.
    let extractions = match extracted {
        Some(extractions) => extractions,
        None => crate::extract::extract_in(&mut stream, notebook, &prepared.rubric),
    };
    // The answer readers look at the first MAX_INPUT_BYTES of an answer: say when that cut.
    let long: Vec<String> = extractions
        .iter()
        .filter(|e| e.text.len() > crate::answer::MAX_INPUT_BYTES)
        .map(|e| e.id.clone())
        .collect();
    let mut result = grading::judge(
        name,
        notebook,
        &prepared.rubric,
        &prepared.keys,
        Audience::Grader,
        extractions,
    );
    // A limit hit while reading is never silent: it is on the row.
    result.warnings.extend(stream.warnings);
    if !long.is_empty() {
        result.warnings.push(format!(
            "answers longer than {} KiB were read only up to that length: {}",
            crate::answer::MAX_INPUT_BYTES / 1024,
            long.join(", ")
        ));
    }
    if !also.is_empty() {
        result.warnings.push(format!(
            "the notebook also matches rubric {}; graded with `{chosen}`",
            also.iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Outcome::Graded(result)
}

/// Submissions graded together before their results are handed on: enough to keep every
/// thread busy, few enough that a class's results are never all in memory at once.
pub const CHUNK: usize = 128;

/// Grades every submission in parallel; `progress` is called once per finished submission.
/// The results of a whole class, in memory together: [`grade_class`] hands them on instead.
pub fn grade_all(
    submissions: &[Submission],
    rubrics: &[Prepared],
    progress: &(dyn Fn(&Graded) + Sync),
) -> Vec<Graded> {
    let mut all = Vec::with_capacity(submissions.len());
    let kept: Result<(), std::convert::Infallible> =
        grade_class(submissions, rubrics, progress, |g| {
            all.push(g);
            Ok(())
        });
    match kept {
        Ok(()) => all,
    }
}

/// Grades every submission, [`CHUNK`] at a time in parallel, and hands each result to `each`
/// in the order of `submissions`, so a caller that writes them out and keeps only what it
/// needs holds at most a few chunks of full results. `each` runs on a thread of its own while
/// the next chunk is graded, so writing a class's outputs overlaps grading it. Identical
/// submissions are found first, from the files' bytes, so each result comes with its note
/// already. The first error `each` returns stops the run and is returned.
pub fn grade_class<E: Send>(
    submissions: &[Submission],
    rubrics: &[Prepared],
    progress: &(dyn Fn(&Graded) + Sync),
    mut each: impl FnMut(Graded) -> Result<(), E> + Send,
) -> Result<(), E> {
    let prints: Vec<Option<u64>> = submissions.par_iter().map(fingerprint).collect();
    let notes = identical_notes(submissions, &prints);
    // One chunk waits while one is handed on and the next is graded.
    let (chunks, graded_chunks) = std::sync::mpsc::sync_channel::<Vec<Graded>>(1);
    std::thread::scope(|scope| {
        let consumer = scope.spawn(move || {
            for chunk in graded_chunks {
                for g in chunk {
                    each(g)?;
                }
            }
            Ok(())
        });
        for (chunk, notes) in submissions.chunks(CHUNK).zip(notes.chunks(CHUNK)) {
            let graded = grade_chunk(chunk, notes, rubrics, progress);
            if chunks.send(graded).is_err() {
                // `each` failed: its error is what the run returns.
                break;
            }
        }
        drop(chunks);
        consumer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Grades `chunk` in parallel, each result with its note from `notes`.
fn grade_chunk(
    chunk: &[Submission],
    notes: &[Option<String>],
    rubrics: &[Prepared],
    progress: &(dyn Fn(&Graded) + Sync),
) -> Vec<Graded> {
    chunk
        .par_iter()
        .zip(notes)
        .map(|(s, note)| {
            // A notebook that trips a bug must not take the class down with it.
            let mut outcome =
                std::panic::catch_unwind(|| grade_read(s, rubrics)).unwrap_or_else(|_| {
                    Outcome::Failed {
                        error: "internal error while grading this submission (please report it)"
                            .into(),
                    }
                });
            if let (Some(note), Outcome::Graded(r)) = (note, &mut outcome) {
                r.grader_notes.push(note.clone());
            }
            let graded = Graded {
                submission: s.clone(),
                outcome,
            };
            progress(&graded);
            graded
        })
        .collect()
}

/// A note (for the grader) for every submission whose bytes (`prints`, one per submission)
/// are the same as another student's: a copy, or a file one student's folder shares with
/// another's.
fn identical_notes(submissions: &[Submission], prints: &[Option<u64>]) -> Vec<Option<String>> {
    let mut by_print: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for (s, print) in submissions.iter().zip(prints) {
        if let Some(print) = print {
            by_print.entry(*print).or_default().push(&s.student);
        }
    }
    submissions
        .iter()
        .zip(prints)
        .map(|(s, print)| {
            let same = print
                .and_then(|p| by_print.get(&p))
                .filter(|s| s.len() > 1)?;
            let others: Vec<&str> = same
                .iter()
                .copied()
                .filter(|other| *other != s.student)
                .collect();
            let shown = others.len().min(5);
            let more = match others.len() - shown {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            Some(format!(
                "identical to the submission of {}{more}",
                others[..shown].join(", ")
            ))
        })
        .collect()
}
