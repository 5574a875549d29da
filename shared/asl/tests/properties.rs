//! Property tests that feed arbitrary input to the parser and to the evaluators of the
//! language, and check what must hold whatever the input:
//!
//! - `parse_value` / `parse_text` never panic; every diagnostic has a code, a message and a
//!   JSON Pointer (`""` or `/`-rooted) that resolves in the definition it was found in; text
//!   that is not a JSON object is refused; a definition that parses parses again, to the same
//!   model, from its serialisation (and an EXPRESS machine that parses is a valid STANDARD one).
//! - Random mutations of valid machines (Pass, Choice, Task, Wait, Fail, Map, Parallel) keep
//!   those properties.
//! - `Path::parse` keeps the source; `select` gives a list for every indefinite path; a value
//!   written at a reference path is what `select` then finds there (ResultPath included).
//! - `Intrinsic::parse` never panics, on any text or on text built from the call grammar; a
//!   parsed call evaluates deterministically (same seed, same value) to a value or to a
//!   `States.Runtime` failure that quotes the call.
//! - `Template::compile` reports every error at a pointer inside the template; a compiled
//!   template evaluates to a value or to a named failure, and a template without `.$` fields
//!   evaluates to itself.
//! - Choice comparisons: numeric ones agree with `f64` (and `i64`) ordering and are a total
//!   order; string ones are antisymmetric, trichotomous and agree with Java's UTF-16 order.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Number, Value};
use waymark_asl::choice::{compare, string_matches};
use waymark_asl::dataflow::apply_result_path;
use waymark_asl::diag::{codes, Diagnostic};
use waymark_asl::env::{Env, NoVariables, SeededRandom};
use waymark_asl::error::names;
use waymark_asl::intrinsics::Intrinsic;
use waymark_asl::model::{Comparison, NullablePath};
use waymark_asl::parse::{parse_text, parse_value, MachineType, ParseOptions, Parsed};
use waymark_asl::path::{Path, Selector};
use waymark_asl::template::Template;

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Strings that mean something somewhere in ASL, so that random JSON reaches past the first
/// checks of the parser and the evaluators.
const INTERESTING: &[&str] = &[
    "",
    "$",
    "$.a",
    "$.a.b",
    "$$",
    "$$.Execution.Id",
    "$.items[*]",
    "$.items[0]",
    "$..a",
    "$.a[?(@.b > 1)]",
    "$v",
    "$v.a",
    "States.",
    "States.Array(1, $.a)",
    "States.Format('{} {}', $.a, $.b)",
    "States.UUID()",
    "States.StringToJson($.s)",
    "States.MathRandom(1, 10)",
    "{% $states.input %}",
    "Pass",
    "Task",
    "Choice",
    "Wait",
    "Map",
    "Parallel",
    "Fail",
    "Succeed",
    "A",
    "B",
    "C",
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "arn:aws:states:::states:startExecution.sync",
    "arn:aws:states:us-east-1:123456789012:activity:x",
    "arn:aws:lambda:us-east-1:123456789012:function:f",
    "States.ALL",
    "States.TaskFailed",
    "JSONata",
    "JSONPath",
    "INLINE",
    "DISTRIBUTED",
    "FULL",
    "1.0",
    "2024-01-01T00:00:00Z",
    "~",
    "/",
    "a/b~c",
];

/// Field names of ASL, plus awkward ones for JSON Pointers.
const KEYS: &[&str] = &[
    "Type",
    "StartAt",
    "States",
    "Next",
    "End",
    "Comment",
    "Parameters",
    "ResultPath",
    "InputPath",
    "OutputPath",
    "ResultSelector",
    "Result",
    "Resource",
    "Retry",
    "Catch",
    "ErrorEquals",
    "MaxAttempts",
    "IntervalSeconds",
    "BackoffRate",
    "Choices",
    "Default",
    "Variable",
    "StringEquals",
    "NumericGreaterThan",
    "NumericEqualsPath",
    "IsPresent",
    "And",
    "Or",
    "Not",
    "Branches",
    "ItemProcessor",
    "Iterator",
    "ItemsPath",
    "ItemSelector",
    "MaxConcurrency",
    "ProcessorConfig",
    "Mode",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "Error",
    "Cause",
    "CausePath",
    "ErrorPath",
    "QueryLanguage",
    "Assign",
    "Output",
    "Arguments",
    "Version",
    "a",
    "b",
    "items",
    "x.$",
    "a.$",
    "Payload.$",
    "",
    "~",
    "a/b",
    "~1",
];

fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (-5i64..100).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        1 => prop::sample::select(vec![
            json!(1e300),
            json!(-1e300),
            json!(-0.0),
            json!(0.5),
            json!(-1.5),
            json!(1.0),
            json!(2147483647),
            json!(2147483648i64),
            json!(-2147483649i64),
            json!(9007199254740993i64),
            json!(u64::MAX),
            json!(i64::MIN),
        ]),
    ]
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(INTERESTING).prop_map(str::to_string),
        2 => "[$.a-z\\[\\]'*0-9(),@? {}%]{0,12}",
        1 => "\\PC{0,10}",
        1 => any::<String>(),
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => "[a-zA-Z]{1,6}(\\.\\$)?",
        1 => "\\PC{0,6}",
    ]
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => arb_number(),
        4 => arb_string().prop_map(Value::String),
    ]
}

fn object(fields: Vec<(String, Value)>) -> Value {
    Value::Object(fields.into_iter().collect())
}

/// Any JSON value, a few levels deep.
fn arb_json() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..6).prop_map(object),
        ]
    })
}

/// Something shaped like a definition: `StartAt`, `States`, states with a `Type` and random
/// fields, so that the state parsers and the graph checks see arbitrary values.
fn arb_definition_like() -> impl Strategy<Value = Value> {
    let state = (
        prop::sample::select(
            &[
                "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map", "Nope",
            ][..],
        ),
        prop::collection::vec((arb_key(), arb_json()), 0..6),
    )
        .prop_map(|(ty, fields)| {
            let mut m: Map<String, Value> = fields.into_iter().collect();
            m.insert("Type".into(), json!(ty));
            Value::Object(m)
        });
    (
        prop::sample::select(&["A", "B", "C"][..]),
        prop::collection::vec(
            (prop::sample::select(&["A", "B", "C", ""][..]), state),
            1..4,
        ),
        prop::collection::vec((arb_key(), arb_json()), 0..2),
    )
        .prop_map(|(start, states, extra)| {
            let states: Map<String, Value> = states
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            let mut top: Map<String, Value> = extra.into_iter().collect();
            top.insert("StartAt".into(), json!(start));
            top.insert("States".into(), Value::Object(states));
            Value::Object(top)
        })
}

/// Path text from the grammar of AWS's JSONPath dialect (and a little outside it).
/// A root and its steps, each as written.
fn arb_path_parts() -> impl Strategy<Value = (&'static str, Vec<String>)> {
    let root = prop::sample::select(&["$", "$$", "$v", "$", "$"][..]);
    let step = prop_oneof![
        4 => "[a-c]{1,2}".prop_map(|n| format!(".{n}")),
        2 => "[a-c ,.'\\]\\[$]{0,4}".prop_map(|n| format!("['{}']", n.replace('\'', "\\'"))),
        3 => (-3i64..4).prop_map(|i| format!("[{i}]")),
        1 => Just("[*]".to_string()),
        1 => Just(".*".to_string()),
        1 => "[a-c]{1,2}".prop_map(|n| format!("..{n}")),
        1 => (prop::option::of(-3i64..4), prop::option::of(-3i64..4), prop::option::of(-2i64..3))
            .prop_map(|(a, b, c)| {
                let s = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
                match c {
                    Some(_) => format!("[{}:{}:{}]", s(a), s(b), s(c)),
                    None => format!("[{}:{}]", s(a), s(b)),
                }
            }),
        1 => prop::sample::select(&[
            "[?(@.a > 1)]",
            "[?(@.b == 'x')]",
            "[?(@ > 1)]",
            "['a','b']",
            "[0,1]",
            "[?(@.a",
            "[",
            ".",
            "[']",
            "()",
        ][..]).prop_map(str::to_string),
    ];
    (root, prop::collection::vec(step, 0..5))
}

fn arb_path_text() -> impl Strategy<Value = String> {
    arb_path_parts().prop_map(|(r, steps)| format!("{r}{}", steps.concat()))
}

/// A reference path (names and indices only), from the grammar.
fn arb_reference_path_text() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        3 => "[a-c]{1,2}".prop_map(|n| format!(".{n}")),
        1 => "[a-c ./~]{0,3}".prop_map(|n| format!("['{n}']")),
        2 => (-2i64..3).prop_map(|i| format!("[{i}]")),
    ];
    prop::collection::vec(step, 0..5).prop_map(|steps| format!("${}", steps.concat()))
}

const FUNCTIONS: &[&str] = &[
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
    "States.Nope",
    "States.array",
];

/// Each function with the fewest and most arguments generated for it (within its arity).
const ARITIES: &[(&str, usize, usize)] = &[
    ("States.Format", 1, 3),
    ("States.StringToJson", 1, 1),
    ("States.JsonToString", 1, 1),
    ("States.Array", 0, 3),
    ("States.ArrayPartition", 2, 2),
    ("States.ArrayContains", 2, 2),
    ("States.ArrayRange", 3, 3),
    ("States.ArrayGetItem", 2, 2),
    ("States.ArrayLength", 1, 1),
    ("States.ArrayUnique", 1, 1),
    ("States.Base64Encode", 1, 1),
    ("States.Base64Decode", 1, 1),
    ("States.Hash", 2, 2),
    ("States.JsonMerge", 3, 3),
    ("States.MathRandom", 2, 3),
    ("States.MathAdd", 2, 2),
    ("States.StringSplit", 2, 2),
    ("States.UUID", 0, 0),
];

/// A call of `arg`s: mostly well-formed (a known function, an argument count it takes),
/// sometimes not.
fn arb_call(arg: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    let well_formed = {
        let arg = arg.clone();
        prop::sample::select(ARITIES).prop_flat_map(move |(f, lo, hi)| {
            prop::collection::vec(arg.clone(), lo..=hi)
                .prop_map(move |args| format!("{f}({})", args.join(", ")))
        })
    };
    let any_shape = (
        prop::sample::select(FUNCTIONS),
        prop::collection::vec(arg, 0..4),
    )
        .prop_map(|(f, args)| format!("{f}({})", args.join(",")));
    prop_oneof![8 => well_formed, 1 => any_shape]
}

/// One argument of an intrinsic call: literals, paths, nested calls, and a little junk.
fn arb_intrinsic_arg() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        3 => "[a-z {},'\\\\]{0,8}".prop_map(|s| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))),
        2 => prop::sample::select(&[
            "'{}'", "'{} and {}'", "'\\{}'", "'{'", "'a,b'", "','", "'MD5'", "'SHA-1'",
            "'SHA-256'", "'SHA-384'", "'SHA-512'", "'YWJj'", "'{\"x\": [1, 2]}'", "'not json'",
            "'[1, 2, 3]'", "'\u{e9}t\u{e9}'",
        ][..]).prop_map(str::to_string),
        2 => arb_number().prop_map(|n| n.to_string()),
        1 => prop::sample::select(&["true", "false", "null"][..]).prop_map(str::to_string),
        4 => prop::sample::select(&[
            "$", "$.a", "$.b", "$.items", "$.items[0]", "$.items[*]", "$.s", "$.n", "$.missing",
            "$$.Execution.Id", "$$", "$v", "$v.a", "$nope", "$['a']", "$.items[?(@ > 1)]",
            "$.items[1:]",
        ][..]).prop_map(str::to_string),
        1 => "[-0-9.eE+a-z$'(),\\[\\]]{1,3}",
    ];
    leaf.prop_recursive(2, 12, 3, |inner| arb_call(inner).boxed())
        .boxed()
}

/// A whole call from the grammar, now and then with trailing text.
fn arb_intrinsic_text() -> impl Strategy<Value = String> {
    (
        arb_call(arb_intrinsic_arg()),
        prop::sample::select(&["", "", "", "", "", " ", ")", "x"][..]),
    )
        .prop_map(|(call, tail)| format!("{call}{tail}"))
}

/// Inputs that the paths of the grammars above find something in, or arbitrary JSON.
fn arb_input() -> impl Strategy<Value = Value> {
    let strings = prop::sample::select(
        &[
            "{\"x\": 1}",
            "[1, 2]",
            "a,b;c",
            "YWJj",
            "not json",
            "",
            "{}",
            "null",
            "héllo",
        ][..],
    );
    prop_oneof![
        1 => arb_json(),
        3 => (
            arb_json(),
            arb_json(),
            prop::collection::vec(arb_json(), 0..5),
            strings,
            arb_number(),
        )
            .prop_map(|(a, b, items, s, n)| json!({"a": a, "b": b, "items": items, "s": s, "n": n})),
    ]
}

/// Payload templates: `.$` fields holding paths, intrinsic calls or anything else, at any depth.
fn arb_template() -> impl Strategy<Value = Value> {
    let dynamic_value = prop_oneof![
        3 => arb_path_text(),
        3 => arb_intrinsic_text(),
        1 => arb_string(),
    ];
    let field = move |inner: BoxedStrategy<Value>| {
        prop_oneof![
            2 => ("[a-c]{1,2}", inner).prop_map(|(k, v)| (k, v)),
            2 => ("[a-c]{1,2}", dynamic_value.clone()).prop_map(|(k, v)| (format!("{k}.$"), Value::String(v))),
            1 => ("[a-c]{1,2}\\.\\$", arb_leaf()),
        ]
    };
    let template = arb_leaf().prop_recursive(3, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(field(inner.boxed()), 0..5).prop_map(object),
        ]
    });
    prop_oneof![3 => template, 1 => arb_json()]
}

// ---------------------------------------------------------------------------------------------
// Valid machines, and mutations of them
// ---------------------------------------------------------------------------------------------

fn valid_machines() -> Vec<Value> {
    vec![
        json!({
            "Comment": "Pass, with every data-flow field",
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "InputPath": "$.in",
                    "Parameters": {"a.$": "$.a", "f.$": "States.Format('{}', $.b)", "k": [1, {"c.$": "$$.Execution.Id"}]},
                    "ResultPath": "$.out",
                    "OutputPath": "$",
                    "Next": "R"
                },
                "R": {"Type": "Pass", "Result": {"x": 1.5, "y": [true, null]}, "ResultPath": null, "End": true}
            }
        }),
        json!({
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"},
                        {"And": [
                            {"Variable": "$.s", "StringMatches": "log-*"},
                            {"Not": {"Variable": "$.t", "IsPresent": true}}
                        ], "Next": "Small"},
                        {"Or": [
                            {"Variable": "$.ts", "TimestampLessThanPath": "$.other"},
                            {"Variable": "$.b", "BooleanEquals": false}
                        ], "Next": "Small"}
                    ],
                    "Default": "Nope"
                },
                "Big": {"Type": "Succeed"},
                "Small": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Done"},
                "Done": {"Type": "Succeed"},
                "Nope": {"Type": "Fail", "Error": "NoMatch", "CausePath": "States.Format('n={}', $.n)"}
            }
        }),
        json!({
            "StartAt": "T",
            "TimeoutSeconds": 60,
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
                    "ResultSelector": {"r.$": "$.Payload"},
                    "TimeoutSeconds": 30,
                    "HeartbeatSeconds": 10,
                    "Retry": [
                        {"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0, "JitterStrategy": "FULL"},
                        {"ErrorEquals": ["States.ALL"]}
                    ],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "F"}],
                    "Next": "W"
                },
                "W": {"Type": "Wait", "Seconds": 5, "Next": "S"},
                "S": {"Type": "Succeed"},
                "F": {"Type": "Fail", "Error": "Failed", "Cause": "it failed"}
            }
        }),
        json!({
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "MaxConcurrency": 2,
                    "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "Inner",
                        "States": {"Inner": {"Type": "Pass", "End": true}}
                    },
                    "ResultPath": "$.mapped",
                    "End": true
                }
            }
        }),
        json!({
            "StartAt": "Par",
            "States": {
                "Par": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Result": 1, "End": true}}},
                        {"StartAt": "B2", "States": {"B2": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                            "End": true
                        }}}
                    ],
                    "ResultSelector": {"first.$": "$[0]"},
                    "Next": "End"
                },
                "End": {"Type": "Succeed"}
            }
        }),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Replaces the node with a random value.
    Replace(prop::sample::Index, Value),
    /// Removes the node from its object or array.
    Delete(prop::sample::Index),
    /// Adds a member to an object or an element to an array (replaces a scalar).
    Insert(prop::sample::Index, String, Value),
    /// Replaces the node with a copy of another node of the same definition.
    Copy(prop::sample::Index, prop::sample::Index),
    /// Renames the member that holds the node.
    Rename(prop::sample::Index, String),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let idx = any::<prop::sample::Index>;
    prop_oneof![
        3 => (idx(), arb_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => idx().prop_map(Mutation::Delete),
        2 => (idx(), arb_key(), arb_json()).prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
        2 => (idx(), idx()).prop_map(|(a, b)| Mutation::Copy(a, b)),
        1 => (idx(), arb_key()).prop_map(|(i, k)| Mutation::Rename(i, k)),
    ]
}

fn escape_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The JSON Pointer of every node of `v`, the root (`""`) first.
fn pointers(v: &Value) -> Vec<String> {
    fn walk(v: &Value, here: String, out: &mut Vec<String>) {
        out.push(here.clone());
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    walk(x, format!("{here}/{}", escape_token(k)), out);
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    walk(x, format!("{here}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}

/// The parent's pointer and the last token, for a pointer that is not the root.
fn split_pointer(ptr: &str) -> Option<(&str, String)> {
    let (parent, last) = ptr.rsplit_once('/')?;
    Some((parent, unescape_token(last)))
}

fn pick<'a>(all: &'a [String], i: &prop::sample::Index) -> &'a str {
    i.get(all).as_str()
}

fn apply(def: &mut Value, m: &Mutation) {
    let all = pointers(def);
    match m {
        Mutation::Replace(i, v) => {
            if let Some(node) = def.pointer_mut(pick(&all, i)) {
                *node = v.clone();
            }
        }
        Mutation::Delete(i) => {
            let Some((parent, last)) = split_pointer(pick(&all, i)) else {
                return;
            };
            match def.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.shift_remove(&last);
                }
                Some(Value::Array(items)) => {
                    if let Ok(n) = last.parse::<usize>() {
                        if n < items.len() {
                            items.remove(n);
                        }
                    }
                }
                _ => {}
            }
        }
        Mutation::Insert(i, key, v) => match def.pointer_mut(pick(&all, i)) {
            Some(Value::Object(m)) => {
                m.insert(key.clone(), v.clone());
            }
            Some(Value::Array(items)) => {
                let at = key.len() % (items.len() + 1);
                items.insert(at, v.clone());
            }
            Some(other) => *other = v.clone(),
            None => {}
        },
        Mutation::Copy(to, from) => {
            let Some(value) = def.pointer(pick(&all, from)).cloned() else {
                return;
            };
            if let Some(node) = def.pointer_mut(pick(&all, to)) {
                *node = value;
            }
        }
        Mutation::Rename(i, key) => {
            let Some((parent, last)) = split_pointer(pick(&all, i)) else {
                return;
            };
            if let Some(Value::Object(m)) = def.pointer_mut(parent) {
                if let Some(v) = m.shift_remove(&last) {
                    m.insert(key.clone(), v);
                }
            }
        }
    }
}

fn arb_mutated_machine() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(valid_machines()),
        prop::collection::vec(arb_mutation(), 1..5),
    )
        .prop_map(|(mut def, mutations)| {
            for m in &mutations {
                apply(&mut def, m);
            }
            def
        })
}

// ---------------------------------------------------------------------------------------------
// Checks shared by the properties
// ---------------------------------------------------------------------------------------------

fn opts(machine_type: MachineType) -> ParseOptions {
    ParseOptions { machine_type }
}

/// A diagnostic's pointer is `""`, `"/"` (both: the whole definition) or a JSON Pointer that
/// resolves in the definition.
fn check_diagnostic(def: &Value, d: &Diagnostic) -> Result<(), TestCaseError> {
    prop_assert!(!d.code.is_empty(), "no code: {d:?}");
    prop_assert!(!d.message.trim().is_empty(), "no message: {d:?}");
    if d.path.is_empty() || d.path == "/" {
        return Ok(());
    }
    prop_assert!(d.path.starts_with('/'), "not a JSON Pointer: {d:?}");
    prop_assert!(
        def.pointer(&d.path).is_some(),
        "the pointer of {d:?} does not resolve in {def}"
    );
    Ok(())
}

fn check_parse_result(
    def: &Value,
    result: &Result<Parsed, Vec<Diagnostic>>,
) -> Result<(), TestCaseError> {
    match result {
        Ok(parsed) => {
            for w in &parsed.warnings {
                prop_assert!(!w.is_error(), "an error among the warnings: {w:?}");
                check_diagnostic(def, w)?;
            }
        }
        Err(diags) => {
            prop_assert!(!diags.is_empty(), "Err with no diagnostics");
            for d in diags {
                prop_assert!(d.is_error(), "a warning among the errors: {d:?}");
                check_diagnostic(def, d)?;
            }
        }
    }
    Ok(())
}

/// A definition that parsed parses again from its serialisation (compact and pretty), to the
/// same model and the same warnings.
fn check_reparse(
    def: &Value,
    first: &Parsed,
    machine_type: MachineType,
) -> Result<(), TestCaseError> {
    let expected = format!("{:?}", first.definition);
    for text in [
        serde_json::to_string(def).unwrap(),
        serde_json::to_string_pretty(def).unwrap(),
    ] {
        match parse_text(&text, &opts(machine_type)) {
            Ok(again) => {
                prop_assert_eq!(&format!("{:?}", again.definition), &expected);
                prop_assert_eq!(&again.warnings, &first.warnings);
            }
            Err(d) => prop_assert!(false, "parsed as a value but not as text {text}: {d:?}"),
        }
    }
    Ok(())
}

/// Parses `def` as both machine types and checks everything that must hold.
fn check_definition(def: &Value) -> Result<(), TestCaseError> {
    let standard = parse_value(def, &opts(MachineType::Standard));
    check_parse_result(def, &standard)?;
    let express = parse_value(def, &opts(MachineType::Express));
    check_parse_result(def, &express)?;
    if let Ok(p) = &standard {
        check_reparse(def, p, MachineType::Standard)?;
    }
    if let Ok(p) = &express {
        check_reparse(def, p, MachineType::Express)?;
        // EXPRESS only takes integrations away.
        prop_assert!(
            standard.is_ok(),
            "valid as EXPRESS but not as STANDARD: {def}: {:?}",
            standard.err()
        );
    }
    Ok(())
}

fn context() -> Value {
    json!({
        "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:sm:run-1", "Name": "run-1", "Input": {}},
        "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:sm", "Name": "sm"},
        "State": {"Name": "S", "EnteredTime": "2024-01-01T00:00:00Z"},
        "Map": {"Item": {"Index": 0, "Value": {"a": 1}}},
        "Task": {"Token": "t"}
    })
}

fn variables() -> Map<String, Value> {
    let mut vars = Map::new();
    vars.insert("v".into(), json!({"a": [1, 2, 3]}));
    vars
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // PROPTEST_CASES=5000 for a longer hunt.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1024),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

#[test]
fn the_seed_machines_are_valid() {
    for def in valid_machines() {
        for mt in [MachineType::Standard, MachineType::Express] {
            let ok = parse_value(&def, &opts(mt));
            // Only the waitForTaskToken machine is STANDARD-only.
            let wait_for_token = def.to_string().contains("waitForTaskToken");
            if mt == MachineType::Express && wait_for_token {
                assert!(ok.is_err(), "{def}");
            } else {
                assert!(ok.is_ok(), "{def}: {:?}", ok.err());
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_value_reports_resolvable_diagnostics(def in prop_oneof![arb_json(), arb_definition_like()]) {
        check_definition(&def)?;
    }

    #[test]
    fn mutated_machines_report_resolvable_diagnostics_and_reparse(def in arb_mutated_machine()) {
        check_definition(&def)?;
    }

    #[test]
    fn parse_text_refuses_everything_but_objects(text in prop_oneof![
        2 => any::<String>(),
        2 => "[\\[\\]{}\":,0-9a-z .$\\\\-]{0,64}",
        2 => arb_json().prop_map(|v| v.to_string()),
        1 => arb_mutated_machine().prop_map(|v| v.to_string()),
        1 => (1usize..3000, prop::sample::select(&["[", "{\"a\":", "[{\"States\":"][..]))
            .prop_map(|(n, open)| open.repeat(n)),
    ]) {
        let result = parse_text(&text, &opts(MachineType::Standard));
        match serde_json::from_str::<Value>(&text) {
            Ok(value) => {
                check_parse_result(&value, &result)?;
                if !value.is_object() {
                    let diags = result.as_ref().err();
                    prop_assert!(diags.is_some(), "a non-object parsed: {}", text);
                    let diags = diags.unwrap();
                    prop_assert_eq!(diags[0].code, codes::SCHEMA_VALIDATION_FAILED);
                    prop_assert_eq!(diags[0].path.as_str(), "");
                }
                // Text and value agree.
                let direct = parse_value(&value, &opts(MachineType::Standard));
                prop_assert_eq!(
                    result.as_ref().map(|p| format!("{:?}", p.definition)).map_err(Clone::clone),
                    direct.as_ref().map(|p| format!("{:?}", p.definition)).map_err(Clone::clone)
                );
            }
            Err(_) => {
                let diags = result.err();
                prop_assert!(diags.is_some(), "text that is not JSON parsed: {}", text);
                let diags = diags.unwrap();
                prop_assert_eq!(diags.len(), 1);
                prop_assert!(
                    diags[0].code == codes::INVALID_JSON_DESCRIPTION
                        || (diags[0].code == codes::SCHEMA_VALIDATION_FAILED && text.trim().is_empty()),
                    "{:?}", diags
                );
                prop_assert!(!diags[0].message.is_empty());
                prop_assert_eq!(diags[0].path.as_str(), "");
            }
        }
    }

    #[test]
    fn path_parse_never_panics_and_select_gives_lists_for_indefinite_paths(
        src in prop_oneof![2 => any::<String>(), 1 => "[$.a-c\\[\\]'*0-9(),:?@ <>=!-]{0,16}", 4 => arb_path_text()],
        value in arb_input(),
    ) {
        if let Ok(path) = Path::parse(&src) {
            prop_assert_eq!(path.source(), src.as_str());
            let plain = |s: &waymark_asl::path::Step| {
                !s.descendant && matches!(s.selector, Selector::Name(_) | Selector::Index(_))
            };
            let reference = path.steps().iter().all(plain);
            prop_assert_eq!(path.is_reference(), reference);
            // Several names last, after a reference path, merge into one object (Jayway).
            let merged = match path.steps().split_last() {
                Some((last, before)) => {
                    !last.descendant
                        && matches!(&last.selector, Selector::Names(n) if n.len() > 1)
                        && before.iter().all(plain)
                }
                None => false,
            };
            prop_assert_eq!(path.is_definite(), reference || merged);
            let found = path.select(&value).unwrap();
            if merged {
                prop_assert!(
                    matches!(found.as_deref(), None | Some(Value::Object(_))),
                    "{} on {} gave {:?}", src, value, found
                );
            }
            if !path.is_reference() {
                if !path.is_definite() {
                    prop_assert!(
                        matches!(found.as_deref(), Some(Value::Array(_))),
                        "{} on {} gave {:?}", src, value, found
                    );
                }
                prop_assert!(Path::parse_reference(&src).is_err());
                let mut target = value.clone();
                prop_assert!(path.write(&mut target, json!(1)).is_err());
                prop_assert_eq!(&target, &value);
            } else {
                prop_assert!(Path::parse_reference(&src).is_ok());
            }
        }
    }

    /// Jayway reads a '.' before '[' as a separator (`$.[0]` is `$[0]`), and so does AWS.
    #[test]
    fn a_dot_before_a_bracket_step_changes_nothing((root, steps) in arb_path_parts(), value in arb_input()) {
        // Well-formed steps only: in junk such as `[']` a '[' may sit inside a quoted name.
        let steps: Vec<String> = steps
            .into_iter()
            .filter(|s| Path::parse(&format!("${s}")).is_ok())
            .collect();
        let plain = format!("{root}{}", steps.concat());
        let mut dotted = root.to_string();
        for s in &steps {
            // Not after a '.' already there: `$..[0]` is a deep scan.
            if s.starts_with('[') && !dotted.ends_with('.') {
                dotted.push('.');
            }
            dotted.push_str(s);
        }
        match (Path::parse(&plain), Path::parse(&dotted)) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.steps(), b.steps(), "{} vs {}", plain, dotted);
                prop_assert_eq!(a.is_reference(), b.is_reference());
                prop_assert_eq!(a.select(&value).unwrap(), b.select(&value).unwrap());
            }
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "{} gave {:?} but {} gave {:?}", plain, a.err(), dotted, b.err()),
        }
    }

    #[test]
    fn grammar_paths_parse(src in arb_reference_path_text()) {
        let path = Path::parse(&src);
        prop_assert!(path.is_ok(), "{}: {:?}", src, path.err());
        prop_assert!(path.unwrap().is_reference());
    }

    #[test]
    fn quoted_and_dotted_names_parse_to_themselves(name in "[^\\\\]{1,8}", dotted in "[a-zA-Z0-9_:-]{1,8}") {
        let quoted = format!("$['{}']", name.replace('\'', "\\'"));
        let path = Path::parse(&quoted).map_err(|e| TestCaseError::fail(format!("{quoted}: {e}")))?;
        prop_assert_eq!(path.steps().len(), 1);
        prop_assert_eq!(&path.steps()[0].selector, &Selector::Name(name.clone()));
        let input = json!({ name.clone(): 7 });
        let found = path.select(&input).unwrap();
        prop_assert_eq!(found.as_deref(), Some(&json!(7)));
        let dotted_path = Path::parse(&format!("$.{dotted}.x")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            dotted_path.steps().iter().map(|s| s.selector.clone()).collect::<Vec<_>>(),
            vec![Selector::Name(dotted.clone()), Selector::Name("x".into())]
        );
    }

    #[test]
    fn a_written_value_is_selected_back(
        src in prop_oneof![3 => arb_reference_path_text(), 1 => arb_path_text()],
        target in arb_input(),
        value in arb_json(),
    ) {
        let Ok(path) = Path::parse(&src) else { return Ok(()) };
        if !path.is_reference() {
            return Ok(());
        }
        let mut written = target.clone();
        match path.write(&mut written, value.clone()) {
            Ok(()) => {
                let found = path.select(&written).unwrap();
                prop_assert_eq!(found.as_deref(), Some(&value), "{} in {}", src, target);
            }
            Err(e) => {
                prop_assert!(!e.0.is_empty());
            }
        }
        // Names alone can always be written into an object: missing levels are created.
        let names_only = path.steps().iter().all(|s| matches!(s.selector, Selector::Name(_)));
        if names_only {
            let mut empty = json!({});
            prop_assert!(path.write(&mut empty, value.clone()).is_ok(), "{}", src);
            let found = path.select(&empty).unwrap();
            prop_assert_eq!(found.as_deref(), Some(&value));
        }
        // ResultPath is the same write, on a copy of the raw input.
        let field = NullablePath::Path(path.clone());
        match apply_result_path(Some(&field), &target, value.clone()) {
            Ok(out) => {
                let found = path.select(&out).unwrap();
                prop_assert_eq!(found.as_deref(), Some(&value));
            }
            Err(f) => prop_assert_eq!(f.error_name(), names::RESULT_PATH_MATCH_FAILURE),
        }
    }

    #[test]
    fn intrinsics_parse_and_evaluate_without_panicking(
        src in prop_oneof![1 => any::<String>(), 1 => "States\\.[A-Za-z]{0,12}\\([-$'\\\\(),.\\[\\]{} a-z0-9@?*\"]{0,30}\\)?", 6 => arb_intrinsic_text()],
        input in arb_input(),
        seed in any::<u64>(),
    ) {
        let Ok(call) = Intrinsic::parse(&src) else { return Ok(()) };
        prop_assert_eq!(call.source(), src.as_str());
        let ctx = context();
        let vars = variables();
        let eval = || {
            let random = SeededRandom::new(seed);
            call.eval(&Env { input: &input, context: &ctx, vars: &vars, random: &random })
        };
        let first = eval();
        match &first {
            Ok(_) => {}
            Err(f) => {
                prop_assert_eq!(f.error_name(), names::RUNTIME, "{:?}", f);
                let cause = f.cause.as_deref().unwrap_or("");
                prop_assert!(
                    cause.starts_with(&format!("The function '{src}' had the following error: ")),
                    "{}", cause
                );
            }
        }
        // Same input, same seed: same answer (randomness only comes from the environment).
        prop_assert_eq!(&first, &eval());
        // Without variables, a call that reads none behaves the same.
        if !src.contains("$v") && !src.contains("$nope") {
            let random = SeededRandom::new(seed);
            let without = call.eval(&Env { input: &input, context: &ctx, vars: &NoVariables, random: &random });
            prop_assert_eq!(&first, &without);
        }
    }

    #[test]
    fn intrinsics_obey_their_laws(
        text in "\\PC{0,40}",
        x in arb_json(),
        items in prop::collection::vec(prop_oneof![(-3i64..4).prop_map(Value::from), "[ab]{0,1}".prop_map(Value::from), arb_json()], 0..12),
        k in 1i64..6,
        (a, b) in (any::<i32>(), any::<i32>()),
        (start, end, step) in (-20i64..20, -20i64..20, prop_oneof![-5i64..0, 1i64..6]),
        delims in "[,; ]{1,2}",
        o1 in prop::collection::vec(("[a-d]", arb_leaf()), 0..4),
        o2 in prop::collection::vec(("[a-d]", arb_leaf()), 0..4),
        seed in any::<u64>(),
    ) {
        let (o1, o2) = (object(o1), object(o2));
        let input = json!({
            "text": text, "x": x, "items": items, "k": k, "a": a, "b": b,
            "start": start, "end": end, "step": step, "delims": delims, "o1": o1, "o2": o2,
        });
        let ctx = context();
        let random = SeededRandom::new(seed);
        let env = Env { input: &input, context: &ctx, vars: &NoVariables, random: &random };
        let eval = |src: &str| -> Result<Value, TestCaseError> {
            let call = Intrinsic::parse(src).map_err(|e| TestCaseError::fail(format!("{src}: {e}")))?;
            call.eval(&env).map_err(|f| TestCaseError::fail(format!("{src} on {input}: {f}")))
        };

        prop_assert_eq!(eval("States.Base64Decode(States.Base64Encode($.text))")?, json!(text));
        prop_assert_eq!(eval("States.StringToJson(States.JsonToString($.x))")?, x.clone());
        prop_assert_eq!(eval("States.Format('{}', $.text)")?, json!(text));
        prop_assert_eq!(eval("States.ArrayLength($.items)")?, json!(items.len()));
        prop_assert_eq!(eval("States.ArrayContains($.items, $.x)")?, json!(items.contains(&x)));
        if let Some(first) = items.first() {
            prop_assert_eq!(eval("States.ArrayContains($.items, $.items[0])")?, json!(true));
            prop_assert_eq!(&eval("States.ArrayGetItem($.items, 0)")?, first);
        }
        prop_assert_eq!(eval("States.ArrayLength(States.Array($.x, $.items, 1))")?, json!(3));

        // Partition: chunks of k, the last one possibly shorter, that concatenate to the array.
        let chunks = eval("States.ArrayPartition($.items, $.k)")?;
        let chunks = chunks.as_array().unwrap();
        let flat: Vec<Value> = chunks.iter().flat_map(|c| c.as_array().unwrap().clone()).collect();
        prop_assert_eq!(&flat, &items);
        for (n, c) in chunks.iter().enumerate() {
            let len = c.as_array().unwrap().len();
            prop_assert!(len >= 1 && len as i64 <= k);
            if n + 1 < chunks.len() {
                prop_assert_eq!(len as i64, k);
            }
        }

        // Unique: no duplicates, nothing lost, first occurrences in order, idempotent.
        let unique = eval("States.ArrayUnique($.items)")?;
        let mut expected: Vec<Value> = Vec::new();
        for item in &items {
            if !expected.contains(item) {
                expected.push(item.clone());
            }
        }
        prop_assert_eq!(&unique, &Value::Array(expected));
        prop_assert_eq!(eval("States.ArrayUnique(States.ArrayUnique($.items))")?, unique);

        // Range: both ends included, stepping toward the end.
        let range = eval("States.ArrayRange($.start, $.end, $.step)")?;
        let mut expected = Vec::new();
        let mut i = start;
        while (step > 0 && i <= end) || (step < 0 && i >= end) {
            expected.push(json!(i));
            i += step;
        }
        prop_assert_eq!(range, Value::Array(expected));

        prop_assert_eq!(eval("States.MathAdd($.a, $.b)")?, json!(i64::from(a) + i64::from(b)));
        if a < b {
            let r = eval("States.MathRandom($.a, $.b)")?.as_i64().unwrap();
            prop_assert!(i64::from(a) <= r && r < i64::from(b), "{} not in [{}, {})", r, a, b);
            // A seed argument fixes the number, whatever the environment's randomness.
            let seeded = eval("States.MathRandom($.a, $.b, 42)")?;
            prop_assert_eq!(eval("States.MathRandom($.a, $.b, 42)")?, seeded);
        } else {
            prop_assert!(Intrinsic::parse("States.MathRandom($.a, $.b)").unwrap().eval(&env).is_err());
        }

        // Split: the pieces are the non-empty runs between delimiter characters.
        let pieces = eval("States.StringSplit($.text, $.delims)")?;
        let expected: Vec<Value> = text
            .split(|c: char| delims.contains(c))
            .filter(|p| !p.is_empty())
            .map(Value::from)
            .collect();
        prop_assert_eq!(pieces, Value::Array(expected));

        // Shallow merge: the second object's members win.
        let merged = eval("States.JsonMerge($.o1, $.o2, false)")?;
        let mut expected = o1.as_object().unwrap().clone();
        for (k, v) in o2.as_object().unwrap() {
            expected.insert(k.clone(), v.clone());
        }
        prop_assert_eq!(merged, Value::Object(expected));

        // Hashes: lowercase hex of the algorithm's length.
        for (alg, hex_len) in [("MD5", 32), ("SHA-1", 40), ("SHA-256", 64), ("SHA-384", 96), ("SHA-512", 128)] {
            let h = eval(&format!("States.Hash($.text, '{alg}')"))?;
            let h = h.as_str().unwrap();
            prop_assert_eq!(h.len(), hex_len, "{}", alg);
            prop_assert!(h.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)), "{}", h);
        }

        // UUIDs: version 4 shape.
        let uuid = eval("States.UUID()")?;
        let uuid = uuid.as_str().unwrap();
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        prop_assert_eq!(groups, vec![8, 4, 4, 4, 12], "{}", uuid);
        prop_assert_eq!(&uuid[14..15], "4", "{}", uuid);
    }

    #[test]
    fn templates_compile_and_evaluate_without_panicking(
        template in arb_template(),
        input in arb_input(),
    ) {
        match Template::compile(&template) {
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    prop_assert!(!e.message.is_empty());
                    prop_assert!(e.pointer.starts_with('/'), "{:?}", e);
                    prop_assert!(template.pointer(&e.pointer).is_some(), "{:?} in {}", e, template);
                    // Only `.$` fields can be wrong.
                    let (_, last) = split_pointer(&e.pointer).unwrap();
                    prop_assert!(last.ends_with(".$"), "{:?}", e);
                }
            }
            Ok(compiled) => {
                let ctx = context();
                let vars = variables();
                let random = SeededRandom::new(3);
                let env = Env { input: &input, context: &ctx, vars: &vars, random: &random };
                match compiled.eval(&env) {
                    Ok(out) => {
                        if !pointers(&template).iter().any(|p| p.ends_with(".$")) {
                            prop_assert_eq!(&out, &template);
                        }
                        if let (Value::Object(t), Value::Object(o)) = (&template, &out) {
                            for k in t.keys() {
                                let shown = k.strip_suffix(".$").unwrap_or(k);
                                prop_assert!(o.contains_key(shown), "{} missing from {}", shown, out);
                            }
                        }
                    }
                    Err(f) => {
                        prop_assert!(!f.error_name().is_empty(), "{:?}", f);
                        prop_assert!(f.cause.as_deref().is_some_and(|c| !c.is_empty()), "{:?}", f);
                    }
                }
            }
        }
    }

    #[test]
    fn numeric_comparisons_agree_with_f64(
        a in prop_oneof![any::<f64>(), (-(1i64 << 53)..(1i64 << 53)).prop_map(|i| i as f64), (-3i64..3).prop_map(|i| i as f64)],
        b in prop_oneof![any::<f64>(), (-(1i64 << 53)..(1i64 << 53)).prop_map(|i| i as f64), (-3i64..3).prop_map(|i| i as f64)],
        as_int in any::<(bool, bool)>(),
    ) {
        // Integral values that fit are given as JSON integers half of the time.
        let number = |f: f64, int: bool| -> Option<Value> {
            if int && f.fract() == 0.0 && f.abs() < 9.0e15 {
                Some(Value::from(f as i64))
            } else {
                Number::from_f64(f).map(Value::Number)
            }
        };
        let (Some(x), Some(y)) = (number(a, as_int.0), number(b, as_int.1)) else {
            return Ok(());
        };
        use Comparison::*;
        prop_assert_eq!(compare(NumericEquals, &x, &y), a == b, "{} {}", x, y);
        prop_assert_eq!(compare(NumericLessThan, &x, &y), a < b, "{} {}", x, y);
        prop_assert_eq!(compare(NumericGreaterThan, &x, &y), a > b, "{} {}", x, y);
        prop_assert_eq!(compare(NumericLessThanEquals, &x, &y), a <= b, "{} {}", x, y);
        prop_assert_eq!(compare(NumericGreaterThanEquals, &x, &y), a >= b, "{} {}", x, y);
        // Other types never compare.
        prop_assert!(!compare(NumericEquals, &x, &json!(a.to_string())));
        prop_assert!(!compare(StringEquals, &x, &x));
    }

    #[test]
    fn numeric_comparisons_of_integers_agree_with_i64(a in any::<i64>(), b in any::<i64>()) {
        use Comparison::*;
        let (x, y) = (json!(a), json!(b));
        prop_assert_eq!(compare(NumericEquals, &x, &y), a == b);
        prop_assert_eq!(compare(NumericLessThan, &x, &y), a < b);
        prop_assert_eq!(compare(NumericGreaterThanEquals, &x, &y), a >= b);
    }

    #[test]
    fn numeric_comparisons_are_a_total_order(x in arb_number(), y in arb_number()) {
        use Comparison::*;
        let lt = compare(NumericLessThan, &x, &y);
        let eq = compare(NumericEquals, &x, &y);
        let gt = compare(NumericGreaterThan, &x, &y);
        prop_assert_eq!([lt, eq, gt].iter().filter(|b| **b).count(), 1, "{} {}", x, y);
        prop_assert_eq!(compare(NumericLessThanEquals, &x, &y), lt || eq);
        prop_assert_eq!(compare(NumericGreaterThanEquals, &x, &y), gt || eq);
        prop_assert_eq!(compare(NumericLessThan, &y, &x), gt);
        prop_assert_eq!(compare(NumericEquals, &y, &x), eq);
        prop_assert!(compare(NumericEquals, &x, &x));
    }

    #[test]
    fn string_comparisons_are_antisymmetric(a in arb_string(), b in prop_oneof![arb_string(), "\\PC{0,4}"]) {
        use Comparison::*;
        let (x, y) = (json!(a), json!(b));
        let lt = compare(StringLessThan, &x, &y);
        let eq = compare(StringEquals, &x, &y);
        let gt = compare(StringGreaterThan, &x, &y);
        prop_assert_eq!([lt, eq, gt].iter().filter(|b| **b).count(), 1);
        prop_assert_eq!(eq, a == b);
        prop_assert_eq!(compare(StringLessThan, &y, &x), gt, "antisymmetry: {:?} {:?}", a, b);
        prop_assert_eq!(compare(StringGreaterThan, &y, &x), lt, "antisymmetry: {:?} {:?}", a, b);
        prop_assert!(!(lt && compare(StringLessThan, &y, &x)));
        prop_assert_eq!(compare(StringLessThanEquals, &x, &y), lt || eq);
        prop_assert_eq!(compare(StringGreaterThanEquals, &x, &y), gt || eq);
        prop_assert!(compare(StringGreaterThanEquals, &x, &x) && compare(StringLessThanEquals, &x, &x));
        prop_assert!(!compare(StringEquals, &x, &json!(null)));
        prop_assert!(!compare(NumericEquals, &x, &x));
    }

    #[test]
    fn string_order_is_java_order(
        a in prop::collection::vec(prop_oneof![prop::char::range('\0', '\u{d7ff}'), prop::char::range('\u{e000}', '\u{10ffff}')], 0..5),
        b in prop::collection::vec(prop_oneof![prop::char::range('\0', '\u{d7ff}'), prop::char::range('\u{e000}', '\u{10ffff}')], 0..5),
    ) {
        let (a, b): (String, String) = (a.into_iter().collect(), b.into_iter().collect());
        // Java compares UTF-16 code units. Without supplementary characters that is the order
        // of code points; with them, it is not.
        let java = a.encode_utf16().cmp(b.encode_utf16());
        prop_assert_eq!(compare(Comparison::StringLessThan, &json!(a), &json!(b)), java.is_lt());
        let bmp = |s: &str| s.chars().all(|c| (c as u32) < 0x10000);
        if bmp(&a) && bmp(&b) {
            prop_assert_eq!(java, a.cmp(&b));
        }
    }

    #[test]
    fn string_matches_a_pattern_that_escapes_the_text(text in "\\PC{0,12}", cut in any::<prop::sample::Index>()) {
        let escaped = text.replace('\\', "\\\\").replace('*', "\\*");
        prop_assert!(string_matches(&text, &escaped), "{:?} {:?}", text, escaped);
        prop_assert!(string_matches(&text, "*"));
        // Any prefix followed by a star matches.
        let chars: Vec<char> = text.chars().collect();
        let n = if chars.is_empty() { 0 } else { cut.index(chars.len() + 1) };
        let prefix: String = chars[..n].iter().collect();
        let pattern = format!("{}*", prefix.replace('\\', "\\\\").replace('*', "\\*"));
        prop_assert!(string_matches(&text, &pattern), "{:?} {:?}", text, pattern);
        // Text that is longer than a star-free pattern cannot match it.
        let longer = format!("{text}x");
        prop_assert!(!string_matches(&longer, &escaped));
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs too big for the strategies above
// ---------------------------------------------------------------------------------------------

#[test]
fn deep_nesting_and_huge_strings_in_text() {
    let o = opts(MachineType::Standard);
    // Far deeper than serde_json's recursion limit: refused as JSON, no stack overflow.
    for open in ["[", "{\"a\":", "{\"StartAt\":\"A\",\"States\":"] {
        let text = open.repeat(200_000);
        let e = parse_text(&text, &o).unwrap_err();
        assert_eq!(e[0].code, codes::INVALID_JSON_DESCRIPTION);
    }
    // As deep as serde_json allows, inside every kind of template and in Choice rules.
    let deep_template = format!("{}1{}", "[".repeat(120), "]".repeat(120));
    let deep_rule = format!(
        "{}{{\"Variable\":\"$.a\",\"IsPresent\":true}}{}",
        "{\"Not\":".repeat(120),
        "}".repeat(120)
    );
    let text = format!(
        r#"{{"StartAt":"A","States":{{
            "A":{{"Type":"Pass","Parameters":{{"x":{deep_template}}},"Result":{deep_template},"Next":"C"}},
            "C":{{"Type":"Choice","Choices":[{{"Next":"D","Not":{deep_rule}}}],"Default":"D"}},
            "D":{{"Type":"Succeed"}}}}}}"#
    );
    // Too deep for serde_json (the nesting adds up) or fine: either way, no panic.
    match parse_text(&text, &o) {
        Ok(_) => {}
        Err(e) => assert!(!e.is_empty() && !e[0].message.is_empty()),
    }
    // A huge state name, comment and string in a template.
    let huge = "x".repeat(4 << 20);
    let text = json!({
        "Comment": huge,
        "StartAt": huge,
        "States": {huge.clone(): {"Type": "Pass", "Parameters": {"s": huge, "p.$": format!("$.{huge}")}, "End": true}}
    })
    .to_string();
    let e = parse_text(&text, &o).unwrap_err();
    assert!(
        e.iter().any(|d| d.code == codes::INVALID_STATE_NAME),
        "{e:?}"
    );
}

#[test]
fn deep_values_given_directly() {
    // serde_json refuses more than 128 levels of text, but a `Value` built in memory can be
    // deeper: the parser refuses it too, naming the first value too deep, before any of its
    // recursive readers (templates, Choice rules, nested states) sees it.
    let nest = |n: usize| {
        let mut v = json!(1);
        for _ in 0..n {
            v = Value::Array(vec![v]);
        }
        v
    };
    let def = |v: Value| {
        let mut params = Map::new();
        params.insert("x".into(), v);
        let mut state = Map::new();
        state.insert("Type".into(), json!("Pass"));
        state.insert("Parameters".into(), Value::Object(params));
        state.insert("End".into(), json!(true));
        let mut states = Map::new();
        states.insert("A".into(), Value::Object(state));
        let mut top = Map::new();
        top.insert("StartAt".into(), json!("A"));
        top.insert("States".into(), Value::Object(states));
        Value::Object(top)
    };
    // The definition, States, A and Parameters are four levels: 124 more fit.
    let parsed = parse_value(&def(nest(124)), &opts(MachineType::Standard));
    assert!(parsed.is_ok(), "{:?}", parsed.err());
    let deep = def(nest(400));
    let e = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let e = parse_value(&deep, &opts(MachineType::Standard)).unwrap_err();
            std::mem::forget(deep); // dropping 400 levels is fine, but not on this small stack
            e
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].code, codes::SCHEMA_VALIDATION_FAILED);
    assert_eq!(
        e[0].path,
        format!("/States/A/Parameters/x{}", "/0".repeat(124))
    );
    assert!(
        e[0].message.contains("more than 128 deep"),
        "{}",
        e[0].message
    );
}

// ---------------------------------------------------------------------------------------------
// Bugs found by the properties above (outside this file), each as the smallest failing case
// ---------------------------------------------------------------------------------------------

/// A catcher without `Next` (or with a `Next` that is not a string) is parsed with an empty
/// target (`parse_catch` in `src/parse/state.rs`: `req_string(c, "Next").unwrap_or_default()`),
/// so the graph check adds `MISSING_TRANSITION_TARGET: Missing 'Next' target: ` at
/// `/States/T/Catch/0/Next`, a pointer to a field that does not exist, on top of the right
/// diagnostic (`The field 'Next' is required` at `/States/T/Catch/0`).
#[test]
fn catcher_without_next_points_at_a_missing_field() {
    let def = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [{"ErrorEquals": ["States.ALL"]}],
                "End": true
            }
        }
    });
    let errors = parse_value(&def, &opts(MachineType::Standard)).unwrap_err();
    for d in &errors {
        assert!(
            d.path == "/" || def.pointer(&d.path).is_some(),
            "{d:?} points at nothing; all: {errors:#?}"
        );
    }
}

/// Entries of `Retry` and `Catch` that are not objects are reported and then dropped
/// (`array_of_objects` in `src/parse/state.rs`), and the checks that run later number the
/// remaining entries from 0: `check_all_is_last` (`{list}/{i}/ErrorEquals`) and the graph
/// check of catchers (`src/parse/graph.rs`: `{state}/Catch/{i}/Next`). After a non-object
/// entry, their pointers name the wrong entry, or one that does not exist.
#[test]
fn non_object_retry_and_catch_entries_shift_later_pointers() {
    let def = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [1, {"ErrorEquals": ["A"]}, {"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["B"]}],
                "Catch": [null, {"ErrorEquals": ["States.ALL"], "Next": "Nowhere"}],
                "End": true
            }
        }
    });
    let errors = parse_value(&def, &opts(MachineType::Standard)).unwrap_err();
    let at = |path: &str| errors.iter().any(|d| d.path == path);
    // Today: "/States/T/Retry/1/ErrorEquals" (the entry with ["A"]) and
    // "/States/T/Catch/0/Next" (inside `null`).
    assert!(at("/States/T/Retry/2/ErrorEquals"), "{errors:#?}");
    assert!(at("/States/T/Catch/1/Next"), "{errors:#?}");
}
