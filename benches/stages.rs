//! The per-case cost of each stage, on the Storskog policy: reading one record, deciding a case
//! by each version, and writing one decision. Run with `cargo bench --bench stages`.
//!
//! Deciding is measured per version on the cases that version decides in a real run: 200 cases
//! in force for each version, taken in order from `cargo run --example gen 100000`
//! (`storskog-cases.jsonl`). One fixed case would let the branch predictor learn its path and
//! would show one path only; the reported time is per case, averaged over the version's cases.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use readmit::cases::Case;
use readmit::engine::{Engine, EvalOptions, VersionChoice};
use readmit::eval;
use readmit::report::JsonTemplates;

/// A v3 resident with a valid multi-entry visa: the longest path through the rules.
/// Realistic cases: 200 in force for each version, from the example generator.
const CASES: &str = include_str!("storskog-cases.jsonl");

const RECORD: &str = r#"{"id":"SK-0000042","nationality":"AF","entry_date":"2015-10-20","travel":{"origin":"AF","route":["AF","IR","RU"],"direct_from_war_zone":false},"russian_residence":{"status":"permanent","since":"2012-03-01"},"visa":{"type":"multi_entry","valid_until":"2017-01-01"},"special_connection":false,"decision_date":"2016-02-10"}"#;

fn stages(c: &mut Criterion) {
    let engine = match Engine::load(Path::new("policies/storskog")) {
        Ok(engine) => engine,
        Err(_) => return,
    };
    let Ok(case) = engine.read_json(RECORD, 1) else {
        return;
    };
    c.bench_function("read one record", |b| {
        b.iter(|| engine.read_json(black_box(RECORD), 1))
    });
    let sample: Vec<Case> = CASES
        .lines()
        .enumerate()
        .filter_map(|(line, text)| engine.read_json(text, line + 1).ok())
        .collect();
    let mut group = c.benchmark_group("eval::decide");
    for (index, program) in engine.policy.programs.iter().enumerate() {
        let cases: Vec<&Case> = sample
            .iter()
            .filter(|case| {
                case.slots
                    .get(engine.policy.as_of_slot)
                    .and_then(|slot| match slot {
                        readmit::compile::Value::Date(day) => engine.policy.in_force(*day),
                        _ => None,
                    })
                    == Some(index)
            })
            .collect();
        let Ok(count) = u32::try_from(cases.len()) else {
            continue;
        };
        if count == 0 {
            continue;
        }
        group.bench_function(format!("a case by {}", program.version), |b| {
            b.iter_custom(|iterations| {
                let start = Instant::now();
                for _ in 0..iterations {
                    for case in &cases {
                        black_box(eval::decide(program, index, black_box(*case)));
                    }
                }
                // Criterion reports the time of one iteration: make it one case.
                start.elapsed() / count
            })
        });
    }
    group.finish();
    let templates = JsonTemplates::new(&engine.policy);
    let Some(program) = engine.policy.programs.last() else {
        return;
    };
    let decided = eval::decide(program, engine.policy.programs.len() - 1, &case);
    let mut out = Vec::with_capacity(1024);
    c.bench_function("write one decision", |b| {
        b.iter(|| {
            out.clear();
            templates.write(
                &mut out,
                &engine.policy,
                black_box(&case),
                &decided,
                None,
                None,
            );
            out.len()
        })
    });
    let traced = EvalOptions {
        choice: VersionChoice::InForce,
        explain: true,
    };
    c.bench_function("decide one case with --explain", |b| {
        b.iter(|| engine.decide(black_box(&case), traced))
    });
}

criterion_group!(benches, stages);
criterion_main!(benches);
