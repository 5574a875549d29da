//! History events with AWS's names, ids, `previousEventId` and details, in the shape
//! GetExecutionHistory returns them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use waymark_asl::json::to_text;
use waymark_asl::Failure;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    #[serde(with = "epoch_seconds")]
    pub timestamp: DateTime<Utc>,
    #[serde(rename = "type")]
    pub event_type: String,
    pub id: u64,
    #[serde(rename = "previousEventId")]
    pub previous_event_id: u64,
    /// `{"<x>EventDetails": {...}}`, flattened into the event, or nothing.
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

/// Read by hand rather than derived: serde's `flatten` buffers every event into an
/// intermediate tree first, which made reading a long history back several times slower than
/// writing it.
impl<'de> Deserialize<'de> for HistoryEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, Visitor};

        #[derive(Deserialize)]
        struct Epoch(#[serde(with = "epoch_seconds")] DateTime<Utc>);

        /// A key: one of the event's own fields (no allocation), or a details key.
        enum Key {
            Timestamp,
            Type,
            Id,
            Previous,
            Details(String),
        }
        impl<'de> Deserialize<'de> for Key {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Name;
                impl Visitor<'_> for Name {
                    type Value = Key;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a field name")
                    }
                    fn visit_str<E: Error>(self, k: &str) -> Result<Key, E> {
                        Ok(match k {
                            "timestamp" => Key::Timestamp,
                            "type" => Key::Type,
                            "id" => Key::Id,
                            "previousEventId" => Key::Previous,
                            other => Key::Details(other.to_string()),
                        })
                    }
                }
                d.deserialize_identifier(Name)
            }
        }

        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = HistoryEvent;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a history event")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<HistoryEvent, A::Error> {
                let (mut timestamp, mut event_type, mut id, mut previous) =
                    (None, None, None, None);
                let mut details = Map::new();
                while let Some(key) = m.next_key::<Key>()? {
                    match key {
                        Key::Timestamp => timestamp = Some(m.next_value::<Epoch>()?.0),
                        Key::Type => event_type = Some(m.next_value::<String>()?),
                        Key::Id => id = Some(m.next_value::<u64>()?),
                        Key::Previous => previous = Some(m.next_value::<u64>()?),
                        Key::Details(k) => {
                            details.insert(k, m.next_value::<Value>()?);
                        }
                    }
                }
                Ok(HistoryEvent {
                    timestamp: timestamp.ok_or_else(|| A::Error::missing_field("timestamp"))?,
                    event_type: event_type.ok_or_else(|| A::Error::missing_field("type"))?,
                    id: id.ok_or_else(|| A::Error::missing_field("id"))?,
                    previous_event_id: previous
                        .ok_or_else(|| A::Error::missing_field("previousEventId"))?,
                    details,
                })
            }
        }
        d.deserialize_map(Fields)
    }
}

/// The awsJson wire format of timestamps: seconds since the epoch, with milliseconds.
pub mod epoch_seconds {
    use chrono::{DateTime, TimeZone, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(t.timestamp_millis() as f64 / 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let secs = f64::deserialize(d)?;
        Utc.timestamp_millis_opt((secs * 1000.0).round() as i64)
            .single()
            .ok_or_else(|| serde::de::Error::custom("timestamp out of range"))
    }
}

/// The details of an event, before it gets its id.
#[derive(Debug, Clone)]
pub struct Details {
    pub event_type: String,
    pub details: Option<(String, Value)>,
}

impl Details {
    fn new(event_type: impl Into<String>, key: &str, value: Value) -> Self {
        Details {
            event_type: event_type.into(),
            details: Some((key.to_string(), value)),
        }
    }

    /// Whether the event ends the execution: only such an event may be the history's last
    /// allowed one.
    pub fn ends_execution(&self) -> bool {
        matches!(
            self.event_type.as_str(),
            "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut"
        )
    }

    fn bare(event_type: impl Into<String>) -> Self {
        Details {
            event_type: event_type.into(),
            details: None,
        }
    }
}

fn payload(v: &Value) -> Value {
    Value::String(to_text(v))
}

fn error_cause(f: &Failure) -> Value {
    let mut m = Map::new();
    if let Some(e) = &f.error {
        m.insert("error".into(), Value::String(e.clone()));
    }
    if let Some(c) = &f.cause {
        m.insert("cause".into(), Value::String(c.clone()));
    }
    Value::Object(m)
}

pub fn execution_started(input: &Value, role_arn: &str) -> Details {
    Details::new(
        "ExecutionStarted",
        "executionStartedEventDetails",
        json!({"input": payload(input), "inputDetails": {"truncated": false}, "roleArn": role_arn}),
    )
}

pub fn execution_succeeded(output: &Value) -> Details {
    Details::new(
        "ExecutionSucceeded",
        "executionSucceededEventDetails",
        json!({"output": payload(output), "outputDetails": {"truncated": false}}),
    )
}

pub fn execution_failed(f: &Failure) -> Details {
    Details::new(
        "ExecutionFailed",
        "executionFailedEventDetails",
        error_cause(f),
    )
}

pub fn execution_aborted(f: &Failure) -> Details {
    Details::new(
        "ExecutionAborted",
        "executionAbortedEventDetails",
        error_cause(f),
    )
}

pub fn execution_redriven(redrive_count: u32) -> Details {
    Details::new(
        "ExecutionRedriven",
        "executionRedrivenEventDetails",
        json!({"redriveCount": redrive_count}),
    )
}

pub fn execution_timed_out(f: &Failure) -> Details {
    Details::new(
        "ExecutionTimedOut",
        "executionTimedOutEventDetails",
        error_cause(f),
    )
}

pub fn state_entered(type_name: &str, name: &str, input: &Value) -> Details {
    Details::new(
        format!("{type_name}StateEntered"),
        "stateEnteredEventDetails",
        json!({"name": name, "input": payload(input), "inputDetails": {"truncated": false}}),
    )
}

pub fn state_exited(
    type_name: &str,
    name: &str,
    output: &Value,
    assigned: Option<&Map<String, Value>>,
) -> Details {
    let mut d =
        json!({"name": name, "output": payload(output), "outputDetails": {"truncated": false}});
    if let Some(vars) = assigned {
        let rendered: Map<String, Value> =
            vars.iter().map(|(k, v)| (k.clone(), payload(v))).collect();
        d["assignedVariables"] = Value::Object(rendered);
        d["assignedVariablesDetails"] = json!({"truncated": false});
    }
    Details::new(
        format!("{type_name}StateExited"),
        "stateExitedEventDetails",
        d,
    )
}

/// `MapStateStarted`, `ParallelStateStarted` and their kin, some with details.
pub fn fanout_event(is_map: bool, what: &str, length: Option<usize>) -> Details {
    let prefix = if is_map { "Map" } else { "Parallel" };
    match (is_map, what, length) {
        (true, "Started", Some(n)) => Details::new(
            "MapStateStarted",
            "mapStateStartedEventDetails",
            json!({"length": n}),
        ),
        _ => Details::bare(format!("{prefix}State{what}")),
    }
}

pub fn map_iteration(what: &str, state: &str, index: usize) -> Details {
    let key = format!("mapIteration{what}EventDetails");
    Details::new(
        format!("MapIteration{what}"),
        &key,
        json!({"name": state, "index": index}),
    )
}

pub fn map_run_started(map_run_arn: &str) -> Details {
    Details::new(
        "MapRunStarted",
        "mapRunStartedEventDetails",
        json!({"mapRunArn": map_run_arn}),
    )
}

pub fn map_run_succeeded() -> Details {
    Details::bare("MapRunSucceeded")
}

pub fn map_run_failed(f: &Failure) -> Details {
    Details::new("MapRunFailed", "mapRunFailedEventDetails", error_cause(f))
}

/// How a Task's resource is named in its events: `lambda` / `invoke`, or the legacy Lambda
/// ARN, which has events of its own (`LambdaFunction…`).
#[derive(Debug, Clone)]
pub enum ResourceEvents {
    Task {
        resource_type: String,
        resource: String,
    },
    Lambda {
        arn: String,
    },
    /// An activity ARN: `Activity…` events, `ActivityStarted` when a worker takes the task.
    Activity {
        arn: String,
    },
}

impl ResourceEvents {
    pub fn of(resource: &str) -> ResourceEvents {
        if crate::activity::is_activity(resource) {
            return ResourceEvents::Activity {
                arn: resource.to_string(),
            };
        }
        let parts: Vec<&str> = resource.splitn(6, ':').collect();
        if parts.len() == 6 && parts[2] == "lambda" && parts[5].starts_with("function:") {
            return ResourceEvents::Lambda {
                arn: resource.to_string(),
            };
        }
        if parts.len() == 6 && parts[2] == "states" && parts[3].is_empty() {
            let (service, action) = parts[5].split_once(':').unwrap_or((parts[5], ""));
            return ResourceEvents::Task {
                resource_type: service.to_string(),
                resource: action.to_string(),
            };
        }
        ResourceEvents::Task {
            resource_type: "activity".into(),
            resource: resource.to_string(),
        }
    }

    fn base(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let ResourceEvents::Task {
            resource_type,
            resource,
        } = self
        {
            m.insert("resourceType".into(), Value::String(resource_type.clone()));
            m.insert("resource".into(), Value::String(resource.clone()));
        }
        m
    }

    pub fn scheduled(
        &self,
        region: &str,
        parameters: &Value,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    ) -> Details {
        match self {
            ResourceEvents::Lambda { arn } => {
                let mut d = json!({"resource": arn, "input": payload(parameters), "inputDetails": {"truncated": false}});
                if let Some(t) = timeout {
                    d["timeoutInSeconds"] = json!(t);
                }
                Details::new(
                    "LambdaFunctionScheduled",
                    "lambdaFunctionScheduledEventDetails",
                    d,
                )
            }
            ResourceEvents::Activity { arn } => {
                let mut d = json!({"resource": arn, "input": payload(parameters), "inputDetails": {"truncated": false}});
                if let Some(t) = timeout {
                    d["timeoutInSeconds"] = json!(t);
                }
                if let Some(h) = heartbeat {
                    d["heartbeatInSeconds"] = json!(h);
                }
                Details::new("ActivityScheduled", "activityScheduledEventDetails", d)
            }
            ResourceEvents::Task { .. } => {
                let mut m = self.base();
                m.insert("region".into(), Value::String(region.to_string()));
                m.insert("parameters".into(), payload(parameters));
                if let Some(t) = timeout {
                    m.insert("timeoutInSeconds".into(), json!(t));
                }
                if let Some(h) = heartbeat {
                    m.insert("heartbeatInSeconds".into(), json!(h));
                }
                Details::new(
                    "TaskScheduled",
                    "taskScheduledEventDetails",
                    Value::Object(m),
                )
            }
        }
    }

    /// The event of a task's start, when it starts as it is scheduled (an activity starts
    /// when a worker takes it: [`ResourceEvents::activity_started`]).
    pub fn started(&self) -> Option<Details> {
        Some(match self {
            ResourceEvents::Activity { .. } => return None,
            ResourceEvents::Lambda { .. } => Details::bare("LambdaFunctionStarted"),
            ResourceEvents::Task { .. } => Details::new(
                "TaskStarted",
                "taskStartedEventDetails",
                Value::Object(self.base()),
            ),
        })
    }

    /// A worker took an activity's task (GetActivityTask).
    pub fn activity_started(worker: Option<&str>) -> Details {
        let mut d = json!({});
        if let Some(w) = worker {
            d["workerName"] = json!(w);
        }
        Details::new("ActivityStarted", "activityStartedEventDetails", d)
    }

    pub fn succeeded(&self, output: &Value) -> Details {
        match self {
            ResourceEvents::Lambda { .. } => Details::new(
                "LambdaFunctionSucceeded",
                "lambdaFunctionSucceededEventDetails",
                json!({"output": payload(output), "outputDetails": {"truncated": false}}),
            ),
            ResourceEvents::Activity { .. } => Details::new(
                "ActivitySucceeded",
                "activitySucceededEventDetails",
                json!({"output": payload(output), "outputDetails": {"truncated": false}}),
            ),
            ResourceEvents::Task { .. } => {
                let mut m = self.base();
                m.insert("output".into(), payload(output));
                m.insert("outputDetails".into(), json!({"truncated": false}));
                Details::new(
                    "TaskSucceeded",
                    "taskSucceededEventDetails",
                    Value::Object(m),
                )
            }
        }
    }

    /// A Run a Job (`.sync`) task's job started: `output` is the answer of the call that
    /// started it. Legacy Lambda resources have no jobs; they get the Task event all the same.
    pub fn submitted(&self, output: &Value) -> Details {
        let mut m = self.base();
        m.insert("output".into(), payload(output));
        m.insert("outputDetails".into(), json!({"truncated": false}));
        Details::new(
            "TaskSubmitted",
            "taskSubmittedEventDetails",
            Value::Object(m),
        )
    }

    pub fn failed(&self, f: &Failure) -> Details {
        match self {
            ResourceEvents::Lambda { .. } => Details::new(
                "LambdaFunctionFailed",
                "lambdaFunctionFailedEventDetails",
                error_cause(f),
            ),
            ResourceEvents::Activity { .. } => Details::new(
                "ActivityFailed",
                "activityFailedEventDetails",
                error_cause(f),
            ),
            ResourceEvents::Task { .. } => {
                let mut m = self.base();
                if let Value::Object(ec) = error_cause(f) {
                    m.extend(ec);
                }
                Details::new("TaskFailed", "taskFailedEventDetails", Value::Object(m))
            }
        }
    }

    pub fn timed_out(&self, f: &Failure) -> Details {
        match self {
            ResourceEvents::Lambda { .. } => Details::new(
                "LambdaFunctionTimedOut",
                "lambdaFunctionTimedOutEventDetails",
                error_cause(f),
            ),
            ResourceEvents::Activity { .. } => Details::new(
                "ActivityTimedOut",
                "activityTimedOutEventDetails",
                error_cause(f),
            ),
            ResourceEvents::Task { .. } => {
                let mut m = self.base();
                if let Value::Object(ec) = error_cause(f) {
                    m.extend(ec);
                }
                Details::new("TaskTimedOut", "taskTimedOutEventDetails", Value::Object(m))
            }
        }
    }
}

/// JSONata evaluation failures get an event of their own.
pub fn evaluation_failed(state: &str, f: &Failure, location: Option<&str>) -> Details {
    let mut d = error_cause(f);
    d["state"] = Value::String(state.to_string());
    if let Some(l) = location {
        d["location"] = Value::String(l.to_string());
    }
    Details::new("EvaluationFailed", "evaluationFailedEventDetails", d)
}

/// A step's events before ids are given: appended to the record in order.
pub fn finish(d: Details, id: u64, previous: u64, at: DateTime<Utc>) -> HistoryEvent {
    let mut details = Map::new();
    if let Some((k, v)) = d.details {
        details.insert(k, v);
    }
    HistoryEvent {
        timestamp: at,
        event_type: d.event_type,
        id,
        previous_event_id: previous,
        details,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn events_read_back_as_they_were_written() {
        let at = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
        for d in [
            Details::new(
                "PassStateEntered",
                "stateEnteredEventDetails",
                json!({"name": "A", "input": "{}"}),
            ),
            Details {
                event_type: "ExecutionSucceeded".into(),
                details: None,
            },
        ] {
            let e = finish(d, 7, 6, at);
            let text = serde_json::to_string(&e).unwrap();
            assert_eq!(
                serde_json::from_str::<HistoryEvent>(&text).unwrap(),
                e,
                "{text}"
            );
        }
        let e = serde_json::from_str::<HistoryEvent>(r#"{"timestamp": 1.5, "type": "X", "id": 1}"#);
        assert!(e.unwrap_err().to_string().contains("previousEventId"));
    }
}
