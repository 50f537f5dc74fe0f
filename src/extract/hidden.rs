//! What a reader of the rendered notebook does not see is not graded (issue 15, class 9).
//!
//! Markdown cells may hold HTML, and HTML can hide text: a student could show one answer to
//! the TA and another to the grader. The classes of hidden text removed before anything is
//! located or read:
//!
//! - HTML comments `<!-- ... -->` (an unterminated one hides the rest of the cell, as in a
//!   browser);
//! - elements with the `hidden` attribute, or styled `display: none`, `visibility: hidden`,
//!   `font-size: 0`, `opacity: 0`, or a text colour that matches the page's white background
//!   (`color: white`, `#fff`, `#ffffff`, `rgb(255, 255, 255)`, `transparent`), with
//!   everything inside them (nested elements of the same tag are matched; an element never
//!   closed hides the rest of the cell).
//!
//! Newlines inside removed text are kept, so every remaining line keeps its line number in
//! the cell. [`visible`] says whether anything other than whitespace was removed, so the
//! row can say that hidden text was not graded.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

/// An opening tag: its name and attributes.
fn open_tag() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Anchored: only a tag opening at the `<` being looked at counts, and an unanchored
    // search from each `<` read the rest of the cell for a tag further on.
    RE.get_or_init(|| Regex::new(r"(?is)^<([a-z][a-z0-9]*)\b([^<>]{0,2000})>").expect("valid"))
}

/// The opening tag at the start of `rest` (which starts with `<`), as [`open_tag`] reads
/// it: its name, its attributes and its byte length.
///
/// Read by hand for the common case, since the regex (its bounded repetition makes a large
/// automaton) cost more than the rest of laying a notebook out, and it is asked at every
/// `<` of every markdown cell. Wherever a non-ASCII character could change the answer (a
/// case variant of a letter in the name, `ſ` or `K`, or a Unicode word character ending it),
/// the regex decides.
fn opening_tag(rest: &str) -> Option<(&str, &str, usize)> {
    let b = rest.as_bytes();
    let regex = || {
        open_tag().captures(rest).map(|m| {
            let (name, attrs, all) = (m.get(1)?, m.get(2)?, m.get(0)?);
            Some((name.as_str(), attrs.as_str(), all.end()))
        })?
    };
    match b.get(1) {
        Some(c) if c.is_ascii_alphabetic() => {}
        Some(c) if !c.is_ascii() => return regex(),
        _ => return None,
    }
    let mut i = 2;
    while b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        i += 1;
    }
    // `\b` after the name: the next character must not be a word character.
    match b.get(i) {
        Some(c) if !c.is_ascii() => return regex(),
        Some(b'_') => return None,
        _ => {}
    }
    // The attributes: up to 2,000 characters other than `<` and `>`, then `>`. (2,000
    // characters take at most 8,000 bytes: no `>` or `<` in the first 8,001 is too long.)
    let window = &b[i..b.len().min(i + 8_001)];
    let close = i + window.iter().position(|&c| c == b'<' || c == b'>')?;
    if b[close] != b'>' {
        return None;
    }
    let attrs = &rest[i..close];
    if attrs.len() > 2_000 && attrs.chars().count() > 2_000 {
        return None;
    }
    Some((&rest[1..i], attrs, close + 1))
}

/// Attributes that hide an element's content.
fn hiding() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"(?ix)
            (?:^|\s) hidden (?:\s|=|$)
            | display \s*:\s* none
            | visibility \s*:\s* (?:hidden|collapse)
            | font-size \s*:\s* 0*\.?0* \s* (?:px|pt|em|rem|%)? \s* (?:;|"|'|$)
            | opacity \s*:\s* 0*\.?0* \s* (?:;|"|'|$)
            | (?:^|[^-a-z]) color \s*:\s* (?: white | transparent | \#fff\b | \#ffffff\b
                | rgba? \( \s* 255 \s*,\s* 255 \s*,\s* 255 \s* (?:\)|,)
                | rgba \( [^)]*, \s* 0*\.?0* \s* \) )
            "#,
        )
        .expect("valid")
    })
}

/// Elements without content (never closed).
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// Removes `s[start..end]` from `out`'s view: pushes only its newlines.
fn keep_newlines(out: &mut String, removed: &str, any: &mut bool) {
    for c in removed.chars() {
        if c == '\n' {
            out.push('\n');
        } else if !c.is_whitespace() {
            *any = true;
        }
    }
}

/// The end (byte offset after `</tag>`) of the element whose opening tag ends at `from`, in
/// the ASCII-lowercased source `lower` (same offsets), matching nested elements of the same
/// tag; the end of the source when it is never closed.
fn element_end(lower: &str, tag: &str, from: usize) -> usize {
    let open = format!("<{tag}");
    let close = format!("</{tag}");
    let mut depth = 1usize;
    let mut at = from;
    while at < lower.len() {
        let next_open = lower[at..].find(&open).map(|i| at + i);
        let next_close = lower[at..].find(&close).map(|i| at + i);
        match (next_open, next_close) {
            (Some(o), Some(c)) if o < c => {
                let after = lower.as_bytes().get(o + open.len());
                if after.is_some_and(|b| !b.is_ascii_alphanumeric()) {
                    depth += 1;
                }
                at = o + open.len();
            }
            (_, Some(c)) => {
                depth -= 1;
                let end = lower[c..].find('>').map_or(lower.len(), |i| c + i + 1);
                if depth == 0 {
                    return end;
                }
                at = end;
            }
            (_, None) => return lower.len(),
        }
    }
    lower.len()
}

/// `source` as a reader of the rendered cell sees it: hidden HTML removed (newlines kept),
/// and whether any visible-looking text was removed. A cell without a tag is given back
/// as it is, borrowed (most markdown cells have none, and every one is asked).
pub fn visible(source: &str) -> (Cow<'_, str>, bool) {
    if !source.contains('<') {
        return (Cow::Borrowed(source), false);
    }
    // Only needed to find where a hidden element ends.
    let mut lower: Option<String> = None;
    let mut out = String::with_capacity(source.len());
    let mut any = false;
    let mut at = 0;
    while let Some(i) = source[at..].find('<') {
        let start = at + i;
        out.push_str(&source[at..start]);
        let rest = &source[start..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            let end = comment
                .find("-->")
                .map_or(source.len(), |j| start + 4 + j + 3);
            keep_newlines(&mut out, &source[start..end], &mut any);
            at = end;
            continue;
        }
        if let Some((name, attrs, len)) = opening_tag(rest) {
            let tag = name.to_ascii_lowercase();
            let tag_end = start + len;
            if hiding().is_match(attrs) && !VOID.contains(&tag.as_str()) && !attrs.ends_with('/') {
                let lower = lower.get_or_insert_with(|| source.to_ascii_lowercase());
                let end = element_end(lower, &tag, tag_end);
                keep_newlines(&mut out, &source[start..end], &mut any);
                at = end;
                continue;
            }
        }
        out.push('<');
        at = start + 1;
    }
    out.push_str(&source[at..]);
    (Cow::Owned(out), any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_elements_and_comments_are_removed_lines_kept() {
        let cases = [
            ("RF = <span style=\"display:none\">3</span>4", "RF = 4"),
            ("RF = <span style='font-size: 0px'>3</span>4", "RF = 4"),
            ("RF = <font style=\"color:#FFFFFF\">3</font>4", "RF = 4"),
            (
                "RF = <span style=\"color: rgb(255, 255, 255)\">3</span>4",
                "RF = 4",
            ),
            ("RF = <div hidden>3</div>4", "RF = 4"),
            ("RF = <!-- 3 -->4", "RF = 4"),
            (
                "RF = <span style=\"visibility:hidden\"><span>3</span></span>4",
                "RF = 4",
            ),
        ];
        for (input, shown) in cases {
            let (text, any) = visible(input);
            assert_eq!(text, shown, "{input}");
            assert!(any, "{input}");
        }
        let (text, any) = visible("a <!-- x\ny -->b\nc");
        assert_eq!(text, "a \nb\nc");
        assert!(any);
        // Unterminated: hides the rest, lines kept.
        assert_eq!(visible("a<span style=display:none>b\nc").0, "a\n");
    }

    #[test]
    fn opening_tags_are_read_as_the_regex_reads_them() {
        let long = format!("<span {}>", "a".repeat(2_000));
        let too_long = format!("<span {}>", "a".repeat(2_001));
        let wide = format!("<span {}>", "é".repeat(2_000));
        let too_wide = format!("<span {}>", "é".repeat(2_001));
        let cases = [
            "<span style=\"display:none\">x</span>",
            "<SPAN hidden>x",
            "<b>",
            "<h1>title",
            "<a_b>",
            "<a-b>",
            "<1>",
            "<>",
            "<",
            "<span",
            "<span <b>",
            "<span\nhidden\n>x",
            "<div/>",
            "<ſpan hidden>x</ſpan>",
            "<span\u{212a}>",
            "<spané>",
            "<é>",
            long.as_str(),
            too_long.as_str(),
            wide.as_str(),
            too_wide.as_str(),
        ];
        for rest in cases {
            let expected = open_tag().captures(rest).map(|m| {
                (
                    m.get(1).unwrap().as_str(),
                    m.get(2).unwrap().as_str(),
                    m.get(0).unwrap().end(),
                )
            });
            assert_eq!(opening_tag(rest), expected, "{rest:?}");
        }
    }

    #[test]
    fn visible_html_is_left_alone() {
        for s in [
            "RF = <b>4</b>",
            "<span style=\"color: red\">4</span>",
            "<span style=\"font-size: 10px\">4</span>",
            "x < 3 and y > 2",
            "<br>RF = 4",
            "<span style=\"background-color: white\">4</span>",
        ] {
            let (text, any) = visible(s);
            assert_eq!((text.as_ref(), any), (s, false), "{s}");
        }
    }
}
