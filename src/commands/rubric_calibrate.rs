//! `examiner rubric calibrate`: grades labelled notebooks with rubrics and prints, per
//! question, how far examiner is from the labels, so a rubric author sees which rule set to
//! fix (see [`crate::grading::calibrate`]).

use std::path::PathBuf;

use super::{cache, write_stdout};
use crate::grading::calibrate::{self, Prepared};
use crate::{exit_codes, rubric};

/// What `examiner rubric calibrate` was asked.
#[derive(Debug)]
pub struct CalibrateArgs {
    /// Rubric files or folders.
    pub files: Vec<PathBuf>,
    /// The labels TSV.
    pub labels: PathBuf,
    /// More folders to look for the labelled notebooks in (after the labels' own folder).
    pub notebooks: Vec<PathBuf>,
    /// Also list every answer far from its label.
    pub details: bool,
    /// JSON instead of tables.
    pub json: bool,
}

/// `examiner rubric calibrate`: per-question agreement of the rubrics with a labels file.
pub fn run(args: CalibrateArgs) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(&args.labels)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.labels.display()))?;
    let labels = calibrate::read_labels(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.labels.display()))?;
    let mut rubrics = Vec::new();
    for file in &args.files {
        if file.is_dir() {
            rubrics.extend(rubric::load_dir(file)?.into_iter().map(|(_, r)| r));
        } else {
            rubrics.push(rubric::load_file(file)?);
        }
    }
    let cache = cache();
    let keys = rubrics
        .iter()
        .map(|r| {
            rubric::keys::resolve(r, &cache).map_err(|e| anyhow::anyhow!("rubric `{}`: {e}", r.id))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let prepared: Vec<Prepared<'_>> = rubrics
        .iter()
        .zip(&keys)
        .map(|(rubric, keys)| Prepared { rubric, keys })
        .collect();
    let dirs = calibrate::search_dirs(&args.labels, &args.notebooks);
    let result = calibrate::run(&labels, &prepared, &dirs);
    if args.json {
        let value = serde_json::json!({
            "per_question": result.per_question().into_iter()
                .map(|(q, f)| serde_json::json!({"question": q, "figures": f}))
                .collect::<Vec<_>>(),
            "overall": result.overall(),
            "held_out": result.held_out().into_iter()
                .map(|(v, held, rest)| serde_json::json!({"variant": v, "held_out": held, "rest": rest}))
                .collect::<Vec<_>>(),
            "answers": result.graded,
            "skipped": result.skipped,
        });
        write_stdout(&(serde_json::to_string_pretty(&value)? + "\n"))?;
    } else {
        write_stdout(&result.report(args.details))?;
    }
    Ok(if result.graded.is_empty() {
        eprintln!(
            "no labelled answer could be graded: give the notebooks' folder with --notebooks DIR"
        );
        exit_codes::USAGE_OR_INPUT
    } else {
        exit_codes::OK
    })
}
