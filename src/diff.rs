//! Diff: the decisions of two policies (or versions) over one corpus of cases, compared.
//!
//! Input: two engines with their version choices, and the decided records of the corpus under
//! each (caps allocated on each side the same way, without a ledger). Output: the transition
//! matrix (old outcome → new outcome: count), every case whose outcome, rule or attributes
//! changed, and the totals. Error records take part as the outcome `error:KIND`.

use indexmap::IndexMap;
use serde::Serialize;

use crate::report::Record;

/// A decision reduced to what a diff compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    /// The outcome, or `error:KIND` for an error record.
    pub outcome: String,
    /// The deciding rule (empty for errors).
    pub rule: String,
    /// The version that decided.
    pub version: String,
    /// The attributes as `name: value`.
    pub attributes: Vec<String>,
    /// The cap's queue position, for overflowed cases.
    pub queue_position: Option<u64>,
}

impl Side {
    fn of(record: &Record) -> Side {
        match record {
            Record::Decision(d) => Side {
                outcome: d.outcome.to_string(),
                rule: d.rule.to_string(),
                version: d.version.to_string(),
                attributes: d
                    .attributes
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect(),
                queue_position: d.queue_position,
            },
            Record::Error(e) => Side {
                outcome: format!("error:{}", e.kind),
                rule: String::new(),
                version: String::new(),
                attributes: Vec::new(),
                queue_position: None,
            },
        }
    }

    /// Outcome, rule or attributes differ (the version alone is no change).
    fn differs(&self, other: &Side) -> bool {
        self.outcome != other.outcome
            || self.rule != other.rule
            || self.attributes != other.attributes
    }
}

/// One case whose decision changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The case id (or `line N` when it has none).
    pub id: String,
    /// The input line.
    pub line: usize,
    /// Before.
    pub old: Side,
    /// After.
    pub new: Side,
    /// Whether `--allow` permits it.
    pub allowed: bool,
}

/// The comparison of two runs over one corpus.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffReport {
    /// Records compared.
    pub total: usize,
    /// Records whose decision is the same.
    pub unchanged: usize,
    /// (old outcome, new outcome) → cases, for every pair seen, changed or not.
    pub transitions: Vec<(String, String, usize)>,
    /// The changed cases, in input order.
    pub changes: Vec<Change>,
}

impl DiffReport {
    /// Changes that no `--allow` permits.
    pub fn disallowed(&self) -> usize {
        self.changes.iter().filter(|c| !c.allowed).count()
    }
}

/// A permitted transition: `OLD->NEW`, either side `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// The old outcome, or `*`.
    pub old: String,
    /// The new outcome, or `*`.
    pub new: String,
}

impl std::str::FromStr for Allow {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once("->") {
            Some((old, new)) if !old.trim().is_empty() && !new.trim().is_empty() => Ok(Allow {
                old: old.trim().to_string(),
                new: new.trim().to_string(),
            }),
            _ => Err(format!(
                "`{s}` is not a transition: write OLD->NEW, e.g. return_to_russia->no_return_route (`*` for any)"
            )),
        }
    }
}

impl Allow {
    fn permits(&self, old: &str, new: &str) -> bool {
        (self.old == "*" || self.old == old) && (self.new == "*" || self.new == new)
    }
}

/// Compares two runs over the same corpus, record by record in input order.
pub fn compare(old: &[Record], new: &[Record], allow: &[Allow]) -> DiffReport {
    let mut report = DiffReport::default();
    let mut matrix: IndexMap<(String, String), usize> = IndexMap::new();
    for (before, after) in old.iter().zip(new) {
        report.total += 1;
        let (a, b) = (Side::of(before), Side::of(after));
        *matrix
            .entry((a.outcome.clone(), b.outcome.clone()))
            .or_default() += 1;
        if a.differs(&b) {
            let id = match before {
                Record::Decision(d) => d.id.clone(),
                Record::Error(e) => e.id.clone().unwrap_or_else(|| format!("line {}", e.line)),
            };
            let allowed = allow.iter().any(|x| x.permits(&a.outcome, &b.outcome));
            report.changes.push(Change {
                id,
                line: before.line(),
                old: a,
                new: b,
                allowed,
            });
        } else {
            report.unchanged += 1;
        }
    }
    let mut transitions: Vec<(String, String, usize)> =
        matrix.into_iter().map(|((a, b), n)| (a, b, n)).collect();
    transitions.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| (&x.0, &x.1).cmp(&(&y.0, &y.1))));
    report.transitions = transitions;
    report
}

/// How many of the cases of a transition changed (an outcome kept, but by another rule or with
/// other attributes, is a change too).
fn changed_in(report: &DiffReport, old: &str, new: &str) -> usize {
    report
        .changes
        .iter()
        .filter(|c| c.old.outcome == old && c.new.outcome == new)
        .count()
}

fn decided(side: &Side) -> String {
    if side.rule.is_empty() {
        side.outcome.clone()
    } else {
        format!("{} by {}", side.outcome, side.rule)
    }
}

/// The report as a table for a terminal.
pub fn render_table(report: &DiffReport, title: &str) -> String {
    let mut out = format!(
        "{title}\n{} cases: {} unchanged, {} changed",
        report.total,
        report.unchanged,
        report.changes.len()
    );
    let disallowed = report.disallowed();
    if disallowed != report.changes.len() {
        out.push_str(&format!(" ({disallowed} not allowed)"));
    }
    out.push_str("\n\ntransitions (old outcome → new outcome: cases)\n");
    for (old, new, n) in &report.transitions {
        let changed = changed_in(report, old, new);
        let mark = if changed > 0 { "*" } else { " " };
        let note = if old == new && changed > 0 {
            format!("  ({changed} by another rule or with other attributes)")
        } else {
            String::new()
        };
        out.push_str(&format!("  {mark} {old:<24} → {new:<24} {n:>6}{note}\n"));
    }
    if !report.changes.is_empty() {
        out.push_str("\nchanged cases\n");
        for c in &report.changes {
            out.push_str(&format!(
                "  {:<16} {:<44} → {}{}\n",
                crate::report::cell(&c.id),
                decided(&c.old),
                decided(&c.new),
                if c.allowed { "  (allowed)" } else { "" }
            ));
            if c.old.outcome == c.new.outcome && c.old.attributes != c.new.attributes {
                out.push_str(&format!(
                    "  {:<16} attributes {{{}}} → {{{}}}\n",
                    "",
                    crate::report::cell(&c.old.attributes.join(", ")),
                    crate::report::cell(&c.new.attributes.join(", "))
                ));
            }
        }
    }
    out
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The report as Markdown, for a pull-request comment.
pub fn render_markdown(report: &DiffReport, title: &str) -> String {
    let mut out = format!("### {}\n\n", md_escape(title));
    out.push_str(&format!(
        "**{}** cases: **{}** unchanged, **{}** changed",
        report.total,
        report.unchanged,
        report.changes.len()
    ));
    let disallowed = report.disallowed();
    if disallowed != report.changes.len() {
        out.push_str(&format!(" ({disallowed} not allowed)"));
    }
    out.push_str("\n\n| old outcome | new outcome | cases | changed |\n|---|---|---:|---:|\n");
    for (old, new, n) in &report.transitions {
        let changed = changed_in(report, old, new);
        let (old, new) = if changed == 0 {
            (format!("`{old}`"), format!("`{new}`"))
        } else {
            (format!("**`{old}`**"), format!("**`{new}`**"))
        };
        out.push_str(&format!("| {old} | {new} | {n} | {changed} |\n"));
    }
    if !report.changes.is_empty() {
        out.push_str("\n<details><summary>Changed cases</summary>\n\n| case | line | old | new | |\n|---|---:|---|---|---|\n");
        for c in &report.changes {
            let with_attributes = |s: &Side| {
                if s.attributes.is_empty() {
                    format!("`{}`", decided(s))
                } else {
                    format!("`{}` ({})", decided(s), s.attributes.join(", "))
                }
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                md_escape(&c.id),
                c.line,
                md_escape(&with_attributes(&c.old)),
                md_escape(&with_attributes(&c.new)),
                if c.allowed { "allowed" } else { "" }
            ));
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// The report as JSON Lines: one line per transition and change, then the totals.
pub fn render_jsonl(report: &DiffReport) -> String {
    let mut out = String::new();
    for (old, new, n) in &report.transitions {
        out.push_str(
            &serde_json::json!({"kind": "transition", "old": old, "new": new, "cases": n})
                .to_string(),
        );
        out.push('\n');
    }
    for change in &report.changes {
        let mut value = serde_json::to_value(change).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert("kind".into(), "change".into());
        }
        out.push_str(&value.to_string());
        out.push('\n');
    }
    out.push_str(
        &serde_json::json!({"kind": "totals", "cases": report.total, "unchanged": report.unchanged,
            "changed": report.changes.len(), "not_allowed": report.disallowed()})
        .to_string(),
    );
    out.push('\n');
    out
}
