//! The review page in a real browser: headless Chromium driven through chromedriver (WebDriver,
//! plain HTTP/JSON here) opens the page examiner printed, grades the group holding Ada's backprop
//! derivation from the keyboard (points, comment, Enter), and the test checks the review file and
//! the gradebook `review --out` regenerated (and `grade`'s). A screenshot of the page is saved to
//! `target/screenshots/review-page.png` for people to look at.
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium`, `chromium-driver`; `.ci/run`
//! installs them in CI); skipped with a notice elsewhere when they are absent.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// Kills a process this test started when dropped.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port`; the response body as JSON.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    eprintln!("webdriver: {method} {path}");
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("chromedriver answers");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut reader = BufReader::new(s);
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
    }
    let mut payload = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0u8; n + 2];
            reader.read_exact(&mut chunk).unwrap();
            payload.extend_from_slice(&chunk[..n]);
        }
    } else {
        payload.resize(length, 0);
        reader.read_exact(&mut payload).unwrap();
    }
    let payload = String::from_utf8_lossy(&payload);
    serde_json::from_str(&payload).unwrap_or(Value::Null)
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = s.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &d)| acc | (u32::from(d) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_ta_grades_a_group_in_headless_chromium() {
    let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium and chromedriver (.ci/run installs them)"
        );
        eprintln!("skipped: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("examiner-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["submissions", "rubrics"] {
        common::copy_tree(&root().join(sub), &dir.join(sub));
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_examiner"))
        .args(["review", "--port", "0", "--out", "graded"])
        .current_dir(&dir)
        .env("EXAMINER_CACHE_DIR", dir.join(".cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Started(child);
    let mut line = String::new();
    // Kept open while the server runs (it prints more lines).
    let mut stdout = BufReader::new(stdout);
    stdout.read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");

    let port = free_port();
    let _driver = Started(
        Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chromedriver starts"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let session = http(
        port,
        "POST",
        "/session",
        Some(&json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1200,1400", "--user-data-dir=".to_string() + &dir.join(".chrome").display().to_string()]
            }
        }}})),
    );
    let id = session["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("a session: {session}"))
        .to_string();
    let s = format!("/session/{id}");
    // Open the page; on a loaded machine the first load can fail with the browser's error
    // page, so load it again until it shows.
    for attempt in 0.. {
        http(
            port,
            "POST",
            &format!("{s}/url"),
            Some(&json!({ "url": url })),
        );
        let page = http(port, "GET", &format!("{s}/source"), None);
        if page["value"]
            .as_str()
            .unwrap_or_default()
            .contains("Review queue")
        {
            break;
        }
        assert!(attempt < 10, "the page loads: {page}");
        std::thread::sleep(Duration::from_secs(1));
    }
    // An element by CSS selector, waiting up to 20 s for the page to show it.
    let find = |css: &str| -> String {
        let started = Instant::now();
        loop {
            let r = http(
                port,
                "POST",
                &format!("{s}/element"),
                Some(&json!({"using": "css selector", "value": css})),
            );
            let found = r["value"]
                .as_object()
                .filter(|o| !o.contains_key("error"))
                .and_then(|o| o.values().next())
                .and_then(Value::as_str)
                .map(str::to_string);
            match found {
                Some(id) => return id,
                None if started.elapsed() < Duration::from_secs(20) => {
                    std::thread::sleep(Duration::from_millis(250))
                }
                None => {
                    let page = http(port, "GET", &format!("{s}/source"), None);
                    let text = page["value"].as_str().unwrap_or_default();
                    let err = text
                        .find("ERR_")
                        .map_or("", |i| &text[i..(i + 40).min(text.len())]);
                    panic!(
                        "{css}: not found; the page: {err} {}",
                        &text[..text.len().min(300)]
                    );
                }
            }
        }
    };
    // The derivation is one question across the summary variants (one section, whatever the
    // pooled variants' ids); the form of the group that holds Ada's answer.
    let section = "section[id$=\"_backprop\"] \
                   input[name=students][value*=\"ada_lovelace\"] ~ label";
    let type_into = |element: &str, text: &str| {
        http(
            port,
            "POST",
            &format!("{s}/element/{element}/value"),
            Some(&json!({ "text": text })),
        );
    };
    let points = find(&format!("{section} input[name=points]"));
    type_into(
        &find(&format!("{section} input[name=comment]")),
        "Clear and complete",
    );
    type_into(&find(&format!("{section} input[name=grader]")), "ta-lin");
    // The keyboard path: the points, then Enter grades the group.
    type_into(&points, "3\u{E007}");
    let file = dir.join("reviews.csv");
    let started = Instant::now();
    while !file.exists() {
        if started.elapsed() > Duration::from_secs(20) {
            let source = http(port, "GET", &format!("{s}/source"), None);
            let at = http(port, "GET", &format!("{s}/url"), None);
            let text: String = source["value"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(600)
                .collect();
            panic!("the grade is not written; at {at}: {text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // The page reloads after the grade; let it settle, then keep a screenshot.
    std::thread::sleep(Duration::from_millis(500));
    let shot = http(port, "GET", &format!("{s}/screenshot"), None);
    let png = base64_decode(shot["value"].as_str().unwrap_or_default());
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let shots = root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    std::fs::write(shots.join("review-page.png"), &png).unwrap();
    http(port, "DELETE", &s, None);

    let reviews = std::fs::read_to_string(&file).unwrap();
    assert!(
        reviews.contains("ada_lovelace,backprop,3,Clear and complete,ta-lin,unix:"),
        "{reviews}"
    );
    // `review --out graded` regenerates the gradebook right after writing the review file
    // (before the page reloads): 48 automatic points plus the 3 of the derivation.
    let started = Instant::now();
    loop {
        let gradebook = std::fs::read_to_string(dir.join("graded/gradebook.csv")).unwrap();
        let ada = gradebook
            .lines()
            .find(|l| l.starts_with("ada_lovelace,"))
            .unwrap()
            .to_string();
        if ada.contains(",ok,51,51,0,") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{ada}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // And `grade` gives the same from the review file.
    let ada = common::gradebook_row(&common::grade_out(&dir), "ada_lovelace");
    // The samples' README: 48 automatic points plus the 3 of the derivation, nothing pending.
    assert!(ada.contains(",ok,51,51,0,"), "{ada}");
    let _ = std::fs::remove_dir_all(&dir);
}
