//! Reading a batch: JSON Lines, a JSON array or CSV, a chunk of records at a time.

use std::io::{self, BufRead, Read};
use std::path::Path;

use super::{BatchRun, MAX_RECORD_BYTES, RawRecord, RecordSink};
use crate::cases::{CsvReader, ErrorKind, JsonArraySplitter, RecordError};

/// How many records are decided together (in parallel) before they are placed in order.
const CHUNK: usize = 4096;

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
            let shape = run.engine().shape();
            let columns = CsvReader::new(&header, shape)
                .map_err(|message| InputError::Format { line: 1, message })?;
            let id_slot = run.engine().policy.id_slot;
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
            let mut buffer = Vec::with_capacity(512);
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
