//! Answer keys, resolved: a rubric's `reference` computations taken from its key lock
//! ([`super::lock`]) or, without one, run through the cache, and its `expect` cross-checks
//! applied. This is what `rubric lint` proves and what grading uses.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::lock::KeyLock;

use super::{Answer, Reference, Rubric};
use crate::reference::cache::Cache;
use crate::reference::receptive_field::TraceStep;
use crate::reference::{dropout, parameters, receptive_field, shape, Code};

/// The key of one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Key {
    Number {
        value: f64,
        /// The per-layer receptive-field trace, for feedback on where a student diverged.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        trace: Vec<TraceStep>,
        /// Where the value came from, in words.
        source: String,
    },
    Shape {
        value: Vec<i64>,
        source: String,
    },
    Expression {
        formula: String,
        /// The reference computation's value at the code's own variable values (e.g. q at
        /// p1 = 0.1, p2 = 0.2), when the rubric names one.
        reference_value: Option<f64>,
        /// The code's variable values that `reference_value` is for.
        reference_at: BTreeMap<String, f64>,
        source: String,
    },
    /// Autograd's gradients at the seeded draws of a `kind: gradient` question, and the
    /// accepted formula per part (shown to graders).
    Gradient {
        draws: crate::answer::gradient_key::GradientDraws,
        formulas: BTreeMap<String, String>,
        source: String,
    },
    /// Kinds without a computed key (truth, choice, concepts, ...): the rubric holds it.
    InRubric,
}

impl Key {
    /// The key as shown to a grader.
    pub fn display(&self) -> String {
        match self {
            Key::Number { value, .. } => format_number(*value),
            Key::Shape { value, .. } => format!("{value:?}"),
            Key::Expression { formula, .. } => formula.clone(),
            Key::Gradient { formulas, .. } => formulas
                .iter()
                .map(|(wrt, f)| format!("dL/d{wrt} = {f}"))
                .collect::<Vec<_>>()
                .join("; "),
            Key::InRubric => String::new(),
        }
    }
}

/// Points as reports show them: at most two decimals (`32.08`, `2`, `0.5`).
pub fn format_points(v: f64) -> String {
    format_number((v * 100.0).round() / 100.0)
}

/// A number as people write it: no trailing `.0`, and no floating-point noise
/// (`0.2799999999999999` is `0.28`).
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    if v.abs() >= 1e-4 && v.abs() < 1e15 {
        let s = format!("{v:.10}");
        return s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{v:e}")
}

/// A key that could not be resolved, or that disagrees with the rubric's `expect`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("question `{question}`: {message}")]
pub struct KeyError {
    pub question: String,
    pub message: String,
}

/// Where computed results come from: the rubric's lock, or the cache (and, on a miss,
/// the computation), optionally recording what was used into a new lock.
struct Source<'a> {
    cache: &'a Cache,
    lock: Option<&'a KeyLock>,
    record: Option<RefCell<KeyLock>>,
}

impl Source<'_> {
    /// The result of computation `kind` on `input`.
    fn get<K, T>(
        &self,
        kind: &str,
        input: &K,
        compute: impl FnOnce() -> crate::reference::Result<T>,
    ) -> crate::reference::Result<T>
    where
        K: Serialize,
        T: Serialize + DeserializeOwned,
    {
        let input = serde_json::to_value(input)
            .map_err(|e| crate::reference::Error::Invalid(format!("cannot encode: {e}")))?;
        let result: T = match self.lock {
            Some(lock) => {
                let value = lock
                    .get(kind, &input)
                    .map_err(crate::reference::Error::Invalid)?;
                serde_json::from_value(value).map_err(|e| {
                    crate::reference::Error::Invalid(format!(
                        "the key lock {} holds a {kind} result examiner cannot read ({e}): run \
                         `examiner rubric lock` again",
                        lock.path.display()
                    ))
                })?
            }
            None => self.cache.get_or_compute(kind, &input, compute)?.0,
        };
        if let Some(record) = &self.record {
            if let Ok(value) = serde_json::to_value(&result) {
                record.borrow_mut().insert(kind, input, value);
            }
        }
        Ok(result)
    }
}

/// Resolves every question's key: from the rubric's key lock when it has one (and locks are
/// not ignored, see [`super::lock`]), else through `cache`.
pub fn resolve(rubric: &Rubric, cache: &Cache) -> Result<BTreeMap<String, Key>, KeyError> {
    let source = Source {
        cache,
        lock: rubric.lock.as_ref().filter(|_| !super::lock::ignored()),
        record: None,
    };
    resolve_from(rubric, &source)
}

/// Computes every key of `rubric` afresh (its own lock ignored; through `cache`) and returns
/// them with the lock that holds the computations behind them (`examiner rubric lock`).
pub fn lock(rubric: &Rubric, cache: &Cache) -> Result<(BTreeMap<String, Key>, KeyLock), KeyError> {
    let source = Source {
        cache,
        lock: None,
        record: Some(RefCell::new(KeyLock::new(&rubric.id))),
    };
    let keys = resolve_from(rubric, &source)?;
    let lock = source
        .record
        .map(RefCell::into_inner)
        .unwrap_or_else(|| KeyLock::new(&rubric.id));
    Ok((keys, lock))
}

fn resolve_from(rubric: &Rubric, cache: &Source) -> Result<BTreeMap<String, Key>, KeyError> {
    let mut keys = BTreeMap::new();
    if rubric.student {
        // A student edition has no keys to compute, and none is shown.
        for q in &rubric.questions {
            keys.insert(q.id.clone(), Key::InRubric);
        }
        return Ok(keys);
    }
    for q in &rubric.questions {
        let fail = |message: String| KeyError {
            question: q.id.clone(),
            message,
        };
        let key = match &q.answer {
            Answer::Number {
                value,
                reference,
                expect,
                ..
            } => {
                let key = match (value, reference) {
                    (Some(v), _) => Key::Number {
                        value: *v,
                        trace: Vec::new(),
                        source: "the rubric's value".into(),
                    },
                    (None, Some(r)) => number_reference(rubric, r, cache).map_err(fail)?,
                    (None, None) => return Err(fail("no value and no reference".into())),
                };
                if let (Some(expected), Key::Number { value, source, .. }) = (expect, &key) {
                    if (expected - value).abs() > 1e-9 * expected.abs().max(1.0) {
                        return Err(fail(format!(
                            "the rubric expects {} but {source} gives {}",
                            format_number(*expected),
                            format_number(*value)
                        )));
                    }
                }
                key
            }
            Answer::Shape {
                value,
                reference,
                expect,
            } => {
                let key = match (value, reference) {
                    (Some(v), _) => Key::Shape {
                        value: v.clone(),
                        source: "the rubric's value".into(),
                    },
                    (None, Some(r)) => shape_reference(rubric, r, cache).map_err(fail)?,
                    (None, None) => return Err(fail("no value and no reference".into())),
                };
                if let (Some(expected), Key::Shape { value, source }) = (expect, &key) {
                    if expected != value {
                        return Err(fail(format!(
                            "the rubric expects {expected:?} but {source} gives {value:?}"
                        )));
                    }
                }
                key
            }
            Answer::Expression {
                formula, reference, ..
            } => match reference {
                Some(r) => {
                    let (value, at, source) = dropout_reference(rubric, r, cache).map_err(fail)?;
                    let parsed = crate::answer::parse_expr(formula).map_err(|e| {
                        fail(format!("the formula `{formula}` does not parse: {e}"))
                    })?;
                    let lookup = |name: &str| {
                        at.iter()
                            .find(|(k, _)| {
                                crate::answer::canonical_var(k)
                                    == crate::answer::canonical_var(name)
                            })
                            .map(|(_, v)| *v)
                    };
                    let at_code = parsed.eval(&lookup).map_err(|e| {
                        fail(format!(
                            "the formula `{formula}` cannot be evaluated at the code's values: {e}"
                        ))
                    })?;
                    if (at_code - value).abs() > 1e-9 {
                        return Err(fail(format!(
                            "the formula `{formula}` gives {} at the code's values, but {source} is {}",
                            format_number(at_code),
                            format_number(value)
                        )));
                    }
                    Key::Expression {
                        formula: formula.clone(),
                        reference_value: Some(value),
                        reference_at: at,
                        source,
                    }
                }
                None => Key::Expression {
                    formula: formula.clone(),
                    reference_value: None,
                    reference_at: BTreeMap::new(),
                    source: "the rubric's formula".into(),
                },
            },
            Answer::Gradient(answer) => gradient_reference(rubric, answer, cache).map_err(fail)?,
            _ => Key::InRubric,
        };
        keys.insert(q.id.clone(), key);
    }
    Ok(keys)
}

/// Autograd at the draws (through the cache), then the rubric's own formulas checked
/// against it: an accepted formula that disagrees with autograd is a key error.
fn gradient_reference(
    rubric: &Rubric,
    answer: &crate::rubric::GradientAnswer,
    cache: &Source,
) -> Result<Key, String> {
    let source = code_of(rubric, &answer.code)?;
    let spec = gradient_spec(answer, source);
    let draws = cache
        .get("gradient-draws", &spec, || {
            crate::reference::gradient_draws::compute(&spec)
                .map_err(crate::reference::Error::Invalid)
        })
        .map_err(|e| format!("code `{}`: {e}", answer.code))?;
    // The rubric's own formulas are checked against these draws by `rubric lint` and
    // `rubric lock` (`checkers::gradient::verify`).
    Ok(Key::Gradient {
        formulas: answer
            .parts
            .iter()
            .filter_map(|p| p.accept.first().map(|f| (p.wrt.clone(), f.formula.clone())))
            .collect(),
        source: format!(
            "autograd at {} seeded draws per activation ({})",
            answer.draws,
            answer.activations.join(", ")
        ),
        draws,
    })
}

/// The spec autograd is asked for, from the rubric's answer and the code it names.
pub fn gradient_spec(
    answer: &super::GradientAnswer,
    code: &str,
) -> crate::answer::gradient_key::GradientSpec {
    let mut wrt: Vec<String> = answer.parts.iter().map(|p| p.tensor.clone()).collect();
    wrt.dedup();
    crate::answer::gradient_key::GradientSpec {
        code: code.to_string(),
        of: answer.of.clone(),
        wrt,
        inputs: answer.inputs.clone(),
        sizes: answer.sizes.clone(),
        constants: answer.constants.clone(),
        activations: answer.activations.clone(),
        draws: answer.draws,
        seed: answer.seed,
    }
}

fn code_of<'a>(rubric: &'a Rubric, name: &str) -> Result<&'a str, String> {
    rubric
        .code
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| format!("no code named `{name}`"))
}

fn number_reference(rubric: &Rubric, r: &Reference, cache: &Source) -> Result<Key, String> {
    match r {
        Reference::ReceptiveField { code, model } => {
            let source = code_of(rubric, code)?;
            let key = serde_json::json!({"code": source, "params": [model, null]});
            let rf = cache
                .get("receptive-field", &key, || {
                    receptive_field::receptive_field(source, model.as_deref(), None)
                })
                .map_err(|e| format!("code `{code}`: {e}"))?;
            if rf.receptive_field[0] != rf.receptive_field[1] {
                return Err(format!(
                    "the receptive field of `{}` is {}x{}, not square; a number key needs one \
                     value",
                    rf.model, rf.receptive_field[0], rf.receptive_field[1]
                ));
            }
            Ok(Key::Number {
                value: rf.receptive_field[0] as f64,
                source: format!(
                    "the receptive field of `{}` (autograd, agreeing with the closed form)",
                    rf.model
                ),
                trace: rf.trace,
            })
        }
        Reference::Dropout { .. } => {
            let (value, _, source) = dropout_reference(rubric, r, cache)?;
            Ok(Key::Number {
                value,
                trace: Vec::new(),
                source,
            })
        }
        Reference::Parameters {
            code,
            model,
            layer,
            trainable,
        } => {
            let source = code_of(rubric, code)?;
            let key = serde_json::json!({"code": source, "params": [model, null]});
            let p = cache
                .get("parameters", &key, || {
                    let code = Code::new(source)?;
                    parameters::parameters(&code, model.as_deref(), None)
                })
                .map_err(|e| format!("code `{code}`: {e}"))?;
            let (value, what) = match layer {
                None if *trainable => (
                    p.trainable,
                    format!("trainable parameters of `{}`", p.model),
                ),
                None => (p.total, format!("parameters of `{}`", p.model)),
                Some(name) => {
                    let found = p.layers.iter().find(|l| l.name == *name).ok_or_else(|| {
                        format!(
                            "`{}` has no layer `{name}` with parameters; its layers are {}",
                            p.model,
                            p.layers
                                .iter()
                                .map(|l| format!("`{}`", l.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })?;
                    let n = if *trainable && !found.trainable {
                        0
                    } else {
                        found.parameters
                    };
                    (n, format!("parameters of `{}.{name}`", p.model))
                }
            };
            Ok(Key::Number {
                value: value as f64,
                source: format!("the {what} (per layer from torch's weight and bias shapes)"),
                trace: Vec::new(),
            })
        }
        Reference::Shape { .. } => Err("a shape reference gives a shape, not a number".into()),
    }
}

fn shape_reference(rubric: &Rubric, r: &Reference, cache: &Source) -> Result<Key, String> {
    let Reference::Shape { code, name } = r else {
        return Err("a shape answer needs a `shape` reference".into());
    };
    let source = code_of(rubric, code)?;
    let key = serde_json::json!({"code": source, "params": name});
    let s = cache
        .get("shape", &key, || {
            let code = Code::new(source)?;
            shape::shape(&code, name.as_deref())
        })
        .map_err(|e| format!("code `{code}`: {e}"))?;
    Ok(Key::Shape {
        value: s.shape,
        source: format!("the shape of `{}` computed with libtorch", s.name),
    })
}

/// The closed-form drop probability of the code's stacked dropouts (checked against the
/// libtorch measurement: more than 4 standard errors apart is an error), and the code's
/// variable values.
fn dropout_reference(
    rubric: &Rubric,
    r: &Reference,
    cache: &Source,
) -> Result<(f64, BTreeMap<String, f64>, String), String> {
    let Reference::Dropout { code, model } = r else {
        return Err("an expression key's reference must be a `dropout` computation".into());
    };
    let source = code_of(rubric, code)?;
    let parsed = Code::new(source).map_err(|e| format!("code `{code}`: {e}"))?;
    let p = dropout::probabilities(&parsed, model.as_deref())
        .map_err(|e| format!("code `{code}`: {e}"))?;
    let d = cache
        .get("dropout", &p, || dropout::dropout(&p))
        .map_err(|e| format!("code `{code}`: {e}"))?;
    if (d.q_measured - d.q).abs() > 4.0 * d.stderr.max(1e-12) {
        return Err(format!(
            "libtorch's dropout dropped {} of the activations, more than 4 standard errors \
             from the closed form {}",
            d.q_measured, d.q
        ));
    }
    let mut at = BTreeMap::new();
    for binding in &parsed.evaluated.bindings {
        if let crate::reference::python::eval::Value::Float(v) = binding.value {
            at.insert(binding.name.clone(), v);
        }
    }
    Ok((
        d.q,
        at,
        format!(
            "the drop probability of the stacked dropouts p = {:?} (measured {:.4} +- {:.4})",
            d.p, d.q_measured, d.stderr
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::format_number;

    #[test]
    fn numbers_are_shown_without_noise() {
        assert_eq!(format_number(112.0), "112");
        assert_eq!(format_number(1.0 - 0.9 * 0.8), "0.28");
        assert_eq!(format_number(0.125), "0.125");
        assert_eq!(format_number(2.5e-7), "2.5e-7");
    }
}
