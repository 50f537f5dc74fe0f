//! A hand-written recursive-descent parser from the lexer's tokens to the
//! [syntax tree](super::ast) of question code, with Python's precedence and associativity.
//!
//! The subset is small on purpose (see [`ast`](super::ast)); the parser's other job is to refuse everything
//! else by name and position (`for` loops, comparisons, slices, ...) instead of misreading it,
//! and never to panic: recursion and tree height are bounded, and so is the source's size.

use super::ast::{
    Arg, BinOp, Expr, ExprKind, Method, Program, Span, Stmt, StmtKind, Target, UnaryOp,
};
use super::lexer::{tokenize, Tok, Token};

/// The largest source accepted, in bytes (1 MiB).
pub(crate) const MAX_SOURCE_BYTES: usize = 1 << 20;

/// The deepest nesting of brackets and unary or `**` operators the parser recurses into.
const MAX_NESTING: u32 = 100;

/// The highest expression tree accepted (a chain `a + b + c` is as high as it is long), so
/// that walking a tree recursively cannot overflow the stack either.
const MAX_HEIGHT: u32 = 200;

/// What statement-level refusals say is allowed.
pub(super) const STATEMENTS: &str =
    "only assignments, `def f(...): return ...`, imports and expressions are";

/// What refusals inside a class's method say is allowed.
pub(super) const METHOD_STATEMENTS: &str = "in a method, only assignments (to names or \
     `self.attr`), `for` loops, `return`, `pass` and expressions are";

/// What refusals in a class body say is allowed.
pub(super) const CLASS_BODY: &str = "a class body may only hold a docstring and methods \
     (`def __init__(self, ...)`, `def forward(self, x)`)";

/// What expression-level refusals say is allowed.
pub(super) const EXPRESSIONS: &str = "expressions may only use names, numbers, strings, \
     `True`/`False`/`None`, calls, attributes, indexing, tuples, lists and `+ - * / // % ** @`";

/// Why question code could not be read: a construct outside the subset, or a syntax error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{span}: {message}")]
pub struct ParseError {
    /// Where the offending construct or token starts.
    pub span: Span,
    /// What it is, e.g. "`for` loop", "comparison `==`", "unclosed bracket".
    pub construct: String,
    /// A sentence for the rubric author.
    pub message: String,
}

/// A [`ParseError`].
pub(super) fn error(
    span: Span,
    construct: impl Into<String>,
    message: impl Into<String>,
) -> ParseError {
    ParseError {
        span,
        construct: construct.into(),
        message: message.into(),
    }
}

/// The error for a construct outside the subset: `plural` names it in the message ("`for`
/// loops"), `allowed` ([`STATEMENTS`] or [`EXPRESSIONS`]) says what is supported instead.
pub(super) fn unsupported(
    span: Span,
    construct: impl Into<String>,
    plural: &str,
    allowed: &str,
) -> ParseError {
    error(
        span,
        construct,
        format!("{plural} are not supported in question code; {allowed}"),
    )
}

/// Parses question code into its statements.
///
/// # Errors
///
/// A [`ParseError`] for the first construct outside the subset or syntax error, and for
/// sources over 1 MiB or nested too deeply.
pub fn parse(source: &str) -> Result<Program, ParseError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(error(
            Span { line: 1, col: 1 },
            "source too large",
            format!(
                "question code is {} bytes long; at most {MAX_SOURCE_BYTES} are accepted",
                source.len()
            ),
        ));
    }
    let tokens = tokenize(source)?;
    Parser {
        tokens: &tokens,
        pos: 0,
        nesting: 0,
        open: Vec::new(),
        in_method: false,
    }
    .program()
}

/// An expression being built, with the height of its tree.
#[derive(Debug)]
struct Node {
    expr: Expr,
    height: u32,
}

/// One simple statement of a line: a statement, or a `return` (only inside a `def`).
#[derive(Debug)]
enum Item {
    Stmt(Stmt),
    Return { span: Span, value: Option<Expr> },
}

impl Item {
    fn span(&self) -> Span {
        match self {
            Item::Stmt(stmt) => stmt.span,
            Item::Return { span, .. } => *span,
        }
    }
}

#[derive(Debug)]
struct Parser<'t> {
    /// Never empty: the lexer ends it with [`Tok::End`].
    tokens: &'t [Token],
    pos: usize,
    /// Current recursion nesting (see [`MAX_NESTING`]).
    nesting: u32,
    /// Brackets opened and not yet closed, innermost last.
    open: Vec<(Span, &'static str)>,
    /// Inside a class's method: `self.attr = ...` targets are allowed.
    in_method: bool,
}

type PResult<T> = Result<T, ParseError>;

impl Parser<'_> {
    // ----- Token access -----

    fn token_at(&self, ahead: usize) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + ahead).min(last)]
    }

    fn peek(&self) -> &Tok {
        &self.token_at(0).tok
    }

    fn span(&self) -> Span {
        self.token_at(0).span
    }

    fn advance(&mut self) {
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Tok::Keyword(k) if *k == keyword)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let found = self.is_op(op);
        if found {
            self.advance();
        }
        found
    }

    fn expect_op(&mut self, op: &str, expected: &str) -> PResult<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn expect_name(&mut self, expected: &str) -> PResult<String> {
        match self.peek() {
            Tok::Name(name) => {
                let name = name.clone();
                self.advance();
                Ok(name)
            }
            _ => Err(self.unexpected(expected)),
        }
    }

    /// Consumes the opening bracket `open` (which must be next).
    fn open_bracket(&mut self, open: &'static str) {
        self.open.push((self.span(), open));
        self.advance();
    }

    /// Consumes the closing bracket `close`, or fails saying what was `expected`.
    fn close_bracket(&mut self, close: &str, expected: &str) -> PResult<()> {
        self.expect_op(close, expected)?;
        self.open.pop();
        Ok(())
    }

    /// The error for the current token, which is not what was `expected`.
    fn unexpected(&self, expected: &str) -> ParseError {
        let token = self.token_at(0);
        match &token.tok {
            Tok::End => {
                if let Some(&(at, bracket)) = self.open.last() {
                    return error(
                        at,
                        "unclosed bracket",
                        format!("this `{bracket}` is never closed"),
                    );
                }
            }
            Tok::Indent => return error(token.span, "unexpected indent", "unexpected indent"),
            _ => {}
        }
        error(
            token.span,
            "unexpected token",
            format!("expected {expected}, found {}", describe(&token.tok)),
        )
    }

    /// Enters one level of recursion.
    fn enter(&mut self) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(too_deep(self.span()));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    /// A node over children as high as `children`.
    fn node(&self, kind: ExprKind, span: Span, children: u32) -> PResult<Node> {
        let height = children + 1;
        if height > MAX_HEIGHT {
            return Err(too_deep(span));
        }
        Ok(Node {
            expr: Expr { kind, span },
            height,
        })
    }

    fn collection(
        &self,
        make: fn(Vec<Expr>) -> ExprKind,
        items: Vec<Node>,
        span: Span,
    ) -> PResult<Node> {
        let height = items.iter().map(|n| n.height).max().unwrap_or(0);
        self.node(
            make(items.into_iter().map(|n| n.expr).collect()),
            span,
            height,
        )
    }

    fn binary(&self, op: BinOp, left: Node, right: Node) -> PResult<Node> {
        let span = left.expr.span;
        let height = left.height.max(right.height);
        let kind = ExprKind::Binary {
            op,
            left: Box::new(left.expr),
            right: Box::new(right.expr),
        };
        self.node(kind, span, height)
    }

    // ----- Statements -----

    fn program(&mut self) -> PResult<Program> {
        let mut statements = Vec::new();
        loop {
            match self.peek() {
                Tok::End => break,
                Tok::Newline => self.advance(),
                Tok::Indent => return Err(self.unexpected("a statement")),
                Tok::Dedent => return Err(self.unexpected("a statement")),
                _ => {
                    for item in self.line(None)? {
                        if let Item::Stmt(stmt) = item {
                            statements.push(stmt);
                        }
                    }
                }
            }
        }
        Ok(Program { statements })
    }

    /// One logical line: a `def`, or simple statements separated by `;`. `in_def` is the name
    /// of the function whose body this line is in.
    fn line(&mut self, in_def: Option<&str>) -> PResult<Vec<Item>> {
        if self.is_keyword("class") && in_def.is_none() {
            return Ok(vec![Item::Stmt(self.class()?)]);
        }
        if self.is_keyword("def") {
            if let Some(name) = in_def {
                return Err(def_body_error(self.span(), name, "a nested `def`"));
            }
            return Ok(vec![Item::Stmt(self.def()?)]);
        }
        let mut items = Vec::new();
        loop {
            items.push(self.simple(in_def)?);
            if !self.eat_op(";") || matches!(self.peek(), Tok::Newline | Tok::End) {
                break;
            }
        }
        match self.peek() {
            Tok::Newline => self.advance(),
            Tok::End => {}
            _ => return Err(self.unexpected("`;` or the end of the line")),
        }
        Ok(items)
    }

    fn at_statement_end(&self) -> bool {
        matches!(self.peek(), Tok::Newline | Tok::End) || self.is_op(";")
    }

    /// One simple statement.
    fn simple(&mut self, in_def: Option<&str>) -> PResult<Item> {
        let span = self.span();
        match self.peek() {
            Tok::Keyword("import" | "from") => self.import().map(Item::Stmt),
            Tok::Keyword("return") => {
                if in_def.is_none() {
                    return Err(error(
                        span,
                        "`return` outside a function",
                        "`return` is only allowed in the body of a `def`",
                    ));
                }
                self.advance();
                let value = if self.at_statement_end() {
                    None
                } else {
                    let value = self.exprlist()?.expr;
                    no_bare_star(&value)?;
                    Some(value)
                };
                Ok(Item::Return { span, value })
            }
            Tok::Keyword("def") => Err(error(
                span,
                "unexpected token",
                "a `def` must start its own line",
            )),
            Tok::Keyword(keyword) => match refused_statement(keyword) {
                Some((construct, plural)) => Err(unsupported(span, construct, &plural, STATEMENTS)),
                None => self.assign_or_expr().map(Item::Stmt),
            },
            Tok::Op("@") => Err(unsupported(span, "decorator", "decorators", STATEMENTS)),
            // `match` is a name, unless a subject follows it as in `match x:`.
            Tok::Name(name)
                if name == "match"
                    && matches!(
                        self.token_at(1).tok,
                        Tok::Name(_) | Tok::Int(_) | Tok::Float(_) | Tok::Str(_)
                    ) =>
            {
                Err(unsupported(
                    span,
                    "`match` statement",
                    "`match` statements",
                    STATEMENTS,
                ))
            }
            _ => self.assign_or_expr().map(Item::Stmt),
        }
    }

    /// `import a.b as c, d` or `from .x import y as z, w` (or `*`, or a parenthesised list).
    fn import(&mut self) -> PResult<Stmt> {
        let span = self.span();
        if self.is_keyword("import") {
            self.advance();
            loop {
                self.dotted_name()?;
                if self.is_keyword("as") {
                    self.advance();
                    self.expect_name("a name after `as`")?;
                }
                if !self.eat_op(",") {
                    break;
                }
            }
        } else {
            self.advance(); // `from`
            let mut relative = false;
            while self.eat_op(".") || self.eat_op("...") {
                relative = true;
            }
            if !relative || matches!(self.peek(), Tok::Name(_)) {
                self.dotted_name()?;
            }
            if !self.is_keyword("import") {
                return Err(self.unexpected("`import`"));
            }
            self.advance();
            if !self.eat_op("*") {
                let parenthesised = self.is_op("(");
                if parenthesised {
                    self.open_bracket("(");
                }
                loop {
                    self.expect_name("a name to import")?;
                    if self.is_keyword("as") {
                        self.advance();
                        self.expect_name("a name after `as`")?;
                    }
                    if !self.eat_op(",") || (parenthesised && self.is_op(")")) {
                        break;
                    }
                }
                if parenthesised {
                    self.close_bracket(")", "`,` or `)`")?;
                }
            }
        }
        Ok(Stmt {
            kind: StmtKind::Import,
            span,
        })
    }

    fn dotted_name(&mut self) -> PResult<()> {
        self.expect_name("a module name")?;
        while self.eat_op(".") {
            self.expect_name("a module name after `.`")?;
        }
        Ok(())
    }

    /// An expression statement, or an assignment `t1 = t2 = ... = value`.
    fn assign_or_expr(&mut self) -> PResult<Stmt> {
        let span = self.span();
        let first = self.exprlist()?.expr;
        let op_span = self.span();
        match self.peek() {
            Tok::Op("=") => {
                let mut exprs = vec![first];
                while self.eat_op("=") {
                    exprs.push(self.exprlist()?.expr);
                }
                let value = exprs
                    .pop()
                    .ok_or_else(|| self.unexpected("an expression"))?;
                no_bare_star(&value)?;
                let in_method = self.in_method;
                let targets = exprs
                    .into_iter()
                    .map(|e| target(e, in_method))
                    .collect::<PResult<_>>()?;
                Ok(Stmt {
                    kind: StmtKind::Assign { targets, value },
                    span,
                })
            }
            Tok::Op(
                op @ ("+=" | "-=" | "*=" | "/=" | "//=" | "%=" | "**=" | "@=" | "&=" | "|=" | "^="
                | ">>=" | "<<="),
            ) => Err(unsupported(
                op_span,
                format!("augmented assignment `{op}`"),
                &format!("augmented assignments (`{op}`)"),
                STATEMENTS,
            )),
            Tok::Op(":") => Err(unsupported(
                op_span,
                "annotated assignment",
                "annotations (`x: int = ...`)",
                STATEMENTS,
            )),
            _ => {
                no_bare_star(&first)?;
                Ok(Stmt {
                    kind: StmtKind::Expr(first),
                    span,
                })
            }
        }
    }

    /// `def name(a, b): <docstring> return <expr>`.
    fn def(&mut self) -> PResult<Stmt> {
        let span = self.span();
        self.advance(); // `def`
        let name = self.expect_name("a function name after `def`")?;
        if !self.is_op("(") {
            return Err(self.unexpected("`(`"));
        }
        self.open_bracket("(");
        let mut params: Vec<String> = Vec::new();
        loop {
            let param_span = self.span();
            match self.peek() {
                Tok::Op(")") => break,
                Tok::Name(param) => {
                    if params.contains(param) {
                        return Err(error(
                            param_span,
                            "duplicate parameter",
                            format!("duplicate parameter `{param}` in `def {name}`"),
                        ));
                    }
                    params.push(param.clone());
                    self.advance();
                    let refused = if self.is_op("=") {
                        Some(("default parameter value", "default parameter values"))
                    } else if self.is_op(":") {
                        Some(("parameter annotation", "parameter annotations"))
                    } else {
                        None
                    };
                    if let Some((construct, plural)) = refused {
                        return Err(unsupported(self.span(), construct, plural, STATEMENTS));
                    }
                }
                Tok::Op("*" | "**") => {
                    return Err(unsupported(
                        param_span,
                        "`*args`/`**kwargs` parameter",
                        "`*args` and `**kwargs` parameters",
                        STATEMENTS,
                    ))
                }
                Tok::Op("/") => {
                    return Err(unsupported(
                        param_span,
                        "positional-only marker `/`",
                        "positional-only markers (`/`)",
                        STATEMENTS,
                    ))
                }
                _ => return Err(self.unexpected("a parameter name or `)`")),
            }
            if !self.eat_op(",") {
                break;
            }
        }
        self.close_bracket(")", "`,` or `)`")?;
        if self.is_op("->") {
            return Err(unsupported(
                self.span(),
                "return annotation",
                "return annotations (`-> T`)",
                STATEMENTS,
            ));
        }
        self.expect_op(":", "`:` after the parameters")?;
        let body = self.def_body(span, &name)?;
        Ok(Stmt {
            kind: StmtKind::Def { name, params, body },
            span,
        })
    }

    /// The body of `def name`: an indented block or the rest of the line, which must be an
    /// optional docstring then a single `return <expr>`; returns that expression.
    fn def_body(&mut self, def_span: Span, name: &str) -> PResult<Expr> {
        let items = if matches!(self.peek(), Tok::Newline) {
            self.advance();
            self.open_block("`def` body", || {
                format!("expected an indented block after `def {name}(...):`")
            })?;
            self.block_items(|p| p.line(Some(name)))?
        } else {
            self.line(Some(name))?
        };

        let mut items = items.into_iter().peekable();
        let docstring = matches!(
            items.peek(),
            Some(Item::Stmt(Stmt {
                kind: StmtKind::Expr(Expr {
                    kind: ExprKind::Str(_),
                    ..
                }),
                ..
            }))
        );
        if docstring {
            items.next();
        }
        let body = match items.next() {
            Some(Item::Return {
                value: Some(value), ..
            }) => value,
            Some(Item::Return { span, value: None }) => {
                return Err(def_body_error(span, name, "a `return` without a value"))
            }
            Some(Item::Stmt(stmt)) => {
                let found = match &stmt.kind {
                    StmtKind::Assign { .. } => "an assignment",
                    StmtKind::Expr(_) => "an expression statement",
                    StmtKind::Import => "an import",
                    StmtKind::Def { .. } => "a nested `def`",
                    StmtKind::Class { .. } => "a `class`",
                    StmtKind::Return(_) => "a `return`",
                    StmtKind::For { .. } => "a `for` loop",
                    StmtKind::Pass => "`pass`",
                };
                return Err(def_body_error(stmt.span, name, found));
            }
            None => return Err(def_body_error(def_span, name, "only a docstring")),
        };
        if let Some(extra) = items.next() {
            return Err(def_body_error(
                extra.span(),
                name,
                "a statement after the `return`",
            ));
        }
        Ok(body)
    }

    // ----- Classes -----

    /// `class Name(nn.Module):` then an indented block of a docstring and methods.
    fn class(&mut self) -> PResult<Stmt> {
        let span = self.span();
        self.advance(); // `class`
        let name = self.expect_name("a class name after `class`")?;
        let refused = |span| {
            unsupported(
                span,
                "`class` definition",
                "`class` definitions other than `class Name(nn.Module)`",
                STATEMENTS,
            )
        };
        if !self.is_op("(") {
            return Err(refused(span));
        }
        self.open_bracket("(");
        let base = self.expr()?.expr;
        self.close_bracket(")", "`)` after the base class")?;
        if !is_nn_module(&base) {
            return Err(refused(base.span));
        }
        self.expect_op(":", "`:` after the class name")?;
        if !matches!(self.peek(), Tok::Newline) {
            return Err(error(
                self.span(),
                "class body",
                format!("expected an indented block after `class {name}(...):`"),
            ));
        }
        self.advance();
        self.open_block("class body", || {
            format!("expected an indented block after `class {name}(...):`")
        })?;
        let mut methods: Vec<Method> = Vec::new();
        let mut first = true;
        loop {
            match self.peek() {
                Tok::Dedent => {
                    self.advance();
                    break;
                }
                Tok::End => break,
                Tok::Newline => self.advance(),
                Tok::Str(_) if first => {
                    // The docstring.
                    self.atom()?;
                    match self.peek() {
                        Tok::Newline => self.advance(),
                        Tok::End | Tok::Dedent => {}
                        _ => return Err(self.unexpected("the end of the line")),
                    }
                }
                Tok::Keyword("def") => {
                    let method = self.method()?;
                    if methods.iter().any(|m| m.name == method.name) {
                        return Err(error(
                            method.span,
                            "duplicate method",
                            format!("`{name}` defines `{}` twice", method.name),
                        ));
                    }
                    methods.push(method);
                }
                Tok::Keyword("pass") if methods.is_empty() => {
                    return Err(unsupported(
                        self.span(),
                        "`pass` statement",
                        "empty classes (`pass`)",
                        CLASS_BODY,
                    ))
                }
                _ => {
                    return Err(unsupported(
                        self.span(),
                        "class attribute",
                        "class attributes and statements outside methods",
                        CLASS_BODY,
                    ))
                }
            }
            first = false;
        }
        Ok(Stmt {
            kind: StmtKind::Class { name, methods },
            span,
        })
    }

    /// `def name(self, a, b=default):` and its body.
    fn method(&mut self) -> PResult<Method> {
        let span = self.span();
        self.advance(); // `def`
        let name = self.expect_name("a method name after `def`")?;
        if !self.is_op("(") {
            return Err(self.unexpected("`(`"));
        }
        self.open_bracket("(");
        let mut params: Vec<(String, Option<Expr>)> = Vec::new();
        loop {
            let param_span = self.span();
            match self.peek() {
                Tok::Op(")") => break,
                Tok::Name(param) => {
                    let param = param.clone();
                    if params.iter().any(|(p, _)| *p == param) {
                        return Err(error(
                            param_span,
                            "duplicate parameter",
                            format!("duplicate parameter `{param}` in `def {name}`"),
                        ));
                    }
                    self.advance();
                    if self.is_op(":") {
                        return Err(unsupported(
                            self.span(),
                            "parameter annotation",
                            "parameter annotations",
                            METHOD_STATEMENTS,
                        ));
                    }
                    let default = if self.eat_op("=") {
                        Some(self.expr()?.expr)
                    } else {
                        if params.iter().any(|(_, d)| d.is_some()) {
                            return Err(error(
                                param_span,
                                "parameter without default",
                                "a parameter without a default follows one with a default",
                            ));
                        }
                        None
                    };
                    params.push((param, default));
                }
                Tok::Op("*" | "**") => {
                    return Err(unsupported(
                        param_span,
                        "`*args`/`**kwargs` parameter",
                        "`*args` and `**kwargs` parameters",
                        METHOD_STATEMENTS,
                    ))
                }
                _ => return Err(self.unexpected("a parameter name or `)`")),
            }
            if !self.eat_op(",") {
                break;
            }
        }
        self.close_bracket(")", "`,` or `)`")?;
        if params.is_empty() {
            return Err(error(
                span,
                "method without `self`",
                format!("method `{name}` needs `self` as its first parameter"),
            ));
        }
        if self.is_op("->") {
            return Err(unsupported(
                self.span(),
                "return annotation",
                "return annotations (`-> T`)",
                METHOD_STATEMENTS,
            ));
        }
        self.expect_op(":", "`:` after the parameters")?;
        let was = std::mem::replace(&mut self.in_method, true);
        let body = self.block(&name);
        self.in_method = was;
        Ok(Method {
            name,
            params,
            body: body?,
            span,
        })
    }

    /// The body of a method or `for` loop: an indented block, or the rest of the line.
    fn block(&mut self, name: &str) -> PResult<Vec<Stmt>> {
        self.enter()?;
        let result = self.block_inner(name);
        self.leave();
        result
    }

    fn block_inner(&mut self, name: &str) -> PResult<Vec<Stmt>> {
        if !matches!(self.peek(), Tok::Newline) {
            return self.method_line(name);
        }
        self.advance();
        self.open_block("block", || {
            format!("expected an indented block in `{name}`")
        })?;
        self.block_items(|p| p.method_line(name))
    }

    /// Steps over the `Indent` that opens a block, else fails as `what` with `message`.
    fn open_block(&mut self, what: &str, message: impl FnOnce() -> String) -> PResult<()> {
        if !matches!(self.peek(), Tok::Indent) {
            return Err(error(self.span(), what, message()));
        }
        self.advance();
        Ok(())
    }

    /// What `item` reads from each line of a block, from after its `Indent` through its
    /// `Dedent` (or the end of the text); blank lines are skipped.
    fn block_items<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> PResult<Vec<T>>,
    ) -> PResult<Vec<T>> {
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Tok::Dedent => {
                    self.advance();
                    break;
                }
                Tok::End => break,
                Tok::Newline => self.advance(),
                Tok::Indent => return Err(self.unexpected("a statement")),
                _ => items.extend(item(self)?),
            }
        }
        Ok(items)
    }

    /// One line of a method body: a `for` loop, or simple statements separated by `;`.
    fn method_line(&mut self, name: &str) -> PResult<Vec<Stmt>> {
        let span = self.span();
        if self.is_keyword("for") {
            self.advance();
            let target = self.for_target()?;
            if !self.is_keyword("in") {
                return Err(self.unexpected("`in`"));
            }
            self.advance();
            let iter = self.expr()?.expr;
            self.expect_op(":", "`:` after the `for` header")?;
            let body = self.block(name)?;
            return Ok(vec![Stmt {
                kind: StmtKind::For { target, iter, body },
                span,
            }]);
        }
        let mut stmts = Vec::new();
        loop {
            let span = self.span();
            match self.peek() {
                Tok::Keyword("pass") => {
                    self.advance();
                    stmts.push(Stmt {
                        kind: StmtKind::Pass,
                        span,
                    });
                }
                Tok::Keyword("def" | "class") => {
                    return Err(unsupported(
                        span,
                        "nested definition",
                        "definitions inside a method",
                        METHOD_STATEMENTS,
                    ))
                }
                Tok::Keyword(
                    keyword @ ("while" | "if" | "elif" | "else" | "with" | "try" | "except"
                    | "finally" | "async" | "break" | "continue" | "raise" | "del"
                    | "assert" | "global" | "nonlocal"),
                ) => {
                    let (construct, plural) = refused_statement(keyword).unwrap_or_default();
                    return Err(unsupported(span, construct, &plural, METHOD_STATEMENTS));
                }
                _ => match self.simple(Some(name))? {
                    Item::Stmt(stmt) => stmts.push(stmt),
                    Item::Return { span, value } => stmts.push(Stmt {
                        kind: StmtKind::Return(value),
                        span,
                    }),
                },
            }
            if !self.eat_op(";") || matches!(self.peek(), Tok::Newline | Tok::End) {
                break;
            }
        }
        match self.peek() {
            Tok::Newline => self.advance(),
            Tok::End | Tok::Dedent => {}
            _ => return Err(self.unexpected("`;` or the end of the line")),
        }
        Ok(stmts)
    }

    /// The target of a `for`: a name or names separated by commas.
    fn for_target(&mut self) -> PResult<Target> {
        let span = self.span();
        let first = self.expect_name("a loop variable after `for`")?;
        if !self.is_op(",") {
            return Ok(Target::Name(first, span));
        }
        let mut names = vec![Target::Name(first, span)];
        while self.eat_op(",") {
            let s = self.span();
            names.push(Target::Name(self.expect_name("a loop variable")?, s));
        }
        Ok(Target::Tuple(names, span))
    }

    // ----- Expressions -----

    /// Whether the current token can start an expression (to tell a trailing comma).
    fn starts_expr(&self) -> bool {
        match self.peek() {
            Tok::Name(_) | Tok::Int(_) | Tok::Float(_) | Tok::Str(_) => true,
            Tok::Keyword(k) => matches!(
                *k,
                "True" | "False" | "None" | "lambda" | "not" | "await" | "yield"
            ),
            Tok::Op(op) => matches!(*op, "(" | "[" | "{" | "-" | "+" | "~" | "*" | "..."),
            _ => false,
        }
    }

    /// `a` or the bare tuple `a, *b,` (assignment sides, `return`, expression statements).
    fn exprlist(&mut self) -> PResult<Node> {
        let first = self.star_or_expr()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let span = first.expr.span;
        let mut items = vec![first];
        while self.eat_op(",") {
            if !self.starts_expr() {
                break;
            }
            items.push(self.star_or_expr()?);
        }
        self.collection(ExprKind::Tuple, items, span)
    }

    /// An expression, or `*expr` where lists, tuples and calls allow it.
    fn star_or_expr(&mut self) -> PResult<Node> {
        if !self.is_op("*") {
            return self.expr();
        }
        let span = self.span();
        self.advance();
        let inner = self.expr()?;
        self.node(ExprKind::Starred(Box::new(inner.expr)), span, inner.height)
    }

    /// An expression; operators of lower precedence than `+` that follow it are refused.
    fn expr(&mut self) -> PResult<Node> {
        self.enter()?;
        let node = self.arith();
        self.leave();
        let node = node?;
        self.refuse_lower_precedence()?;
        Ok(node)
    }

    fn refuse_lower_precedence(&self) -> PResult<()> {
        let span = self.span();
        let next_is_keyword = |k: &str| matches!(self.token_at(1).tok, Tok::Keyword(n) if n == k);
        let (construct, plural) = match self.peek() {
            Tok::Op(op @ ("==" | "!=" | "<" | ">" | "<=" | ">=")) => (
                format!("comparison `{op}`"),
                format!("comparisons (`{op}`)"),
            ),
            Tok::Op(op @ ("|" | "&" | "^" | "<<" | ">>")) => (
                format!("bitwise operator `{op}`"),
                format!("bitwise operators (`{op}`)"),
            ),
            Tok::Op(":=") => (
                "assignment expression `:=`".to_string(),
                "assignment expressions (`:=`)".to_string(),
            ),
            Tok::Keyword(op @ ("and" | "or")) => (
                format!("boolean operator `{op}`"),
                format!("boolean operators (`{op}`)"),
            ),
            Tok::Keyword("not") if next_is_keyword("in") => (
                "membership test `not in`".to_string(),
                "membership tests (`not in`)".to_string(),
            ),
            Tok::Keyword("in") => (
                "membership test `in`".to_string(),
                "membership tests (`in`)".to_string(),
            ),
            Tok::Keyword("is") => (
                "identity test `is`".to_string(),
                "identity tests (`is`)".to_string(),
            ),
            Tok::Keyword("if") => (
                "conditional expression".to_string(),
                "conditional expressions (`a if c else b`)".to_string(),
            ),
            _ => return Ok(()),
        };
        Err(unsupported(span, construct, &plural, EXPRESSIONS))
    }

    /// `a + b - c`
    fn arith(&mut self) -> PResult<Node> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => BinOp::Add,
                Tok::Op("-") => BinOp::Sub,
                _ => return Ok(left),
            };
            self.advance();
            let right = self.term()?;
            left = self.binary(op, left, right)?;
        }
    }

    /// `a * b / c // d % e @ f`
    fn term(&mut self) -> PResult<Node> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Op("*") => BinOp::Mul,
                Tok::Op("/") => BinOp::Div,
                Tok::Op("//") => BinOp::FloorDiv,
                Tok::Op("%") => BinOp::Mod,
                Tok::Op("@") => BinOp::MatMul,
                _ => return Ok(left),
            };
            self.advance();
            let right = self.unary()?;
            left = self.binary(op, left, right)?;
        }
    }

    /// `-a`, `+a`
    fn unary(&mut self) -> PResult<Node> {
        let span = self.span();
        let op = match self.peek() {
            Tok::Op("-") => UnaryOp::Neg,
            Tok::Op("+") => UnaryOp::Pos,
            Tok::Op("~") => {
                return Err(unsupported(
                    span,
                    "bitwise operator `~`",
                    "bitwise operators (`~`)",
                    EXPRESSIONS,
                ))
            }
            Tok::Keyword("not") => {
                return Err(unsupported(
                    span,
                    "boolean operator `not`",
                    "boolean operators (`not`)",
                    EXPRESSIONS,
                ))
            }
            Tok::Keyword("await") => {
                return Err(unsupported(
                    span,
                    "`await` expression",
                    "`await` expressions",
                    EXPRESSIONS,
                ))
            }
            _ => return self.power(),
        };
        self.advance();
        self.enter()?;
        let operand = self.unary();
        self.leave();
        let operand = operand?;
        let height = operand.height;
        let kind = ExprKind::Unary {
            op,
            operand: Box::new(operand.expr),
        };
        self.node(kind, span, height)
    }

    /// `a ** b`: right-associative, and tighter than a unary operator on its left.
    fn power(&mut self) -> PResult<Node> {
        let base = self.primary()?;
        if !self.eat_op("**") {
            return Ok(base);
        }
        self.enter()?;
        let exponent = self.unary();
        self.leave();
        self.binary(BinOp::Pow, base, exponent?)
    }

    /// An atom followed by attributes, calls and subscripts.
    fn primary(&mut self) -> PResult<Node> {
        let mut node = self.atom()?;
        loop {
            match self.peek() {
                Tok::Op(".") => {
                    self.advance();
                    let attr = self.expect_name("an attribute name after `.`")?;
                    let span = node.expr.span;
                    let kind = ExprKind::Attribute {
                        value: Box::new(node.expr),
                        attr,
                    };
                    node = self.node(kind, span, node.height)?;
                }
                Tok::Op("(") => node = self.call(node)?,
                Tok::Op("[") => node = self.subscript(node)?,
                _ => return Ok(node),
            }
        }
    }

    /// `func(a, *b, c=d,)`
    fn call(&mut self, func: Node) -> PResult<Node> {
        self.open_bracket("(");
        let mut args = Vec::new();
        let mut keywords: Vec<String> = Vec::new();
        let mut height = func.height;
        loop {
            let span = self.span();
            let (arg, arg_height) = match (self.peek(), &self.token_at(1).tok) {
                (Tok::Op(")"), _) => break,
                (Tok::Op("*"), _) => {
                    self.advance();
                    let value = self.expr()?;
                    (Arg::Star(value.expr), value.height)
                }
                (Tok::Op("**"), _) => {
                    return Err(unsupported(
                        span,
                        "keyword argument unpacking `**`",
                        "`**` arguments (`f(**kwargs)`)",
                        EXPRESSIONS,
                    ))
                }
                (Tok::Name(name), Tok::Op("=")) => {
                    let name = name.clone();
                    if keywords.contains(&name) {
                        return Err(error(
                            span,
                            "repeated keyword argument",
                            format!("keyword argument `{name}` repeated"),
                        ));
                    }
                    self.advance();
                    self.advance();
                    let value = self.expr()?;
                    keywords.push(name.clone());
                    (Arg::Keyword(name, value.expr), value.height)
                }
                _ => {
                    let value = self.expr()?;
                    if self.is_keyword("for") || self.is_keyword("async") {
                        return Err(unsupported(
                            span,
                            "generator expression",
                            "generator expressions",
                            EXPRESSIONS,
                        ));
                    }
                    if !keywords.is_empty() {
                        return Err(error(
                            span,
                            "positional argument after keyword argument",
                            "positional argument follows keyword argument",
                        ));
                    }
                    (Arg::Positional(value.expr), value.height)
                }
            };
            args.push(arg);
            height = height.max(arg_height);
            if !self.eat_op(",") {
                break;
            }
        }
        self.close_bracket(")", "`,` or `)`")?;
        let span = func.expr.span;
        let kind = ExprKind::Call {
            func: Box::new(func.expr),
            args,
        };
        self.node(kind, span, height)
    }

    /// `value[index]`, `value[i, j]` (a tuple index); slices are refused.
    fn subscript(&mut self, value: Node) -> PResult<Node> {
        self.open_bracket("[");
        let slice = |span| {
            unsupported(
                span,
                "slice",
                "slices (`a[i:j]`)",
                "index with a single expression or a tuple of them",
            )
        };
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            if self.is_op(":") {
                return Err(slice(self.span()));
            }
            if self.is_op("]") && !items.is_empty() {
                break;
            }
            items.push(self.star_or_expr()?);
            if self.is_op(":") {
                return Err(slice(self.span()));
            }
            trailing_comma = self.eat_op(",");
            if !trailing_comma {
                break;
            }
        }
        self.close_bracket("]", "`,` or `]`")?;
        let index = if items.len() == 1 && !trailing_comma {
            items.pop().ok_or_else(|| self.unexpected("an index"))?
        } else {
            let span = items.first().map_or(value.expr.span, |n| n.expr.span);
            self.collection(ExprKind::Tuple, items, span)?
        };
        let span = value.expr.span;
        let height = value.height.max(index.height);
        let kind = ExprKind::Subscript {
            value: Box::new(value.expr),
            index: Box::new(index.expr),
        };
        self.node(kind, span, height)
    }

    fn atom(&mut self) -> PResult<Node> {
        let span = self.span();
        let kind = match self.peek() {
            Tok::Name(name) => ExprKind::Name(name.clone()),
            Tok::Int(value) => ExprKind::Int(*value),
            Tok::Float(value) => ExprKind::Float(*value),
            Tok::Str(_) => {
                // Adjacent literals are one string, as in Python.
                let mut text = String::new();
                while let Tok::Str(part) = self.peek() {
                    text.push_str(part);
                    self.advance();
                }
                return self.node(ExprKind::Str(text), span, 0);
            }
            Tok::Keyword("True") => ExprKind::Bool(true),
            Tok::Keyword("False") => ExprKind::Bool(false),
            Tok::Keyword("None") => ExprKind::None,
            Tok::Op("(") => return self.parenthesised(),
            Tok::Op("[") => return self.list(),
            Tok::Op("{") => return Err(self.brace()),
            Tok::Keyword("lambda") => {
                return Err(unsupported(
                    span,
                    "`lambda`",
                    "`lambda` expressions",
                    EXPRESSIONS,
                ))
            }
            Tok::Keyword("yield") => {
                return Err(unsupported(
                    span,
                    "`yield` expression",
                    "`yield` expressions",
                    EXPRESSIONS,
                ))
            }
            Tok::Op("...") => {
                return Err(unsupported(
                    span,
                    "Ellipsis `...`",
                    "Ellipsis literals (`...`)",
                    EXPRESSIONS,
                ))
            }
            _ => return Err(self.unexpected("an expression")),
        };
        self.advance();
        self.node(kind, span, 0)
    }

    /// `(expr)`, `()`, `(a,)`, `(a, *b)`.
    fn parenthesised(&mut self) -> PResult<Node> {
        let span = self.span();
        self.open_bracket("(");
        if self.is_op(")") {
            self.close_bracket(")", "`)`")?;
            return self.node(ExprKind::Tuple(Vec::new()), span, 0);
        }
        let first = self.star_or_expr()?;
        if self.is_keyword("for") || self.is_keyword("async") {
            return Err(unsupported(
                span,
                "generator expression",
                "generator expressions",
                EXPRESSIONS,
            ));
        }
        if self.is_op(")") {
            self.close_bracket(")", "`)`")?;
            no_bare_star(&first.expr)?;
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.is_op(")") {
                break;
            }
            items.push(self.star_or_expr()?);
        }
        self.close_bracket(")", "`,` or `)`")?;
        self.collection(ExprKind::Tuple, items, span)
    }

    /// `[a, *b, c,]`
    fn list(&mut self) -> PResult<Node> {
        let span = self.span();
        self.open_bracket("[");
        let mut items = Vec::new();
        loop {
            if self.is_op("]") {
                break;
            }
            let item = self.star_or_expr()?;
            if items.is_empty() && (self.is_keyword("for") || self.is_keyword("async")) {
                return Err(unsupported(
                    span,
                    "list comprehension",
                    "list comprehensions",
                    EXPRESSIONS,
                ));
            }
            items.push(item);
            if !self.eat_op(",") {
                break;
            }
        }
        self.close_bracket("]", "`,` or `]`")?;
        self.collection(ExprKind::List, items, span)
    }

    /// The refusal of `{...}`, named after a look at its contents (brackets are balanced).
    fn brace(&self) -> ParseError {
        let span = self.span();
        let mut depth = 0u32;
        let mut first_item = true;
        let mut dict = matches!(self.token_at(1).tok, Tok::Op("}"));
        let mut comprehension = false;
        for token in self.tokens.iter().skip(self.pos + 1) {
            match token.tok {
                Tok::Op("(" | "[" | "{") => depth += 1,
                Tok::Op(")" | "]" | "}") if depth == 0 => break,
                Tok::Op(")" | "]" | "}") => depth -= 1,
                Tok::Op(":" | "**") if depth == 0 && first_item => dict = true,
                Tok::Op(",") if depth == 0 => first_item = false,
                Tok::Keyword("for") if depth == 0 => comprehension = true,
                Tok::End => break,
                _ => {}
            }
        }
        let (construct, plural) = match (dict, comprehension) {
            (true, false) => ("dict literal", "dict literals"),
            (true, true) => ("dict comprehension", "dict comprehensions"),
            (false, false) => ("set literal", "set literals"),
            (false, true) => ("set comprehension", "set comprehensions"),
        };
        unsupported(span, construct, plural, EXPRESSIONS)
    }
}

/// How an error message names a token.
fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Name(name) => format!("name `{name}`"),
        Tok::Keyword(keyword) => format!("keyword `{keyword}`"),
        Tok::Int(value) => format!("number `{value}`"),
        Tok::Float(_) => "a number".to_string(),
        Tok::Str(_) => "a string".to_string(),
        Tok::Op(op) => format!("`{op}`"),
        Tok::Newline => "the end of the line".to_string(),
        Tok::Indent => "an indent".to_string(),
        Tok::Dedent => "the end of the indented block".to_string(),
        Tok::End => "the end of the code".to_string(),
    }
}

fn too_deep(span: Span) -> ParseError {
    error(
        span,
        "nesting depth",
        format!(
            "expression nested too deeply (at most {MAX_NESTING} levels of brackets and \
             {MAX_HEIGHT} chained operations)"
        ),
    )
}

fn def_body_error(span: Span, name: &str, found: &str) -> ParseError {
    error(
        span,
        "`def` body",
        format!(
            "the body of `def {name}` must be a single `return <expression>`, optionally after \
             a docstring; found {found}"
        ),
    )
}

/// The construct a statement keyword starts, and its plural, when the subset refuses it.
fn refused_statement(keyword: &str) -> Option<(String, String)> {
    let named = |construct: &str, plural: &str| Some((construct.to_string(), plural.to_string()));
    match keyword {
        "for" => named("`for` loop", "`for` loops"),
        "while" => named("`while` loop", "`while` loops"),
        "if" => named("`if` statement", "`if` statements"),
        "elif" | "else" => named("`else` clause", "`else` clauses"),
        "with" => named("`with` block", "`with` blocks"),
        "class" => named("`class` definition", "`class` definitions"),
        "try" | "except" | "finally" => named("`try` statement", "`try` statements"),
        "async" => named("`async` statement", "`async` statements"),
        "pass" | "break" | "continue" | "raise" | "del" | "assert" | "global" | "nonlocal" => {
            Some((
                format!("`{keyword}` statement"),
                format!("`{keyword}` statements"),
            ))
        }
        _ => None,
    }
}

/// Whether a base class is `nn.Module` (or `torch.nn.Module`, or `Module` imported bare).
fn is_nn_module(base: &Expr) -> bool {
    match &base.kind {
        ExprKind::Name(n) => n == "Module",
        ExprKind::Attribute { value, attr } => {
            attr == "Module"
                && match &value.kind {
                    ExprKind::Name(n) => n == "nn",
                    ExprKind::Attribute { value, attr } => {
                        attr == "nn" && matches!(&value.kind, ExprKind::Name(t) if t == "torch")
                    }
                    _ => false,
                }
        }
        _ => false,
    }
}

/// Refuses `*x` standing alone where Python does (outside a list, a tuple or a call).
fn no_bare_star(expr: &Expr) -> PResult<()> {
    if matches!(expr.kind, ExprKind::Starred(_)) {
        return Err(error(
            expr.span,
            "starred expression",
            "a starred expression `*x` can only appear inside a list, a tuple or a call",
        ));
    }
    Ok(())
}

/// The assignment target an expression on the left of `=` stands for.
fn target(expr: Expr, in_method: bool) -> PResult<Target> {
    let span = expr.span;
    let refuse =
        |construct: &str, plural: &str| Err(unsupported(span, construct, plural, STATEMENTS));
    let cannot = |what: &str| {
        Err(error(
            span,
            "assignment target",
            format!("cannot assign to {what}"),
        ))
    };
    match expr.kind {
        ExprKind::Name(name) => Ok(Target::Name(name, span)),
        ExprKind::Tuple(items) | ExprKind::List(items) => Ok(Target::Tuple(
            items
                .into_iter()
                .map(|e| target(e, in_method))
                .collect::<PResult<_>>()?,
            span,
        )),
        ExprKind::Attribute { value, attr } if in_method => Ok(Target::Attr(value, attr, span)),
        ExprKind::Starred(_) => refuse(
            "starred assignment target",
            "starred assignment targets (`a, *b = ...`)",
        ),
        ExprKind::Attribute { .. } => refuse(
            "attribute assignment",
            "assignments to attributes (`a.b = ...`)",
        ),
        ExprKind::Subscript { .. } => refuse(
            "subscript assignment",
            "assignments to subscripts (`a[i] = ...`)",
        ),
        ExprKind::Bool(true) => cannot("`True`"),
        ExprKind::Bool(false) => cannot("`False`"),
        ExprKind::None => cannot("`None`"),
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) => cannot("a literal"),
        ExprKind::Call { .. } => cannot("a function call"),
        ExprKind::Unary { .. } | ExprKind::Binary { .. } => cannot("an expression"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact rendering of an expression: `(op left right)`, `f(args)`, `[items]`.
    fn show(expr: &Expr) -> String {
        let list = |items: &[Expr]| items.iter().map(show).collect::<Vec<_>>().join(", ");
        match &expr.kind {
            ExprKind::Int(v) => v.to_string(),
            ExprKind::Float(v) => format!("{v:?}"),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            ExprKind::None => "None".to_string(),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Attribute { value, attr } => format!("{}.{attr}", show(value)),
            ExprKind::Call { func, args } => {
                let args: Vec<String> = args
                    .iter()
                    .map(|arg| match arg {
                        Arg::Positional(e) => show(e),
                        Arg::Keyword(k, e) => format!("{k}={}", show(e)),
                        Arg::Star(e) => format!("*{}", show(e)),
                    })
                    .collect();
                format!("{}({})", show(func), args.join(", "))
            }
            ExprKind::Tuple(items) => format!("(tuple {})", list(items)),
            ExprKind::List(items) => format!("[{}]", list(items)),
            ExprKind::Starred(inner) => format!("*{}", show(inner)),
            ExprKind::Unary { op, operand } => {
                let op = if *op == UnaryOp::Neg { "neg" } else { "pos" };
                format!("({op} {})", show(operand))
            }
            ExprKind::Binary { op, left, right } => {
                format!("({} {} {})", op.symbol(), show(left), show(right))
            }
            ExprKind::Subscript { value, index } => format!("{}[{}]", show(value), show(index)),
        }
    }

    fn show_target(target: &Target) -> String {
        match target {
            Target::Name(name, _) => name.clone(),
            Target::Tuple(items, _) => {
                let items: Vec<String> = items.iter().map(show_target).collect();
                format!("(tuple {})", items.join(", "))
            }
            Target::Attr(value, attr, _) => format!("{}.{attr}", show(value)),
        }
    }

    fn show_stmt(stmt: &Stmt) -> String {
        match &stmt.kind {
            StmtKind::Assign { targets, value } => {
                let targets: Vec<String> = targets.iter().map(show_target).collect();
                format!("{} = {}", targets.join(" = "), show(value))
            }
            StmtKind::Expr(e) => show(e),
            StmtKind::Def { name, params, body } => {
                format!("def {name}({}): {}", params.join(", "), show(body))
            }
            StmtKind::Import => "import".to_string(),
            StmtKind::Class { name, methods } => {
                let methods: Vec<String> = methods
                    .iter()
                    .map(|m| {
                        let body: Vec<String> = m.body.iter().map(show_stmt).collect();
                        format!("{}: {}", m.name, body.join("; "))
                    })
                    .collect();
                format!("class {name} {{{}}}", methods.join(" | "))
            }
            StmtKind::Return(v) => format!("return {}", v.as_ref().map_or(String::new(), show)),
            StmtKind::For { target, iter, body } => {
                let body: Vec<String> = body.iter().map(show_stmt).collect();
                format!(
                    "for {} in {}: {}",
                    show_target(target),
                    show(iter),
                    body.join("; ")
                )
            }
            StmtKind::Pass => "pass".to_string(),
        }
    }

    /// Each statement of `source`, rendered.
    fn stmts(source: &str) -> Vec<String> {
        match parse(source) {
            Ok(program) => program.statements.iter().map(show_stmt).collect(),
            Err(e) => panic!("{source:?} failed to parse: {e}"),
        }
    }

    /// The single expression statement `source`, rendered.
    fn expr(source: &str) -> String {
        let all = stmts(source);
        assert_eq!(all.len(), 1, "{source:?}");
        all[0].clone()
    }

    fn err(source: &str) -> ParseError {
        match parse(source) {
            Ok(program) => panic!("{source:?} parsed: {program:?}"),
            Err(e) => e,
        }
    }

    const EXAMPLE: &str = r#"import torch
import torch.nn as nn

cnn = nn.Sequential(
    nn.Conv2d(in_channels=3, out_channels=4, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(in_channels=16, out_channels=32, kernel_size=(7, 5), dilation=2, padding=3),  # comment
)
cnn(torch.rand(size=(1, 3, 1024, 1024), dtype=torch.float32)).shape

N = 42  # number of known global pirate hot spots
H = 128
mlpirate = nn.Sequential(
    nn.Linear(in_features=N, out_features=H),
    nn.Sigmoid(),
    *[
        nn.Linear(in_features=H, out_features=H), nn.Sigmoid(),
    ]*24,
    nn.Linear(in_features=H, out_features=1),
)
p1, p2 = 0.1, 0.2
N, d = 100, 5
dtype = torch.float64
X = torch.rand(N, d, dtype=dtype)
W, b = torch.rand(d, d, requires_grad=True, dtype=dtype), torch.rand(d, requires_grad=True, dtype=dtype)

def foo(W, b):
    return torch.mean(X @ W + b)

loss = foo(W, b)
print(f"{loss=}")
X = torch.randint(low=0, high=42, size=(5, 6, 7, 8))
from torch import nn
y = -x ** 2 + 1e-5 * a[0] - b // 2 % 3
"#;

    #[test]
    fn the_example_parses() {
        let all = stmts(EXAMPLE);
        assert_eq!(all.len(), 18);
        assert_eq!(all[0], "import");
        assert_eq!(all[1], "import");
        assert_eq!(
            all[2],
            "cnn = nn.Sequential(nn.Conv2d(in_channels=3, out_channels=4, kernel_size=3, \
             padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(in_channels=16, \
             out_channels=32, kernel_size=(tuple 7, 5), dilation=2, padding=3))"
        );
        assert_eq!(
            all[3],
            "cnn(torch.rand(size=(tuple 1, 3, 1024, 1024), dtype=torch.float32)).shape"
        );
        assert_eq!(
            all[6],
            "mlpirate = nn.Sequential(nn.Linear(in_features=N, out_features=H), nn.Sigmoid(), \
             *(* [nn.Linear(in_features=H, out_features=H), nn.Sigmoid()] 24), \
             nn.Linear(in_features=H, out_features=1))"
        );
        assert_eq!(all[7], "(tuple p1, p2) = (tuple 0.1, 0.2)");
        assert_eq!(all[12], "def foo(W, b): torch.mean((+ (@ X W) b))");
        assert_eq!(all[14], r#"print("{loss=}")"#);
        assert_eq!(all[16], "import");
        assert_eq!(
            all[17],
            "y = (- (+ (neg (** x 2)) (* 1e-5 a[0])) (% (// b 2) 3))"
        );
    }

    #[test]
    fn starred_list_times_int_is_starred_binary() {
        let program = parse("f(*[a, b]*24)").unwrap();
        let StmtKind::Expr(call) = &program.statements[0].kind else {
            panic!("not an expression statement")
        };
        let ExprKind::Call { args, .. } = &call.kind else {
            panic!("not a call")
        };
        let [Arg::Star(inner)] = args.as_slice() else {
            panic!("not one `*` argument: {args:?}")
        };
        let ExprKind::Binary { op, left, right } = &inner.kind else {
            panic!("not a binary expression")
        };
        assert_eq!(*op, BinOp::Mul);
        assert!(matches!(&left.kind, ExprKind::List(items) if items.len() == 2));
        assert_eq!(right.kind, ExprKind::Int(24));

        // In a list it is a `Starred` element.
        let program = parse("[*[a, b]*24]").unwrap();
        let StmtKind::Expr(list) = &program.statements[0].kind else {
            panic!("not an expression statement")
        };
        let ExprKind::List(items) = &list.kind else {
            panic!("not a list")
        };
        let ExprKind::Starred(inner) = &items[0].kind else {
            panic!("not starred")
        };
        assert!(matches!(
            &inner.kind,
            ExprKind::Binary { op: BinOp::Mul, left, right }
                if matches!(left.kind, ExprKind::List(_)) && right.kind == ExprKind::Int(24)
        ));
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(expr("-x**2"), "(neg (** x 2))");
        assert_eq!(expr("2**3**2"), "(** 2 (** 3 2))");
        assert_eq!(expr("2**-1"), "(** 2 (neg 1))");
        assert_eq!(expr("-+-a"), "(neg (pos (neg a)))");
        assert_eq!(expr("a - b - c"), "(- (- a b) c)");
        assert_eq!(expr("a + b * c"), "(+ a (* b c))");
        assert_eq!(
            expr("a * b / c // d % e @ f"),
            "(@ (% (// (/ (* a b) c) d) e) f)"
        );
        assert_eq!(expr("(a + b) * c"), "(* (+ a b) c)");
        assert_eq!(expr("-a.b(c)[0] ** 2"), "(neg (** a.b(c)[0] 2))");
        assert_eq!(expr("a.b.c"), "a.b.c");
        assert_eq!(expr("match = 1"), "match = 1");
        assert_eq!(expr("match(x)"), "match(x)");
    }

    #[test]
    fn literals() {
        assert_eq!(
            expr("f(1_000, 0x10, .5, 1., 1e-5, 2E3, True, False, None, 'a' \"b\", rb'\\d')"),
            r#"f(1000, 16, 0.5, 1.0, 1e-5, 2000.0, True, False, None, "ab", "\\d")"#
        );
        assert_eq!(expr("\"\"\"multi\nline\"\"\""), r#""multi\nline""#);
        assert_eq!(expr("ĥ_1 = 1"), "ĥ_1 = 1");
    }

    #[test]
    fn assignments() {
        assert_eq!(expr("a = b = 1"), "a = b = 1");
        assert_eq!(
            expr("p1, p2 = 0.1, 0.2"),
            "(tuple p1, p2) = (tuple 0.1, 0.2)"
        );
        assert_eq!(expr("(a, b) = c"), "(tuple a, b) = c");
        assert_eq!(expr("(a, b), c = x"), "(tuple (tuple a, b), c) = x");
        assert_eq!(expr("[a, b] = x"), "(tuple a, b) = x");
        assert_eq!(expr("a, = x"), "(tuple a) = x");
        assert_eq!(expr("(a) = 1,"), "a = (tuple 1)");
        assert_eq!(expr("a = *b, c"), "a = (tuple *b, c)");
        let program = parse("x, y = 1, 2").unwrap();
        let StmtKind::Assign { targets, .. } = &program.statements[0].kind else {
            panic!("not an assignment")
        };
        assert_eq!(
            targets[0],
            Target::Tuple(
                vec![
                    Target::Name("x".into(), Span { line: 1, col: 1 }),
                    Target::Name("y".into(), Span { line: 1, col: 4 }),
                ],
                Span { line: 1, col: 1 }
            )
        );
    }

    #[test]
    fn defs() {
        assert_eq!(
            stmts("def f(a, b):\n    \"\"\"Doc.\"\"\"\n    return a, b\n"),
            ["def f(a, b): (tuple a, b)"]
        );
        assert_eq!(stmts("def f(): return 1"), ["def f(): 1"]);
        assert_eq!(stmts("def f(x,): 'doc'; return x;"), ["def f(x): x"]);
        assert_eq!(
            stmts("def f(x):\n\n    # comment\n\treturn (x\n  + 1)\ny = f(2)"),
            ["def f(x): (+ x 1)", "y = f(2)"]
        );
        let e = err("def f(x):\n    y = x\n    return y\n");
        assert_eq!(e.construct, "`def` body");
        assert_eq!(e.span, Span { line: 2, col: 5 });
        assert_eq!(err("def f(x):\n    return x\n    x\n").span.line, 3);
        assert_eq!(err("def f(x):\n    return\n").construct, "`def` body");
        assert_eq!(err("def f(x):\n    'doc'\n").construct, "`def` body");
        assert_eq!(
            err("def f(x):\n    def g(): return 1\n").construct,
            "`def` body"
        );
        assert_eq!(err("def f(x):\nreturn x\n").construct, "`def` body");
        assert_eq!(
            err("def f(x):\n    for a in b: pass\n").construct,
            "`for` loop"
        );
        assert_eq!(
            err("def f(x=1): return x").construct,
            "default parameter value"
        );
        assert_eq!(
            err("def f(*x): return x").construct,
            "`*args`/`**kwargs` parameter"
        );
        assert_eq!(
            err("def f(x: int): return x").construct,
            "parameter annotation"
        );
        assert_eq!(
            err("def f(x) -> int: return x").construct,
            "return annotation"
        );
        assert_eq!(
            err("def f(x, x): return x").construct,
            "duplicate parameter"
        );
        assert_eq!(err("return 1").construct, "`return` outside a function");
    }

    #[test]
    fn calls() {
        assert_eq!(expr("f(a, *b, c=d,)"), "f(a, *b, c=d)");
        assert_eq!(expr("f(x=1, *a)"), "f(x=1, *a)");
        assert_eq!(expr("f()()"), "f()()");
        assert_eq!(
            err("f(x=1, 2)").construct,
            "positional argument after keyword argument"
        );
        assert_eq!(err("f(x=1, x=2)").construct, "repeated keyword argument");
        assert_eq!(err("f(**k)").construct, "keyword argument unpacking `**`");
        assert_eq!(err("f(x for x in y)").construct, "generator expression");
    }

    #[test]
    fn subscripts_tuples_and_lists() {
        assert_eq!(expr("a[0]"), "a[0]");
        assert_eq!(expr("a[1, 2]"), "a[(tuple 1, 2)]");
        assert_eq!(expr("a[1,]"), "a[(tuple 1)]");
        assert_eq!(expr("a[-1][i + 1]"), "a[(neg 1)][(+ i 1)]");
        assert_eq!(expr("(a,)"), "(tuple a)");
        assert_eq!(expr("()"), "(tuple )");
        assert_eq!(expr("(a)"), "a");
        assert_eq!(expr("a, b"), "(tuple a, b)");
        assert_eq!(expr("[]"), "[]");
        assert_eq!(expr("[a, *b, (c, d),]"), "[a, *b, (tuple c, d)]");
        assert_eq!(err("a[1:2]").construct, "slice");
        assert_eq!(err("a[:]").construct, "slice");
        assert_eq!(err("a[]").construct, "unexpected token");
        assert_eq!(err("*a").construct, "starred expression");
        assert_eq!(err("x = (*a)").construct, "starred expression");
    }

    #[test]
    fn imports_and_separators() {
        assert_eq!(
            stmts("import a.b as c, d\nfrom x import y as z, w\nfrom . import (a,\n b,)\nfrom ..m import *"),
            ["import", "import", "import", "import"]
        );
        assert_eq!(stmts("a = 1; b = 2;\nc"), ["a = 1", "b = 2", "c"]);
        assert_eq!(stmts(""), Vec::<String>::new());
        assert_eq!(stmts("\n\n# only comments\n   \n"), Vec::<String>::new());
        assert_eq!(stmts("x = 1 + \\\n    2"), ["x = (+ 1 2)"]);
        assert_eq!(err("import").construct, "unexpected token");
        assert_eq!(err("from x import").construct, "unexpected token");
    }

    #[test]
    fn spans() {
        let program = parse("\n  \nx = (\n  a +\n  b)\ndef f(y):\n    return y\n").unwrap();
        assert_eq!(program.statements[0].span, Span { line: 3, col: 1 });
        let StmtKind::Assign { value, .. } = &program.statements[0].kind else {
            panic!("not an assignment")
        };
        assert_eq!(value.span, Span { line: 4, col: 3 });
        assert_eq!(program.statements[1].span, Span { line: 6, col: 1 });
        let StmtKind::Def { body, .. } = &program.statements[1].kind else {
            panic!("not a def")
        };
        assert_eq!(body.span, Span { line: 7, col: 12 });
        // Columns count characters, not bytes.
        assert_eq!(err("é = 'ü' == 1").span, Span { line: 1, col: 9 });
    }

    #[test]
    fn refusals_name_the_construct() {
        let cases = [
            ("for x in y:\n    pass", "`for` loop"),
            ("while x:\n    pass", "`while` loop"),
            ("if x:\n    y = 1", "`if` statement"),
            ("with open(f) as g:\n    pass", "`with` block"),
            ("class A:\n    pass", "`class` definition"),
            ("try:\n    pass\nexcept E:\n    pass", "`try` statement"),
            ("@decorator\ndef f(): return 1", "decorator"),
            ("pass", "`pass` statement"),
            ("del x", "`del` statement"),
            ("match x:\n    case 1:\n        pass", "`match` statement"),
            ("f = lambda x: x", "`lambda`"),
            ("a == b", "comparison `==`"),
            ("a < b", "comparison `<`"),
            ("a and b", "boolean operator `and`"),
            ("not a", "boolean operator `not`"),
            ("a in b", "membership test `in`"),
            ("a not in b", "membership test `not in`"),
            ("a is b", "identity test `is`"),
            ("a if b else c", "conditional expression"),
            ("a | b", "bitwise operator `|`"),
            ("~a", "bitwise operator `~`"),
            ("(a := 1)", "assignment expression `:=`"),
            ("x += 1", "augmented assignment `+=`"),
            ("x //= 1", "augmented assignment `//=`"),
            ("x: int = 1", "annotated assignment"),
            ("d = {}", "dict literal"),
            ("d = {'a': 1, 'b': {2}}", "dict literal"),
            ("d = {**a}", "dict literal"),
            ("s = {1, 2}", "set literal"),
            ("d = {k: v for k in x}", "dict comprehension"),
            ("s = {k for k in x}", "set comprehension"),
            ("[x for x in y]", "list comprehension"),
            ("a[...]", "Ellipsis `...`"),
            ("x = yield 1", "`yield` expression"),
            ("x = 1j", "complex number literal"),
            ("a.b = 1", "attribute assignment"),
            ("a[0] = 1", "subscript assignment"),
            ("a, *b = c", "starred assignment target"),
            ("f(x) = 1", "assignment target"),
            ("x = (1,\n", "unclosed bracket"),
            ("x = 'abc", "unterminated string"),
            ("  x = 1", "unexpected indent"),
            ("x = 1\n  y = 2", "unexpected indent"),
            ("x = 1 2", "unexpected token"),
            ("x = ", "unexpected token"),
        ];
        for (source, construct) in cases {
            let e = err(source);
            assert_eq!(e.construct, construct, "{source:?}: {e}");
        }
        let e = err("for x in y:\n    pass");
        assert_eq!(
            e.message,
            "`for` loops are not supported in question code; only assignments, \
             `def f(...): return ...`, imports and expressions are"
        );
    }

    #[test]
    fn classes_with_methods_loops_and_attribute_targets() {
        let source = "class Net(nn.Module):\n    \"A docstring.\"\n\n    \
                      def __init__(self, c, k=3):\n        super().__init__()\n        \
                      self.convs = nn.ModuleList()\n        for i in range(2):\n            \
                      self.convs.append(nn.Conv2d(c, c, k)); pass\n\n    \
                      def forward(self, x):\n        for conv in self.convs:\n            \
                      x = conv(x)\n        return x + 1\nnet = Net(4)\n";
        assert_eq!(
            stmts(source),
            [
                "class Net {__init__: super().__init__(); self.convs = nn.ModuleList(); \
                 for i in range(2): self.convs.append(nn.Conv2d(c, c, k)); pass | \
                 forward: for conv in self.convs: x = conv(x); return (+ x 1)}",
                "net = Net(4)",
            ]
        );
        // Bases other than nn.Module, and statements outside methods, are refused.
        assert_eq!(
            err("class A(object):\n    pass").construct,
            "`class` definition"
        );
        assert_eq!(
            err("class A(torch.nn.Module):\n    x = 1").construct,
            "class attribute"
        );
        assert_eq!(
            err("class A(nn.Module):\n    def f(self):\n        if x:\n            pass").construct,
            "`if` statement"
        );
        assert_eq!(
            err("class A(nn.Module):\n    def f(self, *a):\n        pass").construct,
            "`*args`/`**kwargs` parameter"
        );
        assert_eq!(
            err("class A(nn.Module):\n    def f():\n        pass").construct,
            "method without `self`"
        );
    }

    #[test]
    fn unclosed_brackets_point_at_the_opening() {
        let e = err("cnn = nn.Sequential(\n    nn.ReLU(),\n    nn.Conv2d(3, 4, 3),\n");
        assert_eq!(e.to_string(), "1:20: this `(` is never closed");
        let e = err("x = [1, f(2)");
        assert_eq!(e.to_string(), "1:5: this `[` is never closed");
        // A syntax error inside the brackets comes first.
        let e = err("f(1,\n  2\n  3)");
        assert_eq!(e.to_string(), "3:3: expected `,` or `)`, found number `3`");
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let nested = |n: usize| format!("x = {}1{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&nested(90)).is_ok());
        assert_eq!(err(&nested(200)).construct, "nesting depth");
        assert!(err(&nested(200))
            .message
            .contains("expression nested too deeply"));
        assert!(parse(&format!("x = {}1{}", "[".repeat(90), "]".repeat(90))).is_ok());
        assert_eq!(
            err(&format!("x = {}1", "-".repeat(200))).construct,
            "nesting depth"
        );
        assert_eq!(
            err(&format!("x = 1{}", " ** 1".repeat(200))).construct,
            "nesting depth"
        );
        assert_eq!(
            err(&format!("x = 1{}", " + 1".repeat(300))).construct,
            "nesting depth"
        );
        assert_eq!(
            err(&format!("x = a{}", ".b".repeat(300))).construct,
            "nesting depth"
        );
        assert_eq!(
            err(&format!("x = f{}", "()".repeat(300))).construct,
            "nesting depth"
        );
        assert!(parse(&format!("x = [{}]", "1, ".repeat(10_000))).is_ok());
        // The deepest accepted nesting fits in half of a test thread's default stack.
        let deepest = format!("x = {}1{}", "f(-[a, ".repeat(33), "])".repeat(33));
        let run = move || parse(&deepest).is_ok();
        let thread = std::thread::Builder::new().stack_size(1 << 20).spawn(run);
        assert!(thread.unwrap().join().unwrap());
        assert_eq!(
            err(&"x = 1\n".repeat(200_000)).construct,
            "source too large"
        );
    }

    /// A tiny xorshift generator, so the test needs no crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_inputs_never_panic() {
        const ALPHABET: &[&str] = &[
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "'",
            "\"",
            "'''",
            "\"\"\"",
            "\n",
            "\n    ",
            "\n\t",
            "    ",
            " ",
            "\\",
            "\\\n",
            "#",
            ",",
            ".",
            ":",
            ";",
            "=",
            "==",
            "+",
            "-",
            "*",
            "**",
            "/",
            "//",
            "%",
            "@",
            "->",
            "+=",
            ":=",
            "<",
            "!",
            "$",
            "~",
            "...",
            "a",
            "nn",
            "é",
            "x1",
            "0",
            "1_0",
            "0x1F",
            "1.5",
            ".5",
            "1e-5",
            "1e",
            "0b",
            "9",
            "99999999999999999999",
            "f\"{x}\"",
            "r'\\'",
            "b'",
            "def",
            "def f(x):",
            "return",
            "import",
            "from",
            "as",
            "for",
            "in",
            "if",
            "else",
            "lambda",
            "not",
            "True",
            "None",
            "class",
            "@",
            "\u{a0}",
            "\r",
            "\r\n",
            "\x0c",
            "j",
        ];
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..4000 {
            let len = rng.below(40);
            let source: String = (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect();
            let _ = parse(&source);
        }
        for _ in 0..2000 {
            let len = rng.below(60);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }
        // Mutations of the example: drop, duplicate or swap characters.
        let chars: Vec<char> = EXAMPLE.chars().collect();
        for _ in 0..500 {
            let mut mutated = chars.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(mutated.len());
                match rng.below(3) {
                    0 => {
                        mutated.remove(i);
                    }
                    1 => mutated.insert(i, mutated[i]),
                    _ => {
                        let j = rng.below(mutated.len());
                        mutated.swap(i, j);
                    }
                }
            }
            let _ = parse(&mutated.into_iter().collect::<String>());
        }
    }
}
