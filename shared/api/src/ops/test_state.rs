//! TestState: run one state with an input and see what it does — its output or error, the
//! state it would go to, and at the DEBUG and TRACE inspection levels every stage of its data
//! flow. The state runs through the engine's own step ([`waymark_engine::test_state`]); this
//! module is the request's validation and the response's shape, as AWS gives them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use waymark_asl::model::StateKind;
use waymark_asl::parse::parse_test_definition;
use waymark_asl::Failure;
use waymark_engine::ports::TaskCheck;
use waymark_engine::test_state::{
    check_testable, Inspection, Mock, TestContext, TestStateOutcome, TestStateRequest,
};

use crate::backend::Backend;
use crate::error::ApiError;
use crate::names::check_role_arn;
use crate::ops::respond;
use crate::shapes::{check_len, one_of, required};

/// AWS's limit on a definition's length.
const MAX_DEFINITION_CHARS: usize = 1_048_576;
/// AWS's limit on `input`, `variables`, `context` and a mock's `result` (SensitiveData).
const MAX_DATA_CHARS: usize = 262_144;
/// TestState runs for at most five minutes, then fails with `States.Timeout`.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TestStateInput {
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub input: Option<String>,
    pub inspection_level: Option<String>,
    pub reveal_secrets: Option<bool>,
    pub variables: Option<String>,
    pub state_name: Option<String>,
    pub mock: Option<MockInput>,
    pub context: Option<String>,
    pub state_configuration: Option<StateConfiguration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MockInput {
    pub result: Option<String>,
    pub error_output: Option<MockErrorOutput>,
    pub field_validation_mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MockErrorOutput {
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StateConfiguration {
    pub retrier_retry_count: Option<i64>,
    pub error_caused_by_state: Option<String>,
    pub map_iteration_failure_count: Option<i64>,
    pub map_item_reader_data: Option<String>,
}

/// How strictly a mocked result is checked against the integration's API model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Required members present, and every member present belongs to the model.
    Strict,
    /// Every member present belongs to the model.
    Present,
    None,
}

fn json_field(field: &str, text: &str) -> Result<Value, ApiError> {
    check_len(field, text, 0, MAX_DATA_CHARS)?;
    serde_json::from_str(text)
        .map_err(|e| ApiError::ValidationException(format!("The {field} is not valid JSON: {e}")))
}

pub async fn test_state<B: Backend + ?Sized>(
    b: &B,
    req: TestStateInput,
) -> Result<Value, ApiError> {
    let definition = required("definition", req.definition)?;
    check_len("definition", &definition, 1, MAX_DEFINITION_CHARS)?;
    if let Some(name) = &req.state_name {
        check_len("stateName", name, 1, 80)?;
    }
    if let Some(role) = &req.role_arn {
        check_role_arn(role)?;
    }
    let level = match req.inspection_level.as_deref() {
        None => "INFO",
        Some(s) => one_of("inspectionLevel", s, &["INFO", "DEBUG", "TRACE"])?,
    };
    let input = match req.input.as_deref() {
        None => json!({}),
        Some(text) => {
            check_len("input", text, 0, MAX_DATA_CHARS)?;
            serde_json::from_str(text).map_err(ApiError::invalid_input)?
        }
    };
    let variables = match req.variables.as_deref() {
        None => Map::new(),
        Some(text) => match json_field("variables", text)? {
            Value::Object(m) => m,
            _ => {
                return Err(ApiError::ValidationException(
                    "The variables must be a JSON object of variable names to values".into(),
                ))
            }
        },
    };
    let context = match req.context.as_deref() {
        None => TestContext::default(),
        Some(text) => parse_context(&json_field("context", text)?)?,
    };
    let (mock, validation) = match req.mock {
        None => (None, FieldValidation::None),
        Some(m) => parse_mock(m)?,
    };
    let retries_done = match req.state_configuration {
        None => 0,
        Some(c) => {
            if c.error_caused_by_state.is_some()
                || c.map_iteration_failure_count.is_some()
                || c.map_item_reader_data.is_some()
            {
                return Err(ApiError::ValidationException(
                    "stateConfiguration.errorCausedByState, mapIterationFailureCount and mapItemReaderData apply to Map and Parallel states, which Waymark does not yet run in TestState".into(),
                ));
            }
            match c.retrier_retry_count {
                None => 0,
                Some(n) if n < 0 => {
                    return Err(ApiError::validation(
                        "stateConfiguration.retrierRetryCount",
                        n,
                        "Member must have value greater than or equal to 0",
                    ))
                }
                Some(n) => n as u64,
            }
        }
    };

    let parsed = parse_test_definition(&definition, req.state_name.as_deref()).map_err(|d| {
        let all: Vec<String> = d.iter().map(ToString::to_string).collect();
        ApiError::InvalidDefinition(format!(
            "Invalid State Machine Definition: '{}'",
            all.join(", ")
        ))
    })?;
    let state = &parsed.definition.graph.states[&parsed.state];
    check_testable(state, mock.is_some()).map_err(|e| ApiError::ValidationException(e.0))?;
    if let StateKind::Task(t) = &state.kind {
        if mock.is_none() && req.role_arn.is_none() {
            return Err(ApiError::ValidationException(
                "TestState needs a roleArn to call the state's service, unless the task is mocked"
                    .into(),
            ));
        }
        if let Some(Mock::Result(v)) = &mock {
            if validation != FieldValidation::None {
                b.check_task(&TaskCheck::MockResult {
                    resource: &t.resource,
                    result: v,
                    strict: validation == FieldValidation::Strict,
                })
                .map_err(|e| {
                    ApiError::ValidationException(format!(
                        "The mocked result does not match the API model of {}: {e}",
                        t.resource
                    ))
                })?;
            }
        }
    }

    let role_arn = req
        .role_arn
        .clone()
        .unwrap_or_else(|| b.config().role_arn.clone());
    let request = TestStateRequest {
        definition: parsed.definition.clone(),
        state: parsed.state.clone(),
        input,
        variables,
        context,
        mock,
        retries_done,
        role_arn,
    };
    let outcome = match tokio::time::timeout(TEST_TIMEOUT, b.test_state(request)).await {
        Ok(r) => r.map_err(ApiError::from)?,
        Err(_) => TestStateOutcome {
            status: waymark_engine::test_state::TestStatus::Failed,
            output: None,
            failure: Some(Failure::new(
                waymark_asl::error::names::TIMEOUT,
                "The state did not finish within TestState's five minutes",
            )),
            next_state: None,
            inspection: Inspection::default(),
        },
    };
    respond(&response(outcome, level != "INFO"))
}

fn parse_mock(m: MockInput) -> Result<(Option<Mock>, FieldValidation), ApiError> {
    let validation = match m.field_validation_mode.as_deref() {
        None => FieldValidation::Strict,
        Some(s) => match one_of(
            "mock.fieldValidationMode",
            s,
            &["STRICT", "PRESENT", "NONE"],
        )? {
            "STRICT" => FieldValidation::Strict,
            "PRESENT" => FieldValidation::Present,
            _ => FieldValidation::None,
        },
    };
    let mock = match (m.result, m.error_output) {
        (Some(_), Some(_)) => {
            return Err(ApiError::ValidationException(
                "A mock has either a result or an errorOutput, not both".into(),
            ))
        }
        (None, None) => {
            return Err(ApiError::ValidationException(
                "A mock needs a result or an errorOutput".into(),
            ))
        }
        (Some(text), None) => Mock::Result(json_field("mock.result", &text)?),
        (None, Some(e)) => {
            let error = required("mock.errorOutput.error", e.error)?;
            check_len("mock.errorOutput.error", &error, 0, 256)?;
            if let Some(c) = &e.cause {
                check_len("mock.errorOutput.cause", c, 0, 32_768)?;
            }
            Mock::Error(Failure {
                error: Some(error),
                cause: e.cause,
            })
        }
    };
    Ok((Some(mock), validation))
}

/// The context object's fields a test may set. Anything else is refused, not ignored.
fn parse_context(v: &Value) -> Result<TestContext, ApiError> {
    let bad = |what: String| ApiError::ValidationException(format!("context: {what}"));
    let Value::Object(top) = v else {
        return Err(bad(
            "must be a JSON object like the context object ($$)".into()
        ));
    };
    let mut c = TestContext::default();
    let text = |v: &Value, at: &str| -> Result<String, ApiError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad(format!("{at} must be a string")))
    };
    let time = |v: &Value, at: &str| -> Result<DateTime<Utc>, ApiError> {
        let s = text(v, at)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| bad(format!("{at} must be an ISO 8601 timestamp, not '{s}'")))
    };
    for (section, fields) in top {
        let Value::Object(fields) = fields else {
            return Err(bad(format!("{section} must be an object")));
        };
        for (k, v) in fields {
            let at = format!("{section}.{k}");
            match (section.as_str(), k.as_str()) {
                ("Execution", "Id") => c.execution_arn = Some(text(v, &at)?),
                ("Execution", "Name") => c.execution_name = Some(text(v, &at)?),
                ("Execution", "Input") => c.execution_input = Some(v.clone()),
                ("Execution", "StartTime") => c.start_time = Some(time(v, &at)?),
                ("Execution", "RoleArn") => c.role_arn = Some(text(v, &at)?),
                ("Execution", "RedriveCount") => {
                    c.redrive_count = Some(
                        v.as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(|| bad(format!("{at} must be a whole number")))?,
                    )
                }
                ("StateMachine", "Id") => c.state_machine_arn = Some(text(v, &at)?),
                ("StateMachine", "Name") => c.state_machine_name = Some(text(v, &at)?),
                ("State", "EnteredTime") => c.entered_time = Some(time(v, &at)?),
                _ => {
                    return Err(bad(format!(
                        "Waymark's TestState cannot set {at}; it sets Execution.Id, Name, Input, StartTime, RoleArn, RedriveCount, StateMachine.Id, Name and State.EnteredTime (State.Name is the tested state; use stateConfiguration.retrierRetryCount for retries)"
                    )))
                }
            }
        }
    }
    Ok(c)
}

/// AWS's `TestStateOutput`: JSON values travel as text.
fn response(o: TestStateOutcome, inspect: bool) -> Value {
    let text = |v: &Value| Value::String(v.to_string());
    let mut out = Map::new();
    if let Some(v) = &o.output {
        out.insert("output".into(), text(v));
    }
    if let Some(f) = &o.failure {
        if let Some(e) = &f.error {
            out.insert("error".into(), json!(e));
        }
        if let Some(c) = &f.cause {
            out.insert("cause".into(), json!(c));
        }
    }
    if inspect {
        let i = &o.inspection;
        let mut d = Map::new();
        let stages = [
            ("input", &i.input),
            ("afterInputPath", &i.after_input_path),
            ("afterParameters", &i.after_parameters),
            ("afterArguments", &i.after_arguments),
            ("result", &i.result),
            ("afterResultSelector", &i.after_result_selector),
            ("afterResultPath", &i.after_result_path),
        ];
        for (name, v) in stages {
            if let Some(v) = v {
                d.insert(name.into(), text(v));
            }
        }
        if let Some(vars) = &i.variables {
            if !vars.is_empty() {
                d.insert("variables".into(), text(&Value::Object(vars.clone())));
            }
        }
        let mut err = Map::new();
        if let Some(n) = i.catch_index {
            err.insert("catchIndex".into(), json!(n));
        }
        if let Some(n) = i.retry_index {
            err.insert("retryIndex".into(), json!(n));
        }
        if let Some(n) = i.retry_backoff_seconds {
            err.insert("retryBackoffIntervalSeconds".into(), json!(n));
        }
        if !err.is_empty() {
            d.insert("errorDetails".into(), Value::Object(err));
        }
        out.insert("inspectionData".into(), Value::Object(d));
    }
    if let Some(n) = &o.next_state {
        out.insert("nextState".into(), json!(n));
    }
    out.insert("status".into(), json!(o.status.as_str()));
    Value::Object(out)
}
