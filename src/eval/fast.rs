//! The conditions of a version compiled to closures, for [`decide`](super::decide): the path of
//! every case of a batch.
//!
//! The tree walk of [`Ctx::eval`] pays, at every node, a dispatch on the node's kind and one on
//! each operand's kind. Here each node becomes a closure that knows its kind, and its operands'
//! where they are slots or constants, when the version is compiled; what is left per node is one
//! indirect call. Nodes with no closure of their own (rare in conditions: arithmetic, records in
//! lists, policy-written lists, …) keep a copy of their tree and are walked as before, with the
//! same context, so a let is still evaluated at most once per case whichever path reads it.
//!
//! [`decide_traced`](super::decide_traced) walks the trees only; a test holds both paths to the
//! same decisions.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use super::{Ctx, Val, is_present};
use crate::ast::Quantifier;
use crate::check::model::{CmpOp, Function};
use crate::compile::{Node, Program, Value, ValueSet};
use crate::dates::{Date, days_between, months_between, years_between};

/// A condition: whether it holds for the case in the context.
type Test = Box<dyn for<'c> Fn(&mut Ctx<'c>) -> bool + Send + Sync>;
/// An expression: its value for the case in the context.
type Get = Box<dyn for<'c> Fn(&mut Ctx<'c>) -> Val<'c> + Send + Sync>;

/// An operand of a condition or call: the common leaves are read in place, with no call; only
/// [`Operand::Code`] calls a closure.
enum Operand {
    Stored(Place),
    Const(Val<'static>),
    TruthLet { mask: u64, index: usize },
    Let(usize),
    Var(usize),
    Code(Get),
}

impl Operand {
    #[inline(always)]
    fn read<'c>(&self, c: &mut Ctx<'c>) -> Val<'c> {
        match self {
            Operand::Stored(place) => place.stored(c.case).map_or(Val::Absent, Val::of),
            Operand::Const(constant) => *constant,
            Operand::TruthLet { mask, index } => Val::Bool(c.truth_let(*mask, *index)),
            Operand::Let(index) => c.value_let(*index),
            Operand::Var(depth) => c.vars.get(*depth).copied().unwrap_or(Val::Absent),
            Operand::Code(get) => get(c),
        }
    }
}

/// The closures of one version: its lets, each rule's `when … unless …`, and its warnings.
/// Shared by the clones of a program (a closure cannot be cloned, and need not be).
#[derive(Clone, Default)]
pub struct FastCode(Arc<Compiled>);

/// A let's code, and where a case keeps its value once computed.
pub(super) enum CompiledLet {
    /// A let that is a condition (`and`, a comparison, `in`, …), whose value is always true or
    /// false: kept as the bit `mask` (one bit set) of the context's truths, and computed by a
    /// test, so that no [`Val`] is built for it.
    Truth { mask: u64, test: Test },
    /// Any other let: kept in the context's values, at `place`.
    Value { place: usize, get: Get },
}

/// How many truth lets a context keeps as bits; the lets past them are kept as values.
pub(super) const TRUTH_BITS: u32 = u64::BITS;

#[derive(Default)]
pub(super) struct Compiled {
    pub(super) lets: Vec<CompiledLet>,
    /// How many lets are kept as values (see [`CompiledLet::Value`]).
    pub(super) value_lets: usize,
    pub(super) rules: Vec<Test>,
    pub(super) warnings: Vec<Test>,
    /// The trees of the nodes that have no closure of their own, by the index their closure
    /// holds.
    pub(super) trees: Vec<Node>,
}

impl fmt::Debug for FastCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastCode")
            .field("lets", &self.0.lets.len())
            .field("rules", &self.0.rules.len())
            .field("warnings", &self.0.warnings.len())
            .field("trees", &self.0.trees.len())
            .finish()
    }
}

impl FastCode {
    pub(super) fn compiled(&self) -> &Compiled {
        &self.0
    }

    /// Compiles a version's lets, rules and warnings (the program's own `fast` is not read).
    pub fn of(program: &Program) -> FastCode {
        let mut truths = 0;
        let masks = program
            .lets
            .iter()
            .map(|definition| {
                let kept_as_bit = definition.is_condition() && truths < TRUTH_BITS;
                truths += u32::from(kept_as_bit);
                kept_as_bit.then(|| 1u64 << (truths - 1))
            })
            .collect();
        let mut builder = Builder {
            trees: Vec::new(),
            depth: 0,
            masks,
        };
        let mut values = 0;
        let lets = program
            .lets
            .iter()
            .enumerate()
            .map(|(index, definition)| match builder.truth_mask(index) {
                Some(mask) => CompiledLet::Truth {
                    mask,
                    test: builder.test(definition),
                },
                None => {
                    values += 1;
                    CompiledLet::Value {
                        place: values - 1,
                        get: builder.get(definition),
                    }
                }
            })
            .collect();
        let rules = program
            .rules
            .iter()
            .map(|rule| {
                let unless = rule
                    .unless
                    .as_ref()
                    .map(|u| Node::Not(Box::new(u.node.clone())));
                let parts: Vec<&Node> = rule
                    .conditions
                    .iter()
                    .map(|c| &c.node)
                    .chain(unless.as_ref())
                    .collect();
                builder.conjunction(&parts)
            })
            .collect();
        let warnings = program
            .warnings
            .iter()
            .map(|w| builder.test(&w.when))
            .collect();
        FastCode(Arc::new(Compiled {
            lets,
            value_lets: values,
            rules,
            warnings,
            trees: builder.trees,
        }))
    }
}

// Closures passed through these take the higher-ranked signature from the bound; written as
// `Box::new(|c| …)` they would not.

fn test<F>(f: F) -> Test
where
    F: for<'c> Fn(&mut Ctx<'c>) -> bool + Send + Sync + 'static,
{
    Box::new(f)
}

fn get<F>(f: F) -> Get
where
    F: for<'c> Fn(&mut Ctx<'c>) -> Val<'c> + Send + Sync + 'static,
{
    Box::new(f)
}

/// Every part holds (in order, stopping at the first that does not).
fn all(mut parts: Vec<Test>) -> Test {
    match parts.len() {
        0 => test(|_| true),
        1 => parts.pop().unwrap_or_else(|| test(|_| true)),
        2 => {
            let (Some(b), Some(a)) = (parts.pop(), parts.pop()) else {
                return test(|_| true);
            };
            test(move |c| a(c) && b(c))
        }
        // Each part called from a place of its own: a loop would call every part of every
        // `and` from one instruction, whose target the processor then fails to predict.
        3 => {
            let (Some(third), Some(b), Some(a)) = (parts.pop(), parts.pop(), parts.pop()) else {
                return test(|_| true);
            };
            test(move |c| a(c) && b(c) && third(c))
        }
        _ => {
            let tail = all(parts.split_off(3));
            let (Some(third), Some(b), Some(a)) = (parts.pop(), parts.pop(), parts.pop()) else {
                return test(|_| true);
            };
            test(move |c| a(c) && b(c) && third(c) && tail(c))
        }
    }
}

/// Every truth let holds (or, negated, does not), in order, stopping at the first that fails.
fn lets_all(leaves: Vec<(u64, usize, bool)>) -> Test {
    match leaves.as_slice() {
        &[(a_mask, a, a_negated), (b_mask, b, b_negated)] => test(move |c| {
            c.truth_let(a_mask, a) != a_negated && c.truth_let(b_mask, b) != b_negated
        }),
        _ => {
            let leaves: Box<[_]> = leaves.into();
            test(move |c| {
                leaves
                    .iter()
                    .all(|&(mask, index, negated)| c.truth_let(mask, index) != negated)
            })
        }
    }
}

/// Some truth let holds (or, negated, does not), in order, stopping at the first that does.
fn lets_any(leaves: Vec<(u64, usize, bool)>) -> Test {
    let leaves: Box<[_]> = leaves.into();
    test(move |c| {
        leaves
            .iter()
            .any(|&(mask, index, negated)| c.truth_let(mask, index) != negated)
    })
}

/// Some part holds (in order, stopping at the first that does).
fn any(mut parts: Vec<Test>) -> Test {
    match parts.len() {
        0 => test(|_| false),
        1 => parts.pop().unwrap_or_else(|| test(|_| false)),
        2 => {
            let (Some(b), Some(a)) = (parts.pop(), parts.pop()) else {
                return test(|_| false);
            };
            test(move |c| a(c) || b(c))
        }
        // As in `all`, each part from a place of its own.
        3 => {
            let (Some(third), Some(b), Some(a)) = (parts.pop(), parts.pop(), parts.pop()) else {
                return test(|_| false);
            };
            test(move |c| a(c) || b(c) || third(c))
        }
        _ => {
            let tail = any(parts.split_off(3));
            let (Some(third), Some(b), Some(a)) = (parts.pop(), parts.pop(), parts.pop()) else {
                return test(|_| false);
            };
            test(move |c| a(c) || b(c) || third(c) || tail(c))
        }
    }
}

/// A constant that borrows nothing, as a value of any lifetime; `None` for text, lists and
/// records, which are read from the tree.
fn scalar(value: &Value) -> Option<Val<'static>> {
    Some(match value {
        Value::Absent => Val::Absent,
        Value::Present => Val::Present,
        Value::Bool(b) => Val::Bool(*b),
        Value::Int(i) => Val::Int(*i),
        Value::Date(d) => Val::Date(*d),
        Value::Country(c) => Val::Country(*c),
        Value::Enum(e) => Val::Enum(*e),
        Value::Text(_) | Value::List(_) | Value::Record(_) => return None,
    })
}

/// A comparison: its operator chosen when the version is compiled, not at each case. The
/// operator is kept as the set of orderings it accepts (a bit each), so that one closure serves
/// every operator with no branch on it, and the ordering's code is inlined into that closure.
fn comparison<F>(op: CmpOp, ordering: F) -> Test
where
    F: for<'c> Fn(&mut Ctx<'c>) -> Option<Ordering> + Send + Sync + 'static,
{
    let accepted = accepted_orderings(op);
    test(move |c| ordering(c).is_some_and(|o| accepted & ordering_bit(o) != 0))
}

/// The orderings under which `a op b` holds, as bits of [`ordering_bit`].
fn accepted_orderings(op: CmpOp) -> u8 {
    let (less, equal, greater) = (
        ordering_bit(Ordering::Less),
        ordering_bit(Ordering::Equal),
        ordering_bit(Ordering::Greater),
    );
    match op {
        CmpOp::Eq => equal,
        CmpOp::Ne => less | greater,
        CmpOp::Lt => less,
        CmpOp::Le => less | equal,
        CmpOp::Gt => greater,
        CmpOp::Ge => greater | equal,
    }
}

#[inline(always)]
fn ordering_bit(ordering: Ordering) -> u8 {
    // Less, Equal and Greater are -1, 0 and 1.
    1 << (ordering as i8 + 1)
}

/// [`Val::compare`] of a stored value with a scalar, the usual pairs answered in place.
#[inline(always)]
fn compare_stored(stored: &Value, scalar: &Val<'_>) -> Option<Ordering> {
    match (stored, scalar) {
        (Value::Date(a), Val::Date(b)) => Some(a.cmp(b)),
        (Value::Int(a), Val::Int(b)) => Some(a.cmp(b)),
        (Value::Country(a), Val::Country(b)) => Some(a.cmp(b)),
        (Value::Enum(a), Val::Enum(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
        _ => Val::of(stored).compare(scalar),
    }
}

/// A value of the case read where it is stored: a slot, or an element of a list in a slot
/// (`case.travel.route[0]`).
#[derive(Clone, Copy)]
enum Place {
    Slot(usize),
    Element { slot: usize, index: usize },
}

impl Place {
    fn of(node: &Node) -> Option<Place> {
        match node {
            Node::Slot(slot) => Some(Place::Slot(*slot)),
            Node::Index { base, index } => match **base {
                Node::Slot(slot) => Some(Place::Element {
                    slot,
                    index: *index,
                }),
                _ => None,
            },
            _ => None,
        }
    }

    #[inline(always)]
    fn stored(self, case: &[Value]) -> Option<&Value> {
        match self {
            Place::Slot(slot) => case.get(slot),
            Place::Element { slot, index } => match case.get(slot) {
                Some(Value::List(items)) => items.get(index),
                _ => None,
            },
        }
    }
}

/// [`Val::compare`] of two stored values, the pairs of scalars answered in place.
#[inline(always)]
fn compare_stored_pair(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
        (Value::Country(a), Value::Country(b)) => Some(a.cmp(b)),
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Enum(a), Value::Enum(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        _ => Val::of(a).compare(&Val::of(b)),
    }
}

/// A comparison of an operand with a scalar constant. Only a value of the constant's type
/// compares with it ([`Val::compare`]), so that is the one type each closure looks for.
fn against_constant(op: CmpOp, lhs: Operand, constant: Val<'static>) -> Test {
    match constant {
        Val::Date(k) => comparison(op, move |c| match lhs.read(c) {
            Val::Date(d) => Some(d.cmp(&k)),
            _ => None,
        }),
        Val::Int(k) => comparison(op, move |c| match lhs.read(c) {
            Val::Int(i) => Some(i.cmp(&k)),
            _ => None,
        }),
        Val::Country(k) => comparison(op, move |c| match lhs.read(c) {
            Val::Country(country) => Some(country.cmp(&k)),
            _ => None,
        }),
        Val::Enum(k) => comparison(op, move |c| match lhs.read(c) {
            Val::Enum(e) => Some(e.cmp(&k)),
            _ => None,
        }),
        Val::Bool(k) => comparison(op, move |c| match lhs.read(c) {
            Val::Bool(b) => Some(b.cmp(&k)),
            _ => None,
        }),
        _ => comparison(op, move |c| lhs.read(c).compare(&constant)),
    }
}

/// [`Val::compare`], the pairs of scalars answered in place: each comparison's closure then
/// branches on the types it meets, rather than all sharing the dispatch of one function.
#[inline(always)]
fn compare_vals(a: &Val<'_>, b: &Val<'_>) -> Option<Ordering> {
    match (a, b) {
        (Val::Date(a), Val::Date(b)) => Some(a.cmp(b)),
        (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
        (Val::Country(a), Val::Country(b)) => Some(a.cmp(b)),
        (Val::Int(a), Val::Int(b)) => Some(a.cmp(b)),
        (Val::Enum(a), Val::Enum(b)) => Some(a.cmp(b)),
        _ => a.compare(b),
    }
}

fn in_set(set: &ValueSet, item: Val<'_>) -> bool {
    match item {
        Val::Country(c) => set.countries.contains(c),
        Val::Enum(e) => e < 64 && set.enums & (1 << e) != 0,
        _ => false,
    }
}

/// A node that is a constant scalar whose equality is `==`: its value.
fn scalar_const(node: Option<&Node>) -> Option<Value> {
    match node {
        Some(Node::Const(value)) if equal_when_stored_equal(value) => Some(value.clone()),
        _ => None,
    }
}

/// Whether a value equals another (by [`Val::compare`]) exactly when the stored values are equal
/// (`==`): true of the scalars that compare, not of `absent`, which equals nothing.
fn equal_when_stored_equal(value: &Value) -> bool {
    matches!(
        value,
        Value::Bool(_) | Value::Int(_) | Value::Date(_) | Value::Country(_) | Value::Enum(_)
    )
}

/// A count of calendar units between two dates.
fn between(from: Operand, to: Operand, count: fn(Date, Date) -> i64) -> Get {
    get(move |c| {
        let a = from.read(c);
        let b = to.read(c);
        match (a, b) {
            (Val::Date(a), Val::Date(b)) => Val::Int(count(a, b)),
            _ => Val::Absent,
        }
    })
}

struct Builder {
    trees: Vec<Node>,
    /// How many quantifiers enclose the node being built: the depth of the next one's variable.
    depth: usize,
    /// The bit of each truth let (see [`CompiledLet::Truth`]), by let.
    masks: Vec<Option<u64>>,
}

impl Builder {
    fn truth_mask(&self, index: usize) -> Option<u64> {
        self.masks.get(index).copied().flatten()
    }

    /// A truth let, or its negation, as (mask, let, negated).
    fn truth_leaf(&self, node: &Node) -> Option<(u64, usize, bool)> {
        match node {
            Node::Let(index) => Some((self.truth_mask(*index)?, *index, false)),
            Node::Not(inner) => match **inner {
                Node::Let(index) => Some((self.truth_mask(index)?, index, true)),
                _ => None,
            },
            _ => None,
        }
    }

    /// `case.finding != some_condition` (or `==`): a bool field checked against a condition,
    /// as a consistency warning does. An absent field equals nothing and differs from nothing.
    fn bool_slot_against_condition(&mut self, op: CmpOp, lhs: &Node, rhs: &Node) -> Option<Test> {
        let equal_wanted = match op {
            CmpOp::Eq => true,
            CmpOp::Ne => false,
            _ => return None,
        };
        let (slot, condition) = match (lhs, rhs) {
            (Node::Slot(s), other) | (other, Node::Slot(s)) => (*s, other),
            _ => return None,
        };
        if let Some((mask, index, false)) = self.truth_leaf(condition) {
            return Some(test(move |c| match c.case.get(slot) {
                Some(Value::Bool(b)) => (*b == c.truth_let(mask, index)) == equal_wanted,
                _ => false,
            }));
        }
        if !condition.is_condition() {
            return None;
        }
        let condition = self.test(condition);
        Some(test(move |c| match c.case.get(slot) {
            Some(Value::Bool(b)) => (*b == condition(c)) == equal_wanted,
            _ => false,
        }))
    }

    /// Every part holds: one closure when the parts are all truth lets (`when a and not b`),
    /// which reads their bits in place.
    fn conjunction(&mut self, parts: &[&Node]) -> Test {
        let leaves: Option<Vec<_>> = parts.iter().map(|p| self.truth_leaf(p)).collect();
        match leaves {
            Some(leaves) if leaves.len() > 1 => lets_all(leaves),
            _ => all(parts.iter().map(|p| self.test(p)).collect()),
        }
    }

    fn operand(&mut self, node: &Node) -> Operand {
        if let Some(place) = Place::of(node) {
            return Operand::Stored(place);
        }
        match node {
            Node::Const(value) => match scalar(value) {
                Some(constant) => Operand::Const(constant),
                None => Operand::Code(self.get(node)),
            },
            Node::Let(index) => match self.truth_mask(*index) {
                Some(mask) => Operand::TruthLet {
                    mask,
                    index: *index,
                },
                None => Operand::Let(*index),
            },
            Node::Var(depth) => Operand::Var(*depth),
            _ => Operand::Code(self.get(node)),
        }
    }

    /// A node walked as a tree: its closure holds where the copy is kept.
    fn tree(&mut self, node: &Node) -> usize {
        self.trees.push(node.clone());
        self.trees.len() - 1
    }

    fn test(&mut self, node: &Node) -> Test {
        match node {
            Node::Const(value) => {
                let value = matches!(value, Value::Bool(true));
                test(move |_| value)
            }
            Node::Slot(s) => {
                let s = *s;
                test(move |c| matches!(c.case.get(s), Some(Value::Bool(true))))
            }
            Node::SlotPresent(s) => {
                let s = *s;
                test(move |c| c.case.get(s).is_some_and(is_present))
            }
            Node::Let(index) => {
                let index = *index;
                match self.truth_mask(index) {
                    Some(mask) => test(move |c| c.truth_let(mask, index)),
                    None => test(move |c| matches!(c.value_let(index), Val::Bool(true))),
                }
            }
            Node::Not(e) => match self.truth_leaf(node) {
                Some((mask, index, negated)) => test(move |c| c.truth_let(mask, index) != negated),
                None => {
                    let e = self.test(e);
                    test(move |c| !e(c))
                }
            },
            Node::And(ops) => self.conjunction(&ops.iter().collect::<Vec<_>>()),
            Node::Or(ops) => {
                let leaves: Option<Vec<_>> = ops.iter().map(|o| self.truth_leaf(o)).collect();
                match leaves {
                    Some(leaves) => lets_any(leaves),
                    None => any(ops.iter().map(|o| self.test(o)).collect()),
                }
            }
            Node::CompareSlots { op, lhs, rhs } => {
                let (lhs, rhs) = (*lhs, *rhs);
                comparison(*op, move |c| match (c.case.get(lhs), c.case.get(rhs)) {
                    (Some(Value::Date(a)), Some(Value::Date(b))) => Some(a.cmp(b)),
                    (Some(a), Some(b)) => compare_vals(&Val::of(a), &Val::of(b)),
                    _ => None,
                })
            }
            Node::CompareSlotConst { op, slot, value } => {
                let slot = *slot;
                match scalar(value) {
                    Some(constant) => comparison(*op, move |c| {
                        c.case.get(slot).and_then(|v| compare_stored(v, &constant))
                    }),
                    None => self.tree_test(node),
                }
            }
            Node::Compare { op, lhs, rhs } => {
                let op = *op;
                if let Some(test) = self.bool_slot_against_condition(op, lhs, rhs) {
                    return test;
                }
                if let Node::Const(constant) = &**rhs
                    && let Some(constant) = scalar(constant)
                {
                    return against_constant(op, self.operand(lhs), constant);
                }
                if let (Some(lhs), Some(rhs)) = (Place::of(lhs), Place::of(rhs)) {
                    return comparison(op, move |c| {
                        match (lhs.stored(c.case), rhs.stored(c.case)) {
                            (Some(a), Some(b)) => compare_stored_pair(a, b),
                            // A missing slot or element is absent, which compares with
                            // nothing.
                            _ => None,
                        }
                    });
                }
                let (lhs, rhs) = (self.operand(lhs), self.operand(rhs));
                comparison(op, move |c| {
                    let l = lhs.read(c);
                    let r = rhs.read(c);
                    compare_vals(&l, &r)
                })
            }
            Node::InSet { negated, item, set } => {
                let (negated, set) = (*negated, set.clone());
                match &**item {
                    Node::Slot(s) => {
                        let s = *s;
                        test(move |c| in_set(&set, c.slot(s)) != negated)
                    }
                    item => {
                        let item = self.operand(item);
                        test(move |c| {
                            let item = item.read(c);
                            in_set(&set, item) != negated
                        })
                    }
                }
            }
            Node::In {
                negated,
                item,
                list,
            } => {
                let negated = *negated;
                if let (Node::Const(constant), Node::Slot(s)) = (&**item, &**list)
                    && equal_when_stored_equal(constant)
                {
                    let s = *s;
                    if let Value::Country(country) = *constant {
                        return test(move |c| match c.case.get(s) {
                            Some(Value::List(items)) => {
                                let found = items
                                    .iter()
                                    .any(|v| matches!(v, Value::Country(k) if *k == country));
                                found != negated
                            }
                            _ => negated,
                        });
                    }
                    let constant = constant.clone();
                    return test(move |c| match c.case.get(s) {
                        Some(Value::List(items)) => items.contains(&constant) != negated,
                        _ => negated,
                    });
                }
                let (item, list) = (self.operand(item), self.operand(list));
                test(move |c| {
                    let item = item.read(c);
                    let list = list.read(c);
                    c.contains(list, &item) != negated
                })
            }
            Node::Quantifier { kind, list, body } => {
                let wanted = matches!(kind, Quantifier::Any);
                let list = self.operand(list);
                // `x in [set]` over the quantifier's own variable, the common body, is asked of
                // each element in place.
                if let Node::InSet { negated, item, set } = &**body
                    && let Node::Var(depth) = **item
                    && depth == self.depth
                {
                    let (negated, set) = (*negated, set.clone());
                    return test(move |c| match list.read(c) {
                        Val::List(items) => {
                            let member = |v: &Value| in_set(&set, Val::of(v)) != negated;
                            if wanted {
                                items.iter().any(member)
                            } else {
                                items.iter().all(member)
                            }
                        }
                        list @ Val::Nodes(nodes, _) => {
                            for i in 0..nodes.len() {
                                let element = c.element(list, i);
                                if (in_set(&set, element) != negated) == wanted {
                                    return wanted;
                                }
                            }
                            !wanted
                        }
                        _ => !wanted,
                    });
                }
                self.depth += 1;
                let body = self.test(body);
                self.depth -= 1;
                test(move |c| {
                    let list = list.read(c);
                    let depth = c.vars.len();
                    // `any` stops at the first element that holds, `all` at the first that
                    // does not.
                    let mut result = !wanted;
                    for i in 0..list.len() {
                        // An element is worked out before its variable is in place: an element
                        // written in the policy may hold a quantifier of its own, numbered
                        // from the stack outside this one.
                        c.vars.truncate(depth);
                        let element = c.element(list, i);
                        c.vars.push(element);
                        if body(c) == wanted {
                            result = wanted;
                            break;
                        }
                    }
                    c.vars.truncate(depth);
                    result
                })
            }
            // A condition with no closure of its own is walked as a tree (`get` would send it
            // back here).
            Node::RecordSlotPresent { .. } => self.tree_test(node),
            _ => {
                let value = self.get(node);
                test(move |c| matches!(value(c), Val::Bool(true)))
            }
        }
    }

    fn get(&mut self, node: &Node) -> Get {
        match node {
            Node::Const(value) => match scalar(value) {
                Some(constant) => get(move |_| constant),
                None => self.tree_get(node),
            },
            Node::Slot(s) => {
                let s = *s;
                get(move |c| c.slot(s))
            }
            Node::Var(depth) => {
                let depth = *depth;
                get(move |c| c.vars.get(depth).copied().unwrap_or(Val::Absent))
            }
            Node::Let(index) => {
                let index = *index;
                match self.truth_mask(index) {
                    Some(mask) => get(move |c| Val::Bool(c.truth_let(mask, index))),
                    None => get(move |c| c.value_let(index)),
                }
            }
            Node::Index { base, .. } if matches!(**base, Node::Slot(_)) => {
                let element = self.operand(node);
                get(move |c| element.read(c))
            }
            Node::Index { base, index } => {
                let (base, index) = (self.get(base), *index);
                get(move |c| {
                    let list = base(c);
                    match list {
                        Val::List(items) => items.get(index).map_or(Val::Absent, Val::of),
                        Val::Nodes(..) => c.element(list, index),
                        _ => Val::Absent,
                    }
                })
            }
            Node::Call { function, args } => self.call(node, *function, args),
            condition if condition.is_condition() => {
                let truth = self.test(node);
                get(move |c| Val::Bool(truth(c)))
            }
            _ => self.tree_get(node),
        }
    }

    fn call(&mut self, node: &Node, function: Function, args: &[Node]) -> Get {
        let (first, second) = match args {
            [first] => (self.operand(first), None),
            [first, second] => (self.operand(first), Some(self.operand(second))),
            _ => return self.tree_get(node),
        };
        let Some(second) = second else {
            return match (function, args) {
                (Function::Count, [Node::Slot(s)]) => {
                    let s = *s;
                    get(move |c| match c.case.get(s) {
                        Some(Value::List(items)) => {
                            Val::Int(i64::try_from(items.len()).unwrap_or(i64::MAX))
                        }
                        _ => Val::Int(0),
                    })
                }
                (Function::Count, _) => get(move |c| {
                    let list = first.read(c);
                    Val::Int(i64::try_from(list.len()).unwrap_or(i64::MAX))
                }),
                _ => self.tree_get(node),
            };
        };
        match function {
            Function::Years => between(first, second, years_between),
            Function::Months => between(first, second, months_between),
            Function::Days => between(first, second, days_between),
            Function::Before => match (args, scalar_const(args.get(1))) {
                // `before(case.travel.route, RU)`: countries compared as such, not as values.
                ([Node::Slot(s), _], Some(Value::Country(country))) => {
                    let s = *s;
                    get(move |c| match c.case.get(s) {
                        Some(Value::List(items)) => {
                            let end = items
                                .iter()
                                .position(|v| matches!(v, Value::Country(k) if *k == country));
                            Val::List(end.and_then(|end| items.get(..end)).unwrap_or(items))
                        }
                        _ => Val::Absent,
                    })
                }
                ([Node::Slot(s), _], Some(constant)) => {
                    let s = *s;
                    get(move |c| match c.case.get(s) {
                        Some(Value::List(items)) => {
                            let end = items.iter().position(|v| *v == constant);
                            Val::List(end.and_then(|end| items.get(..end)).unwrap_or(items))
                        }
                        _ => Val::Absent,
                    })
                }
                _ => get(move |c| {
                    let list = first.read(c);
                    let item = second.read(c);
                    let end = c.position(list, &item).unwrap_or(list.len());
                    list.prefix(end)
                }),
            },
            Function::Count => self.tree_get(node),
        }
    }

    fn tree_get(&mut self, node: &Node) -> Get {
        let index = self.tree(node);
        get(move |c| {
            let program = c.program;
            match program.fast.compiled().trees.get(index) {
                Some(node) => c.eval(node),
                None => Val::Absent,
            }
        })
    }

    fn tree_test(&mut self, node: &Node) -> Test {
        let index = self.tree(node);
        test(move |c| {
            let program = c.program;
            program
                .fast
                .compiled()
                .trees
                .get(index)
                .is_some_and(|node| c.truth(node))
        })
    }
}
