//! TestState: one state run once, with an input, outside any execution — the unit test of a
//! workflow author. The state runs through the same pure step as in an execution (so a tested
//! state cannot behave differently from a running one), on a throwaway record whose root frame
//! sits on the tested state with its budget of transitions set to that one state; what the
//! frame became (moved on, failed, caught, waiting to retry) is the answer. The intermediate
//! values of the data flow (after InputPath, Parameters, ResultSelector, ResultPath) are
//! recomputed beside it from the same `waymark_asl` functions, for the DEBUG inspection level.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use waymark_asl::dataflow::{apply_input_path, apply_result_path, apply_template};
use waymark_asl::env::{Env, Random, Variables};
use waymark_asl::error::names;
use waymark_asl::model::{Definition, QueryLanguage, State, StateKind};
use waymark_asl::Failure;

use crate::context::{context_object, StateContext};
use crate::ports::*;
use crate::record::{ExecutionRecord, Frame, MachineTypeRepr, Phase, Status};
use crate::runner::{answer_signal, Engine, EngineError};
use crate::step::{step, Effect, Handled, Signal, StepEnv, TaskRequest, TimerKind};

/// What to test. `definition`'s top-level graph holds the state named `state`.
#[derive(Debug, Clone)]
pub struct TestStateRequest {
    pub definition: Definition,
    pub state: String,
    pub input: Value,
    /// Variables in scope when the state runs.
    pub variables: Map<String, Value>,
    /// The execution the state pretends to run in (`$$.Execution`, `$$.StateMachine`).
    pub context: TestContext,
    /// The task's answer, instead of calling the service.
    pub mock: Option<Mock>,
    /// Retries already made by the retrier that matches the error (`retrierRetryCount`).
    pub retries_done: u64,
    pub role_arn: String,
}

/// A mocked task answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Mock {
    Result(Value),
    Error(Failure),
}

/// The parts of the context object a test may set; the rest take test values.
#[derive(Debug, Clone, Default)]
pub struct TestContext {
    pub execution_arn: Option<String>,
    pub execution_name: Option<String>,
    pub execution_input: Option<Value>,
    pub start_time: Option<DateTime<Utc>>,
    pub state_machine_arn: Option<String>,
    pub state_machine_name: Option<String>,
    pub entered_time: Option<DateTime<Utc>>,
    pub redrive_count: Option<u32>,
    pub role_arn: Option<String>,
}

/// How the state ended, in AWS's `TestExecutionStatus` terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    Succeeded,
    Failed,
    /// A retrier matched and has attempts left: the state would run again.
    Retriable,
    /// A catcher matched: the execution would go on at the catcher's `Next`.
    CaughtError,
}

impl TestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Succeeded => "SUCCEEDED",
            TestStatus::Failed => "FAILED",
            TestStatus::Retriable => "RETRIABLE",
            TestStatus::CaughtError => "CAUGHT_ERROR",
        }
    }
}

/// The intermediate values of the data flow (AWS's `inspectionData`), each present only
/// where the state has that stage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    pub input: Option<Value>,
    pub after_input_path: Option<Value>,
    pub after_parameters: Option<Value>,
    pub after_arguments: Option<Value>,
    pub result: Option<Value>,
    pub after_result_selector: Option<Value>,
    pub after_result_path: Option<Value>,
    /// The variables in scope after the state (its Assign applied).
    pub variables: Option<Map<String, Value>>,
    pub catch_index: Option<usize>,
    pub retry_index: Option<usize>,
    pub retry_backoff_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestStateOutcome {
    pub status: TestStatus,
    pub output: Option<Value>,
    pub failure: Option<Failure>,
    pub next_state: Option<String>,
    pub inspection: Inspection,
}

/// Why a state cannot be tested as asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TestStateRefused(pub String);

/// Whether TestState can run `state` (AWS: Map, Parallel, activities, `.sync` and
/// `.waitForTaskToken` only with a mock). Waymark runs Map and Parallel in TestState not at
/// all yet, and nested executions only mocked (a real one needs a parent execution).
pub fn check_testable(state: &State, mocked: bool) -> Result<(), TestStateRefused> {
    match &state.kind {
        StateKind::Map(_) | StateKind::Parallel(_) => {
            Err(TestStateRefused(format!(
            "Waymark does not yet run {} states in TestState; test the states of its {} one by one",
            state.type_name(),
            if matches!(state.kind, StateKind::Map(_)) { "ItemProcessor" } else { "Branches" }
        )))
        }
        StateKind::Task(t) if !mocked => {
            let r = t.resource.as_str();
            if r.ends_with(".sync") || r.contains(".sync:") {
                return Err(TestStateRefused(
                    "TestState supports the .sync integration pattern only with a mock".into(),
                ));
            }
            if r.ends_with(".waitForTaskToken") {
                return Err(TestStateRefused(
                    "TestState supports the .waitForTaskToken integration pattern only with a mock"
                        .into(),
                ));
            }
            if r.contains(":activity:") {
                return Err(TestStateRefused(
                    "TestState supports Activity tasks only with a mock".into(),
                ));
            }
            if crate::children::handles(r) {
                return Err(TestStateRefused(
                    "Waymark runs states:startExecution in TestState only with a mock (a nested execution needs a parent execution)".into(),
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

struct IdsRandom<'a, I: Ids>(&'a I);

impl<I: Ids> Random for IdsRandom<'_, I> {
    fn next_u64(&self) -> u64 {
        self.0.random_u64()
    }
}

struct MapVars<'a>(&'a Map<String, Value>);

impl Variables for MapVars<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}

/// The most steps one test takes: the state's body, then the answer of its task or the end
/// of its wait. More means the state would block on something a test cannot give.
const MAX_TEST_STEPS: usize = 4;

impl<S, Q, T, N, C, I> Engine<S, Q, T, N, C, I>
where
    T: Tasks,
    C: Clock,
    I: Ids,
{
    /// Runs one state once. Tasks are called for real through the `Tasks` port unless mocked;
    /// a Wait does not wait (its end is delivered at once).
    pub async fn test_state(&self, req: TestStateRequest) -> Result<TestStateOutcome, EngineError> {
        let def = &req.definition;
        let state = def.graph.state(&req.state).ok_or_else(|| {
            EngineError::InvalidExecutionInput(format!("no state named '{}'", req.state))
        })?;
        check_testable(state, req.mock.is_some())
            .map_err(|e| EngineError::InvalidExecutionInput(e.0))?;
        let now = self.clock.now();
        let mut rec = self.test_record(&req, now);
        let random = IdsRandom(&self.ids);
        let new_token = || self.ids.task_token();
        let region = self.config.region.clone();

        let mut signal = Signal::Resume { turn: rec.turn };
        // The body takes one transition; answers (task, wait) take none, so the frame stops
        // as soon as it has moved on.
        let mut budget = 1;
        let mut request: Option<TaskRequest> = None;
        let mut task_result: Option<Value> = None;
        let mut handled: Option<Handled> = None;
        for _ in 0..MAX_TEST_STEPS {
            let out = {
                let env = StepEnv {
                    now,
                    region: &region,
                    random: &random,
                    new_token: &new_token,
                    approvals: None,
                    budget,
                };
                step(def, &mut rec, signal, &env)
            };
            budget = 0;
            if let Some(h) = out.handled.into_iter().next_back() {
                handled = Some(h);
            }
            let root = rec.frames.get("");
            let next = match root.map(|f| &f.phase) {
                Some(Phase::Task(_)) => out.effects.iter().find_map(|e| match e {
                    Effect::Invoke(r) => Some((**r).clone()),
                    _ => None,
                }),
                _ => None,
            };
            if let Some(r) = next {
                let outcome = match &req.mock {
                    Some(Mock::Result(v)) => TaskOutcome::Succeeded(v.clone()),
                    Some(Mock::Error(f)) => TaskOutcome::Failed(f.clone()),
                    // Map states are refused above: no step here asks for a ResultWriter.
                    None if r.writer.is_some() => TaskOutcome::Failed(Failure::runtime(
                        "TestState does not run a Map's ResultWriter",
                    )),
                    None => self.tasks.invoke(&rec.execution_arn, &r).await,
                };
                if let TaskOutcome::Succeeded(v) = &outcome {
                    task_result = Some(v.clone());
                }
                let Some(s) = answer_signal(&r, outcome) else {
                    return Err(EngineError::InvalidExecutionInput(
                        "the task did not answer (it waits for a callback): give TestState a mock"
                            .into(),
                    ));
                };
                request = Some(r);
                signal = s;
                continue;
            }
            if let Some(Phase::Waiting { .. }) = root.map(|f| &f.phase) {
                let seq = root.map_or(0, |f| f.seq);
                signal = Signal::Timer {
                    frame: String::new(),
                    seq,
                    kind: TimerKind::Wake,
                };
                continue;
            }
            break;
        }
        Ok(self.read_outcome(&req, state, &rec, request.as_ref(), task_result, handled))
    }

    /// A record that exists only for the test, its root frame about to run the state's body.
    fn test_record(&self, req: &TestStateRequest, now: DateTime<Utc>) -> ExecutionRecord {
        let c = &req.context;
        let sm_name = c
            .state_machine_name
            .clone()
            .unwrap_or_else(|| "TestStateMachine".into());
        let name = c
            .execution_name
            .clone()
            .unwrap_or_else(|| self.ids.execution_name());
        let sm_arn = c
            .state_machine_arn
            .clone()
            .unwrap_or_else(|| self.config.state_machine_arn(&sm_name));
        let exec_arn = c.execution_arn.clone().unwrap_or_else(|| {
            format!(
                "arn:aws:states:{}:{}:execution:{sm_name}:{name}",
                self.config.region, self.config.account
            )
        });
        let state = &req.definition.graph.states[&req.state];
        let root = Frame {
            scope: Vec::new(),
            parent: None,
            index: 0,
            map_item: None,
            state: req.state.clone(),
            input: req.input.clone(),
            entered_event_id: 1,
            entered_time: c.entered_time.unwrap_or(now),
            last_event_id: 1,
            seq: 1,
            phase: Phase::Run,
            retry_counts: vec![req.retries_done; state.retry.len()],
            vars: req.variables.clone(),
            silent: false,
            own_history: None,
        };
        let mut frames = crate::record::Frames::new();
        frames.insert(String::new(), root);
        ExecutionRecord {
            execution_arn: exec_arn,
            name,
            state_machine_arn: sm_arn,
            state_machine_name: sm_name,
            revision: 1,
            machine_type: MachineTypeRepr::Standard,
            role_arn: c.role_arn.clone().unwrap_or_else(|| req.role_arn.clone()),
            input: c
                .execution_input
                .clone()
                .unwrap_or_else(|| req.input.clone()),
            start_time: c.start_time.unwrap_or(now),
            status: Status::Running,
            output: None,
            failure: None,
            stop_time: None,
            redrive_count: c.redrive_count.unwrap_or(0),
            version: 1,
            next_event_id: 2,
            next_fanout: 0,
            turn: 1,
            frames,
            redrive_point: None,
            kept: None,
            test_case: None,
            version_arn: None,
            alias_arn: None,
            map_runs: Vec::new(),
        }
    }

    /// What the frame became, and the inspection data.
    fn read_outcome(
        &self,
        req: &TestStateRequest,
        state: &State,
        rec: &ExecutionRecord,
        request: Option<&TaskRequest>,
        task_result: Option<Value>,
        handled: Option<Handled>,
    ) -> TestStateOutcome {
        let mut inspection = self.inspect(req, state, rec, request, task_result);
        let mut out = TestStateOutcome {
            status: TestStatus::Failed,
            output: None,
            failure: None,
            next_state: None,
            inspection: Inspection::default(),
        };
        let Some(root) = rec.frames.get("") else {
            // The step ended the execution on its own (a limit): a failure.
            out.failure = Some(rec.failure.clone().unwrap_or_else(|| {
                Failure::new(names::RUNTIME, "The state ended the test execution")
            }));
            out.inspection = inspection;
            return out;
        };
        inspection.variables = Some(root.vars.clone());
        match (&root.phase, handled) {
            (Phase::Failed { failure }, _) => out.failure = Some(failure.clone()),
            (_, Some(h)) if h.retry.is_some() => {
                let (i, delay) = h.retry.unwrap_or_default();
                inspection.retry_index = Some(i);
                inspection.retry_backoff_seconds = Some(delay.round() as u64);
                out.status = TestStatus::Retriable;
                out.failure = Some(h.failure);
                out.next_state = Some(req.state.clone());
            }
            (Phase::Enter, Some(h)) if h.catch.is_some() => {
                inspection.catch_index = h.catch;
                out.status = TestStatus::CaughtError;
                out.failure = Some(h.failure);
                out.output = Some(root.input.clone());
                out.next_state = Some(root.state.clone());
            }
            (Phase::Done { output }, None) => {
                out.status = TestStatus::Succeeded;
                out.output = Some(output.clone());
            }
            (Phase::Enter, None) => {
                out.status = TestStatus::Succeeded;
                out.output = Some(root.input.clone());
                out.next_state = Some(root.state.clone());
            }
            (other, _) => {
                out.failure = Some(Failure::new(
                    names::RUNTIME,
                    format!(
                        "The state did not finish in TestState (it is {})",
                        phase_name(other)
                    ),
                ))
            }
        }
        out.inspection = inspection;
        out
    }

    /// The data flow's stages, recomputed with the functions the step uses.
    fn inspect(
        &self,
        req: &TestStateRequest,
        state: &State,
        rec: &ExecutionRecord,
        request: Option<&TaskRequest>,
        task_result: Option<Value>,
    ) -> Inspection {
        let mut ins = Inspection {
            input: Some(req.input.clone()),
            ..Default::default()
        };
        let random = IdsRandom(&self.ids);
        let vars = MapVars(&req.variables);
        let ctx = match request {
            Some(r) => r.context.clone(),
            None => context_object(
                rec,
                &StateContext {
                    state: &req.state,
                    entered_time: rec
                        .frames
                        .get("")
                        .map_or(rec.start_time, |f| f.entered_time),
                    retry_count: None,
                    task_token: None,
                    map_item: None,
                    approval: None,
                    with_input: true,
                },
            ),
        };
        let env_for = |input: &Value, f: &mut dyn FnMut(&Env) -> Option<Value>| {
            let env = Env {
                input,
                context: &ctx,
                vars: &vars,
                random: &random,
            };
            f(&env)
        };
        match state.query_language {
            QueryLanguage::Jsonata => {
                if state.io.arguments.is_some() {
                    ins.after_arguments = request.map(|r| r.parameters.clone());
                }
                ins.result = task_result;
            }
            QueryLanguage::JsonPath => {
                let Some(after_input_path) =
                    env_for(&req.input, &mut |env| apply_input_path(&state.io, env).ok())
                else {
                    return ins;
                };
                ins.after_input_path = Some(after_input_path.clone());
                let has_parameters = state.io.parameters.is_some();
                let effective = match (request, has_parameters) {
                    (Some(r), _) => Some(r.parameters.clone()),
                    (None, true) => env_for(&after_input_path, &mut |env| {
                        apply_template(state.io.parameters.as_ref(), env).ok()
                    }),
                    (None, false) => Some(after_input_path.clone()),
                };
                if has_parameters || request.is_some() {
                    ins.after_parameters = effective.clone();
                }
                let result = match &state.kind {
                    StateKind::Task(_) => task_result,
                    StateKind::Pass(p) => p.result.clone().or(effective),
                    _ => None,
                };
                let Some(result) = result else {
                    return ins;
                };
                ins.result = Some(result.clone());
                let selected = if matches!(state.kind, StateKind::Task(_)) {
                    env_for(&result, &mut |env| {
                        apply_template(state.io.result_selector.as_ref(), env).ok()
                    })
                } else {
                    Some(result)
                };
                let Some(selected) = selected else {
                    return ins;
                };
                if state.io.result_selector.is_some() {
                    ins.after_result_selector = Some(selected.clone());
                }
                ins.after_result_path =
                    apply_result_path(state.io.result_path.as_ref(), &req.input, selected).ok();
            }
        }
        ins
    }
}

fn phase_name(p: &Phase) -> &'static str {
    match p {
        Phase::Enter => "entering",
        Phase::Run => "running",
        Phase::Waiting { .. } => "waiting",
        Phase::Backoff { .. } => "backing off",
        Phase::Task(_) => "waiting for its task",
        Phase::Children(_) => "running its children",
        Phase::Done { .. } => "done",
        Phase::Failed { .. } => "failed",
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;
    use waymark_asl::parse::parse_test_definition;

    use super::*;
    use crate::memory::*;
    use crate::runner::Config;

    /// Echoes its parameters, or fails with the error its parameters name.
    struct Echo;

    impl Tasks for Echo {
        async fn invoke(&self, _arn: &str, req: &TaskRequest) -> TaskOutcome {
            match req.parameters.get("fail").and_then(Value::as_str) {
                Some(e) => TaskOutcome::Failed(Failure::new(e, "it failed")),
                None => TaskOutcome::Succeeded(json!({"echo": req.parameters, "n": 7})),
            }
        }
    }

    type E = Engine<MemoryStore, MemoryScheduler, Echo, NullNotifier, VirtualClock, SeededIds>;

    fn engine() -> E {
        Engine {
            store: MemoryStore::default(),
            scheduler: MemoryScheduler::default(),
            tasks: Echo,
            notifier: NullNotifier,
            clock: VirtualClock::new(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()),
            ids: SeededIds::new(3),
            config: Config::default(),
            approvals: None,
        }
    }

    fn request(def: &str, input: Value) -> TestStateRequest {
        let t = parse_test_definition(def, None).unwrap();
        TestStateRequest {
            definition: t.definition,
            state: t.state,
            input,
            variables: Map::new(),
            context: TestContext::default(),
            mock: None,
            retries_done: 0,
            role_arn: "arn:aws:iam::123456789012:role/test".into(),
        }
    }

    async fn run(req: TestStateRequest) -> TestStateOutcome {
        engine().test_state(req).await.unwrap()
    }

    #[tokio::test]
    async fn a_pass_state_shows_every_stage_of_its_data_flow() {
        let out = run(request(
            r#"{"Type":"Pass","InputPath":"$.a","Parameters":{"b.$":"$.b","k":1},"ResultPath":"$.r","OutputPath":"$.r","Next":"After"}"#,
            json!({"a": {"b": 2}, "z": 0}),
        ))
        .await;
        assert_eq!(out.status, TestStatus::Succeeded);
        assert_eq!(out.next_state.as_deref(), Some("After"));
        assert_eq!(out.output, Some(json!({"b": 2, "k": 1})));
        let i = &out.inspection;
        assert_eq!(i.after_input_path, Some(json!({"b": 2})));
        assert_eq!(i.after_parameters, Some(json!({"b": 2, "k": 1})));
        assert_eq!(
            i.after_result_path,
            Some(json!({"a": {"b": 2}, "z": 0, "r": {"b": 2, "k": 1}}))
        );
    }

    #[tokio::test]
    async fn a_choice_names_the_branch_taken_or_fails_as_an_execution_would() {
        let def = r#"{"Type":"Choice","Choices":[{"Variable":"$.x","NumericGreaterThan":1,"Next":"Big"}]}"#;
        let out = run(request(def, json!({"x": 5}))).await;
        assert_eq!(
            (out.status, out.next_state.as_deref()),
            (TestStatus::Succeeded, Some("Big"))
        );
        let out = run(request(def, json!({"x": 0}))).await;
        assert_eq!(out.status, TestStatus::Failed);
        assert_eq!(
            out.failure.unwrap().error.as_deref(),
            Some("States.NoChoiceMatched")
        );
    }

    #[tokio::test]
    async fn a_task_calls_its_service_and_selects_from_the_result() {
        let out = run(request(
            r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},"ResultSelector":{"n.$":"$.n"},"ResultPath":"$.out","End":true}"#,
            json!({"v": 1}),
        ))
        .await;
        assert_eq!(out.status, TestStatus::Succeeded);
        assert_eq!(out.next_state, None);
        assert_eq!(out.output, Some(json!({"v": 1, "out": {"n": 7}})));
        let i = &out.inspection;
        assert_eq!(
            i.after_parameters,
            Some(json!({"FunctionName": "f", "Payload": {"v": 1}}))
        );
        assert_eq!(i.result.as_ref().unwrap()["n"], json!(7));
        assert_eq!(i.after_result_selector, Some(json!({"n": 7})));
    }

    const RETRY_CATCH: &str = r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f"},
        "Retry":[{"ErrorEquals":["Other"],"MaxAttempts":5},{"ErrorEquals":["Boom"],"IntervalSeconds":3,"BackoffRate":2,"MaxAttempts":2}],
        "Catch":[{"ErrorEquals":["Nope"],"Next":"X"},{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Handler"}],"End":true}"#;

    #[tokio::test]
    async fn a_mocked_error_is_retriable_while_the_retrier_has_attempts_then_caught() {
        let mut req = request(RETRY_CATCH, json!({"v": 1}));
        req.mock = Some(Mock::Error(Failure::new("Boom", "bad")));
        let out = run(req.clone()).await;
        assert_eq!(out.status, TestStatus::Retriable);
        assert_eq!(out.inspection.retry_index, Some(1));
        assert_eq!(out.inspection.retry_backoff_seconds, Some(3));
        assert_eq!(out.next_state.as_deref(), Some(LONE));
        assert_eq!(out.failure.as_ref().unwrap().error.as_deref(), Some("Boom"));

        req.retries_done = 1;
        let out = run(req.clone()).await;
        assert_eq!(out.inspection.retry_backoff_seconds, Some(6));

        req.retries_done = 2;
        let out = run(req).await;
        assert_eq!(out.status, TestStatus::CaughtError);
        assert_eq!(out.inspection.catch_index, Some(1));
        assert_eq!(out.next_state.as_deref(), Some("Handler"));
        assert_eq!(
            out.output,
            Some(json!({"v": 1, "err": {"Error": "Boom", "Cause": "bad"}}))
        );
    }

    const LONE: &str = waymark_asl::parse::LONE_STATE_NAME;

    #[tokio::test]
    async fn an_uncaught_failure_and_a_fail_state_fail() {
        let out = run(request(
            r#"{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"fail":"Bad"},"End":true}"#,
            json!({}),
        ))
        .await;
        assert_eq!(out.status, TestStatus::Failed);
        assert_eq!(out.failure.unwrap().error.as_deref(), Some("Bad"));
        let out = run(request(
            r#"{"Type":"Fail","Error":"E","Cause":"C"}"#,
            json!({}),
        ))
        .await;
        assert_eq!(out.status, TestStatus::Failed);
        let f = out.failure.unwrap();
        assert_eq!(
            (f.error.as_deref(), f.cause.as_deref()),
            (Some("E"), Some("C"))
        );
    }

    #[tokio::test]
    async fn a_wait_goes_on_at_once_and_jsonata_assigns_variables() {
        let out = run(request(
            r#"{"Type":"Wait","Seconds":3600,"Next":"Later"}"#,
            json!({"a": 1}),
        ))
        .await;
        assert_eq!(
            (out.status, out.next_state.as_deref(), out.output),
            (TestStatus::Succeeded, Some("Later"), Some(json!({"a": 1})))
        );
        let mut req = request(
            r#"{"Type":"Pass","QueryLanguage":"JSONata","Assign":{"total":"{% $count + $states.input.n %}"},"Output":"{% $count %}","End":true}"#,
            json!({"n": 2}),
        );
        req.variables.insert("count".into(), json!(40));
        let out = run(req).await;
        assert_eq!(out.output, Some(json!(40)));
        assert_eq!(
            out.inspection.variables.unwrap().get("total"),
            Some(&json!(42))
        );
    }

    #[tokio::test]
    async fn callbacks_need_a_mock_and_map_is_refused() {
        let def = r#"{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","Parameters":{"QueueUrl":"q","MessageBody":{"t.$":"$$.Task.Token"}},"End":true}"#;
        let e = engine()
            .test_state(request(def, json!({})))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("only with a mock"), "{e}");
        let mut req = request(def, json!({}));
        req.mock = Some(Mock::Result(json!({"approved": true})));
        let out = run(req).await;
        assert_eq!(out.output, Some(json!({"approved": true})));
        let map = r#"{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}"#;
        let e = engine()
            .test_state(request(map, json!([1])))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("Map"), "{e}");
    }

    #[tokio::test]
    async fn the_context_names_the_execution_the_test_pretends_to_be() {
        let mut req = request(
            r#"{"Type":"Pass","Parameters":{"n.$":"$$.Execution.Name","s.$":"$$.State.Name"},"End":true}"#,
            json!({}),
        );
        req.context.execution_name = Some("exec-1".into());
        let out = run(req).await;
        assert_eq!(out.output, Some(json!({"n": "exec-1", "s": LONE})));
    }
}
