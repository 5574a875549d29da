//! The `waymark` command line: argument parsing and the exit-code contract (0 when the
//! execution succeeded, 1 when it failed, timed out or was aborted, 2 for an invalid
//! definition or bad arguments, 3 when `run` ends with the execution still waiting for a task
//! token that nothing in `run` can send).

#[macro_use]
mod print;
mod args;
pub mod console;
mod input;
mod run;
mod runtime;
mod serve;
mod server;
mod test_state;
mod validate;

use std::ffi::OsString;

use clap::Parser;

pub use args::{Cli, Command};

pub const EXIT_SUCCEEDED: i32 = 0;
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
/// `run` only: the execution is still running, waiting for something from outside (a
/// `.waitForTaskToken` task's token), which nothing can send while `run` runs.
pub const EXIT_WAITING: i32 = 3;

/// Parses `args` and runs the command; returns the process exit code.
pub fn main<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_SUCCEEDED
            };
        }
    };
    let result = match cli.command {
        Command::Run(a) => {
            // Quiet but for what a run prints on purpose: SNS messages. Not approval links: no
            // server answers them while `run` runs.
            init_logging("warn,waymark::sns=info");
            run::run(a)
        }
        Command::Validate(a) => validate::validate(a),
        Command::Test(a) => {
            init_logging("warn,waymark::sns=info");
            test_state::test(a)
        }
        Command::Serve(a) => {
            init_logging("info");
            serve::serve(a)
        }
        Command::Console(a) => {
            init_logging("info");
            console::console(a)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            tell!("waymark: {e:#}");
            EXIT_USAGE
        }
    }
}

/// One line per request and per execution status change, on stderr (`RUST_LOG` refines it).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
