//! Waymark on AWS end to end, against a moto server: executions started through the API
//! function's handler with API Gateway events, advanced by the stepper's handler with the
//! messages the test receives from the step queue, Lambda tasks served by a local Invoke
//! endpoint. Every test adds what it spent to the suite's cost count
//! (`target/waymark-aws-costs.json`; `cargo run -p waymark-infra -- costs` prints it).

#![recursion_limit = "256"]

mod common;

use std::time::Duration;

use common::Harness;
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
    let Some(h) = Harness::start("tasks_waits_retries_and_catches_run_to_the_end", 2).await else {
        return;
    };
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
    let Some(mut h) = Harness::start(
        "map_and_parallel_fan_out_with_every_message_delivered_twice",
        900,
    )
    .await
    else {
        return;
    };
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
    let Some(h) = Harness::start("a_thousand_item_map_keeps_every_item_small", 900).await else {
        return;
    };
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
        .topic_arn(&h.env["WAYMARK_TOPIC_ARN"])
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
    let Some(h) = Harness::start("callbacks_stops_and_notifications", 900).await else {
        return;
    };
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
    let asked = h
        .sqs
        .receive_message()
        .queue_url(&inbox)
        .wait_time_seconds(2)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
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
        history.last().map(|e| e.event_type.as_str()),
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
    let Some(h) = Harness::start("triggers_start_each_event_once", 900).await else {
        return;
    };
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
    let got = h
        .sqs
        .receive_message()
        .queue_url(&queue)
        .wait_time_seconds(2)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
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
    let Some(h) = Harness::start("rest_routes_start_describe_and_list_history", 900).await else {
        return;
    };
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

/// Invariant 1 of DESIGN.md, case by case: a message delivered twice, delivered after a later
/// one, and redelivered after the Lambda died between the commit and the effects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_happens_once_whatever_the_queue_does() {
    let Some(h) = Harness::start("a_step_happens_once_whatever_the_queue_does", 900).await else {
        return;
    };
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
    let Some(h) = Harness::start("a_timer_lost_with_a_dead_lambda_is_set_again", 900).await else {
        return;
    };
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
