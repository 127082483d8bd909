//! The formatter: policy text → the same policy in its one canonical layout.
//!
//! Input: a source file. Output: its text laid out canonically, or the parse errors that stop
//! it. The tree is parsed with [`crate::syntax::parse`] and printed again; comments, which the
//! tree does not hold, are found in the text and put back where they belong (see `render`).
//!
//! Invariants, checked on every call before any text is returned: the result parses to a tree
//! equal to the input's (trees compare without their spans), and it holds the same comments.
//! Formatting is idempotent: formatting the result gives the result.
//!
//! The layout:
//!
//! - two spaces of indentation; lines of at most [`MAX_WIDTH`] columns where the rules below
//!   can break them (an expression is otherwise kept on one line, and a long text literal or a
//!   comment is never broken);
//! - the header lines (`policy`, `in force`, `basis`, `schema … from`, `as of`) together; one
//!   empty line between other items, except between one-line items of the same kind (a list
//!   of `outcome` lines, of one-line `let`s), which stay together;
//! - `schema` blocks one field per line, the types of each block aligned in a column; a record
//!   field opens its own block;
//! - `rule` clauses on their own lines, two spaces in, in the order `when`, `unless`, `then`,
//!   `because`, `cites`; `otherwise` and `warn` likewise;
//! - a `let`, `when` or `unless` that does not fit, or that holds comments between the operands
//!   of its top-level `and`/`or`, is broken before each operator (`let x =` then the operands
//!   below it);
//! - `outcome x { … }` on one line when it fits, one attribute per line otherwise;
//! - `cap` and `test` blocks one clause per line; a `case { … }` record one field per line,
//!   commas after all but the last; an `expect` that does not fit has its `with` and `cites` on
//!   lines of their own;
//! - texts re-escaped (`\"`, `\\`, `\n`, `\t`, `\u{…}` for other control characters); periods
//!   written `1 year`, `2 years`; the drafter's parentheses kept, none added;
//! - comments kept where they were: before the line they preceded, or at the end of the line
//!   they followed, the trailing comments of a paragraph aligned in one column; an empty line
//!   before a comment kept where the layout allows one.

mod comments;
mod expr;
mod layout;
mod render;

use crate::ast::File;
use crate::diagnostics::{Describe, Diagnostic};
use crate::source::{SourceFile, Span};
use crate::syntax::parse;

pub use comments::comment_texts;
pub use expr::string as string_literal;

/// The width a line is kept within where the layout can break it.
pub const MAX_WIDTH: usize = 100;

/// A formatter failure: a bug, never the drafter's mistake. The file is left as it is.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The formatted text would not mean the same.
    #[error("formatting `{path}` would change its meaning")]
    ChangedMeaning {
        /// The file.
        path: String,
    },
    /// A comment would be lost or altered.
    #[error("formatting `{path}` would lose a comment")]
    LostComment {
        /// The file.
        path: String,
    },
}

impl Describe for FormatError {
    fn code(&self) -> &'static str {
        match self {
            FormatError::ChangedMeaning { .. } => "readmit::fmt::changed_meaning",
            FormatError::LostComment { .. } => "readmit::fmt::lost_comment",
        }
    }

    fn help(&self) -> Option<String> {
        Some(
            "this is a bug in readmit fmt: the file was left as it is; please report it with the file"
                .into(),
        )
    }
}

/// Formats a policy file: its canonical text, or the errors that stop it from parsing (the file
/// should then be left untouched).
pub fn format_source(source: &SourceFile) -> Result<String, Vec<Diagnostic>> {
    let file = parse(source)?;
    let text = format_file(&file, &source.text);
    let path = source.name.to_string();
    let at_start = |kind: &FormatError| Diagnostic::at(kind, source, Span::new(0, 0), "this file");
    let reparsed = parse(&SourceFile::new(source.name.clone(), text.as_str()));
    if reparsed.ok().is_none_or(|again| again != file) {
        return Err(vec![at_start(&FormatError::ChangedMeaning { path })]);
    }
    let mut before = comment_texts(&source.text);
    let mut after = comment_texts(&text);
    before.sort();
    after.sort();
    if before != after {
        return Err(vec![at_start(&FormatError::LostComment { path })]);
    }
    Ok(text)
}

/// Lays out a parsed file, with the comments of `source`, the text it was parsed from.
pub fn format_file(file: &File, source: &str) -> String {
    let src = comments::Src::new(source);
    let mut layout = layout::Layout::new(&src);
    layout.file(file);
    render::render(&layout.lines, &src)
}

/// Prints a tree that has no source text (one built by a program): the canonical layout
/// without comments. Spans are not read.
pub fn print_file(file: &File) -> String {
    format_file(file, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        match format_source(&SourceFile::new("t.policy", text)) {
            Ok(text) => text,
            Err(errors) => panic!("{text}\n{errors:?}"),
        }
    }

    #[test]
    fn a_rule_on_one_line_gets_a_line_per_clause() {
        let text = "rule a: when x and y then z because \"why\" cites \"a\" ,\"b\"";
        assert_eq!(
            fmt(text),
            "rule a:\n  when x and y\n  then z\n  because \"why\"\n  cites \"a\", \"b\"\n"
        );
    }

    #[test]
    fn a_long_let_is_broken_before_each_operator() {
        let operand = "case.travel.route_with_a_long_name_".repeat(2);
        let text = format!("let x = {operand}1 and {operand}2 or {operand}3");
        assert_eq!(
            fmt(&text),
            format!("let x =\n  {operand}1 and {operand}2\n  or {operand}3\n")
        );
    }

    #[test]
    fn comments_stay_where_they_belong() {
        let text = "// head\n\nschema Case {\n  id: text // the id\n  // dates\n  entry_date: date\n  travel: { origin: country }\n}\n";
        let expected = "// head\n\nschema Case {\n  id:         text  // the id\n  // dates\n  entry_date: date\n  travel: {\n    origin: country\n  }\n}\n";
        assert_eq!(fmt(text), expected);
        assert_eq!(fmt(expected), expected);
    }

    #[test]
    fn one_line_items_of_a_kind_stay_together() {
        let text = "policy p version \"1a\"\nin force from 2020-01-01\n\n\noutcome a\n\noutcome b\nlet x = 1\nlet y = 2\nwarn \"w\" when x > y\n";
        let expected = "policy p version \"1a\"\nin force from 2020-01-01\n\noutcome a\noutcome b\n\nlet x = 1\nlet y = 2\n\nwarn \"w\"\n  when x > y\n";
        assert_eq!(fmt(text), expected);
    }

    #[test]
    fn a_comment_at_the_end_of_a_rule_stays_in_it() {
        let text = "rule a:\n  when x\n  // then y\n\nrule b:\n  when z\n";
        assert_eq!(
            fmt(text),
            "rule a:\n  when x\n  // then y\n\nrule b:\n  when z\n"
        );
    }

    #[test]
    fn a_comment_inside_a_one_line_construct_goes_before_it() {
        let text = "let x = [a, // first\n  b]\n";
        assert_eq!(fmt(text), "// first\nlet x = [a, b]\n");
    }
}
