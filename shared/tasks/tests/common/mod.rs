//! Servers the integration tests call through the real SDK clients: moto's server for SNS, SQS
//! and DynamoDB, and a small Lambda Invoke endpoint (moto cannot run functions without Docker).
//! Each test starts its own, on a free loopback port, and the server stops when dropped.
//!
//! moto comes from [`waymark_moto::Moto`], behind its proxy that lets one DynamoDB request
//! through at a time (moto's failed transactions erase concurrent writes); a test fails when
//! `moto_server` is missing (`scripts/test` installs it), it never passes as skipped.

#![allow(dead_code)] // each test binary uses its own part

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use waymark_engine::step::TaskRequest;

pub const REGION: &str = "us-east-1";

/// A Task request as the engine makes it.
pub fn request(resource: &str, parameters: Value) -> TaskRequest {
    TaskRequest {
        frame: String::new(),
        seq: 1,
        state: "Call".into(),
        resource: resource.into(),
        parameters,
        token: "token-1".into(),
        wait_for_token: resource.ends_with(".waitForTaskToken"),
        timeout_seconds: None,
        heartbeat_seconds: None,
        credentials: None,
        context: json!({}),
        test_case: None,
        approval: None,
        job: None,
        reader: None,
        writer: None,
    }
}

/// One HTTP/1.1 request from `sock`: the head (request line and headers) and the body, read
/// up to as many bytes as Content-Length says; `None` when the client goes away first.
pub async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return None;
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
                return Some((head, body.to_string()));
            }
        }
    }
}

/// What a test's own API answers: its status line (`"200 OK"`), content type, any further
/// header lines (each ending in `\r\n`) and body.
pub struct Answer {
    pub status: &'static str,
    pub content_type: &'static str,
    pub headers: String,
    pub body: String,
}

impl Answer {
    pub fn json(status: &'static str, body: impl Into<String>) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            headers: String::new(),
            body: body.into(),
        }
    }
}

/// An HTTP/1.1 API on a free loopback port that answers each request with `handle(head, body)`
/// (one request a connection); it runs on the test's runtime and stops with it. Its base URL.
pub async fn serve_api<F>(handle: F) -> String
where
    F: Fn(&str, &str) -> Answer + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = Arc::new(handle);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let Some((head, body)) = read_request(&mut sock).await else {
                    return;
                };
                let a = handle(&head, &body);
                let resp = format!(
                    "HTTP/1.1 {}\r\nContent-Type: {}\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                    a.status,
                    a.content_type,
                    a.headers,
                    a.body.len(),
                    a.body
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

pub const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:Flow:e1";

/// One Invoke call as the Lambda endpoint received it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub function: String,
    pub qualifier: Option<String>,
    pub invocation_type: Option<String>,
    pub payload: Value,
}

/// A Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) over plain HTTP/1.1,
/// with a few functions:
/// - `greet`: answers `{"greeting": "Hello, <name>!"}`;
/// - `echo`: answers its payload;
/// - `text`: answers a body that is not JSON;
/// - `out-of-stock`: raises `OutOfStock` (`X-Amz-Function-Error: Unhandled`);
/// - `crash`: fails with an error payload that has no `errorType`;
/// - `throttled`: refused with 429 `TooManyRequestsException`;
/// - `hang`: never answers;
/// - any other name: 404 `ResourceNotFoundException`.
///
/// The server runs on the test's runtime and stops with it.
pub struct LambdaServer {
    pub endpoint: String,
    pub invocations: Arc<Mutex<Vec<Invocation>>>,
}

impl LambdaServer {
    pub async fn start() -> LambdaServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let invocations = Arc::new(Mutex::new(Vec::new()));
        let log = invocations.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, log.clone()));
            }
        });
        LambdaServer {
            endpoint,
            invocations,
        }
    }

    pub fn invocations(&self) -> Vec<Invocation> {
        self.invocations.lock().expect("lock").clone()
    }
}

/// Serves the requests of one keep-alive connection.
async fn serve(stream: tokio::net::TcpStream, log: Arc<Mutex<Vec<Invocation>>>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if read.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if read.read_exact(&mut body).await.is_err() {
            return;
        }
        let target = request_line.split(' ').nth(1).unwrap_or("").to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let name = path
            .strip_prefix("/2015-03-31/functions/")
            .and_then(|p| p.strip_suffix("/invocations"))
            .map(percent_decode)
            .unwrap_or_default();
        // A function ARN names the function after `function:` (and may carry a qualifier).
        let function = match name.split_once(":function:") {
            Some((_, rest)) => rest.split(':').next().unwrap_or("").to_string(),
            None => name.clone(),
        };
        let qualifier = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("Qualifier="))
            .map(percent_decode);
        let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let invocation_type = headers.get("x-amz-invocation-type").cloned();
        log.lock().expect("lock").push(Invocation {
            function: function.clone(),
            qualifier: qualifier.clone(),
            invocation_type: invocation_type.clone(),
            payload: payload.clone(),
        });

        let version = qualifier.as_deref().map_or("$LATEST", |_| "7");
        let ok = |body: String| (200, vec![("X-Amz-Executed-Version", version)], body);
        let (status, extra, body): (u16, Vec<(&str, &str)>, String) = if invocation_type.as_deref()
            == Some("Event")
        {
            (202, vec![], String::new())
        } else {
            match function.as_str() {
                    "greet" => ok(json!({"greeting": format!("Hello, {}!", payload["name"].as_str().unwrap_or("stranger"))}).to_string()),
                    "echo" => ok(payload.to_string()),
                    "text" => ok("plain text".to_string()),
                    "out-of-stock" => (
                        200,
                        vec![("X-Amz-Executed-Version", version), ("X-Amz-Function-Error", "Unhandled")],
                        json!({"errorMessage": "no stock for sku-1", "errorType": "OutOfStock", "trace": ["at line 1"]}).to_string(),
                    ),
                    "crash" => (
                        200,
                        vec![("X-Amz-Executed-Version", version), ("X-Amz-Function-Error", "Unhandled")],
                        json!({"errorMessage": "2026-01-01T00:00:00Z 1234 Task timed out after 3.00 seconds"}).to_string(),
                    ),
                    "throttled" => (
                        429,
                        vec![("x-amzn-ErrorType", "TooManyRequestsException")],
                        json!({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}).to_string(),
                    ),
                    "hang" => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    _ => (
                        404,
                        vec![("x-amzn-ErrorType", "ResourceNotFoundException")],
                        json!({"Type": "User", "Message": format!("Function not found: arn:aws:lambda:us-east-1:123456789012:function:{function}")}).to_string(),
                    ),
                }
        };
        let reason = match status {
            200 => "OK",
            202 => "Accepted",
            404 => "Not Found",
            _ => "Too Many Requests",
        };
        let mut response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nx-amzn-RequestId: req-{}\r\n",
            body.len(),
            log.lock().expect("lock").len()
        );
        for (k, v) in extra {
            response.push_str(&format!("{k}: {v}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&body);
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
