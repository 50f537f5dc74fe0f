//! Why a submission could not be read, in words for a teacher reading a gradebook row.

use std::path::PathBuf;

/// A submission could not be read into cells. Each message is written to stand alone in a
/// gradebook row: what is wrong and, where there is one, what to do about it. Cell numbers in
/// messages count from 1, as a person counts cells.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Not a regular file: a symbolic link, a FIFO, a device, a socket or a folder. It was
    /// not read.
    #[error("not a regular file: {what}; {advice}")]
    NotRegular {
        /// What it is, e.g. "a named pipe (FIFO)".
        what: String,
        /// What is done instead, or what to do.
        advice: &'static str,
    },
    /// The file is larger than the limit; it was not parsed.
    #[error("file too large: {} MB (limit {} MB)", size.div_ceil(MB), limit / MB)]
    TooLarge {
        /// Size in bytes.
        size: u64,
        /// Limit in bytes.
        limit: u64,
    },
    /// The file is empty or holds only whitespace.
    #[error("empty file")]
    Empty,
    /// The file is not UTF-8 text.
    #[error("not UTF-8 text (byte 0x{byte:02X} at offset {offset}){hint}")]
    NotUtf8 {
        /// The first byte that is not valid UTF-8.
        byte: u8,
        /// Its offset in the file, from 0.
        offset: usize,
        /// Extra advice (e.g. for UTF-16 files), starting with `"; "`, or empty.
        hint: &'static str,
    },
    /// The file is binary: a PDF, an image, an archive, or has NUL bytes.
    #[error("binary file, not a notebook ({what})")]
    Binary {
        /// What it looks like, e.g. "a PDF document" or "NUL byte at offset 8".
        what: String,
    },
    /// A `.ipynb` file that is not valid JSON.
    #[error(
        "not valid JSON at line {line} column {column}: {message}{}",
        if *truncated { " (the file may be truncated)" } else { "" }
    )]
    InvalidJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser expected.
        message: String,
        /// The file ended in the middle of the JSON.
        truncated: bool,
    },
    /// An nbformat 1-3 notebook (cells inside `worksheets`).
    #[error(
        "nbformat {major} notebooks are not supported; open and save it with Jupyter 4+ to \
         convert it"
    )]
    UnsupportedNbformat {
        /// The file's `nbformat` (3 when it has `worksheets` but does not say).
        major: u32,
    },
    /// Valid JSON that is not a notebook at all.
    #[error("not a notebook: {what}")]
    NotANotebook {
        /// What it is instead, e.g. "JSON without a `cells` list".
        what: String,
    },
    /// A notebook whose cells do not have the shapes nbformat 4 gives them.
    #[error("not a valid notebook{}: {message} (line {line} column {column})", in_cell(*cell))]
    InvalidNotebook {
        /// 0-based index of the cell where the problem is, when inside a cell.
        cell: Option<usize>,
        /// 1-based line in the file.
        line: usize,
        /// 1-based column in the file.
        column: usize,
        /// What was found and what was expected.
        message: String,
    },
    /// More cells than the limit.
    #[error("too many cells (limit {limit})")]
    TooManyCells {
        /// The limit.
        limit: usize,
    },
    /// More outputs than the limit.
    #[error("too many outputs (limit {limit} over all cells)")]
    TooManyOutputs {
        /// The limit.
        limit: usize,
    },
    /// More kept text than the limit.
    #[error("too much text in cell sources and outputs (limit {})", size(*limit))]
    TooMuchText {
        /// The limit in bytes.
        limit: usize,
    },
    /// A text export with more lines than the limit.
    #[error("too many lines (limit {limit})")]
    TooManyLines {
        /// The limit.
        limit: usize,
    },
}

const MB: u64 = 1024 * 1024;

/// `32 MB`, or `1000 bytes` for limits under a megabyte.
fn size(bytes: usize) -> String {
    let mb = MB as usize;
    if bytes >= mb && bytes.is_multiple_of(mb) {
        format!("{} MB", bytes / mb)
    } else {
        format!("{bytes} bytes")
    }
}

fn in_cell(cell: Option<usize>) -> String {
    cell.map(|i| format!(" (cell {})", i + 1))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_well() {
        let err = IngestError::InvalidJson {
            line: 3,
            column: 5,
            message: "EOF while parsing a string".into(),
            truncated: true,
        };
        assert_eq!(
            err.to_string(),
            "not valid JSON at line 3 column 5: EOF while parsing a string (the file may be \
             truncated)"
        );
        let err = IngestError::InvalidNotebook {
            cell: Some(0),
            line: 1,
            column: 30,
            message: "invalid type: integer `5`, expected a string or a list of strings".into(),
        };
        assert_eq!(
            err.to_string(),
            "not a valid notebook (cell 1): invalid type: integer `5`, expected a string or a \
             list of strings (line 1 column 30)"
        );
        assert_eq!(
            IngestError::TooMuchText {
                limit: 32 * 1024 * 1024
            }
            .to_string(),
            "too much text in cell sources and outputs (limit 32 MB)"
        );
        assert_eq!(
            IngestError::UnsupportedNbformat { major: 3 }.to_string(),
            "nbformat 3 notebooks are not supported; open and save it with Jupyter 4+ to \
             convert it"
        );
    }
}
