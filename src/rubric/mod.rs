//! Rubrics: the YAML answer keys examiner grades against.
//!
//! A rubric says how a notebook is recognised as its question set, where each question is in
//! such a notebook (its section, number and short snippets of its text), what kind of answer
//! it expects and how the key is obtained (a value, or a reference computation on the
//! question's own PyTorch code), which mistakes deserve which feedback, what a student's
//! self-check may reveal, and sample answers that test the rubric itself.
//!
//! The format is documented in `rubrics/FORMAT.md` and `rubrics/rubric.schema.json`. Unknown
//! fields are errors, and every error carries `file:line:col`.

pub mod keys;
mod load;
pub mod lock;
pub mod student;
mod todo;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use load::{load_dir, load_file, load_str, load_str_in, LoadError};
pub use todo::{todos, Todo};

/// A whole rubric file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    /// A student edition (`examiner rubric student`): locators, kinds and points without
    /// keys. Nothing graded with it gets a verdict: answers are only found and read.
    #[serde(default, skip_serializing_if = "is_false")]
    pub student: bool,
    /// Stable identifier, e.g. `cs236781-w2021-hw4-summary`.
    pub id: String,
    /// Shown in reports.
    pub title: String,
    /// How a notebook is recognised as this question set.
    pub recognise: Recognise,
    /// Question code the keys are computed from, by name.
    #[serde(default)]
    pub code: BTreeMap<String, String>,
    /// "Answer k of n" rules, e.g. the 2023 mini-project's "answer 6 of 7".
    #[serde(default)]
    pub choose: Vec<Choose>,
    pub questions: Vec<Question>,
    /// The key lock shipped beside the rubric file ([`lock`]), read by [`load_file`].
    #[serde(skip)]
    #[schemars(skip)]
    pub lock: Option<lock::KeyLock>,
}

/// A rubric file as written: a [`Rubric`] whose questions may come from a question bank
/// (`imports`, then `- use: ID` with only what differs). Loading resolves it into a
/// [`Rubric`].
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RubricFile {
    /// A student edition (see [`Rubric::student`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub student: bool,
    /// Stable identifier, e.g. `cs236781-w2021-hw4-summary`.
    pub id: String,
    /// Shown in reports.
    pub title: String,
    /// How a notebook is recognised as this question set.
    pub recognise: Recognise,
    /// Question code the keys are computed from, by name (over the banks' code).
    #[serde(default)]
    pub code: BTreeMap<String, String>,
    /// "Answer k of n" rules.
    #[serde(default)]
    pub choose: Vec<Choose>,
    /// Question banks (paths relative to this file's folder, e.g. `bank/summary.yaml`)
    /// whose questions `use:` takes.
    #[serde(default)]
    pub imports: Vec<String>,
    /// The questions, in notebook order: written in full, or `use: ID` from a bank with the
    /// fields that differ.
    pub questions: Vec<QuestionEntry>,
}

/// One question of a rubric file: a full question, or `use: ID` (a bank question) with the
/// fields that differ in this variant. `locate` is merged field by field; every other field
/// given replaces the bank's.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionEntry {
    /// The id of a question in an imported bank.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub uses: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locate: Option<Locate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mistakes: Option<Vec<Mistake>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reveal: Option<Reveal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<Vec<Sample>>,
}

/// A question bank (`rubrics/bank/*.yaml`, never loaded as a rubric): question definitions
/// shared by the variants of a question set, and the code their keys are computed from.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bank {
    /// Names the bank in messages.
    pub bank: String,
    #[serde(default)]
    pub code: BTreeMap<String, String>,
    pub questions: Vec<Question>,
}

/// Snippets that identify a question set in a notebook's text (matched case-insensitively,
/// ignoring markup and whitespace).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recognise {
    /// Every one of these must appear.
    pub all: Vec<String>,
    /// None of these may appear.
    #[serde(default)]
    pub none: Vec<String>,
}

/// Only `count` of `questions` count towards the score: the best ones answered.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Choose {
    pub count: usize,
    pub questions: Vec<String>,
    /// Why, in the rubric author's words (shown in feedback).
    #[serde(default)]
    pub rule: Option<String>,
}

/// One question.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable across variants of a question set (`receptive-field`, `dropout-q`, ...).
    pub id: String,
    pub title: String,
    pub points: f64,
    pub locate: Locate,
    pub answer: Answer,
    /// Known mistakes and the feedback they get.
    #[serde(default)]
    pub mistakes: Vec<Mistake>,
    /// What `examiner check` may show the student.
    #[serde(default)]
    pub reveal: Reveal,
    /// Whether a missing answer fails `check`.
    #[serde(default = "yes")]
    pub required: bool,
    /// The rubric's own tests: answers and the outcome they must get.
    #[serde(default)]
    pub samples: Vec<Sample>,
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where a question is in a notebook. Snippets are short, distinctive pieces of the
/// question's own text (never of an answer); matching ignores case, whitespace and markup.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Locate {
    /// The heading of the section the question is in (`CNNs`).
    #[serde(default)]
    pub section: Option<String>,
    /// The question's number within its section, as printed (`3`); also how answers grouped
    /// per section (`**1.** ... **2.** ...`) are matched to questions.
    #[serde(default)]
    pub number: Option<String>,
    /// A snippet from the beginning of the question.
    #[serde(default)]
    pub start: Option<String>,
    /// A snippet from the end of the question's text: the answer starts after it. Without it
    /// the question ends with the cell that holds `start`.
    #[serde(default)]
    pub end: Option<String>,
    /// Cell tags that mark the question's answer cell, when notebooks carry them.
    #[serde(default)]
    pub tags: Vec<String>,
    /// For one sub-part of a multi-part question (1 = the first): when the student labels the
    /// parts of the answer (`A.`/`B.`, `1.`/`2.`, `a)`, `i.`), only this part is graded.
    #[serde(default)]
    pub part: Option<usize>,
}

/// What a student's self-check may show for a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Reveal {
    /// Only what was extracted (found, missing, unparseable).
    #[default]
    Extracted,
    /// Also whether it is right.
    Verdict,
    /// Also the expected answer and feedback.
    Everything,
}

/// The kind of answer, with its key.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Answer {
    /// A number, e.g. a receptive field.
    Number {
        /// The key typed in (only when no computation exists).
        #[serde(default)]
        value: Option<f64>,
        /// The computation that gives the key.
        #[serde(default)]
        reference: Option<Reference>,
        /// The value the author expects the computation to give; lint fails if it does not.
        #[serde(default)]
        expect: Option<f64>,
        /// Absolute tolerance.
        #[serde(default)]
        abs_tol: Option<f64>,
        /// Relative tolerance.
        #[serde(default)]
        rel_tol: Option<f64>,
    },
    /// A formula in some variables, e.g. `q(p1, p2)`.
    Expression {
        /// The quantity's name in the question (`q`): the student's `q = ...` is the answer.
        #[serde(default)]
        name: Option<String>,
        /// The reference formula, in the same syntax students use (absent only in a student
        /// edition).
        #[serde(default)]
        formula: String,
        /// Each variable's valid range, where the formulas are compared.
        variables: BTreeMap<String, [f64; 2]>,
        /// The reference computation the formula must agree with (cross-checked by lint).
        #[serde(default)]
        reference: Option<Reference>,
        /// The point at which a numeric value the student gives is checked.
        #[serde(default)]
        at: BTreeMap<String, f64>,
    },
    /// A tensor shape.
    Shape {
        #[serde(default)]
        value: Option<Vec<i64>>,
        #[serde(default)]
        reference: Option<Reference>,
        /// The shape the author expects the computation to give; lint fails if it does not.
        #[serde(default)]
        expect: Option<Vec<i64>>,
    },
    /// True/false statements, in order.
    Truth { statements: Vec<Statement> },
    /// One option of several.
    Choice {
        options: Vec<String>,
        /// The right option (absent only in a student edition).
        #[serde(default)]
        key: String,
    },
    /// Free text judged by concept rules.
    Concepts {
        rules: Vec<ConceptRule>,
        #[serde(default)]
        min_words: Option<usize>,
        /// Wrong claims: each one found costs its weight.
        #[serde(default)]
        forbidden: Vec<ConceptRule>,
        /// The yes/no, direction or choice the answer must commit to.
        #[serde(default)]
        decision: Option<Decision>,
        /// Several decisions, e.g. one per scenario of the question, each read from the
        /// student's part with its number (`part`).
        #[serde(default)]
        decisions: Vec<Decision>,
    },
    /// Code cells that must run without errors (judged from their saved outputs).
    RunsClean {},
    /// Shown to the grader, not scored automatically.
    Manual {},
    /// Derivatives (backpropagation): each part's formula is read in the student's notation,
    /// evaluated at seeded draws and compared with autograd's gradient there.
    Gradient(Box<GradientAnswer>),
}

/// A `kind: gradient` answer: the computation autograd differentiates, its draws, the
/// symbols students may use, and one part per tensor differentiated.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GradientAnswer {
    /// The computation: a `code:` entry in the question-code subset of Python, where `phi(`
    /// stands for the activation. Inputs and constants are bound before it runs.
    pub code: String,
    /// The scalar the code assigns that is differentiated [default: `loss`].
    #[serde(default = "default_of")]
    pub of: String,
    /// Small concrete sizes for the symbolic ones (`N: 5, d: 4, h: 3`).
    pub sizes: BTreeMap<String, usize>,
    /// The size that counts samples: per-sample tensors have one column per sample.
    pub samples: String,
    /// The code's input tensors, their shapes and draw domains (the domain keeps the
    /// question's loss finite, e.g. `0 < ŷ < 1` for a BCE on an unsquashed output).
    pub inputs: BTreeMap<String, crate::answer::gradient_key::GradientInput>,
    /// Scalars bound before the code (`lam: 0.3`).
    #[serde(default)]
    pub constants: BTreeMap<String, f64>,
    /// The concrete activations `phi` is drawn as: a formula written with `\varphi` must
    /// match under each [default: tanh, sigmoid].
    #[serde(default = "default_activations")]
    pub activations: Vec<String>,
    /// Draws per activation [default: 3].
    #[serde(default = "default_draws")]
    pub draws: usize,
    /// The draws' seed [default: 0].
    #[serde(default)]
    pub seed: u64,
    /// Relative tolerance of the comparison [default: 1e-6].
    #[serde(default)]
    pub rel_tol: Option<f64>,
    /// Phrases (matched case-insensitively) by which an answer says it uses numerator
    /// layout: then a gradient shaped like its tensor's transpose is accepted for every part.
    #[serde(default)]
    pub numerator_layout: Vec<String>,
    /// Phrases (matched case-insensitively, without spaces) by which a batch-form answer
    /// says its samples are the rows of `X` (the rubric's per-sample tensors have them as
    /// columns).
    #[serde(default)]
    pub rows_layout: Vec<String>,
    /// What a bare `\varphi'` (no argument) is applied to, in the student notation
    /// [default: `z_1`].
    #[serde(default = "default_activation_argument")]
    pub activation_argument: String,
    /// The names students may use and what each stands for.
    pub symbols: Vec<GradientSymbol>,
    /// One part per tensor differentiated, in the question's order.
    pub parts: Vec<GradientPart>,
}

fn default_of() -> String {
    "loss".into()
}
fn default_activations() -> Vec<String> {
    vec!["tanh".into(), "sigmoid".into()]
}
fn default_draws() -> usize {
    3
}
fn default_activation_argument() -> String {
    "z_1".into()
}
fn default_weight() -> f64 {
    1.0
}
fn default_mistake_score() -> f64 {
    0.5
}

/// A name students may use in a gradient answer: its spellings (read with the answer reader,
/// so `W_2`, `\mat{W}_2` and `W2` are one spelling) and exactly one meaning.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GradientSymbol {
    pub spell: Vec<String>,
    /// A whole input tensor of the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensor: Option<String>,
    /// One sample's column of an input tensor (`x^{(i)}` of `X`); a one-row tensor gives
    /// scalars (`y^{(i)}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// A scalar of `constants`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<String>,
    /// A size of `sizes` (the sample count `N`, `m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// A formula in the student notation (`W_1 x + b_1`, `\varphi(z_1)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub define: Option<String>,
}

/// How an accepted formula relates to autograd's gradient of the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GradientConvention {
    /// Exactly autograd's gradient (per sample: its column).
    #[default]
    Mean,
    /// The loss summed instead of averaged: N times autograd's.
    Sum,
    /// The per-sample gradients summed over the samples (batch form of a per-sample tensor).
    Summed,
}

/// One formula a part accepts.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GradientForm {
    /// In the student notation; lint evaluates it at the draws against autograd.
    pub formula: String,
    #[serde(default)]
    pub convention: GradientConvention,
    /// Accepted only where the question's own text (as it stands in the notebook) holds this
    /// snippet, compared without whitespace: a wording without sample indices makes a batch
    /// form right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_question_has: Option<String>,
}

/// A known mistake: the formula a student with that mistake writes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GradientMistake {
    /// The diagnosis id (`missing-regularisation`, `missing-mean`, ...).
    pub id: String,
    pub formula: String,
    /// `partial` (one slip) or `wrong` [default: partial].
    #[serde(default = "default_mistake_status")]
    pub status: String,
    /// Credit, 0 to 1 [default: 0.5].
    #[serde(default = "default_mistake_score")]
    pub score: f64,
    /// What the student is told (`your dL/dW2 matches autograd once ...`).
    pub message: String,
}

fn default_mistake_status() -> String {
    "partial".into()
}

/// One derivative of a gradient answer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GradientPart {
    /// Its name in reports and in `parts` (`W1`, `x`).
    pub wrt: String,
    /// The code's tensor (`W1`; `X` for a per-sample `x`).
    pub tensor: String,
    /// The derivative with respect to one sample's column (`x^{(i)}`).
    #[serde(default)]
    pub per_sample: bool,
    /// Its share of the question, relative to the other parts [default: 1].
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// Whether a gradient shaped like the tensor's transpose (numerator layout) is accepted
    /// [default: true]; vectors are accepted in either orientation.
    #[serde(default = "yes")]
    pub transposed: bool,
    /// The formulas accepted as right (the first is shown as the key).
    pub accept: Vec<GradientForm>,
    #[serde(default)]
    pub mistakes: Vec<GradientMistake>,
}

/// A reference computation on one of the rubric's `code` entries.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "compute", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Reference {
    /// Receptive field (height) of a model's output pixel.
    ReceptiveField {
        code: String,
        #[serde(default)]
        model: Option<String>,
    },
    /// The shape of a tensor the code computes.
    Shape {
        code: String,
        #[serde(default)]
        name: Option<String>,
    },
    /// The drop probability of the model's stacked dropouts.
    Dropout {
        code: String,
        #[serde(default)]
        model: Option<String>,
    },
    /// The number of parameters of a model (PyTorch's `sum(p.numel() for p in
    /// model.parameters())`), or of one of its layers by name (`layer: conv1`).
    Parameters {
        code: String,
        #[serde(default)]
        model: Option<String>,
        /// A layer's name as PyTorch gives it (`0`, `conv1`, `layer1.0.conv2`) [default: the
        /// whole model].
        #[serde(default)]
        layer: Option<String>,
        /// Count only trainable parameters (all are, unless frozen).
        #[serde(default)]
        trainable: bool,
    },
}

/// One true/false statement.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Whether the statement is true (absent only in a student edition, where statements are
    /// written `{}`: how many there are, not what they are).
    #[serde(default)]
    pub key: bool,
    /// One line saying why, for feedback and for reviewers of the rubric.
    #[serde(default)]
    pub why: String,
    /// A distinctive snippet of the statement's own words, as the question prints it
    /// (course material): lets the checker align answers that retype the statement, and
    /// read verdicts typed inside the question cell after each statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `either`: the other verdict is also right when the answer argues it (a debatable
    /// statement); `key` (the default): only the key.
    #[serde(default, skip_serializing_if = "Accept::is_key")]
    pub accept: Accept,
    /// The other verdict goes to a person's review instead of being marked wrong.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub review: bool,
}

/// Which verdicts of a true/false statement are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Accept {
    /// Only the key.
    #[default]
    Key,
    /// Either verdict, when the answer gives a justification.
    Either,
}

impl Accept {
    fn is_key(&self) -> bool {
        *self == Accept::Key
    }
}

/// A concept a free-text answer should state. It is found when any one of `any` (terms of
/// the rule language) or of `regex` (the escape hatch) is.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConceptRule {
    /// Short name, shown in feedback.
    pub name: String,
    /// What the rubric expects, in words a student can act on, shown when the concept is
    /// missing [default: the name].
    #[serde(default)]
    pub expects: Option<String>,
    /// Terms, any one of which states the concept: a phrase (`vanishing gradient`), or
    /// `{near: [...], within: N | sentence}`, `{expr: "a/(1-p)"}`, `{phrase: ..., polarity:
    /// negated}`.
    #[serde(default)]
    pub any: Vec<Term>,
    /// Regular expressions (case-insensitive, `.` matches line breaks, negation not read):
    /// the escape hatch for what terms cannot say.
    #[serde(default)]
    pub regex: Vec<String>,
    #[serde(default = "one")]
    pub weight: f64,
    /// For a question in parts: look for the concept only in the student's part with this
    /// number (1 = the first: `1.`, `a)`, `(A)`, or the first paragraph), when the answer
    /// has that many parts; anywhere otherwise.
    #[serde(default)]
    pub part: Option<usize>,
}

/// One term of the rule language: a phrase, or a term with options.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Term {
    /// Words in order within one sentence, by stem, up to two other words between
    /// neighbours; `a|b` alternatives for one word, `word*` a prefix, `not` any negation.
    Phrase(String),
    /// A phrase, `near` terms or a formula, with a polarity.
    Form(TermForm),
}

/// A term with options: exactly one of `phrase`, `near` and `expr`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TermForm {
    /// A phrase (as a plain string term).
    #[serde(default)]
    pub phrase: Option<String>,
    /// Phrases that must all occur, in any order, within `within`.
    #[serde(default)]
    pub near: Option<Vec<String>>,
    /// For `near`: a number of words, `clause`, or `sentence` (the default).
    #[serde(default)]
    pub within: Option<Within>,
    /// A formula, read with the expression reader and compared by value: the student's
    /// formula is it, or has it as a factor.
    #[serde(default)]
    pub expr: Option<String>,
    /// Whether the term must be stated (`asserted`, the default), stated in negation
    /// (`negated`: "no linear classifier can separate" states `linear classifier separate`
    /// negated), or merely mentioned (`any`).
    #[serde(default)]
    pub polarity: Polarity,
}

/// How close `near` terms must be.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Within {
    /// At most this many words apart.
    Words(usize),
    /// `sentence` (in one sentence) or `clause` (in one clause).
    Sentence(String),
}

/// Whether a term counts when its clause is negated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Polarity {
    /// Counts only when its clause is not negated.
    #[default]
    Asserted,
    /// Counts only when its clause is negated.
    Negated,
    /// Counts either way (a mention).
    Any,
}

/// A decision the answer must commit to: yes/no, a direction, or one of a few choices. It is
/// read from the first sentence of the answer (or of its part), else from its conclusion
/// (a sentence starting "so", "therefore", "thus", "in conclusion", ..., or the last one).
/// A wrong decision caps the question's score; a missing one is reported.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Names the decision in feedback and in its part id (`decision: NAME`).
    #[serde(default)]
    pub name: Option<String>,
    /// The right option.
    pub expect: String,
    /// How each option is said, by option name. `yes` and `no` are also read from a
    /// standalone "Yes"/"No" opening a sentence. A term of one of two options found negated
    /// counts for the other ("he is not correct" is `no` when `yes` lists `correct`).
    #[serde(default)]
    pub options: BTreeMap<String, Vec<Term>>,
    /// The fraction of the points a wrong decision can keep [default: 0.25].
    #[serde(default)]
    pub cap: Option<f64>,
    /// Other options that are right when the answer states a condition.
    #[serde(default)]
    pub also: Vec<AlsoRight>,
    /// Read from the student's part with this number (1 = the first: `1.`, `a)`, `(A)`),
    /// for questions with several scenarios.
    #[serde(default)]
    pub part: Option<usize>,
    /// Points for committing to the right option, as a concept weight [default: 0: the
    /// decision only caps].
    #[serde(default)]
    pub weight: f64,
}

/// Another right option, under a condition the answer states.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlsoRight {
    pub expect: String,
    /// Terms that state the condition; any one found is enough.
    pub when: Vec<Term>,
}

fn one() -> f64 {
    1.0
}

/// A known mistake: when the answer matches, this feedback and score.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mistake {
    /// The wrong value (numbers).
    #[serde(default)]
    pub value: Option<f64>,
    /// Or a pattern (regular expression on the normalised answer).
    #[serde(default)]
    pub pattern: Option<String>,
    pub message: String,
    /// Fraction of the points awarded (0 to 1).
    #[serde(default)]
    pub score: f64,
}

/// A sample answer and the outcome the rubric must give it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub answer: String,
    pub status: String,
    #[serde(default)]
    pub score: Option<f64>,
    /// A piece of text the feedback must contain.
    #[serde(default)]
    pub feedback: Option<String>,
}

impl Rubric {
    /// The maximum score.
    pub fn max_score(&self) -> f64 {
        let all: f64 = self.questions.iter().map(|q| q.points).sum();
        // Under "answer k of n", the n - k cheapest questions of each group do not count.
        let dropped: f64 = self
            .choose
            .iter()
            .map(|c| {
                let mut pts: Vec<f64> = self
                    .questions
                    .iter()
                    .filter(|q| c.questions.contains(&q.id))
                    .map(|q| q.points)
                    .collect();
                pts.sort_by(|a, b| a.total_cmp(b));
                pts.iter()
                    .take(pts.len().saturating_sub(c.count))
                    .sum::<f64>()
            })
            .sum();
        all - dropped
    }
}

/// The JSON Schema of the rubric format, for editors (`rubrics/rubric.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RubricFile);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}
