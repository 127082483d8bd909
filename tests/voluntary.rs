//! The assisted voluntary return policy (`policies/voluntary/`, voluntary-policy.md), end to end:
//!
//! - `readmit check` is clean, and `readmit test` passes with every rule reached;
//! - the decisions of the example batch (examples/cases/voluntary.jsonl) are snapshotted and,
//!   independently of the snapshot, compared in code with the table derived by hand in
//!   examples/cases/README.md (outcome, rule, version, amounts, programme); the CSV copy of the
//!   batch decides the same;
//! - the worked amounts of §5, written out here, on constructed cases of both versions, in time
//!   and late, with and without the extra;
//! - the first-500 cap (§7) through the binary with a ledger file: 480 grants seeded, a shuffled
//!   batch of 30 with byte-order traps in the ids, exactly the first 20 granted, a re-run that
//!   grants nothing new, and Storskog grants in the same ledger that never count;
//! - record errors on the household (§3.1): the rest of the batch is decided, exit code 3;
//! - forced versions (§2, D2): v2 gives no extra outside the window, v1 never does;
//! - a witness for every rule, decided by that rule.

// A test fails by panicking, helpers included.
#![allow(clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use readmit::witness::witnesses;
use readmit::{Engine, EvalOptions, VersionChoice};
use serde_json::{Value, json};

const POLICY: &str = "policies/voluntary";
const CASES: &str = "examples/cases/voluntary.jsonl";
const CASES_CSV: &str = "examples/cases/voluntary.csv";
const README: &str = "examples/cases/README.md";
const V1: &str = "2015-09-01";
const V2: &str = "2016-04-25";

// ---- helpers -----------------------------------------------------------------------------------

/// Runs the binary from the crate root, so that paths (and so the output) are the same everywhere.
fn readmit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_readmit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run readmit: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn root_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("readmit-voluntary-{name}-{}", std::process::id()));
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

fn jsonl(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

/// The JSON Lines of a run's stdout.
fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(POLICY)).unwrap_or_else(|d| {
            panic!(
                "{}",
                readmit::diagnostics::render(&d, readmit::diagnostics::ErrorFormat::Plain)
            )
        })
    })
}

fn version_index(version: &str) -> usize {
    engine()
        .policy
        .version_index(version)
        .unwrap_or_else(|| panic!("no version {version}"))
}

/// Decides one case in-process (caps allocated within this one-case batch) and returns the
/// record as the JSON of `readmit eval --format jsonl`.
fn decide(case: &Value, choice: VersionChoice) -> Value {
    let options = EvalOptions {
        choice,
        explain: false,
    };
    let records = engine().decide_values([case], options);
    assert_eq!(records.len(), 1, "one record in, one out");
    serde_json::to_value(&records[0]).unwrap_or_else(|e| panic!("a record serialises: {e}"))
}

/// An application that qualifies for the extra under v2: an Iraqi household of one adult, claim
/// pending since October 2015, applying on 2016-05-10. `changes` replaces top-level fields; a
/// `null` removes the field.
fn application(id: &str, changes: Value) -> Value {
    let mut case = json!({
        "id": id,
        "nationality": "IQ",
        "return_country": "IQ",
        "household": {"adults": 1, "children": 0},
        "claim_status": "pending",
        "asylum_claim_date": "2015-10-12",
        "application_date": "2016-05-10",
        "previous_application": false,
        "visa_exempt": false,
        "convicted": false,
        "dublin": false
    });
    if let (Some(map), Value::Object(changes)) = (case.as_object_mut(), changes) {
        for (key, value) in changes {
            if value.is_null() {
                map.remove(&key);
            } else {
                map.insert(key, value);
            }
        }
    }
    case
}

fn household(adults: i64, children: i64) -> Value {
    json!({"adults": adults, "children": children})
}

fn sha256_of_version(version: &str) -> String {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(POLICY)
            .join(format!("{version}.policy")),
    )
    .unwrap_or_else(|e| panic!("the version file {version}: {e}"));
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---- (a) check ---------------------------------------------------------------------------------

#[test]
fn the_policy_checks_clean() {
    let out = readmit(&["check", POLICY]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("policies/voluntary: 0 errors, 0 warnings"),
        "{}",
        stderr(&out)
    );
    let out = readmit(&["check", "--deny-warnings", POLICY]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

// ---- (b) the example batch against the README table --------------------------------------------

/// One row of the README's table "Expected decisions (voluntary)".
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    id: String,
    application_date: String,
    version: String,
    outcome: String,
    rule: String,
    /// `None` where the table says "—" (the outcome has no such attribute).
    amount_nok: Option<i64>,
    extra_nok: Option<i64>,
    programme: Option<String>,
}

fn readme_rows() -> Vec<Row> {
    let dash = |cell: &str| (cell != "—").then(|| cell.to_string());
    let number = |cell: &str| {
        dash(cell).map(|c| {
            c.parse::<i64>()
                .unwrap_or_else(|e| panic!("not a number `{c}`: {e}"))
        })
    };
    root_file(README)
        .lines()
        .filter(|l| l.starts_with("| VAR-"))
        .map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`'))
                .collect();
            let [
                id,
                date,
                version,
                outcome,
                rule,
                amount,
                extra,
                programme,
                _why,
            ] = cells.as_slice()
            else {
                panic!("a table row with {} cells: {line}", cells.len());
            };
            Row {
                id: id.to_string(),
                application_date: date.to_string(),
                version: version.to_string(),
                outcome: outcome.to_string(),
                rule: rule.to_string(),
                amount_nok: number(amount),
                extra_nok: number(extra),
                programme: dash(programme),
            }
        })
        .collect()
}

fn input_cases() -> Vec<Value> {
    root_file(CASES)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The attributes a decision must carry for a row (§5): every declared attribute of its outcome.
fn expected_attributes(row: &Row) -> Value {
    match row.outcome.as_str() {
        "country_programme" => {
            json!({"airfare_covered": true, "programme": row.programme.clone()})
        }
        outcome => json!({
            "airfare_covered": outcome != "not_eligible",
            "amount_nok": row.amount_nok,
            "extra_nok": row.extra_nok
        }),
    }
}

/// The `cites` of each rule, copied from voluntary-policy.md §6 (the same in both versions).
const CITES: [(&str, &str); 9] = [
    (
        "visa_exempt",
        "UDI: the assisted return scheme does not apply to nationals of countries exempt from the Schengen visa requirement (Regulation (EC) 539/2001, Annex II); applied to 2015–2016 by decision D12.",
    ),
    (
        "convicted",
        "Reintegration support is not granted where the police find the applicant ineligible, e.g. because of a criminal record (practice in the country programmes); travel assistance under VARP remains available (decision D13).",
    ),
    (
        "dublin_case",
        "Regulation (EU) 604/2013 and utlendingsloven § 32 (1) (b): another Dublin state is responsible for the claim; no reintegration support (decision D14).",
    ),
    (
        "programme_afghanistan",
        "Regelverk for individuell stønad til reise til og reintegrering i hjemlandet ved assistert retur (statsbudsjettet kap. 490 post 72): own country programme for Afghanistan.",
    ),
    (
        "programme_ethiopia",
        "Same rules: own country programme for Ethiopia (ARE, since 2012).",
    ),
    (
        "programme_somalia",
        "Same rules: own country programme for Somalis returning to Somalia, from 1 May 2014.",
    ),
    (
        "extra_support",
        "Justice Ministry, April 2016: NOK 10,000 extra support for the first 500 first-time applicants who applied for protection in Norway before 1 April 2016 and apply for assisted return before 6 June 2016; not for those who have overstayed their departure deadline, Dublin cases, the 48-hour procedure, or returns to Ethiopia, Afghanistan or Somalia.",
    ),
    (
        "in_time",
        "FSR A: NOK 20,000 per person who applies before the departure deadline expires or before a deadline is given, plus NOK 10,000 per child (rates in force from 1 September 2015).",
    ),
    (
        "otherwise",
        "FSR B: an application after the departure deadline gets NOK 7,000 per adult and NOK 2,000 per child, with no child supplement (from 1 September 2015).",
    ),
];

fn cites_of(rule: &str) -> &'static str {
    CITES
        .iter()
        .find(|(r, _)| *r == rule)
        .map(|(_, cite)| *cite)
        .unwrap_or_else(|| panic!("no rule {rule} in §6"))
}

/// Checks one decision against a row: outcome, rule, version, attributes, cap, queue, cites.
#[track_caller]
fn check_against(decision: &Value, row: &Row, line: usize) {
    let what = format!("line {line} ({})", row.id);
    assert_eq!(decision["line"], json!(line), "{what}");
    assert_eq!(decision["id"], json!(row.id), "{what}");
    assert_eq!(decision["policy"], json!("voluntary"), "{what}");
    assert_eq!(decision["version"], json!(row.version), "{what}: version");
    assert_eq!(decision["outcome"], json!(row.outcome), "{what}: outcome");
    assert_eq!(decision["rule"], json!(row.rule), "{what}: rule");
    assert_eq!(
        decision["attributes"],
        expected_attributes(row),
        "{what}: attributes"
    );
    let cap = if row.rule == "extra_support" {
        json!("extra_support")
    } else {
        Value::Null
    };
    assert_eq!(decision["cap"], cap, "{what}: cap");
    assert_eq!(decision["queue_position"], Value::Null, "{what}: queue");
    assert!(
        decision["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{what}: a reason"
    );
    assert_eq!(
        decision["cites"],
        json!([cites_of(&row.rule)]),
        "{what}: the legal basis of §6"
    );
    assert_eq!(decision.get("warnings"), None, "{what}: no warnings");
}

#[test]
fn the_readme_table_follows_the_batch_and_its_counts_add_up() {
    let rows = readme_rows();
    let cases = input_cases();
    assert_eq!(rows.len(), 45, "the README lists 45 applications");
    assert_eq!(cases.len(), 45, "the batch holds 45 applications");
    for (row, case) in rows.iter().zip(&cases) {
        assert_eq!(json!(row.id), case["id"], "the table follows the batch");
        assert_eq!(json!(row.application_date), case["application_date"]);
        let in_force = if row.application_date.as_str() >= V2 {
            V2
        } else {
            V1
        };
        assert_eq!(row.version, in_force, "{}: version in force", row.id);
        // The amounts in the table are the formulas of §5 applied to the household.
        let adults = case["household"]["adults"].as_i64().unwrap_or(0);
        let children = case["household"]["children"].as_i64().unwrap_or(0);
        let amount = match row.outcome.as_str() {
            "full_grant" => Some(20_000 * (adults + children) + 10_000 * children),
            "reduced_grant" => Some(7_000 * adults + 2_000 * children),
            "travel_only" | "not_eligible" => Some(0),
            _ => None,
        };
        assert_eq!(row.amount_nok, amount, "{}: amount_nok", row.id);
    }
    let count = |version: &str, outcome: &str| {
        rows.iter()
            .filter(|r| r.version == version && r.outcome == outcome)
            .count()
    };
    // The README's "Counts per version".
    assert_eq!(
        [
            count(V1, "full_grant"),
            count(V1, "reduced_grant"),
            count(V1, "country_programme"),
            count(V1, "travel_only"),
            count(V1, "not_eligible"),
        ],
        [10, 5, 4, 3, 2]
    );
    assert_eq!(
        [
            count(V2, "full_grant"),
            count(V2, "reduced_grant"),
            count(V2, "country_programme"),
            count(V2, "travel_only"),
            count(V2, "not_eligible"),
        ],
        [13, 2, 3, 2, 1]
    );
    let extras = rows.iter().filter(|r| r.extra_nok == Some(10_000)).count();
    assert_eq!(extras, 7, "7 applications get the extra");
}

#[test]
fn the_example_batch_is_decided_as_the_readme_table_says() {
    let out = readmit(&["eval", POLICY, "--cases", CASES, "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let decisions = lines(&out);
    let rows = readme_rows();
    assert_eq!(decisions.len(), rows.len(), "one decision per application");
    for (i, (decision, row)) in decisions.iter().zip(&rows).enumerate() {
        check_against(decision, row, i + 1);
        assert_eq!(
            decision["policy_sha256"],
            json!(sha256_of_version(&row.version)),
            "{}: policy_sha256 is the SHA-256 of the deciding version's file",
            row.id
        );
    }
    let summary = stderr(&out);
    assert!(
        summary.contains("45 read, 45 decided, 0 errors"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "cap extra_support: limit 500, used before 0, granted 7, kept 0, waitlisted 0, left 493"
        ),
        "{summary}"
    );
    // The snapshot holds the full text; the hash of a version file is checked above, so that a
    // comment changed in a policy file does not change the snapshot.
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    insta::with_settings!({filters => vec![(r#""policy_sha256":"[0-9a-f]{64}""#, r#""policy_sha256":"[sha256]""#)]}, {
        insta::assert_snapshot!("in_force", stdout);
    });
}

#[test]
fn the_csv_copy_of_the_batch_is_decided_the_same() {
    let from_jsonl = lines(&readmit(&[
        "eval", POLICY, "--cases", CASES, "--format", "jsonl",
    ]));
    let out = readmit(&["eval", POLICY, "--cases", CASES_CSV, "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let from_csv = lines(&out);
    assert_eq!(from_csv.len(), from_jsonl.len());
    for (mut csv, mut json) in from_csv.into_iter().zip(from_jsonl) {
        // The CSV has a header line, so each record is one line further down.
        assert_eq!(
            csv["line"].as_u64().map(|l| l - 1),
            json["line"].as_u64(),
            "{}",
            json["id"]
        );
        csv["line"] = Value::Null;
        json["line"] = Value::Null;
        assert_eq!(csv, json);
    }
}

// ---- (c) the worked amounts of §5 ----------------------------------------------------------------

/// §5's table, written out: (adults, children, in time `full_grant`, late `reduced_grant`).
const WORKED_AMOUNTS: [(i64, i64, i64, i64); 5] = [
    (1, 0, 20_000, 7_000),
    (2, 2, 100_000, 18_000),
    (2, 3, 130_000, 20_000),
    (1, 3, 110_000, 13_000),
    (20, 20, 1_000_000, 180_000),
];

/// §5: "With the extra (v2, within the cap), a household of 2 adults + 2 children receives
/// 100,000 + 10,000."
const WITH_EXTRA: (i64, i64, i64, i64) = (2, 2, 100_000, 10_000);

#[track_caller]
fn assert_grant(
    decision: &Value,
    version: &str,
    outcome: &str,
    rule: &str,
    amount: i64,
    extra: i64,
) {
    assert_eq!(
        (
            &decision["version"],
            &decision["outcome"],
            &decision["rule"]
        ),
        (&json!(version), &json!(outcome), &json!(rule)),
        "{decision}"
    );
    assert_eq!(
        decision["attributes"],
        json!({"airfare_covered": true, "amount_nok": amount, "extra_nok": extra}),
        "{decision}"
    );
}

#[test]
fn the_worked_amounts_of_section_5_in_both_versions_in_time_and_late() {
    for (adults, children, in_time, late) in WORKED_AMOUNTS {
        let id = format!("W-{adults}-{children}");
        // A final rejection with its deadline on 2016-01-20 (v1) or 2016-06-20 (v2, after the
        // window): applying on the deadline day is in time, the day after is late.
        let cases = [
            (V1, "2016-01-20", "2016-01-20", true),
            (V1, "2016-01-20", "2016-01-21", false),
            (V2, "2016-06-20", "2016-06-20", true),
            (V2, "2016-06-20", "2016-06-21", false),
        ];
        for (version, deadline, applied, on_time) in cases {
            let case = application(
                &id,
                json!({
                    "household": household(adults, children),
                    "claim_status": "final_rejection",
                    "departure_deadline": deadline,
                    "application_date": applied
                }),
            );
            let decision = decide(&case, VersionChoice::InForce);
            if on_time {
                assert_grant(&decision, version, "full_grant", "in_time", in_time, 0);
            } else {
                assert_grant(&decision, version, "reduced_grant", "otherwise", late, 0);
            }
        }
        // In the window, in time: the full grant and the extra, per application (D4).
        let case = application(
            &id,
            json!({"household": household(adults, children), "application_date": "2016-05-10"}),
        );
        let decision = decide(&case, VersionChoice::InForce);
        assert_grant(
            &decision,
            V2,
            "full_grant",
            "extra_support",
            in_time,
            10_000,
        );
        assert_eq!(decision["cap"], json!("extra_support"));
        // In the window but late (a withdrawn claim past its deadline): FSR B, never the extra.
        let case = application(
            &id,
            json!({
                "household": household(adults, children),
                "claim_status": "withdrawn",
                "departure_deadline": "2016-05-01"
            }),
        );
        let decision = decide(&case, VersionChoice::InForce);
        assert_grant(&decision, V2, "reduced_grant", "otherwise", late, 0);
        assert_eq!(decision["cap"], Value::Null);
    }

    let (adults, children, amount, extra) = WITH_EXTRA;
    let case = application("W-EXTRA", json!({"household": household(adults, children)}));
    let decision = decide(&case, VersionChoice::InForce);
    assert_grant(&decision, V2, "full_grant", "extra_support", amount, extra);
    let total = decision["attributes"]["amount_nok"].as_i64().unwrap_or(0)
        + decision["attributes"]["extra_nok"].as_i64().unwrap_or(0);
    assert_eq!(total, 110_000, "the household's total is the sum (D19)");
}

#[test]
fn the_amounts_through_the_binary() {
    // The same amounts as JSON integers in the output of `readmit eval`.
    let dir = temp_dir("amounts");
    let batch: Vec<Value> = WORKED_AMOUNTS
        .iter()
        .map(|(adults, children, _, _)| {
            application(
                &format!("B-{adults}-{children}"),
                json!({"household": household(*adults, *children)}),
            )
        })
        .collect();
    let file = dir.join("batch.jsonl");
    write(&file, &jsonl(&batch));
    let out = readmit(&["eval", POLICY, "--cases", path(&file), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let amounts: Vec<(Value, Value)> = lines(&out)
        .iter()
        .map(|d| {
            (
                d["attributes"]["amount_nok"].clone(),
                d["attributes"]["extra_nok"].clone(),
            )
        })
        .collect();
    assert_eq!(
        amounts,
        [
            (json!(20_000), json!(10_000)),
            (json!(100_000), json!(10_000)),
            (json!(130_000), json!(10_000)),
            (json!(110_000), json!(10_000)),
            (json!(1_000_000), json!(10_000)),
        ]
    );
}

// ---- (d) the first-500 cap with the ledger -------------------------------------------------------

/// The 30 eligible applications of the cap scenario, as (id, application_date), in the order in
/// which the cap must take them: by application_date, then id byte by byte ("V-10" < "V-2",
/// "V-24" < "V-4" < "V-5" < "V-9").
const CAP_ORDER: [(&str, &str); 30] = [
    ("V-12", "2016-04-25"),
    ("V-30", "2016-04-25"),
    ("V-7", "2016-04-25"),
    ("V-1", "2016-05-02"),
    ("V-10", "2016-05-02"),
    ("V-2", "2016-05-02"),
    ("V-20", "2016-05-02"),
    ("V-21", "2016-05-02"),
    ("V-3", "2016-05-02"),
    ("V-11", "2016-05-17"),
    ("V-13", "2016-05-17"),
    ("V-14", "2016-05-17"),
    ("V-15", "2016-05-17"),
    ("V-16", "2016-05-17"),
    ("V-19", "2016-05-17"),
    ("V-22", "2016-05-17"),
    ("V-23", "2016-05-17"),
    ("V-24", "2016-05-17"),
    ("V-4", "2016-05-17"),
    ("V-5", "2016-05-17"),
    // The 20 places are gone: the rest keep the full grant without the extra.
    ("V-9", "2016-05-17"),
    ("V-17", "2016-06-05"),
    ("V-18", "2016-06-05"),
    ("V-25", "2016-06-05"),
    ("V-26", "2016-06-05"),
    ("V-27", "2016-06-05"),
    ("V-28", "2016-06-05"),
    ("V-29", "2016-06-05"),
    ("V-6", "2016-06-05"),
    ("V-8", "2016-06-05"),
];

/// Written out by hand from [`CAP_ORDER`]: the first 20 get a place.
const GRANTED: [&str; 20] = [
    "V-12", "V-30", "V-7", "V-1", "V-10", "V-2", "V-20", "V-21", "V-3", "V-11", "V-13", "V-14",
    "V-15", "V-16", "V-19", "V-22", "V-23", "V-24", "V-4", "V-5",
];

/// And the 10 that overflow, in queue order 1..10.
const QUEUE: [&str; 10] = [
    "V-9", "V-17", "V-18", "V-25", "V-26", "V-27", "V-28", "V-29", "V-6", "V-8",
];

/// A household that varies with the id, so that the overflowed decisions show computed amounts.
fn cap_household(id: &str) -> (i64, i64) {
    let n: i64 = id
        .trim_start_matches("V-")
        .parse()
        .unwrap_or_else(|e| panic!("{id}: {e}"));
    (1 + n % 2, n % 4)
}

/// Applications in the window that never take a place: late, a previous application, a return
/// to Afghanistan, the 48-hour procedure, and one the day after the window.
fn cap_distractors() -> Vec<(Value, &'static str, &'static str)> {
    vec![
        (
            application(
                "D-late",
                json!({"claim_status": "final_rejection", "departure_deadline": "2016-04-30"}),
            ),
            "reduced_grant",
            "otherwise",
        ),
        (
            application("D-previous", json!({"previous_application": true})),
            "full_grant",
            "in_time",
        ),
        (
            application(
                "D-afghanistan",
                json!({"nationality": "AF", "return_country": "AF"}),
            ),
            "country_programme",
            "programme_afghanistan",
        ),
        (
            application("D-48h", json!({"procedure_48h": true})),
            "full_grant",
            "in_time",
        ),
        (
            application("D-after-window", json!({"application_date": "2016-06-06"})),
            "full_grant",
            "in_time",
        ),
    ]
}

/// A deterministic shuffle: a fixed permutation by multiplication (35 and 11 are coprime).
fn shuffled<T: Clone>(items: &[T]) -> Vec<T> {
    let n = items.len();
    (0..n).map(|i| items[(i * 11 + 5) % n].clone()).collect()
}

/// A Storskog v3 case that takes a `moscow_agreement` place, decided in May 2016 (after the
/// voluntary cap's `from 2016-04-25`, so that a cap counting grants by date alone would see it).
fn storskog_return(id: &str, decision_date: &str) -> Value {
    json!({
        "id": id, "nationality": "AF", "entry_date": "2015-10-20",
        "travel": {"origin": "AF", "route": ["AF", "IR", "RU"], "direct_from_war_zone": false},
        "russian_residence": {"status": "permanent", "since": "2012-03-01"},
        "visa": {"type": "multi_entry", "valid_until": "2017-01-01"},
        "special_connection": false, "decision_date": decision_date
    })
}

fn ledger_show(ledger: &Path, policy: &str) -> String {
    let out = readmit(&["ledger", "show", policy, "--ledger", path(ledger)]);
    assert!(out.status.success(), "show: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn grants_of(ledger: &Path, policy: &str) -> Vec<Value> {
    let out = readmit(&[
        "ledger",
        "list",
        "--ledger",
        path(ledger),
        "--policy",
        policy,
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "list: {}", stderr(&out));
    lines(&out)
}

/// The columns of `ledger show` for one cap: limit, counted, left.
fn show_row(show: &str, cap: &str) -> Vec<String> {
    show.lines()
        .find(|l| l.split_whitespace().next() == Some(cap))
        .unwrap_or_else(|| panic!("no cap {cap} in:\n{show}"))
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_first_500_cap_grants_the_first_20_in_order_after_480_and_ignores_storskog_grants() {
    let dir = temp_dir("cap");
    let ledger = dir.join("ledger.db");

    // 1. Storskog first, on the same ledger file: 25 returns in May 2016.
    let storskog: Vec<Value> = (1..=25)
        .map(|i| storskog_return(&format!("SK-{i}"), "2016-05-02"))
        .collect();
    let storskog_file = dir.join("storskog.jsonl");
    write(&storskog_file, &jsonl(&storskog));
    let out = readmit(&[
        "eval",
        "policies/storskog",
        "--cases",
        path(&storskog_file),
        "--ledger",
        path(&ledger),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        lines(&out)
            .iter()
            .filter(|d| d["outcome"] == "return_to_russia")
            .count(),
        25
    );
    assert_eq!(grants_of(&ledger, "storskog").len(), 25);
    // The voluntary cap sees none of them.
    assert_eq!(
        show_row(&ledger_show(&ledger, POLICY), "extra_support"),
        ["500", "0", "500"]
    );

    // 2. The 480 extra grants already made, seeded from `id,application_date`.
    let mut seed = String::from("id,application_date\n");
    for i in 0..480 {
        seed.push_str(&format!("EARLIER-{i:03},2016-04-{:02}\n", 25 + i % 6));
    }
    let seed_file = dir.join("earlier.csv");
    write(&seed_file, &seed);
    let out = readmit(&[
        "ledger",
        "import",
        POLICY,
        "--ledger",
        path(&ledger),
        "--cap",
        "extra_support",
        path(&seed_file),
    ]);
    assert!(out.status.success(), "import: {}", stderr(&out));
    assert_eq!(
        show_row(&ledger_show(&ledger, POLICY), "extra_support"),
        ["500", "480", "20"],
        "480 counted, 20 left: the 25 Storskog grants do not count"
    );

    // 3. 30 eligible applications and 5 that never take a place, shuffled.
    let mut batch: Vec<Value> = CAP_ORDER
        .iter()
        .map(|(id, date)| {
            let (adults, children) = cap_household(id);
            application(
                id,
                json!({"application_date": date, "household": household(adults, children)}),
            )
        })
        .collect();
    batch.extend(cap_distractors().into_iter().map(|(case, _, _)| case));
    let batch = shuffled(&batch);
    let input_ids: BTreeSet<String> = batch
        .iter()
        .map(|c| c["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(input_ids.len(), 35, "the shuffle is a permutation");
    assert_ne!(
        batch[0]["id"],
        json!("V-12"),
        "the input is not in cap order"
    );
    let batch_file = dir.join("batch.jsonl");
    write(&batch_file, &jsonl(&batch));
    let run = || {
        readmit(&[
            "eval",
            POLICY,
            "--cases",
            path(&batch_file),
            "--ledger",
            path(&ledger),
            "--format",
            "jsonl",
        ])
    };
    let check = |out: &Output| {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        let decisions = lines(out);
        assert_eq!(decisions.len(), batch.len());
        for (decision, case) in decisions.iter().zip(&batch) {
            assert_eq!(decision["id"], case["id"], "input order is kept");
        }
        let find = |id: &str| {
            decisions
                .iter()
                .find(|d| d["id"] == id)
                .unwrap_or_else(|| panic!("no decision for {id}"))
        };
        for id in GRANTED {
            let d = find(id);
            let (adults, children) = cap_household(id);
            assert_grant(
                d,
                V2,
                "full_grant",
                "extra_support",
                20_000 * (adults + children) + 10_000 * children,
                10_000,
            );
            assert_eq!(d["cap"], json!("extra_support"), "{id}");
            assert_eq!(d["queue_position"], Value::Null, "{id}");
        }
        for (position, id) in QUEUE.iter().enumerate() {
            let d = find(id);
            let (adults, children) = cap_household(id);
            // The overflow outcome is the full grant with its declared attributes: the rule's
            // `with { extra_nok: 10000 }` does not carry over (§7).
            assert_grant(
                d,
                V2,
                "full_grant",
                "extra_support",
                20_000 * (adults + children) + 10_000 * children,
                0,
            );
            assert_eq!(d["cap"], json!("extra_support"), "{id}");
            assert_eq!(d["queue_position"], json!(position + 1), "{id}");
        }
        for (case, outcome, rule) in cap_distractors() {
            let id = case["id"].as_str().unwrap_or_default();
            let d = find(id);
            assert_eq!(
                (&d["outcome"], &d["rule"]),
                (&json!(outcome), &json!(rule)),
                "{id}"
            );
            assert_eq!(d["cap"], Value::Null, "{id} takes no place");
        }
        stderr(out)
    };

    let summary = check(&run());
    assert!(
        summary.contains(
            "cap extra_support: limit 500, used before 480, granted 20, kept 0, waitlisted 10, left 0"
        ),
        "{summary}"
    );
    let grants = grants_of(&ledger, "voluntary");
    assert_eq!(grants.len(), 500, "480 earlier + 20 new");
    let new: BTreeSet<&str> = grants
        .iter()
        .filter_map(|g| g["case_id"].as_str())
        .filter(|id| id.starts_with("V-"))
        .collect();
    assert_eq!(new, GRANTED.into_iter().collect::<BTreeSet<_>>());
    assert_eq!(
        show_row(&ledger_show(&ledger, POLICY), "extra_support"),
        ["500", "500", "0"]
    );

    // 4. The same batch again: the same 20 keep their extra, nothing new is granted.
    let summary = check(&run());
    assert!(
        summary.contains(
            "cap extra_support: limit 500, used before 500, granted 0, kept 20, waitlisted 10, left 0"
        ),
        "{summary}"
    );
    assert_eq!(grants_of(&ledger, "voluntary").len(), 500);
    assert_eq!(
        grants_of(&ledger, "storskog").len(),
        25,
        "Storskog untouched"
    );
}

#[test]
fn grants_dated_before_2016_04_25_do_not_count_for_the_cap() {
    // §7: the cap counts every grant of the extra "dated (application_date) ≥ 2016-04-25".
    let dir = temp_dir("counts-from");
    let ledger = dir.join("ledger.db");
    let seed = dir.join("seed.csv");
    write(
        &seed,
        "id,application_date\nOLD-1,2016-04-20\nOLD-2,2016-04-24\nNEW-1,2016-04-25\n",
    );
    let out = readmit(&[
        "ledger",
        "import",
        POLICY,
        "--ledger",
        path(&ledger),
        "--cap",
        "extra_support",
        path(&seed),
    ]);
    assert!(out.status.success(), "import: {}", stderr(&out));
    assert_eq!(
        grants_of(&ledger, "voluntary").len(),
        3,
        "all three are recorded"
    );
    assert_eq!(
        show_row(&ledger_show(&ledger, POLICY), "extra_support"),
        ["500", "1", "499"],
        "only the grant dated 2016-04-25 counts"
    );
}

// ---- (e) record errors on the household ----------------------------------------------------------

#[test]
fn bad_household_values_are_error_records_and_the_rest_of_the_batch_is_decided() {
    let dir = temp_dir("errors");
    let with_household =
        |id: &str, household: Value| application(id, json!({"household": household}));
    let batch = [
        application("OK-1", json!({})),
        application("OK-2", json!({"application_date": "2015-12-01"})),
        with_household("BAD-ADULTS", json!({"adults": 0, "children": 1})),
        with_household("BAD-CHILDREN", json!({"adults": 1, "children": "2"})),
        application("OK-3", json!({"household": household(2, 3)})),
        with_household("BAD-CHILDREN-21", json!({"adults": 1, "children": 21})),
        with_household("BAD-ADULTS-FRACTION", json!({"adults": 2.0, "children": 0})),
        with_household(
            "BAD-ADULTS-NULL",
            json!({"adults": Value::Null, "children": 0}),
        ),
        application("OK-4", json!({"return_country": "SO"})),
    ];
    let file = dir.join("batch.jsonl");
    write(&file, &jsonl(&batch));
    let out = readmit(&["eval", POLICY, "--cases", path(&file), "--format", "jsonl"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "some records are errors: {}",
        stderr(&out)
    );
    let records = lines(&out);
    assert_eq!(records.len(), batch.len(), "one record out per record in");
    let error = |i: usize| {
        let r = &records[i];
        (
            r["line"].clone(),
            r["id"].clone(),
            r["error"]["kind"].clone(),
            r["error"]["field"].clone(),
        )
    };
    assert_eq!(
        error(2),
        (
            json!(3),
            json!("BAD-ADULTS"),
            json!("invalid_value"),
            json!("household.adults")
        )
    );
    assert_eq!(
        error(3),
        (
            json!(4),
            json!("BAD-CHILDREN"),
            json!("wrong_type"),
            json!("household.children")
        )
    );
    assert_eq!(
        error(5),
        (
            json!(6),
            json!("BAD-CHILDREN-21"),
            json!("invalid_value"),
            json!("household.children")
        )
    );
    assert_eq!(
        error(6),
        (
            json!(7),
            json!("BAD-ADULTS-FRACTION"),
            json!("wrong_type"),
            json!("household.adults")
        )
    );
    assert_eq!(
        error(7),
        (
            json!(8),
            json!("BAD-ADULTS-NULL"),
            json!("missing_field"),
            json!("household.adults")
        )
    );
    for i in [2, 3, 5, 6, 7] {
        assert!(
            records[i]["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "an error says what is wrong: {}",
            records[i]
        );
        assert_eq!(
            records[i].get("outcome"),
            None,
            "an error record has no decision"
        );
    }
    // The rest is decided, the extra included.
    assert_grant(
        &records[0],
        V2,
        "full_grant",
        "extra_support",
        20_000,
        10_000,
    );
    assert_grant(&records[1], V1, "full_grant", "in_time", 20_000, 0);
    assert_grant(
        &records[4],
        V2,
        "full_grant",
        "extra_support",
        130_000,
        10_000,
    );
    assert_eq!(records[8]["outcome"], json!("country_programme"));
    assert_eq!(records[8]["attributes"]["programme"], json!("Somalia"));
    let summary = stderr(&out);
    assert!(summary.contains("9 read, 4 decided, 5 errors"), "{summary}");
    assert!(
        summary.contains("granted 2,"),
        "error records take no place: {summary}"
    );
}

#[test]
fn an_application_before_2015_09_01_is_an_error_in_force_and_decided_when_forced() {
    let case = application("EARLY", json!({"application_date": "2015-08-31"}));
    let record = decide(&case, VersionChoice::InForce);
    assert_eq!(
        record["error"]["kind"],
        json!("no_version_in_force"),
        "{record}"
    );
    assert_eq!(
        record["error"]["field"],
        json!("application_date"),
        "{record}"
    );
    let record = decide(&case, VersionChoice::Forced(version_index(V1)));
    assert_grant(&record, V1, "full_grant", "in_time", 20_000, 0);
    let case = application("FIRST-DAY", json!({"application_date": "2015-09-01"}));
    assert_grant(
        &decide(&case, VersionChoice::InForce),
        V1,
        "full_grant",
        "in_time",
        20_000,
        0,
    );
}

// ---- (f) forced versions -------------------------------------------------------------------------

#[test]
fn forcing_2016_04_25_on_a_december_2015_application_gives_no_extra() {
    // D2: the window is a condition of the rule, so "as if" v2 does not open it.
    let dir = temp_dir("forced-v2");
    let case = application(
        "DEC-2015",
        json!({"application_date": "2015-12-14", "household": household(2, 2)}),
    );
    let file = dir.join("december.jsonl");
    write(&file, &jsonl(&[case]));
    let out = readmit(&[
        "eval",
        POLICY,
        "--cases",
        path(&file),
        "--format",
        "jsonl",
        "--version",
        V2,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let decisions = lines(&out);
    assert_grant(&decisions[0], V2, "full_grant", "in_time", 100_000, 0);
    assert_eq!(decisions[0]["cap"], Value::Null);

    // The whole example batch as if v2 applied: no v1 application falls in the window, so every
    // decision is the table's, under v2.
    let out = readmit(&[
        "eval",
        POLICY,
        "--cases",
        CASES,
        "--format",
        "jsonl",
        "--version",
        V2,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (i, (decision, mut row)) in lines(&out).iter().zip(readme_rows()).enumerate() {
        row.version = V2.to_string();
        check_against(decision, &row, i + 1);
    }
}

#[test]
fn forcing_2015_09_01_never_gives_the_extra() {
    // The example batch as if v1 applied: the table's decisions, except that v1 has no
    // `extra_support` and no cap, so those applications get the same full grant by `in_time`.
    let out = readmit(&[
        "eval",
        POLICY,
        "--cases",
        CASES,
        "--format",
        "jsonl",
        "--version",
        V1,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let decisions = lines(&out);
    for (i, (decision, mut row)) in decisions.iter().zip(readme_rows()).enumerate() {
        row.version = V1.to_string();
        if row.rule == "extra_support" {
            row.rule = "in_time".to_string();
            row.extra_nok = Some(0);
        }
        check_against(decision, &row, i + 1);
    }
    assert!(
        decisions
            .iter()
            .all(|d| d["attributes"]["extra_nok"] != json!(10_000) && d["cap"].is_null())
    );
    assert!(
        !stderr(&out).contains("cap extra_support"),
        "forced v1 has no cap: {}",
        stderr(&out)
    );
}

// ---- (g) the policy's own tests ------------------------------------------------------------------

#[test]
fn readmit_test_passes_and_reaches_every_rule_of_both_versions() {
    let out = readmit(&["test", POLICY, "--min-coverage", "100"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", stderr(&out));
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(
        stdout.contains("version 2015-09-01: 8 of 8 rules reached"),
        "{stdout}"
    );
    assert!(
        stdout.contains("version 2016-04-25: 9 of 9 rules reached"),
        "{stdout}"
    );
    assert!(stdout.contains("rules reached: 100.0%"), "{stdout}");
}

// ---- (h) witnesses -------------------------------------------------------------------------------

#[test]
fn every_rule_has_a_witness_that_is_decided_by_that_rule() {
    let engine = engine();
    let found = witnesses(engine);
    let rules: Vec<(String, String)> = found
        .iter()
        .map(|w| (w.version.clone(), w.rule.clone()))
        .collect();
    let head = [
        "visa_exempt",
        "convicted",
        "dublin_case",
        "programme_afghanistan",
        "programme_ethiopia",
        "programme_somalia",
    ];
    let mut expected: Vec<(String, String)> = Vec::new();
    for (version, own) in [
        (V1, &["in_time", "otherwise"][..]),
        (V2, &["extra_support", "in_time", "otherwise"][..]),
    ] {
        for rule in head.iter().chain(own) {
            expected.push((version.to_string(), rule.to_string()));
        }
    }
    assert_eq!(rules, expected, "one witness per rule, in order");
    for witness in &found {
        let case = witness.case.as_ref().unwrap_or_else(|| {
            panic!(
                "no witness for {} {}: {:?}",
                witness.version, witness.rule, witness.why
            )
        });
        let read = engine
            .read_json(&case.to_string(), 1)
            .unwrap_or_else(|e| panic!("a witness is a valid record: {e:?}"));
        for choice in [
            VersionChoice::Forced(version_index(&witness.version)),
            VersionChoice::InForce,
        ] {
            match engine.decide(
                &read,
                EvalOptions {
                    choice,
                    explain: false,
                },
            ) {
                readmit::Record::Decision(d) => {
                    assert_eq!(*d.rule, *witness.rule, "{case}");
                    assert_eq!(*d.version, *witness.version, "{case}");
                }
                readmit::Record::Error(e) => panic!("{case}: {e:?}"),
            }
        }
    }

    // The same through the binary.
    let out = readmit(&["check", "--witnesses", POLICY]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("0 errors, 0 warnings"));
    let printed: Vec<(String, String)> = lines(&out)
        .iter()
        .map(|l| {
            assert!(l["case"].is_object(), "{l}");
            (
                l["version"].as_str().unwrap_or_default().to_string(),
                l["rule"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(printed, expected);
}
