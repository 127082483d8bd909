//! Diagnostics: what every stage reports, and how it is shown.
//!
//! Each stage owns an error-kind enum (the wording lives there, in one place) and implements
//! [`Describe`] for it; a kind and the spans it points at become a [`Diagnostic`]. Diagnostics
//! render three ways: `human` (miette's graphical report), `plain` (the same without colour, for
//! logs and snapshots) and `json` (one object per line, for editors and CI).

use std::borrow::Cow;
use std::fmt;

use miette::{LabeledSpan, MietteDiagnostic};
use serde::Serialize;

use crate::source::{SourceFile, Span};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; never blocks evaluation (unless `--deny-warnings`).
    Warning,
    /// The input cannot be used.
    Error,
}

/// An error or warning kind of some stage: its code, its message (`Display`) and its help.
pub trait Describe: fmt::Display {
    /// The stable code, e.g. `readmit::check::unknown_field`.
    fn code(&self) -> &'static str;
    /// How to fix it, in words.
    fn help(&self) -> Option<String> {
        None
    }
    /// Error unless the kind says otherwise.
    fn severity(&self) -> Severity {
        Severity::Error
    }
}

/// A label on a span: the first is the primary one.
#[derive(Debug, Clone)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there (may be empty).
    pub text: String,
}

/// One finding, ready to render.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Stable code.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, lowercase, no final period.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Where, in `source`; the first label is the primary location.
    pub labels: Vec<Label>,
    /// The file the labels point into; `None` for errors about no particular file.
    pub source: Option<SourceFile>,
    /// Notes in other files (e.g. "the other version is here").
    pub related: Vec<Diagnostic>,
}

impl Diagnostic {
    /// A diagnostic of `kind` at `span` of `source`, the primary label saying `label`.
    pub fn at(
        kind: &dyn Describe,
        source: &SourceFile,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code: kind.code(),
            severity: kind.severity(),
            message: kind.to_string(),
            help: kind.help(),
            labels: vec![Label {
                span,
                text: label.into(),
            }],
            source: Some(source.clone()),
            related: Vec::new(),
        }
    }

    /// A diagnostic of `kind` about no place in particular (a missing file, say).
    pub fn bare(kind: &dyn Describe) -> Self {
        Diagnostic {
            code: kind.code(),
            severity: kind.severity(),
            message: kind.to_string(),
            help: kind.help(),
            labels: Vec::new(),
            source: None,
            related: Vec::new(),
        }
    }

    /// A note for [`Diagnostic::with_related`]: a place in another file, with no code of its own.
    pub fn note(
        message: impl Into<String>,
        source: &SourceFile,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code: "",
            severity: Severity::Warning,
            message: message.into(),
            help: None,
            labels: vec![Label {
                span,
                text: label.into(),
            }],
            source: Some(source.clone()),
            related: Vec::new(),
        }
    }

    /// Adds a secondary label in the same file.
    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Adds a note pointing into another file.
    pub fn with_related(mut self, note: Diagnostic) -> Self {
        self.related.push(note);
        self
    }

    /// Makes it a warning or an error regardless of its kind's default.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Whether it is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The file, line and column of the primary label, if it has one.
    pub fn location(&self) -> Option<(String, usize, usize)> {
        let source = self.source.as_ref()?;
        let label = self.labels.first()?;
        let (line, column) = source.line_col(label.span.start);
        Some((source.name.to_string(), line, column))
    }

    #[cfg(feature = "cli")]
    fn to_miette(&self) -> miette::Report {
        let mut diag = MietteDiagnostic::new(self.message.clone());
        if !self.code.is_empty() {
            diag = diag.with_code(self.code);
        }
        diag = diag.with_severity(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning if self.code.is_empty() => miette::Severity::Advice,
            Severity::Warning => miette::Severity::Warning,
        });
        if let Some(help) = &self.help {
            diag = diag.with_help(help.clone());
        }
        let labels = self.labels.iter().enumerate().map(|(i, label)| {
            let text = (!label.text.is_empty()).then(|| label.text.clone());
            if i == 0 {
                LabeledSpan::new_primary_with_span(text, label.span)
            } else {
                LabeledSpan::new_with_span(text, label.span)
            }
        });
        diag = diag.with_labels(labels);
        let report = miette::Report::new(diag);
        match &self.source {
            Some(source) => report.with_source_code(source.clone()),
            None => report,
        }
    }
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorFormat {
    /// Graphical, with colour where the terminal has it.
    #[default]
    Human,
    /// Graphical without colour: logs and snapshots.
    Plain,
    /// One JSON object per diagnostic and line.
    Json,
}

/// Renders diagnostics in the chosen format. Related notes follow their diagnostic.
pub fn render(diagnostics: &[Diagnostic], format: ErrorFormat) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        match format {
            ErrorFormat::Json => {
                out.push_str(&render_json(diagnostic));
                out.push('\n');
            }
            ErrorFormat::Human | ErrorFormat::Plain => {
                render_graphical(diagnostic, format == ErrorFormat::Human, &mut out);
            }
        }
    }
    out
}

/// The longest line (in characters) an excerpt shows; a diagnostic on a longer line gives its
/// place in words instead of printing the line.
pub const MAX_EXCERPT_LINE: usize = 1000;

/// The byte range from the start of the line holding `from` to the end of the line holding `to`.
#[cfg(feature = "cli")]
fn whole_lines(text: &str, from: usize, to: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let from = from.min(bytes.len());
    let start = bytes
        .get(..from)
        .and_then(|b| b.iter().rposition(|&c| c == b'\n'))
        .map_or(0, |i| i + 1);
    let to = to.max(from).min(bytes.len());
    let end = bytes
        .get(to..)
        .and_then(|b| b.iter().position(|&c| c == b'\n'))
        .map_or(bytes.len(), |i| to + i);
    (start, end)
}

/// Whether a line of the text between two line boundaries is longer than an excerpt shows.
#[cfg(feature = "cli")]
fn has_long_line(text: &str, (start, end): (usize, usize)) -> bool {
    text.get(start..end).is_some_and(|lines| {
        lines
            .split('\n')
            .any(|l| l.len() > MAX_EXCERPT_LINE && l.chars().count() > MAX_EXCERPT_LINE)
    })
}

/// A character that must not reach a terminal as it is: a control character (it may start an
/// escape sequence) other than a line end or a tab. Policy texts may not hold one at all.
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\t')
}

/// Text with the characters `escaped` picks written as escapes (`\u{1b}`); borrowed when there
/// are none.
pub(crate) fn escape_chars(text: &str, escaped: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Free text (a message, a help, a label) with its unsafe characters written as escapes.
fn printable(text: &str) -> String {
    escape_chars(text, is_unsafe).into_owned()
}

/// The copy of a diagnostic that is printed on a terminal. Its source is cut down to the lines
/// the excerpt shows (the labelled lines, and a line of context on each side unless one is too
/// long), and no control character of a file or a case record reaches the terminal: in text
/// they are written as escapes, in the excerpt each becomes `?` (`¿` for the two-byte ones, so
/// that columns stay). A labelled line too long to show gives its place in words instead.
#[cfg(feature = "cli")]
fn for_terminal(diagnostic: &Diagnostic) -> Diagnostic {
    let mut shown = diagnostic.clone();
    shown.related = Vec::new();
    shown.message = printable(&shown.message);
    shown.help = shown.help.as_deref().map(printable);
    for label in &mut shown.labels {
        label.text = printable(&label.text);
    }
    let Some(source) = shown.source.take() else {
        return shown;
    };
    let text: &str = &source.text;
    let from = shown.labels.iter().map(|l| l.span.start).min().unwrap_or(0);
    let to = shown.labels.iter().map(|l| l.span.end).max().unwrap_or(0);
    let labelled = whole_lines(text, from, to);
    if has_long_line(text, labelled) {
        if let Some(label) = shown.labels.first() {
            let (line, column) = source.line_col(label.span.start);
            shown.message = format!(
                "{}\nat {}:{line}:{column} (not shown: a line of over {MAX_EXCERPT_LINE} characters)",
                shown.message, source.name
            );
        }
        shown.labels.clear();
        return shown;
    }
    let with_context = (
        whole_lines(text, labelled.0.saturating_sub(1), labelled.0).0,
        whole_lines(text, labelled.1, (labelled.1 + 1).min(text.len())).1,
    );
    let (start, end) = if has_long_line(text, with_context) {
        labelled
    } else {
        with_context
    };
    // With its line end, as in the whole file: miette shows a last line only when it ends.
    let end = if text.as_bytes().get(end) == Some(&b'\n') {
        end + 1
    } else {
        end
    };
    let excerpt: String = text
        .get(start..end)
        .unwrap_or("")
        .chars()
        .map(|c| match c {
            '\r' => c,
            c if is_unsafe(c) && c.len_utf8() == 1 => '?',
            c if is_unsafe(c) => '¿',
            c => c,
        })
        .collect();
    let lines_before = text
        .as_bytes()
        .get(..start)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    for label in &mut shown.labels {
        label.span = Span::new(
            label.span.start.saturating_sub(start).min(excerpt.len()),
            label.span.end.saturating_sub(start).min(excerpt.len()),
        );
    }
    shown.source = Some(SourceFile::excerpt(
        source.name.clone(),
        excerpt,
        source.first_line + lines_before + 1,
    ));
    shown
}

#[cfg(feature = "cli")]
fn render_graphical(diagnostic: &Diagnostic, colour: bool, out: &mut String) {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let shown = for_terminal(diagnostic);
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let report = shown.to_miette();
    let mut text = String::new();
    if handler.render_report(&mut text, report.as_ref()).is_err() {
        text = format!("{}: {}\n", shown.code, shown.message);
    }
    out.push_str(&text);
    out.push('\n');
    for note in &diagnostic.related {
        render_graphical(note, colour, out);
    }
}

/// Without the `cli` feature there is no graphical handler: one line per diagnostic and label.
#[cfg(not(feature = "cli"))]
fn render_graphical(diagnostic: &Diagnostic, _colour: bool, out: &mut String) {
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    match diagnostic.location() {
        Some((file, line, column)) => out.push_str(&format!("{file}:{line}:{column}: ")),
        None => {}
    }
    out.push_str(&format!(
        "{severity}[{}]: {}\n",
        diagnostic.code,
        printable(&diagnostic.message)
    ));
    if let Some(help) = &diagnostic.help {
        out.push_str(&format!("  help: {}\n", printable(help)));
    }
    for note in &diagnostic.related {
        render_graphical(note, false, out);
    }
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    help: Option<&'a str>,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    labels: Vec<JsonLabel>,
}

#[derive(Serialize)]
struct JsonLabel {
    file: Option<String>,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    text: String,
}

fn render_json(diagnostic: &Diagnostic) -> String {
    let location = diagnostic.location();
    let mut labels = Vec::new();
    let mut push_labels = |d: &Diagnostic| {
        if let Some(source) = &d.source {
            for label in &d.labels {
                let (line, column) = source.line_col(label.span.start);
                let (end_line, end_column) = source.line_col(label.span.end);
                labels.push(JsonLabel {
                    file: Some(source.name.to_string()),
                    line,
                    column,
                    end_line,
                    end_column,
                    text: label.text.clone(),
                });
            }
        }
    };
    push_labels(diagnostic);
    for note in &diagnostic.related {
        push_labels(note);
    }
    let json = JsonDiagnostic {
        code: diagnostic.code,
        severity: diagnostic.severity,
        message: &diagnostic.message,
        help: diagnostic.help.as_deref(),
        file: location.as_ref().map(|(file, _, _)| file.clone()),
        line: location.as_ref().map(|(_, line, _)| *line),
        column: location.as_ref().map(|(_, _, column)| *column),
        labels,
    };
    serde_json::to_string(&json).unwrap_or_else(|_| String::from("{}"))
}

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(&str, f64)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(word, candidate);
        let distance = strsim::levenshtein(word, candidate);
        let close = score >= 0.85 || distance <= word.len().max(candidate.len()) / 3;
        if close && best.is_none_or(|(_, s)| score > s) {
            best = Some((candidate, score));
        }
    }
    best.map(|(c, _)| c)
}

/// "`a`, `b` or `c`": a list of words for a message.
pub fn list_words<S: AsRef<str>>(words: &[S]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{}`", w.as_ref())).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {}", rest.join(", "), last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let fields = ["entry_date", "decision_date", "nationality"];
        assert_eq!(did_you_mean("entry_dat", fields), Some("entry_date"));
        assert_eq!(did_you_mean("nationalty", fields), Some("nationality"));
        assert_eq!(did_you_mean("zzz", fields), None);
    }

    #[test]
    fn lists_words_in_prose() {
        assert_eq!(list_words(&["a"]), "`a`");
        assert_eq!(list_words(&["a", "b", "c"]), "`a`, `b` or `c`");
        assert_eq!(list_words::<&str>(&[]), "");
    }

    struct Kind(&'static str);
    impl fmt::Display for Kind {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Describe for Kind {
        fn code(&self) -> &'static str {
            "readmit::test::kind"
        }
    }

    #[cfg(feature = "cli")]
    #[test]
    fn no_control_character_reaches_the_terminal() {
        let text = "a\nlet x = \"\u{1b}]0;title\u{7}\u{9b}31m\" y\r\nb\n";
        let source = SourceFile::new("f.policy", text);
        let at = text.find('y').unwrap_or(0);
        let d = Diagnostic::at(
            &Kind("value `\u{1b}[2J`"),
            &source,
            Span::new(at, at + 1),
            "\u{7}",
        );
        for format in [ErrorFormat::Human, ErrorFormat::Plain] {
            let out = render(std::slice::from_ref(&d), format);
            let control = |c: char| c.is_control() && !matches!(c, '\n' | '\r');
            let theirs: Vec<char> = out
                .replace("\u{1b}[", "")
                .chars()
                .filter(|&c| control(c))
                .collect();
            // Colour escapes of the human format start with ESC [ and are miette's own.
            assert!(
                format == ErrorFormat::Human || !out.contains('\u{1b}'),
                "{out}"
            );
            assert!(theirs.is_empty(), "{theirs:?} in {out}");
            assert!(out.contains("value `\\u{1b}[2J`"), "{out}");
            assert!(out.contains("let x = \"?]0;title?¿31m\" y"), "{out}");
            assert!(out.contains("f.policy:2:26"), "{out}");
        }
    }

    #[cfg(feature = "cli")]
    #[test]
    fn a_line_too_long_is_not_shown() {
        let long = "x".repeat(MAX_EXCERPT_LINE + 1);
        let text = format!("first\n{long} y\nlast\n");
        let source = SourceFile::new("f.policy", text.as_str());
        let at = text.find('y').unwrap_or(0);
        let d = Diagnostic::at(&Kind("wrong"), &source, Span::new(at, at + 1), "here");
        let out = render(std::slice::from_ref(&d), ErrorFormat::Plain);
        assert!(!out.contains("xxx"), "{out}");
        assert!(out.contains("at f.policy:2:1003 (not shown"), "{out}");
        // A label on a short line beside a long one: the excerpt leaves the long line out.
        let d = Diagnostic::at(&Kind("wrong"), &source, Span::new(0, 5), "here");
        let out = render(std::slice::from_ref(&d), ErrorFormat::Plain);
        assert!(!out.contains("xxx") && out.contains("1 │ first"), "{out}");
        assert!(out.contains("[f.policy:1:1]"), "{out}");
        let at = text.find("last").unwrap_or(0);
        let d = Diagnostic::at(&Kind("wrong"), &source, Span::new(at, at + 4), "here");
        let out = render(std::slice::from_ref(&d), ErrorFormat::Plain);
        assert!(!out.contains("xxx") && out.contains("3 │ last"), "{out}");
        assert!(out.contains("[f.policy:3:1]"), "{out}");
    }
}
