//! The `examiner` binary: parses the command line, calls the library, prints, and maps errors
//! to the documented exit codes.

mod cli;

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;

use cli::{CheckFormat, Cli, Command, Common, Format, Reference, RubricCommand, Threshold};
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
        Command::Grade {
            submissions,
            rubric,
            out,
            gradescope,
            fail_under,
            details,
            jobs,
        } => grade(GradeArgs {
            submissions,
            rubric,
            out,
            gradescope,
            fail_under,
            details,
            jobs,
        }),
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

/// What `examiner grade` was asked to do.
struct GradeArgs {
    submissions: Vec<std::path::PathBuf>,
    rubric: Option<std::path::PathBuf>,
    out: Option<std::path::PathBuf>,
    gradescope: bool,
    fail_under: Option<Threshold>,
    details: bool,
    jobs: Option<usize>,
}

/// Loads the rubrics (a file or a folder) and computes their keys once.
fn prepare_rubrics(path: &Path) -> anyhow::Result<Vec<examiner::grade::Prepared>> {
    if !path.exists() {
        anyhow::bail!(
            "no rubric at `{}`: run examiner from the project folder (which has rubrics/), or \
             give --rubric FILE|DIR",
            path.display()
        );
    }
    let rubrics: Vec<examiner::rubric::Rubric> = if path.is_dir() {
        examiner::rubric::load_dir(path)?
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    } else {
        vec![examiner::rubric::load_file(path)?]
    };
    let cache = cache();
    rubrics
        .into_iter()
        .map(|rubric| {
            let keys = examiner::rubric::keys::resolve(&rubric, &cache)
                .map_err(|e| anyhow::anyhow!("rubric `{}`: {e}", rubric.id))?;
            Ok(examiner::grade::Prepared { rubric, keys })
        })
        .collect()
}

/// `examiner grade`: a class against its rubrics.
fn grade(args: GradeArgs) -> anyhow::Result<i32> {
    use examiner::grade::Outcome;
    use std::io::IsTerminal;

    let rubric_path = args.rubric.unwrap_or_else(|| "rubrics".into());
    let prepared = prepare_rubrics(&rubric_path)?;
    let inputs = if args.submissions.is_empty() {
        vec![std::path::PathBuf::from("submissions")]
    } else {
        args.submissions
    };
    let submissions = examiner::grade::discover(&inputs).map_err(anyhow::Error::msg)?;
    if submissions.is_empty() {
        anyhow::bail!("no submissions (.ipynb, .txt, .md files or student folders) in {inputs:?}");
    }
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
            .ok();
    }
    // Reference computations are done (keys are prepared); keep libtorch to one thread per
    // worker in case a rubric computes more.
    tch::set_num_threads(1);

    let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let bar = if interactive {
        let bar = indicatif::ProgressBar::new(submissions.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} notebooks {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let graded = examiner::grade::grade_all(&submissions, &prepared, &|g| {
        bar.set_message(g.submission.student.clone());
        bar.inc(1);
    });
    bar.finish_and_clear();

    let style = style();
    let mut text = String::new();
    if args.details {
        for g in &graded {
            if let Outcome::Graded(r) = &g.outcome {
                text.push_str(&report::terminal::submission(r, style));
                text.push('\n');
            }
        }
    }
    let report_rows = report_rows(&graded);
    text.push_str(&report::terminal::summary(&report_rows, style));
    let items = report::items::analyse(&report_rows);
    text.push('\n');
    text.push_str(&report::items::text(&items));
    write_stdout(&text)?;

    if std::env::var_os("GITHUB_ACTIONS").is_some() {
        write_stdout(&report::annotations::commands(&report_rows))?;
    }
    if let Some(out) = &args.out {
        write_outputs(out, &report_rows, &items, args.gradescope)?;
        eprintln!(
            "examiner: wrote gradebook.csv, results.json, junit.xml, items.md, items.json and \
             feedback/ to {}",
            out.display()
        );
    }
    let failed = graded
        .iter()
        .filter(|g| matches!(g.outcome, Outcome::Failed { .. }))
        .count();
    if failed > 0 {
        eprintln!("examiner: {failed} submission(s) could not be graded; see the ERROR rows");
    }
    let below = args.fail_under.map_or(0, |t| {
        graded
            .iter()
            .filter(|g| match &g.outcome {
                Outcome::Graded(r) => {
                    let score = r.score.unwrap_or(0.0);
                    match t {
                        Threshold::Points(p) => score < p,
                        Threshold::Percent(p) => score < p / 100.0 * r.max_score,
                    }
                }
                Outcome::Failed { .. } => true,
            })
            .count()
    });
    if below > 0 {
        eprintln!("examiner: {below} submission(s) below --fail-under");
        return Ok(exit_codes::BELOW_THRESHOLD);
    }
    Ok(exit_codes::OK)
}

/// The graded class as the reporters see it.
fn report_rows(graded: &[examiner::grade::Graded]) -> Vec<report::row::Row<'_>> {
    use examiner::grade::Outcome;
    graded
        .iter()
        .map(|g| match &g.outcome {
            Outcome::Graded(result) => report::row::Row::Graded {
                student: &g.submission.student,
                result,
            },
            Outcome::Failed { error } => report::row::Row::Failed {
                student: &g.submission.student,
                submission: g.submission.path.to_str().unwrap_or("?"),
                error,
            },
        })
        .collect()
}

/// Writes `bytes` to `path` atomically: a reader sees the old file or the new one, never half.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// A student id safe as a file name.
fn file_stem_for(student: &str) -> String {
    let s: String = student
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.trim_start_matches('.').to_string()
}

/// `grade --out`: the gradebook, results, JUnit, item analysis and per-student feedback.
fn write_outputs(
    out: &Path,
    rows: &[report::row::Row<'_>],
    items: &report::items::ItemAnalysis,
    gradescope: bool,
) -> anyhow::Result<()> {
    let files = [
        ("gradebook.csv", report::gradebook::csv(rows)),
        ("results.json", report::json::results(rows)),
        ("junit.xml", report::junit::report(rows)),
        ("items.md", report::items::markdown(items)),
        ("items.json", serde_json::to_string_pretty(items)? + "\n"),
    ];
    for (name, text) in files {
        write_atomic(&out.join(name), text.as_bytes())?;
    }
    for row in rows {
        let Some(result) = row.result() else { continue };
        let stem = file_stem_for(row.student());
        let feedback = out.join("feedback");
        write_atomic(
            &feedback.join(format!("{stem}.md")),
            report::feedback_md::render(row.student(), result).as_bytes(),
        )?;
        write_atomic(
            &feedback.join(format!("{stem}.html")),
            report::feedback_html::render(row.student(), result).as_bytes(),
        )?;
        if gradescope {
            write_atomic(
                &out.join("gradescope").join(format!("{stem}.json")),
                report::gradescope::results(result).as_bytes(),
            )?;
        }
    }
    Ok(())
}

/// Whether to colour terminal output: a terminal, and `NO_COLOR` unset.
fn style() -> report::terminal::Style {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    report::terminal::Style {
        color: !no_color && std::io::stdout().is_terminal(),
    }
}

/// `examiner check`: every answer of one notebook as examiner reads it, for its student.
fn check(notebook_path: &Path, rubric: Option<&Path>, format: CheckFormat) -> anyhow::Result<i32> {
    let notebook = examiner::notebook::read_path(notebook_path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", notebook_path.display()))?;
    let (rubric, note) = rubric_for(&notebook, rubric)?;
    if let (Some(note), CheckFormat::Text) = (&note, format) {
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
    let out = match format {
        CheckFormat::Text => report::terminal::submission(&result, style()),
        CheckFormat::Json => serde_json::to_string_pretty(&result)? + "\n",
        CheckFormat::Junit => report::junit::report(&[report::row::Row::Graded {
            student: &student_of(notebook_path),
            result: &result,
        }]),
    };
    write_stdout(&out)?;
    Ok(if result.missing_required() {
        exit_codes::BELOW_THRESHOLD
    } else {
        exit_codes::OK
    })
}

fn student_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
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
