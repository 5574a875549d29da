//! The awsJson1.0 protocol through `handle`: targets, malformed bodies, limits, and snapshots
//! of whole responses.

mod common;

use common::*;
use serde_json::{json, Value};
use waymark_api::{handle, OPERATIONS};

#[tokio::test]
async fn unknown_operations_are_named() {
    let h = Harness::new();
    let r = handle(&*h.engine, "AWSStepFunctions.LaunchRocket", b"{}").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type, Some("UnknownOperationException"));
    let v = r.json();
    assert_eq!(v["__type"], "UnknownOperationException");
    assert!(
        v["message"].as_str().unwrap().contains("LaunchRocket"),
        "{v}"
    );

    let r = handle(&*h.engine, "", b"{}").await;
    assert_eq!(r.json()["__type"], "UnknownOperationException");
    let r = handle(&*h.engine, "AmazonSQS.SendMessage", b"{}").await;
    assert_eq!(r.json()["__type"], "UnknownOperationException");
}

#[tokio::test]
async fn malformed_bodies_never_panic() {
    let h = Harness::new();
    let bodies: [&[u8]; 8] = [
        b"{",
        b"[]",
        b"null",
        b"42",
        b"\xff\xfe",
        br#"{"stateMachineArn": 7}"#,
        br#"{"stateMachineArn": {"a": 1}}"#,
        br#"{"maxResults": 1.5}"#,
    ];
    for op in OPERATIONS {
        for (i, body) in bodies.iter().enumerate() {
            let r = handle(&*h.engine, &format!("AWSStepFunctions.{op}"), body).await;
            let v = r.json();
            // Not JSON objects: always refused. Members of the wrong type: refused by the
            // operations that have them, ignored by the others (unknown members are).
            if i < 5 {
                assert_eq!(v["__type"], "SerializationException", "{op} {body:?}: {v}");
            }
            if r.status != 200 {
                assert_eq!(r.status, 400, "{op} {body:?}: {v}");
                assert!(v["__type"].is_string() && v["message"].is_string(), "{v}");
            }
        }
        // An empty body is an empty request: a validation error where members are required.
        let r = handle(&*h.engine, &format!("AWSStepFunctions.{op}"), b"").await;
        assert!(r.status == 200 || r.status == 400, "{op}");
    }
    let (status, v) = h.raw("ListStateMachines", b"{not json").await;
    assert_eq!(status, 400);
    assert_eq!(v["__type"], "SerializationException");
}

#[tokio::test]
async fn requests_over_one_mib_are_refused() {
    let h = Harness::new();
    let body = json!({"name": "big", "definition": "x".repeat(1024 * 1024), "roleArn": ROLE});
    let (status, v) = h.call("CreateStateMachine", body).await;
    assert_eq!(status, 413);
    assert_eq!(v["__type"], "RequestEntityTooLargeException");
    let list = h.ok("ListStateMachines", json!({})).await;
    assert_eq!(list["stateMachines"], json!([]));
}

/// Replaces what changes from run to run: times and generated ids.
fn normalise(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if matches!(
                    k.as_str(),
                    "timestamp" | "startDate" | "stopDate" | "creationDate" | "redriveDate"
                ) && x.is_number()
                {
                    *x = json!("<time>");
                } else {
                    normalise(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalise),
        _ => {}
    }
}

fn choice_machine() -> Value {
    json!({
        "Comment": "snapshot",
        "StartAt": "Check",
        "States": {
            "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"},
            "Big": {"Type": "Pass", "Parameters": {"size": "big", "n.$": "$.n"}, "End": true},
            "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "n must be more than 1"}
        }
    })
}

#[tokio::test]
async fn snapshot_describe_execution_and_history() {
    let h = Harness::new();
    let sm = h.create("Snap", &choice_machine()).await;
    let ok = h.start(&sm, Some("big"), &json!({"n": 5})).await;
    let failed = h.start(&sm, Some("small"), &json!({"n": 0})).await;
    h.settle().await;

    let mut d = h.describe(&ok).await;
    normalise(&mut d);
    insta::assert_json_snapshot!("describe_execution_succeeded", d);
    let mut d = h.describe(&failed).await;
    normalise(&mut d);
    insta::assert_json_snapshot!("describe_execution_failed", d);

    let mut history = h
        .ok("GetExecutionHistory", json!({"executionArn": ok}))
        .await;
    normalise(&mut history);
    insta::assert_json_snapshot!("get_execution_history", history);
}
