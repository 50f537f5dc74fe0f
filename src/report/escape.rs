//! Escaping and trimming of untrusted text (students' answers, file names, error reasons) for
//! the Markdown and HTML reports. Every piece of such text those reports print goes through
//! one of these functions; keeping them in one place keeps the rules the same everywhere.

/// `s` with HTML's special characters replaced by entities; safe in element content and in
/// quoted attribute values.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `s` on one line: every run of whitespace (newlines included) becomes one space.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `s` as literal Markdown text on one line: safe in a paragraph, a heading, a list item or
/// a table cell. Characters that could start markup (emphasis, links, code, HTML, entities,
/// table pipes, headings) are backslash-escaped, as are list and quote markers at the start;
/// an `_` between two letters or digits is left alone (it cannot start emphasis), so
/// `p_1` and `q_rf` stay readable.
pub fn markdown(s: &str) -> String {
    let s = one_line(s);
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let escape = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '&' | '|' | '~' | '#' | '!' | '$' => true,
            '_' => {
                let alnum = |j: Option<usize>| {
                    j.and_then(|j| chars.get(j))
                        .is_some_and(|c| c.is_alphanumeric())
                };
                !(alnum(i.checked_sub(1)) && alnum(Some(i + 1)))
            }
            '-' | '+' | '=' => i == 0,
            '.' | ')' => chars[..i].iter().all(|c| c.is_ascii_digit()) && i > 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Markdown code fence (of backticks) longer than any run of backticks in `s`, so `s`
/// shows verbatim between two of them.
pub fn fence(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

/// `s` as inline Markdown code on one line: delimited by more backticks than it contains in
/// a row, padded with spaces when it starts or ends with a backtick.
pub fn inline_code(s: &str) -> String {
    let s = one_line(s);
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    if s.starts_with('`') || s.ends_with('`') {
        format!("{ticks} {s} {ticks}")
    } else {
        format!("{ticks}{s}{ticks}")
    }
}

/// The first `max` characters of `s`, and how many characters were left out.
pub fn truncate(s: &str, max: usize) -> (&str, usize) {
    match s.char_indices().nth(max) {
        Some((at, _)) => (&s[..at], s[at..].chars().count()),
        None => (s, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn one_line_joins_every_run_of_whitespace_with_one_space() {
        assert_eq!(one_line(""), "");
        assert_eq!(one_line(" \n\t "), "");
        assert_eq!(one_line("  a\n\nb \t c  "), "a b c");
        // Unicode whitespace (no-break and ideographic spaces) counts too.
        assert_eq!(one_line("x\u{a0}y\u{3000}z"), "x y z");
    }
}
