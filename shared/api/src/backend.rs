//! What the API needs from a home: the engine's operations and its stores, behind one trait so
//! that `waymark serve` (SQLite) and the API Lambda (DynamoDB) plug in the same way. The
//! engine implements it for any set of ports; a home only wraps it when it has a better way to
//! do something (such as waiting for an execution to end).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use waymark_engine::activity::{ActivityStore, ActivityTask};
use waymark_engine::history::HistoryEvent;
use waymark_engine::map_children::ChildExecution;
use waymark_engine::ports::{
    ChildWaitStore, Clock, ExecutionFilter, ExecutionStore, Ids, MapChildStore, Notifier, Page,
    Scheduler, StateMachine, StateMachineStore, StateMachineSummary, StoreError, TagStore,
    TaskCheck, Tasks,
};
use waymark_engine::record::{ExecutionRecord, Status};
use waymark_engine::runner::{Config, Engine, EngineError, TaskAnswer};
use waymark_engine::step::Signal;
use waymark_engine::test_state::{TestStateOutcome, TestStateRequest};
use waymark_engine::versions::VersionStore;

/// The engine and stores as the API uses them.
///
/// The futures are not required to be `Send`: the engine's stepping futures are not today
/// (its step environment holds `&dyn` references across an await). [`crate::router`] therefore
/// runs each request on a blocking thread; once they are `Send`, that hop can go.
pub trait Backend: Send + Sync + 'static {
    /// The store of state machine versions and aliases.
    type Versions: VersionStore;
    /// The store of activities and their queues.
    type Activities: ActivityStore;

    /// Where this home lives, for ARNs.
    fn config(&self) -> &Config;
    fn version_store(&self) -> &Self::Versions;
    fn activity_store(&self) -> &Self::Activities;
    /// GetActivityTask's wait for a task before it answers with none: AWS waits 60 s; a home
    /// behind an HTTP gateway with a shorter limit waits less (the SDKs simply ask again).
    fn activity_poll(&self) -> Duration {
        Duration::from_secs(60)
    }
    /// Hands a signal to an execution (UpdateMapRun's new limits).
    fn deliver(
        &self,
        arn: &str,
        signal: Signal,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;
    /// Takes the oldest live task of an activity for `worker` ([`Engine::take_activity_task`]).
    fn take_activity_task(
        &self,
        activity_arn: &str,
        worker: Option<&str>,
    ) -> impl Future<Output = Result<Option<ActivityTask>, EngineError>> + Send;
    fn now(&self) -> DateTime<Utc>;

    /// Fails with `StoreError::AlreadyExists` when the ARN is taken.
    fn create_state_machine(
        &self,
        sm: &StateMachine,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The latest revision.
    fn state_machine(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<StateMachine>, StoreError>> + Send;
    fn state_machine_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> impl Future<Output = Result<Option<StateMachine>, StoreError>> + Send;
    /// Stores `sm` (numbered already) as the newest revision.
    fn update_state_machine(
        &self,
        sm: &StateMachine,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn delete_state_machine(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn list_state_machines(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<StateMachineSummary>, StoreError>> + Send;

    /// Creates the execution and takes its first step.
    /// `test_case`: the mock test case named by a `stateMachineArn#TestCase` ARN.
    fn start_execution(
        &self,
        sm: &StateMachine,
        name: Option<&str>,
        input: Value,
        test_case: Option<&str>,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send;
    fn execution(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ExecutionRecord>, StoreError>> + Send;
    fn stop_execution(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send;
    fn redrive_execution(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send;
    fn answer_task(
        &self,
        token: &str,
        answer: TaskAnswer,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;
    /// Answers a task known by reference (human-approval pages never hold tokens).
    fn answer_task_ref(
        &self,
        task: waymark_engine::ports::TaskRef,
        answer: TaskAnswer,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;
    fn history_page(
        &self,
        arn: &str,
        reverse: bool,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<HistoryEvent>, StoreError>> + Send;

    /// A distributed Map's child execution by its ARN ([`MapChildStore`]).
    fn map_child(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<Option<ChildExecution>, StoreError>> + Send;
    /// A page of a map run's child executions, in the order they started.
    fn map_children(
        &self,
        map_run_arn: &str,
        status: Option<Status>,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<ChildExecution>, StoreError>> + Send;
    fn list_executions(
        &self,
        filter: &ExecutionFilter,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<ExecutionRecord>, StoreError>> + Send;

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

    /// TestState: one state run once through the engine's step.
    fn test_state(
        &self,
        req: TestStateRequest,
    ) -> impl Future<Output = Result<TestStateOutcome, EngineError>> + Send;

    /// What the home's integrations can check before anything runs (see
    /// [`waymark_engine::ports::Tasks::check`]).
    fn check_task(&self, what: &TaskCheck<'_>) -> Result<(), String>;

    /// Waits until the execution has ended (StartSyncExecution), or `limit` has passed: then
    /// it returns the record as it is. Homes that hear about status changes override this.
    fn wait_until_ended(
        &self,
        arn: &str,
        limit: Duration,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send {
        poll_until_ended(self, arn, limit)
    }
}

/// Waits for an execution to end by reading it again and again, a little less often each
/// time (1 ms up to 50 ms).
pub async fn poll_until_ended<B: Backend + ?Sized>(
    backend: &B,
    arn: &str,
    limit: Duration,
) -> Result<ExecutionRecord, EngineError> {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        let rec = backend
            .execution(arn)
            .await?
            .ok_or_else(|| EngineError::ExecutionDoesNotExist(arn.to_string()))?;
        if rec.status.is_terminal() || started.elapsed() >= limit {
            return Ok(rec);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

impl<S, Q, T, N, C, I> Backend for Engine<S, Q, T, N, C, I>
where
    S: ExecutionStore
        + StateMachineStore
        + TagStore
        + MapChildStore
        + ChildWaitStore
        + waymark_engine::approval::ApprovalStore
        + VersionStore
        + ActivityStore
        + 'static,
    Q: Scheduler + 'static,
    T: Tasks + 'static,
    N: Notifier + 'static,
    C: Clock + 'static,
    I: Ids + 'static,
{
    type Versions = S;
    type Activities = S;

    fn config(&self) -> &Config {
        &self.config
    }

    fn version_store(&self) -> &S {
        &self.store
    }

    fn activity_store(&self) -> &S {
        &self.store
    }

    fn activity_poll(&self) -> Duration {
        self.config.activity_poll
    }

    fn take_activity_task(
        &self,
        activity_arn: &str,
        worker: Option<&str>,
    ) -> impl Future<Output = Result<Option<ActivityTask>, EngineError>> + Send {
        Engine::take_activity_task(self, activity_arn, worker)
    }

    fn deliver(
        &self,
        arn: &str,
        signal: Signal,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        Engine::deliver(self, arn, signal)
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn create_state_machine(
        &self,
        sm: &StateMachine,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.create_state_machine(sm)
    }

    fn state_machine(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<StateMachine>, StoreError>> + Send {
        self.store.get_state_machine(arn)
    }

    fn state_machine_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> impl Future<Output = Result<Option<StateMachine>, StoreError>> + Send {
        self.store.get_state_machine_revision(arn, revision)
    }

    fn update_state_machine(
        &self,
        sm: &StateMachine,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.update_state_machine(sm)
    }

    fn delete_state_machine(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.delete_state_machine(arn)
    }

    fn list_state_machines(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<StateMachineSummary>, StoreError>> + Send {
        self.store.list_state_machines(max, next_token)
    }

    fn start_execution(
        &self,
        sm: &StateMachine,
        name: Option<&str>,
        input: Value,
        test_case: Option<&str>,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send {
        Engine::start_execution_with(self, sm, name, input, test_case)
    }

    fn execution(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ExecutionRecord>, StoreError>> + Send {
        self.store.load(arn)
    }

    fn stop_execution(
        &self,
        arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send {
        self.stop(arn, error, cause)
    }

    fn redrive_execution(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<ExecutionRecord, EngineError>> + Send {
        self.redrive(arn)
    }

    fn answer_task(
        &self,
        token: &str,
        answer: TaskAnswer,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        Engine::answer_task(self, token, answer)
    }

    fn answer_task_ref(
        &self,
        task: waymark_engine::ports::TaskRef,
        answer: TaskAnswer,
    ) -> impl Future<Output = Result<(), EngineError>> + Send {
        Engine::answer_task_ref(self, task, None, answer)
    }

    fn history_page(
        &self,
        arn: &str,
        reverse: bool,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<HistoryEvent>, StoreError>> + Send {
        self.store.history_page(arn, reverse, max, next_token)
    }

    fn map_child(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<Option<ChildExecution>, StoreError>> + Send {
        self.store.map_child(execution_arn)
    }

    fn map_children(
        &self,
        map_run_arn: &str,
        status: Option<Status>,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<ChildExecution>, StoreError>> + Send {
        self.store
            .map_children(map_run_arn, status, max, next_token)
    }

    fn list_executions(
        &self,
        filter: &ExecutionFilter,
        max: usize,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<Page<ExecutionRecord>, StoreError>> + Send {
        self.store.list_executions(filter, max, next_token)
    }

    fn tags(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send {
        self.store.tags(arn)
    }

    fn tag(
        &self,
        arn: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.tag(arn, tags)
    }

    fn untag(
        &self,
        arn: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.untag(arn, keys)
    }

    fn test_state(
        &self,
        req: TestStateRequest,
    ) -> impl Future<Output = Result<TestStateOutcome, EngineError>> + Send {
        Engine::test_state(self, req)
    }

    fn check_task(&self, what: &TaskCheck<'_>) -> Result<(), String> {
        self.tasks.check(what)
    }
}
