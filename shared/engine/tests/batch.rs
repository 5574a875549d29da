//! Several signals in one step: a home that holds the answers of a Map's children at once
//! (one queue batch) records them in one commit, with the history one step per answer would
//! have written, and runs a task that was requested twice once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use waymark_asl::parse::{parse_value, MachineType, ParseOptions};
use waymark_engine::memory::{
    MemoryScheduler, MemoryStore, NullNotifier, ScaledClock, SeededIds, Work,
};
use waymark_engine::ports::*;
use waymark_engine::record::Status;
use waymark_engine::runner::{Config, Engine};
use waymark_engine::step::{Signal, TaskRequest};

/// Doubles its input's `value`, counting its runs.
#[derive(Default)]
struct Doubler(AtomicUsize);

impl Tasks for Doubler {
    async fn invoke(&self, _arn: &str, req: &TaskRequest) -> TaskOutcome {
        self.0.fetch_add(1, Ordering::SeqCst);
        let v = req.parameters["value"].as_i64().unwrap_or(0);
        TaskOutcome::Succeeded(json!({"value": 2 * v}))
    }
}

type TestEngine =
    Engine<MemoryStore, MemoryScheduler, Doubler, NullNotifier, ScaledClock, SeededIds>;

fn engine() -> TestEngine {
    Engine {
        store: MemoryStore::default(),
        scheduler: MemoryScheduler::default(),
        tasks: Doubler::default(),
        notifier: NullNotifier,
        clock: ScaledClock::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(), 0.0),
        ids: SeededIds::new(7),
        config: Config::default(),
        approvals: None,
    }
}

fn definition() -> Value {
    json!({
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 4,
                "ItemSelector": {"value.$": "$$.Map.Item.Value"},
                "ItemProcessor": {"StartAt": "Double", "States": {
                    "Double": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double", "End": true}
                }},
                "End": true
            }
        }
    })
}

async fn started(e: &TestEngine) -> String {
    started_with(e, definition(), json!({"items": [1, 2, 3, 4]})).await
}

async fn started_with(e: &TestEngine, def: Value, input: Value) -> String {
    let parsed = parse_value(&def, &ParseOptions::default()).expect("a valid definition");
    let sm = StateMachine::new(
        e.config.state_machine_arn("batch"),
        "batch".into(),
        def.to_string(),
        Arc::new(parsed.definition),
        MachineType::Standard,
        e.config.role_arn.clone(),
        e.clock.now(),
    );
    e.store.put_state_machine(sm.clone());
    let rec = e
        .start_execution(&sm, Some("run"), input)
        .await
        .expect("started");
    rec.execution_arn
}

/// The tasks the queue holds once the signals in it (steps that yielded) are delivered.
async fn tasks_after_signals(e: &TestEngine, arn: &str) -> Vec<TaskRequest> {
    let mut out = Vec::new();
    while let Some((_, _, work)) = e.scheduler.pop() {
        match work {
            Work::Task(req) => out.push(*req),
            Work::Signal(s) => e.deliver(arn, s).await.expect("delivered"),
        }
    }
    out
}

/// The tasks the queue holds, in order.
fn queued_tasks(e: &TestEngine) -> Vec<TaskRequest> {
    let mut out = Vec::new();
    while let Some((_, _, work)) = e.scheduler.pop() {
        match work {
            Work::Task(req) => out.push(*req),
            Work::Signal(s) => panic!("no signal expected, got {s:?}"),
        }
    }
    out
}

#[tokio::test]
async fn a_batch_of_answers_is_one_step_with_the_history_of_one_step_each() {
    // One at a time.
    let single = engine();
    let arn = started(&single).await;
    for req in queued_tasks(&single) {
        single.run_task(&arn, &req).await.expect("ran");
    }
    let one_by_one = single.describe(&arn).await.expect("described");
    assert_eq!(one_by_one.status, Status::Succeeded);

    // All four at once, one of them twice (a message delivered twice).
    let batched = engine();
    let arn = started(&batched).await;
    let before = batched.describe(&arn).await.expect("described").version;
    let mut reqs = queued_tasks(&batched);
    assert_eq!(reqs.len(), 4, "MaxConcurrency 4 starts every child");
    reqs.push(reqs[1].clone());
    let results = batched.run_tasks_and_deliver(&arn, &reqs, vec![]).await;
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        batched.tasks.0.load(Ordering::SeqCst),
        4,
        "the duplicate ran no task"
    );
    let rec = batched.describe(&arn).await.expect("described");
    assert_eq!(rec.status, Status::Succeeded);
    assert_eq!(rec.version, before + 1, "one commit for the whole batch");
    assert_eq!(rec.output, one_by_one.output);
    assert_eq!(
        rec.output,
        Some(json!([{"value": 2}, {"value": 4}, {"value": 6}, {"value": 8}]))
    );
    let types = |h: Vec<waymark_engine::history::HistoryEvent>| -> Vec<String> {
        h.into_iter().map(|e| e.event_type.into_owned()).collect()
    };
    assert_eq!(
        types(batched.store.history(&arn).await.expect("history")),
        types(single.store.history(&arn).await.expect("history")),
        "the same events in the same order"
    );
}

#[tokio::test]
async fn signals_that_no_longer_apply_change_nothing_in_a_batch() {
    let e = engine();
    let arn = started(&e).await;
    let reqs = queued_tasks(&e);
    let answer = Signal::TaskSucceeded {
        frame: reqs[0].frame.clone(),
        seq: reqs[0].seq,
        output: json!({"value": 2}),
    };
    // The task's answer three times (the task's own and two copies): it counts once.
    let results = e
        .run_tasks_and_deliver(&arn, &reqs[..1], vec![answer.clone(), answer])
        .await;
    assert!(results.iter().all(Result::is_ok));
    let history = e.store.history(&arn).await.expect("history");
    let succeeded = history
        .iter()
        .filter(|e| e.event_type == "MapIterationSucceeded")
        .count();
    assert_eq!(succeeded, 1, "one iteration ended, once");
    assert_eq!(e.tasks.0.load(Ordering::SeqCst), 1);
}

/// A distributed Map runs at most 10,000 child executions at once, AWS's documented ceiling,
/// whether MaxConcurrency is unset (0) or asks for more; one below keeps its own.
#[tokio::test]
async fn a_distributed_map_runs_at_most_ten_thousand_children_at_once() {
    let items: Vec<u32> = (0..10_001).collect();
    for (asked, running) in [(None, 10_000), (Some(20_000), 10_000), (Some(3), 3)] {
        let mut def = definition();
        def["States"]["Each"]["ItemProcessor"]["ProcessorConfig"] =
            json!({"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"});
        match asked {
            Some(n) => def["States"]["Each"]["MaxConcurrency"] = json!(n),
            None => {
                def["States"]["Each"]
                    .as_object_mut()
                    .unwrap()
                    .remove("MaxConcurrency");
            }
        }
        let e = engine();
        let arn = started_with(&e, def, json!({"items": items})).await;
        let tasks = tasks_after_signals(&e, &arn).await;
        assert_eq!(tasks.len(), running, "MaxConcurrency {asked:?}");
        // One child ends: one more starts, and no more than that.
        e.run_task(&arn, &tasks[0]).await.expect("ran");
        let next = tasks_after_signals(&e, &arn).await;
        assert_eq!(next.len(), 1, "MaxConcurrency {asked:?}");
        assert_eq!(next[0].parameters, json!({"value": running}));
    }
}
