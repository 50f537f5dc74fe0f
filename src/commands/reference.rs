//! `examiner reference ...`: one reference computation from the command line (receptive
//! field, parameters, shape, dropout, gradient) on question code from a file or standard input, through
//! the same cache as grading.

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::print;
use crate::cli::{Common, Reference};
use crate::reference::cache::Cache;
use crate::reference::{dropout, gradient, parameters, receptive_field, shape, Code};
use crate::report;

pub fn run(r: Reference) -> anyhow::Result<i32> {
    match r {
        Reference::ReceptiveField {
            model,
            input,
            common,
        } => {
            let rf = with_code(&common, "receptive-field", &(&model, &input), |source| {
                receptive_field::receptive_field(source, model.as_deref(), input.clone())
            })?;
            print(common.format, &rf, report::reference::receptive_field)
        }
        Reference::Parameters {
            model,
            input,
            common,
        } => {
            let p = with_code(&common, "parameters", &(&model, &input), |source| {
                parameters::parameters(&Code::new(source)?, model.as_deref(), input.clone())
            })?;
            print(common.format, &p, report::reference::parameters)
        }
        Reference::Shape { name, common } => {
            let s = with_code(&common, "shape", &name, |source| {
                shape::shape(&Code::new(source)?, name.as_deref())
            })?;
            print(common.format, &s, report::reference::shape_report)
        }
        Reference::Dropout {
            p,
            model,
            file,
            format,
        } => {
            let p = match file {
                Some(file) => {
                    let (name, source) = read_code(&file)?;
                    Code::new(&source)
                        .and_then(|code| dropout::probabilities(&code, model.as_deref()))
                        .map_err(|e| located(&name, e))?
                }
                None => p,
            };
            if p.len() > crate::cli::MAX_DROPOUT_LAYERS {
                anyhow::bail!(
                    "{} dropout layers: at most {} are computed",
                    p.len(),
                    crate::cli::MAX_DROPOUT_LAYERS
                );
            }
            let d = dropout::dropout(&p).map_err(|e| anyhow::anyhow!("{e}"))?;
            print(format, &d, report::reference::dropout)
        }
        Reference::Gradient {
            of,
            wrt,
            profile,
            model,
            input,
            common,
        } => {
            if profile {
                let p = with_code(&common, "profile", &(&model, &input), |source| {
                    gradient::profile(source, model.as_deref(), input.clone())
                })?;
                print(common.format, &p, report::reference::profile)
            } else {
                let g = with_code(&common, "gradient", &(&of, &wrt), |source| {
                    gradient::gradient(source, of.as_deref(), &wrt)
                })?;
                print(common.format, &g, report::reference::gradients)
            }
        }
    }
}

/// Reads question code from a file or standard input (`-`).
fn read_code(path: &Path) -> anyhow::Result<(String, String)> {
    use anyhow::Context;
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        Ok(("<stdin>".to_string(), s))
    } else {
        let s = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok((path.display().to_string(), s))
    }
}

/// Runs `compute` on the code in `common.file`, through the cache; errors name the file.
fn with_code<K: Serialize, T: Serialize + serde::de::DeserializeOwned>(
    common: &Common,
    kind: &str,
    params: &K,
    compute: impl FnOnce(&str) -> crate::reference::Result<T>,
) -> anyhow::Result<T> {
    let (name, source) = read_code(&common.file)?;
    let cache = if common.no_cache {
        Cache::in_memory()
    } else {
        Cache::default_dir().map_or_else(Cache::in_memory, Cache::in_dir)
    };
    let key = serde_json::json!({ "code": source, "params": params });
    let computed = if common.no_cache {
        compute(&source)
    } else {
        cache
            .get_or_compute(kind, &key, || compute(&source))
            .map(|(v, _)| v)
    };
    computed.map_err(|e| located(&name, e))
}

/// Prefixes an error with the file: `file:line:col: ...` for errors in the code itself.
fn located(file: &str, e: crate::reference::Error) -> anyhow::Error {
    use crate::reference::Error;
    match e {
        Error::Parse(_) | Error::Eval(_) | Error::Remote { located: true, .. } => {
            anyhow::anyhow!("{file}:{e}")
        }
        other => anyhow::anyhow!("{file}: {other}"),
    }
}
