//! Forms of conditions that the closures of a batch (`eval::decide`) answer in ways of their own:
//! lets computed on first read wherever that read is, quantifiers over policy-written lists and
//! nested quantifiers, membership of a constant in a list, an element of a list compared with a
//! field. Each case has its outcome written here, and the tree walk of `--explain`
//! (`eval::decide_traced`) must agree with the closures on it.

// A test fails by panicking, as in the unit tests of src/.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use readmit::Engine;
use readmit::eval;

const SCHEMA: &str = "schema Case {
  id: text 1..64
  origin: country
  items: list of country
  route: list of country
  flag: bool
  stays: list of {
    country: country
    left: optional date
  }
  decision_date: date
}
";

/// A policy whose one rule reads `inner`, a let with a quantifier of its own, first from inside
/// the body of another quantifier.
const POLICY: &str = r#"policy forms version 2020-01-01
in force from 2020-01-01
basis "A test of the forms of conditions."
schema Case from "schema.policy"
as of case.decision_date

let inner = all r in case.route: r in [SY, IQ]
let is_er = case.origin == ER
let is_ke = case.origin == KE
let has_items = count(case.items) > 0
let via_sy = SY in case.route
let via_no = NO in case.route
let first_left = count(case.stays) > 0 and case.stays[0] has left
let route_flags = [any n in case.route: n == SY, case.flag]

outcome yes
outcome no

rule inside:
  when case.origin == NO and (any x in case.items: inner and x == NO)
  then yes
  because "Some item is NO and every country of the route is SY or IQ."
  cites "Test."

rule written_list:
  when case.origin == SY and count(case.route) > 0
    and (any x in [case.route[0], NO]: x in [IQ])
  then yes
  because "The route starts in IQ."
  cites "Test."

rule nested:
  when case.origin == IQ and (all x in case.items: any y in case.route: x in [SY])
  then yes
  because "Every item is SY, and the route is not empty."
  cites "Test."

rule member:
  when case.origin == AF and NO not in case.route
  then yes
  because "The route does not pass NO."
  cites "Test."

rule element:
  when case.origin == YE and count(case.route) > 0 and case.route[0] == case.origin
  then yes
  because "The route starts at the origin."
  cites "Test."

rule long_and:
  when case.origin == LY and count(case.items) > 0 and SY in case.route and IQ in case.route
    and NO not in case.route and AF not in case.route
  then yes
  because "Every one of six conditions holds."
  cites "Test."

rule long_or:
  when case.origin == SO
    and (count(case.items) > 1 or SY in case.route or IQ in case.route or NO in case.route)
  then yes
  because "One of four conditions holds."
  cites "Test."

rule lets_and:
  when is_er and has_items and via_sy and not via_no
  then yes
  because "Four lets, one negated, all hold."
  cites "Test."

rule lets_or:
  when is_ke and (has_items or not via_sy or via_no)
  then yes
  because "One of three lets, one negated, holds."
  cites "Test."

rule flag_matches:
  when case.origin == TD and case.flag == via_sy
  then yes
  because "The flag says whether the route passes SY."
  cites "Test."

rule flag_differs:
  when case.origin == TG and (SY in case.route or NO in case.route) != case.flag
  then yes
  because "The flag contradicts the route."
  cites "Test."

rule stay_left_later:
  when case.origin == TN and (any s in case.stays: s has left and s.left > case.decision_date)
  then yes
  because "A stay ended after the decision date."
  cites "Test."

rule first_stay_left:
  when case.origin == TZ and first_left
  then yes
  because "The first stay has ended."
  cites "Test."

rule quantified_element:
  when case.origin == UG and (any b in [any n in case.route: n == SY, case.flag]: b)
  then yes
  because "The route passes SY, or the flag is set."
  cites "Test."

rule second_differs:
  when case.origin == ZM and count(case.route) > 1 and case.route[1] != case.origin
  then yes
  because "The route's second country is not the origin."
  cites "Test."

rule before_ru:
  when case.origin == ZW and (all c in before(case.route, RU): c in [SY, IQ])
  then yes
  because "Every country of the route before RU is SY or IQ."
  cites "Test."

rule let_list_in_quantifier:
  when case.origin == BJ and (any x in case.items: x == NO and (any b in route_flags: b))
  then yes
  because "Some item is NO, and the route passes SY or the flag is set."
  cites "Test."

rule let_list_element_in_quantifier:
  when case.origin == BF and count(route_flags) > 0
    and (any x in case.items: x == NO and route_flags[0])
  then yes
  because "Some item is NO, and the route passes SY."
  cites "Test."

rule let_list_member_in_quantifier:
  when case.origin == BI and (all x in case.items: true in route_flags)
  then yes
  because "The route passes SY or the flag is set (or there are no items)."
  cites "Test."

otherwise no
  because "No rule applies."
  cites "Test."
"#;

fn engine(dir: &Path) -> Engine {
    std::fs::write(dir.join("schema.policy"), SCHEMA).unwrap();
    std::fs::write(dir.join("2020-01-01.policy"), POLICY).unwrap();
    Engine::load(dir).unwrap_or_else(|d| panic!("the test policy loads: {d:?}"))
}

/// The outcome of a case by both paths, which must agree.
fn outcome(engine: &Engine, origin: &str, items: &str, route: &str) -> String {
    outcome_flagged(engine, origin, items, route, false)
}

/// The outcome of a case with `flag` set.
fn outcome_flagged(engine: &Engine, origin: &str, items: &str, route: &str, flag: bool) -> String {
    decided(
        engine,
        &format!(
            r#"{{"id":"a","origin":"{origin}","items":{items},"route":{route},"flag":{flag},"stays":[],"decision_date":"2020-02-01"}}"#
        ),
    )
}

/// The outcome of a record by both paths, which must agree.
fn decided(engine: &Engine, record: &str) -> String {
    let case = engine.read_json(record, 1).unwrap();
    let program = &engine.policy.programs[0];
    let fast = eval::decide(program, 0, &case);
    let (traced, _) = eval::decide_traced(program, 0, &case);
    assert_eq!(fast, traced, "{record}");
    program.outcomes[fast.outcome].name.to_string()
}

#[test]
fn a_let_first_read_inside_a_quantifier_sees_its_own_variables() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    // `inner` holds: SY is in the set. Read first while `x` is NO, its own variable `r` must
    // not be mistaken for `x`, which is not in the set.
    assert_eq!(outcome(&engine, "NO", r#"["NO"]"#, r#"["SY"]"#), "yes");
    assert_eq!(
        outcome(&engine, "NO", r#"["SY", "NO"]"#, r#"["IQ", "SY"]"#),
        "yes"
    );
    // `inner` does not hold (RU is not in the set), though `x` would be.
    assert_eq!(outcome(&engine, "NO", r#"["NO"]"#, r#"["SY", "RU"]"#), "no");
    assert_eq!(outcome(&engine, "NO", r#"["SY"]"#, r#"["SY"]"#), "no");
}

#[test]
fn a_quantifier_over_a_list_written_in_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    assert_eq!(outcome(&engine, "SY", "[]", r#"["IQ", "RU"]"#), "yes");
    assert_eq!(outcome(&engine, "SY", "[]", r#"["SY", "IQ"]"#), "no");
    // No first element, the guard fails.
    assert_eq!(outcome(&engine, "SY", "[]", "[]"), "no");
}

#[test]
fn an_inner_quantifier_reads_the_outer_variable() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    // Each item is SY; the inner variable, IQ, is not what the body asks about.
    assert_eq!(
        outcome(&engine, "IQ", r#"["SY", "SY"]"#, r#"["IQ"]"#),
        "yes"
    );
    assert_eq!(outcome(&engine, "IQ", r#"["SY", "IQ"]"#, r#"["SY"]"#), "no");
    // An empty route: no `y`, so `any` fails for the one item.
    assert_eq!(outcome(&engine, "IQ", r#"["SY"]"#, "[]"), "no");
    // No items: `all` holds.
    assert_eq!(outcome(&engine, "IQ", "[]", "[]"), "yes");
}

#[test]
fn a_constant_not_in_a_list_and_an_element_compared_with_a_field() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    assert_eq!(outcome(&engine, "AF", "[]", r#"["AF", "RU"]"#), "yes");
    assert_eq!(outcome(&engine, "AF", "[]", "[]"), "yes");
    assert_eq!(outcome(&engine, "AF", "[]", r#"["AF", "NO"]"#), "no");
    assert_eq!(outcome(&engine, "YE", "[]", r#"["YE", "RU"]"#), "yes");
    assert_eq!(outcome(&engine, "YE", "[]", r#"["SA", "YE"]"#), "no");
    assert_eq!(outcome(&engine, "YE", "[]", "[]"), "no");
}

#[test]
fn an_and_of_six_fails_at_each_of_its_parts() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    assert_eq!(
        outcome(&engine, "LY", r#"["SY"]"#, r#"["SY", "IQ"]"#),
        "yes"
    );
    assert_eq!(outcome(&engine, "SY", r#"["SY"]"#, r#"["SY", "IQ"]"#), "no");
    assert_eq!(outcome(&engine, "LY", "[]", r#"["SY", "IQ"]"#), "no");
    assert_eq!(outcome(&engine, "LY", r#"["SY"]"#, r#"["IQ"]"#), "no");
    assert_eq!(outcome(&engine, "LY", r#"["SY"]"#, r#"["SY"]"#), "no");
    assert_eq!(
        outcome(&engine, "LY", r#"["SY"]"#, r#"["SY", "IQ", "NO"]"#),
        "no"
    );
    assert_eq!(
        outcome(&engine, "LY", r#"["SY"]"#, r#"["AF", "SY", "IQ"]"#),
        "no"
    );
}

#[test]
fn an_or_of_four_holds_by_each_of_its_parts() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    assert_eq!(outcome(&engine, "SO", r#"["SY", "SY"]"#, "[]"), "yes");
    assert_eq!(outcome(&engine, "SO", "[]", r#"["SY"]"#), "yes");
    assert_eq!(outcome(&engine, "SO", "[]", r#"["IQ"]"#), "yes");
    assert_eq!(outcome(&engine, "SO", "[]", r#"["NO"]"#), "yes");
    assert_eq!(outcome(&engine, "SO", r#"["SY"]"#, r#"["RU"]"#), "no");
}

#[test]
fn conditions_made_of_lets_alone() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    assert_eq!(outcome(&engine, "ER", r#"["SY"]"#, r#"["SY"]"#), "yes");
    assert_eq!(outcome(&engine, "ER", "[]", r#"["SY"]"#), "no");
    assert_eq!(outcome(&engine, "ER", r#"["SY"]"#, "[]"), "no");
    assert_eq!(outcome(&engine, "ER", r#"["SY"]"#, r#"["SY", "NO"]"#), "no");
    assert_eq!(outcome(&engine, "KE", r#"["SY"]"#, r#"["SY"]"#), "yes");
    assert_eq!(outcome(&engine, "KE", "[]", "[]"), "yes");
    assert_eq!(outcome(&engine, "KE", "[]", r#"["SY", "NO"]"#), "yes");
    assert_eq!(outcome(&engine, "KE", "[]", r#"["SY"]"#), "no");
}

#[test]
fn a_bool_field_against_a_condition() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let sy = r#"["SY"]"#;
    assert_eq!(outcome_flagged(&engine, "TD", "[]", sy, true), "yes");
    assert_eq!(outcome_flagged(&engine, "TD", "[]", "[]", false), "yes");
    assert_eq!(outcome_flagged(&engine, "TD", "[]", sy, false), "no");
    assert_eq!(outcome_flagged(&engine, "TD", "[]", "[]", true), "no");
    assert_eq!(outcome_flagged(&engine, "TG", "[]", sy, false), "yes");
    assert_eq!(
        outcome_flagged(&engine, "TG", "[]", r#"["NO"]"#, false),
        "yes"
    );
    assert_eq!(outcome_flagged(&engine, "TG", "[]", "[]", true), "yes");
    assert_eq!(outcome_flagged(&engine, "TG", "[]", sy, true), "no");
    assert_eq!(outcome_flagged(&engine, "TG", "[]", "[]", false), "no");
}

#[test]
fn has_on_a_record_in_a_list() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    let record = |origin: &str, stays: &str| {
        format!(
            r#"{{"id":"a","origin":"{origin}","items":[],"route":[],"flag":false,"stays":{stays},"decision_date":"2020-02-01"}}"#
        )
    };
    let later = r#"[{"country":"RU"},{"country":"TR","left":"2020-03-01"}]"#;
    let earlier = r#"[{"country":"TR","left":"2019-01-01"}]"#;
    let open = r#"[{"country":"RU"}]"#;
    assert_eq!(decided(&engine, &record("TN", later)), "yes");
    assert_eq!(decided(&engine, &record("TN", earlier)), "no");
    assert_eq!(decided(&engine, &record("TN", open)), "no");
    assert_eq!(decided(&engine, &record("TN", "[]")), "no");
    assert_eq!(decided(&engine, &record("TZ", earlier)), "yes");
    assert_eq!(decided(&engine, &record("TZ", later)), "no");
    assert_eq!(decided(&engine, &record("TZ", "[]")), "no");
}

#[test]
fn a_quantifier_inside_a_list_element_reads_its_own_variable() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    assert_eq!(
        outcome_flagged(&engine, "UG", "[]", r#"["SY"]"#, false),
        "yes"
    );
    assert_eq!(
        outcome_flagged(&engine, "UG", "[]", r#"["IQ"]"#, false),
        "no"
    );
    assert_eq!(
        outcome_flagged(&engine, "UG", "[]", r#"["IQ"]"#, true),
        "yes"
    );
}

#[test]
fn two_stored_values_compared() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    assert_eq!(outcome(&engine, "ZM", "[]", r#"["ZM", "SY"]"#), "yes");
    assert_eq!(outcome(&engine, "ZM", "[]", r#"["SY", "ZM"]"#), "no");
    assert_eq!(outcome(&engine, "ZM", "[]", r#"["SY"]"#), "no");
    assert_eq!(outcome(&engine, "ZM", "[]", "[]"), "no");
}

#[test]
fn a_quantifier_over_the_countries_before_a_country() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    assert_eq!(
        outcome(&engine, "ZW", "[]", r#"["SY", "IQ", "RU", "NO"]"#),
        "yes"
    );
    assert_eq!(outcome(&engine, "ZW", "[]", r#"["SY", "NO", "RU"]"#), "no");
    // Nothing before RU: `all` of nothing holds.
    assert_eq!(outcome(&engine, "ZW", "[]", r#"["RU", "NO"]"#), "yes");
    // No RU: the whole route is read.
    assert_eq!(outcome(&engine, "ZW", "[]", r#"["SY", "IQ"]"#), "yes");
    assert_eq!(outcome(&engine, "ZW", "[]", r#"["SY", "NO"]"#), "no");
}

#[test]
fn a_let_list_with_a_quantifier_read_inside_another_quantifier() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(dir.path());
    // `route_flags`' own `n` must not be taken for `x` (NO, not SY) or `b`.
    assert_eq!(outcome(&engine, "BJ", r#"["NO"]"#, r#"["SY"]"#), "yes");
    assert_eq!(outcome(&engine, "BJ", r#"["NO"]"#, r#"["IQ"]"#), "no");
    assert_eq!(
        outcome_flagged(&engine, "BJ", r#"["NO"]"#, r#"["IQ"]"#, true),
        "yes"
    );
    assert_eq!(
        outcome(&engine, "BF", r#"["NO"]"#, r#"["IQ", "SY"]"#),
        "yes"
    );
    assert_eq!(
        outcome_flagged(&engine, "BF", r#"["NO"]"#, r#"["IQ"]"#, true),
        "no"
    );
    assert_eq!(
        outcome(&engine, "BI", r#"["NO", "IQ"]"#, r#"["SY"]"#),
        "yes"
    );
    assert_eq!(outcome(&engine, "BI", r#"["NO", "IQ"]"#, r#"["IQ"]"#), "no");
}
