//! The fast path against the serde path: whatever the fast path reads, the serde path reads the
//! same, and `parse_json_record` as a whole answers exactly as the serde path alone.
//!
//! Records are valid Storskog and voluntary-return records (the latter has ints), then mutated
//! at the level of fields (dropped, duplicated, renamed, given another value) and of bytes
//! (escapes, numbers, whitespace, stray punctuation, non-ASCII text, truncation).

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::json;

use super::{fast, parse_json_record, read_with_serde};
use crate::compile::Value;
use crate::engine::Engine;

fn engine(name: &str) -> Engine {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies")
        .join(name);
    Engine::load(&path).unwrap_or_else(|d| panic!("policies/{name} does not load: {d:?}"))
}

fn storskog() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| engine("storskog"))
}

fn voluntary() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| engine("voluntary"))
}

/// Reads `text` both ways and holds the fast path to the serde path. Returns whether the fast
/// path read it.
fn same_reading(engine: &Engine, text: &str) -> bool {
    let shape = engine.shape();
    let serde = read_with_serde(text, 7, shape);
    let fast = fast::read_well_formed(text.as_bytes(), 7, shape, &mut None);
    if let Some(case) = &fast {
        assert_eq!(
            Ok(case),
            serde.as_ref(),
            "the fast path read {text:?} otherwise than the serde path"
        );
        // Slots reused from another case read the same as new ones: nothing of it is left.
        let mut spare = Some(vec![Value::Int(-1); case.slots.len()].into_boxed_slice());
        let reused = fast::read_well_formed(text.as_bytes(), 7, shape, &mut spare);
        assert_eq!(
            reused.as_ref(),
            Some(case),
            "{text:?} read into reused slots"
        );
        assert!(spare.is_none(), "slots of the right size are taken");
    }
    assert_eq!(
        parse_json_record(text, 7, shape),
        serde,
        "parse_json_record({text:?}) differs from the serde path"
    );
    fast.is_some()
}

/// A record as its fields' keys and JSON texts, so that keys can repeat.
type Fields = Vec<(String, String)>;

const COUNTRIES: &[&str] = &["SY", "IQ", "AF", "RU", "LB", "IR", "TR", "NO", "AL", "ER"];

fn country() -> impl Strategy<Value = serde_json::Value> {
    prop::sample::select(COUNTRIES).prop_map(|c| json!(c))
}

fn date() -> impl Strategy<Value = serde_json::Value> {
    (1999i32..=2017, 1u32..=12, 1u32..=31).prop_map(|(y, m, d)| {
        // Day 29 to 31 of a short month is invalid; keep valid records valid.
        let d = if m == 2 { d.min(28) } else { d.min(30) };
        json!(format!("{y}-{m:02}-{d:02}"))
    })
}

fn words(words: &'static [&'static str]) -> impl Strategy<Value = serde_json::Value> {
    prop::sample::select(words).prop_map(|w| json!(w))
}

/// An id of 1 to 64 characters, some of them not ASCII.
fn id() -> BoxedStrategy<serde_json::Value> {
    "[A-Za-z0-9é€ -]{1,64}".prop_map(|s| json!(s)).boxed()
}

/// An id, or one too short or too long, near the limits.
fn any_id() -> BoxedStrategy<serde_json::Value> {
    prop_oneof![
        id(),
        "[a-zé€]{62,66}".prop_map(|s| json!(s)),
        Just(json!(""))
    ]
    .boxed()
}

/// A household count of the voluntary schema (1..20 adults, 0..20 children).
fn count() -> BoxedStrategy<String> {
    (0i64..=20).prop_map(|n| n.to_string()).boxed()
}

/// An int's text, valid JSON or not, in range or not.
fn any_count() -> BoxedStrategy<String> {
    prop_oneof![
        count(),
        (-3i64..25).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "-?[0-9]{1,22}",
        prop::sample::select(SNIPPETS).prop_map(str::to_string),
    ]
    .boxed()
}

fn storskog_fields(id: BoxedStrategy<serde_json::Value>) -> impl Strategy<Value = Fields> {
    let route = prop::collection::vec(country(), 0..5).prop_map(serde_json::Value::Array);
    let travel = (country(), route, any::<bool>()).prop_map(|(origin, route, direct)| {
        json!({"origin": origin, "route": route, "direct_from_war_zone": direct})
    });
    let residence = prop::option::of(
        (words(&["permanent", "temporary", "expired"]), date())
            .prop_map(|(status, since)| json!({"status": status, "since": since})),
    );
    let visa = prop::option::of(
        (
            words(&[
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
        (id, country(), date(), travel),
        (
            residence,
            visa,
            any::<bool>(),
            prop::option::of(any::<bool>()),
            date(),
        ),
        any::<bool>(), // optional fields written as null rather than left out
    )
        .prop_map(
            |(
                (id, nationality, entry, travel),
                (residence, visa, special, risk, decision),
                nulls,
            )| {
                let mut fields = vec![
                    ("id", id),
                    ("nationality", nationality),
                    ("entry_date", entry),
                    ("travel", travel),
                ];
                let optional = |value: Option<serde_json::Value>| match value {
                    Some(v) => Some(v),
                    None if nulls => Some(serde_json::Value::Null),
                    None => None,
                };
                if let Some(v) = optional(residence) {
                    fields.push(("russian_residence", v));
                }
                if let Some(v) = optional(visa) {
                    fields.push(("visa", v));
                }
                fields.push(("special_connection", json!(special)));
                if let Some(v) = optional(risk.map(|r| json!(r))) {
                    fields.push(("refoulement_risk", v));
                }
                fields.push(("decision_date", decision));
                fields
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            },
        )
}

fn voluntary_fields(
    id: BoxedStrategy<serde_json::Value>,
    count: BoxedStrategy<String>,
) -> impl Strategy<Value = Fields> {
    (
        (id, country(), country(), count.clone(), count),
        words(&["no_claim", "pending", "withdrawn", "final_rejection"]),
        (prop::option::of(date()), prop::option::of(date()), date()),
        prop::array::uniform4(any::<bool>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(
                (id, nationality, return_country, adults, children),
                claim,
                (claim_date, deadline, application),
                [previous, exempt, convicted, dublin],
                fast_track,
            )| {
                let mut fields = vec![
                    ("id", id),
                    ("nationality", nationality),
                    ("return_country", return_country),
                    ("household", json!(null)),
                    ("claim_status", claim),
                ];
                if let Some(d) = claim_date {
                    fields.push(("asylum_claim_date", d));
                }
                if let Some(d) = deadline {
                    fields.push(("departure_deadline", d));
                }
                fields.push(("application_date", application));
                let household = format!("{{\"adults\":{adults},\"children\":{children}}}");
                fields.push(("previous_application", json!(previous)));
                fields.push(("visa_exempt", json!(exempt)));
                fields.push(("convicted", json!(convicted)));
                fields.push(("dublin", json!(dublin)));
                if let Some(f) = fast_track {
                    fields.push(("procedure_48h", json!(f)));
                }
                fields
                    .into_iter()
                    .map(|(k, v)| match k {
                        "household" => (k.to_string(), household.clone()),
                        _ => (k.to_string(), v.to_string()),
                    })
                    .collect()
            },
        )
}

/// Insignificant whitespace, and some that serde_json does not take for it.
const WHITESPACE: &[&str] = &["", "", "", " ", "\n", "\t", "\r\n", "  ", "\u{a0}", "\u{c}"];

/// Texts that are JSON values, or almost: for a field's value or spliced anywhere.
const SNIPPETS: &[&str] = &[
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1",
    "-1",
    "01",
    "-",
    "20",
    "21",
    "2.0",
    "1e2",
    "1E2",
    "2.5",
    "99999999999999999999",
    "9223372036854775807",
    "-9223372036854775808",
    "999999999999999999",
    "\"\"",
    "\"x\"",
    "\"éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééx\"",
    "\"ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééx\"",
    "\"SY\"",
    "\"sy\"",
    "\"ZZ\"",
    "\"S\\u0059\"",
    "\"\\u0041\"",
    "\"\\\"\"",
    "\"a\\nb\"",
    "\"\u{1}\"",
    "\"2016-02-29\"",
    "\"2015-02-29\"",
    "\"2016-13-01\"",
    "\"work\"",
    "\"Work\"",
    "\"permanent\"",
    "\"é\"",
    "\"日本\"",
    "[]",
    "[\"SY\"]",
    "[\"SY\",]",
    "[null]",
    "[1]",
    "[[]]",
    "{}",
    "{\"a\":1}",
    "{\"adults\":1,\"children\":0}",
    "{\"status\":\"expired\",\"since\":\"2014-01-01\"}",
    "tru",
    "nul",
    ",",
    ":",
    "}",
    "]",
    "{",
    "[",
    "\"",
    "\\",
    " ",
    "\u{feff}",
];

const KEYS: &[&str] = &[
    "id",
    "ID",
    "visa",
    "type",
    "status",
    "route",
    "adults",
    "children",
    "household",
    "unknown",
    "i\\u0064",
    "",
    "é",
];

#[derive(Debug, Clone)]
enum Mutation {
    Drop(Index),
    Duplicate(Index),
    Rename(Index, &'static str),
    Replace(Index, &'static str),
    /// Replaces the value after the nth key at any depth, up to the next `,`, `}` or `]`.
    ReplaceNested(Index, &'static str),
    /// Replaces a few bytes of the text (at a character boundary) by a snippet.
    Splice(Index, usize, &'static str),
    Truncate(Index),
    /// Adds a snippet after the record.
    Append(&'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Drop),
        any::<Index>().prop_map(Mutation::Duplicate),
        (any::<Index>(), prop::sample::select(KEYS)).prop_map(|(i, k)| Mutation::Rename(i, k)),
        (any::<Index>(), prop::sample::select(SNIPPETS)).prop_map(|(i, s)| Mutation::Replace(i, s)),
        (any::<Index>(), prop::sample::select(SNIPPETS))
            .prop_map(|(i, s)| Mutation::ReplaceNested(i, s)),
        (
            any::<Index>(),
            0usize..3,
            prop::sample::select(SNIPPETS).prop_union(prop::sample::select(WHITESPACE))
        )
            .prop_map(|(i, n, s)| Mutation::Splice(i, n, s)),
        any::<Index>().prop_map(Mutation::Truncate),
        prop::sample::select(SNIPPETS)
            .prop_union(prop::sample::select(WHITESPACE))
            .prop_map(Mutation::Append),
    ]
}

/// The record's text: each field, with whitespace where JSON allows it.
fn render(fields: &Fields, space: &[&str]) -> String {
    let gap = |n: usize| space.get(n % space.len().max(1)).copied().unwrap_or("");
    let mut text = String::from(gap(0));
    text.push('{');
    for (n, (key, value)) in fields.iter().enumerate() {
        if n > 0 {
            text.push(',');
        }
        text.push_str(gap(n + 1));
        text.push_str(&format!("\"{key}\""));
        text.push_str(gap(n + 2));
        text.push(':');
        text.push_str(gap(n + 3));
        text.push_str(value);
        text.push_str(gap(n + 4));
    }
    text.push('}');
    text.push_str(gap(fields.len() + 5));
    text
}

fn mutate(mut fields: Fields, space: &[&str], mutations: &[Mutation]) -> String {
    let mut splices = Vec::new();
    for mutation in mutations {
        let len = fields.len().max(1);
        match mutation {
            Mutation::Drop(i) if !fields.is_empty() => {
                fields.remove(i.index(len));
            }
            Mutation::Duplicate(i) if !fields.is_empty() => {
                let field = fields[i.index(len)].clone();
                fields.push(field);
            }
            Mutation::Rename(i, key) if !fields.is_empty() => {
                fields[i.index(len)].0 = (*key).to_string();
            }
            Mutation::Replace(i, value) if !fields.is_empty() => {
                fields[i.index(len)].1 = (*value).to_string();
            }
            _ => splices.push(mutation.clone()),
        }
    }
    let mut text = render(&fields, space);
    for splice in splices {
        let boundaries: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        match splice {
            Mutation::Splice(at, remove, snippet) => {
                let start = boundaries[at.index(boundaries.len())];
                let end = text[start..]
                    .char_indices()
                    .nth(remove)
                    .map_or(text.len(), |(i, _)| start + i);
                text.replace_range(start..end, snippet);
            }
            Mutation::Truncate(at) => text.truncate(boundaries[at.index(boundaries.len())]),
            Mutation::Append(snippet) => text.push_str(snippet),
            Mutation::ReplaceNested(at, snippet) => {
                let keys: Vec<usize> = text.match_indices("\":").map(|(i, _)| i + 2).collect();
                if keys.is_empty() {
                    continue;
                }
                let start = keys[at.index(keys.len())];
                let end = text[start..]
                    .find([',', '}', ']'])
                    .map_or(text.len(), |i| start + i);
                text.replace_range(start..end, snippet);
            }
            _ => {}
        }
    }
    text
}

fn space() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(WHITESPACE), 1..6)
}

proptest! {
    #![proptest_config(Config::with_cases(400))]

    #[test]
    fn a_valid_storskog_record_takes_the_fast_path(fields in storskog_fields(id()), space in space()) {
        let valid_space: Vec<&str> = space
            .into_iter()
            .filter(|s| s.chars().all(|c| matches!(c, ' ' | '\n' | '\t' | '\r')))
            .collect();
        let text = render(&fields, &valid_space);
        prop_assert!(same_reading(storskog(), &text), "the fast path gave up on {text:?}");
    }

    #[test]
    fn a_valid_voluntary_record_takes_the_fast_path(
        fields in voluntary_fields(id(), count()),
    ) {
        let text = render(&fields, &[""]);
        // `adults: 0` is out of range; the serde path says so.
        if text.contains("\"adults\":0") {
            return Ok(());
        }
        prop_assert!(same_reading(voluntary(), &text), "the fast path gave up on {text:?}");
    }
}

proptest! {
    #![proptest_config(Config::with_cases(3000))]

    #[test]
    fn a_mutated_storskog_record_reads_as_the_serde_path_reads_it(
        fields in storskog_fields(any_id()),
        space in space(),
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        same_reading(storskog(), &mutate(fields, &space, &mutations));
    }

    #[test]
    fn a_mutated_voluntary_record_reads_as_the_serde_path_reads_it(
        fields in voluntary_fields(any_id(), any_count()),
        space in space(),
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        same_reading(voluntary(), &mutate(fields, &space, &mutations));
    }
}
