//! Task states: the request handed to the `Tasks` port, and what comes back.

use chrono::Duration;
use serde_json::Value;
use waymark_asl::dataflow::apply_input_path;
use waymark_asl::json::as_integer;
use waymark_asl::model::{Dynamic, QueryLanguage, State, Task};
use waymark_asl::Failure;

use super::io::Finish;
use super::{Effect, Flow, Stepper, TaskRequest, TimerKind};
use crate::history::ResourceEvents;
use crate::record::{Phase, TaskPhase};

impl Stepper<'_, '_> {
    pub(crate) fn run_task(
        &mut self,
        fid: &str,
        state: &State,
        task: &Task,
    ) -> Result<Flow, Failure> {
        let token = (self.env.new_token)();
        let raw = self.frame(fid).input.clone();
        let ctx = self.context(fid, Some(&token), None);
        let (timeout, heartbeat) = match state.query_language {
            QueryLanguage::JsonPath => self.eval(fid, &raw, &ctx, |env| -> Result<_, Failure> {
                let effective = apply_input_path(&state.io, env)?;
                self.eval(fid, &effective, &ctx, |env| -> Result<_, Failure> {
                    Ok((
                        seconds(task.timeout_seconds.as_ref(), env, "TimeoutSecondsPath")?,
                        seconds(task.heartbeat_seconds.as_ref(), env, "HeartbeatSecondsPath")?,
                    ))
                })
            })?,
            QueryLanguage::Jsonata => {
                let states = Self::states_object(&raw, &ctx, None, None);
                (
                    self.jsonata_seconds(
                        fid,
                        &states,
                        task.timeout_seconds.as_ref(),
                        "TimeoutSeconds",
                    )?,
                    self.jsonata_seconds(
                        fid,
                        &states,
                        task.heartbeat_seconds.as_ref(),
                        "HeartbeatSeconds",
                    )?,
                )
            }
        };
        let callback = task.resource.ends_with(".waitForTaskToken");
        // An activity's worker answers with the token too.
        let wait_for_token = callback || crate::activity::is_activity(&task.resource);
        // Approval links expire with the task: at its timeout, or after a year (the longest a
        // task token lives on AWS).
        let approval = match (callback, self.env.approvals) {
            (true, Some(make)) => {
                let ttl = timeout.map_or(Duration::days(365), |t| Duration::seconds(t as i64));
                Some(make(&token, self.env.now + ttl))
            }
            _ => None,
        };
        let ctx = match &approval {
            Some(a) => self.context_with(fid, Some(&token), None, Some(&a.links)),
            None => ctx,
        };
        let parameters = self.effective_input(fid, state, &raw, &ctx)?;
        let events = ResourceEvents::of(&task.resource);
        self.emit(
            fid,
            events.scheduled(self.env.region, &parameters, timeout, heartbeat),
        );
        if let Some(started) = events.started() {
            self.emit(fid, started);
        }
        let now = self.env.now;
        let frame = self.frame_mut(fid);
        frame.seq += 1;
        frame.phase = Phase::Task(TaskPhase {
            token_hash: crate::record::token_hash(&token),
            heartbeats: 0,
            resource: task.resource.clone(),
            parameters: parameters.clone(),
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
            wait_for_token,
            job: None,
            polls: 0,
            reader: false,
            writer: None,
        });
        let seq = frame.seq;
        if let Some(t) = timeout {
            self.schedule(
                fid,
                now + Duration::seconds(t as i64),
                TimerKind::TaskTimeout,
            );
        }
        if let Some(h) = heartbeat {
            self.schedule(
                fid,
                now + Duration::seconds(h as i64),
                TimerKind::Heartbeat(0),
            );
        }
        self.out.effects.push(Effect::Invoke(Box::new(TaskRequest {
            frame: fid.to_string(),
            seq,
            state: state.name.clone(),
            resource: task.resource.clone(),
            parameters,
            token,
            wait_for_token,
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
            credentials: task.credentials.clone(),
            context: ctx,
            test_case: self.rec.test_case.clone(),
            approval,
            job: None,
            reader: None,
            writer: None,
        })));
        Ok(Flow::Blocked)
    }

    fn task_phase(&self, fid: &str, seq: u64) -> Option<TaskPhase> {
        let f = self.rec.frames.get(fid)?;
        match &f.phase {
            Phase::Task(t) if f.seq == seq => Some(t.clone()),
            _ => None,
        }
    }

    pub(crate) fn task_succeeded(&mut self, fid: &str, seq: u64, output: Value) {
        if self.reads_window(fid, seq) {
            return self.window_read(fid, Ok(output));
        }
        let Some(t) = self.task_phase(fid, seq) else {
            return;
        };
        if t.reader {
            return self.items_read(fid, Ok(output), t.parameters);
        }
        if let Some(w) = t.writer {
            return self.results_written(fid, *w, Ok(()));
        }
        self.emit(fid, ResourceEvents::of(&t.resource).succeeded(&output));
        let state = self.current_state(fid);
        let raw = self.frame(fid).input.clone();
        // The token is not kept: what follows the task sees no `$$.Task.Token`.
        let ctx = self.context(fid, None, None);
        let finish = Finish {
            raw: &raw,
            ctx: &ctx,
            effective: &raw,
            result: Some(output),
            rule_assign: None,
            rule_output: None,
        };
        match self.conclude(fid, state, finish) {
            Ok((out, assigned)) => self.exit_state(fid, state, out, assigned),
            Err(f) => self.fail_evaluation(fid, f),
        }
        self.runnable.push_back(fid.to_string());
    }

    /// TimeoutSeconds / HeartbeatSeconds of a JSONata state: a number or an expression.
    fn jsonata_seconds(
        &self,
        fid: &str,
        states: &Value,
        d: Option<&Dynamic<u64>>,
        field: &str,
    ) -> Result<Option<u64>, Failure> {
        match d {
            None => Ok(None),
            Some(Dynamic::Literal(n)) => Ok(Some(*n)),
            Some(Dynamic::Jsonata(t)) => {
                let v = self.eval_jsonata(fid, states, |env| t.eval_as(env, field, "integer"))?;
                match as_integer(&v) {
                    Some(n) if n > 0 => Ok(Some(n as u64)),
                    _ => Err(Failure::new(
                        waymark_asl::error::names::QUERY_EVALUATION_ERROR,
                        format!(
                            "The {field} field must be a positive integer, but was: {}",
                            waymark_asl::json::to_text(&v)
                        ),
                    )),
                }
            }
            Some(Dynamic::Path(_)) => Err(Failure::runtime(
                "JSONPath fields are not supported in a JSONata state",
            )),
        }
    }

    pub(crate) fn task_failed(&mut self, fid: &str, seq: u64, failure: Failure) {
        if self.reads_window(fid, seq) {
            return self.window_read(fid, Err(failure));
        }
        let Some(t) = self.task_phase(fid, seq) else {
            return;
        };
        if t.reader {
            return self.items_read(fid, Err(failure), t.parameters);
        }
        if let Some(w) = t.writer {
            return self.results_written(fid, *w, Err(failure));
        }
        self.emit(fid, ResourceEvents::of(&t.resource).failed(&failure));
        self.fail_state(fid, failure);
        self.runnable.push_back(fid.to_string());
    }

    pub(crate) fn task_timed_out(&mut self, fid: &str, failure: Failure) {
        let Phase::Task(t) = &self.frame(fid).phase else {
            return;
        };
        let d = ResourceEvents::of(&t.resource).timed_out(&failure);
        self.emit(fid, d);
        self.fail_state(fid, failure);
    }

    /// A `.sync` task's job runs: the first answer is the `TaskSubmitted` event; each answer
    /// sets the next poll, further apart each time ([`job_poll_delay`]).
    pub(crate) fn task_job(&mut self, fid: &str, seq: u64, job: Value, submitted: Option<Value>) {
        let Some(t) = self.task_phase(fid, seq) else {
            return;
        };
        if let Some(out) = &submitted {
            self.emit(fid, ResourceEvents::of(&t.resource).submitted(out));
        }
        let n = t.polls + 1;
        if let Phase::Task(tp) = &mut self.frame_mut(fid).phase {
            tp.job = Some(job);
            tp.polls = n;
        }
        let at = self.env.now + job_poll_delay(n);
        self.schedule(fid, at, TimerKind::JobPoll(n));
    }

    /// Asks the integration about a `.sync` task's job: the same request as the task's, with
    /// the job in it. The token is not kept at rest, so the poll carries none; the answer is
    /// matched to the task by frame and sequence.
    pub(crate) fn poll_job(&mut self, fid: &str, t: TaskPhase) {
        let current = self.current_state(fid);
        let state = current.name.clone();
        let credentials = match &current.kind {
            waymark_asl::model::StateKind::Task(task) => task.credentials.clone(),
            _ => None,
        };
        let ctx = self.context(fid, None, None);
        let seq = self.frame(fid).seq;
        self.out.effects.push(Effect::Invoke(Box::new(TaskRequest {
            frame: fid.to_string(),
            seq,
            state,
            resource: t.resource,
            parameters: t.parameters,
            token: String::new(),
            wait_for_token: false,
            timeout_seconds: t.timeout_seconds,
            heartbeat_seconds: t.heartbeat_seconds,
            credentials,
            context: ctx,
            test_case: self.rec.test_case.clone(),
            approval: None,
            job: t.job,
            reader: None,
            writer: None,
        })));
    }

    /// A worker took an activity's task.
    pub(crate) fn activity_started(&mut self, fid: &str, seq: u64, worker: Option<&str>) {
        if self.task_phase(fid, seq).is_none() {
            return;
        }
        self.emit(fid, ResourceEvents::activity_started(worker));
    }

    pub(crate) fn task_heartbeat(&mut self, fid: &str, seq: u64) {
        let Some(t) = self.task_phase(fid, seq) else {
            return;
        };
        let Some(h) = t.heartbeat_seconds else { return };
        let n = t.heartbeats + 1;
        if let Phase::Task(tp) = &mut self.frame_mut(fid).phase {
            tp.heartbeats = n;
        }
        let at = self.env.now + Duration::seconds(h as i64);
        self.schedule(fid, at, TimerKind::Heartbeat(n));
    }
}

/// How long before asking a `.sync` job about itself the n-th time (n ≥ 1): 1 s, doubling, at
/// most a minute. AWS does not document its polling intervals; this keeps short jobs quick and
/// a long one at one poll a minute.
pub(crate) fn job_poll_delay(n: u32) -> Duration {
    Duration::seconds(1i64 << n.saturating_sub(1).min(6)).min(Duration::seconds(60))
}

/// TimeoutSeconds / HeartbeatSeconds, literal or read from the input.
fn seconds(
    d: Option<&Dynamic<u64>>,
    env: &waymark_asl::env::Env,
    field: &str,
) -> Result<Option<u64>, Failure> {
    match d {
        None => Ok(None),
        Some(Dynamic::Literal(n)) => Ok(Some(*n)),
        Some(Dynamic::Path(p)) => {
            let v = waymark_asl::dataflow::select_or_invalid(p, env)?;
            match as_integer(&v) {
                Some(n) if n > 0 => Ok(Some(n as u64)),
                _ => Err(Failure::runtime(format!(
                    "The {field} field refers to value {} which is not a valid positive integer: {}",
                    waymark_asl::json::to_text(&v),
                    p.source()
                ))),
            }
        }
        Some(Dynamic::Jsonata(_)) => Err(Failure::runtime(
            "JSONata expressions are not supported in a JSONPath state",
        )),
    }
}
