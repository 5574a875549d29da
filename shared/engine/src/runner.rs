//! The execution protocol, once for every home: start executions, advance them one step per
//! signal (load, settle what the last step left unperformed, decide, commit conditionally,
//! perform the step's effects, acknowledge), run dispatched tasks and turn their outcomes into
//! signals, and settle and recover what a dead process left half-done. Homes only implement
//! the ports.
//!
//! The rule that keeps work from being lost: whoever acknowledges an outbox has performed
//! everything in it. A step never commits on top of an unacknowledged outbox; it performs and
//! acknowledges it first, so a writer that died between its commit and its effects is always
//! made good by the next one to touch the execution.

use chrono::Utc;
use serde_json::Value;
use waymark_asl::env::Random;
use waymark_asl::json::payload_size;
use waymark_asl::parse::MachineType;

use crate::activity::{ActivityStore, ActivityTask};
use crate::approval::{ApprovalRecord, ApprovalStatus, ApprovalStore};
use crate::ports::*;
use crate::record::{token_hash, ExecutionRecord, Phase, Status};
use crate::step::{
    fail_without_definition, step_all, Effect, Signal, StepEnv, StepOutput, TaskRequest,
    DEFAULT_STEP_BUDGET, MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH,
};

/// A step's own cost grows with the frames its record holds: each is loaded, copied, compared
/// and written once a step, whatever the step does. A distributed Map running a thousand
/// children at once would spend more on that than on its transitions if its steps yielded
/// after a thousand transitions. Measured on a distributed Map of 10,000 items with 1,000 at
/// once (callgrind): 4 transitions per frame spent 910M instructions, 16 spent 639M, 40 spent
/// 594M. 16 keeps most of the gain, and a step still ends after work proportional to what its
/// record already holds.
pub const DEFAULT_BUDGET_PER_FRAME: usize = 16;

/// Where executions live, for ARNs and the context object.
#[derive(Debug, Clone)]
pub struct Config {
    pub region: String,
    pub account: String,
    pub role_arn: String,
    /// Transitions one step covers before it yields (see [`DEFAULT_STEP_BUDGET`]).
    pub step_budget: usize,
    /// Transitions a step may cover per frame its record holds, when that is more than
    /// `step_budget` (see [`DEFAULT_BUDGET_PER_FRAME`]).
    pub budget_per_frame: usize,
    /// How long GetActivityTask waits for a task before answering with none (AWS: 60 s).
    pub activity_poll: std::time::Duration,
    /// The part and file sizes of a ResultWriter's export.
    pub export: crate::step::ExportSizes,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            role_arn: "arn:aws:iam::123456789012:role/waymark-local".into(),
            step_budget: DEFAULT_STEP_BUDGET,
            budget_per_frame: DEFAULT_BUDGET_PER_FRAME,
            activity_poll: std::time::Duration::from_secs(60),
            export: crate::step::ExportSizes::default(),
        }
    }
}

impl Config {
    pub fn activity_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:activity:{name}",
            self.region, self.account
        )
    }

    pub fn state_machine_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:stateMachine:{name}",
            self.region, self.account
        )
    }

    pub fn execution_arn(&self, sm: &StateMachine, name: &str, express_id: Option<&str>) -> String {
        match (sm.machine_type, express_id) {
            (MachineType::Express, Some(id)) => {
                format!(
                    "arn:aws:states:{}:{}:express:{}:{name}:{id}",
                    self.region, self.account, sm.name
                )
            }
            _ => format!(
                "arn:aws:states:{}:{}:execution:{}:{name}",
                self.region, self.account, sm.name
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("execution {0} does not exist")]
    ExecutionDoesNotExist(String),
    #[error("state machine {0} does not exist")]
    StateMachineDoesNotExist(String),
    #[error("execution {0} already exists")]
    ExecutionAlreadyExists(String),
    #[error("invalid execution input: {0}")]
    InvalidExecutionInput(String),
    #[error("{0}")]
    ExecutionNotRedrivable(String),
    #[error("the task does not exist")]
    TaskDoesNotExist,
    #[error("the task has timed out or is no longer waiting for this token")]
    TaskTimedOut,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EngineError {
    /// Whether the same call may succeed later (a queue should deliver the message again).
    pub fn is_retryable(&self) -> bool {
        match self {
            EngineError::Store(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// What a caller sends back for a task token.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskAnswer {
    Success(Value),
    Failure(waymark_asl::Failure),
    Heartbeat,
}

pub struct Engine<S, Q, T, N, C, I> {
    pub store: S,
    pub scheduler: Q,
    pub tasks: T,
    pub notifier: N,
    pub clock: C,
    pub ids: I,
    pub config: Config,
    /// Makes human-approval links for `.waitForTaskToken` tasks, in homes that serve
    /// approval pages.
    pub approvals: Option<ApprovalLinks>,
}

/// See [`crate::step::StepEnv::approvals`].
pub type ApprovalLinks =
    Box<dyn Fn(&str, chrono::DateTime<Utc>) -> crate::step::Approval + Send + Sync>;

struct IdsRandom<'a, I: Ids>(&'a I);

impl<I: Ids> Random for IdsRandom<'_, I> {
    fn next_u64(&self) -> u64 {
        self.0.random_u64()
    }
}

/// How many times a step is re-decided after losing a version race before giving up (the
/// signal is then redelivered by the home's queue).
const MAX_CONFLICTS: usize = 8;

/// The signal a task's outcome becomes, if it has one now.
pub(crate) fn answer_signal(req: &TaskRequest, outcome: TaskOutcome) -> Option<Signal> {
    let (frame, seq) = (req.frame.clone(), req.seq);
    match outcome {
        TaskOutcome::Succeeded(output) => Some(succeeded(frame, seq, output)),
        TaskOutcome::Failed(failure) => Some(Signal::TaskFailed {
            frame,
            seq,
            failure,
        }),
        TaskOutcome::Pending => None,
        TaskOutcome::Job { job, submitted } => Some(Signal::TaskJob {
            frame,
            seq,
            job,
            submitted,
        }),
    }
}

/// A task's result as the signal that carries it: a failure when the result is nested too
/// deeply to travel in a queue message or an execution record.
fn succeeded(frame: crate::record::FrameId, seq: u64, output: Value) -> Signal {
    match waymark_asl::json::first_too_deep(&output, MAX_PAYLOAD_DEPTH) {
        None => Signal::TaskSucceeded { frame, seq, output },
        Some(at) => Signal::TaskFailed {
            frame,
            seq,
            failure: waymark_asl::Failure::new(
                waymark_asl::error::names::DATA_LIMIT_EXCEEDED,
                format!(
                    "The task returned a result nested more than {MAX_PAYLOAD_DEPTH} levels deep (at '{}').",
                    waymark_asl::json::clip(&at)
                ),
            ),
        },
    }
}

/// Whether the record still waits for the task `frame`/`seq` names (and, given a token, for
/// that token).
pub(crate) fn waits_for(rec: &ExecutionRecord, frame: &str, seq: u64, token: Option<&str>) -> bool {
    !rec.status.is_terminal()
        && rec.frames.get(frame).is_some_and(|f| {
            f.seq == seq
                && match &f.phase {
                    Phase::Task(t) => token.is_none_or(|k| t.token_hash == token_hash(k)),
                    // A read of the next window of a distributed Map's items.
                    Phase::Children(c) => c.reading && token.is_none(),
                    _ => false,
                }
        })
}

impl<S, Q, T, N, C, I> Engine<S, Q, T, N, C, I>
where
    S: ExecutionStore
        + StateMachineStore
        + ChildWaitStore
        + MapChildStore
        + ApprovalStore
        + ActivityStore,
    Q: Scheduler,
    T: Tasks,
    N: Notifier,
    C: Clock,
    I: Ids,
{
    /// Creates the execution record and takes its first step.
    pub async fn start_execution(
        &self,
        sm: &StateMachine,
        name: Option<&str>,
        input: Value,
    ) -> Result<ExecutionRecord, EngineError> {
        self.start_execution_with(sm, name, input, None).await
    }

    /// Like [`Engine::start_execution`], naming the mock test case its tasks are answered
    /// from (Step Functions Local's `stateMachineArn#TestCase`).
    pub async fn start_execution_with(
        &self,
        sm: &StateMachine,
        name: Option<&str>,
        input: Value,
        test_case: Option<&str>,
    ) -> Result<ExecutionRecord, EngineError> {
        if payload_size(&input) > MAX_PAYLOAD_BYTES {
            return Err(EngineError::InvalidExecutionInput(format!(
                "the input is larger than the maximum of {MAX_PAYLOAD_BYTES} bytes"
            )));
        }
        if let Some(at) = waymark_asl::json::first_too_deep(&input, MAX_PAYLOAD_DEPTH) {
            return Err(EngineError::InvalidExecutionInput(format!(
                "the input is nested more than {MAX_PAYLOAD_DEPTH} levels deep (at '{}')",
                waymark_asl::json::clip(&at)
            )));
        }
        let name = name
            .map(str::to_string)
            .unwrap_or_else(|| self.ids.execution_name());
        let rec = self.new_execution(sm, name, input, test_case);
        let arn = rec.execution_arn.clone();
        // Before the record exists: if this process dies after creating it, the execution
        // is still started.
        self.scheduler.settle_later(&arn).await?;
        match self.store.create(&rec).await {
            // The first step starts from this very record: no read and parse of it back.
            Ok(()) => self.store.keep(rec),
            Err(StoreError::AlreadyExists(a)) => match self.store.load(&arn).await? {
                // A create sent again after its answer was lost finds its own record, not yet
                // stepped: the start goes on (its first step commits at most once).
                Some(found)
                    if found.version == 0
                        && found.status == Status::Running
                        && found.input == rec.input => {}
                _ => return Err(EngineError::ExecutionAlreadyExists(a)),
            },
            Err(e) => return Err(e.into()),
        }
        // The record the first step committed, as the caller's answer: no read of it back.
        match self
            .deliver_inner(&arn, vec![Signal::Start], false, true)
            .await?
        {
            Some(stepped) => Ok(stepped),
            None => self
                .store
                .load(&arn)
                .await?
                .ok_or(EngineError::ExecutionDoesNotExist(arn)),
        }
    }

    /// The record of an execution about to start: version 0, no step taken.
    pub(crate) fn new_execution(
        &self,
        sm: &StateMachine,
        name: String,
        input: Value,
        test_case: Option<&str>,
    ) -> ExecutionRecord {
        let express_id =
            (sm.machine_type == MachineType::Express).then(|| self.ids.execution_name());
        ExecutionRecord {
            execution_arn: self.config.execution_arn(sm, &name, express_id.as_deref()),
            name,
            state_machine_arn: sm.arn.clone(),
            state_machine_name: sm.name.clone(),
            revision: sm.revision,
            machine_type: sm.machine_type.into(),
            role_arn: sm.role_arn.clone(),
            input,
            start_time: self.clock.now(),
            status: Status::Running,
            output: None,
            failure: None,
            stop_time: None,
            redrive_count: 0,
            version: 0,
            next_event_id: 1,
            next_fanout: 0,
            turn: 0,
            frames: Default::default(),
            redrive_point: None,
            kept: None,
            test_case: test_case.map(str::to_string),
            version_arn: sm.started_as.as_ref().map(|s| s.version_arn.clone()),
            alias_arn: sm.started_as.as_ref().and_then(|s| s.alias_arn.clone()),
            map_runs: Vec::new(),
        }
    }

    /// Applies one signal to an execution: one step, committed at most once, its effects
    /// performed and acknowledged. An error means the signal must be delivered again (the
    /// home's queue does so); nothing is lost meanwhile.
    pub async fn deliver(&self, arn: &str, signal: Signal) -> Result<(), EngineError> {
        self.deliver_inner(arn, vec![signal], false, false)
            .await
            .map(drop)
    }

    /// Applies several signals to one execution in one step (one commit, one history write):
    /// what a home does with all that one batch of its queue holds for an execution, such as
    /// the answers of a Map's children finishing together. Same guarantees as [`Self::deliver`]
    /// for every signal.
    pub async fn deliver_all(&self, arn: &str, signals: Vec<Signal>) -> Result<(), EngineError> {
        if signals.is_empty() {
            return Ok(());
        }
        self.deliver_inner(arn, signals, false, false)
            .await
            .map(drop)
    }

    /// With `answer`, the record this delivery committed comes back (None when it committed
    /// nothing).
    async fn deliver_inner(
        &self,
        arn: &str,
        signals: Vec<Signal>,
        to_ended: bool,
        answer: bool,
    ) -> Result<Option<ExecutionRecord>, EngineError> {
        for _ in 0..MAX_CONFLICTS {
            let Some(loaded) = self.store.load_for_step(arn).await? else {
                return Err(EngineError::ExecutionDoesNotExist(arn.to_string()));
            };
            let Loaded {
                rec,
                outbox,
                snapshot,
            } = loaded;
            if let Some(effects) = outbox {
                // Performed before anything commits on top of it.
                self.perform(&rec, effects).await?;
                self.store.ack_outbox(arn, rec.version).await?;
            }
            if rec.status.is_terminal() && !to_ended {
                return Ok(None);
            }
            let mut next = rec.clone();
            let now = self.clock.now();
            let mut out = self.decide(&mut next, signals.clone(), now).await?;
            if (!out.children.is_empty() || !out.child_events.is_empty())
                && !self.store.children_in_commit()
            {
                // First in the outbox: written before anything the step queues runs.
                let children = out.children.drain(..).map(|c| c.to_execution()).collect();
                let events = std::mem::take(&mut out.child_events);
                out.effects
                    .insert(0, Effect::MapChildren { children, events });
            }
            if out.events.is_empty() && out.effects.is_empty() && next == rec {
                return Ok(None); // a signal for a phase that has moved on
            }
            next.version = rec.version + 1;
            let mut w = WriteSet::diff(&rec, &next, &out.events, &out.effects, now);
            w.children = &out.children;
            w.child_events = &out.child_events;
            match self.store.commit(snapshot, &w).await {
                Ok(()) => {
                    if !out.effects.is_empty() {
                        self.perform(&next, out.effects).await?;
                        self.store.ack_outbox(arn, next.version).await?;
                    }
                    let answered = answer.then(|| next.clone());
                    self.store.keep(next);
                    return Ok(answered);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Store(StoreError::Conflict(arn.to_string())))
    }

    /// The pure step, against the revision of the state machine the execution started with
    /// (updates do not change running executions). An execution whose revision is gone from
    /// the store can run no state: it fails, saying so.
    async fn decide(
        &self,
        rec: &mut ExecutionRecord,
        signals: Vec<Signal>,
        now: chrono::DateTime<Utc>,
    ) -> Result<StepOutput, EngineError> {
        let sm = self
            .store
            .get_state_machine_revision(&rec.state_machine_arn, rec.revision)
            .await?;
        let Some(sm) = sm else {
            let cause = format!(
                "The state machine {} (revision {}) that this execution runs no longer exists",
                rec.state_machine_arn, rec.revision
            );
            return Ok(fail_without_definition(rec, cause, now));
        };
        // The step environment holds `dyn` references that are not `Send`: keep it out of
        // the awaits, so that engine futures can run on any thread.
        let random = IdsRandom(&self.ids);
        let new_token = || self.ids.task_token();
        let env = StepEnv {
            now,
            region: &self.config.region,
            random: &random,
            new_token: &new_token,
            approvals: self.approvals.as_deref(),
            budget: self
                .config
                .step_budget
                .max(
                    self.config
                        .budget_per_frame
                        .saturating_mul(rec.frames.len()),
                )
                .max(1),
        };
        Ok(step_all(&sm.definition, rec, signals, &env))
    }

    /// Performs a committed step's effects. Performing them again (after a crash) is
    /// harmless: stale signals are ignored by the next step, tasks run at least once.
    pub async fn perform(
        &self,
        rec: &ExecutionRecord,
        effects: Vec<Effect>,
    ) -> Result<(), EngineError> {
        let arn = &rec.execution_arn;
        // Queue work goes together (one request where the queue allows), in order with the
        // other effects.
        let mut queued: Vec<Delivery> = Vec::new();
        for effect in effects {
            match effect {
                Effect::Timer {
                    at,
                    frame,
                    seq,
                    kind,
                } => queued.push(Delivery::Signal {
                    at,
                    signal: Signal::Timer { frame, seq, kind },
                }),
                Effect::Resume { turn } => queued.push(Delivery::Signal {
                    at: self.clock.now(),
                    signal: Signal::Resume { turn },
                }),
                Effect::Invoke(req) if req.approval.is_none() => queued.push(Delivery::Task(req)),
                Effect::Invoke(req) => {
                    self.submit(arn, &mut queued).await?;
                    self.hand_over(arn, &req).await?
                }
                Effect::Started => {
                    self.submit(arn, &mut queued).await?;
                    self.notifier.status_changed(&running_view(rec)).await?
                }
                Effect::MapChildren { children, events } => {
                    self.submit(arn, &mut queued).await?;
                    self.store.put_map_children(&children, &events).await?
                }
                Effect::Finished { .. } => {
                    self.submit(arn, &mut queued).await?;
                    self.notifier.status_changed(rec).await?;
                    if rec.status.is_terminal() {
                        self.resume_parent(rec).await?;
                    }
                }
            }
        }
        self.submit(arn, &mut queued).await
    }

    /// Sends what `queued` holds (and empties it) through [`Scheduler::submit`].
    async fn submit(&self, arn: &str, queued: &mut Vec<Delivery>) -> Result<(), EngineError> {
        if queued.is_empty() {
            return Ok(());
        }
        Ok(self.scheduler.submit(arn, std::mem::take(queued)).await?)
    }

    /// Hands a task to the home's queue; one that asks for a human's approval has its
    /// approval stored and announced first, so its links work by the time it sends them.
    async fn hand_over(&self, arn: &str, req: &TaskRequest) -> Result<(), EngineError> {
        if let Some(a) = &req.approval {
            let record = ApprovalRecord {
                id: a.id.clone(),
                task: TaskRef {
                    execution_arn: arn.to_string(),
                    frame: req.frame.clone(),
                    seq: req.seq,
                },
                state: req.state.clone(),
                expires: a.expires,
                status: ApprovalStatus::Pending,
                decided_at: None,
                approver: None,
                comment: None,
            };
            self.store.put_approval(&record).await?;
            self.notifier.approval_requested(arn, req, a).await?;
        }
        self.scheduler.dispatch(arn, req).await?;
        Ok(())
    }

    /// Runs a dispatched task if its state still waits for it, and delivers the answer. The
    /// home calls this for every task its queue hands back; an error means: hand it back
    /// again (the task then runs again: at least once).
    pub async fn run_task(&self, arn: &str, req: &TaskRequest) -> Result<(), EngineError> {
        let Some(rec) = self.store.load(arn).await? else {
            return Ok(()); // deleted
        };
        let Some(signal) = self.task_answer(arn, &rec, req).await? else {
            return Ok(());
        };
        self.deliver_answer(arn, signal).await
    }

    /// Delivers a task's answer; should the step fail, the answer is queued rather than lost
    /// with it (which would run the task again).
    async fn deliver_answer(&self, arn: &str, signal: Signal) -> Result<(), EngineError> {
        match self.deliver(arn, signal.clone()).await {
            Ok(()) | Err(EngineError::ExecutionDoesNotExist(_)) => Ok(()),
            Err(e) => match self.scheduler.schedule(arn, self.clock.now(), signal).await {
                Ok(()) => Ok(()),
                Err(_) => Err(e),
            },
        }
    }

    /// Runs one execution's dispatched tasks at once and delivers their answers together with
    /// `signals` in one step: what a home does with all that one batch of its queue holds for
    /// the execution. The same task requested twice (a duplicate message) runs once. Returns
    /// one result per request, then one per signal; an error asks for that message again. If
    /// the joint step fails, every answer and signal is delivered on its own instead, as
    /// [`Self::run_task`] and [`Self::deliver`] would.
    pub async fn run_tasks_and_deliver(
        &self,
        arn: &str,
        reqs: &[TaskRequest],
        signals: Vec<Signal>,
    ) -> Vec<Result<(), EngineError>> {
        let mut results: Vec<Result<(), EngineError>> =
            Vec::with_capacity(reqs.len() + signals.len());
        let rec = match self.store.load(arn).await {
            Ok(Some(rec)) => rec,
            Ok(None) => {
                // Deleted: nothing waits for the tasks; the signals say so themselves.
                results.extend(reqs.iter().map(|_| Ok(())));
                results.extend(
                    signals
                        .iter()
                        .map(|_| Err(EngineError::ExecutionDoesNotExist(arn.to_string()))),
                );
                return results;
            }
            Err(e) => {
                let e = EngineError::from(e);
                let text = e.to_string();
                results.push(Err(e));
                results.extend((1..reqs.len() + signals.len()).map(|_| {
                    Err(StoreError::transient("loading the execution", text.clone()).into())
                }));
                return results;
            }
        };
        let mut seen = std::collections::HashSet::new();
        let outcomes = futures_util::future::join_all(reqs.iter().map(|req| {
            let first = seen.insert((req.frame.clone(), req.seq));
            let rec = &rec;
            async move {
                if first {
                    self.task_answer(arn, rec, req).await
                } else {
                    Ok(None)
                }
            }
        }))
        .await;
        let mut answers = Vec::new();
        for outcome in outcomes {
            match outcome {
                Ok(Some(signal)) => {
                    answers.push(Some(signal));
                    results.push(Ok(()));
                }
                Ok(None) => {
                    answers.push(None);
                    results.push(Ok(()));
                }
                Err(e) => {
                    answers.push(None);
                    results.push(Err(e));
                }
            }
        }
        let mut all: Vec<Signal> = answers.iter().flatten().cloned().collect();
        for signal in &signals {
            if !all.contains(signal) {
                all.push(signal.clone());
            }
        }
        if self.deliver_all(arn, all).await.is_ok() {
            results.extend(signals.iter().map(|_| Ok(())));
            return results;
        }
        // One at a time, each with its own guarantees.
        for (i, answer) in answers.into_iter().enumerate() {
            if let Some(signal) = answer {
                results[i] = self.deliver_answer(arn, signal).await;
            }
        }
        for signal in signals {
            results.push(self.deliver(arn, signal).await);
        }
        results
    }

    /// The answer a dispatched task gives now, if its state still waits for it: the task run,
    /// the child execution started, or the activity task queued.
    async fn task_answer(
        &self,
        arn: &str,
        rec: &ExecutionRecord,
        req: &TaskRequest,
    ) -> Result<Option<Signal>, EngineError> {
        if !waits_for(rec, &req.frame, req.seq, None) {
            return Ok(None); // stopped, timed out, or answered already
        }
        // A ResultWriter's files are made here, from the record and the run's children in
        // the store, not carried by the queued request, and written as they are made.
        if req.writer.is_some() {
            let Some(w) = crate::step::writer_phase(rec, req) else {
                return Ok(None);
            };
            let tasks = &self.tasks;
            let send = |write: crate::step::Write| {
                let r = write.request(req, &w.bucket);
                async move {
                    match tasks.invoke(arn, &r).await {
                        TaskOutcome::Succeeded(v) => Ok(v),
                        TaskOutcome::Failed(f) => Err(f),
                        _ => Err(waymark_asl::Failure::new(
                            waymark_asl::error::names::RESULT_WRITER_FAILED,
                            "The writing integration did not answer",
                        )),
                    }
                }
            };
            let written =
                crate::step::export(&self.store, rec, w, self.config.export, send).await?;
            let outcome = match written {
                Ok(()) => TaskOutcome::Succeeded(Value::Null),
                Err(f) => TaskOutcome::Failed(f),
            };
            return Ok(answer_signal(req, outcome));
        }
        let outcome = if crate::children::handles(&req.resource) {
            self.start_child(arn, req).await?
        } else if crate::activity::is_activity(&req.resource) {
            self.queue_activity_task(arn, req).await?
        } else {
            self.tasks.invoke(arn, req).await
        };
        Ok(answer_signal(req, outcome))
    }

    /// Queues an activity's task for its workers; an activity that does not exist fails the
    /// task at once.
    async fn queue_activity_task(
        &self,
        arn: &str,
        req: &TaskRequest,
    ) -> Result<TaskOutcome, EngineError> {
        if self.store.activity(&req.resource).await?.is_none() {
            return Ok(TaskOutcome::Failed(waymark_asl::Failure::new(
                waymark_asl::error::names::RUNTIME,
                format!("The activity '{}' does not exist", req.resource),
            )));
        }
        let task = ActivityTask {
            activity_arn: req.resource.clone(),
            execution_arn: arn.to_string(),
            frame: req.frame.clone(),
            seq: req.seq,
            token: req.token.clone(),
            input: req.parameters.clone(),
            queued: self.clock.now(),
        };
        self.store.queue_activity_task(&task).await?;
        Ok(TaskOutcome::Pending)
    }

    /// GetActivityTask: the oldest queued task of the activity whose execution still waits
    /// for it (stale ones, whose task ended meanwhile, are dropped), marked started by
    /// `worker`.
    pub async fn take_activity_task(
        &self,
        activity_arn: &str,
        worker: Option<&str>,
    ) -> Result<Option<ActivityTask>, EngineError> {
        while let Some(task) = self.store.take_activity_task(activity_arn).await? {
            let Some(rec) = self.store.load(&task.execution_arn).await? else {
                continue;
            };
            if !waits_for(&rec, &task.frame, task.seq, Some(&task.token)) {
                continue;
            }
            let signal = Signal::ActivityStarted {
                frame: task.frame.clone(),
                seq: task.seq,
                worker: worker.map(str::to_string),
            };
            match self.deliver(&task.execution_arn, signal).await {
                Ok(()) | Err(EngineError::ExecutionDoesNotExist(_)) => {}
                Err(e) => return Err(e),
            }
            return Ok(Some(task));
        }
        Ok(None)
    }

    /// Performs an execution's unacknowledged outbox, if any, and starts it if it was
    /// created but never stepped: what a process that died may have left. The safety net a
    /// home's queue delivers after steps taken outside it ([`Scheduler::settle_later`]).
    pub async fn settle(&self, arn: &str) -> Result<(), EngineError> {
        let Some(loaded) = self.store.load_for_step(arn).await? else {
            return Ok(());
        };
        let rec = loaded.rec;
        if let Some(effects) = loaded.outbox {
            self.perform(&rec, effects).await?;
            self.store.ack_outbox(arn, rec.version).await?;
        }
        if rec.version == 0 && rec.status == Status::Running {
            self.deliver(arn, Signal::Start).await?;
        }
        Ok(())
    }

    /// Settles every execution a previous process may have left half-done. Returns how
    /// many it touched.
    pub async fn recover(&self) -> Result<usize, EngineError> {
        let arns = self.store.unsettled().await?;
        for arn in &arns {
            self.settle(arn).await?;
        }
        Ok(arns.len())
    }

    /// RedriveExecution: only STANDARD executions that failed, timed out or were aborted,
    /// and whose history has room.
    pub async fn redrive(&self, arn: &str) -> Result<ExecutionRecord, EngineError> {
        let rec = self.describe(arn).await?;
        let redrivable = rec.machine_type == crate::record::MachineTypeRepr::Standard
            && matches!(
                rec.status,
                Status::Failed | Status::TimedOut | Status::Aborted
            )
            && rec.redrive_point.is_some();
        if !redrivable {
            return Err(EngineError::ExecutionNotRedrivable(format!(
                "Execution {arn} is {} and cannot be redriven",
                rec.status.as_str()
            )));
        }
        if rec.next_event_id > MAX_HISTORY_EVENTS {
            return Err(EngineError::ExecutionNotRedrivable(format!(
                "Execution {arn} has reached the maximum number of history events ({MAX_HISTORY_EVENTS}) and cannot be redriven"
            )));
        }
        self.scheduler.settle_later(arn).await?;
        self.deliver_inner(arn, vec![Signal::Redrive], true, false)
            .await?;
        self.describe(arn).await
    }

    /// Stops a running execution (StopExecution). It lands between two steps: a long
    /// chain of transitions yields often enough for it.
    pub async fn stop(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<ExecutionRecord, EngineError> {
        self.scheduler.settle_later(arn).await?;
        self.deliver(
            arn,
            Signal::Stop {
                failure: waymark_asl::Failure { error, cause },
            },
        )
        .await?;
        self.describe(arn).await
    }

    /// The answer to a `.waitForTaskToken` task (SendTaskSuccess / SendTaskFailure /
    /// SendTaskHeartbeat), checked against the task the token was issued for.
    pub async fn answer_task(&self, token: &str, answer: TaskAnswer) -> Result<(), EngineError> {
        let Some(task) = self.store.find_task(&token_hash(token)).await? else {
            return Err(EngineError::TaskDoesNotExist);
        };
        self.answer_task_ref(task, Some(token), answer).await
    }

    /// Answers the task `task` names, if it still waits (for `token`, when given): the path
    /// of human-approval pages, which know the task but never hold its token.
    pub async fn answer_task_ref(
        &self,
        task: TaskRef,
        token: Option<&str>,
        answer: TaskAnswer,
    ) -> Result<(), EngineError> {
        let rec = self.describe(&task.execution_arn).await?;
        if !waits_for(&rec, &task.frame, task.seq, token) {
            return Err(EngineError::TaskTimedOut);
        }
        let signal = match answer {
            TaskAnswer::Success(output) => succeeded(task.frame, task.seq, output),
            TaskAnswer::Failure(failure) => Signal::TaskFailed {
                frame: task.frame,
                seq: task.seq,
                failure,
            },
            TaskAnswer::Heartbeat => Signal::TaskHeartbeat {
                frame: task.frame,
                seq: task.seq,
            },
        };
        self.scheduler.settle_later(&task.execution_arn).await?;
        self.deliver(&task.execution_arn, signal).await
    }

    pub async fn describe(&self, arn: &str) -> Result<ExecutionRecord, EngineError> {
        self.store
            .load(arn)
            .await?
            .ok_or_else(|| EngineError::ExecutionDoesNotExist(arn.to_string()))
    }

    pub fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.now()
    }
}

/// The execution as it was when it started, for the RUNNING notification: the outbox is
/// performed after the step, which may have ended it already.
fn running_view(rec: &ExecutionRecord) -> ExecutionRecord {
    let mut r = rec.clone();
    r.status = Status::Running;
    r.output = None;
    r.failure = None;
    r.stop_time = None;
    r.frames.clear();
    r
}
