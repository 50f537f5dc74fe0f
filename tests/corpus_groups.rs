//! Answer groups on the course corpus: for each free-text question of FREETEXT.tsv, the
//! corpus's answers are embedded and grouped ([`examiner::grading::groups`]), and the
//! reviewer's grades in FREETEXT.tsv say how homogeneous the groups are: the pooled
//! within-group standard deviation of the grades against their overall standard deviation
//! (1 = groups no better than random, 0 = every group graded alike).
//!
//! The groups are the program's own ([`examiner::grading::groups::for_class`] on the graded
//! corpus, as `grade --groups` and the review page form them): answers to one bank question are
//! pooled across the question-set variants (V1-V5) the notebooks were written for. The same
//! answers grouped per variant (as before pooling) are reported beside them: the figure a class
//! split over variants would get without pooling.
//!
//! The threshold was chosen on the questions of the first half of the list (alphabetical) and
//! is reported on both halves; the second half was held out. Prints the figures; skipped when
//! the corpus or the model is absent.

mod common;

use std::collections::BTreeMap;

use examiner::embed::Model;
use examiner::grading::groups::{cluster, for_class, THRESHOLD};
use examiner::grading::SubmissionResult;
use examiner::reference::cache::Cache;
use examiner::report::row::Row;

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

/// The tallies of `clusters` of answers, counting only the answers the reviewer scored
/// (`scores[i]` is `None` for the others); groups without a scored answer do not count.
fn tally_scored(scores: &[Option<f64>], clusters: &[Vec<usize>]) -> Tally {
    let mut kept = Vec::new();
    let mut groups = Vec::new();
    for c in clusters {
        let group: Vec<usize> = c
            .iter()
            .filter_map(|&i| {
                let s = scores[i]?;
                kept.push(s);
                Some(kept.len() - 1)
            })
            .collect();
        if !group.is_empty() {
            groups.push(group);
        }
    }
    tally(&kept, &groups)
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
    // An embedding cache for this run only: the answers are embedded once for the program's
    // groups and found again for the threshold sweep and the per-variant figures.
    let embeddings_cache = tempfile::tempdir().unwrap();
    let model = Model::load(&dir, Some(embeddings_cache.path())).expect("model loads");
    let rubrics = common::load_rubrics();
    let rubric_refs: Vec<&examiner::rubric::Rubric> = rubrics.iter().collect();
    let cache = Cache::in_memory();
    let text = std::fs::read_to_string(shared.join("corpus/FREETEXT.tsv")).unwrap();
    // The reviewer's score of each (notebook, question), and each labelled notebook graded.
    let mut scores: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut questions: Vec<String> = Vec::new();
    let mut results: BTreeMap<String, SubmissionResult> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f = common::tsv_fields(line);
        if !questions.contains(&f[1]) {
            questions.push(f[1].clone());
        }
        let Ok(score) = f[2].parse::<f64>() else {
            continue;
        };
        scores.insert((f[0].clone(), f[1].clone()), score);
        results.entry(f[0].clone()).or_insert_with(|| {
            // Notebooks are in corpus/, the text exports in seeds/.
            let path = shared.join("corpus").join(&f[0]);
            let path = if path.is_file() {
                path
            } else {
                shared.join("seeds").join(&f[0])
            };
            common::check(&path, &rubrics, &cache)
        });
    }
    questions.sort();
    let half = questions.len().div_ceil(2);
    let rows: Vec<Row> = results
        .iter()
        .map(|(file, result)| Row::Graded {
            student: file,
            result,
        })
        .collect();
    let pooled = for_class(&rows, &rubric_refs, &model).expect("embeds through examiner-reference");

    // Per question: the answers the program groups (notebook, rubric, text), in its order,
    // and the reviewer's score of each where there is one.
    struct Answers {
        files: Vec<String>,
        rubrics: Vec<String>,
        texts: Vec<String>,
        scores: Vec<Option<f64>>,
    }
    let mut answers: BTreeMap<&String, Answers> = BTreeMap::new();
    for q in &questions {
        let mut a = Answers {
            files: Vec::new(),
            rubrics: Vec::new(),
            texts: Vec::new(),
            scores: Vec::new(),
        };
        for (file, result) in &results {
            let Some(x) = result.questions.iter().find(|x| x.id == *q) else {
                continue;
            };
            if x.answer.text.trim().is_empty() {
                continue;
            }
            a.files.push(file.clone());
            a.rubrics.push(result.rubric.clone());
            a.texts.push(x.answer.text.clone());
            a.scores
                .push(scores.get(&(file.clone(), q.clone())).copied());
        }
        answers.insert(q, a);
    }
    let embeddings: BTreeMap<&String, Vec<Vec<f32>>> = answers
        .iter()
        .map(|(q, a)| {
            let texts: Vec<&str> = a.texts.iter().map(String::as_str).collect();
            (
                *q,
                model
                    .embed(&texts)
                    .expect("embeds through examiner-reference"),
            )
        })
        .collect();

    eprintln!("ratio = within-group SD / overall SD of the reviewer's grades (random grouping of the same sizes in brackets)");
    eprintln!("Threshold sweep, answers pooled across variants:");
    eprintln!("threshold  groups(tune) ratio(tune)    groups(held-out) ratio(held-out)");
    for t in [0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40] {
        let (mut tune, mut held) = (Tally::default(), Tally::default());
        for (i, q) in questions.iter().enumerate() {
            let x = tally_scored(&answers[q].scores, &cluster(&embeddings[q], t));
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

    eprintln!(
        "\nThe program's groups (pooled across variants) at the documented threshold {THRESHOLD}, \
         and the same answers grouped per variant:"
    );
    eprintln!(
        "question                        answers variants groups overall-sd within-sd (random)  \
         per-variant: groups within-sd (random)  half"
    );
    let (mut tune, mut held) = (Tally::default(), Tally::default());
    let (mut split_tune, mut split_held) = (Tally::default(), Tally::default());
    for (i, q) in questions.iter().enumerate() {
        let a = &answers[q];
        // One entry per question, holding its answers whatever variant they were written for.
        let entries: Vec<_> = pooled.iter().filter(|g| g.question == **q).collect();
        assert_eq!(entries.len(), 1, "{q}: one pooled question");
        let entry = entries[0];
        assert_eq!(entry.answers, a.files.len(), "{q}: every answer is grouped");
        for r in &a.rubrics {
            assert!(entry.rubrics.contains(r), "{q}: {r} is pooled");
        }
        // The program's groups as indices into `a`.
        let clusters: Vec<Vec<usize>> = entry
            .groups
            .iter()
            .map(|g| {
                g.members
                    .iter()
                    .map(|m| a.files.iter().position(|f| *f == m.student).unwrap())
                    .collect()
            })
            .collect();
        let x = tally_scored(&a.scores, &clusters);
        // Per variant: the answers of each rubric grouped on their own.
        let mut split = Tally::default();
        let variants: std::collections::BTreeSet<&String> = a.rubrics.iter().collect();
        for v in &variants {
            let idx: Vec<usize> = (0..a.files.len())
                .filter(|&i| a.rubrics[i] == **v)
                .collect();
            let sub: Vec<Vec<f32>> = idx.iter().map(|&i| embeddings[q][i].clone()).collect();
            let sub_scores: Vec<Option<f64>> = idx.iter().map(|&i| a.scores[i]).collect();
            split.add(tally_scored(&sub_scores, &cluster(&sub, THRESHOLD)));
        }
        // Both over the same answers: the split's SDs are relative to the pooled overall SD.
        split.total = x.total;
        split.random = x.total * (x.answers - split.groups) as f64 / (x.answers.max(2) - 1) as f64;
        let n = x.answers as f64;
        eprintln!(
            "{q:31} {:7} {:8} {:6} {:10.3} {:9.3} ({:.3})  {:20} {:9.3} ({:.3})  {}",
            x.answers,
            variants.len(),
            x.groups,
            (x.total / n).sqrt(),
            (x.within / n).sqrt(),
            (x.random / n).sqrt(),
            split.groups,
            (split.within / n).sqrt(),
            (split.random / n).sqrt(),
            if i < half { "tune" } else { "held-out" }
        );
        if i < half {
            tune.add(x);
            split_tune.add(split);
        } else {
            held.add(x);
            split_held.add(split);
        }
    }
    let sum = |a: Tally, b: Tally| {
        let mut s = a;
        s.add(b);
        s
    };
    let (all, split_all) = (sum(tune, held), sum(split_tune, split_held));
    eprintln!(
        "pooled: {} scored answers in {} groups; within-group SD / overall SD = {:.3} (tune \
         {:.3}, held-out {:.3}); a random grouping of the same sizes: {:.3} (tune {:.3}, \
         held-out {:.3})",
        all.answers,
        all.groups,
        all.ratio(),
        tune.ratio(),
        held.ratio(),
        all.random_ratio(),
        tune.random_ratio(),
        held.random_ratio()
    );
    eprintln!(
        "per variant: {} groups; within-group SD / overall SD = {:.3} (tune {:.3}, held-out \
         {:.3}); random: {:.3}",
        split_all.groups,
        split_all.ratio(),
        split_tune.ratio(),
        split_held.ratio(),
        split_all.random_ratio()
    );
    assert!(all.groups < all.answers, "grouping must merge some answers");
    assert!(
        all.groups < split_all.groups,
        "pooling across variants gives fewer groups than grouping per variant"
    );
    assert!(
        held.ratio() < held.random_ratio(),
        "on the held-out questions, groups are more homogeneous than a random grouping"
    );
}
