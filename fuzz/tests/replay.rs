//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through every target: the same
//! inputs in the same order on every run, no libFuzzer, no libtorch. A crash the fuzzer found
//! is fixed by adding its input to the corpus, where this test keeps it fixed.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{target}: an empty corpus");
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let started = std::time::Instant::now();
        run(&data);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{target}: {} took {:?}",
            file.display(),
            started.elapsed()
        );
    }
    println!("{target}: {} inputs replayed", files.len());
}

#[test]
fn notebook_corpus() {
    replay("notebook", examiner_fuzz::notebook);
}

#[test]
fn text_export_corpus() {
    replay("text_export", examiner_fuzz::text_export);
}

#[test]
fn answer_corpus() {
    replay("answer", examiner_fuzz::answer);
}

#[test]
fn rubric_corpus() {
    replay("rubric", examiner_fuzz::rubric);
}
