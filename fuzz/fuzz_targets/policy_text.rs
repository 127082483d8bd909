//! Arbitrary bytes as a policy file: parse, then format.
//!
//! Contract: `syntax::parse` returns a tree or diagnostics (which render); when it parses, `format_source`
//! returns text or diagnostics; when it formats, formatting the result again gives the same
//! text and the result parses to a tree equal to the input's (trees compare without spans).
#![no_main]

use libfuzzer_sys::fuzz_target;
use readmit::diagnostics::{ErrorFormat, render};
use readmit::format::format_source;
use readmit::source::SourceFile;
use readmit::syntax::parse;

/// Whether a formatter refusal counts as a finding (`READMIT_FUZZ_STRICT_FMT` set).
fn strict() -> bool {
    static STRICT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("READMIT_FUZZ_STRICT_FMT").is_some())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = SourceFile::new("fuzz.policy", text);
    let tree = match parse(&source) {
        Ok(tree) => tree,
        Err(errors) => {
            // Shown as the command line shows them.
            for format in [ErrorFormat::Human, ErrorFormat::Json] {
                let _ = render(&errors, format);
            }
            return;
        }
    };
    let formatted = match format_source(&source) {
        Ok(formatted) => formatted,
        // The formatter refusing (it would change the meaning or lose a comment) is an allowed
        // answer; with READMIT_FUZZ_STRICT_FMT set it is a finding, as it is a formatter bug.
        Err(errors) if strict() => {
            panic!("a policy that parses does not format:\n{text}\n{errors:?}")
        }
        Err(_) => return,
    };
    let again_source = SourceFile::new("fuzz.policy", formatted.as_str());
    let again = match format_source(&again_source) {
        Ok(again) => again,
        Err(errors) => panic!("formatted text does not format again:\n{formatted}\n{errors:?}"),
    };
    assert_eq!(again, formatted, "formatting is not idempotent");
    match parse(&again_source) {
        Ok(reparsed) => assert!(
            reparsed == tree,
            "formatting changed the tree:\n{formatted}"
        ),
        Err(errors) => panic!("formatted text does not parse:\n{formatted}\n{errors:?}"),
    }
});
