//! `examiner review` as a TA (and an attacker) meets it: the page needs the token from the
//! printed URL and the right Host, refuses posts from other origins, escapes students' HTML,
//! carries a CSP, and a grade posted from it lands in the review file, from which `grade`
//! makes a complete gradebook.

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
    BufReader::new(stdout).read_line(&mut line).unwrap();
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

    let out = Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(["grade", "--out", "out"])
        .current_dir(&dir)
        .env("EXAMINER_CACHE_DIR", dir.join(".cache"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let gradebook = std::fs::read_to_string(dir.join("out/gradebook.csv")).unwrap();
    let ada = gradebook
        .lines()
        .find(|l| l.starts_with("ada_lovelace,"))
        .unwrap();
    // The samples' README: 48 automatic points plus the 3 of the derivation, nothing pending.
    assert!(ada.contains(",ok,51,51,0,"), "{ada}");
    let _ = std::fs::remove_dir_all(&dir);
}
