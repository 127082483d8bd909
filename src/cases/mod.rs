//! Cases: case records (JSON Lines, a JSON array, CSV) → typed cases in slots.
//!
//! Input: the text of one record and the policy's schema and slot [`Layout`]. Output: a [`Case`]
//! whose slots the compiled program reads, or a [`RecordError`] with the kinds of
//! storskog-policy.md §3.1, the record's line, its id where it can be read, and the field at
//! fault as a dotted path. A bad record never affects another.

mod csv_input;
mod json;
mod locate;
mod split;

use std::fmt;

pub use csv_input::CsvReader;
pub use json::{parse_json_bytes, parse_json_bytes_reusing, parse_json_record};
pub use locate::locate;
pub use split::{ArrayElement, JsonArrayReader, SplitError, SplitFailure};

use crate::check::types::{RecordId, Schema, Ty};
use crate::compile::{Layout, Value};

/// A case record that matched the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The physical line it starts on, from 1.
    pub line: usize,
    /// Its id.
    pub id: Box<str>,
    /// Its values, laid out by the policy's [`Layout`].
    pub slots: Box<[Value]>,
}

/// What is wrong with a record (storskog-policy.md §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// Not JSON, truncated, or with duplicate keys; a CSV row of the wrong length.
    ParseError,
    /// Valid JSON but not an object.
    NotAnObject,
    /// A required field is absent or null.
    MissingField,
    /// A JSON type other than the schema's.
    WrongType,
    /// A string that is not a `YYYY-MM-DD` calendar date.
    InvalidDate,
    /// A string not in the enum.
    UnknownEnumValue,
    /// Any other format violation (length, country code, range).
    InvalidValue,
    /// A field the (closed) schema does not have.
    UnknownField,
    /// An id seen earlier in the batch.
    DuplicateId,
    /// No version is in force on the record's as-of date.
    NoVersionInForce,
}

impl ErrorKind {
    /// Every kind, in the order of storskog-policy.md §3.1.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::ParseError,
        ErrorKind::NotAnObject,
        ErrorKind::MissingField,
        ErrorKind::WrongType,
        ErrorKind::InvalidDate,
        ErrorKind::UnknownEnumValue,
        ErrorKind::InvalidValue,
        ErrorKind::UnknownField,
        ErrorKind::DuplicateId,
        ErrorKind::NoVersionInForce,
    ];

    /// Its position in [`ErrorKind::ALL`].
    pub fn index(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }

    /// The kind at a position of [`ErrorKind::ALL`] (`parse_error` for any other).
    pub fn from_index(index: usize) -> ErrorKind {
        Self::ALL
            .get(index)
            .copied()
            .unwrap_or(ErrorKind::ParseError)
    }

    /// The kind as written in error records.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ParseError => "parse_error",
            ErrorKind::NotAnObject => "not_an_object",
            ErrorKind::MissingField => "missing_field",
            ErrorKind::WrongType => "wrong_type",
            ErrorKind::InvalidDate => "invalid_date",
            ErrorKind::UnknownEnumValue => "unknown_enum_value",
            ErrorKind::InvalidValue => "invalid_value",
            ErrorKind::UnknownField => "unknown_field",
            ErrorKind::DuplicateId => "duplicate_id",
            ErrorKind::NoVersionInForce => "no_version_in_force",
        }
    }

    /// How to fix a record with this error, in words.
    pub fn help(self) -> &'static str {
        match self {
            ErrorKind::ParseError => {
                "each record must be one complete JSON object without duplicate keys (in JSON Lines, one per line), or a CSV row with a cell for each column of the header"
            }
            ErrorKind::NotAnObject => "each record must be a JSON object `{ … }`",
            ErrorKind::MissingField => "add the field; `null` counts as absent",
            ErrorKind::WrongType => "give the field a value of the schema's type",
            ErrorKind::InvalidDate => "write a real calendar date as \"YYYY-MM-DD\"",
            ErrorKind::UnknownEnumValue => {
                "use one of the values the schema lists (case-sensitive)"
            }
            ErrorKind::InvalidValue => "correct the value to the schema's format",
            ErrorKind::UnknownField => "remove the field, or check its spelling against the schema",
            ErrorKind::DuplicateId => {
                "give each record of a batch its own id; a later record with an id already used is not decided"
            }
            ErrorKind::NoVersionInForce => {
                "check the date, or evaluate with --version to apply a version as if in force"
            }
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record that could not be decided.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    /// The physical line it starts on, from 1.
    pub line: usize,
    /// Its id, where it could be read.
    pub id: Option<String>,
    /// What is wrong.
    pub kind: ErrorKind,
    /// The field at fault as a dotted path (`visa.valid_until`, `travel.route[2]`).
    pub field: Option<String>,
    /// The message, in words.
    pub message: String,
}

/// The case schema with its layout: what a reader needs.
#[derive(Debug, Clone, Copy)]
pub struct Shape<'a> {
    /// The schema.
    pub schema: &'a Schema,
    /// The slot layout.
    pub layout: &'a Layout,
}

impl Shape<'_> {
    /// Walks the record laid out from `start` and reports the first required field without a
    /// value, as a dotted path (used after filling slots from flat input such as CSV).
    pub fn first_missing(
        &self,
        record: RecordId,
        slots: &[Value],
        start: usize,
        prefix: &str,
    ) -> Option<String> {
        let fields = self.schema.record(record)?;
        for (index, field) in fields.fields.values().enumerate() {
            let slot = start + self.layout.slot(record, index)?;
            let path = if prefix.is_empty() {
                field.name.clone()
            } else {
                format!("{prefix}.{}", field.name)
            };
            let value = slots.get(slot)?;
            if *value == Value::Absent {
                if !field.optional {
                    return Some(path);
                }
                continue;
            }
            if let Ty::Record(inner) = field.ty {
                if let Some(missing) = self.first_missing(inner, slots, slot + 1, &path) {
                    return Some(missing);
                }
            }
        }
        None
    }
}

/// An id's text is what the case is known by; the schema requires it.
pub(crate) fn id_of(slots: &[Value], id_slot: usize) -> Option<&str> {
    match slots.get(id_slot) {
        Some(Value::Text(t)) => Some(t),
        _ => None,
    }
}
