//! JSONata as AWS Step Functions runs it: JSONata 2.0.6 with AWS's extra
//! functions, without `$eval`, and with guards against runaway expressions.
//!
//! The evaluator underneath (`jsonata-core`) is an implementation detail:
//! nothing of it appears in this API, so it can be replaced by another
//! implementation, or our own, without touching callers.
//!
//! ```
//! use waymark_jsonata::{Expression, FixedHost};
//! use serde_json::{json, Map};
//!
//! let expr = Expression::parse("$sum(orders.price) * $rate").unwrap();
//! let mut bindings = Map::new();
//! bindings.insert("rate".into(), json!(2));
//! let out = expr
//!     .evaluate(&json!({"orders": [{"price": 3}, {"price": 4}]}), &bindings, &FixedHost::new(0, 1))
//!     .unwrap();
//! assert_eq!(out, Some(json!(14)));
//! ```
//!
//! Purity: the time and the randomness an expression sees come from the
//! caller's [`Host`]. Two exceptions remain inside the evaluator and are
//! not reachable through [`Host`]: the time limit reads the monotonic clock,
//! and `$toMillis(text, picture)` fills date parts that its picture leaves
//! out from the system's current date, as JSONata does.

mod convert;
mod error;
mod functions;
mod guard;
mod host;
mod refs;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Value};

pub use error::{ErrorKind, JsonataError};
pub use host::{FixedHost, Host};
pub use refs::InputReference;

/// Bounds on one evaluation, so an expression cannot take the engine down
/// with infinite recursion, an infinite loop, a huge sequence or a huge
/// string. Exceeding any of them fails the evaluation with
/// [`ErrorKind::Limit`]. Step Functions' own payloads are at most 256 KiB,
/// so the size limits leave a wide margin above anything a state can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of evaluation steps. A non-tail-recursive call costs
    /// about three levels; tail calls cost none. `None` leaves only the
    /// evaluator's own backstop (30,000 levels).
    pub max_depth: Option<usize>,
    /// Longest wall-clock time one evaluation may take.
    pub timeout: Option<Duration>,
    /// Longest sequence a path, function or range may produce.
    pub max_sequence_length: Option<usize>,
    /// Largest string or value (in bytes of JSON) that `&`, a built-in that
    /// can grow its output (`$pad`, `$replace`, `$join`, `$string` …) or the
    /// whole evaluation may produce; checked before the built-in allocates
    /// it where its arguments tell the size.
    pub max_value_bytes: Option<usize>,
    /// Most bytes those operations may produce, added up, in one evaluation:
    /// the memory budget of an evaluation (see the `guard` module).
    pub max_allocated_bytes: Option<usize>,
    /// Deepest nesting of arrays and objects in a result: serde_json's own
    /// limit for reading JSON text, which is how results are stored.
    pub max_result_depth: Option<usize>,
}

impl Default for Limits {
    /// Generous enough for any sane workflow expression, tight enough to stop
    /// a runaway one within seconds and about a hundred megabytes: a
    /// sequence of 10^6 items takes about 80 MB.
    fn default() -> Self {
        Limits {
            max_depth: Some(10_000),
            timeout: Some(Duration::from_secs(10)),
            max_sequence_length: Some(1_000_000),
            max_value_bytes: Some(1 << 20),
            max_allocated_bytes: Some(64 << 20),
            max_result_depth: Some(128),
        }
    }
}

/// A parsed JSONata expression, reusable across evaluations and threads, so
/// a state machine parses each of its expressions once.
#[derive(Clone)]
pub struct Expression {
    source: String,
    /// The expression as parsed, then rewritten by `guard`.
    ast: AstNode,
    /// Found before the rewrite, which adds reads of `$` of its own.
    input_references: Vec<InputReference>,
    limits: Limits,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expression")
            .field("source", &self.source)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Expression {
    /// Parses `src` (the text between `{%` and `%}`), with default
    /// [`Limits`]. Fails with [`ErrorKind::Syntax`].
    pub fn parse(src: &str) -> Result<Expression, JsonataError> {
        let parsed = catch_unwind(|| jsonata_core::parser::parse(src))
            .map_err(|_| JsonataError::new(ErrorKind::Syntax, None, "the JSONata parser failed"))?;
        let mut ast = parsed.map_err(|e| syntax_error(&e.to_string()))?;
        let input_references = refs::input_references(&ast);
        guard::rewrite(&mut ast);
        Ok(Expression {
            source: src.to_owned(),
            ast,
            input_references,
            limits: Limits::default(),
        })
    }

    /// The same expression evaluated under `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Expression {
        self.limits = limits;
        self
    }

    /// The text this expression was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The places where the expression reads the implicit input document, which Step
    /// Functions does not supply: `$` or a bare field name at the top level, `$$` anywhere.
    pub fn input_references(&self) -> Vec<InputReference> {
        self.input_references.clone()
    }

    /// The limits evaluations run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Evaluates against `input`, with each entry of `bindings` visible as
    /// `$name` (Step Functions binds `$states` and the workflow variables
    /// this way; a leading `$` in a name is ignored). `Ok(None)` is
    /// JSONata's `undefined`: no value at all, which JSON cannot express.
    pub fn evaluate(
        &self,
        input: &Value,
        bindings: &Map<String, Value>,
        host: &dyn Host,
    ) -> Result<Option<Value>, JsonataError> {
        self.evaluate_input(Some(input), bindings, host)
    }

    /// Like [`Expression::evaluate`], where `None` makes the input itself
    /// `undefined`: Step Functions evaluates with no input document at all,
    /// so `$` and bare field names find nothing.
    pub fn evaluate_input(
        &self,
        input: Option<&Value>,
        bindings: &Map<String, Value>,
        host: &dyn Host,
    ) -> Result<Option<Value>, JsonataError> {
        let now_millis = host.now_millis();
        let entropy = host.entropy();
        catch_unwind(AssertUnwindSafe(|| {
            self.run(input, bindings, now_millis, entropy)
        }))
        .unwrap_or_else(|_| {
            Err(JsonataError::new(
                ErrorKind::Evaluation,
                None,
                "the JSONata evaluator failed unexpectedly on this expression",
            ))
        })
    }

    /// Like [`Expression::evaluate_input`], with values converted beforehand: a caller that
    /// binds the same large value in many evaluations (a Map's input, for each of its items)
    /// converts it once instead of once per evaluation.
    pub fn evaluate_prepared(
        &self,
        input: Option<&Prepared>,
        bindings: &[(&str, &Prepared)],
        host: &dyn Host,
    ) -> Result<Option<Value>, JsonataError> {
        let now_millis = host.now_millis();
        let entropy = host.entropy();
        catch_unwind(AssertUnwindSafe(|| {
            let data = input.map_or(JValue::Undefined, |p| p.0.clone());
            let bound = bindings.iter().map(|(n, p)| (*n, p.0.clone()));
            self.run_jvalues(data, bound, now_millis, entropy)
        }))
        .unwrap_or_else(|_| {
            Err(JsonataError::new(
                ErrorKind::Evaluation,
                None,
                "the JSONata evaluator failed unexpectedly on this expression",
            ))
        })
    }

    fn run(
        &self,
        input: Option<&Value>,
        bindings: &Map<String, Value>,
        now_millis: i64,
        entropy: u64,
    ) -> Result<Option<Value>, JsonataError> {
        let data = input.map_or(JValue::Undefined, convert::to_jvalue);
        let bound = bindings
            .iter()
            .map(|(n, v)| (n.as_str(), convert::to_jvalue(v)));
        self.run_jvalues(data, bound, now_millis, entropy)
    }

    fn run_jvalues<'a>(
        &self,
        data: JValue,
        bindings: impl Iterator<Item = (&'a str, JValue)>,
        now_millis: i64,
        entropy: u64,
    ) -> Result<Option<Value>, JsonataError> {
        let mut context = Context::new();
        for (name, value) in bindings {
            let name = name.strip_prefix('$').unwrap_or(name);
            context.bind(name.to_owned(), value);
        }
        let options = EvaluatorOptions {
            timeout_ms: self
                .limits
                .timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            max_stack_depth: self.limits.max_depth,
            max_sequence_length: self.limits.max_sequence_length,
            ..EvaluatorOptions::default()
        };
        let mut evaluator = Evaluator::with_options(context, options);
        let budget = guard::Budget::new(
            self.limits.max_value_bytes,
            self.limits.max_sequence_length,
            self.limits.max_allocated_bytes,
        );
        functions::install(
            &mut evaluator,
            now_millis,
            entropy,
            self.limits.max_sequence_length,
        )
        .and_then(|()| guard::install(&mut evaluator, &budget))
        .map_err(|e| evaluation_error(&e))?;
        let result = evaluator
            .evaluate(&self.ast, &data)
            .map_err(|e| evaluation_error(&e))?;
        convert::checked(&result, &self.limits)
    }
}

/// A JSON value already converted for the evaluator. Cheap to clone (shared, not copied), but
/// not `Send`: prepare and use it within one synchronous piece of work.
#[derive(Clone)]
pub struct Prepared(JValue);

impl Prepared {
    pub fn new(v: &Value) -> Prepared {
        Prepared(convert::to_jvalue(v))
    }

    /// An object of prepared members, in order.
    pub fn object<I: IntoIterator<Item = (String, Prepared)>>(members: I) -> Prepared {
        Prepared(JValue::object(
            members.into_iter().map(|(k, p)| (k, p.0)).collect(),
        ))
    }
}

fn syntax_error(raw: &str) -> JsonataError {
    let mut e = JsonataError::from_message(ErrorKind::Syntax, raw);
    if e.code.is_none() && raw.starts_with("Unclosed comment") {
        // jsonata-js's code and wording for `/*` without `*/`.
        e.code = Some("S0106".to_owned());
        e.message = "Comment has no closing tag".to_owned();
    }
    e
}

fn evaluation_error(e: &EvaluatorError) -> JsonataError {
    let mut out = JsonataError::from_message(ErrorKind::Evaluation, e.message());
    match out.code.as_deref() {
        // JSONata 2.0.6 has no D1011/D1012 (they arrived with 2.1's limit
        // options); its reference test harness reports both as U1001.
        Some("D1011" | "D1012") => {
            out.code = Some("U1001".to_owned());
            out.kind = ErrorKind::Limit;
        }
        Some("U1001" | "D2015" | guard::CODE) => out.kind = ErrorKind::Limit,
        None if out.message.starts_with(functions::EVAL_REFUSED) => {
            out.kind = ErrorKind::Unsupported;
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests;
