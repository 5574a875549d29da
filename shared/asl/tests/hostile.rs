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
            d.message.contains("nest more than 64 deep"),
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
fn a_jsonpath_filter_24_deep_validates() {
    // It took about 50 s of CPU when each level doubled the parse.
    assert_eq!(
        validate(pass_with("InputPath", json!(nested_filter(24)))),
        Ok(())
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
