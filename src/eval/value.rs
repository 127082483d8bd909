//! Values as the evaluator sees them: borrowed from the case or the program, never copied.

use std::cmp::Ordering;

use serde::{Serialize, Serializer};

use crate::compile::{Node, Value};
use crate::country::Country;
use crate::dates::Date;

/// A value during evaluation, borrowed from the case or the program.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    /// An absent optional field.
    Absent,
    /// A present record.
    Present,
    /// A bool.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A text.
    Text(&'a str),
    /// A date.
    Date(Date),
    /// A country.
    Country(Country),
    /// An enum value, by index.
    Enum(u32),
    /// A list of values.
    List(&'a [Value]),
    /// A record value (an element of a list of records).
    Record(&'a [Value]),
    /// A list written in the policy whose elements are computed when read, with the number of
    /// quantifier variables open where it was written: its elements are computed with those
    /// alone, for their own quantifiers number their variables from there (a let's list is
    /// written outside every quantifier, and may be read inside one). Last, so that the
    /// variants before it are in the order of [`Value`]'s and [`Val::of`] is nearly a copy (8
    /// instructions a decided case fewer than with `Nodes` before `Record`).
    Nodes(&'a [Node], u32),
}

impl<'a> Val<'a> {
    /// A view of a stored value.
    #[inline]
    pub fn of(value: &'a Value) -> Val<'a> {
        match value {
            Value::Absent => Val::Absent,
            Value::Present => Val::Present,
            Value::Bool(b) => Val::Bool(*b),
            Value::Int(i) => Val::Int(*i),
            Value::Text(t) => Val::Text(t),
            Value::Date(d) => Val::Date(*d),
            Value::Country(c) => Val::Country(*c),
            Value::Enum(e) => Val::Enum(*e),
            Value::List(items) => Val::List(items),
            Value::Record(fields) => Val::Record(fields),
        }
    }

    /// The ordering of two values of the same type; `None` for values that do not compare.
    /// Text compares byte by byte.
    #[inline]
    pub fn compare(&self, other: &Val<'_>) -> Option<Ordering> {
        match (self, other) {
            (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
            (Val::Int(a), Val::Int(b)) => Some(a.cmp(b)),
            (Val::Text(a), Val::Text(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Val::Date(a), Val::Date(b)) => Some(a.cmp(b)),
            (Val::Country(a), Val::Country(b)) => Some(a.cmp(b)),
            (Val::Enum(a), Val::Enum(b)) => Some(a.cmp(b)),
            (Val::List(a), Val::List(b)) => compare_lists(a, b),
            _ => None,
        }
    }

    /// Whether two values are equal: [`Val::compare`] gives `Equal`. The scalars that lists of
    /// the case hold are answered directly, for membership tests.
    #[inline]
    pub fn equals(&self, other: &Val<'_>) -> bool {
        match (self, other) {
            (Val::Country(a), Val::Country(b)) => a == b,
            (Val::Enum(a), Val::Enum(b)) => a == b,
            (Val::Int(a), Val::Int(b)) => a == b,
            (Val::Date(a), Val::Date(b)) => a == b,
            _ => self.compare(other) == Some(Ordering::Equal),
        }
    }

    /// The number of elements of a list (0 for anything else).
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Val::List(items) => items.len(),
            Val::Nodes(nodes, _) => nodes.len(),
            _ => 0,
        }
    }

    /// Whether it is an empty list (or no list).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `end` elements of a list.
    pub fn prefix(&self, end: usize) -> Val<'a> {
        match self {
            Val::List(items) => Val::List(items.get(..end).unwrap_or(items)),
            Val::Nodes(nodes, open) => Val::Nodes(nodes.get(..end).unwrap_or(nodes), *open),
            other => *other,
        }
    }

    /// The value as a cap's order key.
    pub fn sort_key(&self) -> SortKey {
        match self {
            Val::Int(i) => SortKey::Int(*i),
            Val::Date(d) => SortKey::Date(*d),
            Val::Text(t) => SortKey::Text(Box::from(*t)),
            Val::Country(c) => SortKey::Text(Box::from(c.as_str())),
            Val::Enum(e) => SortKey::Int(i64::from(*e)),
            Val::Bool(b) => SortKey::Int(i64::from(*b)),
            _ => SortKey::Absent,
        }
    }
}

/// Lists compare element by element, then by length. Out of line: rare, and it recurses, which
/// would keep [`Val::compare`] from being inlined.
#[inline(never)]
fn compare_lists(a: &[Value], b: &[Value]) -> Option<Ordering> {
    for (x, y) in a.iter().zip(b.iter()) {
        match Val::of(x).compare(&Val::of(y))? {
            Ordering::Equal => {}
            other => return Some(other),
        }
    }
    Some(a.len().cmp(&b.len()))
}

/// An order key of a cap: compared field by field; text byte by byte.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SortKey {
    /// No value (sorts first).
    Absent,
    /// A number.
    Int(i64),
    /// A date.
    Date(Date),
    /// A text (byte-wise order: `A-10` < `A-9`).
    Text(Box<str>),
}

/// An attribute value as written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    /// No value.
    Null,
    /// A bool.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// Text (dates, countries and enum values are written as text).
    Text(Box<str>),
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Null => serializer.serialize_unit(),
            Scalar::Bool(b) => serializer.serialize_bool(*b),
            Scalar::Int(i) => serializer.serialize_i64(*i),
            Scalar::Text(t) => serializer.serialize_str(t),
        }
    }
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Null => f.write_str("null"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Text(t) => f.write_str(t),
        }
    }
}
