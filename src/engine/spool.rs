//! The spool: the records that wait until caps are allocated, in input order, in a temporary
//! file (in memory up to a few MiB). A decision is kept in parts ([`DecisionParts`]: indices
//! and the few bytes that vary, about 20 bytes for a Storskog case) and rendered only when it
//! is written; other records (errors) are kept rendered.
//!
//! Spooling rendered decisions (about 600 bytes each) cost a quarter of a run in kernel
//! copies; LZ4-compressing them still cost a fifth, in the compressor and its copies.
//!
//! An entry is its length (4 bytes), a tag byte, then LEB128 numbers and length-prefixed bytes:
//! - `RENDERED`: the tally, then the bytes;
//! - `DECIDED` / `WAITING`: the line, the id, the version, rule and both outcomes, the warnings,
//!   then the attributes of both endings and the trace (each possibly empty).

use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, Write};
use std::ops::Range;

use tempfile::SpooledTempFile;

use super::Tally;
use crate::cases::ErrorKind;
use crate::report::DecisionParts;

/// Where the spool stays in memory before it goes to disk.
const IN_MEMORY: usize = 1024 * 1024;

const RENDERED: u8 = 0;
const DECIDED: u8 = 1;
const WAITING: u8 = 2;

/// A spool being written.
pub(super) struct Spool {
    file: BufWriter<SpooledTempFile>,
    /// A rendered record's entry, made here before it is written.
    entry: Vec<u8>,
}

/// What an entry of the spool holds (its bytes are read into the buffers given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    /// A rendered record, with its tally.
    Rendered(Tally),
    /// A decision in parts; `waiting` when it waited for its cap.
    Decision {
        /// The record's line.
        line: usize,
        /// It waited for a place of its cap.
        waiting: bool,
    },
}

impl Spool {
    pub(super) fn new() -> Spool {
        Spool {
            file: BufWriter::with_capacity(1 << 16, SpooledTempFile::new(IN_MEMORY)),
            entry: Vec::new(),
        }
    }

    /// Keeps an entry made by [`encode_decision`].
    pub(super) fn push_entry(&mut self, entry: &[u8]) -> io::Result<()> {
        self.file.write_all(entry)
    }

    /// Keeps a rendered record.
    pub(super) fn push_rendered(&mut self, tally: Tally, bytes: &[u8]) -> io::Result<()> {
        let mut entry = std::mem::take(&mut self.entry);
        entry.clear();
        let pushed = encode_rendered(&mut entry, tally, bytes).map(|_| ());
        let written = pushed.and_then(|()| self.file.write_all(&entry));
        self.entry = entry;
        written
    }

    /// The spool written, ready to be read from its start.
    pub(super) fn finish(self) -> io::Result<SpoolReader> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        Ok(SpoolReader {
            file: BufReader::with_capacity(1 << 16, file),
        })
    }
}

/// A new entry at the end of `out`, where it starts: room for its length, then its tag.
fn start_entry(out: &mut Vec<u8>, tag: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(tag);
    start
}

/// The entry from `start` to the end of `out`, with its length written in front; where it is.
/// An entry too long for its length is taken back out.
fn finish_entry(out: &mut Vec<u8>, start: usize) -> io::Result<Range<usize>> {
    let length = out.len() - start - 4;
    let Ok(length) = u32::try_from(length) else {
        out.truncate(start);
        return Err(io::Error::other(format!(
            "a record of {length} bytes is too long to be kept until caps are allocated"
        )));
    };
    if let Some(prefix) = out.get_mut(start..).and_then(|e| e.first_chunk_mut::<4>()) {
        *prefix = length.to_le_bytes();
    }
    Ok(start..out.len())
}

/// A rendered record as an entry of the spool, its length first, at the end of `out`.
pub(super) fn encode_rendered(
    out: &mut Vec<u8>,
    tally: Tally,
    bytes: &[u8],
) -> io::Result<Range<usize>> {
    let start = start_entry(out, RENDERED);
    match tally {
        Tally::Decided {
            version,
            outcome,
            warned,
        } => {
            for number in [0, version, outcome, usize::from(warned)] {
                put_number(out, number as u64);
            }
        }
        Tally::Error(kind) => {
            put_number(out, 1);
            put_number(out, kind.index() as u64);
        }
    }
    put_bytes(out, bytes);
    finish_entry(out, start)
}

/// A decision in parts as an entry of the spool, its length first: made by the thread that
/// decided it, so that the thread placing records in order only copies it.
pub(super) fn encode_decision(
    out: &mut Vec<u8>,
    line: usize,
    id: &str,
    parts: &DecisionParts,
    waiting: bool,
) -> io::Result<Range<usize>> {
    let start = start_entry(out, if waiting { WAITING } else { DECIDED });
    put_number(out, line as u64);
    put_bytes(out, id.as_bytes());
    for number in [
        parts.version,
        parts.rule,
        parts.outcome,
        parts.overflow_outcome,
        parts.warnings.len(),
    ] {
        put_number(out, number as u64);
    }
    for warning in &parts.warnings {
        put_number(out, u64::from(*warning));
    }
    put_bytes(out, &parts.attributes);
    put_bytes(out, &parts.overflow_attributes);
    put_bytes(out, &parts.trace);
    finish_entry(out, start)
}

/// A spool read back, entry by entry.
pub(super) struct SpoolReader {
    file: BufReader<SpooledTempFile>,
}

impl SpoolReader {
    /// The next entry: a rendered record's bytes go to `bytes`; a decision's id to `id` and its
    /// parts to `parts`. `None` at the end.
    #[cfg(test)]
    pub(super) fn next(
        &mut self,
        bytes: &mut Vec<u8>,
        id: &mut String,
        parts: &mut DecisionParts,
    ) -> io::Result<Option<Entry>> {
        let mut entry = Vec::new();
        match self.next_raw(&mut entry)? {
            Some(_) => decode(entry.get(4..).unwrap_or_default(), bytes, id, parts).map(Some),
            None => Ok(None),
        }
    }

    /// Appends whole entries to `block`, each with its length in front, until `entries` holds
    /// `limit` of them: for each, where it ends in `block` and whether it waited for its cap.
    /// False once the spool is read to its end. The entries in the reader's buffer are walked
    /// and copied at once; only one cut by the buffer's end is read on its own.
    pub(super) fn next_entries(
        &mut self,
        block: &mut Vec<u8>,
        entries: &mut Vec<(usize, bool)>,
        limit: usize,
    ) -> io::Result<bool> {
        while entries.len() < limit {
            let available = self.file.fill_buf()?;
            let base = block.len();
            let mut walked = 0;
            while entries.len() < limit {
                let Some(length) = available.get(walked..).and_then(|a| a.first_chunk::<4>())
                else {
                    break;
                };
                let end = walked + 4 + u32::from_le_bytes(*length) as usize;
                if end > available.len() {
                    break;
                }
                entries.push((base + end, available.get(walked + 4) == Some(&WAITING)));
                walked = end;
            }
            if walked > 0 {
                block.extend_from_slice(available.get(..walked).unwrap_or_default());
                self.file.consume(walked);
                continue;
            }
            match self.next_raw(block)? {
                Some(waiting) => entries.push((block.len(), waiting)),
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Appends the next entry to `block`, its length in front; whether it waited for its cap,
    /// or `None` at the end.
    fn next_raw(&mut self, block: &mut Vec<u8>) -> io::Result<Option<bool>> {
        let mut length = [0u8; 4];
        match self.file.read_exact(&mut length) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        block.extend_from_slice(&length);
        let length = u32::from_le_bytes(length) as usize;
        let start = block.len();
        // Entries were written by this run: room for one is made, then filled (a
        // `take(..).read_to_end` for each cost more than the reading).
        block.resize(start + length, 0);
        self.file
            .read_exact(block.get_mut(start..).unwrap_or_default())?;
        Ok(Some(block.get(start) == Some(&WAITING)))
    }
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the spool is corrupt ({what})"),
    )
}

/// Reads an entry from its bytes: a rendered record's bytes go to `bytes`; a decision's id to `id`
/// and its parts to `parts`.
pub(super) fn decode(
    entry: &[u8],
    bytes: &mut Vec<u8>,
    id: &mut String,
    parts: &mut DecisionParts,
) -> io::Result<Entry> {
    let mut input = Cursor(entry);
    let tag = input.byte()?;
    if tag == RENDERED {
        let tally = match input.number()? {
            0 => Tally::Decided {
                version: input.index()?,
                outcome: input.index()?,
                warned: input.number()? != 0,
            },
            _ => Tally::Error(ErrorKind::from_index(input.index()?)),
        };
        bytes.clear();
        bytes.extend_from_slice(input.bytes()?);
        return Ok(Entry::Rendered(tally));
    }
    if tag != DECIDED && tag != WAITING {
        return Err(corrupt("an unknown tag"));
    }
    let line = input.index()?;
    id.clear();
    id.push_str(std::str::from_utf8(input.bytes()?).map_err(|_| corrupt("an id not UTF-8"))?);
    parts.version = input.index()?;
    parts.rule = input.index()?;
    parts.outcome = input.index()?;
    parts.overflow_outcome = input.index()?;
    let warnings = input.index()?;
    parts.warnings.clear();
    for _ in 0..warnings {
        let warning = u16::try_from(input.number()?).map_err(|_| corrupt("a warning"))?;
        parts.warnings.push(warning);
    }
    for field in [
        &mut parts.attributes,
        &mut parts.overflow_attributes,
        &mut parts.trace,
    ] {
        field.clear();
        field.extend_from_slice(input.bytes()?);
    }
    Ok(Entry::Decision {
        line,
        waiting: tag == WAITING,
    })
}

/// An unsigned LEB128 number: 7 bits a byte, low bits first.
fn put_number(out: &mut Vec<u8>, mut number: u64) {
    while number >= 0x80 {
        out.push((number & 0x7f) as u8 | 0x80);
        number >>= 7;
    }
    out.push(number as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_number(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads an entry's fields from its bytes.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> io::Result<u8> {
        let (&first, rest) = self
            .0
            .split_first()
            .ok_or_else(|| corrupt("a short entry"))?;
        self.0 = rest;
        Ok(first)
    }

    fn number(&mut self) -> io::Result<u64> {
        let mut number = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            number |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(number);
            }
        }
        Err(corrupt("a number of more than 64 bits"))
    }

    fn index(&mut self) -> io::Result<usize> {
        usize::try_from(self.number()?).map_err(|_| corrupt("a number too large"))
    }

    fn bytes(&mut self) -> io::Result<&'a [u8]> {
        let length = self.index()?;
        if length > self.0.len() {
            return Err(corrupt("a short entry"));
        }
        let (bytes, rest) = self.0.split_at(length);
        self.0 = rest;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::{Entry, Spool};
    use crate::cases::ErrorKind;
    use crate::engine::Tally;
    use crate::report::DecisionParts;

    type Written = Vec<(Entry, Vec<u8>, String, Option<DecisionParts>)>;

    /// A spool of entries of every kind, and what they hold.
    fn written_spool() -> (Spool, Written) {
        let mut spool = Spool::new();
        let mut written = Vec::new();
        // Enough entries to leave memory for the disk, numbers of every width.
        for i in 0..300_000usize {
            if i % 7 == 0 {
                let tally = if i % 2 == 0 {
                    Tally::Error(ErrorKind::InvalidDate)
                } else {
                    Tally::Decided {
                        version: i % 3,
                        outcome: i,
                        warned: true,
                    }
                };
                let bytes = format!("{{\"line\":{i}}}").into_bytes();
                let pushed = spool.push_rendered(tally, &bytes);
                assert!(pushed.is_ok());
                written.push((Entry::Rendered(tally), bytes, String::new(), None));
                continue;
            }
            let parts = DecisionParts {
                version: i % 3,
                rule: i % 300,
                outcome: i % 5,
                overflow_outcome: usize::MAX >> (i % 64),
                warnings: (0..(i % 3) as u16).map(|w| w * 40_000).collect(),
                attributes: "a".repeat(i % 200).into_bytes(),
                overflow_attributes: Vec::new(),
                trace: "t".repeat(i % 5).into_bytes(),
            };
            let id = format!("SK-{i}-é");
            let waiting = i % 2 == 0;
            let line = i * 1_000_003;
            // Entries are made in a buffer of many (a group's bytes).
            let mut out = b"before".to_vec();
            let pushed = super::encode_decision(&mut out, line, &id, &parts, waiting)
                .and_then(|at| spool.push_entry(out.get(at).unwrap_or_default()));
            assert!(pushed.is_ok());
            written.push((
                Entry::Decision { line, waiting },
                Vec::new(),
                id,
                Some(parts),
            ));
        }
        (spool, written)
    }

    /// What an entry read back holds against what was written: a rendered record's bytes, or
    /// a decision's id and parts.
    fn holds_as_written(
        bytes: &[u8],
        id: &str,
        parts: &DecisionParts,
        (expected_bytes, expected_id, expected_parts): (Vec<u8>, String, Option<DecisionParts>),
    ) {
        match expected_parts {
            None => assert!(bytes == expected_bytes),
            Some(expected) => {
                assert_eq!(id, expected_id);
                assert_eq!(parts, &expected);
            }
        }
    }

    #[test]
    fn the_spool_gives_back_what_was_written() {
        let (spool, written) = written_spool();
        let Ok(mut reader) = spool.finish() else {
            panic!("the spool cannot be read back");
        };
        let (mut bytes, mut id, mut parts) = (Vec::new(), String::new(), DecisionParts::default());
        for (entry, expected_bytes, expected_id, expected_parts) in written {
            let read = reader.next(&mut bytes, &mut id, &mut parts);
            assert!(
                matches!(read, Ok(Some(e)) if e == entry),
                "{read:?} for {entry:?}"
            );
            holds_as_written(
                &bytes,
                &id,
                &parts,
                (expected_bytes, expected_id, expected_parts),
            );
        }
        assert!(matches!(
            reader.next(&mut bytes, &mut id, &mut parts),
            Ok(None)
        ));
    }

    #[test]
    fn entries_read_in_blocks_are_the_entries_written() {
        let (spool, written) = written_spool();
        let Ok(mut reader) = spool.finish() else {
            panic!("the spool cannot be read back");
        };
        let (mut bytes, mut id, mut parts) = (Vec::new(), String::new(), DecisionParts::default());
        let mut expected = written.into_iter();
        // Limits that cut the reader's buffer anywhere, one entry at a time included.
        for limit in [1, 7, 1000, 4096].into_iter().cycle() {
            let (mut block, mut entries) = (Vec::new(), Vec::new());
            let more = reader.next_entries(&mut block, &mut entries, limit);
            let Ok(more) = more else {
                panic!("reading entries failed: {more:?}");
            };
            assert!(
                entries.len() == limit || !more,
                "{} of {limit}",
                entries.len()
            );
            let mut start = 0;
            for (end, waiting) in entries {
                let Some((entry, expected_bytes, expected_id, expected_parts)) = expected.next()
                else {
                    panic!("more entries read than written");
                };
                let Some(read) = block.get(start + 4..end) else {
                    panic!("an entry out of its block");
                };
                start = end;
                let decoded = super::decode(read, &mut bytes, &mut id, &mut parts);
                assert!(
                    matches!(decoded, Ok(e) if e == entry),
                    "{decoded:?} for {entry:?}"
                );
                assert_eq!(
                    waiting,
                    matches!(entry, Entry::Decision { waiting: true, .. })
                );
                holds_as_written(
                    &bytes,
                    &id,
                    &parts,
                    (expected_bytes, expected_id, expected_parts),
                );
            }
            assert_eq!(start, block.len());
            if !more {
                break;
            }
        }
        assert!(expected.next().is_none(), "entries written were not read");
    }
}
