//! Splits question code into Python tokens, so that the parser works on names, literals and
//! operators rather than characters.
//!
//! It follows Python's tokenizer where question code can meet it: implicit line joining inside
//! brackets, backslash continuations, blank and comment-only lines ignored, `INDENT`/`DEDENT`
//! from the indentation (tabs to multiples of 8, refused when ambiguous as Python does), string
//! prefixes and triple quotes, `_` in numbers. Operators that the subset refuses (`==`, `+=`,
//! `:=`, ...) are still recognised, so that the parser can refuse them by name. Every token
//! carries its 1-based line and column, the column counting characters, not bytes.
//!
//! A string's value is its text between the quotes; escapes are decoded except in raw strings
//! and f-strings, which are kept as written (f-strings are never interpolated).

use super::ast::Span;
use super::parser::{error, unsupported, ParseError, EXPRESSIONS};

/// Python's keywords (soft keywords such as `match` and `type` are names).
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Python's operators and delimiters, longest first so that the first match is the longest.
const OPERATORS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=",
    "%=", "@=", "&=", "|=", "^=", "->", ":=", "<<", ">>", "+", "-", "*", "/", "%", "@", "=", ",",
    ".", ":", ";", "(", ")", "[", "]", "{", "}", "<", ">", "&", "|", "^", "~",
];

/// String prefixes Python accepts (compared in lower case).
const STRING_PREFIXES: &[&str] = &["r", "u", "b", "br", "rb", "f", "fr", "rf", "t", "tr", "rt"];

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Name(String),
    Keyword(&'static str),
    Int(i64),
    Float(f64),
    Str(String),
    Op(&'static str),
    /// The end of a logical line.
    Newline,
    Indent,
    Dedent,
    /// The end of the source; always the last token.
    End,
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub span: Span,
}

/// The tokens of `source`, ending with [`Tok::End`]. Brackets left open at the end are not an
/// error here: the parser reports them, after any earlier syntax error.
pub(super) fn tokenize(source: &str) -> Result<Vec<Token>, ParseError> {
    let normalised = source.replace("\r\n", "\n").replace('\r', "\n");
    let mut chars: Vec<char> = normalised.chars().collect();
    if chars.first() == Some(&'\u{feff}') {
        chars.remove(0);
    }
    Lexer {
        chars,
        pos: 0,
        line: 1,
        col: 1,
        tokens: Vec::new(),
        indents: vec![(0, 0)],
        brackets: Vec::new(),
    }
    .run()
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

#[derive(Debug)]
struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    col: u32,
    tokens: Vec<Token>,
    /// Indentation levels, outermost first: (width with tabs to multiples of 8, width with
    /// tabs as 1). Both must order the lines the same way, or the indentation is ambiguous.
    indents: Vec<(u32, u32)>,
    /// Open brackets and where they are.
    brackets: Vec<(char, Span)>,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn here(&self) -> Span {
        Span {
            line: self.line,
            col: self.col,
        }
    }

    fn push(&mut self, tok: Tok, span: Span) {
        self.tokens.push(Token { tok, span });
    }

    fn run(mut self) -> Result<Vec<Token>, ParseError> {
        let mut line_start = true;
        loop {
            if line_start && self.brackets.is_empty() {
                let widths = self.skip_indentation();
                match self.peek() {
                    None => break,
                    Some('\n') => {
                        self.bump();
                        continue;
                    }
                    Some('#') => {
                        self.skip_comment();
                        continue;
                    }
                    Some(_) => {}
                }
                self.indent_to(widths)?;
                line_start = false;
            }
            let Some(c) = self.peek() else { break };
            let start = self.here();
            match c {
                ' ' | '\t' | '\x0c' => {
                    self.bump();
                }
                '\n' => {
                    self.bump();
                    if self.brackets.is_empty() {
                        self.push(Tok::Newline, start);
                        line_start = true;
                    }
                }
                '#' => self.skip_comment(),
                '\\' => self.continuation(start)?,
                '0'..='9' => self.number(start)?,
                '.' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => self.number(start)?,
                '\'' | '"' => {
                    let value = self.string(start, false, false)?;
                    self.push(Tok::Str(value), start);
                }
                c if is_ident_start(c) => self.name_or_string(start)?,
                _ => self.operator(start)?,
            }
        }
        let end = self.here();
        if self.brackets.is_empty() {
            if !matches!(
                self.tokens.last(),
                None | Some(Token {
                    tok: Tok::Newline,
                    ..
                })
            ) {
                self.push(Tok::Newline, end);
            }
            for _ in 1..self.indents.len() {
                self.push(Tok::Dedent, end);
            }
        }
        self.push(Tok::End, end);
        Ok(self.tokens)
    }

    /// Skips the leading whitespace of a line and returns its widths (see `indents`).
    fn skip_indentation(&mut self) -> (u32, u32) {
        let (mut tabs8, mut tabs1) = (0u32, 0u32);
        loop {
            match self.peek() {
                Some(' ') => {
                    tabs8 += 1;
                    tabs1 += 1;
                }
                Some('\t') => {
                    tabs8 = (tabs8 / 8 + 1) * 8;
                    tabs1 += 1;
                }
                // A form feed resets the indentation, as in Python.
                Some('\x0c') => (tabs8, tabs1) = (0, 0),
                _ => return (tabs8, tabs1),
            }
            self.bump();
        }
    }

    /// Emits the INDENT or DEDENTs that bring the indentation to `widths`.
    fn indent_to(&mut self, (tabs8, tabs1): (u32, u32)) -> Result<(), ParseError> {
        let span = self.here();
        let ambiguous = || {
            error(
                span,
                "inconsistent indentation",
                "inconsistent use of tabs and spaces in indentation",
            )
        };
        let &(top8, top1) = self.indents.last().unwrap_or(&(0, 0));
        if tabs8 > top8 {
            if tabs1 <= top1 {
                return Err(ambiguous());
            }
            self.indents.push((tabs8, tabs1));
            self.push(Tok::Indent, span);
            return Ok(());
        }
        while self.indents.len() > 1 && self.indents.last().is_some_and(|&(w, _)| tabs8 < w) {
            self.indents.pop();
            self.push(Tok::Dedent, span);
        }
        match self.indents.last() {
            Some(&(w8, w1)) if w8 == tabs8 => {
                if w1 == tabs1 {
                    Ok(())
                } else {
                    Err(ambiguous())
                }
            }
            _ => Err(error(
                span,
                "inconsistent dedent",
                "unindent does not match any outer indentation level",
            )),
        }
    }

    fn skip_comment(&mut self) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    /// A backslash, which must end its line: the next line continues this one.
    fn continuation(&mut self, start: Span) -> Result<(), ParseError> {
        self.bump();
        match self.peek() {
            Some('\n') => {
                self.bump();
                Ok(())
            }
            None => Err(error(
                start,
                "line continuation",
                "unexpected end of input after the line continuation character `\\`",
            )),
            Some(_) => Err(error(
                start,
                "line continuation",
                "unexpected character after the line continuation character `\\`",
            )),
        }
    }

    fn invalid_number(&self, start: Span, what: &str) -> ParseError {
        error(start, "invalid number", format!("invalid {what} literal"))
    }

    /// Digits of `radix`, with single `_` between digits (and, after a `0x`/`0o`/`0b`
    /// prefix, before the first digit); returns them without the underscores.
    fn digits(
        &mut self,
        start: Span,
        radix: u32,
        after_prefix: bool,
        what: &str,
    ) -> Result<String, ParseError> {
        let mut digits = String::new();
        loop {
            match self.peek() {
                Some(c) if c.is_digit(radix) => {
                    digits.push(c);
                    self.bump();
                }
                Some('_') => {
                    let follows_digit = !digits.is_empty() || after_prefix;
                    if !follows_digit || !self.peek_at(1).is_some_and(|c| c.is_digit(radix)) {
                        return Err(self.invalid_number(start, what));
                    }
                    self.bump();
                }
                _ => return Ok(digits),
            }
        }
    }

    fn number(&mut self, start: Span) -> Result<(), ParseError> {
        let radix = match (self.peek(), self.peek_at(1)) {
            (Some('0'), Some('x' | 'X')) => Some((16, "hexadecimal")),
            (Some('0'), Some('o' | 'O')) => Some((8, "octal")),
            (Some('0'), Some('b' | 'B')) => Some((2, "binary")),
            _ => None,
        };
        if let Some((radix, what)) = radix {
            self.bump();
            self.bump();
            let digits = self.digits(start, radix, true, what)?;
            if digits.is_empty() || self.peek().is_some_and(is_ident_continue) {
                return Err(self.invalid_number(start, what));
            }
            let value =
                i64::from_str_radix(&digits, radix).map_err(|_| self.integer_too_large(start))?;
            self.push(Tok::Int(value), start);
            return Ok(());
        }

        let integer = self.digits(start, 10, false, "decimal")?;
        let mut text = integer.clone();
        let mut float = false;
        if self.peek() == Some('.') {
            self.bump();
            float = true;
            text.push('.');
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                text.push_str(&self.digits(start, 10, false, "decimal")?);
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let signed = matches!(self.peek_at(1), Some('+' | '-'));
            let digit_at = if signed { 2 } else { 1 };
            if self.peek_at(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
                text.push('e');
                if signed {
                    text.extend(self.bump());
                }
                text.push_str(&self.digits(start, 10, false, "decimal")?);
                float = true;
            }
        }
        if matches!(self.peek(), Some('j' | 'J')) {
            return Err(unsupported(
                start,
                "complex number literal",
                "complex number literals (`1j`)",
                EXPRESSIONS,
            ));
        }
        if self.peek().is_some_and(is_ident_continue) {
            return Err(self.invalid_number(start, "decimal"));
        }
        if float {
            let value = text
                .parse::<f64>()
                .map_err(|_| self.invalid_number(start, "decimal"))?;
            self.push(Tok::Float(value), start);
        } else {
            if integer.len() > 1 && integer.starts_with('0') && integer.chars().any(|c| c != '0') {
                return Err(error(
                    start,
                    "invalid number",
                    "leading zeros in decimal integer literals are not permitted",
                ));
            }
            let value = integer
                .parse::<i64>()
                .map_err(|_| self.integer_too_large(start))?;
            self.push(Tok::Int(value), start);
        }
        Ok(())
    }

    fn integer_too_large(&self, start: Span) -> ParseError {
        error(
            start,
            "integer too large",
            "integer literal too large (question code integers must fit in 64 bits)",
        )
    }

    /// A name, a keyword, or the prefix of a string (`f"..."`, `rb'...'`).
    fn name_or_string(&mut self, start: Span) -> Result<(), ParseError> {
        let mut word = String::new();
        while let Some(c) = self.peek().filter(|&c| is_ident_continue(c)) {
            word.push(c);
            self.bump();
        }
        if matches!(self.peek(), Some('\'' | '"')) {
            let prefix = word.to_lowercase();
            if STRING_PREFIXES.contains(&prefix.as_str()) {
                let raw = prefix.contains('r');
                let fstring = prefix.contains('f') || prefix.contains('t');
                let value = self.string(start, raw, fstring)?;
                self.push(Tok::Str(value), start);
                return Ok(());
            }
        }
        let tok = match KEYWORDS.iter().find(|&&k| k == word) {
            Some(keyword) => Tok::Keyword(keyword),
            None => Tok::Name(word),
        };
        self.push(tok, start);
        Ok(())
    }

    /// A string literal from its opening quote; returns its value (see the module doc).
    fn string(&mut self, start: Span, raw: bool, fstring: bool) -> Result<String, ParseError> {
        let Some(quote) = self.bump() else {
            return Err(self.unterminated(start, false));
        };
        let triple = self.peek() == Some(quote) && self.peek_at(1) == Some(quote);
        if triple {
            self.bump();
            self.bump();
        }
        let mut value = String::new();
        // Depth of `{...}` replacement fields in an f-string, where quotes start nested strings.
        let mut fields = 0u32;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.unterminated(start, triple));
            };
            if c == quote && fields == 0 {
                if !triple {
                    self.bump();
                    return Ok(value);
                }
                if self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote) {
                    self.bump();
                    self.bump();
                    self.bump();
                    return Ok(value);
                }
            }
            if c == '\n' && !triple {
                return Err(self.unterminated(start, false));
            }
            if c == '\\' {
                self.bump();
                let Some(next) = self.peek() else {
                    return Err(self.unterminated(start, triple));
                };
                self.bump();
                if raw || fstring {
                    value.push('\\');
                    value.push(next);
                } else {
                    self.escape(next, &mut value);
                }
                continue;
            }
            if fstring {
                match c {
                    '{' if fields == 0 && self.peek_at(1) == Some('{') => {
                        value.push_str("{{");
                        self.bump();
                        self.bump();
                        continue;
                    }
                    '}' if fields == 0 && self.peek_at(1) == Some('}') => {
                        value.push_str("}}");
                        self.bump();
                        self.bump();
                        continue;
                    }
                    '{' => fields += 1,
                    '}' => fields = fields.saturating_sub(1),
                    '\'' | '"' if fields > 0 => {
                        // A string inside a replacement field, `f"{d["key"]}"`: kept as written.
                        let from = self.pos;
                        let nested_start = self.here();
                        self.string(nested_start, true, false)?;
                        value.extend(&self.chars[from..self.pos]);
                        continue;
                    }
                    _ => {}
                }
            }
            value.push(c);
            self.bump();
        }
    }

    fn unterminated(&self, start: Span, triple: bool) -> ParseError {
        let what = if triple {
            "triple-quoted string literal"
        } else {
            "string literal"
        };
        error(
            start,
            "unterminated string",
            format!("unterminated {what} (it starts here)"),
        )
    }

    /// Decodes the escape `\next` (the backslash and `next` are consumed) into `value`;
    /// unknown or malformed escapes are kept as written, as Python keeps unknown ones.
    fn escape(&mut self, next: char, value: &mut String) {
        let simple = match next {
            '\n' => Some(None),
            '\\' | '\'' | '"' => Some(Some(next)),
            'n' => Some(Some('\n')),
            't' => Some(Some('\t')),
            'r' => Some(Some('\r')),
            'a' => Some(Some('\x07')),
            'b' => Some(Some('\x08')),
            'f' => Some(Some('\x0c')),
            'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(decoded) = simple {
            value.extend(decoded);
            return;
        }
        let (radix, max_len) = match next {
            '0'..='7' => (8, 2),
            'x' => (16, 2),
            'u' => (16, 4),
            'U' => (16, 8),
            _ => {
                value.push('\\');
                value.push(next);
                return;
            }
        };
        let mut digits = String::new();
        if radix == 8 {
            digits.push(next);
        }
        while digits.len() < max_len + usize::from(radix == 8)
            && self.peek().is_some_and(|c| c.is_digit(radix))
        {
            digits.extend(self.bump());
        }
        let decoded = u32::from_str_radix(&digits, radix)
            .ok()
            .and_then(char::from_u32)
            .filter(|_| radix == 8 || digits.len() == max_len);
        match decoded {
            Some(c) => value.push(c),
            None => {
                value.push('\\');
                if radix == 16 {
                    value.push(next);
                }
                value.push_str(&digits);
            }
        }
    }

    fn operator(&mut self, start: Span) -> Result<(), ParseError> {
        let rest = &self.chars[self.pos..];
        let found = OPERATORS.iter().copied().find(|op| {
            op.chars().count() <= rest.len() && op.chars().zip(rest).all(|(a, &b)| a == b)
        });
        let Some(op) = found else {
            return Err(self.invalid_character(start));
        };
        for _ in 0..op.chars().count() {
            self.bump();
        }
        match op {
            "(" | "[" | "{" => self
                .brackets
                .push((op.chars().next().unwrap_or('('), start)),
            ")" | "]" | "}" => {
                let expected = match op {
                    ")" => '(',
                    "]" => '[',
                    _ => '{',
                };
                match self.brackets.pop() {
                    Some((open, _)) if open == expected => {}
                    Some((open, at)) => {
                        return Err(error(
                            start,
                            "mismatched bracket",
                            format!("closing `{op}` does not match the opening `{open}` at {at}"),
                        ))
                    }
                    None => {
                        return Err(error(
                            start,
                            "unmatched bracket",
                            format!("unmatched closing `{op}`"),
                        ))
                    }
                }
            }
            _ => {}
        }
        self.push(Tok::Op(op), start);
        Ok(())
    }

    fn invalid_character(&self, start: Span) -> ParseError {
        let c = self.peek().unwrap_or(' ');
        let code = format!("U+{:04X}", u32::from(c));
        let message = match c {
            '\u{a0}' => {
                format!("invalid character: a non-breaking space ({code}); use a plain space")
            }
            '!' => "invalid character `!` (Python's \"not equal\" is `!=`)".to_string(),
            c if c.is_control() || c.is_whitespace() || c == '`' => {
                format!("invalid character {code}")
            }
            c => format!("invalid character `{c}` ({code})"),
        };
        error(start, "invalid character", message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(source: &str) -> Vec<Tok> {
        tokenize(source)
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    fn err(source: &str) -> String {
        tokenize(source).unwrap_err().to_string()
    }

    #[test]
    fn numbers() {
        assert_eq!(
            toks("1_000 0x10 0o17 0b101 0.1 .5 1. 1e-5 2E3 1_0.5e1_0 0 00"),
            vec![
                Tok::Int(1000),
                Tok::Int(16),
                Tok::Int(15),
                Tok::Int(5),
                Tok::Float(0.1),
                Tok::Float(0.5),
                Tok::Float(1.0),
                Tok::Float(1e-5),
                Tok::Float(2000.0),
                Tok::Float(10.5e10),
                Tok::Int(0),
                Tok::Int(0),
                Tok::Newline,
                Tok::End,
            ]
        );
        assert_eq!(err("1__0"), "1:1: invalid decimal literal");
        assert_eq!(
            err("x = 012"),
            "1:5: leading zeros in decimal integer literals are not permitted"
        );
        assert_eq!(err("1abc"), "1:1: invalid decimal literal");
        assert!(err("99999999999999999999").contains("too large"));
        assert!(err("2j").contains("complex number literals"));
    }

    #[test]
    fn strings() {
        assert_eq!(
            toks(
                r#"'a\'b' "c\n" r"\d" F"{x=}" Rb'z' '''l1
l2''' """q"q""""#
            ),
            vec![
                Tok::Str("a'b".into()),
                Tok::Str("c\n".into()),
                Tok::Str("\\d".into()),
                Tok::Str("{x=}".into()),
                Tok::Str("z".into()),
                Tok::Str("l1\nl2".into()),
                Tok::Str("q\"q".into()),
                Tok::Newline,
                Tok::End,
            ]
        );
        assert_eq!(toks(r#"f"{d["k"]}""#)[0], Tok::Str(r#"{d["k"]}"#.into()));
        assert_eq!(toks(r#""\x41\101\u00e9\q""#)[0], Tok::Str("AAé\\q".into()));
        assert_eq!(
            err("x = 'abc\n"),
            "1:5: unterminated string literal (it starts here)"
        );
        assert_eq!(
            err("x = \"\"\"abc\n\n"),
            "1:5: unterminated triple-quoted string literal (it starts here)"
        );
    }

    #[test]
    fn lines_and_indentation() {
        let source = "def f(a,\n      b):  # c\n\n    # only a comment\n\treturn a + \\\n b\nx\n";
        assert_eq!(
            toks(source),
            vec![
                Tok::Keyword("def"),
                Tok::Name("f".into()),
                Tok::Op("("),
                Tok::Name("a".into()),
                Tok::Op(","),
                Tok::Name("b".into()),
                Tok::Op(")"),
                Tok::Op(":"),
                Tok::Newline,
                Tok::Indent,
                Tok::Keyword("return"),
                Tok::Name("a".into()),
                Tok::Op("+"),
                Tok::Name("b".into()),
                Tok::Newline,
                Tok::Dedent,
                Tok::Name("x".into()),
                Tok::Newline,
                Tok::End,
            ]
        );
        assert_eq!(
            toks("a\n  b")[3..],
            [Tok::Name("b".into()), Tok::Newline, Tok::Dedent, Tok::End]
        );
        assert_eq!(
            err("if x:\n    a\n  b\n"),
            "3:3: unindent does not match any outer indentation level"
        );
        assert_eq!(
            err("if x:\n        a\n\tb\n"),
            "3:2: inconsistent use of tabs and spaces in indentation"
        );
    }

    #[test]
    fn operators_and_positions() {
        let tokens = tokenize("é = a**=b//c ->d\n  (x\n)").unwrap();
        let ops: Vec<(Tok, u32, u32)> = tokens
            .into_iter()
            .map(|t| (t.tok, t.span.line, t.span.col))
            .collect();
        assert_eq!(
            ops,
            vec![
                (Tok::Name("é".into()), 1, 1),
                (Tok::Op("="), 1, 3),
                (Tok::Name("a".into()), 1, 5),
                (Tok::Op("**="), 1, 6),
                (Tok::Name("b".into()), 1, 9),
                (Tok::Op("//"), 1, 10),
                (Tok::Name("c".into()), 1, 12),
                (Tok::Op("->"), 1, 14),
                (Tok::Name("d".into()), 1, 16),
                (Tok::Newline, 1, 17),
                (Tok::Indent, 2, 3),
                (Tok::Op("("), 2, 3),
                (Tok::Name("x".into()), 2, 4),
                (Tok::Op(")"), 3, 1),
                (Tok::Newline, 3, 2),
                (Tok::Dedent, 3, 2),
                (Tok::End, 3, 2),
            ]
        );
        assert_eq!(
            err("a = (1]"),
            "1:7: closing `]` does not match the opening `(` at 1:5"
        );
        assert_eq!(err("a)"), "1:2: unmatched closing `)`");
        assert_eq!(err("a $ b"), "1:3: invalid character `$` (U+0024)");
        assert_eq!(
            err("a \\ b"),
            "1:3: unexpected character after the line continuation character `\\`"
        );
    }
}
