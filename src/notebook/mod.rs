//! Reading a submission into cells.
//!
//! Every later stage (locating a question, taking the answer after it, checking a code cell's
//! output) works on one ordered list of [`Cell`]s, whatever the student handed in: a Jupyter
//! `.ipynb` file (nbformat 4, any minor version) or a text/markdown export of one, like the
//! seeds in `../shared/seeds`. This module is the only place that looks at a submission's raw
//! bytes, so it also owns what can go wrong with them: submissions are untrusted files, and a
//! broken one (bad or truncated JSON, nbformat 3, a 60 MB base64 image, non-UTF-8 text, an
//! empty file, something that is not a notebook) must become an [`IngestError`] a teacher can
//! read in a gradebook row, never a panic and never unbounded memory. Student code is never
//! executed; outputs are whatever the student's saved notebook contains.
//!
//! - `ipynb` parses nbformat 4 JSON in one pass with hand-written serde visitors: big
//!   payloads (images, PDFs, widget state, attachments) are skipped without being copied.
//! - `text` splits text exports (`In [N]:` markers) and markdown exports (```` ```python ````
//!   fences) into cells, with the line heuristics of `heuristics`: after `In [N]:`, paragraphs
//!   that look like Python are the code cell, paragraphs that look printed
//!   (`torch.Size([1, 32, 122, 122])`, `NameError: ...`) are its outputs, and the rest is
//!   markdown, one cell per heading (`#` to `######`), so questions and answers keep their
//!   order and every cell knows its first line in the file ([`Cell::first_line`]).
//!
//! [`read_bytes`] decides between the two by file name and content, applies the [`Limits`], and
//! is deterministic: the same bytes always give the same cells.

mod error;
mod heuristics;
mod ipynb;
pub mod open;
mod text;

use std::path::Path;

use serde::Serialize;

pub use error::IngestError;

const MIB: u64 = 1024 * 1024;

/// Bounds on what one submission may cost. [`Limits::DEFAULT`] is what [`read_path`] and
/// [`read_bytes`] use; the `*_with` functions take others (tests use small ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Files larger than this are refused before they are read or parsed (64 MiB).
    pub max_file_bytes: u64,
    /// Most cells a notebook may have (100,000).
    pub max_cells: usize,
    /// Most outputs, over all cells, a notebook may have (200,000).
    pub max_outputs: usize,
    /// Most bytes of kept text (sources, output text, tags) over the whole notebook (32 MiB).
    /// Skipped payloads such as images do not count.
    pub max_text_bytes: usize,
    /// Most lines a text export may have (2,000,000).
    pub max_lines: usize,
}

impl Limits {
    /// The limits used by [`read_path`] and [`read_bytes`].
    pub const DEFAULT: Limits = Limits {
        max_file_bytes: 64 * MIB,
        max_cells: 100_000,
        max_outputs: 200_000,
        max_text_bytes: 32 * 1024 * 1024,
        max_lines: 2_000_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// A submission read into cells, in notebook order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notebook {
    /// The cells, in the order of the notebook; `cells[i].index == i`.
    pub cells: Vec<Cell>,
    /// What the submission was: `.ipynb` JSON or a text/markdown export.
    pub format: SourceFormat,
    /// The kernel language from the notebook's metadata (`kernelspec.language`, else
    /// `language_info.name`); for markdown exports the language of the code fences (`python`);
    /// `None` for `In [N]:` text exports, which do not say.
    pub language: Option<String>,
}

impl Notebook {
    /// The code cells, in order.
    pub fn code_cells(&self) -> impl Iterator<Item = &Cell> + '_ {
        self.cells.iter().filter(|c| c.kind == CellKind::Code)
    }

    /// The markdown cells, in order.
    pub fn markdown_cells(&self) -> impl Iterator<Item = &Cell> + '_ {
        self.cells.iter().filter(|c| c.kind == CellKind::Markdown)
    }
}

/// Where a [`Notebook`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceFormat {
    /// A Jupyter notebook file, with its `nbformat` and `nbformat_minor` (4 and 0 when the
    /// file leaves them out).
    Ipynb {
        /// Major format version (4).
        nbformat: u32,
        /// Minor format version.
        minor: u32,
    },
    /// A plain-text export: nbconvert-style text with `In [N]:` markers, or a markdown export
    /// with fenced code blocks, or plain markdown.
    TextExport,
}

/// One cell of a notebook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// 0-based position in the notebook.
    pub index: usize,
    /// Markdown, code or raw.
    pub kind: CellKind,
    /// The cell's text, joined into one string with `\n` line endings.
    pub source: String,
    /// What the student's saved notebook shows under a code cell (empty for other cells).
    pub outputs: Vec<Output>,
    /// `metadata.tags` when present (only in `.ipynb` files).
    pub tags: Vec<String>,
    /// 1-based line of the first line of `source` in the original file, for text exports;
    /// 0 for `.ipynb` files, whose cells have no line in the file worth showing.
    pub first_line: usize,
}

impl Cell {
    /// The source, then each output's text, separated by newlines: what a reader of the
    /// notebook sees in and under the cell.
    pub fn text_with_outputs(&self) -> String {
        let mut text = self.source.clone();
        for output in &self.outputs {
            if output.text.is_empty() {
                continue;
            }
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&output.text);
        }
        text
    }

    /// The source's lines with their 1-based line number within the cell.
    pub fn lines(&self) -> impl Iterator<Item = (usize, &str)> + '_ {
        self.source
            .lines()
            .enumerate()
            .map(|(i, line)| (i + 1, line))
    }

    /// The line in the original file of this cell's `line_in_cell`-th (1-based) line, for
    /// text exports; `None` for `.ipynb` cells or a line number out of range.
    pub fn file_line(&self, line_in_cell: usize) -> Option<usize> {
        if self.first_line == 0 || line_in_cell == 0 || line_in_cell > self.source.lines().count() {
            return None;
        }
        Some(self.first_line + line_in_cell - 1)
    }

    /// True for code cells.
    pub fn is_code(&self) -> bool {
        self.kind == CellKind::Code
    }

    /// True for markdown cells.
    pub fn is_markdown(&self) -> bool {
        self.kind == CellKind::Markdown
    }
}

/// The kind of a cell. Unknown `cell_type`s in a `.ipynb` file are read as [`CellKind::Raw`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// Markdown text: questions and written answers.
    Markdown,
    /// Code, with its saved outputs.
    Code,
    /// Raw text, shown as is by Jupyter.
    Raw,
}

/// One output of a code cell, as saved in the notebook (or as printed in a text export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Output {
    /// What produced it.
    pub kind: OutputKind,
    /// Stream text, or the `text/plain` of a result (`text/markdown` or `text/latex` when
    /// there is no `text/plain`), or for errors `"ename: evalue"` then the traceback with ANSI
    /// escapes stripped; `\n` line endings.
    pub text: String,
    /// The output had an image (`image/*`) or PDF; its data is not kept.
    pub has_image: bool,
}

/// The kind of an [`Output`] (nbformat's `output_type`; unknown types are dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Printed text (`stdout`/`stderr`).
    Stream,
    /// The value of the cell's last expression (`Out[N]:`).
    ExecuteResult,
    /// Something shown with `display()`, e.g. a figure.
    DisplayData,
    /// An exception raised by the cell.
    Error,
}

/// Reads and parses the submission at `path`. The file is read once; files larger than
/// [`Limits::DEFAULT`]'s `max_file_bytes` are refused without being read.
pub fn read_path(path: &Path) -> Result<Notebook, IngestError> {
    read_path_with(path, &Limits::DEFAULT)
}

/// [`read_path`] with other [`Limits`]. A link `path` itself is followed (the caller named
/// it); what is read must be a regular file ([`open::read_regular`]).
pub fn read_path_with(path: &Path, limits: &Limits) -> Result<Notebook, IngestError> {
    read_path_links(path, limits, open::Links::Follow)
}

/// [`read_path_with`], following a symbolic link only as `links` allows: for files found in
/// folders someone else can write to.
pub fn read_path_links(
    path: &Path,
    limits: &Limits,
    links: open::Links<'_>,
) -> Result<Notebook, IngestError> {
    let bytes = open::read_regular(path, limits.max_file_bytes, links)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    read_bytes_with(&name, &bytes, limits)
}

/// Parses a submission held in memory. `name` is its file name: `.ipynb`/`.json` files are
/// JSON when their first non-blank character is `{` or `[`; `.txt`/`.md` files are always text
/// exports; for other names, content starting with `{` is tried as JSON and read as a text
/// export if it is not valid JSON.
pub fn read_bytes(name: &str, bytes: &[u8]) -> Result<Notebook, IngestError> {
    read_bytes_with(name, bytes, &Limits::DEFAULT)
}

/// [`read_bytes`] with other [`Limits`].
pub fn read_bytes_with(name: &str, bytes: &[u8], limits: &Limits) -> Result<Notebook, IngestError> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(IngestError::TooLarge {
            size: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    let text = decode(bytes)?;
    let mut budget = Budget::new(limits);
    let first = text.bytes().find(|b| !b.is_ascii_whitespace());
    match (Hint::of(name), first) {
        (Hint::Json, Some(b'{' | b'[')) => ipynb::parse(text, &mut budget),
        (Hint::Other, Some(b'{')) => match ipynb::parse(text, &mut budget) {
            Err(IngestError::InvalidJson { .. }) => text::parse(text, &mut Budget::new(limits)),
            result => result,
        },
        _ => text::parse(text, &mut budget),
    }
}

/// What the file name says about the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hint {
    /// `.ipynb` or `.json`.
    Json,
    /// `.txt`, `.md`, `.markdown`, `.text`.
    Text,
    /// Anything else: decided by content.
    Other,
}

impl Hint {
    fn of(name: &str) -> Hint {
        let ext = Path::new(name)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "ipynb" | "json" => Hint::Json,
            "txt" | "md" | "markdown" | "text" => Hint::Text,
            _ => Hint::Other,
        }
    }
}

/// The bytes as text: a UTF-8 BOM is dropped; empty, binary and non-UTF-8 files are errors.
fn decode(bytes: &[u8]) -> Result<&str, IngestError> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let (body, skipped) = match bytes.strip_prefix(BOM) {
        Some(rest) => (rest, BOM.len()),
        None => (bytes, 0),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::Empty);
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(IngestError::NotUtf8 {
            byte: bytes[0],
            offset: 0,
            hint: "; it looks like UTF-16: save it as UTF-8",
        });
    }
    if let Some(what) = binary_kind(bytes) {
        return Err(IngestError::Binary { what });
    }
    std::str::from_utf8(body).map_err(|err| {
        let offset = skipped + err.valid_up_to();
        IngestError::NotUtf8 {
            byte: bytes[offset],
            offset,
            hint: "",
        }
    })
}

/// Names well-known binary formats students hand in by mistake, and files with NUL bytes
/// near the start (text never has them; JSON forbids them).
fn binary_kind(bytes: &[u8]) -> Option<String> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF-", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive (or a .docx/.xlsx document)"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"\xD0\xCF\x11\xE0", "an old Microsoft Office document"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some((*what).to_string());
    }
    let head = &bytes[..bytes.len().min(8192)];
    head.iter()
        .position(|&b| b == 0)
        .map(|offset| format!("NUL byte at offset {offset}"))
}

/// Running totals checked against the [`Limits`] while a submission is parsed.
#[derive(Debug)]
pub(crate) struct Budget<'l> {
    limits: &'l Limits,
    cells: usize,
    outputs: usize,
    text: usize,
    /// The limit error that stopped a JSON parse (serde only carries strings).
    pub(crate) hit: Option<IngestError>,
    /// The 0-based index of the cell being parsed, for error messages.
    pub(crate) current_cell: Option<usize>,
}

impl<'l> Budget<'l> {
    pub(crate) fn new(limits: &'l Limits) -> Self {
        Budget {
            limits,
            cells: 0,
            outputs: 0,
            text: 0,
            hit: None,
            current_cell: None,
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        self.limits
    }

    /// Counts one more cell.
    pub(crate) fn add_cell(&mut self) -> Result<(), IngestError> {
        self.cells += 1;
        if self.cells > self.limits.max_cells {
            return Err(IngestError::TooManyCells {
                limit: self.limits.max_cells,
            });
        }
        Ok(())
    }

    /// Counts `n` more outputs.
    pub(crate) fn add_outputs(&mut self, n: usize) -> Result<(), IngestError> {
        self.outputs = self.outputs.saturating_add(n);
        if self.outputs > self.limits.max_outputs {
            return Err(IngestError::TooManyOutputs {
                limit: self.limits.max_outputs,
            });
        }
        Ok(())
    }

    /// Counts `n` more bytes of kept text.
    pub(crate) fn add_text(&mut self, n: usize) -> Result<(), IngestError> {
        self.text = self.text.saturating_add(n);
        if self.text > self.limits.max_text_bytes {
            return Err(IngestError::TooMuchText {
                limit: self.limits.max_text_bytes,
            });
        }
        Ok(())
    }
}

/// `\r\n` and lone `\r` become `\n`.
///
/// Every cell's source and output is asked, and nearly none holds a `\r`: the test is a
/// fold over all bytes (no early exit), which the compiler turns into vector compares, where
/// a search for the character cost about as much per byte as the JSON parse that read it.
pub(crate) fn normalize_newlines(text: &mut String) {
    if text.bytes().fold(false, |any, b| any | (b == b'\r')) {
        *text = text.replace("\r\n", "\n").replace('\r', "\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(source: &str) -> Cell {
        Cell {
            index: 0,
            kind: CellKind::Code,
            source: source.to_string(),
            outputs: vec![Output {
                kind: OutputKind::Stream,
                text: "out\n".into(),
                has_image: false,
            }],
            tags: vec![],
            first_line: 10,
        }
    }

    #[test]
    fn text_with_outputs_puts_outputs_after_the_source() {
        assert_eq!(
            cell("x = 1\nprint(x)").text_with_outputs(),
            "x = 1\nprint(x)\nout\n"
        );
        assert_eq!(cell("").text_with_outputs(), "out\n");
    }

    #[test]
    fn lines_are_numbered_from_one_and_map_to_the_file() {
        let c = cell("a\nb\n");
        assert_eq!(c.lines().collect::<Vec<_>>(), vec![(1, "a"), (2, "b")]);
        assert_eq!(c.file_line(2), Some(11));
        assert_eq!(c.file_line(3), None);
        let ipynb = Cell { first_line: 0, ..c };
        assert_eq!(ipynb.file_line(1), None);
    }

    #[test]
    fn empty_and_whitespace_files_are_empty() {
        for bytes in [&b""[..], b"  \n\t\r\n", b"\xEF\xBB\xBF", b"\xEF\xBB\xBF \n"] {
            let err = read_bytes("a.ipynb", bytes).unwrap_err();
            assert!(matches!(err, IngestError::Empty), "{err:?}");
            assert_eq!(err.to_string(), "empty file");
        }
    }

    #[test]
    fn non_utf8_reports_byte_and_offset() {
        let err = read_bytes("a.txt", b"abc\xFFdef").unwrap_err();
        assert!(matches!(
            err,
            IngestError::NotUtf8 {
                byte: 0xFF,
                offset: 3,
                ..
            }
        ));
        assert_eq!(err.to_string(), "not UTF-8 text (byte 0xFF at offset 3)");
        // The offset counts the BOM: it is an offset in the file.
        let err = read_bytes("a.txt", b"\xEF\xBB\xBFab\xC3(").unwrap_err();
        assert!(matches!(
            err,
            IngestError::NotUtf8 {
                byte: 0xC3,
                offset: 5,
                ..
            }
        ));
        let err = read_bytes("a.txt", b"\xFF\xFEa\x00").unwrap_err();
        assert!(
            matches!(err, IngestError::NotUtf8 { offset: 0, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("UTF-16"), "{err}");
    }

    #[test]
    fn binary_files_are_named() {
        let err = read_bytes("hw.ipynb", b"%PDF-1.7\n%\xE2\xE3\xCF\xD3").unwrap_err();
        assert_eq!(
            err.to_string(),
            "binary file, not a notebook (a PDF document)"
        );
        let err = read_bytes("hw.ipynb", b"{\"a\": 1}\x00").unwrap_err();
        assert!(err.to_string().contains("NUL byte at offset 8"), "{err}");
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let limits = Limits {
            max_file_bytes: 10,
            ..Limits::DEFAULT
        };
        let err = read_bytes_with("a.ipynb", b"{\"cells\": []}", &limits).unwrap_err();
        assert!(matches!(
            err,
            IngestError::TooLarge {
                size: 13,
                limit: 10
            }
        ));
        let big = IngestError::TooLarge {
            size: 64 * MIB + 1,
            limit: 64 * MIB,
        };
        assert_eq!(big.to_string(), "file too large: 65 MB (limit 64 MB)");
    }

    #[test]
    fn content_decides_for_unknown_extensions() {
        let nb = read_bytes("submission", b"{\"cells\": [], \"nbformat\": 4}").unwrap();
        assert!(matches!(nb.format, SourceFormat::Ipynb { nbformat: 4, .. }));
        // Not JSON after all: a text export that happens to start with a brace.
        let nb = read_bytes("submission", b"{not json}\n\nIn [1]:\nx = 1\n").unwrap();
        assert_eq!(nb.format, SourceFormat::TextExport);
        assert_eq!(nb.code_cells().count(), 1);
        // .txt is text even when it is JSON.
        let nb = read_bytes("a.txt", b"{\"cells\": []}").unwrap();
        assert_eq!(nb.format, SourceFormat::TextExport);
        assert_eq!(nb.markdown_cells().count(), 1);
        // .ipynb with text content is a text export.
        let nb = read_bytes("a.ipynb", b"# Title\n\nIn [1]:\nx = 1\n").unwrap();
        assert_eq!(nb.format, SourceFormat::TextExport);
    }

    #[test]
    fn invalid_json_in_an_ipynb_is_an_error() {
        let err = read_bytes("a.ipynb", b"{\"cells\": [}").unwrap_err();
        assert!(matches!(err, IngestError::InvalidJson { .. }), "{err:?}");
    }

    #[test]
    fn read_path_reports_the_path() {
        let err = read_path(Path::new("/nonexistent/dir/hw.ipynb")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/dir/hw.ipynb"), "{text}");
        assert!(matches!(err, IngestError::Io { .. }));
    }
}
