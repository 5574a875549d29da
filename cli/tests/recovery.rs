//! Kill -9 in the middle of an execution, start again: every execution goes on from where it
//! was and ends with the same output and the same history as a run that was never killed.
//! Real child processes (`waymark serve` on a database file), a real Lambda Invoke endpoint
//! served by the test, the Step Functions API spoken over HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Lambda Invoke API answering after a pause, so that a kill can land while a task runs.
fn lambda_server(calls: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let calls = calls.clone();
            thread::spawn(move || serve_lambda(stream, &calls));
        }
    });
    port
}

fn serve_lambda(stream: TcpStream, calls: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        calls.fetch_add(1, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(400));
        let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let out = json!({"doubled": payload["n"].as_i64().unwrap_or(0) * 2}).to_string();
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amz-Executed-Version: $LATEST\r\nContent-Length: {}\r\n\r\n{out}",
            out.len()
        );
        if (&stream).write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(db: &Path, lambda_port: u16, log: &Path) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_waymark"))
            .args([
                "serve",
                "--port",
                &port.to_string(),
                "--db",
                db.to_str().unwrap(),
                "--wait-scale",
                "0.02",
            ])
            .args([
                "--lambda-endpoint",
                &format!("http://127.0.0.1:{lambda_port}"),
            ])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .unwrap(),
            )
            .spawn()
            .expect("waymark serve starts");
        let s = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "waymark serve did not listen");
            thread::sleep(Duration::from_millis(20));
        }
        s
    }

    fn call(&self, op: &str, body: Value) -> Value {
        let body = body.to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
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

    fn history(&self, arn: &str) -> Vec<String> {
        let h = self.call(
            "GetExecutionHistory",
            json!({"executionArn": arn, "maxResults": 1000}),
        );
        h["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect()
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

const MACHINE: &str = r#"{
  "StartAt": "Prepare",
  "States": {
    "Prepare": {"Type": "Pass", "Result": [1, 2, 3], "ResultPath": "$.items", "Next": "Pause"},
    "Pause": {"Type": "Wait", "Seconds": 60, "Next": "Each"},
    "Each": {
      "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "ResultPath": "$.results",
      "ItemProcessor": {"StartAt": "Double", "States": {
        "Double": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "double", "Payload": {"n.$": "$"}},
                   "OutputPath": "$.Payload", "Next": "Rest"},
        "Rest": {"Type": "Wait", "Seconds": 20, "End": true}
      }},
      "Next": "Done"
    },
    "Done": {"Type": "Pass", "End": true}
  }
}"#;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("waymark-recovery-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn start_execution(s: &Server) -> String {
    let sm = s.call(
        "CreateStateMachine",
        json!({"name": "recover", "definition": MACHINE, "roleArn": "arn:aws:iam::123456789012:role/r"}),
    );
    let e = s.call(
        "StartExecution",
        json!({"stateMachineArn": sm["stateMachineArn"], "name": "e1", "input": "{\"order\":7}"}),
    );
    e["executionArn"].as_str().unwrap().to_string()
}

fn wait_until_done(s: &Server, arn: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = s.call("DescribeExecution", json!({"executionArn": arn}));
        if d["status"] != "RUNNING" {
            return d;
        }
        assert!(Instant::now() < deadline, "the execution did not end: {d}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the machine once, killing the server the first time `kill_when` holds for the
/// history, then restarting it on the same database. Returns (output, history types).
/// Whether the history has reached the point where the server is to be killed.
type KillPoint<'a> = &'a dyn Fn(&[String]) -> bool;

fn run(name: &str, kill_when: Option<KillPoint>) -> (Value, Vec<String>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let lambda = lambda_server(calls.clone());
    let dir = tmp(name);
    let db = dir.join("waymark.db");
    let log = dir.join("serve.log");
    let mut server = Server::start(&db, lambda, &log);
    let arn = start_execution(&server);
    if let Some(cond) = kill_when {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let h = server.history(&arn);
            if cond(&h) {
                break;
            }
            assert!(
                !h.iter().any(|t| t == "ExecutionSucceeded"),
                "{name}: ended before the kill point: {h:?}"
            );
            assert!(
                Instant::now() < deadline,
                "{name}: kill point never reached: {h:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
        server.kill();
        server = Server::start(&db, lambda, &log);
    }
    let d = wait_until_done(&server, &arn);
    assert_eq!(
        d["status"],
        "SUCCEEDED",
        "{name}: {d}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    let history = server.history(&arn);
    let _ = std::fs::remove_dir_all(&dir);
    (out, history)
}

fn count(h: &[String], t: &str) -> usize {
    h.iter().filter(|x| *x == t).count()
}

#[test]
fn killed_anywhere_an_execution_ends_as_if_it_had_not_been() {
    let (expected_out, expected_history) = run("reference", None);
    assert_eq!(
        expected_out["results"],
        json!([{"doubled": 2}, {"doubled": 4}, {"doubled": 6}])
    );

    let during_wait =
        |h: &[String]| count(h, "WaitStateEntered") == 1 && count(h, "WaitStateExited") == 0;
    let during_task = |h: &[String]| count(h, "TaskStarted") == 2 && count(h, "TaskSucceeded") == 1;
    let during_map_wait = |h: &[String]| {
        count(h, "TaskSucceeded") == 1
            && count(h, "WaitStateEntered") == 2
            && count(h, "WaitStateExited") == 1
    };
    let points: [(&str, KillPoint); 3] = [
        ("wait", &during_wait),
        ("task", &during_task),
        ("map-wait", &during_map_wait),
    ];
    for (name, cond) in points {
        let (out, history) = run(name, Some(cond));
        assert_eq!(out, expected_out, "killed during {name}");
        assert_eq!(history, expected_history, "killed during {name}");
    }
}
