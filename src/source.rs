//! Source files and byte spans.
//!
//! Every stage points back into the text a person wrote: a policy file or a case batch. A
//! [`SourceFile`] is that text with its display name; a [`Span`] is a byte range inside it.

use std::sync::Arc;

/// A named text: a policy file, a case batch, or a snippet in a test.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown in diagnostics, usually the path as the user gave it.
    pub name: Arc<str>,
    /// The whole text.
    pub text: Arc<str>,
    /// Lines before the text in its file: the text is an excerpt starting at line
    /// `first_line + 1` (a record of a case batch).
    pub first_line: usize,
}

impl SourceFile {
    /// A source from a name and its text.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
            first_line: 0,
        }
    }

    /// An excerpt of a larger file that starts on line `line` (from 1).
    pub fn excerpt(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>, line: usize) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
            first_line: line.saturating_sub(1),
        }
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1 + self.first_line;
        (line, self.column(offset))
    }

    /// The 1-based column of a byte offset, in characters, as an editor shows it: a byte-order
    /// mark at the start of the file takes no column.
    fn column(&self, offset: usize) -> usize {
        let before = self.text.get(..offset.min(self.text.len())).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.get(line_start..).unwrap_or("");
        let line = match line_start {
            0 => line.strip_prefix('\u{feff}').unwrap_or(line),
            _ => line,
        };
        line.chars().count() + 1
    }

    /// The text a span covers, or "" if the span is not inside this file.
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }
}

impl miette::SourceCode for SourceFile {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        // Without context the column is where the span starts (the one the header shows): miette
        // counts it in bytes, so count it in characters, as the JSON format does.
        let column = match context_lines_before {
            0 => self.column(span.offset()) - 1,
            _ => inner.column(),
        };
        // miette counts lines from the start of the text (it merges two labels' excerpts by
        // comparing line numbers with these counts): from the start of the file, too.
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count() + self.first_line,
        )))
    }
}

/// A byte range in a source file.
///
/// Two spans always compare equal: the AST derives equality through its spans, and two trees
/// mean the same thing whatever their layout (the formatter relies on it). Compare
/// `start`/`end` directly where the position itself matters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl PartialEq for Span {
    fn eq(&self, _other: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether it covers no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        miette::SourceSpan::new(span.start.into(), span.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let file = SourceFile::new("x", "ab\nç d\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 1));
        // `d` is after a two-byte character: column 3, not 4.
        assert_eq!(file.line_col(6), (2, 3));
        assert_eq!(file.line_col(1000), (3, 1));
    }

    #[test]
    fn a_byte_order_mark_takes_no_column() {
        let file = SourceFile::new("x", "\u{feff}ab\n\u{feff}c");
        assert_eq!(file.line_col(3), (1, 1));
        assert_eq!(file.line_col(4), (1, 2));
        // Only at the start of the file.
        assert_eq!(file.line_col(9), (2, 2));
    }

    #[test]
    fn the_graphical_header_counts_characters() {
        use miette::SourceCode;
        let file = SourceFile::new("x", "\u{feff}é = x\nçé y");
        for (offset, column) in [(3, 0), (8, 4), (15, 3)] {
            let span = miette::SourceSpan::new(offset.into(), 1);
            let contents = file.read_span(&span, 0, 0).ok();
            assert_eq!(
                contents.map(|c| c.column()),
                Some(column),
                "offset {offset}"
            );
        }
    }
}
