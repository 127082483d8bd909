//! The JSON decision record, written straight from a decision without building it first.
//!
//! Everything a rule's decisions share — policy, version, outcome, rule, reason, citations, the
//! hash, and the attributes when none is computed from the case — is escaped once, when the
//! policy is loaded; a decision then writes its line, its id and the few parts that vary. The
//! bytes are exactly what serialising a [`Decision`](super::Decision) gives (tested).

use std::io::Write;

use crate::cases::Case;
use crate::compile::{CompiledPolicy, CompiledRule, Program};
use crate::eval::{self, Decided, RuleRef, Scalar, Trace};

/// A JSON string literal, escaped.
fn quoted(text: &str) -> Vec<u8> {
    serde_json::to_vec(text).unwrap_or_else(|_| b"\"\"".to_vec())
}

/// What one outcome, decided by one rule, writes.
#[derive(Debug, Clone)]
struct OutcomePart {
    /// `,"outcome":"…","rule":"…","attributes":` .
    head: Vec<u8>,
    /// The attributes object, when no attribute is computed from the case or set by `with`
    /// from the case.
    fixed_attributes: Option<Vec<u8>>,
    /// `"name":` for each attribute, in order, for attributes computed per case.
    attribute_keys: Vec<Vec<u8>>,
}

/// The parts of a rule's decisions.
#[derive(Debug, Clone)]
struct RulePart {
    granted: OutcomePart,
    /// The cap's overflow outcome, for a capped rule.
    overflow: Option<OutcomePart>,
    /// `,"cap":"…"` or `,"cap":null`.
    cap: Vec<u8>,
    /// `,"reason":"…","cites":[…],"policy_sha256":"…"`.
    tail: Vec<u8>,
}

/// The pre-escaped parts of every rule of every version.
#[derive(Debug, Clone)]
pub struct JsonTemplates {
    /// Per version: `,"policy":"…","version":"…"`.
    versions: Vec<Vec<u8>>,
    /// Per version, per rule (`otherwise` last).
    rules: Vec<Vec<RulePart>>,
    /// Per version, per warning: the message, quoted.
    warnings: Vec<Vec<Vec<u8>>>,
}

/// What varies between the decisions of one rule: the templates hold the rest. A decision that
/// waits for its cap is kept in this form (a few dozen bytes instead of a rendered record of
/// about 600), with what both of its endings need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionParts {
    /// The version, by index.
    pub version: usize,
    /// The rule, by index into the version's rules (`otherwise` last).
    pub rule: usize,
    /// The outcome when granted (or uncapped), by index.
    pub outcome: usize,
    /// The cap's overflow outcome (the outcome itself for an uncapped rule).
    pub overflow_outcome: usize,
    /// The warnings that hold, by index into the version's warnings.
    pub warnings: Vec<u16>,
    /// The attributes object when granted, if computed from the case (else empty: fixed).
    pub attributes: Vec<u8>,
    /// The attributes object of the overflow outcome, if computed from the case.
    pub overflow_attributes: Vec<u8>,
    /// `,"trace":…` when the decision is explained (else empty).
    pub trace: Vec<u8>,
}

impl JsonTemplates {
    /// Escapes once what every decision of the policy will write.
    pub fn new(policy: &CompiledPolicy) -> Self {
        let mut versions = Vec::new();
        let mut rules = Vec::new();
        let mut warnings = Vec::new();
        for program in &policy.programs {
            let mut head = b",\"policy\":".to_vec();
            head.extend(quoted(&program.policy));
            head.extend(b",\"version\":");
            head.extend(quoted(&program.version));
            versions.push(head);
            let parts = program
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| rule_part(program, r, RuleRef::Rule(i)))
                .chain(std::iter::once(rule_part(
                    program,
                    &program.otherwise,
                    RuleRef::Otherwise,
                )))
                .collect();
            rules.push(parts);
            warnings.push(
                program
                    .warnings
                    .iter()
                    .map(|w| quoted(&w.message))
                    .collect(),
            );
        }
        JsonTemplates {
            versions,
            rules,
            warnings,
        }
    }

    fn rule(&self, version: usize, rule: usize) -> Option<&RulePart> {
        self.rules.get(version)?.get(rule)
    }

    /// The parts of a decision that vary from case to case: what the templates need besides
    /// the line and the id. A capped decision gets the parts of both its endings.
    pub fn parts(
        &self,
        policy: &CompiledPolicy,
        case: &Case,
        decided: &Decided,
        trace: Option<&Trace>,
    ) -> DecisionParts {
        let rule_index = match decided.rule {
            RuleRef::Rule(i) => i,
            RuleRef::Otherwise => self
                .rules
                .get(decided.version)
                .map_or(0, |r| r.len().saturating_sub(1)),
        };
        let program = policy.programs.get(decided.version);
        let rule = self.rule(decided.version, rule_index);
        let overflow_outcome = decided
            .cap
            .and_then(|c| program.and_then(|p| p.caps.get(c)))
            .map_or(decided.outcome, |c| c.overflow);
        let mut parts = DecisionParts {
            version: decided.version,
            rule: rule_index,
            outcome: decided.outcome,
            overflow_outcome,
            warnings: decided.warnings.clone(),
            attributes: Vec::new(),
            overflow_attributes: Vec::new(),
            trace: Vec::new(),
        };
        if let (Some(rule), Some(program)) = (rule, program) {
            parts.attributes = computed_attributes(
                program,
                &rule.granted,
                case,
                decided.outcome,
                Some(decided.rule),
            );
            if let Some(overflow) = &rule.overflow {
                parts.overflow_attributes =
                    computed_attributes(program, overflow, case, overflow_outcome, None);
            }
        }
        if let Some(trace) = trace {
            parts.trace.extend_from_slice(b",\"trace\":");
            let _ = serde_json::to_writer(&mut parts.trace, trace);
        }
        parts
    }

    /// Writes one decision record from its parts. `overflow` is the queue position of a case
    /// that got no place.
    pub fn render(
        &self,
        out: &mut Vec<u8>,
        line: usize,
        id: &str,
        parts: &DecisionParts,
        overflow: Option<u64>,
    ) {
        let (Some(rule), Some(version)) = (
            self.rule(parts.version, parts.rule),
            self.versions.get(parts.version),
        ) else {
            return;
        };
        out.extend_from_slice(b"{\"line\":");
        out.extend_from_slice(itoa::Buffer::new().format(line).as_bytes());
        out.extend_from_slice(b",\"id\":");
        write_string(out, id);
        out.extend_from_slice(version);
        let (part, computed) = match (overflow, &rule.overflow) {
            (Some(_), Some(part)) => (part, &parts.overflow_attributes),
            _ => (&rule.granted, &parts.attributes),
        };
        out.extend_from_slice(&part.head);
        match &part.fixed_attributes {
            Some(fixed) => out.extend_from_slice(fixed),
            None => out.extend_from_slice(computed),
        }
        out.extend_from_slice(&rule.cap);
        match overflow {
            Some(position) => {
                out.extend_from_slice(b",\"queue_position\":");
                out.extend_from_slice(itoa::Buffer::new().format(position).as_bytes());
            }
            None => out.extend_from_slice(b",\"queue_position\":null"),
        }
        out.extend_from_slice(&rule.tail);
        if !parts.warnings.is_empty() {
            out.extend_from_slice(b",\"warnings\":[");
            let messages = self.warnings.get(parts.version);
            for (i, w) in parts.warnings.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if let Some(message) = messages.and_then(|m| m.get(usize::from(*w))) {
                    out.extend_from_slice(message);
                }
            }
            out.push(b']');
        }
        out.extend_from_slice(&parts.trace);
        out.push(b'}');
    }

    /// Writes one decision record. `overflow` is the queue position of a case that got no place.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        policy: &CompiledPolicy,
        case: &Case,
        decided: &Decided,
        overflow: Option<u64>,
        trace: Option<&Trace>,
    ) {
        let parts = self.parts(policy, case, decided, trace);
        self.render(out, case.line, &case.id, &parts, overflow);
    }
}

/// The attributes object of one ending of a decision, when its values are computed from the
/// case; empty when the ending's attributes are fixed (the templates hold them).
fn computed_attributes(
    program: &Program,
    part: &OutcomePart,
    case: &Case,
    outcome: usize,
    with: Option<RuleRef>,
) -> Vec<u8> {
    if part.fixed_attributes.is_some() {
        return Vec::new();
    }
    let values = eval::attribute_values(program, case, outcome, with);
    let mut out = vec![b'{'];
    let mut first = true;
    for (key, value) in part.attribute_keys.iter().zip(&values) {
        if *value == Scalar::Null {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(key);
        write_scalar(&mut out, value);
    }
    out.push(b'}');
    out
}

fn outcome_part(
    program: &Program,
    rule: &CompiledRule,
    outcome_index: usize,
    with_rule: bool,
) -> OutcomePart {
    let outcome = program.outcomes.get(outcome_index);
    let mut head = b",\"outcome\":".to_vec();
    head.extend(quoted(outcome.map_or("", |o| &o.name)));
    head.extend(b",\"rule\":");
    head.extend(quoted(&rule.name));
    head.extend(b",\"attributes\":");
    let attributes = outcome.map(|o| o.attributes.as_slice()).unwrap_or(&[]);
    let value_of = |index: usize| {
        let set = if with_rule {
            rule.with.iter().find(|(i, _)| *i == index).map(|(_, n)| n)
        } else {
            None
        };
        set.or(attributes.get(index).and_then(|a| a.value.as_ref()))
    };
    // Constant attributes (no case field read) are written once, here.
    let all_constant = (0..attributes.len())
        .all(|i| matches!(value_of(i), Some(crate::compile::Node::Const(_)) | None));
    let fixed_attributes = all_constant.then(|| {
        let mut object = b"{".to_vec();
        let mut first = true;
        for (i, attribute) in attributes.iter().enumerate() {
            let Some(crate::compile::Node::Const(value)) = value_of(i) else {
                continue;
            };
            let scalar = eval::Val::of(value).as_scalar(&attribute.kind);
            if scalar == Scalar::Null {
                continue;
            }
            if !first {
                object.push(b',');
            }
            first = false;
            object.extend(quoted(&attribute.name));
            object.push(b':');
            write_scalar(&mut object, &scalar);
        }
        object.push(b'}');
        object
    });
    let attribute_keys = attributes
        .iter()
        .map(|a| {
            let mut key = quoted(&a.name);
            key.push(b':');
            key
        })
        .collect();
    OutcomePart {
        head,
        fixed_attributes,
        attribute_keys,
    }
}

fn rule_part(program: &Program, rule: &CompiledRule, _reference: RuleRef) -> RulePart {
    let granted = outcome_part(program, rule, rule.outcome, true);
    let cap = rule.cap.and_then(|c| program.caps.get(c));
    let overflow = cap.map(|c| outcome_part(program, rule, c.overflow, false));
    let cap_json = match cap {
        Some(c) => {
            let mut json = b",\"cap\":".to_vec();
            json.extend(quoted(&c.name));
            json
        }
        None => b",\"cap\":null".to_vec(),
    };
    let mut tail = b",\"reason\":".to_vec();
    tail.extend(quoted(&rule.because));
    tail.extend(b",\"cites\":");
    tail.extend(serde_json::to_vec(&*rule.cites).unwrap_or_else(|_| b"[]".to_vec()));
    tail.extend(b",\"policy_sha256\":");
    tail.extend(quoted(&program.sha256));
    RulePart {
        granted,
        overflow,
        cap: cap_json,
        tail,
    }
}

/// A JSON string; most ids need no escaping and are copied as they are.
fn write_string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        out.extend(quoted(text));
    }
}

fn write_scalar(out: &mut Vec<u8>, value: &Scalar) {
    match value {
        Scalar::Null => out.extend_from_slice(b"null"),
        Scalar::Bool(true) => out.extend_from_slice(b"true"),
        Scalar::Bool(false) => out.extend_from_slice(b"false"),
        Scalar::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Scalar::Text(t) => write_string(out, t),
    }
}
