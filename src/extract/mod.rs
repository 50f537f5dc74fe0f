//! Finding each rubric question's answer in a notebook, from the text alone (notebooks exported
//! from VS Code or Colab lose cell metadata, so tags are a bonus, not a requirement).
//!
//! A question is found by short snippets of its own text (`locate.start`, `locate.end`); what
//! follows its last words, up to the next question of the question set, is the student's
//! region. The region is then read as the corpus shows students write: a new cell or text
//! typed into the question cell, answer markers in many spellings, HTML wrappers, printed
//! outputs of code cells, and answers grouped per section (`**Answers:**` then `**1.**`,
//! `**2.**`, ...), which are split back to their questions by number.

pub mod text;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::notebook::Notebook;
use crate::rubric::{Question, Rubric};
use text::{clean, marker_len, LineKind, Stream};

/// How an answer was found; part of the confidence shown to graders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// In the cells after the question.
    AfterQuestion,
    /// Typed into the question's own cell, after an answer marker.
    InQuestionCell,
    /// One item of a per-section block of numbered answers.
    GroupedBySection,
    /// Located by the question's number only (answer sheets without question text).
    ByNumber,
    /// In a cell carrying the question's tag.
    Tagged,
}

/// The answer to one question, as found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extraction {
    pub id: String,
    /// The answer text, cleaned for reading (markers and HTML removed); empty when missing.
    pub text: String,
    /// Source of code cells the student wrote in the region (not part of `text`).
    pub code: String,
    /// Cells the answer came from (0-based notebook positions).
    pub cells: Vec<usize>,
    /// 1-based line of the answer's first line within its first cell.
    pub line: Option<usize>,
    /// How sure the locator is that this is the question's answer, 0 to 1.
    pub confidence: f64,
    pub method: Option<Method>,
    /// Whether the question itself was found in the notebook.
    pub question_found: bool,
    /// The answer opens with a plural marker (`**Answers:**`): a block answering several
    /// questions of its section, split back by number.
    #[serde(skip)]
    pub answers_block: bool,
    /// For each line of `text`, the cell and 1-based line it came from, where known (parts
    /// of an answer are reported at their own line). Empty when not tracked.
    #[serde(skip)]
    pub origins: Vec<(usize, usize)>,
    /// The question's own text as it stands in the notebook, from its first line to where
    /// the answer region begins: students type verdicts between a question's statements,
    /// which the truth checker reads. Empty when the question was not found by its text.
    #[serde(skip)]
    pub question_text: String,
}

impl Extraction {
    /// The cell and line of byte `offset` of `text`: from the line's origin when known,
    /// else the answer's first cell and line.
    pub fn locate_offset(&self, offset: usize) -> (Vec<usize>, Option<usize>) {
        let index = self
            .text
            .get(..offset.min(self.text.len()))
            .map_or(0, |before| before.matches('\n').count());
        match self.origins.get(index) {
            Some(&(cell, line)) => (vec![cell], Some(line)),
            None => (self.cells.iter().take(1).copied().collect(), self.line),
        }
    }
}

impl Extraction {
    /// True when no answer text was found.
    pub fn is_missing(&self) -> bool {
        self.text.trim().is_empty()
    }

    fn missing(id: &str, question_found: bool) -> Extraction {
        Extraction {
            id: id.to_string(),
            text: String::new(),
            code: String::new(),
            cells: Vec::new(),
            line: None,
            confidence: 0.0,
            method: None,
            question_found,
            answers_block: false,
            origins: Vec::new(),
            question_text: String::new(),
        }
    }
}

/// Where a question's text was found in the stream.
#[derive(Debug, Clone, Copy)]
struct Found {
    /// First line of the question.
    start_line: usize,
    /// Byte offset in the normalised stream where the answer may begin.
    answer_from: usize,
    /// Whether `end` was found (or not needed).
    exact: bool,
}

/// Extracts the answer to every question of `rubric` from `notebook`, in rubric order.
pub fn extract(notebook: &Notebook, rubric: &Rubric) -> Vec<Extraction> {
    extract_in(&mut Stream::new(notebook), notebook, rubric)
}

/// [`extract`] on a notebook already laid out (see [`recognise_in`]).
pub fn extract_in(stream: &mut Stream, notebook: &Notebook, rubric: &Rubric) -> Vec<Extraction> {
    let code: Vec<&str> = rubric.code.values().map(String::as_str).collect();
    stream.mark_templates(&code);
    let stream: &Stream = stream;
    let found = locate_all(stream, rubric);

    // Where each question's region ends: the start of the next question found after it.
    let mut starts: Vec<usize> = found.iter().flatten().map(|f| f.start_line).collect();
    starts.sort_unstable();
    let section_headings = section_heading_lines(stream, rubric);

    let mut out: Vec<Extraction> = rubric
        .questions
        .iter()
        .zip(&found)
        .map(|(q, f)| match f {
            Some(f) => {
                let from_line = stream.line_at(f.answer_from);
                let next_question = starts
                    .iter()
                    .copied()
                    .find(|&s| s > f.start_line && s >= from_line)
                    .unwrap_or(stream.lines.len());
                let next_heading = section_headings
                    .iter()
                    .copied()
                    .find(|&h| h > from_line)
                    .unwrap_or(stream.lines.len());
                let to_line = next_question.min(next_heading);
                region(stream, q, f, to_line)
            }
            None => by_tag_or_number(stream, notebook, q),
        })
        .collect();
    split_grouped(rubric, &mut out);
    for (q, e) in rubric.questions.iter().zip(out.iter_mut()) {
        if let Some(part) = q.locate.part {
            select_part(e, part);
        }
    }
    out
}

fn part_label() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)^ (?:\*\*|__)? \s* \(? (?:\d{1,2}|[A-Ha-h]|i{1,3}|iv|v) \s* [.):] (?:\*\*|__)? (?:\s|$)",
        )
        .expect("valid")
    })
}

/// Keeps only the `part`-th (1-based) top-level labelled part of an answer, when the student
/// labelled two or more parts (`A.` / `B.`, `1.` / `2.`, `a)`, `i.`). Unlabelled answers are
/// kept whole, with less confidence.
fn select_part(e: &mut Extraction, part: usize) {
    if e.is_missing() || part == 0 {
        return;
    }
    let mut starts: Vec<usize> = Vec::new();
    let mut offset = 0;
    for line in e.text.split_inclusive('\n') {
        // `B.something` (no space) still opens part B when part A was labelled `A.`.
        let relaxed = starts.len() == 1
            && e.text[starts[0]..]
                .trim_start_matches(['*', '_'])
                .starts_with("A.")
            && line.trim_start_matches(['*', '_']).starts_with("B.");
        if part_label().is_match(line) || relaxed {
            starts.push(offset);
        }
        offset += line.len();
    }
    if starts.len() < 2 {
        e.confidence = e.confidence.min(0.6);
        return;
    }
    let Some(&from) = starts.get(part - 1) else {
        e.text.clear();
        return;
    };
    let to = starts.get(part).copied().unwrap_or(e.text.len());
    let chosen = &e.text[from..to];
    let label_end = part_label()
        .find(chosen)
        .map_or_else(|| chosen.find('.').map_or(0, |i| i + 1), |m| m.end());
    e.text = chosen[label_end..].trim().to_string();
}

/// Finds each question's text, in notebook order where possible.
fn locate_all(stream: &Stream, rubric: &Rubric) -> Vec<Option<Found>> {
    let mut cursor = 0;
    rubric
        .questions
        .iter()
        .map(|q| {
            let start = q.locate.start.as_deref()?;
            // In order first; a question a student moved is still found, anywhere.
            let (s, e) =
                find_flexible(stream, start, cursor).or_else(|| find_flexible(stream, start, 0))?;
            cursor = s;
            let start_line = stream.line_at(s);
            let (answer_from, exact) = match q.locate.end.as_deref() {
                Some(end) => match find_flexible(stream, end, s) {
                    Some((_, end_at)) => (end_at, true),
                    None => (end_of_cell(stream, start_line, e), false),
                },
                None => (end_of_cell(stream, start_line, e), true),
            };
            Some(Found {
                start_line,
                answer_from,
                exact,
            })
        })
        .collect()
}

/// A snippet found exactly, or else by its first several words (students edit question
/// cells, and LaTeX renders differently across exports). The head alone must be at least
/// five words, so that a short phrase in an answer is not taken for the question.
fn find_flexible(stream: &Stream, snippet: &str, from: usize) -> Option<(usize, usize)> {
    if let Some(hit) = stream.find(snippet, from) {
        return Some(hit);
    }
    let words: Vec<&str> = snippet.split_whitespace().collect();
    if words.len() < 8 {
        return None;
    }
    let half = words.len().div_ceil(2).max(5);
    stream.find(&words[..half].join(" "), from)
}

/// Where the answer may begin when the question's text ends with its cell: at an answer
/// marker inside the cell, else after the cell.
fn end_of_cell(stream: &Stream, start_line: usize, snippet_end: usize) -> usize {
    let cell = stream.lines[start_line].cell;
    let mut line = start_line;
    while line < stream.lines.len() && stream.lines[line].cell == cell {
        if line > start_line && marker_len(&stream.lines[line].text).is_some() {
            return stream.starts[line];
        }
        line += 1;
    }
    if line < stream.lines.len() {
        stream.starts[line]
    } else {
        stream.normalized.len().max(snippet_end)
    }
}

/// Lines no answer crosses: headings of the rubric's sections (`### Dropout`) at any level,
/// and any top-level heading (`#` to `###`) that is not an answer marker, such as the
/// `## Part 3: Sequential Models` between two questions.
fn section_heading_lines(stream: &Stream, rubric: &Rubric) -> Vec<usize> {
    let sections: BTreeSet<String> = rubric
        .questions
        .iter()
        .filter_map(|q| q.locate.section.as_deref())
        .map(text::normalize)
        .collect();
    stream
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.kind == LineKind::Markdown)
        .filter(|(_, l)| {
            let t = l.text.trim_start();
            let level = t.chars().take_while(|&c| c == '#').count();
            level > 0
                && (sections.contains(&text::normalize(t))
                    || (level <= 3 && t[level..].starts_with(' ') && marker_len(t).is_none()))
        })
        .map(|(i, _)| i)
        .collect()
}

/// The answer in the region after a found question, up to line `to_line`.
fn region(stream: &Stream, q: &Question, f: &Found, to_line: usize) -> Extraction {
    let from_line = stream.line_at(f.answer_from);
    let mut texts: Vec<String> = Vec::new();
    let mut code: Vec<&str> = Vec::new();
    let mut cells: Vec<usize> = Vec::new();
    let mut first_line = None;
    let question_cell = stream.lines[f.start_line].cell;
    let mut in_question_cell = false;
    // Answers typed between a question's sub-items ("1. ... Answer: ...  2. ..."): a marked
    // line inside the question's text, up to the next sub-item.
    let mut interleaved: Vec<usize> = Vec::new();
    let mut inside = false;
    for i in f.start_line + 1..from_line {
        let line = &stream.lines[i];
        if line.kind != LineKind::Markdown {
            inside = false;
            continue;
        }
        if marker_len(&line.text).is_some() {
            inside = true;
        } else if number_label().is_match(&line.text) {
            inside = false;
        }
        if inside {
            interleaved.push(i);
        }
    }
    for &i in &interleaved {
        let line = &stream.lines[i];
        if first_line.is_none() {
            first_line = Some(line.line);
        }
        if !cells.contains(&line.cell) {
            cells.push(line.cell);
        }
        texts.push(line.text.clone());
    }
    for (i, line) in stream
        .lines
        .iter()
        .enumerate()
        .take(to_line)
        .skip(from_line)
    {
        // The part of the first line after the question's last words.
        let text = if i == from_line {
            let consumed = f.answer_from.saturating_sub(stream.starts[i]);
            tail_after_normalized(&line.text, consumed)
        } else {
            line.text.clone()
        };
        if line.template {
            continue;
        }
        match line.kind {
            LineKind::Code => {
                code.push(&line.text);
                if !cells.contains(&line.cell) {
                    cells.push(line.cell);
                }
                continue;
            }
            LineKind::Markdown | LineKind::Output => {}
        }
        if text.trim().is_empty() {
            if !texts.is_empty() {
                texts.push(String::new());
            }
            continue;
        }
        if first_line.is_none() {
            first_line = Some(line.line);
            in_question_cell = line.cell == question_cell;
        }
        if !cells.contains(&line.cell) {
            cells.push(line.cell);
        }
        texts.push(text);
    }
    let answers_block = texts
        .iter()
        .find(|t| !t.trim().is_empty())
        .is_some_and(|t| answers_marker().is_match(t));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut cleaned = clean(&refs);
    let code = code.join("\n");
    if cleaned.trim().is_empty() && !code.trim().is_empty() {
        // Answered in code only (e.g. "implement the loss"): the code is the answer.
        cleaned = code.trim().to_string();
        in_question_cell = false;
    }
    if cleaned.trim().is_empty() {
        return Extraction {
            question_text: question_text(stream, f),
            ..Extraction::missing(&q.id, true)
        };
    }
    let method = if in_question_cell {
        Method::InQuestionCell
    } else {
        Method::AfterQuestion
    };
    Extraction {
        id: q.id.clone(),
        text: cleaned,
        code,
        cells,
        line: first_line,
        confidence: if f.exact { 0.9 } else { 0.7 },
        method: Some(method),
        question_found: true,
        answers_block,
        origins: Vec::new(),
        question_text: question_text(stream, f),
    }
}

/// The question's lines as they stand (markdown only), from its first line up to where the
/// answer region begins (the part of that line before the answer, when it is shared).
fn question_text(stream: &Stream, f: &Found) -> String {
    let from_line = stream.line_at(f.answer_from).min(stream.lines.len());
    let mut lines: Vec<String> = Vec::new();
    for i in f.start_line..from_line {
        let line = &stream.lines[i];
        if line.kind == LineKind::Markdown {
            lines.push(line.text.clone());
        }
    }
    if let Some(line) = stream.lines.get(from_line) {
        let consumed = f.answer_from.saturating_sub(stream.starts[from_line]);
        if consumed > 0 && line.kind == LineKind::Markdown {
            let cut = text::original_offset(&line.text, consumed).min(line.text.len());
            lines.push(line.text.get(..cut).unwrap_or_default().to_string());
        }
    }
    lines.join("\n")
}

fn answers_marker() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)^\s*(?:#{1,6}\s*)?(?:<[^>]{0,80}>\s*)*(?:\*\*|__)?\s*answers\b")
            .expect("valid")
    })
}

/// What remains of `line` after its first `consumed` bytes of normalised text.
fn tail_after_normalized(line: &str, consumed: usize) -> String {
    if consumed == 0 {
        return line.to_string();
    }
    line[text::original_offset(line, consumed)..].to_string()
}

fn number_label() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?ix)^ \s* (?:<[^>]{0,80}>\s*)* (?:\*\*|__)? \s* (?:answer\s*|question\s*|q\s*)? \(? (\d{1,2}) \s* [.):] (?:\*\*|__)? (?:\s|$)",
        )
        .expect("valid")
    })
}

/// Answers located by number or tag only: answer sheets that number answers without the
/// question text (`5. ...`), and notebooks whose cells carry the rubric's tags.
fn by_tag_or_number(stream: &Stream, notebook: &Notebook, q: &Question) -> Extraction {
    if !q.locate.tags.is_empty() {
        let tagged: Vec<&crate::notebook::Cell> = notebook
            .cells
            .iter()
            .filter(|c| c.tags.iter().any(|t| q.locate.tags.contains(t)))
            .collect();
        if !tagged.is_empty() {
            let lines: Vec<String> = tagged.iter().map(|c| c.text_with_outputs()).collect();
            let refs: Vec<&str> = lines.iter().flat_map(|l| l.lines()).collect();
            let text = clean(&refs);
            if !text.trim().is_empty() {
                return Extraction {
                    id: q.id.clone(),
                    text,
                    code: String::new(),
                    cells: tagged.iter().map(|c| c.index).collect(),
                    line: Some(1),
                    confidence: 0.95,
                    method: Some(Method::Tagged),
                    question_found: true,
                    answers_block: false,
                    origins: Vec::new(),
                    question_text: String::new(),
                };
            }
        }
    }
    let (Some(number), None) = (q.locate.number.as_deref(), q.locate.start.as_deref()) else {
        return Extraction::missing(&q.id, false);
    };
    let labelled = |i: usize| -> Option<String> {
        let l = &stream.lines[i];
        if l.kind != LineKind::Markdown {
            return None;
        }
        number_label()
            .captures(&l.text)
            .map(|c| c[1].trim_start_matches('0').to_string())
    };
    let Some(start) = (0..stream.lines.len()).find(|&i| labelled(i).as_deref() == Some(number))
    else {
        return Extraction::missing(&q.id, false);
    };
    let wanted: u32 = number.parse().unwrap_or(0);
    let end = (start + 1..stream.lines.len())
        .find(|&i| {
            labelled(i)
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n > wanted)
        })
        .unwrap_or(stream.lines.len());
    let first = &stream.lines[start];
    let label_end = number_label().find(&first.text).map_or(0, |m| m.end());
    let mut lines: Vec<&str> = vec![&first.text[label_end..]];
    lines.extend(stream.lines[start + 1..end].iter().map(|l| l.text.as_str()));
    let mut cells: Vec<usize> = stream.lines[start..end].iter().map(|l| l.cell).collect();
    cells.dedup();
    Extraction {
        id: q.id.clone(),
        text: clean(&lines),
        code: String::new(),
        cells,
        line: Some(first.line),
        confidence: 0.6,
        method: Some(Method::ByNumber),
        question_found: true,
        answers_block: false,
        origins: Vec::new(),
        question_text: String::new(),
    }
}

/// Splits answers grouped per section back to their questions: a block whose numbered items
/// (`**1.**`, `2.`, `Answer 3:`) include its own question's number and the number of another
/// question of the section that has no answer of its own.
fn split_grouped(rubric: &Rubric, out: &mut [Extraction]) {
    for holder in 0..out.len() {
        let q = &rubric.questions[holder];
        let (Some(section), Some(own)) = (q.locate.section.as_deref(), q.locate.number.as_deref())
        else {
            continue;
        };
        if out[holder].is_missing() {
            continue;
        }
        // Only a block the student opened as one ("**Answers:**") is split between questions;
        // numbered parts of a single answer stay with it.
        if !out[holder].answers_block {
            continue;
        }
        let items = numbered_items(&out[holder].text);
        if !items.iter().any(|(n, _)| n == own) {
            continue;
        }
        let empty_siblings: Vec<usize> = rubric
            .questions
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                *i < holder
                    && s.locate.section.as_deref() == Some(section)
                    && out[*i].is_missing()
                    && s.locate
                        .number
                        .as_deref()
                        .is_some_and(|n| items.iter().any(|(m, _)| m == n))
            })
            .map(|(i, _)| i)
            .collect();
        if empty_siblings.is_empty() {
            continue;
        }
        let base = out[holder].clone();
        for i in empty_siblings {
            let number = rubric.questions[i]
                .locate
                .number
                .as_deref()
                .unwrap_or_default();
            if let Some((_, body)) = items.iter().find(|(n, _)| n == number) {
                out[i] = Extraction {
                    id: rubric.questions[i].id.clone(),
                    text: body.clone(),
                    confidence: 0.8,
                    method: Some(Method::GroupedBySection),
                    question_found: out[i].question_found,
                    ..base.clone()
                };
            }
        }
        if let Some((_, body)) = items.iter().find(|(n, _)| n == own) {
            let own_number = own.parse::<u32>().unwrap_or(u32::MAX);
            out[holder].text =
                continued_below(body, &items, own_number).unwrap_or_else(|| body.clone());
            out[holder].method = Some(Method::GroupedBySection);
            out[holder].confidence = 0.8;
        }
    }
}

/// An item that only points on (`**4.** Answers below`) to sub-answers numbered on after
/// it (`**5.**`, `**6.**`, ...): those items, labels kept.
fn continued_below(body: &str, items: &[(String, String)], own: u32) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let pointer = RE.get_or_init(|| {
        Regex::new(r"(?i)^\W*(?:(?:the\s+)?answers?\s+(?:are\s+)?|see\s+)?(?:below|underneath|following)\W*$")
            .expect("valid")
    });
    if !pointer.is_match(body.trim()) {
        return None;
    }
    let rest: Vec<String> = items
        .iter()
        .filter(|(n, _)| n.parse::<u32>().is_ok_and(|n| n > own))
        .map(|(n, t)| format!("{n}. {t}"))
        .collect();
    (!rest.is_empty()).then(|| rest.join("\n\n"))
}

/// Splits text into items by top-level number labels, as (number, text) pairs.
fn numbered_items(text: &str) -> Vec<(String, String)> {
    let mut items: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        // Indented lines are sub-items of the current item, never new ones.
        let top_level = !line.starts_with("  ") && !line.starts_with('\t');
        match number_label().captures(line).filter(|_| top_level) {
            Some(c) => {
                let n = c[1].trim_start_matches('0').to_string();
                let rest = &line[c.get(0).map_or(0, |m| m.end())..];
                items.push((n, vec![rest]));
            }
            None => {
                if let Some(last) = items.last_mut() {
                    last.1.push(line);
                }
            }
        }
    }
    items
        .into_iter()
        .map(|(n, lines)| (n, clean(&lines)))
        .collect()
}

/// The rubric a notebook belongs to: every `recognise.all` snippet present and no
/// `recognise.none` one. When several match, the one with the most `all` snippets wins.
pub fn recognise<'a>(
    notebook: &Notebook,
    rubrics: impl IntoIterator<Item = &'a Rubric>,
) -> Result<&'a Rubric, String> {
    recognise_in(&Stream::new(notebook), rubrics)
}

/// [`recognise`] on a notebook already laid out, to be passed on to [`extract_in`].
pub fn recognise_in<'a>(
    stream: &Stream,
    rubrics: impl IntoIterator<Item = &'a Rubric>,
) -> Result<&'a Rubric, String> {
    let mut best: Option<(&Rubric, usize)> = None;
    let mut closest: Option<(&Rubric, usize, String)> = None;
    for r in rubrics {
        let missing: Vec<&String> = r
            .recognise
            .all
            .iter()
            .filter(|s| stream.find(s, 0).is_none())
            .collect();
        let excluded = r
            .recognise
            .none
            .iter()
            .find(|s| stream.find(s, 0).is_some());
        let hits = r.recognise.all.len() - missing.len();
        if missing.is_empty() && excluded.is_none() {
            if best.is_none_or(|(_, h)| hits > h) {
                best = Some((r, hits));
            }
        } else if closest.as_ref().is_none_or(|(_, h, _)| hits > *h) {
            let why = match (missing.first(), excluded) {
                (Some(m), _) => format!("it lacks \"{m}\""),
                (None, Some(x)) => format!("it contains \"{x}\""),
                (None, None) => String::new(),
            };
            closest = Some((r, hits, why));
        }
    }
    match (best, closest) {
        (Some((r, _)), _) => Ok(r),
        (None, Some((r, _, why))) => Err(format!(
            "no rubric matches this notebook; the closest is `{}` ({}), but {why}",
            r.id, r.title
        )),
        (None, None) => Err("no rubric to match against".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_part_is_selected_by_position() {
        let mut e = Extraction::missing("x", true);
        e.text = "A. Y has shape (5, 6)\nmore\nB. use a lookup table".into();
        select_part(&mut e, 1);
        assert_eq!(e.text, "Y has shape (5, 6)\nmore");
        let mut e = Extraction::missing("x", true);
        e.text = "1. first\n2. second".into();
        select_part(&mut e, 2);
        assert_eq!(e.text, "second");
        let mut e = Extraction::missing("x", true);
        e.text = "A. the shape is in words\n\nB.something like: (5, 6)".into();
        select_part(&mut e, 1);
        assert_eq!(e.text, "the shape is in words");
        let mut e = Extraction::missing("x", true);
        e.text = "no labels here".into();
        select_part(&mut e, 2);
        assert_eq!(e.text, "no labels here");
    }

    #[test]
    fn numbered_items_split_at_top_level_labels_only() {
        let items = numbered_items(
            "**1.** first answer\nmore of it\n  1. a sub-item\n**2.** second\n3) third",
        );
        let numbers: Vec<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(numbers, ["1", "2", "3"]);
        assert_eq!(items[0].1, "first answer\nmore of it\n  1. a sub-item");
        assert_eq!(items[2].1, "third");
    }

    #[test]
    fn tail_after_normalized_keeps_what_follows_the_snippet() {
        let line = "what would **q** be? **Answer:** q = 0.28";
        let consumed = text::normalize("what would q be?").len();
        assert_eq!(
            tail_after_normalized(line, consumed).trim(),
            "**Answer:** q = 0.28"
        );
    }
}
