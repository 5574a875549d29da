//! Payload templates of JSONPath states (Parameters, ResultSelector, ItemSelector, the
//! ErrorPath/CausePath of Fail): JSON whose `"key.$"` fields are replaced, at any depth, by the
//! value of a path or of an intrinsic function call, under the key without `.$`.

use serde_json::{Map, Value};

use crate::budget::Budget;
use crate::env::Env;
use crate::error::Failure;
use crate::intrinsics::{is_intrinsic, Intrinsic};
use crate::json::to_text;
use crate::path::{Path, Root};

#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Literal(Value),
    Path(Path),
    Intrinsic(Intrinsic),
}

/// A template field that could not be compiled, with the JSON Pointer suffix (relative to the
/// template) where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The diagnostic code AWS reports (`SCHEMA_VALIDATION_FAILED`, `INVALID_JSONATA_EXPRESSION` …).
    pub code: &'static str,
    pub pointer: String,
    pub message: String,
}

impl Template {
    /// Compiles a template; every bad `.$` field is reported, not only the first.
    pub fn compile(value: &Value) -> Result<Template, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let t = compile_value(value, "", &mut errors);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    /// Compiles the value of a single dynamic field (`"x.$": "..."`, `ErrorPath`, `CausePath`).
    pub fn compile_dynamic(field: &str, src: &str) -> Result<Template, String> {
        dynamic(field, src)
    }

    /// Evaluates the template, within [`crate::budget::MAX_EVALUATION_BYTES`] of values
    /// copied from paths and built by intrinsics.
    pub fn eval(&self, env: &Env) -> Result<Value, Failure> {
        self.eval_field(env, Field("", false), &Budget::new())
    }

    fn eval_field(&self, env: &Env, field: Field<'_>, budget: &Budget) -> Result<Value, Failure> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.eval_field(env, field, budget))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (key, t) in fields {
                    let dynamic = matches!(t, Template::Path(_) | Template::Intrinsic(_));
                    out.insert(key.clone(), t.eval_field(env, Field(key, dynamic), budget)?);
                }
                Value::Object(out)
            }
            Template::Path(path) => {
                let v = select_required(env, path, field)?;
                budget.take(&v, || format!("The field '{field}'"))?;
                v
            }
            Template::Intrinsic(f) => f.eval_within(env, budget)?,
        })
    }

    /// Every path the template reads (for validation of variable references).
    pub fn paths(&self) -> Vec<&Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut out);
        out
    }

    fn collect_paths<'a>(&'a self, out: &mut Vec<&'a Path>) {
        match self {
            Template::Object(fields) => fields.iter().for_each(|(_, t)| t.collect_paths(out)),
            Template::Array(items) => items.iter().for_each(|t| t.collect_paths(out)),
            Template::Path(p) => out.push(p),
            Template::Literal(_) | Template::Intrinsic(_) => {}
        }
    }
}

/// A field's name as errors show it (`key.$` for a dynamic one), written only when an error
/// is: evaluation runs for every item of a Map, errors seldom.
#[derive(Clone, Copy)]
struct Field<'a>(&'a str, bool);

impl std::fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)?;
        if self.1 {
            f.write_str(".$")?;
        }
        Ok(())
    }
}

/// Reads a path that must find something, with AWS's error when it does not.
pub fn select_required(
    env: &Env,
    path: &Path,
    field: impl std::fmt::Display,
) -> Result<Value, Failure> {
    match env.select(path)? {
        Some(v) => Ok(v.into_owned()),
        None => {
            let searched = match path.root() {
                Root::Context => env.context,
                _ => env.input,
            };
            Err(Failure::runtime(format!(
                "The JSONPath '{}' specified for the field '{}' could not be found in the input '{}'",
                path.source(),
                field,
                to_text(searched)
            )))
        }
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn compile_value(value: &Value, ptr: &str, errors: &mut Vec<TemplateError>) -> Template {
    match value {
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (key, v) in map {
                let here = format!("{ptr}/{}", escape_pointer(key));
                match key.strip_suffix(".$") {
                    Some(stripped) => {
                        let compiled = match v {
                            Value::String(src) => dynamic(key, src),
                            _ => Err(format!(
                                "The value for the field '{key}' must be a STRING that contains a JSONPath or an intrinsic function"
                            )),
                        };
                        match compiled {
                            Ok(t) => fields.push((stripped.to_string(), t)),
                            Err(message) => errors.push(TemplateError {
                                code: crate::diag::codes::SCHEMA_VALIDATION_FAILED,
                                pointer: here,
                                message,
                            }),
                        }
                    }
                    None => fields.push((key.clone(), compile_value(v, &here, errors))),
                }
            }
            Template::Object(fields)
        }
        Value::Array(items) => Template::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| compile_value(v, &format!("{ptr}/{i}"), errors))
                .collect(),
        ),
        other => Template::Literal(other.clone()),
    }
}

fn dynamic(field: &str, src: &str) -> Result<Template, String> {
    if is_intrinsic(src) {
        return Intrinsic::parse(src).map(Template::Intrinsic).map_err(|e| {
            format!("The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call: {e}")
        });
    }
    Path::parse(src).map(Template::Path).map_err(|e| {
        format!("The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call: {e}")
    })
}
