//! The per-case cost of each stage, on the Storskog policy: reading one record, deciding one
//! case by each version, and writing one decision. Run with `cargo bench --bench stages`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use readmit::engine::{Engine, EvalOptions, VersionChoice};
use readmit::eval;
use readmit::report::JsonTemplates;

/// A v3 resident with a valid multi-entry visa: the longest path through the rules.
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
    for (index, program) in engine.policy.programs.iter().enumerate() {
        c.bench_function(&format!("decide one case by {}", program.version), |b| {
            b.iter(|| eval::decide(program, index, black_box(&case)))
        });
    }
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
