//! The command line: one file per subcommand. Each returns the process exit code.
//!
//! Exit codes: 0 success; 1 the policy has errors (or tests fail, or a checked diff changed);
//! 2 usage or I/O error (a closed pipe or a full disk included); 3 some case records were
//! errors (all others decided); 130 interrupted (Ctrl-C), nothing recorded.
//!
//! Standard output is written through [`outln!`], never `println!`: a closed pipe
//! (`readmit … | head`) or a full disk must end the command with a message, not a panic.

mod check;
mod diff;
mod eval;
mod fmt;
mod ledger;
mod test;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// The first error writing to standard output (a closed pipe, a full disk): once it is set,
/// nothing more is written there, and the command ends with it.
static STDOUT_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Writes to standard output unless a write has failed already; remembers the first failure.
fn write_stdout(write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>) {
    if STDOUT_ERROR.get().is_some() {
        return;
    }
    if let Err(e) = write(&mut std::io::stdout().lock()) {
        let _ = STDOUT_ERROR.set(e.to_string());
    }
}

/// Writes a line to standard output (see [`write_stdout`]).
pub(crate) fn write_out(args: std::fmt::Arguments<'_>) {
    write_stdout(|out| out.write_fmt(args).and_then(|()| out.write_all(b"\n")));
}

/// Writes text to standard output as it is (see [`write_stdout`]).
pub(crate) fn write_raw(text: &str) {
    write_stdout(|out| out.write_all(text.as_bytes()));
}

/// `println!` that never panics: see [`write_out`].
macro_rules! outln {
    () => { $crate::cli::write_out(format_args!("")) };
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!($($arg)*)) };
}
pub(crate) use outln;

/// Set by Ctrl-C; a batch stops at the next chunk and records nothing.
pub(crate) static INTERRUPTED: std::sync::LazyLock<std::sync::Arc<AtomicBool>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(AtomicBool::new(false)));

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let flag = INTERRUPTED.clone();
    // If the handler cannot be installed, Ctrl-C keeps its default effect (the process ends,
    // and the ledger's transaction is rolled back by SQLite).
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    let code = run_command(cli);
    if let Some(reason) = STDOUT_ERROR.get() {
        eprintln!(
            "readmit: standard output could not be written ({reason}); the output is incomplete"
        );
        return if code == 0 || code == 3 { 2 } else { code };
    }
    code
}

fn run_command(cli: Cli) -> u8 {
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
