//! Activities through `handle`: create (idempotent), describe, list, tag, delete, and a Task
//! whose worker asks with GetActivityTask and answers with the token it was given.

mod common;

use common::*;
use serde_json::{json, Value};

const ACCOUNT_ARN: &str = "arn:aws:states:us-east-1:123456789012";

#[tokio::test]
async fn activities_are_created_listed_tagged_and_deleted() {
    let h = Harness::new();
    let a = h
        .ok(
            "CreateActivity",
            json!({"name": "review", "tags": [{"key": "team", "value": "ops"}]}),
        )
        .await;
    let arn = format!("{ACCOUNT_ARN}:activity:review");
    assert_eq!(a["activityArn"], arn);
    let again = h.ok("CreateActivity", json!({"name": "review"})).await;
    assert_eq!(again["creationDate"], a["creationDate"], "created once");
    h.ok("CreateActivity", json!({"name": "approve"})).await;
    let d = h.ok("DescribeActivity", json!({"activityArn": arn})).await;
    assert_eq!(d["name"], "review");
    let tags = h
        .ok("ListTagsForResource", json!({"resourceArn": arn}))
        .await;
    assert_eq!(tags["tags"], json!([{"key": "team", "value": "ops"}]));
    let page = h.ok("ListActivities", json!({"maxResults": 1})).await;
    assert_eq!(page["activities"][0]["name"], "approve");
    let rest = h
        .ok("ListActivities", json!({"nextToken": page["nextToken"]}))
        .await;
    assert_eq!(rest["activities"][0]["name"], "review");
    assert!(rest.get("nextToken").is_none());
    h.err("CreateActivity", json!({"name": "bad name"}), "InvalidName")
        .await;
    h.err(
        "DescribeActivity",
        json!({"activityArn": format!("{ACCOUNT_ARN}:activity:nope")}),
        "ActivityDoesNotExist",
    )
    .await;
    h.err(
        "DescribeActivity",
        json!({"activityArn": format!("{ACCOUNT_ARN}:stateMachine:nope")}),
        "InvalidArn",
    )
    .await;
    h.ok("DeleteActivity", json!({"activityArn": arn})).await;
    h.ok("DeleteActivity", json!({"activityArn": arn})).await;
    h.err(
        "GetActivityTask",
        json!({"activityArn": arn}),
        "ActivityDoesNotExist",
    )
    .await;
}

#[tokio::test]
async fn a_worker_takes_the_task_and_answers_it() {
    let h = Harness::new();
    let arn = h.ok("CreateActivity", json!({"name": "review"})).await["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    // Nothing queued: the poll ends with an empty answer.
    let empty = h.ok("GetActivityTask", json!({"activityArn": arn})).await;
    assert_eq!(empty, json!({}));
    let sm = h
        .create(
            "Reviewed",
            &json!({"StartAt": "Review", "States": {"Review": {
                "Type": "Task", "Resource": arn, "Parameters": {"doc.$": "$.doc"},
                "ResultPath": "$.verdict", "End": true}}}),
        )
        .await;
    let started = h
        .ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "input": "{\"doc\":\"d1\"}"}),
        )
        .await;
    let exec = started["executionArn"].as_str().unwrap().to_string();
    h.settle().await;
    let task = h
        .ok(
            "GetActivityTask",
            json!({"activityArn": arn, "workerName": "w1"}),
        )
        .await;
    assert_eq!(task["input"], "{\"doc\":\"d1\"}");
    let token = task["taskToken"].as_str().unwrap().to_string();
    assert_eq!(
        h.ok("GetActivityTask", json!({"activityArn": arn})).await,
        json!({}),
        "a task goes to one worker"
    );
    h.ok("SendTaskHeartbeat", json!({"taskToken": token})).await;
    h.ok(
        "SendTaskSuccess",
        json!({"taskToken": token, "output": "\"approved\""}),
    )
    .await;
    h.settle().await;
    let d = h.describe(&exec).await;
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["output"], "{\"doc\":\"d1\",\"verdict\":\"approved\"}");
    let history = h
        .ok("GetExecutionHistory", json!({"executionArn": exec}))
        .await;
    let types: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let started: &Value = &history["events"][3]["activityStartedEventDetails"];
    assert_eq!(started["workerName"], "w1");
}
