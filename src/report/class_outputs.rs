//! The files of `grade --out` (and `review --out`), written as a class is graded.
//!
//! What belongs to one submission (its entry of `results.json`, its JUnit suite, its rows of
//! `reviews-todo.csv`, its feedback and Gradescope files) is written as soon as the
//! submission is graded ([`ClassOutputs::add`]), so the full results of a class never need
//! to be in memory together. What needs the whole class (the gradebook, whose columns are
//! every question seen; the item analysis; the class report; the groups; the counts at the
//! top of `junit.xml`) is written by [`ClassOutputs::finish`] from what the caller kept.
//! Everything goes into one [`OutputSet`], swapped into `--out` at the end.

use super::items::ItemAnalysis;
use super::json::ResultsWriter;
use super::junit::JunitWriter;
use super::output_set::{OutputSet, Staged};
use super::review_todo::TodoWriter;
use super::row::{Row, ScoreCard};
use crate::grading::batch::Skipped;
use crate::grading::groups::QuestionGroups;

/// An output set being filled one submission at a time.
#[derive(Debug)]
pub struct ClassOutputs {
    set: OutputSet,
    results: ResultsWriter<Staged>,
    junit: JunitWriter<std::fs::File>,
    todo: TodoWriter<Staged>,
    /// Each student's feedback file stem (unique in the class), by id.
    stems: std::collections::HashMap<String, String>,
    gradescope: bool,
}

impl ClassOutputs {
    /// Starts writing into `set` for a class whose submissions have these `students` ids, in
    /// the order they will be added.
    pub fn begin(
        mut set: OutputSet,
        students: &[&str],
        gradescope: bool,
    ) -> anyhow::Result<ClassOutputs> {
        let results = ResultsWriter::begin(set.open("results.json")?)?;
        let todo = TodoWriter::begin(set.open("reviews-todo.csv")?)?;
        let junit = JunitWriter::new(set.scratch()?);
        Ok(ClassOutputs {
            set,
            results,
            junit,
            todo,
            stems: students
                .iter()
                .map(|s| s.to_string())
                .zip(file_stems(students))
                .collect(),
            gradescope,
        })
    }

    /// Writes what belongs to one submission (in the order of the ids given to
    /// [`ClassOutputs::begin`]).
    pub fn add(&mut self, row: Row<'_>) -> anyhow::Result<()> {
        self.results.entry(row)?;
        self.junit.add(row)?;
        self.todo.add(row)?;
        let Some(result) = row.result() else {
            return Ok(());
        };
        let stem = self.stem(row.student());
        self.set.write(
            &format!("feedback/{stem}.md"),
            super::feedback_md::render(row.student(), result).as_bytes(),
        )?;
        self.set.write(
            &format!("feedback/{stem}.html"),
            super::feedback_html::render(row.student(), result).as_bytes(),
        )?;
        if self.gradescope {
            self.set.write(
                &format!("gradescope/{stem}.json"),
                super::gradescope::results(result).as_bytes(),
            )?;
        }
        Ok(())
    }

    /// The stem of `student`'s feedback files.
    fn stem(&self, student: &str) -> String {
        self.stems
            .get(student)
            .cloned()
            .unwrap_or_else(|| file_stem_for(student))
    }

    /// Writes the class-level files from `rows` (every submission's score card: the reports
    /// here read scores, statuses, points, reviews and warnings only) and makes the set the
    /// content of `--out`.
    pub fn finish(
        self,
        rows: &[Row<'_, ScoreCard>],
        items: &ItemAnalysis,
        skipped: &[Skipped],
        groups: Option<&[QuestionGroups]>,
    ) -> anyhow::Result<()> {
        // Each student's own page: two ids can share a stem's base (`a b`, `a_b`).
        let page =
            super::class_report::render(rows, items, |s| format!("feedback/{}.html", self.stem(s)));
        let ClassOutputs {
            mut set,
            results,
            junit,
            todo,
            ..
        } = self;
        set.close(results.finish()?)?;
        set.close(todo.finish()?)?;
        set.write_with("junit.xml", |w| junit.finish(w))?;
        let mut skipped_text = String::new();
        for s in skipped {
            skipped_text.push_str(&format!(
                "{}: {}\n",
                super::sanitize::line(&s.path.display().to_string()),
                s.reason
            ));
        }
        // Written as they are made: each lists the whole class.
        set.write_with("gradebook.csv", |w| {
            super::gradebook::write(rows, w).map_err(std::io::Error::other)
        })?;
        set.write_with("items.md", |w| super::items::write_markdown(items, w))?;
        set.write_with("items.json", |w| {
            serde_json::to_writer_pretty(&mut *w, items)?;
            w.write_all(b"\n")
        })?;
        set.write("skipped.txt", skipped_text.as_bytes())?;
        set.write("report.html", page.as_bytes())?;
        if let Some(g) = groups {
            set.write("groups.json", super::groups::json(g).as_bytes())?;
            set.write("groups.md", super::groups::markdown_doc(g).as_bytes())?;
        }
        set.commit()
    }
}

/// Every file of a class's output set from `rows` held in full (`review --out`, which keeps
/// its class in memory anyway).
pub fn write_all(
    set: OutputSet,
    rows: &[Row<'_>],
    items: &ItemAnalysis,
    skipped: &[Skipped],
    gradescope: bool,
    groups: Option<&[QuestionGroups]>,
) -> anyhow::Result<()> {
    let students: Vec<&str> = rows.iter().map(|r| r.student()).collect();
    let mut outputs = ClassOutputs::begin(set, &students, gradescope)?;
    for &row in rows {
        outputs.add(row)?;
    }
    let cards = crate::grading::row::cards(rows);
    outputs.finish(
        &crate::grading::row::card_rows(rows, &cards),
        items,
        skipped,
        groups,
    )
}

/// Longest feedback file stem, in bytes (file systems allow 255 for a whole name).
const MAX_STEM_BYTES: usize = 100;

/// A student id safe as a file name: letters, digits, `-`, `_` and `.`, no leading dot, at
/// most [`MAX_STEM_BYTES`] (a long id keeps its start and gets a hash of the whole).
fn file_stem_for(student: &str) -> String {
    let s: String = student
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.');
    let s = if s.is_empty() { "student" } else { s };
    if s.len() <= MAX_STEM_BYTES {
        return s.to_string();
    }
    let mut cut = MAX_STEM_BYTES - 17;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{:016x}", &s[..cut], fnv(student.as_bytes()))
}

/// 64-bit FNV-1a, for stable short names.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One file stem per student, all different (also ignoring case, for case-insensitive file
/// systems): ids that map to the same stem (`a b` and `a_b`) get `-2`, `-3`, ... in order.
fn file_stems(students: &[&str]) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    students
        .iter()
        .map(|student| {
            let base = file_stem_for(student);
            let mut stem = base.clone();
            let mut n = 1;
            while !taken.insert(stem.to_lowercase()) {
                n += 1;
                stem = format!("{base}-{n}");
            }
            stem
        })
        .collect()
}
