//! nbformat 4 `.ipynb` JSON to a [`Notebook`], in one pass over the text.
//!
//! Hand-written serde visitors rather than derived structs (and not the `nbformat` crate),
//! because real notebooks vary in shape and submissions are untrusted:
//!
//! - `source`, stream `text`, `data["text/plain"]` may each be a string or a list of strings;
//!   pieces are appended straight into one `String`, without an intermediate `Vec`.
//! - Payloads that are never graded (`image/png`, `application/pdf`, widget state, cell
//!   attachments, unknown fields) are skipped with [`IgnoredAny`], which serde_json scans
//!   without allocating and without recursion; only the fact that an image was there is kept.
//! - Unknown output types are dropped; unknown cell types become raw cells; metadata of an
//!   unexpected shape is ignored. A `source` that is neither text nor a list of text is an
//!   error with its cell, line and column rather than a silent blank.
//! - The [`Limits`](super::Limits) are enforced as the parse goes, through the shared
//!   [`Budget`], so a hostile file fails early instead of filling memory.
//!
//! serde_json's recursion limit (128) stays on for everything that is deserialised into values.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;

use super::{
    normalize_newlines, Budget, Cell, CellKind, IngestError, Notebook, Output, OutputKind,
    SourceFormat,
};

/// Parses `.ipynb` JSON. Limit errors take precedence over the serde error they caused.
pub(crate) fn parse(text: &str, budget: &mut Budget<'_>) -> Result<Notebook, IngestError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = TopSeed {
        budget: &mut *budget,
    }
    .deserialize(&mut de)
    .and_then(|top| de.end().map(|()| top));
    if let Some(err) = budget.hit.take() {
        return Err(err);
    }
    let top = parsed.map_err(|err| json_error(&err, budget.current_cell))?;
    let raw = match top {
        Top::Object(raw) => raw,
        Top::Other(what) => {
            return Err(IngestError::NotANotebook {
                what: format!("the JSON is {what}, not an object with a `cells` list"),
            })
        }
    };
    let major = raw.nbformat.map(to_u32);
    if raw.worksheets || major.is_some_and(|m| m < 4) {
        return Err(IngestError::UnsupportedNbformat {
            major: major.unwrap_or(3),
        });
    }
    let Some(cells) = raw.cells else {
        return Err(IngestError::NotANotebook {
            what: "JSON without a `cells` list".to_string(),
        });
    };
    Ok(Notebook {
        cells,
        format: SourceFormat::Ipynb {
            nbformat: major.unwrap_or(4),
            minor: raw.minor.map(to_u32).unwrap_or(0),
        },
        language: raw.language,
    })
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Maps a serde_json error to the right variant: syntax and end-of-file errors are invalid
/// JSON, type errors an invalid notebook.
fn json_error(err: &serde_json::Error, cell: Option<usize>) -> IngestError {
    let (line, column) = (err.line(), err.column());
    let full = err.to_string();
    let suffix = format!(" at line {line} column {column}");
    let mut message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    if message == "recursion limit exceeded" {
        message = "nested more than 128 levels deep".to_string();
    }
    match err.classify() {
        Category::Data => IngestError::InvalidNotebook {
            cell,
            line,
            column,
            message,
        },
        category => IngestError::InvalidJson {
            line,
            column,
            message,
            truncated: category == Category::Eof,
        },
    }
}

/// Records a limit error in the budget and stops the parse.
fn charge<E: de::Error>(budget: &mut Budget<'_>, result: Result<(), IngestError>) -> Result<(), E> {
    result.map_err(|err| {
        let message = err.to_string();
        budget.hit = Some(err);
        E::custom(message)
    })
}

// Visitor methods that accept a value of an unexpected type and return a default, so that
// lenient fields (metadata, tags) never fail a notebook. Nested values are skipped with
// `IgnoredAny` (no allocation, no recursion).
macro_rules! ignore_scalars {
    ($ret:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($ret)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($ret)
        }
    };
}

macro_rules! ignore_str {
    ($ret:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($ret)
        }
    };
}

macro_rules! ignore_seq {
    ($de:lifetime, $ret:expr) => {
        fn visit_seq<A: SeqAccess<$de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($ret)
        }
    };
}

macro_rules! ignore_map {
    ($de:lifetime, $ret:expr) => {
        fn visit_map<A: MapAccess<$de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($ret)
        }
    };
}

/// A map key matched against known names without allocating; `None` for other keys.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<&'static str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for Key {
    type Value = Option<&'static str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().copied().find(|k| *k == v))
    }
}

/// The top-level value: a notebook object, or a description of what it is instead.
enum Top {
    Object(RawTop),
    Other(&'static str),
}

#[derive(Default)]
struct RawTop {
    cells: Option<Vec<Cell>>,
    nbformat: Option<u64>,
    minor: Option<u64>,
    worksheets: bool,
    language: Option<String>,
}

struct TopSeed<'a, 'l> {
    budget: &'a mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = Top;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a notebook (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        const KEYS: &[&str] = &[
            "cells",
            "nbformat",
            "nbformat_minor",
            "worksheets",
            "metadata",
        ];
        let mut raw = RawTop::default();
        while let Some(key) = map.next_key_seed(Key(KEYS))? {
            match key {
                Some("cells") => {
                    raw.cells = Some(map.next_value_seed(CellsSeed {
                        budget: &mut *self.budget,
                    })?);
                }
                Some("nbformat") => raw.nbformat = map.next_value_seed(LenientU64)?,
                Some("nbformat_minor") => raw.minor = map.next_value_seed(LenientU64)?,
                Some("worksheets") => {
                    map.next_value::<IgnoredAny>()?;
                    raw.worksheets = true;
                }
                Some("metadata") => {
                    raw.language = map.next_value_seed(NotebookLanguage {
                        budget: &mut *self.budget,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Top::Object(raw))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Top::Other("a list"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
        Ok(Top::Other("a string"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
        Ok(Top::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
        Ok(Top::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
        Ok(Top::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
        Ok(Top::Other("a number"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top::Other("null"))
    }
}

/// A version number; anything else (or a negative or fractional number) is `None`.
struct LenientU64;

impl<'de> DeserializeSeed<'de> for LenientU64 {
    type Value = Option<u64>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LenientU64 {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a version number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).ok())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        let ok = v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&v);
        Ok(ok.then_some(v as u64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.trim().parse().ok())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    ignore_seq!('de, None);
    ignore_map!('de, None);
}

/// The notebook's `metadata`: only the language is kept.
struct NotebookLanguage<'a, 'l> {
    budget: &'a mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for NotebookLanguage<'_, '_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NotebookLanguage<'_, '_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("notebook metadata")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kernelspec = None;
        let mut language_info = None;
        while let Some(key) = map.next_key_seed(Key(&["kernelspec", "language_info"]))? {
            match key {
                Some("kernelspec") => {
                    kernelspec = map.next_value_seed(StringField {
                        key: &["language"],
                        budget: &mut *self.budget,
                    })?;
                }
                Some("language_info") => {
                    language_info = map.next_value_seed(StringField {
                        key: &["name"],
                        budget: &mut *self.budget,
                    })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(kernelspec.or(language_info).filter(|l| !l.is_empty()))
    }

    ignore_scalars!(None);
    ignore_str!(None);
    ignore_seq!('de, None);
}

/// One string field (`key`, a one-element list) of an object; `None` when absent or not text.
struct StringField<'a, 'l> {
    key: &'static [&'static str],
    budget: &'a mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for StringField<'_, '_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StringField<'_, '_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key_seed(Key(self.key))? {
            if key.is_some() {
                found = map.next_value_seed(LenientString {
                    budget: &mut *self.budget,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    ignore_scalars!(None);
    ignore_str!(None);
    ignore_seq!('de, None);
}

/// A string, or `None` for a value of any other type.
struct LenientString<'a, 'l> {
    budget: &'a mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for LenientString<'_, '_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LenientString<'_, '_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let result = self.budget.add_text(v.len());
        charge(self.budget, result)?;
        Ok(Some(v.to_string()))
    }

    ignore_scalars!(None);
    ignore_seq!('de, None);
    ignore_map!('de, None);
}

/// The `cells` list.
struct CellsSeed<'a, 'l> {
    budget: &'a mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for CellsSeed<'_, '_> {
    type Value = Vec<Cell>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for CellsSeed<'_, '_> {
    type Value = Vec<Cell>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of cells")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut cells = Vec::new();
        // The buffer every cell's source is read into, piece by piece (see `CellSeed`).
        let mut source = String::new();
        loop {
            let index = cells.len();
            self.budget.current_cell = Some(index);
            let seed = CellSeed {
                index,
                source: &mut source,
                budget: &mut *self.budget,
            };
            let Some(cell) = seq.next_element_seed(seed)? else {
                break;
            };
            let result = self.budget.add_cell();
            charge(self.budget, result)?;
            cells.push(cell);
        }
        self.budget.current_cell = None;
        Ok(cells)
    }
}

/// One cell object.
struct CellSeed<'a, 'l> {
    index: usize,
    /// Where the cell's source is read, shared by the cells of a notebook: a source is a
    /// list of lines, and a string of its own grown line by line was reallocated a few
    /// times per cell; the cell keeps an exact copy.
    source: &'a mut String,
    budget: &'a mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for CellSeed<'_, '_> {
    type Value = Cell;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CellSeed<'_, '_> {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a cell (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cell, A::Error> {
        const KEYS: &[&str] = &["cell_type", "source", "outputs", "metadata"];
        let mut kind = CellKind::Raw;
        let source = self.source;
        source.clear();
        let mut outputs = Vec::new();
        let mut tags = Vec::new();
        while let Some(key) = map.next_key_seed(Key(KEYS))? {
            match key {
                Some("cell_type") => kind = map.next_value_seed(CellType)?,
                Some("source") => map.next_value_seed(Text {
                    buf: &mut *source,
                    join_with_newline: false,
                    budget: &mut *self.budget,
                })?,
                Some("outputs") => map.next_value_seed(Outputs {
                    out: &mut outputs,
                    budget: &mut *self.budget,
                })?,
                Some("metadata") => map.next_value_seed(Tags {
                    tags: &mut tags,
                    in_metadata: true,
                    budget: &mut *self.budget,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        normalize_newlines(source);
        Ok(Cell {
            index: self.index,
            kind,
            source: source.as_str().to_owned(),
            outputs,
            tags,
            first_line: 0,
        })
    }
}

/// `cell_type`: unknown or missing types are raw cells.
struct CellType;

impl<'de> DeserializeSeed<'de> for CellType {
    type Value = CellKind;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CellType {
    type Value = CellKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a cell type")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<CellKind, E> {
        Ok(match v {
            "markdown" => CellKind::Markdown,
            "code" => CellKind::Code,
            _ => CellKind::Raw,
        })
    }

    ignore_scalars!(CellKind::Raw);
    ignore_seq!('de, CellKind::Raw);
    ignore_map!('de, CellKind::Raw);
}

/// Text that is a string or a list of strings (`null` is empty), appended to `buf`. Source
/// lines carry their own `\n`; traceback lines do not, so those are joined with one.
struct Text<'a, 'b, 'l> {
    buf: &'a mut String,
    join_with_newline: bool,
    budget: &'b mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for Text<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a list of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        Piece {
            buf: self.buf,
            join_with_newline: self.join_with_newline,
            budget: self.budget,
        }
        .visit_str(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Piece {
                buf: &mut *self.buf,
                join_with_newline: self.join_with_newline,
                budget: &mut *self.budget,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// One string of a [`Text`] (`null` is skipped).
struct Piece<'a, 'b, 'l> {
    buf: &'a mut String,
    join_with_newline: bool,
    budget: &'b mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for Piece<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for Piece<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        let separator = self.join_with_newline && !self.buf.is_empty();
        let result = self.budget.add_text(v.len() + usize::from(separator));
        charge(self.budget, result)?;
        if separator {
            self.buf.push('\n');
        }
        self.buf.push_str(v);
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A cell's `metadata` (when `in_metadata`), keeping only `tags`; or the `tags` value itself:
/// a list of strings, or one string. Other shapes are ignored.
struct Tags<'a, 'b, 'l> {
    tags: &'a mut Vec<String>,
    in_metadata: bool,
    budget: &'b mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for Tags<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tags<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cell metadata")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key(&["tags"]))? {
            if key.is_some() && self.in_metadata {
                map.next_value_seed(Tags {
                    tags: &mut *self.tags,
                    in_metadata: false,
                    budget: &mut *self.budget,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.in_metadata {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        while let Some(tag) = seq.next_element_seed(LenientString {
            budget: &mut *self.budget,
        })? {
            self.tags.extend(tag);
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if !self.in_metadata {
            let result = self.budget.add_text(v.len());
            charge(self.budget, result)?;
            self.tags.push(v.to_string());
        }
        Ok(())
    }

    ignore_scalars!(());
}

/// A code cell's `outputs` list; outputs of unknown types are dropped.
struct Outputs<'a, 'b, 'l> {
    out: &'a mut Vec<Output>,
    budget: &'b mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for Outputs<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Outputs<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of outputs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(output) = seq.next_element_seed(OutputSeed {
            budget: &mut *self.budget,
        })? {
            if let Some(output) = output {
                let result = self.budget.add_outputs(1);
                charge(self.budget, result)?;
                self.out.push(output);
            }
        }
        Ok(())
    }

    ignore_scalars!(());
    ignore_str!(());
    ignore_map!('de, ());
}

/// One output object; `None` for unknown `output_type`s and non-objects.
struct OutputSeed<'a, 'l> {
    budget: &'a mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for OutputSeed<'_, '_> {
    type Value = Option<Output>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OutputSeed<'_, '_> {
    type Value = Option<Output>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an output (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        const KEYS: &[&str] = &[
            "output_type",
            "text",
            "data",
            "ename",
            "evalue",
            "traceback",
        ];
        let mut kind = None;
        let mut text = String::new();
        let mut bundle = Bundle::default();
        let (mut ename, mut evalue, mut traceback) = (String::new(), String::new(), String::new());
        while let Some(key) = map.next_key_seed(Key(KEYS))? {
            let (buf, join_with_newline) = match key {
                Some("output_type") => {
                    kind = map.next_value_seed(OutputType)?;
                    continue;
                }
                Some("data") => {
                    map.next_value_seed(BundleSeed {
                        bundle: &mut bundle,
                        budget: &mut *self.budget,
                    })?;
                    continue;
                }
                Some("text") => (&mut text, false),
                Some("ename") => (&mut ename, false),
                Some("evalue") => (&mut evalue, false),
                Some("traceback") => (&mut traceback, true),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            map.next_value_seed(Text {
                buf,
                join_with_newline,
                budget: &mut *self.budget,
            })?;
        }
        let Some(kind) = kind else {
            return Ok(None);
        };
        let mut text = match kind {
            OutputKind::Stream => text,
            OutputKind::ExecuteResult | OutputKind::DisplayData => {
                if bundle.plain.is_empty() {
                    bundle.alternative
                } else {
                    bundle.plain
                }
            }
            OutputKind::Error => {
                let mut text = format!("{ename}: {evalue}");
                let traceback = strip_ansi(&traceback);
                if !traceback.is_empty() {
                    text.push('\n');
                    text.push_str(&traceback);
                }
                text
            }
        };
        normalize_newlines(&mut text);
        Ok(Some(Output {
            kind,
            text,
            has_image: bundle.has_image,
        }))
    }

    ignore_scalars!(None);
    ignore_str!(None);
    ignore_seq!('de, None);
}

/// `output_type`: `None` for types this module does not know (e.g. nbformat 3's `pyout`).
struct OutputType;

impl<'de> DeserializeSeed<'de> for OutputType {
    type Value = Option<OutputKind>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OutputType {
    type Value = Option<OutputKind>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an output type")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(match v {
            "stream" => Some(OutputKind::Stream),
            "execute_result" => Some(OutputKind::ExecuteResult),
            "display_data" => Some(OutputKind::DisplayData),
            "error" => Some(OutputKind::Error),
            _ => None,
        })
    }

    ignore_scalars!(None);
    ignore_seq!('de, None);
    ignore_map!('de, None);
}

/// What is kept of an output's `data` (its MIME bundle).
#[derive(Default)]
struct Bundle {
    plain: String,
    /// `text/markdown` or `text/latex`, used when there is no `text/plain`.
    alternative: String,
    has_image: bool,
}

struct BundleSeed<'a, 'b, 'l> {
    bundle: &'a mut Bundle,
    budget: &'b mut Budget<'l>,
}

impl<'de> DeserializeSeed<'de> for BundleSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BundleSeed<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a MIME bundle")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(mime) = map.next_key_seed(MimeKey)? {
            let buf = match mime {
                Mime::Plain => &mut self.bundle.plain,
                Mime::Alternative if self.bundle.alternative.is_empty() => {
                    &mut self.bundle.alternative
                }
                Mime::Image => {
                    self.bundle.has_image = true;
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                Mime::Alternative | Mime::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            map.next_value_seed(Text {
                buf,
                join_with_newline: false,
                budget: &mut *self.budget,
            })?;
        }
        Ok(())
    }

    ignore_scalars!(());
    ignore_str!(());
    ignore_seq!('de, ());
}

/// The kinds of MIME types that matter here.
enum Mime {
    Plain,
    Alternative,
    Image,
    Other,
}

struct MimeKey;

impl<'de> DeserializeSeed<'de> for MimeKey {
    type Value = Mime;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Mime, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for MimeKey {
    type Value = Mime;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a MIME type")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Mime, E> {
        Ok(match v {
            "text/plain" => Mime::Plain,
            "text/markdown" | "text/latex" => Mime::Alternative,
            "application/pdf" => Mime::Image,
            _ if v.starts_with("image/") => Mime::Image,
            _ => Mime::Other,
        })
    }
}

/// Removes ANSI escape sequences (colours in IPython tracebacks): CSI (`ESC [ ... final`),
/// OSC (`ESC ] ... BEL` or `ESC ] ... ESC \`) and two-character escapes.
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notebook::Limits;

    fn parse_str(json: &str) -> Result<Notebook, IngestError> {
        parse(json, &mut Budget::new(&Limits::DEFAULT))
    }

    fn parse_limited(json: &str, limits: Limits) -> Result<Notebook, IngestError> {
        parse(json, &mut Budget::new(&limits))
    }

    #[test]
    fn source_may_be_a_string_or_a_list() {
        let nb = parse_str(
            r#"{"cells": [
                {"cell_type": "markdown", "metadata": {}, "source": "a\nb"},
                {"cell_type": "markdown", "metadata": {}, "source": ["a\n", "b"]},
                {"cell_type": "code", "metadata": {}, "source": null, "outputs": []},
                {"cell_type": "code", "metadata": {}}
            ], "nbformat": 4, "nbformat_minor": 5,
               "metadata": {"kernelspec": {"language": "python", "name": "python3"}}}"#,
        )
        .unwrap();
        assert_eq!(nb.cells.len(), 4);
        assert_eq!(nb.cells[0].source, "a\nb");
        assert_eq!(nb.cells[1].source, "a\nb");
        assert_eq!(nb.cells[2].source, "");
        assert_eq!(nb.cells[3].source, "");
        assert_eq!(nb.cells[3].index, 3);
        assert_eq!(nb.cells[3].first_line, 0);
        assert_eq!(
            nb.format,
            SourceFormat::Ipynb {
                nbformat: 4,
                minor: 5
            }
        );
        assert_eq!(nb.language.as_deref(), Some("python"));
    }

    #[test]
    fn outputs_of_every_kind() {
        let nb = parse_str(
            r#"{"cells": [{"cell_type": "code", "source": "x", "metadata": {"tags": ["q1", 3]},
              "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["a\r\n", "b\n"]},
                {"output_type": "execute_result", "execution_count": 1,
                 "data": {"text/plain": ["torch.Size([1, 32, 122, 122])"]}, "metadata": {}},
                {"data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
                 "output_type": "display_data", "metadata": {}},
                {"output_type": "display_data", "data": {"text/markdown": "**q** = 0.28"}},
                {"output_type": "error", "ename": "NameError", "evalue": "name 'torch' is not defined",
                 "traceback": ["\u001b[0;31mNameError\u001b[0m Traceback", "\u001b]8;;file:///x\u0007link\u001b]8;;\u0007 line 1"]},
                {"output_type": "pyout", "text": "dropped"},
                {"output_type": "widget", "data": {}},
                "not an output"
              ]}],
              "metadata": {"language_info": {"name": "python"}}}"#,
        )
        .unwrap();
        let cell = &nb.cells[0];
        assert_eq!(cell.kind, CellKind::Code);
        assert_eq!(cell.tags, vec!["q1".to_string()]);
        assert_eq!(cell.outputs.len(), 5);
        assert_eq!(cell.outputs[0].kind, OutputKind::Stream);
        assert_eq!(cell.outputs[0].text, "a\nb\n");
        assert_eq!(cell.outputs[1].kind, OutputKind::ExecuteResult);
        assert_eq!(cell.outputs[1].text, "torch.Size([1, 32, 122, 122])");
        assert!(cell.outputs[2].has_image);
        assert_eq!(cell.outputs[2].text, "<Figure>");
        assert_eq!(cell.outputs[3].text, "**q** = 0.28");
        assert!(!cell.outputs[3].has_image);
        assert_eq!(cell.outputs[4].kind, OutputKind::Error);
        assert_eq!(
            cell.outputs[4].text,
            "NameError: name 'torch' is not defined\nNameError Traceback\nlink line 1"
        );
        assert_eq!(nb.language.as_deref(), Some("python"));
        // Defaults when the file does not say.
        assert_eq!(
            nb.format,
            SourceFormat::Ipynb {
                nbformat: 4,
                minor: 0
            }
        );
    }

    #[test]
    fn lenient_metadata_and_unknown_fields() {
        let nb = parse_str(
            r#"{"cells": [
                {"cell_type": "markdown", "source": "x", "metadata": null, "id": "abc",
                 "attachments": {"a.png": {"image/png": "AAAA"}}},
                {"cell_type": "markdown", "source": "y", "metadata": {"tags": "answer"}},
                {"cell_type": "markdown", "source": "z", "metadata": {"tags": {"a": 1}}},
                {"cell_type": "heading", "source": "w", "level": 1}
              ], "metadata": [1, 2], "nbformat": "4", "nbformat_minor": 2.0, "extra": {"deep": [[[]]]}}"#,
        )
        .unwrap();
        assert_eq!(nb.cells[1].tags, vec!["answer".to_string()]);
        assert!(nb.cells[2].tags.is_empty());
        assert_eq!(nb.cells[3].kind, CellKind::Raw);
        assert_eq!(
            nb.format,
            SourceFormat::Ipynb {
                nbformat: 4,
                minor: 2
            }
        );
        assert_eq!(nb.language, None);
    }

    #[test]
    fn not_a_notebook() {
        for (json, what) in [
            ("[1, 2]", "a list"),
            ("\"text\"", "a string"),
            ("42", "a number"),
            ("null", "null"),
            ("true", "a boolean"),
        ] {
            let err = parse_str(json).unwrap_err();
            assert!(matches!(err, IngestError::NotANotebook { .. }), "{err:?}");
            assert!(err.to_string().contains(what), "{err}");
        }
        let err = parse_str(r#"{"metadata": {}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not a notebook: JSON without a `cells` list"
        );
    }

    #[test]
    fn nbformat_3_is_refused() {
        let err =
            parse_str(r#"{"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": []}]}"#)
                .unwrap_err();
        assert!(matches!(err, IngestError::UnsupportedNbformat { major: 3 }));
        let err = parse_str(r#"{"worksheets": []}"#).unwrap_err();
        assert!(matches!(err, IngestError::UnsupportedNbformat { major: 3 }));
        let err = parse_str(r#"{"cells": [], "nbformat": 2}"#).unwrap_err();
        assert!(matches!(err, IngestError::UnsupportedNbformat { major: 2 }));
    }

    #[test]
    fn json_errors_have_position_and_truncation() {
        let err = parse_str("{\"cells\": [\n  {\"source\": \"abc").unwrap_err();
        match &err {
            IngestError::InvalidJson {
                line, truncated, ..
            } => {
                assert_eq!(*line, 2);
                assert!(*truncated);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string().ends_with("(the file may be truncated)"),
            "{err}"
        );
        let err = parse_str("{\"cells\": [,]}").unwrap_err();
        assert!(
            matches!(
                err,
                IngestError::InvalidJson {
                    truncated: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.to_string().matches(" at line ").count(), 1, "{err}");
        let err = parse_str("{\"cells\": []} trailing").unwrap_err();
        assert!(matches!(err, IngestError::InvalidJson { .. }), "{err:?}");
    }

    #[test]
    fn wrong_shapes_name_the_cell() {
        let err = parse_str(r#"{"cells": [{"source": "ok"}, {"source": 5}]}"#).unwrap_err();
        match &err {
            IngestError::InvalidNotebook { cell, .. } => assert_eq!(*cell, Some(1)),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("(cell 2)"), "{err}");
        assert!(
            err.to_string()
                .contains("expected a string or a list of strings"),
            "{err}"
        );
        let err = parse_str(r#"{"cells": {"a": 1}}"#).unwrap_err();
        assert!(
            matches!(err, IngestError::InvalidNotebook { cell: None, .. }),
            "{err:?}"
        );
        let err = parse_str(r#"{"cells": [3]}"#).unwrap_err();
        assert!(err.to_string().contains("expected a cell"), "{err}");
    }

    #[test]
    fn deep_nesting_neither_recurses_nor_panics() {
        let depth = 100_000;
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        // Skipped values are scanned without recursion.
        let nb = parse_str(&format!(r#"{{"cells": [], "x": {deep}}}"#)).unwrap();
        assert!(nb.cells.is_empty());
        assert!(parse_str(&deep).is_err());
        assert!(parse_str(&"[".repeat(depth)).is_err());
        let err = parse_str(&format!(r#"{{"cells": [{{"source": [{deep}]}}]}}"#)).unwrap_err();
        assert!(
            matches!(err, IngestError::InvalidNotebook { .. }),
            "{err:?}"
        );
        let nested_objects = format!("{}{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        assert!(parse_str(&nested_objects).is_err());
    }

    #[test]
    fn limits_stop_the_parse() {
        let cells = format!(
            r#"{{"cells": [{}]}}"#,
            [r#"{"cell_type": "markdown", "source": "abc"}"#; 11].join(",")
        );
        let limits = Limits {
            max_cells: 10,
            ..Limits::DEFAULT
        };
        let err = parse_limited(&cells, limits).unwrap_err();
        assert!(
            matches!(err, IngestError::TooManyCells { limit: 10 }),
            "{err:?}"
        );
        let limits = Limits {
            max_text_bytes: 30,
            ..Limits::DEFAULT
        };
        let err = parse_limited(&cells, limits).unwrap_err();
        assert!(
            matches!(err, IngestError::TooMuchText { limit: 30 }),
            "{err:?}"
        );
        let outputs = format!(
            r#"{{"cells": [{{"cell_type": "code", "outputs": [{}]}}]}}"#,
            [r#"{"output_type": "stream", "text": ""}"#; 4].join(",")
        );
        let limits = Limits {
            max_outputs: 3,
            ..Limits::DEFAULT
        };
        let err = parse_limited(&outputs, limits).unwrap_err();
        assert!(
            matches!(err, IngestError::TooManyOutputs { limit: 3 }),
            "{err:?}"
        );
    }

    #[test]
    fn images_are_not_counted_as_text() {
        let image = "A".repeat(100_000);
        let json = format!(
            r#"{{"cells": [{{"cell_type": "code", "source": "plot()", "outputs": [
                {{"output_type": "display_data", "data": {{"image/png": "{image}", "text/plain": "<Figure>"}}}}]}}]}}"#
        );
        let limits = Limits {
            max_text_bytes: 100,
            ..Limits::DEFAULT
        };
        let nb = parse_limited(&json, limits).unwrap();
        assert!(nb.cells[0].outputs[0].has_image);
    }

    #[test]
    fn strip_ansi_keeps_text() {
        assert_eq!(strip_ansi("\u{1b}[1;31mred\u{1b}[0m plain"), "red plain");
        assert_eq!(strip_ansi("a\u{1b}"), "a");
        assert_eq!(strip_ansi("\u{1b}]0;title\u{1b}\\b"), "b");
        assert_eq!(strip_ansi("é ∙ ×"), "é ∙ ×");
    }
}
