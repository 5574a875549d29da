//! Activities: CreateActivity (idempotent by name), DescribeActivity, DeleteActivity,
//! ListActivities and GetActivityTask, the long poll a worker asks for work with.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use waymark_engine::activity::{Activity, ActivityStore};

use crate::backend::Backend;
use crate::error::ApiError;
use crate::names::{check_name, parse_arn, ArnResource};
use crate::ops::{respond, tags};
use crate::pages;
use crate::shapes::{self, check_len, page_size, required, Tag};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateActivityInput {
    pub name: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub encryption_configuration: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActivityArnInput {
    pub activity_arn: Option<String>,
    pub worker_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListActivitiesInput {
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// How often GetActivityTask looks at the queue while it waits.
const POLL_EVERY: Duration = Duration::from_millis(100);

fn activity_arn(arn: &str) -> Result<(), ApiError> {
    check_len("activityArn", arn, 1, 256)?;
    match parse_arn(arn)?.resource {
        ArnResource::Activity { .. } => Ok(()),
        other => Err(ApiError::invalid_arn(format!(
            "Resource type not valid in this context: {}",
            other.kind()
        ))),
    }
}

fn does_not_exist(arn: &str) -> ApiError {
    ApiError::ActivityDoesNotExist(format!("Activity Does Not Exist: '{arn}'"))
}

async fn must_exist<B: Backend + ?Sized>(b: &B, arn: &str) -> Result<Activity, ApiError> {
    b.activity_store()
        .activity(arn)
        .await?
        .ok_or_else(|| does_not_exist(arn))
}

pub async fn create<B: Backend + ?Sized>(
    b: &B,
    req: CreateActivityInput,
) -> Result<Value, ApiError> {
    let name = required("name", req.name)?;
    check_name(&name)?;
    let arn = b.config().activity_arn(&name);
    let new_tags = tags::check(&arn, req.tags.unwrap_or_default(), &[])?;
    let activity = Activity {
        arn: arn.clone(),
        name,
        created: b.now(),
    };
    let store = b.activity_store();
    let created = if store.create_activity(&activity).await? {
        if !new_tags.is_empty() {
            b.tag(&arn, &new_tags).await?;
        }
        activity.created
    } else {
        // CreateActivity is idempotent: the activity that exists is the answer.
        must_exist(b, &arn).await?.created
    };
    respond(&json!({"activityArn": arn, "creationDate": shapes::epoch(created)}))
}

pub async fn describe<B: Backend + ?Sized>(
    b: &B,
    req: ActivityArnInput,
) -> Result<Value, ApiError> {
    let arn = required("activityArn", req.activity_arn)?;
    activity_arn(&arn)?;
    let a = must_exist(b, &arn).await?;
    respond(&json!({
        "activityArn": a.arn,
        "name": a.name,
        "creationDate": shapes::epoch(a.created),
        "encryptionConfiguration": {"type": "AWS_OWNED_KEY"},
    }))
}

pub async fn delete<B: Backend + ?Sized>(b: &B, req: ActivityArnInput) -> Result<Value, ApiError> {
    let arn = required("activityArn", req.activity_arn)?;
    activity_arn(&arn)?;
    b.activity_store().delete_activity(&arn).await?;
    let keys: Vec<String> = b.tags(&arn).await?.into_iter().map(|(k, _)| k).collect();
    if !keys.is_empty() {
        b.untag(&arn, &keys).await?;
    }
    Ok(json!({}))
}

pub async fn list<B: Backend + ?Sized>(b: &B, req: ListActivitiesInput) -> Result<Value, ApiError> {
    let max = page_size(req.max_results, 1000, 100)?;
    const SCOPE: &str = "ListActivities";
    let token = pages::decode_opt(SCOPE, req.next_token.as_deref())?;
    let page = b
        .activity_store()
        .list_activities(max, token.as_deref())
        .await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|a| {
            json!({"activityArn": a.arn, "name": a.name, "creationDate": shapes::epoch(a.created)})
        })
        .collect();
    let mut out = json!({ "activities": items });
    if let Some(t) = page.next_token {
        out["nextToken"] = Value::String(pages::encode(SCOPE, &t));
    }
    Ok(out)
}

/// Waits up to the home's poll time for a task; answers `{}` when none came.
pub async fn get_task<B: Backend + ?Sized>(
    b: &B,
    req: ActivityArnInput,
) -> Result<Value, ApiError> {
    let arn = required("activityArn", req.activity_arn)?;
    activity_arn(&arn)?;
    if let Some(w) = &req.worker_name {
        check_len("workerName", w, 1, 80)?;
    }
    must_exist(b, &arn).await?;
    let deadline = Instant::now() + b.activity_poll();
    loop {
        if let Some(task) = b
            .take_activity_task(&arn, req.worker_name.as_deref())
            .await?
        {
            return respond(&json!({
                "taskToken": task.token,
                "input": task.input.to_string(),
            }));
        }
        if Instant::now() >= deadline {
            return Ok(json!({}));
        }
        tokio::time::sleep(POLL_EVERY.min(deadline - Instant::now())).await;
    }
}
