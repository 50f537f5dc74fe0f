//! Reading submissions into cells: the real notebooks and exports in `../shared`, and hostile
//! inputs written for these tests in `tests/fixtures/notebooks/`.

use std::fs;
use std::path::{Path, PathBuf};

use examiner::notebook::{
    read_bytes, read_bytes_with, read_path, read_path_with, CellKind, IngestError, Limits,
    Notebook, OutputKind, SourceFormat,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/notebooks")
        .join(name)
}

fn read_fixture(name: &str) -> Result<Notebook, IngestError> {
    read_path(&fixture(name))
}

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// Kept text: what a parsed notebook holds in memory, roughly.
fn kept_bytes(nb: &Notebook) -> usize {
    nb.cells
        .iter()
        .map(|c| {
            c.source.len()
                + c.tags.iter().map(String::len).sum::<usize>()
                + c.outputs.iter().map(|o| o.text.len()).sum::<usize>()
        })
        .sum()
}

/// Every line of every text-export cell is the line `first_line` points to in the file.
fn assert_lines_map_back(path: &Path, text: &str, nb: &Notebook) {
    let file: Vec<&str> = text.split('\n').collect();
    for cell in &nb.cells {
        assert!(
            cell.first_line >= 1,
            "{}: cell {}",
            path.display(),
            cell.index
        );
        for (n, line) in cell.lines() {
            let at = cell.file_line(n).unwrap();
            let in_file = file[at - 1].trim_end_matches('\r');
            assert!(
                in_file.ends_with(line),
                "{}: cell {} line {n} is {line:?} but file line {at} is {in_file:?}",
                path.display(),
                cell.index
            );
        }
    }
}

#[test]
fn corpus_notebooks_match_their_json() {
    let Some(shared) = shared() else { return };
    let files = files_with_extension(&shared.join("corpus"), "ipynb");
    assert!(files.len() >= 19, "corpus has {} notebooks", files.len());
    let (mut results, mut images) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let nb = read_path(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let json: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        let raw_cells = json["cells"].as_array().unwrap();
        assert_eq!(nb.cells.len(), raw_cells.len(), "{name}");
        assert!(
            matches!(nb.format, SourceFormat::Ipynb { nbformat: 4, .. }),
            "{name}"
        );
        assert_eq!(nb.language.as_deref(), Some("python"), "{name}");
        assert!(nb.markdown_cells().count() > 0, "{name}");
        assert!(nb.code_cells().count() > 0, "{name}");
        for (cell, raw) in nb.cells.iter().zip(raw_cells) {
            let source = match &raw["source"] {
                serde_json::Value::Array(lines) => lines
                    .iter()
                    .map(|l| l.as_str().unwrap())
                    .collect::<String>(),
                serde_json::Value::String(s) => s.clone(),
                _ => String::new(),
            };
            assert_eq!(
                cell.source,
                source.replace("\r\n", "\n"),
                "{name} cell {}",
                cell.index
            );
            assert_eq!(cell.first_line, 0);
            let kind = match raw["cell_type"].as_str() {
                Some("markdown") => CellKind::Markdown,
                Some("code") => CellKind::Code,
                _ => CellKind::Raw,
            };
            assert_eq!(cell.kind, kind, "{name} cell {}", cell.index);
            let raw_outputs = raw["outputs"].as_array().map_or(0, Vec::len);
            assert_eq!(
                cell.outputs.len(),
                raw_outputs,
                "{name} cell {}",
                cell.index
            );
            for output in &cell.outputs {
                results += usize::from(output.text.contains("torch.Size([1, 32, 122, 122])"));
                images += usize::from(output.has_image);
                assert!(!output.text.contains('\u{1b}'), "{name}: ANSI escape kept");
            }
        }
        if !name.contains("TheoreticalQuestions") {
            assert!(
                nb.code_cells().any(|c| c.source.contains("nn.Sequential")),
                "{name}: no code cell with nn.Sequential"
            );
        }
    }
    assert!(results >= 10, "torch.Size outputs found: {results}");
    assert!(images >= 2, "image outputs found: {images}");
}

#[test]
fn seeds_are_split_into_cells() {
    let Some(shared) = shared() else { return };
    let files = files_with_extension(&shared.join("seeds"), "txt");
    assert_eq!(files.len(), 5);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(path).unwrap();
        let nb = read_path(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(nb.format, SourceFormat::TextExport, "{name}");
        assert!(nb.markdown_cells().count() > 0, "{name}");
        assert!(nb.cells.iter().enumerate().all(|(i, c)| c.index == i));
        let markers = text.lines().filter(|l| l.starts_with("In [")).count();
        // One code cell per `In [N]:` marker; the DRY answer sheet (004) has none.
        assert_eq!(nb.code_cells().count(), markers, "{name}");
        assert_lines_map_back(path, &text, &nb);
        // Every non-blank line of the file is in a cell or an output, in order.
        let kept: usize = nb
            .cells
            .iter()
            .map(|c| {
                c.text_with_outputs()
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .count()
            })
            .sum();
        let in_file = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("In ["))
            .count();
        assert_eq!(kept, in_file, "{name}");
        for code in nb.code_cells() {
            assert!(
                !code.source.contains("Answer"),
                "{name}: answer text swallowed by code cell {}:\n{}",
                code.index,
                code.source
            );
        }
        // Each code cell starts on the line after its marker.
        let file: Vec<&str> = text.lines().collect();
        let marker_lines = (0..file.len()).filter(|&i| file[i].starts_with("In ["));
        for (code, marker) in nb.code_cells().zip(marker_lines) {
            assert_eq!(code.first_line, marker + 2, "{name}");
            assert_eq!(
                code.lines().next().map(|(_, l)| l),
                file.get(marker + 1).copied()
            );
        }
        if text.contains("cnn = nn.Sequential(") {
            assert!(
                nb.code_cells()
                    .any(|c| c.source.contains("cnn = nn.Sequential(")),
                "{name}"
            );
        }
    }

    let seed0 = files[0].clone();
    let nb = read_path(&seed0).unwrap();
    let shapes: Vec<_> = nb
        .cells
        .iter()
        .flat_map(|c| &c.outputs)
        .filter(|o| o.text.contains("torch.Size"))
        .collect();
    assert!(shapes.len() >= 2, "{shapes:?}");
    assert!(shapes
        .iter()
        .any(|o| o.text == "torch.Size([1, 32, 122, 122])" && o.kind == OutputKind::Stream));
    // Question, code, output, then the answer: in that order.
    let question = nb
        .cells
        .iter()
        .position(|c| {
            c.source
                .contains("Imagine a CNN with three convolutional layers")
        })
        .unwrap();
    let code = question + 1;
    assert!(nb.cells[code].is_code());
    assert!(nb.cells[code].source.contains("cnn = nn.Sequential("));
    let answer = nb
        .cells
        .iter()
        .position(|c| c.source.contains("so the final size is 112x112"))
        .unwrap();
    assert!(answer > code);
    assert!(nb.cells[answer].is_markdown());

    // Seed 001 ends a cell with a NameError: an error output, not markdown.
    let nb = read_path(&files[1]).unwrap();
    assert!(nb
        .cells
        .iter()
        .flat_map(|c| &c.outputs)
        .any(|o| o.kind == OutputKind::Error && o.text.starts_with("NameError")));
}

#[test]
fn small_valid_notebook() {
    let nb = read_fixture("small_valid.ipynb").unwrap();
    assert_eq!(nb.cells.len(), 3);
    assert_eq!(
        nb.format,
        SourceFormat::Ipynb {
            nbformat: 4,
            minor: 5
        }
    );
    assert_eq!(nb.language.as_deref(), Some("python"));
    assert_eq!(
        nb.cells[0].source,
        "## Question 1\n\nWhat is the output shape of the layer below?"
    );
    let code = &nb.cells[1];
    assert_eq!(code.outputs[0].kind, OutputKind::ExecuteResult);
    assert_eq!(code.outputs[0].text, "torch.Size([2, 5])");
    assert!(code
        .text_with_outputs()
        .ends_with(".shape\ntorch.Size([2, 5])"));
    assert_eq!(nb.cells[2].tags, vec!["answer", "q1"]);
    assert_eq!(
        code.lines().last(),
        Some((3, "layer(torch.ones(2, 3)).shape"))
    );
}

#[test]
fn bad_json_is_reported_with_its_position() {
    let err = read_fixture("bad_json.ipynb").unwrap_err();
    let IngestError::InvalidJson {
        line, truncated, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(*line > 1);
    assert!(!truncated);
    let text = err.to_string();
    assert!(text.starts_with("not valid JSON at line "), "{text}");
    assert!(!text.contains("truncated"), "{text}");
}

#[test]
fn truncated_json_says_so() {
    let err = read_fixture("truncated.ipynb").unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::InvalidJson {
                truncated: true,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("not valid JSON"), "{text}");
    assert!(text.contains("the file may be truncated"), "{text}");
}

#[test]
fn nbformat_3_is_refused_with_advice() {
    let err = read_fixture("nbformat3.ipynb").unwrap_err();
    assert!(
        matches!(err, IngestError::UnsupportedNbformat { major: 3 }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("nbformat 3"), "{text}");
    assert!(text.contains("Jupyter 4+"), "{text}");
}

#[test]
fn empty_file() {
    let err = read_fixture("empty.ipynb").unwrap_err();
    assert!(matches!(err, IngestError::Empty), "{err:?}");
    assert_eq!(err.to_string(), "empty file");
}

#[test]
fn binary_garbage() {
    let err = read_fixture("binary_garbage.ipynb").unwrap_err();
    assert!(matches!(err, IngestError::Binary { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("binary file"), "{text}");
    assert!(text.contains("NUL byte at offset"), "{text}");
}

#[test]
fn non_utf8_text_gives_byte_and_offset() {
    let err = read_fixture("latin1_answer.txt").unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::NotUtf8 {
                byte: 0xE9,
                offset: 23,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "not UTF-8 text (byte 0xE9 at offset 23)");
}

#[test]
fn json_that_is_not_a_notebook() {
    let err = read_fixture("array.ipynb").unwrap_err();
    assert!(matches!(err, IngestError::NotANotebook { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("not a notebook: "), "{text}");
    assert!(text.contains("a list"), "{text}");

    let err = read_fixture("no_cells.ipynb").unwrap_err();
    assert!(matches!(err, IngestError::NotANotebook { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "not a notebook: JSON without a `cells` list"
    );
}

#[test]
fn wrong_shapes_name_the_cell() {
    let err = read_fixture("wrong_shape.ipynb").unwrap_err();
    assert!(
        matches!(err, IngestError::InvalidNotebook { cell: Some(2), .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("(cell 3)"), "{text}");
    assert!(
        text.contains("expected a string or a list of strings"),
        "{text}"
    );
}

#[test]
fn big_base64_image_is_skipped_not_kept() {
    let template = fs::read_to_string(fixture("big_image_template.ipynb")).unwrap();
    // 5 MB of base64, in lines of 76 characters as Jupyter writes them.
    let line = "iVBORw0KGgoAAAANSUhEUgAAA+gAAAPoCAYAAABNo9TkAAAAOXRFWHRTb2Z0d2FyZQBNYXRwbG90";
    let mut payload = String::with_capacity(5 * 1024 * 1024 + 100);
    while payload.len() < 5 * 1024 * 1024 {
        payload.push_str(line);
        payload.push_str("\\n");
    }
    let notebook = template.replace("BASE64_PAYLOAD", &payload);
    assert!(notebook.len() > 5 * 1024 * 1024);

    let nb = read_bytes("plot.ipynb", notebook.as_bytes()).unwrap();
    let outputs = &nb.cells[1].outputs;
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[0].kind, OutputKind::DisplayData);
    assert!(outputs[0].has_image);
    assert_eq!(outputs[0].text, "<Figure size 640x480 with 1 Axes>");
    assert!(!outputs[1].has_image);
    assert_eq!(outputs[1].text, "final loss 0.25\n");
    // Nothing of the image is kept...
    assert!(kept_bytes(&nb) < 1024, "kept {} bytes", kept_bytes(&nb));
    // ...nor counted: the notebook reads under a 64 KB text budget.
    let limits = Limits {
        max_text_bytes: 64 * 1024,
        ..Limits::DEFAULT
    };
    let small = read_bytes_with("plot.ipynb", notebook.as_bytes(), &limits).unwrap();
    assert_eq!(small, nb);
}

#[test]
fn source_forms_and_unknown_parts() {
    let nb = read_fixture("source_forms.ipynb").unwrap();
    assert_eq!(nb.cells.len(), 8);
    assert_eq!(nb.cells[0].source, "line one\nline two");
    assert_eq!(nb.cells[0].source, nb.cells[1].source);
    assert_eq!(nb.cells[2].source, "windows\nline endings\n");
    assert_eq!(nb.cells[3].source, "", "missing source is empty");
    let code = &nb.cells[4];
    assert_eq!(code.tags, vec!["runs-clean"]);
    assert_eq!(code.outputs.len(), 2, "the unknown output type is dropped");
    let error = &code.outputs[0];
    assert_eq!(error.kind, OutputKind::Error);
    assert!(error
        .text
        .starts_with("ZeroDivisionError: division by zero\n"));
    assert!(error.text.contains("----> 1 1 / 0"), "{}", error.text);
    assert!(!error.text.contains('\u{1b}'));
    assert_eq!(code.outputs[1].text, "warning\n");
    assert_eq!(nb.cells[5].kind, CellKind::Raw);
    assert_eq!(nb.cells[6].kind, CellKind::Raw, "nbformat 3 heading cell");
    assert_eq!(nb.cells[7].source, "![diagram](attachment:diagram.png)");
    assert!(kept_bytes(&nb) < 1024, "attachment data is not kept");
}

#[test]
fn utf8_bom_is_accepted() {
    let nb = read_fixture("bom.ipynb").unwrap();
    assert_eq!(nb.cells[0].source, "Answer: 112 × 112");
}

#[test]
fn text_export_fixture() {
    let path = fixture("text_export.txt");
    let text = fs::read_to_string(&path).unwrap();
    let nb = read_path(&path).unwrap();
    assert_lines_map_back(&path, &text, &nb);
    let kinds: Vec<CellKind> = nb.cells.iter().map(|c| c.kind).collect();
    use CellKind::{Code, Markdown};
    assert_eq!(
        kinds,
        [Markdown, Markdown, Code, Markdown, Markdown, Code, Markdown, Code, Markdown]
    );
    let c = &nb.cells;
    assert_eq!(
        c[0].source,
        "# Homework 1: Layers\n\nAnswer in the cells below each question."
    );
    assert!(c[1].source.starts_with("### Question 1"));
    assert_eq!(c[2].first_line, 10);
    assert!(c[2]
        .source
        .ends_with("model(torch.zeros(1, 1, 8, 8)).shape"));
    assert_eq!(c[2].outputs[0].text, "torch.Size([1, 2, 6, 6])");
    assert!(c[3].source.starts_with("**Answer:** (1, 2, 6, 6)"));
    assert_eq!(c[5].outputs[0].text, "p=0.28");
    assert_eq!(c[6].source, "Answer: q = 0.28.");
    assert_eq!(c[7].outputs[0].kind, OutputKind::Error);
    assert!(c[8]
        .source
        .ends_with("True or false: the model is linear.\n\nFalse, because of the ReLU."));
}

#[test]
fn markdown_export_fixture() {
    let path = fixture("markdown_export.md");
    let text = fs::read_to_string(&path).unwrap();
    let nb = read_path(&path).unwrap();
    assert_lines_map_back(&path, &text, &nb);
    assert_eq!(nb.language.as_deref(), Some("python"));
    assert_eq!(nb.code_cells().count(), 1);
    let code = nb.code_cells().next().unwrap();
    assert_eq!(code.first_line, 8);
    assert_eq!(code.outputs[0].text, "torch.Size([3, 2])");
    let last = nb.cells.last().unwrap();
    assert!(last.source.starts_with("### Question 2"));
    assert!(last
        .source
        .contains("```\nq = 1 - (1 - p1) * (1 - p2)\n```"));
    assert!(last.source.ends_with("Answer: the formula above."));
}

#[test]
fn deep_nesting_does_not_overflow() {
    for depth in [127, 128, 129, 100_000] {
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        for json in [
            deep.clone(),
            format!(r#"{{"cells": [], "metadata": {{"x": {deep}}}}}"#),
            format!(
                r#"{{"cells": [{{"cell_type": "code", "outputs": [{{"output_type": "stream", "text": {deep}}}]}}]}}"#
            ),
            "{\"a\":".repeat(depth),
        ] {
            // Any result but a crash: each is an error or a notebook.
            let _ = read_bytes("deep.ipynb", json.as_bytes());
        }
    }
}

#[test]
fn file_too_large_is_refused_before_reading() {
    let path = std::env::temp_dir().join(format!(
        "examiner-notebook-too-large-{}.ipynb",
        std::process::id()
    ));
    let file = fs::File::create(&path).unwrap();
    // A sparse file: large on paper, nothing written.
    file.set_len(65 * 1024 * 1024).unwrap();
    drop(file);
    let result = read_path(&path);
    fs::remove_file(&path).unwrap();
    let err = result.unwrap_err();
    assert!(matches!(err, IngestError::TooLarge { .. }), "{err:?}");
    assert_eq!(err.to_string(), "file too large: 65 MB (limit 64 MB)");

    let limits = Limits {
        max_file_bytes: 100,
        ..Limits::DEFAULT
    };
    let err = read_path_with(&fixture("small_valid.ipynb"), &limits).unwrap_err();
    assert!(
        matches!(err, IngestError::TooLarge { limit: 100, .. }),
        "{err:?}"
    );
}

#[test]
fn io_errors_name_the_path() {
    let missing = fixture("does-not-exist.ipynb");
    let err = read_path(&missing).unwrap_err();
    assert!(matches!(err, IngestError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("does-not-exist.ipynb"), "{err}");
    // A folder is not read at all (issue 15: regular files only).
    let dir = fixture("");
    let err = read_path(&dir).unwrap_err();
    assert!(matches!(err, IngestError::NotRegular { .. }), "{err:?}");
    assert!(err.to_string().contains("a folder"), "{err}");
}

#[test]
fn limits_on_cells_and_text() {
    let many_cells = format!(
        r#"{{"cells": [{}]}}"#,
        [r#"{"cell_type": "markdown", "source": "x"}"#; 101].join(",")
    );
    let limits = Limits {
        max_cells: 100,
        ..Limits::DEFAULT
    };
    let err = read_bytes_with("many.ipynb", many_cells.as_bytes(), &limits).unwrap_err();
    assert!(
        matches!(err, IngestError::TooManyCells { limit: 100 }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "too many cells (limit 100)");

    let text = "word ".repeat(1000);
    let limits = Limits {
        max_text_bytes: 1000,
        ..Limits::DEFAULT
    };
    let err = read_bytes_with("long.txt", text.as_bytes(), &limits).unwrap_err();
    assert!(
        matches!(err, IngestError::TooMuchText { limit: 1000 }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("too much text"), "{err}");
}

#[test]
fn parsing_is_deterministic() {
    for name in [
        "source_forms.ipynb",
        "text_export.txt",
        "markdown_export.md",
    ] {
        let bytes = fs::read(fixture(name)).unwrap();
        assert_eq!(
            read_bytes(name, &bytes).unwrap(),
            read_bytes(name, &bytes).unwrap()
        );
    }
}

/// Truncations and byte flips of real and fixture files: every result is a notebook or an
/// error, never a panic.
#[test]
fn mutated_files_never_panic() {
    let mut inputs: Vec<(String, Vec<u8>)> = [
        "source_forms.ipynb",
        "small_valid.ipynb",
        "text_export.txt",
        "markdown_export.md",
    ]
    .iter()
    .map(|name| (name.to_string(), fs::read(fixture(name)).unwrap()))
    .collect();
    if let Some(shared) = shared() {
        for dir in ["corpus", "seeds"] {
            for ext in ["ipynb", "txt"] {
                for path in files_with_extension(&shared.join(dir), ext)
                    .into_iter()
                    .take(3)
                {
                    let name = path.file_name().unwrap().to_string_lossy().to_string();
                    inputs.push((name, fs::read(&path).unwrap()));
                }
            }
        }
    }
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, bytes) in &inputs {
        for _ in 0..150 {
            let mut mutated = bytes.clone();
            match next() % 3 {
                0 => mutated.truncate((next() as usize) % (bytes.len() + 1)),
                1 => {
                    for _ in 0..1 + next() % 8 {
                        let at = (next() as usize) % mutated.len();
                        mutated[at] = (next() % 128) as u8;
                    }
                }
                _ => {
                    let at = (next() as usize) % mutated.len();
                    let insert: &[u8] = match next() % 6 {
                        0 => b"In [1]:\n",
                        1 => b"\n```python\n",
                        2 => b"[[[[{",
                        3 => b"\"\\u",
                        4 => b"\xF0\x9F",
                        _ => b"\n\n    (0): Conv2d(\n",
                    };
                    mutated.splice(at..at, insert.iter().copied());
                }
            }
            for as_name in [
                name.as_str(),
                "submission",
                "submission.txt",
                "submission.ipynb",
            ] {
                let _ = read_bytes(as_name, &mutated);
            }
        }
    }
}
