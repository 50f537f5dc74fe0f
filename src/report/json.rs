//! `results.json`: every submission's full result, for programs (an LMS import, a dashboard,
//! a script that re-weights questions). The shape is stable and documented here; fields are
//! only ever added.
//!
//! ```text
//! {
//!   "version": 1,
//!   "submissions": [
//!     // graded: "student", then the fields of `SubmissionResult` in their declared order
//!     { "student": "...", "submission": "...", "rubric": "...", "score": 7.5 | null,
//!       "max_score": 10.0, "pending_review": 1, "questions": [ QuestionResult... ] },
//!     // could not be read or matched to a rubric
//!     { "student": "...", "submission": "...", "error": "..." }
//!   ]
//! }
//! ```
//!
//! A question also carries `answer_hash` (what a review names to say which answer it was
//! given for) and, once a person reviewed it, `reviews`: `[{"part"?, "points",
//! "automatic_points", "automatic_status", "comment"?, "grader"?, "timestamp"?, "source"}]`
//! (see [`crate::grading::reviews`]); its `status` and `points` are then the reviewed ones.
//!
//! An entry with an `error` key is a failed submission; any other is graded. Keys come out in
//! the order of the struct fields (not sorted, not hash order), so the file is byte-for-byte
//! the same for the same results.

use serde::ser::{Serialize, Serializer};

use crate::grading::SubmissionResult;

pub use super::row::Row;

/// The version of the format written; raised only on a change that is not an addition.
pub const VERSION: u32 = 1;

/// `results.json` for `rows`, pretty-printed with a final newline.
pub fn results(rows: &[Row]) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail, and neither can serialising these types: every map key
    // is a string.
    write_results(rows, &mut out).expect("results serialise to JSON");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes [`results`] to `w` as it is serialised (a class's results can be hundreds of
/// megabytes: never built as one string).
pub fn write_results(rows: &[Row], w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut writer = ResultsWriter::begin(w)?;
    for &row in rows {
        writer.entry(row)?;
    }
    writer.finish().map(drop)
}

/// `results.json` written one submission at a time, as a class is graded: the same bytes as
/// serde_json's pretty printer gives the whole document (each entry is printed on its own
/// and indented to its depth; a JSON string never holds a raw line break, so every line of
/// an entry is indented).
#[derive(Debug)]
pub struct ResultsWriter<W: std::io::Write> {
    w: W,
    entries: usize,
    buffer: Vec<u8>,
}

impl<W: std::io::Write> ResultsWriter<W> {
    /// Writes the document's start.
    pub fn begin(mut w: W) -> std::io::Result<Self> {
        write!(w, "{{\n  \"version\": {VERSION},\n  \"submissions\": [")?;
        Ok(ResultsWriter {
            w,
            entries: 0,
            buffer: Vec::new(),
        })
    }

    /// Writes one submission.
    pub fn entry(&mut self, row: Row) -> std::io::Result<()> {
        self.buffer.clear();
        serde_json::to_writer_pretty(&mut self.buffer, &Entry(row))?;
        if self.entries > 0 {
            self.w.write_all(b",")?;
        }
        for line in self.buffer.split(|&b| b == b'\n') {
            self.w.write_all(b"\n    ")?;
            self.w.write_all(line)?;
        }
        self.entries += 1;
        Ok(())
    }

    /// Writes the document's end; gives the writer back.
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.entries > 0 {
            self.w.write_all(b"\n  ")?;
        }
        self.w.write_all(b"]\n}\n")?;
        Ok(self.w)
    }
}

/// One submission; serialised by hand rather than with `#[serde(untagged)]` so the two
/// shapes are spelled out here.
struct Entry<'a>(Row<'a>);

#[derive(serde::Serialize)]
struct Graded<'a> {
    student: &'a str,
    #[serde(flatten)]
    result: &'a SubmissionResult,
}

#[derive(serde::Serialize)]
struct Failed<'a> {
    student: &'a str,
    submission: &'a str,
    error: &'a str,
}

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Row::Graded { student, result } => Graded { student, result }.serialize(s),
            Row::Failed {
                student,
                submission,
                error,
            } => Failed {
                student,
                submission,
                error,
            }
            .serialize(s),
        }
    }
}
