//! examiner's tch encoder gives the embeddings sentence-transformers gives (cosine >= 0.999 on
//! every sentence of `tests/fixtures/embeddings/embeddings.json`, written once by `make.py`
//! there from our own sentences: long, empty, LaTeX, French, unicode arrows, shouting), and
//! examiner's client gets them through this crate's binary and caches them by content.
//! Skipped with a notice when the model is not installed (`cargo xtask setup` installs it).

use examiner::embed::{cosine, Model};
use examiner_reference::embed::Encoder;

/// examiner's client runs the binary built with these tests.
fn use_this_binary() {
    std::env::set_var(
        examiner::reference::client::ENV,
        env!("CARGO_BIN_EXE_examiner-reference"),
    );
}

#[derive(serde::Deserialize)]
struct Fixture {
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
}

fn model(cache: Option<&std::path::Path>) -> Option<Model> {
    use_this_binary();
    match Model::locate() {
        Ok(dir) => Some(Model::load(&dir, cache).expect("the installed model loads")),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

#[test]
fn embeddings_match_sentence_transformers() {
    let dir = match Model::locate() {
        Ok(dir) => dir,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let encoder = Encoder::load(&dir).expect("the installed model loads");
    let fixture: Fixture =
        serde_json::from_str(include_str!("fixtures/embeddings/embeddings.json"))
            .expect("fixture parses");
    assert!(fixture.sentences.len() >= 20);
    let texts: Vec<&str> = fixture.sentences.iter().map(String::as_str).collect();
    let ours = encoder.embed(&fixture.sentences);
    let mut worst = 1.0f64;
    for ((text, expected), got) in texts.iter().zip(&fixture.embeddings).zip(&ours) {
        assert_eq!(got.len(), expected.len(), "{text:?}");
        let norm: f64 = expected
            .iter()
            .map(|x| f64::from(*x).powi(2))
            .sum::<f64>()
            .sqrt();
        let c = cosine(got, expected) / norm;
        worst = worst.min(c);
        assert!(c >= 0.999, "cosine {c} for {text:?}");
    }
    eprintln!("worst cosine to sentence-transformers: {worst:.6}");
    // One at a time (no padding) gives the same as in a batch.
    let alone = encoder.embed(&fixture.sentences[..1]);
    assert!(cosine(&alone[0], &ours[0]) > 0.99999);
}

#[test]
fn embeddings_are_cached_by_content() {
    let dir = std::env::temp_dir().join(format!("examiner-embed-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let Some(model) = model(Some(&dir)) else {
        return;
    };
    let texts = [
        "Dropout rescales by 1/(1-p).",
        "The receptive field is 112.",
    ];
    let first = model
        .embed(&texts)
        .expect("embeds through examiner-reference");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "one cache file");
    // A new model reads the cache: the same vectors, without running the encoder.
    let again = Model::load(&Model::locate().unwrap(), Some(&dir)).unwrap();
    // Without a binary to run: only the cache can answer.
    std::env::set_var(
        examiner::reference::client::ENV,
        "/nonexistent/examiner-reference",
    );
    let second = again.embed(&texts).expect("answered from the cache");
    use_this_binary();
    assert_eq!(first, second);
    let _ = std::fs::remove_dir_all(&dir);
}
