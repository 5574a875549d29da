//! Execution operations: StartExecution (idempotent by name), StartSyncExecution,
//! DescribeExecution, StopExecution, ListExecutions, DescribeStateMachineForExecution and
//! RedriveExecution.

use std::time::Duration;

use serde_json::{json, Value};
use waymark_asl::json::to_text;
use waymark_asl::parse::MachineType;
use waymark_engine::ports::{ExecutionFilter, StateMachine};
use waymark_engine::record::{ExecutionRecord, MachineTypeRepr, Status};
use waymark_engine::runner::EngineError;

use crate::backend::Backend;
use crate::error::ApiError;
use crate::names::{check_name, execution_arn, state_machine_arn};
use crate::ops::respond;
use crate::ops::state_machines::include_data;
use crate::pages;
use crate::shapes::{self, *};

/// AWS's payload limit, in UTF-8 bytes of JSON text.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// How long StartSyncExecution waits: an express execution may run for 5 minutes.
pub const SYNC_LIMIT: Duration = Duration::from_secs(5 * 60);

/// Execution input or task output: JSON text within the payload limit.
pub(crate) fn json_payload(text: &str, invalid: fn(String) -> ApiError) -> Result<Value, ApiError> {
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(invalid(format!(
            "The payload is {} bytes, more than the maximum of {MAX_PAYLOAD_BYTES}",
            text.len()
        )));
    }
    serde_json::from_str(text).map_err(|e| invalid(e.to_string()))
}

async fn execution<B: Backend + ?Sized>(b: &B, arn: &str) -> Result<ExecutionRecord, ApiError> {
    b.execution(arn)
        .await?
        .ok_or_else(|| ApiError::execution_does_not_exist(arn))
}

/// The request checks StartExecution and StartSyncExecution share.
async fn prepare<B: Backend + ?Sized>(
    b: &B,
    req: &StartExecutionInput,
) -> Result<(StateMachine, Value, Option<String>), ApiError> {
    let arn = required("stateMachineArn", req.state_machine_arn.as_ref())?;
    // Step Functions Local's way of choosing a mock test case: `stateMachineArn#TestCase`.
    let (arn, test_case) = match arn.split_once('#') {
        Some((arn, case)) if !case.is_empty() => (arn, Some(case.to_string())),
        _ => (arn.as_str(), None),
    };
    check_len("stateMachineArn", arn, 1, 256)?;
    if let Some(t) = &req.trace_header {
        check_len("traceHeader", t, 0, 256)?;
    }
    state_machine_arn(arn)?;
    if let Some(name) = &req.name {
        check_name(name)?;
    }
    let input = json_payload(
        req.input.as_deref().unwrap_or("{}"),
        ApiError::invalid_input,
    )?;
    let sm = crate::ops::versions::resolve(b, arn).await?;
    Ok((sm, input, test_case))
}

pub async fn start<B: Backend + ?Sized>(
    b: &B,
    req: StartExecutionInput,
) -> Result<Value, ApiError> {
    let (sm, input, test_case) = prepare(b, &req).await?;
    let rec = match b
        .start_execution(
            &sm,
            req.name.as_deref(),
            input.clone(),
            test_case.as_deref(),
        )
        .await
    {
        Ok(rec) => rec,
        // The same name and input as a running execution is the same request again.
        Err(EngineError::ExecutionAlreadyExists(arn)) => match b.execution(&arn).await? {
            Some(rec) if rec.status == Status::Running && rec.input == input => rec,
            _ => return Err(ApiError::execution_already_exists(&arn)),
        },
        Err(e) => return Err(e.into()),
    };
    respond(&json!({
        "executionArn": rec.execution_arn,
        "startDate": shapes::epoch(rec.start_time),
    }))
}

pub async fn start_sync<B: Backend + ?Sized>(
    b: &B,
    req: StartExecutionInput,
) -> Result<Value, ApiError> {
    let with_data = include_data(req.included_data.as_deref())?;
    let (sm, input, test_case) = prepare(b, &req).await?;
    if sm.machine_type != MachineType::Express {
        return Err(ApiError::StateMachineTypeNotSupported(
            "This operation is only supported by EXPRESS state machines".into(),
        ));
    }
    let started = b
        .start_execution(&sm, req.name.as_deref(), input, test_case.as_deref())
        .await?;
    let rec = b
        .wait_until_ended(&started.execution_arn, SYNC_LIMIT)
        .await?;
    let now = b.now();
    let stop = rec.stop_time.unwrap_or(now);
    let (status, mut error, mut cause) = match rec.status {
        Status::Succeeded => ("SUCCEEDED", None, None),
        Status::TimedOut => ("TIMED_OUT", None, None),
        Status::Failed | Status::Aborted => ("FAILED", None, None),
        Status::Running => (
            "TIMED_OUT",
            Some("States.Timeout".to_string()),
            Some(
                "The execution did not end within the 5 minutes an express execution may run"
                    .to_string(),
            ),
        ),
    };
    if let Some(f) = &rec.failure {
        error = f.error.clone().or(error);
        cause = f.cause.clone().or(cause);
    }
    let millis = (stop - rec.start_time).num_milliseconds().max(0) as u64;
    let (input, input_details) = payload(Some(&rec.input), with_data);
    let succeeded = rec
        .output
        .as_ref()
        .filter(|_| rec.status == Status::Succeeded);
    let (output, output_details) = payload(succeeded, with_data);
    respond(&StartSyncExecutionOutput {
        execution_arn: rec.execution_arn.clone(),
        state_machine_arn: rec.state_machine_arn.clone(),
        name: rec.name.clone(),
        start_date: shapes::epoch(rec.start_time),
        stop_date: shapes::epoch(stop),
        status,
        error,
        cause,
        input,
        input_details,
        output,
        output_details,
        billing_details: BillingDetails {
            // Express executions are billed in 64 MB and 100 ms steps.
            billed_memory_used_in_mb: 64,
            billed_duration_in_milliseconds: millis.div_ceil(100).max(1) * 100,
        },
    })
}

/// Input or output as JSON text with its `…Details`: left out under `METADATA_ONLY`, which
/// the details then say (`included: false`), so a caller can tell "withheld" from "none".
fn payload(v: Option<&Value>, with_data: bool) -> (Option<String>, Option<Included>) {
    match v {
        None => (None, None),
        Some(v) => (
            with_data.then(|| to_text(v)),
            Some(Included {
                included: with_data,
            }),
        ),
    }
}

/// REDRIVABLE or NOT_REDRIVABLE, and why not.
fn redrive_status(rec: &ExecutionRecord) -> (&'static str, Option<String>) {
    if rec.machine_type == MachineTypeRepr::Express {
        return (
            "NOT_REDRIVABLE",
            Some("Express executions cannot be redriven".into()),
        );
    }
    match rec.status {
        Status::Failed | Status::TimedOut | Status::Aborted if rec.redrive_point.is_some() => {
            ("REDRIVABLE", None)
        }
        s => (
            "NOT_REDRIVABLE",
            Some(format!(
                "Execution is {} and cannot be redriven",
                s.as_str()
            )),
        ),
    }
}

/// How much history finding a redrive date may read: all of it (25,000 events at most, 1,000
/// a page) for one execution; the newest 100 events of each execution in a listing, so that
/// listing 1,000 redriven executions never reads 1,000 whole histories.
#[derive(Clone, Copy)]
struct Search {
    pages: usize,
    page_size: usize,
}

const WHOLE_HISTORY: Search = Search {
    pages: 26,
    page_size: 1000,
};
const LISTING: Search = Search {
    pages: 1,
    page_size: 100,
};

/// When the execution was last redriven: the engine does not keep it on the record, so it is
/// read from the newest `ExecutionRedriven` event (left out if `search` does not reach it).
async fn redrive_date<B: Backend + ?Sized>(
    b: &B,
    rec: &ExecutionRecord,
    search: Search,
) -> Result<Option<f64>, ApiError> {
    if rec.redrive_count == 0 {
        return Ok(None);
    }
    let mut token: Option<String> = None;
    for _ in 0..search.pages {
        let page = b
            .history_page(&rec.execution_arn, true, search.page_size, token.as_deref())
            .await?;
        if let Some(e) = page
            .items
            .iter()
            .find(|e| e.event_type == "ExecutionRedriven")
        {
            return Ok(Some(shapes::epoch(e.timestamp)));
        }
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(None)
}

pub(crate) async fn describe_output<B: Backend + ?Sized>(
    b: &B,
    rec: ExecutionRecord,
    with_data: bool,
) -> Result<DescribeExecutionOutput, ApiError> {
    let (redrive_status, redrive_status_reason) = redrive_status(&rec);
    let redrive_date = redrive_date(b, &rec, WHOLE_HISTORY).await?;
    let (input, input_details) = payload(Some(&rec.input), with_data);
    let succeeded = rec
        .output
        .as_ref()
        .filter(|_| rec.status == Status::Succeeded);
    let (output, output_details) = payload(succeeded, with_data);
    let (error, cause) = rec
        .failure
        .clone()
        .map(|f| (f.error, f.cause))
        .unwrap_or((None, None));
    Ok(DescribeExecutionOutput {
        input,
        input_details,
        output,
        output_details,
        execution_arn: rec.execution_arn,
        state_machine_arn: rec.state_machine_arn,
        name: rec.name,
        status: rec.status.as_str(),
        start_date: shapes::epoch(rec.start_time),
        stop_date: rec.stop_time.map(shapes::epoch),
        error,
        cause,
        redrive_count: rec.redrive_count,
        redrive_date,
        redrive_status,
        redrive_status_reason,
        state_machine_version_arn: rec.version_arn.clone(),
        state_machine_alias_arn: rec.alias_arn.clone(),
        map_run_arn: None,
    })
}

pub async fn describe<B: Backend + ?Sized>(
    b: &B,
    req: ExecutionArnInput,
) -> Result<Value, ApiError> {
    let arn = required("executionArn", req.execution_arn)?;
    check_len("executionArn", &arn, 1, 2000)?;
    let with_data = include_data(req.included_data.as_deref())?;
    execution_arn(&arn)?;
    if waymark_engine::map_children::is_child_arn(&arn) {
        return describe_map_child(b, &arn, with_data).await;
    }
    let rec = execution(b, &arn).await?;
    respond(&describe_output(b, rec, with_data).await?)
}

pub async fn stop<B: Backend + ?Sized>(b: &B, req: StopExecutionInput) -> Result<Value, ApiError> {
    let arn = required("executionArn", req.execution_arn)?;
    check_len("executionArn", &arn, 1, 2000)?;
    if let Some(e) = &req.error {
        check_len("error", e, 0, 256)?;
    }
    if let Some(c) = &req.cause {
        check_len("cause", c, 0, 32768)?;
    }
    execution_arn(&arn)?;
    let rec = b.stop_execution(&arn, req.error, req.cause).await?;
    let stop = rec.stop_time.unwrap_or_else(|| b.now());
    respond(&json!({ "stopDate": shapes::epoch(stop) }))
}

fn status_filter(s: &str) -> Result<Option<Status>, ApiError> {
    let v = one_of(
        "statusFilter",
        s,
        &[
            "RUNNING",
            "SUCCEEDED",
            "FAILED",
            "TIMED_OUT",
            "ABORTED",
            "PENDING_REDRIVE",
        ],
    )?;
    Ok(match v {
        "RUNNING" => Some(Status::Running),
        "SUCCEEDED" => Some(Status::Succeeded),
        "FAILED" => Some(Status::Failed),
        "TIMED_OUT" => Some(Status::TimedOut),
        "ABORTED" => Some(Status::Aborted),
        _ => None,
    })
}

pub async fn list<B: Backend + ?Sized>(b: &B, req: ListExecutionsInput) -> Result<Value, ApiError> {
    let max = page_size(req.max_results, 1000, 100)?;
    let status = req
        .status_filter
        .as_deref()
        .map(status_filter)
        .transpose()?
        .flatten();
    let redriven = match req.redrive_filter.as_deref() {
        None => None,
        Some(f) => Some(one_of("redriveFilter", f, &["REDRIVEN", "NOT_REDRIVEN"])? == "REDRIVEN"),
    };
    let arn = match (req.state_machine_arn, req.map_run_arn) {
        (Some(_), Some(_)) => {
            return Err(ApiError::ValidationException(
                "Specify either stateMachineArn or mapRunArn, not both".into(),
            ))
        }
        (None, None) => {
            return Err(ApiError::ValidationException(
                "Must provide a StateMachine ARN or MapRun ARN".into(),
            ))
        }
        (None, Some(map_run)) => {
            let pending_redrive = req.status_filter.as_deref() == Some("PENDING_REDRIVE");
            let filter = ChildFilter {
                status,
                redriven,
                pending_redrive,
            };
            return list_map_children(b, &map_run, filter, max, req.next_token).await;
        }
        (Some(arn), None) => arn,
    };
    if req.status_filter.as_deref() == Some("PENDING_REDRIVE") {
        return Err(ApiError::ValidationException(
            "The PENDING_REDRIVE status filter needs a mapRunArn".into(),
        ));
    }
    state_machine_arn(&arn)?;
    let sm = b
        .state_machine(&arn)
        .await?
        .ok_or_else(|| ApiError::state_machine_does_not_exist(&arn))?;
    if sm.machine_type == MachineType::Express {
        return Err(ApiError::StateMachineTypeNotSupported(
            "This operation is not supported by EXPRESS state machines".into(),
        ));
    }
    let scope = format!(
        "ListExecutions|{arn}|{}|{:?}",
        req.status_filter.as_deref().unwrap_or(""),
        redriven
    );
    let token = pages::decode_opt(&scope, req.next_token.as_deref())?;
    let filter = ExecutionFilter {
        state_machine_arn: Some(arn.clone()),
        status,
    };
    let page = b.list_executions(&filter, max, token.as_deref()).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for rec in page.items {
        // Filtered after the store's page: a page may come back short, never wrong.
        if redriven.is_some_and(|r| r != (rec.redrive_count > 0)) {
            continue;
        }
        let redrive_date = redrive_date(b, &rec, LISTING).await?;
        items.push(ExecutionListItem {
            execution_arn: rec.execution_arn,
            state_machine_arn: rec.state_machine_arn,
            name: rec.name,
            status: rec.status.as_str(),
            start_date: shapes::epoch(rec.start_time),
            stop_date: rec.stop_time.map(shapes::epoch),
            redrive_count: rec.redrive_count,
            redrive_date,
        });
    }
    let mut out = json!({ "executions": items });
    if let Some(t) = page.next_token {
        out["nextToken"] = Value::String(pages::encode(&scope, &t));
    }
    Ok(out)
}

/// What ListExecutions by `mapRunArn` filters on.
struct ChildFilter {
    status: Option<Status>,
    redriven: Option<bool>,
    /// PENDING_REDRIVE: children waiting for their run's redrive, which Waymark never leaves
    /// (a run is redriven with its execution).
    pending_redrive: bool,
}

/// ListExecutions by `mapRunArn`: the run's children, in the order they started, with the
/// run's ARN and each child's item count (AWS gives both only in this listing).
async fn list_map_children<B: Backend + ?Sized>(
    b: &B,
    map_run_arn: &str,
    filter: ChildFilter,
    max: usize,
    next_token: Option<String>,
) -> Result<Value, ApiError> {
    let ChildFilter {
        status,
        redriven,
        pending_redrive,
    } = filter;
    // A run that does not exist is not found, on every home.
    let (rec, run) = crate::ops::map_runs::find(b, map_run_arn).await?;
    if pending_redrive {
        return Ok(json!({ "executions": [] }));
    }
    let (run_status, run_stop) = crate::ops::map_runs::status_of(&rec, &run);
    // A child its run aborted is stored RUNNING: once the run has ended, filter after
    // reading (a page may come back short, never wrong).
    let stored = if run_status == "RUNNING" {
        status
    } else {
        None
    };
    let scope = format!(
        "ListExecutions|{map_run_arn}|{}|{redriven:?}",
        status.map(Status::as_str).unwrap_or("")
    );
    let token = pages::decode_opt(&scope, next_token.as_deref())?;
    let page = b
        .map_children(map_run_arn, stored, max, token.as_deref())
        .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for child in page.items {
        let child = child.as_of_run(&run_status, run_stop);
        // Children are never redriven on their own.
        if status.is_some_and(|s| s != child.status) || redriven == Some(true) {
            continue;
        }
        items.push(json!({
            "executionArn": child.execution_arn,
            "stateMachineArn": child.state_machine_arn,
            "name": child.name,
            "status": child.status.as_str(),
            "startDate": shapes::epoch(child.start),
            "stopDate": child.stop.map(shapes::epoch),
            "mapRunArn": child.map_run_arn,
            "itemCount": child.item_count,
            "redriveCount": 0,
        }));
        if child.stop.is_none() {
            if let Some(Value::Object(item)) = items.last_mut() {
                item.remove("stopDate");
            }
        }
    }
    let mut out = json!({ "executions": items });
    if let Some(t) = page.next_token {
        out["nextToken"] = Value::String(pages::encode(&scope, &t));
    }
    Ok(out)
}

/// DescribeExecution of a distributed Map's child: what the home keeps of it.
async fn describe_map_child<B: Backend + ?Sized>(
    b: &B,
    arn: &str,
    with_data: bool,
) -> Result<Value, ApiError> {
    let Some(child) = b.map_child(arn).await? else {
        return Err(ApiError::execution_does_not_exist(arn));
    };
    let child = match crate::ops::map_runs::find(b, &child.map_run_arn).await {
        Ok((rec, run)) => {
            let (status, stop) = crate::ops::map_runs::status_of(&rec, &run);
            child.as_of_run(&status, stop)
        }
        Err(_) => child,
    };
    let (input, input_details) = payload(child.input.as_ref(), with_data);
    let succeeded = child
        .output
        .as_ref()
        .filter(|_| child.status == Status::Succeeded);
    let (output, output_details) = payload(succeeded, with_data);
    let (error, cause) = child
        .failure
        .clone()
        .map(|f| (f.error, f.cause))
        .unwrap_or((None, None));
    respond(&DescribeExecutionOutput {
        input,
        input_details,
        output,
        output_details,
        execution_arn: child.execution_arn,
        state_machine_arn: child.state_machine_arn,
        name: child.name,
        status: child.status.as_str(),
        start_date: shapes::epoch(child.start),
        stop_date: child.stop.map(shapes::epoch),
        error,
        cause,
        redrive_count: 0,
        redrive_date: None,
        redrive_status: "NOT_REDRIVABLE",
        redrive_status_reason: Some(
            "A child of a Map Run is redriven with its parent execution".into(),
        ),
        state_machine_version_arn: None,
        state_machine_alias_arn: None,
        map_run_arn: Some(child.map_run_arn),
    })
}

pub async fn describe_state_machine<B: Backend + ?Sized>(
    b: &B,
    req: ExecutionArnInput,
) -> Result<Value, ApiError> {
    let arn = required("executionArn", req.execution_arn)?;
    check_len("executionArn", &arn, 1, 2000)?;
    let with_definition = include_data(req.included_data.as_deref())?;
    execution_arn(&arn)?;
    if waymark_engine::map_children::is_child_arn(&arn) {
        return describe_child_machine(b, &arn, with_definition).await;
    }
    let rec = execution(b, &arn).await?;
    let sm = revision_of(b, &rec).await?;
    respond(&DescribeStateMachineForExecutionOutput {
        state_machine_arn: sm.arn,
        name: sm.name,
        definition: with_definition.then_some(sm.definition_text),
        role_arn: sm.role_arn,
        update_date: shapes::epoch(sm.updated),
        logging_configuration: LoggingConfiguration::OFF,
        tracing_configuration: TracingConfiguration { enabled: false },
        revision_id: sm.revision.to_string(),
        encryption_configuration: AWS_OWNED_KEY,
        map_run_arn: None,
        label: None,
    })
}

/// The revision of its state machine an execution runs.
async fn revision_of<B: Backend + ?Sized>(
    b: &B,
    rec: &ExecutionRecord,
) -> Result<StateMachine, ApiError> {
    match b
        .state_machine_revision(&rec.state_machine_arn, rec.revision)
        .await?
    {
        Some(sm) => Some(sm),
        // Records from before revisions were kept say revision 0: the latest is theirs.
        None if rec.revision == 0 => b.state_machine(&rec.state_machine_arn).await?,
        None => None,
    }
    .ok_or_else(|| ApiError::state_machine_does_not_exist(&rec.state_machine_arn))
}

/// DescribeStateMachineForExecution of a distributed Map's child: the workflow it runs (its
/// Map's ItemProcessor) under `MACHINE/LABEL`, with its run and label.
async fn describe_child_machine<B: Backend + ?Sized>(
    b: &B,
    arn: &str,
    with_definition: bool,
) -> Result<Value, ApiError> {
    let child = b
        .map_child(arn)
        .await?
        .ok_or_else(|| ApiError::execution_does_not_exist(arn))?;
    let (rec, _) = crate::ops::map_runs::find(b, &child.map_run_arn).await?;
    let sm = revision_of(b, &rec).await?;
    // `…:mapRun:MACHINE:EXECUTION/STATE:N` names the Map's state.
    let state = child
        .map_run_arn
        .split_once('/')
        .and_then(|(_, rest)| rest.rsplit_once(':'))
        .map(|(state, _)| state)
        .unwrap_or_default();
    let definition = item_processor(&sm.definition_text, state).ok_or_else(|| {
        ApiError::InternalFailure(format!(
            "the definition of {} has no distributed Map named {state}",
            sm.arn
        ))
    })?;
    let (name, label) = child
        .state_machine_arn
        .rsplit_once(':')
        .map(|(_, n)| n)
        .and_then(|n| {
            n.split_once('/')
                .map(|(_, l)| (n.to_string(), l.to_string()))
        })
        .unwrap_or_default();
    respond(&DescribeStateMachineForExecutionOutput {
        state_machine_arn: child.state_machine_arn,
        name,
        definition: with_definition.then_some(definition),
        role_arn: sm.role_arn,
        update_date: shapes::epoch(sm.updated),
        logging_configuration: LoggingConfiguration::OFF,
        tracing_configuration: TracingConfiguration { enabled: false },
        revision_id: sm.revision.to_string(),
        encryption_configuration: AWS_OWNED_KEY,
        map_run_arn: Some(child.map_run_arn),
        label: Some(label),
    })
}

/// The text of the ItemProcessor of the Map state named `state`, wherever it is nested (the
/// first found, breadth first).
fn item_processor(definition: &str, state: &str) -> Option<String> {
    let def: Value = serde_json::from_str(definition).ok()?;
    let mut queue = std::collections::VecDeque::from([&def]);
    while let Some(machine) = queue.pop_front() {
        let Some(states) = machine.get("States").and_then(Value::as_object) else {
            continue;
        };
        for (name, s) in states {
            let processor = s.get("ItemProcessor").or_else(|| s.get("Iterator"));
            if name == state && s.get("Type").and_then(Value::as_str) == Some("Map") {
                if let Some(p) = processor {
                    return Some(to_text(p));
                }
            }
            queue.extend(processor);
            queue.extend(
                s.get("Branches")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        }
    }
    None
}

pub async fn redrive<B: Backend + ?Sized>(
    b: &B,
    req: ExecutionArnInput,
) -> Result<Value, ApiError> {
    let arn = required("executionArn", req.execution_arn)?;
    check_len("executionArn", &arn, 1, 2000)?;
    if let Some(t) = &req.client_token {
        check_len("clientToken", t, 1, 64)?;
    }
    execution_arn(&arn)?;
    b.redrive_execution(&arn).await?;
    respond(&json!({ "redriveDate": shapes::epoch(b.now()) }))
}
