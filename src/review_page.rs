//! `examiner review`: the review queue as a local web page. A small HTTP/1.1 server on the
//! standard library alone, bound to 127.0.0.1 only, serving one page (no external assets, no
//! network) that lists, question by question, the answers awaiting a person, grouped by meaning
//! when the model is installed, with the automatic score and why; a form grades a whole group or
//! one answer, with a comment. Every grade is written to the review file at once
//! ([`crate::grading::reviews::record`]: atomic, under the lock `grade` takes too), so reloading
//! the page or restarting the server loses nothing.
//!
//! Security, since the page shows students' answers and accepts grades:
//! - binds to 127.0.0.1 only;
//! - a random token (128 bits from the OS) is in the URL printed at start, and every request
//!   must carry it (query or form field), compared in constant time: other local users cannot
//!   read the page or post grades;
//! - the `Host` header must be `127.0.0.1:PORT` or `localhost:PORT` (against DNS rebinding),
//!   and a POST's `Origin`, when sent, must be this server (against other pages in the
//!   browser posting grades);
//! - every student string goes through [`crate::report::escape::html`], and a
//!   Content-Security-Policy allows only inline styles and the page's own script (by nonce),
//!   `Referrer-Policy: same-origin` keeps the token out of other sites' logs (`no-referrer`
//!   would make the browser send `Origin: null` with the page's own forms);
//! - requests are bounded (64 kB, 10 s to arrive, 16 at a time).
//!
//! Keyboard: `j`/`k` move to the next/previous group's points field, Enter grades it.
//!
//! The page shows one section per question, pooled across the variants of a question set
//! that share it ([`crate::grading::groups::pools`]): a class split over variants is reviewed
//! (and grouped) as one class.
//!
//! With `review --out DIR` ([`Outputs`]), the grade outputs (the set `grade --out DIR` writes,
//! with the review file merged) are regenerated into DIR at start and after every grade, as
//! one atomic set, so the gradebook to hand in is always current.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use crate::grading::batch::{Graded, Outcome, Prepared};
use crate::grading::groups::{Pool, QuestionGroups};
use crate::grading::reviews::{self, Review};
use crate::grading::{QuestionResult, Status};
use crate::report::escape::html;
use crate::rubric::keys::format_points;

/// The largest request accepted.
const MAX_REQUEST: usize = 64 * 1024;

/// What the page shows and where grades go.
#[derive(Debug)]
pub struct State {
    /// The class as graded, before reviews.
    pub graded: Vec<Graded>,
    pub rubrics: Vec<Prepared>,
    /// Groups by meaning, when the model is installed.
    pub groups: Option<Vec<QuestionGroups>>,
    pub reviews_file: PathBuf,
    pub token: String,
    pub port: u16,
    /// Where the grade outputs are kept current (`review --out DIR`).
    pub outputs: Option<Outputs>,
}

/// Writes one complete output set of the class (reviews applied) into the output folder, for
/// `review --out`: `Some(set)` is a set already begun (the first one, begun before grading),
/// `None` begins a new one.
pub type WriteOutputs = dyn Fn(&[Graded], Option<crate::report::output_set::OutputSet>) -> anyhow::Result<()>
    + Send
    + Sync;

/// `review --out DIR`: the grade outputs regenerated after every grade.
pub struct Outputs {
    pub dir: PathBuf,
    pub write: Box<WriteOutputs>,
    /// Serialises regenerations (two grades posted at once); holds why the last one failed,
    /// shown on the page until one succeeds.
    pub last_error: std::sync::Mutex<Option<String>>,
}

impl std::fmt::Debug for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outputs")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// `review --out`: writes the class with the review file applied into the output folder
/// (`set` when given, else a new set). The review file is read under its lock; when it cannot
/// be read (a TA's edit broke it), the folder keeps its previous, complete set rather than a
/// gradebook without the reviews, and the error is returned (and shown on the page). Does
/// nothing without `--out`.
pub fn regenerate(
    state: &State,
    set: Option<crate::report::output_set::OutputSet>,
) -> Result<(), String> {
    let Some(outputs) = &state.outputs else {
        return Ok(());
    };
    let mut last = outputs
        .last_error
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let result = (|| {
        let mut graded = state.graded.clone();
        let file = &state.reviews_file;
        let list = {
            let _lock = reviews::ReviewLock::acquire(file)?;
            match reviews::read(file) {
                Ok(list) => list,
                Err(_) if !file.exists() => Vec::new(),
                Err(e) => return Err(e.to_string()),
            }
        };
        reviews::apply(
            &mut graded,
            &state.rubrics,
            &list,
            &file.display().to_string(),
        );
        (outputs.write)(&graded, set).map_err(|e| format!("{e:#}"))
    })()
    .map_err(|why| {
        format!(
            "the grade outputs in {} were not updated: {why}",
            outputs.dir.display()
        )
    });
    *last = result.clone().err();
    result
}

/// A parsed request.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub form: BTreeMap<String, String>,
}

/// A response: status, content type, body, and where to go next (a redirect).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    pub nonce: String,
}

/// 128 random bits from the OS, as hex.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if ok.is_err() {
        // No /dev/urandom: std's hasher keys come from the OS's randomness too.
        use std::hash::{BuildHasher, Hasher};
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .elapsed()
                    .map_or(0, |d| d.as_nanos()),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// At most this many requests are served at once (a browser keeps idle connections open).
const MAX_CONNECTIONS: usize = 16;

/// Serves `state` on `listener` until the process is stopped, each connection on its own
/// thread (grades are serialised by the review file's lock).
pub fn serve(listener: TcpListener, state: State) {
    let state = std::sync::Arc::new(state);
    let open = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for stream in listener.incoming().flatten() {
        use std::sync::atomic::Ordering;
        if open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            continue; // dropped: the client retries
        }
        open.fetch_add(1, Ordering::SeqCst);
        let (state, open) = (state.clone(), open.clone());
        std::thread::spawn(move || {
            let _ = handle_stream(stream, &state);
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

fn handle_stream(mut stream: TcpStream, state: &State) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let response = match read_request(&stream) {
        Ok(req) => handle(&req, state),
        Err(why) => plain(400, why),
    };
    write_response(&mut stream, &response)
}

fn read_request(stream: &TcpStream) -> Result<Request, String> {
    let mut reader = BufReader::new(stream.take(MAX_REQUEST as u64));
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|_| "bad request line".to_string())?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        let n = reader
            .read_line(&mut h)
            .map_err(|_| "bad header".to_string())?;
        if n == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    if length > MAX_REQUEST {
        return Err("request too large".into());
    }
    let mut body = vec![0u8; length];
    reader
        .read_exact(&mut body)
        .map_err(|_| "short body".to_string())?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), parse_form(q)),
        None => (target, BTreeMap::new()),
    };
    Ok(Request {
        method,
        path,
        query,
        headers,
        form: parse_form(&String::from_utf8_lossy(&body)),
    })
}

/// `a=1&b=x%20y` as a map (`+` is a space).
pub fn parse_form(s: &str) -> BTreeMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn plain(status: u16, body: impl Into<String>) -> Response {
    Response {
        status,
        body: body.into(),
        location: None,
        nonce: String::new(),
    }
}

/// The checks every request passes, then the page or a grade.
pub fn handle(req: &Request, state: &State) -> Response {
    let hosts = [
        format!("127.0.0.1:{}", state.port),
        format!("localhost:{}", state.port),
    ];
    let host = req.headers.get("host").map(String::as_str).unwrap_or("");
    if !hosts.iter().any(|h| h == host) {
        return plain(403, "wrong Host");
    }
    if let Some(origin) = req.headers.get("origin") {
        if !hosts.iter().any(|h| *origin == format!("http://{h}")) {
            return plain(403, "wrong Origin");
        }
    }
    let token = req
        .form
        .get("token")
        .or_else(|| req.query.get("token"))
        .map(String::as_str)
        .unwrap_or("");
    if !constant_time_eq(token, &state.token) {
        return plain(403, "missing or wrong token: use the URL examiner printed");
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/") => Response {
            status: 200,
            nonce: random_hex(),
            body: String::new(),
            location: None,
        }
        .with_page(state),
        ("POST", "/grade") => match graded_then_regenerated(&req.form, state) {
            Ok(anchor) => Response {
                status: 303,
                body: String::new(),
                location: Some(format!("/?token={}#{anchor}", state.token)),
                nonce: String::new(),
            },
            Err(why) => plain(400, why),
        },
        _ => plain(404, "not found"),
    }
}

impl Response {
    fn with_page(mut self, state: &State) -> Response {
        self.body = page(state, &self.nonce);
        self
    }
}

/// The class with the review file applied, as the page shows it.
fn reviewed(state: &State) -> (Vec<Graded>, Vec<String>) {
    let mut graded = state.graded.clone();
    let warnings = match reviews::read(&state.reviews_file) {
        Ok(r) => reviews::apply(
            &mut graded,
            &state.rubrics,
            &r,
            &state.reviews_file.display().to_string(),
        ),
        Err(e) if state.reviews_file.exists() => vec![e.to_string()],
        Err(_) => Vec::new(),
    };
    (graded, warnings)
}

/// Records a posted grade, then (with `--out`) regenerates the outputs, also after a grade
/// that failed part-way (rows already recorded must reach the gradebook). A failed
/// regeneration does not fail the grade (it is in the review file): the page shows why.
fn graded_then_regenerated(
    form: &BTreeMap<String, String>,
    state: &State,
) -> Result<String, String> {
    let result = grade(form, state);
    if let Err(why) = regenerate(state, None) {
        // Not `eprintln!`: a closed standard error must not stop the server.
        let _ = writeln!(std::io::stderr(), "examiner: {why}");
    }
    result
}

/// Records the grade posted for one or more students' answers to one question.
fn grade(form: &BTreeMap<String, String>, state: &State) -> Result<String, String> {
    let question = form.get("question").cloned().unwrap_or_default();
    let students: Vec<&str> = form
        .get("students")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let points = form.get("points").map(|p| p.trim()).unwrap_or("");
    let points = if points.is_empty() {
        None
    } else {
        Some(
            points
                .replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && *p >= 0.0)
                .ok_or_else(|| format!("points `{points}` is not a number"))?,
        )
    };
    let comment = form.get("comment").cloned().unwrap_or_default();
    if points.is_none() && comment.trim().is_empty() {
        return Err("give points or a comment".into());
    }
    let (qid, part) = match question.split_once('/') {
        Some((q, p)) => (q.to_string(), Some(p.to_string())),
        None => (question.clone(), None),
    };
    for student in &students {
        let q = find(&state.graded, student, &qid)
            .ok_or_else(|| format!("no answer of {student} to {qid}"))?;
        let max = match &part {
            Some(p) => q.parts.iter().find(|x| x.id == *p).map(|x| x.max_points),
            None => Some(q.max_points),
        }
        .ok_or_else(|| format!("{qid} has no part {part:?}"))?;
        if points.is_some_and(|p| p > max + 1e-9) {
            return Err(format!("{qid} is worth {}", format_points(max)));
        }
        reviews::record(
            &state.reviews_file,
            &Review {
                line: 0,
                student: student.to_string(),
                question: qid.clone(),
                part: part.clone(),
                points,
                comment: comment.trim().to_string(),
                grader: form
                    .get("grader")
                    .map(|g| g.trim().to_string())
                    .unwrap_or_default(),
                timestamp: timestamp(),
                answer_hash: q.answer_hash.clone(),
            },
        )?;
    }
    let rubric = state
        .graded
        .iter()
        .find(|g| students.first() == Some(&g.submission.student.as_str()))
        .and_then(|g| match &g.outcome {
            Outcome::Graded(r) => Some(r.rubric.as_str()),
            Outcome::Failed { .. } => None,
        })
        .unwrap_or_default();
    let rubric = pools(state)
        .into_iter()
        .find(|p| p.holds(rubric, &qid))
        .map_or_else(|| rubric.to_string(), |p| p.rubric());
    Ok(anchor(&format!("{rubric}/{qid}")))
}

/// The questions of the run's rubrics pooled across variants.
fn pools(state: &State) -> Vec<Pool> {
    let rubrics: Vec<&crate::rubric::Rubric> = state.rubrics.iter().map(|p| &p.rubric).collect();
    crate::grading::groups::pools(&rubrics)
}

fn find<'a>(graded: &'a [Graded], student: &str, question: &str) -> Option<&'a QuestionResult> {
    graded
        .iter()
        .find(|g| g.submission.student == student)
        .and_then(|g| match &g.outcome {
            Outcome::Graded(r) => r.questions.iter().find(|q| q.id == question),
            Outcome::Failed { .. } => None,
        })
}

/// Seconds since the Unix epoch, as `unix:1764600000` (no time-zone database needed).
fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("unix:{secs}")
}

fn anchor(question: &str) -> String {
    question
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#1f2328}\
section{border-top:2px solid #d0d7de;margin-top:1.5rem}\
.group{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem;margin:.75rem 0}\
.group:focus-within{border-color:#0969da}\
pre{background:#f6f8fa;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere}\
.why{color:#59636e;font-size:.9rem}\
.warn{background:#fff8c5;padding:.5rem}\
input[name=points]{width:4rem}input[name=comment]{width:24rem}";

const SCRIPT: &str = "document.addEventListener('keydown',e=>{\
if(e.target.tagName==='INPUT'&&e.key!=='Escape')return;\
const f=[...document.querySelectorAll('input[name=points]')];\
if(!f.length)return;\
let i=f.indexOf(document.activeElement);\
if(e.key==='j'){i=Math.min(i+1,f.length-1);}else if(e.key==='k'){i=Math.max(i-1,0);}\
else if(e.key==='Escape'){document.activeElement.blur();return;}else return;\
e.preventDefault();f[i].focus();f[i].scrollIntoView({block:'center'});});";

/// The page: per question with answers awaiting a person (or reviewed), its groups.
fn page(state: &State, nonce: &str) -> String {
    let (graded, warnings) = reviewed(state);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>examiner review</title><style>{STYLE}</style></head><body>\
         <h1>Review queue</h1><p>Grades are written to <code>{}</code> at once. Keys: \
         <kbd>j</kbd>/<kbd>k</kbd> next/previous group, <kbd>Enter</kbd> grade it, \
         <kbd>Esc</kbd> leave a field.</p>",
        html(&state.reviews_file.display().to_string())
    );
    if let Some(o) = &state.outputs {
        let _ = write!(
            out,
            "<p>The gradebook and the other grade outputs in <code>{}</code> are regenerated \
             after every grade.</p>",
            html(&o.dir.display().to_string())
        );
        let last = o
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(why) = last {
            let _ = write!(out, "<p class=\"warn\">{}</p>", html(&why));
        }
    }
    for w in &warnings {
        let _ = write!(out, "<p class=\"warn\">{}</p>", html(w));
    }
    // One section per question pooled across variants: (pooled rubrics, question id) ->
    // [(student, result)].
    let pools = pools(state);
    let mut by_question: BTreeMap<(String, String), Vec<(&str, &QuestionResult)>> = BTreeMap::new();
    for g in &graded {
        let Outcome::Graded(r) = &g.outcome else {
            continue;
        };
        for q in &r.questions {
            if q.status == Status::NeedsReview || !q.reviews.is_empty() {
                let rubric = pools
                    .iter()
                    .find(|p| p.holds(&r.rubric, &q.id))
                    .map_or_else(|| r.rubric.clone(), Pool::rubric);
                by_question
                    .entry((rubric, q.id.clone()))
                    .or_default()
                    .push((&g.submission.student, q));
            }
        }
    }
    for ((rubric, qid), answers) in &by_question {
        let pending = answers
            .iter()
            .filter(|(_, q)| q.status == Status::NeedsReview)
            .count();
        // A pooled question is named once, with the variants its answers come from.
        let (heading, variants) = match rubric.contains('+') {
            false => (format!("{rubric} / {qid}"), String::new()),
            true => {
                let present: std::collections::BTreeSet<&str> = answers
                    .iter()
                    .filter_map(|(student, _)| {
                        graded.iter().find_map(|g| match &g.outcome {
                            Outcome::Graded(r) if g.submission.student == *student => {
                                Some(r.rubric.as_str())
                            }
                            _ => None,
                        })
                    })
                    .collect();
                let present: Vec<&str> = present.into_iter().collect();
                match present.as_slice() {
                    [one] => (format!("{one} / {qid}"), String::new()),
                    _ => (
                        qid.clone(),
                        format!(
                            "<p class=\"why\">One question in the variants {}: their answers \
                             are reviewed and grouped together.</p>",
                            html(&present.join(", "))
                        ),
                    ),
                }
            }
        };
        let _ = write!(
            out,
            "<section id=\"{}\"><h2>{}</h2>{variants}<p>{} answers, {pending} awaiting review.</p>",
            html(&anchor(&format!("{rubric}/{qid}"))),
            html(&heading),
            answers.len()
        );
        for members in group_members(state, rubric, qid, answers) {
            group_form(&mut out, state, qid, &members);
        }
        out.push_str("</section>");
    }
    if by_question.is_empty() {
        out.push_str("<p>Nothing awaits review.</p>");
    }
    let _ = writeln!(
        out,
        "<script nonce=\"{nonce}\">{SCRIPT}</script></body></html>"
    );
    out
}

/// The answers of one question in groups: by meaning when groups were computed, else one
/// group per answer.
fn group_members<'a>(
    state: &State,
    rubric: &str,
    qid: &str,
    answers: &[(&'a str, &'a QuestionResult)],
) -> Vec<Vec<(&'a str, &'a QuestionResult)>> {
    let groups = state
        .groups
        .as_ref()
        .and_then(|g| g.iter().find(|x| x.rubric == rubric && x.question == qid));
    let Some(groups) = groups else {
        return answers.iter().map(|a| vec![*a]).collect();
    };
    let mut out: Vec<Vec<(&str, &QuestionResult)>> = Vec::new();
    let mut placed: Vec<&str> = Vec::new();
    for g in &groups.groups {
        let members: Vec<(&str, &QuestionResult)> = g
            .members
            .iter()
            .filter_map(|m| answers.iter().find(|(s, _)| *s == m.student).copied())
            .collect();
        placed.extend(members.iter().map(|(s, _)| *s));
        if !members.is_empty() {
            out.push(members);
        }
    }
    for a in answers {
        if !placed.contains(&a.0) {
            out.push(vec![*a]);
        }
    }
    out
}

fn group_form(out: &mut String, state: &State, qid: &str, members: &[(&str, &QuestionResult)]) {
    let (first, q) = members[0];
    let students: Vec<&str> = members.iter().map(|(s, _)| *s).collect();
    let _ = write!(
        out,
        "<div class=\"group\"><p><b>{} answer{}</b>, representative: {} ({}, {} / {} points)</p><pre dir=\"auto\">{}</pre>",
        members.len(),
        if members.len() == 1 { "" } else { "s" },
        html(first),
        html(q.status.as_str()),
        q.points.map_or_else(|| "–".to_string(), format_points),
        format_points(q.max_points),
        html(q.answer.text.trim())
    );
    if !q.feedback.is_empty() {
        let _ = write!(
            out,
            "<p class=\"why\">{}</p>",
            html(&q.feedback.join(" · "))
        );
    }
    if members.len() > 1 {
        out.push_str("<details><summary>Members</summary><ul>");
        for (s, m) in members {
            let _ = write!(
                out,
                "<li>{} ({}): {}</li>",
                html(s),
                html(m.status.as_str()),
                html(&crate::report::escape::one_line(m.answer.text.trim()))
            );
        }
        out.push_str("</ul></details>");
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/grade\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
         <input type=\"hidden\" name=\"question\" value=\"{}\"><input type=\"hidden\" name=\"students\" value=\"{}\">\
         <label>points <input name=\"points\" inputmode=\"decimal\"></label> \
         <label>comment <input name=\"comment\"></label> <label>grader <input name=\"grader\" size=\"8\"></label> \
         <button>Grade {}</button></form></div>",
        html(&state.token),
        html(qid),
        html(&students.join(",")),
        if members.len() == 1 { "answer" } else { "group" }
    );
}

fn write_response(stream: &mut TcpStream, r: &Response) -> std::io::Result<()> {
    let reason = match r.status {
        200 => "OK",
        303 => "See Other",
        400 => "Bad Request",
        403 => "Forbidden",
        _ => "Not Found",
    };
    let csp = if r.nonce.is_empty() {
        "default-src 'none'".to_string()
    } else {
        format!(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{}'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            r.nonce
        )
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: text/{}; charset=utf-8\r\nContent-Length: {}\r\n\
         Content-Security-Policy: {csp}\r\nX-Content-Type-Options: nosniff\r\n\
         Referrer-Policy: same-origin\r\nCache-Control: no-store\r\nConnection: close\r\n",
        r.status,
        if r.nonce.is_empty() { "plain" } else { "html" },
        r.body.len()
    );
    if let Some(l) = &r.location {
        head.push_str(&format!("Location: {l}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(r.body.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_and_hostile_encodings_do_not_panic() {
        let f = parse_form("a=1+2&b=x%20y%26z&c=%E2%9C%93&d=%&e=%4&f=%zz&=v&g");
        assert_eq!(f["a"], "1 2");
        assert_eq!(f["b"], "x y&z");
        assert_eq!(f["c"], "✓");
        assert_eq!(f["d"], "%");
        assert_eq!(f["e"], "%4");
        assert_eq!(f["f"], "%zz");
        assert_eq!(f["g"], "");
        assert_eq!(
            parse_form("x=%C3"),
            BTreeMap::from([("x".into(), "\u{fffd}".into())])
        );
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert_eq!(random_hex().len(), 32);
        assert_ne!(random_hex(), random_hex());
    }
}
