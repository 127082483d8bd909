//! `readmit diff OLD [NEW] --cases FILE`: what a policy change does to real decisions.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, ValueEnum};

use super::print_diagnostics;
use crate::diagnostics::{Describe, Diagnostic, ErrorFormat};
use crate::diff::{Allow, compare, render_jsonl, render_markdown, render_table};
use crate::engine::{
    BatchRun, Engine, EvalOptions, InputFormat, RecordSink, VersionChoice, read_batch,
};
use crate::report::Record;

/// Arguments of `readmit diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old policy: a folder, or a version in it (`policies/storskog@2016-01-22`). With
    /// `--base-rev`, the folder as it was at that revision.
    pub old: String,
    /// The new policy, the same way [default: OLD as it is now].
    pub new: Option<String>,
    /// The corpus of cases (JSON Lines, .json or .csv).
    #[arg(long, value_name = "FILE")]
    pub cases: PathBuf,
    /// Read OLD from the git repository at this revision (e.g. `origin/main`).
    #[arg(long, value_name = "REV")]
    pub base_rev: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,
    /// Exit 1 when a decision changed (except the transitions allowed with --allow).
    #[arg(long)]
    pub fail_on_change: bool,
    /// Permit a transition of outcomes, e.g. `return_to_russia->no_return_route` (`*` for any).
    #[arg(long, value_name = "OLD->NEW")]
    pub allow: Vec<Allow>,
}

/// `--format` of diff.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DiffFormat {
    /// A table for a terminal.
    Table,
    /// One JSON object per transition and change, then the totals.
    Jsonl,
    /// Markdown for a pull-request comment.
    Markdown,
}

#[derive(Debug, thiserror::Error)]
enum DiffError {
    #[error("cannot read `{path}`: {reason}")]
    CannotRead { path: String, reason: String },
    #[error("`{spec}` has no version `{version}`")]
    UnknownVersion {
        spec: String,
        version: String,
        versions: Vec<String>,
    },
    #[error("cannot read `{path}` at revision `{rev}`: {reason}")]
    Git {
        path: String,
        rev: String,
        reason: String,
    },
    #[error("the corpus `{path}` cannot be split into records: {message}")]
    BadCorpus { path: String, message: String },
}

impl Describe for DiffError {
    fn code(&self) -> &'static str {
        match self {
            DiffError::CannotRead { .. } => "readmit::io::cannot_read",
            DiffError::UnknownVersion { .. } => "readmit::usage::unknown_version",
            DiffError::Git { .. } => "readmit::diff::git",
            DiffError::BadCorpus { .. } => "readmit::cases::bad_input",
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            DiffError::CannotRead { .. } => "check the path".into(),
            DiffError::UnknownVersion { versions, .. } => format!("the versions are {}", crate::diagnostics::list_words(versions)),
            DiffError::Git { .. } => "run inside the git repository that holds the policy, and name a revision it has (`git log` lists them)".into(),
            DiffError::BadCorpus { .. } => "fix the file's structure".into(),
        })
    }
}

/// `folder@version` → (folder, version).
fn split_spec(spec: &str) -> (PathBuf, Option<String>) {
    if Path::new(spec).exists() {
        return (PathBuf::from(spec), None);
    }
    match spec.rsplit_once('@') {
        Some((folder, version)) if !version.is_empty() => {
            (PathBuf::from(folder), Some(version.to_string()))
        }
        _ => (PathBuf::from(spec), None),
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// Writes the folder as it was at `rev` into `target`, and returns where it is there.
fn checkout_at(folder: &Path, rev: &str, target: &Path) -> Result<PathBuf, String> {
    let absolute = folder.canonicalize().map_err(|e| e.to_string())?;
    let root = String::from_utf8_lossy(&git(&absolute, &["rev-parse", "--show-toplevel"])?)
        .trim()
        .to_string();
    let root = PathBuf::from(root)
        .canonicalize()
        .map_err(|e| e.to_string())?;
    let relative = absolute.strip_prefix(&root).map_err(|e| e.to_string())?;
    let relative_text = relative.to_string_lossy().replace('\\', "/");
    let listing = git(
        &root,
        &["ls-tree", "-r", "--name-only", rev, "--", &relative_text],
    )?;
    let files: Vec<String> = String::from_utf8_lossy(&listing)
        .lines()
        .map(str::to_string)
        .collect();
    if files.is_empty() {
        return Err(format!("no files under `{relative_text}` at that revision"));
    }
    for file in &files {
        let bytes = git(&root, &["show", &format!("{rev}:{file}")])?;
        let destination = target.join(file);
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&destination, bytes).map_err(|e| e.to_string())?;
    }
    Ok(target.join(relative))
}

struct Collect(Vec<Record>);

impl RecordSink for Collect {
    fn record(&mut self, record: Record) -> io::Result<()> {
        self.0.push(record);
        Ok(())
    }
}

fn decide_corpus(
    engine: &Engine,
    choice: VersionChoice,
    cases: &Path,
) -> Result<Vec<Record>, DiffError> {
    let file = std::fs::File::open(cases).map_err(|e| DiffError::CannotRead {
        path: cases.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut input = io::BufReader::new(file);
    let mut sink = Collect(Vec::new());
    let mut run = BatchRun::new(
        engine,
        EvalOptions {
            choice,
            explain: false,
        },
    );
    read_batch(
        &mut run,
        &mut input,
        InputFormat::from_path(cases),
        &mut sink,
        &|_| {},
    )
    .map_err(|e| DiffError::BadCorpus {
        path: cases.display().to_string(),
        message: match e {
            crate::engine::InputError::Io(e) | crate::engine::InputError::Read(e) => e.to_string(),
            crate::engine::InputError::Format { line, message } => {
                format!("line {line}: {message}")
            }
        },
    })?;
    // Collecting into memory cannot fail.
    let _ = run.finish(&crate::caps::NoLedger, &mut sink);
    Ok(sink.0)
}

fn load_side(
    folder: &Path,
    version: Option<&str>,
    spec: &str,
    format: ErrorFormat,
) -> Result<(Engine, VersionChoice), u8> {
    let engine = Engine::load(folder).map_err(|diagnostics| {
        print_diagnostics(&diagnostics, format);
        1
    })?;
    let choice = match version {
        Some(v) => match engine.policy.version_index(v) {
            Some(index) => VersionChoice::Forced(index),
            None => {
                let e = DiffError::UnknownVersion {
                    spec: spec.to_string(),
                    version: v.to_string(),
                    versions: engine.version_ids(),
                };
                print_diagnostics(&[Diagnostic::bare(&e)], format);
                return Err(2);
            }
        },
        None => VersionChoice::InForce,
    };
    Ok((engine, choice))
}

pub fn run(args: &DiffArgs, format: ErrorFormat) -> u8 {
    let fail = |e: DiffError| {
        print_diagnostics(&[Diagnostic::bare(&e)], format);
        2
    };
    let (old_folder, old_version) = split_spec(&args.old);
    let new_spec = args.new.clone().unwrap_or_else(|| args.old.clone());
    let (new_folder, new_version) = split_spec(&new_spec);
    // The old side at a revision lives in a temporary folder for the length of the run.
    let checkout = match &args.base_rev {
        Some(rev) => {
            let temp = match tempfile::tempdir() {
                Ok(t) => t,
                Err(e) => {
                    return fail(DiffError::Git {
                        path: old_folder.display().to_string(),
                        rev: rev.clone(),
                        reason: e.to_string(),
                    });
                }
            };
            match checkout_at(&old_folder, rev, temp.path()) {
                Ok(path) => Some((temp, path)),
                Err(reason) => {
                    return fail(DiffError::Git {
                        path: old_folder.display().to_string(),
                        rev: rev.clone(),
                        reason,
                    });
                }
            }
        }
        None => None,
    };
    let old_path = checkout
        .as_ref()
        .map_or(old_folder.clone(), |(_, p)| p.clone());
    let (old_engine, old_choice) =
        match load_side(&old_path, old_version.as_deref(), &args.old, format) {
            Ok(side) => side,
            Err(code) => return code,
        };
    let (new_engine, new_choice) =
        match load_side(&new_folder, new_version.as_deref(), &new_spec, format) {
            Ok(side) => side,
            Err(code) => return code,
        };
    let old = match decide_corpus(&old_engine, old_choice, &args.cases) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let new = match decide_corpus(&new_engine, new_choice, &args.cases) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let report = compare(&old, &new, &args.allow);
    let old_name = match &args.base_rev {
        Some(rev) => format!("{} at {rev}", args.old),
        None => args.old.clone(),
    };
    let title = format!(
        "decisions of {old_name} → {new_spec} over {}",
        args.cases.display()
    );
    match args.format {
        DiffFormat::Table => super::write_raw(&render_table(&report, &title)),
        DiffFormat::Markdown => super::write_raw(&render_markdown(&report, &title)),
        DiffFormat::Jsonl => super::write_raw(&render_jsonl(&report)),
    }
    if args.fail_on_change && report.disallowed() > 0 {
        1
    } else {
        0
    }
}
