//! The Map Run operations through `handle`: a distributed Map's run listed and described while
//! it runs and after, UpdateMapRun raising its concurrency, and the refusals.

mod common;

use common::*;
use serde_json::{json, Value};

fn distributed(max_concurrency: u64) -> Value {
    json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "MaxConcurrency": max_concurrency, "ToleratedFailureCount": 1,
        "ItemsPath": "$.items", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Ask", "States": {"Ask": {"Type": "Task", "Resource": WAIT_FOR_TOKEN,
                "Parameters": {"QueueUrl": "q", "MessageBody.$": "$"}, "End": true}}}}}})
}

/// Starts an execution, runs it as far as it goes, and gives its ARN and its first map run's.
async fn start_run(h: &Harness, sm: &str, items: Value) -> (String, String) {
    let exec = h.start(sm, None, &json!({"items": items})).await;
    h.settle().await;
    let run = h.ok("ListMapRuns", json!({"executionArn": exec})).await["mapRuns"][0]["mapRunArn"]
        .as_str()
        .unwrap()
        .to_string();
    (exec, run)
}

/// The events of an execution's history and their types.
async fn history(h: &Harness, arn: &Value) -> (Vec<Value>, Vec<String>) {
    let hist = h
        .ok("GetExecutionHistory", json!({"executionArn": arn}))
        .await;
    let events = hist["events"].as_array().unwrap().clone();
    let kinds = events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    (events, kinds)
}

async fn answer_all(h: &Harness) -> usize {
    let tokens: Vec<String> = std::mem::take(&mut *h.engine.tasks.tokens.lock().unwrap());
    for t in &tokens {
        h.ok(
            "SendTaskSuccess",
            json!({"taskToken": t, "output": "\"done\""}),
        )
        .await;
    }
    h.settle().await;
    tokens.len()
}

#[tokio::test]
async fn map_runs_are_listed_described_and_updated() {
    let h = Harness::new();
    let sm = h.create("Runs", &distributed(1)).await;
    let started = h
        .ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "input": "{\"items\":[1,2,3,4]}"}),
        )
        .await;
    let exec = started["executionArn"].as_str().unwrap().to_string();
    h.settle().await;
    let listed = h.ok("ListMapRuns", json!({"executionArn": exec})).await;
    let runs = listed["mapRuns"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{listed}");
    let run = runs[0]["mapRunArn"].as_str().unwrap().to_string();
    assert_eq!(runs[0]["executionArn"], exec);
    assert_eq!(runs[0]["stateMachineArn"], sm);
    assert!(runs[0].get("stopDate").is_none());
    let d = h.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!(d["status"], "RUNNING");
    assert_eq!(d["maxConcurrency"], 1);
    assert_eq!(d["toleratedFailureCount"], 1);
    assert_eq!(d["itemCounts"]["total"], 4);
    assert_eq!(d["itemCounts"]["running"], 1);
    assert_eq!(d["itemCounts"]["pending"], 3);
    assert_eq!(d["executionCounts"], d["itemCounts"]);

    // One at a time, then all that are left at once.
    assert_eq!(answer_all(&h).await, 1);
    h.ok(
        "UpdateMapRun",
        json!({"mapRunArn": run, "maxConcurrency": 0, "toleratedFailurePercentage": 50.0}),
    )
    .await;
    h.settle().await;
    let d = h.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!(d["maxConcurrency"], 0);
    assert_eq!(d["toleratedFailurePercentage"], 50.0);
    assert_eq!(d["itemCounts"]["succeeded"], 1);
    assert_eq!(d["itemCounts"]["running"], 3, "{d}");
    assert_eq!(answer_all(&h).await, 3);
    let d = h.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["itemCounts"]["succeeded"], 4);
    assert!(d["stopDate"].as_f64().is_some());
    assert_eq!(h.describe(&exec).await["status"], "SUCCEEDED");
    h.err(
        "UpdateMapRun",
        json!({"mapRunArn": run, "maxConcurrency": 5}),
        "ValidationException",
    )
    .await;
    let listed = h.ok("ListMapRuns", json!({"executionArn": exec})).await;
    assert!(listed["mapRuns"][0]["stopDate"].as_f64().is_some());

    // Each iteration is a child execution under the Map's label, listed by the run in the
    // order they started, a page at a time.
    let page = h
        .ok("ListExecutions", json!({"mapRunArn": run, "maxResults": 3}))
        .await;
    let first = page["executions"].as_array().unwrap().clone();
    assert_eq!(first.len(), 3, "{page}");
    let rest = h
        .ok(
            "ListExecutions",
            json!({"mapRunArn": run, "maxResults": 3, "nextToken": page["nextToken"]}),
        )
        .await;
    assert!(rest.get("nextToken").is_none(), "{rest}");
    let children: Vec<Value> = first
        .into_iter()
        .chain(rest["executions"].as_array().unwrap().iter().cloned())
        .collect();
    assert_eq!(children.len(), 4);
    let prefix = format!("{}/Each:", exec.rsplit_once(':').unwrap().0);
    for c in &children {
        let arn = c["executionArn"].as_str().unwrap();
        assert_eq!(arn, format!("{prefix}{}", c["name"].as_str().unwrap()));
        assert_eq!(c["stateMachineArn"], format!("{sm}/Each"));
        assert_eq!(c["status"], "SUCCEEDED");
        assert_eq!(c["mapRunArn"], run);
        assert_eq!(c["itemCount"], 1);
        assert!(c["stopDate"].as_f64().unwrap() >= c["startDate"].as_f64().unwrap());
    }
    let d = h
        .ok(
            "DescribeExecution",
            json!({"executionArn": children[2]["executionArn"]}),
        )
        .await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["input"], "3");
    assert_eq!(d["output"], "\"done\"");
    assert_eq!(d["mapRunArn"], run);
    assert_eq!(d["name"], children[2]["name"]);
    assert_eq!(d["redriveStatus"], "NOT_REDRIVABLE");
    // The workflow a child runs is its Map's ItemProcessor, under the Map's label.
    let m = h
        .ok(
            "DescribeStateMachineForExecution",
            json!({"executionArn": children[2]["executionArn"]}),
        )
        .await;
    assert_eq!(m["stateMachineArn"], format!("{sm}/Each"), "{m}");
    assert_eq!(
        (m["mapRunArn"].as_str(), m["label"].as_str()),
        (Some(run.as_str()), Some("Each"))
    );
    let processor: Value = serde_json::from_str(m["definition"].as_str().unwrap()).unwrap();
    assert_eq!(processor["StartAt"], "Ask");
    let none = h
        .ok(
            "ListExecutions",
            json!({"mapRunArn": run, "statusFilter": "FAILED"}),
        )
        .await;
    assert_eq!(none["executions"], json!([]));
    let pending = h
        .ok(
            "ListExecutions",
            json!({"mapRunArn": run, "statusFilter": "PENDING_REDRIVE"}),
        )
        .await;
    assert_eq!(pending["executions"], json!([]), "none waits for a redrive");
    // A STANDARD child has a history of its own, numbered from 1, that the parent's
    // does not hold.
    let (events, kinds) = history(&h, &children[2]["executionArn"]).await;
    assert_eq!(kinds[0], "ExecutionStarted", "{kinds:?}");
    assert_eq!(kinds[kinds.len() - 1], "ExecutionSucceeded", "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "TaskStateEntered"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "TaskSucceeded"), "{kinds:?}");
    for (n, e) in events.iter().enumerate() {
        assert_eq!(e["id"], n as u64 + 1, "{events:?}");
        assert_eq!(e["previousEventId"], n as u64, "{events:?}");
    }
    assert_eq!(events[0]["executionStartedEventDetails"]["input"], "3");
    let last = events.last().unwrap();
    assert_eq!(last["executionSucceededEventDetails"]["output"], "\"done\"");
    let page = h
        .ok(
            "GetExecutionHistory",
            json!({"executionArn": children[2]["executionArn"], "maxResults": 2, "reverseOrder": true}),
        )
        .await;
    assert_eq!(page["events"][0], *last);
    assert!(page.get("nextToken").is_some(), "{page}");
    let (_, parent) = history(&h, &json!(exec)).await;
    assert!(
        !parent.iter().any(|k| k == "TaskStateEntered"),
        "{parent:?}"
    );
    h.err(
        "DescribeExecution",
        json!({"executionArn": format!("{prefix}00000000-0000-4000-8000-000000000000")}),
        "ExecutionDoesNotExist",
    )
    .await;
    h.err(
        "ListExecutions",
        json!({"mapRunArn": run, "stateMachineArn": sm}),
        "ValidationException",
    )
    .await;
}

#[tokio::test]
async fn a_stopped_execution_aborts_its_map_run_and_bad_requests_are_refused() {
    let h = Harness::new();
    let sm = h.create("Stopped", &distributed(2)).await;
    let (exec, run) = start_run(&h, &sm, json!([1, 2, 3])).await;
    h.ok("StopExecution", json!({"executionArn": exec})).await;
    h.settle().await;
    let d = h.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!(d["status"], "ABORTED", "{d}");
    assert!(d["stopDate"].as_f64().is_some());
    h.err(
        "UpdateMapRun",
        json!({"mapRunArn": run}),
        "ValidationException",
    )
    .await;
    h.err(
        "UpdateMapRun",
        json!({"mapRunArn": run, "toleratedFailurePercentage": 101.0}),
        "ValidationException",
    )
    .await;
    h.err(
        "DescribeMapRun",
        json!({"mapRunArn": format!("{run}9")}),
        "ResourceNotFound",
    )
    .await;
    // The two children that started were aborted with the run; the third never started.
    let listed = h.ok("ListExecutions", json!({"mapRunArn": run})).await;
    let children = listed["executions"].as_array().unwrap();
    assert_eq!(children.len(), 2, "{listed}");
    assert!(
        children.iter().all(|c| c["status"] == "ABORTED"),
        "{listed}"
    );
    assert!(children.iter().all(|c| c["stopDate"].as_f64().is_some()));
    let aborted = h
        .ok(
            "ListExecutions",
            json!({"mapRunArn": run, "statusFilter": "ABORTED"}),
        )
        .await;
    assert_eq!(aborted["executions"].as_array().unwrap().len(), 2);
    let running = h
        .ok(
            "ListExecutions",
            json!({"mapRunArn": run, "statusFilter": "RUNNING"}),
        )
        .await;
    assert_eq!(running["executions"], json!([]));
    let d = h
        .ok(
            "DescribeExecution",
            json!({"executionArn": children[1]["executionArn"]}),
        )
        .await;
    assert_eq!(
        (d["status"].as_str(), d["input"].as_str()),
        (Some("ABORTED"), Some("2"))
    );
    // Its history ends as the execution that stopped it did.
    let (events, kinds) = history(&h, &children[1]["executionArn"]).await;
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "ExecutionAborted"
        ]
    );
    assert_eq!(events[4]["previousEventId"], 4);
    // A run that does not exist is not found.
    h.err(
        "ListExecutions",
        json!({"mapRunArn": format!("{run}9")}),
        "ResourceNotFound",
    )
    .await;
    h.err(
        "DescribeMapRun",
        json!({"mapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:nothing"}),
        "InvalidArn",
    )
    .await;
    h.err(
        "ListMapRuns",
        json!({"executionArn": format!("{exec}x")}),
        "ExecutionDoesNotExist",
    )
    .await;
    // An execution without distributed Maps has no map runs.
    let plain = h.create("Plain", &pass_machine()).await;
    let e = h
        .ok("StartExecution", json!({"stateMachineArn": plain}))
        .await;
    h.settle().await;
    let listed = h
        .ok("ListMapRuns", json!({"executionArn": e["executionArn"]}))
        .await;
    assert_eq!(listed["mapRuns"], json!([]));
}

/// EXPRESS children keep no history (on AWS their events go to CloudWatch Logs, not to
/// GetExecutionHistory): asking for one is refused with the reason.
#[tokio::test]
async fn express_children_keep_no_history() {
    let h = Harness::new();
    let def = json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": true}}}}}});
    let sm = h.create("Express", &def).await;
    let (_, run) = start_run(&h, &sm, json!([1, 2])).await;
    let listed = h.ok("ListExecutions", json!({"mapRunArn": run})).await;
    let child = listed["executions"][0]["executionArn"].as_str().unwrap();
    assert_eq!(listed["executions"][0]["status"], "SUCCEEDED", "{listed}");
    let said = h
        .err(
            "GetExecutionHistory",
            json!({"executionArn": child}),
            "ValidationException",
        )
        .await;
    assert!(
        said.contains("EXPRESS child executions have none"),
        "{said}"
    );
}
