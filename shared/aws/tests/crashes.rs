//! Crashes and lost answers on AWS, end to end against moto through the real SDK clients: a
//! stepper that dies right after DynamoDB accepted its commit (a Parallel), and DynamoDB
//! answers lost with the SDK's retries off, so that the engine itself sees them (a Map).
//! Nothing may be lost, doubled or left running.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;
use common::Harness;
use serde_json::{json, Value};
use waymark_aws::Home;
use waymark_engine::history::HistoryEvent;
use waymark_engine::record::Status;

const LIMIT: Duration = Duration::from_secs(90);

fn lambda(function: &str, next: Option<&str>) -> Value {
    let mut t = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        "OutputPath": "$.Payload"
    });
    match next {
        Some(n) => t["Next"] = json!(n),
        None => t["End"] = json!(true),
    }
    t
}

fn well_formed(history: &[HistoryEvent]) {
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        (1..=history.len() as u64).collect::<Vec<_>>(),
        "no event twice, none lost"
    );
}

fn count(history: &[HistoryEvent], t: &str) -> usize {
    history.iter().filter(|e| e.event_type == t).count()
}

/// The invoke messages the queue holds for the tasks named, received (not deleted).
async fn invokes(h: &Harness, states: &[&str]) -> Vec<aws_sdk_sqs::types::Message> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut found: Vec<aws_sdk_sqs::types::Message> = Vec::new();
    while found.len() < states.len() {
        assert!(
            Instant::now() < deadline,
            "the invokes of {states:?} never came"
        );
        for m in h.receive(10).await {
            let body = m.body.clone().unwrap_or_default();
            if states
                .iter()
                .any(|s| body.contains(&format!("\"state\":\"{s}\"")))
            {
                found.push(m);
            }
        }
    }
    found.sort_by_key(|m| m.body.clone());
    found
}

/// Defect 1 of the execution-protocol issue: the stepper of A1's answer dies after DynamoDB
/// accepted the commit that schedules A2 and before it sends A2's invoke. The next step of
/// the execution (B1's answer, on a healthy stepper) performs what the dead one left before
/// it commits anything on top, so A2 runs and the execution ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stepper_dying_after_its_commit_loses_no_task() {
    let h = Harness::start("a_stepper_dying_after_its_commit_loses_no_task", 900).await;
    h.machine(
        "both",
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A1", "States": {"A1": lambda("echo", Some("A2")), "A2": lambda("echo", None)}},
            {"StartAt": "B1", "States": {"B1": lambda("echo", None)}}
        ]}}}),
    )
    .await;
    let arn = h.start_execution("both", json!({"x": 1})).await;
    let started = invokes(&h, &["A1", "B1"]).await;
    let (a1, b1) = (&started[0], &started[1]);

    // A1 answered; the commit that schedules A2 lands; then the process dies.
    let crashing = h.crashing_home();
    assert_eq!(
        h.step_with(&crashing, std::slice::from_ref(a1)).await.len(),
        1,
        "reported failed"
    );
    let history = h.history(&arn).await;
    assert!(
        history.iter().any(|e| e.event_type == "TaskScheduled"
            && e.id > 0
            && history.iter().any(|p| p.id == e.previous_event_id
                && p.event_type == "TaskStateEntered"
                && p.details_json()["stateEnteredEventDetails"]["name"] == "A2")),
        "A2 was scheduled by the commit that landed: {history:?}"
    );

    // B1's answer, on a healthy stepper: it sends A2's invoke first.
    assert!(h
        .step_with(&h.home, std::slice::from_ref(b1))
        .await
        .is_empty());
    h.delete(std::slice::from_ref(b1)).await;
    // A1's message comes back: its task was answered already.
    assert!(h
        .step_with(&h.home, std::slice::from_ref(a1))
        .await
        .is_empty());
    h.delete(std::slice::from_ref(a1)).await;

    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    assert_eq!(rec.output, Some(json!([{"x": 1}, {"x": 1}])));
    let history = h.history(&arn).await;
    well_formed(&history);
    assert_eq!(count(&history, "TaskScheduled"), 3);
    assert_eq!(count(&history, "TaskSucceeded"), 3);
}

/// Turns the answer of every `every`-th successful DynamoDB write into a 500: with the SDK's
/// retries off, the engine itself sees a write that landed as failed.
#[derive(Debug, Clone)]
struct LoseAnswers {
    every: usize,
    writes: Arc<AtomicUsize>,
    lost: Arc<AtomicUsize>,
}

impl Intercept for LoseAnswers {
    fn name(&self) -> &'static str {
        "LoseAnswers"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let write = cfg.load::<Metadata>().is_some_and(|m| {
            matches!(
                m.name(),
                "UpdateItem" | "TransactWriteItems" | "PutItem" | "BatchWriteItem" | "DeleteItem"
            )
        });
        if write && context.response().status().is_success() {
            let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
            if n.is_multiple_of(self.every) {
                self.lost.fetch_add(1, Ordering::SeqCst);
                *context.response_mut().status_mut() = StatusCode::try_from(500u16)?;
            }
        }
        Ok(())
    }
}

/// A Map whose steppers lose every third DynamoDB answer (the writes landed): every message
/// whose step saw a loss comes back, finds its work done or does it, and the Map ends with
/// each result once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_dynamodb_answers_in_a_map_lose_and_double_nothing() {
    let h = Harness::start(
        "lost_dynamodb_answers_in_a_map_lose_and_double_nothing",
        900,
    )
    .await;
    h.machine(
        "each",
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
            "MaxConcurrency": 3, "ItemSelector": {"value.$": "$$.Map.Item.Value"},
            "ItemProcessor": {"StartAt": "D", "States": {"D": lambda("double", None)}},
            "End": true}}}),
    )
    .await;
    let arn = h
        .start_execution("each", json!({"items": [1, 2, 3, 4, 5, 6]}))
        .await;
    let lose = LoseAnswers {
        every: 3,
        writes: Arc::default(),
        lost: Arc::default(),
    };
    let lossy = Arc::new(Home::with_dynamodb(h.home.config.clone(), &h.sdk, {
        let lose = lose.clone();
        move |b| b.retry_config(RetryConfig::disabled()).interceptor(lose)
    }));
    let deadline = Instant::now() + LIMIT;
    loop {
        let rec = h.record(&arn).await;
        if rec.status.is_terminal() {
            break;
        }
        assert!(Instant::now() < deadline, "{arn} still {:?}", rec.status);
        let messages = h.receive(10).await;
        if messages.is_empty() {
            continue;
        }
        let failed = h.step_with(&lossy, &messages).await;
        let done: Vec<_> = messages
            .into_iter()
            .filter(|m| {
                !failed
                    .iter()
                    .any(|f| Some(f.as_str()) == m.message_id.as_deref())
            })
            .collect();
        h.delete(&done).await;
    }
    assert!(lose.lost.load(Ordering::SeqCst) > 0, "answers were lost");
    let rec = h.record(&arn).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    let values: Vec<i64> = rec
        .output
        .expect("output")
        .as_array()
        .expect("results")
        .iter()
        .map(|v| v["value"].as_i64().expect("a number"))
        .collect();
    assert_eq!(values, [2, 4, 6, 8, 10, 12]);
    let history = h.history(&arn).await;
    well_formed(&history);
    assert_eq!(count(&history, "MapIterationSucceeded"), 6);
    assert_eq!(count(&history, "TaskSucceeded"), 6);
    assert_eq!(count(&history, "ExecutionSucceeded"), 1);
}

/// The status of an execution listed by state machine.
async fn listed_status(h: &Harness, machine: &str) -> Vec<String> {
    let sm = h.home.engine.config.state_machine_arn(machine);
    let (status, listed) = h
        .api(
            "POST",
            "/",
            Some("ListExecutions"),
            &json!({"stateMachineArn": sm}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    listed["executions"]
        .as_array()
        .expect("executions")
        .iter()
        .map(|e| e["status"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The index entry that lists an execution is written right after the commit that changes
/// its status, outside the commit: a stepper that dies between the two (here: its entry is
/// removed and its effects fail) leaves the META item asking for it, and whoever performs
/// and acknowledges the step's outbox writes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_entry_lost_with_its_writer_is_written_by_the_acknowledgement() {
    let h = Harness::start(
        "an_index_entry_lost_with_its_writer_is_written_by_the_acknowledgement",
        900,
    )
    .await;
    h.machine(
        "one",
        json!({"StartAt": "T", "States": {"T": lambda("echo", None)}}),
    )
    .await;
    let arn = h.start_execution("one", json!({"x": 1})).await;
    assert_eq!(listed_status(&h, "one").await, ["RUNNING"]);
    let invoke = invokes(&h, &["T"]).await;

    // The task's answer ends the execution; its notifications fail, so nothing acknowledges
    // the step; and the entry it wrote is lost, as if it had died before writing it.
    let crashing = h.crashing_home();
    assert_eq!(h.step_with(&crashing, &invoke).await.len(), 1);
    h.delete(&invoke).await;
    let pk = waymark_aws::store::keys::execution_pk(&arn);
    h.check
        .store
        .client()
        .delete_item()
        .table_name(h.check.store.table())
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S(waymark_aws::store::keys::INDEX.into()),
        )
        .send()
        .await
        .expect("deleted");
    assert!(listed_status(&h, "one").await.is_empty());

    // A healthy home settles the execution: the outbox is performed, and the entry written.
    h.home.engine.settle(&arn).await.expect("settled");
    assert_eq!(listed_status(&h, "one").await, ["SUCCEEDED"]);
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded);
}
