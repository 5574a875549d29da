//! Numbers and randomness: `States.MathAdd`, `States.MathRandom` and `States.UUID`.
//!
//! Randomness comes only from [`Env::random`], so that a seeded engine replays runs exactly;
//! a `States.MathRandom` seed argument selects its own deterministic sequence instead.

use serde_json::Value;

use super::{invalid, invalid_because, truncated, EvalResult, Function};
use crate::env::{Env, Random, SeededRandom};

/// AWS documents 32-bit integer arguments for `States.MathAdd`, and its runs of
/// `States.MathRandom` go up to the same bound.
fn fits_i32(n: i64) -> bool {
    i32::try_from(n).is_ok()
}

/// Java's `Math.round`, which AWS applies to each `States.MathAdd` argument: halves go up,
/// toward positive infinity (`-1.5` → `-1`, `-0.5` → `0`, `3.5` → `4`).
fn java_round(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    if !f.is_finite() || f.abs() >= 9.0e18 {
        return None;
    }
    // `f - floor(f)` is exact, unlike `f + 0.5`, which rounds 0.49999999999999994 up.
    let floor = f.floor();
    let rounded = if f - floor >= 0.5 { floor + 1.0 } else { floor };
    Some(rounded as i64)
}

pub(super) fn add(values: Vec<Value>) -> EvalResult {
    const F: Function = Function::MathAdd;
    let [a, b] = super::take::<2>(F, values)?;
    let (Some(a), Some(b)) = (java_round(&a), java_round(&b)) else {
        return invalid(F);
    };
    if !fits_i32(a) || !fits_i32(b) {
        return invalid_because(
            F,
            "the values must be integers from -2147483648 to 2147483647",
        );
    }
    Ok(Value::from(a + b))
}

/// An integer from `start` (included) to `end` (excluded). AWS's runs truncate fractional
/// bounds (`(1.6, 5.4)` can give 1) and reject an empty interval.
pub(super) fn random(values: Vec<Value>, env: &Env) -> EvalResult {
    const F: Function = Function::MathRandom;
    let mut values = values.into_iter();
    let (Some(start), Some(end)) = (values.next(), values.next()) else {
        return invalid(F);
    };
    let (Some(start), Some(end)) = (truncated(&start), truncated(&end)) else {
        return invalid(F);
    };
    if !fits_i32(start) || !fits_i32(end) {
        return invalid_because(
            F,
            "the bounds must be integers from -2147483648 to 2147483647",
        );
    }
    if start >= end {
        return invalid_because(F, "the start must be less than the end");
    }
    let draw = match values.next() {
        None => env.random.next_u64(),
        Some(seed) => match truncated(&seed) {
            // Same seed, same number, as AWS documents.
            Some(seed) => SeededRandom::new(seed as u64).next_u64(),
            None => return invalid(F),
        },
    };
    let span = (end - start) as u128;
    let offset = ((u128::from(draw) * span) >> 64) as i64;
    Ok(Value::from(start + offset))
}

/// A version 4 UUID, lower-case and hyphenated like AWS's.
pub(super) fn uuid(env: &Env) -> Value {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&env.random.next_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&env.random.next_u64().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Value::String(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{invalid, ok, run_seeded};

    #[test]
    fn add_rounds_each_argument_like_java() {
        let f = "States.MathAdd($.a, $.b)";
        let cases = [
            (json!(-9), json!(3), -6),
            (json!(111), json!(-1), 110),
            (json!(-1.51), json!(0), -2),
            (json!(3.5), json!(0), 4),
            (json!(-0.5), json!(0.5), 1),
            (json!(-1.5), json!(0), -1),
            (json!(1.49), json!(1.5), 3),
            (json!(1.5), json!(1.51), 4),
            (json!(-3.5), json!(0), -3),
            (json!(1.49), json!(-1.49), 0),
            (json!(-1.49), json!(0), -1),
            (json!(0.49999999999999994), json!(0), 0),
            (json!(2147483647), json!(2147483647), 4294967294_i64),
            (json!(-2147483648), json!(0), -2147483648),
        ];
        for (a, b, expected) in cases {
            assert_eq!(ok(f, json!({"a": a, "b": b})), json!(expected), "{a} + {b}");
        }
        assert_eq!(ok("States.MathAdd($.n, -1)", json!({"n": 3})), json!(2));
    }

    #[test]
    fn add_rejects_non_numbers_and_big_values() {
        for (a, b) in [
            (json!("1"), json!(1)),
            (json!(1), json!(null)),
            (json!(true), json!(1)),
            (json!([1]), json!(1)),
            (json!(2147483648_i64), json!(0)),
            (json!(0), json!(-2147483649_i64)),
            (json!(1e20), json!(0)),
        ] {
            invalid("States.MathAdd($.a, $.b)", json!({"a": a, "b": b}));
        }
    }

    #[test]
    fn random_stays_within_start_included_end_excluded() {
        for seed in 0..200 {
            let v = run_seeded("States.MathRandom(1, 4)", json!({}), seed).unwrap();
            let n = v.as_i64().unwrap();
            assert!((1..4).contains(&n), "{n}");
            let v = run_seeded("States.MathRandom(12.5, 44.51)", json!({}), seed).unwrap();
            assert!((12..44).contains(&v.as_i64().unwrap()), "{v}");
            // Truncation: (1.6, 5.4) behaves like (1, 5).
            let v = run_seeded("States.MathRandom(1.6, 5.4)", json!({}), seed).unwrap();
            assert!((1..5).contains(&v.as_i64().unwrap()), "{v}");
        }
        let all: std::collections::BTreeSet<i64> = (0..200)
            .map(|seed| {
                run_seeded("States.MathRandom(1, 4)", json!({}), seed)
                    .unwrap()
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(all.into_iter().collect::<Vec<_>>(), [1, 2, 3]);
        let v = ok(
            "States.MathRandom($.s, $.e, $.seed)",
            json!({"s": 2147483640, "e": 2147483647, "seed": 1}),
        );
        assert!((2147483640..2147483647).contains(&v.as_i64().unwrap()));
        let v = ok("States.MathRandom(-1000000, 1000000)", json!({}));
        assert!((-1000000..1000000).contains(&v.as_i64().unwrap()));
    }

    #[test]
    fn random_with_a_seed_repeats_itself() {
        let a = run_seeded("States.MathRandom(1, 1000, 42)", json!({}), 1).unwrap();
        let b = run_seeded("States.MathRandom(1, 1000, 42)", json!({}), 2).unwrap();
        assert_eq!(a, b);
        let both = ok(
            "States.Array(States.MathRandom(1, 10, -10), States.MathRandom(1, 10, -10))",
            json!({}),
        );
        assert_eq!(both[0], both[1]);
        let zero = ok("States.MathRandom(1, 10, 0)", json!({}));
        assert!((1..10).contains(&zero.as_i64().unwrap()));
    }

    #[test]
    fn random_without_a_seed_draws_from_the_environment() {
        let a = run_seeded("States.MathRandom(0, 1000000)", json!({}), 1).unwrap();
        let b = run_seeded("States.MathRandom(0, 1000000)", json!({}), 1).unwrap();
        let c = run_seeded("States.MathRandom(0, 1000000)", json!({}), 2).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn random_rejects_bad_arguments() {
        for f in [
            "States.MathRandom(1, 1)",
            "States.MathRandom(10, 5)",
            "States.MathRandom(1.4, 1.6)",
            "States.MathRandom(1.49, 1.49)",
            "States.MathRandom('a', 10)",
            "States.MathRandom(1, 'b')",
            "States.MathRandom(1, 10, 'seed')",
            "States.MathRandom(1, 10, null)",
            "States.MathRandom(1, 3000000000)",
        ] {
            invalid(f, json!({}));
        }
    }

    #[test]
    fn uuid_is_version_4() {
        let v = run_seeded("States.UUID()", json!({}), 3).unwrap();
        let s = v.as_str().unwrap();
        assert_eq!(s.len(), 36);
        let groups: Vec<&str> = s.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(s
            .chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(groups[2].starts_with('4'));
        assert!(matches!(
            groups[3].chars().next(),
            Some('8' | '9' | 'a' | 'b')
        ));
        assert_eq!(v, run_seeded("States.UUID()", json!({}), 3).unwrap());
        assert_ne!(v, run_seeded("States.UUID()", json!({}), 4).unwrap());
        let two = ok("States.Array(States.UUID(), States.UUID())", json!({}));
        assert_ne!(two[0], two[1]);
    }
}
