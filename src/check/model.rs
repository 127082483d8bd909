//! The checked policy: what `check` hands to `compile`.
//!
//! Names are resolved (fields to their index in the record type, lets to their number, enum
//! values to their index, countries parsed) and every expression carries its type. Nothing here
//! can fail to evaluate except by the documented saturation of date arithmetic.

use std::sync::Arc;

use crate::ast;
use crate::check::types::{EnumId, Schema, Ty};
use crate::country::Country;
use crate::dates::{Date, PeriodUnit};
use crate::source::{SourceFile, Span};

/// A checked expression.
#[derive(Debug, Clone)]
pub struct TExpr {
    /// What it computes.
    pub kind: TExprKind,
    /// Its type.
    pub ty: Ty,
    /// Where it is written.
    pub span: Span,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
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
}

impl CmpOp {
    /// As written.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Whether an ordering of the two sides satisfies it.
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ordering == Equal,
            CmpOp::Ne => ordering != Equal,
            CmpOp::Lt => ordering == Less,
            CmpOp::Le => ordering != Greater,
            CmpOp::Gt => ordering == Greater,
            CmpOp::Ge => ordering != Less,
        }
    }
}

/// Integer arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
}

/// Built-in functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `years(a, b)`: whole calendar years from a to b.
    Years,
    /// `months(a, b)`: whole calendar months from a to b.
    Months,
    /// `days(a, b)`: days from a to b.
    Days,
    /// `count(list)`: its length.
    Count,
    /// `before(list, x)`: the elements before the first `x` (all of them if there is none).
    Before,
}

/// The kinds of checked expressions.
#[derive(Debug, Clone)]
pub enum TExprKind {
    /// A bool constant.
    Bool(bool),
    /// An int constant.
    Int(i64),
    /// A text constant.
    Text(Arc<str>),
    /// A date constant.
    Date(Date),
    /// A country constant.
    Country(Country),
    /// A value of an enum.
    EnumValue {
        /// The enum.
        enum_id: EnumId,
        /// Its position among the enum's values.
        index: u32,
    },
    /// A bare word in an attribute, written out as text.
    Symbol(Arc<str>),
    /// The case record.
    Case,
    /// A quantifier's variable, by nesting depth (0 = outermost).
    Var(usize),
    /// A let, by number.
    Let(usize),
    /// A field of a record.
    Field {
        /// The record.
        base: Box<TExpr>,
        /// The field's index in its record type.
        field: usize,
    },
    /// Whether an optional field is present.
    Has {
        /// The record.
        base: Box<TExpr>,
        /// The field's index.
        field: usize,
    },
    /// An element of a list by position (guarded by a length test).
    Index {
        /// The list.
        base: Box<TExpr>,
        /// The position.
        index: usize,
    },
    /// A list literal.
    List(Vec<TExpr>),
    /// `not`.
    Not(Box<TExpr>),
    /// Unary minus.
    Neg(Box<TExpr>),
    /// Every operand holds (left to right, stops at the first false).
    And(Vec<TExpr>),
    /// Some operand holds (left to right, stops at the first true).
    Or(Vec<TExpr>),
    /// A comparison.
    Compare {
        /// Operator.
        op: CmpOp,
        /// Left.
        lhs: Box<TExpr>,
        /// Right.
        rhs: Box<TExpr>,
    },
    /// Checked integer arithmetic.
    Arith {
        /// Operator.
        op: ArithOp,
        /// Left.
        lhs: Box<TExpr>,
        /// Right.
        rhs: Box<TExpr>,
    },
    /// `date ± n unit`.
    DateShift {
        /// The date.
        date: Box<TExpr>,
        /// Signed amount.
        amount: i64,
        /// The unit.
        unit: PeriodUnit,
    },
    /// Membership.
    In {
        /// `not in`.
        negated: bool,
        /// The value.
        item: Box<TExpr>,
        /// The list.
        list: Box<TExpr>,
    },
    /// `any`/`all`.
    Quantifier {
        /// Which.
        kind: ast::Quantifier,
        /// The list.
        list: Box<TExpr>,
        /// The condition, with the element as `Var(depth)`.
        body: Box<TExpr>,
    },
    /// A built-in function.
    Call {
        /// Which.
        function: Function,
        /// Its arguments.
        args: Vec<TExpr>,
    },
}

/// A named value or condition.
#[derive(Debug, Clone)]
pub struct Let {
    /// Its name.
    pub name: String,
    /// Its definition.
    pub value: TExpr,
    /// Where it is defined.
    pub span: Span,
}

/// An outcome's attribute.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// Its declared value; `None` when declared by type only (each deciding rule sets it).
    pub value: Option<TExpr>,
}

/// A declared outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Its name.
    pub name: String,
    /// Its attributes, in declared order.
    pub attributes: Vec<Attribute>,
    /// Where it is declared.
    pub span: Span,
}

/// A rule, or the `otherwise` of a version (which has no condition).
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name (`otherwise` for the default).
    pub name: String,
    /// The condition; `None` for `otherwise`.
    pub when: Option<TExpr>,
    /// The exception.
    pub unless: Option<TExpr>,
    /// The outcome decided, by index into [`Version::outcomes`].
    pub outcome: usize,
    /// Attributes set or overridden: (attribute index, value).
    pub with: Vec<(usize, TExpr)>,
    /// The cap rationing it, by index into [`Version::caps`].
    pub cap: Option<usize>,
    /// The reason in words.
    pub because: String,
    /// Legal provisions cited.
    pub cites: Vec<String>,
    /// The whole rule.
    pub span: Span,
}

/// Which grants in the ledger count against a cap.
#[derive(Debug, Clone)]
pub struct CapCounts {
    /// Only grants of these caps; every cap of the policy when `None`.
    pub caps: Option<Vec<String>>,
    /// Only grants whose as-of date is on or after this day.
    pub from: Option<Date>,
}

/// A cap: a shared budget of places.
#[derive(Debug, Clone)]
pub struct Cap {
    /// Its name.
    pub name: String,
    /// How many places.
    pub limit: u64,
    /// Which earlier grants count.
    pub counts: CapCounts,
    /// The order in which eligible cases get places.
    pub order_by: Vec<TExpr>,
    /// The outcome of eligible cases beyond the limit, by index into [`Version::outcomes`].
    pub overflow: usize,
    /// Where it is declared.
    pub span: Span,
}

/// A consistency check of the record.
#[derive(Debug, Clone)]
pub struct Warning {
    /// What the caseworker is told.
    pub message: String,
    /// When.
    pub when: TExpr,
}

/// One checked version.
#[derive(Debug, Clone)]
pub struct Version {
    /// The policy's name.
    pub policy: String,
    /// The version's id.
    pub id: String,
    /// First day in force.
    pub from: Date,
    /// Last day in force, if declared; otherwise until the next version starts.
    pub until: Option<Date>,
    /// Legal basis of the whole version.
    pub basis: Option<String>,
    /// The file.
    pub source: SourceFile,
    /// SHA-256 of the file's bytes, in hex.
    pub sha256: String,
    /// The date that picks the version in force for a case.
    pub as_of: TExpr,
    /// Lets, in order; a let uses only earlier ones.
    pub lets: Vec<Let>,
    /// Outcomes.
    pub outcomes: Vec<Outcome>,
    /// Rules, in order.
    pub rules: Vec<Rule>,
    /// The default.
    pub otherwise: Rule,
    /// Caps.
    pub caps: Vec<Cap>,
    /// Consistency warnings.
    pub warnings: Vec<Warning>,
}

/// A file of tests, parsed.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// The file.
    pub source: SourceFile,
    /// Its tests.
    pub tests: Vec<ast::TestDef>,
}

/// A checked policy folder.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// The folder (or file) it was read from.
    pub path: std::path::PathBuf,
    /// The case schema.
    pub schema: Arc<Schema>,
    /// Versions ordered by effective date.
    pub versions: Vec<Version>,
    /// Tests, beside the policy or inside version files.
    pub tests: Vec<TestFile>,
}
