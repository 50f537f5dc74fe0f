//! The `examiner` binary: parses the command line, calls the library, prints, and maps errors
//! to the documented exit codes.

mod cli;

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;

use cli::{Cli, Command, Common, Format, Reference, RubricCommand};
use examiner::exit_codes;
use examiner::reference::cache::Cache;
use examiner::reference::{dropout, gradient, receptive_field, shape, Code};
use examiner::report;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            eprintln!("examiner: error: {err:#}");
            ExitCode::from(exit_codes::USAGE_OR_INPUT as u8)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Reference(r) => reference(r),
        Command::Rubric(RubricCommand::Lint { files }) => lint(&files),
        Command::Rubric(RubricCommand::Test { files }) => rubric_test(&files),
        Command::Check {
            notebook,
            rubric,
            format,
        } => check(&notebook, rubric.as_deref(), format),
    }
}

/// The reference cache every command shares.
fn cache() -> Cache {
    Cache::default_dir().map_or_else(Cache::in_memory, Cache::in_dir)
}

/// `examiner rubric lint`: loads each rubric and computes its keys.
fn lint(files: &[std::path::PathBuf]) -> anyhow::Result<i32> {
    let cache = cache();
    let mut failed = 0;
    for file in files {
        let rubric = match examiner::rubric::load_file(file) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                failed += 1;
                continue;
            }
        };
        match examiner::rubric::keys::resolve(&rubric, &cache) {
            Ok(keys) => {
                let mut out = format!(
                    "{}: ok: `{}`, {} questions, {} points\n",
                    file.display(),
                    rubric.id,
                    rubric.questions.len(),
                    examiner::rubric::keys::format_number(rubric.max_score())
                );
                for (id, key) in &keys {
                    if let Some(line) = report::rubric::key_line(id, key) {
                        out.push_str(&line);
                    }
                }
                write_stdout(&out)?;
            }
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

fn print<T: Serialize>(
    format: Format,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> anyhow::Result<i32> {
    let out = match format {
        Format::Json => serde_json::to_string_pretty(value)? + "\n",
        Format::Text => text(value),
    };
    write_stdout(&out)?;
    Ok(exit_codes::OK)
}

/// Writes to standard output; a reader that went away (`| head`) is not an error.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// `examiner rubric test`: every sample answer must get its stated outcome.
fn rubric_test(files: &[std::path::PathBuf]) -> anyhow::Result<i32> {
    let cache = cache();
    let mut failed_samples = 0;
    let mut invalid = false;
    for file in files {
        let rubric = match examiner::rubric::load_file(file) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                invalid = true;
                continue;
            }
        };
        let keys = match examiner::rubric::keys::resolve(&rubric, &cache) {
            Ok(k) => k,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                invalid = true;
                continue;
            }
        };
        let outcomes = examiner::grading::samples::run(&rubric, &keys);
        failed_samples += outcomes.iter().filter(|o| !o.passed()).count();
        write_stdout(&report::rubric::samples(
            &file.display().to_string(),
            &outcomes,
        ))?;
    }
    Ok(if invalid {
        exit_codes::USAGE_OR_INPUT
    } else if failed_samples > 0 {
        exit_codes::BELOW_THRESHOLD
    } else {
        exit_codes::OK
    })
}

/// The rubric for a notebook: the given file, or the matching one in `rubrics/`.
fn rubric_for(
    notebook: &examiner::notebook::Notebook,
    rubric: Option<&Path>,
) -> anyhow::Result<(examiner::rubric::Rubric, Option<String>)> {
    if let Some(path) = rubric {
        return Ok((examiner::rubric::load_file(path)?, None));
    }
    let dir = Path::new("rubrics");
    let all = examiner::rubric::load_dir(dir).map_err(|e| {
        anyhow::anyhow!("{e}\n(run from the project folder, or give a rubric with --rubric FILE)")
    })?;
    let rubrics: Vec<examiner::rubric::Rubric> = all.into_iter().map(|(_, r)| r).collect();
    let chosen = examiner::extract::recognise(notebook, &rubrics).map_err(anyhow::Error::msg)?;
    let note = format!(
        "rubric: {} ({}), chosen from rubrics/",
        chosen.id, chosen.title
    );
    Ok((chosen.clone(), Some(note)))
}

/// `examiner check`: extraction of every answer of one notebook, for its student.
fn check(notebook_path: &Path, rubric: Option<&Path>, format: Format) -> anyhow::Result<i32> {
    let notebook = examiner::notebook::read_path(notebook_path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", notebook_path.display()))?;
    let (rubric, note) = rubric_for(&notebook, rubric)?;
    if let (Some(note), Format::Text) = (&note, format) {
        eprintln!("{note}");
    }
    let keys = examiner::rubric::keys::resolve(&rubric, &cache())
        .map_err(|e| anyhow::anyhow!("rubric `{}`: {e}", rubric.id))?;
    let name = notebook_path.display().to_string();
    let result = examiner::grading::check(
        &name,
        &notebook,
        &rubric,
        &keys,
        examiner::grading::Audience::Student,
    );
    print(format, &result, report::check::text)?;
    Ok(if result.missing_required() {
        exit_codes::BELOW_THRESHOLD
    } else {
        exit_codes::OK
    })
}

/// Runs `compute` on the code in `common.file`, through the cache; errors name the file.
fn with_code<K: Serialize, T: Serialize + serde::de::DeserializeOwned>(
    common: &Common,
    kind: &str,
    params: &K,
    compute: impl FnOnce(&Code) -> examiner::reference::Result<T>,
) -> anyhow::Result<T> {
    let (name, source) = read_code(&common.file)?;
    let cache = if common.no_cache {
        Cache::in_memory()
    } else {
        Cache::default_dir().map_or_else(Cache::in_memory, Cache::in_dir)
    };
    let key = serde_json::json!({ "code": source, "params": params });
    let computed = if common.no_cache {
        Code::new(&source).and_then(|code| compute(&code))
    } else {
        cache
            .get_or_compute(kind, &key, || {
                Code::new(&source).and_then(|code| compute(&code))
            })
            .map(|(v, _)| v)
    };
    computed.map_err(|e| located(&name, e))
}

/// Prefixes an error with the file: `file:line:col: ...` for errors in the code itself.
fn located(file: &str, e: examiner::reference::Error) -> anyhow::Error {
    use examiner::reference::Error;
    match e {
        Error::Parse(_) | Error::Eval(_) => anyhow::anyhow!("{file}:{e}"),
        other => anyhow::anyhow!("{file}: {other}"),
    }
}

fn reference(r: Reference) -> anyhow::Result<i32> {
    match r {
        Reference::ReceptiveField {
            model,
            input,
            common,
        } => {
            let rf = with_code(&common, "receptive-field", &(&model, &input), |code| {
                receptive_field::receptive_field(code, model.as_deref(), input.clone())
            })?;
            print(common.format, &rf, report::reference::receptive_field)
        }
        Reference::Shape { name, common } => {
            let s = with_code(&common, "shape", &name, |code| {
                shape::shape(code, name.as_deref())
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
                let p = with_code(&common, "profile", &(&model, &input), |code| {
                    gradient::profile(code, model.as_deref(), input.clone())
                })?;
                print(common.format, &p, report::reference::profile)
            } else {
                let g = with_code(&common, "gradient", &(&of, &wrt), |code| {
                    gradient::gradient(code, of.as_deref(), &wrt)
                })?;
                print(common.format, &g, report::reference::gradients)
            }
        }
    }
}
