//! `readmit diff`, through the real binary: version 2015-11-26 against 2016-02-03 over the
//! example batch, with the expected result worked out by hand; the table, JSON Lines and
//! Markdown formats; `--fail-on-change` and `--allow`; `--base-rev` in a git repository made by
//! the test.
//!
//! # The expected diff, by hand
//!
//! Both sides are forced ("as if"), so every one of the 67 records of
//! `examples/cases/storskog.jsonl` is decided by v1 and by v3 (storskog-policy.md §6). The common
//! head (rules 1–3) is the same in both versions, so a case it decides does not change:
//!
//! * `russian_national`: SK-2015-0007, SK-2016-0007, -0012, -0039 (4, `standard_procedure`);
//! * `refoulement_bar`: SK-2015-0010, SK-2016-0013, -0038 (3, `process_in_norway`);
//! * `war_zone_direct` (direct flight, no valid permit): SK-2015-0002, -0004, -0006, -0012,
//!   -0016, -0018, SK-2016-0010, -0019, -0022, -0041, -0044 (11, `process_in_norway`).
//!
//! That is the README table's 14 `process_in_norway`, which are the same under every version.
//!
//! The other 49 split on §4.1 RESIDENT:
//!
//! * 14 are not resident: v1 `otherwise` → `standard_procedure`. In v3, the two with a special
//!   connection (SK-2016-0017, -0037) go to `individual_assessment`; the other 12 stay
//!   `standard_procedure` by `otherwise` (unchanged, with the 4 Russians: 16).
//! * 35 are resident: v1 `resident_return` → `return_to_russia` {bus, RU, Storskog}
//!   (35 < 700, so no waitlist). In v3:
//!   * a special connection first: SK-2016-0001, -0018, -0036 → `individual_assessment` (3);
//!   * a whole year from `since` to `entry_date` and a `multi_entry` visa valid on the decision
//!     date: SK-2016-0006 (since 2009), -0011 (2012), -0021 (2012), -0023 (2014-10-15 →
//!     2015-10-15, the anniversary), -0026 (visa ends on the decision date), -0034 (2011),
//!     -0040 (2013), -0046 (2013), -0048 (2015-02-28 → 2016-02-28) → `return_to_russia`
//!     {plane, RU, Moscow} by `multi_entry_return` (9; 9 < 300, no waitlist): the outcome is the
//!     same, but the rule and the attributes changed;
//!   * the other 23 → `no_return_route` by `resident_no_route`: no visa (SK-2015-0001, -0003,
//!     -0009, -0017, SK-2016-0003, -0005, -0008, -0009, -0016, -0020, -0029, -0035), a visa
//!     other than `multi_entry` (SK-2015-0013, SK-2016-0030, -0031, -0032, -0033), a visa no
//!     longer valid on the decision date (SK-2016-0027, -0028), or less than a year at entry
//!     (SK-2016-0024, -0025, -0047, -0049).
//!
//! So 37 changed (23 + 9 + 3 + 2) and 30 did not (16 + 14).

// A test fails by panicking, helpers included.
#![allow(clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const V1: &str = "policies/storskog@2015-11-26";
const V3: &str = "policies/storskog@2016-02-03";
const CORPUS: &str = "examples/cases/storskog.jsonl";

/// v1 → v3 over the corpus, by hand (module documentation): (old, new, cases).
const MATRIX: [(&str, &str, usize); 6] = [
    ("return_to_russia", "no_return_route", 23),
    ("standard_procedure", "standard_procedure", 16),
    ("process_in_norway", "process_in_norway", 14),
    ("return_to_russia", "return_to_russia", 9),
    ("return_to_russia", "individual_assessment", 3),
    ("standard_procedure", "individual_assessment", 2),
];

const TO_NO_ROUTE: [&str; 23] = [
    "SK-2015-0001",
    "SK-2015-0003",
    "SK-2015-0009",
    "SK-2015-0013",
    "SK-2015-0017",
    "SK-2016-0003",
    "SK-2016-0005",
    "SK-2016-0008",
    "SK-2016-0009",
    "SK-2016-0016",
    "SK-2016-0020",
    "SK-2016-0024",
    "SK-2016-0025",
    "SK-2016-0027",
    "SK-2016-0028",
    "SK-2016-0029",
    "SK-2016-0030",
    "SK-2016-0031",
    "SK-2016-0032",
    "SK-2016-0033",
    "SK-2016-0035",
    "SK-2016-0047",
    "SK-2016-0049",
];
const BUS_TO_PLANE: [&str; 9] = [
    "SK-2016-0006",
    "SK-2016-0011",
    "SK-2016-0021",
    "SK-2016-0023",
    "SK-2016-0026",
    "SK-2016-0034",
    "SK-2016-0040",
    "SK-2016-0046",
    "SK-2016-0048",
];
const RESIDENT_TO_ASSESSMENT: [&str; 3] = ["SK-2016-0001", "SK-2016-0018", "SK-2016-0036"];
const ORDINARY_TO_ASSESSMENT: [&str; 2] = ["SK-2016-0017", "SK-2016-0037"];

/// The `--allow` set that covers every change of v1 → v3.
const ALLOW_ALL: [&str; 4] = [
    "return_to_russia->no_return_route",
    "return_to_russia->individual_assessment",
    "standard_procedure->individual_assessment",
    "return_to_russia->return_to_russia",
];

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_readmit"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run readmit: {e}"))
}

fn readmit(args: &[&str]) -> Output {
    run(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("not UTF-8: {}", p.display()))
}

/// The JSON Lines output, parsed.
fn jsonl(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn of_kind<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["kind"] == kind).collect()
}

/// The transition lines as (old, new, cases), in output order.
fn transitions(lines: &[Value]) -> Vec<(String, String, usize)> {
    of_kind(lines, "transition")
        .iter()
        .map(|t| {
            (
                t["old"].as_str().unwrap_or_default().to_string(),
                t["new"].as_str().unwrap_or_default().to_string(),
                usize::try_from(t["cases"].as_u64().unwrap_or_default()).unwrap_or_default(),
            )
        })
        .collect()
}

/// Asserts the transitions equal `expected`, as a set, and come largest first.
fn assert_matrix(lines: &[Value], expected: &[(&str, &str, usize)]) {
    let found = transitions(lines);
    let as_set = |t: &[(String, String, usize)]| -> BTreeSet<(String, String, usize)> {
        t.iter().cloned().collect()
    };
    let wanted: Vec<(String, String, usize)> = expected
        .iter()
        .map(|(a, b, n)| (a.to_string(), b.to_string(), *n))
        .collect();
    assert_eq!(as_set(&found), as_set(&wanted), "{found:?}");
    assert_eq!(found.len(), expected.len(), "{found:?}");
    assert!(found.windows(2).all(|w| w[0].2 >= w[1].2), "{found:?}");
}

fn v1_v3(extra: &[&str]) -> Output {
    let mut args = vec!["diff", V1, V3, "--cases", CORPUS];
    args.extend_from_slice(extra);
    readmit(&args)
}

fn bus() -> Value {
    json!(["transport: bus", "destination: RU", "via: Storskog"])
}

fn plane() -> Value {
    json!(["transport: plane", "destination: RU", "via: Moscow"])
}

/// A change record of v1 → v3.
fn change(id: &str, line: u64, old: (&str, &str, Value), new: (&str, &str, Value)) -> Value {
    json!({
        "kind": "change", "id": id, "line": line, "allowed": false,
        "old": {"outcome": old.0, "rule": old.1, "version": "2015-11-26", "attributes": old.2,
                "queue_position": null},
        "new": {"outcome": new.0, "rule": new.1, "version": "2016-02-03", "attributes": new.2,
                "queue_position": null},
    })
}

#[test]
fn v1_to_v3_matrix_changes_and_totals() {
    let out = v1_v3(&["--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let lines = jsonl(&out);
    assert_matrix(&lines, &MATRIX);

    // The totals come last.
    assert_eq!(
        lines.last(),
        Some(
            &json!({"kind": "totals", "cases": 67, "unchanged": 30, "changed": 37,
                     "not_allowed": 37})
        )
    );

    // Every changed case, in input order, each with the transition worked out by hand.
    let changes = of_kind(&lines, "change");
    let ids: Vec<&str> = changes
        .iter()
        .map(|c| c["id"].as_str().unwrap_or_default())
        .collect();
    let mut expected: Vec<&str> = TO_NO_ROUTE
        .iter()
        .chain(&BUS_TO_PLANE)
        .chain(&RESIDENT_TO_ASSESSMENT)
        .chain(&ORDINARY_TO_ASSESSMENT)
        .copied()
        .collect();
    expected.sort_unstable(); // the ids sort as the input lines do
    assert_eq!(ids, expected);
    for c in &changes {
        let id = c["id"].as_str().unwrap_or_default();
        let (old, old_rule, new, new_rule) = if TO_NO_ROUTE.contains(&id) {
            (
                "return_to_russia",
                "resident_return",
                "no_return_route",
                "resident_no_route",
            )
        } else if BUS_TO_PLANE.contains(&id) {
            (
                "return_to_russia",
                "resident_return",
                "return_to_russia",
                "multi_entry_return",
            )
        } else if RESIDENT_TO_ASSESSMENT.contains(&id) {
            (
                "return_to_russia",
                "resident_return",
                "individual_assessment",
                "special_connection",
            )
        } else {
            (
                "standard_procedure",
                "otherwise",
                "individual_assessment",
                "special_connection",
            )
        };
        assert_eq!(
            (&c["old"]["outcome"], &c["old"]["rule"]),
            (&json!(old), &json!(old_rule)),
            "{c}"
        );
        assert_eq!(
            (&c["new"]["outcome"], &c["new"]["rule"]),
            (&json!(new), &json!(new_rule)),
            "{c}"
        );
    }

    // Eight change records in full. The line is the record's line in the corpus.
    let record = |id: &str| -> &Value {
        changes
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no change for {id}"))
    };
    let none = || json!([]);
    let cases = [
        // Permanent resident via Lebanon, no visa: v1 bus return; v3 no route (D8).
        change(
            "SK-2015-0001",
            1,
            ("return_to_russia", "resident_return", bus()),
            ("no_return_route", "resident_no_route", none()),
        ),
        // Resident who fled directly from Afghanistan (so not the war-zone path), since 2009,
        // multi-entry visa to 2016-06-30: returned by both, bus then plane.
        change(
            "SK-2016-0006",
            24,
            ("return_to_russia", "resident_return", bus()),
            ("return_to_russia", "multi_entry_return", plane()),
        ),
        // Resident with a special connection: v1 ignores it; v3 sends it to Russia.
        change(
            "SK-2016-0001",
            19,
            ("return_to_russia", "resident_return", bus()),
            ("individual_assessment", "special_connection", none()),
        ),
        // Not resident, via Jordan, special connection: ordinary procedure → assessment.
        change(
            "SK-2016-0017",
            35,
            ("standard_procedure", "otherwise", none()),
            ("individual_assessment", "special_connection", none()),
        ),
        // The visa's last day is the decision date (2016-02-08): still valid (§4.3).
        change(
            "SK-2016-0026",
            44,
            ("return_to_russia", "resident_return", bus()),
            ("return_to_russia", "multi_entry_return", plane()),
        ),
        // The same case with a visa that ended the day before.
        change(
            "SK-2016-0027",
            45,
            ("return_to_russia", "resident_return", bus()),
            ("no_return_route", "resident_no_route", none()),
        ),
        // Since 2015-02-28, entry 2016-02-28: a whole year.
        change(
            "SK-2016-0048",
            66,
            ("return_to_russia", "resident_return", bus()),
            ("return_to_russia", "multi_entry_return", plane()),
        ),
        // Since 2015-03-01, entry 2016-02-29: 365 days, but no anniversary yet.
        change(
            "SK-2016-0049",
            67,
            ("return_to_russia", "resident_return", bus()),
            ("no_return_route", "resident_no_route", none()),
        ),
    ];
    for expected in &cases {
        let id = expected["id"].as_str().unwrap_or_default();
        assert_eq!(record(id), expected, "{id}");
    }

    // Decided by the common head: no change. A Russian national, the refoulement bar over a
    // special connection, the war-zone path over a special connection, a Palestinian via
    // Lebanon (ordinary procedure under both).
    for id in [
        "SK-2015-0007",
        "SK-2016-0038",
        "SK-2016-0022",
        "SK-2016-0045",
    ] {
        assert!(!ids.contains(&id), "{id} should be unchanged");
    }
}

#[test]
fn v1_to_v3_table() {
    let out = v1_v3(&[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let head: Vec<&str> = text.lines().take(11).collect();
    assert_eq!(
        head,
        [
            "decisions of policies/storskog@2015-11-26 → policies/storskog@2016-02-03 over examples/cases/storskog.jsonl",
            "67 cases: 30 unchanged, 37 changed",
            "",
            "transitions (old outcome → new outcome: cases)",
            "  * return_to_russia         → no_return_route              23",
            "    standard_procedure       → standard_procedure           16",
            "    process_in_norway        → process_in_norway            14",
            // Kept outcome, but every one of the 9 changed rule and attributes (bus → plane).
            "  * return_to_russia         → return_to_russia              9  (9 by another rule or with other attributes)",
            "  * return_to_russia         → individual_assessment         3",
            "  * standard_procedure       → individual_assessment         2",
            "",
        ]
    );
    assert!(text.contains("\nchanged cases\n"), "{text}");
    // A same-outcome change shows its attributes on a second line.
    assert!(
        text.contains(
            "  SK-2016-0026     return_to_russia by resident_return          → return_to_russia by multi_entry_return\n                   attributes {transport: bus, destination: RU, via: Storskog} → {transport: plane, destination: RU, via: Moscow}\n"
        ),
        "{text}"
    );
    // One line per changed case, plus the attribute line of each of the 9 bus → plane returns.
    let after: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "changed cases")
        .skip(1)
        .collect();
    assert_eq!(after.len(), 37 + 9, "{text}");
}

#[test]
fn v1_to_v3_markdown() {
    let out = v1_v3(&["--format", "markdown"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    // The transitions as a Markdown table, transitions with changed cases in bold, with how
    // many changed (a kept outcome changes too when the rule or the attributes do).
    assert!(
        text.contains(
            "| old outcome | new outcome | cases | changed |\n|---|---|---:|---:|\n| **`return_to_russia`** | **`no_return_route`** | 23 | 23 |\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("| **`return_to_russia`** | **`return_to_russia`** | 9 | 9 |\n"),
        "{text}"
    );
    assert!(
        text.contains("| `standard_procedure` | `standard_procedure` | 16 | 0 |\n"),
        "{text}"
    );
    insta::assert_snapshot!("v1_to_v3_markdown", text);
}

#[test]
fn fail_on_change_and_allow() {
    // Without --fail-on-change a diff only reports.
    assert_eq!(v1_v3(&[]).status.code(), Some(0));

    let out = v1_v3(&["--fail-on-change"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The report is written all the same.
    assert!(
        stdout(&out).contains("67 cases: 30 unchanged, 37 changed\n"),
        "{}",
        stdout(&out)
    );

    let mut args = vec!["--fail-on-change", "--format", "jsonl"];
    for allow in ALLOW_ALL {
        args.extend(["--allow", allow]);
    }
    let out = v1_v3(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = jsonl(&out);
    assert!(
        of_kind(&lines, "change")
            .iter()
            .all(|c| c["allowed"] == true),
        "{lines:?}"
    );
    assert_eq!(lines.last().map(|t| &t["not_allowed"]), Some(&json!(0)));

    // A change of rule and attributes with the same outcome is a change too: without
    // `return_to_russia->return_to_russia` the nine bus → plane returns are not allowed.
    let mut args = vec!["--fail-on-change"];
    for allow in &ALLOW_ALL[..3] {
        args.extend(["--allow", allow]);
    }
    let out = v1_v3(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("67 cases: 30 unchanged, 37 changed (9 not allowed)\n"),
        "{}",
        stdout(&out)
    );

    // `*` stands for any outcome.
    let out = v1_v3(&[
        "--fail-on-change",
        "--allow",
        "return_to_russia->*",
        "--allow",
        "*->individual_assessment",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // A malformed transition is a usage error.
    let out = v1_v3(&["--allow", "return_to_russia"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("write OLD->NEW"), "{}", stderr(&out));
}

#[test]
fn an_unknown_version_is_a_usage_error() {
    let out = readmit(&[
        "--error-format",
        "plain",
        "diff",
        "policies/storskog@2099-01-01",
        V3,
        "--cases",
        CORPUS,
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("readmit::usage::unknown_version\n"),
        "{err}"
    );
    assert!(
        err.contains("help: the versions are `2015-11-26`, `2016-01-22` or `2016-02-03`"),
        "{err}"
    );
    assert_eq!(stdout(&out), "");
}

// --base-rev -------------------------------------------------------------------------------------

/// Runs git in `dir`; `None` when git is not installed.
fn git(dir: &Path, args: &[&str]) -> Option<Output> {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=readmit test",
            "-c",
            "user.email=test@readmit.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("read dir {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("read dir {}: {e}", from.display()));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

fn replace_once(file: &Path, from: &str, to: &str) {
    let text =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` in {}",
        file.display()
    );
    std::fs::write(file, text.replacen(from, to, 1))
        .unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
}

/// A git repository with three commits and a change in the working tree:
///
/// 1. a README only (the policy is not there yet);
/// 2. `policies/storskog` as it is;
/// 3. v3's cap `moscow_agreement` lowered from 300 to 12;
/// 4. (not committed) v3's `resident_no_route` decides `standard_procedure`.
///
/// `None` when git is not installed.
fn repository() -> Option<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let root = dir.path().to_path_buf();
    if Command::new("git").arg("--version").output().is_err() {
        return None;
    }
    git(&root, &["init", "-q"])?;
    std::fs::write(root.join("README.md"), "policies\n").unwrap_or_else(|e| panic!("{e}"));
    git(&root, &["add", "README.md"])?;
    git(&root, &["commit", "-q", "-m", "readme"])?;
    let policy = root.join("policies/storskog");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/storskog"),
        &policy,
    );
    git(&root, &["add", "policies"])?;
    git(&root, &["commit", "-q", "-m", "storskog"])?;
    let v3 = policy.join("2016-02-03.policy");
    replace_once(&v3, "limit 300", "limit 12");
    git(&root, &["commit", "-q", "-a", "-m", "moscow_agreement: 12"])?;
    replace_once(
        &v3,
        "rule resident_no_route:\n  when resident\n  then no_return_route",
        "rule resident_no_route:\n  when resident\n  then standard_procedure",
    );
    Some((dir, policy))
}

/// The cases decided `no_return_route` in force (examples/cases/README.md).
const NO_ROUTE_IN_FORCE: [&str; 12] = [
    "SK-2016-0024",
    "SK-2016-0025",
    "SK-2016-0027",
    "SK-2016-0028",
    "SK-2016-0029",
    "SK-2016-0030",
    "SK-2016-0031",
    "SK-2016-0032",
    "SK-2016-0033",
    "SK-2016-0035",
    "SK-2016-0047",
    "SK-2016-0049",
];

#[test]
fn base_rev_reads_the_old_policy_from_git() {
    let Some((dir, policy)) = repository() else {
        println!("note: git is not installed; --base-rev is not tested");
        return;
    };
    let root = dir.path();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS);

    // HEAD against the working tree: only the rule changed. In force, the 12 `no_return_route`
    // cases of the README table now get `standard_procedure`, still by `resident_no_route`.
    // Both sides have the cap of 12, so both waitlist the same 5 (below).
    let out = run(
        root,
        &[
            "diff",
            path(&policy),
            "--base-rev",
            "HEAD",
            "--cases",
            path(&corpus),
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = jsonl(&out);
    let changes = of_kind(&lines, "change");
    let ids: Vec<&str> = changes
        .iter()
        .map(|c| c["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ids, NO_ROUTE_IN_FORCE);
    for c in &changes {
        assert_eq!(c["old"]["outcome"], "no_return_route", "{c}");
        assert_eq!(c["new"]["outcome"], "standard_procedure", "{c}");
        assert_eq!(c["new"]["rule"], "resident_no_route", "{c}");
    }
    // In force, with a cap of 12: the 10 v1 returns take 10 places of `storskog_arrangement`,
    // and they count for `moscow_agreement` too (§7), which has 2 left for the 7 v3 returns.
    // By decision date: SK-2016-0021 (02-03) and -0023 (02-04) get them; -0026, -0034, -0040,
    // -0046 and -0048 are waitlisted.
    assert_matrix(
        &lines,
        &[
            ("standard_procedure", "standard_procedure", 17),
            ("process_in_norway", "process_in_norway", 14),
            ("no_return_route", "standard_procedure", 12),
            ("return_to_russia", "return_to_russia", 12),
            ("return_suspended", "return_suspended", 5),
            ("waitlist", "waitlist", 5),
            ("individual_assessment", "individual_assessment", 2),
        ],
    );
    assert_eq!(
        lines.last(),
        Some(
            &json!({"kind": "totals", "cases": 67, "unchanged": 55, "changed": 12,
                     "not_allowed": 12})
        )
    );

    // One commit further back (written relative to the repository): the cap was 300, so the
    // five waitlisted cases were returns.
    let out = run(
        root,
        &[
            "diff",
            "policies/storskog",
            "--base-rev",
            "HEAD~1",
            "--cases",
            path(&corpus),
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = jsonl(&out);
    assert_matrix(
        &lines,
        &[
            ("standard_procedure", "standard_procedure", 17),
            ("process_in_norway", "process_in_norway", 14),
            ("no_return_route", "standard_procedure", 12),
            ("return_to_russia", "return_to_russia", 12),
            ("return_suspended", "return_suspended", 5),
            ("return_to_russia", "waitlist", 5),
            ("individual_assessment", "individual_assessment", 2),
        ],
    );
    let waitlisted: Vec<(&str, u64)> = of_kind(&lines, "change")
        .into_iter()
        .filter(|c| c["new"]["outcome"] == "waitlist")
        .map(|c| {
            assert_eq!(c["old"]["outcome"], "return_to_russia", "{c}");
            assert_eq!(c["new"]["rule"], "multi_entry_return", "{c}");
            (
                c["id"].as_str().unwrap_or_default(),
                c["new"]["queue_position"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        waitlisted,
        [
            ("SK-2016-0026", 1),
            ("SK-2016-0034", 2),
            ("SK-2016-0040", 3),
            ("SK-2016-0046", 4),
            ("SK-2016-0048", 5),
        ]
    );
    assert_eq!(
        lines.last(),
        Some(
            &json!({"kind": "totals", "cases": 67, "unchanged": 50, "changed": 17,
                     "not_allowed": 17})
        )
    );

    // The table names the revision.
    let out = run(
        root,
        &[
            "diff",
            "policies/storskog",
            "--base-rev",
            "HEAD",
            "--cases",
            path(&corpus),
        ],
    );
    assert!(
        stdout(&out).starts_with(&format!(
            "decisions of policies/storskog at HEAD → policies/storskog over {}\n67 cases: 55 unchanged, 12 changed\n",
            corpus.display()
        )),
        "{}",
        stdout(&out)
    );
}

#[test]
fn base_rev_errors() {
    let Some((dir, policy)) = repository() else {
        println!("note: git is not installed; --base-rev is not tested");
        return;
    };
    let root = dir.path();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS);
    let diff = |folder: &str, rev: &str, cwd: &Path| {
        run(
            cwd,
            &[
                "--error-format",
                "plain",
                "diff",
                folder,
                "--base-rev",
                rev,
                "--cases",
                path(&corpus),
            ],
        )
    };

    // A revision the repository does not have.
    let out = diff(path(&policy), "no-such-revision", root);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("readmit::diff::git\n"), "{err}");
    assert!(err.contains("no-such-revision"), "{err}");
    assert!(err.contains("help: run inside the git repository"), "{err}");
    assert_eq!(stdout(&out), "");

    // A revision at which the folder did not exist yet.
    let out = diff("policies/storskog", "HEAD~2", root);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("readmit::diff::git\n"), "{err}");
    assert!(
        err.replace("\n  │ ", " ")
            .contains("no files under `policies/storskog` at that revision"),
        "{err}"
    );

    // A folder outside any git repository.
    let outside = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let copy = outside.path().join("storskog");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/storskog"),
        &copy,
    );
    let out = diff(path(&copy), "HEAD", outside.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("readmit::diff::git\n"), "{err}");
}
