//! Defusing untrusted text (file names, answers, error reasons) for terminals and CI logs.
//!
//! Classes of text that must never reach standard output or standard error as written:
//!
//! - **Terminal control sequences**: ESC/CSI/OSC sequences (`\x1b]8;;…`, `\x1b[2J`), other C0
//!   and C1 control characters, and Unicode bidirectional overrides can rewrite what a
//!   terminal shows, retitle it, or hide text. They are shown as visible escapes (`\u{1b}`).
//!   examiner's own colours (SGR: `ESC [ digits m`) are kept when colour is on.
//! - **CI workflow commands**: GitHub Actions runs any log line that starts with `::`
//!   (`::stop-commands::`, `::error`, `::add-mask::`). A student's file name with a newline
//!   or an answer line starting with `::` could forge an annotation or switch the later
//!   real ones off. Names are printed on one line ([`line`]), and report text that has a line
//!   starting with `::` is printed between `::stop-commands::TOKEN` and `::TOKEN::` with a
//!   token drawn at random for the run ([`stop_commands`]), GitHub's documented way to print
//!   untrusted text.

/// Whether `c` is shown as a visible escape rather than printed.
fn is_dangerous(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// `s` on one line with every control character (newlines included) as a visible escape:
/// for names and reasons printed inside a line.
pub fn line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || is_dangerous(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` for a terminal or log: newlines and tabs kept, every other control character as
/// a visible escape; with `keep_colour`, well-formed SGR colour sequences (`ESC [ 0;31 m`) are
/// kept as they are.
pub fn terminal(text: &str, keep_colour: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' && keep_colour {
            if let Some(len) = sgr_len(rest) {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        if is_dangerous(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of the SGR sequence `ESC [ (digits|;)* m` at the start of `s`, if there is one.
fn sgr_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("\x1b[")?;
    let params = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (params <= 32 && body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

/// Whether some line of `text` would be read as a workflow command by a CI runner.
pub fn has_workflow_command(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with("::"))
}

/// `text` between `::stop-commands::TOKEN` and `::TOKEN::`, with a fresh random token, so a CI
/// runner runs none of its lines.
pub fn stop_commands(text: &str) -> String {
    let token = random_token();
    let mut out = format!("::stop-commands::{token}\n");
    out.push_str(text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("::{token}::\n"));
    out
}

/// 128 random bits as hex, from the standard library's randomly seeded hasher keys.
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut parts = [0u64; 2];
    for (i, part) in parts.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        *part = h.finish();
    }
    format!("examiner-{:016x}{:016x}", parts[0], parts[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_on_one_line_without_controls() {
        assert_eq!(line("x\n::stop-commands::pwn"), "x\\n::stop-commands::pwn");
        assert_eq!(line("a\x1b]0;title\x07b"), "a\\u{1b}]0;title\\u{7}b");
        assert_eq!(line("ada"), "ada");
        assert_eq!(line("abc\u{202E}fdp.exe"), "abc\\u{202e}fdp.exe");
    }

    #[test]
    fn terminal_text_keeps_lines_and_only_our_colours() {
        let text = "\x1b[31mwrong\x1b[0m\nanswer \x1b]8;;http://x\x07link\x1b[2J\n";
        assert_eq!(
            terminal(text, true),
            "\x1b[31mwrong\x1b[0m\nanswer \\u{1b}]8;;http://x\\u{7}link\x1b[2J\n"
                .replace("\x1b[2J", "\\u{1b}[2J")
        );
        assert!(!terminal(text, false).contains('\x1b'));
    }

    #[test]
    fn workflow_commands_are_switched_off_around_untrusted_text() {
        let text = "ok\n  ::error::forged\n";
        assert!(has_workflow_command(text));
        let wrapped = stop_commands(text);
        let first = wrapped.lines().next().unwrap();
        let token = first.strip_prefix("::stop-commands::").unwrap();
        assert!(token.len() > 20);
        assert!(wrapped.ends_with(&format!("::{token}::\n")));
        assert_ne!(stop_commands(text), wrapped, "a fresh token each time");
    }
}
