//! The command line, declared. Nothing here runs anything: [`crate::commands`] turns these
//! values into calls of the library (ripgrep's split: what the user typed, then what runs).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Grade the written parts of deep-learning homework notebooks.
///
/// examiner reads a YAML answer key (a rubric), finds each student's answer in a Jupyter
/// notebook without running it, and checks numeric answers against reference computations run
/// with libtorch.
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
    /// The code is read, never executed: examiner understands nn.Sequential of the common
    /// layers, tensors made by torch.rand/randn/randint/ones/zeros, names bound by simple
    /// assignments, `*[...] * N` repetition and `def f(...): return <expr>`. Anything else is
    /// refused with its line and column.
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
    /// results.json, junit.xml, items.md/items.json (item analysis) and feedback/<student>.md
    /// and .html. Exits 1 when a submission scores below --fail-under.
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
        /// Parallel workers [default: the number of cores].
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// The TA's review page: the answers awaiting a person, grouped by meaning, on
    /// http://127.0.0.1 (a token in the printed URL); every grade goes to the review file at once.
    Review {
        /// Notebook files or folders [default: submissions/].
        submissions: Vec<PathBuf>,
        /// A rubric file, or a folder of them [default: rubrics/].
        #[arg(long)]
        rubric: Option<PathBuf>,
        /// The review file to write [default: reviews.csv].
        #[arg(long, value_name = "FILE")]
        reviews: Option<PathBuf>,
        /// Port on 127.0.0.1 [default: any free one].
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// A student's self-check: what examiner finds in a notebook, question by question.
    ///
    /// Shows the answer extracted for every question, and which answers are missing or
    /// unparseable. Exits 1 when a required answer is missing.
    Check {
        /// The notebook (.ipynb, or a text/markdown export).
        notebook: PathBuf,
        /// The rubric [default: the one in rubrics/ that matches the notebook].
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

fn parse_threshold(s: &str) -> Result<Threshold, String> {
    let bad = || format!("`{s}` is not a score; write points (30) or a percentage (60%)");
    match s.trim().strip_suffix('%') {
        Some(p) => p.trim().parse().map(Threshold::Percent).map_err(|_| bad()),
        None => s.trim().parse().map(Threshold::Points).map_err(|_| bad()),
    }
}

#[derive(Debug, Subcommand)]
pub enum RubricCommand {
    /// Validate a rubric: its schema, its locators, and its keys, computed with libtorch and
    /// compared with the values it states (`expect:`).
    Lint {
        /// Rubric files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a rubric's sample answers, like unit tests: each must get the status, score and
    /// feedback the rubric states. Exits 1 when any sample fails.
    Test {
        /// Rubric files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Reference {
    /// Receptive field of one output pixel of a CNN, by autograd and by the closed form.
    ///
    /// Example: examiner reference receptive-field question.py
    #[command(name = "receptive-field")]
    ReceptiveField {
        /// The model's name in the code [default: the last nn.Sequential assigned].
        #[arg(long)]
        model: Option<String>,
        /// Input shape N,C,H,W [default: the input the code feeds the model].
        #[arg(long, value_parser = parse_shape, value_name = "N,C,H,W")]
        input: Option<Vec<i64>>,
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
        input: Option<Vec<i64>>,
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

fn parse_shape(s: &str) -> Result<Vec<i64>, String> {
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
