//! Expressions, types and literals, each on one line, exactly as the tree says: the drafter's
//! parentheses are `Paren` nodes and are kept; none is added.

use crate::ast::{
    Attr, AttrValue, Expr, ExprKind, Quantifier, TypeExpr, TypeKind, UnaryOp, VersionId,
};
use crate::dates::{PeriodUnit, format_date};

/// An expression on one line.
pub(super) fn expr(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(e, &mut out);
    out
}

fn write_expr(e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Int(i) => out.push_str(&i.to_string()),
        ExprKind::Text(s) => out.push_str(&string(s)),
        ExprKind::Date(d) => out.push_str(&format_date(*d)),
        ExprKind::Country(c) => out.push_str(c),
        ExprKind::Period { amount, unit } => {
            let word = match unit {
                PeriodUnit::Years => "year",
                PeriodUnit::Months => "month",
                PeriodUnit::Days => "day",
            };
            out.push_str(&amount.to_string());
            out.push(' ');
            out.push_str(word);
            if *amount != 1 {
                out.push('s');
            }
        }
        ExprKind::Case => out.push_str("case"),
        ExprKind::Name(n) => out.push_str(n),
        ExprKind::Field { base, field } => {
            write_expr(base, out);
            out.push('.');
            out.push_str(&field.name);
        }
        ExprKind::Index { base, index } => {
            write_expr(base, out);
            out.push('[');
            out.push_str(&index.value.to_string());
            out.push(']');
        }
        ExprKind::List(items) => {
            out.push('[');
            write_joined(items, ", ", out);
            out.push(']');
        }
        ExprKind::Record(fields) => {
            if fields.is_empty() {
                out.push_str("{}");
            } else {
                out.push_str("{ ");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&name.name);
                    out.push_str(": ");
                    write_expr(value, out);
                }
                out.push_str(" }");
            }
        }
        ExprKind::Call { function, args } => {
            out.push_str(&function.name);
            out.push('(');
            write_joined(args, ", ", out);
            out.push(')');
        }
        ExprKind::Paren(inner) => {
            out.push('(');
            write_expr(inner, out);
            out.push(')');
        }
        ExprKind::Unary { op, operand } => {
            out.push_str(match op {
                UnaryOp::Not => "not ",
                UnaryOp::Neg => "-",
            });
            write_expr(operand, out);
        }
        ExprKind::And(operands) => write_joined(operands, " and ", out),
        ExprKind::Or(operands) => write_joined(operands, " or ", out),
        ExprKind::Binary { op, lhs, rhs } => {
            write_expr(lhs, out);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            write_expr(rhs, out);
        }
        ExprKind::Has { base, field } => {
            write_expr(base, out);
            out.push_str(" has ");
            out.push_str(&field.name);
        }
        ExprKind::In {
            negated,
            item,
            collection,
        } => {
            write_expr(item, out);
            out.push_str(if *negated { " not in " } else { " in " });
            write_expr(collection, out);
        }
        ExprKind::Quantifier {
            kind,
            var,
            list,
            body,
        } => {
            out.push_str(match kind {
                Quantifier::Any => "any ",
                Quantifier::All => "all ",
            });
            out.push_str(&var.name);
            out.push_str(" in ");
            write_expr(list, out);
            out.push_str(": ");
            write_expr(body, out);
        }
    }
}

fn write_joined(items: &[Expr], separator: &str, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        write_expr(item, out);
    }
}

/// A string literal: quoted, with `"`, `\`, line feeds and tabs escaped, and other control
/// characters written as `\u{…}`.
pub fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Texts joined by `, `, each quoted.
pub(super) fn strings<'a>(values: impl Iterator<Item = &'a str>) -> String {
    values.map(string).collect::<Vec<_>>().join(", ")
}

/// A version id: bare when it is a date or a word, quoted otherwise.
pub(super) fn version_id(id: &VersionId) -> String {
    let text = id.text.as_str();
    let bytes = text.as_bytes();
    let is_date = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let is_word = bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    if is_date || is_word {
        text.to_string()
    } else {
        string(text)
    }
}

/// `name: value` of an outcome, a `with` or an `expect … with` block.
pub(super) fn attr(a: &Attr) -> String {
    let value = match &a.value {
        AttrValue::Type(word) => word.name.clone(),
        AttrValue::Expr(e) => expr(e),
    };
    format!("{}: {value}", a.name.name)
}

/// `{ a: 1, b: 2 }` on one line.
pub(super) fn attr_block(attrs: &[Attr]) -> String {
    if attrs.is_empty() {
        return "{}".to_string();
    }
    let inner: Vec<String> = attrs.iter().map(attr).collect();
    format!("{{ {} }}", inner.join(", "))
}

/// The words before a type's record, if the type ends in one: `optional list of open`
/// for `optional list of open { … }`. `None` when the type ends in a word or an enum.
pub(super) fn record_prefix(ty: &TypeExpr) -> Option<(String, &crate::ast::RecordTypeExpr)> {
    let mut words = Vec::new();
    let mut current = ty;
    loop {
        match &current.kind {
            TypeKind::Optional(inner) => {
                words.push("optional");
                current = inner;
            }
            TypeKind::List(inner) => {
                words.push("list of");
                current = inner;
            }
            TypeKind::Record(record) => {
                if record.open {
                    words.push("open");
                }
                return Some((words.join(" "), record));
            }
            TypeKind::Word { .. } | TypeKind::Enum(_) => return None,
        }
    }
}

/// A type on one line. A record is written `{ … }` with its fields separated by commas (the
/// layout only does so for records without fields).
pub(super) fn type_expr(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeKind::Optional(inner) => format!("optional {}", type_expr(inner)),
        TypeKind::List(inner) => format!("list of {}", type_expr(inner)),
        TypeKind::Record(record) => {
            let open = if record.open { "open " } else { "" };
            if record.fields.is_empty() {
                format!("{open}{{}}")
            } else {
                let fields: Vec<String> = record
                    .fields
                    .iter()
                    .map(|f| format!("{}: {}", f.name.name, type_expr(&f.ty)))
                    .collect();
                format!("{open}{{ {} }}", fields.join(", "))
            }
        }
        TypeKind::Word { word, range } => match range {
            Some(r) => format!("{} {}..{}", word.name, r.lo, r.hi),
            None => word.name.clone(),
        },
        TypeKind::Enum(words) => words
            .iter()
            .map(|w| w.name.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_re_escaped() {
        assert_eq!(string("a\"b\\c\nd\te"), r#""a\"b\\c\nd\te""#);
        assert_eq!(string("\u{1b}x\r"), r#""\u{1b}x\u{d}""#);
        assert_eq!(string("§ 32 – ok"), "\"§ 32 – ok\"");
    }

    #[test]
    fn version_ids_are_quoted_only_when_needed() {
        let id = |t: &str| VersionId {
            text: t.to_string(),
            span: crate::source::Span::default(),
        };
        assert_eq!(version_id(&id("2016-02-03")), "2016-02-03");
        assert_eq!(version_id(&id("draft_2")), "draft_2");
        assert_eq!(version_id(&id("2016 b")), "\"2016 b\"");
        assert_eq!(version_id(&id("2016")), "\"2016\"");
        assert_eq!(version_id(&id("")), "\"\"");
    }
}
