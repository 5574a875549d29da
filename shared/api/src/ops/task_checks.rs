//! What a definition's Task states ask of the integrations, checked when the definition is
//! created, updated or validated — as AWS refuses an `aws-sdk` action that does not exist or a
//! parameter it does not take at CreateStateMachine, not at run time. The integrations
//! themselves judge ([`waymark_engine::ports::Tasks::check`]); this walks the states and turns
//! a refusal into a diagnostic at the field's pointer.

use serde_json::{Map, Value};
use waymark_asl::diag::{codes, Diagnostic};
use waymark_asl::model::{Graph, QueryLanguage, StateKind};
use waymark_asl::template::Template;
use waymark_engine::ports::TaskCheck;

use crate::backend::Backend;

/// The judge: a home's [`Backend::check_task`], or `waymark validate`'s own.
pub type Check<'c> = &'c dyn Fn(&TaskCheck<'_>) -> Result<(), String>;

/// Every Task state of `graph` and the graphs nested in it, checked by the home.
pub fn check_tasks<B: Backend + ?Sized>(b: &B, graph: &Graph) -> Vec<Diagnostic> {
    check_tasks_with(graph, &|w| b.check_task(w))
}

/// Every Task state of `graph` and the graphs nested in it, checked by `check`.
pub fn check_tasks_with(graph: &Graph, check: Check<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk(check, graph, "", &mut out);
    out
}

fn walk(b: Check<'_>, graph: &Graph, at: &str, out: &mut Vec<Diagnostic>) {
    for (name, state) in &graph.states {
        let here = format!("{at}/States/{}", escape(name));
        match &state.kind {
            StateKind::Task(t) => {
                let (field, parameters) = match state.query_language {
                    QueryLanguage::JsonPath => {
                        ("Parameters", state.io.parameters.as_ref().map(skeleton))
                    }
                    QueryLanguage::Jsonata => (
                        "Arguments",
                        state
                            .io
                            .arguments
                            .as_ref()
                            .map(|a| a.source_value())
                            .filter(Value::is_object),
                    ),
                };
                let check = TaskCheck::Task {
                    resource: &t.resource,
                    parameters: parameters.as_ref(),
                };
                if let Err(why) = b(&check) {
                    // A parameter the action does not take is the Parameters' fault; anything
                    // else (no such service or action, a pattern it lacks) the Resource's.
                    let blame = if why.starts_with("unknown parameter")
                        || why.contains("takes no parameters")
                    {
                        field
                    } else {
                        "Resource"
                    };
                    out.push(Diagnostic::error(
                        codes::SCHEMA_VALIDATION_FAILED,
                        format!("{here}/{blame}"),
                        why,
                    ));
                }
            }
            StateKind::Parallel(p) => {
                for (i, g) in p.branches.iter().enumerate() {
                    walk(b, g, &format!("{here}/Branches/{i}"), out);
                }
            }
            StateKind::Map(m) => {
                let field = if m.legacy_iterator {
                    "Iterator"
                } else {
                    "ItemProcessor"
                };
                walk(b, &m.processor, &format!("{here}/{field}"), out);
            }
            _ => {}
        }
    }
}

/// A template as the names it has: literal values as written, `Name.$` fields (filled in at
/// run time) as `null` under their `.$` name, which the checks take as present.
fn skeleton(t: &Template) -> Value {
    match t {
        Template::Literal(v) => v.clone(),
        Template::Array(items) => Value::Array(items.iter().map(skeleton).collect()),
        Template::Object(fields) => {
            let mut m = Map::new();
            for (k, v) in fields {
                match v {
                    Template::Path(_) | Template::Intrinsic(_) => {
                        m.insert(format!("{k}.$"), Value::Null);
                    }
                    other => {
                        m.insert(k.clone(), skeleton(other));
                    }
                }
            }
            Value::Object(m)
        }
        Template::Path(_) | Template::Intrinsic(_) => Value::Null,
    }
}

fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use waymark_asl::parse::{parse_value, ParseOptions};

    use super::*;

    /// Refuses the resource "bad", and a parameter named "Nope" anywhere.
    fn judge(what: &TaskCheck<'_>) -> Result<(), String> {
        match what {
            TaskCheck::Task { resource, .. } if resource.ends_with(":bad") => {
                Err("no such action".into())
            }
            TaskCheck::Task {
                parameters: Some(p),
                ..
            } if p.to_string().contains("\"Nope\"") => Err("unknown parameter 'Nope'".into()),
            _ => Ok(()),
        }
    }

    #[test]
    fn refusals_point_at_the_resource_or_the_parameters_at_any_depth() {
        let def = serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Branches": [{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
                "ItemProcessor": {"StartAt": "T", "States": {
                    "T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:bad", "Next": "U"},
                    "U": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                          "Parameters": {"Bucket.$": "$.b", "Nope": 1}, "Next": "V"},
                    "V": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                          "Parameters": {"Bucket.$": "$.b", "Key": "k"}, "End": true}}}}}}]}}});
        let parsed = parse_value(&def, &ParseOptions::default()).unwrap();
        let diags = check_tasks_with(&parsed.definition.graph, &judge);
        let at: Vec<&str> = diags.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            at,
            [
                "/States/P/Branches/0/States/M/ItemProcessor/States/T/Resource",
                "/States/P/Branches/0/States/M/ItemProcessor/States/U/Parameters",
            ]
        );
        assert!(diags
            .iter()
            .all(|d| d.code == codes::SCHEMA_VALIDATION_FAILED));
    }

    #[test]
    fn paths_count_as_present_parameters() {
        let t = Template::compile(&serde_json::json!({"A.$": "$.x", "B": {"C": 1}})).unwrap();
        assert_eq!(
            skeleton(&t),
            serde_json::json!({"A.$": null, "B": {"C": 1}})
        );
    }
}
