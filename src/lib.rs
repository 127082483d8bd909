//! readmit: a rules engine with its own policy language for return and readmission rules.

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
pub mod engine;
pub mod eval;
pub mod report;
pub mod source;
pub mod syntax;
pub mod versions;
