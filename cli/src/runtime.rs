//! Opening the local runtime from command-line options, for `run` and `serve` alike.

use std::sync::Arc;

use anyhow::{Context, Result};
use waymark_asl::parse::{parse_text, MachineType, ParseOptions};
use waymark_engine::ports::{Clock, StateMachine, StateMachineStore};
use waymark_engine::runner::Config;
use waymark_local::{Local, LocalOptions};
use waymark_tasks::mock::MockConfig;
use waymark_tasks::TaskConfig;

use crate::args::RuntimeArgs;

/// Opens the runtime (its database, task worker and integrations) and finishes whatever a
/// previous process left half-done. Must be called inside the tokio runtime.
pub async fn open(
    db: &str,
    a: &RuntimeArgs,
    approvals: Option<waymark_engine::runner::ApprovalLinks>,
) -> Result<(Local, MockConfig)> {
    let mocks = match &a.mock_config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the mock configuration {}", path.display())
            })?;
            MockConfig::parse(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => MockConfig::parse("{}")?,
    };
    let mut tasks = TaskConfig::new(a.region.clone());
    if let Some(e) = &a.lambda_endpoint {
        tasks = tasks.with_lambda_endpoint(e.clone());
    }
    if let Some(e) = &a.aws_endpoint {
        tasks = tasks.with_aws_endpoint(e.clone());
    }
    let reach = waymark_local::Reach::from_endpoints(
        a.lambda_endpoint.is_some(),
        a.aws_endpoint.is_some(),
        a.real_aws,
    );
    let integrations = waymark_local::integrations(mocks.clone(), &tasks, reach);
    let config = Config {
        role_arn: format!("arn:aws:iam::{}:role/waymark-local", a.account),
        region: a.region.clone(),
        account: a.account.clone(),
        step_budget: a.step_budget,
        ..Config::default()
    };
    let local = Local::open(
        LocalOptions {
            db: db.to_string(),
            wait_scale: a.wait_scale,
            config,
            approvals,
        },
        integrations,
    )
    .with_context(|| format!("cannot open the database {db}"))?;
    let recovered = local
        .recover()
        .await
        .context("cannot recover unfinished work")?;
    if recovered > 0 {
        tracing::info!("resumed {recovered} execution step(s) left unfinished by a previous run");
    }
    Ok((local, mocks))
}

/// Registers `text` under `name`: created, or a new revision when the stored one differs.
pub async fn register(
    local: &Local,
    name: &str,
    text: String,
    machine_type: MachineType,
) -> Result<StateMachine, Vec<waymark_asl::diag::Diagnostic>> {
    let parsed = parse_text(&text, &ParseOptions { machine_type })?;
    let config = &local.engine.config;
    let arn = config.state_machine_arn(name);
    // Dated on the runtime's clock, as everything it records.
    let now = local.clock.now();
    let internal = |e: waymark_engine::ports::StoreError| {
        vec![waymark_asl::diag::Diagnostic::error(
            "INTERNAL",
            "",
            e.to_string(),
        )]
    };
    let existing = local
        .store
        .get_state_machine(&arn)
        .await
        .map_err(internal)?;
    let mut sm = StateMachine::new(
        arn,
        name.to_string(),
        text,
        Arc::new(parsed.definition),
        machine_type,
        config.role_arn.clone(),
        now,
    );
    match existing {
        None => local
            .store
            .create_state_machine(&sm)
            .await
            .map_err(internal)?,
        Some(old)
            if old.definition_text == sm.definition_text && old.machine_type == machine_type =>
        {
            return Ok(old)
        }
        Some(old) => {
            sm.revision = old.revision + 1;
            sm.created = old.created;
            local
                .store
                .update_state_machine(&sm)
                .await
                .map_err(internal)?;
        }
    }
    Ok(sm)
}
