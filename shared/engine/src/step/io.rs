//! How data enters and leaves a state, in both query languages: the effective input (InputPath
//! and Parameters, or JSONata Arguments), and the way out (ResultSelector, ResultPath,
//! OutputPath, or JSONata Output) together with the variables the state assigns.

use serde_json::{Map, Value};
use waymark_asl::dataflow::{
    apply_input_path, apply_output_path, apply_result_path, apply_template,
};
use waymark_asl::jsonata::{JsonataEnv, JsonataTemplate, Prepared};
use waymark_asl::model::{Assign, QueryLanguage, State, StateKind};
use waymark_asl::Failure;

use super::{FrameVars, Stepper};

/// What a state hands to the data flow when its work is done.
pub(crate) struct Finish<'v> {
    /// The raw input of the state.
    pub raw: &'v Value,
    pub ctx: &'v Value,
    /// The input after InputPath (JSONPath), for states whose result is their input.
    pub effective: &'v Value,
    /// The task's, branches' or items' result, for Task, Parallel and Map.
    pub result: Option<Value>,
    /// A Choice rule's own Assign and Output, which take the place of the state's.
    pub rule_assign: Option<&'v Assign>,
    pub rule_output: Option<&'v JsonataTemplate>,
}

/// The state's output, and the variables it assigns (if it has an `Assign`).
pub(crate) type Outcome = (Value, Option<Map<String, Value>>);

impl Stepper<'_, '_> {
    /// `$states` for a JSONata expression of the frame's current state.
    pub(crate) fn states_object(
        raw: &Value,
        ctx: &Value,
        result: Option<&Value>,
        error_output: Option<&Value>,
    ) -> Value {
        let mut m = Map::new();
        m.insert("input".into(), raw.clone());
        m.insert("context".into(), ctx.clone());
        if let Some(r) = result {
            m.insert("result".into(), r.clone());
        }
        if let Some(e) = error_output {
            m.insert("errorOutput".into(), e.clone());
        }
        Value::Object(m)
    }

    /// Evaluates a JSONata template for the frame with `states` bound.
    pub(crate) fn eval_jsonata(
        &self,
        fid: &str,
        states: &Value,
        f: impl FnOnce(&JsonataEnv) -> Result<Value, Failure>,
    ) -> Result<Value, Failure> {
        self.eval_jsonata_prepared(fid, states, None, f)
    }

    /// [`Stepper::eval_jsonata`] with `$states.input` converted once by the caller.
    pub(crate) fn eval_jsonata_prepared(
        &self,
        fid: &str,
        states: &Value,
        prepared_input: Option<&Prepared>,
        f: impl FnOnce(&JsonataEnv) -> Result<Value, Failure>,
    ) -> Result<Value, Failure> {
        let vars = FrameVars {
            rec: self.rec,
            frame: fid.to_string(),
        };
        let env = JsonataEnv {
            states,
            vars: &vars,
            now_millis: self.env.now.timestamp_millis(),
            entropy: self.env.random.next_u64(),
            prepared_input,
        };
        f(&env)
    }

    /// The input a state works on. JSONPath: InputPath, then Parameters when the state type
    /// has them. JSONata: Arguments when present, else the raw input.
    pub(crate) fn effective_input(
        &self,
        fid: &str,
        state: &State,
        raw: &Value,
        ctx: &Value,
    ) -> Result<Value, Failure> {
        match state.query_language {
            QueryLanguage::JsonPath => self.eval(fid, raw, ctx, |env| -> Result<Value, Failure> {
                let after_input_path = apply_input_path(&state.io, env)?;
                if state.io.parameters.is_none() {
                    return Ok(after_input_path);
                }
                self.eval(fid, &after_input_path, ctx, |env| {
                    apply_template(state.io.parameters.as_ref(), env)
                })
            }),
            QueryLanguage::Jsonata => match &state.io.arguments {
                None => Ok(raw.clone()),
                Some(args) => {
                    let states = Self::states_object(raw, ctx, None, None);
                    self.eval_jsonata(fid, &states, |env| args.eval(env, "Arguments"))
                }
            },
        }
    }

    /// The InputPath alone (Map's items and Choice rules read it; Parameters do not apply).
    pub(crate) fn input_path_only(
        &self,
        fid: &str,
        state: &State,
        raw: &Value,
        ctx: &Value,
    ) -> Result<Value, Failure> {
        match state.query_language {
            QueryLanguage::JsonPath => {
                self.eval(fid, raw, ctx, |env| apply_input_path(&state.io, env))
            }
            QueryLanguage::Jsonata => Ok(raw.clone()),
        }
    }

    /// The state's output and assignments, from its result.
    pub(crate) fn conclude(&self, fid: &str, state: &State, f: Finish) -> Result<Outcome, Failure> {
        let has_result = matches!(
            state.kind,
            StateKind::Task(_) | StateKind::Map(_) | StateKind::Parallel(_)
        );
        let assign = f.rule_assign.or(state.io.assign.as_ref());
        match state.query_language {
            QueryLanguage::JsonPath => {
                // The state's result: what the work produced, or (Pass) Result/Parameters, or
                // (Choice, Wait, Succeed) the input itself.
                let result = f.result.unwrap_or_else(|| f.effective.clone());
                let selected = if has_result {
                    self.eval(fid, &result, f.ctx, |env| {
                        apply_template(state.io.result_selector.as_ref(), env)
                    })?
                } else {
                    result
                };
                let assigned = match assign {
                    Some(Assign::JsonPath(t)) => {
                        Some(self.eval(fid, &selected, f.ctx, |env| t.eval(env))?)
                    }
                    _ => None,
                };
                let after = match state.kind {
                    StateKind::Choice(_) | StateKind::Wait(_) | StateKind::Succeed => selected,
                    _ => apply_result_path(state.io.result_path.as_ref(), f.raw, selected)?,
                };
                let output =
                    self.eval(fid, &after, f.ctx, |env| apply_output_path(&state.io, env))?;
                self.checked(output, assigned)
            }
            QueryLanguage::Jsonata => {
                let states = Self::states_object(
                    f.raw,
                    f.ctx,
                    f.result.as_ref().filter(|_| has_result),
                    None,
                );
                let output_tpl = f.rule_output.or(state.io.output.as_ref());
                let output = match output_tpl {
                    Some(t) => self.eval_jsonata(fid, &states, |env| t.eval(env, "Output"))?,
                    None if has_result => f.result.clone().unwrap_or(Value::Null),
                    None => f.raw.clone(),
                };
                let assigned = match assign {
                    Some(Assign::Jsonata(t)) => {
                        Some(self.eval_jsonata(fid, &states, |env| t.eval(env, "Assign"))?)
                    }
                    _ => None,
                };
                self.checked(output, assigned)
            }
        }
    }

    /// The outcome, once the assignment is within AWS's limits, the execution's total
    /// included.
    fn checked(&self, output: Value, assigned: Option<Value>) -> Result<Outcome, Failure> {
        let Some(assigned) = assigned.map(into_map) else {
            return Ok((output, None));
        };
        check_assignment(&assigned)?;
        let held: usize = self
            .rec
            .frames
            .values()
            .flat_map(|f| f.vars.values())
            .map(waymark_asl::json::payload_size)
            .sum();
        let adding: usize = assigned.values().map(waymark_asl::json::payload_size).sum();
        if held + adding > MAX_EXECUTION_VARIABLE_BYTES {
            return Err(Failure::new(
                waymark_asl::error::names::DATA_LIMIT_EXCEEDED,
                format!("The execution's variables would come to {} bytes, more than the maximum of {MAX_EXECUTION_VARIABLE_BYTES} bytes.", held + adding),
            ));
        }
        Ok((output, Some(assigned)))
    }

    /// A catcher's output and assignments from the error output.
    pub(crate) fn conclude_catch(
        &self,
        fid: &str,
        state: &State,
        catcher: &waymark_asl::model::Catcher,
        error_output: Value,
    ) -> Result<Outcome, Failure> {
        let raw = self.frame(fid).input.clone();
        let ctx = self.context(fid, None, None);
        match state.query_language {
            QueryLanguage::JsonPath => {
                let assigned = match &catcher.assign {
                    Some(Assign::JsonPath(t)) => {
                        Some(self.eval(fid, &error_output, &ctx, |env| t.eval(env))?)
                    }
                    _ => None,
                };
                let output = apply_result_path(catcher.result_path.as_ref(), &raw, error_output)?;
                self.checked(output, assigned)
            }
            QueryLanguage::Jsonata => {
                let states = Self::states_object(&raw, &ctx, None, Some(&error_output));
                let output = match &catcher.output {
                    Some(t) => self.eval_jsonata(fid, &states, |env| {
                        t.eval(env, &format!("Catch[{}]/Output", catcher.index))
                    })?,
                    None => error_output.clone(),
                };
                let assigned = match &catcher.assign {
                    Some(Assign::Jsonata(t)) => Some(self.eval_jsonata(fid, &states, |env| {
                        t.eval(env, &format!("Catch[{}]/Assign", catcher.index))
                    })?),
                    _ => None,
                };
                self.checked(output, assigned)
            }
        }
    }
}

/// AWS's limits on variables: 256 KiB for one value and for one Assign altogether.
pub(crate) const MAX_VARIABLE_BYTES: usize = 256 * 1024;
/// And 10 MiB for every variable an execution holds at once.
pub(crate) const MAX_EXECUTION_VARIABLE_BYTES: usize = 10 * 1024 * 1024;

/// Checks an Assign's values against the size limits.
pub(crate) fn check_assignment(assigned: &Map<String, Value>) -> Result<(), Failure> {
    let mut total = 0;
    for (name, v) in assigned {
        let size = waymark_asl::json::payload_size(v);
        if size > MAX_VARIABLE_BYTES {
            return Err(Failure::new(
                waymark_asl::error::names::DATA_LIMIT_EXCEEDED,
                format!("The value assigned to the variable '{name}' is {size} bytes, more than the maximum of {MAX_VARIABLE_BYTES} bytes for one variable."),
            ));
        }
        if let Some(at) = waymark_asl::json::first_too_deep(v, super::MAX_PAYLOAD_DEPTH) {
            return Err(Failure::new(
                waymark_asl::error::names::DATA_LIMIT_EXCEEDED,
                format!("The value assigned to the variable '{name}' is nested more than {} levels deep (at '{}').", super::MAX_PAYLOAD_DEPTH, waymark_asl::json::clip(&at)),
            ));
        }
        total += size;
    }
    if total > MAX_VARIABLE_BYTES {
        return Err(Failure::new(
            waymark_asl::error::names::DATA_LIMIT_EXCEEDED,
            format!("The variables assigned by one state come to {total} bytes, more than the maximum of {MAX_VARIABLE_BYTES} bytes."),
        ));
    }
    Ok(())
}

fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("value".into(), other);
            m
        }
    }
}
