//! Executions driven end to end on the in-memory ports with a virtual clock, checking outputs,
//! history and the timing of retries, waits and timeouts.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use waymark_asl::parse::{parse_value, MachineType, ParseOptions};
use waymark_asl::Failure;

use crate::history::HistoryEvent;
use crate::memory::*;
use crate::ports::*;
use crate::record::{ExecutionRecord, Status};
use crate::runner::{Config, Engine};
use crate::step::{Signal, TaskRequest};

type Script = Box<dyn Fn(&TaskRequest, usize) -> TaskOutcome + Send + Sync>;

/// A Tasks port answering from a script, and recording every request.
struct Scripted {
    script: Script,
    calls: Arc<Mutex<Vec<TaskRequest>>>,
}

impl Tasks for Scripted {
    async fn invoke(&self, _arn: &str, req: &TaskRequest) -> TaskOutcome {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(req.clone());
            calls.len()
        };
        (self.script)(req, n)
    }
}

struct Run {
    rec: ExecutionRecord,
    history: Vec<HistoryEvent>,
    calls: Vec<TaskRequest>,
    /// The children of the execution's first map run, as the store keeps them.
    children: Vec<crate::map_children::ChildExecution>,
    /// Their own histories, in the same order.
    child_histories: Vec<Vec<HistoryEvent>>,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

type TestEngine =
    Engine<MemoryStore, MemoryScheduler, Scripted, NullNotifier, ScaledClock, SeededIds>;

fn engine(script: Script) -> (TestEngine, Arc<Mutex<Vec<TaskRequest>>>) {
    engine_with(script, Config::default())
}

fn engine_with(script: Script, config: Config) -> (TestEngine, Arc<Mutex<Vec<TaskRequest>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let e = Engine {
        store: MemoryStore::default(),
        scheduler: MemoryScheduler::default(),
        tasks: Scripted {
            script,
            calls: calls.clone(),
        },
        notifier: NullNotifier,
        clock: ScaledClock::new(t0(), 0.0),
        ids: SeededIds::new(7),
        config,
        approvals: None,
    };
    (e, calls)
}

/// Runs the tasks waiting in the queue, and only those (timers stay queued).
async fn run_dispatched(e: &TestEngine) {
    while let Some((at, arn, work)) = e.scheduler.pop() {
        match work {
            Work::Task(req) => e.run_task(&arn, &req).await.unwrap(),
            Work::Signal(signal) => {
                e.scheduler.schedule(&arn, at, signal).await.unwrap();
                return;
            }
        }
    }
}

fn machine(e: &TestEngine, def: Value) -> StateMachine {
    let parsed = parse_value(&def, &ParseOptions::default()).expect("valid definition");
    let sm = StateMachine::new(
        e.config.state_machine_arn("Test"),
        "Test".into(),
        def.to_string(),
        Arc::new(parsed.definition),
        MachineType::Standard,
        e.config.role_arn.clone(),
        t0(),
    );
    e.store.put_state_machine(sm.clone());
    sm
}

fn run_with(def: Value, input: Value, script: Script) -> Run {
    run_configured(def, input, script, Config::default())
}

fn run_configured(def: Value, input: Value, script: Script, config: Config) -> Run {
    let (e, calls) = engine_with(script, config);
    let sm = machine(&e, def);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (rec, history, children, child_histories) = rt.block_on(async {
        let started = e.start_execution(&sm, Some("exec"), input).await.unwrap();
        let rec = run_until_settled(&e, &started.execution_arn).await.unwrap();
        let history = e.store.history(&rec.execution_arn).await.unwrap();
        let children = match rec.map_runs.first() {
            Some(run) => {
                e.store
                    .map_children(&run.arn, None, 1000, None)
                    .await
                    .unwrap()
                    .items
            }
            None => Vec::new(),
        };
        let mut child_histories = Vec::new();
        for c in &children {
            child_histories.push(e.store.history(&c.execution_arn).await.unwrap());
        }
        (rec, history, children, child_histories)
    });
    let calls = calls.lock().unwrap().clone();
    Run {
        rec,
        history,
        calls,
        children,
        child_histories,
    }
}

fn run(def: Value, input: Value) -> Run {
    run_with(
        def,
        input,
        Box::new(|_, _| TaskOutcome::Failed(Failure::new("NoTasks", "none"))),
    )
}

fn types(h: &[HistoryEvent]) -> Vec<&str> {
    h.iter().map(|e| e.event_type.as_ref()).collect()
}

fn secs_since_start(h: &[HistoryEvent], event_type: &str) -> Vec<i64> {
    h.iter()
        .filter(|e| e.event_type == event_type)
        .map(|e| (e.timestamp - t0()).num_seconds())
        .collect()
}

const LAMBDA: &str = "arn:aws:states:::lambda:invoke";

#[test]
fn pass_choice_succeed() {
    let r = run(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": 5, "ResultPath": "$.n", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 3, "Next": "Big"}], "Default": "Small"},
            "Big": {"Type": "Succeed", "OutputPath": "$.n"},
            "Small": {"Type": "Fail", "Error": "Small"}
        }}),
        json!({"x": 1}),
    );
    assert_eq!(r.rec.status, Status::Succeeded);
    assert_eq!(r.rec.output, Some(json!(5)));
    assert_eq!(
        types(&r.history),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    // ids count up from 1 and each event points at the one before it.
    for (i, e) in r.history.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1);
        assert_eq!(e.previous_event_id, i as u64);
    }
}

#[test]
fn retry_backs_off_exponentially_then_succeeds() {
    let r = run_with(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA, "End": true,
            "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}]}}}),
        json!({}),
        Box::new(|_, n| {
            if n < 3 {
                TaskOutcome::Failed(Failure::new("Boom", "again"))
            } else {
                TaskOutcome::Succeeded(json!({"ok": n}))
            }
        }),
    );
    assert_eq!(r.rec.status, Status::Succeeded);
    assert_eq!(r.rec.output, Some(json!({"ok": 3})));
    // Attempts at 0 s, then 2 s later, then 2*3 = 6 s after that.
    assert_eq!(secs_since_start(&r.history, "TaskScheduled"), [0, 2, 8]);
    assert_eq!(
        r.history
            .iter()
            .filter(|e| e.event_type == "TaskStateEntered")
            .count(),
        1
    );
}

#[test]
fn max_delay_caps_the_back_off_and_max_attempts_zero_never_retries() {
    let r = run_with(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA, "End": true,
            "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxDelaySeconds": 15, "MaxAttempts": 3}]}}}),
        json!({}),
        Box::new(|_, _| TaskOutcome::Failed(Failure::new("Boom", "always"))),
    );
    assert_eq!(r.rec.status, Status::Failed);
    assert_eq!(r.rec.failure, Some(Failure::new("Boom", "always")));
    assert_eq!(
        secs_since_start(&r.history, "TaskScheduled"),
        [0, 10, 25, 40]
    );
    let r = run_with(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA, "End": true,
            "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"]}]}}}),
        json!({}),
        Box::new(|_, _| TaskOutcome::Failed(Failure::new("Boom", "always"))),
    );
    // The first matching retrier decides, even when it allows no attempt.
    assert_eq!(r.calls.len(), 1);
}

#[test]
fn catch_puts_the_error_output_at_result_path() {
    let r = run_with(
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "Next": "Ok",
                  "Catch": [{"ErrorEquals": ["Nope"], "Next": "Ok"}, {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Handled"}]},
            "Ok": {"Type": "Succeed"},
            "Handled": {"Type": "Pass", "End": true}
        }}),
        json!({"order": 1}),
        Box::new(|_, _| TaskOutcome::Failed(Failure::new("Lambda.Unknown", "it broke"))),
    );
    assert_eq!(r.rec.status, Status::Succeeded);
    assert_eq!(
        r.rec.output,
        Some(json!({"order": 1, "err": {"Error": "Lambda.Unknown", "Cause": "it broke"}}))
    );
    assert_eq!(
        types(&r.history),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn states_all_does_not_catch_runtime_errors() {
    let r = run(
        json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "ItemsPath": "$.missing", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Succeed"}
        }}),
        json!({}),
    );
    assert_eq!(r.rec.status, Status::Failed);
    let f = r.rec.failure.unwrap();
    assert_eq!(f.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        f.cause.as_deref(),
        Some("An error occurred while executing the state 'M' (entered at the event id #2). Invalid path '$.missing' : No results for path: $['missing']")
    );
}

#[test]
fn map_keeps_results_in_order_under_a_concurrency_limit() {
    let r = run_with(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "End": true,
            "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA, "End": true}}}}}}),
        json!([10, 20, 30, 40, 50]),
        Box::new(|req, _| {
            TaskOutcome::Succeeded(json!(
                req.parameters["v"].as_i64().unwrap() + req.parameters["i"].as_i64().unwrap()
            ))
        }),
    );
    assert_eq!(r.rec.output, Some(json!([10, 21, 32, 43, 54])));
    // No more than two items in flight: the third starts only after one finished.
    let t = types(&r.history);
    let first_done = t
        .iter()
        .position(|e| *e == "MapIterationSucceeded")
        .unwrap();
    let third_start = t
        .iter()
        .enumerate()
        .filter(|(_, e)| **e == "MapIterationStarted")
        .nth(2)
        .unwrap()
        .0;
    assert!(third_start > first_done, "{t:?}");
    assert_eq!(
        r.history[2].details_json()["mapStateStartedEventDetails"],
        json!({"length": 5})
    );
}

/// Most iterations in flight at any point of a history.
fn most_iterations_at_once(h: &[HistoryEvent]) -> usize {
    let (mut running, mut most) = (0usize, 0usize);
    for e in h {
        match e.event_type.as_ref() {
            "MapIterationStarted" => running += 1,
            "MapIterationSucceeded" | "MapIterationFailed" | "MapIterationAborted" => running -= 1,
            _ => {}
        }
        most = most.max(running);
    }
    most
}

/// AWS runs at most 40 iterations of an inline Map at once; MaxConcurrency 0 (no limit) and
/// a MaxConcurrency above 40 get 40, one below keeps its own.
#[test]
fn an_inline_map_runs_at_most_forty_iterations_at_once() {
    let items: Vec<Value> = (0..100).map(|i| json!(i)).collect();
    for (limit, expected) in [(json!(0), 40), (json!(500), 40), (json!(7), 7)] {
        let r = run_with(
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": limit, "End": true,
                "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA, "End": true}}}}}}),
            json!(items),
            Box::new(|req, _| TaskOutcome::Succeeded(req.parameters.clone())),
        );
        assert_eq!(r.rec.output, Some(json!(items)), "MaxConcurrency {limit}");
        assert_eq!(
            most_iterations_at_once(&r.history),
            expected,
            "MaxConcurrency {limit}"
        );
    }
}

#[test]
fn map_tolerates_failures_up_to_the_threshold() {
    let def = |count: u64| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailureCount": count, "End": true,
            "ItemProcessor": {"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "F"}], "Default": "P"},
                "F": {"Type": "Fail", "Error": "TooBig"},
                "P": {"Type": "Pass", "End": true}}}}}})
    };
    let ok = run(def(2), json!([1, 2, 3, 4]));
    assert_eq!(ok.rec.status, Status::Succeeded);
    assert_eq!(ok.rec.output, Some(json!([1, 2, null, null])));
    let bad = run(def(1), json!([1, 2, 3, 4]));
    assert_eq!(
        bad.rec.failure.unwrap().error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
}

#[test]
fn parallel_gathers_branches_in_order_and_a_failure_aborts_the_rest() {
    let r = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "InputPath": "$.x", "End": true}}}
        ]}}}),
        json!({"x": 1}),
    );
    assert_eq!(r.rec.output, Some(json!(["a", 1])));
    assert_eq!(
        types(&r.history)[..3],
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted"
        ]
    );
    assert_eq!(
        types(&r.history)[r.history.len() - 3..],
        [
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "ExecutionSucceeded"
        ]
    );

    let r = run_with(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": LAMBDA, "End": true}}},
            {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "b"}}}
        ]}}}),
        json!({}),
        Box::new(|_, _| TaskOutcome::Pending),
    );
    assert_eq!(r.rec.status, Status::Failed);
    assert_eq!(r.rec.failure, Some(Failure::new("Broken", "b")));
    assert!(types(&r.history).contains(&"ParallelStateFailed"));
}

#[test]
fn waits_take_virtual_time() {
    let r = run(
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "W2"},
            "W2": {"Type": "Wait", "SecondsPath": "$.s", "Next": "W3"},
            "W3": {"Type": "Wait", "Timestamp": "2024-01-01T05:00:00Z", "End": true}
        }}),
        json!({"s": 60}),
    );
    assert_eq!(r.rec.status, Status::Succeeded);
    assert_eq!(
        secs_since_start(&r.history, "WaitStateExited"),
        [3600, 3660, 18000]
    );
}

#[test]
fn task_timeouts_and_heartbeats() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "TimeoutSeconds": 30, "End": true}}});
    let r = run_with(def, json!({}), Box::new(|_, _| TaskOutcome::Pending));
    assert_eq!(r.rec.status, Status::Failed);
    assert_eq!(
        r.rec.failure.as_ref().unwrap().error.as_deref(),
        Some("States.Timeout")
    );
    assert_eq!(secs_since_start(&r.history, "TaskTimedOut"), [30]);

    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "HeartbeatSeconds": 5, "End": true}}});
    let r = run_with(def, json!({}), Box::new(|_, _| TaskOutcome::Pending));
    assert_eq!(
        r.rec.failure.as_ref().unwrap().error.as_deref(),
        Some("States.HeartbeatTimeout")
    );
    assert_eq!(secs_since_start(&r.history, "TaskTimedOut"), [5]);
}

#[test]
fn a_sync_job_is_polled_further_apart_until_it_ends() {
    let def = json!({"StartAt": "Q", "States": {
        "Q": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
              "Parameters": {"JobName": "etl"}, "ResultSelector": {"state.$": "$.JobRunState"},
              "End": true}}});
    let r = run_with(
        def,
        json!({}),
        Box::new(|req, n| match (n, &req.job) {
            (1, None) => TaskOutcome::Job {
                job: json!({"JobName": "etl", "RunId": "jr_1"}),
                submitted: Some(json!({"JobRunId": "jr_1"})),
            },
            (2..=4, Some(job)) => TaskOutcome::Job {
                job: job.clone(),
                submitted: None,
            },
            (5, Some(job)) => {
                assert_eq!(job["RunId"], "jr_1");
                TaskOutcome::Succeeded(json!({"Id": "jr_1", "JobRunState": "SUCCEEDED"}))
            }
            other => panic!("unexpected call {other:?}"),
        }),
    );
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    assert_eq!(r.rec.output, Some(json!({"state": "SUCCEEDED"})));
    assert_eq!(
        types(&r.history),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let submitted = &r.history[4].details_json()["taskSubmittedEventDetails"];
    assert_eq!(submitted["resourceType"], "glue");
    assert_eq!(submitted["resource"], "startJobRun.sync");
    assert_eq!(submitted["output"], r#"{"JobRunId":"jr_1"}"#);
    // Polls at 1, 1+2, 1+2+4 and 1+2+4+8 seconds; each poll carries the task's parameters.
    assert_eq!(secs_since_start(&r.history, "TaskSucceeded"), [15]);
    assert_eq!(r.calls.len(), 5);
    assert!(r.calls[1..]
        .iter()
        .all(|c| c.parameters["JobName"] == "etl"));
    assert_eq!(super::task::job_poll_delay(1).num_seconds(), 1);
    assert_eq!(super::task::job_poll_delay(6).num_seconds(), 32);
    assert_eq!(super::task::job_poll_delay(7).num_seconds(), 60);
    assert_eq!(super::task::job_poll_delay(500).num_seconds(), 60);
}

#[test]
fn a_sync_job_that_fails_or_outlives_the_timeout_fails_the_task() {
    let def = json!({"StartAt": "Q", "States": {
        "Q": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
              "TimeoutSeconds": 10, "End": true}}});
    let r = run_with(
        def.clone(),
        json!({}),
        Box::new(|_, _| TaskOutcome::Job {
            job: json!({"RunId": "jr_1"}),
            submitted: None,
        }),
    );
    assert_eq!(r.rec.status, Status::Failed);
    assert_eq!(
        r.rec.failure.as_ref().unwrap().error.as_deref(),
        Some("States.Timeout")
    );
    assert_eq!(secs_since_start(&r.history, "TaskTimedOut"), [10]);
    // Polls at 1, 3 and 7 s; the one due at 15 s finds the task gone.
    assert_eq!(r.calls.len(), 4, "{:?}", r.calls.len());

    let r = run_with(
        def,
        json!({}),
        Box::new(|_, n| match n {
            1 => TaskOutcome::Job {
                job: json!({"RunId": "jr_1"}),
                submitted: Some(json!({"JobRunId": "jr_1"})),
            },
            _ => TaskOutcome::Failed(Failure::new(
                "States.TaskFailed",
                "{\"JobRunState\":\"FAILED\"}",
            )),
        }),
    );
    assert_eq!(
        r.rec.failure.as_ref().unwrap().error.as_deref(),
        Some("States.TaskFailed")
    );
    assert_eq!(secs_since_start(&r.history, "TaskFailed"), [1]);
}

fn reading_map(reader: Value) -> Value {
    json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemReader": reader, "End": true,
        "ItemSelector": {"n.$": "$$.Map.Item.Value.n", "from.$": "$.bucket"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}})
}

#[test]
fn an_item_reader_reads_the_items_before_the_map_runs() {
    let def = reading_map(json!({"Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON", "MaxItemsPath": "$.max"},
        "Parameters": {"Bucket.$": "$.bucket", "Key": "items.json"}}));
    let r = run_with(
        def,
        json!({"bucket": "in", "max": 2}),
        Box::new(|req, _| {
            assert_eq!(req.resource, "arn:aws:states:::s3:getObject");
            assert_eq!(req.parameters, json!({"Bucket": "in", "Key": "items.json"}));
            assert_eq!(
                req.reader,
                Some(json!({"InputType": "JSON", "MaxItems": 2}))
            );
            TaskOutcome::Succeeded(json!([{"n": 1}, {"n": 2}]))
        }),
    );
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    assert_eq!(
        r.rec.output,
        Some(json!([{"n": 1, "from": "in"}, {"n": 2, "from": "in"}]))
    );
    let t = types(&r.history);
    assert!(!t.iter().any(|e| e.starts_with("Task")), "{t:?}");
    assert_eq!(
        &t[..3],
        ["ExecutionStarted", "MapStateEntered", "MapStateStarted"]
    );
}

#[test]
fn a_reader_that_fails_fails_the_map_with_item_reader_failed() {
    let def = reading_map(json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "missing"}}));
    let mut def2 = def.clone();
    let r = run_with(
        def,
        json!({"bucket": "b"}),
        Box::new(|_, _| TaskOutcome::Failed(Failure::new("S3.NoSuchBucketException", "no bucket"))),
    );
    let f = r.rec.failure.as_ref().unwrap();
    assert_eq!(f.error.as_deref(), Some("States.ItemReaderFailed"));
    assert!(f
        .cause
        .as_deref()
        .unwrap()
        .contains("S3.NoSuchBucketException"));
    // A catcher sees the same error.
    def2["States"]["M"]["Catch"] =
        json!([{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "Caught"}]);
    def2["States"]["M"].as_object_mut().unwrap().remove("End");
    def2["States"]["M"]["Next"] = json!("Done");
    def2["States"]["Done"] = json!({"Type": "Succeed"});
    def2["States"]["Caught"] = json!({"Type": "Pass", "Result": "caught", "End": true});
    let r = run_with(
        def2,
        json!({"bucket": "b"}),
        Box::new(|_, _| TaskOutcome::Succeeded(json!({"not": "an array"}))),
    );
    assert_eq!(r.rec.output, Some(json!("caught")));
}

/// A reader that gives `total` items `{"n": i}` in windows of `window`, by a cursor of its
/// own, as the S3 readers do; with `window` 0, all at once.
fn windowed(total: usize, window: usize) -> Script {
    Box::new(move |req, _| {
        let Some(config) = &req.reader else {
            return TaskOutcome::Failed(Failure::new("Lambda.Unknown", "not a read"));
        };
        let at = config["Cursor"]["At"].as_u64().unwrap_or(0) as usize;
        let end = if window == 0 {
            total
        } else {
            (at + window).min(total)
        };
        let items: Vec<Value> = (at..end).map(|n| json!({"n": n})).collect();
        TaskOutcome::Succeeded(if end < total {
            json!({"Items": items, "Cursor": {"At": end}})
        } else {
            Value::Array(items)
        })
    })
}

fn windowed_map(extra: Value, processor: Value) -> Value {
    let mut def = reading_map(json!({"Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSONL"},
        "Parameters": {"Bucket": "in", "Key": "items.jsonl"}}));
    let m = &mut def["States"]["M"];
    m["ItemSelector"] = json!({"n.$": "$$.Map.Item.Value.n", "i.$": "$$.Map.Item.Index"});
    m["ItemProcessor"]["States"]["P"] = processor;
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    def
}

#[test]
fn an_item_reader_gives_its_items_window_by_window() {
    let pass = json!({"Type": "Pass", "End": true});
    let def = windowed_map(json!({"MaxConcurrency": 3}), pass.clone());
    let r = run_with(def.clone(), json!({}), windowed(25, 4));
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    let want: Vec<Value> = (0..25).map(|n| json!({"n": n, "i": n})).collect();
    assert_eq!(r.rec.output, Some(Value::Array(want.clone())));
    // Seven reads, each after the first asking from where the one before stopped, with the
    // parameters of the first.
    assert_eq!(r.calls.len(), 7);
    for (k, c) in r.calls.iter().enumerate() {
        assert_eq!(c.parameters, json!({"Bucket": "in", "Key": "items.jsonl"}));
        let at = &c.reader.as_ref().unwrap()["Cursor"]["At"];
        assert_eq!(*at, if k == 0 { Value::Null } else { json!(4 * k) });
    }
    let run = &r.rec.map_runs[0];
    assert_eq!((run.total, run.succeeded), (25, 25));
    assert_eq!(r.children.len(), 25);
    // The same as one read of everything.
    let whole = run_with(def, json!({}), windowed(25, 0));
    assert_eq!(whole.rec.output, Some(Value::Array(want)));
    assert_eq!(whole.calls.len(), 1);

    // A last window that is empty (what was left was the array's `]`) ends the Map.
    let def = windowed_map(json!({}), pass);
    let r = run_with(
        def,
        json!({}),
        Box::new(|req, _| {
            let at = req.reader.as_ref().unwrap()["Cursor"]["At"]
                .as_u64()
                .unwrap_or(0);
            let items: Vec<Value> = (at..(at + 4).min(8)).map(|n| json!({"n": n})).collect();
            TaskOutcome::Succeeded(if at < 8 {
                json!({"Items": items, "Cursor": {"At": at + 4}})
            } else {
                json!([])
            })
        }),
    );
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    assert_eq!(r.rec.output.unwrap().as_array().unwrap().len(), 8);
    assert_eq!(r.calls.len(), 3);
}

#[test]
fn batches_over_windows_are_the_batches_of_the_whole() {
    let batcher = json!({"ItemBatcher": {"MaxItemsPerBatch": 3, "BatchInput": {"b": 1}},
        "MaxConcurrency": 2});
    let pass = json!({"Type": "Pass", "End": true});
    let def = windowed_map(batcher, pass);
    let whole = run_with(def.clone(), json!({}), windowed(11, 0));
    assert_eq!(
        whole.rec.status,
        Status::Succeeded,
        "{:?}",
        whole.rec.failure
    );
    let out = whole.rec.output.clone().unwrap();
    assert_eq!(out.as_array().unwrap().len(), 4, "{out}");
    assert_eq!(
        out[3]["Items"],
        json!([{"n": 9, "i": 9}, {"n": 10, "i": 10}])
    );
    assert_eq!(out[3]["BatchInput"], json!({"b": 1}));
    for window in [1, 2, 4, 5] {
        let r = run_with(def.clone(), json!({}), windowed(11, window));
        assert_eq!(r.rec.output.as_ref(), Some(&out), "windows of {window}");
        assert_eq!(r.rec.map_runs[0].total, 4);
    }
}

#[test]
fn a_failure_percentage_over_windows_counts_against_the_whole() {
    // Items 0 and 1 fail: 2 of the first window's 4, but 2 of 25 in all (8%).
    let fails_low = json!({"Type": "Choice", "Choices": [
        {"Variable": "$.n", "NumericLessThan": 2, "Next": "No"}], "Default": "Yes"});
    let mut def = windowed_map(json!({"ToleratedFailurePercentage": 10}), fails_low);
    let states = &mut def["States"]["M"]["ItemProcessor"]["States"];
    states["No"] = json!({"Type": "Fail", "Error": "Low"});
    states["Yes"] = json!({"Type": "Succeed"});
    let r = run_with(def.clone(), json!({}), windowed(25, 4));
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    assert_eq!(r.rec.map_runs[0].failed, 2);
    // 3 of 25 (12%) is past it, found once the last window is read.
    def["States"]["M"]["ItemProcessor"]["States"]["P"]["Choices"][0]["NumericLessThan"] = json!(3);
    let r = run_with(def, json!({}), windowed(25, 4));
    assert_eq!(r.rec.status, Status::Failed);
    assert_eq!(
        r.rec.failure.as_ref().unwrap().error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
}

#[test]
fn a_window_that_cannot_be_read_fails_the_run() {
    let def = windowed_map(json!({}), json!({"Type": "Pass", "End": true}));
    let r = run_with(
        def,
        json!({}),
        Box::new(|req, n| match n {
            1 => TaskOutcome::Succeeded(json!({"Items": [{"n": 0}], "Cursor": {"At": 1}})),
            _ => {
                assert_eq!(req.reader.as_ref().unwrap()["Cursor"], json!({"At": 1}));
                TaskOutcome::Failed(Failure::new("S3.PreconditionFailed", "changed"))
            }
        }),
    );
    let f = r.rec.failure.as_ref().unwrap();
    assert_eq!(f.error.as_deref(), Some("States.ItemReaderFailed"));
    assert!(f
        .cause
        .as_deref()
        .unwrap()
        .contains("S3.PreconditionFailed"));
    assert_eq!(r.rec.map_runs[0].status, "FAILED");
}

#[test]
fn a_result_writer_writes_the_children_of_every_window() {
    let def = windowed_map(
        json!({"ResultWriter": {"WriterConfig": {"Transformation": "NONE", "OutputType": "JSON"}}}),
        json!({"Type": "Pass", "End": true}),
    );
    let r = run_with(def, json!({}), windowed(9, 2));
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    let out = r.rec.output.unwrap();
    let records = out.as_array().unwrap();
    assert_eq!(records.len(), 9);
    for (i, rec) in records.iter().enumerate() {
        assert_eq!(rec["Status"], "SUCCEEDED");
        assert_eq!(rec["Input"], json!({"n": i, "i": i}).to_string());
    }
}

#[test]
fn an_export_over_windows_is_made_from_the_children_the_store_keeps() {
    let def = windowed_map(
        json!({"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "runs"}}, "MaxConcurrency": 2}),
        json!({"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"}, "End": true}),
    );
    let reads = windowed(9, 2);
    let r = run_with(
        def,
        json!({}),
        Box::new(move |req, n| {
            if req.writer.is_some() {
                return TaskOutcome::Succeeded(Value::Null);
            }
            reads(req, n)
        }),
    );
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    let (bucket, files) = written(&r.calls);
    assert_eq!(bucket, "out");
    let (key, succeeded) = &files[0];
    assert!(key.ends_with("/SUCCEEDED_0.json"), "{key}");
    let records = succeeded.as_array().unwrap();
    assert_eq!(records.len(), 9);
    for (i, rec) in records.iter().enumerate() {
        // The outputs are not in the execution's record: they come from the store.
        assert_eq!(rec["Output"], json!({"twice": 2 * i}).to_string());
        assert_eq!(rec["Input"], json!({"n": i, "i": i}).to_string());
        assert_eq!(rec["ExecutionArn"], r.children[i].execution_arn);
        assert!(rec["StartDate"].is_string() && rec["StopDate"].is_string());
    }
    let manifest = &files.last().unwrap().1;
    assert_eq!(manifest["ResultFiles"]["SUCCEEDED"][0]["Key"], json!(key));
}

/// A bucket as S3 keeps it, with multipart uploads: objects by key, and the parts of the
/// uploads under way.
#[derive(Default)]
struct Bucket {
    objects: std::collections::BTreeMap<String, String>,
    uploads: std::collections::BTreeMap<String, (String, Vec<String>)>,
    aborted: Vec<String>,
}

/// Answers a ResultWriter's writes as S3 would, failing the upload part `fail_part` if given.
fn s3_writes(bucket: Arc<Mutex<Bucket>>, fail_part: Option<u64>) -> Script {
    Box::new(move |req, _| {
        let w = req.writer.as_ref().expect("only writes");
        let mut b = bucket.lock().unwrap();
        if let Some(files) = w.get("Files") {
            for f in files.as_array().unwrap() {
                let (k, body) = (f["Key"].as_str().unwrap(), f["Body"].as_str().unwrap());
                b.objects.insert(k.into(), body.into());
            }
            return TaskOutcome::Succeeded(Value::Null);
        }
        if let Some(begin) = w.get("Begin") {
            let id = format!("up{}", b.uploads.len() + b.objects.len());
            let key = begin["Key"].as_str().unwrap().to_string();
            b.uploads.insert(id.clone(), (key, Vec::new()));
            return TaskOutcome::Succeeded(json!({"UploadId": id}));
        }
        if let Some(p) = w.get("Part") {
            let n = p["PartNumber"].as_u64().unwrap();
            if Some(n) == fail_part {
                return TaskOutcome::Failed(Failure::new("S3.InternalError", "part lost"));
            }
            let up = b.uploads.get_mut(p["UploadId"].as_str().unwrap()).unwrap();
            assert_eq!(up.1.len() as u64 + 1, n, "parts go in order");
            up.1.push(p["Body"].as_str().unwrap().to_string());
            return TaskOutcome::Succeeded(json!({"ETag": format!("\"e{n}\"")}));
        }
        if let Some(c) = w.get("Complete") {
            let (key, parts) = b.uploads.remove(c["UploadId"].as_str().unwrap()).unwrap();
            let etags: Vec<&str> = c["Parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["ETag"].as_str().unwrap())
                .collect();
            assert_eq!(etags.len(), parts.len());
            b.objects.insert(key, parts.concat());
            return TaskOutcome::Succeeded(Value::Null);
        }
        if let Some(a) = w.get("Abort") {
            let id = a["UploadId"].as_str().unwrap();
            b.uploads.remove(id);
            b.aborted.push(id.to_string());
            return TaskOutcome::Succeeded(Value::Null);
        }
        panic!("unknown write {w}")
    })
}

/// An export is written as it is made: a file grows part by part (every part but the last at
/// least the part size) and goes on in the status's next file past the file size, as AWS does
/// past 5 GB; the manifest lists every file with its size.
#[test]
fn a_large_export_goes_up_in_parts_and_files() {
    let def = writing_map(
        json!({"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "big"}}),
        json!({"Type": "Pass", "Parameters": {"i.$": "$", "pad": "x".repeat(60)}, "End": true}),
        json!({}),
    );
    let bucket = Arc::new(Mutex::new(Bucket::default()));
    let config = Config {
        export: crate::step::ExportSizes {
            part: 300,
            file: 2000,
        },
        ..Config::default()
    };
    let items: Vec<Value> = (0..25).map(|i| json!(i)).collect();
    let r = run_configured(def, json!(items), s3_writes(bucket.clone(), None), config);
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    let b = bucket.lock().unwrap();
    assert!(b.uploads.is_empty(), "every upload completed");
    let manifest_key = r.rec.output.as_ref().unwrap()["ResultWriterDetails"]["Key"]
        .as_str()
        .unwrap()
        .to_string();
    let manifest: Value = serde_json::from_str(&b.objects[&manifest_key]).unwrap();
    let listed = manifest["ResultFiles"]["SUCCEEDED"].as_array().unwrap();
    assert!(listed.len() >= 3, "{manifest}");
    let mut outputs = Vec::new();
    for (n, f) in listed.iter().enumerate() {
        let key = f["Key"].as_str().unwrap();
        assert!(key.ends_with(&format!("/SUCCEEDED_{n}.json")), "{key}");
        let body = &b.objects[key];
        assert_eq!(f["Size"], json!(body.len()));
        assert!(body.len() <= 2000, "{} bytes", body.len());
        for rec in serde_json::from_str::<Vec<Value>>(body).unwrap() {
            let out: Value = serde_json::from_str(rec["Output"].as_str().unwrap()).unwrap();
            outputs.push(out["i"].clone());
        }
    }
    assert_eq!(outputs, items, "every child once, in order");
    assert_eq!(manifest["ResultFiles"]["FAILED"], json!([]));
    // Parts: every one but an upload's last holds at least a part's size.
    let parts: Vec<(String, usize)> = r
        .calls
        .iter()
        .filter_map(|c| c.writer.as_ref()?.get("Part").cloned())
        .map(|p| {
            (
                p["UploadId"].as_str().unwrap().to_string(),
                p["Body"].as_str().unwrap().len(),
            )
        })
        .collect();
    assert!(
        parts.len() > listed.len(),
        "files are uploaded in several parts"
    );
    for (i, (id, len)) in parts.iter().enumerate() {
        let last = parts.get(i + 1).is_none_or(|(next, _)| next != id);
        assert!(last || *len >= 300, "part {i} of {id}: {len} bytes");
    }
}

/// A part that cannot be written fails the Map with States.ResultWriterFailed, and the upload
/// under way is aborted rather than left behind.
#[test]
fn a_failed_part_fails_the_map_and_aborts_the_upload() {
    let def = writing_map(
        json!({"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "big"}}),
        json!({"Type": "Pass", "Parameters": {"pad": "y".repeat(200)}, "End": true}),
        json!({}),
    );
    let bucket = Arc::new(Mutex::new(Bucket::default()));
    let config = Config {
        export: crate::step::ExportSizes {
            part: 300,
            file: 1 << 20,
        },
        ..Config::default()
    };
    let items: Vec<Value> = (0..10).map(|i| json!(i)).collect();
    let r = run_configured(
        def,
        json!(items),
        s3_writes(bucket.clone(), Some(2)),
        config,
    );
    assert_eq!(r.rec.status, Status::Failed);
    let failure = r.rec.failure.clone().unwrap();
    assert_eq!(failure.error.as_deref(), Some("States.ResultWriterFailed"));
    assert!(failure.cause.unwrap().contains("part lost"));
    let b = bucket.lock().unwrap();
    assert_eq!(b.aborted.len(), 1);
    assert!(b.uploads.is_empty() && b.objects.is_empty());
}

fn writing_map(writer: Value, processor: Value, extra: Value) -> Value {
    let mut m = json!({
        "Type": "Map", "ResultWriter": writer, "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": processor}}});
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    json!({"StartAt": "M", "States": {"M": m}})
}

/// The files a ResultWriter's request put, by key.
fn written(calls: &[TaskRequest]) -> (String, Vec<(String, Value)>) {
    let w = calls
        .iter()
        .find_map(|c| c.writer.clone())
        .expect("a writing request");
    let files = w["Files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let body = f["Body"].as_str().unwrap();
            // JSON Lines end with a newline; a JSON array does not.
            let value = if body.ends_with('\n') {
                Value::Array(
                    body.lines()
                        .map(|l| serde_json::from_str(l).unwrap())
                        .collect(),
                )
            } else {
                serde_json::from_str(body).unwrap()
            };
            (f["Key"].as_str().unwrap().to_string(), value)
        })
        .collect();
    (w["Bucket"].as_str().unwrap().to_string(), files)
}

#[test]
fn a_writer_config_alone_shapes_the_maps_result() {
    let pass = json!({"Type": "Pass", "Parameters": {"pair.$": "States.Array($.n, $.n)"}, "OutputPath": "$.pair", "End": true});
    let out = |t: &str| {
        let def = writing_map(
            json!({"WriterConfig": {"Transformation": t, "OutputType": "JSON"}}),
            pass.clone(),
            json!({}),
        );
        let r = run_with(
            def,
            json!([{"n": 1}, {"n": 2}]),
            Box::new(|_, _| unreachable!()),
        );
        assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
        r.rec.output.unwrap()
    };
    assert_eq!(out("COMPACT"), json!([[1, 1], [2, 2]]));
    assert_eq!(out("FLATTEN"), json!([1, 1, 2, 2]));
    let none = out("NONE");
    assert_eq!(none[0]["Status"], "SUCCEEDED");
    assert_eq!(none[0]["Output"], "[1,1]");
    assert_eq!(none[1]["Input"], r#"{"n":2}"#);
}

#[test]
fn a_result_writer_exports_to_s3_and_the_map_returns_where() {
    let def = writing_map(
        json!({"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket.$": "$.bucket", "Prefix": "jobs"}}),
        json!({"Type": "Pass", "End": true}),
        json!({"ItemsPath": "$.items", "ItemSelector": {"v.$": "$$.Map.Item.Value"}, "ResultSelector": {"where.$": "$.ResultWriterDetails"}}),
    );
    let r = run_with(
        def,
        json!({"bucket": "out", "items": [1, 2, 3]}),
        Box::new(|req, _| {
            assert_eq!(req.resource, "arn:aws:states:::s3:putObject");
            TaskOutcome::Succeeded(Value::Null)
        }),
    );
    let (rec, calls) = (&r.rec, &r.calls);
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    assert_eq!(calls.len(), 1);
    let (bucket, files) = written(calls);
    assert_eq!(bucket, "out");
    let keys: Vec<&str> = files.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys[0].starts_with("jobs/") && keys[0].ends_with("/SUCCEEDED_0.json"),
        "{keys:?}"
    );
    assert!(keys[1].ends_with("/manifest.json"), "{keys:?}");
    let where_ = &rec.output.as_ref().unwrap()["where"];
    assert_eq!(where_, &json!({"Bucket": "out", "Key": keys[1]}));
    let manifest = &files[1].1;
    assert_eq!(manifest["DestinationBucket"], "out");
    assert_eq!(manifest["ResultFiles"]["FAILED"], json!([]));
    assert_eq!(manifest["ResultFiles"]["PENDING"], json!([]));
    assert_eq!(manifest["ResultFiles"]["SUCCEEDED"][0]["Key"], keys[0]);
    let records = files[0].1.as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[2]["Input"], r#"{"v":3}"#);
    assert_eq!(records[2]["Output"], r#"{"v":3}"#);
    assert_eq!(records[2]["Status"], "SUCCEEDED");
    assert_ne!(records[0]["Name"], records[1]["Name"]);
    // The records name each child as the run's child executions are listed.
    assert_eq!(r.children.len(), 3);
    for (record, child) in records.iter().zip(&r.children) {
        assert_eq!(record["ExecutionArn"], child.execution_arn);
        assert_eq!(record["Name"], child.name);
    }
    // The run's record says it succeeded.
    assert_eq!(rec.map_runs[0].status, "SUCCEEDED");
    assert_eq!(manifest["MapRunArn"], json!(rec.map_runs[0].arn));
}

#[test]
fn a_failed_run_writes_what_failed_and_what_never_started_then_fails() {
    let def = writing_map(
        json!({"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": ""},
            "WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSONL"}}),
        json!({"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}], "Default": "Good"}),
        json!({"MaxConcurrency": 1}),
    );
    let mut def = def;
    def["States"]["M"]["ItemProcessor"]["States"]["Bad"] =
        json!({"Type": "Fail", "Error": "Item.Bad", "Cause": "two"});
    def["States"]["M"]["ItemProcessor"]["States"]["Good"] =
        json!({"Type": "Pass", "Result": "ok", "End": true});
    let r = run_with(
        def,
        json!([1, 2, 3, 4]),
        Box::new(|_, _| TaskOutcome::Succeeded(Value::Null)),
    );
    let rec = r.rec;
    assert_eq!(rec.status, Status::Failed);
    // The run fails on its threshold; the child's own error is in its record (FAILED_0.json).
    assert_eq!(
        rec.failure.as_ref().unwrap().error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    let (_, files) = written(&r.calls);
    let by = |suffix: &str| {
        files
            .iter()
            .find(|(k, _)| k.ends_with(suffix))
            .map(|(_, v)| v.clone())
    };
    let failed = by("/FAILED_0.json").unwrap();
    assert_eq!(failed[0]["Error"], "Item.Bad");
    assert_eq!(failed[0]["Cause"], "two");
    assert_eq!(failed[0]["Status"], "FAILED");
    let pending = by("/PENDING_0.json").unwrap();
    assert_eq!(pending.as_array().unwrap().len(), 2);
    assert_eq!(pending[0]["Status"], "PENDING");
    // COMPACT in JSON Lines: the one success's output, a line of its own.
    assert_eq!(by("/SUCCEEDED_0.json").unwrap(), json!(["ok"]));
    let manifest = by("/manifest.json").unwrap();
    assert_eq!(
        manifest["ResultFiles"]["PENDING"].as_array().unwrap().len(),
        1
    );
    assert!(
        !files[0].0.starts_with('/'),
        "an empty prefix adds no slash: {}",
        files[0].0
    );
    assert_eq!(rec.map_runs[0].status, "FAILED");
}

#[test]
fn a_write_that_fails_fails_the_map_with_result_writer_failed() {
    let def = writing_map(
        json!({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "gone", "Prefix": "p"}}),
        json!({"Type": "Pass", "End": true}),
        json!({}),
    );
    let r = run_with(
        def,
        json!([1]),
        Box::new(|_, _| TaskOutcome::Failed(Failure::new("S3.NoSuchBucketException", "no bucket"))),
    );
    let f = r.rec.failure.as_ref().unwrap();
    assert_eq!(f.error.as_deref(), Some("States.ResultWriterFailed"));
    assert!(f.cause.as_deref().unwrap().contains("NoSuchBucket"));
    assert_eq!(r.rec.map_runs[0].status, "FAILED");
    let t = types(&r.history);
    assert!(t.contains(&"MapRunFailed"), "{t:?}");
}

#[test]
fn a_token_reaches_the_task_and_its_answer_resumes_the_execution_once() {
    let (e, calls) = engine(Box::new(|_, _| TaskOutcome::Pending));
    let sm = machine(
        &e,
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
            "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message.$": "$$.Task.Token"}, "ResultPath": "$.answer", "End": true}}}),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let rec = e
            .start_execution(&sm, Some("x"), json!({"q": 1}))
            .await
            .unwrap();
        let rec = run_until_settled(&e, &rec.execution_arn).await.unwrap();
        assert_eq!(rec.status, Status::Running);
        let req = calls.lock().unwrap()[0].clone();
        assert_eq!(req.parameters["Message"], json!(req.token));
        let answer = Signal::TaskSucceeded {
            frame: req.frame.clone(),
            seq: req.seq,
            output: json!("yes"),
        };
        e.deliver(&rec.execution_arn, answer.clone()).await.unwrap();
        // The same answer delivered again changes nothing.
        e.deliver(&rec.execution_arn, answer).await.unwrap();
        let rec = e.describe(&rec.execution_arn).await.unwrap();
        assert_eq!(rec.status, Status::Succeeded);
        assert_eq!(rec.output, Some(json!({"q": 1, "answer": "yes"})));
        let h = e.store.history(&rec.execution_arn).await.unwrap();
        assert_eq!(
            h.iter()
                .filter(|ev| ev.event_type == "ExecutionSucceeded")
                .count(),
            1
        );
    });
}

#[test]
fn an_activity_waits_for_a_worker_and_its_answer() {
    use crate::activity::{Activity, ActivityStore};
    use crate::runner::TaskAnswer;
    let (e, calls) = engine(Box::new(|_, _| {
        panic!("activities do not reach the Tasks port")
    }));
    let activity = "arn:aws:states:us-east-1:123456789012:activity:review";
    let sm = machine(
        &e,
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": activity, "HeartbeatSeconds": 60,
                  "Parameters": {"doc.$": "$.doc"}, "ResultPath": "$.review", "Next": "Gone"},
            "Gone": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:missing", "End": true}}}),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        e.store
            .create_activity(&Activity {
                arn: activity.into(),
                name: "review".into(),
                created: t0(),
            })
            .await
            .unwrap();
        assert!(e.take_activity_task(activity, None).await.unwrap().is_none());
        let rec = e
            .start_execution(&sm, Some("x"), json!({"doc": "d1"}))
            .await
            .unwrap();
        run_dispatched(&e).await;
        let task = e
            .take_activity_task(activity, Some("worker-1"))
            .await
            .unwrap()
            .expect("a task for the worker");
        assert_eq!(task.input, json!({"doc": "d1"}));
        assert!(e.take_activity_task(activity, None).await.unwrap().is_none(), "taken once");
        e.answer_task(&task.token, TaskAnswer::Heartbeat).await.unwrap();
        e.answer_task(&task.token, TaskAnswer::Success(json!({"ok": true})))
            .await
            .unwrap();
        let rec = run_until_settled(&e, &rec.execution_arn).await.unwrap();
        // The next activity does not exist: the task fails at once.
        assert_eq!(rec.status, Status::Failed);
        assert_eq!(
            rec.failure.as_ref().unwrap().cause.as_deref(),
            Some("The activity 'arn:aws:states:us-east-1:123456789012:activity:missing' does not exist")
        );
        let h = e.store.history(&rec.execution_arn).await.unwrap();
        let t = types(&h);
        assert_eq!(
            &t[..7],
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "ActivityScheduled",
                "ActivityStarted",
                "ActivitySucceeded",
                "TaskStateExited",
                "TaskStateEntered"
            ]
        );
        assert_eq!(t[8], "ActivityFailed");
        assert_eq!(
            h[3].details_json()["activityStartedEventDetails"]["workerName"],
            "worker-1"
        );
        assert_eq!(
            h[2].details_json()["activityScheduledEventDetails"]["heartbeatInSeconds"],
            60
        );
        assert!(calls.lock().unwrap().is_empty());
    });
}

#[test]
fn oversized_outputs_fail_with_data_limit_exceeded() {
    let big = "x".repeat(300 * 1024);
    let r = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": big, "End": true}}}),
        json!({}),
    );
    let f = r.rec.failure.unwrap();
    assert_eq!(f.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        types(&r.history),
        ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]
    );
}

#[test]
fn execution_timeout_ends_a_long_wait() {
    let r = run(
        json!({"TimeoutSeconds": 10, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}}),
        json!({}),
    );
    assert_eq!(r.rec.status, Status::TimedOut);
    assert_eq!(types(&r.history).last(), Some(&"ExecutionTimedOut"));
    assert_eq!(secs_since_start(&r.history, "ExecutionTimedOut"), [10]);
}

#[test]
fn legacy_lambda_arns_have_lambda_events() {
    let r = run_with(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": true}}}),
        json!({}),
        Box::new(|_, _| TaskOutcome::Succeeded(json!(1))),
    );
    assert_eq!(
        types(&r.history),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[test]
fn map_history_snapshot() {
    let r = run(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true, "ResultPath": "$.out",
            "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
        json!({"items": ["a", "b"]}),
    );
    let mut events = serde_json::to_value(&r.history).unwrap();
    for e in events.as_array_mut().unwrap() {
        e["timestamp"] = json!("<ts>");
        if let Some(d) = e.get_mut("executionStartedEventDetails") {
            d["roleArn"] = json!("<role>");
        }
    }
    insta::assert_json_snapshot!(events);
}

#[test]
fn jsonata_task_arguments_result_output_and_assign() {
    let r = run_with(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": LAMBDA,
                  "Arguments": {"n": "{% $states.input.n * 2 %}"},
                  "Assign": {"doubled": "{% $states.result.value %}", "seen": "{% $states.input.n %}"},
                  "Output": {"v": "{% $states.result.value %}"},
                  "Next": "P"},
            "P": {"Type": "Pass", "Output": "{% {'sum': $doubled + $seen, 'prev': $states.input.v} %}", "End": true}
        }}),
        json!({"n": 21}),
        Box::new(|req, _| TaskOutcome::Succeeded(json!({"value": req.parameters["n"]}))),
    );
    assert_eq!(r.calls[0].parameters, json!({"n": 42}));
    assert_eq!(r.rec.output, Some(json!({"sum": 63, "prev": 42})));
    let exited = r
        .history
        .iter()
        .find(|e| e.event_type == "TaskStateExited")
        .unwrap();
    assert_eq!(
        exited.details_json()["stateExitedEventDetails"]["assignedVariables"],
        json!({"doubled": "42", "seen": "21"})
    );
}

#[test]
fn assign_and_output_see_the_variables_as_they_were_before_the_state() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"x": "{% $x + 1 %}"}, "Output": "{% $x %}", "Next": "C"},
            "C": {"Type": "Pass", "Output": "{% [$states.input, $x] %}", "End": true}
        }}),
        json!({}),
    );
    assert_eq!(r.rec.output, Some(json!([1, 2])));
}

#[test]
fn jsonpath_assign_reads_the_result_and_paths_read_variables() {
    let r = run(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Result": {"answer": 42}, "Assign": {"theAnswer.$": "$.answer", "literal": "$.not.a.path"}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"a.$": "$theAnswer", "l.$": "$literal", "f.$": "States.Format('{}!', $theAnswer)"}, "End": true}
        }}),
        json!({}),
    );
    assert_eq!(
        r.rec.output,
        Some(json!({"a": 42, "l": "$.not.a.path", "f": "42!"}))
    );
}

#[test]
fn inner_scopes_read_outer_variables_and_keep_their_own() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
            "Init": {"Type": "Pass", "Assign": {"factor": 10, "mine": "outer"}, "Next": "M"},
            "M": {"Type": "Map", "Items": [1, 2, 3], "ItemProcessor": {"StartAt": "Times", "States": {
                "Times": {"Type": "Pass", "Assign": {"mine": "inner"}, "Output": "{% $states.input * $factor %}", "Next": "Look"},
                "Look": {"Type": "Pass", "Output": "{% [$states.input, $mine] %}", "End": true}
            }}, "Next": "After"},
            "After": {"Type": "Pass", "Output": "{% {'results': $states.input, 'mine': $mine} %}", "End": true}
        }}),
        json!({}),
    );
    assert_eq!(
        r.rec.output,
        Some(json!({"results": [[10, "inner"], [20, "inner"], [30, "inner"]], "mine": "outer"}))
    );
}

#[test]
fn jsonata_catch_output_and_assign_see_the_error_output() {
    let r = run_with(
        json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": LAMBDA, "End": true,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done",
                             "Assign": {"why": "{% $states.errorOutput.Cause %}"},
                             "Output": {"failed": "{% $states.errorOutput.Error %}"}}]},
            "Done": {"Type": "Pass", "Output": "{% $merge([$states.input, {'why': $why}]) %}", "End": true}
        }}),
        json!({}),
        Box::new(|_, _| TaskOutcome::Failed(Failure::new("Boom", "it broke"))),
    );
    assert_eq!(
        r.rec.output,
        Some(json!({"failed": "Boom", "why": "it broke"}))
    );
}

#[test]
fn jsonata_errors_are_query_evaluation_errors_with_an_event() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Pass", "Output": {"x": "{% $number('abc') + $nope %}"}, "End": true}
        }}),
        json!({}),
    );
    let f = r.rec.failure.unwrap();
    assert_eq!(f.error.as_deref(), Some("States.QueryEvaluationError"));
    assert!(f.cause.unwrap().starts_with(
        "An error occurred while executing the state 'P' (entered at the event id #2)."
    ));
    assert_eq!(
        types(&r.history),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "EvaluationFailed",
            "ExecutionFailed"
        ]
    );
}

#[test]
fn query_evaluation_errors_can_be_caught() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {
            "M": {"Type": "Map", "Items": "{% 'not an array' %}", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                  "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Succeed"}
        }}),
        json!({}),
    );
    assert_eq!(r.rec.status, Status::Succeeded);
    assert_eq!(
        r.rec.output.unwrap()["Error"],
        json!("States.QueryEvaluationError")
    );
    assert_eq!(
        types(&r.history)[2..4],
        ["EvaluationFailed", "MapStateFailed"]
    );
}

#[test]
fn choice_conditions_and_rule_assignments() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Condition": "{% $states.input.n > 10 %}", "Next": "Big", "Assign": {"size": "big"}, "Output": {"n": "{% $states.input.n %}"}}
        ], "Default": "Small", "Assign": {"size": "small"}},
        "Big": {"Type": "Pass", "Output": "{% [$size, $states.input] %}", "End": true},
        "Small": {"Type": "Pass", "Output": "{% [$size, $states.input] %}", "End": true}
    }});
    assert_eq!(
        run(def.clone(), json!({"n": 11, "x": 1})).rec.output,
        Some(json!(["big", {"n": 11}]))
    );
    assert_eq!(
        run(def, json!({"n": 1})).rec.output,
        Some(json!(["small", {"n": 1}]))
    );
}

#[test]
fn oversized_variables_are_refused() {
    // Each copy fits in a variable, both together exceed what one Assign may hold.
    let big = "x".repeat(200 * 1024);
    let r = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Assign": {"a.$": "$.big", "b.$": "$.big"}, "End": true}}}),
        json!({"big": big}),
    );
    assert_eq!(
        r.rec.failure.unwrap().error.as_deref(),
        Some("States.DataLimitExceeded")
    );
}

#[test]
fn jsonata_wait_and_fail_fields() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "F"},
            "F": {"Type": "Fail", "Error": "{% 'E' & $states.input.s %}", "Cause": "{% $string($states.input) %}"}
        }}),
        json!({"s": 30}),
    );
    assert_eq!(r.rec.failure, Some(Failure::new("E30", "{\"s\":30}")));
    assert_eq!(secs_since_start(&r.history, "WaitStateExited"), [30]);
}

#[test]
fn redrive_runs_again_from_the_failed_state() {
    let (e, _calls) = engine(Box::new(|_, n| {
        if n == 1 {
            TaskOutcome::Failed(Failure::new("Flaky", "first time"))
        } else {
            TaskOutcome::Succeeded(json!("second time"))
        }
    }));
    let sm = machine(
        &e,
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "T"},
            "T": {"Type": "Task", "Resource": LAMBDA, "ResultPath": "$.t", "End": true}
        }}),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let rec = e.start_execution(&sm, Some("r"), json!({})).await.unwrap();
        let rec = run_until_settled(&e, &rec.execution_arn).await.unwrap();
        assert_eq!(rec.status, Status::Failed);
        let rec = e.redrive(&rec.execution_arn).await.unwrap();
        let rec = run_until_settled(&e, &rec.execution_arn).await.unwrap();
        assert_eq!(rec.status, Status::Succeeded);
        assert_eq!(rec.redrive_count, 1);
        assert_eq!(rec.output, Some(json!({"a": 1, "t": "second time"})));
        let h = e.store.history(&rec.execution_arn).await.unwrap();
        let t = types(&h);
        let redriven = t.iter().position(|x| *x == "ExecutionRedriven").unwrap();
        // Pass A is not run again; T is.
        assert_eq!(t[redriven + 1], "TaskStateEntered");
        assert_eq!(t.iter().filter(|x| **x == "PassStateEntered").count(), 1);
        // A succeeded execution cannot be redriven.
        assert!(matches!(
            e.redrive(&rec.execution_arn).await,
            Err(crate::runner::EngineError::ExecutionNotRedrivable(_))
        ));
    });
}

/// Runs `def` until it fails, redrives it, and runs it again: the calls of each attempt (the
/// `n` each task was given) and the redriven execution's record and history.
fn fail_then_redrive(def: Value, fail_once: i64, pad: usize) -> (Vec<i64>, Vec<i64>, Run) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let failed = Arc::new(AtomicBool::new(false));
    let (e, calls) = engine(Box::new(move |req, _| {
        let n = req.parameters["n"].as_i64().unwrap();
        if n == fail_once && !failed.swap(true, Ordering::SeqCst) {
            return TaskOutcome::Failed(Failure::new("Flaky", "first time"));
        }
        match pad {
            0 => TaskOutcome::Succeeded(json!(n * 10)),
            _ => TaskOutcome::Succeeded(json!("x".repeat(pad))),
        }
    }));
    let sm = machine(&e, def);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let ns = |calls: &[TaskRequest]| -> Vec<i64> {
        calls
            .iter()
            .map(|c| c.parameters["n"].as_i64().unwrap())
            .collect()
    };
    rt.block_on(async {
        let rec = e
            .start_execution(&sm, Some("r"), json!({"items": [0, 1, 2, 3, 4]}))
            .await
            .unwrap();
        let rec = run_until_settled(&e, &rec.execution_arn).await.unwrap();
        assert_eq!(rec.status, Status::Failed);
        let first = ns(&calls.lock().unwrap());
        calls.lock().unwrap().clear();
        e.redrive(&rec.execution_arn).await.unwrap();
        let rec = run_until_settled(&e, &rec.execution_arn).await.unwrap();
        let second = ns(&calls.lock().unwrap());
        let history = e.store.history(&rec.execution_arn).await.unwrap();
        let run = Run {
            rec,
            history,
            calls: Vec::new(),
            children: Vec::new(),
            child_histories: Vec::new(),
        };
        (first, second, run)
    })
}

/// RedriveExecution "reschedules and redrives only the iterations and branches that failed or
/// aborted" of an inline Map: the iterations that succeeded keep their results.
#[test]
fn a_redrive_runs_only_the_map_iterations_that_did_not_succeed() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
        "MaxConcurrency": 1, "End": true,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA,
            "Parameters": {"n.$": "$"}, "End": true}}}}}});
    let (first, second, r) = fail_then_redrive(def, 2, 0);
    assert_eq!(first, [0, 1, 2]);
    assert_eq!(second, [2, 3, 4], "iterations 0 and 1 are not run again");
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    assert_eq!(r.rec.output, Some(json!([0, 10, 20, 30, 40])));
    let t = types(&r.history);
    let redriven = t.iter().position(|x| *x == "ExecutionRedriven").unwrap();
    assert_eq!(t[redriven + 1], "MapStateEntered");
    let iterations: Vec<u64> = r.history[redriven..]
        .iter()
        .filter(|e| e.event_type == "MapIterationStarted")
        .map(|e| {
            e.details_json()["mapIterationStartedEventDetails"]["index"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(iterations, [2, 3, 4]);
}

/// What a redrive keeps is bounded: past 128 KiB of results the Map runs again as a whole.
#[test]
fn a_map_whose_results_are_too_large_to_keep_runs_again_whole() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
        "MaxConcurrency": 1, "End": true, "ResultSelector": {"done": true},
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA,
            "Parameters": {"n.$": "$"}, "End": true}}}}}});
    let (first, second, r) = fail_then_redrive(def.clone(), 3, 50_000);
    assert_eq!(first, [0, 1, 2, 3]);
    assert_eq!(second, [0, 1, 2, 3, 4]);
    assert_eq!(r.rec.output, Some(json!({"done": true})));
    // Two results of 50 KB are kept.
    let (_, second, _) = fail_then_redrive(def, 2, 50_000);
    assert_eq!(second, [2, 3, 4]);
}

/// The same for a Parallel's branches: the one that failed and the one aborted run again.
#[test]
fn a_redrive_runs_only_the_parallel_branches_that_did_not_succeed() {
    let branch = |n: i64| {
        let name = format!("T{n}");
        json!({"StartAt": name, "States": {name: {"Type": "Task",
        "Resource": LAMBDA, "Parameters": {"n": n}, "End": true}}})
    };
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": [branch(0), branch(1), branch(2)]}}});
    let (first, second, r) = fail_then_redrive(def, 1, 0);
    // Branch 2 was aborted when branch 1 failed, before its task ran.
    assert_eq!(first, [0, 1]);
    assert_eq!(second, [1, 2], "branch 0 succeeded and does not run again");
    assert_eq!(r.rec.output, Some(json!([0, 10, 20])));
}

/// A Retry runs the whole Map again (only a redrive keeps what succeeded), and what a caught
/// failure kept is not used by a later failure of the same state.
#[test]
fn a_retried_map_runs_every_iteration_again() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
        "MaxConcurrency": 1, "End": true,
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA,
            "Parameters": {"n.$": "$"}, "End": true}}}}}});
    let r = run_with(
        def,
        json!({"items": [0, 1, 2]}),
        Box::new(|req, n| {
            if n == 2 {
                return TaskOutcome::Failed(Failure::new("Flaky", "once"));
            }
            TaskOutcome::Succeeded(req.parameters["n"].clone())
        }),
    );
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    let ns: Vec<&Value> = r.calls.iter().map(|c| &c.parameters["n"]).collect();
    assert_eq!(ns, [&json!(0), &json!(1), &json!(0), &json!(1), &json!(2)]);
}

/// A caught failure keeps nothing for a redrive: the record does not carry the results for
/// the rest of the run, and a later failure of the same state runs it whole.
#[test]
fn a_caught_map_failure_keeps_nothing_for_a_redrive() {
    let def = json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "Next": "Done",
            "Catch": [{"ErrorEquals": ["Flaky"], "ResultPath": "$.error", "Next": "Wait"}],
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task",
                "Resource": LAMBDA, "Parameters": {"n.$": "$"}, "End": true}}}},
        "Wait": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"n": -1}, "End": true},
        "Done": {"Type": "Succeed"}}});
    let (e, _calls) = engine(Box::new(|req, _| match req.parameters["n"].as_i64() {
        Some(1) => TaskOutcome::Failed(Failure::new("Flaky", "always")),
        Some(-1) => TaskOutcome::Pending,
        n => TaskOutcome::Succeeded(json!(n)),
    }));
    let sm = machine(&e, def);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let rec = e
            .start_execution(&sm, Some("c"), json!({"items": [0, 1, 2]}))
            .await
            .unwrap();
        let rec = run_until_settled(&e, &rec.execution_arn).await.unwrap();
        assert_eq!(rec.status, Status::Running);
        assert_eq!(rec.frames.get("").map(|f| f.state.as_str()), Some("Wait"));
        assert_eq!(rec.kept, None);
    });
}

#[test]
fn task_answers_are_checked_against_the_waiting_task() {
    let (e, calls) = engine(Box::new(|_, _| TaskOutcome::Pending));
    let sm = machine(
        &e,
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "HeartbeatSeconds": 60, "End": true}}}),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        use crate::runner::{EngineError, TaskAnswer};
        let rec = e.start_execution(&sm, Some("t"), json!({})).await.unwrap();
        run_dispatched(&e).await;
        let token = calls.lock().unwrap()[0].token.clone();
        assert!(matches!(
            e.answer_task("nope", TaskAnswer::Heartbeat).await,
            Err(EngineError::TaskDoesNotExist)
        ));
        e.answer_task(&token, TaskAnswer::Heartbeat).await.unwrap();
        e.answer_task(&token, TaskAnswer::Failure(Failure::new("Denied", "no")))
            .await
            .unwrap();
        // Used once: a second answer finds nothing waiting.
        assert!(matches!(
            e.answer_task(&token, TaskAnswer::Success(json!(1))).await,
            Err(EngineError::TaskTimedOut)
        ));
        let rec = e.describe(&rec.execution_arn).await.unwrap();
        assert_eq!(rec.failure, Some(Failure::new("Denied", "no")));
    });
}

#[test]
fn recovery_performs_unacknowledged_effects_again() {
    let (e, calls) = engine(Box::new(|_, _| TaskOutcome::Pending));
    let sm = machine(
        &e,
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": LAMBDA, "End": true}}}),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let rec = e.start_execution(&sm, Some("c"), json!({})).await.unwrap();
        run_until_settled(&e, &rec.execution_arn).await.unwrap();
        assert_eq!(calls.lock().unwrap().len(), 1);
        // Everything was acknowledged: nothing to redo.
        assert_eq!(e.recover().await.unwrap(), 0);
        // Pretend the process died between the commit and the effects of a step.
        let rec = e.describe(&rec.execution_arn).await.unwrap();
        let invoke = crate::step::Effect::Invoke(Box::new(calls.lock().unwrap()[0].clone()));
        let next = ExecutionRecord {
            version: rec.version + 1,
            ..rec.clone()
        };
        let effects = [invoke];
        let w = crate::write_set::WriteSet::diff(&rec, &next, &[], &effects, t0());
        e.store.commit((), &w).await.unwrap();
        assert_eq!(e.recover().await.unwrap(), 1);
        run_until_settled(&e, &rec.execution_arn).await.unwrap();
        assert_eq!(
            calls.lock().unwrap().len(),
            2,
            "the task is invoked again, at least once per attempt"
        );
        assert_eq!(e.recover().await.unwrap(), 0);
    });
}

/// A StartExecution sent again after the store's answer to its create was lost finds the
/// record it made, not yet stepped, and starts it; anything else under the name is taken.
#[test]
fn a_start_whose_create_answer_was_lost_goes_on() {
    use crate::runner::EngineError;
    let (e, _) = engine(Box::new(|_, _| {
        TaskOutcome::Failed(Failure::new("NoTasks", "none"))
    }));
    let sm = machine(
        &e,
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // The first attempt's create landed; its answer did not.
        let made = e.new_execution(&sm, "again".into(), json!({"a": 1}), None);
        e.store.create(&made).await.unwrap();
        let started = e
            .start_execution(&sm, Some("again"), json!({"a": 1}))
            .await
            .expect("the start goes on");
        assert_eq!(started.execution_arn, made.execution_arn);
        let done = run_until_settled(&e, &started.execution_arn).await.unwrap();
        assert_eq!(done.status, Status::Succeeded);
        let history = e.store.history(&done.execution_arn).await.unwrap();
        assert_eq!(
            types(&history),
            [
                "ExecutionStarted",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ]
        );
        // Stepped already, or with another input: the name is taken.
        let again = e.start_execution(&sm, Some("again"), json!({"a": 1})).await;
        assert!(matches!(again, Err(EngineError::ExecutionAlreadyExists(_))));
        let other = e.new_execution(&sm, "other".into(), json!({"a": 1}), None);
        e.store.create(&other).await.unwrap();
        let different = e.start_execution(&sm, Some("other"), json!({"a": 2})).await;
        assert!(matches!(
            different,
            Err(EngineError::ExecutionAlreadyExists(_))
        ));
    });
}

// ----- limits: the history quota, bounded steps, StopExecution between steps --------------

/// A counter loop that ends after `n` turns: 4 events a turn, 4 around them.
fn counter_loop(n: u64) -> Value {
    json!({"StartAt": "Inc", "States": {
        "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": n, "Next": "Done"}], "Default": "Inc"},
        "Done": {"Type": "Succeed"}
    }})
}

/// AWS: when event 25,000 is `ExecutionSucceeded` the execution succeeds; any other event
/// there is replaced by an `ExecutionFailed` with `States.Runtime`.
#[test]
fn the_history_quota_ends_an_execution_at_event_25000() {
    // 4 * 6249 + 4 = 25,000 events: the last one is the success.
    let fits = run(counter_loop(6249), json!({"n": 0}));
    assert_eq!(fits.rec.status, Status::Succeeded, "{:?}", fits.rec.failure);
    assert_eq!(fits.history.len(), 25_000);
    assert_eq!(
        fits.history.last().unwrap().event_type,
        "ExecutionSucceeded"
    );

    // One turn more: event 25,000 would be a state's; the execution fails there instead.
    let over = run(counter_loop(6250), json!({"n": 0}));
    assert_eq!(over.rec.status, Status::Failed);
    assert_eq!(
        over.rec.failure,
        Some(Failure::new(
            "States.Runtime",
            "The execution reached the maximum number of history events (25000)."
        ))
    );
    assert_eq!(over.history.len(), 25_000);
    let last = over.history.last().unwrap();
    assert_eq!((last.id, last.previous_event_id), (25_000, 24_999));
    assert_eq!(last.event_type, "ExecutionFailed");
    assert_eq!(
        last.details_json()["executionFailedEventDetails"]["error"],
        "States.Runtime"
    );
    // Ids stay contiguous up to the end.
    assert!(over
        .history
        .iter()
        .enumerate()
        .all(|(i, e)| e.id == i as u64 + 1));
}

#[test]
fn a_loop_without_a_wait_fails_at_the_quota_instead_of_running_for_ever() {
    let r = run(
        json!({"StartAt": "Spin", "States": {
            "Spin": {"Type": "Pass", "Next": "Again"},
            "Again": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "End"}], "Default": "Spin"},
            "End": {"Type": "Succeed"}
        }}),
        json!({}),
    );
    assert_eq!(r.rec.status, Status::Failed);
    assert_eq!(
        r.rec.failure.unwrap().error.as_deref(),
        Some("States.Runtime")
    );
    assert_eq!(r.history.len(), 25_000);
}

#[test]
fn an_inline_map_too_large_for_the_history_fails_at_the_quota() {
    let items: Vec<u64> = (0..30_000).collect();
    let r = run(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "P",
                "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}}),
        json!({"items": items}),
    );
    assert_eq!(r.rec.status, Status::Failed);
    assert_eq!(
        r.rec.failure.unwrap().error.as_deref(),
        Some("States.Runtime")
    );
    assert_eq!(r.history.len(), 25_000);
}

/// A step covers at most the budget's transitions, then yields: StartExecution comes back
/// after bounded work, and a StopExecution lands before the next turn.
#[test]
fn steps_yield_and_a_stop_lands_between_them() {
    let (mut e, _) = engine(Box::new(|_, _| TaskOutcome::Pending));
    e.config.step_budget = 50;
    e.config.budget_per_frame = 0;
    let sm = machine(
        &e,
        json!({"StartAt": "Spin", "States": {
            "Spin": {"Type": "Pass", "Next": "Again"},
            "Again": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "End"}], "Default": "Spin"},
            "End": {"Type": "Succeed"}
        }}),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let rec = e
            .start_execution(&sm, Some("spin"), json!({}))
            .await
            .unwrap();
        assert_eq!(rec.status, Status::Running);
        // ExecutionStarted, then 50 units of work (a state entered, a state run), an event
        // each.
        assert_eq!(rec.next_event_id, 1 + 1 + 50);
        let arn = rec.execution_arn.clone();
        // One more turn: still bounded.
        let Some((_, _, Work::Signal(resume))) = e.scheduler.pop() else {
            panic!("the step yields with a resume signal");
        };
        assert!(matches!(resume, Signal::Resume { turn: 1 }));
        e.deliver(&arn, resume.clone()).await.unwrap();
        assert_eq!(e.describe(&arn).await.unwrap().next_event_id, 1 + 1 + 100);
        // The stop lands between two turns; the queued resume finds the execution over.
        let stopped = e.stop(&arn, Some("Enough".into()), None).await.unwrap();
        assert_eq!(stopped.status, Status::Aborted);
        let events = stopped.next_event_id;
        let rec = run_until_settled(&e, &arn).await.unwrap();
        assert_eq!(rec.status, Status::Aborted);
        // A resume delivered again (a duplicate) changes nothing either.
        e.deliver(&arn, resume).await.unwrap();
        assert_eq!(e.describe(&arn).await.unwrap().next_event_id, events);
        let h = e.store.history(&arn).await.unwrap();
        assert_eq!(h.last().unwrap().event_type, "ExecutionAborted");
    });
}

/// Yielding changes nothing in what an execution does: the same events (branches may
/// interleave differently, as on AWS), the same output, whatever the budget. A budget per
/// frame takes fewer steps for the same run.
#[test]
fn a_small_budget_gives_the_same_run() {
    let def = json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 3,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "W"}], "Default": "Q"},
                "W": {"Type": "Wait", "Seconds": 0, "Next": "Q"},
                "Q": {"Type": "Pass", "End": true}}},
            "End": true}}},
        {"StartAt": "L", "States": {"L": {"Type": "Pass", "Result": "b", "End": true}}}
    ]}}});
    let input = json!({"items": [1, 2, 3, 4, 5, 6, 7]});
    let whole = run(def.clone(), input.clone());
    let mut steps = std::collections::HashMap::new();
    for (budget, per_frame) in [(1, 0), (2, 0), (3, 0), (7, 0), (1, 4), (2, 4)] {
        let (mut e, _) = engine(Box::new(|_, _| TaskOutcome::Pending));
        e.config.step_budget = budget;
        e.config.budget_per_frame = per_frame;
        let sm = machine(&e, def.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let rec = e
                .start_execution(&sm, Some("exec"), input.clone())
                .await
                .unwrap();
            let rec = run_until_settled(&e, &rec.execution_arn).await.unwrap();
            assert_eq!(rec.status, Status::Succeeded, "budget {budget}");
            assert_eq!(rec.output, whole.rec.output, "budget {budget}");
            let h = e.store.history(&rec.execution_arn).await.unwrap();
            let strip = |h: &[HistoryEvent]| -> Vec<(String, String)> {
                let mut all: Vec<(String, String)> = h
                    .iter()
                    .map(|e| {
                        (
                            e.event_type.to_string(),
                            Value::Object(e.details_json()).to_string(),
                        )
                    })
                    .collect();
                all.sort();
                all
            };
            assert!(h.iter().enumerate().all(|(i, e)| e.id == i as u64 + 1));
            assert_eq!(strip(&h), strip(&whole.history), "budget {budget}");
            steps.insert((budget, per_frame), rec.version);
        });
    }
    for budget in [1, 2] {
        assert!(
            steps[&(budget, 4)] < steps[&(budget, 0)],
            "budget {budget}: {steps:?}"
        );
    }
}

/// `depth` arrays inside each other around a number (`depth` 1: `[0]`).
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(0), |v, _| json!([v]))
}

#[test]
fn values_nested_deeper_than_the_limit_fail_instead_of_being_stored() {
    use crate::step::MAX_PAYLOAD_DEPTH;
    // A loop that wraps its input in an object each round.
    let r = run(
        json!({"StartAt": "Wrap", "States": {
            "Wrap": {"Type": "Pass", "Parameters": {"a.$": "$"}, "Next": "Check"},
            "Check": {"Type": "Choice",
                      "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
                      "Default": "Wrap"},
            "Done": {"Type": "Succeed"}}}),
        json!({}),
    );
    let f = r.rec.failure.unwrap();
    assert_eq!(f.error.as_deref(), Some("States.DataLimitExceeded"));
    let cause = f.cause.unwrap();
    assert!(
        cause.contains("nested more than 100 levels deep"),
        "{cause}"
    );
    let rounds = types(&r.history)
        .iter()
        .filter(|t| **t == "PassStateExited")
        .count();
    assert_eq!(rounds, MAX_PAYLOAD_DEPTH - 1);

    // A task's result.
    let r = run_with(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": true}}}),
        json!({}),
        Box::new(|_, _| TaskOutcome::Succeeded(nested(MAX_PAYLOAD_DEPTH + 1))),
    );
    let f = r.rec.failure.unwrap();
    assert_eq!(f.error.as_deref(), Some("States.DataLimitExceeded"));
    let r = run_with(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": true}}}),
        json!({}),
        Box::new(|_, _| TaskOutcome::Succeeded(nested(MAX_PAYLOAD_DEPTH))),
    );
    assert_eq!(r.rec.output, Some(nested(MAX_PAYLOAD_DEPTH)));

    // A variable.
    let r = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Assign": {"v": {"w.$": "$"}}, "End": true}}}),
        nested(MAX_PAYLOAD_DEPTH),
    );
    let f = r.rec.failure.unwrap();
    assert_eq!(f.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(f.cause.unwrap().contains("variable 'v'"));

    // The input.
    let (e, _) = engine(Box::new(|_, _| TaskOutcome::Pending));
    let sm = machine(
        &e,
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = rt
        .block_on(e.start_execution(&sm, None, nested(MAX_PAYLOAD_DEPTH + 1)))
        .unwrap_err();
    assert!(
        matches!(&err, crate::runner::EngineError::InvalidExecutionInput(m) if m.contains("nested more than 100")),
        "{err}"
    );
}

/// The catcher's events follow `{Map,Parallel}StateFailed` directly, and chain to it: AWS
/// records no `…StateExited` for a state that failed, caught or not, and the catcher's
/// transition is the next thing in the history.
fn assert_caught_after(r: &Run, failed: &str, catcher_entered: &str) {
    let t = types(&r.history);
    let at = t
        .iter()
        .position(|e| *e == failed)
        .unwrap_or_else(|| panic!("no {failed} in {t:?}"));
    assert_eq!(t[at + 1], catcher_entered, "{t:?}");
    assert_eq!(
        r.history[at + 1].previous_event_id,
        r.history[at].id,
        "{t:?}"
    );
    assert!(
        !t.contains(&"MapStateExited") && !t.contains(&"ParallelStateExited"),
        "{t:?}"
    );
}

#[test]
fn a_caught_map_failure_records_map_state_failed_then_the_catcher() {
    let r = run(
        json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "MaxConcurrency": 1, "Next": "Done", "ItemsPath": "$.xs",
                  "ItemProcessor": {"StartAt": "C", "States": {
                      "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}], "Default": "P"},
                      "F": {"Type": "Fail", "Error": "Boom", "Cause": "two"},
                      "P": {"Type": "Pass", "End": true}}},
                  "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Caught"}]},
            "Caught": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }}),
        json!({"xs": [1, 2, 3]}),
    );
    assert_eq!(r.rec.status, Status::Succeeded);
    assert_eq!(
        r.rec.output,
        Some(json!({"xs": [1, 2, 3], "err": {"Error": "Boom", "Cause": "two"}}))
    );
    assert_eq!(
        types(&r.history),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapIterationStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "FailStateEntered",
            "MapIterationFailed",
            "MapStateFailed",
            "PassStateEntered",
            "PassStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_caught_after(&r, "MapStateFailed", "PassStateEntered");
}

#[test]
fn a_caught_map_failure_aborts_the_other_iterations_first() {
    let r = run_with(
        json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "End": true,
                  "ItemProcessor": {"StartAt": "C", "States": {
                      "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "F"}], "Default": "T"},
                      "F": {"Type": "Fail", "Error": "Boom"},
                      "T": {"Type": "Task", "Resource": LAMBDA, "End": true}}},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
            "Caught": {"Type": "Pass", "End": true}
        }}),
        json!([0, 1]),
        Box::new(|_, _| TaskOutcome::Pending),
    );
    assert_eq!(r.rec.status, Status::Succeeded);
    let t = types(&r.history);
    let failed = t.iter().position(|e| *e == "MapStateFailed").unwrap();
    assert_eq!(
        t[failed - 2..],
        [
            "MapIterationFailed",
            "MapIterationAborted",
            "MapStateFailed",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_caught_after(&r, "MapStateFailed", "PassStateEntered");
}

#[test]
fn a_caught_parallel_failure_records_parallel_state_failed_then_the_catcher() {
    let r = run_with(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "Done", "Branches": [
                {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": LAMBDA, "End": true}}},
                {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "b"}}}],
                  "Catch": [{"ErrorEquals": ["Broken"], "Next": "Caught"}]},
            "Caught": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }}),
        json!({}),
        Box::new(|_, _| TaskOutcome::Pending),
    );
    assert_eq!(r.rec.status, Status::Succeeded);
    assert_eq!(r.rec.output, Some(json!({"Error": "Broken", "Cause": "b"})));
    let t = types(&r.history);
    let failed = t.iter().position(|e| *e == "ParallelStateFailed").unwrap();
    assert_eq!(t[failed - 1], "FailStateEntered", "{t:?}");
    assert_eq!(
        t[failed..],
        [
            "ParallelStateFailed",
            "PassStateEntered",
            "PassStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_caught_after(&r, "ParallelStateFailed", "PassStateEntered");
}

#[test]
fn a_caught_distributed_map_failure_records_the_map_run_then_the_catcher() {
    let r = run(
        json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "End": true,
                  "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                                    "StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom"}}},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]},
            "Caught": {"Type": "Pass", "End": true}
        }}),
        json!([1, 2]),
    );
    assert_eq!(r.rec.status, Status::Succeeded);
    assert_eq!(
        types(&r.history),
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunFailed",
            "MapStateFailed",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_caught_after(&r, "MapStateFailed", "PassStateEntered");
    // The run failed on its (default, zero) tolerated failure threshold, not on the child's
    // own error, which only the child's history holds.
    let failed = r
        .history
        .iter()
        .find(|e| e.event_type == "MapRunFailed")
        .expect("MapRunFailed")
        .details_json();
    assert_eq!(
        failed["mapRunFailedEventDetails"]["error"],
        json!("States.ExceedToleratedFailureThreshold"),
        "{failed:?}"
    );
    assert_eq!(
        r.rec.output,
        Some(json!({"Error": "States.ExceedToleratedFailureThreshold",
                    "Cause": "The specified tolerated failure threshold was exceeded"}))
    );
}

/// The state's JSONata fields keep JSONata 2.0.6's shapes through `$states` and variables:
/// a sequence of one is its item, an array of one (input, variable, `$range`) stays an array.
#[test]
fn jsonata_fields_keep_the_shapes_of_sequences_and_arrays_of_one() {
    let r = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B",
                  "Assign": {"z": "{% $states.input.xs %}", "y": "{% $states.input.items %}"},
                  "Output": {
                      "xs": "{% $states.input.xs %}",
                      "first": "{% $states.input.xs[0] %}",
                      "names": "{% $states.input.items.name %}",
                      "f": "{% $filter($states.input.nums, function($v){$v=2}) %}",
                      "m": "{% $map($states.input.xs, function($v){$v}) %}",
                      "r": "{% $range(1, 1) %}",
                      "p": "{% $partition($states.input.xs, 1) %}"}},
            "B": {"Type": "Pass", "End": true,
                  "Output": {"prev": "{% $states.input %}", "z": "{% $z %}", "yn": "{% $y.name %}"}}
        }}),
        json!({"xs": [7], "items": [{"name": "a"}], "nums": [1, 2, 3]}),
    );
    assert_eq!(r.rec.status, Status::Succeeded);
    assert_eq!(
        r.rec.output,
        Some(json!({
            "prev": {"xs": [7], "first": 7, "names": "a", "f": 2, "m": 7, "r": [1], "p": [[7]]},
            "z": [7],
            "yn": "a"
        }))
    );
}

fn distributed_map(batcher: Value, selector: Option<Value>) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Echo",
            "States": {"Echo": {"Type": "Pass", "End": true}}
        },
        "ItemsPath": "$.items",
        "ItemBatcher": batcher,
        "End": true
    });
    if let Some(s) = selector {
        map["ItemSelector"] = s;
    }
    json!({"StartAt": "M", "States": {"M": map}})
}

#[test]
fn an_item_batcher_gives_each_child_a_batch() {
    // The issue's example: AWS gives [{"Items":[1,2]},{"Items":[3]}].
    let r = run(
        distributed_map(json!({"MaxItemsPerBatch": 2}), None),
        json!({"items": [1, 2, 3]}),
    );
    assert_eq!(
        r.rec.output,
        Some(json!([{"Items": [1, 2]}, {"Items": [3]}]))
    );
    // ItemSelector runs on every item first; BatchInput is evaluated on the Map's input.
    let r = run(
        distributed_map(
            json!({"MaxItemsPerBatchPath": "$.size", "BatchInput": {"owner.$": "$.owner", "fixed": 1}}),
            Some(json!({"n.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"})),
        ),
        json!({"items": ["a", "b", "c"], "size": 2, "owner": "ops"}),
    );
    assert_eq!(
        r.rec.output,
        Some(json!([
            {"BatchInput": {"owner": "ops", "fixed": 1}, "Items": [{"n": "a", "i": 0}, {"n": "b", "i": 1}]},
            {"BatchInput": {"owner": "ops", "fixed": 1}, "Items": [{"n": "c", "i": 2}]}
        ]))
    );
    // By size: {"Items":["aaaa","bbbb"]} is 25 bytes.
    let r = run(
        distributed_map(json!({"MaxInputBytesPerBatch": 25}), None),
        json!({"items": ["aaaa", "bbbb", "cccc"]}),
    );
    assert_eq!(
        r.rec.output,
        Some(json!([{"Items": ["aaaa", "bbbb"]}, {"Items": ["cccc"]}]))
    );
    // A bad path value fails the state as AWS's runtime errors do.
    let r = run(
        distributed_map(json!({"MaxItemsPerBatchPath": "$.size"}), None),
        json!({"items": [1], "size": 0}),
    );
    assert_eq!(
        r.rec.failure.unwrap().error.as_deref(),
        Some("States.Runtime")
    );
}

#[test]
fn a_jsonata_item_batcher_evaluates_its_expressions() {
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map",
        "Items": "{% $states.input.items %}",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Count",
            "States": {"Count": {"Type": "Pass", "Output": "{% $count($states.input.Items) %}", "End": true}}
        },
        "ItemBatcher": {"MaxItemsPerBatch": "{% $states.input.size %}", "BatchInput": {"total": "{% $count($states.input.items) %}"}},
        "End": true
    }}});
    let r = run(def, json!({"items": [1, 2, 3, 4, 5], "size": 2}));
    assert_eq!(r.rec.output, Some(json!([2, 2, 1])));
}

/// A STANDARD child's history is its own: numbered from 1, chained by previousEventId,
/// holding the events of states nested in it (a Parallel here), its retries and its end;
/// the parent's holds none of them. EXPRESS children keep none.
#[test]
fn standard_children_keep_histories_of_their_own() {
    let def = |execution_type: &str| {
        json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "ToleratedFailureCount": 1, "End": true,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                "StartAt": "Both",
                "States": {
                    "Both": {"Type": "Parallel", "Next": "Check", "Branches": [
                        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                        {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 2, "End": true}}}
                    ]},
                    "Check": {"Type": "Task", "Resource": LAMBDA, "OutputPath": "$.Payload",
                        "Retry": [{"ErrorEquals": ["Again"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                        "End": true}
                }
            }
        }}})
    };
    // Item 1's task fails twice (once retried), item 2's succeeds at once.
    let script = || -> Script {
        Box::new(|req, _| {
            if req.parameters[0] == json!(1) {
                TaskOutcome::Failed(Failure::new("Again", "no"))
            } else {
                TaskOutcome::Succeeded(json!({"Payload": "ok"}))
            }
        })
    };
    let r = run_with(def("STANDARD"), json!({"items": [1, 2]}), script());
    assert_eq!(r.rec.status, Status::Succeeded, "{:?}", r.rec.failure);
    assert_eq!(r.children.len(), 2);
    for h in &r.child_histories {
        for (n, e) in h.iter().enumerate() {
            assert_eq!(e.id, n as u64 + 1, "{:?}", types(h));
        }
        assert_eq!(h[0].previous_event_id, 0);
    }
    let failed = &r.child_histories[0];
    assert_eq!(
        types(failed),
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "ExecutionFailed",
        ]
    );
    assert_eq!(
        r.children[0].failure.as_ref().unwrap().error.as_deref(),
        Some("Again")
    );
    let succeeded = &r.child_histories[1];
    assert_eq!(succeeded.last().unwrap().event_type, "ExecutionSucceeded");
    assert!(types(&r.history)
        .iter()
        .all(|t| !t.starts_with("Parallel") && !t.starts_with("Task")));

    let r = run_with(def("EXPRESS"), json!({"items": [1, 2]}), script());
    assert_eq!(r.children.len(), 2);
    assert!(r.child_histories.iter().all(Vec::is_empty));
}

/// A run that fails aborts the STANDARD children still running, and their histories end so.
#[test]
fn a_failed_run_ends_the_histories_of_the_children_it_aborts() {
    let def = json!({"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "End": true,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Which",
            "States": {
                "Which": {"Type": "Choice", "Default": "Later",
                    "Choices": [{"Variable": "$", "NumericEquals": 1, "Next": "Soon"}]},
                "Soon": {"Type": "Wait", "Seconds": 10, "Next": "Fail"},
                "Fail": {"Type": "Fail", "Error": "One"},
                "Later": {"Type": "Wait", "Seconds": 60, "End": true}
            }
        }
    }}});
    let r = run(def, json!({"items": [1, 2]}));
    assert_eq!(r.rec.status, Status::Failed);
    assert_eq!(
        types(&r.child_histories[0]).last(),
        Some(&"ExecutionFailed")
    );
    let aborted = &r.child_histories[1];
    assert_eq!(
        types(aborted),
        [
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "WaitStateEntered",
            "ExecutionAborted"
        ]
    );
    assert_eq!(aborted[4].previous_event_id, 4);
}
