//! Arbitrary bytes as JSON Lines against the Storskog policy.
//!
//! 1. The bytes (when UTF-8) as one record, `Engine::read_json`: `Ok` or `Err`, never a panic.
//!    An error names a field that `cases::locate` finds inside the text (or none), and renders.
//!    A case is decided by every version (`Forced`: always exactly one decision, of that
//!    version), in force (a decision, or `no_version_in_force`), and with `--explain` (the same
//!    decision, plus a trace).
//! 2. The bytes as a JSON Lines batch (`read_batch`), in the library's mode and in the command
//!    line's rendered mode: one output record per non-blank line, in order, and the rendered
//!    bytes are exactly the serialised records.
//! 3. The bytes as a JSON array batch: reading ends, and both modes give the same records.
#![no_main]

#[path = "shared/storskog.rs"]
mod storskog;

use libfuzzer_sys::fuzz_target;
use readmit::cases::{ErrorKind, RecordError};
use readmit::diagnostics::{Describe, Diagnostic, ErrorFormat, render};
use readmit::engine::{BatchRun, InputError, InputFormat, RecordSink, Tally, read_batch};
use readmit::source::{SourceFile, Span};
use readmit::{Engine, EvalOptions, Record, VersionChoice};

/// A record error as the command line shows it.
struct Shown<'a>(&'a RecordError);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.0.line, self.0.message)
    }
}

impl Describe for Shown<'_> {
    fn code(&self) -> &'static str {
        "readmit::case::fuzz"
    }
}

fn check_error(text: &str, error: &RecordError) {
    assert!(
        !matches!(
            error.kind,
            ErrorKind::DuplicateId | ErrorKind::NoVersionInForce
        ),
        "read_json reported a batch-level error: {error:?}"
    );
    let span = match error
        .field
        .as_deref()
        .and_then(|f| readmit::cases::locate(text, f))
    {
        Some((start, end)) => {
            assert!(
                start <= end && text.get(start..end).is_some(),
                "locate gave {start}..{end}, not a span of the text: {error:?}"
            );
            Span::new(start, end)
        }
        None => Span::new(0, text.len()),
    };
    let source = SourceFile::excerpt("cases.jsonl", text, error.line);
    let field = error.field.clone().unwrap_or_default();
    let diagnostic = Diagnostic::at(&Shown(error), &source, span, field);
    for format in [ErrorFormat::Human, ErrorFormat::Json] {
        let _ = render(std::slice::from_ref(&diagnostic), format);
    }
}

fn one_record(engine: &Engine, text: &str) {
    let case = match engine.read_json(text, 1) {
        Ok(case) => case,
        Err(error) => return check_error(text, &error),
    };
    let ids = engine.version_ids();
    for (index, id) in ids.iter().enumerate() {
        let choice = VersionChoice::Forced(index);
        let plain = engine.decide(
            &case,
            EvalOptions {
                choice,
                explain: false,
            },
        );
        let Record::Decision(decision) = &plain else {
            panic!("version {id} forced gave no decision: {plain:?}");
        };
        assert_eq!(&*decision.version, id.as_str());
        assert!(decision.trace.is_none());
        let explained = engine.decide(
            &case,
            EvalOptions {
                choice,
                explain: true,
            },
        );
        let Record::Decision(mut explained) = explained else {
            panic!("version {id} forced with explain gave no decision: {explained:?}");
        };
        assert!(explained.trace.is_some());
        explained.trace = None;
        assert_eq!(**decision, *explained, "--explain decides otherwise");
    }
    match engine.decide(&case, EvalOptions::default()) {
        Record::Decision(_) => {}
        Record::Error(e) => assert_eq!(e.kind, ErrorKind::NoVersionInForce, "{e:?}"),
    }
}

/// Collects a batch's output, in either mode, as JSON bytes.
#[derive(Default)]
struct Collect(Vec<Vec<u8>>);

impl RecordSink for Collect {
    fn record(&mut self, record: Record) -> std::io::Result<()> {
        self.0
            .push(serde_json::to_vec(&record).map_err(std::io::Error::other)?);
        Ok(())
    }

    fn rendered(&mut self, bytes: &[u8], _tally: Tally) -> std::io::Result<()> {
        self.0.push(bytes.to_vec());
        Ok(())
    }
}

fn run_batch(engine: &Engine, data: &[u8], format: InputFormat, rendered: bool) -> Vec<Vec<u8>> {
    let mut run = BatchRun::new(engine, EvalOptions::default());
    if rendered {
        run = run.rendering_json();
    }
    let mut sink = Collect::default();
    let mut input: &[u8] = data;
    match read_batch(&mut run, &mut input, format, &mut sink, &|_| {}) {
        // A JSON array may be malformed as a whole (the records before the fault are kept).
        Ok(()) | Err(InputError::Format { .. }) => {}
        Err(e) => panic!("a {format:?} batch in memory failed to read: {e:?}"),
    }
    if let Err(e) = run.finish(&readmit::caps::NoLedger, &mut sink) {
        panic!("a batch in memory failed to finish: {e}");
    }
    sink.0
}

/// The rendered mode writes exactly the records the library's mode gives.
fn same_records(records: &[Vec<u8>], rendered: &[Vec<u8>]) {
    for (record, bytes) in records.iter().zip(rendered) {
        assert_eq!(
            String::from_utf8_lossy(record),
            String::from_utf8_lossy(bytes),
            "the rendered record differs from the serialised one"
        );
    }
    assert_eq!(records.len(), rendered.len());
}

/// The records a JSON Lines text holds: its lines that are not blank.
fn records_in(data: &[u8]) -> usize {
    data.split(|&b| b == b'\n')
        .enumerate()
        .filter(|(i, line)| {
            let line = if *i == 0 {
                line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line)
            } else {
                line
            };
            !line.iter().all(u8::is_ascii_whitespace)
        })
        .count()
}

fuzz_target!(|data: &[u8]| {
    let engine = storskog::engine();
    if let Ok(text) = std::str::from_utf8(data) {
        one_record(engine, text);
    }
    let records = run_batch(engine, data, InputFormat::Jsonl, false);
    assert_eq!(
        records.len(),
        records_in(data),
        "one output record per input record"
    );
    same_records(&records, &run_batch(engine, data, InputFormat::Jsonl, true));
    // The same bytes as a JSON array (a stray bracket once made the reader loop for ever): it
    // ends, with at most one record per byte, alike in both modes.
    let records = run_batch(engine, data, InputFormat::Json, false);
    assert!(records.len() <= data.len(), "more records than bytes");
    same_records(&records, &run_batch(engine, data, InputFormat::Json, true));
});
