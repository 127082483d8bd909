//! Type checking of expressions, with the guards that make optional fields safe to read.
//!
//! Input: an AST expression, the schema, the lets defined so far, and the facts known to hold
//! where the expression is evaluated (e.g. `case has visa` to the left of an `and`). Output: a
//! [`TExpr`] with every name resolved and every type known, or diagnostics. After an error the
//! expression gets type [`Ty::Error`], which suppresses follow-on errors.

use std::sync::Arc;

use super::errors::CheckError;
use super::model::{ArithOp, CmpOp, Function, TExpr, TExprKind};
use super::types::{IntRange, Schema, Ty};
use crate::ast::{self, BinaryOp, Expr, ExprKind, UnaryOp};
use crate::country::Country;
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::source::{SourceFile, Span};

/// Where a path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Root {
    Case,
    Var(usize),
    /// A let: its value is worked out once per case, so what holds of it holds everywhere.
    Let(usize),
}

/// One step of an access path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Field(usize),
    Index(usize),
}

/// A path from the case, a quantifier's variable or a let: `case.visa.type`, `x.since`,
/// `flags[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AccessPath {
    root: Root,
    steps: Vec<Step>,
}

/// Something known to hold where an expression is evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fact {
    /// The optional field at this path is present.
    Present(AccessPath),
    /// The list at this path has at least this many elements.
    MinLen(AccessPath, usize),
}

/// A let as the checker knows it: its type and what its truth implies.
#[derive(Debug, Clone)]
pub(super) struct LetInfo {
    pub name: String,
    pub ty: Ty,
    pub span: Span,
    pub when_true: Vec<Fact>,
    pub when_false: Vec<Fact>,
    pub used: bool,
}

/// Whether a bare word may stand for itself (in outcome attributes: `transport: bus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Words {
    Names,
    Symbols,
}

/// The checker of expressions of one file.
pub(super) struct ExprChecker<'a> {
    pub schema: &'a Schema,
    pub source: &'a SourceFile,
    pub lets: Vec<LetInfo>,
    /// Lets defined further down the file, for a precise message.
    pub later_lets: Vec<String>,
    /// Lets read above their definition: already reported, so never "unused".
    pub used_early: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
    vars: Vec<(String, Ty)>,
    /// The text of the other side of a comparison, for "`x` is not a value of `case.field`".
    compared_with: Option<String>,
}

const FUNCTIONS: &[&str] = &["years", "months", "days", "count", "before"];

impl<'a> ExprChecker<'a> {
    pub fn new(schema: &'a Schema, source: &'a SourceFile) -> Self {
        ExprChecker {
            schema,
            source,
            lets: Vec::new(),
            later_lets: Vec::new(),
            used_early: Vec::new(),
            diagnostics: Vec::new(),
            vars: Vec::new(),
            compared_with: None,
        }
    }

    pub fn error(&mut self, kind: CheckError, span: Span, label: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::at(&kind, self.source, span, label));
    }

    fn text(&self, span: Span) -> String {
        self.source
            .slice(span)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn describe(&self, ty: &Ty) -> String {
        self.schema.describe(ty)
    }

    fn error_expr(span: Span) -> TExpr {
        TExpr {
            kind: TExprKind::Bool(false),
            ty: Ty::Error,
            span,
        }
    }

    /// Checks a condition: an expression that must be a bool.
    pub fn condition(&mut self, expr: &Expr, facts: &[Fact], context: &str) -> TExpr {
        let checked = self.expr(expr, facts, None, Words::Names);
        self.expect_bool(checked, context)
    }

    fn expect_bool(&mut self, checked: TExpr, context: &str) -> TExpr {
        match checked.ty {
            Ty::Bool | Ty::Error => checked,
            ref other => {
                let found = self.describe(other);
                self.error(
                    CheckError::WrongType {
                        context: context.to_string(),
                        expected: "a condition (true or false)".into(),
                        found: format!("a value of type {found}"),
                        hint: Some("compare it with something, e.g. `== …`".into()),
                    },
                    checked.span,
                    format!("this is {found}"),
                );
                Self::error_expr(checked.span)
            }
        }
    }

    /// Checks any expression. `expected` resolves bare enum values and list literals.
    pub fn expr(
        &mut self,
        expr: &Expr,
        facts: &[Fact],
        expected: Option<&Ty>,
        words: Words,
    ) -> TExpr {
        let span = expr.span;
        let make = |kind, ty| TExpr { kind, ty, span };
        match &expr.kind {
            ExprKind::Bool(b) => make(TExprKind::Bool(*b), Ty::Bool),
            ExprKind::Int(i) => make(TExprKind::Int(*i), Ty::Int(IntRange::exactly(*i))),
            ExprKind::Text(t) => make(TExprKind::Text(Arc::from(t.as_str())), Ty::Text),
            ExprKind::Date(d) => make(TExprKind::Date(*d), Ty::Date),
            ExprKind::Country(code) => match Country::parse(code) {
                Some(c) => make(TExprKind::Country(c), Ty::Country),
                None => {
                    self.error(
                        CheckError::UnknownCountry { code: code.clone() },
                        span,
                        "not a country code",
                    );
                    Self::error_expr(span)
                }
            },
            ExprKind::Period { .. } => {
                self.error(
                    CheckError::WrongType {
                        context: "a period".into(),
                        expected: "a date to add it to".into(),
                        found: "a period on its own".into(),
                        hint: Some("write `date + 1 year` or `date - 30 days`".into()),
                    },
                    span,
                    "a period on its own",
                );
                Self::error_expr(span)
            }
            ExprKind::Case => make(TExprKind::Case, Ty::Record(Schema::ROOT)),
            ExprKind::Name(name) => self.name(name, span, expected, words),
            ExprKind::Paren(inner) => {
                let mut checked = self.expr(inner, facts, expected, words);
                checked.span = span;
                checked
            }
            ExprKind::Field { base, field } => self.field(base, field, span, facts),
            ExprKind::Index { base, index } => self.index(base, index, span, facts),
            ExprKind::Has { base, field } => self.has(base, field, span, facts),
            ExprKind::List(items) => self.list(items, span, facts, expected, words),
            ExprKind::Record(_) => {
                self.error(
                    CheckError::WrongType {
                        context: "an expression".into(),
                        expected: "a value".into(),
                        found: "a record".into(),
                        hint: Some("records are written only in test cases".into()),
                    },
                    span,
                    "a record here",
                );
                Self::error_expr(span)
            }
            ExprKind::Call { function, args } => self.call(function, args, span, facts),
            ExprKind::Unary { op, operand } => self.unary(*op, operand, span, facts),
            ExprKind::And(operands) | ExprKind::Or(operands) => {
                let is_and = matches!(expr.kind, ExprKind::And(_));
                let word = if is_and { "`and`" } else { "`or`" };
                let mut known = facts.to_vec();
                let mut checked = Vec::with_capacity(operands.len());
                for operand in operands {
                    let c = self.condition(operand, &known, &format!("each side of {word}"));
                    let implied = if is_and {
                        self.facts_when(&c, true)
                    } else {
                        self.facts_when(&c, false)
                    };
                    known.extend(implied);
                    checked.push(c);
                }
                let kind = if is_and {
                    TExprKind::And(checked)
                } else {
                    TExprKind::Or(checked)
                };
                make(kind, Ty::Bool)
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, span, facts),
            ExprKind::In {
                negated,
                item,
                collection,
            } => self.membership(*negated, item, collection, span, facts),
            ExprKind::Quantifier {
                kind,
                var,
                list,
                body,
            } => {
                let list = self.expr(list, facts, None, Words::Names);
                let element = match &list.ty {
                    Ty::List(element) => (**element).clone(),
                    Ty::EmptyList | Ty::Error => Ty::Error,
                    other => {
                        let found = self.describe(other);
                        self.error(
                            CheckError::WrongType {
                                context: format!(
                                    "`{}`",
                                    if *kind == ast::Quantifier::Any {
                                        "any"
                                    } else {
                                        "all"
                                    }
                                ),
                                expected: "a list".into(),
                                found,
                                hint: None,
                            },
                            list.span,
                            "not a list",
                        );
                        Ty::Error
                    }
                };
                self.vars.push((var.name.clone(), element));
                let body = self.condition(body, facts, "the condition of a quantifier");
                self.vars.pop();
                make(
                    TExprKind::Quantifier {
                        kind: *kind,
                        list: Box::new(list),
                        body: Box::new(body),
                    },
                    Ty::Bool,
                )
            }
        }
    }

    fn name(&mut self, name: &str, span: Span, expected: Option<&Ty>, words: Words) -> TExpr {
        let make = |kind, ty| TExpr { kind, ty, span };
        if let Some(depth) = self.vars.iter().rposition(|(n, _)| n == name) {
            let ty = self.vars.get(depth).map_or(Ty::Error, |(_, t)| t.clone());
            return make(TExprKind::Var(depth), ty);
        }
        if let Some(index) = self.lets.iter().position(|l| l.name == name) {
            let ty = match self.lets.get_mut(index) {
                Some(info) => {
                    info.used = true;
                    info.ty.clone()
                }
                None => Ty::Error,
            };
            return make(TExprKind::Let(index), ty);
        }
        if let Some(Ty::Enum(enum_id)) = expected {
            if let Some(values) = self.schema.enum_type(*enum_id).map(|e| e.values.clone()) {
                if let Some(index) = values.iter().position(|v| v == name) {
                    return make(
                        TExprKind::EnumValue {
                            enum_id: *enum_id,
                            index: index as u32,
                        },
                        Ty::Enum(*enum_id),
                    );
                }
                if words == Words::Names && !self.later_lets.iter().any(|l| l == name) {
                    let suggestion =
                        did_you_mean(name, values.iter().map(String::as_str)).map(str::to_string);
                    self.error(
                        CheckError::UnknownEnumValue {
                            value: name.to_string(),
                            field: self
                                .compared_with
                                .clone()
                                .unwrap_or_else(|| values.join(" | ")),
                            allowed: values,
                            suggestion,
                        },
                        span,
                        "not one of the values",
                    );
                    return Self::error_expr(span);
                }
            }
        }
        // A value of exactly one enum of the schema needs no context.
        let owners: Vec<(usize, usize)> = self
            .schema
            .enums
            .iter()
            .enumerate()
            .filter_map(|(id, e)| e.values.iter().position(|v| v == name).map(|i| (id, i)))
            .collect();
        if let [(enum_id, index)] = owners.as_slice() {
            if expected.is_none_or(|t| matches!(t, Ty::Error | Ty::Enum(_))) {
                return make(
                    TExprKind::EnumValue {
                        enum_id: *enum_id,
                        index: *index as u32,
                    },
                    Ty::Enum(*enum_id),
                );
            }
        }
        if words == Words::Symbols {
            return make(TExprKind::Symbol(Arc::from(name)), Ty::Symbol);
        }
        if self.later_lets.iter().any(|l| l == name) {
            self.used_early.push(name.to_string());
            self.error(
                CheckError::LetUsedBeforeDefinition {
                    name: name.to_string(),
                },
                span,
                "used here, defined below",
            );
            return Self::error_expr(span);
        }
        let mut candidates: Vec<&str> = self.lets.iter().map(|l| l.name.as_str()).collect();
        candidates.extend(self.vars.iter().map(|(n, _)| n.as_str()));
        let enum_values: Vec<&str> = self
            .schema
            .enums
            .iter()
            .flat_map(|e| e.values.iter().map(String::as_str))
            .collect();
        candidates.extend(enum_values);
        let suggestion = did_you_mean(name, candidates).map(str::to_string);
        let suggestion = suggestion.or_else(|| {
            let is_field = self
                .schema
                .root()
                .is_some_and(|r| r.fields.contains_key(name));
            is_field.then(|| format!("case.{name}"))
        });
        self.error(
            CheckError::UnknownName {
                name: name.to_string(),
                suggestion,
            },
            span,
            "not defined",
        );
        Self::error_expr(span)
    }

    /// The access path of an expression, if it is one.
    fn path_of(expr: &TExpr) -> Option<AccessPath> {
        match &expr.kind {
            TExprKind::Case => Some(AccessPath {
                root: Root::Case,
                steps: Vec::new(),
            }),
            TExprKind::Var(depth) => Some(AccessPath {
                root: Root::Var(*depth),
                steps: Vec::new(),
            }),
            TExprKind::Let(index) => Some(AccessPath {
                root: Root::Let(*index),
                steps: Vec::new(),
            }),
            TExprKind::Field { base, field } => {
                let mut path = Self::path_of(base)?;
                path.steps.push(Step::Field(*field));
                Some(path)
            }
            TExprKind::Index { base, index } => {
                let mut path = Self::path_of(base)?;
                path.steps.push(Step::Index(*index));
                Some(path)
            }
            _ => None,
        }
    }

    /// The field a name reads from a record: its index and declaration. Reports a base that is
    /// not a record (`context`, `expected`, `hint` say in whose words) or a field it does not have.
    fn record_field(
        &mut self,
        base: &TExpr,
        field: &ast::Ident,
        context: String,
        expected: &str,
        hint: Option<&str>,
    ) -> Option<(usize, crate::check::types::FieldDef)> {
        let record_id = match &base.ty {
            Ty::Record(id) => *id,
            Ty::Error => return None,
            other => {
                let found = self.describe(other);
                self.error(
                    CheckError::WrongType {
                        context,
                        expected: expected.into(),
                        found,
                        hint: hint.map(str::to_string),
                    },
                    base.span,
                    "not a record",
                );
                return None;
            }
        };
        let record = self.schema.record(record_id)?;
        match record.fields.get_full(&field.name) {
            Some((index, _, def)) => Some((index, def.clone())),
            None => {
                let names: Vec<String> = record.fields.keys().cloned().collect();
                let suggestion =
                    did_you_mean(&field.name, names.iter().map(String::as_str)).map(str::to_string);
                let owner = self.text(base.span);
                self.error(
                    CheckError::UnknownField {
                        record: format!("`{owner}`"),
                        name: field.name.clone(),
                        suggestion,
                        fields: names,
                    },
                    field.span,
                    "no such field",
                );
                None
            }
        }
    }

    fn field(&mut self, base: &Expr, field: &ast::Ident, span: Span, facts: &[Fact]) -> TExpr {
        let base = self.expr(base, facts, None, Words::Names);
        let Some((index, def)) = self.record_field(
            &base,
            field,
            format!("reading `.{}`", field.name),
            "a record",
            None,
        ) else {
            return Self::error_expr(span);
        };
        let ty = def.ty.clone();
        let optional = def.optional;
        let field_name = def.name.clone();
        let checked = TExpr {
            kind: TExprKind::Field {
                base: Box::new(base),
                field: index,
            },
            ty,
            span,
        };
        if optional {
            let guarded =
                Self::path_of(&checked).is_some_and(|p| facts.contains(&Fact::Present(p)));
            if !guarded {
                let owner = match &checked.kind {
                    TExprKind::Field { base, .. } => self.text(base.span),
                    _ => String::new(),
                };
                self.error(
                    CheckError::UnguardedOptional {
                        path: format!("{owner}.{field_name}"),
                        guard: format!("{owner} has {field_name}"),
                    },
                    span,
                    "read without a guard",
                );
                // Keep the type: the rest of the expression is still worth checking.
            }
        }
        checked
    }

    fn index(&mut self, base: &Expr, index: &ast::IntLit, span: Span, facts: &[Fact]) -> TExpr {
        let base = self.expr(base, facts, None, Words::Names);
        let element = match &base.ty {
            Ty::List(element) => (**element).clone(),
            Ty::Error => return Self::error_expr(span),
            other => {
                let found = self.describe(other);
                self.error(
                    CheckError::WrongType {
                        context: "`[…]`".into(),
                        expected: "a list".into(),
                        found,
                        hint: None,
                    },
                    base.span,
                    "not a list",
                );
                return Self::error_expr(span);
            }
        };
        let position = usize::try_from(index.value).unwrap_or(usize::MAX);
        let guarded = Self::path_of(&base).is_some_and(|path| {
            facts
                .iter()
                .any(|f| matches!(f, Fact::MinLen(p, n) if *p == path && *n > position))
        });
        if !guarded {
            let path = self.text(base.span);
            self.error(
                CheckError::UnguardedIndex {
                    path,
                    index: index.value,
                },
                span,
                "read without a length guard",
            );
        }
        TExpr {
            kind: TExprKind::Index {
                base: Box::new(base),
                index: position,
            },
            ty: element,
            span,
        }
    }

    fn has(&mut self, base: &Expr, field: &ast::Ident, span: Span, facts: &[Fact]) -> TExpr {
        let base = self.expr(base, facts, None, Words::Names);
        let Some((index, def)) = self.record_field(
            &base,
            field,
            "`has`".into(),
            "a record on its left",
            Some("write `case has visa`, or `case.travel has origin`"),
        ) else {
            return Self::error_expr(span);
        };
        if !def.optional {
            let path = self.text(base.span);
            self.error(
                CheckError::HasOnRequired {
                    path: format!("{path}.{}", field.name),
                    field: field.name.clone(),
                },
                span,
                "always true",
            );
        }
        TExpr {
            kind: TExprKind::Has {
                base: Box::new(base),
                field: index,
            },
            ty: Ty::Bool,
            span,
        }
    }

    fn list(
        &mut self,
        items: &[Expr],
        span: Span,
        facts: &[Fact],
        expected: Option<&Ty>,
        words: Words,
    ) -> TExpr {
        let mut element_expected = match expected {
            Some(Ty::List(element)) => Some((**element).clone()),
            _ => None,
        };
        let mut checked = Vec::with_capacity(items.len());
        for item in items {
            let c = self.expr(item, facts, element_expected.as_ref(), words);
            match &element_expected {
                None if c.ty != Ty::Error => element_expected = Some(c.ty.clone()),
                Some(expected_ty) if !expected_ty.same_kind(&c.ty) => {
                    let (want, found) = (self.describe(expected_ty), self.describe(&c.ty));
                    self.error(
                        CheckError::WrongType {
                            context: "a list".into(),
                            expected: format!("elements of one type ({want})"),
                            found,
                            hint: None,
                        },
                        c.span,
                        "a different type",
                    );
                }
                _ => {}
            }
            checked.push(c);
        }
        let ty = match element_expected {
            Some(Ty::Int(_)) => {
                let range = checked
                    .iter()
                    .fold(None::<IntRange>, |acc, c| match (&c.ty, acc) {
                        (Ty::Int(r), None) => Some(*r),
                        (Ty::Int(r), Some(a)) => Some(IntRange {
                            lo: a.lo.min(r.lo),
                            hi: a.hi.max(r.hi),
                        }),
                        (_, acc) => acc,
                    });
                Ty::List(Box::new(Ty::Int(range.unwrap_or(IntRange::FULL))))
            }
            Some(t) if !checked.is_empty() => Ty::List(Box::new(t)),
            _ => Ty::EmptyList,
        };
        TExpr {
            kind: TExprKind::List(checked),
            ty,
            span,
        }
    }

    fn call(&mut self, function: &ast::Ident, args: &[Expr], span: Span, facts: &[Fact]) -> TExpr {
        let (func, arity, name) = match function.name.as_str() {
            "years" => (Function::Years, 2, "years"),
            "months" => (Function::Months, 2, "months"),
            "days" => (Function::Days, 2, "days"),
            "count" => (Function::Count, 1, "count"),
            "before" => (Function::Before, 2, "before"),
            other => {
                let suggestion = did_you_mean(other, FUNCTIONS.iter().copied());
                let suggestion = FUNCTIONS.iter().copied().find(|f| Some(*f) == suggestion);
                self.error(
                    CheckError::UnknownFunction {
                        name: other.to_string(),
                        suggestion,
                    },
                    function.span,
                    "no such function",
                );
                return Self::error_expr(span);
            }
        };
        if args.len() != arity {
            self.error(
                CheckError::WrongArity {
                    function: name,
                    expected: arity,
                    found: args.len(),
                },
                span,
                format!("{} given", args.len()),
            );
            return Self::error_expr(span);
        }
        let mut checked: Vec<TExpr> = Vec::with_capacity(arity);
        let mut failed = false;
        for (i, arg) in args.iter().enumerate() {
            let expected = match (func, checked.first()) {
                (Function::Before, Some(list)) if i == 1 => match &list.ty {
                    Ty::List(element) => Some((**element).clone()),
                    _ => None,
                },
                _ => None,
            };
            let c = self.expr(arg, facts, expected.as_ref(), Words::Names);
            let ok = match func {
                Function::Years | Function::Months | Function::Days => {
                    matches!(c.ty, Ty::Date | Ty::Error)
                }
                Function::Count => matches!(c.ty, Ty::List(_) | Ty::EmptyList | Ty::Error),
                Function::Before if i == 0 => {
                    matches!(c.ty, Ty::List(_) | Ty::EmptyList | Ty::Error)
                }
                Function::Before => match checked.first().map(|l| &l.ty) {
                    Some(Ty::List(element)) => element.same_kind(&c.ty),
                    _ => true,
                },
            };
            if !ok {
                let found = self.describe(&c.ty);
                let expected = match func {
                    Function::Years | Function::Months | Function::Days => "two dates".to_string(),
                    Function::Count => "a list".to_string(),
                    Function::Before if i == 0 => "a list first".to_string(),
                    Function::Before => "a value of the list's type second".to_string(),
                };
                self.error(
                    CheckError::WrongType {
                        context: format!("`{name}`"),
                        expected,
                        found,
                        hint: None,
                    },
                    c.span,
                    "wrong type",
                );
                failed = true;
            }
            checked.push(c);
        }
        if failed {
            return Self::error_expr(span);
        }
        let ty = match func {
            // Dates run from year -9999 to 9999: these bounds hold for any two of them.
            Function::Years => Ty::Int(IntRange {
                lo: -20_000,
                hi: 20_000,
            }),
            Function::Months => Ty::Int(IntRange {
                lo: -240_000,
                hi: 240_000,
            }),
            Function::Days => Ty::Int(IntRange {
                lo: -7_400_000,
                hi: 7_400_000,
            }),
            Function::Count => Ty::Int(IntRange {
                lo: 0,
                hi: u32::MAX.into(),
            }),
            Function::Before => checked.first().map_or(Ty::Error, |l| l.ty.clone()),
        };
        TExpr {
            kind: TExprKind::Call {
                function: func,
                args: checked,
            },
            ty,
            span,
        }
    }

    fn unary(&mut self, op: UnaryOp, operand: &Expr, span: Span, facts: &[Fact]) -> TExpr {
        let checked = self.expr(operand, facts, None, Words::Names);
        match op {
            UnaryOp::Not => {
                if !matches!(checked.ty, Ty::Bool | Ty::Error) {
                    let found = self.describe(&checked.ty);
                    self.error(
                        CheckError::WrongType {
                            context: "`not`".into(),
                            expected: "a condition".into(),
                            found: format!("a value of type {found}"),
                            hint: Some(
                                "`not` binds tighter than comparisons: write `not (a == b)`, or `a != b`".into(),
                            ),
                        },
                        checked.span,
                        "not a condition",
                    );
                    return Self::error_expr(span);
                }
                TExpr {
                    kind: TExprKind::Not(Box::new(checked)),
                    ty: Ty::Bool,
                    span,
                }
            }
            UnaryOp::Neg => match checked.ty {
                Ty::Int(range) => {
                    let range = range.negated();
                    if !range.fits_i64() {
                        self.error(
                            CheckError::MayOverflow {
                                lo: range.lo,
                                hi: range.hi,
                            },
                            span,
                            "may overflow",
                        );
                        return Self::error_expr(span);
                    }
                    TExpr {
                        kind: TExprKind::Neg(Box::new(checked)),
                        ty: Ty::Int(range),
                        span,
                    }
                }
                Ty::Error => Self::error_expr(span),
                ref other => {
                    let found = self.describe(other);
                    self.error(
                        CheckError::WrongType {
                            context: "`-`".into(),
                            expected: "an int".into(),
                            found,
                            hint: None,
                        },
                        checked.span,
                        "not a number",
                    );
                    Self::error_expr(span)
                }
            },
        }
    }

    /// Whether a bare word would be resolved without context (a let or a variable).
    fn resolves_alone(&self, expr: &Expr) -> bool {
        match &expr.kind {
            ExprKind::Name(n) => {
                self.vars.iter().any(|(v, _)| v == n) || self.lets.iter().any(|l| &l.name == n)
            }
            ExprKind::List(_) => false,
            _ => true,
        }
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        span: Span,
        facts: &[Fact],
    ) -> TExpr {
        if let (BinaryOp::Add | BinaryOp::Sub, ExprKind::Period { amount, unit }) = (op, peel(rhs))
        {
            let date = self.expr(lhs, facts, None, Words::Names);
            return match date.ty {
                Ty::Date => TExpr {
                    kind: TExprKind::DateShift {
                        date: Box::new(date),
                        amount: if op == BinaryOp::Sub {
                            amount.saturating_neg()
                        } else {
                            amount
                        },
                        unit,
                    },
                    ty: Ty::Date,
                    span,
                },
                Ty::Error => Self::error_expr(span),
                ref other => {
                    let found = self.describe(other);
                    self.error(
                        CheckError::WrongType {
                            context: "a period".into(),
                            expected: "a date to add it to".into(),
                            found: article(&found),
                            hint: None,
                        },
                        date.span,
                        "not a date",
                    );
                    Self::error_expr(span)
                }
            };
        }
        // A bare enum value takes its type from the other side, whichever side it is on.
        let (l, r) = if self.resolves_alone(lhs) || !self.resolves_alone(rhs) {
            let l = self.expr(lhs, facts, None, Words::Names);
            self.compared_with = Some(self.text(l.span));
            let r = self.expr(rhs, facts, Some(&l.ty), Words::Names);
            self.compared_with = None;
            (l, r)
        } else {
            let r = self.expr(rhs, facts, None, Words::Names);
            self.compared_with = Some(self.text(r.span));
            let l = self.expr(lhs, facts, Some(&r.ty), Words::Names);
            self.compared_with = None;
            (l, r)
        };
        if l.ty == Ty::Error || r.ty == Ty::Error {
            return Self::error_expr(span);
        }
        let cmp = match op {
            BinaryOp::Eq => Some(CmpOp::Eq),
            BinaryOp::Ne => Some(CmpOp::Ne),
            BinaryOp::Lt => Some(CmpOp::Lt),
            BinaryOp::Le => Some(CmpOp::Le),
            BinaryOp::Gt => Some(CmpOp::Gt),
            BinaryOp::Ge => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(cmp) = cmp {
            if !l.ty.same_kind(&r.ty) {
                let (left, right) = (self.describe(&l.ty), self.describe(&r.ty));
                self.error(
                    CheckError::Incomparable {
                        left: article(&left),
                        right: article(&right),
                    },
                    span,
                    format!("{left} {} {right}", cmp.symbol()),
                );
                return Self::error_expr(span);
            }
            let ordering = !matches!(cmp, CmpOp::Eq | CmpOp::Ne);
            if ordering && !matches!(l.ty, Ty::Int(_) | Ty::Date) {
                let ty = self.describe(&l.ty);
                self.error(
                    CheckError::NotOrdered {
                        ty,
                        op: cmp.symbol(),
                    },
                    span,
                    "no order",
                );
                return Self::error_expr(span);
            }
            return TExpr {
                kind: TExprKind::Compare {
                    op: cmp,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                },
                ty: Ty::Bool,
                span,
            };
        }
        let arith = match op {
            BinaryOp::Add => ArithOp::Add,
            BinaryOp::Sub => ArithOp::Sub,
            _ => ArithOp::Mul,
        };
        match (&l.ty, &r.ty, arith) {
            (Ty::Int(a), Ty::Int(b), _) => {
                let range = match arith {
                    ArithOp::Add => a.plus(*b),
                    ArithOp::Sub => a.minus(*b),
                    ArithOp::Mul => a.times(*b),
                };
                if !range.fits_i64() {
                    self.error(
                        CheckError::MayOverflow {
                            lo: range.lo,
                            hi: range.hi,
                        },
                        span,
                        "may overflow",
                    );
                    return Self::error_expr(span);
                }
                TExpr {
                    kind: TExprKind::Arith {
                        op: arith,
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                    },
                    ty: Ty::Int(range),
                    span,
                }
            }
            _ => {
                let (left, right) = (self.describe(&l.ty), self.describe(&r.ty));
                let hint = match (&l.ty, &r.ty) {
                    (Ty::Date, Ty::Date) => Some("count the time between two dates with `days(a, b)`, `months(a, b)` or `years(a, b)`".to_string()),
                    (Ty::Date, Ty::Int(_)) => Some("add a period to a date: `date + 30 days`".to_string()),
                    _ => None,
                };
                self.error(
                    CheckError::WrongType {
                        context: format!("`{}`", op.symbol()),
                        expected: "two ints, or a date and a period".into(),
                        found: format!("{} and {}", article(&left), article(&right)),
                        hint,
                    },
                    span,
                    "cannot compute this",
                );
                Self::error_expr(span)
            }
        }
    }

    fn membership(
        &mut self,
        negated: bool,
        item: &Expr,
        collection: &Expr,
        span: Span,
        facts: &[Fact],
    ) -> TExpr {
        let (item, list) = if self.resolves_alone(item) || !self.resolves_alone(collection) {
            let item = self.expr(item, facts, None, Words::Names);
            let expected = (item.ty != Ty::Error).then(|| Ty::List(Box::new(item.ty.clone())));
            self.compared_with = Some(self.text(item.span));
            let list = self.expr(collection, facts, expected.as_ref(), Words::Names);
            self.compared_with = None;
            (item, list)
        } else {
            let list = self.expr(collection, facts, None, Words::Names);
            let expected = match &list.ty {
                Ty::List(element) => Some((**element).clone()),
                _ => None,
            };
            let item = self.expr(item, facts, expected.as_ref(), Words::Names);
            (item, list)
        };
        if item.ty == Ty::Error || list.ty == Ty::Error {
            return Self::error_expr(span);
        }
        match &list.ty {
            Ty::List(element) if element.same_kind(&item.ty) => {}
            Ty::EmptyList => {}
            other => {
                let (want, found) = (self.describe(other), self.describe(&item.ty));
                self.error(
                    CheckError::WrongType {
                        context: "`in`".into(),
                        expected: format!("a list of {found} on its right"),
                        found: want,
                        hint: None,
                    },
                    list.span,
                    "not a list of that type",
                );
                return Self::error_expr(span);
            }
        }
        TExpr {
            kind: TExprKind::In {
                negated,
                item: Box::new(item),
                list: Box::new(list),
            },
            ty: Ty::Bool,
            span,
        }
    }

    /// What is known when a checked condition is true (or false).
    pub fn facts_when(&self, expr: &TExpr, truth: bool) -> Vec<Fact> {
        match (&expr.kind, truth) {
            (TExprKind::Has { base, field }, true) => match Self::path_of(base) {
                Some(mut path) => {
                    path.steps.push(Step::Field(*field));
                    vec![Fact::Present(path)]
                }
                None => Vec::new(),
            },
            (TExprKind::Not(inner), _) => self.facts_when(inner, !truth),
            (TExprKind::And(ops), true) | (TExprKind::Or(ops), false) => {
                ops.iter().flat_map(|o| self.facts_when(o, truth)).collect()
            }
            (TExprKind::And(ops), false) | (TExprKind::Or(ops), true) => {
                let mut sets = ops.iter().map(|o| self.facts_when(o, truth));
                let first = sets.next().unwrap_or_default();
                sets.fold(first, |acc, set| {
                    acc.into_iter().filter(|f| set.contains(f)).collect()
                })
            }
            (TExprKind::Let(index), _) => self
                .lets
                .get(*index)
                .map(|l| {
                    if truth {
                        l.when_true.clone()
                    } else {
                        l.when_false.clone()
                    }
                })
                .unwrap_or_default(),
            (TExprKind::Compare { op, lhs, rhs }, _) => {
                // `count(xs) > n` and its mirror images guard `xs[0..=n]`.
                let (op, count, bound) = match (&lhs.kind, &rhs.kind) {
                    (
                        TExprKind::Call {
                            function: Function::Count,
                            args,
                        },
                        TExprKind::Int(n),
                    ) => (*op, args.first(), *n),
                    (
                        TExprKind::Int(n),
                        TExprKind::Call {
                            function: Function::Count,
                            args,
                        },
                    ) => (flip(*op), args.first(), *n),
                    _ => return Vec::new(),
                };
                let op = if truth { Some(op) } else { negate(op) };
                let min = match op {
                    Some(CmpOp::Gt) => bound.checked_add(1),
                    Some(CmpOp::Ge) | Some(CmpOp::Eq) => Some(bound),
                    // A length is never negative: `count(xs) != 0` means at least one.
                    Some(CmpOp::Ne) if bound == 0 => Some(1),
                    _ => None,
                };
                match (
                    min.and_then(|m| usize::try_from(m).ok()),
                    count.and_then(Self::path_of),
                ) {
                    (Some(min), Some(path)) if min > 0 => vec![Fact::MinLen(path, min)],
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }
}

/// The comparison seen from the other side: `a < b` is `b > a`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// The comparison that holds when `op` does not (for the orderings that have one).
fn negate(op: CmpOp) -> Option<CmpOp> {
    match op {
        CmpOp::Lt => Some(CmpOp::Ge),
        CmpOp::Le => Some(CmpOp::Gt),
        CmpOp::Gt => Some(CmpOp::Le),
        CmpOp::Ge => Some(CmpOp::Lt),
        CmpOp::Eq => Some(CmpOp::Ne),
        CmpOp::Ne => Some(CmpOp::Eq),
    }
}

/// "a date", "an int", "text".
fn article(word: &str) -> String {
    if word == "text" {
        return word.to_string();
    }
    let vowel = word.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {word}", if vowel { "an" } else { "a" })
}

/// The expression inside any parentheses.
fn peel(expr: &Expr) -> ExprKind {
    match &expr.kind {
        ExprKind::Paren(inner) => peel(inner),
        other => other.clone(),
    }
}
