//! Every output format, snapshot-tested against a hand-built set of results: a full-marks
//! submission, one with every kind of failure, one whose answers need escaping everywhere
//! (HTML, quotes, commas, newlines, `×`, Hebrew), and a submission that could not be read.
//! Also checks a few properties directly: the CSV parses back, the HTML has no live
//! `<script>`, annotations escape their values.

use examiner::extract::Method;
use examiner::grading::{AnswerOut, QuestionResult, Status, SubmissionResult};
use examiner::report::gradebook::Row;
use examiner::report::row::{card_rows, cards};
use examiner::report::{
    annotations, escape, feedback_html, feedback_md, gradebook, gradescope, items, json, junit,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// hand-built results

fn answer(text: &str, value: Value, cell: usize, line: usize) -> AnswerOut {
    AnswerOut {
        text: text.to_string(),
        value,
        cells: vec![cell],
        line: Some(line),
        confidence: 0.9,
        method: Some(Method::AfterQuestion),
    }
}

fn no_answer() -> AnswerOut {
    AnswerOut {
        text: String::new(),
        value: Value::Null,
        cells: vec![],
        line: None,
        confidence: 0.0,
        method: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn question(
    id: &str,
    title: &str,
    status: Status,
    points: Option<f64>,
    max_points: f64,
    answer: AnswerOut,
    expected: Option<&str>,
    feedback: &[&str],
) -> QuestionResult {
    QuestionResult {
        id: id.to_string(),
        title: title.to_string(),
        status,
        points,
        max_points,
        answer,
        expected: expected.map(str::to_string),
        feedback: feedback.iter().map(|f| f.to_string()).collect(),
        required: true,
        counted: true,
        parts: Vec::new(),
        answer_hash: String::new(),
        reviews: Vec::new(),
    }
}

fn submission(path: &str, rubric: &str, questions: Vec<QuestionResult>) -> SubmissionResult {
    let score = questions
        .iter()
        .filter(|q| q.counted)
        .map(|q| q.points.unwrap_or(0.0))
        .sum();
    let pending_review = questions
        .iter()
        .filter(|q| q.counted && q.status == Status::NeedsReview)
        .count();
    SubmissionResult {
        submission: path.to_string(),
        rubric: rubric.to_string(),
        score: Some(score),
        max_score: questions.iter().map(|q| q.max_points).sum(),
        pending_review,
        questions,
        warnings: Vec::new(),
        grader_notes: Vec::new(),
    }
}

/// Full marks.
fn alice() -> SubmissionResult {
    submission(
        "submissions/alice.ipynb",
        "hw4-summary",
        vec![
            question(
                "q1",
                "Receptive field",
                Status::Correct,
                Some(4.0),
                4.0,
                answer("**Answer:** $112 \\times 112$", json!(112.0), 4, 2),
                Some("112"),
                &[],
            ),
            question(
                "q2",
                "Dropout composition",
                Status::Correct,
                Some(3.0),
                3.0,
                answer("q = 1-(1-p_1)(1-p_2)", json!("1-(1-p1)*(1-p2)"), 7, 1),
                Some("1 - (1 - p1)*(1 - p2)"),
                &[],
            ),
            question(
                "q3",
                "Why residual connections help",
                Status::Correct,
                Some(3.0),
                3.0,
                answer(
                    "They let the gradient flow through the identity path, so deep nets train.",
                    Value::Null,
                    9,
                    1,
                ),
                None,
                &["found: gradient flow (cell 9, line 1)"],
            ),
        ],
    )
}

/// Every way to lose points.
fn bob() -> SubmissionResult {
    let mut r = submission(
        "submissions/bob.ipynb",
        "hw4-summary",
        vec![
            question(
                "q1",
                "Receptive field",
                Status::Wrong,
                Some(0.0),
                4.0,
                answer("RF = 54", json!(54.0), 4, 3),
                Some("112"),
                &[
                    "54 is the receptive field without the pooling layers: each MaxPool2d(2) doubles the stride",
                    "reference trace: 3, 4, 12, 16, 112",
                ],
            ),
            question(
                "q2",
                "Dropout composition",
                Status::Partial,
                Some(1.5),
                3.0,
                answer(
                    "q = p1 + p2 - p1*p2 = 0.12",
                    json!("p1 + p2 - p1*p2"),
                    7,
                    1,
                ),
                Some("1 - (1 - p1)*(1 - p2)"),
                &["the formula is right; its value at p1=0.1, p2=0.2 is 0.28, not 0.12"],
            ),
            question(
                "q3",
                "Why residual connections help",
                Status::Missing,
                Some(0.0),
                3.0,
                no_answer(),
                None,
                &["no answer found after this question"],
            ),
            question(
                "q4",
                "Embedding output shape",
                Status::Unparseable,
                Some(0.0),
                2.0,
                answer("see the plot above", Value::Null, 12, 1),
                Some("[5, 6, 7, 8, 42000]"),
                &["no shape could be read from this answer"],
            ),
            question(
                "q5",
                "Discuss the trade-offs",
                Status::NeedsReview,
                None,
                2.0,
                answer(
                    "Deeper  networks are more expressive\nbut harder to train.",
                    Value::Null,
                    14,
                    2,
                ),
                None,
                &[],
            ),
        ],
    );
    // An "answer 4 of 5" rule left q4 out of the total (and the rubric's maximum).
    r.questions[3].counted = false;
    r.max_score -= r.questions[3].max_points;
    r.questions[3]
        .feedback
        .push("not counted: only 4 of these questions count".to_string());
    r
}

/// Answers that need escaping in every format, under a second rubric with its own question.
fn dana() -> SubmissionResult {
    submission(
        "submissions/דנה, final.ipynb",
        "hw4-part4",
        vec![
            question(
                "q1",
                "Receptive field",
                Status::Wrong,
                Some(0.0),
                4.0,
                answer(
                    "<script>alert(\"pwned\")</script> 125 × 125 & \"more\", 'quoted'\nsecond line",
                    json!(125.0),
                    3,
                    5,
                ),
                Some("112"),
                &["100% sure? 125 = 112 + 13: a comma, a colon\nand a new line"],
            ),
            question(
                "gnn1",
                "Message passing (הסבר)",
                Status::NeedsReview,
                None,
                2.0,
                answer(
                    "כל צומת מקבל הודעות מהשכנים שלו | `code` and *stars* <b>bold</b>",
                    Value::Null,
                    6,
                    1,
                ),
                None,
                &["<img src=x onerror=alert(1)> feedback from a rubric"],
            ),
        ],
    )
}

const CAROL_ERROR: &str =
    "not a notebook: expected a JSON object at line 1, column 1\n(the file is empty)";

fn rows<'a>(
    a: &'a SubmissionResult,
    b: &'a SubmissionResult,
    d: &'a SubmissionResult,
) -> Vec<Row<'a>> {
    vec![
        Row::Graded {
            student: "alice",
            result: a,
        },
        Row::Graded {
            student: "bob",
            result: b,
        },
        Row::Failed {
            student: "carol",
            submission: "submissions/carol.ipynb",
            error: CAROL_ERROR,
        },
        Row::Graded {
            student: "דנה",
            result: d,
        },
    ]
}

// ---------------------------------------------------------------------------------------
// gradebook

#[test]
fn gradebook_csv() {
    let (a, b, d) = (alice(), bob(), dana());
    let csv = gradebook::csv(&card_rows(&rows(&a, &b, &d), &cards(&rows(&a, &b, &d))));
    insta::assert_snapshot!("gradebook", csv);

    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let header: Vec<&str> = header.iter().collect();
    assert_eq!(
        header,
        [
            "student",
            "submission",
            "rubric",
            "status",
            "score",
            "max_score",
            "pending_review",
            "q1",
            "q2",
            "q3",
            "q4",
            "q5",
            "gnn1"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r.len() == header.len()));
    assert_eq!(&records[2][0], "carol");
    assert_eq!(
        &records[2][3],
        "error: not a notebook: expected a JSON object at line 1, column 1 (the file is empty)"
    );
    assert_eq!(&records[3][1], "submissions/דנה, final.ipynb");
    // bob: q5 awaits review, so its cell is empty; q2 has partial credit.
    assert_eq!(&records[1][8], "1.5");
    assert_eq!(&records[1][11], "");
    assert_eq!(&records[1][4], "1.5");
}

#[test]
fn gradebook_defuses_spreadsheet_formulas() {
    let rows = [Row::Failed {
        student: "=HYPERLINK(\"http://x\")",
        submission: "+1.ipynb",
        error: "=1+1",
    }];
    let csv = gradebook::csv(&card_rows(&rows, &cards(&rows)));
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let record = reader.records().next().unwrap().unwrap();
    assert_eq!(&record[0], "'=HYPERLINK(\"http://x\")");
    assert_eq!(&record[1], "'+1.ipynb");
    assert_eq!(&record[3], "error: =1+1");
}

#[test]
fn gradebook_of_nothing_is_a_header() {
    assert_eq!(
        gradebook::csv(&[]),
        "student,submission,rubric,status,score,max_score,pending_review\n"
    );
}

// ---------------------------------------------------------------------------------------
// results.json

#[test]
fn results_json() {
    let (a, b, d) = (alice(), bob(), dana());
    let out = json::results(&rows(&a, &b, &d));
    insta::assert_snapshot!("results_json", out);

    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], 1);
    let subs = v["submissions"].as_array().unwrap();
    assert_eq!(subs.len(), 4);
    assert_eq!(
        subs[2],
        json!({"student": "carol", "submission": "submissions/carol.ipynb", "error": CAROL_ERROR})
    );
    // A graded entry is the result's own serde form plus the student.
    let mut graded = serde_json::to_value(&b).unwrap();
    graded["student"] = json!("bob");
    assert_eq!(subs[1], graded);
    // Key order is the struct's, not alphabetical.
    let keys: Vec<&String> = subs[0].as_object().unwrap().keys().collect();
    let first = out.find("\"student\"").unwrap();
    assert!(first < out.find("\"submission\"").unwrap());
    assert!(out.find("\"rubric\"").unwrap() < out.find("\"score\"").unwrap());
    assert_eq!(keys.len(), 7);
}

#[test]
fn results_json_streamed_is_serde_jsons_pretty_document_for_any_class_size() {
    // results.json is written one entry at a time; serde_json's own pretty printer of the
    // whole document (declared here as the format's doc comment gives it) is the reference,
    // for no, one and several submissions.
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        version: u32,
        submissions: Vec<Entry<'a>>,
    }
    #[derive(serde::Serialize)]
    #[serde(untagged)]
    enum Entry<'a> {
        Graded {
            student: &'a str,
            #[serde(flatten)]
            result: &'a SubmissionResult,
        },
        Failed {
            student: &'a str,
            submission: &'a str,
            error: &'a str,
        },
    }
    let (a, b, d) = (alice(), bob(), dana());
    let all = rows(&a, &b, &d);
    for n in [0, 1, all.len()] {
        let doc = Doc {
            version: 1,
            submissions: all[..n]
                .iter()
                .map(|row| match *row {
                    Row::Graded { student, result } => Entry::Graded { student, result },
                    Row::Failed {
                        student,
                        submission,
                        error,
                    } => Entry::Failed {
                        student,
                        submission,
                        error,
                    },
                })
                .collect(),
        };
        let whole = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        assert_eq!(json::results(&all[..n]), whole, "{n} submissions");
    }
}

// ---------------------------------------------------------------------------------------
// JUnit

#[test]
fn junit_xml() {
    let (a, b, d) = (alice(), bob(), dana());
    let xml = junit::report(&rows(&a, &b, &d));
    insta::assert_snapshot!("junit", xml);

    assert!(!xml.contains("timestamp="));
    assert!(!xml.contains("time="));
    assert!(!xml.contains("<script>"));
    assert!(xml.contains("message=\"partial: 1.5 of 3 points\""));
    assert!(xml.contains("<error message=\"not a notebook"));
    // Same input, same bytes.
    assert_eq!(xml, junit::report(&rows(&a, &b, &d)));
}

#[test]
fn junit_written_a_suite_at_a_time_is_the_whole_report() {
    // `grade --out` writes each suite to a scratch file as the class is graded and the root
    // (whose counts need every suite) at the end; quick-junit's whole report is the reference.
    let (a, b, d) = (alice(), bob(), dana());
    let all = rows(&a, &b, &d);
    for n in [1, 2, all.len()] {
        let mut writer = junit::JunitWriter::new(std::io::Cursor::new(Vec::new()));
        for &row in &all[..n] {
            writer.add(row).unwrap();
        }
        let mut out = Vec::new();
        writer.finish(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            junit::report(&all[..n]),
            "{n} submissions"
        );
    }
}

// ---------------------------------------------------------------------------------------
// feedback documents

#[test]
fn feedback_markdown() {
    insta::assert_snapshot!("feedback_md_alice", feedback_md::render("alice", &alice()));
    insta::assert_snapshot!("feedback_md_bob", feedback_md::render("bob", &bob()));
    let dana = feedback_md::render("דנה", &dana());
    insta::assert_snapshot!("feedback_md_dana", dana);
    // The answer is verbatim inside a fence; outside fences no raw HTML survives.
    let outside: String = dana.split("```").step_by(2).collect::<Vec<_>>().join("");
    assert!(outside.contains("\\<img"));
    let chars: Vec<char> = outside.chars().collect();
    for (i, _) in chars.iter().enumerate().filter(|(_, &c)| c == '<') {
        assert_eq!(chars[i - 1], '\\', "unescaped `<` in {outside}");
    }
}

#[test]
fn feedback_html_pages() {
    insta::assert_snapshot!("feedback_html_bob", feedback_html::render("bob", &bob()));
    let page = feedback_html::render("דנה <script>", &dana());
    insta::assert_snapshot!("feedback_html_dana", page);

    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.to_lowercase().contains("<script"));
    assert!(!page.contains("<img"));
    assert!(!page.contains("<b>"));
    assert!(page.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"));
    assert!(page.contains("125 × 125 &amp; &quot;more&quot;, &#39;quoted&#39;"));
    assert!(page.contains("כל צומת מקבל הודעות מהשכנים שלו"));
    // Standalone: nothing loaded from elsewhere.
    for remote in ["<link", "<img", "url(", "http://", "https://", "@import"] {
        assert!(!page.contains(remote), "{remote}");
    }
}

#[test]
fn long_answers_are_truncated() {
    let mut r = alice();
    r.questions[2].answer.text = "abcd".repeat(500);
    let md = feedback_md::render("alice", &r);
    assert!(md.contains("*(500 more characters not shown)*"));
    let page = feedback_html::render("alice", &r);
    assert!(page.contains("(500 more characters not shown)"));
}

// ---------------------------------------------------------------------------------------
// Gradescope

#[test]
fn gradescope_results() {
    insta::assert_snapshot!("gradescope_alice", gradescope::results(&alice()));
    let out = gradescope::results(&bob());
    insta::assert_snapshot!("gradescope_bob", out);

    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["score"], 1.5);
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 5);
    assert!(tests.iter().all(|t| t["visibility"] == "visible"));
    assert_eq!(tests[0]["status"], "failed");
    assert_eq!(tests[1]["score"], 1.5);
    assert!(tests[4].get("status").is_none());
    assert!(tests[4].get("score").is_none());
}

// ---------------------------------------------------------------------------------------
// GitHub annotations

#[test]
fn github_annotations() {
    let (a, b, d) = (alice(), bob(), dana());
    let out = annotations::commands(&rows(&a, &b, &d));
    insta::assert_snapshot!("annotations", out);

    // One command per line: no value can break a line or start another command.
    for line in out.lines() {
        assert!(line.starts_with("::error ") || line.starts_with("::warning "));
        assert_eq!(line.matches("::").count(), 2, "{line}");
    }
    assert!(out.contains("file=submissions/דנה%2C final.ipynb,line=5,"));
}

#[test]
fn annotation_escaping() {
    assert_eq!(
        annotations::escape_data("100%\r\nok: a,b"),
        "100%25%0D%0Aok: a,b"
    );
    assert_eq!(
        annotations::escape_property("100%\r\nok: a,b"),
        "100%25%0D%0Aok%3A a%2Cb"
    );
    // `%` first, so an escape is not escaped twice.
    assert_eq!(annotations::escape_property("%3A"), "%253A");
}

// ---------------------------------------------------------------------------------------
// item analysis

/// A class: bob's answers given again by others, with the same wrong value and the same
/// free text up to case and spacing.
fn class() -> Vec<SubmissionResult> {
    let mut erin = bob();
    erin.submission = "submissions/erin.ipynb".to_string();
    erin.questions[0].answer.text = "the receptive field is 54".to_string();
    erin.questions[4].answer.text =
        "deeper networks are more expressive but  HARDER to train.".to_string();
    let mut frank = bob();
    frank.submission = "submissions/frank.ipynb".to_string();
    frank.questions[0].answer = answer("RF: 13 x 13", json!(13.0), 4, 1);
    frank.questions[4].answer.text = "Skip connections.".to_string();
    let mut gil = bob();
    gil.submission = "submissions/gil.ipynb".to_string();
    gil.questions[0].answer = answer("I think it is big", Value::Null, 4, 1);
    gil.questions[4].status = Status::Correct;
    gil.questions[4].points = Some(2.0);
    gil.questions[4].answer.text = "skip   connections.".to_string();
    vec![alice(), bob(), erin, frank, gil, dana()]
}

fn class_rows(results: &[SubmissionResult]) -> Vec<Row<'_>> {
    let students = ["alice", "bob", "erin", "frank", "gil", "דנה"];
    let mut rows: Vec<Row> = results
        .iter()
        .zip(students)
        .map(|(result, student)| Row::Graded { student, result })
        .collect();
    rows.insert(
        2,
        Row::Failed {
            student: "carol",
            submission: "submissions/carol.ipynb",
            error: CAROL_ERROR,
        },
    );
    rows
}

#[test]
fn item_analysis() {
    let results = class();
    let analysis = items::analyse(&class_rows(&results));
    insta::assert_snapshot!("items_text", items::text(&analysis));
    let mut markdown = Vec::new();
    items::write_markdown(&analysis, &mut markdown).unwrap();
    insta::assert_snapshot!("items_markdown", String::from_utf8(markdown).unwrap());
    insta::assert_json_snapshot!("items_json", analysis);

    assert_eq!(analysis.submissions, 6);
    assert_eq!(analysis.failed, 1);
    let q1 = &analysis.items[0];
    assert_eq!((q1.rubric.as_str(), q1.id.as_str()), ("hw4-summary", "q1"));
    assert_eq!(q1.count, 5);
    assert_eq!(q1.wrong_answers[0].answer, "54");
    assert_eq!(q1.wrong_answers[0].students, ["bob", "erin"]);
    let q5 = analysis.items.iter().find(|i| i.id == "q5").unwrap();
    assert_eq!(q5.identical_answers.len(), 2);
    assert_eq!(q5.identical_answers[0].students, ["bob", "erin"]);
    assert_eq!(q5.identical_answers[1].students, ["frank", "gil"]);
    // q1 of the other rubric is another question.
    assert!(analysis
        .items
        .iter()
        .any(|i| i.rubric == "hw4-part4" && i.id == "q1"));
}

/// The item analysis keeps an answer's text only where a report may show it (src/report/items.rs,
/// `Gathering`). Its top list of wrong answers must still be the one a plain count of every
/// answer gives: most common first, equally common ones in the order first seen, answers given
/// once included when fewer than ten are given more often. The class here has 25 distinct
/// wrong answers; some are first given after the tenth distinct one and repeated later, and
/// free-text answers repeat in mixed case and spacing.
#[test]
fn item_analysis_top_lists_match_a_plain_count_of_every_answer() {
    // Student i's answer: twelve distinct ones, two of them (the first, and one first given
    // after the tenth distinct answer) repeated, then nine more, one of them repeated.
    let order: Vec<usize> = (0..12).chain([11, 0]).chain(12..21).chain([13]).collect();
    let pick = |i: usize| format!("answer {}", order[i]);
    let results: Vec<SubmissionResult> = (0..order.len())
        .map(|i| {
            let text = pick(i);
            let free = if i % 2 == 0 {
                text.to_uppercase()
            } else {
                format!("  {text} ")
            };
            submission(
                &format!("s{i}.ipynb"),
                "r",
                vec![
                    question(
                        "w",
                        "",
                        Status::Wrong,
                        Some(0.0),
                        1.0,
                        answer(&text, Value::Null, 1, 1),
                        None,
                        &[],
                    ),
                    question(
                        "f",
                        "",
                        Status::Correct,
                        Some(1.0),
                        1.0,
                        answer(&free, Value::Null, 2, 1),
                        None,
                        &[],
                    ),
                ],
            )
        })
        .collect();
    let names: Vec<String> = (0..order.len()).map(|i| format!("s{i}")).collect();
    let rows: Vec<Row> = results
        .iter()
        .zip(&names)
        .map(|(result, student)| Row::Graded { student, result })
        .collect();
    let analysis = items::analyse(&rows);

    // The plain count: every distinct answer with its students, first seen first.
    let mut counted: Vec<(String, Vec<String>)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let text = pick(i);
        match counted.iter_mut().find(|(t, _)| *t == text) {
            Some((_, who)) => who.push(name.clone()),
            None => counted.push((text, vec![name.clone()])),
        }
    }
    let mut top = counted.clone();
    top.sort_by_key(|(_, who)| std::cmp::Reverse(who.len()));
    top.truncate(items::TOP_WRONG);
    assert!(
        top.iter().any(|(_, who)| who.len() == 1),
        "the list must reach answers given once"
    );
    let wrong: Vec<(String, Vec<String>)> = analysis.items[0]
        .wrong_answers
        .iter()
        .map(|w| (w.answer.clone(), w.students.clone()))
        .collect();
    assert_eq!(wrong, top);

    let mut identical: Vec<(String, Vec<String>)> = counted
        .into_iter()
        .filter(|(_, who)| who.len() >= 2)
        .collect();
    identical.sort_by_key(|(_, who)| std::cmp::Reverse(who.len()));
    let found: Vec<(String, Vec<String>)> = analysis.items[1]
        .identical_answers
        .iter()
        .map(|g| (items::normalise(&g.text), g.students.clone()))
        .collect();
    assert_eq!(found, identical);
    // The text shown is one the group's students wrote: the second's.
    let first = &analysis.items[1].identical_answers[0];
    let second: usize = first.students[1][1..].parse().unwrap();
    assert_eq!(first.text, results[second].questions[1].answer.text.trim());
}

#[test]
fn normalised_text() {
    assert_eq!(
        items::normalise("  Skip\n  CONNECTIONS. "),
        "skip connections."
    );
}

// ---------------------------------------------------------------------------------------
// escaping helpers

#[test]
fn markdown_escaping() {
    assert_eq!(escape::markdown("p_1 + q_rf"), "p_1 + q_rf");
    assert_eq!(escape::markdown("_x_ *y*"), "\\_x\\_ \\*y\\*");
    assert_eq!(escape::markdown("<b>a|b</b>"), "\\<b\\>a\\|b\\</b\\>");
    assert_eq!(
        escape::markdown("1. first\n# not a heading"),
        "1\\. first \\# not a heading"
    );
    assert_eq!(escape::markdown("- item"), "\\- item");
    assert_eq!(escape::fence("a ```` b"), "`````");
    assert_eq!(escape::inline_code("`x`"), "`` `x` ``");
    assert_eq!(escape::truncate("אבגד", 2), ("אב", 2));
}
