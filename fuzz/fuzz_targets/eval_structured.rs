//! Valid Storskog records, built from structured fuzz input, decided by every version.
//!
//! The generator makes only valid records (so reading must succeed), with dates anywhere in
//! 0000-01-01..=9999-12-31 and often on or next to a version boundary. Invariants:
//! - every version, forced, gives exactly one decision, of that version, by one of its rules;
//! - in force, a case gets the decision of the version whose span holds its decision date, or
//!   `no_version_in_force` when the date is before the first version;
//! - `russian_national` is the first rule of every version: when it does not decide, the
//!   applicant is not Russian;
//! - a capped decision of one case alone is granted (`queue_position` is `None`), alone and in a
//!   batch of one.
#![no_main]

#[path = "shared/storskog.rs"]
mod storskog;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use readmit::cases::ErrorKind;
use readmit::dates::{Date, format_date, parse_date};
use readmit::{EvalOptions, Record, VersionChoice};
use serde_json::{Map, Value, json};

/// Countries the rules name (RU, the war zones), neighbours on the route, and a few others.
const COUNTRIES: &[&str] = &[
    "RU", "SY", "IQ", "AF", "YE", "SO", "LY", "SS", "NO", "FI", "TR", "LB", "IR", "PK", "ER", "CN",
    "UA", "BY", "GE", "AM", "AZ", "KZ", "UZ", "TJ", "IN", "BD", "NG", "ET", "SD", "PS", "JO", "EG",
];

/// Days worth hitting: the ends of the date range, the version boundaries, leap days.
const DAYS: &[&str] = &[
    "0000-01-01",
    "0000-02-29",
    "0000-12-31",
    "0001-01-01",
    "1999-12-31",
    "2000-02-29",
    "2014-11-25",
    "2014-11-26",
    "2015-01-01",
    "2015-02-03",
    "2015-11-25",
    "2015-11-26",
    "2015-11-27",
    "2015-12-31",
    "2016-01-01",
    "2016-01-21",
    "2016-01-22",
    "2016-01-23",
    "2016-02-02",
    "2016-02-03",
    "2016-02-04",
    "2016-02-28",
    "2016-02-29",
    "2016-03-01",
    "2017-02-03",
    "9998-12-31",
    "9999-01-01",
    "9999-12-30",
    "9999-12-31",
];

#[derive(Debug, Clone, Copy)]
struct Day(Date);

impl<'a> Arbitrary<'a> for Day {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let text = match u.int_in_range(0u8..=3)? {
            // A day of interest.
            0 | 1 => (*u.choose(DAYS)?).to_string(),
            // A day near 2015–2016, within a few years of the versions.
            2 => {
                let year = u.int_in_range(2013i16..=2018)?;
                let month = u.int_in_range(1i8..=12)?;
                let day = u.int_in_range(1i8..=31)?;
                format!("{year:04}-{month:02}-{day:02}")
            }
            // Any day of the range.
            _ => {
                let year = u.int_in_range(0i16..=9999)?;
                let month = u.int_in_range(1i8..=12)?;
                let day = u.int_in_range(1i8..=31)?;
                format!("{year:04}-{month:02}-{day:02}")
            }
        };
        // A day past the end of its month moves to the month's last day.
        let date = match parse_date(&text) {
            Some(date) => date,
            None => {
                let first = text.get(..8).unwrap_or("0000-01-").to_string() + "01";
                let first = parse_date(&first).ok_or(arbitrary::Error::IncorrectFormat)?;
                first.last_of_month()
            }
        };
        Ok(Day(date))
    }
}

impl Day {
    fn json(self) -> Value {
        Value::String(format_date(self.0))
    }
}

#[derive(Debug, Clone, Copy)]
struct Code(&'static str);

impl<'a> Arbitrary<'a> for Code {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Code(u.choose(COUNTRIES)?))
    }
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Status {
    Permanent,
    Temporary,
    Expired,
}

#[derive(Debug, Clone, Copy, Arbitrary)]
enum VisaType {
    SingleEntry,
    DoubleEntry,
    MultiEntry,
    Work,
    Tourist,
}

/// An optional field: absent, `null`, or a value.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Opt<T> {
    Absent,
    Null,
    Some(T),
}

#[derive(Debug, Arbitrary)]
struct Input {
    id: String,
    nationality: Code,
    entry_date: Day,
    origin: Code,
    route: Vec<Code>,
    direct_from_war_zone: bool,
    residence: Opt<(Status, Day)>,
    visa: Opt<(VisaType, Day)>,
    special_connection: bool,
    refoulement_risk: Opt<bool>,
    decision_date: Day,
    /// Write the fields in another order.
    reversed: bool,
}

impl Input {
    fn id(&self) -> String {
        let id: String = self.id.chars().take(64).collect();
        if id.is_empty() { "F-1".into() } else { id }
    }

    fn record(&self) -> Value {
        let mut fields: Vec<(&str, Value)> = vec![
            ("id", Value::String(self.id())),
            ("nationality", json!(self.nationality.0)),
            ("entry_date", self.entry_date.json()),
            (
                "travel",
                json!({
                    "origin": self.origin.0,
                    "route": self.route.iter().take(6).map(|c| c.0).collect::<Vec<_>>(),
                    "direct_from_war_zone": self.direct_from_war_zone,
                }),
            ),
            ("special_connection", Value::Bool(self.special_connection)),
            ("decision_date", self.decision_date.json()),
        ];
        match self.residence {
            Opt::Absent => {}
            Opt::Null => fields.push(("russian_residence", Value::Null)),
            Opt::Some((status, since)) => {
                let status = match status {
                    Status::Permanent => "permanent",
                    Status::Temporary => "temporary",
                    Status::Expired => "expired",
                };
                fields.push((
                    "russian_residence",
                    json!({"status": status, "since": since.json()}),
                ));
            }
        }
        match self.visa {
            Opt::Absent => {}
            Opt::Null => fields.push(("visa", Value::Null)),
            Opt::Some((kind, until)) => {
                let kind = match kind {
                    VisaType::SingleEntry => "single_entry",
                    VisaType::DoubleEntry => "double_entry",
                    VisaType::MultiEntry => "multi_entry",
                    VisaType::Work => "work",
                    VisaType::Tourist => "tourist",
                };
                fields.push(("visa", json!({"type": kind, "valid_until": until.json()})));
            }
        }
        match self.refoulement_risk {
            Opt::Absent => {}
            Opt::Null => fields.push(("refoulement_risk", Value::Null)),
            Opt::Some(risk) => fields.push(("refoulement_risk", Value::Bool(risk))),
        }
        if self.reversed {
            fields.reverse();
        }
        let mut map = Map::new();
        for (name, value) in fields {
            map.insert(name.to_string(), value);
        }
        Value::Object(map)
    }
}

fuzz_target!(|input: Input| {
    let engine = storskog::engine();
    let record = input.record();
    let text = record.to_string();
    let case = match engine.read_json(&text, 1) {
        Ok(case) => case,
        Err(error) => panic!("a valid record was refused: {error:?}\n{text}"),
    };
    let ids = engine.version_ids();
    let mut forced = Vec::new();
    for (index, id) in ids.iter().enumerate() {
        let record = engine.decide(
            &case,
            EvalOptions {
                choice: VersionChoice::Forced(index),
                explain: false,
            },
        );
        let Record::Decision(decision) = record else {
            panic!("version {id} forced gave no decision: {record:?}\n{text}");
        };
        assert_eq!(&*decision.version, id.as_str(), "{text}");
        let Some(version) = engine.checked.versions.get(index) else {
            panic!("version {index} is not in the checked policy");
        };
        assert!(
            &*decision.rule == "otherwise"
                || version.rules.iter().any(|r| r.name == *decision.rule),
            "rule {} is not a rule of version {id}\n{text}",
            decision.rule
        );
        if &*decision.rule != "russian_national" {
            assert_ne!(
                input.nationality.0, "RU",
                "a Russian not decided by russian_national\n{text}"
            );
        }
        if decision.cap.is_some() {
            assert_eq!(
                decision.queue_position, None,
                "one case alone waits for a place\n{text}"
            );
        }
        forced.push(decision);
    }
    // In force: the version whose span holds the decision date.
    let day = input.decision_date.0;
    let in_force = engine
        .checked
        .versions
        .iter()
        .rposition(|v| v.from <= day && v.until.is_none_or(|until| day <= until));
    match (engine.decide(&case, EvalOptions::default()), in_force) {
        (Record::Decision(decision), Some(index)) => {
            let Some(expected) = forced.get(index) else {
                panic!("no forced decision for version {index}");
            };
            assert_eq!(decision, *expected, "in force differs from forced\n{text}");
        }
        (Record::Error(error), None) => {
            assert_eq!(error.kind, ErrorKind::NoVersionInForce, "{error:?}\n{text}");
        }
        (record, expected) => {
            panic!("in force (expected version {expected:?}) gave {record:?}\n{text}")
        }
    }
    // A batch of one: caps are allocated, and one case alone always gets its place.
    let batch = engine.decide_values([&record], EvalOptions::default());
    assert_eq!(batch.len(), 1, "{text}");
    if let Some(Record::Decision(decision)) = batch.first() {
        if decision.cap.is_some() {
            assert_eq!(
                decision.queue_position, None,
                "one case alone waits for a place\n{text}"
            );
        }
    }
});
