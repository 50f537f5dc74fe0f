//! What a rubric may leave unwritten, and when: a draft from `examiner init` holds `TODO`
//! placeholders (`key: TODO`, `value: TODO`, `formula: TODO`); it loads, with the questions
//! holding one graded by hand until they are filled in, and `rubric lint` lists them. Only a
//! student edition (`student: true`) may leave keys out altogether; a full rubric must state
//! every one, which is checked on the text because the types default them.

use serde::Deserialize;

use super::{Answer, LoadError, Rubric};

/// What a key-holding field looks like in the file, read leniently: only a student edition
/// may leave keys out, so their absence is checked on the text rather than defaulted.
#[derive(Deserialize)]
struct KeysWritten {
    #[serde(default)]
    questions: Vec<QuestionKeys>,
}

#[derive(Deserialize)]
struct QuestionKeys {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    answer: Option<AnswerKeys>,
}

#[derive(Deserialize)]
struct AnswerKeys {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    statements: Vec<StatementKeys>,
    #[serde(default)]
    formula: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    key: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct StatementKeys {
    #[serde(default)]
    key: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    why: Option<serde::de::IgnoredAny>,
}

/// Every key a full rubric must state is there: each truth statement's `key` and `why`, an
/// expression's `formula`, a choice's `key`.
pub(crate) fn keys_written(
    text: &str,
    file: &str,
    positions: &[(u64, u64)],
) -> Result<(), LoadError> {
    let Ok(written) = serde_saphyr::from_str::<KeysWritten>(text) else {
        return Ok(());
    };
    for (i, q) in written.questions.iter().enumerate() {
        let Some(a) = &q.answer else { continue };
        let missing = match a.kind.as_deref() {
            Some("truth") => a
                .statements
                .iter()
                .position(|s| s.key.is_none() || s.why.is_none())
                .map(|n| format!("statement {} needs `key` (true or false) and `why`", n + 1)),
            Some("expression") if a.formula.is_none() => Some("needs its `formula`".into()),
            Some("choice") if a.key.is_none() => Some("needs its `key`".into()),
            _ => None,
        };
        if let Some(m) = missing {
            let (line, col) = positions.get(i).copied().unwrap_or((0, 0));
            return Err(LoadError {
                file: file.to_string(),
                line,
                col,
                message: format!(
                    "question `{}`: {m} (only a student edition, `student: true`, leaves keys out)",
                    q.id.as_deref().unwrap_or("?")
                ),
                snippet: None,
            });
        }
    }
    Ok(())
}

/// A value not written yet in a rubric (a draft from `examiner init`): `key: TODO`,
/// `value: TODO`, `formula: TODO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Todo {
    /// 1-based line in the file.
    pub line: u64,
    /// The field (`key`, `value`, ...).
    pub field: String,
}

fn todo_line() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^(\s*(?:-\s+)?)([A-Za-z_][\w-]*):\s*TODO\s*(#.*)?$").expect("valid")
    })
}

/// The `TODO` placeholders of a rubric's text, in file order.
pub fn todos(text: &str) -> Vec<Todo> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            todo_line().captures(l).map(|c| Todo {
                line: i as u64 + 1,
                field: c[2].to_string(),
            })
        })
        .collect()
}

/// The text with each placeholder replaced by a value of the field's type (`key: false`,
/// `value: null`); the questions holding one are then graded by hand.
pub(crate) fn fill_todos(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match todo_line().captures(line) {
            Some(c) => {
                let placeholder = match &c[2] {
                    "key" => "false",
                    "formula" | "why" | "message" => "\"TODO\"",
                    _ => "null",
                };
                out.push_str(&format!("{}{}: {placeholder}", &c[1], &c[2]));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// A question whose key is not written yet (a `TODO` inside it), or a free-text question
/// without concept rules, cannot be judged: it is loaded as `manual` (shown to the grader,
/// never a verdict).
pub(crate) fn unfinished_to_manual(rubric: &mut Rubric, positions: &[(u64, u64)], left: &[Todo]) {
    for (i, q) in rubric.questions.iter_mut().enumerate() {
        let from = positions.get(i).map_or(u64::MAX, |p| p.0);
        let to = positions.get(i + 1).map_or(u64::MAX, |p| p.0);
        let has_todo = left.iter().any(|t| t.line >= from && t.line < to);
        let no_rules = matches!(
            &q.answer,
            Answer::Concepts { rules, decision, decisions, .. }
                if rules.is_empty() && decision.is_none() && decisions.is_empty()
        );
        if has_todo || no_rules {
            q.answer = Answer::Manual {};
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{load_str, Answer};
    use super::todos;

    const HEAD: &str = "id: t\ntitle: T\nrecognise: {all: [Summary]}\nquestions:\n";

    #[test]
    fn a_draft_with_todos_loads_and_those_questions_go_to_a_person() {
        let text = format!(
            "{HEAD}  - id: tf\n    title: TF\n    points: 1\n    locate: {{start: some words here}}\n    \
             answer:\n      kind: truth\n      statements:\n        - key: TODO\n          why: ''\n\
             \x20 - id: n\n    title: N\n    points: 1\n    locate: {{start: other words here}}\n    \
             answer:\n      kind: number\n      value: TODO  # the size\n\
             \x20 - id: c\n    title: C\n    points: 1\n    locate: {{start: third words here}}\n    \
             answer: {{kind: concepts, rules: []}}\n\
             \x20 - id: done\n    title: D\n    points: 1\n    locate: {{start: last words here}}\n    \
             answer: {{kind: number, value: 3}}\n"
        );
        let left = todos(&text);
        assert_eq!(left.len(), 2);
        assert_eq!(
            (left[0].field.as_str(), left[1].field.as_str()),
            ("key", "value")
        );
        let r = load_str("draft.yaml", &text).unwrap();
        let kinds: Vec<bool> = r
            .questions
            .iter()
            .map(|q| matches!(q.answer, Answer::Manual {}))
            .collect();
        assert_eq!(kinds, [true, true, true, false]);
    }

    #[test]
    fn only_a_student_edition_leaves_keys_out() {
        let q =
            "  - id: tf\n    title: TF\n    points: 1\n    locate: {start: some words here}\n    \
                 answer: {kind: truth, statements: [{}, {}]}\n";
        let full = format!("{HEAD}{q}");
        let e = load_str("full.yaml", &full).unwrap_err();
        assert!(e.message.contains("statement 1 needs `key`"), "{e}");
        let student = format!("student: true\n{HEAD}{q}");
        let r = load_str("student.yaml", &student).unwrap();
        assert!(r.student);
        assert!(
            matches!(&r.questions[0].answer, Answer::Truth { statements } if statements.len() == 2)
        );
    }
}
