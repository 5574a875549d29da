//! `waymark console --endpoint` against the API function: the console's signing proxy
//! (`waymark_cli::console::router`) in front of an API Gateway stand-in that checks every
//! request's SigV4 signature as IAM auth would, then hands it to the API function's router
//! over the home on moto. Through the console: a machine is created and started, the stepper
//! runs it to a waiting callback, the console's graph finds the task token in the history, and
//! the token sent back through the console ends the execution.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{Harness, REGION};
use serde_json::{json, Value};
use waymark_cli::console::{router, Target};
use waymark_engine::record::Status;
use waymark_sdk::{Config, SdkCaller};

const LIMIT: Duration = Duration::from_secs(60);

/// Recomputes the request's SigV4 signature with the test's credentials, as API Gateway's IAM
/// authorizer checks it.
fn verify(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Authorization header")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not a SigV4 Authorization header")?;
    let field = |name: &str| {
        rest.split(", ")
            .find_map(|p| p.strip_prefix(name))
            .map(str::to_string)
            .ok_or(format!("no {name} in {auth}"))
    };
    let credential = field("Credential=")?;
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[0] != "test" || scope[2] != REGION || scope[3] != "execute-api" {
        return Err(format!(
            "signed for the wrong key, region or service: {credential}"
        ));
    }
    let signed_headers = field("SignedHeaders=")?;
    let signature = field("Signature=")?;
    let date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or("no X-Amz-Date")?;
    let time: SystemTime = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|e| e.to_string())?
        .and_utc()
        .into();
    let mut signed = Vec::new();
    for name in signed_headers.split(';') {
        let value = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(format!("signed header {name} is missing"))?;
        signed.push((name.to_string(), value.to_string()));
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let url = format!("http://{host}{uri}");
    let identity = aws_credential_types::Credentials::new("test", "test", None, None, "t").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("execute-api")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        method.as_str(),
        &url,
        signed.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let expected = instructions
        .headers()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.to_string())
        .ok_or("no signature computed")?;
    if expected.ends_with(&format!("Signature={signature}")) {
        Ok(())
    } else {
        Err("the signature does not match".into())
    }
}

/// API Gateway with IAM auth in front of the API function.
async fn gateway(
    State(h): State<Arc<Harness>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(why) = verify(&method, &uri, &headers, &body) {
        return (StatusCode::FORBIDDEN, json!({"message": why}).to_string()).into_response();
    }
    // The API function's handler, as lambda_http's adapter calls it.
    let mut request = axum::http::Request::builder().method(method).uri(uri);
    for k in ["content-type", "x-amz-target"] {
        if let Some(v) = headers.get(k) {
            request = request.header(k, v);
        }
    }
    let request = request
        .body(axum::body::Body::from(body))
        .expect("a request");
    tower::ServiceExt::oneshot(waymark_aws::api::router(h.home.clone()), request)
        .await
        .expect("the API function answers")
}

async fn listen(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

struct Browser {
    http: SdkCaller,
    url: String,
}

impl Browser {
    /// A Step Functions call as the console's page makes it.
    async fn api(&self, operation: &str, body: Value) -> (u16, Value) {
        self.call(&format!("AWSStepFunctions.{operation}"), body)
            .await
    }

    async fn call(&self, target: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .raw(
                "POST",
                &self.url,
                &[
                    ("content-type".into(), "application/x-amz-json-1.0".into()),
                    ("x-amz-target".into(), target.into()),
                ],
                body.to_string().into_bytes(),
                None,
            )
            .await
            .expect("the console answers");
        (
            r.status,
            serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        )
    }

    async fn ok(&self, operation: &str, body: Value) -> Value {
        let (status, out) = self.api(operation, body).await;
        assert_eq!(status, 200, "{operation}: {out}");
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_drives_a_deployed_waymark_through_signed_calls() {
    let h = Arc::new(Harness::start("console", 900).await);
    let inbox = h
        .sqs
        .create_queue()
        .queue_name("console-inbox")
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let api = listen(axum::Router::new().fallback(gateway).with_state(h.clone())).await;
    let target = Target::parse(&format!("http://{api}"), Some(REGION), REGION).expect("target");
    let signer = SdkCaller::with_sdk_config(h.sdk.clone(), Config::default());
    let console = listen(router(target, signer)).await;
    let plain = SdkCaller::with_sdk_config(h.sdk.clone(), Config::default());
    let browser = Browser {
        http: plain.clone(),
        url: format!("http://{console}/"),
    };

    // The gateway refuses what is not signed, so what gets through below was signed.
    let unsigned = plain
        .raw(
            "POST",
            &format!("http://{api}/"),
            &[(
                "x-amz-target".into(),
                "AWSStepFunctions.ListStateMachines".into(),
            )],
            b"{}".to_vec(),
            None,
        )
        .await
        .expect("an answer");
    assert_eq!(unsigned.status, 403);

    // The page itself.
    let page = plain
        .raw("GET", &browser.url, &[], Vec::new(), None)
        .await
        .expect("the page");
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("console/app.js"));
    assert!(page
        .headers
        .iter()
        .any(|(k, v)| k == "content-security-policy" && v.contains("script-src 'self'")));

    let definition = json!({
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": inbox, "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
                "Next": "Done"
            },
            "Done": {"Type": "Pass", "End": true}
        }
    })
    .to_string();
    let machine = browser
        .ok(
            "CreateStateMachine",
            json!({"name": "console-callback", "definition": definition,
                   "roleArn": "arn:aws:iam::123456789012:role/r"}),
        )
        .await["stateMachineArn"]
        .as_str()
        .expect("arn")
        .to_string();
    let listed = browser.ok("ListStateMachines", json!({})).await;
    assert_eq!(
        listed["stateMachines"][0]["stateMachineArn"],
        machine.as_str()
    );
    let execution = browser
        .ok(
            "StartExecution",
            json!({"stateMachineArn": machine, "input": "{\"order\": 7}"}),
        )
        .await["executionArn"]
        .as_str()
        .expect("arn")
        .to_string();
    h.drain(Duration::from_secs(20)).await;
    let described = browser
        .ok("DescribeExecution", json!({"executionArn": execution}))
        .await;
    assert_eq!(described["status"], "RUNNING", "{described}");

    // The console's graph finds the waiting task's token in the history.
    let history = browser
        .ok("GetExecutionHistory", json!({"executionArn": execution}))
        .await;
    let graph = plain
        .raw(
            "POST",
            &format!("http://{console}/console/graph"),
            &[("content-type".into(), "application/json".into())],
            json!({"definition": definition, "history": history["events"]})
                .to_string()
                .into_bytes(),
            None,
        )
        .await
        .expect("the graph");
    assert_eq!(graph.status, 200);
    let view: Value = serde_json::from_slice(&graph.body).expect("json");
    let waiting = &view["runs"]["Ask"]["waiting"];
    let token = waiting["token"].as_str().expect("the token").to_string();
    let asked = h.receive_from(&inbox).await;
    let body: Value = serde_json::from_str(asked[0].body.as_deref().unwrap_or("")).expect("json");
    assert_eq!(body["token"], token.as_str());

    browser
        .ok(
            "SendTaskSuccess",
            json!({"taskToken": token, "output": "{\"approved\": true}"}),
        )
        .await;
    let rec = h.run_until_ended(&execution, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded);
    let described = browser
        .ok("DescribeExecution", json!({"executionArn": execution}))
        .await;
    assert_eq!(described["output"], "{\"approved\":true}");

    // An error of the API comes back as the API gave it.
    let (status, out) = browser
        .api(
            "DescribeExecution",
            json!({"executionArn": "arn:aws:states:us-east-1:123456789012:execution:nope:x"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(out["__type"], "ExecutionDoesNotExist", "{out}");

    // Not forwarded: calls other than Step Functions', and pages reached under another name.
    let (status, _) = browser
        .call("DynamoDB_20120810.ListTables", json!({}))
        .await;
    assert_eq!(status, 400);
    // (A raw request: the HTTP client always names the host it connects to.)
    let rebound = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(console)
            .await
            .expect("connect");
        stream
            .write_all(
                b"POST / HTTP/1.1\r\nHost: attacker.example:8084\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.ListStateMachines\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            )
            .await
            .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        answer
    };
    assert!(rebound.starts_with("HTTP/1.1 403"), "{rebound}");
}
