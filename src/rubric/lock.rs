//! Key locks: the results of a rubric's reference computations, written by
//! `examiner rubric lock` beside the rubric (`rubrics/<name>.keys.json` for
//! `rubrics/<name>.yaml`) and shipped with it, so that grading needs neither libtorch nor a
//! cache.
//!
//! Each entry holds one computation as the key cache names it: its kind
//! (`receptive-field`, `dropout`, ...), its input (the question code and parameters), the
//! SHA-256 of both, and the result. When a rubric has a lock, every key comes from it: a
//! computation the lock does not hold (the code or a parameter changed since it was locked),
//! or a lock made by another revision of the computations ([`ENGINE`]), is an error that
//! says to lock again; it is never recomputed behind the author's back, and never silently
//! used. A rubric without a lock computes its keys as before (cache, then
//! `examiner-reference`). `EXAMINER_IGNORE_KEY_LOCKS=1` ignores locks (to compare a lock with
//! a fresh computation, as `cargo xtask` does).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::reference::client::ENGINE;

/// The format of the file.
pub const VERSION: u32 = 1;

/// The environment variable that makes examiner ignore key locks.
pub const IGNORE_ENV: &str = "EXAMINER_IGNORE_KEY_LOCKS";

/// Largest lock file read.
const MAX_LOCK_BYTES: u64 = 16 * 1024 * 1024;

/// A rubric's locked keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyLock {
    pub version: u32,
    /// The id of the rubric it was made for.
    pub rubric: String,
    /// The revision of the computations that produced it ([`ENGINE`]).
    pub engine: u32,
    /// Which examiner wrote it (information only).
    pub written_by: String,
    pub entries: Vec<Entry>,
    /// The file it was read from.
    #[serde(skip)]
    pub path: PathBuf,
}

/// One locked computation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub kind: String,
    /// SHA-256 of `{"kind": kind, "input": input}` as compact JSON.
    pub sha256: String,
    pub input: serde_json::Value,
    pub result: serde_json::Value,
}

impl KeyLock {
    /// An empty lock for `rubric`.
    pub fn new(rubric: &str) -> KeyLock {
        KeyLock {
            version: VERSION,
            rubric: rubric.to_string(),
            engine: ENGINE,
            written_by: format!("examiner {}", env!("CARGO_PKG_VERSION")),
            entries: Vec::new(),
            path: PathBuf::new(),
        }
    }

    /// The locked result of computation `kind` on `input`; `Err` says why the lock is stale.
    pub fn get(&self, kind: &str, input: &serde_json::Value) -> Result<serde_json::Value, String> {
        let stale = |why: String| {
            format!(
                "the key lock {} is stale: run `examiner rubric lock` on the rubric where \
                 libtorch is installed ({why})",
                self.path.display()
            )
        };
        if self.engine != ENGINE {
            return Err(stale(format!(
                "it was made by computation revision {}, this examiner has {ENGINE}",
                self.engine
            )));
        }
        let hash = hash(kind, input);
        self.entries
            .iter()
            .find(|e| e.sha256 == hash && e.kind == kind && e.input == *input)
            .map(|e| e.result.clone())
            .ok_or_else(|| {
                stale(format!(
                    "it holds no {kind} result for this code and these parameters"
                ))
            })
    }

    /// Records a result (once per input).
    pub fn insert(&mut self, kind: &str, input: serde_json::Value, result: serde_json::Value) {
        let sha256 = hash(kind, &input);
        if self.entries.iter().any(|e| e.sha256 == sha256) {
            return;
        }
        self.entries.push(Entry {
            kind: kind.to_string(),
            sha256,
            input,
            result,
        });
        self.entries
            .sort_by(|a, b| (&a.kind, &a.sha256).cmp(&(&b.kind, &b.sha256)));
    }

    /// The file's text.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// The lock file of the rubric file at `rubric`: `NAME.keys.json` beside `NAME.yaml`.
pub fn path_for(rubric: &Path) -> PathBuf {
    let stem = rubric
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    rubric.with_file_name(format!("{stem}.keys.json"))
}

/// Whether locks are ignored ([`IGNORE_ENV`]).
pub fn ignored() -> bool {
    std::env::var_os(IGNORE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Reads the lock of the rubric file at `rubric`, made for rubric id `id`: `Ok(None)` when
/// there is none.
pub fn read_for(rubric: &Path, id: &str) -> Result<Option<KeyLock>, String> {
    let path = path_for(rubric);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = crate::notebook::open::read_regular(
        &path,
        MAX_LOCK_BYTES,
        crate::notebook::open::Links::Follow,
    )
    .map_err(|e| format!("{}: cannot read the key lock: {e}", path.display()))?;
    let mut lock: KeyLock = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a key lock: {e}", path.display()))?;
    if lock.version != VERSION {
        return Err(format!(
            "{}: key lock format {} (this examiner reads {VERSION}); run `examiner rubric lock`",
            path.display(),
            lock.version
        ));
    }
    if lock.rubric != id {
        return Err(format!(
            "{}: the key lock is for rubric `{}`, not `{id}`",
            path.display(),
            lock.rubric
        ));
    }
    lock.path = path;
    Ok(Some(lock))
}

fn hash(kind: &str, input: &serde_json::Value) -> String {
    let text = serde_json::json!({ "kind": kind, "input": input }).to_string();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_answers_what_it_holds_and_calls_anything_else_stale() {
        let mut lock = KeyLock::new("r");
        let input = serde_json::json!({"code": "m = 1", "params": null});
        lock.insert("shape", input.clone(), serde_json::json!([1, 2]));
        assert_eq!(lock.get("shape", &input), Ok(serde_json::json!([1, 2])));
        let changed = serde_json::json!({"code": "m = 2", "params": null});
        assert!(lock.get("shape", &changed).unwrap_err().contains("stale"));
        assert!(lock.get("dropout", &input).unwrap_err().contains("stale"));
        lock.engine = ENGINE + 1;
        assert!(lock.get("shape", &input).unwrap_err().contains("revision"));
    }

    #[test]
    fn the_lock_file_sits_beside_the_rubric() {
        assert_eq!(
            path_for(Path::new("rubrics/a-b.yaml")),
            Path::new("rubrics/a-b.keys.json")
        );
    }
}
