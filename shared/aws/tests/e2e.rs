//! Waymark on AWS end to end, against a moto server: executions started through the API
//! function's handler with API Gateway events, advanced by the stepper's handler with the
//! messages the test receives from the step queue, Lambda tasks served by a local Invoke
//! endpoint. Every scenario adds what it spent to the suite's cost count
//! (`target/waymark-aws-costs.json`; `cargo run -p waymark-infra -- costs` prints it).

#![recursion_limit = "256"]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::config_bag::ConfigBag;
use waymark_aws::store::{DynamoStore, StoreOptions};
use waymark_aws::Metrics;
use waymark_engine::history::HistoryEvent;
use waymark_engine::ports::{ExecutionStore, WriteSet};

use common::{Harness, ACCOUNT};
use serde_json::{json, Value};
use waymark_engine::record::Status;

const LIMIT: Duration = Duration::from_secs(60);

fn lambda(function: &str) -> Value {
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        "OutputPath": "$.Payload"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_waits_retries_and_catches_run_to_the_end() {
    let h = Harness::start("tasks_waits_retries_and_catches_run_to_the_end", 2).await;
    let before = h.home.metrics.snapshot();
    let mut double = lambda("double");
    double["Next"] = json!("Pause");
    let mut flaky = lambda("flaky");
    flaky["Retry"] = json!([{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 3}]);
    flaky["ResultPath"] = json!("$.flaky");
    flaky["OutputPath"] = json!("$");
    flaky["Parameters"] = json!({"FunctionName": "flaky", "Payload": {"key": "k1"}});
    flaky["ResultSelector"] = json!({"attempts.$": "$.Payload.attempts"});
    flaky["Next"] = json!("Fails");
    let mut fails = lambda("fail");
    fails["Catch"] =
        json!([{"ErrorEquals": ["OutOfStock"], "ResultPath": "$.caught", "Next": "Done"}]);
    fails["Next"] = json!("Done");
    h.machine(
        "flow",
        json!({
            "StartAt": "Double",
            "States": {
                "Double": double,
                // Longer than the home's 2 s delay cap: the message hops once.
                "Pause": {"Type": "Wait", "Seconds": 3, "Next": "Flaky"},
                "Flaky": flaky,
                "Fails": fails,
                "Done": {"Type": "Pass", "End": true}
            }
        }),
    )
    .await;
    let arn = h.start_execution("flow", json!({"value": 21})).await;
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    let out = rec.output.expect("output");
    assert_eq!(out["value"], 42);
    assert_eq!(out["flaky"]["attempts"], 3);
    assert_eq!(out["caught"]["Error"], "OutOfStock");
    assert_eq!(h.lambda.calls_of("flaky"), 3, "two retries, then success");
    let history = h.history(&arn).await;
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=history.len() as u64).collect::<Vec<_>>());
    let wait = history
        .iter()
        .find(|e| e.event_type == "WaitStateExited")
        .expect("the wait ended");
    let entered = history
        .iter()
        .find(|e| e.event_type == "WaitStateEntered")
        .expect("the wait began");
    let waited = (wait.timestamp - entered.timestamp).num_milliseconds();
    assert!(waited >= 3000, "the wait lasted {waited} ms");
    h.account_costs(&h.home.metrics.snapshot().since(&before))
        .await;
}

/// Every batch is delivered twice: the results and history are as if once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_and_parallel_fan_out_with_every_message_delivered_twice() {
    let mut h = Harness::start(
        "map_and_parallel_fan_out_with_every_message_delivered_twice",
        900,
    )
    .await;
    h.duplicate = true;
    let before = h.home.metrics.snapshot();
    let mut double = lambda("double");
    double["End"] = json!(true);
    let mut echo = lambda("echo");
    echo["Next"] = json!("Nap");
    h.machine(
        "fan",
        json!({
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "MaxConcurrency": 10,
                    "ItemSelector": {"value.$": "$$.Map.Item.Value"},
                    "ItemProcessor": {"StartAt": "Double", "States": {"Double": double}},
                    "ResultPath": "$.doubled",
                    "Next": "Both"
                },
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "Echo", "States": {"Echo": echo, "Nap": {"Type": "Wait", "Seconds": 1, "End": true}}},
                        {"StartAt": "Shape", "States": {"Shape": {"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.doubled)"}, "End": true}}}
                    ],
                    "End": true
                }
            }
        }),
    )
    .await;
    let items: Vec<i64> = (1..=30).collect();
    let arn = h.start_execution("fan", json!({"items": items})).await;
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    let out = rec.output.expect("output");
    let doubled: Vec<i64> = out[0]["doubled"]
        .as_array()
        .expect("results")
        .iter()
        .map(|v| v["value"].as_i64().expect("a number"))
        .collect();
    assert_eq!(doubled, (1..=30).map(|i| 2 * i).collect::<Vec<_>>());
    assert_eq!(out[1], json!({"n": 30}));
    let history = h.history(&arn).await;
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        (1..=history.len() as u64).collect::<Vec<_>>(),
        "no event twice, none lost"
    );
    let count = |t: &str| history.iter().filter(|e| e.event_type == t).count();
    assert_eq!(count("MapIterationSucceeded"), 30);
    assert_eq!(count("TaskSucceeded"), 31);
    // Tasks run at least once: a duplicate invoke may call again, never record twice.
    assert!(h.lambda.calls_of("double") >= 30);
    h.account_costs(&h.home.metrics.snapshot().since(&before))
        .await;
}

/// A Map of 1,000 items, MaxConcurrency 10, each iteration ten Pass states: it all happens in
/// one step, whose history (over 20,000 events) is far more than one transaction holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_item_map_keeps_every_item_small() {
    let h = Harness::start("a_thousand_item_map_keeps_every_item_small", 900).await;
    let before = h.home.metrics.snapshot();
    let mut states = serde_json::Map::new();
    for i in 0..10 {
        let mut s = json!({"Type": "Pass"});
        if i < 9 {
            s["Next"] = json!(format!("P{}", i + 1));
        } else {
            s["End"] = json!(true);
            s["Parameters"] = json!({"i.$": "$.i"});
        }
        states.insert(format!("P{i}"), s);
    }
    h.machine(
        "thousand",
        json!({
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "MaxConcurrency": 10,
                    "ItemProcessor": {"StartAt": "P0", "States": states},
                    "End": true
                }
            }
        }),
    )
    .await;
    let items: Vec<Value> = (0..1000)
        .map(|i| json!({"i": i, "pad": "x".repeat(100)}))
        .collect();
    let arn = h.start_execution("thousand", json!(items)).await;
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    let out = rec.output.expect("output");
    let order: Vec<i64> = out
        .as_array()
        .expect("results")
        .iter()
        .map(|v| v["i"].as_i64().expect("i"))
        .collect();
    assert_eq!(order, (0..1000).collect::<Vec<_>>());
    let history = h.history(&arn).await;
    assert!(history.len() > 20_000, "{} events", history.len());
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=history.len() as u64).collect::<Vec<_>>());
    let largest = largest_item(&h).await;
    assert!(largest < 100 * 1024, "an item of {largest} bytes");
    h.account_costs(&h.home.metrics.snapshot().since(&before))
        .await;
}

/// The largest item in the table, by DynamoDB's measure (names and values).
async fn largest_item(h: &Harness) -> usize {
    let mut largest = 0;
    let mut start = None;
    loop {
        let page = h
            .dynamodb
            .scan()
            .table_name(&h.env["WAYMARK_TABLE"])
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("scan");
        for item in page.items.unwrap_or_default() {
            let size: usize = item
                .iter()
                .map(|(k, v)| {
                    k.len()
                        + match v {
                            aws_sdk_dynamodb::types::AttributeValue::S(s) => s.len(),
                            aws_sdk_dynamodb::types::AttributeValue::N(n) => n.len(),
                            _ => 8,
                        }
                })
                .sum();
            largest = largest.max(size);
        }
        match page.last_evaluated_key {
            Some(k) => start = Some(k),
            None => return largest,
        }
    }
}

/// Subscribes a new queue to the status topic (optionally with a filter policy).
async fn subscribe(h: &Harness, name: &str, filter: Option<Value>) -> String {
    subscribe_to(h, "WAYMARK_TOPIC_ARN", name, filter).await
}

/// Subscribes a new queue to the topic in the functions' environment variable `topic`.
async fn subscribe_to(h: &Harness, topic: &str, name: &str, filter: Option<Value>) -> String {
    let url = h
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let arn = format!("arn:aws:sqs:us-east-1:{}:{name}", common::ACCOUNT);
    let mut req = h
        .sns
        .subscribe()
        .topic_arn(&h.env[topic])
        .protocol("sqs")
        .endpoint(arn);
    if let Some(f) = filter {
        req = req.attributes("FilterPolicy", f.to_string());
    }
    req.send().await.expect("subscribe");
    url
}

/// The notifications waiting in a subscribed queue: (stateMachine, status, message).
async fn notifications(h: &Harness, url: &str) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    loop {
        let got = h
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return out;
        }
        for m in got {
            let envelope: Value =
                serde_json::from_str(m.body.as_deref().unwrap_or("")).expect("SNS envelope");
            let attr = |k: &str| {
                envelope["MessageAttributes"][k]["Value"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            let message: Value =
                serde_json::from_str(envelope["Message"].as_str().unwrap_or("")).expect("message");
            out.push((attr("stateMachine"), attr("status"), message));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_stops_and_notifications() {
    let h = Harness::start("callbacks_stops_and_notifications", 900).await;
    let everything = subscribe(&h, "all-status", None).await;
    let aborted_only = subscribe(&h, "aborted-only", Some(json!({"status": ["ABORTED"]}))).await;
    let inbox = h
        .sqs
        .create_queue()
        .queue_name("approvals-inbox")
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let before = h.home.metrics.snapshot();
    h.machine(
        "callback",
        json!({
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": inbox, "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
                    "End": true
                }
            }
        }),
    )
    .await;
    h.machine(
        "sleepy",
        json!({"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
    )
    .await;

    // waitForTaskToken, answered through the API.
    let arn = h.start_execution("callback", json!({"order": 7})).await;
    h.drain(Duration::from_secs(20)).await;
    assert_eq!(h.record(&arn).await.status, Status::Running);
    let asked = h.receive_from(&inbox).await;
    assert_eq!(asked.len(), 1, "one callback request");
    let body: Value = serde_json::from_str(asked[0].body.as_deref().unwrap_or("")).expect("json");
    assert_eq!(body["order"], 7);
    let token = body["token"].as_str().expect("token");
    let (status, out) = h
        .api(
            "POST",
            "/",
            Some("SendTaskSuccess"),
            &json!({"taskToken": token, "output": "{\"approved\":true}"}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded);
    assert_eq!(rec.output, Some(json!({"approved": true})));
    // The token is single-use.
    let (status, out) = h
        .api(
            "POST",
            "/",
            Some("SendTaskSuccess"),
            &json!({"taskToken": token, "output": "{}"}).to_string(),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(out["__type"], "TaskTimedOut", "{out}");

    // StopExecution: the pending timer is dropped, nothing runs after the stop.
    let sleepy = h.start_execution("sleepy", json!({})).await;
    let (status, out) = h
        .api(
            "POST",
            "/",
            Some("StopExecution"),
            &json!({"executionArn": sleepy, "error": "Operator", "cause": "changed my mind"})
                .to_string(),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    let events_at_stop = h.history(&sleepy).await.len();
    h.drain(Duration::from_secs(20)).await;
    let rec = h.record(&sleepy).await;
    assert_eq!(rec.status, Status::Aborted);
    let history = h.history(&sleepy).await;
    assert_eq!(history.len(), events_at_stop, "nothing after the stop");
    assert_eq!(
        history.last().map(|e| e.event_type.as_ref()),
        Some("ExecutionAborted")
    );
    h.account_costs(&h.home.metrics.snapshot().since(&before))
        .await;

    let all = notifications(&h, &everything).await;
    let seen: Vec<(String, String)> = all.iter().map(|(m, s, _)| (m.clone(), s.clone())).collect();
    for expected in [
        ("callback", "RUNNING"),
        ("callback", "SUCCEEDED"),
        ("sleepy", "RUNNING"),
        ("sleepy", "ABORTED"),
    ] {
        assert!(
            seen.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} not in {seen:?}"
        );
    }
    let succeeded = all
        .iter()
        .find(|(_, s, _)| s == "SUCCEEDED")
        .expect("succeeded");
    assert_eq!(succeeded.2["executionArn"], arn.as_str());
    assert_eq!(succeeded.2["output"], "{\"approved\":true}");
    let filtered = notifications(&h, &aborted_only).await;
    assert_eq!(
        filtered.len(),
        1,
        "the filter policy lets only ABORTED through"
    );
    assert_eq!(filtered[0].1, "ABORTED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggers_start_each_event_once() {
    let h = Harness::start("triggers_start_each_event_once", 900).await;
    let before = h.home.metrics.snapshot();
    h.machine(
        "on-upload",
        json!({"StartAt": "Take", "States": {"Take": {"Type": "Pass", "Parameters": {"key.$": "$.detail.object.key"}, "End": true}}}),
    )
    .await;
    // EventBridge, through the input transformer of template.yaml's example rule.
    let event = json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Object Created", "source": "aws.s3", "account": common::ACCOUNT,
        "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"object": {"key": "photos/cat.jpg"}}
    });
    let input = json!({"stateMachine": "on-upload", "event": event});
    let first = waymark_aws::trigger::handle(h.home.clone(), input.clone())
        .await
        .expect("started");
    let again = waymark_aws::trigger::handle(h.home.clone(), input)
        .await
        .expect("a duplicate");
    let arn = first["executionArn"].as_str().expect("arn").to_string();
    h.started.lock().unwrap().push(arn.clone());
    assert!(
        arn.ends_with(":eb-6a7e8feb-b491-4cf7-a9f1-bf3703467718"),
        "{arn}"
    );
    assert_eq!(
        again["executionArn"],
        Value::Null,
        "the duplicate started nothing"
    );
    let rec = h.record(&arn).await;
    assert_eq!(rec.output, Some(json!({"key": "photos/cat.jpg"})));

    // The event queue of template.yaml, one message delivered twice.
    let queue = h
        .stack
        .reference("EventQueue")
        .expect("the event queue")
        .to_string();
    h.sqs
        .send_message()
        .queue_url(&queue)
        .message_body(
            json!({"stateMachine": "on-upload", "input": {"detail": {"object": {"key": "a.txt"}}}})
                .to_string(),
        )
        .send()
        .await
        .expect("send");
    let got = h.receive_from(&queue).await;
    assert_eq!(got.len(), 1);
    let batch = common::sqs_event(&got, "arn:aws:sqs:us-east-1:123456789012:waymark-events");
    for _ in 0..2 {
        let response = waymark_aws::trigger::handle(
            h.home.clone(),
            serde_json::to_value(&batch).expect("json"),
        )
        .await
        .expect("handled");
        assert_eq!(response["batchItemFailures"], json!([]));
    }
    let machine = h.home.engine.config.state_machine_arn("on-upload");
    let (status, listed) = h
        .api(
            "POST",
            "/",
            Some("ListExecutions"),
            &json!({"stateMachineArn": machine}).to_string(),
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["executions"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    h.account_costs(&h.home.metrics.snapshot().since(&before))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_routes_start_describe_and_list_history() {
    let h = Harness::start("rest_routes_start_describe_and_list_history", 900).await;
    h.machine(
        "hello",
        json!({"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)"}, "End": true}}}),
    )
    .await;
    let (status, out) = h
        .api(
            "POST",
            "/state-machines/hello/executions?name=first",
            None,
            "{\"name\":\"Ada\"}",
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert!(out["executionArn"]
        .as_str()
        .unwrap_or("")
        .ends_with(":hello:first"));
    let (status, out) = h.api("GET", "/executions/hello:first", None, "").await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["status"], "SUCCEEDED");
    assert_eq!(out["output"], "{\"greeting\":\"Hello, Ada!\"}");
    let (status, out) = h
        .api(
            "GET",
            "/executions/hello:first/history?maxResults=2",
            None,
            "",
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["events"].as_array().map(Vec::len), Some(2));
    let token = out["nextToken"].as_str().expect("more pages").to_string();
    let (status, out) = h
        .api(
            "GET",
            &format!("/executions/hello:first/history?nextToken={token}"),
            None,
            "",
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["events"][0]["id"], 3);
    let (status, out) = h
        .api(
            "GET",
            "/executions/hello:first/history?nextToken=garbage",
            None,
            "",
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(out["__type"], "InvalidToken");
    let (status, _) = h.api("GET", "/executions/hello:nope", None, "").await;
    assert_eq!(status, 400);
}

/// The Run a Job pattern on AWS: the stepper starts the job, and each poll is a delayed step
/// message (no Lambda waits), until the job ends; and EventBridge's optimised integration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_jobs_are_polled_through_delayed_step_messages() {
    let h = Harness::start("sync_jobs_are_polled_through_delayed_step_messages", 2).await;
    h.machine(
        "etl",
        json!({"StartAt": "CreateJob", "States": {
            "CreateJob": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:glue:createJob",
                "Parameters": {"Name": "etl", "Role": "arn:aws:iam::123456789012:role/glue",
                               "Command": {"Name": "glueetl"}},
                "ResultPath": null, "Next": "Run"},
            "Run": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": {"JobName": "etl"}, "ResultPath": "$.run", "Next": "Query"},
            "Query": {"Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
                "Parameters": {"QueryString": "SELECT 1", "WorkGroup": "primary"},
                "ResultSelector": {"state.$": "$.QueryExecution.Status.State"},
                "ResultPath": "$.query", "Next": "Tell"},
            "Tell": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                "Parameters": {"Entries": [{"Source": "etl", "DetailType": "Done",
                                            "Detail": {"run.$": "$.run.Id"}}]},
                "ResultSelector": {"failed.$": "$.FailedEntryCount"},
                "ResultPath": "$.told", "End": true}
        }}),
    )
    .await;
    let arn = h.start_execution("etl", json!({})).await;
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    let out = rec.output.expect("output");
    assert_eq!(out["run"]["JobRunState"], "SUCCEEDED", "{out}");
    assert_eq!(out["run"]["JobName"], "etl", "{out}");
    assert_eq!(out["query"]["state"], "SUCCEEDED", "{out}");
    assert_eq!(out["told"]["failed"], 0, "{out}");
    let history = h.history(&arn).await;
    let submitted: Vec<&HistoryEvent> = history
        .iter()
        .filter(|e| e.event_type == "TaskSubmitted")
        .collect();
    assert_eq!(submitted.len(), 2, "one for each job");
    let details = &submitted[0].details_json()["taskSubmittedEventDetails"];
    assert_eq!(details["resource"], "startJobRun.sync");
    let started: Value = serde_json::from_str(details["output"].as_str().unwrap()).unwrap();
    assert_eq!(started["JobRunId"], out["run"]["Id"]);
}

/// A distributed Map's ItemReader on AWS: a CSV object and a bucket listing from moto's S3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_readers_read_s3_objects_and_listings() {
    let h = Harness::start("item_readers_read_s3_objects_and_listings", 2).await;
    h.machine("reader", json!({"StartAt": "MakeBucket", "States": {
            "MakeBucket": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:createBucket",
                "Parameters": {"Bucket": "items"}, "ResultPath": null, "Next": "PutRows"},
            "PutRows": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Parameters": {"Bucket": "items", "Key": "rows.csv",
                               "Body": "id,name\n1,Ada\n2,\"Bob, Jr\"\n3,Cy\n"},
                "ResultPath": null, "Next": "Rows"},
            "Rows": {"Type": "Map", "ResultPath": "$.rows", "Next": "Listing",
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 2},
                    "Parameters": {"Bucket": "items", "Key": "rows.csv"}},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}},
            "Listing": {"Type": "Map", "ResultPath": "$.keys", "Next": "Export",
                "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
                    "Parameters": {"Bucket": "items"}},
                "ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size"},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": true}}}},
            "Export": {"Type": "Map", "ItemsPath": "$.rows", "ResultPath": "$.export", "Next": "Manifest",
                "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "items", "Prefix": "exports"}},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Shout", "States": {"Shout": {"Type": "Pass",
                        "Parameters": {"loud.$": "States.Format('{}!', $.name)"}, "End": true}}}},
            "Manifest": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket.$": "$.export.ResultWriterDetails.Bucket",
                               "Key.$": "$.export.ResultWriterDetails.Key"},
                "ResultSelector": {"m.$": "States.StringToJson($.Body)"},
                "ResultPath": "$.manifest", "Next": "Results"},
            "Results": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "items", "Key.$": "$.manifest.m.ResultFiles.SUCCEEDED[0].Key"},
                "ResultSelector": {"records.$": "States.StringToJson($.Body)"},
                "ResultPath": "$.results", "End": true}
        }})).await;
    let arn = h.start_execution("reader", json!({})).await;
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    let out = rec.output.expect("output");
    assert_eq!(
        out["rows"],
        json!([{"id": "1", "name": "Ada"}, {"id": "2", "name": "Bob, Jr"}])
    );
    assert_eq!(out["keys"], json!([{"key": "rows.csv", "size": 31}]));
    // The ResultWriter's export, read back by the workflow itself.
    let key = out["export"]["ResultWriterDetails"]["Key"]
        .as_str()
        .unwrap();
    assert!(
        key.starts_with("exports/") && key.ends_with("/manifest.json"),
        "{out}"
    );
    let manifest = &out["manifest"]["m"];
    assert_eq!(manifest["DestinationBucket"], "items");
    assert_eq!(manifest["MapRunArn"], out["export"]["MapRunArn"]);
    assert_eq!(manifest["ResultFiles"]["FAILED"], json!([]));
    let records = out["results"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["Output"], r#"{"loud":"Bob, Jr!"}"#);
    assert_eq!(records[1]["Status"], "SUCCEEDED");
}

/// A distributed Map over an object larger than one read's window (256 KiB of items): its
/// ItemReader reads window after window, each stored in DynamoDB in place of the one before,
/// and every item runs once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_object_is_read_window_by_window() {
    let h = Harness::start("a_large_object_is_read_window_by_window", 2).await;
    let lines: String = (0..400)
        .map(|i| format!("{}\n", json!({"n": i, "pad": "x".repeat(1500)})))
        .collect();
    assert!(lines.len() > 2 * waymark_tasks::item_reader::MAX_READ_BYTES);
    h.moto.put_s3("big-items", "", b"");
    h.moto.put_s3("big-items", "rows.jsonl", lines.as_bytes());
    h.machine("big", json!({"StartAt": "Each", "States": {
            "Each": {"Type": "Map", "MaxConcurrency": 40, "End": true,
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSONL"},
                    "Parameters": {"Bucket": "big-items", "Key": "rows.jsonl"}},
                "ItemSelector": {"n.$": "$$.Map.Item.Value.n", "i.$": "$$.Map.Item.Index"},
                "ResultSelector": {"count.$": "States.ArrayLength($)", "all.$": "$[*].n",
                                   "same.$": "$[?(@.n != @.i)]"},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}
        }})).await;
    let arn = h.start_execution("big", json!({})).await;
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    let out = rec.output.expect("output");
    assert_eq!(out["count"], 400);
    assert_eq!(out["all"], json!((0..400).collect::<Vec<_>>()));
    assert_eq!(out["same"], json!([]), "every item at its index");
    assert_eq!(rec.map_runs[0].total, 400);
}

/// Versions and aliases through the API function, over DynamoDB: publish on create and
/// update, an alias's executions run its version, and deleting the machine takes them along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_aliases_through_the_api_function() {
    let h = Harness::start("versions_and_aliases_through_the_api_function", 2).await;
    let call = |op: &'static str, body: Value| {
        let h = &h;
        async move {
            let (status, out) = h.api("POST", "/", Some(op), &body.to_string()).await;
            assert_eq!(status, 200, "{op}: {out}");
            out
        }
    };
    let def = |r: &str| {
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": r, "End": true}}})
            .to_string()
    };
    let created = call(
        "CreateStateMachine",
        json!({"name": "ver", "definition": def("one"), "publish": true,
               "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/r")}),
    )
    .await;
    let sm = created["stateMachineArn"].as_str().unwrap().to_string();
    assert_eq!(created["stateMachineVersionArn"], format!("{sm}:1"));
    call(
        "UpdateStateMachine",
        json!({"stateMachineArn": sm, "definition": def("two"), "publish": true, "versionDescription": "2nd"}),
    )
    .await;
    let listed = call("ListStateMachineVersions", json!({"stateMachineArn": sm})).await;
    assert_eq!(
        listed["stateMachineVersions"].as_array().unwrap().len(),
        2,
        "{listed}"
    );
    call(
        "CreateStateMachineAlias",
        json!({"name": "prod", "routingConfiguration": [{"stateMachineVersionArn": format!("{sm}:1"), "weight": 100}]}),
    )
    .await;
    let alias = format!("{sm}:prod");
    let started = call("StartExecution", json!({"stateMachineArn": alias})).await;
    let arn = started["executionArn"].as_str().unwrap().to_string();
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.output, Some(json!("one")));
    let d = call("DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["stateMachineAliasArn"], alias);
    assert_eq!(d["stateMachineVersionArn"], format!("{sm}:1"));
    let a = call(
        "DescribeStateMachineAlias",
        json!({"stateMachineAliasArn": alias}),
    )
    .await;
    assert_eq!(a["routingConfiguration"][0]["weight"], 100);
    call(
        "UpdateStateMachineAlias",
        json!({"stateMachineAliasArn": alias, "description": "moved",
               "routingConfiguration": [{"stateMachineVersionArn": format!("{sm}:2"), "weight": 100}]}),
    )
    .await;
    let aliases = call("ListStateMachineAliases", json!({"stateMachineArn": sm})).await;
    assert_eq!(
        aliases["stateMachineAliases"][0]["stateMachineAliasArn"],
        alias
    );
    let v = call(
        "DescribeStateMachine",
        json!({"stateMachineArn": format!("{sm}:2")}),
    )
    .await;
    assert_eq!(v["description"], "2nd");
    call(
        "DeleteStateMachineVersion",
        json!({"stateMachineVersionArn": format!("{sm}:1")}),
    )
    .await;
    call(
        "DeleteStateMachineAlias",
        json!({"stateMachineAliasArn": alias}),
    )
    .await;
    call("PublishStateMachineVersion", json!({"stateMachineArn": sm})).await;
    call("DeleteStateMachine", json!({"stateMachineArn": sm})).await;
}

/// Activities through the API function: the stepper queues the task, a worker takes it with
/// GetActivityTask and answers with SendTaskSuccess.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_workers_through_the_api_function() {
    let h = Harness::start("activity_workers_through_the_api_function", 2).await;
    let call = |op: &'static str, body: Value| {
        let h = &h;
        async move {
            let (status, out) = h.api("POST", "/", Some(op), &body.to_string()).await;
            assert_eq!(status, 200, "{op}: {out}");
            out
        }
    };
    let activity = call("CreateActivity", json!({"name": "review"})).await["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = call("ListActivities", json!({})).await;
    assert_eq!(listed["activities"][0]["activityArn"], activity);
    h.machine(
        "reviewed",
        json!({"StartAt": "Review", "States": {"Review": {"Type": "Task", "Resource": activity,
            "ResultPath": "$.verdict", "End": true}}}),
    )
    .await;
    let arn = h.start_execution("reviewed", json!({"doc": 7})).await;
    h.drain(Duration::from_secs(20)).await;
    let task = call(
        "GetActivityTask",
        json!({"activityArn": activity, "workerName": "w"}),
    )
    .await;
    assert_eq!(task["input"], "{\"doc\":7}", "{task}");
    call(
        "SendTaskSuccess",
        json!({"taskToken": task["taskToken"], "output": "\"ok\""}),
    )
    .await;
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    assert_eq!(rec.output, Some(json!({"doc": 7, "verdict": "ok"})));
    let types: Vec<String> = h
        .history(&arn)
        .await
        .iter()
        .map(|e| e.event_type.to_string())
        .collect();
    assert!(types.contains(&"ActivityStarted".to_string()), "{types:?}");
    call("DeleteActivity", json!({"activityArn": activity})).await;
    let (status, out) = h
        .api(
            "POST",
            "/",
            Some("DescribeActivity"),
            &json!({"activityArn": activity}).to_string(),
        )
        .await;
    assert_eq!(
        (status, out["__type"].as_str()),
        (400, Some("ActivityDoesNotExist"))
    );
}

/// The Map Run operations through the API function, over DynamoDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_runs_through_the_api_function() {
    let h = Harness::start("map_runs_through_the_api_function", 2).await;
    h.machine(
        "mapper",
        json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "MaxConcurrency": 2, "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
    )
    .await;
    let arn = h.start_execution("mapper", json!([1, 2, 3])).await;
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    let call = |op: &'static str, body: Value| {
        let h = &h;
        async move { h.api("POST", "/", Some(op), &body.to_string()).await }
    };
    let (status, listed) = call("ListMapRuns", json!({"executionArn": arn})).await;
    assert_eq!(status, 200, "{listed}");
    let run = listed["mapRuns"][0]["mapRunArn"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, d) = call("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["maxConcurrency"], 2);
    assert_eq!(d["itemCounts"]["succeeded"], 3);
    let (status, e) = call(
        "UpdateMapRun",
        json!({"mapRunArn": run, "maxConcurrency": 5}),
    )
    .await;
    assert_eq!(
        (status, e["__type"].as_str()),
        (400, Some("ValidationException"))
    );
}

/// Invariant 1 of DESIGN.md, case by case: a message delivered twice, delivered after a later
/// one, and redelivered after the Lambda died between the commit and the effects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_happens_once_whatever_the_queue_does() {
    let h = Harness::start("a_step_happens_once_whatever_the_queue_does", 900).await;
    let before = h.home.metrics.snapshot();
    let mut echo = lambda("echo");
    echo["Next"] = json!("Double");
    let mut double = lambda("double");
    double["Next"] = json!("Done");
    h.machine(
        "steady",
        json!({
            "StartAt": "Echo",
            "States": {"Echo": echo, "Double": double, "Done": {"Type": "Pass", "End": true}}
        }),
    )
    .await;
    let arn = h.start_execution("steady", json!({"value": 5})).await;

    // The invoke message of Echo, delivered twice (in two batches).
    let first = h.receive(10).await;
    assert_eq!(first.len(), 1, "one message: run Echo");
    assert!(h.step_with(&h.home, &first).await.is_empty());
    let events_after_echo = h.history(&arn).await.len();
    assert!(h.step_with(&h.home, &first).await.is_empty());
    assert_eq!(
        h.history(&arn).await.len(),
        events_after_echo,
        "the duplicate changed nothing"
    );
    assert_eq!(h.lambda.calls_of("echo"), 1, "nor ran the task again");
    h.delete(&first).await;

    // The invoke message of Double: its step commits, but its effects fail (the "Lambda"
    // died), so the message is reported failed and its outbox stays pending.
    let second = h.receive(10).await;
    assert_eq!(second.len(), 1, "one message: run Double");
    let crashing = h.crashing_home();
    let failed = h.step_with(&crashing, &second).await;
    assert_eq!(failed.len(), 1, "reported for redelivery");
    let committed = h.record(&arn).await;
    assert_eq!(
        committed.status,
        Status::Succeeded,
        "Double's answer was committed"
    );
    let events_at_crash = h.history(&arn).await.len();
    // Redelivered to a healthy stepper: the pending outbox (the end's notification) is
    // performed, the task is not run again, nothing is recorded twice.
    assert!(h.step_with(&h.home, &second).await.is_empty());
    h.delete(&second).await;
    assert_eq!(h.history(&arn).await.len(), events_at_crash);
    assert_eq!(h.lambda.calls_of("double"), 1);

    // The first message once more, after the later ones: nothing changes.
    assert!(h.step_with(&h.home, &first).await.is_empty());
    let rec = h.record(&arn).await;
    assert_eq!(rec.output, Some(json!({"value": 10})));
    let history = h.history(&arn).await;
    assert_eq!(history.len(), events_at_crash);
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=history.len() as u64).collect::<Vec<_>>());
    h.drain(Duration::from_secs(10)).await;
    assert_eq!(h.lambda.calls_of("echo"), 1);
    h.account_costs(&h.home.metrics.snapshot().since(&before))
        .await;
}

/// The same, for a step whose lost effect is a timer: without the redelivery the execution
/// would wait for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_lost_with_a_dead_lambda_is_set_again() {
    let h = Harness::start("a_timer_lost_with_a_dead_lambda_is_set_again", 900).await;
    let before = h.home.metrics.snapshot();
    let mut echo = lambda("echo");
    echo["Next"] = json!("Pause");
    h.machine(
        "timed",
        json!({
            "StartAt": "Echo",
            "States": {"Echo": echo, "Pause": {"Type": "Wait", "Seconds": 1, "End": true}}
        }),
    )
    .await;
    let arn = h.start_execution("timed", json!({"n": 1})).await;
    let invoke = h.receive(10).await;
    assert_eq!(invoke.len(), 1);
    let failed = h.step_with(&h.crashing_home(), &invoke).await;
    assert_eq!(failed.len(), 1);
    assert!(
        h.receive(10).await.is_empty(),
        "the Wait's timer was lost with the crash"
    );
    // The invoke message comes back (here: at once) and sets the timer again.
    assert!(h.step_with(&h.home, &invoke).await.is_empty());
    h.delete(&invoke).await;
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded);
    assert_eq!(h.lambda.calls_of("echo"), 1);
    h.account_costs(&h.home.metrics.snapshot().since(&before))
        .await;
}

/// The key the approval test deploys with (`ApprovalKey`).
const APPROVAL_KEY: &str = "8f1c2b7e0a9d4c36b5e2f7a1d0c9b8e75a4f3e2d1c0b9a8f7e6d5c4b3a291807";

/// An expense approval as in `examples/approval/`, asking through SQS.
fn expense_machine(inbox: &str) -> Value {
    json!({
        "StartAt": "AskManager",
        "States": {
            "AskManager": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": inbox,
                    "MessageBody": {
                        "employee.$": "$.employee",
                        "amount.$": "$.amount",
                        "Url.$": "$$.Task.Approval.Url",
                        "ExpiresAt.$": "$$.Task.Approval.ExpiresAt"
                    }
                },
                "TimeoutSeconds": 86400,
                "ResultPath": "$.decision",
                "Next": "Decided"
            },
            "Decided": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.decision.approved", "BooleanEquals": true, "Next": "Reimburse"}],
                "Default": "Rejected"
            },
            "Reimburse": {
                "Type": "Pass",
                "Parameters": {
                    "employee.$": "$.employee",
                    "approved.$": "$.decision.approved",
                    "approvedBy.$": "$.decision.approver",
                    "comment.$": "$.decision.comment"
                },
                "End": true
            },
            "Rejected": {
                "Type": "Fail",
                "Error": "ExpenseRejected",
                "CausePath": "States.Format('Rejected by {}', $.decision.approver)"
            }
        }
    })
}

/// The approval link the task sent to the inbox, as the path the API function serves.
async fn asked_link(h: &Harness, inbox: &str) -> String {
    let got = h.receive_from(inbox).await;
    assert_eq!(got.len(), 1, "one approval request in the inbox");
    h.sqs
        .delete_message()
        .queue_url(inbox)
        .receipt_handle(got[0].receipt_handle.clone().unwrap_or_default())
        .send()
        .await
        .expect("delete");
    let body: Value = serde_json::from_str(got[0].body.as_deref().unwrap_or("")).expect("json");
    let url = body["Url"]
        .as_str()
        .expect("the link in the task's message");
    assert!(body["ExpiresAt"].is_string(), "{body}");
    // The API function took its host from API Gateway's request.
    url.strip_prefix("https://api.example")
        .unwrap_or_else(|| panic!("{url} is not on the API's host"))
        .to_string()
}

/// The hidden `form` field of an approval page.
fn form_token(page: &str) -> String {
    let at = page
        .find("name=\"form\" value=\"")
        .expect("the page has a form token")
        + "name=\"form\" value=\"".len();
    page[at..].split('"').next().expect("token").to_string()
}

/// A decision as the page's form posts it: URL-encoded, base64-encoded by API Gateway.
async fn post_form(h: &Harness, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
        .collect();
    let (status, headers, page) = h
        .http(
            "POST",
            path,
            &[(
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            )],
            &body.join("&"),
            true,
        )
        .await;
    assert!(
        headers["content-type"]
            .as_str()
            .unwrap_or("")
            .starts_with("text/html"),
        "{headers}"
    );
    (status, page)
}

/// The messages waiting in a queue subscribed to a topic: (subject, message).
async fn published(h: &Harness, url: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        let got = h
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return out;
        }
        for m in got {
            let envelope: Value =
                serde_json::from_str(m.body.as_deref().unwrap_or("")).expect("SNS envelope");
            out.push((
                envelope["Subject"].as_str().unwrap_or("").to_string(),
                envelope["Message"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
}

/// Human approval on AWS: the task's message carries a signed link; the approval topic gets
/// the links; the page (GET) shows the request and decides nothing; its form (POST) decides
/// once; tampered links, foreign forms and second clicks change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_approval_through_signed_links() {
    let parameters = [("ApprovalKey".to_string(), APPROVAL_KEY.to_string())].into();
    let h = Harness::start_with("human_approval_through_signed_links", 900, &parameters).await;
    assert!(h.home.approvals.is_some(), "ApprovalKey turns approvals on");
    let announced = subscribe_to(&h, "WAYMARK_APPROVAL_TOPIC_ARN", "approval-mail", None).await;
    let inbox = h
        .sqs
        .create_queue()
        .queue_name("manager-inbox")
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    h.machine("expense", expense_machine(&inbox)).await;

    let arn = h
        .start_execution("expense", json!({"employee": "Ada", "amount": 1250}))
        .await;
    h.drain(Duration::from_secs(20)).await;
    assert_eq!(h.record(&arn).await.status, Status::Running);
    let link = asked_link(&h, &inbox).await;
    let (path, query) = link.split_once('?').expect("a query");
    assert!(path.starts_with("/approvals/"), "{link}");
    assert!(query.contains("exp=") && query.contains("sig="), "{link}");

    // The approval topic told its subscribers, with the links.
    let mail = published(&h, &announced).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    let (subject, message) = &mail[0];
    assert!(
        subject.starts_with("Approval requested: AskManager of "),
        "{subject}"
    );
    assert!(
        message.contains(&format!("https://api.example{link}")),
        "{message}"
    );
    assert!(message.contains("&action=approve"), "{message}");
    assert!(!message.contains("Token"), "never the token: {message}");

    // GET shows the request and changes nothing.
    let (status, headers, page) = h.http("GET", &link, &[], "", false).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(headers["cache-control"], "no-store", "{headers}");
    assert!(page.contains("AskManager"), "{page}");
    assert!(page.contains("Ada"), "the input is shown: {page}");
    let token = form_token(&page);
    assert_eq!(h.record(&arn).await.status, Status::Running);

    // A tampered signature: a clear page, nothing decided.
    let sig_at = link.find("sig=").expect("sig") + 4;
    let mut forged = link.clone();
    let c = if &link[sig_at..sig_at + 1] == "a" {
        "b"
    } else {
        "a"
    };
    forged.replace_range(sig_at..sig_at + 1, c);
    let (status, _, page) = h.http("GET", &forged, &[], "", false).await;
    assert_eq!(status, 403);
    assert!(page.contains("This link is not valid"), "{page}");
    let (status, page) = post_form(&h, &forged, &[("form", &token), ("decision", "approve")]).await;
    assert_eq!(status, 403);
    assert!(page.contains("This link is not valid"), "{page}");
    // A form that did not come from the page.
    let (status, page) = post_form(&h, &link, &[("decision", "approve")]).await;
    assert_eq!(status, 403);
    assert!(page.contains("Decide from the approval page"), "{page}");
    // A signed link of an approval that does not exist.
    let stranger = waymark_api::approvals::Links::new(
        waymark_aws::approvals::parse_key(APPROVAL_KEY).expect("key"),
        "",
    )
    .make(
        "no such token",
        chrono::Utc::now() + chrono::Duration::hours(1),
    );
    let (status, _, page) = h
        .http(
            "GET",
            stranger.links["Url"].as_str().expect("url"),
            &[],
            "",
            false,
        )
        .await;
    assert_eq!(status, 404);
    assert!(page.contains("Unknown approval"), "{page}");
    assert_eq!(h.record(&arn).await.status, Status::Running);

    // The decision, from the page's form.
    let (status, page) = post_form(
        &h,
        &link,
        &[
            ("form", &token),
            ("decision", "approve"),
            ("approver", "Maria"),
            ("comment", "within budget"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Approved"), "{page}");
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    assert_eq!(
        rec.output,
        Some(
            json!({"employee": "Ada", "approved": true, "approvedBy": "Maria", "comment": "within budget"})
        )
    );
    let events = h.history(&arn).await.len();

    // A second click: already decided, nothing changes.
    let (status, page) = post_form(&h, &link, &[("form", &token), ("decision", "reject")]).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("Already decided"), "{page}");
    assert!(page.contains("approved by Maria"), "{page}");
    let (status, _, page) = h.http("GET", &link, &[], "", false).await;
    assert_eq!(status, 409);
    assert!(page.contains("Already decided"), "{page}");
    h.drain(Duration::from_secs(5)).await;
    let after = h.record(&arn).await;
    assert_eq!(after.status, Status::Succeeded);
    assert_eq!(after.output, rec.output);
    assert_eq!(h.history(&arn).await.len(), events);

    // A rejection: the task succeeds with approved = false, and the workflow decides.
    let arn = h
        .start_execution("expense", json!({"employee": "Grace", "amount": 4200}))
        .await;
    h.drain(Duration::from_secs(20)).await;
    let link = asked_link(&h, &inbox).await;
    let (status, _, page) = h
        .http("GET", &format!("{link}&action=reject"), &[], "", false)
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("reject chosen"), "the button is preselected");
    let (status, page) = post_form(
        &h,
        &link,
        &[
            ("form", &form_token(&page)),
            ("decision", "reject"),
            ("approver", "Maria"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Rejected"), "{page}");
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Failed);
    let failure = rec.failure.expect("failure");
    assert_eq!(failure.error.as_deref(), Some("ExpenseRejected"));
    assert_eq!(failure.cause.as_deref(), Some("Rejected by Maria"));
    assert_eq!(published(&h, &announced).await.len(), 1, "one per approval");
}

/// An approval request that could not be published holds its task back: the step's outbox
/// stays pending, and the redelivered message stores, announces and hands over the task once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unannounced_approval_is_retried_with_its_task() {
    let parameters = [("ApprovalKey".to_string(), APPROVAL_KEY.to_string())].into();
    let h = Harness::start_with(
        "an_unannounced_approval_is_retried_with_its_task",
        900,
        &parameters,
    )
    .await;
    let announced = subscribe_to(&h, "WAYMARK_APPROVAL_TOPIC_ARN", "approval-mail", None).await;
    let inbox = h
        .sqs
        .create_queue()
        .queue_name("manager-inbox")
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let mut definition = expense_machine(&inbox);
    definition["StartAt"] = json!("Later");
    definition["States"]["Later"] = json!({"Type": "Wait", "Seconds": 1, "Next": "AskManager"});
    h.machine("later", definition).await;
    let arn = h
        .start_execution("later", json!({"employee": "Ada", "amount": 1250}))
        .await;
    // The stepper, as template.yaml configures it, but its approval topic is gone.
    let mut config = h.home.config.clone();
    let approval = config.approval.as_mut().expect("approvals are on");
    approval.public_url = Some("https://api.example".into());
    config.approval_topic_arn = Some(format!(
        "arn:aws:sns:{}:{}:no-such-topic",
        common::REGION,
        common::ACCOUNT
    ));
    let failing = std::sync::Arc::new(waymark_aws::Home::new(config, &h.sdk));
    let timer = h.receive(10).await;
    assert_eq!(timer.len(), 1, "the Wait's end");
    assert_eq!(
        h.step_with(&failing, &timer).await.len(),
        1,
        "reported failed"
    );
    assert!(
        h.record(&arn)
            .await
            .frames
            .values()
            .any(|f| f.state == "AskManager"),
        "the step itself was committed"
    );
    assert!(published(&h, &announced).await.is_empty());
    assert!(
        waymark_engine::ports::ExecutionStore::load_for_step(&*h.check.store, &arn)
            .await
            .expect("outbox")
            .expect("the execution")
            .outbox
            .is_some(),
        "its effects stay pending"
    );
    // Redelivered to a healthy stepper.
    assert!(h.step_with(&h.home, &timer).await.is_empty());
    h.delete(&timer).await;
    h.drain(Duration::from_secs(10)).await;
    let link = asked_link(&h, &inbox).await;
    let mail = published(&h, &announced).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].1.contains(&link), "{}", mail[0].1);
    // Storing it again (a task handed over twice) keeps it, announced: no second e-mail.
    use waymark_api::approvals::ApprovalStore;
    let id = link
        .trim_start_matches("/approvals/")
        .split('?')
        .next()
        .expect("id");
    let stored = h
        .check
        .store
        .get_approval(id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.task.execution_arn, arn);
    assert_eq!(stored.state, "AskManager");
    assert!(!h
        .check
        .store
        .record_approval(&stored)
        .await
        .expect("stored again"));
}

/// Without `ApprovalKey`, `$$.Task.Approval` does not exist and the pages say approvals are off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_are_off_without_a_key() {
    let h = Harness::start("approvals_are_off_without_a_key", 900).await;
    assert!(h.home.approvals.is_none());
    let (status, _, page) = h
        .http("GET", "/approvals/0123?exp=1&sig=00", &[], "", false)
        .await;
    assert_eq!(status, 404);
    assert!(page.contains("not enabled"), "{page}");
    h.machine("expense", expense_machine("http://unused")).await;
    let arn = h
        .start_execution("expense", json!({"employee": "Ada", "amount": 1}))
        .await;
    let rec = h.run_until_ended(&arn, LIMIT).await;
    assert_eq!(rec.status, Status::Failed);
    assert_eq!(
        rec.failure.and_then(|f| f.error).as_deref(),
        Some("States.Runtime"),
        "no $$.Task.Approval to read"
    );
}

/// Turns the response of the first successful write after it is armed into a 500, as a lost
/// response looks to the SDK: it sends the request again, and the retry's condition fails
/// against the write its first attempt made.
#[derive(Debug, Clone)]
struct LoseOneResponse(Arc<AtomicBool>);

impl Intercept for LoseOneResponse {
    fn name(&self) -> &'static str {
        "LoseOneResponse"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let write = cfg
            .load::<Metadata>()
            .is_some_and(|m| matches!(m.name(), "UpdateItem" | "TransactWriteItems"));
        if write && context.response().status().is_success() && self.0.swap(false, Ordering::SeqCst)
        {
            *context.response_mut().status_mut() = StatusCode::try_from(500u16)?;
        }
        Ok(())
    }
}

/// A commit that landed is never undone because its answer was lost: its history (written
/// ahead, under the writer's own keys) stays, and the step is reported done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_was_lost_stands() {
    let h = Harness::start("a_commit_whose_answer_was_lost_stands", 900).await;
    h.machine(
        "patient",
        json!({"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 600, "End": true}}}),
    )
    .await;
    let arn = h.start_execution("patient", json!({"n": 1})).await;
    let lose = Arc::new(AtomicBool::new(false));
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&h.sdk)
            .interceptor(LoseOneResponse(lose.clone()))
            .build(),
    );
    let store = DynamoStore::new(
        client,
        h.env["WAYMARK_TABLE"].clone(),
        Metrics::new(),
        StoreOptions::default(),
    );
    let loaded = store
        .load_for_step(&arn)
        .await
        .expect("load")
        .expect("the execution");
    let before = loaded.rec.clone();
    let events_before = h.history(&arn).await;

    let mut next = before.clone();
    next.version += 1;
    next.next_event_id += 1;
    let details = Some((
        "stateExitedEventDetails".into(),
        serde_json::value::to_raw_value(&json!({"name": "Nap", "output": "{\"n\":1}"})).unwrap(),
    ));
    let event = HistoryEvent {
        timestamp: chrono::Utc::now(),
        event_type: "WaitStateExited".into(),
        id: before.next_event_id,
        previous_event_id: before.next_event_id - 1,
        details,
    };
    lose.store(true, Ordering::SeqCst);
    let events = [event.clone()];
    let w = WriteSet::diff(&before, &next, &events, &[], chrono::Utc::now());
    store
        .commit(loaded.snapshot, &w)
        .await
        .expect("the commit landed; its lost answer does not make it a conflict");
    assert!(!lose.load(Ordering::SeqCst), "the answer was lost");

    let history = h.history(&arn).await;
    assert_eq!(history.len(), events_before.len() + 1, "{history:?}");
    assert_eq!(history.last().map(|e| e.id), Some(event.id));
    assert_eq!(h.record(&arn).await.version, next.version);
}

/// ListStateMachines is one Query over the index: its `sum` says all a listing shows, so a
/// page never reads a definition (here: definitions made unreadable still list), deleted
/// machines leave it, and pages follow each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_machine_listings_read_summaries_from_the_index() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let h = Harness::start("state_machine_listings_read_summaries_from_the_index", 900).await;
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    for name in ["gamma", "alpha", "beta", "delta"] {
        let create = json!({"name": name, "definition": pass.to_string(),
            "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/r"), "type": "EXPRESS"});
        let (status, out) = h
            .api("POST", "/", Some("CreateStateMachine"), &create.to_string())
            .await;
        assert_eq!(status, 200, "{out}");
    }
    let delta = h.home.engine.config.state_machine_arn("delta");
    let (status, _) = h
        .api(
            "POST",
            "/",
            Some("DeleteStateMachine"),
            &json!({"stateMachineArn": delta}).to_string(),
        )
        .await;
    assert_eq!(status, 200);
    // Definitions that no longer read back: a listing that touched one would fail.
    for name in ["alpha", "beta", "gamma"] {
        h.dynamodb
            .update_item()
            .table_name(&h.env["WAYMARK_TABLE"])
            .key("PK", AttributeValue::S(format!("SM#{name}")))
            .key("SK", AttributeValue::S("META".into()))
            .update_expression("SET sm = :g")
            .expression_attribute_values(":g", AttributeValue::S("garbage".into()))
            .send()
            .await
            .expect("update");
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..5 {
        let mut req = json!({"maxResults": 2});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let (status, out) = h
            .api("POST", "/", Some("ListStateMachines"), &req.to_string())
            .await;
        assert_eq!(status, 200, "{out}");
        for m in out["stateMachines"].as_array().expect("a list") {
            assert_eq!(m["type"], "EXPRESS", "{m}");
            assert!(m["creationDate"].as_f64().is_some_and(|d| d > 0.0), "{m}");
            assert_eq!(
                m["stateMachineArn"],
                json!(h
                    .home
                    .engine
                    .config
                    .state_machine_arn(m["name"].as_str().unwrap()))
            );
            names.push(m["name"].as_str().unwrap().to_string());
        }
        token = out["nextToken"].as_str().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["alpha", "beta", "gamma"]);
}

/// A step's queue work goes in SendMessageBatch requests as SQS bills them: ten messages and
/// 64 KB at most a request, each message with its own delay, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_work_is_sent_in_batches_as_sqs_bills_them() {
    use waymark_aws::message::StepMessage;
    use waymark_engine::step::Signal;
    let h = Harness::start("queued_work_is_sent_in_batches_as_sqs_bills_them", 900).await;
    let before = h.home.metrics.snapshot();
    let signal = |turn: u64, pad: usize| StepMessage::Signal {
        arn: format!(
            "arn:aws:states:us-east-1:123456789012:execution:m:{}",
            "x".repeat(pad)
        ),
        due: chrono::Utc::now(),
        signal: Signal::Resume { turn },
    };
    // Twelve small ones, then two of 40 KB, which no request holds both of, and a delayed
    // one: ten in the first request, the other two small ones with the first large one in the
    // second, the second large one with the delayed one in the third.
    let mut messages: Vec<(StepMessage, u32)> = (0..12).map(|t| (signal(t, 8), 0)).collect();
    messages.push((signal(100, 40_000), 0));
    messages.push((signal(101, 40_000), 0));
    messages.push((signal(102, 8), 30));
    h.home.scheduler.send_all(&messages).await.expect("sent");
    let sent = h.home.metrics.snapshot().since(&before);
    assert_eq!(
        sent.count("SQS", "SendMessageBatch"),
        3,
        "{:?}",
        sent.requests
    );
    assert_eq!(sent.count("SQS", "SendMessage"), 0, "{:?}", sent.requests);
    let mut turns = Vec::new();
    for _ in 0..10 {
        for m in h.receive(10).await {
            match serde_json::from_str(m.body().unwrap_or("")).expect("a step message") {
                StepMessage::Signal {
                    signal: Signal::Resume { turn },
                    ..
                } => turns.push(turn),
                other => panic!("unexpected {other:?}"),
            }
        }
        if turns.len() == 14 {
            break;
        }
    }
    turns.sort();
    let mut expected: Vec<u64> = (0..12).collect();
    expected.extend([100, 101]);
    assert_eq!(turns, expected, "all but the delayed one, once each");
}
