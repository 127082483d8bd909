//! Compile: a checked policy → programs the evaluator runs.
//!
//! Input: a [`check::model::Policy`](crate::check::model::Policy). Output: a [`Layout`] of case
//! slots shared by all versions (the case reader fills them) and one [`Program`] per version.
//! Field paths from the case become slot numbers, constants are built once, lets are numbered
//! and evaluated at most once per case; nothing in a program refers to a name. Comparisons of
//! slots with slots or constants get nodes of their own, and each version's lets, rules and
//! warnings are also compiled to closures ([`FastCode`](crate::eval::FastCode)) for deciding
//! without a trace.

use std::sync::Arc;

use crate::ast::Quantifier;
use crate::check::model::{self, ArithOp, CmpOp, Function, Policy, TExpr, TExprKind};
use crate::check::types::{RecordId, Schema, Ty};
use crate::country::Country;
use crate::dates::{Date, PeriodUnit, format_date};
use crate::source::Span;

/// A value in a case slot or computed during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An absent optional field.
    Absent,
    /// A present record field (its fields follow in the next slots).
    Present,
    /// A bool.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A text.
    Text(Box<str>),
    /// A date.
    Date(Date),
    /// A country.
    Country(Country),
    /// An enum value, by index.
    Enum(u32),
    /// A list.
    List(Box<[Value]>),
    /// A record inside a list: its slots, laid out by the record type's local layout.
    Record(Box<[Value]>),
}

/// Where each field of each record type lives among a record's slots.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Per record type: the slot of each field (by field index), relative to the record's start.
    pub fields: Vec<Vec<usize>>,
    /// Per record type: how many slots it takes (its fields and nested records' fields).
    pub sizes: Vec<usize>,
}

impl Layout {
    /// Lays out every record type of a schema: a record field takes one slot (present or
    /// absent) followed by its own fields' slots; a list takes one slot.
    pub fn of(schema: &Schema) -> Layout {
        let mut layout = Layout {
            fields: vec![Vec::new(); schema.records.len()],
            sizes: vec![0; schema.records.len()],
        };
        layout.compute(schema, Schema::ROOT);
        // Records only reachable inside lists are laid out on their own.
        for id in 0..schema.records.len() {
            if layout.fields.get(id).is_some_and(Vec::is_empty) {
                layout.compute(schema, id);
            }
        }
        layout
    }

    fn compute(&mut self, schema: &Schema, id: RecordId) -> usize {
        let Some(record) = schema.record(id) else {
            return 0;
        };
        let mut cursor = 0;
        let mut slots = Vec::with_capacity(record.fields.len());
        for field in record.fields.values() {
            slots.push(cursor);
            cursor += 1;
            if let Ty::Record(inner) = field.ty {
                cursor += self.compute(schema, inner);
            }
        }
        if let Some(f) = self.fields.get_mut(id) {
            *f = slots;
        }
        if let Some(s) = self.sizes.get_mut(id) {
            *s = cursor;
        }
        cursor
    }

    /// The slot of field `field` of record type `record`, relative to the record's start.
    pub fn slot(&self, record: RecordId, field: usize) -> Option<usize> {
        self.fields.get(record)?.get(field).copied()
    }

    /// How many slots a case takes.
    pub fn case_size(&self) -> usize {
        self.sizes.get(Schema::ROOT).copied().unwrap_or(0)
    }
}

/// A node of a compiled expression.
#[derive(Debug, Clone)]
pub enum Node {
    /// A constant.
    Const(Value),
    /// A case slot.
    Slot(usize),
    /// Whether a case slot holds a value.
    SlotPresent(usize),
    /// A quantifier's variable.
    Var(usize),
    /// A let, by number.
    Let(usize),
    /// A slot of a record value (an element of a list of records).
    RecordSlot {
        /// The record.
        base: Box<Node>,
        /// Its slot.
        slot: usize,
    },
    /// Whether a slot of a record value holds a value.
    RecordSlotPresent {
        /// The record.
        base: Box<Node>,
        /// Its slot.
        slot: usize,
    },
    /// An element of a list.
    Index {
        /// The list.
        base: Box<Node>,
        /// The position.
        index: usize,
    },
    /// A list built from elements that are not all constant.
    List(Vec<Node>),
    /// `not`.
    Not(Box<Node>),
    /// Unary minus.
    Neg(Box<Node>),
    /// Every operand holds.
    And(Vec<Node>),
    /// Some operand holds.
    Or(Vec<Node>),
    /// Comparison.
    Compare {
        /// Operator.
        op: CmpOp,
        /// Left.
        lhs: Box<Node>,
        /// Right.
        rhs: Box<Node>,
    },
    /// A comparison of two case slots (a [`Node::Compare`] specialised at compile time).
    CompareSlots {
        /// Operator.
        op: CmpOp,
        /// Left slot.
        lhs: usize,
        /// Right slot.
        rhs: usize,
    },
    /// A comparison of a case slot with a constant (a [`Node::Compare`] specialised at compile
    /// time).
    CompareSlotConst {
        /// Operator.
        op: CmpOp,
        /// The slot, on the left.
        slot: usize,
        /// The constant, on the right.
        value: Value,
    },
    /// Checked arithmetic.
    Arith {
        /// Operator.
        op: ArithOp,
        /// Left.
        lhs: Box<Node>,
        /// Right.
        rhs: Box<Node>,
    },
    /// Date plus a period.
    DateShift {
        /// The date.
        date: Box<Node>,
        /// Signed amount.
        amount: i64,
        /// Unit.
        unit: PeriodUnit,
    },
    /// Membership in a constant set of countries or enum values.
    InSet {
        /// `not in`.
        negated: bool,
        /// Value.
        item: Box<Node>,
        /// The set.
        set: Box<ValueSet>,
    },
    /// Membership.
    In {
        /// `not in`.
        negated: bool,
        /// Value.
        item: Box<Node>,
        /// List.
        list: Box<Node>,
    },
    /// `any` / `all`.
    Quantifier {
        /// Which.
        kind: Quantifier,
        /// List.
        list: Box<Node>,
        /// Condition over `Var(depth)`.
        body: Box<Node>,
    },
    /// Built-in function.
    Call {
        /// Which.
        function: Function,
        /// Arguments.
        args: Vec<Node>,
    },
}

impl Node {
    /// Whether the node is a condition: its value is always `true` or `false`, never absent.
    /// Evaluation relies on it (a let that is a condition is kept as a bit), so both paths
    /// answer these nodes, and only these, by their truth.
    pub fn is_condition(&self) -> bool {
        matches!(
            self,
            Node::SlotPresent(_)
                | Node::CompareSlots { .. }
                | Node::CompareSlotConst { .. }
                | Node::RecordSlotPresent { .. }
                | Node::Not(_)
                | Node::And(_)
                | Node::Or(_)
                | Node::Compare { .. }
                | Node::InSet { .. }
                | Node::In { .. }
                | Node::Quantifier { .. }
        )
    }
}

/// A constant set of countries and enum values, tested without a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueSet {
    /// Countries, one bit per two-letter code.
    pub countries: crate::country::CountrySet,
    /// Enum values (indices below 64), one bit each.
    pub enums: u64,
}

/// How an attribute value is written out.
#[derive(Debug, Clone)]
pub enum AttrKind {
    /// As JSON true/false.
    Bool,
    /// As a JSON integer.
    Int,
    /// As text (text, symbols).
    Text,
    /// As `YYYY-MM-DD`.
    Date,
    /// As the two-letter code.
    Country,
    /// As the value's name.
    Enum(Arc<[String]>),
}

/// An attribute of an outcome, compiled.
#[derive(Debug, Clone)]
pub struct CompiledAttr {
    /// Its name.
    pub name: Arc<str>,
    /// How to write it.
    pub kind: AttrKind,
    /// Its declared value (`None`: declared by type only, always set by the deciding rule).
    pub value: Option<Node>,
}

/// An outcome, compiled.
#[derive(Debug, Clone)]
pub struct CompiledOutcome {
    /// Its name.
    pub name: Arc<str>,
    /// Attributes in declared order.
    pub attributes: Vec<CompiledAttr>,
}

/// A condition of a rule as a caseworker reads it in a trace: one conjunct of `when`.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The condition as written.
    pub text: Arc<str>,
    /// The condition.
    pub node: Node,
    /// What it reads, as written (`case.entry_date`, `resident`), how to read it, and how to
    /// show its value.
    pub reads: Vec<(Arc<str>, Node, AttrKind)>,
}

/// A rule, compiled.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Its name.
    pub name: Arc<str>,
    /// Its `when`, split at top-level `and` for traces; empty for `otherwise`.
    pub conditions: Vec<Condition>,
    /// Its `unless`.
    pub unless: Option<Condition>,
    /// The outcome, by index.
    pub outcome: usize,
    /// Attributes it sets: (attribute index, value).
    pub with: Vec<(usize, Node)>,
    /// The cap rationing it, by index into [`Program::caps`].
    pub cap: Option<usize>,
    /// The reason.
    pub because: Arc<str>,
    /// Citations; the version's basis when the rule cites nothing.
    pub cites: Arc<[String]>,
    /// Where it is written.
    pub span: Span,
}

/// A cap, compiled.
#[derive(Debug, Clone)]
pub struct CompiledCap {
    /// Its name.
    pub name: Arc<str>,
    /// How many places.
    pub limit: u64,
    /// Grants of which caps count (`None`: every cap of the policy).
    pub counts_caps: Option<Vec<String>>,
    /// Grants from which as-of date count.
    pub counts_from: Option<Date>,
    /// Order keys.
    pub order_by: Vec<Node>,
    /// Outcome of eligible cases beyond the limit.
    pub overflow: usize,
}

/// A consistency warning, compiled.
#[derive(Debug, Clone)]
pub struct CompiledWarning {
    /// The message.
    pub message: Arc<str>,
    /// When it applies.
    pub when: Node,
}

/// One version, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Program {
    /// The policy's name.
    pub policy: Arc<str>,
    /// The version's id.
    pub version: Arc<str>,
    /// First day in force.
    pub from: Date,
    /// SHA-256 of the version file.
    pub sha256: Arc<str>,
    /// Lets, by number.
    pub lets: Vec<Node>,
    /// Let names and definitions as written, for traces.
    pub let_names: Vec<Arc<str>>,
    /// Rules in order.
    pub rules: Vec<CompiledRule>,
    /// The default.
    pub otherwise: CompiledRule,
    /// Outcomes.
    pub outcomes: Vec<CompiledOutcome>,
    /// Caps.
    pub caps: Vec<CompiledCap>,
    /// Warnings.
    pub warnings: Vec<CompiledWarning>,
    /// Source of the version (for traces and test diagnostics).
    pub source: crate::source::SourceFile,
    /// The lets, rules and warnings above compiled to closures, which decide a case without a
    /// trace.
    pub fast: crate::eval::FastCode,
}

/// A compiled policy: every version and the slot layout of its cases.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    /// The policy's name.
    pub name: Arc<str>,
    /// The schema.
    pub schema: Arc<Schema>,
    /// Slot layout of a case.
    pub layout: Arc<Layout>,
    /// The slot of the as-of date.
    pub as_of_slot: usize,
    /// The as-of field as written (`decision_date`).
    pub as_of_field: Arc<str>,
    /// The slot of the case id.
    pub id_slot: usize,
    /// Versions ordered by effective date.
    pub programs: Vec<Program>,
    /// Last day in force of each version, if it ends.
    pub last_days: Vec<Option<Date>>,
}

impl CompiledPolicy {
    /// The index of the version in force on `day`.
    pub fn in_force(&self, day: Date) -> Option<usize> {
        let index = self
            .programs
            .partition_point(|p| p.from <= day)
            .checked_sub(1)?;
        match self.last_days.get(index).copied().flatten() {
            Some(last) if day > last => None,
            _ => Some(index),
        }
    }

    /// The index of a version by id.
    pub fn version_index(&self, id: &str) -> Option<usize> {
        self.programs.iter().position(|p| &*p.version == id)
    }
}

/// Compiles a checked policy.
pub fn compile(policy: &Policy) -> CompiledPolicy {
    let layout = Layout::of(&policy.schema);
    let root_slot = |name: &str| -> usize {
        policy
            .schema
            .root()
            .and_then(|r| r.fields.get_index_of(name))
            .and_then(|i| layout.slot(Schema::ROOT, i))
            .unwrap_or(0)
    };
    let id_slot = root_slot("id");
    let (as_of_slot, as_of_field) = policy
        .versions
        .first()
        .map(|v| {
            let compiler = Compiler {
                layout: &layout,
                schema: &policy.schema,
                source: &v.source,
                lets: &v.lets,
            };
            let slot = match compiler.node(&v.as_of) {
                Node::Slot(s) => s,
                _ => 0,
            };
            let text = v
                .source
                .slice(v.as_of.span)
                .trim_start_matches("case.")
                .to_string();
            (slot, text)
        })
        .unwrap_or((0, String::new()));
    let programs: Vec<Program> = policy
        .versions
        .iter()
        .map(|v| compile_version(v, &layout, &policy.schema))
        .collect();
    let last_days = (0..policy.versions.len())
        .map(|i| crate::versions::last_day(&policy.versions, i))
        .collect();
    CompiledPolicy {
        name: Arc::from(policy.name.as_str()),
        schema: policy.schema.clone(),
        layout: Arc::new(layout),
        as_of_slot,
        as_of_field: Arc::from(as_of_field),
        id_slot,
        programs,
        last_days,
    }
}

struct Compiler<'a> {
    layout: &'a Layout,
    schema: &'a Schema,
    source: &'a crate::source::SourceFile,
    /// The version's lets, to see through a let that names a constant list.
    lets: &'a [model::Let],
}

fn compile_version(version: &model::Version, layout: &Layout, schema: &Schema) -> Program {
    let compiler = Compiler {
        layout,
        schema,
        source: &version.source,
        lets: &version.lets,
    };
    let basis_cites: Vec<String> = version.basis.iter().cloned().collect();
    let compile_rule = |rule: &model::Rule| -> CompiledRule {
        let conditions = match &rule.when {
            Some(TExpr {
                kind: TExprKind::And(conjuncts),
                ..
            }) => conjuncts
                .iter()
                .map(|c| compiler.condition(c, version))
                .collect(),
            Some(when) => vec![compiler.condition(when, version)],
            None => Vec::new(),
        };
        let cites = if rule.cites.is_empty() {
            basis_cites.clone()
        } else {
            rule.cites.clone()
        };
        CompiledRule {
            name: Arc::from(rule.name.as_str()),
            conditions,
            unless: rule.unless.as_ref().map(|u| compiler.condition(u, version)),
            outcome: rule.outcome,
            with: rule
                .with
                .iter()
                .map(|(i, e)| (*i, compiler.node(e)))
                .collect(),
            cap: rule.cap,
            because: Arc::from(rule.because.as_str()),
            cites: Arc::from(cites),
            span: rule.span,
        }
    };
    let mut program = Program {
        policy: Arc::from(version.policy.as_str()),
        version: Arc::from(version.id.as_str()),
        from: version.from,
        sha256: Arc::from(version.sha256.as_str()),
        lets: version
            .lets
            .iter()
            .map(|l| compiler.node(&l.value))
            .collect(),
        let_names: version
            .lets
            .iter()
            .map(|l| Arc::from(l.name.as_str()))
            .collect(),
        rules: version.rules.iter().map(compile_rule).collect(),
        otherwise: compile_rule(&version.otherwise),
        outcomes: version
            .outcomes
            .iter()
            .map(|o| CompiledOutcome {
                name: Arc::from(o.name.as_str()),
                attributes: o
                    .attributes
                    .iter()
                    .map(|a| CompiledAttr {
                        name: Arc::from(a.name.as_str()),
                        kind: attr_kind(&a.ty, schema),
                        value: a.value.as_ref().map(|v| compiler.node(v)),
                    })
                    .collect(),
            })
            .collect(),
        caps: version
            .caps
            .iter()
            .map(|c| CompiledCap {
                name: Arc::from(c.name.as_str()),
                limit: c.limit,
                counts_caps: c.counts.caps.clone(),
                counts_from: c.counts.from,
                order_by: c.order_by.iter().map(|k| compiler.node(k)).collect(),
                overflow: c.overflow,
            })
            .collect(),
        warnings: version
            .warnings
            .iter()
            .map(|w| CompiledWarning {
                message: Arc::from(w.message.as_str()),
                when: compiler.node(&w.when),
            })
            .collect(),
        source: version.source.clone(),
        fast: crate::eval::FastCode::default(),
    };
    program.fast = crate::eval::FastCode::of(&program);
    program
}

fn attr_kind(ty: &Ty, schema: &Schema) -> AttrKind {
    match ty {
        Ty::Bool => AttrKind::Bool,
        Ty::Int(_) => AttrKind::Int,
        Ty::Date => AttrKind::Date,
        Ty::Country => AttrKind::Country,
        Ty::Enum(id) => AttrKind::Enum(Arc::from(
            schema
                .enum_type(*id)
                .map(|e| e.values.clone())
                .unwrap_or_default(),
        )),
        _ => AttrKind::Text,
    }
}

impl Compiler<'_> {
    fn condition(&self, expr: &TExpr, version: &model::Version) -> Condition {
        let mut reads = Vec::new();
        self.collect_reads(expr, version, &mut reads);
        Condition {
            text: Arc::from(one_line(self.source.slice(expr.span))),
            node: self.node(expr),
            reads,
        }
    }

    /// The case fields and lets a condition reads, in order, each once.
    fn collect_reads(
        &self,
        expr: &TExpr,
        version: &model::Version,
        reads: &mut Vec<(Arc<str>, Node, AttrKind)>,
    ) {
        let mut push = |text: String, node: Node, ty: &Ty| {
            if !reads.iter().any(|(t, _, _)| **t == *text) {
                reads.push((
                    Arc::from(text),
                    node,
                    attr_kind(element_type(ty), self.schema),
                ));
            }
        };
        match &expr.kind {
            TExprKind::Field { .. } if is_case_rooted(expr) => {
                push(
                    one_line(self.source.slice(expr.span)),
                    self.node(expr),
                    &expr.ty,
                );
            }
            TExprKind::Has { .. } => {}
            TExprKind::Let(index) => {
                if let Some(l) = version.lets.get(*index) {
                    push(l.name.clone(), Node::Let(*index), &l.value.ty);
                    // A caseworker also needs what the let itself read to see why it holds.
                    self.collect_reads(&l.value, version, reads);
                }
            }
            _ => for_each_child(expr, |child| self.collect_reads(child, version, reads)),
        }
    }

    fn node(&self, expr: &TExpr) -> Node {
        let boxed = |e: &TExpr| Box::new(self.node(e));
        match &expr.kind {
            TExprKind::Bool(b) => Node::Const(Value::Bool(*b)),
            TExprKind::Int(i) => Node::Const(Value::Int(*i)),
            TExprKind::Text(t) | TExprKind::Symbol(t) => Node::Const(Value::Text(Box::from(&**t))),
            TExprKind::Date(d) => Node::Const(Value::Date(*d)),
            TExprKind::Country(c) => Node::Const(Value::Country(*c)),
            TExprKind::EnumValue { index, .. } => Node::Const(Value::Enum(*index)),
            TExprKind::Case => Node::Const(Value::Present),
            TExprKind::Var(depth) => Node::Var(*depth),
            TExprKind::Let(index) => Node::Let(*index),
            TExprKind::Field { base, field } => match self.field_slot(base, *field) {
                Some((None, slot)) => Node::Slot(slot),
                Some((Some(record), slot)) => Node::RecordSlot {
                    base: boxed(record),
                    slot,
                },
                None => Node::Const(Value::Absent),
            },
            TExprKind::Has { base, field } => match self.field_slot(base, *field) {
                Some((None, slot)) => Node::SlotPresent(slot),
                Some((Some(record), slot)) => Node::RecordSlotPresent {
                    base: boxed(record),
                    slot,
                },
                None => Node::Const(Value::Bool(false)),
            },
            TExprKind::Index { base, index } => Node::Index {
                base: boxed(base),
                index: *index,
            },
            TExprKind::List(items) => {
                let nodes: Vec<Node> = items.iter().map(|i| self.node(i)).collect();
                if nodes.iter().all(|n| matches!(n, Node::Const(_))) {
                    let values: Vec<Value> = nodes
                        .into_iter()
                        .filter_map(|n| match n {
                            Node::Const(v) => Some(v),
                            _ => None,
                        })
                        .collect();
                    Node::Const(Value::List(values.into_boxed_slice()))
                } else {
                    Node::List(nodes)
                }
            }
            TExprKind::Not(e) => Node::Not(boxed(e)),
            TExprKind::Neg(e) => Node::Neg(boxed(e)),
            TExprKind::And(ops) => Node::And(ops.iter().map(|o| self.node(o)).collect()),
            TExprKind::Or(ops) => Node::Or(ops.iter().map(|o| self.node(o)).collect()),
            TExprKind::Compare { op, lhs, rhs } => compare(*op, self.node(lhs), self.node(rhs)),
            TExprKind::Arith { op, lhs, rhs } => Node::Arith {
                op: *op,
                lhs: boxed(lhs),
                rhs: boxed(rhs),
            },
            TExprKind::DateShift { date, amount, unit } => Node::DateShift {
                date: boxed(date),
                amount: *amount,
                unit: *unit,
            },
            TExprKind::In {
                negated,
                item,
                list,
            } => match self.constant_set(list) {
                Some(set) => Node::InSet {
                    negated: *negated,
                    item: boxed(item),
                    set: Box::new(set),
                },
                None => Node::In {
                    negated: *negated,
                    item: boxed(item),
                    list: boxed(list),
                },
            },
            TExprKind::Quantifier { kind, list, body } => Node::Quantifier {
                kind: *kind,
                list: boxed(list),
                body: boxed(body),
            },
            TExprKind::Call { function, args } => Node::Call {
                function: *function,
                args: args.iter().map(|a| self.node(a)).collect(),
            },
        }
    }

    /// A constant list of countries or enum values, as a set tested in one step.
    fn constant_set(&self, list: &TExpr) -> Option<ValueSet> {
        let items = match &list.kind {
            TExprKind::List(items) => items.as_slice(),
            TExprKind::Let(i) => match &self.lets.get(*i)?.value.kind {
                TExprKind::List(items) => items.as_slice(),
                _ => return None,
            },
            _ => return None,
        };
        let mut set = ValueSet::default();
        for item in items {
            match &item.kind {
                TExprKind::Country(c) => set.countries.insert(*c),
                TExprKind::EnumValue { index, .. } if *index < 64 => set.enums |= 1 << index,
                _ => return None,
            }
        }
        Some(set)
    }

    /// Where the fields of a record-typed expression begin: in the case's slots (`None`) or in
    /// a record value (an element of a list of records), and at which slot.
    fn fields_start<'e>(&self, record: &'e TExpr) -> Option<(Option<&'e TExpr>, usize)> {
        match &record.kind {
            TExprKind::Case => Some((None, 0)),
            TExprKind::Field { base, field } => {
                let (owner, slot) = self.field_slot(base, *field)?;
                // A nested record's own slot says whether it is present; its fields follow.
                Some((owner, slot + 1))
            }
            _ => Some((Some(record), 0)),
        }
    }

    /// The slot of field `field` of the record `base`, and the record value holding it (`None`:
    /// the case itself).
    fn field_slot<'e>(&self, base: &'e TExpr, field: usize) -> Option<(Option<&'e TExpr>, usize)> {
        let Ty::Record(record) = base.ty else {
            return None;
        };
        let (owner, start) = self.fields_start(base)?;
        Some((owner, start + self.layout.slot(record, field)?))
    }
}

/// A comparison, specialised when it reads case slots and constants only: those are most
/// comparisons, and the specialised nodes read their operands in place.
fn compare(op: CmpOp, lhs: Node, rhs: Node) -> Node {
    match (lhs, rhs) {
        (Node::Slot(lhs), Node::Slot(rhs)) => Node::CompareSlots { op, lhs, rhs },
        (Node::Slot(slot), Node::Const(value)) => Node::CompareSlotConst { op, slot, value },
        (lhs, rhs) => Node::Compare {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
    }
}

/// A list's element type (how to show its elements); any other type itself.
fn element_type(ty: &Ty) -> &Ty {
    match ty {
        Ty::List(element) => element,
        other => other,
    }
}

fn is_case_rooted(expr: &TExpr) -> bool {
    match &expr.kind {
        TExprKind::Case => true,
        TExprKind::Field { base, .. } => is_case_rooted(base),
        _ => false,
    }
}

fn for_each_child(expr: &TExpr, mut f: impl FnMut(&TExpr)) {
    match &expr.kind {
        TExprKind::Field { base, .. }
        | TExprKind::Has { base, .. }
        | TExprKind::Index { base, .. } => f(base),
        TExprKind::List(items) | TExprKind::And(items) | TExprKind::Or(items) => {
            items.iter().for_each(f)
        }
        TExprKind::Call { args, .. } => args.iter().for_each(f),
        TExprKind::Not(e) | TExprKind::Neg(e) => f(e),
        TExprKind::Compare { lhs, rhs, .. } | TExprKind::Arith { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        TExprKind::DateShift { date, .. } => f(date),
        TExprKind::In { item, list, .. } => {
            f(item);
            f(list);
        }
        TExprKind::Quantifier { list, body, .. } => {
            f(list);
            f(body);
        }
        _ => {}
    }
}

/// Source text on one line, whitespace folded.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A date as text, for traces and attributes.
pub fn date_text(date: Date) -> String {
    format_date(date)
}
