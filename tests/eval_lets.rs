//! Lets are computed once per case, on first read, wherever that read is: these pin that the
//! place of the first read never changes a let's value. Both paths are checked, the closures of
//! a batch (`eval::decide`) and the tree walk of `--explain` (`eval::decide_traced`).

// A test fails by panicking, as in the unit tests of src/.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

use readmit::Engine;
use readmit::eval;

const SCHEMA: &str = "schema Case {
  id: text 1..64
  items: list of country
  route: list of country
  decision_date: date
}
";

/// A policy whose one rule reads `inner`, a let with a quantifier of its own, first from inside
/// the body of another quantifier.
const POLICY: &str = r#"policy lets version 2020-01-01
in force from 2020-01-01
basis "A test of lets read inside quantifiers."
schema Case from "schema.policy"
as of case.decision_date

let inner = all r in case.route: r in [SY, IQ]

outcome yes
outcome no

rule inside:
  when any x in case.items: inner and x == NO
  then yes
  because "Some item is NO and every country of the route is SY or IQ."
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
fn outcome(engine: &Engine, items: &str, route: &str) -> String {
    let record = format!(
        r#"{{"id":"a","items":{items},"route":{route},"decision_date":"2020-02-01"}}"#
    );
    let case = engine.read_json(&record, 1).unwrap();
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
    assert_eq!(outcome(&engine, r#"["NO"]"#, r#"["SY"]"#), "yes");
    assert_eq!(outcome(&engine, r#"["SY", "NO"]"#, r#"["IQ", "SY"]"#), "yes");
    // `inner` does not hold (RU is not in the set), though `x` would be.
    assert_eq!(outcome(&engine, r#"["NO"]"#, r#"["SY", "RU"]"#), "no");
    assert_eq!(outcome(&engine, r#"["SY"]"#, r#"["SY"]"#), "no");
}
