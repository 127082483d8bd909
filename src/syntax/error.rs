//! Syntax errors, and pest's errors put into words a drafter reads.

use pest::error::{ErrorVariant, InputLocation};

use super::Rule;
use crate::diagnostics::{Describe, Diagnostic, did_you_mean};
use crate::source::{SourceFile, Span};

/// What can be wrong with the text of a policy file.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SyntaxError {
    /// Text the grammar does not allow here.
    #[error("unexpected {found}, expected {expected}")]
    Unexpected {
        /// What stands there, in words.
        found: String,
        /// What could stand there, in words.
        expected: String,
        /// A keyword the found word is close to.
        suggestion: Option<String>,
    },
    /// Over [`super::MAX_SOURCE_BYTES`].
    #[error("the file is too large ({bytes} bytes; the limit is {limit})")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Brackets, quantifiers or operators nested beyond the limit.
    #[error("the expression is nested too deeply (the limit is {limit} levels)")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// A date literal that is not a calendar date.
    #[error("`{text}` is not a calendar date")]
    InvalidDate {
        /// As written.
        text: String,
    },
    /// An integer literal beyond 64 bits.
    #[error("`{text}` is too large for an integer")]
    IntTooLarge {
        /// As written.
        text: String,
    },
    /// A range whose low end is above its high end.
    #[error("the range `{text}` is empty")]
    EmptyRange {
        /// As written.
        text: String,
    },
    /// An escape sequence in a string that means nothing.
    #[error("unknown escape `{text}` in a string")]
    InvalidEscape {
        /// As written.
        text: String,
    },
    /// A control character in a string, written as it is or as `\u{…}`: shown in a terminal (a
    /// reason, a citation), it would act on the terminal instead of being read.
    #[error("a control character (U+{code:04X}) in a string")]
    ControlCharacter {
        /// Its code point.
        code: u32,
    },
    /// A clause written twice in one rule, test or cap.
    #[error("`{clause}` is given twice in {owner}")]
    DuplicateClause {
        /// The clause keyword.
        clause: &'static str,
        /// What it belongs to ("rule `x`").
        owner: String,
    },
    /// A declaration the parser accepted but could not read: a bug in readmit.
    #[error("this declaration could not be read")]
    Unreadable,
    /// pest gave up: too much backtracking.
    #[error("the file is too complex to parse")]
    TooComplex,
}

impl Describe for SyntaxError {
    fn code(&self) -> &'static str {
        match self {
            SyntaxError::Unexpected { .. } => "readmit::parse::unexpected",
            SyntaxError::TooLarge { .. } => "readmit::parse::too_large",
            SyntaxError::TooDeep { .. } => "readmit::parse::too_deep",
            SyntaxError::InvalidDate { .. } => "readmit::parse::invalid_date",
            SyntaxError::IntTooLarge { .. } => "readmit::parse::int_too_large",
            SyntaxError::EmptyRange { .. } => "readmit::parse::empty_range",
            SyntaxError::InvalidEscape { .. } => "readmit::parse::invalid_escape",
            SyntaxError::ControlCharacter { .. } => "readmit::parse::control_character",
            SyntaxError::DuplicateClause { .. } => "readmit::parse::duplicate_clause",
            SyntaxError::TooComplex => "readmit::parse::too_complex",
            SyntaxError::Unreadable => "readmit::parse::unreadable",
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            SyntaxError::Unexpected {
                suggestion: Some(word),
                ..
            } => format!("did you mean `{word}`?"),
            SyntaxError::Unexpected { .. } => {
                "see docs/language.md for the form of each declaration".to_string()
            }
            SyntaxError::TooLarge { .. } => "keep each file under 4 MiB: tests can be spread over several files of `tests/`; a version or a schema this large is probably not the file meant".to_string(),
            SyntaxError::TooDeep { .. } => {
                "name parts of the condition with `let` and combine the names".to_string()
            }
            SyntaxError::InvalidDate { .. } => {
                "write a real date as YYYY-MM-DD, e.g. `2016-02-29` (a leap year)".to_string()
            }
            SyntaxError::IntTooLarge { .. } => {
                "integers range from -9223372036854775808 to 9223372036854775807".to_string()
            }
            SyntaxError::EmptyRange { .. } => "write the smaller bound first: `lo..hi`".to_string(),
            SyntaxError::InvalidEscape { .. } => {
                "use `\\\"`, `\\\\`, `\\n` or `\\t`, or `\\u{…}` for any character".to_string()
            }
            SyntaxError::ControlCharacter { .. } => {
                "remove it; a line break is written `\\n` and a tab `\\t`".to_string()
            }
            SyntaxError::DuplicateClause { clause, .. } if *clause == "when" => {
                "join the conditions with `and` in one `when`".to_string()
            }
            SyntaxError::DuplicateClause { .. } => "keep one of them".to_string(),
            SyntaxError::TooComplex => "split long conditions into named `let`s".to_string(),
            SyntaxError::Unreadable => {
                "this is a bug in readmit: please report it with the file".to_string()
            }
        })
    }
}

/// Words of the grammar's rules, for "expected …". `None` for rules a drafter never types as such.
fn rule_words(rule: Rule) -> Option<&'static str> {
    use Rule as R;
    Some(match rule {
        R::EOI => "end of file",
        R::item | R::file => "a declaration",
        R::schema_def | R::kw_schema | R::schema_ref => "`schema`",
        R::policy_header | R::kw_policy => "`policy`",
        R::in_force => "`in force from`",
        R::basis | R::kw_basis => "`basis`",
        R::as_of => "`as of`",
        R::let_def | R::kw_let => "`let`",
        R::outcome_def | R::kw_outcome => "`outcome`",
        R::rule_def | R::kw_rule => "`rule`",
        R::otherwise_def | R::kw_otherwise => "`otherwise`",
        R::cap_def | R::kw_cap => "`cap`",
        R::test_def | R::kw_test => "`test`",
        R::warn_def | R::kw_warn => "`warn`",
        R::kw_open => "`open`",
        R::kw_optional | R::optional_type => "`optional`",
        R::kw_list | R::list_type => "`list of`",
        R::kw_of => "`of`",
        R::kw_version | R::test_version => "`version`",
        R::kw_in => "`in`",
        R::kw_force => "`force`",
        R::kw_from => "`from`",
        R::kw_until => "`until`",
        R::kw_as | R::test_as_of => "`as of`",
        R::kw_when | R::when_clause => "`when`",
        R::kw_unless | R::unless_clause => "`unless`",
        R::kw_then | R::then_clause => "`then`",
        R::kw_with | R::with_clause | R::expect_with => "`with`",
        R::kw_within | R::within_clause => "`within cap`",
        R::kw_because | R::because_clause => "`because`",
        R::kw_cites | R::cites_clause | R::expect_cites => "`cites`",
        R::kw_limit | R::limit_clause => "`limit`",
        R::kw_counts | R::counts_clause => "`counts grants`",
        R::kw_grants => "`grants`",
        R::kw_order | R::order_clause => "`order by`",
        R::kw_by | R::expect_rule => "`by`",
        R::kw_overflow | R::overflow_clause => "`overflow`",
        R::kw_case | R::test_case | R::case_ref => "`case`",
        R::kw_expect | R::expect_clause => "`expect`",
        R::kw_and => "`and`",
        R::kw_or => "`or`",
        R::kw_not | R::not_op | R::not_in_op => "`not`",
        R::kw_has | R::has_tail => "`has`",
        R::in_tail => "`in`",
        R::kw_any | R::kw_all | R::quantifier => "`any`/`all`",
        R::kw_true | R::kw_false | R::bool_lit => "`true`/`false`",
        R::field_name | R::type_name | R::name_or_type => "a name",
        R::name => "a name",
        R::date_lit => "a date (YYYY-MM-DD)",
        R::int_lit | R::signed_int => "a whole number",
        R::country_lit => "a country code",
        R::string_lit => "a quoted text",
        R::period_lit | R::period_unit => "a period (`1 year`)",
        R::version_id => "a version id",
        R::range => "a range (`1..20`)",
        R::record_body | R::record_type | R::record_lit | R::attr_block => "`{`",
        R::field_decl | R::record_field | R::attr => "a field (`name: …`)",
        R::type_expr | R::enum_type | R::attr_type => "a type",
        R::expr
        | R::or_expr
        | R::and_expr
        | R::cmp_expr
        | R::add_expr
        | R::mul_expr
        | R::unary
        | R::postfix
        | R::paren
        | R::call
        | R::list_lit
        | R::attr_value
        | R::neg_op => "a value or condition",
        R::cmp_op | R::cmp_tail => "a comparison (`==`, `<`, …)",
        R::add_op | R::mul_op => "an operator",
        R::dot_field => "`.`",
        R::index => "`[`",
        R::case_from_file => "`from`",
        _ => return None,
    })
}

/// The keywords a misspelt word may have meant.
const KEYWORDS: &[&str] = &[
    "schema",
    "open",
    "optional",
    "list",
    "policy",
    "version",
    "force",
    "from",
    "until",
    "basis",
    "let",
    "outcome",
    "rule",
    "when",
    "unless",
    "then",
    "with",
    "within",
    "cap",
    "because",
    "cites",
    "otherwise",
    "limit",
    "counts",
    "grants",
    "order",
    "overflow",
    "test",
    "case",
    "expect",
    "and",
    "or",
    "not",
    "has",
    "any",
    "all",
    "true",
    "false",
];

/// Turns a pest error into a diagnostic in words.
pub(super) fn from_pest(source: &SourceFile, error: &pest::error::Error<Rule>) -> Diagnostic {
    let position = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((start, _)) => start,
    };
    let text: &str = &source.text;
    let rest = text.get(position..).unwrap_or("");
    let word_len = rest
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    let (found, span_len) = if rest.is_empty() {
        ("end of file".to_string(), 0)
    } else if word_len > 0 {
        let word = rest.get(..word_len).unwrap_or("");
        (format!("`{word}`"), word_len)
    } else {
        let c = rest.chars().next().unwrap_or(' ');
        let shown = match c {
            '\n' | '\r' => "end of line".to_string(),
            c if c.is_control() => format!("control character U+{:04X}", c as u32),
            c => format!("`{c}`"),
        };
        (shown, c.len_utf8())
    };
    let span = Span::new(position, position + span_len);
    let kind = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = positives.iter().filter_map(|r| rule_words(*r)).collect();
            words.sort_unstable();
            words.dedup();
            let expected = if words.is_empty() {
                "something else".to_string()
            } else {
                let plain: Vec<String> = words.iter().map(|w| w.to_string()).collect();
                join_plain(&plain)
            };
            let suggestion = if word_len > 0 {
                let word = rest.get(..word_len).unwrap_or("");
                let expected_keywords: Vec<&str> = KEYWORDS
                    .iter()
                    .copied()
                    .filter(|k| {
                        words
                            .iter()
                            .any(|w| w.contains(&format!("`{k}")) || w.contains(&format!("{k}`")))
                    })
                    .collect();
                did_you_mean(word, expected_keywords)
                    .filter(|k| *k != word)
                    .map(str::to_string)
            } else {
                None
            };
            SyntaxError::Unexpected {
                found,
                expected,
                suggestion,
            }
        }
        ErrorVariant::CustomError { message } if message.contains("call limit") => {
            SyntaxError::TooComplex
        }
        ErrorVariant::CustomError { .. } => SyntaxError::TooComplex,
    };
    Diagnostic::at(&kind, source, span, "unexpected here")
}

/// "a, b or c" for words that are already formatted.
fn join_plain(words: &[String]) -> String {
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {}", rest.join(", "), last),
    }
}
