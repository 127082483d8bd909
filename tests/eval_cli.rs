//! `readmit eval` as a command: exit codes, output formats, input formats, stdin, `--output`,
//! `--threads`; and the embedding API as examples/embed.rs uses it.
//!
//! The embedding example itself is compiled by `cargo test`, which builds every example of the
//! package by default; running it (`cargo run --example embed`) would be too slow here, so
//! `the_embedding_api_as_the_example_uses_it` makes the same calls and checks their results.

// A test fails by panicking, as in the unit tests of src/.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const POLICY: &str = "policies/storskog";
const CASES: &str = "examples/cases/storskog.jsonl";
const CASES_CSV: &str = "examples/cases/storskog.csv";
const ERRORS: &str = "tests/cases/eval/errors/all_kinds.jsonl";

fn readmit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_readmit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("the readmit binary runs")
}

fn readmit_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the readmit binary runs");
    let mut input = child.stdin.take().expect("a stdin");
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("readmit ends");
    let _ = writer.join();
    out
}

fn eval(cases: &str, extra: &[&str]) -> Output {
    let mut args = vec!["eval", POLICY, "--cases", cases];
    args.extend_from_slice(extra);
    readmit(&args)
}

fn jsonl(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn root(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

// Exit codes -------------------------------------------------------------------------------------

#[test]
fn exit_0_when_every_case_is_decided() {
    let out = eval(CASES, &["--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(jsonl(&out).len(), 67);
}

#[test]
fn exit_3_when_some_records_are_errors() {
    let out = eval(ERRORS, &["--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let records = jsonl(&out);
    assert_eq!(records.len(), 21, "every record has its line of output");
    assert_eq!(
        records.iter().filter(|r| r.get("error").is_some()).count(),
        10
    );
}

#[test]
fn exit_1_when_the_policy_has_errors() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let copy = dir.path().join("storskog");
    std::fs::create_dir(&copy).expect("a folder");
    for entry in std::fs::read_dir(root(POLICY))
        .expect("the policy folder")
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "policy") {
            let text = std::fs::read_to_string(&path).expect("a policy file");
            let text = if path.ends_with("2016-02-03.policy") {
                assert!(text.contains("then individual_assessment"));
                text.replace("then individual_assessment", "then no_such_outcome")
            } else {
                text
            };
            std::fs::write(copy.join(entry.file_name()), text).expect("a copy");
        }
    }
    let out = readmit(&[
        "eval",
        &copy.to_string_lossy(),
        "--cases",
        &root(CASES).to_string_lossy(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "no decision from a broken policy");
    assert!(
        stderr(&out).contains("no_such_outcome"),
        "the diagnostic names the mistake:\n{}",
        stderr(&out)
    );
}

#[test]
fn exit_2_on_usage_and_io_errors() {
    let cases: [(&str, Vec<&str>, &str); 7] = [
        (
            "a missing cases file",
            vec![
                "eval",
                POLICY,
                "--cases",
                "examples/cases/no-such-file.jsonl",
            ],
            "no-such-file.jsonl",
        ),
        (
            "a missing policy folder",
            vec!["eval", "policies/no-such-policy", "--cases", CASES],
            "no-such-policy",
        ),
        (
            "an unknown --version",
            vec!["eval", POLICY, "--cases", CASES, "--version", "2016-01-01"],
            "2016-01-01",
        ),
        (
            "a --version that is not a date",
            vec!["eval", POLICY, "--cases", CASES, "--version", "latest"],
            "latest",
        ),
        (
            "an --as-of that is not a calendar date",
            vec!["eval", POLICY, "--cases", CASES, "--as-of", "2016-02-30"],
            "2016-02-30",
        ),
        (
            "an --as-of that is not a date",
            vec!["eval", POLICY, "--cases", CASES, "--as-of", "yesterday"],
            "yesterday",
        ),
        (
            "--version together with --as-of",
            vec![
                "eval",
                POLICY,
                "--cases",
                CASES,
                "--version",
                "2016-02-03",
                "--as-of",
                "2016-02-03",
            ],
            "--as-of",
        ),
    ];
    for (what, args, named) in cases {
        let out = readmit(&args);
        assert_eq!(out.status.code(), Some(2), "{what}:\n{}", stderr(&out));
        assert!(out.stdout.is_empty(), "{what}: nothing on stdout");
        assert!(
            stderr(&out).contains(named),
            "{what}: stderr names `{named}`:\n{}",
            stderr(&out)
        );
    }
}

// Output formats ---------------------------------------------------------------------------------

#[test]
fn jsonl_is_the_default_when_stdout_is_not_a_terminal() {
    let default = eval(CASES, &[]);
    let explicit = eval(CASES, &["--format", "jsonl"]);
    assert_eq!(default.status.code(), Some(0));
    assert_eq!(default.stdout, explicit.stdout);
}

#[test]
fn json_is_an_array_of_the_same_records() {
    for cases in [CASES, ERRORS] {
        let lines = jsonl(&eval(cases, &["--format", "jsonl"]));
        let out = eval(cases, &["--format", "json"]);
        let array: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
        assert_eq!(array, Value::Array(lines), "{cases}");
    }
    // An empty batch is an empty array.
    let out = readmit_with_stdin(
        &["eval", POLICY, "--cases", "-", "--format", "json"],
        b"\n\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let array: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(array, json!([]));
}

/// The CSV output as a header and rows of named cells.
fn csv_rows(out: &Output) -> (Vec<String>, Vec<Vec<(String, String)>>) {
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a CSV row");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

fn cell<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
    row.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// A JSON value as a CSV cell shows it: strings bare, null empty.
fn as_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn csv_has_a_header_and_one_row_per_record() {
    for cases in [CASES, ERRORS] {
        let records = jsonl(&eval(cases, &["--format", "jsonl"]));
        let out = eval(cases, &["--format", "csv"]);
        let (header, rows) = csv_rows(&out);
        for column in [
            "line",
            "id",
            "policy",
            "version",
            "outcome",
            "rule",
            "cap",
            "queue_position",
            "error_kind",
            "error_field",
            "attributes.transport",
            "attributes.destination",
            "attributes.via",
        ] {
            assert!(
                header.iter().any(|h| h == column),
                "{cases}: column {column}"
            );
        }
        assert_eq!(rows.len(), records.len(), "{cases}: one row per record");
        for (row, record) in rows.iter().zip(&records) {
            let at = format!("{cases} line {}", record["line"]);
            assert_eq!(cell(row, "line"), record["line"].to_string(), "{at}");
            assert_eq!(cell(row, "id"), as_cell(&record["id"]), "{at}");
            match record.get("error") {
                Some(error) => {
                    assert_eq!(cell(row, "error_kind"), as_cell(&error["kind"]), "{at}");
                    assert_eq!(cell(row, "error_field"), as_cell(&error["field"]), "{at}");
                    assert_eq!(cell(row, "outcome"), "", "{at}");
                }
                None => {
                    for name in ["version", "outcome", "rule", "cap", "queue_position"] {
                        assert_eq!(cell(row, name), as_cell(&record[name]), "{at}: {name}");
                    }
                    for name in ["transport", "destination", "via"] {
                        assert_eq!(
                            cell(row, &format!("attributes.{name}")),
                            as_cell(&record["attributes"][name]),
                            "{at}: attributes.{name}"
                        );
                    }
                    assert_eq!(cell(row, "error_kind"), "", "{at}");
                }
            }
        }
    }
}

#[test]
fn table_has_a_header_and_every_case() {
    let out = eval(CASES, &["--format", "table"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let header = text.lines().next().unwrap_or_default();
    let words: Vec<&str> = header.split_whitespace().collect();
    assert!(
        words.starts_with(&["LINE", "ID", "VERSION", "OUTCOME", "RULE"]),
        "header: {header}"
    );
    for record in jsonl(&eval(CASES, &["--format", "jsonl"])) {
        let id = record["id"].as_str().expect("an id");
        let outcome = record["outcome"].as_str().expect("an outcome");
        assert!(
            text.lines().any(|l| l.contains(id) && l.contains(outcome)),
            "{id} ({outcome}) has its row"
        );
    }
}

// Input ------------------------------------------------------------------------------------------

#[test]
fn cases_from_stdin() {
    let bytes = std::fs::read(root(CASES)).expect("the example batch");
    let from_file = eval(CASES, &["--format", "jsonl"]);
    let from_stdin = readmit_with_stdin(
        &["eval", POLICY, "--cases", "-", "--format", "jsonl"],
        &bytes,
    );
    assert_eq!(from_stdin.status.code(), Some(0), "{}", stderr(&from_stdin));
    assert_eq!(from_stdin.stdout, from_file.stdout, "byte for byte");
    // Errors too.
    let bytes = std::fs::read(root(ERRORS)).expect("a fixture");
    let from_file = eval(ERRORS, &["--format", "jsonl"]);
    let from_stdin = readmit_with_stdin(
        &["eval", POLICY, "--cases", "-", "--format", "jsonl"],
        &bytes,
    );
    assert_eq!(from_stdin.status.code(), Some(3));
    assert_eq!(from_stdin.stdout, from_file.stdout, "byte for byte");
}

#[test]
fn csv_input_decides_as_jsonl_input() {
    let from_jsonl = jsonl(&eval(CASES, &["--format", "jsonl"]));
    let out = eval(CASES_CSV, &["--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let from_csv = jsonl(&out);
    assert_eq!(from_csv.len(), from_jsonl.len());
    for (c, j) in from_csv.iter().zip(&from_jsonl) {
        let (Some(c), Some(j)) = (c.as_object(), j.as_object()) else {
            panic!("decisions are objects");
        };
        let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(c), keys(j), "the same fields, in the same order");
        for (name, value) in j {
            if name == "line" {
                // The CSV header is physical line 1, so row n is line n + 1.
                let line = value.as_u64().expect("a line");
                assert_eq!(c[name], json!(line + 1), "{}: line", j["id"]);
            } else {
                assert_eq!(&c[name], value, "{}: field {name}", j["id"]);
            }
        }
    }
    // The same with --explain: the traces read the same values.
    let traced_jsonl = jsonl(&eval(CASES, &["--format", "jsonl", "--explain"]));
    let traced_csv = jsonl(&eval(CASES_CSV, &["--format", "jsonl", "--explain"]));
    for (c, j) in traced_csv.iter().zip(&traced_jsonl) {
        assert_eq!(c["trace"], j["trace"], "{}: trace", j["id"]);
    }
}

/// The example CSV rewritten: `\r\n` line ends, and/or a blank line after every `every` rows.
fn csv_variant(dir: &Path, name: &str, crlf: bool, blank_every: Option<usize>) -> String {
    let text = std::fs::read_to_string(root(CASES_CSV)).expect("the example CSV");
    let end = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        out.push_str(line);
        out.push_str(end);
        if blank_every.is_some_and(|n| i > 0 && i % n == 0) {
            out.push_str(end);
        }
    }
    let path = dir.join(name);
    std::fs::write(&path, out).expect("a temporary file");
    path.to_string_lossy().into_owned()
}

/// The physical line of each data row of a CSV file (blank lines and the header skipped).
fn csv_row_lines(path: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(path).expect("the CSV");
    text.split('\n')
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

#[test]
fn a_crlf_csv_or_one_with_blank_lines_decides_the_same_apart_from_line() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut plain = jsonl(&eval(CASES_CSV, &["--format", "jsonl"]));
    for (name, crlf, blank) in [("crlf.csv", true, None), ("blank.csv", false, Some(10))] {
        let path = csv_variant(dir.path(), name, crlf, blank);
        let out = eval(&path, &["--format", "jsonl"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let mut records = jsonl(&out);
        for r in records.iter_mut().chain(plain.iter_mut()) {
            if let Some(map) = r.as_object_mut() {
                map.remove("line");
            }
        }
        assert_eq!(records, plain, "{name}");
    }
}

#[test]
fn a_crlf_csv_reports_physical_lines() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = csv_variant(dir.path(), "crlf.csv", true, None);
    let lines: Vec<u64> = jsonl(&eval(&path, &["--format", "jsonl"]))
        .iter()
        .filter_map(|r| r["line"].as_u64())
        .collect();
    assert_eq!(lines, csv_row_lines(&path));
}

#[test]
fn a_csv_with_blank_lines_reports_physical_lines() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = csv_variant(dir.path(), "blank.csv", false, Some(10));
    let lines: Vec<u64> = jsonl(&eval(&path, &["--format", "jsonl"]))
        .iter()
        .filter_map(|r| r["line"].as_u64())
        .collect();
    assert_eq!(lines, csv_row_lines(&path));
}

#[test]
fn a_json_array_decides_as_jsonl() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let text = std::fs::read_to_string(root(CASES)).expect("the example batch");
    // `[` on line 1, one element per line from line 2.
    let array = format!("[\n{}\n]\n", text.trim_end().replace('\n', ",\n"));
    let path = dir.path().join("storskog.json");
    std::fs::write(&path, array).expect("a temporary file");
    let from_jsonl = jsonl(&eval(CASES, &["--format", "jsonl"]));
    let out = eval(&path.to_string_lossy(), &["--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let from_array = jsonl(&out);
    assert_eq!(from_array.len(), from_jsonl.len());
    for (mut a, mut j) in from_array.into_iter().zip(from_jsonl) {
        assert_eq!(a["line"].as_u64(), j["line"].as_u64().map(|l| l + 1));
        a["line"] = Value::Null;
        j["line"] = Value::Null;
        assert_eq!(a, j);
    }
}

// Output file ------------------------------------------------------------------------------------

#[test]
fn output_goes_to_the_file_and_nothing_to_stdout() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let expected = eval(CASES, &["--format", "jsonl"]).stdout;
    let target = dir.path().join("decisions.jsonl");
    let out = eval(
        CASES,
        &["--format", "jsonl", "--output", &target.to_string_lossy()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    assert_eq!(std::fs::read(&target).expect("the output file"), expected);
    // Written atomically: no temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("the folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["decisions.jsonl".to_string()]);
    // An existing file is replaced, and without --format a file gets JSON Lines.
    let out = eval(ERRORS, &["-o", &target.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read(&target).expect("the output file"),
        eval(ERRORS, &["--format", "jsonl"]).stdout
    );
}

#[test]
fn output_into_a_missing_folder_is_an_io_error() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let target = dir.path().join("no-such-folder").join("decisions.jsonl");
    let out = eval(CASES, &["--output", &target.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!target.exists());
}

// Threads ----------------------------------------------------------------------------------------

/// A batch bigger than one chunk of the reader, with errors and duplicate ids spread through it,
/// and cap decisions early (so that everything after them is spooled).
fn large_batch() -> String {
    let text = std::fs::read_to_string(root(CASES)).expect("the example batch");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    // More than one chunk of the reader (`readmit::engine::CHUNK`, 1,024 records).
    for i in 0..4_500usize {
        let Some(line) = lines.get(i % lines.len()) else {
            continue;
        };
        let mut case: Value = serde_json::from_str(line).expect("a case");
        let Some(fields) = case.as_object_mut() else {
            continue;
        };
        fields.insert("id".into(), json!(format!("BIG-{i:05}")));
        match i % 997 {
            13 => out.push_str("{not json}\n"),
            14 => {
                fields.insert("id".into(), json!("BIG-00001")); // a duplicate id
            }
            15 => {
                let visa = json!({"type": "multiple", "valid_until": "2016-12-31"});
                fields.insert("visa".into(), visa);
            }
            16 => out.push('\n'),
            _ => {}
        }
        out.push_str(&case.to_string());
        out.push('\n');
    }
    out
}

#[test]
fn threads_do_not_change_the_output() {
    for (cases, code) in [(CASES, 0), (ERRORS, 3)] {
        let one = eval(cases, &["--format", "jsonl", "--threads", "1"]);
        let two = eval(cases, &["--format", "jsonl", "--threads", "2"]);
        let four = eval(cases, &["--format", "jsonl", "--threads", "4"]);
        assert_eq!(one.status.code(), Some(code), "{cases}: {}", stderr(&one));
        assert!(
            one.stdout == two.stdout,
            "{cases}: --threads 1 and 2 differ"
        );
        assert!(
            one.stdout == four.stdout,
            "{cases}: --threads 1 and 4 differ"
        );
    }
}

#[test]
fn threads_do_not_change_the_output_of_a_batch_over_one_chunk() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("large.jsonl");
    let batch = large_batch();
    std::fs::write(&path, &batch).expect("a temporary file");
    let path = path.to_string_lossy().into_owned();
    let one = eval(&path, &["--format", "jsonl", "--threads", "1"]);
    let two = eval(&path, &["--format", "jsonl", "--threads", "2"]);
    assert_eq!(one.status.code(), Some(3), "{}", stderr(&one));
    assert!(one.stdout == two.stdout, "--threads 1 and 2 differ");
    // In input order, every non-blank line accounted for.
    let records = jsonl(&two);
    let lines: Vec<u64> = records.iter().filter_map(|r| r["line"].as_u64()).collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "input order");
    let non_blank = batch.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(records.len(), non_blank);
    let errors = records.iter().filter(|r| r.get("error").is_some()).count();
    assert_eq!(errors, 3 * 5, "five groups of three bad records");
}

#[test]
fn decisions_written_before_the_first_capped_one_stay_first() {
    // Forty Russian nationals (standard procedure, no cap), about 20 KiB of output, go out
    // before the first decision that waits for a cap; what follows is rendered at the end in
    // long runs of lines, which bypass the output's buffer and must not overtake it.
    let text = std::fs::read_to_string(root(CASES)).expect("the example batch");
    let first = text.lines().next().expect("a case");
    let mut batch = String::new();
    for i in 0..40 {
        let mut case: Value = serde_json::from_str(first).expect("a case");
        case["id"] = json!(format!("RU-{i:03}"));
        case["nationality"] = json!("RU");
        batch.push_str(&case.to_string());
        batch.push('\n');
    }
    batch.push_str(&large_batch());
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("ru-first.jsonl");
    std::fs::write(&path, &batch).expect("a temporary file");
    let path = path.to_string_lossy().into_owned();
    for threads in ["1", "2"] {
        let out = eval(&path, &["--format", "jsonl", "--threads", threads]);
        let records = jsonl(&out);
        let lines: Vec<u64> = records.iter().filter_map(|r| r["line"].as_u64()).collect();
        assert!(
            lines.windows(2).all(|w| w[0] < w[1]),
            "--threads {threads}: input order"
        );
        assert_eq!(lines.first(), Some(&1), "--threads {threads}");
    }
}

// The embedding API ------------------------------------------------------------------------------

#[test]
fn the_embedding_api_as_the_example_uses_it() {
    use readmit::{Engine, EvalOptions, Record, VersionChoice};

    let engine = Engine::load(&root(POLICY)).expect("policies/storskog loads");
    let cases = [
        json!({
            "id": "EMBED-1", "nationality": "SY", "entry_date": "2015-10-01",
            "travel": {"origin": "SY", "route": ["SY", "RU"], "direct_from_war_zone": true},
            "special_connection": false, "decision_date": "2015-12-01"
        }),
        json!({
            "id": "EMBED-2", "nationality": "AF", "entry_date": "2015-11-02",
            "travel": {"origin": "AF", "route": ["AF", "IR", "RU"], "direct_from_war_zone": false},
            "russian_residence": {"status": "permanent", "since": "2011-05-01"},
            "visa": {"type": "multi_entry", "valid_until": "2017-01-01"},
            "special_connection": false, "decision_date": "2016-02-10"
        }),
    ];
    let summary = |records: Vec<Record>| -> Vec<(String, String, String, String)> {
        records
            .into_iter()
            .map(|r| match r {
                Record::Decision(d) => (
                    d.id.clone(),
                    d.version.to_string(),
                    d.outcome.to_string(),
                    d.rule.to_string(),
                ),
                Record::Error(e) => panic!("{e:?}"),
            })
            .collect()
    };
    let owned = |v: [(&str, &str, &str, &str); 2]| -> Vec<(String, String, String, String)> {
        v.iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
            .collect()
    };
    assert_eq!(
        summary(engine.decide_values(&cases, EvalOptions::default())),
        owned([
            (
                "EMBED-1",
                "2015-11-26",
                "process_in_norway",
                "war_zone_direct"
            ),
            (
                "EMBED-2",
                "2016-02-03",
                "return_to_russia",
                "multi_entry_return"
            ),
        ])
    );
    let as_if = EvalOptions {
        choice: VersionChoice::Forced(0),
        explain: false,
    };
    assert_eq!(
        summary(engine.decide_values(&cases, as_if)),
        owned([
            (
                "EMBED-1",
                "2015-11-26",
                "process_in_norway",
                "war_zone_direct"
            ),
            (
                "EMBED-2",
                "2015-11-26",
                "return_to_russia",
                "resident_return"
            ),
        ])
    );
    // The API decides as the binary does.
    let from_api: Vec<Value> = engine
        .decide_values(&cases, EvalOptions::default())
        .iter()
        .map(|r| serde_json::to_value(r).expect("serialises"))
        .collect();
    let text: String = cases.iter().map(|c| format!("{c}\n")).collect();
    let from_binary = jsonl(&readmit_with_stdin(
        &["eval", POLICY, "--cases", "-", "--format", "jsonl"],
        text.as_bytes(),
    ));
    assert_eq!(from_api, from_binary);
}
