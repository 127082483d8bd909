//! Caps and the ledger, through the real binary: the scenario of storskog-policy.md §7, re-runs,
//! releases, concurrent runs and a run killed inside its transaction.

// A test fails by panicking, helpers included.
#![allow(clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const POLICY: &str = "policies/storskog";

fn readmit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_readmit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run readmit: {e}"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("readmit-caps-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("temp dir: {e}"));
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// A v3 case eligible for `multi_entry_return`: a year of legal residence and a valid visa.
fn eligible(id: &str, decision_date: &str) -> Value {
    json!({
        "id": id, "nationality": "AF", "entry_date": "2015-10-20",
        "travel": {"origin": "AF", "route": ["AF", "IR", "RU"], "direct_from_war_zone": false},
        "russian_residence": {"status": "permanent", "since": "2012-03-01"},
        "visa": {"type": "multi_entry", "valid_until": "2017-01-01"},
        "special_connection": false, "decision_date": decision_date
    })
}

/// Cases that never take a place: a resident without a visa (no route), a special connection,
/// and a v2 suspension.
fn distractors() -> Vec<Value> {
    let mut no_visa = eligible("D-no-visa", "2016-02-05");
    if let Some(o) = no_visa.as_object_mut() {
        o.remove("visa");
    }
    let mut special = eligible("D-special", "2016-02-05");
    special["special_connection"] = json!(true);
    let suspended = eligible("D-suspended", "2016-01-25");
    let mut double = eligible("D-double-entry", "2016-02-05");
    double["visa"]["type"] = json!("double_entry");
    vec![no_visa, special, suspended, double]
}

fn jsonl(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

fn decisions(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// A deterministic shuffle (no randomness in tests): a fixed permutation by multiplication.
fn shuffled<T: Clone>(items: &[T]) -> Vec<T> {
    let n = items.len();
    (0..n).map(|i| items[(i * 7919 + 13) % n].clone()).collect()
}

/// The 250 returns already made, seeded into a new ledger.
fn seeded_ledger(dir: &Path) -> PathBuf {
    let ledger = dir.join("ledger.db");
    let mut csv = String::from("id,decision_date\n");
    for i in 0..250 {
        csv.push_str(&format!("EARLIER-{i:03},2015-12-{:02}\n", 1 + i % 28));
    }
    let seed = dir.join("earlier.csv");
    write(&seed, &csv);
    let out = readmit(&[
        "ledger",
        "import",
        POLICY,
        "--ledger",
        path(&ledger),
        "--cap",
        "storskog_arrangement",
        path(&seed),
    ]);
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ledger
}

fn active_grants(ledger: &Path) -> Vec<Value> {
    let out = readmit(&[
        "ledger",
        "list",
        "--ledger",
        path(ledger),
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    decisions(&out)
}

/// 310 eligible ids with byte-order traps: `M-10` < `M-9`, `M-100` < `M-5`.
fn eligible_batch() -> (Vec<Value>, Vec<(String, String)>) {
    let mut cases = Vec::new();
    let mut keys = Vec::new();
    for i in 1..=310 {
        let id = format!("M-{i}");
        // Three decision dates, so both keys of `order by` matter.
        let date = match i % 3 {
            0 => "2016-02-04",
            1 => "2016-02-05",
            _ => "2016-02-10",
        };
        cases.push(eligible(&id, date));
        keys.push((date.to_string(), id));
    }
    keys.sort();
    (cases, keys)
}

#[test]
fn the_moscow_cap_grants_exactly_the_first_fifty_in_order_and_keeps_them_on_rerun() {
    let dir = temp_dir("scenario");
    let ledger = seeded_ledger(&dir);
    let (cases, keys) = eligible_batch();
    let mut batch = cases.clone();
    batch.extend(distractors());
    let batch = shuffled(&batch);
    let cases_file = dir.join("batch.jsonl");
    write(&cases_file, &jsonl(&batch));

    let out = readmit(&[
        "eval",
        POLICY,
        "--cases",
        path(&cases_file),
        "--ledger",
        path(&ledger),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = decisions(&out);
    assert_eq!(first.len(), batch.len(), "one decision per record");
    // Input order is kept.
    for (decision, case) in first.iter().zip(&batch) {
        assert_eq!(decision["id"], case["id"]);
    }

    let expected_granted: BTreeSet<String> =
        keys.iter().take(50).map(|(_, id)| id.clone()).collect();
    let granted: BTreeSet<String> = first
        .iter()
        .filter(|d| d["outcome"] == "return_to_russia")
        .map(|d| d["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        granted, expected_granted,
        "exactly the first 50 by (decision_date, id bytes)"
    );
    // Written out by hand: the 103 cases decided 2016-02-04 (ids divisible by 3) come first, in
    // byte order M-102, M-105, …, M-117, M-12, M-120, …, M-234, M-237 (the 50th), M-24 (first in
    // the queue); so M-12 gets a place while M-3 and M-99 ("M-3" > "M-237" byte by byte) wait.
    let outcome_of = |id: &str| {
        first
            .iter()
            .find(|d| d["id"] == id)
            .map(|d| (d["outcome"].clone(), d["queue_position"].clone()))
    };
    assert_eq!(
        outcome_of("M-102"),
        Some((json!("return_to_russia"), Value::Null))
    );
    assert_eq!(
        outcome_of("M-12"),
        Some((json!("return_to_russia"), Value::Null))
    );
    assert_eq!(
        outcome_of("M-237"),
        Some((json!("return_to_russia"), Value::Null))
    );
    assert_eq!(outcome_of("M-24"), Some((json!("waitlist"), json!(1))));
    assert_eq!(outcome_of("M-240"), Some((json!("waitlist"), json!(2))));
    assert_eq!(outcome_of("M-3").map(|o| o.0), Some(json!("waitlist")));
    assert_eq!(outcome_of("M-99").map(|o| o.0), Some(json!("waitlist")));

    let mut queue: Vec<(u64, String)> = first
        .iter()
        .filter(|d| d["outcome"] == "waitlist")
        .map(|d| {
            assert_eq!(
                d["rule"], "multi_entry_return",
                "the waitlist keeps the eligibility rule"
            );
            assert_eq!(d["cap"], "moscow_agreement");
            (
                d["queue_position"].as_u64().unwrap_or(0),
                d["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    queue.sort();
    assert_eq!(queue.len(), 260);
    let expected_queue: Vec<(u64, String)> = keys
        .iter()
        .skip(50)
        .enumerate()
        .map(|(i, (_, id))| (i as u64 + 1, id.clone()))
        .collect();
    assert_eq!(queue, expected_queue, "positions 1..260 in cap order");
    for d in &first {
        if d["id"].as_str().is_some_and(|id| id.starts_with("D-")) {
            assert_eq!(d["cap"], Value::Null, "{} takes no place", d["id"]);
            assert_ne!(d["outcome"], "return_to_russia");
        }
    }
    assert_eq!(
        active_grants(&ledger).len(),
        300,
        "250 earlier + 50 new grants"
    );

    // The same batch again: the same 50 keep their places, nothing new is granted.
    let out = readmit(&[
        "eval",
        POLICY,
        "--cases",
        path(&cases_file),
        "--ledger",
        path(&ledger),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let again = decisions(&out);
    let regranted: BTreeSet<String> = again
        .iter()
        .filter(|d| d["outcome"] == "return_to_russia")
        .map(|d| d["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(regranted, expected_granted);
    assert_eq!(active_grants(&ledger).len(), 300);
    assert!(String::from_utf8_lossy(&out.stderr).contains("granted 0, kept 50, waitlisted 260"));

    // One place released: the next run grants it to the first in the queue.
    let released = &keys[7].1;
    let out = readmit(&[
        "ledger",
        "release",
        "--ledger",
        path(&ledger),
        "--cap",
        "moscow_agreement",
        "--case",
        released,
        "--reason",
        "return cancelled on appeal",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut without_released: Vec<Value> = batch
        .iter()
        .filter(|c| c["id"] != released.as_str())
        .cloned()
        .collect();
    without_released.reverse();
    write(&cases_file, &jsonl(&without_released));
    let out = readmit(&[
        "eval",
        POLICY,
        "--cases",
        path(&cases_file),
        "--ledger",
        path(&ledger),
    ]);
    let third = decisions(&out);
    let first_in_queue = &keys[50].1;
    let promoted = third.iter().find(|d| d["id"] == first_in_queue.as_str());
    assert_eq!(
        promoted.map(|d| d["outcome"].clone()),
        Some(json!("return_to_russia"))
    );
    assert_eq!(active_grants(&ledger).len(), 300);
    let all = readmit(&[
        "ledger",
        "list",
        "--ledger",
        path(&ledger),
        "--all",
        "--format",
        "json",
    ]);
    let released_row = decisions(&all)
        .into_iter()
        .find(|g| g["case_id"] == released.as_str());
    assert_eq!(
        released_row.map(|g| g["release_reason"].clone()),
        Some(json!("return cancelled on appeal")),
        "a released grant stays in the ledger"
    );
}

#[test]
fn suspension_and_individual_assessment_never_take_a_place() {
    let dir = temp_dir("no-place");
    let ledger = dir.join("ledger.db");
    let cases_file = dir.join("batch.jsonl");
    write(&cases_file, &jsonl(&distractors()));
    let out = readmit(&[
        "eval",
        POLICY,
        "--cases",
        path(&cases_file),
        "--ledger",
        path(&ledger),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let outcomes: Vec<String> = decisions(&out)
        .iter()
        .map(|d| d["outcome"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        outcomes,
        [
            "no_return_route",
            "individual_assessment",
            "return_suspended",
            "no_return_route"
        ]
    );
    assert!(active_grants(&ledger).is_empty());
}

#[test]
fn two_runs_at_once_never_exceed_the_limit() {
    for round in 0..4 {
        let dir = temp_dir(&format!("concurrent-{round}"));
        let ledger = seeded_ledger(&dir);
        // Two overlapping batches of 60 eligible cases each, 30 in common: 90 candidates for 50 places.
        let a: Vec<Value> = (0..60)
            .map(|i| eligible(&format!("C-{i}"), "2016-02-05"))
            .collect();
        let b: Vec<Value> = (30..90)
            .map(|i| eligible(&format!("C-{i}"), "2016-02-05"))
            .collect();
        let (file_a, file_b) = (dir.join("a.jsonl"), dir.join("b.jsonl"));
        write(&file_a, &jsonl(&a));
        write(&file_b, &jsonl(&b));
        let spawn = |file: &Path| {
            Command::new(env!("CARGO_BIN_EXE_readmit"))
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .args([
                    "eval",
                    POLICY,
                    "--cases",
                    path(file),
                    "--ledger",
                    path(&ledger),
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("spawn: {e}"))
        };
        let (first, second) = (spawn(&file_a), spawn(&file_b));
        let (first, second) = (
            first.wait_with_output().unwrap_or_else(|e| panic!("{e}")),
            second.wait_with_output().unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(
            first.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        assert_eq!(
            second.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&second.stderr)
        );
        let grants = active_grants(&ledger);
        assert_eq!(
            grants.len(),
            300,
            "round {round}: 250 earlier + exactly 50 places, never more"
        );
        let returned: BTreeSet<String> = decisions(&first)
            .iter()
            .chain(decisions(&second).iter())
            .filter(|d| d["outcome"] == "return_to_russia")
            .map(|d| d["id"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            returned.len(),
            50,
            "round {round}: each place reported to one case id"
        );
    }
}

#[test]
fn a_run_killed_inside_its_transaction_leaves_the_ledger_as_it_was() {
    let dir = temp_dir("killed");
    let ledger = seeded_ledger(&dir);
    let before = active_grants(&ledger);
    let cases: Vec<Value> = (0..20)
        .map(|i| eligible(&format!("K-{i}"), "2016-02-05"))
        .collect();
    let file = dir.join("batch.jsonl");
    write(&file, &jsonl(&cases));
    let mut child = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "eval",
            POLICY,
            "--cases",
            path(&file),
            "--ledger",
            path(&ledger),
        ])
        .env("READMIT_LEDGER_HOLD_MS", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    // Wait until the run holds its write transaction (its journal exists), then kill it.
    let journal = dir.join("ledger.db-journal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !journal.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(journal.exists(), "the run reached its transaction");
    child.kill().unwrap_or_else(|e| panic!("kill: {e}"));
    let _ = child.wait();
    assert_eq!(
        active_grants(&ledger),
        before,
        "nothing of the killed batch was committed"
    );

    let out = readmit(&[
        "eval",
        POLICY,
        "--cases",
        path(&file),
        "--ledger",
        path(&ledger),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let granted = decisions(&out)
        .iter()
        .filter(|d| d["outcome"] == "return_to_russia")
        .count();
    assert_eq!(granted, 20);
    assert_eq!(active_grants(&ledger).len(), 270);
}

#[test]
fn a_file_that_is_not_a_ledger_is_refused_and_left_untouched() {
    let dir = temp_dir("not-ledger");
    let file = dir.join("notes.db");
    write(&file, "these are my notes, not a database\n");
    let out = readmit(&[
        "eval",
        POLICY,
        "--cases",
        "examples/cases/storskog.jsonl",
        "--ledger",
        path(&file),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a readmit ledger"));
    assert!(
        out.stdout.is_empty(),
        "nothing decided before the ledger is known good"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap_or_default(),
        "these are my notes, not a database\n"
    );
}
