//! Splitting a JSON array of records into the text of each record, with the line it starts on,
//! so that each element is read (and fails) on its own like a JSON Lines record.

/// The array itself is malformed: no record can be located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    /// The line where the problem is.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Walks a JSON text that holds one array, yielding `(line, element text)`.
pub struct JsonArraySplitter<'t> {
    text: &'t str,
    position: usize,
    line: usize,
    finished: bool,
}

impl<'t> JsonArraySplitter<'t> {
    /// Starts at the opening bracket; an error if the text is not an array.
    pub fn new(text: &'t str) -> Result<Self, SplitError> {
        let mut splitter = JsonArraySplitter {
            text,
            position: 0,
            line: 1,
            finished: false,
        };
        splitter.skip_whitespace();
        match text.as_bytes().get(splitter.position) {
            Some(b'[') => {
                splitter.position += 1;
                Ok(splitter)
            }
            None => Ok(JsonArraySplitter { finished: true, ..splitter }),
            Some(_) => Err(SplitError {
                line: splitter.line,
                message: "a .json file must hold one array of records `[ {…}, {…} ]`; use .jsonl for one record per line".into(),
            }),
        }
    }

    fn skip_whitespace(&mut self) {
        while let Some(&b) = self.text.as_bytes().get(self.position) {
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ if self
                    .text
                    .get(self.position..)
                    .is_some_and(|r| r.starts_with('\u{feff}')) =>
                {
                    self.position += '\u{feff}'.len_utf8();
                    continue;
                }
                _ => break,
            }
            self.position += 1;
        }
    }
}

impl<'t> Iterator for JsonArraySplitter<'t> {
    type Item = Result<(usize, &'t str), SplitError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        self.skip_whitespace();
        let bytes = self.text.as_bytes();
        match bytes.get(self.position) {
            Some(b']') => {
                self.finished = true;
                self.position += 1;
                self.skip_whitespace();
                if self.position < bytes.len() {
                    return Some(Err(SplitError {
                        line: self.line,
                        message: "text after the closing `]` of the array".into(),
                    }));
                }
                return None;
            }
            None => {
                self.finished = true;
                return Some(Err(SplitError {
                    line: self.line,
                    message: "the array is not closed with `]` (the file is truncated)".into(),
                }));
            }
            _ => {}
        }
        let start = self.position;
        let start_line = self.line;
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        while let Some(&b) = bytes.get(self.position) {
            if b == b'\n' {
                self.line += 1;
            }
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' if depth == 0 => break,
                    b']' | b'}' => depth -= 1,
                    b',' if depth == 0 => break,
                    _ => {}
                }
            }
            self.position += 1;
        }
        let element = self.text.get(start..self.position).unwrap_or("").trim_end();
        if bytes.get(self.position) == Some(&b',') {
            self.position += 1;
        }
        // At the end of the text the array was never closed: the next call says so.
        Some(Ok((start_line, element)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_elements_with_their_lines() {
        let text = "[\n {\"a\": \"x,]\"},\n {\"b\": [1, 2]}\n]\n";
        let parts: Vec<_> = JsonArraySplitter::new(text).into_iter().flatten().collect();
        assert_eq!(
            parts,
            vec![Ok((2, "{\"a\": \"x,]\"}")), Ok((3, "{\"b\": [1, 2]}"))]
        );
    }

    #[test]
    fn a_truncated_array_yields_the_partial_element_then_an_error() {
        let parts: Vec<_> = JsonArraySplitter::new("[{\"a\": 1}, {\"b\":")
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.get(1), Some(&Ok((1, "{\"b\":"))));
        assert!(matches!(parts.get(2), Some(Err(e)) if e.message.contains("not closed")));
    }

    #[test]
    fn an_array_truncated_between_elements_is_an_error() {
        for (text, line) in [
            ("[{\"a\": 1}", 1),
            ("[{\"a\": 1},", 1),
            ("[{\"a\": 1},\n", 1),
            ("[\n{\"a\": 1}\n", 2),
        ] {
            let parts: Vec<_> = JsonArraySplitter::new(text).into_iter().flatten().collect();
            assert_eq!(parts.first(), Some(&Ok((line, "{\"a\": 1}"))), "{text:?}");
            assert!(
                matches!(parts.last(), Some(Err(e)) if e.message.contains("not closed")),
                "{text:?}: {parts:?}"
            );
        }
    }

    #[test]
    fn not_an_array_is_an_error() {
        assert!(JsonArraySplitter::new("{}").is_err());
        assert_eq!(JsonArraySplitter::new("").map(|s| s.count()).ok(), Some(0));
    }
}
