//! Output for people: status, output and a short history, with colour on a terminal.

use std::io::IsTerminal;

use serde_json::Value;
use waymark_asl::diag::Diagnostic;
use waymark_engine::history::HistoryEvent;
use waymark_engine::record::{ExecutionRecord, Status};

struct Style {
    on: bool,
}

impl Style {
    fn stdout() -> Self {
        Style {
            on: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
    fn stderr() -> Self {
        Style {
            on: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

pub fn print_diagnostics(file: &str, diagnostics: &[Diagnostic]) {
    let st = Style::stderr();
    for d in diagnostics {
        let level = if d.is_error() {
            st.red("error")
        } else {
            st.paint("33", "warning")
        };
        let at = if d.path.is_empty() { "/" } else { &d.path };
        eprintln!("{level}[{}]: {}\n  --> {file} at {at}", d.code, d.message);
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        eprintln!(
            "{}",
            st.red(&format!(
                "{file}: {errors} error(s); the definition is invalid"
            ))
        );
    }
}

pub fn print_execution(rec: &ExecutionRecord, history: &[HistoryEvent], full: bool) {
    let st = Style::stdout();
    let status = match rec.status {
        Status::Succeeded => st.green(rec.status.as_str()),
        Status::Running => st.bold(rec.status.as_str()),
        _ => st.red(rec.status.as_str()),
    };
    let took = rec
        .stop_time
        .map(|t| t - rec.start_time)
        .map(|d| format!(" in {} ms", d.num_milliseconds()));
    println!(
        "{} {}{}",
        st.bold("Execution"),
        status,
        took.unwrap_or_default()
    );
    println!("{}", st.dim(&rec.execution_arn));
    if let Some(out) = &rec.output {
        println!("\n{}", st.bold("Output"));
        println!("{}", serde_json::to_string_pretty(out).unwrap_or_default());
    }
    if let Some(f) = &rec.failure {
        println!(
            "\n{} {}",
            st.bold("Error"),
            st.red(f.error.as_deref().unwrap_or("(none)"))
        );
        if let Some(c) = &f.cause {
            println!("{} {}", st.bold("Cause"), c);
        }
    }
    if rec.status == Status::Running {
        println!("\nThe execution is still running: it waits for something from outside (a task token?).");
    }
    println!("\n{}", st.bold("History"));
    for e in history {
        let name = e
            .details
            .values()
            .find_map(|d| d.get("name").and_then(Value::as_str))
            .unwrap_or("");
        let failed = e.event_type.ends_with("Failed")
            || e.event_type.ends_with("TimedOut")
            || e.event_type.ends_with("Aborted");
        if full {
            let line = format!("{:>4} {:<28} {}", e.id, e.event_type, name);
            println!("{}", if failed { st.red(&line) } else { line });
            for v in e.details.values() {
                println!("       {}", st.dim(&v.to_string()));
            }
        } else if let Some(kind) = e.event_type.strip_suffix("StateEntered") {
            println!("  {:<9} {}", st.dim(kind), name);
        } else if failed {
            let detail = e.details.values().next().map(|d| {
                let err = d.get("error").and_then(Value::as_str).unwrap_or("");
                let cause = d.get("cause").and_then(Value::as_str).unwrap_or("");
                format!("{err} {cause}")
            });
            println!(
                "  {}",
                st.red(&format!("{} {}", e.event_type, detail.unwrap_or_default()))
            );
        }
    }
}
