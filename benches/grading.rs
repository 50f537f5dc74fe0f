//! Grading throughput against the cost of parsing the same notebooks' JSON alone (the product
//! target: grading at no less than half that throughput). Run with `cargo xtask bench` (after
//! the reference benchmark) or `cargo bench --bench grading`; it prints a table and asserts
//! nothing about timings.
//!
//! The work: copies of the corpus notebooks in `../shared/corpus` (the bundled `submissions/`
//! when the corpus is absent, with a notice), repeated to `EXAMINER_BENCH_NOTEBOOKS` files
//! (default [`DEFAULT_NOTEBOOKS`]) in `target/bench-notebooks/`. On 1 and then 2 threads, two
//! passes over the same files are timed, `EXAMINER_BENCH_ROUNDS` times each (default
//! [`DEFAULT_ROUNDS`]), alternating so that a busy machine slows both alike:
//!
//! - **grading**: what `examiner grade DIR --jobs N` does between preparing the rubrics and
//!   writing the report: [`examiner::grading::batch::grade_all`] over the files (reading them from disk,
//!   recognising the rubric, extracting, checking), with the rubrics' keys computed before
//!   the clock starts (as the reference cache makes them in a real run) and no output written;
//! - **JSON**: reading the same files and parsing them into `serde_json::Value`.
//!
//! Each cell is the median of the rounds, with the slowest and fastest round beside it (the
//! spread says how busy the machine was). Peak memory is the process's resident high-water mark
//! over each thread count's passes (Linux `VmHWM`, reset through `/proc/self/clear_refs`), shown
//! beside the resident size before them (libtorch and the rubrics); elsewhere it is not
//! reported.

use std::path::{Path, PathBuf};
use std::time::Instant;

use examiner::grading::batch::{Outcome, Prepared, Submission};
use rayon::prelude::*;

/// The allocator the `examiner` binary grades with (src/main.rs), so that the rates are the
/// binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Notebooks per pass unless `EXAMINER_BENCH_NOTEBOOKS` says otherwise.
const DEFAULT_NOTEBOOKS: usize = 400;
/// Timed passes per cell unless `EXAMINER_BENCH_ROUNDS` says otherwise.
const DEFAULT_ROUNDS: usize = 7;
/// The thread counts measured.
const THREADS: [usize; 2] = [1, 2];

/// A positive number from the environment variable `name`, else `default`.
fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("warning: {name}={v:?} is not a positive number; using {default}");
                default
            }
        },
        Err(_) => default,
    }
}

/// The notebooks to copy: the corpus when present, else the bundled submissions (with a
/// notice). Only `.ipynb` files that parse as JSON, so that both passes do the same work.
fn sources(root: &Path) -> (String, Vec<PathBuf>) {
    let corpus = root.join("../shared/corpus");
    let mut from = format!("corpus notebooks from {}", corpus.display());
    let mut files = ipynb_files(&corpus);
    if files.is_empty() {
        let submissions = root.join("submissions");
        println!(
            "notice: no corpus notebooks in {}; using the bundled submissions/ instead \
             (figures are not comparable with corpus runs)",
            corpus.display()
        );
        from = "bundled submissions/".to_string();
        files = ipynb_files(&submissions);
    }
    let before = files.len();
    files.retain(|p| {
        std::fs::read(p).is_ok_and(|b| serde_json::from_slice::<serde_json::Value>(&b).is_ok())
    });
    if files.len() < before {
        println!(
            "notice: left out {} file(s) that are not valid JSON",
            before - files.len()
        );
    }
    (from, files)
}

/// The `.ipynb` files directly in `dir`, sorted; none when `dir` cannot be read.
fn ipynb_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    files.sort();
    files
}

/// Writes `count` copies of `files` (cycled) into a fresh `dir`, named `00000-<name>` so that
/// every copy is its own submission.
fn write_copies(files: &[PathBuf], count: usize, dir: &Path) -> u64 {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("can create the copies' folder");
    let mut bytes = 0;
    for (i, file) in files.iter().cycle().take(count).enumerate() {
        let name = file.file_name().expect("a file").to_string_lossy();
        bytes += std::fs::copy(file, dir.join(format!("{i:05}-{name}"))).expect("can copy");
    }
    bytes
}

fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Throughput (notebooks/s) of each round.
#[derive(Debug, Default)]
struct Measured {
    rates: Vec<f64>,
}

impl Measured {
    /// Times one pass over `notebooks` files.
    fn pass(&mut self, notebooks: usize, f: impl FnOnce() -> usize) -> usize {
        let start = Instant::now();
        let checksum = std::hint::black_box(f());
        self.rates
            .push(notebooks as f64 / start.elapsed().as_secs_f64());
        checksum
    }

    /// (median, lowest, highest) throughput.
    fn summary(&self) -> (f64, f64, f64) {
        let mut r = self.rates.clone();
        r.sort_by(f64::total_cmp);
        (r[r.len() / 2], r[0], r[r.len() - 1])
    }
}

/// KiB as MiB for the table.
fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let notebooks = env_count("EXAMINER_BENCH_NOTEBOOKS", DEFAULT_NOTEBOOKS);
    let rounds = env_count("EXAMINER_BENCH_ROUNDS", DEFAULT_ROUNDS);
    let (from, files) = sources(root);
    if files.is_empty() {
        println!("skipping: no notebooks to grade (neither ../shared/corpus nor submissions/)");
        return;
    }
    let dir = root.join("target/bench-notebooks");
    let bytes = write_copies(&files, notebooks, &dir);

    let started = Instant::now();
    let cache = examiner::reference::cache::Cache::in_memory();
    let rubrics: Vec<Prepared> = examiner::rubric::load_dir(&root.join("rubrics"))
        .expect("the bundled rubrics load")
        .into_iter()
        .map(|(_, rubric)| {
            let keys = examiner::rubric::keys::resolve(&rubric, &cache).expect("keys compute");
            Prepared { rubric, keys }
        })
        .collect();
    let keys_secs = started.elapsed().as_secs_f64();
    let submissions: Vec<Submission> =
        examiner::grading::batch::discover(std::slice::from_ref(&dir))
            .expect("the copies are listed");
    assert_eq!(submissions.len(), notebooks, "one submission per copy");

    let grade = || {
        let graded = examiner::grading::batch::grade_all(&submissions, &rubrics, &|_| {});
        graded
            .iter()
            .map(|g| match &g.outcome {
                Outcome::Graded(r) => r.questions.len(),
                Outcome::Failed { .. } => 0,
            })
            .sum::<usize>()
    };
    let parse = || {
        submissions
            .par_iter()
            .map(|s| {
                let data = std::fs::read(&s.path).expect("a copy is readable");
                let value: serde_json::Value = serde_json::from_slice(&data).expect("valid JSON");
                value
                    .get("cells")
                    .and_then(|c| c.as_array())
                    .map_or(0, Vec::len)
            })
            .sum::<usize>()
    };

    println!(
        "grading benchmark: {notebooks} notebooks ({} {from}, repeated; {:.1} MB) in {}",
        files.len(),
        bytes as f64 / 1e6,
        dir.display()
    );
    println!(
        "rubric keys computed once in {keys_secs:.1} s, before timing; {rounds} timed rounds per \
         cell after one warm-up pass; median [slowest - fastest round]\n"
    );
    let resident = mib(status_kib("VmRSS:"));
    println!(
        "{:<8} {:>28} {:>28} {:>7} {:>10} {:>10}",
        "threads",
        "grading, notebooks/s",
        "JSON parse, notebooks/s",
        "ratio",
        "RSS before",
        "peak RSS"
    );
    let mut failed = 0;
    let mut medians = Vec::new();
    for threads in THREADS {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        let (mut graded, mut parsed) = (Measured::default(), Measured::default());
        let can_reset = reset_peak();
        pool.install(|| {
            // Warm-up: the page cache, lazily built regexes, the allocator's arenas.
            parse();
            failed = examiner::grading::batch::grade_all(&submissions, &rubrics, &|_| {})
                .iter()
                .filter(|g| matches!(g.outcome, Outcome::Failed { .. }))
                .count();
            for _ in 0..rounds {
                parsed.pass(notebooks, parse);
                graded.pass(notebooks, grade);
            }
        });
        let peak = if can_reset {
            status_kib("VmHWM:")
        } else {
            None
        };
        let (g, g_lo, g_hi) = graded.summary();
        let (p, p_lo, p_hi) = parsed.summary();
        println!(
            "{threads:<8} {:>28} {:>28} {:>7.3} {resident:>10} {:>10}",
            format!("{g:.1} [{g_lo:.1} - {g_hi:.1}]"),
            format!("{p:.0} [{p_lo:.0} - {p_hi:.0}]"),
            g / p,
            mib(peak)
        );
        medians.push((threads, g));
    }
    if failed > 0 {
        println!(
            "\nnotice: {failed} of the {notebooks} copies could not be graded (error rows); \
             they are timed as `examiner grade` would spend on them"
        );
    }
    println!("\nratio: grading throughput / JSON-parse throughput (product target >= 0.5)");
    let rates: Vec<String> = medians
        .iter()
        .map(|(t, g)| format!("{g:.1} notebooks/s on {t} thread(s)"))
        .collect();
    println!("grading rate (median): {}", rates.join(", "));
}
