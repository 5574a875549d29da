//! Bounded fuzzing of JSONata parsing and evaluation with hostile shapes: expressions from
//! the grammar nested deep (past the parser's bound of 1,000), long ones, the functions that
//! can grow their output called with huge arguments, and all of it spliced with junk. Each
//! input is parsed and evaluated on a thread with a 1 MiB stack and must fail cleanly or
//! succeed: never panic (not even inside the evaluator, where panics are caught and turned
//! into an error), never overflow the stack, never outgrow the evaluation's limits.
//! `PROPTEST_CASES` sets how many inputs run (256 by default).

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map};
use waymark_jsonata::{Expression, FixedHost, Limits};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

/// Expressions from the grammar: literals, paths, variables, operators, constructors,
/// lambdas, blocks, conditionals and calls, recursively.
fn grammar() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        Just("1".to_string()),
        Just("-2.5e300".to_string()),
        Just("'text'".to_string()),
        Just("\"x\"".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("$".to_string()),
        Just("$states.input.a".to_string()),
        Just("a.b[0]".to_string()),
        Just("**".to_string()),
        Just("$v".to_string()),
        Just("[1..1000]".to_string()),
        Just("/a+/i".to_string()),
        "x{0,5000}".prop_map(|s| format!("'{s}'")),
        (0u32..2_000_000_000).prop_map(|n| n.to_string()),
    ];
    leaf.prop_recursive(16, 160, 4, |inner| {
        let two = (inner.clone(), inner.clone());
        let f = prop::sample::select(
            &[
                "$pad", "$replace", "$join", "$string", "$split", "$match", "$append", "$zip",
                "$formatNumber", "$formatBase", "$base64encode", "$uppercase", "$map", "$reduce",
                "$filter", "$sort", "$keys", "$merge", "$spread", "$each", "$lookup", "$range",
                "$partition", "$hash", "$parse", "$uuid", "$random", "$eval", "$count",
                "$length", "$substring", "$number", "$sum", "$distinct", "$reverse",
            ][..],
        );
        prop_oneof![
            3 => (f, prop::collection::vec(inner.clone(), 0..4))
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            2 => (two.clone(), prop::sample::select(&["&", "+", "*", "=", "<", "and", "..", "~>", "?:", "??"][..]))
                .prop_map(|((a, b), op)| format!("({a} {op} {b})")),
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            1 => two.clone().prop_map(|(k, v)| format!("{{{k}: {v}}}")),
            1 => inner.clone().prop_map(|b| format!("function($v, $i){{ {b} }}")),
            1 => two.clone().prop_map(|(a, b)| format!("($v := {a}; {b})")),
            1 => (inner.clone(), two).prop_map(|(c, (a, b))| format!("({c} ? {a} : {b})")),
            1 => inner.clone().prop_map(|a| format!("{a}[0]")),
            1 => inner.prop_map(|a| format!("{a}.{{'k': $}}")),
        ]
    })
    .boxed()
}

/// Whole inputs: the grammar with junk spliced in, nesting far past the parser's bound,
/// and the shapes that used to allocate gigabytes or overflow the stack.
fn expression() -> impl Strategy<Value = String> {
    let spliced = (
        grammar(),
        "[()\\[\\]{}$.,'\"&~>?:;|*%@#-]{0,3}",
        0.0..1.0f64,
    )
        .prop_map(|(e, junk, at)| {
            let chars: Vec<char> = e.chars().collect();
            let i = ((chars.len() as f64) * at) as usize;
            let mut out: String = chars[..i].iter().collect();
            out.push_str(&junk);
            out.extend(&chars[i..]);
            out
        });
    let deep = (
        prop::sample::select(
            &[
                ("(", ")"),
                ("[", "]"),
                ("{'a':", "}"),
                ("$string(", ")"),
                ("-", ""),
                ("$not(", ")"),
                ("function($x){", "}(1)"),
            ][..],
        ),
        0usize..3_000,
    )
        .prop_map(|((open, close), n)| format!("{}1{}", open.repeat(n), close.repeat(n)));
    let growing = (
        prop::sample::select(
            &[
                "$pad('', N, 'x')",
                "$pad('x', -N)",
                "$replace($pad('', 10000, 'a'), 'a', $pad('', N, 'b'))",
                "$join($map([1..N], function($v){'xy'}), ',')",
                "($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $f('x', N % 64))",
                "$reduce([1..N], function($a, $x){ {'a': $a} }, {})",
                "$reduce([1..(N % 64)], function($a, $x){ {'a': $a, 'b': $a} }, {}) ~> $string()",
                "$count($reduce([1..(N % 40)], function($a, $x){ [$a, $a] }, [1]))",
                "$count([1..N].([1..1000]))",
                "$range(0, N) ~> $count()",
                "$split($pad('', N % 2000000, 'a'), '')",
                "$match($pad('', N % 2000000, 'a'), /a/)",
            ][..],
        ),
        0u64..10_000_000_000,
    )
        .prop_map(|(shape, n)| shape.replace('N', &n.to_string()));
    prop_oneof![5 => spliced, 1 => deep, 2 => growing]
}

#[test]
fn jsonata_parse_and_evaluate_never_panic() {
    let ran = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let mut runner = TestRunner::new(Config {
                cases: cases(),
                failure_persistence: None,
                ..Config::default()
            });
            let ran = std::cell::Cell::new(0u32);
            runner
                .run(&expression(), |src| {
                    ran.set(ran.get() + 1);
                    std::thread::Builder::new()
                        .stack_size(1 << 20)
                        .spawn(move || {
                            let Ok(expr) = Expression::parse(&src) else {
                                return;
                            };
                            // A short time limit keeps the hunt quick; the size limits are
                            // the defaults.
                            let expr = expr.with_limits(Limits {
                                timeout: Some(Duration::from_millis(300)),
                                ..Limits::default()
                            });
                            let mut vars = Map::new();
                            vars.insert("v".into(), json!([1, {"a": "x"}]));
                            vars.insert("states".into(), json!({"input": {"a": [1, 2]}}));
                            // The evaluator's own panics are caught and reported as this
                            // error: a bug all the same.
                            if let Err(e) = expr.evaluate_input(None, &vars, &FixedHost::new(0, 1))
                            {
                                assert!(!e.message.contains("failed unexpectedly"), "{src}: {e}");
                            }
                        })
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
        Ok(n) => println!("JSONata: {n} inputs, no panic"),
        Err(e) => panic!("JSONata: {e}"),
    }
}
