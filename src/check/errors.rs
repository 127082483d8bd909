//! Everything the checker can find wrong with a policy: the wording lives here, in one place.

use crate::diagnostics::{Describe, Severity};

/// A finding of the checker.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CheckError {
    // ---- files and folders ----
    /// A file could not be read.
    #[error("cannot read `{path}`: {reason}")]
    CannotRead {
        /// The path.
        path: String,
        /// The system's reason.
        reason: String,
    },
    /// A file over the size limit, refused before it is read whole.
    #[error("`{path}` is too large ({size}; the limit is {limit} bytes)")]
    FileTooLarge {
        /// The path.
        path: String,
        /// Its size in words (`5000039 bytes`, or `more than …` for a stream).
        size: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A file that is not UTF-8 text.
    #[error("`{path}` is not UTF-8 text (an invalid byte on line {line}, column {column})")]
    NotUtf8 {
        /// The path.
        path: String,
        /// The line of the first invalid byte, from 1.
        line: usize,
        /// Its column, in characters from 1.
        column: usize,
    },
    /// A folder with no version file.
    #[error("no policy version in `{path}`")]
    NoVersions {
        /// The folder.
        path: String,
    },
    /// A path a policy names that leads outside its folder: a schema outside the policy
    /// folder, a test's case file outside the test file's folder.
    #[error("`{path}` is outside {folder}")]
    PathOutside {
        /// As written.
        path: String,
        /// The folder it must stay in, in words.
        folder: &'static str,
    },
    /// A `.policy` file of the folder (or of its `tests/`) that a symbolic link leads out of it.
    #[error("`{path}` is a link to a file outside the policy folder")]
    LinkOutside {
        /// The link, as found.
        path: String,
    },

    // ---- the structure of a file ----
    /// An item that does not belong in this kind of file.
    #[error("{item} does not belong in {file_kind}")]
    Misplaced {
        /// The item, in words.
        item: &'static str,
        /// The kind of file.
        file_kind: &'static str,
    },
    /// A declaration a version needs is missing.
    #[error("this version has no `{what}` declaration")]
    MissingDeclaration {
        /// The keyword.
        what: &'static str,
        /// An example of it.
        example: &'static str,
    },
    /// A declaration given twice.
    #[error("`{what}` is declared twice")]
    DuplicateDeclaration {
        /// The keyword.
        what: &'static str,
    },
    /// Two things of one kind with the same name.
    #[error("{what} `{name}` is defined twice")]
    DuplicateName {
        /// Kind of thing ("rule").
        what: &'static str,
        /// Its name.
        name: String,
    },

    // ---- schema ----
    /// A type name that does not exist.
    #[error("unknown type `{name}`")]
    UnknownType {
        /// As written.
        name: String,
        /// A close type name.
        suggestion: Option<&'static str>,
    },
    /// `optional` somewhere other than on a record field.
    #[error("`optional` applies to record fields only")]
    MisplacedOptional,
    /// A range on a type that has none.
    #[error("a range applies to `int` and `text` only")]
    MisplacedRange,
    /// A schema with no text `id` field.
    #[error("the schema has no required `id: text` field")]
    SchemaWithoutId,
    /// The schema file does not hold the schema a version names.
    #[error("`{path}` does not define schema `{name}`")]
    SchemaNotFound {
        /// The name wanted.
        name: String,
        /// The file.
        path: String,
    },

    // ---- names ----
    /// A case field that the schema does not have.
    #[error("{record} has no field `{name}`")]
    UnknownField {
        /// The record, in words.
        record: String,
        /// As written.
        name: String,
        /// A close field name.
        suggestion: Option<String>,
        /// The fields there are.
        fields: Vec<String>,
    },
    /// A bare word that names nothing.
    #[error("`{name}` is not defined")]
    UnknownName {
        /// As written.
        name: String,
        /// A close name.
        suggestion: Option<String>,
    },
    /// A let used above its definition.
    #[error("`{name}` is defined further down")]
    LetUsedBeforeDefinition {
        /// The let.
        name: String,
    },
    /// An enum value the field's enum does not have.
    #[error("`{value}` is not a value of `{field}`")]
    UnknownEnumValue {
        /// As written.
        value: String,
        /// The field or type it was compared with.
        field: String,
        /// The allowed values.
        allowed: Vec<String>,
        /// A close value.
        suggestion: Option<String>,
    },
    /// Two capitals that are not an assigned ISO 3166-1 code.
    #[error("`{code}` is not an assigned ISO 3166-1 country code")]
    UnknownCountry {
        /// As written.
        code: String,
    },
    /// An outcome that is not declared.
    #[error("outcome `{name}` is not declared")]
    UnknownOutcome {
        /// As written.
        name: String,
        /// A close outcome.
        suggestion: Option<String>,
    },
    /// A cap that is not declared.
    #[error("cap `{name}` is not declared")]
    UnknownCap {
        /// As written.
        name: String,
        /// A close cap.
        suggestion: Option<String>,
    },
    /// A function that does not exist.
    #[error("unknown function `{name}`")]
    UnknownFunction {
        /// As written.
        name: String,
        /// A close function.
        suggestion: Option<&'static str>,
    },
    /// An attribute the outcome does not declare.
    #[error("outcome `{outcome}` has no attribute `{name}`")]
    UnknownAttribute {
        /// The outcome.
        outcome: String,
        /// As written.
        name: String,
    },

    // ---- types ----
    /// An operand of the wrong type.
    #[error("{context} needs {expected}, but this is {found}")]
    WrongType {
        /// Where ("a `when` condition").
        context: String,
        /// What it needs.
        expected: String,
        /// What it got.
        found: String,
        /// A hint specific to the mistake.
        hint: Option<String>,
    },
    /// Two operands that cannot be compared.
    #[error("cannot compare {left} with {right}")]
    Incomparable {
        /// Left type.
        left: String,
        /// Right type.
        right: String,
    },
    /// An ordering comparison on values without an order.
    #[error("{ty} values have no order, so `{op}` cannot compare them")]
    NotOrdered {
        /// The type.
        ty: String,
        /// The operator.
        op: &'static str,
    },
    /// A function called with the wrong number of arguments.
    #[error("`{function}` takes {expected} arguments, not {found}")]
    WrongArity {
        /// The function.
        function: &'static str,
        /// How many it takes.
        expected: usize,
        /// How many it got.
        found: usize,
    },
    /// Integer arithmetic that may not fit in 64 bits.
    #[error("this arithmetic may overflow: its value ranges from {lo} to {hi}")]
    MayOverflow {
        /// Lowest possible value.
        lo: i128,
        /// Highest possible value.
        hi: i128,
    },
    /// An optional field read without a `has` guard.
    #[error("`{path}` may be absent: it is read without a `has` guard")]
    UnguardedOptional {
        /// The optional path.
        path: String,
        /// The guard to add.
        guard: String,
    },
    /// A list read by position without a guard on its length.
    #[error("`{path}[{index}]` may not exist: the list is read by position without a length guard")]
    UnguardedIndex {
        /// The list.
        path: String,
        /// The position.
        index: i64,
    },
    /// `has` on a field that is never absent.
    #[error("`{path}` is required, so `has {field}` is always true")]
    HasOnRequired {
        /// The record.
        path: String,
        /// The field.
        field: String,
    },
    /// An attribute set to a value of another type than declared.
    #[error("attribute `{name}` of `{outcome}` is {declared}, but this is {found}")]
    AttributeType {
        /// The outcome.
        outcome: String,
        /// The attribute.
        name: String,
        /// Its declared type.
        declared: String,
        /// The type given.
        found: String,
    },
    /// An attribute declared by type only and not set by a deciding rule.
    #[error("{decider} decides `{outcome}` without setting its attribute `{name}`")]
    MissingAttribute {
        /// "rule `x`" or "`otherwise`".
        decider: String,
        /// The outcome.
        outcome: String,
        /// The attribute.
        name: String,
        /// Its declared type.
        ty: String,
    },
    /// The `as of` expression is not a date field of the case.
    #[error("`as of` must name a date field of the case")]
    AsOfNotDate,

    // ---- rules, caps, versions ----
    /// A rule without one of its clauses.
    #[error("rule `{rule}` has no `{clause}`")]
    MissingClause {
        /// The rule.
        rule: String,
        /// The keyword.
        clause: &'static str,
        /// An example of it.
        example: &'static str,
    },
    /// `otherwise` without a reason.
    #[error("`otherwise` has no `because`")]
    OtherwiseWithoutReason,
    /// No `otherwise`.
    #[error("this version has no `otherwise`")]
    MissingOtherwise,
    /// A rule after `otherwise`.
    #[error("rule `{rule}` comes after `otherwise`, so it can never decide")]
    RuleAfterOtherwise {
        /// The rule.
        rule: String,
    },
    /// A cap missing one of its clauses.
    #[error("cap `{cap}` has no `{clause}`")]
    CapMissingClause {
        /// The cap.
        cap: String,
        /// The keyword.
        clause: &'static str,
        /// An example.
        example: &'static str,
    },
    /// A negative limit.
    #[error("the limit of cap `{cap}` is negative")]
    NegativeLimit {
        /// The cap.
        cap: String,
    },
    /// A cap overflowing into an outcome whose attribute has no declared value.
    #[error(
        "cap `{cap}` overflows into `{outcome}`, whose attribute `{attribute}` has no declared value"
    )]
    OverflowWithoutValue {
        /// The cap.
        cap: String,
        /// The overflow outcome.
        outcome: String,
        /// The attribute declared by type only.
        attribute: String,
    },
    /// Two versions in force on the same day.
    #[error("versions `{first}` and `{second}` are both in force on {day}")]
    OverlappingVersions {
        /// The earlier version.
        first: String,
        /// The later version.
        second: String,
        /// The first day both are in force.
        day: String,
    },
    /// Days on which no version is in force, between two versions.
    #[error("no version is in force from {from} to {to}")]
    VersionGap {
        /// First day of the gap.
        from: String,
        /// Last day of the gap.
        to: String,
    },
    /// A version whose policy name differs from its siblings'.
    #[error(
        "this version belongs to policy `{found}`, but the folder's other versions to `{expected}`"
    )]
    PolicyNameMismatch {
        /// The siblings' name.
        expected: String,
        /// This file's.
        found: String,
    },
    /// Two versions with the same id.
    #[error("version `{version}` is defined twice")]
    DuplicateVersion {
        /// The id.
        version: String,
    },
    /// `until` before `from`.
    #[error("the version ends before it begins")]
    EmptyVersionSpan,
    /// Versions that pick their version by different fields.
    #[error("this version takes its as-of date from `{found}`, the others from `{expected}`")]
    AsOfMismatch {
        /// The others'.
        expected: String,
        /// This one's.
        found: String,
    },
    /// Versions that read different schemas.
    #[error("this version reads `{found}`, the others read `{expected}`")]
    SchemaMismatch {
        /// The others'.
        expected: String,
        /// This one's.
        found: String,
    },
    /// A test naming a version the folder does not have.
    #[error("there is no version `{version}`")]
    UnknownVersion {
        /// As written.
        version: String,
        /// The versions there are.
        versions: Vec<String>,
    },
    /// A rule name in a test that no version has.
    #[error("version `{version}` has no rule `{rule}`")]
    UnknownRule {
        /// The version.
        version: String,
        /// As written.
        rule: String,
        /// A close rule.
        suggestion: Option<String>,
    },

    // ---- warnings ----
    /// A rule that earlier rules always pre-empt.
    #[error(
        "rule `{rule}` can never decide: every case it matches is decided earlier, by {covered}"
    )]
    UnreachableRule {
        /// The rule.
        rule: String,
        /// The covering rules, in words.
        covered: String,
    },
    /// A rule whose condition can never hold.
    #[error("the condition of rule `{rule}` can never hold")]
    NeverHolds {
        /// The rule.
        rule: String,
    },
    /// A decision without any legal basis.
    #[error("rule `{rule}` cites nothing, and the version has no `basis`")]
    NoCitation {
        /// The rule.
        rule: String,
    },
    /// A let never used.
    #[error("`{name}` is never used")]
    UnusedLet {
        /// The let.
        name: String,
    },
    /// An outcome no rule decides.
    #[error("outcome `{name}` is never decided")]
    UnusedOutcome {
        /// The outcome.
        name: String,
    },
    /// A cap no rule names.
    #[error("cap `{name}` rations no rule")]
    UnusedCap {
        /// The cap.
        name: String,
    },
}

impl Describe for CheckError {
    fn code(&self) -> &'static str {
        use CheckError as E;
        match self {
            E::CannotRead { .. } => "readmit::io::cannot_read",
            E::FileTooLarge { .. } => "readmit::parse::too_large",
            E::NotUtf8 { .. } => "readmit::parse::not_utf8",
            E::NoVersions { .. } => "readmit::check::no_versions",
            E::PathOutside { .. } => "readmit::check::path_outside",
            E::LinkOutside { .. } => "readmit::check::link_outside",
            E::Misplaced { .. } => "readmit::check::misplaced",
            E::MissingDeclaration { .. } => "readmit::check::missing_declaration",
            E::DuplicateDeclaration { .. } => "readmit::check::duplicate_declaration",
            E::DuplicateName { .. } => "readmit::check::duplicate_name",
            E::UnknownType { .. } => "readmit::check::unknown_type",
            E::MisplacedOptional => "readmit::check::misplaced_optional",
            E::MisplacedRange => "readmit::check::misplaced_range",
            E::SchemaWithoutId => "readmit::check::schema_without_id",
            E::SchemaNotFound { .. } => "readmit::check::schema_not_found",
            E::UnknownField { .. } => "readmit::check::unknown_field",
            E::UnknownName { .. } => "readmit::check::unknown_name",
            E::LetUsedBeforeDefinition { .. } => "readmit::check::let_used_before_definition",
            E::UnknownEnumValue { .. } => "readmit::check::unknown_enum_value",
            E::UnknownCountry { .. } => "readmit::check::unknown_country",
            E::UnknownOutcome { .. } => "readmit::check::unknown_outcome",
            E::UnknownCap { .. } => "readmit::check::unknown_cap",
            E::UnknownFunction { .. } => "readmit::check::unknown_function",
            E::UnknownAttribute { .. } => "readmit::check::unknown_attribute",
            E::WrongType { .. } => "readmit::check::wrong_type",
            E::Incomparable { .. } => "readmit::check::incomparable",
            E::NotOrdered { .. } => "readmit::check::not_ordered",
            E::WrongArity { .. } => "readmit::check::wrong_arity",
            E::MayOverflow { .. } => "readmit::check::may_overflow",
            E::UnguardedOptional { .. } => "readmit::check::unguarded_optional",
            E::UnguardedIndex { .. } => "readmit::check::unguarded_index",
            E::HasOnRequired { .. } => "readmit::check::has_on_required",
            E::AttributeType { .. } => "readmit::check::attribute_type",
            E::MissingAttribute { .. } => "readmit::check::missing_attribute",
            E::AsOfNotDate => "readmit::check::as_of_not_date",
            E::MissingClause { .. } => "readmit::check::missing_clause",
            E::OtherwiseWithoutReason => "readmit::check::otherwise_without_reason",
            E::MissingOtherwise => "readmit::check::missing_otherwise",
            E::RuleAfterOtherwise { .. } => "readmit::check::rule_after_otherwise",
            E::CapMissingClause { .. } => "readmit::check::cap_missing_clause",
            E::NegativeLimit { .. } => "readmit::check::negative_limit",
            E::OverflowWithoutValue { .. } => "readmit::check::overflow_without_value",
            E::OverlappingVersions { .. } => "readmit::versions::overlap",
            E::VersionGap { .. } => "readmit::versions::gap",
            E::PolicyNameMismatch { .. } => "readmit::versions::policy_name_mismatch",
            E::DuplicateVersion { .. } => "readmit::versions::duplicate_version",
            E::EmptyVersionSpan => "readmit::versions::empty_span",
            E::AsOfMismatch { .. } => "readmit::versions::as_of_mismatch",
            E::SchemaMismatch { .. } => "readmit::versions::schema_mismatch",
            E::UnknownVersion { .. } => "readmit::check::unknown_version",
            E::UnknownRule { .. } => "readmit::check::unknown_rule",
            E::UnreachableRule { .. } => "readmit::lint::unreachable_rule",
            E::NeverHolds { .. } => "readmit::lint::never_holds",
            E::NoCitation { .. } => "readmit::lint::no_citation",
            E::UnusedLet { .. } => "readmit::check::unused_let",
            E::UnusedOutcome { .. } => "readmit::check::unused_outcome",
            E::UnusedCap { .. } => "readmit::check::unused_cap",
        }
    }

    fn severity(&self) -> Severity {
        use CheckError as E;
        match self {
            E::VersionGap { .. }
            | E::UnreachableRule { .. }
            | E::NeverHolds { .. }
            | E::NoCitation { .. }
            | E::HasOnRequired { .. }
            | E::UnusedLet { .. }
            | E::UnusedOutcome { .. }
            | E::UnusedCap { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }

    fn help(&self) -> Option<String> {
        use CheckError as E;
        let did_you_mean = |s: &Option<String>| s.as_ref().map(|s| format!("did you mean `{s}`?"));
        match self {
            E::CannotRead { .. } => Some("check the path and its permissions".into()),
            E::FileTooLarge { .. } => Some("keep each file under 4 MiB: tests can be spread over several files of `tests/`; a version or a schema this large is probably not the file meant".into()),
            E::NotUtf8 { .. } => Some("save the file as UTF-8".into()),
            E::NoVersions { .. } => Some(
                "a policy folder holds `schema.policy` and one file per version, each starting with `policy NAME version V`"
                    .into(),
            ),
            E::PathOutside { folder, .. } => Some(format!("name a file inside {folder}, without `..`")),
            E::LinkOutside { .. } => Some("put the file itself in the policy folder: all that a policy reads stays inside its folder, where a review of the folder sees it".into()),
            E::Misplaced { file_kind, .. } => Some(match *file_kind {
                "a schema file" => "a schema file holds one `schema` block; move the rest into a version file".into(),
                "a test file" => "a test file holds only `test` blocks".into(),
                _ => "keep the schema in its own file and name it with `schema Case from \"schema.policy\"`".into(),
            }),
            E::MissingDeclaration { example, .. } => Some(format!("add `{example}` at the top of the file")),
            E::DuplicateDeclaration { .. } => Some("keep one of them".into()),
            E::DuplicateName { .. } => Some("rename one of them or remove the duplicate".into()),
            E::UnknownType { suggestion, .. } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`? The types are bool, int, text, date, country, an enum `a | b`, a record `{{ … }}`, `list of T` and `optional T`"),
                None => "the types are bool, int, text, date, country, an enum `a | b`, a record `{ … }`, `list of T` and `optional T`".into(),
            }),
            E::MisplacedOptional => Some("write `field: optional T` on the field of a record".into()),
            E::MisplacedRange => Some("remove the range, or make the field `int` or `text`".into()),
            E::SchemaWithoutId => Some("add `id: text 1..64`: every case needs an id".into()),
            E::SchemaNotFound { .. } => Some("check the schema's name and the file it is in".into()),
            E::UnknownField { suggestion, fields, .. } => match suggestion {
                Some(s) => Some(format!("did you mean `{s}`?")),
                None if !fields.is_empty() => Some(format!("the fields are {}", crate::diagnostics::list_words(fields).replace(" or ", " and "))),
                None => None,
            },
            E::UnknownName { suggestion, .. } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => "define it with `let`, or read a field of the case as `case.field`".into(),
            }),
            E::LetUsedBeforeDefinition { .. } => Some("move this `let` below the one it uses".into()),
            E::UnknownEnumValue { allowed, suggestion, .. } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`? The values are {}", crate::diagnostics::list_words(allowed)),
                None => format!("the values are {}", crate::diagnostics::list_words(allowed)),
            }),
            E::UnknownCountry { .. } => Some("write the officially assigned upper-case ISO 3166-1 alpha-2 code, e.g. `SY`".into()),
            E::UnknownOutcome { suggestion, .. } => did_you_mean(suggestion).or_else(|| Some("declare it with `outcome NAME`".into())),
            E::UnknownCap { suggestion, .. } => did_you_mean(suggestion).or_else(|| Some("declare it with `cap NAME { … }`".into())),
            E::UnknownFunction { suggestion, .. } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`? The functions are years, months, days, count and before"),
                None => "the functions are years, months, days, count and before".into(),
            }),
            E::UnknownAttribute { .. } => Some("declare the attribute on the outcome, or remove it here".into()),
            E::WrongType { hint, .. } => hint.clone(),
            E::Incomparable { .. } => Some("compare values of the same type; dates with dates, e.g. `case.entry_date < 2016-01-22`".into()),
            E::NotOrdered { op: "order by", .. } => Some("order by a date, an int, a text or a country, e.g. `order by case.decision_date, case.id`".into()),
            E::NotOrdered { .. } => Some("use `==` or `!=`, or `in [..]` for several values".into()),
            E::WrongArity { .. } => None,
            E::MayOverflow { .. } => Some("a value must fit in 64 bits: use smaller numbers, or give the int fields a narrower range in the schema, e.g. `adults: int 1..20`".into()),
            E::UnguardedOptional { guard, .. } => Some(format!("add `{guard} and` before it")),
            E::UnguardedIndex { path, index } => Some(format!("add `count({path}) > {index} and` before it")),
            E::HasOnRequired { .. } => Some("remove the `has` test, or make the field `optional` in the schema".into()),
            E::AttributeType { .. } => None,
            E::MissingAttribute { name, ty, .. } => Some(format!("add `with {{ {name}: … }}` (a {ty})")),
            E::AsOfNotDate => Some("e.g. `as of case.decision_date`".into()),
            E::MissingClause { example, .. } => Some(format!("add `{example}`")),
            E::OtherwiseWithoutReason => Some("add `because \"…\"`: every decision carries its reason".into()),
            E::MissingOtherwise => Some("add `otherwise OUTCOME because \"…\"` after the last rule, for the cases no rule covers".into()),
            E::RuleAfterOtherwise { .. } => Some("move `otherwise` after the last rule".into()),
            E::CapMissingClause { example, .. } => Some(format!("add `{example}`")),
            E::NegativeLimit { .. } => Some("a limit counts places: 0 or more".into()),
            E::OverflowWithoutValue { attribute, .. } => Some(format!(
                "an overflowed case takes the outcome's declared attributes and no rule sets them: declare a value, e.g. `{attribute}: \"…\"`, or overflow into another outcome"
            )),
            E::OverlappingVersions { .. } => Some("end the earlier version with `until` the day before the later one starts, or remove its `until`".into()),
            E::VersionGap { .. } => Some("cases dated in the gap cannot be decided; extend a version over it if that is not intended".into()),
            E::PolicyNameMismatch { .. } => Some("every version of a folder is a version of the same policy".into()),
            E::DuplicateVersion { .. } => Some("give each version its own id (its effective date)".into()),
            E::EmptyVersionSpan => Some("`until` is the last day in force; it cannot be before `from`".into()),
            E::AsOfMismatch { .. } | E::SchemaMismatch { .. } => Some("every version of a policy reads the same kind of case".into()),
            E::UnknownVersion { versions, .. } => Some(format!("the versions are {}", crate::diagnostics::list_words(versions))),
            E::UnknownRule { suggestion, .. } => did_you_mean(suggestion),
            E::UnreachableRule { .. } => Some("move the rule above the rules that cover it if it is an exception to them, or remove it".into()),
            E::NeverHolds { .. } => Some("the conditions contradict each other (or the schema): check the values and the dates".into()),
            E::NoCitation { .. } => Some("add `cites \"…\"` to the rule, or a `basis \"…\"` to the version: every decision needs its legal basis".into()),
            E::UnusedLet { .. } => Some("remove it, or use it in a rule".into()),
            E::UnusedOutcome { .. } => Some("remove it, or decide it in a rule".into()),
            E::UnusedCap { .. } => Some("name it with `within cap` on a rule, or remove it".into()),
        }
    }
}
