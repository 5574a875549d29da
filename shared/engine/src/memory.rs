//! In-memory implementations of every port: for tests, benchmarks and `waymark run` without a
//! database. The scheduler keeps a queue ordered by due time, and the clock can be virtual, so
//! that Waits and back-off take no real time while timestamps still advance.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rand::RngCore;

use crate::history::HistoryEvent;
use crate::ports::*;
use crate::record::ExecutionRecord;
use crate::step::{Effect, Signal, TaskRequest};

#[derive(Default)]
pub struct MemoryStore {
    machines: Mutex<HashMap<String, StateMachine>>,
    executions: Mutex<HashMap<String, (ExecutionRecord, Vec<HistoryEvent>)>>,
}

impl MemoryStore {
    pub fn put_state_machine(&self, sm: StateMachine) {
        self.machines
            .lock()
            .expect("lock")
            .insert(sm.arn.clone(), sm);
    }
}

impl StateMachineStore for MemoryStore {
    async fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>, StoreError> {
        Ok(self.machines.lock().expect("lock").get(arn).cloned())
    }
}

impl ExecutionStore for MemoryStore {
    async fn create(&self, rec: &ExecutionRecord) -> Result<(), StoreError> {
        let mut all = self.executions.lock().expect("lock");
        if all.contains_key(&rec.execution_arn) {
            return Err(StoreError::AlreadyExists(rec.execution_arn.clone()));
        }
        all.insert(rec.execution_arn.clone(), (rec.clone(), Vec::new()));
        Ok(())
    }

    async fn load(&self, arn: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        Ok(self
            .executions
            .lock()
            .expect("lock")
            .get(arn)
            .map(|(r, _)| r.clone()))
    }

    async fn commit(
        &self,
        rec: &ExecutionRecord,
        expected_version: u64,
        events: &[HistoryEvent],
        _outbox: &[Effect],
    ) -> Result<(), StoreError> {
        let mut all = self.executions.lock().expect("lock");
        let Some((stored, history)) = all.get_mut(&rec.execution_arn) else {
            return Err(StoreError::NotFound(rec.execution_arn.clone()));
        };
        if stored.version != expected_version {
            return Err(StoreError::Conflict(rec.execution_arn.clone()));
        }
        *stored = rec.clone();
        history.extend_from_slice(events);
        Ok(())
    }

    async fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        Ok(self
            .executions
            .lock()
            .expect("lock")
            .get(arn)
            .map(|(_, h)| h.clone())
            .unwrap_or_default())
    }
}

/// Signals in due-time order; ties keep the order they were scheduled in.
/// Due time, then scheduling order.
type Queued = Reverse<(DateTime<Utc>, u64, Entry)>;

#[derive(Default)]
pub struct MemoryScheduler {
    queue: Mutex<BinaryHeap<Queued>>,
    seq: AtomicU64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    arn: String,
    signal: String,
}

impl MemoryScheduler {
    /// The next signal due, removed from the queue.
    pub fn pop(&self) -> Option<(DateTime<Utc>, String, Signal)> {
        let Reverse((at, _, e)) = self.queue.lock().expect("lock").pop()?;
        let signal = serde_json::from_str(&e.signal).expect("signals we serialised deserialise");
        Some((at, e.arn, signal))
    }

    pub fn is_empty(&self) -> bool {
        self.queue.lock().expect("lock").is_empty()
    }
}

impl Scheduler for MemoryScheduler {
    async fn schedule(&self, execution_arn: &str, at: DateTime<Utc>, signal: Signal) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            arn: execution_arn.to_string(),
            signal: serde_json::to_string(&signal).expect("signals serialise"),
        };
        self.queue
            .lock()
            .expect("lock")
            .push(Reverse((at, seq, entry)));
    }
}

/// A clock that only moves when told to: Waits take no real time.
pub struct VirtualClock(Mutex<DateTime<Utc>>);

impl VirtualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        VirtualClock(Mutex::new(start))
    }

    pub fn advance_to(&self, t: DateTime<Utc>) {
        let mut now = self.0.lock().expect("lock");
        if t > *now {
            *now = t;
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("lock")
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Ids from the operating system's randomness.
pub struct RandomIds;

impl Ids for RandomIds {
    fn execution_name(&self) -> String {
        uuid_v4(rand::thread_rng().next_u64(), rand::thread_rng().next_u64())
    }

    fn task_token(&self) -> String {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn random_u64(&self) -> u64 {
        rand::thread_rng().next_u64()
    }
}

/// Deterministic ids, for tests and benchmarks.
pub struct SeededIds(AtomicU64);

impl SeededIds {
    pub fn new(seed: u64) -> Self {
        SeededIds(AtomicU64::new(seed))
    }

    fn next(&self) -> u64 {
        let mut z = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Ids for SeededIds {
    fn execution_name(&self) -> String {
        uuid_v4(self.next(), self.next())
    }

    fn task_token(&self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }

    fn random_u64(&self) -> u64 {
        self.next()
    }
}

/// Formats 128 random bits as a version-4 UUID.
pub fn uuid_v4(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// Fails every task: the home has no way to run it. The error says so and names the resource.
pub struct NoTasks;

impl Tasks for NoTasks {
    async fn invoke(&self, _execution_arn: &str, req: &TaskRequest) -> TaskOutcome {
        TaskOutcome::Failed(waymark_asl::Failure::new(
            waymark_asl::error::names::TASK_FAILED,
            format!(
                "Waymark cannot run the resource '{}' here: no task integration is configured for it",
                req.resource
            ),
        ))
    }
}

pub struct NullNotifier;

impl Notifier for NullNotifier {
    async fn status_changed(&self, _rec: &ExecutionRecord) {}
}

/// Time for local runs: `scale` real seconds per second of workflow time. At 0, Waits and
/// back-off take no real time at all, yet timestamps advance as if they had.
pub struct ScaledClock {
    start: DateTime<Utc>,
    real_start: std::time::Instant,
    scale: f64,
    /// Virtual time skipped over (scale 0).
    skipped: Mutex<chrono::Duration>,
}

impl ScaledClock {
    pub fn new(start: DateTime<Utc>, scale: f64) -> Self {
        ScaledClock {
            start,
            real_start: std::time::Instant::now(),
            scale: scale.max(0.0),
            skipped: Mutex::new(chrono::Duration::zero()),
        }
    }

    /// Blocks until `t` (scaled), or jumps to it when the scale is 0.
    pub fn wait_until(&self, t: DateTime<Utc>) {
        let now = self.now();
        if t <= now {
            return;
        }
        if self.scale == 0.0 {
            *self.skipped.lock().expect("lock") += t - now;
        } else {
            let secs = (t - now).num_milliseconds() as f64 / 1000.0 * self.scale;
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let skipped = *self.skipped.lock().expect("lock");
        if self.scale == 0.0 {
            // Real time still passes while we compute; keep it, so event timestamps differ.
            return self.start
                + chrono::Duration::from_std(self.real_start.elapsed()).unwrap_or_default()
                + skipped;
        }
        let real = self.real_start.elapsed().as_secs_f64() / self.scale;
        self.start + chrono::Duration::milliseconds((real * 1000.0) as i64) + skipped
    }
}

/// An engine wholly in memory.
pub type MemoryEngine<T> =
    crate::runner::Engine<MemoryStore, MemoryScheduler, T, NullNotifier, ScaledClock, RandomIds>;

/// Delivers queued signals, in due order, until `arn` has ended or nothing is left to do (it
/// then waits for something from outside, such as a task token).
pub async fn run_until_settled<T: Tasks, I: Ids>(
    engine: &crate::runner::Engine<MemoryStore, MemoryScheduler, T, NullNotifier, ScaledClock, I>,
    arn: &str,
) -> Result<ExecutionRecord, crate::runner::EngineError> {
    loop {
        let rec = engine.describe(arn).await?;
        if rec.status.is_terminal() {
            return Ok(rec);
        }
        let Some((at, target, signal)) = engine.scheduler.pop() else {
            return Ok(rec);
        };
        engine.clock.wait_until(at);
        engine.deliver(&target, signal).await?;
    }
}
