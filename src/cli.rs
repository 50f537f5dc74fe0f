//! The command line, declared. Nothing here runs anything: [`crate::commands`] turns these
//! values into calls of the library (ripgrep's split: what the user typed, then what runs).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Grade the written parts of deep-learning homework notebooks.
///
/// examiner reads a YAML answer key (a rubric), finds each student's answer in a Jupyter
/// notebook without running it, and checks numeric answers against reference computations run
/// with libtorch. Keys come from the rubric's key lock (`examiner rubric lock`) or the key
/// cache; only a key in neither runs `examiner-reference`, the one program that loads
/// libtorch (found beside examiner, on PATH, or at $EXAMINER_REFERENCE).
#[derive(Debug, Parser)]
#[command(name = "examiner", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute an answer key from a question's PyTorch code, with libtorch.
    ///
    /// Shapes and parameter counts are computed from the layers' geometry; receptive fields,
    /// dropout and gradients run in `examiner-reference` (libtorch) unless cached.
    ///
    /// The code is read, never executed: examiner understands nn.Sequential of the common
    /// layers, `class Name(nn.Module)` with `__init__` and `forward`, tensors made by
    /// torch.rand/randn/randint/ones/zeros, names bound by simple assignments, `*[...] * N`
    /// repetition and `def f(...): return <expr>`. Anything else is refused with its line and
    /// column.
    #[command(subcommand)]
    Reference(Reference),
    /// Work with rubrics (answer keys).
    #[command(subcommand)]
    Rubric(RubricCommand),
    /// Grade a class: every notebook (or student folder) in SUBMISSIONS against its rubric.
    ///
    /// Each submission is matched to the rubric in --rubric (a file or a folder) whose
    /// question set it is, graded in parallel, and summarised; a submission that cannot be
    /// read gets an error row and the run goes on. With --out, writes gradebook.csv,
    /// results.json, junit.xml, items.md/items.json (item analysis), report.html (the class
    /// at a glance) and feedback/<student>.md and .html. Exits 1 when a submission scores
    /// below --fail-under.
    Grade {
        /// Notebook files or folders [default: submissions/].
        submissions: Vec<PathBuf>,
        /// A rubric file, or a folder of them [default: rubrics/].
        #[arg(long)]
        rubric: Option<PathBuf>,
        /// Folder to write the gradebook, results and feedback into.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The review file (grades, overrides and comments by people) to merge in
        /// [default: reviews.csv in the current folder, when present]. Never inside --out.
        #[arg(long, value_name = "FILE")]
        reviews: Option<PathBuf>,
        /// Group each free-text question's answers by meaning (needs the model `cargo xtask
        /// setup` installs); with --out, writes groups.json and groups.md.
        #[arg(long)]
        groups: bool,
        /// With --out: also a Gradescope results.json per submission (gradescope/<student>.json).
        #[arg(long, requires = "out")]
        gradescope: bool,
        /// Exit 1 when any submission scores below this: points (30) or a percentage (60%).
        #[arg(long, value_name = "SCORE", value_parser = parse_threshold)]
        fail_under: Option<Threshold>,
        /// Print every submission's per-question report, not only the summary.
        #[arg(long)]
        details: bool,
        /// Print the item analysis of every question (by default: the 10 hardest).
        #[arg(long)]
        items: bool,
        /// Parallel workers [default: the number of cores; at most 256].
        #[arg(long, value_parser = parse_jobs)]
        jobs: Option<usize>,
        /// Follow a symbolic link inside a student's folder when it leads to a file in that
        /// same folder (other links are always error rows).
        #[arg(long)]
        follow_links: bool,
    },
    /// Draft a rubric from a blank course template.
    ///
    /// The draft has the template's questions with locators, guessed answer kinds, the
    /// template's code, and keys computed where a computation applies. What cannot be guessed is written TODO; `examiner rubric lint` lists those left.
    Init {
        /// The blank template notebook (.ipynb).
        template: PathBuf,
        /// Where to write the draft [default: standard output].
        #[arg(short, long, value_name = "RUBRIC.yaml")]
        out: Option<PathBuf>,
        /// The other rubrics to tell this question set apart from [default: rubrics/].
        #[arg(long, value_name = "DIR")]
        rubrics: Option<PathBuf>,
    },
    /// The TA's review page: the answers awaiting a person, grouped by meaning, on
    /// http://127.0.0.1 (a token in the printed URL); every grade goes to the review file at once.
    ///
    /// A question that variants of a question set share (same id, points and answer key, as a
    /// question bank's `use: ID` gives) is reviewed, and grouped, as one across the variants.
    /// With --out DIR, the outputs `grade --out DIR` writes (gradebook.csv, results.json,
    /// feedback, ...) are written at start and rewritten after every grade, with the review file
    /// merged, each time as one complete set: DIR always holds the current gradebook.
    Review {
        /// Notebook files or folders [default: submissions/].
        submissions: Vec<PathBuf>,
        /// A rubric file, or a folder of them [default: rubrics/].
        #[arg(long)]
        rubric: Option<PathBuf>,
        /// The review file to write [default: reviews.csv]. Never inside --out.
        #[arg(long, value_name = "FILE")]
        reviews: Option<PathBuf>,
        /// Port on 127.0.0.1 [default: any free one].
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Folder to keep the gradebook, results and feedback in, as `grade --out` writes
        /// them, regenerated after every grade (the whole folder is replaced each time).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// With --out: also a Gradescope results.json per submission (gradescope/<student>.json).
        #[arg(long, requires = "out")]
        gradescope: bool,
        /// Follow a symbolic link inside a student's folder when it leads to a file in that
        /// same folder, as `grade --follow-links`.
        #[arg(long)]
        follow_links: bool,
    },
    /// A student's self-check: what examiner finds in a notebook, question by question.
    ///
    /// Shows the answer extracted for every question, and which answers are missing or
    /// unparseable. Exits 1 when a required answer is missing.
    Check {
        /// The notebook (.ipynb, or a text/markdown export).
        notebook: PathBuf,
        /// A rubric file, or a folder of them [default: the one in rubrics/ that matches
        /// the notebook].
        #[arg(long)]
        rubric: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
}

/// Formats of `examiner check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// A report for people.
    Text,
    /// The stable JSON result.
    Json,
    /// JUnit XML, one test case per question (for CI).
    Junit,
}

/// A `--fail-under` threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Points(f64),
    Percent(f64),
}

/// A threshold: a finite, non-negative number of points or percentage.
/// `NaN` and infinities parse as `f64` but compare false with every score, so a gate built
/// on them would never fail: they are refused.
fn parse_threshold(s: &str) -> Result<Threshold, String> {
    let bad = || format!("`{s}` is not a score; write points (30) or a percentage (60%)");
    let number = |t: &str| match t.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(bad()),
    };
    match s.trim().strip_suffix('%') {
        Some(p) => number(p).map(Threshold::Percent),
        None => number(s).map(Threshold::Points),
    }
}

/// Most `--jobs`: more threads than this only cost memory (each may hold a notebook).
pub const MAX_JOBS: usize = 256;

/// `--jobs`: 1 to [`MAX_JOBS`].
fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}`: give a number of workers from 1 to {MAX_JOBS}"
        )),
    }
}

/// Most `--p` flags of `reference dropout` (a model has a few dropout layers).
pub const MAX_DROPOUT_LAYERS: usize = 64;

#[derive(Debug, Subcommand)]
pub enum RubricCommand {
    /// Validate a rubric: its schema, its locators, and its keys (from its key lock, or
    /// computed) compared with the values it states (`expect:`). A stale lock is an error.
    Lint {
        /// Rubric files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Compute a rubric's keys and lock them beside it (`NAME.keys.json` for `NAME.yaml`).
    ///
    /// Ship the lock with the rubric: with it, `check` and `grade` need no libtorch and no
    /// cache (the light install). Whenever the rubric's code or references change, lock
    /// again: a lock that does not hold what the rubric now asks for is an error, never used.
    /// Computing needs `examiner-reference` (libtorch).
    Lock {
        /// Rubric files or folders.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write nothing: recompute every key (without the cache) and exit 1 when a lock is
        /// missing or differs from the computation (for CI).
        #[arg(long)]
        check: bool,
    },
    /// Write the student edition of a rubric: no keys, mistakes, feedback or samples.
    ///
    /// It keeps the locators, answer kinds and points. `examiner check` with it shows what
    /// was found and read, never a verdict.
    Student {
        /// The rubric.
        file: PathBuf,
        /// Where to write the student edition [default: standard output].
        #[arg(short, long, value_name = "STUDENT.yaml")]
        out: Option<PathBuf>,
    },
    /// Run a rubric's sample answers, like unit tests: each must get the status, score and
    /// feedback the rubric states. Exits 1 when any sample fails.
    Test {
        /// Rubric files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Compare a rubric's grades with a reviewer's labels, question by question.
    ///
    /// Grades every notebook the labels TSV names (columns file, question_id, score 0..1,
    /// optional decision_ok 1/0/NA) with the rubric it is recognised as, and prints per
    /// question: answers within 0.25 of the label, mean absolute difference, over- and
    /// under-credited answers, decision agreement, and each variant held out in turn.
    /// Notebooks are looked up beside the TSV, then in each --notebooks folder.
    Calibrate {
        /// Rubric files or folders.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The labels TSV (e.g. FREETEXT.tsv).
        #[arg(long, value_name = "TSV")]
        labels: PathBuf,
        /// Another folder holding labelled notebooks (repeatable).
        #[arg(long, value_name = "DIR")]
        notebooks: Vec<PathBuf>,
        /// Also list every answer more than 0.25 from its label.
        #[arg(long)]
        details: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum Reference {
    /// Receptive field of one output pixel of a CNN, by autograd and by the closed form.
    ///
    /// The model is an nn.Sequential or an nn.Module class (residual and multi-path models
    /// included). Example: examiner reference receptive-field question.py
    #[command(name = "receptive-field")]
    ReceptiveField {
        /// The model's name in the code [default: the last model assigned].
        #[arg(long)]
        model: Option<String>,
        /// Input shape N,C,H,W [default: the input the code feeds the model].
        #[arg(long, value_parser = parse_shape, value_name = "N,C,H,W")]
        input: Option<Shape>,
        #[command(flatten)]
        common: Common,
    },
    /// Parameter counts of a model, per layer and in total, and its output shape.
    ///
    /// As PyTorch's `sum(p.numel() for p in model.parameters())`: a module used twice counts
    /// once. Example: examiner reference parameters question.py
    Parameters {
        /// The model's name in the code [default: the last model assigned].
        #[arg(long)]
        model: Option<String>,
        /// Input shape for the output shape [default: the input the code feeds the model].
        #[arg(long, value_parser = parse_shape, value_name = "SHAPE")]
        input: Option<Shape>,
        #[command(flatten)]
        common: Common,
    },
    /// Output shape of a tensor the code computes, e.g. `Y = embedding(X)`.
    Shape {
        /// The tensor's name [default: the last tensor assigned].
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Drop probability of stacked dropouts: measured with libtorch and in closed form.
    ///
    /// Give the probabilities with --p (repeatable), or a FILE whose model stacks nn.Dropout
    /// layers.
    Dropout {
        /// A dropout probability; repeat for stacked layers: --p 0.1 --p 0.2.
        #[arg(long = "p", value_name = "P")]
        p: Vec<f64>,
        /// The model's name in FILE [default: the last nn.Sequential].
        #[arg(long)]
        model: Option<String>,
        /// Python file with the question's code, or - for standard input.
        #[arg(required_unless_present = "p", conflicts_with = "p")]
        file: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Gradients by autograd of a scalar the code defines, or a model's gradient profile.
    Gradient {
        /// The scalar to differentiate [default: the last torch.mean/torch.sum assigned].
        #[arg(long)]
        of: Option<String>,
        /// Tensors to differentiate with respect to [default: those with requires_grad=True].
        #[arg(long, value_delimiter = ',', value_name = "A,B")]
        wrt: Vec<String>,
        /// Instead: the per-layer gradient norms of a model (vanishing gradients, measured).
        #[arg(long, conflicts_with_all = ["of", "wrt"])]
        profile: bool,
        /// With --profile: the model's name [default: the last nn.Sequential assigned].
        #[arg(long, requires = "profile")]
        model: Option<String>,
        /// With --profile: the input shape [default: the code's, or a batch of 64].
        #[arg(long, value_parser = parse_shape, value_name = "SHAPE", requires = "profile")]
        input: Option<Shape>,
        #[command(flatten)]
        common: Common,
    },
}

/// Arguments every code-reading computation takes.
#[derive(Debug, Args)]
pub struct Common {
    /// Python file with the question's code, or - for standard input.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Compute even if a cached result exists (the result is still stored).
    #[arg(long)]
    pub no_cache: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Text,
    /// Stable JSON for programs.
    Json,
}

/// A shape given on the command line (`1,3,224,224`). Spelled as a path, not `Vec<i64>`:
/// clap's derive reads a bare `Vec` as "the flag repeats, one `i64` each", which does not match
/// the parser (one flag, a whole shape) and panicked at run time ("Mismatch between definition
/// and access").
pub type Shape = ::std::vec::Vec<i64>;

fn parse_shape(s: &str) -> Result<Shape, String> {
    let dims: Result<Vec<i64>, _> = s
        .trim_matches(['(', ')', '[', ']'])
        .split([',', 'x'])
        .map(|d| d.trim().parse::<i64>())
        .collect();
    match dims {
        Ok(d) if !d.is_empty() && d.iter().all(|&x| x > 0) => Ok(d),
        _ => Err(format!(
            "`{s}` is not a shape; write positive sizes separated by commas, e.g. 1,3,224,224"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap's own consistency checks on every subcommand and flag (types that do not match
    /// their parsers, conflicting names, `requires` on unknown arguments, ...).
    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every flag whose type is not a plain value is read back as what it declares.
    #[test]
    fn shapes_parse_as_one_value() {
        let cli = Cli::try_parse_from([
            "examiner",
            "reference",
            "receptive-field",
            "--input",
            "1,3,512,512",
            "q.py",
        ])
        .expect("parses");
        match cli.command {
            Command::Reference(Reference::ReceptiveField { input, .. }) => {
                assert_eq!(input, Some(vec![1, 3, 512, 512]));
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
