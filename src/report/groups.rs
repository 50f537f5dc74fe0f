//! Answer groups by meaning ([`crate::grading::groups`]) for the TA: `groups.json` (the data,
//! for the review page and scripts) and `groups.md` (per question, each group's representative
//! answer, size, range of automatic points and members, largest group first).

use std::fmt::Write;

use crate::grading::groups::{QuestionGroups, THRESHOLD};
use crate::rubric::keys::format_points;

use super::escape::{fence, markdown, truncate};

/// At most this many characters of a representative answer are quoted.
const ANSWER_SHOWN: usize = 800;

/// `groups.json`: `{"threshold": 0.25, "questions": [QuestionGroups...]}`.
pub fn json(groups: &[QuestionGroups]) -> String {
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        threshold: f64,
        questions: &'a [QuestionGroups],
    }
    let mut out = serde_json::to_string_pretty(&Doc {
        threshold: THRESHOLD,
        questions: groups,
    })
    .expect("groups serialise to JSON");
    out.push('\n');
    out
}

/// One line per question for the terminal: answers, groups, and the largest group's size.
pub fn summary(groups: &[QuestionGroups]) -> String {
    let mut out = format!("\nAnswer groups by meaning (cosine distance < {THRESHOLD}):\n");
    for q in groups {
        let _ = writeln!(
            out,
            "  {}/{}: {} answers in {} groups (largest {})",
            q.rubric,
            q.question,
            q.answers,
            q.groups.len(),
            q.groups.first().map_or(0, |g| g.size)
        );
    }
    out
}

/// `groups.md`.
pub fn markdown_doc(groups: &[QuestionGroups]) -> String {
    let mut out = String::from("# Answer groups\n\n");
    let _ = writeln!(
        out,
        "Free-text answers grouped by meaning (all-MiniLM-L6-v2 embeddings, average-linkage \
         clustering, cosine distance below {THRESHOLD}). Read the representative answer, check \
         the members, and grade the group.\n"
    );
    for q in groups {
        let _ = writeln!(
            out,
            "## {} / {}{}\n\n{} answers in {} groups.\n",
            markdown(&q.rubric),
            markdown(&q.question),
            if q.title.is_empty() {
                String::new()
            } else {
                format!(": {}", markdown(&q.title))
            },
            q.answers,
            q.groups.len()
        );
        for (i, g) in q.groups.iter().enumerate() {
            let range = match (g.min_points, g.max_points) {
                (Some(a), Some(b)) if (a - b).abs() < 1e-9 => {
                    format!("{} points", format_points(a))
                }
                (Some(a), Some(b)) => {
                    format!("{} to {} points", format_points(a), format_points(b))
                }
                _ => "not scored automatically".to_string(),
            };
            let _ = writeln!(
                out,
                "### Group {} ({} answer{}, {range}, cohesion {:.2})\n",
                i + 1,
                g.size,
                if g.size == 1 { "" } else { "s" },
                g.cohesion
            );
            let (shown, more) = truncate(g.text.trim(), ANSWER_SHOWN);
            let ticks = fence(shown);
            let _ = writeln!(
                out,
                "Representative ({}):\n\n{ticks}text\n{shown}\n{ticks}\n",
                markdown(&g.representative)
            );
            if more > 0 {
                let _ = writeln!(out, "*({more} more characters not shown)*\n");
            }
            let members: Vec<String> = g
                .members
                .iter()
                .map(|m| {
                    format!(
                        "{} ({}, {:.2})",
                        markdown(&m.student),
                        m.points.map_or_else(|| m.status.to_string(), format_points),
                        m.similarity
                    )
                })
                .collect();
            let _ = writeln!(out, "Members: {}\n", members.join(", "));
        }
    }
    out
}
