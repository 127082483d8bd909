//! One JSON record → a [`Case`], read straight into slots.
//!
//! Two readers: a fast path ([`fast`]), a byte scanner for the common subset of JSON that
//! accepts only records matching the schema, and the serde path, a schema-driven
//! `DeserializeSeed` over serde_json that reads any text. The fast path runs first; whenever it
//! gives up — on any escape, float, error or other doubt — the serde path reads the text from
//! scratch. The serde path is authoritative: it alone reports errors, and what the fast path
//! accepts it must read exactly as the serde path would (a differential test holds them to it).
//!
//! In the serde path, the whole text is always read to its end, even after a field is found
//! wrong, so that a truncated or malformed line is reported as `parse_error` whatever else is
//! wrong with it. The first field error in document order is the one reported (missing fields
//! are found at the end of their record).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{Case, ErrorKind, RecordError, Shape};
use crate::check::types::{FieldDef, RecordId, Schema, Ty};
use crate::compile::Value;
use crate::country::Country;
use crate::dates::parse_date;

/// A path to a field, built on the stack and rendered only when an error needs it.
#[derive(Clone, Copy)]
enum Path<'p> {
    Root,
    Field(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(Path::Root, name) => write!(f, "{name}"),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Errors found while reading, kept aside so that reading goes on to the end.
#[derive(Default)]
struct Sink {
    /// A parse-level problem found by us (a duplicate key).
    parse: Option<String>,
    /// Valid JSON but not an object.
    not_an_object: bool,
    /// The first field error.
    first: Option<(ErrorKind, String, String)>,
    /// The id, if it was read.
    id: Option<String>,
}

impl Sink {
    fn field_error(&mut self, kind: ErrorKind, path: &Path<'_>, message: String) {
        if self.first.is_none() {
            self.first = Some((kind, path.to_string(), message));
        }
    }
}

#[cfg(test)]
mod differential;
mod fast;

/// Reads one record. `line` is its physical line, for the case and any error.
pub fn parse_json_record(text: &str, line: usize, shape: Shape<'_>) -> Result<Case, RecordError> {
    match fast::read_well_formed(text.as_bytes(), line, shape, &mut None) {
        Some(case) => Ok(case),
        None => read_with_serde(text, line, shape),
    }
}

/// Reads one record from its bytes, as [`parse_json_record`] reads its text; the bytes' UTF-8
/// error if they are not text. Most records are read without checking the bytes first.
pub fn parse_json_bytes(
    bytes: &[u8],
    line: usize,
    shape: Shape<'_>,
) -> Result<Result<Case, RecordError>, std::str::Utf8Error> {
    parse_json_bytes_reusing(bytes, line, shape, &mut None)
}

/// As [`parse_json_bytes`], with the slots of a case done with (`spare`, taken if it is the
/// right size) reused for this one: a case's slots are hundreds of bytes, and a new block of
/// that size for every record cost more than clearing the old one.
pub fn parse_json_bytes_reusing(
    bytes: &[u8],
    line: usize,
    shape: Shape<'_>,
    spare: &mut Option<Box<[Value]>>,
) -> Result<Result<Case, RecordError>, std::str::Utf8Error> {
    if let Some(case) = fast::read_well_formed(bytes, line, shape, spare) {
        return Ok(Ok(case));
    }
    let text = std::str::from_utf8(bytes)?;
    Ok(read_with_serde(text, line, shape))
}

/// Reads one record with serde_json: any text, with every error reported.
fn read_with_serde(text: &str, line: usize, shape: Shape<'_>) -> Result<Case, RecordError> {
    let mut slots = vec![Value::Absent; shape.layout.case_size()];
    let mut sink = Sink::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let seed = RootSeed {
        shape,
        slots: &mut slots,
        sink: &mut sink,
    };
    // serde_json bounds nesting itself (128 levels, "recursion limit exceeded": a parse error),
    // also inside what the schema does not read and `IgnoredAny` skips.
    let syntax = seed
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end())
        .map_err(|e| describe_json_error(&e));
    let error =
        |kind: ErrorKind, field: Option<String>, message: String, id: Option<String>| RecordError {
            line,
            id,
            kind,
            field,
            message,
        };
    if let Err(message) = syntax {
        return Err(error(ErrorKind::ParseError, None, message, None));
    }
    if let Some(message) = sink.parse {
        return Err(error(ErrorKind::ParseError, None, message, None));
    }
    if sink.not_an_object {
        return Err(error(
            ErrorKind::NotAnObject,
            None,
            "the record is not a JSON object".into(),
            None,
        ));
    }
    if let Some((kind, field, message)) = sink.first {
        return Err(error(kind, Some(field), message, sink.id));
    }
    let id = sink.id.unwrap_or_default();
    Ok(Case {
        line,
        id: id.into_boxed_str(),
        slots: slots.into_boxed_slice(),
    })
}

fn describe_json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    // serde_json appends " at line L column C"; the line is ours to report, the column is kept.
    let column = error.column();
    let message = text.split(" at line ").next().unwrap_or(&text).to_string();
    if error.is_eof() {
        format!("the record is truncated ({message}, column {column})")
    } else {
        format!("not valid JSON: {message} at column {column}")
    }
}

fn found_type(unexpected: &str) -> String {
    format!("found {unexpected}")
}

struct RootSeed<'s, 'x> {
    shape: Shape<'s>,
    slots: &'x mut [Value],
    sink: &'x mut Sink,
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(RootVisitor { seed: self })
    }
}

struct RootVisitor<'s, 'x> {
    seed: RootSeed<'s, 'x>,
}

impl<'de> Visitor<'de> for RootVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let RootSeed { shape, slots, sink } = self.seed;
        read_record(map, shape, Schema::ROOT, slots, 0, &Path::Root, sink)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.seed.sink.not_an_object = true;
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.seed.sink.not_an_object = true;
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.seed.sink.not_an_object = true;
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.seed.sink.not_an_object = true;
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.seed.sink.not_an_object = true;
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.seed.sink.not_an_object = true;
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.seed.sink.not_an_object = true;
        Ok(())
    }
}

/// A key, borrowed from the input when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Reads the fields of a record into `slots[start..]`, laid out by the record type `record`.
fn read_record<'de, A: MapAccess<'de>>(
    mut map: A,
    shape: Shape<'_>,
    record: RecordId,
    slots: &mut [Value],
    start: usize,
    path: &Path<'_>,
    sink: &mut Sink,
) -> Result<(), A::Error> {
    let Some(record_type) = shape.schema.record(record) else {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        return Ok(());
    };
    // Records have few fields: a bit per field, and a linear search by name beats hashing.
    let mut seen = FieldSet::new(record_type.fields.len());
    let mut unknown_seen: Vec<String> = Vec::new();
    while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
        let found = record_type
            .fields
            .values()
            .enumerate()
            .find(|(_, f)| f.name.len() == key.len() && f.name == *key);
        let Some((index, field)) = found else {
            if unknown_seen.iter().any(|k| **k == *key) {
                sink.parse.get_or_insert_with(|| {
                    format!("the key `{}` appears twice", Path::Field(path, &key))
                });
            } else {
                unknown_seen.push(key.to_string());
                if !record_type.open {
                    let field_path = Path::Field(path, &key);
                    sink.field_error(
                        ErrorKind::UnknownField,
                        &field_path,
                        format!("the schema has no field `{field_path}`"),
                    );
                }
            }
            map.next_value::<IgnoredAny>()?;
            continue;
        };
        let field_path = Path::Field(path, &field.name);
        if !seen.insert(index) {
            sink.parse
                .get_or_insert_with(|| format!("the key `{field_path}` appears twice"));
            map.next_value::<IgnoredAny>()?;
            continue;
        }
        let slot = start + shape.layout.slot(record, index).unwrap_or(0);
        let value = map.next_value_seed(FieldSeed {
            shape,
            field,
            ty: &field.ty,
            optional: field.optional,
            slots: &mut *slots,
            slot,
            path: &field_path,
            sink: &mut *sink,
        })?;
        if let Some(target) = slots.get_mut(slot) {
            *target = value;
        }
        if record == Schema::ROOT && field.name == "id" {
            if let Some(Value::Text(id)) = slots.get(slot) {
                sink.id = Some(id.to_string());
            }
        }
    }
    for (index, field) in record_type.fields.values().enumerate() {
        if !seen.contains(index) && !field.optional {
            let field_path = Path::Field(path, &field.name);
            sink.field_error(
                ErrorKind::MissingField,
                &field_path,
                format!("the required field `{field_path}` is missing"),
            );
        }
    }
    Ok(())
}

/// Which fields of a record were seen: one bit each, on the stack for up to 128 fields.
struct FieldSet(smallvec::SmallVec<[u64; 2]>);

impl FieldSet {
    fn new(fields: usize) -> Self {
        FieldSet(smallvec::smallvec![0; fields.div_ceil(64).max(1)])
    }

    /// Marks a field seen; false if it was already.
    fn insert(&mut self, index: usize) -> bool {
        match self.0.get_mut(index / 64) {
            Some(word) => {
                let bit = 1u64 << (index % 64);
                let fresh = *word & bit == 0;
                *word |= bit;
                fresh
            }
            None => true,
        }
    }

    fn contains(&self, index: usize) -> bool {
        self.0
            .get(index / 64)
            .is_some_and(|word| word & (1u64 << (index % 64)) != 0)
    }
}

/// Reads one field's value. Returns the value for its slot; a record field also fills the
/// slots after its own.
struct FieldSeed<'s, 'x, 'p> {
    shape: Shape<'s>,
    field: &'s FieldDef,
    ty: &'s Ty,
    optional: bool,
    slots: &'x mut [Value],
    slot: usize,
    path: &'x Path<'p>,
    sink: &'x mut Sink,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_, '_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if let Ty::Int(range) = self.ty {
            // Read the number's text: `2`, `2.0`, `2e0` and `99999999999999999999` must be told apart.
            let raw: Box<RawValue> = de::Deserialize::deserialize(deserializer)?;
            let text = raw.get().trim();
            return Ok(self.int_from_text(text, range.lo, range.hi));
        }
        deserializer.deserialize_any(FieldVisitor { seed: self })
    }
}

impl FieldSeed<'_, '_, '_> {
    fn wrong_type(&mut self, found: &str) -> Value {
        let expected = expected_words(self.shape.schema, self.ty);
        self.sink.field_error(
            ErrorKind::WrongType,
            self.path,
            format!("`{}` must be {expected}, {}", self.path, found_type(found)),
        );
        Value::Absent
    }

    fn null(&mut self) -> Value {
        if !self.optional {
            self.sink.field_error(
                ErrorKind::MissingField,
                self.path,
                format!("the required field `{}` is null", self.path),
            );
        }
        Value::Absent
    }

    fn int_from_text(mut self, text: &str, lo: i128, hi: i128) -> Value {
        let first = text.as_bytes().first().copied().unwrap_or(b' ');
        match first {
            b'n' => return self.null(),
            b'"' => return self.wrong_type("a string"),
            b't' | b'f' => return self.wrong_type("a bool"),
            b'[' => return self.wrong_type("a list"),
            b'{' => return self.wrong_type("an object"),
            _ => {}
        }
        if text.contains(['.', 'e', 'E']) {
            return self.wrong_type("a number with a fraction or an exponent");
        }
        let value = text.parse::<i128>().ok();
        match value {
            Some(v) if v >= lo && v <= hi => match i64::try_from(v) {
                Ok(v) => Value::Int(v),
                Err(_) => self.out_of_range(text, lo, hi),
            },
            _ => self.out_of_range(text, lo, hi),
        }
    }

    fn out_of_range(&mut self, text: &str, lo: i128, hi: i128) -> Value {
        let shown: String = text.chars().take(40).collect();
        self.sink.field_error(
            ErrorKind::InvalidValue,
            self.path,
            format!("`{}` is {shown}, outside {lo}..{hi}", self.path),
        );
        Value::Absent
    }

    fn string(mut self, s: &str) -> Value {
        match self.ty {
            Ty::Text => {
                if let Some((lo, hi)) = self.field_text_length() {
                    let length = s.chars().count();
                    if length < lo || length > hi {
                        let what = if length == 0 {
                            "empty".to_string()
                        } else {
                            format!("{length} characters long")
                        };
                        self.sink.field_error(
                            ErrorKind::InvalidValue,
                            self.path,
                            format!(
                                "`{}` is {what}; it must be {lo} to {hi} characters",
                                self.path
                            ),
                        );
                        return Value::Absent;
                    }
                }
                Value::Text(Box::from(s))
            }
            Ty::Date => match parse_date(s) {
                Some(date) => Value::Date(date),
                None => {
                    self.sink.field_error(
                        ErrorKind::InvalidDate,
                        self.path,
                        format!("`{}` is not a calendar date (YYYY-MM-DD)", shorten(s)),
                    );
                    Value::Absent
                }
            },
            Ty::Country => {
                match Country::parse(s) {
                    Some(country) => Value::Country(country),
                    None => {
                        self.sink.field_error(
                        ErrorKind::InvalidValue,
                        self.path,
                        format!("`{}` is not an assigned upper-case ISO 3166-1 alpha-2 country code", shorten(s)),
                    );
                        Value::Absent
                    }
                }
            }
            Ty::Enum(id) => {
                let values = self
                    .shape
                    .schema
                    .enum_type(*id)
                    .map(|e| e.values.as_slice())
                    .unwrap_or(&[]);
                match values.iter().position(|v| v == s) {
                    Some(index) => Value::Enum(index as u32),
                    None => {
                        self.sink.field_error(
                            ErrorKind::UnknownEnumValue,
                            self.path,
                            format!(
                                "`{}` is not one of {}",
                                shorten(s),
                                crate::diagnostics::list_words(values)
                            ),
                        );
                        Value::Absent
                    }
                }
            }
            _ => self.wrong_type("a string"),
        }
    }

    fn field_text_length(&self) -> Option<(usize, usize)> {
        // Only the declared field carries a length; list elements of text have none.
        if std::ptr::eq(self.ty, &self.field.ty) {
            self.field.text_length
        } else {
            None
        }
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

fn expected_words(schema: &Schema, ty: &Ty) -> String {
    match ty {
        Ty::Bool => "true or false".into(),
        Ty::Int(_) => "a whole number".into(),
        Ty::Text => "a string".into(),
        Ty::Date => "a date string \"YYYY-MM-DD\"".into(),
        Ty::Country => "a country code string such as \"SY\"".into(),
        Ty::Enum(_) => format!("one of the strings {}", schema.describe(ty)),
        Ty::List(_) => "a list".into(),
        Ty::Record(_) => "an object".into(),
        _ => "a value".into(),
    }
}

struct FieldVisitor<'s, 'x, 'p> {
    seed: FieldSeed<'s, 'x, 'p>,
}

impl<'de> Visitor<'de> for FieldVisitor<'_, '_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field value")
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<Value, E> {
        Ok(match self.seed.ty {
            Ty::Bool => Value::Bool(v),
            _ => self.seed.wrong_type("a bool"),
        })
    }
    fn visit_i64<E: de::Error>(mut self, _: i64) -> Result<Value, E> {
        Ok(self.seed.wrong_type("a number"))
    }
    fn visit_u64<E: de::Error>(mut self, _: u64) -> Result<Value, E> {
        Ok(self.seed.wrong_type("a number"))
    }
    fn visit_f64<E: de::Error>(mut self, _: f64) -> Result<Value, E> {
        Ok(self.seed.wrong_type("a number"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(self.seed.string(v))
    }
    fn visit_unit<E: de::Error>(mut self) -> Result<Value, E> {
        Ok(self.seed.null())
    }
    fn visit_none<E: de::Error>(mut self) -> Result<Value, E> {
        Ok(self.seed.null())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        let Ty::List(element) = self.seed.ty else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(self.seed.wrong_type("a list"));
        };
        let mut items = Vec::new();
        let mut index = 0;
        loop {
            let item_path = Path::Index(self.seed.path, index);
            let next = seq.next_element_seed(ElementSeed {
                shape: self.seed.shape,
                field: self.seed.field,
                ty: element,
                path: &item_path,
                sink: &mut *self.seed.sink,
            })?;
            match next {
                Some(value) => items.push(value),
                None => break,
            }
            index += 1;
        }
        Ok(Value::List(items.into_boxed_slice()))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        let Ty::Record(record) = self.seed.ty else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(self.seed.wrong_type("an object"));
        };
        let start = self.seed.slot + 1;
        read_record(
            map,
            self.seed.shape,
            *record,
            self.seed.slots,
            start,
            self.seed.path,
            self.seed.sink,
        )?;
        Ok(Value::Present)
    }
}

/// An element of a list: a scalar, or a record with its own slots.
struct ElementSeed<'s, 'x, 'p> {
    shape: Shape<'s>,
    field: &'s FieldDef,
    ty: &'s Ty,
    path: &'x Path<'p>,
    sink: &'x mut Sink,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, '_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        // A scalar element needs no slots of its own: only a record element lays out fields.
        let Ty::Record(record) = self.ty else {
            let mut unused: [Value; 0] = [];
            let seed = FieldSeed {
                shape: self.shape,
                field: self.field,
                ty: self.ty,
                optional: false,
                slots: &mut unused,
                slot: 0,
                path: self.path,
                sink: self.sink,
            };
            return seed.deserialize(deserializer);
        };
        let size = self.shape.layout.sizes.get(*record).copied().unwrap_or(0);
        let mut slots = vec![Value::Absent; size + 1];
        let seed = FieldSeed {
            shape: self.shape,
            field: self.field,
            ty: self.ty,
            optional: false,
            slots: &mut slots,
            slot: 0,
            path: self.path,
            sink: self.sink,
        };
        let value = seed.deserialize(deserializer)?;
        Ok(match (self.ty, value) {
            (Ty::Record(_), Value::Present) => {
                slots.remove(0);
                Value::Record(slots.into_boxed_slice())
            }
            (_, value) => value,
        })
    }
}
