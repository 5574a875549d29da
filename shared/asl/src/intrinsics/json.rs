//! `States.StringToJson`, `States.JsonToString` and `States.JsonMerge`.

use serde_json::Value;

use super::{invalid, invalid_because, take, EvalResult, Function};

/// Blank text parses to `null`, as AWS's runs show (Jackson reads nothing as null).
pub(super) fn string_to_json(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::StringToJson;
    let [text] = take::<1>(F, values)?;
    let Value::String(text) = text else {
        return invalid(F);
    };
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).or_else(|_| invalid(F))
}

pub(super) fn json_to_string(values: Vec<Value>) -> EvalResult {
    let [value] = take::<1>(Function::JsonToString, values)?;
    Ok(Value::String(crate::json::to_text(&value)))
}

/// Shallow merge only: AWS documents that deep merging is not supported and that the flag
/// must be `false`. Its runs reject `true` but treat any non-boolean flag as `false`, and
/// check the two objects before the flag.
pub(super) fn merge(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::JsonMerge;
    let [left, right, deep] = take::<3>(F, values)?;
    let (Value::Object(mut merged), Value::Object(right)) = (left, right) else {
        return invalid(F);
    };
    if deep == Value::Bool(true) {
        return invalid_because(
            F,
            "only the shallow merging mode is supported; the third argument must be false",
        );
    }
    // With preserve_order, a key already present keeps its place and takes the new value.
    for (k, v) in right {
        merged.insert(k, v);
    }
    Ok(Value::Object(merged))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{invalid, ok};

    #[test]
    fn string_to_json_parses_and_reads_blank_as_null() {
        let f = "States.StringToJson($.s)";
        let cases = [
            ("", json!(null)),
            (" ", json!(null)),
            ("null", json!(null)),
            ("1.1", json!(1.1)),
            ("-0", json!(-0.0)),
            ("true", json!(true)),
            ("\"HelloWorld\"", json!("HelloWorld")),
            ("[1, 2, \"HelloWorld\"]", json!([1, 2, "HelloWorld"])),
            ("{\"foo\": \"bar\"}", json!({"foo": "bar"})),
            (" {\"a\": [] }\n", json!({"a": []})),
        ];
        for (s, expected) in cases {
            assert_eq!(ok(f, json!({ "s": s })), expected, "{s:?}");
        }
        assert_eq!(
            ok(r#"States.StringToJson('{"number": 20}')"#, json!({})),
            json!({"number": 20})
        );
    }

    #[test]
    fn string_to_json_rejects_non_strings_and_bad_json() {
        invalid("States.StringToJson($.s)", json!({"s": 1}));
        invalid("States.StringToJson($.s)", json!({"s": {"a": 1}}));
        invalid("States.StringToJson($.s)", json!({"s": "{not json"}));
        invalid("States.StringToJson($.s)", json!({"s": "1 2"}));
    }

    #[test]
    fn json_to_string_writes_compact_json() {
        let f = "States.JsonToString($.v)";
        let cases = [
            (json!(null), "null"),
            (json!(0), "0"),
            (json!(1.1), "1.1"),
            (json!(true), "true"),
            (json!("HelloWorld"), "\"HelloWorld\""),
            (json!([1, 2, "HelloWorld"]), "[1,2,\"HelloWorld\"]"),
            (
                json!({"name": "Foo", "year": 2020}),
                "{\"name\":\"Foo\",\"year\":2020}",
            ),
        ];
        for (v, expected) in cases {
            assert_eq!(ok(f, json!({ "v": v })), json!(expected), "{v}");
        }
        assert_eq!(
            ok("States.JsonToString($)", json!({"other": 1})),
            json!("{\"other\":1}")
        );
        assert_eq!(ok("States.JsonToString('x')", json!({})), json!("\"x\""));
    }

    #[test]
    fn merge_is_shallow_and_the_right_object_wins() {
        let input = json!({
            "fst": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3},
            "snd": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4},
        });
        let merged = ok("States.JsonMerge($.fst, $.snd, false)", input);
        assert_eq!(
            merged,
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "d": 4, "c": 3})
        );
        let keys: Vec<&String> = merged.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b", "d", "c"]);
        assert_eq!(
            ok(
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": {"nested": {"x": 1}, "keep": 1}, "b": {"nested": null}})
            ),
            json!({"nested": null, "keep": 1})
        );
        assert_eq!(
            ok(
                "States.JsonMerge($.a, $.b, $.deep)",
                json!({"a": {}, "b": {"x": 1}, "deep": "false"})
            ),
            json!({"x": 1})
        );
        assert_eq!(
            ok(
                r#"States.JsonMerge(States.StringToJson('{"l":1}'), States.StringToJson('{"r":2}'), false)"#,
                json!({})
            ),
            json!({"l": 1, "r": 2})
        );
    }

    #[test]
    fn merge_rejects_non_objects_and_deep_mode() {
        invalid(
            "States.JsonMerge($.a, $.b, false)",
            json!({"a": null, "b": {}}),
        );
        invalid(
            "States.JsonMerge($.a, $.b, false)",
            json!({"a": {}, "b": "x"}),
        );
        invalid(
            "States.JsonMerge($.a, $.b, false)",
            json!({"a": [], "b": {}}),
        );
        let cause = invalid(
            "States.JsonMerge($.a, $.b, true)",
            json!({"a": {"n": {"l": 1}}, "b": {"n": {"r": 2}}}),
        );
        assert!(cause.contains("shallow"), "{cause}");
    }
}
