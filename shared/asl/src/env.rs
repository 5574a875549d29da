//! What expressions read from: the state's input, the context object, the workflow variables
//! in scope, and a source of randomness the caller provides (the language itself is pure).

use std::borrow::Cow;

use serde_json::Value;

use crate::error::Failure;
use crate::path::{Path, Root};

/// Variables visible to a state: its own scope, then the scopes it is nested in.
pub trait Variables {
    fn get(&self, name: &str) -> Option<&Value>;
}

/// No variables at all (JSONPath-only machines, tests).
pub struct NoVariables;

impl Variables for NoVariables {
    fn get(&self, _: &str) -> Option<&Value> {
        None
    }
}

impl Variables for serde_json::Map<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        serde_json::Map::get(self, name)
    }
}

/// Randomness for `States.UUID`, `States.MathRandom`, `$random()`, `$uuid()` and jitter. The
/// engine passes a seeded or system source; tests pass a fixed sequence.
pub trait Random {
    fn next_u64(&self) -> u64;
}

/// A small deterministic generator (splitmix64), for tests and for seeded runs.
#[derive(Debug, Default)]
pub struct SeededRandom(std::cell::Cell<u64>);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        SeededRandom(std::cell::Cell::new(seed))
    }
}

impl Random for SeededRandom {
    fn next_u64(&self) -> u64 {
        let mut z = self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.0.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Everything an expression of a state can see.
pub struct Env<'a> {
    pub input: &'a Value,
    pub context: &'a Value,
    pub vars: &'a dyn Variables,
    pub random: &'a dyn Random,
}

impl<'a> Env<'a> {
    /// Evaluates a path against the root it names. `Ok(None)` means a definite path found
    /// nothing; callers turn that into the error their field calls for.
    pub fn select(&self, path: &Path) -> Result<Option<Cow<'a, Value>>, Failure> {
        let root: &'a Value = match path.root() {
            Root::Input => self.input,
            Root::Context => self.context,
            Root::Variable(name) => match self.vars.get(name) {
                Some(v) => v,
                None => {
                    return Err(Failure::runtime(format!(
                        "The variable '{name}' referenced by the path '{}' is not defined",
                        path.source()
                    )))
                }
            },
        };
        path.select(root)
    }
}
