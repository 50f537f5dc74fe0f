//! A draft rubric from a blank course template (`examiner init`).
//!
//! The template's layout is read as course templates are written: headings (`##`, `###`)
//! open sections; in a section, a markdown cell that begins with a number (`3. ...`) or a
//! bullet (`* ...`) opens a question, and the cells after it (more text, the question's code)
//! belong to it until the next question or heading; a section whose first text cell is not
//! numbered is one question. Lines numbered *inside* a question (`  1. ...`) are its items:
//! the statements of a true/false question, or sub-parts.
//!
//! Each question gets `locate` snippets from its own first and last words, lengthened until
//! they occur once in the template; an answer kind guessed from the wording, with the reason
//! in a comment; the code cells it shows as `code:` entries; and, where a computation
//! applies to that code (a conv stack's receptive field, a named tensor's shape, stacked
//! dropouts, a model's number of parameters), a `reference:` with the value computed now
//! shown as a comment. What the draft cannot know (true/false keys, formulas, typed values)
//! is written `TODO`, which the loader accepts as "not written yet" (see [`crate::rubric::todos`])
//! and `rubric lint` lists.
//!
//! `recognise` is chosen against the other rubrics: a snippet of a rubric whose question set
//! would otherwise also match goes into `none`, and a question this template has and that
//! rubric lacks goes into `all`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use regex::Regex;

use crate::extract::text::{normalize, Stream};
use crate::notebook::{CellKind, Notebook};
use crate::reference::cache::Cache;
use crate::rubric::{Answer, Locate, Question, Recognise, Reference, Rubric};

/// Longest snippet tried, in words.
const MAX_SNIPPET_WORDS: usize = 14;
/// Shortest snippet, in words, unless the text is shorter: a few common words could also
/// occur in an answer.
const MIN_SNIPPET_WORDS: usize = 7;

/// A drafted rubric: its YAML text and what it holds.
#[derive(Debug, Clone)]
pub struct Draft {
    pub yaml: String,
    pub questions: usize,
    pub todos: usize,
    pub references: usize,
}

/// One question as laid out in the template.
#[derive(Debug, Clone)]
struct Found {
    section: Option<String>,
    /// The number as printed, when the question is numbered.
    printed: Option<String>,
    /// Markdown text of the question, cell by cell.
    texts: Vec<String>,
    /// Code cells shown in the question.
    code: Vec<String>,
}

fn re(pattern: &str, slot: &'static OnceLock<Regex>) -> &'static Regex {
    slot.get_or_init(|| Regex::new(pattern).expect("valid pattern"))
}

fn numbered_start() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(r"^(\d{1,2})[.)]\s+", &RE)
}

fn bullet_start() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(r"^[*\-+]\s+", &RE)
}

fn item_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(r"^\s*(\d{1,2}|[a-hA-H]|[ivx]{1,4})[.)]\s+\S", &RE)
}

/// Splits the template into sections and questions.
fn layout(notebook: &Notebook) -> (Option<String>, Vec<Found>) {
    let mut title = None;
    let mut section: Option<String> = None;
    let mut questions: Vec<Found> = Vec::new();
    // Whether the current section already has a question (code and text join it).
    let mut open = false;
    for cell in &notebook.cells {
        match cell.kind {
            CellKind::Code => {
                if open {
                    if let Some(q) = questions.last_mut() {
                        q.code.push(cell.source.clone());
                    }
                }
            }
            CellKind::Raw => {}
            CellKind::Markdown => {
                let mut body = Vec::new();
                for line in cell.source.lines() {
                    let t = line.trim_start();
                    let hashes = t.chars().take_while(|&c| c == '#').count();
                    if hashes > 0 && t[hashes..].starts_with(' ') {
                        let text = t[hashes..].trim().to_string();
                        if hashes == 1 {
                            title.get_or_insert(text);
                        } else {
                            section = Some(text);
                            open = false;
                        }
                    } else {
                        body.push(line);
                    }
                }
                let text = body.join("\n").trim().to_string();
                if text.is_empty() || section.is_none() {
                    continue;
                }
                let numbered = numbered_start().captures(&text).map(|c| c[1].to_string());
                if numbered.is_some() || bullet_start().is_match(&text) || !open {
                    questions.push(Found {
                        section: section.clone(),
                        printed: numbered,
                        texts: vec![text],
                        code: Vec::new(),
                    });
                    open = true;
                } else if let Some(q) = questions.last_mut() {
                    q.texts.push(text);
                }
            }
        }
    }
    (title, questions)
}

/// How many times `snippet` occurs in the template's text (as the locator matches).
fn occurrences(stream: &Stream, snippet: &str) -> usize {
    let needle = normalize(snippet);
    if needle.is_empty() {
        return 0;
    }
    stream.normalized.matches(needle.as_str()).count()
}

/// Words of a line usable in a snippet: no display-math or fence lines.
fn prose_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_math = false;
    let mut in_fence = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if t.starts_with("$$") {
            // `$$ x $$` on one line is a formula; `$$` alone toggles a block.
            if !t.strip_prefix("$$").is_some_and(|r| r.contains("$$")) {
                in_math = !in_math;
            }
            continue;
        }
        if in_math || in_fence || t.is_empty() || t.starts_with('<') || t.starts_with('!') {
            continue;
        }
        out.push(t.to_string());
    }
    out
}

/// The first words of the question that occur once in the template.
fn start_snippet(stream: &Stream, first: &str) -> Option<String> {
    let cleaned = first.replace("**", "");
    let lines = prose_lines(&cleaned);
    let mut words: Vec<&str> = Vec::new();
    for l in &lines {
        words.extend(l.split_whitespace());
    }
    // Drop the question's own number or bullet.
    let mut first_line = lines.first().map_or(0, |l| l.split_whitespace().count());
    if let Some(w) = words.first() {
        if numbered_start().is_match(&format!("{w} ")) || matches!(*w, "*" | "-" | "+") {
            words.remove(0);
            first_line = first_line.saturating_sub(1);
        }
    }
    // Within the first line when it is distinctive enough, else running on.
    let cut = first_line.min(words.len());
    unique_run(stream, &words[..cut], false).or_else(|| unique_run(stream, &words, false))
}

/// The last words of the question that occur once in the template.
fn end_snippet(stream: &Stream, texts: &[String]) -> Option<String> {
    let last = texts.iter().rev().find(|t| !prose_lines(t).is_empty())?;
    let last = last.replace("**", "");
    let lines = prose_lines(&last);
    let words: Vec<&str> = lines.last()?.split_whitespace().collect();
    unique_run(stream, &words, true).or_else(|| {
        let all: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        unique_run(stream, &all, true)
    })
}

/// The shortest run of at least five words (fewer if the text is shorter) from the start (or,
/// with `from_end`, the end) of `words` that occurs exactly once. Runs never end inside an
/// inline formula.
fn unique_run(stream: &Stream, words: &[&str], from_end: bool) -> Option<String> {
    let balanced = |s: &str| {
        s.matches('$').count().is_multiple_of(2) && s.matches('`').count().is_multiple_of(2)
    };
    let min = words.len().clamp(1, MIN_SNIPPET_WORDS);
    for n in min..=words.len().min(MAX_SNIPPET_WORDS) {
        let run = if from_end {
            &words[words.len() - n..]
        } else {
            &words[..n]
        };
        let s = run.join(" ");
        let s = s.trim_end_matches([':', ',']).to_string();
        if balanced(&s) && normalize(&s).len() >= 12 && occurrences(stream, &s) == 1 {
            return Some(s);
        }
    }
    None
}

/// The kind guessed for a question (or one of its parts), and why.
#[derive(Debug, Clone, PartialEq)]
enum Guess {
    Truth(usize),
    Expression { name: String, vars: Vec<String> },
    Number,
    Shape,
    RunsClean,
    Concepts,
}

fn guess(text: &str, items: usize) -> (Guess, String) {
    static TRUTH: OnceLock<Regex> = OnceLock::new();
    static EXPR: OnceLock<Regex> = OnceLock::new();
    static SHAPE: OnceLock<Regex> = OnceLock::new();
    static NUMBER: OnceLock<Regex> = OnceLock::new();
    static CODE: OnceLock<Regex> = OnceLock::new();
    let t = normalize(text);
    if re(r"true or false", &TRUTH).is_match(&t) {
        let n = items.max(1);
        return (
            Guess::Truth(n),
            format!("asks \"true or false\" about {n} statement(s)"),
        );
    }
    if let Some(c) = re(
        r"expression for (\w+) in terms of ([\w ,]+?)(?:[.?]|$)",
        &EXPR,
    )
    .captures(&t)
    {
        let vars = c[2]
            .split([',', ' '])
            .map(str::trim)
            .filter(|v| !v.is_empty() && *v != "and")
            .map(str::to_string)
            .collect();
        return (
            Guess::Expression {
                name: c[1].to_string(),
                vars,
            },
            "asks for \"an expression for ... in terms of ...\"".into(),
        );
    }
    if re(
        r"(what (is|are|would be) the (\w+ )?shape|\bwhat shape\b|\boutput shape\b|\bshape of \w+ (is|be)\b)",
        &SHAPE,
    )
    .is_match(&t)
    {
        return (Guess::Shape, "asks what a shape is".into());
    }
    if re(
        r"(what is the size|how many|\b(compute|calculate) (the )?(value|number|size|total|result)\b)",
        &NUMBER,
    )
    .is_match(&t)
    {
        return (
            Guess::Number,
            "asks for a size, a count or a computed value".into(),
        );
    }
    if re(
        r"(\bwrite\b[^.?]*\b(code|snippet|function)\b|\bimplement\b[^.?]*\b(code cell|\.py|in code)\b|\bimplement the above\b)",
        &CODE,
    )
    .is_match(&t)
    {
        return (Guess::RunsClean, "asks to write or implement code".into());
    }
    (
        Guess::Concepts,
        "no short answer asked for: free text".into(),
    )
}

/// The items (numbered lines after the first line) of a question's text.
fn items(texts: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (ci, text) in texts.iter().enumerate() {
        for (li, line) in text.lines().enumerate() {
            if ci == 0 && li == 0 {
                continue;
            }
            if item_line().is_match(line) {
                out.push(line.trim().to_string());
            } else if let Some(last) = out.last_mut() {
                if !line.trim().is_empty() && line.starts_with(' ') {
                    last.push(' ');
                    last.push_str(line.trim());
                }
            }
        }
    }
    out
}

/// A name for a code cell: the model or tensor it builds.
fn code_name(code: &str, taken: &BTreeMap<String, String>, fallback: &str) -> String {
    static SEQ: OnceLock<Regex> = OnceLock::new();
    static MODULE: OnceLock<Regex> = OnceLock::new();
    static DEF: OnceLock<Regex> = OnceLock::new();
    let base = [
        re(r"(?m)^(\w+)\s*=\s*nn\.Sequential", &SEQ),
        re(r"(?m)^(\w+)\s*=\s*nn\.[A-Z]\w*\(", &MODULE),
        re(r"(?m)^def\s+(\w+)", &DEF),
    ]
    .iter()
    .find_map(|r| r.captures(code).map(|c| c[1].to_string()))
    .unwrap_or_else(|| fallback.to_string());
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains_key(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

/// Identifiers in backticks that the code assigns.
fn named_tensor(text: &str, code: &str) -> Option<String> {
    static TICK: OnceLock<Regex> = OnceLock::new();
    re(r"`([A-Za-z_]\w*)`", &TICK)
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .find(|name| {
            code.lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} =")))
        })
}

/// The computation a question's code allows, with its value as text.
fn computation(
    kind: &Guess,
    text: &str,
    code_name: &str,
    code: &str,
    cache: &Cache,
) -> Option<(Reference, String)> {
    let t = normalize(text);
    let candidate = if matches!(kind, Guess::Number)
        && t.contains("parameters")
        && (t.contains("how many") || t.contains("number of"))
        && code.contains("nn.")
    {
        Some(Reference::Parameters {
            code: code_name.into(),
            model: None,
            layer: None,
            trainable: false,
        })
    } else if matches!(kind, Guess::Number) && t.contains("receptive field") {
        code.contains("Conv2d").then(|| Reference::ReceptiveField {
            code: code_name.into(),
            model: None,
        })
    } else if matches!(kind, Guess::Shape) {
        named_tensor(text, code).map(|name| Reference::Shape {
            code: code_name.into(),
            name: Some(name),
        })
    } else if matches!(kind, Guess::Number | Guess::Expression { .. }) {
        (code.matches("Dropout(").count() >= 2).then(|| Reference::Dropout {
            code: code_name.into(),
            model: None,
        })
    } else {
        None
    }?;
    let answer = match candidate {
        Reference::Shape { .. } => Answer::Shape {
            value: None,
            reference: Some(candidate.clone()),
            expect: None,
        },
        _ => Answer::Number {
            value: None,
            reference: Some(candidate.clone()),
            expect: None,
            abs_tol: None,
            rel_tol: None,
        },
    };
    let probe = Rubric {
        student: false,
        id: "probe".into(),
        title: "probe".into(),
        recognise: Recognise {
            all: vec!["probe".into()],
            none: Vec::new(),
        },
        code: BTreeMap::from([(code_name.to_string(), code.to_string())]),
        choose: Vec::new(),
        questions: vec![Question {
            id: "probe".into(),
            title: "probe".into(),
            points: 1.0,
            locate: Locate {
                start: Some("probe".into()),
                ..Locate::default()
            },
            answer,
            mistakes: Vec::new(),
            reveal: crate::rubric::Reveal::Extracted,
            required: true,
            samples: Vec::new(),
        }],
        lock: None,
    };
    let keys = crate::rubric::keys::resolve(&probe, cache).ok()?;
    let value = keys.get("probe")?.display();
    Some((candidate, value))
}

/// A YAML scalar: single-quoted, or JSON-quoted when it holds control characters.
fn q(s: &str) -> String {
    if s.chars().any(char::is_control) {
        serde_json::to_string(s).unwrap_or_default()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// A short id from words of the question.
fn slug(section: Option<&str>, number: &str, used: &mut Vec<String>) -> String {
    let base: String = section
        .unwrap_or("q")
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join("-");
    let base = if base.is_empty() { "q".into() } else { base };
    let mut id = format!("{base}-{number}");
    let mut n = 2;
    while used.contains(&id) {
        id = format!("{base}-{number}-{n}");
        n += 1;
    }
    used.push(id.clone());
    id
}

/// What the recogniser knows of this template's questions: its section headings, and per
/// question its start snippet and whole normalised text.
struct Ours<'a> {
    sections: Vec<&'a str>,
    questions: Vec<(String, String)>,
}

/// Chooses `recognise` snippets that tell this template apart from `others`. Each other
/// rubric is known by its own snippets (its `recognise.all`, sections and question starts),
/// which its notebooks contain: one of them that this template lacks goes into `none`; when
/// there is none (their question set is a subset of ours), a section heading of ours that
/// they lack, or else a question of ours none of their snippets is in, goes into `all`.
fn recognise(
    stream: &Stream,
    title: Option<&str>,
    ours: &Ours<'_>,
    others: &[Rubric],
    notes: &mut Vec<String>,
) -> Recognise {
    let present = |s: &str| occurrences(stream, s) > 0;
    let mut all: Vec<String> = Vec::new();
    // The title without its part number: courses reuse a question set as another part of
    // another homework ("Part 3: Summary Questions" handed out as Part 4), and students
    // renumber it to match.
    static PART: OnceLock<Regex> = OnceLock::new();
    let title = title.map(|t| {
        re(r"(?i)^(part|section|chapter)\s+\w+\s*[:.-]\s*", &PART)
            .replace(t, "")
            .to_string()
    });
    if let Some(t) = title.filter(|t| normalize(t).len() >= 8 && present(t)) {
        all.push(t);
    } else if let Some((s, _)) = ours.questions.first() {
        all.push(s.clone());
    }
    let mut none: Vec<String> = Vec::new();
    for other in others {
        let matches_template = other.recognise.all.iter().all(|s| present(s))
            && !other.recognise.none.iter().any(|s| present(s));
        if matches_template {
            notes.push(format!(
                "`{}` ({}) already recognises this template: same question set, not told apart",
                other.id, other.title
            ));
            continue;
        }
        // Already told apart by a snippet chosen for an earlier rubric?
        let excluded = none.iter().any(|n| {
            let n = normalize(n);
            other.recognise.all.iter().any(|a| normalize(a) == n)
                || other.questions.iter().any(|q| {
                    q.locate
                        .section
                        .as_deref()
                        .is_some_and(|s| normalize(s) == n)
                })
        });
        if excluded {
            continue;
        }
        let sections: Vec<&String> = other
            .questions
            .iter()
            .filter_map(|q| q.locate.section.as_ref())
            .collect();
        let starts: Vec<&String> = other
            .questions
            .iter()
            .filter_map(|q| q.locate.start.as_ref())
            .collect();
        let theirs_alone = other
            .recognise
            .all
            .iter()
            .chain(sections.iter().copied())
            .chain(starts.iter().copied())
            .find(|s| !present(s) && normalize(s).len() >= 8);
        if let Some(s) = theirs_alone {
            if !none.contains(s) {
                none.push(s.clone());
            }
            continue;
        }
        let in_theirs = |s: &str| {
            let n = normalize(s);
            sections.iter().any(|t| normalize(t) == n)
                || other
                    .recognise
                    .all
                    .iter()
                    .any(|t| normalize(t).contains(&n))
        };
        let ours_alone = ours
            .sections
            .iter()
            .find(|s| normalize(s).len() >= 8 && !in_theirs(s) && occurrences(stream, s) == 1)
            .map(|s| s.to_string())
            .or_else(|| {
                ours.questions
                    .iter()
                    .find(|(_, text)| !starts.iter().any(|t| text.contains(&normalize(t))))
                    .map(|(s, _)| s.clone())
            });
        match ours_alone {
            Some(s) if !all.contains(&s) => all.push(s),
            Some(_) => {}
            None => notes.push(format!(
                "could not tell this template apart from `{}`: edit `recognise`",
                other.id
            )),
        }
    }
    Recognise { all, none }
}

/// Drafts a rubric from a blank template. `others` are the rubrics it must be told apart
/// from; `name` (the template's file name) goes into the header comment.
pub fn draft(notebook: &Notebook, name: &str, others: &[Rubric], cache: &Cache) -> Draft {
    let stream = Stream::new(notebook);
    let (title, found) = layout(notebook);
    let mut out = String::new();
    let mut todos = 0;
    let mut references = 0;
    let mut code: BTreeMap<String, String> = BTreeMap::new();
    let mut body = String::new();
    let mut used_ids = Vec::new();
    let mut starts = Vec::new();
    let mut section_count: BTreeMap<String, usize> = BTreeMap::new();
    let mut questions = 0;
    for f in &found {
        let sec = f.section.clone().unwrap_or_default();
        let position = {
            let c = section_count.entry(sec.clone()).or_insert(0);
            *c += 1;
            *c
        };
        let Some(start) = start_snippet(&stream, &f.texts[0]) else {
            let _ = writeln!(
                body,
                "  # skipped: a question in `{sec}` has no snippet unique in the template"
            );
            continue;
        };
        let end = end_snippet(&stream, &f.texts);
        let whole = f.texts.join("\n");
        starts.push((start.clone(), normalize(&whole)));
        let its_items = items(&f.texts);
        // Sub-parts with different kinds are drafted as separate parts.
        let (kind, why) = guess(&whole, its_items.len());
        // Names of this question's code. The code of a question that asks for code to be
        // written stays out of `code:`: `code:` entries are course material that is not the
        // answer, while there the student's run of that very cell (its output) is the answer.
        let writes_code = kind == Guess::RunsClean
            || its_items
                .iter()
                .any(|it| guess(it, 0).0 == Guess::RunsClean);
        let mut names = Vec::new();
        for c in &f.code {
            if writes_code {
                let _ = writeln!(
                    body,
                    "  # A code cell of the next question is left out of `code:`: the student's \
                     run of it is the answer."
                );
                continue;
            }
            if let Some((n, _)) = code.iter().find(|(_, v)| *v == c) {
                names.push(n.clone());
                continue;
            }
            let fallback = format!(
                "{}_{}",
                slug(f.section.as_deref(), "", &mut Vec::new())
                    .trim_end_matches('-')
                    .replace('-', "_"),
                f.printed.clone().unwrap_or_else(|| position.to_string())
            );
            let n = code_name(c, &code, &fallback);
            code.insert(n.clone(), c.clone());
            names.push(n);
        }
        let part_kinds: Vec<(Guess, String)> = its_items.iter().map(|it| guess(it, 0)).collect();
        let split = !matches!(kind, Guess::Truth(_))
            && part_kinds.len() >= 2
            && part_kinds
                .iter()
                .any(|(k, _)| !matches!(k, Guess::Concepts))
            && part_kinds.iter().any(|(k, _)| *k != part_kinds[0].0);
        let number = match &f.printed {
            Some(p) if p.parse::<usize>().ok() == Some(position) => Some(p.clone()),
            Some(p) => {
                let _ = writeln!(
                    body,
                    "  # The template prints \"{p}.\" here; it is question {position} of its \
                     section, the number answers grouped per section use."
                );
                Some(position.to_string())
            }
            None => None,
        };
        let parts: Vec<(Option<usize>, Guess, String, String)> = if split {
            part_kinds
                .iter()
                .enumerate()
                .map(|(i, (k, w))| (Some(i + 1), k.clone(), w.clone(), its_items[i].clone()))
                .collect()
        } else {
            vec![(None, kind, why, whole.clone())]
        };
        let base_id = slug(
            f.section.as_deref(),
            &number.clone().unwrap_or_else(|| position.to_string()),
            &mut used_ids,
        );
        for (part, kind, why, text) in parts {
            questions += 1;
            let id = base_id.clone();
            let id = match part {
                Some(p) => format!("{id}-part{p}"),
                None => id,
            };
            let joined = prose_lines(&text.replace("**", "")).join(" ");
            let joined = numbered_start().replace(&joined, "").to_string();
            let joined = item_line()
                .find(&joined)
                .filter(|m| m.start() == 0)
                .map_or(joined.clone(), |m| {
                    joined[after_label(&joined, m.end())..].to_string()
                });
            let short = shorten(&joined, 60);
            let _ = writeln!(body, "  - id: {id}");
            let _ = writeln!(body, "    title: {}", q(short.trim()));
            let _ = writeln!(body, "    points: 1");
            let _ = writeln!(body, "    locate:");
            if let Some(s) = &f.section {
                let _ = writeln!(body, "      section: {}", q(s));
            }
            if let Some(n) = &number {
                let _ = writeln!(body, "      number: \"{n}\"");
            }
            let _ = writeln!(body, "      start: {}", q(&start));
            if let Some(e) = &end {
                let _ = writeln!(body, "      end: {}", q(e));
            }
            if let Some(p) = part {
                let _ = writeln!(body, "      part: {p}");
            }
            let _ = writeln!(body, "    answer:");
            let _ = writeln!(body, "      # guessed: {why}");
            let computed = names
                .iter()
                .zip(&f.code)
                .find_map(|(n, c)| computation(&kind, &text, n, c, cache));
            let reference_yaml = |r: &Reference| match r {
                Reference::ReceptiveField { code, .. } => {
                    format!("{{compute: receptive-field, code: {code}}}")
                }
                Reference::Shape { code, name } => format!(
                    "{{compute: shape, code: {code}, name: \"{}\"}}",
                    name.clone().unwrap_or_default()
                ),
                Reference::Dropout { code, .. } => format!("{{compute: dropout, code: {code}}}"),
                Reference::Parameters { code, .. } => {
                    format!("{{compute: parameters, code: {code}}}")
                }
            };
            match &kind {
                Guess::Truth(n) => {
                    let _ = writeln!(body, "      kind: truth");
                    let _ = writeln!(body, "      statements:");
                    let statements: Vec<String> = if its_items.is_empty() {
                        vec![short.clone()]
                    } else {
                        its_items.clone()
                    };
                    for s in statements.iter().take(*n) {
                        let s: String = s.chars().take(100).collect();
                        let _ = writeln!(body, "        # {}", s.replace('\n', " "));
                        let _ = writeln!(body, "        - key: TODO");
                        let _ = writeln!(body, "          why: ''");
                        // The statement's own words, to align answers that retype them.
                        if !its_items.is_empty() {
                            let words: Vec<&str> = item_line()
                                .find(&s)
                                .map_or(s.as_str(), |m| &s[after_label(&s, m.end())..])
                                .split_whitespace()
                                .take(10)
                                .collect();
                            let text = words.join(" ").replace("**", "");
                            let text = text.trim_end_matches([',', '.', ':', ';']);
                            if normalize(text).len() >= 12 {
                                let _ = writeln!(body, "          text: {}", q(text));
                            }
                        }
                        todos += 1;
                    }
                }
                Guess::Expression { name, vars } => {
                    let _ = writeln!(body, "      kind: expression");
                    let _ = writeln!(body, "      name: {}", q(name));
                    let _ = writeln!(body, "      formula: TODO");
                    todos += 1;
                    let _ = writeln!(body, "      variables:  # ranges guessed: edit them");
                    for v in vars {
                        let _ = writeln!(body, "        {v}: [0, 1]");
                    }
                    if let Some((r, v)) = &computed {
                        references += 1;
                        let _ = writeln!(
                            body,
                            "      reference: {}  # computed: {v}",
                            reference_yaml(r)
                        );
                    }
                }
                Guess::Number | Guess::Shape => {
                    let k = if kind == Guess::Number {
                        "number"
                    } else {
                        "shape"
                    };
                    let _ = writeln!(body, "      kind: {k}");
                    match &computed {
                        Some((r, v)) => {
                            references += 1;
                            let _ = writeln!(
                                body,
                                "      reference: {}  # computed: {v}",
                                reference_yaml(r)
                            );
                        }
                        None => {
                            let _ = writeln!(body, "      value: TODO");
                            todos += 1;
                        }
                    }
                }
                Guess::RunsClean => {
                    let _ = writeln!(body, "      kind: runs-clean");
                }
                Guess::Concepts => {
                    let _ = writeln!(body, "      kind: concepts");
                    for l in prose_lines(&text).iter().take(12) {
                        let l: String = l.chars().take(110).collect();
                        let _ = writeln!(body, "      #   {l}");
                    }
                    let _ = writeln!(body, "      rules: []");
                }
            }
            body.push('\n');
        }
    }
    let mut notes = Vec::new();
    let mut sections: Vec<&str> = found.iter().filter_map(|f| f.section.as_deref()).collect();
    sections.dedup();
    let ours = Ours {
        sections,
        questions: starts,
    };
    let recognise = recognise(&stream, title.as_deref(), &ours, others, &mut notes);
    let stem = name
        .rsplit('/')
        .next()
        .unwrap_or(name)
        .trim_end_matches(".ipynb")
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>();
    let _ = writeln!(out, "# yaml-language-server: $schema=rubric.schema.json");
    let _ = writeln!(out, "# Drafted by `examiner init` from {name}.");
    let _ = writeln!(
        out,
        "# Fill in every TODO (`examiner rubric lint` lists those left), check the guessed kinds,"
    );
    let _ = writeln!(
        out,
        "# write concept rules, then add samples and run `examiner rubric test`."
    );
    for n in &notes {
        let _ = writeln!(out, "# note: {n}");
    }
    let _ = writeln!(out, "id: {}", q(&stem));
    let _ = writeln!(
        out,
        "title: {}",
        q(title.as_deref().unwrap_or("Untitled question set"))
    );
    let _ = writeln!(
        out,
        "recognise:  # snippets that tell this question set apart from the other rubrics"
    );
    let _ = writeln!(out, "  all:");
    for s in &recognise.all {
        let _ = writeln!(out, "    - {}", q(s));
    }
    if !recognise.none.is_empty() {
        let _ = writeln!(out, "  none:");
        for s in &recognise.none {
            let _ = writeln!(out, "    - {}", q(s));
        }
    }
    if !code.is_empty() {
        let _ = writeln!(out, "code:");
        for (n, c) in &code {
            // A block scalar cannot start with an indented line: quote such code.
            if c.starts_with([' ', '\t']) || c.contains('\t') {
                let _ = writeln!(
                    out,
                    "  {n}: {}",
                    serde_json::to_string(c).unwrap_or_default()
                );
                continue;
            }
            let _ = writeln!(out, "  {n}: |");
            for l in c.lines() {
                if l.trim().is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "    {l}");
                }
            }
        }
    }
    let _ = writeln!(out, "questions:");
    out.push_str(&body);
    Draft {
        yaml: out,
        questions,
        todos,
        references,
    }
}

/// At most `max` characters, cut at a word boundary.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.trim().to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("{}...", cut.trim_end_matches([',', ':', ';']))
}

/// Where the text after an item label starts: [`item_line`] matches the label and the first
/// character after it, which may be several bytes long.
fn after_label(text: &str, match_end: usize) -> usize {
    text.get(..match_end)
        .and_then(|head| head.chars().last())
        .map_or(0, |c| match_end - c.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notebook(cells: &[(&str, &str)]) -> Notebook {
        let cells: Vec<serde_json::Value> = cells
            .iter()
            .map(|(kind, src)| {
                serde_json::json!({"cell_type": kind, "metadata": {}, "source": src, "outputs": [], "execution_count": null})
            })
            .collect();
        let nb =
            serde_json::json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells});
        crate::notebook::read_bytes("t.ipynb", nb.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn sections_numbered_questions_items_and_kinds() {
        let nb = notebook(&[
            ("markdown", "# Part 7: Review Questions"),
            ("markdown", "### Nets"),
            ("markdown", "1. Explain why deep networks generalise at all, in your own words."),
            ("markdown", "2. State whether each sentence is **true or false**:\n  1. é accents are fine in items here\n  2. ReLU never saturates for positive inputs"),
            ("markdown", "3. Consider this snippet:"),
            ("code", "import torch.nn as nn\nX = torch.randint(low=0, high=9, size=(2, 3))\nemb = nn.Embedding(9, 4)\nY = emb(X)"),
            ("markdown", "What is the shape of `Y` after the embedding?"),
            ("markdown", "### Code"),
            ("markdown", "Write a short function that implements the forward pass in a code cell below."),
        ]);
        let d = draft(&nb, "t.ipynb", &[], &Cache::in_memory());
        assert_eq!(d.questions, 4, "{}", d.yaml);
        assert_eq!(d.todos, 2, "two true/false keys: {}", d.yaml);
        assert_eq!(d.references, 1, "{}", d.yaml);
        let r = crate::rubric::load_str("draft.yaml", &d.yaml).unwrap();
        assert_eq!(r.recognise.all, ["Review Questions"]);
        let kinds: Vec<&str> = d
            .yaml
            .lines()
            .filter_map(|l| l.trim().strip_prefix("kind: "))
            .collect();
        assert_eq!(kinds, ["concepts", "truth", "shape", "runs-clean"]);
        assert!(d.yaml.contains("computed: [2, 3, 4]"), "{}", d.yaml);
        assert!(
            d.yaml.contains("text: 'é accents are fine in items here'"),
            "{}",
            d.yaml
        );
        assert_eq!(r.questions[3].locate.section.as_deref(), Some("Code"));
        assert_eq!(r.questions[3].locate.number, None);
    }

    #[test]
    fn a_parameter_count_question_gets_a_parameters_reference() {
        let nb = notebook(&[
            ("markdown", "## Models"),
            ("markdown", "1. Consider the model below."),
            ("code", "import torch.nn as nn\nnet = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 1))"),
            ("markdown", "How many parameters does `net` have in total?"),
        ]);
        let d = draft(&nb, "t.ipynb", &[], &Cache::in_memory());
        // 10*5 + 5 + 5*1 + 1 = 61, counted by hand.
        assert!(
            d.yaml
                .contains("reference: {compute: parameters, code: net}  # computed: 61"),
            "{}",
            d.yaml
        );
    }

    #[test]
    fn hostile_templates_give_a_draft_without_panicking() {
        for cells in [
            vec![],
            vec![("markdown", "no headings at all")],
            vec![("markdown", "### Only a heading")],
            vec![
                ("markdown", "## S\n1. ü"),
                ("markdown", "1. ü"),
                ("code", ""),
            ],
            vec![
                ("markdown", "## S\n1. `unbalanced $ math ` *"),
                ("markdown", "$$\n\n"),
            ],
        ] {
            let nb = notebook(&cells);
            let d = draft(&nb, "x.ipynb", &[], &Cache::in_memory());
            assert!(d.yaml.contains("questions:"));
        }
    }
}
