//! readmit: a rules engine with its own policy language for return and readmission rules.
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! ```text
//! policy text ──syntax──▶ AST ──check──▶ checked policy ──compile──▶ program (slots)
//! case records ──cases──▶ typed case (slots) ─┐                         │
//!                                             └──────eval───────────────┴─▶ decision
//! decisions ──caps (ledger)──▶ allocated decisions ──report──▶ JSONL / CSV / table
//! ```
//!
//! The public API is small: load a policy folder into an [`Engine`], read case records, and
//! decide them one by one ([`Engine::decide`]) or as a batch with caps allocated
//! ([`Engine::decide_values`], or [`engine::BatchRun`] for streams).
//!
//! ```no_run
//! use readmit::{Engine, EvalOptions, Record};
//!
//! let engine = Engine::load(std::path::Path::new("policies/storskog")).expect("a valid policy");
//! let case = serde_json::json!({
//!     "id": "A-1", "nationality": "SY", "entry_date": "2015-10-01",
//!     "travel": {"origin": "SY", "route": ["SY", "RU"], "direct_from_war_zone": true},
//!     "special_connection": false, "decision_date": "2015-12-01"
//! });
//! for record in engine.decide_values([&case], EvalOptions::default()) {
//!     if let Record::Decision(decision) = record {
//!         println!("{} → {} by {}", decision.id, decision.outcome, decision.rule);
//!     }
//! }
//! ```

// Diagnostics are large and returned only on the cold path of a failure.
#![allow(clippy::result_large_err)]

pub mod ast;
pub mod caps;
pub mod cases;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod compile;
pub mod country;
pub mod dates;
pub mod diagnostics;
pub mod diff;
pub mod engine;
pub mod eval;
pub mod format;
pub mod report;
pub mod source;
pub mod syntax;
pub mod testing;
pub mod versions;
pub mod witness;

pub use engine::{Engine, EvalOptions, VersionChoice};
pub use report::{Decision, Record};
