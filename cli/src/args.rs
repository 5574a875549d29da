//! The command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "waymark",
    version,
    about = "Run Amazon States Language state machines: locally, or on AWS with Waymark"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one execution of a state machine and print its result.
    Run(RunArgs),
    /// Check a definition the way AWS does, and print every problem found.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The definition file (ASL JSON).
    pub definition: PathBuf,
    /// The execution input: JSON text, or @FILE to read it from a file.
    #[arg(long, default_value = "{}")]
    pub input: String,
    /// Print one JSON object: status, output or error and cause, and (with --history) the events.
    #[arg(long)]
    pub json: bool,
    /// Include the execution history.
    #[arg(long)]
    pub history: bool,
    /// STANDARD or EXPRESS.
    #[arg(long = "type", default_value = "STANDARD")]
    pub machine_type: String,
    /// Real seconds per second of Wait, retry back-off and timeouts (0: none, time is virtual).
    #[arg(long, default_value_t = 1.0, value_parser = parse_wait_scale)]
    pub wait_scale: f64,
    /// The execution's name (a UUID by default).
    #[arg(long)]
    pub name: Option<String>,
    /// The state machine's name (the file name by default).
    #[arg(long)]
    pub state_machine_name: Option<String>,
    /// Region in ARNs and the context object.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
    /// Account id in ARNs.
    #[arg(long, default_value = "123456789012")]
    pub account: String,
    /// Mocked task responses, in the MockConfigFile format of Step Functions Local.
    #[arg(long, requires = "test_case")]
    pub mock_config: Option<PathBuf>,
    /// The test case of the mock configuration to use.
    #[arg(long, requires = "mock_config")]
    pub test_case: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The definition file (ASL JSON).
    pub definition: PathBuf,
    /// Print one JSON object: {"valid": …, "diagnostics": […]}.
    #[arg(long)]
    pub json: bool,
    /// STANDARD or EXPRESS: some integrations exist only for STANDARD.
    #[arg(long = "type", default_value = "STANDARD")]
    pub machine_type: String,
}

/// A finite, non-negative number of real seconds per workflow second.
pub fn parse_wait_scale(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if !v.is_finite() || !(0.0..=1000.0).contains(&v) {
        return Err(format!(
            "'{s}' must be a number from 0 (no waiting) to 1000"
        ));
    }
    Ok(v)
}
