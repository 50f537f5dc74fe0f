//! The commands, one file each: what `examiner <command>` does once its arguments are parsed
//! (see [`crate::cli`]). The binary only parses the command line and calls [`run`]; the
//! helpers here are the ones every command shares (the reference cache, writing to standard
//! output, choosing rubrics).

pub mod check;
pub mod grade;
pub mod init;
pub mod reference;
pub mod review;
pub mod rubric_calibrate;
pub mod rubric_lint;
pub mod rubric_lock;
pub mod rubric_student;
pub mod rubric_test;

use std::path::Path;

use serde::Serialize;

use crate::cli::{Cli, Command, Format, RubricCommand};
use crate::exit_codes;
use crate::reference::cache::Cache;
use crate::report;

/// Runs the command `cli` names; the result is the process's exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Reference(r) => reference::run(r),
        Command::Rubric(RubricCommand::Lint { files }) => rubric_lint::run(&files),
        Command::Rubric(RubricCommand::Test { files }) => rubric_test::run(&files),
        Command::Rubric(RubricCommand::Lock { files, check }) => rubric_lock::run(&files, check),
        Command::Rubric(RubricCommand::Student { file, out }) => {
            rubric_student::run(&file, out.as_deref())
        }
        Command::Init {
            template,
            out,
            rubrics,
        } => init::run(&template, out.as_deref(), rubrics.as_deref()),
        Command::Rubric(RubricCommand::Calibrate {
            files,
            labels,
            notebooks,
            details,
            format,
        }) => rubric_calibrate::run(rubric_calibrate::CalibrateArgs {
            files,
            labels,
            notebooks,
            details,
            json: format == Format::Json,
        }),
        Command::Review {
            submissions,
            rubric,
            reviews,
            port,
            out,
            gradescope,
            follow_links,
        } => review::run(review::ReviewArgs {
            submissions,
            rubric,
            reviews,
            port,
            out,
            gradescope,
            follow_links,
        }),
        Command::Check {
            notebook,
            rubric,
            format,
        } => check::run(&notebook, rubric.as_deref(), format),
        Command::Grade {
            submissions,
            rubric,
            out,
            reviews,
            groups,
            gradescope,
            fail_under,
            details,
            items,
            jobs,
            follow_links,
        } => grade::run(grade::GradeArgs {
            submissions,
            rubric,
            out,
            reviews,
            groups,
            gradescope,
            fail_under,
            details,
            items,
            jobs,
            follow_links,
        }),
    }
}

/// The reference cache every command shares.
pub(crate) fn cache() -> Cache {
    Cache::default_dir().map_or_else(Cache::in_memory, Cache::in_dir)
}

pub(crate) fn print<T: Serialize>(
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

/// Writes report text to standard output, defused ([`report::sanitize`]): control
/// characters from student data shown as visible escapes (examiner's own colours kept when
/// colour is on), and under GitHub Actions, text with a line that looks like a workflow
/// command printed with workflow commands switched off. A reader that went away (`| head`) is
/// not an error.
pub(crate) fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut text = report::sanitize::terminal(text, style().color);
    if std::env::var_os("GITHUB_ACTIONS").is_some() && report::sanitize::has_workflow_command(&text)
    {
        text = report::sanitize::stop_commands(&text);
    }
    write_raw(&text)
}

/// Writes `text` to standard output as it is: only for text examiner made safe itself (the
/// escaped workflow commands of [`report::annotations`]).
pub(crate) fn write_raw(text: &str) -> anyhow::Result<()> {
    copy_raw(text.as_bytes())
}

/// Copies what `from` reads to standard output as it is, like [`write_raw`].
pub(crate) fn copy_raw(mut from: impl std::io::Read) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match std::io::copy(&mut from, &mut stdout).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Whether to colour terminal output: a terminal, and `NO_COLOR` unset.
pub(crate) fn style() -> report::terminal::Style {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    report::terminal::Style {
        color: !no_color && std::io::stdout().is_terminal(),
    }
}

/// The rubric for a notebook: the given file, or the matching one in the given folder (by
/// default `rubrics/` in the current folder). The note says which was chosen.
pub(crate) fn rubric_for(
    notebook: &crate::notebook::Notebook,
    rubric: Option<&Path>,
) -> anyhow::Result<(crate::rubric::Rubric, Option<String>)> {
    if let Some(path) = rubric.filter(|p| !p.is_dir()) {
        return Ok((crate::rubric::load_file(path)?, None));
    }
    let dir = rubric.unwrap_or(Path::new("rubrics"));
    if rubric.is_none() && !dir.is_dir() {
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| ".".into());
        anyhow::bail!(
            "no rubric given, and no rubrics/ folder here (looked for {cwd}/rubrics/)\n\
             give one: examiner check NOTEBOOK --rubric RUBRIC.yaml (or --rubric FOLDER), or \
             run examiner from the project folder, which has rubrics/"
        );
    }
    let all = crate::rubric::load_dir(dir).map_err(|e| {
        anyhow::anyhow!(
            "{e}\n(give a rubric with --rubric FILE, or a folder of them with --rubric DIR)"
        )
    })?;
    let rubrics: Vec<crate::rubric::Rubric> = all.into_iter().map(|(_, r)| r).collect();
    // From the question set's text, never from answers (issue 15, class 6).
    let mut stream = crate::extract::text::Stream::new(notebook);
    let candidates: Vec<&crate::rubric::Rubric> = rubrics.iter().collect();
    let found =
        crate::extract::recognise::recognise_outside_answers(&mut stream, notebook, &candidates)
            .map_err(anyhow::Error::msg)?;
    let chosen = found.rubric;
    // The source is always printed: a `rubrics/` folder in the working directory (a student
    // repository checked out in CI) must not win silently.
    let mut note = format!(
        "rubric: {} ({}), chosen from {}",
        chosen.id,
        chosen.title,
        std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .display()
    );
    if !found.also.is_empty() {
        let ids: Vec<&str> = found.also.iter().map(|r| r.id.as_str()).collect();
        note.push_str(&format!("; it also matches {}", ids.join(", ")));
    }
    Ok((chosen.clone(), Some(note)))
}

/// Loads the rubrics (a file or a folder) and computes their keys once.
pub(crate) fn prepare_rubrics(path: &Path) -> anyhow::Result<Vec<crate::grading::batch::Prepared>> {
    if !path.exists() {
        anyhow::bail!(
            "no rubric at `{}`: run examiner from the project folder (which has rubrics/), or \
             give --rubric FILE|DIR",
            path.display()
        );
    }
    let rubrics: Vec<crate::rubric::Rubric> = if path.is_dir() {
        crate::rubric::load_dir(path)?
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    } else {
        vec![crate::rubric::load_file(path)?]
    };
    let cache = cache();
    rubrics
        .into_iter()
        .map(|rubric| {
            let keys = crate::rubric::keys::resolve(&rubric, &cache)
                .map_err(|e| anyhow::anyhow!("rubric `{}`: {e}", rubric.id))?;
            Ok(crate::grading::batch::Prepared { rubric, keys })
        })
        .collect()
}

/// The class in `inputs` for a run that writes into `out` through `set`: its submissions and
/// what was skipped. `--out` is never a submission, and the set's own lock and staging folder
/// are examiner's files, not the class's: not even worth a skipped line.
pub(crate) fn discover_class(
    inputs: &[std::path::PathBuf],
    follow_links: bool,
    out: Option<&Path>,
    set: Option<&report::output_set::OutputSet>,
) -> anyhow::Result<crate::grading::batch::Discovery> {
    let own: Vec<std::path::PathBuf> = set.iter().flat_map(|s| s.own_paths()).collect();
    let options = crate::grading::batch::DiscoverOptions {
        follow_links_within: follow_links,
        exclude: out
            .iter()
            .map(|o| o.to_path_buf())
            .chain(own.iter().cloned())
            .collect(),
    };
    let mut discovery =
        crate::grading::batch::discover_with(inputs, &options).map_err(anyhow::Error::msg)?;
    discovery.skipped.retain(|s| {
        !std::fs::canonicalize(&s.path).is_ok_and(|p| {
            own.iter()
                .any(|o| std::fs::canonicalize(o).is_ok_and(|o| o == p))
        })
    });
    Ok(discovery)
}

/// The error of a run that found nothing to grade in `inputs`.
pub(crate) fn no_submissions(inputs: &[std::path::PathBuf]) -> anyhow::Error {
    anyhow::anyhow!(
        "no submissions (notebook files or student folders) in {}",
        report::sanitize::line(&format!("{inputs:?}"))
    )
}
