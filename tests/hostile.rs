//! Hostile input through the real binary: never a panic or a hang, always the outcome written
//! down for it, and a diagnostic that says what is wrong without printing what should not reach
//! a terminal (control characters, megabytes of one line).
//!
//! - `tests/cases/hostile/policy/<name>.policy` (or a folder `<name>/`) is checked with
//!   `readmit check`; `tests/cases/hostile/cases/<name>.{jsonl,json,csv}` is evaluated with
//!   `readmit eval POLICY --cases FILE --format jsonl`. Beside each, `<name>.expect` says what
//!   must happen (see `tests/README.md`): the exit code, the diagnostic codes, where the first
//!   one points, the policy a batch is evaluated against, and the kind of every output record
//!   with its line. The harness asserts all of it, and that stderr holds no control character;
//!   the plain stderr is snapshotted.
//! - Inputs too large to commit (100,000 nested brackets, a million rules, a 50 MB line) are
//!   generated here, in the system's temporary folder.
//! - Paths that lead outside a policy folder (`schema … from`, a test's `case from`) are
//!   `readmit::check::path_outside`.

#![allow(clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const HOSTILE: &str = "tests/cases/hostile";

fn readmit(args: &[&str]) -> Output {
    let run = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output();
    match run {
        Ok(out) => out,
        Err(e) => panic!("readmit {args:?} does not run: {e}"),
    }
}

/// The path relative to the crate root, with `/`: what the binary is given and prints.
fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stripped = path.strip_prefix(root).unwrap_or(path);
    stripped
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// What a fixture's `.expect` file says.
#[derive(Debug, Default)]
struct Expect {
    policy: Option<String>,
    exit: Option<i32>,
    codes: Option<BTreeSet<String>>,
    at: Option<(u64, u64)>,
    records: Option<Vec<(u64, String)>>,
}

/// Reads `<fixture without extension>.expect`: `key: value` lines, `#` comments.
fn expect_of(fixture: &Path) -> Expect {
    let file = fixture.with_extension("expect");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: no expect file {} ({e})",
            fixture.display(),
            file.display()
        )
    });
    let mut expect = Expect::default();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            panic!("{}: not `key: value`: {line}", file.display());
        };
        let value = value.trim();
        let list = || {
            value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        match key.trim() {
            "policy" => expect.policy = Some(value.to_string()),
            "exit" => expect.exit = value.parse().ok(),
            "codes" => expect.codes = Some(list().collect()),
            "at" => {
                let (l, c) = value.split_once(':').unwrap_or(("", ""));
                expect.at = l.parse().ok().zip(c.parse().ok());
            }
            "records" => {
                expect.records = Some(
                    list()
                        .map(|r| {
                            let (line, kind) = r.split_once(' ').unwrap_or(("", ""));
                            let line = line.parse().unwrap_or_else(|_| {
                                panic!("{}: `LINE KIND` expected, found {r}", file.display())
                            });
                            (line, kind.to_string())
                        })
                        .collect(),
                )
            }
            other => panic!("{}: unknown key `{other}`", file.display()),
        }
    }
    assert!(expect.exit.is_some(), "{}: no `exit:` line", file.display());
    expect
}

/// Fails if stderr holds a control character other than a line end: nothing of a hostile file
/// may drive the terminal (the plain format has no colour either).
fn assert_printable(name: &str, stderr: &str) {
    let bad: Vec<char> = stderr
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(
        bad.is_empty(),
        "{name}: control characters {bad:?} on stderr:\n{stderr}"
    );
}

/// The codes of `--error-format json` diagnostics, and where the first one points.
fn json_diagnostics(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

fn assert_codes(name: &str, expect: &Expect, diagnostics: &[Value], stderr: &str) {
    if let Some(codes) = &expect.codes {
        let found: BTreeSet<String> = diagnostics
            .iter()
            .filter_map(|d| d["code"].as_str().map(str::to_string))
            .collect();
        assert_eq!(&found, codes, "{name}: diagnostic codes\n{stderr}");
    }
    if let Some((line, column)) = expect.at {
        let first = diagnostics.first().cloned().unwrap_or_default();
        assert_eq!(
            (first["line"].as_u64(), first["column"].as_u64()),
            (Some(line), Some(column)),
            "{name}: where the first diagnostic points\n{stderr}"
        );
    }
}

#[test]
fn hostile_policies() {
    let mut seen = 0;
    insta::glob!("cases/hostile/policy/*", |path| {
        let is_fixture = path.is_dir()
            || (path.extension().is_some_and(|x| x == "policy")
                && path.file_name().is_some_and(|n| n != "schema.policy"));
        if path.extension().is_some_and(|x| x == "expect") {
            let fixture =
                path.with_extension("policy").exists() || path.with_extension("").is_dir();
            assert!(
                fixture,
                "{}: an expect file without a fixture",
                path.display()
            );
            return;
        }
        if !is_fixture {
            return;
        }
        seen += 1;
        let fixture = relative(path);
        let expect = expect_of(path);
        let json = readmit(&["--error-format", "json", "check", &fixture]);
        let plain = readmit(&["--error-format", "plain", "check", &fixture]);
        let stderr = String::from_utf8_lossy(&plain.stderr).into_owned();
        assert_eq!(
            plain.status.code(),
            expect.exit,
            "{fixture}: exit code\n{stderr}"
        );
        assert_eq!(
            json.status.code(),
            expect.exit,
            "{fixture}: exit code (json)"
        );
        let diagnostics = json_diagnostics(&String::from_utf8_lossy(&json.stderr));
        assert_codes(&fixture, &expect, &diagnostics, &stderr);
        assert_printable(&fixture, &stderr);
        insta::assert_snapshot!(stderr);
    });
    assert!(seen >= 10, "only {seen} policy fixtures");
}

/// One output record: its line and kind (`decided` or the error's kind).
fn kinds(stdout: &[u8]) -> Vec<(u64, String)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let record: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            let kind = match record["error"]["kind"].as_str() {
                Some(kind) => kind.to_string(),
                None if record["outcome"].is_string() => "decided".to_string(),
                None => panic!("neither a decision nor an error: {l}"),
            };
            (record["line"].as_u64().unwrap_or(0), kind)
        })
        .collect()
}

#[test]
fn hostile_batches() {
    let mut seen = 0;
    insta::glob!("cases/hostile/cases/*", |path| {
        if path.extension().is_some_and(|x| x == "expect") {
            let batches = ["jsonl", "json", "csv"]
                .iter()
                .filter(|x| path.with_extension(x).exists())
                .count();
            assert!(
                batches > 0,
                "{}: an expect file without a batch",
                path.display()
            );
            // Two batches named alike would share it, and one of them be checked against the
            // other's expectations.
            assert!(
                batches < 2,
                "{}: an expect file of two batches",
                path.display()
            );
            return;
        }
        seen += 1;
        let fixture = relative(path);
        let expect = expect_of(path);
        let Some(policy) = expect.policy.clone() else {
            panic!("{fixture}: no `policy:` line");
        };
        let args = ["eval", &policy, "--cases", &fixture, "--format", "jsonl"];
        let plain = readmit(&[&["--error-format", "plain"], &args[..]].concat());
        let stderr = String::from_utf8_lossy(&plain.stderr).into_owned();
        assert_eq!(
            plain.status.code(),
            expect.exit,
            "{fixture}: exit code\n{stderr}"
        );
        if let Some(records) = &expect.records {
            assert_eq!(
                &kinds(&plain.stdout),
                records,
                "{fixture}: records\n{stderr}"
            );
        }
        if expect.codes.is_some() || expect.at.is_some() {
            let json = readmit(&[&["--error-format", "json"], &args[..]].concat());
            let diagnostics = json_diagnostics(&String::from_utf8_lossy(&json.stderr));
            assert_codes(&fixture, &expect, &diagnostics, &stderr);
        }
        assert_printable(&fixture, &stderr);
        insta::assert_snapshot!(stderr);
    });
    assert!(seen >= 10, "only {seen} batch fixtures");
}

// ---- generated inputs ----------------------------------------------------------------------

/// A folder under the system's temporary folder, removed when dropped.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("readmit-hostile-")
        .tempdir_in(std::env::temp_dir())
        .unwrap_or_else(|e| panic!("a temporary folder: {e}"))
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// `readmit --error-format FORMAT check PATH`, timed: exit code, stderr, seconds.
fn check(format: &str, path: &Path) -> (Option<i32>, String, Duration) {
    let start = Instant::now();
    let out = readmit(&["--error-format", format, "check", &path.to_string_lossy()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed(),
    )
}

fn codes(stderr: &str) -> Vec<String> {
    json_diagnostics(stderr)
        .iter()
        .filter_map(|d| d["code"].as_str().map(str::to_string))
        .collect()
}

const HEADER: &str = "policy demo version 2020-01-01\nin force from 2020-01-01\nschema Case from \"schema.policy\"\nas of case.decision_date\n\noutcome accept\noutcome refuse\n\n";

const OTHERWISE: &str =
    "otherwise accept\n  because \"No rule applies.\"\n  cites \"Demo act § 2.\"\n";

/// A folder with the fixtures' small schema and one version file of the given text.
fn policy_folder(dir: &Path, version: &str) -> PathBuf {
    let folder = dir.join("demo");
    let schema = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(HOSTILE)
            .join("policy/schema.policy"),
    )
    .unwrap_or_else(|e| panic!("the fixtures' schema: {e}"));
    write(&folder.join("schema.policy"), &schema);
    write(&folder.join("2020-01-01.policy"), version.as_bytes());
    folder
}

/// Checks a generated version both ways: the plain diagnostic is short and printable, the JSON
/// one has the code. Returns the time of the plain run.
fn assert_refused(name: &str, version: &str, code: &str, max_stderr: usize) -> Duration {
    let dir = scratch();
    let folder = policy_folder(dir.path(), version);
    let (exit, stderr, took) = check("plain", &folder);
    assert_eq!(exit, Some(1), "{name}: exit code\n{stderr}");
    assert!(stderr.contains(code), "{name}: {code}\n{stderr}");
    assert!(
        stderr.len() <= max_stderr,
        "{name}: {} bytes on stderr:\n{}",
        stderr.len(),
        stderr.get(..2000).unwrap_or(&stderr)
    );
    assert_printable(name, &stderr);
    let (exit, stderr, _) = check("json", &folder);
    assert_eq!(exit, Some(1));
    assert_eq!(codes(&stderr), [code], "{name}");
    eprintln!("{name}: {} bytes, checked in {took:?}", version.len());
    took
}

#[test]
fn a_hundred_thousand_nested_brackets() {
    let depth = 100_000;
    let version = format!(
        "{HEADER}let deep = {}true{}\n\n{OTHERWISE}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let took = assert_refused("brackets", &version, "readmit::parse::too_deep", 1000);
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_hundred_thousand_nots() {
    let version = format!(
        "{HEADER}let deep = {}true\n\n{OTHERWISE}",
        "not ".repeat(100_000)
    );
    let took = assert_refused("nots", &version, "readmit::parse::too_deep", 1000);
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_five_megabyte_line() {
    let version = format!(
        "{HEADER}let long = \"{}\"\n\n{OTHERWISE}",
        "a".repeat(5_000_000)
    );
    let took = assert_refused("5 MB line", &version, "readmit::parse::too_large", 1000);
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_mistake_on_a_line_of_a_megabyte() {
    // Under the size limit: the file is read, and the diagnostic gives the place in words
    // instead of printing the line (and a million-character underline).
    let version = format!(
        "{HEADER}rule late:\n  when case.entry_dat > 2020-06-01  // {}\n  then refuse\n  because \"Late.\"\n  cites \"Demo act § 1.\"\n\n{OTHERWISE}",
        "a".repeat(1_000_000)
    );
    assert_refused("1 MB line", &version, "readmit::check::unknown_field", 1000);
    let dir = scratch();
    let folder = policy_folder(dir.path(), &version);
    let (_, stderr, _) = check("plain", &folder);
    assert!(
        stderr.contains("2020-01-01.policy:10:13 (not shown"),
        "{stderr}"
    );
}

/// `n` rules of a version, each `rule rK: when … then refuse`.
fn rules(n: usize, condition: impl Fn(usize) -> String) -> String {
    let mut text = String::from(HEADER);
    for k in 0..n {
        text.push_str(&format!(
            "rule r{k}:\n  when {}\n  then refuse\n  because \"Rule {k}.\"\n  cites \"Demo act § 1.\"\n\n",
            condition(k)
        ));
    }
    text.push_str(OTHERWISE);
    text
}

#[test]
fn a_million_rules() {
    // A million rules take 120 MB: over the 4 MiB limit of one file, refused before parsing.
    let version = rules(1_000_000, |k| format!("case.household > {}", k % 20));
    let took = assert_refused(
        "a million rules",
        &version,
        "readmit::parse::too_large",
        1000,
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn thousands_of_rules_are_checked_in_linear_time() {
    // The most that fit in 4 MiB (about 37,000) take 2.3 s in release, 19 s in debug; a tenth
    // of them here. The lints stop past 300 rules; duplicate names are found by a map.
    let version = rules(3_000, |k| {
        format!(
            "case.entry_date >= {}-{:02}-01 and case.special",
            2000 + k % 20,
            1 + k % 12
        )
    });
    let dir = scratch();
    let folder = policy_folder(dir.path(), &version);
    let (exit, stderr, took) = check("json", &folder);
    assert_eq!(exit, Some(0), "{}", stderr.get(..2000).unwrap_or(&stderr));
    eprintln!("3,000 rules ({} bytes): checked in {took:?}", version.len());
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn three_hundred_rules_that_cover_each_other_are_linted_in_bounded_time() {
    // Three comparisons each: the unreachable-rule lint asked a question per pair, each up to
    // 200,000 search steps over the whole formula: three minutes in release, an hour in debug.
    // Its work is bounded now; what it proves in that bound is still reported.
    let version = rules(300, |k| {
        format!(
            "case.entry_date >= {}-0{}-1{} and case.decision_date < {}-0{}-2{} and case.household == {}",
            2000 + k % 17,
            1 + k % 9,
            k % 10,
            2001 + k % 13,
            1 + k % 7,
            k % 8,
            1 + k % 16
        )
    });
    let dir = scratch();
    let folder = policy_folder(dir.path(), &version);
    let (exit, stderr, took) = check("json", &folder);
    assert_eq!(exit, Some(0), "{}", stderr.get(..2000).unwrap_or(&stderr));
    let found = codes(&stderr);
    assert!(
        found.iter().all(|c| c == "readmit::lint::unreachable_rule"),
        "{found:?}"
    );
    eprintln!("300 covering rules: {} findings in {took:?}", found.len());
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_schema_with_fields_named_like_keywords_decides_cases() {
    let policy = format!("{HOSTILE}/policy/keyword_fields");
    let tests = readmit(&["test", &policy]);
    assert_eq!(
        tests.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&tests.stdout)
    );
    let dir = scratch();
    let jsonl = dir.path().join("keywords.jsonl");
    write(
        &jsonl,
        concat!(
            r#"{"id": "A", "from": "2020-01-01", "case": "x", "when": true, "rule": 3, "not": true, "and": {"or": true}, "decision_date": "2020-02-02"}"#,
            "\n",
            r#"{"id": "B", "from": "2020-01-01", "case": "x", "when": true, "rule": 3, "decision_date": "2020-02-02"}"#,
            "\n",
            r#"{"id": "C", "from": "2020-01-01", "case": "x", "when": true, "rule": 3, "and": {"or": true}, "or": 1, "decision_date": "2020-02-02"}"#,
            "\n",
        )
        .as_bytes(),
    );
    let csv = dir.path().join("keywords.csv");
    write(
        &csv,
        b"id,from,case,when,rule,not,and.or,decision_date\nA,2020-01-01,x,true,3,true,true,2020-02-02\nB,2020-01-01,x,true,3,,,2020-02-02\n",
    );
    for (batch, expected) in [
        (
            &jsonl,
            vec![(1, "yes"), (2, "no"), (3, "error:unknown_field")],
        ),
        (&csv, vec![(2, "yes"), (3, "no")]),
    ] {
        let out = readmit(&[
            "eval",
            &policy,
            "--cases",
            &batch.to_string_lossy(),
            "--format",
            "jsonl",
        ]);
        let got: Vec<(u64, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|r| {
                let what = match r["error"]["kind"].as_str() {
                    Some(kind) => format!("error:{kind}"),
                    None => r["outcome"].as_str().unwrap_or("").to_string(),
                };
                (r["line"].as_u64().unwrap_or(0), what)
            })
            .collect();
        let expected: Vec<(u64, String)> = expected
            .into_iter()
            .map(|(l, o)| (l, o.to_string()))
            .collect();
        assert_eq!(got, expected, "{}", batch.display());
    }
}

/// Runs `readmit eval policies/storskog --cases - --format jsonl` (with `extra` arguments) on
/// `head`, then 50 MiB of the byte `filler`, then `tail`, written to its stdin as it reads; after
/// 40 MiB of filler, reads its peak resident memory. Returns its output and that peak.
fn eval_fifty_megabytes(
    extra: &[&str],
    head: &str,
    filler: u8,
    tail: &str,
) -> (Output, Option<u64>) {
    let child = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "--error-format",
            "plain",
            "eval",
            "policies/storskog",
            "--cases",
            "-",
            "--format",
            "jsonl",
        ])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = child.unwrap_or_else(|e| panic!("readmit does not run: {e}"));
    let pid = child.id();
    let Some(mut stdin) = child.stdin.take() else {
        panic!("no stdin");
    };
    // Output is drained by wait_with_output after stdin is closed; it is small until then.
    let megabyte = vec![filler; 1 << 20];
    let mut peak = None;
    let written = stdin.write_all(head.as_bytes());
    assert!(written.is_ok(), "readmit stopped reading at once");
    for sent in 1..=50 {
        let written = stdin.write_all(&megabyte);
        assert!(written.is_ok(), "readmit stopped reading after {sent} MB");
        if sent == 40 {
            let _ = stdin.flush();
            std::thread::sleep(Duration::from_millis(200));
            peak = peak_memory(pid);
        }
    }
    let written = stdin.write_all(tail.as_bytes());
    assert!(written.is_ok(), "readmit stopped reading at the end");
    drop(stdin);
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("readmit does not end: {e}"));
    (out, peak)
}

/// The peak resident memory of a running process, in bytes (Linux only).
fn peak_memory(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

const GOOD: &str = r#"{"id": "G1", "nationality": "SY", "entry_date": "2015-11-02", "travel": {"origin": "SY", "route": ["SY", "LB", "RU"], "direct_from_war_zone": false}, "special_connection": false, "decision_date": "2016-02-10"}"#;

#[test]
fn a_fifty_megabyte_line_is_one_parse_error_in_bounded_memory() {
    // Streamed through stdin, so that the memory of the running process can be read while the
    // line is half read: a reader that kept the line would hold 25 MB by then.
    let start = Instant::now();
    let (out, peak) = eval_fifty_megabytes(
        &[],
        &format!("{GOOD}\n{{\"id\": \""),
        b'x',
        &format!("\"}}\n{}\n", GOOD.replace("G1", "G3")),
    );
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(
        kinds(&out.stdout),
        [
            (1, "decided".into()),
            (2, "parse_error".into()),
            (3, "decided".into())
        ]
    );
    assert!(
        stderr.contains("the record is longer than 1048576 bytes"),
        "{stderr}"
    );
    assert!(stderr.len() < 2000, "{stderr}");
    eprintln!("50 MB line: {took:?}, peak memory at 40 MB read: {peak:?}");
    assert!(took < Duration::from_secs(20), "{took:?}");
    if let Some(peak) = peak {
        assert!(
            peak < 80 << 20,
            "{} MiB resident after 40 MB of one line",
            peak >> 20
        );
    }
}

#[test]
fn a_json_array_is_read_as_a_stream_in_bounded_memory() {
    // A .json batch was once read whole before its first record was decided: 50 MB of blanks
    // between two records held 50 MB. Now one element at a time is held.
    let (out, peak) = eval_fifty_megabytes(
        &["--input-format", "json"],
        &format!("[\n{GOOD},"),
        b' ',
        &format!("\n{}\n]\n", GOOD.replace("G1", "G3")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        kinds(&out.stdout),
        [(2, "decided".into()), (3, "decided".into())]
    );
    eprintln!("50 MB of blanks in a JSON array: peak memory at 40 MB read: {peak:?}");
    if let Some(peak) = peak {
        assert!(
            peak < 40 << 20,
            "{} MiB resident after 40 MB of the array",
            peak >> 20
        );
    }
}

#[test]
fn bad_records_of_a_megabyte_print_no_megabytes() {
    // Each error keeps its record's text for the excerpt (up to 20 of them): 20 bad records
    // just under the 1 MiB limit printed 80 MB on stderr before; now each gives its place.
    let dir = scratch();
    let path = dir.path().join("big.jsonl");
    let bad = format!(
        "{{\"id\": \"{}\", \"nationality\": }}\n",
        "x".repeat(1_000_000)
    );
    write(&path, format!("{GOOD}\n{bad}{bad}{bad}").as_bytes());
    let out = readmit(&[
        "--error-format",
        "plain",
        "eval",
        "policies/storskog",
        "--cases",
        &path.to_string_lossy(),
        "--format",
        "jsonl",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        kinds(&out.stdout),
        [
            (1, "decided".into()),
            (2, "parse_error".into()),
            (3, "parse_error".into()),
            (4, "parse_error".into())
        ]
    );
    assert!(stderr.len() < 5000, "{} bytes on stderr", stderr.len());
    assert!(stderr.contains("big.jsonl:2:1 (not shown"), "{stderr}");
}

// ---- paths outside the folder ---------------------------------------------------------------

/// A policy folder `pol/` whose version names its schema as `schema_path`, beside a folder
/// `outside/` holding a schema and a case file.
fn folder_with_schema(dir: &Path, schema_path: &str) -> PathBuf {
    let schema = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(HOSTILE)
            .join("policy/schema.policy"),
    )
    .unwrap_or_else(|e| panic!("the fixtures' schema: {e}"));
    write(&dir.join("outside/schema.policy"), &schema);
    write(
        &dir.join("outside/cases.jsonl"),
        br#"{"id": "X", "category": "adult", "entry_date": "2020-01-02", "decision_date": "2020-02-02", "route": ["SY"], "household": 1, "special": false}
"#,
    );
    write(&dir.join("pol/schema.policy"), &schema);
    let version = format!(
        "policy demo version 2020-01-01\nin force from 2020-01-01\nschema Case from \"{schema_path}\"\nas of case.decision_date\n\noutcome accept\n\n{OTHERWISE}"
    );
    write(&dir.join("pol/2020-01-01.policy"), version.as_bytes());
    dir.join("pol")
}

fn assert_outside(name: &str, policy: &Path, command: &str, written: &str) {
    let out = readmit(&["--error-format", "json", command, &policy.to_string_lossy()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{name}: {command}\n{stderr}");
    let diagnostics = json_diagnostics(&stderr);
    let found: Vec<&str> = diagnostics
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(
        found,
        ["readmit::check::path_outside"],
        "{name}: {command}\n{stderr}"
    );
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("`{written}` is outside"))),
        "{name}: {stderr}"
    );
}

#[test]
fn a_schema_outside_the_folder_is_refused() {
    let dir = scratch();
    let absolute = dir.path().join("outside/schema.policy");
    for (name, path) in [
        ("dot-dot", "../outside/schema.policy".to_string()),
        ("dot-dot inside", "./sub/../schema.policy".to_string()),
        ("absolute", absolute.to_string_lossy().into_owned()),
    ] {
        let policy = folder_with_schema(dir.path(), &path);
        assert_outside(name, &policy, "check", &path);
    }
}

#[cfg(unix)]
#[test]
fn a_schema_through_a_symlink_leading_outside_is_refused() {
    let dir = scratch();
    let policy = folder_with_schema(dir.path(), "linked/schema.policy");
    let linked = std::os::unix::fs::symlink(dir.path().join("outside"), policy.join("linked"));
    assert!(linked.is_ok(), "{linked:?}");
    assert_outside("a folder symlink", &policy, "check", "linked/schema.policy");
    let policy = folder_with_schema(dir.path(), "schema.link");
    let linked = std::os::unix::fs::symlink(
        dir.path().join("outside/schema.policy"),
        policy.join("schema.link"),
    );
    assert!(linked.is_ok(), "{linked:?}");
    assert_outside("a file symlink", &policy, "check", "schema.link");
}

#[cfg(unix)]
#[test]
fn a_policy_file_linked_from_outside_the_folder_is_refused() {
    // Files of the folder are listed, not named; a link among them would let a policy read a
    // file that a review of the folder never sees.
    let dir = scratch();
    let policy = folder_with_schema(dir.path(), "schema.policy");
    write(
        &dir.path().join("outside/tests/t.policy"),
        b"test \"t\" {\n  version 2020-01-01\n  case { id: \"X\" }\n  expect accept\n}\n",
    );
    for (link, target, shown) in [
        ("extra.policy", "outside/tests/t.policy", "extra.policy"),
        ("tests", "outside/tests", "tests/t.policy"),
    ] {
        let made = std::os::unix::fs::symlink(dir.path().join(target), policy.join(link));
        assert!(made.is_ok(), "{made:?}");
        let out = readmit(&["--error-format", "json", "check", &policy.to_string_lossy()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{link}: {stderr}");
        let diagnostics = json_diagnostics(&stderr);
        let codes: Vec<&str> = diagnostics
            .iter()
            .filter_map(|d| d["code"].as_str())
            .collect();
        assert_eq!(codes, ["readmit::check::link_outside"], "{link}: {stderr}");
        assert!(stderr.contains(shown), "{link}: {stderr}");
        let removed = std::fs::remove_file(policy.join(link));
        assert!(removed.is_ok(), "{removed:?}");
    }
    // Without the links, the folder is clean.
    let out = readmit(&["check", &policy.to_string_lossy()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test of `pol/tests/t.policy` taking its case from `case_path`.
fn test_case_from(policy: &Path, case_path: &str) {
    write(
        &policy.join("tests/t.policy"),
        format!("test \"from a file\" {{\n  version 2020-01-01\n  case from \"{case_path}\" id \"X\"\n  expect accept\n}}\n").as_bytes(),
    );
}

#[test]
fn a_test_case_from_outside_the_folder_is_refused() {
    let dir = scratch();
    let policy = folder_with_schema(dir.path(), "schema.policy");
    // Inside: the test runs and passes.
    let cases = std::fs::read(dir.path().join("outside/cases.jsonl")).unwrap_or_default();
    write(&policy.join("tests/cases.jsonl"), &cases);
    write(&policy.join("cases.jsonl"), &cases);
    test_case_from(&policy, "cases.jsonl");
    let out = readmit(&["test", &policy.to_string_lossy()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let absolute = dir.path().join("outside/cases.jsonl");
    for (name, path) in [
        // The policy folder's own file, but outside the test file's folder, `tests/`.
        ("dot-dot", "../cases.jsonl".to_string()),
        ("dot-dot twice", "../../outside/cases.jsonl".to_string()),
        ("absolute", absolute.to_string_lossy().into_owned()),
    ] {
        test_case_from(&policy, &path);
        assert_outside(name, &policy, "check", &path);
        assert_outside(name, &policy, "test", &path);
    }
}

#[cfg(unix)]
#[test]
fn a_test_case_from_a_symlink_leading_outside_is_refused() {
    let dir = scratch();
    let policy = folder_with_schema(dir.path(), "schema.policy");
    test_case_from(&policy, "linked.jsonl");
    let linked = std::os::unix::fs::symlink(
        dir.path().join("outside/cases.jsonl"),
        policy.join("tests/linked.jsonl"),
    );
    assert!(linked.is_ok(), "{linked:?}");
    assert_outside("a file symlink", &policy, "check", "linked.jsonl");
    assert_outside("a file symlink", &policy, "test", "linked.jsonl");
}
