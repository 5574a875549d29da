//! `waymark run`: one execution on the in-memory engine, printed for a person or as JSON.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value};
use waymark_asl::parse::MachineType;
use waymark_engine::history::HistoryEvent;
use waymark_engine::ports::ExecutionStore;
use waymark_engine::record::{ExecutionRecord, Phase, Status};

use crate::args::RunArgs;
use crate::input::{read_definition, read_input};
use crate::print::{print_diagnostics, print_execution_head, HistoryPrinter};
use crate::runtime;
use crate::validate::diagnostics_json;
use crate::{EXIT_FAILED, EXIT_SUCCEEDED, EXIT_USAGE, EXIT_WAITING};

pub fn run(a: RunArgs) -> Result<i32> {
    let text = read_definition(&a.definition)?;
    let machine_type: MachineType = a.machine_type.parse().map_err(|e: String| anyhow!(e))?;
    // Validate before anything else, so that a bad definition is exit 2 without side effects.
    if let Err(errors) =
        crate::validate::checked(&text, machine_type, a.runtime.mock_config.is_some())
    {
        if a.json {
            say!(
                "{}",
                json!({"status": "INVALID_DEFINITION", "valid": false, "diagnostics": diagnostics_json(&errors)})
            );
        } else {
            print_diagnostics(&a.definition.display().to_string(), &errors);
        }
        return Ok(EXIT_USAGE);
    }
    if let Some(path) = &a.graph {
        if path.extension().and_then(|e| e.to_str()) != Some("html") {
            bail!(
                "--graph {}: the graph is written as an HTML page; give a file name ending in .html",
                path.display()
            );
        }
    }
    let input = read_input(&a.input)?;
    if a.runtime.mock_config.is_some() && a.test_case.is_none() {
        bail!("--mock-config needs --test-case NAME to say which test case to run");
    }
    if let Some(name) = &a.name {
        waymark_api::names::check_name(name).map_err(|e| anyhow!("--name: {e}"))?;
    }
    let sm_name = a
        .state_machine_name
        .clone()
        .unwrap_or_else(|| machine_name_from_path(&a.definition));
    waymark_api::names::check_name(&sm_name).map_err(|e| anyhow!("the state machine name: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let (local, mocks) = runtime::open(&a.db, &a.runtime, Some(run_links())).await?;
        if let Some(case) = &a.test_case {
            if !mocks.has_test_case(&sm_name, case) {
                bail!("the mock configuration has no test case '{case}' for the state machine '{sm_name}'");
            }
        }
        let sm = match runtime::register(&local, &sm_name, text, machine_type).await {
            Ok(sm) => sm,
            Err(errors) => bail!("{}", errors.first().map(|d| d.to_string()).unwrap_or_default()),
        };
        let started = local
            .engine
            .start_execution_with(&sm, a.name.as_deref(), input, a.test_case.as_deref())
            .await?;
        let rec = local.run_until_settled(&started.execution_arn).await?;
        // The whole history is read back only for the graph; `--json --history` and the
        // summary read it a page at a time, and `--json` alone not at all.
        let history = if a.graph.is_some() {
            local.store.history(&rec.execution_arn).await?
        } else {
            Vec::new()
        };
        if let Some(path) = &a.graph {
            write_graph(path, &sm.definition_text, &rec, &history)?;
        }
        if a.json {
            let loaded = a.graph.is_some().then_some(history.as_slice());
            print_json(&a, &rec, loaded, &local.store).await?;
        } else {
            let note = (rec.status == Status::Running).then(|| waiting_cause(&waiting_for(&rec)));
            print_execution_head(&rec, note.as_deref());
            let mut printer = HistoryPrinter::new(a.history);
            if a.graph.is_some() {
                history.iter().for_each(|e| printer.event(e));
            } else {
                let mut token = None;
                loop {
                    let page = local
                        .store
                        .history_page(&rec.execution_arn, false, HISTORY_PAGE, token.as_deref())
                        .await?;
                    page.items.iter().for_each(|e| printer.event(e));
                    token = page.next_token;
                    if token.is_none() {
                        break;
                    }
                }
            }
            printer.finish();
        }
        Ok(match rec.status {
            Status::Succeeded => EXIT_SUCCEEDED,
            Status::Running => EXIT_WAITING,
            _ => EXIT_FAILED,
        })
    })
}

/// `--graph`: the run's graph as a page of its own.
fn write_graph(
    path: &std::path::Path,
    definition: &str,
    rec: &ExecutionRecord,
    history: &[HistoryEvent],
) -> Result<()> {
    let events = history
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()?;
    let view = waymark_api::console::view(definition, Some(&events)).map_err(|e| anyhow!(e))?;
    let title = format!("{} — {}", rec.name, rec.status.as_str());
    std::fs::write(path, waymark_api::console::standalone_page(&title, &view))
        .with_context(|| format!("cannot write the graph to {}", path.display()))
}

/// `run` serves no pages, but workflows that put approval links in their messages must run
/// the same way: the links point where `waymark serve` would answer them.
fn run_links() -> waymark_engine::runner::ApprovalLinks {
    let links = waymark_api::approvals::Links::new(
        waymark_api::approvals::ApprovalKey::random(),
        "http://127.0.0.1:8083",
    );
    Box::new(move |token, expires| links.make(token, expires))
}

/// Events read back at a time for the summary.
const HISTORY_PAGE: usize = 1000;

/// `--json`: one object. With `--history`, its events are written as they are read, a page at
/// a time (a history of 25,000 events is megabytes of JSON: never held twice over).
async fn print_json(
    a: &RunArgs,
    rec: &ExecutionRecord,
    loaded: Option<&[HistoryEvent]>,
    store: &waymark_local::SqliteStore,
) -> Result<()> {
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
    if rec.status == Status::Running {
        let waits = waiting_for(rec);
        out.insert("cause".into(), json!(waiting_cause(&waits)));
        out.insert(
            "waitingFor".into(),
            Value::Array(
                waits
                    .iter()
                    .map(|w| json!({"state": w.state, "resource": w.resource, "waitsFor": w.what}))
                    .collect(),
            ),
        );
    }
    if !a.history {
        say!("{}", Value::Object(out));
        return Ok(());
    }
    let head = Value::Object(out).to_string();
    let head = head.strip_suffix('}').unwrap_or(&head);
    let mut w = crate::print::StdoutJson::new();
    w.write(head.as_bytes());
    w.write(if head.len() > 1 {
        b",\"history\":["
    } else {
        b"\"history\":["
    });
    let mut first = true;
    let mut event = |w: &mut crate::print::StdoutJson, e: &HistoryEvent| -> Result<()> {
        if !first {
            w.write(b",");
        }
        first = false;
        w.write(&serde_json::to_vec(e)?);
        Ok(())
    };
    match loaded {
        Some(history) => {
            for e in history {
                event(&mut w, e)?;
            }
        }
        None => {
            let mut token = None;
            loop {
                let page = store
                    .history_page(&rec.execution_arn, false, HISTORY_PAGE, token.as_deref())
                    .await?;
                for e in &page.items {
                    event(&mut w, e)?;
                }
                token = page.next_token;
                if token.is_none() {
                    break;
                }
            }
        }
    }
    w.write(b"]}\n");
    w.finish();
    Ok(())
}

/// A task an execution that `run` left running still waits for.
struct Waiting {
    state: String,
    resource: String,
    /// `TASK_TOKEN` (`.waitForTaskToken`) or `TASK` (a task still in flight).
    what: &'static str,
}

/// The tasks in flight in a settled run, in frame order.
fn waiting_for(rec: &ExecutionRecord) -> Vec<Waiting> {
    rec.frames
        .values()
        .filter_map(|f| match &f.phase {
            Phase::Task(t) => Some(Waiting {
                state: f.state.clone(),
                resource: t.resource.clone(),
                what: if t.wait_for_token {
                    "TASK_TOKEN"
                } else {
                    "TASK"
                },
            }),
            _ => None,
        })
        .collect()
}

/// Why the execution is still running, in one sentence a person can act on.
fn waiting_cause(waits: &[Waiting]) -> String {
    let Some(first) = waits.first() else {
        return "The execution is still running: it waits for something from outside, which \
                nothing can send while `waymark run` runs."
            .into();
    };
    let more = match waits.len() {
        1 => String::new(),
        n => format!(" (and {} more task(s))", n - 1),
    };
    let what = if first.what == "TASK_TOKEN" {
        "waits for a task token (SendTaskSuccess or SendTaskFailure)"
    } else {
        "waits for its task to finish"
    };
    format!(
        "The execution is still running: the state '{}' ({}) {what}{more}, which nothing can \
         send while `waymark run` runs. Run it under `waymark serve` and answer the token, or \
         mock the task with --mock-config.",
        first.state, first.resource
    )
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
