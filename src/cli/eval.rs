//! `readmit eval POLICY --cases FILE`.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::print_diagnostics;
use crate::cases::RecordError;
use crate::dates::parse_date;
use crate::diagnostics::{Describe, Diagnostic, ErrorFormat};
use crate::engine::{
    BatchRun, Engine, EvalOptions, InputError, InputFormat, RecordSink, Tally, VersionChoice,
    read_batch,
};
use crate::report::{OutputFormat, Record, RecordWriter, Summary};
use crate::source::{SourceFile, Span};

/// The output's buffer: a batch writes hundreds of bytes a decision, and with the default
/// 8 KiB a million decisions took 73,000 writes to the system.
const OUTPUT_BUFFER: usize = 256 * 1024;
/// Rendered lines this long go to the output as they are, not copied into its buffer: the
/// pieces a pool's threads render are about 70 KiB, and copying them was 5 % of a run on two
/// threads (they were rendered on the other core).
const PASSED_THROUGH: usize = 32 * 1024;

/// Arguments of `readmit eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The policy folder.
    pub policy: PathBuf,
    /// The case batch: JSON Lines (default), a JSON array (.json) or CSV (.csv); `-` for stdin.
    #[arg(long, value_name = "FILE")]
    pub cases: PathBuf,
    /// The format of the batch, when its name does not say.
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormatArg>,
    /// Output format [default: table on a terminal, jsonl otherwise].
    #[arg(long, value_enum)]
    pub format: Option<OutputFormatArg>,
    /// Write decisions to FILE (atomically: a temporary file renamed when complete).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Evaluate every case by this version, whatever its date ("as if").
    #[arg(long, value_name = "V", conflicts_with = "as_of")]
    pub version: Option<String>,
    /// Evaluate every case by the version in force on this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Add the trace of every decision: each rule tried, each condition with the values it read.
    #[arg(long)]
    pub explain: bool,
    /// Threads for evaluation [default: all cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// The ledger of cap grants (an SQLite file, created on first use). Without it, caps are
    /// allocated within this batch alone and nothing is recorded.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// No summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--input-format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InputFormatArg {
    /// One JSON object per line.
    Jsonl,
    /// A JSON array of objects.
    Json,
    /// CSV with dotted-path headers.
    Csv,
}

/// `--format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormatArg {
    /// One JSON object per line.
    Jsonl,
    /// A JSON array.
    Json,
    /// CSV.
    Csv,
    /// A table for people.
    Table,
}

/// A usage or I/O problem of `eval`, as a diagnostic.
#[derive(Debug, thiserror::Error)]
enum EvalError {
    #[error("cannot read `{path}`: {reason}")]
    CannotRead { path: String, reason: String },
    #[error("cannot write `{path}`: {reason}")]
    CannotWrite {
        path: String,
        reason: String,
        /// The reader of a pipe closed it (`| head`): nothing is wrong with the disk.
        closed: bool,
    },
    #[error("`{path}` line {line}: {message}")]
    BadInput {
        path: String,
        line: usize,
        message: String,
    },
    #[error("`{0}` is not a date")]
    BadDate(String),
    #[error("policy `{policy}` has no version `{version}`")]
    UnknownVersion {
        policy: String,
        version: String,
        versions: Vec<String>,
    },
}

impl Describe for EvalError {
    fn code(&self) -> &'static str {
        match self {
            EvalError::CannotRead { .. } => "readmit::io::cannot_read",
            EvalError::CannotWrite { .. } => "readmit::io::cannot_write",
            EvalError::BadInput { .. } => "readmit::cases::bad_input",
            EvalError::BadDate(_) => "readmit::usage::bad_date",
            EvalError::UnknownVersion { .. } => "readmit::usage::unknown_version",
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            EvalError::CannotRead { .. } => "check the path and its permissions".into(),
            EvalError::CannotWrite { closed: true, .. } => "the program reading the decisions closed the pipe before the end (as `head` does); to keep them all, write them with `--output FILE`".into(),
            EvalError::CannotWrite { .. } => "check that the folder exists and is writable, and that the disk has room".into(),
            EvalError::BadInput { .. } => "fix the file's structure; each record is checked on its own only once the file can be split into records".into(),
            EvalError::BadDate(_) => "write the date as YYYY-MM-DD".into(),
            EvalError::UnknownVersion { versions, .. } => format!("the versions are {}", crate::diagnostics::list_words(versions)),
        })
    }
}

fn cannot_write(path: String, error: &dyn std::fmt::Display) -> EvalError {
    EvalError::CannotWrite {
        path,
        reason: error.to_string(),
        closed: false,
    }
}

/// A record error as a diagnostic pointing into the batch.
struct CaseDiagnostic<'a>(&'a RecordError);

impl std::fmt::Display for CaseDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = self.0;
        match &e.field {
            Some(field) => write!(f, "line {}: {} in `{field}`: {}", e.line, e.kind, e.message),
            None => write!(f, "line {}: {}: {}", e.line, e.kind, e.message),
        }
    }
}

impl Describe for CaseDiagnostic<'_> {
    fn code(&self) -> &'static str {
        use crate::cases::ErrorKind as K;
        match self.0.kind {
            K::ParseError => "readmit::case::parse_error",
            K::NotAnObject => "readmit::case::not_an_object",
            K::MissingField => "readmit::case::missing_field",
            K::WrongType => "readmit::case::wrong_type",
            K::InvalidDate => "readmit::case::invalid_date",
            K::UnknownEnumValue => "readmit::case::unknown_enum_value",
            K::InvalidValue => "readmit::case::invalid_value",
            K::UnknownField => "readmit::case::unknown_field",
            K::DuplicateId => "readmit::case::duplicate_id",
            K::NoVersionInForce => "readmit::case::no_version_in_force",
        }
    }

    fn help(&self) -> Option<String> {
        Some(self.0.kind.help().to_string())
    }
}

/// Where in a record's text the field at fault is (the whole record when it cannot be found).
fn field_span(text: &str, field: Option<&str>) -> Span {
    field
        .and_then(|f| crate::cases::locate(text, f))
        .map_or(Span::new(0, text.len()), |(start, end)| {
            Span::new(start, end)
        })
}

/// Why a run stopped. (A batch that cannot be read to its end is not one: what was read is
/// decided, and the run ends with the error afterwards.)
enum RunError {
    /// Writing the output failed, or the run was interrupted (`ErrorKind::Interrupted`).
    Write(io::Error),
    Ledger(crate::caps::ledger::LedgerError),
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Write(e)
    }
}

impl From<crate::caps::ledger::LedgerError> for RunError {
    fn from(e: crate::caps::ledger::LedgerError) -> Self {
        RunError::Ledger(e)
    }
}

struct CliSink {
    policy: std::sync::Arc<crate::compile::CompiledPolicy>,
    writer: RecordWriter,
    out: io::BufWriter<Box<dyn Write>>,
    summary: Summary,
    /// Rendered decisions counted by version and outcome index (decisions, warned ones), put in
    /// the summary at the end: looking both names up for every record was 2% of a run.
    tallies: Vec<Vec<(usize, usize)>>,
    failed: Option<io::Error>,
}

/// The summary, with the tallies of rendered decisions in it.
fn tallied_summary(
    policy: &crate::compile::CompiledPolicy,
    mut summary: Summary,
    tallies: &[Vec<(usize, usize)>],
) -> Summary {
    for (program, outcomes) in policy.programs.iter().zip(tallies) {
        for (outcome, &(decided, warned)) in program.outcomes.iter().zip(outcomes) {
            if decided > 0 {
                summary.add_decided(&program.version, &outcome.name, decided, warned);
            }
        }
    }
    summary
}

impl RecordSink for CliSink {
    fn record(&mut self, record: Record) -> io::Result<()> {
        self.summary.count(&record);
        let rendered = self.writer.render(&record);
        self.writer.emit(&rendered, &mut self.out)
    }

    fn rendered(&mut self, bytes: &[u8], tally: Tally) -> io::Result<()> {
        self.tally(tally);
        self.writer.emit(bytes, &mut self.out)
    }

    fn rendered_lines(&mut self, lines: &[u8], records: &[(usize, Tally)]) -> io::Result<()> {
        // JSON Lines go out as they are, in one write; long ones after what is buffered.
        if self.writer.emits_lines() {
            for &(_, tally) in records {
                self.tally(tally);
            }
            if lines.len() >= PASSED_THROUGH {
                self.out.flush()?;
                return self
                    .writer
                    .emit_lines(lines, records.len(), self.out.get_mut());
            }
            return self.writer.emit_lines(lines, records.len(), &mut self.out);
        }
        crate::engine::each_rendered(lines, records, |bytes, tally| self.rendered(bytes, tally))
    }
}

impl CliSink {
    /// Counts a rendered record in the summary.
    fn tally(&mut self, tally: Tally) {
        match tally {
            Tally::Decided {
                version,
                outcome,
                warned,
            } => {
                match self
                    .tallies
                    .get_mut(version)
                    .and_then(|outcomes| outcomes.get_mut(outcome))
                {
                    Some((decided, warnings)) => {
                        *decided += 1;
                        *warnings += usize::from(warned);
                    }
                    None => self.summary.count_decided("", "", warned),
                }
            }
            Tally::Error(kind) => self.summary.count_error(kind.as_str()),
        }
    }
}

fn attribute_names(engine: &Engine) -> Vec<Arc<str>> {
    let mut names: Vec<Arc<str>> = Vec::new();
    for program in &engine.policy.programs {
        for outcome in &program.outcomes {
            for attribute in &outcome.attributes {
                if !names.contains(&attribute.name) {
                    names.push(attribute.name.clone());
                }
            }
        }
    }
    names
}

pub fn run(args: &EvalArgs, format: ErrorFormat) -> u8 {
    let engine = match Engine::load(&args.policy) {
        Ok(engine) => engine,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics, format);
            let io = diagnostics
                .iter()
                .any(|d| d.code == "readmit::io::cannot_read" && d.source.is_none());
            return if io { 2 } else { 1 };
        }
    };
    print_diagnostics(&engine.warnings, format);
    let fail = |error: EvalError| {
        print_diagnostics(&[Diagnostic::bare(&error)], format);
        2
    };
    let choice = match (&args.version, &args.as_of) {
        (Some(version), _) => match engine.policy.version_index(version) {
            Some(index) => VersionChoice::Forced(index),
            None => {
                return fail(EvalError::UnknownVersion {
                    policy: engine.name().to_string(),
                    version: version.clone(),
                    versions: engine.version_ids(),
                });
            }
        },
        (None, Some(day)) => match parse_date(day) {
            Some(day) => VersionChoice::AsOf(day),
            None => return fail(EvalError::BadDate(day.clone())),
        },
        (None, None) => VersionChoice::InForce,
    };
    let options = EvalOptions {
        choice,
        explain: args.explain,
    };
    let input_format = match args.input_format {
        Some(InputFormatArg::Jsonl) => InputFormat::Jsonl,
        Some(InputFormatArg::Json) => InputFormat::Json,
        Some(InputFormatArg::Csv) => InputFormat::Csv,
        None => InputFormat::from_path(&args.cases),
    };
    let cases_name = args.cases.display().to_string();
    // Open the ledger before anything is read or written: a bad ledger stops the run early.
    let mut ledger = match &args.ledger {
        Some(path) => match crate::caps::ledger::Ledger::open(path) {
            Ok(ledger) => Some(ledger),
            Err(e) => {
                print_diagnostics(&[Diagnostic::bare(&e)], format);
                return 2;
            }
        },
        None => None,
    };
    let mut input: Box<dyn BufRead> = if args.cases == Path::new("-") {
        Box::new(io::BufReader::new(io::stdin()))
    } else {
        match std::fs::File::open(&args.cases) {
            Ok(file) => Box::new(io::BufReader::with_capacity(1 << 16, file)),
            Err(e) => {
                return fail(EvalError::CannotRead {
                    path: cases_name,
                    reason: e.to_string(),
                });
            }
        }
    };
    let output_format = match args.format {
        Some(OutputFormatArg::Jsonl) => OutputFormat::Jsonl,
        Some(OutputFormatArg::Json) => OutputFormat::Json,
        Some(OutputFormatArg::Csv) => OutputFormat::Csv,
        Some(OutputFormatArg::Table) => OutputFormat::Table,
        None if args.output.is_none() && io::stdout().is_terminal() => OutputFormat::Table,
        None => OutputFormat::Jsonl,
    };
    let (out, temp): (Box<dyn Write>, Option<tempfile::NamedTempFile>) = match &args.output {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            match tempfile::NamedTempFile::new_in(dir) {
                Ok(file) => match file.reopen() {
                    Ok(handle) => (Box::new(handle), Some(file)),
                    Err(e) => {
                        return fail(cannot_write(path.display().to_string(), &e));
                    }
                },
                Err(e) => {
                    return fail(cannot_write(path.display().to_string(), &e));
                }
            }
        }
        None => (Box::new(io::stdout().lock()), None),
    };
    let out = io::BufWriter::with_capacity(OUTPUT_BUFFER, out);
    let mut sink = CliSink {
        policy: engine.policy.clone(),
        writer: RecordWriter::new(output_format, attribute_names(&engine)),
        out,
        summary: Summary::default(),
        tallies: engine
            .policy
            .programs
            .iter()
            .map(|p| vec![(0, 0); p.outcomes.len()])
            .collect(),
        failed: None,
    };
    let progress = progress_bar(&args.cases, args.quiet);
    let report_progress = |bytes: u64| {
        if let Some(bar) = &progress {
            bar.set_position(bytes);
        }
    };
    type Done = (
        crate::caps::AllocationResult,
        Vec<crate::engine::ErrorContext>,
        Option<EvalError>,
    );
    let mut work = |sink: &mut CliSink| -> Result<Done, RunError> {
        sink.writer.begin(&mut sink.out)?;
        let mut run = BatchRun::new(&engine, options);
        if matches!(output_format, OutputFormat::Jsonl | OutputFormat::Json) {
            run = run.rendering_json();
        }
        // All cores by default: the run's own thread is one of them (see `BatchRun`).
        let threads = args.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        run = run.with_threads(threads);
        run = run.with_cancel(super::INTERRUPTED.clone());
        if let Ok(metadata) = std::fs::metadata(&args.cases) {
            if metadata.is_file() {
                run = run.with_input_size(metadata.len());
            }
        }
        // A file that breaks off (a JSON array not closed, a read that fails midway) still gets
        // every record read so far decided and written; the run then ends with the error, and
        // records no grant.
        let broken = match read_batch(&mut run, &mut input, input_format, sink, &report_progress) {
            Ok(()) => None,
            Err(InputError::Format { line, message }) => Some(EvalError::BadInput {
                path: cases_name.clone(),
                line,
                message: format!("{message}; every record before it was decided"),
            }),
            Err(InputError::Read(e)) => Some(EvalError::CannotRead {
                path: cases_name.clone(),
                reason: format!("{e}; every record read before the failure was decided"),
            }),
            Err(InputError::Io(e)) => return Err(RunError::Write(e)),
        };
        let interrupted = || super::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst);
        if interrupted() {
            return Err(RunError::Write(io::Error::new(
                io::ErrorKind::Interrupted,
                "interrupted",
            )));
        }
        let candidates = run.candidates(sink)?;
        let contexts = std::mem::take(&mut run.error_contexts);
        let allocation = match (&mut ledger, &broken) {
            (Some(ledger), None) => ledger.allocate_and_record(
                engine.name(),
                &cases_name,
                |book| {
                    let allocation =
                        crate::caps::allocate_on(&engine.policy, &candidates, book, threads);
                    let grants = allocation.new_grants.clone();
                    (allocation, grants)
                },
                &interrupted,
            )?,
            _ => crate::caps::allocate_on(
                &engine.policy,
                &candidates,
                &crate::caps::NoLedger,
                threads,
            ),
        };
        run.complete(&allocation, sink)?;
        sink.writer.finish(&mut sink.out)?;
        Ok((allocation, contexts, broken))
    };
    let result = work(&mut sink);
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let (allocation, contexts, broken) = match result {
        Ok(done) => done,
        Err(RunError::Ledger(crate::caps::ledger::LedgerError::Interrupted)) => {
            return interrupted_exit(args);
        }
        Err(RunError::Write(e)) if e.kind() == io::ErrorKind::Interrupted => {
            return interrupted_exit(args);
        }
        Err(RunError::Ledger(e)) => {
            print_diagnostics(&[Diagnostic::bare(&e)], format);
            return 2;
        }
        Err(RunError::Write(e)) => {
            let target = args
                .output
                .as_ref()
                .map_or("standard output".to_string(), |p| p.display().to_string());
            let _ = sink.failed.take();
            return fail(EvalError::CannotWrite {
                path: target,
                reason: e.to_string(),
                closed: e.kind() == io::ErrorKind::BrokenPipe,
            });
        }
    };
    drop(sink.out);
    if let (Some(temp), Some(path)) = (temp, &args.output) {
        if let Err(e) = temp.persist(path) {
            return fail(cannot_write(path.display().to_string(), &e));
        }
    }
    let diagnostics: Vec<Diagnostic> = contexts
        .iter()
        .map(|context| {
            let kind = CaseDiagnostic(&context.error);
            match &context.text {
                Some(text) => {
                    let source =
                        SourceFile::excerpt(cases_name.as_str(), text.as_str(), context.error.line);
                    let span = field_span(text, context.error.field.as_deref());
                    Diagnostic::at(
                        &kind,
                        &source,
                        span,
                        context.error.field.clone().unwrap_or_default(),
                    )
                }
                None => Diagnostic::bare(&kind),
            }
        })
        .collect();
    let mut summary = tallied_summary(&sink.policy, sink.summary, &sink.tallies);
    for report in &allocation.reports {
        summary.caps.push(format!(
            "cap {}: limit {}, used before {}, granted {}, kept {}, waitlisted {}, left {}",
            report.cap,
            report.limit,
            report.used_before,
            report.granted,
            report.kept,
            report.overflowed,
            report.left
        ));
    }
    match &args.ledger {
        Some(path) if broken.is_some() => summary.caps.push(format!(
            "ledger {}: nothing recorded, the batch is broken (places were allocated within it alone)",
            path.display()
        )),
        Some(path) => summary.caps.push(format!(
            "ledger {}: {} new grant{} recorded",
            path.display(),
            allocation.new_grants.len(),
            if allocation.new_grants.len() == 1 {
                ""
            } else {
                "s"
            }
        )),
        None if !allocation.reports.is_empty() => summary.caps.push(
            "no ledger: places were allocated within this batch alone, and nothing was recorded"
                .into(),
        ),
        None => {}
    }
    if !args.quiet {
        print_diagnostics(&diagnostics, format);
        if summary.errors > diagnostics.len() {
            eprintln!(
                "… and {} more record errors (see the output)",
                summary.errors - diagnostics.len()
            );
        }
        eprint!("{summary}");
    }
    if let Some(error) = broken {
        return fail(error);
    }
    if summary.errors > 0 { 3 } else { 0 }
}

/// Ctrl-C: the batch stopped, the ledger is as it was and a `--output` file was not written.
fn interrupted_exit(args: &EvalArgs) -> u8 {
    let output = match &args.output {
        Some(path) => format!("`{}` was not written", path.display()),
        None => "the decisions written so far are incomplete".to_string(),
    };
    let ledger = if args.ledger.is_some() {
        "; nothing was recorded in the ledger"
    } else {
        ""
    };
    eprintln!("readmit: interrupted: {output}{ledger}");
    130
}

fn progress_bar(cases: &Path, quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !io::stderr().is_terminal() {
        return None;
    }
    let size = std::fs::metadata(cases).ok()?.len();
    if size < 16 * 1024 * 1024 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {elapsed} (eta {eta})",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}
