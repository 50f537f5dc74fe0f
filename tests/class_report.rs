//! The class report (`report.html` of `grade --out`) and the terminal's class summary, on a
//! hand-built class of five: the HTML is snapshot-tested; discrimination is checked against
//! correlations worked out by hand; hostile student strings come out escaped; the page has no
//! script and no external asset; the terminal lists at most the ten hardest questions. Then
//! the page of a real `grade --out` run is rendered in headless Chromium and a screenshot
//! is saved (skipped with a notice when Chromium is missing, except under CI=true, where
//! that fails).

use std::path::{Path, PathBuf};
use std::process::Command;

use examiner::extract::Method;
use examiner::grading::{AnswerOut, QuestionResult, Status, SubmissionResult};
use examiner::report::class_report::{self, correlation};
use examiner::report::items;
use examiner::report::row::{card_rows, cards, Row};
use serde_json::{json, Value};

fn q(
    id: &str,
    status: Status,
    points: Option<f64>,
    max: f64,
    text: &str,
    value: Value,
) -> QuestionResult {
    QuestionResult {
        id: id.to_string(),
        title: format!("Question {id}"),
        status,
        points,
        max_points: max,
        answer: AnswerOut {
            text: text.to_string(),
            value,
            cells: vec![3],
            line: Some(1),
            confidence: 0.9,
            method: Some(Method::AfterQuestion),
        },
        expected: None,
        feedback: Vec::new(),
        required: true,
        counted: true,
        parts: Vec::new(),
        answer_hash: String::new(),
        reviews: Vec::new(),
    }
}

fn sub(name: &str, questions: Vec<QuestionResult>) -> SubmissionResult {
    SubmissionResult {
        submission: format!("submissions/{name}.ipynb"),
        rubric: "hw4".to_string(),
        score: Some(questions.iter().map(|q| q.points.unwrap_or(0.0)).sum()),
        max_score: questions.iter().map(|q| q.max_points).sum(),
        pending_review: questions
            .iter()
            .filter(|q| q.status == Status::NeedsReview)
            .count(),
        questions,
        warnings: Vec::new(),
        grader_notes: Vec::new(),
    }
}

/// Five students. `rf` (2 points) goes with the rest of the test; `trick` (1 point) is
/// answered right only by the weakest students; `essay` awaits review for one.
fn class() -> Vec<(String, SubmissionResult)> {
    use Status::*;
    let ok = |p| Some(p);
    vec![
        (
            "ann".into(),
            sub(
                "ann",
                vec![
                    q("rf", Correct, ok(2.0), 2.0, "112", json!(112.0)),
                    q("trick", Wrong, ok(0.0), 1.0, "54", json!(54.0)),
                    q("essay", Correct, ok(3.0), 3.0, "long answer", Value::Null),
                ],
            ),
        ),
        (
            "ben".into(),
            sub(
                "ben",
                vec![
                    q("rf", Correct, ok(2.0), 2.0, "112", json!(112.0)),
                    q("trick", Wrong, ok(0.0), 1.0, "54", json!(54.0)),
                    q("essay", Partial, ok(2.0), 3.0, "shorter", Value::Null),
                ],
            ),
        ),
        (
            "<b>cid</b> & \"co\"".into(),
            sub(
                "cid",
                vec![
                    q("rf", Partial, ok(1.0), 2.0, "125", json!(125.0)),
                    q("trick", Correct, ok(1.0), 1.0, "7", json!(7.0)),
                    q(
                        "essay",
                        NeedsReview,
                        None,
                        3.0,
                        "<script>alert(1)</script>",
                        Value::Null,
                    ),
                ],
            ),
        ),
        (
            "dee".into(),
            sub(
                "dee",
                vec![
                    q(
                        "rf",
                        Wrong,
                        ok(0.0),
                        2.0,
                        "<img src=x onerror=alert(1)>",
                        Value::Null,
                    ),
                    q("trick", Correct, ok(1.0), 1.0, "7", json!(7.0)),
                    q("essay", Partial, ok(1.0), 3.0, "a little", Value::Null),
                ],
            ),
        ),
        (
            "eve".into(),
            sub(
                "eve",
                vec![
                    q("rf", Wrong, ok(0.0), 2.0, "125", json!(125.0)),
                    q("trick", Correct, ok(1.0), 1.0, "7", json!(7.0)),
                    q("essay", Missing, ok(0.0), 3.0, "", Value::Null),
                ],
            ),
        ),
    ]
}

fn rows(class: &[(String, SubmissionResult)]) -> Vec<Row<'_>> {
    let mut rows: Vec<Row<'_>> = class
        .iter()
        .map(|(student, result)| Row::Graded { student, result })
        .collect();
    rows.push(Row::Failed {
        student: "fay",
        submission: "submissions/fay.ipynb",
        error: "not valid JSON at line 3 <EOF>",
    });
    rows
}

fn link(student: &str) -> String {
    format!("feedback/{student}.html")
}

#[test]
fn correlation_matches_hand_computed_values() {
    assert_eq!(
        correlation(&[0.0, 1.0, 2.0], &[1.0, 2.0, 3.0]).map(|r| (r * 1e9).round()),
        Some(1e9)
    );
    assert_eq!(
        correlation(&[2.0, 1.0, 0.0], &[1.0, 2.0, 3.0]).map(|r| (r * 1e9).round()),
        Some(-1e9)
    );
    // x = [1, 2, 3, 4], y = [2, 1, 4, 3]: sxy = 3, sxx = syy = 5, r = 0.6.
    let r = correlation(&[1.0, 2.0, 3.0, 4.0], &[2.0, 1.0, 4.0, 3.0]).unwrap();
    assert!((r - 0.6).abs() < 1e-12, "{r}");
    assert_eq!(
        correlation(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]),
        None,
        "no variation"
    );
}

#[test]
fn discrimination_and_hardest_questions() {
    let class = class();
    let rows = rows(&class);
    let analysis = items::analyse(&rows);
    let stats = class_report::stats(&card_rows(&rows, &cards(&rows)), &analysis);
    let by_id = |id: &str| stats.questions.iter().find(|q| q.item.id == id).unwrap();
    // rf points [2, 2, 1, 0, 0], rest of the test [3, 2, 1, 2, 1]:
    // means 1 and 1.8; sxy = 1*1.2 + 1*0.2 + 0 + (-1)*0.2 + (-1)*(-0.8) = 2.0,
    // sxx = 4.0, syy = 1.44 + 0.04 + 0.64 + 0.04 + 0.64 = 2.8, r = 2 / sqrt(11.2).
    let rf = by_id("rf").discrimination.unwrap();
    assert!((rf - 2.0 / 11.2f64.sqrt()).abs() < 1e-9, "{rf}");
    // trick points [0, 0, 1, 1, 1] against rest [5, 4, 1, 1, 0]: strongly negative.
    assert!(by_id("trick").discrimination.unwrap() < -0.9);
    // essay: cid awaits review (no points), 4 scored: points [3, 2, 1, 0], rest [2, 2, 1, 1].
    let essay = by_id("essay").discrimination.unwrap();
    let want = correlation(&[3.0, 2.0, 1.0, 0.0], &[2.0, 2.0, 1.0, 1.0]).unwrap();
    assert!((essay - want).abs() < 1e-12);
    // Mean shares: rf 5/10 = 50%, trick 3/5 = 60%, essay 6/12 = 50%.
    let hardest: Vec<&str> = stats
        .hardest(10)
        .iter()
        .map(|q| q.item.id.as_str())
        .collect();
    assert_eq!(hardest, ["rf", "essay", "trick"]);
    assert_eq!(stats.hardest(2).len(), 2);
    // Totals of 6: ann 5, ben 4, cid 2 (the essay under review counts 0), dee 2, eve 1.
    assert_eq!(stats.histogram().iter().sum::<usize>(), 5);
    assert_eq!(stats.histogram(), [0, 1, 0, 2, 0, 0, 1, 0, 1, 0]);
}

#[test]
fn the_terminal_lists_at_most_ten_hardest_questions() {
    // One student, 25 questions of falling difficulty.
    let questions: Vec<QuestionResult> = (0..25)
        .map(|i| {
            q(
                &format!("q{i:02}"),
                Status::Partial,
                Some(i as f64 / 25.0),
                1.0,
                "x",
                Value::Null,
            )
        })
        .collect();
    let result = sub("solo", questions);
    let rows = vec![Row::Graded {
        student: "solo",
        result: &result,
    }];
    let analysis = items::analyse(&rows);
    let stats = class_report::stats(&card_rows(&rows, &cards(&rows)), &analysis);
    let text = class_report::terminal(&analysis, &stats);
    let listed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("q0") || l.starts_with("q1") || l.starts_with("q2"))
        .collect();
    assert_eq!(listed.len(), 10, "{text}");
    assert!(
        listed[0].starts_with("q00") && listed[9].starts_with("q09"),
        "{text}"
    );
    assert!(text.contains("--items"), "{text}");
}

#[test]
fn report_html_snapshot_escapes_and_has_no_script_or_external_asset() {
    let class = class();
    let rows = rows(&class);
    let analysis = items::analyse(&rows);
    let page = class_report::render(&card_rows(&rows, &cards(&rows)), &analysis, link);
    insta::assert_snapshot!("report_html", page);
    assert!(page.contains("default-src 'none'; style-src 'unsafe-inline'"));
    assert!(!page.to_lowercase().contains("<script"), "no live script");
    assert!(!page.contains("<img"), "no live image");
    assert!(page.contains("&lt;b&gt;cid&lt;/b&gt; &amp; &quot;co&quot;"));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("href=\"feedback/ann.html\""));
    for external in ["http://", "https://", "src=\"", "href=\"http", "url("] {
        let hits: Vec<_> = page
            .match_indices(external)
            .filter(|(i, _)| !page[*i..].starts_with("http://www.w3.org/2000/svg"))
            .collect();
        assert!(hits.is_empty(), "external reference `{external}`");
    }
    assert_eq!(
        page.matches("<svg").count(),
        1 + 2 * 3,
        "histogram + a mean bar and a status bar per question"
    );
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
}

/// `grade --out` on the sample class, then `report.html` in headless Chromium: the
/// screenshot is saved to `target/screenshots/report.png` for a person to look at.
#[test]
fn report_html_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is required under CI (apt-get install chromium)"
        );
        eprintln!("skipping: chromium not found (apt-get install chromium)");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = std::env::temp_dir().join(format!("examiner-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let out = work.join("out");
    let grade = Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(["grade", "submissions", "--out"])
        .arg(&out)
        .current_dir(root)
        .env("EXAMINER_CACHE_DIR", work.join(".cache"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        grade.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&grade.stderr)
    );
    let page = out.join("report.html");
    assert!(page.is_file());
    let shots = root.join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let profile = work.join("profile");
    let run = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1100,1600")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&run.stderr)
        )
    });
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    assert!(
        png.len() > 20_000,
        "a page with content, not a blank one ({} bytes)",
        png.len()
    );
    eprintln!("screenshot of report.html: {}", shot.display());
    let _ = std::fs::remove_dir_all(&work);
}
