//! JUnit XML, the format CI systems (GitHub, GitLab, Jenkins) already know how to show: one
//! test suite per submission, one test case per question, so a CI run on an assignment
//! repository lists each missing or wrong answer like a failing test.
//!
//! Mapping: correct = passed; wrong, missing, unparseable = failure (message = the status);
//! partial = failure with message `partial: X of Y points`; needs-review and ungraded =
//! skipped with the reason (a question a person reviewed takes the status its points give,
//! and its output names the reviewer); a question left out of the total by an "answer k of n" rule and
//! not correct = skipped (`not counted`). A submission that could not be read is a suite
//! with one errored case. No times or timestamps are written, so the same results always
//! give the same bytes.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::grading::{QuestionResult, Status, SubmissionResult};
use crate::rubric::keys::format_points;

use super::escape::{one_line, truncate};
pub use super::row::Row;

/// The name of the report (the root `<testsuites>` element).
pub const REPORT_NAME: &str = "examiner";

/// At most this many characters of a student's answer go into a case's `<system-out>`.
const ANSWER_SHOWN: usize = 1000;

/// JUnit XML for `rows`.
pub fn report(rows: &[Row]) -> String {
    let mut report = Report::new(REPORT_NAME);
    report.add_test_suites(rows.iter().map(|row| suite_of(*row)));
    // Serialising to memory cannot fail: quick-junit's strings are already valid XML text.
    report.to_string().expect("JUnit XML into memory")
}

/// The test suite of one row.
fn suite_of(row: Row) -> TestSuite {
    match row {
        Row::Graded { student, result } => suite(student, result),
        Row::Failed {
            student,
            submission,
            error,
        } => failed(student, submission, error),
    }
}

/// [`report`] written one submission at a time, as a class is graded: each suite goes to
/// `spill` (a scratch file) as it comes, and [`JunitWriter::finish`] writes the root element,
/// whose counts need every suite, then copies the suites after it. The bytes are those of
/// [`report`] (quick-junit indents an element by its depth alone, so a suite printed in a
/// report of its own is printed the same as in the whole one).
#[derive(Debug)]
pub struct JunitWriter<S> {
    spill: S,
    /// The counts of the suites written so far (no suites in it).
    totals: Report,
}

/// The lines of a whole report that come before its first suite (the XML declaration and the
/// root's start tag).
const HEAD_LINES: usize = 2;

/// The root's end tag, the report's last line.
const TAIL: &str = "</testsuites>\n";

impl<S: std::io::Read + std::io::Write + std::io::Seek> JunitWriter<S> {
    /// A report whose suites wait in `spill` (empty; a scratch file) until
    /// [`JunitWriter::finish`].
    pub fn new(spill: S) -> Self {
        JunitWriter {
            spill,
            totals: Report::new(REPORT_NAME),
        }
    }

    /// Writes one submission's suite.
    pub fn add(&mut self, row: Row) -> std::io::Result<()> {
        let mut one = Report::new(REPORT_NAME);
        one.add_test_suite(suite_of(row));
        let t = &mut self.totals;
        t.tests += one.tests;
        t.failures += one.failures;
        t.errors += one.errors;
        t.skipped += one.skipped;
        if let Some(d) = one.disabled {
            *t.disabled.get_or_insert(0) += d;
        }
        let text = one.to_string().map_err(std::io::Error::other)?;
        self.spill.write_all(body(&text).as_bytes())
    }

    /// Writes the whole report to `out`: the head with every suite's counts, the suites, the
    /// root's end.
    pub fn finish(mut self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let empty = self.totals.to_string().map_err(std::io::Error::other)?;
        out.write_all(&empty.as_bytes()[..head_len(&empty)])?;
        self.spill.rewind()?;
        std::io::copy(&mut self.spill, out)?;
        out.write_all(TAIL.as_bytes())
    }
}

/// The length of a whole report's head ([`HEAD_LINES`]).
fn head_len(report: &str) -> usize {
    report
        .split_inclusive('\n')
        .take(HEAD_LINES)
        .map(str::len)
        .sum()
}

/// What a whole report holds between its head and its end tag.
fn body(report: &str) -> &str {
    let head = head_len(report);
    report[head..].strip_suffix(TAIL).unwrap_or(&report[head..])
}

fn suite(student: &str, r: &SubmissionResult) -> TestSuite {
    let mut suite = TestSuite::new(student);
    suite.add_property(("submission", r.submission.as_str()));
    suite.add_property(("rubric", r.rubric.as_str()));
    if let Some(score) = r.score {
        let score = format!("{} of {}", format_points(score), format_points(r.max_score));
        suite.add_property(("score", score.as_str()));
    }
    suite.add_test_cases(r.questions.iter().map(|q| case(&r.rubric, q)));
    suite
}

fn case(rubric: &str, q: &QuestionResult) -> TestCase {
    let feedback = q.feedback.join("\n");
    let mut status = match q.status {
        Status::Correct => TestCaseStatus::success(),
        _ if !q.counted => {
            let mut s = TestCaseStatus::skipped();
            s.set_message("not counted");
            s
        }
        Status::Partial => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!(
                "partial: {} of {} points",
                format_points(q.points.unwrap_or(0.0)),
                format_points(q.max_points)
            ));
            s
        }
        Status::Wrong | Status::Missing | Status::Unparseable => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(q.status.as_str());
            s
        }
        Status::NeedsReview => {
            let mut s = TestCaseStatus::skipped();
            s.set_message("needs review: a grader scores this answer");
            s
        }
        Status::Ungraded => {
            let mut s = TestCaseStatus::skipped();
            s.set_message("ungraded: no verdict is shown for this answer");
            s
        }
    };
    status.set_type(q.status.as_str());
    if !feedback.is_empty() {
        status.set_description(feedback);
    }
    let mut case = TestCase::new(q.id.as_str(), status);
    case.set_classname(rubric);
    if q.status != Status::Missing {
        let (shown, more) = truncate(&q.answer.text, ANSWER_SHOWN);
        let mut out = format!("answer:\n{shown}");
        if more > 0 {
            out.push_str(&format!("\n... ({more} more characters)"));
        }
        if let Some(expected) = &q.expected {
            out.push_str(&format!("\nexpected: {expected}"));
        }
        if let Some(by) = q.reviewers() {
            out.push_str(&format!("\nreviewed by: {by}"));
        }
        case.set_system_out(out);
    }
    case
}

fn failed(student: &str, submission: &str, error: &str) -> TestSuite {
    let mut suite = TestSuite::new(student);
    suite.add_property(("submission", submission));
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    // An attribute cannot keep line breaks: the message is one line, the text in full.
    status
        .set_message(one_line(error))
        .set_type("unreadable")
        .set_description(error);
    let mut case = TestCase::new("read submission", status);
    case.set_classname("examiner");
    suite.add_test_case(case);
    suite
}
