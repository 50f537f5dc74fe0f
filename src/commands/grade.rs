//! `examiner grade`: a class against its rubrics: discover the submissions, grade them in
//! parallel ([`crate::grading::batch`]), print the summary and item analysis, and with `--out`
//! write the gradebook, results, JUnit, item analysis and feedback.

use super::{prepare_rubrics, style, write_raw, write_stdout};
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
    /// Print the full item table rather than the hardest questions.
    pub items: bool,
    pub jobs: Option<usize>,
    /// Follow links inside a student's folder that lead to a file in that same folder.
    pub follow_links: bool,
}

/// `examiner grade`: a class against its rubrics.
pub fn run(args: GradeArgs) -> anyhow::Result<i32> {
    use crate::grading::batch::Outcome;
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
    if args.items {
        text.push_str(&report::items::text(&items));
    } else {
        let stats = report::class_report::stats(&report_rows, &items);
        text.push_str(&report::class_report::terminal(&items, &stats));
    }
    write_stdout(&text)?;

    if std::env::var_os("GITHUB_ACTIONS").is_some() {
        write_raw(&report::annotations::commands(&report_rows))?;
    }
    let groups = args.groups.then(|| {
        let cache = crate::reference::cache::Cache::default_dir();
        crate::grading::groups::for_run(&report_rows, &prepared, cache.as_deref())
    });
    if let Some(Some(g)) = &groups {
        write_stdout(&report::groups::summary(g))?;
    }
    for g in &graded {
        if let Outcome::Graded(r) = &g.outcome {
            for w in r.warnings.iter().chain(&r.grader_notes) {
                eprintln!(
                    "examiner: {}: {}",
                    report::sanitize::line(&g.submission.student),
                    report::sanitize::line(w)
                );
            }
        }
    }
    if let (Some(out), Some(set)) = (&args.out, output_set) {
        write_outputs(
            set,
            &report_rows,
            &items,
            &discovery.skipped,
            args.gradescope,
            groups.as_ref().and_then(|g| g.as_deref()),
        )?;
        eprintln!(
            "examiner: wrote gradebook.csv, results.json, junit.xml, items.md, items.json, \
             report.html, reviews-todo.csv and feedback/ to {}",
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
pub(crate) fn report_rows(graded: &[crate::grading::batch::Graded]) -> Vec<report::row::Row<'_>> {
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

/// Longest feedback file stem, in bytes (file systems allow 255 for a whole name).
const MAX_STEM_BYTES: usize = 100;

/// A student id safe as a file name: letters, digits, `-`, `_` and `.`, no leading dot, at
/// most [`MAX_STEM_BYTES`] (a long id keeps its start and gets a hash of the whole).
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
    let s = s.trim_start_matches('.');
    let s = if s.is_empty() { "student" } else { s };
    if s.len() <= MAX_STEM_BYTES {
        return s.to_string();
    }
    let mut cut = MAX_STEM_BYTES - 17;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{:016x}", &s[..cut], fnv(student.as_bytes()))
}

/// 64-bit FNV-1a, for stable short names.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One file stem per row, all different (also ignoring case, for case-insensitive file
/// systems): ids that map to the same stem (`a b` and `a_b`) get `-2`, `-3`, ... in row
/// order.
fn file_stems(rows: &[report::row::Row<'_>]) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    rows.iter()
        .map(|row| {
            let base = file_stem_for(row.student());
            let mut stem = base.clone();
            let mut n = 1;
            while !taken.insert(stem.to_lowercase()) {
                n += 1;
                stem = format!("{base}-{n}");
            }
            stem
        })
        .collect()
}

/// `grade --out`: the gradebook, results, JUnit, item analysis, the skipped files and
/// per-student feedback, written as one set ([`report::output_set`]).
pub(crate) fn write_outputs(
    mut set: report::output_set::OutputSet,
    rows: &[report::row::Row<'_>],
    items: &report::items::ItemAnalysis,
    skipped: &[crate::grading::batch::Skipped],
    gradescope: bool,
    groups: Option<&[crate::grading::groups::QuestionGroups]>,
) -> anyhow::Result<()> {
    let mut skipped_text = String::new();
    for s in skipped {
        skipped_text.push_str(&format!(
            "{}: {}\n",
            report::sanitize::line(&s.path.display().to_string()),
            s.reason
        ));
    }
    // One file at a time, each dropped once written: a class's reports are not all held in
    // memory together, and the largest (results.json) goes to its file as it is serialised.
    set.write("gradebook.csv", report::gradebook::csv(rows).as_bytes())?;
    set.write_with("results.json", |w| report::json::write_results(rows, w))?;
    set.write("junit.xml", report::junit::report(rows).as_bytes())?;
    set.write("items.md", report::items::markdown(items).as_bytes())?;
    set.write(
        "items.json",
        (serde_json::to_string_pretty(items)? + "\n").as_bytes(),
    )?;
    set.write("skipped.txt", skipped_text.as_bytes())?;
    let page = report::class_report::render(rows, items, |s| {
        format!("feedback/{}.html", file_stem_for(s))
    });
    set.write("report.html", page.as_bytes())?;
    set.write(
        "reviews-todo.csv",
        report::review_todo::csv(rows).as_bytes(),
    )?;
    if let Some(g) = groups {
        set.write("groups.json", report::groups::json(g).as_bytes())?;
        set.write("groups.md", report::groups::markdown_doc(g).as_bytes())?;
    }
    for (row, stem) in rows.iter().zip(file_stems(rows)) {
        let Some(result) = row.result() else { continue };
        set.write(
            &format!("feedback/{stem}.md"),
            report::feedback_md::render(row.student(), result).as_bytes(),
        )?;
        set.write(
            &format!("feedback/{stem}.html"),
            report::feedback_html::render(row.student(), result).as_bytes(),
        )?;
        if gradescope {
            set.write(
                &format!("gradescope/{stem}.json"),
                report::gradescope::results(result).as_bytes(),
            )?;
        }
    }
    set.commit()
}
