//! Static analysis of a checked version: what the rules can and cannot decide.
//!
//! Conditions are turned into propositional formulas over atoms. An atom compares one field of
//! the case with a constant (`case.visa.type == multi_entry`, `case.entry_date < 2016-01-22`),
//! says an optional field is present, or — for anything else (quantifiers, `years(…)`, two fields
//! compared) — is an opaque proposition, the same proposition wherever the same expression
//! appears. A small DPLL search with a theory of finite domains (bools, enums, countries, texts)
//! and intervals (ints, dates) decides satisfiability. Opaque atoms are free, so "unsatisfiable"
//! is a proof; where the search runs out of budget, the answer is "unknown" and nothing is said.

use std::collections::{BTreeMap, HashMap};

use super::model::{CmpOp, Rule, TExpr, TExprKind, Version};
use super::types::{Schema, Ty};
use crate::dates::{Date, days_between};

/// A constant an atom compares with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Constant {
    /// A bool.
    Bool(bool),
    /// An int, or a date as its day number.
    Number(i64),
    /// An enum value, by index.
    Enum(u32),
    /// A country code or a text.
    Text(String),
}

/// A field of the case, as field indices from the root record.
pub type FieldPath = Vec<usize>;

/// An atomic proposition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Atom {
    /// The field equals the constant.
    Eq(FieldPath, Constant),
    /// The (numeric) field is below the number.
    Lt(FieldPath, i64),
    /// The optional field is present.
    Present(FieldPath),
    /// Anything else, by its canonical text.
    Opaque(String),
}

/// A formula in negation normal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formula {
    /// Always holds.
    True,
    /// Never holds.
    False,
    /// An atom (by index) or its negation.
    Lit(usize, bool),
    /// All hold.
    And(Vec<Formula>),
    /// Some holds.
    Or(Vec<Formula>),
}

impl Formula {
    fn and(parts: Vec<Formula>) -> Formula {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Formula::True => {}
                Formula::False => return Formula::False,
                Formula::And(inner) => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Formula::True,
            1 => out.pop().unwrap_or(Formula::True),
            _ => Formula::And(out),
        }
    }

    fn or(parts: Vec<Formula>) -> Formula {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Formula::False => {}
                Formula::True => return Formula::True,
                Formula::Or(inner) => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Formula::False,
            1 => out.pop().unwrap_or(Formula::False),
            _ => Formula::Or(out),
        }
    }

    /// The negation, in negation normal form.
    pub fn negated(self) -> Formula {
        match self {
            Formula::True => Formula::False,
            Formula::False => Formula::True,
            Formula::Lit(a, b) => Formula::Lit(a, !b),
            Formula::And(parts) => Formula::or(parts.into_iter().map(Formula::negated).collect()),
            Formula::Or(parts) => Formula::and(parts.into_iter().map(Formula::negated).collect()),
        }
    }

    fn simplify(&self, assignment: &[Option<bool>]) -> Formula {
        match self {
            Formula::Lit(a, polarity) => match assignment.get(*a).copied().flatten() {
                Some(v) if v == *polarity => Formula::True,
                Some(_) => Formula::False,
                None => self.clone(),
            },
            Formula::And(parts) => {
                Formula::and(parts.iter().map(|p| p.simplify(assignment)).collect())
            }
            Formula::Or(parts) => {
                Formula::or(parts.iter().map(|p| p.simplify(assignment)).collect())
            }
            other => other.clone(),
        }
    }

    /// How many nodes the formula has.
    fn size(&self) -> usize {
        match self {
            Formula::And(parts) | Formula::Or(parts) => {
                1 + parts.iter().map(Formula::size).sum::<usize>()
            }
            _ => 1,
        }
    }

    fn first_atom(&self) -> Option<usize> {
        match self {
            Formula::Lit(a, _) => Some(*a),
            Formula::And(parts) | Formula::Or(parts) => parts.iter().find_map(Formula::first_atom),
            _ => None,
        }
    }
}

/// The result of a satisfiability question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sat {
    /// Satisfiable, with the atoms' values that show it (unassigned atoms are free).
    Yes(Vec<Option<bool>>),
    /// Proven unsatisfiable.
    No,
    /// The search ran out of budget.
    Unknown,
}

/// Turns conditions of one version into formulas over shared atoms, and decides them.
pub struct Analyzer<'a> {
    schema: &'a Schema,
    version: &'a Version,
    /// The atoms, by index.
    pub atoms: Vec<Atom>,
    index: HashMap<Atom, usize>,
    lets: HashMap<usize, (Formula, Formula)>,
    budget: usize,
    /// The work all further questions together may still take (search nodes times the size of
    /// the question's formula); past it every answer is "unknown".
    work_left: usize,
}

/// How many search nodes one question may take before the answer is "unknown".
const BUDGET: usize = 200_000;

/// The work the lints of one version may take in all (search nodes times formula size): about
/// a second in a debug build. The Storskog versions take about 2,000; a hundred rules that cover
/// each other in a chain about 6 million.
const LINT_WORK: usize = 10_000_000;

impl<'a> Analyzer<'a> {
    /// An analyzer for one version.
    pub fn new(schema: &'a Schema, version: &'a Version) -> Self {
        Analyzer {
            schema,
            version,
            atoms: Vec::new(),
            index: HashMap::new(),
            lets: HashMap::new(),
            budget: BUDGET,
            work_left: usize::MAX,
        }
    }

    /// The index of an atom, adding it if it is new.
    pub fn intern(&mut self, atom: Atom) -> usize {
        self.atom(atom)
    }

    fn atom(&mut self, atom: Atom) -> usize {
        if let Some(&i) = self.index.get(&atom) {
            return i;
        }
        let i = self.atoms.len();
        self.index.insert(atom.clone(), i);
        self.atoms.push(atom);
        i
    }

    /// The condition under which a rule decides, if every earlier rule did not.
    pub fn rule_condition(&mut self, rule: &Rule) -> Formula {
        let when = match &rule.when {
            Some(w) => self.formula(w, true),
            None => Formula::True,
        };
        let unless = match &rule.unless {
            Some(u) => self.formula(u, false),
            None => Formula::True,
        };
        Formula::and(vec![when, unless])
    }

    /// The formula of a bool expression (`positive`), or of its negation.
    pub fn formula(&mut self, expr: &TExpr, positive: bool) -> Formula {
        let f = self.positive_formula(expr);
        if positive { f } else { f.negated() }
    }

    fn positive_formula(&mut self, expr: &TExpr) -> Formula {
        match &expr.kind {
            TExprKind::Bool(b) => {
                if *b {
                    Formula::True
                } else {
                    Formula::False
                }
            }
            TExprKind::Not(inner) => self.formula(inner, false),
            TExprKind::And(parts) => {
                Formula::and(parts.iter().map(|p| self.formula(p, true)).collect())
            }
            TExprKind::Or(parts) => {
                Formula::or(parts.iter().map(|p| self.formula(p, true)).collect())
            }
            TExprKind::Let(index) => {
                if let Some((f, _)) = self.lets.get(index) {
                    return f.clone();
                }
                let Some(definition) = self.version.lets.get(*index) else {
                    return self.opaque(expr);
                };
                let definition = definition.value.clone();
                let f = self.formula(&definition, true);
                self.lets.insert(*index, (f.clone(), f.clone().negated()));
                f
            }
            TExprKind::Has { base, field } => match case_path(base) {
                Some(mut path) => {
                    path.push(*field);
                    Formula::Lit(self.atom(Atom::Present(path)), true)
                }
                None => self.opaque(expr),
            },
            TExprKind::Field { .. } if expr.ty == Ty::Bool => match case_path(expr) {
                Some(path) => Formula::Lit(self.atom(Atom::Eq(path, Constant::Bool(true))), true),
                None => self.opaque(expr),
            },
            TExprKind::Compare { op, lhs, rhs } => self.compare(*op, lhs, rhs, expr),
            TExprKind::In {
                negated,
                item,
                list,
            } => {
                let Some(values) = self.constant_list(list) else {
                    return self.opaque(expr);
                };
                let f = match (case_path(item), self.constant(item)) {
                    (Some(path), _) => Formula::or(
                        values
                            .into_iter()
                            .map(|v| Formula::Lit(self.atom(Atom::Eq(path.clone(), v)), true))
                            .collect(),
                    ),
                    (None, Some(c)) => {
                        if values.contains(&c) {
                            Formula::True
                        } else {
                            Formula::False
                        }
                    }
                    _ => return self.opaque(expr),
                };
                if *negated { f.negated() } else { f }
            }
            _ => self.opaque(expr),
        }
    }

    fn opaque(&mut self, expr: &TExpr) -> Formula {
        Formula::Lit(self.atom(Atom::Opaque(canonical(expr))), true)
    }

    fn compare(&mut self, op: CmpOp, lhs: &TExpr, rhs: &TExpr, whole: &TExpr) -> Formula {
        let (path, constant, op) = match (
            case_path(lhs),
            self.constant(rhs),
            case_path(rhs),
            self.constant(lhs),
        ) {
            (Some(p), Some(c), _, _) => (p, c, op),
            (_, _, Some(p), Some(c)) => (p, c, mirror(op)),
            (None, Some(a), None, Some(b)) => {
                let ordering = a.cmp(&b);
                return if op.holds(ordering) {
                    Formula::True
                } else {
                    Formula::False
                };
            }
            _ => return self.opaque(whole),
        };
        let eq =
            |s: &mut Self| Formula::Lit(s.atom(Atom::Eq(path.clone(), constant.clone())), true);
        let number = match &constant {
            Constant::Number(n) => Some(*n),
            _ => None,
        };
        let lt = |s: &mut Self, n: i64| Formula::Lit(s.atom(Atom::Lt(path.clone(), n)), true);
        match (op, number) {
            (CmpOp::Eq, _) => eq(self),
            (CmpOp::Ne, _) => eq(self).negated(),
            (CmpOp::Lt, Some(n)) => lt(self, n),
            (CmpOp::Le, Some(n)) => lt(self, n.saturating_add(1)),
            (CmpOp::Gt, Some(n)) => lt(self, n.saturating_add(1)).negated(),
            (CmpOp::Ge, Some(n)) => lt(self, n).negated(),
            _ => self.opaque(whole),
        }
    }

    /// A constant expression's value, following lets.
    fn constant(&self, expr: &TExpr) -> Option<Constant> {
        match &expr.kind {
            TExprKind::Bool(b) => Some(Constant::Bool(*b)),
            TExprKind::Int(i) => Some(Constant::Number(*i)),
            TExprKind::Date(d) => Some(Constant::Number(day_number(*d))),
            TExprKind::EnumValue { index, .. } => Some(Constant::Enum(*index)),
            TExprKind::Country(c) => Some(Constant::Text(c.as_str().to_string())),
            TExprKind::Text(t) => Some(Constant::Text(t.to_string())),
            TExprKind::Let(i) => self
                .version
                .lets
                .get(*i)
                .and_then(|l| self.constant(&l.value)),
            _ => None,
        }
    }

    fn constant_list(&self, expr: &TExpr) -> Option<Vec<Constant>> {
        match &expr.kind {
            TExprKind::List(items) => items.iter().map(|i| self.constant(i)).collect(),
            TExprKind::Let(i) => self
                .version
                .lets
                .get(*i)
                .and_then(|l| self.constant_list(&l.value)),
            _ => None,
        }
    }

    /// Decides whether a formula can hold.
    pub fn satisfiable(&mut self, formula: &Formula) -> Sat {
        // Each search node simplifies the whole formula: its size is the cost of a node.
        let size = formula.size();
        self.budget = BUDGET.min(self.work_left / size);
        let allowed = self.budget;
        let mut assignment = vec![None; self.atoms.len()];
        let answer = self.search(formula, &mut assignment);
        let spent = allowed.saturating_sub(self.budget);
        self.work_left = self.work_left.saturating_sub(spent.saturating_mul(size));
        match answer {
            Some(true) => Sat::Yes(assignment),
            Some(false) => Sat::No,
            None => Sat::Unknown,
        }
    }

    fn search(&mut self, formula: &Formula, assignment: &mut Vec<Option<bool>>) -> Option<bool> {
        if self.budget == 0 {
            return None;
        }
        self.budget -= 1;
        if !self.consistent(assignment) {
            return Some(false);
        }
        let simplified = formula.simplify(assignment);
        match simplified {
            Formula::True => Some(true),
            Formula::False => Some(false),
            _ => {
                let atom = simplified.first_atom()?;
                let mut unknown = false;
                // False first: models with fewer fields present and fewer values fixed make
                // smaller witnesses.
                for value in [false, true] {
                    if let Some(slot) = assignment.get_mut(atom) {
                        *slot = Some(value);
                    }
                    match self.search(&simplified, assignment) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => unknown = true,
                    }
                }
                if let Some(slot) = assignment.get_mut(atom) {
                    *slot = None;
                }
                if unknown { None } else { Some(false) }
            }
        }
    }

    /// Whether the assigned atoms can all hold of one case.
    pub fn consistent(&self, assignment: &[Option<bool>]) -> bool {
        let mut fields: BTreeMap<&FieldPath, FieldConstraint> = BTreeMap::new();
        let mut present: BTreeMap<&FieldPath, bool> = BTreeMap::new();
        for (atom, value) in self.atoms.iter().zip(assignment) {
            let Some(value) = value else { continue };
            match atom {
                Atom::Present(path) => {
                    if present
                        .insert(path, *value)
                        .is_some_and(|old| old != *value)
                    {
                        return false;
                    }
                }
                Atom::Eq(path, c) => fields.entry(path).or_default().require_eq(c, *value),
                Atom::Lt(path, n) => fields.entry(path).or_default().require_lt(*n, *value),
                Atom::Opaque(_) => {}
            }
        }
        // A present field's optional ancestors are present.
        for (path, is_present) in &present {
            if *is_present {
                for end in 1..path.len() {
                    let ancestor: FieldPath = path.iter().take(end).copied().collect();
                    if present.get(&ancestor) == Some(&false) {
                        return false;
                    }
                }
            }
        }
        for (path, constraint) in &fields {
            // Constraints on a field that is absent (or under an absent record) are never read.
            let absent = (1..=path.len()).any(|end| {
                let prefix: FieldPath = path.iter().take(end).copied().collect();
                present.get(&prefix) == Some(&false)
            });
            if absent {
                continue;
            }
            if !constraint.satisfiable(self.field_type(path), self.schema) {
                return false;
            }
        }
        true
    }

    /// The type of a field path, and its int range.
    pub fn field_type(&self, path: &[usize]) -> Option<Ty> {
        let mut record = Schema::ROOT;
        let mut ty = None;
        for (i, &index) in path.iter().enumerate() {
            let field = self.schema.record(record)?.fields.get_index(index)?.1;
            if i + 1 == path.len() {
                ty = Some(field.ty.clone());
            } else if let Ty::Record(inner) = field.ty {
                record = inner;
            } else {
                return None;
            }
        }
        ty
    }
}

/// What the assigned atoms say about one field.
#[derive(Debug, Clone, Default)]
pub struct FieldConstraint {
    /// It equals this.
    pub equal: Option<Constant>,
    /// Set when two different values are required.
    pub contradiction: bool,
    /// It differs from these.
    pub excluded: Vec<Constant>,
    /// It is at least this (numbers).
    pub at_least: Option<i64>,
    /// It is below this (numbers).
    pub below: Option<i64>,
}

impl FieldConstraint {
    /// Records that the field equals (or differs from) a constant.
    pub fn require_eq(&mut self, c: &Constant, holds: bool) {
        if holds {
            match &self.equal {
                Some(existing) if existing != c => self.contradiction = true,
                _ => self.equal = Some(c.clone()),
            }
        } else {
            self.excluded.push(c.clone());
        }
    }

    /// Records that the field is below (or at least) a number.
    pub fn require_lt(&mut self, n: i64, holds: bool) {
        if holds {
            self.below = Some(self.below.map_or(n, |b| b.min(n)));
        } else {
            self.at_least = Some(self.at_least.map_or(n, |a| a.max(n)));
        }
    }

    /// The numeric interval the field may take, within its type's own range.
    pub fn interval(&self, ty: Option<&Ty>) -> (i64, i64) {
        let (type_lo, type_hi) = match ty {
            Some(Ty::Int(range)) => (
                i64::try_from(range.lo).unwrap_or(i64::MIN),
                i64::try_from(range.hi).unwrap_or(i64::MAX),
            ),
            Some(Ty::Date) => (day_number(Date::MIN), day_number(Date::MAX)),
            _ => (i64::MIN, i64::MAX),
        };
        let lo = self.at_least.map_or(type_lo, |a| a.max(type_lo));
        let hi = self
            .below
            .map_or(type_hi, |b| b.saturating_sub(1).min(type_hi));
        (lo, hi)
    }

    /// Whether some value of the type meets every constraint.
    pub fn satisfiable(&self, ty: Option<Ty>, schema: &Schema) -> bool {
        if self.contradiction {
            return false;
        }
        if let Some(value) = &self.equal {
            if self.excluded.contains(value) {
                return false;
            }
        }
        match ty {
            Some(Ty::Bool) => match &self.equal {
                Some(_) => true,
                None => {
                    !(self.excluded.contains(&Constant::Bool(true))
                        && self.excluded.contains(&Constant::Bool(false)))
                }
            },
            Some(Ty::Enum(id)) if self.equal.is_none() => {
                let size = schema.enum_type(id).map_or(0, |e| e.values.len());
                (0..size as u32).any(|v| !self.excluded.contains(&Constant::Enum(v)))
            }
            Some(ref t @ (Ty::Int(_) | Ty::Date)) => {
                let (lo, hi) = self.interval(Some(t));
                if lo > hi {
                    return false;
                }
                match &self.equal {
                    Some(Constant::Number(n)) => *n >= lo && *n <= hi,
                    _ => {
                        // Some number in [lo, hi] is not excluded.
                        let excluded_inside = self
                            .excluded
                            .iter()
                            .filter(|c| matches!(c, Constant::Number(n) if *n >= lo && *n <= hi))
                            .count() as i128;
                        i128::from(hi) - i128::from(lo) + 1 > excluded_inside
                    }
                }
            }
            _ => true,
        }
    }
}

/// The day number of a date (days from 1970-01-01).
pub fn day_number(date: Date) -> i64 {
    days_between(Date::constant(1970, 1, 1), date)
}

fn mirror(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// The field path of `case.a.b`, if the expression is one.
pub fn case_path(expr: &TExpr) -> Option<FieldPath> {
    match &expr.kind {
        TExprKind::Case => Some(Vec::new()),
        TExprKind::Field { base, field } => {
            let mut path = case_path(base)?;
            path.push(*field);
            Some(path)
        }
        _ => None,
    }
}

/// A text that is the same for two expressions exactly when they are the same expression.
fn canonical(expr: &TExpr) -> String {
    let children = |items: &[TExpr]| items.iter().map(canonical).collect::<Vec<_>>().join(",");
    match &expr.kind {
        TExprKind::Bool(b) => format!("{b}"),
        TExprKind::Int(i) => format!("{i}"),
        TExprKind::Text(t) => format!("{t:?}"),
        TExprKind::Date(d) => format!("d{}", day_number(*d)),
        TExprKind::Country(c) => format!("c{c}"),
        TExprKind::EnumValue { enum_id, index } => format!("e{enum_id}.{index}"),
        TExprKind::Symbol(s) => format!("s{s:?}"),
        TExprKind::Case => "case".into(),
        TExprKind::Var(d) => format!("v{d}"),
        TExprKind::Let(i) => format!("l{i}"),
        TExprKind::Field { base, field } => format!("{}.{field}", canonical(base)),
        TExprKind::Has { base, field } => format!("{} has {field}", canonical(base)),
        TExprKind::Index { base, index } => format!("{}[{index}]", canonical(base)),
        TExprKind::List(items) => format!("[{}]", children(items)),
        TExprKind::Not(e) => format!("not({})", canonical(e)),
        TExprKind::Neg(e) => format!("neg({})", canonical(e)),
        TExprKind::And(items) => format!("and({})", children(items)),
        TExprKind::Or(items) => format!("or({})", children(items)),
        TExprKind::Compare { op, lhs, rhs } => {
            format!("({} {} {})", canonical(lhs), op.symbol(), canonical(rhs))
        }
        TExprKind::Arith { op, lhs, rhs } => {
            format!("({} {op:?} {})", canonical(lhs), canonical(rhs))
        }
        TExprKind::DateShift { date, amount, unit } => {
            format!("({} + {amount} {unit:?})", canonical(date))
        }
        TExprKind::In {
            negated,
            item,
            list,
        } => format!(
            "({} {}in {})",
            canonical(item),
            if *negated { "not " } else { "" },
            canonical(list)
        ),
        TExprKind::Quantifier { kind, list, body } => {
            format!("{kind:?}({}: {})", canonical(list), canonical(body))
        }
        TExprKind::Call { function, args } => format!("{function:?}({})", children(args)),
    }
}

/// What the analysis proved about the rules of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleFinding {
    /// The rule can never decide: these earlier rules (by index) cover every case it matches.
    Unreachable {
        /// The rule.
        rule: usize,
        /// The covering rules.
        covered_by: Vec<usize>,
    },
    /// The rule's condition can never hold at all.
    NeverHolds {
        /// The rule.
        rule: usize,
    },
}

/// The rules of a version that can never decide, proven.
pub fn unreachable_rules(schema: &Schema, version: &Version) -> Vec<RuleFinding> {
    // Past a few hundred rules the pairwise questions cost too much for a lint: say nothing.
    if version.rules.len() > 300 {
        return Vec::new();
    }
    let mut analyzer = Analyzer::new(schema, version);
    // The questions below grow with the square of the rules, and their size too: bound the whole.
    analyzer.work_left = LINT_WORK;
    let conditions: Vec<Formula> = version
        .rules
        .iter()
        .map(|r| analyzer.rule_condition(r))
        .collect();
    let mut findings = Vec::new();
    for (k, condition) in conditions.iter().enumerate() {
        if analyzer.satisfiable(condition) == Sat::No {
            findings.push(RuleFinding::NeverHolds { rule: k });
            continue;
        }
        let earlier: Vec<usize> = (0..k).collect();
        let covered = |analyzer: &mut Analyzer<'_>, set: &[usize]| {
            let mut parts = vec![condition.clone()];
            parts.extend(
                set.iter()
                    .filter_map(|&j| conditions.get(j))
                    .map(|c| c.clone().negated()),
            );
            analyzer.satisfiable(&Formula::and(parts)) == Sat::No
        };
        if earlier.is_empty() || !covered(&mut analyzer, &earlier) {
            continue;
        }
        // The fewest earlier rules that still cover it: drop each that is not needed.
        let mut cover = earlier;
        let mut i = 0;
        while i < cover.len() {
            let mut without = cover.clone();
            without.remove(i);
            if covered(&mut analyzer, &without) {
                cover = without;
            } else {
                i += 1;
            }
        }
        findings.push(RuleFinding::Unreachable {
            rule: k,
            covered_by: cover,
        });
    }
    findings
}
