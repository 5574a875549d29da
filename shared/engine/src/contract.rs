//! The store contract: one suite every execution store must pass (in memory, SQLite,
//! DynamoDB), so that the stores cannot drift apart. Each home's tests call [`check`] with a
//! fresh store; the engine's own tests run it over [`crate::memory::MemoryStore`].
//!
//! What it holds a store to: a commit lands whole or not at all, only on the version it was
//! decided from; the stored outbox is the last step's until acknowledged, and an
//! acknowledgement of an older version leaves a newer one alone; callback tokens are found by
//! hash and other tasks' tokens are not; a commit repeated after it landed is a conflict and
//! writes nothing twice; records read back exactly as written (frames, fan-outs, results);
//! histories and listings page as the API pages them; child waits and approvals.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use waymark_asl::parse::{parse_value, MachineType, ParseOptions};

use crate::activity::{Activity, ActivityStore, ActivityTask};
use crate::approval::{ApprovalRecord, ApprovalStatus, ApprovalStore, Decision};
use crate::history::{self, HistoryEvent};
use crate::ports::*;
use crate::record::{
    child_frame_id, token_hash, ExecutionRecord, Fanout, Frame, Frames, MachineTypeRepr, Phase,
    Status, TaskPhase,
};
use crate::step::{Effect, TaskRequest, TimerKind};
use crate::versions::{Alias, Route, Version, VersionStore};

/// Everything a store of a home implements.
pub trait ContractStore:
    ExecutionStore + StateMachineStore + ChildWaitStore + ApprovalStore + VersionStore + ActivityStore
{
}

impl<
        T: ExecutionStore
            + StateMachineStore
            + ChildWaitStore
            + ApprovalStore
            + VersionStore
            + ActivityStore,
    > ContractStore for T
{
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
}

fn machine(name: &str) -> StateMachine {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let parsed = parse_value(&def, &ParseOptions::default()).expect("a valid definition");
    StateMachine::new(
        format!("arn:aws:states:us-east-1:123456789012:stateMachine:{name}"),
        name.to_string(),
        def.to_string(),
        Arc::new(parsed.definition),
        MachineType::Standard,
        "arn:aws:iam::123456789012:role/r".into(),
        t0(),
    )
}

fn record(sm: &StateMachine, name: &str) -> ExecutionRecord {
    ExecutionRecord {
        execution_arn: format!(
            "arn:aws:states:us-east-1:123456789012:execution:{}:{name}",
            sm.name
        ),
        name: name.to_string(),
        state_machine_arn: sm.arn.clone(),
        state_machine_name: sm.name.clone(),
        revision: sm.revision,
        machine_type: MachineTypeRepr::Standard,
        role_arn: sm.role_arn.clone(),
        input: json!({"name": name, "n": [1, 2, 3]}),
        start_time: t0(),
        status: Status::Running,
        output: None,
        failure: None,
        stop_time: None,
        redrive_count: 0,
        version: 0,
        next_event_id: 1,
        next_fanout: 0,
        turn: 0,
        frames: Frames::new(),
        redrive_point: None,
        kept: None,
        test_case: None,
        version_arn: None,
        alias_arn: None,
        map_runs: Vec::new(),
    }
}

fn frame(state: &str, parent: Option<&str>, index: usize, phase: Phase) -> Frame {
    Frame {
        scope: Vec::new(),
        parent: parent.map(str::to_string),
        index,
        map_item: None,
        state: state.to_string(),
        input: json!({"at": state, "index": index}),
        entered_event_id: 1,
        entered_time: t0(),
        last_event_id: 1,
        seq: 1,
        phase,
        retry_counts: vec![0],
        vars: Default::default(),
        silent: false,
        own_history: None,
    }
}

fn event(id: u64, kind: &str) -> HistoryEvent {
    let d = history::state_entered(kind, &format!("S{id}"), &json!({"id": id}));
    history::finish(d, id, id - 1, t0() + Duration::seconds(id as i64))
}

fn invoke(frame: &str, seq: u64, token: &str, wait_for_token: bool) -> Effect {
    Effect::Invoke(Box::new(TaskRequest {
        frame: frame.to_string(),
        seq,
        state: "T".into(),
        resource: "arn:aws:states:::lambda:invoke".into(),
        parameters: json!({"x": 1}),
        token: token.to_string(),
        wait_for_token,
        timeout_seconds: Some(60),
        heartbeat_seconds: None,
        credentials: None,
        context: Value::Null,
        test_case: None,
        approval: None,
        job: None,
        reader: None,
        writer: None,
    }))
}

/// The next version of `rec`, with `events` appended, as the engine would commit it.
fn advance(
    rec: &ExecutionRecord,
    events: u64,
    change: impl FnOnce(&mut ExecutionRecord),
) -> (ExecutionRecord, Vec<HistoryEvent>) {
    let mut next = rec.clone();
    change(&mut next);
    let evs: Vec<HistoryEvent> = (0..events)
        .map(|i| event(rec.next_event_id + i, "Pass"))
        .collect();
    next.next_event_id += events;
    next.version = rec.version + 1;
    (next, evs)
}

async fn commit<S: ContractStore>(
    store: &S,
    prev: &ExecutionRecord,
    next: &ExecutionRecord,
    events: &[HistoryEvent],
    outbox: &[Effect],
) -> Result<(), StoreError> {
    let loaded = store
        .load_for_step(&prev.execution_arn)
        .await?
        .expect("the execution exists");
    let w = WriteSet::diff(prev, next, events, outbox, t0());
    store.commit(loaded.snapshot, &w).await
}

fn same(a: &ExecutionRecord, b: &ExecutionRecord, what: &str) {
    assert_eq!(
        serde_json::to_value(a).unwrap(),
        serde_json::to_value(b).unwrap(),
        "{what}: the record reads back as written"
    );
}

/// Runs the whole contract against `store`, which must be empty. Panics, naming the rule,
/// on the first breach.
pub async fn check<S: ContractStore>(store: &S) {
    creates_and_conflicts(store).await;
    kept_records_are_only_a_hint(store).await;
    outboxes_and_tokens(store).await;
    frames_fanouts_and_results(store).await;
    paging(store).await;
    long_history_pages(store).await;
    child_waits_and_approvals(store).await;
    versions_and_aliases(store).await;
    activities_and_their_queues(store).await;
}

/// The contract of a store that keeps distributed Maps' children ([`MapChildStore`]):
/// children written with a step's commit (or, for a store that
/// takes them from the outbox, after it, twice to show it is idempotent), ended over their
/// start (keeping its input and start), read by ARN and listed by run in index order, a page
/// at a time, by stored status. STANDARD children's own histories are kept under their ARNs.
pub async fn check_map_children<S: ContractStore + MapChildStore>(store: &S) {
    use crate::map_children::{ChildExecution, ChildUpdate};

    let sm = machine("fanned");
    store.create_state_machine(&sm).await.unwrap();
    let rec = record(&sm, "parent");
    store.create(&rec).await.unwrap();
    let run = "arn:aws:states:us-east-1:123456789012:mapRun:fanned:parent/Each:0".to_string();
    let names = std::sync::Arc::new(crate::map_children::RunNames::new(
        &rec.execution_arn,
        "Each",
        &run,
    ));
    let child = |index: usize, status: Status| ChildUpdate {
        run: names.clone(),
        index,
        status,
        start: t0() + Duration::seconds(index as i64),
        stop: None,
        input: Some(json!({"item": index})),
        output: None,
        failure: None,
        item_count: 1,
    };
    let started: Vec<ChildUpdate> = (0..3).map(|i| child(i, Status::Running)).collect();
    // STANDARD children's own histories, interleaved in a step as their frames ran.
    let event = |index: usize, id: u64| crate::map_children::ChildEvent {
        execution_arn: started[index].execution_arn(),
        map_run_arn: run.clone(),
        index,
        event: crate::history::finish(
            crate::history::execution_started(&json!({"item": index}), "role"),
            id,
            id - 1,
            t0(),
        ),
    };
    let first_events = [event(0, 1), event(1, 1), event(0, 2)];
    let (v1, _) = advance(&rec, 0, |_| {});
    let loaded = store
        .load_for_step(&rec.execution_arn)
        .await
        .unwrap()
        .unwrap();
    commit_children(
        store,
        loaded.snapshot,
        WriteSet::diff(&rec, &v1, &[], &[], t0()),
        &started,
        &first_events,
    )
    .await;

    // Child 1 ends, written without its input and with a later start: the first stay.
    let mut ended = child(1, Status::Succeeded);
    ended.input = None;
    ended.start = t0() + Duration::seconds(60);
    ended.stop = Some(t0() + Duration::seconds(61));
    ended.output = Some(json!("done"));
    let mut failed = child(2, Status::Failed);
    failed.input = None;
    failed.failure = Some(waymark_asl::Failure::new("E", "why"));
    let ends = vec![ended.clone(), failed];
    let (v2, _) = advance(&v1, 0, |_| {});
    let loaded = store
        .load_for_step(&rec.execution_arn)
        .await
        .unwrap()
        .unwrap();
    commit_children(
        store,
        loaded.snapshot,
        WriteSet::diff(&v1, &v2, &[], &[], t0()),
        &ends,
        &[event(1, 2)],
    )
    .await;
    {
        let ids = |events: Vec<HistoryEvent>| events.iter().map(|e| e.id).collect::<Vec<_>>();
        for index in [0, 1] {
            let arn = started[index].execution_arn();
            assert_eq!(
                ids(store.history(&arn).await.unwrap()),
                [1, 2],
                "child {index}"
            );
            let page = store.history_page(&arn, true, 1, None).await.unwrap();
            assert_eq!(ids(page.items), [2], "newest first");
            assert!(page.next_token.is_some());
        }
        let none = store.history(&started[2].execution_arn()).await.unwrap();
        assert!(none.is_empty(), "child 2 recorded no event");
        let parent = store.history(&rec.execution_arn).await.unwrap();
        assert!(parent.is_empty(), "children's events are not the parent's");
    }

    let got = store
        .map_child(&ended.execution_arn())
        .await
        .unwrap()
        .expect("the child is kept");
    let want = ChildExecution {
        input: Some(json!({"item": 1})),
        start: t0() + Duration::seconds(1),
        ..ended.to_execution()
    };
    assert_eq!(
        got, want,
        "an end is written over its start, keeping input and start"
    );
    assert_eq!(store.map_child("arn:nope").await.unwrap(), None);
    let unknown = format!("{}{}", names.execution_prefix, names.name(9));
    assert_eq!(
        store.map_child(&unknown).await.unwrap(),
        None,
        "never started"
    );

    let first = store.map_children(&run, None, 2, None).await.unwrap();
    let indexes = |p: &Page<ChildExecution>| p.items.iter().map(|c| c.index).collect::<Vec<_>>();
    assert_eq!(indexes(&first), [0, 1], "in index order");
    let rest = store
        .map_children(&run, None, 2, first.next_token.as_deref())
        .await
        .unwrap();
    assert_eq!(indexes(&rest), [2]);
    assert_eq!(rest.next_token, None);
    assert_eq!(
        rest.items[0].failure.as_ref().unwrap().cause.as_deref(),
        Some("why")
    );
    let running = store
        .map_children(&run, Some(Status::Running), 10, None)
        .await
        .unwrap();
    assert_eq!(indexes(&running), [0], "by stored status");
    let other = store
        .map_children("arn:other", None, 10, None)
        .await
        .unwrap();
    assert!(other.items.is_empty(), "only the run's own");
}

/// Commits a step with children as the engine does: in the commit, or after it through the
/// outbox (performed twice here: a writer may die before acknowledging it).
async fn commit_children<S: ContractStore>(
    store: &S,
    snapshot: S::Snapshot,
    mut w: WriteSet<'_>,
    children: &[crate::map_children::ChildUpdate],
    events: &[crate::map_children::ChildEvent],
) {
    if store.children_in_commit() {
        w.children = children;
        w.child_events = events;
        store.commit(snapshot, &w).await.unwrap();
    } else {
        store.commit(snapshot, &w).await.unwrap();
        let summaries: Vec<_> = children.iter().map(|c| c.to_execution()).collect();
        store.put_map_children(&summaries, events).await.unwrap();
        store.put_map_children(&summaries, events).await.unwrap();
    }
}

async fn activities_and_their_queues<S: ContractStore>(store: &S) {
    let arn = |n: &str| format!("arn:aws:states:us-east-1:123456789012:activity:{n}");
    let activity = |n: &str| Activity {
        arn: arn(n),
        name: n.to_string(),
        created: t0(),
    };
    for n in ["review", "approve", "ship"] {
        assert!(
            store.create_activity(&activity(n)).await.unwrap(),
            "{n} is new"
        );
    }
    let mut again = activity("review");
    again.created = t0() + Duration::seconds(5);
    assert!(
        !store.create_activity(&again).await.unwrap(),
        "an activity is created once"
    );
    assert_eq!(
        store.activity(&arn("review")).await.unwrap(),
        Some(activity("review")),
        "the first one stays"
    );
    assert_eq!(store.activity(&arn("nope")).await.unwrap(), None);
    let first = store.list_activities(2, None).await.unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["approve", "review"],
        "in name order"
    );
    let rest = store
        .list_activities(2, first.next_token.as_deref())
        .await
        .unwrap();
    assert_eq!(rest.items, vec![activity("ship")]);
    assert_eq!(rest.next_token, None);

    let task = |n: u64| ActivityTask {
        activity_arn: arn("review"),
        execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:m:e{n}"),
        frame: String::new(),
        seq: n,
        token: format!("token-{n}"),
        input: json!({"n": n}),
        queued: t0() + Duration::seconds(n as i64),
    };
    assert_eq!(
        store.take_activity_task(&arn("review")).await.unwrap(),
        None
    );
    for n in [1, 2, 1, 3] {
        store.queue_activity_task(&task(n)).await.unwrap();
    }
    let mut taken = Vec::new();
    while let Some(t) = store.take_activity_task(&arn("review")).await.unwrap() {
        taken.push(t);
    }
    assert_eq!(
        taken,
        vec![task(1), task(2), task(3)],
        "oldest first, each task once however often it was queued"
    );
    assert_eq!(
        store.take_activity_task(&arn("approve")).await.unwrap(),
        None
    );
    // A redriven execution's task: the same frame and sequence, a new token.
    let mut redriven = task(1);
    redriven.token = "token-1-again".into();
    store.queue_activity_task(&redriven).await.unwrap();
    assert_eq!(
        store.take_activity_task(&arn("review")).await.unwrap(),
        Some(redriven),
        "a task with a new token is queued again"
    );
    store.queue_activity_task(&task(4)).await.unwrap();
    store.delete_activity(&arn("review")).await.unwrap();
    store.delete_activity(&arn("review")).await.unwrap();
    assert_eq!(store.activity(&arn("review")).await.unwrap(), None);
    assert_eq!(
        store.take_activity_task(&arn("review")).await.unwrap(),
        None,
        "a deleted activity's queue goes with it"
    );
}

async fn versions_and_aliases<S: ContractStore>(store: &S) {
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:contract-v";
    let other = "arn:aws:states:us-east-1:123456789012:stateMachine:contract-w";
    assert!(
        store.versions(arn).await.unwrap().is_empty(),
        "no versions yet"
    );
    let version = |n: u64, description: Option<&str>| Version {
        machine_arn: arn.into(),
        number: n,
        revision: n + 10,
        description: description.map(str::to_string),
        created: t0() + Duration::seconds(n as i64),
        deleted: false,
    };
    for n in 1..=3 {
        store
            .put_version(&version(n, (n == 2).then_some("second")))
            .await
            .unwrap();
    }
    store
        .put_version(&Version {
            machine_arn: other.into(),
            ..version(1, None)
        })
        .await
        .unwrap();
    assert!(
        matches!(
            store.put_version(&version(2, None)).await,
            Err(StoreError::AlreadyExists(_))
        ),
        "a version number is taken once"
    );
    let got = store.versions(arn).await.unwrap();
    assert_eq!(
        got.iter().map(|v| v.number).collect::<Vec<_>>(),
        [3, 2, 1],
        "newest first, this machine's only"
    );
    assert_eq!(
        got[1],
        version(2, Some("second")),
        "a version reads back as written"
    );
    store.delete_version(arn, 2).await.unwrap();
    store.delete_version(arn, 2).await.unwrap();
    store.delete_version(arn, 7).await.unwrap();
    let got = store.versions(arn).await.unwrap();
    assert_eq!(
        got.iter()
            .map(|v| (v.number, v.deleted))
            .collect::<Vec<_>>(),
        [(3, false), (2, true), (1, false)],
        "a deleted version stays, marked, so that its number is not given again"
    );
    assert!(
        matches!(
            store.put_version(&version(2, None)).await,
            Err(StoreError::AlreadyExists(_))
        ),
        "nor taken by a new version"
    );

    let alias = |name: &str, routing: Vec<Route>| Alias {
        machine_arn: arn.into(),
        name: name.into(),
        description: Some(format!("{name} alias")),
        routing,
        created: t0(),
        updated: t0(),
    };
    let one = vec![Route {
        version: 1,
        weight: 100,
    }];
    store
        .put_alias(&alias("prod", one.clone()), true)
        .await
        .unwrap();
    store
        .put_alias(&alias("beta", one.clone()), true)
        .await
        .unwrap();
    assert!(
        matches!(
            store.put_alias(&alias("prod", one.clone()), true).await,
            Err(StoreError::AlreadyExists(_))
        ),
        "an alias name is taken once"
    );
    assert!(
        matches!(
            store.put_alias(&alias("gamma", one.clone()), false).await,
            Err(StoreError::NotFound(_))
        ),
        "only an existing alias is replaced"
    );
    let split = vec![
        Route {
            version: 3,
            weight: 80,
        },
        Route {
            version: 1,
            weight: 20,
        },
    ];
    let mut updated = alias("prod", split);
    updated.updated = t0() + Duration::seconds(9);
    store.put_alias(&updated, false).await.unwrap();
    let got = store.aliases(arn).await.unwrap();
    assert_eq!(
        got.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["beta", "prod"],
        "aliases in name order"
    );
    assert_eq!(got[1], updated, "an alias reads back as written");
    assert!(store.aliases(other).await.unwrap().is_empty());
    store.delete_alias(arn, "beta").await.unwrap();
    store.delete_alias(arn, "beta").await.unwrap();
    assert_eq!(store.aliases(arn).await.unwrap().len(), 1);
}

async fn creates_and_conflicts<S: ContractStore>(store: &S) {
    let sm = machine("contract-a");
    store
        .create_state_machine(&sm)
        .await
        .expect("create machine");
    let rec = record(&sm, "one");
    store.create(&rec).await.expect("create");
    assert!(
        matches!(store.create(&rec).await, Err(StoreError::AlreadyExists(_))),
        "a second create is AlreadyExists"
    );
    let loaded = store
        .load_for_step(&rec.execution_arn)
        .await
        .unwrap()
        .unwrap();
    same(&loaded.rec, &rec, "created");
    assert!(loaded.outbox.is_none(), "a new execution has no outbox");
    assert_eq!(
        store.unsettled().await.unwrap(),
        vec![rec.execution_arn.clone()],
        "an execution never stepped is unsettled"
    );
    assert!(store
        .load("arn:aws:states:us-east-1:123456789012:execution:x:none")
        .await
        .unwrap()
        .is_none());

    let (v1, events) = advance(&rec, 3, |r| {
        r.frames
            .insert(String::new(), frame("P", None, 0, Phase::Run));
    });
    commit(store, &rec, &v1, &events, &[])
        .await
        .expect("commit v1");
    same(
        &store.load(&rec.execution_arn).await.unwrap().unwrap(),
        &v1,
        "v1",
    );
    // Decided from version 0 again: someone else committed first.
    let (stale, stale_events) = advance(&rec, 1, |_| {});
    let w = WriteSet::diff(&rec, &stale, &stale_events, &[], t0());
    let snapshot = store
        .load_for_step(&rec.execution_arn)
        .await
        .unwrap()
        .unwrap()
        .snapshot;
    assert!(
        matches!(
            store.commit(snapshot, &w).await,
            Err(StoreError::Conflict(_))
        ),
        "a commit on a version that moved on is a conflict"
    );
    assert_eq!(
        store.history(&rec.execution_arn).await.unwrap(),
        events,
        "and writes nothing"
    );

    // The same commit again, after it landed (a retry whose first answer was lost).
    let (v2, more) = advance(&v1, 2, |r| r.frames.get_mut("").unwrap().seq = 2);
    let loaded = store
        .load_for_step(&rec.execution_arn)
        .await
        .unwrap()
        .unwrap();
    let w = WriteSet::diff(&v1, &v2, &more, &[], t0());
    store.commit(loaded.snapshot, &w).await.expect("commit v2");
    let again = store
        .load_for_step(&rec.execution_arn)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(
            store.commit(again.snapshot, &w).await,
            Err(StoreError::Conflict(_))
        ),
        "a commit repeated after it landed is a conflict"
    );
    let history = store.history(&rec.execution_arn).await.unwrap();
    assert_eq!(history.len(), 5, "nothing written twice: {history:?}");
    assert!(history
        .iter()
        .enumerate()
        .all(|(i, e)| e.id == i as u64 + 1));
    assert!(
        store.unsettled().await.unwrap().is_empty(),
        "stepped, nothing pending"
    );
}

/// A record handed back with `keep` may spare the next load a read, never change what it
/// returns: a kept record that is not the stored version, or belongs to another execution,
/// is not what `load_for_step` answers with.
async fn kept_records_are_only_a_hint<S: ContractStore>(store: &S) {
    let sm = machine("contract-keep");
    store
        .create_state_machine(&sm)
        .await
        .expect("create machine");
    let rec = record(&sm, "kept");
    store.create(&rec).await.expect("create");
    let (v1, events) = advance(&rec, 2, |r| {
        r.frames
            .insert(String::new(), frame("P", None, 0, Phase::Run));
    });
    commit(store, &rec, &v1, &events, &[])
        .await
        .expect("commit v1");
    let load = || async {
        store
            .load_for_step(&rec.execution_arn)
            .await
            .unwrap()
            .unwrap()
            .rec
    };

    // The committed record kept: it is what the next load reads (from memory or not).
    store.keep(v1.clone());
    same(&load().await, &v1, "kept at the stored version");
    same(
        &load().await,
        &v1,
        "read again after the kept one was taken",
    );

    // Another step committed (by another process, say) after the record was kept: the
    // stored one wins.
    let (v2, more) = advance(&v1, 1, |r| r.frames.get_mut("").unwrap().seq = 2);
    commit(store, &v1, &v2, &more, &[])
        .await
        .expect("commit v2");
    store.keep(v1.clone());
    same(
        &load().await,
        &v2,
        "a kept record older than the stored one",
    );

    // A kept record of another execution changes nothing here.
    let mut other = v2.clone();
    other.execution_arn.push_str("-other");
    other.frames.clear();
    store.keep(other);
    same(&load().await, &v2, "a kept record of another execution");
}

async fn outboxes_and_tokens<S: ContractStore>(store: &S) {
    let sm = machine("contract-b");
    store.create_state_machine(&sm).await.unwrap();
    let rec = record(&sm, "two");
    store.create(&rec).await.unwrap();
    let task = |seq| {
        Phase::Task(TaskPhase {
            token_hash: token_hash("tok-wait"),
            heartbeats: 0,
            resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken".into(),
            parameters: json!({}),
            timeout_seconds: Some(60),
            heartbeat_seconds: None,
            wait_for_token: seq > 0,
            job: None,
            polls: 0,
            reader: false,
            writer: None,
        })
    };
    let (v1, ev1) = advance(&rec, 2, |r| {
        r.frames.insert(String::new(), frame("T", None, 0, task(1)));
    });
    let timer = Effect::Timer {
        at: t0() + Duration::seconds(60),
        frame: String::new(),
        seq: 1,
        kind: TimerKind::TaskTimeout,
    };
    let outbox = vec![
        timer.clone(),
        invoke("", 1, "tok-wait", true),
        invoke("", 1, "tok-plain", false),
    ];
    commit(store, &rec, &v1, &ev1, &outbox).await.unwrap();
    let loaded = store
        .load_for_step(&rec.execution_arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        loaded.outbox.as_deref(),
        Some(&outbox[..]),
        "the outbox is kept until acknowledged"
    );
    assert_eq!(
        store.unsettled().await.unwrap(),
        vec![rec.execution_arn.clone()]
    );
    let found = store.find_task(&token_hash("tok-wait")).await.unwrap();
    assert_eq!(
        found,
        Some(TaskRef {
            execution_arn: rec.execution_arn.clone(),
            frame: String::new(),
            seq: 1
        }),
        "a callback token is found by its hash"
    );
    assert_eq!(
        store.find_task("tok-wait").await.unwrap(),
        None,
        "never by the token itself"
    );
    assert_eq!(
        store.find_task(&token_hash("tok-plain")).await.unwrap(),
        None,
        "only callback tasks are answered by token"
    );

    // The next step commits on top (the engine performed and acknowledged the outbox first,
    // but a store must not rely on the acknowledgement to replace it).
    let (v2, ev2) = advance(&v1, 1, |r| r.frames.get_mut("").unwrap().seq = 2);
    let next_outbox = vec![Effect::Timer {
        at: t0(),
        frame: String::new(),
        seq: 2,
        kind: TimerKind::Wake,
    }];
    commit(store, &v1, &v2, &ev2, &next_outbox).await.unwrap();
    store
        .ack_outbox(&rec.execution_arn, v1.version)
        .await
        .unwrap();
    let loaded = store
        .load_for_step(&rec.execution_arn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        loaded.outbox.as_deref(),
        Some(&next_outbox[..]),
        "acknowledging an older version leaves the newer outbox"
    );
    store
        .ack_outbox(&rec.execution_arn, v2.version)
        .await
        .unwrap();
    let loaded = store
        .load_for_step(&rec.execution_arn)
        .await
        .unwrap()
        .unwrap();
    assert!(loaded.outbox.is_none(), "acknowledged");
    store
        .ack_outbox(&rec.execution_arn, v2.version)
        .await
        .unwrap();
    assert!(store.unsettled().await.unwrap().is_empty());

    // A step with no effects leaves no outbox, even over one never acknowledged.
    let (v3, ev3) = advance(&v2, 1, |_| {});
    commit(store, &v2, &v3, &ev3, &[timer]).await.unwrap();
    let (v4, ev4) = advance(&v3, 1, |r| r.frames.get_mut("").unwrap().seq = 3);
    commit(store, &v3, &v4, &ev4, &[]).await.unwrap();
    let loaded = store
        .load_for_step(&rec.execution_arn)
        .await
        .unwrap()
        .unwrap();
    assert!(
        loaded.outbox.is_none(),
        "an empty outbox replaces the stored one"
    );
    same(&loaded.rec, &v4, "v4");
}

async fn frames_fanouts_and_results<S: ContractStore>(store: &S) {
    let sm = machine("contract-c");
    store.create_state_machine(&sm).await.unwrap();
    let rec = record(&sm, "three");
    store.create(&rec).await.unwrap();
    let items: Vec<Value> = (0..300)
        .map(|i| json!({"item": i, "pad": "x".repeat(400)}))
        .collect();
    let fanout = Fanout {
        id: 0,
        is_map: true,
        total: items.len(),
        started: 2,
        running: 2,
        succeeded: 0,
        failed: 0,
        max_concurrency: 2,
        tolerated_count: None,
        tolerated_percentage: None,
        input: json!({"items": "…"}),
        items: items.clone().into(),
        results: vec![None; items.len()],
        distributed: false,
        logs: Vec::new(),
        first: 0,
        more: None,
        reading: false,
        unbatched: Vec::new(),
    };
    let (v1, ev1) = advance(&rec, 4, |r| {
        r.next_fanout = 1;
        r.frames.insert(
            String::new(),
            frame("M", None, 0, Phase::Children(fanout.clone())),
        );
        for i in 0..2 {
            r.frames.insert(
                child_frame_id("", 0, i),
                frame("Item", Some(""), i, Phase::Run),
            );
        }
    });
    commit(store, &rec, &v1, &ev1, &[]).await.unwrap();
    same(
        &store.load(&rec.execution_arn).await.unwrap().unwrap(),
        &v1,
        "a Map's items",
    );

    // One child ends with a large result; the next starts.
    let (v2, ev2) = advance(&v1, 3, |r| {
        r.frames.remove(&child_frame_id("", 0, 0));
        r.frames.insert(
            child_frame_id("", 0, 2),
            frame("Item", Some(""), 2, Phase::Run),
        );
        let Phase::Children(f) = &mut r.frames.get_mut("").unwrap().phase else {
            unreachable!()
        };
        f.results[0] = Some(json!({"big": "y".repeat(100_000)}));
        f.started = 3;
        f.succeeded = 1;
    });
    commit(store, &v1, &v2, &ev2, &[]).await.unwrap();
    same(
        &store.load(&rec.execution_arn).await.unwrap().unwrap(),
        &v2,
        "a result",
    );

    // Its ItemReader reads on: a new window of items replaces the one before, twice.
    let mut last = v2.clone();
    for (first, n) in [(300, 150), (450, 10)] {
        let (next, ev) = advance(&last, 1, |r| {
            let Phase::Children(f) = &mut r.frames.get_mut("").unwrap().phase else {
                unreachable!()
            };
            let window: Vec<Value> = (first..first + n)
                .map(|i| json!({"item": i, "pad": "z".repeat(400)}))
                .collect();
            f.first = first;
            f.total = first + n;
            f.items = window.into();
            f.results.resize(f.total, None);
            f.more = (n > 10).then(|| {
                Box::new(crate::record::NextRead {
                    parameters: json!({"Bucket": "b"}),
                    config: json!({"InputType": "JSONL", "Cursor": {"Read": first + n}}),
                    read: first + n,
                })
            });
        });
        commit(store, &last, &next, &ev, &[]).await.unwrap();
        same(
            &store.load(&rec.execution_arn).await.unwrap().unwrap(),
            &next,
            &format!("the window from item {first}"),
        );
        last = next;
    }
    let v2 = last;

    // The execution ends: its frames go, its output stays.
    let (v3, ev3) = advance(&v2, 1, |r| {
        r.frames.clear();
        r.status = Status::Succeeded;
        r.output = Some(json!({"done": true}));
        r.stop_time = Some(t0() + Duration::seconds(9));
    });
    commit(
        store,
        &v2,
        &v3,
        &ev3,
        &[Effect::Finished {
            status: Status::Succeeded,
        }],
    )
    .await
    .unwrap();
    same(
        &store.load(&rec.execution_arn).await.unwrap().unwrap(),
        &v3,
        "ended",
    );
    let listed = store
        .list_executions(
            &ExecutionFilter {
                state_machine_arn: Some(sm.arn.clone()),
                status: Some(Status::Succeeded),
            },
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1, "listed by its new status");
    assert_eq!(listed.items[0].status, Status::Succeeded);
}

async fn paging<S: ContractStore>(store: &S) {
    let sm = machine("contract-d");
    store.create_state_machine(&sm).await.unwrap();
    let mut arns = Vec::new();
    for i in 0..5 {
        let rec = record(&sm, &format!("page-{i}"));
        store.create(&rec).await.unwrap();
        arns.push(rec.execution_arn.clone());
        if i == 0 {
            let (next, events) = advance(&rec, 7, |_| {});
            commit(store, &rec, &next, &events, &[]).await.unwrap();
        }
    }
    // History, both ways, two at a time.
    for reverse in [false, true] {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let page = store
                .history_page(&arns[0], reverse, 2, token.as_deref())
                .await
                .unwrap();
            assert!(page.items.len() <= 2);
            ids.extend(page.items.iter().map(|e| e.id));
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        let mut expected: Vec<u64> = (1..=7).collect();
        if reverse {
            expected.reverse();
        }
        assert_eq!(ids, expected, "history pages (reverse: {reverse})");
    }
    // Executions, newest first, two at a time.
    let filter = ExecutionFilter {
        state_machine_arn: Some(sm.arn.clone()),
        status: None,
    };
    let mut listed = Vec::new();
    let mut token = None;
    loop {
        let page = store
            .list_executions(&filter, 2, token.as_deref())
            .await
            .unwrap();
        listed.extend(page.items.into_iter().map(|r| r.execution_arn));
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let mut newest_first = arns.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first, "executions page newest first");
    assert!(
        matches!(
            store.list_executions(&filter, 2, Some("not a token")).await,
            Err(StoreError::InvalidPageToken(_))
        ),
        "a token the store did not hand out is refused"
    );
    assert!(matches!(
        store
            .history_page(&arns[0], false, 2, Some("not a token"))
            .await,
        Err(StoreError::InvalidPageToken(_))
    ));
}

/// Text that deflate can barely shrink, `len` characters long.
fn noise(len: usize, seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// Every page of `max` events of the history of `arn`, in turn.
async fn all_pages<S: ContractStore>(
    store: &S,
    arn: &str,
    reverse: bool,
    max: usize,
) -> Vec<HistoryEvent> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store
            .history_page(arn, reverse, max, token.as_deref())
            .await
            .unwrap();
        assert!(
            !page.items.is_empty() && page.items.len() <= max,
            "a page of {max} has {} events",
            page.items.len()
        );
        out.extend(page.items);
        match page.next_token {
            Some(t) => {
                assert_ne!(token.as_deref(), Some(t.as_str()), "a page token leads on");
                token = Some(t);
            }
            None => return out,
        }
    }
}

/// Whether `ids` follow each other by one, up (`up`) or down.
fn consecutive(ids: &[u64], up: bool) -> bool {
    ids.windows(2).all(|w| {
        if up {
            w[1] == w[0] + 1
        } else {
            w[0] == w[1] + 1
        }
    })
}

/// A history of many steps (60 of 50 events, a few with events too large to share an item,
/// every tenth with 250) pages the same as it reads whole, either way and at any page size.
async fn long_history_pages<S: ContractStore>(store: &S) {
    let sm = machine("contract-e");
    store.create_state_machine(&sm).await.unwrap();
    let mut rec = record(&sm, "long");
    store.create(&rec).await.unwrap();
    let arn = rec.execution_arn.clone();
    for step in 0..60u64 {
        let (next, mut events) = advance(&rec, if step % 10 == 3 { 250 } else { 50 }, |_| {});
        if step % 20 == 7 {
            for e in events.iter_mut().take(3) {
                let d = history::state_entered(
                    "Pass",
                    &format!("S{}", e.id),
                    &json!({"id": e.id, "noise": noise(150_000, e.id)}),
                );
                *e = history::finish(d, e.id, e.id - 1, e.timestamp);
            }
        }
        commit(store, &rec, &next, &events, &[]).await.unwrap();
        rec = next;
    }
    let all = store.history(&arn).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        (1..=4200).collect::<Vec<u64>>(),
        "the whole history"
    );
    let mut newest_first = all.clone();
    newest_first.reverse();
    for reverse in [false, true] {
        let whole = if reverse { &newest_first } else { &all };
        for max in [37, 100, 1000] {
            let paged = all_pages(store, &arn, reverse, max).await;
            assert!(
                paged == *whole,
                "pages of {max} (reverse: {reverse}) are the whole history"
            );
        }
        // One event a page, for a few pages.
        let mut token: Option<String> = None;
        for expected in whole.iter().take(5) {
            let page = store
                .history_page(&arn, reverse, 1, token.as_deref())
                .await
                .unwrap();
            assert_eq!(
                page.items,
                std::slice::from_ref(expected),
                "pages of 1 (reverse: {reverse})"
            );
            token = page.next_token;
        }
        // A page asked for again is the same page.
        let first = store.history_page(&arn, reverse, 100, None).await.unwrap();
        let token = first.next_token.clone().expect("more than one page");
        let second = store
            .history_page(&arn, reverse, 100, Some(&token))
            .await
            .unwrap();
        let again = store
            .history_page(&arn, reverse, 100, Some(&token))
            .await
            .unwrap();
        assert_eq!(second, again, "the same token, the same page");
        assert_eq!(second.items[..], whole[100..200]);
        // A token of the other direction is refused, or pages on from where it points.
        match store.history_page(&arn, !reverse, 10, Some(&token)).await {
            Err(StoreError::InvalidPageToken(_)) => {}
            Ok(page) => {
                let ids: Vec<u64> = page.items.iter().map(|e| e.id).collect();
                assert_eq!(ids.len(), 10, "a page of 10 from the middle");
                assert!(
                    consecutive(&ids, reverse),
                    "a token of the other direction pages on in order: {ids:?}"
                );
            }
            Err(e) => panic!("a token of the other direction: {e}"),
        }
    }
}

async fn child_waits_and_approvals<S: ContractStore>(store: &S) {
    let parent = TaskRef {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:p:one".into(),
        frame: "0.1".into(),
        seq: 4,
    };
    let child = "arn:aws:states:us-east-1:123456789012:execution:c:kid";
    assert_eq!(store.child_wait(child).await.unwrap(), None);
    store
        .put_child_wait(child, &parent, "sync:2")
        .await
        .unwrap();
    store
        .put_child_wait(child, &parent, "sync:2")
        .await
        .unwrap();
    assert_eq!(
        store.child_wait(child).await.unwrap(),
        Some((parent.clone(), "sync:2".to_string())),
        "a wait is read without being taken"
    );
    assert!(store.child_wait(child).await.unwrap().is_some());
    store.remove_child_wait(child).await.unwrap();
    assert_eq!(store.child_wait(child).await.unwrap(), None);
    store.remove_child_wait(child).await.unwrap();

    let approval = ApprovalRecord {
        id: "ap-1".into(),
        task: parent.clone(),
        state: "Ask".into(),
        expires: t0() + Duration::hours(1),
        status: ApprovalStatus::Pending,
        decided_at: None,
        approver: None,
        comment: None,
    };
    store.put_approval(&approval).await.unwrap();
    store.put_approval(&approval).await.unwrap();
    assert_eq!(
        store.get_approval("ap-1").await.unwrap(),
        Some(approval.clone())
    );
    let decision = Decision {
        approved: true,
        approver: Some("Ada".into()),
        comment: Some("fine".into()),
        at: t0() + Duration::minutes(5),
    };
    assert!(
        store.decide_approval("ap-1", &decision).await.unwrap(),
        "decided once"
    );
    assert!(
        !store
            .decide_approval(
                "ap-1",
                &Decision {
                    approved: false,
                    ..decision.clone()
                }
            )
            .await
            .unwrap(),
        "and only once"
    );
    // Storing it again (a task dispatched twice) does not undo the decision.
    store.put_approval(&approval).await.unwrap();
    let got = store.get_approval("ap-1").await.unwrap().unwrap();
    assert_eq!(got.status, ApprovalStatus::Approved);
    assert_eq!(got.approver.as_deref(), Some("Ada"));
    assert!(!store.decide_approval("nope", &decision).await.unwrap());
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_memory_store_keeps_the_contract() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(super::check(&crate::memory::MemoryStore::default()));
        rt.block_on(super::check_map_children(
            &crate::memory::MemoryStore::default(),
        ));
    }
}
