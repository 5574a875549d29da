//! The optimised `bedrock:invokeModel` through the real HTTP path: a small Bedrock Runtime
//! InvokeModel endpoint of the test's own (moto has no Bedrock Runtime) receives the model and
//! body the task sent, and its answer comes back parsed.

mod common;

use std::sync::{Arc, Mutex};

use common::{request, EXECUTION, REGION};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use waymark_engine::memory::NoTasks;
use waymark_engine::ports::{TaskOutcome, Tasks};
use waymark_tasks::{AwsTasks, TaskConfig};

/// What the endpoint received: the request line and the body.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

async fn bedrock_endpoint() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then as many body bytes as Content-Length says.
                let (head, body) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let head = text[..end].to_string();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]);
                            break (head, body.to_string());
                        }
                    }
                };
                let line = head.lines().next().unwrap_or_default().to_string();
                log.lock().unwrap().push((line.clone(), body));
                let (status, answer) = if line.contains("/model/missing/") {
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
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn invoke_model_sends_the_body_as_json_and_parses_the_answer() {
    let (endpoint, seen) = bedrock_endpoint().await;
    let tasks = AwsTasks::new(
        &TaskConfig::new(REGION).with_aws_endpoint(&endpoint),
        NoTasks,
    )
    .await;
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
