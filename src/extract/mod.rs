//! Finding each rubric question's answer in a notebook, from the text alone (notebooks exported
//! from VS Code or Colab lose cell metadata, so tags are a bonus, not a requirement).
//!
//! A question is found by short snippets of its own text (`locate.start`, `locate.end`); what
//! follows its last words, up to the next question of the question set or the next heading
//! that starts another part, is the student's region. Every rubric reads regions with one
//! model of how students lay out answers:
//!
//! | layout | how it is read |
//! |---|---|
//! | a new cell after the question | the region, markers (`**Answer:**`, `ANSWER:`, `#### Answer`) removed |
//! | typed into the question's cell | after the question's last words, or after a marker inside the cell; between sub-items when the student answered each one in place |
//! | grouped per section | one cell after the section's last question, under any heading or marker that announces answers (`**Answers:**`, `### CNNs Answers:`, `## Answers`, `**Answers - Dropout**`); such a heading never ends the region that holds it; the block is split back to its questions |
//! | numbered sub-answers | items numbered as the questions (`1.`, `**2.**`, `Answer 3:`, `Q4:`), numbered on from an earlier section (`5.`, `6.`, matched by order), by section and question (`3.1`, `3.2`), or lettered (`a.`, `(b)`) |
//! | parts of one answer | `A.` / `B.`, `1.` / `2.`, `a)`, `i.`, `2.1` / `2.2`: a question with `locate.part` takes its own part |
//! | code-cell outputs | the printed output of a cell the student wrote (the question set's own cells and their outputs are template, never an answer); code alone answers a code question |
//! | HTML | tags removed, table cells kept apart (`conv1 | 3 |`), one row or list item per line |
//!
//! Every line of an answer keeps the cell and line it came from ([`Extraction::origins`]), so
//! a part of an answer is reported where the student wrote it.

pub mod hidden;
pub mod recognise;
pub mod text;

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::notebook::Notebook;
use crate::rubric::{Question, Rubric};
use text::{clean, clean_traced, marker_len, newlines, LineKind, Stream};

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
    /// For each line of `question_text`, the cell and 1-based line it came from.
    #[serde(skip)]
    pub question_origins: Vec<(usize, usize)>,
}

impl Extraction {
    /// Keeps only `text[start..end]`, trimmed, with the origins of the lines it keeps.
    fn narrow(&mut self, start: usize, end: usize) {
        let end = end.min(self.text.len());
        let start = start.min(end);
        let piece = &self.text[start..end];
        let lead = piece.len() - piece.trim_start().len();
        let kept = piece.trim();
        let first = newlines(&self.text[..start + lead]);
        let count = newlines(kept) + 1;
        if self.origins.len() > first {
            let last = (first + count).min(self.origins.len());
            self.origins = self.origins[first..last].to_vec();
        } else {
            self.origins.clear();
        }
        self.text = kept.to_string();
    }

    /// The cell and line of byte `offset` of `text`: from the line's origin when known,
    /// else the answer's first cell and line.
    pub fn locate_offset(&self, offset: usize) -> (Vec<usize>, Option<usize>) {
        self.locate_in(&self.text, &self.origins, offset)
    }

    /// The cell and line of byte `offset` of `question_text` (a verdict typed inside the
    /// question cell), else the answer's first cell and line.
    pub fn locate_question_offset(&self, offset: usize) -> (Vec<usize>, Option<usize>) {
        self.locate_in(&self.question_text, &self.question_origins, offset)
    }

    fn locate_in(
        &self,
        text: &str,
        origins: &[(usize, usize)],
        offset: usize,
    ) -> (Vec<usize>, Option<usize>) {
        let index = text.get(..offset.min(text.len())).map_or(0, newlines);
        match origins.get(index) {
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
            question_origins: Vec::new(),
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
    mark_rubric_templates(stream, rubric);
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

/// Marks `rubric`'s template cells on `stream` (see [`Stream::mark_templates`]).
fn mark_rubric_templates(stream: &mut Stream, rubric: &Rubric) {
    let code: Vec<&str> = rubric.code.values().map(String::as_str).collect();
    stream.mark_templates(&code);
}

fn part_label() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)^ (?:\*\*|__)? \s* \(? (?: \d{1,2}\.\d{1,2} [.):]? | (?:\d{1,2}|[A-Ha-h]|i{1,3}|iv|v) \s* [.):] ) (?:\*\*|__)? (?:\s|$)",
        )
        .expect("valid")
    })
}

/// Keeps only the `part`-th (1-based) top-level labelled part of an answer, when the student
/// labelled two or more parts (`A.` / `B.`, `1.` / `2.`, `a)`, `i.`, or the question's number
/// and the part's, `2.1` / `2.2`). Unlabelled answers are
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
    // Each part as (where its body starts, where it ends). Two kinds of labelled line are no
    // part of their own: one that only points on ("2. Answers below", then `3.` and `4.`
    // answer the sub-parts), and a title the student gave the question's answer ("2. Snippet")
    // above indented sub-parts.
    let indent = |at: usize| e.text[at..].len() - e.text[at..].trim_start().len();
    let parts: Vec<(usize, usize)> = starts
        .iter()
        .enumerate()
        .filter_map(|(i, &from)| {
            let to = starts.get(i + 1).copied().unwrap_or(e.text.len());
            let chosen = &e.text[from..to];
            let label_end = part_label()
                .find(chosen)
                .map_or_else(|| chosen.find('.').map_or(0, |i| i + 1), |m| m.end());
            let body = &e.text[from + label_end..to];
            let title = body.trim().lines().count() <= 1
                && body.split_whitespace().count() <= 3
                && !body.chars().any(|c| c.is_ascii_digit())
                && starts
                    .get(i + 1)
                    .is_some_and(|&next| indent(next) > indent(from));
            (!is_pointer(body) && !title).then_some((from + label_end, to))
        })
        .collect();
    let Some(&(body, to)) = parts.get(part - 1) else {
        e.text.clear();
        return;
    };
    e.narrow(body, to);
}

/// Whether an item or part only points on to the answers after it: `Answers below`,
/// `see below`, `the answer is underneath`.
fn is_pointer(body: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)^\W*(?:(?:the\s+)?answers?\s+(?:are\s+|is\s+)?|see\s+)?(?:below|underneath|following)\W*$",
        )
        .expect("valid")
    })
    .is_match(body.trim())
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
/// and any top-level heading (`#` to `###`) that does not introduce answers, such as the
/// `## Part 3: Sequential Models` between two questions. A heading that introduces answers
/// (`#### Answer`, `### CNNs Answers:`, `## Answers`) never ends the region holding them.
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
                    || (level <= 3 && t[level..].starts_with(' ') && !text::introduces_answers(t)))
        })
        .map(|(i, _)| i)
        .collect()
}

/// The answer in the region after a found question, up to line `to_line`.
fn region(stream: &Stream, q: &Question, f: &Found, to_line: usize) -> Extraction {
    let from_line = stream.line_at(f.answer_from);
    // Where the answer begins inside its first line: read once, for the answer and for the
    // question's text.
    let first_cut = OnceCell::new();
    let lines = to_line.saturating_sub(from_line);
    // Borrowed from the stream.
    let mut texts: Vec<&str> = Vec::with_capacity(lines);
    // The cell and line each of `texts` came from.
    let mut origins: Vec<(usize, usize)> = Vec::with_capacity(lines);
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
        texts.push(&line.text);
        origins.push((line.cell, line.line));
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
            tail_after_normalized(&line.text, consumed, &first_cut)
        } else {
            line.text.as_str()
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
                texts.push("");
                origins.push((line.cell, line.line));
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
        origins.push((line.cell, line.line));
    }
    let answers_block = texts
        .iter()
        .find(|t| !t.trim().is_empty())
        .is_some_and(|t| answers_marker().is_match(t) || text::is_answers_heading(t));
    let (mut cleaned, mut origins) = clean_traced(&texts, &origins);
    let code = code.join("\n");
    if cleaned.trim().is_empty() && !code.trim().is_empty() {
        // Answered in code only (e.g. "implement the loss"): the code is the answer.
        cleaned = code.trim().to_string();
        origins.clear();
        in_question_cell = false;
    }
    if cleaned.trim().is_empty() {
        let (question_text, question_origins) = question_text(stream, f, &first_cut);
        return Extraction {
            question_text,
            question_origins,
            ..Extraction::missing(&q.id, true)
        };
    }
    let (question_text, question_origins) = question_text(stream, f, &first_cut);
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
        origins,
        question_text,
        question_origins,
    }
}

/// The question's lines as they stand (markdown only), from its first line up to where the
/// answer region begins (the part of that line before the answer, when it is shared), with
/// the cell and line of each. `first_cut` holds (or is given) where the answer begins in
/// its first line, as [`tail_after_normalized`] shares it.
fn question_text(
    stream: &Stream,
    f: &Found,
    first_cut: &OnceCell<usize>,
) -> (String, Vec<(usize, usize)>) {
    let from_line = stream.line_at(f.answer_from).min(stream.lines.len());
    // The lines joined by newlines, written straight into one string (sized for all of
    // them and the line the answer begins in, so that it is never grown).
    let lines = stream
        .lines
        .get(f.start_line.min(from_line)..(from_line + 1).min(stream.lines.len()))
        .unwrap_or_default();
    let size = lines.iter().map(|l| l.text.len() + 1).sum::<usize>();
    let mut text = String::with_capacity(size);
    let mut origins = Vec::with_capacity(lines.len());
    let mut push = |piece: &str, origin: (usize, usize)| {
        if !origins.is_empty() {
            text.push('\n');
        }
        text.push_str(piece);
        origins.push(origin);
    };
    for i in f.start_line..from_line {
        let line = &stream.lines[i];
        if line.kind == LineKind::Markdown {
            // A line may hold breaks of its own (`<br>`): one origin per text line.
            for piece in line.text.split('\n') {
                push(piece, (line.cell, line.line));
            }
        }
    }
    if let Some(line) = stream.lines.get(from_line) {
        let consumed = f.answer_from.saturating_sub(stream.starts[from_line]);
        if consumed > 0 && line.kind == LineKind::Markdown {
            let cut = *first_cut.get_or_init(|| text::original_offset(&line.text, consumed));
            let cut = cut.min(line.text.len());
            for piece in line.text.get(..cut).unwrap_or_default().split('\n') {
                push(piece, (line.cell, line.line));
            }
        }
    }
    (text, origins)
}

fn answers_marker() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)^\s*(?:#{1,6}\s*)?(?:<[^>]{0,80}>\s*)*(?:\*\*|__)?\s*answers\b")
            .expect("valid")
    })
}

/// What remains of `line` after its first `consumed` bytes of normalised text; where that
/// is, is kept in `cut` (the question's text ends there).
fn tail_after_normalized<'a>(line: &'a str, consumed: usize, cut: &OnceCell<usize>) -> &'a str {
    if consumed == 0 {
        return line;
    }
    &line[*cut.get_or_init(|| text::original_offset(line, consumed))..]
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
                    question_origins: Vec::new(),
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
        question_origins: Vec::new(),
    }
}

/// Splits answers grouped per section back to their questions. Students answer a whole
/// section in one cell after its last question, opened as a block (`**Answers:**`,
/// `### CNNs Answers:`, `## Answers`) and numbered (`**1.**`, `2.`, `Answer 3:`). Items go to
/// the section's questions that have no answer of their own: by number when the numbers are
/// the questions' own, else by order when the block numbers on from an earlier section
/// (`5.`, `6.`, ...) and has exactly one item per question of the section.
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
        // The section's questions up to the block's holder, in order.
        let section_questions: Vec<usize> = (0..=holder)
            .filter(|&i| rubric.questions[i].locate.section.as_deref() == Some(section))
            .collect();
        let by_number = items.iter().any(|it| it.number == own);
        let by_order = !by_number
            && items.len() == section_questions.len()
            && items.windows(2).all(|w| {
                w[1].number.parse::<u32>().ok() == w[0].number.parse::<u32>().ok().map(|n| n + 1)
            });
        let item_of = |i: usize| -> Option<&Item> {
            if by_order {
                let k = section_questions.iter().position(|&s| s == i)?;
                items.get(k)
            } else {
                let number = rubric.questions[i].locate.number.as_deref()?;
                items.iter().find(|it| it.number == number)
            }
        };
        let empty_siblings: Vec<usize> = section_questions
            .iter()
            .copied()
            .filter(|&i| i < holder && out[i].is_missing() && item_of(i).is_some())
            .collect();
        if empty_siblings.is_empty() {
            continue;
        }
        let base = out[holder].clone();
        let confidence = if by_order { 0.7 } else { 0.8 };
        for i in empty_siblings {
            if let Some(item) = item_of(i) {
                let mut e = base.item(item);
                e.id = rubric.questions[i].id.clone();
                e.confidence = confidence;
                e.method = Some(Method::GroupedBySection);
                e.question_found = out[i].question_found;
                out[i] = e;
            }
        }
        if let Some(item) = item_of(holder) {
            let item = continued_below(&base.text, item, &items);
            let mut e = base.item(&item);
            e.confidence = confidence;
            e.method = Some(Method::GroupedBySection);
            out[holder] = e;
        }
    }
}

/// An item that only points on (`**4.** Answers below`) to sub-answers numbered on after it
/// (`**5.**`, `**6.**`, ...): the item stretched over those, their labels kept.
fn continued_below(text: &str, item: &Item, items: &[Item]) -> Item {
    let body = text.get(item.start..item.end).unwrap_or_default();
    let own = item.number.parse::<u32>().unwrap_or(u32::MAX);
    if !is_pointer(body) {
        return item.clone();
    }
    let end = items
        .iter()
        .filter(|it| it.start >= item.end && it.number.parse::<u32>().is_ok_and(|n| n > own))
        .map(|it| it.end)
        .max();
    match end {
        Some(end) => Item {
            start: item.end,
            end,
            number: item.number.clone(),
        },
        None => item.clone(),
    }
}

/// One numbered item of a block of answers: its number and where its body lies in the
/// block's text (after the label, up to the next item).
#[derive(Debug, Clone, PartialEq)]
struct Item {
    number: String,
    start: usize,
    end: usize,
}

impl Extraction {
    /// The answer `item` of this block: its body, cleaned again (an item may open with its
    /// own marker), with the origins of its lines.
    fn item(&self, item: &Item) -> Extraction {
        let mut e = self.clone();
        e.narrow(item.start, item.end);
        let lines: Vec<&str> = e.text.lines().collect();
        let (text, origins) = clean_traced(&lines, &e.origins);
        e.text = text;
        e.origins = if e.origins.is_empty() {
            Vec::new()
        } else {
            origins
        };
        e
    }
}

fn block_label() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?ix)^ (?:<[^>]{0,80}>\s*)* (?:\*\*|__)? \s* (?:answer\s*|question\s*|q\s*)? \(?
              (?: (\d{1,2}) \. (\d{1,2}) | (\d{1,2}) | ([a-h]) ) \s* [.):]? (?:\*\*|__)? \s* [.):]? (?:\s|$)",
        )
        .expect("valid")
    })
}

/// How a block's items are labelled; the three styles students number a section's answers
/// with. Only one style splits a block: the first that labels two or more top-level lines,
/// so sub-parts (`A.` inside item `2.`) never split it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LabelStyle {
    /// `1.`, `**2.**`, `3)`, `Answer 4:`, `Q5:`.
    Number,
    /// `1.1`, `1.2`, ...: the section's number, then the question's; the second counts.
    Dotted,
    /// `a.`, `(b)`, `c)`: the n-th letter answers the n-th question.
    Letter,
}

/// Splits text into items by top-level labels (see [`LabelStyle`]).
fn numbered_items(text: &str) -> Vec<Item> {
    for style in [LabelStyle::Number, LabelStyle::Dotted, LabelStyle::Letter] {
        let items = items_in_style(text, style);
        if items.len() >= 2 || (style == LabelStyle::Number && !items.is_empty()) {
            return items;
        }
    }
    Vec::new()
}

fn items_in_style(text: &str, style: LabelStyle) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut section: Option<String> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        // Indented lines are sub-items of the current item, never new ones.
        let top_level = !line.starts_with("  ") && !line.starts_with('\t');
        let label = if !top_level {
            None
        } else if style == LabelStyle::Number {
            // The strict form: a number and its punctuation (`2.1` is not item 2).
            number_label().captures(line).map(|c| {
                (
                    c[1].trim_start_matches('0').to_string(),
                    c.get(0).map_or(0, |m| m.end()),
                )
            })
        } else {
            block_label().captures(line).and_then(|c| {
                let end = c.get(0).map_or(0, |m| m.end());
                match (style, c.get(1), c.get(2), c.get(4)) {
                    (LabelStyle::Dotted, Some(sec), Some(n), _) => {
                        // All items of one block share the section's number.
                        let sec = sec.as_str().to_string();
                        if section.get_or_insert_with(|| sec.clone()) != &sec {
                            return None;
                        }
                        Some((n.as_str().trim_start_matches('0').to_string(), end))
                    }
                    (LabelStyle::Letter, None, None, Some(l)) => {
                        let ordinal = l.as_str().to_ascii_lowercase().as_bytes()[0] - b'a' + 1;
                        Some((ordinal.to_string(), end))
                    }
                    _ => None,
                }
            })
        };
        if let Some((number, end)) = label {
            if let Some(last) = items.last_mut() {
                last.end = offset;
            }
            items.push(Item {
                number,
                start: offset + end,
                end: text.len(),
            });
        }
        offset += line.len();
    }
    items
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
    fn newlines_are_counted_past_one_chunk() {
        assert_eq!(newlines(""), 0);
        assert_eq!(newlines("no break"), 0);
        assert_eq!(newlines("a\nb\n"), 2);
        // 600 lines of two bytes: chunks of 255 bytes split them, and 300 of them would
        // overflow a one-byte count.
        assert_eq!(newlines(&"a\n".repeat(600)), 600);
        assert_eq!(newlines(&"\n".repeat(1_000)), 1_000);
    }

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
        e.text =
            "2.1 the output is (5, 6, 7, 8, 42000)\n2.2 a weight matrix of size (42, 42000)".into();
        select_part(&mut e, 1);
        assert_eq!(e.text, "the output is (5, 6, 7, 8, 42000)");
        let mut e = Extraction::missing("x", true);
        e.text =
            "**2.** Answers below\n\n**3.** Y has shape (5, 6)\n\n**4.** use a lookup table".into();
        select_part(&mut e, 1);
        assert_eq!(e.text, "Y has shape (5, 6)");
        let mut e = Extraction::missing("x", true);
        e.text = "2. Lookup\n    1. Y has shape (5, 6)\n    1. index a weight table".into();
        select_part(&mut e, 2);
        assert_eq!(e.text, "index a weight table");
        let mut e = Extraction::missing("x", true);
        e.text = "no labels here".into();
        select_part(&mut e, 2);
        assert_eq!(e.text, "no labels here");
    }

    #[test]
    fn numbered_items_split_at_top_level_labels_only() {
        let text = "**1.** first answer\nmore of it\n  1. a sub-item\n**2.** second\n3) third";
        let items = numbered_items(text);
        let numbers: Vec<&str> = items.iter().map(|it| it.number.as_str()).collect();
        assert_eq!(numbers, ["1", "2", "3"]);
        let mut block = Extraction::missing("x", true);
        block.text = text.to_string();
        block.origins = (1..=5).map(|l| (7, l)).collect();
        let first = block.item(&items[0]);
        assert_eq!(first.text, "first answer\nmore of it\n  1. a sub-item");
        assert_eq!(first.origins, [(7, 1), (7, 2), (7, 3)]);
        let third = block.item(&items[2]);
        assert_eq!(third.text, "third");
        assert_eq!(third.origins, [(7, 5)]);
    }

    #[test]
    fn blocks_numbered_by_section_or_by_letter_split_too() {
        let numbers = |text: &str| -> Vec<String> {
            numbered_items(text)
                .into_iter()
                .map(|it| it.number)
                .collect()
        };
        assert_eq!(numbers("3.1 first\n3.2 second\n3.3 third"), ["1", "2", "3"]);
        assert_eq!(
            numbers("**a.** first\n(b) second\nc) third"),
            ["1", "2", "3"]
        );
        // Numbers win: the letters are sub-parts of item 2.
        assert_eq!(
            numbers("1. first\n2. second\nA. part\nB. part\n3. third"),
            ["1", "2", "3"]
        );
        // A decimal opening a line of one item is not a label of another section.
        assert_eq!(
            numbers("1.1 first\n2.5 is the step size"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn tail_after_normalized_keeps_what_follows_the_snippet() {
        let line = "what would **q** be? **Answer:** q = 0.28";
        let consumed = text::normalize("what would q be?").len();
        assert_eq!(
            tail_after_normalized(line, consumed, &OnceCell::new()).trim(),
            "**Answer:** q = 0.28"
        );
    }
}
