//! Report: decisions and record errors → JSON Lines, JSON, CSV or a table, and the summary.
//!
//! Input: [`Record`]s in input order, already allocated against caps. Output: text in the
//! contract of storskog-policy.md §8. The report never re-evaluates anything.

mod fast;
mod summary;
mod writers;

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

pub use fast::{DecisionParts, JsonTemplates};
pub use summary::Summary;
pub(crate) use writers::cell;
pub use writers::{OutputFormat, RecordWriter};

use crate::cases::RecordError;
use crate::eval::{Scalar, Trace};

/// The decision of one case, as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The physical line of the record in the input.
    pub line: usize,
    /// The case id.
    pub id: String,
    /// The policy.
    pub policy: Arc<str>,
    /// The version that decided.
    pub version: Arc<str>,
    /// The outcome.
    pub outcome: Arc<str>,
    /// The deciding rule (`otherwise` for the default).
    pub rule: Arc<str>,
    /// The outcome's attributes, in declared order.
    pub attributes: Vec<(Arc<str>, Scalar)>,
    /// The cap the decision was allocated under.
    pub cap: Option<Arc<str>>,
    /// Place in the queue of the cap's overflow (1 = next), for this run.
    pub queue_position: Option<u64>,
    /// The reason, in words.
    pub reason: Arc<str>,
    /// The legal provisions cited.
    pub cites: Arc<[String]>,
    /// SHA-256 of the version file that decided.
    pub policy_sha256: Arc<str>,
    /// Consistency warnings about the record.
    pub warnings: Vec<Arc<str>>,
    /// Why, rule by rule (with `--explain`).
    pub trace: Option<Trace>,
}

/// One output record: a decision or an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A decided case.
    Decision(Box<Decision>),
    /// A record that could not be decided.
    Error(RecordError),
}

impl Record {
    /// The input line.
    pub fn line(&self) -> usize {
        match self {
            Record::Decision(d) => d.line,
            Record::Error(e) => e.line,
        }
    }
}

struct Attributes<'a>(&'a [(Arc<str>, Scalar)]);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(&**name, value)?;
        }
        map.end()
    }
}

impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let extra = usize::from(!self.warnings.is_empty()) + usize::from(self.trace.is_some());
        let mut map = serializer.serialize_map(Some(12 + extra))?;
        map.serialize_entry("line", &self.line)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("policy", &*self.policy)?;
        map.serialize_entry("version", &*self.version)?;
        map.serialize_entry("outcome", &*self.outcome)?;
        map.serialize_entry("rule", &*self.rule)?;
        map.serialize_entry("attributes", &Attributes(&self.attributes))?;
        map.serialize_entry("cap", &self.cap.as_deref())?;
        map.serialize_entry("queue_position", &self.queue_position)?;
        map.serialize_entry("reason", &*self.reason)?;
        map.serialize_entry("cites", &*self.cites)?;
        map.serialize_entry("policy_sha256", &*self.policy_sha256)?;
        if !self.warnings.is_empty() {
            map.serialize_entry("warnings", &self.warnings)?;
        }
        if let Some(trace) = &self.trace {
            map.serialize_entry("trace", trace)?;
        }
        map.end()
    }
}

struct ErrorBody<'a>(&'a RecordError);

impl Serialize for ErrorBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("kind", self.0.kind.as_str())?;
        map.serialize_entry("field", &self.0.field)?;
        map.serialize_entry("message", &self.0.message)?;
        map.end()
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Record::Decision(d) => d.serialize(serializer),
            Record::Error(e) => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("line", &e.line)?;
                map.serialize_entry("id", &e.id)?;
                map.serialize_entry("error", &ErrorBody(e))?;
                map.end()
            }
        }
    }
}
