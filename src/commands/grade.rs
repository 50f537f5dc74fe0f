//! `examiner grade`: a class against its rubrics: discover the submissions, grade them in
//! parallel ([`crate::grading::batch`]), print the summary and item analysis, and with `--out`
//! write the gradebook, results, JUnit, item analysis and feedback.

use std::io::{Seek, Write};

use anyhow::Context;

use super::{copy_raw, prepare_rubrics, style, write_stdout};
use crate::cli::Threshold;
use crate::grading::batch::{Graded, Outcome};
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
    /// Print the full item table rather than the hardest questions.
    pub items: bool,
    pub jobs: Option<usize>,
    /// Follow links inside a student's folder that lead to a file in that same folder.
    pub follow_links: bool,
}

/// `examiner grade`: a class against its rubrics.
pub fn run(args: GradeArgs) -> anyhow::Result<i32> {
    use std::io::IsTerminal;

    let explicit = args.rubric.is_some();
    let rubric_path = args.rubric.unwrap_or_else(|| "rubrics".into());
    let prepared = prepare_rubrics(&rubric_path)?;
    if !explicit {
        // A `rubrics/` folder in the working directory (a student repository checked out in
        // CI) must not win silently: say which one was used.
        eprintln!(
            "examiner: rubrics from {} (give --rubric to choose)",
            report::sanitize::line(
                &std::fs::canonicalize(&rubric_path)
                    .unwrap_or_else(|_| rubric_path.clone())
                    .display()
                    .to_string()
            )
        );
    }
    let inputs = if args.submissions.is_empty() {
        vec![std::path::PathBuf::from("submissions")]
    } else {
        args.submissions
    };
    // A review file inside --out would be replaced with the outputs: refused before anything
    // is written (the merge after grading reads it).
    crate::grading::reviews::locate(args.reviews.as_deref(), args.out.as_deref())
        .map_err(anyhow::Error::msg)?;
    // The lock and the staging folder first: a second run into the same --out stops here.
    let output_set = match &args.out {
        Some(out) => Some(report::output_set::OutputSet::begin(out)?),
        None => None,
    };
    let discovery = super::discover_class(
        &inputs,
        args.follow_links,
        args.out.as_deref(),
        output_set.as_ref(),
    )?;
    for skip in &discovery.skipped {
        eprintln!(
            "examiner: skipped {}: {}",
            report::sanitize::line(&skip.path.display().to_string()),
            skip.reason
        );
    }
    let submissions = discovery.submissions;
    if submissions.is_empty() {
        return Err(super::no_submissions(&inputs));
    }
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
            .ok();
    }
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
    // Read before grading: a review file that cannot be used stops the run before its work.
    let reviews = crate::grading::reviews::open(args.reviews.as_deref(), args.out.as_deref())?;
    let style = style();
    let outputs = match output_set {
        Some(set) => {
            let students: Vec<&str> = submissions.iter().map(|s| s.student.as_str()).collect();
            Some(report::class_outputs::ClassOutputs::begin(
                set,
                &students,
                args.gradescope,
            )?)
        }
        None => None,
    };
    let mut sinks = Sinks {
        reviews,
        outputs,
        items: report::items::Gathering::default(),
        annotations: match std::env::var_os("GITHUB_ACTIONS") {
            Some(_) => Some(std::io::BufWriter::new(
                tempfile::tempfile()
                    .context("cannot create a scratch file for the GitHub annotations")?,
            )),
            None => None,
        },
        details: args.details.then_some(style),
        names: crate::grading::row::Names::default(),
        full: args.groups.then(Vec::new),
    };
    let mut graded: Vec<Kept> = Vec::with_capacity(submissions.len());
    crate::grading::batch::grade_class(
        &submissions,
        &prepared,
        &|g| {
            bar.set_message(g.submission.student.clone());
            bar.inc(1);
        },
        |g| {
            graded.push(sinks.take(g, &prepared, &bar)?);
            anyhow::Ok(())
        },
    )?;
    bar.finish_and_clear();
    let Sinks {
        reviews,
        outputs,
        items,
        annotations,
        full,
        ..
    } = sinks;
    if let Some(m) = reviews.map(|r| r.finish()) {
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

    let rows: Vec<_> = graded.iter().map(Kept::row).collect();
    let mut text = report::terminal::summary(&rows, style);
    let items = items.finish();
    text.push('\n');
    if args.items {
        text.push_str(&report::items::text(&items));
    } else {
        let stats = report::class_report::stats(&rows, &items);
        text.push_str(&report::class_report::terminal(&items, &stats));
    }
    write_stdout(&text)?;

    if let Some(annotations) = annotations {
        let mut file = annotations.into_inner().map_err(|e| e.into_error())?;
        file.seek(std::io::SeekFrom::Start(0))?;
        copy_raw(file)?;
    }
    let groups = full.map(|full| {
        let cache = crate::reference::cache::Cache::default_dir();
        crate::grading::groups::for_run(&report_rows(&full), &prepared, cache.as_deref())
    });
    if let Some(Some(g)) = &groups {
        write_stdout(&report::groups::summary(g))?;
    }
    for row in &rows {
        if let Some(r) = row.result() {
            for w in r.warnings.iter().chain(&r.grader_notes) {
                eprintln!(
                    "examiner: {}: {}",
                    report::sanitize::line(row.student()),
                    report::sanitize::line(w)
                );
            }
        }
    }
    if let (Some(out), Some(outputs)) = (&args.out, outputs) {
        outputs.finish(
            &rows,
            &items,
            &discovery.skipped,
            groups.as_ref().and_then(|g| g.as_deref()),
        )?;
        eprintln!(
            "examiner: wrote gradebook.csv, results.json, junit.xml, items.md, items.json, \
             report.html, reviews-todo.csv and feedback/ to {}",
            out.display()
        );
    }
    let failed = rows.iter().filter(|r| r.result().is_none()).count();
    if failed > 0 {
        eprintln!("examiner: {failed} submission(s) could not be graded; see the ERROR rows");
    }
    let below = args.fail_under.map_or(0, |t| {
        rows.iter()
            .filter(|row| match row.result() {
                Some(r) => {
                    let score = r.score.unwrap_or(0.0);
                    match t {
                        Threshold::Points(p) => score < p,
                        Threshold::Percent(p) => score < p / 100.0 * r.max_score,
                    }
                }
                None => true,
            })
            .count()
    });
    if below > 0 {
        eprintln!("examiner: {below} submission(s) below --fail-under");
        return Ok(exit_codes::BELOW_THRESHOLD);
    }
    Ok(exit_codes::OK)
}

/// Where each graded submission goes as soon as it is graded: the review file, the
/// submission's own outputs, the item analysis, the annotations and `--details`. Then only
/// its score card is kept (scores, statuses, points, reviews, warnings), so the class's
/// answers are never all in memory at once, except with `--groups`, which clusters them.
struct Sinks {
    reviews: Option<crate::grading::reviews::Pending>,
    outputs: Option<report::class_outputs::ClassOutputs>,
    items: report::items::Gathering,
    /// GitHub workflow commands, printed after the summary (under GitHub Actions only): kept
    /// in a scratch file until then, since a class has one per wrong answer.
    annotations: Option<std::io::BufWriter<std::fs::File>>,
    /// `--details`: each submission's result printed as it comes, in this style.
    details: Option<report::terminal::Style>,
    /// The names the score cards share.
    names: crate::grading::row::Names,
    /// With `--groups`: every result in full, for clustering the answers at the end.
    full: Option<Vec<Graded>>,
}

/// A graded submission as `grade` keeps it to the end of the run.
struct Kept {
    submission: crate::grading::batch::Submission,
    /// The score card, or why the submission could not be graded.
    card: Result<crate::grading::row::ScoreCard, String>,
}

impl Kept {
    /// The row of the class-level reports.
    fn row(&self) -> report::row::Row<'_, crate::grading::row::ScoreCard> {
        row_of(&self.submission, self.card.as_ref().map_err(String::as_str))
    }
}

impl Sinks {
    /// Hands `g` to every sink; returns what is kept of it.
    fn take(
        &mut self,
        mut g: Graded,
        prepared: &[crate::grading::batch::Prepared],
        bar: &indicatif::ProgressBar,
    ) -> anyhow::Result<Kept> {
        if let Some(r) = &mut self.reviews {
            r.apply(std::slice::from_mut(&mut g), prepared);
        }
        let row = report_row(&g);
        if let (Some(style), Outcome::Graded(r)) = (self.details, &g.outcome) {
            bar.suspend(|| write_stdout(&(report::terminal::submission(r, style) + "\n")))?;
        }
        self.items.add(row);
        if let Some(a) = &mut self.annotations {
            a.write_all(report::annotations::commands(&[row]).as_bytes())
                .context("cannot write the GitHub annotations to their scratch file")?;
        }
        if let Some(o) = &mut self.outputs {
            o.add(row)?;
        }
        let card = match &g.outcome {
            Outcome::Graded(r) => Ok(crate::grading::row::ScoreCard::of(r, &mut self.names)),
            Outcome::Failed { error } => Err(error.clone()),
        };
        let submission = match &mut self.full {
            Some(full) => {
                let submission = g.submission.clone();
                full.push(g);
                submission
            }
            None => g.submission,
        };
        Ok(Kept { submission, card })
    }
}

/// The graded class as the reporters see it.
pub(crate) fn report_rows(graded: &[Graded]) -> Vec<report::row::Row<'_>> {
    graded.iter().map(report_row).collect()
}

/// One graded submission as the reporters see it.
fn report_row(g: &Graded) -> report::row::Row<'_> {
    let outcome = match &g.outcome {
        Outcome::Graded(result) => Ok(result),
        Outcome::Failed { error } => Err(error.as_str()),
    };
    row_of(&g.submission, outcome)
}

/// The row of `submission`: graded, holding `outcome`'s result, or failed with its error.
fn row_of<'a, R>(
    submission: &'a crate::grading::batch::Submission,
    outcome: Result<&'a R, &'a str>,
) -> report::row::Row<'a, R> {
    match outcome {
        Ok(result) => report::row::Row::Graded {
            student: &submission.student,
            result,
        },
        Err(error) => report::row::Row::Failed {
            student: &submission.student,
            submission: submission.path.to_str().unwrap_or("?"),
            error,
        },
    }
}
