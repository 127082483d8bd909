//! The canonical layout: each item of a file as a list of [`Line`]s, each line anchored to the
//! source text it prints so that comments can find their place.

use super::MAX_WIDTH;
use super::comments::Src;
use super::expr::{attr, attr_block, expr, record_prefix, string, strings, type_expr, version_id};
use crate::ast::{
    CapDef, Expect, Expr, ExprKind, FieldDecl, File, Item, ItemKind, LetDef, OtherwiseDef,
    OutcomeDef, RecordTypeExpr, RuleDef, TestCase, TestDef, Then, TypeExpr, WarnDef,
};
use crate::dates::format_date;

/// Whether an empty line may, or must, come before a line (and before the comments above it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Blank {
    /// Always: between items that are not grouped.
    Forced,
    /// Only where the source has one before the comments above the line.
    Allowed,
    /// Never: the first line of a block, a continuation line.
    Never,
}

/// One printed line.
#[derive(Debug, Clone)]
pub(super) struct Line {
    /// Spaces before it.
    pub indent: usize,
    /// The code, without the indentation.
    pub text: String,
    /// The source bytes it prints, from its first to its last token; `None` without a source.
    pub anchor: Option<(usize, usize)>,
    /// Empty lines before it.
    pub blank: Blank,
    /// A closing brace: comments above it are indented as the block's content.
    pub closing: bool,
    /// The first line of an item: empty lines between the comments above it are kept.
    pub top: bool,
}

/// Builds the lines of a file.
pub(super) struct Layout<'s, 'a> {
    src: &'s Src<'a>,
    /// The lines so far.
    pub lines: Vec<Line>,
}

fn width(indent: usize, text: &str) -> usize {
    indent + text.chars().count()
}

/// The operator and operands of a top-level `and`/`or`.
fn and_or(e: &Expr) -> Option<(&'static str, &[Expr])> {
    match &e.kind {
        ExprKind::And(operands) => Some(("and", operands)),
        ExprKind::Or(operands) => Some(("or", operands)),
        _ => None,
    }
}

fn is_header(kind: &ItemKind) -> bool {
    matches!(
        kind,
        ItemKind::PolicyHeader { .. }
            | ItemKind::InForce { .. }
            | ItemKind::Basis(_)
            | ItemKind::SchemaRef { .. }
            | ItemKind::AsOf(_)
    )
}

impl<'s, 'a> Layout<'s, 'a> {
    pub fn new(src: &'s Src<'a>) -> Self {
        Layout {
            src,
            lines: Vec::new(),
        }
    }

    fn push(&mut self, indent: usize, text: String, anchor: (usize, usize), blank: Blank) {
        let anchor = (!self.src.text.is_empty()).then(|| {
            let (start, end) = anchor;
            (start, self.src.code_end(start, end.max(start)))
        });
        self.lines.push(Line {
            indent,
            text,
            anchor,
            blank,
            closing: false,
            top: false,
        });
    }

    fn push_closing(&mut self, indent: usize, end: usize, blank: Blank) {
        self.push(indent, "}".to_string(), (end.saturating_sub(1), end), blank);
        if let Some(line) = self.lines.last_mut() {
            line.closing = true;
        }
    }

    /// Whether a comment lies between two operands of a chain.
    fn comment_between(&self, operands: &[Expr]) -> bool {
        operands
            .windows(2)
            .any(|w| matches!(w, [x, y] if self.src.has_comment_in(self.end(x.span), y.span.start)))
    }

    /// Where a node's code ends: a node's span may run on over the whitespace and comments
    /// after it.
    fn end(&self, span: crate::source::Span) -> usize {
        self.src.code_end(span.start, span.end)
    }

    /// After `pos`, the position just past `ch` (skipping space, comments and, if asked,
    /// commas), or `pos` when `ch` is not next.
    fn past(&self, pos: usize, ch: char, commas: bool) -> usize {
        self.src.char_after(pos, ch, commas).map_or(pos, |p| p + 1)
    }

    /// Lays out every item; decides the empty lines between them.
    pub fn file(&mut self, file: &File) {
        let mut previous: Option<(&ItemKind, bool)> = None;
        for item in &file.items {
            let first = self.lines.len();
            self.item(item);
            let single = self.lines.len() == first + 1;
            let blank = match previous {
                None => Blank::Never,
                Some((kind, was_single)) => {
                    let grouped = (is_header(kind) && is_header(&item.kind))
                        || (std::mem::discriminant(kind) == std::mem::discriminant(&item.kind)
                            && was_single
                            && single);
                    if grouped {
                        Blank::Allowed
                    } else {
                        Blank::Forced
                    }
                }
            };
            if let Some(line) = self.lines.get_mut(first) {
                line.blank = blank;
                line.top = true;
            }
            previous = Some((&item.kind, single));
        }
    }

    fn item(&mut self, item: &Item) {
        let span = (item.span.start, item.span.end);
        match &item.kind {
            ItemKind::Schema(def) => {
                let open = if def.record.open { " open" } else { "" };
                let head = format!("schema {}{open}", def.name.name);
                self.record_type(0, head, item.span.start, &def.record, Blank::Never);
            }
            ItemKind::PolicyHeader { policy, version } => {
                let text = format!("policy {} version {}", policy.name, version_id(version));
                self.push(0, text, span, Blank::Never);
            }
            ItemKind::InForce { from, until } => {
                let mut text = format!("in force from {}", format_date(from.date));
                if let Some(until) = until {
                    text.push_str(" until ");
                    text.push_str(&format_date(until.date));
                }
                self.push(0, text, span, Blank::Never);
            }
            ItemKind::Basis(basis) => {
                self.push(
                    0,
                    format!("basis {}", string(&basis.value)),
                    span,
                    Blank::Never,
                );
            }
            ItemKind::SchemaRef { name, path } => {
                let text = format!("schema {} from {}", name.name, string(&path.value));
                self.push(0, text, span, Blank::Never);
            }
            ItemKind::AsOf(e) => self.push(0, format!("as of {}", expr(e)), span, Blank::Never),
            ItemKind::Let(def) => self.let_def(item, def),
            ItemKind::Outcome(def) => self.outcome(item, def),
            ItemKind::Rule(def) => self.rule(item, def),
            ItemKind::Otherwise(def) => self.otherwise(item, def),
            ItemKind::Cap(def) => self.cap(item, def),
            ItemKind::Warn(def) => self.warn(item, def),
            ItemKind::Test(def) => self.test(item, def),
        }
    }

    // --------------------------------------------------------------------------------------------
    // Schemas

    /// Whether a field's type is printed over several lines: it ends in a record with fields
    /// (or with comments inside).
    fn multiline_type(&self, ty: &TypeExpr) -> bool {
        record_prefix(ty).is_some_and(|(_, record)| {
            !record.fields.is_empty()
                || self
                    .src
                    .has_comment_in(record.span.start, self.end(record.span))
        })
    }

    /// `head {`, the fields one per line, `}`; or `head {}`.
    fn record_type(
        &mut self,
        indent: usize,
        head: String,
        head_start: usize,
        record: &RecordTypeExpr,
        blank: Blank,
    ) {
        let (start, end) = (record.span.start, self.end(record.span));
        if record.fields.is_empty() && !self.src.has_comment_in(start, end) {
            self.push(indent, format!("{head} {{}}"), (head_start, end), blank);
            return;
        }
        self.push(indent, format!("{head} {{"), (head_start, start + 1), blank);
        self.fields(indent + 2, &record.fields);
        let closing_blank = if record.fields.is_empty() {
            Blank::Never
        } else {
            Blank::Allowed
        };
        self.push_closing(indent, end, closing_blank);
    }

    /// Schema fields, one per line, their types aligned in a column.
    fn fields(&mut self, indent: usize, fields: &[FieldDecl]) {
        let column = fields
            .iter()
            .filter(|f| !self.multiline_type(&f.ty))
            .map(|f| f.name.name.chars().count() + 1)
            .max()
            .unwrap_or(0);
        for (i, field) in fields.iter().enumerate() {
            let blank = if i == 0 { Blank::Never } else { Blank::Allowed };
            let label = format!("{}:", field.name.name);
            match record_prefix(&field.ty).filter(|_| self.multiline_type(&field.ty)) {
                Some((prefix, record)) => {
                    let head = if prefix.is_empty() {
                        label
                    } else {
                        format!("{label} {prefix}")
                    };
                    self.record_type(indent, head, field.span.start, record, blank);
                }
                None => {
                    let text = format!("{label:<column$} {}", type_expr(&field.ty));
                    self.push(indent, text, (field.span.start, field.span.end), blank);
                }
            }
        }
    }

    // --------------------------------------------------------------------------------------------
    // Declarations

    /// `let x = e` on one line when it fits; otherwise `let x =` and the expression below,
    /// broken at its top-level `and`/`or`.
    fn let_def(&mut self, item: &Item, def: &LetDef) {
        let value = expr(&def.value);
        let head = format!("let {} =", def.name.name);
        let one = format!("{head} {value}");
        let chain = and_or(&def.value);
        let between = chain.is_some_and(|(_, operands)| self.comment_between(operands));
        if width(0, &one) <= MAX_WIDTH && !between {
            self.push(0, one, (item.span.start, item.span.end), Blank::Never);
            return;
        }
        let equals = self.past(def.name.span.end, '=', false);
        self.push(0, head, (item.span.start, equals), Blank::Never);
        match chain {
            Some((op, operands)) => {
                for (i, operand) in operands.iter().enumerate() {
                    let (text, start) = if i == 0 {
                        (expr(operand), operand.span.start)
                    } else {
                        let start = self.src.keywords_before(operand.span.start, &[op]);
                        (format!("{op} {}", expr(operand)), start)
                    };
                    self.push(2, text, (start, operand.span.end), Blank::Never);
                }
            }
            None => {
                let span = (def.value.span.start, def.value.span.end);
                self.push(2, value, span, Blank::Never);
            }
        }
    }

    /// `KEYWORD condition`, broken at its top-level `and`/`or` when it does not fit (or holds
    /// comments between operands): continuation lines start with the operator, two spaces in.
    fn condition(&mut self, indent: usize, keyword: &str, e: &Expr, blank: Blank) {
        let start = self.src.keywords_before(e.span.start, &[keyword]);
        let one = format!("{keyword} {}", expr(e));
        let chain = and_or(e).filter(|(_, operands)| {
            width(indent, &one) > MAX_WIDTH || self.comment_between(operands)
        });
        let Some((op, operands)) = chain else {
            self.push(indent, one, (start, e.span.end), blank);
            return;
        };
        for (i, operand) in operands.iter().enumerate() {
            if i == 0 {
                let text = format!("{keyword} {}", expr(operand));
                self.push(indent, text, (start, operand.span.end), blank);
            } else {
                let op_start = self.src.keywords_before(operand.span.start, &[op]);
                let text = format!("{op} {}", expr(operand));
                self.push(indent + 2, text, (op_start, operand.span.end), Blank::Never);
            }
        }
    }

    /// `outcome x { a: 1 }` on one line when it fits and holds no comment; otherwise one
    /// attribute per line.
    fn outcome(&mut self, item: &Item, def: &OutcomeDef) {
        let span = (item.span.start, item.span.end);
        let head = format!("outcome {}", def.name.name);
        if def.attributes.is_empty() {
            self.push(0, head, span, Blank::Never);
            return;
        }
        let one = format!("{head} {}", attr_block(&def.attributes));
        let brace = self
            .src
            .char_after(def.name.span.end, '{', false)
            .unwrap_or(def.name.span.end);
        if width(0, &one) <= MAX_WIDTH && !self.src.has_comment_in(brace, self.end(item.span)) {
            self.push(0, one, span, Blank::Never);
            return;
        }
        self.push(
            0,
            format!("{head} {{"),
            (item.span.start, brace + 1),
            Blank::Never,
        );
        for (i, a) in def.attributes.iter().enumerate() {
            let blank = if i == 0 { Blank::Never } else { Blank::Allowed };
            self.push(2, attr(a), (a.span.start, a.span.end), blank);
        }
        self.push_closing(0, self.end(item.span), Blank::Allowed);
    }

    fn then_text(then: &Then) -> String {
        let mut text = format!("then {}", then.outcome.name);
        if !then.with.is_empty() {
            text.push_str(" with ");
            text.push_str(&attr_block(&then.with));
        }
        if let Some(cap) = &then.cap {
            text.push_str(" within cap ");
            text.push_str(&cap.name);
        }
        text
    }

    /// A clause line of a rule or `otherwise`: the first is never preceded by an empty line.
    fn clause_blank(first: &mut bool) -> Blank {
        if std::mem::replace(first, false) {
            Blank::Never
        } else {
            Blank::Allowed
        }
    }

    fn because_and_cites(
        &mut self,
        because: Option<&crate::ast::StrLit>,
        cites: &[crate::ast::StrLit],
        first: &mut bool,
    ) {
        if let Some(because) = because {
            let start = self.src.keywords_before(because.span.start, &["because"]);
            let text = format!("because {}", string(&because.value));
            let blank = Self::clause_blank(first);
            self.push(2, text, (start, because.span.end), blank);
        }
        if let (Some(head), Some(last)) = (cites.first(), cites.last()) {
            let start = self.src.keywords_before(head.span.start, &["cites"]);
            let text = format!("cites {}", strings(cites.iter().map(|c| c.value.as_str())));
            let blank = Self::clause_blank(first);
            self.push(2, text, (start, last.span.end), blank);
        }
    }

    /// `rule x:` and its clauses, one per line, in the order `when`, `unless`, `then`,
    /// `because`, `cites`.
    fn rule(&mut self, item: &Item, def: &RuleDef) {
        let colon = self.past(def.name.span.end, ':', false);
        let head = format!("rule {}:", def.name.name);
        self.push(0, head, (item.span.start, colon), Blank::Never);
        let mut first = true;
        if let Some(when) = &def.when {
            let blank = Self::clause_blank(&mut first);
            self.condition(2, "when", when, blank);
        }
        if let Some(unless) = &def.unless {
            let blank = Self::clause_blank(&mut first);
            self.condition(2, "unless", unless, blank);
        }
        if let Some(then) = &def.then {
            let blank = Self::clause_blank(&mut first);
            self.push(
                2,
                Self::then_text(then),
                (then.span.start, then.span.end),
                blank,
            );
        }
        self.because_and_cites(def.because.as_ref(), &def.cites, &mut first);
    }

    /// `otherwise x [with { … }]`, then `because` and `cites` on their own lines.
    fn otherwise(&mut self, item: &Item, def: &OtherwiseDef) {
        let mut head = format!("otherwise {}", def.outcome.name);
        let mut head_end = def.outcome.span.end;
        if let Some(last) = def.with.last() {
            head.push_str(" with ");
            head.push_str(&attr_block(&def.with));
            head_end = self.past(last.span.end, '}', true);
        }
        self.push(0, head, (item.span.start, head_end), Blank::Never);
        let mut first = true;
        self.because_and_cites(def.because.as_ref(), &def.cites, &mut first);
    }

    /// `warn "…"` and its `when` on the next line.
    fn warn(&mut self, item: &Item, def: &WarnDef) {
        let text = format!("warn {}", string(&def.message.value));
        self.push(
            0,
            text,
            (item.span.start, def.message.span.end),
            Blank::Never,
        );
        self.condition(2, "when", &def.when, Blank::Never);
    }

    /// `cap x {`, its clauses one per line (`limit`, `counts grants`, `order by`, `overflow`),
    /// `}`.
    fn cap(&mut self, item: &Item, def: &CapDef) {
        let head = format!("cap {}", def.name.name);
        let brace = self.past(def.name.span.end, '{', false);
        let empty = def.limit.is_none()
            && def.counts.is_none()
            && def.order_by.is_empty()
            && def.overflow.is_none();
        if empty && !self.src.has_comment_in(brace, self.end(item.span)) {
            let span = (item.span.start, item.span.end);
            self.push(0, format!("{head} {{}}"), span, Blank::Never);
            return;
        }
        self.push(
            0,
            format!("{head} {{"),
            (item.span.start, brace),
            Blank::Never,
        );
        let mut first = true;
        if let Some(limit) = &def.limit {
            let start = self.src.keywords_before(limit.span.start, &["limit"]);
            let blank = Self::clause_blank(&mut first);
            let text = format!("limit {}", limit.value);
            self.push(2, text, (start, limit.span.end), blank);
        }
        if let Some(counts) = &def.counts {
            let mut text = "counts grants".to_string();
            if !counts.caps.is_empty() {
                let names: Vec<&str> = counts.caps.iter().map(|c| c.name.as_str()).collect();
                text.push_str(" of ");
                text.push_str(&names.join(", "));
            }
            if let Some(from) = &counts.from {
                text.push_str(" from ");
                text.push_str(&format_date(from.date));
            }
            let blank = Self::clause_blank(&mut first);
            self.push(2, text, (counts.span.start, counts.span.end), blank);
        }
        if let (Some(head), Some(last)) = (def.order_by.first(), def.order_by.last()) {
            let start = self.src.keywords_before(head.span.start, &["order", "by"]);
            let keys: Vec<String> = def.order_by.iter().map(expr).collect();
            let text = format!("order by {}", keys.join(", "));
            let blank = Self::clause_blank(&mut first);
            self.push(2, text, (start, last.span.end), blank);
        }
        if let Some(overflow) = &def.overflow {
            let start = self.src.keywords_before(overflow.span.start, &["overflow"]);
            let text = format!("overflow {}", overflow.name);
            let blank = Self::clause_blank(&mut first);
            self.push(2, text, (start, overflow.span.end), blank);
        }
        let blank = if first { Blank::Never } else { Blank::Allowed };
        self.push_closing(0, self.end(item.span), blank);
    }

    /// `test "…" {`, its clauses one per line (`version`, `as of`, `case`, `expect`), `}`. A
    /// `case { … }` record has one field per line, commas after all but the last.
    fn test(&mut self, item: &Item, def: &TestDef) {
        let head = format!("test {}", string(&def.name.value));
        let brace = self.past(def.name.span.end, '{', false);
        let empty = def.version.is_none()
            && def.as_of.is_none()
            && def.case.is_none()
            && def.expect.is_none();
        if empty && !self.src.has_comment_in(brace, self.end(item.span)) {
            let span = (item.span.start, item.span.end);
            self.push(0, format!("{head} {{}}"), span, Blank::Never);
            return;
        }
        self.push(
            0,
            format!("{head} {{"),
            (item.span.start, brace),
            Blank::Never,
        );
        let mut first = true;
        if let Some(version) = &def.version {
            let start = self.src.keywords_before(version.span.start, &["version"]);
            let text = format!("version {}", version_id(version));
            let blank = Self::clause_blank(&mut first);
            self.push(2, text, (start, version.span.end), blank);
        }
        if let Some(date) = &def.as_of {
            let start = self.src.keywords_before(date.span.start, &["as", "of"]);
            let text = format!("as of {}", format_date(date.date));
            let blank = Self::clause_blank(&mut first);
            self.push(2, text, (start, date.span.end), blank);
        }
        match &def.case {
            Some(TestCase::Inline(record)) => {
                let blank = Self::clause_blank(&mut first);
                self.case_record(record, blank);
            }
            Some(TestCase::FromFile { path, field, value }) => {
                let start = self.src.keywords_before(path.span.start, &["case", "from"]);
                let text = format!(
                    "case from {} {} {}",
                    string(&path.value),
                    field.name,
                    string(&value.value)
                );
                let blank = Self::clause_blank(&mut first);
                self.push(2, text, (start, value.span.end), blank);
            }
            None => {}
        }
        if let Some(expect) = &def.expect {
            let blank = Self::clause_blank(&mut first);
            self.expect(expect, blank);
        }
        let blank = if first { Blank::Never } else { Blank::Allowed };
        self.push_closing(0, self.end(item.span), blank);
    }

    /// `expect o [by rule r] [with { … }] [cites …]` on one line when it fits; otherwise its
    /// `with` and `cites` on lines of their own, two spaces further in.
    fn expect(&mut self, expect: &Expect, blank: Blank) {
        let mut head = format!("expect {}", expect.outcome.name);
        let mut head_end = expect.outcome.span.end;
        if let Some(rule) = &expect.rule {
            head.push_str(" by rule ");
            head.push_str(&rule.name);
            head_end = rule.span.end;
        }
        let mut details = Vec::new();
        if let (Some(first), Some(last)) = (expect.with.first(), expect.with.last()) {
            let start = self.src.keywords_before(first.span.start, &["with", "{"]);
            let end = self.past(self.end(last.span), '}', true);
            details.push((format!("with {}", attr_block(&expect.with)), start, end));
        }
        if let (Some(first), Some(last)) = (expect.cites.first(), expect.cites.last()) {
            let start = self.src.keywords_before(first.span.start, &["cites"]);
            let text = strings(expect.cites.iter().map(|c| c.value.as_str()));
            details.push((format!("cites {text}"), start, last.span.end));
        }
        let one = details.iter().fold(head.clone(), |line, (detail, _, _)| {
            format!("{line} {detail}")
        });
        if width(2, &one) <= MAX_WIDTH {
            self.push(2, one, (expect.span.start, expect.span.end), blank);
            return;
        }
        self.push(2, head, (expect.span.start, head_end), blank);
        for (text, start, end) in details {
            self.push(4, text, (start, end), Blank::Never);
        }
    }

    /// `case {`, one field per line, `}`.
    fn case_record(&mut self, record: &Expr, blank: Blank) {
        let start = self.src.keywords_before(record.span.start, &["case"]);
        let (open, end) = (record.span.start, self.end(record.span));
        let fields = match &record.kind {
            ExprKind::Record(fields)
                if !fields.is_empty() || self.src.has_comment_in(open, end) =>
            {
                fields
            }
            _ => {
                self.push(2, format!("case {}", expr(record)), (start, end), blank);
                return;
            }
        };
        self.push(2, "case {".to_string(), (start, open + 1), blank);
        for (i, (name, value)) in fields.iter().enumerate() {
            let comma = if i + 1 < fields.len() { "," } else { "" };
            let text = format!("{}: {}{comma}", name.name, expr(value));
            let blank = if i == 0 { Blank::Never } else { Blank::Allowed };
            self.push(4, text, (name.span.start, value.span.end), blank);
        }
        let blank = if fields.is_empty() {
            Blank::Never
        } else {
            Blank::Allowed
        };
        self.push_closing(2, end, blank);
    }
}
