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
            let mut reader = LineReader::new(input);
            loop {
                let mut chunk = run.chunk_buffer();
                while chunk.len() < CHUNK {
                    match reader.next_record() {
                        Ok(Some(raw)) => chunk.push(raw),
                        Ok(None) => break,
                        Err(error) => {
                            run.push_chunk(chunk, sink)?;
                            return Err(InputError::Read(error));
                        }
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
            let mut buffer = Vec::with_capacity(512);
            let mut too_long = false;
            let mut ended = false;
            loop {
                let available = self.input.fill_buf()?;
                if available.is_empty() {
                    ended = buffer.is_empty() && !too_long;
                    break;
                }
                let (take, found) = match memchr::memchr(b'\n', available) {
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
                return Ok(Some(record_bytes(line, None)));
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
            return Ok(Some(record_bytes(line, Some(buffer))));
        }
    }
}

/// A record's bytes as read, or the error record they make when over [`MAX_RECORD_BYTES`]
/// (`None`: they were dropped while reading). Whether they are UTF-8 is checked when the record
/// is decided, in parallel.
fn record_bytes(line: usize, bytes: Option<Vec<u8>>) -> RawRecord {
    match bytes {
        Some(bytes) => RawRecord::Bytes { line, bytes },
        None => RawRecord::Read(Err(RecordError {
            line,
            id: None,
            kind: ErrorKind::ParseError,
            field: None,
            message: format!("the record is longer than {MAX_RECORD_BYTES} bytes"),
        })),
    }
}

/// The error record of a record that is not UTF-8 text.
pub(super) fn not_utf8(line: usize, error: &std::string::FromUtf8Error) -> RecordError {
    RecordError {
        line,
        id: None,
        kind: ErrorKind::ParseError,
        field: None,
        message: format!(
            "the record is not UTF-8 text (invalid byte at column {})",
            error.utf8_error().valid_up_to() + 1
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
