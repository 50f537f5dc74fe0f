//! `examiner init`: a draft rubric from a blank course template (see
//! [`crate::draft`]), told apart from the rubrics in `rubrics/` when that folder is
//! there.

use std::path::Path;

use super::{cache, write_stdout};
use crate::exit_codes;

/// `examiner init TEMPLATE [-o RUBRIC]`: drafts the rubric and writes it (or prints it).
pub fn run(template: &Path, out: Option<&Path>, rubrics: Option<&Path>) -> anyhow::Result<i32> {
    let notebook = crate::notebook::read_path(template)
        .map_err(|e| anyhow::anyhow!("{}: {e}", template.display()))?;
    let dir = rubrics.unwrap_or(Path::new("rubrics"));
    let others: Vec<crate::rubric::Rubric> = if dir.is_dir() {
        crate::rubric::load_dir(dir)?
            .into_iter()
            .filter(|(p, _)| out.is_none_or(|o| !same_file(p, o)))
            .map(|(_, r)| r)
            .collect()
    } else {
        eprintln!(
            "note: no rubric folder at `{}`: `recognise` is not checked against other rubrics \
             (give --rubrics DIR)",
            dir.display()
        );
        Vec::new()
    };
    let name = template.file_name().map_or_else(
        || template.display().to_string(),
        |n| n.to_string_lossy().to_string(),
    );
    let draft = crate::draft::draft(&notebook, &name, &others, &cache());
    if draft.questions == 0 {
        anyhow::bail!(
            "{}: no questions found; a template has section headings (`## ...` or `### ...`) \
             and questions after them, numbered (`1. ...`) or one per section",
            template.display()
        );
    }
    // The draft must load as it is, TODOs and all.
    if let Err(e) = crate::rubric::load_str(&name, &draft.yaml) {
        anyhow::bail!("the draft does not load (a bug in `init`, please report it): {e}");
    }
    let summary = format!(
        "drafted {} questions, {} computed keys, {} TODOs to fill in",
        draft.questions, draft.references, draft.todos
    );
    match out {
        Some(path) => {
            std::fs::write(path, &draft.yaml)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!("{}: {summary}", path.display());
            eprintln!(
                "next: fill in the TODOs, then `examiner rubric lint {}`",
                path.display()
            );
        }
        None => {
            write_stdout(&draft.yaml)?;
            eprintln!("{summary}");
        }
    }
    Ok(exit_codes::OK)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
