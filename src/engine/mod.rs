//! The engine: a loaded policy, and the batch pipeline that runs the stages in order.
//!
//! read records (`input`) → (in parallel, order kept) typed case → version → decision →
//! (in order) duplicate ids → caps → report (`batch`). Memory stays bounded: records are read
//! and decided a chunk at a time, and decisions are written as soon as they are final.

mod batch;
mod ids;
mod input;
mod shared;
mod spool;

use std::path::Path;
use std::sync::Arc;

pub(crate) use batch::each_rendered;
pub use batch::{BatchRun, ErrorContext, RawRecord, RecordSink, Tally};
pub use input::{CHUNK, InputError, InputFormat, read_batch};

use crate::caps;
use crate::cases::{self, Case, ErrorKind, RecordError, Shape};
use crate::check::{self, model::Policy};
use crate::compile::{self, CompiledPolicy, Value};
use crate::dates::{Date, format_date};
use crate::diagnostics::Diagnostic;
use crate::eval::{self, Decided, RuleRef};
use crate::report::{Decision, Record};

/// Which version decides a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionChoice {
    /// The version in force on the case's own as-of date.
    InForce,
    /// The version in force on this date, for every case.
    AsOf(Date),
    /// This version (by index), whatever the case's date ("as if").
    Forced(usize),
}

/// How a batch is evaluated.
#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    /// Which version decides.
    pub choice: VersionChoice,
    /// Record the trace of every decision.
    pub explain: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            choice: VersionChoice::InForce,
            explain: false,
        }
    }
}

/// A checked and compiled policy, ready to decide cases.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The checked policy (versions, tests, sources).
    pub checked: Arc<Policy>,
    /// The compiled programs.
    pub policy: Arc<CompiledPolicy>,
    /// Warnings found while checking.
    pub warnings: Vec<Diagnostic>,
}

/// The largest record accepted, in bytes.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Records in memory, in order.
struct CollectSink(Vec<Record>);

impl RecordSink for CollectSink {
    fn record(&mut self, record: Record) -> std::io::Result<()> {
        self.0.push(record);
        Ok(())
    }
}

impl Engine {
    /// Checks and compiles a policy folder (or file). Errors are returned as diagnostics.
    pub fn load(path: &Path) -> Result<Engine, Vec<Diagnostic>> {
        let report = check::check_path(path);
        let failed = report.has_errors();
        match report.policy {
            Some(policy) if !failed => Ok(Engine::from_checked(policy, report.diagnostics)),
            _ => Err(report.diagnostics),
        }
    }

    /// Compiles an already checked policy.
    pub fn from_checked(policy: Policy, warnings: Vec<Diagnostic>) -> Engine {
        let compiled = compile::compile(&policy);
        Engine {
            checked: Arc::new(policy),
            policy: Arc::new(compiled),
            warnings,
        }
    }

    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.policy.name
    }

    /// The shape of a case record.
    pub fn shape(&self) -> Shape<'_> {
        Shape {
            schema: &self.policy.schema,
            layout: &self.policy.layout,
        }
    }

    /// The version ids, in order.
    pub fn version_ids(&self) -> Vec<String> {
        self.policy
            .programs
            .iter()
            .map(|p| p.version.to_string())
            .collect()
    }

    /// Reads one JSON record (its text) as a case.
    pub fn read_json(&self, text: &str, line: usize) -> Result<Case, RecordError> {
        cases::parse_json_record(text, line, self.shape())
    }

    /// Decides one case on its own. A decision within a cap is reported as granted (no other
    /// case competes for the place); use a batch to allocate caps.
    pub fn decide(&self, case: &Case, options: EvalOptions) -> Record {
        match self.first_phase(case, options) {
            Ok((decided, trace)) => {
                Record::Decision(Box::new(self.to_decision(case, &decided, trace, None)))
            }
            Err(error) => Record::Error(error),
        }
    }

    /// Decides a batch of JSON values in order, with caps allocated within the batch.
    pub fn decide_values<'v>(
        &self,
        values: impl IntoIterator<Item = &'v serde_json::Value>,
        options: EvalOptions,
    ) -> Vec<Record> {
        let input: Vec<RawRecord> = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| RawRecord::Json {
                line: i + 1,
                text: v.to_string(),
            })
            .collect();
        let mut out = CollectSink(Vec::new());
        let mut run = BatchRun::new(self, options);
        // Collecting into memory cannot fail.
        let _ = run.push_chunk(input, &mut out);
        let _ = run.finish(&caps::NoLedger, &mut out);
        out.0
    }

    pub(crate) fn as_of(&self, case: &Case) -> Option<Date> {
        match case.slots.get(self.policy.as_of_slot) {
            Some(Value::Date(d)) => Some(*d),
            _ => None,
        }
    }

    /// Phase one: the version, then the deciding rule.
    pub(crate) fn first_phase(
        &self,
        case: &Case,
        options: EvalOptions,
    ) -> Result<(Decided, Option<eval::Trace>), RecordError> {
        let version = match options.choice {
            VersionChoice::Forced(index) => Some(index),
            VersionChoice::AsOf(day) => self.policy.in_force(day),
            VersionChoice::InForce => self.as_of(case).and_then(|day| self.policy.in_force(day)),
        };
        let Some((index, program)) =
            version.and_then(|i| self.policy.programs.get(i).map(|p| (i, p)))
        else {
            let day = match options.choice {
                VersionChoice::AsOf(day) => Some(day),
                _ => self.as_of(case),
            };
            let versions: Vec<String> = self
                .policy
                .programs
                .iter()
                .enumerate()
                .map(
                    |(i, p)| match self.policy.last_days.get(i).copied().flatten() {
                        Some(last) => format!(
                            "{} ({} to {})",
                            p.version,
                            format_date(p.from),
                            format_date(last)
                        ),
                        None => format!("{} (from {})", p.version, format_date(p.from)),
                    },
                )
                .collect();
            return Err(RecordError {
                line: case.line,
                id: Some(case.id.to_string()),
                kind: ErrorKind::NoVersionInForce,
                // With `--as-of` the date is the caller's, not a field of the record.
                field: match options.choice {
                    VersionChoice::AsOf(_) => None,
                    _ => Some(self.policy.as_of_field.to_string()),
                },
                message: format!(
                    "no version of `{}` is in force on {}; the versions are {}",
                    self.policy.name,
                    day.map(format_date).unwrap_or_default(),
                    versions.join(", ")
                ),
            });
        };
        Ok(if options.explain {
            let (decided, trace) = eval::decide_traced(program, index, case);
            (decided, Some(trace))
        } else {
            (eval::decide(program, index, case), None)
        })
    }

    /// The report's decision: granted (`queue_position: None`) or overflowed.
    pub(crate) fn to_decision(
        &self,
        case: &Case,
        decided: &Decided,
        trace: Option<eval::Trace>,
        overflow: Option<u64>,
    ) -> Decision {
        let program = self.policy.programs.get(decided.version);
        let rule = program.and_then(|p| match decided.rule {
            RuleRef::Rule(i) => p.rules.get(i),
            RuleRef::Otherwise => Some(&p.otherwise),
        });
        let cap = decided
            .cap
            .and_then(|c| program.and_then(|p| p.caps.get(c)));
        let (outcome_index, attributes) = match (overflow, cap) {
            (Some(_), Some(cap)) => (
                cap.overflow,
                program
                    .map(|p| eval::attributes(p, case, cap.overflow, None))
                    .unwrap_or_default(),
            ),
            _ => (
                decided.outcome,
                program
                    .map(|p| eval::attributes(p, case, decided.outcome, Some(decided.rule)))
                    .unwrap_or_default(),
            ),
        };
        let empty: Arc<str> = Arc::from("");
        Decision {
            line: case.line,
            id: case.id.to_string(),
            policy: self.policy.name.clone(),
            version: program.map_or(empty.clone(), |p| p.version.clone()),
            outcome: program
                .and_then(|p| p.outcomes.get(outcome_index))
                .map_or(empty.clone(), |o| o.name.clone()),
            rule: rule.map_or(empty.clone(), |r| r.name.clone()),
            attributes,
            cap: cap.map(|c| c.name.clone()),
            queue_position: overflow,
            reason: rule.map_or(empty.clone(), |r| r.because.clone()),
            cites: rule.map_or_else(|| Arc::from(Vec::new()), |r| r.cites.clone()),
            policy_sha256: program.map_or(empty, |p| p.sha256.clone()),
            warnings: decided
                .warnings
                .iter()
                .filter_map(|&w| program.and_then(|p| p.warnings.get(usize::from(w))))
                .map(|w| w.message.clone())
                .collect(),
            trace,
        }
    }
}
