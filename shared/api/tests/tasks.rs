//! Task tokens: SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat against a
//! `.waitForTaskToken` task that waits for them.

mod common;

use common::*;
use serde_json::json;

async fn waiting(h: &Harness, name: &str) -> (String, String) {
    let sm = h.create("Ask", &token_machine()).await;
    let arn = h.start(&sm, Some(name), &json!({})).await;
    h.settle().await;
    let token = h.tokens().pop().expect("the task got a token");
    assert_eq!(h.describe(&arn).await["status"], "RUNNING");
    (arn, token)
}

#[tokio::test]
async fn success_ends_the_task() {
    let h = Harness::new();
    let (arn, token) = waiting(&h, "yes").await;
    h.ok("SendTaskHeartbeat", json!({"taskToken": token})).await;
    assert_eq!(
        h.ok(
            "SendTaskSuccess",
            json!({"taskToken": token, "output": "{\"approved\":true}"}),
        )
        .await,
        json!({})
    );
    h.settle().await;
    let d = h.describe(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["output"], "{\"approved\":true}");

    // The token has been used: the task is no longer waiting for it.
    let msg = h
        .err(
            "SendTaskSuccess",
            json!({"taskToken": token, "output": "{}"}),
            "TaskTimedOut",
        )
        .await;
    assert_eq!(
        msg,
        "Task Timed Out: 'Provided task does not exist anymore'"
    );
    h.err(
        "SendTaskHeartbeat",
        json!({"taskToken": token}),
        "TaskTimedOut",
    )
    .await;
}

#[tokio::test]
async fn failure_fails_the_execution() {
    let h = Harness::new();
    let (arn, token) = waiting(&h, "no").await;
    h.ok(
        "SendTaskFailure",
        json!({"taskToken": token, "error": "Rejected", "cause": "not today"}),
    )
    .await;
    h.settle().await;
    let d = h.describe(&arn).await;
    assert_eq!(d["status"], "FAILED");
    assert_eq!(d["error"], "Rejected");
    assert_eq!(d["cause"], "not today");
    let history = h
        .ok("GetExecutionHistory", json!({"executionArn": arn}))
        .await;
    let types: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"TaskFailed"), "{types:?}");
}

#[tokio::test]
async fn bad_answers() {
    let h = Harness::new();
    let (arn, token) = waiting(&h, "bad").await;
    let msg = h
        .err(
            "SendTaskSuccess",
            json!({"taskToken": token, "output": "not json"}),
            "InvalidOutput",
        )
        .await;
    assert!(msg.starts_with("Invalid Output: '"), "{msg}");
    h.err(
        "SendTaskSuccess",
        json!({"taskToken": token, "output": format!("\"{}\"", "x".repeat(256 * 1024))}),
        "InvalidOutput",
    )
    .await;
    h.err(
        "SendTaskSuccess",
        json!({"taskToken": token}),
        "ValidationException",
    )
    .await;
    for op in ["SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"] {
        h.err(op, json!({"taskToken": "", "output": "{}"}), "InvalidToken")
            .await;
        h.err(
            op,
            json!({"taskToken": "has spaces in it", "output": "{}"}),
            "InvalidToken",
        )
        .await;
        h.err(
            op,
            json!({"taskToken": "0123456789abcdef", "output": "{}"}),
            "TaskDoesNotExist",
        )
        .await;
    }
    h.err(
        "SendTaskFailure",
        json!({"taskToken": token, "error": "e".repeat(257)}),
        "ValidationException",
    )
    .await;
    // None of that touched the waiting task.
    assert_eq!(h.describe(&arn).await["status"], "RUNNING");

    // Once the execution is stopped, its token is stale.
    h.ok("StopExecution", json!({"executionArn": arn})).await;
    h.err(
        "SendTaskSuccess",
        json!({"taskToken": token, "output": "{}"}),
        "TaskTimedOut",
    )
    .await;
}
