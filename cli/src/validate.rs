//! `waymark validate`.

use anyhow::{anyhow, Result};
use serde_json::json;
use waymark_api::ops::task_checks::check_tasks_with;
use waymark_asl::diag::Diagnostic;
use waymark_asl::parse::{parse_text, MachineType, ParseOptions, Parsed};

use crate::args::ValidateArgs;
use crate::input::read_definition;
use crate::print::print_diagnostics;
use crate::{EXIT_SUCCEEDED, EXIT_USAGE};

pub fn validate(a: ValidateArgs) -> Result<i32> {
    let text = read_definition(&a.definition)?;
    let machine_type: MachineType = a.machine_type.parse().map_err(|e: String| anyhow!(e))?;
    let (valid, diagnostics) = match checked(&text, machine_type, false) {
        Ok(parsed) => (true, parsed.warnings),
        Err(errors) => (false, errors),
    };
    if a.json {
        say!(
            "{}",
            json!({"valid": valid, "diagnostics": diagnostics_json(&diagnostics)})
        );
    } else {
        if valid {
            say!("{}: valid", a.definition.display());
        }
        print_diagnostics(&a.definition.display().to_string(), &diagnostics);
    }
    Ok(if valid { EXIT_SUCCEEDED } else { EXIT_USAGE })
}

/// Parses and validates a definition as CreateStateMachine does: the language's checks, then
/// the Task states' resources and literal parameters against what the integrations take
/// (an `aws-sdk` action that does not exist, a parameter it does not take).
///
/// With `mocked`, integrations Waymark does not run are let through: a mock may answer them.
pub fn checked(
    text: &str,
    machine_type: MachineType,
    mocked: bool,
) -> Result<Parsed, Vec<Diagnostic>> {
    let parsed = parse_text(text, &ParseOptions { machine_type })?;
    let refused = check_tasks_with(
        &parsed.definition.graph,
        &|what| match waymark_tasks::aws::check(what) {
            waymark_tasks::aws::Checked::Done(Err(why))
                if mocked && why.starts_with(waymark_tasks::aws::NOT_BUILT_PREFIX) =>
            {
                Ok(())
            }
            waymark_tasks::aws::Checked::Done(r) => r,
            waymark_tasks::aws::Checked::Fallback => Ok(()),
        },
    );
    if refused.is_empty() {
        Ok(parsed)
    } else {
        Err(refused)
    }
}

pub fn diagnostics_json(diagnostics: &[Diagnostic]) -> serde_json::Value {
    serde_json::to_value(diagnostics).unwrap_or_default()
}
