//! `readmit test POLICY`: the policy's own tests, for drafters and CI.

use std::path::PathBuf;

use clap::Args;

use super::{outln, print_diagnostics};
use crate::diagnostics::{Diagnostic, ErrorFormat, render};
use crate::engine::Engine;
use crate::testing::{Coverage, TestResult, coverage, run_tests};

/// Arguments of `readmit test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The policy folder (tests in `tests/*.policy` and in version files).
    pub policy: PathBuf,
    /// Run only the tests whose name contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Also write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Report the rules, outcomes and cited provisions no test reaches.
    #[arg(long)]
    pub coverage: bool,
    /// Fail when fewer than P percent of the rules are reached (implies --coverage).
    #[arg(long, value_name = "P")]
    pub min_coverage: Option<f64>,
}

pub fn run(args: &TestArgs, format: ErrorFormat) -> u8 {
    let engine = match Engine::load(&args.policy) {
        Ok(engine) => engine,
        Err(diagnostics) => {
            print_diagnostics(&diagnostics, format);
            return 1;
        }
    };
    let (results, skipped) = run_tests(&engine, args.filter.as_deref());
    let failures: Vec<Diagnostic> = results
        .iter()
        .filter_map(|r| r.diagnostic.clone())
        .collect();
    for result in &results {
        outln!(
            "{} {}",
            if result.passed { "ok  " } else { "FAIL" },
            result.name
        );
    }
    print_diagnostics(&failures, format);
    let passed = results.iter().filter(|r| r.passed).count();
    let failed = results.len() - passed;
    let mut closing = format!("{passed} passed, {failed} failed");
    if skipped > 0 {
        closing.push_str(&format!(", {skipped} skipped"));
    }
    outln!("{closing}");
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, junit(&engine, &results, skipped)) {
            eprintln!("cannot write `{}`: {e}", path.display());
            return 2;
        }
    }
    let mut ok = failed == 0;
    if args.coverage || args.min_coverage.is_some() {
        let coverage = coverage(&engine, &results);
        super::write_raw(&describe_coverage(&coverage));
        if let Some(minimum) = args.min_coverage {
            let percent = coverage.rule_percent();
            if percent + 1e-9 < minimum {
                outln!("rule coverage {percent:.1}% is below the minimum of {minimum}%");
                ok = false;
            }
        }
    }
    if ok { 0 } else { 1 }
}

fn junit(engine: &Engine, results: &[TestResult], skipped: usize) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new(format!("readmit {}", engine.name()));
    let mut suites: Vec<TestSuite> = Vec::new();
    for result in results {
        let status = if result.passed {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            if let Some(d) = &result.diagnostic {
                status.set_message(d.message.clone());
                status.set_description(render(std::slice::from_ref(d), ErrorFormat::Plain));
            }
            status
        };
        let mut case = TestCase::new(result.name.clone(), status);
        case.set_classname(result.file.clone());
        match suites.iter_mut().find(|s| s.name.as_str() == result.file) {
            Some(suite) => {
                suite.add_test_case(case);
            }
            None => {
                let mut suite = TestSuite::new(result.file.clone());
                suite.add_test_case(case);
                suites.push(suite);
            }
        }
    }
    if skipped > 0 {
        let mut suite = TestSuite::new("filtered out");
        for i in 0..skipped {
            suite.add_test_case(TestCase::new(
                format!("skipped test {}", i + 1),
                TestCaseStatus::skipped(),
            ));
        }
        suites.push(suite);
    }
    report.add_test_suites(suites);
    report.to_string().unwrap_or_default()
}

fn describe_coverage(coverage: &Coverage) -> String {
    let mut out = String::from("\ncoverage\n");
    for (version, rules) in &coverage.rules {
        let reached = rules.values().filter(|t| !t.is_empty()).count();
        out.push_str(&format!(
            "  version {version}: {reached} of {} rules reached\n",
            rules.len()
        ));
        for (rule, tests) in rules {
            match tests.len() {
                0 => out.push_str(&format!("    ✘ rule {rule}: no test reaches it\n")),
                n => out.push_str(&format!(
                    "    ✔ rule {rule}: {n} test{}\n",
                    if n == 1 { "" } else { "s" }
                )),
            }
        }
        if let Some(outcomes) = coverage.outcomes.get(version) {
            let missing: Vec<&str> = outcomes
                .iter()
                .filter(|(_, t)| t.is_empty())
                .map(|(o, _)| o.as_str())
                .collect();
            if !missing.is_empty() {
                out.push_str(&format!(
                    "    outcomes no test reaches: {}\n",
                    missing.join(", ")
                ));
            }
        }
        if let Some(provisions) = coverage.provisions.get(version) {
            let reached = provisions.values().filter(|t| !t.is_empty()).count();
            out.push_str(&format!(
                "    cited provisions: {reached} of {} reached by a test's decision\n",
                provisions.len()
            ));
            for (provision, tests) in provisions {
                if tests.is_empty() {
                    out.push_str(&format!("      ✘ \"{provision}\"\n"));
                }
            }
        }
    }
    out.push_str(&format!(
        "  rules reached: {:.1}%\n",
        coverage.rule_percent()
    ));
    out
}
