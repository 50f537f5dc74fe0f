//! The class at a glance: `report.html` of `grade --out`, and the short class summary the
//! terminal shows (`--items` prints the full item table instead).
//!
//! The page shows the distribution of totals (a histogram of each submission's share of its
//! rubric's maximum, so classes that mix question sets still share one axis), then per
//! question its mean, its discrimination (how well the question separates strong from weak
//! submissions: the correlation of its points with the rest of the test), the mix of
//! statuses as one stacked bar, its most common wrong answers, and links to every student's
//! feedback page. Plots are inline SVG; there are no scripts and no external assets, and
//! the page carries the same Content-Security-Policy as the feedback pages. Every string that
//! comes from a submission (student names, answers, error reasons) goes through
//! [`super::escape::html`] where it is written.

use std::fmt::Write;

use crate::grading::Status;
use crate::rubric::keys::format_points;

use super::escape::{html, one_line, truncate};
use super::items::{Item, ItemAnalysis};
use super::row::{Row, ScoreCard};

/// Questions the terminal summary lists.
pub const HARDEST: usize = 10;

/// Bins of the totals histogram (each 10% of the maximum wide).
const BINS: usize = 10;

/// Fewest scored submissions for a correlation to mean anything.
const MIN_FOR_DISCRIMINATION: usize = 3;

/// Statuses in the order the bars stack them, with their colour.
const STATUS_COLOURS: [(Status, &str); 7] = [
    (Status::Correct, "#2da44e"),
    (Status::Partial, "#d4a72c"),
    (Status::NeedsReview, "#bf8700"),
    (Status::Wrong, "#cf222e"),
    (Status::Unparseable, "#a40e26"),
    (Status::Missing, "#8c959f"),
    (Status::Ungraded, "#d0d7de"),
];

/// One question with what the report adds to the item analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionStats<'a> {
    pub item: &'a Item,
    /// Mean points as a share of the maximum (0 to 1), when any answer was scored.
    pub mean_share: Option<f64>,
    /// Correlation of the question's points with the rest of the test (the total without
    /// this question), over the submissions of its rubric with both scored; `None` with
    /// fewer than three such submissions or when either side does not vary.
    pub discrimination: Option<f64>,
}

/// The class: totals and per-question statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassStats<'a> {
    pub graded: usize,
    pub failed: usize,
    /// Each scored submission's total as a share of its maximum.
    pub shares: Vec<f64>,
    pub questions: Vec<QuestionStats<'a>>,
}

/// Pearson's correlation of two equally long samples; `None` when either does not vary.
pub fn correlation(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let r = sxy / (sxx * syy).sqrt();
    (sxx > 1e-12 && syy > 1e-12 && r.is_finite()).then_some(r)
}

/// Computes the class statistics of `rows` with their item analysis `items`.
pub fn stats<'a>(rows: &[Row<'_, ScoreCard>], items: &'a ItemAnalysis) -> ClassStats<'a> {
    let results: Vec<_> = rows.iter().filter_map(|r| r.result()).collect();
    let shares = results
        .iter()
        .filter_map(|r| {
            r.score
                .filter(|_| r.max_score > 0.0)
                .map(|s| (s / r.max_score).clamp(0.0, 1.0))
        })
        .collect();
    let questions = items
        .items
        .iter()
        .map(|item| {
            let (mut own, mut rest) = (Vec::new(), Vec::new());
            for r in results.iter().filter(|r| *r.rubric == *item.rubric) {
                let (Some(total), Some(q)) = (r.score, r.question(&item.id)) else {
                    continue;
                };
                if let (Some(p), true) = (q.points, q.counted) {
                    own.push(p);
                    rest.push(total - p);
                }
            }
            let discrimination = if own.len() >= MIN_FOR_DISCRIMINATION {
                correlation(&own, &rest)
            } else {
                None
            };
            QuestionStats {
                item,
                mean_share: item
                    .mean_points
                    .filter(|_| item.max_points > 0.0)
                    .map(|m| m / item.max_points),
                discrimination,
            }
        })
        .collect();
    ClassStats {
        graded: results.len(),
        failed: rows.len() - results.len(),
        shares,
        questions,
    }
}

impl ClassStats<'_> {
    /// The questions with the lowest mean share first (unscored ones left out), at most `n`.
    pub fn hardest(&self, n: usize) -> Vec<&QuestionStats<'_>> {
        let mut scored: Vec<&QuestionStats<'_>> = self
            .questions
            .iter()
            .filter(|q| q.mean_share.is_some())
            .collect();
        scored.sort_by(|a, b| {
            a.mean_share
                .unwrap_or(1.0)
                .total_cmp(&b.mean_share.unwrap_or(1.0))
        });
        scored.truncate(n);
        scored
    }

    /// Count of totals in each 10% bin (100% falls in the last).
    pub fn histogram(&self) -> [usize; BINS] {
        let mut bins = [0; BINS];
        for s in &self.shares {
            let i = ((s * BINS as f64).floor() as usize).min(BINS - 1);
            bins[i] += 1;
        }
        bins
    }

    fn mean_share(&self) -> Option<f64> {
        (!self.shares.is_empty())
            .then(|| self.shares.iter().sum::<f64>() / self.shares.len() as f64)
    }

    fn median_share(&self) -> Option<f64> {
        let mut s = self.shares.clone();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(s[n / 2]),
            _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
        }
    }
}

fn percent(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

fn discrimination_text(d: Option<f64>) -> String {
    d.map_or_else(|| "-".to_string(), |d| format!("{d:+.2}"))
}

/// The label of an item: its id, prefixed by its rubric when the class has several.
fn label(a: &ItemAnalysis, item: &Item) -> String {
    if a.items.iter().any(|i| i.rubric != item.rubric) {
        format!("{}/{}", item.rubric, item.id)
    } else {
        item.id.clone()
    }
}

/// One line of class totals.
fn totals_line(s: &ClassStats<'_>) -> String {
    let mut line = format!("Class: {} graded", s.graded);
    if s.failed > 0 {
        let _ = write!(line, ", {} could not be read", s.failed);
    }
    if let (Some(mean), Some(median)) = (s.mean_share(), s.median_share()) {
        let _ = write!(
            line,
            "; total {} of the maximum on average (median {})",
            percent(mean),
            percent(median)
        );
    } else {
        line.push_str("; no totals (nothing was scored)");
    }
    line
}

/// The class summary for the terminal: totals, then the hardest questions (lowest mean
/// share), at most [`HARDEST`], and a pointer to `--items` for the full table.
pub fn terminal(a: &ItemAnalysis, s: &ClassStats<'_>) -> String {
    let mut out = totals_line(s);
    out.push('\n');
    let hardest = s.hardest(HARDEST);
    if hardest.is_empty() {
        out.push_str("(--items prints the item analysis of every question)\n");
        return out;
    }
    let _ = writeln!(
        out,
        "Hardest questions ({} of {}; --items prints every question):",
        hardest.len(),
        a.items.len()
    );
    let mut rows = vec![[
        "question".to_string(),
        "n".to_string(),
        "mean".to_string(),
        "max".to_string(),
        "mean %".to_string(),
        "discr.".to_string(),
    ]];
    let mut tops = vec!["most common wrong answer".to_string()];
    for q in &hardest {
        let item = q.item;
        rows.push([
            label(a, item),
            item.count.to_string(),
            item.mean_points.map_or("-".into(), |m| format!("{m:.2}")),
            format_points(item.max_points),
            q.mean_share.map_or("-".into(), percent),
            discrimination_text(q.discrimination),
        ]);
        tops.push(item.wrong_answers.first().map_or(String::new(), |w| {
            let answer = one_line(&w.answer);
            let (shown, more) = truncate(&answer, 40);
            format!(
                "{shown}{} (x{})",
                if more > 0 { "..." } else { "" },
                w.count
            )
        }));
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for (row, top) in rows.iter().zip(&tops) {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.chars().count());
            if c == 0 {
                let _ = write!(line, "{cell}{pad}");
            } else {
                let _ = write!(line, "  {pad}{cell}");
            }
        }
        let _ = write!(line, "  {top}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1f2328;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.25rem}
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
.meta{color:#59636e;margin:0}
table{border-collapse:collapse;margin:1rem 0;width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.wrong-answers{margin:0;padding-left:1.1rem;font-size:.9rem}
.wrong-answers code{white-space:pre-wrap;overflow-wrap:anywhere}
.legend span{display:inline-block;margin-right:1rem;font-size:.9rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-.1rem}
.students{columns:3 14rem;padding-left:1.1rem}
.error{color:#a40e26}
tr.rubric th{background:#f6f8fa}
";

/// The totals histogram as an inline SVG.
fn histogram_svg(s: &ClassStats<'_>) -> String {
    let bins = s.histogram();
    let top = bins.iter().copied().max().unwrap_or(0).max(1);
    let (w, h, left, bottom, bar) = (560, 220, 40, 40, 48);
    let plot = h - bottom - 20;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"Histogram of totals\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\" \
         font-family=\"system-ui,sans-serif\">\n"
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#8c959f\"/>",
        h - bottom,
        left + BINS * (bar + 4),
        h - bottom
    );
    for (i, &count) in bins.iter().enumerate() {
        let x = left + i * (bar + 4) + 2;
        let bh = count * plot / top;
        let y = h - bottom - bh;
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{bar}\" height=\"{bh}\" fill=\"#0969da\"><title>{}-{}%: {count}</title></rect>",
            i * 10,
            (i + 1) * 10
        );
        if count > 0 {
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{count}</text>",
                x + bar / 2,
                y - 4
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#59636e\">{}%</text>",
            x + bar / 2,
            h - bottom + 16,
            i * 10
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#59636e\">total, % of the maximum (each bar 10% wide)</text>",
        left + BINS * (bar + 4) / 2,
        h - 6
    );
    svg.push_str("</svg>");
    svg
}

/// A horizontal bar of `share` (0 to 1), with the share written beside it.
fn mean_bar(share: Option<f64>) -> String {
    let Some(s) = share else {
        return "-".to_string();
    };
    let w = (s.clamp(0.0, 1.0) * 100.0).round() as usize;
    format!(
        "<svg width=\"150\" height=\"14\" viewBox=\"0 0 150 14\" xmlns=\"http://www.w3.org/2000/svg\" \
         font-size=\"11\" font-family=\"system-ui,sans-serif\"><rect width=\"100\" height=\"14\" fill=\"#eaeef2\"/>\
         <rect width=\"{w}\" height=\"14\" fill=\"#0969da\"/><text x=\"104\" y=\"11\">{}</text></svg>",
        percent(s)
    )
}

/// The statuses of a question as one stacked bar.
fn status_bar(item: &Item) -> String {
    let s = &item.statuses;
    let counts = [
        s.correct,
        s.partial,
        s.needs_review,
        s.wrong,
        s.unparseable,
        s.missing,
        s.ungraded,
    ];
    let total: usize = counts.iter().sum();
    let width = 160.0;
    let mut svg = String::from(
        "<svg width=\"160\" height=\"14\" viewBox=\"0 0 160 14\" xmlns=\"http://www.w3.org/2000/svg\">",
    );
    if total == 0 {
        svg.push_str("<rect width=\"160\" height=\"14\" fill=\"#eaeef2\"/>");
    }
    let mut x = 0.0;
    for ((status, colour), &n) in STATUS_COLOURS.iter().zip(&counts) {
        if n == 0 {
            continue;
        }
        let w = width * n as f64 / total as f64;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" width=\"{w:.1}\" height=\"14\" fill=\"{colour}\"><title>{}: {n}</title></rect>",
            status.as_str()
        );
        x += w;
    }
    svg.push_str("</svg>");
    svg
}

/// At most this many characters of a wrong answer on the page.
const ANSWER_CHARS: usize = 80;

/// Wrong answers shown per question.
const WRONG_SHOWN: usize = 3;

/// `report.html`: the class at a glance. `feedback_link` gives the (relative) address of a
/// student's feedback page.
pub fn render(
    rows: &[Row<'_, ScoreCard>],
    a: &ItemAnalysis,
    feedback_link: impl Fn(&str) -> String,
) -> String {
    let s = stats(rows, a);
    let mut out = String::new();
    let mut rubrics: Vec<&str> = a.items.iter().map(|i| i.rubric.as_str()).collect();
    rubrics.dedup();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>Class report</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n"
    );
    out.push_str("<h1>Class report</h1>\n");
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", html(&totals_line(&s)));
    if !rubrics.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"meta\">Rubrics: {}</p>",
            html(&rubrics.join(", "))
        );
    }
    out.push_str("<h2>Totals</h2>\n");
    if s.shares.is_empty() {
        out.push_str("<p>No submission was scored.</p>\n");
    } else {
        out.push_str(&histogram_svg(&s));
        out.push('\n');
    }
    out.push_str("<h2>Questions</h2>\n<p class=\"legend\">");
    for (status, colour) in STATUS_COLOURS {
        let _ = write!(
            out,
            "<span><i style=\"background:{colour}\"></i>{}</span>",
            status.as_str()
        );
    }
    out.push_str(
        "</p>\n<p class=\"meta\">Discrimination: the correlation of a question's points with \
         the rest of the test (-1 to 1). Near 0 or negative: the question does not separate \
         strong from weak submissions, or its key deserves a look.</p>\n",
    );
    if !s.questions.is_empty() {
        out.push_str(
            "<table>\n<thead><tr><th>Question</th><th>Answers</th><th>Mean</th>\
             <th>Discrimination</th><th>Statuses</th><th>Most common wrong answers</th></tr></thead>\n<tbody>\n",
        );
        let mut current: Option<&str> = None;
        for q in &s.questions {
            let item = q.item;
            // A class with several question sets: one heading row per rubric.
            if rubrics.len() > 1 && current != Some(item.rubric.as_str()) {
                current = Some(item.rubric.as_str());
                let _ = writeln!(
                    out,
                    "<tr class=\"rubric\"><th colspan=\"6\">{}</th></tr>",
                    html(&item.rubric)
                );
            }
            let _ = write!(
                out,
                "<tr><td dir=\"auto\"><b>{}</b><br>{}</td><td class=\"num\">{}</td><td>{}<br>{} / {}</td>\
                 <td class=\"num\">{}</td><td>{}</td><td>",
                html(&item.id),
                html(&item.title),
                item.count,
                mean_bar(q.mean_share),
                item.mean_points.map_or("-".into(), |m| format!("{m:.2}")),
                html(&format_points(item.max_points)),
                html(&discrimination_text(q.discrimination)),
                status_bar(item),
            );
            if !item.wrong_answers.is_empty() {
                out.push_str("<ul class=\"wrong-answers\">");
                for w in item.wrong_answers.iter().take(WRONG_SHOWN) {
                    let answer = one_line(&w.answer);
                    let (shown, more) = truncate(&answer, ANSWER_CHARS);
                    let _ = write!(
                        out,
                        "<li><code dir=\"auto\">{}{}</code> &times;{}</li>",
                        html(shown),
                        if more > 0 { "&hellip;" } else { "" },
                        w.count
                    );
                }
                out.push_str("</ul>");
            }
            out.push_str("</td></tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("<h2>Students</h2>\n<ul class=\"students\">\n");
    for row in rows {
        match row {
            Row::Graded { student, result } => {
                let score = format!(
                    "{}/{}",
                    result.score.map_or_else(|| "-".into(), format_points),
                    format_points(result.max_score)
                );
                let _ = writeln!(
                    out,
                    "<li><a href=\"{}\" dir=\"auto\">{}</a> {}</li>",
                    html(&feedback_link(student)),
                    html(student),
                    html(&score)
                );
            }
            Row::Failed { student, error, .. } => {
                let _ = writeln!(
                    out,
                    "<li><span dir=\"auto\">{}</span> <span class=\"error\">could not be read: {}</span></li>",
                    html(student),
                    html(&one_line(error))
                );
            }
        }
    }
    out.push_str("</ul>\n</body>\n</html>\n");
    out
}
