//! Schema blocks → [`Schema`]: record and enum types in arenas, every field checked.

use indexmap::IndexMap;

use super::errors::CheckError;
use super::types::{EnumType, FieldDef, IntRange, RecordType, Schema, Ty};
use crate::ast::{RecordTypeExpr, SchemaDef, TypeExpr, TypeKind};
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::source::SourceFile;

const TYPE_NAMES: &[&str] = &["bool", "int", "text", "date", "country"];

struct SchemaBuilder<'a> {
    source: &'a SourceFile,
    schema: Schema,
    diagnostics: Vec<Diagnostic>,
}

/// Checks a schema block.
pub fn check_schema(def: &SchemaDef, source: &SourceFile) -> (Schema, Vec<Diagnostic>) {
    let mut builder = SchemaBuilder {
        source,
        schema: Schema {
            name: def.name.name.clone(),
            records: vec![RecordType::default()],
            enums: Vec::new(),
        },
        diagnostics: Vec::new(),
    };
    let root = builder.record_fields(&def.record);
    if let Some(slot) = builder.schema.records.get_mut(Schema::ROOT) {
        *slot = root;
    }
    let has_id = builder
        .schema
        .root()
        .and_then(|r| r.fields.get("id"))
        .is_some_and(|f| f.ty == Ty::Text && !f.optional);
    if !has_id {
        builder.diagnostics.push(Diagnostic::at(
            &CheckError::SchemaWithoutId,
            source,
            def.name.span,
            "this schema",
        ));
    }
    (builder.schema, builder.diagnostics)
}

impl SchemaBuilder<'_> {
    fn record_fields(&mut self, record: &RecordTypeExpr) -> RecordType {
        let mut fields: IndexMap<String, FieldDef> = IndexMap::new();
        for decl in &record.fields {
            if let Some(first) = fields.get(&decl.name.name) {
                let first_span = first.span;
                self.diagnostics.push(
                    Diagnostic::at(
                        &CheckError::DuplicateName {
                            what: "field",
                            name: decl.name.name.clone(),
                        },
                        self.source,
                        decl.name.span,
                        "defined again here",
                    )
                    .with_label(first_span, "first defined here"),
                );
                continue;
            }
            let (inner, optional) = match &decl.ty.kind {
                TypeKind::Optional(inner) => (inner.as_ref(), true),
                _ => (&decl.ty, false),
            };
            let (ty, text_length) = self.type_of(inner);
            fields.insert(
                decl.name.name.clone(),
                FieldDef {
                    name: decl.name.name.clone(),
                    ty,
                    optional,
                    text_length,
                    span: decl.name.span,
                },
            );
        }
        let json_keys = fields.keys().map(|name| quoted_key(name)).collect();
        RecordType {
            fields,
            open: record.open,
            json_keys,
        }
    }

    fn type_of(&mut self, ty: &TypeExpr) -> (Ty, Option<(usize, usize)>) {
        match &ty.kind {
            TypeKind::Optional(_) => {
                self.diagnostics.push(Diagnostic::at(
                    &CheckError::MisplacedOptional,
                    self.source,
                    ty.span,
                    "not on a record field",
                ));
                (Ty::Error, None)
            }
            TypeKind::List(element) => {
                let (element, _) = self.type_of(element);
                (Ty::List(Box::new(element)), None)
            }
            TypeKind::Record(record) => {
                let id = self.schema.records.len();
                self.schema.records.push(RecordType::default());
                let built = self.record_fields(record);
                if let Some(slot) = self.schema.records.get_mut(id) {
                    *slot = built;
                }
                (Ty::Record(id), None)
            }
            TypeKind::Enum(values) => {
                let mut names: Vec<String> = Vec::with_capacity(values.len());
                for value in values {
                    if names.contains(&value.name) {
                        self.diagnostics.push(Diagnostic::at(
                            &CheckError::DuplicateName {
                                what: "enum value",
                                name: value.name.clone(),
                            },
                            self.source,
                            value.span,
                            "given again here",
                        ));
                    } else {
                        names.push(value.name.clone());
                    }
                }
                (self.intern_enum(names), None)
            }
            TypeKind::Word { word, range } => {
                let mut text_length = None;
                let ty = match word.name.as_str() {
                    "bool" => Ty::Bool,
                    "int" => Ty::Int(range.map_or(IntRange::FULL, |r| IntRange {
                        lo: r.lo.into(),
                        hi: r.hi.into(),
                    })),
                    "text" => {
                        text_length = range.map(|r| {
                            (
                                usize::try_from(r.lo).unwrap_or(0),
                                usize::try_from(r.hi).unwrap_or(0),
                            )
                        });
                        Ty::Text
                    }
                    "date" => Ty::Date,
                    "country" => Ty::Country,
                    other => {
                        // A capitalised or misspelt word is a type the drafter meant; a
                        // lowercase word far from every type name is a one-value enum.
                        let suggestion = did_you_mean(other, TYPE_NAMES.iter().copied())
                            .and_then(|s| TYPE_NAMES.iter().copied().find(|t| *t == s));
                        let looks_like_type = suggestion.is_some()
                            || other.chars().next().is_some_and(|c| c.is_uppercase())
                            || range.is_some();
                        if looks_like_type {
                            self.diagnostics.push(Diagnostic::at(
                                &CheckError::UnknownType {
                                    name: other.to_string(),
                                    suggestion,
                                },
                                self.source,
                                word.span,
                                "not a type",
                            ));
                            return (Ty::Error, None);
                        }
                        return (self.intern_enum(vec![other.to_string()]), None);
                    }
                };
                if range.is_some() && !matches!(ty, Ty::Int(_) | Ty::Text) {
                    let span = range.map_or(word.span, |r| r.span);
                    self.diagnostics.push(Diagnostic::at(
                        &CheckError::MisplacedRange,
                        self.source,
                        span,
                        "no range here",
                    ));
                }
                (ty, text_length)
            }
        }
    }

    fn intern_enum(&mut self, values: Vec<String>) -> Ty {
        let id = self.schema.enums.len();
        self.schema.enums.push(EnumType { values });
        Ty::Enum(id)
    }
}

/// A field's name as a JSON key, with its quotes, if it needs no escaping (a name of the grammar
/// never does: letters, digits and `_`).
fn quoted_key(name: &str) -> Option<Box<[u8]>> {
    let plain = name.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    plain.then(|| format!("\"{name}\"").into_bytes().into_boxed_slice())
}
