//! Two frictions a new user met with `examiner check`: `--rubric` takes a folder as `grade`
//! does (it used to fail with "Is a directory"), and outside the project folder `check` says
//! where it looked for rubrics and how to pass one.

use std::path::Path;
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn examiner(args: &[&std::ffi::OsStr], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(args)
        .current_dir(cwd)
        .env(
            "EXAMINER_CACHE_DIR",
            std::env::temp_dir().join("examiner-frictions-cache"),
        )
        .env("NO_COLOR", "1")
        .output()
        .expect("examiner runs")
}

#[test]
fn check_accepts_a_rubric_folder() {
    let notebook = root().join("submissions/ada_lovelace.ipynb");
    let rubrics = root().join("rubrics");
    let out = examiner(
        &[
            "check".as_ref(),
            notebook.as_os_str(),
            "--rubric".as_ref(),
            rubrics.as_os_str(),
        ],
        &std::env::temp_dir(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Is a directory"), "{stderr}");
    assert!(out.status.code().is_some_and(|c| c < 2), "{stderr}");
    // The rubric chosen from the folder is named, with the folder.
    assert!(stderr.contains("cs236781-hw4-summary-v1"), "{stderr}");
    assert!(
        stderr.contains(&format!("chosen from {}", rubrics.display())),
        "{stderr}"
    );
}

#[test]
fn check_outside_the_project_says_where_it_looked_and_how_to_pass_a_rubric() {
    let elsewhere = std::env::temp_dir().join(format!("examiner-nowhere-{}", std::process::id()));
    std::fs::create_dir_all(&elsewhere).unwrap();
    let notebook = root().join("submissions/ada_lovelace.ipynb");
    let out = examiner(&["check".as_ref(), notebook.as_os_str()], &elsewhere);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let looked = elsewhere.canonicalize().unwrap().join("rubrics");
    assert!(
        stderr.contains(&format!("{}/", looked.display()))
            || stderr.contains(&format!("{}/", elsewhere.join("rubrics").display())),
        "says where it looked: {stderr}"
    );
    assert!(
        stderr.contains("--rubric RUBRIC.yaml"),
        "says how to pass one: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&elsewhere);
}
