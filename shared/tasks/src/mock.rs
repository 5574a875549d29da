//! Mocked task responses in the format of AWS Step Functions Local's MockConfigFile, so that
//! teams can reuse the mock files they already have: per state machine, named test cases map
//! state names to mocked responses, and each response lists what to `Return` or `Throw` by
//! invocation number ("0", "1-2", …).

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::Value;
use waymark_asl::Failure;
use waymark_engine::ports::{TaskOutcome, Tasks};
use waymark_engine::step::TaskRequest;

#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("the mock configuration is not valid: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MockConfig {
    #[serde(default)]
    pub state_machines: HashMap<String, MachineMocks>,
    #[serde(default)]
    pub mocked_responses: HashMap<String, HashMap<String, MockedAnswer>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachineMocks {
    #[serde(default)]
    pub test_cases: HashMap<String, HashMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub enum MockedAnswer {
    Return(Value),
    Throw(Thrown),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Thrown {
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl MockConfig {
    pub fn parse(text: &str) -> Result<MockConfig, MockError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| MockError::Invalid(e.to_string()))?;
        if !value.is_object() {
            return Err(MockError::Invalid("it must be a JSON object".into()));
        }
        let cfg: MockConfig =
            serde_json::from_value(value).map_err(|e| MockError::Invalid(e.to_string()))?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Every test case names responses that exist, and every response key is `N` or `N-M`.
    fn check(&self) -> Result<(), MockError> {
        for (machine, mocks) in &self.state_machines {
            for (case, states) in &mocks.test_cases {
                for (state, response) in states {
                    if !self.mocked_responses.contains_key(response) {
                        return Err(MockError::Invalid(format!(
                            "test case '{case}' of '{machine}' maps state '{state}' to the unknown mocked response '{response}'"
                        )));
                    }
                }
            }
        }
        for (name, answers) in &self.mocked_responses {
            for key in answers.keys() {
                if parse_range(key).is_none() {
                    return Err(MockError::Invalid(format!(
                        "mocked response '{name}' has the key '{key}'; keys are invocation numbers such as \"0\" or \"1-3\""
                    )));
                }
            }
        }
        Ok(())
    }

    /// The answer for the `invocation`-th call (from 0) of `state`, if the test case mocks it.
    pub fn answer(
        &self,
        machine: &str,
        test_case: &str,
        state: &str,
        invocation: u64,
    ) -> Option<&MockedAnswer> {
        let response = self
            .state_machines
            .get(machine)?
            .test_cases
            .get(test_case)?
            .get(state)?;
        let answers = self.mocked_responses.get(response)?;
        answers
            .iter()
            .find(|(k, _)| parse_range(k).is_some_and(|(lo, hi)| (lo..=hi).contains(&invocation)))
            .map(|(_, a)| a)
    }

    pub fn has_test_case(&self, machine: &str, test_case: &str) -> bool {
        self.state_machines
            .get(machine)
            .is_some_and(|m| m.test_cases.contains_key(test_case))
    }
}

fn parse_range(key: &str) -> Option<(u64, u64)> {
    match key.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (a <= b).then_some((a, b))
        }
        None => key.trim().parse().ok().map(|n| (n, n)),
    }
}

/// Answers mocked states from the configuration and hands the rest to `fallback`.
pub struct MockTasks<T> {
    config: MockConfig,
    /// The test case of every execution of a machine (Step Functions Local selects it with
    /// `stateMachineArn#TestCase`; `waymark run` with `--test-case`).
    test_cases: Mutex<HashMap<String, String>>,
    invocations: Mutex<HashMap<(String, String), u64>>,
    fallback: T,
}

impl<T> MockTasks<T> {
    pub fn new(config: MockConfig, fallback: T) -> Self {
        MockTasks {
            config,
            test_cases: Mutex::default(),
            invocations: Mutex::default(),
            fallback,
        }
    }

    /// Uses `test_case` for every execution of `machine`.
    pub fn select(&self, machine: &str, test_case: &str) -> Result<(), MockError> {
        if !self.config.has_test_case(machine, test_case) {
            return Err(MockError::Invalid(format!(
                "there is no test case '{test_case}' for the state machine '{machine}'"
            )));
        }
        self.test_cases
            .lock()
            .expect("lock")
            .insert(machine.to_string(), test_case.to_string());
        Ok(())
    }
}

impl<T: Tasks> Tasks for MockTasks<T> {
    async fn invoke(&self, execution_arn: &str, req: &TaskRequest) -> TaskOutcome {
        let machine = crate::state_machine_name(execution_arn)
            .unwrap_or_default()
            .to_string();
        let case = match &req.test_case {
            Some(c) => Some(c.clone()),
            None => self.test_cases.lock().expect("lock").get(&machine).cloned(),
        };
        if let Some(case) = case {
            let n = {
                let mut inv = self.invocations.lock().expect("lock");
                let c = inv
                    .entry((execution_arn.to_string(), req.state.clone()))
                    .or_insert(0);
                *c += 1;
                *c - 1
            };
            match self.config.answer(&machine, &case, &req.state, n) {
                Some(MockedAnswer::Return(v)) => return TaskOutcome::Succeeded(v.clone()),
                Some(MockedAnswer::Throw(t)) => {
                    return TaskOutcome::Failed(Failure {
                        error: t.error.clone(),
                        cause: t.cause.clone(),
                    })
                }
                None if self
                    .config
                    .state_machines
                    .get(&machine)
                    .and_then(|m| m.test_cases.get(&case))
                    .is_some_and(|states| states.contains_key(&req.state)) =>
                {
                    return TaskOutcome::Failed(Failure::new(
                        "States.Runtime",
                        format!(
                            "The mocked response for state '{}' has no answer for invocation {n}",
                            req.state
                        ),
                    ))
                }
                None => {}
            }
        }
        self.fallback.invoke(execution_arn, req).await
    }

    fn check(&self, what: &waymark_engine::ports::TaskCheck<'_>) -> Result<(), String> {
        match self.fallback.check(what) {
            // An integration not built here can still be answered by a mock of its state.
            Err(why) if why.starts_with(crate::aws::NOT_BUILT_PREFIX) => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use waymark_engine::memory::NoTasks;

    use super::*;

    const CONFIG: &str = r#"{
      "StateMachines": {"Orders": {"TestCases": {"Flaky": {"Charge": "FailOnceThenOk"}}}},
      "MockedResponses": {"FailOnceThenOk": {
        "0": {"Throw": {"Error": "Payment.Timeout", "Cause": "slow"}},
        "1-2": {"Return": {"charged": true}}
      }}
    }"#;

    fn req(state: &str) -> TaskRequest {
        TaskRequest {
            frame: String::new(),
            seq: 1,
            state: state.into(),
            resource: "arn:aws:states:::lambda:invoke".into(),
            parameters: json!({}),
            token: "t".into(),
            wait_for_token: false,
            timeout_seconds: None,
            heartbeat_seconds: None,
            credentials: None,
            context: json!({}),
            test_case: None,
            approval: None,
            job: None,
            reader: None,
            writer: None,
        }
    }

    #[test]
    fn answers_follow_the_invocation_ranges() {
        let cfg = MockConfig::parse(CONFIG).unwrap();
        assert_eq!(
            cfg.answer("Orders", "Flaky", "Charge", 0),
            Some(&MockedAnswer::Throw(Thrown {
                error: Some("Payment.Timeout".into()),
                cause: Some("slow".into())
            }))
        );
        assert_eq!(
            cfg.answer("Orders", "Flaky", "Charge", 2),
            Some(&MockedAnswer::Return(json!({"charged": true})))
        );
        assert_eq!(cfg.answer("Orders", "Flaky", "Charge", 3), None);
        assert_eq!(cfg.answer("Orders", "Flaky", "Ship", 0), None);
    }

    #[test]
    fn bad_configurations_are_refused() {
        assert!(MockConfig::parse(r#"{"MockedResponses": {"R": {"x": {"Return": 1}}}}"#).is_err());
        assert!(MockConfig::parse(
            r#"{"StateMachines": {"M": {"TestCases": {"T": {"S": "Nope"}}}}}"#
        )
        .is_err());
        assert!(MockConfig::parse("[]").is_err());
    }

    #[test]
    fn mocked_states_are_answered_and_others_fall_through() {
        let tasks = MockTasks::new(MockConfig::parse(CONFIG).unwrap(), NoTasks);
        tasks.select("Orders", "Flaky").unwrap();
        assert!(tasks.select("Orders", "Nope").is_err());
        let arn = "arn:aws:states:us-east-1:123456789012:execution:Orders:e1";
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            assert!(matches!(tasks.invoke(arn, &req("Charge")).await, TaskOutcome::Failed(f) if f.error.as_deref() == Some("Payment.Timeout")));
            assert_eq!(tasks.invoke(arn, &req("Charge")).await, TaskOutcome::Succeeded(json!({"charged": true})));
            assert!(matches!(tasks.invoke(arn, &req("Ship")).await, TaskOutcome::Failed(f) if f.error.as_deref() == Some("States.TaskFailed")));
        });
    }
}
