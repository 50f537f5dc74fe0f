//! Answer groups by meaning: per free-text question (`concepts` and `manual` answers), the
//! class's answers clustered by what they say, so a TA reads a few dozen groups instead of 200
//! answers, and grades a group at once.
//!
//! Each answer is embedded with all-MiniLM-L6-v2 ([`crate::embed`]); answers are grouped by
//! agglomerative clustering with average linkage on cosine distance (1 - cosine similarity):
//! starting from one group per answer, the two groups whose answers are closest on average
//! are merged, until no two groups are closer than [`THRESHOLD`]. Average linkage (rather than
//! single linkage) keeps a chain of slightly different answers from becoming one group;
//! the threshold is in distance, so it means the same for a class of 10 or of 500.
//!
//! Each group has its medoid (the answer with the greatest total similarity to the others in
//! the group: a real answer to read as the group's representative, never an average), its
//! size, the range of automatic scores in it (a group whose scores disagree is worth a
//! look), and its members, most typical first.
//!
//! **Pooling across variants.** A question set often comes in variants (the CS236781 summary
//! questions V1-V5), each its own rubric taking the shared questions from a bank
//! (`use: ID`). A class split over variants answered the same bank question under several
//! rubrics; grouping per rubric would cut one question's answers into fragments (and a group
//! that a TA grades at once into several). So answers are pooled by *question*, not by rubric:
//! questions of different rubrics are the same question ([`same_question`]) when they have the
//! same id (ids are stable across variants, see [`crate::rubric::Question::id`]), the same
//! points and the same answer definition (kind and key: what `use: ID` without an `answer`
//! override gives). A variant that changes the key or the points keeps its own groups, since
//! one grade must mean the same for every member of a group. [`pools`] applies the rule; the
//! review page shows one section per pool, and `groups.json` one entry per pool (its `rubric`
//! names the pooled rubrics joined by `+`, each member says its own rubric).

use serde::Serialize;

use super::row::Row;
use crate::embed::{cosine, Model};
use crate::rubric::{Answer, Question, Rubric};

/// Groups are merged while the average cosine distance between their answers is below this.
///
/// Answers to one question all share its topic, so their embeddings are close (cosine
/// similarity mostly 0.5-0.9); at 0.25 (similarity 0.75 on average) answers that make the same
/// point in other words meet, while answers that give another reason stay apart. Chosen on the
/// course corpus (`tests/corpus_groups.rs` prints the figures) as the loosest threshold at which,
/// on the seven questions used for tuning, the reviewer's grades vary within a group at most
/// two-thirds as much as across the class (within-group SD / overall SD 0.66; 0.64 on the seven
/// held-out questions; 0.76 and 0.70 for a random grouping of the same sizes). Lower gives more,
/// purer groups; higher, fewer and looser ones.
pub const THRESHOLD: f64 = 0.25;

/// At most this many answers of one question are clustered (the clustering is cubic in the
/// number of answers: 2000 answers take a few seconds); past it, groups are not formed.
pub const MAX_ANSWERS: usize = 2000;

/// The groups of one question (pooled across the rubrics that share it, see [`pools`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionGroups {
    /// The rubric, or the pooled rubrics joined by `+` ([`Pool::rubric`]).
    pub rubric: String,
    /// The pooled rubrics, in the order given.
    pub rubrics: Vec<String>,
    pub question: String,
    pub title: String,
    /// Answers grouped (missing answers are not).
    pub answers: usize,
    /// Largest first.
    pub groups: Vec<Group>,
}

/// Answers that say much the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub size: usize,
    /// The representative answer's student (the group's medoid).
    pub representative: String,
    /// The representative answer's text.
    pub text: String,
    /// The lowest and highest automatic points in the group (null when none is scored).
    pub min_points: Option<f64>,
    pub max_points: Option<f64>,
    /// The mean cosine similarity of the members to the representative.
    pub cohesion: f64,
    /// Most similar to the representative first.
    pub members: Vec<Member>,
}

/// One answer of a group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub student: String,
    /// The rubric the answer was graded under (one of the question's pooled rubrics).
    pub rubric: String,
    pub points: Option<f64>,
    pub status: &'static str,
    /// Cosine similarity to the representative answer.
    pub similarity: f64,
}

/// Whether `a` and `b` (of two rubrics) are the same question, whose answers pool: the same
/// id, points and answer definition (kind and key). See the module documentation.
pub fn same_question(a: &Question, b: &Question) -> bool {
    a.id == b.id && a.points.to_bits() == b.points.to_bits() && a.answer == b.answer
}

/// One question as the TA reviews it: the rubrics whose question `question` is the same
/// question ([`same_question`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub question: String,
    /// The first rubric's title for it (variants may word it differently).
    pub title: String,
    /// The rubrics' ids, in the order the rubrics were given.
    pub rubrics: Vec<String>,
}

impl Pool {
    /// The pooled rubrics' ids joined by `+` (one id when nothing is pooled).
    pub fn rubric(&self) -> String {
        self.rubrics.join("+")
    }

    /// Whether the question `question` of rubric `rubric` is in this pool.
    pub fn holds(&self, rubric: &str, question: &str) -> bool {
        self.question == question && self.rubrics.iter().any(|r| r == rubric)
    }
}

/// The questions of `rubrics` pooled by [`same_question`], in the order of each pool's first
/// occurrence (rubric order, then question order).
pub fn pools(rubrics: &[&Rubric]) -> Vec<Pool> {
    let mut out: Vec<(Pool, &Question)> = Vec::new();
    for rubric in rubrics {
        for q in &rubric.questions {
            match out.iter_mut().find(|(_, first)| same_question(first, q)) {
                Some((pool, _)) if !pool.rubrics.contains(&rubric.id) => {
                    pool.rubrics.push(rubric.id.clone())
                }
                Some(_) => {}
                None => out.push((
                    Pool {
                        question: q.id.clone(),
                        title: q.title.clone(),
                        rubrics: vec![rubric.id.clone()],
                    },
                    q,
                )),
            }
        }
    }
    out.into_iter().map(|(p, _)| p).collect()
}

/// Whether answers to `kind` are written text a TA reads, grouped by meaning: explanations
/// (`concepts`, `manual`) and derivations (`gradient`: the ones examiner cannot bind go to
/// review, and similar derivations are graded together).
pub fn is_free_text(kind: &Answer) -> bool {
    matches!(
        kind,
        Answer::Concepts { .. } | Answer::Manual {} | Answer::Gradient(_)
    )
}

/// For `grade --groups`: the groups of every free-text question in `rows`, or `None` (with the
/// reason on standard error) when the model is not installed. Embeddings are cached in
/// `cache` when given.
pub fn for_run(
    rows: &[Row],
    rubrics: &[crate::grading::batch::Prepared],
    cache: Option<&std::path::Path>,
) -> Option<Vec<QuestionGroups>> {
    let model = match Model::locate().and_then(|dir| Model::load(&dir, cache)) {
        Ok(m) => m,
        Err(why) => {
            eprintln!("examiner: answer groups skipped: {why}");
            return None;
        }
    };
    let rubrics: Vec<&Rubric> = rubrics.iter().map(|p| &p.rubric).collect();
    match for_class(rows, &rubrics, &model) {
        Ok(groups) => Some(groups),
        Err(why) => {
            eprintln!("examiner: answer groups skipped: {why}");
            None
        }
    }
}

/// The groups of every free-text question of `rubrics` in the graded `rows`, one entry per
/// question pooled across rubrics ([`pools`]); `Err` when the embeddings cannot be computed.
pub fn for_class(
    rows: &[Row],
    rubrics: &[&Rubric],
    model: &Model,
) -> Result<Vec<QuestionGroups>, crate::embed::Unavailable> {
    let free_text = |pool: &Pool| {
        rubrics.iter().any(|r| {
            r.id == pool.rubrics[0]
                && r.questions
                    .iter()
                    .any(|q| q.id == pool.question && is_free_text(&q.answer))
        })
    };
    let mut out = Vec::new();
    for pool in pools(rubrics).into_iter().filter(free_text) {
        // (student, rubric, result)
        let answers: Vec<(&str, &str, &crate::grading::QuestionResult)> = rows
            .iter()
            .filter_map(|r| Some((r.student(), r.result()?)))
            .filter(|(_, r)| pool.rubrics.contains(&r.rubric))
            .filter_map(|(s, r)| {
                Some((
                    s,
                    r.rubric.as_str(),
                    r.questions.iter().find(|x| x.id == pool.question)?,
                ))
            })
            .filter(|(_, _, x)| !x.answer.text.trim().is_empty())
            .collect();
        if answers.is_empty() || answers.len() > MAX_ANSWERS {
            continue;
        }
        let texts: Vec<&str> = answers
            .iter()
            .map(|(_, _, x)| x.answer.text.as_str())
            .collect();
        let embeddings = model.embed(&texts)?;
        let clusters = cluster(&embeddings, THRESHOLD);
        let mut groups: Vec<Group> = clusters
            .iter()
            .map(|members| {
                let m = medoid(members, &embeddings);
                let mut list: Vec<Member> = members
                    .iter()
                    .map(|&i| Member {
                        student: answers[i].0.to_string(),
                        rubric: answers[i].1.to_string(),
                        points: answers[i].2.points,
                        status: answers[i].2.status.as_str(),
                        similarity: cosine(&embeddings[i], &embeddings[m]),
                    })
                    .collect();
                list.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
                let scored = members.iter().filter_map(|&i| answers[i].2.points);
                Group {
                    size: members.len(),
                    representative: answers[m].0.to_string(),
                    text: answers[m].2.answer.text.clone(),
                    min_points: scored.clone().min_by(f64::total_cmp),
                    max_points: scored.max_by(f64::total_cmp),
                    cohesion: list.iter().map(|x| x.similarity).sum::<f64>() / list.len() as f64,
                    members: list,
                }
            })
            .collect();
        groups.sort_by(|a, b| {
            b.size
                .cmp(&a.size)
                .then(a.representative.cmp(&b.representative))
        });
        out.push(QuestionGroups {
            rubric: pool.rubric(),
            rubrics: pool.rubrics.clone(),
            question: pool.question.clone(),
            title: pool.title.clone(),
            answers: answers.len(),
            groups,
        });
    }
    Ok(out)
}

/// `groups` with each member's points and status taken from `rows` (the class with the
/// review file applied), and each group's range of points recomputed: the groups are formed
/// once, from the answers' text, while grades change as the TA reviews.
pub fn refresh(groups: &[QuestionGroups], rows: &[Row]) -> Vec<QuestionGroups> {
    let mut out = groups.to_vec();
    for q in &mut out {
        for g in &mut q.groups {
            for m in &mut g.members {
                let found = rows
                    .iter()
                    .filter(|r| r.student() == m.student)
                    .filter_map(|r| r.result())
                    .filter(|r| r.rubric == m.rubric)
                    .find_map(|r| r.questions.iter().find(|x| x.id == q.question));
                if let Some(x) = found {
                    m.points = x.points;
                    m.status = x.status.as_str();
                }
            }
            let scored = g.members.iter().filter_map(|m| m.points);
            g.min_points = scored.clone().min_by(f64::total_cmp);
            g.max_points = scored.max_by(f64::total_cmp);
        }
    }
    out
}

/// Agglomerative clustering with average linkage on cosine distance: the indices of
/// `embeddings` (unit vectors) in each cluster, each cluster in index order, clusters in order
/// of their first index. Two clusters merge while their mean pairwise distance is below
/// `threshold`.
pub fn cluster(embeddings: &[Vec<f32>], threshold: f64) -> Vec<Vec<usize>> {
    let n = embeddings.len();
    let mut clusters: Vec<Option<Vec<usize>>> = (0..n).map(|i| Some(vec![i])).collect();
    // Mean distance between clusters i and j (j > i), updated by Lance-Williams.
    let mut d = vec![0.0f64; n * n];
    for i in 0..n {
        for j in i + 1..n {
            let dist = 1.0 - cosine(&embeddings[i], &embeddings[j]);
            d[i * n + j] = dist;
            d[j * n + i] = dist;
        }
    }
    loop {
        let mut best: Option<(f64, usize, usize)> = None;
        for i in 0..n {
            if clusters[i].is_none() {
                continue;
            }
            for j in i + 1..n {
                if clusters[j].is_none() {
                    continue;
                }
                let dist = d[i * n + j];
                if best.is_none_or(|(b, _, _)| dist < b) {
                    best = Some((dist, i, j));
                }
            }
        }
        let Some((dist, i, j)) = best else { break };
        if dist >= threshold {
            break;
        }
        let (Some(a), Some(b)) = (clusters[i].take(), clusters[j].take()) else {
            break;
        };
        let (na, nb) = (a.len() as f64, b.len() as f64);
        for k in 0..n {
            if k == i || k == j || clusters[k].is_none() {
                continue;
            }
            let merged = (na * d[i * n + k] + nb * d[j * n + k]) / (na + nb);
            d[i * n + k] = merged;
            d[k * n + i] = merged;
        }
        let mut joined = a;
        joined.extend(b);
        joined.sort_unstable();
        clusters[i] = Some(joined);
    }
    clusters.into_iter().flatten().collect()
}

/// The member of `members` with the greatest total similarity to the others (the first such).
pub fn medoid(members: &[usize], embeddings: &[Vec<f32>]) -> usize {
    let mut best = (f64::NEG_INFINITY, members.first().copied().unwrap_or(0));
    for &i in members {
        let total: f64 = members
            .iter()
            .map(|&j| cosine(&embeddings[i], &embeddings[j]))
            .sum();
        if total > best.0 {
            best = (total, i);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn close_vectors_group_and_far_ones_stay_apart() {
        // Two tight bundles around the x and y axes, and one vector between them.
        let e: Vec<Vec<f32>> = [
            [1.0, 0.05, 0.0],
            [1.0, -0.05, 0.02],
            [0.0, 1.0, 0.05],
            [1.0, 0.0, -0.05],
            [0.03, 1.0, 0.0],
            [1.0, 1.0, 0.0],
        ]
        .iter()
        .map(|v| unit(v))
        .collect();
        assert_eq!(cluster(&e, 0.1), vec![vec![0, 1, 3], vec![2, 4], vec![5]]);
        // Everything is within a right angle: a loose threshold joins them all.
        assert_eq!(cluster(&e, 1.01).len(), 1);
        assert_eq!(cluster(&[], 0.25), Vec::<Vec<usize>>::new());
        // Vector 3 has no y component: between 0 (y +0.05) and 1 (y -0.05), so the medoid.
        assert_eq!(medoid(&[0, 1, 3], &e), 3);
    }

    /// A rubric `id` with the questions `(id, points, kind)` written in full (`kind` is
    /// `manual` or a concepts answer with one rule naming `kind`).
    fn rubric(id: &str, questions: &[(&str, f64, &str)]) -> Rubric {
        let mut yaml =
            format!("id: {id}\ntitle: {id}\nrecognise:\n  all: [\"{id}\"]\nquestions:\n");
        for (q, points, kind) in questions {
            let answer = if *kind == "manual" {
                "{kind: manual}".to_string()
            } else {
                format!("{{kind: concepts, rules: [{{name: {kind}, any: [\"{kind}\"]}}]}}")
            };
            yaml.push_str(&format!(
                "  - id: {q}\n    title: \"{q} in {id}\"\n    points: {points}\n    \
                 locate: {{start: \"{q}\"}}\n    answer: {answer}\n"
            ));
        }
        crate::rubric::load_str(&format!("{id}.yaml"), &yaml).unwrap()
    }

    #[test]
    fn the_same_question_of_several_variants_is_one_pool() {
        let v1 = rubric(
            "v1",
            &[("why", 2.0, "overfitting"), ("derive", 3.0, "manual")],
        );
        let v2 = rubric(
            "v2",
            &[("derive", 3.0, "manual"), ("why", 2.0, "overfitting")],
        );
        // Another key: the same id means another question here.
        let v3 = rubric("v3", &[("why", 2.0, "variance"), ("derive", 3.0, "manual")]);
        // Other points: a group graded at once would mean different things.
        let v4 = rubric("v4", &[("derive", 5.0, "manual")]);
        let p = pools(&[&v1, &v2, &v3, &v4]);
        let got: Vec<(&str, String)> = p
            .iter()
            .map(|x| (x.question.as_str(), x.rubric()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("why", "v1+v2".to_string()),
                ("derive", "v1+v2+v3".to_string()),
                ("why", "v3".to_string()),
                ("derive", "v4".to_string()),
            ]
        );
        assert_eq!(p[0].title, "why in v1");
        assert!(p[1].holds("v3", "derive") && !p[1].holds("v4", "derive"));
        assert!(!p[0].holds("v3", "why"));
    }

    #[test]
    fn average_linkage_does_not_chain() {
        // A chain of vectors 0.2 rad apart: neighbours are close, the ends are not.
        let e: Vec<Vec<f32>> = (0..8)
            .map(|i| {
                let a = i as f32 * 0.2;
                vec![a.cos(), a.sin()]
            })
            .collect();
        let c = cluster(&e, 0.05);
        assert!(c.len() > 1, "{c:?}");
    }
}
