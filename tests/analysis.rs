//! Static analysis through the public API and the binary: witnesses that really fire, and
//! unreachable rules reported with the rules that cover them.

#![allow(clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::process::Command;

use readmit::engine::{Engine, EvalOptions, VersionChoice};
use readmit::report::Record;
use readmit::witness::witnesses;

fn load(path: &Path) -> Engine {
    Engine::load(path).unwrap_or_else(|d| {
        panic!(
            "{}",
            readmit::diagnostics::render(&d, readmit::diagnostics::ErrorFormat::Plain)
        )
    })
}

#[test]
fn every_storskog_rule_has_a_witness_that_its_version_decides_by_that_rule() {
    let engine = load(Path::new("policies/storskog"));
    let found = witnesses(&engine);
    let expected_rules: usize = engine
        .checked
        .versions
        .iter()
        .map(|v| v.rules.len() + 1)
        .sum();
    assert_eq!(
        found.len(),
        expected_rules,
        "one witness (or reason) per rule and `otherwise`"
    );
    for witness in &found {
        let case = witness.case.as_ref().unwrap_or_else(|| {
            panic!(
                "no witness for {} {}: {:?}",
                witness.version, witness.rule, witness.why
            )
        });
        let version = engine
            .policy
            .version_index(&witness.version)
            .unwrap_or_else(|| panic!("version {}", witness.version));
        let read = engine
            .read_json(&case.to_string(), 1)
            .unwrap_or_else(|e| panic!("witness is not a valid record: {e:?}"));
        // Under its own version ("as if") and under the version in force on its own date.
        for choice in [VersionChoice::Forced(version), VersionChoice::InForce] {
            match engine.decide(
                &read,
                EvalOptions {
                    choice,
                    explain: false,
                },
            ) {
                Record::Decision(d) => {
                    assert_eq!(*d.rule, *witness.rule, "{case}");
                    assert_eq!(*d.version, *witness.version, "{case}");
                    assert!(
                        d.warnings.is_empty(),
                        "a witness contradicts itself: {:?}",
                        d.warnings
                    );
                }
                Record::Error(e) => panic!("{case}: {e:?}"),
            }
        }
    }
}

fn copy_policy(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("readmit-analysis-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    for file in [
        "schema.policy",
        "2015-11-26.policy",
        "2016-01-22.policy",
        "2016-02-03.policy",
    ] {
        std::fs::copy(Path::new("policies/storskog").join(file), dir.join(file))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

#[test]
fn a_rule_after_a_broader_one_is_reported_as_unreachable_with_the_rule_that_covers_it() {
    let dir = copy_policy("unreachable");
    let path = dir.join("2016-02-03.policy");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    // A narrower rule for permanent residents, placed after `resident_no_route`, which already
    // decides every resident.
    let text = text.replace(
        "otherwise standard_procedure",
        "rule permanent_resident:\n  when case has russian_residence and case.russian_residence.status == permanent\n  then no_return_route\n  because \"Never reached.\"\n\notherwise standard_procedure",
    );
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .args(["check", "--error-format", "json"])
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0), "a warning, not an error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lint: serde_json::Value = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|d| d["code"] == "readmit::lint::unreachable_rule")
        .unwrap_or_else(|| panic!("no unreachable_rule in {stderr}"));
    assert_eq!(lint["severity"], "warning");
    assert!(
        lint["message"]
            .as_str()
            .unwrap_or_default()
            .contains("rule `permanent_resident` can never decide")
    );
    assert!(
        lint["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`resident_no_route`"),
        "{lint}"
    );
    // Only the one rule that covers it is named: not the quota rule or the others before it.
    assert!(
        !lint["message"]
            .as_str()
            .unwrap_or_default()
            .contains("multi_entry_return"),
        "{lint}"
    );
    // With --deny-warnings it fails CI.
    let out = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .args(["check", "--deny-warnings"])
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_storskog_rules_are_all_reachable_and_the_cli_prints_witnesses() {
    let out = Command::new(env!("CARGO_BIN_EXE_readmit"))
        .args(["check", "--witnesses", "policies/storskog"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 errors, 0 warnings"));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(lines.len(), 17);
    assert!(lines.iter().all(|l| l["case"].is_object()));
    let rules: Vec<&str> = lines
        .iter()
        .filter(|l| l["version"] == "2016-02-03")
        .filter_map(|l| l["rule"].as_str())
        .collect();
    assert_eq!(
        rules,
        [
            "russian_national",
            "refoulement_bar",
            "war_zone_direct",
            "special_connection",
            "multi_entry_return",
            "resident_no_route",
            "otherwise"
        ]
    );
}
