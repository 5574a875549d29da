//! The command-line grammar.

use std::path::PathBuf;
use std::time::Duration;

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
    /// Serve the Step Functions API on localhost, over the embedded database, for the AWS CLI
    /// and SDKs (--endpoint-url http://127.0.0.1:8083).
    Serve(ServeArgs),
    /// Run one state once with an input (Step Functions' TestState) and print what it did:
    /// its output or error, the next state, and with --inspection-level DEBUG every stage of
    /// its data flow.
    Test(TestArgs),
    /// Serve the console on localhost for a Waymark deployed on AWS: its API calls are signed
    /// with your AWS credentials (SigV4, the standard credential chain) and sent to --endpoint.
    Console(ConsoleArgs),
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The deployed Waymark's API (the stack's ApiUrl output),
    /// e.g. https://abc123.execute-api.eu-west-1.amazonaws.com
    #[arg(long)]
    pub endpoint: String,
    /// The port on 127.0.0.1 to serve the console on (0: any free port).
    #[arg(long, default_value_t = 8084)]
    pub port: u16,
    /// The region requests are signed for (default: the one in the endpoint's host name, else
    /// the AWS configuration's).
    #[arg(long)]
    pub region: Option<String>,
}

/// How the local runtime runs: where its data is, how time passes, where tasks go.
#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// Real seconds per second of Wait, retry back-off and timeouts (0: none, time is virtual).
    #[arg(long, default_value_t = 1.0, value_parser = parse_wait_scale)]
    pub wait_scale: f64,
    /// Transitions an execution takes in one step before it lets others (and a
    /// StopExecution) in.
    #[arg(long, default_value_t = waymark_engine::step::DEFAULT_STEP_BUDGET, value_parser = parse_step_budget)]
    pub step_budget: usize,
    /// Region in ARNs and the context object.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
    /// Account id in ARNs.
    #[arg(long, default_value = "123456789012")]
    pub account: String,
    /// Where Lambda tasks are invoked (e.g. `sam local start-lambda`: http://127.0.0.1:3001).
    #[arg(long)]
    pub lambda_endpoint: Option<String>,
    /// Where SNS, SQS and DynamoDB tasks go (e.g. a moto server: http://127.0.0.1:5000).
    #[arg(long)]
    pub aws_endpoint: Option<String>,
    /// Let Task states without an endpoint call AWS itself (with the usual AWS credentials).
    #[arg(long)]
    pub real_aws: bool,
    /// Mocked task responses, in the MockConfigFile format of Step Functions Local.
    #[arg(long)]
    pub mock_config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[arg(long, default_value_t = 8083)]
    pub port: u16,
    /// The database file (`:memory:` for none).
    #[arg(long, default_value = ".waymark/waymark.db")]
    pub db: String,
    /// The address approval links point at (default: http://HOST:PORT).
    #[arg(long)]
    pub public_url: Option<String>,
    /// What rejecting an approval does: `output` (the task succeeds with
    /// {"approved": false, …}) or `fail` (the task fails with Approval.Rejected).
    #[arg(long, default_value = "output", value_parser = ["output", "fail"])]
    pub approval_reject: String,
    /// Seconds a client has, once its connection is ready for a request, to send the request's
    /// whole header (this also ends connections kept alive without a next request).
    #[arg(long, default_value = "30", value_parser = parse_seconds)]
    pub header_timeout: Duration,
    /// Seconds a connection may sit with nothing moving and no request being handled.
    #[arg(long, default_value = "15", value_parser = parse_seconds)]
    pub idle_timeout: Duration,
    /// Seconds a client has to send a request's body, from its header on.
    #[arg(long, default_value = "60", value_parser = parse_seconds)]
    pub body_timeout: Duration,
    /// Connections served at once; more wait until one closes.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_connections: u32,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "Exit status:
  0  the execution succeeded
  1  the execution failed, timed out or was aborted
  2  the definition is invalid, or the arguments are wrong
  3  the execution is still running: a .waitForTaskToken task waits for a task token,
     which nothing can send while `run` runs (--json says which state in `cause` and
     `waitingFor`; use `waymark serve` and SendTaskSuccess, or --mock-config)")]
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
    /// Write the graph of the finished run to this HTML page: each state coloured by what
    /// happened to it, its input and output a click away (opens in any browser, no server).
    #[arg(long, value_name = "FILE.html")]
    pub graph: Option<PathBuf>,
    /// STANDARD or EXPRESS.
    #[arg(long = "type", default_value = "STANDARD")]
    pub machine_type: String,
    /// The execution's name (a UUID by default).
    #[arg(long)]
    pub name: Option<String>,
    /// The state machine's name (the file name by default).
    #[arg(long)]
    pub state_machine_name: Option<String>,
    /// The database file (in memory by default).
    #[arg(long, default_value = ":memory:")]
    pub db: String,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// The test case of the mock configuration to use.
    #[arg(long, requires = "mock_config")]
    pub test_case: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Exit status:
  0  the state succeeded, or its error was caught or would be retried (status
     SUCCEEDED, CAUGHT_ERROR or RETRIABLE)
  1  the state failed (status FAILED)
  2  the definition or the arguments are invalid (TestState refused the request)")]
pub struct TestArgs {
    /// The definition file: one state (`{\"Type\": \"Pass\", …}`) or a whole state machine.
    pub definition: PathBuf,
    /// The state to test, in a whole state machine (its StartAt by default).
    #[arg(long)]
    pub state: Option<String>,
    /// The state's input: JSON text, or @FILE to read it from a file.
    #[arg(long, default_value = "{}")]
    pub input: String,
    /// INFO (output, error, next state), DEBUG (and every stage of the data flow) or TRACE.
    #[arg(long, default_value = "INFO", value_parser = ["INFO", "DEBUG", "TRACE"])]
    pub inspection_level: String,
    /// Variables in scope, as a JSON object (or @FILE).
    #[arg(long)]
    pub variables: Option<String>,
    /// The task's result, instead of calling its service (JSON text or @FILE).
    #[arg(long, conflicts_with = "mock_error")]
    pub mock_result: Option<String>,
    /// The task's error, instead of calling its service.
    #[arg(long)]
    pub mock_error: Option<String>,
    /// The cause that goes with --mock-error.
    #[arg(long, requires = "mock_error")]
    pub mock_cause: Option<String>,
    /// Retries already made by the retrier that matches the error.
    #[arg(long, default_value_t = 0)]
    pub retry_count: u32,
    /// The context object's fields to set, as JSON (e.g. {\"Execution\": {\"Name\": \"e1\"}}).
    #[arg(long)]
    pub context: Option<String>,
    /// The role the task's call takes (TestState's roleArn); needed for a Task that is not
    /// mocked.
    #[arg(long, default_value = "arn:aws:iam::123456789012:role/waymark-local")]
    pub role_arn: String,
    /// Print TestState's response as JSON, exactly as the API gives it.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
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

/// A time limit in seconds: more than 0, at most an hour (fractions allowed, for tests).
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !v.is_finite() || v <= 0.0 || v > 3600.0 {
        return Err(format!(
            "'{s}' must be more than 0 and at most 3600 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// A number of transitions from 1 to a million.
pub fn parse_step_budget(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' must be a whole number from 1 to 1000000")),
    }
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
