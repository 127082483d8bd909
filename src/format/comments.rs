//! The comments of a source text, and the questions the layout asks of that text: where a
//! keyword before a node starts, where the brace after it stands, whether a comment lies in
//! a range.
//!
//! The grammar discards comments, so they are found here by scanning the text: `//` outside a
//! string literal, up to the end of its line. Every position is a byte offset into the text.

/// One `//` comment.
#[derive(Debug, Clone)]
pub(super) struct Comment {
    /// The byte of `//`.
    pub start: usize,
    /// One past its last byte that is not whitespace.
    pub end: usize,
    /// Its text, from `//`, without trailing whitespace.
    pub text: String,
    /// Code stands before it on its line.
    pub trailing: bool,
    /// Its column in characters, from 0.
    pub column: usize,
    /// An empty line separates it from what comes before (not at the start of the text).
    pub blank_before: bool,
    /// An empty line separates it from what comes after.
    pub blank_after: bool,
}

/// The texts of the comments of `text`, in order, each from `//` to the end of its line without
/// trailing whitespace. The formatter keeps this list the same, up to order.
pub fn comment_texts(text: &str) -> Vec<String> {
    scan(text).into_iter().map(|c| c.text).collect()
}

/// Finds the comments of a text.
pub(super) fn scan(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut i = 0;
    let mut line_start = 0;
    let mut code_on_line = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\n' => {
                i += 1;
                line_start = i;
                code_on_line = false;
            }
            b'"' => {
                code_on_line = true;
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' => break,
                        _ => i += 1,
                    }
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let start = i;
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                let raw = text.get(start..i).unwrap_or("");
                let trimmed = raw.trim_end();
                let column = text.get(line_start..start).map_or(0, |s| s.chars().count());
                comments.push(Comment {
                    start,
                    end: start + trimmed.len(),
                    text: trimmed.to_string(),
                    trailing: code_on_line,
                    column,
                    blank_before: false,
                    blank_after: false,
                });
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                // The byte-order mark counts as whitespace, as in the grammar.
                if text.get(i..).is_some_and(|s| s.starts_with('\u{FEFF}')) {
                    i += '\u{FEFF}'.len_utf8();
                } else {
                    code_on_line = true;
                    i += 1;
                }
            }
        }
    }
    for c in &mut comments {
        c.blank_before = newlines_before(text, c.start).is_some_and(|n| n >= 2);
        c.blank_after = newlines_after(text, c.end) >= 2;
    }
    comments
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{FEFF}')
}

/// Line feeds in the whitespace right before `pos`; `None` when only whitespace precedes it.
fn newlines_before(text: &str, pos: usize) -> Option<usize> {
    let before = text.get(..pos)?;
    let trimmed = before.trim_end_matches(is_space);
    if trimmed.is_empty() {
        return None;
    }
    before.get(trimmed.len()..).map(|s| s.matches('\n').count())
}

/// Line feeds in the whitespace right after `pos`; 0 at the end of the text.
fn newlines_after(text: &str, pos: usize) -> usize {
    let after = text.get(pos..).unwrap_or("");
    let trimmed = after.trim_start_matches(is_space);
    if trimmed.is_empty() {
        return 0;
    }
    after
        .get(..after.len() - trimmed.len())
        .map_or(0, |s| s.matches('\n').count())
}

/// The source text with its comments: what the layout needs to anchor lines and place comments.
/// Empty for a tree printed without a source.
pub(super) struct Src<'a> {
    pub text: &'a str,
    pub comments: Vec<Comment>,
}

impl<'a> Src<'a> {
    pub fn new(text: &'a str) -> Self {
        Src {
            text,
            comments: scan(text),
        }
    }

    /// Whether some comment starts in `start..end`.
    pub fn has_comment_in(&self, start: usize, end: usize) -> bool {
        let first = self.comments.partition_point(|c| c.start < start);
        self.comments.get(first).is_some_and(|c| c.start < end)
    }

    /// The comment that ends exactly at `pos`, if any.
    fn comment_ending_at(&self, pos: usize) -> Option<&Comment> {
        let i = self.comments.partition_point(|c| c.end < pos);
        self.comments.get(i).filter(|c| c.end == pos)
    }

    /// The comment that covers `pos`, if any.
    fn comment_at(&self, pos: usize) -> Option<&Comment> {
        let i = self.comments.partition_point(|c| c.end <= pos);
        self.comments.get(i).filter(|c| c.start <= pos)
    }

    /// Moves back from `pos` over whitespace and comments.
    fn back_over_space(&self, mut pos: usize) -> usize {
        loop {
            let before = self.text.get(..pos).unwrap_or("");
            let trimmed = before.trim_end_matches(is_space).len();
            pos = trimmed;
            match self.comment_ending_at(pos) {
                Some(c) if c.start < pos => pos = c.start,
                _ => return pos,
            }
        }
    }

    /// Moves forward from `pos` over whitespace and comments.
    fn forward_over_space(&self, mut pos: usize) -> usize {
        loop {
            let after = self.text.get(pos..).unwrap_or("");
            pos += after.len() - after.trim_start_matches(is_space).len();
            match self.comment_at(pos) {
                Some(c) => pos = c.end,
                None => return pos,
            }
        }
    }

    /// Where the tokens `words` (keywords or punctuation, in order) end right before `pos`,
    /// whitespace and comments between: the start of the first of them. `pos` itself when they
    /// are not all there.
    pub fn keywords_before(&self, pos: usize, words: &[&str]) -> usize {
        let mut at = pos;
        for word in words.iter().rev() {
            let end = self.back_over_space(at);
            let before = self.text.get(..end).unwrap_or("");
            let Some(start) = end.checked_sub(word.len()) else {
                return pos;
            };
            let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
            let word_boundary = !word.chars().all(is_word)
                || before
                    .get(..start)
                    .and_then(|s| s.chars().next_back())
                    .is_none_or(|c| !is_word(c));
            if !before.ends_with(word) || !word_boundary {
                return pos;
            }
            at = start;
        }
        at
    }

    /// The position of `ch` after `pos`, skipping whitespace, comments and (when `commas`)
    /// commas; `None` when something else comes first.
    pub fn char_after(&self, pos: usize, ch: char, commas: bool) -> Option<usize> {
        let mut at = pos;
        loop {
            at = self.forward_over_space(at);
            let next = self.text.get(at..).and_then(|s| s.chars().next())?;
            if next == ch {
                return Some(at);
            }
            if commas && next == ',' {
                at += 1;
                continue;
            }
            return None;
        }
    }

    /// `end`, moved back over trailing whitespace and comments, but not before `start`.
    pub fn code_end(&self, start: usize, end: usize) -> usize {
        self.back_over_space(end).max(start)
    }

    /// The column in characters, from 0, of `pos`.
    pub fn column(&self, pos: usize) -> usize {
        let before = self.text.get(..pos).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        before.get(line_start..).map_or(0, |s| s.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_found_outside_strings() {
        let text = "// head\n\nlet x = \"a // b\" // tail  \n  // own\nlet y = 1";
        let comments = scan(text);
        let texts: Vec<&str> = comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["// head", "// tail", "// own"]);
        let flags: Vec<(bool, bool, bool)> = comments
            .iter()
            .map(|c| (c.trailing, c.blank_before, c.blank_after))
            .collect();
        assert_eq!(
            flags,
            [
                (false, false, true),
                (true, false, false),
                (false, false, false)
            ]
        );
        assert_eq!(comments.get(2).map(|c| c.column), Some(2));
    }

    #[test]
    fn keywords_are_found_across_comments() {
        let src = Src::new("rule a:\n  when // why\n  x");
        let x = src.text.find('x').unwrap_or(0);
        assert_eq!(src.keywords_before(x, &["when"]), 10);
        assert_eq!(src.keywords_before(x, &["unless"]), x);
        let src = Src::new("test \"t\" { as of 2020-01-01 }");
        let date = src.text.find("2020").unwrap_or(0);
        assert_eq!(src.keywords_before(date, &["as", "of"]), 11);
        assert_eq!(src.char_after(8, '{', false), Some(9));
    }
}
