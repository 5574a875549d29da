//! `VersionStore` and `ActivityStore` over the table: a machine's versions in one partition
//! (`VER#<arn>`, an item `V#<number>` each), its aliases in another (`ALS#<arn>`, `A#<name>`),
//! the record as JSON in `rec` (a machine has at most 1,000 versions and 100 aliases: a listing
//! is one query); activities in `ACTIVITIES`, each one's queue of tasks in `ACTQ#<arn>`
//! (oldest first by SK), with an `ACTK#` marker per task so that it is queued once.

use waymark_engine::ports::StoreError;
use waymark_engine::versions::{Alias, Version, VersionStore};

use super::requests::{QueryArgs, SkRange};
use super::{get_s, key, s, DynamoStore, Item};
use crate::error::{sdk_message, AwsError};
use crate::metrics::write_units;

fn versions_pk(machine_arn: &str) -> String {
    format!("VER#{machine_arn}")
}

fn version_sk(number: u64) -> String {
    format!("V#{number:010}")
}

fn aliases_pk(machine_arn: &str) -> String {
    format!("ALS#{machine_arn}")
}

fn alias_sk(name: &str) -> String {
    format!("A#{name}")
}

fn record<T: serde::Serialize>(pk: String, sk: String, v: &T) -> Result<Item, AwsError> {
    let mut item = key(pk, sk);
    let text = serde_json::to_string(v).map_err(|e| AwsError::malformed("version", e))?;
    item.insert("rec".into(), s(text));
    Ok(item)
}

fn decode<T: serde::de::DeserializeOwned>(items: Vec<Item>) -> Result<Vec<T>, StoreError> {
    items
        .iter()
        .map(|i| {
            let text = get_s(i, "rec").ok_or_else(|| AwsError::malformed("version", "no rec"))?;
            serde_json::from_str(text).map_err(|e| AwsError::malformed("version", e).into())
        })
        .collect()
}

impl DynamoStore {
    async fn all(&self, pk: &str, prefix: &str, forward: bool) -> Result<Vec<Item>, AwsError> {
        self.query(QueryArgs {
            pk,
            sk: SkRange::BeginsWith(prefix),
            forward,
            limit: None,
            consistent: true,
        })
        .await
    }

    /// PutItem that must (or must not) replace an item.
    async fn put_if(&self, item: Item, exists: bool) -> Result<bool, AwsError> {
        let units = write_units(super::item_size(&item));
        let condition = if exists {
            "attribute_exists(PK)"
        } else {
            "attribute_not_exists(PK)"
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .send()
            .await;
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
}

impl VersionStore for DynamoStore {
    async fn put_version(&self, v: &Version) -> Result<(), StoreError> {
        let item = record(versions_pk(&v.machine_arn), version_sk(v.number), v)?;
        if !self.put_if(item, false).await? {
            return Err(StoreError::AlreadyExists(v.arn()));
        }
        Ok(())
    }

    async fn versions(&self, machine_arn: &str) -> Result<Vec<Version>, StoreError> {
        decode(self.all(&versions_pk(machine_arn), "V#", false).await?)
    }

    async fn delete_version(&self, machine_arn: &str, number: u64) -> Result<(), StoreError> {
        let k = key(versions_pk(machine_arn), version_sk(number));
        let Some(item) = self.get(k).await? else {
            return Ok(());
        };
        let mut v: Version = decode(vec![item])?.remove(0);
        v.deleted = true;
        let item = record(versions_pk(machine_arn), version_sk(number), &v)?;
        self.put(item, false).await?;
        Ok(())
    }

    async fn put_alias(&self, a: &Alias, create: bool) -> Result<(), StoreError> {
        let item = record(aliases_pk(&a.machine_arn), alias_sk(&a.name), a)?;
        match (self.put_if(item, !create).await?, create) {
            (true, _) => Ok(()),
            (false, true) => Err(StoreError::AlreadyExists(a.arn())),
            (false, false) => Err(StoreError::NotFound(a.arn())),
        }
    }

    async fn aliases(&self, machine_arn: &str) -> Result<Vec<Alias>, StoreError> {
        decode(self.all(&aliases_pk(machine_arn), "A#", true).await?)
    }

    async fn delete_alias(&self, machine_arn: &str, name: &str) -> Result<(), StoreError> {
        self.take(key(aliases_pk(machine_arn), alias_sk(name)))
            .await?;
        Ok(())
    }
}

/// Every activity of the home, in one partition ordered by ARN (the same region and account
/// for all, so by name).
const ACTIVITIES_PK: &str = "ACTIVITIES";

fn activity_sk(arn: &str) -> String {
    format!("A#{arn}")
}

fn queue_pk(activity_arn: &str) -> String {
    format!("ACTQ#{activity_arn}")
}

/// The marker that makes queuing a task once per task, whatever the dispatch redelivers.
fn queued_marker_pk(key: &str) -> String {
    format!("ACTK#{}", super::keys::sha256_hex(key))
}

impl waymark_engine::activity::ActivityStore for DynamoStore {
    async fn create_activity(
        &self,
        a: &waymark_engine::activity::Activity,
    ) -> Result<bool, StoreError> {
        let item = record(ACTIVITIES_PK.into(), activity_sk(&a.arn), a)?;
        Ok(self.put_if(item, false).await?)
    }

    async fn activity(
        &self,
        arn: &str,
    ) -> Result<Option<waymark_engine::activity::Activity>, StoreError> {
        match self.get(key(ACTIVITIES_PK, activity_sk(arn))).await? {
            None => Ok(None),
            Some(item) => Ok(decode(vec![item])?.pop()),
        }
    }

    async fn delete_activity(&self, arn: &str) -> Result<(), StoreError> {
        self.take(key(ACTIVITIES_PK, activity_sk(arn))).await?;
        let queued = self.all(&queue_pk(arn), "Q#", true).await?;
        let keys: Vec<Item> = queued
            .iter()
            .map(|i| key(queue_pk(arn), Self::sk_of(i).to_string()))
            .collect();
        self.delete_many(keys).await?;
        Ok(())
    }

    async fn list_activities(
        &self,
        max: usize,
        next_token: Option<&str>,
    ) -> Result<waymark_engine::ports::Page<waymark_engine::activity::Activity>, StoreError> {
        let from = activity_sk(next_token.unwrap_or(""));
        let mut items = self
            .query(QueryArgs {
                pk: ACTIVITIES_PK,
                sk: SkRange::From(&from),
                forward: true,
                limit: Some(max + 2),
                consistent: true,
            })
            .await?;
        if next_token.is_some() && items.first().is_some_and(|i| Self::sk_of(i) == from) {
            items.remove(0);
        }
        let mut all: Vec<waymark_engine::activity::Activity> = decode(items)?;
        let next_token = if all.len() > max {
            all.truncate(max);
            all.last().map(|a| a.arn.clone())
        } else {
            None
        };
        Ok(waymark_engine::ports::Page {
            items: all,
            next_token,
        })
    }

    async fn queue_activity_task(
        &self,
        t: &waymark_engine::activity::ActivityTask,
    ) -> Result<(), StoreError> {
        let mut marker = key(queued_marker_pk(&t.key()), super::keys::META);
        marker.insert("ttl".into(), super::n(self.item_expiry(t.queued)));
        if !self.put_if(marker, false).await? {
            return Ok(()); // queued before
        }
        let sk = format!("Q#{:015}#{}", t.queued.timestamp_millis(), t.key());
        let item = record(queue_pk(&t.activity_arn), sk, t)?;
        self.put(item, false).await?;
        Ok(())
    }

    async fn take_activity_task(
        &self,
        activity_arn: &str,
    ) -> Result<Option<waymark_engine::activity::ActivityTask>, StoreError> {
        let pk = queue_pk(activity_arn);
        loop {
            let first = self
                .query(QueryArgs {
                    pk: &pk,
                    sk: SkRange::BeginsWith("Q#"),
                    forward: true,
                    limit: Some(1),
                    consistent: true,
                })
                .await?;
            let Some(item) = first.into_iter().next() else {
                return Ok(None);
            };
            // Whoever deletes it has it; another worker's delete finds nothing.
            if let Some(taken) = self
                .take(key(pk.clone(), Self::sk_of(&item).to_string()))
                .await?
            {
                return Ok(decode(vec![taken])?.pop());
            }
        }
    }
}
