//! The types of the language, and the checked schema.
//!
//! A [`Schema`] owns its record and enum types in arenas; a [`Ty`] refers to them by index, so
//! types are small, `Copy`-cheap to compare, and never recursive through pointers.

use indexmap::IndexMap;

use crate::source::Span;

/// Index of a record type in [`Schema::records`].
pub type RecordId = usize;
/// Index of an enum type in [`Schema::enums`].
pub type EnumId = usize;

/// An inclusive range of integers, as wide as needed to bound any computation in 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRange {
    /// Smallest possible value.
    pub lo: i128,
    /// Largest possible value.
    pub hi: i128,
}

impl IntRange {
    /// Every 64-bit integer.
    pub const FULL: IntRange = IntRange {
        lo: i64::MIN as i128,
        hi: i64::MAX as i128,
    };

    /// A single value.
    pub fn exactly(value: i64) -> IntRange {
        IntRange {
            lo: value.into(),
            hi: value.into(),
        }
    }

    /// Whether every value fits in 64 bits.
    pub fn fits_i64(&self) -> bool {
        self.lo >= i64::MIN as i128 && self.hi <= i64::MAX as i128
    }

    /// The range of `a + b`.
    pub fn plus(self, other: IntRange) -> IntRange {
        IntRange {
            lo: self.lo.saturating_add(other.lo),
            hi: self.hi.saturating_add(other.hi),
        }
    }

    /// The range of `a - b`.
    pub fn minus(self, other: IntRange) -> IntRange {
        IntRange {
            lo: self.lo.saturating_sub(other.hi),
            hi: self.hi.saturating_sub(other.lo),
        }
    }

    /// The range of `a * b`.
    pub fn times(self, other: IntRange) -> IntRange {
        let products = [
            self.lo.saturating_mul(other.lo),
            self.lo.saturating_mul(other.hi),
            self.hi.saturating_mul(other.lo),
            self.hi.saturating_mul(other.hi),
        ];
        IntRange {
            lo: products.iter().copied().min().unwrap_or(0),
            hi: products.iter().copied().max().unwrap_or(0),
        }
    }

    /// The range of `-a`.
    pub fn negated(self) -> IntRange {
        IntRange {
            lo: self.hi.saturating_neg(),
            hi: self.lo.saturating_neg(),
        }
    }
}

/// The type of a value or an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// `true` or `false`.
    Bool,
    /// A whole number within a range.
    Int(IntRange),
    /// Text.
    Text,
    /// A calendar date.
    Date,
    /// An ISO 3166-1 country.
    Country,
    /// A value of a declared enum.
    Enum(EnumId),
    /// A bare word in an outcome attribute (`transport: bus`): written out as text.
    Symbol,
    /// A list.
    List(Box<Ty>),
    /// A record.
    Record(RecordId),
    /// `1 year`: only meaningful added to or subtracted from a date.
    Period,
    /// `[]`: a list of anything.
    EmptyList,
    /// The type of an expression that already has an error: never reported again.
    Error,
}

impl Ty {
    /// Whether two types may be compared with `==`, ignoring integer ranges.
    pub fn same_kind(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Error, _) | (_, Ty::Error) => true,
            (Ty::Int(_), Ty::Int(_)) => true,
            (Ty::List(a), Ty::List(b)) => a.same_kind(b),
            (Ty::List(_), Ty::EmptyList) | (Ty::EmptyList, Ty::List(_)) => true,
            (Ty::Symbol, Ty::Text) | (Ty::Text, Ty::Symbol) => true,
            (a, b) => a == b,
        }
    }

    /// Whether values of the type have an order (`<`, `order by`).
    pub fn is_ordered(&self) -> bool {
        matches!(
            self,
            Ty::Int(_) | Ty::Date | Ty::Text | Ty::Country | Ty::Error
        )
    }
}

/// A schema's field.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// Absent or `null` is allowed.
    pub optional: bool,
    /// For text: the allowed length in characters.
    pub text_length: Option<(usize, usize)>,
    /// Where it is declared.
    pub span: Span,
}

/// A record type.
#[derive(Debug, Clone, Default)]
pub struct RecordType {
    /// Its fields, in declared order.
    pub fields: IndexMap<String, FieldDef>,
    /// Whether fields not declared are accepted (and ignored).
    pub open: bool,
    /// Each field's name as a JSON key with its quotes (`"id"`), where it needs no escaping: the
    /// JSON reader matches keys against these bytes.
    pub json_keys: Vec<Option<Box<[u8]>>>,
}

/// An enum type: its values in declared order.
#[derive(Debug, Clone)]
pub struct EnumType {
    /// The values.
    pub values: Vec<String>,
}

/// A checked schema: the shape of a case record.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Its name (`Case`).
    pub name: String,
    /// Record types; the case itself is [`Schema::ROOT`].
    pub records: Vec<RecordType>,
    /// Enum types.
    pub enums: Vec<EnumType>,
}

impl Schema {
    /// The record type of a case.
    pub const ROOT: RecordId = 0;

    /// A record type by id.
    pub fn record(&self, id: RecordId) -> Option<&RecordType> {
        self.records.get(id)
    }

    /// The root record.
    pub fn root(&self) -> Option<&RecordType> {
        self.records.get(Self::ROOT)
    }

    /// An enum type by id.
    pub fn enum_type(&self, id: EnumId) -> Option<&EnumType> {
        self.enums.get(id)
    }

    /// A type in words, for messages.
    pub fn describe(&self, ty: &Ty) -> String {
        match ty {
            Ty::Bool => "bool".into(),
            Ty::Int(_) => "int".into(),
            Ty::Text => "text".into(),
            Ty::Date => "date".into(),
            Ty::Country => "country".into(),
            Ty::Enum(id) => match self.enum_type(*id) {
                Some(e) if e.values.len() <= 4 => e.values.join(" | "),
                Some(e) => format!(
                    "{} | … ({} values)",
                    e.values
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" | "),
                    e.values.len()
                ),
                None => "enum".into(),
            },
            Ty::Symbol => "a word".into(),
            Ty::List(inner) => format!("list of {}", self.describe(inner)),
            Ty::Record(_) => "record".into(),
            Ty::Period => "period".into(),
            Ty::EmptyList => "empty list".into(),
            Ty::Error => "unknown".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_bound_arithmetic() {
        let adults = IntRange { lo: 1, hi: 20 };
        let children = IntRange { lo: 0, hi: 20 };
        let amount = IntRange::exactly(20000)
            .times(adults.plus(children))
            .plus(IntRange::exactly(10000).times(children));
        assert_eq!(
            amount,
            IntRange {
                lo: 20000,
                hi: 1_000_000
            }
        );
        assert!(
            IntRange::FULL
                .times(IntRange::exactly(2))
                .fits_i64()
                .eq(&false)
        );
        assert_eq!(adults.minus(children), IntRange { lo: -19, hi: 20 });
        assert_eq!(adults.negated(), IntRange { lo: -20, hi: -1 });
    }
}
