//! Reading rubric files: YAML into [`Rubric`], then the checks serde cannot express (unique
//! ids, references to code that exists, valid regular expressions). Every error says
//! `file:line:col` and what was expected.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Answer, Reference, Rubric};

/// Largest rubric file read (rubrics are a few kilobytes).
const MAX_RUBRIC_BYTES: u64 = 4 << 20;

/// A rubric that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct LoadError {
    pub file: String,
    /// 1-based; 0 when the error is about the whole file.
    pub line: u64,
    pub col: u64,
    pub message: String,
    /// The offending lines with a marker, when known.
    pub snippet: Option<String>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.col, self.message
            )?;
        } else {
            write!(f, "{}: {}", self.file, self.message)?;
        }
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        Ok(())
    }
}

/// Reads one rubric file.
pub fn load_file(path: &Path) -> Result<Rubric, LoadError> {
    let name = path.display().to_string();
    let whole = |message: String| LoadError {
        file: name.clone(),
        line: 0,
        col: 0,
        message,
        snippet: None,
    };
    let meta = std::fs::metadata(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    if meta.len() > MAX_RUBRIC_BYTES {
        return Err(whole(format!(
            "{} bytes is too large for a rubric (limit {MAX_RUBRIC_BYTES})",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        whole(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    load_str(&name, &text)
}

/// Reads every `*.yaml` / `*.yml` rubric in `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Rubric)>, LoadError> {
    let whole = |message: String| LoadError {
        file: dir.display().to_string(),
        line: 0,
        col: 0,
        message,
        snippet: None,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| whole(format!("cannot read the rubric folder: {e}")))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(whole("no rubric (*.yaml) in this folder".to_string()));
    }
    paths
        .into_iter()
        .map(|p| load_file(&p).map(|r| (p, r)))
        .collect()
}

/// Where each question starts in the file, read in a second, lenient pass.
#[derive(Deserialize)]
struct Positions {
    #[serde(default)]
    questions: Vec<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
}

/// Parses and validates rubric text; `file` names it in errors.
pub fn load_str(file: &str, text: &str) -> Result<Rubric, LoadError> {
    // A draft's `TODO` placeholders (see `super::todo`).
    let left = super::todo::todos(text);
    let filled;
    let text = if left.is_empty() {
        text
    } else {
        filled = super::todo::fill_todos(text);
        filled.as_str()
    };
    let mut rubric: Rubric = serde_saphyr::from_str(text).map_err(|e| yaml_error(file, &e))?;
    let positions: Vec<(u64, u64)> = serde_saphyr::from_str::<Positions>(text)
        .map(|p| {
            p.questions
                .iter()
                .map(|q| (q.referenced.line(), q.referenced.column()))
                .collect()
        })
        .unwrap_or_default();
    if !rubric.student {
        super::todo::keys_written(text, file, &positions)?;
        super::todo::unfinished_to_manual(&mut rubric, &positions, &left);
    }
    validate(&rubric, file, &positions)?;
    Ok(rubric)
}

fn yaml_error(file: &str, e: &serde_saphyr::Error) -> LoadError {
    let text = e.to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    // "error: line 6 column 5: unknown field ..." -> "unknown field ..."
    let message = first
        .trim_start_matches("error: ")
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("line "))
        .map_or(first, |(_, rest)| rest)
        .to_string();
    let snippet: Vec<String> = lines
        .filter(|l| !l.trim_start().starts_with("-->"))
        .map(str::to_string)
        .collect();
    let (line, col) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    LoadError {
        file: file.to_string(),
        line,
        col,
        message,
        snippet: (!snippet.is_empty()).then(|| snippet.join("\n")),
    }
}

fn validate(rubric: &Rubric, file: &str, positions: &[(u64, u64)]) -> Result<(), LoadError> {
    let at = |index: Option<usize>, message: String| {
        let (line, col) = index
            .and_then(|i| positions.get(i).copied())
            .unwrap_or((0, 0));
        LoadError {
            file: file.to_string(),
            line,
            col,
            message,
            snippet: None,
        }
    };
    if rubric.questions.is_empty() {
        return Err(at(None, "the rubric has no questions".into()));
    }
    if rubric.recognise.all.is_empty() {
        return Err(at(
            None,
            "`recognise.all` needs at least one snippet that every notebook of this question \
             set contains"
                .into(),
        ));
    }
    let mut ids = BTreeSet::new();
    for (i, q) in rubric.questions.iter().enumerate() {
        let here = |message: String| at(Some(i), format!("question `{}`: {message}", q.id));
        if !ids.insert(q.id.as_str()) {
            return Err(here("this id is used twice".into()));
        }
        if q.locate.start.is_none() && q.locate.number.is_none() && q.locate.tags.is_empty() {
            return Err(here(
                "`locate` needs `start` (a snippet of the question), `number`, or `tags`".into(),
            ));
        }
        if !(q.points.is_finite() && q.points >= 0.0) {
            return Err(here(format!(
                "points must be a number >= 0, not {}",
                q.points
            )));
        }
        let code_ref = |r: &Reference| -> Result<(), LoadError> {
            let name = match r {
                Reference::ReceptiveField { code, .. }
                | Reference::Shape { code, .. }
                | Reference::Dropout { code, .. }
                | Reference::Parameters { code, .. } => code,
            };
            if rubric.code.contains_key(name) {
                Ok(())
            } else {
                Err(here(format!(
                    "the reference uses code `{name}`, which the rubric's `code:` does not \
                     define (it defines: {})",
                    list(rubric.code.keys())
                )))
            }
        };
        match &q.answer {
            // A student edition has kinds without keys.
            _ if rubric.student => {}
            Answer::Number {
                value, reference, ..
            } => {
                match (value, reference) {
                    (None, None) => {
                        return Err(here(
                            "a number answer needs `reference` (a computation) or `value`".into(),
                        ))
                    }
                    (Some(_), Some(_)) => {
                        return Err(here(
                            "give `reference` or `value`, not both (use `expect` to state the \
                             value a computation must give)"
                                .into(),
                        ))
                    }
                    _ => {}
                }
                if let Some(r) = reference {
                    code_ref(r)?;
                }
            }
            Answer::Shape {
                value, reference, ..
            } => {
                if value.is_none() == reference.is_none() {
                    return Err(here(
                        "a shape answer needs exactly one of `reference` and `value`".into(),
                    ));
                }
                if let Some(r) = reference {
                    code_ref(r)?;
                }
            }
            Answer::Expression {
                reference,
                variables,
                ..
            } => {
                if let Some(r) = reference {
                    code_ref(r)?;
                }
                if variables.is_empty() {
                    return Err(here("an expression answer needs its `variables`".into()));
                }
                for (name, [lo, hi]) in variables {
                    // Written so that a NaN bound is refused too.
                    if lo.partial_cmp(hi) != Some(std::cmp::Ordering::Less) {
                        return Err(here(format!(
                            "variable `{name}`: range [{lo}, {hi}] is empty"
                        )));
                    }
                }
            }
            Answer::Truth { statements } if statements.is_empty() => {
                return Err(here("a truth answer needs at least one statement".into()))
            }
            Answer::Choice { options, key } if !options.contains(key) => {
                return Err(here(format!(
                    "the key `{key}` is not one of the options ({})",
                    list(options.iter())
                )))
            }
            Answer::Concepts {
                rules, forbidden, ..
            } => {
                for rule in rules.iter().chain(forbidden) {
                    for pattern in &rule.any {
                        regex::RegexBuilder::new(pattern)
                            .case_insensitive(true)
                            .build()
                            .map_err(|e| {
                                here(format!("concept `{}`: bad pattern: {e}", rule.name))
                            })?;
                    }
                }
            }
            _ => {}
        }
        for m in &q.mistakes {
            if m.value.is_none() == m.pattern.is_none() {
                return Err(here(format!(
                    "mistake \"{}\" needs exactly one of `value` and `pattern`",
                    m.message
                )));
            }
            if let Some(p) = &m.pattern {
                regex::Regex::new(p).map_err(|e| here(format!("mistake pattern `{p}`: {e}")))?;
            }
            if !(0.0..=1.0).contains(&m.score) {
                return Err(here(format!(
                    "mistake score {} is not between 0 and 1",
                    m.score
                )));
            }
        }
        for s in &q.samples {
            const STATUSES: [&str; 7] = [
                "correct",
                "partial",
                "wrong",
                "missing",
                "unparseable",
                "needs-review",
                "ungraded",
            ];
            if !STATUSES.contains(&s.status.as_str()) {
                return Err(here(format!(
                    "sample status `{}` is not one of {}",
                    s.status,
                    STATUSES.join(", ")
                )));
            }
        }
    }
    for c in &rubric.choose {
        if let Some(unknown) = c.questions.iter().find(|id| !ids.contains(id.as_str())) {
            return Err(at(
                None,
                format!("`choose` names question `{unknown}`, which does not exist"),
            ));
        }
        if c.count == 0 || c.count > c.questions.len() {
            return Err(at(
                None,
                format!(
                    "`choose` asks for {} of {} questions",
                    c.count,
                    c.questions.len()
                ),
            ));
        }
    }
    Ok(())
}

fn list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<String> = items.map(|s| format!("`{s}`")).collect();
    if v.is_empty() {
        "nothing".into()
    } else {
        v.join(", ")
    }
}
