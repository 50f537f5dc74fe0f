//! The outputs of one `grade --out` run, written as one unit.
//!
//! A gradebook from one run beside feedback from another is worse than no output: a teacher
//! cannot tell. So a run never writes into `--out` itself:
//!
//! - it takes a lock beside the folder (`.<name>.examiner-lock`, an OS file lock released
//!   when the process ends, however it ends), so two runs into one `--out` cannot mix their
//!   files: the second fails at once with a clear error;
//! - it writes every file into a fresh staging folder beside `--out`, created exclusively with
//!   an unpredictable name (`tempfile`), each file created new (`O_EXCL`), so nothing is ever
//!   written through a name someone could have planted (a link to `/victim`);
//! - it then swaps the staging folder and `--out` in one atomic step (Linux `renameat2`
//!   with `RENAME_EXCHANGE`; elsewhere two renames), and removes the previous set.
//!
//! An abort at any point leaves the previous complete set in `--out`, or the new one; stale
//! staging folders are removed by the next run (it holds the lock, so they are no one's).
//! A folder that is not empty and was not written by examiner (no `.examiner-output` marker)
//! is never replaced.
//!
//! Fault injection for tests: with `EXAMINER_FAULT_AFTER_FILES=N` the process aborts as soon
//! as N files of the set are finished in the staging folder (0: before any; several files are
//! written at once, as a class is graded); N equal to the number of files aborts just before
//! the swap, and one more just after it (before the previous set is removed).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The file that marks a folder as an examiner output set, safe to replace.
pub const MARKER: &str = ".examiner-output";

/// The names an output set holds: a folder with only these was written by an examiner from
/// before the marker, and may be replaced.
const OUTPUT_NAMES: &[&str] = &[
    MARKER,
    "gradebook.csv",
    "results.json",
    "junit.xml",
    "items.md",
    "items.json",
    "skipped.txt",
    "feedback",
    "gradescope",
];

/// Whether every entry of `out` is one examiner writes (an output folder of an older
/// examiner, without the marker).
fn written_before_markers(out: &Path) -> bool {
    std::fs::read_dir(out).is_ok_and(|entries| {
        entries.flatten().all(|e| {
            OUTPUT_NAMES.contains(&e.file_name().to_string_lossy().as_ref())
                || e.file_name().to_string_lossy().ends_with(".tmp")
        })
    })
}

/// An output set being written; [`OutputSet::commit`] makes it the content of `--out`.
#[derive(Debug)]
pub struct OutputSet {
    out: PathBuf,
    staging: tempfile::TempDir,
    /// Held until the set is committed or dropped.
    _lock: File,
    lock_path: PathBuf,
    written: usize,
    fault_after: Option<usize>,
}

/// The name of `out`'s last component, for the hidden files beside it.
fn base_name(out: &Path) -> anyhow::Result<String> {
    match out.file_name() {
        Some(n) => Ok(n.to_string_lossy().into_owned()),
        None => bail!(
            "--out `{}` must name a folder (not `.`, `..` or `/`)",
            out.display()
        ),
    }
}

/// Opens (creating it) a lock file without following a link, and locks it.
fn lock(path: &Path, out: &Path) -> anyhow::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    if !file.metadata()?.is_file() {
        bail!("the lock file {} is not a regular file", path.display());
    }
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another examiner run is writing to {}; wait for it to finish",
            out.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

impl OutputSet {
    /// Starts a set for `out`: checks that `out` may be replaced, takes the lock, removes stale
    /// staging folders and creates a fresh one.
    pub fn begin(out: &Path) -> anyhow::Result<OutputSet> {
        let name = base_name(out)?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let lock_path = parent.join(format!(".{name}.examiner-lock"));
        let lock = lock(&lock_path, out)?;
        match std::fs::symlink_metadata(out) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", out.display())),
            Ok(m) if !m.is_dir() => bail!(
                "--out `{}` exists and is not a folder (links are not followed)",
                out.display()
            ),
            Ok(_) => {
                let empty = std::fs::read_dir(out)?.next().is_none();
                let ours = std::fs::symlink_metadata(out.join(MARKER)).is_ok_and(|m| m.is_file())
                    || written_before_markers(out);
                if !empty && !ours {
                    bail!(
                        "--out `{}` holds files examiner did not write; give an empty or new \
                         folder (examiner replaces the whole folder with each run)",
                        out.display()
                    );
                }
            }
        }
        let prefix = format!(".{name}.examiner-new-");
        // Stale staging folders of runs that were killed: we hold the lock, so they are no
        // one's.
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix)
                    && entry.file_type().is_ok_and(|t| t.is_dir())
                {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let staging = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(&parent)
            .with_context(|| format!("cannot create a staging folder in {}", parent.display()))?;
        let fault_after = std::env::var("EXAMINER_FAULT_AFTER_FILES")
            .ok()
            .and_then(|v| v.parse().ok());
        let mut set = OutputSet {
            out: out.to_path_buf(),
            staging,
            _lock: lock,
            lock_path,
            written: 0,
            fault_after,
        };
        // The marker is not one of the run's files: no fault point, not counted.
        let (mut marker, path) = set.create(MARKER)?;
        marker
            .write_all(b"written by examiner grade --out; replaced by each run\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        set.fault_point(0);
        Ok(set)
    }

    /// The lock file and the staging folder: examiner's own, never submissions.
    pub fn own_paths(&self) -> Vec<PathBuf> {
        vec![self.lock_path.clone(), self.staging.path().to_path_buf()]
    }

    /// Aborts the process when fault injection says so at this step.
    fn fault_point(&self, step: usize) {
        if self.fault_after == Some(step) {
            eprintln!("examiner: EXAMINER_FAULT_AFTER_FILES={step}: aborting");
            std::process::abort();
        }
    }

    /// Creates `relative` (a `/`-separated path of plain names) in the staging folder.
    /// Creates the new file `relative` of the staging folder (and its folders).
    fn create(&mut self, relative: &str) -> anyhow::Result<(File, PathBuf)> {
        let mut path = self.staging.path().to_path_buf();
        for part in relative.split('/') {
            if part.is_empty() || part == "." || part == ".." {
                bail!("internal error: output name `{relative}`");
            }
            path.push(part);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok((file, path))
    }

    /// Writes the file `relative` of the set.
    pub fn write(&mut self, relative: &str, bytes: &[u8]) -> anyhow::Result<()> {
        self.write_with(relative, |w| w.write_all(bytes))
    }

    /// Writes the file `relative` of the set as `write` produces it, through a buffer: a
    /// report of the whole class goes to the file as it is made instead of being built in
    /// memory first.
    pub fn write_with(
        &mut self,
        relative: &str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let mut file = self.open(relative)?;
        write(&mut file).with_context(|| format!("cannot write {}", file.path.display()))?;
        self.close(file)
    }

    /// Opens the file `relative` of the set, to be written while others are (results written
    /// as a class is graded); [`OutputSet::close`] finishes it.
    pub fn open(&mut self, relative: &str) -> anyhow::Result<Staged> {
        let (file, path) = self.create(relative)?;
        Ok(Staged {
            w: std::io::BufWriter::new(file),
            path,
        })
    }

    /// Finishes a file [`OutputSet::open`] gave. Fault injection counts finished files.
    pub fn close(&mut self, mut file: Staged) -> anyhow::Result<()> {
        file.w
            .flush()
            .with_context(|| format!("cannot write {}", file.path.display()))?;
        self.written += 1;
        self.fault_point(self.written);
        Ok(())
    }

    /// A scratch file in the staging folder (removed when closed, never part of the set):
    /// for a report whose start needs what comes last.
    pub fn scratch(&self) -> anyhow::Result<File> {
        tempfile::tempfile_in(self.staging.path()).with_context(|| {
            format!(
                "cannot create a scratch file in {}",
                self.staging.path().display()
            )
        })
    }

    /// Makes the set the content of `--out`, replacing the previous one in one step.
    pub fn commit(self) -> anyhow::Result<()> {
        let after_swap = self.written + 1;
        let fault_after = self.fault_after;
        let out = self.out.clone();
        let out = &out;
        let staging = self.staging.keep();
        let swapped = if std::fs::symlink_metadata(out).is_ok() {
            exchange(&staging, out).with_context(|| format!("cannot replace {}", out.display()))?;
            true
        } else {
            std::fs::rename(&staging, out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            false
        };
        if fault_after == Some(after_swap) {
            eprintln!("examiner: EXAMINER_FAULT_AFTER_FILES={after_swap}: aborting");
            std::process::abort();
        }
        if swapped {
            // `staging` now holds the previous set.
            std::fs::remove_dir_all(&staging)
                .with_context(|| format!("cannot remove the previous set {}", staging.display()))?;
        }
        Ok(())
    }
}

/// A file of an output set being written ([`OutputSet::open`]).
#[derive(Debug)]
pub struct Staged {
    w: std::io::BufWriter<File>,
    path: PathBuf,
}

impl Write for Staged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.w.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.w.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// Swaps the folders `a` and `b` atomically where the system can.
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Not atomic: the previous set is moved aside first, so an abort in between leaves it
    // under a hidden name beside --out.
    let aside = a.with_extension("previous");
    std::fs::rename(b, &aside)?;
    std::fs::rename(a, b)?;
    std::fs::rename(&aside, a)
}
