//! Syntax: policy text → [`ast::File`](crate::ast::File).
//!
//! Input: the text of one file. Output: its AST, or every syntax error found, as diagnostics
//! with codes `readmit::parse::…`. pest's types never leave this module. Limits are checked
//! before and during parsing so that no input, however large or deeply nested, exhausts the
//! stack: the source size, bracket and quantifier nesting, prefix-operator chains and expression
//! depth each have a limit, and going over one is a diagnostic.

mod error;
mod lower;

use pest::Parser;

use crate::ast;
use crate::diagnostics::Diagnostic;
use crate::source::{SourceFile, Span};

pub use error::SyntaxError;

/// The largest policy file accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;
/// How deeply brackets and quantifiers may nest.
pub const MAX_NESTING: usize = 64;
/// How deep an expression tree may be (operators chained without brackets count too).
pub const MAX_EXPR_DEPTH: usize = 256;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/policy.pest"]
struct PolicyParser;

/// Parses one policy file (a schema, a version, or tests).
pub fn parse(source: &SourceFile) -> Result<ast::File, Vec<Diagnostic>> {
    limit_calls_for(source.text.len());
    parse_within_limit(source)
}

/// Bounds the work of pathological backtracking in files of up to `bytes`; generous for any
/// real policy. The bound is pest's, one for the whole process: files parsed at once on several
/// threads share the bound of the largest (see [`parse_within_limit`]).
pub fn limit_calls_for(bytes: usize) {
    pest::set_call_limit(std::num::NonZeroUsize::new(
        bytes.saturating_mul(400).max(1_000_000),
    ));
}

/// [`parse`], under the bound last set by [`limit_calls_for`].
pub fn parse_within_limit(source: &SourceFile) -> Result<ast::File, Vec<Diagnostic>> {
    let text: &str = &source.text;
    if text.len() > MAX_SOURCE_BYTES {
        let kind = SyntaxError::TooLarge {
            bytes: text.len(),
            limit: MAX_SOURCE_BYTES,
        };
        return Err(vec![Diagnostic::at(
            &kind,
            source,
            Span::new(0, 0),
            "this file",
        )]);
    }
    if let Some(diagnostic) = check_nesting(source) {
        return Err(vec![diagnostic]);
    }
    let pairs = match PolicyParser::parse(Rule::file, text) {
        Ok(pairs) => pairs,
        Err(error) => return Err(vec![error::from_pest(source, &error)]),
    };
    lower::lower_file(source, pairs)
}

/// Parses a single expression (for tests and tools).
pub fn parse_expr(source: &SourceFile) -> Result<ast::Expr, Vec<Diagnostic>> {
    if let Some(diagnostic) = check_nesting(source) {
        return Err(vec![diagnostic]);
    }
    let pairs = PolicyParser::parse(Rule::expr, &source.text)
        .map_err(|error| vec![error::from_pest(source, &error)])?;
    lower::lower_lone_expr(source, pairs)
}

/// Words after which a quantifier can no longer be open: the clause keywords.
const CLAUSE_WORDS: &[&str] = &[
    "when",
    "unless",
    "then",
    "because",
    "cites",
    "let",
    "rule",
    "outcome",
    "otherwise",
    "cap",
    "test",
    "policy",
    "schema",
    "basis",
    "expect",
    "order",
    "limit",
    "counts",
    "overflow",
    "warn",
    "with",
];

/// Finds nesting beyond [`MAX_NESTING`] before pest's recursive descent meets it.
///
/// Brackets nest visibly; a quantifier's body runs to the end of its bracket or clause, so every
/// `any`/`all` counts as one more level until that bracket closes or a clause word follows.
fn check_nesting(source: &SourceFile) -> Option<Diagnostic> {
    let bytes = source.text.as_bytes();
    // Quantifiers opened at each bracket depth.
    let mut quantifiers: Vec<usize> = vec![0];
    let mut brackets = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' | b'\n' => break,
                        _ => i += 1,
                    }
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                brackets += 1;
                quantifiers.push(0);
            }
            b')' | b']' | b'}' => {
                brackets = brackets.saturating_sub(1);
                if quantifiers.len() > 1 {
                    quantifiers.pop();
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let start = i;
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                let word = source.text.get(start..i).unwrap_or("");
                let preceded_by_dot = start > 0 && bytes.get(start - 1) == Some(&b'.');
                if !preceded_by_dot {
                    if word == "any" || word == "all" {
                        if let Some(count) = quantifiers.last_mut() {
                            *count += 1;
                        }
                    } else if brackets == 0 && CLAUSE_WORDS.contains(&word) {
                        quantifiers.iter_mut().for_each(|c| *c = 0);
                    }
                }
                continue;
            }
            _ => {}
        }
        let depth = brackets + quantifiers.iter().sum::<usize>();
        if depth > MAX_NESTING {
            let kind = SyntaxError::TooDeep { limit: MAX_NESTING };
            let end = (i + 1).min(bytes.len());
            return Some(Diagnostic::at(
                &kind,
                source,
                Span::new(i.min(end), end),
                "nested too deeply here",
            ));
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<ast::File, Vec<Diagnostic>> {
        parse(&SourceFile::new("t.policy", text))
    }

    #[test]
    fn parses_an_empty_file() {
        assert_eq!(parse_text("").map(|f| f.items.len()).ok(), Some(0));
        assert_eq!(
            parse_text("// only a comment\n")
                .map(|f| f.items.len())
                .ok(),
            Some(0)
        );
    }

    #[test]
    fn deep_brackets_are_a_diagnostic_not_a_crash() {
        let text = format!("let x = {}1{}", "(".repeat(10_000), ")".repeat(10_000));
        let errors = parse_text(&text).err().unwrap_or_default();
        assert_eq!(
            errors.first().map(|d| d.code),
            Some("readmit::parse::too_deep")
        );
    }

    #[test]
    fn nested_quantifiers_count_as_nesting() {
        let text = format!("let x = {}true", "any v in [1]: ".repeat(5_000));
        let errors = parse_text(&text).err().unwrap_or_default();
        assert_eq!(
            errors.first().map(|d| d.code),
            Some("readmit::parse::too_deep")
        );
    }

    #[test]
    fn long_prefix_chains_are_a_diagnostic() {
        let text = format!("let x = {}true", "not ".repeat(100_000));
        let errors = parse_text(&text).err().unwrap_or_default();
        assert_eq!(
            errors.first().map(|d| d.code),
            Some("readmit::parse::too_deep")
        );
    }

    #[test]
    fn long_operator_chains_are_a_diagnostic() {
        let text = format!("let x = 1{}", " + 1".repeat(100_000));
        let errors = parse_text(&text).err().unwrap_or_default();
        assert_eq!(
            errors.first().map(|d| d.code),
            Some("readmit::parse::too_deep")
        );
    }

    #[test]
    fn a_test_may_expect_the_otherwise_rule() {
        let text =
            "test \"x\" {\n case { id: \"a\" }\n expect standard_procedure by rule otherwise\n}\n";
        let file = parse_text(text).ok();
        let Some(ast::ItemKind::Test(test)) = file
            .and_then(|f| f.items.into_iter().next())
            .map(|i| i.kind)
        else {
            unreachable!("one test")
        };
        assert_eq!(
            test.expect.and_then(|e| e.rule).map(|r| r.name),
            Some("otherwise".to_string())
        );
    }

    #[test]
    fn long_and_chains_are_flat_and_fine() {
        let text = format!("let x = true{}", " and true".repeat(10_000));
        assert!(parse_text(&text).is_ok());
    }

    #[test]
    fn precedence_not_binds_tighter_than_comparison_and_and_tighter_than_or() {
        let file = parse_text("let x = a or b and not c == d").ok();
        let Some(ast::ItemKind::Let(def)) = file
            .and_then(|f| f.items.into_iter().next())
            .map(|i| i.kind)
        else {
            unreachable!("parses")
        };
        let ast::ExprKind::Or(operands) = def.value.kind else {
            unreachable!("or on top")
        };
        let Some(ast::ExprKind::And(conjuncts)) = operands.get(1).map(|e| &e.kind) else {
            unreachable!("and under or")
        };
        let Some(ast::ExprKind::Binary { lhs, .. }) = conjuncts.get(1).map(|e| &e.kind) else {
            unreachable!("comparison under and")
        };
        assert!(matches!(
            lhs.kind,
            ast::ExprKind::Unary {
                op: ast::UnaryOp::Not,
                ..
            }
        ));
    }
}
