//! Output for people: status, output and a short history, with colour on a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use waymark_asl::diag::Diagnostic;
use waymark_engine::history::HistoryEvent;
use waymark_engine::record::{ExecutionRecord, Status};

/// Set once a stream could not be written: the rest of its output is dropped.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// Writes one line. A reader that has gone away (`waymark run … | head`) ends the output, not
/// the run: no panic, nothing more is written, and the exit status stays the run's.
fn write_line(out: &mut dyn Write, args: std::fmt::Arguments, gone: &AtomicBool) {
    if gone.load(Ordering::Relaxed) {
        return;
    }
    if out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .is_err()
    {
        gone.store(true, Ordering::Relaxed);
    }
}

pub fn out_line(args: std::fmt::Arguments) {
    write_line(&mut std::io::stdout().lock(), args, &STDOUT_GONE);
}

/// Buffered output to stdout for one long line of JSON written in pieces, with the same rule
/// as [`out_line`]: a reader that has gone away ends the output, not the run.
pub struct StdoutJson {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
}

impl StdoutJson {
    pub fn new() -> Self {
        StdoutJson {
            out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock()),
        }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        if !STDOUT_GONE.load(Ordering::Relaxed) && self.out.write_all(bytes).is_err() {
            STDOUT_GONE.store(true, Ordering::Relaxed);
        }
    }

    pub fn finish(mut self) {
        if !STDOUT_GONE.load(Ordering::Relaxed) && self.out.flush().is_err() {
            STDOUT_GONE.store(true, Ordering::Relaxed);
        }
    }
}

pub fn err_line(args: std::fmt::Arguments) {
    write_line(&mut std::io::stderr().lock(), args, &STDERR_GONE);
}

/// `println!` that survives a closed stdout.
macro_rules! say {
    ($($t:tt)*) => { $crate::print::out_line(format_args!($($t)*)) };
}

/// `eprintln!` that survives a closed stderr.
macro_rules! tell {
    ($($t:tt)*) => { $crate::print::err_line(format_args!($($t)*)) };
}

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
        tell!("{level}[{}]: {}\n  --> {file} at {at}", d.code, d.message);
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        tell!(
            "{}",
            st.red(&format!(
                "{file}: {errors} error(s); the definition is invalid"
            ))
        );
    }
}

/// `note` (why a run that ended still runs) comes after the output and error, before the history.
pub fn print_execution_head(rec: &ExecutionRecord, note: Option<&str>) {
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
    say!(
        "{} {}{}",
        st.bold("Execution"),
        status,
        took.unwrap_or_default()
    );
    say!("{}", st.dim(&rec.execution_arn));
    if let Some(out) = &rec.output {
        say!("\n{}", st.bold("Output"));
        say!("{}", serde_json::to_string_pretty(out).unwrap_or_default());
    }
    if let Some(f) = &rec.failure {
        say!(
            "\n{} {}",
            st.bold("Error"),
            st.red(f.error.as_deref().unwrap_or("(none)"))
        );
        if let Some(c) = &f.cause {
            say!("{} {}", st.bold("Cause"), c);
        }
    }
    if let Some(note) = note {
        say!("\n{note}");
    }
    say!("\n{}", st.bold("History"));
}

/// The history under the head, fed one event at a time so a 25,000-event history is never
/// held whole: `full` prints every event as it comes, the summary keeps only its first and
/// last lines.
pub struct HistoryPrinter {
    st: Style,
    full: bool,
    summary: Elided,
}

impl HistoryPrinter {
    pub fn new(full: bool) -> HistoryPrinter {
        HistoryPrinter {
            st: Style::stdout(),
            full,
            summary: Elided::new(SUMMARY_HEAD, SUMMARY_TAIL),
        }
    }

    pub fn event(&mut self, e: &HistoryEvent) {
        let st = &self.st;
        let details = e.details_json();
        let name = details
            .values()
            .find_map(|d| d.get("name").and_then(Value::as_str))
            .unwrap_or("");
        let failed = e.event_type.ends_with("Failed")
            || e.event_type.ends_with("TimedOut")
            || e.event_type.ends_with("Aborted");
        if self.full {
            let line = format!("{:>4} {:<28} {}", e.id, e.event_type, name);
            say!("{}", if failed { st.red(&line) } else { line });
            for v in details.values() {
                say!("       {}", st.dim(&v.to_string()));
            }
        } else if let Some(kind) = e.event_type.strip_suffix("StateEntered") {
            self.summary.push(format!("  {:<9} {}", st.dim(kind), name));
        } else if failed {
            let detail = details.values().next().map(|d| {
                let err = d.get("error").and_then(Value::as_str).unwrap_or("");
                let cause = d.get("cause").and_then(Value::as_str).unwrap_or("");
                format!("{err} {cause}")
            });
            self.summary.push(format!(
                "  {}",
                st.red(&format!("{} {}", e.event_type, detail.unwrap_or_default()))
            ));
        }
    }

    pub fn finish(self) {
        for line in self.summary.lines() {
            say!("{line}");
        }
    }
}

/// The summary shows the start and the end of a long history (a loop may leave 25,000 events);
/// `--history` prints them all.
const SUMMARY_HEAD: usize = 30;
const SUMMARY_TAIL: usize = 20;

/// The first `head` and last `tail` of a stream of lines, and how many fell between.
struct Elided {
    head: usize,
    tail: usize,
    first: Vec<String>,
    last: std::collections::VecDeque<String>,
    hidden: usize,
}

impl Elided {
    fn new(head: usize, tail: usize) -> Elided {
        Elided {
            head,
            tail,
            first: Vec::new(),
            last: std::collections::VecDeque::new(),
            hidden: 0,
        }
    }

    fn push(&mut self, line: String) {
        if self.first.len() < self.head {
            self.first.push(line);
            return;
        }
        self.last.push_back(line);
        // One more than `tail` is kept: a single hidden line is shown rather than elided.
        if self.last.len() > self.tail + 1 {
            self.last.pop_front();
            self.hidden += 1;
        }
    }

    fn lines(mut self) -> Vec<String> {
        if self.hidden > 0 {
            // What was held back as the possible single hidden line is hidden too.
            self.last.pop_front();
            self.first.push(format!(
                "  … {} more (--history shows every event)",
                self.hidden + 1
            ));
        }
        self.first.extend(self.last);
        self.first
    }
}

#[cfg(test)]
mod tests {
    use super::Elided;

    fn numbered(n: usize) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    fn elide(lines: Vec<String>, head: usize, tail: usize) -> Vec<String> {
        let mut e = Elided::new(head, tail);
        for l in lines {
            e.push(l);
        }
        e.lines()
    }

    #[test]
    fn long_summaries_keep_their_start_and_end() {
        let out = elide(numbered(100), 3, 2);
        assert_eq!(
            out,
            [
                "0",
                "1",
                "2",
                "  … 95 more (--history shows every event)",
                "98",
                "99"
            ]
        );
        assert_eq!(elide(numbered(6), 3, 2), numbered(6));
        assert_eq!(elide(numbered(7), 3, 2).len(), 6);
        assert_eq!(elide(numbered(2), 3, 2), numbered(2));
        assert_eq!(elide(numbered(0), 3, 2), numbered(0));
    }
}
