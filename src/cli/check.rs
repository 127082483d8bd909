//! `readmit check PATH…`.

use std::path::PathBuf;

use clap::Args;

use super::{outln, print_diagnostics};
use crate::check::check_path;
use crate::diagnostics::{Diagnostic, ErrorFormat, Severity};

/// Arguments of `readmit check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Policy folders (schema + versions + tests/) or single policy files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Fail on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Print, for every rule of every version, a small case record the rule decides (one JSON
    /// object per line), or why there is none.
    #[arg(long)]
    pub witnesses: bool,
}

pub fn run(args: &CheckArgs, format: ErrorFormat) -> u8 {
    let mut all: Vec<Diagnostic> = Vec::new();
    for path in &args.paths {
        let report = check_path(path);
        all.extend(report.diagnostics);
    }
    if args.deny_warnings {
        all = all
            .into_iter()
            .map(|d| d.with_severity(Severity::Error))
            .collect();
    }
    print_diagnostics(&all, format);
    let errors = all.iter().filter(|d| d.is_error()).count();
    let warnings = all.len() - errors;
    let io_error = all
        .iter()
        .any(|d| d.code == "readmit::io::cannot_read" && d.source.is_none());
    if format != ErrorFormat::Json {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "{}: {} error{}, {} warning{}",
            paths.join(", "),
            errors,
            if errors == 1 { "" } else { "s" },
            warnings,
            if warnings == 1 { "" } else { "s" }
        );
    }
    if args.witnesses && errors == 0 {
        for path in &args.paths {
            if let Ok(engine) = crate::engine::Engine::load(path) {
                for witness in crate::witness::witnesses(&engine) {
                    outln!("{}", serde_json::to_string(&witness).unwrap_or_default());
                }
            }
        }
    }
    if io_error {
        2
    } else if errors > 0 {
        1
    } else {
        0
    }
}
