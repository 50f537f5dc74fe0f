//! One plain-text spelling of the math students write, for the value parsers.
//!
//! Students type the same value as `$112 \times 112$`, `112×112`, `**112**`,
//! `<b>112</b>` or `\boxed{112}`, and the same formula as `p_1+p_2∙(1-p_1)`,
//! `$p_{1} + p_{2} \cdot (1 - p_{1})$` or `\frac{...}{...}`. The number, shape and expression
//! parsers should not each know all of that, so this module rewrites a piece of markdown into
//! a small plain dialect and records which regions were bold or boxed (students' way of
//! saying "this is my answer").
//!
//! # Rules, applied in this order
//!
//! 1. **Bound and clean.** Only the first [`MAX_INPUT_BYTES`] are read (cut at a character
//!    boundary). `\r\n` and `\r` become `\n`. Private-use characters (U+E000–U+E0FF, used
//!    internally as markers) become spaces.
//! 2. **HTML.** Known tags are removed: block tags (`<br>`, `<div ...>`, `<p>`, `<li>`,
//!    `<h1>`…, `<tr>`, `<hr>`, …) become a line break, inline tags (`<u>`, `<i>`,
//!    `<font color=...>`, `<span>`, `<img>`, …) disappear, `<b>`/`<strong>` mark a bold
//!    region, `<sup>X</sup>` becomes `^(X)` and `<sub>X</sub>` becomes `_{X}` (then rule 4).
//!    Comments `<!-- -->` are dropped. Only tag names from a fixed list are touched, so
//!    `p<q` and `a<b>c` in math survive. Entities `&nbsp; &lt; &gt; &amp; &quot; &times;
//!    &minus; &middot; &sdot; &ndash; &#NNN;` are decoded. URLs (`http://…`, `https://…`,
//!    `www.…`) are removed because their digits are not answers.
//! 3. **Markdown.** Code fences (```` ``` ````) and backticks are dropped (their content is
//!    kept); heading `#`s, blockquote `>` and `*`/`+`/`•` bullets at line start are dropped
//!    (`-` bullets are kept: a `-` followed by a space is never read as a minus sign);
//!    `**X**` marks a bold region (CommonMark flanking: the opener is followed by a
//!    non-space, the closer preceded by one), but `**` between operands (`2**10`,
//!    `(1-p)**2`) or surrounded by spaces stays the power operator; `***` counts as `**`;
//!    `__` between word characters is kept (`__init__` loses its underscores otherwise);
//!    `\*` and `\_` become `*` and `_`; images `![..](..)` are dropped and links `[t](url)`
//!    become `t`. Single-`*` italics are left alone (a `*` is multiplication).
//! 4. **LaTeX.** Delimiters `$`, `$$`, `\(`, `\)`, `\[`, `\]` are removed.
//!    `\boxed{X}` (and `\fbox`) becomes `X` and marks a boxed region; `\textbf{X}` becomes
//!    `X` and marks a bold region; `\text{X}`, `\mathrm{X}`, `\mathbf{X}`, `\operatorname{X}`,
//!    `\vec{X}`, `\hat{X}`, … become `X`; `\frac{a}{b}` (`\dfrac`, `\tfrac`, `\frac12`)
//!    becomes `(a)/(b)`; `\sqrt{x}` becomes `sqrt(x)` and `\sqrt[n]{x}` becomes
//!    `(x)^(1/(n))`; `^{..}` becomes `^(..)`; `_{1}` becomes `_1` when the subscript is
//!    alphanumeric and stays `_{..}` otherwise (`p_1` is kept as written); a bare group
//!    `{X}` becomes `X` for a single token and `(X)` otherwise; `\left(`/`\right)` (and
//!    `\big`…) become the bare delimiter (`\left.` disappears); `\times` becomes a times
//!    sign (rule 6); `\cdot`, `\ast`, `\bullet` become `*`; `\div` becomes `/`;
//!    `\approx`, `\sim`, `\simeq` become `≈`; `\leq`, `\geq`, `\neq` become `<=`, `>=`, `!=`;
//!    `\to`, `\rightarrow`, `\Rightarrow`, `\implies`, … become `->`; `\lfloor`/`\lceil`
//!    become `(` and `\rfloor`/`\rceil` become `)`; `\dots` and friends become `...`;
//!    `\infty` becomes `∞`; thin spaces `\,` `\;` `\:` `\!` and `~` are removed, `\quad` is a
//!    space and `\\` a line break; `\%`, `\_`, `\$`, `\&`, `\#` become the bare character;
//!    `\color{..}`, `\label{..}`, `\begin{..}`, `\end{..}` disappear; alignment `&` is a
//!    space; every other command `\name` becomes the word `name` (`\pi` -> `pi`,
//!    `\sigma` -> `sigma`). Groups nest up to 32 deep; deeper groups are flattened.
//! 5. **Unicode.** `−` `–` `‐` `‑` become `-`; `×` `✕` `⨯` become a times sign (rule 6);
//!    `∙` `⋅` `·` `∗` `•` become `*`; `÷` becomes `/`; `≃` `∼` `≅` become `≈`; `≤` `≥` `≠`
//!    become `<=` `>=` `!=`; `→` `⇒` `⟶` `⟹` become `->`; `π` becomes `pi`; `√` becomes
//!    `sqrt`; superscript digits `²`, `⁻¹` become `^2`, `^(-1)`; subscript digits `₁` become
//!    `_1`; curly quotes become straight ones; `…` becomes `...`; no-break spaces become
//!    spaces; thin, hair and zero-width spaces are removed (so `1 156` with a thin space
//!    reads `1156`).
//! 6. **Times.** A times sign (`\times`, `×`) joining two numbers becomes `x` with the spaces
//!    around it removed: `112 \times 112` -> `112x112`, `2.5 \times 10^{-3}` -> `2.5x10^(-3)`,
//!    `(5 \times 6) \times 42000` -> `(5x6)x42000` (a parenthesised side counts as a number
//!    when it holds only numbers, `x` and commas). Anywhere else it is multiplication `*`:
//!    `(1-p) \times (1-q)` -> `(1-p) * (1-q)`. A literal `x` typed by the student is left
//!    as it is.
//! 7. **Whitespace.** Runs of spaces and tabs become one space, spaces at line ends go,
//!    more than one blank line becomes one, and the text is trimmed. Mark regions are then
//!    measured in this final text.

use serde::Serialize;

use super::{truncate, Span};

/// How much of an answer text any function of [`crate::answer`] looks at (64 KiB).
///
/// An answer is a few hundred bytes; a longer input is a pasted notebook or an attack, and
/// its tail is ignored rather than slowing a whole grading run down.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

const BOLD_OPEN: char = '\u{E000}';
const BOLD_CLOSE: char = '\u{E001}';
const BOX_OPEN: char = '\u{E002}';
const BOX_CLOSE: char = '\u{E003}';
const TIMES: char = '\u{E004}';

/// Deepest LaTeX group nesting converted recursively; deeper groups are flattened.
const MAX_GROUP_DEPTH: usize = 32;

/// What a [`Mark`] says about a region of the normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    /// `**X**`, `<b>X</b>`, `<strong>X</strong>` or `\textbf{X}` in the original text.
    Bold,
    /// `\boxed{X}` or `\fbox{X}` in the original text.
    Boxed,
}

/// A region of the normalised text that the student emphasised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mark {
    /// Bold or boxed.
    pub kind: MarkKind,
    /// Where the emphasised content is, in [`Normalized::text`].
    pub span: Span,
}

/// The result of [`normalize`]: plain text plus the emphasised regions in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Normalized {
    /// The normalised text (see the module documentation for the rules).
    pub text: String,
    /// Bold and boxed regions, sorted by start; spans index into `text`.
    pub marks: Vec<Mark>,
}

/// Plain text for the value parsers; see the module documentation for every rule.
///
/// ```
/// use examiner::answer::normalize_math;
/// assert_eq!(normalize_math(r"RF $= 112 \times 112$"), "RF = 112x112");
/// assert_eq!(normalize_math(r"$q = \frac{1}{1-p}$"), "q = (1)/(1-p)");
/// ```
pub fn normalize_math(text: &str) -> String {
    normalize(text).text
}

/// Like [`normalize_math`], also returning where the student put bold or `\boxed{}` text.
pub fn normalize(text: &str) -> Normalized {
    let input = truncate(text, MAX_INPUT_BYTES);
    let s = prepare(input);
    let s = strip_html(&s);
    let s = markdown(&s);
    // `42{,}000`: LaTeX's braced comma is a thousands separator, not a group.
    let s = if s.contains("{,}") {
        s.replace("{,}", ",")
    } else {
        s
    };
    let s = latex(&s);
    let s = resolve_times(s);
    finish(&s)
}

/// Whether a byte of `s` is one `hit` says yes to, tested 16 bytes at a time without a
/// branch per byte: the passes below first ask whether a text has anything for them to do
/// at all, and the answer is usually no after reading the whole text (`cargo xtask bench
/// instructions`).
fn any_byte(s: &str, hit: impl Fn(u8) -> bool) -> bool {
    s.as_bytes()
        .chunks(16)
        .any(|chunk| chunk.iter().fold(false, |any, &b| any | hit(b)))
}

// ---------------------------------------------------------------------------------------
// Rule 1: bound and clean.

fn prepare(input: &str) -> String {
    // Nothing to change (no `\r`, no private-use character: each of U+E000-U+E0FF starts
    // with the byte 0xEE) is the common case: one copy.
    if !any_byte(input, |b| b == b'\r' || b == 0xEE) {
        return input.to_string();
    }
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\u{E000}'..='\u{E0FF}' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Rule 2: HTML.

const BLOCK_TAGS: &[&str] = &[
    "br",
    "div",
    "p",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "thead",
    "tbody",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "center",
    "details",
    "summary",
    "pre",
    "dl",
    "dt",
    "dd",
    "section",
    "article",
    "header",
    "footer",
];

const INLINE_TAGS: &[&str] = &[
    "u",
    "i",
    "em",
    "font",
    "span",
    "img",
    "a",
    "code",
    "mark",
    "small",
    "big",
    "s",
    "strike",
    "del",
    "ins",
    "td",
    "th",
    "tt",
    "kbd",
    "var",
    "samp",
    "abbr",
    "cite",
    "q",
    "label",
    "col",
    "colgroup",
    "caption",
    "figure",
    "figcaption",
    "video",
    "source",
    "input",
    "style",
    "script",
];

enum Tag {
    Block,
    Inline,
    BoldOpen,
    BoldClose,
    SupOpen,
    SupClose,
    SubOpen,
    SubClose,
}

/// Reads an HTML tag of a known name at the start of `s`; returns its length and meaning.
fn html_tag(s: &str) -> Option<(usize, Tag)> {
    let b = s.as_bytes();
    let mut i = 1;
    let closing = b.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    if !b.get(i).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    while b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        i += 1;
    }
    let name = s[name_start..i].to_ascii_lowercase();
    match b.get(i) {
        Some(b'>') | Some(b'/') | Some(b' ') | Some(b'\t') | Some(b'\n') => {}
        _ => return None,
    }
    // The tag ends at the next '>', which must come before any '<' and within 1 KiB.
    let limit = b.len().min(i + 1024);
    let mut end = None;
    for (k, &byte) in b.iter().enumerate().take(limit).skip(i) {
        match byte {
            b'>' => {
                end = Some(k + 1);
                break;
            }
            b'<' => return None,
            _ => {}
        }
    }
    let len = end?;
    let tag = match name.as_str() {
        "b" | "strong" => {
            if closing {
                Tag::BoldClose
            } else {
                Tag::BoldOpen
            }
        }
        "sup" => {
            if closing {
                Tag::SupClose
            } else {
                Tag::SupOpen
            }
        }
        "sub" => {
            if closing {
                Tag::SubClose
            } else {
                Tag::SubOpen
            }
        }
        n if BLOCK_TAGS.contains(&n) => Tag::Block,
        n if INLINE_TAGS.contains(&n) => Tag::Inline,
        _ => return None,
    };
    Some((len, tag))
}

/// Decodes an HTML entity at the start of `s` (`&name;` or `&#NNN;`).
fn html_entity(s: &str) -> Option<(usize, char)> {
    let end = s.as_bytes().iter().take(12).position(|&b| b == b';')?;
    let body = &s[1..end];
    let c = match body {
        "nbsp" | "ensp" | "emsp" => ' ',
        "thinsp" | "zwnj" | "zwj" => '\u{200B}',
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        "times" => '×',
        "minus" => '−',
        "middot" => '·',
        "sdot" => '⋅',
        "ndash" => '–',
        "mdash" => '—',
        "divide" => '÷',
        "asymp" => '≈',
        "le" => '≤',
        "ge" => '≥',
        "ne" => '≠',
        "rarr" => '→',
        "rArr" => '⇒',
        "pi" => 'π',
        "hellip" => '…',
        _ => {
            let num = body.strip_prefix('#')?;
            let code = if let Some(hex) = num.strip_prefix(['x', 'X']) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                num.parse::<u32>().ok()?
            };
            char::from_u32(code)?
        }
    };
    Some((end + 1, c))
}

/// Length of a URL at the start of `s`, if one starts there.
fn url_len(s: &str) -> Option<usize> {
    if !(s.starts_with("http://") || s.starts_with("https://") || s.starts_with("www.")) {
        return None;
    }
    Some(
        s.find(|c: char| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '\'' | '<' | ']'))
            .unwrap_or(s.len()),
    )
}

fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        // A run of characters this rule leaves alone, copied at once: only `<`, `&` and the
        // `h` or `w` that may open a URL start anything.
        let run = rest
            .bytes()
            .position(|b| matches!(b, b'<' | b'&' | b'h' | b'w'))
            .unwrap_or(rest.len());
        if run > 0 {
            out.push_str(&rest[..run]);
            i += run;
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        match c {
            '<' => {
                if rest.starts_with("<!--") {
                    if let Some(end) = rest.find("-->") {
                        i += end + 3;
                        continue;
                    }
                }
                if let Some((len, tag)) = html_tag(rest) {
                    match tag {
                        Tag::Block => out.push('\n'),
                        Tag::Inline => out.push(' '),
                        Tag::BoldOpen => out.push(BOLD_OPEN),
                        Tag::BoldClose => out.push(BOLD_CLOSE),
                        Tag::SupOpen => out.push_str("^{"),
                        Tag::SupClose | Tag::SubClose => out.push('}'),
                        Tag::SubOpen => out.push_str("_{"),
                    }
                    i += len;
                    continue;
                }
                out.push('<');
                i += 1;
            }
            '&' => {
                if let Some((len, decoded)) = html_entity(rest) {
                    out.push(decoded);
                    i += len;
                } else {
                    out.push('&');
                    i += 1;
                }
            }
            'h' | 'w' => {
                let at_word_start = !out
                    .chars()
                    .next_back()
                    .is_some_and(|p| p.is_alphanumeric() || p == '_');
                match url_len(rest) {
                    Some(len) if at_word_start => i += len,
                    _ => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Rule 3: markdown.

fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_bold = false;
    for line in s.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, true),
            None => (line, false),
        };
        let mut rest = body.trim_start();
        if rest.starts_with("```") || rest.starts_with("~~~") {
            if newline {
                out.push('\n');
            }
            continue;
        }
        if rest.is_empty() {
            // A blank line ends a paragraph and any emphasis left open in it.
            in_bold = false;
        }
        let hashes = rest.bytes().take_while(|&b| b == b'#').count();
        if (1..=6).contains(&hashes)
            && rest[hashes..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace)
        {
            rest = rest[hashes..].trim_start();
        }
        while let Some(r) = rest.strip_prefix('>') {
            rest = r.trim_start();
        }
        for bullet in ["* ", "+ ", "• "] {
            if let Some(r) = rest.strip_prefix(bullet) {
                rest = r.trim_start();
                break;
            }
        }
        markdown_inline(rest, &mut out, &mut in_bold);
        if newline {
            out.push('\n');
        }
    }
    out
}

fn is_operand_end(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == ')' || c == ']')
}

fn is_operand_start(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '(' || c == '[')
}

fn markdown_inline(line: &str, out: &mut String, in_bold: &mut bool) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // What lies before the next character the rules look at is copied as it is.
        let run = b[i..]
            .iter()
            .position(|&x| matches!(x, b'\\' | b'`' | b'*' | b'_' | b'!' | b'['))
            .unwrap_or(b.len() - i);
        if run > 0 {
            out.push_str(&line[i..i + run]);
            i += run;
            continue;
        }
        // An ASCII character: the next one starts at the next byte.
        let c = char::from(b[i]);
        let next = line[i + 1..].chars().next();
        match c {
            '\\' if next == Some('*') || next == Some('_') => {
                out.push(char::from(b[i + 1]));
                i += 2;
            }
            '\\' => {
                out.push('\\');
                i += 1;
                if let Some(nc) = next {
                    out.push(nc);
                    i += nc.len_utf8();
                }
            }
            '`' => i += 1,
            '*' if next == Some('*') => {
                let mut run = 2;
                if b.get(i + 2) == Some(&b'*') {
                    run = 3;
                }
                let prev = out.chars().next_back();
                let after = line[i + run..].chars().next();
                if run == 2 && is_operand_end(prev) && is_operand_start(after) {
                    out.push_str("**");
                } else if prev.is_none_or(char::is_whitespace)
                    && after.is_none_or(char::is_whitespace)
                {
                    if run == 2 {
                        out.push_str("**");
                    }
                } else if !*in_bold && after.is_some_and(|a| !a.is_whitespace()) {
                    out.push(BOLD_OPEN);
                    *in_bold = true;
                } else if *in_bold && prev.is_some_and(|p| !p.is_whitespace()) {
                    out.push(BOLD_CLOSE);
                    *in_bold = false;
                }
                i += run;
            }
            '_' if next == Some('_') => {
                let prev = out.chars().next_back();
                let after = line[i + 2..].chars().next();
                if prev.is_some_and(char::is_alphanumeric)
                    && after.is_some_and(char::is_alphanumeric)
                {
                    out.push_str("__");
                }
                i += 2;
            }
            '!' if next == Some('[') => {
                if let Some(end) = link_end(line, i + 1) {
                    i = end.1;
                } else {
                    out.push('!');
                    i += 1;
                }
            }
            '[' => {
                if let Some((text_end, end)) = link_end(line, i) {
                    out.push_str(&line[i + 1..text_end]);
                    i = end;
                } else {
                    out.push('[');
                    i += 1;
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// For `[text](url)` starting at byte `open` of `line`: the byte offsets of `]` and one past
/// the closing `)`. The text is at most 400 characters from `[` on, the URL at most 1,000.
fn link_end(line: &str, open: usize) -> Option<(usize, usize)> {
    let close = open
        + line[open..]
            .char_indices()
            .take(400)
            .find(|&(_, c)| c == ']')?
            .0;
    if line.as_bytes().get(close + 1) != Some(&b'(') {
        return None;
    }
    let paren = close + 1;
    let (k, c) = line[paren..]
        .char_indices()
        .take(1000)
        .find(|&(_, c)| c == ')' || c == ' ')?;
    if c != ')' {
        return None;
    }
    Some((close, paren + k + 1))
}

// ---------------------------------------------------------------------------------------
// Rules 4 and 5: LaTeX and Unicode.

fn latex(s: &str) -> String {
    // ASCII without any character [`Tex::conv`] treats specially (nor a tab) comes out as it
    // went in: one copy instead of a pass per character.
    if s.is_ascii()
        && !any_byte(s, |b| {
            matches!(
                b,
                b'$' | b'\\' | b'^' | b'_' | b'{' | b'}' | b'~' | b'&' | b'\t'
            )
        })
    {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let close = match_braces(&chars);
    let tex = Tex {
        c: &chars,
        close: &close,
    };
    let mut out = String::with_capacity(s.len());
    tex.conv(0, chars.len(), 0, &mut out);
    out
}

/// For every unescaped `{`, the index of its matching `}` (usize::MAX when unmatched).
fn match_braces(chars: &[char]) -> Vec<usize> {
    let mut close = vec![usize::MAX; chars.len()];
    let mut stack = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => stack.push(i),
            '}' => {
                if let Some(open) = stack.pop() {
                    close[open] = i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    close
}

struct Tex<'a> {
    c: &'a [char],
    close: &'a [usize],
}

/// Commands whose single argument is kept as plain text.
const KEEP_ARG: &[&str] = &[
    "text",
    "textrm",
    "textit",
    "textsf",
    "texttt",
    "textnormal",
    "textup",
    "textsl",
    "mathrm",
    "mathit",
    "mathbf",
    "mathsf",
    "mathtt",
    "mathcal",
    "mathbb",
    "mathfrak",
    "mathscr",
    "mathnormal",
    "boldsymbol",
    "bm",
    "pmb",
    "emph",
    "mbox",
    "hbox",
    "operatorname",
    "vec",
    "hat",
    "widehat",
    "bar",
    "overline",
    "underline",
    "tilde",
    "widetilde",
    "dot",
    "ddot",
    "check",
    "breve",
    "acute",
    "grave",
    "underbrace",
    "overbrace",
    "overrightarrow",
    "mathring",
    "phantom",
    "displaylines",
];

/// Commands that vanish, together with one argument.
const DROP_ARG: &[&str] = &[
    "color",
    "label",
    "tag",
    "ref",
    "eqref",
    "cite",
    "vspace",
    "begin",
    "end",
    "hspace",
    "url",
    "href",
    "includegraphics",
];

/// Commands that vanish without arguments.
const DROP: &[&str] = &[
    "thinspace",
    "medspace",
    "thickspace",
    "negthinspace",
    "negmedspace",
    "negthickspace",
    "nobreak",
    "displaystyle",
    "textstyle",
    "scriptstyle",
    "scriptscriptstyle",
    "limits",
    "nolimits",
    "nonumber",
    "notag",
    "mathstrut",
    "strut",
    "noindent",
    "centering",
    "quad",
    "qquad",
    "enspace",
    "enskip",
    "hfill",
    "par",
    "relax",
];

impl Tex<'_> {
    fn conv(&self, start: usize, end: usize, depth: usize, out: &mut String) {
        let c = self.c;
        let mut i = start;
        while i < end {
            let ch = c[i];
            match ch {
                '$' => i += 1,
                '\\' => i = self.command(i, end, depth, out),
                '^' => {
                    out.push('^');
                    let j = self.skip_spaces(i + 1, end);
                    if j < end && c[j] == '{' && self.close[j] < end {
                        out.push('(');
                        self.group(j + 1, self.close[j], depth, out);
                        out.push(')');
                        i = self.close[j] + 1;
                    } else {
                        i += 1;
                    }
                }
                '_' => {
                    if i + 1 < end && c[i + 1] == '{' && self.close[i + 1] < end {
                        let mut inner = String::new();
                        self.group(i + 2, self.close[i + 1], depth, &mut inner);
                        let inner = inner.trim();
                        if !inner.is_empty() && inner.chars().all(|x| x.is_ascii_alphanumeric()) {
                            out.push('_');
                            out.push_str(inner);
                        } else {
                            out.push_str("_{");
                            out.push_str(inner);
                            out.push('}');
                        }
                        i = self.close[i + 1] + 1;
                    } else {
                        out.push('_');
                        i += 1;
                    }
                }
                '{' => {
                    if self.close[i] < end {
                        let mut inner = String::new();
                        self.group(i + 1, self.close[i], depth, &mut inner);
                        let trimmed = inner.trim();
                        let single = trimmed
                            .chars()
                            .all(|x| x.is_alphanumeric() || x == '.' || x == '_');
                        if single {
                            out.push_str(trimmed);
                        } else {
                            out.push('(');
                            out.push_str(trimmed);
                            out.push(')');
                        }
                        i = self.close[i] + 1;
                    } else {
                        i += 1;
                    }
                }
                '}' | '~' => i += 1,
                '&' => {
                    out.push(' ');
                    i += 1;
                }
                // What `push_unicode` does to ASCII but a tab: nothing.
                _ if ch.is_ascii() && ch != '\t' => {
                    out.push(ch);
                    i += 1;
                }
                _ if superscript(ch).is_some() => {
                    let mut run = String::new();
                    while i < end {
                        match superscript(c[i]) {
                            Some(d) => run.push(d),
                            None => break,
                        }
                        i += 1;
                    }
                    out.push('^');
                    if run.len() == 1 {
                        out.push_str(&run);
                    } else {
                        out.push('(');
                        out.push_str(&run);
                        out.push(')');
                    }
                }
                _ if subscript(ch).is_some() => {
                    out.push('_');
                    while i < end {
                        match subscript(c[i]) {
                            Some(d) => out.push(d),
                            None => break,
                        }
                        i += 1;
                    }
                }
                _ => {
                    push_unicode(ch, c.get(i + 1).copied(), out);
                    i += 1;
                }
            }
        }
    }

    /// Converts a group's content, flattening it once nesting is too deep.
    fn group(&self, start: usize, end: usize, depth: usize, out: &mut String) {
        if depth + 1 > MAX_GROUP_DEPTH {
            for &ch in &self.c[start..end] {
                if !matches!(ch, '{' | '}' | '\\' | '$') {
                    push_unicode(ch, None, out);
                }
            }
        } else {
            self.conv(start, end, depth + 1, out);
        }
    }

    fn skip_spaces(&self, mut i: usize, end: usize) -> usize {
        while i < end && (self.c[i] == ' ' || self.c[i] == '\t') {
            i += 1;
        }
        i
    }

    /// A mandatory argument at `k`: a braced group, a command name, or one character.
    /// Returns (content start, content end, index after the argument).
    fn arg(&self, k: usize, end: usize) -> Option<(usize, usize, usize)> {
        let k = self.skip_spaces(k, end);
        if k >= end {
            return None;
        }
        let c = self.c;
        if c[k] == '{' {
            let close = self.close[k];
            if close < end {
                return Some((k + 1, close, close + 1));
            }
            return None;
        }
        if c[k] == '\\' {
            let mut j = k + 1;
            while j < end && c[j].is_ascii_alphabetic() {
                j += 1;
            }
            if j == k + 1 && j < end {
                j += 1;
            }
            return Some((k, j, j));
        }
        if c[k] == '}' {
            return None;
        }
        Some((k, k + 1, k + 1))
    }

    /// An optional `[..]` argument at `k` (no nesting): (content start, content end, after).
    fn opt_arg(&self, k: usize, end: usize) -> Option<(usize, usize, usize)> {
        let k = self.skip_spaces(k, end);
        if k >= end || self.c[k] != '[' {
            return None;
        }
        let close = k + self.c[k..end].iter().take(200).position(|&x| x == ']')?;
        Some((k + 1, close, close + 1))
    }

    fn command(&self, i: usize, end: usize, depth: usize, out: &mut String) -> usize {
        let c = self.c;
        if i + 1 >= end {
            return i + 1;
        }
        let n = c[i + 1];
        if !n.is_ascii_alphabetic() {
            match n {
                ',' | ';' | ':' | '!' | '>' | '(' | ')' | '[' | ']' => {}
                ' ' => out.push(' '),
                '\\' => out.push('\n'),
                '{' => out.push('{'),
                '}' => out.push('}'),
                '%' | '_' | '&' | '#' | '$' | '*' | '|' => out.push(n),
                _ => push_unicode(n, None, out),
            }
            return i + 2;
        }
        let mut k = i + 1;
        while k < end && c[k].is_ascii_alphabetic() {
            k += 1;
        }
        let name: String = c[i + 1..k].iter().collect();
        let name = name.as_str();
        match name {
            "boxed" | "fbox" | "framebox" | "textbf" => {
                let (open, shut) = if name == "textbf" {
                    (BOLD_OPEN, BOLD_CLOSE)
                } else {
                    (BOX_OPEN, BOX_CLOSE)
                };
                match self.arg(k, end) {
                    Some((s, e, next)) => {
                        out.push(open);
                        self.group(s, e, depth, out);
                        out.push(shut);
                        next
                    }
                    None => k,
                }
            }
            "frac" | "dfrac" | "tfrac" | "cfrac" => {
                let Some((s1, e1, n1)) = self.arg(k, end) else {
                    return k;
                };
                let Some((s2, e2, n2)) = self.arg(n1, end) else {
                    self.group(s1, e1, depth, out);
                    return n1;
                };
                out.push('(');
                self.group(s1, e1, depth, out);
                out.push_str(")/(");
                self.group(s2, e2, depth, out);
                out.push(')');
                n2
            }
            "binom" | "tbinom" | "dbinom" => {
                let Some((s1, e1, n1)) = self.arg(k, end) else {
                    return k;
                };
                let Some((s2, e2, n2)) = self.arg(n1, end) else {
                    return n1;
                };
                out.push_str("binom(");
                self.group(s1, e1, depth, out);
                out.push_str(", ");
                self.group(s2, e2, depth, out);
                out.push(')');
                n2
            }
            "sqrt" => {
                let index = self.opt_arg(k, end);
                let after_opt = index.map_or(k, |(_, _, next)| next);
                let Some((s, e, next)) = self.arg(after_opt, end) else {
                    out.push_str("sqrt");
                    return after_opt;
                };
                match index {
                    Some((is, ie, _)) => {
                        out.push('(');
                        self.group(s, e, depth, out);
                        out.push_str(")^(1/(");
                        self.group(is, ie, depth, out);
                        out.push_str("))");
                    }
                    None => {
                        out.push_str("sqrt(");
                        self.group(s, e, depth, out);
                        out.push(')');
                    }
                }
                next
            }
            "textcolor" | "colorbox" => {
                let k = self.opt_arg(k, end).map_or(k, |(_, _, next)| next);
                let Some((_, _, n1)) = self.arg(k, end) else {
                    return k;
                };
                match self.arg(n1, end) {
                    Some((s, e, n2)) => {
                        self.group(s, e, depth, out);
                        n2
                    }
                    None => n1,
                }
            }
            "xrightarrow" | "xleftarrow" => {
                let k = self.opt_arg(k, end).map_or(k, |(_, _, next)| next);
                out.push_str(if name == "xrightarrow" { "->" } else { "<-" });
                self.arg(k, end).map_or(k, |(_, _, next)| next)
            }
            "left" | "right" | "big" | "Big" | "bigg" | "Bigg" | "bigl" | "bigr" | "Bigl"
            | "Bigr" | "biggl" | "biggr" | "Biggl" | "Biggr" | "middle" => {
                let j = self.skip_spaces(k, end);
                if j < end && c[j] == '.' {
                    j + 1
                } else {
                    j
                }
            }
            _ if symbol_command(name).is_some() => {
                out.push_str(symbol_command(name).unwrap_or_default());
                // Like TeX, an operator written tight (`n\times m`) swallows the spaces after
                // it; one written with spaces around it keeps them.
                if i > 0 && !c[i - 1].is_whitespace() {
                    self.skip_spaces(k, end)
                } else {
                    k
                }
            }
            "quad" | "qquad" | "enspace" | "enskip" | "hfill" => {
                out.push(' ');
                k
            }
            _ if DROP.contains(&name) => k,
            _ if DROP_ARG.contains(&name) => {
                let k = self.opt_arg(k, end).map_or(k, |(_, _, next)| next);
                if name == "hspace" {
                    out.push(' ');
                }
                self.arg(k, end).map_or(k, |(_, _, next)| next)
            }
            _ if KEEP_ARG.contains(&name) => match self.arg(k, end) {
                Some((s, e, next)) => {
                    self.group(s, e, depth, out);
                    next
                }
                None => k,
            },
            _ => {
                // `\pi` -> `pi`, `\sigma` -> `sigma`, `\log` -> `log`: keep the word apart
                // from letters around it.
                if out.chars().next_back().is_some_and(|p| p.is_alphabetic()) {
                    out.push(' ');
                }
                out.push_str(name);
                if k < end && c[k].is_alphabetic() {
                    out.push(' ');
                }
                k
            }
        }
    }
}

/// What an operator-like command without arguments becomes.
fn symbol_command(name: &str) -> Option<&'static str> {
    Some(match name {
        "times" | "cross" => "\u{E004}",
        "cdot" | "ast" | "bullet" | "cdotp" | "centerdot" | "star" => "*",
        "div" => "/",
        "pm" => "±",
        "mp" => "∓",
        "approx" | "simeq" | "sim" | "cong" | "thickapprox" | "approxeq" | "thicksim" => "≈",
        "neq" | "ne" => "!=",
        "leq" | "le" | "leqslant" | "leqq" => "<=",
        "geq" | "ge" | "geqslant" | "geqq" => ">=",
        "lt" => "<",
        "gt" => ">",
        "equiv" | "coloneqq" | "triangleq" | "defeq" | "eqqcolon" => "=",
        "to" | "rightarrow" | "Rightarrow" | "longrightarrow" | "Longrightarrow" | "implies"
        | "mapsto" | "longmapsto" | "rArr" | "Rarr" | "rarr" => "->",
        "leftarrow" | "Leftarrow" | "gets" | "longleftarrow" | "Longleftarrow" => "<-",
        "iff" | "Leftrightarrow" | "leftrightarrow" | "Longleftrightarrow" => "<->",
        "infty" => "∞",
        "dots" | "ldots" | "cdots" | "vdots" | "ddots" | "dotsc" | "dotsb" | "dotsm" => "...",
        "lfloor" | "lceil" | "lbrace" | "langle" => "(",
        "rfloor" | "rceil" | "rbrace" | "rangle" => ")",
        "lbrack" => "[",
        "rbrack" => "]",
        "lvert" | "rvert" | "vert" | "mid" => "|",
        "lVert" | "rVert" | "Vert" => "||",
        _ => return None,
    })
}

fn superscript(c: char) -> Option<char> {
    Some(match c {
        '⁰' => '0',
        '¹' => '1',
        '²' => '2',
        '³' => '3',
        '⁴' => '4',
        '⁵' => '5',
        '⁶' => '6',
        '⁷' => '7',
        '⁸' => '8',
        '⁹' => '9',
        '⁻' => '-',
        '⁺' => '+',
        _ => return None,
    })
}

fn subscript(c: char) -> Option<char> {
    match c {
        '₀'..='₉' => char::from_u32(c as u32 - '₀' as u32 + '0' as u32),
        _ => None,
    }
}

/// Rule 5 for one character.
fn push_unicode(ch: char, next: Option<char>, out: &mut String) {
    match ch {
        '\u{2212}' | '\u{2013}' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{FE63}'
        | '\u{FF0D}' => out.push('-'),
        '×' | '\u{2715}' | '\u{2A2F}' | '\u{2716}' => out.push(TIMES),
        '\u{2219}' | '\u{22C5}' | '\u{00B7}' | '\u{2217}' | '\u{2022}' => out.push('*'),
        '÷' | '\u{2044}' | '\u{2215}' => out.push('/'),
        '\u{2243}' | '\u{223C}' | '\u{2245}' => out.push('≈'),
        '≤' => out.push_str("<="),
        '≥' => out.push_str(">="),
        '≠' => out.push_str("!="),
        '→' | '⇒' | '⟶' | '⟹' | '↦' | '➔' | '⟼' => out.push_str("->"),
        'π' => {
            if out.chars().next_back().is_some_and(|p| p.is_alphabetic()) {
                out.push(' ');
            }
            out.push_str("pi");
            if next.is_some_and(|n| n.is_alphabetic()) {
                out.push(' ');
            }
        }
        '√' => out.push_str("sqrt"),
        '’' | '‘' | '′' | '‛' => out.push('\''),
        '“' | '”' | '„' | '″' => out.push('"'),
        '…' => out.push_str("..."),
        '\t' | '\u{00A0}' | '\u{2002}' | '\u{2003}' | '\u{2004}' | '\u{2005}' | '\u{2007}'
        | '\u{202F}' | '\u{3000}' | '\u{205F}' => out.push(' '),
        '\u{2006}' | '\u{2008}' | '\u{2009}' | '\u{200A}' | '\u{200B}' | '\u{200C}'
        | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => {}
        _ => out.push(ch),
    }
}

// ---------------------------------------------------------------------------------------
// Rule 6: times signs.

fn numeric_group(content: &[char]) -> bool {
    content.iter().any(char::is_ascii_digit)
        && content.iter().all(|&c| {
            c.is_ascii_digit() || matches!(c, 'x' | 'X' | ',' | '.' | ' ' | '(' | ')' | TIMES)
        })
}

/// Whether `out` ends (before trailing spaces) with a number or a numeric group.
fn left_is_number(out: &[char]) -> bool {
    let mut end = out.len();
    while end > 0 && out[end - 1] == ' ' {
        end -= 1;
    }
    if end == 0 {
        return false;
    }
    let last = out[end - 1];
    if last.is_ascii_digit() {
        let mut start = end;
        while start > 0 && (out[start - 1].is_ascii_digit() || out[start - 1] == '.') {
            start -= 1;
        }
        // Not the digits of an identifier (`p_1`), unless joined by an `x` (`5x6 \times 7`).
        return match start.checked_sub(1).map(|k| out[k]) {
            None => true,
            Some('x' | 'X') => true,
            Some(p) => !(p.is_alphanumeric() || p == '_'),
        };
    }
    if last == ')' {
        let mut level = 0usize;
        let lower = end.saturating_sub(200);
        for k in (lower..end).rev() {
            match out[k] {
                ')' => level += 1,
                '(' => {
                    level -= 1;
                    if level == 0 {
                        return numeric_group(&out[k + 1..end - 1]);
                    }
                }
                _ => {}
            }
        }
    }
    false
}

/// Whether `chars[j..]` starts with a number or a numeric group.
fn right_is_number(chars: &[char], j: usize) -> bool {
    match chars.get(j) {
        Some(c) if c.is_ascii_digit() => true,
        Some('.') => chars.get(j + 1).is_some_and(char::is_ascii_digit),
        Some('(') => {
            let mut level = 0usize;
            for k in j..chars.len().min(j + 200) {
                match chars[k] {
                    '(' => level += 1,
                    ')' => {
                        level -= 1;
                        if level == 0 {
                            return numeric_group(&chars[j + 1..k]);
                        }
                    }
                    _ => {}
                }
            }
            false
        }
        _ => false,
    }
}

fn resolve_times(s: String) -> String {
    // Most answers have no times sign at all.
    if !s.contains(TIMES) {
        return s;
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != TIMES {
            out.push(c);
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        if left_is_number(&out) && right_is_number(&chars, j) {
            while out.last() == Some(&' ') {
                out.pop();
            }
            out.push('x');
            i = j;
        } else {
            out.push('*');
            i += 1;
        }
    }
    out.into_iter().collect()
}

// ---------------------------------------------------------------------------------------
// Rule 7: whitespace, and measuring the marks.

fn finish(s: &str) -> Normalized {
    /// A mark whose start is not known yet: it starts at the next content character.
    const UNSET: usize = usize::MAX;
    let mut out = String::with_capacity(s.len());
    let mut marks = Vec::new();
    let mut open: Vec<(MarkKind, usize)> = Vec::new();
    // Entries of `open` from this index on are still UNSET.
    let mut unset_from = 0usize;
    let mut pending_space = false;
    let mut pending_newlines = 0usize;

    let mut i = 0;
    while let Some(ch) = s[i..].chars().next() {
        i += ch.len_utf8();
        match ch {
            '\n' => {
                pending_newlines += 1;
                pending_space = false;
            }
            BOLD_OPEN | BOX_OPEN => {
                let kind = if ch == BOLD_OPEN {
                    MarkKind::Bold
                } else {
                    MarkKind::Boxed
                };
                open.push((kind, UNSET));
            }
            BOLD_CLOSE | BOX_CLOSE => {
                let kind = if ch == BOLD_CLOSE {
                    MarkKind::Bold
                } else {
                    MarkKind::Boxed
                };
                if let Some(pos) = open.iter().rposition(|(k, _)| *k == kind) {
                    let (_, start) = open[pos];
                    open.truncate(pos);
                    unset_from = unset_from.min(open.len());
                    if start != UNSET && out.len() > start {
                        marks.push(Mark {
                            kind,
                            span: Span::new(start, out.len()),
                        });
                    }
                }
            }
            c if c.is_whitespace() || c.is_control() || ('\u{E000}'..='\u{E0FF}').contains(&c) => {
                pending_space = true;
            }
            c => {
                if !out.is_empty() {
                    if pending_newlines > 0 {
                        for _ in 0..pending_newlines.min(2) {
                            out.push('\n');
                        }
                    } else if pending_space {
                        out.push(' ');
                    }
                }
                pending_space = false;
                pending_newlines = 0;
                for entry in &mut open[unset_from..] {
                    entry.1 = out.len();
                }
                unset_from = open.len();
                out.push(c);
                // The visible ASCII that follows, and single spaces between it, is pushed as
                // it is (nothing is pending, no mark waits for its start, and a space between
                // two such characters is written as one): copied as a run.
                let bytes = s.as_bytes();
                let mut end = i;
                loop {
                    while end < bytes.len() && bytes[end].is_ascii_graphic() {
                        end += 1;
                    }
                    if end + 1 < bytes.len()
                        && bytes[end] == b' '
                        && bytes[end + 1].is_ascii_graphic()
                    {
                        end += 2;
                        continue;
                    }
                    break;
                }
                out.push_str(&s[i..end]);
                i = end;
            }
        }
    }
    marks.sort_by_key(|m| (m.span.start, m.span.end));
    Normalized { text: out, marks }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The character-array reading of inline markdown that [`markdown_inline`] replaced,
    /// kept as the reference it must agree with.
    fn reference_inline(line: &str, out: &mut String, in_bold: &mut bool) {
        fn link(chars: &[char], open: usize) -> Option<(usize, usize)> {
            let close = open + chars[open..].iter().take(400).position(|&c| c == ']')?;
            if chars.get(close + 1) != Some(&'(') {
                return None;
            }
            let paren = close + 1;
            let end = paren
                + chars[paren..]
                    .iter()
                    .take(1000)
                    .position(|&c| c == ')' || c == ' ')?;
            if chars[end] != ')' {
                return None;
            }
            Some((close, end + 1))
        }
        let chars: Vec<char> = line.chars().collect();
        let n = chars.len();
        let mut i = 0;
        while i < n {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match c {
                '\\' if next == Some('*') || next == Some('_') => {
                    out.push(chars[i + 1]);
                    i += 2;
                }
                '\\' => {
                    out.push('\\');
                    if let Some(nc) = next {
                        out.push(nc);
                    }
                    i += 2;
                }
                '`' => i += 1,
                '*' if next == Some('*') => {
                    let mut run = 2;
                    if chars.get(i + 2) == Some(&'*') {
                        run = 3;
                    }
                    let prev = out.chars().next_back();
                    let after = chars.get(i + run).copied();
                    if run == 2 && is_operand_end(prev) && is_operand_start(after) {
                        out.push_str("**");
                    } else if prev.is_none_or(char::is_whitespace)
                        && after.is_none_or(char::is_whitespace)
                    {
                        if run == 2 {
                            out.push_str("**");
                        }
                    } else if !*in_bold && after.is_some_and(|a| !a.is_whitespace()) {
                        out.push(BOLD_OPEN);
                        *in_bold = true;
                    } else if *in_bold && prev.is_some_and(|p| !p.is_whitespace()) {
                        out.push(BOLD_CLOSE);
                        *in_bold = false;
                    }
                    i += run;
                }
                '_' if next == Some('_') => {
                    let prev = out.chars().next_back();
                    let after = chars.get(i + 2).copied();
                    if prev.is_some_and(char::is_alphanumeric)
                        && after.is_some_and(char::is_alphanumeric)
                    {
                        out.push_str("__");
                    }
                    i += 2;
                }
                '!' if next == Some('[') => {
                    if let Some(end) = link(&chars, i + 1) {
                        i = end.1;
                    } else {
                        out.push('!');
                        i += 1;
                    }
                }
                '[' => {
                    if let Some((text_end, end)) = link(&chars, i) {
                        out.extend(&chars[i + 1..text_end]);
                        i = end;
                    } else {
                        out.push('[');
                        i += 1;
                    }
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }

    #[test]
    fn inline_markdown_by_runs_agrees_with_the_character_reference() {
        let long_text = format!("[{}](u) [{}](u)", "é".repeat(398), "é".repeat(399));
        let long_url = format!("[t]({}) [t]({})", "é".repeat(998), "é".repeat(999));
        let lines = [
            "",
            "plain text only",
            "**bold** and ***more*** and 2**10 and (1-p)**2 and a ** b",
            "__init__ and __x and a__b__c",
            "\\* \\_ \\é \\",
            "`code` ![img](a.png) [link](http://x) [not a link] [t](no close",
            "[t] (x) [a](b c) ![x] !",
            "é**ü** ü__é__ü",
            "*",
            "**",
            "trailing \\",
            long_text.as_str(),
            long_url.as_str(),
        ];
        for start_bold in [false, true] {
            for line in lines {
                for before in ["", "x", " "] {
                    let (mut out, mut bold) = (before.to_string(), start_bold);
                    markdown_inline(line, &mut out, &mut bold);
                    let (mut expected, mut expected_bold) = (before.to_string(), start_bold);
                    reference_inline(line, &mut expected, &mut expected_bold);
                    assert_eq!((out, bold), (expected, expected_bold), "{line:?}");
                }
            }
        }
    }

    #[test]
    fn spaces_and_marks_survive_the_runs_of_finish() {
        let out = normalize("a  b \t c\n\n\nd **e f** g");
        assert_eq!(out.text, "a b c\n\nd e f g");
        assert_eq!(out.marks.len(), 1);
        assert_eq!(
            &out.text[out.marks[0].span.start..out.marks[0].span.end],
            "e f"
        );
    }

    fn n(s: &str) -> String {
        normalize_math(s)
    }

    #[test]
    fn latex_times_between_numbers_becomes_x() {
        assert_eq!(n(r"$112 \times 112$"), "112x112");
        assert_eq!(n(r"\boxed{125 \times 125}"), "125x125");
        assert_eq!(n("112×112"), "112x112");
        assert_eq!(n(r"$RF_0=112 \times 112$"), "RF_0=112x112");
        assert_eq!(n(r"$2.5 \times 10^{-3}$"), "2.5x10^(-3)");
        assert_eq!(
            n(r"5 \times 6 \times 7 \times 8 \times 42000"),
            "5x6x7x8x42000"
        );
        assert_eq!(
            n(r"(5 \times 6 \times 7 \times 8) \times 42000"),
            "(5x6x7x8)x42000"
        );
    }

    #[test]
    fn times_elsewhere_is_multiplication() {
        assert_eq!(n(r"$(1-p_1) \times (1-p_2)$"), "(1-p_1) * (1-p_2)");
        assert_eq!(n(r"$RF \times RF$"), "RF * RF");
        assert_eq!(n(r"$n\times m$"), "n*m");
        assert_eq!(n(r"$p_1 \times 2$"), "p_1 * 2");
    }

    #[test]
    fn multiplication_dots_and_minus() {
        assert_eq!(
            n("q=p_1+p_2∙(1-p_1 )=0.1+0.2∙0.1= 0.12"),
            "q=p_1+p_2*(1-p_1 )=0.1+0.2*0.1= 0.12"
        );
        assert_eq!(n("(2−1)⋅1+(3−1)⋅1"), "(2-1)*1+(3-1)*1");
        assert_eq!(n(r"$q=1-(1-p_1)\cdot(1-p2)$"), "q=1-(1-p_1)*(1-p2)");
        assert_eq!(n("a · b – c"), "a * b - c");
        assert_eq!(n(r"(5\*2+1+1)"), "(5*2+1+1)");
    }

    #[test]
    fn fractions_powers_subscripts() {
        assert_eq!(n(r"$\frac{1}{1-p}$"), "(1)/(1-p)");
        assert_eq!(n(r"\dfrac12"), "(1)/(2)");
        assert_eq!(n(r"$\frac{\frac{a}{b}}{c}$"), "((a)/(b))/(c)");
        assert_eq!(n(r"$p_{1} + p_{2}$"), "p_1 + p_2");
        assert_eq!(n(r"$RF_{i-1}$"), "RF_{i-1}");
        assert_eq!(n(r"$2^{10}$"), "2^(10)");
        assert_eq!(n(r"$e^{-x}$"), "e^(-x)");
        assert_eq!(n(r"$\sqrt{2}$"), "sqrt(2)");
        assert_eq!(n(r"$\sqrt[3]{8}$"), "(8)^(1/(3))");
        assert_eq!(n("112²"), "112^2");
        assert_eq!(n("x⁻¹"), "x^(-1)");
        assert_eq!(n("p₁"), "p_1");
    }

    #[test]
    fn text_wrappers_and_delimiters() {
        assert_eq!(n(r"$\text{RF} = 112$"), "RF = 112");
        assert_eq!(n(r"$\mathrm{total}=5$"), "total=5");
        assert_eq!(n(r"\( q = 1 - p \)"), "q = 1 - p");
        assert_eq!(n(r"\[ x = 2 \]"), "x = 2");
        assert_eq!(n("$$ y = 3 $$"), "y = 3");
        assert_eq!(n(r"$\left( 1 - p \right)$"), "( 1 - p )");
        assert_eq!(n(r"$\left. x \right|$"), "x |");
        assert_eq!(n(r"$1\,156$"), "1156");
        assert_eq!(n(r"$28\%$"), "28%");
        assert_eq!(n(r"$\pi r^2$"), "pi r^2");
        assert_eq!(n(r"$2\pi$"), "2pi");
        assert_eq!(n(r"$x \approx 0.5$"), "x ≈ 0.5");
        assert_eq!(n(r"$\lfloor \frac{k-1}{2} \rfloor$"), "((k-1)/(2) )");
        assert_eq!(n(r"$13 \rightarrow 26$"), "13 -> 26");
        assert_eq!(n("13 → 26"), "13 -> 26");
        assert_eq!(n(r"a \\ b"), "a\nb");
    }

    #[test]
    fn html_is_stripped() {
        assert_eq!(n("<b><u>Answer 3:</b></u> 112"), "Answer 3: 112");
        assert_eq!(
            n("<font color='darkgreen'>\n**Answer:** 112</font>"),
            "Answer: 112"
        );
        assert_eq!(
            n("<div class=\"alert alert-block alert-success\">x</div>"),
            "x"
        );
        assert_eq!(n("a<br>b"), "a\nb");
        assert_eq!(n("p < q and a<b"), "p < q and a<b");
        assert_eq!(n("112<sup>2</sup>"), "112^(2)");
        assert_eq!(n("p<sub>1</sub>"), "p_1");
        assert_eq!(n("a&nbsp;&times;&nbsp;b"), "a * b");
        assert_eq!(n("3&times;3"), "3x3");
        assert_eq!(
            n("see https://medium.com/a-guide-e0f514068807 for 112"),
            "see for 112"
        );
        assert_eq!(n("<!-- hidden 5 -->7"), "7");
    }

    #[test]
    fn markdown_is_stripped() {
        assert_eq!(n("**Answer:** `q = 1 - p`"), "Answer: q = 1 - p");
        assert_eq!(n("##### The RF is 112"), "The RF is 112");
        assert_eq!(n("```python\nq = 1\n```"), "q = 1");
        assert_eq!(n("* Conv1: 3\n* Conv2: 4"), "Conv1: 3\nConv2: 4");
        assert_eq!(n("> quoted 5"), "quoted 5");
        assert_eq!(n("x = 2**10"), "x = 2**10");
        assert_eq!(n("(1-p)**2"), "(1-p)**2");
        assert_eq!(n("p ** 2"), "p ** 2");
        assert_eq!(
            n("![img](imgs/Q1.png) [link](http://x.y/1) end"),
            "link end"
        );
        assert_eq!(n("[5, 6, 7, 8, 42000]"), "[5, 6, 7, 8, 42000]");
        assert_eq!(n("kernel\\_size"), "kernel_size");
    }

    #[test]
    fn whitespace_is_collapsed() {
        assert_eq!(n("  a \t b  \n\n\n\n c  "), "a b\n\nc");
        assert_eq!(n("a\u{00A0}b\u{2009}c"), "a bc");
    }

    #[test]
    fn bold_and_boxed_regions_are_marked() {
        let out = normalize("The RF is **112**.");
        assert_eq!(out.text, "The RF is 112.");
        assert_eq!(
            out.marks,
            vec![Mark {
                kind: MarkKind::Bold,
                span: Span::new(10, 13)
            }]
        );
        let out = normalize(r"so $\boxed{125 \times 125}$ pixels");
        assert_eq!(out.text, "so 125x125 pixels");
        assert_eq!(out.marks[0].kind, MarkKind::Boxed);
        assert_eq!(out.marks[0].span.slice(&out.text), "125x125");
        let out = normalize("<b> 0.28 </b>");
        assert_eq!(out.marks[0].span.slice(&out.text), "0.28");
        let out = normalize(r"\textbf{7}");
        assert_eq!(out.marks[0].kind, MarkKind::Bold);
        let out = normalize("***112***");
        assert_eq!(out.text, "112");
        assert_eq!(out.marks[0].span.slice(&out.text), "112");
    }

    #[test]
    fn unbalanced_emphasis_is_dropped() {
        let out = normalize("**open\n\nclosed** 5");
        assert_eq!(out.text, "open\n\nclosed 5");
        assert!(out.marks.is_empty());
        let out = normalize(r"\boxed{5");
        assert_eq!(out.text, "5");
    }

    #[test]
    fn input_is_bounded() {
        let long = "1 ".repeat(MAX_INPUT_BYTES);
        assert!(normalize_math(&long).len() <= MAX_INPUT_BYTES);
        let deep = format!("{}x{}", "{".repeat(5000), "}".repeat(5000));
        assert_eq!(normalize_math(&deep), "x");
        let deep_frac = format!("{}1{}", r"\frac{".repeat(3000), "}{2}".repeat(3000));
        assert!(!normalize_math(&deep_frac).is_empty());
    }

    #[test]
    fn private_use_characters_in_input_are_not_markers() {
        let out = normalize("\u{E000}5\u{E001}");
        assert_eq!(out.text, "5");
        assert!(out.marks.is_empty());
    }
}
