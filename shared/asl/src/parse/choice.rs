//! Parsing Choice states: their rules, each with exactly one operator and an operand of the
//! operator's type.

use serde_json::Value;

use super::reader::{is_jsonata, Obj, Parser};
use crate::model::OperandKind;
use crate::model::{
    Choice, ChoiceBranch, ChoiceRule, Comparison, Operand, QueryLanguage, TypeTest,
};
use crate::timestamp::Timestamp;

pub fn parse_choices(p: &mut Parser, o: &Obj, ql: QueryLanguage) -> Option<Choice> {
    let default = p.string(o, "Default").map(str::to_string);
    let Some(v) = o.get("Choices") else {
        p.schema(
            o.ptr.clone(),
            "The field 'Choices' is required but was missing",
        );
        return None;
    };
    let Value::Array(items) = v else {
        p.schema(o.at("Choices"), "'Choices' must be a non-empty array");
        return None;
    };
    if items.is_empty() {
        p.schema(o.at("Choices"), "'Choices' must be a non-empty array");
        return None;
    }
    let mut choices = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let ptr = format!("{}/{i}", o.at("Choices"));
        let Value::Object(m) = item else {
            p.schema(ptr, "Each choice rule must be an object");
            ok = false;
            continue;
        };
        let r = Obj::new(m, ptr);
        let next = p.req_string(&r, "Next").map(str::to_string);
        let rule = match ql {
            QueryLanguage::JsonPath => parse_rule(p, &r, &["Next", "Assign", "Comment"]),
            QueryLanguage::Jsonata => parse_condition(p, &r),
        };
        let assign = p.assign(&r, "Assign", ql);
        let output = if ql == QueryLanguage::Jsonata {
            p.jsonata(&r, "Output")
        } else {
            None
        };
        match (rule, next) {
            (Some(rule), Some(next)) => choices.push(ChoiceBranch {
                rule,
                next,
                assign,
                output,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(Choice { choices, default })
}

fn parse_condition(p: &mut Parser, r: &Obj) -> Option<ChoiceRule> {
    p.only(
        r,
        &["Condition", "Next", "Assign", "Output", "Comment"],
        "a JSONata choice rule",
    );
    match r.get("Condition") {
        None => {
            p.schema(
                r.ptr.clone(),
                "The field 'Condition' is required but was missing",
            );
            None
        }
        Some(Value::Bool(_)) => p.jsonata(r, "Condition").map(ChoiceRule::Condition),
        Some(Value::String(s)) if is_jsonata(s) => {
            p.jsonata(r, "Condition").map(ChoiceRule::Condition)
        }
        Some(_) => {
            p.schema(
                r.at("Condition"),
                "'Condition' must be a boolean or a JSONata expression '{% … %}'",
            );
            None
        }
    }
}

enum Operator {
    Compare(Comparison, bool),
    Test(TypeTest),
    And,
    Or,
    Not,
}

fn operator_of(key: &str) -> Option<Operator> {
    match key {
        "And" => return Some(Operator::And),
        "Or" => return Some(Operator::Or),
        "Not" => return Some(Operator::Not),
        _ => {}
    }
    if let Some(t) = TypeTest::ALL.iter().find(|t| t.name() == key) {
        return Some(Operator::Test(*t));
    }
    for c in Comparison::ALL {
        if key == c.name() {
            return Some(Operator::Compare(c, false));
        }
        if c.has_path_form() && key.strip_suffix("Path") == Some(c.name()) {
            return Some(Operator::Compare(c, true));
        }
    }
    None
}

/// A rule object; `extra` are the fields a top-level rule may also carry.
fn parse_rule(p: &mut Parser, r: &Obj, extra: &[&str]) -> Option<ChoiceRule> {
    let mut ops = Vec::new();
    for key in r.map.keys() {
        if let Some(op) = operator_of(key) {
            ops.push((key.as_str(), op));
        } else if key != "Variable" && !extra.contains(&key.as_str()) {
            let message = if key == "Next" {
                "'Next' is only allowed in the top-level rules of 'Choices', not in nested ones"
                    .to_string()
            } else if key == "Condition" {
                "'Condition' is supported only when QueryLanguage is JSONata".to_string()
            } else {
                format!("The field '{key}' is not supported by Step Functions in a choice rule")
            };
            p.schema(r.at(key), message);
        }
    }
    if ops.len() != 1 {
        let found: Vec<&str> = ops.iter().map(|(k, _)| *k).collect();
        p.schema(
            r.ptr.clone(),
            if found.is_empty() {
                "A choice rule must have exactly one comparison operator, or And, Or or Not"
                    .to_string()
            } else {
                format!(
                    "A choice rule must have exactly one operator, found {}",
                    found.join(", ")
                )
            },
        );
        return None;
    }
    let (key, op) = ops.pop().expect("exactly one operator");
    let value = r.get(key).expect("operator key present");
    match op {
        Operator::And | Operator::Or => {
            if r.has("Variable") {
                p.schema(
                    r.at("Variable"),
                    format!("'Variable' is not allowed with '{key}'"),
                );
            }
            let Value::Array(items) = value else {
                p.schema(
                    r.at(key),
                    format!("'{key}' must be a non-empty array of choice rules"),
                );
                return None;
            };
            if items.is_empty() {
                p.schema(
                    r.at(key),
                    format!("'{key}' must be a non-empty array of choice rules"),
                );
                return None;
            }
            let mut rules = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let ptr = format!("{}/{i}", r.at(key));
                match item {
                    Value::Object(m) => rules.push(parse_rule(p, &Obj::new(m, ptr), &["Comment"])),
                    _ => {
                        p.schema(ptr, "Each nested choice rule must be an object");
                        rules.push(None);
                    }
                }
            }
            let rules: Option<Vec<_>> = rules.into_iter().collect();
            let rules = rules?;
            Some(if key == "And" {
                ChoiceRule::And(rules)
            } else {
                ChoiceRule::Or(rules)
            })
        }
        Operator::Not => {
            if r.has("Variable") {
                p.schema(r.at("Variable"), "'Variable' is not allowed with 'Not'");
            }
            let Value::Object(m) = value else {
                p.schema(r.at(key), "'Not' must be a choice rule object");
                return None;
            };
            let inner = parse_rule(p, &Obj::new(m, r.at(key)), &["Comment"])?;
            Some(ChoiceRule::Not(Box::new(inner)))
        }
        Operator::Test(_) | Operator::Compare(..) => leaf_rule(p, r, key, op, value),
    }
}

/// A comparison or type test: apart from [`parse_rule`], whose recursion (And, Or, Not nested
/// up to the definition's depth bound) must not carry this arm's paths and operands in every
/// frame.
#[inline(never)]
fn leaf_rule(
    p: &mut Parser,
    r: &Obj,
    key: &str,
    op: Operator,
    value: &Value,
) -> Option<ChoiceRule> {
    match op {
        Operator::Test(test) => {
            let variable = variable(p, r)?;
            let Value::Bool(expected) = value else {
                p.schema(r.at(key), format!("'{key}' must be a boolean"));
                return None;
            };
            Some(ChoiceRule::Test {
                variable,
                test,
                expected: *expected,
            })
        }
        Operator::Compare(comparison, is_path) => {
            let variable = variable(p, r);
            let operand = if is_path {
                match value {
                    Value::String(s) => p.path_text(&r.at(key), key, s, true).map(Operand::Path),
                    _ => {
                        p.schema(
                            r.at(key),
                            format!("'{key}' must be a string holding a JSONPath"),
                        );
                        None
                    }
                }
            } else {
                literal_operand(p, &r.at(key), key, comparison, value)
            };
            Some(ChoiceRule::Compare {
                variable: variable?,
                comparison,
                operand: operand?,
            })
        }
        Operator::And | Operator::Or | Operator::Not => None, // parse_rule's
    }
}

fn variable(p: &mut Parser, r: &Obj) -> Option<crate::path::Path> {
    if !r.has("Variable") {
        p.schema(
            r.ptr.clone(),
            "The field 'Variable' is required but was missing",
        );
        return None;
    }
    p.path(r, "Variable", true)
}

fn literal_operand(
    p: &mut Parser,
    ptr: &str,
    key: &str,
    comparison: Comparison,
    value: &Value,
) -> Option<Operand> {
    let ok = match comparison.operand_kind() {
        OperandKind::String => value.is_string(),
        OperandKind::Number => value.is_number(),
        OperandKind::Boolean => value.is_boolean(),
        OperandKind::Timestamp => match value.as_str() {
            Some(s) => {
                if Timestamp::parse(s).is_none() {
                    p.schema(
                        ptr,
                        format!("'{key}' must be an RFC3339 timestamp, got '{s}'"),
                    );
                    return None;
                }
                true
            }
            None => false,
        },
    };
    if !ok {
        let kind = match comparison.operand_kind() {
            OperandKind::String | OperandKind::Timestamp => "a string",
            OperandKind::Number => "a number",
            OperandKind::Boolean => "a boolean",
        };
        p.schema(
            ptr,
            format!(
                "'{key}' must be {kind}, not {}",
                crate::json::type_name(value)
            ),
        );
        return None;
    }
    Some(Operand::Literal(value.clone()))
}
