//! State machine versions: PublishStateMachineVersion, ListStateMachineVersions,
//! DeleteStateMachineVersion, publishing on Create/UpdateStateMachine, and qualified ARNs
//! (`…:stateMachine:NAME:3`, `…:stateMachine:NAME:ALIAS`) turned into the revision an
//! execution runs.

use std::hash::{BuildHasher, Hasher};

use serde::Deserialize;
use serde_json::{json, Value};
use waymark_engine::ports::{StartedAs, StateMachine};
use waymark_engine::versions::{Version, VersionStore, MAX_VERSIONS};

use crate::backend::Backend;
use crate::error::ApiError;
use crate::names::{state_machine_arn, ArnResource};
use crate::ops::respond;
use crate::pages;
use crate::shapes::{self, check_len, page_size, required};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PublishInput {
    pub state_machine_arn: Option<String>,
    pub revision_id: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListVersionsInput {
    pub state_machine_arn: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VersionArnInput {
    pub state_machine_version_arn: Option<String>,
}

/// What a state machine ARN names.
pub(crate) enum Qualified {
    Machine,
    Version(u64),
    Alias(String),
}

/// Splits a state machine ARN into the machine's own ARN and what its qualifier names.
pub(crate) fn split(arn: &str) -> Result<(String, Qualified), ApiError> {
    let parsed = state_machine_arn(arn)?;
    let ArnResource::StateMachine { qualifier, .. } = parsed.resource else {
        return Err(ApiError::invalid_arn(arn));
    };
    Ok(match qualifier {
        None => (arn.to_string(), Qualified::Machine),
        Some(q) => {
            let base = arn[..arn.len() - q.len() - 1].to_string();
            match q.parse::<u64>() {
                Ok(n) if q.bytes().all(|b| b.is_ascii_digit()) => (base, Qualified::Version(n)),
                _ => (base, Qualified::Alias(q)),
            }
        }
    })
}

/// A live version of `machine`.
pub(crate) async fn live_version<B: Backend + ?Sized>(
    b: &B,
    machine: &str,
    number: u64,
) -> Result<Option<Version>, ApiError> {
    Ok(b.version_store()
        .versions(machine)
        .await?
        .into_iter()
        .find(|v| v.number == number && !v.deleted))
}

/// A number in 0..100 for an alias's weighted routing.
fn draw() -> u32 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() % 100) as u32
}

/// The revision an ARN runs: the latest for a machine's own ARN, the version's for a version
/// ARN, one of the alias's versions (by weight) for an alias ARN, with how it was chosen.
pub(crate) async fn resolve<B: Backend + ?Sized>(
    b: &B,
    arn: &str,
) -> Result<StateMachine, ApiError> {
    let (machine, q) = split(arn)?;
    let latest = b
        .state_machine(&machine)
        .await?
        .ok_or_else(|| ApiError::state_machine_does_not_exist(arn))?;
    let (number, alias_arn) = match q {
        Qualified::Machine => return Ok(latest),
        Qualified::Version(n) => (n, None),
        Qualified::Alias(name) => {
            let alias = b
                .version_store()
                .aliases(&machine)
                .await?
                .into_iter()
                .find(|a| a.name == name)
                .ok_or_else(|| ApiError::resource_not_found(arn))?;
            (alias.pick(draw()), Some(arn.to_string()))
        }
    };
    let version = live_version(b, &machine, number)
        .await?
        .ok_or_else(|| ApiError::state_machine_does_not_exist(arn))?;
    let mut sm = b
        .state_machine_revision(&machine, version.revision)
        .await?
        .ok_or_else(|| ApiError::state_machine_does_not_exist(arn))?;
    sm.started_as = Some(StartedAs {
        version_arn: version.arn(),
        alias_arn,
    });
    Ok(sm)
}

/// Publishes the machine's current revision as a version, or answers the version that has it
/// already (PublishStateMachineVersion is idempotent by revision).
pub(crate) async fn publish<B: Backend + ?Sized>(
    b: &B,
    sm: &StateMachine,
    description: Option<String>,
) -> Result<Version, ApiError> {
    let store = b.version_store();
    for _ in 0..4 {
        let all = store.versions(&sm.arn).await?;
        if let Some(v) = all.iter().find(|v| !v.deleted && v.revision == sm.revision) {
            return Ok(v.clone());
        }
        if all.iter().filter(|v| !v.deleted).count() >= MAX_VERSIONS {
            return Err(ApiError::ServiceQuotaExceeded(format!(
                "The state machine '{}' has {MAX_VERSIONS} versions, the most it may have; delete one first",
                sm.arn
            )));
        }
        let v = Version {
            machine_arn: sm.arn.clone(),
            number: all.iter().map(|v| v.number).max().unwrap_or(0) + 1,
            revision: sm.revision,
            description: description.clone(),
            created: b.now(),
            deleted: false,
        };
        match store.put_version(&v).await {
            Ok(()) => return Ok(v),
            // Another request took the number: count again.
            Err(waymark_engine::ports::StoreError::AlreadyExists(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict(format!(
        "Too many versions of '{}' were published at once; try again",
        sm.arn
    )))
}

pub async fn publish_version<B: Backend + ?Sized>(
    b: &B,
    req: PublishInput,
) -> Result<Value, ApiError> {
    let arn = required("stateMachineArn", req.state_machine_arn)?;
    if let Some(d) = &req.description {
        check_len("description", d, 0, 256)?;
    }
    let Qualified::Machine = split(&arn)?.1 else {
        return Err(ApiError::ValidationException(
            "The stateMachineArn of PublishStateMachineVersion names a state machine, not a version or alias".into(),
        ));
    };
    let sm = b
        .state_machine(&arn)
        .await?
        .ok_or_else(|| ApiError::state_machine_does_not_exist(&arn))?;
    if let Some(r) = &req.revision_id {
        if *r != sm.revision.to_string() {
            return Err(ApiError::Conflict(format!(
                "Failed to publish the State Machine version: the revisionId '{r}' is not the latest revision '{}'",
                sm.revision
            )));
        }
    }
    let v = publish(b, &sm, req.description).await?;
    respond(&json!({
        "creationDate": shapes::epoch(v.created),
        "stateMachineVersionArn": v.arn(),
    }))
}

pub async fn list_versions<B: Backend + ?Sized>(
    b: &B,
    req: ListVersionsInput,
) -> Result<Value, ApiError> {
    let arn = required("stateMachineArn", req.state_machine_arn)?;
    let max = page_size(req.max_results, 1000, 100)?;
    let Qualified::Machine = split(&arn)?.1 else {
        return Err(ApiError::invalid_arn(&arn));
    };
    if b.state_machine(&arn).await?.is_none() {
        return Err(ApiError::state_machine_does_not_exist(&arn));
    }
    let scope = format!("ListStateMachineVersions|{arn}");
    let start = pages::offset(&scope, req.next_token.as_deref())?;
    let live: Vec<Version> = b
        .version_store()
        .versions(&arn)
        .await?
        .into_iter()
        .filter(|v| !v.deleted)
        .collect();
    let page: Vec<Value> = live
        .iter()
        .skip(start)
        .take(max)
        .map(|v| {
            json!({"stateMachineVersionArn": v.arn(), "creationDate": shapes::epoch(v.created)})
        })
        .collect();
    let mut out = json!({ "stateMachineVersions": page });
    if let Some(t) = pages::next_offset(&scope, start, max, live.len()) {
        out["nextToken"] = Value::String(t);
    }
    Ok(out)
}

pub async fn delete_version<B: Backend + ?Sized>(
    b: &B,
    req: VersionArnInput,
) -> Result<Value, ApiError> {
    let arn = required("stateMachineVersionArn", req.state_machine_version_arn)?;
    let (machine, Qualified::Version(n)) = split(&arn)? else {
        return Err(ApiError::invalid_arn(&arn));
    };
    let store = b.version_store();
    let used_by: Vec<String> = store
        .aliases(&machine)
        .await?
        .into_iter()
        .filter(|a| a.routing.iter().any(|r| r.version == n))
        .map(|a| a.arn())
        .collect();
    if !used_by.is_empty() {
        return Err(ApiError::Conflict(format!(
            "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
            used_by.join(", ")
        )));
    }
    store.delete_version(&machine, n).await?;
    Ok(json!({}))
}

/// Removes every version and alias of a machine being deleted.
pub(crate) async fn delete_all<B: Backend + ?Sized>(b: &B, machine: &str) -> Result<(), ApiError> {
    let store = b.version_store();
    for a in store.aliases(machine).await? {
        store.delete_alias(machine, &a.name).await?;
    }
    for v in store.versions(machine).await? {
        if !v.deleted {
            store.delete_version(machine, v.number).await?;
        }
    }
    Ok(())
}
