//! What one page of GetExecutionHistory reads from DynamoDB (moto): the items that hold the
//! page's events and the keys of the others, not the whole history. Measured from the
//! responses themselves (an interceptor on the test's own client), not from the store's
//! accounting.

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::AttributeValue::{self, N, S};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::Harness;
use serde_json::{json, Value};
use waymark_aws::store::{DynamoStore, StoreOptions};
use waymark_aws::Metrics;
use waymark_engine::history::{self, HistoryEvent};
use waymark_engine::ports::{ExecutionStore, WriteSet};
use waymark_engine::record::{ExecutionRecord, MachineTypeRepr, Status};

/// What the responses to DynamoDB requests carried.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Received {
    requests: u64,
    /// Bytes of the response bodies.
    bytes: u64,
    /// Items returned (Query, GetItem, BatchGetItem).
    items: u64,
}

#[derive(Debug, Default, Clone)]
struct Counter(Arc<Mutex<Received>>);

impl Counter {
    fn now(&self) -> Received {
        *self.0.lock().unwrap()
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "ReceivedCounter"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.response().body().bytes().unwrap_or_default();
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let items = parsed["Items"].as_array().map_or(0, Vec::len)
            + usize::from(parsed["Item"].is_object())
            + parsed["Responses"].as_object().map_or(0, |m| {
                m.values().filter_map(Value::as_array).map(Vec::len).sum()
            });
        let mut r = self.0.lock().unwrap();
        r.requests += 1;
        r.bytes += body.len() as u64;
        r.items += items as u64;
        Ok(())
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
}

/// Text that deflate can barely shrink.
fn noise(len: usize, seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// An event of about 1 KB that does not compress.
fn event(id: u64) -> HistoryEvent {
    let d = history::state_entered(
        "Pass",
        &format!("S{id}"),
        &json!({"id": id, "noise": noise(1000, id)}),
    );
    history::finish(d, id, id - 1, t0() + Duration::seconds(id as i64))
}

fn record(name: &str) -> ExecutionRecord {
    ExecutionRecord {
        execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:reads:{name}"),
        name: name.to_string(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:reads".into(),
        state_machine_name: "reads".into(),
        revision: 1,
        machine_type: MachineTypeRepr::Standard,
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        input: json!({}),
        start_time: t0(),
        status: Status::Running,
        output: None,
        failure: None,
        stop_time: None,
        redrive_count: 0,
        version: 0,
        next_event_id: 1,
        next_fanout: 0,
        turn: 0,
        frames: waymark_engine::record::Frames::new(),
        redrive_point: None,
        kept: None,
        test_case: None,
        version_arn: None,
        alias_arn: None,
        map_runs: Vec::new(),
    }
}

/// An execution whose history is `steps` steps of 50 events (about 50 KB each: one item).
async fn execution(store: &DynamoStore, name: &str, steps: u64) -> String {
    let mut rec = record(name);
    store.create(&rec).await.unwrap();
    for _ in 0..steps {
        let mut next = rec.clone();
        let events: Vec<HistoryEvent> = (0..50).map(|i| event(rec.next_event_id + i)).collect();
        next.next_event_id += 50;
        next.version += 1;
        let loaded = store
            .load_for_step(&rec.execution_arn)
            .await
            .unwrap()
            .unwrap();
        let w = WriteSet::diff(&rec, &next, &events, &[], t0());
        store.commit(loaded.snapshot, &w).await.unwrap();
        rec = next;
    }
    rec.execution_arn
}

/// What reading one page of `max` events from `token` received, and the page.
async fn page_reads(
    store: &DynamoStore,
    counter: &Counter,
    arn: &str,
    reverse: bool,
    max: usize,
    token: Option<&str>,
) -> (Received, Vec<u64>, Option<String>) {
    let before = counter.now();
    let page = store.history_page(arn, reverse, max, token).await.unwrap();
    let after = counter.now();
    let got = Received {
        requests: after.requests - before.requests,
        bytes: after.bytes - before.bytes,
        items: after.items - before.items,
    };
    (
        got,
        page.items.iter().map(|e| e.id).collect(),
        page.next_token,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_page_reads_the_items_of_its_events_not_the_whole_history() {
    let h = Harness::start(
        "a_history_page_reads_the_items_of_its_events_not_the_whole_history",
        900,
    )
    .await;
    let counter = Counter::default();
    let conf = aws_sdk_dynamodb::config::Builder::from(&h.sdk)
        .interceptor(counter.clone())
        .build();
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(conf),
        h.env["WAYMARK_TABLE"].clone(),
        Metrics::new(),
        StoreOptions::default(),
    );
    let short = execution(&store, "short", 30).await; // 1,500 events
    let long = execution(&store, "long", 60).await; // 3,000 events

    // What every page read before pages were planned: the whole history.
    let before = counter.now();
    let whole = store.history(&long).await.unwrap();
    let after = counter.now();
    let whole_bytes = after.bytes - before.bytes;
    eprintln!(
        "whole history of 3,000 events: {} requests, {} items",
        after.requests - before.requests,
        after.items - before.items
    );
    assert_eq!(whole.len(), 3000);

    let mut figures = Vec::new();
    for (arn, events) in [(&short, 1500u64), (&long, 3000)] {
        for reverse in [false, true] {
            let (first, ids, token) = page_reads(&store, &counter, arn, reverse, 100, None).await;
            let expected: Vec<u64> = if reverse {
                (events - 99..=events).rev().collect()
            } else {
                (1..=100).collect()
            };
            assert_eq!(ids, expected);
            // A page from the middle, by its token.
            let (_, _, mut token) = (first, ids, token);
            for _ in 0..10 {
                token = page_reads(&store, &counter, arn, reverse, 100, token.as_deref())
                    .await
                    .2;
            }
            let (middle, ids, _) =
                page_reads(&store, &counter, arn, reverse, 100, token.as_deref()).await;
            assert_eq!(ids.len(), 100);
            figures.push((events, reverse, first, middle));
        }
    }
    eprintln!("whole history of 3,000 events: {whole_bytes} bytes received");
    for (events, reverse, first, middle) in &figures {
        eprintln!(
            "{events} events, reverse {reverse}: first page {first:?}, eleventh page {middle:?}"
        );
    }

    for (events, _, first, middle) in &figures {
        for r in [first, middle] {
            // The META item, every history item's key, and the items of 100 events: two or
            // three of 50. DynamoDB pages a query by the MB of items it reads, before it
            // projects them: the key query takes one request per MB of history (items of
            // about 45 KB here), however little it returns.
            let key_pages = (events / 50 * 50_000).div_ceil(1_000_000);
            assert!(r.requests <= 2 + key_pages, "{events} events: {r:?}");
            assert!(
                r.items <= 1 + events / 50 + 3,
                "{events} events: only the keys of the other items: {r:?}"
            );
            assert!(
                r.bytes < 3 * 60_000 + 100 * events / 50 + 2_000,
                "{events} events: a page reads about the data of its events: {r:?}"
            );
        }
    }
    // Twice the history, the same page: only the keys of the items added (well under 200
    // bytes each) are more.
    let at = |n: u64, rev: bool| figures.iter().find(|f| f.0 == n && f.1 == rev).unwrap();
    for reverse in [false, true] {
        let (short_first, long_first) = (at(1500, reverse).2, at(3000, reverse).2);
        assert!(
            long_first.bytes < short_first.bytes + 30 * 200,
            "reverse {reverse}: {short_first:?} then {long_first:?}"
        );
    }
    assert!(
        at(3000, false).2.bytes * 10 < whole_bytes,
        "a page is a small part of the whole history's {whole_bytes} bytes"
    );
}

/// Every page of `max` events, in turn.
async fn pages(store: &DynamoStore, arn: &str, reverse: bool, max: usize) -> Vec<HistoryEvent> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store
            .history_page(arn, reverse, max, token.as_deref())
            .await
            .unwrap();
        out.extend(page.items);
        match page.next_token {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_skip_what_lost_writers_left_and_read_uncounted_items_whole() {
    let h = Harness::start(
        "history_pages_skip_what_lost_writers_left_and_read_uncounted_items_whole",
        900,
    )
    .await;
    let table = h.env["WAYMARK_TABLE"].clone();
    let counter = Counter::default();
    let conf = aws_sdk_dynamodb::config::Builder::from(&h.sdk)
        .interceptor(counter.clone())
        .build();
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(conf),
        table.clone(),
        Metrics::new(),
        StoreOptions::default(),
    );
    let arn = execution(&store, "orphans", 4).await; // events 1..=200, items at 1, 51, 101, 151
    let whole = store.history(&arn).await.unwrap();
    assert_eq!(whole.len(), 200);
    let pk = format!("EX#{}", arn.splitn(6, ':').nth(5).unwrap());
    // Writers that lost the race for a version left their items (and died before removing
    // them), linked to committed ones: one beside a committed item, one starting inside
    // another, one past the end.
    let mut lost = Vec::new();
    for (first, count, nonce, previous) in [
        (51u64, 50u64, "ffffffffffffffff", "EV#0000000001#"),
        (75, 10, "eeeeeeeeeeeeeeee", "EV#0000000051#"),
        (201, 5, "dddddddddddddddd", "EV#0000000151#"),
    ] {
        let previous = committed_sk(&h, &table, &pk, previous).await;
        lost.push((first, count, nonce, previous));
    }
    for (first, count, nonce, previous) in lost {
        let events: Vec<HistoryEvent> = (first..first + count)
            .map(|id| {
                let d = history::state_entered("Lost", "Lost", &json!({"lost": id}));
                history::finish(d, id, id - 1, t0())
            })
            .collect();
        h.dynamodb
            .put_item()
            .table_name(&table)
            .item("PK", S(pk.clone()))
            .item("SK", S(format!("EV#{first:010}#{nonce}")))
            .item("v", N("2".into()))
            .item("n", N(count.to_string()))
            .item("pv", previous)
            .item("d", S(serde_json::to_string(&events).unwrap()))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        store.history(&arn).await.unwrap(),
        whole,
        "no lost event is history"
    );
    let mut newest_first = whole.clone();
    newest_first.reverse();
    for max in [7, 24, 100, 1000] {
        assert_eq!(
            pages(&store, &arn, false, max).await,
            whole,
            "pages of {max}"
        );
        assert_eq!(
            pages(&store, &arn, true, max).await,
            newest_first,
            "pages of {max}, reversed"
        );
    }
    assert!(store
        .history_page(&arn, false, 10, Some("203"))
        .await
        .is_err());
    // Planned from the keys: the META item, the keys, the items of the page (a lost one
    // among them, left out).
    let (planned, ids, _) = page_reads(&store, &counter, &arn, false, 10, Some("70")).await;
    assert_eq!(ids, (70..80).collect::<Vec<u64>>());
    assert_eq!(planned.requests, 3, "{planned:?}");

    // An item that does not say how many events it holds: the page is cut from the whole
    // history, as it was before pages were planned.
    h.dynamodb
        .update_item()
        .table_name(&table)
        .key("PK", S(pk.clone()))
        .key("SK", committed_sk(&h, &table, &pk, "EV#0000000101#").await)
        .update_expression("REMOVE n")
        .send()
        .await
        .unwrap();
    let (read, ids, _) = page_reads(&store, &counter, &arn, false, 10, Some("70")).await;
    assert_eq!(ids, (70..80).collect::<Vec<u64>>());
    // The META item and the keys, then the META item and every history item (7, with the
    // lost ones).
    assert_eq!(
        (read.requests, read.items),
        (4, 1 + 7 + 1 + 7),
        "then the whole history: {read:?} (planned: {planned:?})"
    );
    for max in [7, 100] {
        assert_eq!(
            pages(&store, &arn, false, max).await,
            whole,
            "pages of {max}"
        );
        assert_eq!(
            pages(&store, &arn, true, max).await,
            newest_first,
            "pages of {max}, reversed"
        );
    }
}

/// The committed history item whose key starts with `prefix` (the only one there is).
async fn committed_sk(h: &Harness, table: &str, pk: &str, prefix: &str) -> AttributeValue {
    let items = h
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
        .expression_attribute_values(":pk", S(pk.to_string()))
        .expression_attribute_values(":p", S(prefix.to_string()))
        .send()
        .await
        .unwrap()
        .items
        .unwrap();
    assert_eq!(items.len(), 1, "{prefix}");
    items[0]["SK"].clone()
}
