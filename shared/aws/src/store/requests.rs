//! The DynamoDB requests the store makes, each recording the capacity it consumes in the
//! home's metrics, and the SDK's errors reduced to what the store acts on: a condition that
//! failed (someone else wrote first) or anything else.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, ConsumedCapacity, Delete, DeleteRequest, Put, PutRequest,
    ReturnConsumedCapacity, TransactWriteItem, WriteRequest,
};

use super::{get_s, item_size, Item};
use crate::error::{sdk_message, AwsError};
use crate::metrics::{read_units, write_units};

/// Why a conditional write did not happen.
#[derive(Debug)]
pub enum WriteError {
    /// A condition failed, or another transaction held one of the items.
    Condition,
    Other(AwsError),
}

impl From<AwsError> for WriteError {
    fn from(e: AwsError) -> Self {
        WriteError::Other(e)
    }
}

/// One write of a transaction, with the bytes it carries (for the 4 MB limit and the units).
pub struct TxWrite {
    pub write: TransactWriteItem,
    pub bytes: usize,
}

/// A key condition on `PK` and on `SK`.
pub enum SkRange<'a> {
    /// `SK >= from`.
    From(&'a str),
    /// `SK BETWEEN low AND high`.
    Between(&'a str, &'a str),
    BeginsWith(&'a str),
}

pub struct QueryArgs<'a> {
    pub pk: &'a str,
    pub sk: SkRange<'a>,
    pub forward: bool,
    /// Stop after this many items (across pages).
    pub limit: Option<usize>,
    pub consistent: bool,
}

impl super::DynamoStore {
    pub(crate) fn tx_put(&self, item: Item) -> Result<TxWrite, AwsError> {
        let bytes = item_size(&item);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| AwsError::dynamodb("TransactWriteItems", e))?;
        Ok(TxWrite {
            write: TransactWriteItem::builder().put(put).build(),
            bytes,
        })
    }

    pub(crate) fn tx_delete(&self, key: Item) -> Result<TxWrite, AwsError> {
        let bytes = item_size(&key);
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .map_err(|e| AwsError::dynamodb("TransactWriteItems", e))?;
        Ok(TxWrite {
            write: TransactWriteItem::builder().delete(delete).build(),
            bytes,
        })
    }

    /// A check that the execution's write lock is still `nonce`'s.
    pub(crate) fn tx_lock_check(&self, pk: &str, nonce: &str) -> Result<TxWrite, AwsError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(super::key(pk, super::keys::META)))
            .condition_expression("#lk = :nonce")
            .expression_attribute_names("#lk", "lk")
            .expression_attribute_values(":nonce", AttributeValue::S(nonce.to_string()))
            .build()
            .map_err(|e| AwsError::dynamodb("TransactWriteItems", e))?;
        Ok(TxWrite {
            write: TransactWriteItem::builder().condition_check(check).build(),
            bytes: 100,
        })
    }

    /// TransactWriteItems: all of `writes` or none.
    pub(crate) async fn transact(&self, writes: Vec<TxWrite>) -> Result<(), WriteError> {
        let units: f64 = writes.iter().map(|w| 2.0 * write_units(w.bytes)).sum();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes.into_iter().map(|w| w.write).collect()))
            .send()
            .await;
        self.metrics.add_write_units(units);
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let reasons: Vec<&str> = c
                        .cancellation_reasons()
                        .iter()
                        .filter_map(|r| r.code())
                        .collect();
                    if reasons
                        .iter()
                        .any(|r| *r == "ConditionalCheckFailed" || *r == "TransactionConflict")
                    {
                        Err(WriteError::Condition)
                    } else {
                        Err(WriteError::Other(AwsError::dynamodb(
                            "TransactWriteItems",
                            format!("{} ({})", sdk_message(&e), reasons.join(", ")),
                        )))
                    }
                }
                _ => Err(WriteError::Other(AwsError::dynamodb(
                    "TransactWriteItems",
                    sdk_message(&e),
                ))),
            },
        }
    }

    /// GetItem, strongly consistent.
    pub(crate) async fn get(&self, key: Item) -> Result<Option<Item>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::dynamodb("GetItem", sdk_message(&e)))?;
        let item = out.item;
        self.metrics
            .add_read_units(read_units(item.as_ref().map_or(0, item_size)));
        Ok(item)
    }

    /// PutItem, optionally only if no item has the key yet. `Ok(false)`: it had.
    pub(crate) async fn put(&self, item: Item, if_absent: bool) -> Result<bool, AwsError> {
        let units = write_units(item_size(&item));
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        if if_absent {
            req = req.condition_expression("attribute_not_exists(PK)");
        }
        let result = req.send().await;
        self.metrics.add_write_units(units);
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(AwsError::dynamodb("PutItem", sdk_message(&e))),
        }
    }

    /// DeleteItem, returning what was deleted.
    pub(crate) async fn take(&self, key: Item) -> Result<Option<Item>, AwsError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| AwsError::dynamodb("DeleteItem", sdk_message(&e)))?;
        let old = out.attributes;
        self.metrics
            .add_write_units(write_units(old.as_ref().map_or(0, item_size)));
        Ok(old)
    }

    /// Writes items that no condition guards: one PutItem, or BatchWriteItem for several.
    pub(crate) async fn put_many(&self, items: Vec<Item>) -> Result<(), AwsError> {
        if items.len() <= 1 {
            for item in items {
                self.put(item, false).await?;
            }
            return Ok(());
        }
        let mut requests = Vec::with_capacity(items.len());
        for item in items {
            let p = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| AwsError::dynamodb("BatchWriteItem", e))?;
            requests.push(WriteRequest::builder().put_request(p).build());
        }
        self.batch_write(requests).await
    }

    /// Deletes items by key.
    pub(crate) async fn delete_many(&self, keys: Vec<Item>) -> Result<(), AwsError> {
        let mut requests = Vec::with_capacity(keys.len());
        for k in keys {
            let d = DeleteRequest::builder()
                .set_key(Some(k))
                .build()
                .map_err(|e| AwsError::dynamodb("BatchWriteItem", e))?;
            requests.push(WriteRequest::builder().delete_request(d).build());
        }
        self.batch_write(requests).await
    }

    /// BatchWriteItem, 25 requests at a time, retrying what DynamoDB leaves unprocessed a few
    /// times with back-off; an error if some are still left.
    async fn batch_write(&self, all: Vec<WriteRequest>) -> Result<(), AwsError> {
        for chunk in all.chunks(25) {
            let mut requests = chunk.to_vec();
            for attempt in 0..5 {
                // A put is billed for its item; a delete, at least one unit.
                let units = requests
                    .iter()
                    .map(|r| {
                        r.put_request
                            .as_ref()
                            .map_or(1.0, |p| write_units(item_size(&p.item)))
                    })
                    .sum();
                self.metrics.add_write_units(units);
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests.clone())
                    .send()
                    .await
                    .map_err(|e| AwsError::dynamodb("BatchWriteItem", sdk_message(&e)))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            if !requests.is_empty() {
                return Err(AwsError::dynamodb(
                    "BatchWriteItem",
                    format!("{} requests left unprocessed", requests.len()),
                ));
            }
        }
        Ok(())
    }

    /// GetItem, strongly consistent, returning only `attrs` of the item. DynamoDB bills the
    /// whole item all the same (the units counted are those it reports, when it does).
    pub(crate) async fn get_attrs(
        &self,
        key: Item,
        attrs: &[&str],
    ) -> Result<Option<Item>, AwsError> {
        let (projection, names) = projection(attrs);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .projection_expression(projection)
            .set_expression_attribute_names(Some(names))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| AwsError::dynamodb("GetItem", sdk_message(&e)))?;
        let returned = read_units(out.item.as_ref().map_or(0, item_size));
        self.metrics
            .add_read_units(consumed(out.consumed_capacity.as_ref()).unwrap_or(returned));
        Ok(out.item)
    }

    /// Query over one partition, every page (or up to `limit` items).
    pub(crate) async fn query(&self, args: QueryArgs<'_>) -> Result<Vec<Item>, AwsError> {
        self.query_with(args, None).await
    }

    /// [`Self::query`] returning only `attrs` of each item. DynamoDB still reads (and bills,
    /// and pages by 1 MB of) the whole items: what this saves is what crosses the network and
    /// is decoded. The units counted are those DynamoDB reports, when it does.
    pub(crate) async fn query_attrs(
        &self,
        args: QueryArgs<'_>,
        attrs: &[&str],
    ) -> Result<Vec<Item>, AwsError> {
        self.query_with(args, Some(attrs)).await
    }

    async fn query_with(
        &self,
        args: QueryArgs<'_>,
        attrs: Option<&[&str]>,
    ) -> Result<Vec<Item>, AwsError> {
        let mut out: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(args.consistent)
                .scan_index_forward(args.forward)
                .expression_attribute_values(":pk", AttributeValue::S(args.pk.to_string()))
                .set_exclusive_start_key(start.take());
            req = match args.sk {
                SkRange::From(from) => req
                    .key_condition_expression("PK = :pk AND SK >= :a")
                    .expression_attribute_values(":a", AttributeValue::S(from.to_string())),
                SkRange::Between(a, b) => req
                    .key_condition_expression("PK = :pk AND SK BETWEEN :a AND :b")
                    .expression_attribute_values(":a", AttributeValue::S(a.to_string()))
                    .expression_attribute_values(":b", AttributeValue::S(b.to_string())),
                SkRange::BeginsWith(p) => req
                    .key_condition_expression("PK = :pk AND begins_with(SK, :a)")
                    .expression_attribute_values(":a", AttributeValue::S(p.to_string())),
            };
            if let Some(limit) = args.limit {
                req = req.limit((limit - out.len()).min(1000) as i32);
            }
            if let Some(attrs) = attrs {
                let (projection, names) = projection(attrs);
                for (k, v) in names {
                    req = req.expression_attribute_names(k, v);
                }
                req = req
                    .projection_expression(projection)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total);
            }
            let page = req
                .send()
                .await
                .map_err(|e| AwsError::dynamodb("Query", sdk_message(&e)))?;
            let items = page.items.unwrap_or_default();
            let bytes: usize = items.iter().map(item_size).sum();
            let units = read_units(bytes);
            let units = if args.consistent { units } else { units / 2.0 };
            self.metrics
                .add_read_units(consumed(page.consumed_capacity.as_ref()).unwrap_or(units));
            out.extend(items);
            match page.last_evaluated_key {
                Some(k) if args.limit.is_none_or(|l| out.len() < l) => start = Some(k),
                _ => break,
            }
        }
        Ok(out)
    }

    /// The SK of an item this store wrote.
    pub(crate) fn sk_of(item: &Item) -> &str {
        get_s(item, "SK").unwrap_or("")
    }
}

/// A ProjectionExpression of `attrs`, each through a name placeholder (some short names,
/// such as `n`, could be reserved words).
fn projection(attrs: &[&str]) -> (String, HashMap<String, String>) {
    let names: HashMap<String, String> = attrs
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("#p{i}"), a.to_string()))
        .collect();
    let expr = (0..attrs.len())
        .map(|i| format!("#p{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    (expr, names)
}

/// The read units DynamoDB says a request consumed, when it says.
fn consumed(c: Option<&ConsumedCapacity>) -> Option<f64> {
    c.and_then(ConsumedCapacity::capacity_units)
        .filter(|u| *u > 0.0)
}
