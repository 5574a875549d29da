//! Request bodies an attacker would send, thrown at every operation through the router: any
//! bytes, invalid UTF-8, JSON nested far too deep, huge strings, members of the wrong type,
//! unknown members, near-valid requests. Every answer must be AWS-shaped — a JSON object, and
//! for an error a `__type` and `message` matching `X-Amzn-ErrorType` with a 4xx status — and
//! nothing may panic. Bounded: a fixed number of cases, each under the 1 MB request limit.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use common::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tower::ServiceExt;
use waymark_api::OPERATIONS;

/// How many requests each property sends.
const CASES: u32 = 4000;

/// The members the operations read, so that generated bodies reach past parsing.
const MEMBERS: &[&str] = &[
    "name",
    "definition",
    "roleArn",
    "type",
    "stateMachineArn",
    "executionArn",
    "input",
    "output",
    "error",
    "cause",
    "taskToken",
    "maxResults",
    "nextToken",
    "statusFilter",
    "redriveFilter",
    "mapRunArn",
    "reverseOrder",
    "includeExecutionData",
    "includedData",
    "tags",
    "tagKeys",
    "resourceArn",
    "severity",
    "publish",
    "versionDescription",
    "traceHeader",
    "clientToken",
    "loggingConfiguration",
];

fn arn_like() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("arn:aws:states:us-east-1:123456789012:stateMachine:Fuzz".to_string()),
        Just("arn:aws:states:us-east-1:123456789012:stateMachine:Waits".to_string()),
        Just("arn:aws:states:us-east-1:123456789012:execution:Fuzz:x".to_string()),
        Just("arn:aws:states:us-east-1:123456789012:express:Fuzz:x:y".to_string()),
        Just("arn:aws:iam::123456789012:role/r".to_string()),
        "arn:aws:states:[a-z0-9-]{0,12}:[0-9]{0,13}:[a-zA-Z]{0,14}:[^:]{0,20}(:[^:]{0,10}){0,3}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f-\\u{9f}\"\\\\<>{}\\[\\]?*#%^|~`$&,;:/ \\n]{0,40}",
        2 => arn_like(),
        1 => Just(pass_machine().to_string()),
        1 => Just(r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": true}}}"#.to_string()),
        1 => Just("{}".to_string()),
        1 => Just("ALL_DATA".to_string()),
        1 => Just("STANDARD".to_string()),
        1 => Just("EXPRESS".to_string()),
        // Long and huge: over the members' limits (80, 256, 2048, 32768 and 256 KiB).
        1 => (0usize..6, prop_oneof![Just('x'), Just('é'), Just('\n'), Just('\u{1F600}')])
            .prop_map(|(k, c)| c.to_string().repeat([81, 257, 2049, 32769, 262_145, 300_000][k] / c.len_utf8())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(1000),
            Just(1001),
            Just(i64::MAX),
            Just(i64::MIN)
        ]
        .prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z]{1,12}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A request body: an object of known and unknown members, or anything at all.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let members = prop::collection::vec(
        (
            prop_oneof![4 => prop::sample::select(MEMBERS).prop_map(str::to_string), 1 => "[a-zA-Z]{1,10}"],
            value(),
        ),
        0..8,
    )
    .prop_map(|kv| {
        let m: Map<String, Value> = kv.into_iter().collect();
        Value::Object(m).to_string().into_bytes()
    });
    prop_oneof![
        6 => members,
        // Any bytes: invalid UTF-8, truncated JSON, nothing.
        2 => prop::collection::vec(any::<u8>(), 0..64),
        // Nesting far deeper than any parser should follow.
        1 => (1usize..200_000, prop::bool::ANY).prop_map(|(depth, object)| {
            if object {
                let mut s = "{\"a\":".repeat(depth);
                s.push('1');
                s.push_str(&"}".repeat(depth));
                s.into_bytes()
            } else {
                format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
            }
        }),
        // Nesting hidden inside a member that is itself JSON text.
        1 => (1usize..50_000).prop_map(|depth| {
            let inner = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Fuzz",
                   "input": inner, "definition": inner, "output": inner,
                   "taskToken": "t", "name": "n", "roleArn": "arn:aws:iam::123456789012:role/r"})
                .to_string()
                .into_bytes()
        }),
    ]
}

fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(OPERATIONS).prop_map(|op| format!("AWSStepFunctions.{op}")),
        1 => any::<String>().prop_filter("a header value", |s| s.bytes().all(|b| (0x20..0x7f).contains(&b))),
        1 => Just("AWSStepFunctions.".to_string()),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        8 => Just(Some("application/x-amz-json-1.0")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(None),
        1 => Just(Some("text/plain")),
    ]
}

/// The answer is AWS-shaped, whatever was asked.
fn check(status: u16, error_type: Option<&str>, bytes: &[u8]) -> Result<(), TestCaseError> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {bytes:?}")))?;
    prop_assert!(v.is_object(), "not an object: {}", v);
    if status == 200 {
        prop_assert!(error_type.is_none());
        return Ok(());
    }
    prop_assert!(
        (400..500).contains(&status),
        "status {} for {} (hostile input is the caller's fault, never the service's)",
        status,
        v
    );
    let ty = v["__type"].as_str();
    prop_assert!(ty.is_some(), "no __type: {}", v);
    prop_assert!(v["message"].is_string(), "no message: {}", v);
    prop_assert_eq!(ty, error_type, "X-Amzn-ErrorType matches __type");
    Ok(())
}

#[test]
fn hostile_bodies_get_aws_shaped_answers_from_every_operation() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let h = Harness::new();
    rt.block_on(async {
        h.create("Fuzz", &token_machine()).await;
        h.create("Waits", &wait_machine()).await;
        h.start(
            "arn:aws:states:us-east-1:123456789012:stateMachine:Fuzz",
            Some("x"),
            &json!({}),
        )
        .await;
    });
    let app = waymark_api::router(h.engine.clone());
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    // What came back, by error name ("OK" for successes): shows how far the inputs reached.
    let seen: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let tally = seen.clone();
    let config = ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(target in target(), content_type in content_type(), body in body())| {
        counter.fetch_add(1, Ordering::Relaxed);
        let mut req = Request::post("/").header("x-amz-target", target.as_str());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(Body::from(body)).unwrap();
        let (status, error_type, bytes) = rt.block_on(async {
            let r = app.clone().oneshot(req).await.unwrap();
            let status = r.status().as_u16();
            let error_type = r
                .headers()
                .get("x-amzn-errortype")
                .map(|v| v.to_str().unwrap().to_string());
            let bytes = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
            (status, error_type, bytes)
        });
        *tally
            .lock()
            .unwrap()
            .entry(error_type.clone().unwrap_or_else(|| "OK".into()))
            .or_default() += 1;
        check(status, error_type.as_deref(), &bytes)?;
    });
    let n = sent.load(Ordering::Relaxed);
    eprintln!(
        "fuzz: {n} requests, every answer AWS-shaped: {:?}",
        seen.lock().unwrap()
    );
    assert!(n >= CASES as usize);
}
