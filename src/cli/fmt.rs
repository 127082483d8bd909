//! `readmit fmt [--check] PATH…`: policy files rewritten in the canonical layout.
//!
//! A folder is searched, recursively, for `*.policy` files; a file named on the command line is
//! formatted whatever its name. A file that does not parse is never touched: its diagnostics are
//! printed. A file is rewritten only when its text changes, atomically (a temporary file in the
//! same folder, then a rename), keeping its permissions. `--check` writes nothing and prints a
//! unified diff of what would change on standard output.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::print_diagnostics;
use crate::diagnostics::{Describe, Diagnostic, ErrorFormat};
use crate::format::format_source;

/// Arguments of `readmit fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Policy files, or folders searched (with their subfolders) for `*.policy` files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Write nothing: print a unified diff of what would change, and fail if anything would.
    #[arg(long)]
    pub check: bool,
}

/// A usage or I/O problem of `fmt`, as a diagnostic.
#[derive(Debug, thiserror::Error)]
enum FmtError {
    #[error("cannot read `{path}`: {reason}")]
    CannotRead { path: String, reason: String },
    #[error("cannot write `{path}`: {reason}")]
    CannotWrite { path: String, reason: String },
}

impl Describe for FmtError {
    fn code(&self) -> &'static str {
        match self {
            FmtError::CannotRead { .. } => "readmit::io::cannot_read",
            FmtError::CannotWrite { .. } => "readmit::io::cannot_write",
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            FmtError::CannotRead { .. } => "check the path and its permissions".into(),
            FmtError::CannotWrite { .. } => {
                "check that the folder is writable and that the disk has room; the file was left as it was".into()
            }
        })
    }
}

/// What happened to the files.
#[derive(Default)]
struct Tally {
    changed: usize,
    unchanged: usize,
    failed: usize,
    io_error: bool,
    diagnostics: Vec<Diagnostic>,
}

pub fn run(args: &FmtArgs, format: ErrorFormat) -> u8 {
    let mut tally = Tally::default();
    let mut files = Vec::new();
    for path in &args.paths {
        collect(path, &mut files, &mut tally);
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    for file in &files {
        format_one(file, args.check, &mut tally);
    }
    print_diagnostics(&tally.diagnostics, format);
    if format != ErrorFormat::Json {
        eprintln!("{}", summary(&tally, args.check));
    }
    if tally.io_error {
        2
    } else if tally.failed > 0 || (args.check && tally.changed > 0) {
        1
    } else {
        0
    }
}

fn summary(tally: &Tally, check: bool) -> String {
    let files = |n: usize| if n == 1 { "file" } else { "files" };
    let mut text = if check {
        format!(
            "{} {} would be reformatted, {} unchanged",
            tally.changed,
            files(tally.changed),
            tally.unchanged
        )
    } else {
        format!(
            "{} {} reformatted, {} unchanged",
            tally.changed,
            files(tally.changed),
            tally.unchanged
        )
    };
    if tally.failed > 0 {
        text.push_str(&format!(
            ", {} with errors left as {}",
            tally.failed,
            if tally.failed == 1 {
                "it was"
            } else {
                "they were"
            }
        ));
    }
    text
}

fn cannot_read(tally: &mut Tally, path: &Path, error: &std::io::Error) {
    tally.io_error = true;
    tally
        .diagnostics
        .push(Diagnostic::bare(&FmtError::CannotRead {
            path: path.display().to_string(),
            reason: error.to_string(),
        }));
}

/// The files a path names: itself, or the `*.policy` files under a folder, in a stable order.
fn collect(path: &Path, files: &mut Vec<PathBuf>, tally: &mut Tally) {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) => return cannot_read(tally, path, &e),
    };
    if !metadata.is_dir() {
        files.push(path.to_path_buf());
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => return cannot_read(tally, path, &e),
    };
    let mut found: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    found.sort();
    for entry in found {
        if entry.is_dir() {
            collect(&entry, files, tally);
        } else if entry.extension().is_some_and(|x| x == "policy") {
            files.push(entry);
        }
    }
}

fn format_one(path: &Path, check: bool, tally: &mut Tally) {
    let name = path.display().to_string();
    // Read as `check` reads: no more than the size limit, so that a huge file or a device such
    // as `/dev/zero` is refused without filling the memory.
    let source = match crate::check::read_source(path, &name) {
        Ok(source) => source,
        Err(diagnostic) => {
            if diagnostic.code == "readmit::io::cannot_read" {
                tally.io_error = true;
            } else {
                tally.failed += 1;
            }
            tally.diagnostics.push(diagnostic);
            return;
        }
    };
    let text: &str = &source.text;
    let formatted = match format_source(&source) {
        Ok(formatted) => formatted,
        Err(diagnostics) => {
            tally.failed += 1;
            tally.diagnostics.extend(diagnostics);
            return;
        }
    };
    if formatted == text {
        tally.unchanged += 1;
        return;
    }
    tally.changed += 1;
    if check {
        let diff = similar::TextDiff::from_lines(text, formatted.as_str());
        let (old, new) = (format!("a/{name}"), format!("b/{name}"));
        let shown = diff.unified_diff().header(&old, &new).to_string();
        // A closed pipe (`| head`) only means nobody reads on.
        let _ = std::io::stdout().lock().write_all(shown.as_bytes());
        return;
    }
    if let Err(e) = write_atomically(path, &formatted) {
        tally.changed -= 1;
        tally.io_error = true;
        tally
            .diagnostics
            .push(Diagnostic::bare(&FmtError::CannotWrite {
                path: name,
                reason: e.to_string(),
            }));
    }
}

/// Replaces the file (the one a symbolic link leads to) by a temporary file written beside it,
/// with the same permissions; a reader sees the old text or the new one, never a part.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let folder = target.parent().unwrap_or(Path::new("."));
    let permissions = std::fs::metadata(&target)?.permissions();
    let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
    temporary.write_all(text.as_bytes())?;
    temporary.as_file().sync_all()?;
    temporary.as_file().set_permissions(permissions)?;
    temporary.persist(&target).map_err(|e| e.error)?;
    Ok(())
}
