//! The pure heart of the engine: one signal (start, a timer, a task's answer, a stop) applied
//! to an execution record yields the new record, the history events of the step and the
//! effects the outer layer must perform (timers to set, tasks to invoke). No I/O, no clock of
//! its own: `now`, randomness and ids come in through [`StepEnv`].
//!
//! A step runs every frame it can until each is blocked on something outside (a timer, a
//! task) or done, so one step may cover many pure transitions (Pass, Choice, zero Waits).

mod batch;
mod failure;
mod fanout;
mod io;
mod states;
mod task;
#[cfg(test)]
mod tests;
mod writer;

pub use writer::{export, writer_phase, ChildLog, ExportSizes, Exporter, Write, WriterPhase};

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use waymark_asl::env::{Env, Random, Variables};
use waymark_asl::error::names;
use waymark_asl::json::{first_too_deep, payload_size};
use waymark_asl::model::{child_graph, Definition, Graph, State, Transition};
use waymark_asl::Failure;

use crate::context::{context_object, StateContext};
use crate::history::{self, Details, HistoryEvent};
use crate::record::{ExecutionRecord, Frame, FrameId, Phase, Status};

/// AWS's payload limit (256 KiB), for state outputs.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The deepest nesting of arrays and objects an execution's input, a state's output or a
/// variable may have. AWS documents none; ours keeps every value within serde_json's 128 levels
/// once a store has wrapped it in an execution record (a loop that wraps its input in an
/// object each round would otherwise write a record no store can read back).
pub const MAX_PAYLOAD_DEPTH: usize = 100;

/// AWS's hard quota on an execution's history: event 25,000 must end the execution, or it
/// is the `ExecutionFailed` that says the quota was reached.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

/// The cause AWS records when the history quota ends an execution.
pub const HISTORY_LIMIT_CAUSE: &str =
    "The execution reached the maximum number of history events (25000).";

/// How many transitions one step covers before it yields: a loop of Pass and Choice states
/// with no Wait must neither hold a process nor grow one step's events without bound, and a
/// StopExecution must find a moment between steps to land.
pub const DEFAULT_STEP_BUDGET: usize = 1_000;

/// What wakes an execution up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "signal")]
pub enum Signal {
    Start,
    Timer {
        frame: FrameId,
        seq: u64,
        kind: TimerKind,
    },
    TaskSucceeded {
        frame: FrameId,
        seq: u64,
        output: Value,
    },
    TaskFailed {
        frame: FrameId,
        seq: u64,
        failure: Failure,
    },
    TaskHeartbeat {
        frame: FrameId,
        seq: u64,
    },
    /// UpdateMapRun: new limits for the running distributed Map of fan-out `fanout`.
    UpdateMapRun {
        fanout: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_concurrency: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tolerated_count: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tolerated_percentage: Option<f64>,
    },
    /// A worker took an activity's task (GetActivityTask).
    ActivityStarted {
        frame: FrameId,
        seq: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worker: Option<String>,
    },
    /// A `.sync` task's job runs ([`crate::ports::TaskOutcome::Job`]): poll it again later.
    TaskJob {
        frame: FrameId,
        seq: u64,
        job: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        submitted: Option<Value>,
    },
    Stop {
        failure: Failure,
    },
    /// Run a failed, timed-out or aborted execution again from where it stopped.
    Redrive,
    /// Go on with the frames a step left runnable when it used up its budget. Only the
    /// newest `turn` counts, so a duplicate is harmless.
    Resume {
        turn: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerKind {
    /// A Wait state's end or a retry back-off's end.
    Wake,
    TaskTimeout,
    /// The heartbeat deadline set after the n-th heartbeat.
    Heartbeat(u64),
    ExecutionTimeout,
    /// Time to ask a `.sync` task's job how it is doing, for the n-th time.
    JobPoll(u32),
}

/// What the outer layer must do once the step is committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect")]
pub enum Effect {
    Timer {
        at: DateTime<Utc>,
        frame: FrameId,
        seq: u64,
        kind: TimerKind,
    },
    Invoke(Box<TaskRequest>),
    /// The execution started (or was redriven): tell whoever listens that it runs.
    Started,
    Finished {
        status: Status,
    },
    /// The step used up its budget: deliver `Signal::Resume { turn }` at once.
    Resume {
        turn: u64,
    },
    /// Distributed Map children the step started or ended, for a store that does not write
    /// them with the step ([`crate::ports::ExecutionStore::children_in_commit`]).
    MapChildren {
        children: Vec<crate::map_children::ChildExecution>,
        /// Events of STANDARD children's own histories.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        events: Vec<crate::map_children::ChildEvent>,
    },
}

/// A task to run for a Task state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub frame: FrameId,
    pub seq: u64,
    pub state: String,
    pub resource: String,
    pub parameters: Value,
    pub token: String,
    pub wait_for_token: bool,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    pub credentials: Option<Value>,
    /// The context object the task state saw, for integrations that need it.
    pub context: Value,
    /// The mock test case of the execution, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_case: Option<String>,
    /// Human-approval links made for this task's token, if the home serves approval pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// A `.sync` task's running job, as the integration described it when it started: the
    /// integration asks about the job instead of starting one ([`crate::ports::TaskOutcome::Job`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<Value>,
    /// A distributed Map's `ItemReader` configuration (`ReaderConfig`, with `MaxItems`
    /// resolved): the integration reads the items rather than running a task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<Value>,
    /// A distributed Map's `ResultWriter`: the integration performs the write named here (one
    /// [`writer::Write`], `{"Bucket", "Files": [{"Key", "Body"}]}` or a part of an upload, made
    /// by the runner from the record and the run's children, [`writer::export`]) rather than
    /// running a task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<Value>,
}

/// What a step is given besides the record.
pub struct StepEnv<'a> {
    pub now: DateTime<Utc>,
    pub region: &'a str,
    pub random: &'a dyn Random,
    /// Makes a fresh, unguessable task token.
    pub new_token: &'a dyn Fn() -> String,
    /// Makes human-approval links for a task token that expire at the given time, when the
    /// home serves approval pages; they appear as `$$.Task.Approval`.
    pub approvals: Option<&'a MakeApproval>,
    /// Transitions one step may cover before it yields ([`DEFAULT_STEP_BUDGET`]).
    pub budget: usize,
}

/// Makes an [`Approval`] for a task token, expiring at the given time.
pub type MakeApproval = dyn Fn(&str, DateTime<Utc>) -> Approval + Send + Sync;

/// What a home makes of a task token for human approval: an id for its pages (never the token
/// itself) and the links a message can carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub expires: DateTime<Utc>,
    /// `{"Url", "ApproveUrl", "RejectUrl", "ExpiresAt", "Id"}`.
    pub links: Value,
}

#[derive(Debug, Default)]
pub struct StepOutput {
    pub events: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
    /// The state failures the step handled, and how: what TestState reports (the record
    /// keeps no failure that a retrier or catcher took).
    pub handled: Vec<Handled>,
    /// What the step started and ended of distributed Maps' children, which live on as
    /// executions of their own ([`crate::map_children`]).
    pub children: Vec<crate::map_children::ChildUpdate>,
    /// Events of STANDARD children's own histories.
    pub child_events: Vec<crate::map_children::ChildEvent>,
}

/// A state failure and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    pub frame: FrameId,
    pub failure: Failure,
    /// The retrier that took it, and the back-off in seconds before the next attempt.
    pub retry: Option<(usize, f64)>,
    /// The catcher that took it.
    pub catch: Option<usize>,
}

/// Applies `signal` to `rec`. Signals that no longer apply (a timer for a phase that has
/// moved on, an answer for a task that was aborted) change nothing.
pub fn step(
    def: &Definition,
    rec: &mut ExecutionRecord,
    signal: Signal,
    env: &StepEnv,
) -> StepOutput {
    step_all(def, rec, vec![signal], env)
}

/// One step for several signals, applied in order: what one commit records when a home
/// holds several signals for an execution at once (a queue batch with the answers of a
/// Map's children, say). The signals share the step's budget; one that no longer applies
/// after those before it (a duplicate, or anything after the execution ended) changes
/// nothing, as it would in a step of its own.
pub fn step_all(
    def: &Definition,
    rec: &mut ExecutionRecord,
    signals: Vec<Signal>,
    env: &StepEnv,
) -> StepOutput {
    let mut s = Stepper {
        def,
        rec,
        env,
        out: StepOutput::default(),
        runnable: VecDeque::new(),
        work: 0,
        exhausted: false,
        overflow: None,
        run_names: None,
        children_at: Default::default(),
        prepared_inputs: Default::default(),
    };
    for signal in signals {
        if s.overflow.is_some() {
            break;
        }
        s.apply(signal);
        s.drain();
    }
    s.settle_limits();
    s.out
}

/// Ends an execution whose definition cannot be found (its revision is gone from the store):
/// no state can run, so the execution fails with `States.Runtime`, saying why, rather than
/// waiting for ever.
pub fn fail_without_definition(
    rec: &mut ExecutionRecord,
    cause: String,
    now: DateTime<Utc>,
) -> StepOutput {
    let mut out = StepOutput::default();
    if rec.status.is_terminal() {
        return out;
    }
    let failure = Failure::new(names::RUNTIME, cause);
    let id = rec.next_event_id;
    rec.next_event_id += 1;
    out.events.push(history::finish(
        history::execution_failed(&failure),
        id,
        id.saturating_sub(1),
        now,
    ));
    rec.status = Status::Failed;
    rec.output = None;
    rec.failure = Some(failure);
    rec.stop_time = Some(now);
    rec.frames.clear();
    rec.redrive_point = None;
    rec.kept = None;
    out.effects.push(Effect::Finished {
        status: Status::Failed,
    });
    out
}

pub(crate) struct Stepper<'a, 'e> {
    pub def: &'a Definition,
    pub rec: &'a mut ExecutionRecord,
    pub env: &'a StepEnv<'e>,
    pub out: StepOutput,
    pub runnable: VecDeque<FrameId>,
    /// Transitions taken in this step, against `env.budget`.
    pub work: usize,
    /// The budget ran out with work left: the step yields.
    pub exhausted: bool,
    /// Set when an event did not fit the history quota: the number of effects made before,
    /// which are the only ones kept.
    pub overflow: Option<usize>,
    /// The names of the distributed Map run whose children this step last recorded.
    pub run_names: Option<(FrameId, u64, std::sync::Arc<crate::map_children::RunNames>)>,
    /// Where in `out.children` this step recorded each child it started, by fan-out and
    /// index: a child that ends in the step that started it is one write, not two.
    pub children_at: std::collections::HashMap<(u64, usize), usize>,
    /// Map inputs converted for JSONata ItemSelectors in this step, by fan-out.
    pub prepared_inputs:
        std::collections::HashMap<u64, std::rc::Rc<waymark_asl::jsonata::Prepared>>,
}

/// A state's body either moved the frame on or left it waiting for something outside.
pub(crate) enum Flow {
    Continue,
    Blocked,
}

/// Variables visible from a frame: its own, then those of the frames it is nested in.
pub(crate) struct FrameVars<'r> {
    pub rec: &'r ExecutionRecord,
    pub frame: FrameId,
}

impl Variables for FrameVars<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        let mut cur = Some(&self.frame);
        while let Some(id) = cur {
            let f = self.rec.frames.get(id)?;
            if let Some(v) = f.vars.get(name) {
                return Some(v);
            }
            cur = f.parent.as_ref();
        }
        None
    }
}

impl<'a, 'e> Stepper<'a, 'e> {
    fn apply(&mut self, signal: Signal) {
        if let Signal::Redrive = signal {
            self.redrive();
            return;
        }
        if self.rec.status.is_terminal() {
            return;
        }
        match signal {
            Signal::Start => self.start(),
            Signal::Stop { failure } => {
                let d = history::execution_aborted(&failure);
                self.finish_execution(Status::Aborted, None, Some(failure), d);
            }
            Signal::Timer {
                kind: TimerKind::ExecutionTimeout,
                ..
            } => {
                let f = Failure {
                    error: Some(names::TIMEOUT.into()),
                    cause: None,
                };
                let d = history::execution_timed_out(&f);
                self.finish_execution(Status::TimedOut, None, Some(f), d);
            }
            Signal::Timer { frame, seq, kind } => self.timer(&frame, seq, kind),
            Signal::TaskSucceeded { frame, seq, output } => {
                self.task_succeeded(&frame, seq, output)
            }
            Signal::TaskFailed {
                frame,
                seq,
                failure,
            } => self.task_failed(&frame, seq, failure),
            Signal::TaskHeartbeat { frame, seq } => self.task_heartbeat(&frame, seq),
            Signal::TaskJob {
                frame,
                seq,
                job,
                submitted,
            } => self.task_job(&frame, seq, job, submitted),
            Signal::UpdateMapRun {
                fanout,
                max_concurrency,
                tolerated_count,
                tolerated_percentage,
            } => self.update_map_run(
                fanout,
                max_concurrency,
                tolerated_count,
                tolerated_percentage,
            ),
            Signal::ActivityStarted { frame, seq, worker } => {
                self.activity_started(&frame, seq, worker.as_deref())
            }
            Signal::Resume { turn } => self.resume(turn),
            Signal::Redrive => {}
        }
    }

    /// Picks up what a step that yielded left: frames between transitions, and fan-outs with
    /// children still to start.
    fn resume(&mut self, turn: u64) {
        if turn != self.rec.turn {
            return;
        }
        let ids: Vec<FrameId> = self.rec.frames.keys().map(str::to_string).collect();
        for fid in ids {
            let Some(f) = self.rec.frames.get(&fid) else {
                continue;
            };
            match &f.phase {
                Phase::Enter | Phase::Run | Phase::Done { .. } | Phase::Failed { .. } => {
                    self.runnable.push_back(fid)
                }
                Phase::Children(c)
                    if (c.started < c.total && c.running < c.max_concurrency)
                        || (c.started >= c.total && c.more.is_some() && !c.reading) =>
                {
                    self.start_children(&fid)
                }
                _ => {}
            }
        }
    }

    /// Counts one transition; false when the budget is spent (the step then yields).
    pub(crate) fn take_work(&mut self) -> bool {
        if self.work >= self.env.budget {
            self.exhausted = true;
            return false;
        }
        self.work += 1;
        true
    }

    /// After the step: the history quota, then a yield if work is left.
    fn settle_limits(&mut self) {
        if self.rec.status.is_terminal() {
            return;
        }
        if let Some(kept) = self.overflow {
            self.out.effects.truncate(kept);
            let failure = Failure::new(names::RUNTIME, HISTORY_LIMIT_CAUSE);
            let d = history::execution_failed(&failure);
            self.finish_execution_after(
                Status::Failed,
                None,
                Some(failure),
                d,
                self.rec.next_event_id - 1,
            );
            return;
        }
        if self.exhausted {
            self.rec.turn += 1;
            self.out.effects.push(Effect::Resume {
                turn: self.rec.turn,
            });
        }
    }

    /// RedriveExecution: the execution runs again from the state where its root frame
    /// stopped; Map and Parallel states there run again as a whole.
    fn redrive(&mut self) {
        if !self.rec.status.is_terminal() || self.rec.status == Status::Succeeded {
            return;
        }
        let Some(point) = self.rec.redrive_point.take() else {
            return;
        };
        self.rec.redrive_count += 1;
        self.rec.status = Status::Running;
        self.rec.failure = None;
        self.rec.stop_time = None;
        let id = self.push_event(
            history::execution_redriven(self.rec.redrive_count),
            self.rec.next_event_id - 1,
        );
        self.out.effects.push(Effect::Started);
        let root = Frame {
            scope: Vec::new(),
            parent: None,
            index: 0,
            map_item: None,
            state: point.state,
            input: point.input,
            entered_event_id: 0,
            entered_time: self.env.now,
            last_event_id: id,
            seq: 0,
            phase: Phase::Enter,
            retry_counts: Vec::new(),
            vars: point.vars,
            silent: false,
            own_history: None,
        };
        self.rec.frames.insert(String::new(), root);
        // The fan-out the state starts again takes what the failed one had kept.
        self.rec.kept = point.kept.map(|k| crate::record::Kept {
            entered_event_id: 0,
            ..k
        });
        self.runnable.push_back(String::new());
    }

    fn start(&mut self) {
        if !self.rec.frames.is_empty() || self.rec.next_event_id > 1 {
            return; // already started: a redelivered Start changes nothing
        }
        let d = history::execution_started(&self.rec.input, &self.rec.role_arn);
        let id = self.push_event(d, 0);
        self.out.effects.push(Effect::Started);
        let root = Frame {
            scope: Vec::new(),
            parent: None,
            index: 0,
            map_item: None,
            state: self.def.graph.start_at.clone(),
            input: self.rec.input.clone(),
            entered_event_id: 0,
            entered_time: self.env.now,
            last_event_id: id,
            seq: 0,
            phase: Phase::Enter,
            retry_counts: Vec::new(),
            vars: Map::new(),
            silent: false,
            own_history: None,
        };
        self.rec.frames.insert(String::new(), root);
        // Express workflows last at most five minutes, whatever the definition says.
        let limit = match self.rec.machine_type {
            crate::record::MachineTypeRepr::Express => {
                Some(self.def.timeout_seconds.map_or(300, |t| t.min(300)))
            }
            crate::record::MachineTypeRepr::Standard => self.def.timeout_seconds,
        };
        if let Some(t) = limit {
            self.out.effects.push(Effect::Timer {
                at: self.env.now + chrono::Duration::seconds(t as i64),
                frame: String::new(),
                seq: 0,
                kind: TimerKind::ExecutionTimeout,
            });
        }
        self.runnable.push_back(String::new());
    }

    fn drain(&mut self) {
        while let Some(fid) = self.runnable.pop_front() {
            if self.rec.status.is_terminal() || self.overflow.is_some() {
                return;
            }
            if self.exhausted {
                // Left runnable in the record; the next turn finds it by its phase.
                self.runnable.clear();
                return;
            }
            self.run_frame(&fid);
        }
    }

    /// Runs a frame until it blocks or ends, or the step's budget or the history runs out.
    fn run_frame(&mut self, fid: &FrameId) {
        loop {
            if self.rec.status.is_terminal() || self.overflow.is_some() {
                return;
            }
            let Some(frame) = self.rec.frames.get(fid) else {
                return;
            };
            let blocked = matches!(
                frame.phase,
                Phase::Waiting { .. } | Phase::Backoff { .. } | Phase::Task(_) | Phase::Children(_)
            );
            if !blocked && !self.take_work() {
                return;
            }
            let Some(frame) = self.rec.frames.get(fid) else {
                return;
            };
            match &frame.phase {
                Phase::Enter => self.enter(fid),
                Phase::Run => {
                    if let Flow::Blocked = self.run_body(fid) {
                        return;
                    }
                }
                Phase::Done { .. } | Phase::Failed { .. } => {
                    self.frame_finished(fid);
                    return;
                }
                Phase::Waiting { .. }
                | Phase::Backoff { .. }
                | Phase::Task(_)
                | Phase::Children(_) => return,
            }
        }
    }

    // ----- helpers used by the state bodies -------------------------------------------------

    pub(crate) fn frame(&self, fid: &str) -> &Frame {
        &self.rec.frames[fid]
    }

    pub(crate) fn frame_mut(&mut self, fid: &str) -> &mut Frame {
        self.rec
            .frames
            .get_mut(fid)
            .expect("frame exists while it runs")
    }

    pub(crate) fn graph_of(&self, scope: &[(String, usize)]) -> &'a Graph {
        let mut g = &self.def.graph;
        for (state, branch) in scope {
            g = child_graph(g, state, *branch).expect("frame scopes name existing graphs");
        }
        g
    }

    pub(crate) fn current_state(&self, fid: &str) -> &'a State {
        let f = self.frame(fid);
        self.graph_of(&f.scope)
            .state(&f.state)
            .expect("frames only enter existing states")
    }

    /// Appends an event for `fid` (unless the frame is silent) and returns its id.
    pub(crate) fn emit(&mut self, fid: &str, d: Details) -> u64 {
        let f = &self.rec.frames[fid];
        if f.own_history.is_some() {
            return self.emit_own(fid, d);
        }
        if f.silent {
            return f.last_event_id;
        }
        let prev = f.last_event_id;
        let id = self.push_event(d, prev);
        self.frame_mut(fid).last_event_id = id;
        id
    }

    /// An event of a STANDARD child's own history, numbered by the child's first frame.
    fn emit_own(&mut self, fid: &str, d: Details) -> u64 {
        let f = &self.rec.frames[fid];
        let prev = f.last_event_id;
        let Some(own) = f.own_history.clone() else {
            return prev;
        };
        let Some(id) = self.next_own_id(&own.root) else {
            return prev;
        };
        let event = history::finish(d, id, prev, self.env.now);
        self.push_child_event(&own, event);
        self.frame_mut(fid).last_event_id = id;
        id
    }

    /// The next id of a child's history, or None past the 25,000 events a history holds
    /// (a child that long still runs; its later events are not kept).
    fn next_own_id(&mut self, root: &str) -> Option<u64> {
        let own = self.rec.frames.get_mut(root)?.own_history.as_mut()?;
        let id = own.next_event_id;
        if id > MAX_HISTORY_EVENTS {
            return None;
        }
        own.next_event_id += 1;
        Some(id)
    }

    /// Frames whose events no history keeps: a distributed Map's EXPRESS children.
    pub(crate) fn quiet(&self, fid: &str) -> bool {
        let f = self.frame(fid);
        f.silent && f.own_history.is_none()
    }

    fn push_event(&mut self, d: Details, prev: u64) -> u64 {
        let id = self.rec.next_event_id;
        if id >= MAX_HISTORY_EVENTS && !d.ends_execution() {
            // Not recorded: the step ends the execution instead (see `settle_limits`).
            if self.overflow.is_none() {
                self.overflow = Some(self.out.effects.len());
            }
            return prev;
        }
        self.rec.next_event_id += 1;
        self.out
            .events
            .push(history::finish(d, id, prev, self.env.now));
        id
    }

    /// The context object for the frame's current state.
    pub(crate) fn context(
        &self,
        fid: &str,
        token: Option<&str>,
        map_item: Option<(usize, &Value)>,
    ) -> Value {
        self.context_with(fid, token, map_item, None)
    }

    /// The context object, with a Task's token and approval links or a Map item.
    pub(crate) fn context_with(
        &self,
        fid: &str,
        token: Option<&str>,
        map_item: Option<(usize, &Value)>,
        approval: Option<&Value>,
    ) -> Value {
        let f = self.frame(fid);
        let state = self.current_state(fid);
        if !state.uses_context {
            // Nothing in the state reads it: skip copying the execution input into it.
            return Value::Null;
        }
        if state.uses_only_map_context {
            // What `$$.Map…` reads, and nothing the state cannot read.
            return crate::context::map_context(map_item);
        }
        let retry_count = matches!(state.kind, waymark_asl::model::StateKind::Task(_))
            .then(|| f.retry_counts.iter().sum::<u64>());
        context_object(
            self.rec,
            &StateContext {
                state: &f.state,
                entered_time: f.entered_time,
                retry_count,
                task_token: token,
                map_item,
                approval,
                with_input: state.uses_execution_input,
            },
        )
    }

    /// Evaluates something against `input` with the frame's context and variables.
    pub(crate) fn eval<T>(
        &self,
        fid: &str,
        input: &Value,
        ctx: &Value,
        f: impl FnOnce(&Env) -> T,
    ) -> T {
        let vars = FrameVars {
            rec: self.rec,
            frame: fid.to_string(),
        };
        let env = Env {
            input,
            context: ctx,
            vars: &vars,
            random: self.env.random,
        };
        f(&env)
    }

    /// Fails the current state with an error raised by evaluating its own fields, which AWS
    /// reports with the state's name and entry event.
    pub(crate) fn field_error(&self, fid: &str, f: Failure) -> Failure {
        let frame = self.frame(fid);
        match f.error.as_deref() {
            Some(names::RUNTIME)
            | Some(names::INTRINSIC_FAILURE)
            | Some(names::RESULT_PATH_MATCH_FAILURE)
            | Some(names::PARAMETER_PATH_FAILURE)
            | Some(names::QUERY_EVALUATION_ERROR) => {
                f.in_state(&frame.state, frame.entered_event_id)
            }
            _ => f,
        }
    }

    fn enter(&mut self, fid: &FrameId) {
        let state = self.current_state(fid);
        // A quiet frame (a distributed Map's EXPRESS child) records nothing: its event is not
        // built.
        let id = if self.quiet(fid) {
            self.frame(fid).last_event_id
        } else {
            let entered =
                history::state_entered(state.type_name(), &state.name, &self.frame(fid).input);
            self.emit(fid, entered)
        };
        let now = self.env.now;
        let f = self.frame_mut(fid);
        f.entered_event_id = id;
        f.entered_time = now;
        f.retry_counts = vec![0; state.retry.len()];
        f.seq += 1;
        f.phase = Phase::Run;
    }

    fn run_body(&mut self, fid: &FrameId) -> Flow {
        use waymark_asl::model::StateKind;
        let state = self.current_state(fid);
        let result = match &state.kind {
            StateKind::Pass(p) => self.run_pass(fid, state, p),
            StateKind::Choice(c) => self.run_choice(fid, state, c),
            StateKind::Wait(w) => self.run_wait(fid, state, w),
            StateKind::Succeed => self.run_succeed(fid, state),
            StateKind::Fail(f) => self.run_fail(fid, state, f),
            StateKind::Task(t) => self.run_task(fid, state, t),
            StateKind::Parallel(p) => self.run_parallel(fid, state, p),
            StateKind::Map(m) => self.run_map(fid, state, m),
        };
        match result {
            Ok(flow) => flow,
            Err(f) => {
                self.fail_evaluation(fid, f);
                Flow::Continue
            }
        }
    }

    /// Fails the current state with an error from evaluating its fields: AWS's prefix on the
    /// cause, and for JSONata an `EvaluationFailed` event first.
    pub(crate) fn fail_evaluation(&mut self, fid: &str, f: Failure) {
        let f = self.field_error(fid, f);
        if f.error.as_deref() == Some(names::QUERY_EVALUATION_ERROR) {
            let state = self.frame(fid).state.clone();
            self.emit(fid, history::evaluation_failed(&state, &f, None));
        }
        self.fail_state(fid, f);
    }

    /// Emits `{Type}StateExited`, assigns the state's variables and moves to the next state,
    /// or ends the frame.
    pub(crate) fn exit_state(
        &mut self,
        fid: &str,
        state: &State,
        output: Value,
        assigned: Option<Map<String, Value>>,
    ) {
        if payload_size(&output) > MAX_PAYLOAD_BYTES {
            let f = Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    state.name
                ),
            );
            self.fail_state(fid, f);
            return;
        }
        if let Some(at) = first_too_deep(&output, MAX_PAYLOAD_DEPTH) {
            let f = Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' returned a result nested more than {MAX_PAYLOAD_DEPTH} levels deep (at '{}').",
                    state.name,
                    waymark_asl::json::clip(&at)
                ),
            );
            self.fail_state(fid, f);
            return;
        }
        self.emit_exit(fid, state, &output, assigned.as_ref());
        self.assign_vars(fid, assigned);
        self.transition(fid, state.transition.clone(), output);
    }

    pub(crate) fn emit_exit(
        &mut self,
        fid: &str,
        state: &State,
        output: &Value,
        assigned: Option<&Map<String, Value>>,
    ) {
        if self.quiet(fid) {
            return;
        }
        self.emit(
            fid,
            history::state_exited(state.type_name(), &state.name, output, assigned),
        );
    }

    pub(crate) fn transition(&mut self, fid: &str, t: Option<Transition>, output: Value) {
        let f = self.frame_mut(fid);
        f.seq += 1;
        match t {
            Some(Transition::Next(next)) => {
                f.state = next;
                f.input = output;
                f.phase = Phase::Enter;
            }
            Some(Transition::End) | None => f.phase = Phase::Done { output },
        }
    }

    /// A frame is done or failed: end the execution, or report to the parent.
    fn frame_finished(&mut self, fid: &FrameId) {
        let frame = self.frame(fid);
        let parent = frame.parent.clone();
        let phase = frame.phase.clone();
        match (parent, phase) {
            (None, Phase::Done { output }) => {
                let d = history::execution_succeeded(&output);
                self.finish_execution(Status::Succeeded, Some(output), None, d);
            }
            (None, Phase::Failed { failure }) => {
                let d = history::execution_failed(&failure);
                self.finish_execution(Status::Failed, None, Some(failure), d);
            }
            (Some(parent), Phase::Done { output }) => self.child_done(&parent, fid, Ok(output)),
            (Some(parent), Phase::Failed { failure }) => {
                self.child_done(&parent, fid, Err(failure))
            }
            _ => {}
        }
    }

    fn finish_execution(
        &mut self,
        status: Status,
        output: Option<Value>,
        failure: Option<Failure>,
        d: Details,
    ) {
        let prev = self
            .rec
            .frames
            .get("")
            .map(|f| f.last_event_id)
            .unwrap_or(self.rec.next_event_id - 1);
        self.finish_execution_after(status, output, failure, d, prev);
    }

    fn finish_execution_after(
        &mut self,
        status: Status,
        output: Option<Value>,
        failure: Option<Failure>,
        d: Details,
        prev: u64,
    ) {
        self.push_event(d, prev);
        // Where a redrive starts again: the state the root frame was in, with what its
        // fan-out kept when it is that entry of the state that failed.
        let kept = self.rec.kept.take();
        self.rec.redrive_point = match (status, self.rec.frames.get("")) {
            (Status::Succeeded, _) | (_, None) => None,
            (_, Some(root)) => Some(crate::record::RedrivePoint {
                state: root.state.clone(),
                input: root.input.clone(),
                vars: root.vars.clone(),
                kept: kept.filter(|k| {
                    k.entered_event_id != 0 && k.entered_event_id == root.entered_event_id
                }),
            }),
        };
        self.rec.status = status;
        self.rec.output = output;
        self.rec.failure = failure;
        self.rec.stop_time = Some(self.env.now);
        // STANDARD children still running end with the execution, in their histories too.
        let running: Vec<_> = (&self.rec.frames)
            .into_iter()
            .filter_map(|(id, f)| Some((fanout::own_root(f, id)?.clone(), f.last_event_id)))
            .collect();
        for (own, prev) in running {
            self.abort_own_history(&own, prev);
        }
        self.rec.frames.clear();
        self.runnable.clear();
        self.out.effects.push(Effect::Finished { status });
    }

    fn timer(&mut self, fid: &str, seq: u64, kind: TimerKind) {
        let Some(frame) = self.rec.frames.get(fid) else {
            return;
        };
        if frame.seq != seq {
            return;
        }
        match (&frame.phase, kind) {
            (
                Phase::Waiting {
                    output, assigned, ..
                },
                TimerKind::Wake,
            ) => {
                let (output, assigned) = (output.clone(), assigned.clone());
                let state = self.current_state(fid);
                self.exit_state(fid, state, output, assigned);
            }
            (Phase::Backoff { .. }, TimerKind::Wake) => {
                let f = self.frame_mut(fid);
                f.seq += 1;
                f.phase = Phase::Run;
            }
            (Phase::Task(_), TimerKind::TaskTimeout) => self.task_timed_out(
                fid,
                Failure {
                    error: Some(names::TIMEOUT.into()),
                    cause: None,
                },
            ),
            (Phase::Task(t), TimerKind::Heartbeat(n)) if t.heartbeats == n => self.task_timed_out(
                fid,
                Failure {
                    error: Some(names::HEARTBEAT_TIMEOUT.into()),
                    cause: None,
                },
            ),
            (Phase::Task(t), TimerKind::JobPoll(n)) if t.polls == n => {
                let t = t.clone();
                self.poll_job(fid, t);
                return;
            }
            _ => return,
        }
        self.runnable.push_back(fid.to_string());
    }

    pub(crate) fn schedule(&mut self, fid: &str, at: DateTime<Utc>, kind: TimerKind) {
        let seq = self.frame(fid).seq;
        self.out.effects.push(Effect::Timer {
            at,
            frame: fid.to_string(),
            seq,
            kind,
        });
    }
}
