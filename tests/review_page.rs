//! `examiner review` as a TA (and an attacker) meets it: the page needs the token from the
//! printed URL and the right Host, refuses posts from other origins, escapes students' HTML,
//! carries a CSP, and a grade posted from it lands in the review file, from which `grade`
//! makes a complete gradebook; with `--out DIR` the gradebook in DIR follows every grade.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn class(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("examiner-page-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["submissions", "rubrics"] {
        common::copy_tree(&root().join(sub), &dir.join(sub));
    }
    dir
}

/// Stops the server this test started, however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn request(port: u16, raw: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn post(port: u16, host: &str, origin: &str, body: &str) -> String {
    request(
        port,
        &format!(
            "POST /grade HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Appends `text` to the cell of Ada's backprop derivation (the one with `\varphi` and
/// `\partial`), an answer that awaits review.
fn append_to_adas_derivation(dir: &Path, text: &str) {
    let path = dir.join("submissions/ada_lovelace.ipynb");
    let mut nb: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for cell in nb["cells"].as_array_mut().unwrap() {
        let source: String = match &cell["source"] {
            serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect(),
            other => other.as_str().unwrap_or_default().to_string(),
        };
        if source.contains("varphi") && source.contains("partial") {
            cell["source"] = serde_json::Value::String(format!("{source}\n\n{text}"));
        }
    }
    std::fs::write(&path, serde_json::to_vec(&nb).unwrap()).unwrap();
}

#[test]
fn the_page_is_private_escaped_and_its_grades_reach_the_gradebook() {
    let dir = class("e2e");
    append_to_adas_derivation(&dir, "Check: 1 < 2 & \"3\" is fine.");
    let mut child = Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(["review", "--port", "0"])
        .current_dir(&dir)
        .env("EXAMINER_CACHE_DIR", dir.join(".cache"))
        // Groups are tested elsewhere; without the model the page lists answers one by one.
        .env("EXAMINER_MINILM_DIR", dir.join("no-model"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    // Kept open while the server runs (it prints more lines).
    let mut stdout = BufReader::new(stdout);
    stdout.read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    let rest = url.strip_prefix("http://127.0.0.1:").expect(&line);
    let (port, token) = rest.split_once("/?token=").unwrap();
    let port: u16 = port.parse().unwrap();
    assert_eq!(token.len(), 32);
    let host = format!("127.0.0.1:{port}");

    let get = |path: &str, host: &str| {
        request(
            port,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        )
    };
    assert!(get("/", &host).starts_with("HTTP/1.1 403"));
    assert!(get("/?token=0000", &host).starts_with("HTTP/1.1 403"));
    assert!(get(&format!("/?token={token}"), "evil.example:80").starts_with("HTTP/1.1 403"));
    let page = get(&format!("/?token={token}"), &host);
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Content-Security-Policy: default-src 'none'"));
    assert!(page.contains("Referrer-Policy: same-origin"));
    assert!(page.contains("backprop"));
    // The backprop derivation is one bank question of the summary variants: one section for
    // the class, whose derivations that examiner could not check in full (Ada's V1, Edsger's
    // V2, by the samples' README; Grace's V3 is checked against autograd) await review side
    // by side.
    assert_eq!(page.matches("_backprop\"><h2>").count(), 1, "one section");
    let section = &page[page.find("_backprop\"><h2>").unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    for variant in ["v1", "v2"] {
        assert!(
            section.contains(&format!("cs236781-hw4-summary-{variant}")),
            "{variant} in {section}"
        );
    }
    for student in ["ada_lovelace", "edsger_dijkstra"] {
        assert!(section.contains(student), "{student}");
    }
    // What a student wrote is text, never markup.
    assert!(
        page.contains("1 &lt; 2 &amp; &quot;3&quot;"),
        "student text is escaped"
    );
    assert!(!page.contains("1 < 2"));

    let body = format!(
        "token={token}&question=backprop&students=ada_lovelace&points=3&comment=clear+%26+complete&grader=ta-lin"
    );
    let refused = post(port, &host, "http://evil.example", &body);
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(!dir.join("reviews.csv").exists());
    let wrong_token = post(port, &host, &format!("http://{host}"), "token=1&question=q");
    assert!(wrong_token.starts_with("HTTP/1.1 403"));

    let done = post(port, &host, &format!("http://{host}"), &body);
    assert!(done.starts_with("HTTP/1.1 303"), "{done}");
    let file = std::fs::read_to_string(dir.join("reviews.csv")).unwrap();
    assert!(
        file.contains("ada_lovelace,backprop,3,clear & complete,ta-lin,unix:"),
        "{file}"
    );
    // Reloading shows it reviewed.
    let page = get(&format!("/?token={token}"), &host);
    assert!(
        page.contains("reviewed by ta-lin"),
        "the page shows the review"
    );
    drop(server);

    let ada = common::gradebook_row(&common::grade_out(&dir), "ada_lovelace");
    // The samples' README: 48 automatic points plus the 3 of the derivation, nothing pending.
    assert!(ada.contains(",ok,51,51,0,"), "{ada}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `examiner review ARGS` in `dir` (without the model: answers one by one); returns the
/// server, its port, its token and its standard output (kept open while it runs).
fn start(dir: &Path, args: &[&str]) -> (Server, u16, String, BufReader<std::process::ChildStdout>) {
    start_with(dir, args, false)
}

/// [`start`], with the installed model when `model` (answers grouped by meaning).
fn start_with(
    dir: &Path,
    args: &[&str],
    model: bool,
) -> (Server, u16, String, BufReader<std::process::ChildStdout>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_examiner"));
    if !model {
        command.env("EXAMINER_MINILM_DIR", dir.join("no-model"));
    }
    let mut child = command
        .arg("review")
        .args(["--port", "0"])
        .args(args)
        .current_dir(dir)
        .env("EXAMINER_CACHE_DIR", dir.join(".cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let server = Server(child);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let rest = line
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|u| u.strip_prefix("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("the URL is printed first: {line}"))
        .to_string();
    let (port, token) = rest.split_once("/?token=").unwrap();
    (server, port.parse().unwrap(), token.to_string(), stdout)
}

/// Runs `examiner review ARGS` in `dir`, which must refuse to start: its exit code and
/// standard error (killed after 120 s if it serves instead).
fn refused(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_examiner"))
        .arg("review")
        .args(["--port", "0"])
        .args(args)
        .current_dir(dir)
        .env("EXAMINER_CACHE_DIR", dir.join(".cache"))
        .env("EXAMINER_MINILM_DIR", dir.join("no-model"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("examiner review {args:?} served instead of refusing");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap().code(), err)
}

#[test]
fn review_out_keeps_the_gradebook_current_after_every_grade() {
    let dir = class("out");
    // A review given earlier (in a spreadsheet) is in the first set already.
    std::fs::write(
        dir.join("reviews.csv"),
        "student,question,points,comment\nalan_turing,backprop,2,one slip\n",
    )
    .unwrap();
    let (server, port, token, mut stdout) = start(&dir, &["--out", "graded"]);
    let mut rest = String::new();
    stdout.read_line(&mut rest).unwrap();
    stdout.read_line(&mut rest).unwrap();
    assert!(
        rest.contains("graded are regenerated after every grade"),
        "{rest}"
    );
    let out = dir.join("graded");
    // At start: the class as graded, with the review file merged. The samples' README: Ada
    // has 48 automatic points of 51 and her derivation (3 points) pending; Alan's derivation
    // has the 2 points of the review.
    let ada = common::gradebook_row(&out, "ada_lovelace");
    assert!(ada.contains(",ok,48,51,1,"), "{ada}");
    let header = common::gradebook_row(&out, "student");
    let column = |row: &str, name: &str| -> String {
        let at = header.split(',').position(|h| h == name).unwrap();
        row.split(',').nth(at).unwrap_or_default().to_string()
    };
    let alan = common::gradebook_row(&out, "alan_turing");
    assert_eq!(column(&alan, "backprop"), "2", "{alan}");
    assert!(alan.ends_with(",backprop"), "reviewed: {alan}");
    assert_eq!(column(&ada, "backprop"), "", "pending: {ada}");
    assert!(out.join(".examiner-output").is_file());
    assert!(out.join("feedback/ada_lovelace.html").is_file());
    assert!(out.join("results.json").is_file() && out.join("reviews-todo.csv").is_file());

    let host = format!("127.0.0.1:{port}");
    let body = format!(
        "token={token}&question=backprop&students=ada_lovelace&points=3&comment=complete&grader=ta-lin"
    );
    let done = post(port, &host, &format!("http://{host}"), &body);
    assert!(done.starts_with("HTTP/1.1 303"), "{done}");
    // The answer is back before the folder is current: no waiting.
    let ada = common::gradebook_row(&out, "ada_lovelace");
    assert!(ada.contains(",ok,51,51,0,"), "{ada}");
    assert_eq!(column(&ada, "backprop"), "3", "{ada}");
    assert!(
        ada.contains("ta-lin"),
        "the gradebook says who reviewed: {ada}"
    );
    let results = std::fs::read_to_string(out.join("results.json")).unwrap();
    assert!(results.contains("ta-lin"));
    let feedback = std::fs::read_to_string(out.join("feedback/ada_lovelace.md")).unwrap();
    assert!(
        feedback.contains("complete"),
        "the comment reaches the feedback"
    );
    let todo = std::fs::read_to_string(out.join("reviews-todo.csv")).unwrap();
    assert!(
        !todo
            .lines()
            .any(|l| l.starts_with("ada_lovelace,backprop,")),
        "{todo}"
    );
    // No staging folder or half-written set is left beside the output.
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("examiner-new"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A TA's edit breaks the review file: the grade is refused, and the folder keeps its
    // complete set (with Ada's review) rather than a gradebook without the reviews.
    let file = std::fs::read_to_string(dir.join("reviews.csv")).unwrap();
    std::fs::write(
        dir.join("reviews.csv"),
        format!("{file}grace_hopper,backprop,lots,\n"),
    )
    .unwrap();
    let body = format!("token={token}&question=backprop&students=barbara_liskov&points=1");
    let refused_grade = post(port, &host, &format!("http://{host}"), &body);
    assert!(refused_grade.starts_with("HTTP/1.1 400"), "{refused_grade}");
    let ada = common::gradebook_row(&out, "ada_lovelace");
    assert!(ada.contains(",ok,51,51,0,"), "{ada}");
    let page = request(
        port,
        &format!("GET /?token={token} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
    );
    assert!(
        page.contains("were not updated"),
        "the page says the outputs are stale"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn review_out_refuses_what_grade_out_refuses() {
    let dir = class("refuse");
    std::fs::create_dir_all(dir.join("graded")).unwrap();
    std::fs::write(
        dir.join("graded/reviews.csv"),
        "student,question,points,comment\n",
    )
    .unwrap();
    // The review file inside the folder each set replaces.
    let (code, err) = refused(
        &dir,
        &["--out", "graded", "--reviews", "graded/reviews.csv"],
    );
    assert_ne!(code, Some(0));
    assert!(err.contains("inside the --out folder"), "{err}");
    // A folder examiner did not write.
    let (code, err) = refused(&dir, &["--out", "graded"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("holds files examiner did not write"), "{err}");
    assert!(
        dir.join("graded/reviews.csv").is_file(),
        "nothing was replaced"
    );
    // --gradescope only with --out.
    let (code, _) = refused(&dir, &["--gradescope"]);
    assert_eq!(code, Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn review_out_writes_the_groups_pooled_across_variants_with_current_points() {
    let dir = class("groups");
    let (server, port, token, _stdout) = start_with(&dir, &["--out", "graded"], true);
    if !dir.join("graded/groups.json").exists() {
        eprintln!("skipped: no groups (the model is not installed: cargo xtask setup)");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let groups = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("graded/groups.json")).unwrap())
            .unwrap()
    };
    let derivation = |doc: &serde_json::Value| -> serde_json::Value {
        let found: Vec<&serde_json::Value> = doc["questions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|q| q["question"] == "backprop")
            .collect();
        assert_eq!(found.len(), 1, "one entry for the question: {found:?}");
        found[0].clone()
    };
    let ada = |q: &serde_json::Value| -> serde_json::Value {
        q["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["members"].as_array().unwrap())
            .find(|m| m["student"] == "ada_lovelace")
            .unwrap()
            .clone()
    };
    let q = derivation(&groups(&dir));
    // The samples' README: Ada wrote V1, Edsger V2 and Grace V3; all three derived it.
    for v in ["v1", "v2", "v3"] {
        let id = format!("cs236781-hw4-summary-{v}");
        assert!(
            q["rubrics"].as_array().unwrap().iter().any(|r| *r == *id),
            "{id} pooled: {}",
            q["rubrics"]
        );
        assert!(q["rubric"].as_str().unwrap().contains(&id));
    }
    let members: Vec<&serde_json::Value> = q["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["members"].as_array().unwrap())
        .collect();
    for (student, v) in [
        ("ada_lovelace", "v1"),
        ("edsger_dijkstra", "v2"),
        ("grace_hopper", "v3"),
    ] {
        let m = members.iter().find(|m| m["student"] == student).unwrap();
        assert_eq!(m["rubric"], format!("cs236781-hw4-summary-{v}"), "{m}");
    }
    // Awaiting review: no points yet.
    assert_eq!(ada(&q)["status"], "needs-review");
    assert!(ada(&q)["points"].is_null());

    let host = format!("127.0.0.1:{port}");
    let body =
        format!("token={token}&question=backprop&students=ada_lovelace&points=3&grader=ta-lin");
    let done = post(port, &host, &format!("http://{host}"), &body);
    assert!(done.starts_with("HTTP/1.1 303"), "{done}");
    let q = derivation(&groups(&dir));
    assert_eq!(
        ada(&q)["points"],
        3.0,
        "the groups carry the reviewed points"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
