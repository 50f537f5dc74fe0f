//! Free-text grading against a reviewer's labels (`../shared/corpus/FREETEXT.tsv`): within
//! 0.25 of the reviewer on at least 90% of the answers with a numeric score, a mean absolute
//! difference of at most 0.12, and no answer whose decision is wrong credited above 0.25 of
//! its points. Prints the per-question table and each variant held out in turn.

mod common;

use examiner::grading::calibrate::{self, Prepared};
use examiner::reference::cache::Cache;

#[test]
fn free_text_grades_agree_with_the_reviewer() {
    let Some(shared) = common::shared() else {
        return;
    };
    let labels_path = shared.join("corpus/FREETEXT.tsv");
    let text = std::fs::read_to_string(&labels_path)
        .unwrap_or_else(|e| panic!("{}: {e}", labels_path.display()));
    let labels = calibrate::read_labels(&text).expect("the labels read");
    let rubrics = common::load_rubrics();
    let cache = Cache::in_memory();
    let keys: Vec<_> = rubrics
        .iter()
        .map(|r| examiner::rubric::keys::resolve(r, &cache).expect("keys resolve"))
        .collect();
    let prepared: Vec<Prepared<'_>> = rubrics
        .iter()
        .zip(&keys)
        .map(|(rubric, keys)| Prepared { rubric, keys })
        .collect();
    let dirs = calibrate::search_dirs(&labels_path, &[shared.join("seeds")]);
    let result = calibrate::run(&labels, &prepared, &dirs);
    println!("{}", result.report(true));
    assert!(
        result.skipped.is_empty(),
        "labelled answers not graded: {:?}",
        result.skipped
    );
    assert_eq!(result.graded.len(), labels.len());
    let all = result.overall();
    assert!(
        all.within_share() >= 0.90,
        "{}/{} within 0.25 of the reviewer ({:.1}%), the goal is 90%",
        all.within,
        all.n,
        100.0 * all.within_share()
    );
    assert!(
        all.mean_abs_diff <= 0.12,
        "mean absolute difference {:.3}, the goal is at most 0.12",
        all.mean_abs_diff
    );
    let credited: Vec<String> = result
        .graded
        .iter()
        .filter(|g| g.wrong_decision_credited())
        .map(|g| format!("{} {}: {:.2}", g.question, g.file, g.score))
        .collect();
    assert!(
        credited.is_empty(),
        "wrong decisions credited above 0.25: {credited:?}"
    );
}
