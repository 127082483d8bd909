//! `readmit check` through the real binary, on the Storskog policy: clean as it is; each typical
//! mistake, made in a copy, reported with the right code at the right line and column; and
//! hostile input answered with a diagnostic and exit code 1, never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

const STORSKOG: &str = "policies/storskog";

/// A folder of its own under the system's temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "readmit-storskog-check-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_dir_all(&path);
        assert!(
            std::fs::create_dir_all(&path).is_ok(),
            "cannot create {path:?}"
        );
        Scratch(path)
    }

    /// A copy of policies/storskog (its policy files, and tests/ if there is one) as `storskog/`.
    fn with_storskog(name: &str) -> Scratch {
        let scratch = Scratch::new(name);
        copy_policy_files(Path::new(STORSKOG), &scratch.0.join("storskog"));
        scratch
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        assert!(
            std::fs::write(self.0.join(name), bytes).is_ok(),
            "cannot write {name}"
        );
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_policy_files(from: &Path, to: &Path) {
    assert!(std::fs::create_dir_all(to).is_ok(), "cannot create {to:?}");
    let entries = std::fs::read_dir(from).map(|e| e.flatten().collect::<Vec<_>>());
    assert!(entries.is_ok(), "cannot list {from:?}");
    for entry in entries.unwrap_or_default() {
        let path = entry.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n == "tests") {
            copy_policy_files(&path, &to.join("tests"));
        } else if path.extension().is_some_and(|x| x == "policy") {
            let target = to.join(entry.file_name());
            assert!(
                std::fs::copy(&path, &target).is_ok(),
                "cannot copy {path:?}"
            );
        }
    }
}

/// What `readmit --error-format json check PATH` did, run in `cwd`.
struct Run {
    code: Option<i32>,
    stderr: String,
    diagnostics: Vec<Value>,
}

fn check(cwd: &Path, path: &str) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .args(["--error-format", "json", "check", path])
        .current_dir(cwd)
        .output();
    assert!(output.is_ok(), "cannot run readmit: {output:?}");
    let Ok(output) = output else {
        unreachable!("asserted above");
    };
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "readmit panicked on {path}:\n{stderr}"
    );
    let diagnostics = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let parsed = serde_json::from_str::<Value>(line);
            assert!(parsed.is_ok(), "not a JSON diagnostic: {line}");
            parsed.unwrap_or_default()
        })
        .collect();
    Run {
        code: output.status.code(),
        stderr,
        diagnostics,
    }
}

impl Run {
    fn codes(&self) -> Vec<&str> {
        self.diagnostics
            .iter()
            .filter_map(|d| d["code"].as_str())
            .collect()
    }

    fn error_codes(&self) -> Vec<&str> {
        self.diagnostics
            .iter()
            .filter(|d| d["severity"] == "error")
            .filter_map(|d| d["code"].as_str())
            .collect()
    }

    /// The diagnostic with this code whose primary location is `file:line:column`.
    fn find(&self, code: &str, file: &str, (line, column): (usize, usize)) -> Option<&Value> {
        self.diagnostics.iter().find(|d| {
            d["code"] == code && d["file"] == file && d["line"] == line && d["column"] == column
        })
    }
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// Replaces the first `old` in `storskog/<file>` with `new`; returns where `at` (a part of `new`)
/// now stands.
fn mutate(scratch: &Scratch, file: &str, old: &str, new: &str, at: &str) -> (usize, usize) {
    let path = scratch.0.join("storskog").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let start = text.find(old);
    assert!(start.is_some(), "`{old}` is not in {file} any more");
    let start = start.unwrap_or_default();
    let offset = new.find(at);
    assert!(offset.is_some(), "`{at}` is not part of `{new}`");
    let mutated = text.replacen(old, new, 1);
    assert!(
        std::fs::write(&path, &mutated).is_ok(),
        "cannot write {path:?}"
    );
    line_col(&mutated, start + offset.unwrap_or_default())
}

/// Runs the check of the mutated copy and asserts one diagnostic `code` at `file:position`,
/// and no error of another code.
fn assert_reported(scratch: &Scratch, code: &str, file: &str, position: (usize, usize)) -> Run {
    let run = check(&scratch.0, "storskog");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let file = format!("storskog/{file}");
    assert!(
        run.find(code, &file, position).is_some(),
        "no {code} at {file}:{}:{}:\n{}",
        position.0,
        position.1,
        run.stderr
    );
    assert!(
        run.error_codes().iter().all(|c| *c == code),
        "other errors than {code}:\n{}",
        run.stderr
    );
    run
}

#[test]
fn storskog_is_clean() {
    let run = check(Path::new(env!("CARGO_MANIFEST_DIR")), STORSKOG);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.codes(), Vec::<&str>::new(), "{}", run.stderr);
}

#[test]
fn a_misspelt_field() {
    let scratch = Scratch::with_storskog("misspelt-field");
    let at = mutate(
        &scratch,
        "2016-02-03.policy",
        "years(case.russian_residence.since, case.entry_date)",
        "years(case.russian_residence.since, case.entry_dat)",
        "entry_dat",
    );
    let run = assert_reported(
        &scratch,
        "readmit::check::unknown_field",
        "2016-02-03.policy",
        at,
    );
    assert!(
        run.stderr.contains("did you mean `entry_date`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_enum_value_that_does_not_exist() {
    let scratch = Scratch::with_storskog("enum-value");
    let at = mutate(
        &scratch,
        "2016-02-03.policy",
        "case.visa.type == multi_entry",
        "case.visa.type == multiple",
        "multiple",
    );
    assert_reported(
        &scratch,
        "readmit::check::unknown_enum_value",
        "2016-02-03.policy",
        at,
    );
}

#[test]
fn a_date_compared_with_text() {
    let scratch = Scratch::with_storskog("date-with-text");
    let at = mutate(
        &scratch,
        "2016-02-03.policy",
        "case.visa.valid_until >= case.decision_date",
        "case.visa.valid_until >= \"2016-02-03\"",
        "case.visa.valid_until",
    );
    let run = assert_reported(
        &scratch,
        "readmit::check::incomparable",
        "2016-02-03.policy",
        at,
    );
    assert!(
        run.stderr.contains("cannot compare a date with text"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unguarded_optional_field() {
    let scratch = Scratch::with_storskog("unguarded");
    let at = mutate(
        &scratch,
        "2016-02-03.policy",
        "case has visa\n  and case.visa.type == multi_entry",
        "case.visa.type == multi_entry",
        "case.visa.type",
    );
    let run = assert_reported(
        &scratch,
        "readmit::check::unguarded_optional",
        "2016-02-03.policy",
        at,
    );
    assert!(
        run.stderr.contains("add `case has visa and` before it"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_otherwise() {
    let scratch = Scratch::with_storskog("no-otherwise");
    let path = scratch.0.join("storskog/2016-02-03.policy");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let start = text.find("\notherwise ").map(|i| i + 1);
    let end = text.find("\ncap ").map(|i| i + 1);
    let (Some(start), Some(end)) = (start, end) else {
        unreachable!("2016-02-03.policy has an `otherwise` before its `cap`: {text}");
    };
    let mutated = format!(
        "{}{}",
        text.get(..start).unwrap_or(""),
        text.get(end..).unwrap_or("")
    );
    assert!(std::fs::write(&path, &mutated).is_ok());
    // The diagnostic points at the last rule, after which `otherwise` belongs.
    let last_rule = mutated.rfind("\nrule ").map_or(0, |i| i + 1);
    assert_reported(
        &scratch,
        "readmit::check::missing_otherwise",
        "2016-02-03.policy",
        line_col(&mutated, last_rule),
    );
}

#[test]
fn overlapping_versions() {
    let scratch = Scratch::with_storskog("overlap");
    let earlier = mutate(
        &scratch,
        "2015-11-26.policy",
        "in force from 2015-11-26",
        "in force from 2015-11-26 until 2016-01-25",
        "in force",
    );
    let later_text =
        std::fs::read_to_string(scratch.0.join("storskog/2016-01-22.policy")).unwrap_or_default();
    let later = line_col(&later_text, later_text.find("in force from").unwrap_or(0));
    let run = assert_reported(
        &scratch,
        "readmit::versions::overlap",
        "2016-01-22.policy",
        later,
    );
    // The note points at the earlier version's span, whose `until` is the mistake.
    let overlap = run.find(
        "readmit::versions::overlap",
        "storskog/2016-01-22.policy",
        later,
    );
    let labels = overlap
        .and_then(|d| d["labels"].as_array())
        .cloned()
        .unwrap_or_default();
    assert!(
        labels
            .iter()
            .any(|l| l["file"] == "storskog/2015-11-26.policy"
                && l["line"] == earlier.0
                && l["column"] == earlier.1),
        "no label at the earlier version's `in force`:\n{}",
        run.stderr
    );
}

/// Hostile input: the binary answers with a diagnostic of `code` and exit code 1.
fn assert_rejected(name: &str, bytes: &[u8], code: &str) {
    let scratch = Scratch::new(name);
    let file = format!("{name}.policy");
    scratch.write(&file, bytes);
    let run = check(&scratch.0, &file);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.codes().contains(&code), "no {code}:\n{}", run.stderr);
}

#[test]
fn an_empty_file() {
    assert_rejected("empty", b"", "readmit::check::no_versions");
}

#[test]
fn binary_garbage() {
    // A deterministic jumble of every byte value, invalid UTF-8 among them.
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_rejected("garbage", &bytes, "readmit::parse::not_utf8");
}

#[test]
fn control_characters() {
    let bytes: Vec<u8> = (0u8..32).cycle().take(1000).collect();
    assert_rejected("control", &bytes, "readmit::parse::unexpected");
}

#[test]
fn ten_thousand_nested_parentheses() {
    let text = format!("let x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000));
    assert_rejected("parentheses", text.as_bytes(), "readmit::parse::too_deep");
}

#[test]
fn a_five_megabyte_line() {
    let text = format!("basis \"{}\"", "a".repeat(5 * 1024 * 1024));
    assert_rejected("large", text.as_bytes(), "readmit::parse::too_large");
}
