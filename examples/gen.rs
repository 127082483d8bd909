//! A deterministic generator of valid Storskog case records (storskog-policy.md §3), for
//! benchmarks: `cargo run --release --example gen -- 1000000 > cases.jsonl`.
//!
//! The shares follow the period: most applicants Syrian, Afghan or Iraqi; about a third with a
//! Russian residence permit; a quarter with a Russian visa; decisions spread over the three
//! versions. Every record is valid and its `direct_from_war_zone` matches its route. The same
//! count always gives the same file (an optional second argument changes the seed).

use std::io::{self, BufWriter, Write};

/// xorshift64*: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<'a>(&mut self, weighted: &[(&'a str, u64)]) -> &'a str {
        let total: u64 = weighted.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(total);
        for (value, weight) in weighted {
            if roll < *weight {
                return value;
            }
            roll -= weight;
        }
        weighted.first().map_or("SY", |(v, _)| v)
    }
}

const WAR_ZONES: &[&str] = &["SY", "IQ", "AF", "YE", "SO", "LY", "SS"];

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn date(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// 2015-09-01 as a day number.
const SEPT_2015: i64 = 16_679;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2016);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for i in 0..count {
        let nationality = rng.pick(&[
            ("SY", 40),
            ("AF", 22),
            ("IQ", 10),
            ("IR", 5),
            ("PK", 4),
            ("PS", 3),
            ("YE", 3),
            ("SO", 2),
            ("NG", 2),
            ("ER", 2),
            ("BD", 2),
            ("LY", 1),
            ("SS", 1),
            ("RU", 3),
        ]);
        // Most fled their own country; some Afghans fled from Iran.
        let origin = match nationality {
            "AF" if rng.percent(30) => "IR",
            "PS" => "SY",
            other => other,
        };
        let mut route = vec![origin];
        if origin != "RU" {
            match rng.below(10) {
                0..=5 => {}
                6 | 7 => route.push(rng.pick(&[("LB", 3), ("TR", 3), ("EG", 1), ("AE", 1)])),
                _ => route.push(rng.pick(&[("IQ", 2), ("SY", 1), ("IR", 2)])),
            }
            route.push("RU");
        }
        let direct = WAR_ZONES.contains(&origin)
            && route.first() == Some(&origin)
            && route
                .iter()
                .take_while(|c| **c != "RU")
                .all(|c| WAR_ZONES.contains(c))
            && route.contains(&"RU");
        let entry = SEPT_2015 + 14 + rng.below(90) as i64;
        // Decided after the first version came into force (2015-11-26 is day 16_765).
        let decision = (entry + 30 + rng.below(140) as i64).max(16_765 + rng.below(20) as i64);
        let mut record = format!(
            "{{\"id\":\"SK-{:07}\",\"nationality\":\"{nationality}\",\"entry_date\":\"{}\",\"travel\":{{\"origin\":\"{origin}\",\"route\":[{}],\"direct_from_war_zone\":{direct}}}",
            i + 1,
            date(entry),
            route
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        if rng.percent(35) {
            let status = rng.pick(&[("permanent", 45), ("temporary", 45), ("expired", 10)]);
            let since = entry - 60 - rng.below(2200) as i64;
            record.push_str(&format!(
                ",\"russian_residence\":{{\"status\":\"{status}\",\"since\":\"{}\"}}",
                date(since)
            ));
        }
        if rng.percent(25) {
            let kind = rng.pick(&[
                ("multi_entry", 40),
                ("single_entry", 20),
                ("double_entry", 10),
                ("work", 15),
                ("tourist", 15),
            ]);
            let until = decision - 60 + rng.below(400) as i64;
            record.push_str(&format!(
                ",\"visa\":{{\"type\":\"{kind}\",\"valid_until\":\"{}\"}}",
                date(until)
            ));
        }
        record.push_str(&format!(",\"special_connection\":{}", rng.percent(4)));
        if rng.percent(20) {
            record.push_str(&format!(",\"refoulement_risk\":{}", rng.percent(10)));
        }
        record.push_str(&format!(",\"decision_date\":\"{}\"}}\n", date(decision)));
        if out.write_all(record.as_bytes()).is_err() {
            return;
        }
    }
    let _ = out.flush();
}
