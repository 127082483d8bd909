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
        match record {
            Record::Decision(d) => {
                self.count_decided(&d.version, &d.outcome, !d.warnings.is_empty())
            }
            Record::Error(e) => self.count_error(e.kind.as_str()),
        }
    }

    /// Counts one decision.
    pub fn count_decided(&mut self, version: &str, outcome: &str, warned: bool) {
        self.read += 1;
        self.decided += 1;
        bump(&mut self.by_outcome, outcome);
        bump(&mut self.by_version, version);
        if warned {
            self.warned += 1;
        }
    }

    /// Counts `decided` decisions of one version and outcome, `warned` of them with warnings.
    pub fn add_decided(&mut self, version: &str, outcome: &str, decided: usize, warned: usize) {
        self.read += decided;
        self.decided += decided;
        *self.by_outcome.entry(outcome.to_string()).or_default() += decided;
        *self.by_version.entry(version.to_string()).or_default() += decided;
        self.warned += warned;
    }

    /// Counts one error record.
    pub fn count_error(&mut self, kind: &str) {
        self.read += 1;
        self.errors += 1;
        bump(&mut self.by_error, kind);
    }
}

/// One more under `key`, allocating the key only the first time.
fn bump(map: &mut IndexMap<String, usize>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
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
