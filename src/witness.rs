//! Witnesses: for every rule of every version, a small case record that the rule decides.
//!
//! The analysis of `check::analysis` says which atoms must hold for a rule to decide (its
//! condition, no earlier rule's, and an as-of date inside the version's span); a record is built
//! from them, and what the atoms cannot say (list contents, dates compared with dates) is found by
//! a small deterministic search over values taken from the policy itself. Every witness is
//! verified by evaluating it: a record is only printed when the rule really decides it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json, json};

use crate::check::analysis::{
    Analyzer, Atom, Constant, FieldConstraint, Formula, Sat, case_path, day_number,
};
use crate::check::model::Version;
use crate::check::types::{RecordId, Schema, Ty};
use crate::country::Country;
use crate::dates::{Date, PeriodUnit, add_period, format_date};
use crate::engine::{Engine, EvalOptions, VersionChoice};
use crate::report::Record;

/// What was found for one rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Witness {
    /// The version.
    pub version: String,
    /// The rule (`otherwise` for the default).
    pub rule: String,
    /// A record the rule decides, when one was found.
    pub case: Option<Json>,
    /// Why there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// How many candidate records are tried per rule.
const ATTEMPTS: usize = 4000;

/// Witnesses for every rule of every version of a loaded policy.
pub fn witnesses(engine: &Engine) -> Vec<Witness> {
    let schema = &engine.checked.schema;
    let mut out = Vec::new();
    for (index, version) in engine.checked.versions.iter().enumerate() {
        let rules: Vec<&crate::check::model::Rule> = version
            .rules
            .iter()
            .chain(std::iter::once(&version.otherwise))
            .collect();
        let mut analyzer = Analyzer::new(schema, version);
        let conditions: Vec<Formula> = rules.iter().map(|r| analyzer.rule_condition(r)).collect();
        let span = version_span(engine, index, version, &mut analyzer);
        for (k, rule) in rules.iter().enumerate() {
            let mut parts: Vec<Formula> = vec![conditions.get(k).cloned().unwrap_or(Formula::True)];
            parts.extend(conditions.iter().take(k).map(|c| c.clone().negated()));
            parts.extend(span.iter().cloned());
            let target = Formula::And(parts);
            let witness = match analyzer.satisfiable(&target) {
                Sat::No => Witness {
                    version: version.id.clone(),
                    rule: rule.name.clone(),
                    case: None,
                    why: Some(if k == 0 {
                        "its condition can never hold".into()
                    } else {
                        "no case reaches it: its condition never holds when every earlier rule fails".into()
                    }),
                },
                Sat::Yes(model) => search(engine, index, version, &analyzer, &model, &rule.name),
                Sat::Unknown => search(
                    engine,
                    index,
                    version,
                    &analyzer,
                    &vec![None; analyzer.atoms.len()],
                    &rule.name,
                ),
            };
            out.push(witness);
        }
    }
    out
}

/// The as-of date inside the version's span, as formulas.
fn version_span(
    engine: &Engine,
    index: usize,
    version: &Version,
    analyzer: &mut Analyzer<'_>,
) -> Vec<Formula> {
    let Some(path) = case_path(&version.as_of) else {
        return Vec::new();
    };
    let mut span = Vec::new();
    let from = day_number(version.from);
    let ge_from = Formula::Lit(atom_index(analyzer, Atom::Lt(path.clone(), from)), false);
    span.push(ge_from);
    if let Some(last) = engine.policy.last_days.get(index).copied().flatten() {
        let le_last = Formula::Lit(
            atom_index(analyzer, Atom::Lt(path, day_number(last).saturating_add(1))),
            true,
        );
        span.push(le_last);
    }
    span
}

fn atom_index(analyzer: &mut Analyzer<'_>, atom: Atom) -> usize {
    analyzer.intern(atom)
}

/// Values a search picks from: the policy's own constants first.
struct Pools {
    countries: Vec<String>,
    dates: Vec<i64>,
    texts: Vec<String>,
}

fn pools(analyzer: &Analyzer<'_>, version: &Version) -> Pools {
    let mut countries: BTreeSet<String> = BTreeSet::new();
    let mut dates: BTreeSet<i64> = BTreeSet::new();
    let mut texts: BTreeSet<String> = BTreeSet::new();
    for atom in &analyzer.atoms {
        match atom {
            Atom::Eq(path, Constant::Text(t)) => match analyzer.field_type(path) {
                Some(Ty::Country) => {
                    countries.insert(t.clone());
                }
                _ => {
                    texts.insert(t.clone());
                }
            },
            Atom::Lt(path, n) if analyzer.field_type(path) == Some(Ty::Date) => {
                dates.insert(*n);
                dates.insert(n - 1);
            }
            _ => {}
        }
    }
    for let_ in &version.lets {
        collect_countries(&let_.value, &mut countries);
    }
    for code in ["RU", "SY", "AF", "IQ", "IR", "LB", "TR", "PK"] {
        countries.insert(code.to_string());
    }
    let from = day_number(version.from);
    for offset in [
        -3650, -730, -400, -366, -365, -364, -1, 0, 1, 30, 365, 366, 3650,
    ] {
        dates.insert(from + offset);
    }
    Pools {
        countries: countries.into_iter().collect(),
        dates: dates.into_iter().collect(),
        texts: texts.into_iter().collect(),
    }
}

fn collect_countries(expr: &crate::check::model::TExpr, out: &mut BTreeSet<String>) {
    use crate::check::model::TExprKind as K;
    match &expr.kind {
        K::Country(c) => {
            out.insert(c.as_str().to_string());
        }
        K::List(items) | K::And(items) | K::Or(items) => {
            items.iter().for_each(|i| collect_countries(i, out))
        }
        K::Compare { lhs, rhs, .. } => {
            collect_countries(lhs, out);
            collect_countries(rhs, out);
        }
        K::In { item, list, .. } => {
            collect_countries(item, out);
            collect_countries(list, out);
        }
        K::Not(e) => collect_countries(e, out),
        K::Quantifier { list, body, .. } => {
            collect_countries(list, out);
            collect_countries(body, out);
        }
        K::Call { args, .. } => args.iter().for_each(|a| collect_countries(a, out)),
        _ => {}
    }
}

/// A small deterministic generator (xorshift), so witnesses are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// What the model says about each field.
struct Model {
    constraints: BTreeMap<Vec<usize>, FieldConstraint>,
    present: BTreeMap<Vec<usize>, bool>,
}

fn model_of(analyzer: &Analyzer<'_>, assignment: &[Option<bool>]) -> Model {
    let mut model = Model {
        constraints: BTreeMap::new(),
        present: BTreeMap::new(),
    };
    for (atom, value) in analyzer.atoms.iter().zip(assignment) {
        let Some(value) = value else { continue };
        match atom {
            Atom::Present(path) => {
                model.present.insert(path.clone(), *value);
            }
            Atom::Eq(path, c) => model
                .constraints
                .entry(path.clone())
                .or_default()
                .require_eq(c, *value),
            Atom::Lt(path, n) => model
                .constraints
                .entry(path.clone())
                .or_default()
                .require_lt(*n, *value),
            Atom::Opaque(_) => {}
        }
    }
    model
}

fn search(
    engine: &Engine,
    index: usize,
    version: &Version,
    analyzer: &Analyzer<'_>,
    assignment: &[Option<bool>],
    rule: &str,
) -> Witness {
    let model = model_of(analyzer, assignment);
    let pools = pools(analyzer, version);
    let schema = &engine.checked.schema;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (rule.len() as u64) << 7 ^ index as u64);
    let options = EvalOptions {
        choice: VersionChoice::Forced(index),
        explain: false,
    };
    let id = format!("W-{}-{}", version.id, rule);
    for attempt in 0..ATTEMPTS {
        // The first record is the plainest the model allows; later ones vary more and more.
        let variation = match attempt {
            0 => 0,
            n if n < 200 => 20,
            n if n < 1000 => 40,
            _ => 60,
        };
        let mut builder = Builder {
            schema,
            model: &model,
            pools: &pools,
            rng: &mut rng,
            variation,
            countries: Vec::new(),
        };
        let mut record = builder.record(Schema::ROOT, &[]);
        if let Some(object) = record.as_object_mut() {
            object.insert("id".into(), Json::String(id.clone()));
        }
        let text = record.to_string();
        let Ok(case) = engine.read_json(&text, 1) else {
            continue;
        };
        if let Record::Decision(decision) = engine.decide(&case, options) {
            // A record that contradicts itself (a consistency warning) is a poor example: take
            // one only when no clean record turns up.
            let clean_enough = decision.warnings.is_empty() || attempt >= ATTEMPTS * 3 / 4;
            if *decision.rule == *rule && clean_enough {
                return Witness {
                    version: version.id.clone(),
                    rule: rule.to_string(),
                    case: Some(record),
                    why: None,
                };
            }
        }
    }
    Witness {
        version: version.id.clone(),
        rule: rule.to_string(),
        case: None,
        why: Some(format!(
            "no record was found in {ATTEMPTS} tries; the analysis cannot say whether one exists"
        )),
    }
}

struct Builder<'a> {
    schema: &'a Schema,
    model: &'a Model,
    pools: &'a Pools,
    rng: &'a mut Rng,
    variation: u64,
    /// Countries chosen so far, for lists that start where the journey started.
    countries: Vec<String>,
}

impl Builder<'_> {
    fn record(&mut self, record: RecordId, prefix: &[usize]) -> Json {
        let mut object = Map::new();
        let Some(record_type) = self.schema.record(record) else {
            return Json::Object(object);
        };
        for (index, field) in record_type.fields.values().enumerate() {
            let mut path = prefix.to_vec();
            path.push(index);
            if field.optional {
                let present = match self.model.present.get(&path) {
                    Some(p) => *p,
                    None => self.rng.chance(self.variation / 2),
                };
                if !present {
                    continue;
                }
            }
            let value = match &field.ty {
                Ty::Record(inner) => self.record(*inner, &path),
                ty => self.scalar(ty, &path, field.text_length),
            };
            object.insert(field.name.clone(), value);
        }
        Json::Object(object)
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        items.get(self.rng.below(items.len())).cloned()
    }

    fn scalar(&mut self, ty: &Ty, path: &[usize], text_length: Option<(usize, usize)>) -> Json {
        let default = FieldConstraint::default();
        let constraint = self.model.constraints.get(path).unwrap_or(&default);
        let vary = self.rng.chance(self.variation);
        match ty {
            Ty::Bool => match &constraint.equal {
                Some(Constant::Bool(b)) => Json::Bool(*b),
                _ => {
                    let wanted = vary && self.rng.chance(50);
                    let value = if constraint.excluded.contains(&Constant::Bool(wanted)) {
                        !wanted
                    } else {
                        wanted
                    };
                    Json::Bool(value)
                }
            },
            Ty::Int(_) => {
                let (lo, hi) = constraint.interval(Some(ty));
                let allowed = |v: i64| !constraint.excluded.contains(&Constant::Number(v));
                let value = match &constraint.equal {
                    Some(Constant::Number(n)) => *n,
                    _ => {
                        let start = if vary {
                            lo.saturating_add(self.rng.below(5) as i64)
                        } else {
                            lo.max(0).min(hi)
                        };
                        (start..=hi.min(start.saturating_add(50)))
                            .find(|v| allowed(*v))
                            .unwrap_or(start)
                    }
                };
                json!(value)
            }
            Ty::Date => {
                let (lo, hi) = constraint.interval(Some(ty));
                let mut candidates: Vec<i64> = self
                    .pools
                    .dates
                    .iter()
                    .copied()
                    .filter(|d| *d >= lo && *d <= hi)
                    .collect();
                if candidates.is_empty() {
                    candidates.push(lo.max(day_number(Date::constant(2000, 1, 1))).min(hi));
                }
                let value = match &constraint.equal {
                    Some(Constant::Number(n)) => *n,
                    _ if vary => self.pick(&candidates).unwrap_or(lo),
                    _ => candidates.iter().copied().find(|d| *d >= lo).unwrap_or(lo),
                };
                Json::String(format_date(add_period(
                    Date::constant(1970, 1, 1),
                    value,
                    PeriodUnit::Days,
                )))
            }
            Ty::Country => {
                let value = match &constraint.equal {
                    Some(Constant::Text(t)) => t.clone(),
                    _ => {
                        let allowed: Vec<String> = self
                            .pools
                            .countries
                            .iter()
                            .filter(|c| {
                                !constraint.excluded.contains(&Constant::Text((*c).clone()))
                            })
                            .cloned()
                            .collect();
                        let choice = if vary {
                            self.pick(&allowed)
                        } else {
                            allowed.first().cloned()
                        };
                        choice.unwrap_or_else(|| "NO".to_string())
                    }
                };
                self.countries.push(value.clone());
                Json::String(value)
            }
            Ty::Enum(id) => {
                let values = self
                    .schema
                    .enum_type(*id)
                    .map(|e| e.values.clone())
                    .unwrap_or_default();
                let allowed: Vec<(usize, String)> = values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !constraint.excluded.contains(&Constant::Enum(*i as u32)))
                    .map(|(i, v)| (i, v.clone()))
                    .collect();
                let value = match &constraint.equal {
                    Some(Constant::Enum(i)) => values.get(*i as usize).cloned(),
                    _ if vary => self.pick(&allowed).map(|(_, v)| v),
                    _ => allowed.first().map(|(_, v)| v.clone()),
                };
                Json::String(value.unwrap_or_default())
            }
            Ty::Text => match &constraint.equal {
                Some(Constant::Text(t)) => Json::String(t.clone()),
                _ => {
                    let minimum = text_length.map_or(1, |(lo, _)| lo.max(1));
                    let chosen = if vary {
                        self.pick(&self.pools.texts.clone())
                    } else {
                        None
                    };
                    Json::String(chosen.unwrap_or_else(|| "x".repeat(minimum)))
                }
            },
            Ty::List(element) if matches!(**element, Ty::Country) => {
                if !vary {
                    return json!([]);
                }
                let start = self
                    .countries
                    .first()
                    .cloned()
                    .or_else(|| self.pick(&self.pools.countries.clone()));
                let middle = self.pick(&self.pools.countries.clone());
                let shape = self.rng.below(5);
                let list: Vec<String> = match (shape, start, middle) {
                    (0, Some(s), _) => vec![s, "RU".into()],
                    (1, Some(s), Some(m)) => vec![s, m, "RU".into()],
                    (2, _, _) => vec!["RU".into()],
                    (3, Some(s), _) => vec![s],
                    (_, _, Some(m)) => vec![m, "RU".into()],
                    _ => Vec::new(),
                };
                json!(
                    list.into_iter()
                        .filter(|c| Country::parse(c).is_some())
                        .collect::<Vec<_>>()
                )
            }
            _ => json!([]),
        }
    }
}
