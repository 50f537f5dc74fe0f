//! Opening untrusted paths: regular files only, never through a link, never blocking.
//!
//! Every file examiner reads from a folder someone else can write to (a class's submissions,
//! a rubric folder, the reference cache) goes through [`read_regular`]. The classes of file it
//! refuses, each with a reason a teacher can read in a gradebook row:
//!
//! - **Special files.** A FIFO, a socket or a device (`/dev/zero`, `/dev/stdin`) either blocks
//!   a reader forever or never ends, and reports size 0 so a size check made before reading
//!   means nothing. They are refused from their metadata before being opened; the open itself
//!   is non-blocking (`O_NONBLOCK`) and the opened file is checked again (the path may have
//!   been swapped in between), and reading stops one byte past the limit whatever the size
//!   said.
//! - **Symbolic links.** A link in a student's folder can point at any file of the grading
//!   machine (its content would end up in the student's own feedback) or at another
//!   student's submission. Links are refused (`O_NOFOLLOW` on the open as well, so a link
//!   planted after the check is refused too), unless the caller allows links that resolve to
//!   a regular file inside one folder ([`Links::Within`]).
//!
//! The workspace forbids `unsafe`, so only the flag constants come from `libc`.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::IngestError;

/// Whether a symbolic link may be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links<'a> {
    /// A link is an error.
    Refuse,
    /// A link is followed (for a path the user typed); its target must still be a regular
    /// file.
    Follow,
    /// A link is followed when it resolves to a regular file inside this folder.
    Within(&'a Path),
}

/// What kind of non-regular file `meta` describes, in words.
pub fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_symlink() {
        return "a symbolic link";
    }
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device file";
        }
    }
    if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Opens `path` for reading without following a final symbolic link and without blocking.
fn open_nofollow(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}

/// The path to open for `path` under `links`: `path` itself when it is not a link, its
/// target when links are allowed and it stays inside the folder, else the reason.
fn resolve(path: &Path, links: Links<'_>) -> Result<PathBuf, IngestError> {
    let io_error = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(io_error)?;
    if !meta.file_type().is_symlink() {
        return Ok(path.to_path_buf());
    }
    let root = match links {
        Links::Follow => return std::fs::canonicalize(path).map_err(io_error),
        Links::Refuse => {
            return Err(IngestError::NotRegular {
                what: "a symbolic link".into(),
                advice: "links are not followed; hand in the file itself",
            })
        }
        Links::Within(root) => root,
    };
    let outside = || IngestError::NotRegular {
        what: "a symbolic link that leads outside the student's folder".into(),
        advice: "only links to files in the same folder are followed",
    };
    let target = std::fs::canonicalize(path).map_err(|_| outside())?;
    let root = std::fs::canonicalize(root).map_err(io_error)?;
    if !target.starts_with(&root) {
        return Err(outside());
    }
    Ok(target)
}

/// The bytes of the regular file at `path`, at most `limit` of them.
///
/// Errors: a link (unless `links` allows it), a special file or a folder
/// ([`IngestError::NotRegular`]), a file larger than `limit` ([`IngestError::TooLarge`],
/// decided by reading, not by the size the file system reports), or an I/O error.
pub fn read_regular(path: &Path, limit: u64, links: Links<'_>) -> Result<Vec<u8>, IngestError> {
    let target = resolve(path, links)?;
    let io_error = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let not_regular = |meta: &Metadata| IngestError::NotRegular {
        what: kind_of(meta).into(),
        advice: "only regular files are read",
    };
    let meta = std::fs::symlink_metadata(&target).map_err(io_error)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let file = open_nofollow(&target).map_err(|e| {
        // ELOOP: the path became a link between the check and the open.
        if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
            IngestError::NotRegular {
                what: "a symbolic link".into(),
                advice: "links are not followed; hand in the file itself",
            }
        } else {
            io_error(e)
        }
    })?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    if meta.len() > limit {
        return Err(IngestError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > limit {
        return Err(IngestError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("examiner-open-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_regular_file_is_read_up_to_its_limit() {
        let d = dir("regular");
        std::fs::write(d.join("a.txt"), "hello").unwrap();
        assert_eq!(
            read_regular(&d.join("a.txt"), 5, Links::Refuse).unwrap(),
            b"hello"
        );
        let err = read_regular(&d.join("a.txt"), 4, Links::Refuse).unwrap_err();
        assert!(matches!(err, IngestError::TooLarge { .. }), "{err:?}");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn devices_and_folders_are_refused_without_reading() {
        let err = read_regular(Path::new("/dev/zero"), 10, Links::Refuse).unwrap_err();
        assert!(err.to_string().contains("device file"), "{err}");
        let err = read_regular(Path::new("/"), 10, Links::Refuse).unwrap_err();
        assert!(err.to_string().contains("folder"), "{err}");
    }

    #[test]
    fn links_are_refused_or_kept_inside_their_folder() {
        let d = dir("links");
        std::fs::create_dir_all(d.join("ada")).unwrap();
        std::fs::create_dir_all(d.join("eve")).unwrap();
        std::fs::write(d.join("ada/hw.md"), "ada's work").unwrap();
        std::fs::write(d.join("eve/part1.md"), "eve's part").unwrap();
        std::os::unix::fs::symlink("../ada/hw.md", d.join("eve/hw.md")).unwrap();
        std::os::unix::fs::symlink("part1.md", d.join("eve/again.md")).unwrap();
        let err = read_regular(&d.join("eve/hw.md"), 100, Links::Refuse).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let within = Links::Within(&d.join("eve"));
        let err = read_regular(&d.join("eve/hw.md"), 100, within).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
        assert_eq!(
            read_regular(&d.join("eve/again.md"), 100, within).unwrap(),
            b"eve's part"
        );
        std::fs::remove_dir_all(d).unwrap();
    }
}
