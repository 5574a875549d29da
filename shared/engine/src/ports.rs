//! The ports through which the engine touches the world. Each home (in memory, SQLite, AWS)
//! implements them; the engine never knows which one it runs on.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use waymark_asl::model::Definition;
use waymark_asl::parse::MachineType;
use waymark_asl::Failure;

use crate::history::HistoryEvent;
use crate::map_children::ChildExecution;
use crate::record::ExecutionRecord;
use crate::step::{Approval, Effect, Signal, TaskRequest};
pub use crate::write_set::{TokenEntry, WriteSet};

/// A registered state machine, with its definition already parsed.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub arn: String,
    pub name: String,
    pub definition_text: String,
    pub definition: Arc<Definition>,
    pub machine_type: MachineType,
    pub role_arn: String,
    /// Increases with every update; executions keep the revision they started with.
    pub revision: u64,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// How an execution is being started on this revision, when through a version or an
    /// alias (not stored: the API sets it on the revision it looked up).
    pub started_as: Option<StartedAs>,
}

/// A version ARN, and the alias ARN that chose it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedAs {
    pub version_arn: String,
    pub alias_arn: Option<String>,
}

impl StateMachine {
    pub fn new(
        arn: String,
        name: String,
        definition_text: String,
        definition: Arc<Definition>,
        machine_type: MachineType,
        role_arn: String,
        created: DateTime<Utc>,
    ) -> Self {
        StateMachine {
            arn,
            name,
            definition_text,
            definition,
            machine_type,
            role_arn,
            revision: 1,
            created,
            updated: created,
            started_as: None,
        }
    }
}

/// What a listing shows of a state machine. Listings never carry definitions (up to 1 MB
/// each), so that a page of 1,000 machines reads and holds only names and dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachineSummary {
    pub arn: String,
    pub name: String,
    pub machine_type: MachineType,
    pub created: DateTime<Utc>,
}

impl From<&StateMachine> for StateMachineSummary {
    fn from(sm: &StateMachine) -> Self {
        StateMachineSummary {
            arn: sm.arn.clone(),
            name: sm.name.clone(),
            machine_type: sm.machine_type,
            created: sm.created,
        }
    }
}

/// A boxed error, kept as the source of a [`StoreError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a port reports when it did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone committed a newer version first; the step must be re-decided or dropped.
    #[error("version conflict on {0}")]
    Conflict(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} does not exist")]
    NotFound(String),
    /// A listing's `nextToken` that this store did not hand out.
    #[error("invalid page token '{0}'")]
    InvalidPageToken(String),
    /// The backend did not do it. `retryable` says whether trying again may succeed
    /// (throttling, a timeout, a lost connection) or the request or the data is at fault.
    #[error("{context}: {source}")]
    Backend {
        context: String,
        retryable: bool,
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// A failure that may pass if tried again.
    pub fn transient(context: impl Into<String>, source: impl Into<BoxError>) -> StoreError {
        StoreError::Backend {
            context: context.into(),
            retryable: true,
            source: source.into(),
        }
    }

    /// A failure that will happen again: bad data, a request the backend refuses.
    pub fn permanent(context: impl Into<String>, source: impl Into<BoxError>) -> StoreError {
        StoreError::Backend {
            context: context.into(),
            retryable: false,
            source: source.into(),
        }
    }

    /// Whether the same request may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Conflict(_) => true,
            StoreError::Backend { retryable, .. } => *retryable,
            StoreError::AlreadyExists(_)
            | StoreError::NotFound(_)
            | StoreError::InvalidPageToken(_) => false,
        }
    }
}

/// One page of a listing; `next_token` is opaque to callers and absent on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// State machine definitions, with every revision kept for the executions that use it.
pub trait StateMachineStore: Send + Sync {
    /// Fails with `AlreadyExists` when the ARN is taken.
    fn create_state_machine(
        &self,
        sm: &StateMachine,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The latest revision.
    fn get_state_machine(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<StateMachine>, StoreError>> + Send;
    fn get_state_machine_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> impl Future<Output = Result<Option<StateMachine>, StoreError>> + Send;
    /// Stores `sm` as a new revision (its `revision` is already the new number).
    fn update_state_machine(
        &self,
        sm: &StateMachine,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn delete_state_machine(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// In name order; summaries only, read without the definitions.
    fn list_state_machines(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<StateMachineSummary>, StoreError>> + Send;
}

/// Where a task token leads: the task of one frame, in one phase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskRef {
    pub execution_arn: String,
    pub frame: String,
    pub seq: u64,
}

/// Filters of ListExecutions.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    pub state_machine_arn: Option<String>,
    pub status: Option<crate::record::Status>,
}

/// An execution as a step needs it: the record, and the effects of its last step if they
/// were not acknowledged as performed yet (they belong to `rec.version`: nothing commits on
/// top of an unperformed outbox).
#[derive(Debug)]
pub struct Loaded<S> {
    pub rec: ExecutionRecord,
    pub outbox: Option<Vec<Effect>>,
    /// What the store keeps of this read for the commit that follows.
    pub snapshot: S,
}

/// Execution records and their history: one conditional write per step.
pub trait ExecutionStore: Send + Sync {
    /// What a store needs back at commit time of what it read when loading (the DynamoDB
    /// store: the sizes and heads of the items it read); `()` for most.
    type Snapshot: Send + Sync;

    /// Stores a new execution; fails with `AlreadyExists` when the ARN is taken.
    fn create(&self, rec: &ExecutionRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn load(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ExecutionRecord>, StoreError>> + Send;
    /// The record with its unacknowledged outbox, for a step.
    fn load_for_step(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<Loaded<Self::Snapshot>>, StoreError>> + Send;
    /// Writes what the step changed, only if the stored version is still `w.from_version`
    /// (`Conflict` otherwise). The step's outbox replaces the stored one, which the engine
    /// has performed and acknowledged before deciding the step.
    fn commit(
        &self,
        snapshot: Self::Snapshot,
        w: &WriteSet<'_>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The record a step just committed, handed back: a store in the same process may answer
    /// the next `load_for_step` of that version from it instead of reading and parsing the
    /// record again (a Map's record holds a frame per running item). Dropped by default.
    fn keep(&self, rec: ExecutionRecord) {
        drop(rec);
    }
    /// Whether [`Self::commit`] writes a step's distributed Map children
    /// ([`WriteSet::children`]) with the step. A store that cannot (the DynamoDB store: a
    /// step may start a thousand, beyond one transaction) gets them through the step's outbox
    /// instead, in [`Self::put_map_children`].
    fn children_in_commit(&self) -> bool {
        true
    }
    /// Writes children updates (and STANDARD children's events, after the children) after
    /// their step committed, from its outbox: again and again if need be (a writer may die
    /// before acknowledging), so each write is idempotent, and an end is written over its
    /// start without losing the start's input.
    fn put_map_children(
        &self,
        children: &[ChildExecution],
        events: &[crate::map_children::ChildEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = (children, events);
        async { Ok(()) }
    }
    /// The outbox of `version` has been performed; a newer one is left alone.
    fn ack_outbox(
        &self,
        arn: &str,
        version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Executions with an unacknowledged outbox, or created and never stepped: what a
    /// process that died may have left half-done. A scan, for recovery only.
    fn unsettled(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// The whole history, in order.
    fn history(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Vec<HistoryEvent>, StoreError>> + Send;
    /// A page of the history, oldest first or (`reverse`) newest first.
    fn history_page(
        &self,
        arn: &str,
        reverse: bool,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<HistoryEvent>, StoreError>> + Send;
    /// Newest first.
    fn list_executions(
        &self,
        filter: &ExecutionFilter,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<ExecutionRecord>, StoreError>> + Send;
    /// The task a token belongs to, by the token's hash ([`crate::record::token_hash`]), if
    /// a committed step issued it for a callback.
    fn find_task(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<TaskRef>, StoreError>> + Send;
}

/// Parents waiting (`.sync`, `.sync:2`) for a child execution to end.
pub trait ChildWaitStore: Send + Sync {
    /// Records that the task `parent` waits for `child`, answering in the shape `variant`
    /// names; storing it again changes nothing.
    fn put_child_wait(
        &self,
        child: &str,
        parent: &TaskRef,
        variant: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn child_wait(
        &self,
        child: &str,
    ) -> impl Future<Output = Result<Option<(TaskRef, String)>, StoreError>> + Send;
    /// Forgets the wait once its parent has been told.
    fn remove_child_wait(&self, child: &str)
        -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Distributed Maps' children as executions of their own ([`crate::map_children`]): written
/// by [`ExecutionStore::commit`] from [`WriteSet::children`], read here. Their names are those
/// [`crate::map_children::RunNames`] gives, which a store may rely on to find them.
pub trait MapChildStore: Send + Sync {
    /// A child by its execution ARN, as last written.
    fn map_child(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<Option<ChildExecution>, StoreError>> + Send;
    /// A run's children in the order they started, `status` as stored (a child its run
    /// aborted is stored RUNNING: see [`ChildExecution::as_of_run`]).
    fn map_children(
        &self,
        map_run_arn: &str,
        status: Option<crate::record::Status>,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<ChildExecution>, StoreError>> + Send;
}

/// Tags of state machines and executions.
pub trait TagStore: Send + Sync {
    fn tags(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
    fn tag(
        &self,
        arn: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn untag(
        &self,
        arn: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The home's queue of work for executions: signals due at a time, and tasks to run.
pub trait Scheduler: Send + Sync {
    /// Delivers `signal` to the execution at `at` (at once for task answers). Ok means it is
    /// stored: it will be delivered at least once.
    fn schedule(
        &self,
        execution_arn: &str,
        at: DateTime<Utc>,
        signal: Signal,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Hands a task over to whoever runs the home's tasks. Ok means it will be run, through
    /// [`crate::runner::Engine::run_task`], at least once.
    fn dispatch(
        &self,
        execution_arn: &str,
        req: &TaskRequest,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Makes sure the execution is settled later ([`crate::runner::Engine::settle`]) even if
    /// this process dies during a step it is about to take outside the queue (an API call).
    /// Homes that settle everything when they start need nothing here.
    fn settle_later(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Several signals and tasks of one execution at once, as a step's effects hold them (a
    /// Map starting ten children): a queue that takes several messages in one request sends
    /// them so. Ok means every one is stored; on an error some may be, and sending them
    /// again is harmless (stale signals are ignored, tasks run at least once).
    fn submit(
        &self,
        execution_arn: &str,
        work: Vec<Delivery>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            for w in work {
                match w {
                    Delivery::Signal { at, signal } => {
                        self.schedule(execution_arn, at, signal).await?
                    }
                    Delivery::Task(req) => self.dispatch(execution_arn, &req).await?,
                }
            }
            Ok(())
        }
    }
}

/// One piece of work for [`Scheduler::submit`].
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// [`Scheduler::schedule`]'s.
    Signal { at: DateTime<Utc>, signal: Signal },
    /// [`Scheduler::dispatch`]'s.
    Task(Box<TaskRequest>),
}

/// What a task's invocation came to.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    Succeeded(Value),
    Failed(Failure),
    /// The answer comes later (`.waitForTaskToken`, or an asynchronous integration).
    Pending,
    /// A Run a Job (`.sync`) task's job runs: the engine asks again later, handing `job` back
    /// in [`TaskRequest::job`]. `submitted` is the answer of the call that started the job (the
    /// `TaskSubmitted` event's output), given once, by the first call.
    Job {
        job: Value,
        submitted: Option<Value>,
    },
}

/// Runs the Resource of Task states (Lambda, SNS, mocks, …), when a dispatched task comes up.
pub trait Tasks: Send + Sync {
    fn invoke(
        &self,
        execution_arn: &str,
        req: &TaskRequest,
    ) -> impl Future<Output = TaskOutcome> + Send;

    /// Checks, before anything runs, what the integrations can tell from a definition or a
    /// TestState mock ([`TaskCheck`]). Homes that cannot tell accept it. Wrappers forward this
    /// to what they wrap.
    fn check(&self, _what: &TaskCheck<'_>) -> Result<(), String> {
        Ok(())
    }
}

/// What [`Tasks::check`] is asked about.
#[derive(Debug, Clone, Copy)]
pub enum TaskCheck<'a> {
    /// A Task state's Resource and its literal Parameters (or JSONata Arguments), when a
    /// definition is created or validated: an action that does not exist, or a parameter the
    /// action does not take, is refused then, as AWS refuses it.
    Task {
        resource: &'a str,
        parameters: Option<&'a Value>,
    },
    /// A result a TestState mock gives for `resource`, against the API model of its
    /// integration (`strict`: required members must be there too).
    MockResult {
        resource: &'a str,
        result: &'a Value,
        strict: bool,
    },
}

/// Tells the world what happens to executions.
pub trait Notifier: Send + Sync {
    /// Every status change. An error leaves the step's outbox unacknowledged: it is told again.
    fn status_changed(
        &self,
        rec: &ExecutionRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A task asks a human for approval (its approval is stored already): announce its links.
    /// Called again if anything after it fails, so it may be told twice.
    fn approval_requested(
        &self,
        execution_arn: &str,
        req: &TaskRequest,
        approval: &Approval,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub trait Ids: Send + Sync {
    /// A new execution name (AWS uses a UUID).
    fn execution_name(&self) -> String;
    /// A new task token: unguessable.
    fn task_token(&self) -> String;
    /// 64 random bits, for intrinsic functions and jitter.
    fn random_u64(&self) -> u64;
}

/// Homes share one store between the engine and their own loops; these let an `Arc` of a port
/// be the port.
mod shared {
    use std::sync::Arc;

    use super::*;

    impl<T: StateMachineStore> StateMachineStore for Arc<T> {
        fn create_state_machine(
            &self,
            sm: &StateMachine,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).create_state_machine(sm)
        }
        fn get_state_machine(
            &self,
            arn: &str,
        ) -> impl Future<Output = Result<Option<StateMachine>, StoreError>> + Send {
            (**self).get_state_machine(arn)
        }
        fn get_state_machine_revision(
            &self,
            arn: &str,
            revision: u64,
        ) -> impl Future<Output = Result<Option<StateMachine>, StoreError>> + Send {
            (**self).get_state_machine_revision(arn, revision)
        }
        fn update_state_machine(
            &self,
            sm: &StateMachine,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).update_state_machine(sm)
        }
        fn delete_state_machine(
            &self,
            arn: &str,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).delete_state_machine(arn)
        }
        fn list_state_machines(
            &self,
            max: usize,
            next_token: Option<&str>,
        ) -> impl Future<Output = Result<Page<StateMachineSummary>, StoreError>> + Send {
            (**self).list_state_machines(max, next_token)
        }
    }

    impl<T: ExecutionStore> ExecutionStore for Arc<T> {
        type Snapshot = T::Snapshot;
        fn create(
            &self,
            rec: &ExecutionRecord,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).create(rec)
        }
        fn load(
            &self,
            arn: &str,
        ) -> impl Future<Output = Result<Option<ExecutionRecord>, StoreError>> + Send {
            (**self).load(arn)
        }
        fn load_for_step(
            &self,
            arn: &str,
        ) -> impl Future<Output = Result<Option<Loaded<Self::Snapshot>>, StoreError>> + Send
        {
            (**self).load_for_step(arn)
        }
        fn commit(
            &self,
            snapshot: Self::Snapshot,
            w: &WriteSet<'_>,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).commit(snapshot, w)
        }
        fn keep(&self, rec: ExecutionRecord) {
            (**self).keep(rec)
        }
        fn children_in_commit(&self) -> bool {
            (**self).children_in_commit()
        }
        fn put_map_children(
            &self,
            children: &[ChildExecution],
            events: &[crate::map_children::ChildEvent],
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).put_map_children(children, events)
        }
        fn ack_outbox(
            &self,
            arn: &str,
            version: u64,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).ack_outbox(arn, version)
        }
        fn unsettled(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send {
            (**self).unsettled()
        }
        fn history(
            &self,
            arn: &str,
        ) -> impl Future<Output = Result<Vec<HistoryEvent>, StoreError>> + Send {
            (**self).history(arn)
        }
        fn history_page(
            &self,
            arn: &str,
            reverse: bool,
            max: usize,
            next_token: Option<&str>,
        ) -> impl Future<Output = Result<Page<HistoryEvent>, StoreError>> + Send {
            (**self).history_page(arn, reverse, max, next_token)
        }
        fn list_executions(
            &self,
            filter: &ExecutionFilter,
            max: usize,
            next_token: Option<&str>,
        ) -> impl Future<Output = Result<Page<ExecutionRecord>, StoreError>> + Send {
            (**self).list_executions(filter, max, next_token)
        }
        fn find_task(
            &self,
            token_hash: &str,
        ) -> impl Future<Output = Result<Option<TaskRef>, StoreError>> + Send {
            (**self).find_task(token_hash)
        }
    }

    impl<T: ChildWaitStore> ChildWaitStore for Arc<T> {
        fn put_child_wait(
            &self,
            child: &str,
            parent: &TaskRef,
            variant: &str,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).put_child_wait(child, parent, variant)
        }
        fn child_wait(
            &self,
            child: &str,
        ) -> impl Future<Output = Result<Option<(TaskRef, String)>, StoreError>> + Send {
            (**self).child_wait(child)
        }
        fn remove_child_wait(
            &self,
            child: &str,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).remove_child_wait(child)
        }
    }

    impl<T: crate::approval::ApprovalStore> crate::approval::ApprovalStore for Arc<T> {
        fn put_approval(
            &self,
            rec: &crate::approval::ApprovalRecord,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).put_approval(rec)
        }
        fn get_approval(
            &self,
            id: &str,
        ) -> impl Future<Output = Result<Option<crate::approval::ApprovalRecord>, StoreError>> + Send
        {
            (**self).get_approval(id)
        }
        fn decide_approval(
            &self,
            id: &str,
            d: &crate::approval::Decision,
        ) -> impl Future<Output = Result<bool, StoreError>> + Send {
            (**self).decide_approval(id, d)
        }
    }

    impl<T: MapChildStore> MapChildStore for Arc<T> {
        fn map_child(
            &self,
            execution_arn: &str,
        ) -> impl Future<Output = Result<Option<ChildExecution>, StoreError>> + Send {
            (**self).map_child(execution_arn)
        }
        fn map_children(
            &self,
            map_run_arn: &str,
            status: Option<crate::record::Status>,
            max: usize,
            next_token: Option<&str>,
        ) -> impl Future<Output = Result<Page<ChildExecution>, StoreError>> + Send {
            (**self).map_children(map_run_arn, status, max, next_token)
        }
    }

    impl<T: TagStore> TagStore for Arc<T> {
        fn tags(
            &self,
            arn: &str,
        ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send {
            (**self).tags(arn)
        }
        fn tag(
            &self,
            arn: &str,
            tags: &[(String, String)],
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).tag(arn, tags)
        }
        fn untag(
            &self,
            arn: &str,
            keys: &[String],
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).untag(arn, keys)
        }
    }

    impl<T: Scheduler> Scheduler for Arc<T> {
        fn schedule(
            &self,
            execution_arn: &str,
            at: DateTime<Utc>,
            signal: Signal,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).schedule(execution_arn, at, signal)
        }
        fn dispatch(
            &self,
            execution_arn: &str,
            req: &TaskRequest,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).dispatch(execution_arn, req)
        }
        fn settle_later(
            &self,
            execution_arn: &str,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).settle_later(execution_arn)
        }
        fn submit(
            &self,
            execution_arn: &str,
            work: Vec<Delivery>,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).submit(execution_arn, work)
        }
    }

    impl<T: Tasks> Tasks for Arc<T> {
        fn invoke(
            &self,
            execution_arn: &str,
            req: &TaskRequest,
        ) -> impl Future<Output = TaskOutcome> + Send {
            (**self).invoke(execution_arn, req)
        }

        fn check(&self, what: &TaskCheck<'_>) -> Result<(), String> {
            (**self).check(what)
        }
    }

    impl<T: Notifier> Notifier for Arc<T> {
        fn status_changed(
            &self,
            rec: &ExecutionRecord,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).status_changed(rec)
        }
        fn approval_requested(
            &self,
            execution_arn: &str,
            req: &TaskRequest,
            approval: &Approval,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).approval_requested(execution_arn, req, approval)
        }
    }

    impl<T: Clock> Clock for Arc<T> {
        fn now(&self) -> DateTime<Utc> {
            (**self).now()
        }
    }

    impl<T: Ids> Ids for Arc<T> {
        fn execution_name(&self) -> String {
            (**self).execution_name()
        }
        fn task_token(&self) -> String {
            (**self).task_token()
        }
        fn random_u64(&self) -> u64 {
            (**self).random_u64()
        }
    }
}
