//! Lambda through the real SDK client against a local Invoke endpoint: both Resource forms,
//! results in AWS's shape, function errors, service errors, callbacks and failed connections.

mod common;

use std::time::Instant;

use common::{request, LambdaServer, EXECUTION, REGION};
use serde_json::{json, Value};
use waymark_asl::model::error_matches;
use waymark_engine::memory::NoTasks;
use waymark_engine::ports::{TaskOutcome, Tasks};
use waymark_tasks::{AwsTasks, TaskConfig};

async fn tasks(server: &LambdaServer) -> AwsTasks<NoTasks> {
    AwsTasks::new(
        &TaskConfig::new(REGION).with_lambda_endpoint(&server.endpoint),
        NoTasks,
    )
}

fn succeeded(outcome: TaskOutcome) -> Value {
    match outcome {
        TaskOutcome::Succeeded(v) => v,
        other => panic!("expected success, got {other:?}"),
    }
}

fn failed(outcome: TaskOutcome) -> (String, String) {
    match outcome {
        TaskOutcome::Failed(f) => (f.error.unwrap_or_default(), f.cause.unwrap_or_default()),
        other => panic!("expected failure, got {other:?}"),
    }
}

const INVOKE: &str = "arn:aws:states:::lambda:invoke";

#[tokio::test]
async fn invoke_returns_the_response_in_aws_shape() {
    let server = LambdaServer::start().await;
    let tasks = tasks(&server).await;
    let req = request(
        INVOKE,
        json!({"FunctionName": "greet", "Payload": {"name": "Ada"}, "Qualifier": "prod"}),
    );
    let out = succeeded(tasks.invoke(EXECUTION, &req).await);
    assert_eq!(out["ExecutedVersion"], "7");
    assert_eq!(out["Payload"], json!({"greeting": "Hello, Ada!"}));
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], 200);
    assert_eq!(
        out["SdkHttpMetadata"]["HttpHeaders"]["x-amz-executed-version"],
        "7"
    );
    assert_eq!(
        out["SdkHttpMetadata"]["AllHttpHeaders"]["x-amz-executed-version"],
        json!(["7"])
    );
    assert_eq!(out["SdkResponseMetadata"]["RequestId"], "req-1");
    let keys: Vec<&str> = out
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "ExecutedVersion",
            "Payload",
            "SdkHttpMetadata",
            "SdkResponseMetadata",
            "StatusCode"
        ]
    );
    // A role to assume means nothing to a local endpoint: the call goes ahead.
    let mut with_role = req.clone();
    with_role.credentials = Some(json!({"RoleArn": "arn:aws:iam::123456789012:role/other"}));
    succeeded(tasks.invoke(EXECUTION, &with_role).await);

    let calls = server.invocations();
    assert_eq!(calls[0].function, "greet");
    assert_eq!(calls[0].qualifier.as_deref(), Some("prod"));
    assert_eq!(calls[0].payload, json!({"name": "Ada"}));
}

#[tokio::test]
async fn payloads_that_are_not_json_and_asynchronous_invocations() {
    let server = LambdaServer::start().await;
    let tasks = tasks(&server).await;
    let out = succeeded(
        tasks
            .invoke(EXECUTION, &request(INVOKE, json!({"FunctionName": "text"})))
            .await,
    );
    assert_eq!(out["Payload"], "plain text");

    let event = request(
        INVOKE,
        json!({"FunctionName": "greet", "InvocationType": "Event", "Payload": {}}),
    );
    let out = succeeded(tasks.invoke(EXECUTION, &event).await);
    assert_eq!(out["StatusCode"], 202);
    assert_eq!(out["Payload"], "");
    assert_eq!(
        server.invocations()[1].invocation_type.as_deref(),
        Some("Event")
    );
}

#[tokio::test]
async fn the_legacy_function_arn_takes_and_returns_the_payload_itself() {
    let server = LambdaServer::start().await;
    let tasks = tasks(&server).await;
    let echo = "arn:aws:lambda:us-east-1:123456789012:function:echo";
    let input = json!({"order": 7, "items": ["a", "b"]});
    assert_eq!(
        succeeded(tasks.invoke(EXECUTION, &request(echo, input.clone())).await),
        input
    );
    let greet = "arn:aws:lambda:us-east-1:123456789012:function:greet:prod";
    assert_eq!(
        succeeded(
            tasks
                .invoke(EXECUTION, &request(greet, json!({"name": "Bo"})))
                .await
        ),
        json!({"greeting": "Hello, Bo!"})
    );
    assert_eq!(server.invocations()[1].function, "greet");
}

#[tokio::test]
async fn function_errors_fail_with_the_error_type_and_the_payload_as_cause() {
    let server = LambdaServer::start().await;
    let tasks = tasks(&server).await;
    for resource in [
        INVOKE,
        "arn:aws:lambda:us-east-1:123456789012:function:out-of-stock",
    ] {
        let req = request(resource, json!({"FunctionName": "out-of-stock"}));
        let req = if resource == INVOKE {
            req
        } else {
            request(resource, json!({"sku": 1}))
        };
        let (error, cause) = failed(tasks.invoke(EXECUTION, &req).await);
        assert_eq!(error, "OutOfStock", "{resource}");
        let cause: Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(cause["errorMessage"], "no stock for sku-1");
        assert_eq!(cause["errorType"], "OutOfStock");
    }

    let (error, cause) = failed(
        tasks
            .invoke(
                EXECUTION,
                &request(INVOKE, json!({"FunctionName": "crash"})),
            )
            .await,
    );
    assert_eq!(error, "Lambda.Unknown");
    assert!(cause.contains("Task timed out"), "{cause}");
    for catcher in ["Lambda.Unknown", "States.ALL", "States.TaskFailed"] {
        assert!(error_matches(&[catcher.to_string()], &error));
    }
}

#[tokio::test]
async fn service_errors_are_named_after_lambdas_exceptions() {
    let server = LambdaServer::start().await;
    let tasks = tasks(&server).await;
    let (error, cause) = failed(
        tasks
            .invoke(EXECUTION, &request(INVOKE, json!({"FunctionName": "nope"})))
            .await,
    );
    assert_eq!(error, "Lambda.ResourceNotFoundException");
    assert!(cause.starts_with("Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: req-1"), "{cause}");

    let legacy = "arn:aws:lambda:us-east-1:123456789012:function:nope";
    let (error, _) = failed(tasks.invoke(EXECUTION, &request(legacy, json!({}))).await);
    assert_eq!(error, "Lambda.ResourceNotFoundException");

    let (error, cause) = failed(
        tasks
            .invoke(
                EXECUTION,
                &request(INVOKE, json!({"FunctionName": "throttled"})),
            )
            .await,
    );
    assert_eq!(error, "Lambda.TooManyRequestsException");
    assert!(cause.contains("Status Code: 429"), "{cause}");
    assert!(error_matches(&["States.TaskFailed".to_string()], &error));
}

#[tokio::test]
async fn wait_for_task_token_invokes_then_waits() {
    let server = LambdaServer::start().await;
    let tasks = tasks(&server).await;
    let req = request(
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        json!({"FunctionName": "echo", "Payload": {"token": "token-1", "review": "x"}}),
    );
    assert_eq!(tasks.invoke(EXECUTION, &req).await, TaskOutcome::Pending);
    assert_eq!(
        server.invocations()[0].payload,
        json!({"token": "token-1", "review": "x"})
    );

    // A function that fails does not leave the task waiting.
    let req = request(
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        json!({"FunctionName": "out-of-stock", "Payload": {}}),
    );
    assert_eq!(failed(tasks.invoke(EXECUTION, &req).await).0, "OutOfStock");
}

#[tokio::test]
async fn refused_parameters_and_patterns_fail_at_once() {
    let server = LambdaServer::start().await;
    let tasks = tasks(&server).await;
    for (resource, params, says) in [
        (
            INVOKE,
            json!({"Payload": {}}),
            "The field 'FunctionName' is required but was missing",
        ),
        (
            INVOKE,
            json!({"FunctionName": 3}),
            "The value for the field 'FunctionName' must be a STRING",
        ),
        (
            INVOKE,
            json!({"FunctionName": "greet", "Payload": {}, "Colour": "red"}),
            "The field 'Colour' is not supported by Step Functions",
        ),
        (
            "arn:aws:states:::lambda:invoke.sync",
            json!({"FunctionName": "greet"}),
            "is not supported",
        ),
    ] {
        let (error, cause) = failed(tasks.invoke(EXECUTION, &request(resource, params)).await);
        assert_eq!(error, "States.Runtime");
        assert!(cause.contains(says), "{cause}");
    }
    assert!(server.invocations().is_empty());
}

#[tokio::test]
async fn other_resources_go_to_the_fallback() {
    let server = LambdaServer::start().await;
    let tasks = tasks(&server).await;
    for resource in [
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:::someservice:someAction",
    ] {
        let (error, cause) = failed(tasks.invoke(EXECUTION, &request(resource, json!({}))).await);
        assert_eq!(error, "States.TaskFailed");
        assert!(
            cause.contains("no task integration is configured"),
            "{cause}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_retriable_failure_naming_it() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let tasks = AwsTasks::new(
        &TaskConfig::new(REGION).with_lambda_endpoint(&endpoint),
        NoTasks,
    );
    let (error, cause) = failed(
        tasks
            .invoke(
                EXECUTION,
                &request(INVOKE, json!({"FunctionName": "greet"})),
            )
            .await,
    );
    assert_eq!(error, "Lambda.SdkClientException");
    assert!(cause.contains(&endpoint), "{cause}");
    for catcher in ["States.ALL", "States.TaskFailed"] {
        assert!(error_matches(&[catcher.to_string()], &error));
    }
}

#[tokio::test]
async fn a_call_that_hangs_ends_after_the_task_timeout() {
    let server = LambdaServer::start().await;
    let tasks = tasks(&server).await;
    let mut req = request(INVOKE, json!({"FunctionName": "hang"}));
    req.timeout_seconds = Some(0);
    let started = Instant::now();
    let (error, cause) = failed(tasks.invoke(EXECUTION, &req).await);
    assert_eq!(error, "Lambda.ClientExecutionTimeoutException");
    assert!(cause.contains(&server.endpoint), "{cause}");
    assert!(error_matches(&["States.TaskFailed".to_string()], &error));
    assert!(started.elapsed().as_secs() < 30);
}
