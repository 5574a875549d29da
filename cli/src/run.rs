//! `waymark run`: one execution on the in-memory engine, printed for a person or as JSON.

use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Map, Value};
use waymark_asl::parse::{parse_text, MachineType, ParseOptions};
use waymark_engine::memory::{
    run_until_settled, MemoryScheduler, MemoryStore, NoTasks, NullNotifier, RandomIds, ScaledClock,
};
use waymark_engine::ports::{ExecutionStore, StateMachine};
use waymark_engine::record::Status;
use waymark_engine::runner::{Config, Engine};
use waymark_tasks::mock::{MockConfig, MockTasks};

use crate::args::RunArgs;
use crate::input::{read_definition, read_input};
use crate::print::{print_diagnostics, print_execution};
use crate::validate::diagnostics_json;
use crate::{EXIT_FAILED, EXIT_SUCCEEDED, EXIT_USAGE};

pub fn run(a: RunArgs) -> Result<i32> {
    let text = read_definition(&a.definition)?;
    let machine_type: MachineType = a.machine_type.parse().map_err(|e: String| anyhow!(e))?;
    let parsed = match parse_text(&text, &ParseOptions { machine_type }) {
        Ok(p) => p,
        Err(errors) => {
            if a.json {
                println!(
                    "{}",
                    json!({"status": "INVALID_DEFINITION", "valid": false, "diagnostics": diagnostics_json(&errors)})
                );
            } else {
                print_diagnostics(&a.definition.display().to_string(), &errors);
            }
            return Ok(EXIT_USAGE);
        }
    };
    let input = read_input(&a.input)?;
    let config = Config {
        role_arn: format!("arn:aws:iam::{}:role/waymark-local", a.account),
        region: a.region.clone(),
        account: a.account.clone(),
    };
    let sm_name = a
        .state_machine_name
        .clone()
        .unwrap_or_else(|| machine_name_from_path(&a.definition));
    let sm = StateMachine::new(
        config.state_machine_arn(&sm_name),
        sm_name,
        text,
        Arc::new(parsed.definition),
        machine_type,
        config.role_arn.clone(),
        chrono::Utc::now(),
    );
    let mocks = match &a.mock_config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the mock configuration {}", path.display())
            })?;
            MockConfig::parse(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => MockConfig::parse("{}")?,
    };
    let tasks = MockTasks::new(mocks, NoTasks);
    if let Some(case) = &a.test_case {
        tasks.select(&sm.name, case)?;
    }
    let store = MemoryStore::default();
    store.put_state_machine(sm.clone());
    let engine = Engine {
        store,
        scheduler: MemoryScheduler::default(),
        tasks,
        notifier: NullNotifier,
        clock: ScaledClock::new(chrono::Utc::now(), a.wait_scale),
        ids: RandomIds,
        config,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("cannot start the runtime")?;
    let (rec, history) = rt.block_on(async {
        let started = engine
            .start_execution(&sm, a.name.as_deref(), input)
            .await?;
        let rec = run_until_settled(&engine, &started.execution_arn).await?;
        let history = engine.store.history(&rec.execution_arn).await?;
        anyhow::Ok((rec, history))
    })?;

    if a.json {
        let mut out = Map::new();
        out.insert("executionArn".into(), json!(rec.execution_arn));
        out.insert("status".into(), json!(rec.status.as_str()));
        if let Some(o) = &rec.output {
            out.insert("output".into(), o.clone());
        }
        if let Some(f) = &rec.failure {
            if let Some(e) = &f.error {
                out.insert("error".into(), json!(e));
            }
            if let Some(c) = &f.cause {
                out.insert("cause".into(), json!(c));
            }
        }
        if a.history {
            out.insert("history".into(), serde_json::to_value(&history)?);
        }
        println!("{}", Value::Object(out));
    } else {
        print_execution(&rec, &history, a.history);
    }
    Ok(match rec.status {
        Status::Succeeded => EXIT_SUCCEEDED,
        _ => EXIT_FAILED,
    })
}

fn machine_name_from_path(path: &std::path::Path) -> String {
    let stem = path
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("StateMachine");
    let stem = stem.trim_end_matches(".json").trim_end_matches(".asl");
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty() {
        "StateMachine".into()
    } else {
        name.chars().take(80).collect()
    }
}
