//! Fixture-driven diagnostic tests: adding a test is adding a file (see `tests/README.md`).
//!
//! - `tests/cases/parse/<area>/<behaviour>.policy` is parsed alone.
//! - `tests/cases/check/<area>/<behaviour>.policy` is checked alone, with `check_path`; a version
//!   names the area's copy of the small schema as `schema Case from "schema.policy"`.
//! - `tests/cases/check/<area>/<behaviour>/` is a folder fixture, checked as a policy folder.
//!
//! A fixture's first lines say which codes it must produce, as `// expect: CODE[, CODE…]`
//! (in a folder fixture, on the first lines of any of its files). Its diagnostics are rendered
//! without colour and compared with the snapshot in `tests/snapshots/`, and the harness asserts
//! that each expected code is there and that no other code is, so a changed code fails even
//! when a snapshot is accepted without reading it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use readmit::check::check_path;
use readmit::diagnostics::{Diagnostic, ErrorFormat, render};
use readmit::source::SourceFile;

/// Codes with no fixture, and why; every other code the parser and checker define needs one.
const WITHOUT_FIXTURE: &[(&str, &str)] = &[
    (
        "readmit::check::link_outside",
        "needs a symbolic link leading out of the folder, made at test time in tests/hostile.rs",
    ),
    (
        "readmit::parse::too_large",
        "a fixture would be over 4 MiB; tested below and in tests/storskog_check.rs",
    ),
    (
        "readmit::parse::too_complex",
        "no input found that exceeds pest's call limit (400 calls per byte) within the nesting limits",
    ),
    (
        "readmit::parse::unreadable",
        "an internal error: the grammar accepted a declaration that lowering could not read",
    ),
    (
        "readmit::check::negative_limit",
        "the grammar reads `limit` as digits only, so `limit -1` is a parse error",
    ),
];

/// The path relative to the crate root, with `/` between components: what a user would type,
/// and the same on every machine.
fn relative(path: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stripped = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = stripped
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    PathBuf::from(parts.join("/"))
}

/// The codes named by the `// expect:` lines at the top of a file.
fn expect_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map_while(|line| line.trim().strip_prefix("// expect:"))
        .flat_map(|codes| codes.split(',').map(|c| c.trim().to_string()))
        .filter(|c| !c.is_empty())
        .collect()
}

/// The expected codes of a fixture: its own first lines, or those of every file in a folder.
fn expected_codes(fixture: &Path) -> Vec<String> {
    if fixture.is_dir() {
        let mut codes = Vec::new();
        for file in policy_files(fixture) {
            codes.extend(expect_lines(&std::fs::read(&file).unwrap_or_default()));
        }
        codes
    } else {
        expect_lines(&std::fs::read(fixture).unwrap_or_default())
    }
}

/// Every `.policy` file under a folder, in a stable order.
fn policy_files(folder: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "policy") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Fixtures are minimal policies without a legal basis, so the citation lint would fire on most
/// of them: it is kept only in the fixtures that are about it.
fn without_background_lints(fixture: &Path, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let expected = expected_codes(fixture);
    diagnostics
        .into_iter()
        .filter(|d| d.code != "readmit::lint::no_citation" || expected.iter().any(|c| c == d.code))
        .collect()
}

/// Fails unless every expected code is among the diagnostics and every diagnostic is expected.
fn assert_codes(fixture: &Path, diagnostics: &[Diagnostic]) {
    let expected: BTreeSet<String> = expected_codes(fixture).into_iter().collect();
    assert!(
        !expected.is_empty(),
        "{}: the fixture has no `// expect: CODE` line at its top",
        fixture.display()
    );
    let found: BTreeSet<String> = diagnostics.iter().map(|d| d.code.to_string()).collect();
    let missing: Vec<&String> = expected.difference(&found).collect();
    let unexpected: Vec<&String> = found.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "{}: expected codes {missing:?} are missing, and codes {unexpected:?} were not expected\n{}",
        fixture.display(),
        render(diagnostics, ErrorFormat::Plain)
    );
}

/// The diagnostics as the snapshot holds them: plain, without trailing spaces (which editors
/// strip).
fn plain(diagnostics: &[Diagnostic]) -> String {
    render(diagnostics, ErrorFormat::Plain)
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The system's reason for a failed read differs between platforms: keep the path only.
fn without_system_reasons(mut diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    for diagnostic in &mut diagnostics {
        if diagnostic.code == "readmit::io::cannot_read" {
            if let Some((head, _)) = diagnostic.message.split_once("`: ") {
                diagnostic.message = format!("{head}`: (the system's reason)");
            }
        }
    }
    diagnostics
}

#[test]
fn parse_fixtures() {
    insta::glob!("cases/parse/*/*.policy", |path| {
        let fixture = relative(path);
        let text = std::fs::read_to_string(&fixture).unwrap_or_default();
        let source = SourceFile::new(fixture.display().to_string(), text);
        let diagnostics = readmit::syntax::parse(&source).err().unwrap_or_default();
        assert_codes(&fixture, &diagnostics);
        insta::assert_snapshot!(plain(&diagnostics));
    });
}

#[test]
fn check_fixtures() {
    insta::glob!("cases/check/*/*", |path| {
        let is_fixture = path.is_dir()
            || (path.extension().is_some_and(|x| x == "policy")
                && path.file_name().is_some_and(|n| n != "schema.policy"));
        if !is_fixture {
            return;
        }
        let fixture = relative(path);
        let diagnostics = without_background_lints(
            &fixture,
            without_system_reasons(check_path(&fixture).diagnostics),
        );
        assert_codes(&fixture, &diagnostics);
        insta::assert_snapshot!(plain(&diagnostics));
    });
}

/// Every `readmit::…` code written in the parser's and checker's sources.
fn codes_in_sources() -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for file in ["src/syntax/error.rs", "src/check/errors.rs"] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        assert!(!text.is_empty(), "cannot read {file}");
        for piece in text.split('"').skip(1).step_by(2) {
            if piece.starts_with("readmit::") && !piece.contains(' ') {
                codes.insert(piece.to_string());
            }
        }
    }
    codes
}

#[test]
fn every_code_has_a_fixture() {
    let mut covered = BTreeSet::new();
    for stage in ["tests/cases/parse", "tests/cases/check"] {
        for file in policy_files(Path::new(stage)) {
            covered.extend(expect_lines(&std::fs::read(&file).unwrap_or_default()));
        }
    }
    let excused: BTreeSet<String> = WITHOUT_FIXTURE.iter().map(|(c, _)| c.to_string()).collect();
    let defined = codes_in_sources();
    assert!(defined.len() > 40, "found only {defined:?}");
    let uncovered: Vec<&String> = defined
        .iter()
        .filter(|c| !covered.contains(*c) && !excused.contains(*c))
        .collect();
    assert!(
        uncovered.is_empty(),
        "these codes have no fixture: {uncovered:?}"
    );
    let stale: Vec<&String> = covered
        .union(&excused)
        .filter(|c| !defined.contains(*c))
        .collect();
    assert!(
        stale.is_empty(),
        "fixtures expect codes that do not exist: {stale:?}"
    );
}

#[test]
fn a_path_that_does_not_exist_cannot_be_read() {
    let report = check_path(Path::new("tests/cases/no-such-policy"));
    let codes: Vec<&str> = report.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["readmit::io::cannot_read"]);
    let Some(diagnostic) = report.diagnostics.first() else {
        return;
    };
    assert!(diagnostic.is_error());
    assert!(diagnostic.source.is_none());
    assert!(
        diagnostic
            .message
            .starts_with("cannot read `tests/cases/no-such-policy`: "),
        "{}",
        diagnostic.message
    );
}

#[test]
fn a_file_over_the_size_limit_is_too_large() {
    let text = format!(
        "let x = \"{}\"\n",
        "a".repeat(readmit::syntax::MAX_SOURCE_BYTES)
    );
    let source = SourceFile::new("large.policy", text);
    let diagnostics = readmit::syntax::parse(&source).err().unwrap_or_default();
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["readmit::parse::too_large"]);
    assert_eq!(
        diagnostics.first().and_then(Diagnostic::location),
        Some(("large.policy".to_string(), 1, 1))
    );
}
