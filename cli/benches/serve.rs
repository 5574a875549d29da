//! End-to-end throughput and latency of `waymark serve` on SQLite, measured from outside the
//! way a user sees it: the real binary as a child process on a fresh database file, the Step
//! Functions JSON API (awsJson1.0 over keep-alive HTTP/1.1) spoken by several client threads,
//! each with its own connection. `shared/engine/benches/engine.rs` measures the engine alone on
//! its in-memory ports; this measures what HTTP, the API layer, SQLite and the local scheduler
//! add on top, and it reports percentiles, which criterion does not, hence a plain `main`.
//!
//! - `pass_choice`: the five-state Pass/Choice machine of the engine bench; 1,000 executions
//!   started from 8 client threads, each thread polling every execution it started
//!   (DescribeExecution, 1 ms apart) until it has SUCCEEDED. Executions and transitions per
//!   second, execution latency (median, p99) and step latency from the histories of a sample
//!   (server timestamps: whole milliseconds, one clock reading per engine step, so a chain of
//!   Pass states run in one step shows 0 ms; the client-clock figures are the accurate ones).
//! - `map_5000_format`: one execution of the engine bench's inline Map over 5,000 items, each
//!   a Pass calling `States.Format`. Wall time and transitions per second.
//!
//! Each workload runs `RUNS` times on a fresh server and database; the median run (by wall
//! time) is reported. Client threads and the server share the machine's cores.
//!
//! Run: `cargo bench -p waymark --bench serve`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const EXECUTIONS: usize = 1_000;
const MAP_ITEMS: usize = 5_000;
const CLIENTS: usize = 8;
const RUNS: usize = 5;
/// Executions whose histories give the step latencies.
const HISTORY_SAMPLE: usize = 200;
/// Pause between two DescribeExecution polls of a running execution.
const POLL_PAUSE: Duration = Duration::from_millis(1);
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/bench";

// ---------------------------------------------------------------------------------------------
// The server: `waymark serve` as a child process, killed (and its folder removed) when dropped,
// also when the bench panics.

struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(tag: &str) -> Server {
        let dir =
            std::env::temp_dir().join(format!("waymark-bench-serve-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the temporary folder");
        let db = dir.join("bench.db");
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_waymark"))
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--db")
            .arg(&db)
            // No request or status-change log lines: they would cost time and fill the terminal.
            .env("RUST_LOG", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("waymark serve starts");
        let mut server = Server { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("waymark serve exited before listening: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "waymark serve did not listen on {port}"
            );
            thread::sleep(Duration::from_millis(10));
        }
        server
    }

    fn client(&self) -> Client {
        Client::connect(self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("its address")
        .port()
}

// ---------------------------------------------------------------------------------------------
// A minimal awsJson1.0 client: one keep-alive HTTP/1.1 connection, one request at a time.

struct Client {
    conn: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to waymark serve");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        Client {
            conn: BufReader::new(stream),
        }
    }

    /// Calls `AWSStepFunctions.<op>`; panics unless the answer is 200 with a JSON body.
    fn call(&mut self, op: &str, body: &Value) -> Value {
        let body = body.to_string();
        let mut request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AWSStepFunctions.{op}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body.as_bytes());
        self.conn
            .get_mut()
            .write_all(&request)
            .expect("send the request");

        let mut line = String::new();
        self.conn
            .read_line(&mut line)
            .expect("read the status line");
        let status = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let mut length = None;
        loop {
            line.clear();
            let n = self.conn.read_line(&mut line).expect("read a header");
            assert!(n > 0, "{op}: the server closed the connection");
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse::<usize>().ok();
                }
                assert!(
                    !(k.eq_ignore_ascii_case("transfer-encoding")
                        && v.to_ascii_lowercase().contains("chunked")),
                    "{op}: chunked answers are not expected"
                );
            }
        }
        let mut answer = vec![0; length.expect("a Content-Length")];
        self.conn.read_exact(&mut answer).expect("read the body");
        assert_eq!(status, "200", "{op}: {}", String::from_utf8_lossy(&answer));
        serde_json::from_slice(&answer).expect("a JSON answer")
    }

    fn create_state_machine(&mut self, name: &str, definition: &Value) -> String {
        let sm = self.call(
            "CreateStateMachine",
            &json!({"name": name, "definition": definition.to_string(), "roleArn": ROLE_ARN}),
        );
        sm["stateMachineArn"].as_str().expect("an ARN").to_string()
    }

    /// Polls DescribeExecution (at once, then `POLL_PAUSE` apart) until the execution ended.
    fn wait_until_ended(&mut self, arn: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let d = self.call("DescribeExecution", &json!({ "executionArn": arn }));
            if d["status"] != "RUNNING" {
                return d;
            }
            assert!(Instant::now() < deadline, "{arn} did not end: {d}");
            thread::sleep(POLL_PAUSE);
        }
    }

    /// The whole history, page after page (at most 1,000 events a page), without data.
    fn history(&mut self, arn: &str) -> Vec<Value> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req =
                json!({"executionArn": arn, "maxResults": 1000, "includeExecutionData": false});
            if let Some(t) = &token {
                req["nextToken"] = json!(t);
            }
            let mut page = self.call("GetExecutionHistory", &req);
            if let Value::Array(e) = page["events"].take() {
                events.extend(e);
            }
            match page["nextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return events,
            }
        }
    }
}

fn is_state_entered(e: &Value) -> bool {
    e["type"]
        .as_str()
        .is_some_and(|t| t.ends_with("StateEntered"))
}

/// Server-side duration of an execution: stopDate − startDate (epoch seconds, ms resolution).
fn server_ms(d: &Value) -> f64 {
    let start = d["startDate"].as_f64().expect("startDate");
    let stop = d["stopDate"].as_f64().expect("stopDate");
    ((stop - start) * 1000.0).round()
}

// ---------------------------------------------------------------------------------------------
// Statistics.

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    assert!(!sorted.is_empty());
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// Workload a: 1,000 executions of the five-state Pass/Choice machine.

fn pass_choice_definition() -> Value {
    json!({"StartAt": "Shape", "States": {
        "Shape": {"Type": "Pass", "Parameters": {"n.$": "$.n", "tag": "bench"}, "Next": "Size"},
        "Size": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"}
        ], "Default": "Small"},
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "Next": "Note"},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "Next": "Note"},
        "Note": {"Type": "Pass", "Result": {"seen": true}, "ResultPath": "$.note", "Next": "Done"},
        "Done": {"Type": "Succeed"}
    }})
}

fn pass_choice_input(i: usize) -> Value {
    json!({"n": i % 20, "payload": "x"})
}

fn pass_choice_output(i: usize) -> Value {
    let n = i % 20;
    let size = if n > 10 { "big" } else { "small" };
    json!({"n": n, "tag": "bench", "size": size, "note": {"seen": true}})
}

struct Execution {
    index: usize,
    arn: String,
    sent: Instant,
    succeeded: Instant,
    server_ms: f64,
}

struct PassChoiceRun {
    wall: Duration,
    /// Client-observed start→SUCCEEDED, ms, sorted.
    latency_ms: Vec<f64>,
    /// Server-side stopDate − startDate, ms, sorted.
    server_ms: Vec<f64>,
    /// StateEntered events per execution, from the sampled histories.
    transitions_per_execution: f64,
    /// Time between consecutive StateEntered events, ms, sorted.
    step_ms: Vec<f64>,
}

fn pass_choice_run(run: usize) -> PassChoiceRun {
    let server = Server::start(&format!("pass-choice-{run}"));
    let sm_arn = server
        .client()
        .create_state_machine("bench-pass-choice", &pass_choice_definition());
    let next = AtomicUsize::new(0);
    let mut executions: Vec<Execution> = thread::scope(|s| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|_| {
                s.spawn(|| {
                    let mut c = server.client();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= EXECUTIONS {
                            return done;
                        }
                        let sent = Instant::now();
                        let started = c.call(
                            "StartExecution",
                            &json!({
                                "stateMachineArn": sm_arn,
                                "name": format!("e-{i}"),
                                "input": pass_choice_input(i).to_string(),
                            }),
                        );
                        let arn = started["executionArn"].as_str().expect("an ARN");
                        let d = c.wait_until_ended(arn);
                        let succeeded = Instant::now();
                        assert_eq!(d["status"], "SUCCEEDED", "{d}");
                        let out: Value =
                            serde_json::from_str(d["output"].as_str().expect("output"))
                                .expect("JSON output");
                        assert_eq!(out, pass_choice_output(i));
                        done.push(Execution {
                            index: i,
                            arn: arn.to_string(),
                            sent,
                            succeeded,
                            server_ms: server_ms(&d),
                        });
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a client thread"))
            .collect()
    });
    assert_eq!(executions.len(), EXECUTIONS);
    let first = executions.iter().map(|e| e.sent).min().expect("some");
    let last = executions.iter().map(|e| e.succeeded).max().expect("some");
    let wall = last - first;

    // Histories of an evenly spread sample, read after the timed part.
    executions.sort_by_key(|e| e.index);
    let mut c = server.client();
    let mut entered = 0usize;
    let mut step_ms = Vec::new();
    let every = EXECUTIONS / HISTORY_SAMPLE;
    for e in executions.iter().step_by(every).take(HISTORY_SAMPLE) {
        let times: Vec<f64> = c
            .history(&e.arn)
            .iter()
            .filter(|ev| is_state_entered(ev))
            .map(|ev| ev["timestamp"].as_f64().expect("a timestamp"))
            .collect();
        entered += times.len();
        step_ms.extend(times.windows(2).map(|w| ((w[1] - w[0]) * 1000.0).round()));
    }
    drop(server);

    PassChoiceRun {
        wall,
        latency_ms: sorted(
            executions
                .iter()
                .map(|e| ms(e.succeeded - e.sent))
                .collect(),
        ),
        server_ms: sorted(executions.iter().map(|e| e.server_ms).collect()),
        transitions_per_execution: entered as f64 / HISTORY_SAMPLE as f64,
        step_ms: sorted(step_ms),
    }
}

// ---------------------------------------------------------------------------------------------
// Workload b: one inline Map over 5,000 items, each a Pass calling States.Format.

fn map_definition() -> Value {
    json!({"StartAt": "Each", "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 0,
            "ItemSelector": {"value.$": "$$.Map.Item.Value", "total.$": "$.total"},
            "ItemProcessor": {"StartAt": "Label", "States": {
                "Label": {
                    "Type": "Pass",
                    "Parameters": {"label.$": "States.Format('item {} of {}', $.value, $.total)"},
                    "OutputPath": "$.label",
                    "End": true
                }
            }},
            "End": true
        }
    }})
}

fn map_input() -> Value {
    let items: Vec<Value> = (1..=MAP_ITEMS).map(|i| json!(i)).collect();
    json!({"total": MAP_ITEMS, "items": items})
}

struct MapRun {
    wall: Duration,
    /// StartExecution sent → its answer received.
    start_call: Duration,
    server_ms: f64,
    /// StateEntered events in the history (paged).
    transitions: usize,
    events: usize,
}

fn map_run(run: usize) -> MapRun {
    let server = Server::start(&format!("map-{run}"));
    let mut c = server.client();
    let sm_arn = c.create_state_machine("bench-map", &map_definition());
    let input = map_input().to_string();
    let sent = Instant::now();
    let started = c.call(
        "StartExecution",
        &json!({"stateMachineArn": sm_arn, "name": "map", "input": input}),
    );
    let start_call = sent.elapsed();
    let arn = started["executionArn"]
        .as_str()
        .expect("an ARN")
        .to_string();
    let d = c.wait_until_ended(&arn);
    let wall = sent.elapsed();
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().expect("output")).expect("JSON");
    let out = out.as_array().expect("an array");
    assert_eq!(out.len(), MAP_ITEMS);
    assert_eq!(out[0], json!(format!("item 1 of {MAP_ITEMS}")));
    assert_eq!(
        out[MAP_ITEMS - 1],
        json!(format!("item {MAP_ITEMS} of {MAP_ITEMS}"))
    );
    let history = c.history(&arn);
    let transitions = history.iter().filter(|e| is_state_entered(e)).count();
    assert_eq!(transitions, MAP_ITEMS + 1, "the Map and each item's Pass");
    MapRun {
        wall,
        start_call,
        server_ms: server_ms(&d),
        transitions,
        events: history.len(),
    }
}

// ---------------------------------------------------------------------------------------------

/// The run of median wall time.
fn median_run<T>(mut runs: Vec<T>, wall: impl Fn(&T) -> Duration) -> (T, Vec<Duration>) {
    let walls: Vec<Duration> = runs.iter().map(&wall).collect();
    runs.sort_by_key(|r| wall(r));
    let mid = runs.len() / 2;
    (runs.swap_remove(mid), walls)
}

fn walls_text(walls: &[Duration]) -> String {
    walls
        .iter()
        .map(|w| format!("{:.3} s", w.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    // `cargo bench` passes `--bench` (and any filter); this bench takes no options.
    let bench_start = Instant::now();

    let mut runs = Vec::new();
    for run in 1..=RUNS {
        eprintln!("pass_choice: run {run}/{RUNS} ({EXECUTIONS} executions, {CLIENTS} clients)…");
        runs.push(pass_choice_run(run));
    }
    let (pc, pc_walls) = median_run(runs, |r| r.wall);

    let mut runs = Vec::new();
    for run in 1..=RUNS {
        eprintln!("map_5000_format: run {run}/{RUNS}…");
        runs.push(map_run(run));
    }
    let (map, map_walls) = median_run(runs, |r| r.wall);

    let wall_s = pc.wall.as_secs_f64();
    let transitions = pc.transitions_per_execution * EXECUTIONS as f64;
    let map_s = map.wall.as_secs_f64();

    println!();
    println!(
        "## `waymark serve` on SQLite: {CLIENTS} client threads, keep-alive HTTP/1.1, median of {RUNS} runs"
    );
    println!();
    println!("| Workload | Figure | Value | How it is measured |");
    println!("|---|---|---|---|");
    let row = |w: &str, f: &str, v: String, how: &str| println!("| {w} | {f} | {v} | {how} |");
    let pc_name = format!("pass_choice ({EXECUTIONS} executions)");
    row(
        &pc_name,
        "wall time",
        format!("{:.3} s", wall_s),
        "first StartExecution sent → last DescribeExecution showing SUCCEEDED (client clock)",
    );
    row(
        &pc_name,
        "executions/s",
        format!("{:.0}", EXECUTIONS as f64 / wall_s),
        "executions ÷ wall time",
    );
    row(
        &pc_name,
        "transitions/s",
        format!("{:.0}", transitions / wall_s),
        &format!(
            "StateEntered events per execution ({:.1}, counted in {HISTORY_SAMPLE} histories) × {EXECUTIONS} ÷ wall time",
            pc.transitions_per_execution
        ),
    );
    row(
        &pc_name,
        "execution latency, median",
        format!("{:.2} ms", percentile(&pc.latency_ms, 50.0)),
        "per execution, client clock: StartExecution sent → first DescribeExecution answering SUCCEEDED (polled at once, then 1 ms apart)",
    );
    row(
        &pc_name,
        "execution latency, p99",
        format!("{:.2} ms", percentile(&pc.latency_ms, 99.0)),
        "as above, 99th percentile (nearest rank)",
    );
    row(
        &pc_name,
        "server execution time, median / p99",
        format!(
            "{:.0} ms / {:.0} ms",
            percentile(&pc.server_ms, 50.0),
            percentile(&pc.server_ms, 99.0)
        ),
        "stopDate − startDate from DescribeExecution (server clock, whole ms only)",
    );
    row(
        &pc_name,
        "step latency, median / p99 (mean)",
        format!(
            "{:.0} ms / {:.0} ms ({:.3} ms)",
            percentile(&pc.step_ms, 50.0),
            percentile(&pc.step_ms, 99.0),
            mean(&pc.step_ms)
        ),
        &format!(
            "time between consecutive `…StateEntered` events in GetExecutionHistory of {HISTORY_SAMPLE} executions ({} gaps; server timestamps, whole ms only)",
            pc.step_ms.len()
        ),
    );
    let map_name = format!("map_5000_format (1 execution, {MAP_ITEMS} items)");
    row(
        &map_name,
        "wall time",
        format!("{:.3} s", map_s),
        "StartExecution sent → first DescribeExecution answering SUCCEEDED (client clock, polled 1 ms apart)",
    );
    row(
        &map_name,
        "StartExecution round trip",
        format!("{:.3} s", map.start_call.as_secs_f64()),
        "StartExecution sent → its answer received (client clock): the part of the wall time spent inside the start request",
    );
    row(
        &map_name,
        "server execution time",
        format!("{:.3} s", map.server_ms / 1000.0),
        "stopDate − startDate from DescribeExecution (server clock)",
    );
    row(
        &map_name,
        "transitions/s",
        format!("{:.0}", map.transitions as f64 / map_s),
        &format!(
            "StateEntered events ({}, counted by paging GetExecutionHistory at 1,000 a page through all {} events) ÷ wall time",
            map.transitions, map.events
        ),
    );
    println!();
    println!("Notes:");
    println!(
        "- Server timestamps (startDate, stopDate, history events) have whole milliseconds, and the engine stamps every event of one step with the one clock reading taken when the step begins; an execution that runs wholly within one step therefore shows 0 ms between its `…StateEntered` events and a stopDate that leaves out the step's own work. The client-clock figures are the accurate ones here."
    );
    if pc.step_ms.iter().all(|&g| g == 0.0) {
        println!(
            "- All {} step gaps were 0 ms: each pass_choice execution ran in a single step.",
            pc.step_ms.len()
        );
    }
    println!(
        "- Execution latency includes both HTTP round trips (StartExecution and at least one DescribeExecution) and the queueing of {CLIENTS} client threads on a shared server; the client threads and the server share the machine's {} CPUs.",
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("pass_choice wall times: {}", walls_text(&pc_walls));
    println!("map_5000_format wall times: {}", walls_text(&map_walls));
    println!("bench total: {:.1} s", bench_start.elapsed().as_secs_f64());
}
