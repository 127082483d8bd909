//! The typed-parse floor of the performance table: read a Storskog JSON Lines file into a
//! derived struct with borrowed strings and do nothing else. `scripts/bench.sh` runs it.

use std::io::{BufRead, BufReader};

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Travel<'a> {
    #[serde(borrow)]
    origin: &'a str,
    #[serde(borrow)]
    route: Vec<&'a str>,
    direct_from_war_zone: bool,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Residence<'a> {
    status: &'a str,
    since: &'a str,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Visa<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    valid_until: &'a str,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Case<'a> {
    id: &'a str,
    nationality: &'a str,
    entry_date: &'a str,
    #[serde(borrow)]
    travel: Travel<'a>,
    #[serde(borrow)]
    russian_residence: Option<Residence<'a>>,
    #[serde(borrow)]
    visa: Option<Visa<'a>>,
    special_connection: bool,
    refoulement_risk: Option<bool>,
    decision_date: &'a str,
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: floor CASES.jsonl");
        std::process::exit(2);
    };
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("cannot open {path}");
        std::process::exit(2);
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = String::new();
    let (mut ok, mut bad) = (0u64, 0u64);
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        match serde_json::from_str::<Case<'_>>(line.trim_end()) {
            Ok(case) => {
                std::hint::black_box(&case);
                ok += 1;
            }
            Err(_) => bad += 1,
        }
        line.clear();
    }
    println!("{ok} parsed, {bad} failed");
}
