//! `eval::decide` (the fast path of a batch) and `eval::decide_traced` (the `--explain` path)
//! give the same decision for every case and every version, on both shipped policies: generated
//! cases (proptest, optional fields dropped or present, dates around the versions' dates) and the
//! realistic Storskog cases of the benchmark.

#![allow(clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

use readmit::Engine;
use readmit::eval;

fn load(policy: &str) -> Engine {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(policy);
    Engine::load(&path).unwrap_or_else(|d| panic!("policies/{policy} does not load: {d:?}"))
}

fn storskog() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| load("storskog"))
}

fn voluntary() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| load("voluntary"))
}

/// Decides a record by every version, both ways, and insists they agree.
fn agree(engine: &Engine, record: &Value) {
    let text = record.to_string();
    let case = engine
        .read_json(&text, 1)
        .unwrap_or_else(|e| panic!("a generated record does not read: {e:?}\n{text}"));
    for (index, program) in engine.policy.programs.iter().enumerate() {
        let fast = eval::decide(program, index, &case);
        let (traced, _) = eval::decide_traced(program, index, &case);
        assert_eq!(fast, traced, "version {}: {text}", program.version);
    }
}

// ---- generated values ------------------------------------------------------------------------

const COUNTRIES: &[&str] = &[
    "SY", "IQ", "AF", "YE", "SO", "LY", "SS", "RU", "LB", "IR", "TR", "NO", "UA", "ER", "PK",
];

fn country() -> impl Strategy<Value = Value> {
    prop::sample::select(COUNTRIES).prop_map(|c| json!(c))
}

/// A date around the versions of both policies (2015-09-01 to 2016-04-25), before them too;
/// month ends included, for the anniversary rule of `years`.
fn date() -> impl Strategy<Value = Value> {
    (2012i32..=2017, 1u32..=12, 1u32..=31).prop_map(|(y, m, d)| {
        let last = match m {
            2 if y % 4 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        json!(format!("{y}-{m:02}-{:02}", d.min(last)))
    })
}

fn word(words: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::sample::select(words).prop_map(|w| json!(w))
}

/// Sets `field` of an object to `value`, or leaves it out when there is none.
fn put(record: &mut Value, field: &str, value: Option<Value>) {
    if let (Some(object), Some(value)) = (record.as_object_mut(), value) {
        object.insert(field.to_string(), value);
    }
}

fn storskog_record() -> impl Strategy<Value = Value> {
    let travel = (
        country(),
        prop::collection::vec(country(), 0..5),
        any::<bool>(),
    )
        .prop_map(|(origin, route, direct)| {
            json!({"origin": origin, "route": route, "direct_from_war_zone": direct})
        });
    let residence = prop::option::of(
        (word(&["permanent", "temporary", "expired"]), date())
            .prop_map(|(status, since)| json!({"status": status, "since": since})),
    );
    let visa = prop::option::of(
        (
            word(&[
                "single_entry",
                "double_entry",
                "multi_entry",
                "work",
                "tourist",
            ]),
            date(),
        )
            .prop_map(|(kind, until)| json!({"type": kind, "valid_until": until})),
    );
    (
        (country(), date(), travel, residence),
        (visa, any::<bool>(), prop::option::of(any::<bool>()), date()),
    )
        .prop_map(
            |((nationality, entry, travel, residence), (visa, special, risk, decision))| {
                let mut record = json!({
                    "id": "SK-1",
                    "nationality": nationality,
                    "entry_date": entry,
                    "travel": travel,
                    "special_connection": special,
                    "decision_date": decision,
                });
                put(&mut record, "russian_residence", residence);
                put(&mut record, "visa", visa);
                put(&mut record, "refoulement_risk", risk.map(Value::Bool));
                record
            },
        )
}

fn voluntary_record() -> impl Strategy<Value = Value> {
    let household = (1i64..=20, 0i64..=20).prop_map(|(a, c)| json!({"adults": a, "children": c}));
    (
        (country(), country(), household),
        (
            word(&["no_claim", "pending", "withdrawn", "final_rejection"]),
            prop::option::of(date()),
            prop::option::of(date()),
            date(),
        ),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(any::<bool>()),
        ),
    )
        .prop_map(
            |(
                (nationality, return_country, household),
                (claim, claim_date, deadline, application),
                (previous, visa_exempt, convicted, dublin, fast),
            )| {
                let mut record = json!({
                    "id": "VR-1",
                    "nationality": nationality,
                    "return_country": return_country,
                    "household": household,
                    "claim_status": claim,
                    "application_date": application,
                    "previous_application": previous,
                    "visa_exempt": visa_exempt,
                    "convicted": convicted,
                    "dublin": dublin,
                });
                put(&mut record, "asylum_claim_date", claim_date);
                put(&mut record, "departure_deadline", deadline);
                put(&mut record, "procedure_48h", fast.map(Value::Bool));
                record
            },
        )
}

proptest! {
    #![proptest_config(Config { cases: 2000, ..Config::default() })]

    #[test]
    fn storskog_decide_agrees_with_decide_traced(record in storskog_record()) {
        agree(storskog(), &record);
    }

    #[test]
    fn voluntary_decide_agrees_with_decide_traced(record in voluntary_record()) {
        agree(voluntary(), &record);
    }
}

#[test]
fn realistic_storskog_cases_agree() {
    let sample = include_str!("../benches/storskog-cases.jsonl");
    let mut count = 0;
    for line in sample.lines() {
        let record: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("the benchmark's sample is not JSON Lines: {e}"));
        agree(storskog(), &record);
        count += 1;
    }
    assert_eq!(count, 600);
}
