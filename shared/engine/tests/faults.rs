//! Deterministic fault injection over the engine's protocol, with in-memory ports: every store
//! call and every queue call may fail before it happens or lose its answer after it happened
//! (a crash at that point: the caller sees an error, the message stays and comes back), queue
//! messages are duplicated and delivered out of order, successful deliveries are delivered
//! again, and clients retry StartExecution and SendTaskSuccess when they see an error. Seeded
//! runs of Parallel, Map, Retry/Catch, Wait, callbacks, nested executions and long chains
//! (with a tiny step budget, so that steps yield) must each end with the fault-free run's
//! status, output and events: nothing stuck, nothing lost, nothing doubled.
//!
//! `WAYMARK_FAULT_SEEDS=N` runs N seeds (default 1000); a failure names its seed, and
//! `WAYMARK_FAULT_SEED=S` runs that one alone.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use waymark_asl::parse::{parse_value, MachineType, ParseOptions};
use waymark_asl::Failure;
use waymark_engine::approval::{ApprovalRecord, ApprovalStore, Decision};
use waymark_engine::history::HistoryEvent;
use waymark_engine::memory::{MemoryStore, NullNotifier, SeededIds};
use waymark_engine::ports::*;
use waymark_engine::record::{ExecutionRecord, Status};
use waymark_engine::runner::{Config, Engine, EngineError, TaskAnswer};
use waymark_engine::step::{Signal, TaskRequest};

// ----- the world: randomness, fault counts, the queue, the clock ---------------------------

struct World {
    rng: Mutex<StdRng>,
    faults_on: Mutex<bool>,
    /// Faults injected, by where.
    counts: Mutex<BTreeMap<&'static str, u64>>,
    queue: Mutex<Vec<Msg>>,
    next_id: Mutex<u64>,
    now: Mutex<DateTime<Utc>>,
    /// Callback tokens handed to tasks, for the client to answer.
    tokens: Mutex<Vec<String>>,
}

#[derive(Debug, Clone)]
struct Msg {
    id: u64,
    due: DateTime<Utc>,
    arn: String,
    work: Work,
}

#[derive(Debug, Clone)]
enum Work {
    Signal(Signal),
    Task(Box<TaskRequest>),
    Settle,
}

/// How often each kind of fault strikes while faults are on.
const FAIL_BEFORE: f64 = 0.06;
const LOSE_ANSWER: f64 = 0.06;
const DUPLICATE: f64 = 0.08;
const REDELIVER: f64 = 0.05;

impl World {
    fn new(seed: u64) -> Arc<World> {
        Arc::new(World {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            faults_on: Mutex::new(true),
            counts: Mutex::default(),
            queue: Mutex::default(),
            next_id: Mutex::new(0),
            now: Mutex::new(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()),
            tokens: Mutex::default(),
        })
    }

    fn chance(&self, p: f64) -> bool {
        self.rng.lock().unwrap().gen_bool(p)
    }

    fn below(&self, n: usize) -> usize {
        self.rng.lock().unwrap().gen_range(0..n)
    }

    /// A fault of `kind` with probability `p`, when faults are on.
    fn strike(&self, kind: &'static str, p: f64) -> bool {
        if !*self.faults_on.lock().unwrap() || !self.chance(p) {
            return false;
        }
        *self.counts.lock().unwrap().entry(kind).or_default() += 1;
        true
    }

    fn fail(&self, kind: &'static str, p: f64) -> Result<(), StoreError> {
        if self.strike(kind, p) {
            return Err(StoreError::transient("injected", kind));
        }
        Ok(())
    }

    fn push(&self, due: DateTime<Utc>, arn: &str, work: Work) {
        let mut id = self.next_id.lock().unwrap();
        *id += 1;
        self.queue.lock().unwrap().push(Msg {
            id: *id,
            due,
            arn: arn.to_string(),
            work,
        });
    }

    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }
}

// ----- ports with faults ----------------------------------------------------------------------

struct Store {
    inner: MemoryStore,
    world: Arc<World>,
}

/// A call that may fail before it is made, or lose its answer after.
macro_rules! faulty {
    ($self:ident, $name:literal, $call:expr) => {{
        $self
            .world
            .fail(concat!("store.", $name, ": failed"), FAIL_BEFORE)?;
        let out = $call.await?;
        $self
            .world
            .fail(concat!("store.", $name, ": answer lost"), LOSE_ANSWER)?;
        Ok(out)
    }};
}

impl StateMachineStore for Store {
    async fn create_state_machine(&self, sm: &StateMachine) -> Result<(), StoreError> {
        self.inner.create_state_machine(sm).await
    }
    async fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>, StoreError> {
        faulty!(self, "get_state_machine", self.inner.get_state_machine(arn))
    }
    async fn get_state_machine_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> Result<Option<StateMachine>, StoreError> {
        faulty!(
            self,
            "get_state_machine_revision",
            self.inner.get_state_machine_revision(arn, revision)
        )
    }
    async fn update_state_machine(&self, sm: &StateMachine) -> Result<(), StoreError> {
        self.inner.update_state_machine(sm).await
    }
    async fn delete_state_machine(&self, arn: &str) -> Result<(), StoreError> {
        self.inner.delete_state_machine(arn).await
    }
    async fn list_state_machines(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<StateMachineSummary>, StoreError> {
        self.inner.list_state_machines(max, next_token).await
    }
}

impl ExecutionStore for Store {
    type Snapshot = ();
    async fn create(&self, rec: &ExecutionRecord) -> Result<(), StoreError> {
        faulty!(self, "create", self.inner.create(rec))
    }
    async fn load(&self, arn: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        faulty!(self, "load", self.inner.load(arn))
    }
    async fn load_for_step(&self, arn: &str) -> Result<Option<Loaded<()>>, StoreError> {
        faulty!(self, "load_for_step", self.inner.load_for_step(arn))
    }
    async fn commit(&self, snapshot: (), w: &WriteSet<'_>) -> Result<(), StoreError> {
        faulty!(self, "commit", self.inner.commit(snapshot, w))
    }
    async fn ack_outbox(&self, arn: &str, version: u64) -> Result<(), StoreError> {
        faulty!(self, "ack_outbox", self.inner.ack_outbox(arn, version))
    }
    async fn unsettled(&self) -> Result<Vec<String>, StoreError> {
        self.inner.unsettled().await
    }
    async fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        self.inner.history(arn).await
    }
    async fn history_page(
        &self,
        arn: &str,
        reverse: bool,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<HistoryEvent>, StoreError> {
        self.inner.history_page(arn, reverse, max, next_token).await
    }
    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<ExecutionRecord>, StoreError> {
        self.inner.list_executions(filter, max, next_token).await
    }
    async fn find_task(&self, token_hash: &str) -> Result<Option<TaskRef>, StoreError> {
        faulty!(self, "find_task", self.inner.find_task(token_hash))
    }
}

impl ChildWaitStore for Store {
    async fn put_child_wait(
        &self,
        child: &str,
        parent: &TaskRef,
        variant: &str,
    ) -> Result<(), StoreError> {
        faulty!(
            self,
            "put_child_wait",
            self.inner.put_child_wait(child, parent, variant)
        )
    }
    async fn child_wait(&self, child: &str) -> Result<Option<(TaskRef, String)>, StoreError> {
        faulty!(self, "child_wait", self.inner.child_wait(child))
    }
    async fn remove_child_wait(&self, child: &str) -> Result<(), StoreError> {
        faulty!(
            self,
            "remove_child_wait",
            self.inner.remove_child_wait(child)
        )
    }
}

impl MapChildStore for Store {
    async fn map_child(
        &self,
        execution_arn: &str,
    ) -> Result<Option<waymark_engine::map_children::ChildExecution>, StoreError> {
        faulty!(self, "map_child", self.inner.map_child(execution_arn))
    }
    async fn map_children(
        &self,
        map_run_arn: &str,
        status: Option<Status>,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<waymark_engine::map_children::ChildExecution>, StoreError> {
        faulty!(
            self,
            "map_children",
            self.inner
                .map_children(map_run_arn, status, max, next_token)
        )
    }
}

impl ApprovalStore for Store {
    async fn put_approval(&self, rec: &ApprovalRecord) -> Result<(), StoreError> {
        self.inner.put_approval(rec).await
    }
    async fn get_approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        self.inner.get_approval(id).await
    }
    async fn decide_approval(&self, id: &str, d: &Decision) -> Result<bool, StoreError> {
        self.inner.decide_approval(id, d).await
    }
}

/// Activities are not part of the fault scenarios: the memory store's, as they are.
impl waymark_engine::activity::ActivityStore for Store {
    async fn create_activity(
        &self,
        a: &waymark_engine::activity::Activity,
    ) -> Result<bool, StoreError> {
        self.inner.create_activity(a).await
    }
    async fn activity(
        &self,
        arn: &str,
    ) -> Result<Option<waymark_engine::activity::Activity>, StoreError> {
        self.inner.activity(arn).await
    }
    async fn delete_activity(&self, arn: &str) -> Result<(), StoreError> {
        self.inner.delete_activity(arn).await
    }
    async fn list_activities(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<waymark_engine::activity::Activity>, StoreError> {
        self.inner.list_activities(max, next_token).await
    }
    async fn queue_activity_task(
        &self,
        t: &waymark_engine::activity::ActivityTask,
    ) -> Result<(), StoreError> {
        self.inner.queue_activity_task(t).await
    }
    async fn take_activity_task(
        &self,
        activity_arn: &str,
    ) -> Result<Option<waymark_engine::activity::ActivityTask>, StoreError> {
        self.inner.take_activity_task(activity_arn).await
    }
}

/// The queue: a message may not be stored, be stored with its answer lost, or be stored
/// twice.
struct Queue(Arc<World>);

impl Queue {
    fn put(
        &self,
        kind: &'static str,
        due: DateTime<Utc>,
        arn: &str,
        work: Work,
    ) -> Result<(), StoreError> {
        let w = &self.0;
        w.fail(kind, FAIL_BEFORE)?;
        w.push(due, arn, work.clone());
        if w.strike("queue: duplicated", DUPLICATE) {
            w.push(due, arn, work);
        }
        w.fail("queue: answer lost", LOSE_ANSWER)
    }
}

impl Scheduler for Queue {
    async fn schedule(
        &self,
        arn: &str,
        at: DateTime<Utc>,
        signal: Signal,
    ) -> Result<(), StoreError> {
        self.put("queue.schedule: failed", at, arn, Work::Signal(signal))
    }
    async fn dispatch(&self, arn: &str, req: &TaskRequest) -> Result<(), StoreError> {
        let now = self.0.now();
        self.put(
            "queue.dispatch: failed",
            now,
            arn,
            Work::Task(Box::new(req.clone())),
        )
    }
    async fn settle_later(&self, arn: &str) -> Result<(), StoreError> {
        let due = self.0.now() + Duration::seconds(60);
        self.put("queue.settle_later: failed", due, arn, Work::Settle)
    }
}

struct Clock(Arc<World>);

impl waymark_engine::ports::Clock for Clock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

/// Tasks by function name: `echo` answers its parameters, `fail` fails; callback tasks hand
/// their token to the client.
struct Tasks(Arc<World>);

impl waymark_engine::ports::Tasks for Tasks {
    async fn invoke(&self, _arn: &str, req: &TaskRequest) -> TaskOutcome {
        if req.wait_for_token {
            self.0.tokens.lock().unwrap().push(req.token.clone());
            return TaskOutcome::Pending;
        }
        match req.parameters["FunctionName"].as_str() {
            Some("fail") => TaskOutcome::Failed(Failure::new("Boom", "it always fails")),
            _ => TaskOutcome::Succeeded(json!({"echo": req.parameters["Payload"]})),
        }
    }
}

type FaultEngine = Engine<Store, Queue, Tasks, NullNotifier, Clock, SeededIds>;

// ----- the workflows ------------------------------------------------------------------------

const LAMBDA: &str = "arn:aws:states:::lambda:invoke";

fn task(function: &str, next: Option<&str>) -> Value {
    let mut t = json!({"Type": "Task", "Resource": LAMBDA,
        "Parameters": {"FunctionName": function, "Payload.$": "$"}, "ResultSelector": {"r.$": "$.echo"}});
    match next {
        Some(n) => t["Next"] = json!(n),
        None => t["End"] = json!(true),
    }
    t
}

fn machines() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "parallel",
            json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "A1", "States": {"A1": task("echo", Some("A2")), "A2": task("echo", None)}},
                {"StartAt": "B1", "States": {"B1": task("echo", None)}}
            ]}}}),
            json!({"p": 1}),
        ),
        (
            "map",
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "End": true,
                "ItemProcessor": {"StartAt": "C", "States": {
                    "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 3, "Next": "W"}], "Default": "T"},
                    "W": {"Type": "Wait", "Seconds": 5, "Next": "T"},
                    "T": task("echo", None)}}}}}),
            json!({"items": [1, 2, 3, 4, 5, 6]}),
        ),
        (
            "retry",
            json!({"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": LAMBDA, "Parameters": {"FunctionName": "fail"},
                      "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2}],
                      "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recovered"}],
                      "End": true},
                "Recovered": {"Type": "Pass", "End": true}}}),
            json!({"r": 1}),
        ),
        (
            "callback",
            json!({"StartAt": "Ask", "States": {
                "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                        "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
                        "ResultPath": "$.answer", "Next": "Done"},
                "Done": {"Type": "Pass", "End": true}}}),
            json!({"c": 1}),
        ),
        (
            "nested",
            json!({"StartAt": "Run", "States": {"Run": {"Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child", "Input": {"from.$": "$.n"}},
                "ResultSelector": {"out.$": "$.Output"}, "End": true}}}),
            json!({"n": 7}),
        ),
        (
            "loop",
            json!({"StartAt": "Inc", "States": {
                "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Check"},
                "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 40, "Next": "Done"}], "Default": "Inc"},
                "Done": {"Type": "Succeed"}}}),
            json!({"n": 0}),
        ),
    ]
}

fn child_machine() -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "T"}, "T": task("echo", None)}})
}

fn register(e: &FaultEngine, name: &str, def: &Value) -> StateMachine {
    let parsed = parse_value(def, &ParseOptions::default()).expect("a valid definition");
    let sm = StateMachine::new(
        e.config.state_machine_arn(name),
        name.to_string(),
        def.to_string(),
        Arc::new(parsed.definition),
        MachineType::Standard,
        e.config.role_arn.clone(),
        e.clock.0.now(),
    );
    e.store.inner.put_state_machine(sm.clone());
    sm
}

fn engine(world: &Arc<World>) -> FaultEngine {
    Engine {
        store: Store {
            inner: MemoryStore::default(),
            world: world.clone(),
        },
        scheduler: Queue(world.clone()),
        tasks: Tasks(world.clone()),
        notifier: NullNotifier,
        clock: Clock(world.clone()),
        ids: SeededIds::new(1),
        config: Config {
            // Tiny, so that long chains and Map starts yield and resume under faults too.
            step_budget: 5,
            budget_per_frame: 0,
            ..Config::default()
        },
        approvals: None,
    }
}

// ----- the driver ---------------------------------------------------------------------------

/// What a run came to, per execution (children included): status, output, and how many
/// events of each type.
type Outcome = BTreeMap<String, (Status, Option<Value>, BTreeMap<String, usize>)>;

struct Report {
    outcome: Outcome,
    executions: usize,
    deliveries: u64,
}

/// Runs every workflow once: faults for the first `fault_steps` deliveries, then none, until
/// nothing is left to do. Panics, naming the seed, when something is malformed or stuck.
async fn run(seed: u64, faulty: bool) -> (Report, BTreeMap<&'static str, u64>) {
    let world = World::new(seed);
    *world.faults_on.lock().unwrap() = faulty;
    let e = engine(&world);
    register(&e, "child", &child_machine());
    let mut starts: Vec<(StateMachine, Value)> = machines()
        .iter()
        .map(|(name, def, input)| (register(&e, name, def), input.clone()))
        .collect();
    let fault_steps = 400;
    let mut deliveries = 0u64;
    let mut idle_rounds = 0;
    loop {
        if deliveries == fault_steps {
            *world.faults_on.lock().unwrap() = false;
        }
        // Clients: start what is not started yet, answer a waiting callback now and then.
        let mut pending = Vec::new();
        for (sm, input) in starts.drain(..) {
            match e.start_execution(&sm, Some("run"), input.clone()).await {
                Ok(_) | Err(EngineError::ExecutionAlreadyExists(_)) => {}
                Err(err) if err.is_retryable() => pending.push((sm, input)),
                Err(err) => panic!("seed {seed}: start of {}: {err}", sm.name),
            }
        }
        starts = pending;
        let token = {
            let tokens = world.tokens.lock().unwrap();
            (!tokens.is_empty() && world.chance(0.3))
                .then(|| tokens[world.below(tokens.len())].clone())
        };
        if let Some(token) = token {
            match e
                .answer_task(&token, TaskAnswer::Success(json!({"approved": true})))
                .await
            {
                Ok(()) | Err(EngineError::TaskTimedOut) => {
                    world.tokens.lock().unwrap().retain(|t| *t != token)
                }
                Err(err) if err.is_retryable() => {}
                Err(err) => panic!("seed {seed}: answer: {err}"),
            }
        }
        // The queue: a due message, not always the first.
        let msg = {
            let mut q = world.queue.lock().unwrap();
            q.sort_by_key(|m| (m.due, m.id));
            let now = world.now();
            let due = q.iter().take_while(|m| m.due <= now).count();
            if due == 0 {
                match q.first() {
                    // Time moves on to the next message only when nothing else can happen.
                    Some(m) if starts.is_empty() && world.tokens.lock().unwrap().is_empty() => {
                        *world.now.lock().unwrap() = m.due;
                        None
                    }
                    _ => None,
                }
            } else {
                let pick = if faulty { world.below(due.min(4)) } else { 0 };
                Some(q.remove(pick))
            }
        };
        let Some(msg) = msg else {
            let quiet = world.queue.lock().unwrap().is_empty()
                && starts.is_empty()
                && world.tokens.lock().unwrap().is_empty();
            if quiet {
                break;
            }
            idle_rounds += 1;
            assert!(idle_rounds < 100_000, "seed {seed}: no progress");
            continue;
        };
        deliveries += 1;
        assert!(
            deliveries < 50_000,
            "seed {seed}: stuck after {deliveries} deliveries"
        );
        let done = match &msg.work {
            Work::Signal(s) => e.deliver(&msg.arn, s.clone()).await,
            Work::Task(req) => e.run_task(&msg.arn, req).await,
            Work::Settle => e.settle(&msg.arn).await,
        };
        match done {
            Ok(()) | Err(EngineError::ExecutionDoesNotExist(_)) => {
                if world.strike("queue: delivered again", REDELIVER) {
                    world.queue.lock().unwrap().push(msg);
                }
            }
            Err(err) if err.is_retryable() => {
                // The consumer "crashed": the message comes back after its visibility timeout.
                let mut back = msg;
                back.due = world.now() + Duration::seconds(1);
                world.queue.lock().unwrap().push(back);
            }
            Err(err) => panic!("seed {seed}: {err}"),
        }
    }
    let mut outcome = Outcome::new();
    let all = e
        .store
        .inner
        .list_executions(&ExecutionFilter::default(), 1000, None)
        .await
        .unwrap();
    for rec in all.items {
        let rec = e
            .store
            .inner
            .load(&rec.execution_arn)
            .await
            .unwrap()
            .unwrap();
        let history = e.store.inner.history(&rec.execution_arn).await.unwrap();
        check_history(seed, &rec, &history);
        let mut counts = BTreeMap::new();
        for ev in &history {
            *counts.entry(ev.event_type.to_string()).or_default() += 1;
        }
        outcome.insert(
            rec.execution_arn.clone(),
            (rec.status, rec.output.clone(), counts),
        );
    }
    let executions = outcome.len();
    let counts = world.counts.lock().unwrap().clone();
    (
        Report {
            outcome,
            executions,
            deliveries,
        },
        counts,
    )
}

/// A well-formed history: ids 1..n, each pointing back, one start, one end, last.
fn check_history(seed: u64, rec: &ExecutionRecord, h: &[HistoryEvent]) {
    let arn = &rec.execution_arn;
    assert!(
        rec.status.is_terminal(),
        "seed {seed}: {arn} is stuck {:?}",
        rec.status
    );
    for (i, ev) in h.iter().enumerate() {
        assert_eq!(ev.id, i as u64 + 1, "seed {seed}: {arn}: event ids");
        assert!(
            ev.previous_event_id < ev.id,
            "seed {seed}: {arn}: previousEventId"
        );
    }
    assert_eq!(
        h.first().map(|e| e.event_type.as_ref()),
        Some("ExecutionStarted")
    );
    let ends = h
        .iter()
        .filter(|e| e.event_type.starts_with("Execution") && e.event_type != "ExecutionStarted")
        .count();
    assert_eq!(ends, 1, "seed {seed}: {arn}: one end");
    assert!(h.last().unwrap().event_type.starts_with("Execution"));
}

#[test]
fn every_execution_ends_as_without_faults() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let seeds: Vec<u64> = match std::env::var("WAYMARK_FAULT_SEED") {
        Ok(s) => vec![s.parse().expect("a seed")],
        Err(_) => {
            let n = std::env::var("WAYMARK_FAULT_SEEDS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1000);
            (1..=n).collect()
        }
    };
    rt.block_on(async {
        let (reference, _) = run(0, false).await;
        assert_eq!(reference.executions, 7, "six workflows and one child");
        for (arn, (status, output, _)) in &reference.outcome {
            assert_eq!(*status, Status::Succeeded, "{arn} without faults: {output:?}");
        }
        let mut faults: BTreeMap<&'static str, u64> = BTreeMap::new();
        let (mut executions, mut deliveries) = (0, 0);
        for &seed in &seeds {
            let (report, counts) = run(seed, true).await;
            assert_eq!(
                report.outcome.keys().collect::<Vec<_>>(),
                reference.outcome.keys().collect::<Vec<_>>(),
                "seed {seed}: the same executions"
            );
            for (arn, got) in &report.outcome {
                assert_eq!(got, &reference.outcome[arn], "seed {seed}: {arn}");
            }
            executions += report.executions;
            deliveries += report.deliveries;
            for (k, v) in counts {
                *faults.entry(k).or_default() += v;
            }
        }
        let total: u64 = faults.values().sum();
        eprintln!(
            "fault injection: {} seeds, {executions} executions, {deliveries} deliveries, {total} faults; stuck 0, lost 0, doubled 0",
            seeds.len()
        );
        for (k, v) in &faults {
            eprintln!("  {k}: {v}");
        }
        assert!(total > 0, "faults were injected");
    });
}
