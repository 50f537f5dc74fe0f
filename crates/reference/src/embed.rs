//! The sentence encoder: all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions) with tch, as
//! sentence-transformers runs it (the steps are listed in `examiner::embed`, which keeps the
//! cache and asks this module only for texts it does not hold).

use std::path::Path;

use examiner::embed::{clip, MAX_TOKENS};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

/// Texts embedded together in one forward pass.
const BATCH: usize = 16;

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

/// A loaded encoder: tokeniser and weights.
#[derive(Debug)]
pub struct Encoder {
    tokenizer: tokenizers::Tokenizer,
    bert: Bert,
    _vs: nn::VarStore,
}

impl Encoder {
    /// Loads the model in `dir` on the CPU.
    pub fn load(dir: &Path) -> Result<Encoder, String> {
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            format!("cannot load {}: {what}: {e}", dir.display())
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
        let mut vs = nn::VarStore::new(Device::Cpu);
        let bert = Bert::new(&vs.root(), &config);
        vs.load(dir.join("model.safetensors"))
            .map_err(|e| fail("model.safetensors", &e))?;
        Ok(Encoder {
            tokenizer,
            bert,
            _vs: vs,
        })
    }

    /// The unit embedding of each of `texts`, in order, [`BATCH`] texts at a time. A text the
    /// tokeniser cannot handle gets the embedding of an empty text.
    pub fn embed(&self, texts: &[String]) -> Vec<Vec<f32>> {
        let encodings: Vec<Vec<u32>> = texts.iter().map(|t| self.tokens(t)).collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        // Similar lengths together: less padding.
        order.sort_by_key(|&i| encodings[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        let _guard = tch::no_grad_guard();
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| encodings[i].as_slice()).collect();
            for (&i, e) in chunk.iter().zip(self.forward(&batch)) {
                out[i] = e;
            }
        }
        out
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
