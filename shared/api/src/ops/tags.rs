//! TagResource, UntagResource and ListTagsForResource, on state machines and activities.

use serde_json::{json, Value};

use crate::backend::Backend;
use crate::error::ApiError;
use crate::names::{parse_arn, ArnResource};
use crate::ops::respond;
use crate::shapes::{check_len, required, Tag, TagResourceInput};

/// AWS's limit on tags per resource.
const MAX_TAGS: usize = 50;

fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// Checks tags against AWS's rules, and that with the `existing` keys there are no more than
/// 50; returns them as pairs.
pub(crate) fn check(
    arn: &str,
    tags: Vec<Tag>,
    existing: &[String],
) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::with_capacity(tags.len());
    for (i, tag) in tags.into_iter().enumerate() {
        let field = format!("tags.{}.member", i + 1);
        let key = required(&format!("{field}.key"), tag.key)?;
        let value = tag.value.unwrap_or_default();
        check_len(&format!("{field}.key"), &key, 1, 128)?;
        check_len(&format!("{field}.value"), &value, 0, 256)?;
        if !tag_chars_ok(&key) || !tag_chars_ok(&value) {
            return Err(ApiError::ValidationException(format!(
                "Tags may only contain Unicode letters, digits, white space, or these symbols: _ . : / = + - @ (tag '{key}')"
            )));
        }
        out.push((key, value));
    }
    let mut keys: Vec<&String> = existing.iter().chain(out.iter().map(|(k, _)| k)).collect();
    keys.sort();
    keys.dedup();
    if keys.len() > MAX_TAGS {
        return Err(ApiError::TooManyTags {
            message: format!("Too many tags: a resource can have at most {MAX_TAGS} tags"),
            resource_name: arn.to_string(),
        });
    }
    Ok(out)
}

/// The ARN of a taggable resource that exists.
async fn resource<B: Backend + ?Sized>(b: &B, arn: Option<String>) -> Result<String, ApiError> {
    let arn = required("resourceArn", arn)?;
    check_len("resourceArn", &arn, 1, 256)?;
    match parse_arn(&arn)?.resource {
        ArnResource::StateMachine {
            qualifier: None, ..
        } => {}
        ArnResource::Activity { .. } => {
            use waymark_engine::activity::ActivityStore;
            if b.activity_store().activity(&arn).await?.is_none() {
                return Err(ApiError::resource_not_found(&arn));
            }
            return Ok(arn);
        }
        ArnResource::Execution { .. } | ArnResource::Express { .. } => {
            return Err(ApiError::invalid_arn(
                "Resource type not valid in this context: execution",
            ))
        }
        _ => return Err(ApiError::resource_not_found(&arn)),
    }
    if b.state_machine(&arn).await?.is_none() {
        return Err(ApiError::resource_not_found(&arn));
    }
    Ok(arn)
}

pub async fn tag_resource<B: Backend + ?Sized>(
    b: &B,
    req: TagResourceInput,
) -> Result<Value, ApiError> {
    let tags = required("tags", req.tags)?;
    let arn = resource(b, req.resource_arn).await?;
    let existing: Vec<String> = b.tags(&arn).await?.into_iter().map(|(k, _)| k).collect();
    let tags = check(&arn, tags, &existing)?;
    b.tag(&arn, &tags).await?;
    Ok(json!({}))
}

pub async fn untag_resource<B: Backend + ?Sized>(
    b: &B,
    req: TagResourceInput,
) -> Result<Value, ApiError> {
    let keys = required("tagKeys", req.tag_keys)?;
    for (i, k) in keys.iter().enumerate() {
        check_len(&format!("tagKeys.{}.member", i + 1), k, 1, 128)?;
    }
    let arn = resource(b, req.resource_arn).await?;
    b.untag(&arn, &keys).await?;
    Ok(json!({}))
}

pub async fn list_tags<B: Backend + ?Sized>(
    b: &B,
    req: TagResourceInput,
) -> Result<Value, ApiError> {
    let arn = resource(b, req.resource_arn).await?;
    let tags: Vec<Tag> = b
        .tags(&arn)
        .await?
        .into_iter()
        .map(|(key, value)| Tag {
            key: Some(key),
            value: Some(value),
        })
        .collect();
    respond(&json!({ "tags": tags }))
}
