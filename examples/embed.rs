//! A program that embeds readmit: load a policy, decide cases given as JSON, print the result.
//!
//! Run it with `cargo run --example embed`.

use std::path::Path;

use readmit::{Engine, EvalOptions, Record, VersionChoice};

fn main() {
    let engine = match Engine::load(Path::new("policies/storskog")) {
        Ok(engine) => engine,
        Err(diagnostics) => {
            eprint!(
                "{}",
                readmit::diagnostics::render(
                    &diagnostics,
                    readmit::diagnostics::ErrorFormat::Plain
                )
            );
            std::process::exit(1);
        }
    };
    let cases = [
        serde_json::json!({
            "id": "EMBED-1", "nationality": "SY", "entry_date": "2015-10-01",
            "travel": {"origin": "SY", "route": ["SY", "RU"], "direct_from_war_zone": true},
            "special_connection": false, "decision_date": "2015-12-01"
        }),
        serde_json::json!({
            "id": "EMBED-2", "nationality": "AF", "entry_date": "2015-11-02",
            "travel": {"origin": "AF", "route": ["AF", "IR", "RU"], "direct_from_war_zone": false},
            "russian_residence": {"status": "permanent", "since": "2011-05-01"},
            "visa": {"type": "multi_entry", "valid_until": "2017-01-01"},
            "special_connection": false, "decision_date": "2016-02-10"
        }),
    ];
    // Every case by the version in force on its own decision date, caps allocated in the batch.
    for record in engine.decide_values(&cases, EvalOptions::default()) {
        print_record(&record);
    }
    // The same cases "as if" the first version applied.
    let as_if = EvalOptions {
        choice: VersionChoice::Forced(0),
        explain: false,
    };
    for record in engine.decide_values(&cases, as_if) {
        print_record(&record);
    }
}

fn print_record(record: &Record) {
    match record {
        Record::Decision(d) => println!(
            "{} [{}] {} by rule {}: {}",
            d.id, d.version, d.outcome, d.rule, d.reason
        ),
        Record::Error(e) => println!("line {}: {} ({})", e.line, e.message, e.kind),
    }
}
