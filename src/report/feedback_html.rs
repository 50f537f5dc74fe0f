//! A student's feedback as a standalone HTML page (inline CSS, no scripts, no external
//! assets), for sending by e-mail or uploading to an LMS that shows HTML: the same content
//! as the Markdown document, with the status of each question in colour.
//!
//! Written by hand with one escaping function ([`super::escape::html`]) rather than with a
//! template engine: the page is one small fixed layout, and every interpolated value is
//! visibly passed through `html()` at the point of use; a template engine would add a
//! dependency and run-time template errors for no gain here. The page also carries a
//! Content-Security-Policy that forbids scripts, as a second line of defence should a value
//! ever slip through unescaped.

use std::fmt::Write;

use crate::grading::{QuestionResult, Status, SubmissionResult};

use super::escape::{html, truncate};
use super::feedback_md::{heading, location, part_rows, points, score_line, ANSWER_SHOWN};

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1f2328;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.25rem}
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
.meta{color:#59636e;margin:0}
.score{font-size:1.1rem;font-weight:600}
table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .7rem;text-align:left}
td.pts{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.75rem;white-space:pre-wrap;overflow-wrap:anywhere}
.status{display:inline-block;border-radius:1rem;padding:0 .6rem;font-size:.9rem;font-weight:600}
.correct{background:#dafbe1;color:#116329}
.partial,.needs-review{background:#fff8c5;color:#7d4e00}
.wrong,.missing,.unparseable{background:#ffebe9;color:#a40e26}
.ungraded{background:#eaeef2;color:#59636e}
.more{color:#59636e;font-style:italic}
";

/// The feedback page for `student`'s result `r`.
pub fn render(student: &str, r: &SubmissionResult) -> String {
    let mut out = String::new();
    let title = format!("Feedback for {student}");
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        html(&title)
    );
    let _ = writeln!(out, "<h1 dir=\"auto\">{}</h1>", html(&title));
    let _ = writeln!(
        out,
        "<p class=\"meta\">Rubric: {}</p>\n<p class=\"meta\">Submission: {}</p>",
        html(&r.rubric),
        html(&r.submission)
    );
    let _ = writeln!(out, "<p class=\"score\">{}</p>", html(&score_line(r)));
    // How the notebook was read, where it matters (issue 15); grader-only notes are not shown.
    if !r.warnings.is_empty() {
        out.push_str("<p>Notes on how your notebook was read:</p>\n<ul>\n");
        for w in &r.warnings {
            let _ = writeln!(out, "<li dir=\"auto\">{}</li>", html(w));
        }
        out.push_str("</ul>\n");
    }
    if !r.questions.is_empty() {
        out.push_str(
            "<table>\n<thead><tr><th>Question</th><th>Status</th><th>Points</th></tr></thead>\n<tbody>\n",
        );
        for q in &r.questions {
            let _ = writeln!(
                out,
                "<tr><td dir=\"auto\">{}</td><td>{}</td><td class=\"pts\">{}</td></tr>",
                html(&heading(q)),
                status(q.status),
                html(&points(q))
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    for q in &r.questions {
        question(&mut out, q);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn status(s: Status) -> String {
    // The status words are fixed identifiers; escaped anyway, like everything else.
    format!("<span class=\"status {0}\">{0}</span>", html(s.as_str()))
}

fn question(out: &mut String, q: &QuestionResult) {
    let _ = writeln!(
        out,
        "<section>\n<h2 dir=\"auto\">{}</h2>",
        html(&heading(q))
    );
    let by = q
        .reviewers()
        .map(|by| format!(", reviewed by {}", html(&by)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<p>{} {} points{by}</p>",
        status(q.status),
        html(&points(q))
    );
    if q.status == Status::Missing {
        out.push_str("<p>No answer was found.</p>\n");
    } else {
        let at = location(q);
        if at.is_empty() {
            out.push_str("<p>Your answer:</p>\n");
        } else {
            let _ = writeln!(out, "<p>Your answer ({}):</p>", html(&at));
        }
        let (shown, more) = truncate(q.answer.text.trim_end(), ANSWER_SHOWN);
        let _ = writeln!(out, "<pre dir=\"auto\">{}</pre>", html(shown));
        if more > 0 {
            let _ = writeln!(
                out,
                "<p class=\"more\">({more} more characters not shown)</p>"
            );
        }
    }
    if let Some(expected) = &q.expected {
        let _ = writeln!(out, "<p>Expected: <code>{}</code></p>", html(expected));
    }
    if !q.parts.is_empty() {
        let (keys, rows) = part_rows(q);
        out.push_str("<table>\n<thead><tr><th>Statement</th><th>Read as</th>");
        if keys {
            out.push_str("<th>Key</th>");
        }
        out.push_str("<th>Status</th></tr></thead>\n<tbody>\n");
        for [id, read, key, st] in rows {
            let _ = write!(out, "<tr><td>{}</td><td>{}</td>", html(&id), html(&read));
            if keys {
                let _ = write!(out, "<td>{}</td>", html(&key));
            }
            let _ = writeln!(
                out,
                "<td><span class=\"status {0}\">{0}</span></td></tr>",
                html(&st)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    if !q.feedback.is_empty() {
        out.push_str("<ul>\n");
        for f in &q.feedback {
            let _ = writeln!(out, "<li dir=\"auto\">{}</li>", html(f));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}
