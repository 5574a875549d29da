//! `VersionStore` over the table: a machine's versions in one partition (`VER#<arn>`, an item
//! `V#<number>` each), its aliases in another (`ALS#<arn>`, `A#<name>`), the record as JSON in
//! `rec`. A machine has at most 1,000 versions and 100 aliases: a listing is one query.

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
