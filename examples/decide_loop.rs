//! Decides the benchmark's Storskog cases by one version, round after round, and prints the time
//! a case: a loop to profile evaluation alone, without criterion's machinery around it.
//!
//! ```text
//! cargo build --release --example decide_loop
//! target/release/examples/decide_loop 2 20000        # version index (0-2), rounds
//! # instructions a case, repeatable where time is not (subtract a run of 0 rounds):
//! valgrind --tool=callgrind target/release/examples/decide_loop 2 300
//! perf record target/release/examples/decide_loop 2 20000
//! ```
//!
//! The cases are those of `benches/storskog-cases.jsonl` in force for the version, as in
//! `cargo bench --bench stages -- eval::decide`.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use readmit::cases::Case;
use readmit::compile::Value;
use readmit::engine::Engine;
use readmit::eval;

const CASES: &str = include_str!("../benches/storskog-cases.jsonl");

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let version: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let engine = match Engine::load(Path::new("policies/storskog")) {
        Ok(engine) => engine,
        Err(_) => {
            eprintln!("run from the repository's root: policies/storskog does not load");
            return ExitCode::FAILURE;
        }
    };
    let Some(program) = engine.policy.programs.get(version) else {
        eprintln!("no version {version}: the Storskog policy has versions 0 to 2");
        return ExitCode::FAILURE;
    };
    let sample: Vec<Case> = CASES
        .lines()
        .enumerate()
        .filter_map(|(line, text)| engine.read_json(text, line + 1).ok())
        .collect();
    let cases: Vec<&Case> = sample
        .iter()
        .filter(|case| match case.slots.get(engine.policy.as_of_slot) {
            Some(Value::Date(day)) => engine.policy.in_force(*day) == Some(version),
            _ => false,
        })
        .collect();
    let start = Instant::now();
    for _ in 0..rounds {
        for case in &cases {
            black_box(eval::decide(program, version, black_box(*case)));
        }
    }
    let decided = (rounds * cases.len()).max(1);
    // Written, not printed: a closed pipe (`| head`) is not worth a panic.
    let written = writeln!(
        std::io::stdout(),
        "{} cases by {}, {:.1} ns a case",
        cases.len(),
        program.version,
        start.elapsed().as_secs_f64() * 1e9 / decided as f64
    );
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
