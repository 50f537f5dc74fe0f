//! Text as the locator sees it: one stream of a notebook's lines with their origin, a
//! normalised copy for matching question snippets (case, whitespace, Markdown and HTML markup
//! ignored), and cleaning of an answer region for people (markers and HTML removed).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::notebook::{CellKind, Notebook};

/// What a line of the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Markdown,
    Code,
    /// Text a code cell printed (its saved outputs).
    Output,
}

/// One line of the notebook, where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub cell: usize,
    /// The line belongs to a cell of the question set's own code (or its printed output):
    /// template, not answer.
    pub template: bool,
    /// 1-based line within the cell (or within the cell's outputs).
    pub line: usize,
    pub kind: LineKind,
    pub text: String,
}

/// All of a notebook's lines in order, and the normalised text used to find snippets.
#[derive(Debug, Clone)]
pub struct Stream {
    pub lines: Vec<Line>,
    /// Normalised lines joined by single spaces.
    pub normalized: String,
    /// For each line, where its normalised text starts in `normalized`.
    pub starts: Vec<usize>,
    /// Limits that were hit while laying the notebook out, in words for the grader; empty
    /// when every line was kept.
    pub warnings: Vec<String>,
    /// Where the rubrics' snippets occur, found in one pass (see [`Stream::index`]); `None`
    /// until then, and [`Stream::find`] searches the text.
    found: Option<Arc<Found>>,
    /// Each line's meaningful code (see [`code_line`]; `None` for other kinds of line),
    /// worked out by the first [`Stream::mark_templates`] and kept for the next rubric's
    /// (lines are laid out once, by [`Stream::new`]; marking changes only their `template`).
    code_forms: Option<Vec<Option<String>>>,
}

/// Most occurrences of one snippet remembered by [`Stream::index`]; a search past the last
/// of them searches the text.
const MAX_INDEXED: usize = 4_096;

/// Every snippet the rubrics locate questions and recognise notebooks by, normalised, in
/// one multi-pattern automaton (Aho-Corasick): built once per set of rubrics, it finds all
/// of them in a notebook in one pass over its text, where each snippet searched on its own
/// cost one pass per snippet and per search.
#[derive(Debug)]
pub struct Snippets {
    /// The snippets as the rubrics write them, in the order given.
    written: Vec<String>,
    /// Each snippet (as written, and the head [`Snippets::new`] adds) -> its pattern.
    ids: HashMap<String, usize>,
    /// Each pattern's normalised length (0: an empty snippet, never found).
    lens: Vec<usize>,
    automaton: Option<Automaton>,
    /// For each automaton pattern, the patterns with that normalised text.
    patterns: Vec<Vec<usize>>,
}

impl Snippets {
    /// The automaton of `snippets`, and of the head of each (its first half, at least five
    /// words, for a snippet of eight words or more: what locating a question falls back to).
    pub fn new(snippets: &[&str]) -> Snippets {
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut lens = Vec::new();
        let mut by_text: HashMap<String, usize> = HashMap::new();
        let mut texts: Vec<String> = Vec::new();
        let mut patterns: Vec<Vec<usize>> = Vec::new();
        let mut add = |raw: String| {
            if ids.contains_key(&raw) {
                return;
            }
            let needle = normalize(&raw);
            let id = lens.len();
            lens.push(needle.len());
            ids.insert(raw, id);
            if needle.is_empty() {
                return;
            }
            let p = *by_text.entry(needle.clone()).or_insert_with(|| {
                texts.push(needle);
                patterns.push(Vec::new());
                texts.len() - 1
            });
            patterns[p].push(id);
        };
        for s in snippets {
            add(s.to_string());
            let words: Vec<&str> = s.split_whitespace().collect();
            if words.len() >= 8 {
                let half = words.len().div_ceil(2).max(5);
                add(words[..half].join(" "));
            }
        }
        // A full DFA: built once per set of rubrics (a few MB), one table step per byte of
        // every notebook; the default (a non-contiguous NFA for this many patterns) took
        // several times that.
        let automaton = aho_corasick::dfa::Builder::new()
            .match_kind(aho_corasick::MatchKind::Standard)
            .prefilter(false)
            .build(&texts)
            .map(|dfa| Automaton::Dfa(Box::new(dfa)))
            .or_else(|_| {
                AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::Standard)
                    .build(&texts)
                    .map(Automaton::Other)
            })
            .ok();
        Snippets {
            written: snippets.iter().map(|s| s.to_string()).collect(),
            ids,
            lens,
            automaton,
            patterns,
        }
    }

    /// Whether these are the snippets `snippets` (in that order).
    pub fn is_for(&self, snippets: &[&str]) -> bool {
        self.written.len() == snippets.len()
            && self.written.iter().zip(snippets).all(|(a, b)| a == b)
    }
}

/// The snippets' automaton: a full DFA, which [`Automaton::each_match`] steps through
/// itself, or (should the DFA not build) whatever the crate chooses.
#[derive(Debug)]
enum Automaton {
    Dfa(Box<aho_corasick::dfa::DFA>),
    Other(AhoCorasick),
}

impl Automaton {
    /// Calls `found(pattern, start)` for every occurrence of every pattern in `haystack`,
    /// overlapping ones included, in order of their ends (and in the automaton's order at
    /// one end): what the crate's overlapping search reports.
    ///
    /// The DFA is stepped here in a plain loop over the bytes (one table look-up each, no
    /// prefilter: none helps for this many patterns), rather than through the crate's
    /// resumable overlapping iterator, which kept its state in memory at every byte of
    /// every notebook. The bytes between two special states (a match, or the dead state)
    /// go through [`to_special`], which only looks the table up.
    fn each_match(&self, haystack: &[u8], mut found: impl FnMut(usize, usize)) {
        use aho_corasick::automaton::Automaton as _;
        let dfa = match self {
            Automaton::Dfa(dfa) => dfa,
            Automaton::Other(ac) => {
                for m in ac.find_overlapping_iter(haystack) {
                    found(m.pattern().as_usize(), m.start());
                }
                return;
            }
        };
        let Ok(mut sid) = dfa.start_state(aho_corasick::Anchored::No) else {
            return;
        };
        let mut report = |sid, end: usize| {
            for i in 0..dfa.match_len(sid) {
                let pattern = dfa.match_pattern(sid, i);
                found(pattern.as_usize(), end - dfa.pattern_len(pattern));
            }
        };
        // (Empty patterns are never added, so the start state matches nothing; as the
        // crate does, it would report at 0.)
        if dfa.is_match(sid) {
            report(sid, 0);
        }
        let mut at = 0;
        while let (next, Some(step)) = to_special(dfa, sid, &haystack[at..]) {
            // `next` is special after the byte at `at + step`.
            sid = next;
            at += step + 1;
            if dfa.is_dead(sid) {
                return;
            }
            if dfa.is_match(sid) {
                report(sid, at);
            }
        }
    }
}

/// Steps `dfa` from `sid` over `bytes` up to the first byte after which it is in a special
/// state (a match, or dead): that state and the byte's index, or the state after the last
/// byte and `None`. No byte past the special one is stepped.
///
/// Every byte of every notebook's text goes through here. With nothing but the table
/// look-up in the loop, the compiler keeps the table's address and bounds in registers
/// (the reporting in the same loop had them reloaded at every byte), and four bytes a
/// round pay the loop's own counting once per four look-ups.
fn to_special(
    dfa: &aho_corasick::dfa::DFA,
    mut sid: aho_corasick::automaton::StateID,
    bytes: &[u8],
) -> (aho_corasick::automaton::StateID, Option<usize>) {
    use aho_corasick::automaton::Automaton as _;
    let (rounds, rest) = bytes.as_chunks::<4>();
    for (round, four) in rounds.iter().enumerate() {
        for (k, &byte) in four.iter().enumerate() {
            sid = dfa.next_state(aho_corasick::Anchored::No, sid, byte);
            if dfa.is_special(sid) {
                return (sid, Some(4 * round + k));
            }
        }
    }
    for (k, &byte) in rest.iter().enumerate() {
        sid = dfa.next_state(aho_corasick::Anchored::No, sid, byte);
        if dfa.is_special(sid) {
            return (sid, Some(4 * rounds.len() + k));
        }
    }
    (sid, None)
}

/// Where the snippets of a [`Snippets`] occur in one stream.
#[derive(Debug)]
struct Found {
    snippets: Arc<Snippets>,
    /// Per snippet, where its occurrences start in `normalized` (in order; at most
    /// [`MAX_INDEXED`]).
    starts: Vec<Vec<usize>>,
}

/// Largest number of source lines (markdown and code) considered; a notebook beyond it is
/// cut (never a panic) and the cut is a warning on its row.
pub const MAX_LINES: usize = 200_000;

/// Most lines of saved output kept per code cell: the first and last halves. A long training
/// log must not crowd answers out of the stream (outputs are never where answers are
/// looked for first); what is dropped is a warning on the row.
pub const MAX_OUTPUT_LINES_PER_CELL: usize = 2_000;

impl Stream {
    /// Lays out `notebook`: each cell's source lines, and after a code cell its outputs.
    /// Built once per notebook: recognising its rubric and extracting its answers share it.
    pub fn new(notebook: &Notebook) -> Stream {
        let mut lines = Vec::new();
        let mut warnings = Vec::new();
        let mut hidden_cells: Vec<String> = Vec::new();
        for cell in &notebook.cells {
            let kind = match cell.kind {
                CellKind::Code => LineKind::Code,
                CellKind::Markdown | CellKind::Raw => LineKind::Markdown,
            };
            // What the rendered cell hides is not graded (issue 15, class 9).
            let shown = if kind == LineKind::Markdown {
                let (shown, removed) = super::hidden::visible(&cell.source);
                if removed {
                    hidden_cells.push((cell.index + 1).to_string());
                }
                shown
            } else {
                Cow::Borrowed(cell.source.as_str())
            };
            for (i, text) in shown.lines().enumerate() {
                // Checked per line, not per cell: one cell of millions of blank lines must
                // not cost millions of `Line`s before the cut (memory stays bounded).
                if lines.len() > MAX_LINES {
                    break;
                }
                lines.push(Line {
                    cell: cell.index,
                    template: false,
                    line: i + 1,
                    kind,
                    text: text.to_string(),
                });
            }
            let total: usize = cell.outputs.iter().map(|o| line_count(&o.text)).sum();
            let half = MAX_OUTPUT_LINES_PER_CELL / 2;
            let mut n = 0;
            for output in &cell.outputs {
                for text in output.text.lines() {
                    n += 1;
                    // The first and last halves; the middle of a long log is left out.
                    if (total > MAX_OUTPUT_LINES_PER_CELL && n > half && n <= total - half)
                        || lines.len() > MAX_LINES
                    {
                        continue;
                    }
                    lines.push(Line {
                        cell: cell.index,
                        template: false,
                        line: n,
                        kind: LineKind::Output,
                        text: text.to_string(),
                    });
                }
            }
            if total > MAX_OUTPUT_LINES_PER_CELL {
                warnings.push(format!(
                    "cell {}: {} of its {total} output lines were not read (limit \
                     {MAX_OUTPUT_LINES_PER_CELL} per cell: the first and last {half})",
                    cell.index + 1,
                    total - MAX_OUTPUT_LINES_PER_CELL
                ));
            }
            if lines.len() > MAX_LINES {
                lines.truncate(MAX_LINES);
                warnings.push(format!(
                    "the notebook has more than {MAX_LINES} lines: only the first \
                     {MAX_LINES} were read (from cell {} on, answers may be missing)",
                    cell.index + 1
                ));
                break;
            }
        }
        if !hidden_cells.is_empty() {
            warnings.push(format!(
                "text hidden by HTML (a comment, or styled invisible) was not graded, in cell{} \
                 {}",
                if hidden_cells.len() == 1 { "" } else { "s" },
                hidden_cells.join(", ")
            ));
        }
        let size = lines
            .iter()
            .map(|l| {
                1 + if l.kind == LineKind::Output {
                    0
                } else {
                    l.text.len()
                }
            })
            .sum::<usize>();
        let mut normalized = String::with_capacity(size);
        let mut starts = Vec::with_capacity(lines.len());
        for line in &lines {
            starts.push(normalized.len());
            // Outputs are never matched against question text.
            if line.kind != LineKind::Output {
                normalize_onto(&line.text, &mut normalized, None);
            }
            normalized.push(' ');
        }
        Stream {
            lines,
            normalized,
            starts,
            warnings,
            found: None,
            code_forms: None,
        }
    }

    /// Finds every occurrence of `snippets` in one pass, so that [`Stream::find`] looks
    /// them up instead of searching the text for each (same results).
    pub fn index(&mut self, snippets: Arc<Snippets>) {
        let mut starts: Vec<Vec<usize>> = vec![Vec::new(); snippets.lens.len()];
        if let Some(automaton) = &snippets.automaton {
            automaton.each_match(self.normalized.as_bytes(), |pattern, start| {
                for &id in &snippets.patterns[pattern] {
                    if starts[id].len() < MAX_INDEXED {
                        starts[id].push(start);
                    }
                }
            });
        }
        self.found = Some(Arc::new(Found { snippets, starts }));
    }

    /// Marks the code cells that hold one of `template_code` (the question set's own
    /// snippets, as the rubric quotes them) as template, with their outputs. Lines a student
    /// added to such a cell stay theirs, and so do the outputs of a cell they extended.
    pub fn mark_templates(&mut self, template_code: &[&str]) {
        let memo = template_lines(template_code);
        let template_lines: &[Vec<String>] = &memo;
        // Each code line's meaningful form, worked out once (a line gives at most one).
        let lines = &self.lines;
        let meaningful: &[Option<String>] = self.code_forms.get_or_insert_with(|| {
            lines
                .iter()
                .map(|l| match l.kind {
                    LineKind::Code => code_line(&l.text),
                    LineKind::Markdown | LineKind::Output => None,
                })
                .collect()
        });
        let own = |line: &Option<String>| {
            line.as_ref()
                .is_some_and(|l| !template_lines.iter().any(|t| t.contains(l)))
        };
        let mut start = 0;
        while start < self.lines.len() {
            let cell = self.lines[start].cell;
            let end = self.lines[start..]
                .iter()
                .position(|l| l.cell != cell)
                .map_or(self.lines.len(), |n| start + n);
            let lines = &mut self.lines[start..end];
            let meaningful = &meaningful[start..end];
            let has_source = lines.iter().any(|l| l.kind == LineKind::Code);
            // The cell's meaningful lines are `meaningful`'s `Some`s, as `code_lines` of its
            // joined source gives them.
            let template = has_source && is_template(meaningful, template_lines);
            let extended = template
                && lines
                    .iter()
                    .zip(meaningful)
                    .any(|(l, m)| l.kind == LineKind::Code && own(m));
            for (line, m) in lines.iter_mut().zip(meaningful) {
                line.template = template
                    && match line.kind {
                        LineKind::Code => !own(m),
                        LineKind::Output => !extended,
                        LineKind::Markdown => false,
                    };
            }
            start = end;
        }
    }

    /// The line holding byte `offset` of `normalized`.
    pub fn line_at(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// First occurrence of `snippet` (normalised) at or after byte `from`, as the byte range
    /// in `normalized`.
    pub fn find(&self, snippet: &str, from: usize) -> Option<(usize, usize)> {
        if let Some(found) = &self.found {
            if let Some(&id) = found.snippets.ids.get(snippet) {
                let len = found.snippets.lens[id];
                if len == 0 || from > self.normalized.len() {
                    return None;
                }
                let starts = &found.starts[id];
                // The occurrences are all there up to the last one kept.
                match starts.get(starts.partition_point(|&s| s < from)) {
                    Some(&s) => return Some((s, s + len)),
                    None if starts.len() < MAX_INDEXED => return None,
                    None => {}
                }
            }
        }
        let needle = normalize(snippet);
        if needle.is_empty() || from > self.normalized.len() {
            return None;
        }
        self.normalized[from..]
            .find(&needle)
            .map(|i| (from + i, from + i + needle.len()))
    }
}

/// The meaningful lines ([`code_lines`]) of each of a rubric's template snippets. They are
/// rubric data, the same for every notebook graded with the rubric, so the last few sets
/// are remembered (keyed by the snippets themselves) rather than worked out per notebook
/// and per candidate rubric.
fn template_lines(template_code: &[&str]) -> Arc<Vec<Vec<String>>> {
    /// Sets of snippets remembered: a few rubrics' worth.
    const KEPT: usize = 16;
    type Memo = Vec<(Vec<String>, Arc<Vec<Vec<String>>>)>;
    static MEMO: Mutex<Memo> = Mutex::new(Vec::new());
    let same = |key: &[String]| {
        key.len() == template_code.len() && key.iter().zip(template_code).all(|(a, b)| a == b)
    };
    let mut memo = MEMO.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, lines)) = memo.iter().find(|(key, _)| same(key)) {
        return lines.clone();
    }
    let lines = Arc::new(template_code.iter().map(|c| code_lines(c)).collect());
    if memo.len() >= KEPT {
        memo.remove(0);
    }
    memo.push((
        template_code.iter().map(|c| c.to_string()).collect(),
        Arc::clone(&lines),
    ));
    lines
}

/// A code snippet's meaningful lines: comments, blank lines and whitespace dropped.
fn code_lines(code: &str) -> Vec<String> {
    code.lines().filter_map(code_line).collect()
}

/// One line of code's meaningful form (comment and whitespace dropped), if it has one: not
/// blank, not an import.
fn code_line(line: &str) -> Option<String> {
    let code = line.split('#').next().unwrap_or_default();
    let l: String = if code.is_ascii() {
        // ASCII (nearly all code): every byte but whitespace, in one pass over the bytes
        // (splitting at whitespace decoded every character and copied each piece apart).
        let mut kept = Vec::with_capacity(code.len());
        kept.extend(
            code.bytes()
                .filter(|&b| !b.is_ascii_whitespace() && b != 0x0b),
        );
        // ASCII bytes are always valid UTF-8.
        String::from_utf8(kept).unwrap_or_default()
    } else {
        code.chars().filter(|c| !c.is_whitespace()).collect()
    };
    (!l.is_empty() && !l.starts_with("import") && !l.starts_with("from")).then_some(l)
}

/// A code cell holds a template snippet when most of the snippet's lines are in it (students
/// add code around the question's, but rarely rewrite it). `cell` is the meaningful form of
/// each of the cell's lines (`None` for a line without one), read in place rather than
/// collected per cell: every code cell of every notebook is asked, once per candidate rubric.
fn is_template(cell: &[Option<String>], templates: &[Vec<String>]) -> bool {
    let holds = |l: &String| cell.iter().flatten().any(|c| c == l);
    templates
        .iter()
        .any(|t| !t.is_empty() && t.iter().filter(|l| holds(l)).count() * 2 >= t.len())
}

/// Lowercase, markup removed, quotes unified, whitespace collapsed: how snippets are
/// compared, so that `**True or false**` matches `true or false`. HTML tags and `&nbsp;`
/// separate words; Markdown and LaTeX markup characters (`*_`#$\\`) vanish. One pass, no
/// allocation beyond the result: every line of every notebook goes through here.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_onto(text, &mut out, None);
    out
}

/// The byte of `line` where its normalised text reaches `consumed` bytes: what follows a
/// snippet that ended mid-line.
pub fn original_offset(line: &str, consumed: usize) -> usize {
    let mut scratch = String::with_capacity(line.len());
    normalize_onto(line, &mut scratch, Some(consumed)).unwrap_or(line.len())
}

/// Bytes [`normalize_onto`] copies in runs: ASCII that is neither whitespace, nor a markup
/// character that vanishes (`*_`#$\\`), nor `<` or `&` (which may open markup). Each such
/// byte writes exactly one byte (itself, lowercased).
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = !matches!(
            b as u8,
            b'*' | b'_'
                | b'`'
                | b'#'
                | b'$'
                | b'\\'
                | b'<'
                | b'&'
                | b'\t'
                | b'\n'
                | 0x0b
                | 0x0c
                | b'\r'
                | b' '
        );
        b += 1;
    }
    table
};

/// [`normalize`] of `text`, appended to `out` (what is already in `out` is left alone), so
/// that a notebook's lines are normalised straight into one buffer. With `until`, it also
/// finds the input byte offset just past the character whose writing made the appended text
/// reach `until` bytes, and stops there (the appended text is then incomplete).
///
/// Runs of [`PLAIN`] bytes and single spaces between them (most of every notebook's text)
/// are copied in one step rather than character by character, and lowercased once for the
/// whole text at the end rather than per run (a run is a dozen bytes on average, and
/// lowercasing each on its own cost more than copying it): every line of every notebook
/// comes through here.
fn normalize_onto(text: &str, out: &mut String, until: Option<usize>) -> Option<usize> {
    let base = out.len();
    let stopped = normalize_runs(text, out, until);
    // Everything written is lowercase but the plain runs, copied as they were. (ASCII
    // lowercasing leaves the lowercase of other characters alone: their bytes are not ASCII.)
    out[base..].make_ascii_lowercase();
    stopped
}

/// [`normalize_onto`] but for lowercasing the plain runs it copies.
fn normalize_runs(text: &str, out: &mut String, until: Option<usize>) -> Option<usize> {
    let base = out.len();
    let bytes = text.as_bytes();
    let mut space = true;
    let mut i = 0;
    // After a character is written: whether the appended text has reached `until`.
    let reached = |out: &String| until.is_some_and(|limit| out.len() - base >= limit);
    while i < bytes.len() {
        let b = bytes[i];
        if PLAIN[usize::from(b)] {
            // The run goes on over single spaces between plain bytes (a space after a plain
            // byte is written as it is): a run is a phrase, not a word.
            let mut j = i + 1;
            loop {
                while j < bytes.len() && PLAIN[usize::from(bytes[j])] {
                    j += 1;
                }
                if j + 1 < bytes.len() && bytes[j] == b' ' && PLAIN[usize::from(bytes[j + 1])] {
                    j += 2;
                    continue;
                }
                break;
            }
            let written = out.len() - base;
            out.push_str(&text[i..j]);
            if let Some(limit) = until {
                if written + (j - i) >= limit {
                    // One byte written per byte read: the first byte of the run that reaches
                    // the limit (at least one is written before any check).
                    return Some(i + limit.saturating_sub(written).max(1));
                }
            }
            space = false;
            i = j;
            continue;
        }
        // The rest of ASCII but `<` and `&`: markup that vanishes, or whitespace.
        if b.is_ascii() && b != b'<' && b != b'&' {
            i += 1;
            if !matches!(b, b'*' | b'_' | b'`' | b'#' | b'$' | b'\\') && !space {
                out.push(' ');
                space = true;
                if reached(out) {
                    return Some(i);
                }
            }
            continue;
        }
        let rest = &text[i..];
        let c = rest.chars().next().expect("in bounds");
        let mut separator = false;
        if c == '<' {
            // A tag closes within 200 bytes on the same line; otherwise `<` is text.
            let limit = rest.len().min(202);
            if let Some(close) = rest.as_bytes()[1..limit].iter().position(|&b| b == b'>') {
                i += close + 2;
                separator = true;
            }
        }
        if !separator && c == '&' && rest.starts_with("&nbsp;") {
            i += 6;
            separator = true;
        }
        if separator {
            if !space {
                out.push(' ');
                space = true;
                if reached(out) {
                    return Some(i);
                }
            }
            continue;
        }
        i += c.len_utf8();
        let c = match c {
            '*' | '_' | '`' | '#' | '$' | '\\' => continue,
            '\u{2018}' | '\u{2019}' | '\u{02bc}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            '\u{2013}' | '\u{2014}' | '\u{2212}' => '-',
            '\u{a0}' => ' ',
            c => c,
        };
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                space = true;
                if reached(out) {
                    return Some(i);
                }
            }
        } else {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
            space = false;
            if reached(out) {
                return Some(i);
            }
        }
    }
    // A trailing separator of this text (never one of what `out` held before).
    if out.len() > base && out.ends_with(' ') {
        out.pop();
    }
    None
}

fn answer_marker() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?ix)^ \s* (?:\#{1,6}\s*)? (?:<[^>]{0,120}>\s*)* (?:\*\*|__)? \s*
              (?:answers?|solution|ans)\b (?:\s*\d+(?:\.\d+)*\s*(?:[:)]|\*\*|</))? \s* (?:\*\*|__)? \s* [:.\-]? \s*
              (?:\*\*|__)? (?:\s*</[^>]{0,20}>)* \s* [:.]? ",
        )
        .expect("valid")
    })
}

/// Where an answer marker (`**Answer:**`, `ANSWER:`, `#### Answer`, `<b><u>Answer 3:</u></b>`)
/// opens `line`: the byte length of the marker, if there is one.
pub fn marker_len(line: &str) -> Option<usize> {
    // Everything before the marker's word is optional (`#`s, tags, `**`, whitespace), so a
    // line whose first character past ASCII whitespace is ASCII and none of those openers
    // nor the word's first letter holds no marker: decided without the regex, which most
    // lines of every answer region are asked. (Non-ASCII could be Unicode whitespace or a
    // case variant, `ſ`: the regex decides.)
    let first = line
        .bytes()
        .find(|b| !matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' '));
    if first.is_some_and(|b| {
        b.is_ascii() && !matches!(b, b'#' | b'<' | b'*' | b'_' | b'a' | b'A' | b's' | b'S')
    }) {
        return None;
    }
    answer_marker()
        .find(line)
        .filter(|m| !m.as_str().trim().is_empty())
        .map(|m| m.end())
}

fn img_src() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r#"(?i)src\s*=\s*["']?([^"' >]*)"#).expect("valid"))
}

fn html_tag() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Known tag names only: `grad_fn=<MeanBackward0>` in a printed output is text.
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)<br\s*/?>|</?(?:b|i|u|s|em|strong|font|div|span|p|center|img|sup|sub|h[1-6]|a|ul|ol|li|table|thead|tbody|tr|td|th|hr|code|pre|blockquote|details|summary)\b[^>]{0,200}>",
        )
        .expect("valid")
    })
}

/// How many newlines `text` holds: which line of an answer an offset is on, how many lines
/// a cell printed. The checkers locate every part and verdict they report, so the count is
/// written for the compiler to compare 16 bytes at a time: per chunk of at most 255 bytes,
/// in a `u8` (it cannot overflow there), where a `usize` count widened every byte and a
/// search per newline paid a call per line.
pub fn newlines(text: &str) -> usize {
    text.as_bytes()
        .chunks(255)
        .map(|chunk| usize::from(chunk.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

/// How many lines `text.lines()` gives: one per newline, and a last one unless the text
/// ends with its newline. Counted without splitting, so a long log is read once.
fn line_count(text: &str) -> usize {
    newlines(text) + usize::from(!text.is_empty() && !text.ends_with('\n'))
}

/// An answer region made readable: answer markers, HTML tags and separator lines removed,
/// blank lines at both ends dropped.
pub fn clean(lines: &[&str]) -> String {
    let origins: Vec<(usize, usize)> = vec![(0, 0); lines.len()];
    clean_traced(lines, &origins).0
}

/// [`clean`], also giving for each line of the result the origin of the input line it came
/// from (`origins[i]` belongs to `lines[i]`; an input line split by `<br>` or a table row
/// gives several result lines with the same origin).
pub fn clean_traced(lines: &[&str], origins: &[(usize, usize)]) -> (String, Vec<(usize, usize)>) {
    // The result's lines, written one after another (each followed by a newline) into one
    // buffer, as (start, end, origin): no string per line, and the result is one slice.
    let mut buffer = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    let mut out: Vec<(usize, usize, (usize, usize))> = Vec::with_capacity(lines.len());
    let mut push = |part: &str, origin: (usize, usize)| {
        let start = buffer.len();
        buffer.push_str(part.trim_end());
        out.push((start, buffer.len(), origin));
        buffer.push('\n');
    };
    for (i, line) in lines.iter().enumerate() {
        let origin = origins.get(i).copied().unwrap_or_default();
        let line = match marker_len(line) {
            Some(n) => &line[n..],
            None => line,
        };
        // Every tag opens with `<`: most lines have none, and skip the regex.
        if !has_markup_byte(line) {
            let trimmed = line.trim();
            if trimmed.len() >= 3 && trimmed.chars().all(|c| matches!(c, '=' | '-' | '_' | '*')) {
                continue;
            }
            push(line, origin);
            continue;
        }
        let closes_row = {
            let end = line.trim_end().as_bytes();
            let tail = &end[end.len().saturating_sub(5)..];
            tail.eq_ignore_ascii_case(b"</tr>") || tail.eq_ignore_ascii_case(b"</li>")
        };
        // Each tag's replacement is borrowed but for an image's (no string per tag), and
        // its name is compared in place, ignoring ASCII case, rather than lowercased into a
        // string of its own.
        let line = html_tag().replace_all(line, |c: &regex::Captures| -> Cow<'static, str> {
            let tag = c[0].as_bytes();
            let opens = |name: &str| {
                tag.get(..name.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(name.as_bytes()))
            };
            if opens("<br") {
                Cow::Borrowed("\n")
            } else if opens("<img") {
                // An answer given as a picture is still an answer.
                let src = img_src()
                    .captures(&c[0])
                    .map_or("", |m| m.get(1).map_or("", |s| s.as_str()));
                Cow::Owned(format!("[image: {src}]"))
            } else if opens("</td") || opens("</th") {
                // Table cells stay apart (`<td>conv1</td><td>3</td>` is not `conv13`).
                Cow::Borrowed(" | ")
            } else if opens("</tr") || opens("</li") {
                // One table row or list item per line, as the student laid them out.
                Cow::Borrowed("\n")
            } else if opens("<li") {
                Cow::Borrowed("- ")
            } else {
                Cow::Borrowed("")
            }
        });
        let line = if line.contains('&') {
            Cow::Owned(line.replace("&nbsp;", " "))
        } else {
            line
        };
        let trimmed = line.trim();
        if trimmed.len() >= 3 && trimmed.chars().all(|c| matches!(c, '=' | '-' | '_' | '*')) {
            continue;
        }
        let pieces: Vec<&str> = line.split('\n').collect();
        for (k, part) in pieces.iter().enumerate() {
            // The end of a table row or list item closing the line adds no blank line.
            if closes_row && k > 0 && k + 1 == pieces.len() && part.trim().is_empty() {
                continue;
            }
            push(part, origin);
        }
    }
    // Blank lines at both ends dropped: the rest is one run of the buffer.
    let filled =
        |&(start, end, _): &(usize, usize, (usize, usize))| !buffer[start..end].trim().is_empty();
    let (Some(first), Some(last)) = (out.iter().position(filled), out.iter().rposition(filled))
    else {
        return (String::new(), Vec::new());
    };
    let text = buffer[out[first].0..out[last].1].to_string();
    (text, out[first..=last].iter().map(|&(_, _, o)| o).collect())
}

/// Whether `line` holds a `<`, a `&` or a newline: what sends a line of an answer region
/// through the HTML clean-up. Every line of every region is asked; a fold over all of its
/// bytes (no early exit) compiles to vector compares, where a search per byte read the line
/// three times.
fn has_markup_byte(line: &str) -> bool {
    line.bytes()
        .fold(false, |any, b| any | matches!(b, b'<' | b'&' | b'\n'))
}

fn answers_word() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)\b(?:answers|solutions)\b").expect("valid"))
}

/// Whether `line` announces a block of answers to several questions, the way students head
/// the one cell where they answer a whole section: `### CNNs Answers:`, `## Answers`,
/// `**Answers - Dropout**`, `Answers for part 2:`, `<b>Dropout answers</b>`. It is a short
/// label line (at most eight words once markup is gone: a heading, a line in bold, or a line
/// ending with a colon) naming *answers* in the plural. A sentence that merely mentions
/// answers ("Both answers are possible.") is not one. A heading that announces answers
/// introduces the answers below it and never ends the region that holds them.
pub fn is_answers_heading(line: &str) -> bool {
    let plain = normalize(line);
    // Normalised text has single spaces between its words and none at its ends: its words
    // are counted by its spaces, without splitting it.
    let words = if plain.is_empty() {
        0
    } else {
        plain.bytes().filter(|&b| b == b' ').count() + 1
    };
    if !(1..=8).contains(&words) || !answers_word().is_match(&plain) {
        return false;
    }
    let raw = line.trim();
    let lower = raw.to_ascii_lowercase();
    raw.starts_with('#')
        || raw.starts_with("**")
        || raw.starts_with("__")
        || lower.starts_with("<b")
        || lower.starts_with("<strong")
        || lower.starts_with("<u")
        || lower.starts_with("<h")
        || plain.ends_with(':')
        || plain.starts_with("answers")
        || plain.starts_with("solutions")
}

/// Whether `line` is a heading or a marker that introduces an answer rather than a new part
/// of the question set: `#### Answer`, `### Answer 3`, `## Answers for Dropout`.
pub fn introduces_answers(line: &str) -> bool {
    marker_len(line).is_some() || is_answers_heading(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_index_finds_what_a_search_finds() {
        let md = "# Q1\n**Dropout**: what is the *drop* probability?\n\nthe drop the drop the \
                  drop\n## Receptive field of the CNN below, in pixels of the input image\nans";
        let nb = crate::notebook::read_bytes_with(
            "x.md",
            md.as_bytes(),
            &crate::notebook::Limits::DEFAULT,
        )
        .unwrap();
        let plain = Stream::new(&nb);
        let mut indexed = plain.clone();
        let snippets = [
            "the drop",
            "dropout: what is",
            "",
            "**",
            "Receptive field of the CNN below, in pixels of the input image",
            "absent words",
        ];
        indexed.index(Arc::new(Snippets::new(&snippets)));
        let heads = ["Receptive field of the CNN below,"];
        for s in snippets.iter().chain(&heads) {
            for from in 0..=plain.normalized.len() + 1 {
                if plain.normalized.is_char_boundary(from) || from > plain.normalized.len() {
                    assert_eq!(
                        indexed.find(s, from),
                        plain.find(s, from),
                        "{s:?} from {from}"
                    );
                }
            }
        }
        assert!(indexed.find("the drop", 0).is_some());
    }

    /// The character-by-character normalisation [`normalize_onto`] replaced (with the
    /// mapping [`original_offset`] reads), kept as the reference its runs must agree with.
    fn reference(text: &str, mut wrote: impl FnMut(usize, usize)) -> String {
        let mut out = String::new();
        let mut space = true;
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            let c = rest.chars().next().unwrap();
            let mut separator = false;
            if c == '<' {
                let limit = rest.len().min(202);
                if let Some(close) = rest.as_bytes()[1..limit].iter().position(|&b| b == b'>') {
                    i += close + 2;
                    separator = true;
                }
            }
            if !separator && c == '&' && rest.starts_with("&nbsp;") {
                i += 6;
                separator = true;
            }
            if separator {
                if !space {
                    out.push(' ');
                    space = true;
                    wrote(out.len(), i);
                }
                continue;
            }
            i += c.len_utf8();
            let c = match c {
                '*' | '_' | '`' | '#' | '$' | '\\' => continue,
                '\u{2018}' | '\u{2019}' | '\u{02bc}' => '\'',
                '\u{201c}' | '\u{201d}' => '"',
                '\u{2013}' | '\u{2014}' | '\u{2212}' => '-',
                '\u{a0}' => ' ',
                c => c,
            };
            if c.is_whitespace() {
                if !space {
                    out.push(' ');
                    space = true;
                    wrote(out.len(), i);
                }
            } else {
                out.extend(c.to_lowercase());
                space = false;
                wrote(out.len(), i);
            }
        }
        if out.ends_with(' ') {
            out.pop();
        }
        out
    }

    #[test]
    fn normalising_in_runs_agrees_with_the_character_by_character_reference() {
        let texts = [
            "",
            " ",
            "a",
            "What Is the  Receptive Field?",
            "  **Bold** and __under__ `code` $x$ \\alpha # heading",
            "tabs\tand\x0bvertical\x0cfeeds\r\nend ",
            "<b>tag</b>text<br/>more < not a tag & not nbsp&nbsp;after",
            "“Quoted” – dash − minus ÉCOLE İstanbul straße",
            "a b  c   d    e",
            "x <",
            "ends with space ",
            "\u{a0}nbsp\u{a0}char\u{2003}em space",
            "K ſ Ω ǅ mixed",
        ];
        for text in texts {
            let expected = reference(text, |_, _| {});
            assert_eq!(normalize(text), expected, "{text:?}");
            // Appended after what a buffer holds, that is left alone.
            let mut out = String::from("kept ");
            normalize_onto(text, &mut out, None);
            assert_eq!(out, format!("kept {expected}"), "{text:?}");
            for consumed in 0..=expected.len() + 2 {
                let mut at = None;
                reference(text, |len, end| {
                    if at.is_none() && len >= consumed {
                        at = Some(end);
                    }
                });
                assert_eq!(
                    original_offset(text, consumed),
                    at.unwrap_or(text.len()),
                    "{text:?} {consumed}"
                );
            }
        }
    }

    #[test]
    fn lines_are_counted_as_lines_gives_them() {
        for (text, lines) in [
            ("", 0),
            ("a", 1),
            ("a\n", 1),
            ("a\nb", 2),
            ("\n", 1),
            ("\n\n", 2),
            ("epoch 1\r\nepoch 2\r\n", 2),
            ("x\n\ny", 3),
        ] {
            assert_eq!(line_count(text), lines, "{text:?}");
        }
        assert_eq!(line_count(&"step\n".repeat(700)), 700);
    }

    #[test]
    fn code_lines_drop_comments_whitespace_and_imports() {
        assert_eq!(
            code_lines(
                "x = f( a ,\tb ) # call\n\n# only a comment\nimport torch\n  y=1\x0b\nz\u{a0}= 2"
            ),
            ["x=f(a,b)", "y=1", "z=2"]
        );
    }

    #[test]
    fn stepping_the_dfa_reports_what_the_crates_overlapping_search_does() {
        let patterns = ["ab", "b", "abc", "bc", "c", "abcabc", "ca", "é"];
        let haystack = "abcabcab c éabcabcabc".as_bytes();
        let dfa = aho_corasick::dfa::Builder::new()
            .match_kind(aho_corasick::MatchKind::Standard)
            .prefilter(false)
            .build(patterns)
            .unwrap();
        let crate_search = AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(patterns)
            .unwrap();
        let (dfa, crate_search) = (
            Automaton::Dfa(Box::new(dfa)),
            Automaton::Other(crate_search),
        );
        // Shifted by up to four bytes, matches end at every place of a round of four.
        for pad in 0..5 {
            let haystack = [&b"xxxx"[..pad], haystack].concat();
            let mut stepped = Vec::new();
            dfa.each_match(&haystack, |p, s| stepped.push((p, s)));
            let mut expected = Vec::new();
            crate_search.each_match(&haystack, |p, s| expected.push((p, s)));
            assert!(expected.len() > 20);
            assert_eq!(stepped, expected, "{pad}");
        }
    }

    #[test]
    fn answers_headings_in_the_spellings_students_use() {
        for line in [
            "### CNNs Answers:",
            "## Answers",
            "**Answers - Dropout**",
            "#### Answers for Sequence models",
            "<b>Dropout answers</b>",
            "### Dropout - Answers",
            "Solutions:",
        ] {
            assert!(is_answers_heading(line), "{line}");
            assert!(introduces_answers(line), "{line}");
        }
        for line in [
            "### CNNs",
            "## Part 3: Sequential Models",
            "The answers to the first two questions depend on the stride, so we compute them below.",
            "answering",
            "Both answers are possible.",
            "I compared the answers with my code",
        ] {
            assert!(!is_answers_heading(line), "{line}");
        }
        assert!(introduces_answers("#### Answer"));
    }

    #[test]
    fn tables_and_lists_keep_their_cells_apart_and_lines_keep_their_origin() {
        let lines = [
            "<table>",
            "<tr><td>conv1</td><td>3</td></tr>",
            "<tr><td>pool1</td><td>4</td></tr>",
            "</table>",
            "<ul><li>first</li><li>second</li></ul>",
        ];
        let origins: Vec<(usize, usize)> = (1..=5).map(|l| (2, l)).collect();
        let (text, from) = clean_traced(&lines, &origins);
        assert_eq!(text, "conv1 | 3 |\npool1 | 4 |\n\n- first\n- second");
        assert_eq!(from, [(2, 2), (2, 3), (2, 4), (2, 5), (2, 5)]);
    }

    #[test]
    fn ascii_whitespace_is_what_char_says_it_is() {
        for b in 0u8..128 {
            let c = char::from(b);
            let plain = format!("a{c}b");
            let expected = if c.is_whitespace() {
                "a b".to_string()
            } else {
                plain.clone()
            };
            if !matches!(c, '*' | '_' | '`' | '#' | '$' | '\\' | '<' | '&') {
                assert_eq!(normalize(&plain), expected.to_lowercase(), "{b}");
            }
        }
    }

    #[test]
    fn normalisation_ignores_markup_case_and_spacing() {
        assert_eq!(
            normalize("2. **True or false**:  dropout   must be"),
            "2. true or false: dropout must be"
        );
        assert_eq!(
            normalize("the <u>receptive</u> field"),
            "the receptive field"
        );
        assert_eq!(
            normalize("“pixel” in the output"),
            "\"pixel\" in the output"
        );
    }

    #[test]
    fn answer_markers_in_their_many_spellings() {
        for line in [
            "**Answer:**",
            "**Answer**:",
            "ANSWER:",
            "answer:",
            "#### Answer:",
            "**Answers**",
            "<b><u>Answer 3:</u></b>",
            "Answer 3.1:",
        ] {
            assert!(marker_len(line).is_some(), "{line}");
        }
        let line = "**Answer:** 112";
        assert_eq!(&line[marker_len(line).unwrap()..].trim(), &"112");
        assert!(marker_len("The answer depends on p").is_none());
        assert!(marker_len("Answering this needs care").is_none());
        let line = "Answer 13";
        assert_eq!(
            &line[marker_len(line).unwrap()..],
            "13",
            "a bare number is the answer"
        );
        assert!(marker_len("112").is_none());
    }

    #[test]
    fn printed_objects_in_angle_brackets_are_not_html() {
        let text = clean(&["loss=tensor(1.72, grad_fn=<MeanBackward0>)"]);
        assert_eq!(text, "loss=tensor(1.72, grad_fn=<MeanBackward0>)");
    }

    #[test]
    fn an_image_answer_is_kept_as_a_reference() {
        let text = clean(&[
            r#"**Answer**"#,
            r#"<center><img src="imgs/Q1_2_a.png" /></center>"#,
        ]);
        assert_eq!(text, "[image: imgs/Q1_2_a.png]");
    }

    #[test]
    fn cleaning_removes_markers_html_and_separators() {
        let text = clean(&[
            "",
            "<font color=darkgreen>**Answer:** RF = 112<br>pixels</font>",
            "=====",
            "",
        ]);
        assert_eq!(text, "RF = 112\npixels");
    }
}
