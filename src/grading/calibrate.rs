//! Calibration: how far a rubric's free-text grades are from a reviewer's, question by
//! question (`examiner rubric calibrate`).
//!
//! The labels are a TSV with a header line and at least the columns `file`, `question_id`,
//! `score` (0..1 of full marks, or a word such as `absent`/`blank`: those rows are skipped)
//! and optionally `decision_ok` (1/0 where the question asks for a decision, else `NA`). Each
//! labelled notebook is graded with the rubric it is recognised as, and the fraction of the
//! question's points examiner gives is compared with the label: within 0.25, the mean
//! absolute difference, how many answers are over- or under-credited by more than 0.25, and
//! how often examiner reads the decision the way the reviewer judged it.
//!
//! The variant view holds each rubric (question-set variant) out in turn: its figures are
//! what an author tuning rule sets on the other variants would see on unseen answers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::grading::{self, Audience, QuestionResult, Status};
use crate::rubric::keys::Key;
use crate::rubric::Rubric;

/// A difference larger than this is an over- or under-credited answer.
pub const TOLERANCE: f64 = 0.25;

/// One labelled answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub file: String,
    pub question: String,
    /// Fraction of full marks the reviewer gave.
    pub score: f64,
    /// Whether the answer's decision is right, where the question asks for one.
    pub decision_ok: Option<bool>,
}

/// Reads a labels TSV. Rows whose score is not a number (`absent`, `blank`) are left out;
/// a row that cannot be read is an error naming its line.
pub fn read_labels(text: &str) -> Result<Vec<Label>, String> {
    let mut lines = text.lines();
    let header = tsv_fields(lines.next().ok_or("the labels file is empty")?);
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(file), Some(question), Some(score)) = (col("file"), col("question_id"), col("score"))
    else {
        return Err(format!(
            "the labels header needs the columns file, question_id and score (it has: {})",
            header.join(", ")
        ));
    };
    let decision = col("decision_ok");
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f = tsv_fields(line);
        let get = |c: usize| f.get(c).map(|s| s.trim()).unwrap_or_default();
        let Ok(value) = get(score).parse::<f64>() else {
            continue;
        };
        if !(0.0..=1.0).contains(&value) {
            return Err(format!(
                "line {}: score {value} is not between 0 and 1",
                i + 2
            ));
        }
        out.push(Label {
            file: get(file).to_string(),
            question: get(question).to_string(),
            score: value,
            decision_ok: decision.and_then(|c| match get(c) {
                "1" => Some(true),
                "0" => Some(false),
                _ => None,
            }),
        });
    }
    Ok(out)
}

/// Splits one TSV line, honouring double-quoted fields with `""` escapes.
pub fn tsv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' if field.is_empty() && !quoted => quoted = true,
            '"' if quoted => quoted = false,
            '\t' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// How examiner read a decision, for comparison with a `decision_ok` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionRead {
    Right,
    Wrong,
    /// The rubric declares a decision but none was read.
    Missing,
    /// The rubric declares no decision for this question.
    NotChecked,
}

/// One labelled answer as examiner graded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Graded {
    pub file: String,
    pub question: String,
    /// The rubric the notebook was recognised as (its variant).
    pub rubric: String,
    pub label: f64,
    /// Fraction of the question's points examiner gave (an answer awaiting review counts 0).
    pub score: f64,
    pub status: Status,
    pub decision_ok: Option<bool>,
    pub decision: DecisionRead,
}

impl Graded {
    /// Examiner's score minus the reviewer's.
    pub fn diff(&self) -> f64 {
        self.score - self.label
    }
    /// Whether examiner credits a wrong decision above the cap.
    pub fn wrong_decision_credited(&self) -> bool {
        self.decision_ok == Some(false) && self.score > TOLERANCE + 1e-9
    }
}

/// What could not be graded, and why (a notebook not found, not recognised, a question the
/// rubric does not have).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub file: String,
    pub question: String,
    pub reason: String,
}

/// Agreement figures over a set of answers.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Figures {
    pub n: usize,
    pub within: usize,
    pub mean_abs_diff: f64,
    pub over: usize,
    pub under: usize,
    /// Answers with a `decision_ok` label whose rubric declares a decision, and how many of
    /// them examiner read the same way (a right decision read as right; a wrong one read as
    /// wrong or missing).
    pub decisions: usize,
    pub decisions_agree: usize,
    /// Answers with a `decision_ok` label whose rubric declares no decision.
    pub decisions_unchecked: usize,
    /// Answers with a wrong decision that examiner credits above 0.25.
    pub wrong_decision_credited: usize,
}

impl Figures {
    /// The figures of `rows`.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a Graded>) -> Figures {
        let mut f = Figures::default();
        let mut sum = 0.0;
        for r in rows {
            f.n += 1;
            let d = r.diff();
            sum += d.abs();
            if d.abs() <= TOLERANCE + 1e-9 {
                f.within += 1;
            } else if d > 0.0 {
                f.over += 1;
            } else {
                f.under += 1;
            }
            if let Some(ok) = r.decision_ok {
                let agrees = match r.decision {
                    DecisionRead::Right => Some(ok),
                    DecisionRead::Wrong | DecisionRead::Missing => Some(!ok),
                    DecisionRead::NotChecked => None,
                };
                match agrees {
                    Some(a) => {
                        f.decisions += 1;
                        f.decisions_agree += usize::from(a);
                    }
                    None => f.decisions_unchecked += 1,
                }
            }
            f.wrong_decision_credited += usize::from(r.wrong_decision_credited());
        }
        if f.n > 0 {
            f.mean_abs_diff = sum / f.n as f64;
        }
        f
    }

    /// The share of answers within 0.25 of the label, 0 to 1.
    pub fn within_share(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.within as f64 / self.n as f64
        }
    }
}

/// Everything a calibration run found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub graded: Vec<Graded>,
    pub skipped: Vec<Skipped>,
}

/// A rubric with its keys, ready to grade.
#[derive(Debug, Clone, Copy)]
pub struct Prepared<'a> {
    pub rubric: &'a Rubric,
    pub keys: &'a BTreeMap<String, Key>,
}

/// The notebook a label names: the first of `dirs` that holds a file of that name.
pub fn find_notebook(file: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    // A label names a file, never a path: nothing outside the given folders is read.
    if file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') {
        return None;
    }
    dirs.iter().map(|d| d.join(file)).find(|p| p.is_file())
}

/// Grades every labelled answer: each notebook once, with the rubric it is recognised as.
pub fn run(labels: &[Label], rubrics: &[Prepared<'_>], dirs: &[PathBuf]) -> Calibration {
    let mut by_file: BTreeMap<&str, Vec<&Label>> = BTreeMap::new();
    for l in labels {
        by_file.entry(l.file.as_str()).or_default().push(l);
    }
    let plain: Vec<Rubric> = rubrics.iter().map(|p| p.rubric.clone()).collect();
    let mut graded = Vec::new();
    let mut skipped = Vec::new();
    for (file, rows) in by_file {
        let skip_all = |reason: String, skipped: &mut Vec<Skipped>| {
            for l in &rows {
                skipped.push(Skipped {
                    file: file.to_string(),
                    question: l.question.clone(),
                    reason: reason.clone(),
                });
            }
        };
        let Some(path) = find_notebook(file, dirs) else {
            skip_all("notebook not found".into(), &mut skipped);
            continue;
        };
        let notebook = match crate::notebook::read_path(&path) {
            Ok(n) => n,
            Err(e) => {
                skip_all(format!("cannot read: {e}"), &mut skipped);
                continue;
            }
        };
        let Ok(rubric) = crate::extract::recognise(&notebook, &plain) else {
            skip_all("no rubric recognises it".into(), &mut skipped);
            continue;
        };
        let Some(prepared) = rubrics.iter().find(|p| p.rubric.id == rubric.id) else {
            continue;
        };
        let result = grading::check(
            &path.display().to_string(),
            &notebook,
            prepared.rubric,
            prepared.keys,
            Audience::Grader,
        );
        for l in rows {
            let Some(q) = result.questions.iter().find(|q| q.id == l.question) else {
                skipped.push(Skipped {
                    file: file.to_string(),
                    question: l.question.clone(),
                    reason: format!("rubric `{}` has no such question", rubric.id),
                });
                continue;
            };
            graded.push(Graded {
                file: file.to_string(),
                question: l.question.clone(),
                rubric: rubric.id.clone(),
                label: l.score,
                score: fraction(q),
                status: q.status,
                decision_ok: l.decision_ok,
                decision: decision_read(q),
            });
        }
    }
    Calibration { graded, skipped }
}

/// The fraction of its points a question got (an answer awaiting review counts 0).
fn fraction(q: &QuestionResult) -> f64 {
    if q.max_points > 0.0 {
        q.points.unwrap_or(0.0) / q.max_points
    } else {
        0.0
    }
}

/// How the question's decision part(s) were judged: any wrong decision makes it wrong.
fn decision_read(q: &QuestionResult) -> DecisionRead {
    let decisions: Vec<_> = q
        .parts
        .iter()
        .filter(|p| p.id == "decision" || p.id.starts_with("decision "))
        .collect();
    if decisions.is_empty() {
        return DecisionRead::NotChecked;
    }
    if decisions.iter().any(|p| p.status == Status::Wrong) {
        DecisionRead::Wrong
    } else if decisions.iter().all(|p| p.status == Status::Correct) {
        DecisionRead::Right
    } else {
        DecisionRead::Missing
    }
}

impl Calibration {
    /// Figures per question, in the labels' order of first appearance.
    pub fn per_question(&self) -> Vec<(String, Figures)> {
        let mut order: Vec<&str> = Vec::new();
        for g in &self.graded {
            if !order.contains(&g.question.as_str()) {
                order.push(&g.question);
            }
        }
        order
            .into_iter()
            .map(|q| {
                (
                    q.to_string(),
                    Figures::of(self.graded.iter().filter(|g| g.question == q)),
                )
            })
            .collect()
    }

    /// Figures over every graded answer.
    pub fn overall(&self) -> Figures {
        Figures::of(&self.graded)
    }

    /// Each variant (rubric) held out in turn: its own figures, and those of the rest.
    pub fn held_out(&self) -> Vec<(String, Figures, Figures)> {
        let mut variants: Vec<&str> = self.graded.iter().map(|g| g.rubric.as_str()).collect();
        variants.sort_unstable();
        variants.dedup();
        variants
            .into_iter()
            .map(|v| {
                let (held, rest): (Vec<&Graded>, Vec<&Graded>) =
                    self.graded.iter().partition(|g| g.rubric == v);
                (v.to_string(), Figures::of(held), Figures::of(rest))
            })
            .collect()
    }

    /// The tables `examiner rubric calibrate` prints.
    pub fn report(&self, details: bool) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let header = format!(
            "{:<32} {:>4} {:>14} {:>6} {:>5} {:>6} {:>10} {:>9}\n",
            "question", "n", "within 0.25", "MAD", "over", "under", "decisions", "wrong>.25"
        );
        let row = |name: &str, f: &Figures| {
            let decisions = if f.decisions == 0 {
                "-".to_string()
            } else {
                format!("{}/{}", f.decisions_agree, f.decisions)
            };
            format!(
                "{:<32} {:>4} {:>8} {:>4.0}% {:>6.3} {:>5} {:>6} {:>10} {:>9}\n",
                name,
                f.n,
                format!("{}/{}", f.within, f.n),
                100.0 * f.within_share(),
                f.mean_abs_diff,
                f.over,
                f.under,
                decisions,
                f.wrong_decision_credited
            )
        };
        out.push_str(&header);
        for (q, f) in self.per_question() {
            out.push_str(&row(&q, &f));
        }
        out.push_str(&row("all", &self.overall()));
        out.push_str("\nleave one variant out (the held-out variant's answers | the rest):\n");
        let _ = writeln!(
            out,
            "{:<32} {:>4} {:>14} {:>6}   | {:>4} {:>14} {:>6}",
            "held out", "n", "within 0.25", "MAD", "n", "within 0.25", "MAD"
        );
        for (v, held, rest) in self.held_out() {
            let _ = writeln!(
                out,
                "{:<32} {:>4} {:>8} {:>4.0}% {:>6.3}   | {:>4} {:>8} {:>4.0}% {:>6.3}",
                v,
                held.n,
                format!("{}/{}", held.within, held.n),
                100.0 * held.within_share(),
                held.mean_abs_diff,
                rest.n,
                format!("{}/{}", rest.within, rest.n),
                100.0 * rest.within_share(),
                rest.mean_abs_diff
            );
        }
        let worst = self
            .held_out()
            .into_iter()
            .min_by(|a, b| a.1.within_share().total_cmp(&b.1.within_share()));
        if let Some((v, f, _)) = worst {
            let _ = writeln!(
                out,
                "worst held-out variant: {v}: {:.0}% within 0.25, MAD {:.3}",
                100.0 * f.within_share(),
                f.mean_abs_diff
            );
        }
        if details {
            out.push_str(
                "\nanswers more than 0.25 from the label, or with a wrong decision credited:\n",
            );
            for g in &self.graded {
                if g.diff().abs() > TOLERANCE + 1e-9 || g.wrong_decision_credited() {
                    let _ = writeln!(
                        out,
                        "  {:<28} {:<70} label {:.2} examiner {:.2} ({}){}",
                        g.question,
                        g.file,
                        g.label,
                        g.score,
                        g.status.as_str(),
                        match (g.decision_ok, g.decision) {
                            (Some(ok), d) => format!(
                                " decision: label {}, read {}",
                                if ok { "right" } else { "wrong" },
                                serde_json::to_value(d)
                                    .ok()
                                    .and_then(|v| v.as_str().map(str::to_string))
                                    .unwrap_or_default()
                            ),
                            (None, _) => String::new(),
                        }
                    );
                }
            }
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(out, "\nnot graded ({}):", self.skipped.len());
            for s in &self.skipped {
                let _ = writeln!(out, "  {} {}: {}", s.file, s.question, s.reason);
            }
        }
        out
    }
}

/// The folders a labels file's notebooks are looked up in: the file's own folder first, then
/// `extra` in order.
pub fn search_dirs(labels: &Path, extra: &[PathBuf]) -> Vec<PathBuf> {
    let own = labels
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        })
        .unwrap_or_else(|| PathBuf::from("."));
    std::iter::once(own).chain(extra.iter().cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_skip_non_numeric_scores_and_read_decisions() {
        let text = "file\tquestion_id\tscore\tdecision_ok\tnote\n\
                    a.ipynb\tq1\t0.75\t1\t\"a \"\"quoted\"\"\tnote\"\n\
                    a.ipynb\tq2\tabsent\tNA\t\n\
                    b.txt\tq1\t0\t0\tx\n";
        let labels = read_labels(text).unwrap();
        assert_eq!(labels.len(), 2);
        assert_eq!(labels[0].decision_ok, Some(true));
        assert_eq!(labels[1].decision_ok, Some(false));
        assert_eq!(labels[1].score, 0.0);
        assert!(read_labels("file\tscore\n").is_err());
        assert!(read_labels("file\tquestion_id\tscore\na\tq\t1.5\n").is_err());
    }

    #[test]
    fn figures_count_over_and_under_credit() {
        let g = |label: f64, score: f64, ok: Option<bool>, d: DecisionRead| Graded {
            file: "f".into(),
            question: "q".into(),
            rubric: "r".into(),
            label,
            score,
            status: Status::Partial,
            decision_ok: ok,
            decision: d,
        };
        let rows = [
            g(1.0, 1.0, Some(true), DecisionRead::Right),
            g(1.0, 0.5, None, DecisionRead::NotChecked),
            g(0.0, 0.5, Some(false), DecisionRead::Missing),
            g(0.5, 0.75, Some(false), DecisionRead::Right),
        ];
        let f = Figures::of(&rows);
        assert_eq!((f.n, f.within, f.over, f.under), (4, 2, 1, 1));
        assert!((f.mean_abs_diff - 0.3125).abs() < 1e-12);
        assert_eq!((f.decisions, f.decisions_agree), (3, 2));
        let unchecked = [g(1.0, 1.0, Some(true), DecisionRead::NotChecked)];
        assert_eq!(Figures::of(&unchecked).decisions_unchecked, 1);
        assert_eq!(f.wrong_decision_credited, 2);
    }

    #[test]
    fn labels_name_files_never_paths() {
        let dirs = [PathBuf::from(".")];
        assert_eq!(find_notebook("../etc/passwd", &dirs), None);
        assert_eq!(find_notebook("", &dirs), None);
    }
}
