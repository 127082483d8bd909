//! `readmit ledger show|list|release|import`: the caseworker's view of cap places.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{outln, print_diagnostics};
use crate::caps::ledger::{Ledger, LedgerError, read_import};
use crate::diagnostics::{Describe, Diagnostic, ErrorFormat};
use crate::engine::Engine;

/// Arguments of `readmit ledger`.
#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// What to do with the ledger.
    #[command(subcommand)]
    pub action: LedgerAction,
}

/// `--format` of `show` and `list`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TableOrJson {
    /// A table for people.
    Table,
    /// JSON.
    Json,
}

/// The ledger subcommands.
#[derive(Debug, Subcommand)]
pub enum LedgerAction {
    /// Per cap of a policy: its limit, the grants that count, and the places left.
    Show {
        /// The policy folder (its caps' limits and counting rules).
        policy: PathBuf,
        /// The ledger file.
        #[arg(long, value_name = "FILE")]
        ledger: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
        format: TableOrJson,
    },
    /// The grants, oldest first.
    List {
        /// The ledger file.
        #[arg(long, value_name = "FILE")]
        ledger: PathBuf,
        /// Only grants of this cap.
        #[arg(long)]
        cap: Option<String>,
        /// Only grants of this policy.
        #[arg(long)]
        policy: Option<String>,
        /// Released grants too.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TableOrJson::Table)]
        format: TableOrJson,
    },
    /// Frees a case's place. The grant is kept, marked released with the reason and time.
    Release {
        /// The ledger file.
        #[arg(long, value_name = "FILE")]
        ledger: PathBuf,
        /// The cap.
        #[arg(long)]
        cap: String,
        /// The case id.
        #[arg(long = "case", value_name = "ID")]
        case_id: String,
        /// Why the place is freed (kept in the ledger).
        #[arg(long)]
        reason: String,
        /// The policy, where caps of several policies share a name.
        #[arg(long)]
        policy: Option<String>,
    },
    /// Seeds grants made before readmit was used, from CSV or JSON Lines with the case id and
    /// the as-of date (e.g. `id,decision_date`). Importing the same file again adds nothing.
    Import {
        /// The policy folder.
        policy: PathBuf,
        /// The ledger file.
        #[arg(long, value_name = "FILE")]
        ledger: PathBuf,
        /// The cap the grants were made under.
        #[arg(long)]
        cap: String,
        /// The grants (CSV if the name ends in .csv, JSON Lines otherwise).
        file: PathBuf,
    },
}

#[derive(Debug, thiserror::Error)]
enum LedgerCliError {
    #[error("cannot read `{path}`: {reason}")]
    CannotRead { path: String, reason: String },
    #[error("policy `{policy}` has no cap `{cap}`")]
    UnknownCap {
        policy: String,
        cap: String,
        caps: Vec<String>,
    },
    #[error("`{path}`: {message}")]
    BadImport { path: String, message: String },
}

impl Describe for LedgerCliError {
    fn code(&self) -> &'static str {
        match self {
            LedgerCliError::CannotRead { .. } => "readmit::io::cannot_read",
            LedgerCliError::UnknownCap { .. } => "readmit::ledger::unknown_cap",
            LedgerCliError::BadImport { .. } => "readmit::ledger::bad_import",
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            LedgerCliError::CannotRead { .. } => "check the path and its permissions".into(),
            LedgerCliError::UnknownCap { caps, .. } => format!("the caps are {}", crate::diagnostics::list_words(caps)),
            LedgerCliError::BadImport { .. } => {
                "each grant needs the case `id` and its date, e.g. a CSV header `id,decision_date`; nothing was imported".into()
            }
        })
    }
}

/// One line of `ledger show`.
#[derive(serde::Serialize)]
struct CapRow {
    policy: String,
    cap: String,
    limit: u64,
    counted: u64,
    left: u64,
}

fn open(path: &std::path::Path, format: ErrorFormat) -> Option<Ledger> {
    match Ledger::open(path) {
        Ok(ledger) => Some(ledger),
        Err(e) => {
            print_diagnostics(&[Diagnostic::bare(&e)], format);
            None
        }
    }
}

fn load(policy: &std::path::Path, format: ErrorFormat) -> Result<Engine, u8> {
    Engine::load(policy).map_err(|diagnostics| {
        print_diagnostics(&diagnostics, format);
        1
    })
}

fn ledger_failed(e: &LedgerError, format: ErrorFormat) -> u8 {
    print_diagnostics(&[Diagnostic::bare(e)], format);
    2
}

/// The caps of a policy by name; a later version's declaration replaces an earlier one's.
fn caps_of(engine: &Engine) -> Vec<&crate::compile::CompiledCap> {
    let mut caps: Vec<&crate::compile::CompiledCap> = Vec::new();
    for program in &engine.policy.programs {
        for cap in &program.caps {
            match caps.iter_mut().find(|c| c.name == cap.name) {
                Some(existing) => *existing = cap,
                None => caps.push(cap),
            }
        }
    }
    caps
}

pub fn run(args: &LedgerArgs, format: ErrorFormat) -> u8 {
    match &args.action {
        LedgerAction::Show {
            policy,
            ledger,
            format: output,
        } => {
            let engine = match load(policy, format) {
                Ok(e) => e,
                Err(code) => return code,
            };
            let Some(ledger) = open(ledger, format) else {
                return 2;
            };
            let mut rows = Vec::new();
            for cap in caps_of(&engine) {
                let counted = match ledger.count(
                    engine.name(),
                    cap.counts_caps.as_deref(),
                    cap.counts_from,
                ) {
                    Ok(n) => n,
                    Err(e) => return ledger_failed(&e, format),
                };
                rows.push(CapRow {
                    policy: engine.name().to_string(),
                    cap: cap.name.to_string(),
                    limit: cap.limit,
                    counted,
                    left: cap.limit.saturating_sub(counted),
                });
            }
            match output {
                TableOrJson::Json => {
                    outln!("{}", serde_json::to_string(&rows).unwrap_or_default())
                }
                TableOrJson::Table => {
                    outln!(
                        "{:<24} {:>7} {:>8} {:>6}",
                        "CAP",
                        "LIMIT",
                        "COUNTED",
                        "LEFT"
                    );
                    for row in &rows {
                        outln!(
                            "{:<24} {:>7} {:>8} {:>6}",
                            row.cap,
                            row.limit,
                            row.counted,
                            row.left
                        );
                    }
                }
            }
            0
        }
        LedgerAction::List {
            ledger,
            cap,
            policy,
            all,
            format: output,
        } => {
            let Some(ledger) = open(ledger, format) else {
                return 2;
            };
            let grants = match ledger.list(policy.as_deref(), cap.as_deref(), *all) {
                Ok(g) => g,
                Err(e) => return ledger_failed(&e, format),
            };
            match output {
                TableOrJson::Json => {
                    for grant in &grants {
                        outln!("{}", serde_json::to_string(grant).unwrap_or_default());
                    }
                }
                TableOrJson::Table => {
                    outln!(
                        "{:<12} {:<22} {:<20} {:<11} {:<11} {:<26} STATUS",
                        "POLICY",
                        "CAP",
                        "CASE",
                        "VERSION",
                        "AS OF",
                        "GRANTED AT"
                    );
                    for g in &grants {
                        let status = match (&g.released_at, &g.release_reason) {
                            (Some(at), Some(reason)) => format!("released {at}: {reason}"),
                            (Some(at), None) => format!("released {at}"),
                            _ => "active".to_string(),
                        };
                        outln!(
                            "{:<12} {:<22} {:<20} {:<11} {:<11} {:<26} {}",
                            g.policy,
                            g.cap,
                            g.case_id,
                            g.version,
                            g.as_of,
                            g.granted_at,
                            status
                        );
                    }
                    eprintln!("{} grants", grants.len());
                }
            }
            0
        }
        LedgerAction::Release {
            ledger,
            cap,
            case_id,
            reason,
            policy,
        } => {
            let Some(mut ledger) = open(ledger, format) else {
                return 2;
            };
            match ledger.release(policy.as_deref(), cap, case_id, reason) {
                Ok(row) => {
                    outln!(
                        "released the place of case {} under cap {} (policy {}), granted {}; reason: {}",
                        row.case_id,
                        row.cap,
                        row.policy,
                        row.granted_at,
                        reason
                    );
                    0
                }
                Err(e @ LedgerError::NoSuchGrant { .. }) => {
                    print_diagnostics(&[Diagnostic::bare(&e)], format);
                    1
                }
                Err(e) => ledger_failed(&e, format),
            }
        }
        LedgerAction::Import {
            policy,
            ledger,
            cap,
            file,
        } => {
            let engine = match load(policy, format) {
                Ok(e) => e,
                Err(code) => return code,
            };
            let caps: Vec<String> = caps_of(&engine)
                .iter()
                .map(|c| c.name.to_string())
                .collect();
            if !caps.contains(cap) {
                let e = LedgerCliError::UnknownCap {
                    policy: engine.name().to_string(),
                    cap: cap.clone(),
                    caps,
                };
                print_diagnostics(&[Diagnostic::bare(&e)], format);
                return 2;
            }
            let text = match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) => {
                    let e = LedgerCliError::CannotRead {
                        path: file.display().to_string(),
                        reason: e.to_string(),
                    };
                    print_diagnostics(&[Diagnostic::bare(&e)], format);
                    return 2;
                }
            };
            let is_csv = file.extension().is_some_and(|e| e == "csv");
            let grants = match read_import(&text, is_csv, &engine.policy.as_of_field) {
                Ok(g) => g,
                Err(message) => {
                    let e = LedgerCliError::BadImport {
                        path: file.display().to_string(),
                        message,
                    };
                    print_diagnostics(&[Diagnostic::bare(&e)], format);
                    return 2;
                }
            };
            let Some(mut ledger) = open(ledger, format) else {
                return 2;
            };
            match ledger.import(engine.name(), cap, &grants, &file.display().to_string()) {
                Ok((added, skipped)) => {
                    outln!(
                        "imported {added} grants into cap {cap}; {skipped} already held a grant and were skipped"
                    );
                    0
                }
                Err(e) => ledger_failed(&e, format),
            }
        }
    }
}
