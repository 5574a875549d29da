//! State machine operations: Create, Describe, Update, Delete, List and
//! ValidateStateMachineDefinition. Definitions are validated by `waymark_asl` for the machine's
//! type before anything is stored, so a rejected request leaves nothing behind.

use std::sync::Arc;

use serde_json::{json, Value};
use waymark_asl::diag::{Diagnostic, Severity};
use waymark_asl::parse::{parse_text, MachineType, ParseOptions, Parsed};
use waymark_engine::ports::{StateMachine, StoreError};

use crate::backend::Backend;
use crate::error::ApiError;
use crate::names::{check_name, check_role_arn, state_machine_arn};
use crate::ops::versions::{self, Qualified};
use crate::ops::{respond, tags};
use crate::pages;
use crate::shapes::{self, *};

/// AWS's limit on a definition's length.
const MAX_DEFINITION_CHARS: usize = 1_048_576;

pub(crate) fn machine_type(v: Option<&str>) -> Result<MachineType, ApiError> {
    match v {
        None => Ok(MachineType::Standard),
        Some(s) => match one_of("type", s, &["STANDARD", "EXPRESS"])? {
            "EXPRESS" => Ok(MachineType::Express),
            _ => Ok(MachineType::Standard),
        },
    }
}

/// `includedData`: whether the response carries the definition (or execution data).
pub(crate) fn include_data(v: Option<&str>) -> Result<bool, ApiError> {
    match v {
        None => Ok(true),
        Some(s) => Ok(one_of("includedData", s, &["ALL_DATA", "METADATA_ONLY"])? == "ALL_DATA"),
    }
}

/// AWS's InvalidDefinition message: every error as `CODE: message at /path`, comma-separated.
fn invalid_definition(diags: &[Diagnostic]) -> ApiError {
    let all: Vec<String> = diags.iter().map(ToString::to_string).collect();
    ApiError::InvalidDefinition(format!(
        "Invalid State Machine Definition: '{}'",
        all.join(", ")
    ))
}

/// Parses and validates a definition, its Task states checked by the home's integrations.
fn parse_definition<B: Backend + ?Sized>(
    b: &B,
    text: &str,
    machine_type: MachineType,
) -> Result<Parsed, ApiError> {
    let parsed =
        parse_text(text, &ParseOptions { machine_type }).map_err(|d| invalid_definition(&d))?;
    let refused = super::task_checks::check_tasks(b, &parsed.definition.graph);
    if !refused.is_empty() {
        return Err(invalid_definition(&refused));
    }
    Ok(parsed)
}

fn check_version_description(
    publish: Option<bool>,
    description: Option<&String>,
) -> Result<(), ApiError> {
    if description.is_some() && publish != Some(true) {
        return Err(ApiError::ValidationException(
            "Version description can only be set when publish is true".into(),
        ));
    }
    Ok(())
}

async fn must_exist<B: Backend + ?Sized>(b: &B, arn: &str) -> Result<StateMachine, ApiError> {
    b.state_machine(arn)
        .await?
        .ok_or_else(|| ApiError::state_machine_does_not_exist(arn))
}

pub async fn create<B: Backend + ?Sized>(
    b: &B,
    req: CreateStateMachineInput,
) -> Result<Value, ApiError> {
    let name = required("name", req.name)?;
    let definition = required("definition", req.definition)?;
    let role_arn = required("roleArn", req.role_arn)?;
    check_len("definition", &definition, 1, MAX_DEFINITION_CHARS)?;
    let machine_type = machine_type(req.machine_type.as_deref())?;
    check_version_description(req.publish, req.version_description.as_ref())?;
    check_name(&name)?;
    check_role_arn(&role_arn)?;
    let arn = b.config().state_machine_arn(&name);
    let new_tags = tags::check(&arn, req.tags.unwrap_or_default(), &[])?;
    let parsed = parse_definition(b, &definition, machine_type)?;

    let now = b.now();
    let sm = StateMachine::new(
        arn.clone(),
        name,
        definition,
        Arc::new(parsed.definition),
        machine_type,
        role_arn,
        now,
    );
    match b.create_state_machine(&sm).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(_)) => return idempotent_create(b, &sm).await,
        Err(e) => return Err(e.into()),
    }
    if !new_tags.is_empty() {
        if let Err(e) = b.tag(&arn, &new_tags).await {
            // Undo, so that a failed request leaves no state machine behind.
            if let Err(undo) = b.delete_state_machine(&arn).await {
                tracing::error!(state_machine = ?arn, error = ?undo.to_string(), "state machine left without its tags");
            }
            return Err(e.into());
        }
    }
    let mut out = json!({"stateMachineArn": arn, "creationDate": shapes::epoch(now)});
    if req.publish == Some(true) {
        let v = versions::publish(b, &sm, req.version_description).await?;
        out["stateMachineVersionArn"] = Value::String(v.arn());
    }
    respond(&out)
}

/// CreateStateMachine for a name that is taken: the same definition and type is the same
/// request again (a different role or tags are ignored, as AWS does); anything else conflicts.
async fn idempotent_create<B: Backend + ?Sized>(
    b: &B,
    wanted: &StateMachine,
) -> Result<Value, ApiError> {
    let existing = must_exist(b, &wanted.arn).await?;
    if existing.definition_text == wanted.definition_text
        && existing.machine_type == wanted.machine_type
    {
        return respond(&json!({
            "stateMachineArn": existing.arn,
            "creationDate": shapes::epoch(existing.created),
        }));
    }
    Err(ApiError::StateMachineAlreadyExists(format!(
        "State Machine Already Exists: '{}'",
        existing.arn
    )))
}

pub async fn describe<B: Backend + ?Sized>(
    b: &B,
    req: StateMachineArnInput,
) -> Result<Value, ApiError> {
    let arn = required("stateMachineArn", req.state_machine_arn)?;
    let with_definition = include_data(req.included_data.as_deref())?;
    let (machine, q) = versions::split(&arn)?;
    let (sm, description) = match q {
        Qualified::Machine => (must_exist(b, &arn).await?, None),
        Qualified::Version(n) => {
            let v = versions::live_version(b, &machine, n)
                .await?
                .ok_or_else(|| ApiError::state_machine_does_not_exist(&arn))?;
            let sm = versions::resolve(b, &arn).await?;
            (sm, v.description)
        }
        Qualified::Alias(_) => {
            return Err(ApiError::ValidationException(
                "DescribeStateMachine takes a state machine or version ARN; describe an alias with DescribeStateMachineAlias".into(),
            ))
        }
    };
    let mut out = respond(&DescribeStateMachineOutput {
        state_machine_arn: arn.clone(),
        name: sm.name,
        status: "ACTIVE",
        definition: with_definition.then_some(sm.definition_text),
        role_arn: sm.role_arn,
        machine_type: sm.machine_type.as_str(),
        creation_date: shapes::epoch(sm.created),
        logging_configuration: LoggingConfiguration::OFF,
        tracing_configuration: TracingConfiguration { enabled: false },
        revision_id: sm.revision.to_string(),
        encryption_configuration: AWS_OWNED_KEY,
    })?;
    if let Some(d) = description {
        out["description"] = Value::String(d);
    }
    Ok(out)
}

pub async fn update<B: Backend + ?Sized>(
    b: &B,
    req: UpdateStateMachineInput,
) -> Result<Value, ApiError> {
    let arn = required("stateMachineArn", req.state_machine_arn)?;
    if let Some(d) = &req.definition {
        check_len("definition", d, 1, MAX_DEFINITION_CHARS)?;
    }
    check_version_description(req.publish, req.version_description.as_ref())?;
    state_machine_arn(&arn)?;
    if req.definition.is_none()
        && req.role_arn.is_none()
        && req.logging_configuration.is_none()
        && req.tracing_configuration.is_none()
        && req.encryption_configuration.is_none()
    {
        return Err(ApiError::MissingRequiredParameter(
            "Either the definition, the role ARN, the LoggingConfiguration, the EncryptionConfiguration or the TracingConfiguration must be specified".into(),
        ));
    }
    if let Some(role) = &req.role_arn {
        check_role_arn(role)?;
    }
    let current = must_exist(b, &arn).await?;
    let mut next = current.clone();
    if let Some(text) = req.definition {
        let parsed = parse_definition(b, &text, current.machine_type)?;
        next.definition = Arc::new(parsed.definition);
        next.definition_text = text;
    }
    if let Some(role) = req.role_arn {
        next.role_arn = role;
    }
    let now = b.now();
    next.revision = current.revision + 1;
    next.updated = now;
    match b.update_state_machine(&next).await {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(ApiError::state_machine_does_not_exist(&arn)),
        Err(e) => return Err(e.into()),
    }
    let mut out =
        json!({"updateDate": shapes::epoch(now), "revisionId": next.revision.to_string()});
    if req.publish == Some(true) {
        let v = versions::publish(b, &next, req.version_description).await?;
        out["stateMachineVersionArn"] = Value::String(v.arn());
    }
    respond(&out)
}

pub async fn delete<B: Backend + ?Sized>(
    b: &B,
    req: StateMachineArnInput,
) -> Result<Value, ApiError> {
    let arn = required("stateMachineArn", req.state_machine_arn)?;
    state_machine_arn(&arn)?;
    // Deleting what is not there succeeds, as on AWS: a retried delete is not an error.
    match b.delete_state_machine(&arn).await {
        Ok(()) | Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    // Versions and aliases go with the machine, as do its tags; a failure here is reported,
    // and a retry finishes the job.
    versions::delete_all(b, &arn).await?;
    let keys: Vec<String> = b.tags(&arn).await?.into_iter().map(|(k, _)| k).collect();
    if !keys.is_empty() {
        b.untag(&arn, &keys).await?;
    }
    Ok(json!({}))
}

pub async fn list<B: Backend + ?Sized>(b: &B, req: ListInput) -> Result<Value, ApiError> {
    let max = page_size(req.max_results, 1000, 100)?;
    const SCOPE: &str = "ListStateMachines";
    let token = pages::decode_opt(SCOPE, req.next_token.as_deref())?;
    let page = b.list_state_machines(max, token.as_deref()).await?;
    let items: Vec<StateMachineListItem> = page
        .items
        .into_iter()
        .map(|sm| StateMachineListItem {
            state_machine_arn: sm.arn,
            name: sm.name,
            machine_type: sm.machine_type.as_str(),
            creation_date: shapes::epoch(sm.created),
        })
        .collect();
    let mut out = json!({"stateMachines": items});
    if let Some(t) = page.next_token {
        out["nextToken"] = Value::String(pages::encode(SCOPE, &t));
    }
    Ok(out)
}

pub async fn validate_definition<B: Backend + ?Sized>(
    b: &B,
    req: ValidateInput,
) -> Result<Value, ApiError> {
    let definition = required("definition", req.definition)?;
    check_len("definition", &definition, 1, MAX_DEFINITION_CHARS)?;
    let machine_type = machine_type(req.machine_type.as_deref())?;
    let with_warnings = match req.severity.as_deref() {
        None => false,
        Some(s) => one_of("severity", s, &["ERROR", "WARNING"])? == "WARNING",
    };
    let max = page_size(req.max_results, 100, 100)?;
    let (result, diags) = match parse_text(&definition, &ParseOptions { machine_type }) {
        Ok(parsed) => {
            let refused = super::task_checks::check_tasks(b, &parsed.definition.graph);
            if !refused.is_empty() {
                ("FAIL", refused)
            } else if with_warnings {
                ("OK", parsed.warnings)
            } else {
                ("OK", vec![])
            }
        }
        Err(errors) => ("FAIL", errors),
    };
    let truncated = diags.len() > max;
    let diagnostics: Vec<shapes::Diagnostic> = diags
        .into_iter()
        .take(max)
        .map(|d| shapes::Diagnostic {
            severity: match d.severity {
                Severity::Error => "ERROR",
                Severity::Warning => "WARNING",
            },
            code: d.code,
            message: d.message,
            location: (!d.path.is_empty()).then_some(d.path),
        })
        .collect();
    respond(&json!({"result": result, "diagnostics": diagnostics, "truncated": truncated}))
}
