//! Text and markdown exports of notebooks to cells.
//!
//! Some submissions are not `.ipynb` files but a notebook exported as text (like
//! `../shared/seeds`): markdown as plain text, and each code cell as an `In [N]:` line followed
//! by its code and then its printed output, all separated only by blank lines. Others are
//! markdown exports where code cells are ```` ```python ```` fences. Both become the same
//! [`Cell`]s as a notebook, with `first_line` giving each cell's first line in the file.
//!
//! How the lines are split (chosen to keep every question before its answer, in file order,
//! so extraction can treat text exports exactly like notebooks):
//!
//! - **`In [N]:` exports** (any line starting `In [N]:`, `In [ ]:`, `In [None]:`, `In [*]:`).
//!   After a marker, the lines up to the next marker are cut into paragraphs (runs of
//!   non-blank lines). The first paragraph (when it follows the marker directly) is code, as
//!   is code written on the marker line itself. Following paragraphs stay in the code cell
//!   while they look like Python ([`heuristics::classify_paragraph`]), or while a bracket is
//!   still open; a lone `# ...` line stays only if Python follows it. Then come outputs:
//!   paragraphs that look printed (`torch.Size([1, 32, 122, 122])`, `Y.shape=...` after a
//!   `print`, a module repr, numbers) become one [`OutputKind::Stream`] output, exception
//!   reports (`NameError: ...`) an [`OutputKind::Error`] output, and `Out[N]:` an
//!   [`OutputKind::ExecuteResult`]. The first paragraph that is none of these starts markdown.
//! - **Markdown exports** (no `In [` marker): each fence whose info string is Python
//!   (`python`, `py`, `python3`, `ipython3`, ...) is a code cell; right after it, a block
//!   indented by four spaces or a fence tagged `text`/`output` (or untagged) is its output, as
//!   nbconvert writes them. Other fences stay in the markdown.
//! - **Markdown between code cells** becomes one markdown cell per section: a new cell starts
//!   at every ATX heading (`#` to `######`, outside fences), so `### Dropout` and the questions
//!   under it are one cell and the next heading starts the next. Leading and trailing blank
//!   lines are dropped; cells that would be blank are not made.
//!
//! Lines keep their text exactly (a trailing `\r` is dropped), so `first_line` plus a line's
//! position in the cell is its line in the file ([`Cell::file_line`]).

use std::ops::Range;

use super::heuristics::{self, classify_paragraph, CodeContext, ParagraphKind};
use super::{Budget, Cell, CellKind, IngestError, Notebook, Output, OutputKind, SourceFormat};

/// Splits a text or markdown export into cells.
pub(crate) fn parse(text: &str, budget: &mut Budget<'_>) -> Result<Notebook, IngestError> {
    let max_lines = budget.limits().max_lines;
    if text.bytes().filter(|&b| b == b'\n').count() >= max_lines {
        return Err(IngestError::TooManyLines { limit: max_lines });
    }
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let mut builder = Builder {
        cells: Vec::new(),
        budget,
    };
    let markers: Vec<usize> = (0..lines.len())
        .filter(|&i| heuristics::in_marker(lines[i]).is_some())
        .collect();
    let language = if markers.is_empty() {
        split_markdown_export(&lines, &mut builder)?
    } else {
        split_in_export(&lines, &markers, &mut builder)?;
        None
    };
    Ok(Notebook {
        cells: builder.cells,
        format: SourceFormat::TextExport,
        language,
    })
}

/// Collects cells, charging them to the budget.
struct Builder<'b, 'l> {
    cells: Vec<Cell>,
    budget: &'b mut Budget<'l>,
}

impl Builder<'_, '_> {
    fn push(
        &mut self,
        kind: CellKind,
        source: String,
        first_line: usize,
        outputs: Vec<Output>,
    ) -> Result<(), IngestError> {
        let text: usize = source.len() + outputs.iter().map(|o| o.text.len()).sum::<usize>();
        self.budget.add_text(text)?;
        self.budget.add_outputs(outputs.len())?;
        self.budget.add_cell()?;
        self.cells.push(Cell {
            index: self.cells.len(),
            kind,
            source,
            outputs,
            tags: Vec::new(),
            first_line,
        });
        Ok(())
    }

    /// Markdown lines `lines` (starting at 0-based file line `start`), one cell per heading.
    fn markdown(&mut self, lines: &[&str], start: usize) -> Result<(), IngestError> {
        let mut section = 0;
        let mut fence: Option<Fence> = None;
        for (i, line) in lines.iter().enumerate() {
            if let Some(open) = &fence {
                if open.is_closed_by(line) {
                    fence = None;
                }
                continue;
            }
            if let Some(open) = Fence::open(line) {
                fence = Some(open);
                continue;
            }
            if i > section && heuristics::is_heading(line) {
                self.markdown_cell(&lines[section..i], start + section)?;
                section = i;
            }
        }
        self.markdown_cell(&lines[section..], start + section)
    }

    /// One markdown cell of `lines` without leading and trailing blank lines, if any remain.
    fn markdown_cell(&mut self, lines: &[&str], start: usize) -> Result<(), IngestError> {
        let range = trim_blank(lines);
        if range.is_empty() {
            return Ok(());
        }
        let source = lines[range.clone()].join("\n");
        self.push(
            CellKind::Markdown,
            source,
            start + range.start + 1,
            Vec::new(),
        )
    }
}

/// The range of `lines` without blank lines at either end.
fn trim_blank(lines: &[&str]) -> Range<usize> {
    let blank = |l: &&str| l.trim().is_empty();
    let start = lines.iter().position(|l| !blank(l)).unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !blank(l))
        .map_or(start, |i| i + 1);
    start..end
}

/// An `In [N]:` export; `markers` are the marker lines' indices.
fn split_in_export(
    lines: &[&str],
    markers: &[usize],
    builder: &mut Builder<'_, '_>,
) -> Result<(), IngestError> {
    let mut markdown_from = 0;
    for (k, &marker) in markers.iter().enumerate() {
        let end = markers.get(k + 1).copied().unwrap_or(lines.len());
        builder.markdown(&lines[markdown_from..marker], markdown_from)?;
        let cell = scan_code_cell(lines, marker, end);
        builder.push(CellKind::Code, cell.source, cell.first_line, cell.outputs)?;
        markdown_from = cell.rest;
    }
    builder.markdown(&lines[markdown_from..], markdown_from)
}

/// A code cell found after a marker.
#[derive(Debug)]
struct CodeCell {
    source: String,
    /// 1-based file line of the source's first line.
    first_line: usize,
    outputs: Vec<Output>,
    /// Index of the first line after the cell and its outputs.
    rest: usize,
}

/// Runs of non-blank lines in `lines[from..to]`, as index ranges.
fn paragraphs(lines: &[&str], from: usize, to: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, line) in lines.iter().enumerate().take(to).skip(from) {
        match (line.trim().is_empty(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..to);
    }
    out
}

/// The code and outputs after the marker at `marker`, up to `end` (the next marker).
fn scan_code_cell(lines: &[&str], marker: usize, end: usize) -> CodeCell {
    let inline = heuristics::in_marker(lines[marker]).unwrap_or("");
    let paras = paragraphs(lines, marker + 1, end);
    let mut ctx = CodeContext::default();
    if !inline.is_empty() {
        ctx.absorb(&[inline]);
    }
    let classify =
        |range: &Range<usize>, ctx: &CodeContext| classify_paragraph(&lines[range.clone()], ctx);

    // Code: paragraphs while they look like Python.
    let mut code: Option<Range<usize>> = None;
    let mut next = 0;
    while let Some(para) = paras.get(next) {
        let kind = classify(para, &ctx);
        let adjacent = next == 0 && para.start == marker + 1;
        let include = match kind {
            ParagraphKind::OutMarker | ParagraphKind::Output | ParagraphKind::Error => false,
            _ if adjacent || ctx.depth > 0 => true,
            ParagraphKind::Code | ParagraphKind::CodeLike => true,
            ParagraphKind::Heading => paras
                .get(next + 1)
                .is_some_and(|after| classify(after, &ctx) == ParagraphKind::Code),
            ParagraphKind::Prose | ParagraphKind::Unknown => false,
        };
        if !include {
            break;
        }
        ctx.absorb(&lines[para.clone()]);
        code = Some(code.map_or(para.start, |c| c.start)..para.end);
        next += 1;
    }

    // Outputs: paragraphs while they look printed; consecutive ones of a kind are merged.
    let mut outputs: Vec<(OutputKind, Range<usize>)> = Vec::new();
    let mut rest = code.as_ref().map_or(marker + 1, |c| c.end);
    while let Some(para) = paras.get(next) {
        let kind = match classify(para, &ctx) {
            ParagraphKind::Output => OutputKind::Stream,
            ParagraphKind::Error => OutputKind::Error,
            ParagraphKind::OutMarker => OutputKind::ExecuteResult,
            _ => break,
        };
        let merge = matches!(
            (outputs.last(), kind),
            (
                Some((OutputKind::Stream | OutputKind::ExecuteResult, _)),
                OutputKind::Stream
            ) | (Some((OutputKind::Error, _)), OutputKind::Error)
        );
        match outputs.last_mut() {
            Some((_, range)) if merge => range.end = para.end,
            _ => outputs.push((kind, para.clone())),
        }
        rest = para.end;
        next += 1;
    }

    let (source, first_line) = match (inline.is_empty(), code) {
        (false, code) => {
            let end = code.map_or(marker + 1, |c| c.end);
            let mut source = inline.to_string();
            for line in &lines[marker + 1..end] {
                source.push('\n');
                source.push_str(line);
            }
            (source, marker + 1)
        }
        (true, Some(code)) => (lines[code.clone()].join("\n"), code.start + 1),
        (true, None) => (String::new(), marker + 2),
    };
    let outputs = outputs
        .into_iter()
        .map(|(kind, range)| {
            let mut text = lines[range].join("\n");
            if kind == OutputKind::ExecuteResult {
                let first = text.lines().next().unwrap_or("");
                let value = heuristics::is_out_marker(first).unwrap_or(first);
                let tail = &text[first.len()..];
                text = if value.is_empty() {
                    tail.trim_start_matches('\n').to_string()
                } else {
                    format!("{value}{tail}")
                };
            }
            Output {
                kind,
                text,
                has_image: false,
            }
        })
        .collect();
    CodeCell {
        source,
        first_line,
        outputs,
        rest,
    }
}

/// A fenced code block's opening line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fence {
    marker: char,
    len: usize,
    info: String,
}

impl Fence {
    /// ```` ``` ```` or `~~~` (3 or more), indented by at most 3 spaces, with an info string.
    fn open(line: &str) -> Option<Fence> {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent > 3 {
            return None;
        }
        let rest = &line[indent..];
        let marker = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let len = rest.chars().take_while(|c| *c == marker).count();
        if len < 3 {
            return None;
        }
        let info = rest[len..].trim();
        if marker == '`' && info.contains('`') {
            return None;
        }
        Some(Fence {
            marker,
            len,
            info: info.to_string(),
        })
    }

    fn is_closed_by(&self, line: &str) -> bool {
        let trimmed = line.trim_start_matches(' ');
        if line.len() - trimmed.len() > 3 {
            return false;
        }
        let len = trimmed.chars().take_while(|c| *c == self.marker).count();
        len >= self.len && trimmed[len..].trim().is_empty()
    }

    /// The info string's language word, lower case, without `{.` `}` decorations.
    fn language(&self) -> String {
        self.info
            .trim_start_matches(['{', '.'])
            .split(|c: char| c.is_whitespace() || c == '}' || c == ',')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    }

    fn is_python(&self) -> bool {
        matches!(
            self.language().as_str(),
            "python" | "python3" | "py" | "py3" | "ipython" | "ipython3"
        )
    }

    fn is_output(&self) -> bool {
        matches!(
            self.language().as_str(),
            "" | "text" | "output" | "console" | "stdout" | "plaintext"
        )
    }

    /// Index of the closing line of the fence opened at `open`, or `lines.len()` if none.
    fn close_index(&self, lines: &[&str], open: usize) -> usize {
        (open + 1..lines.len())
            .find(|&i| self.is_closed_by(lines[i]))
            .unwrap_or(lines.len())
    }
}

/// A markdown export (or plain markdown): Python fences are code cells. Returns the language
/// of the code fences, if there were any.
fn split_markdown_export(
    lines: &[&str],
    builder: &mut Builder<'_, '_>,
) -> Result<Option<String>, IngestError> {
    let mut language = None;
    let mut markdown_from = 0;
    let mut i = 0;
    while i < lines.len() {
        let Some(fence) = Fence::open(lines[i]) else {
            i += 1;
            continue;
        };
        let close = fence.close_index(lines, i);
        if !fence.is_python() {
            i = close + 1;
            continue;
        }
        builder.markdown(&lines[markdown_from..i], markdown_from)?;
        let source = lines[(i + 1).min(close)..close].join("\n");
        let (outputs, after) = markdown_outputs(lines, close + 1);
        builder.push(CellKind::Code, source, i + 2, outputs)?;
        language.get_or_insert_with(|| "python".to_string());
        markdown_from = after;
        i = after;
    }
    builder.markdown(&lines[markdown_from.min(lines.len())..], markdown_from)?;
    Ok(language)
}

/// Outputs right after a code fence that ends before `from`: blocks indented by four spaces
/// (or a tab), or fences tagged as output. Returns them and the index after the last one.
fn markdown_outputs(lines: &[&str], from: usize) -> (Vec<Output>, usize) {
    let mut outputs = Vec::new();
    let mut after = from.min(lines.len());
    while let Some(start) = (after..lines.len()).find(|&i| !lines[i].trim().is_empty()) {
        let indented = |l: &str| l.starts_with("    ") || l.starts_with('\t');
        let text;
        if indented(lines[start]) {
            let mut end = start;
            for (i, line) in lines.iter().enumerate().skip(start) {
                if indented(line) {
                    end = i + 1;
                } else if !line.trim().is_empty() {
                    break;
                }
            }
            text = lines[start..end]
                .iter()
                .map(|l| {
                    l.strip_prefix("    ")
                        .or_else(|| l.strip_prefix('\t'))
                        .unwrap_or_else(|| l.trim_start())
                })
                .collect::<Vec<_>>()
                .join("\n");
            after = end;
        } else if let Some(fence) = Fence::open(lines[start]).filter(Fence::is_output) {
            let close = fence.close_index(lines, start);
            text = lines[(start + 1).min(close)..close].join("\n");
            after = (close + 1).min(lines.len());
        } else {
            break;
        }
        outputs.push(Output {
            kind: OutputKind::Stream,
            text,
            has_image: false,
        });
    }
    (outputs, after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notebook::Limits;

    fn parse_str(text: &str) -> Notebook {
        parse(text, &mut Budget::new(&Limits::DEFAULT)).unwrap()
    }

    /// Every cell's lines are where `first_line` says in the file.
    fn assert_lines_map_back(text: &str, nb: &Notebook) {
        let file: Vec<&str> = text.split('\n').collect();
        for cell in &nb.cells {
            for (n, line) in cell.lines() {
                let at = cell.file_line(n).unwrap();
                let expected = file[at - 1];
                // Code written on the marker line is the marker line's tail.
                assert!(
                    expected.ends_with(line),
                    "cell {}: {line:?} vs {expected:?}",
                    cell.index
                );
            }
        }
    }

    const EXPORT: &str = "\
# Homework

1. What does the model print?

In [1]:
import torch
import torch.nn as nn

net = nn.Sequential(
    nn.Linear(4, 8),

    nn.ReLU(),
)

net(torch.ones(2, 4)).shape

torch.Size([2, 8])

**Answer:** the shape is (2, 8).

### Part two

2. And now?

In [ ]:
x = torch.ones(3)
print(f\"{x.shape=}\")


x.shape=torch.Size([3])


Answer: three.

In [3]:
y = undefined_name

NameError: name 'undefined_name' is not defined

In [4]: z = 1 + 1
Out[4]: 2

The end.
";

    #[test]
    fn in_export_is_split_into_cells() {
        let nb = parse_str(EXPORT);
        let kinds: Vec<_> = nb.cells.iter().map(|c| c.kind).collect();
        use CellKind::*;
        assert_eq!(
            kinds,
            vec![Markdown, Code, Markdown, Markdown, Code, Markdown, Code, Code, Markdown]
        );
        let c = &nb.cells;
        assert_eq!(c[0].source, "# Homework\n\n1. What does the model print?");
        assert_eq!(c[0].first_line, 1);
        assert!(c[1].source.starts_with("import torch\n"));
        assert!(c[1].source.ends_with("net(torch.ones(2, 4)).shape"));
        assert!(c[1].source.contains("\n\n    nn.ReLU(),\n)"));
        assert_eq!(c[1].first_line, 6);
        assert_eq!(c[1].outputs.len(), 1);
        assert_eq!(c[1].outputs[0].kind, OutputKind::Stream);
        assert_eq!(c[1].outputs[0].text, "torch.Size([2, 8])");
        assert_eq!(c[2].source, "**Answer:** the shape is (2, 8).");
        assert_eq!(c[3].source, "### Part two\n\n2. And now?");
        assert_eq!(c[4].source, "x = torch.ones(3)\nprint(f\"{x.shape=}\")");
        assert_eq!(c[4].outputs[0].text, "x.shape=torch.Size([3])");
        assert_eq!(c[5].source, "Answer: three.");
        assert_eq!(c[6].source, "y = undefined_name");
        assert_eq!(c[6].outputs[0].kind, OutputKind::Error);
        assert_eq!(
            c[6].outputs[0].text,
            "NameError: name 'undefined_name' is not defined"
        );
        assert_eq!(c[7].source, "z = 1 + 1");
        assert_eq!(c[7].first_line, 40);
        assert_eq!(c[7].outputs[0].kind, OutputKind::ExecuteResult);
        assert_eq!(c[7].outputs[0].text, "2");
        assert_eq!(c[8].source, "The end.");
        assert!(nb.cells.iter().enumerate().all(|(i, c)| c.index == i));
        assert_eq!(nb.format, SourceFormat::TextExport);
        assert_eq!(nb.language, None);
        assert_lines_map_back(EXPORT, &nb);
    }

    #[test]
    fn empty_code_cells_and_comments() {
        let text = "In [ ]:\n\nSome answer text here, written by hand.\n\nIn [2]:\n# setup\n\n# TODO: compute it\nresult = compute()\n\n# Results\n\nThe result is shown above.\n";
        let nb = parse_str(text);
        assert_eq!(nb.cells[0].kind, CellKind::Code);
        assert_eq!(nb.cells[0].source, "");
        assert_eq!(nb.cells[0].first_line, 2);
        assert_eq!(
            nb.cells[1].source,
            "Some answer text here, written by hand."
        );
        assert_eq!(
            nb.cells[2].source,
            "# setup\n\n# TODO: compute it\nresult = compute()"
        );
        assert_eq!(
            nb.cells[3].source,
            "# Results\n\nThe result is shown above."
        );
        assert_eq!(nb.cells.len(), 4);
        assert_lines_map_back(text, &nb);
    }

    #[test]
    fn markdown_export_fences_are_code() {
        let text = "# Title\n\nQuestion one?\n\n```python\nprint(1 + 1)\n```\n\n    2\n\nAnswer: two.\n\n```latex\n# not a heading\n```\n\n## Next\n\n```py\nx\n```\n```text\nout\n```\n";
        let nb = parse_str(text);
        let summary: Vec<_> = nb
            .cells
            .iter()
            .map(|c| (c.kind, c.source.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (CellKind::Markdown, "# Title\n\nQuestion one?"),
                (CellKind::Code, "print(1 + 1)"),
                (
                    CellKind::Markdown,
                    "Answer: two.\n\n```latex\n# not a heading\n```"
                ),
                (CellKind::Markdown, "## Next"),
                (CellKind::Code, "x"),
            ]
        );
        assert_eq!(nb.cells[1].outputs[0].text, "2");
        assert_eq!(nb.cells[1].first_line, 6);
        assert_eq!(nb.cells[4].outputs[0].text, "out");
        assert_eq!(nb.language.as_deref(), Some("python"));
        assert_lines_map_back(text, &nb);
    }

    #[test]
    fn unclosed_fences_and_plain_markdown() {
        let nb = parse_str("intro\n```python\nx = 1\n");
        assert_eq!(nb.cells.len(), 2);
        assert_eq!(nb.cells[1].source, "x = 1\n");
        let nb = parse_str("just text\r\n\r\nmore text\r\n");
        assert_eq!(nb.cells.len(), 1);
        assert_eq!(nb.cells[0].source, "just text\n\nmore text");
        assert_eq!(nb.language, None);
        let nb = parse_str("```python\n```");
        assert_eq!(nb.cells.len(), 1);
        assert_eq!(nb.cells[0].source, "");
    }

    #[test]
    fn limits_apply_to_text_exports() {
        let text = "In [1]:\nx\n".repeat(20);
        let limits = Limits {
            max_cells: 10,
            ..Limits::DEFAULT
        };
        let err = parse(&text, &mut Budget::new(&limits)).unwrap_err();
        assert!(
            matches!(err, IngestError::TooManyCells { limit: 10 }),
            "{err:?}"
        );
        let limits = Limits {
            max_lines: 5,
            ..Limits::DEFAULT
        };
        let err = parse(&text, &mut Budget::new(&limits)).unwrap_err();
        assert!(
            matches!(err, IngestError::TooManyLines { limit: 5 }),
            "{err:?}"
        );
    }
}
