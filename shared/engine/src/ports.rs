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
}

/// State machine definitions.
pub trait StateMachineStore {
    fn get_state_machine(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<StateMachine>, StoreError>>;
}

/// Execution records and their history: one conditional write per step.
pub trait ExecutionStore {
    /// Stores a new execution; fails with `AlreadyExists` when the ARN is taken.
    fn create(&self, rec: &ExecutionRecord) -> impl Future<Output = Result<(), StoreError>>;
    fn load(&self, arn: &str) -> impl Future<Output = Result<Option<ExecutionRecord>, StoreError>>;
    /// Writes `rec` (whose version is already the new one), appends `events` and records the
    /// step's `outbox`, only if the stored version is `expected_version`.
    fn commit(
        &self,
        rec: &ExecutionRecord,
        expected_version: u64,
        events: &[HistoryEvent],
        outbox: &[Effect],
    ) -> impl Future<Output = Result<(), StoreError>>;
    fn history(&self, arn: &str) -> impl Future<Output = Result<Vec<HistoryEvent>, StoreError>>;
}

/// Delivers a signal to an execution at a time (now, for task answers).
pub trait Scheduler {
    fn schedule(
        &self,
        execution_arn: &str,
        at: DateTime<Utc>,
        signal: Signal,
    ) -> impl Future<Output = ()>;
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
pub trait Tasks {
    fn invoke(&self, execution_arn: &str, req: &TaskRequest) -> impl Future<Output = TaskOutcome>;
}

/// Hears about every execution status change.
pub trait Notifier {
    fn status_changed(&self, rec: &ExecutionRecord) -> impl Future<Output = ()>;
}

pub trait Clock {
    fn now(&self) -> DateTime<Utc>;
}

pub trait Ids {
    /// A new execution name (AWS uses a UUID).
    fn execution_name(&self) -> String;
    /// A new task token: unguessable.
    fn task_token(&self) -> String;
    /// 64 random bits, for intrinsic functions and jitter.
    fn random_u64(&self) -> u64;
}
