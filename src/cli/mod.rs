//! The command line: one file per subcommand. Each returns the process exit code.
//!
//! Exit codes: 0 success; 1 the policy has errors (or tests fail, or a checked diff changed);
//! 2 usage or I/O error; 3 some case records were errors (all others decided).

mod check;
mod diff;
mod eval;
mod fmt;
mod ledger;
mod test;

use std::io::IsTerminal;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diagnostics::{Diagnostic, ErrorFormat, render};

/// readmit: return and readmission rules, written down precisely and applied.
#[derive(Debug, Parser)]
#[command(name = "readmit", version, about, long_about = None)]
pub struct Cli {
    /// How diagnostics are printed: human (colour on a terminal), plain, or json (one object per line).
    #[arg(long, global = true, value_enum, default_value_t = ErrorFormatArg::Human)]
    pub error_format: ErrorFormatArg,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--error-format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ErrorFormatArg {
    /// Graphical, coloured when stderr is a terminal.
    Human,
    /// Graphical without colour.
    Plain,
    /// One JSON object per diagnostic and line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check policy files or folders and print every error and warning.
    ///
    /// Exit status: 0 no errors (warnings allowed), 1 errors (or warnings with --deny-warnings),
    /// 2 a path cannot be read.
    Check(check::CheckArgs),
    /// Decide a batch of cases by the version in force, and write one decision per case.
    ///
    /// Exit status: 0 every case decided; 3 some records were errors (every other case was
    /// decided); 1 the policy has errors; 2 a usage or I/O error.
    Eval(eval::EvalArgs),
    /// Run the policy's tests; print one line per test and `N passed, M failed`.
    ///
    /// Exit status: 0 all passed (and coverage met), 1 a test failed, 2 a usage or I/O error.
    Test(test::TestArgs),
    /// Compare the decisions of two policies or versions over a corpus of cases.
    ///
    /// Exit status: 0 (or 1 with --fail-on-change when a decision changed that --allow does not
    /// permit), 1 a policy has errors, 2 a usage, I/O or git error.
    Diff(diff::DiffArgs),
    /// Inspect and maintain the ledger of cap places: show, list, release, import.
    Ledger(ledger::LedgerArgs),
    /// Rewrite policy files in the canonical layout, in place; with --check, print a diff instead.
    ///
    /// Exit status: 0 nothing to do or all rewritten (with --check: nothing would change),
    /// 1 a file does not parse (it is left as it is) or, with --check, a file would change,
    /// 2 a path cannot be read or written.
    Fmt(fmt::FmtArgs),
}

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let format = match cli.error_format {
        ErrorFormatArg::Human if std::io::stderr().is_terminal() => ErrorFormat::Human,
        ErrorFormatArg::Human | ErrorFormatArg::Plain => ErrorFormat::Plain,
        ErrorFormatArg::Json => ErrorFormat::Json,
    };
    match cli.command {
        Command::Check(args) => check::run(&args, format),
        Command::Eval(args) => eval::run(&args, format),
        Command::Ledger(args) => ledger::run(&args, format),
        Command::Test(args) => test::run(&args, format),
        Command::Diff(args) => diff::run(&args, format),
        Command::Fmt(args) => fmt::run(&args, format),
    }
}

/// Prints diagnostics to stderr.
fn print_diagnostics(diagnostics: &[Diagnostic], format: ErrorFormat) {
    if !diagnostics.is_empty() {
        eprint!("{}", render(diagnostics, format));
    }
}
