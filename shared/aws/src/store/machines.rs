//! `StateMachineStore` and `TagStore` over the table. A state machine's META item holds its
//! latest revision; every revision also has a `REV#` item, which executions read (through a
//! cache: a revision never changes) for as long as they run.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use waymark_asl::parse::{parse_text, MachineType, ParseOptions};
use waymark_engine::ports::{
    Page, StateMachine, StateMachineStore, StateMachineSummary, StoreError, TagStore,
};

use super::dynamo::{decode_key, encode_page_key, BY_MACHINE_INDEX};
use super::requests::{TxWrite, WriteError};
use super::{get_n, get_s, key, keys, lock, n, s, DynamoStore, Item};
use crate::error::{sdk_message, AwsError};
use crate::metrics::read_units;

/// Definitions are text in one item: DynamoDB's limit, less room for the rest.
const MAX_DEFINITION_BYTES: usize = 350_000;

/// A state machine as its items hold it.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    arn: String,
    name: String,
    definition: String,
    #[serde(rename = "type")]
    machine_type: String,
    role_arn: String,
    revision: u64,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
}

impl Stored {
    fn of(sm: &StateMachine) -> Result<String, StoreError> {
        if sm.definition_text.len() > MAX_DEFINITION_BYTES {
            return Err(StoreError::permanent("DynamoDB", format!(
                "the definition of {} is {} bytes; this store keeps definitions up to {MAX_DEFINITION_BYTES}",
                sm.arn,
                sm.definition_text.len()
            )));
        }
        let stored = Stored {
            arn: sm.arn.clone(),
            name: sm.name.clone(),
            definition: sm.definition_text.clone(),
            machine_type: sm.machine_type.as_str().to_string(),
            role_arn: sm.role_arn.clone(),
            revision: sm.revision,
            created: sm.created,
            updated: sm.updated,
        };
        Ok(super::layout::to_json(&stored)?)
    }
}

/// What ListStateMachines shows, kept beside the definition in the META item as `sum`, which
/// the `byMachine` index projects: a listing is one Query over the index and never reads a
/// definition.
#[derive(Debug, Serialize, Deserialize)]
struct Summary {
    arn: String,
    name: String,
    #[serde(rename = "type")]
    machine_type: String,
    created: DateTime<Utc>,
}

impl Summary {
    fn of(sm: &StateMachine) -> Result<String, StoreError> {
        Ok(super::layout::to_json(&Summary {
            arn: sm.arn.clone(),
            name: sm.name.clone(),
            machine_type: sm.machine_type.as_str().to_string(),
            created: sm.created,
        })?)
    }

    fn read(text: &str) -> Result<StateMachineSummary, StoreError> {
        let s: Summary = serde_json::from_str(text)
            .map_err(|e| AwsError::malformed("state machine summary", e))?;
        Ok(StateMachineSummary {
            arn: s.arn,
            name: s.name,
            machine_type: s
                .machine_type
                .parse()
                .map_err(|e| AwsError::malformed("state machine type", e))?,
            created: s.created,
        })
    }
}

/// The name in `arn:aws:states:<region>:<account>:stateMachine:<name>[:<qualifier>]`.
fn machine_name(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.nth(5)? == "stateMachine").then_some(())?;
    parts.next()
}

impl DynamoStore {
    /// Rebuilds a state machine from its stored text, parsing each revision once.
    fn machine(&self, text: &str) -> Result<StateMachine, StoreError> {
        let stored: Stored =
            serde_json::from_str(text).map_err(|e| AwsError::malformed("state machine", e))?;
        let cache_key = (stored.arn.clone(), stored.revision);
        if let Some(sm) = lock(&self.parsed).get(&cache_key) {
            return Ok(sm.clone());
        }
        let machine_type: MachineType = stored
            .machine_type
            .parse()
            .map_err(|e| AwsError::malformed("state machine type", e))?;
        let parsed =
            parse_text(&stored.definition, &ParseOptions { machine_type }).map_err(|d| {
                StoreError::permanent(
                    "DynamoDB",
                    format!(
                        "the stored definition of {} no longer parses: {}",
                        stored.arn,
                        d.first().map(|d| d.to_string()).unwrap_or_default()
                    ),
                )
            })?;
        let sm = StateMachine {
            arn: stored.arn,
            name: stored.name,
            definition_text: stored.definition,
            definition: Arc::new(parsed.definition),
            machine_type,
            role_arn: stored.role_arn,
            revision: stored.revision,
            created: stored.created,
            updated: stored.updated,
            started_as: None,
        };
        lock(&self.parsed).insert(cache_key, sm.clone());
        Ok(sm)
    }

    fn machine_items(&self, sm: &StateMachine) -> Result<(Item, Item), StoreError> {
        let text = Stored::of(sm)?;
        let pk = keys::state_machine_pk(&sm.name);
        let mut meta = key(&pk, keys::META);
        meta.insert("arn".into(), s(sm.arn.clone()));
        meta.insert("rev".into(), n(sm.revision));
        meta.insert("sm".into(), s(text.clone()));
        meta.insert("GPK".into(), s(keys::MACHINES_PARTITION));
        meta.insert("GSK".into(), s(sm.name.clone()));
        meta.insert("sum".into(), s(Summary::of(sm)?));
        let mut rev = key(&pk, keys::revision_sk(sm.revision));
        rev.insert("sm".into(), s(text));
        Ok((meta, rev))
    }

    async fn machine_tx(&self, writes: Vec<TxWrite>, arn: &str) -> Result<bool, StoreError> {
        match self.transact(writes).await {
            Ok(()) => Ok(true),
            Err(WriteError::Condition) => Ok(false),
            Err(WriteError::Other(e)) => Err(StoreError::permanent(
                "DynamoDB",
                format!("state machine {arn}: {e}"),
            )),
        }
    }

    fn conditional_put(&self, item: Item, condition: &str) -> Result<TxWrite, StoreError> {
        let bytes = super::item_size(&item);
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(|e| AwsError::dynamodb("TransactWriteItems", e))?;
        Ok(TxWrite {
            write: aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(put)
                .build(),
            bytes,
        })
    }
}

impl StateMachineStore for DynamoStore {
    async fn create_state_machine(&self, sm: &StateMachine) -> Result<(), StoreError> {
        let (meta, rev) = self.machine_items(sm)?;
        // A deleted machine's META item stays (marked) so that its running executions keep
        // their revisions; a new machine of the same name replaces it.
        let writes = vec![
            self.conditional_put(meta, "attribute_not_exists(PK) OR attribute_exists(del)")?,
            self.tx_put(rev)?,
        ];
        match self.machine_tx(writes, &sm.arn).await? {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists(sm.arn.clone())),
        }
    }

    async fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachine>, StoreError> {
        let Some(name) = machine_name(arn) else {
            return Ok(None);
        };
        let Some(item) = self
            .get(key(keys::state_machine_pk(name), keys::META))
            .await?
        else {
            return Ok(None);
        };
        if item.contains_key("del") || get_s(&item, "arn") != Some(arn) {
            return Ok(None);
        }
        let text = get_s(&item, "sm")
            .ok_or_else(|| AwsError::malformed("state machine item", "no definition"))?;
        self.machine(text).map(Some)
    }

    async fn get_state_machine_revision(
        &self,
        arn: &str,
        revision: u64,
    ) -> Result<Option<StateMachine>, StoreError> {
        if let Some(sm) = lock(&self.parsed).get(&(arn.to_string(), revision)) {
            return Ok(Some(sm.clone()));
        }
        let Some(name) = machine_name(arn) else {
            return Ok(None);
        };
        let Some(item) = self
            .get(key(
                keys::state_machine_pk(name),
                keys::revision_sk(revision),
            ))
            .await?
        else {
            return Ok(None);
        };
        let text = get_s(&item, "sm")
            .ok_or_else(|| AwsError::malformed("state machine revision", "no definition"))?;
        let sm = self.machine(text)?;
        Ok((sm.arn == arn).then_some(sm))
    }

    async fn update_state_machine(&self, sm: &StateMachine) -> Result<(), StoreError> {
        let (meta, rev) = self.machine_items(sm)?;
        let mut values = std::collections::HashMap::new();
        values.insert(":prev".to_string(), n(sm.revision.saturating_sub(1)));
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(meta.clone()))
            .condition_expression("rev = :prev AND attribute_not_exists(del)")
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| AwsError::dynamodb("TransactWriteItems", e))?;
        let writes = vec![
            TxWrite {
                write: aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .put(put)
                    .build(),
                bytes: super::item_size(&meta),
            },
            self.tx_put(rev)?,
        ];
        if self.machine_tx(writes, &sm.arn).await? {
            return Ok(());
        }
        match self.get_state_machine(&sm.arn).await? {
            None => Err(StoreError::NotFound(sm.arn.clone())),
            Some(_) => Err(StoreError::Conflict(sm.arn.clone())),
        }
    }

    async fn delete_state_machine(&self, arn: &str) -> Result<(), StoreError> {
        let name = machine_name(arn).ok_or_else(|| StoreError::NotFound(arn.to_string()))?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::state_machine_pk(name), keys::META)))
            .update_expression("SET del = :t REMOVE GPK, GSK")
            .condition_expression("arn = :arn AND attribute_not_exists(del)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":arn", s(arn))
            .send()
            .await;
        self.metrics.add_write_units(2.0);
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::NotFound(arn.to_string()))
            }
            Err(e) => Err(AwsError::dynamodb("UpdateItem", sdk_message(&e)).into()),
        }
    }

    /// One Query over the index, whose `sum` says all a listing shows. Machines written before
    /// summaries were kept are read from their META item, definition and all, once each.
    async fn list_state_machines(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<Page<StateMachineSummary>, StoreError> {
        let start = next_token
            .map(|t| decode_key(t, &["PK", "SK", "GPK", "GSK"]))
            .transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_MACHINE_INDEX)
            .key_condition_expression("GPK = :p")
            .expression_attribute_values(":p", s(keys::MACHINES_PARTITION))
            .limit(max.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| AwsError::dynamodb("Query", sdk_message(&e)))?;
        let page = out.items.unwrap_or_default();
        self.metrics
            .add_read_units(read_units(page.iter().map(super::item_size).sum()) / 2.0);
        let mut items = Vec::with_capacity(page.len());
        for item in page {
            if let Some(sum) = get_s(&item, "sum") {
                items.push(Summary::read(sum)?);
                continue;
            }
            let Some(name) = get_s(&item, "GSK") else {
                continue;
            };
            let Some(meta) = self
                .get(key(keys::state_machine_pk(name), keys::META))
                .await?
            else {
                continue;
            };
            if meta.contains_key("del") {
                continue;
            }
            if let Some(text) = get_s(&meta, "sm") {
                let stored: Stored = serde_json::from_str(text)
                    .map_err(|e| AwsError::malformed("state machine", e))?;
                items.push(StateMachineSummary {
                    arn: stored.arn,
                    name: stored.name,
                    machine_type: stored
                        .machine_type
                        .parse()
                        .map_err(|e| AwsError::malformed("state machine type", e))?,
                    created: stored.created,
                });
            }
        }
        Ok(Page {
            items,
            next_token: out.last_evaluated_key.as_ref().map(encode_page_key),
        })
    }
}

impl DynamoStore {
    /// Tags as stored, with the change counter their conditional writes check.
    async fn stored_tags(&self, arn: &str) -> Result<(BTreeMap<String, String>, u64), StoreError> {
        let Some(item) = self.get(key(keys::tags_pk(arn), keys::META)).await? else {
            return Ok((BTreeMap::new(), 0));
        };
        let tags = match item.get("t") {
            Some(AttributeValue::M(m)) => m
                .iter()
                .filter_map(|(k, v)| match v {
                    AttributeValue::S(v) => Some((k.clone(), v.clone())),
                    _ => None,
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        Ok((tags, get_n(&item, "c").unwrap_or(0)))
    }

    /// Read, change, write back if nobody else wrote in between (a few tries).
    async fn change_tags(
        &self,
        arn: &str,
        change: impl Fn(&mut BTreeMap<String, String>),
    ) -> Result<(), StoreError> {
        for _ in 0..5 {
            let (mut tags, counter) = self.stored_tags(arn).await?;
            change(&mut tags);
            let mut item = key(keys::tags_pk(arn), keys::META);
            item.insert(
                "t".into(),
                AttributeValue::M(tags.into_iter().map(|(k, v)| (k, s(v))).collect()),
            );
            item.insert("c".into(), n(counter + 1));
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK) OR c = :c")
                .expression_attribute_values(":c", n(counter))
                .send()
                .await;
            self.metrics.add_write_units(1.0);
            match result {
                Ok(_) => return Ok(()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    continue
                }
                Err(e) => return Err(AwsError::dynamodb("PutItem", sdk_message(&e)).into()),
            }
        }
        Err(StoreError::Conflict(arn.to_string()))
    }
}

impl TagStore for DynamoStore {
    async fn tags(&self, arn: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self.stored_tags(arn).await?.0.into_iter().collect())
    }

    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), StoreError> {
        self.change_tags(arn, |t| {
            for (k, v) in tags {
                t.insert(k.clone(), v.clone());
            }
        })
        .await
    }

    async fn untag(&self, arn: &str, keys: &[String]) -> Result<(), StoreError> {
        self.change_tags(arn, |t| {
            for k in keys {
                t.remove(k);
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::machine_name;

    #[test]
    fn names_come_from_state_machine_arns_only() {
        assert_eq!(
            machine_name("arn:aws:states:us-east-1:1:stateMachine:flow"),
            Some("flow")
        );
        assert_eq!(
            machine_name("arn:aws:states:us-east-1:1:stateMachine:flow:3"),
            Some("flow")
        );
        assert_eq!(
            machine_name("arn:aws:states:us-east-1:1:execution:flow:x"),
            None
        );
        assert_eq!(machine_name("nonsense"), None);
    }
}
