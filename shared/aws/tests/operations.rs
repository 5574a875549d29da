//! Every one of the 37 operations through the API function (an API Gateway HTTP API event,
//! as Lambda runs it) over moto's DynamoDB, SQS and SNS, with the stepper advancing the
//! executions: each answers 200 with the members AWS gives, and the test fails if
//! `waymark_api::OPERATIONS` has one it did not call.

#![recursion_limit = "256"]

mod common;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use common::{Harness, ACCOUNT};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(60);

struct Api<'a> {
    h: &'a Harness,
    called: Mutex<BTreeSet<String>>,
}

impl Api<'_> {
    async fn ok(&self, op: &str, body: Value) -> Value {
        let (status, out) = self.h.api("POST", "/", Some(op), &body.to_string()).await;
        assert_eq!(status, 200, "{op}: {out}");
        self.called.lock().unwrap().insert(op.to_string());
        out
    }

    /// Drains the step queue, then asks for the activity's task.
    async fn task(&self, activity: &str) -> Value {
        self.h.drain(Duration::from_secs(20)).await;
        let t = self
            .ok(
                "GetActivityTask",
                json!({"activityArn": activity, "workerName": "w"}),
            )
            .await;
        assert!(t["taskToken"].is_string(), "{t}");
        t
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_through_the_api_function() {
    let h = Harness::start("every_operation_answers_through_the_api_function", 2).await;
    let api = Api {
        h: &h,
        called: Mutex::new(BTreeSet::new()),
    };
    let role = format!("arn:aws:iam::{ACCOUNT}:role/r");

    let activity = api.ok("CreateActivity", json!({"name": "work"})).await["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        api.ok("DescribeActivity", json!({"activityArn": activity}))
            .await["name"],
        "work"
    );
    assert_eq!(
        api.ok("ListActivities", json!({})).await["activities"][0]["activityArn"],
        activity
    );
    let def = json!({"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": activity, "End": true}}})
        .to_string();
    assert_eq!(
        api.ok("ValidateStateMachineDefinition", json!({"definition": def}))
            .await["result"],
        "OK"
    );
    let created = api
        .ok(
            "CreateStateMachine",
            json!({"name": "all", "definition": def, "roleArn": role, "publish": true}),
        )
        .await;
    let sm = created["stateMachineArn"].as_str().unwrap().to_string();
    assert_eq!(created["stateMachineVersionArn"], format!("{sm}:1"));
    assert_eq!(
        api.ok("DescribeStateMachine", json!({"stateMachineArn": sm}))
            .await["name"],
        "all"
    );
    api.ok(
        "UpdateStateMachine",
        json!({"stateMachineArn": sm, "roleArn": format!("{role}2")}),
    )
    .await;
    assert!(
        api.ok("ListStateMachines", json!({})).await["stateMachines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["stateMachineArn"] == sm.as_str())
    );
    api.ok(
        "TagResource",
        json!({"resourceArn": sm, "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]}),
    )
    .await;
    api.ok(
        "UntagResource",
        json!({"resourceArn": sm, "tagKeys": ["a"]}),
    )
    .await;
    assert_eq!(
        api.ok("ListTagsForResource", json!({"resourceArn": sm}))
            .await["tags"],
        json!([{"key": "b", "value": "2"}])
    );

    // Versions and aliases.
    let v2 = api
        .ok("PublishStateMachineVersion", json!({"stateMachineArn": sm}))
        .await["stateMachineVersionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(v2, format!("{sm}:2"));
    assert_eq!(
        api.ok("ListStateMachineVersions", json!({"stateMachineArn": sm}))
            .await["stateMachineVersions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let alias = api
        .ok(
            "CreateStateMachineAlias",
            json!({"name": "live", "routingConfiguration": [{"stateMachineVersionArn": v2, "weight": 100}]}),
        )
        .await["stateMachineAliasArn"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok(
        "UpdateStateMachineAlias",
        json!({"stateMachineAliasArn": alias, "description": "the live one"}),
    )
    .await;
    assert_eq!(
        api.ok(
            "DescribeStateMachineAlias",
            json!({"stateMachineAliasArn": alias})
        )
        .await["description"],
        "the live one"
    );
    assert_eq!(
        api.ok("ListStateMachineAliases", json!({"stateMachineArn": sm}))
            .await["stateMachineAliases"][0]["stateMachineAliasArn"],
        alias
    );

    // An execution through the alias: a worker heartbeats, then succeeds.
    let first = api
        .ok(
            "StartExecution",
            json!({"stateMachineArn": alias, "name": "one", "input": "{\"n\":1}"}),
        )
        .await["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let t = api.task(&activity).await;
    assert_eq!(t["input"], "{\"n\":1}");
    api.ok("SendTaskHeartbeat", json!({"taskToken": t["taskToken"]}))
        .await;
    api.ok(
        "SendTaskSuccess",
        json!({"taskToken": t["taskToken"], "output": "{\"ok\":1}"}),
    )
    .await;
    h.run_until_ended(&first, LIMIT).await;
    let d = api
        .ok("DescribeExecution", json!({"executionArn": first}))
        .await;
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["stateMachineAliasArn"], alias);
    assert!(
        api.ok("GetExecutionHistory", json!({"executionArn": first}))
            .await["events"]
            .as_array()
            .unwrap()
            .len()
            >= 5
    );
    assert_eq!(
        api.ok(
            "DescribeStateMachineForExecution",
            json!({"executionArn": first})
        )
        .await["name"],
        "all"
    );
    assert_eq!(
        api.ok("ListExecutions", json!({"stateMachineArn": sm}))
            .await["executions"][0]["executionArn"],
        first
    );

    // A failure, redriven, then answered.
    let second = api
        .ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "name": "two"}),
        )
        .await["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let t = api.task(&activity).await;
    api.ok(
        "SendTaskFailure",
        json!({"taskToken": t["taskToken"], "error": "No", "cause": "not now"}),
    )
    .await;
    let rec = h.run_until_ended(&second, LIMIT).await;
    assert_eq!(rec.failure.and_then(|f| f.error).as_deref(), Some("No"));
    api.ok("RedriveExecution", json!({"executionArn": second}))
        .await;
    let t = api.task(&activity).await;
    api.ok(
        "SendTaskSuccess",
        json!({"taskToken": t["taskToken"], "output": "{}"}),
    )
    .await;
    let rec = h.run_until_ended(&second, LIMIT).await;
    assert_eq!(rec.redrive_count, 1);

    // Stopped while it waits.
    let third = api
        .ok(
            "StartExecution",
            json!({"stateMachineArn": sm, "name": "three"}),
        )
        .await["executionArn"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok("StopExecution", json!({"executionArn": third}))
        .await;

    // An express machine, run synchronously.
    let express = api
        .ok(
            "CreateStateMachine",
            json!({"name": "quick", "type": "EXPRESS", "roleArn": role,
                   "definition": json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string()}),
        )
        .await["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_string();
    let sync = api
        .ok(
            "StartSyncExecution",
            json!({"stateMachineArn": express, "input": "{\"x\":2}"}),
        )
        .await;
    assert_eq!(sync["status"], "SUCCEEDED");
    assert_eq!(sync["output"], "{\"x\":2}");

    // TestState.
    let tested = api
        .ok(
            "TestState",
            json!({"definition": json!({"Type": "Pass", "Result": 3, "End": true}).to_string(),
                   "roleArn": role, "input": "{}"}),
        )
        .await;
    assert_eq!(tested["status"], "SUCCEEDED");

    // A distributed Map's run.
    h.machine(
        "fan",
        json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
    )
    .await;
    let fan = h.start_execution("fan", json!([1, 2])).await;
    h.run_until_ended(&fan, LIMIT).await;
    let run = api.ok("ListMapRuns", json!({"executionArn": fan})).await["mapRuns"][0]["mapRunArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        api.ok("DescribeMapRun", json!({"mapRunArn": run})).await["itemCounts"]["succeeded"],
        2
    );
    // The iterations are child executions of their own, listed by the run, a page at a time.
    let first = api
        .ok("ListExecutions", json!({"mapRunArn": run, "maxResults": 1}))
        .await;
    let token = first["nextToken"]
        .as_str()
        .expect("a second page")
        .to_string();
    let second = api
        .ok(
            "ListExecutions",
            json!({"mapRunArn": run, "maxResults": 1, "nextToken": token}),
        )
        .await;
    assert_eq!(second.get("nextToken"), None, "{second}");
    let children: Vec<&Value> = first["executions"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["executions"].as_array().unwrap())
        .collect();
    assert_eq!(children.len(), 2);
    for c in &children {
        assert_eq!(c["status"], "SUCCEEDED", "{c}");
        assert_eq!(c["mapRunArn"], json!(run));
        assert!(
            c["stateMachineArn"]
                .as_str()
                .unwrap()
                .ends_with(":stateMachine:fan/Each"),
            "{c}"
        );
    }
    let child = api
        .ok(
            "DescribeExecution",
            json!({"executionArn": children[1]["executionArn"]}),
        )
        .await;
    assert_eq!(child["output"], "2", "{child}");
    assert_eq!(child["input"], "2", "{child}");
    assert_eq!(child["mapRunArn"], json!(run));
    let (status, said) = h
        .api(
            "POST",
            "/",
            Some("GetExecutionHistory"),
            &json!({"executionArn": children[0]["executionArn"]}).to_string(),
        )
        .await;
    assert_eq!(status, 400, "{said}");
    let running = {
        h.machine(
            "slow",
            json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "MaxConcurrency": 1, "End": true,
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "W", "States": {"W": {"Type": "Task", "Resource": activity, "End": true}}}}}}),
        )
        .await;
        h.start_execution("slow", json!([1, 2])).await
    };
    h.drain(Duration::from_secs(20)).await;
    let run = api
        .ok("ListMapRuns", json!({"executionArn": running}))
        .await["mapRuns"][0]["mapRunArn"]
        .as_str()
        .unwrap()
        .to_string();
    api.ok(
        "UpdateMapRun",
        json!({"mapRunArn": run, "maxConcurrency": 2}),
    )
    .await;
    for _ in 0..2 {
        let t = api.task(&activity).await;
        api.ok(
            "SendTaskSuccess",
            json!({"taskToken": t["taskToken"], "output": "{}"}),
        )
        .await;
    }
    h.run_until_ended(&running, LIMIT).await;
    // STANDARD children keep histories of their own, written from the steps' outboxes.
    let listed = api.ok("ListExecutions", json!({"mapRunArn": run})).await;
    let child = listed["executions"][1]["executionArn"].as_str().unwrap();
    let hist = api
        .ok("GetExecutionHistory", json!({"executionArn": child}))
        .await;
    let events = hist["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        (kinds.first(), kinds.last()),
        (Some(&"ExecutionStarted"), Some(&"ExecutionSucceeded")),
        "{hist}"
    );
    assert!(kinds.contains(&"ActivitySucceeded"), "{hist}");
    for (n, e) in events.iter().enumerate() {
        assert_eq!(e["id"], n as u64 + 1, "{hist}");
    }
    assert_eq!(events[0]["executionStartedEventDetails"]["input"], "2");
    let newest = api
        .ok(
            "GetExecutionHistory",
            json!({"executionArn": child, "reverseOrder": true, "maxResults": 1}),
        )
        .await;
    assert_eq!(newest["events"][0]["type"], "ExecutionSucceeded");
    assert!(newest.get("nextToken").is_some(), "{newest}");

    // Cleaning up.
    api.ok(
        "DeleteStateMachineAlias",
        json!({"stateMachineAliasArn": alias}),
    )
    .await;
    api.ok(
        "DeleteStateMachineVersion",
        json!({"stateMachineVersionArn": format!("{sm}:1")}),
    )
    .await;
    api.ok("DeleteStateMachine", json!({"stateMachineArn": sm}))
        .await;
    api.ok("DeleteActivity", json!({"activityArn": activity}))
        .await;

    let called = api.called.lock().unwrap().clone();
    let missing: Vec<&str> = waymark_api::OPERATIONS
        .iter()
        .copied()
        .filter(|op| !called.contains(*op))
        .collect();
    assert!(missing.is_empty(), "not called: {missing:?}");
    assert_eq!(waymark_api::OPERATIONS.len(), 37);
}
