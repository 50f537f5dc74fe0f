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
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let header: Vec<&str> = COLUMNS
        .iter()
        .chain(EXTRA_COLUMNS.iter())
        .copied()
        .collect();
    let mut records = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for row in rows {
        let Some(r) = row.result() else { continue };
        for q in &r.questions {
            if q.status == Status::NeedsReview {
                records.extend(todo(row.student(), q));
            }
        }
    }
    for record in &records {
        // Writing to memory cannot fail, and every record has the header's length.
        w.write_record(record).expect("CSV into memory");
    }
    let bytes = w.into_inner().expect("CSV into memory");
    String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8")
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
