//! `examiner review`: grades the class as `grade` does, groups the answers by meaning when the
//! model is installed, and serves the review page ([`crate::review_page`]) on 127.0.0.1.

use std::path::PathBuf;

use super::prepare_rubrics;

/// `examiner review`: serves until stopped (Ctrl-C).
pub fn run(
    submissions: Vec<PathBuf>,
    rubric: Option<PathBuf>,
    reviews: Option<PathBuf>,
    port: u16,
) -> anyhow::Result<i32> {
    let prepared = prepare_rubrics(&rubric.unwrap_or_else(|| "rubrics".into()))?;
    let inputs = if submissions.is_empty() {
        vec![PathBuf::from("submissions")]
    } else {
        submissions
    };
    let found = crate::grading::batch::discover(&inputs).map_err(anyhow::Error::msg)?;
    let graded = crate::grading::batch::grade_all(&found, &prepared, &|_| {});
    let rows: Vec<crate::report::row::Row> = graded
        .iter()
        .filter_map(|g| match &g.outcome {
            crate::grading::batch::Outcome::Graded(result) => {
                Some(crate::report::row::Row::Graded {
                    student: &g.submission.student,
                    result,
                })
            }
            crate::grading::batch::Outcome::Failed { .. } => None,
        })
        .collect();
    let cache = crate::reference::cache::Cache::default_dir();
    let groups = crate::grading::groups::for_run(&rows, &prepared, cache.as_deref());
    drop(rows);
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    let port = listener.local_addr()?.port();
    let token = crate::review_page::random_hex();
    let reviews_file = reviews.unwrap_or_else(|| crate::grading::reviews::DEFAULT_FILE.into());
    // One write, and never an error: whoever started the server may stop reading its output
    // once it has the address (a closed pipe must not stop the server).
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = write!(
            out,
            "examiner: the review page is at http://127.0.0.1:{port}/?token={token}\n\
             examiner: grades go to {} at once; stop with Ctrl-C\n",
            reviews_file.display()
        );
        let _ = out.flush();
    }
    crate::review_page::serve(
        listener,
        crate::review_page::State {
            graded,
            rubrics: prepared,
            groups,
            reviews_file,
            token,
            port,
        },
    );
    Ok(crate::exit_codes::OK)
}
