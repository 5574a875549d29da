//! The local runtime: the engine over SQLite, a scheduler loop that fires timers (in real or
//! scaled time), task invocations run off the step path, child executions, and recovery of
//! whatever a killed process left half-done.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, Notify};
use waymark_engine::memory::{RandomIds, ScaledClock};
use waymark_engine::ports::*;
use waymark_engine::record::ExecutionRecord;
use waymark_engine::runner::{Config, Engine, EngineError};
use waymark_engine::step::{Signal, TaskRequest};

use crate::children;
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
    ) -> impl std::future::Future<Output = TaskOutcome> + Send;
}

impl<T: Tasks + 'static> Integrations for T {
    fn invoke(
        &self,
        execution_arn: &str,
        req: &TaskRequest,
    ) -> impl std::future::Future<Output = TaskOutcome> + Send {
        Tasks::invoke(self, execution_arn, req)
    }
}

/// Timers are rows; storing one wakes the loop in case it is now the earliest.
#[derive(Clone)]
pub struct LocalScheduler {
    store: Arc<SqliteStore>,
    wake: Arc<Notify>,
}

impl Scheduler for LocalScheduler {
    async fn schedule(
        &self,
        execution_arn: &str,
        at: DateTime<Utc>,
        signal: Signal,
    ) -> Result<(), StoreError> {
        self.store.schedule(execution_arn, at, signal).await?;
        self.wake.notify_one();
        Ok(())
    }
}

/// Hands every task to the worker loop and returns at once: a slow Lambda never holds up a
/// step, and the answer comes back as a signal.
pub struct LocalTasks {
    tx: mpsc::UnboundedSender<(String, TaskRequest)>,
    inflight: Arc<AtomicUsize>,
    store: Arc<SqliteStore>,
}

impl Tasks for LocalTasks {
    async fn invoke(&self, execution_arn: &str, req: &TaskRequest) -> TaskOutcome {
        if let Some(a) = &req.approval {
            let record = waymark_api::approvals::ApprovalRecord {
                id: a.id.clone(),
                task: waymark_engine::ports::TaskRef {
                    execution_arn: execution_arn.to_string(),
                    frame: req.frame.clone(),
                    seq: req.seq,
                },
                state: req.state.clone(),
                expires: a.expires,
                status: waymark_api::approvals::ApprovalStatus::Pending,
                decided_at: None,
                approver: None,
                comment: None,
            };
            if let Err(e) =
                waymark_api::approvals::ApprovalStore::put_approval(&*self.store, &record).await
            {
                return TaskOutcome::Failed(waymark_asl::Failure::new(
                    waymark_asl::error::names::TASK_FAILED,
                    format!("the approval could not be recorded: {e}"),
                ));
            }
            let url = a
                .links
                .get("Url")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            tracing::info!(target: "waymark::approvals", execution = ?execution_arn, state = ?req.state, url = ?url, "approval requested");
        }
        // Durable before the step's outbox is acknowledged: a crash from here on re-invokes.
        if let Err(e) = self.store.add_inflight(execution_arn, req) {
            return TaskOutcome::Failed(waymark_asl::Failure::new(
                waymark_asl::error::names::TASK_FAILED,
                format!("the task could not be recorded: {e}"),
            ));
        }
        self.dispatch(execution_arn, req)
    }
}

impl LocalTasks {
    fn dispatch(&self, execution_arn: &str, req: &TaskRequest) -> TaskOutcome {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        if self
            .tx
            .send((execution_arn.to_string(), req.clone()))
            .is_err()
        {
            self.inflight.fetch_sub(1, Ordering::SeqCst);
            return TaskOutcome::Failed(waymark_asl::Failure::new(
                waymark_asl::error::names::TASK_FAILED,
                "the local task worker has stopped",
            ));
        }
        TaskOutcome::Pending
    }
}

/// Logs status changes, and ends the `.sync` tasks of parents whose child execution ended.
pub struct LocalNotifier {
    store: Arc<SqliteStore>,
    scheduler: LocalScheduler,
    clock: Arc<ScaledClock>,
}

impl Notifier for LocalNotifier {
    async fn status_changed(&self, rec: &ExecutionRecord) {
        tracing::info!(target: "waymark::executions", execution = ?rec.execution_arn, status = rec.status.as_str(), "execution status");
        if !rec.status.is_terminal() {
            return;
        }
        match self.store.take_child_wait(&rec.execution_arn) {
            Ok(Some((parent, variant))) => {
                let signal = children::parent_signal(rec, &parent, &variant);
                if let Err(e) = self
                    .scheduler
                    .schedule(&parent.execution_arn, self.clock.now(), signal)
                    .await
                {
                    tracing::error!(execution = ?parent.execution_arn, error = ?e.to_string(), "cannot resume");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(execution = ?rec.execution_arn, error = ?e.to_string(), "cannot look up the parent")
            }
        }
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
        let start = match store.last_time()? {
            Some(last) if last > Utc::now() => last,
            _ => Utc::now(),
        };
        let clock = Arc::new(ScaledClock::new(start, opts.wait_scale));
        let scheduler = LocalScheduler {
            store: store.clone(),
            wake: wake.clone(),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let inflight = Arc::new(AtomicUsize::new(0));
        let engine = Arc::new(Engine {
            store: store.clone(),
            scheduler: scheduler.clone(),
            tasks: LocalTasks {
                tx,
                inflight: inflight.clone(),
                store: store.clone(),
            },
            notifier: LocalNotifier {
                store: store.clone(),
                scheduler: scheduler.clone(),
                clock: clock.clone(),
            },
            clock: clock.clone(),
            ids: RandomIds,
            config: opts.config,
            approvals: opts.approvals,
        });
        let weak = Arc::downgrade(&engine);
        let worker = Worker {
            engine: weak,
            integrations: Arc::new(integrations),
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

    /// Finishes what a previous process left half-done: performs unacknowledged outboxes and
    /// starts executions created but never started. Returns how many it touched.
    pub async fn recover(&self) -> Result<usize, EngineError> {
        let mut n = self.engine.recover().await?;
        for (arn, req) in self.store.inflight()? {
            // Still waiting for it? Then invoke it again (tasks run at least once).
            let waiting = self.engine.describe(&arn).await.is_ok_and(|rec| {
                rec.frames.get(&req.frame).is_some_and(|f| {
                    f.seq == req.seq && matches!(f.phase, waymark_engine::record::Phase::Task(_))
                })
            });
            if waiting {
                let _ = self.engine.tasks.dispatch(&arn, &req);
                n += 1;
            } else {
                self.store.remove_inflight(&arn, &req)?;
            }
        }
        for arn in self.store.unstarted_executions()? {
            self.engine.deliver(&arn, Signal::Start).await?;
            n += 1;
        }
        Ok(n)
    }

    /// Delivers the earliest timer if it is due (after advancing virtual time to it when
    /// nothing else is under way). Returns false when there is nothing to do now.
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
        if let Err(e) = self.engine.deliver(&t.execution_arn, t.signal).await {
            tracing::warn!(execution = ?t.execution_arn, error = ?e.to_string(), "signal not delivered");
        }
        self.store.delete_timer(t.id)?;
        self.store.set_last_time(self.clock.now())?;
        Ok(true)
    }

    /// Runs until `arn` has ended, or until nothing more can happen without help from outside
    /// (a task token, say). Waits are taken in scaled time.
    pub async fn run_until_settled(&self, arn: &str) -> Result<ExecutionRecord, EngineError> {
        loop {
            let rec = self.engine.describe(arn).await?;
            if rec.status.is_terminal() {
                return Ok(rec);
            }
            if self.tick(false).await? {
                continue;
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
                Ok(true) => continue,
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

/// Runs tasks off the step path and turns their answers into signals.
struct Worker<I> {
    engine: Weak<LocalEngine>,
    integrations: Arc<I>,
    inflight: Arc<AtomicUsize>,
    wake: Arc<Notify>,
    store: Arc<SqliteStore>,
}

impl<I: Integrations> Worker<I> {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<(String, TaskRequest)>) {
        let me = Arc::new(self);
        while let Some((arn, req)) = rx.recv().await {
            let me = me.clone();
            tokio::spawn(async move {
                me.handle(&arn, req).await;
                me.inflight.fetch_sub(1, Ordering::SeqCst);
                me.wake.notify_one();
            });
        }
    }

    async fn handle(&self, arn: &str, req: TaskRequest) {
        let Some(engine) = self.engine.upgrade() else {
            return;
        };
        let outcome = if children::handles(&req.resource) {
            children::start(&engine, arn, &req).await
        } else {
            self.integrations.invoke(arn, &req).await
        };
        let (frame, seq) = (req.frame.clone(), req.seq);
        let signal = match outcome {
            TaskOutcome::Succeeded(output) => Some(Signal::TaskSucceeded { frame, seq, output }),
            TaskOutcome::Failed(failure) => Some(Signal::TaskFailed {
                frame,
                seq,
                failure,
            }),
            TaskOutcome::Pending => None,
        };
        if let Some(signal) = signal {
            if let Err(e) = engine
                .scheduler
                .schedule(arn, engine.clock.now(), signal)
                .await
            {
                // Left in flight: a restart invokes it again.
                tracing::error!(execution = ?arn, error = ?e.to_string(), "cannot record the answer of a task");
                return;
            }
        }
        // Answered (or its message sent): not to be invoked again after a crash.
        if let Err(e) = self.store.remove_inflight(arn, &req) {
            tracing::error!(execution = ?arn, error = ?e.to_string(), "cannot clear an answered task");
        }
    }
}
