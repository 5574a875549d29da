//! The Map Run operations: ListMapRuns, DescribeMapRun and UpdateMapRun, over the runs an
//! execution's record keeps of its distributed Maps. Waymark runs a distributed Map's
//! iterations inside the execution; a run's execution counts are its iteration counts (one
//! per item, or per batch with an ItemBatcher). The local home also keeps each iteration as a
//! child execution (ListExecutions by `mapRunArn`, DescribeExecution: see `executions.rs`).

use serde::Deserialize;
use serde_json::{json, Value};
use waymark_engine::record::{ExecutionRecord, MapRun, Phase};
use waymark_engine::step::Signal;

use crate::backend::Backend;
use crate::error::ApiError;
use crate::names::execution_arn;
use crate::ops::respond;
use crate::pages;
use crate::shapes::{self, check_len, page_size, required};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListMapRunsInput {
    pub execution_arn: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MapRunArnInput {
    pub map_run_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UpdateMapRunInput {
    pub map_run_arn: Option<String>,
    pub max_concurrency: Option<i64>,
    pub tolerated_failure_percentage: Option<f64>,
    pub tolerated_failure_count: Option<i64>,
}

/// The execution a map run ARN belongs to: `…:mapRun:MACHINE:EXECUTION/STATE:N` is a run of
/// `…:execution:MACHINE:EXECUTION`.
fn execution_of(map_run_arn: &str) -> Result<String, ApiError> {
    check_len("mapRunArn", map_run_arn, 1, 2000)?;
    let bad = || ApiError::invalid_arn(map_run_arn);
    let (head, _) = map_run_arn.split_once('/').ok_or_else(bad)?;
    if !head.contains(":mapRun:") {
        return Err(bad());
    }
    let exec = head.replacen(":mapRun:", ":execution:", 1);
    execution_arn(&exec).map_err(|_| bad())?;
    Ok(exec)
}

pub(crate) async fn find<B: Backend + ?Sized>(
    b: &B,
    map_run_arn: &str,
) -> Result<(ExecutionRecord, MapRun), ApiError> {
    let exec = execution_of(map_run_arn)?;
    let rec = b
        .execution(&exec)
        .await?
        .ok_or_else(|| ApiError::resource_not_found(map_run_arn))?;
    let run = rec
        .map_runs
        .iter()
        .find(|r| r.arn == map_run_arn)
        .cloned()
        .ok_or_else(|| ApiError::resource_not_found(map_run_arn))?;
    Ok((rec, run))
}

/// A run's status and end: one left RUNNING by an execution that ended was aborted with it.
pub(crate) fn status_of(
    rec: &ExecutionRecord,
    run: &MapRun,
) -> (String, Option<chrono::DateTime<chrono::Utc>>) {
    match run.status.as_str() {
        "RUNNING" if rec.status.is_terminal() => ("ABORTED".to_string(), rec.stop_time),
        s => (s.to_string(), run.stop),
    }
}

/// Where a run stands: its status, end and counts, live from the Map's frame while it runs.
/// A run left RUNNING by an execution that ended (stopped, failed elsewhere) was aborted.
fn standing(rec: &ExecutionRecord, run: &MapRun) -> (String, Option<f64>, Value) {
    let live = rec.frames.get(&run.frame).and_then(|f| match &f.phase {
        Phase::Children(fan) if fan.id == run.fanout => Some(fan),
        _ => None,
    });
    let (status, stop) = status_of(rec, run);
    let stop = stop.map(shapes::epoch);
    let (pending, running, succeeded, failed, aborted) = match live {
        Some(f) if status == "RUNNING" => {
            (f.total - f.started, f.running, f.succeeded, f.failed, 0)
        }
        _ if status == "ABORTED" && run.stop.is_none() => (
            0,
            0,
            run.succeeded,
            run.failed,
            run.total - run.succeeded - run.failed,
        ),
        _ => (0, 0, run.succeeded, run.failed, run.aborted),
    };
    let counts = json!({
        "pending": pending,
        "running": running,
        "succeeded": succeeded,
        "failed": failed,
        "timedOut": 0,
        "aborted": aborted,
        "total": run.total,
        "resultsWritten": 0,
        "failuresNotRedrivable": 0,
        "pendingRedrive": 0,
    });
    (status, stop, counts)
}

pub async fn list<B: Backend + ?Sized>(b: &B, req: ListMapRunsInput) -> Result<Value, ApiError> {
    let arn = required("executionArn", req.execution_arn)?;
    let max = page_size(req.max_results, 1000, 100)?;
    execution_arn(&arn)?;
    let rec = b
        .execution(&arn)
        .await?
        .ok_or_else(|| ApiError::execution_does_not_exist(&arn))?;
    let scope = format!("ListMapRuns|{arn}");
    let start = pages::offset(&scope, req.next_token.as_deref())?;
    let runs: Vec<Value> = rec
        .map_runs
        .iter()
        .skip(start)
        .take(max)
        .map(|run| {
            let (_, stop, _) = standing(&rec, run);
            let mut v = json!({
                "executionArn": rec.execution_arn,
                "mapRunArn": run.arn,
                "stateMachineArn": rec.state_machine_arn,
                "startDate": shapes::epoch(run.start),
            });
            if let Some(s) = stop {
                v["stopDate"] = json!(s);
            }
            v
        })
        .collect();
    let mut out = json!({ "mapRuns": runs });
    if let Some(t) = pages::next_offset(&scope, start, max, rec.map_runs.len()) {
        out["nextToken"] = Value::String(t);
    }
    Ok(out)
}

pub async fn describe<B: Backend + ?Sized>(b: &B, req: MapRunArnInput) -> Result<Value, ApiError> {
    let arn = required("mapRunArn", req.map_run_arn)?;
    let (rec, run) = find(b, &arn).await?;
    let (status, stop, counts) = standing(&rec, &run);
    let mut out = json!({
        "mapRunArn": run.arn,
        "executionArn": rec.execution_arn,
        "status": status,
        "startDate": shapes::epoch(run.start),
        "maxConcurrency": run.max_concurrency,
        "toleratedFailurePercentage": run.tolerated_percentage.unwrap_or(0.0),
        "toleratedFailureCount": run.tolerated_count.unwrap_or(0),
        "itemCounts": counts,
        "executionCounts": counts,
        "redriveCount": 0,
    });
    if let Some(s) = stop {
        out["stopDate"] = json!(s);
    }
    respond(&out)
}

pub async fn update<B: Backend + ?Sized>(b: &B, req: UpdateMapRunInput) -> Result<Value, ApiError> {
    let arn = required("mapRunArn", req.map_run_arn)?;
    if req.max_concurrency.is_none()
        && req.tolerated_failure_percentage.is_none()
        && req.tolerated_failure_count.is_none()
    {
        return Err(ApiError::ValidationException(
            "At least one of maxConcurrency, toleratedFailurePercentage and toleratedFailureCount must be specified".into(),
        ));
    }
    if let Some(n) = req.max_concurrency {
        if n < 0 {
            return Err(ApiError::validation(
                "maxConcurrency",
                n,
                "Member must have value greater than or equal to 0",
            ));
        }
    }
    if let Some(p) = req.tolerated_failure_percentage {
        if !(0.0..=100.0).contains(&p) {
            return Err(ApiError::validation(
                "toleratedFailurePercentage",
                p,
                "Member must have value between 0 and 100",
            ));
        }
    }
    if let Some(n) = req.tolerated_failure_count {
        if n < 0 {
            return Err(ApiError::validation(
                "toleratedFailureCount",
                n,
                "Member must have value greater than or equal to 0",
            ));
        }
    }
    let (rec, run) = find(b, &arn).await?;
    let (status, _, _) = standing(&rec, &run);
    if status != "RUNNING" {
        return Err(ApiError::ValidationException(format!(
            "The map run '{arn}' is {status}: only a running map run can be updated"
        )));
    }
    let signal = Signal::UpdateMapRun {
        fanout: run.fanout,
        max_concurrency: req.max_concurrency.map(|n| n as u64),
        tolerated_count: req.tolerated_failure_count.map(|n| n as u64),
        tolerated_percentage: req.tolerated_failure_percentage,
    };
    b.deliver(&rec.execution_arn, signal).await?;
    Ok(json!({}))
}
