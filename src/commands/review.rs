//! `examiner review`: grades the class as `grade` does, groups the answers by meaning when the
//! model is installed, and serves the review page ([`crate::review_page`]) on 127.0.0.1.
//!
//! With `--out DIR`, the grade outputs (the set `grade --out DIR` writes: gradebook, results,
//! JUnit, item analysis, class report, feedback, and groups when formed) are written into DIR
//! at start and regenerated after every grade, with the review file merged, each time as one
//! atomic set ([`crate::report::output_set`], through `grade`'s own writer), so DIR always
//! holds the current, complete gradebook. The review file may not lie inside DIR (each set
//! replaces the whole folder), as for `grade --out`.

use std::path::PathBuf;

use super::prepare_rubrics;
use crate::grading::batch::{Graded, Outcome, Skipped};
use crate::grading::groups::QuestionGroups;
use crate::report;

/// What `examiner review` was asked to do.
#[derive(Debug)]
pub struct ReviewArgs {
    pub submissions: Vec<PathBuf>,
    pub rubric: Option<PathBuf>,
    pub reviews: Option<PathBuf>,
    pub port: u16,
    /// Keep the grade outputs current in this folder.
    pub out: Option<PathBuf>,
    /// With `out`: also the Gradescope results, as `grade --gradescope`.
    pub gradescope: bool,
    pub follow_links: bool,
}

/// `examiner review`: serves until stopped (Ctrl-C).
pub fn run(args: ReviewArgs) -> anyhow::Result<i32> {
    let prepared = prepare_rubrics(&args.rubric.unwrap_or_else(|| "rubrics".into()))?;
    let inputs = if args.submissions.is_empty() {
        vec![PathBuf::from("submissions")]
    } else {
        args.submissions
    };
    let reviews_file = args
        .reviews
        .unwrap_or_else(|| crate::grading::reviews::DEFAULT_FILE.into());
    // As in `grade`: the review file never inside --out (refused before anything is written),
    // then the output lock and the first staging folder, so that a folder examiner may not
    // replace, or another run writing to it, stops the command before the class is graded.
    let first_set = match &args.out {
        Some(out) => {
            crate::grading::reviews::refuse_inside(&reviews_file, out)
                .map_err(anyhow::Error::msg)?;
            Some(report::output_set::OutputSet::begin(out)?)
        }
        None => None,
    };
    let discovery = super::discover_class(
        &inputs,
        args.follow_links,
        args.out.as_deref(),
        first_set.as_ref(),
    )?;
    if discovery.submissions.is_empty() {
        return Err(super::no_submissions(&inputs));
    }
    let graded = crate::grading::batch::grade_all(&discovery.submissions, &prepared, &|_| {});
    let rows: Vec<report::row::Row> = graded
        .iter()
        .filter_map(|g| match &g.outcome {
            Outcome::Graded(result) => Some(report::row::Row::Graded {
                student: &g.submission.student,
                result,
            }),
            Outcome::Failed { .. } => None,
        })
        .collect();
    let cache = crate::reference::cache::Cache::default_dir();
    let groups = crate::grading::groups::for_run(&rows, &prepared, cache.as_deref());
    drop(rows);
    let outputs = args.out.clone().map(|dir| crate::review_page::Outputs {
        write: writer(
            dir.clone(),
            discovery.skipped.clone(),
            args.gradescope,
            groups.clone(),
        ),
        dir,
        last_error: std::sync::Mutex::new(None),
    });
    let listener = std::net::TcpListener::bind(("127.0.0.1", args.port))?;
    let port = listener.local_addr()?.port();
    let token = crate::review_page::random_hex();
    let state = crate::review_page::State {
        graded,
        rubrics: prepared,
        groups,
        reviews_file,
        token,
        port,
        outputs,
    };
    // The first set before the URL is printed: DIR is current before the TA can grade.
    crate::review_page::regenerate(&state, first_set).map_err(anyhow::Error::msg)?;
    // Written, not `println!`: a closed standard output (a launcher that read the URL and
    // went away) must not stop the server with a panic.
    let mut notice = format!(
        "examiner: the review page is at http://127.0.0.1:{port}/?token={}\n\
         examiner: grades go to {} at once; stop with Ctrl-C\n",
        state.token,
        state.reviews_file.display()
    );
    if let Some(o) = &state.outputs {
        notice.push_str(&format!(
            "examiner: gradebook.csv, results.json, junit.xml, items.md, items.json, \
             report.html, reviews-todo.csv and feedback/ in {} are regenerated after every \
             grade\n",
            o.dir.display()
        ));
    }
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(notice.as_bytes()).and_then(|()| out.flush());
    }
    crate::review_page::serve(listener, state);
    Ok(crate::exit_codes::OK)
}

/// The writer of `review --out`: `grade --out`'s outputs of the class as given (reviews
/// applied), into `dir`, with the groups' points refreshed from the reviewed class.
fn writer(
    dir: PathBuf,
    skipped: Vec<Skipped>,
    gradescope: bool,
    groups: Option<Vec<QuestionGroups>>,
) -> Box<crate::review_page::WriteOutputs> {
    Box::new(move |graded: &[Graded], set| {
        let set = match set {
            Some(set) => set,
            None => report::output_set::OutputSet::begin(&dir)?,
        };
        let rows = super::grade::report_rows(graded);
        let items = report::items::analyse(&rows);
        let groups = groups
            .as_deref()
            .map(|g| crate::grading::groups::refresh(g, &rows));
        report::class_outputs::write_all(
            set,
            &rows,
            &items,
            &skipped,
            gradescope,
            groups.as_deref(),
        )
    })
}
