//! A whole API over the in-memory engine, with a Tasks port that holds `.waitForTaskToken`
//! tasks open and a driver that delivers scheduled signals (Waits take no real time).

#![allow(dead_code)] // each test file uses part of the harness

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use waymark_api::handle;
use waymark_engine::memory::{
    MemoryScheduler, MemoryStore, NullNotifier, RandomIds, ScaledClock, Work,
};
use waymark_engine::ports::{TaskOutcome, Tasks};
use waymark_engine::runner::{Config, Engine};
use waymark_engine::step::TaskRequest;

pub type TestEngine =
    Engine<MemoryStore, MemoryScheduler, TestTasks, NullNotifier, ScaledClock, RandomIds>;

pub const ROLE: &str = "arn:aws:iam::123456789012:role/test";
pub const WAIT_FOR_TOKEN: &str = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
/// Fails on its first call, succeeds after: an execution to redrive.
pub const FLAKY: &str = "arn:aws:states:::lambda:invoke";

/// `.waitForTaskToken` tasks stay pending (their tokens are recorded); `FLAKY` fails once;
/// anything else echoes its parameters.
#[derive(Default)]
pub struct TestTasks {
    pub tokens: Mutex<Vec<String>>,
    flaky_calls: AtomicUsize,
}

impl Tasks for TestTasks {
    async fn invoke(&self, _execution_arn: &str, req: &TaskRequest) -> TaskOutcome {
        if req.wait_for_token {
            self.tokens.lock().expect("lock").push(req.token.clone());
            return TaskOutcome::Pending;
        }
        if req.resource == FLAKY && self.flaky_calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return TaskOutcome::Failed(waymark_asl::Failure::new("Flaky", "first call fails"));
        }
        TaskOutcome::Succeeded(req.parameters.clone())
    }
}

pub struct Harness {
    pub engine: Arc<TestEngine>,
}

impl Harness {
    pub fn new() -> Self {
        Harness {
            engine: Arc::new(Engine {
                store: MemoryStore::default(),
                scheduler: MemoryScheduler::default(),
                tasks: TestTasks::default(),
                notifier: NullNotifier,
                clock: ScaledClock::new(chrono::Utc::now(), 0.0),
                ids: RandomIds,
                config: Config {
                    activity_poll: std::time::Duration::from_millis(300),
                    ..Config::default()
                },
                approvals: None,
            }),
        }
    }

    /// One request through [`handle`]: the status and the body as JSON.
    pub async fn call(&self, op: &str, body: Value) -> (u16, Value) {
        self.raw(op, body.to_string().as_bytes()).await
    }

    pub async fn raw(&self, op: &str, body: &[u8]) -> (u16, Value) {
        let r = handle(&*self.engine, &format!("AWSStepFunctions.{op}"), body).await;
        let v: Value = serde_json::from_slice(&r.body).expect("every response is JSON");
        (r.status, v)
    }

    /// A request that must succeed.
    pub async fn ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.call(op, body).await;
        assert_eq!(status, 200, "{op} failed: {v}");
        v
    }

    /// A request that must fail with `error`; returns the message.
    pub async fn err(&self, op: &str, body: Value, error: &str) -> String {
        let (status, v) = self.call(op, body).await;
        assert_eq!(v["__type"], error, "{op}: {v}");
        assert_eq!(status, 400, "{op}: {v}");
        v["message"].as_str().expect("a message").to_string()
    }

    /// Delivers one due signal; false when none is queued.
    pub async fn step_once(&self) -> bool {
        let Some((at, arn, work)) = self.engine.scheduler.pop() else {
            return false;
        };
        let done = match work {
            Work::Signal(signal) => {
                self.engine.clock.wait_until(at);
                self.engine.deliver(&arn, signal).await
            }
            Work::Task(req) => self.engine.run_task(&arn, &req).await,
        };
        if let Err(e) = done {
            panic!("deliver to {arn}: {e}");
        }
        true
    }

    /// Delivers signals until nothing is queued (what is left waits for a task token).
    pub async fn settle(&self) {
        while self.step_once().await {}
    }

    /// Runs `fut` while delivering signals, as a home's scheduler loop would.
    pub async fn with_driver<F: Future>(&self, fut: F) -> F::Output {
        let done = Cell::new(false);
        let work = async {
            let r = fut.await;
            done.set(true);
            r
        };
        let drive = async {
            while !done.get() {
                if !self.step_once().await {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        };
        let (r, ()) = tokio::join!(work, drive);
        r
    }

    pub async fn create(&self, name: &str, definition: &Value) -> String {
        self.create_typed(name, definition, "STANDARD").await
    }

    pub async fn create_typed(&self, name: &str, definition: &Value, ty: &str) -> String {
        let v = self
            .ok(
                "CreateStateMachine",
                json!({"name": name, "definition": definition.to_string(), "roleArn": ROLE, "type": ty}),
            )
            .await;
        v["stateMachineArn"].as_str().expect("an ARN").to_string()
    }

    pub async fn start(&self, sm: &str, name: Option<&str>, input: &Value) -> String {
        let mut req = json!({"stateMachineArn": sm, "input": input.to_string()});
        if let Some(n) = name {
            req["name"] = json!(n);
        }
        let v = self.ok("StartExecution", req).await;
        v["executionArn"].as_str().expect("an ARN").to_string()
    }

    pub async fn describe(&self, arn: &str) -> Value {
        self.ok("DescribeExecution", json!({"executionArn": arn}))
            .await
    }

    pub fn tokens(&self) -> Vec<String> {
        self.engine.tasks.tokens.lock().expect("lock").clone()
    }
}

pub fn pass_machine() -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": true}, "ResultPath": "$.result", "End": true}}})
}

pub fn token_machine() -> Value {
    json!({"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task",
        "Resource": WAIT_FOR_TOKEN,
        "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "MessageBody": {"token.$": "$$.Task.Token"}},
        "End": true
    }}})
}

pub fn wait_machine() -> Value {
    json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "Next": "Done"}, "Done": {"Type": "Succeed"}}})
}

pub fn fail_machine() -> Value {
    json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "it broke"}}})
}

pub fn flaky_machine() -> Value {
    json!({"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": FLAKY, "Parameters": {"FunctionName": "f", "Payload.$": "$"}, "ResultSelector": {"echo.$": "$.Payload"}, "End": true}}})
}
