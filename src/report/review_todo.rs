//! `reviews-todo.csv`: the answers of a run that await a person, as rows of a review file
//! ([`crate::grading::reviews`]) with `points` and `comment` left to fill in. A TA copies the
//! rows into `reviews.csv` (outside `--out`), fills them in a spreadsheet, and runs `grade`
//! again. Each row carries the `answer_hash` of the answer as it is now, so a later edit of the
//! student's notebook is noticed; `max_points`, `status` and `answer` (the answer's start, on
//! one line) are there to grade from and are ignored when the file is read back.

use crate::grading::reviews::COLUMNS;
use crate::grading::{QuestionResult, Status};
use crate::rubric::keys::format_points;

use super::escape::{one_line, truncate};
use super::gradebook::text_cell;
use super::row::Row;

/// At most this many characters of an answer are quoted.
const ANSWER_SHOWN: usize = 300;

/// The extra columns, after [`COLUMNS`].
pub const EXTRA_COLUMNS: [&str; 3] = ["max_points", "status", "answer"];

/// The to-do list for `rows`: one row per question awaiting review, or, for a question judged
/// part by part, one per part awaiting review (`id/part`). Questions an "answer k of n" rule
/// leaves out are listed too: which of them count depends on the points a person gives.
pub fn csv(rows: &[Row]) -> String {
    let mut writer = TodoWriter::begin(Vec::new()).expect("CSV into memory");
    for &row in rows {
        // Writing to memory cannot fail, and every record has the header's length.
        writer.add(row).expect("CSV into memory");
    }
    let bytes = writer.finish().expect("CSV into memory");
    String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8")
}

/// [`csv`] written one submission at a time, as a class is graded.
#[derive(Debug)]
pub struct TodoWriter<W: std::io::Write> {
    w: ::csv::Writer<W>,
}

impl<W: std::io::Write> TodoWriter<W> {
    /// Writes the header.
    pub fn begin(w: W) -> ::csv::Result<Self> {
        let mut w = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::Any(b'\n'))
            .from_writer(w);
        w.write_record(COLUMNS.iter().chain(EXTRA_COLUMNS.iter()))?;
        Ok(TodoWriter { w })
    }

    /// Writes the rows of one submission's answers that await review.
    pub fn add(&mut self, row: Row) -> ::csv::Result<()> {
        let Some(r) = row.result() else { return Ok(()) };
        for q in &r.questions {
            if q.status == Status::NeedsReview {
                for record in todo(row.student(), q) {
                    self.w.write_record(&record)?;
                }
            }
        }
        Ok(())
    }

    /// Flushes; gives the writer back.
    pub fn finish(self) -> ::csv::Result<W> {
        self.w.into_inner().map_err(|e| e.into_error().into())
    }
}

fn todo(student: &str, q: &QuestionResult) -> Vec<Vec<String>> {
    let (shown, more) = truncate(q.answer.text.trim(), ANSWER_SHOWN);
    let mut answer = one_line(shown);
    if more > 0 {
        answer.push_str(" ...");
    }
    let record = |question: String, max: f64| {
        vec![
            text_cell(student),
            text_cell(&question),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            q.answer_hash.clone(),
            format_points(max),
            q.status.as_str().to_string(),
            text_cell(&answer),
        ]
    };
    let parts: Vec<Vec<String>> = q
        .parts
        .iter()
        .filter(|p| p.status == Status::NeedsReview)
        .map(|p| record(format!("{}/{}", q.id, p.id), p.max_points))
        .collect();
    if parts.is_empty() {
        vec![record(q.id.clone(), q.max_points)]
    } else {
        parts
    }
}
