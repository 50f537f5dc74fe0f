//! Question code, read and interpreted once, and the look-ups every computation needs: which
//! model, which tensor, which input shape.

use std::rc::Rc;

use super::error::{Error, Result};
use super::python::eval::{evaluate, Evaluated, Module, ModuleKind, TensorExpr, Value};
use super::python::parse;

/// Parsed and interpreted question code.
#[derive(Debug)]
pub struct Code {
    pub evaluated: Evaluated,
}

/// A model the code builds, with the name it is known by.
#[derive(Debug, Clone)]
pub struct NamedModel {
    /// The name it was assigned to, or `<expression at LINE:COL>`.
    pub name: String,
    pub module: Rc<Module>,
}

impl Code {
    /// Parses and interprets `source` (never executing it).
    pub fn new(source: &str) -> Result<Code> {
        let program = parse(source)?;
        let evaluated = evaluate(&program)?;
        Ok(Code { evaluated })
    }

    /// The model named `name`, or by default the last model (an `nn.Sequential` or an instance
    /// of an `nn.Module` class) the code assigns (or, if it assigns none, the last one it
    /// builds in an expression).
    pub fn model(&self, name: Option<&str>) -> Result<NamedModel> {
        if let Some(name) = name {
            return match self.evaluated.get(name).map(|b| &b.value) {
                Some(Value::Module(m)) => Ok(NamedModel {
                    name: name.to_string(),
                    module: m.clone(),
                }),
                Some(other) => Err(Error::Invalid(format!(
                    "`{name}` is {}, not a model",
                    other.kind()
                ))),
                None => Err(Error::Invalid(format!(
                    "the code assigns no `{name}`; it assigns {}",
                    self.names_list()
                ))),
            };
        }
        let is_sequential = |m: &Rc<Module>| {
            matches!(
                m.kind,
                ModuleKind::Sequential(_) | ModuleKind::Chain(_) | ModuleKind::Class(_)
            )
        };
        let assigned = self
            .evaluated
            .bindings
            .iter()
            .rev()
            .find_map(|b| match &b.value {
                Value::Module(m) if is_sequential(m) => Some(NamedModel {
                    name: b.name.clone(),
                    module: m.clone(),
                }),
                _ => None,
            });
        if let Some(found) = assigned {
            return Ok(found);
        }
        let in_expression = self
            .evaluated
            .expressions
            .iter()
            .rev()
            .find_map(|(v, span)| {
                let module = match v {
                    Value::Module(m) => Some(m.clone()),
                    Value::Tensor(t) | Value::Shape(t) => applied_module(t),
                    _ => None,
                }?;
                Some(NamedModel {
                    name: format!("<expression at {span}>"),
                    module,
                })
            });
        in_expression.ok_or_else(|| {
            Error::Invalid(
                "the code builds no model (nn.Sequential or nn.Module class)".to_string(),
            )
        })
    }

    /// The shape of the input the code feeds to `module` (`cnn(torch.rand(size=(...)))`), if
    /// it does so with a tensor it creates.
    pub fn input_shape(&self, module: &Module) -> Option<Vec<i64>> {
        self.evaluated
            .applications
            .iter()
            .rev()
            .find_map(|app| match app.as_ref() {
                TensorExpr::Apply {
                    module: m, input, ..
                } if m.id == module.id => match input.as_ref() {
                    TensorExpr::Leaf { spec, .. } => Some(spec.shape.clone()),
                    _ => None,
                },
                _ => None,
            })
    }

    /// The tensor named `name`, or by default the last tensor the code assigns.
    pub fn tensor(&self, name: Option<&str>) -> Result<(String, Rc<TensorExpr>)> {
        match name {
            Some(name) => match self.evaluated.get(name).map(|b| &b.value) {
                Some(Value::Tensor(t) | Value::Shape(t)) => Ok((name.to_string(), t.clone())),
                Some(other) => Err(Error::Invalid(format!(
                    "`{name}` is {}, not a tensor",
                    other.kind()
                ))),
                None => Err(Error::Invalid(format!(
                    "the code assigns no `{name}`; it assigns {}",
                    self.names_list()
                ))),
            },
            None => self
                .evaluated
                .bindings
                .iter()
                .rev()
                .find_map(|b| match &b.value {
                    Value::Tensor(t) | Value::Shape(t) => Some((b.name.clone(), t.clone())),
                    _ => None,
                })
                .ok_or_else(|| Error::Invalid("the code assigns no tensor".to_string())),
        }
    }

    /// The names the code assigns, for error messages.
    pub fn names_list(&self) -> String {
        let names = self.evaluated.names();
        if names.is_empty() {
            "nothing".to_string()
        } else {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

fn applied_module(t: &TensorExpr) -> Option<Rc<Module>> {
    match t {
        TensorExpr::Apply { module, .. } => Some(module.clone()),
        _ => None,
    }
}
