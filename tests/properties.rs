//! Properties of a batch run, over generated Storskog batches (proptest, 64 batches of 0–300
//! lines each): valid records drawn from the schema's values, records with a field dropped or of
//! a wrong type, garbage lines (any bytes, invalid UTF-8 among them) and blank lines.
//!
//! 1. Every line that is not blank gets exactly one output record, a decision or an error, in
//!    input order, with its physical line number.
//! 2. The output is the same, byte for byte, on one thread and on two.
//! 3. Records fed in chunks of random sizes give the same output as in one chunk.
//! 4. The records mode of the library (`RecordSink::record`) agrees with the rendered mode of the
//!    command line (`RecordSink::rendered`): each record serialized is the rendered line.
//!
//! The library is driven directly (`BatchRun`, `read_batch` over an in-memory cursor), not the
//! binary, to keep this fast.

#![allow(clippy::panic, clippy::indexing_slicing)]

use std::io::{self, Cursor};
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

use readmit::caps::NoLedger;
use readmit::engine::{BatchRun, InputFormat, RawRecord, RecordSink, Tally, read_batch};
use readmit::{Engine, EvalOptions, Record};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/storskog");
        Engine::load(&path).unwrap_or_else(|d| panic!("policies/storskog does not load: {d:?}"))
    })
}

// ---- generated batches ----------------------------------------------------------------------

const COUNTRIES: &[&str] = &[
    "SY", "IQ", "AF", "YE", "SO", "LY", "SS", "RU", "LB", "IR", "TR", "NO", "UA", "ER",
];

fn country() -> impl Strategy<Value = Value> {
    prop::sample::select(COUNTRIES).prop_map(|c| json!(c))
}

/// A date around the three versions (2015-11-26, 2016-01-22, 2016-02-03), before them too.
fn date() -> impl Strategy<Value = Value> {
    (2013i32..=2017, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| json!(format!("{y}-{m:02}-{d:02}")))
}

fn one_of_words(words: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::sample::select(words).prop_map(|w| json!(w))
}

/// A valid Storskog case record. Ids come from a small pool, so that some repeat.
fn valid_record() -> impl Strategy<Value = Value> {
    let route = (
        prop::collection::vec(country(), 0..4),
        any::<bool>(), // ends in Russia
    )
        .prop_map(|(mut route, to_russia)| {
            if to_russia {
                route.push(json!("RU"));
            }
            Value::Array(route)
        });
    let travel = (country(), route, any::<bool>())
        .prop_map(|(origin, route, direct)| json!({"origin": origin, "route": route, "direct_from_war_zone": direct}));
    let residence = prop::option::of(
        (one_of_words(&["permanent", "temporary", "expired"]), date())
            .prop_map(|(status, since)| json!({"status": status, "since": since})),
    );
    let visa = prop::option::of(
        (
            one_of_words(&[
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
        "[A-Z]{2}-[0-9]{1,2}",
        country(),
        date(),
        travel,
        residence,
        visa,
        any::<bool>(),
        prop::option::of(any::<bool>()),
        date(),
    )
        .prop_map(
            |(id, nationality, entry, travel, residence, visa, special, risk, decision)| {
                let mut record = serde_json::Map::new();
                record.insert("id".into(), json!(id));
                record.insert("nationality".into(), nationality);
                record.insert("entry_date".into(), entry);
                record.insert("travel".into(), travel);
                if let Some(residence) = residence {
                    record.insert("russian_residence".into(), residence);
                }
                if let Some(visa) = visa {
                    record.insert("visa".into(), visa);
                }
                record.insert("special_connection".into(), json!(special));
                if let Some(risk) = risk {
                    record.insert("refoulement_risk".into(), json!(risk));
                }
                record.insert("decision_date".into(), decision);
                Value::Object(record)
            },
        )
}

/// A value of some JSON type, for a field that wants another (or the same, by chance).
fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z]{0,6}".prop_map(|s| json!(s)),
        Just(json!([1, "SY"])),
        Just(json!({"a": 1})),
    ]
}

/// One line of a batch, as bytes without its line end.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let field = any::<prop::sample::Index>();
    prop_oneof![
        6 => valid_record().prop_map(|r| r.to_string().into_bytes()),
        // A field dropped (required or optional).
        1 => (valid_record(), field.clone()).prop_map(|(mut r, i)| {
            if let Some(map) = r.as_object_mut() {
                let key = map.keys().nth(i.index(map.len())).cloned().unwrap_or_default();
                map.remove(&key);
            }
            r.to_string().into_bytes()
        }),
        // A field of another type.
        1 => (valid_record(), field, any_json()).prop_map(|(mut r, i, value)| {
            if let Some(map) = r.as_object_mut() {
                let key = map.keys().nth(i.index(map.len())).cloned().unwrap_or_default();
                map.insert(key, value);
            }
            r.to_string().into_bytes()
        }),
        // Garbage: any bytes but a line end.
        1 => prop::collection::vec(any::<u8>().prop_filter("no line end", |b| *b != b'\n'), 0..60),
        // Blank: spaces, tabs, a CR.
        1 => "[ \t\r]{0,3}".prop_map(String::into_bytes),
    ]
}

fn batch() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(line(), 0..300)
}

/// The batch as a JSON Lines file, with CRLF line ends or not.
fn file(lines: &[Vec<u8>], crlf: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line);
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    out
}

/// The physical lines that must give a record: those that are not blank (only ASCII white
/// space, once a trailing CR and, on line 1, a byte-order mark are gone).
fn expected_lines(lines: &[Vec<u8>]) -> Vec<u64> {
    let mut expected = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut text: &[u8] = line;
        if i == 0 {
            text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
        }
        if !text.iter().all(u8::is_ascii_whitespace) {
            expected.push(i as u64 + 1);
        }
    }
    expected
}

// ---- running a batch ------------------------------------------------------------------------

/// The rendered mode's output: each record's bytes and a line end, as the command line writes.
#[derive(Default)]
struct Rendered(Vec<u8>);

impl RecordSink for Rendered {
    fn record(&mut self, _: Record) -> io::Result<()> {
        Err(io::Error::other("a rendering run gives bytes"))
    }
    fn rendered(&mut self, bytes: &[u8], _: Tally) -> io::Result<()> {
        self.0.extend_from_slice(bytes);
        self.0.push(b'\n');
        Ok(())
    }
}

/// The records mode's output.
#[derive(Default)]
struct Records(Vec<Record>);

impl RecordSink for Records {
    fn record(&mut self, record: Record) -> io::Result<()> {
        self.0.push(record);
        Ok(())
    }
}

impl Records {
    /// Each record serialized, with a line end: what the rendered mode must have written.
    fn as_json_lines(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for record in &self.0 {
            out.extend(serde_json::to_vec(record).unwrap_or_default());
            out.push(b'\n');
        }
        out
    }
}

/// A run: rendered or not, on `threads` threads.
fn run(rendering: bool, threads: usize) -> BatchRun<'static> {
    let run = BatchRun::new(engine(), EvalOptions::default()).with_threads(threads);
    if rendering { run.rendering_json() } else { run }
}

/// The batch read from an in-memory file by `read_batch`, as the command line reads it.
fn read(bytes: &[u8], sink: &mut dyn RecordSink, rendering: bool, threads: usize) {
    let mut run = run(rendering, threads);
    let mut input = Cursor::new(bytes);
    let read = read_batch(&mut run, &mut input, InputFormat::Jsonl, sink, &|_| {});
    assert!(read.is_ok(), "read_batch fails: {read:?}");
    let finished = run.finish(&NoLedger, sink);
    assert!(finished.is_ok(), "finish fails: {:?}", finished.err());
}

/// The records of a batch as `RawRecord::Json`, the way the reader makes them (lines that are not
/// UTF-8 replaced, as both sides of a comparison get the same).
fn raw_records(lines: &[Vec<u8>]) -> Vec<RawRecord> {
    let wanted = expected_lines(lines);
    wanted
        .iter()
        .map(|&line| {
            let bytes = &lines[line as usize - 1];
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            RawRecord::Json {
                line: line as usize,
                text: String::from_utf8_lossy(bytes).into_owned(),
            }
        })
        .collect()
}

/// The records pushed in chunks of the given sizes (cycled), then the run finished.
fn pushed(records: &[RawRecord], sizes: &[usize], sink: &mut dyn RecordSink, rendering: bool) {
    let mut run = run(rendering, 2);
    let mut rest = records;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let size = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(size);
        let pushed = run.push_chunk(chunk.to_vec(), sink);
        assert!(pushed.is_ok(), "push_chunk fails: {pushed:?}");
        rest = tail;
    }
    let finished = run.finish(&NoLedger, sink);
    assert!(finished.is_ok(), "finish fails: {:?}", finished.err());
}

/// The line of each output record, from the rendered bytes.
fn lines_of(rendered: &[u8]) -> Vec<u64> {
    rendered
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let record: Value = serde_json::from_slice(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(l)));
            assert!(
                record["outcome"].is_string() != record["error"].is_object(),
                "neither a decision nor an error, or both: {record}"
            );
            record["line"].as_u64().unwrap_or(0)
        })
        .collect()
}

fn record_line(record: &Record) -> u64 {
    match record {
        Record::Decision(d) => d.line as u64,
        Record::Error(e) => e.line as u64,
    }
}

proptest! {
    #![proptest_config(Config::with_cases(64))]

    #[test]
    fn every_line_gets_one_record_whatever_the_threads_and_the_mode(
        lines in batch(),
        crlf in any::<bool>(),
    ) {
        let bytes = file(&lines, crlf);
        let expected = expected_lines(&lines);

        let mut one = Rendered::default();
        read(&bytes, &mut one, true, 1);
        prop_assert_eq!(lines_of(&one.0), expected.clone(), "rendered: one record per line, in order");

        let mut two = Rendered::default();
        read(&bytes, &mut two, true, 2);
        prop_assert!(one.0 == two.0, "rendered: 1 and 2 threads differ");

        let mut records_one = Records::default();
        read(&bytes, &mut records_one, false, 1);
        let lines_one: Vec<u64> = records_one.0.iter().map(record_line).collect();
        prop_assert_eq!(lines_one, expected, "records: one record per line, in order");

        let mut records_two = Records::default();
        read(&bytes, &mut records_two, false, 2);
        prop_assert!(records_one.0 == records_two.0, "records: 1 and 2 threads differ");

        let serialized = records_one.as_json_lines();
        prop_assert!(
            serialized == one.0,
            "the records mode and the rendered mode disagree:\n{}\n---\n{}",
            String::from_utf8_lossy(&serialized),
            String::from_utf8_lossy(&one.0)
        );
    }

    #[test]
    fn chunks_of_any_size_give_the_same_output(
        lines in batch(),
        sizes in prop::collection::vec(1usize..400, 1..8),
    ) {
        let records = raw_records(&lines);
        let all = [records.len().max(1)];

        let mut whole = Rendered::default();
        pushed(&records, &all, &mut whole, true);
        let mut chunked = Rendered::default();
        pushed(&records, &sizes, &mut chunked, true);
        prop_assert!(whole.0 == chunked.0, "rendered: chunks of {:?} differ from one chunk", sizes);
        prop_assert_eq!(lines_of(&whole.0), expected_lines(&lines));

        let mut whole_records = Records::default();
        pushed(&records, &all, &mut whole_records, false);
        let mut chunked_records = Records::default();
        pushed(&records, &sizes, &mut chunked_records, false);
        prop_assert!(whole_records.0 == chunked_records.0, "records: chunks of {:?} differ", sizes);
        prop_assert!(whole_records.as_json_lines() == whole.0, "records and rendered modes disagree");
    }
}

/// Caps overflow in the properties only by chance: a batch that fills the Moscow cap (300
/// places) with order keys in every order must give the same bytes in every mode and chunking.
#[test]
fn a_cap_that_overflows_gives_the_same_output_in_every_mode_and_chunking() {
    let mut lines = Vec::new();
    for k in 0..420u32 {
        // Version 3, multiple-entry visa, a year of residence: the Moscow return, capped at 300;
        // decision dates out of order so that the places go by date, then id.
        let record = json!({
            "id": format!("M-{:03}", (k * 7919) % 420),
            "nationality": "SY",
            "entry_date": "2016-01-10",
            "travel": {"origin": "SY", "route": ["SY", "LB", "RU"], "direct_from_war_zone": false},
            "russian_residence": {"status": "permanent", "since": "2013-04-18"},
            "visa": {"type": "multi_entry", "valid_until": "2017-01-01"},
            "special_connection": false,
            "decision_date": format!("2016-02-{:02}", 3 + (k * 13) % 20),
        });
        lines.push(record.to_string().into_bytes());
        if k % 50 == 0 {
            lines.push(b"not json".to_vec());
        }
    }
    let bytes = file(&lines, false);
    let mut one = Rendered::default();
    read(&bytes, &mut one, true, 1);
    let mut two = Rendered::default();
    read(&bytes, &mut two, true, 2);
    assert!(one.0 == two.0, "threads");
    let text = String::from_utf8_lossy(&one.0);
    let waiting = text
        .lines()
        .filter(|l| l.contains("\"queue_position\":1"))
        .count();
    assert!(waiting >= 1, "no record overflowed the cap:\n{text}");
    let mut records = Records::default();
    read(&bytes, &mut records, false, 2);
    assert!(records.as_json_lines() == one.0, "modes");
    let raw = raw_records(&lines);
    for sizes in [&[1usize][..], &[7, 64], &[4096]] {
        let mut chunked = Rendered::default();
        pushed(&raw, sizes, &mut chunked, true);
        assert!(chunked.0 == one.0, "chunks of {sizes:?}");
    }
    assert_eq!(lines_of(&one.0), expected_lines(&lines));
}
