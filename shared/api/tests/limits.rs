//! AWS's documented limits of the Step Functions API, each at its boundary: the largest value
//! AWS accepts is accepted, one more is refused with AWS's error name. From the API
//! reference and the service quotas: request 1 MB (headers included), definition 1 MB, names
//! 1–80 characters without whitespace, brackets, wildcards, `"#%\^|~`$&,;:/` or control
//! characters (`InvalidName`), input and output 256 KiB, tags 50 per resource with keys of
//! 1–128 and values of 0–256 characters, `maxResults` 0–1000 (100 for validation
//! diagnostics), `nextToken` 1–1024, `error` 0–256 and `cause` 0–32768, task tokens 1–2048.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::{json, Value};
use tower::ServiceExt;

const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Limits";

/// `(operation, body, expected __type)` for each case; `None` expects success.
async fn expect_all(h: &Harness, cases: Vec<(&str, Value, Option<&str>)>) {
    for (op, body, expected) in cases {
        let shown: String = body.to_string().chars().take(160).collect();
        let (status, v) = h.call(op, body).await;
        match expected {
            None => assert_eq!(status, 200, "{op} {shown}: {v}"),
            Some(name) => {
                assert_eq!(v["__type"], name, "{op} {shown}: {v}");
                assert_eq!(status, 400, "{op} {shown}: {v}");
            }
        }
    }
}

#[tokio::test]
async fn names_are_one_to_eighty_characters_of_the_allowed_kind() {
    let h = Harness::new();
    let def = pass_machine().to_string();
    let create = |name: String| json!({"name": name, "definition": def, "roleArn": ROLE});
    let mut cases = vec![
        ("CreateStateMachine", create("n".repeat(80)), None),
        ("CreateStateMachine", create("ü".repeat(80)), None),
        (
            "CreateStateMachine",
            create("n".repeat(81)),
            Some("InvalidName"),
        ),
        (
            "CreateStateMachine",
            create(String::new()),
            Some("InvalidName"),
        ),
    ];
    for c in [
        ' ', '\t', '\n', '<', '>', '{', '}', '[', ']', '?', '*', '"', '#', '%', '\\', '^', '|',
        '~', '`', '$', '&', ',', ';', ':', '/', '\u{0}', '\u{1f}', '\u{7f}', '\u{9f}',
    ] {
        cases.push((
            "CreateStateMachine",
            create(format!("a{c}b")),
            Some("InvalidName"),
        ));
    }
    expect_all(&h, cases).await;

    h.create("Limits", &token_machine()).await;
    let start = |name: String| json!({"stateMachineArn": SM, "name": name});
    expect_all(
        &h,
        vec![
            ("StartExecution", start("e".repeat(80)), None),
            ("StartExecution", start("e".repeat(81)), Some("InvalidName")),
            ("StartExecution", start("a b".into()), Some("InvalidName")),
            (
                "StartExecution",
                start("a\u{85}b".into()),
                Some("InvalidName"),
            ),
            ("StartExecution", start(String::new()), Some("InvalidName")),
        ],
    )
    .await;
}

#[tokio::test]
async fn definitions_inputs_and_outputs_have_their_sizes() {
    let h = Harness::new();
    h.create("Limits", &token_machine()).await;
    // Input: 256 KiB of JSON text, in UTF-8 bytes.
    let input = |bytes: usize| format!("\"{}\"", "x".repeat(bytes - 2));
    expect_all(
        &h,
        vec![
            (
                "StartExecution",
                json!({"stateMachineArn": SM, "input": input(256 * 1024)}),
                None,
            ),
            (
                "StartExecution",
                json!({"stateMachineArn": SM, "input": input(256 * 1024 + 1)}),
                Some("InvalidExecutionInput"),
            ),
            (
                // Two bytes a character: 256 KiB is reached with half as many.
                "StartExecution",
                json!({"stateMachineArn": SM, "input": format!("\"{}\"", "é".repeat(128 * 1024))}),
                Some("InvalidExecutionInput"),
            ),
        ],
    )
    .await;
    h.settle().await;
    let token = h.tokens()[0].clone();
    expect_all(
        &h,
        vec![(
            "SendTaskSuccess",
            json!({"taskToken": token, "output": input(256 * 1024 + 1)}),
            Some("InvalidOutput"),
        )],
    )
    .await;

    // A definition over 1 MB cannot travel in a request of 1 MB: the request limit refuses it.
    let padded = format!(
        "{{\"Comment\": \"{}\", \"StartAt\": \"P\", \"States\": {{\"P\": {{\"Type\": \"Pass\", \"End\": true}}}}}}",
        "c".repeat(1_048_577)
    );
    let (status, v) = h
        .call(
            "ValidateStateMachineDefinition",
            json!({"definition": padded}),
        )
        .await;
    assert_eq!(status, 413, "over the request limit first: {v}");
    assert_eq!(v["__type"], "RequestEntityTooLargeException");
}

#[tokio::test]
async fn requests_count_their_headers_toward_one_megabyte() {
    let h = Harness::new();
    let app = waymark_api::router(h.engine.clone());
    let filler = "h".repeat(8 * 1024);
    // A body that fits alone but not with 8 KB of headers beside it.
    let body = json!({"definition": pass_machine().to_string(), "pad": "p".repeat(1024 * 1024 - 4 * 1024)})
        .to_string();
    assert!(body.len() < 1024 * 1024);
    let send = |with_filler: bool| {
        let mut req = Request::post("/")
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "x-amz-target",
                "AWSStepFunctions.ValidateStateMachineDefinition",
            );
        if with_filler {
            req = req.header("x-filler", filler.as_str());
        }
        app.clone()
            .oneshot(req.body(Body::from(body.clone())).unwrap())
    };
    let alone = send(false).await.unwrap();
    assert_eq!(alone.status(), StatusCode::OK);
    let with_headers = send(true).await.unwrap();
    assert_eq!(with_headers.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        with_headers.headers()["x-amzn-errortype"],
        "RequestEntityTooLargeException"
    );
}

#[tokio::test]
async fn tags_error_cause_pages_and_tokens_have_their_lengths() {
    let h = Harness::new();
    h.create("Limits", &wait_machine()).await;
    let tag = |k: String, v: String| json!({"resourceArn": SM, "tags": [{"key": k, "value": v}]});
    let tags = |n: usize| {
        let all: Vec<Value> = (0..n)
            .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
            .collect();
        json!({"resourceArn": SM, "tags": all})
    };
    expect_all(
        &h,
        vec![
            ("TagResource", tag("k".repeat(128), "v".repeat(256)), None),
            (
                "TagResource",
                tag("k".repeat(129), "v".into()),
                Some("ValidationException"),
            ),
            (
                "TagResource",
                tag("k".into(), "v".repeat(257)),
                Some("ValidationException"),
            ),
            (
                "TagResource",
                tag(String::new(), "v".into()),
                Some("ValidationException"),
            ),
            (
                "UntagResource",
                json!({"resourceArn": SM, "tagKeys": ["k".repeat(129)]}),
                Some("ValidationException"),
            ),
            // One is there already: 49 more make 50, 50 more make 51.
            ("TagResource", tags(49), None),
            ("TagResource", tags(50), Some("TooManyTags")),
        ],
    )
    .await;

    let exec = h.start(SM, Some("e"), &json!({})).await;
    let history = json!({"executionArn": exec});
    let page = |field: &str, v: Value| {
        let mut b = history.clone();
        b[field] = v;
        b
    };
    let list = |v: Value| json!({"stateMachineArn": SM, "maxResults": v});
    expect_all(
        &h,
        vec![
            ("ListExecutions", list(json!(1000)), None),
            ("ListExecutions", list(json!(0)), None),
            (
                "ListExecutions",
                list(json!(1001)),
                Some("ValidationException"),
            ),
            (
                "ListExecutions",
                list(json!(-1)),
                Some("ValidationException"),
            ),
            (
                "ListStateMachines",
                json!({"maxResults": 1001}),
                Some("ValidationException"),
            ),
            ("GetExecutionHistory", page("maxResults", json!(1000)), None),
            (
                "GetExecutionHistory",
                page("maxResults", json!(1001)),
                Some("ValidationException"),
            ),
            (
                "GetExecutionHistory",
                page("nextToken", json!("t".repeat(1025))),
                Some("InvalidToken"),
            ),
            (
                "ListStateMachines",
                json!({"nextToken": "t".repeat(1025)}),
                Some("InvalidToken"),
            ),
            (
                "ListStateMachines",
                json!({"nextToken": ""}),
                Some("InvalidToken"),
            ),
            (
                // Made the way the API makes tokens, around one no store made: still the
                // caller's mistake, not a 500.
                "GetExecutionHistory",
                page(
                    "nextToken",
                    json!(waymark_api::pages::encode(
                        &format!("GetExecutionHistory|{exec}|false"),
                        "not-an-event-id"
                    )),
                ),
                Some("InvalidToken"),
            ),
            (
                "ListExecutions",
                json!({"stateMachineArn": SM, "nextToken": waymark_api::pages::encode(
                    &format!("ListExecutions|{SM}||None"),
                    "not-a-position"
                )}),
                Some("InvalidToken"),
            ),
            (
                "SendTaskFailure",
                json!({"taskToken": "t".repeat(2049)}),
                Some("InvalidToken"),
            ),
            (
                // Well formed, never issued.
                "SendTaskFailure",
                json!({"taskToken": "t".repeat(2048)}),
                Some("TaskDoesNotExist"),
            ),
            (
                "SendTaskHeartbeat",
                json!({"taskToken": ""}),
                Some("InvalidToken"),
            ),
            (
                "SendTaskFailure",
                json!({"taskToken": "t", "error": "e".repeat(257)}),
                Some("ValidationException"),
            ),
            (
                "SendTaskFailure",
                json!({"taskToken": "t", "cause": "c".repeat(32769)}),
                Some("ValidationException"),
            ),
            (
                "StopExecution",
                json!({"executionArn": exec, "cause": "c".repeat(32769)}),
                Some("ValidationException"),
            ),
            (
                "StopExecution",
                json!({"executionArn": exec, "error": "e".repeat(256), "cause": "c".repeat(32768)}),
                None,
            ),
        ],
    )
    .await;
}
