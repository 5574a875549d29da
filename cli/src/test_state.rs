//! `waymark test`: TestState from the command line. The request goes through the same API
//! operation `waymark serve` answers, over the local runtime's integrations (so a Task that is
//! not mocked calls its service, at --aws-endpoint or --lambda-endpoint).

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use crate::args::TestArgs;
use crate::input::{read_definition, read_input};
use crate::runtime;
use crate::{EXIT_FAILED, EXIT_SUCCEEDED, EXIT_USAGE};

pub fn test(a: TestArgs) -> Result<i32> {
    let definition = read_definition(&a.definition)?;
    let input = read_input(&a.input)?;
    let mut req = Map::new();
    req.insert("definition".into(), json!(definition));
    req.insert("input".into(), json!(input.to_string()));
    req.insert("inspectionLevel".into(), json!(a.inspection_level));
    req.insert("roleArn".into(), json!(a.role_arn));
    if let Some(s) = &a.state {
        req.insert("stateName".into(), json!(s));
    }
    if let Some(v) = &a.variables {
        req.insert("variables".into(), json!(read_input(v)?.to_string()));
    }
    if let Some(c) = &a.context {
        req.insert("context".into(), json!(read_input(c)?.to_string()));
    }
    if let Some(r) = &a.mock_result {
        req.insert(
            "mock".into(),
            json!({"result": read_input(r)?.to_string(), "fieldValidationMode": "NONE"}),
        );
    } else if let Some(e) = &a.mock_error {
        let mut err = json!({"error": e});
        if let Some(c) = &a.mock_cause {
            err["cause"] = json!(c);
        }
        req.insert("mock".into(), json!({"errorOutput": err}));
    }
    if a.retry_count > 0 {
        req.insert(
            "stateConfiguration".into(),
            json!({"retrierRetryCount": a.retry_count}),
        );
    }
    let body = Value::Object(req).to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let response = rt.block_on(async {
        let (local, _mocks) = runtime::open(":memory:", &a.runtime, None).await?;
        anyhow::Ok(
            waymark_api::handle(
                &*local.engine,
                "AWSStepFunctions.TestState",
                body.as_bytes(),
            )
            .await,
        )
    })?;
    let v = response.json();
    if response.status != 200 {
        if a.json {
            say!("{v}");
        } else {
            tell!(
                "{}: {}: {}",
                a.definition.display(),
                v["__type"].as_str().unwrap_or("Error"),
                v["message"].as_str().unwrap_or_default()
            );
        }
        return Ok(EXIT_USAGE);
    }
    if a.json {
        say!("{v}");
    } else {
        print_human(&v);
    }
    Ok(match v["status"].as_str() {
        Some("FAILED") => EXIT_FAILED,
        _ => EXIT_SUCCEEDED,
    })
}

/// The response for a person: status first, then what matters for it.
fn print_human(v: &Value) {
    let text = |k: &str| v.get(k).and_then(Value::as_str);
    say!("status: {}", text("status").unwrap_or("?"));
    if let Some(n) = text("nextState") {
        say!("next state: {n}");
    }
    if let Some(e) = text("error") {
        say!("error: {e}");
    }
    if let Some(c) = text("cause") {
        say!("cause: {c}");
    }
    if let Some(o) = text("output") {
        say!("output: {o}");
    }
    if let Some(Value::Object(d)) = v.get("inspectionData") {
        say!("inspection:");
        for (k, val) in d {
            match val {
                Value::String(s) => say!("  {k}: {s}"),
                other => say!("  {k}: {other}"),
            }
        }
    }
}
