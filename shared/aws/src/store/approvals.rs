//! `ApprovalStore` over the table: one item per approval (`AP#<id>`, `META`). The record as it
//! was created is kept whole in `rec`; the status (`st`) and the decision (`dat`, `apv`,
//! `cmt`) are attributes of their own, so that deciding is one conditional update on
//! `st = PENDING`: of two clicks, one wins. `ann` marks an approval whose request was
//! published to the approval topic.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{TimeZone, Utc};
use waymark_engine::approval::{ApprovalRecord, ApprovalStatus, ApprovalStore, Decision};
use waymark_engine::ports::StoreError;

use super::{get_i64, get_s, keys, keys_item, n, s, DynamoStore, Item};
use crate::error::{sdk_message, AwsError};
use crate::metrics::write_units;

const PENDING: &str = "PENDING";

impl DynamoStore {
    /// Stores a new approval. `Ok(true)`: it still has to be announced (it is new, or an
    /// earlier attempt stored it but did not get to announce it); `Ok(false)`: it was
    /// announced or decided already, and is left as it is.
    pub async fn record_approval(&self, rec: &ApprovalRecord) -> Result<bool, AwsError> {
        let now = Utc::now();
        let mut item = keys_item(&keys::approval_pk(&rec.id));
        let text = serde_json::to_string(rec).map_err(|e| AwsError::malformed("approval", e))?;
        item.insert("rec".into(), s(text));
        item.insert("st".into(), s(rec.status.as_str()));
        item.insert("arn".into(), s(rec.task.execution_arn.clone()));
        // Kept as long as the link works, and the retention period after that.
        let ttl = (rec.expires.max(now) + self.options.retention).timestamp();
        item.insert("ttl".into(), n(ttl));
        let units = write_units(super::item_size(&item));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR (#st = :pending AND attribute_not_exists(#ann))",
            )
            .expression_attribute_names("#st", "st")
            .expression_attribute_names("#ann", "ann")
            .expression_attribute_values(":pending", s(PENDING))
            .send()
            .await;
        self.metrics.add_write_units(units);
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(AwsError::dynamodb("PutItem", sdk_message(&e))),
        }
    }

    /// Whether the approval's request went out already (or it was decided: nothing to ask).
    pub async fn approval_announced_already(&self, id: &str) -> Result<bool, AwsError> {
        Ok(match self.get(keys_item(&keys::approval_pk(id))).await? {
            None => false,
            Some(item) => item.contains_key("ann") || get_s(&item, "st") != Some(PENDING),
        })
    }

    /// Marks an approval as announced, so that a later attempt does not announce it again.
    pub async fn approval_announced(&self, id: &str) -> Result<(), AwsError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys_item(&keys::approval_pk(id))))
            .update_expression("SET #ann = :t")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#ann", "ann")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        self.metrics.add_write_units(1.0);
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(AwsError::dynamodb("UpdateItem", sdk_message(&e))),
        }
    }
}

fn decode(item: &Item) -> Result<ApprovalRecord, AwsError> {
    let text = get_s(item, "rec").ok_or_else(|| AwsError::malformed("approval", "no record"))?;
    let mut rec: ApprovalRecord =
        serde_json::from_str(text).map_err(|e| AwsError::malformed("approval", e))?;
    rec.status = match get_s(item, "st") {
        Some("APPROVED") => ApprovalStatus::Approved,
        Some("REJECTED") => ApprovalStatus::Rejected,
        Some(PENDING) | None => ApprovalStatus::Pending,
        Some(other) => return Err(AwsError::malformed("approval status", other)),
    };
    if rec.status != ApprovalStatus::Pending {
        rec.decided_at = get_i64(item, "dat").and_then(|ms| Utc.timestamp_millis_opt(ms).single());
        rec.approver = get_s(item, "apv").map(str::to_string);
        rec.comment = get_s(item, "cmt").map(str::to_string);
    }
    Ok(rec)
}

impl ApprovalStore for DynamoStore {
    async fn put_approval(&self, rec: &ApprovalRecord) -> Result<(), StoreError> {
        self.record_approval(rec).await?;
        Ok(())
    }

    async fn get_approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        match self.get(keys_item(&keys::approval_pk(id))).await? {
            None => Ok(None),
            Some(item) => Ok(Some(decode(&item)?)),
        }
    }

    async fn decide_approval(&self, id: &str, d: &Decision) -> Result<bool, StoreError> {
        let status = if d.approved {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Rejected
        };
        let mut set = vec!["#st = :st", "#dat = :dat"];
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys_item(&keys::approval_pk(id))))
            .condition_expression("attribute_exists(PK) AND #st = :pending")
            .expression_attribute_names("#st", "st")
            .expression_attribute_names("#dat", "dat")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":st", s(status.as_str()))
            .expression_attribute_values(":dat", n(d.at.timestamp_millis()));
        if let Some(a) = &d.approver {
            set.push("#apv = :apv");
            req = req
                .expression_attribute_names("#apv", "apv")
                .expression_attribute_values(":apv", s(a.clone()));
        }
        if let Some(c) = &d.comment {
            set.push("#cmt = :cmt");
            req = req
                .expression_attribute_names("#cmt", "cmt")
                .expression_attribute_values(":cmt", s(c.clone()));
        }
        let bytes = 200
            + d.approver.as_ref().map_or(0, String::len)
            + d.comment.as_ref().map_or(0, String::len);
        let result = req
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await;
        self.metrics.add_write_units(write_units(bytes));
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(AwsError::dynamodb("UpdateItem", sdk_message(&e)).into()),
        }
    }
}
