//! The 18 intrinsic functions of the JSONPath dialect (`States.Format`, `States.Array`, …):
//! their syntax, parsed once when a definition is loaded, and their evaluation against an
//! [`Env`], with AWS's argument rules and failure texts.
//!
//! What AWS does was taken from its documentation where it is precise and from recorded runs
//! where it is not (several documented rules, such as "non-integers are rounded", differ from
//! what the service does; the recorded behaviour wins and is noted at each function).
//!
//! Failures at run time are `States.Runtime`, as AWS reports them (not
//! `States.IntrinsicFailure`, which AWS defines but does not raise for these), with the cause
//! `The function '<field value>' had the following error: <detail>`. The engine adds the
//! state prefix with [`Failure::in_state`].

mod array;
mod encoding;
mod json;
mod math;
mod parse;
mod string;

use serde_json::Value;

use crate::budget::Budget;
use crate::env::Env;
use crate::error::Failure;
use crate::path::{Path, Root};

/// Why a field value is not a well-formed intrinsic call. The message names the function and
/// the argument at fault and says what was expected; `position` is the character offset in
/// the field value where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IntrinsicSyntaxError {
    pub message: String,
    pub position: usize,
}

/// A parsed intrinsic call, ready to be evaluated any number of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    /// Kept verbatim because AWS quotes the whole field value in failure causes.
    source: String,
    call: Call,
}

/// True when a `.$` field value is meant as an intrinsic call rather than a path.
pub fn is_intrinsic(src: &str) -> bool {
    src.starts_with("States.")
}

impl Intrinsic {
    /// `src` is the whole field value, e.g. `"States.Format('Hello {}', $.name)"`.
    pub fn parse(src: &str) -> Result<Intrinsic, IntrinsicSyntaxError> {
        let call = parse::parse(src)?;
        Ok(Intrinsic {
            source: src.to_string(),
            call,
        })
    }

    /// Evaluates the call, within [`crate::budget::MAX_EVALUATION_BYTES`] of values copied
    /// from paths and built by the functions.
    pub fn eval(&self, env: &Env) -> Result<Value, Failure> {
        self.eval_within(env, &Budget::new())
    }

    /// Evaluates as part of a larger evaluation (a template) that shares `budget`.
    pub(crate) fn eval_within(&self, env: &Env, budget: &Budget) -> Result<Value, Failure> {
        self.call
            .eval(env, budget, &self.source)
            .map_err(|e| e.into_failure(&self.source, env))
    }

    /// The field value this call was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// One `States.X(...)` invocation.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    function: Function,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Str(StringLiteral),
    Number(serde_json::Number),
    Bool(bool),
    Null,
    Path(Path),
    Call(Call),
}

/// A single-quoted literal. `raw` keeps the escapes because `States.Format` must tell an
/// escaped `\{` (a brace) from a bare `{` (half of a placeholder).
#[derive(Debug, Clone, PartialEq)]
struct StringLiteral {
    value: String,
    raw: String,
}

macro_rules! functions {
    ($($variant:ident => $name:literal, $min:expr, $max:expr, $params:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Function { $($variant),* }

        impl Function {
            const ALL: &'static [Function] = &[$(Function::$variant),*];

            fn name(self) -> &'static str {
                match self { $(Function::$variant => $name),* }
            }

            /// Fewest and most arguments (`None`: no upper bound).
            fn arity(self) -> (usize, Option<usize>) {
                match self { $(Function::$variant => ($min, $max)),* }
            }

            /// The parameters as AWS documents them, for error messages.
            fn params(self) -> &'static str {
                match self { $(Function::$variant => $params),* }
            }
        }
    };
}

functions! {
    Format => "States.Format", 1, None, "template, value…";
    StringToJson => "States.StringToJson", 1, Some(1), "string";
    JsonToString => "States.JsonToString", 1, Some(1), "value";
    Array => "States.Array", 0, None, "value…";
    ArrayPartition => "States.ArrayPartition", 2, Some(2), "array, chunkSize";
    ArrayContains => "States.ArrayContains", 2, Some(2), "array, value";
    ArrayRange => "States.ArrayRange", 3, Some(3), "start, end, step";
    ArrayGetItem => "States.ArrayGetItem", 2, Some(2), "array, index";
    ArrayLength => "States.ArrayLength", 1, Some(1), "array";
    ArrayUnique => "States.ArrayUnique", 1, Some(1), "array";
    Base64Encode => "States.Base64Encode", 1, Some(1), "string";
    Base64Decode => "States.Base64Decode", 1, Some(1), "base64";
    Hash => "States.Hash", 2, Some(2), "data, algorithm";
    JsonMerge => "States.JsonMerge", 3, Some(3), "object1, object2, deepMerge";
    MathRandom => "States.MathRandom", 2, Some(3), "start, end[, seed]";
    MathAdd => "States.MathAdd", 2, Some(2), "value1, value2";
    StringSplit => "States.StringSplit", 2, Some(2), "string, delimiters";
    Uuid => "States.UUID", 0, Some(0), "";
}

impl Function {
    fn from_name(name: &str) -> Option<Function> {
        Function::ALL.iter().copied().find(|f| f.name() == name)
    }
}

/// Why an evaluation failed, before it is worded as AWS words it.
#[derive(Debug)]
enum EvalError {
    /// A definite path argument found nothing; holds the path as AWS names it.
    NotFound(String),
    /// AWS's generic rejection of an argument value, with an optional detail AWS appends.
    Invalid {
        function: Function,
        detail: Option<String>,
    },
    /// A failure raised while reading an argument (an undefined variable) or a limit.
    Failure(Failure),
}

type EvalResult<T = Value> = Result<T, EvalError>;

fn invalid<T>(function: Function) -> EvalResult<T> {
    Err(EvalError::Invalid {
        function,
        detail: None,
    })
}

fn invalid_because<T>(function: Function, detail: impl Into<String>) -> EvalResult<T> {
    Err(EvalError::Invalid {
        function,
        detail: Some(detail.into()),
    })
}

impl EvalError {
    fn into_failure(self, source: &str, env: &Env) -> Failure {
        let detail = match self {
            EvalError::NotFound(path) => format!(
                "The JsonPath argument for the field '{path}' could not be found in the input '{}'",
                crate::json::to_text(env.input)
            ),
            EvalError::Invalid {
                function,
                detail: None,
            } => {
                format!("Invalid arguments in {}", function.name())
            }
            EvalError::Invalid {
                function,
                detail: Some(d),
            } => {
                format!("Invalid arguments in {}: {d}", function.name())
            }
            EvalError::Failure(f) if f.error_name() == crate::error::names::DATA_LIMIT_EXCEEDED => {
                return f
            }
            EvalError::Failure(f) => match f.cause {
                Some(cause) => cause,
                None => return f,
            },
        };
        Failure::runtime(format!(
            "The function '{source}' had the following error: {detail}"
        ))
    }
}

impl Call {
    fn eval(&self, env: &Env, budget: &Budget, source: &str) -> EvalResult {
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(arg.eval(env, budget, source)?);
        }
        let out = self.apply(values, env)?;
        budget
            .take(&out, || format!("The function '{source}'"))
            .map_err(EvalError::Failure)?;
        Ok(out)
    }

    fn apply(&self, values: Vec<Value>, env: &Env) -> EvalResult {
        let f = self.function;
        match f {
            Function::Format => {
                let raw_template = match self.args.first() {
                    Some(Arg::Str(lit)) => Some(lit.raw.as_str()),
                    _ => None,
                };
                string::format(raw_template, values)
            }
            Function::StringSplit => string::split(values),
            Function::StringToJson => json::string_to_json(values),
            Function::JsonToString => json::json_to_string(values),
            Function::JsonMerge => json::merge(values),
            Function::Array => Ok(Value::Array(values)),
            Function::ArrayPartition => array::partition(values),
            Function::ArrayContains => array::contains(values),
            Function::ArrayRange => array::range(values),
            Function::ArrayGetItem => array::get_item(values),
            Function::ArrayLength => array::length(values),
            Function::ArrayUnique => array::unique(values),
            Function::Base64Encode => encoding::base64_encode(values),
            Function::Base64Decode => encoding::base64_decode(values),
            Function::Hash => encoding::hash(values),
            Function::MathRandom => math::random(values, env),
            Function::MathAdd => math::add(values),
            Function::Uuid => Ok(math::uuid(env)),
        }
    }
}

impl Arg {
    fn eval(&self, env: &Env, budget: &Budget, source: &str) -> EvalResult {
        match self {
            Arg::Str(lit) => Ok(Value::String(lit.value.clone())),
            Arg::Number(n) => Ok(Value::Number(n.clone())),
            Arg::Bool(b) => Ok(Value::Bool(*b)),
            Arg::Null => Ok(Value::Null),
            Arg::Call(call) => call.eval(env, budget, source),
            Arg::Path(path) => match env.select(path).map_err(EvalError::Failure)? {
                Some(v) => {
                    budget
                        .take(&v, || format!("The function '{source}'"))
                        .map_err(EvalError::Failure)?;
                    Ok(v.into_owned())
                }
                None => Err(EvalError::NotFound(missing_path_name(path))),
            },
        }
    }
}

/// AWS names a missing `$$` argument as if it were read from the input (`$$.A` → `$.A`).
fn missing_path_name(path: &Path) -> String {
    match path.root() {
        Root::Context => path
            .source()
            .strip_prefix('$')
            .unwrap_or(path.source())
            .to_string(),
        _ => path.source().to_string(),
    }
}

/// Takes exactly `N` evaluated arguments; the parser has already checked the count, so a
/// mismatch is reported as invalid arguments rather than trusted.
fn take<const N: usize>(function: Function, values: Vec<Value>) -> EvalResult<[Value; N]> {
    match <[Value; N]>::try_from(values) {
        Ok(a) => Ok(a),
        Err(_) => invalid(function),
    }
}

/// A numeric argument as Java's `intValue()` reads it: the fraction is dropped (toward zero).
/// AWS documents rounding for these arguments, but its runs truncate. `None` for
/// non-numbers and for values no 64-bit integer holds.
fn truncated(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // 2^63 as f64; anything at or beyond it does not fit.
    (f.is_finite() && f.abs() < 9.223_372_036_854_776e18).then(|| f.trunc() as i64)
}

/// Limits on string arguments are in Java characters (UTF-16 code units).
fn java_length(s: &str) -> usize {
    s.encode_utf16().count()
}

#[cfg(test)]
mod testing {
    use serde_json::{json, Map, Value};

    use super::Intrinsic;
    use crate::env::{Env, NoVariables, SeededRandom};
    use crate::error::Failure;

    /// Evaluates `src` against `input`, with a small context and no variables.
    pub fn run(src: &str, input: Value) -> Result<Value, Failure> {
        run_seeded(src, input, 7)
    }

    pub fn run_seeded(src: &str, input: Value, seed: u64) -> Result<Value, Failure> {
        let intrinsic = Intrinsic::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let context = json!({
            "Execution": { "Id": "arn:aws:states:us-east-1:111111111111:execution:sm:run-1", "Name": "run-1" },
            "StateMachine": { "Id": "arn:aws:states:us-east-1:111111111111:stateMachine:sm", "Name": "sm" },
        });
        let random = SeededRandom::new(seed);
        let env = Env {
            input: &input,
            context: &context,
            vars: &NoVariables,
            random: &random,
        };
        intrinsic.eval(&env)
    }

    pub fn run_with_vars(
        src: &str,
        input: Value,
        vars: Map<String, Value>,
    ) -> Result<Value, Failure> {
        let intrinsic = Intrinsic::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let context = json!({});
        let random = SeededRandom::new(1);
        let env = Env {
            input: &input,
            context: &context,
            vars: &vars,
            random: &random,
        };
        intrinsic.eval(&env)
    }

    pub fn ok(src: &str, input: Value) -> Value {
        run(src, input).unwrap_or_else(|f| panic!("{src}: {f}"))
    }

    /// Asserts the AWS shape of an invalid-arguments failure and returns its cause.
    pub fn invalid(src: &str, input: Value) -> String {
        let failure = match run(src, input) {
            Ok(v) => panic!("{src} should fail, gave {v}"),
            Err(f) => f,
        };
        assert_eq!(failure.error_name(), crate::error::names::RUNTIME, "{src}");
        let cause = failure.cause.unwrap_or_default();
        let name = src.split('(').next().unwrap_or_default();
        assert!(
            cause.starts_with(&format!("The function '{src}' had the following error: ")),
            "{cause}"
        );
        assert!(
            cause.contains(&format!("Invalid arguments in {name}")),
            "{cause}"
        );
        cause
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::testing::{ok, run, run_with_vars};
    use super::*;

    #[test]
    fn recognises_intrinsic_field_values() {
        assert!(is_intrinsic("States.Array()"));
        assert!(is_intrinsic("States.Nope()"));
        assert!(!is_intrinsic("$.States"));
        assert!(!is_intrinsic("States"));
    }

    #[test]
    fn nests_calls() {
        assert_eq!(
            ok("States.ArrayLength(States.Array(1, 2))", json!({})),
            json!(2)
        );
        assert_eq!(
            ok(
                "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.arn, ':'), 3), States.MathAdd(1, 2))",
                json!({"arn": "arn:aws:states:us-east-1"})
            ),
            json!("us-east-1.3")
        );
    }

    #[test]
    fn reads_paths_from_input_context_and_variables() {
        assert_eq!(
            ok("States.Array($, $.a.b)", json!({"a": {"b": 1}})),
            json!([{"a": {"b": 1}}, 1])
        );
        assert_eq!(
            ok("States.Array($$.Execution.Name)", json!({})),
            json!(["run-1"])
        );
        assert_eq!(
            ok("States.Format('snd={}', $$.StateMachine)", json!({})),
            json!("snd={Id=arn:aws:states:us-east-1:111111111111:stateMachine:sm, Name=sm}")
        );
        let mut vars = Map::new();
        vars.insert("myVariable".into(), json!({"x": [1, 2]}));
        assert_eq!(
            run_with_vars("States.ArrayLength($myVariable.x)", json!({}), vars).unwrap(),
            json!(2)
        );
    }

    #[test]
    fn indefinite_paths_give_lists_even_when_empty() {
        assert_eq!(
            ok(
                "States.ArrayLength($.items[*].nope)",
                json!({"items": [1, 2]})
            ),
            json!(0)
        );
        assert_eq!(
            ok(
                "States.Array($.items[*].a)",
                json!({"items": [{"a": 1}, {"a": 2}]})
            ),
            json!([[1, 2]])
        );
    }

    #[test]
    fn a_missing_argument_fails_naming_the_path_and_the_input() {
        let f = run(
            "States.Format('{} {}', $.other, $.a.b)",
            json!({"other": 1}),
        )
        .unwrap_err();
        assert_eq!(f.error_name(), "States.Runtime");
        assert_eq!(
            f.cause.as_deref(),
            Some(
                "The function 'States.Format('{} {}', $.other, $.a.b)' had the following error: \
                 The JsonPath argument for the field '$.a.b' could not be found in the input '{\"other\":1}'"
            )
        );
        // Past the end of an array is a miss here, though a plain `.$` reference gives null.
        let f = run("States.Array($.items[5])", json!({"items": [1, 2]})).unwrap_err();
        assert!(f
            .cause
            .unwrap()
            .contains("field '$.items[5]' could not be found"));
        // A context path is named as if read from the input.
        let f = run("States.Array($$.Nope.Deep)", json!({})).unwrap_err();
        assert!(f
            .cause
            .unwrap()
            .contains("field '$.Nope.Deep' could not be found in the input '{}'"));
        // Nested calls report the whole field value.
        let f = run(
            "States.Format('{}', States.Format('{}', $.nope))",
            json!({}),
        )
        .unwrap_err();
        assert!(f
            .cause
            .unwrap()
            .starts_with("The function 'States.Format('{}', States.Format('{}', $.nope))' had"));
    }

    #[test]
    fn an_explicit_null_is_not_missing() {
        assert_eq!(
            ok("States.Format('{}', $.nul)", json!({"nul": null})),
            json!("null")
        );
    }

    #[test]
    fn an_undefined_variable_fails() {
        let f = run_with_vars("States.Array($nope)", json!({}), Map::new()).unwrap_err();
        assert_eq!(f.error_name(), "States.Runtime");
        assert!(f.cause.unwrap().contains("'nope'"));
    }

    #[test]
    fn parsing_keeps_the_source_and_compares_structurally() {
        let a = Intrinsic::parse("States.Array(1, 'x', $.a)").unwrap();
        assert_eq!(a.source(), "States.Array(1, 'x', $.a)");
        assert_eq!(a.clone(), a);
        assert_ne!(a, Intrinsic::parse("States.Array(1, 'y', $.a)").unwrap());
    }

    #[test]
    fn truncates_like_java() {
        assert_eq!(truncated(&json!(2.9)), Some(2));
        assert_eq!(truncated(&json!(-2.9)), Some(-2));
        assert_eq!(truncated(&json!(7)), Some(7));
        assert_eq!(truncated(&json!(1e300)), None);
        assert_eq!(truncated(&json!("1")), None);
    }
}
