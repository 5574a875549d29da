//! JSONata in states: values with `{% … %}` expressions anywhere inside (Arguments, Output,
//! Assign, Items, ItemSelector, Condition, and the numeric and text fields that accept an
//! expression), compiled once when the definition is parsed and evaluated with `$states` and
//! the workflow variables bound.

use serde_json::{Map, Value};
use waymark_jsonata::{Expression, Host, InputReference, JsonataError};

use crate::budget::Budget;
use crate::diag::codes;
use crate::env::Variables;
use crate::error::{names, Failure};
use crate::json::{to_text, type_name};
use crate::template::TemplateError;

/// One `{% … %}` expression.
#[derive(Clone)]
pub struct Jsonata {
    /// The text between `{%` and `%}`, trimmed, as AWS quotes it in messages.
    pub source: String,
    /// Boxed: an expression with its limits is large beside the other template values.
    expr: Box<Expression>,
    /// Workflow variables the expression may read (`$name` in its text); only these are
    /// bound, so an evaluation does not copy every variable in scope.
    variables: Vec<String>,
    /// What of `$states` it may read. Boxed: templates nest, and a parser recursing over deep
    /// definitions carries one per frame.
    reads: Box<Reads>,
}

/// The members of `$states` an expression may read (`None`: all of them, e.g. `$states`
/// itself), so that a large input is not copied for an expression that only reads the
/// context; and of `$states.context`, so that one reading `$states.context.Map.Item` does not
/// copy the execution's input (`Execution.Input`) once per Map item.
#[derive(Debug, Clone)]
struct Reads {
    states: Option<Vec<String>>,
    context: Option<Vec<String>>,
}

impl std::fmt::Debug for Jsonata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{% {} %}}", self.source)
    }
}

impl PartialEq for Jsonata {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// `{% expr %}` → `expr`, for strings that are JSONata expressions.
pub fn expression_text(s: &str) -> Option<&str> {
    (s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")).then(|| &s[2..s.len() - 2])
}

impl Jsonata {
    pub fn parse(inner: &str) -> Result<Jsonata, JsonataError> {
        let source = inner.trim().to_string();
        let expr = Box::new(Expression::parse(&source)?);
        let variables = referenced_variables(&source);
        let reads = Box::new(Reads {
            states: referenced_states_members(&source),
            context: referenced_members(&source, "$states.context"),
        });
        Ok(Jsonata {
            source,
            expr,
            variables,
            reads,
        })
    }
}

/// Names after `$` in the text: over-approximate (a `$` in a string literal counts too), which
/// only binds a variable that is not read.
fn referenced_variables(src: &str) -> Vec<String> {
    let bytes = src.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
                end += 1;
            }
            if end > start {
                let name = &src[start..end];
                if name != "states" && !out.iter().any(|n| n == name) {
                    out.push(name.to_string());
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// `<of>.<member>` read by the text, or `None` when `of` is used otherwise (alone, indexed,
/// bound to a variable, with blanks before the dot): over-approximate, as for variables.
fn referenced_members(src: &str, of: &str) -> Option<Vec<String>> {
    let ident = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    let mut out: Vec<String> = Vec::new();
    for (i, _) in src.match_indices(of) {
        let rest = &src[i + of.len()..];
        if rest.chars().next().is_some_and(|c| ident(&c)) {
            continue; // a longer name (`$states.contextual`)
        }
        let name: String = rest.strip_prefix('.')?.chars().take_while(ident).collect();
        if name.is_empty() {
            return None;
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Some(out)
}

/// `$states.<member>` read by the text, or `None` when `$states` is used otherwise.
fn referenced_states_members(src: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (i, _) in src.match_indices("$states") {
        let rest = &src[i + "$states".len()..];
        let member = rest.strip_prefix('.')?;
        let name: String = member
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            return None;
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Some(out)
}

/// A JSON value whose strings may be `{% %}` expressions, at any depth.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonataTemplate {
    Expr(Jsonata),
    Object(Vec<(String, JsonataTemplate)>),
    Array(Vec<JsonataTemplate>),
    Literal(Value),
}

/// What an expression sees besides variables: the `$states` object and the host's clock and
/// randomness.
pub struct JsonataEnv<'a> {
    /// `{"input": …, "context": …, "result"?: …, "errorOutput"?: …}`.
    pub states: &'a Value,
    pub vars: &'a dyn Variables,
    pub now_millis: i64,
    pub entropy: u64,
    /// `$states.input` converted already, when the caller evaluates many expressions over the
    /// same (possibly large) input: a Map's ItemSelector, once per item.
    pub prepared_input: Option<&'a Prepared>,
}

pub use waymark_jsonata::Prepared;

struct EnvHost {
    now_millis: i64,
    entropy: u64,
}

impl Host for EnvHost {
    fn now_millis(&self) -> i64 {
        self.now_millis
    }
    fn entropy(&self) -> u64 {
        self.entropy
    }
}

impl JsonataTemplate {
    /// Compiles a value; every malformed expression is reported with its pointer.
    pub fn compile(value: &Value) -> Result<JsonataTemplate, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let t = compile_value(value, "", &mut errors);
        if errors.is_empty() {
            Ok(t)
        } else {
            Err(errors)
        }
    }

    /// A template that is one bare expression, for messages that quote it.
    pub fn as_expr(&self) -> Option<&Jsonata> {
        match self {
            JsonataTemplate::Expr(e) => Some(e),
            _ => None,
        }
    }

    /// Evaluates to a value; `field` names the field for messages (`Output`, `Assign/x`).
    /// The results of its expressions may add up to at most
    /// [`crate::budget::MAX_EVALUATION_BYTES`] (each expression has its own limits too).
    pub fn eval(&self, env: &JsonataEnv, field: &str) -> Result<Value, Failure> {
        self.eval_within(env, field, &Budget::new())
    }

    fn eval_within(
        &self,
        env: &JsonataEnv,
        field: &str,
        budget: &Budget,
    ) -> Result<Value, Failure> {
        Ok(match self {
            JsonataTemplate::Literal(v) => v.clone(),
            JsonataTemplate::Expr(e) => match evaluate(e, env, field)? {
                Some(v) => {
                    budget.take(&v, || format!("The field '{field}'"))?;
                    v
                }
                None => {
                    return Err(Failure::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!(
                            "The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).",
                            e.source
                        ),
                    ))
                }
            },
            JsonataTemplate::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    out.insert(k.clone(), t.eval_within(env, &format!("{field}/{k}"), budget)?);
                }
                Value::Object(out)
            }
            JsonataTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, t)| t.eval_within(env, &format!("{field}[{i}]"), budget))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Evaluates and checks the JSON type of the result (`array` for Items, `boolean` for a
    /// Condition …), with AWS's message when it is another.
    pub fn eval_as(&self, env: &JsonataEnv, field: &str, expected: &str) -> Result<Value, Failure> {
        let v = self.eval(env, field)?;
        let actual = type_name(&v);
        let ok =
            actual == expected || (expected == "integer" && crate::json::as_integer(&v).is_some());
        if ok {
            return Ok(v);
        }
        let shown = match self {
            JsonataTemplate::Expr(e) => e.source.clone(),
            other => to_text(&other.source_value()),
        };
        Err(Failure::new(
            names::QUERY_EVALUATION_ERROR,
            format!(
                "The JSONata expression '{shown}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{actual}' for value: {}",
                to_text(&v)
            ),
        ))
    }

    /// The value as written in the definition.
    pub fn source_value(&self) -> Value {
        match self {
            JsonataTemplate::Literal(v) => v.clone(),
            JsonataTemplate::Expr(e) => Value::String(format!("{{% {} %}}", e.source)),
            JsonataTemplate::Object(f) => Value::Object(
                f.iter()
                    .map(|(k, t)| (k.clone(), t.source_value()))
                    .collect(),
            ),
            JsonataTemplate::Array(a) => {
                Value::Array(a.iter().map(JsonataTemplate::source_value).collect())
            }
        }
    }
}

fn evaluate(e: &Jsonata, env: &JsonataEnv, field: &str) -> Result<Option<Value>, Failure> {
    let wanted = |k: &str| {
        e.reads
            .states
            .as_ref()
            .is_none_or(|m| m.iter().any(|x| x == k))
    };
    let host = EnvHost {
        now_millis: env.now_millis,
        entropy: env.entropy,
    };
    let failed = |err: waymark_jsonata::JsonataError| {
        Failure::new(
            names::QUERY_EVALUATION_ERROR,
            match &err.code {
                Some(code) => format!(
                    "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation. {code}: {}",
                    e.source, err.message
                ),
                None => format!(
                    "The JSONata expression '{}' specified for the field '{field}' threw an error during evaluation: {}",
                    e.source, err.message
                ),
            },
        )
    };
    // The context cut down to the members the expression reads.
    let context = |v: &Value| -> Value {
        match (&e.reads.context, v) {
            (Some(m), Value::Object(o)) => Value::Object(
                o.iter()
                    .filter(|(k, _)| m.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            _ => v.clone(),
        }
    };
    if let (Some(input), Value::Object(all)) = (env.prepared_input, env.states) {
        let states = Prepared::object(all.iter().filter(|(k, _)| wanted(k)).map(|(k, v)| {
            let p = match k.as_str() {
                "input" => input.clone(),
                "context" => Prepared::new(&context(v)),
                _ => Prepared::new(v),
            };
            (k.clone(), p)
        }));
        let vars: Vec<(&str, Prepared)> = e
            .variables
            .iter()
            .filter_map(|n| env.vars.get(n).map(|v| (n.as_str(), Prepared::new(v))))
            .collect();
        let mut bindings: Vec<(&str, &Prepared)> = vec![("states", &states)];
        bindings.extend(vars.iter().map(|(n, p)| (*n, p)));
        return e
            .expr
            .evaluate_prepared(None, &bindings, &host)
            .map_err(failed);
    }
    let mut bindings = Map::with_capacity(e.variables.len() + 1);
    let states = match env.states {
        Value::Object(all) => Value::Object(
            all.iter()
                .filter(|(k, _)| wanted(k))
                .map(|(k, v)| {
                    let v = if k == "context" {
                        context(v)
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    };
    bindings.insert("states".to_string(), states);
    for name in &e.variables {
        if let Some(v) = env.vars.get(name) {
            bindings.insert(name.clone(), v.clone());
        }
    }
    // AWS supplies no input document: data comes only through `$states` and variables.
    e.expr
        .evaluate_input(None, &bindings, &host)
        .map_err(failed)
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn compile_value(value: &Value, ptr: &str, errors: &mut Vec<TemplateError>) -> JsonataTemplate {
    match value {
        Value::String(s) => match expression_text(s) {
            Some(inner) => match Jsonata::parse(inner) {
                Ok(e) => {
                    for r in e.expr.input_references() {
                        errors.push(TemplateError {
                            code: codes::UNSUPPORTED_JSONATA_EXPRESSION,
                            pointer: ptr.to_string(),
                            message: match r {
                                InputReference::Field(name) => format!(
                                    "Reference to '{name}' at the top level is not supported."
                                ),
                                InputReference::Context => {
                                    "Reference to '$' at the top level is not supported.".into()
                                }
                                InputReference::Root => {
                                    "Reference to '$$' is not supported.".into()
                                }
                            },
                        });
                    }
                    JsonataTemplate::Expr(e)
                }
                Err(err) => {
                    errors.push(TemplateError {
                        code: codes::INVALID_JSONATA_EXPRESSION,
                        pointer: ptr.to_string(),
                        message: err.message,
                    });
                    JsonataTemplate::Literal(value.clone())
                }
            },
            None => JsonataTemplate::Literal(value.clone()),
        },
        Value::Object(map) => JsonataTemplate::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        compile_value(v, &format!("{ptr}/{}", escape_pointer(k)), errors),
                    )
                })
                .collect(),
        ),
        Value::Array(items) => JsonataTemplate::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| compile_value(v, &format!("{ptr}/{i}"), errors))
                .collect(),
        ),
        other => JsonataTemplate::Literal(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::env::NoVariables;

    fn env_eval(t: &Value, states: Value, vars: &dyn Variables) -> Result<Value, Failure> {
        let tpl = JsonataTemplate::compile(t).unwrap();
        let env = JsonataEnv {
            states: &states,
            vars,
            now_millis: 0,
            entropy: 1,
            prepared_input: None,
        };
        tpl.eval(&env, "Output")
    }

    #[test]
    fn a_template_of_many_expressions_cannot_multiply_its_input_without_bound() {
        let input = json!({"input": {"s": "x".repeat(64 << 10)}});
        let fields = |n: usize| -> Value {
            Value::Object(
                (0..n)
                    .map(|i| (format!("f{i}"), json!("{% $states.input.s %}")))
                    .collect(),
            )
        };
        assert!(env_eval(&fields(10), input.clone(), &NoVariables).is_ok());
        // 1,000 copies of 64 KiB (64 MB) stop at the evaluation's 4 MiB.
        let f = env_eval(&fields(1_000), input, &NoVariables).unwrap_err();
        assert_eq!(f.error.as_deref(), Some(names::DATA_LIMIT_EXCEEDED), "{f}");
    }

    #[test]
    fn a_huge_or_deep_result_is_a_query_evaluation_error() {
        for expr in [
            "{% $pad('', 1000000000) %}",
            "{% $reduce([1..100000], function($a, $x){ {'a': $a} }, {}) %}",
            "{% ($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $f('x', 40)) %}",
        ] {
            let f = env_eval(&json!(expr), json!({"input": {}}), &NoVariables).unwrap_err();
            assert_eq!(
                f.error.as_deref(),
                Some(names::QUERY_EVALUATION_ERROR),
                "{f}"
            );
            assert!(f.cause.as_deref().unwrap_or("").contains("U1010"), "{f}");
        }
    }

    #[test]
    fn expressions_are_evaluated_at_any_depth_and_other_strings_kept() {
        let out = env_eval(
            &json!({"a": "{% $states.input.x + 1 %}", "b": ["{% 'y' %}", "$states.input", " {% 1 %} "], "c": 3}),
            json!({"input": {"x": 1}}),
            &NoVariables,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"a": 2, "b": ["y", "$states.input", " {% 1 %} "], "c": 3})
        );
    }

    #[test]
    fn variables_are_bound() {
        let mut vars = Map::new();
        vars.insert("total".into(), json!(41));
        assert_eq!(
            env_eval(&json!("{% $total + 1 %}"), json!({"input": {}}), &vars).unwrap(),
            json!(42)
        );
    }

    #[test]
    fn undefined_is_an_error_naming_the_field() {
        let e = env_eval(
            &json!({"result": "{% $doesNotExist %}"}),
            json!({"input": {}}),
            &NoVariables,
        )
        .unwrap_err();
        assert_eq!(e.error.as_deref(), Some(names::QUERY_EVALUATION_ERROR));
        assert_eq!(
            e.cause.as_deref(),
            Some("The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).")
        );
    }

    #[test]
    fn result_types_are_checked() {
        let tpl = JsonataTemplate::compile(&json!("{% 1 %}")).unwrap();
        let states = json!({"input": {}});
        let env = JsonataEnv {
            states: &states,
            vars: &NoVariables,
            now_millis: 0,
            entropy: 1,
            prepared_input: None,
        };
        let e = tpl.eval_as(&env, "Items", "array").unwrap_err();
        assert_eq!(
            e.cause.as_deref(),
            Some("The JSONata expression '1' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'number' for value: 1")
        );
    }

    #[test]
    fn syntax_errors_point_at_the_field() {
        let errs = JsonataTemplate::compile(&json!({"a": {"b": "{% $x + %}"}})).unwrap_err();
        assert_eq!(errs[0].pointer, "/a/b");
        assert_eq!(errs[0].code, codes::INVALID_JSONATA_EXPRESSION);
    }

    /// The States Language gives expressions no input document: AWS refuses a definition
    /// whose expression reads one (measured: `Reference to 'phone' at the top level is not
    /// supported.` at the field's pointer).
    #[test]
    fn reading_the_input_document_is_refused_when_compiled() {
        let errs =
            JsonataTemplate::compile(&json!({"v": ["x", "{% phone.number & $ %}"]})).unwrap_err();
        let got: Vec<_> = errs
            .iter()
            .map(|e| (e.code, e.pointer.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    codes::UNSUPPORTED_JSONATA_EXPRESSION,
                    "/v/1",
                    "Reference to 'phone' at the top level is not supported."
                ),
                (
                    codes::UNSUPPORTED_JSONATA_EXPRESSION,
                    "/v/1",
                    "Reference to '$' at the top level is not supported."
                ),
            ]
        );
        assert!(JsonataTemplate::compile(&json!("{% $states.input.items[ok].id %}")).is_ok());
    }

    #[test]
    fn expressions_see_no_context_item() {
        // A lambda's body may name fields; at the top level there is nothing for them to read.
        let out = env_eval(
            &json!({"a": "{% $exists((function() { k })()) %}"}),
            json!({"input": {"k": 1}}),
            &NoVariables,
        )
        .unwrap();
        assert_eq!(out, json!({"a": false}));
    }

    #[test]
    fn evaluation_errors_name_the_field_with_array_indexes() {
        let e = env_eval(
            &json!({"a": [0, "{% $sum('x') %}"]}),
            json!({"input": {}}),
            &NoVariables,
        )
        .unwrap_err();
        let cause = e.cause.unwrap();
        assert!(
            cause.starts_with("The JSONata expression '$sum('x')' specified for the field 'Output/a[1]' threw an error during evaluation. T0412: "),
            "{cause}"
        );
    }

    #[test]
    fn eval_is_refused() {
        let e = env_eval(
            &json!("{% $eval('1') %}"),
            json!({"input": {}}),
            &NoVariables,
        )
        .unwrap_err();
        assert_eq!(e.error.as_deref(), Some(names::QUERY_EVALUATION_ERROR));
    }

    #[test]
    fn only_the_members_of_states_read_are_bound() {
        assert_eq!(
            referenced_states_members("$states.input.a + $states.context.b"),
            Some(vec!["input".into(), "context".into()])
        );
        assert_eq!(referenced_states_members("$keys($states)"), None);
        let ctx = |src| referenced_members(src, "$states.context");
        assert_eq!(
            ctx("$states.context.Map.Item.Value & $states.context.Execution.Name"),
            Some(vec!["Map".to_string(), "Execution".to_string()])
        );
        assert_eq!(ctx("$states.input.a"), Some(vec![]));
        for whole in [
            "$keys($states.context)",
            "$states.context[0]",
            "($c := $states.context; $c.Map)",
            "$states.context .Map",
        ] {
            assert_eq!(ctx(whole), None, "{whole}");
        }
        assert_eq!(ctx("$states.contextual.x"), Some(vec![]));
        let out = env_eval(
            &json!("{% $states.context.x %}"),
            json!({"input": {"big": [1, 2, 3]}, "context": {"x": 7}}),
            &NoVariables,
        );
        assert_eq!(out.unwrap(), json!(7));
        assert_eq!(
            env_eval(
                &json!("{% $count($keys($states)) %}"),
                json!({"input": 1, "context": 2}),
                &NoVariables
            )
            .unwrap(),
            json!(2)
        );
    }

    #[test]
    fn a_prepared_input_gives_the_same_results() {
        let states = json!({"input": {"items": [1, 2, 3], "k": "v"}, "context": {"Map": {"Item": {"Value": 2}}}});
        let mut vars = Map::new();
        vars.insert("factor".into(), json!(10));
        let tpl = JsonataTemplate::compile(&json!({
            "sum": "{% $sum($states.input.items) * $factor %}",
            "item": "{% $states.context.Map.Item.Value %}",
            "all": "{% $count($keys($states)) %}"
        }))
        .unwrap();
        let plain = JsonataEnv {
            states: &states,
            vars: &vars,
            now_millis: 0,
            entropy: 1,
            prepared_input: None,
        };
        let prepared = Prepared::new(&states["input"]);
        let fast = JsonataEnv {
            prepared_input: Some(&prepared),
            ..plain
        };
        let a = tpl
            .eval(
                &JsonataEnv {
                    prepared_input: None,
                    ..fast
                },
                "ItemSelector",
            )
            .unwrap();
        let b = tpl.eval(&fast, "ItemSelector").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, json!({"sum": 60, "item": 2, "all": 2}));
    }

    #[test]
    fn referenced_variables_are_found() {
        assert_eq!(
            referenced_variables("$a + $states.input.b + $sum($c)"),
            ["a", "sum", "c"]
        );
    }
}
