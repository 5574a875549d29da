//! The bodies of the states that need no children and no task: Pass, Choice, Wait, Succeed,
//! Fail.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use waymark_asl::choice;
use waymark_asl::dataflow::{
    apply_input_path, apply_output_path, apply_result_path, apply_template,
};
use waymark_asl::error::names;
use waymark_asl::json::{as_integer, to_text};
use waymark_asl::model::{Choice, Dynamic, DynamicText, Fail, Pass, State, Wait};
use waymark_asl::template::select_required;
use waymark_asl::timestamp::Timestamp;
use waymark_asl::Failure;

use super::{Flow, Stepper, TimerKind};
use crate::record::Phase;

type R = Result<Flow, Failure>;

impl Stepper<'_, '_> {
    /// The input as the state sees it: the raw input and its context object.
    fn raw(&self, fid: &str) -> (Value, Value) {
        (self.frame(fid).input.clone(), self.context(fid, None, None))
    }

    pub(crate) fn run_pass(&mut self, fid: &str, state: &State, pass: &Pass) -> R {
        let (raw, ctx) = self.raw(fid);
        let output = self.eval(fid, &raw, &ctx, |env| -> Result<Value, Failure> {
            let effective = apply_input_path(&state.io, env)?;
            let effective = self.eval(fid, &effective, &ctx, |env| {
                apply_template(state.io.parameters.as_ref(), env)
            })?;
            let result = pass.result.clone().unwrap_or(effective);
            let after = apply_result_path(state.io.result_path.as_ref(), &raw, result)?;
            self.eval(fid, &after, &ctx, |env| apply_output_path(&state.io, env))
        })?;
        self.exit_state(fid, state, output);
        Ok(Flow::Continue)
    }

    pub(crate) fn run_succeed(&mut self, fid: &str, state: &State) -> R {
        let (raw, ctx) = self.raw(fid);
        let output = self.eval(fid, &raw, &ctx, |env| -> Result<Value, Failure> {
            let effective = apply_input_path(&state.io, env)?;
            self.eval(fid, &effective, &ctx, |env| {
                apply_output_path(&state.io, env)
            })
        })?;
        self.exit_state(fid, state, output);
        Ok(Flow::Continue)
    }

    pub(crate) fn run_choice(&mut self, fid: &str, state: &State, c: &Choice) -> R {
        let (raw, ctx) = self.raw(fid);
        let (next, output) = self.eval(fid, &raw, &ctx, |env| -> Result<_, Failure> {
            let effective = apply_input_path(&state.io, env)?;
            let next = self.eval(
                fid,
                &effective,
                &ctx,
                |env| -> Result<Option<String>, Failure> {
                    for branch in &c.choices {
                        let mut no_jsonata = |_: &Value| -> Result<bool, Failure> {
                            Err(Failure::runtime(
                                "JSONata conditions are not supported in a JSONPath state",
                            ))
                        };
                        if choice::evaluate(&branch.rule, env, &mut no_jsonata)? {
                            return Ok(Some(branch.next.clone()));
                        }
                    }
                    Ok(c.default.clone())
                },
            )?;
            let output = self.eval(fid, &effective, &ctx, |env| {
                apply_output_path(&state.io, env)
            })?;
            Ok((next, output))
        })?;
        let Some(next) = next else {
            return Err(Failure::new(
                names::NO_CHOICE_MATCHED,
                format!(
                    "No Choice Rule matched and no Default was specified in the Choice state '{}'",
                    state.name
                ),
            ));
        };
        self.emit(
            fid,
            crate::history::state_exited("Choice", &state.name, &output, None),
        );
        self.transition(
            fid,
            Some(waymark_asl::model::Transition::Next(next)),
            output,
        );
        Ok(Flow::Continue)
    }

    pub(crate) fn run_wait(&mut self, fid: &str, state: &State, w: &Wait) -> R {
        let (raw, ctx) = self.raw(fid);
        let now = self.env.now;
        let (until, output) = self.eval(fid, &raw, &ctx, |env| -> Result<_, Failure> {
            let effective = apply_input_path(&state.io, env)?;
            let until = self.eval(fid, &effective, &ctx, |env| wait_until(w, env, now))?;
            let output = self.eval(fid, &effective, &ctx, |env| {
                apply_output_path(&state.io, env)
            })?;
            Ok((until, output))
        })?;
        if until <= now {
            self.exit_state(fid, state, output);
            return Ok(Flow::Continue);
        }
        let f = self.frame_mut(fid);
        f.seq += 1;
        f.phase = Phase::Waiting { until, output };
        self.schedule(fid, until, TimerKind::Wake);
        Ok(Flow::Blocked)
    }

    pub(crate) fn run_fail(&mut self, fid: &str, _state: &State, fail: &Fail) -> R {
        let (raw, ctx) = self.raw(fid);
        let failure = self.eval(fid, &raw, &ctx, |env| -> Result<Failure, Failure> {
            let text = |t: &Option<DynamicText>, field: &str| -> Result<Option<String>, Failure> {
                Ok(match t {
                    None => None,
                    Some(DynamicText::Literal(s)) => Some(s.clone()),
                    Some(DynamicText::Path(tpl)) => {
                        let v = match tpl {
                            waymark_asl::template::Template::Path(p) => {
                                select_required(env, p, field)?
                            }
                            other => other.eval(env)?,
                        };
                        Some(match v {
                            Value::String(s) => s,
                            other => to_text(&other),
                        })
                    }
                    Some(DynamicText::Jsonata(_)) => {
                        return Err(Failure::runtime(
                            "JSONata expressions are not supported in a JSONPath state",
                        ))
                    }
                })
            };
            Ok(Failure {
                error: text(&fail.error, "ErrorPath")?,
                cause: text(&fail.cause, "CausePath")?,
            })
        })?;
        let f = self.frame_mut(fid);
        f.seq += 1;
        f.phase = Phase::Failed { failure };
        Ok(Flow::Continue)
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
