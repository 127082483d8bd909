//! CSV case records: a header of dotted paths (`travel.origin`), one row per case.
//!
//! An empty cell is an absent value: an optional field left out, or a record whose cells are all
//! empty. Lists are written with `;` between the elements (`SY;LB;RU`). Lists of records cannot
//! be written in CSV.

use super::{Case, ErrorKind, RecordError, Shape};
use crate::check::types::{RecordId, Schema, Ty};
use crate::compile::Value;
use crate::country::Country;
use crate::dates::parse_date;

/// Where a column's cells go.
#[derive(Debug, Clone)]
enum Column {
    Field {
        path: String,
        slot: usize,
        ty: Ty,
        text_length: Option<(usize, usize)>,
        /// Slots of the records that hold the field, marked present when a cell has a value.
        parents: Vec<usize>,
    },
    Unknown {
        path: String,
        open: bool,
    },
}

/// A CSV header, resolved against the schema.
#[derive(Debug)]
pub struct CsvReader {
    columns: Vec<Column>,
}

impl CsvReader {
    /// Resolves the header's dotted paths. An error names a column that cannot be read at all.
    pub fn new(header: &csv::StringRecord, shape: Shape<'_>) -> Result<CsvReader, String> {
        let mut columns = Vec::with_capacity(header.len());
        for name in header.iter() {
            let name = name.trim_start_matches('\u{feff}').trim();
            columns.push(resolve(name, shape)?);
        }
        Ok(CsvReader { columns })
    }

    /// Whether a column holds the field at `path`, or a field inside it.
    fn has_column(&self, path: &str) -> bool {
        self.columns.iter().any(|column| match column {
            Column::Field { path: column, .. } => {
                column == path
                    || column
                        .strip_prefix(path)
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            }
            Column::Unknown { .. } => false,
        })
    }

    /// Reads one row (the case starts on `line`).
    pub fn read(
        &self,
        row: &csv::StringRecord,
        line: usize,
        shape: Shape<'_>,
        id_slot: usize,
    ) -> Result<Case, RecordError> {
        let mut slots = vec![Value::Absent; shape.layout.case_size()];
        let id_cell = self
            .columns
            .iter()
            .zip(row.iter())
            .find_map(|(c, cell)| match c {
                Column::Field { path, .. } if path == "id" && !cell.is_empty() => {
                    Some(cell.to_string())
                }
                _ => None,
            });
        let fail = |kind: ErrorKind, field: Option<String>, message: String| RecordError {
            line,
            id: id_cell.clone(),
            kind,
            field,
            message,
        };
        if row.len() != self.columns.len() {
            return Err(RecordError {
                id: None,
                ..fail(
                    ErrorKind::ParseError,
                    None,
                    format!(
                        "the row has {} {}, the header has {}{}",
                        row.len(),
                        if row.len() == 1 { "cell" } else { "cells" },
                        self.columns.len(),
                        // A quote never closed runs on over line ends, to the end of the file.
                        if row.iter().any(|cell| cell.contains('\n')) {
                            " (a cell holds a line break: is a quote `\"` left open?)"
                        } else {
                            ""
                        }
                    ),
                )
            });
        }
        for (column, cell) in self.columns.iter().zip(row.iter()) {
            if cell.is_empty() {
                continue;
            }
            match column {
                Column::Unknown { open: true, .. } => {}
                Column::Unknown { path, open: false } => {
                    return Err(fail(
                        ErrorKind::UnknownField,
                        Some(path.clone()),
                        format!("the schema has no field `{path}`"),
                    ));
                }
                Column::Field {
                    path,
                    slot,
                    ty,
                    text_length,
                    parents,
                } => {
                    let value = parse_cell(cell, ty, *text_length, shape.schema, path)
                        .map_err(|(kind, field, message)| fail(kind, Some(field), message))?;
                    if let Some(target) = slots.get_mut(*slot) {
                        *target = value;
                    }
                    for parent in parents {
                        if let Some(target) = slots.get_mut(*parent) {
                            *target = Value::Present;
                        }
                    }
                }
            }
        }
        if let Some(missing) = shape.first_missing(Schema::ROOT, &slots, 0, "") {
            return Err(fail(
                ErrorKind::MissingField,
                Some(missing.clone()),
                if self.has_column(&missing) {
                    format!("the required field `{missing}` is missing (an empty cell)")
                } else {
                    format!(
                        "the required field `{missing}` is missing: the header has no column for it"
                    )
                },
            ));
        }
        let id = super::id_of(&slots, id_slot).unwrap_or_default().into();
        Ok(Case {
            line,
            id,
            slots: slots.into_boxed_slice(),
        })
    }
}

fn resolve(name: &str, shape: Shape<'_>) -> Result<Column, String> {
    let mut record: RecordId = Schema::ROOT;
    let mut start = 0;
    let mut parents = Vec::new();
    let parts: Vec<&str> = name.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let Some(record_type) = shape.schema.record(record) else {
            break;
        };
        let Some((index, _, field)) = record_type.fields.get_full(*part) else {
            return Ok(Column::Unknown {
                path: name.to_string(),
                open: record_type.open,
            });
        };
        let slot = start + shape.layout.slot(record, index).unwrap_or(0);
        let last = i + 1 == parts.len();
        match (&field.ty, last) {
            (Ty::Record(inner), false) => {
                parents.push(slot);
                record = *inner;
                start = slot + 1;
            }
            (Ty::Record(_), true) => {
                return Err(format!(
                    "column `{name}` is a record: give one column per field, e.g. `{name}.{}`",
                    shape
                        .schema
                        .record(match field.ty {
                            Ty::Record(r) => r,
                            _ => 0,
                        })
                        .and_then(|r| r.fields.keys().next().cloned())
                        .unwrap_or_default()
                ));
            }
            (Ty::List(element), true) if matches!(**element, Ty::Record(_)) => {
                return Err(format!(
                    "column `{name}` is a list of records, which CSV cannot hold; use JSON Lines"
                ));
            }
            (_, true) => {
                return Ok(Column::Field {
                    path: name.to_string(),
                    slot,
                    ty: field.ty.clone(),
                    text_length: field.text_length,
                    parents,
                });
            }
            (_, false) => {
                return Ok(Column::Unknown {
                    path: name.to_string(),
                    open: false,
                });
            }
        }
    }
    Ok(Column::Unknown {
        path: name.to_string(),
        open: false,
    })
}

type CellError = (ErrorKind, String, String);

fn parse_cell(
    cell: &str,
    ty: &Ty,
    text_length: Option<(usize, usize)>,
    schema: &Schema,
    path: &str,
) -> Result<Value, CellError> {
    let shown: String = cell.chars().take(40).collect();
    let err = |kind: ErrorKind, message: String| (kind, path.to_string(), message);
    match ty {
        Ty::Bool => match cell {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(err(
                ErrorKind::WrongType,
                format!("`{path}` must be true or false, found `{shown}`"),
            )),
        },
        Ty::Int(range) => {
            let digits = cell.strip_prefix('-').unwrap_or(cell);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(
                    ErrorKind::WrongType,
                    format!("`{path}` must be a whole number, found `{shown}`"),
                ));
            }
            match cell
                .parse::<i128>()
                .ok()
                .filter(|v| *v >= range.lo && *v <= range.hi)
                .and_then(|v| i64::try_from(v).ok())
            {
                Some(v) => Ok(Value::Int(v)),
                None => Err(err(
                    ErrorKind::InvalidValue,
                    format!("`{path}` is {shown}, outside {}..{}", range.lo, range.hi),
                )),
            }
        }
        Ty::Text => {
            if let Some((lo, hi)) = text_length {
                let length = cell.chars().count();
                if length < lo || length > hi {
                    return Err(err(
                        ErrorKind::InvalidValue,
                        format!("`{path}` is {length} characters long; it must be {lo} to {hi}"),
                    ));
                }
            }
            Ok(Value::Text(Box::from(cell)))
        }
        Ty::Date => parse_date(cell).map(Value::Date).ok_or_else(|| {
            err(
                ErrorKind::InvalidDate,
                format!("`{shown}` is not a calendar date (YYYY-MM-DD)"),
            )
        }),
        Ty::Country => Country::parse(cell).map(Value::Country).ok_or_else(|| {
            err(
                ErrorKind::InvalidValue,
                format!("`{shown}` is not an assigned upper-case ISO 3166-1 alpha-2 country code"),
            )
        }),
        Ty::Enum(id) => {
            let values = schema
                .enum_type(*id)
                .map(|e| e.values.as_slice())
                .unwrap_or(&[]);
            values
                .iter()
                .position(|v| v == cell)
                .map(|i| Value::Enum(i as u32))
                .ok_or_else(|| {
                    err(
                        ErrorKind::UnknownEnumValue,
                        format!(
                            "`{shown}` is not one of {}",
                            crate::diagnostics::list_words(values)
                        ),
                    )
                })
        }
        Ty::List(element) => {
            let mut items = Vec::new();
            for (i, part) in cell.split(';').enumerate() {
                let item_path = format!("{path}[{i}]");
                items.push(parse_cell(part.trim(), element, None, schema, &item_path)?);
            }
            Ok(Value::List(items.into_boxed_slice()))
        }
        _ => Err(err(
            ErrorKind::WrongType,
            format!("`{path}` cannot be written in CSV"),
        )),
    }
}
