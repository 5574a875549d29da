//! Retriers and catchers, and AWS's rules for which error names they match.

use super::{Assign, NullablePath};
use crate::error::names;
use crate::jsonata::JsonataTemplate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    #[default]
    None,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

impl Default for Retrier {
    fn default() -> Self {
        Retrier {
            error_equals: Vec::new(),
            interval_seconds: 1,
            max_attempts: 3,
            backoff_rate: 2.0,
            max_delay_seconds: None,
            jitter: Jitter::None,
        }
    }
}

impl Retrier {
    /// The delay before retry number `attempt` (1 for the first retry), in seconds, before
    /// jitter. `unit` is a number in [0, 1) from the caller's randomness, used when the
    /// jitter strategy is FULL.
    pub fn delay_seconds(&self, attempt: u64, unit: f64) -> f64 {
        let exp = attempt.saturating_sub(1).min(1000) as i32;
        let mut delay = self.interval_seconds as f64 * self.backoff_rate.powi(exp);
        if let Some(max) = self.max_delay_seconds {
            delay = delay.min(max as f64);
        }
        if self.jitter == Jitter::Full {
            delay *= unit;
        }
        delay
    }

    pub fn matches(&self, error: &str) -> bool {
        error_matches(&self.error_equals, error)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    /// Its position in the state's `Catch`, for diagnostics.
    pub index: usize,
    pub error_equals: Vec<String>,
    pub next: String,
    /// `None`: `$` (the error output replaces the input).
    pub result_path: Option<NullablePath>,
    pub output: Option<JsonataTemplate>,
    pub assign: Option<Assign>,
}

impl Catcher {
    pub fn matches(&self, error: &str) -> bool {
        error_matches(&self.error_equals, error)
    }
}

/// AWS's matching: a name matches itself; `States.ALL` matches any error except
/// `States.DataLimitExceeded` and `States.Runtime`, which are terminal;
/// `States.TaskFailed` matches any error except `States.Timeout` (and the terminal ones).
pub fn error_matches(error_equals: &[String], error: &str) -> bool {
    error_equals.iter().any(|e| {
        e == error
            || (e == names::ALL && !is_terminal(error))
            || (e == names::TASK_FAILED && !is_terminal(error) && error != names::TIMEOUT)
    })
}

/// Errors that neither Retry nor Catch can handle through a wildcard.
pub fn is_terminal(error: &str) -> bool {
    error == names::DATA_LIMIT_EXCEEDED || error == names::RUNTIME
}
