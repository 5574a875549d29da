//! Evaluating Choice rules (JSONPath): AWS compares only values of the operator's type — a
//! comparison against a value of another type is simply false — and a Variable that is not
//! there is an error, except for the `Is…` tests.

use std::cmp::Ordering;

use serde_json::Value;

use crate::env::Env;
use crate::error::Failure;
use crate::jsonata::JsonataTemplate;
use crate::model::{ChoiceRule, Comparison, Operand, OperandKind, TypeTest};
use crate::path::Path;
use crate::timestamp::Timestamp;

/// Evaluates a JSONPath rule. JSONata `Condition`s are evaluated by the caller, which owns the
/// JSONata evaluator; `condition` is asked for them.
pub fn evaluate(
    rule: &ChoiceRule,
    env: &Env,
    condition: &mut dyn FnMut(&JsonataTemplate) -> Result<bool, Failure>,
) -> Result<bool, Failure> {
    Ok(match rule {
        ChoiceRule::And(rules) => {
            for r in rules {
                if !evaluate(r, env, condition)? {
                    return Ok(false);
                }
            }
            true
        }
        ChoiceRule::Or(rules) => {
            for r in rules {
                if evaluate(r, env, condition)? {
                    return Ok(true);
                }
            }
            false
        }
        ChoiceRule::Not(r) => !evaluate(r, env, condition)?,
        ChoiceRule::Condition(v) => condition(v)?,
        ChoiceRule::Test {
            variable,
            test,
            expected,
        } => {
            let value = env.select(variable)?;
            let holds = match (test, value.as_deref()) {
                (TypeTest::IsPresent, v) => v.is_some(),
                (_, None) => false,
                (TypeTest::IsNull, Some(v)) => v.is_null(),
                (TypeTest::IsNumeric, Some(v)) => v.is_number(),
                (TypeTest::IsString, Some(v)) => v.is_string(),
                (TypeTest::IsBoolean, Some(v)) => v.is_boolean(),
                (TypeTest::IsTimestamp, Some(v)) => v.as_str().and_then(Timestamp::parse).is_some(),
            };
            holds == *expected
        }
        ChoiceRule::Compare {
            variable,
            comparison,
            operand,
        } => {
            let left = required(env, variable)?;
            let right = match operand {
                Operand::Literal(v) => v.clone(),
                Operand::Path(p) => required(env, p)?,
            };
            compare(*comparison, &left, &right)
        }
    })
}

fn required(env: &Env, path: &Path) -> Result<Value, Failure> {
    match env.select(path)? {
        Some(v) => Ok(v.into_owned()),
        None => Err(Failure::runtime(format!(
            "Invalid path '{}': The choice state's condition path references an invalid value.",
            path.source()
        ))),
    }
}

/// Whether `left <op> right` holds, false when either side is not of the operator's type.
pub fn compare(op: Comparison, left: &Value, right: &Value) -> bool {
    use Comparison::*;
    match op.operand_kind() {
        OperandKind::String => {
            let (Some(a), Some(b)) = (left.as_str(), right.as_str()) else {
                return false;
            };
            if op == StringMatches {
                return string_matches(a, b);
            }
            // Java compares UTF-16 code units; so do we, to order strings exactly as AWS does.
            ordered(op, a.encode_utf16().cmp(b.encode_utf16()))
        }
        OperandKind::Number => {
            let (Value::Number(a), Value::Number(b)) = (left, right) else {
                return false;
            };
            let ord = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => match x.partial_cmp(&y) {
                        Some(o) => o,
                        None => return false,
                    },
                    _ => return false,
                },
            };
            ordered(op, ord)
        }
        OperandKind::Boolean => match (left, right) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        },
        OperandKind::Timestamp => {
            let parse = |v: &Value| v.as_str().and_then(Timestamp::parse);
            let (Some(a), Some(b)) = (parse(left), parse(right)) else {
                return false;
            };
            ordered(op, a.cmp(&b))
        }
    }
}

fn ordered(op: Comparison, ord: Ordering) -> bool {
    use Comparison::*;
    match op {
        StringEquals | NumericEquals | TimestampEquals | BooleanEquals => ord == Ordering::Equal,
        StringLessThan | NumericLessThan | TimestampLessThan => ord == Ordering::Less,
        StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => ord == Ordering::Greater,
        StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => {
            ord != Ordering::Greater
        }
        StringGreaterThanEquals | NumericGreaterThanEquals | TimestampGreaterThanEquals => {
            ord != Ordering::Less
        }
        StringMatches => false,
    }
}

/// `*` matches any run of characters; `\*` and `\\` stand for a literal `*` and `\`.
pub fn string_matches(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => toks.push(Tok::Char(e)),
                None => toks.push(Tok::Char('\\')),
            },
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Iterative wildcard match with backtracking to the last star.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < toks.len() && toks[p] == Tok::Char(text[t]) {
            t += 1;
            p += 1;
        } else if p < toks.len() && toks[p] == Tok::Star {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while p < toks.len() && toks[p] == Tok::Star {
        p += 1;
    }
    p == toks.len()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn string_matches_wildcards_and_escapes() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("anything", "*"));
        assert!(string_matches("", "*"));
        assert!(!string_matches("log.csv", "log-*.txt"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("a\\b", "a\\\\b"));
        assert!(string_matches("abcabc", "*abc"));
        assert!(string_matches("xaybz", "*a*b*"));
    }

    #[test]
    fn comparisons_of_other_types_are_false() {
        assert!(!compare(Comparison::NumericEquals, &json!("1"), &json!(1)));
        assert!(!compare(
            Comparison::BooleanEquals,
            &json!(0),
            &json!(false)
        ));
        assert!(!compare(Comparison::StringEquals, &json!(null), &json!("")));
        assert!(!compare(
            Comparison::TimestampEquals,
            &json!("2012-10-09T19:00:55"),
            &json!("2012-10-09T19:00:55")
        ));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(compare(Comparison::NumericEquals, &json!(1), &json!(1.0)));
        assert!(!compare(
            Comparison::NumericEquals,
            &json!(1.1),
            &json!(1.0)
        ));
        assert!(compare(
            Comparison::NumericLessThanEquals,
            &json!(-1),
            &json!(0.5)
        ));
        assert!(compare(
            Comparison::NumericGreaterThan,
            &json!(u64::MAX),
            &json!(1)
        ));
    }

    #[test]
    fn strings_order_as_java_does() {
        assert!(compare(
            Comparison::StringLessThan,
            &json!("a"),
            &json!("b")
        ));
        assert!(compare(
            Comparison::StringGreaterThanEquals,
            &json!("b"),
            &json!("b")
        ));
        // U+FF61 sorts after U+1F600 in UTF-16 (surrogates are 0xD8xx), before it in UTF-8.
        assert!(compare(
            Comparison::StringGreaterThan,
            &json!("\u{ff61}"),
            &json!("\u{1f600}")
        ));
    }

    #[test]
    fn timestamps_compare_as_instants() {
        assert!(compare(
            Comparison::TimestampEquals,
            &json!("2012-10-09T20:00:55+01:00"),
            &json!("2012-10-09T19:00:55Z")
        ));
        assert!(compare(
            Comparison::TimestampLessThan,
            &json!("2012-10-09T19:00:55Z"),
            &json!("2012-10-09T19:00:56Z")
        ));
    }
}
