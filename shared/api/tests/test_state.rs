//! TestState through the API: AWS's request validation, the response's shape at each
//! inspection level, mocks, retries and catches.

mod common;

use common::*;
use serde_json::{json, Value};

fn text(v: &Value) -> Value {
    serde_json::from_str(v.as_str().expect("a JSON text")).expect("valid JSON")
}

#[tokio::test]
async fn info_gives_the_output_status_and_next_state_only() {
    let h = Harness::new();
    let (status, body) = h
        .call(
            "TestState",
            json!({
                "definition": json!({"Type": "Pass", "Parameters": {"x.$": "$.a"}, "Next": "B"}).to_string(),
                "input": "{\"a\": 1}",
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(text(&body["output"]), json!({"x": 1}));
    assert_eq!(body["status"], "SUCCEEDED");
    assert_eq!(body["nextState"], "B");
    assert!(body.get("inspectionData").is_none(), "{body}");
}

#[tokio::test]
async fn debug_shows_every_stage_of_a_task_as_text() {
    let h = Harness::new();
    let topic = "arn:aws:sns:us-east-1:123456789012:t";
    let (status, body) = h
        .call(
            "TestState",
            json!({
                "definition": json!({"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                    "InputPath": "$.in", "Parameters": {"TopicArn": topic, "Message.$": "$"},
                    "ResultSelector": {"t.$": "$.TopicArn"}, "ResultPath": "$.r", "End": true}).to_string(),
                "input": "{\"in\": {\"k\": 2}}",
                "roleArn": ROLE,
                "inspectionLevel": "DEBUG",
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "SUCCEEDED", "{body}");
    let d = &body["inspectionData"];
    assert_eq!(text(&d["input"]), json!({"in": {"k": 2}}));
    assert_eq!(text(&d["afterInputPath"]), json!({"k": 2}));
    let params = json!({"TopicArn": topic, "Message": {"k": 2}});
    assert_eq!(text(&d["afterParameters"]), params);
    // The test harness's tasks echo their parameters.
    assert_eq!(text(&d["result"]), params);
    assert_eq!(text(&d["afterResultSelector"]), json!({"t": topic}));
    let out = json!({"in": {"k": 2}, "r": {"t": topic}});
    assert_eq!(text(&d["afterResultPath"]), out);
    assert_eq!(text(&body["output"]), out);
    assert!(body.get("nextState").is_none());
}

#[tokio::test]
async fn a_mocked_error_is_retriable_then_caught_with_error_details() {
    let h = Harness::new();
    let def = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f"},
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}], "End": true})
    .to_string();
    let mock = json!({"errorOutput": {"error": "States.TaskFailed", "cause": "boom"}});
    let (_, body) = h
        .call(
            "TestState",
            json!({"definition": def, "mock": mock, "inspectionLevel": "DEBUG"}),
        )
        .await;
    assert_eq!(body["status"], "RETRIABLE", "{body}");
    assert_eq!(body["error"], "States.TaskFailed");
    assert_eq!(body["cause"], "boom");
    assert_eq!(body["nextState"], "TestState");
    assert_eq!(
        body["inspectionData"]["errorDetails"],
        json!({"retryIndex": 0, "retryBackoffIntervalSeconds": 2})
    );
    let (_, body) = h
        .call(
            "TestState",
            json!({"definition": def, "mock": mock, "inspectionLevel": "DEBUG",
                   "stateConfiguration": {"retrierRetryCount": 1}}),
        )
        .await;
    assert_eq!(body["status"], "CAUGHT_ERROR", "{body}");
    assert_eq!(body["nextState"], "Recover");
    assert_eq!(
        text(&body["output"]),
        json!({"Error": "States.TaskFailed", "Cause": "boom"})
    );
    assert_eq!(
        body["inspectionData"]["errorDetails"],
        json!({"catchIndex": 0})
    );
}

#[tokio::test]
async fn a_state_of_a_whole_machine_is_named_by_state_name() {
    let h = Harness::new();
    let machine = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": true, "Next": "A"}], "Default": "C"},
        "C": {"Type": "Succeed"}}})
    .to_string();
    let (_, body) = h
        .call(
            "TestState",
            json!({"definition": machine, "stateName": "B", "input": "{\"go\": true}"}),
        )
        .await;
    assert_eq!(
        (body["status"].as_str(), body["nextState"].as_str()),
        (Some("SUCCEEDED"), Some("A"))
    );
    let (status, body) = h
        .call(
            "TestState",
            json!({"definition": machine, "stateName": "Z"}),
        )
        .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidDefinition")),
        "{body}"
    );
}

#[tokio::test]
async fn variables_go_in_and_assignments_come_out() {
    let h = Harness::new();
    let (_, body) = h
        .call(
            "TestState",
            json!({
                "definition": json!({"Type": "Pass", "QueryLanguage": "JSONata",
                    "Assign": {"sum": "{% $a + $states.input.b %}"}, "Output": "{% $a %}", "End": true}).to_string(),
                "input": "{\"b\": 2}",
                "variables": "{\"a\": 40}",
                "inspectionLevel": "TRACE",
            }),
        )
        .await;
    assert_eq!(body["status"], "SUCCEEDED", "{body}");
    assert_eq!(text(&body["output"]), json!(40));
    assert_eq!(
        text(&body["inspectionData"]["variables"]),
        json!({"a": 40, "sum": 42})
    );
}

#[tokio::test]
async fn requests_are_validated_as_aws_validates_them() {
    let h = Harness::new();
    let pass = json!({"Type": "Pass", "End": true}).to_string();
    let task = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f"}, "End": true})
    .to_string();
    let cases = [
        (json!({}), "ValidationException"),
        (
            json!({"definition": pass, "inspectionLevel": "ALL"}),
            "ValidationException",
        ),
        (
            json!({"definition": pass, "input": "{"}),
            "InvalidExecutionInput",
        ),
        (
            json!({"definition": "{\"Type\":\"Nope\"}"}),
            "InvalidDefinition",
        ),
        (
            json!({"definition": pass, "variables": "[1]"}),
            "ValidationException",
        ),
        (json!({"definition": pass, "roleArn": "nope"}), "InvalidArn"),
        // A task without a mock calls its service: it needs a role.
        (json!({"definition": task}), "ValidationException"),
        (
            json!({"definition": task, "mock": {}}),
            "ValidationException",
        ),
        (
            json!({"definition": task, "mock": {"result": "{}", "errorOutput": {"error": "E"}}}),
            "ValidationException",
        ),
        (
            json!({"definition": task, "mock": {"result": "{", "fieldValidationMode": "NONE"}}),
            "ValidationException",
        ),
        (
            json!({"definition": task, "mock": {"result": "{}", "fieldValidationMode": "LOOSE"}}),
            "ValidationException",
        ),
        (
            json!({"definition": pass, "context": "{\"Task\": {\"Token\": \"t\"}}"}),
            "ValidationException",
        ),
        (
            json!({"definition": pass, "stateConfiguration": {"mapIterationFailureCount": 1}}),
            "ValidationException",
        ),
        (
            json!({"definition": pass, "stateConfiguration": {"retrierRetryCount": -1}}),
            "ValidationException",
        ),
        (
            json!({"definition": json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"}, "End": true}).to_string(), "roleArn": ROLE}),
            "ValidationException",
        ),
        (
            json!({"definition": json!({"Type": "Parallel", "Branches": [{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}], "End": true}).to_string()}),
            "ValidationException",
        ),
    ];
    for (req, error) in cases {
        let (status, body) = h.call("TestState", req.clone()).await;
        assert_eq!(status, 400, "{req} → {body}");
        assert_eq!(body["__type"], error, "{req} → {body}");
    }
}

#[tokio::test]
async fn the_context_sets_what_the_state_reads_from_the_context_object() {
    let h = Harness::new();
    let (_, body) = h
        .call(
            "TestState",
            json!({
                "definition": json!({"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "sm.$": "$$.StateMachine.Name", "t.$": "$$.Execution.StartTime"}, "End": true}).to_string(),
                "context": json!({"Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:M:e1", "StartTime": "2025-01-02T03:04:05.000Z"}, "StateMachine": {"Name": "M"}}).to_string(),
            }),
        )
        .await;
    assert_eq!(
        text(&body["output"]),
        json!({"id": "arn:aws:states:us-east-1:123456789012:execution:M:e1", "sm": "M", "t": "2025-01-02T03:04:05.000Z"}),
        "{body}"
    );
}
