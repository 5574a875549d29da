//! The optimised integrations that call an HTTP API moto does not have, through the real HTTP
//! path, against a small endpoint of the test's own: `bedrock:invokeModel` (Bedrock Runtime's
//! InvokeModel receives the model and body, its answer comes back parsed) and
//! `apigateway:invoke` (the user's API receives the method, path, query, headers and body, and
//! a SigV4 signature for `execute-api` with IAM_ROLE; a 403 is `ApiGateway.403`).

mod common;

use std::sync::{Arc, Mutex};

use common::{request, Answer, EXECUTION, REGION};
use serde_json::{json, Value};
use waymark_engine::memory::NoTasks;
use waymark_engine::ports::{TaskOutcome, Tasks};
use waymark_tasks::{AwsTasks, TaskConfig};

/// What the endpoint received: the request line and the body.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

async fn bedrock_endpoint() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let url = common::serve_api(move |head, body| {
        let line = head.lines().next().unwrap_or_default().to_string();
        log.lock().unwrap().push((line.clone(), body.to_string()));
        let (status, answer) = if line.contains(" /prod/huge") {
            ("200 OK", "x".repeat(waymark_sdk::MAX_RESPONSE_BYTES + 1))
        } else if line.contains(" /prod/denied") {
            (
                "403 Forbidden",
                r#"{"message":"Missing Authentication Token"}"#.to_string(),
            )
        } else if line.contains(" /prod/") {
            let auth = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("authorization: ")
                        .or_else(|| l.strip_prefix("Authorization: "))
                })
                .unwrap_or_default()
                .to_string();
            let custom: Vec<String> = head
                .lines()
                .filter_map(|l| l.strip_prefix("x-team: ").map(str::to_string))
                .collect();
            let echo = json!({"line": line, "body": body, "auth": auth, "team": custom});
            ("200 OK", echo.to_string())
        } else if line.contains("/model/missing/") {
            (
                "404 Not Found",
                r#"{"message":"no such model"}"#.to_string(),
            )
        } else {
            ("200 OK", r#"{"completion":"Hello back"}"#.to_string())
        };
        let extra = if status.starts_with("404") {
            "x-amzn-ErrorType: ResourceNotFoundException\r\n"
        } else {
            ""
        };
        Answer {
            headers: extra.to_string(),
            ..Answer::json(status, answer)
        }
    })
    .await;
    (url, seen)
}

#[tokio::test]
async fn invoke_model_sends_the_body_as_json_and_parses_the_answer() {
    let (endpoint, seen) = bedrock_endpoint().await;
    let tasks = AwsTasks::new(
        &TaskConfig::new(REGION).with_aws_endpoint(&endpoint),
        NoTasks,
    );
    let req = request(
        "arn:aws:states:::bedrock:invokeModel",
        json!({"ModelId": "anthropic.claude-v2", "Body": {"prompt": "Hi", "max_tokens_to_sample": 20}}),
    );
    let out = match tasks.invoke(EXECUTION, &req).await {
        TaskOutcome::Succeeded(v) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(out["Body"], json!({"completion": "Hello back"}), "{out}");
    assert_eq!(out["ContentType"], "application/json");
    let (line, body) = seen.lock().unwrap()[0].clone();
    assert!(
        line.starts_with("POST /model/anthropic.claude-v2/invoke"),
        "{line}"
    );
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent, json!({"prompt": "Hi", "max_tokens_to_sample": 20}));
    // The service's error, named as Step Functions names SDK errors.
    let req = request(
        "arn:aws:states:::bedrock:invokeModel",
        json!({"ModelId": "missing", "Body": "{}"}),
    );
    match tasks.invoke(EXECUTION, &req).await {
        TaskOutcome::Failed(f) => {
            assert_eq!(
                f.error.as_deref(),
                Some("BedrockRuntime.ResourceNotFoundException")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn api_gateway_invoke_calls_the_api_and_names_errors_by_status() {
    let (endpoint, _) = bedrock_endpoint().await;
    let tasks = AwsTasks::new(
        &TaskConfig::new(REGION).with_aws_endpoint(&endpoint),
        NoTasks,
    );
    let call = |params: Value| {
        let req = request("arn:aws:states:::apigateway:invoke", params);
        let tasks = &tasks;
        async move { tasks.invoke(EXECUTION, &req).await }
    };
    let out = match call(
        json!({"ApiEndpoint": endpoint, "Method": "POST", "Stage": "prod",
        "Path": "bills/add", "QueryParameters": {"billId": ["1", "2"]},
        "Headers": {"X-Team": ["blue", "green"]}, "RequestBody": {"billId": "b-1"}}),
    )
    .await
    {
        TaskOutcome::Succeeded(v) => v,
        other => panic!("{other:?}"),
    };
    assert_eq!(out["StatusCode"], 200, "{out}");
    assert_eq!(out["StatusText"], "OK");
    assert_eq!(out["Headers"]["content-type"], json!(["application/json"]));
    let echo = &out["ResponseBody"];
    assert_eq!(
        echo["line"], "POST /prod/bills/add?billId=1&billId=2 HTTP/1.1",
        "{echo}"
    );
    assert_eq!(echo["body"], r#"{"billId":"b-1"}"#);
    assert_eq!(echo["team"], json!(["blue", "green"]));
    assert_eq!(echo["auth"], "", "NO_AUTH sends no signature");
    // IAM_ROLE: signed for execute-api.
    let out = match call(
        json!({"ApiEndpoint": endpoint, "Method": "GET", "Stage": "prod", "Path": "ping", "AuthType": "IAM_ROLE"}),
    )
    .await
    {
        TaskOutcome::Succeeded(v) => v,
        other => panic!("{other:?}"),
    };
    let auth = out["ResponseBody"]["auth"].as_str().unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256") && auth.contains("/execute-api/aws4_request"),
        "{auth}"
    );
    match call(json!({"ApiEndpoint": endpoint, "Method": "GET", "Stage": "prod", "Path": "denied"}))
        .await
    {
        TaskOutcome::Failed(f) => {
            assert_eq!(f.error.as_deref(), Some("ApiGateway.403"));
            assert_eq!(
                f.cause.as_deref(),
                Some(r#"{"message":"Missing Authentication Token"}"#)
            );
        }
        other => panic!("{other:?}"),
    }
    // An answer larger than any task can use is not read whole.
    match call(json!({"ApiEndpoint": endpoint, "Method": "GET", "Stage": "prod", "Path": "huge"}))
        .await
    {
        TaskOutcome::Failed(f) => {
            assert!(f.cause.unwrap().contains("larger than"), "{:?}", f.error)
        }
        other => panic!("{other:?}"),
    }
    // An AWS host while AWS calls go to a local endpoint: refused, not sent to AWS.
    match call(json!({"ApiEndpoint": "abc.execute-api.us-east-1.amazonaws.com", "Method": "GET"}))
        .await
    {
        TaskOutcome::Failed(f) => assert!(f.cause.unwrap().contains("AWS host")),
        other => panic!("{other:?}"),
    }
}
