//! Grading throughput against the cost of parsing the same notebooks' JSON alone (the product
//! target: grading at no less than half that throughput). The corpus in `../shared/corpus` is
//! graded many times over; prints a table, asserts nothing. Skipped when `../shared` is absent.

use std::path::Path;
use std::time::Instant;

use examiner::grading::batch::Prepared;
use rayon::prelude::*;

/// Notebooks graded per measurement (the corpus repeated).
const NOTEBOOKS: usize = 2000;

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(entries) = std::fs::read_dir(&corpus) else {
        eprintln!("skipping: ../shared/corpus not found");
        return;
    };
    let files: Vec<(String, Vec<u8>)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    let rubrics: Vec<Prepared> =
        examiner::rubric::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rubrics"))
            .unwrap()
            .into_iter()
            .map(|(_, rubric)| {
                let keys = examiner::rubric::keys::resolve(
                    &rubric,
                    &examiner::reference::cache::Cache::in_memory(),
                )
                .unwrap();
                Prepared { rubric, keys }
            })
            .collect();
    let notebooks: usize = std::env::var("EXAMINER_BENCH_NOTEBOOKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(NOTEBOOKS);
    let work: Vec<&(String, Vec<u8>)> = files.iter().cycle().take(notebooks).collect();
    let bytes: usize = work.iter().map(|(_, b)| b.len()).sum();

    // What `examiner grade` does per notebook, minus reading the file.
    let grade = |(name, data): &&(String, Vec<u8>)| {
        let nb = examiner::notebook::read_bytes(name, data).unwrap();
        match examiner::grading::batch::grade_notebook(name, &nb, &rubrics) {
            examiner::grading::batch::Outcome::Graded(r) => r.questions.len(),
            examiner::grading::batch::Outcome::Failed { error } => panic!("{name}: {error}"),
        }
    };
    let json = |(_, data): &&(String, Vec<u8>)| {
        serde_json::from_slice::<serde_json::Value>(data)
            .unwrap()
            .get("cells")
            .map_or(0, |c| c.as_array().map_or(0, Vec::len))
    };

    println!(
        "{notebooks} notebooks ({} corpus files repeated), {:.1} MB\n",
        files.len(),
        bytes as f64 / 1e6
    );
    println!("{:<44} {:>10} {:>14}", "", "seconds", "notebooks/s");
    let mut rows = Vec::new();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let t = Instant::now();
        let n: usize = pool.install(|| work.par_iter().map(json).sum());
        let parse = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let q: usize = pool.install(|| work.par_iter().map(grade).sum());
        let graded = t.elapsed().as_secs_f64();
        assert!(n > 0 && q > 0);
        for (what, secs) in [
            ("parse JSON only (serde_json::Value)", parse),
            ("read + recognise + extract + check", graded),
        ] {
            println!(
                "{:<44} {:>10.2} {:>14.0}",
                format!("{what}, {threads} thread(s)"),
                secs,
                notebooks as f64 / secs
            );
        }
        rows.push((threads, parse / graded));
    }
    for (threads, ratio) in rows {
        println!("\ngrading throughput / JSON-parse throughput, {threads} thread(s): {ratio:.2} (target >= 0.5)");
    }
}
