//! Reading rubric files: YAML into [`Rubric`], then the checks serde cannot express (unique
//! ids, references to code that exists, valid regular expressions). Every error says
//! `file:line:col` and what was expected.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    Answer, Bank, Decision, Question, QuestionEntry, Reference, Rubric, RubricFile, Term, TermForm,
    Within,
};

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
    // A regular file only (a FIFO or `/dev/zero` in a rubric folder would hang or never
    // end), read up to the limit whatever size the file system reports.
    let bytes = crate::notebook::open::read_regular(
        path,
        MAX_RUBRIC_BYTES,
        crate::notebook::open::Links::Follow,
    )
    .map_err(|e| match e {
        crate::notebook::IngestError::TooLarge { size, .. } => whole(format!(
            "{size} bytes is too large for a rubric (limit {MAX_RUBRIC_BYTES})"
        )),
        e => whole(format!("cannot read: {e}")),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        whole(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let mut rubric = load_str_in(&name, &text, path.parent().unwrap_or(Path::new(".")))?;
    if !rubric.student {
        rubric.lock = super::lock::read_for(path, &rubric.id).map_err(whole)?;
    }
    Ok(rubric)
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

/// Parses and validates rubric text; `file` names it in errors, and imports are read from
/// its folder.
pub fn load_str(file: &str, text: &str) -> Result<Rubric, LoadError> {
    let dir = Path::new(file).parent().unwrap_or(Path::new("."));
    load_str_in(file, text, dir)
}

/// [`load_str`] with the folder that `imports` are relative to.
pub fn load_str_in(file: &str, text: &str, dir: &Path) -> Result<Rubric, LoadError> {
    // A draft's `TODO` placeholders (see `super::todo`).
    let left = super::todo::todos(text);
    let filled;
    let text = if left.is_empty() {
        text
    } else {
        filled = super::todo::fill_todos(text);
        filled.as_str()
    };
    let written: RubricFile = serde_saphyr::from_str(text).map_err(|e| yaml_error(file, &e))?;
    let positions = positions(text);
    let (mut rubric, origins) = resolve(written, file, dir, &positions)?;
    if !rubric.student {
        super::todo::keys_written(text, file, &positions)?;
        super::todo::unfinished_to_manual(&mut rubric, &positions, &left);
    }
    validate(&rubric, file, &positions).map_err(|mut e| {
        // A question taken from a bank: say where its definition is.
        if let Some((bank, _)) = origins
            .iter()
            .find(|(_, id)| e.message.starts_with(&format!("question `{id}`:")))
        {
            e.message
                .push_str(&format!(" (the question is defined in {bank}, used here)"));
        }
        e
    })?;
    Ok(rubric)
}

/// Where each question of a rubric or bank text starts (line, column).
fn positions(text: &str) -> Vec<(u64, u64)> {
    serde_saphyr::from_str::<Positions>(text)
        .map(|p| {
            p.questions
                .iter()
                .map(|q| (q.referenced.line(), q.referenced.column()))
                .collect()
        })
        .unwrap_or_default()
}

/// Largest number of banks one rubric imports.
const MAX_IMPORTS: usize = 16;

/// Reads one bank file, named in errors as imported by `by`.
fn load_bank(path: &Path, by: &str) -> Result<(String, Bank), LoadError> {
    let name = path.display().to_string();
    let whole = |message: String| LoadError {
        file: by.to_string(),
        line: 0,
        col: 0,
        message,
        snippet: None,
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| whole(format!("cannot read the imported bank {name}: {e}")))?;
    if meta.len() > MAX_RUBRIC_BYTES {
        return Err(whole(format!("the imported bank {name} is too large")));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| whole(format!("cannot read the imported bank {name}: {e}")))?;
    let bank: Bank = serde_saphyr::from_str(&text).map_err(|e| {
        let mut err = yaml_error(&name, &e);
        err.message
            .push_str(&format!(" (in a bank imported by {by})"));
        err
    })?;
    let mut ids = BTreeSet::new();
    let places = positions(&text);
    for (i, q) in bank.questions.iter().enumerate() {
        if !ids.insert(q.id.as_str()) {
            let (line, col) = places.get(i).copied().unwrap_or((0, 0));
            return Err(LoadError {
                file: name.clone(),
                line,
                col,
                message: format!("question `{}`: this id is used twice in the bank", q.id),
                snippet: None,
            });
        }
    }
    Ok((name, bank))
}

/// Turns a rubric file into a rubric: each `use:` takes the bank's question and applies the
/// fields given. Also returns, for each question taken from a bank, the bank's name.
fn resolve(
    written: RubricFile,
    file: &str,
    dir: &Path,
    positions: &[(u64, u64)],
) -> Result<(Rubric, Vec<(String, String)>), LoadError> {
    let at = |index: usize, message: String| {
        let (line, col) = positions.get(index).copied().unwrap_or((0, 0));
        LoadError {
            file: file.to_string(),
            line,
            col,
            message,
            snippet: None,
        }
    };
    if written.imports.len() > MAX_IMPORTS {
        return Err(at(0, format!("at most {MAX_IMPORTS} imports")));
    }
    let mut banks: Vec<(String, Bank)> = Vec::new();
    for import in &written.imports {
        let path = dir.join(import);
        let (name, bank) = load_bank(&path, file)?;
        for q in &bank.questions {
            if let Some((other, _)) = banks
                .iter()
                .find(|(_, b)| b.questions.iter().any(|o| o.id == q.id))
            {
                return Err(LoadError {
                    file: file.to_string(),
                    line: 0,
                    col: 0,
                    message: format!(
                        "question `{}` is defined in two imported banks: {other} and {name}",
                        q.id
                    ),
                    snippet: None,
                });
            }
        }
        banks.push((name, bank));
    }
    let mut code = BTreeMap::new();
    for (_, bank) in &banks {
        code.extend(bank.code.clone());
    }
    code.extend(written.code);
    let mut questions = Vec::new();
    let mut origins = Vec::new();
    for (i, entry) in written.questions.into_iter().enumerate() {
        let question = match entry.uses.clone() {
            Some(id) => {
                let Some((bank_name, base)) = banks.iter().find_map(|(name, b)| {
                    b.questions.iter().find(|q| q.id == id).map(|q| (name, q))
                }) else {
                    let defined: Vec<String> = banks
                        .iter()
                        .map(|(name, b)| {
                            let ids: Vec<&str> =
                                b.questions.iter().map(|q| q.id.as_str()).collect();
                            format!("{name} defines {}", ids.join(", "))
                        })
                        .collect();
                    return Err(at(
                        i,
                        format!(
                            "`use: {id}`: no imported bank defines this question ({})",
                            if defined.is_empty() {
                                "the rubric imports no bank: add `imports: [bank/FILE.yaml]`"
                                    .to_string()
                            } else {
                                defined.join("; ")
                            }
                        ),
                    ));
                };
                if entry.id.as_ref().is_some_and(|own| *own != id) {
                    return Err(at(
                        i,
                        format!(
                            "`use: {id}` takes its id from {bank_name}; remove `id` (or write \
                             the question in full)"
                        ),
                    ));
                }
                origins.push((bank_name.clone(), id.clone()));
                apply(base.clone(), entry)
            }
            None => full(entry).map_err(|m| at(i, m))?,
        };
        questions.push(question);
    }
    Ok((
        Rubric {
            student: written.student,
            id: written.id,
            title: written.title,
            recognise: written.recognise,
            code,
            choose: written.choose,
            questions,
            lock: None,
        },
        origins,
    ))
}

/// A bank question with a variant's differences applied.
fn apply(mut q: Question, e: QuestionEntry) -> Question {
    if let Some(l) = e.locate {
        q.locate.section = l.section.or(q.locate.section);
        q.locate.number = l.number.or(q.locate.number);
        q.locate.start = l.start.or(q.locate.start);
        q.locate.end = l.end.or(q.locate.end);
        q.locate.part = l.part.or(q.locate.part);
        if !l.tags.is_empty() {
            q.locate.tags = l.tags;
        }
    }
    q.title = e.title.unwrap_or(q.title);
    q.points = e.points.unwrap_or(q.points);
    q.answer = e.answer.unwrap_or(q.answer);
    q.mistakes = e.mistakes.unwrap_or(q.mistakes);
    q.reveal = e.reveal.unwrap_or(q.reveal);
    q.required = e.required.unwrap_or(q.required);
    q.samples = e.samples.unwrap_or(q.samples);
    q
}

/// A question written in full in the rubric.
fn full(e: QuestionEntry) -> Result<Question, String> {
    let id =
        e.id.ok_or("a question needs `id` (or `use: ID` to take it from an imported bank)")?;
    let missing = |field: &str| format!("question `{id}`: missing field `{field}`");
    Ok(Question {
        title: e.title.ok_or_else(|| missing("title"))?,
        points: e.points.ok_or_else(|| missing("points"))?,
        locate: e.locate.ok_or_else(|| missing("locate"))?,
        answer: e.answer.ok_or_else(|| missing("answer"))?,
        mistakes: e.mistakes.unwrap_or_default(),
        reveal: e.reveal.unwrap_or_default(),
        required: e.required.unwrap_or(true),
        samples: e.samples.unwrap_or_default(),
        id,
    })
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
            Answer::Gradient(g) => {
                if !rubric.code.contains_key(&g.code) {
                    return Err(here(format!(
                        "the gradient uses code `{}`, which the rubric's `code:` does not \
                         define (it defines: {})",
                        g.code,
                        list(rubric.code.keys())
                    )));
                }
                if g.parts.is_empty() {
                    return Err(here("a gradient answer needs at least one part".into()));
                }
                if !g.sizes.contains_key(&g.samples) {
                    return Err(here(format!(
                        "`samples: {}` is not one of the sizes",
                        g.samples
                    )));
                }
                for p in &g.parts {
                    if !g.inputs.contains_key(&p.tensor) {
                        return Err(here(format!(
                            "part `{}` differentiates `{}`, which is not an input",
                            p.wrt, p.tensor
                        )));
                    }
                    if p.accept.is_empty() {
                        return Err(here(format!("part `{}` accepts no formula", p.wrt)));
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
                rules,
                forbidden,
                decision,
                decisions,
                ..
            } => {
                if rules.is_empty() {
                    return Err(here("a concepts answer needs at least one rule".into()));
                }
                for rule in rules.iter().chain(forbidden) {
                    let concept = |m: String| here(format!("concept `{}`: {m}", rule.name));
                    if rule.any.is_empty() && rule.regex.is_empty() {
                        return Err(concept(
                            "needs `any` (terms) or `regex` (regular expressions)".into(),
                        ));
                    }
                    if rule.part == Some(0) {
                        return Err(concept("parts are numbered from 1".into()));
                    }
                    if !(rule.weight.is_finite() && rule.weight >= 0.0) {
                        return Err(concept(format!("weight {} is not >= 0", rule.weight)));
                    }
                    for term in &rule.any {
                        term_error(term).map_or(Ok(()), |m| Err(concept(m)))?;
                    }
                    for pattern in &rule.regex {
                        regex::RegexBuilder::new(pattern)
                            .case_insensitive(true)
                            .build()
                            .map_err(|e| concept(format!("bad regex: {e}")))?;
                    }
                }
                let all: Vec<&Decision> = decision.iter().chain(decisions).collect();
                if decision.is_some() && !decisions.is_empty() {
                    return Err(here(
                        "give `decision` (one) or `decisions` (several), not both".into(),
                    ));
                }
                for d in all {
                    decision_error(d).map_or(Ok(()), |m| Err(here(m)))?;
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

/// What is wrong with a term of the rule language, if anything.
fn term_error(term: &Term) -> Option<String> {
    use crate::answer::meaning::{formula_error, phrase_error};
    match term {
        Term::Phrase(p) => phrase_error(p),
        Term::Form(TermForm {
            phrase,
            near,
            within,
            expr,
            ..
        }) => {
            let given = usize::from(phrase.is_some())
                + usize::from(near.is_some())
                + usize::from(expr.is_some());
            if given != 1 {
                return Some("a term needs exactly one of `phrase`, `near` and `expr`".to_string());
            }
            if within.is_some() && near.is_none() {
                return Some("`within` goes with `near`".to_string());
            }
            match within {
                Some(Within::Words(0)) => {
                    return Some("`within` must be at least 1 word".to_string())
                }
                Some(Within::Sentence(s)) if s != "sentence" && s != "clause" => {
                    return Some(format!(
                        "`within: {s}`: write a number of words, `clause` or `sentence`"
                    ))
                }
                _ => {}
            }
            if let Some(p) = phrase {
                return phrase_error(p);
            }
            if let Some(items) = near {
                if items.len() < 2 {
                    return Some("`near` needs at least two phrases".to_string());
                }
                return items.iter().find_map(|p| phrase_error(p));
            }
            expr.as_deref().and_then(formula_error)
        }
    }
}

/// What is wrong with a decision, if anything.
fn decision_error(d: &Decision) -> Option<String> {
    let name = d.name.as_deref().unwrap_or("decision");
    let yes_no = |o: &str| matches!(o, "yes" | "no");
    if d.options.is_empty() && !yes_no(&d.expect) {
        return Some(format!(
            "{name}: `options` must say how each choice is written (only yes/no is read \
             without them)"
        ));
    }
    let known = |o: &str| d.options.contains_key(o) || (d.options.is_empty() && yes_no(o));
    if !known(&d.expect) {
        return Some(format!(
            "{name}: `expect: {}` is not one of the options ({})",
            d.expect,
            list(d.options.keys())
        ));
    }
    if let Some(a) = d.also.iter().find(|a| !known(&a.expect)) {
        return Some(format!(
            "{name}: `also` names `{}`, which is not one of the options ({})",
            a.expect,
            list(d.options.keys())
        ));
    }
    if let Some(cap) = d.cap {
        if !(0.0..=1.0).contains(&cap) {
            return Some(format!("{name}: cap {cap} is not between 0 and 1"));
        }
    }
    if !(d.weight.is_finite() && d.weight >= 0.0) {
        return Some(format!("{name}: weight {} is not >= 0", d.weight));
    }
    if d.part == Some(0) {
        return Some(format!("{name}: parts are numbered from 1"));
    }
    d.options
        .values()
        .flatten()
        .chain(d.also.iter().flat_map(|a| &a.when))
        .find_map(term_error)
        .map(|m| format!("{name}: {m}"))
}
