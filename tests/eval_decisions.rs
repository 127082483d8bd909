//! `readmit eval` on the example batch (examples/cases/storskog.jsonl), through the real binary.
//!
//! - The JSON Lines output is snapshotted under the version in force and under each forced
//!   version (`tests/snapshots/eval_decisions__*.snap`), and three `--explain` traces.
//! - Independently of the snapshots, every in-force decision is compared in code with the table
//!   of hand-derived decisions in examples/cases/README.md, and every forced decision with a small
//!   reference reading of storskog-policy.md §4 and §6 written below ([`reference`]), which itself
//!   is first checked against the README table. So accepting a snapshot without reading it cannot
//!   hide a wrong decision.

// A test fails by panicking, as in the unit tests of src/.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::{Command, Output};

use serde_json::{Value, json};

const POLICY: &str = "policies/storskog";
const CASES: &str = "examples/cases/storskog.jsonl";
const README: &str = "examples/cases/README.md";
const VERSIONS: [&str; 3] = ["2015-11-26", "2016-01-22", "2016-02-03"];

/// Runs the binary from the crate root, so that paths (and so the output) are the same everywhere.
fn readmit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_readmit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("the readmit binary runs")
}

fn root_file(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// `readmit eval` on the example batch with extra arguments: its stdout, after checking that it
/// exited 0 with one line per case.
fn eval_examples(extra: &[&str]) -> String {
    let mut args = vec!["eval", POLICY, "--cases", CASES, "--format", "jsonl"];
    args.extend_from_slice(extra);
    let out = readmit(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{extra:?}: stderr:\n{stderr}");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    assert_eq!(stdout.lines().count(), 67, "{extra:?}: one line per case");
    stdout
}

fn parse_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn input_cases() -> Vec<Value> {
    root_file(CASES)
        .lines()
        .map(|l| serde_json::from_str(l).expect("the example batch is JSON Lines"))
        .collect()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no text `{key}` in {value}"))
}

/// One row of the README's table of expected decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    id: String,
    decision_date: String,
    version: String,
    outcome: String,
    rule: String,
}

/// The rows of examples/cases/README.md's "Expected decisions" table, in order.
fn readme_table() -> Vec<Expected> {
    let mut rows = Vec::new();
    for line in root_file(README).lines() {
        let Some(body) = line.strip_prefix("| SK-") else {
            continue;
        };
        let cells: Vec<String> = format!("SK-{body}")
            .trim_end_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`').to_string())
            .collect();
        let [id, date, version, outcome, rule, _why] = cells.as_slice() else {
            panic!("a table row with {} cells: {line}", cells.len());
        };
        rows.push(Expected {
            id: id.clone(),
            decision_date: date.clone(),
            version: version.clone(),
            outcome: outcome.clone(),
            rule: rule.clone(),
        });
    }
    rows
}

/// The README's "Totals by version": version → (cases, outcome → count).
fn readme_totals() -> BTreeMap<String, (usize, BTreeMap<String, usize>)> {
    let readme = root_file(README);
    let section = readme
        .split("Totals by version:")
        .nth(1)
        .expect("the README has its totals");
    // Bullets may wrap onto an indented next line: join them first.
    let joined = section.replace("\n  ", " ");
    let mut totals = BTreeMap::new();
    for bullet in joined.lines().filter_map(|l| l.strip_prefix("* `")) {
        let (version, rest) = bullet.split_once("`, ").expect("* `V`, N cases: …");
        let (cases, counts) = rest.split_once(" cases: ").expect("N cases: …");
        let mut by_outcome = BTreeMap::new();
        for item in counts.trim_end_matches('.').split(", ") {
            let (n, outcome) = item.split_once(' ').expect("N `outcome`");
            by_outcome.insert(
                outcome.trim_matches('`').to_string(),
                n.parse::<usize>().expect("a count"),
            );
        }
        totals.insert(
            version.to_string(),
            (cases.parse::<usize>().expect("a count"), by_outcome),
        );
    }
    totals
}

// ------------------------------------------------------------------------------------------------
// A reference reading of storskog-policy.md §4 and §6, written from the spec alone.

const WAR_ZONES: [&str; 7] = ["SY", "IQ", "AF", "YE", "SO", "LY", "SS"];

fn path<'a>(case: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .try_fold(case, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

fn path_str<'a>(case: &'a Value, dotted: &str) -> Option<&'a str> {
    path(case, dotted).and_then(Value::as_str)
}

fn ymd(date: &str) -> (i64, i64, i64) {
    let parts: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().expect("a date"))
        .collect();
    match parts.as_slice() {
        [y, m, d] => (*y, *m, *d),
        _ => panic!("not a date: {date}"),
    }
}

fn leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Whole years by the calendar-anniversary rule (§4.2): 29 February's anniversary in a common
/// year is 28 February.
fn whole_years(since: &str, until: &str) -> i64 {
    let (sy, sm, sd) = ymd(since);
    let (uy, um, ud) = ymd(until);
    let anniversary = if (sm, sd) == (2, 29) && !leap(uy) {
        (2, 28)
    } else {
        (sm, sd)
    };
    let years = uy - sy;
    if (um, ud) < anniversary {
        years - 1
    } else {
        years
    }
}

/// DIRECT_WAR_ZONE_FLIGHT of §4.4.
fn direct_war_zone_flight(case: &Value) -> bool {
    let origin = path_str(case, "travel.origin").unwrap_or_default();
    let route: Vec<&str> = path(case, "travel.route")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(first_ru) = route.iter().position(|c| *c == "RU") else {
        return false;
    };
    WAR_ZONES.contains(&origin)
        && route.first() == Some(&origin)
        && route
            .iter()
            .take(first_ru)
            .skip(1)
            .all(|c| WAR_ZONES.contains(c))
}

/// (outcome, rule) of §6 for `case` under `version`.
fn reference(case: &Value, version: &str) -> (&'static str, &'static str) {
    let resident = matches!(
        path_str(case, "russian_residence.status"),
        Some("permanent" | "temporary")
    );
    if path_str(case, "nationality") == Some("RU") {
        return ("standard_procedure", "russian_national");
    }
    if path(case, "refoulement_risk").and_then(Value::as_bool) == Some(true) {
        return ("process_in_norway", "refoulement_bar");
    }
    if direct_war_zone_flight(case) && !resident {
        return ("process_in_norway", "war_zone_direct");
    }
    match version {
        "2015-11-26" if resident => ("return_to_russia", "resident_return"),
        "2016-01-22" if resident => ("return_suspended", "resident_return_suspended"),
        "2016-02-03" => {
            let legal_residence = resident
                && whole_years(
                    path_str(case, "russian_residence.since").expect("since"),
                    path_str(case, "entry_date").expect("entry_date"),
                ) >= 1;
            let multi_visa = path_str(case, "visa.type") == Some("multi_entry")
                && path_str(case, "visa.valid_until").expect("valid_until")
                    >= path_str(case, "decision_date").expect("decision_date");
            if path(case, "special_connection").and_then(Value::as_bool) == Some(true) {
                ("individual_assessment", "special_connection")
            } else if legal_residence && multi_visa {
                ("return_to_russia", "multi_entry_return")
            } else if resident {
                ("no_return_route", "resident_no_route")
            } else {
                ("standard_procedure", "otherwise")
            }
        }
        _ => ("standard_procedure", "otherwise"),
    }
}

/// The version in force on a date (§2), for the reference.
fn in_force(date: &str) -> Option<&'static str> {
    VERSIONS.iter().rev().copied().find(|v| *v <= date)
}

/// The attributes and cap a granted decision carries (§5, §7), by outcome and version.
fn attributes_and_cap(outcome: &str, version: &str) -> (Value, Value) {
    match (outcome, version) {
        ("return_to_russia", "2015-11-26") => (
            json!({"transport": "bus", "destination": "RU", "via": "Storskog"}),
            json!("storskog_arrangement"),
        ),
        ("return_to_russia", "2016-02-03") => (
            json!({"transport": "plane", "destination": "RU", "via": "Moscow"}),
            json!("moscow_agreement"),
        ),
        ("return_to_russia", _) => panic!("no return_to_russia in {version}"),
        _ => (json!({}), Value::Null),
    }
}

/// The fields of a decision that the README and the spec fix, checked against expectations.
fn check_decision(
    decision: &Value,
    line: usize,
    id: &str,
    version: &str,
    outcome_rule: (&str, &str),
) {
    let what = format!("line {line} ({id}) under {version}");
    assert_eq!(decision.get("line"), Some(&json!(line)), "{what}: line");
    assert_eq!(text(decision, "id"), id, "{what}: id");
    assert_eq!(text(decision, "policy"), "storskog", "{what}: policy");
    assert_eq!(text(decision, "version"), version, "{what}: version");
    assert_eq!(text(decision, "outcome"), outcome_rule.0, "{what}: outcome");
    assert_eq!(text(decision, "rule"), outcome_rule.1, "{what}: rule");
    let (attributes, cap) = attributes_and_cap(outcome_rule.0, version);
    assert_eq!(
        decision.get("attributes"),
        Some(&attributes),
        "{what}: attributes"
    );
    assert_eq!(decision.get("cap"), Some(&cap), "{what}: cap");
    // Far below both caps: every return is granted, none waits.
    assert_eq!(
        decision.get("queue_position"),
        Some(&Value::Null),
        "{what}: queue_position"
    );
    assert!(
        !text(decision, "reason").is_empty(),
        "{what}: a decision gives its reason"
    );
    let cites = decision.get("cites").and_then(Value::as_array);
    assert!(
        cites.is_some_and(|c| !c.is_empty()),
        "{what}: a decision cites its legal basis"
    );
    assert_eq!(
        decision.get("policy_sha256").and_then(Value::as_str),
        Some(sha256_of_version(version).as_str()),
        "{what}: policy_sha256 is the SHA-256 of the deciding version's file"
    );
    // README: the records are consistent, so `eval` raises no warnings.
    assert_eq!(decision.get("warnings"), None, "{what}: warnings");
    assert_eq!(decision.get("error"), None, "{what}: not an error");
}

fn sha256_of_version(version: &str) -> String {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(POLICY)
            .join(format!("{version}.policy")),
    )
    .expect("the version file");
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ------------------------------------------------------------------------------------------------

#[test]
fn the_readme_table_lists_every_example_case_in_order_and_adds_up() {
    let table = readme_table();
    let cases = input_cases();
    assert_eq!(table.len(), 67, "the README lists 67 cases");
    assert_eq!(cases.len(), 67, "the batch holds 67 cases");
    for (row, case) in table.iter().zip(&cases) {
        assert_eq!(
            row.id,
            text(case, "id"),
            "the table follows the batch's order"
        );
        assert_eq!(
            row.decision_date,
            text(case, "decision_date"),
            "{}: the table's decision_date",
            row.id
        );
        assert_eq!(
            Some(row.version.as_str()),
            in_force(&row.decision_date),
            "{}: the table's version is the one in force on its decision_date",
            row.id
        );
    }
    // The prose totals agree with the table.
    let mut counted: BTreeMap<String, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
    for row in &table {
        let entry = counted.entry(row.version.clone()).or_default();
        entry.0 += 1;
        *entry.1.entry(row.outcome.clone()).or_default() += 1;
    }
    assert_eq!(readme_totals(), counted, "README totals vs its table");
}

#[test]
fn the_reference_reading_agrees_with_the_readme_table() {
    // The reference is used below to check the forced versions; check it first on the in-force
    // decisions, which were derived by hand.
    for (row, case) in readme_table().iter().zip(&input_cases()) {
        assert_eq!(
            reference(case, &row.version),
            (row.outcome.as_str(), row.rule.as_str()),
            "{}",
            row.id
        );
    }
}

#[test]
fn in_force_decisions_match_the_readme_table() {
    let stdout = eval_examples(&[]);
    let decisions = parse_lines(&stdout);
    let table = readme_table();
    assert_eq!(decisions.len(), table.len());
    for (i, (decision, row)) in decisions.iter().zip(&table).enumerate() {
        check_decision(
            decision,
            i + 1,
            &row.id,
            &row.version,
            (&row.outcome, &row.rule),
        );
    }
    insta::assert_snapshot!("in_force", stdout);
}

/// Each forced version (`--version V`) decides every case by V, whatever its date (§2, D2); its
/// decisions are the reference reading's, and equal the in-force ones where V was in force.
fn forced(version: &str) -> String {
    let stdout = eval_examples(&["--version", version]);
    let decisions = parse_lines(&stdout);
    let table = readme_table();
    for (i, ((decision, case), row)) in decisions.iter().zip(&input_cases()).zip(&table).enumerate()
    {
        let expected = reference(case, version);
        check_decision(decision, i + 1, &row.id, version, expected);
        if row.version == version {
            assert_eq!(
                expected,
                (row.outcome.as_str(), row.rule.as_str()),
                "{}: forced {version} = in force",
                row.id
            );
        }
    }
    stdout
}

#[test]
fn forced_version_2015_11_26() {
    let stdout = forced("2015-11-26");
    insta::assert_snapshot!("forced_2015_11_26", stdout);
}

#[test]
fn forced_version_2016_01_22() {
    let stdout = forced("2016-01-22");
    insta::assert_snapshot!("forced_2016_01_22", stdout);
}

#[test]
fn forced_version_2016_02_03() {
    let stdout = forced("2016-02-03");
    insta::assert_snapshot!("forced_2016_02_03", stdout);
}

/// Counts by (outcome, rule) of a forced run, pinned in code: a second, coarse check that does
/// not depend on the reference above.
#[test]
fn forced_version_counts() {
    type Counts = &'static [(&'static str, &'static str, usize)];
    let expected: [(&str, Counts); 3] = [
        (
            "2015-11-26",
            &[
                ("process_in_norway", "refoulement_bar", 3),
                ("process_in_norway", "war_zone_direct", 11),
                ("return_to_russia", "resident_return", 35),
                ("standard_procedure", "otherwise", 14),
                ("standard_procedure", "russian_national", 4),
            ],
        ),
        (
            "2016-01-22",
            &[
                ("process_in_norway", "refoulement_bar", 3),
                ("process_in_norway", "war_zone_direct", 11),
                ("return_suspended", "resident_return_suspended", 35),
                ("standard_procedure", "otherwise", 14),
                ("standard_procedure", "russian_national", 4),
            ],
        ),
        (
            "2016-02-03",
            &[
                ("individual_assessment", "special_connection", 5),
                ("no_return_route", "resident_no_route", 23),
                ("process_in_norway", "refoulement_bar", 3),
                ("process_in_norway", "war_zone_direct", 11),
                ("return_to_russia", "multi_entry_return", 9),
                ("standard_procedure", "otherwise", 12),
                ("standard_procedure", "russian_national", 4),
            ],
        ),
    ];
    for (version, counts) in expected {
        let mut got: BTreeMap<(String, String), usize> = BTreeMap::new();
        for d in parse_lines(&eval_examples(&["--version", version])) {
            *got.entry((text(&d, "outcome").into(), text(&d, "rule").into()))
                .or_default() += 1;
        }
        let want: BTreeMap<(String, String), usize> = counts
            .iter()
            .map(|(o, r, n)| (((*o).to_string(), (*r).to_string()), *n))
            .collect();
        assert_eq!(got, want, "forced {version}");
    }
}

/// The trace of one case with `--explain`: every rule tried in order, each failing, then the
/// deciding one holding.
fn explained(id: &str, rules_tried: &[&str]) -> Value {
    let stdout = eval_examples(&["--explain"]);
    let decision = parse_lines(&stdout)
        .into_iter()
        .find(|d| d.get("id").and_then(Value::as_str) == Some(id))
        .unwrap_or_else(|| panic!("no decision for {id}"));
    let trace = decision
        .get("trace")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{id}: --explain adds a trace"));
    let names: Vec<&str> = trace.iter().map(|r| text(r, "rule")).collect();
    assert_eq!(names, rules_tried, "{id}: the rules tried, in order");
    let held: Vec<bool> = trace
        .iter()
        .map(|r| r.get("held").and_then(Value::as_bool).expect("held"))
        .collect();
    let mut want = vec![false; held.len()];
    if let Some(last) = want.last_mut() {
        *last = true;
    }
    assert_eq!(held, want, "{id}: only the last rule tried holds");
    assert_eq!(
        rules_tried.last().copied(),
        Some(text(&decision, "rule")),
        "{id}: the deciding rule is the last one tried"
    );
    decision
}

#[test]
fn explain_war_zone_path_beats_special_connection() {
    // SK-2016-0022: direct SY→RU, no residence, special connection, v3 — decided by rule 3 before
    // the special connection is tried (D13).
    let decision = explained(
        "SK-2016-0022",
        &["russian_national", "refoulement_bar", "war_zone_direct"],
    );
    insta::assert_json_snapshot!("explain_war_zone_direct", decision);
}

#[test]
fn explain_v3_multi_entry_return() {
    // SK-2016-0023: since 2014-10-15, entry 2015-10-15 (exactly one year), multi-entry visa.
    let decision = explained(
        "SK-2016-0023",
        &[
            "russian_national",
            "refoulement_bar",
            "war_zone_direct",
            "special_connection",
            "multi_entry_return",
        ],
    );
    insta::assert_json_snapshot!("explain_multi_entry_return", decision);
}

#[test]
fn explain_v3_resident_without_route() {
    // SK-2016-0049: since 2015-03-01, entry 2016-02-29: 365 days but no anniversary, so no legal
    // residence although the multi-entry visa is valid.
    let decision = explained(
        "SK-2016-0049",
        &[
            "russian_national",
            "refoulement_bar",
            "war_zone_direct",
            "special_connection",
            "multi_entry_return",
            "resident_no_route",
        ],
    );
    let legal = decision
        .pointer("/trace/4/conditions/0")
        .cloned()
        .unwrap_or_default();
    assert_eq!(legal.get("condition"), Some(&json!("legal_residence")));
    assert_eq!(legal.get("held"), Some(&json!(false)));
    insta::assert_json_snapshot!("explain_resident_no_route", decision);
}

#[test]
fn explain_changes_nothing_but_the_trace() {
    let plain = parse_lines(&eval_examples(&[]));
    let explained = parse_lines(&eval_examples(&["--explain"]));
    for (p, mut e) in plain.into_iter().zip(explained) {
        assert!(e.get("trace").is_some(), "every decision has a trace");
        if let Some(map) = e.as_object_mut() {
            map.remove("trace");
        }
        assert_eq!(p, e);
    }
}
