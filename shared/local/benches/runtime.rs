//! The local runtime as `waymark run` drives it: the engine over SQLite (in memory, as
//! `waymark run` defaults to), one execution started and run until it ends, measured in state
//! transitions (`…StateEntered` events) per second. `shared/engine/benches/engine.rs` measures
//! the engine on its in-memory ports; this adds the SQLite store (records, history chunks,
//! kept records) and the runtime's loop. `scripts/bench-compare.py` measures the same
//! workloads as whole processes against aws-local-stepfunctions.
//!
//! - `counter_loop_6000`: a Pass/Choice loop of 6,000 turns (24,006 history events, the most a
//!   Standard history allows for it).
//! - `inline_map_5000_format`: an inline Map of 5,000 items, each a Pass calling
//!   `States.Format` on an ItemSelector's `$$.Map.Item.Value`.
//! - `distributed_map_2000_waits`: a distributed Map of 2,000 items, each a 1-second Wait (no
//!   wall-clock time: the clock is virtual), all ending together.
//! - `distributed_map_2000_tasks`: a distributed Map of 2,000 items, each a Lambda Task
//!   answered by a mock, all dispatched together.
//!
//! Each iteration opens a fresh database; both check the execution's output.

use std::sync::Arc;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use waymark_asl::parse::{parse_value, MachineType, ParseOptions};
use waymark_engine::memory::NoTasks;
use waymark_engine::ports::{ExecutionStore, StateMachine, StateMachineStore};
use waymark_engine::record::Status;
use waymark_engine::runner::Config;
use waymark_local::{Local, LocalOptions};
use waymark_tasks::mock::{MockConfig, MockTasks};

const TURNS: u64 = 6_000;
const ITEMS: u64 = 5_000;
const CHILDREN: u64 = 2_000;

fn counter() -> Value {
    json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Result": {"i": 0}, "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.i", "NumericGreaterThanEquals": TURNS, "Next": "Done"}],
            "Default": "Inc"},
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"}
    }})
}

fn inline_map() -> Value {
    json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "End": true,
        "ItemSelector": {"value.$": "$$.Map.Item.Value", "total.$": "$.total"},
        "ItemProcessor": {"StartAt": "Label", "States": {"Label": {
            "Type": "Pass",
            "Parameters": {"label.$": "States.Format('item {} of {}', $.value, $.total)"},
            "OutputPath": "$.label", "End": true}}}}}})
}

fn distributed(state: Value) -> Value {
    json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "ItemsPath": "$.items", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Child", "States": {"Child": state}}}}})
}

/// Every Lambda Task of the machine `Bench` answers `{"ok": true}`.
const MOCKS: &str = r#"{"StateMachines": {"Bench": {"TestCases": {"Bench": {"Child": "Ok"}}}},
    "MockedResponses": {"Ok": {"0-99999": {"Return": {"ok": true}}}}}"#;

/// Runs `def` on `input` in a fresh runtime over an in-memory database: its output, and with
/// `count`, its transitions (read from the history, outside the measured runs).
async fn run(def: &Value, input: Value, count: bool) -> (Value, u64) {
    let mocks = MockConfig::parse(MOCKS).expect("valid mocks");
    let local = Local::open(
        LocalOptions {
            db: ":memory:".into(),
            wait_scale: 0.0,
            config: Config::default(),
            approvals: None,
        },
        MockTasks::new(mocks, NoTasks),
    )
    .expect("the runtime opens");
    let parsed = parse_value(def, &ParseOptions::default()).expect("a valid definition");
    let sm = StateMachine::new(
        local.engine.config.state_machine_arn("Bench"),
        "Bench".into(),
        def.to_string(),
        Arc::new(parsed.definition),
        MachineType::Standard,
        local.engine.config.role_arn.clone(),
        Utc::now(),
    );
    local
        .store
        .create_state_machine(&sm)
        .await
        .expect("the machine is stored");
    let started = local
        .engine
        .start_execution_with(&sm, Some("bench"), input, Some("Bench"))
        .await
        .expect("the execution starts");
    let rec = local
        .run_until_settled(&started.execution_arn)
        .await
        .expect("the execution runs");
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    if !count {
        return (rec.output.unwrap_or(Value::Null), 0);
    }
    let history = local
        .store
        .history(&rec.execution_arn)
        .await
        .expect("the history reads");
    let transitions = history
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
        .count() as u64;
    (rec.output.unwrap_or(Value::Null), transitions)
}

/// Throughput is in transitions, or for a distributed Map (whose children's transitions are
/// not in the parent's history) in `items`.
fn bench(
    c: &mut Criterion,
    name: &str,
    def: Value,
    input: Value,
    expected: Value,
    items: Option<u64>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let (output, transitions) = rt.block_on(run(&def, input.clone(), true));
    assert_eq!(output, expected, "{name}");
    let mut group = c.benchmark_group("local");
    group.sample_size(10);
    group.throughput(Throughput::Elements(items.unwrap_or(transitions)));
    group.bench_function(name, |b| {
        b.iter(|| rt.block_on(run(&def, input.clone(), false)));
    });
    group.finish();
}

fn counter_loop(c: &mut Criterion) {
    bench(
        c,
        "counter_loop_6000",
        counter(),
        json!({}),
        json!({"i": TURNS}),
        None,
    );
}

fn map_format(c: &mut Criterion) {
    let items: Vec<u64> = (1..=ITEMS).collect();
    let expected: Vec<String> = items
        .iter()
        .map(|i| format!("item {i} of {ITEMS}"))
        .collect();
    bench(
        c,
        "inline_map_5000_format",
        inline_map(),
        json!({"total": ITEMS, "items": items}),
        json!(expected),
        None,
    );
}

fn map_waits(c: &mut Criterion) {
    let items: Vec<u64> = (0..CHILDREN).collect();
    bench(
        c,
        "distributed_map_2000_waits",
        distributed(json!({"Type": "Wait", "Seconds": 1, "End": true})),
        json!({ "items": items }),
        json!(items),
        Some(CHILDREN),
    );
}

fn map_tasks(c: &mut Criterion) {
    let items: Vec<u64> = (0..CHILDREN).collect();
    bench(
        c,
        "distributed_map_2000_tasks",
        distributed(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload.$": "$"}, "End": true}),
        ),
        json!({ "items": items }),
        json!(vec![json!({"ok": true}); CHILDREN as usize]),
        Some(CHILDREN),
    );
}

criterion_group!(benches, counter_loop, map_format, map_waits, map_tasks);
criterion_main!(benches);
