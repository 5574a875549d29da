//! Bounded fuzzing of every parser of the language with hostile shapes: deep nesting (past
//! each parser's bound), long inputs, and the grammar's pieces spliced with junk. Each
//! property runs a bounded number of cases in `cargo test` (`PROPTEST_CASES` for a longer
//! hunt) on a thread with a 1 MiB stack, smaller than any thread a server runs them on, and
//! must never panic nor overflow the stack, whatever it is fed:
//!
//! - JSONPath (`Path::parse`, then `select` on what it accepts);
//! - reference paths (`Path::parse_reference`, then `write` and `select`);
//! - intrinsic calls (`Intrinsic::parse`, then `eval`);
//! - whole definitions (`parse_value`, `parse_text`), with states, Choice rules and
//!   templates nested past the definition's depth bound.
//!
//! (JSONata is fuzzed the same way in `shared/jsonata/tests/fuzz.rs`.) A stack overflow
//! aborts the process before proptest can report the input: `FUZZ_TRACE=FILE` writes each
//! input to FILE before it runs.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};
use waymark_asl::env::{Env, NoVariables, SeededRandom};
use waymark_asl::intrinsics::Intrinsic;
use waymark_asl::parse::{parse_text, parse_value, ParseOptions};
use waymark_asl::path::Path;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

/// Runs the strategy `make` builds through `check` for [`cases`] inputs, each on a thread
/// with a 1 MiB stack (the generator, whose recursive strategies nest deeply, runs on a
/// larger one); prints how many ran, so that a long hunt reports its size.
fn fuzz<S>(name: &'static str, make: fn() -> S, check: fn(S::Value))
where
    S: Strategy + 'static,
    S::Value: std::fmt::Debug + Clone + Send + 'static,
{
    let ran = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let mut runner = TestRunner::new(Config {
                cases: cases(),
                failure_persistence: None,
                ..Config::default()
            });
            let ran = std::cell::Cell::new(0u32);
            runner
                .run(&make(), |v| {
                    ran.set(ran.get() + 1);
                    if let Ok(trace) = std::env::var("FUZZ_TRACE") {
                        // The input about to run, for a crash that proptest cannot report.
                        let _ = std::fs::write(trace, format!("{v:?}"));
                    }
                    std::thread::Builder::new()
                        .stack_size(1 << 20)
                        .spawn(move || check(v))
                        .expect("thread")
                        .join()
                        .map_err(|_| TestCaseError::fail("panicked"))
                })
                .map(|()| ran.get())
                .map_err(|e| e.to_string())
        })
        .expect("thread")
        .join()
        .expect("the generator does not panic");
    match ran {
        Ok(n) => println!("{name}: {n} inputs, no panic"),
        Err(e) => panic!("{name}: {e}"),
    }
}

/// `s` with `junk` spliced in at `at` (a fraction of its length).
fn splice(s: &str, junk: &str, at: f64) -> String {
    let chars: Vec<char> = s.chars().collect();
    let i = ((chars.len() as f64) * at) as usize;
    chars[..i.min(chars.len())]
        .iter()
        .chain(junk.chars().collect::<Vec<_>>().iter())
        .chain(chars[i.min(chars.len())..].iter())
        .collect()
}

fn junk() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        1 => "[\\[\\]().?@$!=<>&|'\" *:,-]{1,4}",
        1 => "\\PC{1,3}",
    ]
}

// ---------------------------------------------------------------------------------------------
// JSONPath
// ---------------------------------------------------------------------------------------------

/// A filter condition, nested through `inner` (a path that may hold filters itself).
fn condition(inner: BoxedStrategy<String>) -> BoxedStrategy<String> {
    let value = prop_oneof![
        Just("1".to_string()),
        Just("-2.5e3".to_string()),
        Just("'x'".to_string()),
        Just("\"y\"".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("@".to_string()),
        Just("@.a".to_string()),
        Just("$.n".to_string()),
        Just("Receipt".to_string()),
        Just("@.[0]".to_string()),
    ];
    let op = prop::sample::select(&["==", "!=", "<", "<=", ">", ">=", "=~", "in", " "][..]);
    prop_oneof![
        2 => inner.clone().prop_map(|p| format!("@{p}")),
        1 => inner.clone().prop_map(|p| format!("!@{p}")),
        2 => (value.clone(), op, value).prop_map(|(a, o, b)| format!("{a} {o} {b}")),
        1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("@{a} && @{b}")),
        1 => (inner.clone(), inner).prop_map(|(a, b)| format!("(@{a}) || !(@{b})")),
    ]
    .boxed()
}

/// Steps after the root: names, indices, slices, unions, wildcards, deep scans and filters,
/// recursively (filters inside filters).
fn steps() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        4 => "[a-c]{1,3}".prop_map(|n| format!(".{n}")),
        1 => "[a-z0-9:-]{1,200}".prop_map(|n| format!(".{n}")),
        2 => "[a-c ',.\\]\\[]{0,4}".prop_map(|n| format!("['{}']", n.replace('\'', "\\'"))),
        2 => (-3i64..4).prop_map(|i| format!("[{i}]")),
        1 => Just("[*]".to_string()),
        1 => Just(".*".to_string()),
        1 => Just("..a".to_string()),
        1 => Just("[1:3:1]".to_string()),
        1 => Just("['a','b']".to_string()),
        1 => Just("[0,1]".to_string()),
        1 => Just(".[0]".to_string()),
        1 => Just(".['a','b']".to_string()),
        1 => Just(".[*]".to_string()),
        1 => Just(".[".to_string()),
        1 => Just(String::new()),
    ];
    leaf.prop_recursive(24, 200, 4, |inner| {
        prop_oneof![
            3 => prop::collection::vec(inner.clone(), 1..4).prop_map(|s| s.concat()),
            2 => condition(inner.clone()).prop_map(|c| format!("[?({c})]")),
            1 => condition(inner).prop_map(|c| format!(".[?({c})]")),
        ]
    })
    .boxed()
}

/// Paths from the grammar, nested ones past the bound, very long ones, and junk.
fn any_path() -> impl Strategy<Value = String> {
    let root = prop::sample::select(&["$", "$$", "$v", "$", "@", ""][..]);
    let grammar = (root, steps(), junk(), 0.0..1.0f64)
        .prop_map(|(r, s, j, at)| splice(&format!("{r}{s}"), &j, at));
    let deep = (
        prop::sample::select(&["[?(@.a", "[?(!(@.a", "[?((", "['a'][?(@", "[?(@.a[0]"][..]),
        prop::sample::select(&[")]", "))]", "))", ")]]", ""][..]),
        0usize..300,
    )
        .prop_map(|(open, close, n)| format!("${}{}", open.repeat(n), close.repeat(n)));
    let long = (1usize..20_000).prop_map(|n| format!("${}", ".a[0]".repeat(n)));
    prop_oneof![6 => grammar, 2 => deep, 1 => long]
}

fn document() -> Value {
    json!({"a": [{"a": [{"a": 1, "b": "x"}], "n": 3}, {"a": 2}], "n": 2, "b": {"a": [1, 2, 3]}})
}

#[test]
fn jsonpath_parse_and_select_never_panic() {
    fuzz("JSONPath", any_path, |src| {
        if let Ok(p) = Path::parse(&src) {
            assert_eq!(p.source(), src);
            let _ = p.select(&document());
        }
    });
}

#[test]
fn reference_paths_parse_write_and_select_never_panic() {
    fn path() -> impl Strategy<Value = String> {
        let step = prop_oneof![
            3 => "[a-c]{1,2}".prop_map(|n| format!(".{n}")),
            1 => "[a-c ./~'\\\\]{0,6}".prop_map(|n| format!("['{}']", n.replace('\'', "\\'"))),
            2 => (-3i64..4).prop_map(|i| format!("[{i}]")),
            1 => Just("[99999999999999999999]".to_string()),
        ];
        (prop::collection::vec(step, 0..2_000), junk(), 0.0..1.0f64)
            .prop_map(|(steps, j, at)| splice(&format!("${}", steps.concat()), &j, at))
    }
    fuzz("reference paths", path, |src| {
        if let Ok(p) = Path::parse_reference(&src) {
            let mut doc = document();
            if p.write(&mut doc, json!("w")).is_ok() {
                assert_eq!(
                    p.select(&doc).unwrap().map(|c| c.into_owned()),
                    Some(json!("w"))
                );
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Intrinsic functions
// ---------------------------------------------------------------------------------------------

const CALLS: &[&str] = &[
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
];

fn intrinsic_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        2 => "[a-z{},' ]{0,12}".prop_map(|s| format!("'{}'", s.replace('\'', "\\'"))),
        1 => "x{0,3000}".prop_map(|s| format!("'{s}'")),
        2 => prop::sample::select(&["1", "-1", "0", "2.5", "1e308", "1000", "true", "null"][..])
            .prop_map(str::to_string),
        3 => prop::sample::select(&["$", "$.s", "$.a", "$.b.a", "$.a[*].a", "$$.x", "$v"][..])
            .prop_map(str::to_string),
        1 => any_path(),
    ];
    let call = leaf.prop_recursive(14, 120, 4, |inner| {
        (
            prop::sample::select(CALLS),
            prop::collection::vec(inner, 0..5),
        )
            .prop_map(|(f, args)| format!("{f}({})", args.join(", ")))
    });
    let deep = (prop::sample::select(CALLS), 0usize..3_000)
        .prop_map(|(f, n)| format!("{}1{}", format!("{f}(").repeat(n), ")".repeat(n)));
    let grammar = (call, junk(), 0.0..1.0f64).prop_map(|(c, j, at)| splice(&c, &j, at));
    prop_oneof![6 => grammar, 1 => deep]
}

#[test]
fn intrinsics_parse_and_evaluate_never_panic() {
    fuzz("intrinsics", intrinsic_text, |src| {
        if let Ok(call) = Intrinsic::parse(&src) {
            let input = json!({"s": "a,b;c", "a": [1, 2, {"a": 3}], "b": {"a": [1]}});
            let (context, random) = (json!({"x": 1}), SeededRandom::new(7));
            let env = Env {
                input: &input,
                context: &context,
                vars: &NoVariables,
                random: &random,
            };
            let _ = call.eval(&env);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------------------------

/// A value nested `n` deep, built without recursion.
fn nest(n: usize, leaf: Value, wrap: fn(Value) -> Value) -> Value {
    (0..n).fold(leaf, |v, _| wrap(v))
}

fn obj(k: &str, v: Value) -> Value {
    Value::Object(std::iter::once((k.to_string(), v)).collect())
}

fn object(members: Vec<(&str, Value)>) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// A graph of one state `name` (not `json!`, which would copy a deep value recursively).
fn graph(name: &str, state: Value) -> Value {
    object(vec![
        ("StartAt", json!(name)),
        ("States", object(vec![(name, state)])),
    ])
}

/// Definitions whose states, branches, Choice rules and templates nest deep, some past the
/// definition's bound of 128, with paths and intrinsics from the fuzzers above inside.
/// (At most about 300 levels: deeper, the test's own `to_string` and drop, which recurse,
/// would need more than this thread's stack.)
fn deep_definition() -> impl Strategy<Value = Value> {
    (
        0usize..150,
        any_path(),
        intrinsic_text(),
        prop::sample::select(&["Not", "And", "Parallel", "Map", "Parameters"][..]),
    )
        .prop_map(|(n, path, call, kind)| {
            let rule = json!({"Variable": path, "IsPresent": true});
            let pass = |extra: Vec<(&str, Value)>| {
                let mut members = vec![("Type", json!("Pass")), ("End", json!(true))];
                members.extend(extra);
                graph("S", object(members))
            };
            match kind {
                "Not" | "And" => {
                    let body = if kind == "Not" {
                        nest(2 * n, rule, |v| obj("Not", v))
                    } else {
                        nest(n, rule, |v| obj("And", Value::Array(vec![v])))
                    };
                    let mut choice = body.as_object().cloned().unwrap_or_default();
                    choice.insert("Next".into(), json!("D"));
                    let mut states = Map::new();
                    states.insert(
                        "C".into(),
                        object(vec![
                            ("Type", json!("Choice")),
                            ("Choices", Value::Array(vec![Value::Object(choice)])),
                            ("Default", json!("D")),
                        ]),
                    );
                    states.insert("D".into(), json!({"Type": "Succeed"}));
                    object(vec![
                        ("StartAt", json!("C")),
                        ("States", Value::Object(states)),
                    ])
                }
                "Parallel" => nest(n / 3, pass(vec![]), |g| {
                    graph(
                        "P",
                        object(vec![
                            ("Type", json!("Parallel")),
                            ("Branches", Value::Array(vec![g])),
                            ("End", json!(true)),
                        ]),
                    )
                }),
                "Map" => nest(n / 3, pass(vec![]), |g| {
                    graph(
                        "M",
                        object(vec![
                            ("Type", json!("Map")),
                            ("ItemProcessor", g),
                            ("End", json!(true)),
                        ]),
                    )
                }),
                _ => {
                    let t = nest(
                        2 * n,
                        object(vec![("x.$", json!(call)), ("y.$", json!(path))]),
                        |v| Value::Array(vec![v]),
                    );
                    pass(vec![("Parameters", obj("p", t))])
                }
            }
        })
}

#[test]
fn definitions_parse_never_panics_and_points_inside_the_definition() {
    fuzz("definitions", deep_definition, |def| {
        let result = parse_value(&def, &ParseOptions::default());
        if let Err(diags) = &result {
            for d in diags {
                let ptr = if d.path == "/" { "" } else { d.path.as_str() };
                assert!(
                    def.pointer(ptr).is_some(),
                    "{} points nowhere: {}",
                    d.path,
                    d.message
                );
            }
        }
        // And as text, where serde_json's own limit applies first.
        let _ = parse_text(&def.to_string(), &ParseOptions::default());
    });
}

/// The deepest Choice rules the depth bound lets through (Not and And nested to just under
/// it, with a path nesting filters as deep as paths may at the bottom), parsed on the
/// fuzzers' 1 MiB stack: the random inputs above reach this edge only now and then, and a
/// debug build's frames come close to it.
#[test]
fn the_deepest_choice_rules_parse_on_a_small_stack() {
    for kind in ["Not", "And"] {
        let mut found_edge = false;
        for n in (100..130).rev() {
            // At the bottom, a path nesting filters as deep as a path may (2 levels each).
            let filters = waymark_asl::path::MAX_NESTING / 2;
            let deep_path = format!("${}{}", "[?(@.a".repeat(filters), ")]".repeat(filters));
            assert!(Path::parse(&deep_path).is_ok(), "{deep_path}");
            let rule = json!({"Variable": deep_path, "IsPresent": true});
            let body = if kind == "Not" {
                nest(n, rule, |v| obj("Not", v))
            } else {
                nest(n / 2, rule, |v| obj("And", Value::Array(vec![v])))
            };
            let mut choice = body.as_object().cloned().unwrap_or_default();
            choice.insert("Next".into(), json!("D"));
            let def = json!({"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [Value::Object(choice)], "Default": "D"},
                "D": {"Type": "Succeed"}}});
            let ok = std::thread::Builder::new()
                .stack_size(1 << 20)
                // Past the depth check: every rule was parsed (the path itself is refused, as
                // Variable takes reference paths only, but only after it was parsed).
                .spawn(move || match parse_value(&def, &ParseOptions::default()) {
                    Ok(_) => true,
                    Err(diags) => diags.iter().all(|d| !d.message.contains("nests arrays")),
                })
                .expect("thread")
                .join()
                .expect("no panic");
            if ok {
                found_edge = true;
                break;
            }
        }
        assert!(found_edge, "{kind}: some depth under the bound parses");
    }
}
