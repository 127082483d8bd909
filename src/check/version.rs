//! One version file → [`Version`]: its header, lets, outcomes, rules, caps and warnings.

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use super::errors::CheckError;
use super::expr::{ExprChecker, Fact, LetInfo, Words};
use super::model::{
    Attribute, Cap, CapCounts, Let, Outcome, Rule, TExpr, TExprKind, Version, Warning,
};
use super::types::{Schema, Ty};
use crate::ast::{self, AttrValue, ItemKind};
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::source::{SourceFile, Span};

/// The header of a version file, read before its schema is known.
pub struct Header<'a> {
    pub policy: Option<&'a ast::Ident>,
    pub version: Option<&'a ast::VersionId>,
    pub from: Option<ast::DateLit>,
    pub until: Option<ast::DateLit>,
    pub basis: Option<&'a ast::StrLit>,
    pub schema: Option<(&'a ast::Ident, &'a ast::StrLit)>,
    pub as_of: Option<&'a ast::Expr>,
    pub header_span: Span,
}

/// Reads the header declarations of a version file, reporting duplicates.
pub fn header<'a>(
    file: &'a ast::File,
    source: &SourceFile,
    diagnostics: &mut Vec<Diagnostic>,
) -> Header<'a> {
    let mut header = Header {
        policy: None,
        version: None,
        from: None,
        until: None,
        basis: None,
        schema: None,
        as_of: None,
        // Without a `policy` line, missing declarations point at the file's first item.
        header_span: file
            .items
            .first()
            .map_or(Span::new(0, 0), |i| Span::new(i.span.start, i.span.start)),
    };
    let mut duplicate = |what: &'static str, span: Span| {
        diagnostics.push(Diagnostic::at(
            &CheckError::DuplicateDeclaration { what },
            source,
            span,
            "declared again here",
        ));
    };
    for item in &file.items {
        match &item.kind {
            ItemKind::PolicyHeader { policy, version } => {
                if header.policy.is_some() {
                    duplicate("policy", item.span);
                } else {
                    header.policy = Some(policy);
                    header.version = Some(version);
                    header.header_span = item.span;
                }
            }
            ItemKind::InForce { from, until } => {
                if header.from.is_some() {
                    duplicate("in force", item.span);
                } else {
                    header.from = Some(*from);
                    header.until = *until;
                }
            }
            ItemKind::Basis(basis) => {
                if header.basis.is_some() {
                    duplicate("basis", item.span);
                } else {
                    header.basis = Some(basis);
                }
            }
            ItemKind::SchemaRef { name, path } => {
                if header.schema.is_some() {
                    duplicate("schema", item.span);
                } else {
                    header.schema = Some((name, path));
                }
            }
            ItemKind::AsOf(expr) => {
                if header.as_of.is_some() {
                    duplicate("as of", item.span);
                } else {
                    header.as_of = Some(expr);
                }
            }
            _ => {}
        }
    }
    header
}

/// Checks the body of a version file against its schema.
pub fn check_version(
    file: &ast::File,
    header: &Header<'_>,
    source: &SourceFile,
    schema: &Schema,
) -> (Option<Version>, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let header_span = header.header_span;
    let mut missing = |what: &'static str, example: &'static str| {
        diagnostics.push(Diagnostic::at(
            &CheckError::MissingDeclaration { what, example },
            source,
            header_span,
            "in this version",
        ));
    };
    if header.policy.is_none() {
        missing("policy", "policy NAME version 2016-02-03");
    }
    if header.from.is_none() {
        missing("in force from", "in force from 2016-02-03");
    }
    if header.schema.is_none() {
        missing("schema", "schema Case from \"schema.policy\"");
    }
    if header.as_of.is_none() {
        missing("as of", "as of case.decision_date");
    }
    if let (Some(from), Some(until)) = (header.from, header.until) {
        if until.date < from.date {
            diagnostics.push(Diagnostic::at(
                &CheckError::EmptyVersionSpan,
                source,
                until.span,
                "before the start",
            ));
        }
    }

    let mut checker = ExprChecker::new(schema, source);
    checker.later_lets = file
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Let(l) => Some(l.name.name.clone()),
            _ => None,
        })
        .collect();

    let as_of = header.as_of.map(|expr| {
        let checked = checker.expr(expr, &[], None, Words::Names);
        let is_case_date = checked.ty == Ty::Date && is_case_path(&checked);
        if !is_case_date && checked.ty != Ty::Error {
            checker.error(
                CheckError::AsOfNotDate,
                expr.span,
                "not a date field of the case",
            );
        }
        checked
    });

    // Lets, in order; each sees only those above it.
    let mut lets = Vec::new();
    for item in &file.items {
        let ItemKind::Let(def) = &item.kind else {
            continue;
        };
        checker.later_lets.retain(|n| n != &def.name.name);
        if let Some(first) = checker.lets.iter().find(|l| l.name == def.name.name) {
            let first_span = first.span;
            checker.diagnostics.push(
                Diagnostic::at(
                    &CheckError::DuplicateName {
                        what: "let",
                        name: def.name.name.clone(),
                    },
                    source,
                    def.name.span,
                    "defined again here",
                )
                .with_label(first_span, "first defined here"),
            );
            continue;
        }
        let value = checker.expr(&def.value, &[], None, Words::Names);
        let (when_true, when_false) = if value.ty == Ty::Bool {
            (
                checker.facts_when(&value, true),
                checker.facts_when(&value, false),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        checker.lets.push(LetInfo {
            name: def.name.name.clone(),
            ty: value.ty.clone(),
            span: def.name.span,
            when_true,
            when_false,
            used: false,
        });
        lets.push(Let {
            name: def.name.name.clone(),
            value,
            span: def.name.span,
        });
    }
    checker.later_lets.clear();

    // Outcomes.
    let mut outcomes: IndexMap<String, Outcome> = IndexMap::new();
    for item in &file.items {
        let ItemKind::Outcome(def) = &item.kind else {
            continue;
        };
        if let Some(first) = outcomes.get(&def.name.name) {
            let first_span = first.span;
            checker.diagnostics.push(
                Diagnostic::at(
                    &CheckError::DuplicateName {
                        what: "outcome",
                        name: def.name.name.clone(),
                    },
                    source,
                    def.name.span,
                    "declared again here",
                )
                .with_label(first_span, "first declared here"),
            );
            continue;
        }
        let mut attributes: Vec<Attribute> = Vec::new();
        for attr in &def.attributes {
            if attributes.iter().any(|a| a.name == attr.name.name) {
                checker.error(
                    CheckError::DuplicateName {
                        what: "attribute",
                        name: attr.name.name.clone(),
                    },
                    attr.name.span,
                    "given again here",
                );
                continue;
            }
            let (ty, value) = match &attr.value {
                AttrValue::Type(word) => (type_word(&word.name), None),
                AttrValue::Expr(expr) => {
                    let value = checker.expr(expr, &[], None, Words::Symbols);
                    (value.ty.clone(), Some(value))
                }
            };
            attributes.push(Attribute {
                name: attr.name.name.clone(),
                ty,
                value,
            });
        }
        outcomes.insert(
            def.name.name.clone(),
            Outcome {
                name: def.name.name.clone(),
                attributes,
                span: def.name.span,
            },
        );
    }

    // Caps: declared before rules are checked, so that `within cap` can name any of them.
    let cap_names: Vec<String> = file
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Cap(c) => Some(c.name.name.clone()),
            _ => None,
        })
        .collect();

    let mut decided: Vec<bool> = vec![false; outcomes.len()];
    let mut capped: Vec<bool> = vec![false; cap_names.len()];

    // Rules and otherwise.
    let mut rules: Vec<Rule> = Vec::new();
    // Where each rule above was defined, by name: duplicates found without a search per rule.
    let mut rule_spans: std::collections::HashMap<String, Span> = std::collections::HashMap::new();
    let mut otherwise: Option<(Rule, Span)> = None;
    for item in &file.items {
        match &item.kind {
            ItemKind::Rule(def) => {
                if let Some((_, otherwise_span)) = &otherwise {
                    checker.diagnostics.push(
                        Diagnostic::at(
                            &CheckError::RuleAfterOtherwise {
                                rule: def.name.name.clone(),
                            },
                            source,
                            def.name.span,
                            "after `otherwise`",
                        )
                        .with_label(*otherwise_span, "`otherwise` is here"),
                    );
                }
                if let Some(&first_span) = rule_spans.get(&def.name.name) {
                    checker.diagnostics.push(
                        Diagnostic::at(
                            &CheckError::DuplicateName {
                                what: "rule",
                                name: def.name.name.clone(),
                            },
                            source,
                            def.name.span,
                            "defined again here",
                        )
                        .with_label(first_span, "first defined here"),
                    );
                }
                if let Some(rule) = check_rule(
                    def,
                    item.span,
                    &mut checker,
                    &outcomes,
                    &cap_names,
                    &mut decided,
                    &mut capped,
                ) {
                    rule_spans.entry(rule.name.clone()).or_insert(rule.span);
                    rules.push(rule);
                }
            }
            ItemKind::Otherwise(def) => {
                if let Some((_, first)) = &otherwise {
                    checker.diagnostics.push(
                        Diagnostic::at(
                            &CheckError::DuplicateDeclaration { what: "otherwise" },
                            source,
                            item.span,
                            "declared again here",
                        )
                        .with_label(*first, "first declared here"),
                    );
                    continue;
                }
                let because = match &def.because {
                    Some(b) => b.value.clone(),
                    None => {
                        checker.error(
                            CheckError::OtherwiseWithoutReason,
                            item.span,
                            "no reason given",
                        );
                        String::new()
                    }
                };
                let outcome = resolve_outcome(&mut checker, &outcomes, &def.outcome);
                if let Some(index) = outcome {
                    if let Some(d) = decided.get_mut(index) {
                        *d = true;
                    }
                }
                let with = check_with(
                    &mut checker,
                    &outcomes,
                    outcome,
                    &def.with,
                    &[],
                    "`otherwise`",
                    def.outcome.span,
                );
                otherwise = Some((
                    Rule {
                        name: "otherwise".into(),
                        when: None,
                        unless: None,
                        outcome: outcome.unwrap_or(0),
                        with,
                        cap: None,
                        because,
                        cites: def.cites.iter().map(|c| c.value.clone()).collect(),
                        span: item.span,
                    },
                    item.span,
                ));
            }
            _ => {}
        }
    }
    if otherwise.is_none() {
        let span = rules.last().map_or(header_span, |r| r.span);
        checker.error(
            CheckError::MissingOtherwise,
            span,
            "no `otherwise` after the last rule",
        );
    }

    // Caps.
    let mut caps: Vec<Cap> = Vec::new();
    for item in &file.items {
        let ItemKind::Cap(def) = &item.kind else {
            continue;
        };
        if caps.iter().any(|c| c.name == def.name.name) {
            checker.error(
                CheckError::DuplicateName {
                    what: "cap",
                    name: def.name.name.clone(),
                },
                def.name.span,
                "declared again here",
            );
            continue;
        }
        if let Some(cap) = check_cap(
            def,
            item.span,
            &mut checker,
            &outcomes,
            &cap_names,
            &mut decided,
        ) {
            caps.push(cap);
        }
    }

    // Warnings.
    let mut warnings = Vec::new();
    for item in &file.items {
        let ItemKind::Warn(def) = &item.kind else {
            continue;
        };
        let when = checker.condition(&def.when, &[], "a `warn` condition");
        warnings.push(Warning {
            message: def.message.value.clone(),
            when,
        });
    }

    // Lints.
    for info in &checker.lets {
        if !info.used && !checker.used_early.contains(&info.name) {
            diagnostics.push(Diagnostic::at(
                &CheckError::UnusedLet {
                    name: info.name.clone(),
                },
                source,
                info.span,
                "never used",
            ));
        }
    }
    for (outcome, used) in outcomes.values().zip(&decided) {
        if !used {
            diagnostics.push(Diagnostic::at(
                &CheckError::UnusedOutcome {
                    name: outcome.name.clone(),
                },
                source,
                outcome.span,
                "never decided",
            ));
        }
    }
    for cap in &caps {
        let used = cap_names
            .iter()
            .position(|n| *n == cap.name)
            .and_then(|i| capped.get(i))
            .copied()
            .unwrap_or(false);
        if !used {
            diagnostics.push(Diagnostic::at(
                &CheckError::UnusedCap {
                    name: cap.name.clone(),
                },
                source,
                cap.span,
                "no rule is within it",
            ));
        }
    }

    diagnostics.append(&mut checker.diagnostics);
    let failed = diagnostics.iter().any(Diagnostic::is_error);
    let version = match (header.policy, header.version, header.from, as_of, otherwise) {
        (Some(policy), Some(version), Some(from), Some(as_of), Some((otherwise, _))) if !failed => {
            Some(Version {
                policy: policy.name.clone(),
                id: version.text.clone(),
                from: from.date,
                until: header.until.map(|u| u.date),
                basis: header.basis.map(|b| b.value.clone()),
                source: source.clone(),
                sha256: sha256_hex(source.text.as_bytes()),
                as_of,
                lets,
                outcomes: outcomes.into_values().collect(),
                rules,
                otherwise,
                caps,
                warnings,
            })
        }
        _ => None,
    };
    (version, diagnostics)
}

/// The hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_case_path(expr: &TExpr) -> bool {
    match &expr.kind {
        TExprKind::Case => true,
        TExprKind::Field { base, .. } => is_case_path(base),
        _ => false,
    }
}

fn type_word(word: &str) -> Ty {
    match word {
        "text" => Ty::Text,
        "int" => Ty::Int(super::types::IntRange::FULL),
        "bool" => Ty::Bool,
        "date" => Ty::Date,
        _ => Ty::Country,
    }
}

fn resolve_outcome(
    checker: &mut ExprChecker<'_>,
    outcomes: &IndexMap<String, Outcome>,
    name: &ast::Ident,
) -> Option<usize> {
    match outcomes.get_index_of(&name.name) {
        Some(index) => Some(index),
        None => {
            let suggestion =
                did_you_mean(&name.name, outcomes.keys().map(String::as_str)).map(str::to_string);
            checker.error(
                CheckError::UnknownOutcome {
                    name: name.name.clone(),
                    suggestion,
                },
                name.span,
                "not declared",
            );
            None
        }
    }
}

/// Checks a `with` block against the outcome's attributes, and that every attribute declared by
/// type only is set.
fn check_with(
    checker: &mut ExprChecker<'_>,
    outcomes: &IndexMap<String, Outcome>,
    outcome: Option<usize>,
    with: &[ast::Attr],
    facts: &[Fact],
    decider: &str,
    outcome_span: Span,
) -> Vec<(usize, TExpr)> {
    let Some((_, declared)) = outcome.and_then(|i| outcomes.get_index(i)) else {
        return Vec::new();
    };
    let mut set = Vec::new();
    for attr in with {
        let Some(index) = declared
            .attributes
            .iter()
            .position(|a| a.name == attr.name.name)
        else {
            checker.error(
                CheckError::UnknownAttribute {
                    outcome: declared.name.clone(),
                    name: attr.name.name.clone(),
                },
                attr.name.span,
                "not declared on the outcome",
            );
            continue;
        };
        let AttrValue::Expr(expr) = &attr.value else {
            continue;
        };
        let declared_ty = declared
            .attributes
            .get(index)
            .map_or(Ty::Error, |a| a.ty.clone());
        let value = checker.expr(expr, facts, Some(&declared_ty), Words::Symbols);
        if !declared_ty.same_kind(&value.ty) {
            let (want, found) = (
                checker.schema.describe(&declared_ty),
                checker.schema.describe(&value.ty),
            );
            checker.error(
                CheckError::AttributeType {
                    outcome: declared.name.clone(),
                    name: attr.name.name.clone(),
                    declared: want,
                    found,
                },
                value.span,
                "a different type",
            );
            continue;
        }
        set.push((index, value));
    }
    for (index, attribute) in declared.attributes.iter().enumerate() {
        if attribute.value.is_none() && !set.iter().any(|(i, _)| *i == index) {
            let ty = checker.schema.describe(&attribute.ty);
            checker.error(
                CheckError::MissingAttribute {
                    decider: decider.to_string(),
                    outcome: declared.name.clone(),
                    name: attribute.name.clone(),
                    ty,
                },
                outcome_span,
                "attribute not set",
            );
        }
    }
    set
}

fn check_rule(
    def: &ast::RuleDef,
    span: Span,
    checker: &mut ExprChecker<'_>,
    outcomes: &IndexMap<String, Outcome>,
    cap_names: &[String],
    decided: &mut [bool],
    capped: &mut [bool],
) -> Option<Rule> {
    let name = def.name.name.clone();
    let missing = |checker: &mut ExprChecker<'_>, clause: &'static str, example: &'static str| {
        checker.error(
            CheckError::MissingClause {
                rule: name.clone(),
                clause,
                example,
            },
            def.name.span,
            format!("no `{clause}`"),
        );
    };
    if def.when.is_none() {
        missing(checker, "when", "when CONDITION");
    }
    if def.then.is_none() {
        missing(checker, "then", "then OUTCOME");
    }
    if def.because.is_none() {
        missing(checker, "because", "because \"the reason, in words\"");
    }
    let when = def
        .when
        .as_ref()
        .map(|w| checker.condition(w, &[], "a `when` condition"));
    let when_facts = when
        .as_ref()
        .map(|w| checker.facts_when(w, true))
        .unwrap_or_default();
    let unless = def
        .unless
        .as_ref()
        .map(|u| checker.condition(u, &when_facts, "an `unless` condition"));
    let mut with_facts = when_facts.clone();
    if let Some(u) = &unless {
        with_facts.extend(checker.facts_when(u, false));
    }
    let then = def.then.as_ref()?;
    let outcome = resolve_outcome(checker, outcomes, &then.outcome);
    if let Some(d) = outcome.and_then(|i| decided.get_mut(i)) {
        *d = true;
    }
    let with = check_with(
        checker,
        outcomes,
        outcome,
        &then.with,
        &with_facts,
        &format!("rule `{name}`"),
        then.outcome.span,
    );
    let cap = match &then.cap {
        Some(cap) => match cap_names.iter().position(|c| c == &cap.name) {
            Some(index) => {
                if let Some(c) = capped.get_mut(index) {
                    *c = true;
                }
                Some(index)
            }
            None => {
                let suggestion = did_you_mean(&cap.name, cap_names.iter().map(String::as_str))
                    .map(str::to_string);
                checker.error(
                    CheckError::UnknownCap {
                        name: cap.name.clone(),
                        suggestion,
                    },
                    cap.span,
                    "not declared",
                );
                None
            }
        },
        None => None,
    };
    Some(Rule {
        name,
        when: Some(when?),
        unless,
        outcome: outcome?,
        with,
        cap,
        because: def.because.as_ref()?.value.clone(),
        cites: def.cites.iter().map(|c| c.value.clone()).collect(),
        span,
    })
}

fn check_cap(
    def: &ast::CapDef,
    span: Span,
    checker: &mut ExprChecker<'_>,
    outcomes: &IndexMap<String, Outcome>,
    cap_names: &[String],
    decided: &mut [bool],
) -> Option<Cap> {
    let name = def.name.name.clone();
    let missing = |checker: &mut ExprChecker<'_>, clause: &'static str, example: &'static str| {
        checker.error(
            CheckError::CapMissingClause {
                cap: name.clone(),
                clause,
                example,
            },
            def.name.span,
            format!("no `{clause}`"),
        );
    };
    if def.limit.is_none() {
        missing(checker, "limit", "limit 300");
    }
    if def.order_by.is_empty() {
        missing(checker, "order by", "order by case.decision_date, case.id");
    }
    if def.overflow.is_none() {
        missing(checker, "overflow", "overflow waitlist");
    }
    let limit = def.limit?;
    let limit = match u64::try_from(limit.value) {
        Ok(l) => l,
        Err(_) => {
            checker.error(
                CheckError::NegativeLimit { cap: name.clone() },
                limit.span,
                "below zero",
            );
            return None;
        }
    };
    let mut order_by = Vec::new();
    for key in &def.order_by {
        let checked = checker.expr(key, &[], None, Words::Names);
        if !checked.ty.is_ordered() {
            let ty = checker.schema.describe(&checked.ty);
            checker.error(
                CheckError::NotOrdered { ty, op: "order by" },
                key.span,
                "cannot order by this",
            );
        }
        order_by.push(checked);
    }
    let counts = match &def.counts {
        Some(clause) => {
            // Caps of other versions may be named too; the folder check resolves those.
            let _ = cap_names;
            CapCounts {
                caps: (!clause.caps.is_empty())
                    .then(|| clause.caps.iter().map(|c| c.name.clone()).collect()),
                from: clause.from.map(|d| d.date),
            }
        }
        None => CapCounts {
            caps: Some(vec![name.clone()]),
            from: None,
        },
    };
    let overflow_name = def.overflow.as_ref()?;
    let overflow = resolve_outcome(checker, outcomes, overflow_name)?;
    if let Some((outcome_name, outcome)) = outcomes.get_index(overflow) {
        if let Some(attribute) = outcome.attributes.iter().find(|a| a.value.is_none()) {
            checker.error(
                CheckError::OverflowWithoutValue {
                    cap: name.clone(),
                    outcome: outcome_name.clone(),
                    attribute: attribute.name.clone(),
                },
                overflow_name.span,
                "an outcome with an attribute no rule sets here",
            );
        }
    }
    if let Some(d) = decided.get_mut(overflow) {
        *d = true;
    }
    Some(Cap {
        name,
        limit,
        counts,
        order_by,
        overflow,
        span,
    })
}
