//! Output formats. A record is first rendered on its own ([`RecordWriter::render`]), then
//! emitted in order ([`RecordWriter::emit`]), which adds what depends on its position (the
//! commas of a JSON array). Rendered records can so wait in a spool while caps are allocated.

use std::io::{self, Write};
use std::sync::Arc;

use super::Record;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per line.
    Jsonl,
    /// One JSON array.
    Json,
    /// CSV with a header; attributes as `attributes.NAME` columns.
    Csv,
    /// A table for people.
    Table,
}

/// Writes records in one format.
#[derive(Debug)]
pub struct RecordWriter {
    format: OutputFormat,
    attribute_names: Vec<Arc<str>>,
    emitted: usize,
}

/// A cell that a spreadsheet would run as a formula is neutralised with a leading `'`
/// (OWASP, CSV injection).
fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

const CSV_FIXED: &[&str] = &[
    "line",
    "id",
    "policy",
    "version",
    "outcome",
    "rule",
    "cap",
    "queue_position",
    "reason",
    "cites",
    "policy_sha256",
    "warnings",
    "error_kind",
    "error_field",
    "error_message",
];

impl RecordWriter {
    /// A writer; `attribute_names` are the CSV columns for attributes (every attribute any
    /// outcome of the policy declares).
    pub fn new(format: OutputFormat, attribute_names: Vec<Arc<str>>) -> Self {
        RecordWriter {
            format,
            attribute_names,
            emitted: 0,
        }
    }

    /// What comes before the first record.
    pub fn begin(&mut self, out: &mut dyn Write) -> io::Result<()> {
        match self.format {
            OutputFormat::Json => out.write_all(b"["),
            OutputFormat::Csv => {
                let mut header: Vec<String> = CSV_FIXED.iter().map(|s| s.to_string()).collect();
                header.extend(
                    self.attribute_names
                        .iter()
                        .map(|a| format!("attributes.{a}")),
                );
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(&header).map_err(io::Error::other)?;
                out.write_all(
                    &w.into_inner()
                        .map_err(|e| io::Error::other(e.to_string()))?,
                )
            }
            OutputFormat::Table => writeln!(
                out,
                "{:>6}  {:<16} {:<11} {:<22} {:<26} CAP / WHY",
                "LINE", "ID", "VERSION", "OUTCOME", "RULE"
            ),
            OutputFormat::Jsonl => Ok(()),
        }
    }

    /// Renders one record on its own.
    pub fn render(&self, record: &Record) -> Vec<u8> {
        match self.format {
            OutputFormat::Jsonl | OutputFormat::Json => {
                serde_json::to_vec(record).unwrap_or_default()
            }
            OutputFormat::Csv => self.render_csv(record),
            OutputFormat::Table => render_table(record).into_bytes(),
        }
    }

    /// Emits a rendered record at its place in the output.
    pub fn emit(&mut self, rendered: &[u8], out: &mut dyn Write) -> io::Result<()> {
        match self.format {
            OutputFormat::Json => {
                out.write_all(if self.emitted == 0 { b"\n" } else { b",\n" })?;
                out.write_all(rendered)?;
            }
            OutputFormat::Jsonl => {
                out.write_all(rendered)?;
                out.write_all(b"\n")?;
            }
            OutputFormat::Csv | OutputFormat::Table => out.write_all(rendered)?,
        }
        self.emitted += 1;
        Ok(())
    }

    /// Whether records are emitted each on a line of its own and nothing else (JSON Lines).
    pub fn emits_lines(&self) -> bool {
        matches!(self.format, OutputFormat::Jsonl)
    }

    /// Emits `count` rendered records at their place in the output, each already followed by
    /// its line end (only when [`Self::emits_lines`]).
    pub fn emit_lines(
        &mut self,
        lines: &[u8],
        count: usize,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        out.write_all(lines)?;
        self.emitted += count;
        Ok(())
    }

    /// What comes after the last record.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        match self.format {
            OutputFormat::Json => out.write_all(if self.emitted == 0 { b"]\n" } else { b"\n]\n" }),
            _ => Ok(()),
        }?;
        out.flush()
    }

    fn render_csv(&self, record: &Record) -> Vec<u8> {
        let mut cells: Vec<String> =
            vec![String::new(); CSV_FIXED.len() + self.attribute_names.len()];
        let mut set = |i: usize, value: String| {
            if let Some(cell) = cells.get_mut(i) {
                *cell = value;
            }
        };
        match record {
            Record::Decision(d) => {
                set(0, d.line.to_string());
                set(1, d.id.clone());
                set(2, d.policy.to_string());
                set(3, d.version.to_string());
                set(4, d.outcome.to_string());
                set(5, d.rule.to_string());
                set(6, d.cap.as_deref().unwrap_or("").to_string());
                set(
                    7,
                    d.queue_position.map(|q| q.to_string()).unwrap_or_default(),
                );
                set(8, d.reason.to_string());
                set(9, d.cites.join(" | "));
                set(10, d.policy_sha256.to_string());
                set(
                    11,
                    d.warnings
                        .iter()
                        .map(|w| w.to_string())
                        .collect::<Vec<_>>()
                        .join(" | "),
                );
                for (name, value) in &d.attributes {
                    if let Some(i) = self.attribute_names.iter().position(|n| n == name) {
                        set(CSV_FIXED.len() + i, value.to_string());
                    }
                }
            }
            Record::Error(e) => {
                set(0, e.line.to_string());
                set(1, e.id.clone().unwrap_or_default());
                set(12, e.kind.as_str().to_string());
                set(13, e.field.clone().unwrap_or_default());
                set(14, e.message.clone());
            }
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        let safe: Vec<std::borrow::Cow<'_, str>> =
            cells.iter().map(|c| spreadsheet_safe(c)).collect();
        if w.write_record(safe.iter().map(|c| c.as_bytes())).is_err() {
            return Vec::new();
        }
        w.into_inner().unwrap_or_default()
    }
}

/// Text for a terminal: a control character of a record (an escape sequence, a line break in an
/// id) is written as an escape (`\u{1b}`), so that a batch cannot drive the terminal nor forge a
/// row of the table.
pub(crate) fn cell(text: &str) -> std::borrow::Cow<'_, str> {
    crate::diagnostics::escape_chars(text, char::is_control)
}

fn clip(text: &str, width: usize) -> String {
    let text = &*cell(text);
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn render_table(record: &Record) -> String {
    match record {
        Record::Decision(d) => {
            let why = match (&d.cap, d.queue_position) {
                (Some(cap), Some(q)) => format!("{cap}: queue #{q}"),
                (Some(cap), None) => format!("{cap}: place granted"),
                (None, _) => clip(&d.reason, 60),
            };
            let mut line = format!(
                "{:>6}  {:<16} {:<11} {:<22} {:<26} {}\n",
                d.line,
                clip(&d.id, 16),
                clip(&d.version, 11),
                clip(&d.outcome, 22),
                clip(&d.rule, 26),
                why
            );
            if !d.attributes.is_empty() {
                let attrs: Vec<String> = d
                    .attributes
                    .iter()
                    .map(|(n, v)| format!("{n}: {}", cell(&v.to_string())))
                    .collect();
                line.push_str(&format!("{:>8}{}\n", "", attrs.join(", ")));
            }
            for warning in &d.warnings {
                line.push_str(&format!("{:>8}warning: {}\n", "", cell(warning)));
            }
            if let Some(trace) = &d.trace {
                for rule in &trace.rules {
                    line.push_str(&format!(
                        "{:>8}{} {}\n",
                        "",
                        if rule.held { "✔" } else { "✘" },
                        rule.rule
                    ));
                    for c in &rule.conditions {
                        let mark = match c.held {
                            Some(true) => "holds",
                            Some(false) => "fails",
                            None => "not tried",
                        };
                        let values: Vec<String> = c
                            .values
                            .iter()
                            .map(|(k, v)| format!("{k} = {}", cell(&v.to_string())))
                            .collect();
                        line.push_str(&format!("{:>12}{mark}: {}", "", c.condition));
                        if !values.is_empty() {
                            line.push_str(&format!("   [{}]", values.join("; ")));
                        }
                        line.push('\n');
                    }
                }
            }
            line
        }
        Record::Error(e) => format!(
            "{:>6}  {:<16} {:<11} {:<22} {}{}\n",
            e.line,
            clip(e.id.as_deref().unwrap_or("-"), 16),
            "-",
            format!("error: {}", e.kind),
            e.field
                .as_deref()
                .map(|f| format!("{}: ", cell(f)))
                .unwrap_or_default(),
            cell(&e.message)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(spreadsheet_safe("=1+1"), "'=1+1");
        assert_eq!(spreadsheet_safe("@SUM"), "'@SUM");
        assert_eq!(spreadsheet_safe("\tx"), "'\tx");
        assert_eq!(spreadsheet_safe("plain"), "plain");
    }

    #[test]
    fn a_table_shows_control_characters_as_escapes() {
        let error = crate::cases::RecordError {
            line: 3,
            id: Some("A\u{1b}]0;x\u{7}\n     9  FORGED".into()),
            kind: crate::cases::ErrorKind::UnknownEnumValue,
            field: Some("visa.type".into()),
            message: "`\u{1b}[2J` is not one of `work`".into(),
        };
        let text = render_table(&Record::Error(error));
        assert!(
            !text.trim_end().contains(|c: char| c.is_control()),
            "{text:?}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("`\\u{1b}[2J` is not one of `work`"), "{text}");
        // The id is clipped to its column after it is escaped.
        assert!(text.contains("A\\u{1b}]0;x\\u{7…"), "{text}");
    }
}
