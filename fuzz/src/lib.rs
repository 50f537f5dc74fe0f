//! Fuzz targets for the readers of untrusted input (issue 15): each takes arbitrary bytes and
//! must return without panicking, in bounded time and memory. The same functions are run by
//! libFuzzer (`cargo xtask fuzz`) and by the deterministic replay of the committed corpus
//! (`tests/replay.rs`, run in CI), which links neither libFuzzer nor libtorch.
//!
//! - [`notebook`]: the `.ipynb` reader, then what the locator does with every notebook (the
//!   line stream, hidden-HTML removal);
//! - [`text_export`]: the reader of text and markdown exports;
//! - [`answer`]: every answer reader (numbers, shapes, expressions, formulas);
//! - [`rubric`]: the rubric loader, then the locator with that rubric on a small notebook.

use examiner::notebook::{self, Limits};

/// Small limits, so that the fuzzer reaches the limit paths too.
const SMALL: Limits = Limits {
    max_file_bytes: 1 << 20,
    max_cells: 200,
    max_outputs: 200,
    max_text_bytes: 1 << 18,
    max_lines: 2_000,
};

/// What every read notebook goes through before answers are read.
fn lay_out(nb: &notebook::Notebook) {
    let stream = examiner::extract::text::Stream::new(nb);
    assert_eq!(stream.lines.len(), stream.starts.len());
    for cell in &nb.cells {
        let (shown, _) = examiner::extract::hidden::visible(&cell.source);
        assert_eq!(
            shown.matches('\n').count(),
            cell.source.matches('\n').count(),
            "hidden-HTML removal keeps every line"
        );
    }
}

/// The `.ipynb` reader, with the default and with small limits.
pub fn notebook(data: &[u8]) {
    for limits in [Limits::DEFAULT, SMALL] {
        if let Ok(nb) = notebook::read_bytes_with("fuzz.ipynb", data, &limits) {
            for (i, cell) in nb.cells.iter().enumerate() {
                assert_eq!(cell.index, i);
            }
            lay_out(&nb);
        }
    }
}

/// The text/markdown export reader.
pub fn text_export(data: &[u8]) {
    for name in ["fuzz.txt", "fuzz.md", "fuzz"] {
        if let Ok(nb) = notebook::read_bytes_with(name, data, &SMALL) {
            lay_out(&nb);
        }
    }
}

/// Every answer reader on the bytes as text.
pub fn answer(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = examiner::answer::normalize(&text);
    let _ = examiner::answer::numbers(&text);
    let _ = examiner::answer::final_value(&text);
    let _ = examiner::answer::shapes(&text);
    let _ = examiner::answer::final_shape(&text);
    let _ = examiner::answer::symbolic_shapes(&text);
    let _ = examiner::answer::final_symbolic_shape(&text);
    let _ = examiner::answer::parse_expr(&text);
    let _ = examiner::answer::find_expressions(&text, None);
    let _ = examiner::answer::find_expressions(&text, Some("q"));
    let _ = examiner::answer::formula_answer(&text, "q");
}

/// The rubric loader; a rubric that loads is used to locate answers in a small notebook.
pub fn rubric(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rubric) = examiner::rubric::load_str("fuzz.yaml", text) {
        let nb = notebook::read_bytes(
            "fuzz.md",
            b"# Summary Questions\n\n### CNNs\n\n3. What is the receptive field?\n\n**Answer:** 4\n",
        )
        .expect("a valid export");
        let _ = examiner::extract::extract(&nb, &rubric);
        let _ = examiner::extract::recognise(&nb, std::slice::from_ref(&rubric));
    }
}
