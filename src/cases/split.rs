//! Splitting a JSON array of records into the bytes of each record, with the line it starts on,
//! so that each element is read (and fails) on its own like a JSON Lines record. The array is
//! read as a stream: memory holds one element at a time, never the whole file.

use std::io::{self, BufRead};

/// The array itself is malformed: no record can be located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    /// The line where the problem is.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Why no further element could be read.
#[derive(Debug)]
pub enum SplitFailure {
    /// The system failed to read.
    Io(io::Error),
    /// The array is malformed.
    Malformed(SplitError),
}

impl From<io::Error> for SplitFailure {
    fn from(error: io::Error) -> Self {
        SplitFailure::Io(error)
    }
}

/// One element of the array, as bytes not yet known to be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayElement {
    /// The line the element starts on.
    pub line: usize,
    /// Its text without the whitespace around it; empty when it ran over the size limit.
    pub bytes: Vec<u8>,
    /// Whether it ran over the size limit (its bytes were dropped, not kept).
    pub too_long: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    BeforeArray,
    InArray,
    Finished,
}

/// Walks a JSON text that holds one array, one element at a time.
pub struct JsonArrayReader<'r> {
    input: &'r mut dyn BufRead,
    line: usize,
    bytes_read: u64,
    max_element_bytes: usize,
    state: State,
}

impl<'r> JsonArrayReader<'r> {
    /// A reader of `input`; an element longer than `max_element_bytes` is reported as too long.
    pub fn new(input: &'r mut dyn BufRead, max_element_bytes: usize) -> Self {
        JsonArrayReader {
            input,
            line: 1,
            bytes_read: 0,
            max_element_bytes,
            state: State::BeforeArray,
        }
    }

    /// The bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next element; `Ok(None)` after the closing `]` (or for an input of only whitespace).
    /// After an error, the reader is finished.
    pub fn next_element(&mut self) -> Result<Option<ArrayElement>, SplitFailure> {
        let result = self.step();
        if result.is_err() {
            self.state = State::Finished;
        }
        result
    }

    fn step(&mut self) -> Result<Option<ArrayElement>, SplitFailure> {
        match self.state {
            State::Finished => return Ok(None),
            State::BeforeArray => {
                self.skip_byte_order_mark()?;
                self.skip_whitespace()?;
                match self.peek()? {
                    Some(b'[') => {
                        self.advance(1);
                        self.state = State::InArray;
                    }
                    None => {
                        self.state = State::Finished;
                        return Ok(None);
                    }
                    Some(_) => return Err(self.malformed(
                        "a .json file must hold one array of records `[ {…}, {…} ]`; use .jsonl for one record per line",
                    )),
                }
            }
            State::InArray => {}
        }
        self.skip_whitespace()?;
        match self.peek()? {
            Some(b']') => {
                self.advance(1);
                self.state = State::Finished;
                self.skip_whitespace()?;
                if self.peek()?.is_some() {
                    return Err(self.malformed("text after the closing `]` of the array"));
                }
                Ok(None)
            }
            None => Err(self.malformed("the array is not closed with `]` (the file is truncated)")),
            Some(_) => self.element().map(Some),
        }
    }

    fn malformed(&self, message: &str) -> SplitFailure {
        SplitFailure::Malformed(SplitError {
            line: self.line,
            message: message.into(),
        })
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.input.fill_buf()?.first().copied())
    }

    fn advance(&mut self, bytes: usize) {
        self.input.consume(bytes);
        self.bytes_read += bytes as u64;
    }

    /// Skips a byte order mark, byte by byte: a pipe may deliver it in parts.
    fn skip_byte_order_mark(&mut self) -> io::Result<()> {
        for &byte in "\u{feff}".as_bytes() {
            if self.peek()? != Some(byte) {
                // Bytes of a mark cut short start no JSON either: the array is refused next.
                return Ok(());
            }
            self.advance(1);
        }
        Ok(())
    }

    fn skip_whitespace(&mut self) -> io::Result<()> {
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                return Ok(());
            }
            let mut taken = 0;
            let mut stopped = false;
            for &byte in available {
                match byte {
                    b'\n' => self.line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    _ => {
                        stopped = true;
                        break;
                    }
                }
                taken += 1;
            }
            self.advance(taken);
            if stopped {
                return Ok(());
            }
        }
    }

    /// Reads up to the `,` or `]` that ends the element at its top level (consuming a `,`, not
    /// the `]`). A stray `}` at the top level stays in the element, which then fails to read as a
    /// record: every call consumes at least one byte, so the reader always ends.
    fn element(&mut self) -> Result<ArrayElement, SplitFailure> {
        let line = self.line;
        let mut bytes = Vec::new();
        let mut too_long = false;
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                // Truncated: the element so far is yielded, and the next call says the array
                // was never closed.
                break;
            }
            let mut end = None;
            for (index, &byte) in available.iter().enumerate() {
                if byte == b'\n' {
                    self.line += 1;
                }
                if in_string {
                    match byte {
                        _ if escaped => escaped = false,
                        b'\\' => escaped = true,
                        b'"' => in_string = false,
                        _ => {}
                    }
                } else {
                    match byte {
                        b'"' => in_string = true,
                        b'[' | b'{' => depth += 1,
                        b',' | b']' if depth == 0 => {
                            end = Some((index, byte));
                            break;
                        }
                        b']' | b'}' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
            }
            let take = end.map_or(available.len(), |(index, _)| index);
            if !too_long {
                if bytes.len() + take > self.max_element_bytes {
                    too_long = true;
                    bytes = Vec::new();
                } else {
                    bytes.extend_from_slice(available.get(..take).unwrap_or(&[]));
                }
            }
            match end {
                Some((_, b',')) => {
                    self.advance(take + 1);
                    break;
                }
                Some(_) => {
                    self.advance(take);
                    break;
                }
                None => self.advance(take),
            }
        }
        while bytes.last().is_some_and(u8::is_ascii_whitespace) {
            bytes.pop();
        }
        Ok(ArrayElement {
            line,
            bytes,
            too_long,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element, then the error if there was one.
    fn split(text: &str) -> (Vec<(usize, String)>, Option<SplitError>) {
        let mut input = text.as_bytes();
        let mut reader = JsonArrayReader::new(&mut input, 1000);
        let mut elements = Vec::new();
        loop {
            match reader.next_element() {
                Ok(Some(element)) => elements.push((
                    element.line,
                    String::from_utf8_lossy(&element.bytes).into_owned(),
                )),
                Ok(None) => return (elements, None),
                Err(SplitFailure::Malformed(error)) => return (elements, Some(error)),
                Err(SplitFailure::Io(error)) => panic!("reading from memory failed: {error}"),
            }
        }
    }

    fn owned(parts: &[(usize, &str)]) -> Vec<(usize, String)> {
        parts.iter().map(|(l, t)| (*l, t.to_string())).collect()
    }

    #[test]
    fn splits_elements_with_their_lines() {
        let (parts, error) = split("\u{feff}[\n {\"a\": \"x,]\\\"}\"},\n {\"b\": [1, 2]}\n]\n");
        assert_eq!(
            parts,
            owned(&[(2, "{\"a\": \"x,]\\\"}\"}"), (3, "{\"b\": [1, 2]}")])
        );
        assert_eq!(error, None);
    }

    #[test]
    fn a_truncated_array_yields_the_partial_element_then_an_error() {
        let (parts, error) = split("[{\"a\": 1}, {\"b\":");
        assert_eq!(parts, owned(&[(1, "{\"a\": 1}"), (1, "{\"b\":")]));
        assert!(error.is_some_and(|e| e.message.contains("not closed")));
    }

    #[test]
    fn an_array_truncated_between_elements_is_an_error() {
        for (text, line) in [
            ("[{\"a\": 1}", 1),
            ("[{\"a\": 1},", 1),
            ("[{\"a\": 1},\n", 1),
            ("[\n{\"a\": 1}\n", 2),
        ] {
            let (parts, error) = split(text);
            assert_eq!(parts, owned(&[(line, "{\"a\": 1}")]), "{text:?}");
            assert!(
                error
                    .as_ref()
                    .is_some_and(|e| e.message.contains("not closed")),
                "{text:?}: {error:?}"
            );
        }
    }

    #[test]
    fn stray_closing_brackets_stay_in_their_element_and_the_reader_ends() {
        // A `}` with nothing open once made the reader yield empty elements forever.
        assert_eq!(split("[}]"), (owned(&[(1, "}")]), None));
        assert_eq!(
            split("[{\"a\": 1}}, {}]"),
            (owned(&[(1, "{\"a\": 1}}"), (1, "{}")]), None)
        );
        assert_eq!(split("[,]"), (owned(&[(1, "")]), None));
        let (parts, error) = split("[}}}}");
        assert_eq!(parts, owned(&[(1, "}}}}")]));
        assert!(error.is_some());
    }

    #[test]
    fn an_element_over_the_limit_is_dropped_and_flagged() {
        let long = format!("[\"{}\", 1]", "x".repeat(5000));
        let mut input = long.as_bytes();
        let mut reader = JsonArrayReader::new(&mut input, 1000);
        let first = reader.next_element().ok().flatten();
        assert!(
            first
                .as_ref()
                .is_some_and(|e| e.too_long && e.bytes.is_empty())
        );
        let second = reader.next_element().ok().flatten();
        assert_eq!(second.map(|e| e.bytes), Some(b"1".to_vec()));
        assert!(matches!(reader.next_element(), Ok(None)));
    }

    #[test]
    fn a_byte_order_mark_delivered_a_byte_at_a_time_is_skipped() {
        let text = "\u{feff}[{\"a\": 1}]";
        let mut input = std::io::BufReader::with_capacity(1, text.as_bytes());
        let mut reader = JsonArrayReader::new(&mut input, 1000);
        let first = reader.next_element().ok().flatten().map(|e| e.bytes);
        assert_eq!(first, Some(b"{\"a\": 1}".to_vec()));
        assert!(matches!(reader.next_element(), Ok(None)));
    }

    #[test]
    fn not_an_array_is_an_error_and_nothing_is_no_records() {
        assert!(split("{}").1.is_some());
        assert_eq!(split(""), (Vec::new(), None));
        assert_eq!(split(" \n "), (Vec::new(), None));
        assert!(
            split("[1] 2")
                .1
                .is_some_and(|e| e.message.contains("after the closing"))
        );
    }
}
