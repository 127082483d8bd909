//! Reading a batch: JSON Lines, a JSON array or CSV, a chunk of records at a time.

use std::io::{self, BufRead, Read};
use std::path::Path;

use super::{BatchRun, MAX_RECORD_BYTES, RawRecord, RecordSink};
use crate::cases::{
    ArrayElement, CsvReader, ErrorKind, JsonArrayReader, RecordError, SplitFailure,
};

/// How many records are decided together (in parallel) before they are placed in order: a run
/// stops (Ctrl-C) and gives back memory at this grain.
pub const CHUNK: usize = 1024;

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
    /// The system failed to read the batch.
    Read(io::Error),
    /// The system failed to write the output (the sink's error).
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
    let read = read_chunks(run, input, format, sink, progress);
    // Every record read is placed, whatever ended the reading.
    run.flush(sink)?;
    read
}

fn read_chunks(
    run: &mut BatchRun<'_>,
    input: &mut dyn BufRead,
    format: InputFormat,
    sink: &mut dyn RecordSink,
    progress: &dyn Fn(u64),
) -> Result<(), InputError> {
    match format {
        InputFormat::Jsonl => {
            let mut reader = BlockReader::new(input);
            loop {
                match reader.next_piece(run.block_buffer()) {
                    Ok(Piece::Lines(block)) => run.push_lines(block, sink)?,
                    Ok(Piece::Overlong(line)) => {
                        let mut chunk = run.chunk_buffer();
                        chunk.push(record_bytes(line, None));
                        run.push_chunk(chunk, sink)?;
                    }
                    Ok(Piece::End) => return Ok(()),
                    Err(error) => return Err(InputError::Read(error)),
                }
                progress(reader.bytes);
            }
        }
        InputFormat::Json => {
            let mut reader = JsonArrayReader::new(input, MAX_RECORD_BYTES);
            let mut chunk = run.chunk_buffer();
            loop {
                match reader.next_element() {
                    Ok(Some(element)) => chunk.push(element_record(element)),
                    Ok(None) => break,
                    Err(failure) => {
                        run.push_chunk(std::mem::take(&mut chunk), sink)?;
                        return Err(match failure {
                            SplitFailure::Io(error) => InputError::Read(error),
                            SplitFailure::Malformed(error) => InputError::Format {
                                line: error.line,
                                message: error.message,
                            },
                        });
                    }
                }
                if chunk.len() == CHUNK {
                    run.push_chunk(std::mem::take(&mut chunk), sink)?;
                    chunk = run.chunk_buffer();
                    progress(reader.bytes_read());
                }
            }
            run.push_chunk(chunk, sink)?;
            progress(reader.bytes_read());
            Ok(())
        }
        InputFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(LineCounter::new(input));
            let header = reader.headers().map_err(|e| match e.kind() {
                csv::ErrorKind::Io(io) => {
                    InputError::Read(io::Error::new(io.kind(), io.to_string()))
                }
                _ => InputError::Format {
                    line: 1,
                    message: format!("cannot read the CSV header: {e}"),
                },
            })?;
            let header = header.clone();
            let shape = run.engine().shape();
            let columns = CsvReader::new(&header, shape)
                .map_err(|message| InputError::Format { line: 1, message })?;
            let id_slot = run.engine().policy.id_slot;
            let mut chunk = run.chunk_buffer();
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
                    Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                        // The file could not be read on: not a bad row, the batch is cut short.
                        run.push_chunk(chunk, sink)?;
                        return Err(InputError::Read(match e.into_kind() {
                            csv::ErrorKind::Io(error) => error,
                            other => io::Error::other(format!("{other:?}")),
                        }));
                    }
                    Err(e) => {
                        let byte = e.position().map_or(fallback, |p| p.byte());
                        let line = reader.get_mut().line_at(byte);
                        let (field, message) = match e.kind() {
                            csv::ErrorKind::Utf8 { err, .. } => {
                                let column = header.get(err.field()).map(str::to_string);
                                let message = match &column {
                                    Some(name) => {
                                        format!("the cell of column `{name}` is not UTF-8 text")
                                    }
                                    None => "the row is not UTF-8 text".to_string(),
                                };
                                (column, message)
                            }
                            _ => (None, format!("not a valid CSV row: {e}")),
                        };
                        chunk.push(RawRecord::Read(Err(RecordError {
                            line,
                            id: None,
                            kind: ErrorKind::ParseError,
                            field,
                            message,
                        })));
                    }
                }
                if chunk.len() == CHUNK {
                    run.push_chunk(std::mem::take(&mut chunk), sink)?;
                    chunk = run.chunk_buffer();
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

/// The bytes a block of JSON Lines is filled to, at most, before its last line is complete.
const BLOCK_BYTES: usize = 512 * 1024;

/// Whole lines of JSON Lines as read, up to [`CHUNK`] of them: the thread that decides them
/// splits them into records (see [`split_lines`]). The reading thread only copies bytes and
/// counts line ends, which left it a tenth of the work it had when it made every line a
/// record of its own.
#[derive(Debug, Default)]
pub(super) struct LineBlock {
    /// The physical line (from 1) its bytes start on.
    pub first_line: usize,
    /// Whole lines, each with its `\n` but perhaps the input's last.
    pub bytes: Vec<u8>,
}

/// What a JSON Lines input gives next.
enum Piece {
    /// A block of lines (it may hold only blank lines).
    Lines(LineBlock),
    /// A line over [`MAX_RECORD_BYTES`], skipped while it was read: an error record.
    Overlong(usize),
    /// The end of the input.
    End,
}

/// The bytes of a line without its `\n` that hold at most [`MAX_RECORD_BYTES`] of record: a
/// first line's byte order mark, and a `\r`, are not the record's.
const LINE_LIMIT: usize = MAX_RECORD_BYTES + BOM.len() + 1;

/// Reads JSON Lines a block of whole lines at a time: physical lines counted from 1. A line
/// that grows past [`LINE_LIMIT`] while it is read is not kept but skipped to its end; one that
/// is whole in a block is measured when it is split ([`split_lines`]): either way, a record over
/// [`MAX_RECORD_BYTES`] is an error record.
struct BlockReader<'r> {
    input: &'r mut dyn BufRead,
    /// The lines read so far.
    line: usize,
    /// The bytes read so far.
    bytes: u64,
    /// A line found too long at the end of the last block, still to be skipped.
    overlong: Option<usize>,
    /// A failure to read, met after the whole lines of the last block.
    failed: Option<io::Error>,
    ended: bool,
}

impl<'r> BlockReader<'r> {
    fn new(input: &'r mut dyn BufRead) -> Self {
        BlockReader {
            input,
            line: 0,
            bytes: 0,
            overlong: None,
            failed: None,
            ended: false,
        }
    }

    /// The next block, filled into `bytes` (a buffer to reuse).
    fn next_piece(&mut self, mut bytes: Vec<u8>) -> io::Result<Piece> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        if let Some(line) = self.overlong.take() {
            self.skip_line()?;
            return Ok(Piece::Overlong(line));
        }
        if self.ended {
            return Ok(Piece::End);
        }
        bytes.clear();
        let first_line = self.line + 1;
        // Where the line not yet ended starts in `bytes`.
        let mut line_start = 0;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                // The whole lines read before go first; the failure comes next.
                Err(error) if line_start > 0 => {
                    bytes.truncate(line_start);
                    self.failed = Some(error);
                    break;
                }
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                self.ended = true;
                if bytes.len() > line_start {
                    self.line += 1;
                }
                break;
            }
            let mut take = available.len();
            let mut full = false;
            // Where, in `available`, the line not yet ended starts (if it starts there).
            let mut tail = None;
            for at in memchr::memchr_iter(b'\n', available) {
                self.line += 1;
                line_start = bytes.len() + at + 1;
                tail = Some(at + 1);
                if self.line + 1 - first_line == CHUNK || line_start >= BLOCK_BYTES {
                    take = at + 1;
                    full = true;
                    break;
                }
            }
            if !full {
                // No more of a line than can show it too long is kept (an input in memory
                // offers all it has at once).
                let (start, kept) = match tail {
                    Some(start) => (start, 0),
                    None => (0, bytes.len() - line_start),
                };
                take = take.min(start + (LINE_LIMIT + 1).saturating_sub(kept));
            }
            bytes.extend_from_slice(available.get(..take).unwrap_or_default());
            self.input.consume(take);
            self.bytes += take as u64;
            if full {
                break;
            }
            // Past the limit, the line is too long whatever follows: it is dropped here and
            // skipped by the next call.
            if bytes.len() - line_start > LINE_LIMIT {
                bytes.truncate(line_start);
                self.overlong = Some(self.line + 1);
                self.line += 1;
                break;
            }
        }
        if bytes.is_empty() {
            return self.next_piece(bytes);
        }
        Ok(Piece::Lines(LineBlock { first_line, bytes }))
    }

    /// Consumes the rest of a line, its `\n` included.
    fn skip_line(&mut self) -> io::Result<()> {
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                self.ended = true;
                return Ok(());
            }
            let (take, found) = match memchr::memchr(b'\n', available) {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            self.input.consume(take);
            self.bytes += take as u64;
            if found {
                return Ok(());
            }
        }
    }
}

/// A record of a [`LineBlock`]: its line and where its text is in the block's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LineSpan {
    /// Its physical line.
    pub line: usize,
    /// Where its bytes start and end (line end, a trailing `\r` and a first line's byte order
    /// mark left out).
    pub start: usize,
    /// See `start`.
    pub end: usize,
}

/// The records of a block: blank lines skipped, a trailing `\r` and the byte order mark of the
/// input's first line dropped. A record longer than [`MAX_RECORD_BYTES`], blank or not, is
/// still a span: see [`line_record`].
pub(super) fn split_lines(block: &LineBlock, spans: &mut Vec<LineSpan>) {
    spans.clear();
    let bytes = &block.bytes;
    let mut start = 0;
    let mut line = block.first_line;
    while start < bytes.len() {
        let rest = bytes.get(start..).unwrap_or_default();
        let length = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let mut text = start..start + length;
        if bytes.get(..text.end).is_some_and(|b| b.ends_with(b"\r")) && text.end > text.start {
            text.end -= 1;
        }
        if line == 1 && bytes.get(text.clone()).is_some_and(|b| b.starts_with(BOM)) {
            text.start += BOM.len();
        }
        let record = bytes.get(text.clone()).unwrap_or_default();
        // A record too long is one even if it is blank, as when it is dropped while read.
        if record.len() > MAX_RECORD_BYTES || !record.iter().all(u8::is_ascii_whitespace) {
            spans.push(LineSpan {
                line,
                start: text.start,
                end: text.end,
            });
        }
        start += length + 1;
        line += 1;
    }
}

/// The UTF-8 byte order mark, which a first line may start with.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// A line's record: its bytes, or the error record of a line that is too long. Whether they
/// are UTF-8 text is found when they are read (see [`crate::cases::parse_json_bytes`]).
pub(super) fn line_record(line: usize, bytes: &[u8]) -> Result<&[u8], RecordError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(overlong(line));
    }
    Ok(bytes)
}

/// The error record of a record over [`MAX_RECORD_BYTES`].
fn overlong(line: usize) -> RecordError {
    RecordError {
        line,
        id: None,
        kind: ErrorKind::ParseError,
        field: None,
        message: format!("the record is longer than {MAX_RECORD_BYTES} bytes"),
    }
}

/// A record's bytes as read, or the error record they make when over [`MAX_RECORD_BYTES`]
/// (`None`: they were dropped while reading). Whether they are UTF-8 is checked when the record
/// is decided, in parallel.
fn record_bytes(line: usize, bytes: Option<Vec<u8>>) -> RawRecord {
    match bytes {
        Some(bytes) => RawRecord::Bytes { line, bytes },
        None => RawRecord::Read(Err(overlong(line))),
    }
}

/// The error record of a record that is not UTF-8 text.
pub(super) fn not_utf8(line: usize, error: std::str::Utf8Error) -> RecordError {
    RecordError {
        line,
        id: None,
        kind: ErrorKind::ParseError,
        field: None,
        message: format!(
            "the record is not UTF-8 text (invalid byte at column {})",
            error.valid_up_to() + 1
        ),
    }
}

/// An element of a JSON array as a record, like a line of JSON Lines.
fn element_record(element: ArrayElement) -> RawRecord {
    if element.too_long {
        return record_bytes(element.line, None);
    }
    if element.bytes.is_empty() {
        return RawRecord::Read(Err(RecordError {
            line: element.line,
            id: None,
            kind: ErrorKind::ParseError,
            field: None,
            message: "an empty element: a comma with no record before it".into(),
        }));
    }
    record_bytes(element.line, Some(element.bytes))
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use proptest::prelude::*;

    use super::{BlockReader, CHUNK, LineBlock, MAX_RECORD_BYTES, Piece, line_record, split_lines};

    /// A record's line, and its text or error message.
    type Read = Vec<(usize, Result<String, String>)>;

    /// Each record of a JSON Lines input as the block reader and the threads deciding its
    /// blocks see it: its line, and its text or error message. `capacity` is the reading
    /// buffer's, so that lines and line ends fall across reads.
    fn read(input: &[u8], capacity: usize) -> (Read, Vec<usize>) {
        let mut buffered = BufReader::with_capacity(capacity, input);
        let mut reader = BlockReader::new(&mut buffered);
        let (mut records, mut block_lines, mut spans) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            match reader.next_piece(Vec::new()).expect("bytes read") {
                Piece::Lines(block) => {
                    block_lines.push(block.bytes.iter().filter(|&&b| b == b'\n').count());
                    split_lines(&block, &mut spans);
                    for span in &spans {
                        let text = line_record(span.line, &block.bytes[span.start..span.end]);
                        records.push((span.line, text.map(lossy).map_err(|e| e.message)));
                    }
                }
                Piece::Overlong(line) => records.push((line, Err(super::overlong(line).message))),
                Piece::End => return (records, block_lines),
            }
        }
    }

    fn lossy(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// The same by the rule, line by line.
    fn line_by_line(input: &[u8]) -> Read {
        let mut records = Vec::new();
        for (index, mut line) in input.split(|&b| b == b'\n').enumerate() {
            if let Some(rest) = line.strip_suffix(b"\r") {
                line = rest;
            }
            if index == 0 {
                line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
            }
            if line.len() <= MAX_RECORD_BYTES && line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text = line_record(index + 1, line)
                .map(lossy)
                .map_err(|e| e.message);
            records.push((index + 1, text));
        }
        records
    }

    fn overlong_as_read(records: Read) -> Read {
        records
            .into_iter()
            .map(|(line, text)| match text {
                Err(message) if message == super::overlong(line).message => {
                    (line, Err("overlong".into()))
                }
                other => (line, other),
            })
            .collect()
    }

    proptest! {
        #[test]
        fn blocks_split_into_the_records_of_a_line_by_line_reading(
            lines in proptest::collection::vec(
                prop_oneof![
                    Just(String::new()),
                    Just(" \t".to_string()),
                    Just("{\"id\":\"a\"}".to_string()),
                    Just("{\"id\":\"b\"}\r".to_string()),
                    Just("\u{feff}{}".to_string()),
                    Just("\r".to_string()),
                    "[a-z{}\":é]{1,40}",
                ],
                0..60,
            ),
            last_ended in any::<bool>(),
            capacity in 1usize..64,
        ) {
            let mut input = lines.join("\n").into_bytes();
            if last_ended && !input.is_empty() {
                input.push(b'\n');
            }
            prop_assert_eq!(read(&input, capacity).0, line_by_line(&input));
        }
    }

    #[test]
    fn a_block_holds_at_most_a_chunk_of_lines() {
        let input = "{}\n".repeat(CHUNK * 2 + 5);
        let (records, blocks) = read(input.as_bytes(), 1 << 16);
        assert_eq!(records.len(), CHUNK * 2 + 5);
        assert_eq!(blocks, [CHUNK, CHUNK, 5]);
    }

    #[test]
    fn a_line_too_long_is_an_error_record_in_its_place_and_the_lines_after_it_count_on() {
        let long = "x".repeat(MAX_RECORD_BYTES + 1);
        let limit = "y".repeat(MAX_RECORD_BYTES);
        for (input, overlong) in [
            (format!("{{}}\n{long}\n{{}}\n"), [false, true, false]),
            (format!("{{}}\n{long}\r\n{{}}"), [false, true, false]),
            (format!("{{}}\n{limit}\r\n{{}}\n"), [false, false, false]),
            (format!("{long}{long}\n{{}}\n{limit}"), [true, false, false]),
            // Measured without a first line's byte order mark; blank, still too long.
            (
                format!("\u{feff}{limit}\n{{}}\n{long}"),
                [false, false, true],
            ),
            (
                format!("{}\n{{}}\n{{}}", " ".repeat(MAX_RECORD_BYTES + 5)),
                [true, false, false],
            ),
        ] {
            for capacity in [7, 1 << 16, 4 << 20] {
                // Caught while reading or when split, the error is the same.
                let records = overlong_as_read(read(input.as_bytes(), capacity).0);
                let lines: Vec<usize> = records.iter().map(|(line, _)| *line).collect();
                assert_eq!(lines, [1, 2, 3], "{capacity}");
                let found: Vec<bool> = records
                    .iter()
                    .map(|(_, text)| text.as_ref().is_err_and(|e| e == "overlong"))
                    .collect();
                assert_eq!(found, overlong, "{capacity}");
                assert_eq!(records, overlong_as_read(line_by_line(input.as_bytes())));
            }
        }
    }

    #[test]
    fn only_the_first_line_loses_a_byte_order_mark() {
        let block = LineBlock {
            first_line: 1,
            bytes: "\u{feff}{}\n\u{feff}{}\n".into(),
        };
        let mut spans = Vec::new();
        split_lines(&block, &mut spans);
        let texts: Vec<&[u8]> = spans.iter().map(|s| &block.bytes[s.start..s.end]).collect();
        assert_eq!(texts, [b"{}".as_slice(), "\u{feff}{}".as_bytes()]);
    }
}
