//! State machine aliases: Create, Describe, Update, Delete and List. An alias routes
//! executions to one version, or splits them between two by weight (percentages adding up to
//! 100), as AWS's routingConfiguration does.

use serde::Deserialize;
use serde_json::{json, Value};
use waymark_engine::ports::StoreError;
use waymark_engine::versions::{Alias, Route, VersionStore, MAX_ALIASES};

use crate::backend::Backend;
use crate::error::ApiError;
use crate::ops::respond;
use crate::ops::versions::{live_version, split, Qualified};
use crate::pages;
use crate::shapes::{self, check_len, page_size, required};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RouteInput {
    pub state_machine_version_arn: Option<String>,
    pub weight: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateAliasInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub routing_configuration: Option<Vec<RouteInput>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AliasArnInput {
    pub state_machine_alias_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdateAliasInput {
    pub state_machine_alias_arn: Option<String>,
    pub description: Option<String>,
    pub routing_configuration: Option<Vec<RouteInput>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListAliasesInput {
    pub state_machine_arn: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

/// AWS's alias names: 1 to 80 of letters, digits, `-`, `_` and `.`, not all digits (those are
/// version numbers).
fn check_alias_name(name: &str) -> Result<(), ApiError> {
    check_len("name", name, 1, 80)?;
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !chars_ok || name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(
            "name",
            name,
            "Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$",
        ));
    }
    Ok(())
}

/// Checks a routing configuration and reads it into routes of `machine`'s live versions;
/// returns the machine too (the versions name it).
async fn routing<B: Backend + ?Sized>(
    b: &B,
    routes: Vec<RouteInput>,
) -> Result<(String, Vec<Route>), ApiError> {
    if routes.is_empty() || routes.len() > 2 {
        return Err(ApiError::validation(
            "routingConfiguration",
            routes.len(),
            "Member must have length less than or equal to 2 and greater than or equal to 1",
        ));
    }
    let mut machine: Option<String> = None;
    let mut out = Vec::with_capacity(routes.len());
    for r in routes {
        let arn = required(
            "routingConfiguration.member.stateMachineVersionArn",
            r.state_machine_version_arn,
        )?;
        let weight = required("routingConfiguration.member.weight", r.weight)?;
        if !(0..=100).contains(&weight) {
            return Err(ApiError::validation(
                "routingConfiguration.member.weight",
                weight,
                "Member must have value between 0 and 100",
            ));
        }
        let (m, Qualified::Version(n)) = split(&arn)? else {
            return Err(ApiError::ValidationException(format!(
                "Routing configuration must contain state machine version ARNs, not '{arn}'"
            )));
        };
        if machine.as_ref().is_some_and(|x| *x != m) {
            return Err(ApiError::ValidationException(
                "Routing configuration must contain versions of the same state machine".into(),
            ));
        }
        if live_version(b, &m, n).await?.is_none() {
            return Err(ApiError::resource_not_found(&arn));
        }
        if out.iter().any(|x: &Route| x.version == n) {
            return Err(ApiError::ValidationException(
                "Routing configuration must contain distinct state machine versions".into(),
            ));
        }
        machine = Some(m);
        out.push(Route {
            version: n,
            weight: weight as u32,
        });
    }
    if out.iter().map(|r| r.weight).sum::<u32>() != 100 {
        return Err(ApiError::ValidationException(
            "Sum of routing configuration weights must be equal to 100".into(),
        ));
    }
    Ok((machine.unwrap_or_default(), out))
}

fn routing_json(a: &Alias) -> Vec<Value> {
    a.routing
        .iter()
        .map(|r| {
            json!({
                "stateMachineVersionArn": format!("{}:{}", a.machine_arn, r.version),
                "weight": r.weight,
            })
        })
        .collect()
}

async fn find<B: Backend + ?Sized>(b: &B, arn: &str) -> Result<Alias, ApiError> {
    let (machine, Qualified::Alias(name)) = split(arn)? else {
        return Err(ApiError::invalid_arn(arn));
    };
    b.version_store()
        .aliases(&machine)
        .await?
        .into_iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::resource_not_found(arn))
}

pub async fn create<B: Backend + ?Sized>(b: &B, req: CreateAliasInput) -> Result<Value, ApiError> {
    let name = required("name", req.name)?;
    check_alias_name(&name)?;
    if let Some(d) = &req.description {
        check_len("description", d, 0, 256)?;
    }
    let routes = required("routingConfiguration", req.routing_configuration)?;
    let (machine, routing) = routing(b, routes).await?;
    let now = b.now();
    let alias = Alias {
        machine_arn: machine.clone(),
        name,
        description: req.description,
        routing,
        created: now,
        updated: now,
    };
    let store = b.version_store();
    let existing = store.aliases(&machine).await?;
    if let Some(a) = existing.iter().find(|a| a.name == alias.name) {
        // The same alias again is the same request; anything else conflicts.
        if a.routing == alias.routing && a.description == alias.description {
            return respond(&json!({
                "stateMachineAliasArn": a.arn(),
                "creationDate": shapes::epoch(a.created),
            }));
        }
        return Err(ApiError::Conflict(format!(
            "Failed to create alias because an alias with the same name and a different routing configuration already exists: '{}'",
            a.arn()
        )));
    }
    if existing.len() >= MAX_ALIASES {
        return Err(ApiError::ServiceQuotaExceeded(format!(
            "The state machine '{machine}' has {MAX_ALIASES} aliases, the most it may have"
        )));
    }
    match store.put_alias(&alias, true).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(arn)) => {
            return Err(ApiError::Conflict(format!(
                "An alias with this name was created at the same time: '{arn}'"
            )))
        }
        Err(e) => return Err(e.into()),
    }
    respond(&json!({
        "stateMachineAliasArn": alias.arn(),
        "creationDate": shapes::epoch(now),
    }))
}

pub async fn describe<B: Backend + ?Sized>(b: &B, req: AliasArnInput) -> Result<Value, ApiError> {
    let arn = required("stateMachineAliasArn", req.state_machine_alias_arn)?;
    let a = find(b, &arn).await?;
    let mut out = json!({
        "stateMachineAliasArn": a.arn(),
        "name": a.name,
        "routingConfiguration": routing_json(&a),
        "creationDate": shapes::epoch(a.created),
        "updateDate": shapes::epoch(a.updated),
    });
    if let Some(d) = &a.description {
        out["description"] = Value::String(d.clone());
    }
    Ok(out)
}

pub async fn update<B: Backend + ?Sized>(b: &B, req: UpdateAliasInput) -> Result<Value, ApiError> {
    let arn = required("stateMachineAliasArn", req.state_machine_alias_arn)?;
    if req.description.is_none() && req.routing_configuration.is_none() {
        return Err(ApiError::ValidationException(
            "Either the description or the RoutingConfiguration must be specified".into(),
        ));
    }
    if let Some(d) = &req.description {
        check_len("description", d, 0, 256)?;
    }
    let mut a = find(b, &arn).await?;
    if let Some(routes) = req.routing_configuration {
        let (machine, routing) = routing(b, routes).await?;
        if machine != a.machine_arn {
            return Err(ApiError::ValidationException(
                "An alias routes to versions of its own state machine".into(),
            ));
        }
        a.routing = routing;
    }
    if let Some(d) = req.description {
        a.description = Some(d);
    }
    a.updated = b.now();
    match b.version_store().put_alias(&a, false).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(ApiError::resource_not_found(&arn)),
        Err(e) => return Err(e.into()),
    }
    respond(&json!({ "updateDate": shapes::epoch(a.updated) }))
}

pub async fn delete<B: Backend + ?Sized>(b: &B, req: AliasArnInput) -> Result<Value, ApiError> {
    let arn = required("stateMachineAliasArn", req.state_machine_alias_arn)?;
    let a = find(b, &arn).await?;
    b.version_store()
        .delete_alias(&a.machine_arn, &a.name)
        .await?;
    Ok(json!({}))
}

pub async fn list<B: Backend + ?Sized>(b: &B, req: ListAliasesInput) -> Result<Value, ApiError> {
    let arn = required("stateMachineArn", req.state_machine_arn)?;
    let max = page_size(req.max_results, 1000, 100)?;
    let Qualified::Machine = split(&arn)?.1 else {
        return Err(ApiError::invalid_arn(&arn));
    };
    if b.state_machine(&arn).await?.is_none() {
        return Err(ApiError::state_machine_does_not_exist(&arn));
    }
    let scope = format!("ListStateMachineAliases|{arn}");
    let start = pages::offset(&scope, req.next_token.as_deref())?;
    let all = b.version_store().aliases(&arn).await?;
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|a| json!({"stateMachineAliasArn": a.arn(), "creationDate": shapes::epoch(a.created)}))
        .collect();
    let mut out = json!({ "stateMachineAliases": page });
    if let Some(t) = pages::next_offset(&scope, start, max, all.len()) {
        out["nextToken"] = Value::String(t);
    }
    Ok(out)
}
