//! Check: policy files → a checked [`Policy`](model::Policy).
//!
//! Input: a policy folder (a schema file, one file per version, tests in `tests/`) or a single
//! file. Output: the checked policy when there is no error, and every diagnostic found, errors
//! and warnings together. Names are resolved against the schema, every expression is typed,
//! optional fields are read only under a `has` guard, and the versions are checked against each
//! other: one policy, one schema, one as-of field, no overlapping spans.

pub mod analysis;
pub mod errors;
mod expr;
pub mod model;
mod schema;
pub mod types;
mod version;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

pub use errors::CheckError;
pub use version::sha256_hex;

use crate::ast::{self, ItemKind};
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::source::SourceFile;
use crate::syntax;
use crate::versions::{SpanProblem, span_problems};
use model::{Policy, TestFile, Version};
use types::Schema;

/// What `check` found.
#[derive(Debug)]
pub struct CheckReport {
    /// The checked policy, if there was no error.
    pub policy: Option<Policy>,
    /// Every error and warning, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckReport {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Reads a file as UTF-8 text, or says why it cannot. No more than the size limit is read, so
/// that a huge file, or a device such as `/dev/zero`, is refused without filling the memory.
pub fn read_source(path: &Path, display: &str) -> Result<SourceFile, Diagnostic> {
    use std::io::Read;
    let limit = syntax::MAX_SOURCE_BYTES;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| {
            Diagnostic::bare(&CheckError::CannotRead {
                path: display.to_string(),
                reason: e.to_string(),
            })
        })?;
    if bytes.len() > limit {
        let size = match std::fs::metadata(path) {
            Ok(m) if m.is_file() && m.len() > limit as u64 => format!("{} bytes", m.len()),
            _ => format!("more than {limit} bytes"),
        };
        return Err(Diagnostic::bare(&CheckError::FileTooLarge {
            path: display.to_string(),
            size,
            limit,
        }));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(display, text)),
        Err(e) => {
            // The text before the first invalid byte is valid: count its lines and characters.
            let valid = e
                .as_bytes()
                .get(..e.utf8_error().valid_up_to())
                .unwrap_or(&[]);
            let before = std::str::from_utf8(valid).unwrap_or("");
            let (line, column) = SourceFile::new(display, before).line_col(before.len());
            Err(Diagnostic::bare(&CheckError::NotUtf8 {
                path: display.to_string(),
                line,
                column,
            }))
        }
    }
}

struct Parsed {
    source: SourceFile,
    file: ast::File,
}

/// Checks a policy folder, or a single policy file.
pub fn check_path(path: &Path) -> CheckReport {
    let mut diagnostics = Vec::new();
    let (folder, files) = match list_files(path) {
        Ok(found) => found,
        Err(d) => {
            return CheckReport {
                policy: None,
                diagnostics: vec![d],
            };
        }
    };
    let listed = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
    let mut parsed = Vec::new();
    for (loaded, (_, in_tests)) in load_files(path, &files, listed).into_iter().zip(&files) {
        match loaded {
            Ok(file) => parsed.push((file, *in_tests)),
            Err(mut errors) => diagnostics.append(&mut errors),
        }
    }
    let unparsed = parsed.len() < files.len();
    let policy = check_parsed(&folder, path, parsed, &mut diagnostics);
    if unparsed {
        // A file that does not parse may well be the version: do not say there is none.
        diagnostics.retain(|d| d.code != "readmit::check::no_versions");
    }
    let failed = diagnostics.iter().any(Diagnostic::is_error);
    CheckReport {
        policy: if failed { None } else { policy },
        diagnostics,
    }
}

/// Reads one file of a policy named by `path`: `listed` when `path` is its folder.
fn read_file(path: &Path, file_path: &Path, listed: bool) -> Result<SourceFile, Vec<Diagnostic>> {
    let display = file_path.display().to_string();
    if listed && leads_outside(path, file_path) {
        return Err(vec![Diagnostic::bare(&CheckError::LinkOutside {
            path: display,
        })]);
    }
    read_source(file_path, &display).map_err(|d| vec![d])
}

/// The stack of a thread that parses: the main thread's (parsing and lowering recurse as deep
/// as brackets nest, up to [`syntax::MAX_NESTING`] and [`syntax::MAX_EXPR_DEPTH`]).
const PARSE_STACK: usize = 8 * 1024 * 1024;

/// Reads the files, then parses them, in their order, on as many threads as there are cores
/// and files: parsing is most of a run's start-up, and a policy's tests file alone is half of
/// it. Each thread takes the largest file left, so that the largest starts first.
fn load_files(
    path: &Path,
    files: &[(PathBuf, bool)],
    listed: bool,
) -> Vec<Result<Parsed, Vec<Diagnostic>>> {
    let sources: Vec<Result<SourceFile, Vec<Diagnostic>>> = files
        .iter()
        .map(|(file_path, _)| read_file(path, file_path, listed))
        .collect();
    // Pest's bound on the work of a parse is one for the process: set once, for the largest.
    let largest = sources
        .iter()
        .filter_map(|source| source.as_ref().ok())
        .map(|source| source.text.len())
        .max()
        .unwrap_or(0);
    syntax::limit_calls_for(largest);
    let parse = |index: usize| -> Option<Result<Parsed, Vec<Diagnostic>>> {
        Some(match sources.get(index)? {
            Ok(source) => syntax::parse_within_limit(source).map(|file| Parsed {
                source: source.clone(),
                file,
            }),
            Err(diagnostics) => Err(diagnostics.clone()),
        })
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(files.len());
    let mut largest_first: Vec<usize> = (0..files.len()).collect();
    largest_first.sort_by_key(|&index| {
        let size = sources
            .get(index)
            .and_then(|source| source.as_ref().ok())
            .map_or(0, |source| source.text.len());
        std::cmp::Reverse(size)
    });
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take_files = || {
        let mut done = Vec::new();
        loop {
            let taken = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&index) = largest_first.get(taken) else {
                return done;
            };
            if let Some(parsed) = parse(index) {
                done.push((index, parsed));
            }
        }
    };
    let mut slots: Vec<Option<Result<Parsed, Vec<Diagnostic>>>> =
        files.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .stack_size(PARSE_STACK)
                    .spawn_scoped(scope, take_files)
                    .ok()
            })
            .collect();
        let mut done = take_files();
        for helper in helpers {
            // A helper that failed leaves its files to the loop below.
            done.extend(helper.join().unwrap_or_default());
        }
        for (index, parsed) in done {
            if let Some(slot) = slots.get_mut(index) {
                *slot = Some(parsed);
            }
        }
    });
    slots
        .into_iter()
        .enumerate()
        .filter_map(|(index, slot)| slot.or_else(|| parse(index)))
        .collect()
}

/// The folder and the policy files to read: `(path, is in tests/)`.
fn list_files(path: &Path) -> Result<(PathBuf, Vec<(PathBuf, bool)>), Diagnostic> {
    let cannot_read = |e: std::io::Error| {
        Diagnostic::bare(&CheckError::CannotRead {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    };
    let metadata = std::fs::metadata(path).map_err(cannot_read)?;
    if !metadata.is_dir() {
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok((folder, vec![(path.to_path_buf(), false)]));
    }
    let mut files = Vec::new();
    for (dir, in_tests) in [(path.to_path_buf(), false), (path.join("tests"), true)] {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(_) if in_tests => continue,
            Err(e) => return Err(cannot_read(e)),
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "policy") && p.is_file())
            .collect();
        found.sort();
        files.extend(found.into_iter().map(|p| (p, in_tests)));
    }
    Ok((path.to_path_buf(), files))
}

/// Whether a path inside `folder` by its name leads out of it, through a symbolic link (of the
/// file, or of a folder on the way). A path that does not resolve (missing, a dangling link)
/// does not: reading it will say why. The folder of a file named without one
/// (`readmit check v.policy`) is the current folder.
fn leads_outside(folder: &Path, path: &Path) -> bool {
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    match (path.canonicalize(), folder.canonicalize()) {
        (Ok(real), Ok(base)) => !real.starts_with(base),
        _ => false,
    }
}

/// Resolves a path a policy names, refusing anything outside the folder: `..`, an absolute
/// path, or a symlink that leads out of it.
pub(crate) fn resolve_inside(folder: &Path, relative: &str) -> Option<PathBuf> {
    let candidate = Path::new(relative);
    let inside = candidate
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        return None;
    }
    let joined = folder.join(candidate);
    (!leads_outside(folder, &joined)).then_some(joined)
}

fn kind_of(item: &ItemKind) -> &'static str {
    match item {
        ItemKind::Schema(_) => "a `schema` block",
        ItemKind::PolicyHeader { .. } => "a `policy` header",
        ItemKind::InForce { .. } => "`in force`",
        ItemKind::Basis(_) => "`basis`",
        ItemKind::SchemaRef { .. } => "`schema … from`",
        ItemKind::AsOf(_) => "`as of`",
        ItemKind::Let(_) => "a `let`",
        ItemKind::Outcome(_) => "an `outcome`",
        ItemKind::Rule(_) => "a `rule`",
        ItemKind::Otherwise(_) => "`otherwise`",
        ItemKind::Cap(_) => "a `cap`",
        ItemKind::Warn(_) => "a `warn`",
        ItemKind::Test(_) => "a `test`",
    }
}

fn check_parsed(
    folder: &Path,
    given: &Path,
    parsed: Vec<(Parsed, bool)>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Policy> {
    let mut version_files = Vec::new();
    let mut schema_files = Vec::new();
    let mut tests = Vec::new();
    for (p, in_tests) in parsed {
        let is_schema = p
            .file
            .items
            .iter()
            .any(|i| matches!(i.kind, ItemKind::Schema(_)));
        // A file of version declarations is a version even when its `policy` line is missing:
        // that is reported as a missing declaration, not as items misplaced in a test file.
        let is_version = p.file.items.iter().any(|i| {
            matches!(i.kind, ItemKind::PolicyHeader { .. })
                || (!in_tests && !is_schema && !matches!(i.kind, ItemKind::Test(_)))
        });
        let (file_kind, allowed): (&str, fn(&ItemKind) -> bool) =
            if in_tests || (!is_version && !is_schema) {
                ("a test file", |i| matches!(i, ItemKind::Test(_)))
            } else if is_version {
                ("a version file", |i| !matches!(i, ItemKind::Schema(_)))
            } else {
                ("a schema file", |i| matches!(i, ItemKind::Schema(_)))
            };
        for item in &p.file.items {
            if !allowed(&item.kind) {
                diagnostics.push(Diagnostic::at(
                    &CheckError::Misplaced {
                        item: kind_of(&item.kind),
                        file_kind,
                    },
                    &p.source,
                    item.span,
                    format!("in {file_kind}"),
                ));
            }
        }
        let file_tests: Vec<ast::TestDef> = p
            .file
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Test(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        if !file_tests.is_empty() {
            tests.push(TestFile {
                source: p.source.clone(),
                tests: file_tests,
            });
        }
        if is_version && !in_tests {
            version_files.push(p);
        } else if is_schema && !in_tests {
            schema_files.push(p);
        }
    }

    // A lone schema file is checked on its own.
    if version_files.is_empty() {
        for p in &schema_files {
            for item in &p.file.items {
                if let ItemKind::Schema(def) = &item.kind {
                    let (_, mut found) = schema::check_schema(def, &p.source);
                    diagnostics.append(&mut found);
                }
            }
        }
        if schema_files.is_empty() && tests.is_empty() {
            diagnostics.push(Diagnostic::bare(&CheckError::NoVersions {
                path: given.display().to_string(),
            }));
        }
        return None;
    }

    // Schemas, by file, checked once each.
    let mut schemas: HashMap<PathBuf, Option<(SourceFile, ast::File)>> = HashMap::new();
    for p in schema_files {
        let path = PathBuf::from(&*p.source.name);
        schemas.insert(path, Some((p.source, p.file)));
    }
    let mut checked_schemas: HashMap<(PathBuf, String), Option<Arc<Schema>>> = HashMap::new();

    let mut versions: Vec<Version> = Vec::new();
    let mut first_schema: Option<(String, String)> = None;
    let mut first_as_of: Option<String> = None;
    let mut first_policy: Option<String> = None;
    for p in &version_files {
        let header = version::header(&p.file, &p.source, diagnostics);
        if let Some(policy) = header.policy {
            match &first_policy {
                None => first_policy = Some(policy.name.clone()),
                Some(expected) if *expected != policy.name => diagnostics.push(Diagnostic::at(
                    &CheckError::PolicyNameMismatch {
                        expected: expected.clone(),
                        found: policy.name.clone(),
                    },
                    &p.source,
                    policy.span,
                    "a different policy",
                )),
                Some(_) => {}
            }
        }
        let Some((schema_name, schema_path)) = header.schema else {
            // The missing declaration is reported by the version check, which needs a schema.
            let empty = Schema {
                name: String::new(),
                records: vec![Default::default()],
                enums: Vec::new(),
            };
            let (_, mut found) = version::check_version(&p.file, &header, &p.source, &empty);
            diagnostics.extend(
                found
                    .drain(..)
                    .filter(|d| d.code == "readmit::check::missing_declaration"),
            );
            continue;
        };
        match &first_schema {
            None => first_schema = Some((schema_name.name.clone(), schema_path.value.clone())),
            Some((name, path)) if *name != schema_name.name || *path != schema_path.value => {
                diagnostics.push(Diagnostic::at(
                    &CheckError::SchemaMismatch {
                        expected: format!("{name} from \"{path}\""),
                        found: format!("{} from \"{}\"", schema_name.name, schema_path.value),
                    },
                    &p.source,
                    schema_path.span,
                    "a different schema",
                ));
                continue;
            }
            Some(_) => {}
        }
        let Some(resolved) = resolve_inside(folder, &schema_path.value) else {
            diagnostics.push(Diagnostic::at(
                &CheckError::PathOutside {
                    path: schema_path.value.clone(),
                    folder: "the policy folder",
                },
                &p.source,
                schema_path.span,
                "outside the folder",
            ));
            continue;
        };
        let key = (resolved.clone(), schema_name.name.clone());
        if !checked_schemas.contains_key(&key) {
            let loaded =
                load_schema_file(&resolved, &mut schemas, diagnostics, &p.source, schema_path);
            let schema = loaded.and_then(|(source, file)| {
                let def = file.items.iter().find_map(|i| match &i.kind {
                    ItemKind::Schema(def) if def.name.name == schema_name.name => Some(def),
                    _ => None,
                });
                match def {
                    Some(def) => {
                        let (schema, mut found) = schema::check_schema(def, &source);
                        let failed = found.iter().any(Diagnostic::is_error);
                        diagnostics.append(&mut found);
                        (!failed).then(|| Arc::new(schema))
                    }
                    None => {
                        diagnostics.push(Diagnostic::at(
                            &CheckError::SchemaNotFound {
                                name: schema_name.name.clone(),
                                path: schema_path.value.clone(),
                            },
                            &p.source,
                            schema_name.span,
                            "not found there",
                        ));
                        None
                    }
                }
            });
            checked_schemas.insert(key.clone(), schema);
        }
        let Some(Some(schema)) = checked_schemas.get(&key).cloned() else {
            continue;
        };
        let (version, mut found) = version::check_version(&p.file, &header, &p.source, &schema);
        diagnostics.append(&mut found);
        if let Some(version) = version {
            let as_of = p.source.slice(version.as_of.span).to_string();
            match &first_as_of {
                None => first_as_of = Some(as_of),
                Some(expected) if *expected != as_of => diagnostics.push(Diagnostic::at(
                    &CheckError::AsOfMismatch {
                        expected: expected.clone(),
                        found: as_of,
                    },
                    &p.source,
                    version.as_of.span,
                    "a different field",
                )),
                Some(_) => {}
            }
            if let Some(first) = versions.iter().find(|v| v.id == version.id) {
                diagnostics.push(
                    Diagnostic::at(
                        &CheckError::DuplicateVersion {
                            version: version.id.clone(),
                        },
                        &p.source,
                        header.version.map_or(header.header_span, |v| v.span),
                        "defined again here",
                    )
                    .with_related(Diagnostic::note(
                        format!(
                            "version `{}` is first defined in `{}`",
                            version.id, first.source.name
                        ),
                        &first.source,
                        in_force_span(first),
                        "first defined here",
                    )),
                );
                continue;
            }
            versions.push(version);
        }
    }
    versions.sort_by_key(|v| v.from);

    for problem in span_problems(&versions) {
        match problem {
            SpanProblem::Overlap { first, second, day } => {
                let (Some(a), Some(b)) = (versions.get(first), versions.get(second)) else {
                    continue;
                };
                let kind = CheckError::OverlappingVersions {
                    first: a.id.clone(),
                    second: b.id.clone(),
                    day,
                };
                diagnostics.push(
                    Diagnostic::at(
                        &kind,
                        &b.source,
                        in_force_span(b),
                        "this version starts here",
                    )
                    .with_related(Diagnostic::note(
                        match a.until {
                            Some(until) if a.from != b.from => format!(
                                "version `{}` is in force until {}",
                                a.id,
                                crate::dates::format_date(until)
                            ),
                            _ => format!("version `{}` comes into force on the same day", a.id),
                        },
                        &a.source,
                        in_force_span(a),
                        if a.from == b.from {
                            "starts the same day"
                        } else {
                            "still in force then"
                        },
                    )),
                );
            }
            SpanProblem::Gap { after, from, to } => {
                let Some(a) = versions.get(after) else {
                    continue;
                };
                diagnostics.push(Diagnostic::at(
                    &CheckError::VersionGap { from, to },
                    &a.source,
                    in_force_span(a),
                    "this version ends before the next begins",
                ));
            }
        }
    }

    check_cap_references(&versions, diagnostics);
    let declared: Vec<String> = version_files
        .iter()
        .flat_map(|p| p.file.items.iter())
        .filter_map(|i| match &i.kind {
            ItemKind::PolicyHeader { version, .. } => Some(version.text.clone()),
            _ => None,
        })
        .collect();
    check_tests(&tests, &versions, &declared, diagnostics);
    for version in &versions {
        lint_version(&versions_schema(&checked_schemas), version, diagnostics);
    }

    let schema = checked_schemas.into_values().flatten().next()?;
    let name = first_policy?;
    Some(Policy {
        name,
        path: given.to_path_buf(),
        schema,
        versions,
        tests,
    })
}

fn versions_schema(
    checked: &HashMap<(PathBuf, String), Option<Arc<Schema>>>,
) -> Option<Arc<Schema>> {
    checked.values().flatten().next().cloned()
}

/// The lints that need the whole checked version: rules that can never decide, decisions
/// without a legal basis.
fn lint_version(
    schema: &Option<Arc<Schema>>,
    version: &Version,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let rule_span = |rule: &model::Rule| {
        let text = version.source.slice(rule.span);
        let end = text
            .find('\n')
            .map_or(rule.span.end, |i| rule.span.start + i);
        crate::source::Span::new(rule.span.start, end)
    };
    if let Some(schema) = schema {
        for finding in analysis::unreachable_rules(schema, version) {
            match finding {
                analysis::RuleFinding::Unreachable { rule, covered_by } => {
                    let Some(r) = version.rules.get(rule) else {
                        continue;
                    };
                    let names: Vec<String> = covered_by
                        .iter()
                        .filter_map(|&i| version.rules.get(i))
                        .map(|c| c.name.clone())
                        .collect();
                    let covered = match names.len() {
                        1 => format!("rule {}", crate::diagnostics::list_words(&names)),
                        _ => format!(
                            "rules {}",
                            crate::diagnostics::list_words(&names).replace(" or ", " and ")
                        ),
                    };
                    let mut d = Diagnostic::at(
                        &CheckError::UnreachableRule {
                            rule: r.name.clone(),
                            covered,
                        },
                        &version.source,
                        rule_span(r),
                        "never decides",
                    );
                    for &i in &covered_by {
                        if let Some(c) = version.rules.get(i) {
                            d = d.with_label(rule_span(c), "decides first");
                        }
                    }
                    diagnostics.push(d);
                }
                analysis::RuleFinding::NeverHolds { rule } => {
                    let Some(r) = version.rules.get(rule) else {
                        continue;
                    };
                    diagnostics.push(Diagnostic::at(
                        &CheckError::NeverHolds {
                            rule: r.name.clone(),
                        },
                        &version.source,
                        rule_span(r),
                        "its condition is never true",
                    ));
                }
            }
        }
    }
    if version.basis.is_none() {
        for rule in version
            .rules
            .iter()
            .chain(std::iter::once(&version.otherwise))
        {
            if rule.cites.is_empty() {
                diagnostics.push(Diagnostic::at(
                    &CheckError::NoCitation {
                        rule: rule.name.clone(),
                    },
                    &version.source,
                    rule_span(rule),
                    "no legal basis",
                ));
            }
        }
    }
}

fn in_force_span(version: &Version) -> crate::source::Span {
    let text: &str = &version.source.text;
    // The `in force` declaration starts a line; a comment may mention the words too.
    let declaration = text.match_indices("in force").map(|(i, _)| i).find(|&i| {
        text.get(..i).is_some_and(|before| {
            before.trim_end_matches([' ', '\t']).ends_with('\n') || before.trim().is_empty()
        })
    });
    match declaration {
        Some(start) => {
            let end = text
                .get(start..)
                .and_then(|r| r.find('\n'))
                .map_or(text.len(), |e| start + e);
            crate::source::Span::new(start, end)
        }
        None => crate::source::Span::new(0, 0),
    }
}

fn load_schema_file(
    resolved: &Path,
    schemas: &mut HashMap<PathBuf, Option<(SourceFile, ast::File)>>,
    diagnostics: &mut Vec<Diagnostic>,
    referrer: &SourceFile,
    reference: &ast::StrLit,
) -> Option<(SourceFile, ast::File)> {
    if let Some(entry) = schemas.get(resolved) {
        return entry.clone();
    }
    let display = resolved.display().to_string();
    let loaded = match read_source(resolved, &display) {
        Ok(source) => match syntax::parse(&source) {
            Ok(file) => Some((source, file)),
            Err(mut errors) => {
                diagnostics.append(&mut errors);
                None
            }
        },
        Err(d) => {
            let reason = d.message.clone();
            diagnostics.push(Diagnostic::at(
                &CheckError::CannotRead {
                    path: reference.value.clone(),
                    reason,
                },
                referrer,
                reference.span,
                "named here",
            ));
            None
        }
    };
    schemas.insert(resolved.to_path_buf(), loaded.clone());
    loaded
}

/// `counts grants of a, b` must name caps some version declares.
fn check_cap_references(versions: &[Version], diagnostics: &mut Vec<Diagnostic>) {
    let declared: Vec<&str> = versions
        .iter()
        .flat_map(|v| v.caps.iter().map(|c| c.name.as_str()))
        .collect();
    for version in versions {
        for cap in &version.caps {
            for name in cap.counts.caps.iter().flatten() {
                if !declared.contains(&name.as_str()) {
                    let suggestion =
                        did_you_mean(name, declared.iter().copied()).map(str::to_string);
                    diagnostics.push(Diagnostic::at(
                        &CheckError::UnknownCap {
                            name: name.clone(),
                            suggestion,
                        },
                        &version.source,
                        cap.span,
                        "counts grants of an undeclared cap",
                    ));
                }
            }
        }
    }
}

/// Tests must name versions and rules that exist; the rest is checked when they run.
fn check_tests(
    tests: &[TestFile],
    versions: &[Version],
    declared: &[String],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let ids: Vec<String> = declared.to_vec();
    for file in tests {
        for test in &file.tests {
            if let Some(ast::TestCase::FromFile { path, .. }) = &test.case {
                let folder = Path::new(&*file.source.name)
                    .parent()
                    .unwrap_or(Path::new(""));
                if resolve_inside(folder, &path.value).is_none() {
                    diagnostics.push(Diagnostic::at(
                        &CheckError::PathOutside {
                            path: path.value.clone(),
                            folder: "the test file's folder",
                        },
                        &file.source,
                        path.span,
                        "outside the folder",
                    ));
                }
            }
            let version = match &test.version {
                Some(v) => match versions.iter().find(|x| x.id == v.text) {
                    Some(found) => Some(found),
                    // A version with errors of its own is reported there, not again here.
                    None if declared.contains(&v.text) => continue,
                    None => {
                        diagnostics.push(Diagnostic::at(
                            &CheckError::UnknownVersion {
                                version: v.text.clone(),
                                versions: ids.clone(),
                            },
                            &file.source,
                            v.span,
                            "no such version",
                        ));
                        continue;
                    }
                },
                None => test
                    .as_of
                    .and_then(|d| crate::versions::in_force(versions, d.date)),
            };
            let (Some(version), Some(expect)) = (version, &test.expect) else {
                continue;
            };
            if let Some(rule) = &expect.rule {
                let exists =
                    rule.name == "otherwise" || version.rules.iter().any(|r| r.name == rule.name);
                if !exists {
                    let suggestion =
                        did_you_mean(&rule.name, version.rules.iter().map(|r| r.name.as_str()))
                            .map(str::to_string);
                    diagnostics.push(Diagnostic::at(
                        &CheckError::UnknownRule {
                            version: version.id.clone(),
                            rule: rule.name.clone(),
                            suggestion,
                        },
                        &file.source,
                        rule.span,
                        "no such rule",
                    ));
                }
            }
            if !version
                .outcomes
                .iter()
                .any(|o| o.name == expect.outcome.name)
            {
                let suggestion = did_you_mean(
                    &expect.outcome.name,
                    version.outcomes.iter().map(|o| o.name.as_str()),
                )
                .map(str::to_string);
                diagnostics.push(Diagnostic::at(
                    &CheckError::UnknownOutcome {
                        name: expect.outcome.name.clone(),
                        suggestion,
                    },
                    &file.source,
                    expect.outcome.span,
                    "not an outcome of this version",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn files_parsed_on_several_threads_report_in_file_order() {
        let folder = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // Sizes unlike the names' order: the largest is taken first, yet reported in its place.
        let files = [
            ("a.policy", 1),
            ("b.policy", 300),
            ("c.policy", 20),
            ("d.policy", 90),
        ];
        for (name, padding) in files {
            let text = format!("{}policy ??? broken\n", "// padding\n".repeat(padding));
            std::fs::write(folder.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
        }
        let report = super::check_path(folder.path());
        let named: Vec<String> = report
            .diagnostics
            .iter()
            .filter_map(|d| d.source.as_ref())
            .map(|s| s.name.rsplit('/').next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(named, ["a.policy", "b.policy", "c.policy", "d.policy"]);
    }
}
