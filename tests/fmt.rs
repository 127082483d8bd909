//! `readmit fmt`: the canonical layout is idempotent, keeps the meaning (the tree) and every
//! comment, and is the layout of the policies, fixtures and documentation examples of the
//! repository.
//!
//! - Generated policies (proptest): random trees, printed, must parse back to the same tree; the
//!   printed text is already canonical; the same text with its spaces turned into random line
//!   breaks and indentation formats back to it; with random comments added it formats to a text
//!   of the same tree and comments, which formats to itself.
//! - Every `.policy` file of the repository that parses (the parse-error fixtures of
//!   `tests/cases/parse/` aside) formats idempotently, to the same tree and comments; those of
//!   `policies/`, `examples/` and `tests/cases/check/` are in canonical form.
//! - Every ` ```readmit ` and ` ```readmit-fragment ` example of `docs/language.md` that parses
//!   is in canonical form.
//! - The command: `--check` changes nothing, prints a unified diff (snapshotted) and fails;
//!   without it, files are rewritten once and then left alone; a file that does not parse is
//!   never touched; a path that cannot be read exits 2.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use readmit::ast::*;
use readmit::dates::{Date, PeriodUnit};
use readmit::format::{comment_texts, format_source, print_file};
use readmit::source::{SourceFile, Span};
use readmit::syntax::parse;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn parse_text(text: &str) -> Result<File, String> {
    parse(&SourceFile::new("t.policy", text)).map_err(|errors| {
        let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
        format!("{}\n--- in ---\n{text}", messages.join("\n"))
    })
}

fn fmt(text: &str) -> Result<String, String> {
    format_source(&SourceFile::new("t.policy", text)).map_err(|errors| {
        let messages: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.message))
            .collect();
        format!("{}\n--- in ---\n{text}", messages.join("\n"))
    })
}

fn sorted_comments(text: &str) -> Vec<String> {
    let mut comments = comment_texts(text);
    comments.sort();
    comments
}

/// The checks every parsable text must pass: formatting succeeds, keeps the tree and the
/// comments, and is idempotent. Returns the formatted text.
fn assert_formats_well(name: &str, text: &str) -> String {
    let tree = parse_text(text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
    let formatted = fmt(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = parse_text(&formatted).unwrap_or_else(|e| panic!("{name}, formatted: {e}"));
    assert!(
        again == tree,
        "{name}: the formatted text means something else:\n{formatted}"
    );
    assert_eq!(
        sorted_comments(text),
        sorted_comments(&formatted),
        "{name}: comments changed:\n{formatted}"
    );
    let twice = fmt(&formatted).unwrap_or_else(|e| panic!("{name}, formatted: {e}"));
    assert_eq!(formatted, twice, "{name}: formatting is not idempotent");
    formatted
}

// ------------------------------------------------------------------------------------------------
// Generated policies

const KEYWORDS: &[&str] = &[
    "all",
    "and",
    "any",
    "as",
    "basis",
    "because",
    "by",
    "cap",
    "case",
    "cites",
    "counts",
    "expect",
    "false",
    "force",
    "from",
    "grants",
    "has",
    "in",
    "let",
    "limit",
    "list",
    "not",
    "of",
    "open",
    "optional",
    "or",
    "order",
    "otherwise",
    "outcome",
    "overflow",
    "policy",
    "rule",
    "schema",
    "test",
    "then",
    "true",
    "unless",
    "until",
    "version",
    "warn",
    "when",
    "with",
    "within",
];

/// Words that open a declared attribute type (`programme: text`), so cannot start a value.
const ATTR_TYPES: &[&str] = &["text", "int", "bool", "date", "country"];

fn span() -> Span {
    Span::default()
}

fn ident(name: String) -> Ident {
    Ident { name, span: span() }
}

fn str_lit(value: String) -> StrLit {
    StrLit {
        value,
        span: span(),
    }
}

fn e(kind: ExprKind) -> Expr {
    Expr { kind, span: span() }
}

/// A name the drafter defines: a small letter or `_` first, not a keyword.
fn name() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(vec![
            "a",
            "resident",
            "war_zones",
            "x",
            "_tmp",
            "days",
            "year"
        ])
        .prop_map(str::to_string),
        "[a-z_][a-zA-Z0-9_]{0,7}".prop_filter("not a keyword", |w| {
            !KEYWORDS.contains(&w.as_str()) && !ATTR_TYPES.contains(&w.as_str())
        }),
        // Long enough for a condition not to fit in 100 columns.
        "[a-z][a-z_]{20,40}",
    ]
    .boxed()
}

/// Any word: a field name, which may be a keyword.
fn field_name() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(KEYWORDS.to_vec()).prop_map(str::to_string),
        "[a-zA-Z_][a-zA-Z0-9_]{0,7}",
    ]
    .boxed()
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-zA-Z0-9 §–.,:;'()/]{0,20}",
        // Any character a text may hold: no control character but the tab and the new line.
        prop::collection::vec(
            any::<char>().prop_filter("a control character", |c| {
                !c.is_control() || *c == '\t' || *c == '\n'
            }),
            0..8
        )
        .prop_map(String::from_iter),
        Just("say \"no\" \\ // not a comment\n\tend".to_string()),
    ]
    .boxed()
}

fn date() -> BoxedStrategy<Date> {
    (0i16..=9999, 1i8..=12, 1i8..=28)
        .prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
        .boxed()
}

fn date_lit() -> BoxedStrategy<DateLit> {
    date()
        .prop_map(|date| DateLit { date, span: span() })
        .boxed()
}

fn int() -> BoxedStrategy<i64> {
    prop_oneof![0i64..1000, 0i64..=i64::MAX].boxed()
}

fn leaf() -> BoxedStrategy<Expr> {
    prop_oneof![
        any::<bool>().prop_map(|b| e(ExprKind::Bool(b))),
        int().prop_map(|i| e(ExprKind::Int(i))),
        text().prop_map(|s| e(ExprKind::Text(s))),
        date().prop_map(|d| e(ExprKind::Date(d))),
        "[A-Z]{2}".prop_map(|c| e(ExprKind::Country(c))),
        (
            0i64..100,
            prop::sample::select(vec![
                PeriodUnit::Years,
                PeriodUnit::Months,
                PeriodUnit::Days
            ])
        )
            .prop_map(|(amount, unit)| e(ExprKind::Period { amount, unit })),
        Just(e(ExprKind::Case)),
        name().prop_map(|n| e(ExprKind::Name(n))),
    ]
    .boxed()
}

fn cmp_op() -> BoxedStrategy<BinaryOp> {
    prop::sample::select(vec![
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
    ])
    .boxed()
}

/// A random tree of any shape; [`fix`] then adds the parentheses it needs to be written.
fn raw_expr() -> BoxedStrategy<Expr> {
    leaf()
        .prop_recursive(4, 24, 4, |inner| {
            let boxed = |x: Expr| Box::new(x);
            prop_oneof![
                (inner.clone(), field_name()).prop_map(move |(base, f)| e(ExprKind::Field {
                    base: boxed(base),
                    field: ident(f)
                })),
                (inner.clone(), 0i64..5).prop_map(move |(base, i)| e(ExprKind::Index {
                    base: boxed(base),
                    index: IntLit {
                        value: i,
                        span: span()
                    }
                })),
                prop::collection::vec(inner.clone(), 0..3).prop_map(|xs| e(ExprKind::List(xs))),
                prop::collection::vec((field_name(), inner.clone()), 0..3).prop_map(|fs| e(
                    ExprKind::Record(fs.into_iter().map(|(n, v)| (ident(n), v)).collect())
                )),
                (name(), prop::collection::vec(inner.clone(), 0..3)).prop_map(|(f, args)| e(
                    ExprKind::Call {
                        function: ident(f),
                        args
                    }
                )),
                inner
                    .clone()
                    .prop_map(move |x| e(ExprKind::Paren(boxed(x)))),
                (any::<bool>(), inner.clone()).prop_map(move |(not, x)| e(ExprKind::Unary {
                    op: if not { UnaryOp::Not } else { UnaryOp::Neg },
                    operand: boxed(x)
                })),
                prop::collection::vec(inner.clone(), 2..6).prop_map(|xs| e(ExprKind::And(xs))),
                prop::collection::vec(inner.clone(), 2..6).prop_map(|xs| e(ExprKind::Or(xs))),
                (cmp_op(), inner.clone(), inner.clone()).prop_map(move |(op, l, r)| e(
                    ExprKind::Binary {
                        op,
                        lhs: boxed(l),
                        rhs: boxed(r)
                    }
                )),
                (inner.clone(), field_name()).prop_map(move |(base, f)| e(ExprKind::Has {
                    base: boxed(base),
                    field: ident(f)
                })),
                (any::<bool>(), inner.clone(), inner.clone()).prop_map(move |(negated, i, c)| e(
                    ExprKind::In {
                        negated,
                        item: boxed(i),
                        collection: boxed(c)
                    }
                )),
                (any::<bool>(), name(), inner.clone(), inner.clone()).prop_map(
                    move |(all, var, list, body)| e(ExprKind::Quantifier {
                        kind: if all {
                            Quantifier::All
                        } else {
                            Quantifier::Any
                        },
                        var: ident(var),
                        list: boxed(list),
                        body: boxed(body)
                    })
                ),
            ]
        })
        .prop_map(|x| fix(x, 0, true))
        .boxed()
}

/// A condition: any expression, or often a long `and`/`or` chain that must be broken.
fn condition() -> BoxedStrategy<Expr> {
    prop_oneof![
        raw_expr(),
        (any::<bool>(), prop::collection::vec(raw_expr(), 3..7)).prop_map(|(and, xs)| {
            let chain = if and {
                ExprKind::And(xs)
            } else {
                ExprKind::Or(xs)
            };
            fix(e(chain), 0, true)
        }),
    ]
    .boxed()
}

/// How tightly an expression binds: `or` 1, `and` 2, comparisons 3, `+ -` 4, `*` 5, prefix 6,
/// postfix 7, anything else 8.
fn level(x: &Expr) -> u8 {
    match &x.kind {
        ExprKind::Or(_) => 1,
        ExprKind::And(_) => 2,
        ExprKind::Has { .. } | ExprKind::In { .. } => 3,
        ExprKind::Binary { op, .. } if op.is_comparison() => 3,
        ExprKind::Binary {
            op: BinaryOp::Add | BinaryOp::Sub,
            ..
        } => 4,
        ExprKind::Binary { .. } => 5,
        ExprKind::Unary { .. } => 6,
        ExprKind::Field { .. } | ExprKind::Index { .. } => 7,
        _ => 8,
    }
}

/// Whether the written expression ends in an `any`/`all` outside brackets, whose condition
/// would swallow whatever follows.
fn ends_in_quantifier(x: &Expr) -> bool {
    match &x.kind {
        ExprKind::Quantifier { .. } => true,
        ExprKind::Unary { operand, .. } => ends_in_quantifier(operand),
        ExprKind::And(xs) | ExprKind::Or(xs) => xs.last().is_some_and(ends_in_quantifier),
        ExprKind::Binary { rhs, .. } => ends_in_quantifier(rhs),
        ExprKind::In { collection, .. } => ends_in_quantifier(collection),
        _ => false,
    }
}

/// The tree with parentheses wherever the grammar needs them: a child binding less tightly than
/// `min` allows, or ending in a quantifier where something follows it (`last` is false).
fn fix(x: Expr, min: u8, last: bool) -> Expr {
    let fixed = fix_children(x, last);
    if level(&fixed) < min || (!last && ends_in_quantifier(&fixed)) {
        e(ExprKind::Paren(Box::new(fixed)))
    } else {
        fixed
    }
}

fn fix_children(x: Expr, last: bool) -> Expr {
    let b = Box::new;
    let kind = match x.kind {
        ExprKind::Field { base, field } => ExprKind::Field {
            base: b(fix(*base, 7, false)),
            field,
        },
        ExprKind::Index { base, index } => ExprKind::Index {
            base: b(fix(*base, 7, false)),
            index,
        },
        ExprKind::List(xs) => ExprKind::List(xs.into_iter().map(|x| fix(x, 0, true)).collect()),
        ExprKind::Record(fs) => {
            ExprKind::Record(fs.into_iter().map(|(n, v)| (n, fix(v, 0, true))).collect())
        }
        ExprKind::Call { function, args } => ExprKind::Call {
            function,
            args: args.into_iter().map(|x| fix(x, 0, true)).collect(),
        },
        ExprKind::Paren(inner) => ExprKind::Paren(b(fix(*inner, 0, true))),
        ExprKind::Unary { op, operand } => ExprKind::Unary {
            op,
            operand: b(fix(*operand, 6, last)),
        },
        ExprKind::And(xs) => ExprKind::And(chain(xs, 3, last)),
        ExprKind::Or(xs) => ExprKind::Or(chain(xs, 2, last)),
        ExprKind::Binary { op, lhs, rhs } => {
            let (l, r) = match op {
                _ if op.is_comparison() => (4, 4),
                BinaryOp::Mul => (5, 6),
                _ => (4, 5),
            };
            ExprKind::Binary {
                op,
                lhs: b(fix(*lhs, l, false)),
                rhs: b(fix(*rhs, r, last)),
            }
        }
        ExprKind::Has { base, field } => ExprKind::Has {
            base: b(fix(*base, 4, false)),
            field,
        },
        ExprKind::In {
            negated,
            item,
            collection,
        } => ExprKind::In {
            negated,
            item: b(fix(*item, 4, false)),
            collection: b(fix(*collection, 4, last)),
        },
        ExprKind::Quantifier {
            kind,
            var,
            list,
            body,
        } => ExprKind::Quantifier {
            kind,
            var,
            list: b(fix(*list, 4, false)),
            body: b(fix(*body, 0, last)),
        },
        other => other,
    };
    e(kind)
}

fn chain(xs: Vec<Expr>, min: u8, last: bool) -> Vec<Expr> {
    let n = xs.len();
    xs.into_iter()
        .enumerate()
        .map(|(i, x)| fix(x, min, last && i + 1 == n))
        .collect()
}

fn version_id() -> BoxedStrategy<VersionId> {
    prop_oneof![
        date().prop_map(readmit::dates::format_date),
        field_name(),
        text(),
    ]
    .prop_map(|text| VersionId { text, span: span() })
    .boxed()
}

fn type_expr() -> BoxedStrategy<TypeExpr> {
    let t = |kind: TypeKind| TypeExpr { kind, span: span() };
    let word = prop_oneof![
        prop::sample::select(vec!["int", "text", "date", "bool", "country"])
            .prop_map(str::to_string),
        name(),
    ];
    let range = (-50i64..50, 0i64..50).prop_map(|(lo, extra)| RangeLit {
        lo,
        hi: lo + extra,
        span: span(),
    });
    let leaf = prop_oneof![
        (word, prop::option::of(range)).prop_map(move |(w, range)| t(TypeKind::Word {
            word: ident(w),
            range
        })),
        prop::collection::vec(name(), 2..4)
            .prop_map(move |ws| t(TypeKind::Enum(ws.into_iter().map(ident).collect()))),
    ];
    leaf.prop_recursive(3, 12, 3, move |inner| {
        prop_oneof![
            inner
                .clone()
                .prop_map(move |x| t(TypeKind::Optional(Box::new(x)))),
            inner
                .clone()
                .prop_map(move |x| t(TypeKind::List(Box::new(x)))),
            (
                any::<bool>(),
                prop::collection::vec((field_name(), inner), 0..3)
            )
                .prop_map(move |(open, fields)| t(TypeKind::Record(record_type(open, fields)))),
        ]
    })
    .boxed()
}

fn record_type(open: bool, fields: Vec<(String, TypeExpr)>) -> RecordTypeExpr {
    RecordTypeExpr {
        open,
        fields: fields
            .into_iter()
            .map(|(n, ty)| FieldDecl {
                name: ident(n),
                ty,
                span: span(),
            })
            .collect(),
        span: span(),
    }
}

fn attrs() -> BoxedStrategy<Vec<Attr>> {
    let value = prop_oneof![
        prop::sample::select(ATTR_TYPES.to_vec())
            .prop_map(|w| AttrValue::Type(ident(w.to_string()))),
        raw_expr().prop_map(AttrValue::Expr),
    ];
    prop::collection::vec((field_name(), value), 0..3)
        .prop_map(|xs| {
            xs.into_iter()
                .map(|(n, value)| Attr {
                    name: ident(n),
                    value,
                    span: span(),
                })
                .collect()
        })
        .boxed()
}

fn strings() -> BoxedStrategy<Vec<StrLit>> {
    prop::collection::vec(text().prop_map(str_lit), 0..3).boxed()
}

fn item() -> BoxedStrategy<Item> {
    let item = |kind: ItemKind| Item { kind, span: span() };
    let schema = (
        "[A-Z][a-zA-Z0-9_]{0,6}",
        any::<bool>(),
        prop::collection::vec((field_name(), type_expr()), 0..5),
    )
        .prop_map(|(n, open, fields)| {
            ItemKind::Schema(SchemaDef {
                name: ident(n),
                record: record_type(open, fields),
            })
        });
    let header = prop_oneof![
        (name(), version_id()).prop_map(|(p, version)| ItemKind::PolicyHeader {
            policy: ident(p),
            version
        }),
        (date_lit(), prop::option::of(date_lit()))
            .prop_map(|(from, until)| ItemKind::InForce { from, until }),
        text().prop_map(|s| ItemKind::Basis(str_lit(s))),
        ("[A-Z][a-z]{0,5}", text()).prop_map(|(n, p)| ItemKind::SchemaRef {
            name: ident(n),
            path: str_lit(p)
        }),
        raw_expr().prop_map(ItemKind::AsOf),
    ];
    let let_def = (name(), condition()).prop_map(|(n, value)| {
        ItemKind::Let(LetDef {
            name: ident(n),
            value,
        })
    });
    let outcome = (name(), attrs()).prop_map(|(n, attributes)| {
        ItemKind::Outcome(OutcomeDef {
            name: ident(n),
            attributes,
        })
    });
    let then = (name(), attrs(), prop::option::of(name())).prop_map(|(o, with, cap)| Then {
        outcome: ident(o),
        with,
        cap: cap.map(ident),
        span: span(),
    });
    let rule = (
        name(),
        prop::option::of(condition()),
        prop::option::of(condition()),
        prop::option::of(then),
        prop::option::of(text().prop_map(str_lit)),
        strings(),
    )
        .prop_map(|(n, when, unless, then, because, cites)| {
            ItemKind::Rule(RuleDef {
                name: ident(n),
                when,
                unless,
                then,
                because,
                cites,
            })
        });
    let otherwise = (
        name(),
        attrs(),
        prop::option::of(text().prop_map(str_lit)),
        strings(),
    )
        .prop_map(|(o, with, because, cites)| {
            ItemKind::Otherwise(OtherwiseDef {
                outcome: ident(o),
                with,
                because,
                cites,
            })
        });
    let counts = (
        prop::collection::vec(name(), 0..3),
        prop::option::of(date_lit()),
    )
        .prop_map(|(caps, from)| CountsClause {
            caps: caps.into_iter().map(ident).collect(),
            from,
            span: span(),
        });
    let cap = (
        name(),
        prop::option::of(int()),
        prop::option::of(counts),
        prop::collection::vec(raw_expr(), 0..3),
        prop::option::of(name()),
    )
        .prop_map(|(n, limit, counts, order_by, overflow)| {
            ItemKind::Cap(CapDef {
                name: ident(n),
                limit: limit.map(|value| IntLit {
                    value,
                    span: span(),
                }),
                counts,
                order_by,
                overflow: overflow.map(ident),
            })
        });
    let warn = (text(), condition()).prop_map(|(m, when)| {
        ItemKind::Warn(WarnDef {
            message: str_lit(m),
            when,
        })
    });
    let case = prop_oneof![
        prop::collection::vec((field_name(), raw_expr()), 0..4).prop_map(|fs| TestCase::Inline(e(
            ExprKind::Record(fs.into_iter().map(|(n, v)| (ident(n), v)).collect())
        ))),
        (text(), field_name(), text()).prop_map(|(path, field, value)| TestCase::FromFile {
            path: str_lit(path),
            field: ident(field),
            value: str_lit(value)
        }),
    ];
    let expect = (
        name(),
        prop::option::of(prop_oneof![name(), Just("otherwise".to_string())]),
        attrs(),
        strings(),
    )
        .prop_map(|(o, rule, with, cites)| Expect {
            outcome: ident(o),
            rule: rule.map(ident),
            with,
            cites,
            span: span(),
        });
    let test = (
        text(),
        prop::option::of(version_id()),
        prop::option::of(date_lit()),
        prop::option::of(case),
        prop::option::of(expect),
    )
        .prop_map(|(n, version, as_of, case, expect)| {
            ItemKind::Test(TestDef {
                name: str_lit(n),
                version,
                as_of,
                case,
                expect,
            })
        });
    prop_oneof![
        schema, header, let_def, outcome, rule, otherwise, cap, warn, test
    ]
    .prop_map(item)
    .boxed()
}

fn policy() -> BoxedStrategy<File> {
    prop::collection::vec(item(), 0..8)
        .prop_map(|items| File { items })
        .boxed()
}

/// Positions of the spaces outside string literals.
fn spaces_outside_strings(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ' ' {
            found.push(i);
        }
    }
    found
}

/// The text with some spaces outside strings turned into line breaks, indentation or more
/// spaces, and some lines indented at random: the same tree in a bad layout.
fn mangle(text: &str, choices: &[u8]) -> String {
    let spaces = spaces_outside_strings(text);
    let mut out = String::with_capacity(text.len() * 2);
    let mut last = 0;
    for (k, &pos) in spaces.iter().enumerate() {
        out.push_str(&text[last..pos]);
        out.push_str(
            match choices.get(k % choices.len().max(1)).copied().unwrap_or(0) % 6 {
                0 => "\n",
                1 => "\n      ",
                2 => "   ",
                3 => "\t",
                _ => " ",
            },
        );
        last = pos + 1;
    }
    out.push_str(&text[last..]);
    out
}

/// The text with comments added: some at the end of lines, some on lines of their own (with
/// an empty line before some of them), numbered so that each is unique.
fn add_comments(text: &str, choices: &[u8]) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let choice = choices.get(i % choices.len().max(1)).copied().unwrap_or(0);
        if choice % 5 == 1 {
            out.push_str(&format!(
                "{}// own {i}\n",
                " ".repeat(usize::from(choice % 7))
            ));
        }
        if choice % 11 == 3 {
            out.push_str(&format!("\n// after an empty line {i}\n\n"));
        }
        out.push_str(line);
        if choice % 3 == 0 && !line.trim().is_empty() {
            out.push_str(&format!(" // trailing {i} \"quoted\" // twice"));
        }
        out.push('\n');
    }
    if choices.first().is_some_and(|c| c % 2 == 0) {
        out.push_str("\n// at the end\n");
    }
    out
}

fn check_generated(file: &File, choices: &[u8]) -> Result<(), TestCaseError> {
    let printed = print_file(file);
    let parsed = parse_text(&printed).map_err(TestCaseError::fail)?;
    prop_assert!(parsed == *file, "the printer is not faithful:\n{printed}");
    let formatted = fmt(&printed).map_err(TestCaseError::fail)?;
    prop_assert_eq!(&formatted, &printed, "printed text is not canonical");
    let mangled = mangle(&printed, choices);
    let formatted = fmt(&mangled).map_err(TestCaseError::fail)?;
    prop_assert_eq!(
        &formatted,
        &printed,
        "a bad layout does not format to the canonical one:\n{}",
        mangled
    );
    let commented = add_comments(&mangled, choices);
    let formatted = fmt(&commented).map_err(TestCaseError::fail)?;
    let reparsed = parse_text(&formatted).map_err(TestCaseError::fail)?;
    prop_assert!(reparsed == *file, "comments changed the tree:\n{formatted}");
    prop_assert_eq!(sorted_comments(&commented), sorted_comments(&formatted));
    let twice = fmt(&formatted).map_err(TestCaseError::fail)?;
    prop_assert_eq!(
        &twice,
        &formatted,
        "not idempotent; from:\n{}\n--- first ---\n{}",
        commented,
        formatted
    );
    Ok(())
}

#[test]
fn generated_policies_format_canonically_and_idempotently() {
    let cases = std::env::var("READMIT_FMT_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(96);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (policy(), prop::collection::vec(any::<u8>(), 1..16));
    let result = runner.run(&strategy, |(file, choices)| {
        check_generated(&file, &choices)
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}

#[test]
fn expressions_keep_their_parentheses_and_add_none() {
    let text = "let x = (a or b) and not (c) and -(1 + 2) * 3 == (any y in [1]: y > 0) or all z in [2]: z in [(2)]\n";
    assert_eq!(fmt(text).as_deref(), Ok(text));
}

// ------------------------------------------------------------------------------------------------
// The repository's policies, fixtures and examples

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

/// Fixtures under `tests/cases/check/` whose layout is part of what they test, left as they are
/// (none so far; a fixture about layout would be listed here with the reason).
const LAYOUT_FIXTURES: &[&str] = &[];

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn every_policy_of_the_repository_formats_well_and_is_canonical() {
    let mut not_canonical = Vec::new();
    let mut count = 0;
    for folder in ["policies", "examples", "tests/cases/check"] {
        for path in policy_files(&root().join(folder)) {
            let name = relative(&path);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue; // not UTF-8 on purpose (cases/check/structure/not_utf8.policy)
            };
            if parse_text(&text).is_err() {
                continue;
            }
            count += 1;
            let formatted = assert_formats_well(&name, &text);
            if formatted != text && !LAYOUT_FIXTURES.contains(&name.as_str()) {
                not_canonical.push(name);
            }
        }
    }
    assert!(count > 50, "only {count} policy files found");
    assert!(
        not_canonical.is_empty(),
        "not in canonical form (run `readmit fmt` on them): {not_canonical:?}"
    );
}

#[test]
fn every_parse_error_fixture_is_refused() {
    let fixtures = policy_files(&root().join("tests/cases/parse"));
    assert!(fixtures.len() > 10);
    for path in fixtures {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(fmt(&text).is_err(), "{} formats", relative(&path));
    }
}

/// The policy examples of the reference: (line of the `.md`, info string, text without the
/// fence's indentation).
fn doc_examples() -> Vec<(usize, String, String)> {
    let markdown = std::fs::read_to_string(root().join("docs/language.md")).unwrap_or_default();
    let mut found = Vec::new();
    let mut open: Option<(usize, String, usize, String)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            Some((start, info, indent, text)) => {
                if trimmed == "```" {
                    found.push((*start, info.clone(), text.clone()));
                    open = None;
                } else {
                    text.push_str(line.get(*indent..).unwrap_or(line.trim_start()));
                    text.push('\n');
                }
            }
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let indent = line.len() - trimmed.len();
                    open = Some((index + 2, info.trim().to_string(), indent, String::new()));
                }
            }
        }
    }
    found
}

#[test]
fn the_reference_examples_are_in_canonical_form() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (line, info, text) in doc_examples() {
        let kind = info.split_whitespace().next().unwrap_or("");
        if kind != "readmit" && kind != "readmit-fragment" {
            continue;
        }
        if parse_text(&text).is_err() {
            // Wrong on purpose (`expect=readmit::parse::…`).
            continue;
        }
        checked += 1;
        let name = format!("docs/language.md:{line}");
        let formatted = assert_formats_well(&name, &text);
        if formatted != text {
            failures.push(format!("{name}:\n{formatted}"));
        }
    }
    assert!(checked >= 20, "only {checked} examples found");
    assert!(
        failures.is_empty(),
        "examples not in canonical form; as `readmit fmt` writes them:\n\n{}",
        failures.join("\n")
    );
}

// ------------------------------------------------------------------------------------------------
// The command

/// A badly laid-out version: one-line rules, a crowded schema-free header, stray indentation,
/// comments in awkward places.
const BAD_LAYOUT: &str = r#"// A badly laid-out version.
policy demo version 2020-01-01
in force from 2020-01-01


schema Case from "schema.policy"
    as of case.decision_date
let late = case.entry_date > 2020-06-01 and case.special and case.household >= 2 and case.category != minor
outcome accept { transport : bus , via : "Storskog" }
outcome refuse
rule special_case: when case.special // the only rule
 then refuse because "The case is special." cites "Act § 1" , "Act § 2"
otherwise accept because "No rule applies."
cap quota { limit 10
  order by case.decision_date,case.id overflow refuse }
"#;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("readmit-fmt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    fn fmt(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_readmit"))
            .arg("--error-format")
            .arg("plain")
            .arg("fmt")
            .args(args)
            .current_dir(&self.0)
            .output()
            .unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_prints_a_diff_changes_nothing_and_fails() {
    let scratch = Scratch::new("check");
    let path = scratch.write("bad.policy", BAD_LAYOUT);
    let out = scratch.fmt(&["--check", "bad.policy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), BAD_LAYOUT);
    assert_eq!(
        stderr(&out).trim(),
        "1 file would be reformatted, 0 unchanged"
    );
    insta::assert_snapshot!("check_diff_of_a_bad_layout", stdout(&out));
}

#[test]
fn fmt_rewrites_once_then_leaves_files_alone() {
    let scratch = Scratch::new("rewrite");
    let bad = scratch.write("policy/2020-01-01.policy", BAD_LAYOUT);
    let good_text = fmt(BAD_LAYOUT).unwrap();
    let good = scratch.write("policy/tests/good.policy", &good_text);
    scratch.write("policy/notes.txt", "not a policy {");
    let out = scratch.fmt(&["policy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim(), "1 file reformatted, 1 unchanged");
    assert_eq!(stdout(&out), "");
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), good_text);
    assert_eq!(std::fs::read_to_string(&good).unwrap(), good_text);
    let leftovers: Vec<_> = std::fs::read_dir(scratch.0.join("policy"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        leftovers.len(),
        3,
        "a temporary file was left: {leftovers:?}"
    );

    let again = scratch.fmt(&["--check", "policy"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(stdout(&again), "");
    assert_eq!(
        stderr(&again).trim(),
        "0 files would be reformatted, 2 unchanged"
    );
}

#[cfg(unix)]
#[test]
fn a_rewritten_file_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("permissions");
    let path = scratch.write("p.policy", BAD_LAYOUT);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = scratch.fmt(&["p.policy"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn a_file_that_does_not_parse_is_never_touched() {
    let scratch = Scratch::new("broken");
    let broken_text = "rule a:\n    when x = 1\n";
    let broken = scratch.write("broken.policy", broken_text);
    let bad = scratch.write("bad.policy", BAD_LAYOUT);
    let out = scratch.fmt(&["broken.policy", "bad.policy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), broken_text);
    assert_ne!(std::fs::read_to_string(&bad).unwrap(), BAD_LAYOUT);
    let err = stderr(&out);
    assert!(err.contains("readmit::parse::"), "{err}");
    assert!(
        err.trim_end()
            .ends_with("1 file reformatted, 0 unchanged, 1 with errors left as it was"),
        "{err}"
    );
}

#[test]
fn a_path_that_cannot_be_read_exits_2() {
    let scratch = Scratch::new("missing");
    let out = scratch.fmt(&["--check", "no-such-folder"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("readmit::io::cannot_read"));
}

#[cfg(unix)]
#[test]
fn an_endless_file_is_refused_at_the_size_limit() {
    // `fmt` once read a file whole: a link to /dev/zero filled the memory.
    if !Path::new("/dev/zero").exists() {
        eprintln!("no /dev/zero here: skipped");
        return;
    }
    let scratch = Scratch::new("endless");
    let linked = std::os::unix::fs::symlink("/dev/zero", scratch.0.join("zero.policy"));
    assert!(linked.is_ok(), "{linked:?}");
    let out = scratch.fmt(&["--check", "zero.policy"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("readmit::parse::too_large"),
        "{}",
        stderr(&out)
    );
}
