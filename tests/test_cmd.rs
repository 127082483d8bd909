//! `readmit test`, through the real binary: the Storskog tests pass; a deliberately broken rule
//! makes them fail with a diagnostic at the test's `expect`, a note at the rule that decided and
//! the trace; `--filter`, `--junit` (parsed as XML), `--coverage` and `--min-coverage`; a test
//! whose case is not a valid record.

// A test fails by panicking, helpers included.
#![allow(clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const POLICY: &str = "policies/storskog";
const TESTS: &str = "policies/storskog/tests/storskog.policy";

/// The number of `test` blocks in `policies/storskog/tests/storskog.policy`, counted by reading it.
const STORSKOG_TESTS: usize = 51;

fn readmit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_readmit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run readmit: {e}"))
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

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
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

/// A fresh copy of `policies/storskog` in a temporary folder: (the folder, the copy).
fn storskog_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let copy = dir.path().join("storskog");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(POLICY), &copy);
    (dir, copy)
}

/// Replaces `from` (which must occur exactly once) in the file.
fn replace_once(file: &Path, from: &str, to: &str) {
    let text = read(file);
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` should occur once in {}",
        file.display()
    );
    write(file, &text.replacen(from, to, 1));
}

/// The copy with v3's residence counted to the decision date instead of the entry into Norway
/// (the mistake §4.2 of the specification warns about).
fn broken_copy() -> (tempfile::TempDir, PathBuf) {
    let (dir, copy) = storskog_copy();
    replace_once(
        &copy.join("2016-02-03.policy"),
        "years(case.russian_residence.since, case.entry_date)",
        "years(case.russian_residence.since, case.decision_date)",
    );
    (dir, copy)
}

/// The tests that the broken rule must fail, worked out by hand: with the residence counted to
/// `decision_date`, a case is a whole year "resident" when its decision is at least a year after
/// `since`. The anniversary tests are decided on 2017-03-01, so those expecting "not a whole
/// year" (since 2014-10-16, 2015-03-01 and 2015-10-20) now get `multi_entry_return`; the ones
/// expecting a whole year still pass. ANN-DECISION (since 2014-11-01, decided 2016-02-10) exists
/// to catch exactly this. Every other v3 resident test lacks a valid multi-entry visa or already
/// had a year at entry.
const BROKEN_FAILS: [&str; 4] = [
    "v3 anniversary: residence since 2014-10-16, entry 2015-10-15: not a whole year",
    "v3 anniversary: residence since 2015-03-01, entry 2016-02-29: not a whole year",
    "v3 anniversary: residence since 2015-10-20, entry 2015-10-20: not a whole year",
    "v3: residence is counted to the entry into Norway, not to the decision",
];

/// The lines `FAIL name` of a run.
fn failed_tests(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.strip_prefix("FAIL "))
        .collect()
}

fn last_line(out: &str) -> &str {
    out.lines().last().unwrap_or_default()
}

/// Removes the test block named `name` (from `test "name" {` to its closing `}` line).
fn remove_test(file: &Path, name: &str) {
    let text = read(file);
    let header = format!("test \"{name}\" {{\n");
    let start = text
        .find(&header)
        .unwrap_or_else(|| panic!("no test \"{name}\" in {}", file.display()));
    let end = start
        + text[start..]
            .find("\n}\n")
            .unwrap_or_else(|| panic!("test \"{name}\" is not closed"))
        + "\n}\n".len();
    write(file, &format!("{}{}", &text[..start], &text[end..]));
}

#[test]
fn storskog_tests_all_pass() {
    let written = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(TESTS))
        .lines()
        .filter(|l| l.starts_with("test \""))
        .count();
    assert_eq!(
        written, STORSKOG_TESTS,
        "the test file changed: update the count"
    );

    let out = readmit(&["test", POLICY]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let ok = text.lines().filter(|l| l.starts_with("ok   ")).count();
    assert_eq!(ok, STORSKOG_TESTS, "{text}");
    assert_eq!(failed_tests(&text), Vec::<&str>::new());
    assert_eq!(last_line(&text), "51 passed, 0 failed");
    // One line per test, then the closing line: nothing else on stdout.
    assert_eq!(text.lines().count(), STORSKOG_TESTS + 1);
}

#[test]
fn filter_runs_only_the_matching_tests() {
    let out = readmit(&["test", POLICY, "--filter", "anniversary"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let ran: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("ok   "))
        .collect();
    assert_eq!(
        ran,
        [
            "v3 anniversary: residence since 2014-10-15, entry 2015-10-15: a whole year",
            "v3 anniversary: residence since 2014-10-16, entry 2015-10-15: not a whole year",
            "v3 anniversary: residence since 2015-03-01, entry 2016-02-29: not a whole year",
            "v3 anniversary: residence since 2015-02-28, entry 2016-02-28: a whole year",
            "v3 anniversary: residence since 2016-02-29, entry 2017-02-28: a whole year",
            "v3 anniversary: residence since 2015-10-20, entry 2015-10-20: not a whole year",
        ]
    );
    assert_eq!(last_line(&text), "6 passed, 0 failed, 45 skipped");

    // The filter is a substring of the name, case-sensitive.
    let out = readmit(&["test", POLICY, "--filter", "in force on 2016"]);
    assert_eq!(last_line(&stdout(&out)), "4 passed, 0 failed, 47 skipped");
    let out = readmit(&["test", POLICY, "--filter", "ANNIVERSARY"]);
    assert_eq!(last_line(&stdout(&out)), "0 passed, 0 failed, 51 skipped");
}

#[test]
fn a_broken_rule_fails_the_anniversary_tests() {
    let (dir, copy) = broken_copy();
    let out = readmit(&["--error-format", "plain", "test", path(&copy)]);
    let text = stdout(&out);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{err}");
    assert_eq!(failed_tests(&text), BROKEN_FAILS);
    assert_eq!(last_line(&text), "47 passed, 4 failed");

    // Each failure is a diagnostic with the stable code, at the test's `expect` …
    assert_eq!(err.matches("readmit::test::failed").count(), 4, "{err}");
    assert_eq!(
        err.matches("expect no_return_route by rule resident_no_route")
            .count(),
        4,
        "{err}"
    );
    assert_eq!(err.matches("╰── expected here").count(), 4, "{err}");
    // … saying what was decided instead and by which rule, …
    // (miette wraps the message at 100 columns; its continuation lines start with `  │ `.)
    let unwrapped = err.replace("\n  │ ", " ");
    assert_eq!(
        unwrapped
            .matches(
                "but version 2016-02-03 decided `return_to_russia` by rule `multi_entry_return`"
            )
            .count(),
        4,
        "{err}"
    );
    // … with a second label at that rule in the version file, …
    assert_eq!(
        err.matches("rule `multi_entry_return` of version 2016-02-03 decided instead")
            .count(),
        4,
        "{err}"
    );
    assert_eq!(err.matches("2016-02-03.policy:82:1]").count(), 4, "{err}");
    assert_eq!(
        err.matches("rule multi_entry_return:\n").count(),
        4,
        "{err}"
    );
    assert_eq!(err.matches("╰── this rule decided").count(), 4, "{err}");
    // … and the trace, which shows the date the broken rule read.
    assert_eq!(err.matches("trace:").count(), 4, "{err}");
    assert_eq!(err.matches("✔ multi_entry_return").count(), 4, "{err}");
    assert!(
        err.contains(
            "case.russian_residence.since = 2014-10-16;\n        case.decision_date = 2017-03-01]"
        ),
        "{err}"
    );

    let root = dir
        .path()
        .canonicalize()
        .unwrap_or_else(|e| panic!("canonicalize: {e}"));
    let mut patterns = vec![escape(path(dir.path()))];
    if root != dir.path() {
        patterns.push(escape(path(&root)));
    }
    let filters: Vec<(&str, &str)> = patterns.iter().map(|p| (p.as_str(), "[TMP]")).collect();
    insta::with_settings!({ filters => filters }, {
        // Trailing spaces trimmed, as in the other diagnostic snapshots.
        let trimmed: Vec<&str> = err.lines().map(str::trim_end).collect();
        insta::assert_snapshot!("broken_rule_plain_stderr", trimmed.join("\n"));
    });
}

/// The text escaped for a regular expression (insta filters are regular expressions).
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[test]
fn junit_xml_is_well_formed() {
    let (dir, copy) = broken_copy();
    let junit = dir.path().join("junit.xml");
    let out = readmit(&["test", path(&copy), "--junit", path(&junit)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let xml = read(&junit);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("51"));
    assert_eq!(root.attribute("failures"), Some("4"));
    assert_eq!(root.attribute("errors"), Some("0"));

    // One suite per test file: storskog has one.
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert!(
        suite
            .attribute("name")
            .is_some_and(|n| n.ends_with("storskog/tests/storskog.policy")),
        "{:?}",
        suite.attribute("name")
    );
    assert_eq!(suite.attribute("tests"), Some("51"));
    assert_eq!(suite.attribute("failures"), Some("4"));

    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 51);
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .filter_map(|c| c.attribute("name"))
        .collect();
    assert_eq!(failed, BROKEN_FAILS);
    // One <failure> per failing test, with the diagnostic's message and the rendered diagnostic.
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 4);
    for failure in failures {
        let message = failure.attribute("message").unwrap_or_default();
        assert!(
            message.contains("expected outcome `no_return_route`, rule `resident_no_route`, but version 2016-02-03 decided `return_to_russia` by rule `multi_entry_return`"),
            "{message}"
        );
        let body = failure.text().unwrap_or_default();
        assert!(body.contains("readmit::test::failed"), "{body}");
        assert!(body.contains("trace:"), "{body}");
    }

    // A filtered run reports the tests it left out as skipped.
    let out = readmit(&[
        "test",
        POLICY,
        "--filter",
        "anniversary",
        "--junit",
        path(&junit),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let xml = read(&junit);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.attribute("tests"), Some("51"));
    assert_eq!(root.attribute("skipped"), Some("45"));
    assert_eq!(root.attribute("failures"), Some("0"));
    let skipped = doc
        .descendants()
        .filter(|n| n.has_tag_name("skipped"))
        .count();
    assert_eq!(skipped, 45);
}

/// The rules of each version, from §6 of the specification, in their order.
const RULES: [(&str, &[&str]); 3] = [
    (
        "2015-11-26",
        &[
            "russian_national",
            "refoulement_bar",
            "war_zone_direct",
            "resident_return",
            "otherwise",
        ],
    ),
    (
        "2016-01-22",
        &[
            "russian_national",
            "refoulement_bar",
            "war_zone_direct",
            "resident_return_suspended",
            "otherwise",
        ],
    ),
    (
        "2016-02-03",
        &[
            "russian_national",
            "refoulement_bar",
            "war_zone_direct",
            "special_connection",
            "multi_entry_return",
            "resident_no_route",
            "otherwise",
        ],
    ),
];

/// The lines of the coverage report that belong to one version.
fn version_section<'a>(out: &'a str, version: &str) -> Vec<&'a str> {
    let header = format!("  version {version}: ");
    out.lines()
        .skip_while(|l| !l.starts_with(&header))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with("    "))
        .map(|(_, l)| l)
        .collect()
}

#[test]
fn coverage_reaches_every_rule_of_storskog() {
    let out = readmit(&["test", POLICY, "--coverage"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains("\n51 passed, 0 failed\n\ncoverage\n"),
        "{text}"
    );
    for (version, rules) in RULES {
        let section = version_section(&text, version);
        assert_eq!(
            section.first().copied(),
            Some(
                format!(
                    "  version {version}: {n} of {n} rules reached",
                    n = rules.len()
                )
                .as_str()
            ),
            "{text}"
        );
        let reached: Vec<&str> = section
            .iter()
            .filter_map(|l| l.strip_prefix("    ✔ rule "))
            .filter_map(|l| l.split(':').next())
            .collect();
        assert_eq!(reached, rules, "{version}: {text}");
        assert!(
            section.contains(
                &format!(
                    "    cited provisions: {n} of {n} reached by a test's decision",
                    n = rules.len()
                )
                .as_str()
            ),
            "{version}: {text}"
        );
    }
    assert!(!text.contains('✘'), "{text}");
    // A test decides one case on its own, so it never exhausts a cap: the overflow outcome
    // `waitlist` is the only outcome no test reaches (in the two versions with a cap).
    assert_eq!(
        text.matches("    outcomes no test reaches: waitlist\n")
            .count(),
        2,
        "{text}"
    );
    assert_eq!(last_line(&text), "  rules reached: 100.0%");

    let out = readmit(&["test", POLICY, "--min-coverage", "100"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(!text.contains("below the minimum"), "{text}");
    assert_eq!(last_line(&text), "  rules reached: 100.0%");
}

#[test]
fn min_coverage_fails_when_a_test_file_is_removed() {
    let (_dir, copy) = storskog_copy();
    std::fs::remove_file(copy.join("tests/storskog.policy"))
        .unwrap_or_else(|e| panic!("remove: {e}"));
    let out = readmit(&["test", path(&copy), "--min-coverage", "100"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.starts_with("0 passed, 0 failed\n"), "{text}");
    assert_eq!(text.matches(": no test reaches it").count(), 17, "{text}");
    assert!(text.contains("  rules reached: 0.0%\n"), "{text}");
    assert_eq!(
        last_line(&text),
        "rule coverage 0.0% is below the minimum of 100%"
    );
}

#[test]
fn min_coverage_names_the_rule_no_test_reaches() {
    // The only test of v3's `special_connection` removed: 16 of the 17 rules are reached.
    let (_dir, copy) = storskog_copy();
    remove_test(
        &copy.join("tests/storskog.policy"),
        "v3: a special connection goes to Russia's individual assessment, before the quota return",
    );
    let out = readmit(&["test", path(&copy), "--min-coverage", "100"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("\n50 passed, 0 failed\n"), "{text}");
    let section = version_section(&text, "2016-02-03");
    assert_eq!(section[0], "  version 2016-02-03: 6 of 7 rules reached");
    assert!(
        section.contains(&"    ✘ rule special_connection: no test reaches it"),
        "{text}"
    );
    assert!(
        section.contains(&"    outcomes no test reaches: waitlist, individual_assessment"),
        "{text}"
    );
    assert!(
        section.contains(&"    cited provisions: 6 of 7 reached by a test's decision"),
        "{text}"
    );
    assert!(
        section.contains(&"      ✘ \"Moscow meeting 3 Feb 2016: cases with a special connection to Russia are assessed individually by the Russian authorities.\""),
        "{text}"
    );
    // The other versions are still fully covered.
    assert!(
        text.contains("  version 2015-11-26: 5 of 5 rules reached\n"),
        "{text}"
    );
    assert!(text.contains("  rules reached: 94.1%\n"), "{text}");
    assert_eq!(
        last_line(&text),
        "rule coverage 94.1% is below the minimum of 100%"
    );

    // A lower minimum is met; the tests themselves all passed.
    let out = readmit(&["test", path(&copy), "--min-coverage", "90"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(last_line(&stdout(&out)), "  rules reached: 94.1%");
}

#[test]
fn a_test_with_an_invalid_case_fails_as_bad_case() {
    let (_dir, copy) = storskog_copy();
    write(
        &copy.join("tests/bad_case.policy"),
        r#"test "a case with an unassigned nationality" {
  version 2016-02-03
  case {
    id: "BAD-XX",
    nationality: XX,
    entry_date: 2015-10-01,
    travel: { origin: AF, route: [AF, IR, RU], direct_from_war_zone: false },
    special_connection: false,
    decision_date: 2016-02-10
  }
  expect standard_procedure by rule otherwise
}
"#,
    );
    let out = readmit(&[
        "--error-format",
        "plain",
        "test",
        path(&copy),
        "--filter",
        "unassigned",
    ]);
    let text = stdout(&out);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{err}");
    assert_eq!(
        text,
        "FAIL a case with an unassigned nationality\n0 passed, 1 failed, 51 skipped\n"
    );
    assert!(err.starts_with("readmit::test::bad_case\n"), "{err}");
    assert!(!err.contains("readmit::test::failed"), "{err}");
    assert!(
        err.replace("\n  │ ", " ").contains(
            "is not a valid record: invalid_value in `nationality`: `XX` is not an assigned upper-case ISO 3166-1 alpha-2 country code"
        ),
        "{err}"
    );
    assert!(err.contains("bad_case.policy:3:8]"), "{err}");
    assert!(
        err.contains("help: make the case a complete record of the schema"),
        "{err}"
    );

    // Run with the others: the bad case fails, the rest pass.
    let out = readmit(&["test", path(&copy)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(last_line(&stdout(&out)), "51 passed, 1 failed");
}
