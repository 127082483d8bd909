//! The summary of a batch, printed on stderr.

use std::fmt;

use indexmap::IndexMap;

use super::Record;

/// Counts of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records read.
    pub read: usize,
    /// Records decided.
    pub decided: usize,
    /// Error records.
    pub errors: usize,
    /// Decisions by outcome.
    pub by_outcome: IndexMap<String, usize>,
    /// Decisions by version.
    pub by_version: IndexMap<String, usize>,
    /// Errors by kind.
    pub by_error: IndexMap<String, usize>,
    /// Records with consistency warnings.
    pub warned: usize,
    /// Lines about caps and the ledger.
    pub caps: Vec<String>,
}

impl Summary {
    /// Counts one record.
    pub fn count(&mut self, record: &Record) {
        self.read += 1;
        match record {
            Record::Decision(d) => {
                self.decided += 1;
                *self.by_outcome.entry(d.outcome.to_string()).or_default() += 1;
                *self.by_version.entry(d.version.to_string()).or_default() += 1;
                if !d.warnings.is_empty() {
                    self.warned += 1;
                }
            }
            Record::Error(e) => {
                self.errors += 1;
                *self.by_error.entry(e.kind.to_string()).or_default() += 1;
            }
        }
    }
}

fn counts(map: &IndexMap<String, usize>) -> String {
    let mut entries: Vec<(&String, &usize)> = map.iter().collect();
    entries.sort();
    entries
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} read, {} decided, {} errors",
            self.read, self.decided, self.errors
        )?;
        if !self.by_outcome.is_empty() {
            writeln!(f, "  by outcome: {}", counts(&self.by_outcome))?;
            writeln!(f, "  by version: {}", counts(&self.by_version))?;
        }
        if !self.by_error.is_empty() {
            writeln!(f, "  errors: {}", counts(&self.by_error))?;
        }
        if self.warned > 0 {
            writeln!(f, "  {} decisions carry consistency warnings", self.warned)?;
        }
        for line in &self.caps {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}
