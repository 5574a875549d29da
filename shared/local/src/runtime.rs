//! The local runtime: the engine over SQLite, a scheduler loop that fires timers (in real or
//! scaled time), a worker that runs dispatched tasks off the step path, and recovery of
//! whatever a killed process left half-done. The protocol itself (what a step does, tasks,
//! child executions, approvals) is the engine's; this module only implements its ports.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use tokio::sync::{mpsc, Notify};
use waymark_engine::memory::{RandomIds, ScaledClock};
use waymark_engine::ports::*;
use waymark_engine::record::ExecutionRecord;
use waymark_engine::runner::{Config, Engine, EngineError};
use waymark_engine::step::{Approval, Signal, TaskRequest};

use crate::sqlite::SqliteStore;

/// The engine as the local runtime assembles it.
pub type LocalEngine = Engine<
    Arc<SqliteStore>,
    LocalScheduler,
    LocalTasks,
    LocalNotifier,
    Arc<ScaledClock>,
    RandomIds,
>;

/// Something that runs a task for the local runtime (mocks, AWS integrations, …): the
/// integrations are chosen when the runtime is opened.
pub trait Integrations: Send + Sync + 'static {
    fn invoke(
        &self,
        execution_arn: &str,
        req: &TaskRequest,
    ) -> impl Future<Output = TaskOutcome> + Send;

    fn check(&self, what: &TaskCheck<'_>) -> Result<(), String>;
}

impl<T: Tasks + 'static> Integrations for T {
    fn invoke(
        &self,
        execution_arn: &str,
        req: &TaskRequest,
    ) -> impl Future<Output = TaskOutcome> + Send {
        Tasks::invoke(self, execution_arn, req)
    }

    fn check(&self, what: &TaskCheck<'_>) -> Result<(), String> {
        Tasks::check(self, what)
    }
}

type TaskFuture = Pin<Box<dyn Future<Output = TaskOutcome> + Send>>;
type CheckFn = dyn Fn(&TaskCheck<'_>) -> Result<(), String> + Send + Sync;

/// The integrations, with their type erased so that one engine type serves every choice.
pub struct LocalTasks {
    invoke: Box<dyn Fn(String, TaskRequest) -> TaskFuture + Send + Sync>,
    check: Box<CheckFn>,
}

impl LocalTasks {
    fn new<I: Integrations>(integrations: I) -> LocalTasks {
        let integrations = Arc::new(integrations);
        let checker = integrations.clone();
        LocalTasks {
            invoke: Box::new(move |arn, req| {
                let i = integrations.clone();
                Box::pin(async move { i.invoke(&arn, &req).await })
            }),
            check: Box::new(move |what| checker.check(what)),
        }
    }
}

impl Tasks for LocalTasks {
    fn invoke(
        &self,
        execution_arn: &str,
        req: &TaskRequest,
    ) -> impl Future<Output = TaskOutcome> + Send {
        (self.invoke)(execution_arn.to_string(), req.clone())
    }

    fn check(&self, what: &TaskCheck<'_>) -> Result<(), String> {
        (self.check)(what)
    }
}

/// Timers are rows, tasks rows in flight handed to the worker; storing either wakes whoever
/// waits for work.
#[derive(Clone)]
pub struct LocalScheduler {
    store: Arc<SqliteStore>,
    wake: Arc<Notify>,
    tasks: mpsc::UnboundedSender<(String, TaskRequest)>,
    inflight: Arc<AtomicUsize>,
}

impl Scheduler for LocalScheduler {
    async fn schedule(
        &self,
        execution_arn: &str,
        at: DateTime<Utc>,
        signal: Signal,
    ) -> Result<(), StoreError> {
        self.store.add_timer(execution_arn, at, &signal)?;
        self.wake.notify_one();
        Ok(())
    }

    async fn dispatch(&self, execution_arn: &str, req: &TaskRequest) -> Result<(), StoreError> {
        // Durable first: a process killed from here on runs it when it restarts.
        self.store.add_inflight(execution_arn, req)?;
        self.send(execution_arn, req);
        Ok(())
    }

    /// Everything left half-done is settled when the runtime opens ([`Local::recover`]).
    async fn settle_later(&self, _execution_arn: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

impl LocalScheduler {
    fn send(&self, execution_arn: &str, req: &TaskRequest) {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        if self
            .tasks
            .send((execution_arn.to_string(), req.clone()))
            .is_err()
        {
            // The worker is gone (the runtime is closing): the row runs it at the next start.
            self.inflight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Logs status changes and approval requests (user-named values as fields, never inside the
/// message, so that a name cannot forge a log line).
pub struct LocalNotifier;

impl Notifier for LocalNotifier {
    async fn status_changed(&self, rec: &ExecutionRecord) -> Result<(), StoreError> {
        tracing::info!(target: "waymark::executions", execution = ?rec.execution_arn, status = rec.status.as_str(), "execution status");
        Ok(())
    }

    async fn approval_requested(
        &self,
        execution_arn: &str,
        req: &TaskRequest,
        approval: &Approval,
    ) -> Result<(), StoreError> {
        let url = approval
            .links
            .get("Url")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        // The URL as is (not quoted), so that it can be copied from the log: it holds only the
        // configured base URL, a hex id and numbers.
        tracing::info!(target: "waymark::approvals", execution = ?execution_arn, state = ?req.state, url = %url, "approval requested");
        Ok(())
    }
}

pub struct LocalOptions {
    /// A file path, or `:memory:`.
    pub db: String,
    /// Real seconds per workflow second; 0 for virtual time.
    pub wait_scale: f64,
    pub config: Config,
    /// Makes approval links for `.waitForTaskToken` tasks (`waymark serve`).
    pub approvals: Option<waymark_engine::runner::ApprovalLinks>,
}

/// A running local home.
pub struct Local {
    pub engine: Arc<LocalEngine>,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<ScaledClock>,
    wake: Arc<Notify>,
    inflight: Arc<AtomicUsize>,
}

impl Local {
    /// Opens the database and starts the task worker (on the current tokio runtime).
    pub fn open<I: Integrations>(opts: LocalOptions, integrations: I) -> Result<Local, StoreError> {
        let store = Arc::new(SqliteStore::open(&opts.db)?);
        let wake = Arc::new(Notify::new());
        // Workflow time never goes back from what a previous process delivered.
        let start = match store.last_time()? {
            Some(last) if last > Utc::now() => last,
            _ => Utc::now(),
        };
        let clock = Arc::new(ScaledClock::new(start, opts.wait_scale));
        let (tx, rx) = mpsc::unbounded_channel();
        let inflight = Arc::new(AtomicUsize::new(0));
        let scheduler = LocalScheduler {
            store: store.clone(),
            wake: wake.clone(),
            tasks: tx,
            inflight: inflight.clone(),
        };
        let engine = Arc::new(Engine {
            store: store.clone(),
            scheduler,
            tasks: LocalTasks::new(integrations),
            notifier: LocalNotifier,
            clock: clock.clone(),
            ids: RandomIds,
            config: opts.config,
            approvals: opts.approvals,
        });
        let worker = Worker {
            engine: Arc::downgrade(&engine),
            inflight: inflight.clone(),
            wake: wake.clone(),
            store: store.clone(),
        };
        tokio::spawn(worker.run(rx));
        Ok(Local {
            engine,
            store,
            clock,
            wake,
            inflight,
        })
    }

    /// Finishes what a previous process left half-done: settles executions with an
    /// unacknowledged outbox or never started, and runs again the tasks it had in flight.
    /// Returns how many it touched.
    pub async fn recover(&self) -> Result<usize, EngineError> {
        let mut n = self.engine.recover().await?;
        for (arn, req) in self.store.inflight()? {
            self.engine.scheduler.send(&arn, &req);
            n += 1;
        }
        Ok(n)
    }

    /// Delivers the earliest timer if it is due (after advancing virtual time to it when
    /// nothing else is under way), in one step with every other timer of its execution due by
    /// then. Returns false when there is nothing to do now.
    async fn tick(&self, jump: bool) -> Result<bool, EngineError> {
        let Some(t) = self.store.next_timer()? else {
            return Ok(false);
        };
        if t.due > self.clock.now() {
            if !jump || self.inflight.load(Ordering::SeqCst) > 0 {
                return Ok(false);
            }
            self.clock.wait_until(t.due);
        }
        let arn = t.execution_arn;
        // `t` among them (it is the earliest).
        let due = self
            .store
            .due_timers_of(&arn, self.clock.now().max(t.due), TIMERS_PER_STEP)?;
        let ids: Vec<i64> = due.iter().map(|t| t.id).collect();
        let signals = due.into_iter().map(|t| t.signal).collect();
        match self.engine.deliver_all(&arn, signals).await {
            Ok(()) => {}
            // Kept for another try; anything else would fail the same way again.
            Err(e) if e.is_retryable() => {
                tracing::warn!(execution = ?arn, "signal not delivered yet: {e}");
                return Ok(false);
            }
            Err(e) => tracing::warn!(execution = ?arn, "signal dropped: {e}"),
        }
        self.store.delete_timers(&ids)?;
        self.store.set_last_time(self.clock.now())?;
        Ok(true)
    }

    /// Runs until `arn` has ended, or until nothing more can happen without help from outside
    /// (a task token, say). Waits are taken in scaled time.
    pub async fn run_until_settled(&self, arn: &str) -> Result<ExecutionRecord, EngineError> {
        loop {
            // Steps first, the record when they run out: reading it is a parse of every
            // frame, which a Map of thousands of items would pay at every step.
            if self.tick(false).await? {
                continue;
            }
            let rec = self.engine.describe(arn).await?;
            if rec.status.is_terminal() {
                return Ok(rec);
            }
            if self.inflight.load(Ordering::SeqCst) > 0 {
                self.wake.notified().await;
                continue;
            }
            match self.store.next_timer()? {
                Some(t) => {
                    let clock = self.clock.clone();
                    tokio::task::spawn_blocking(move || clock.wait_until(t.due))
                        .await
                        .ok();
                }
                None => return Ok(rec),
            }
        }
    }

    /// The scheduler loop of a server: fires timers when due, forever.
    pub async fn run_scheduler(self: Arc<Self>) {
        loop {
            match self.tick(self.clock_is_virtual()).await {
                Ok(true) => {
                    // Let requests in between two steps of a long chain.
                    tokio::task::yield_now().await;
                    continue;
                }
                Ok(false) => {}
                Err(e) => tracing::error!(error = ?e.to_string(), "scheduler"),
            }
            let sleep = match self.store.next_timer() {
                Ok(Some(t)) => {
                    let ms = (t.due - self.clock.now()).num_milliseconds().max(0) as f64
                        * self.clock.scale().max(0.0);
                    std::time::Duration::from_millis((ms as u64).clamp(1, 1000))
                }
                _ => std::time::Duration::from_secs(1),
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    fn clock_is_virtual(&self) -> bool {
        self.clock.scale() == 0.0
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// The most timers of one execution delivered in one step: enough that a Map's waits ending
/// together take a few steps, few enough that a step's signals stay small.
const TIMERS_PER_STEP: usize = 1000;

/// The most tasks the worker takes together: the tasks of one execution among them are
/// answered in one step.
const TASKS_PER_STEP: usize = 1000;

/// How often the worker tries a task whose answer could not be stored before it leaves it
/// to the next start of the runtime.
const TASK_ATTEMPTS: u32 = 5;

/// Runs dispatched tasks off the step path, through the engine.
struct Worker {
    engine: Weak<LocalEngine>,
    inflight: Arc<AtomicUsize>,
    wake: Arc<Notify>,
    store: Arc<SqliteStore>,
}

impl Worker {
    /// Takes the tasks dispatched together (what is queued when it looks) and runs each
    /// execution's share of them as one group: run at once, answered in one step. A Map's
    /// thousand Lambda calls are then a few steps of its execution, not a thousand steps each
    /// rewriting a record that holds a thousand frames.
    async fn run(self, mut rx: mpsc::UnboundedReceiver<(String, TaskRequest)>) {
        let me = Arc::new(self);
        while let Some(first) = rx.recv().await {
            // By execution, in the order they came.
            let mut groups: IndexMap<String, Vec<TaskRequest>> = IndexMap::new();
            let mut taken = 0;
            let mut next = Some(first);
            while let Some((arn, req)) = next.take() {
                taken += 1;
                groups.entry(arn).or_default().push(req);
                if taken < TASKS_PER_STEP {
                    next = rx.try_recv().ok();
                }
            }
            for (arn, reqs) in groups {
                let me = me.clone();
                tokio::spawn(async move {
                    let n = reqs.len();
                    me.handle_group(&arn, reqs).await;
                    me.inflight.fetch_sub(n, Ordering::SeqCst);
                    me.wake.notify_one();
                });
            }
        }
    }

    /// One execution's tasks, answered in one step; a task whose run or answer failed is
    /// tried again on its own.
    async fn handle_group(&self, arn: &str, mut reqs: Vec<TaskRequest>) {
        if reqs.len() == 1 {
            if let Some(req) = reqs.pop() {
                self.handle(arn, req).await;
            }
            return;
        }
        let results = match self.engine.upgrade() {
            Some(engine) => engine.run_tasks_and_deliver(arn, &reqs, Vec::new()).await,
            None => return,
        };
        for (req, result) in reqs.into_iter().zip(results) {
            match result {
                Ok(()) => {
                    if let Err(e) = self.store.remove_inflight(arn, &req) {
                        tracing::error!(execution = ?arn, "cannot clear an answered task: {e}");
                    }
                }
                Err(_) => self.handle(arn, req).await,
            }
        }
    }

    async fn handle(&self, arn: &str, req: TaskRequest) {
        for attempt in 1..=TASK_ATTEMPTS {
            let Some(engine) = self.engine.upgrade() else {
                return;
            };
            match engine.run_task(arn, &req).await {
                Ok(()) => {
                    // Answered (or handed on): not to be run again after a crash.
                    if let Err(e) = self.store.remove_inflight(arn, &req) {
                        tracing::error!(execution = ?arn, "cannot clear an answered task: {e}");
                    }
                    return;
                }
                Err(e) if e.is_retryable() && attempt < TASK_ATTEMPTS => {
                    drop(engine);
                    tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
                }
                Err(e) => {
                    // Left in flight: the next start of the runtime runs it again.
                    tracing::error!(execution = ?arn, state = ?req.state, "task not done: {e}");
                    return;
                }
            }
        }
    }
}
