//! A runaway execution — a Pass/Choice loop with no Wait — against the real `waymark` binary:
//! it ends FAILED with `States.Runtime` at AWS's 25,000 history events, `waymark serve` answers
//! StartExecution at once while it runs, StopExecution stops it between transitions, and a server
//! killed in the middle of one picks it up again after a restart and brings it to the same end
//! instead of looping. Memory is read from `/proc` (peak resident size) and must stay under
//! 1 GiB; every wait is a bound against hanging, never a measurement.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const HANG_GUARD: Duration = Duration::from_secs(120);
const MAX_EVENTS: u64 = 25_000;
const ONE_GIB_KB: u64 = 1024 * 1024;
const CAUSE: &str = "The execution reached the maximum number of history events (25000).";

const SPIN: &str = r#"{
  "StartAt": "Again",
  "States": {
    "Again": {"Type": "Pass", "Result": "round", "ResultPath": "$.last", "Next": "Check"},
    "Check": {"Type": "Choice",
              "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
              "Default": "Again"},
    "Done": {"Type": "Succeed"}
  }
}"#;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waymark-runaway-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Peak resident set size of a live process, in KiB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn waymark_run_fails_a_runaway_loop_at_25000_events() {
    let dir = tmp("run");
    let def = dir.join("spin.json");
    std::fs::write(&def, SPIN).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(["run", def.to_str().unwrap(), "--json", "--history"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut out = String::new();
    let reader = {
        let mut stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).unwrap();
            s
        })
    };
    let started = Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("waymark run did not end");
        }
        thread::sleep(Duration::from_millis(5));
    };
    out.push_str(&reader.join().unwrap());
    assert_eq!(status.code(), Some(1), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"], "States.Runtime");
    assert_eq!(v["cause"], CAUSE);
    let events = v["history"].as_array().unwrap();
    assert_eq!(events.len() as u64, MAX_EVENTS);
    let last = &events[events.len() - 1];
    assert_eq!(last["type"], "ExecutionFailed");
    assert_eq!(last["id"], MAX_EVENTS);
    assert_eq!(last["previousEventId"], MAX_EVENTS - 1);
    assert!(peak < ONE_GIB_KB, "peak resident size {peak} KiB");
    let _ = std::fs::remove_dir_all(&dir);
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(db: &Path, step_budget: &str) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_waymark"))
            .args(["serve", "--port", &port.to_string(), "--db"])
            .arg(db)
            .args(["--wait-scale", "0", "--step-budget", step_budget])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("waymark serve starts");
        let s = Server { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < HANG_GUARD,
                "waymark serve did not listen"
            );
            thread::sleep(Duration::from_millis(20));
        }
        s
    }

    fn call(&self, op: &str, body: Value) -> Value {
        let body = body.to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: AWSStepFunctions.{op}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        stream.read_to_string(&mut resp).unwrap();
        let (head, body) = resp.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{op}: {resp}");
        serde_json::from_str(body).unwrap()
    }

    fn create(&self) -> String {
        let sm = self.call(
            "CreateStateMachine",
            json!({"name": "spin", "definition": SPIN, "roleArn": "arn:aws:iam::123456789012:role/r"}),
        );
        sm["stateMachineArn"].as_str().unwrap().to_string()
    }

    fn start_execution(&self, machine: &str, name: &str) -> String {
        let e = self.call(
            "StartExecution",
            json!({"stateMachineArn": machine, "name": name, "input": "{}"}),
        );
        e["executionArn"].as_str().unwrap().to_string()
    }

    /// The newest event of an execution's history.
    fn last_event(&self, arn: &str) -> Value {
        let h = self.call(
            "GetExecutionHistory",
            json!({"executionArn": arn, "maxResults": 1, "reverseOrder": true}),
        );
        h["events"][0].clone()
    }

    fn wait_until_done(&self, arn: &str) -> Value {
        let started = Instant::now();
        loop {
            let d = self.call("DescribeExecution", json!({"executionArn": arn}));
            if d["status"] != "RUNNING" {
                return d;
            }
            assert!(
                started.elapsed() < HANG_GUARD,
                "the execution did not end: {d}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn peak_rss_kb(&self) -> u64 {
        peak_rss_kb(self.child.id()).expect("the server is alive")
    }

    /// SIGKILL: no chance to clean up.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_failed_at_the_quota(server: &Server, arn: &str) {
    let d = server.wait_until_done(arn);
    assert_eq!(d["status"], "FAILED", "{d}");
    assert_eq!(d["error"], "States.Runtime");
    assert_eq!(d["cause"], CAUSE);
    let last = server.last_event(arn);
    assert_eq!(last["type"], "ExecutionFailed");
    assert_eq!(last["id"], MAX_EVENTS);
}

#[test]
fn serve_answers_while_a_loop_runs_and_stops_it_between_transitions() {
    let dir = tmp("serve");
    // One transition per step: the loop takes long enough for a StopExecution to land in it.
    let server = Server::start(&dir.join("waymark.db"), "1");
    let machine = server.create();
    let arn = server.start_execution(&machine, "stopped");
    let d = server.call("DescribeExecution", json!({"executionArn": arn}));
    assert_eq!(d["status"], "RUNNING", "{d}");

    // Others are served while it runs.
    let listed = server.call("ListStateMachines", json!({}));
    assert_eq!(listed["stateMachines"].as_array().unwrap().len(), 1);

    server.call(
        "StopExecution",
        json!({"executionArn": arn, "error": "Runaway", "cause": "stopped by the test"}),
    );
    let d = server.wait_until_done(&arn);
    assert_eq!(d["status"], "ABORTED", "{d}");
    let last = server.last_event(&arn);
    assert_eq!(last["type"], "ExecutionAborted", "{last}");
    let ended_at = last["id"].as_u64().unwrap();
    assert!(
        ended_at < MAX_EVENTS,
        "the stop came too late to test anything"
    );
    // Nothing runs on after the stop.
    thread::sleep(Duration::from_millis(500));
    assert_eq!(server.last_event(&arn)["id"], ended_at);

    // Left alone, a loop ends at AWS's quota; the default budget runs it the same way.
    let arn = server.start_execution(&machine, "left-alone");
    assert_failed_at_the_quota(&server, &arn);
    let peak = server.peak_rss_kb();
    assert!(peak < ONE_GIB_KB, "peak resident size {peak} KiB");
    drop(server);

    let server = Server::start(&dir.join("waymark.db"), "1000");
    let arn = server.start_execution(&machine, "default-budget");
    assert_failed_at_the_quota(&server, &arn);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_server_killed_in_a_loop_ends_it_after_a_restart_instead_of_looping() {
    let dir = tmp("kill");
    let db = dir.join("waymark.db");
    let server = Server::start(&db, "1");
    let machine = server.create();
    let arn = server.start_execution(&machine, "killed");
    let started = Instant::now();
    while server.last_event(&arn)["id"].as_u64().unwrap_or(0) < 2_000 {
        assert!(started.elapsed() < HANG_GUARD, "the loop did not get going");
        thread::sleep(Duration::from_millis(20));
    }
    server.kill();

    let server = Server::start(&db, "1");
    // The restarted server answers while it recovers the loop.
    let d = server.call("DescribeExecution", json!({"executionArn": arn}));
    assert!(d["status"] == "RUNNING" || d["status"] == "FAILED", "{d}");
    assert_failed_at_the_quota(&server, &arn);
    let peak = server.peak_rss_kb();
    assert!(peak < ONE_GIB_KB, "peak resident size {peak} KiB");
    // Ended for good: a further restart finds nothing to resume.
    server.kill();
    let server = Server::start(&db, "1");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(server.last_event(&arn)["id"], MAX_EVENTS);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_loop_that_nests_its_data_deeper_each_round_fails_instead_of_corrupting_the_database() {
    let dir = tmp("deep");
    let def = dir.join("wrap.json");
    std::fs::write(
        &def,
        r#"{"StartAt": "Wrap", "States": {
            "Wrap": {"Type": "Pass", "Parameters": {"a.$": "$"}, "Next": "Check"},
            "Check": {"Type": "Choice",
                      "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}],
                      "Default": "Wrap"},
            "Done": {"Type": "Succeed"}}}"#,
    )
    .unwrap();
    // On a file, yielding every ten transitions: each round is written and read back.
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args([
            "run",
            def.to_str().unwrap(),
            "--json",
            "--step-budget",
            "10",
            "--db",
        ])
        .arg(dir.join("waymark.db"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"], "States.DataLimitExceeded");
    let _ = std::fs::remove_dir_all(&dir);
}
