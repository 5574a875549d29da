//! The array intrinsics: `States.ArrayPartition`, `ArrayContains`, `ArrayRange`,
//! `ArrayGetItem`, `ArrayLength` and `ArrayUnique` (`States.Array` needs no code of its own).

use serde_json::Value;

use super::{invalid, invalid_because, take, truncated, EvalResult, Function};

/// AWS's documented cap on what `States.ArrayRange` may produce.
const MAX_RANGE_ITEMS: i128 = 1000;

pub(super) fn partition(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::ArrayPartition;
    let [array, size] = take::<2>(F, values)?;
    let (Value::Array(items), Some(size)) = (array, truncated(&size)) else {
        return invalid(F);
    };
    if size < 1 {
        return invalid(F);
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let chunks = items
        .chunks(size)
        .map(|c| Value::Array(c.to_vec()))
        .collect();
    Ok(Value::Array(chunks))
}

/// Equality is JSON equality, deep for arrays and objects.
pub(super) fn contains(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::ArrayContains;
    let [array, wanted] = take::<2>(F, values)?;
    let Value::Array(items) = array else {
        return invalid(F);
    };
    Ok(Value::Bool(items.contains(&wanted)))
}

/// Both ends are included; a negative step counts down. A step of zero, and a result of more
/// than 1000 items, are errors.
pub(super) fn range(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::ArrayRange;
    let [start, end, step] = take::<3>(F, values)?;
    let (Some(start), Some(end), Some(step)) =
        (truncated(&start), truncated(&end), truncated(&step))
    else {
        return invalid(F);
    };
    if step == 0 {
        return invalid_because(F, "the step must not be zero");
    }
    let (start, end, step) = (i128::from(start), i128::from(end), i128::from(step));
    let span = if step > 0 { end - start } else { start - end };
    let count = if span < 0 { 0 } else { span / step.abs() + 1 };
    if count > MAX_RANGE_ITEMS {
        return invalid_because(
            F,
            format!("the range has {count} items, more than the 1000 allowed"),
        );
    }
    let items = (0..count)
        .filter_map(|i| i64::try_from(start + i * step).ok())
        .map(Value::from)
        .collect();
    Ok(Value::Array(items))
}

/// AWS's runs fail for a negative index and for one past the end, except that an empty
/// array gives `null` for any index at or past its end.
pub(super) fn get_item(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::ArrayGetItem;
    let [array, index] = take::<2>(F, values)?;
    let (Value::Array(mut items), Some(index)) = (array, truncated(&index)) else {
        return invalid(F);
    };
    if index < 0 {
        return invalid(F);
    }
    if items.is_empty() {
        return Ok(Value::Null);
    }
    match usize::try_from(index).ok().filter(|i| *i < items.len()) {
        Some(i) => Ok(items.swap_remove(i)),
        None => invalid(F),
    }
}

pub(super) fn length(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::ArrayLength;
    let [array] = take::<1>(F, values)?;
    match array {
        Value::Array(items) => Ok(Value::from(items.len())),
        _ => invalid(F),
    }
}

/// Keeps the first occurrence of each value, in order.
pub(super) fn unique(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::ArrayUnique;
    let [array] = take::<1>(F, values)?;
    let Value::Array(items) = array else {
        return invalid(F);
    };
    let mut kept: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    Ok(Value::Array(kept))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{invalid, ok};

    #[test]
    fn array_collects_its_arguments() {
        assert_eq!(ok("States.Array()", json!({})), json!([]));
        assert_eq!(
            ok(
                "States.Array('Foo', 2020, $.someJson, null)",
                json!({"someJson": {"random": "abcdefg"}})
            ),
            json!(["Foo", 2020, {"random": "abcdefg"}, null])
        );
        assert_eq!(
            ok("States.Array($.a, $.b)", json!({"a": 1.1, "b": ""})),
            json!([1.1, ""])
        );
    }

    #[test]
    fn partition_chunks_with_a_short_last_chunk() {
        let f = "States.ArrayPartition($.a, $.n)";
        let cases = [
            (json!([]), json!(1), json!([])),
            (json!([0, 1, 2]), json!(1), json!([[0], [1], [2]])),
            (json!([0, 1, 2]), json!(2), json!([[0, 1], [2]])),
            (json!([0, 1, 2]), json!(4), json!([[0, 1, 2]])),
            (
                json!([1, 2, 3, 4, 5, 6, 7, 8, 9]),
                json!(4),
                json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
            ),
            (json!([[1], [2], [3]]), json!(2), json!([[[1], [2]], [[3]]])),
            // AWS truncates a fractional size.
            (
                json!([1, 2, 3, 4, 5]),
                json!(2.6),
                json!([[1, 2], [3, 4], [5]]),
            ),
            (json!([1, 2, 3]), json!(2147483647), json!([[1, 2, 3]])),
        ];
        for (a, n, expected) in cases {
            assert_eq!(ok(f, json!({"a": a, "n": n})), expected, "{a} by {n}");
        }
        assert_eq!(
            ok(
                "States.ArrayPartition(States.Array(1,2,3,4,5), 2)",
                json!({})
            ),
            json!([[1, 2], [3, 4], [5]])
        );
    }

    #[test]
    fn partition_rejects_bad_arguments() {
        for n in [
            json!(0),
            json!(-1),
            json!(0.6),
            json!(-0.4),
            json!("2"),
            json!(null),
        ] {
            invalid(
                "States.ArrayPartition($.a, $.n)",
                json!({"a": [1, 2, 3], "n": n}),
            );
        }
        invalid("States.ArrayPartition('not-array', 2)", json!({}));
    }

    #[test]
    fn contains_compares_deeply() {
        let f = "States.ArrayContains($.a, $.v)";
        let cases = [
            (json!([]), json!([]), false),
            (json!([]), json!(1), false),
            (json!([[1, 2, 3], 2]), json!(null), false),
            (json!([[1, 2, 3], 2]), json!([1, 2, 3]), true),
            (json!([{"1": 2, "2": []}]), json!({"2": [], "1": 2}), true),
            (json!([true, false]), json!(false), true),
            (json!([1, 2, 3]), json!("2"), false),
            (json!([null]), json!(null), true),
        ];
        for (a, v, expected) in cases {
            assert_eq!(
                ok(f, json!({"a": a, "v": v})),
                json!(expected),
                "{v} in {a}"
            );
        }
        invalid("States.ArrayContains($.a, 1)", json!({"a": "123"}));
    }

    #[test]
    fn range_includes_both_ends_and_counts_down_with_a_negative_step() {
        let cases = [
            ("States.ArrayRange(0, 10, 3)", json!([0, 3, 6, 9])),
            ("States.ArrayRange(1, 9, 2)", json!([1, 3, 5, 7, 9])),
            ("States.ArrayRange(-2, 2, 2)", json!([-2, 0, 2])),
            ("States.ArrayRange(3, 3, -1)", json!([3])),
            ("States.ArrayRange(5, 1, -2)", json!([5, 3, 1])),
            ("States.ArrayRange(5, 1, 1)", json!([])),
            ("States.ArrayRange(1, 5, -1)", json!([])),
            // AWS truncates fractions: these behave like (1, 5, 2), (1, 1, 1) and (5, 0, -2).
            ("States.ArrayRange(1.4, 5.6, 2.2)", json!([1, 3, 5])),
            ("States.ArrayRange(1.6, 1.4, 1)", json!([1])),
            ("States.ArrayRange(5.4, -0.6, -2.4)", json!([5, 3, 1])),
        ];
        for (f, expected) in cases {
            assert_eq!(ok(f, json!({})), expected, "{f}");
        }
        let thousand = ok("States.ArrayRange(1000, 1, -1)", json!({}));
        assert_eq!(thousand.as_array().map(Vec::len), Some(1000));
        assert_eq!(thousand[999], json!(1));
        assert_eq!(
            ok("States.ArrayRange(1, 1000, 1)", json!({}))[999],
            json!(1000)
        );
    }

    #[test]
    fn range_rejects_bad_arguments() {
        for f in [
            "States.ArrayRange('a', 5, 1)",
            "States.ArrayRange(1, 'b', 1)",
            "States.ArrayRange(1, 5, null)",
            "States.ArrayRange(1, 10, 0)",
            "States.ArrayRange(1, 10, 0.49)",
            "States.ArrayRange(1, 1001, 1)",
            "States.ArrayRange(1001, 1, -1)",
            "States.ArrayRange(-9000000000000000000, 9000000000000000000, 1)",
        ] {
            invalid(f, json!({}));
        }
    }

    #[test]
    fn get_item_reads_by_index() {
        let input = json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9], "i": 5});
        assert_eq!(ok("States.ArrayGetItem($.a, $.i)", input), json!(6));
        assert_eq!(
            ok("States.ArrayGetItem($.a, 0)", json!({"a": [null]})),
            json!(null)
        );
        assert_eq!(
            ok(
                "States.ArrayGetItem($.a, 1)",
                json!({"a": [{"a": 1}, {"b": 2}]})
            ),
            json!({"b": 2})
        );
        assert_eq!(
            ok(
                "States.ArrayGetItem(States.Array('x', 'y', 'z'), 1)",
                json!({})
            ),
            json!("y")
        );
        // AWS truncates a fractional index, and reads any index of an empty array as null.
        assert_eq!(
            ok("States.ArrayGetItem($.a, 1.2)", json!({"a": [10, 20, 30]})),
            json!(20)
        );
        assert_eq!(
            ok("States.ArrayGetItem($.a, 999)", json!({"a": []})),
            json!(null)
        );
    }

    #[test]
    fn get_item_rejects_bad_arguments() {
        for (array, index) in [
            (json!([10, 20, 30]), json!(3)),
            (json!([10, 20, 30]), json!(-1)),
            (json!([10, 20, 30]), json!("1")),
            (json!("not-array"), json!(0)),
            (json!([]), json!(-1)),
        ] {
            invalid(
                "States.ArrayGetItem($.a, $.i)",
                json!({"a": array, "i": index}),
            );
        }
    }

    #[test]
    fn length_counts_items() {
        assert_eq!(
            ok("States.ArrayLength($)", json!([1, 2, 3, 4, 5, 6, 7, 8, 9])),
            json!(9)
        );
        assert_eq!(ok("States.ArrayLength($.a)", json!({"a": []})), json!(0));
        invalid("States.ArrayLength($.a)", json!({"a": {"x": 1}}));
        invalid("States.ArrayLength('abc')", json!({}));
    }

    #[test]
    fn unique_keeps_first_occurrences_in_order() {
        assert_eq!(
            ok("States.ArrayUnique($)", json!([1, 2, 3, 3, 3, 3, 3, 3, 4])),
            json!([1, 2, 3, 4])
        );
        let input = json!([
            null, null, true, true, false, false, 1, 1, 1.1, 0, 0, "HelloWorld", "HelloWorld",
            [], [], [null], [null], {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}
        ]);
        assert_eq!(
            ok("States.ArrayUnique($)", input),
            json!([null, true, false, 1, 1.1, 0, "HelloWorld", [], [null], {"a": 1, "b": 2}, {"a": 1, "b": 1}])
        );
        invalid("States.ArrayUnique($.a)", json!({"a": 1}));
    }
}
