//! Is this line Python, printed output, or prose? Used to split text exports into cells.
//!
//! A text export marks where a code cell starts (`In [N]:`) but not where it ends: the code,
//! its printed output and the next markdown follow one another separated only by blank lines,
//! and code itself has blank lines. So [`text`](super::text) cuts the lines after a marker
//! into paragraphs (runs of non-blank lines) and asks [`classify_paragraph`] what each one is.
//! Each line gets a [`LineClass`] from cheap, local rules (keywords, assignments, reprs such as
//! `torch.Size([...])`, list markers, the share of plain words); a paragraph is what most of its
//! lines are, with open brackets carrying code across lines and blank lines.
//!
//! The rules are tuned on real exports (`../shared/seeds`) and lean towards keeping prose out
//! of code: a misplaced answer is worse than a misplaced line of code.

/// What one line looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineClass {
    /// Only whitespace.
    Blank,
    /// `Out[N]:` (optionally followed by the value).
    OutMarker,
    /// Part of an exception report: `NameError: ...`, `Traceback (most recent call last)`.
    Error,
    /// A printed value: `torch.Size([...])`, `tensor(...)`, `Y.shape=...` after a `print`,
    /// a module repr line `(0): Conv2d(...)`, numbers.
    Output,
    /// `# Title` at the start of the line: a markdown heading, or a Python comment.
    Heading,
    /// Certainly Python: keywords, assignments, decorators, shell escapes.
    CodeStrong,
    /// Probably Python: calls, comments, closing brackets, continuation lines.
    CodeWeak,
    /// Text for people: list items, markdown markup, sentences.
    Prose,
    /// None of the above.
    Unknown,
}

impl LineClass {
    pub(crate) fn is_code(self) -> bool {
        matches!(self, LineClass::CodeStrong | LineClass::CodeWeak)
    }
}

/// What one paragraph (a run of non-blank lines) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParagraphKind {
    /// Python with at least one certain line.
    Code,
    /// Python-looking lines only (calls, brackets), nothing certain.
    CodeLike,
    /// A single `# ...` line: a markdown heading, or a lone comment between code paragraphs.
    Heading,
    /// Printed output.
    Output,
    /// An exception report.
    Error,
    /// Starts with `Out[N]:`.
    OutMarker,
    /// Text for people.
    Prose,
    /// Nothing recognisable.
    Unknown,
}

/// What is known about the code cell so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CodeContext {
    /// The code calls `print(`: `name=value` lines after it are its output.
    pub(crate) has_print: bool,
    /// Brackets left open at the end of the code so far.
    pub(crate) depth: u32,
}

impl CodeContext {
    /// Takes in the lines of a paragraph that was added to the code.
    pub(crate) fn absorb(&mut self, lines: &[&str]) {
        for line in lines {
            if line.contains("print(") {
                self.has_print = true;
            }
            self.depth = bracket_depth(line, self.depth);
        }
    }
}

/// Classifies a paragraph of non-blank lines that would follow code in context `ctx`.
pub(crate) fn classify_paragraph(lines: &[&str], ctx: &CodeContext) -> ParagraphKind {
    let mut depth = ctx.depth;
    let mut previous_code = depth > 0;
    let (mut strong, mut weak, mut prose, mut output, mut error, mut heading) = (0, 0, 0, 0, 0, 0);
    let mut non_blank = 0;
    for (i, line) in lines.iter().enumerate() {
        let mut class = classify_line(line, ctx.has_print);
        if class == LineClass::Blank {
            continue;
        }
        if i == 0 && class == LineClass::OutMarker {
            return ParagraphKind::OutMarker;
        }
        non_blank += 1;
        let continuation = depth > 0 || (previous_code && starts_indented(line));
        if continuation && matches!(class, LineClass::Prose | LineClass::Unknown) {
            class = LineClass::CodeWeak;
        }
        if depth > 0 && class == LineClass::Heading {
            class = LineClass::CodeWeak;
        }
        if class.is_code() {
            depth = bracket_depth(line, depth);
        }
        previous_code = class.is_code();
        match class {
            LineClass::CodeStrong => strong += 1,
            LineClass::CodeWeak => weak += 1,
            LineClass::Prose => prose += 1,
            LineClass::Output | LineClass::OutMarker => output += 1,
            LineClass::Error => error += 1,
            LineClass::Heading => heading += 1,
            LineClass::Blank | LineClass::Unknown => {}
        }
    }
    if non_blank == 0 {
        return ParagraphKind::Unknown;
    }
    if error > 0 && error >= prose && strong == 0 {
        return ParagraphKind::Error;
    }
    if output > 0 && output >= prose && strong == 0 {
        return ParagraphKind::Output;
    }
    if heading == non_blank {
        // Several `# ...` lines in a row are a block of comments, not headings.
        return if non_blank == 1 {
            ParagraphKind::Heading
        } else {
            ParagraphKind::CodeLike
        };
    }
    if strong > 0 && strong + weak + heading >= prose {
        return ParagraphKind::Code;
    }
    if prose == 0 && weak > 0 {
        return ParagraphKind::CodeLike;
    }
    if prose > 0 {
        return ParagraphKind::Prose;
    }
    ParagraphKind::Unknown
}

/// Classifies one line on its own. `has_print`: the code before it prints.
pub(crate) fn classify_line(line: &str, has_print: bool) -> LineClass {
    let t = line.trim();
    if t.is_empty() {
        return LineClass::Blank;
    }
    let indented = starts_indented(line);
    if !indented {
        if is_out_marker(line).is_some() {
            return LineClass::OutMarker;
        }
        if is_error_line(t) {
            return LineClass::Error;
        }
        if is_output_line(t, has_print) {
            return LineClass::Output;
        }
        if is_heading(line) {
            return LineClass::Heading;
        }
    }
    if is_module_repr_child(t) {
        return LineClass::Output;
    }
    if is_traceback_location(t) {
        return LineClass::Error;
    }
    if is_code_strong(t) {
        return LineClass::CodeStrong;
    }
    if is_prose_marker(t) {
        return LineClass::Prose;
    }
    if is_code_weak(t) {
        return LineClass::CodeWeak;
    }
    if is_prose_words(t) {
        return LineClass::Prose;
    }
    LineClass::Unknown
}

/// `In [N]:` at the start of a line, with `N` a number, blank, `*` or `None`; returns what
/// follows the colon (code on the same line), trimmed.
pub(crate) fn in_marker(line: &str) -> Option<&str> {
    prompt(line, "In")
}

/// `Out[N]:` at the start of a line; returns what follows the colon, trimmed.
pub(crate) fn is_out_marker(line: &str) -> Option<&str> {
    prompt(line, "Out")
}

fn prompt<'a>(line: &'a str, word: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(word)?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let rest = rest.strip_prefix('[')?;
    let close = rest.find(']')?;
    let inside = rest[..close].trim();
    let valid = inside.is_empty()
        || inside == "*"
        || inside == "None"
        || (inside.len() <= 9 && inside.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return None;
    }
    let after = rest[close + 1..].strip_prefix(':')?;
    if !after.is_empty() && !after.starts_with([' ', '\t']) {
        return None;
    }
    Some(after.trim())
}

/// Markdown ATX heading: 1-6 `#`, a space, text.
pub(crate) fn is_heading(line: &str) -> bool {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes)
        && line[hashes..].starts_with([' ', '\t'])
        && !line[hashes..].trim().is_empty()
}

fn starts_indented(line: &str) -> bool {
    line.starts_with([' ', '\t'])
}

/// Open brackets after `line`, starting from `depth`; strings and comments are skipped.
pub(crate) fn bracket_depth(line: &str, mut depth: u32) -> u32 {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '#' => break,
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => depth = depth.saturating_add(1),
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// `NameError: ...`, `AssertionError`, `NameError   Traceback (most recent call last)`,
/// `Traceback (most recent call last):`, `----> 3 x()`.
fn is_error_line(t: &str) -> bool {
    if t.starts_with("Traceback (most recent call last)") {
        return true;
    }
    if let Some(rest) = t.strip_prefix("---") {
        let arrow = rest.trim_start_matches('-');
        if let Some(rest) = arrow.strip_prefix('>') {
            return rest.trim_start().starts_with(|c: char| c.is_ascii_digit());
        }
    }
    let end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(t.len());
    let name = &t[..end];
    let last = name.rsplit('.').next().unwrap_or(name);
    let is_exception = ["Error", "Exception", "Interrupt", "Exit"]
        .iter()
        .any(|s| last.len() > s.len() && last.ends_with(s))
        && last.starts_with(|c: char| c.is_ascii_uppercase());
    if !is_exception {
        return false;
    }
    let rest = &t[end..];
    rest.is_empty() || rest.starts_with(':') || rest.trim_start().starts_with("Traceback")
}

/// `File "x.py", line 3, in f` and `Cell In[4], line 2` inside a traceback.
fn is_traceback_location(t: &str) -> bool {
    (t.starts_with("File \"") || t.starts_with("Cell In[")) && t.contains(", line ")
}

/// A printed value at the start of a line.
fn is_output_line(t: &str, has_print: bool) -> bool {
    const REPRS: &[&str] = &["torch.Size(", "tensor(", "array(", "Parameter containing:"];
    if REPRS.iter().any(|r| t.starts_with(r)) {
        return true;
    }
    if matches!(t, "True" | "False" | "None") {
        return true;
    }
    if is_object_repr(t) || is_warning(t) {
        return true;
    }
    if has_print && is_debug_print(t) {
        return true;
    }
    is_numeric_line(t)
}

/// `<Figure size 640x480 with 1 Axes>`, `<torch._C.Generator object at 0x7f...>`; not an HTML
/// tag such as `<center>` or `<br/>`.
fn is_object_repr(t: &str) -> bool {
    if !(t.starts_with('<') && t.ends_with('>')) || t.matches('<').count() != 1 {
        return false;
    }
    if t.contains(" object at 0x") || t.contains(" at 0x") {
        return true;
    }
    let name: String = t[1..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>')
        .collect();
    name.chars()
        .any(|c| c.is_ascii_uppercase() || c == '.' || c == '_')
}

/// `/path/x.py:12: UserWarning: ...`.
fn is_warning(t: &str) -> bool {
    let Some(pos) = t.find("Warning:") else {
        return false;
    };
    let before = t[..pos].trim_end_matches(|c: char| c.is_alphanumeric() || c == '_');
    before.ends_with(": ") && before.contains(".py:")
}

/// `Y.shape=torch.Size([...])`, `loss=tensor(1.7)`: what `print(f"{x=}")` prints.
fn is_debug_print(t: &str) -> bool {
    let Some(eq) = t.find('=') else {
        return false;
    };
    let (name, value) = (&t[..eq], &t[eq + 1..]);
    let valid_name = name.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '\'' | '"'));
    valid_name && !value.is_empty() && !value.starts_with(['=', ' '])
}

/// `0.28`, `[1, 2, 3]`, `(5, 6, 7, 8, 42000)`; not a list number such as `6.` or `1)`.
fn is_numeric_line(t: &str) -> bool {
    let digits = t.bytes().filter(u8::is_ascii_digit).count();
    if digits == 0
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b" .,-+eE[]()\t".contains(&b))
    {
        return false;
    }
    let list_number = t.len() <= 4 && (t.ends_with('.') || t.ends_with(')')) && !t.contains('(');
    !list_number
}

/// `(0): Conv2d(3, 4, ...)`, `(conv1): Conv2d(`, `(1-23): 23 x Linear(` in a module repr.
fn is_module_repr_child(t: &str) -> bool {
    let Some(rest) = t.strip_prefix('(') else {
        return false;
    };
    let Some(close) = rest.find("): ") else {
        return false;
    };
    let label = &rest[..close];
    if label.is_empty()
        || !label
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return false;
    }
    let value = &rest[close + 3..];
    let value = match value.split_once(" x ") {
        Some((count, class)) if count.bytes().all(|b| b.is_ascii_digit()) => class,
        _ => value,
    };
    let name_end = value
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(value.len());
    name_end > 0
        && value.starts_with(|c: char| c.is_ascii_uppercase())
        && value[name_end..].starts_with('(')
}

/// Keywords, assignments, decorators and shell escapes.
fn is_code_strong(t: &str) -> bool {
    if let Some(rest) = t.strip_prefix(['!', '%']) {
        let rest = rest.strip_prefix('%').unwrap_or(rest);
        return rest.starts_with(|c: char| c.is_ascii_alphabetic());
    }
    if let Some(rest) = t.strip_prefix('@') {
        return rest.starts_with(|c: char| c.is_alphabetic() || c == '_') && !rest.contains(' ');
    }
    let word_end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    let (word, rest) = t.split_at(word_end);
    let code = strip_comment(t);
    match word {
        "import" => is_import_list(rest),
        "from" => {
            let mut parts = rest.split_whitespace();
            let module = parts.next().unwrap_or("");
            is_dotted_name(module.trim_start_matches('.')) && parts.next() == Some("import")
        }
        "def" => {
            let rest = rest.trim_start();
            let name_end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            name_end > 0 && rest[name_end..].starts_with('(')
        }
        "class" => {
            let rest = rest.trim_start();
            let name_end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            name_end > 0 && rest[name_end..].starts_with(['(', ':'])
        }
        "return" | "yield" | "raise" | "assert" | "del" => {
            rest.is_empty() || (rest.starts_with(' ') && !looks_like_sentence(rest))
        }
        "pass" | "break" | "continue" => strip_comment(rest).trim().is_empty(),
        "else" | "try" | "finally" => strip_comment(rest).trim() == ":",
        "for" | "while" | "if" | "elif" | "with" | "except" => {
            let body = code.strip_suffix(':').map(|b| &b[word.len()..]);
            let Some(body) = body else {
                return false;
            };
            if word == "for" && !body.contains(" in ") {
                return false;
            }
            body.is_empty() || has_code_char(body) || !looks_like_sentence(body)
        }
        "async" | "await" | "global" | "nonlocal" | "lambda" => {
            rest.starts_with(' ') && has_code_char(rest)
        }
        "print" => rest.starts_with('('),
        _ => is_assignment(t),
    }
}

/// The line without a trailing `# comment` (a `#` outside quotes), trimmed at the end.
fn strip_comment(t: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in t.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' => return t[..i].trim_end(),
            None => {}
        }
    }
    t.trim_end()
}

fn has_code_char(s: &str) -> bool {
    s.contains(['(', '[', '.', '=', '_', '<', '>', '!', '"', '\''])
        || s.bytes().any(|b| b.is_ascii_digit())
}

/// Four or more words, or a common English word: text, not a Python expression.
fn looks_like_sentence(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "the", "a", "an", "is", "are", "this", "that", "of", "to", "we", "you", "it", "so", "be",
        "can", "will", "which",
    ];
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    if has_code_char(s) {
        return false;
    }
    words.len() >= 4
        || words
            .iter()
            .any(|w| WORDS.contains(&w.to_lowercase().as_str()))
}

fn is_dotted_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            part.starts_with(|c: char| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// ` a.b as c, d` after `import`.
fn is_import_list(rest: &str) -> bool {
    if !rest.starts_with(' ') {
        return false;
    }
    strip_comment(rest).split(',').all(|item| {
        let mut words = item.split_whitespace();
        let (Some(name), alias, extra) = (words.next(), words.next(), words.next()) else {
            return false;
        };
        if !is_dotted_name(name) {
            return false;
        }
        match (alias, extra) {
            (None, _) => true,
            (Some("as"), Some(alias)) => is_dotted_name(alias) && words.next().is_none(),
            _ => false,
        }
    })
}

/// `x = ...`, `a, b = ...`, `self.w[i] += ...`, `x=1`; not `==`, `<=`, not prose before `=`.
pub(crate) fn is_assignment(t: &str) -> bool {
    let bytes = t.as_bytes();
    let mut depth = 0u32;
    let mut eq = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'[' | b'(' | b'{' => depth += 1,
            b']' | b')' | b'}' => depth = depth.saturating_sub(1),
            b'\'' | b'"' | b'#' if depth == 0 => return false,
            b'=' if depth == 0 => {
                eq = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(eq) = eq else {
        return false;
    };
    if bytes.get(eq + 1) == Some(&b'=') || t[eq + 1..].trim().is_empty() {
        return false;
    }
    let mut lhs = t[..eq].trim_end();
    if lhs.ends_with(['!', '<', '>', '=']) {
        return false;
    }
    for op in ["//", "**", "+", "-", "*", "/", "%", "@", "&", "|", "^"] {
        if let Some(stripped) = lhs.strip_suffix(op) {
            lhs = stripped.trim_end();
            break;
        }
    }
    !lhs.is_empty() && split_top_level(lhs).all(|target| is_target(target.trim()))
}

/// `s` split at commas outside brackets.
fn split_top_level(s: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0u32;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter()
}

/// `x`, `*rest`, `self.w`, `d["k"]`, `a[i][j]`: an assignment target.
fn is_target(target: &str) -> bool {
    let target = target.strip_prefix('*').unwrap_or(target);
    if !target.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return false;
    }
    let mut depth = 0u32;
    for c in target.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c.is_alphanumeric() || c == '_' || c == '.' => {}
            _ => return false,
        }
    }
    depth == 0
}

/// Markdown markup and list items.
fn is_prose_marker(t: &str) -> bool {
    const STARTS: &[&str] = &[
        "**", "__", "<", "$", "> ", "|", "```", "~~~", "![", "\\(", "\\[", "&",
    ];
    if STARTS.iter().any(|s| t.starts_with(s)) {
        return true;
    }
    if t.starts_with('[') && t.contains("](") {
        return true;
    }
    let lower = t.to_lowercase();
    if lower.starts_with("answer") || lower.starts_with("solution") {
        return true;
    }
    is_list_item(t)
}

/// `- x`, `* x`, `• x`, `1. x`, `2) x`, `(a) x`, `A. x`, `iv. x`, and a bare `6.`.
fn is_list_item(t: &str) -> bool {
    if let Some(rest) = t.strip_prefix(['-', '*', '+', '•', '·', '–']) {
        return rest.starts_with([' ', '\t']);
    }
    let (label, rest) = match t.find(['.', ')']) {
        Some(i) if i > 0 && i <= 6 => (&t[..i], &t[i + 1..]),
        _ => return false,
    };
    let label = label.strip_prefix('(').unwrap_or(label);
    let numbered = !label.is_empty()
        && (label.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            || (label.len() == 1 && label.bytes().all(|b| b.is_ascii_alphabetic()))
            || label.bytes().all(|b| b"ivxIVX".contains(&b)));
    numbered && (rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Calls, comments, brackets and other lines that are probably Python.
fn is_code_weak(t: &str) -> bool {
    if t.starts_with('#') || t.starts_with([')', ']', '}']) {
        return true;
    }
    if t.starts_with(['"', '\'']) {
        return true;
    }
    if t.starts_with("*[") || t.starts_with("*(") || t.starts_with("**{") {
        return true;
    }
    if strip_comment(t).ends_with(['(', '[', '{', '\\']) {
        return true;
    }
    let name_end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(t.len());
    let name = &t[..name_end];
    if name.is_empty() || !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return false;
    }
    let rest = &t[name_end..];
    if rest.starts_with(['(', '[']) {
        return true;
    }
    // A bare dotted name or snake_case expression: `model.eval`, `train_loss`.
    rest.is_empty() && (name.contains('.') || name.contains('_')) && is_dotted_name(name)
}

/// Mostly plain words: a sentence, or `Answer:` / `False.` on its own.
fn is_prose_words(t: &str) -> bool {
    let tokens: Vec<&str> = t.split_whitespace().collect();
    let wordy = tokens.iter().filter(|tok| is_word(tok)).count();
    if tokens.len() >= 3 && wordy * 5 >= tokens.len() * 3 {
        return true;
    }
    wordy == tokens.len() && (tokens.len() >= 2 || t.ends_with([':', '.', '?', '!']))
}

fn is_word(token: &str) -> bool {
    let core = token
        .trim_start_matches(['(', '"', '\'', '*', '_', '“', '‘'])
        .trim_end_matches([
            ')', '"', '\'', '*', '_', ',', '.', ';', ':', '?', '!', '”', '’',
        ]);
    !core.is_empty()
        && core.chars().any(char::is_alphabetic)
        && core
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use LineClass::*;

    fn class(line: &str) -> LineClass {
        classify_line(line, false)
    }

    #[test]
    fn markers() {
        assert_eq!(in_marker("In [1]:"), Some(""));
        assert_eq!(in_marker("In [ ]:"), Some(""));
        assert_eq!(in_marker("In []:"), Some(""));
        assert_eq!(in_marker("In [None]:"), Some(""));
        assert_eq!(in_marker("In [*]:"), Some(""));
        assert_eq!(in_marker("In[12]: x = 1"), Some("x = 1"));
        assert_eq!(in_marker("In [1]: "), Some(""));
        assert_eq!(in_marker("In [a]:"), None);
        assert_eq!(in_marker("In [1]:x"), None);
        assert_eq!(in_marker("In [1] the text"), None);
        assert_eq!(in_marker(" In [1]:"), None);
        assert_eq!(in_marker("In the [1]:"), None);
        assert_eq!(is_out_marker("Out[3]: 42"), Some("42"));
    }

    #[test]
    fn lines_from_the_seeds() {
        assert_eq!(class("import torch.nn as nn"), CodeStrong);
        assert_eq!(class("from torch.autograd import Function"), CodeStrong);
        assert_eq!(class("cnn = nn.Sequential("), CodeStrong);
        assert_eq!(class("N, d = 100, 5"), CodeStrong);
        assert_eq!(
            class("N = 42  # number of known global pirate hot spots"),
            CodeStrong
        );
        assert_eq!(class("    nn.ReLU(),"), CodeWeak);
        assert_eq!(class(")"), CodeWeak);
        assert_eq!(class("    ]*24,"), CodeWeak);
        assert_eq!(class("    *["), CodeWeak);
        assert_eq!(
            class("cnn(torch.rand(size=(1, 3, 1024, 1024), dtype=torch.float32)).shape"),
            CodeWeak
        );
        assert_eq!(class("def foo(W, b):"), CodeStrong);
        assert_eq!(class("    return torch.mean(X @ W + b)"), CodeStrong);
        assert_eq!(
            class("        for i in range(len(W.view(-1))):"),
            CodeStrong
        );
        assert_eq!(class("    with torch.no_grad():"), CodeStrong);
        assert_eq!(
            class("assert torch.allclose(grad_W, autograd_W)"),
            CodeStrong
        );
        assert_eq!(class("!pip install torch"), CodeStrong);
        assert_eq!(class("@staticmethod"), CodeStrong);
        assert_eq!(class("    # set upper point"), CodeWeak);
        assert_eq!(
            class("# TODO: Calculate gradients numerically for W and b"),
            Heading
        );
        assert_eq!(class("### Sequence models"), Heading);

        assert_eq!(class("torch.Size([1, 32, 122, 122])"), Output);
        assert_eq!(
            class("  (0): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1))"),
            Output
        );
        assert_eq!(class("  (3): Dropout(p=0.2, inplace=False)"), Output);
        assert_eq!(
            classify_line("Y.shape=torch.Size([5, 6, 7, 8, 42000])", true),
            Output
        );
        assert_eq!(
            classify_line(
                "loss=tensor(1.7246, dtype=torch.float64, grad_fn=<MeanBackward0>)",
                true
            ),
            Output
        );
        assert_eq!(class("0.28"), Output);
        assert_eq!(class("<Figure size 640x480 with 1 Axes>"), Output);
        assert_eq!(class("NameError: name 'torch' is not defined"), Error);
        assert_eq!(class("NameError: ignored"), Error);
        assert_eq!(class("AssertionError"), Error);
        assert_eq!(
            class("NameError                                 Traceback (most recent call last)"),
            Error
        );
        assert_eq!(class("----> 3 foo()"), Error);
        assert_eq!(
            class("  File \"<ipython-input-1>\", line 3, in <module>"),
            Error
        );

        assert_eq!(class("**Answer:**"), Prose);
        assert_eq!(class("Answer:"), Prose);
        assert_eq!(class("Answers:"), Prose);
        assert_eq!(class("#### Answer:"), Heading);
        assert_eq!(
            class("5. Regarding truncated backpropagation through time"),
            Prose
        );
        assert_eq!(class("6."), Prose);
        assert_eq!(
            class("* Using the model's function as a black box, draw the graph"),
            Prose
        );
        assert_eq!(class("(a) No, it's not directly possible"), Prose);
        assert_eq!(
            class("What is the size (spatial extent) of the receptive field of each \"pixel\" in the output tensor?"),
            Prose
        );
        assert_eq!(
            class("While training your model you notice that the loss reaches a plateau."),
            Prose
        );
        assert_eq!(
            class("<center><img src=\"https://example.org/x.png\" /></center>"),
            Prose
        );
        assert_eq!(class("$$"), Prose);
        assert_eq!(class("False."), Prose);
        assert_eq!(class("Vanishing gradients"), Prose);
        assert_eq!(class("```python"), Prose);
        assert_eq!(
            class("/usr/lib/python3/x.py:12: UserWarning: deprecated"),
            Output
        );
        assert_eq!(class("Warning: read this first"), Prose);
    }

    #[test]
    fn prose_that_starts_like_python_stays_prose() {
        assert_eq!(class("if so, explain the following:"), Prose);
        assert_eq!(class("for each of the layers we have:"), Prose);
        assert_eq!(class("import the data into memory"), Prose);
        assert_eq!(class("return the value of the loss"), Prose);
        assert_eq!(class("E(a) = a * (1-p) + 0 * p = a(1-p)"), CodeWeak);
        assert_eq!(class("x == 3"), Unknown);
        assert!(!is_assignment("the value q = 5"));
        assert!(is_assignment("self.w[i, j] += 1"));
        assert!(is_assignment("x=1"));
        assert!(is_assignment("a, *b = c"));
        assert!(!is_assignment("a <= b"));
        assert!(!is_assignment("x = "));
    }

    #[test]
    fn brackets_skip_strings_and_comments() {
        assert_eq!(bracket_depth("f(a, [1,", 0), 2);
        assert_eq!(bracket_depth("  2])", 2), 0);
        assert_eq!(bracket_depth("s = '(' # (", 0), 0);
        assert_eq!(bracket_depth(")))", 1), 0);
        assert_eq!(bracket_depth(r#"x = "a\"(" + ("#, 0), 1);
    }

    #[test]
    fn paragraphs() {
        let ctx = CodeContext::default();
        let p = |s: &str| classify_paragraph(&s.lines().collect::<Vec<_>>(), &ctx);
        assert_eq!(
            p("Sequential(\n  (0): Conv2d(3, 4, kernel_size=(3, 3))\n  (1): ReLU()\n)"),
            ParagraphKind::Output
        );
        assert_eq!(
            p("cnn = nn.Sequential(\n    nn.Conv2d(3, 4, 3),\n    nn.ReLU(),\n)"),
            ParagraphKind::Code
        );
        assert_eq!(
            p("# TODO: Calculate gradients numerically for W and b\n# grad_W =...\n# grad_b =..."),
            ParagraphKind::CodeLike
        );
        assert_eq!(
            p("# TODO: compare\nloss.backward()"),
            ParagraphKind::CodeLike
        );
        assert_eq!(p("# TODO: compare\nloss = f(x)"), ParagraphKind::Code);
        assert_eq!(p("### Sequence models"), ParagraphKind::Heading);
        assert_eq!(
            p("NameError: name 'torch' is not defined"),
            ParagraphKind::Error
        );
        assert_eq!(
            p("Answer:\nTo replace the two layers we need q.\nq = p1 + p2 - p1*p2\nWith the numbers we get 0.28"),
            ParagraphKind::Prose
        );
        assert_eq!(p("Out[3]: 42"), ParagraphKind::OutMarker);
        let open = CodeContext {
            has_print: false,
            depth: 1,
        };
        assert_eq!(
            classify_paragraph(&["    the second argument,", "]"], &open),
            ParagraphKind::CodeLike
        );
    }
}
