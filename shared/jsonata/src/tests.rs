//! The Step Functions rules (AWS's extra functions, `$eval` refused, host
//! time and entropy, limits) written down as tests; plain JSONata behaviour
//! is covered by the reference suite in `tests/suite.rs`.

use super::*;
use serde_json::json;

const NOW: i64 = 1_700_000_000_123; // 2023-11-14T22:13:20.123Z

fn host() -> FixedHost {
    FixedHost::new(NOW, 42)
}

fn eval(src: &str) -> Result<Option<Value>, JsonataError> {
    Expression::parse(src)?.evaluate(&json!({}), &Map::new(), &host())
}

fn ok(src: &str) -> Value {
    match eval(src) {
        Ok(Some(v)) => v,
        other => panic!("{src}: expected a value, got {other:?}"),
    }
}

fn err(src: &str) -> JsonataError {
    match eval(src) {
        Err(e) => e,
        other => panic!("{src}: expected an error, got {other:?}"),
    }
}

// ---- $eval ---------------------------------------------------------------

#[test]
fn eval_is_refused_in_every_position() {
    for src in [
        "$eval('1 + 1')",
        "$eval('[1,2]', {})",
        "($f := $eval; $f('1'))",
        "$map(['1'], $eval)",
        "'1' ~> $eval",
    ] {
        let e = err(src);
        assert_eq!(e.kind, ErrorKind::Unsupported, "{src}: {e}");
        assert!(e.message.contains("$parse"), "{src}: {e}");
    }
}

#[test]
fn a_user_function_named_eval_is_still_allowed() {
    assert_eq!(ok("($eval := function($x){$x * 2}; $eval(21))"), json!(42));
}

// ---- $partition ----------------------------------------------------------

#[test]
fn partition_chunks_with_a_shorter_last_chunk() {
    assert_eq!(
        ok("$partition([1,2,3,4,5,6,7,8,9], 3)"),
        json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    );
    assert_eq!(
        ok("$partition([1,2,3,4,5], 2)"),
        json!([[1, 2], [3, 4], [5]])
    );
    assert_eq!(ok("$partition([1,2], 5)"), json!([[1, 2]]));
    assert_eq!(ok("$partition([], 2)"), json!([]));
}

#[test]
fn partition_treats_a_single_value_as_a_one_item_array() {
    assert_eq!(ok("$partition('a', 2)"), json!([["a"]]));
}

#[test]
fn partition_of_nothing_is_nothing() {
    assert_eq!(eval("$partition(missing, 2)"), Ok(None));
}

#[test]
fn partition_size_must_be_a_positive_integer() {
    for src in [
        "$partition([1], 0)",
        "$partition([1], -1)",
        "$partition([1], 1.5)",
        "$partition([1], '2')",
        "$partition([1])",
    ] {
        assert_eq!(err(src).code.as_deref(), Some("T0410"), "{src}");
    }
}

// ---- $range --------------------------------------------------------------

#[test]
fn range_includes_the_end_when_a_step_lands_on_it() {
    assert_eq!(ok("$range(0, 10, 2)"), json!([0, 2, 4, 6, 8, 10]));
    assert_eq!(ok("$range(1, 10, 4)"), json!([1, 5, 9]));
    assert_eq!(ok("$range(1, 3)"), json!([1, 2, 3]));
    assert_eq!(ok("$range(5, 5, 1)"), json!([5]));
}

#[test]
fn range_counts_down_with_a_negative_step() {
    assert_eq!(ok("$range(10, 0, -5)"), json!([10, 5, 0]));
}

#[test]
fn range_in_the_wrong_direction_is_empty() {
    assert_eq!(ok("$range(0, 10, -1)"), json!([]));
}

#[test]
fn range_rejects_a_zero_step_and_huge_ranges() {
    assert_eq!(err("$range(0, 10, 0)").code.as_deref(), Some("T0410"));
    assert_eq!(err("$range(0, 1e8, 1)").code.as_deref(), Some("D2014"));
    assert_eq!(err("$range('a', 2, 1)").code.as_deref(), Some("T0410"));
}

// ---- $hash ---------------------------------------------------------------

#[test]
fn hash_supports_the_five_algorithms_in_lowercase_hex() {
    let cases = [
        ("MD5", "900150983cd24fb0d6963f7d28e17f72"),
        ("SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (
            "SHA-256",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "SHA-384",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            "SHA-512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];
    for (algorithm, digest) in cases {
        assert_eq!(ok(&format!("$hash('abc', '{algorithm}')")), json!(digest));
    }
}

#[test]
fn hash_hashes_utf8_bytes() {
    assert_eq!(
        ok("$hash('é', 'MD5')"),
        json!("66ddcd97cfdeabb2f6fb8a999b4bc76f")
    );
    assert_eq!(
        ok("$hash('héllo wörld', 'SHA-256')"),
        json!("a1003f7d04a4115711d0b48a2eaf1359ce565d2d2a6fd65098dfcffadeeef59f")
    );
}

#[test]
fn hash_rejects_unknown_algorithms_and_non_strings() {
    assert_eq!(err("$hash('abc', 'sha256')").code.as_deref(), Some("T0410"));
    assert_eq!(err("$hash('abc', 'CRC32')").code.as_deref(), Some("T0410"));
    assert_eq!(err("$hash(1, 'MD5')").code.as_deref(), Some("T0410"));
}

#[test]
fn hash_of_nothing_is_nothing() {
    assert_eq!(eval("$hash(missing, 'MD5')"), Ok(None));
}

// ---- $random -------------------------------------------------------------

#[test]
fn random_is_in_unit_interval_and_varies_within_an_evaluation() {
    let v = ok("[$random(), $random(), $random()]");
    let nums: Vec<f64> = v
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    assert_eq!(nums.len(), 3);
    assert!(nums.iter().all(|n| (0.0..1.0).contains(n)));
    assert!(nums[0] != nums[1] || nums[1] != nums[2]);
}

#[test]
fn random_follows_the_host_entropy() {
    let expr = Expression::parse("$random()").unwrap_or_else(|e| panic!("{e}"));
    let run = |seed| expr.evaluate(&json!(null), &Map::new(), &FixedHost::new(0, seed));
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn random_with_a_seed_is_repeatable() {
    assert_eq!(ok("$random(7) = $random(7)"), json!(true));
    assert_eq!(ok("$random(7) = $random(7.0)"), json!(true));
    assert_eq!(ok("$random(7) = $random(8)"), json!(false));
    let seeded = ok("$random(12345)");
    assert!(seeded.as_f64().is_some_and(|n| (0.0..1.0).contains(&n)));
    // Independent of the host: another host, another evaluation, same value.
    let again = Expression::parse("$random(12345)")
        .and_then(|e| e.evaluate(&json!(null), &Map::new(), &FixedHost::new(5, 99)));
    assert_eq!(again, Ok(Some(seeded)));
}

#[test]
fn random_rejects_a_non_numeric_seed() {
    assert_eq!(err("$random('x')").code.as_deref(), Some("T0410"));
}

// ---- $uuid ---------------------------------------------------------------

#[test]
fn uuid_is_a_lowercase_version_4_uuid() {
    let v = ok("$uuid()");
    let s = v.as_str().unwrap_or_default();
    assert_eq!(s.len(), 36, "{s}");
    let groups: Vec<&str> = s.split('-').collect();
    assert_eq!(
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(s
        .chars()
        .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)));
    assert!(groups[2].starts_with('4'));
    assert!(matches!(
        groups[3].chars().next(),
        Some('8' | '9' | 'a' | 'b')
    ));
}

#[test]
fn uuids_differ_within_an_evaluation() {
    assert_eq!(ok("$uuid() = $uuid()"), json!(false));
}

// ---- $parse --------------------------------------------------------------

#[test]
fn parse_reads_any_json_value_keeping_key_order() {
    assert_eq!(
        ok(r#"$parse('{"z": 1, "a": [true, null]}')"#),
        json!({"z": 1, "a": [true, null]})
    );
    assert_eq!(ok("$parse('3.5')"), json!(3.5));
    assert_eq!(ok(r#"$parse('"x"')"#), json!("x"));
    assert_eq!(
        ok(r#"$keys($parse('{"b": 1, "a": 2}'))"#),
        json!(["b", "a"])
    );
}

#[test]
fn parse_rejects_invalid_json() {
    let e = err("$parse('{not json}')");
    assert_eq!(e.kind, ErrorKind::Evaluation);
    assert!(e.message.contains("not valid JSON"), "{e}");
    assert_eq!(err("$parse('NaN')").kind, ErrorKind::Evaluation);
    assert_eq!(err("$parse(1)").code.as_deref(), Some("T0410"));
}

#[test]
fn parse_of_nothing_is_nothing() {
    assert_eq!(eval("$parse(missing)"), Ok(None));
}

// ---- host time -----------------------------------------------------------

#[test]
fn now_and_millis_read_the_host_clock_once() {
    assert_eq!(ok("$millis()"), json!(NOW));
    assert_eq!(ok("$now()"), json!("2023-11-14T22:13:20.123Z"));
    assert_eq!(ok("$now() = $now()"), json!(true));
}

#[test]
fn now_formats_with_picture_and_timezone() {
    assert_eq!(ok("$now('[Y0001]-[M01]-[D01]')"), json!("2023-11-14"));
    assert_eq!(ok("$now('[H01]:[m01]', '+0100')"), json!("23:13"));
    assert_eq!(err("$now(1)").code.as_deref(), Some("T0410"));
}

#[test]
fn shuffle_uses_host_entropy_and_keeps_the_items() {
    let expr = Expression::parse("$shuffle([1,2,3,4,5,6,7,8])").unwrap_or_else(|e| panic!("{e}"));
    let run = |seed| expr.evaluate(&json!(null), &Map::new(), &FixedHost::new(0, seed));
    assert_eq!(run(3), run(3));
    let shuffled = run(3).ok().flatten().unwrap_or_default();
    let mut items: Vec<i64> = shuffled
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    items.sort_unstable();
    assert_eq!(items, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(ok("$shuffle([1])"), json!([1]));
    assert_eq!(eval("$shuffle(missing)"), Ok(None));
}

// ---- the API -------------------------------------------------------------

#[test]
fn bindings_are_variables_with_or_without_dollar() {
    let mut bindings = Map::new();
    bindings.insert("states".into(), json!({"input": {"n": 2}}));
    bindings.insert("$total".into(), json!(40));
    let expr = Expression::parse("$states.input.n + $total").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        expr.evaluate(&json!(null), &bindings, &host()),
        Ok(Some(json!(42)))
    );
}

#[test]
fn undefined_results_and_inputs() {
    assert_eq!(eval("nothing.here"), Ok(None));
    let expr = Expression::parse("$").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(expr.evaluate_input(None, &Map::new(), &host()), Ok(None));
}

#[test]
fn results_keep_key_order_and_integers() {
    assert_eq!(
        ok("{'z': 1, 'a': 2.0, 'm': 0.5}").to_string(),
        r#"{"z":1,"a":2,"m":0.5}"#
    );
}

#[test]
fn syntax_errors_carry_codes() {
    let e = Expression::parse("Account.Order[0").err();
    assert!(
        matches!(&e, Some(e) if e.kind == ErrorKind::Syntax && e.code.is_some()),
        "{e:?}"
    );
    let e = Expression::parse("1 /* open").err();
    assert_eq!(e.and_then(|e| e.code), Some("S0106".to_owned()));
}

#[test]
fn evaluation_errors_carry_codes() {
    let e = err("1 + 'a'");
    assert_eq!(e.kind, ErrorKind::Evaluation);
    assert_eq!(e.code.as_deref(), Some("T2002"));
    let e = err("$error('boom')");
    assert_eq!(e.code.as_deref(), Some("D3137"));
    assert_eq!(e.message, "boom");
}

#[test]
fn runaway_recursion_is_a_limit_error() {
    let e = err("($f := function($n){ $n + $f($n + 1) }; $f(0))");
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert_eq!(e.code.as_deref(), Some("U1001"));
}

#[test]
fn infinite_loops_hit_the_time_limit() {
    let limits = Limits {
        timeout: Some(Duration::from_millis(200)),
        ..Limits::default()
    };
    let expr = Expression::parse("($f := function(){ $f() }; $f())")
        .map(|e| e.with_limits(limits))
        .unwrap_or_else(|e| panic!("{e}"));
    let e = expr.evaluate(&json!(null), &Map::new(), &host()).err();
    assert!(matches!(&e, Some(e) if e.kind == ErrorKind::Limit), "{e:?}");
}

#[test]
fn huge_sequences_hit_the_sequence_limit() {
    let limits = Limits {
        max_sequence_length: Some(1000),
        ..Limits::default()
    };
    let expr = Expression::parse("[1..5000].($ * 2)")
        .map(|e| e.with_limits(limits))
        .unwrap_or_else(|e| panic!("{e}"));
    let e = expr.evaluate(&json!(null), &Map::new(), &host()).err();
    assert!(matches!(&e, Some(e) if e.kind == ErrorKind::Limit), "{e:?}");
}

#[test]
fn expressions_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Expression>();
    assert_send_sync::<JsonataError>();
}

#[test]
fn hostile_expressions_fail_cleanly() {
    let deep =
        |open: &str, close: &str, n: usize| format!("{}1{}", open.repeat(n), close.repeat(n));
    for src in [
        deep("(", ")", 50_000),
        deep("[", "]", 50_000),
        deep("{'a':", "}", 20_000),
        deep("-", "", 50_000),
        "a.".repeat(20_000) + "b",
    ] {
        let e = Expression::parse(&src).err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Syntax));
    }
    for src in [
        "$".repeat(10_000),
        "/(a+)+$/".to_owned(),
        "$reduce([1..100000], function($acc, $v){ [$acc] }, [])".to_owned(),
        "$string($reduce([1..20000], function($acc, $v){ {'a': $acc} }, {}))".to_owned(),
    ] {
        let expr = Expression::parse(&src).unwrap_or_else(|e| panic!("{e}"));
        let _ = expr.evaluate(&json!({"a": 1}), &Map::new(), &host());
    }
}

// ---- sizes: what one evaluation may build ---------------------------------

/// An error for exceeding one of the size limits, with its code.
fn limit(src: &str) -> String {
    let e = err(src);
    assert_eq!(e.kind, ErrorKind::Limit, "{src}: {e}");
    assert!(
        matches!(e.code.as_deref(), Some("U1010" | "D2015")),
        "{src}: {e}"
    );
    e.to_string()
}

#[test]
fn one_call_cannot_allocate_gigabytes() {
    // Each of these allocated from hundreds of megabytes to gigabytes (or took the
    // process down) before the limits; now each is refused before it allocates.
    for (src, says) in [
        ("$length($pad('', 1000000000, 'a'))", "$pad would be larger"),
        ("'x' ~> $pad(-1000000000)", "$pad would be larger"),
        (
            "$states ~> |$| {}| ~> $string() ~> $pad(2000000)",
            "$pad would be larger",
        ),
        (
            "$replace($pad('', 100000, 'a'), 'a', $pad('', 100000, 'b'))",
            "$replace would be larger",
        ),
        (
            "$replace($pad('', 100000, 'a'), /a/, $pad('', 100000, 'b'))",
            "$replace would be larger",
        ),
        (
            "$join($map([1..100000], function($v){'x'}), $pad('', 100000, '-'))",
            "$join would be larger",
        ),
        (
            "($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; $f('x', 40))",
            "'&' would be larger",
        ),
        (
            "$string($reduce([1..40], function($a, $i){ {'a': $a, 'b': $a} }, {}))",
            "$string would be larger",
        ),
        (
            "$reduce([1..40], function($a, $i){ {'a': $a, 'b': $a} }, {})",
            "result is larger",
        ),
        (
            "$count($reduce([1..30], function($a, $i){ [$a, $a] }, [1]))",
            "maximum sequence length",
        ),
        ("[1..2000000] ~> $count()", "maximum sequence length"),
        ("$range(1, 1e7) ~> $count()", "maximum sequence length"),
        (
            "$count([1..1000000].([1..1000]))",
            "more than 67108864 bytes",
        ),
        (
            "$count($map([1..100000], function($v){ [1..1000] }))",
            "more than 67108864 bytes",
        ),
        (
            "$count([1..100000].{'a': [1..1000]})",
            "more than 67108864 bytes",
        ),
        (
            "$count($map([1..1000], function($v){ $pad('', 100000, 'x') }))",
            "more than 67108864 bytes",
        ),
    ] {
        let shown = limit(src);
        assert!(shown.contains(says), "{src}: {shown}");
    }
}

#[test]
fn ranges_with_huge_bounds_are_refused() {
    // The evaluator computes a range's length in 64-bit integers: these overflowed (a
    // panic in a debug build, an endless loop filling memory in a release build).
    for src in [
        "[-1e300..1e300]",
        "[-9.3e18..9.3e18] ~> $count()",
        "[0..1e19]",
    ] {
        let e = err(src);
        assert_eq!(e.code.as_deref(), Some("D2014"), "{src}: {e}");
    }
    assert_eq!(ok("[-2..2]"), json!([-2, -1, 0, 1, 2]));
    assert_eq!(
        ok("[9007199254740990..9007199254740991] ~> $count()"),
        json!(2)
    );
}

#[test]
fn results_nested_too_deep_are_refused_not_a_stack_overflow() {
    // A 100,000-deep object took the process down where the result was written out.
    let shown = limit("$reduce([1..100000], function($a, $x){ {'a': $a} }, {})");
    assert!(shown.contains("more than 128 deep"), "{shown}");
    assert_eq!(
        ok("$reduce([1..100], function($a, $x){ {'a': $a} }, {}).a.a.a.a ~> $type()"),
        json!("object")
    );
}

#[test]
fn guarded_calls_keep_their_meaning() {
    // The rewrite that checks sizes must not change what these functions return,
    // including where the context fills in the first argument.
    assert_eq!(ok("$pad('x', 3)"), json!("x  "));
    assert_eq!(ok("$pad('x', -3, '#')"), json!("##x"));
    assert_eq!(ok("['ab', 'c'].$pad(3)"), json!(["ab ", "c  "]));
    assert_eq!(ok("'abc' ~> $pad(5, '.')"), json!("abc.."));
    assert_eq!(ok("$replace('a-b-c', '-', '+', 1)"), json!("a+b-c"));
    assert_eq!(ok("['a-b'].$replace('-', '+')"), json!("a+b"));
    assert_eq!(ok("$join(['a', 'b'], ', ')"), json!("a, b"));
    assert_eq!(ok("['a', 'b'] ~> $join()"), json!("ab"));
    assert_eq!(ok("$string({'a': [1, 2]})"), json!("{\"a\":[1,2]}"));
    assert_eq!(ok("[{'a': 1}].$string()"), json!("{\"a\":1}"));
    assert_eq!(
        ok("'a' & 1 & null & true & [1, 'x'] & {'k': 2} & $nothing"),
        json!("a1nulltrue[1,\"x\"]{\"k\":2}")
    );
    assert_eq!(ok("$split('a,b', ',')"), json!(["a", "b"]));
    assert_eq!(ok("$append([1], [2, 3])"), json!([1, 2, 3]));
    assert_eq!(
        ok("[1, [2, [3]], {'a': [4]}]"),
        json!([1, [2, [3]], {"a": [4]}])
    );
    assert_eq!(ok("$map([1, 2], $string)"), json!(["1", "2"]));
    // A function has no text: `&` leaves it out, as before.
    assert_eq!(ok("'a' & $string"), json!("a"));
}

#[test]
fn size_limits_are_part_of_limits() {
    // Within the limits, big is fine: a 1 MiB string, 10^6 items, 60 MiB built in all.
    assert_eq!(ok("$length($pad('', 1048576, 'a'))"), json!(1_048_576));
    assert_eq!(ok("[1..1000000] ~> $count()"), json!(1_000_000));
    assert_eq!(
        ok("$count($map([1..60], function($v){ $pad('', 1000000, 'x') }))"),
        json!(60)
    );
    // And the limits are the caller's to set.
    let relaxed = Limits {
        max_value_bytes: Some(4 << 20),
        ..Limits::default()
    };
    let expr = Expression::parse("$length($pad('', 2000000, 'a'))")
        .unwrap()
        .with_limits(relaxed);
    assert_eq!(
        expr.evaluate(&json!(null), &Map::new(), &host()),
        Ok(Some(json!(2_000_000)))
    );
    let none = Limits {
        max_value_bytes: None,
        max_allocated_bytes: None,
        ..Limits::default()
    };
    let expr = Expression::parse("$length($pad('', 3000000, 'a'))")
        .unwrap()
        .with_limits(none);
    assert_eq!(
        expr.evaluate(&json!(null), &Map::new(), &host()),
        Ok(Some(json!(3_000_000)))
    );
}

// ---- sequences of one ------------------------------------------------------

/// JSONata 2.0.6 unwraps a result *sequence* of one item to the item, but keeps an *array*
/// (from the input, a constructor, or a function that returns an array) as it is; AWS runs
/// JSONata, so a Step Functions field gets the same shape. Sequence makers: `$filter`, `$map`,
/// `$keys`, `$lookup`, `$each`, `$spread`, predicates and path steps over several values.
/// Array makers: `[…]`, `$append`, `$sort`, `$reverse`, `$distinct` of an array, `$split`,
/// `$zip`, and AWS's `$range` and `$partition`, which return arrays.
#[test]
fn sequences_of_one_are_unwrapped_and_arrays_of_one_are_kept() {
    for (src, expected) in [
        ("$filter([1,2,3], function($v){$v=2})", json!(2)),
        ("$filter([[1]], function($v){true})", json!([1])),
        ("$map([1], function($v){$v*2})", json!(2)),
        ("$map([1,2], function($v){$v*2})", json!([2, 4])),
        ("$keys({'a':1})", json!("a")),
        ("$lookup([{'a':1}], 'a')", json!(1)),
        ("$each({'a':1}, function($v,$k){$k})", json!("a")),
        ("[1,2,3][$ = 2]", json!(2)),
        ("$range(1,3)[$ > 2]", json!(3)),
        (
            "{'r': $filter([1,2,3], function($v){$v=2})}",
            json!({"r": 2}),
        ),
        ("[$filter([1,2,3], function($v){$v=2})]", json!([2])),
        ("$append([1],[])", json!([1])),
        ("$sort([1])", json!([1])),
        ("$reverse([1])", json!([1])),
        ("$distinct([1,1])", json!([1])),
        ("$split('a', ',')", json!(["a"])),
        ("$zip([1],[2])", json!([[1, 2]])),
        ("$range(5, 5, 1)", json!([5])),
        ("$partition([1], 1)", json!([[1]])),
        ("$partition([1,2,3], 2)[1]", json!([3])),
        ("{'a':[1]}.a", json!([1])),
        ("{'a':[[1]]}.a", json!([[1]])),
        ("[{'n':'a'}].n", json!("a")),
    ] {
        assert_eq!(ok(src), expected, "{src}");
    }
}
