//! The way to libtorch. examiner never links it: a computation that needs it (a receptive
//! field by autograd, measured dropout, gradients, sentence embeddings) is sent to the
//! `examiner-reference` binary (crate `crates/reference`), which is built against libtorch.
//!
//! Only a miss of the key lock and of the cache gets here (see [`crate::rubric::keys`]), so
//! `check` and `grade` with keys already known never start it, and an install without libtorch
//! grades as long as every key it needs is locked or cached.
//!
//! The child is started once per examiner process, on the first request, and kept: libtorch
//! takes most of a second to load. The protocol is one JSON object per line: the child first
//! writes a [`Hello`]; then, for each [`Request`] line on its standard input, one [`Reply`]
//! line on its standard output. Its standard error is examiner's. It exits when its input
//! closes, that is when examiner does.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, PoisonError};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// The name of the binary.
pub const BINARY: &str = "examiner-reference";

/// The environment variable naming the binary to run, which wins over the search.
pub const ENV: &str = "EXAMINER_REFERENCE";

/// The revision of the protocol and of the computations behind it: bumped when a request or
/// reply changes shape, or when a computation can give a different result. Key locks record
/// it, so a lock made by other computations is stale ([`crate::rubric::lock`]).
pub const ENGINE: u32 = 1;

/// Largest reply read (a few hundred embeddings of 384 floats as JSON, or a gradient).
const MAX_REPLY_BYTES: u64 = 256 * 1024 * 1024;

/// What the child says first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// `examiner-reference <version>`.
    pub engine: String,
    /// Its [`ENGINE`].
    pub revision: u32,
}

/// One computation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "compute", rename_all = "kebab-case")]
pub enum Request {
    /// [`super::receptive_field::ReceptiveField`] of a model in question code.
    ReceptiveField {
        code: String,
        model: Option<String>,
        input: Option<Vec<i64>>,
    },
    /// [`super::dropout::Dropout`] measured for stacked probabilities.
    Dropout { p: Vec<f64> },
    /// [`super::gradient::Gradients`] of a scalar in question code.
    Gradient {
        code: String,
        of: Option<String>,
        wrt: Vec<String>,
    },
    /// [`super::gradient::Profile`] of a model in question code.
    Profile {
        code: String,
        model: Option<String>,
        input: Option<Vec<i64>>,
    },
    /// Unit sentence embeddings (`Vec<Vec<f32>>`, in order) of `texts` with the model in
    /// `model_dir` ([`crate::embed`]).
    Embed {
        model_dir: PathBuf,
        texts: Vec<String>,
    },
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reply {
    Ok(serde_json::Value),
    Error {
        /// The message starts with the `line:col` of the question code.
        located: bool,
        message: String,
    },
}

/// Runs `request` in `examiner-reference` and reads its result as `T`.
pub fn compute<T: DeserializeOwned>(request: &Request) -> Result<T> {
    let value = {
        let mut slot = CHILD.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(Session::start()?);
        }
        let session = slot
            .as_mut()
            .ok_or_else(|| Error::Unavailable(String::new()))?;
        match session.ask(request) {
            Ok(reply) => reply,
            Err(e) => {
                // A child that failed once is not trusted again; the next request starts anew.
                *slot = None;
                return Err(e);
            }
        }
    };
    match value {
        Reply::Ok(v) => serde_json::from_value(v).map_err(|e| {
            Error::Unavailable(format!("{BINARY} replied with an unexpected result: {e}"))
        }),
        Reply::Error { located, message } => Err(Error::Remote { located, message }),
    }
}

/// The binary that [`compute`] runs: [`ENV`] when set, else `examiner-reference` beside the
/// running executable (or one folder up, where test binaries live), else on `PATH`.
pub fn locate() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(unavailable(&format!(
                "{ENV}={} is not a file",
                path.display()
            )))
        };
    }
    let exe = std::env::current_exe().ok();
    let beside = exe.iter().flat_map(|e| {
        e.ancestors()
            .skip(1)
            .take(2)
            .map(|dir| dir.join(BINARY))
            .collect::<Vec<_>>()
    });
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(BINARY)).collect())
        .unwrap_or_default();
    beside
        .chain(on_path)
        .find(|p| p.is_file())
        .ok_or_else(|| unavailable("it is not beside examiner nor on PATH"))
}

fn unavailable(why: &str) -> Error {
    Error::Unavailable(format!(
        "this key needs libtorch, through `{BINARY}`, and {why}: lock the rubric's keys where \
         libtorch is installed (`examiner rubric lock RUBRIC`, then ship RUBRIC's .keys.json), \
         or build it (`cargo xtask setup && cargo build --release -p {BINARY}`) or set {ENV}"
    ))
}

static CHILD: Mutex<Option<Session>> = Mutex::new(None);

/// A running child.
#[derive(Debug)]
struct Session {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    path: PathBuf,
}

impl Session {
    fn start() -> Result<Session> {
        let path = locate()?;
        let mut child = Command::new(&path)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| unavailable(&format!("{} cannot be started: {e}", path.display())))?;
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(unavailable("its pipes could not be opened"));
        };
        let mut session = Session {
            child,
            input,
            output: BufReader::new(output),
            path,
        };
        let hello: Hello = serde_json::from_str(&session.line()?)
            .map_err(|e| session.failed(&format!("did not introduce itself ({e})")))?;
        if hello.revision != ENGINE {
            return Err(session.failed(&format!(
                "is {} (engine revision {}), but this examiner needs revision {ENGINE}: build \
                 both from the same source",
                hello.engine, hello.revision
            )));
        }
        Ok(session)
    }

    fn ask(&mut self, request: &Request) -> Result<Reply> {
        let mut text = serde_json::to_string(request)
            .map_err(|e| Error::Invalid(format!("cannot encode the request: {e}")))?;
        text.push('\n');
        if let Err(e) = self
            .input
            .write_all(text.as_bytes())
            .and_then(|()| self.input.flush())
        {
            return Err(self.failed(&format!("stopped reading requests ({e})")));
        }
        let line = self.line()?;
        serde_json::from_str(&line).map_err(|e| self.failed(&format!("replied `{e}`")))
    }

    /// One line of the child's output, at most [`MAX_REPLY_BYTES`].
    fn line(&mut self) -> Result<String> {
        let mut buf = Vec::new();
        let read = (&mut self.output)
            .take(MAX_REPLY_BYTES)
            .read_until(b'\n', &mut buf);
        match read {
            Ok(_) if buf.ends_with(b"\n") => {
                String::from_utf8(buf).map_err(|_| self.failed("wrote something that is not UTF-8"))
            }
            Ok(_) => Err(self.failed("stopped before answering")),
            Err(e) => Err(self.failed(&format!("could not be read ({e})"))),
        }
    }

    /// The error for a child that misbehaved, which is then stopped.
    fn failed(&mut self, what: &str) -> Error {
        let _ = self.child.kill();
        let status = self
            .child
            .wait()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        Error::Unavailable(format!(
            "{} {what}{status}; the computation needs libtorch through it",
            display(&self.path)
        ))
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
