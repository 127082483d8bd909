//! The abstract syntax of a policy file, as written.
//!
//! Input: built by `syntax::lower` from the parse tree. Output: read by `check` (and the
//! formatter). Every node carries a [`Span`]; equality ignores spans, so two trees are equal when
//! they say the same thing in any layout. Names are not resolved here and types are not known:
//! a bare word `plane` is a [`ExprKind::Name`] until the checker decides what it is.

use crate::dates::{Date, PeriodUnit};
use crate::source::Span;

/// A word the drafter wrote: a field, let, rule, outcome, cap or enum value name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The word.
    pub name: String,
    /// Where it stands.
    pub span: Span,
}

/// A string literal, escapes resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    /// The text, escapes resolved.
    pub value: String,
    /// Where it stands, quotes included.
    pub span: Span,
}

/// A date literal such as `2016-01-22`, already a calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateLit {
    /// The date.
    pub date: Date,
    /// Where it stands.
    pub span: Span,
}

/// A whole file: a flat list of items, in the order written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    /// The items.
    pub items: Vec<Item>,
}

/// One top-level item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// What it is.
    pub kind: ItemKind,
    /// The whole item.
    pub span: Span,
}

/// The kinds of top-level items.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    /// `schema Case { … }`.
    Schema(SchemaDef),
    /// `policy storskog version 2016-02-03`.
    PolicyHeader {
        /// The policy's name.
        policy: Ident,
        /// The version's id.
        version: VersionId,
    },
    /// `in force from D [until D]`.
    InForce {
        /// First day in force.
        from: DateLit,
        /// Last day in force, if the version says.
        until: Option<DateLit>,
    },
    /// `basis "…"`: the legal basis of the whole version.
    Basis(StrLit),
    /// `schema Case from "schema.policy"`.
    SchemaRef {
        /// The schema's name.
        name: Ident,
        /// The file that holds it, relative to the policy folder.
        path: StrLit,
    },
    /// `as of case.decision_date`.
    AsOf(Expr),
    /// `let name = expr`.
    Let(LetDef),
    /// `outcome name { attributes }`.
    Outcome(OutcomeDef),
    /// `rule name: when … then … because …`.
    Rule(RuleDef),
    /// `otherwise outcome …`.
    Otherwise(OtherwiseDef),
    /// `cap name { … }`.
    Cap(CapDef),
    /// `warn "message" when cond`: a consistency check of the record.
    Warn(WarnDef),
    /// `test "name" { … }`.
    Test(TestDef),
}

/// `warn "message" when cond`.
#[derive(Debug, Clone, PartialEq)]
pub struct WarnDef {
    /// What the caseworker is told.
    pub message: StrLit,
    /// When.
    pub when: Expr,
}

/// A version id: a date (`2016-02-03`), a word or a quoted string, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionId {
    /// The id as text.
    pub text: String,
    /// Where it stands.
    pub span: Span,
}

/// `schema Name [open] { fields }`.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaDef {
    /// The schema's name.
    pub name: Ident,
    /// The record type of a case.
    pub record: RecordTypeExpr,
}

/// A record type: its fields, and whether unknown fields are accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordTypeExpr {
    /// `open`: fields not listed are accepted and ignored.
    pub open: bool,
    /// The fields, in the order written.
    pub fields: Vec<FieldDecl>,
    /// The braces and what they hold.
    pub span: Span,
}

/// `name: type`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    /// The field's name.
    pub name: Ident,
    /// Its type.
    pub ty: TypeExpr,
    /// The whole declaration.
    pub span: Span,
}

/// A type as written.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    /// What it is.
    pub kind: TypeKind,
    /// Where it stands.
    pub span: Span,
}

/// The kinds of type expressions.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// `optional T`.
    Optional(Box<TypeExpr>),
    /// `list of T`.
    List(Box<TypeExpr>),
    /// `{ … }` or `open { … }`.
    Record(RecordTypeExpr),
    /// A single word, possibly with a range: `int 1..20`, `text 1..64`, `date`, or a one-value
    /// enum. The checker tells them apart.
    Word {
        /// The word.
        word: Ident,
        /// `lo..hi`, inclusive.
        range: Option<RangeLit>,
    },
    /// `a | b | c`.
    Enum(Vec<Ident>),
}

/// `lo..hi`, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeLit {
    /// Smallest allowed.
    pub lo: i64,
    /// Largest allowed.
    pub hi: i64,
    /// Where it stands.
    pub span: Span,
}

/// `let name = expr`.
#[derive(Debug, Clone, PartialEq)]
pub struct LetDef {
    /// The name.
    pub name: Ident,
    /// What it stands for.
    pub value: Expr,
}

/// `outcome name { attributes }`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeDef {
    /// The name.
    pub name: Ident,
    /// Its declared attributes, in order.
    pub attributes: Vec<Attr>,
}

/// `name: value` in an outcome, a `with` block or an `expect … with` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// The attribute's name.
    pub name: Ident,
    /// Its value, or only its type.
    pub value: AttrValue,
    /// The whole attribute.
    pub span: Span,
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// Declared by type only (`programme: text`): each deciding rule sets it with `with`.
    Type(Ident),
    /// A value, possibly computed from the case.
    Expr(Expr),
}

/// `rule name: when … [unless …] then … because … [cites …]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    /// The rule's name.
    pub name: Ident,
    /// The condition.
    pub when: Option<Expr>,
    /// The exception.
    pub unless: Option<Expr>,
    /// What it decides.
    pub then: Option<Then>,
    /// The reason in words.
    pub because: Option<StrLit>,
    /// Legal provisions cited.
    pub cites: Vec<StrLit>,
}

/// `then outcome [with { … }] [within cap c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Then {
    /// The outcome decided.
    pub outcome: Ident,
    /// Attributes set or overridden.
    pub with: Vec<Attr>,
    /// The cap that rations this outcome.
    pub cap: Option<Ident>,
    /// The whole clause.
    pub span: Span,
}

/// `otherwise outcome [with { … }] because … [cites …]`.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherwiseDef {
    /// The outcome decided when no rule holds.
    pub outcome: Ident,
    /// Attributes set or overridden.
    pub with: Vec<Attr>,
    /// The reason in words.
    pub because: Option<StrLit>,
    /// Legal provisions cited.
    pub cites: Vec<StrLit>,
}

/// `cap name { limit …  counts grants …  order by …  overflow … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct CapDef {
    /// The cap's name.
    pub name: Ident,
    /// `limit N`.
    pub limit: Option<IntLit>,
    /// `counts grants [of a, b] [from D]`.
    pub counts: Option<CountsClause>,
    /// `order by k1, k2`.
    pub order_by: Vec<Expr>,
    /// `overflow outcome`.
    pub overflow: Option<Ident>,
}

/// An integer literal with its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntLit {
    /// The value.
    pub value: i64,
    /// Where it stands.
    pub span: Span,
}

/// Which grants in the ledger count against a cap.
#[derive(Debug, Clone, PartialEq)]
pub struct CountsClause {
    /// Only grants of these caps; every cap of the policy when empty.
    pub caps: Vec<Ident>,
    /// Only grants whose as-of date is on or after this day.
    pub from: Option<DateLit>,
    /// The whole clause.
    pub span: Span,
}

/// `test "name" { version …  case …  expect … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct TestDef {
    /// The test's name.
    pub name: StrLit,
    /// `version V`: evaluate as if V were in force.
    pub version: Option<VersionId>,
    /// `as of D`: evaluate with the version in force on D.
    pub as_of: Option<DateLit>,
    /// The case.
    pub case: Option<TestCase>,
    /// What should be decided.
    pub expect: Option<Expect>,
}

/// The case of a test.
#[derive(Debug, Clone, PartialEq)]
pub enum TestCase {
    /// `case { … }`: a record written in the policy language.
    Inline(Expr),
    /// `case from "cases.jsonl" id "T1"`: the record of a JSON Lines file whose field has that value.
    FromFile {
        /// The file, relative to the test file's folder.
        path: StrLit,
        /// The field to match.
        field: Ident,
        /// The value it must have.
        value: StrLit,
    },
}

/// `expect outcome [by rule r] [with { … }] [cites …]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// The expected outcome.
    pub outcome: Ident,
    /// The expected deciding rule.
    pub rule: Option<Ident>,
    /// Expected attribute values.
    pub with: Vec<Attr>,
    /// Expected citations.
    pub cites: Vec<StrLit>,
    /// The whole clause.
    pub span: Span,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it stands.
    pub span: Span,
}

/// The kinds of expressions.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `true`, `false`.
    Bool(bool),
    /// `42`.
    Int(i64),
    /// `"Moscow"`.
    Text(String),
    /// `2016-01-22`.
    Date(Date),
    /// `RU`: two capitals, checked against ISO 3166-1 by the checker.
    Country(String),
    /// `1 year`, `30 days`.
    Period {
        /// How many.
        amount: i64,
        /// Of what.
        unit: PeriodUnit,
    },
    /// `case`: the case record.
    Case,
    /// A bare word: a let, a quantifier's variable, an enum value or a symbol.
    Name(String),
    /// `base.field`.
    Field {
        /// What the field is read from.
        base: Box<Expr>,
        /// The field.
        field: Ident,
    },
    /// `list[n]`.
    Index {
        /// The list.
        base: Box<Expr>,
        /// The position, from 0.
        index: IntLit,
    },
    /// `[a, b, c]`.
    List(Vec<Expr>),
    /// `{ name: value, … }`: a record, in tests and `with` blocks.
    Record(Vec<(Ident, Expr)>),
    /// `years(a, b)`.
    Call {
        /// The function.
        function: Ident,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `( e )`, kept so that the formatter keeps the drafter's parentheses.
    Paren(Box<Expr>),
    /// `not e`, `-e`.
    Unary {
        /// Which.
        op: UnaryOp,
        /// Applied to.
        operand: Box<Expr>,
    },
    /// `a and b and c`: every operand holds. Kept flat: a long chain is one node.
    And(Vec<Expr>),
    /// `a or b or c`: some operand holds.
    Or(Vec<Expr>),
    /// `a == b`, `a + b`, …
    Binary {
        /// Which.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `base has field`.
    Has {
        /// The record.
        base: Box<Expr>,
        /// The optional field.
        field: Ident,
    },
    /// `item in collection`, `item not in collection`.
    In {
        /// `not in`.
        negated: bool,
        /// The value looked for.
        item: Box<Expr>,
        /// A list.
        collection: Box<Expr>,
    },
    /// `any x in list: cond`, `all x in list: cond`.
    Quantifier {
        /// `any` or `all`.
        kind: Quantifier,
        /// The variable.
        var: Ident,
        /// The list.
        list: Box<Expr>,
        /// The condition.
        body: Box<Expr>,
    },
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`.
    Not,
    /// `-`.
    Neg,
}

/// Binary operators other than `and`/`or`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
        }
    }

    /// Whether it compares (gives a bool) rather than computes.
    pub fn is_comparison(self) -> bool {
        !matches!(self, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul)
    }
}

/// `any` or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// Some element satisfies the condition.
    Any,
    /// Every element satisfies the condition (true for an empty list).
    All,
}
