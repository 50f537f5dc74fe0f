//! `examiner init` on every blank course template in `../shared/templates`: the draft loads;
//! its `recognise` picks exactly the answered corpus notebooks of the template's variant
//! (`corpus/MANIFEST.tsv`); once this test fills in its TODO keys from the shipped rubric, it
//! locates at least 95% of the questions the shipped rubric locates in those notebooks (a
//! drafted question matches a shipped one when both locate the same cells); and the keys it
//! computes equal the shipped rubric's. Skipped with a notice when `../shared` is absent;
//! fails when `../shared` exists but the templates are missing.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{load_rubrics, manifest, shared};
use examiner::extract::{self, text::normalize};
use examiner::reference::cache::Cache;
use examiner::rubric::{self, keys::Key, Answer, Question, Rubric};

/// Template file prefix -> (manifest variant, shipped rubric id).
fn variant_of(file: &str) -> (&'static str, &'static str) {
    let table = [
        ("V1_", "V1", "cs236781-hw4-summary-v1"),
        ("V2_", "V2", "cs236781-hw4-summary-v2"),
        ("V3_", "V3", "cs236781-hw4-summary-v3"),
        ("V4_", "V4", "cs236781-hw4-summary-v4"),
        ("V5_", "V5", "cs236781-hw4-summary-v5"),
        ("V6a_", "V6", "cs236781-2023-theoretical-v6"),
        ("V6b_", "V6", "cs236781-2023-theoretical-v6"),
    ];
    table
        .iter()
        .find(|(p, _, _)| file.starts_with(p))
        .map(|&(_, v, id)| (v, id))
        .unwrap_or_else(|| panic!("template {file} has no known variant"))
}

/// The shipped question a drafted one stands for: same section, number and part, or else
/// start snippets of which one begins the other (same part).
fn pair<'a>(drafted: &Question, shipped: &'a Rubric) -> Option<&'a Question> {
    let n = |s: &Option<String>| s.as_deref().map(normalize);
    let by_place = shipped.questions.iter().find(|s| {
        n(&s.locate.section) == n(&drafted.locate.section)
            && s.locate.number.is_some()
            && s.locate.number == drafted.locate.number
            && s.locate.part == drafted.locate.part
    });
    by_place.or_else(|| {
        shipped.questions.iter().find(|s| {
            let (Some(a), Some(b)) = (n(&s.locate.start), n(&drafted.locate.start)) else {
                return false;
            };
            (a.starts_with(&b) || b.starts_with(&a)) && s.locate.part == drafted.locate.part
        })
    })
}

/// The draft's text with its TODO placeholders filled from the paired shipped questions
/// (truth keys in order, formulas, typed values). Placeholders with no counterpart stay.
fn fill_todos(yaml: &str, draft: &Rubric, shipped: &Rubric) -> String {
    let mut out = String::new();
    let mut current: Option<&Question> = None;
    let mut statement = 0;
    for line in yaml.lines() {
        if let Some(id) = line.trim_start().strip_prefix("- id:") {
            current = draft
                .questions
                .iter()
                .find(|q| q.id == id.trim())
                .and_then(|q| pair(q, shipped));
            statement = 0;
        }
        let (indent, rest) = line.split_at(line.len() - line.trim_start().len());
        let filled = match (current.map(|q| &q.answer), rest) {
            (Some(Answer::Truth { statements }), "- key: TODO") => {
                statement += 1;
                statements
                    .get(statement - 1)
                    .map(|s| format!("{indent}- key: {}", s.key))
            }
            (Some(Answer::Expression { formula, .. }), "formula: TODO") => Some(format!(
                "{indent}formula: '{}'",
                formula.replace('\'', "''")
            )),
            (Some(Answer::Number { value: Some(v), .. }), "value: TODO") => {
                Some(format!("{indent}value: {v}"))
            }
            (Some(Answer::Shape { value: Some(v), .. }), "value: TODO") => {
                Some(format!("{indent}value: {v:?}"))
            }
            _ => None,
        };
        out.push_str(&filled.unwrap_or_else(|| line.to_string()));
        out.push('\n');
    }
    out
}

/// A computed key's value, comparable across rubrics.
fn computed(key: &Key) -> Option<String> {
    match key {
        Key::Number { value, .. } => Some(format!("{value}")),
        Key::Shape { value, .. } => Some(format!("{value:?}")),
        Key::Expression {
            reference_value: Some(v),
            ..
        } => Some(format!("{v}")),
        _ => None,
    }
}

#[test]
fn drafts_from_every_template_recognise_locate_and_compute_like_the_shipped_rubrics() {
    if !common::reference_available(
        "drafts_from_every_template_recognise_locate_and_compute_like_the_shipped_rubrics",
    ) {
        return;
    }
    let Some(shared) = shared() else { return };
    let dir = shared.join("templates");
    let mut templates: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (../shared exists, templates must too)",
                dir.display()
            )
        })
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    templates.sort();
    assert_eq!(templates.len(), 7, "seven templates (V1-V5, V6a, V6b)");
    let shipped_all = load_rubrics();
    let rows = manifest(&shared);
    let notebooks: Vec<(String, examiner::notebook::Notebook)> = rows
        .iter()
        .map(|r| {
            (
                r.variant.clone(),
                examiner::notebook::read_path(&r.path).expect("corpus notebook reads"),
            )
        })
        .collect();
    let cache = Cache::in_memory();
    let mut failures = Vec::new();
    for path in &templates {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let (variant, shipped_id) = variant_of(&file);
        let shipped = shipped_all
            .iter()
            .find(|r| r.id == shipped_id)
            .expect("shipped rubric");
        let others: Vec<Rubric> = shipped_all
            .iter()
            .filter(|r| r.id != shipped_id)
            .cloned()
            .collect();
        let template = examiner::notebook::read_path(path).unwrap();
        let draft = examiner::draft::draft(&template, &file, &others, &cache);
        let loaded = rubric::load_str(&file, &draft.yaml)
            .unwrap_or_else(|e| panic!("the draft from {file} does not load: {e}\n{}", draft.yaml));
        assert_eq!(
            rubric::todos(&draft.yaml).len(),
            draft.todos,
            "{file}: every TODO written is one the loader sees"
        );

        // Recognition: exactly this variant's notebooks.
        let mut wrong = Vec::new();
        for (row, (v, nb)) in rows.iter().zip(&notebooks) {
            let hit = extract::recognise(nb, [&loaded]).is_ok();
            if hit != (v == variant) {
                wrong.push(format!(
                    "{} ({v}): {}",
                    row.path.file_name().unwrap().to_string_lossy(),
                    if hit { "recognised" } else { "not recognised" }
                ));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!("{file}: recognise: {}", wrong.join("; ")));
        }

        // Locating, with the TODO keys filled in.
        let filled_yaml = fill_todos(&draft.yaml, &loaded, shipped);
        let filled = rubric::load_str(&file, &filled_yaml).expect("the filled draft loads");
        let (mut located, mut matched) = (0, 0);
        for (v, nb) in &notebooks {
            if v != variant {
                continue;
            }
            let theirs = extract::extract(nb, shipped);
            let ours = extract::extract(nb, &filled);
            for t in theirs.iter().filter(|e| !e.cells.is_empty()) {
                located += 1;
                if ours.iter().any(|o| o.cells == t.cells) {
                    matched += 1;
                } else {
                    let near = ours
                        .iter()
                        .zip(&filled.questions)
                        .find(|(_, q)| pair(q, shipped).is_some_and(|s| s.id == t.id))
                        .map(|(o, q)| format!("draft `{}` cells {:?}", q.id, o.cells));
                    eprintln!(
                        "  {file}: `{}` at cells {:?} not matched ({})",
                        t.id,
                        t.cells,
                        near.unwrap_or_else(|| "no drafted counterpart".into())
                    );
                }
            }
        }
        let share = matched as f64 / located.max(1) as f64;
        eprintln!(
            "{file}: {} questions drafted, {} TODOs; located {matched}/{located} = {:.1}% of the \
             shipped rubric's answers",
            draft.questions,
            draft.todos,
            share * 100.0
        );
        if located == 0 || share < 0.95 {
            failures.push(format!(
                "{file}: locates {matched}/{located} of the shipped rubric's answers"
            ));
        }

        // Computed keys.
        let ours = rubric::keys::resolve(&filled, &cache).expect("the draft's keys compute");
        let theirs = rubric::keys::resolve(shipped, &cache).expect("shipped keys compute");
        let mut ours_by_shipped: BTreeMap<&str, String> = BTreeMap::new();
        for q in &filled.questions {
            if let (Some(s), Some(v)) = (pair(q, shipped), ours.get(&q.id).and_then(computed)) {
                if matches!(
                    q.answer,
                    Answer::Number {
                        reference: Some(_),
                        ..
                    } | Answer::Shape {
                        reference: Some(_),
                        ..
                    } | Answer::Expression {
                        reference: Some(_),
                        ..
                    }
                ) {
                    ours_by_shipped.insert(s.id.as_str(), v);
                }
            }
        }
        for q in &shipped.questions {
            let has_reference = matches!(
                q.answer,
                Answer::Number {
                    reference: Some(_),
                    ..
                } | Answer::Shape {
                    reference: Some(_),
                    ..
                } | Answer::Expression {
                    reference: Some(_),
                    ..
                }
            );
            if !has_reference {
                continue;
            }
            let want = theirs.get(&q.id).and_then(computed);
            let got = ours_by_shipped.get(q.id.as_str()).cloned();
            eprintln!(
                "{file}: computed key of `{}`: shipped {want:?}, draft {got:?}",
                q.id
            );
            if want != got {
                failures.push(format!(
                    "{file}: key of `{}`: shipped {want:?}, draft {got:?}",
                    q.id
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `rubric lint` on a draft lists exactly the TODOs the draft holds, one line each, and
/// fails until they are filled in.
#[test]
fn lint_lists_exactly_the_todos_left() {
    if !common::reference_available("lint_lists_exactly_the_todos_left") {
        return;
    }
    let Some(shared) = shared() else { return };
    let template = shared.join("templates/V1_236781-w2020-21-hw4_part2-summary_gnn.ipynb");
    assert!(template.is_file(), "{} is missing", template.display());
    let dir = std::env::temp_dir().join(format!("examiner-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let draft = dir.join("draft.yaml");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_examiner"))
            .args(args)
            .current_dir(root)
            .env("EXAMINER_CACHE_DIR", dir.join(".cache"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let init = run(&[
        "init".as_ref(),
        template.as_os_str(),
        "-o".as_ref(),
        draft.as_os_str(),
    ]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let yaml = std::fs::read_to_string(&draft).unwrap();
    let written = yaml
        .lines()
        .filter(|l| l.trim_end().ends_with(": TODO"))
        .count();
    assert!(written > 0, "the V1 draft has true/false keys to fill in");
    let lint = run(&["rubric".as_ref(), "lint".as_ref(), draft.as_os_str()]);
    let stdout = String::from_utf8_lossy(&lint.stdout);
    let listed = stdout.lines().filter(|l| l.contains(": TODO: ")).count();
    assert_eq!(listed, written, "{stdout}");
    assert!(
        stdout.contains(&format!("{written} TODOs left")),
        "{stdout}"
    );
    assert_eq!(
        lint.status.code(),
        Some(2),
        "a draft with TODOs is not ready"
    );
    // Filled in (every key `true`), lint passes.
    let done = yaml
        .replace("key: TODO", "key: true")
        .replace("formula: TODO", "formula: 'p1 + p2 - p1*p2'");
    std::fs::write(&draft, done).unwrap();
    let lint = run(&["rubric".as_ref(), "lint".as_ref(), draft.as_os_str()]);
    assert!(
        lint.status.success(),
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
