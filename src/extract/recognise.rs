//! Choosing a notebook's rubric from the question set's text, never from students' answers.
//!
//! [`super::recognise_in`] looks for a rubric's `recognise:` snippets anywhere in the
//! notebook's markdown and code, so a student decides the rubric by what they write: a v5
//! student who mentions "Graph Neural Networks" (v5's `none:` snippet, v2's `all:` one) was
//! graded against v2. The class of text that must not decide is *answers*: this module finds,
//! for each candidate rubric, the lines of its answer regions (by extracting its answers) and
//! counts a snippet only where it occurs outside them:
//!
//! - an `all:` snippet found only inside the candidate's answer regions does not count;
//! - a `none:` snippet found only inside them does not exclude the candidate;
//! - when several rubrics still match, one whose `all:` evidence lies only inside another
//!   match's answer regions is dropped; if several remain, the one with most snippets is
//!   chosen and the others are reported ([`Recognition::also`]), never silently.

use super::text::{LineKind, Stream};
use super::Extraction;
use crate::notebook::Notebook;
use crate::rubric::Rubric;

/// Most occurrences of one snippet looked at.
const MAX_OCCURRENCES: usize = 1_000;

/// The rubric chosen for a notebook, and the other rubrics that matched it too.
#[derive(Debug)]
pub struct Recognition<'a> {
    pub rubric: &'a Rubric,
    /// Other rubrics whose snippets were all found outside their answers as well.
    pub also: Vec<&'a Rubric>,
    /// The chosen rubric's answers, when finding its answer regions extracted them
    /// ([`super::extract_in`]'s result; the stream is then marked with the chosen rubric's
    /// templates), so grading does not extract them a second time.
    pub extracted: Option<Vec<Extraction>>,
}

/// The stream lines (indices) where `snippet` occurs, outputs excluded.
fn occurrences(stream: &Stream, snippet: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut from = 0;
    while let Some((start, end)) = stream.find(snippet, from) {
        let line = stream.line_at(start);
        if stream
            .lines
            .get(line)
            .is_some_and(|l| l.kind != LineKind::Output)
        {
            lines.push(line);
        }
        if lines.len() >= MAX_OCCURRENCES {
            break;
        }
        from = end.max(start + 1);
    }
    lines
}

/// The stream lines inside `rubric`'s answer regions in `notebook` (sorted), and the
/// extraction they come from.
///
/// Extraction marks the rubric's template cells on the stream. Marking overwrites every
/// line's mark and recognition never reads them, so the one stream serves every candidate
/// (rather than a copy each) and is marked again for the chosen rubric at the end.
fn answer_lines(
    stream: &mut Stream,
    notebook: &Notebook,
    rubric: &Rubric,
) -> (Vec<usize>, Vec<Extraction>) {
    let extractions = super::extract_in(stream, notebook, rubric);
    // Sorted for look-ups by search: a few hundred pairs, looked up once per line.
    let mut origins: Vec<(usize, usize)> = extractions
        .iter()
        .flat_map(|e| e.origins.iter().copied())
        .collect();
    origins.sort_unstable();
    origins.dedup();
    let lines = stream
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            l.kind == LineKind::Markdown && origins.binary_search(&(l.cell, l.line)).is_ok()
        })
        .map(|(i, _)| i)
        .collect();
    (lines, extractions)
}

/// A candidate: a rubric whose `all:` snippets each occur somewhere.
struct Candidate<'a> {
    rubric: &'a Rubric,
    /// Per `all:` snippet, its occurrences.
    all: Vec<Vec<usize>>,
    /// The stream lines of its answer regions, in order.
    answers: Vec<usize>,
    /// What [`answer_lines`] extracted.
    extracted: Vec<Extraction>,
}

/// Chooses `notebook`'s rubric among `rubrics` as the module documentation says. The error
/// is the one [`super::recognise_in`] gives when no rubric matches even counting answers,
/// or says which rubric matched only through text in answers. The stream comes back marked
/// with the chosen rubric's templates when its answers were extracted
/// ([`Recognition::extracted`]).
pub fn recognise_outside_answers<'a>(
    stream: &mut Stream,
    notebook: &Notebook,
    rubrics: &[&'a Rubric],
) -> Result<Recognition<'a>, String> {
    let mut candidates = Vec::new();
    // The rubric whose templates the stream is marked with.
    let mut marked: Option<&Rubric> = None;
    for &r in rubrics {
        let all: Vec<Vec<usize>> = r
            .recognise
            .all
            .iter()
            .map(|s| occurrences(stream, s))
            .collect();
        if all.iter().any(Vec::is_empty) {
            continue;
        }
        let (answers, extracted) = answer_lines(stream, notebook, r);
        marked = Some(r);
        candidates.push(Candidate {
            rubric: r,
            all,
            answers,
            extracted,
        });
    }
    if candidates.is_empty() {
        // No rubric matches even counting answers: the usual explanation.
        return super::recognise_in(stream, rubrics.iter().copied()).map(|rubric| Recognition {
            rubric,
            also: Vec::new(),
            extracted: None,
        });
    }
    let outside = |c: &Candidate, lines: &[usize]| -> Vec<usize> {
        lines
            .iter()
            .copied()
            .filter(|l| c.answers.binary_search(l).is_err())
            .collect()
    };
    let mut matched: Vec<&Candidate> = Vec::new();
    let mut why_not = Vec::new();
    for c in &candidates {
        if let Some(i) = c.all.iter().position(|o| outside(c, o).is_empty()) {
            why_not.push(format!(
                "`{}` matches only through \"{}\" inside an answer",
                c.rubric.id, c.rubric.recognise.all[i]
            ));
            continue;
        }
        let excluded = c
            .rubric
            .recognise
            .none
            .iter()
            .find(|s| !outside(c, &occurrences(stream, s)).is_empty());
        if let Some(x) = excluded {
            why_not.push(format!("`{}`: the notebook contains \"{x}\"", c.rubric.id));
            continue;
        }
        matched.push(c);
    }
    if matched.is_empty() {
        return Err(format!(
            "no rubric matches this notebook ({})",
            why_not.join("; ")
        ));
    }
    if matched.len() > 1 {
        // Evidence that lies only in another match's answers is not evidence.
        let kept: Vec<&Candidate> = matched
            .iter()
            .copied()
            .filter(|c| {
                !c.all.iter().any(|o| {
                    let out = outside(c, o);
                    matched.iter().any(|other| {
                        !std::ptr::eq(*other, *c)
                            && out.iter().all(|l| other.answers.binary_search(l).is_ok())
                    })
                })
            })
            .collect();
        if !kept.is_empty() {
            matched = kept;
        }
    }
    // Most snippets first; ties keep the rubrics' order.
    let best = matched
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (c.all.len(), std::cmp::Reverse(*i)))
        .map(|(_, c)| c.rubric)
        .expect("at least one match");
    let also = matched
        .iter()
        .map(|c| c.rubric)
        .filter(|r| !std::ptr::eq(*r, best))
        .collect();
    let extracted = candidates
        .into_iter()
        .find(|c| std::ptr::eq(c.rubric, best))
        .map(|c| c.extracted);
    if extracted.is_some() && !marked.is_some_and(|m| std::ptr::eq(m, best)) {
        super::mark_rubric_templates(stream, best);
    }
    Ok(Recognition {
        rubric: best,
        also,
        extracted,
    })
}
