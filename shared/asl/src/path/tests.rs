use serde_json::json;

use super::*;

fn sel(path: &str, v: &serde_json::Value) -> Option<serde_json::Value> {
    Path::parse(path).unwrap().select(v).map(|c| c.into_owned())
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
