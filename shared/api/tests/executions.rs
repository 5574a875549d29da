//! Execution operations through `handle`, with the in-memory engine advancing executions.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn start_and_describe() {
    let h = Harness::new();
    let sm = h.create("Flow", &pass_machine()).await;
    let started = h
        .ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "name": "run-1", "input": "{\"a\":1}"}),
        )
        .await;
    let arn = "arn:aws:states:us-east-1:123456789012:execution:Flow:run-1";
    assert_eq!(started["executionArn"], arn);
    assert!(started["startDate"].as_f64().is_some());
    h.settle().await;

    let d = h.describe(arn).await;
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["name"], "run-1");
    assert_eq!(d["stateMachineArn"], sm);
    assert_eq!(d["input"], "{\"a\":1}");
    assert_eq!(d["inputDetails"], json!({"included": true}));
    assert_eq!(d["output"], "{\"a\":1,\"result\":{\"ok\":true}}");
    assert_eq!(d["outputDetails"], json!({"included": true}));
    assert_eq!(d["redriveCount"], 0);
    assert_eq!(d["redriveStatus"], "NOT_REDRIVABLE");
    assert_eq!(
        d["redriveStatusReason"],
        "Execution is SUCCEEDED and cannot be redriven"
    );
    assert!(d["stopDate"].as_f64().unwrap() >= d["startDate"].as_f64().unwrap());
    assert!(d.get("error").is_none());

    let meta = h
        .ok(
            "DescribeExecution",
            json!({"executionArn": arn, "includedData": "METADATA_ONLY"}),
        )
        .await;
    assert!(meta.get("input").is_none() && meta.get("output").is_none());
    assert_eq!(meta["inputDetails"], json!({"included": false}));
    assert_eq!(meta["outputDetails"], json!({"included": false}));

    // No name: a UUID; no input: `{}`.
    let started = h.ok("StartExecution", json!({"stateMachineArn": sm})).await;
    let arn = started["executionArn"].as_str().unwrap();
    let name = arn.rsplit(':').next().unwrap();
    assert_eq!(name.len(), 36, "{name}");
    let d = h.describe(arn).await;
    assert_eq!(d["input"], "{}");
}

#[tokio::test]
async fn start_errors() {
    let h = Harness::new();
    let sm = h.create("Flow", &pass_machine()).await;
    let msg = h
        .err(
            "StartExecution",
            json!({"stateMachineArn": sm, "input": "{nope"}),
            "InvalidExecutionInput",
        )
        .await;
    assert!(
        msg.starts_with("Invalid State Machine Execution Input: '"),
        "{msg}"
    );
    let big = format!("\"{}\"", "x".repeat(256 * 1024));
    h.err(
        "StartExecution",
        json!({"stateMachineArn": sm, "input": big}),
        "InvalidExecutionInput",
    )
    .await;
    h.err(
        "StartExecution",
        json!({"stateMachineArn": sm, "name": "bad name"}),
        "InvalidName",
    )
    .await;
    h.err(
        "StartExecution",
        json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Nope"}),
        "StateMachineDoesNotExist",
    )
    .await;
    h.err(
        "StartExecution",
        json!({"stateMachineArn": "arn:aws:sqs:us-east-1:123456789012:q"}),
        "InvalidArn",
    )
    .await;
    h.err("StartExecution", json!({}), "ValidationException")
        .await;
    // Nothing was started by any of these.
    let list = h.ok("ListExecutions", json!({"stateMachineArn": sm})).await;
    assert_eq!(list["executions"], json!([]));
}

#[tokio::test]
async fn start_is_idempotent_while_running() {
    let h = Harness::new();
    let sm = h.create("Ask", &token_machine()).await;
    let first = h
        .ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "name": "once", "input": "{\"x\":1}"}),
        )
        .await;
    let again = h
        .ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "name": "once", "input": "{ \"x\" : 1 }"}),
        )
        .await;
    assert_eq!(first, again);
    let msg = h
        .err(
            "StartExecution",
            json!({"stateMachineArn": sm, "name": "once", "input": "{\"x\":2}"}),
            "ExecutionAlreadyExists",
        )
        .await;
    assert_eq!(
        msg,
        "Execution Already Exists: 'arn:aws:states:us-east-1:123456789012:execution:Ask:once'"
    );
    // Once it has ended, the name cannot be used again.
    let arn = first["executionArn"].as_str().unwrap();
    h.ok("StopExecution", json!({"executionArn": arn})).await;
    h.err(
        "StartExecution",
        json!({"stateMachineArn": sm, "name": "once", "input": "{\"x\":1}"}),
        "ExecutionAlreadyExists",
    )
    .await;
}

#[tokio::test]
async fn start_sync_execution() {
    let h = Harness::new();
    let express = h.create_typed("Quick", &pass_machine(), "EXPRESS").await;
    let r = h
        .with_driver(h.call(
            "StartSyncExecution",
            json!({"stateMachineArn": express, "name": "s1", "input": "{\"n\":1}"}),
        ))
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let v = r.1;
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"], "{\"n\":1,\"result\":{\"ok\":true}}");
    assert_eq!(v["input"], "{\"n\":1}");
    assert_eq!(v["name"], "s1");
    assert_eq!(v["stateMachineArn"], express);
    let arn = v["executionArn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:express:Quick:s1:"),
        "{arn}"
    );
    assert_eq!(v["billingDetails"]["billedMemoryUsedInMB"], 64);
    assert!(
        v["billingDetails"]["billedDurationInMilliseconds"]
            .as_u64()
            .unwrap()
            >= 100
    );
    assert!(v["stopDate"].as_f64().is_some());
    // Unlike AWS, which only logs them, express executions can be described here.
    assert_eq!(h.describe(arn).await["status"], "SUCCEEDED");

    let failing = h.create_typed("Broken", &fail_machine(), "EXPRESS").await;
    let (status, v) = h
        .with_driver(h.call("StartSyncExecution", json!({"stateMachineArn": failing})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"], "Boom");
    assert_eq!(v["cause"], "it broke");
    assert!(v.get("output").is_none());

    // Express executions with a Wait still finish: the driver skips the time.
    let short_wait = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "Next": "Done"}, "Done": {"Type": "Succeed"}}});
    let waiting = h.create_typed("Slow", &short_wait, "EXPRESS").await;
    let (_, v) = h
        .with_driver(h.call("StartSyncExecution", json!({"stateMachineArn": waiting})))
        .await;
    assert_eq!(v["status"], "SUCCEEDED");
    // But no longer than AWS's five minutes.
    let too_long = h.create_typed("TooSlow", &wait_machine(), "EXPRESS").await;
    let (_, v) = h
        .with_driver(h.call("StartSyncExecution", json!({"stateMachineArn": too_long})))
        .await;
    assert_eq!(v["status"], "TIMED_OUT");

    let standard = h.create("Std", &pass_machine()).await;
    h.err(
        "StartSyncExecution",
        json!({"stateMachineArn": standard}),
        "StateMachineTypeNotSupported",
    )
    .await;
    // ListExecutions does not list express executions, as on AWS.
    h.err(
        "ListExecutions",
        json!({"stateMachineArn": express}),
        "StateMachineTypeNotSupported",
    )
    .await;
}

#[tokio::test]
async fn stop_execution() {
    let h = Harness::new();
    let sm = h.create("Slow", &wait_machine()).await;
    let arn = h.start(&sm, Some("long"), &json!({})).await;
    let stopped = h
        .ok(
            "StopExecution",
            json!({"executionArn": arn, "error": "Manual", "cause": "changed my mind"}),
        )
        .await;
    let d = h.describe(&arn).await;
    assert_eq!(d["status"], "ABORTED");
    assert_eq!(d["error"], "Manual");
    assert_eq!(d["cause"], "changed my mind");
    assert_eq!(d["stopDate"], stopped["stopDate"]);
    assert_eq!(d["redriveStatus"], "REDRIVABLE");
    assert!(d.get("output").is_none());

    // Stopping without a reason: neither error nor cause.
    let arn2 = h.start(&sm, None, &json!({})).await;
    h.ok("StopExecution", json!({"executionArn": arn2})).await;
    let d = h.describe(&arn2).await;
    assert_eq!(d["status"], "ABORTED");
    assert!(d.get("error").is_none() && d.get("cause").is_none(), "{d}");

    let missing = "arn:aws:states:us-east-1:123456789012:execution:Slow:missing";
    let msg = h
        .err(
            "StopExecution",
            json!({"executionArn": missing}),
            "ExecutionDoesNotExist",
        )
        .await;
    assert_eq!(msg, format!("Execution Does Not Exist: '{missing}'"));
    h.err(
        "StopExecution",
        json!({"executionArn": arn, "error": "e".repeat(257)}),
        "ValidationException",
    )
    .await;
    h.err(
        "DescribeExecution",
        json!({"executionArn": missing}),
        "ExecutionDoesNotExist",
    )
    .await;
    h.err(
        "DescribeExecution",
        json!({"executionArn": sm}),
        "InvalidArn",
    )
    .await;
}

#[tokio::test]
async fn list_executions() {
    let h = Harness::new();
    let sm = h.create("Many", &wait_machine()).await;
    let other = h.create("Other", &pass_machine()).await;
    let mut arns = vec![];
    for i in 0..5 {
        arns.push(h.start(&sm, Some(&format!("run-{i}")), &json!({})).await);
    }
    h.start(&other, None, &json!({})).await;
    h.ok("StopExecution", json!({"executionArn": arns[1]}))
        .await;

    let all = h.ok("ListExecutions", json!({"stateMachineArn": sm})).await;
    let names: Vec<&str> = all["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["run-4", "run-3", "run-2", "run-1", "run-0"],
        "newest first"
    );
    let item = &all["executions"][0];
    assert_eq!(item["stateMachineArn"], sm);
    assert_eq!(item["status"], "RUNNING");
    assert!(item["startDate"].as_f64().is_some());
    assert!(item.get("stopDate").is_none());
    assert_eq!(item["redriveCount"], 0);

    let aborted = h
        .ok(
            "ListExecutions",
            json!({"stateMachineArn": sm, "statusFilter": "ABORTED"}),
        )
        .await;
    assert_eq!(aborted["executions"].as_array().unwrap().len(), 1);
    assert_eq!(aborted["executions"][0]["executionArn"], arns[1]);
    assert!(aborted["executions"][0]["stopDate"].as_f64().is_some());

    // Pages of two.
    let mut seen = vec![];
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({"stateMachineArn": sm, "maxResults": 2});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let page = h.ok("ListExecutions", req).await;
        for e in page["executions"].as_array().unwrap() {
            seen.push(e["name"].as_str().unwrap().to_string());
        }
        match page.get("nextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    // A token belongs to its listing.
    let first = h
        .ok(
            "ListExecutions",
            json!({"stateMachineArn": sm, "maxResults": 2}),
        )
        .await;
    h.err(
        "ListExecutions",
        json!({"stateMachineArn": other, "nextToken": first["nextToken"]}),
        "InvalidToken",
    )
    .await;

    h.err(
        "ListExecutions",
        json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Nope"}),
        "StateMachineDoesNotExist",
    )
    .await;
    h.err("ListExecutions", json!({}), "ValidationException")
        .await;
    h.err(
        "ListExecutions",
        json!({"stateMachineArn": sm, "statusFilter": "DONE"}),
        "ValidationException",
    )
    .await;
    h.err(
        "ListExecutions",
        json!({"stateMachineArn": sm, "maxResults": "ten"}),
        "SerializationException",
    )
    .await;
}

#[tokio::test]
async fn execution_history() {
    let h = Harness::new();
    let sm = h.create("Hist", &pass_machine()).await;
    let arn = h.start(&sm, Some("h"), &json!({"k": "v"})).await;
    h.settle().await;

    let all = h
        .ok("GetExecutionHistory", json!({"executionArn": arn}))
        .await;
    let events = all["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(events[0]["id"], 1);
    assert_eq!(events[0]["previousEventId"], 0);
    assert!(events[0]["timestamp"].as_f64().is_some());
    assert_eq!(
        events[0]["executionStartedEventDetails"]["input"],
        "{\"k\":\"v\"}"
    );
    assert!(all.get("nextToken").is_none());

    let reversed = h
        .ok(
            "GetExecutionHistory",
            json!({"executionArn": arn, "reverseOrder": true, "maxResults": 3}),
        )
        .await;
    let ids: Vec<u64> = reversed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [4, 3, 2]);
    let rest = h
        .ok(
            "GetExecutionHistory",
            json!({"executionArn": arn, "reverseOrder": true, "nextToken": reversed["nextToken"]}),
        )
        .await;
    assert_eq!(rest["events"][0]["id"], 1);
    assert!(rest.get("nextToken").is_none());
    // The token of a reversed listing is not one of the forward listing.
    h.err(
        "GetExecutionHistory",
        json!({"executionArn": arn, "nextToken": reversed["nextToken"]}),
        "InvalidToken",
    )
    .await;

    let bare = h
        .ok(
            "GetExecutionHistory",
            json!({"executionArn": arn, "includeExecutionData": false}),
        )
        .await;
    assert_eq!(
        bare["events"][0]["executionStartedEventDetails"],
        json!({"roleArn": ROLE})
    );
    assert_eq!(
        bare["events"][1]["stateEnteredEventDetails"],
        json!({"name": "P"})
    );
    assert_eq!(
        bare["events"][3]["executionSucceededEventDetails"],
        json!({})
    );

    h.err(
        "GetExecutionHistory",
        json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:Hist:none"}),
        "ExecutionDoesNotExist",
    )
    .await;
}

#[tokio::test]
async fn describe_state_machine_for_execution_keeps_the_revision() {
    let h = Harness::new();
    let first = token_machine().to_string();
    let sm = h.create("Rev", &token_machine()).await;
    let arn = h.start(&sm, Some("old"), &json!({})).await;
    h.ok(
        "UpdateStateMachine",
        json!({"stateMachineArn": sm, "definition": pass_machine().to_string()}),
    )
    .await;
    let d = h
        .ok(
            "DescribeStateMachineForExecution",
            json!({"executionArn": arn}),
        )
        .await;
    assert_eq!(d["definition"], first);
    assert_eq!(d["revisionId"], "1");
    assert_eq!(d["stateMachineArn"], sm);
    assert_eq!(d["name"], "Rev");
    assert!(d["updateDate"].as_f64().is_some());

    let new = h.start(&sm, Some("new"), &json!({})).await;
    let d = h
        .ok(
            "DescribeStateMachineForExecution",
            json!({"executionArn": new}),
        )
        .await;
    assert_eq!(d["definition"], pass_machine().to_string());
    assert_eq!(d["revisionId"], "2");
    h.err(
        "DescribeStateMachineForExecution",
        json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:Rev:none"}),
        "ExecutionDoesNotExist",
    )
    .await;
}

/// AWS: "running executions keep their revision". The engine's `deliver` still reads the
/// latest revision of the state machine, so an execution that resumes after an update runs
/// the new definition.
#[tokio::test]
async fn running_executions_keep_their_revision() {
    let h = Harness::new();
    let sm = h.create("Rev", &token_machine()).await;
    let arn = h.start(&sm, Some("old"), &json!({})).await;
    h.settle().await;
    let other = json!({"StartAt": "Other", "States": {"Other": {"Type": "Fail", "Error": "New"}}});
    h.ok(
        "UpdateStateMachine",
        json!({"stateMachineArn": sm, "definition": other.to_string()}),
    )
    .await;
    let token = h.tokens().pop().unwrap();
    h.ok(
        "SendTaskSuccess",
        json!({"taskToken": token, "output": "{\"done\":true}"}),
    )
    .await;
    h.settle().await;
    let d = h.describe(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["output"], "{\"done\":true}");
}

#[tokio::test]
async fn redrive_execution() {
    let h = Harness::new();
    let sm = h.create("Flaky", &flaky_machine()).await;
    let arn = h.start(&sm, Some("r"), &json!({"n": 1})).await;
    h.settle().await;
    let d = h.describe(&arn).await;
    assert_eq!(d["status"], "FAILED");
    assert_eq!(d["error"], "Flaky");
    assert_eq!(d["redriveStatus"], "REDRIVABLE");
    assert!(d.get("redriveStatusReason").is_none());

    let r = h.ok("RedriveExecution", json!({"executionArn": arn})).await;
    assert!(r["redriveDate"].as_f64().is_some());
    h.settle().await;
    let d = h.describe(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["redriveCount"], 1);
    assert!(d["redriveDate"].as_f64().is_some(), "{d}");
    assert!(d.get("error").is_none(), "{d}");

    let list = h
        .ok(
            "ListExecutions",
            json!({"stateMachineArn": sm, "redriveFilter": "REDRIVEN"}),
        )
        .await;
    assert_eq!(list["executions"][0]["redriveCount"], 1);
    assert!(list["executions"][0]["redriveDate"].as_f64().is_some());
    let list = h
        .ok(
            "ListExecutions",
            json!({"stateMachineArn": sm, "redriveFilter": "NOT_REDRIVEN"}),
        )
        .await;
    assert_eq!(list["executions"], json!([]));

    h.err(
        "RedriveExecution",
        json!({"executionArn": arn}),
        "ExecutionNotRedrivable",
    )
    .await;
    h.err(
        "RedriveExecution",
        json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:Flaky:none"}),
        "ExecutionDoesNotExist",
    )
    .await;
}
