//! readmit: a rules engine with its own policy language for return and readmission rules.
pub mod ast;
pub mod country;
pub mod dates;
pub mod diagnostics;
pub mod source;
pub mod syntax;
