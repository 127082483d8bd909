//! The engine: a loaded policy, and the batch pipeline that runs the stages in order.
//!
//! read records → (in parallel, order kept) typed case → version → decision → (in order)
//! duplicate ids → caps → report. Memory stays bounded: records are read and decided a chunk at
//! a time; decisions are written as soon as they are final. Once a decision has to wait for its
//! cap, everything after it waits in a spool file (rendered, not in memory) until allocation.

use std::collections::HashSet;
use std::io::{self, BufRead, Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use crate::caps::{self, Allocation, AllocationResult, Candidate, GrantBook};
use crate::cases::{self, Case, CsvReader, ErrorKind, JsonArraySplitter, RecordError, Shape};
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
const CHUNK: usize = 4096;
/// How many record errors keep their text for diagnostics.
const ERROR_CONTEXTS: usize = 20;

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
        let texts: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
        let input = texts.iter().enumerate().map(|(i, t)| RawRecord::Json {
            line: i + 1,
            text: t.clone(),
        });
        let mut out = Vec::new();
        let mut collect = CollectSink(&mut out);
        let mut run = BatchRun::new(self, options);
        // Collecting into memory cannot fail.
        let _ = run.push_chunk(input.collect(), &mut collect);
        run.finish(&caps::NoLedger, &mut collect);
        out
    }

    fn as_of(&self, case: &Case) -> Option<Date> {
        match case.slots.get(self.policy.as_of_slot) {
            Some(Value::Date(d)) => Some(*d),
            _ => None,
        }
    }

    /// Phase one: the version, then the deciding rule.
    fn first_phase(
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
    fn to_decision(
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

/// A record as read, before it is checked against the schema.
#[derive(Debug, Clone)]
pub enum RawRecord {
    /// The text of a JSON record.
    Json {
        /// Its physical line.
        line: usize,
        /// Its text.
        text: String,
    },
    /// A record already read (CSV rows), or a record that could not be read at all.
    Read(Result<Case, RecordError>),
}

/// What phase one made of a record.
enum Step {
    Final(Record),
    Waiting(Box<Waiting>),
}

/// A decision that waits for its cap.
struct Waiting {
    case: Case,
    decided: Decided,
    trace: Option<eval::Trace>,
}

struct Processed {
    /// The record's id, where it could be read: ids are unique within a batch, so a later
    /// record with the same id is a `duplicate_id`, whatever became of the first.
    seen_id: Option<Box<str>>,
    step: Step,
    /// The record's text, kept for a diagnostic when it is an error.
    text: Option<String>,
}

/// Where finished records go.
pub trait RecordSink {
    /// Takes the next record, in input order.
    fn record(&mut self, record: Record) -> io::Result<()>;
}

struct CollectSink<'a>(&'a mut Vec<Record>);

impl RecordSink for CollectSink<'_> {
    fn record(&mut self, record: Record) -> io::Result<()> {
        self.0.push(record);
        Ok(())
    }
}

/// A record error with the text of its record, for a diagnostic.
#[derive(Debug, Clone)]
pub struct ErrorContext {
    /// The error.
    pub error: RecordError,
    /// The record's text, if it was read as text.
    pub text: Option<String>,
}

/// One batch in progress: phase one done chunk by chunk, phase two at the end.
pub struct BatchRun<'e> {
    engine: &'e Engine,
    options: EvalOptions,
    seen: HashSet<Box<str>>,
    /// Records in order: final ones, or markers of waiting ones.
    queue: Spool,
    waiting: Vec<Waiting>,
    /// The first record errors, with their text.
    pub error_contexts: Vec<ErrorContext>,
    /// Threads for phase one; rayon's global pool when `None`.
    pool: Option<Arc<rayon::ThreadPool>>,
}

/// Records in input order until allocation; in memory until the first waiting decision, then on
/// disk.
struct Spool {
    file: Option<tempfile::SpooledTempFile>,
    entries: usize,
}

impl Spool {
    fn push_final(
        &mut self,
        record: Record,
        sink: &mut dyn RecordSink,
        waiting: bool,
    ) -> io::Result<()> {
        if !waiting && self.file.is_none() {
            return sink.record(record);
        }
        let file = self
            .file
            .get_or_insert_with(|| tempfile::SpooledTempFile::new(8 * 1024 * 1024));
        let bytes = serde_json::to_vec(&SpoolEntry::from(&record)).map_err(io::Error::other)?;
        file.write_all(&(bytes.len() as u64).to_le_bytes())?;
        file.write_all(&bytes)?;
        self.entries += 1;
        Ok(())
    }

    fn push_marker(&mut self, waiting_index: usize) -> io::Result<()> {
        let file = self
            .file
            .get_or_insert_with(|| tempfile::SpooledTempFile::new(8 * 1024 * 1024));
        let bytes =
            serde_json::to_vec(&SpoolEntry::Waiting(waiting_index)).map_err(io::Error::other)?;
        file.write_all(&(bytes.len() as u64).to_le_bytes())?;
        file.write_all(&bytes)?;
        self.entries += 1;
        Ok(())
    }
}

/// A spooled record: stored as the record itself (re-read, never re-evaluated).
#[derive(serde::Serialize, serde::Deserialize)]
enum SpoolEntry {
    Record(serde_json::Value),
    Waiting(usize),
}

impl From<&Record> for SpoolEntry {
    fn from(record: &Record) -> Self {
        SpoolEntry::Record(spool_value(record))
    }
}

fn spool_value(record: &Record) -> serde_json::Value {
    serde_json::to_value(SpooledRecord::from(record)).unwrap_or(serde_json::Value::Null)
}

/// The spool's own lossless encoding of a record (the output contract drops nothing it needs).
#[derive(serde::Serialize, serde::Deserialize)]
struct SpooledRecord {
    decision: Option<SpooledDecision>,
    error: Option<SpooledError>,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct SpooledError {
    line: usize,
    id: Option<String>,
    kind: String,
    field: Option<String>,
    message: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SpooledDecision {
    line: usize,
    id: String,
    policy: String,
    version: String,
    outcome: String,
    rule: String,
    attributes: Vec<(String, serde_json::Value)>,
    cap: Option<String>,
    queue_position: Option<u64>,
    reason: String,
    cites: Vec<String>,
    policy_sha256: String,
    warnings: Vec<String>,
    trace: Option<serde_json::Value>,
}

impl From<&Record> for SpooledRecord {
    fn from(record: &Record) -> Self {
        match record {
            Record::Decision(d) => SpooledRecord {
                decision: Some(SpooledDecision {
                    line: d.line,
                    id: d.id.clone(),
                    policy: d.policy.to_string(),
                    version: d.version.to_string(),
                    outcome: d.outcome.to_string(),
                    rule: d.rule.to_string(),
                    attributes: d
                        .attributes
                        .iter()
                        .map(|(k, v)| (k.to_string(), serde_json::to_value(v).unwrap_or_default()))
                        .collect(),
                    cap: d.cap.as_ref().map(|c| c.to_string()),
                    queue_position: d.queue_position,
                    reason: d.reason.to_string(),
                    cites: d.cites.to_vec(),
                    policy_sha256: d.policy_sha256.to_string(),
                    warnings: d.warnings.iter().map(|w| w.to_string()).collect(),
                    trace: d.trace.as_ref().and_then(|t| serde_json::to_value(t).ok()),
                }),
                error: None,
            },
            Record::Error(e) => SpooledRecord {
                decision: None,
                error: Some(SpooledError {
                    line: e.line,
                    id: e.id.clone(),
                    kind: e.kind.as_str().to_string(),
                    field: e.field.clone(),
                    message: e.message.clone(),
                }),
            },
        }
    }
}

impl<'e> BatchRun<'e> {
    /// A new batch.
    pub fn new(engine: &'e Engine, options: EvalOptions) -> Self {
        BatchRun {
            engine,
            options,
            seen: HashSet::new(),
            queue: Spool {
                file: None,
                entries: 0,
            },
            waiting: Vec::new(),
            error_contexts: Vec::new(),
            pool: None,
        }
    }

    /// Runs phase one on `threads` threads instead of all cores.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .ok()
            .map(Arc::new);
        self
    }

    fn process(engine: &Engine, options: EvalOptions, raw: RawRecord) -> Processed {
        let (case, text) = match raw {
            // The text is kept until the record is placed: a duplicate id or a missing version
            // is only known then, and its diagnostic shows the record.
            RawRecord::Json { line, text } => (engine.read_json(&text, line), Some(text)),
            RawRecord::Read(result) => (result, None),
        };
        let case = match case {
            Ok(case) => case,
            Err(error) => {
                return Processed {
                    seen_id: error.id.as_deref().map(Box::from),
                    step: Step::Final(Record::Error(error)),
                    text,
                };
            }
        };
        let seen_id = Some(case.id.clone());
        let step = match engine.first_phase(&case, options) {
            Err(error) => Step::Final(Record::Error(error)),
            Ok((decided, trace)) if decided.cap.is_some() => Step::Waiting(Box::new(Waiting {
                case,
                decided,
                trace,
            })),
            Ok((decided, trace)) => Step::Final(Record::Decision(Box::new(
                engine.to_decision(&case, &decided, trace, None),
            ))),
        };
        Processed {
            seen_id,
            step,
            text,
        }
    }

    /// Phase one for a chunk of records, in parallel, order kept.
    fn feed(&mut self, chunk: Vec<RawRecord>) -> Vec<Processed> {
        let (engine, options) = (self.engine, self.options);
        let work = move || -> Vec<Processed> {
            chunk
                .into_par_iter()
                .map(|raw| Self::process(engine, options, raw))
                .collect()
        };
        match &self.pool {
            Some(pool) => pool.install(work),
            None => work(),
        }
    }

    /// Puts processed records in order: duplicate ids, then the sink or the spool.
    fn place(&mut self, processed: Vec<Processed>, sink: &mut dyn RecordSink) -> io::Result<()> {
        for item in processed {
            let mut step = item.step;
            if let Some(id) = item.seen_id {
                let already_an_error = matches!(step, Step::Final(Record::Error(_)));
                if self.seen.contains(&id) && !already_an_error {
                    let line = match &step {
                        Step::Final(r) => r.line(),
                        Step::Waiting(w) => w.case.line,
                    };
                    step = Step::Final(Record::Error(RecordError {
                        line,
                        id: Some(id.to_string()),
                        kind: ErrorKind::DuplicateId,
                        field: Some("id".into()),
                        message: format!(
                            "the id `{id}` was already used by an earlier record of this batch"
                        ),
                    }));
                } else {
                    self.seen.insert(id);
                }
            }
            match step {
                Step::Final(record) => {
                    if let Record::Error(error) = &record {
                        if self.error_contexts.len() < ERROR_CONTEXTS {
                            self.error_contexts.push(ErrorContext {
                                error: error.clone(),
                                text: item.text.clone(),
                            });
                        }
                    }
                    let waiting = !self.waiting.is_empty();
                    self.queue.push_final(record, sink, waiting)?;
                }
                Step::Waiting(w) => {
                    self.queue.push_marker(self.waiting.len())?;
                    self.waiting.push(*w);
                }
            }
        }
        Ok(())
    }

    /// Phase one for a chunk, and its records placed in order.
    pub fn push_chunk(
        &mut self,
        chunk: Vec<RawRecord>,
        sink: &mut dyn RecordSink,
    ) -> io::Result<()> {
        let processed = self.feed(chunk);
        self.place(processed, sink)
    }

    /// The candidates for caps, in input order.
    pub fn candidates(&self) -> Vec<Candidate> {
        self.waiting
            .iter()
            .map(|w| Candidate {
                id: w.case.id.clone(),
                version: w.decided.version,
                cap: w.decided.cap.unwrap_or(0),
                keys: w.decided.order_keys.clone(),
                as_of: self.engine.as_of(&w.case).unwrap_or(Date::MIN),
            })
            .collect()
    }

    /// Phase two with the given allocation, then the rest of the output in order.
    pub fn complete(
        mut self,
        allocation: &AllocationResult,
        sink: &mut dyn RecordSink,
    ) -> io::Result<()> {
        let Some(mut file) = self.queue.file.take() else {
            return Ok(());
        };
        file.rewind()?;
        let mut reader = io::BufReader::new(file);
        for _ in 0..self.queue.entries {
            let mut length = [0u8; 8];
            reader.read_exact(&mut length)?;
            let length = usize::try_from(u64::from_le_bytes(length)).unwrap_or(0);
            let mut bytes = vec![0u8; length];
            reader.read_exact(&mut bytes)?;
            let entry: SpoolEntry = serde_json::from_slice(&bytes).map_err(io::Error::other)?;
            let record = match entry {
                SpoolEntry::Waiting(index) => {
                    let Some(w) = self.waiting.get(index) else {
                        continue;
                    };
                    let overflow = match allocation.allocations.get(index) {
                        Some(Allocation::Overflow { queue_position }) => Some(*queue_position),
                        _ => None,
                    };
                    Record::Decision(Box::new(self.engine.to_decision(
                        &w.case,
                        &w.decided,
                        w.trace.clone(),
                        overflow,
                    )))
                }
                SpoolEntry::Record(value) => unspool(value),
            };
            sink.record(record)?;
        }
        Ok(())
    }

    /// Phase two against a grant book, then the rest of the output; returns the allocation.
    pub fn finish(self, book: &dyn GrantBook, sink: &mut dyn RecordSink) -> AllocationResult {
        let allocation = caps::allocate(&self.engine.policy, &self.candidates(), book);
        let _ = self.complete(&allocation, sink);
        allocation
    }
}

fn unspool(value: serde_json::Value) -> Record {
    let Ok(spooled) = serde_json::from_value::<SpooledRecord>(value) else {
        return Record::Error(RecordError {
            line: 0,
            id: None,
            kind: ErrorKind::ParseError,
            field: None,
            message: "internal: a spooled record could not be read back".into(),
        });
    };
    if let Some(d) = spooled.decision {
        let scalar = |v: serde_json::Value| match v {
            serde_json::Value::Bool(b) => eval::Scalar::Bool(b),
            serde_json::Value::Number(n) => eval::Scalar::Int(n.as_i64().unwrap_or_default()),
            serde_json::Value::String(s) => eval::Scalar::Text(s.into_boxed_str()),
            _ => eval::Scalar::Null,
        };
        return Record::Decision(Box::new(Decision {
            line: d.line,
            id: d.id,
            policy: Arc::from(d.policy),
            version: Arc::from(d.version),
            outcome: Arc::from(d.outcome),
            rule: Arc::from(d.rule),
            attributes: d
                .attributes
                .into_iter()
                .map(|(k, v)| (Arc::from(k), scalar(v)))
                .collect(),
            cap: d.cap.map(Arc::from),
            queue_position: d.queue_position,
            reason: Arc::from(d.reason),
            cites: Arc::from(d.cites),
            policy_sha256: Arc::from(d.policy_sha256),
            warnings: d.warnings.into_iter().map(Arc::from).collect(),
            trace: d.trace.and_then(|t| serde_json::from_value(t).ok()),
        }));
    }
    let e = spooled.error.unwrap_or_default();
    Record::Error(RecordError {
        line: e.line,
        id: e.id,
        kind: kind_from_str(&e.kind),
        field: e.field,
        message: e.message,
    })
}

fn kind_from_str(kind: &str) -> ErrorKind {
    use ErrorKind::*;
    [
        ParseError,
        NotAnObject,
        MissingField,
        WrongType,
        InvalidDate,
        UnknownEnumValue,
        InvalidValue,
        UnknownField,
        DuplicateId,
        NoVersionInForce,
    ]
    .into_iter()
    .find(|k| k.as_str() == kind)
    .unwrap_or(ParseError)
}

/// The format of a case batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON object per line.
    Jsonl,
    /// One JSON array of objects.
    Json,
    /// CSV with a header of dotted paths.
    Csv,
}

impl InputFormat {
    /// The format a file name suggests (`.csv`, `.json`; anything else is JSON Lines).
    pub fn from_path(path: &Path) -> InputFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => InputFormat::Csv,
            Some("json") => InputFormat::Json,
            _ => InputFormat::Jsonl,
        }
    }
}

/// An input that cannot be read at all (not a record's fault).
#[derive(Debug)]
pub enum InputError {
    /// The system failed to read.
    Io(io::Error),
    /// A malformed CSV header or JSON array.
    Format {
        /// The line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl From<io::Error> for InputError {
    fn from(error: io::Error) -> Self {
        InputError::Io(error)
    }
}

/// Reads a batch and feeds it to a run chunk by chunk. `progress` is told the bytes read so far.
pub fn read_batch(
    run: &mut BatchRun<'_>,
    input: &mut dyn BufRead,
    format: InputFormat,
    sink: &mut dyn RecordSink,
    progress: &dyn Fn(u64),
) -> Result<(), InputError> {
    match format {
        InputFormat::Jsonl => {
            let mut reader = LineReader::new(input);
            loop {
                let mut chunk = Vec::with_capacity(CHUNK);
                while chunk.len() < CHUNK {
                    match reader.next_record()? {
                        Some(raw) => chunk.push(raw),
                        None => break,
                    }
                }
                let done = chunk.len() < CHUNK;
                run.push_chunk(chunk, sink)?;
                progress(reader.bytes);
                if done {
                    return Ok(());
                }
            }
        }
        InputFormat::Json => {
            let mut text = String::new();
            input
                .read_to_string(&mut text)
                .map_err(|e| InputError::Format {
                    line: 1,
                    message: format!("the file is not UTF-8 text ({e})"),
                })?;
            let splitter = JsonArraySplitter::new(&text).map_err(|e| InputError::Format {
                line: e.line,
                message: e.message,
            })?;
            let mut chunk = Vec::with_capacity(CHUNK);
            for element in splitter {
                match element {
                    Ok((line, element)) => chunk.push(RawRecord::Json {
                        line,
                        text: element.to_string(),
                    }),
                    Err(e) => {
                        run.push_chunk(std::mem::take(&mut chunk), sink)?;
                        return Err(InputError::Format {
                            line: e.line,
                            message: e.message,
                        });
                    }
                }
                if chunk.len() == CHUNK {
                    run.push_chunk(std::mem::take(&mut chunk), sink)?;
                }
            }
            run.push_chunk(chunk, sink)?;
            progress(text.len() as u64);
            Ok(())
        }
        InputFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(LineCounter::new(input));
            let header = reader.headers().map_err(|e| InputError::Format {
                line: 1,
                message: format!("cannot read the CSV header: {e}"),
            })?;
            let header = header.clone();
            let shape = run.engine.shape();
            let columns = CsvReader::new(&header, shape)
                .map_err(|message| InputError::Format { line: 1, message })?;
            let id_slot = run.engine.policy.id_slot;
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut row = csv::StringRecord::new();
            loop {
                let fallback = reader.position().byte();
                match reader.read_record(&mut row) {
                    Ok(false) => break,
                    Ok(true) => {
                        let byte = row.position().map_or(fallback, |p| p.byte());
                        let line = reader.get_mut().line_at(byte);
                        chunk.push(RawRecord::Read(columns.read(&row, line, shape, id_slot)));
                    }
                    Err(e) => {
                        let byte = e.position().map_or(fallback, |p| p.byte());
                        let line = reader.get_mut().line_at(byte);
                        chunk.push(RawRecord::Read(Err(RecordError {
                            line,
                            id: None,
                            kind: ErrorKind::ParseError,
                            field: None,
                            message: format!("not a valid CSV row: {e}"),
                        })));
                        if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                            break;
                        }
                    }
                }
                if chunk.len() == CHUNK {
                    run.push_chunk(std::mem::take(&mut chunk), sink)?;
                    progress(reader.position().byte());
                }
            }
            run.push_chunk(chunk, sink)?;
            Ok(())
        }
    }
}

/// Counts physical lines under the CSV reader, which miscounts them after blank lines and
/// CRLF line ends: it remembers where the line breaks of the bytes not yet decided are.
struct LineCounter<'r> {
    input: &'r mut dyn BufRead,
    offset: u64,
    breaks: std::collections::VecDeque<(u64, u8)>,
    lines_before: usize,
}

impl<'r> LineCounter<'r> {
    fn new(input: &'r mut dyn BufRead) -> Self {
        LineCounter {
            input,
            offset: 0,
            breaks: std::collections::VecDeque::new(),
            lines_before: 0,
        }
    }

    /// The physical line (from 1) of a record starting at `byte`, blank lines before it skipped.
    /// Records are asked for in order, so the breaks before them are counted and forgotten.
    fn line_at(&mut self, mut byte: u64) -> usize {
        while self
            .breaks
            .iter()
            .take_while(|(o, _)| *o <= byte)
            .any(|(o, _)| *o == byte)
        {
            byte += 1;
        }
        while let Some(&(offset, kind)) = self.breaks.front() {
            if offset >= byte {
                break;
            }
            if kind == b'\n' {
                self.lines_before += 1;
            }
            self.breaks.pop_front();
        }
        self.lines_before + 1
    }
}

impl Read for LineCounter<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let n = self.input.read(buffer)?;
        for (i, &b) in buffer.get(..n).unwrap_or(&[]).iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                self.breaks.push_back((self.offset + i as u64, b));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Reads JSON Lines records: physical lines counted from 1, blank lines skipped, a trailing
/// `\r` tolerated, a line over [`MAX_RECORD_BYTES`] or not UTF-8 an error record.
struct LineReader<'r> {
    input: &'r mut dyn BufRead,
    line: usize,
    bytes: u64,
}

impl<'r> LineReader<'r> {
    fn new(input: &'r mut dyn BufRead) -> Self {
        LineReader {
            input,
            line: 0,
            bytes: 0,
        }
    }

    fn next_record(&mut self) -> io::Result<Option<RawRecord>> {
        loop {
            let mut buffer = Vec::new();
            let mut too_long = false;
            let mut ended = false;
            loop {
                let available = self.input.fill_buf()?;
                if available.is_empty() {
                    ended = buffer.is_empty() && !too_long;
                    break;
                }
                let (take, found) = match available.iter().position(|&b| b == b'\n') {
                    Some(i) => (i + 1, true),
                    None => (available.len(), false),
                };
                if !too_long {
                    let room = MAX_RECORD_BYTES + 2 - buffer.len().min(MAX_RECORD_BYTES + 2);
                    buffer.extend_from_slice(available.get(..take.min(room)).unwrap_or(&[]));
                    if buffer.len() > MAX_RECORD_BYTES + 1 {
                        too_long = true;
                        buffer.clear();
                    }
                }
                self.input.consume(take);
                self.bytes += take as u64;
                if found {
                    break;
                }
            }
            if ended {
                return Ok(None);
            }
            self.line += 1;
            let line = self.line;
            if too_long {
                return Ok(Some(RawRecord::Read(Err(RecordError {
                    line,
                    id: None,
                    kind: ErrorKind::ParseError,
                    field: None,
                    message: format!("the record is longer than {MAX_RECORD_BYTES} bytes"),
                }))));
            }
            if buffer.last() == Some(&b'\n') {
                buffer.pop();
            }
            if buffer.last() == Some(&b'\r') {
                buffer.pop();
            }
            if line == 1 && buffer.starts_with("\u{feff}".as_bytes()) {
                buffer.drain(..3);
            }
            if buffer.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            return Ok(Some(match String::from_utf8(buffer) {
                Ok(text) => RawRecord::Json { line, text },
                Err(e) => RawRecord::Read(Err(RecordError {
                    line,
                    id: None,
                    kind: ErrorKind::ParseError,
                    field: None,
                    message: format!(
                        "the record is not UTF-8 text (invalid byte at column {})",
                        e.utf8_error().valid_up_to() + 1
                    ),
                })),
            }));
        }
    }
}
