//! The end-to-end harness: a moto server started by the test, the table, queues and topics
//! created from `template.yaml` (through `waymark-infra`), a small Lambda Invoke endpoint for
//! Lambda tasks, and a home built from the environment the template gives the functions. The
//! harness plays the parts AWS plays: API Gateway (events to the API function's handler) and
//! the SQS event source mapping (batches received from moto handed to the stepper, successes
//! deleted, failures left to come back), counting what each costs.
//!
//! moto is reached through [`waymark_moto::Moto`]'s proxy, which lets one DynamoDB request
//! through at a time: moto 5.2.x's `transact_write_items` puts back a copy of the table when a
//! condition fails, erasing the writes other requests made meanwhile, and these tests run the
//! stepper concurrently, so without it a failure (or a pass) could be moto's. SQS and SNS
//! requests are not held up. A test fails when `moto_server` is missing (`scripts/test`
//! installs it); it never passes as skipped.

#![allow(dead_code)] // each test binary uses its own part

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use waymark_aws::metrics::Snapshot;
use waymark_aws::{Home, HomeConfig};
use waymark_engine::history::HistoryEvent;
use waymark_engine::ports::{ExecutionStore, StateMachine, StateMachineStore};
use waymark_engine::record::ExecutionRecord;
use waymark_infra::costs::Measured;
use waymark_infra::stack::Stack;
use waymark_infra::template::Template;
use waymark_moto::Moto;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
/// The memory the template gives the functions, for GB-seconds.
pub const FUNCTION_GB: f64 = 0.25;

/// A Lambda Invoke API with the test's functions:
/// - `echo`: answers its payload;
/// - `double`: answers `{"value": 2 * payload.value}`;
/// - `flaky`: fails with `Flaky` the first two times for each `payload.key`, then answers it;
/// - `fail`: raises `OutOfStock`.
pub struct LambdaServer {
    pub endpoint: String,
    pub calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl LambdaServer {
    pub async fn start() -> LambdaServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let log = calls.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, log.clone()));
            }
        });
        LambdaServer { endpoint, calls }
    }

    pub fn calls_of(&self, function: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(f, _)| f == function)
            .count()
    }
}

async fn serve(stream: tokio::net::TcpStream, log: Arc<Mutex<Vec<(String, Value)>>>) {
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
        let name = target
            .split('?')
            .next()
            .unwrap_or("")
            .trim_start_matches("/2015-03-31/functions/")
            .trim_end_matches("/invocations")
            .to_string();
        let function = name.rsplit(':').next().unwrap_or(&name).to_string();
        let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let previous = {
            let mut calls = log.lock().unwrap();
            let n = calls
                .iter()
                .filter(|(f, p)| *f == function && p["key"] == payload["key"])
                .count();
            calls.push((function.clone(), payload.clone()));
            n
        };
        let error = |t: &str, m: &str| {
            (
                Some("Unhandled"),
                json!({"errorType": t, "errorMessage": m}),
            )
        };
        let (fn_error, out) = match function.as_str() {
            "echo" => (None, payload.clone()),
            "double" => (
                None,
                json!({"value": payload["value"].as_i64().unwrap_or(0) * 2}),
            ),
            "flaky" if previous < 2 => error("Flaky", "not yet"),
            "flaky" => (
                None,
                json!({"key": payload["key"], "attempts": previous + 1}),
            ),
            "fail" => error("OutOfStock", "no stock"),
            _ => error("ResourceNotFound", "no such function"),
        };
        let text = out.to_string();
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Amz-Executed-Version: $LATEST\r\n",
            text.len()
        );
        if let Some(e) = fn_error {
            response.push_str(&format!("X-Amz-Function-Error: {e}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&text);
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// What the harness counted beside the home's own metrics: what Lambda and the event source
/// mapping do.
#[derive(Debug, Default, Clone)]
pub struct Platform {
    pub invocations: u64,
    pub busy: Duration,
    pub receives: u64,
    pub deletes: u64,
}

pub struct Harness {
    pub moto: Moto,
    pub lambda: LambdaServer,
    pub home: Arc<Home>,
    /// The same table through clients that count nothing: setup and assertions.
    pub check: Arc<Home>,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub stack: Stack,
    pub env: BTreeMap<String, String>,
    pub platform: Mutex<Platform>,
    pub started: Mutex<Vec<String>>,
    pub sdk: aws_config::SdkConfig,
    /// Deliver every batch twice, as an at-least-once queue may.
    pub duplicate: bool,
    /// The test's name, for its line in the cost count.
    pub name: String,
}

pub fn template_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")
}

impl Harness {
    /// Panics when moto is not installed, saying how to get it. `max_delay`: the longest SQS
    /// delay the home uses, so that long waits hop within a test's time.
    pub async fn start(test: &str, max_delay: u32) -> Harness {
        Harness::start_with(test, max_delay, &BTreeMap::new()).await
    }

    /// Like [`Harness::start`], with template parameters (`ApprovalKey`, …) set.
    pub async fn start_with(
        test: &str,
        max_delay: u32,
        parameters: &BTreeMap<String, String>,
    ) -> Harness {
        let moto = Moto::start();
        let lambda = LambdaServer::start().await;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(&moto.endpoint)
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load()
            .await;
        let template = Template::load(&template_path()).expect("template.yaml");
        let stack = Stack::create(&template, &sdk, ACCOUNT, parameters)
            .await
            .expect("the template's resources");
        let env = stack.environment().expect("the functions' environment");
        let config = HomeConfig {
            table: env["WAYMARK_TABLE"].clone(),
            step_queue_url: env["WAYMARK_STEP_QUEUE_URL"].clone(),
            topic_arn: Some(env["WAYMARK_TOPIC_ARN"].clone()),
            region: REGION.into(),
            account: env["WAYMARK_ACCOUNT_ID"].clone(),
            role_arn: format!("arn:aws:iam::{ACCOUNT}:role/waymark-test"),
            lambda_endpoint: Some(lambda.endpoint.clone()),
            tasks_endpoint: Some(moto.endpoint.clone()),
            max_delay,
            settle_delay: 30,
            retention_days: env["WAYMARK_RETENTION_DAYS"].parse().expect("days"),
            approval: waymark_aws::approvals::ApprovalConfig::from_vars(
                env.get("WAYMARK_APPROVAL_KEY").map(String::as_str),
                env.get("WAYMARK_PUBLIC_URL").map(String::as_str),
                env.get("WAYMARK_APPROVAL_REJECT").map(String::as_str),
            )
            .expect("the approval settings"),
            approval_topic_arn: env.get("WAYMARK_APPROVAL_TOPIC_ARN").cloned(),
        };
        let home = Arc::new(Home::new(config.clone(), &sdk));
        let check = Arc::new(Home::new(config, &sdk));
        Harness {
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            moto,
            lambda,
            home,
            check,
            stack,
            env,
            platform: Mutex::default(),
            started: Mutex::default(),
            sdk,
            duplicate: false,
            name: test.to_string(),
        }
    }

    pub fn step_queue(&self) -> &str {
        &self.env["WAYMARK_STEP_QUEUE_URL"]
    }

    /// Registers a state machine (setup: not counted).
    pub async fn machine(&self, name: &str, definition: Value) -> StateMachine {
        let text = definition.to_string();
        let parsed = waymark_asl::parse::parse_text(
            &text,
            &waymark_asl::parse::ParseOptions {
                machine_type: waymark_asl::parse::MachineType::Standard,
            },
        )
        .unwrap_or_else(|d| panic!("{name}: {:?}", d.first().map(|d| d.to_string())));
        let sm = StateMachine::new(
            self.home.engine.config.state_machine_arn(name),
            name.into(),
            text,
            Arc::new(parsed.definition),
            waymark_asl::parse::MachineType::Standard,
            format!("arn:aws:iam::{ACCOUNT}:role/waymark-test"),
            chrono::Utc::now(),
        );
        self.check
            .store
            .create_state_machine(&sm)
            .await
            .expect("create");
        sm
    }

    /// An HTTP API (payload 2.0) event for the API function, through lambda_http's own
    /// adapter, as Lambda would run it. Returns the status and the JSON body.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        target: Option<&str>,
        body: &str,
    ) -> (u16, Value) {
        let mut headers = vec![("content-type", "application/x-amz-json-1.0".to_string())];
        if let Some(t) = target {
            headers.push(("x-amz-target", format!("AWSStepFunctions.{t}")));
        }
        let (status, _, body) = self.http(method, path, &headers, body, false).await;
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// Any request to the API function, as API Gateway's HTTP API sends it (`base64`: the body
    /// travels base64-encoded, as API Gateway sends form posts). Returns the status, the
    /// response's headers and its body as text.
    pub async fn http(
        &self,
        method: &str,
        path: &str,
        extra_headers: &[(&str, String)],
        body: &str,
        base64: bool,
    ) -> (u16, Value, String) {
        use base64::Engine as _;
        let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut headers = json!({"host": "api.example"});
        for (k, v) in extra_headers {
            headers[*k] = json!(v);
        }
        let body = if base64 {
            base64::engine::general_purpose::STANDARD.encode(body)
        } else {
            body.to_string()
        };
        let event = json!({
            "version": "2.0",
            "routeKey": format!("{method} {raw_path}"),
            "rawPath": raw_path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": "api",
                "domainName": "api.example",
                "domainPrefix": "api",
                "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
                "requestId": "req",
                "routeKey": format!("{method} {raw_path}"),
                "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000",
                "timeEpoch": 0
            },
            "body": body,
            "isBase64Encoded": base64
        });
        let request: lambda_http::request::LambdaRequest =
            serde_json::from_value(event).expect("an API Gateway event");
        let mut adapter = lambda_http::Adapter::from(waymark_aws::api::router(self.home.clone()));
        let started = Instant::now();
        let response = tower::Service::call(
            &mut adapter,
            lambda_http::LambdaEvent::new(request, lambda_http::Context::default()),
        )
        .await
        .expect("the API function answers");
        self.count_invocation(started.elapsed());
        let v = serde_json::to_value(&response).expect("a response event");
        let status = v["statusCode"].as_u64().unwrap_or(0) as u16;
        let raw = v["body"].as_str().unwrap_or("");
        // API Gateway decodes a base64 body for the client; so does the test.
        let body = if v["isBase64Encoded"] == true {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .expect("base64 body");
            String::from_utf8(bytes).expect("UTF-8 body")
        } else {
            raw.to_string()
        };
        if std::env::var_os("WAYMARK_TEST_DEBUG").is_some() {
            eprintln!("API {method} {path}: {v}");
        }
        (status, v["headers"].clone(), body)
    }

    /// StartExecution through the API; returns the execution ARN.
    pub async fn start_execution(&self, machine: &str, input: Value) -> String {
        let arn = self.home.engine.config.state_machine_arn(machine);
        let (status, out) = self
            .api(
                "POST",
                "/",
                Some("StartExecution"),
                &json!({"stateMachineArn": arn, "input": input.to_string()}).to_string(),
            )
            .await;
        assert_eq!(status, 200, "{out}");
        let arn = out["executionArn"]
            .as_str()
            .unwrap_or_else(|| panic!("no executionArn in {out}"))
            .to_string();
        self.started.lock().unwrap().push(arn.clone());
        arn
    }

    pub fn count_invocation(&self, busy: Duration) {
        let mut p = self.platform.lock().unwrap();
        p.invocations += 1;
        p.busy += busy;
    }

    /// One round of the event source mapping: receive a batch, run the stepper on it (twice
    /// when duplicating), delete what succeeded. Returns the messages received.
    pub async fn pump_once(&self, wait_seconds: i32) -> usize {
        let out = self
            .sqs
            .receive_message()
            .queue_url(self.step_queue())
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .visibility_timeout(20)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            // Idle polling: the event source mapping's pollers do it whatever the workload
            // (a fixed few cents a month), so no transition is billed for it.
            return 0;
        }
        self.platform.lock().unwrap().receives += 1;
        let event = sqs_event(
            &messages,
            "arn:aws:sqs:us-east-1:123456789012:waymark-steps",
        );
        let failed = self.run_stepper(event.clone()).await;
        if self.duplicate {
            self.run_stepper(event).await;
        }
        let done: Vec<_> = messages
            .iter()
            .filter(|m| {
                !failed
                    .iter()
                    .any(|f| Some(f.as_str()) == m.message_id.as_deref())
            })
            .collect();
        if !done.is_empty() {
            let entries = done
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                        .build()
                        .expect("entry")
                })
                .collect();
            self.sqs
                .delete_message_batch()
                .queue_url(self.step_queue())
                .set_entries(Some(entries))
                .send()
                .await
                .expect("delete");
            self.platform.lock().unwrap().deletes += 1;
        }
        messages.len()
    }

    /// The stepper on one batch; returns the ids it reported failed.
    pub async fn run_stepper(&self, event: SqsEvent) -> Vec<String> {
        let started = Instant::now();
        let response = waymark_aws::stepper::handle(self.home.clone(), event).await;
        self.count_invocation(started.elapsed());
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    }

    /// Pumps the step queue until `arn` has ended (or `limit` passes: a test failure).
    pub async fn run_until_ended(&self, arn: &str, limit: Duration) -> ExecutionRecord {
        let deadline = Instant::now() + limit;
        loop {
            let rec = self.record(arn).await;
            if rec.status.is_terminal() {
                return rec;
            }
            assert!(
                Instant::now() < deadline,
                "{arn} still {:?} after {limit:?}",
                rec.status
            );
            self.pump_once(1).await;
        }
    }

    /// Pumps until the step queue stays empty for a while.
    pub async fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut empty = 0;
        while Instant::now() < deadline && empty < 2 {
            if self.pump_once(1).await == 0 {
                empty += 1;
            } else {
                empty = 0;
            }
        }
    }

    pub async fn record(&self, arn: &str) -> ExecutionRecord {
        self.check
            .store
            .load(arn)
            .await
            .expect("load")
            .expect("the execution exists")
    }

    pub async fn history(&self, arn: &str) -> Vec<HistoryEvent> {
        self.check.store.history(arn).await.expect("history")
    }

    /// Adds this test's counts to the suite's, in `target/waymark-aws-costs.json`.
    pub async fn account_costs(&self, metrics: &Snapshot) {
        let mut transitions = 0;
        let arns: Vec<String> = self.started.lock().unwrap().clone();
        let mut all = arns.clone();
        // Child executions started by the ones above count too.
        for arn in &arns {
            for e in self.history(arn).await {
                if let Some(child) = e.details_json().values().find_map(|d| {
                    d.get("output")
                        .and_then(Value::as_str)
                        .and_then(|o| serde_json::from_str::<Value>(o).ok())
                        .and_then(|o| o["ExecutionArn"].as_str().map(str::to_string))
                }) {
                    if !all.contains(&child) {
                        all.push(child);
                    }
                }
            }
        }
        for arn in &all {
            transitions += self
                .history(arn)
                .await
                .iter()
                .filter(|e| e.event_type.ends_with("StateEntered"))
                .count() as u64;
        }
        let platform = self.platform.lock().unwrap().clone();
        let mut requests: BTreeMap<String, u64> = BTreeMap::new();
        for ((service, op), n) in &metrics.requests {
            let service = match service.to_ascii_lowercase().as_str() {
                "sqs" => "SQS",
                "sns" => "SNS",
                _ => "DynamoDB",
            };
            *requests.entry(format!("{service} {op}")).or_default() += n;
        }
        *requests
            .entry("SQS ReceiveMessage (event source mapping)".into())
            .or_default() += platform.receives;
        *requests
            .entry("SQS DeleteMessageBatch (event source mapping)".into())
            .or_default() += platform.deletes;
        let measured = Measured {
            transitions,
            requests,
            write_units: metrics.write_units,
            read_units: metrics.read_units,
            lambda_invocations: platform.invocations,
            lambda_gb_seconds: platform.busy.as_secs_f64() * FUNCTION_GB,
        };
        add_to_suite(&self.name, measured);
    }
}

static SUITE: Mutex<BTreeMap<String, Measured>> = Mutex::new(BTreeMap::new());

/// Adds a test's counts to the run's, and writes them all to `target/waymark-aws-costs.json`.
fn add_to_suite(test: &str, m: Measured) {
    let mut suite = SUITE.lock().unwrap();
    suite.insert(test.to_string(), m);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/waymark-aws-costs.json");
    if let Ok(text) = serde_json::to_string_pretty(&json!({ "scenarios": &*suite })) {
        let _ = std::fs::write(path, text);
    }
}

/// An SQS event as Lambda's event source mapping builds it from received messages.
pub fn sqs_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: BTreeMap<String, String> = m
                .attributes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect();
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            })
        })
        .collect();
    serde_json::from_value(json!({"Records": records})).expect("an SQS event")
}

impl Harness {
    /// Receives what a test's own queue holds (one message, waiting up to 2 s): the requests
    /// tasks sent, the events put for the trigger.
    pub async fn receive_from(&self, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        self.sqs
            .receive_message()
            .queue_url(queue_url)
            .wait_time_seconds(2)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default()
    }

    /// Receives step messages without handling them (up to `max`, waiting up to 2 s).
    pub async fn receive(&self, max: i32) -> Vec<aws_sdk_sqs::types::Message> {
        let messages = self
            .sqs
            .receive_message()
            .queue_url(self.step_queue())
            .max_number_of_messages(max)
            .wait_time_seconds(2)
            .visibility_timeout(30)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if !messages.is_empty() {
            self.platform.lock().unwrap().receives += 1;
        }
        messages
    }

    /// Runs the stepper of `home` on `messages`; returns the ids it reported failed.
    pub async fn step_with(
        &self,
        home: &Arc<Home>,
        messages: &[aws_sdk_sqs::types::Message],
    ) -> Vec<String> {
        let event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:waymark-steps");
        let started = Instant::now();
        let response = waymark_aws::stepper::handle(home.clone(), event).await;
        self.count_invocation(started.elapsed());
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    }

    pub async fn delete(&self, messages: &[aws_sdk_sqs::types::Message]) {
        for m in messages {
            let _ = self
                .sqs
                .delete_message()
                .queue_url(self.step_queue())
                .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                .send()
                .await;
        }
        self.platform.lock().unwrap().deletes += 1;
    }

    /// A home over the same table whose step queue and topic do not exist: every effect it performs
    /// fails after its commit, as if its Lambda died between the two.
    pub fn crashing_home(&self) -> Arc<Home> {
        let mut config = self.home.config.clone();
        config.step_queue_url = format!("{}/{ACCOUNT}/no-such-queue", self.moto.endpoint);
        config.topic_arn = Some(format!("arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic"));
        Arc::new(Home::new(config, &self.sdk))
    }
}
