//! A load that damages a stock `moto_server` 5.2.x table: puts of new items racing with
//! transactions whose condition fails. moto restores the copy of the table it took before each
//! such transaction, erasing the writes that landed meanwhile (and, when two transactions
//! overlap, bringing back the puts of a cancelled one); a request that changes the table while
//! moto copies it gets a 500. Sent straight to moto, five runs out of five lost between one and
//! five of the 600 writes.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, KeySchemaElement, KeyType,
    Put, ScalarAttributeType, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use tokio::task::JoinSet;

const TABLE: &str = "lost-writes";
const WRITERS: usize = 6;
const CANCELLERS: usize = 6;
const EACH: usize = 100;
const TRANSACTIONS: usize = 30;
/// The puts the load makes, each of which must stay.
pub const WRITES: usize = WRITERS * EACH;
/// The transactions the load makes, each of which must be cancelled.
pub const CANCELLED: usize = CANCELLERS * TRANSACTIONS;
/// Puts in each cancelled transaction before its failing check: moto applies them one by one
/// after taking its copy, which widens the window in which another write gets erased.
const PUTS: usize = 10;

/// What became of the load's writes.
pub struct Outcome {
    /// Items put by the writers (each answered 200).
    pub written: usize,
    /// Written items that are no longer in the table.
    pub lost: Vec<String>,
    /// Transactions cancelled by their condition, as each of them must be.
    pub cancelled: usize,
    /// Items of cancelled transactions found in the table (there must be none).
    pub leaked: Vec<String>,
    /// Requests that failed otherwise than they must (moto answers 500 when a request changes
    /// a table while a transaction is copying it).
    pub errors: Vec<String>,
}

/// What one load task did.
#[derive(Default)]
struct Done {
    written: Vec<String>,
    cancelled: usize,
    errors: Vec<String>,
}

fn describe<E: std::fmt::Debug>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> String {
    match e.raw_response() {
        Some(r) => format!("HTTP {}", r.status().as_u16()),
        None => format!("{e:?}"),
    }
}

pub async fn client(endpoint: &str) -> Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    Client::new(&sdk)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

pub async fn run(endpoint: &str) -> Outcome {
    let db = client(endpoint).await;
    db.create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("PK")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("PK")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("create the table");
    let mut load = JoinSet::new();
    for w in 0..WRITERS {
        let db = db.clone();
        load.spawn(async move {
            let mut done = Done::default();
            for i in 0..EACH {
                let pk = format!("written-{w}-{i}");
                match db
                    .put_item()
                    .table_name(TABLE)
                    .item("PK", s(&pk))
                    .send()
                    .await
                {
                    Ok(_) => done.written.push(pk),
                    Err(e) => done.errors.push(format!("PutItem {pk}: {}", describe(&e))),
                }
            }
            done
        });
    }
    for c in 0..CANCELLERS {
        let db = db.clone();
        load.spawn(async move {
            let mut done = Done::default();
            for i in 0..TRANSACTIONS {
                let puts = (0..PUTS).map(|p| {
                    let put = Put::builder()
                        .table_name(TABLE)
                        .item("PK", s(&format!("cancelled-{c}-{i}-{p}")))
                        .build()
                        .expect("put");
                    TransactWriteItem::builder().put(put).build()
                });
                let check = ConditionCheck::builder()
                    .table_name(TABLE)
                    .key("PK", s("absent"))
                    .condition_expression("attribute_exists(PK)")
                    .build()
                    .expect("check");
                let mut items: Vec<_> = puts.collect();
                items.push(TransactWriteItem::builder().condition_check(check).build());
                let result = db
                    .transact_write_items()
                    .set_transact_items(Some(items))
                    .send()
                    .await;
                match result {
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_transaction_canceled_exception()) =>
                    {
                        done.cancelled += 1
                    }
                    Err(e) => done
                        .errors
                        .push(format!("TransactWriteItems {c}-{i}: {}", describe(&e))),
                    Ok(_) => done
                        .errors
                        .push(format!("TransactWriteItems {c}-{i}: committed")),
                }
            }
            done
        });
    }
    let mut all = Done::default();
    while let Some(done) = load.join_next().await {
        let done = done.expect("a load task");
        all.written.extend(done.written);
        all.cancelled += done.cancelled;
        all.errors.extend(done.errors);
    }

    let mut present = BTreeSet::new();
    let mut start = None;
    loop {
        let page = db
            .scan()
            .table_name(TABLE)
            .projection_expression("PK")
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            if let Some(AttributeValue::S(pk)) = item.get("PK") {
                present.insert(pk.clone());
            }
        }
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => break,
        }
    }
    let lost = all
        .written
        .iter()
        .filter(|pk| !present.contains(*pk))
        .cloned()
        .collect();
    let leaked = present
        .iter()
        .filter(|pk| pk.starts_with("cancelled-"))
        .cloned()
        .collect();
    Outcome {
        written: all.written.len(),
        lost,
        cancelled: all.cancelled,
        leaked,
        errors: all.errors,
    }
}
