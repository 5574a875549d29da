//! The engine proper: starts executions and advances them one step per signal — load, decide,
//! commit conditionally, then perform the step's effects through the ports.

use chrono::Utc;
use serde_json::Value;
use waymark_asl::env::Random;
use waymark_asl::json::payload_size;
use waymark_asl::parse::MachineType;

use crate::ports::*;
use crate::record::{ExecutionRecord, Status};
use crate::step::{step, Effect, Signal, StepEnv, MAX_PAYLOAD_BYTES};

/// Where executions live, for ARNs and the context object.
#[derive(Debug, Clone)]
pub struct Config {
    pub region: String,
    pub account: String,
    pub role_arn: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            role_arn: "arn:aws:iam::123456789012:role/waymark-local".into(),
        }
    }
}

impl Config {
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

impl<S, Q, T, N, C, I> Engine<S, Q, T, N, C, I>
where
    S: ExecutionStore + StateMachineStore,
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
        let name = name
            .map(str::to_string)
            .unwrap_or_else(|| self.ids.execution_name());
        let rec = self.new_execution(sm, name, input, test_case);
        let arn = rec.execution_arn.clone();
        match self.store.create(&rec).await {
            Ok(()) => {}
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
        self.notifier.status_changed(&rec).await;
        self.deliver(&arn, Signal::Start).await?;
        Ok(self.store.load(&arn).await?.unwrap_or(rec))
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
            frames: Default::default(),
            redrive_point: None,
            test_case: test_case.map(str::to_string),
        }
    }

    /// Applies one signal to an execution: one step, committed at most once.
    pub async fn deliver(&self, arn: &str, signal: Signal) -> Result<(), EngineError> {
        self.deliver_inner(arn, signal, false).await
    }

    async fn deliver_even_if_ended(&self, arn: &str, signal: Signal) -> Result<(), EngineError> {
        self.deliver_inner(arn, signal, true).await
    }

    async fn deliver_inner(
        &self,
        arn: &str,
        signal: Signal,
        to_ended: bool,
    ) -> Result<(), EngineError> {
        for _ in 0..MAX_CONFLICTS {
            let Some(rec) = self.store.load(arn).await? else {
                return Err(EngineError::ExecutionDoesNotExist(arn.to_string()));
            };
            if rec.status.is_terminal() && !to_ended {
                return Ok(());
            }
            // The revision the execution started with: updates do not change running ones.
            let sm = match self
                .store
                .get_state_machine_revision(&rec.state_machine_arn, rec.revision)
                .await?
            {
                Some(sm) => sm,
                None => match self.store.get_state_machine(&rec.state_machine_arn).await? {
                    Some(sm) => sm,
                    None => {
                        return Err(EngineError::StateMachineDoesNotExist(
                            rec.state_machine_arn.clone(),
                        ))
                    }
                },
            };
            let expected = rec.version;
            let mut next = rec.clone();
            // The step environment holds `dyn` references that are not `Send`: keep it out of
            // the awaits below so that engine futures can run on any thread.
            let out = {
                let random = IdsRandom(&self.ids);
                let new_token = || self.ids.task_token();
                let env = StepEnv {
                    now: self.clock.now(),
                    region: &self.config.region,
                    random: &random,
                    new_token: &new_token,
                    approvals: self.approvals.as_deref(),
                };
                step(&sm.definition, &mut next, signal.clone(), &env)
            };
            if out.events.is_empty() && out.effects.is_empty() {
                return Ok(()); // a signal for a phase that has moved on
            }
            next.version = expected + 1;
            match self
                .store
                .commit(&rec, &next, &out.events, &out.effects)
                .await
            {
                Ok(()) => {
                    // If an effect cannot be performed the outbox stays unacknowledged and
                    // recovery performs it again.
                    self.perform(&next, out.effects).await?;
                    self.store.ack_outbox(arn, next.version).await?;
                    return Ok(());
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(EngineError::Store(StoreError::Conflict(arn.to_string())))
    }

    /// Performs a committed step's effects. Performing them again (after a crash) is
    /// harmless: stale signals are ignored by the next step.
    pub async fn perform(
        &self,
        rec: &ExecutionRecord,
        effects: Vec<Effect>,
    ) -> Result<(), EngineError> {
        let arn = &rec.execution_arn;
        for effect in effects {
            match effect {
                Effect::Timer {
                    at,
                    frame,
                    seq,
                    kind,
                } => {
                    self.scheduler
                        .schedule(arn, at, Signal::Timer { frame, seq, kind })
                        .await?
                }
                Effect::Invoke(req) => {
                    let signal = match self.tasks.invoke(arn, &req).await {
                        TaskOutcome::Succeeded(output) => Some(Signal::TaskSucceeded {
                            frame: req.frame,
                            seq: req.seq,
                            output,
                        }),
                        TaskOutcome::Failed(failure) => Some(Signal::TaskFailed {
                            frame: req.frame,
                            seq: req.seq,
                            failure,
                        }),
                        TaskOutcome::Pending => None,
                    };
                    if let Some(s) = signal {
                        self.scheduler.schedule(arn, self.clock.now(), s).await?;
                    }
                }
                Effect::Finished { .. } => self.notifier.status_changed(rec).await,
            }
        }
        Ok(())
    }

    /// Performs again the effects of steps that were committed but never acknowledged (the
    /// process died in between): timers are set again, tasks invoked again. Signals they
    /// produce twice are recognised and ignored by the next step.
    pub async fn recover(&self) -> Result<usize, EngineError> {
        let pending = self.store.pending_outboxes().await?;
        let n = pending.len();
        for (arn, effects) in pending {
            let Some(rec) = self.store.load(&arn).await? else {
                continue;
            };
            self.perform(&rec, effects).await?;
            self.store.ack_outbox(&arn, rec.version).await?;
        }
        Ok(n)
    }

    /// RedriveExecution: only STANDARD executions that failed, timed out or were aborted.
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
        self.deliver_even_if_ended(arn, Signal::Redrive).await?;
        self.describe(arn).await
    }

    /// Performs the outbox of one execution's last step if it was committed but never
    /// acknowledged (the process died in between). A home whose queue redelivers a signal
    /// calls this first, so that a lost effect is never lost for good. Returns whether there
    /// was one.
    pub async fn settle_outbox(&self, arn: &str) -> Result<bool, EngineError> {
        let Some((version, effects)) = self.store.pending_outbox(arn).await? else {
            return Ok(false);
        };
        let rec = self.describe(arn).await?;
        self.perform(&rec, effects).await?;
        self.store.ack_outbox(arn, version).await?;
        Ok(true)
    }

    /// Stops a running execution (StopExecution).
    pub async fn stop(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<ExecutionRecord, EngineError> {
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
        let Some(task) = self.store.find_task(token).await? else {
            return Err(EngineError::TaskDoesNotExist);
        };
        self.answer_task_ref(task, Some(token), answer).await
    }

    /// Answers the task `task` names, if it still waits (for `token`, when given): the path
    /// of human-approval pages, which know the task but never hold its token.
    pub async fn answer_task_ref(
        &self,
        task: crate::ports::TaskRef,
        token: Option<&str>,
        answer: TaskAnswer,
    ) -> Result<(), EngineError> {
        let rec = self.describe(&task.execution_arn).await?;
        let waiting = rec.frames.get(&task.frame).is_some_and(|f| {
            f.seq == task.seq
                && matches!(&f.phase, crate::record::Phase::Task(t) if token.is_none_or(|k| t.token == k))
        });
        if rec.status.is_terminal() || !waiting {
            return Err(EngineError::TaskTimedOut);
        }
        let signal = match answer {
            TaskAnswer::Success(output) => Signal::TaskSucceeded {
                frame: task.frame,
                seq: task.seq,
                output,
            },
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
