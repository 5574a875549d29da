//! Hostile definitions: nesting deep enough to overflow a recursive parser, and nesting that
//! used to cost a parse exponential time. Each must come back as a diagnostic with a JSON
//! Pointer, quickly, on a thread with a small stack (a server's worker threads are not
//! larger), never as a crash.

use serde_json::{json, Value};
use waymark_asl::diag::{codes, Diagnostic};
use waymark_asl::parse::{parse_text, parse_value, ParseOptions};

/// Runs `f` on a 512 KiB stack: smaller than the 2 MiB of a Tokio worker or a test thread,
/// so that a recursion the bounds miss shows up here.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("no panic and no stack overflow")
}

fn validate(def: String) -> Result<(), Vec<Diagnostic>> {
    on_small_stack(move || parse_text(&def, &ParseOptions::default()).map(|_| ()))
}

fn pass_with(field: &str, value: Value) -> String {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", field: value, "End": true}}})
        .to_string()
}

/// `$[?(@.a[?(@.a…)])]`, `n` filters deep.
fn nested_filter(n: usize) -> String {
    format!("${}{}", "[?(@.a".repeat(n), ")]".repeat(n))
}

fn only_error(result: Result<(), Vec<Diagnostic>>) -> Diagnostic {
    let mut e = result.expect_err("must be refused");
    assert_eq!(e.len(), 1, "{e:#?}");
    e.remove(0)
}

#[test]
fn a_jsonpath_filter_300_or_2000_deep_is_a_schema_error_at_its_field() {
    for depth in [300, 2_000] {
        let d = only_error(validate(pass_with(
            "InputPath",
            json!(nested_filter(depth)),
        )));
        assert_eq!(d.code, codes::SCHEMA_VALIDATION_FAILED);
        assert_eq!(d.path, "/States/P/InputPath");
        assert!(
            d.message.contains("nest more than 32 deep"),
            "{}",
            d.message
        );
        // In a payload template and as an intrinsic's argument too.
        let d = only_error(validate(pass_with(
            "Parameters",
            json!({"x.$": nested_filter(depth)}),
        )));
        assert_eq!(d.path, "/States/P/Parameters/x.$");
        let call = format!("States.Array({})", nested_filter(depth));
        let d = only_error(validate(pass_with("Parameters", json!({"x.$": call}))));
        assert_eq!(d.path, "/States/P/Parameters/x.$");
    }
}

#[test]
fn a_jsonpath_filter_24_deep_validates_at_once() {
    // It took about 50 s of CPU when each level doubled the parse. Now the parse is linear,
    // 16 nested filters (32 brackets and parentheses) are accepted, and 24 are refused.
    assert_eq!(
        validate(pass_with("InputPath", json!(nested_filter(16)))),
        Ok(())
    );
    let d = only_error(validate(pass_with("InputPath", json!(nested_filter(24)))));
    assert_eq!(d.path, "/States/P/InputPath");
    assert!(
        d.message.contains("nest more than 32 deep"),
        "{}",
        d.message
    );
}

#[test]
fn deep_intrinsic_calls_are_refused_at_their_field() {
    // AWS allows 10 nested intrinsic functions in one field.
    let nest = |n: usize| format!("{}1{}", "States.Array(".repeat(n), ")".repeat(n));
    assert_eq!(
        validate(pass_with("Parameters", json!({"x.$": nest(10)}))),
        Ok(())
    );
    for depth in [11, 5_000] {
        let d = only_error(validate(pass_with(
            "Parameters",
            json!({"x.$": nest(depth)}),
        )));
        assert_eq!(d.code, codes::SCHEMA_VALIDATION_FAILED);
        assert_eq!(d.path, "/States/P/Parameters/x.$");
        assert!(d.message.contains("nested too deeply"), "{}", d.message);
    }
}

fn choice_machine(rule: &str) -> String {
    format!(
        r#"{{"StartAt":"C","States":{{"C":{{"Type":"Choice","Choices":[{{"Next":"D",{rule}}}],"Default":"D"}},"D":{{"Type":"Succeed"}}}}}}"#
    )
}

#[test]
fn deep_choice_rules() {
    let leaf = r#"{"Variable":"$.a","IsPresent":true}"#;
    let nots = |n: usize| {
        format!(
            "\"Not\":{}{leaf}{}",
            "{\"Not\":".repeat(n - 1),
            "}".repeat(n - 1)
        )
    };
    let ands = |n: usize| {
        format!(
            "\"And\":[{}{leaf}{}]",
            "{\"And\":[".repeat(n - 1),
            "]}".repeat(n - 1)
        )
    };
    // As deep as JSON text allows (the definition's own levels come on top): fine.
    assert_eq!(validate(choice_machine(&nots(60))), Ok(()));
    assert_eq!(validate(choice_machine(&ands(30))), Ok(()));
    // Deeper text: serde_json's recursion limit refuses it before any rule is read.
    for rule in [nots(2_000), ands(2_000)] {
        let d = only_error(validate(choice_machine(&rule)));
        assert_eq!(d.code, codes::INVALID_JSON_DESCRIPTION);
        assert!(d.message.contains("recursion limit"), "{}", d.message);
    }
    // The same rules built in memory are refused with a pointer to the first level too deep.
    let mut rule = json!({"Variable": "$.a", "IsPresent": true});
    for _ in 0..2_000 {
        rule = Value::Object(std::iter::once(("Not".to_string(), rule)).collect());
    }
    let mut choice = serde_json::Map::new();
    choice.insert("Next".into(), json!("D"));
    choice.insert("Not".into(), rule);
    let def = json!({"StartAt": "C", "States": {"D": {"Type": "Succeed"}}});
    let mut def = def;
    def["States"].as_object_mut().unwrap().insert(
        "C".into(),
        Value::Object(
            [
                ("Type".to_string(), json!("Choice")),
                (
                    "Choices".to_string(),
                    Value::Array(vec![Value::Object(choice)]),
                ),
                ("Default".to_string(), json!("D")),
            ]
            .into_iter()
            .collect(),
        ),
    );
    let e = on_small_stack(move || {
        let e = parse_value(&def, &ParseOptions::default()).unwrap_err();
        std::mem::forget(def); // serde_json drops recursively; not on this small stack
        e
    });
    assert_eq!(e[0].code, codes::SCHEMA_VALIDATION_FAILED);
    assert!(
        e[0].path.starts_with("/States/C/Choices/0/Not/Not/"),
        "{}",
        e[0].path
    );
    assert!(e[0].message.contains("more than 128 deep"));
}

fn jsonata_machine(expr: &str) -> String {
    json!({
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}
    })
    .to_string()
}

#[test]
fn deep_jsonata_expressions_are_refused_at_their_field() {
    let parens = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
    let arrays = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    let calls = |n: usize| format!("{}1{}", "$string(".repeat(n), ")".repeat(n));
    // Deep but within the parser's bound (1,000 levels).
    for ok in [parens(500), arrays(300), calls(300)] {
        assert_eq!(validate(jsonata_machine(&ok)), Ok(()), "{}", &ok[..20]);
    }
    for bad in [parens(2_000), arrays(50_000), calls(20_000)] {
        let d = only_error(validate(jsonata_machine(&bad)));
        assert_eq!(d.code, codes::INVALID_JSONATA_EXPRESSION);
        assert_eq!(d.path, "/States/P/Output");
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation: a template or an intrinsic call cannot multiply its input without bound
// ---------------------------------------------------------------------------------------------

mod evaluation {
    use serde_json::{json, Map, Value};
    use waymark_asl::budget::MAX_EVALUATION_BYTES;
    use waymark_asl::env::{Env, NoVariables, SeededRandom};
    use waymark_asl::error::{names, Failure};
    use waymark_asl::intrinsics::Intrinsic;
    use waymark_asl::template::Template;

    fn input() -> Value {
        // 64 KiB of text: AWS's payload limit is four times that.
        json!({"s": "x".repeat(64 << 10)})
    }

    fn with_env<T>(input: &Value, f: impl FnOnce(&Env) -> T) -> T {
        let (context, random) = (json!({}), SeededRandom::new(1));
        f(&Env {
            input,
            context: &context,
            vars: &NoVariables,
            random: &random,
        })
    }

    fn template(fields: usize) -> Result<Value, Failure> {
        let t: Map<String, Value> = (0..fields)
            .map(|i| (format!("f{i}.$"), json!("$.s")))
            .collect();
        let t = Template::compile(&Value::Object(t)).unwrap();
        with_env(&input(), |env| t.eval(env))
    }

    fn intrinsic(src: &str) -> Result<Value, Failure> {
        let call = Intrinsic::parse(src).unwrap_or_else(|e| panic!("{e}"));
        with_env(&input(), |env| call.eval(env))
    }

    fn assert_over_budget(r: Result<Value, Failure>) {
        let f = r.expect_err("over the budget");
        assert_eq!(f.error.as_deref(), Some(names::DATA_LIMIT_EXCEEDED), "{f}");
        assert!(
            f.cause
                .as_deref()
                .unwrap_or("")
                .contains(&MAX_EVALUATION_BYTES.to_string()),
            "{f}"
        );
    }

    #[test]
    fn a_template_that_copies_its_input_too_often_fails_with_data_limit_exceeded() {
        assert!(template(10).is_ok());
        // 1,000 copies of 64 KiB: 64 MB before; refused after 4 MiB now.
        assert_over_budget(template(1_000));
    }

    #[test]
    fn intrinsics_that_multiply_their_input_fail_with_data_limit_exceeded() {
        let args = |n: usize| vec!["$.s"; n].join(", ");
        assert!(intrinsic(&format!("States.Array({})", args(10))).is_ok());
        assert_over_budget(intrinsic(&format!("States.Array({})", args(1_000))));
        let holes = "{}".repeat(1_000);
        assert_over_budget(intrinsic(&format!(
            "States.Format('{holes}', {})",
            args(1_000)
        )));
        // Nested ten deep, each level doubling: 2^10 copies.
        let mut call = "$.s".to_string();
        for _ in 0..10 {
            call = format!("States.Format('{{}}{{}}', {call}, {call})");
        }
        assert_over_budget(intrinsic(&call));
        let mut call = "$.s".to_string();
        for _ in 0..5 {
            call = format!("States.JsonToString(States.Array({call}, {call}, {call}, {call}))");
        }
        assert_over_budget(intrinsic(&call));
        // AWS's own limits stay: 1,000 items in a range, 10,000 characters to encode.
        assert!(intrinsic("States.ArrayRange(1, 1001, 1)").is_err());
        assert!(intrinsic("States.Base64Encode($.s)").is_err());
    }
}
