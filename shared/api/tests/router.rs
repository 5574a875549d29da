//! The API over HTTP: through the axum router in process, and over a real socket.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

fn request(op: &str, body: &Value) -> Request<Body> {
    Request::post("/")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("AWSStepFunctions.{op}"))
        .body(Body::from(body.to_string()))
        .expect("a request")
}

async fn send(h: &Harness, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let app = waymark_api::router(h.engine.clone());
    let response = app.oneshot(req).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    (
        status,
        headers,
        serde_json::from_slice(&bytes).expect("JSON"),
    )
}

#[tokio::test]
async fn operations_through_the_router() {
    let h = Harness::new();
    let create = json!({"name": "Web", "definition": pass_machine().to_string(), "roleArn": ROLE});
    let (status, headers, v) = send(&h, request("CreateStateMachine", &create)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/x-amz-json-1.0");
    assert!(headers.contains_key("x-amzn-requestid"));
    let sm = v["stateMachineArn"].as_str().unwrap().to_string();

    // StartSyncExecution is not allowed for a STANDARD machine: an AWS-shaped error.
    let (status, headers, v) = send(
        &h,
        request("StartSyncExecution", &json!({"stateMachineArn": sm})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["x-amzn-errortype"], "StateMachineTypeNotSupported");
    assert_eq!(v["__type"], "StateMachineTypeNotSupported");

    let (status, _, v) = send(
        &h,
        request(
            "StartExecution",
            &json!({"stateMachineArn": sm, "name": "w1"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    h.settle().await;
    let (_, _, d) = send(
        &h,
        request(
            "DescribeExecution",
            &json!({"executionArn": v["executionArn"]}),
        ),
    )
    .await;
    assert_eq!(d["status"], "SUCCEEDED");

    // Also the 1.1 content type and plain JSON.
    for ct in [
        "application/x-amz-json-1.1",
        "application/json; charset=utf-8",
    ] {
        let req = Request::post("/")
            .header("content-type", ct)
            .header("x-amz-target", "AWSStepFunctions.ListStateMachines")
            .body(Body::from("{}"))
            .unwrap();
        let (status, _, _) = send(&h, req).await;
        assert_eq!(status, StatusCode::OK, "{ct}");
    }
}

#[tokio::test]
async fn sync_execution_through_the_router() {
    let h = Harness::new();
    let sm = h.create_typed("Fast", &pass_machine(), "EXPRESS").await;
    let (status, _, v) = h
        .with_driver(send(
            &h,
            request(
                "StartSyncExecution",
                &json!({"stateMachineArn": sm, "input": "{\"a\":2}"}),
            ),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"], "{\"a\":2,\"result\":{\"ok\":true}}");
}

#[tokio::test]
async fn protocol_errors_are_aws_shaped() {
    let h = Harness::new();
    let req = Request::post("/")
        .header("content-type", "text/plain")
        .header("x-amz-target", "AWSStepFunctions.ListStateMachines")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _, v) = send(&h, req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(v["__type"].is_string() && v["message"].is_string());

    let req = Request::post("/")
        .header("content-type", "application/x-amz-json-1.0")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _, v) = send(&h, req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["__type"], "UnknownOperationException");

    let big = vec![b' '; 1024 * 1024 + 1];
    let req = Request::post("/")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "AWSStepFunctions.ListStateMachines")
        .body(Body::from(big))
        .unwrap();
    let (status, headers, v) = send(&h, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        headers["x-amzn-errortype"],
        "RequestEntityTooLargeException"
    );
    assert_eq!(v["__type"], "RequestEntityTooLargeException");

    let req = Request::post("/elsewhere").body(Body::from("{}")).unwrap();
    let (status, _, v) = send(&h, req).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["__type"], "UnknownOperationException");
}

#[tokio::test]
async fn over_a_real_socket() {
    let h = Harness::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    let app = waymark_api::router(h.engine.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let body = json!({"definition": pass_machine().to_string()}).to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.ValidateStateMachineDefinition\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    server.abort();

    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: application/x-amz-json-1.0"),
        "{response}"
    );
    let json_start = response.find("\r\n\r\n").expect("a body") + 4;
    let v: Value = serde_json::from_str(&response[json_start..]).expect("JSON");
    assert_eq!(v["result"], "OK");
}
