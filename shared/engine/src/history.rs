//! History events with AWS's names, ids, `previousEventId` and details, in the shape
//! GetExecutionHistory returns them.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use waymark_asl::json::to_text;
use waymark_asl::Failure;

/// An event as it is stored and returned. Its details are kept as the JSON text they are
/// written as: an event is made once and written once, and building a tree of maps for it
/// only to serialise the tree at once was half of what a Pass/Choice loop cost.
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    pub timestamp: DateTime<Utc>,
    pub event_type: Cow<'static, str>,
    pub id: u64,
    pub previous_event_id: u64,
    /// `<x>EventDetails` and its object as JSON text, flattened into the event; or nothing.
    pub details: Option<(Cow<'static, str>, Box<RawValue>)>,
}

impl HistoryEvent {
    /// The details as a JSON object (`{"<x>EventDetails": {...}}`, or empty), parsed from
    /// their text: for readers that look inside, which the write path never does.
    pub fn details_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        if let Some((k, text)) = &self.details {
            let v = serde_json::from_str(text.get()).unwrap_or(Value::Null);
            m.insert(k.to_string(), v);
        }
        m
    }
}

impl PartialEq for HistoryEvent {
    fn eq(&self, other: &Self) -> bool {
        self.timestamp == other.timestamp
            && self.event_type == other.event_type
            && self.id == other.id
            && self.previous_event_id == other.previous_event_id
            && match (&self.details, &other.details) {
                (None, None) => true,
                (Some((k, a)), Some((l, b))) => k == l && a.get() == b.get(),
                _ => false,
            }
    }
}

impl Serialize for HistoryEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Epoch<'a>(&'a DateTime<Utc>);
        impl Serialize for Epoch<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                epoch_seconds::serialize(self.0, s)
            }
        }
        let mut m = s.serialize_map(Some(4 + usize::from(self.details.is_some())))?;
        m.serialize_entry("timestamp", &Epoch(&self.timestamp))?;
        m.serialize_entry("type", &self.event_type)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("previousEventId", &self.previous_event_id)?;
        if let Some((k, v)) = &self.details {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Read by hand: the details are kept as text (see [`HistoryEvent`]), and serde's `flatten`
/// would buffer every event into an intermediate tree first.
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
                let mut details = None;
                while let Some(key) = m.next_key::<Key>()? {
                    match key {
                        Key::Timestamp => timestamp = Some(m.next_value::<Epoch>()?.0),
                        Key::Type => event_type = Some(m.next_value::<String>()?),
                        Key::Id => id = Some(m.next_value::<u64>()?),
                        Key::Previous => previous = Some(m.next_value::<u64>()?),
                        Key::Details(k) => {
                            if details.is_some() {
                                return Err(A::Error::custom("an event has one details member"));
                            }
                            details = Some((Cow::Owned(k), m.next_value::<Box<RawValue>>()?));
                        }
                    }
                }
                Ok(HistoryEvent {
                    timestamp: timestamp.ok_or_else(|| A::Error::missing_field("timestamp"))?,
                    event_type: Cow::Owned(
                        event_type.ok_or_else(|| A::Error::missing_field("type"))?,
                    ),
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
    pub event_type: Cow<'static, str>,
    pub details: Option<(Cow<'static, str>, Box<RawValue>)>,
}

impl Details {
    fn new(
        event_type: impl Into<Cow<'static, str>>,
        key: impl Into<Cow<'static, str>>,
        value: Value,
    ) -> Self {
        Self::of(event_type, key, &value)
    }

    /// Details written straight from a serialisable shape, with no tree in between.
    fn of<T: Serialize + ?Sized>(
        event_type: impl Into<Cow<'static, str>>,
        key: impl Into<Cow<'static, str>>,
        value: &T,
    ) -> Self {
        let text = serde_json::value::to_raw_value(value)
            .expect("event details are maps with string keys");
        Details {
            event_type: event_type.into(),
            details: Some((key.into(), text)),
        }
    }

    /// Whether the event ends the execution: only such an event may be the history's last
    /// allowed one.
    pub fn ends_execution(&self) -> bool {
        matches!(
            &*self.event_type,
            "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut"
        )
    }

    fn bare(event_type: impl Into<Cow<'static, str>>) -> Self {
        Details {
            event_type: event_type.into(),
            details: None,
        }
    }
}

/// A payload as AWS puts it in an event: its JSON text, as a string.
struct Payload<'a>(&'a Value);

impl Serialize for Payload<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_text(self.0))
    }
}

/// `{"truncated": false}`: Waymark keeps payloads whole (they are within 256 KiB).
#[derive(Serialize)]
struct NotTruncated {
    truncated: bool,
}

const WHOLE: NotTruncated = NotTruncated { truncated: false };

#[derive(Serialize)]
struct Entered<'a> {
    name: &'a str,
    input: Payload<'a>,
    #[serde(rename = "inputDetails")]
    input_details: NotTruncated,
}

#[derive(Serialize)]
struct Exited<'a> {
    name: &'a str,
    output: Payload<'a>,
    #[serde(rename = "outputDetails")]
    output_details: NotTruncated,
    #[serde(rename = "assignedVariables", skip_serializing_if = "Option::is_none")]
    assigned: Option<Assigned<'a>>,
    #[serde(
        rename = "assignedVariablesDetails",
        skip_serializing_if = "Option::is_none"
    )]
    assigned_details: Option<NotTruncated>,
}

/// Assigned variables, each value as its JSON text.
struct Assigned<'a>(&'a Map<String, Value>);

impl Serialize for Assigned<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, &Payload(v))?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct Output<'a> {
    output: Payload<'a>,
    #[serde(rename = "outputDetails")]
    output_details: NotTruncated,
}

/// The event type of a state's entry or exit (`PassStateEntered`), without an allocation
/// for the types there are.
fn state_event(type_name: &str, entered: bool) -> Cow<'static, str> {
    macro_rules! types {
        ($($t:literal),*) => {
            match (type_name, entered) {
                $(
                    ($t, true) => Cow::Borrowed(concat!($t, "StateEntered")),
                    ($t, false) => Cow::Borrowed(concat!($t, "StateExited")),
                )*
                (t, true) => Cow::Owned(format!("{t}StateEntered")),
                (t, false) => Cow::Owned(format!("{t}StateExited")),
            }
        };
    }
    types!("Pass", "Choice", "Task", "Wait", "Succeed", "Fail", "Map", "Parallel")
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
    Details::of(
        "ExecutionSucceeded",
        "executionSucceededEventDetails",
        &Output {
            output: Payload(output),
            output_details: WHOLE,
        },
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
    Details::of(
        state_event(type_name, true),
        "stateEnteredEventDetails",
        &Entered {
            name,
            input: Payload(input),
            input_details: WHOLE,
        },
    )
}

pub fn state_exited(
    type_name: &str,
    name: &str,
    output: &Value,
    assigned: Option<&Map<String, Value>>,
) -> Details {
    Details::of(
        state_event(type_name, false),
        "stateExitedEventDetails",
        &Exited {
            name,
            output: Payload(output),
            output_details: WHOLE,
            assigned: assigned.map(Assigned),
            assigned_details: assigned.map(|_| WHOLE),
        },
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
    Details::new(
        format!("MapIteration{what}"),
        format!("mapIteration{what}EventDetails"),
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
    HistoryEvent {
        timestamp: at,
        event_type: d.event_type,
        id,
        previous_event_id: previous,
        details: d.details,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// The text an event is stored and returned as: AWS's member order, payloads as JSON text
    /// in strings, escaped once.
    #[test]
    fn an_event_is_written_in_aws_shape() {
        let at = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
        let mut vars = Map::new();
        vars.insert("x".into(), json!({"a": "q\""}));
        let d = state_exited("Pass", "P \"1\"", &json!({"k": [1, "two"]}), Some(&vars));
        let e = finish(d, 3, 2, at);
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"timestamp":1700000000.123,"type":"PassStateExited","id":3,"previousEventId":2,"stateExitedEventDetails":{"name":"P \"1\"","output":"{\"k\":[1,\"two\"]}","outputDetails":{"truncated":false},"assignedVariables":{"x":"{\"a\":\"q\\\"\"}"},"assignedVariablesDetails":{"truncated":false}}}"#
        );
        // As a tree (GetExecutionHistory's page), the same members.
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::from_str::<Value>(&text).unwrap()
        );
        assert_eq!(
            e.details_json()["stateExitedEventDetails"]["name"],
            "P \"1\""
        );
        // A state type the table does not name still gets its events.
        let odd = state_entered("Custom", "C", &json!(null));
        assert_eq!(odd.event_type, "CustomStateEntered");
        let bare = finish(execution_succeeded(&json!(1)), 9, 8, at);
        assert!(serde_json::to_string(&bare)
            .unwrap()
            .ends_with(r#""executionSucceededEventDetails":{"output":"1","outputDetails":{"truncated":false}}}"#));
    }

    #[test]
    fn an_event_with_two_details_members_is_refused() {
        let text = r#"{"timestamp":1.5,"type":"X","id":1,"previousEventId":0,"aEventDetails":{},"bEventDetails":{}}"#;
        let e = serde_json::from_str::<HistoryEvent>(text).unwrap_err();
        assert!(e.to_string().contains("one details member"), "{e}");
    }

    #[test]
    fn events_read_back_as_they_were_written() {
        let at = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
        for d in [
            Details::new(
                "PassStateEntered",
                "stateEnteredEventDetails",
                json!({"name": "A", "input": "{}"}),
            ),
            Details::bare("ExecutionSucceeded"),
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
