//! In-memory implementations of every port: for tests, benchmarks and `waymark run` without a
//! database. The scheduler keeps a queue ordered by due time, and the clock can be virtual, so
//! that Waits and back-off take no real time while timestamps still advance.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rand::RngCore;

use crate::activity::{Activity, ActivityStore, ActivityTask};
use crate::approval::{ApprovalRecord, ApprovalStatus, ApprovalStore, Decision};
use crate::history::HistoryEvent;
use crate::map_children::ChildExecution;
use crate::ports::*;
use crate::record::ExecutionRecord;
use crate::step::{Approval, Effect, Signal, TaskRequest};
use crate::versions::{Alias, Version, VersionStore};

#[derive(Default)]
pub struct MemoryStore {
    /// Every revision of every state machine, oldest first.
    machines: Mutex<HashMap<String, Vec<StateMachine>>>,
    executions: Mutex<HashMap<String, Entry>>,
    /// By token hash.
    tokens: Mutex<HashMap<String, TaskRef>>,
    tags: Mutex<HashMap<String, Vec<(String, String)>>>,
    child_waits: Mutex<HashMap<String, (TaskRef, String)>>,
    approvals: Mutex<HashMap<String, ApprovalRecord>>,
    /// By machine ARN.
    versions: Mutex<HashMap<String, Vec<Version>>>,
    aliases: Mutex<HashMap<String, std::collections::BTreeMap<String, Alias>>>,
    activities: Mutex<std::collections::BTreeMap<String, Activity>>,
    /// By activity ARN, oldest first.
    activity_tasks: Mutex<HashMap<String, Vec<ActivityTask>>>,
    created: AtomicU64,
    /// Distributed Maps' children, by run and index.
    map_children: Mutex<std::collections::BTreeMap<(String, usize), ChildExecution>>,
    /// STANDARD children's own histories, by the child's ARN.
    child_histories: Mutex<HashMap<String, Vec<HistoryEvent>>>,
}

struct Entry {
    rec: ExecutionRecord,
    history: Vec<HistoryEvent>,
    /// The effects of the last step, until acknowledged.
    outbox: Option<(u64, Vec<Effect>)>,
    order: u64,
}

impl MemoryStore {
    /// Registers a state machine (or a new revision of it) directly.
    pub fn put_state_machine(&self, sm: StateMachine) {
        self.machines
            .lock()
            .expect("lock")
            .entry(sm.arn.clone())
            .or_default()
            .push(sm);
    }
}

/// Offsets as page tokens: enough for a store that lives as long as its process.
fn page<T: Clone>(all: &[T], max: usize, next_token: Option<&str>) -> Result<Page<T>, StoreError> {
    let start = match next_token {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| StoreError::InvalidPageToken(t.to_string()))?,
    };
    let max = max.max(1);
    let items: Vec<T> = all.iter().skip(start).take(max).cloned().collect();
    let next = start + items.len();
    Ok(Page {
        next_token: (next < all.len()).then(|| next.to_string()),
        items,
    })
}

impl StateMachineStore for MemoryStore {
    async fn create_state_machine(&self, sm: &StateMachine) -> Result<(), StoreError> {
        let mut all = self.machines.lock().expect("lock");
        if all.contains_key(&sm.arn) {
            return Err(StoreError::AlreadyExists(sm.arn.clone()));
        }
        all.insert(sm.arn.clone(), vec![sm.clone()]);
        Ok(())
    }

    async fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>, StoreError> {
        Ok(self
            .machines
            .lock()
            .expect("lock")
            .get(arn)
            .and_then(|v| v.last().cloned()))
    }

    async fn get_state_machine_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> Result<Option<StateMachine>, StoreError> {
        Ok(self
            .machines
            .lock()
            .expect("lock")
            .get(arn)
            .and_then(|v| v.iter().find(|m| m.revision == revision).cloned()))
    }

    async fn update_state_machine(&self, sm: &StateMachine) -> Result<(), StoreError> {
        let mut all = self.machines.lock().expect("lock");
        let Some(revs) = all.get_mut(&sm.arn) else {
            return Err(StoreError::NotFound(sm.arn.clone()));
        };
        revs.push(sm.clone());
        Ok(())
    }

    async fn delete_state_machine(&self, arn: &str) -> Result<(), StoreError> {
        self.machines
            .lock()
            .expect("lock")
            .remove(arn)
            .map(|_| ())
            .ok_or_else(|| StoreError::NotFound(arn.to_string()))
    }

    async fn list_state_machines(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<StateMachineSummary>, StoreError> {
        let mut all: Vec<StateMachineSummary> = self
            .machines
            .lock()
            .expect("lock")
            .values()
            .filter_map(|v| v.last().map(StateMachineSummary::from))
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        page(&all, max, next_token)
    }
}

impl ExecutionStore for MemoryStore {
    type Snapshot = ();

    async fn create(&self, rec: &ExecutionRecord) -> Result<(), StoreError> {
        let mut all = self.executions.lock().expect("lock");
        if all.contains_key(&rec.execution_arn) {
            return Err(StoreError::AlreadyExists(rec.execution_arn.clone()));
        }
        let order = self.created.fetch_add(1, Ordering::Relaxed);
        all.insert(
            rec.execution_arn.clone(),
            Entry {
                rec: rec.clone(),
                history: Vec::new(),
                outbox: None,
                order,
            },
        );
        Ok(())
    }

    async fn load(&self, arn: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        Ok(self
            .executions
            .lock()
            .expect("lock")
            .get(arn)
            .map(|e| e.rec.clone()))
    }

    async fn load_for_step(&self, arn: &str) -> Result<Option<Loaded<()>>, StoreError> {
        Ok(self
            .executions
            .lock()
            .expect("lock")
            .get(arn)
            .map(|e| Loaded {
                rec: e.rec.clone(),
                outbox: e.outbox.as_ref().map(|(_, fx)| fx.clone()),
                snapshot: (),
            }))
    }

    async fn commit(&self, _snapshot: (), w: &WriteSet<'_>) -> Result<(), StoreError> {
        let arn = &w.rec.execution_arn;
        let mut all = self.executions.lock().expect("lock");
        let Some(entry) = all.get_mut(arn) else {
            return Err(StoreError::NotFound(arn.clone()));
        };
        if entry.rec.version != w.from_version {
            return Err(StoreError::Conflict(arn.clone()));
        }
        entry.rec = w.rec.clone();
        entry.history.extend_from_slice(w.events);
        entry.outbox = (!w.outbox.is_empty()).then(|| (w.rec.version, w.outbox.to_vec()));
        let mut tokens = self.tokens.lock().expect("lock");
        for t in &w.tokens {
            tokens.insert(t.hash.clone(), t.task.clone());
        }
        let mut children = self.map_children.lock().expect("lock");
        for c in w.children {
            let key = (c.run.run_arn.clone(), c.index);
            let merged = c.to_execution().over(children.remove(&key));
            children.insert(key, merged);
        }
        let mut histories = self.child_histories.lock().expect("lock");
        for e in w.child_events {
            histories
                .entry(e.execution_arn.clone())
                .or_default()
                .push(e.event.clone());
        }
        Ok(())
    }

    async fn ack_outbox(&self, arn: &str, version: u64) -> Result<(), StoreError> {
        if let Some(e) = self.executions.lock().expect("lock").get_mut(arn) {
            if e.outbox.as_ref().is_some_and(|(v, _)| *v == version) {
                e.outbox = None;
            }
        }
        Ok(())
    }

    async fn unsettled(&self) -> Result<Vec<String>, StoreError> {
        let mut arns: Vec<String> = self
            .executions
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, e)| {
                e.outbox.is_some() || (e.rec.version == 0 && !e.rec.status.is_terminal())
            })
            .map(|(arn, _)| arn.clone())
            .collect();
        arns.sort();
        Ok(arns)
    }

    async fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        Ok(self
            .executions
            .lock()
            .expect("lock")
            .get(arn)
            .map(|e| e.history.clone())
            .or_else(|| {
                let histories = self.child_histories.lock().expect("lock");
                histories.get(arn).cloned()
            })
            .unwrap_or_default())
    }

    async fn history_page(
        &self,
        arn: &str,
        reverse: bool,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<HistoryEvent>, StoreError> {
        let mut all = self.history(arn).await?;
        if reverse {
            all.reverse();
        }
        page(&all, max, next_token)
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<ExecutionRecord>, StoreError> {
        let all = self.executions.lock().expect("lock");
        let mut matching: Vec<(&u64, &ExecutionRecord)> = all
            .values()
            .filter(|e| {
                filter
                    .state_machine_arn
                    .as_deref()
                    .is_none_or(|a| e.rec.state_machine_arn == a)
            })
            .filter(|e| filter.status.is_none_or(|s| e.rec.status == s))
            .map(|e| (&e.order, &e.rec))
            .collect();
        matching.sort_by(|a, b| b.0.cmp(a.0));
        let recs: Vec<ExecutionRecord> = matching.into_iter().map(|(_, r)| r.clone()).collect();
        page(&recs, max, next_token)
    }

    async fn find_task(&self, token_hash: &str) -> Result<Option<TaskRef>, StoreError> {
        Ok(self.tokens.lock().expect("lock").get(token_hash).cloned())
    }
}

impl ChildWaitStore for MemoryStore {
    async fn put_child_wait(
        &self,
        child: &str,
        parent: &TaskRef,
        variant: &str,
    ) -> Result<(), StoreError> {
        self.child_waits
            .lock()
            .expect("lock")
            .insert(child.to_string(), (parent.clone(), variant.to_string()));
        Ok(())
    }

    async fn child_wait(&self, child: &str) -> Result<Option<(TaskRef, String)>, StoreError> {
        Ok(self.child_waits.lock().expect("lock").get(child).cloned())
    }

    async fn remove_child_wait(&self, child: &str) -> Result<(), StoreError> {
        self.child_waits.lock().expect("lock").remove(child);
        Ok(())
    }
}

impl ActivityStore for MemoryStore {
    async fn create_activity(&self, a: &Activity) -> Result<bool, StoreError> {
        let mut all = self.activities.lock().expect("lock");
        if all.contains_key(&a.arn) {
            return Ok(false);
        }
        all.insert(a.arn.clone(), a.clone());
        Ok(true)
    }

    async fn activity(&self, arn: &str) -> Result<Option<Activity>, StoreError> {
        Ok(self.activities.lock().expect("lock").get(arn).cloned())
    }

    async fn delete_activity(&self, arn: &str) -> Result<(), StoreError> {
        self.activities.lock().expect("lock").remove(arn);
        self.activity_tasks.lock().expect("lock").remove(arn);
        Ok(())
    }

    async fn list_activities(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<Activity>, StoreError> {
        let all = self.activities.lock().expect("lock");
        let mut sorted: Vec<&Activity> = all.values().collect();
        sorted.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
        let start = match next_token {
            None => 0,
            Some(t) => t
                .parse::<usize>()
                .map_err(|_| StoreError::InvalidPageToken(t.to_string()))?,
        };
        let items: Vec<Activity> = sorted
            .iter()
            .skip(start)
            .take(max)
            .map(|a| (*a).clone())
            .collect();
        let next_token = (start + max < sorted.len()).then(|| (start + max).to_string());
        Ok(Page { items, next_token })
    }

    async fn queue_activity_task(&self, t: &ActivityTask) -> Result<(), StoreError> {
        let mut all = self.activity_tasks.lock().expect("lock");
        let queue = all.entry(t.activity_arn.clone()).or_default();
        if !queue.iter().any(|x| x.key() == t.key()) {
            queue.push(t.clone());
            queue.sort_by_key(|x| x.queued);
        }
        Ok(())
    }

    async fn take_activity_task(
        &self,
        activity_arn: &str,
    ) -> Result<Option<ActivityTask>, StoreError> {
        let mut all = self.activity_tasks.lock().expect("lock");
        Ok(match all.get_mut(activity_arn) {
            Some(q) if !q.is_empty() => Some(q.remove(0)),
            _ => None,
        })
    }
}

impl VersionStore for MemoryStore {
    async fn put_version(&self, v: &Version) -> Result<(), StoreError> {
        let mut all = self.versions.lock().expect("lock");
        let list = all.entry(v.machine_arn.clone()).or_default();
        if list.iter().any(|x| x.number == v.number) {
            return Err(StoreError::AlreadyExists(v.arn()));
        }
        list.push(v.clone());
        list.sort_by_key(|v| std::cmp::Reverse(v.number));
        Ok(())
    }

    async fn versions(&self, machine_arn: &str) -> Result<Vec<Version>, StoreError> {
        let all = self.versions.lock().expect("lock");
        Ok(all.get(machine_arn).cloned().unwrap_or_default())
    }

    async fn delete_version(&self, machine_arn: &str, number: u64) -> Result<(), StoreError> {
        if let Some(list) = self.versions.lock().expect("lock").get_mut(machine_arn) {
            for v in list.iter_mut().filter(|v| v.number == number) {
                v.deleted = true;
            }
        }
        Ok(())
    }

    async fn put_alias(&self, a: &Alias, create: bool) -> Result<(), StoreError> {
        let mut all = self.aliases.lock().expect("lock");
        let map = all.entry(a.machine_arn.clone()).or_default();
        match (create, map.contains_key(&a.name)) {
            (true, true) => return Err(StoreError::AlreadyExists(a.arn())),
            (false, false) => return Err(StoreError::NotFound(a.arn())),
            _ => {}
        }
        map.insert(a.name.clone(), a.clone());
        Ok(())
    }

    async fn aliases(&self, machine_arn: &str) -> Result<Vec<Alias>, StoreError> {
        let all = self.aliases.lock().expect("lock");
        Ok(all
            .get(machine_arn)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn delete_alias(&self, machine_arn: &str, name: &str) -> Result<(), StoreError> {
        if let Some(map) = self.aliases.lock().expect("lock").get_mut(machine_arn) {
            map.remove(name);
        }
        Ok(())
    }
}

impl ApprovalStore for MemoryStore {
    async fn put_approval(&self, rec: &ApprovalRecord) -> Result<(), StoreError> {
        self.approvals
            .lock()
            .expect("lock")
            .entry(rec.id.clone())
            .or_insert_with(|| rec.clone());
        Ok(())
    }

    async fn get_approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        Ok(self.approvals.lock().expect("lock").get(id).cloned())
    }

    async fn decide_approval(&self, id: &str, d: &Decision) -> Result<bool, StoreError> {
        let mut all = self.approvals.lock().expect("lock");
        match all.get_mut(id) {
            Some(a) if a.status == ApprovalStatus::Pending => {
                a.status = if d.approved {
                    ApprovalStatus::Approved
                } else {
                    ApprovalStatus::Rejected
                };
                a.decided_at = Some(d.at);
                a.approver = d.approver.clone();
                a.comment = d.comment.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl MapChildStore for MemoryStore {
    async fn map_child(&self, execution_arn: &str) -> Result<Option<ChildExecution>, StoreError> {
        Ok(self
            .map_children
            .lock()
            .expect("lock")
            .values()
            .find(|c| c.execution_arn == execution_arn)
            .cloned())
    }

    async fn map_children(
        &self,
        map_run_arn: &str,
        status: Option<crate::record::Status>,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<ChildExecution>, StoreError> {
        let all: Vec<ChildExecution> = self
            .map_children
            .lock()
            .expect("lock")
            .values()
            .filter(|c| c.map_run_arn == map_run_arn && status.is_none_or(|s| c.status == s))
            .cloned()
            .collect();
        page(&all, max, next_token)
    }
}

impl TagStore for MemoryStore {
    async fn tags(&self, arn: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .tags
            .lock()
            .expect("lock")
            .get(arn)
            .cloned()
            .unwrap_or_default())
    }

    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), StoreError> {
        let mut all = self.tags.lock().expect("lock");
        let current = all.entry(arn.to_string()).or_default();
        for (k, v) in tags {
            match current.iter_mut().find(|(ck, _)| ck == k) {
                Some(slot) => slot.1 = v.clone(),
                None => current.push((k.clone(), v.clone())),
            }
        }
        Ok(())
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        if let Some(current) = self.tags.lock().expect("lock").get_mut(arn) {
            current.retain(|(k, _)| !keys.contains(k));
        }
        Ok(())
    }
}

/// Due time, then scheduling order.
type Queued = Reverse<(DateTime<Utc>, u64, QueuedWork)>;

/// What the in-memory queue holds for an execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    Signal(Signal),
    /// A dispatched task, for [`crate::runner::Engine::run_task`].
    Task(Box<TaskRequest>),
}

/// The in-memory home's queue: signals due at a time and tasks to run, in due order. It
/// never loses what it holds, so nothing needs settling later.
#[derive(Default)]
pub struct MemoryScheduler {
    queue: Mutex<BinaryHeap<Queued>>,
    seq: AtomicU64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct QueuedWork {
    arn: String,
    /// Serialised, so that the heap needs no ordering of signals.
    work: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
enum WorkRepr {
    Signal(Signal),
    Task(Box<TaskRequest>),
}

impl MemoryScheduler {
    /// The next work due, removed from the queue.
    pub fn pop(&self) -> Option<(DateTime<Utc>, String, Work)> {
        let Reverse((at, _, e)) = self.queue.lock().expect("lock").pop()?;
        let work = match serde_json::from_str(&e.work).expect("work we serialised deserialises") {
            WorkRepr::Signal(s) => Work::Signal(s),
            WorkRepr::Task(t) => Work::Task(t),
        };
        Some((at, e.arn, work))
    }

    pub fn is_empty(&self) -> bool {
        self.queue.lock().expect("lock").is_empty()
    }

    fn push(&self, arn: &str, at: DateTime<Utc>, work: WorkRepr) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let entry = QueuedWork {
            arn: arn.to_string(),
            work: serde_json::to_string(&work).expect("work serialises"),
        };
        self.queue
            .lock()
            .expect("lock")
            .push(Reverse((at, seq, entry)));
    }
}

impl Scheduler for MemoryScheduler {
    async fn schedule(
        &self,
        execution_arn: &str,
        at: DateTime<Utc>,
        signal: Signal,
    ) -> Result<(), StoreError> {
        self.push(execution_arn, at, WorkRepr::Signal(signal));
        Ok(())
    }

    async fn dispatch(&self, execution_arn: &str, req: &TaskRequest) -> Result<(), StoreError> {
        // Due at once; tasks dispatched earlier come first.
        self.push(
            execution_arn,
            DateTime::<Utc>::MIN_UTC,
            WorkRepr::Task(Box::new(req.clone())),
        );
        Ok(())
    }

    async fn settle_later(&self, _execution_arn: &str) -> Result<(), StoreError> {
        Ok(())
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
    async fn status_changed(&self, _rec: &ExecutionRecord) -> Result<(), StoreError> {
        Ok(())
    }

    async fn approval_requested(
        &self,
        _execution_arn: &str,
        _req: &TaskRequest,
        _approval: &Approval,
    ) -> Result<(), StoreError> {
        Ok(())
    }
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

    /// Real seconds per workflow second (0: virtual time).
    pub fn scale(&self) -> f64 {
        self.scale
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
            if let Ok(d) = std::time::Duration::try_from_secs_f64(secs) {
                std::thread::sleep(d);
            }
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

/// Delivers queued signals and runs queued tasks, in due order, until `arn` has ended or
/// nothing is left to do (it then waits for something from outside, such as a task token).
pub async fn run_until_settled<T: Tasks, I: Ids>(
    engine: &crate::runner::Engine<MemoryStore, MemoryScheduler, T, NullNotifier, ScaledClock, I>,
    arn: &str,
) -> Result<ExecutionRecord, crate::runner::EngineError> {
    loop {
        let rec = engine.describe(arn).await?;
        if rec.status.is_terminal() {
            return Ok(rec);
        }
        let Some((at, target, work)) = engine.scheduler.pop() else {
            return Ok(rec);
        };
        match work {
            Work::Signal(signal) => {
                engine.clock.wait_until(at);
                engine.deliver(&target, signal).await?
            }
            Work::Task(req) => engine.run_task(&target, &req).await?,
        }
    }
}
