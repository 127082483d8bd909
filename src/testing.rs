//! Policy tests: the `test` blocks beside a policy, run against its versions.
//!
//! Input: a loaded [`Engine`] (its checked policy holds the test files). Output: one
//! [`TestResult`] per test, with a diagnostic for each failure (at the test's `expect`, with a
//! note at the rule that decided instead, and the trace), and the coverage of rules, outcomes and
//! cited provisions.

use std::collections::BTreeSet;
use std::path::Path;

use indexmap::IndexMap;

use crate::ast::{self, AttrValue, ExprKind, TestCase, TestDef, UnaryOp};
use crate::cases::RecordError;
use crate::check::model::TestFile;
use crate::diagnostics::{Describe, Diagnostic};
use crate::engine::{Engine, EvalOptions, VersionChoice};
use crate::eval::Scalar;
use crate::report::{Decision, Record};
use crate::source::{SourceFile, Span};

/// Why a test failed, or could not run.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TestError {
    /// The decision differs from the expectation.
    #[error("test \"{test}\" expected {expected}, but {found}")]
    Mismatch {
        /// The test.
        test: String,
        /// What it expected, in words.
        expected: String,
        /// What was decided, in words.
        found: String,
    },
    /// The case is not a valid record.
    #[error("the case of test \"{test}\" is not a valid record: {message}")]
    BadCase {
        /// The test.
        test: String,
        /// What is wrong.
        message: String,
    },
    /// The test lacks its case or expectation.
    #[error("test \"{test}\" has no `{clause}`")]
    Incomplete {
        /// The test.
        test: String,
        /// The missing clause.
        clause: &'static str,
    },
    /// `case from` names a file or record that is not there.
    #[error("test \"{test}\": {message}")]
    CaseNotFound {
        /// The test.
        test: String,
        /// What is missing.
        message: String,
    },
}

impl Describe for TestError {
    fn code(&self) -> &'static str {
        match self {
            TestError::Mismatch { .. } => "readmit::test::failed",
            TestError::BadCase { .. } => "readmit::test::bad_case",
            TestError::Incomplete { .. } => "readmit::test::incomplete",
            TestError::CaseNotFound { .. } => "readmit::test::case_not_found",
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            TestError::Mismatch { .. } => {
                "if the rule is right, correct the expectation; otherwise the trace below shows where the decision went another way".into()
            }
            TestError::BadCase { .. } => "make the case a complete record of the schema".into(),
            TestError::Incomplete { clause, .. } => match *clause {
                "case" => "add `case { … }` or `case from \"cases.jsonl\" id \"…\"`".into(),
                _ => "add `expect OUTCOME [by rule RULE]`".into(),
            },
            TestError::CaseNotFound { .. } => "the file is read relative to the test file's folder".into(),
        })
    }
}

/// The result of one test.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// The file it is in.
    pub file: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed.
    pub diagnostic: Option<Diagnostic>,
    /// What was decided (also for passing tests: coverage reads it).
    pub decision: Option<Decision>,
}

/// What the tests reached.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Coverage {
    /// Per version: each rule (and `otherwise`) with the tests that reach it.
    pub rules: IndexMap<String, IndexMap<String, Vec<String>>>,
    /// Per version: each outcome with the tests that reach it.
    pub outcomes: IndexMap<String, IndexMap<String, Vec<String>>>,
    /// Per version: each cited provision with the tests whose decision cites it.
    pub provisions: IndexMap<String, IndexMap<String, Vec<String>>>,
}

impl Coverage {
    /// The share of rules reached, in percent.
    pub fn rule_percent(&self) -> f64 {
        let (reached, total) = self
            .rules
            .values()
            .flat_map(|r| r.values())
            .fold((0usize, 0usize), |(r, t), tests| {
                (r + usize::from(!tests.is_empty()), t + 1)
            });
        if total == 0 {
            100.0
        } else {
            reached as f64 * 100.0 / total as f64
        }
    }
}

/// Runs the tests whose name contains `filter` (all when `None`). Returns the results in file
/// order and how many were filtered out.
pub fn run_tests(engine: &Engine, filter: Option<&str>) -> (Vec<TestResult>, usize) {
    let mut results = Vec::new();
    let mut skipped = 0;
    for file in &engine.checked.tests {
        for test in &file.tests {
            if filter.is_some_and(|f| !test.name.value.contains(f)) {
                skipped += 1;
                continue;
            }
            results.push(run_one(engine, file, test));
        }
    }
    (results, skipped)
}

fn run_one(engine: &Engine, file: &TestFile, test: &TestDef) -> TestResult {
    let name = test.name.value.clone();
    let fail = |error: TestError, span: Span| TestResult {
        name: name.clone(),
        file: file.source.name.to_string(),
        passed: false,
        diagnostic: Some(Diagnostic::at(&error, &file.source, span, "")),
        decision: None,
    };
    let Some(case) = &test.case else {
        return fail(
            TestError::Incomplete {
                test: name.clone(),
                clause: "case",
            },
            test.name.span,
        );
    };
    let Some(expect) = &test.expect else {
        return fail(
            TestError::Incomplete {
                test: name.clone(),
                clause: "expect",
            },
            test.name.span,
        );
    };
    let (text, case_span) = match case_text(case, &file.source, &name) {
        Ok(found) => found,
        Err((error, span)) => return fail(error, span),
    };
    let record = match engine.read_json(&text, 1) {
        Ok(record) => record,
        Err(RecordError {
            kind,
            field,
            message,
            ..
        }) => {
            let message = match field {
                Some(field) => format!("{kind} in `{field}`: {message}"),
                None => format!("{kind}: {message}"),
            };
            return fail(
                TestError::BadCase {
                    test: name.clone(),
                    message,
                },
                case_span,
            );
        }
    };
    let choice = match (&test.version, &test.as_of) {
        (Some(v), _) => match engine.policy.version_index(&v.text) {
            Some(index) => VersionChoice::Forced(index),
            None => VersionChoice::InForce,
        },
        (None, Some(day)) => VersionChoice::AsOf(day.date),
        (None, None) => VersionChoice::InForce,
    };
    let options = EvalOptions {
        choice,
        explain: true,
    };
    let decision = match engine.decide(&record, options) {
        Record::Decision(d) => *d,
        Record::Error(e) => {
            return fail(
                TestError::BadCase {
                    test: name.clone(),
                    message: e.message,
                },
                case_span,
            );
        }
    };
    let mut problems = Vec::new();
    if *decision.outcome != *expect.outcome.name {
        problems.push(format!("outcome `{}`", expect.outcome.name));
    }
    if let Some(rule) = &expect.rule {
        if *decision.rule != *rule.name {
            problems.push(format!("rule `{}`", rule.name));
        }
    }
    for attr in &expect.with {
        let wanted = match &attr.value {
            AttrValue::Expr(e) => literal_scalar(e),
            AttrValue::Type(_) => None,
        };
        let found = decision
            .attributes
            .iter()
            .find(|(n, _)| **n == *attr.name.name)
            .map(|(_, v)| v);
        if wanted.is_none() || found != wanted.as_ref() {
            problems.push(format!(
                "`{}: {}`",
                attr.name.name,
                wanted.map_or("?".to_string(), |w| w.to_string())
            ));
        }
    }
    for cite in &expect.cites {
        if !decision.cites.iter().any(|c| c.contains(&cite.value)) {
            problems.push(format!("a citation of \"{}\"", cite.value));
        }
    }
    if problems.is_empty() {
        return TestResult {
            name,
            file: file.source.name.to_string(),
            passed: true,
            diagnostic: None,
            decision: Some(decision),
        };
    }
    let attributes: Vec<String> = decision
        .attributes
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    let found = format!(
        "version {} decided `{}` by rule `{}`{}",
        decision.version,
        decision.outcome,
        decision.rule,
        if attributes.is_empty() {
            String::new()
        } else {
            format!(" with {{ {} }}", attributes.join(", "))
        }
    );
    let error = TestError::Mismatch {
        test: name.clone(),
        expected: problems.join(", "),
        found,
    };
    let mut diagnostic = Diagnostic::at(&error, &file.source, expect.span, "expected here");
    if let Some(program) = engine
        .policy
        .programs
        .iter()
        .find(|p| p.version == decision.version)
    {
        let rule = program
            .rules
            .iter()
            .find(|r| r.name == decision.rule)
            .unwrap_or(&program.otherwise);
        diagnostic = diagnostic.with_related(Diagnostic::note(
            format!(
                "rule `{}` of version {} decided instead",
                rule.name, decision.version
            ),
            &program.source,
            first_line(&program.source, rule.span),
            "this rule decided",
        ));
    }
    if let Some(trace) = &decision.trace {
        let mut lines = vec![
            diagnostic.help.clone().unwrap_or_default(),
            "trace:".to_string(),
        ];
        for rule in &trace.rules {
            lines.push(format!(
                "  {} {}",
                if rule.held { "✔" } else { "✘" },
                rule.rule
            ));
            for c in &rule.conditions {
                let state = match c.held {
                    Some(true) => "holds",
                    Some(false) => "fails",
                    None => "not tried",
                };
                let values: Vec<String> =
                    c.values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                lines.push(format!(
                    "      {state}: {}  [{}]",
                    c.condition,
                    values.join("; ")
                ));
            }
        }
        diagnostic.help = Some(lines.join("\n"));
    }
    TestResult {
        name,
        file: file.source.name.to_string(),
        passed: false,
        diagnostic: Some(diagnostic),
        decision: Some(decision),
    }
}

/// The first line of a span: a rule's header, not its whole body.
fn first_line(source: &SourceFile, span: Span) -> Span {
    let text = source.slice(span);
    let end = text.find('\n').map_or(span.end, |i| span.start + i);
    Span::new(span.start, end)
}

/// The JSON text of a test's case, and where it is written.
fn case_text(
    case: &TestCase,
    source: &SourceFile,
    test: &str,
) -> Result<(String, Span), (TestError, Span)> {
    match case {
        TestCase::Inline(expr) => Ok((literal_json(expr).to_string(), expr.span)),
        TestCase::FromFile { path, field, value } => {
            let not_found = |message: String| {
                (
                    TestError::CaseNotFound {
                        test: test.to_string(),
                        message,
                    },
                    path.span,
                )
            };
            // The checker refuses a path outside the folder (`readmit::check::path_outside`).
            let folder = Path::new(&*source.name).parent().unwrap_or(Path::new(""));
            let Some(file) = crate::check::resolve_inside(folder, &path.value) else {
                return Err(not_found(format!(
                    "`{}` is outside the test file's folder",
                    path.value
                )));
            };
            let text = std::fs::read_to_string(file)
                .map_err(|e| not_found(format!("cannot read `{}`: {e}", path.value)))?;
            for line in text.lines() {
                let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                if record.get(&field.name).and_then(|v| v.as_str()) == Some(value.value.as_str()) {
                    return Ok((line.to_string(), path.span.to(value.span)));
                }
            }
            Err(not_found(format!(
                "no record of `{}` has {} \"{}\"",
                path.value, field.name, value.value
            )))
        }
    }
}

/// A record written in the policy language, as JSON: bare words and codes become strings.
fn literal_json(expr: &ast::Expr) -> serde_json::Value {
    use serde_json::Value;
    match &expr.kind {
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Int(i) => Value::from(*i),
        ExprKind::Text(t) => Value::String(t.clone()),
        ExprKind::Date(d) => Value::String(crate::dates::format_date(*d)),
        ExprKind::Country(c) | ExprKind::Name(c) => Value::String(c.clone()),
        ExprKind::List(items) => Value::Array(items.iter().map(literal_json).collect()),
        ExprKind::Record(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, value)| (name.name.clone(), literal_json(value)))
                .collect(),
        ),
        ExprKind::Paren(inner) => literal_json(inner),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => match operand.kind {
            ExprKind::Int(i) => Value::from(i.saturating_neg()),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// An expected attribute value written in a test.
fn literal_scalar(expr: &ast::Expr) -> Option<Scalar> {
    match literal_json(expr) {
        serde_json::Value::Bool(b) => Some(Scalar::Bool(b)),
        serde_json::Value::Number(n) => n.as_i64().map(Scalar::Int),
        serde_json::Value::String(s) => Some(Scalar::Text(s.into_boxed_str())),
        _ => None,
    }
}

/// What the tests reached: rules, outcomes and cited provisions of every version.
pub fn coverage(engine: &Engine, results: &[TestResult]) -> Coverage {
    let mut coverage = Coverage::default();
    for program in &engine.policy.programs {
        let version = program.version.to_string();
        let mut rules: IndexMap<String, Vec<String>> = IndexMap::new();
        let mut outcomes: IndexMap<String, Vec<String>> = IndexMap::new();
        let mut provisions: IndexMap<String, Vec<String>> = IndexMap::new();
        for rule in program
            .rules
            .iter()
            .chain(std::iter::once(&program.otherwise))
        {
            rules.insert(rule.name.to_string(), Vec::new());
            for cite in rule.cites.iter() {
                provisions.entry(cite.clone()).or_default();
            }
        }
        let decided: BTreeSet<usize> = program
            .rules
            .iter()
            .chain(std::iter::once(&program.otherwise))
            .map(|r| r.outcome)
            .chain(program.caps.iter().map(|c| c.overflow))
            .collect();
        for index in decided {
            if let Some(o) = program.outcomes.get(index) {
                outcomes.insert(o.name.to_string(), Vec::new());
            }
        }
        for result in results {
            let Some(d) = &result.decision else { continue };
            if d.version != program.version {
                continue;
            }
            if let Some(tests) = rules.get_mut(&*d.rule) {
                tests.push(result.name.clone());
            }
            if let Some(tests) = outcomes.get_mut(&*d.outcome) {
                tests.push(result.name.clone());
            }
            for cite in d.cites.iter() {
                if let Some(tests) = provisions.get_mut(cite) {
                    tests.push(result.name.clone());
                }
            }
        }
        coverage.rules.insert(version.clone(), rules);
        coverage.outcomes.insert(version.clone(), outcomes);
        coverage.provisions.insert(version, provisions);
    }
    coverage
}
