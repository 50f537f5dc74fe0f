//! The CSV gradebook: one row per submission (graded or not), one column per question, for
//! importing into a spreadsheet or an LMS. A submission that could not be read still gets a
//! row, with the reason in its `status` column, so nothing is silently left out of a grade
//! export.

use crate::grading::row::ScoreCard;
use crate::rubric::keys::format_points;

use super::escape::one_line;
pub use super::row::Row;

/// The columns before the per-question ones.
pub const FIXED_COLUMNS: [&str; 7] = [
    "student",
    "submission",
    "rubric",
    "status",
    "score",
    "max_score",
    "pending_review",
];

/// The gradebook as CSV (RFC 4180, `\n` line ends, UTF-8 without a byte-order mark).
///
/// Columns: [`FIXED_COLUMNS`], then one per question id: the union of the ids of every
/// rubric in `rows`, in the order first seen. A question's cell holds its points, and is
/// empty when the question was not scored (awaiting review, hidden, or not in that
/// submission's rubric). `status` is `ok`, `ok; warning: <what>` (a limit hit, skipped
/// files, an identical submission) or `error: <reason>`; an error row has only `student`,
/// `submission` and `status`.
///
/// When any question of the run was reviewed by a person (see [`crate::grading::reviews`]), a
/// last column `reviewed` lists, per submission, what was reviewed and by whom
/// (`q3 by anna; tf/2 by ben`).
///
/// Text cells (header cells included) that a spreadsheet would run as a formula (starting
/// with `=`, `+`, `-`, `@`, `|`, `%`, tab or carriage return, also after leading spaces, or
/// starting with a space) get a leading `'`, so a crafted file name or question id cannot
/// inject one.
pub fn csv(rows: &[Row<'_, ScoreCard>]) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail, and every record has the header's length.
    write(rows, &mut out).expect("CSV into memory");
    String::from_utf8(out).expect("CSV of UTF-8 strings is UTF-8")
}

/// Writes [`csv`] to `w` a row at a time (a class's gradebook is never built in memory).
pub fn write(rows: &[Row<'_, ScoreCard>], w: &mut dyn std::io::Write) -> ::csv::Result<()> {
    let ids = question_ids(rows);
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(w);
    let reviewed = rows
        .iter()
        .filter_map(Row::result)
        .any(|r| !r.reviews.is_empty());
    let header: Vec<&str> = FIXED_COLUMNS
        .iter()
        .copied()
        .chain(ids.iter().copied())
        .chain(reviewed.then_some("reviewed"))
        .collect();
    // Question ids come from a rubric, which is not always the teacher's own: defused too.
    w.write_record(header.iter().map(|s| text_cell(s)))?;
    for row in rows {
        w.write_record(&match row {
            Row::Graded { student, result } => {
                let mut r = graded(student, result, &ids);
                if reviewed {
                    r.push(text_cell(&reviewed_cell(result)));
                }
                r
            }
            Row::Failed {
                student,
                submission,
                error,
            } => {
                let mut r = vec![
                    text_cell(student),
                    text_cell(submission),
                    String::new(),
                    text_cell(&format!("error: {}", one_line(error))),
                ];
                r.resize(header.len(), String::new());
                r
            }
        })?;
    }
    w.flush()?;
    Ok(())
}

/// Every question id in `rows`, first seen first, each once.
pub fn question_ids<'a>(rows: &[Row<'a, ScoreCard>]) -> Vec<&'a str> {
    let mut ids: Vec<&'a str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for result in rows.iter().filter_map(Row::result) {
        for q in &result.questions {
            if seen.insert(&*q.id) {
                ids.push(&q.id);
            }
        }
    }
    ids
}

fn graded(student: &str, r: &ScoreCard, ids: &[&str]) -> Vec<String> {
    let mut record = vec![
        text_cell(student),
        text_cell(&r.submission),
        text_cell(&r.rubric),
        {
            let notes: Vec<&str> = r
                .warnings
                .iter()
                .chain(&r.grader_notes)
                .map(String::as_str)
                .collect();
            if notes.is_empty() {
                "ok".to_string()
            } else {
                text_cell(&format!("ok; warning: {}", one_line(&notes.join("; "))))
            }
        },
        r.score.map(format_points).unwrap_or_default(),
        format_points(r.max_score),
        r.pending_review.to_string(),
    ];
    record.extend(ids.iter().map(|id| {
        r.question(id)
            .and_then(|q| q.points)
            .map(format_points)
            .unwrap_or_default()
    }));
    record
}

/// What was reviewed in `r`, and by whom: `q3 by anna; tf/2 by ben`.
fn reviewed_cell(r: &ScoreCard) -> String {
    r.reviews
        .iter()
        .flat_map(|(i, marks)| marks.iter().map(|m| m.summary(&r.questions[*i].id)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `s`, defused for spreadsheets that evaluate cells starting with a formula character,
/// also after leading whitespace (some spreadsheets trim it before evaluating), and with
/// control characters other than newline shown as visible escapes.
pub(crate) fn text_cell(s: &str) -> String {
    let s: String = s
        .chars()
        .flat_map(|c| {
            let visible: Vec<char> = if c.is_control() && c != '\n' {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            visible
        })
        .collect();
    let s = s.as_str();
    if s.trim_start()
        .starts_with(['=', '+', '-', '@', '\t', '\r', '|', '%'])
        || s.starts_with([' ', '\n'])
    {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::text_cell;

    #[test]
    fn formula_cells_are_defused_also_after_spaces_and_in_headers() {
        for (cell, want) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            (" =1+1", "' =1+1"),
            ("\t@SUM(A1)", "\\t@SUM(A1)"),
            ("-2", "'-2"),
            ("receptive-field", "receptive-field"),
            ("a\u{1b}[2Jb", "a\\u{1b}[2Jb"),
        ] {
            assert_eq!(text_cell(cell), want, "{cell:?}");
        }
    }
}
