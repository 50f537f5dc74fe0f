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

use serde::Serialize;

use crate::embed::{cosine, Model};
use crate::report::row::Row;
use crate::rubric::{Answer, Rubric};

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

/// The groups of one question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionGroups {
    pub rubric: String,
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
    pub points: Option<f64>,
    pub status: &'static str,
    /// Cosine similarity to the representative answer.
    pub similarity: f64,
}

/// Whether answers to `kind` are free text that groups by meaning.
pub fn is_free_text(kind: &Answer) -> bool {
    matches!(kind, Answer::Concepts { .. } | Answer::Manual {})
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

/// The groups of every free-text question of `rubrics` in the graded `rows`; `Err` when the
/// embeddings cannot be computed.
pub fn for_class(
    rows: &[Row],
    rubrics: &[&Rubric],
    model: &Model,
) -> Result<Vec<QuestionGroups>, crate::embed::Unavailable> {
    let mut out = Vec::new();
    for rubric in rubrics {
        for q in rubric.questions.iter().filter(|q| is_free_text(&q.answer)) {
            let answers: Vec<(&str, &crate::grading::QuestionResult)> = rows
                .iter()
                .filter_map(|r| Some((r.student(), r.result()?)))
                .filter(|(_, r)| r.rubric == rubric.id)
                .filter_map(|(s, r)| Some((s, r.questions.iter().find(|x| x.id == q.id)?)))
                .filter(|(_, x)| !x.answer.text.trim().is_empty())
                .collect();
            if answers.is_empty() || answers.len() > MAX_ANSWERS {
                continue;
            }
            let texts: Vec<&str> = answers
                .iter()
                .map(|(_, x)| x.answer.text.as_str())
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
                            points: answers[i].1.points,
                            status: answers[i].1.status.as_str(),
                            similarity: cosine(&embeddings[i], &embeddings[m]),
                        })
                        .collect();
                    list.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
                    let scored = members.iter().filter_map(|&i| answers[i].1.points);
                    Group {
                        size: members.len(),
                        representative: answers[m].0.to_string(),
                        text: answers[m].1.answer.text.clone(),
                        min_points: scored.clone().min_by(f64::total_cmp),
                        max_points: scored.max_by(f64::total_cmp),
                        cohesion: list.iter().map(|x| x.similarity).sum::<f64>()
                            / list.len() as f64,
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
                rubric: rubric.id.clone(),
                question: q.id.clone(),
                title: q.title.clone(),
                answers: answers.len(),
                groups,
            });
        }
    }
    Ok(out)
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
