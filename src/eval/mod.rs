//! Evaluate: a typed case and a compiled version → the rule that decides it.
//!
//! Input: a [`Case`] and a [`Program`]. Output: a [`Decided`] — the first rule whose conditions
//! hold (or `otherwise`), its outcome, attributes, cap, order keys and warnings — and, on
//! request, the [`Trace`] of every rule tried. Evaluation is pure: it reads the case and the
//! program and nothing else, so cases may be evaluated in any order and on any thread. Each let
//! is evaluated at most once per case.
//!
//! Two paths give the same decision: [`decide`] runs the closures each version's conditions were
//! compiled to ([`FastCode`]), [`decide_traced`] walks the condition trees, which lets it record
//! what each condition read.

mod fast;
mod trace;
mod value;

use std::sync::Arc;

use fast::CompiledLet;
pub use fast::FastCode;
pub use trace::{ConditionTrace, RuleTrace, Trace};
pub use value::{Scalar, SortKey, Val};

use crate::ast::Quantifier;
use crate::cases::Case;
use crate::check::model::{ArithOp, Function};
use crate::compile::{AttrKind, CompiledRule, Node, Program, Value};
use crate::dates::{add_period, days_between, format_date, months_between, years_between};

/// Which rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleRef {
    /// A rule, by index.
    Rule(usize),
    /// The version's `otherwise`.
    Otherwise,
}

/// The decision of one case by one version, before caps are allocated.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// The version's index in the policy.
    pub version: usize,
    /// The deciding rule.
    pub rule: RuleRef,
    /// The outcome, by index into the version's outcomes.
    pub outcome: usize,
    /// The cap rationing the decision, by index into the version's caps.
    pub cap: Option<usize>,
    /// For a capped decision: the cap's order keys.
    pub order_keys: Vec<SortKey>,
    /// The warnings whose conditions hold, by index into the program's warnings.
    pub warnings: Vec<u16>,
}

struct Ctx<'a> {
    program: &'a Program,
    case: &'a [Value],
    /// Which truth lets are computed (a bit each, see [`CompiledLet::Truth`]) …
    known_truths: u64,
    /// … and which of those hold.
    truths: u64,
    /// The other lets' values once computed; inline up to 4, so that a case allocates nothing.
    /// Empty until a value let is first read: most cases read none, and a context that starts
    /// with nothing but lengths in it is set up with a few stores.
    values: smallvec::SmallVec<[Option<Val<'a>>; 4]>,
    vars: smallvec::SmallVec<[Val<'a>; 4]>,
}

/// Decides a case by a version (`version` is the program's index, recorded in the result).
pub fn decide(program: &Program, version: usize, case: &Case) -> Decided {
    let mut ctx = Ctx::new(program, &case.slots);
    let rule = first_holding(&mut ctx);
    ctx.decision(version, rule, Path::Fast)
}

/// Decides a case and records why: every rule tried, each condition with what it read.
pub fn decide_traced(program: &Program, version: usize, case: &Case) -> (Decided, Trace) {
    let mut ctx = Ctx::new(program, &case.slots);
    let mut trace = Trace::default();
    let mut decided_by = RuleRef::Otherwise;
    for (index, rule) in program.rules.iter().enumerate() {
        let rule_trace = ctx.trace_rule(rule);
        let held = rule_trace.held;
        trace.rules.push(rule_trace);
        if held {
            decided_by = RuleRef::Rule(index);
            break;
        }
    }
    if decided_by == RuleRef::Otherwise {
        trace.rules.push(RuleTrace {
            rule: program.otherwise.name.clone(),
            held: true,
            conditions: Vec::new(),
            unless: None,
        });
    }
    let decided = ctx.decision(version, decided_by, Path::Tree);
    (decided, trace)
}

/// The attribute values of an outcome for a case, in declared order: those a deciding rule sets
/// with `with` (pass `None` for an overflowed decision, which takes the declared values only).
pub fn attribute_values(
    program: &Program,
    case: &Case,
    outcome: usize,
    rule: Option<RuleRef>,
) -> Vec<Scalar> {
    let mut ctx = Ctx::new(program, &case.slots);
    let with: &[(usize, Node)] = match rule {
        Some(RuleRef::Rule(i)) => program.rules.get(i).map_or(&[], |r| r.with.as_slice()),
        Some(RuleRef::Otherwise) => &program.otherwise.with,
        None => &[],
    };
    let mut out = Vec::new();
    ctx.attribute_values(outcome, with, &mut out);
    out
}

/// The attributes of an outcome for a case, with their names (see [`attribute_values`]).
pub fn attributes(
    program: &Program,
    case: &Case,
    outcome: usize,
    rule: Option<RuleRef>,
) -> Vec<(Arc<str>, Scalar)> {
    let values = attribute_values(program, case, outcome, rule);
    let Some(outcome) = program.outcomes.get(outcome) else {
        return Vec::new();
    };
    outcome
        .attributes
        .iter()
        .zip(values)
        .filter(|(_, v)| *v != Scalar::Null)
        .map(|(a, v)| (a.name.clone(), v))
        .collect()
}

/// How conditions are evaluated: by the version's closures ([`FastCode`]) or by walking their
/// trees (which a trace needs, to read what each condition read).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    Fast,
    Tree,
}

fn first_holding(ctx: &mut Ctx<'_>) -> RuleRef {
    let program = ctx.program;
    let compiled = &program.fast.compiled().rules;
    if compiled.len() == program.rules.len() {
        for (index, rule) in compiled.iter().enumerate() {
            if rule(ctx) {
                return RuleRef::Rule(index);
            }
        }
        return RuleRef::Otherwise;
    }
    // A program built without its closures.
    for (index, rule) in program.rules.iter().enumerate() {
        if ctx.rule_holds(rule) {
            return RuleRef::Rule(index);
        }
    }
    RuleRef::Otherwise
}

impl<'a> Ctx<'a> {
    fn new(program: &'a Program, case: &'a [Value]) -> Self {
        Ctx {
            program,
            case,
            known_truths: 0,
            truths: 0,
            values: smallvec::SmallVec::new(),
            vars: smallvec::SmallVec::new(),
        }
    }

    fn rule_holds(&mut self, rule: &'a CompiledRule) -> bool {
        let when = rule.conditions.iter().all(|c| self.truth(&c.node));
        when && !rule.unless.as_ref().is_some_and(|u| self.truth(&u.node))
    }

    fn trace_rule(&mut self, rule: &'a CompiledRule) -> RuleTrace {
        let mut conditions = Vec::with_capacity(rule.conditions.len());
        let mut all = true;
        for condition in &rule.conditions {
            if !all {
                conditions.push(ConditionTrace::skipped(condition));
                continue;
            }
            let held = self.truth(&condition.node);
            conditions.push(self.trace_condition(condition, held));
            all = held;
        }
        let unless = match &rule.unless {
            Some(u) if all => {
                let held = self.truth(&u.node);
                Some(self.trace_condition(u, held))
            }
            Some(u) => Some(ConditionTrace::skipped(u)),
            None => None,
        };
        let held = all && unless.as_ref().is_none_or(|u| u.held != Some(true));
        RuleTrace {
            rule: rule.name.clone(),
            held,
            conditions,
            unless,
        }
    }

    fn trace_condition(
        &mut self,
        condition: &'a crate::compile::Condition,
        held: bool,
    ) -> ConditionTrace {
        let values = condition
            .reads
            .iter()
            .map(|(text, node, kind)| (text.clone(), self.eval(node).describe(kind)))
            .collect();
        ConditionTrace {
            condition: condition.text.clone(),
            held: Some(held),
            values,
        }
    }

    fn decision(&mut self, version: usize, rule_ref: RuleRef, path: Path) -> Decided {
        let program = self.program;
        let rule = match rule_ref {
            RuleRef::Rule(i) => program.rules.get(i).unwrap_or(&program.otherwise),
            RuleRef::Otherwise => &program.otherwise,
        };
        let order_keys = match rule.cap.and_then(|c| program.caps.get(c)) {
            Some(cap) => self.order_keys(&cap.order_by),
            None => Vec::new(),
        };
        let mut warnings = Vec::new();
        let compiled = &program.fast.compiled().warnings;
        if path == Path::Fast && compiled.len() == program.warnings.len() {
            for (index, warning) in compiled.iter().enumerate() {
                if warning(self) {
                    warnings.push(u16::try_from(index).unwrap_or(u16::MAX));
                }
            }
        } else {
            self.tree_warnings(&mut warnings);
        }
        Decided {
            version,
            rule: rule_ref,
            outcome: rule.outcome,
            cap: rule.cap,
            order_keys,
            warnings,
        }
    }

    /// A capped decision's order keys (out of line: most decisions have no cap).
    #[inline(never)]
    fn order_keys(&mut self, keys: &'a [Node]) -> Vec<SortKey> {
        keys.iter().map(|k| self.eval(k).sort_key()).collect()
    }

    /// The warnings that hold, by walking their trees.
    #[inline(never)]
    fn tree_warnings(&mut self, warnings: &mut Vec<u16>) {
        for (index, warning) in self.program.warnings.iter().enumerate() {
            if self.truth(&warning.when) {
                warnings.push(u16::try_from(index).unwrap_or(u16::MAX));
            }
        }
    }

    /// Each attribute's value: the rule's `with` first, else the declared value.
    fn attribute_values(
        &mut self,
        outcome: usize,
        with: &'a [(usize, Node)],
        out: &mut Vec<Scalar>,
    ) {
        let Some(outcome) = self.program.outcomes.get(outcome) else {
            return;
        };
        for (index, attribute) in outcome.attributes.iter().enumerate() {
            let node = with
                .iter()
                .find(|(i, _)| *i == index)
                .map(|(_, n)| n)
                .or(attribute.value.as_ref());
            let value = match node {
                Some(node) => self.eval(node).as_scalar(&attribute.kind),
                None => Scalar::Null,
            };
            out.push(value);
        }
    }

    /// Whether a condition holds. Conditions are most of what a case evaluates, so the boolean
    /// nodes are answered here directly, without building a [`Val`] for every operand.
    fn truth(&mut self, node: &'a Node) -> bool {
        match node {
            Node::Const(value) => matches!(value, Value::Bool(true)),
            Node::Slot(s) => matches!(self.case.get(*s), Some(Value::Bool(true))),
            Node::SlotPresent(s) => self.case.get(*s).is_some_and(is_present),
            Node::Let(index) => matches!(self.let_value(*index), Val::Bool(true)),
            Node::RecordSlotPresent { base, slot } => match self.operand(base) {
                Val::Record(fields) => fields.get(*slot).is_some_and(is_present),
                _ => false,
            },
            Node::Not(e) => !self.truth(e),
            Node::And(ops) => ops.iter().all(|o| self.truth(o)),
            Node::Or(ops) => ops.iter().any(|o| self.truth(o)),
            Node::Compare { op, lhs, rhs } => {
                let (l, r) = (self.operand(lhs), self.operand(rhs));
                l.compare(&r).is_some_and(|ordering| op.holds(ordering))
            }
            Node::CompareSlots { op, lhs, rhs } => {
                let (l, r) = (self.slot(*lhs), self.slot(*rhs));
                l.compare(&r).is_some_and(|ordering| op.holds(ordering))
            }
            Node::CompareSlotConst { op, slot, value } => self
                .slot(*slot)
                .compare(&Val::of(value))
                .is_some_and(|ordering| op.holds(ordering)),
            Node::InSet { negated, item, set } => {
                let found = match self.operand(item) {
                    Val::Country(c) => set.countries.contains(c),
                    Val::Enum(e) => e < 64 && set.enums & (1 << e) != 0,
                    _ => false,
                };
                found != *negated
            }
            Node::In {
                negated,
                item,
                list,
            } => self.is_in(item, list) != *negated,
            Node::Quantifier { kind, list, body } => self.quantify(*kind, list, body),
            _ => matches!(self.eval(node), Val::Bool(true)),
        }
    }

    // The rarer and heavier nodes live out of line, so that the frequent ones pay for no more
    // registers than they use.

    #[inline(never)]
    fn is_in(&mut self, item: &'a Node, list: &'a Node) -> bool {
        let item = self.operand(item);
        let list = self.operand(list);
        self.contains(list, &item)
    }

    #[inline(never)]
    fn quantify(&mut self, kind: Quantifier, list: &'a Node, body: &'a Node) -> bool {
        let list = self.operand(list);
        let wanted = match kind {
            Quantifier::Any => true,
            Quantifier::All => false,
        };
        // `any` stops at the first element that holds, `all` at the first that does not.
        for i in 0..list.len() {
            let element = match list {
                Val::List(items) => items.get(i).map_or(Val::Absent, Val::of),
                _ => self.element(list, i),
            };
            self.vars.push(element);
            let holds = self.truth(body);
            self.vars.pop();
            if holds == wanted {
                return wanted;
            }
        }
        !wanted
    }

    #[inline(always)]
    fn slot(&self, slot: usize) -> Val<'a> {
        self.case.get(slot).map_or(Val::Absent, Val::of)
    }

    /// A let's value, computed on first use and kept for the rest of the case. The trees are
    /// walked here; [`Ctx::truth_let`] and [`Ctx::value_let`] run the closures, and both keep
    /// values in the same places, so a let read by both paths is computed once. A program built
    /// without its closures has no places for its lets: they are computed at each read.
    fn let_value(&mut self, index: usize) -> Val<'a> {
        let program = self.program;
        let Some(definition) = program.lets.get(index) else {
            return Val::Absent;
        };
        match program.fast.compiled().lets.get(index) {
            Some(CompiledLet::Truth { mask, .. }) => {
                if self.known_truths & mask != 0 {
                    return Val::Bool(self.truths & mask != 0);
                }
                let holds = self.outside_quantifiers(|c| c.truth(definition));
                self.keep_truth(*mask, holds);
                Val::Bool(holds)
            }
            Some(CompiledLet::Value { place, .. }) => self.value_in(*place, |c| c.eval(definition)),
            None => self.outside_quantifiers(|c| c.eval(definition)),
        }
    }

    /// Runs `compute` as if no quantifier were open. A let is defined outside every quantifier,
    /// so the variables of its own quantifiers are numbered from an empty stack, whichever
    /// quantifier's body reads it first.
    fn outside_quantifiers<T>(&mut self, compute: impl FnOnce(&mut Self) -> T) -> T {
        if self.vars.is_empty() {
            return compute(self);
        }
        let open = std::mem::take(&mut self.vars);
        let result = compute(self);
        self.vars = open;
        result
    }

    /// The value kept at `place` of the value cache, computed (with no quantifier open) and kept
    /// on first use.
    fn value_in(&mut self, place: usize, compute: impl FnOnce(&mut Self) -> Val<'a>) -> Val<'a> {
        if let Some(Some(value)) = self.values.get(place) {
            return *value;
        }
        let value = self.outside_quantifiers(compute);
        if self.values.is_empty() {
            let places = self.program.fast.compiled().value_lets;
            self.values.resize(places, None);
        }
        if let Some(kept) = self.values.get_mut(place) {
            *kept = Some(value);
        }
        value
    }

    fn keep_truth(&mut self, mask: u64, holds: bool) {
        self.known_truths |= mask;
        if holds {
            self.truths |= mask;
        }
    }

    /// Whether the truth let `index`, kept under `mask`, holds: by its bit once computed (the
    /// common read, inlined into the closures), else by its closure.
    #[inline(always)]
    fn truth_let(&mut self, mask: u64, index: usize) -> bool {
        if self.known_truths & mask != 0 {
            return self.truths & mask != 0;
        }
        self.compute_truth_let(mask, index)
    }

    /// The first read of a truth let: small, so that its call saves few registers; a let first
    /// read inside a quantifier, or without its closure, is computed aside.
    #[inline(never)]
    fn compute_truth_let(&mut self, mask: u64, index: usize) -> bool {
        let program = self.program;
        let holds = match program.fast.compiled().lets.get(index) {
            Some(CompiledLet::Truth { test, .. }) if self.vars.is_empty() => test(self),
            _ => self.compute_truth_let_aside(index),
        };
        self.keep_truth(mask, holds);
        holds
    }

    /// A truth let first read inside a quantifier (computed as if none were open), or one
    /// without its closure (read through its value).
    #[cold]
    #[inline(never)]
    fn compute_truth_let_aside(&mut self, index: usize) -> bool {
        let program = self.program;
        match program.fast.compiled().lets.get(index) {
            Some(CompiledLet::Truth { test, .. }) => self.outside_quantifiers(|c| test(c)),
            _ => matches!(self.let_value(index), Val::Bool(true)),
        }
    }

    /// The value of a let that is not a truth let, by its closure (see [`Ctx::let_value`]).
    fn value_let(&mut self, index: usize) -> Val<'a> {
        let program = self.program;
        match program.fast.compiled().lets.get(index) {
            Some(CompiledLet::Value { place, get }) => self.value_in(*place, |c| get(c)),
            _ => self.let_value(index),
        }
    }

    /// An operand's value: case slots, constants and quantifier variables read in place, so the
    /// leaves of a condition cost no call.
    #[inline(always)]
    fn operand(&mut self, node: &'a Node) -> Val<'a> {
        match node {
            Node::Slot(s) => self.case.get(*s).map_or(Val::Absent, Val::of),
            Node::Const(v) => Val::of(v),
            Node::Var(depth) => self.vars.get(*depth).copied().unwrap_or(Val::Absent),
            _ => self.eval(node),
        }
    }

    fn eval(&mut self, node: &'a Node) -> Val<'a> {
        match node {
            Node::Const(v) => Val::of(v),
            Node::Slot(s) => self.case.get(*s).map_or(Val::Absent, Val::of),
            Node::Var(depth) => self.vars.get(*depth).copied().unwrap_or(Val::Absent),
            Node::Let(index) => self.let_value(*index),
            Node::RecordSlot { base, slot } => match self.operand(base) {
                Val::Record(fields) => fields.get(*slot).map_or(Val::Absent, Val::of),
                _ => Val::Absent,
            },
            Node::Index { base, index } => {
                let list = self.operand(base);
                self.element(list, *index)
            }
            Node::List(nodes) => Val::Nodes(nodes, u32::try_from(self.vars.len()).unwrap_or(0)),
            Node::Neg(e) => match self.eval(e) {
                Val::Int(i) => Val::Int(i.saturating_neg()),
                _ => Val::Absent,
            },
            Node::Arith { op, lhs, rhs } => match (self.eval(lhs), self.eval(rhs)) {
                // The checker proved these cannot overflow; saturating keeps it total regardless.
                (Val::Int(a), Val::Int(b)) => Val::Int(match op {
                    ArithOp::Add => a.saturating_add(b),
                    ArithOp::Sub => a.saturating_sub(b),
                    ArithOp::Mul => a.saturating_mul(b),
                }),
                _ => Val::Absent,
            },
            Node::DateShift { date, amount, unit } => match self.eval(date) {
                Val::Date(d) => Val::Date(add_period(d, *amount, *unit)),
                _ => Val::Absent,
            },
            Node::Call { function, args } => self.call(*function, args),
            // The conditions (`Node::is_condition`).
            _ => Val::Bool(self.truth(node)),
        }
    }

    fn element(&mut self, list: Val<'a>, index: usize) -> Val<'a> {
        match list {
            Val::List(items) => items.get(index).map_or(Val::Absent, Val::of),
            Val::Nodes(nodes, open) => match nodes.get(index) {
                Some(n) => self.with_open(open as usize, |c| c.eval(n)),
                None => Val::Absent,
            },
            _ => Val::Absent,
        }
    }

    /// Runs `compute` with only the first `open` quantifier variables open: those of the
    /// quantifiers opened since are set aside meanwhile.
    fn with_open<T>(&mut self, open: usize, compute: impl FnOnce(&mut Self) -> T) -> T {
        if self.vars.len() <= open {
            return compute(self);
        }
        let opened_since: smallvec::SmallVec<[Val<'a>; 4]> = self.vars.drain(open..).collect();
        let result = compute(self);
        self.vars.truncate(open);
        self.vars.extend(opened_since);
        result
    }

    fn contains(&mut self, list: Val<'a>, item: &Val<'a>) -> bool {
        self.position(list, item).is_some()
    }

    /// Where `item` first occurs in a list.
    fn position(&mut self, list: Val<'a>, item: &Val<'a>) -> Option<usize> {
        match list {
            // The elements of a list from the case are stored: compare them in place.
            Val::List(items) => items.iter().position(|v| Val::of(v).equals(item)),
            _ => (0..list.len()).find(|&i| self.element(list, i).equals(item)),
        }
    }

    #[inline(never)]
    fn call(&mut self, function: Function, args: &'a [Node]) -> Val<'a> {
        // `count` takes one argument, the others two; the checker saw to it.
        let Some(first) = args.first() else {
            return Val::Absent;
        };
        let first = self.operand(first);
        if let Function::Count = function {
            return Val::Int(i64::try_from(first.len()).unwrap_or(i64::MAX));
        }
        let Some(second) = args.get(1) else {
            return Val::Absent;
        };
        let second = self.operand(second);
        match (function, first, second) {
            (Function::Years, Val::Date(a), Val::Date(b)) => Val::Int(years_between(a, b)),
            (Function::Months, Val::Date(a), Val::Date(b)) => Val::Int(months_between(a, b)),
            (Function::Days, Val::Date(a), Val::Date(b)) => Val::Int(days_between(a, b)),
            (Function::Before, list, item) => {
                let end = self.position(list, &item).unwrap_or(list.len());
                list.prefix(end)
            }
            _ => Val::Absent,
        }
    }
}

fn is_present(value: &Value) -> bool {
    !matches!(value, Value::Absent)
}

impl<'a> Val<'a> {
    /// A value as a caseworker reads it in a trace.
    fn describe(&self, kind: &AttrKind) -> String {
        match self {
            Val::Absent => "absent".into(),
            Val::Present => "present".into(),
            Val::Bool(b) => b.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Text(t) => format!("{t:?}"),
            Val::Date(d) => format_date(*d),
            Val::Country(c) => c.to_string(),
            Val::Enum(i) => match kind {
                AttrKind::Enum(names) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => format!("#{i}"),
            },
            Val::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|v| Val::of(v).describe(kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Val::Nodes(nodes, _) => format!("[{} values]", nodes.len()),
            Val::Record(_) => "{…}".into(),
        }
    }

    /// An attribute value as written out.
    /// The value as an attribute is written out.
    pub fn as_scalar(&self, kind: &AttrKind) -> Scalar {
        match (self, kind) {
            (Val::Bool(b), _) => Scalar::Bool(*b),
            (Val::Int(i), _) => Scalar::Int(*i),
            (Val::Text(t), _) => Scalar::Text(Box::from(*t)),
            (Val::Date(d), _) => Scalar::Text(format_date(*d).into()),
            (Val::Country(c), _) => Scalar::Text(Box::from(c.as_str())),
            (Val::Enum(i), AttrKind::Enum(names)) => Scalar::Text(
                names
                    .get(*i as usize)
                    .map_or_else(|| Box::from(""), |n| Box::from(n.as_str())),
            ),
            _ => Scalar::Null,
        }
    }
}
