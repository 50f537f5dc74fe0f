//! Answer groups on the course corpus: for each free-text question of FREETEXT.tsv, the
//! corpus's answers are embedded and grouped ([`examiner::grading::groups`]), and the
//! reviewer's grades in FREETEXT.tsv say how homogeneous the groups are: the pooled
//! within-group standard deviation of the grades against their overall standard deviation
//! (1 = groups no better than random, 0 = every group graded alike).
//!
//! The threshold was chosen on the questions of the first half of the list (alphabetical) and
//! is reported on both halves; the second half was held out. Prints the figures; skipped when
//! the corpus or the model is absent.

mod common;

use std::collections::BTreeMap;

use examiner::embed::Model;
use examiner::grading::groups::{cluster, THRESHOLD};
use examiner::reference::cache::Cache;

/// Answers, groups, sums of squared deviations of the grades from their group's mean and from
/// the overall mean, and what the first would be on average for a random grouping of the same
/// sizes (`total * (n - groups) / (n - 1)` per question): the baseline a grouping must beat.
#[derive(Default, Clone, Copy)]
struct Tally {
    answers: usize,
    groups: usize,
    within: f64,
    total: f64,
    random: f64,
}

impl Tally {
    fn add(&mut self, o: Tally) {
        self.answers += o.answers;
        self.groups += o.groups;
        self.within += o.within;
        self.total += o.total;
        self.random += o.random;
    }
    /// Pooled within-group SD over overall SD.
    fn ratio(&self) -> f64 {
        (self.within / self.total).sqrt()
    }
    /// The same for a random grouping of the same sizes.
    fn random_ratio(&self) -> f64 {
        (self.random / self.total).sqrt()
    }
}

fn tally(scores: &[f64], clusters: &[Vec<usize>]) -> Tally {
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let ss = |xs: &[f64]| {
        let m = mean(xs);
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>()
    };
    Tally {
        answers: scores.len(),
        groups: clusters.len(),
        within: clusters
            .iter()
            .map(|c| ss(&c.iter().map(|&i| scores[i]).collect::<Vec<_>>()))
            .sum(),
        total: ss(scores),
        random: ss(scores) * (scores.len() - clusters.len()) as f64
            / (scores.len().max(2) - 1) as f64,
    }
}

#[test]
fn groups_on_the_corpus_are_more_homogeneous_than_the_class() {
    let Some(shared) = common::shared() else {
        return;
    };
    let dir = match Model::locate() {
        Ok(d) => d,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let model = Model::load(&dir, None).expect("model loads");
    let rubrics = common::load_rubrics();
    let cache = Cache::in_memory();
    let text = std::fs::read_to_string(shared.join("corpus/FREETEXT.tsv")).unwrap();
    // question -> [(answer text, reviewer's score)]
    let mut answers: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    let mut results = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f = common::tsv_fields(line);
        let Ok(score) = f[2].parse::<f64>() else {
            continue;
        };
        let result = results.entry(f[0].clone()).or_insert_with(|| {
            // Notebooks are in corpus/, the text exports in seeds/.
            let path = shared.join("corpus").join(&f[0]);
            let path = if path.is_file() {
                path
            } else {
                shared.join("seeds").join(&f[0])
            };
            common::check(&path, &rubrics, &cache)
        });
        let Some(q) = result.questions.iter().find(|q| q.id == f[1]) else {
            continue;
        };
        if q.answer.text.trim().is_empty() {
            continue;
        }
        answers
            .entry(f[1].clone())
            .or_default()
            .push((q.answer.text.clone(), score));
    }
    let questions: Vec<&String> = answers.keys().collect();
    let half = questions.len().div_ceil(2);
    let embeddings: BTreeMap<&String, Vec<Vec<f32>>> = answers
        .iter()
        .map(|(q, a)| {
            let texts: Vec<&str> = a.iter().map(|(t, _)| t.as_str()).collect();
            (
                q,
                model
                    .embed(&texts)
                    .expect("embeds through examiner-reference"),
            )
        })
        .collect();

    eprintln!("ratio = within-group SD / overall SD of the reviewer's grades (random grouping of the same sizes in brackets)");
    eprintln!("threshold  groups(tune) ratio(tune)    groups(held-out) ratio(held-out)");
    for t in [0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40] {
        let (mut tune, mut held) = (Tally::default(), Tally::default());
        for (i, q) in questions.iter().enumerate() {
            let scores: Vec<f64> = answers[*q].iter().map(|(_, s)| *s).collect();
            let x = tally(&scores, &cluster(&embeddings[q], t));
            if i < half {
                tune.add(x)
            } else {
                held.add(x)
            }
        }
        eprintln!(
            "{t:9.2}  {:4}/{:<4}     {:.3} ({:.3})  {:4}/{:<4}        {:.3} ({:.3})",
            tune.groups,
            tune.answers,
            tune.ratio(),
            tune.random_ratio(),
            held.groups,
            held.answers,
            held.ratio(),
            held.random_ratio()
        );
    }

    eprintln!("\nAt the documented threshold {THRESHOLD}:");
    eprintln!("question                         answers groups  overall-sd  within-sd  half");
    let (mut tune, mut held) = (Tally::default(), Tally::default());
    for (i, q) in questions.iter().enumerate() {
        let scores: Vec<f64> = answers[*q].iter().map(|(_, s)| *s).collect();
        let x = tally(&scores, &cluster(&embeddings[q], THRESHOLD));
        let n = x.answers as f64;
        eprintln!(
            "{q:32} {:7} {:6}  {:10.3}  {:9.3}  {}",
            x.answers,
            x.groups,
            (x.total / n).sqrt(),
            (x.within / n).sqrt(),
            if i < half { "tune" } else { "held-out" }
        );
        if i < half {
            tune.add(x)
        } else {
            held.add(x)
        }
    }
    let all = {
        let mut a = tune;
        a.add(held);
        a
    };
    eprintln!(
        "all: {} answers in {} groups; within-group SD / overall SD = {:.3} (tune {:.3}, \
         held-out {:.3}); a random grouping of the same sizes: {:.3}",
        all.answers,
        all.groups,
        all.ratio(),
        tune.ratio(),
        held.ratio(),
        all.random_ratio()
    );
    assert!(all.groups < all.answers, "grouping must merge some answers");
    assert!(
        held.ratio() < held.random_ratio(),
        "on the held-out questions, groups are more homogeneous than a random grouping"
    );
}
