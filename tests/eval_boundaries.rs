//! Each boundary of storskog-policy.md pinned by a small case whose expected outcome and rule are
//! written here: version start days and the days before (§2), the anniversary rule (§4.2), the
//! visa's last day (§4.3), `expired` residence (§4.1, D6), JSON `null` (D16), directness of a
//! war-zone flight (§4.4), the order of the rules (§6, D13, D15), v2 (D14), forced versions (D2)
//! and `--as-of`.
//!
//! Cases are decided in-process through the public API (`Engine::decide_values`), except for
//! `--as-of`, which is a command-line option and is run through the binary too.

// A test fails by panicking, as in the unit tests of src/.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use readmit::dates::parse_date;
use readmit::{Engine, EvalOptions, Record, VersionChoice};
use serde_json::{Value, json};

const V1: &str = "2015-11-26";
const V2: &str = "2016-01-22";
const V3: &str = "2016-02-03";

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/storskog");
        Engine::load(&path).unwrap_or_else(|d| panic!("policies/storskog loads: {d:?}"))
    })
}

/// A valid case: a Syrian who entered Lebanon on the way (not a direct flight), no residence,
/// no visa, decided in v1. `changes` replaces top-level fields (a `null` stays `null`).
fn case(id: &str, changes: Value) -> Value {
    let mut case = json!({
        "id": id,
        "nationality": "SY",
        "entry_date": "2015-10-01",
        "travel": {"origin": "SY", "route": ["SY", "LB", "RU"], "direct_from_war_zone": false},
        "special_connection": false,
        "decision_date": "2015-12-01"
    });
    if let (Some(map), Value::Object(changes)) = (case.as_object_mut(), changes) {
        map.extend(changes);
    }
    case
}

fn resident(status: &str, since: &str) -> Value {
    json!({"status": status, "since": since})
}

fn multi_entry(valid_until: &str) -> Value {
    json!({"type": "multi_entry", "valid_until": valid_until})
}

fn travel(origin: &str, route: &[&str], direct: bool) -> Value {
    json!({"origin": origin, "route": route, "direct_from_war_zone": direct})
}

fn decide_with(case: &Value, choice: VersionChoice) -> Record {
    let options = EvalOptions {
        choice,
        explain: false,
    };
    let mut records = engine().decide_values([case], options);
    assert_eq!(records.len(), 1, "one record in, one out");
    records.remove(0)
}

fn decide(case: &Value) -> Record {
    decide_with(case, VersionChoice::InForce)
}

/// Asserts a decision's version, outcome and rule; returns it for further checks.
#[track_caller]
fn assert_decided(record: &Record, version: &str, outcome: &str, rule: &str) -> readmit::Decision {
    match record {
        Record::Decision(d) => {
            assert_eq!(
                (&*d.version, &*d.outcome, &*d.rule),
                (version, outcome, rule),
                "decision of {}",
                d.id
            );
            assert!(d.warnings.is_empty(), "{}: warnings {:?}", d.id, d.warnings);
            (**d).clone()
        }
        Record::Error(e) => panic!("expected {version}/{outcome}/{rule}, got the error {e:?}"),
    }
}

#[track_caller]
fn assert_error(record: &Record, id: Option<&str>, kind: &str, field: Option<&str>) {
    match record {
        Record::Error(e) => {
            assert_eq!(
                (e.id.as_deref(), e.kind.as_str(), e.field.as_deref()),
                (id, kind, field),
                "{e:?}"
            );
            assert!(!e.message.is_empty(), "an error says what is wrong");
        }
        Record::Decision(d) => panic!("expected the error {kind}, got the decision {d:?}"),
    }
}

// §2 — versions and their start days ------------------------------------------------------------

#[test]
fn each_version_starts_on_its_day_and_the_day_before_belongs_to_the_previous_one() {
    // A permanent resident decides differently in each version.
    let permanent = resident("permanent", "2010-01-01");
    let expected = [
        ("2015-11-26", V1, "return_to_russia", "resident_return"),
        ("2016-01-21", V1, "return_to_russia", "resident_return"),
        (
            "2016-01-22",
            V2,
            "return_suspended",
            "resident_return_suspended",
        ),
        (
            "2016-02-02",
            V2,
            "return_suspended",
            "resident_return_suspended",
        ),
        ("2016-02-03", V3, "no_return_route", "resident_no_route"),
    ];
    for (date, version, outcome, rule) in expected {
        let c = case(
            &format!("D-{date}"),
            json!({"decision_date": date, "russian_residence": permanent}),
        );
        assert_decided(&decide(&c), version, outcome, rule);
    }
}

#[test]
fn a_case_decided_before_the_first_version_is_an_error_not_a_default() {
    let c = case(
        "D-2015-11-25",
        json!({"decision_date": "2015-11-25", "russian_residence": resident("permanent", "2010-01-01")}),
    );
    let record = decide(&c);
    assert_error(
        &record,
        Some("D-2015-11-25"),
        "no_version_in_force",
        Some("decision_date"),
    );
    assert_eq!(record.line(), 1);
}

#[test]
fn a_forced_version_decides_a_case_dated_before_every_version() {
    // D2: "as if" — no error, whatever the date.
    let c = case(
        "EARLY",
        json!({"decision_date": "2015-11-25", "russian_residence": resident("permanent", "2010-01-01")}),
    );
    assert_decided(
        &decide_with(&c, VersionChoice::Forced(0)),
        V1,
        "return_to_russia",
        "resident_return",
    );
    assert_decided(
        &decide_with(&c, VersionChoice::Forced(1)),
        V2,
        "return_suspended",
        "resident_return_suspended",
    );
    assert_decided(
        &decide_with(&c, VersionChoice::Forced(2)),
        V3,
        "no_return_route",
        "resident_no_route",
    );
    let very_early = case(
        "EARLIER",
        json!({"entry_date": "1989-12-01", "decision_date": "1990-01-01"}),
    );
    assert_decided(
        &decide_with(&very_early, VersionChoice::Forced(0)),
        V1,
        "standard_procedure",
        "otherwise",
    );
}

#[test]
fn a_forced_version_still_reads_the_cases_own_dates() {
    // Forced v3 on a case decided on 2015-12-01: the visa is judged on the case's decision_date,
    // not on v3's effective date (§2: "all date arithmetic still uses the case's own dates").
    let base = json!({
        "entry_date": "2015-10-15",
        "decision_date": "2015-12-01",
        "russian_residence": resident("temporary", "2014-10-15"),
    });
    let mut valid = case("VISA-TO-DECISION", base.clone());
    valid["visa"] = multi_entry("2015-12-01");
    assert_decided(
        &decide_with(&valid, VersionChoice::Forced(2)),
        V3,
        "return_to_russia",
        "multi_entry_return",
    );
    let mut expired = case("VISA-DAY-BEFORE", base);
    expired["visa"] = multi_entry("2015-11-30");
    assert_decided(
        &decide_with(&expired, VersionChoice::Forced(2)),
        V3,
        "no_return_route",
        "resident_no_route",
    );
}

#[test]
fn as_of_picks_the_version_in_force_on_that_date_for_every_case() {
    let c = case(
        "AS-OF",
        json!({"decision_date": "2015-12-01", "russian_residence": resident("temporary", "2014-01-01")}),
    );
    let as_of = |day: &str| VersionChoice::AsOf(parse_date(day).expect("a date"));
    assert_decided(
        &decide_with(&c, as_of("2016-01-21")),
        V1,
        "return_to_russia",
        "resident_return",
    );
    assert_decided(
        &decide_with(&c, as_of("2016-01-22")),
        V2,
        "return_suspended",
        "resident_return_suspended",
    );
    assert_decided(
        &decide_with(&c, as_of("2016-02-03")),
        V3,
        "no_return_route",
        "resident_no_route",
    );
    // Before every version: an error for every case, even one whose own date has a version.
    // The date at fault is the caller's `--as-of`, not a field of the record: no field.
    assert_error(
        &decide_with(&c, as_of("2015-11-25")),
        Some("AS-OF"),
        "no_version_in_force",
        None,
    );
}

#[test]
fn as_of_on_the_command_line() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "policies/storskog",
            "--cases",
            "examples/cases/storskog.jsonl",
            "--format",
            "jsonl",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_readmit"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(&args)
            .output()
            .expect("readmit runs");
        let records: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON Lines"))
            .collect();
        (out.status.code(), records)
    };
    for (day, version) in [("2016-01-21", V1), ("2016-01-22", V2), ("2016-02-03", V3)] {
        let (code, records) = run(&["--as-of", day]);
        assert_eq!(code, Some(0), "--as-of {day}");
        assert_eq!(records.len(), 67);
        assert!(
            records.iter().all(|r| r["version"] == version),
            "--as-of {day}: every case by {version}"
        );
        // The same decisions as forcing that version.
        let (_, forced) = run(&["--version", version]);
        assert_eq!(records, forced, "--as-of {day} = --version {version}");
    }
    let (code, records) = run(&["--as-of", "2015-11-25"]);
    assert_eq!(code, Some(3), "no version in force: every record an error");
    assert_eq!(records.len(), 67);
    for r in &records {
        assert_eq!(r["error"]["kind"], "no_version_in_force", "{r}");
        assert!(r["id"].is_string(), "the id is known: {r}");
    }
}

// §4.2 — whole years by anniversary, from `since` to `entry_date` ------------------------------

#[test]
fn the_anniversary_table_of_section_4_2() {
    // Every row of §4.2's table, in v3 with a valid multi-entry visa: one whole year or more
    // → multi_entry_return, else resident_no_route.
    let rows = [
        ("2014-10-15", "2015-10-15", true),
        ("2014-10-16", "2015-10-15", false),
        ("2015-03-01", "2016-02-29", false), // 365 days, anniversary 2016-03-01
        ("2015-02-28", "2016-02-28", true),
        ("2016-02-29", "2017-02-28", true), // 29 Feb → 28 Feb in a common year
        ("2015-10-20", "2015-10-20", false),
        // Around the 29 February rule.
        ("2016-02-29", "2017-02-27", false),
        ("2016-02-29", "2017-03-01", true),
        ("2015-02-28", "2016-02-27", false),
        ("2015-03-01", "2016-03-01", true),
    ];
    for (since, entry, one_year) in rows {
        let c = case(
            &format!("Y-{since}-{entry}"),
            json!({
                "entry_date": entry,
                "decision_date": "2017-03-02",
                "russian_residence": resident("temporary", since),
                "visa": multi_entry("2017-12-31"),
            }),
        );
        let record = decide(&c);
        if one_year {
            let d = assert_decided(&record, V3, "return_to_russia", "multi_entry_return");
            assert_eq!(d.cap.as_deref(), Some("moscow_agreement"));
        } else {
            assert_decided(&record, V3, "no_return_route", "resident_no_route");
        }
    }
}

#[test]
fn residence_ends_at_entry_not_at_the_decision() {
    // The anniversary (2015-11-20) falls after entry but before the decision: 0 years.
    let c = case(
        "END-AT-ENTRY",
        json!({
            "entry_date": "2015-11-19",
            "decision_date": "2016-02-10",
            "russian_residence": resident("permanent", "2014-11-20"),
            "visa": multi_entry("2016-12-31"),
        }),
    );
    assert_decided(&decide(&c), V3, "no_return_route", "resident_no_route");
}

// §4.3 — the visa's last day ----------------------------------------------------------------------

#[test]
fn a_visa_is_valid_on_its_last_day_and_not_after() {
    let with_visa = |id: &str, visa: Value| {
        case(
            id,
            json!({
                "entry_date": "2015-10-15",
                "decision_date": "2016-02-10",
                "russian_residence": resident("temporary", "2014-01-01"),
                "visa": visa,
            }),
        )
    };
    assert_decided(
        &decide(&with_visa("LAST-DAY", multi_entry("2016-02-10"))),
        V3,
        "return_to_russia",
        "multi_entry_return",
    );
    assert_decided(
        &decide(&with_visa("DAY-BEFORE", multi_entry("2016-02-09"))),
        V3,
        "no_return_route",
        "resident_no_route",
    );
    // D9: only multi_entry counts, whatever its validity.
    for kind in ["single_entry", "double_entry", "work", "tourist"] {
        let visa = json!({"type": kind, "valid_until": "2017-01-01"});
        assert_decided(
            &decide(&with_visa(kind, visa)),
            V3,
            "no_return_route",
            "resident_no_route",
        );
    }
}

// §4.1 — `expired` is not resident (D6) ----------------------------------------------------------

#[test]
fn an_expired_permit_is_not_residence() {
    let expired = resident("expired", "2010-01-01");
    // Not a war-zone flight: ordinary procedure, in every version.
    for (date, version) in [("2015-12-01", V1), ("2016-01-25", V2), ("2016-02-10", V3)] {
        let c = case(
            &format!("EXP-{date}"),
            json!({"decision_date": date, "russian_residence": expired, "visa": multi_entry("2017-01-01")}),
        );
        assert_decided(&decide(&c), version, "standard_procedure", "otherwise");
        // A direct war-zone flight: examined in Norway.
        let direct = case(
            &format!("EXP-DIRECT-{date}"),
            json!({
                "decision_date": date,
                "russian_residence": expired,
                "travel": travel("SY", &["SY", "RU"], true),
            }),
        );
        assert_decided(
            &decide(&direct),
            version,
            "process_in_norway",
            "war_zone_direct",
        );
    }
}

#[test]
fn a_resident_who_fled_directly_is_not_on_the_war_zone_path() {
    let direct = travel("SY", &["SY", "RU"], true);
    let c = |status: &str, date: &str| {
        case(
            &format!("RES-{status}-{date}"),
            json!({"decision_date": date, "travel": direct, "russian_residence": resident(status, "2010-01-01")}),
        )
    };
    assert_decided(
        &decide(&c("temporary", "2015-12-01")),
        V1,
        "return_to_russia",
        "resident_return",
    );
    assert_decided(
        &decide(&c("permanent", "2016-01-25")),
        V2,
        "return_suspended",
        "resident_return_suspended",
    );
    assert_decided(
        &decide(&c("permanent", "2016-02-10")),
        V3,
        "no_return_route",
        "resident_no_route",
    );
}

// D16 — JSON null --------------------------------------------------------------------------------

#[test]
fn null_on_an_optional_field_is_absent() {
    let absent = case("NULLS", json!({"decision_date": "2016-02-10"}));
    let nulls = case(
        "NULLS",
        json!({"decision_date": "2016-02-10", "russian_residence": null, "visa": null, "refoulement_risk": null}),
    );
    let a = assert_decided(&decide(&absent), V3, "standard_procedure", "otherwise");
    let b = assert_decided(&decide(&nulls), V3, "standard_procedure", "otherwise");
    assert_eq!(a, b, "null = absent, to the last field");
    // `refoulement_risk: null` on a resident: no bar, so the resident is returned.
    let c = case(
        "NULL-RISK",
        json!({"refoulement_risk": null, "russian_residence": resident("permanent", "2010-01-01")}),
    );
    assert_decided(&decide(&c), V1, "return_to_russia", "resident_return");
}

#[test]
fn null_on_a_required_field_is_missing() {
    for field in [
        "id",
        "nationality",
        "entry_date",
        "travel",
        "special_connection",
        "decision_date",
    ] {
        let mut c = case("NULL-REQUIRED", json!({}));
        c[field] = Value::Null;
        let id = (field != "id").then_some("NULL-REQUIRED");
        assert_error(&decide(&c), id, "missing_field", Some(field));
    }
    let nested = [
        ("travel", "origin", "travel.origin"),
        ("travel", "route", "travel.route"),
        (
            "travel",
            "direct_from_war_zone",
            "travel.direct_from_war_zone",
        ),
    ];
    for (parent, child, path) in nested {
        let mut c = case("NULL-NESTED", json!({}));
        c[parent][child] = Value::Null;
        assert_error(
            &decide(&c),
            Some("NULL-NESTED"),
            "missing_field",
            Some(path),
        );
    }
    let visa = case(
        "NULL-VISA-UNTIL",
        json!({"visa": {"type": "multi_entry", "valid_until": null}}),
    );
    assert_error(
        &decide(&visa),
        Some("NULL-VISA-UNTIL"),
        "missing_field",
        Some("visa.valid_until"),
    );
    let residence = case(
        "NULL-SINCE",
        json!({"russian_residence": {"status": "permanent", "since": null}}),
    );
    assert_error(
        &decide(&residence),
        Some("NULL-SINCE"),
        "missing_field",
        Some("russian_residence.since"),
    );
}

// §4.4 — direct flight from a war zone -------------------------------------------------------------

#[test]
fn directness_is_judged_on_origin_and_route() {
    let cases = [
        // (nationality, origin, route, direct, outcome, rule)
        (
            "SY",
            "SY",
            &["SY", "LB", "RU"][..],
            false,
            "standard_procedure",
            "otherwise",
        ),
        (
            "SY",
            "SY",
            &["SY", "IQ", "RU"][..],
            true,
            "process_in_norway",
            "war_zone_direct",
        ),
        (
            "AF",
            "IR",
            &["IR", "RU"][..],
            false,
            "standard_procedure",
            "otherwise",
        ),
        (
            "PS",
            "SY",
            &["SY", "RU"][..],
            true,
            "process_in_norway",
            "war_zone_direct",
        ),
        (
            "SY",
            "SY",
            &["SY", "IQ", "TR", "RU"][..],
            false,
            "standard_procedure",
            "otherwise",
        ),
        // Only the countries before the first RU count.
        (
            "SY",
            "SY",
            &["SY", "RU", "TR", "RU"][..],
            true,
            "process_in_norway",
            "war_zone_direct",
        ),
    ];
    for (nationality, origin, route, direct, outcome, rule) in cases {
        let c = case(
            &format!("ROUTE-{nationality}-{}", route.join("-")),
            json!({"nationality": nationality, "travel": travel(origin, route, direct)}),
        );
        assert_decided(&decide(&c), V1, outcome, rule);
    }
}

#[test]
fn the_war_zone_list_is_closed() {
    for zone in ["SY", "IQ", "AF", "YE", "SO", "LY", "SS"] {
        let c = case(
            &format!("WZ-{zone}"),
            json!({"nationality": zone, "travel": travel(zone, &[zone, "RU"], true)}),
        );
        assert_decided(&decide(&c), V1, "process_in_norway", "war_zone_direct");
    }
    let not_listed = [
        "UA", "NG", "PK", "SD", "CF", "ML", "CD", "ER", "IR", "LB", "TR", "EG", "ET", "PS",
    ];
    for country in not_listed {
        let c = case(
            &format!("NOT-WZ-{country}"),
            json!({"nationality": country, "travel": travel(country, &[country, "RU"], false)}),
        );
        assert_decided(&decide(&c), V1, "standard_procedure", "otherwise");
    }
}

#[test]
fn a_finding_that_contradicts_the_route_is_warned_about() {
    // D12: the caseworker's flag must equal the computed predicate; `eval` warns when it does not.
    let c = case(
        "FLAG-WRONG",
        json!({"travel": travel("SY", &["SY", "LB", "RU"], true)}),
    );
    match decide(&c) {
        Record::Decision(d) => assert!(
            d.warnings
                .iter()
                .any(|w| w.contains("travel.direct_from_war_zone")),
            "warnings: {:?}",
            d.warnings
        ),
        Record::Error(e) => panic!("{e:?}"),
    }
}

// §6 — the order of the rules ----------------------------------------------------------------------

#[test]
fn special_connection_beats_the_quota_return_in_v3_only() {
    let changes = json!({
        "entry_date": "2015-10-15",
        "decision_date": "2016-02-10",
        "special_connection": true,
        "russian_residence": resident("permanent", "2012-01-01"),
        "visa": multi_entry("2017-01-01"),
    });
    let d = assert_decided(
        &decide(&case("SPECIAL", changes.clone())),
        V3,
        "individual_assessment",
        "special_connection",
    );
    assert_eq!(d.cap, None, "no cap place is taken");
    assert!(d.attributes.is_empty());
    // Without the connection, the same case is a quota return.
    let mut plain = case("PLAIN", changes);
    plain["special_connection"] = json!(false);
    assert_decided(
        &decide(&plain),
        V3,
        "return_to_russia",
        "multi_entry_return",
    );
    // v1 and v2 never look at it.
    let mut v1 = case("SPECIAL-V1", json!({"special_connection": true}));
    v1["russian_residence"] = resident("permanent", "2012-01-01");
    assert_decided(&decide(&v1), V1, "return_to_russia", "resident_return");
}

#[test]
fn war_zone_path_and_refoulement_bar_beat_special_connection() {
    let direct = case(
        "WZ-SPECIAL",
        json!({"decision_date": "2016-02-10", "special_connection": true, "travel": travel("SY", &["SY", "RU"], true)}),
    );
    assert_decided(&decide(&direct), V3, "process_in_norway", "war_zone_direct");
    let barred = case(
        "BAR-SPECIAL",
        json!({"decision_date": "2016-02-10", "special_connection": true, "refoulement_risk": true}),
    );
    assert_decided(&decide(&barred), V3, "process_in_norway", "refoulement_bar");
}

#[test]
fn refoulement_bar_beats_the_war_zone_path_and_the_resident_return() {
    let direct = case(
        "BAR-WZ",
        json!({"refoulement_risk": true, "travel": travel("SY", &["SY", "RU"], true)}),
    );
    assert_decided(&decide(&direct), V1, "process_in_norway", "refoulement_bar");
    let resident_case = case(
        "BAR-RES",
        json!({"refoulement_risk": true, "russian_residence": resident("permanent", "2010-01-01")}),
    );
    assert_decided(
        &decide(&resident_case),
        V1,
        "process_in_norway",
        "refoulement_bar",
    );
    // `false` is no bar.
    let no_risk = case(
        "NO-BAR",
        json!({"refoulement_risk": false, "travel": travel("SY", &["SY", "RU"], true)}),
    );
    assert_decided(
        &decide(&no_risk),
        V1,
        "process_in_norway",
        "war_zone_direct",
    );
}

#[test]
fn a_russian_national_beats_the_refoulement_bar() {
    for (date, version) in [("2015-12-01", V1), ("2016-01-25", V2), ("2016-02-10", V3)] {
        let c = case(
            &format!("RU-{date}"),
            json!({
                "nationality": "RU",
                "refoulement_risk": true,
                "special_connection": true,
                "decision_date": date,
                "russian_residence": resident("permanent", "2010-01-01"),
            }),
        );
        assert_decided(
            &decide(&c),
            version,
            "standard_procedure",
            "russian_national",
        );
    }
}

#[test]
fn v2_suspends_the_return_without_a_cap() {
    let c = case(
        "V2-RES",
        json!({"decision_date": "2016-01-25", "russian_residence": resident("temporary", "2015-01-01")}),
    );
    let d = assert_decided(
        &decide(&c),
        V2,
        "return_suspended",
        "resident_return_suspended",
    );
    assert_eq!(d.cap, None, "no cap is consulted");
    assert_eq!(d.queue_position, None);
    assert!(
        d.attributes.is_empty(),
        "return_suspended has no attributes"
    );
    // The JSON contract: "cap": null.
    let json = serde_json::to_value(Record::Decision(Box::new(d))).expect("serialises");
    assert_eq!(json["cap"], Value::Null);
    assert_eq!(json["attributes"], json!({}));
}

#[test]
fn a_visa_without_residence_is_no_permission_to_live_in_russia() {
    let visa = multi_entry("2017-01-01");
    let direct = case(
        "VISA-DIRECT",
        json!({"decision_date": "2016-02-10", "visa": visa, "travel": travel("AF", &["AF", "RU"], true)}),
    );
    assert_decided(&decide(&direct), V3, "process_in_norway", "war_zone_direct");
    let indirect = case(
        "VISA-ONLY",
        json!({"decision_date": "2016-02-10", "visa": visa}),
    );
    assert_decided(&decide(&indirect), V3, "standard_procedure", "otherwise");
}
