//! `waymark validate`.

use anyhow::{anyhow, Result};
use serde_json::json;
use waymark_asl::diag::Diagnostic;
use waymark_asl::parse::{parse_text, MachineType, ParseOptions};

use crate::args::ValidateArgs;
use crate::input::read_definition;
use crate::print::print_diagnostics;
use crate::{EXIT_SUCCEEDED, EXIT_USAGE};

pub fn validate(a: ValidateArgs) -> Result<i32> {
    let text = read_definition(&a.definition)?;
    let machine_type: MachineType = a.machine_type.parse().map_err(|e: String| anyhow!(e))?;
    let (valid, diagnostics) = match parse_text(&text, &ParseOptions { machine_type }) {
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

pub fn diagnostics_json(diagnostics: &[Diagnostic]) -> serde_json::Value {
    serde_json::to_value(diagnostics).unwrap_or_default()
}
