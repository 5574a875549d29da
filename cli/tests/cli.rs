//! Tests of the `waymark` binary as a user runs it: definitions, inputs and mock files written
//! to a temporary folder, the built binary run on them with a time limit, and the contract of
//! `README.md` and `cli/src/args.rs` checked on what comes out:
//!
//! - exit status 0 (succeeded), 1 (failed, timed out), 2 (invalid definition, malformed input,
//!   missing file, unknown flag or test case);
//! - `run --json`: exactly one JSON object with `status` and `output` or `error`/`cause`, and
//!   with `--history` the events (`type`, `id`, `previousEventId`, timestamps);
//! - `--input @FILE`, `--type EXPRESS`, `--name`, `--wait-scale` (0: virtual time only);
//! - `validate` (`--json` shape, `--type EXPRESS` refusing `.waitForTaskToken`), human output;
//! - `--mock-config`/`--test-case` (Return, Throw with Retry and Catch, unmocked states), and a
//!   Task that nothing can run failing with `States.TaskFailed` rather than hanging.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const EXIT_SUCCEEDED: i32 = 0;
const EXIT_FAILED: i32 = 1;
const EXIT_USAGE: i32 = 2;
const EXIT_WAITING: i32 = 3;

/// No test should come near this; a child that does is killed and the test fails.
const TIME_LIMIT: Duration = Duration::from_secs(30);

/// A fresh folder under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "waymark-cli-tests-{}-{n}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the temporary folder");
        TempDir(dir)
    }

    /// Writes `contents` (a string as is, anything else as JSON) to `name` in the folder.
    fn write(&self, name: &str, contents: impl Into<Contents>) -> PathBuf {
        let path = self.0.join(name);
        let text = match contents.into() {
            Contents::Text(t) => t,
            Contents::Json(v) => serde_json::to_string_pretty(&v).unwrap(),
        };
        std::fs::write(&path, text).expect("write a test file");
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

enum Contents {
    Text(String),
    Json(Value),
}

impl From<&str> for Contents {
    fn from(s: &str) -> Self {
        Contents::Text(s.to_string())
    }
}

impl From<Value> for Contents {
    fn from(v: Value) -> Self {
        Contents::Json(v)
    }
}

/// What a run of the binary gave.
#[derive(Debug)]
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Outcome {
    /// The single JSON object that `--json` prints (nothing before or after it).
    fn json(&self) -> Value {
        let v: Value = serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not exactly one JSON value ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        assert!(v.is_object(), "not a JSON object: {v}");
        assert_eq!(
            self.stdout.trim().lines().count(),
            1,
            "--json prints one line: {}",
            self.stdout
        );
        v
    }

    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit status {} instead of {code}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Runs the binary with `args` in `dir`, killing it if it outlives [`TIME_LIMIT`].
fn waymark_in(dir: &Path, args: &[&str]) -> Outcome {
    let out_path = dir.join(format!(".stdout-{}", unique()));
    let err_path = dir.join(format!(".stderr-{}", unique()));
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(args)
        .current_dir(dir)
        .env_remove("AWS_REGION")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start the waymark binary");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for waymark") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "waymark {args:?} still running after {TIME_LIMIT:?}; stdout so far:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    let outcome = Outcome {
        code: status.code().expect("waymark ended by a signal"),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        took,
    };
    let _ = std::fs::remove_file(out_path);
    let _ = std::fs::remove_file(err_path);
    outcome
}

fn unique() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

fn waymark(dir: &TempDir, args: &[&str]) -> Outcome {
    waymark_in(&dir.0, args)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

// ---------------------------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------------------------

fn greeting_machine() -> Value {
    json!({
        "Comment": "Greets, waits an hour, succeeds",
        "StartAt": "Greet",
        "States": {
            "Greet": {
                "Type": "Pass",
                "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)"},
                "Next": "TakeABreak"
            },
            "TakeABreak": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    })
}

fn failing_machine() -> Value {
    json!({
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Fine"}],
                "Default": "Broken"
            },
            "Fine": {"Type": "Succeed"},
            "Broken": {"Type": "Fail", "Error": "Custom.Broken", "Cause": "ok was not true"}
        }
    })
}

fn task_machine(resource: &str) -> Value {
    json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": resource,
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "End": true
            }
        }
    })
}

/// Reserve (retried once), then Charge (caught), for the mock tests.
fn orders_machine() -> Value {
    json!({
        "StartAt": "Reserve",
        "States": {
            "Reserve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "reserve", "Payload.$": "$"},
                "ResultSelector": {"reservation.$": "$.Payload.id"},
                "ResultPath": "$.reserved",
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 30, "MaxAttempts": 2}],
                "Next": "Charge"
            },
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "charge"},
                "ResultSelector": {"charge.$": "$.Payload.charge"},
                "ResultPath": "$.charged",
                "Catch": [{"ErrorEquals": ["Declined"], "ResultPath": "$.error", "Next": "Refused"}],
                "End": true
            },
            "Refused": {"Type": "Pass", "End": true}
        }
    })
}

fn orders_mocks() -> Value {
    json!({
        "StateMachines": {
            "orders": {
                "TestCases": {
                    "Happy": {"Reserve": "Reserved", "Charge": "Charged"},
                    "FlakyThenDeclined": {"Reserve": "FlakyOnce", "Charge": "Declined"},
                    "ChargeNotMocked": {"Reserve": "Reserved"}
                }
            }
        },
        "MockedResponses": {
            "Reserved": {"0": {"Return": {"StatusCode": 200, "Payload": {"id": "r-1"}}}},
            "FlakyOnce": {
                "0": {"Throw": {"Error": "Flaky", "Cause": "try again"}},
                "1": {"Return": {"StatusCode": 200, "Payload": {"id": "r-2"}}}
            },
            "Charged": {"0": {"Return": {"StatusCode": 200, "Payload": {"charge": "c-9"}}}},
            "Declined": {"0": {"Throw": {"Error": "Declined", "Cause": "card expired"}}}
        }
    })
}

/// The events of `--history`, checked for the fields every event has.
fn history(result: &Value) -> Vec<Value> {
    let events = result["history"]
        .as_array()
        .unwrap_or_else(|| panic!("no history array: {result}"))
        .clone();
    assert!(!events.is_empty());
    for (n, e) in events.iter().enumerate() {
        assert!(e["type"].is_string(), "{e}");
        assert_eq!(e["id"], json!(n + 1), "ids count from 1: {e}");
        let previous = e["previousEventId"].as_u64().expect("previousEventId");
        assert!(previous < n as u64 + 1, "{e}");
        assert!(e["timestamp"].is_number(), "{e}");
    }
    assert_eq!(events[0]["type"], "ExecutionStarted");
    assert_eq!(events[0]["previousEventId"], 0);
    events
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn event<'a>(events: &'a [Value], ty: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["type"] == ty)
        .unwrap_or_else(|| panic!("no {ty} event in {:?}", types(events)))
}

// ---------------------------------------------------------------------------------------------
// run
// ---------------------------------------------------------------------------------------------

#[test]
fn a_succeeding_run_prints_one_json_object_and_exits_0() {
    let dir = TempDir::new("succeeds");
    let def = dir.write("greeting.asl.json", greeting_machine());
    let out = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--input",
            r#"{"name": "Ada"}"#,
            "--wait-scale",
            "0",
            "--json",
        ],
    );
    let r = out.expect_code(EXIT_SUCCEEDED).json();
    assert_eq!(r["status"], "SUCCEEDED");
    assert_eq!(r["output"], json!({"greeting": "Hello, Ada!"}));
    assert!(r.get("error").is_none() && r.get("cause").is_none(), "{r}");
    assert!(
        r.get("history").is_none(),
        "no history without --history: {r}"
    );
    let arn = r["executionArn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:execution:greeting:"),
        "{arn}"
    );
}

#[test]
fn a_failing_run_prints_error_and_cause_and_exits_1() {
    let dir = TempDir::new("fails");
    let def = dir.write("check.asl.json", failing_machine());
    let r = waymark(
        &dir,
        &["run", s(&def), "--input", r#"{"ok": false}"#, "--json"],
    )
    .expect_code(EXIT_FAILED)
    .json();
    assert_eq!(r["status"], "FAILED");
    assert_eq!(r["error"], "Custom.Broken");
    assert_eq!(r["cause"], "ok was not true");
    assert!(r.get("output").is_none(), "{r}");

    // The same machine succeeds on another input.
    let r = waymark(
        &dir,
        &["run", s(&def), "--input", r#"{"ok": true}"#, "--json"],
    )
    .expect_code(EXIT_SUCCEEDED)
    .json();
    assert_eq!(r["status"], "SUCCEEDED");
    assert_eq!(r["output"], json!({"ok": true}));
}

#[test]
fn a_run_that_times_out_exits_1() {
    let dir = TempDir::new("times-out");
    let def = dir.write(
        "slow.asl.json",
        json!({
            "TimeoutSeconds": 60,
            "StartAt": "Sleep",
            "States": {"Sleep": {"Type": "Wait", "Seconds": 3600, "End": true}}
        }),
    );
    let out = waymark(
        &dir,
        &["run", s(&def), "--wait-scale", "0", "--json", "--history"],
    );
    let r = out.expect_code(EXIT_FAILED).json();
    assert_eq!(r["status"], "TIMED_OUT", "{r}");
    let events = history(&r);
    assert_eq!(events.last().unwrap()["type"], "ExecutionTimedOut");
    assert!(out.took < Duration::from_secs(20), "took {:?}", out.took);
}

#[test]
fn history_lists_every_event_with_ids_and_virtual_time() {
    let dir = TempDir::new("history");
    let def = dir.write("greeting.asl.json", greeting_machine());
    let out = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--input",
            r#"{"name": "Ada"}"#,
            "--wait-scale",
            "0",
            "--json",
            "--history",
        ],
    );
    let r = out.expect_code(EXIT_SUCCEEDED).json();
    let events = history(&r);
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    for e in &events[1..] {
        assert_eq!(e["previousEventId"].as_u64().unwrap() + 1, e["id"], "{e}");
    }
    assert_eq!(
        event(&events, "PassStateEntered")["stateEnteredEventDetails"]["name"],
        "Greet"
    );
    // An hour of Wait, in no real time, yet an hour apart in the history.
    let t = |ty: &str| event(&events, ty)["timestamp"].as_f64().unwrap();
    let waited = t("WaitStateExited") - t("WaitStateEntered");
    assert!((waited - 3600.0).abs() < 0.01, "waited {waited} s");
    assert!(out.took < Duration::from_secs(20), "took {:?}", out.took);
    let input = &event(&events, "ExecutionStarted")["executionStartedEventDetails"]["input"];
    let input: Value = serde_json::from_str(input.as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"name": "Ada"}));
}

/// The summary of a history longer than a page read back (1,000 events) keeps its first 30
/// and last 20 state lines and counts the rest; `--history` lists every event.
#[test]
fn a_long_history_is_summarised_by_its_start_and_end() {
    let dir = TempDir::new("long-history");
    let def = dir.write(
        "loop.asl.json",
        json!({"StartAt": "Init", "States": {
            "Init": {"Type": "Pass", "Result": {"i": 0}, "Next": "Check"},
            "Check": {"Type": "Choice", "Default": "Inc", "Choices": [
                {"Variable": "$.i", "NumericGreaterThanEquals": 700, "Next": "Done"}]},
            "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
            "Done": {"Type": "Succeed"}}}),
    );
    let out = waymark(&dir, &["run", s(&def)]);
    out.expect_code(EXIT_SUCCEEDED);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines.iter().position(|l| *l == "History").unwrap();
    let summary = &lines[at + 1..];
    // Init, then Check and Inc 700 times, a last Check and Done: 1,403 state lines.
    assert_eq!(summary.len(), 30 + 1 + 20, "{}", out.stdout);
    assert_eq!(
        summary[0].split_whitespace().collect::<Vec<_>>(),
        ["Pass", "Init"]
    );
    assert_eq!(summary[30], "  … 1353 more (--history shows every event)");
    assert_eq!(
        summary[49].split_whitespace().collect::<Vec<_>>(),
        ["Choice", "Check"]
    );
    assert_eq!(
        summary[50].split_whitespace().collect::<Vec<_>>(),
        ["Succeed", "Done"]
    );

    let full = waymark(&dir, &["run", s(&def), "--history"]);
    let listed = full
        .stdout
        .lines()
        .filter(|l| l.contains("StateEntered") || l.contains("StateExited"))
        .count();
    assert_eq!(listed, 2 * 1403, "{}", full.stdout);
    assert!(full.stdout.contains("ExecutionSucceeded"));
}

#[test]
fn wait_scale_runs_waits_in_scaled_real_time() {
    let dir = TempDir::new("wait-scale");
    let def = dir.write(
        "nap.asl.json",
        json!({"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 5, "End": true}}}),
    );
    // A tenth of real time: five seconds of Wait take half a second.
    let out = waymark(&dir, &["run", s(&def), "--wait-scale", "0.1", "--json"]);
    out.expect_code(EXIT_SUCCEEDED);
    assert!(
        out.took >= Duration::from_millis(450),
        "a scaled wait took only {:?}",
        out.took
    );
}

#[test]
fn input_can_come_from_a_file() {
    let dir = TempDir::new("input-file");
    let def = dir.write("greeting.asl.json", greeting_machine());
    let input = dir.write("input.json", json!({"name": "from a file"}));
    let arg = format!("@{}", s(&input));
    let r = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--input",
            &arg,
            "--wait-scale",
            "0",
            "--json",
        ],
    )
    .expect_code(EXIT_SUCCEEDED)
    .json();
    assert_eq!(r["output"]["greeting"], "Hello, from a file!");

    // Relative to the working folder, too.
    let r = waymark(
        &dir,
        &[
            "run",
            "greeting.asl.json",
            "--input",
            "@input.json",
            "--wait-scale",
            "0",
            "--json",
        ],
    )
    .expect_code(EXIT_SUCCEEDED)
    .json();
    assert_eq!(r["output"]["greeting"], "Hello, from a file!");
}

#[test]
fn bad_inputs_and_arguments_exit_2() {
    let dir = TempDir::new("usage");
    let def = dir.write("greeting.asl.json", greeting_machine());
    let def = s(&def);
    dir.write("broken-input.json", "{\"name\": ");

    let out = waymark(&dir, &["run", def, "--input", "{not json"]);
    out.expect_code(EXIT_USAGE);
    assert!(out.stderr.contains("--input is not valid JSON"), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");

    let out = waymark(&dir, &["run", def, "--input", "@broken-input.json"]);
    out.expect_code(EXIT_USAGE);
    assert!(out.stderr.contains("is not valid JSON"), "{out:?}");

    let out = waymark(&dir, &["run", def, "--input", "@no-such-input.json"]);
    out.expect_code(EXIT_USAGE);
    assert!(out.stderr.contains("no-such-input.json"), "{out:?}");

    let out = waymark(&dir, &["run", "no-such-machine.asl.json"]);
    out.expect_code(EXIT_USAGE);
    assert!(out.stderr.contains("no-such-machine.asl.json"), "{out:?}");

    let out = waymark(&dir, &["validate", "no-such-machine.asl.json"]);
    out.expect_code(EXIT_USAGE);

    let out = waymark(&dir, &["run", def, "--no-such-flag"]);
    out.expect_code(EXIT_USAGE);
    assert!(out.stderr.contains("--no-such-flag"), "{out:?}");

    waymark(&dir, &["run", def, "--type", "FAST"]).expect_code(EXIT_USAGE);
    waymark(&dir, &["run", def, "--wait-scale", "soon"]).expect_code(EXIT_USAGE);
    waymark(&dir, &["run"]).expect_code(EXIT_USAGE);
    waymark(&dir, &["launch", def]).expect_code(EXIT_USAGE);
    waymark(&dir, &[]).expect_code(EXIT_USAGE);

    // Help is not an error.
    let out = waymark(&dir, &["--help"]);
    out.expect_code(EXIT_SUCCEEDED);
    assert!(
        out.stdout.contains("run") && out.stdout.contains("validate"),
        "{out:?}"
    );
}

#[test]
fn an_invalid_definition_is_refused_with_exit_2() {
    let dir = TempDir::new("invalid");
    let def = dir.write(
        "broken.asl.json",
        json!({
            "StartAt": "Charge",
            "States": {"Charge": {"Type": "Pass", "Next": "Shipp"}, "Ship": {"Type": "Succeed"}}
        }),
    );
    let r = waymark(&dir, &["run", s(&def), "--json"])
        .expect_code(EXIT_USAGE)
        .json();
    assert_eq!(r["status"], "INVALID_DEFINITION");
    assert_eq!(r["valid"], false);
    let diags = r["diagnostics"].as_array().unwrap();
    assert!(
        diags
            .iter()
            .any(|d| d["code"] == "MISSING_TRANSITION_TARGET" && d["path"] == "/States/Charge/Next"),
        "{r}"
    );

    // For a person: the code, the message and where, on stderr.
    let out = waymark(&dir, &["run", s(&def)]);
    out.expect_code(EXIT_USAGE);
    assert!(
        out.stderr
            .contains("error[MISSING_TRANSITION_TARGET]: Missing 'Next' target: Shipp"),
        "{out:?}"
    );
    assert!(out.stderr.contains("at /States/Charge/Next"), "{out:?}");

    // Text that is not JSON at all.
    let def = dir.write("not-json.asl.json", "{\"StartAt\": ");
    let r = waymark(&dir, &["run", s(&def), "--json"])
        .expect_code(EXIT_USAGE)
        .json();
    assert_eq!(
        r["diagnostics"][0]["code"], "INVALID_JSON_DESCRIPTION",
        "{r}"
    );
    let def = dir.write("empty.asl.json", "");
    waymark(&dir, &["run", s(&def)]).expect_code(EXIT_USAGE);
}

#[test]
fn a_jsonpath_filter_2000_deep_is_an_invalid_definition_not_a_crash() {
    // It overflowed the stack (SIGABRT) before parsers bounded their nesting.
    let dir = TempDir::new("deep-filter");
    let filter = format!("${}{}", "[?(@.a".repeat(2_000), ")]".repeat(2_000));
    let def = dir.write(
        "deep.asl.json",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": filter, "End": true}}}),
    );
    let r = waymark(&dir, &["validate", s(&def), "--json"])
        .expect_code(EXIT_USAGE)
        .json();
    assert_eq!(r["valid"], false, "{r}");
    let d = &r["diagnostics"][0];
    assert_eq!(d["code"], "SCHEMA_VALIDATION_FAILED", "{r}");
    assert_eq!(d["path"], "/States/P/InputPath", "{r}");
    let out = waymark(&dir, &["validate", s(&def)]);
    out.expect_code(EXIT_USAGE);
    assert!(out.stderr.contains("at /States/P/InputPath"), "{out:?}");
    // 24 levels used to take about 50 s of CPU; now they are refused at once, and 16 (the
    // most a path may nest) validate.
    let nested = |n: usize| format!("${}{}", "[?(@.a".repeat(n), ")]".repeat(n));
    for (n, code) in [(24, EXIT_USAGE), (16, EXIT_SUCCEEDED)] {
        let def = dir.write(
            &format!("nested-{n}.asl.json"),
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": nested(n), "End": true}}}),
        );
        waymark(&dir, &["validate", s(&def)]).expect_code(code);
    }
}

#[test]
fn express_executions_have_express_arns() {
    let dir = TempDir::new("express");
    let def = dir.write("quick.asl.json", failing_machine());
    let r = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--type",
            "EXPRESS",
            "--input",
            r#"{"ok": true}"#,
            "--json",
        ],
    )
    .expect_code(EXIT_SUCCEEDED)
    .json();
    let arn = r["executionArn"].as_str().unwrap();
    assert!(arn.contains(":express:"), "{arn}");
    assert!(arn.contains(":quick:"), "{arn}");

    let r = waymark(
        &dir,
        &["run", s(&def), "--input", r#"{"ok": true}"#, "--json"],
    )
    .expect_code(EXIT_SUCCEEDED)
    .json();
    let arn = r["executionArn"].as_str().unwrap();
    assert!(
        arn.contains(":execution:") && !arn.contains(":express:"),
        "{arn}"
    );

    // A STANDARD-only integration is refused when running as EXPRESS.
    let def = dir.write(
        "token.asl.json",
        task_machine("arn:aws:states:::lambda:invoke.waitForTaskToken"),
    );
    let r = waymark(&dir, &["run", s(&def), "--type", "EXPRESS", "--json"])
        .expect_code(EXIT_USAGE)
        .json();
    assert_eq!(r["status"], "INVALID_DEFINITION", "{r}");
}

#[test]
fn names_of_the_execution_and_the_machine_can_be_chosen() {
    let dir = TempDir::new("names");
    let def = dir.write("check.asl.json", failing_machine());
    let r = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--input",
            r#"{"ok": true}"#,
            "--name",
            "run-42",
            "--state-machine-name",
            "Checker",
            "--region",
            "eu-west-1",
            "--account",
            "111122223333",
            "--json",
        ],
    )
    .expect_code(EXIT_SUCCEEDED)
    .json();
    assert_eq!(
        r["executionArn"],
        "arn:aws:states:eu-west-1:111122223333:execution:Checker:run-42"
    );
}

#[test]
fn human_output_shows_status_output_and_state_names() {
    let dir = TempDir::new("human");
    let def = dir.write("greeting.asl.json", greeting_machine());
    let out = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--input",
            r#"{"name": "Ada"}"#,
            "--wait-scale",
            "0",
        ],
    );
    out.expect_code(EXIT_SUCCEEDED);
    let text = &out.stdout;
    assert!(text.contains("SUCCEEDED"), "{text}");
    assert!(text.contains("Hello, Ada!"), "{text}");
    for state in ["Greet", "TakeABreak", "Done"] {
        assert!(text.contains(state), "{state} missing from:\n{text}");
    }
    assert!(!text.contains('\u{1b}'), "no colour when not on a terminal");
    assert!(serde_json::from_str::<Value>(text).is_err(), "not JSON");

    // --history lists every event by type.
    let out = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--input",
            r#"{"name": "Ada"}"#,
            "--wait-scale",
            "0",
            "--history",
        ],
    );
    out.expect_code(EXIT_SUCCEEDED);
    for ty in ["ExecutionStarted", "WaitStateExited", "ExecutionSucceeded"] {
        assert!(
            out.stdout.contains(ty),
            "{ty} missing from:\n{}",
            out.stdout
        );
    }

    // A failure shows its status, error and cause.
    let def = dir.write("check.asl.json", failing_machine());
    let out = waymark(&dir, &["run", s(&def), "--input", r#"{"ok": 1}"#]);
    out.expect_code(EXIT_FAILED);
    for part in [
        "FAILED",
        "Custom.Broken",
        "ok was not true",
        "Check",
        "Broken",
    ] {
        assert!(
            out.stdout.contains(part),
            "{part} missing from:\n{}",
            out.stdout
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks and mocks
// ---------------------------------------------------------------------------------------------

#[test]
fn a_task_nothing_can_run_fails_with_task_failed() {
    let dir = TempDir::new("no-mock");
    for (n, resource) in [
        "arn:aws:states:::lambda:invoke",
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        "arn:aws:states:::dynamodb:getItem",
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    ]
    .into_iter()
    .enumerate()
    {
        let def = dir.write(&format!("task-{n}.asl.json"), task_machine(resource));
        let out = waymark(&dir, &["run", s(&def), "--json", "--history"]);
        let r = out.expect_code(EXIT_FAILED).json();
        assert_eq!(r["status"], "FAILED", "{resource}: {r}");
        assert_eq!(r["error"], "States.TaskFailed", "{resource}: {r}");
        assert!(
            r["cause"].as_str().is_some_and(|c| !c.is_empty()),
            "a cause says why: {r}"
        );
        let events = history(&r);
        // TaskFailed, or LambdaFunctionFailed for a bare Lambda ARN, as AWS records them.
        let all = types(&events);
        assert!(
            all.contains(&"TaskFailed") || all.contains(&"LambdaFunctionFailed"),
            "{resource}: {all:?}"
        );
        assert_eq!(all.last(), Some(&"ExecutionFailed"));
    }
    // `waymark run` has no activities: a Task naming one fails at once, saying so.
    let def = dir.write(
        "task-activity.asl.json",
        task_machine("arn:aws:states:us-east-1:123456789012:activity:x"),
    );
    let out = waymark(&dir, &["run", s(&def), "--json", "--history"]);
    let r = out.expect_code(EXIT_FAILED).json();
    assert_eq!(r["error"], "States.Runtime", "{r}");
    assert!(
        r["cause"].as_str().unwrap().contains("does not exist"),
        "{r}"
    );
    let events = history(&r);
    let all = types(&events);
    assert_eq!(
        all,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityFailed",
            "ExecutionFailed"
        ]
    );
}

/// Without an AWS endpoint, SNS messages have an obvious local destination: the log. The
/// task succeeds and the message is printed.
#[test]
fn sns_publish_without_an_endpoint_prints_the_message() {
    let dir = TempDir::new("console-sns");
    let def = dir.write(
        "notify.asl.json",
        json!({"StartAt": "Tell", "States": {"Tell": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "hello from a workflow"}, "End": true}}}),
    );
    let out = waymark(&dir, &["run", s(&def), "--json"]);
    let r = out.expect_code(EXIT_SUCCEEDED).json();
    assert!(r["output"]["MessageId"].as_str().is_some(), "{r}");
    assert!(
        out.stderr.contains("hello from a workflow"),
        "{}",
        out.stderr
    );
}

/// `arn:aws:states:REGION:ACCOUNT:sns:publish`, as CloudFormation `!Sub` writes it, is the
/// same integration as `arn:aws:states:::sns:publish`: it validates, runs, and its events name
/// the service and action.
#[test]
fn an_integration_written_with_region_and_account_runs_as_the_plain_one() {
    let dir = TempDir::new("regional-sns");
    let def = dir.write(
        "notify.asl.json",
        json!({"StartAt": "Tell", "States": {"Tell": {"Type": "Task",
            "Resource": "arn:aws:states:us-east-1:123456789012:sns:publish",
            "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "regional hello"}, "End": true}}}),
    );
    waymark(&dir, &["validate", s(&def)]).expect_code(0);
    let out = waymark(&dir, &["run", s(&def), "--json", "--history"]);
    let r = out.expect_code(EXIT_SUCCEEDED).json();
    assert!(r["output"]["MessageId"].as_str().is_some(), "{r}");
    assert!(out.stderr.contains("regional hello"), "{}", out.stderr);
    let events = history(&r);
    let scheduled = event(&events, "TaskScheduled");
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["resourceType"], "sns",
        "{scheduled}"
    );
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["resource"], "publish",
        "{scheduled}"
    );
}

/// A `.waitForTaskToken` task that nothing in `run` can answer: the run ends still RUNNING
/// with its own exit status, says which state waits for what, and prints no approval links
/// (no server answers them).
#[test]
fn a_run_waiting_for_a_task_token_exits_3_and_says_what_it_waits_for() {
    let dir = TempDir::new("waits-for-token");
    let def = dir.write(
        "ask.asl.json",
        json!({"StartAt": "Ask", "States": {
            "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                    "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message.$": "$$.Task.Token"},
                    "Next": "Done"},
            "Done": {"Type": "Succeed"}}}),
    );
    let out = waymark(&dir, &["run", s(&def), "--json"]);
    let r = out.expect_code(EXIT_WAITING).json();
    assert_eq!(r["status"], "RUNNING", "{r}");
    assert_eq!(
        r["waitingFor"],
        json!([{"state": "Ask", "resource": "arn:aws:states:::sns:publish.waitForTaskToken", "waitsFor": "TASK_TOKEN"}]),
        "{r}"
    );
    let cause = r["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("'Ask'") && cause.contains("task token"),
        "{r}"
    );
    assert!(!out.stderr.contains("/approvals/"), "{}", out.stderr);
    assert!(!out.stderr.contains("approval requested"), "{}", out.stderr);

    let out = waymark(&dir, &["run", s(&def)]);
    out.expect_code(EXIT_WAITING);
    assert!(
        out.stdout.contains("the state 'Ask'") && out.stdout.contains("task token"),
        "{}",
        out.stdout
    );
    assert!(!out.stderr.contains("/approvals/"), "{}", out.stderr);
}

#[test]
fn run_help_lists_the_exit_statuses() {
    let dir = TempDir::new("run-help");
    let out = waymark(&dir, &["run", "--help"]);
    out.expect_code(EXIT_SUCCEEDED);
    assert!(
        out.stdout.contains("Exit status:")
            && out.stdout.contains("3  the execution is still running"),
        "{}",
        out.stdout
    );
}

/// SNS Publish without a destination or a message: static Parameters are refused by
/// `validate` (and `run`, exit 2) at the Parameters; values from paths fail the run.
#[test]
fn sns_publish_without_a_message_or_a_destination_is_refused() {
    let dir = TempDir::new("sns-required");
    let def = dir.write(
        "no-message.asl.json",
        json!({"StartAt": "Tell", "States": {"Tell": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}, "End": true}}}),
    );
    let r = waymark(&dir, &["validate", s(&def), "--json"])
        .expect_code(EXIT_USAGE)
        .json();
    assert_eq!(
        r["diagnostics"][0]["code"], "SCHEMA_VALIDATION_FAILED",
        "{r}"
    );
    assert_eq!(
        r["diagnostics"][0]["path"], "/States/Tell/Parameters",
        "{r}"
    );
    assert_eq!(
        r["diagnostics"][0]["message"], "The field 'Message' is required but was missing",
        "{r}"
    );
    waymark(&dir, &["run", s(&def), "--json"]).expect_code(EXIT_USAGE);

    let def = dir.write(
        "dynamic.asl.json",
        json!({"StartAt": "Tell", "States": {"Tell": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn.$": "$.topic", "Message.$": "$.text"}, "End": true}}}),
    );
    waymark(&dir, &["validate", s(&def)]).expect_code(0);
    let r = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--json",
            "--input",
            r#"{"topic": null, "text": "hi"}"#,
        ],
    )
    .expect_code(EXIT_FAILED)
    .json();
    assert_eq!(r["error"], "States.Runtime", "{r}");
    assert!(
        r["cause"]
            .as_str()
            .unwrap_or_default()
            .contains("'TopicArn', 'TargetArn' or 'PhoneNumber'"),
        "{r}"
    );
}

#[test]
fn integrations_waymark_does_not_run_are_refused_unless_mocked() {
    let dir = TempDir::new("not-built");
    let def = dir.write(
        "api.asl.json",
        json!({"StartAt": "Call", "States": {"Call": {"Type": "Task",
            "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
            "Parameters": {"TrainingJobName": "t"},
            "End": true}}}),
    );
    let r = waymark(&dir, &["validate", s(&def), "--json"])
        .expect_code(EXIT_USAGE)
        .json();
    assert_eq!(r["diagnostics"][0]["path"], "/States/Call/Resource", "{r}");
    assert!(
        r["diagnostics"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not run the optimised integration 'sagemaker:createTrainingJob'"),
        "{r}"
    );
    let mocks = dir.write(
        "mocks.json",
        json!({"StateMachines": {"api": {"TestCases": {"Ok": {"Call": "Answer"}}}},
               "MockedResponses": {"Answer": {"0": {"Return": {"TrainingJobStatus": "Completed"}}}}}),
    );
    let r = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--mock-config",
            s(&mocks),
            "--test-case",
            "Ok",
            "--json",
        ],
    )
    .expect_code(EXIT_SUCCEEDED)
    .json();
    assert_eq!(r["output"]["TrainingJobStatus"], "Completed", "{r}");
}

#[test]
fn mocked_tasks_return_what_the_test_case_says() {
    let dir = TempDir::new("mocks-happy");
    let def = dir.write("orders.asl.json", orders_machine());
    let mocks = dir.write("mocks.json", orders_mocks());
    let r = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--input",
            r#"{"order": 7}"#,
            "--mock-config",
            s(&mocks),
            "--test-case",
            "Happy",
            "--json",
        ],
    )
    .expect_code(EXIT_SUCCEEDED)
    .json();
    assert_eq!(
        r["output"],
        json!({"order": 7, "reserved": {"reservation": "r-1"}, "charged": {"charge": "c-9"}})
    );
}

#[test]
fn mocked_throws_are_retried_and_caught() {
    let dir = TempDir::new("mocks-throw");
    let def = dir.write("orders.asl.json", orders_machine());
    let mocks = dir.write("mocks.json", orders_mocks());
    let out = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--mock-config",
            s(&mocks),
            "--test-case",
            "FlakyThenDeclined",
            "--wait-scale",
            "0",
            "--json",
            "--history",
        ],
    );
    let r = out.expect_code(EXIT_SUCCEEDED).json();
    assert_eq!(r["output"]["reserved"], json!({"reservation": "r-2"}));
    assert_eq!(
        r["output"]["error"],
        json!({"Error": "Declined", "Cause": "card expired"})
    );
    let events = history(&r);
    let all = types(&events);
    assert_eq!(
        all.iter().filter(|t| **t == "TaskFailed").count(),
        2,
        "{all:?}"
    );
    assert_eq!(
        all.iter().filter(|t| **t == "TaskSucceeded").count(),
        1,
        "{all:?}"
    );
    assert_eq!(
        event(&events, "TaskFailed")["taskFailedEventDetails"]["error"],
        "Flaky"
    );
    // The retry waited its 30 s of virtual time, not of real time.
    assert!(out.took < Duration::from_secs(20), "took {:?}", out.took);
    let failed = event(&events, "TaskFailed")["timestamp"].as_f64().unwrap();
    let rescheduled = events
        .iter()
        .filter(|e| e["type"] == "TaskScheduled")
        .nth(1)
        .expect("a second TaskScheduled")["timestamp"]
        .as_f64()
        .unwrap();
    // Virtual time still moves with real time between steps: allow for a loaded machine.
    assert!(
        (rescheduled - failed - 30.0).abs() < 1.0,
        "retried after {} s",
        rescheduled - failed
    );
}

#[test]
fn a_state_the_test_case_does_not_mock_fails_with_task_failed() {
    let dir = TempDir::new("mocks-partial");
    let def = dir.write("orders.asl.json", orders_machine());
    let mocks = dir.write("mocks.json", orders_mocks());
    let r = waymark(
        &dir,
        &[
            "run",
            s(&def),
            "--mock-config",
            s(&mocks),
            "--test-case",
            "ChargeNotMocked",
            "--json",
        ],
    )
    .expect_code(EXIT_FAILED)
    .json();
    assert_eq!(r["error"], "States.TaskFailed", "{r}");
}

#[test]
fn mock_options_are_checked() {
    let dir = TempDir::new("mocks-usage");
    let def = dir.write("orders.asl.json", orders_machine());
    let mocks = dir.write("mocks.json", orders_mocks());
    let (def, mocks) = (s(&def), s(&mocks));

    // Each needs the other.
    waymark(&dir, &["run", def, "--mock-config", mocks]).expect_code(EXIT_USAGE);
    waymark(&dir, &["run", def, "--test-case", "Happy"]).expect_code(EXIT_USAGE);

    // An unknown test case, a test case of another machine, a missing or broken file.
    let out = waymark(
        &dir,
        &["run", def, "--mock-config", mocks, "--test-case", "Nope"],
    );
    out.expect_code(EXIT_USAGE);
    assert!(out.stderr.contains("Nope"), "{out:?}");
    let other = dir.write("other.asl.json", orders_machine());
    waymark(
        &dir,
        &[
            "run",
            s(&other),
            "--mock-config",
            mocks,
            "--test-case",
            "Happy",
        ],
    )
    .expect_code(EXIT_USAGE);
    waymark(
        &dir,
        &[
            "run",
            def,
            "--mock-config",
            s(&dir.path("missing-mocks.json")),
            "--test-case",
            "Happy",
        ],
    )
    .expect_code(EXIT_USAGE);
    let broken = dir.write(
        "broken-mocks.json",
        json!({"StateMachines": {"orders": {"TestCases": {"Happy": {"Reserve": "Undefined"}}}}}),
    );
    let out = waymark(
        &dir,
        &[
            "run",
            def,
            "--mock-config",
            s(&broken),
            "--test-case",
            "Happy",
        ],
    );
    out.expect_code(EXIT_USAGE);
    assert!(out.stderr.contains("Undefined"), "{out:?}");
}

#[test]
fn the_readme_example_runs() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/order-processing")
        .canonicalize()
        .expect("the examples folder");
    let r = waymark_in(
        &examples,
        &[
            "run",
            "order-processing.asl.json",
            "--input",
            "@input.json",
            "--mock-config",
            "mocks.json",
            "--test-case",
            "HappyPath",
            "--wait-scale",
            "0",
            "--json",
        ],
    )
    .expect_code(EXIT_SUCCEEDED)
    .json();
    assert_eq!(r["output"]["status"], "SHIPPED", "{r}");
}

// ---------------------------------------------------------------------------------------------
// validate
// ---------------------------------------------------------------------------------------------

#[test]
fn validate_json_for_a_valid_definition() {
    let dir = TempDir::new("validate-ok");
    let def = dir.write("greeting.asl.json", greeting_machine());
    let r = waymark(&dir, &["validate", s(&def), "--json"])
        .expect_code(EXIT_SUCCEEDED)
        .json();
    assert_eq!(r, json!({"valid": true, "diagnostics": []}));

    // Warnings do not make a definition invalid, and have the same shape.
    let def = dir.write(
        "warns.asl.json",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x": "$.a"}, "End": true}}}),
    );
    let r = waymark(&dir, &["validate", s(&def), "--json"])
        .expect_code(EXIT_SUCCEEDED)
        .json();
    assert_eq!(r["valid"], true);
    let d = &r["diagnostics"][0];
    assert_eq!(d["severity"], "WARNING", "{r}");
    assert_eq!(d["path"], "/States/P/Parameters/x", "{r}");

    let out = waymark(&dir, &["validate", s(&def)]);
    out.expect_code(EXIT_SUCCEEDED);
    assert!(out.stdout.contains("valid"), "{out:?}");
}

#[test]
fn validate_json_for_an_invalid_definition() {
    let dir = TempDir::new("validate-bad");
    let def = dir.write(
        "broken.asl.json",
        json!({
            "StartAt": "Charge",
            "States": {
                "Charge": {"Type": "Pass", "Next": "Shipp"},
                "Ship": {"Type": "Succeed"},
                "Odd": {"Type": "Teleport"}
            }
        }),
    );
    let r = waymark(&dir, &["validate", s(&def), "--json"])
        .expect_code(EXIT_USAGE)
        .json();
    assert_eq!(r["valid"], false);
    assert_eq!(
        r.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["valid", "diagnostics"]
    );
    let diags = r["diagnostics"].as_array().unwrap();
    assert!(!diags.is_empty());
    let definition: Value = serde_json::from_str(&std::fs::read_to_string(&def).unwrap()).unwrap();
    for d in diags {
        let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["code", "path", "message", "severity"], "{d}");
        assert!(d["code"].as_str().is_some_and(|c| !c.is_empty()), "{d}");
        assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()), "{d}");
        assert!(
            d["severity"] == "ERROR" || d["severity"] == "WARNING",
            "{d}"
        );
        let path = d["path"].as_str().unwrap();
        assert!(
            path.is_empty() || path == "/" || definition.pointer(path).is_some(),
            "{d}"
        );
    }
    let at = |code: &str, path: &str| {
        diags
            .iter()
            .any(|d| d["code"] == code && d["path"] == path && d["severity"] == "ERROR")
    };
    assert!(
        at("MISSING_TRANSITION_TARGET", "/States/Charge/Next"),
        "{r}"
    );
    assert!(at("SCHEMA_VALIDATION_FAILED", "/States/Odd/Type"), "{r}");

    // For a person: every problem on stderr, the README's way.
    let out = waymark(&dir, &["validate", s(&def)]);
    out.expect_code(EXIT_USAGE);
    assert!(
        out.stderr.contains(&format!(
            "error[MISSING_TRANSITION_TARGET]: Missing 'Next' target: Shipp\n  --> {} at /States/Charge/Next",
            s(&def)
        )),
        "{out:?}"
    );
    assert!(out.stderr.contains("the definition is invalid"), "{out:?}");
}

#[test]
fn validate_express_refuses_wait_for_task_token() {
    let dir = TempDir::new("validate-express");
    let def = dir.write(
        "token.asl.json",
        task_machine("arn:aws:states:::lambda:invoke.waitForTaskToken"),
    );
    let r = waymark(&dir, &["validate", s(&def), "--json"])
        .expect_code(EXIT_SUCCEEDED)
        .json();
    assert_eq!(r["valid"], true, "STANDARD accepts it: {r}");
    let r = waymark(&dir, &["validate", s(&def), "--type", "EXPRESS", "--json"])
        .expect_code(EXIT_USAGE)
        .json();
    assert_eq!(r["valid"], false);
    let d = &r["diagnostics"][0];
    assert_eq!(d["path"], "/States/Call/Resource", "{r}");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("does not support '.waitForTaskToken'"),
        "{r}"
    );
    waymark(&dir, &["validate", s(&def), "--type", "express"]).expect_code(EXIT_USAGE);
}

// ---------------------------------------------------------------------------------------------
// Bugs found while writing these tests (outside this file)
// ---------------------------------------------------------------------------------------------

/// `--wait-scale inf` (or any scale that makes the real wait overflow a `Duration`, such as
/// `1e30`) is accepted, and the first Wait panics in `ScaledClock::wait_until`
/// (`shared/engine/src/memory.rs`: `Duration::from_secs_f64(secs)` with `secs` infinite or
/// too big), so the process dies with a panic and exit status 101 instead of reporting a bad
/// argument with exit status 2.
#[test]
fn an_infinite_wait_scale_is_a_usage_error_not_a_panic() {
    let dir = TempDir::new("wait-scale-inf");
    let def = dir.write(
        "nap.asl.json",
        json!({"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 1, "End": true}}}),
    );
    for scale in ["inf", "1e30"] {
        let out = waymark(&dir, &["run", s(&def), "--wait-scale", scale, "--json"]);
        assert!(!out.stderr.contains("panicked"), "{scale}: {out:?}");
        out.expect_code(EXIT_USAGE);
    }
}

/// `waymark run … | head`: the reader goes away before the output is written. The run ends
/// as it would have (exit 0 for a success), quietly: no panic about a broken pipe.
#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    use std::io::Read;
    let dir = TempDir::new("broken-pipe");
    let def = dir.write(
        "big.asl.json",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    // Far more output than a pipe holds, so that writing must meet the closed pipe.
    let input = dir.write("input.json", json!({"text": "x".repeat(200 * 1024)}));
    let at_input = format!("@{}", s(&input));
    let mut child = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(["run", s(&def), "--input", &at_input, "--history"])
        .current_dir(&dir.0)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the waymark binary");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(status.code(), Some(EXIT_SUCCEEDED), "{stderr}");
}

/// State names and messages are the workflow's data: a newline in them cannot start a log
/// line of its own (they are logged as escaped fields).
#[test]
fn newlines_in_state_names_and_messages_do_not_forge_log_lines() {
    let dir = TempDir::new("log-injection");
    let topic = "arn:aws:sns:us-east-1:123456789012:t";
    let def = dir.write(
        "forge.asl.json",
        json!({"StartAt": "x\nFORGED tell", "States": {
            "x\nFORGED tell": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic, "Message": "hello\nFORGED message"},
                "Next": "y\nFORGED ask"},
            "y\nFORGED ask": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"TopicArn": topic,
                    "Message.$": "States.Format('Review: {}', $$.Task.Approval.Url)"},
                "End": true}}}),
    );
    let out = waymark(&dir, &["run", s(&def), "--wait-scale", "0"]);
    // `run` logs the messages; approval links it does not log (no server answers them).
    assert!(
        out.stderr.contains("SNS message") && !out.stderr.contains("approval requested"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("FORGED"), "{}", out.stderr);
    for line in out.stderr.lines() {
        assert!(
            !line.trim_start().starts_with("FORGED"),
            "a forged log line in:\n{}",
            out.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------------
// waymark test (TestState)
// ---------------------------------------------------------------------------------------------

#[test]
fn test_runs_one_state_and_prints_what_it_did() {
    let dir = TempDir::new("test-state");
    let machine = dir.write("m.asl.json", orders_machine());
    let lone = dir.write(
        "pass.json",
        json!({"Type": "Pass", "InputPath": "$.a", "ResultPath": "$.b", "Next": "Done"}),
    );
    let out = waymark(
        &dir,
        &[
            "test",
            s(&lone),
            "--input",
            r#"{"a": {"x": 1}}"#,
            "--inspection-level",
            "DEBUG",
            "--json",
        ],
    );
    out.expect_code(EXIT_SUCCEEDED);
    let v = out.json();
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["nextState"], "Done");
    let output: Value = serde_json::from_str(v["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"a": {"x": 1}, "b": {"x": 1}}));
    assert!(v["inspectionData"]["afterInputPath"].is_string(), "{v}");

    // A whole machine, a named state, a mocked task error: retried while the retrier has
    // attempts, then failed; another state's catcher takes its error.
    let m = s(&machine);
    let out = waymark(
        &dir,
        &[
            "test",
            m,
            "--state",
            "Reserve",
            "--mock-error",
            "Flaky",
            "--json",
        ],
    );
    out.expect_code(EXIT_SUCCEEDED);
    let v = out.json();
    assert_eq!(
        (v["status"].as_str(), v["nextState"].as_str()),
        (Some("RETRIABLE"), Some("Reserve"))
    );
    let out = waymark(
        &dir,
        &[
            "test",
            m,
            "--state",
            "Reserve",
            "--mock-error",
            "Flaky",
            "--retry-count",
            "2",
            "--json",
        ],
    );
    out.expect_code(EXIT_FAILED);
    assert_eq!(out.json()["error"], "Flaky");
    let out = waymark(
        &dir,
        &[
            "test",
            m,
            "--state",
            "Charge",
            "--mock-error",
            "Declined",
            "--mock-cause",
            "card",
            "--json",
        ],
    );
    out.expect_code(EXIT_SUCCEEDED);
    let v = out.json();
    assert_eq!(
        (v["status"].as_str(), v["nextState"].as_str()),
        (Some("CAUGHT_ERROR"), Some("Refused"))
    );
}

#[test]
fn test_refuses_what_test_state_refuses_with_exit_2() {
    let dir = TempDir::new("test-state-refused");
    let task = dir.write(
        "task.json",
        json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
               "Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"}, "End": true}),
    );
    let out = waymark(&dir, &["test", s(&task)]);
    out.expect_code(EXIT_USAGE);
    assert!(out.stderr.contains("only with a mock"), "{}", out.stderr);
    // With a mock, the callback's answer is the mock.
    let out = waymark(
        &dir,
        &["test", s(&task), "--mock-result", r#"{"ok": true}"#],
    );
    out.expect_code(EXIT_SUCCEEDED);
    assert!(out.stdout.contains("status: SUCCEEDED"), "{}", out.stdout);
    assert!(
        out.stdout.contains(r#"output: {"ok":true}"#),
        "{}",
        out.stdout
    );
    let fail = dir.write(
        "fail.json",
        json!({"Type": "Fail", "Error": "E", "Cause": "C"}),
    );
    let out = waymark(&dir, &["test", s(&fail)]);
    out.expect_code(EXIT_FAILED);
    assert!(out.stdout.contains("error: E"), "{}", out.stdout);
}

#[test]
fn validate_refuses_aws_sdk_actions_and_parameters_that_do_not_exist() {
    let dir = TempDir::new("validate-sdk");
    let task = |resource: &str, params: Value| json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "Parameters": params, "End": true}}});
    let ok = dir.write(
        "ok.json",
        task(
            "arn:aws:states:::aws-sdk:s3:getObject",
            json!({"Bucket": "b", "Key.$": "$.k"}),
        ),
    );
    waymark(&dir, &["validate", s(&ok)]).expect_code(EXIT_SUCCEEDED);
    let action = dir.write(
        "action.json",
        task(
            "arn:aws:states:::aws-sdk:s3:getObjekt",
            json!({"Bucket": "b"}),
        ),
    );
    let out = waymark(&dir, &["validate", "--json", s(&action)]);
    out.expect_code(EXIT_USAGE);
    let d = &out.json()["diagnostics"][0];
    assert_eq!(d["path"], "/States/T/Resource", "{d}");
    let param = dir.write(
        "param.json",
        task(
            "arn:aws:states:::aws-sdk:s3:getObject",
            json!({"Bucket": "b", "Keey": "k"}),
        ),
    );
    let out = waymark(&dir, &["validate", "--json", s(&param)]);
    out.expect_code(EXIT_USAGE);
    let d = &out.json()["diagnostics"][0];
    assert_eq!(d["path"], "/States/T/Parameters", "{d}");
    assert!(d["message"].as_str().unwrap().contains("Keey"), "{d}");
    // run refuses it the same way, before running anything.
    waymark(&dir, &["run", s(&param)]).expect_code(EXIT_USAGE);
}

#[test]
fn run_graph_writes_a_page_with_each_states_run() {
    let dir = TempDir::new("graph");
    dir.write(
        "m.asl.json",
        json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": true, "Next": "Yes"}], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": "went", "End": true},
            "No": {"Type": "Succeed"}}}),
    );
    waymark(
        &dir,
        &[
            "run",
            "m.asl.json",
            "--input",
            r#"{"go": true}"#,
            "--graph",
            "g.html",
        ],
    )
    .expect_code(0);
    let page = std::fs::read_to_string(dir.path("g.html")).unwrap();
    // The data the page draws: the graph, Yes succeeded with its output, No not run.
    let start = page.find("id=\"data\">").unwrap() + "id=\"data\">".len();
    let end = start + page[start..].find("</script>").unwrap();
    let view: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
    assert_eq!(view["runs"]["Yes"]["status"], "succeeded", "{view}");
    assert_eq!(view["runs"]["Yes"]["output"], "\"went\"");
    assert!(view["runs"].get("No").is_none());
    assert!(view["graph"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["label"] == "$.go BooleanEquals true"));
    assert!(page.contains("dagre"));
    waymark(&dir, &["run", "m.asl.json", "--graph", "g.svg"]).expect_code(2);
}

/// `--json --history` writes the history a page at a time: a history of several pages comes
/// out whole, each event once, in order, in one JSON object.
#[test]
fn a_long_history_is_printed_whole_across_pages() {
    let dir = TempDir::new("long-history");
    let def = dir.write(
        "loop.asl.json",
        json!({
            "StartAt": "Init",
            "States": {
                "Init": {"Type": "Pass", "Result": {"i": 0}, "Next": "Check"},
                "Check": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericGreaterThanEquals": 700, "Next": "Done"}], "Default": "Inc"},
                "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
                "Done": {"Type": "Succeed"}
            }
        }),
    );
    let out = waymark(&dir, &["run", s(&def), "--json", "--history"]);
    let r = out.expect_code(EXIT_SUCCEEDED).json();
    assert_eq!(r["output"], json!({"i": 700}));
    let events = history(&r);
    assert!(events.len() > 2500, "{} events", events.len());
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=events.len() as u64).collect::<Vec<_>>());
    assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
}
