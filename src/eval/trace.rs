//! The trace of an evaluation: why the deciding rule fired and why each earlier one did not.

use std::sync::Arc;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::compile::Condition;

/// Every rule tried, in order, up to the one that decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Trace {
    /// The rules tried.
    pub rules: Vec<RuleTrace>,
}

/// One rule tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleTrace {
    /// The rule's name.
    pub rule: Arc<str>,
    /// Whether it decided.
    pub held: bool,
    /// Its `when`, condition by condition.
    pub conditions: Vec<ConditionTrace>,
    /// Its `unless`, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unless: Option<ConditionTrace>,
}

/// One condition, as written, with the values it read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionTrace {
    /// The condition as written.
    pub condition: Arc<str>,
    /// Whether it held; `None` when an earlier condition already failed.
    pub held: Option<bool>,
    /// What it read: field paths and lets, with their values.
    pub values: IndexMap<Arc<str>, String>,
}

impl ConditionTrace {
    /// A condition not evaluated because an earlier one failed.
    pub(super) fn skipped(condition: &Condition) -> Self {
        ConditionTrace {
            condition: condition.text.clone(),
            held: None,
            values: IndexMap::new(),
        }
    }
}
