//! Reference results kept by the content of their inputs (the code, the computation and its
//! parameters, examiner's version and the revision of the computations), in memory and on disk, so that grading thousands of
//! notebooks against one rubric computes each key once, and a second run computes nothing.
//!
//! The cache is an optimisation only: an unreadable or unwritable cache directory never fails
//! a computation.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::Result;

/// Where results are kept on disk.
#[derive(Debug, Default)]
pub struct Cache {
    dir: Option<PathBuf>,
    memory: Mutex<HashMap<String, String>>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: serde_json::Value,
    result: serde_json::Value,
}

/// Whether a result came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Computed,
    Memory,
    Disk,
}

impl Cache {
    /// A cache in memory only.
    pub fn in_memory() -> Self {
        Cache::default()
    }

    /// A cache in memory and in `dir`.
    pub fn in_dir(dir: PathBuf) -> Self {
        Cache {
            dir: Some(dir),
            memory: Mutex::default(),
        }
    }

    /// The default directory: `EXAMINER_CACHE_DIR`, else `$XDG_CACHE_HOME/examiner`, else
    /// `$HOME/.cache/examiner`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("EXAMINER_CACHE_DIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir));
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return Some(Path::new(&dir).join("examiner"));
        }
        std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache").join("examiner"))
    }

    /// The result for `key` of computation `kind`, computed by `compute` only when no cached
    /// result exists.
    pub fn get_or_compute<K, T>(
        &self,
        kind: &str,
        key: &K,
        compute: impl FnOnce() -> Result<T>,
    ) -> Result<(T, Origin)>
    where
        K: Serialize,
        T: Serialize + DeserializeOwned,
    {
        let key = serde_json::json!({
            "examiner": env!("CARGO_PKG_VERSION"),
            "engine": super::client::ENGINE,
            "kind": kind,
            "key": key,
        });
        let key_text = key.to_string();
        let name = format!("{kind}-{}.json", fingerprint(key_text.as_bytes()));

        if let Some(hit) = self
            .memory
            .lock()
            .ok()
            .and_then(|m| m.get(&key_text).cloned())
        {
            if let Ok(result) = serde_json::from_str(&hit) {
                return Ok((result, Origin::Memory));
            }
        }
        if let Some(result) = self.read_disk(&name, &key) {
            if let Ok(parsed) = serde_json::from_value::<T>(result.clone()) {
                self.remember(key_text, &result);
                return Ok((parsed, Origin::Disk));
            }
        }
        let result = compute()?;
        if let Ok(value) = serde_json::to_value(&result) {
            self.write_disk(&name, &key, &value);
            self.remember(key_text, &value);
        }
        Ok((result, Origin::Computed))
    }

    fn remember(&self, key: String, value: &serde_json::Value) {
        if let Ok(mut m) = self.memory.lock() {
            m.insert(key, value.to_string());
        }
    }

    fn read_disk(&self, name: &str, key: &serde_json::Value) -> Option<serde_json::Value> {
        let path = self.dir.as_ref()?.join(name);
        // Regular files only, never through a link (issue 15, class 1).
        let bytes = crate::notebook::open::read_regular(
            &path,
            MAX_ENTRY_BYTES,
            crate::notebook::open::Links::Refuse,
        )
        .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        // A hash collision or an edited file: not ours.
        (entry.key == *key).then_some(entry.result)
    }

    fn write_disk(&self, name: &str, key: &serde_json::Value, result: &serde_json::Value) {
        let Some(dir) = &self.dir else { return };
        if fs::create_dir_all(dir).is_err() {
            return;
        }
        let entry = Entry {
            key: key.clone(),
            result: result.clone(),
        };
        let Ok(text) = serde_json::to_string(&entry) else {
            return;
        };
        // Written beside, then renamed: a reader never sees half a file. The temporary file
        // is created exclusively with a random name, so a planted link is never written
        // through (issue 15, class 4); it is removed if anything fails.
        use std::io::Write;
        let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else {
            return;
        };
        if tmp.write_all(text.as_bytes()).is_ok() {
            let _ = tmp.persist(dir.join(name));
        }
    }
}

/// Largest cache entry read (entries are a few kilobytes).
const MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;

/// 128-bit FNV-1a of `bytes`, as hex.
fn fingerprint(bytes: &[u8]) -> String {
    let mut hash: u128 = 0x6c62272e07bb014262b821756295c58d;
    for &b in bytes {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(0x0000000001000000000000000000013B);
    }
    format!("{hash:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_second_evaluation_computes_nothing() {
        let cache = Cache::in_memory();
        let calls = Cell::new(0);
        let compute = || {
            calls.set(calls.get() + 1);
            Ok(vec![1i64, 2, 3])
        };
        let (a, first) = cache.get_or_compute("test", &"code", compute).unwrap();
        let (b, second) = cache.get_or_compute("test", &"code", compute).unwrap();
        assert_eq!((a, first), (b.clone(), Origin::Computed));
        assert_eq!(second, Origin::Memory);
        assert_eq!(calls.get(), 1);
        let (_, other) = cache
            .get_or_compute("test", &"other code", compute)
            .unwrap();
        assert_eq!(other, Origin::Computed);
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn results_survive_on_disk_and_a_foreign_file_is_ignored() {
        let dir = std::env::temp_dir().join(format!("examiner-cache-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let computed = Cache::in_dir(dir.clone())
            .get_or_compute("test", &42, || Ok(7.5f64))
            .unwrap();
        assert_eq!(computed, (7.5, Origin::Computed));
        let again = Cache::in_dir(dir.clone())
            .get_or_compute("test", &42, || Ok(0.0f64))
            .unwrap();
        assert_eq!(again, (7.5, Origin::Disk));
        // Overwrite the entry with one whose key differs: it must be recomputed.
        for file in fs::read_dir(&dir).unwrap().flatten() {
            fs::write(file.path(), r#"{"key": 1, "result": 99.0}"#).unwrap();
        }
        let recomputed = Cache::in_dir(dir.clone())
            .get_or_compute("test", &42, || Ok(8.5f64))
            .unwrap();
        assert_eq!(recomputed, (8.5, Origin::Computed));
        fs::remove_dir_all(&dir).unwrap();
    }
}
