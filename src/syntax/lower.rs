//! pest's parse tree → AST. Literals are validated here (dates, integers, escapes), clauses
//! given twice are reported, and the depth of every expression is bounded so that later
//! stages may recurse over the tree safely.

use pest::iterators::{Pair, Pairs};

use super::{MAX_EXPR_DEPTH, Rule, SyntaxError};
use crate::ast::*;
use crate::dates::{PeriodUnit, parse_date};
use crate::diagnostics::Diagnostic;
use crate::source::{SourceFile, Span};

struct Lowerer<'s> {
    source: &'s SourceFile,
    errors: Vec<Diagnostic>,
}

pub(super) fn lower_file(
    source: &SourceFile,
    mut pairs: Pairs<'_, Rule>,
) -> Result<File, Vec<Diagnostic>> {
    let mut lowerer = Lowerer {
        source,
        errors: Vec::new(),
    };
    let mut file = File::default();
    if let Some(file_pair) = pairs.next() {
        for pair in file_pair.into_inner() {
            if pair.as_rule() == Rule::EOI {
                continue;
            }
            let span = span_of(&pair);
            let errors_before = lowerer.errors.len();
            match lowerer.item(pair) {
                Some(item) => file.items.push(item),
                // An item is dropped after an error in it (an invalid date, say); dropping one
                // without an error would lose the drafter's text silently.
                None if lowerer.errors.len() == errors_before => {
                    lowerer.error(SyntaxError::Unreadable, span, "this declaration")
                }
                None => {}
            }
        }
    }
    if lowerer.errors.is_empty() {
        Ok(file)
    } else {
        Err(lowerer.errors)
    }
}

pub(super) fn lower_lone_expr(
    source: &SourceFile,
    mut pairs: Pairs<'_, Rule>,
) -> Result<Expr, Vec<Diagnostic>> {
    let mut lowerer = Lowerer {
        source,
        errors: Vec::new(),
    };
    let expr = pairs.next().map(|p| lowerer.expr(p).0);
    match expr {
        Some(expr) if lowerer.errors.is_empty() => Ok(expr),
        _ => Err(lowerer.errors),
    }
}

/// The pair's span without the whitespace and comments pest lets trail after it.
fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.start() + significant_len(pair.as_str()))
}

/// The length of a text up to its last character that is neither white space nor in a comment.
fn significant_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut i, mut end) = (0usize, 0usize);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    i += if c == b'\\' { 2 } else { 1 };
                    if c == b'"' {
                        break;
                    }
                }
                end = i.min(bytes.len());
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while bytes.get(i).is_some_and(|c| *c != b'\n') {
                    i += 1;
                }
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => end = i + 1,
        }
        i += 1;
    }
    // A multi-byte character ends where its last byte does.
    while end < bytes.len() && !text.is_char_boundary(end) {
        end += 1;
    }
    end
}

fn is_keyword(rule: Rule) -> bool {
    format!("{rule:?}").starts_with("kw_")
}

/// The children that carry meaning: keywords dropped.
fn inner<'i>(pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

impl Lowerer<'_> {
    fn error(&mut self, kind: SyntaxError, span: Span, label: &str) {
        self.errors
            .push(Diagnostic::at(&kind, self.source, span, label));
    }

    fn ident(&self, pair: &Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: span_of(pair),
        }
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        let span = span_of(&pair);
        let kind = match pair.as_rule() {
            Rule::schema_def => {
                let open = pair
                    .clone()
                    .into_inner()
                    .any(|p| p.as_rule() == Rule::kw_open);
                let mut parts = inner(pair);
                let name = self.ident(&parts.next()?);
                let body = parts.next()?;
                ItemKind::Schema(SchemaDef {
                    name,
                    record: self.record_body(body, open),
                })
            }
            Rule::policy_header => {
                let mut parts = inner(pair);
                let policy = self.ident(&parts.next()?);
                let version = self.version_id(parts.next()?);
                ItemKind::PolicyHeader { policy, version }
            }
            Rule::in_force => {
                let mut parts = inner(pair);
                let from = self.date(&parts.next()?)?;
                let until = match parts.next() {
                    Some(p) => Some(self.date(&p)?),
                    None => None,
                };
                ItemKind::InForce { from, until }
            }
            Rule::basis => ItemKind::Basis(self.string(inner(pair).next()?)),
            Rule::schema_ref => {
                let mut parts = inner(pair);
                let name = self.ident(&parts.next()?);
                let path = self.string(parts.next()?);
                ItemKind::SchemaRef { name, path }
            }
            Rule::as_of => ItemKind::AsOf(self.expr(inner(pair).next()?).0),
            Rule::let_def => {
                let mut parts = inner(pair);
                let name = self.ident(&parts.next()?);
                let value = self.expr(parts.next()?).0;
                ItemKind::Let(LetDef { name, value })
            }
            Rule::outcome_def => {
                let mut parts = inner(pair);
                let name = self.ident(&parts.next()?);
                let attributes = match parts.next() {
                    Some(block) => self.attr_block(block),
                    None => Vec::new(),
                };
                ItemKind::Outcome(OutcomeDef { name, attributes })
            }
            Rule::rule_def => ItemKind::Rule(self.rule(pair)?),
            Rule::otherwise_def => ItemKind::Otherwise(self.otherwise(pair)?),
            Rule::cap_def => ItemKind::Cap(self.cap(pair)?),
            Rule::test_def => ItemKind::Test(self.test(pair)?),
            Rule::warn_def => {
                let mut parts = inner(pair);
                let message = self.string(parts.next()?);
                let when = self.expr(parts.next()?).0;
                ItemKind::Warn(WarnDef { message, when })
            }
            _ => return None,
        };
        Some(Item { kind, span })
    }

    fn version_id(&mut self, pair: Pair<'_, Rule>) -> VersionId {
        let span = span_of(&pair);
        let text = match pair.into_inner().next() {
            Some(p) if p.as_rule() == Rule::string_lit => self.string(p).value,
            Some(p) => p.as_str().to_string(),
            None => String::new(),
        };
        VersionId { text, span }
    }

    fn date(&mut self, pair: &Pair<'_, Rule>) -> Option<DateLit> {
        let span = span_of(pair);
        match parse_date(pair.as_str()) {
            Some(date) => Some(DateLit { date, span }),
            None => {
                self.error(
                    SyntaxError::InvalidDate {
                        text: pair.as_str().to_string(),
                    },
                    span,
                    "not a calendar date",
                );
                None
            }
        }
    }

    fn int(&mut self, pair: &Pair<'_, Rule>) -> Option<IntLit> {
        let span = span_of(pair);
        match pair.as_str().parse::<i64>() {
            Ok(value) => Some(IntLit { value, span }),
            Err(_) => {
                self.error(
                    SyntaxError::IntTooLarge {
                        text: pair.as_str().to_string(),
                    },
                    span,
                    "too large",
                );
                None
            }
        }
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let span = span_of(&pair);
        let raw = pair.into_inner().next().map_or("", |p| p.as_str());
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.char_indices().peekable();
        // One control character is reported per string: a terminal sequence holds several.
        let mut control_reported = false;
        while let Some((i, c)) = chars.next() {
            let escape_start = span.start + 1 + i;
            if c != '\\' {
                if crate::diagnostics::is_unsafe(c) && !control_reported {
                    control_reported = true;
                    self.error(
                        SyntaxError::ControlCharacter { code: c as u32 },
                        Span::new(escape_start, escape_start + c.len_utf8()),
                        "a control character",
                    );
                }
                value.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '"')) => value.push('"'),
                Some((_, '\\')) => value.push('\\'),
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, 'u')) => {
                    let rest = raw.get(i + 2..).unwrap_or("");
                    let decoded = rest
                        .strip_prefix('{')
                        .and_then(|r| r.split_once('}'))
                        .and_then(|(hex, _)| {
                            u32::from_str_radix(hex, 16).ok().map(|v| (hex.len(), v))
                        })
                        .and_then(|(len, v)| char::from_u32(v).map(|c| (len, c)));
                    match decoded {
                        Some((len, c)) if crate::diagnostics::is_unsafe(c) => {
                            control_reported = true;
                            self.error(
                                SyntaxError::ControlCharacter { code: c as u32 },
                                Span::new(escape_start, escape_start + len + 4),
                                "a control character",
                            );
                            for _ in 0..len + 2 {
                                chars.next();
                            }
                        }
                        Some((len, c)) => {
                            value.push(c);
                            for _ in 0..len + 2 {
                                chars.next();
                            }
                        }
                        None => self.error(
                            SyntaxError::InvalidEscape {
                                text: "\\u".to_string(),
                            },
                            Span::new(escape_start, escape_start + 2),
                            "not a character code",
                        ),
                    }
                }
                Some((_, other)) => self.error(
                    SyntaxError::InvalidEscape {
                        text: format!("\\{other}"),
                    },
                    Span::new(escape_start, escape_start + 1 + other.len_utf8()),
                    "unknown escape",
                ),
                None => {}
            }
        }
        StrLit { value, span }
    }

    fn record_body(&mut self, pair: Pair<'_, Rule>, open: bool) -> RecordTypeExpr {
        let span = span_of(&pair);
        let mut fields = Vec::new();
        for field in inner(pair) {
            let field_span = span_of(&field);
            let mut parts = inner(field);
            let (Some(name), Some(ty)) = (parts.next(), parts.next()) else {
                continue;
            };
            let name = self.ident(&name);
            if let Some(ty) = self.type_expr(ty) {
                fields.push(FieldDecl {
                    name,
                    ty,
                    span: field_span,
                });
            }
        }
        RecordTypeExpr { open, fields, span }
    }

    fn type_expr(&mut self, pair: Pair<'_, Rule>) -> Option<TypeExpr> {
        let span = span_of(&pair);
        let pair = if pair.as_rule() == Rule::type_expr {
            pair.into_inner().next()?
        } else {
            pair
        };
        let kind = match pair.as_rule() {
            Rule::optional_type => {
                TypeKind::Optional(Box::new(self.type_expr(inner(pair).next()?)?))
            }
            Rule::list_type => TypeKind::List(Box::new(self.type_expr(inner(pair).next()?)?)),
            Rule::record_type => {
                let open = pair
                    .clone()
                    .into_inner()
                    .any(|p| p.as_rule() == Rule::kw_open);
                TypeKind::Record(self.record_body(inner(pair).next()?, open))
            }
            Rule::enum_type => {
                let mut words = Vec::new();
                let mut range = None;
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::range => range = self.range(part),
                        _ => words.push(self.ident(&part)),
                    }
                }
                if words.len() == 1 {
                    let word = words.pop()?;
                    TypeKind::Word { word, range }
                } else {
                    TypeKind::Enum(words)
                }
            }
            _ => return None,
        };
        Some(TypeExpr { kind, span })
    }

    fn range(&mut self, pair: Pair<'_, Rule>) -> Option<RangeLit> {
        let span = span_of(&pair);
        let mut parts = pair.into_inner();
        let lo = self.int(&parts.next()?)?;
        let hi = self.int(&parts.next()?)?;
        if lo.value > hi.value {
            self.error(
                SyntaxError::EmptyRange {
                    text: self.source.slice(span).to_string(),
                },
                span,
                "no value fits",
            );
        }
        Some(RangeLit {
            lo: lo.value,
            hi: hi.value,
            span,
        })
    }

    fn attr_block(&mut self, pair: Pair<'_, Rule>) -> Vec<Attr> {
        let mut attrs = Vec::new();
        for attr in inner(pair) {
            let span = span_of(&attr);
            let mut parts = inner(attr);
            let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            let name = self.ident(&name);
            let Some(value) = value.into_inner().next() else {
                continue;
            };
            let value = if value.as_rule() == Rule::attr_type {
                AttrValue::Type(self.ident(&value))
            } else {
                AttrValue::Expr(self.expr(value).0)
            };
            attrs.push(Attr { name, value, span });
        }
        attrs
    }

    fn once<T>(
        &mut self,
        slot: &mut Option<T>,
        value: T,
        clause: &'static str,
        owner: &str,
        span: Span,
    ) {
        if slot.is_some() {
            self.error(
                SyntaxError::DuplicateClause {
                    clause,
                    owner: owner.to_string(),
                },
                span,
                "given again here",
            );
        } else {
            *slot = Some(value);
        }
    }

    fn rule(&mut self, pair: Pair<'_, Rule>) -> Option<RuleDef> {
        let mut parts = inner(pair);
        let name = self.ident(&parts.next()?);
        let owner = format!("rule `{}`", name.name);
        let mut rule = RuleDef {
            name,
            when: None,
            unless: None,
            then: None,
            because: None,
            cites: Vec::new(),
        };
        for clause in parts {
            let span = span_of(&clause);
            match clause.as_rule() {
                Rule::when_clause => {
                    let expr = self.expr(inner(clause).next()?).0;
                    self.once(&mut rule.when, expr, "when", &owner, span);
                }
                Rule::unless_clause => {
                    let expr = self.expr(inner(clause).next()?).0;
                    self.once(&mut rule.unless, expr, "unless", &owner, span);
                }
                Rule::then_clause => {
                    let then = self.then(clause)?;
                    self.once(&mut rule.then, then, "then", &owner, span);
                }
                Rule::because_clause => {
                    let because = self.string(inner(clause).next()?);
                    self.once(&mut rule.because, because, "because", &owner, span);
                }
                Rule::cites_clause => {
                    for s in inner(clause) {
                        let s = self.string(s);
                        rule.cites.push(s);
                    }
                }
                _ => {}
            }
        }
        Some(rule)
    }

    fn then(&mut self, pair: Pair<'_, Rule>) -> Option<Then> {
        let span = span_of(&pair);
        let mut parts = inner(pair);
        let outcome = self.ident(&parts.next()?);
        let mut then = Then {
            outcome,
            with: Vec::new(),
            cap: None,
            span,
        };
        for part in parts {
            match part.as_rule() {
                Rule::with_clause => then.with = self.attr_block(inner(part).next()?),
                Rule::within_clause => then.cap = Some(self.ident(&inner(part).next()?)),
                _ => {}
            }
        }
        Some(then)
    }

    fn otherwise(&mut self, pair: Pair<'_, Rule>) -> Option<OtherwiseDef> {
        let mut parts = inner(pair);
        let outcome = self.ident(&parts.next()?);
        let mut otherwise = OtherwiseDef {
            outcome,
            with: Vec::new(),
            because: None,
            cites: Vec::new(),
        };
        for part in parts {
            let span = span_of(&part);
            match part.as_rule() {
                Rule::with_clause => otherwise.with = self.attr_block(inner(part).next()?),
                Rule::because_clause => {
                    let because = self.string(inner(part).next()?);
                    self.once(
                        &mut otherwise.because,
                        because,
                        "because",
                        "`otherwise`",
                        span,
                    );
                }
                Rule::cites_clause => {
                    for s in inner(part) {
                        let s = self.string(s);
                        otherwise.cites.push(s);
                    }
                }
                _ => {}
            }
        }
        Some(otherwise)
    }

    fn cap(&mut self, pair: Pair<'_, Rule>) -> Option<CapDef> {
        let mut parts = inner(pair);
        let name = self.ident(&parts.next()?);
        let owner = format!("cap `{}`", name.name);
        let mut cap = CapDef {
            name,
            limit: None,
            counts: None,
            order_by: Vec::new(),
            overflow: None,
        };
        for clause in parts {
            let span = span_of(&clause);
            match clause.as_rule() {
                Rule::limit_clause => {
                    if let Some(limit) = self.int(&inner(clause).next()?) {
                        self.once(&mut cap.limit, limit, "limit", &owner, span);
                    }
                }
                Rule::counts_clause => {
                    let mut counts = CountsClause {
                        caps: Vec::new(),
                        from: None,
                        span,
                    };
                    for part in inner(clause) {
                        match part.as_rule() {
                            Rule::name => counts.caps.push(self.ident(&part)),
                            Rule::date_lit => counts.from = self.date(&part),
                            _ => {}
                        }
                    }
                    self.once(&mut cap.counts, counts, "counts grants", &owner, span);
                }
                Rule::order_clause => {
                    if !cap.order_by.is_empty() {
                        self.error(
                            SyntaxError::DuplicateClause {
                                clause: "order by",
                                owner: owner.clone(),
                            },
                            span,
                            "given again here",
                        );
                    }
                    cap.order_by = inner(clause).map(|e| self.expr(e).0).collect();
                }
                Rule::overflow_clause => {
                    let outcome = self.ident(&inner(clause).next()?);
                    self.once(&mut cap.overflow, outcome, "overflow", &owner, span);
                }
                _ => {}
            }
        }
        Some(cap)
    }

    fn test(&mut self, pair: Pair<'_, Rule>) -> Option<TestDef> {
        let mut parts = inner(pair);
        let name = self.string(parts.next()?);
        let owner = format!("test \"{}\"", name.value);
        let mut test = TestDef {
            name,
            version: None,
            as_of: None,
            case: None,
            expect: None,
        };
        for clause in parts {
            let span = span_of(&clause);
            match clause.as_rule() {
                Rule::test_version => {
                    let version = self.version_id(inner(clause).next()?);
                    self.once(&mut test.version, version, "version", &owner, span);
                }
                Rule::test_as_of => {
                    if let Some(date) = self.date(&inner(clause).next()?) {
                        self.once(&mut test.as_of, date, "as of", &owner, span);
                    }
                }
                Rule::test_case => {
                    let body = inner(clause).next()?;
                    let case = if body.as_rule() == Rule::case_from_file {
                        let mut parts = inner(body);
                        let path = self.string(parts.next()?);
                        let field = self.ident(&parts.next()?);
                        let value = self.string(parts.next()?);
                        TestCase::FromFile { path, field, value }
                    } else {
                        TestCase::Inline(self.expr(body).0)
                    };
                    self.once(&mut test.case, case, "case", &owner, span);
                }
                Rule::expect_clause => {
                    let mut parts = inner(clause);
                    let outcome = self.ident(&parts.next()?);
                    let mut expect = Expect {
                        outcome,
                        rule: None,
                        with: Vec::new(),
                        cites: Vec::new(),
                        span,
                    };
                    for detail in parts {
                        match detail.as_rule() {
                            Rule::expect_rule => {
                                // `otherwise` is a keyword, so take the last word whatever it is.
                                let word = detail.into_inner().last()?;
                                expect.rule = Some(self.ident(&word));
                            }
                            Rule::expect_with => {
                                expect.with = self.attr_block(inner(detail).next()?)
                            }
                            Rule::expect_cites => {
                                for s in inner(detail) {
                                    let s = self.string(s);
                                    expect.cites.push(s);
                                }
                            }
                            _ => {}
                        }
                    }
                    self.once(&mut test.expect, expect, "expect", &owner, span);
                }
                _ => {}
            }
        }
        Some(test)
    }

    // --------------------------------------------------------------------------------------------
    // Expressions. Each returns the expression and its depth; a node deeper than the limit is an
    // error, and the depth returned is capped so that one error is reported, not one per level.

    fn too_deep(&mut self, span: Span) -> (Expr, usize) {
        self.error(
            SyntaxError::TooDeep {
                limit: MAX_EXPR_DEPTH,
            },
            span,
            "nested too deeply here",
        );
        (
            Expr {
                kind: ExprKind::Bool(false),
                span,
            },
            0,
        )
    }

    fn node(&mut self, kind: ExprKind, span: Span, depth: usize) -> (Expr, usize) {
        if depth > MAX_EXPR_DEPTH {
            return self.too_deep(span);
        }
        (Expr { kind, span }, depth)
    }

    fn placeholder(span: Span) -> (Expr, usize) {
        (
            Expr {
                kind: ExprKind::Bool(false),
                span,
            },
            1,
        )
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> (Expr, usize) {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::expr => match pair.into_inner().next() {
                Some(p) => self.expr(p),
                None => Self::placeholder(span),
            },
            Rule::or_expr | Rule::and_expr => {
                let is_or = pair.as_rule() == Rule::or_expr;
                let mut operands = Vec::new();
                let mut depth = 0;
                for p in inner(pair) {
                    let (e, d) = self.expr(p);
                    depth = depth.max(d);
                    operands.push(e);
                }
                if operands.len() == 1 {
                    return match operands.pop() {
                        Some(e) => (e, depth),
                        None => Self::placeholder(span),
                    };
                }
                let kind = if is_or {
                    ExprKind::Or(operands)
                } else {
                    ExprKind::And(operands)
                };
                self.node(kind, span, depth + 1)
            }
            Rule::cmp_expr => {
                let mut parts = pair.into_inner();
                let Some(first) = parts.next() else {
                    return Self::placeholder(span);
                };
                let (lhs, ld) = self.expr(first);
                let Some(tail) = parts.next() else {
                    return (lhs, ld);
                };
                match tail.as_rule() {
                    Rule::has_tail => match inner(tail).next() {
                        Some(field) => {
                            let field = self.ident(&field);
                            self.node(
                                ExprKind::Has {
                                    base: Box::new(lhs),
                                    field,
                                },
                                span,
                                ld + 1,
                            )
                        }
                        None => Self::placeholder(span),
                    },
                    Rule::in_tail => {
                        let mut negated = false;
                        let mut collection = None;
                        for p in inner(tail) {
                            match p.as_rule() {
                                Rule::not_in_op => negated = true,
                                _ => collection = Some(self.expr(p)),
                            }
                        }
                        let Some((collection, cd)) = collection else {
                            return Self::placeholder(span);
                        };
                        self.node(
                            ExprKind::In {
                                negated,
                                item: Box::new(lhs),
                                collection: Box::new(collection),
                            },
                            span,
                            ld.max(cd) + 1,
                        )
                    }
                    _ => {
                        let mut parts = tail.into_inner();
                        let (Some(op), Some(rhs)) = (parts.next(), parts.next()) else {
                            return Self::placeholder(span);
                        };
                        let op = match op.as_str() {
                            "==" => BinaryOp::Eq,
                            "!=" => BinaryOp::Ne,
                            "<" => BinaryOp::Lt,
                            "<=" => BinaryOp::Le,
                            ">" => BinaryOp::Gt,
                            _ => BinaryOp::Ge,
                        };
                        let (rhs, rd) = self.expr(rhs);
                        self.node(
                            ExprKind::Binary {
                                op,
                                lhs: Box::new(lhs),
                                rhs: Box::new(rhs),
                            },
                            span,
                            ld.max(rd) + 1,
                        )
                    }
                }
            }
            Rule::add_expr | Rule::mul_expr => {
                let mut parts = pair.into_inner();
                let Some(first) = parts.next() else {
                    return Self::placeholder(span);
                };
                let (mut acc, mut depth) = self.expr(first);
                while let (Some(op), Some(rhs)) = (parts.next(), parts.next()) {
                    let op = match op.as_str() {
                        "+" => BinaryOp::Add,
                        "-" => BinaryOp::Sub,
                        _ => BinaryOp::Mul,
                    };
                    let (rhs, rd) = self.expr(rhs);
                    let joined = acc.span.to(rhs.span);
                    let (e, d) = self.node(
                        ExprKind::Binary {
                            op,
                            lhs: Box::new(acc),
                            rhs: Box::new(rhs),
                        },
                        joined,
                        depth.max(rd) + 1,
                    );
                    if d == 0 {
                        return (e, d);
                    }
                    acc = e;
                    depth = d;
                }
                (acc, depth)
            }
            Rule::unary => {
                let mut ops = Vec::new();
                let mut operand = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::not_op => ops.push((UnaryOp::Not, span_of(&p))),
                        Rule::neg_op => ops.push((UnaryOp::Neg, span_of(&p))),
                        _ => operand = Some(p),
                    }
                }
                let Some(operand) = operand else {
                    return Self::placeholder(span);
                };
                if ops.len() > MAX_EXPR_DEPTH {
                    return self.too_deep(span);
                }
                let (mut acc, mut depth) = self.expr(operand);
                for (op, op_span) in ops.into_iter().rev() {
                    let joined = op_span.to(acc.span);
                    let (e, d) = self.node(
                        ExprKind::Unary {
                            op,
                            operand: Box::new(acc),
                        },
                        joined,
                        depth + 1,
                    );
                    if d == 0 {
                        return (e, d);
                    }
                    acc = e;
                    depth = d;
                }
                (acc, depth)
            }
            Rule::postfix => {
                let mut parts = pair.into_inner();
                let Some(first) = parts.next() else {
                    return Self::placeholder(span);
                };
                let (mut acc, mut depth) = self.expr(first);
                for part in parts {
                    let joined = acc.span.to(span_of(&part));
                    let kind = match part.as_rule() {
                        Rule::dot_field => match part.into_inner().next() {
                            Some(f) => ExprKind::Field {
                                base: Box::new(acc),
                                field: self.ident(&f),
                            },
                            None => return Self::placeholder(span),
                        },
                        _ => match part.into_inner().next().and_then(|i| self.int(&i)) {
                            Some(index) => ExprKind::Index {
                                base: Box::new(acc),
                                index,
                            },
                            None => return Self::placeholder(span),
                        },
                    };
                    let (e, d) = self.node(kind, joined, depth + 1);
                    if d == 0 {
                        return (e, d);
                    }
                    acc = e;
                    depth = d;
                }
                (acc, depth)
            }
            Rule::paren => match pair.into_inner().next() {
                Some(p) => {
                    let (e, d) = self.expr(p);
                    self.node(ExprKind::Paren(Box::new(e)), span, d + 1)
                }
                None => Self::placeholder(span),
            },
            Rule::quantifier => {
                let mut kind = Quantifier::Any;
                let mut rest = Vec::new();
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::kw_all => kind = Quantifier::All,
                        Rule::kw_any | Rule::kw_in => {}
                        _ => rest.push(p),
                    }
                }
                let mut rest = rest.into_iter();
                let (Some(var), Some(list), Some(body)) = (rest.next(), rest.next(), rest.next())
                else {
                    return Self::placeholder(span);
                };
                let var = self.ident(&var);
                let (list, ld) = self.expr(list);
                let (body, bd) = self.expr(body);
                self.node(
                    ExprKind::Quantifier {
                        kind,
                        var,
                        list: Box::new(list),
                        body: Box::new(body),
                    },
                    span,
                    ld.max(bd) + 1,
                )
            }
            Rule::call => {
                let mut parts = pair.into_inner();
                let Some(function) = parts.next() else {
                    return Self::placeholder(span);
                };
                let function = self.ident(&function);
                let mut args = Vec::new();
                let mut depth = 0;
                for p in parts {
                    let (e, d) = self.expr(p);
                    depth = depth.max(d);
                    args.push(e);
                }
                self.node(ExprKind::Call { function, args }, span, depth + 1)
            }
            Rule::list_lit => {
                let mut items = Vec::new();
                let mut depth = 0;
                for p in pair.into_inner() {
                    let (e, d) = self.expr(p);
                    depth = depth.max(d);
                    items.push(e);
                }
                self.node(ExprKind::List(items), span, depth + 1)
            }
            Rule::record_lit => {
                let mut fields = Vec::new();
                let mut depth = 0;
                for field in pair.into_inner() {
                    let mut parts = field.into_inner();
                    let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let name = self.ident(&name);
                    let (e, d) = self.expr(value);
                    depth = depth.max(d);
                    fields.push((name, e));
                }
                self.node(ExprKind::Record(fields), span, depth + 1)
            }
            Rule::period_lit => {
                let mut parts = pair.into_inner();
                let (Some(amount), Some(unit)) = (parts.next(), parts.next()) else {
                    return Self::placeholder(span);
                };
                let Some(amount) = self.int(&amount) else {
                    return Self::placeholder(span);
                };
                let unit = match unit.as_str() {
                    "year" | "years" => PeriodUnit::Years,
                    "month" | "months" => PeriodUnit::Months,
                    _ => PeriodUnit::Days,
                };
                self.node(
                    ExprKind::Period {
                        amount: amount.value,
                        unit,
                    },
                    span,
                    1,
                )
            }
            Rule::date_lit => match self.date(&pair) {
                Some(d) => self.node(ExprKind::Date(d.date), span, 1),
                None => Self::placeholder(span),
            },
            Rule::int_lit => match self.int(&pair) {
                Some(i) => self.node(ExprKind::Int(i.value), span, 1),
                None => Self::placeholder(span),
            },
            Rule::string_lit => {
                let s = self.string(pair);
                self.node(ExprKind::Text(s.value), span, 1)
            }
            Rule::bool_lit => {
                let value = pair.as_str() == "true";
                self.node(ExprKind::Bool(value), span, 1)
            }
            Rule::country_lit => self.node(ExprKind::Country(pair.as_str().to_string()), span, 1),
            Rule::case_ref => self.node(ExprKind::Case, span, 1),
            Rule::name => self.node(ExprKind::Name(pair.as_str().to_string()), span, 1),
            _ => match pair.into_inner().next() {
                Some(p) => self.expr(p),
                None => Self::placeholder(span),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::significant_len;
    use crate::source::SourceFile;
    use crate::syntax::parse;

    fn codes_of(text: &str) -> Vec<&'static str> {
        match parse(&SourceFile::new("t.policy", text)) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(|d| d.code).collect(),
        }
    }

    #[test]
    fn control_characters_in_strings_are_refused_written_or_escaped() {
        assert_eq!(
            codes_of("basis \"a\tb \\n \\t \\u{e9}\""),
            Vec::<&str>::new()
        );
        for text in [
            "basis \"a\u{7}b\"",
            "basis \"a\\u{1b}[2Jb\"",
            "basis \"a\rb\"",
            "basis \"a\\u{85}b\u{1b}\"",
        ] {
            assert_eq!(
                codes_of(text),
                ["readmit::parse::control_character"],
                "{text:?}"
            );
        }
    }

    #[test]
    fn spans_end_at_the_last_significant_character() {
        assert_eq!(significant_len("a and b  // why\n  "), 7);
        assert_eq!(significant_len("\"x // not a comment\"  "), 20);
        assert_eq!(significant_len("ç  "), 2);
        assert_eq!(significant_len("   // only a comment"), 0);
    }
}
