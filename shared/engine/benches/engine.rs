//! Throughput of the engine on its in-memory ports (`MemoryStore`, `MemoryScheduler`, a
//! `ScaledClock` at scale 0, i.e. virtual time, and `SeededIds`), measured in state transitions
//! (`…StateEntered` history events) per second:
//!
//! - `pass_choice_1000_executions`: one iteration starts 1,000 executions of a five-state
//!   Pass/Choice machine on a fresh engine and runs each to completion. This measures the
//!   per-execution and per-step overhead: record creation, load/commit in the store, the
//!   context object, payload templates, Choice rules and history events.
//! - `map_5000_format`: one iteration runs one execution of an inline Map over 5,000 items
//!   (MaxConcurrency 0, so every item is started in the same step), each item going through an
//!   ItemSelector and a Pass whose Parameters call `States.Format` (its OutputPath keeps just
//!   the string, so that the Map's result stays under the 256 KiB payload limit, which
//!   5,000 `{"label": …}` objects would exceed). An inline Map's iterations write four events
//!   each to the execution's history, so 5,000 stay under AWS's 25,000. This measures the
//!   fan-out:
//!   starting, running and gathering many child frames within a single step.
//!
//! - `map_5000_jsonata`: the same Map written in JSONata (`Items`, a JSONata `ItemSelector`
//!   reading `$states.context.Map.Item.Value`, and the item's `Output` building the string).
//!
//! - `dmap_10000` and `dmap_10000_export`: one execution of a distributed Map (EXPRESS
//!   children) over 10,000 items, each child a Pass, without and with a ResultWriter export
//!   (to a sink that answers S3's writes and keeps only their sizes): the difference is what
//!   making the export's files costs, read back from the store a thousand children at a time.
//!
//! The number of transitions is counted once from a real run's history, not hard-coded, and
//! the runs check that the execution succeeded with the expected output.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::{json, Value};
use tokio::runtime::Runtime;
use waymark_asl::parse::{parse_value, MachineType, ParseOptions};
use waymark_engine::history::HistoryEvent;
use waymark_engine::memory::{
    run_until_settled, MemoryScheduler, MemoryStore, NoTasks, NullNotifier, ScaledClock, SeededIds,
};
use waymark_engine::ports::{ExecutionStore, StateMachine, TaskOutcome, Tasks};
use waymark_engine::record::{ExecutionRecord, Status};
use waymark_engine::runner::{Config, Engine};
use waymark_engine::step::TaskRequest;

type MemEngine<T = NoTasks> =
    Engine<MemoryStore, MemoryScheduler, T, NullNotifier, ScaledClock, SeededIds>;

const EXECUTIONS: u64 = 1_000;
/// Items of the inline Maps (four history events each, within the 25,000 an execution has).
const MAP_ITEMS: usize = 5_000;
/// Items of the distributed Maps, whose children write nothing to the execution's history.
const DMAP_ITEMS: usize = 10_000;

/// A fresh engine wholly in memory, with virtual time, and `def` registered on it.
fn engine_with(def: &Value) -> (MemEngine, StateMachine) {
    engine_over(def, NoTasks)
}

fn engine_over<T: Tasks>(def: &Value, tasks: T) -> (MemEngine<T>, StateMachine) {
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let engine = Engine {
        store: MemoryStore::default(),
        scheduler: MemoryScheduler::default(),
        tasks,
        notifier: NullNotifier,
        clock: ScaledClock::new(t0, 0.0),
        ids: SeededIds::new(7),
        config: Config::default(),
        approvals: None,
    };
    let parsed = parse_value(def, &ParseOptions::default()).expect("valid definition");
    let sm = StateMachine::new(
        engine.config.state_machine_arn("Bench"),
        "Bench".into(),
        def.to_string(),
        Arc::new(parsed.definition),
        MachineType::Standard,
        engine.config.role_arn.clone(),
        t0,
    );
    engine.store.put_state_machine(sm.clone());
    (engine, sm)
}

/// Starts one execution and runs it until it ends.
async fn run_one<T: Tasks>(
    engine: &MemEngine<T>,
    sm: &StateMachine,
    input: Value,
) -> ExecutionRecord {
    let started = engine
        .start_execution(sm, None, input)
        .await
        .expect("execution starts");
    run_until_settled(engine, &started.execution_arn)
        .await
        .expect("execution runs")
}

fn transitions(history: &[HistoryEvent]) -> u64 {
    history
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
        .count() as u64
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

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

fn pass_choice_input(i: u64) -> Value {
    json!({"n": i % 20, "payload": "x"})
}

fn pass_choice(c: &mut Criterion) {
    let rt = runtime();
    let def = pass_choice_definition();

    // One real run: check the result and count the transitions of one execution.
    let per_execution = {
        let (engine, sm) = engine_with(&def);
        rt.block_on(async {
            let rec = run_one(&engine, &sm, pass_choice_input(15)).await;
            assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
            assert_eq!(
                rec.output,
                Some(json!({"n": 15, "tag": "bench", "size": "big", "note": {"seen": true}}))
            );
            let history = engine.store.history(&rec.execution_arn).await.unwrap();
            transitions(&history)
        })
    };
    assert_eq!(per_execution, 5, "Shape, Size, Big|Small, Note, Done");

    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(10));
    group.throughput(Throughput::Elements(per_execution * EXECUTIONS));
    group.bench_function("pass_choice_1000_executions", |b| {
        b.iter_batched(
            || engine_with(&def),
            |(engine, sm)| {
                rt.block_on(async {
                    for i in 0..EXECUTIONS {
                        let rec = run_one(&engine, &sm, pass_choice_input(i)).await;
                        debug_assert_eq!(rec.status, Status::Succeeded);
                    }
                });
                engine // dropped outside the measurement
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

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

fn check_map_output(rec: &ExecutionRecord) {
    assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
    let out = rec
        .output
        .as_ref()
        .and_then(Value::as_array)
        .expect("an array");
    assert_eq!(out.len(), MAP_ITEMS);
    assert_eq!(out[0], json!(format!("item 1 of {MAP_ITEMS}")));
    assert_eq!(
        out[MAP_ITEMS - 1],
        json!(format!("item {MAP_ITEMS} of {MAP_ITEMS}"))
    );
}

fn map_format(c: &mut Criterion) {
    let rt = runtime();
    let def = map_definition();
    let input = map_input();

    let per_execution = {
        let (engine, sm) = engine_with(&def);
        rt.block_on(async {
            let rec = run_one(&engine, &sm, input.clone()).await;
            check_map_output(&rec);
            let history = engine.store.history(&rec.execution_arn).await.unwrap();
            transitions(&history)
        })
    };
    assert_eq!(per_execution, MAP_ITEMS as u64 + 1, "the Map and each item");

    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(20));
    group.throughput(Throughput::Elements(per_execution));
    group.bench_function("map_5000_format", |b| {
        b.iter_batched(
            || (engine_with(&def), input.clone()),
            |((engine, sm), input)| {
                let rec = rt.block_on(run_one(&engine, &sm, input));
                debug_assert_eq!(rec.status, Status::Succeeded);
                (engine, rec) // dropped outside the measurement
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// The same Map in JSONata: `Items`, a JSONata `ItemSelector`, and the item's `Output`.
fn map_jsonata_definition() -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": "Each", "States": {
        "Each": {
            "Type": "Map",
            "Items": "{% $states.input.items %}",
            "MaxConcurrency": 0,
            "ItemSelector": {"value": "{% $states.context.Map.Item.Value %}", "total": "{% $states.input.total %}"},
            "ItemProcessor": {"StartAt": "Label", "States": {
                "Label": {
                    "Type": "Pass",
                    "Output": "{% 'item ' & $states.input.value & ' of ' & $states.input.total %}",
                    "End": true
                }
            }},
            "End": true
        }
    }})
}

fn map_jsonata(c: &mut Criterion) {
    let rt = runtime();
    let def = map_jsonata_definition();
    let input = map_input();
    let per_execution = {
        let (engine, sm) = engine_with(&def);
        rt.block_on(async {
            let rec = run_one(&engine, &sm, input.clone()).await;
            check_map_output(&rec);
            let history = engine.store.history(&rec.execution_arn).await.unwrap();
            transitions(&history)
        })
    };
    assert_eq!(per_execution, MAP_ITEMS as u64 + 1, "the Map and each item");

    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(20));
    group.throughput(Throughput::Elements(per_execution));
    group.bench_function("map_5000_jsonata", |b| {
        b.iter_batched(
            || (engine_with(&def), input.clone()),
            |((engine, sm), input)| {
                let rec = rt.block_on(run_one(&engine, &sm, input));
                debug_assert_eq!(rec.status, Status::Succeeded);
                (engine, rec)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Answers a ResultWriter's writes as S3 would, keeping only how many bytes they carried.
#[derive(Default)]
struct S3Sink {
    bytes: std::sync::atomic::AtomicUsize,
}

impl Tasks for S3Sink {
    async fn invoke(&self, _arn: &str, req: &TaskRequest) -> TaskOutcome {
        use std::sync::atomic::Ordering;
        let Some(w) = &req.writer else {
            return TaskOutcome::Failed(waymark_asl::Failure::runtime("only writes here"));
        };
        let body = |v: &Value| v["Body"].as_str().map_or(0, str::len);
        if let Some(files) = w["Files"].as_array() {
            let n: usize = files.iter().map(body).sum();
            self.bytes.fetch_add(n, Ordering::Relaxed);
            return TaskOutcome::Succeeded(Value::Null);
        }
        if w.get("Begin").is_some() {
            return TaskOutcome::Succeeded(json!({"UploadId": "u"}));
        }
        if let Some(p) = w.get("Part") {
            self.bytes.fetch_add(body(p), Ordering::Relaxed);
            return TaskOutcome::Succeeded(json!({"ETag": "\"e\""}));
        }
        TaskOutcome::Succeeded(Value::Null)
    }
}

fn dmap_definition(export: bool) -> Value {
    let mut m = json!({
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$", "pad": "x".repeat(100)}, "End": true}}
        },
        "End": true
    });
    if export {
        m["ResultWriter"] = json!({"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "runs"}});
    } else {
        m["OutputPath"] = json!("$[0]");
    }
    json!({"StartAt": "Each", "States": {"Each": m}})
}

fn dmap(c: &mut Criterion) {
    let rt = runtime();
    let items: Vec<Value> = (1..=DMAP_ITEMS).map(|i| json!(i)).collect();
    let input = json!({"items": items});
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(20));
    group.throughput(Throughput::Elements(DMAP_ITEMS as u64));
    for export in [false, true] {
        let def = dmap_definition(export);
        {
            let (engine, sm) = engine_over(&def, S3Sink::default());
            let rec = rt.block_on(run_one(&engine, &sm, input.clone()));
            assert_eq!(rec.status, Status::Succeeded, "{:?}", rec.failure);
            let written = engine
                .tasks
                .bytes
                .load(std::sync::atomic::Ordering::Relaxed);
            if export {
                let out = rec.output.expect("an output");
                assert!(out["ResultWriterDetails"]["Key"].is_string(), "{out}");
                assert!(written > DMAP_ITEMS * 100, "{written} bytes written");
            } else {
                assert_eq!(rec.output.unwrap()["v"], json!(1));
                assert_eq!(written, 0);
            }
        }
        let name = if export {
            "dmap_10000_export"
        } else {
            "dmap_10000"
        };
        group.bench_function(name, |b| {
            b.iter_batched(
                || (engine_over(&def, S3Sink::default()), input.clone()),
                |((engine, sm), input)| {
                    let rec = rt.block_on(run_one(&engine, &sm, input));
                    debug_assert_eq!(rec.status, Status::Succeeded);
                    (engine, rec)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, pass_choice, map_format, map_jsonata, dmap);
criterion_main!(benches);
