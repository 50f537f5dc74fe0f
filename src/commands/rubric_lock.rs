//! `examiner rubric lock`: computes each rubric's keys and writes its key lock beside it
//! ([`crate::rubric::lock`]); with `--check`, recomputes them and says which locks are missing
//! or differ, writing nothing.

use std::path::{Path, PathBuf};

use super::cache;
use crate::exit_codes;
use crate::reference::cache::Cache;
use crate::rubric::lock::{self, KeyLock};

/// `examiner rubric lock [--check] RUBRIC|DIR...`.
pub fn run(files: &[PathBuf], check: bool) -> anyhow::Result<i32> {
    // A check recomputes everything: a stale cache entry must not hide a changed result.
    let cache = if check { Cache::in_memory() } else { cache() };
    let mut failed = 0;
    for file in rubric_files(files)? {
        match lock_one(&file, &cache, check) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 {
        exit_codes::OK
    } else {
        exit_codes::USAGE_OR_INPUT
    })
}

/// The rubric files named, folders expanded to their `*.yaml` (not their `bank/`).
fn rubric_files(files: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for f in files {
        if f.is_dir() {
            out.extend(crate::rubric::load_dir(f)?.into_iter().map(|(p, _)| p));
        } else {
            out.push(f.clone());
        }
    }
    Ok(out)
}

fn lock_one(file: &Path, cache: &Cache, check: bool) -> anyhow::Result<String> {
    let rubric = crate::rubric::load_file(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let path = lock::path_for(file);
    if rubric.student {
        return Ok(format!(
            "{}: a student edition has no keys to lock",
            file.display()
        ));
    }
    let (keys, fresh) = crate::rubric::keys::lock(&rubric, cache)?;
    crate::checkers::gradient::verify_rubric(&rubric, &keys)?;
    if check {
        // Compared as read back from its text, like the lock on disk.
        let fresh: KeyLock = serde_json::from_str(&fresh.to_json())?;
        return match &rubric.lock {
            _ if fresh.entries.is_empty() && rubric.lock.is_none() => Ok(format!(
                "{}: no computed keys, no lock needed",
                file.display()
            )),
            None => anyhow::bail!(
                "no key lock ({} is missing): run `examiner rubric lock {}`",
                path.display(),
                file.display()
            ),
            Some(old) if same(old, &fresh) => Ok(format!(
                "{}: up to date ({} computations)",
                path.display(),
                fresh.entries.len()
            )),
            Some(_) => anyhow::bail!(
                "{} differs from a fresh computation: run `examiner rubric lock {}`",
                path.display(),
                file.display()
            ),
        };
    }
    if fresh.entries.is_empty() {
        if path.exists() {
            std::fs::remove_file(&path)
                .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", path.display()))?;
            return Ok(format!(
                "{}: no computed keys; removed {}",
                file.display(),
                path.display()
            ));
        }
        return Ok(format!(
            "{}: no computed keys, no lock needed",
            file.display()
        ));
    }
    write_atomically(&path, &fresh.to_json())?;
    Ok(format!(
        "{}: {} computations locked for `{}`",
        path.display(),
        fresh.entries.len(),
        rubric.id
    ))
}

/// Two locks hold the same computations and results (who wrote them aside).
fn same(a: &KeyLock, b: &KeyLock) -> bool {
    a.rubric == b.rubric && a.engine == b.engine && a.entries == b.entries
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| anyhow::anyhow!("cannot write in {}: {e}", dir.display()))?;
    tmp.write_all(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}
