//! The JSONPath data flow of a state, in AWS's order: InputPath → Parameters → (the state's
//! work) → ResultSelector → ResultPath → OutputPath. ResultPath merges into the state's *raw*
//! input, not the InputPath-filtered one.

use serde_json::{Map, Value};

use crate::env::Env;
use crate::error::{names, Failure};
use crate::json::to_text;
use crate::model::{Io, NullablePath};
use crate::path::Path;

/// Applies InputPath: `$` when absent, `{}` when null.
pub fn apply_input_path(io: &Io, env: &Env) -> Result<Value, Failure> {
    select_nullable(io.input_path.as_ref(), env)
}

/// Applies OutputPath to the state's output (`env.input` is that output).
pub fn apply_output_path(io: &Io, env: &Env) -> Result<Value, Failure> {
    select_nullable(io.output_path.as_ref(), env)
}

fn select_nullable(field: Option<&NullablePath>, env: &Env) -> Result<Value, Failure> {
    match field {
        None => Ok(env.input.clone()),
        Some(NullablePath::Null) => Ok(Value::Object(Map::new())),
        Some(NullablePath::Path(p)) => select_or_invalid(p, env),
    }
}

/// AWS's error for InputPath/OutputPath/ItemsPath paths that find nothing.
pub fn select_or_invalid(path: &Path, env: &Env) -> Result<Value, Failure> {
    match env.select(path)? {
        Some(v) => Ok(v.into_owned()),
        None => Err(Failure::runtime(format!(
            "Invalid path '{}' : No results for path: {}",
            path.source(),
            bracketed(path)
        ))),
    }
}

/// Jayway's normalised rendering of a path (`$['a']['b'][0]`), used in its error messages.
fn bracketed(path: &Path) -> String {
    use crate::path::Selector;
    let mut out = String::from("$");
    for step in path.steps() {
        match &step.selector {
            Selector::Name(n) => out.push_str(&format!("['{n}']")),
            Selector::Index(i) => out.push_str(&format!("[{i}]")),
            _ => return path.source().to_string(),
        }
    }
    out
}

/// Applies ResultPath: where the state's result goes in its raw input.
pub fn apply_result_path(
    field: Option<&NullablePath>,
    raw_input: &Value,
    result: Value,
) -> Result<Value, Failure> {
    match field {
        None => Ok(result),
        Some(NullablePath::Null) => Ok(raw_input.clone()),
        Some(NullablePath::Path(p)) => {
            let mut out = raw_input.clone();
            p.write(&mut out, result).map_err(|_| {
                Failure::new(
                    names::RESULT_PATH_MATCH_FAILURE,
                    format!(
                        "Unable to apply step \"{}\" to input {}",
                        p.source(),
                        to_text(raw_input)
                    ),
                )
            })?;
            Ok(out)
        }
    }
}

/// Applies Parameters (or ItemSelector) to the effective input.
pub fn apply_template(
    template: Option<&crate::template::Template>,
    env: &Env,
) -> Result<Value, Failure> {
    match template {
        None => Ok(env.input.clone()),
        Some(t) => t.eval(env),
    }
}

/// The error output a Catch hands on: `{"Error": …, "Cause": …}`.
pub fn error_output(f: &Failure) -> Value {
    let mut m = Map::new();
    if let Some(e) = &f.error {
        m.insert("Error".into(), Value::String(e.clone()));
    }
    if let Some(c) = &f.cause {
        m.insert("Cause".into(), Value::String(c.clone()));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::env::{NoVariables, SeededRandom};

    fn env<'a>(input: &'a Value, ctx: &'a Value, rnd: &'a SeededRandom) -> Env<'a> {
        Env {
            input,
            context: ctx,
            vars: &NoVariables,
            random: rnd,
        }
    }

    #[test]
    fn input_path_null_gives_empty_object() {
        let io = Io {
            input_path: Some(NullablePath::Null),
            ..Io::default()
        };
        let (i, c, r) = (json!({"a": 1}), json!({}), SeededRandom::new(1));
        assert_eq!(apply_input_path(&io, &env(&i, &c, &r)).unwrap(), json!({}));
    }

    #[test]
    fn missing_input_path_is_a_runtime_error_in_jayway_words() {
        let io = Io {
            input_path: Some(NullablePath::Path(Path::parse("$.a.b").unwrap())),
            ..Io::default()
        };
        let (i, c, r) = (json!({"a": 1}), json!({}), SeededRandom::new(1));
        let err = apply_input_path(&io, &env(&i, &c, &r)).unwrap_err();
        assert_eq!(err.error.as_deref(), Some(names::RUNTIME));
        assert_eq!(
            err.cause.as_deref(),
            Some("Invalid path '$.a.b' : No results for path: $['a']['b']")
        );
    }

    #[test]
    fn result_path_merges_into_raw_input() {
        let raw = json!({"keep": true});
        let p = NullablePath::Path(Path::parse("$.r").unwrap());
        assert_eq!(
            apply_result_path(Some(&p), &raw, json!(5)).unwrap(),
            json!({"keep": true, "r": 5})
        );
        assert_eq!(
            apply_result_path(Some(&NullablePath::Null), &raw, json!(5)).unwrap(),
            raw
        );
        assert_eq!(apply_result_path(None, &raw, json!(5)).unwrap(), json!(5));
    }

    #[test]
    fn result_path_into_a_scalar_fails_with_match_failure() {
        let p = NullablePath::Path(Path::parse("$.r").unwrap());
        let err = apply_result_path(Some(&p), &json!("text"), json!(5)).unwrap_err();
        assert_eq!(err.error.as_deref(), Some(names::RESULT_PATH_MATCH_FAILURE));
    }
}
