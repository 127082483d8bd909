//! Arbitrary bytes as the version file of a policy folder beside the Storskog schema:
//! `check_path` must not panic, whatever the file says, and its diagnostics render.
//!
//! When the folder checks clean, the rest of what the command line does with a policy runs
//! too: it compiles into an engine, `readmit check --witnesses` finds its witnesses (each one a
//! record that reads back and that its version, forced, decides by the witness's rule), and
//! `readmit test` runs the tests the file holds and reports their coverage.
//!
//! The folder is made once per process (in the system's temporary folder, named by the process
//! id) and the version file is rewritten for each input.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use readmit::diagnostics::{ErrorFormat, render};
use readmit::{Engine, EvalOptions, Record, VersionChoice};

const SCHEMA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../policies/storskog/schema.policy"
));

fn folder() -> &'static PathBuf {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let folder =
            std::env::temp_dir().join(format!("readmit-fuzz-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).expect("create the temporary policy folder");
        std::fs::write(folder.join("schema.policy"), SCHEMA).expect("write schema.policy");
        folder
    })
}

fn check_witnesses(engine: &Engine) {
    let ids = engine.version_ids();
    for witness in readmit::witness::witnesses(engine) {
        let _ = serde_json::to_string(&witness);
        let Some(case) = &witness.case else {
            continue;
        };
        let text = case.to_string();
        let case = match engine.read_json(&text, 1) {
            Ok(case) => case,
            Err(error) => panic!("a witness does not read back: {error:?}\n{text}"),
        };
        let Some(index) = ids.iter().position(|id| *id == witness.version) else {
            panic!("a witness of an unknown version: {witness:?}");
        };
        let choice = VersionChoice::Forced(index);
        match engine.decide(
            &case,
            EvalOptions {
                choice,
                explain: false,
            },
        ) {
            Record::Decision(decision) => assert_eq!(
                *decision.rule, *witness.rule,
                "the witness of rule {} is decided by {}\n{text}",
                witness.rule, decision.rule
            ),
            Record::Error(error) => panic!("a witness is not decided: {error:?}\n{text}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let folder = folder();
    std::fs::write(folder.join("version.policy"), data).expect("write version.policy");
    let report = readmit::check::check_path(folder);
    // Shown as the command line shows them.
    for format in [ErrorFormat::Human, ErrorFormat::Json] {
        let _ = render(&report.diagnostics, format);
    }
    let Some(policy) = report.policy else {
        return;
    };
    let engine = Engine::from_checked(policy, report.diagnostics);
    check_witnesses(&engine);
    let (results, _) = readmit::testing::run_tests(&engine, None);
    for result in &results {
        if let Some(diagnostic) = &result.diagnostic {
            let _ = render(std::slice::from_ref(diagnostic), ErrorFormat::Human);
        }
    }
    let _ = readmit::testing::coverage(&engine, &results);
});
