use serde_json::json;

use super::*;

fn sel(path: &str, v: &serde_json::Value) -> Option<serde_json::Value> {
    Path::parse(path)
        .unwrap()
        .select(v)
        .unwrap()
        .map(|c| c.into_owned())
}

#[test]
fn reference_paths_read_values() {
    let v = json!({"a": {"b": [10, 20, {"c": "x"}]}, "delivery-partner": "UQS", "x y": 1});
    assert_eq!(sel("$", &v), Some(v.clone()));
    assert_eq!(sel("$.a.b[1]", &v), Some(json!(20)));
    assert_eq!(sel("$.a.b[-1].c", &v), Some(json!("x")));
    assert_eq!(sel("$['a']['b'][0]", &v), Some(json!(10)));
    assert_eq!(sel("$.delivery-partner", &v), Some(json!("UQS")));
    assert_eq!(sel("$.x y", &v), Some(json!(1)));
    assert_eq!(sel("$.a.missing", &v), None);
    assert_eq!(sel("$.a.b[7]", &v), None);
    assert_eq!(sel("$.a.b.c", &v), None);
}

#[test]
fn quoted_names_keep_backslashes_but_unescape_the_quote() {
    let v = json!({"Test\\\"\"Name\"": "ok", "it's": 2});
    assert_eq!(sel("$['Test\\\"\"Name\"']", &v), Some(json!("ok")));
    assert_eq!(sel("$['it\\'s']", &v), Some(json!(2)));
}

#[test]
fn indefinite_paths_always_yield_lists() {
    let v = json!({"items": [{"v": 1}, {"v": 2}, {"v": 3}], "o": {"k-1": {"v": 9}}});
    assert_eq!(sel("$.items[*].v", &v), Some(json!([1, 2, 3])));
    assert_eq!(sel("$.items[1:].v", &v), Some(json!([2, 3])));
    assert_eq!(sel("$.items[:1]", &v), Some(json!([{"v": 1}])));
    assert_eq!(sel("$.items[0,2].v", &v), Some(json!([1, 3])));
    assert_eq!(sel("$..v", &v), Some(json!([1, 2, 3, 9])));
    assert_eq!(sel("$.items[?(@.v > 1)].v", &v), Some(json!([2, 3])));
    assert_eq!(sel("$.o.*.v", &v), Some(json!([9])));
    assert_eq!(sel("$.missing[*]", &v), Some(json!([])));
    assert_eq!(sel("$[*]", &json!({})), Some(json!([])));
}

#[test]
fn filters_accept_jayway_member_names() {
    let v = json!({"xs": [{"dest-code": 1}, {"dest-code": 2}]});
    assert_eq!(
        sel("$.xs[?(@.dest-code == 2)]", &v),
        Some(json!([{"dest-code": 2}]))
    );
    assert_eq!(
        sel("$.xs[?(@['dest-code'] < 2 && @.dest-code >= 1)]", &v),
        Some(json!([{"dest-code": 1}]))
    );
}

#[test]
fn roots_are_recognised() {
    assert_eq!(
        Path::parse("$$.Execution.Id").unwrap().root(),
        &Root::Context
    );
    assert_eq!(
        Path::parse("$myVar.x").unwrap().root(),
        &Root::Variable("myVar".into())
    );
    assert_eq!(Path::parse("$.x").unwrap().root(), &Root::Input);
    assert_eq!(Path::parse("$").unwrap().root(), &Root::Input);
}

#[test]
fn malformed_paths_are_errors() {
    for bad in [
        "",
        "a.b",
        "$.",
        "$[",
        "$['a'",
        "$.a[?(@.b]",
        "$[x]",
        "$.a[1:2:0]",
        "$.a.length()",
    ] {
        assert!(Path::parse(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn writes_create_objects_on_the_way() {
    let mut v = json!({"a": 1});
    Path::parse("$.b.c")
        .unwrap()
        .write(&mut v, json!(2))
        .unwrap();
    assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
    Path::parse("$.a").unwrap().write(&mut v, json!(3)).unwrap();
    assert_eq!(v, json!({"a": 3, "b": {"c": 2}}));
    let mut arr = json!({"xs": [1, 2]});
    Path::parse("$.xs[1]")
        .unwrap()
        .write(&mut arr, json!("y"))
        .unwrap();
    assert_eq!(arr, json!({"xs": [1, "y"]}));
    let mut whole = json!(1);
    Path::parse("$")
        .unwrap()
        .write(&mut whole, json!({"k": true}))
        .unwrap();
    assert_eq!(whole, json!({"k": true}));
}

#[test]
fn writes_into_scalars_fail() {
    let mut v = json!({"a": "text"});
    assert!(Path::parse("$.a.b")
        .unwrap()
        .write(&mut v, json!(1))
        .is_err());
    assert!(Path::parse("$.a[0]")
        .unwrap()
        .write(&mut v, json!(1))
        .is_err());
    let mut s = json!("scalar");
    assert!(Path::parse("$.x").unwrap().write(&mut s, json!(1)).is_err());
}

/// `$` then `[?(@.a` n times, then `)]` n times: filters nested n deep.
fn nested_filter(n: usize) -> String {
    format!("${}{}", "[?(@.a".repeat(n), ")]".repeat(n))
}

/// Runs `f` on a thread with a small stack, so that a recursion the depth bound misses
/// overflows here rather than passing on the test runner's larger stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("no panic, no overflow")
}

#[test]
fn filters_keep_their_meaning() {
    let v = json!({
        "limit": 2,
        "xs": [
            {"n": 1, "tag": "a", "ok": true, "sub": [{"k": 1}]},
            {"n": 2, "tag": "b", "ok": false, "sub": []},
            {"n": 3, "tag": "c", "none": null, "sub": [{"k": 5}]},
            {"m": 4}
        ]
    });
    let n = |p: &str| {
        sel(p, &v)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.get("n").cloned().unwrap_or(json!(null)))
            .collect::<Vec<_>>()
    };
    assert_eq!(n("$.xs[?(@.n)]"), [json!(1), json!(2), json!(3)]);
    assert_eq!(n("$.xs[?(!@.n)]"), [json!(null)]);
    assert_eq!(n("$.xs[?(@.n > 1 && @.n < 3)]"), [json!(2)]);
    assert_eq!(
        n("$.xs[?(@.n == 1 || @.tag == \"c\")]"),
        [json!(1), json!(3)]
    );
    assert_eq!(n("$.xs[?(!(@.n >= 2))]"), [json!(1), json!(null)]);
    assert_eq!(n("$.xs[?((@.n != 2) && (@.ok == true))]"), [json!(1)]);
    assert_eq!(n("$.xs[?(@.ok == false)]"), [json!(2)]);
    assert_eq!(n("$.xs[?(@.none == null)]"), [json!(3)]);
    assert_eq!(n("$.xs[?(@.n <= $.limit)]"), [json!(1), json!(2)]);
    assert_eq!(n("$.xs[?(2 < @.n)]"), [json!(3)]);
    assert_eq!(n("$.xs[?(@.n == 1.0e0)]"), [json!(1)]);
    assert_eq!(n("$.xs[?(@.sub[?(@.k > 2)])]"), [json!(3)]);
    assert_eq!(n("$.xs[?(@.sub[0])]"), [json!(1), json!(3)]);
    assert_eq!(n("$.xs[?(@['tag'] == 'b')]"), [json!(2)]);
    assert_eq!(sel("$..[?(@.k)].k", &v), Some(json!([1, 5])));
}

#[test]
fn filters_outside_rfc_9535_are_refused_by_name() {
    for (bad, says) in [
        ("$.xs[?(@.n =~ /a/)]", "regular expressions"),
        ("$.xs[?(@.n in [1, 2])]", "'in'"),
        ("$.xs[?(@.n nin [1])]", "'nin'"),
        ("$.xs[?(@.s size 2)]", "'size'"),
        ("$.xs[?(length(@.s) > 2)]", "functions"),
        ("$.xs[?(@.n = 1)]", "'=='"),
        ("$.xs[?(@.a[*] == 1)]", "cannot be compared"),
        ("$.xs[?(1)]", "not a condition"),
        ("$.xs[?(@.n > )]", "expected a path, a literal or '('"),
        ("$.xs[?(@.n && ", "value was expected"),
        ("$.xs[?(!!@.n)]", "'!'"),
        ("$.xs[?($$.x)]", "only '@' and '$'"),
        ("$.xs[?(@.n > 1]", "expected '&&', '||' or ')'"),
        ("$.xs[?@.n]", "'[?(…)]'"),
        ("$.xs[?(@.n == -)]", "invalid number"),
        ("$.xs[?(@.n == 1e)]", "invalid number"),
        ("$.xs[99999999999999999,1]", "out of range"),
    ] {
        let e = Path::parse(bad).expect_err(bad);
        assert!(e.message.contains(says), "{bad}: {}", e.message);
    }
}

#[test]
fn deep_filters_are_refused_with_a_clear_error_not_a_stack_overflow() {
    // 300 and 2,000 levels overflowed the stack before the nesting was bounded.
    for depth in [300, 2_000, 50_000] {
        let e = on_small_stack(move || Path::parse(&nested_filter(depth))).expect_err("too deep");
        assert!(
            e.message
                .contains(&format!("nest more than {MAX_NESTING} deep")),
            "{}",
            e.message
        );
    }
    // Parentheses count too, and so do brackets of any kind.
    let parens = format!("$[?({}@.a{})]", "(".repeat(5_000), ")".repeat(5_000));
    assert!(on_small_stack(move || Path::parse(&parens)).is_err());
    let negations = format!("$[?({}@.a{})]", "!(".repeat(5_000), ")".repeat(5_000));
    assert!(on_small_stack(move || Path::parse(&negations)).is_err());
}

#[test]
fn filters_nested_to_the_bound_parse_in_one_pass_and_evaluate() {
    // Each level used to double the parse time (≈50 s of CPU at 24 levels); the parser now
    // reads the filter once. Up to MAX_NESTING / 2 levels are allowed, 24 are refused.
    let limit = MAX_NESTING / 2;
    // Items whose `a` holds items whose `a` … holds an `a`, `limit` times.
    let mut doc = json!({"a": 1});
    for _ in 1..limit {
        doc = json!({"a": [doc]});
    }
    for depth in [8, limit] {
        let path =
            on_small_stack(move || Path::parse(&nested_filter(depth)).map(|p| p.steps().len()));
        assert_eq!(path, Ok(1), "depth {depth}");
    }
    assert!(Path::parse(&nested_filter(24)).is_err());
    let p = Path::parse(&nested_filter(limit)).unwrap();
    assert_eq!(
        p.select(&json!([doc])).unwrap().map(|c| c.into_owned()),
        Some(json!([doc]))
    );
    assert!(Path::parse(&nested_filter(limit + 1)).is_err());
}

#[test]
fn long_flat_paths_are_fine() {
    // Length alone is not nesting: long paths and long filters parse (iteratively).
    let long = format!("${}", ".a".repeat(100_000));
    assert_eq!(Path::parse(&long).unwrap().steps().len(), 100_000);
    let wide = format!("$[?({})]", vec!["@.a == 1"; 20_000].join(" || "));
    assert!(on_small_stack(move || Path::parse(&wide)).is_ok());
}

#[test]
fn deep_scans_are_counted_outside_quotes() {
    use super::count_deep_scans;
    assert_eq!(count_deep_scans("$.a.b"), 0);
    assert_eq!(count_deep_scans("$..a"), 1);
    assert_eq!(count_deep_scans("$..a..b[?(@..c)]"), 3);
    assert_eq!(count_deep_scans("$['a..b']..c"), 1);
    assert_eq!(count_deep_scans(r#"$[?(@.a == "x..\"..")]..b"#), 1);
}

#[test]
fn chained_deep_scans_are_refused_before_they_run_away() {
    // 100 levels, two items per level near the top: a few thousand nodes.
    let mut doc = json!(0);
    for level in 0..99 {
        doc = if level < 10 {
            json!([doc, doc])
        } else {
            json!([doc])
        };
    }
    let small = Path::parse("$..*..*").unwrap();
    assert!(small.select(&json!({"a": [1, {"b": 2}]})).is_ok());
    let hostile = Path::parse("$..*..*..*..*").unwrap();
    let err = hostile.select(&doc).unwrap_err();
    assert_eq!(err.error.as_deref(), Some("States.Runtime"));
    assert!(err.cause.unwrap().contains("deep scans"));
}

#[test]
fn a_selection_copies_at_most_the_evaluation_budget() {
    let mut doc = json!("x".repeat(60_000));
    for _ in 0..99 {
        doc = json!([doc]);
    }
    // Every level holds the whole string again: about 6 MB to copy.
    let err = Path::parse("$..*").unwrap().select(&doc).unwrap_err();
    assert_eq!(err.error.as_deref(), Some("States.DataLimitExceeded"));
    let small = json!([[1]]);
    let found = Path::parse("$..*").unwrap().select(&small).unwrap();
    assert_eq!(found.unwrap().into_owned(), json!([[1], 1]));
}

/// Jayway's `PathCompiler.readDotToken` skips a single '.' and reads the next token, so a
/// '.' before '[' is only a separator; AWS accepts these forms and means the same thing.
#[test]
fn a_dot_before_a_bracket_is_only_a_separator() {
    let v = json!([
        {"bucket": "b1", "key": "k1", "OU": 1, "Snapshots": [{"State": "ok"}]},
        {"bucket": "b2", "key": "k2", "OU": 0}
    ]);
    for (dotted, plain) in [
        ("$.[0]", "$[0]"),
        ("$.[0].Snapshots.[0].State", "$[0].Snapshots[0].State"),
        ("$.[*].['bucket','key']", "$[*]['bucket','key']"),
        ("$.[?(@.OU > 0)]", "$[?(@.OU > 0)]"),
        (
            "$.[?(@.Snapshots.[0].State == 'ok')].bucket",
            "$[?(@.Snapshots[0].State == 'ok')].bucket",
        ),
        ("$.[0].['bucket']", "$[0]['bucket']"),
        ("$.[-1:]", "$[-1:]"),
        ("$.[0,1].key", "$[0,1].key"),
        ("$..[0]", "$..[0]"),
    ] {
        let a = Path::parse(dotted).unwrap_or_else(|e| panic!("{dotted}: {e}"));
        let b = Path::parse(plain).unwrap();
        assert_eq!(a.steps(), b.steps(), "{dotted}");
        assert_eq!(a.is_reference(), b.is_reference(), "{dotted}");
        assert_eq!(sel(dotted, &v), sel(plain, &v), "{dotted}");
    }
    assert_eq!(sel("$.[0].Snapshots.[0].State", &v), Some(json!("ok")));
    assert_eq!(
        sel("$.[*].['bucket','key']", &v),
        Some(json!([{"bucket": "b1", "key": "k1"}, {"bucket": "b2", "key": "k2"}]))
    );
    // A reference path too: ResultPath can write through it.
    let p = Path::parse_reference("$.[1].r").unwrap();
    let mut t = v.clone();
    p.write(&mut t, json!(7)).unwrap();
    assert_eq!(t[1]["r"], json!(7));
    // The dot is a separator, not a name: a dot still needs something after it.
    for bad in ["$.", "$.[0].", "$...[0]", "$.[", "$.[0"] {
        assert!(Path::parse(bad).is_err(), "{bad} should not parse");
    }
}

/// Jayway's `FilterCompiler.readLiteral` reads any other word as a number literal
/// (`new BigDecimal("")` for `Receipt`), which throws, so AWS refuses the path; only `true`,
/// `false`, `null` and quoted strings are words there.
#[test]
fn an_unquoted_word_in_a_filter_is_refused_with_a_hint() {
    for (bad, word) in [
        ("$[?(@.Name==Receipt)]", "Receipt"),
        ("$[?(@.Name == Receipt && @.n > 1)]", "Receipt"),
        ("$[?(Receipt == @.Name)]", "Receipt"),
        ("$.[?(@.Name != abc_1)]", "abc_1"),
    ] {
        let e = Path::parse(bad).expect_err(bad);
        assert!(
            e.message.contains(&format!("'{word}'")) && e.message.contains("quote"),
            "{bad}: {}",
            e.message
        );
    }
}

/// Jayway's `PropertyPathToken`: several names in the last bracket are not a union but one
/// object of those of the names the value has (`multiPropertyMergeCase`), and such a token is
/// definite; before another step they are a union (`multiPropertyIterationCase`).
#[test]
fn several_names_last_merge_into_one_object() {
    let v = json!({"obj": {"x": 1, "y": 2, "z": 3}, "n": 5,
                   "objs": [{"bucket": "b1", "key": "k1", "z": 1}, {"bucket": "b2"}, 7]});
    assert_eq!(sel("$.obj['x','y']", &v), Some(json!({"x": 1, "y": 2})));
    assert_eq!(
        sel("$.obj['y','x','nope']", &v),
        Some(json!({"y": 2, "x": 1}))
    );
    assert_eq!(sel("$.obj['p','q']", &v), Some(json!({})));
    assert_eq!(
        sel("$['n','obj']", &v),
        Some(json!({"n": 5, "obj": v["obj"]}))
    );
    // Definite: a value that is not an object there is not found (an error for the caller).
    assert_eq!(sel("$.n['x','y']", &v), None);
    assert_eq!(sel("$.missing['x','y']", &v), None);
    let p = Path::parse("$.obj['x','y']").unwrap();
    assert!(p.is_definite() && !p.is_reference());
    assert!(Path::parse_reference("$.obj['x','y']").is_err());
    // After an indefinite step: a list of merged objects, values that are not objects skipped.
    assert_eq!(
        sel("$.objs[*]['bucket','key']", &v),
        Some(json!([{"bucket": "b1", "key": "k1"}, {"bucket": "b2"}]))
    );
    assert!(!Path::parse("$.objs[*]['bucket','key']")
        .unwrap()
        .is_definite());
    // Not last: a union of the names' values, each followed on.
    assert_eq!(sel("$['obj','objs'].x", &v), Some(json!([1])));
    // After a deep scan: the objects at or under the value that have every name, merged.
    assert_eq!(sel("$..['x','bucket']", &v), Some(json!([])));
    assert_eq!(
        sel("$..['bucket','key']", &v),
        Some(json!([{"bucket": "b1", "key": "k1"}]))
    );
    assert_eq!(sel("$.obj..['x','y']", &v), Some(json!([{"x": 1, "y": 2}])));
    let nested = json!({"a": 1, "b": 2, "c": [{"a": 3, "b": 4, "d": {"a": 5, "b": 6}}]});
    assert_eq!(
        sel("$..['a','b']", &nested),
        Some(json!([{"a": 1, "b": 2}, {"a": 3, "b": 4}, {"a": 5, "b": 6}]))
    );
}

/// Jayway trims the blanks around a path before compiling it (`CharacterIndex.trim` in
/// `PathCompiler.compile`); a blank inside a quoted name stays part of the name.
#[test]
fn blanks_around_a_path_are_trimmed() {
    let v = json!({"b": 2, "b ": 3, "a": {"x": 1}});
    assert_eq!(sel("$.b ", &v), Some(json!(2)));
    assert_eq!(sel("  $.a.x  ", &v), Some(json!(1)));
    assert_eq!(sel("$['b ']", &v), Some(json!(3)));
    let p = Path::parse_reference("$.r ").unwrap();
    let mut t = json!({});
    p.write(&mut t, json!(7)).unwrap();
    assert_eq!(t, json!({"r": 7}));
    assert_eq!(
        Path::parse("$.b ").unwrap().source(),
        "$.b ",
        "the source is kept as written"
    );
}
