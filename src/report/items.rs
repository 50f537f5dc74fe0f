//! Item analysis over a class: per question, how many answered, the mean score, the spread
//! of statuses and points, the most common wrong answers (what to write feedback for next
//! year, or a sign the key is wrong), and groups of identical free-text answers so a grader
//! reads each distinct answer once. Built as data ([`ItemAnalysis`], serialisable for
//! `items.json`), then rendered as a terminal table ([`text`]) or Markdown ([`write_markdown`]).

use std::collections::HashMap;
use std::fmt::Write;
use std::hash::{BuildHasher, RandomState};

use serde::Serialize;
use serde_json::Value;

use crate::grading::{QuestionResult, Status};
use crate::rubric::keys::format_points;

use super::escape::{fence, inline_code, markdown as md, one_line, truncate};
pub use super::row::Row;

/// How many of the most common wrong answers are kept per question.
pub const TOP_WRONG: usize = 10;

/// Wrong answers grouped by text are grouped on at most this many characters.
pub const WRONG_KEY_CHARS: usize = 120;

/// The analysis of a whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemAnalysis {
    /// Submissions graded.
    pub submissions: usize,
    /// Submissions that could not be read (not part of any item).
    pub failed: usize,
    /// One per question, by rubric and question id, in the order first seen.
    pub items: Vec<Item>,
}

/// One question across the class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub rubric: String,
    pub id: String,
    pub title: String,
    /// Submissions with a result for this question (found or not).
    pub count: usize,
    /// Of those, how many were scored (have points).
    pub scored: usize,
    /// The mean of the points of the scored ones; null when none was scored.
    pub mean_points: Option<f64>,
    /// What the question is worth.
    pub max_points: f64,
    pub statuses: StatusCounts,
    /// Points awarded -> how many students, lowest first.
    pub histogram: Vec<Bin>,
    /// The most common wrong or partly wrong answers, most common first (at most
    /// [`TOP_WRONG`]).
    pub wrong_answers: Vec<WrongAnswer>,
    /// Free-text answers (no parsed value) given word for word by two or more students,
    /// largest group first.
    pub identical_answers: Vec<IdenticalAnswers>,
}

/// How many answers got each status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatusCounts {
    pub correct: usize,
    pub partial: usize,
    pub wrong: usize,
    pub missing: usize,
    pub unparseable: usize,
    pub needs_review: usize,
    pub ungraded: usize,
}

impl StatusCounts {
    fn add(&mut self, s: Status) {
        *match s {
            Status::Correct => &mut self.correct,
            Status::Partial => &mut self.partial,
            Status::Wrong => &mut self.wrong,
            Status::Missing => &mut self.missing,
            Status::Unparseable => &mut self.unparseable,
            Status::NeedsReview => &mut self.needs_review,
            Status::Ungraded => &mut self.ungraded,
        } += 1;
    }
}

/// One bar of a points histogram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    pub points: f64,
    pub count: usize,
}

/// A wrong answer and who gave it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WrongAnswer {
    /// The answer as shown: the parsed value, or the normalised text when nothing was parsed.
    pub answer: String,
    /// The parsed value the answers were grouped by; null when grouped by text.
    pub value: Value,
    pub count: usize,
    pub students: Vec<String>,
}

/// Students who wrote the same free-text answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdenticalAnswers {
    /// The answer as the second of these students wrote it (they differ at most in case and
    /// spacing; the first writer's text is not kept, see [`Gathering`]).
    pub text: String,
    pub count: usize,
    pub students: Vec<String>,
}

/// Lowercase, whitespace collapsed: the text identical answers share.
pub fn normalise(text: &str) -> String {
    one_line(&text.to_lowercase())
}

/// The analysis of `rows`.
pub fn analyse(rows: &[Row<'_>]) -> ItemAnalysis {
    let mut gathering = Gathering::default();
    for &row in rows {
        gathering.add(row);
    }
    gathering.finish()
}

/// An item analysis being gathered one submission at a time, so a class's results need not
/// be held until the end. What it keeps grows with the class only by each student's name
/// (once), and per question by each distinct wrong or free-text answer's digest and who gave
/// it. An answer's text is kept only where a report may show it: a free-text answer once a
/// second student gives it, a wrong answer once a second student gives it or when it is
/// among the first [`TOP_WRONG`] distinct wrong answers (the only ones given once that can
/// make the top list, which keeps equally common answers in the order first seen). A class of
/// distinct notebooks would otherwise hold every free-text answer of every student.
#[derive(Debug, Default)]
pub struct Gathering {
    items: Vec<Builder>,
    /// The index in `items` of each question id, by rubric.
    item_at: HashMap<String, HashMap<String, usize>>,
    /// Every graded student, in order: answers name them by their index here.
    students: Vec<String>,
    failed: usize,
    digester: Digester,
}

impl Gathering {
    /// Adds one submission.
    pub fn add(&mut self, row: Row<'_>) {
        let Row::Graded { student, result } = row else {
            self.failed += 1;
            return;
        };
        let who = self.students.len();
        self.students.push(student.to_string());
        let at_of = self.item_at.entry(result.rubric.clone()).or_default();
        for q in &result.questions {
            let at = match at_of.get(q.id.as_str()) {
                Some(&at) => at,
                None => {
                    self.items.push(Builder::new(&result.rubric, q));
                    at_of.insert(q.id.clone(), self.items.len() - 1);
                    self.items.len() - 1
                }
            };
            self.items[at].add(who, q, &self.digester);
        }
    }

    /// The analysis of every submission added.
    pub fn finish(self) -> ItemAnalysis {
        let students = self.students;
        ItemAnalysis {
            submissions: students.len(),
            failed: self.failed,
            items: self
                .items
                .into_iter()
                .map(|b| b.finish(&students))
                .collect(),
        }
    }
}

/// A 128-bit digest of an answer, by which identical answers are found without keeping their
/// texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Digest(u64, u64);

/// Two SipHash keys drawn at random for the run: a student cannot craft an answer whose
/// digest equals another answer's.
#[derive(Debug, Default)]
struct Digester(RandomState, RandomState);

impl Digester {
    fn digest(&self, parts: &[&str]) -> Digest {
        Digest(self.0.hash_one(parts), self.1.hash_one(parts))
    }
}

/// The names of the students at `who` (indices into `students`).
fn names(who: &[usize], students: &[String]) -> Vec<String> {
    who.iter().map(|&i| students[i].clone()).collect()
}

/// The distinct answers to one question, first seen first, and who gave each.
#[derive(Debug)]
struct Distinct<T> {
    at: HashMap<Digest, usize>,
    answers: Vec<Given<T>>,
    /// The first this many distinct answers keep what is shown of them even when given once.
    keep_first: usize,
}

/// One distinct answer.
#[derive(Debug)]
struct Given<T> {
    /// Who gave it, in order (the first student, then any others).
    students: Vec<usize>,
    /// What a report shows of it, once [`Distinct::add`]'s rule keeps it.
    shown: Option<Box<T>>,
}

impl<T> Distinct<T> {
    fn new(keep_first: usize) -> Self {
        Distinct {
            at: HashMap::new(),
            answers: Vec::new(),
            keep_first,
        }
    }

    /// Records that `student` gave the answer `digest`; `shown` makes what a report shows of
    /// it, called when the answer is among the first `keep_first` or given a second time.
    fn add(&mut self, digest: Digest, student: usize, shown: impl FnOnce() -> T) {
        let answers = &mut self.answers;
        let at = *self.at.entry(digest).or_insert_with(|| {
            answers.push(Given {
                students: Vec::with_capacity(1),
                shown: None,
            });
            answers.len() - 1
        });
        let given = &mut self.answers[at];
        given.students.push(student);
        if given.shown.is_none() && (at < self.keep_first || given.students.len() >= 2) {
            given.shown = Some(Box::new(shown()));
        }
    }

    /// The answers given at least `min` times with what is shown of them, most common first
    /// (equally common ones in the order first seen). An answer given once after the first
    /// `keep_first` has nothing shown and is left out: in that order it comes after every
    /// answer given more often and after the first `keep_first` answers given once, so it
    /// cannot rank among the first `keep_first`.
    fn most_common(self, min: usize) -> Vec<(T, Vec<usize>)> {
        let mut kept: Vec<(T, Vec<usize>)> = self
            .answers
            .into_iter()
            .filter(|g| g.students.len() >= min)
            .filter_map(|g| g.shown.map(|shown| (*shown, g.students)))
            .collect();
        kept.sort_by_key(|(_, who)| std::cmp::Reverse(who.len()));
        kept
    }
}

/// An item being gathered. Students are kept as indices into [`Gathering`]'s list.
#[derive(Debug)]
struct Builder {
    rubric: String,
    id: String,
    title: String,
    count: usize,
    /// How many answers were scored, and their points' sum (added in submission order).
    scored: usize,
    points_sum: f64,
    /// Points awarded -> how many students, in the order first awarded.
    histogram: Vec<Bin>,
    max_points: f64,
    statuses: StatusCounts,
    /// Wrong answers, shown as (shown answer, value).
    wrong: Distinct<(String, Value)>,
    /// Free-text answers, shown as written.
    free: Distinct<String>,
}

impl Builder {
    fn new(rubric: &str, q: &QuestionResult) -> Self {
        Builder {
            rubric: rubric.to_string(),
            id: q.id.clone(),
            title: q.title.clone(),
            count: 0,
            scored: 0,
            // What `Sum` for floats starts from, so that the mean is the one of the points listed.
            points_sum: -0.0,
            histogram: Vec::new(),
            max_points: q.max_points,
            statuses: StatusCounts::default(),
            wrong: Distinct::new(TOP_WRONG),
            free: Distinct::new(0),
        }
    }

    fn add(&mut self, student: usize, q: &QuestionResult, digester: &Digester) {
        self.count += 1;
        self.max_points = self.max_points.max(q.max_points);
        self.statuses.add(q.status);
        if let Some(p) = q.points {
            self.scored += 1;
            self.points_sum += p;
            match self.histogram.iter_mut().find(|b| b.points == p) {
                Some(b) => b.count += 1,
                None => self.histogram.push(Bin {
                    points: p,
                    count: 1,
                }),
            }
        }
        let text = q.answer.text.trim();
        let by_text = q.answer.value.is_null();
        let free = q.status != Status::Missing && by_text && !text.is_empty();
        let wrong = matches!(q.status, Status::Wrong | Status::Partial);
        let norm = ((wrong && by_text) || free).then(|| normalise(text));
        if wrong {
            match &norm {
                Some(norm) => {
                    let key = truncate(norm, WRONG_KEY_CHARS).0;
                    let digest = digester.digest(&["text", key]);
                    self.wrong
                        .add(digest, student, || (key.to_string(), Value::Null));
                }
                None => {
                    let v = &q.answer.value;
                    let digest = digester.digest(&["value", &v.to_string()]);
                    self.wrong
                        .add(digest, student, || (show_value(v), v.clone()));
                }
            }
        }
        if let (true, Some(norm)) = (free, &norm) {
            self.free
                .add(digester.digest(&[norm]), student, || text.to_string());
        }
    }

    fn finish(self, students: &[String]) -> Item {
        let scored = self.scored;
        let mean_points = (scored > 0).then(|| self.points_sum / scored as f64);
        let mut histogram = self.histogram;
        histogram.sort_by(|a, b| a.points.total_cmp(&b.points));
        let mut wrong_answers: Vec<WrongAnswer> = self
            .wrong
            .most_common(1)
            .into_iter()
            .map(|((answer, value), who)| WrongAnswer {
                answer,
                value,
                count: who.len(),
                students: names(&who, students),
            })
            .collect();
        wrong_answers.truncate(TOP_WRONG);
        let identical_answers: Vec<IdenticalAnswers> = self
            .free
            .most_common(2)
            .into_iter()
            .map(|(text, who)| IdenticalAnswers {
                text,
                count: who.len(),
                students: names(&who, students),
            })
            .collect();
        Item {
            rubric: self.rubric,
            id: self.id,
            title: self.title,
            count: self.count,
            scored,
            mean_points,
            max_points: self.max_points,
            statuses: self.statuses,
            histogram,
            wrong_answers,
            identical_answers,
        }
    }
}

/// A parsed value as people write it: `54`, `[5, 6, 7, 8, 42000]`, `p1*p2`.
fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), format_points),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(show_value).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// The label of an item: its id, prefixed by its rubric when the run has several.
fn label(a: &ItemAnalysis, item: &Item) -> String {
    if a.items.iter().any(|i| i.rubric != item.rubric) {
        format!("{}/{}", item.rubric, item.id)
    } else {
        item.id.clone()
    }
}

fn mean(item: &Item) -> String {
    item.mean_points
        .map_or_else(|| "-".to_string(), |m| format!("{m:.2}"))
}

/// At most this many characters of the top wrong answer in the terminal table.
const TEXT_ANSWER: usize = 40;

/// A compact table for the terminal summary: one line per question.
pub fn text(a: &ItemAnalysis) -> String {
    let mut out = String::new();
    let _ = write!(out, "Item analysis: {} submissions", a.submissions);
    if a.failed > 0 {
        let _ = write!(out, " ({} could not be read)", a.failed);
    }
    out.push('\n');
    let header = [
        "question", "n", "mean", "max", "correct", "partial", "wrong", "missing", "unparse",
        "review",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    let mut tops: Vec<String> = vec!["most common wrong answer".to_string()];
    for item in &a.items {
        let s = &item.statuses;
        rows.push(vec![
            label(a, item),
            item.count.to_string(),
            mean(item),
            format_points(item.max_points),
            s.correct.to_string(),
            s.partial.to_string(),
            s.wrong.to_string(),
            s.missing.to_string(),
            s.unparseable.to_string(),
            s.needs_review.to_string(),
        ]);
        tops.push(match item.wrong_answers.first() {
            Some(w) => {
                let answer = one_line(&w.answer);
                let (shown, more) = truncate(&answer, TEXT_ANSWER);
                let dots = if more > 0 { "..." } else { "" };
                format!("{shown}{dots} (x{})", w.count)
            }
            None => String::new(),
        });
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for (row, top) in rows.iter().zip(&tops) {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        line.push_str("  ");
        line.push_str(top);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// At most this many characters of an answer are quoted in the Markdown report.
const MARKDOWN_ANSWER: usize = 1500;

/// Writes the analysis as a Markdown document to `out`: a summary table, then per question its
/// points histogram, most common wrong answers and identical answers. It lists every wrong
/// answer of the class with its students, so it goes to its file as it is made.
pub fn write_markdown(a: &ItemAnalysis, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(b"# Item analysis\n\n")?;
    write!(out, "{} submissions graded", a.submissions)?;
    if a.failed > 0 {
        write!(out, "; {} could not be read", a.failed)?;
    }
    out.write_all(b".\n")?;
    if a.items.is_empty() {
        return Ok(());
    }
    out.write_all(
        b"\n| Question | Answers | Mean / max | Correct | Partial | Wrong | Missing | Unparseable | Needs review | Ungraded |\n",
    )?;
    out.write_all(b"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")?;
    for item in &a.items {
        let s = &item.statuses;
        writeln!(
            out,
            "| {} | {} | {} / {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&label(a, item)),
            item.count,
            mean(item),
            format_points(item.max_points),
            s.correct,
            s.partial,
            s.wrong,
            s.missing,
            s.unparseable,
            s.needs_review,
            s.ungraded
        )?;
    }
    for item in &a.items {
        let mut heading = label(a, item);
        if !item.title.is_empty() && item.title != item.id {
            let _ = write!(heading, ": {}", item.title);
        }
        writeln!(out, "\n## {}\n", md(&heading))?;
        if item.histogram.is_empty() {
            out.write_all(b"No answer was scored.\n")?;
        } else {
            out.write_all(b"| Points | Students |\n| ---: | ---: |\n")?;
            for b in &item.histogram {
                writeln!(out, "| {} | {} |", format_points(b.points), b.count)?;
            }
        }
        if !item.wrong_answers.is_empty() {
            out.write_all(
                b"\nMost common wrong answers:\n\n| Answer | Count | Students |\n| --- | ---: | --- |\n",
            )?;
            for w in &item.wrong_answers {
                writeln!(
                    out,
                    "| {} | {} | {} |",
                    inline_code(&w.answer).replace('|', "\\|"),
                    w.count,
                    md(&w.students.join(", "))
                )?;
            }
        }
        if !item.identical_answers.is_empty() {
            out.write_all(b"\nIdentical answers (read once for all these students):\n")?;
            for g in &item.identical_answers {
                writeln!(
                    out,
                    "\n{} students: {}\n",
                    g.count,
                    md(&g.students.join(", "))
                )?;
                let (shown, more) = truncate(&g.text, MARKDOWN_ANSWER);
                let ticks = fence(shown);
                writeln!(out, "{ticks}text\n{shown}\n{ticks}")?;
                if more > 0 {
                    writeln!(out, "\n*({more} more characters not shown)*")?;
                }
            }
        }
    }
    Ok(())
}
