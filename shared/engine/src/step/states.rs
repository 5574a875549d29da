//! The bodies of the states that need no children and no task: Pass, Choice, Wait, Succeed,
//! Fail, in both query languages.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use waymark_asl::choice;
use waymark_asl::error::names;
use waymark_asl::json::{as_integer, to_text};
use waymark_asl::jsonata::JsonataTemplate;
use waymark_asl::model::{
    Choice, Dynamic, DynamicText, Fail, Pass, QueryLanguage, State, Transition, Wait,
};
use waymark_asl::template::{select_required, Template};
use waymark_asl::timestamp::Timestamp;
use waymark_asl::Failure;

use super::io::Finish;
use super::{Flow, Stepper, TimerKind};
use crate::record::Phase;

type R = Result<Flow, Failure>;

impl Stepper<'_, '_> {
    /// The raw input of the frame's state and its context object.
    pub(crate) fn raw(&self, fid: &str) -> (Value, Value) {
        (self.frame(fid).input.clone(), self.context(fid, None, None))
    }

    pub(crate) fn run_pass(&mut self, fid: &str, state: &State, pass: &Pass) -> R {
        let (raw, ctx) = self.raw(fid);
        let effective = self.effective_input(fid, state, &raw, &ctx)?;
        let result = match state.query_language {
            QueryLanguage::JsonPath => {
                Some(pass.result.clone().unwrap_or_else(|| effective.clone()))
            }
            QueryLanguage::Jsonata => None,
        };
        let finish = Finish {
            raw: &raw,
            ctx: &ctx,
            effective: &effective,
            result,
            rule_assign: None,
            rule_output: None,
        };
        let (output, assigned) = self.conclude(fid, state, finish)?;
        self.exit_state(fid, state, output, assigned);
        Ok(Flow::Continue)
    }

    pub(crate) fn run_succeed(&mut self, fid: &str, state: &State) -> R {
        let (raw, ctx) = self.raw(fid);
        let effective = self.input_path_only(fid, state, &raw, &ctx)?;
        let finish = Finish {
            raw: &raw,
            ctx: &ctx,
            effective: &effective,
            result: None,
            rule_assign: None,
            rule_output: None,
        };
        let (output, assigned) = self.conclude(fid, state, finish)?;
        self.exit_state(fid, state, output, assigned);
        Ok(Flow::Continue)
    }

    pub(crate) fn run_choice(&mut self, fid: &str, state: &State, c: &Choice) -> R {
        let (raw, ctx) = self.raw(fid);
        let effective = self.input_path_only(fid, state, &raw, &ctx)?;
        let states = Self::states_object(&raw, &ctx, None, None);
        let mut matched = None;
        for (i, branch) in c.choices.iter().enumerate() {
            let holds = self.eval(fid, &effective, &ctx, |env| {
                let mut condition = |t: &JsonataTemplate| -> Result<bool, Failure> {
                    let field = format!("Choices[{i}]/Condition");
                    let v =
                        self.eval_jsonata(fid, &states, |jenv| t.eval_as(jenv, &field, "boolean"))?;
                    Ok(v.as_bool().unwrap_or(false))
                };
                choice::evaluate(&branch.rule, env, &mut condition)
            })?;
            if holds {
                matched = Some(branch);
                break;
            }
        }
        let next = match (matched, &c.default) {
            (Some(b), _) => b.next.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(Failure::new(
                    names::NO_CHOICE_MATCHED,
                    format!(
                    "No Choice Rule matched and no Default was specified in the Choice state '{}'",
                    state.name
                ),
                ))
            }
        };
        let finish = Finish {
            raw: &raw,
            ctx: &ctx,
            effective: &effective,
            result: None,
            rule_assign: matched.and_then(|b| b.assign.as_ref()),
            rule_output: matched.and_then(|b| b.output.as_ref()),
        };
        let (output, assigned) = self.conclude(fid, state, finish)?;
        self.emit_exit(fid, state, &output, assigned.as_ref());
        self.assign_vars(fid, assigned);
        self.transition(fid, Some(Transition::Next(next)), output);
        Ok(Flow::Continue)
    }

    pub(crate) fn run_wait(&mut self, fid: &str, state: &State, w: &Wait) -> R {
        let (raw, ctx) = self.raw(fid);
        let now = self.env.now;
        let effective = self.input_path_only(fid, state, &raw, &ctx)?;
        let until = match state.query_language {
            QueryLanguage::JsonPath => {
                self.eval(fid, &effective, &ctx, |env| wait_until(w, env, now))?
            }
            QueryLanguage::Jsonata => self.wait_until_jsonata(fid, w, &raw, &ctx, now)?,
        };
        let finish = Finish {
            raw: &raw,
            ctx: &ctx,
            effective: &effective,
            result: None,
            rule_assign: None,
            rule_output: None,
        };
        let (output, assigned) = self.conclude(fid, state, finish)?;
        if until <= now {
            self.exit_state(fid, state, output, assigned);
            return Ok(Flow::Continue);
        }
        let f = self.frame_mut(fid);
        f.seq += 1;
        f.phase = Phase::Waiting {
            until,
            output,
            assigned,
        };
        self.schedule(fid, until, TimerKind::Wake);
        Ok(Flow::Blocked)
    }

    fn wait_until_jsonata(
        &self,
        fid: &str,
        w: &Wait,
        raw: &Value,
        ctx: &Value,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Failure> {
        let states = Self::states_object(raw, ctx, None, None);
        match w {
            Wait::Seconds(Dynamic::Literal(n)) => Ok(now + Duration::seconds(*n as i64)),
            Wait::Timestamp(Dynamic::Literal(t)) => Ok(t.utc()),
            Wait::Seconds(Dynamic::Jsonata(t)) => {
                let v =
                    self.eval_jsonata(fid, &states, |env| t.eval_as(env, "Seconds", "integer"))?;
                match as_integer(&v) {
                    Some(n) if n >= 0 => Ok(now + Duration::seconds(n.min(99_999_999))),
                    _ => Err(Failure::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!(
                            "The Seconds field must be a non-negative integer, but was: {}",
                            to_text(&v)
                        ),
                    )),
                }
            }
            Wait::Timestamp(Dynamic::Jsonata(t)) => {
                let v = self.eval_jsonata(fid, &states, |env| t.eval(env, "Timestamp"))?;
                let shown = match &v {
                    Value::String(s) => s.clone(),
                    other => to_text(other),
                };
                v.as_str().and_then(Timestamp::parse).map(|t| t.utc()).ok_or_else(|| {
                    Failure::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {shown}"),
                    )
                })
            }
            Wait::Seconds(Dynamic::Path(_)) | Wait::Timestamp(Dynamic::Path(_)) => Err(
                Failure::runtime("JSONPath fields are not supported in a JSONata state"),
            ),
        }
    }

    pub(crate) fn run_fail(&mut self, fid: &str, state: &State, fail: &Fail) -> R {
        let (raw, ctx) = self.raw(fid);
        let states = Self::states_object(&raw, &ctx, None, None);
        let text = |t: &Option<DynamicText>,
                    path_field: &str,
                    field: &str|
         -> Result<Option<String>, Failure> {
            let v = match t {
                None => return Ok(None),
                Some(DynamicText::Literal(s)) => return Ok(Some(s.clone())),
                Some(DynamicText::Path(tpl)) => self.eval(fid, &raw, &ctx, |env| match tpl {
                    Template::Path(p) => select_required(env, p, path_field),
                    other => other.eval(env),
                })?,
                Some(DynamicText::Jsonata(tpl)) => {
                    self.eval_jsonata(fid, &states, |env| tpl.eval_as(env, field, "string"))?
                }
            };
            Ok(Some(match v {
                Value::String(s) => s,
                other => to_text(&other),
            }))
        };
        let failure = Failure {
            error: text(&fail.error, "ErrorPath", "Error")?,
            cause: text(&fail.cause, "CausePath", "Cause")?,
        };
        let _ = state;
        let f = self.frame_mut(fid);
        f.seq += 1;
        f.phase = Phase::Failed { failure };
        Ok(Flow::Continue)
    }

    /// Writes assigned variables into the frame's scope.
    pub(crate) fn assign_vars(&mut self, fid: &str, assigned: Option<Map<String, Value>>) {
        if let Some(vars) = assigned {
            self.frame_mut(fid).vars.extend(vars);
        }
    }
}

fn wait_until(
    w: &Wait,
    env: &waymark_asl::env::Env,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Failure> {
    match w {
        Wait::Seconds(Dynamic::Literal(n)) => Ok(now + Duration::seconds(*n as i64)),
        Wait::Seconds(Dynamic::Path(p)) => {
            let Some(v) = env.select(p)? else {
                return Err(Failure::runtime(format!(
                    "The SecondsPath parameter does not reference an input value: {}",
                    p.source()
                )));
            };
            match as_integer(&v) {
                Some(n) if n < 0 => Err(Failure::runtime(format!(
                    "The SecondsPath parameter references a negative value: {} == {}",
                    p.source(),
                    to_text(&v)
                ))),
                Some(n) => Ok(now + Duration::seconds(n.min(99_999_999))),
                None => Err(Failure::runtime(format!(
                    "The SecondsPath parameter does not reference a valid integer value: {} == {}",
                    p.source(),
                    to_text(&v)
                ))),
            }
        }
        Wait::Timestamp(Dynamic::Literal(t)) => Ok(t.utc()),
        Wait::Timestamp(Dynamic::Path(p)) => {
            let Some(v) = env.select(p)? else {
                return Err(Failure::runtime(format!(
                    "The TimestampPath parameter does not reference an input value: {}",
                    p.source()
                )));
            };
            let shown = match &*v {
                Value::String(s) => s.clone(),
                other => to_text(other),
            };
            match v.as_str().and_then(Timestamp::parse) {
                Some(t) => Ok(t.utc()),
                None => Err(Failure::runtime(format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                    p.source(),
                    shown
                ))),
            }
        }
        Wait::Seconds(Dynamic::Jsonata(_)) | Wait::Timestamp(Dynamic::Jsonata(_)) => Err(
            Failure::runtime("JSONata expressions are not supported in a JSONPath state"),
        ),
    }
}
