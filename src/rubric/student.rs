//! The student edition of a rubric (`examiner rubric student`): what a student needs for a
//! self-check and nothing that gives an answer away. It keeps how the question set is
//! recognised, the question's own code (to tell template cells from answers), and per
//! question its id, title, points, locator and answer kind with the shape of the answer
//! (how many true/false statements, a formula's name and variables, a choice's options). It
//! drops every key (values, computations, formulas, true/false keys and their reasons,
//! concept rules), known mistakes, feedback and samples. Whatever the source rubric pulled
//! in from elsewhere is already part of the loaded [`Rubric`] and is written out inline.

use std::fmt::Write as _;

use super::{Answer, Rubric};

/// A YAML scalar: single-quoted, or double-quoted with escapes when it spans lines (a
/// JSON string is a valid YAML double-quoted scalar).
fn q(s: &str) -> String {
    if s.chars().any(char::is_control) {
        serde_json::to_string(s).unwrap_or_default()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// The student edition of `rubric`, as YAML that loads with `student: true`.
pub fn student_edition(rubric: &Rubric) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Student edition of `{}`, for `examiner check --rubric THIS_FILE`.",
        rubric.id
    );
    let _ = writeln!(
        out,
        "# It holds no answer keys: checking shows what examiner finds and reads in a notebook,"
    );
    let _ = writeln!(out, "# never whether it is right.");
    let _ = writeln!(out, "student: true");
    let _ = writeln!(out, "id: {}", q(&rubric.id));
    let _ = writeln!(out, "title: {}", q(&rubric.title));
    let _ = writeln!(out, "recognise:");
    let _ = writeln!(out, "  all:");
    for s in &rubric.recognise.all {
        let _ = writeln!(out, "    - {}", q(s));
    }
    if !rubric.recognise.none.is_empty() {
        let _ = writeln!(out, "  none:");
        for s in &rubric.recognise.none {
            let _ = writeln!(out, "    - {}", q(s));
        }
    }
    if !rubric.code.is_empty() {
        let _ = writeln!(out, "code:  # the questions' own code, as handed out");
        for (name, code) in &rubric.code {
            let _ = writeln!(out, "  {}: {}", q(name), q(code));
        }
    }
    if !rubric.choose.is_empty() {
        let _ = writeln!(out, "choose:");
        for c in &rubric.choose {
            let ids: Vec<String> = c.questions.iter().map(|s| q(s)).collect();
            let _ = writeln!(out, "  - count: {}", c.count);
            let _ = writeln!(out, "    questions: [{}]", ids.join(", "));
            if let Some(r) = &c.rule {
                let _ = writeln!(out, "    rule: {}", q(r));
            }
        }
    }
    let _ = writeln!(out, "questions:");
    for question in &rubric.questions {
        let l = &question.locate;
        let _ = writeln!(out, "  - id: {}", q(&question.id));
        let _ = writeln!(out, "    title: {}", q(&question.title));
        let _ = writeln!(out, "    points: {}", question.points);
        if !question.required {
            let _ = writeln!(out, "    required: false");
        }
        let _ = writeln!(out, "    locate:");
        for (field, value) in [
            ("section", &l.section),
            ("number", &l.number),
            ("start", &l.start),
            ("end", &l.end),
        ] {
            if let Some(v) = value {
                let _ = writeln!(out, "      {field}: {}", q(v));
            }
        }
        if !l.tags.is_empty() {
            let tags: Vec<String> = l.tags.iter().map(|t| q(t)).collect();
            let _ = writeln!(out, "      tags: [{}]", tags.join(", "));
        }
        if let Some(p) = l.part {
            let _ = writeln!(out, "      part: {p}");
        }
        let answer = match &question.answer {
            Answer::Number { .. } => "{kind: number}".to_string(),
            Answer::Shape { .. } => "{kind: shape}".to_string(),
            Answer::Expression {
                name, variables, ..
            } => {
                let vars: Vec<String> = variables
                    .iter()
                    .map(|(v, [lo, hi])| format!("{}: [{lo}, {hi}]", q(v)))
                    .collect();
                let name = name
                    .as_ref()
                    .map(|n| format!(", name: {}", q(n)))
                    .unwrap_or_default();
                format!(
                    "{{kind: expression{name}, variables: {{{}}}}}",
                    vars.join(", ")
                )
            }
            Answer::Truth { statements } => {
                // The statements' own words (course material) stay; keys and reasons go.
                let items: Vec<String> = statements
                    .iter()
                    .map(|s| match &s.text {
                        Some(t) => format!("{{text: {}}}", q(t)),
                        None => "{}".to_string(),
                    })
                    .collect();
                format!("{{kind: truth, statements: [{}]}}", items.join(", "))
            }
            Answer::Choice { options, .. } => {
                let opts: Vec<String> = options.iter().map(|o| q(o)).collect();
                format!("{{kind: choice, options: [{}]}}", opts.join(", "))
            }
            Answer::Concepts { .. } => "{kind: concepts, rules: []}".to_string(),
            Answer::RunsClean {} => "{kind: runs-clean}".to_string(),
            Answer::Manual {} => "{kind: manual}".to_string(),
            // A gradient key is its accepted formulas: the student edition only finds the answer.
            Answer::Gradient(_) => "{kind: manual}".to_string(),
        };
        let _ = writeln!(out, "    answer: {answer}");
    }
    out
}
