//! One batch in progress: phase one a chunk at a time (in parallel, order kept), duplicate ids
//! and placement in order, phase two (caps) at the end.
//!
//! Records leave a run either as [`Record`] values (the library's view) or already rendered as
//! JSON bytes (the command line's fast path). In the rendered mode the memory a run holds is
//! flat in the batch size but for the ids it has seen: finished records are written at once;
//! once a decision waits for its cap, it and everything after it wait in a spool file, in parts
//! (indices and the few bytes that vary), and only the candidates' ids and order keys stay in
//! memory. The spooled decisions are rendered in parallel when the caps are allocated.

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use super::Engine;
use super::input::{LineBlock, LineSpan, line_record, split_lines};
use super::shared::{SharedWork, lock};
use super::spool::{self, Entry, Spool, decode};
use crate::caps::{self, Allocation, AllocationResult, Candidates, GrantBook};
use crate::cases::{Case, ErrorKind, RecordError, parse_json_bytes_reusing};
use crate::compile::Value;
use crate::dates::Date;
use crate::eval::{self, Decided, SortKey};
use crate::report::{DecisionParts, JsonTemplates, Record};

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
    /// The bytes of a JSON record as read, not yet checked to be UTF-8 text.
    Bytes {
        /// Its physical line.
        line: usize,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// A record already read (CSV rows), or a record that could not be read at all.
    Read(Result<Case, RecordError>),
}

/// What a rendered record counts as, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    /// A decision of this version (index) with this outcome (index).
    Decided {
        /// The version.
        version: usize,
        /// The outcome.
        outcome: usize,
        /// It carries consistency warnings.
        warned: bool,
    },
    /// An error record.
    Error(ErrorKind),
}

/// Where finished records go, in input order.
pub trait RecordSink {
    /// Takes the next record (library mode).
    fn record(&mut self, record: Record) -> io::Result<()>;
    /// Takes the next record, rendered as JSON (rendered mode).
    fn rendered(&mut self, bytes: &[u8], tally: Tally) -> io::Result<()> {
        let _ = (bytes, tally);
        Err(io::Error::other(
            "this sink takes records, not rendered bytes",
        ))
    }
    /// Takes the next records rendered, in a row: in `lines`, each record's bytes are followed
    /// by a line end (`\n`); `records` says where each record's bytes end, before its line end,
    /// and its tally. By default each goes to [`Self::rendered`] in turn; a sink that writes
    /// JSON Lines may write them whole.
    fn rendered_lines(&mut self, lines: &[u8], records: &[(usize, Tally)]) -> io::Result<()> {
        each_rendered(lines, records, |bytes, tally| self.rendered(bytes, tally))
    }
}

/// Hands each record of a block given to [`RecordSink::rendered_lines`] to `take`, without its
/// line end, with its tally.
pub(crate) fn each_rendered(
    lines: &[u8],
    records: &[(usize, Tally)],
    mut take: impl FnMut(&[u8], Tally) -> io::Result<()>,
) -> io::Result<()> {
    let mut start = 0;
    for &(end, tally) in records {
        take(lines.get(start..end).unwrap_or_default(), tally)?;
        start = end + 1;
    }
    Ok(())
}

/// A record error with the text of its record, for a diagnostic.
#[derive(Debug, Clone)]
pub struct ErrorContext {
    /// The error.
    pub error: RecordError,
    /// The record's text, if it was read as text.
    pub text: Option<String>,
}

/// How many record errors keep their text for diagnostics.
const ERROR_CONTEXTS: usize = 20;

/// A decision that waits for its cap, in library mode.
struct Waiting {
    case: Case,
    decided: Decided,
    trace: Option<eval::Trace>,
}

/// A decision in rendered mode, in parts: rendered when it is written; a candidate for a cap
/// waits in the spool with both endings.
struct Parted {
    /// The decision's entry of the spool, in its group's bytes.
    entry: io::Result<Range<usize>>,
    version: usize,
    claim: Option<Box<Claim>>,
}

/// What a candidate for a cap brings besides its id and version.
struct Claim {
    cap: usize,
    keys: Vec<SortKey>,
    as_of: Date,
}

/// What phase one made of a record.
enum Step {
    Final(Record),
    /// Rendered, in its group's bytes.
    Rendered(Range<usize>, Tally),
    Waiting(Box<Waiting>),
    Parted(Parted),
    /// Placed, and what it held moved on (library mode).
    Placed,
}

impl Step {
    fn is_error(&self) -> bool {
        matches!(
            self,
            Step::Final(Record::Error(_)) | Step::Rendered(_, Tally::Error(_))
        )
    }
}

/// An id, with its hash for the run's set of ids (hashed in parallel, inserted in order).
struct SeenId {
    text: Box<str>,
    hash: u64,
}

impl SeenId {
    fn new(text: Box<str>, hasher: &RandomState) -> Self {
        let hash = hasher.hash_one(text.as_bytes());
        SeenId { text, hash }
    }
}

/// What phase one needs to decide a record, shared by the threads deciding a chunk.
#[derive(Clone, Copy)]
struct PhaseOne<'a> {
    engine: &'a Engine,
    options: super::EvalOptions,
    templates: Option<&'a JsonTemplates>,
    /// Decisions are rendered at once (nothing waits for a cap yet), else kept in parts.
    render_now: bool,
    hasher: &'a RandomState,
}

impl PhaseOne<'_> {
    /// Phase one for the records of a block's lines (`bytes` are the block's), into `group`.
    fn decide_lines(&self, bytes: &[u8], spans: &[LineSpan], group: &mut DecidedGroup) {
        for span in spans {
            let processed = self.process_line(bytes, span, group);
            group.records.push(processed);
        }
    }

    /// Phase one for records read, into `group`.
    fn decide_records(
        &self,
        records: impl IntoIterator<Item = RawRecord>,
        group: &mut DecidedGroup,
    ) {
        for raw in records {
            let processed = self.process(raw, group);
            group.records.push(processed);
        }
    }

    /// Phase one for the record of a block's line (`bytes` are the block's).
    fn process_line(&self, bytes: &[u8], span: &LineSpan, group: &mut DecidedGroup) -> Processed {
        let record = bytes.get(span.start..span.end).unwrap_or_default();
        let shape = self.engine.shape();
        match line_record(span.line, record) {
            Ok(record) => {
                match parse_json_bytes_reusing(record, span.line, shape, &mut group.slots) {
                    Ok(case) => self.decide(case, Some(Text::Span(span.start, span.end)), group),
                    Err(error) => {
                        let error = super::input::not_utf8(span.line, error);
                        self.error_step(error, None, &mut group.bytes)
                    }
                }
            }
            Err(error) => self.error_step(error, None, &mut group.bytes),
        }
    }

    fn process(&self, raw: RawRecord, group: &mut DecidedGroup) -> Processed {
        let engine = self.engine;
        let (case, text) = match raw {
            RawRecord::Json { line, text } => {
                let case = engine.read_json(&text, line);
                (case, Some(Text::Owned(text)))
            }
            RawRecord::Bytes { line, bytes } => match String::from_utf8(bytes) {
                Ok(text) => {
                    let case = engine.read_json(&text, line);
                    (case, Some(Text::Owned(text)))
                }
                Err(error) => (Err(super::input::not_utf8(line, error.utf8_error())), None),
            },
            RawRecord::Read(result) => (result, None),
        };
        self.decide(case, text, group)
    }

    /// Phase one for a record read (or not), whose text is `text`; what it renders goes to its
    /// group's bytes, and the case's slots, once done with, to the group for the next record.
    fn decide(
        &self,
        case: Result<Case, RecordError>,
        text: Option<Text>,
        group: &mut DecidedGroup,
    ) -> Processed {
        let out = &mut group.bytes;
        let PhaseOne {
            engine,
            options,
            templates,
            render_now,
            hasher,
        } = *self;
        let case = match case {
            Ok(case) => case,
            Err(error) => return self.error_step(error, text, out),
        };
        let line = case.line;
        let (mut decided, trace) = match engine.first_phase(&case, options) {
            Ok(found) => found,
            Err(error) => {
                let mut processed = self.error_step(error, text, out);
                processed.seen_id = Some(SeenId::new(case.id, hasher));
                return processed;
            }
        };
        // Only a case kept whole for its cap needs a copy of its id.
        if let (None, Some(_)) = (templates, decided.cap) {
            let id = case.id.clone();
            let waiting = Waiting {
                case,
                decided,
                trace,
            };
            return Processed {
                line,
                seen_id: Some(SeenId::new(id, hasher)),
                step: Step::Waiting(Box::new(waiting)),
                error: None,
                text,
            };
        }
        let step = match (templates, decided.cap) {
            (None, _) => Step::Final(Record::Decision(Box::new(
                engine.to_decision(&case, &decided, trace, None),
            ))),
            // Rendered at once while nothing waits for a cap (the spool takes parts after).
            (Some(t), None) if render_now => {
                let start = out.len();
                t.write(out, &engine.policy, &case, &decided, None, trace.as_ref());
                let tally = Tally::Decided {
                    version: decided.version,
                    outcome: decided.outcome,
                    warned: !decided.warnings.is_empty(),
                };
                Step::Rendered(start..out.len(), tally)
            }
            (Some(t), cap) => {
                let parted = Parted {
                    entry: spool::encode_decision(
                        out,
                        line,
                        &case.id,
                        &t.parts(&engine.policy, &case, &decided, trace.as_ref()),
                        cap.is_some(),
                    ),
                    version: decided.version,
                    claim: cap.map(|cap| {
                        Box::new(Claim {
                            cap,
                            keys: std::mem::take(&mut decided.order_keys),
                            as_of: engine.as_of(&case).unwrap_or(Date::MIN),
                        })
                    }),
                };
                Step::Parted(parted)
            }
        };
        // The id moves on with the record, and the slots to the group's next record.
        let Case { id, slots, .. } = case;
        group.slots = Some(slots);
        let seen_id = Some(SeenId::new(id, hasher));
        Processed {
            line,
            seen_id,
            step,
            error: None,
            text,
        }
    }

    fn error_step(&self, error: RecordError, text: Option<Text>, out: &mut Vec<u8>) -> Processed {
        let line = error.line;
        let seen_id = error
            .id
            .as_deref()
            .map(|id| SeenId::new(Box::from(id), self.hasher));
        let step = match self.templates {
            Some(_) => Step::Rendered(render_error(&error, out), Tally::Error(error.kind)),
            None => Step::Final(Record::Error(error.clone())),
        };
        Processed {
            line,
            seen_id,
            step,
            error: Some(error),
            text,
        }
    }
}

/// Records for phase one: read, or a block of lines still to split into records.
enum Work {
    Records(Vec<RawRecord>),
    Lines(LineBlock),
}

/// Records of a chunk that one thread takes at a time: small enough that the threads finish a
/// chunk close together, large enough that taking one costs nothing beside deciding it.
const PIECE: usize = 64;

/// What a piece of a chunk is.
enum PieceInput {
    /// Records of the chunk's block, by their place among its lines.
    Lines(Range<usize>),
    Records(Vec<RawRecord>),
}

/// A chunk being decided, in pieces, by the pool's threads and by the run's own thread when it
/// needs the chunk placed (see [`super::shared`]). It owns what it reads: the pool's jobs
/// outlive the call that made them.
struct ChunkJob {
    engine: Arc<Engine>,
    options: super::EvalOptions,
    templates: Option<Arc<JsonTemplates>>,
    render_now: bool,
    hasher: RandomState,
    /// The block of lines the pieces are in (empty for records), kept for the records'
    /// diagnostics until they are placed.
    block: LineBlock,
    spans: Vec<LineSpan>,
    pieces: SharedWork<PieceInput, DecidedGroup>,
    /// Where the block and its spans go back once the last thread lets the chunk go.
    spare: Arc<Mutex<Spare>>,
}

impl ChunkJob {
    fn phase(&self) -> PhaseOne<'_> {
        PhaseOne {
            engine: &self.engine,
            options: self.options,
            templates: self.templates.as_deref(),
            render_now: self.render_now,
            hasher: &self.hasher,
        }
    }

    /// Decides a piece, into a group this thread decided before: what its records still hold
    /// is dropped here, on the thread that allocated it (freeing on another thread cost the
    /// allocator's slow path).
    fn run(&self, piece: PieceInput) -> DecidedGroup {
        let phase = self.phase();
        let mut group = lock(&self.spare).group_for(decider());
        match piece {
            PieceInput::Lines(range) => {
                let spans = self.spans.get(range).unwrap_or_default();
                phase.decide_lines(&self.block.bytes, spans, &mut group);
            }
            PieceInput::Records(raws) => phase.decide_records(raws, &mut group),
        }
        group
    }

    /// Decides pieces no other thread took, until none is left.
    fn help(&self) {
        self.pieces.help(|piece| self.run(piece));
    }
}

impl Drop for ChunkJob {
    fn drop(&mut self) {
        let mut spare = lock(&self.spare);
        if self.block.bytes.capacity() > 0 {
            keep(&mut spare.blocks, std::mem::take(&mut self.block.bytes));
        }
        if self.spans.capacity() > 0 {
            keep(&mut spare.spans, std::mem::take(&mut self.spans));
        }
    }
}

/// Where a record's text is, for a diagnostic.
enum Text {
    /// Its own.
    Owned(String),
    /// Its start and end in its chunk's block of lines.
    Span(usize, usize),
}

/// Vectors that went to the pool and came back, kept to be reused: a large buffer freed on
/// another thread than the one that made it lingers in the allocator, and with a new pair of
/// vectors for every chunk a run on two threads took 20 MiB more.
#[derive(Default)]
struct Spare {
    records: Vec<Vec<RawRecord>>,
    /// Groups placed, by the thread that decided them (see [`decider`]).
    decided: Vec<Vec<DecidedGroup>>,
    blocks: Vec<Vec<u8>>,
    spans: Vec<Vec<LineSpan>>,
}

impl Spare {
    /// An empty group for `thread` to decide into: one it decided before, if any.
    fn group_for(&mut self, thread: usize) -> DecidedGroup {
        let mut group = self
            .decided
            .get_mut(thread)
            .and_then(Vec::pop)
            .unwrap_or_default();
        group.thread = thread;
        group.clear();
        group
    }

    /// Keeps a placed group, as it is, for the thread that decided it.
    fn give_back(&mut self, group: DecidedGroup) {
        let thread = group.thread;
        if self.decided.len() <= thread {
            self.decided.resize_with(thread + 1, Vec::new);
        }
        if let Some(groups) = self.decided.get_mut(thread)
            && groups.len() < GROUPS_KEPT
        {
            groups.push(group);
        }
    }
}

/// How many of each kind of chunk-sized buffer are kept to reuse: more than are ever in flight
/// at once, so that a caller that never takes them back (see [`BatchRun::chunk_buffer`]) does
/// not make the lists grow.
const SPARES_KEPT: usize = IN_FLIGHT + 6;

/// How many decided groups each thread keeps to reuse: as many as can be in flight at once.
const GROUPS_KEPT: usize = (IN_FLIGHT + 2) * super::input::CHUNK / PIECE;

/// Keeps a chunk-sized buffer to reuse, unless enough are kept already.
fn keep<T>(spares: &mut Vec<T>, buffer: T) {
    if spares.len() < SPARES_KEPT {
        spares.push(buffer);
    }
}

/// The thread deciding records: 0 for the run's own, then the pool's threads from 1.
fn decider() -> usize {
    rayon::current_thread_index().map_or(0, |index| index + 1)
}

/// Records decided together, and the bytes their steps point into: their renderings and spool
/// entries, in one buffer for the group instead of one for each record.
#[derive(Default)]
struct DecidedGroup {
    /// The thread that decided it (see [`decider`]).
    thread: usize,
    records: Vec<Processed>,
    bytes: Vec<u8>,
    /// The slots of the last case decided, for the next to be read into.
    slots: Option<Box<[Value]>>,
}

impl DecidedGroup {
    fn clear(&mut self) {
        self.records.clear();
        self.bytes.clear();
    }
}

struct Processed {
    /// The record's line.
    line: usize,
    /// The record's id, where it could be read: ids are unique within a batch, so a later
    /// record with the same id is a `duplicate_id`, whatever became of the first.
    seen_id: Option<SeenId>,
    step: Step,
    /// The record's error, for a diagnostic (rendered mode keeps it apart from the bytes).
    error: Option<RecordError>,
    /// The record's text, kept until the record is placed: a duplicate id is only known then.
    text: Option<Text>,
}

/// Records held back until allocation: in memory (library mode) or in a spool file.
enum Held {
    Record(Record),
    Waiting(usize),
}

/// One batch in progress.
pub struct BatchRun<'e> {
    engine: &'e Engine,
    options: super::EvalOptions,
    /// The ids seen; `None` once the candidates are taken, when no more records come.
    seen: Option<super::ids::IdSet>,
    templates: Option<Arc<JsonTemplates>>,
    /// Library mode: records after the first waiting one, in order.
    held: Vec<Held>,
    waiting: Vec<Waiting>,
    /// Rendered mode: the spool and the candidates (ids and keys only).
    spool: Option<Spool>,
    candidates: Candidates,
    /// The first record errors, with their text.
    pub error_contexts: Vec<ErrorContext>,
    /// The threads the run decides records on, its own included, when set
    /// ([`Self::with_threads`]); else rayon's global pool's, and its pool is the global one.
    threads: Option<usize>,
    /// The other threads (one fewer than `threads`), made when first needed; rayon's global
    /// pool if the number of threads is not set or they cannot be made.
    pool: Option<Arc<rayon::ThreadPool>>,
    /// The last chunks, being decided (more than one thread; see [`Self::push_chunk`]).
    in_flight: VecDeque<Arc<ChunkJob>>,
    /// Vectors the pool gave back, to reuse.
    spare: Arc<Mutex<Spare>>,
    /// The engine, shared with the pool's jobs.
    shared: Option<Arc<Engine>>,
    /// The input's size in bytes, when known, until the set of ids is sized from it.
    input_size: Option<u64>,
    /// Set from outside (Ctrl-C) to stop the batch at the next chunk.
    cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// Records of a block decided together on one thread before they are placed: their ids' lookups
/// in the set of ids, most of them cache misses, then run one after the other and overlap,
/// and the records are still in cache (about 4% of a one-thread run, against placing each
/// record as it is decided).
const PLACED_TOGETHER: usize = 128;

/// Chunks left on the pool while this thread places the oldest. With one, the threads of a
/// two-thread run sat idle for a fifth of it: the pool ran out of chunks while this thread
/// placed one and read the next.
const IN_FLIGHT: usize = 2;

/// Records read back from the spool and rendered together.
const RENDER_BLOCK: usize = 1024;

/// Records of a block read back that one thread renders at a time.
const RENDER_PIECE: usize = 128;

/// Spooled records read back as they are, for a thread to decode and render.
#[derive(Default)]
struct SpooledBlock {
    /// Entries, each with its length in front.
    raw: Vec<u8>,
    /// Where each entry ends in `raw`.
    ends: Vec<usize>,
    /// The queue position of each decision that got no place of its cap.
    overflows: Vec<Option<u64>>,
}

/// A block read back from the spool, being rendered in pieces.
struct RenderJob {
    block: SpooledBlock,
    pieces: SharedWork<Range<usize>, io::Result<RenderedBlock>>,
    templates: Arc<JsonTemplates>,
}

impl RenderJob {
    fn render(&self, range: Range<usize>) -> io::Result<RenderedBlock> {
        render_block(&self.block, range, &self.templates)
    }

    /// Renders pieces no other thread took, until none is left.
    fn help(&self) {
        self.pieces.help(|range| self.render(range));
    }
}

/// `0..len` in ranges of `size`, the last one shorter.
fn ranges(len: usize, size: usize) -> impl Iterator<Item = Range<usize>> {
    (0..len)
        .step_by(size.max(1))
        .map(move |start| start..(start + size).min(len))
}

/// A block of records rendered, each followed by a line end, with where each ends (before its
/// line end) and its tally.
struct RenderedBlock {
    lines: Vec<u8>,
    records: Vec<(usize, Tally)>,
}

impl RenderedBlock {
    fn write(&self, sink: &mut dyn RecordSink) -> io::Result<()> {
        sink.rendered_lines(&self.lines, &self.records)
    }
}

/// Renders the entries of `block` in `range`.
fn render_block(
    block: &SpooledBlock,
    range: Range<usize>,
    templates: &JsonTemplates,
) -> io::Result<RenderedBlock> {
    let ends = block.ends.get(range.clone()).unwrap_or_default();
    let overflows = block.overflows.get(range.clone()).unwrap_or_default();
    let mut rendered = RenderedBlock {
        lines: Vec::with_capacity(ends.len() * 640),
        records: Vec::with_capacity(ends.len()),
    };
    let (mut bytes, mut id, mut parts) = (Vec::new(), String::new(), DecisionParts::default());
    let mut start = match range.start.checked_sub(1) {
        Some(before) => block.ends.get(before).copied().unwrap_or_default(),
        None => 0,
    };
    for (&end, &overflow) in ends.iter().zip(overflows) {
        let entry = block.raw.get(start + 4..end).unwrap_or_default();
        start = end;
        let tally = match decode(entry, &mut bytes, &mut id, &mut parts)? {
            Entry::Rendered(tally) => {
                rendered.lines.extend_from_slice(&bytes);
                tally
            }
            Entry::Decision { line, .. } => {
                templates.render(&mut rendered.lines, line, &id, &parts, overflow);
                decided_tally(&parts, overflow)
            }
        };
        rendered.records.push((rendered.lines.len(), tally));
        rendered.lines.push(b'\n');
    }
    Ok(rendered)
}

/// An error record rendered as JSON at the end of `out`; where it is.
fn render_error(error: &RecordError, out: &mut Vec<u8>) -> Range<usize> {
    let start = out.len();
    if serde_json::to_writer(&mut *out, &Record::Error(error.clone())).is_err() {
        out.truncate(start);
    }
    start..out.len()
}

/// What a decision counts as: its outcome, or its cap's overflow outcome.
fn decided_tally(parts: &DecisionParts, overflow: Option<u64>) -> Tally {
    Tally::Decided {
        version: parts.version,
        outcome: match overflow {
            Some(_) => parts.overflow_outcome,
            None => parts.outcome,
        },
        warned: !parts.warnings.is_empty(),
    }
}

impl<'e> BatchRun<'e> {
    /// A new batch whose records leave as [`Record`]s.
    pub fn new(engine: &'e Engine, options: super::EvalOptions) -> Self {
        BatchRun {
            engine,
            options,
            seen: Some(super::ids::IdSet::default()),
            templates: None,
            held: Vec::new(),
            waiting: Vec::new(),
            spool: None,
            candidates: Candidates::default(),
            error_contexts: Vec::new(),
            threads: None,
            pool: None,
            in_flight: VecDeque::new(),
            spare: Arc::default(),
            shared: None,
            input_size: None,
            cancel: None,
        }
    }

    /// Stops the batch, with an `Interrupted` error, at the first chunk after `flag` is set.
    pub fn with_cancel(mut self, flag: Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// The input's size in bytes (a file's): the set of ids is then sized once, for as many
    /// records as the first chunk's bytes per record promise, instead of growing as it fills.
    pub fn with_input_size(mut self, bytes: u64) -> Self {
        self.input_size = Some(bytes);
        self
    }

    /// How many ids the batch is expected to have, from its first chunk and the input's size
    /// (see [`Self::with_input_size`]); asked once.
    fn ids_expected(&mut self, work: &Work) -> Option<usize> {
        let total = self.input_size.take()?;
        let (records, bytes) = match work {
            Work::Records(chunk) => (
                chunk.len(),
                chunk
                    .iter()
                    .map(|raw| match raw {
                        RawRecord::Json { text, .. } => text.len() + 1,
                        RawRecord::Bytes { bytes, .. } => bytes.len() + 1,
                        RawRecord::Read(_) => 64,
                    })
                    .sum(),
            ),
            Work::Lines(block) => (
                memchr::memchr_iter(b'\n', &block.bytes).count().max(1),
                block.bytes.len(),
            ),
        };
        if bytes == 0 {
            return None;
        }
        // Bounded, so that a file of tiny records first and huge ones after cannot ask for
        // much more than it needs.
        let expected = total.saturating_mul(records as u64) / bytes as u64;
        Some(expected.min(1 << 26) as usize)
    }

    /// Makes room in the set of ids for those expected.
    fn reserve_ids(&mut self, expected: Option<usize>) {
        if let (Some(expected), Some(seen)) = (expected, &mut self.seen) {
            seen.reserve(expected);
        }
    }

    /// Whether the batch was asked to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Records leave rendered as JSON (storskog-policy.md §8), through [`RecordSink::rendered`].
    pub fn rendering_json(mut self) -> Self {
        self.templates = Some(Arc::new(JsonTemplates::new(&self.engine.policy)));
        self
    }

    /// The engine the batch runs on.
    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    /// Runs phase one on `threads` threads instead of all cores.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads.max(1));
        self.pool = None;
        self
    }

    /// Runs a job on the run's other threads, without waiting for it.
    fn spawn(&mut self, job: impl FnOnce() + Send + 'static) {
        if let (None, Some(threads)) = (&self.pool, self.threads) {
            self.pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads.saturating_sub(1).max(1))
                .build()
                .ok()
                .map(Arc::new);
        }
        match &self.pool {
            Some(pool) => pool.spawn(job),
            None => rayon::spawn(job),
        }
    }

    /// Lets the run's other threads help with `job`, of `pieces` pieces: as many as can take
    /// one while this thread takes another (a job of one piece is left to this thread, so a
    /// one-case batch starts no thread at all).
    fn share<J: Send + Sync + 'static>(&mut self, job: &Arc<J>, pieces: usize, help: fn(&J)) {
        for _ in 1..self.threads().min(pieces) {
            let job = Arc::clone(job);
            self.spawn(move || help(&job));
        }
    }

    /// The threads phase one runs on, the run's own included.
    fn threads(&self) -> usize {
        self.threads.unwrap_or_else(rayon::current_num_threads)
    }

    /// Phase one for a chunk, and its records placed in order. With more than one thread, the
    /// chunk is decided on the pool while this call places the oldest chunk beyond
    /// [`IN_FLIGHT`], helping to decide it first, and the caller reads the next (placing is
    /// serial: duplicate ids, writing, the spool); its records are placed by a later call or by
    /// [`Self::flush`].
    pub fn push_chunk(
        &mut self,
        chunk: Vec<RawRecord>,
        sink: &mut dyn RecordSink,
    ) -> io::Result<()> {
        self.push(Work::Records(chunk), sink)
    }

    /// Phase one for a block of JSON Lines, as [`Self::push_chunk`] for its records.
    pub(super) fn push_lines(
        &mut self,
        block: LineBlock,
        sink: &mut dyn RecordSink,
    ) -> io::Result<()> {
        self.push(Work::Lines(block), sink)
    }

    fn push(&mut self, work: Work, sink: &mut dyn RecordSink) -> io::Result<()> {
        if self.cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        let Some(seen) = &self.seen else {
            return Err(io::Error::other(
                "records were pushed after the batch's candidates were taken",
            ));
        };
        let hasher = seen.hasher();
        let ids_expected = self.ids_expected(&work);
        if self.threads() <= 1 {
            self.reserve_ids(ids_expected);
            // Records are placed soon after they are decided, while their parts are in cache.
            let templates = self.templates.clone();
            let phase = |run: &Self| PhaseOne {
                engine: run.engine,
                options: run.options,
                templates: templates.as_deref(),
                // The spool may start within the chunk; the decisions of the groups after it go
                // in parts (the rest of that group's are spooled rendered).
                render_now: run.spool.is_none(),
                hasher: &hasher,
            };
            match work {
                Work::Records(mut chunk) => {
                    let mut group = DecidedGroup::default();
                    for raw in chunk.drain(..) {
                        phase(self).decide_records([raw], &mut group);
                        self.place_all(&mut group, &[], sink)?;
                        group.clear();
                    }
                    keep(&mut lock(&self.spare).records, chunk);
                }
                Work::Lines(block) => {
                    let mut spans = lock(&self.spare).spans.pop().unwrap_or_default();
                    split_lines(&block, &mut spans);
                    let mut group = DecidedGroup::default();
                    for together in spans.chunks(PLACED_TOGETHER) {
                        phase(self).decide_lines(&block.bytes, together, &mut group);
                        self.place_all(&mut group, &block.bytes, sink)?;
                        group.clear();
                    }
                    let mut spare = lock(&self.spare);
                    keep(&mut spare.spans, spans);
                    keep(&mut spare.blocks, block.bytes);
                }
            }
            return Ok(());
        }
        let engine = Arc::clone(
            self.shared
                .get_or_insert_with(|| Arc::new(self.engine.clone())),
        );
        let (block, spans, pieces) = match work {
            Work::Lines(block) => {
                let mut spans = lock(&self.spare).spans.pop().unwrap_or_default();
                split_lines(&block, &mut spans);
                let pieces = SharedWork::new(ranges(spans.len(), PIECE).map(PieceInput::Lines));
                (block, spans, pieces)
            }
            Work::Records(mut chunk) => {
                let mut pieces = Vec::with_capacity(chunk.len().div_ceil(PIECE));
                let mut records = chunk.drain(..);
                loop {
                    let piece: Vec<RawRecord> = records.by_ref().take(PIECE).collect();
                    if piece.is_empty() {
                        break;
                    }
                    pieces.push(PieceInput::Records(piece));
                }
                drop(records);
                keep(&mut lock(&self.spare).records, chunk);
                (LineBlock::default(), Vec::new(), SharedWork::new(pieces))
            }
        };
        let job = Arc::new(ChunkJob {
            engine,
            options: self.options,
            templates: self.templates.clone(),
            render_now: self.spool.is_none(),
            hasher,
            block,
            spans,
            pieces,
            spare: Arc::clone(&self.spare),
        });
        self.share(&job, job.pieces.len(), ChunkJob::help);
        // Once the pool has the first chunk: faulting in the room for a million ids takes
        // a few milliseconds, and the pool has nothing else to do until then.
        self.reserve_ids(ids_expected);
        self.in_flight.push_back(job);
        let mut placed = Ok(());
        while self.in_flight.len() > IN_FLIGHT && placed.is_ok() {
            if let Some(oldest) = self.in_flight.pop_front() {
                placed = self.place_decided(&oldest, sink);
            }
        }
        // After a failed write, nothing more is placed: the output stays a prefix of the batch.
        if placed.is_err() {
            self.in_flight.clear();
        }
        placed
    }

    /// Places the records of a chunk, once decided: this thread decides the pieces no other
    /// has taken yet, then pieces of later chunks until the others' are done (waiting only when
    /// none is left).
    fn place_decided(&mut self, job: &ChunkJob, sink: &mut dyn RecordSink) -> io::Result<()> {
        job.help();
        // While other threads finish their pieces of this chunk, this one decides pieces of
        // the later chunks, rather than wait.
        while !job.pieces.is_finished()
            && self
                .in_flight
                .iter()
                .any(|later| later.pieces.help_one(|piece| later.run(piece)))
        {}
        for mut group in job.pieces.finish(|piece| job.run(piece)) {
            let placed = self.place_all(&mut group, &job.block.bytes, sink);
            // The records go back as they are, to be dropped by the thread that decided them
            // when it fills the group again.
            lock(&self.spare).give_back(group);
            placed?;
        }
        Ok(())
    }

    /// An empty vector for the next chunk of records (one the pool gave back, if any).
    pub(super) fn chunk_buffer(&mut self) -> Vec<RawRecord> {
        lock(&self.spare)
            .records
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(super::input::CHUNK))
    }

    /// An empty buffer for the next block of lines (one the pool gave back, if any).
    pub(super) fn block_buffer(&mut self) -> Vec<u8> {
        lock(&self.spare).blocks.pop().unwrap_or_default()
    }

    /// Places the records of the last chunk that are still waiting ([`read_batch`](super::read_batch),
    /// [`Self::candidates`] and [`Self::finish`] do it).
    pub fn flush(&mut self, sink: &mut dyn RecordSink) -> io::Result<()> {
        while let Some(job) = self.in_flight.pop_front() {
            if let Err(error) = self.place_decided(&job, sink) {
                self.in_flight.clear();
                return Err(error);
            }
        }
        Ok(())
    }

    /// Places records in order: their ids claimed, then each written, held or spooled. What they
    /// own is left in them, to be dropped by whoever made them (see [`Spare`]). The ids are
    /// claimed first, one after another: most lookups in the set of ids miss the cache, and
    /// they then overlap.
    fn place_all(
        &mut self,
        group: &mut DecidedGroup,
        block: &[u8],
        sink: &mut dyn RecordSink,
    ) -> io::Result<()> {
        let DecidedGroup { records, bytes, .. } = group;
        for item in records.iter_mut() {
            self.claim_id(item, bytes);
        }
        records
            .iter_mut()
            .try_for_each(|item| self.place(item, bytes, block, sink))
    }

    /// Claims a record's id: a record whose id an earlier one claimed becomes a duplicate,
    /// rendered at the end of its group's `bytes`.
    fn claim_id(&mut self, item: &mut Processed, bytes: &mut Vec<u8>) {
        let line = item.line;
        if let Some(SeenId { text: id, hash }) = &item.seen_id {
            // Every record that has an id claims it, an error record too (a later record with
            // it is a duplicate); an error record is not made a duplicate itself.
            // Without the set (the candidates were taken), nothing is placed: see `push`.
            let fresh = self
                .seen
                .as_mut()
                .is_none_or(|seen| seen.insert_hashed(id, *hash));
            if !fresh && !item.step.is_error() {
                let duplicate = RecordError {
                    line,
                    id: Some(id.to_string()),
                    kind: ErrorKind::DuplicateId,
                    field: Some("id".into()),
                    message: format!(
                        "the id `{id}` was already used by an earlier record of this batch"
                    ),
                };
                item.step = match self.templates {
                    Some(_) => Step::Rendered(
                        render_error(&duplicate, bytes),
                        Tally::Error(ErrorKind::DuplicateId),
                    ),
                    None => Step::Final(Record::Error(duplicate.clone())),
                };
                item.error = Some(duplicate);
            }
        }
    }

    /// Places a record whose id is claimed: written, held or spooled. `bytes` are its group's,
    /// `block` its chunk's lines.
    fn place(
        &mut self,
        item: &mut Processed,
        bytes: &[u8],
        block: &[u8],
        sink: &mut dyn RecordSink,
    ) -> io::Result<()> {
        if let Some(error) = item.error.take().or_else(|| match &item.step {
            Step::Final(Record::Error(e)) => Some(e.clone()),
            _ => None,
        }) {
            if self.error_contexts.len() < ERROR_CONTEXTS {
                let text = match item.text.take() {
                    Some(Text::Owned(text)) => Some(text),
                    Some(Text::Span(start, end)) => block
                        .get(start..end)
                        .and_then(|bytes| std::str::from_utf8(bytes).ok())
                        .map(str::to_string),
                    None => None,
                };
                self.error_contexts.push(ErrorContext { error, text });
            }
        }
        match &item.step {
            Step::Rendered(at, tally) => {
                let rendered = bytes.get(at.clone()).unwrap_or_default();
                return match &mut self.spool {
                    None => sink.rendered(rendered, *tally),
                    Some(spool) => spool.push_rendered(*tally, rendered),
                };
            }
            Step::Parted(parted) => {
                if let Some(claim) = &parted.claim {
                    let id = item.seen_id.as_ref().map_or("", |seen| &seen.text);
                    self.candidates
                        .push(id, parted.version, claim.cap, &claim.keys, claim.as_of);
                }
                let entry = parted
                    .entry
                    .as_ref()
                    .map_err(|e| io::Error::new(e.kind(), e.to_string()))?;
                let entry = bytes.get(entry.clone()).unwrap_or_default();
                // Decisions in parts are made once something waits for a cap: they wait too.
                return self.spool.get_or_insert_with(Spool::new).push_entry(entry);
            }
            Step::Final(_) | Step::Waiting(_) | Step::Placed => {}
        }
        match std::mem::replace(&mut item.step, Step::Placed) {
            Step::Final(record) => {
                if self.waiting.is_empty() {
                    sink.record(record)
                } else {
                    self.held.push(Held::Record(record));
                    Ok(())
                }
            }
            Step::Waiting(w) => {
                self.held.push(Held::Waiting(self.waiting.len()));
                self.waiting.push(*w);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The candidates for caps, in input order, once every record pushed is placed (the
    /// records still waiting are placed first: a candidate is only known to be one, and not a
    /// duplicate id, once placed). Asked once, before [`Self::complete`]: in the rendered mode
    /// they are handed over, not copied (a copy was the run's peak of memory). No record can
    /// be pushed after: the ids seen are let go, for the allocation and the rest of the output.
    pub fn candidates(&mut self, sink: &mut dyn RecordSink) -> io::Result<Candidates> {
        self.flush(sink)?;
        self.seen = None;
        // Every candidate's id was claimed (see `claim_id`): a second record with one is not.
        if self.templates.is_some() {
            return Ok(std::mem::take(&mut self.candidates).with_distinct_ids());
        }
        let mut candidates = Candidates::default();
        for w in &self.waiting {
            candidates.push(
                &w.case.id,
                w.decided.version,
                w.decided.cap.unwrap_or(0),
                &w.decided.order_keys,
                self.engine.as_of(&w.case).unwrap_or(Date::MIN),
            );
        }
        Ok(candidates.with_distinct_ids())
    }

    /// Phase two with the given allocation, then the rest of the output in order.
    pub fn complete(
        mut self,
        allocation: &AllocationResult,
        sink: &mut dyn RecordSink,
    ) -> io::Result<()> {
        self.flush(sink)?;
        let overflow_of = |index: usize| match allocation.allocations.get(index) {
            Some(Allocation::Overflow { queue_position }) => Some(*queue_position),
            _ => None,
        };
        for held in std::mem::take(&mut self.held) {
            match held {
                Held::Record(record) => sink.record(record)?,
                Held::Waiting(index) => {
                    let Some(w) = self.waiting.get(index) else {
                        continue;
                    };
                    let decision = self.engine.to_decision(
                        &w.case,
                        &w.decided,
                        w.trace.clone(),
                        overflow_of(index),
                    );
                    sink.record(Record::Decision(Box::new(decision)))?;
                }
            }
        }
        let Some(spool) = self.spool.take() else {
            return Ok(());
        };
        let Some(templates) = self.templates.clone() else {
            return Ok(());
        };
        // Blocks of records are read back raw, then decoded and rendered in pieces by the pool's
        // threads and by this one, which renders pieces of the oldest block still being rendered
        // and writes it; [`IN_FLIGHT`] blocks stay ahead of it.
        let mut reader = Some(spool.finish()?);
        let mut waiting_index = 0usize;
        let threads = self.threads();
        let mut in_flight: VecDeque<Arc<RenderJob>> = VecDeque::new();
        let mut entries = Vec::with_capacity(RENDER_BLOCK);
        loop {
            let mut block = SpooledBlock::default();
            entries.clear();
            let more = match reader.as_mut() {
                Some(reader) => reader.next_entries(&mut block.raw, &mut entries, RENDER_BLOCK)?,
                None => false,
            };
            for &(end, waiting) in &entries {
                block.ends.push(end);
                block.overflows.push(if waiting {
                    waiting_index += 1;
                    overflow_of(waiting_index - 1)
                } else {
                    None
                });
            }
            let last = !more || block.ends.len() < RENDER_BLOCK;
            if last && threads > 1 {
                // Deleting the spool's file (its pages freed by the kernel) is left to the pool,
                // which has only this block to help with, while this thread writes.
                if let Some(read) = reader.take() {
                    self.spawn(move || drop(read));
                }
            }
            if threads <= 1 {
                render_block(&block, 0..block.ends.len(), &templates)?.write(sink)?;
            } else {
                let job = Arc::new(RenderJob {
                    pieces: SharedWork::new(ranges(block.ends.len(), RENDER_PIECE)),
                    block,
                    templates: Arc::clone(&templates),
                });
                self.share(&job, job.pieces.len(), RenderJob::help);
                in_flight.push_back(job);
            }
            // As in phase one: this thread renders pieces of the oldest block, then writes it.
            while in_flight.len() > IN_FLIGHT || (last && !in_flight.is_empty()) {
                let Some(next) = in_flight.pop_front() else {
                    break;
                };
                for rendered in next.pieces.finish(|range| next.render(range)) {
                    rendered?.write(sink)?;
                }
            }
            if last {
                return Ok(());
            }
        }
    }

    /// Phase two against a grant book, then the rest of the output; returns the allocation.
    pub fn finish(
        mut self,
        book: &dyn GrantBook,
        sink: &mut dyn RecordSink,
    ) -> io::Result<AllocationResult> {
        let candidates = self.candidates(sink)?;
        let allocation = caps::allocate_on(&self.engine.policy, &candidates, book, self.threads());
        self.complete(&allocation, sink)?;
        Ok(allocation)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{BatchRun, RawRecord, lock};
    use crate::engine::{CollectSink, Engine, EvalOptions};

    fn storskog() -> Engine {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/storskog");
        Engine::load(&path).unwrap_or_else(|d| panic!("policies/storskog does not load: {d:?}"))
    }

    fn record(line: usize) -> RawRecord {
        RawRecord::Json {
            line,
            text: format!(r#"{{"id":"SK-{line}","nationality":"SY","entry_date":"2015-10-03"}}"#),
        }
    }

    #[test]
    fn a_chunk_of_one_piece_starts_no_thread() {
        let engine = storskog();
        let mut run = BatchRun::new(&engine, EvalOptions::default()).with_threads(4);
        let mut out = CollectSink(Vec::new());
        assert!(run.push_chunk(vec![record(1)], &mut out).is_ok());
        assert!(run.flush(&mut out).is_ok());
        assert!(run.pool.is_none(), "a pool was made for one record");
        assert_eq!(out.0.len(), 1);
    }

    #[test]
    fn spare_buffers_stay_few_however_many_chunks_pass() {
        let engine = storskog();
        for threads in [1, 2, 3] {
            let mut run = BatchRun::new(&engine, EvalOptions::default()).with_threads(threads);
            let mut out = CollectSink(Vec::new());
            for line in 1..=2_000 {
                // Chunks of one record and of many pieces, in turn.
                let chunk = if line % 2 == 0 {
                    vec![record(line)]
                } else {
                    (0..300).map(|i| record(line * 1_000 + i)).collect()
                };
                assert!(run.push_chunk(chunk, &mut out).is_ok());
            }
            assert!(run.flush(&mut out).is_ok());
            assert_eq!(out.0.len(), 1_000 + 1_000 * 300);
            let spare = lock(&run.spare);
            let groups: usize = spare.decided.iter().map(Vec::len).sum();
            assert!(spare.spans.len() <= 8, "{} spans", spare.spans.len());
            assert!(
                spare.records.len() <= 8,
                "{} record vectors",
                spare.records.len()
            );
            assert!(
                groups <= super::GROUPS_KEPT * threads,
                "{groups} groups on {threads} threads"
            );
        }
    }
}
