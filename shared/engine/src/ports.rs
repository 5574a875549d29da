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
use crate::record::ExecutionRecord;
use crate::step::{Effect, Signal, TaskRequest};

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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone committed a newer version first; the step must be re-decided or dropped.
    #[error("version conflict on {0}")]
    Conflict(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} does not exist")]
    NotFound(String),
    #[error("storage failure: {0}")]
    Backend(String),
    /// A page token this store did not make: the caller's mistake, not the store's.
    #[error("invalid page token '{0}'")]
    InvalidToken(String),
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

/// Execution records and their history: one conditional write per step.
pub trait ExecutionStore: Send + Sync {
    /// Stores a new execution; fails with `AlreadyExists` when the ARN is taken.
    fn create(&self, rec: &ExecutionRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn load(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ExecutionRecord>, StoreError>> + Send;
    /// Writes `rec` (whose version is already the new one), appends `events` and records the
    /// step's `outbox` (and the task tokens its Invoke effects carry, hashed), only if the
    /// stored version is still `previous.version`. `previous` is the record as loaded, so a
    /// store that keeps frames apart can write only what changed.
    fn commit(
        &self,
        previous: &ExecutionRecord,
        rec: &ExecutionRecord,
        events: &[HistoryEvent],
        outbox: &[Effect],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
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
    /// The task a token belongs to, if the token was ever issued.
    fn find_task(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<TaskRef>, StoreError>> + Send;
    /// Steps committed whose effects were not acknowledged as performed: after a crash they
    /// are performed again.
    fn pending_outboxes(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, Vec<Effect>)>, StoreError>> + Send;
    fn ack_outbox(
        &self,
        arn: &str,
        version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The unacknowledged outbox of one execution, with the version it belongs to.
    fn pending_outbox(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<(u64, Vec<Effect>)>, StoreError>> + Send;
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

/// Delivers a signal to an execution at a time (now, for task answers).
pub trait Scheduler: Send + Sync {
    /// Fails only when the signal could not be stored; the step's outbox then stays
    /// unacknowledged and is performed again.
    fn schedule(
        &self,
        execution_arn: &str,
        at: DateTime<Utc>,
        signal: Signal,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a task's invocation came to.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    Succeeded(Value),
    Failed(Failure),
    /// The answer comes later (`.waitForTaskToken`, or an asynchronous integration).
    Pending,
}

/// Runs the Resource of Task states.
pub trait Tasks: Send + Sync {
    fn invoke(
        &self,
        execution_arn: &str,
        req: &TaskRequest,
    ) -> impl Future<Output = TaskOutcome> + Send;
}

/// Hears about every execution status change.
pub trait Notifier: Send + Sync {
    fn status_changed(&self, rec: &ExecutionRecord) -> impl Future<Output = ()> + Send;
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
        fn commit(
            &self,
            previous: &ExecutionRecord,
            rec: &ExecutionRecord,
            events: &[HistoryEvent],
            outbox: &[Effect],
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).commit(previous, rec, events, outbox)
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
            token: &str,
        ) -> impl Future<Output = Result<Option<TaskRef>, StoreError>> + Send {
            (**self).find_task(token)
        }
        fn pending_outboxes(
            &self,
        ) -> impl Future<Output = Result<Vec<(String, Vec<Effect>)>, StoreError>> + Send {
            (**self).pending_outboxes()
        }
        fn ack_outbox(
            &self,
            arn: &str,
            version: u64,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            (**self).ack_outbox(arn, version)
        }
        fn pending_outbox(
            &self,
            arn: &str,
        ) -> impl Future<Output = Result<Option<(u64, Vec<Effect>)>, StoreError>> + Send {
            (**self).pending_outbox(arn)
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
    }

    impl<T: Tasks> Tasks for Arc<T> {
        fn invoke(
            &self,
            execution_arn: &str,
            req: &TaskRequest,
        ) -> impl Future<Output = TaskOutcome> + Send {
            (**self).invoke(execution_arn, req)
        }
    }

    impl<T: Notifier> Notifier for Arc<T> {
        fn status_changed(&self, rec: &ExecutionRecord) -> impl Future<Output = ()> + Send {
            (**self).status_changed(rec)
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
