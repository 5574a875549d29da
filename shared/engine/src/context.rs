//! The context object (`$$` in JSONPath, `$states.context` in JSONata) a state sees.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use waymark_asl::timestamp::format_millis;

use crate::record::{ExecutionRecord, MachineTypeRepr};

/// What varies from one state to the next inside an execution.
pub struct StateContext<'a> {
    pub state: &'a str,
    pub entered_time: DateTime<Utc>,
    pub retry_count: Option<u64>,
    pub task_token: Option<&'a str>,
    /// `(index, value)` while a Map's ItemSelector is evaluated.
    pub map_item: Option<(usize, &'a Value)>,
    /// `$$.Task.Approval`: the human-approval links of a `.waitForTaskToken` task.
    pub approval: Option<&'a Value>,
    /// Whether to copy the execution's input in (it can be large, and is rarely read).
    pub with_input: bool,
}

/// The part of the context object a Map's ItemSelector reads: `{"Map": {"Item": …}}`
/// (empty outside an item's selection).
pub fn map_context(map_item: Option<(usize, &Value)>) -> Value {
    let mut ctx = Map::new();
    if let Some((index, value)) = map_item {
        ctx.insert(
            "Map".into(),
            json!({"Item": {"Index": index, "Value": value}}),
        );
    }
    Value::Object(ctx)
}

pub fn context_object(rec: &ExecutionRecord, s: &StateContext) -> Value {
    let mut execution = Map::new();
    execution.insert("Id".into(), json!(rec.execution_arn));
    if s.with_input {
        execution.insert("Input".into(), rec.input.clone());
    }
    execution.insert("StartTime".into(), json!(format_millis(rec.start_time)));
    execution.insert("Name".into(), json!(rec.name));
    execution.insert("RoleArn".into(), json!(rec.role_arn));
    if rec.machine_type == MachineTypeRepr::Standard {
        execution.insert("RedriveCount".into(), json!(rec.redrive_count));
    }
    let mut state = Map::new();
    state.insert("Name".into(), json!(s.state));
    state.insert("EnteredTime".into(), json!(format_millis(s.entered_time)));
    if let Some(n) = s.retry_count {
        state.insert("RetryCount".into(), json!(n));
    }
    let mut ctx = Map::new();
    ctx.insert("Execution".into(), Value::Object(execution));
    ctx.insert(
        "StateMachine".into(),
        json!({"Id": rec.state_machine_arn, "Name": rec.state_machine_name}),
    );
    ctx.insert("State".into(), Value::Object(state));
    if let Some(token) = s.task_token {
        let mut task = Map::new();
        task.insert("Token".into(), json!(token));
        if let Some(a) = s.approval {
            task.insert("Approval".into(), a.clone());
        }
        ctx.insert("Task".into(), Value::Object(task));
    }
    if let Value::Object(map) = map_context(s.map_item) {
        ctx.extend(map);
    }
    Value::Object(ctx)
}
