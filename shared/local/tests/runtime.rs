//! The local runtime end to end on an in-memory database: nested executions with
//! `states:startExecution` (plain, `.sync`, `.sync:2`, `.waitForTaskToken`), mocks chosen per
//! execution, and the SQLite store's listings.

use std::sync::Arc;

use serde_json::{json, Value};
use waymark_asl::parse::{parse_value, MachineType, ParseOptions};
use waymark_engine::memory::NoTasks;
use waymark_engine::ports::*;
use waymark_engine::record::Status;
use waymark_engine::runner::{Config, TaskAnswer};
use waymark_local::{Local, LocalOptions};
use waymark_tasks::mock::{MockConfig, MockTasks};

async fn open() -> Local {
    let mocks = MockConfig::parse(
        r#"{"StateMachines": {"Parent": {"TestCases": {"Happy": {"Charge": "Ok"}}},
                              "Calls": {"TestCases": {"Many": {"Call": "Each"}}}},
            "MockedResponses": {"Ok": {"0": {"Return": {"charged": true}}},
                                "Each": {"0-9999": {"Return": {"ok": true}}}}}"#,
    )
    .unwrap();
    let opts = LocalOptions {
        db: ":memory:".into(),
        wait_scale: 0.0,
        config: Config::default(),
        approvals: None,
    };
    Local::open(opts, MockTasks::new(mocks, NoTasks)).unwrap()
}

async fn machine(local: &Local, name: &str, def: Value, t: MachineType) -> StateMachine {
    let parsed = parse_value(&def, &ParseOptions { machine_type: t }).unwrap();
    let sm = StateMachine::new(
        local.engine.config.state_machine_arn(name),
        name.into(),
        def.to_string(),
        Arc::new(parsed.definition),
        t,
        local.engine.config.role_arn.clone(),
        chrono::Utc::now(),
    );
    local.store.create_state_machine(&sm).await.unwrap();
    sm
}

fn child_def() -> Value {
    json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 10, "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": true}
    }})
}

#[tokio::test]
async fn sync_children_hand_back_their_result() {
    let local = open().await;
    let child = machine(&local, "Child", child_def(), MachineType::Standard).await;
    for (variant, expect_text) in [(".sync", true), (".sync:2", false)] {
        let parent = machine(
            &local,
            &format!("Parent{}", variant.replace([':', '.'], "")),
            json!({"StartAt": "Run", "States": {"Run": {
                "Type": "Task", "Resource": format!("arn:aws:states:::states:startExecution{variant}"),
                "Parameters": {"StateMachineArn": child.arn, "Input": {"n": 5}}, "End": true}}}),
            MachineType::Standard,
        )
        .await;
        let rec = local
            .engine
            .start_execution(&parent, None, json!({}))
            .await
            .unwrap();
        let rec = local.run_until_settled(&rec.execution_arn).await.unwrap();
        assert_eq!(rec.status, Status::Succeeded, "{variant}: {rec:?}");
        let out = rec.output.unwrap();
        assert_eq!(out["Status"], "SUCCEEDED");
        if expect_text {
            assert_eq!(out["Output"], json!("{\"got\":5}"));
        } else {
            assert_eq!(out["Output"], json!({"got": 5}));
        }
    }
}

#[tokio::test]
async fn a_failed_sync_child_fails_the_task_and_plain_starts_return_at_once() {
    let local = open().await;
    let bad = machine(
        &local,
        "Bad",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope"}}}),
        MachineType::Standard,
    )
    .await;
    let child = machine(&local, "Child", child_def(), MachineType::Standard).await;
    let parent = machine(
        &local,
        "P2",
        json!({"StartAt": "Fire", "States": {
            "Fire": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                     "Parameters": {"StateMachineArn": child.arn, "Input": "{\"n\": 1}", "Name": "fired"}, "ResultPath": "$.fired", "Next": "Run"},
            "Run": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
                    "Parameters": {"StateMachineArn": bad.arn}, "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let rec = local
        .engine
        .start_execution(&parent, None, json!({}))
        .await
        .unwrap();
    let rec = local.run_until_settled(&rec.execution_arn).await.unwrap();
    assert_eq!(rec.status, Status::Failed);
    assert_eq!(
        rec.failure.unwrap().error.as_deref(),
        Some("States.TaskFailed")
    );
    let fired = local
        .engine
        .describe(&local.engine.config.execution_arn(&child, "fired", None))
        .await
        .unwrap();
    assert_eq!(fired.input, json!({"n": 1}));
}

#[tokio::test]
async fn a_child_answers_its_parent_with_the_token() {
    let local = open().await;
    let child = machine(
        &local,
        "Answerer",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let parent = machine(
        &local,
        "Asker",
        json!({"StartAt": "Ask", "States": {"Ask": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
            "Parameters": {"StateMachineArn": child.arn, "Input": {"token.$": "$$.Task.Token"}}, "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let rec = local
        .engine
        .start_execution(&parent, None, json!({}))
        .await
        .unwrap();
    let rec = local.run_until_settled(&rec.execution_arn).await.unwrap();
    assert_eq!(rec.status, Status::Running);
    let children = local
        .store
        .list_executions(
            &ExecutionFilter {
                state_machine_arn: Some(child.arn.clone()),
                status: None,
            },
            10,
            None,
        )
        .await
        .unwrap();
    // Listings leave the input out: the child's record has it.
    let child_rec = local
        .store
        .load(&children.items[0].execution_arn)
        .await
        .unwrap()
        .unwrap();
    let token = child_rec.input["token"].as_str().unwrap().to_string();
    local
        .engine
        .answer_task(&token, TaskAnswer::Success(json!({"ok": 1})))
        .await
        .unwrap();
    let rec = local.run_until_settled(&rec.execution_arn).await.unwrap();
    assert_eq!(rec.output, Some(json!({"ok": 1})));
}

#[tokio::test]
async fn mocks_follow_the_execution_test_case() {
    let local = open().await;
    let sm = machine(
        &local,
        "Parent",
        json!({"StartAt": "Charge", "States": {"Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let mocked = local
        .engine
        .start_execution_with(&sm, None, json!({}), Some("Happy"))
        .await
        .unwrap();
    let mocked = local
        .run_until_settled(&mocked.execution_arn)
        .await
        .unwrap();
    assert_eq!(mocked.output, Some(json!({"charged": true})));
    let plain = local
        .engine
        .start_execution(&sm, None, json!({}))
        .await
        .unwrap();
    let plain = local.run_until_settled(&plain.execution_arn).await.unwrap();
    assert_eq!(
        plain.failure.unwrap().error.as_deref(),
        Some("States.TaskFailed")
    );
}

#[tokio::test]
async fn listings_page_through_the_store() {
    let local = open().await;
    let sm = machine(
        &local,
        "Many",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        MachineType::Standard,
    )
    .await;
    let mut arns = Vec::new();
    for i in 0..5 {
        arns.push(
            local
                .engine
                .start_execution(&sm, Some(&format!("e{i}")), json!({"i": i}))
                .await
                .unwrap()
                .execution_arn,
        );
    }
    let filter = ExecutionFilter {
        state_machine_arn: Some(sm.arn.clone()),
        status: Some(Status::Succeeded),
    };
    let first = local.store.list_executions(&filter, 2, None).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.items[0].execution_arn, arns[4], "newest first");
    // A listing reads what it shows: no input, output or frames.
    let listed = &first.items[0];
    assert_eq!(listed.input, Value::Null);
    assert_eq!(listed.output, None);
    assert!(listed.frames.is_empty());
    assert_eq!(listed.status, Status::Succeeded);
    let full = local.store.load(&arns[4]).await.unwrap().unwrap();
    assert_eq!(full.input, json!({"i": 4}));
    assert_eq!(listed.start_time, full.start_time);
    let mut seen: Vec<String> = first
        .items
        .iter()
        .map(|r| r.execution_arn.clone())
        .collect();
    let mut token = first.next_token;
    while let Some(t) = token {
        let page = local
            .store
            .list_executions(&filter, 2, Some(&t))
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|r| r.execution_arn.clone()));
        token = page.next_token;
    }
    arns.reverse();
    assert_eq!(seen, arns);
    let h = local
        .store
        .history_page(&arns[0], true, 1, None)
        .await
        .unwrap();
    assert_eq!(h.items[0].event_type, "ExecutionSucceeded");
    assert!(h.next_token.is_some());
}

/// Waits that end together are one step of their execution, not one each: a distributed Map
/// of 600 items that each wait takes a handful of steps (commits), whatever its size, and
/// waits of different lengths still end in their order.
#[tokio::test]
async fn timers_due_together_are_one_step() {
    let local = open().await;
    let sm = machine(
        &local,
        "Waits",
        json!({"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "ItemsPath": "$.items", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "W", "States": {
                    "W": {"Type": "Wait", "SecondsPath": "$", "Next": "P"},
                    "P": {"Type": "Pass", "Parameters": {"waited.$": "$"}, "End": true}}}}}}),
        MachineType::Standard,
    )
    .await;
    let items: Vec<u64> = (0..600).map(|i| 1 + i % 3).collect();
    let rec = local
        .engine
        .start_execution(&sm, None, json!({ "items": items }))
        .await
        .unwrap();
    let rec = local.run_until_settled(&rec.execution_arn).await.unwrap();
    assert_eq!(rec.status, Status::Succeeded, "{rec:?}");
    let want: Vec<Value> = items.iter().map(|s| json!({"waited": s})).collect();
    assert_eq!(rec.output.unwrap(), Value::Array(want));
    // The start (a few steps: a step yields after its budget of transitions), then a step
    // per wait length (1, 2 and 3 seconds); a step per wait would be 600 more.
    assert!(rec.version < 20, "{} steps", rec.version);
    let start = rec.start_time;
    let took = rec.stop_time.unwrap() - start;
    assert_eq!(took.num_seconds(), 3, "the longest wait, in workflow time");
}

/// Tasks dispatched together are answered together: a distributed Map of 600 Lambda calls
/// takes a handful of steps of its execution, not one per call.
#[tokio::test]
async fn tasks_dispatched_together_are_answered_in_one_step() {
    let local = open().await;
    let sm = machine(
        &local,
        "Calls",
        json!({"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "ItemsPath": "$.items", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Call", "States": {"Call": {"Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "f", "Payload.$": "$"}, "End": true}}}}}}),
        MachineType::Standard,
    )
    .await;
    let items: Vec<u64> = (0..600).collect();
    let rec = local
        .engine
        .start_execution_with(&sm, None, json!({ "items": items }), Some("Many"))
        .await
        .unwrap();
    let rec = local.run_until_settled(&rec.execution_arn).await.unwrap();
    assert_eq!(rec.status, Status::Succeeded, "{rec:?}");
    assert_eq!(rec.output.unwrap(), json!(vec![json!({"ok": true}); 600]));
    assert!(rec.version < 20, "{} steps", rec.version);
    // Every answered task is cleared: none runs again at the next start.
    assert!(local.store.inflight().unwrap().is_empty());
}
