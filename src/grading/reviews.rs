//! Reviews as data: the grades, overrides and comments a person gives, kept in a CSV file a TA
//! can also edit in a spreadsheet, and merged into a class's results before anything is
//! reported.
//!
//! # The review file
//!
//! UTF-8 CSV (a spreadsheet's byte-order mark is accepted) with a header row. Columns, in any
//! order, names matched without regard to case or surrounding spaces:
//!
//! | column | required | what |
//! |---|---|---|
//! | `student` | yes | the student's id as `grade` shows it (the file's stem or the folder's name) |
//! | `question` | yes | a question id of the student's rubric, or `id/part` for one part of it (a true/false statement `2`, a labelled part `b`) |
//! | `points` | yes (may be empty) | points given, `0` to the question's (or part's) maximum; `2.5` or `2,5`. Empty: a comment only, the automatic score stays |
//! | `comment` | yes (may be empty) | shown to the student with the score |
//! | `grader` | no | who reviewed; shown wherever the review is |
//! | `timestamp` | no | when (free text; ISO 8601 recommended) |
//! | `answer_hash` | no | the `answer_hash` of the answer the review was given for (see `results.json` or `reviews-todo.csv`); when present and the student's answer has changed since, the review is reported and not applied |
//!
//! Other columns (`max_points`, `answer`, notes of the TA's own) are ignored, except one whose
//! name is a near miss of a known column (`pionts`), which is an error: a typo must not make
//! grades silently disappear. Every error names `file:line`. One row per `student` and
//! `question`: a second row for the same pair is an error (which one is meant cannot be known).
//!
//! # Applying
//!
//! A review with points replaces the question's (or part's) score, whatever the automatic
//! verdict was: grading a `manual` or `needs-review` answer and overriding an automatic score are
//! the same operation. The status then follows the points (full marks `correct`, none `wrong`,
//! in between `partial`); a question whose parts were reviewed one by one is scored as the sum
//! of its parts once none awaits review. Every applied review is recorded on its question
//! ([`ReviewMark`], `reviews` in `results.json`) and adds a feedback line naming the grader, so
//! every report shows who reviewed what. Totals, "answer k of n" choices and `pending_review`
//! are recomputed afterwards.
//!
//! A review that cannot be applied (unknown student or question, points above the maximum, an
//! answer that changed since) is returned as a warning with its `file:line`; the question keeps
//! its automatic result.
//!
//! # The answer hash
//!
//! [`answer_hash`] is computed from the raw source of the notebook cells the answer was found in
//! (not from examiner's reading of them), so a new version of examiner that reads answers
//! differently keeps every review valid, while a student who edits an answer invalidates it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::grading::batch::{Graded, Outcome, Prepared};
use crate::grading::{PartResult, QuestionResult, Status, SubmissionResult};
use crate::notebook::Notebook;
use crate::rubric::keys::format_points;

/// The review file `grade` reads from the current folder when `--reviews` is not given.
pub const DEFAULT_FILE: &str = "reviews.csv";

/// The columns of a review file, in the order examiner writes them.
pub const COLUMNS: [&str; 7] = [
    "student",
    "question",
    "points",
    "comment",
    "grader",
    "timestamp",
    "answer_hash",
];

/// Columns every review file must have.
const REQUIRED: [&str; 4] = ["student", "question", "points", "comment"];

/// A review file larger than this is refused (a class's reviews are a few hundred kB).
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// At most this many errors are listed for one file.
const MAX_ERRORS: usize = 20;

/// Points within this of a bound count as on it.
const EPS: f64 = 1e-9;

/// One row of the review file.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// 1-based line of the row in the file.
    pub line: usize,
    pub student: String,
    /// The question id (without the part).
    pub question: String,
    /// The part id, for `id/part`.
    pub part: Option<String>,
    /// Points given; `None` for a comment only.
    pub points: Option<f64>,
    pub comment: String,
    pub grader: String,
    pub timestamp: String,
    pub answer_hash: String,
}

/// A review as recorded on the question it was applied to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewMark {
    /// The part reviewed; absent for the whole question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// Points given; null for a comment only.
    pub points: Option<f64>,
    /// The automatic points it replaced.
    pub automatic_points: Option<f64>,
    /// The automatic status it replaced.
    pub automatic_status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub grader: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub timestamp: String,
    /// Where the review came from: `reviews.csv:4`.
    pub source: String,
}

impl ReviewMark {
    /// `q3 by anna`, `q5/2 by ben`, `q1 (comment) by anna`: for one-line summaries.
    pub fn summary(&self, question: &str) -> String {
        let mut s = match &self.part {
            Some(p) => format!("{question}/{p}"),
            None => question.to_string(),
        };
        if self.points.is_none() {
            s.push_str(" (comment)");
        }
        if !self.grader.is_empty() {
            s.push_str(" by ");
            s.push_str(&self.grader);
        }
        s
    }
}

impl QuestionResult {
    /// Who reviewed this question (`anna`, `anna, ben`, or `a grader` when no name was
    /// given); `None` when nobody did.
    pub fn reviewers(&self) -> Option<String> {
        if self.reviews.is_empty() {
            return None;
        }
        let mut names: Vec<&str> = Vec::new();
        for m in &self.reviews {
            let name = if m.grader.is_empty() {
                "a grader"
            } else {
                m.grader.as_str()
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        Some(names.join(", "))
    }
}

/// An error in a review file, at a line of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewError {
    pub file: String,
    /// 1-based; 0 for the file as a whole.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ReviewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

/// Errors of one file, shown one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewErrors(pub Vec<ReviewError>);

impl fmt::Display for ReviewErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ReviewErrors {}

/// The hash that ties a review to the answer it was given for: the first 16 hex digits of the
/// SHA-256 of the raw source of `cells` (in order, each followed by a NUL byte). Cells that do
/// not exist are skipped; no cells (a missing answer) give the hash of nothing.
pub fn answer_hash(notebook: &Notebook, cells: &[usize]) -> String {
    let mut h = Sha256::new();
    for &i in cells {
        if let Some(cell) = notebook.cells.get(i) {
            h.update(cell.source.as_bytes());
            h.update([0u8]);
        }
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The review file to use: `explicit` (which must exist), else [`DEFAULT_FILE`] in the current
/// folder when present, else none. Refused when it lies inside `out`, a folder a run may
/// replace.
pub fn locate(explicit: Option<&Path>, out: Option<&Path>) -> Result<Option<PathBuf>, String> {
    let path = match explicit {
        Some(p) if !p.is_file() => {
            return Err(format!("the review file {} does not exist", p.display()))
        }
        Some(p) => p.to_path_buf(),
        None if Path::new(DEFAULT_FILE).is_file() => PathBuf::from(DEFAULT_FILE),
        None => return Ok(None),
    };
    if let Some(out) = out {
        refuse_inside(&path, out)?;
    }
    Ok(Some(path))
}

/// Refuses a review file `file` (existing or not) that lies inside `out`, a folder a run may
/// replace (links resolved as far as the paths exist).
pub fn refuse_inside(file: &Path, out: &Path) -> Result<(), String> {
    if absolute(file).starts_with(absolute(out)) {
        return Err(format!(
            "the review file {} is inside the --out folder {}, which a run may replace; \
             keep it outside (e.g. next to submissions/)",
            file.display(),
            out.display()
        ));
    }
    Ok(())
}

/// `path` made absolute with symbolic links resolved as far as it exists (an `--out` folder
/// may not exist yet).
fn absolute(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canon) = existing.canonicalize() {
            let mut p = canon;
            for part in rest.iter().rev() {
                p.push(part);
            }
            return p;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return abs,
        }
    }
}

/// What merging a review file into a class did.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub file: PathBuf,
    /// Rows in the file.
    pub reviews: usize,
    /// Rows not applied, each a `file:line: why` sentence.
    pub warnings: Vec<String>,
}

/// For `grade`: finds the review file ([`locate`]) and reads it, ready to be applied to the
/// class as it is graded ([`Pending::apply`]). `None` when there is no review file; an error
/// when it is unusable (every error with its `file:line`).
pub fn open(explicit: Option<&Path>, out: Option<&Path>) -> anyhow::Result<Option<Pending>> {
    let Some(file) = locate(explicit, out).map_err(anyhow::Error::msg)? else {
        return Ok(None);
    };
    let reviews = {
        let _lock = ReviewLock::acquire(&file).map_err(anyhow::Error::msg)?;
        read(&file)?
    };
    Ok(Some(Pending::new(file, reviews)))
}

/// [`open`], applied to a class graded already.
pub fn merge(
    explicit: Option<&Path>,
    out: Option<&Path>,
    graded: &mut [Graded],
    rubrics: &[Prepared],
) -> anyhow::Result<Option<Merged>> {
    Ok(open(explicit, out)?.map(|mut pending| {
        pending.apply(graded, rubrics);
        pending.finish()
    }))
}

/// A review file read, being applied to a class a part at a time.
#[derive(Debug)]
pub struct Pending {
    file: PathBuf,
    /// `file`, as warnings name it.
    name: String,
    count: usize,
    /// The reviews not applied yet, by student.
    by_student: BTreeMap<String, Vec<Review>>,
    warnings: Vec<String>,
}

impl Pending {
    /// The `reviews` read from `file`, none applied yet.
    fn new(file: PathBuf, reviews: Vec<Review>) -> Pending {
        let count = reviews.len();
        let mut by_student: BTreeMap<String, Vec<Review>> = BTreeMap::new();
        for r in reviews {
            by_student.entry(r.student.clone()).or_default().push(r);
        }
        Pending {
            name: file.display().to_string(),
            file,
            count,
            by_student,
            warnings: Vec::new(),
        }
    }

    /// Applies the reviews of the students in `graded` (each student's once).
    pub fn apply(&mut self, graded: &mut [Graded], rubrics: &[Prepared]) {
        for g in graded.iter_mut() {
            let Some(mine) = self.by_student.remove(g.submission.student.as_str()) else {
                continue;
            };
            let file = &self.name;
            match &mut g.outcome {
                Outcome::Graded(result) => {
                    let rubric = rubrics.iter().find(|p| p.rubric.id == result.rubric);
                    let mine: Vec<&Review> = mine.iter().collect();
                    self.warnings
                        .extend(apply_one(result, rubric.map(|p| &p.rubric), &mine, file));
                }
                Outcome::Failed { .. } => {
                    for r in mine {
                        self.warnings.push(format!(
                            "{file}:{}: {}'s submission could not be graded; the review is not applied",
                            r.line, r.student
                        ));
                    }
                }
            }
        }
    }

    /// What the merge did: the reviews of students not in the class are not applied.
    pub fn finish(mut self) -> Merged {
        let file = &self.name;
        for r in std::mem::take(&mut self.by_student).into_values().flatten() {
            self.warnings.push(format!(
                "{file}:{}: no submission of a student `{}` in this run; the review is not applied",
                r.line, r.student
            ));
        }
        self.warnings.sort_by_key(|w| line_of(w, file));
        Merged {
            file: self.file,
            reviews: self.count,
            warnings: self.warnings,
        }
    }
}

/// Reads and validates the review file at `path`.
pub fn read(path: &Path) -> Result<Vec<Review>, ReviewErrors> {
    let file = path.display().to_string();
    let whole = |message: String| {
        ReviewErrors(vec![ReviewError {
            file: file.clone(),
            line: 0,
            message,
        }])
    };
    let len = std::fs::metadata(path)
        .map_err(|e| whole(format!("cannot read: {e}")))?
        .len();
    if len > MAX_BYTES {
        return Err(whole(format!(
            "{len} bytes: larger than the {MAX_BYTES} a review file may have"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    parse(&bytes, &file)
}

/// Parses and validates a review file's bytes; `file` names it in errors.
pub fn parse(bytes: &[u8], file: &str) -> Result<Vec<Review>, ReviewErrors> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut errs = Errors {
        file,
        list: Vec::new(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => {
            errs.add(
                0,
                format!(
                    "empty: the first line names the columns ({})",
                    COLUMNS.join(",")
                ),
            );
            return Err(ReviewErrors(errs.list));
        }
        Some(Err(e)) => {
            errs.add(csv_line(bytes, &e), format!("not valid CSV: {e}"));
            return Err(ReviewErrors(errs.list));
        }
        Some(Ok(h)) => h,
    };
    // Which position each known column is at.
    let mut at: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
        if let Some(known) = COLUMNS.iter().find(|c| **c == name) {
            if at.insert(known, i).is_some() {
                errs.add(1, format!("the column `{known}` appears twice"));
            }
        } else if let Some(near) = COLUMNS
            .iter()
            .find(|c| !name.is_empty() && strsim::damerau_levenshtein(c, &name) <= 2)
        {
            errs.add(
                1,
                format!("unknown column `{name}`: did you mean `{near}`? (a column examiner does not know is ignored, so a misspelt one is refused)"),
            );
        }
    }
    for required in REQUIRED {
        if !at.contains_key(required) {
            errs.add(
                1,
                format!(
                    "no `{required}` column (the header must name {}; optional: grader, timestamp, answer_hash)",
                    REQUIRED.join(", ")
                ),
            );
        }
    }
    if !errs.list.is_empty() {
        return Err(ReviewErrors(errs.list));
    }
    let mut reviews: Vec<Review> = Vec::new();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for record in records {
        if errs.list.len() >= MAX_ERRORS {
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errs.add(csv_line(bytes, &e), format!("not valid CSV: {e}"));
                break;
            }
        };
        // From the byte offset: the reader's own line count skips blank lines.
        let line = record.position().map_or(0, |p| line_at(bytes, p.byte()));
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // a blank row, as spreadsheets leave
        }
        let mut cell = |name: &str| -> Option<String> {
            let i = *at.get(name)?;
            let raw = record.get(i).unwrap_or_default();
            match std::str::from_utf8(raw) {
                Ok(s) => Some(s.trim().to_string()),
                Err(_) => {
                    errs.add(
                        line,
                        format!("`{name}` is not UTF-8 text (save the file as \"CSV UTF-8\")"),
                    );
                    None
                }
            }
        };
        let (Some(student), Some(question), Some(points), Some(comment)) = (
            cell("student"),
            cell("question"),
            cell("points"),
            cell("comment"),
        ) else {
            continue;
        };
        let grader = cell("grader").unwrap_or_default();
        let timestamp = cell("timestamp").unwrap_or_default();
        let answer_hash = cell("answer_hash").unwrap_or_default().to_ascii_lowercase();
        if student.is_empty() {
            errs.add(line, "no student".into());
            continue;
        }
        let (question, part) = match question.split_once('/') {
            Some((q, p)) => (q.trim().to_string(), Some(p.trim().to_string())),
            None => (question, None),
        };
        if question.is_empty() || part.as_deref().is_some_and(str::is_empty) {
            errs.add(line, "no question (a question id, or `id/part`)".into());
            continue;
        }
        let points = match parse_points(&points) {
            Ok(p) => p,
            Err(m) => {
                errs.add(line, m);
                continue;
            }
        };
        if points.is_none() && comment.is_empty() {
            errs.add(line, "neither points nor a comment".into());
            continue;
        }
        if !answer_hash.is_empty() && !answer_hash.chars().all(|c| c.is_ascii_hexdigit()) {
            errs.add(
                line,
                format!("answer_hash `{answer_hash}` is not a hash (hex digits, as in reviews-todo.csv)"),
            );
            continue;
        }
        let full = match &part {
            Some(p) => format!("{question}/{p}"),
            None => question.clone(),
        };
        if let Some(first) = seen.insert((student.clone(), full.clone()), line) {
            errs.add(
                line,
                format!(
                    "a second review of {student} {full} (the first is on line {first}); keep one"
                ),
            );
            continue;
        }
        reviews.push(Review {
            line,
            student,
            question,
            part,
            points,
            comment,
            grader,
            timestamp,
            answer_hash,
        });
    }
    if errs.list.is_empty() {
        Ok(reviews)
    } else {
        Err(ReviewErrors(errs.list))
    }
}

/// The errors of one file, collected.
struct Errors<'a> {
    file: &'a str,
    list: Vec<ReviewError>,
}

impl Errors<'_> {
    fn add(&mut self, line: usize, message: String) {
        self.list.push(ReviewError {
            file: self.file.to_string(),
            line,
            message,
        });
    }
}

fn csv_line(bytes: &[u8], e: &csv::Error) -> usize {
    e.position().map_or(0, |p| line_at(bytes, p.byte()))
}

/// The 1-based line of the record starting at byte `offset` of `bytes` (the reader's offset
/// is before any blank lines it skipped, and a record never starts with a line break).
fn line_at(bytes: &[u8], offset: u64) -> usize {
    let mut end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    while end < bytes.len() && matches!(bytes[end], b'\r' | b'\n') {
        end += 1;
    }
    1 + bytes[..end].iter().filter(|&&b| b == b'\n').count()
}

/// `2`, `2.5` or `2,5` (a decimal comma, as spreadsheets in many locales write it); empty is
/// none.
fn parse_points(s: &str) -> Result<Option<f64>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let normal = if s.matches(',').count() == 1 && !s.contains('.') {
        s.replace(',', ".")
    } else {
        s.to_string()
    };
    match normal.parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(Some(p)),
        Ok(_) => Err(format!(
            "points `{s}`: must be a number from 0 to the question's maximum"
        )),
        Err(_) => Err(format!(
            "points `{s}` is not a number (write e.g. 2 or 2.5, or leave it empty for a comment only)"
        )),
    }
}

/// The status that `points` of `max` earn.
fn status_for(points: f64, max: f64) -> Status {
    if points >= max - EPS {
        Status::Correct
    } else if points <= EPS {
        Status::Wrong
    } else {
        Status::Partial
    }
}

/// Merges `reviews` (from `file`) into a graded class; returns the reviews that could not be
/// applied, each as a `file:line: why` warning.
pub fn apply(
    graded: &mut [Graded],
    rubrics: &[Prepared],
    reviews: &[Review],
    file: &str,
) -> Vec<String> {
    let mut pending = Pending::new(PathBuf::from(file), reviews.to_vec());
    pending.apply(graded, rubrics);
    pending.finish().warnings
}

fn line_of(warning: &str, file: &str) -> usize {
    warning[file.len().min(warning.len())..]
        .trim_start_matches(':')
        .split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Merges one student's `reviews` into `result` (graded under `rubric`, used for its "answer
/// k of n" rules); returns warnings for the reviews not applied.
pub fn apply_one(
    result: &mut SubmissionResult,
    rubric: Option<&crate::rubric::Rubric>,
    reviews: &[&Review],
    file: &str,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut changed = false;
    // Parts first, so that a review of the whole question has the last word.
    let mut ordered: Vec<&Review> = reviews.to_vec();
    ordered.sort_by_key(|r| (r.part.is_none(), r.line));
    for r in ordered {
        let at = format!("{file}:{}", r.line);
        let Some(q) = result.questions.iter_mut().find(|q| q.id == r.question) else {
            let ids: Vec<&str> = result.questions.iter().map(|q| q.id.as_str()).collect();
            warnings.push(format!(
                "{at}: {}'s rubric {} has no question `{}` (its questions: {}); the review is not applied",
                r.student,
                result.rubric,
                r.question,
                ids.join(", ")
            ));
            continue;
        };
        if !r.answer_hash.is_empty() && r.answer_hash != q.answer_hash {
            warnings.push(format!(
                "{at}: {}'s answer to {} has changed since it was reviewed (answer_hash {} now {}); \
                 the review is not applied: review the new answer and update the row",
                r.student,
                full_id(&q.id, r.part.as_deref()),
                r.answer_hash,
                q.answer_hash
            ));
            continue;
        }
        match apply_review(q, r, &at) {
            Ok(()) => changed = true,
            Err(why) => warnings.push(format!("{at}: {why}; the review is not applied")),
        }
    }
    if changed {
        super::rescore(rubric, result);
    }
    warnings
}

fn full_id(question: &str, part: Option<&str>) -> String {
    match part {
        Some(p) => format!("{question}/{p}"),
        None => question.to_string(),
    }
}

/// Applies one review to its question.
fn apply_review(q: &mut QuestionResult, r: &Review, source: &str) -> Result<(), String> {
    let by = if r.grader.is_empty() {
        "a grader".to_string()
    } else {
        r.grader.clone()
    };
    let comment = if r.comment.is_empty() {
        String::new()
    } else {
        format!(" — {}", r.comment)
    };
    let mark = |part: Option<String>, automatic_points, automatic_status| ReviewMark {
        part,
        points: r.points,
        automatic_points,
        automatic_status,
        comment: r.comment.clone(),
        grader: r.grader.clone(),
        timestamp: r.timestamp.clone(),
        source: source.to_string(),
    };
    match &r.part {
        Some(part_id) => {
            let ids: Vec<String> = q.parts.iter().map(|p| p.id.clone()).collect();
            let Some(p) = q.parts.iter_mut().find(|p| p.id == *part_id) else {
                return Err(if ids.is_empty() {
                    format!("{} is judged whole (it has no parts)", q.id)
                } else {
                    format!(
                        "{} has no part `{part_id}` (its parts: {})",
                        q.id,
                        ids.join(", ")
                    )
                });
            };
            let m = mark(Some(part_id.clone()), p.points, p.status);
            if let Some(points) = r.points {
                check_max(points, p.max_points, &full_id(&q.id, Some(part_id)))?;
                p.points = Some(points);
                p.status = status_for(points, p.max_points);
                p.feedback.insert(
                    0,
                    format!(
                        "reviewed by {by}: {} of {} points{comment}",
                        format_points(points),
                        format_points(p.max_points)
                    ),
                );
                q.feedback.push(format!(
                    "part {part_id} reviewed by {by}: {} of {} points{comment}",
                    format_points(points),
                    format_points(p.max_points)
                ));
                rescore_from_parts(q);
            } else {
                p.feedback.push(format!("comment from {by}: {}", r.comment));
                q.feedback
                    .push(format!("part {part_id}, comment from {by}: {}", r.comment));
            }
            q.reviews.push(m);
        }
        None => {
            let m = mark(None, q.points, q.status);
            if let Some(points) = r.points {
                check_max(points, q.max_points, &q.id)?;
                q.points = Some(points);
                q.status = status_for(points, q.max_points);
                q.feedback.push(format!(
                    "reviewed by {by}: {} of {} points{comment}",
                    format_points(points),
                    format_points(q.max_points)
                ));
            } else {
                q.feedback.push(format!("comment from {by}: {}", r.comment));
            }
            q.reviews.push(m);
        }
    }
    Ok(())
}

fn check_max(points: f64, max: f64, what: &str) -> Result<(), String> {
    if points > max + EPS {
        Err(format!(
            "{} points for {what}, which is worth {}",
            format_points(points),
            format_points(max)
        ))
    } else {
        Ok(())
    }
}

/// A question scored part by part: once no part awaits review, its points are their sum.
fn rescore_from_parts(q: &mut QuestionResult) {
    if q.parts.iter().any(|p: &PartResult| p.points.is_none()) {
        return;
    }
    let sum: f64 = q.parts.iter().filter_map(|p| p.points).sum();
    q.points = Some(sum);
    q.status = status_for(sum, q.max_points);
}

/// How long to wait for another examiner's lock on the review file.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A lock older than this is left over from a process that died, and is broken.
const LOCK_STALE: std::time::Duration = std::time::Duration::from_secs(120);

/// The lock `grade` (while it reads) and `review` (while it writes) take on a review file: a
/// `<file>.lock` file created exclusively next to it, removed when dropped.
#[derive(Debug)]
pub struct ReviewLock {
    path: PathBuf,
}

impl ReviewLock {
    /// Takes the lock on `file`, waiting up to 10 s for another holder; a lock file older than
    /// two minutes is taken to be left by a process that died.
    pub fn acquire(file: &Path) -> Result<ReviewLock, String> {
        let mut name = file.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = file.with_file_name(name);
        let started = std::time::Instant::now();
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(ReviewLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > LOCK_STALE);
                    if stale {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > LOCK_WAIT {
                        return Err(format!(
                            "{} is locked by another examiner (its lock {} is held); try again, \
                             or remove the lock file if no examiner is running",
                            file.display(),
                            path.display()
                        ));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(format!("cannot lock {}: {e}", file.display())),
            }
        }
    }
}

impl Drop for ReviewLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Records `review` in the review file at `path`, at once and atomically (a reader sees the old
/// file or the new one): replaces the row for the same student and question (or part), or
/// appends one; creates the file with [`COLUMNS`] when it does not exist. Other rows, other
/// columns and the column order are kept, so a file edited in a spreadsheet stays as it was.
/// Takes the [`ReviewLock`]. This is what the review page calls for every grade.
pub fn record(path: &Path, review: &Review) -> Result<(), String> {
    let _lock = ReviewLock::acquire(path)?;
    let mut header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    if path.exists() {
        // Only a valid file is rewritten: an error is the TA's to fix, not ours to overwrite.
        read(path).map_err(|e| e.to_string())?;
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let bytes = bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&bytes)
            .to_vec();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes.as_slice());
        let mut records = reader.records();
        if let Some(Ok(h)) = records.next() {
            header = h.iter().map(str::to_string).collect();
        }
        for r in records {
            let r = r.map_err(|e| format!("{}: {e}", path.display()))?;
            rows.push(r.iter().map(str::to_string).collect());
        }
    }
    let mut at: BTreeMap<&str, usize> = BTreeMap::new();
    for c in COLUMNS {
        let i = match header.iter().position(|h| h.trim().eq_ignore_ascii_case(c)) {
            Some(i) => i,
            None => {
                header.push(c.to_string());
                header.len() - 1
            }
        };
        at.insert(c, i);
    }
    let question = full_id(&review.question, review.part.as_deref());
    let values = [
        ("student", review.student.clone()),
        ("question", question.clone()),
        (
            "points",
            review.points.map(format_points).unwrap_or_default(),
        ),
        ("comment", review.comment.clone()),
        ("grader", review.grader.clone()),
        ("timestamp", review.timestamp.clone()),
        ("answer_hash", review.answer_hash.clone()),
    ];
    let same = |row: &Vec<String>| {
        let cell = |c: &str| row.get(at[c]).map_or("", |s| s.trim());
        cell("student") == review.student
            && cell("question").replace(' ', "") == question.replace(' ', "")
    };
    let index = match rows.iter().position(same) {
        Some(i) => i,
        None => {
            rows.push(Vec::new());
            rows.len() - 1
        }
    };
    let row = &mut rows[index];
    for (c, v) in values {
        if row.len() <= at[c] {
            row.resize(at[c] + 1, String::new());
        }
        row[at[c]] = v;
    }
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    for r in std::iter::once(&header).chain(rows.iter()) {
        w.write_record(r).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let written = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Vec<Review>, String> {
        parse(s.as_bytes(), "r.csv").map_err(|e| e.to_string())
    }

    #[test]
    fn a_spreadsheet_file_parses_with_optional_columns_in_any_order() {
        let text = "\u{feff}Question , Student,points,comment,grader,notes\n\
                    q1,ann,\"2,5\",\"good, but \"\"why\"\"?\",ta1,my own column\n\
                    \n\
                    tf/2,bob,,see the lecture,,\n";
        let r = parse_str(text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].line, r[0].student.as_str()), (2, "ann"));
        assert_eq!(r[0].points, Some(2.5));
        assert_eq!(r[0].comment, "good, but \"why\"?");
        assert_eq!(r[0].grader, "ta1");
        assert_eq!((r[1].line, r[1].question.as_str()), (4, "tf"));
        assert_eq!(r[1].part.as_deref(), Some("2"));
        assert_eq!(r[1].points, None);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let e = parse_str("student,question,pionts,comment\n").unwrap_err();
        assert!(
            e.contains("r.csv:1: unknown column `pionts`: did you mean `points`?"),
            "{e}"
        );
        assert!(e.contains("r.csv:1: no `points` column"), "{e}");

        let e = parse_str(
            "student,question,points,comment\nann,q1,two,\nann,q2,-1,\nann,q3,,\n,q1,1,\nann,q1,1,x\nann,q1,2,y\n",
        )
        .unwrap_err();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 5, "{e}");
        assert!(
            lines[0].starts_with("r.csv:2: points `two` is not a number"),
            "{e}"
        );
        assert!(lines[1].starts_with("r.csv:3: points `-1`"), "{e}");
        assert!(
            lines[2].starts_with("r.csv:4: neither points nor a comment"),
            "{e}"
        );
        assert!(lines[3].starts_with("r.csv:5: no student"), "{e}");
        assert!(
            lines[4].starts_with("r.csv:7: a second review of ann q1 (the first is on line 6)"),
            "{e}"
        );
    }

    #[test]
    fn broken_input_is_an_error_never_a_panic() {
        for bytes in [
            &b""[..],
            b"\xff\xfe\x00s",
            b"student,question,points,comment\n\"unclosed,q,1,\n",
            b"student,question,points,comment\nann,q1,1,\xff\n",
            b"student,question,points,comment\nann,q1,NaN,\nann,q2,inf,\n",
        ] {
            assert!(parse(bytes, "r.csv").is_err(), "{bytes:?}");
        }
    }

    fn question(id: &str, status: Status, points: Option<f64>, max: f64) -> QuestionResult {
        QuestionResult {
            id: id.into(),
            title: String::new(),
            status,
            points,
            max_points: max,
            answer: crate::grading::AnswerOut {
                text: "an answer".into(),
                value: serde_json::Value::Null,
                cells: vec![1],
                line: Some(1),
                confidence: 0.9,
                method: None,
            },
            expected: None,
            feedback: Vec::new(),
            required: true,
            counted: true,
            parts: Vec::new(),
            answer_hash: "00aa".into(),
            reviews: Vec::new(),
        }
    }

    fn review(question: &str, points: Option<f64>, hash: &str, line: usize) -> Review {
        let (question, part) = match question.split_once('/') {
            Some((q, p)) => (q.to_string(), Some(p.to_string())),
            None => (question.to_string(), None),
        };
        Review {
            line,
            student: "ann".into(),
            question,
            part,
            points,
            comment: "ok".into(),
            grader: "ta1".into(),
            timestamp: String::new(),
            answer_hash: hash.into(),
        }
    }

    fn class() -> SubmissionResult {
        let mut tf = question("tf", Status::NeedsReview, None, 2.0);
        let part = |id: &str, status, points| PartResult {
            id: id.into(),
            status,
            points,
            max_points: 1.0,
            value: serde_json::Value::Null,
            expected: None,
            feedback: Vec::new(),
            cells: vec![1],
            line: None,
        };
        tf.parts = vec![
            part("1", Status::Correct, Some(1.0)),
            part("2", Status::NeedsReview, None),
        ];
        SubmissionResult {
            submission: "ann.ipynb".into(),
            rubric: "r".into(),
            score: Some(3.0),
            max_score: 10.0,
            pending_review: 2,
            questions: vec![
                question("auto", Status::Correct, Some(3.0), 3.0),
                question("manual", Status::NeedsReview, None, 5.0),
                tf,
            ],
            warnings: Vec::new(),
            grader_notes: Vec::new(),
        }
    }

    #[test]
    fn reviews_grade_pending_answers_and_override_automatic_ones() {
        let mut r = class();
        let reviews = [
            review("manual", Some(4.0), "00aa", 2),
            review("auto", Some(1.5), "", 3),
            review("tf/2", Some(0.0), "00aa", 4),
        ];
        let refs: Vec<&Review> = reviews.iter().collect();
        let w = apply_one(&mut r, None, &refs, "r.csv");
        assert!(w.is_empty(), "{w:?}");
        // 1.5 (override) + 4 (manual) + 1 (statement 1) + 0 (statement 2, reviewed)
        assert_eq!(r.score, Some(6.5));
        assert_eq!(r.pending_review, 0);
        let q = |id: &str| r.questions.iter().find(|q| q.id == id).unwrap();
        assert_eq!(
            (q("manual").status, q("manual").points),
            (Status::Partial, Some(4.0))
        );
        assert_eq!(
            (q("auto").status, q("auto").points),
            (Status::Partial, Some(1.5))
        );
        assert_eq!(q("auto").reviews[0].automatic_points, Some(3.0));
        assert_eq!(
            (q("tf").status, q("tf").points),
            (Status::Partial, Some(1.0))
        );
        assert_eq!(q("tf").parts[1].status, Status::Wrong);
        assert!(q("manual")
            .feedback
            .contains(&"reviewed by ta1: 4 of 5 points — ok".to_string()));
    }

    #[test]
    fn a_score_card_keeps_the_reviewed_scores_and_shares_its_names() {
        use crate::grading::row::{Names, ScoreCard};
        let mut r = class();
        let reviews = [review("manual", Some(4.0), "00aa", 2)];
        let refs: Vec<&Review> = reviews.iter().collect();
        assert!(apply_one(&mut r, None, &refs, "r.csv").is_empty());
        r.grader_notes
            .push("identical to the submission of bob".into());
        let mut names = Names::default();
        let card = ScoreCard::of(&r, &mut names);
        let again = ScoreCard::of(&class(), &mut names);
        assert_eq!(
            (card.score, card.max_score, card.pending_review),
            (r.score, 10.0, 1)
        );
        let manual = card.question("manual").unwrap();
        assert_eq!((manual.status, manual.points), (Status::Partial, Some(4.0)));
        assert_eq!(card.question("tf").unwrap().status, Status::NeedsReview);
        assert_eq!(card.question("nope"), None);
        // Only the reviewed question carries its marks, under its own index.
        assert_eq!(card.reviews.len(), 1);
        assert_eq!(&*card.questions[card.reviews[0].0].id, "manual");
        assert_eq!(card.reviews[0].1[0].grader, "ta1");
        assert_eq!(card.grader_notes, r.grader_notes);
        // One copy of each name for the whole class.
        assert!(std::sync::Arc::ptr_eq(&card.rubric, &again.rubric));
        assert!(std::sync::Arc::ptr_eq(
            &card.questions[2].id,
            &again.questions[2].id
        ));
    }

    #[test]
    fn a_review_of_a_changed_answer_or_beyond_the_maximum_is_reported_not_applied() {
        let mut r = class();
        let reviews = [
            review("manual", Some(4.0), "11bb", 2),
            review("auto", Some(4.0), "", 3),
            review("nope", Some(1.0), "", 4),
            review("tf/9", Some(1.0), "", 5),
        ];
        let refs: Vec<&Review> = reviews.iter().collect();
        let w = apply_one(&mut r, None, &refs, "r.csv");
        assert_eq!(w.len(), 4, "{w:?}");
        assert!(
            w[0].starts_with("r.csv:5: tf has no part `9` (its parts: 1, 2)"),
            "{w:?}"
        );
        assert!(
            w[1].starts_with("r.csv:2: ann's answer to manual has changed"),
            "{w:?}"
        );
        assert!(
            w[2].starts_with("r.csv:3: 4 points for auto, which is worth 3"),
            "{w:?}"
        );
        assert!(
            w[3].starts_with("r.csv:4: ann's rubric r has no question `nope`"),
            "{w:?}"
        );
        assert_eq!(r, class());
    }

    #[test]
    fn the_review_file_is_never_inside_out() {
        let dir = std::env::temp_dir().join(format!("examiner-reviews-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("out")).unwrap();
        std::fs::write(dir.join("out/reviews.csv"), "x").unwrap();
        std::fs::write(dir.join("reviews.csv"), "x").unwrap();
        let inside = locate(Some(&dir.join("out/reviews.csv")), Some(&dir.join("out")));
        assert!(inside.unwrap_err().contains("inside the --out folder"));
        let nested = locate(
            Some(&dir.join("out/reviews.csv")),
            Some(&dir.join("./out/../out")),
        );
        assert!(nested.is_err());
        let outside = locate(Some(&dir.join("reviews.csv")), Some(&dir.join("out/new")));
        assert_eq!(outside.unwrap(), Some(dir.join("reviews.csv")));
        assert!(locate(Some(&dir.join("none.csv")), None).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_recorded_review_replaces_its_row_and_keeps_the_rest() {
        let dir = std::env::temp_dir().join(format!("examiner-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("reviews.csv");
        std::fs::write(
            &path,
            "Student,question,points,comment,my notes\nann,q1,1,old,keep me\nbob,q1,2,,\n",
        )
        .unwrap();
        let mut r = review("q1", Some(2.5), "00aa", 0);
        r.comment = "better, \"now\"".into();
        record(&path, &r).unwrap();
        record(&path, &review("tf/2", None, "", 0)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "Student,question,points,comment,my notes,grader,timestamp,answer_hash",
                "ann,q1,2.5,\"better, \"\"now\"\"\",keep me,ta1,,00aa",
                "bob,q1,2,,",
                "ann,tf/2,,ok,,ta1,,",
            ]
        );
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[0].comment, "better, \"now\"");
        // No lock or temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(left.len(), 1);
        // A held lock makes a second taker wait, and is released on drop.
        let lock = ReviewLock::acquire(&path).unwrap();
        assert!(dir.join("reviews.csv.lock").exists());
        drop(lock);
        assert!(!dir.join("reviews.csv.lock").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
