//! `examiner grade`: a class against its rubrics: discover the submissions, grade them in
//! parallel ([`crate::grading::batch`]), print the summary and item analysis, and with `--out`
//! write the gradebook, results, JUnit, item analysis and feedback.

use std::path::Path;

use super::{prepare_rubrics, style, write_stdout};
use crate::cli::Threshold;
use crate::{exit_codes, report};

/// What `examiner grade` was asked to do.
#[derive(Debug)]
pub struct GradeArgs {
    pub submissions: Vec<std::path::PathBuf>,
    pub rubric: Option<std::path::PathBuf>,
    pub out: Option<std::path::PathBuf>,
    pub reviews: Option<std::path::PathBuf>,
    pub groups: bool,
    pub gradescope: bool,
    pub fail_under: Option<Threshold>,
    pub details: bool,
    pub jobs: Option<usize>,
}

/// `examiner grade`: a class against its rubrics.
pub fn run(args: GradeArgs) -> anyhow::Result<i32> {
    use crate::grading::batch::Outcome;
    use std::io::IsTerminal;

    let rubric_path = args.rubric.unwrap_or_else(|| "rubrics".into());
    let prepared = prepare_rubrics(&rubric_path)?;
    let inputs = if args.submissions.is_empty() {
        vec![std::path::PathBuf::from("submissions")]
    } else {
        args.submissions
    };
    let submissions = crate::grading::batch::discover(&inputs).map_err(anyhow::Error::msg)?;
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
    let mut graded = crate::grading::batch::grade_all(&submissions, &prepared, &|g| {
        bar.set_message(g.submission.student.clone());
        bar.inc(1);
    });
    bar.finish_and_clear();
    let merged = crate::grading::reviews::merge(
        args.reviews.as_deref(),
        args.out.as_deref(),
        &mut graded,
        &prepared,
    )?;
    if let Some(m) = &merged {
        for w in &m.warnings {
            eprintln!("examiner: warning: {w}");
        }
        let applied = m.reviews.saturating_sub(m.warnings.len());
        eprintln!(
            "examiner: {applied} of {} reviews applied from {}",
            m.reviews,
            m.file.display()
        );
    }

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
    let groups = args.groups.then(|| {
        let cache = crate::reference::cache::Cache::default_dir();
        crate::grading::groups::for_run(&report_rows, &prepared, cache.as_deref())
    });
    if let Some(Some(g)) = &groups {
        write_stdout(&report::groups::summary(g))?;
    }
    if let Some(out) = &args.out {
        write_outputs(out, &report_rows, &items, args.gradescope)?;
        if let Some(Some(g)) = &groups {
            write_atomic(&out.join("groups.json"), report::groups::json(g).as_bytes())?;
            write_atomic(
                &out.join("groups.md"),
                report::groups::markdown_doc(g).as_bytes(),
            )?;
        }
        eprintln!(
            "examiner: wrote gradebook.csv, results.json, junit.xml, items.md, items.json, \
             reviews-todo.csv and feedback/ to {}",
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
fn report_rows(graded: &[crate::grading::batch::Graded]) -> Vec<report::row::Row<'_>> {
    use crate::grading::batch::Outcome;
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
        ("reviews-todo.csv", report::review_todo::csv(rows)),
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
