//! The definition TestState takes: one state on its own (`{"Type": "Pass", …}`), or a whole
//! state machine with the name of the state to test. A lone state is parsed inside a machine
//! of its own whose other states stand for the targets it names (`Next`, `Default`, a Choice
//! rule's or a catcher's `Next`), so that it goes through the same parser and checks as any
//! state; diagnostics point into the state as the caller wrote it.

use serde_json::{json, Map, Value};

use super::{parse_value, ParseOptions};
use crate::diag::{codes, Diagnostic};
use crate::model::Definition;

/// The name a lone state is tested under (it is `$$.State.Name`).
pub const LONE_STATE_NAME: &str = "TestState";

/// A definition ready to test: the machine, and the top-level state to run.
#[derive(Debug, Clone)]
pub struct TestDefinition {
    pub definition: Definition,
    pub state: String,
}

/// Parses TestState's `definition` (and `stateName`).
pub fn parse_test_definition(
    text: &str,
    state_name: Option<&str>,
) -> Result<TestDefinition, Vec<Diagnostic>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![Diagnostic::error(
            codes::INVALID_JSON_DESCRIPTION,
            "",
            format!("Definition is not valid JSON: {e}"),
        )]
    })?;
    let Value::Object(map) = &value else {
        return Err(vec![Diagnostic::error(
            codes::SCHEMA_VALIDATION_FAILED,
            "",
            "Definition must be a valid JSON object",
        )]);
    };
    let opts = ParseOptions::default();
    if map.contains_key("States") || map.contains_key("StartAt") {
        let parsed = parse_value(&value, &opts)?;
        let state = match state_name {
            Some(s) => s.to_string(),
            None => parsed.definition.graph.start_at.clone(),
        };
        if parsed.definition.graph.state(&state).is_none() {
            return Err(vec![Diagnostic::error(
                codes::SCHEMA_VALIDATION_FAILED,
                "/States",
                format!("The state machine has no top-level state named '{state}'"),
            )]);
        }
        return Ok(TestDefinition {
            definition: parsed.definition,
            state,
        });
    }
    let name = state_name.unwrap_or(LONE_STATE_NAME).to_string();
    let mut states = Map::new();
    states.insert(name.clone(), value.clone());
    for target in targets(map) {
        if target != name && !states.contains_key(&target) {
            states.insert(target, json!({"Type": "Succeed"}));
        }
    }
    let mut machine = Map::new();
    // The lone state's query language is the machine's, so a JSONata state tests as one.
    if let Some(q) = map.get("QueryLanguage") {
        machine.insert("QueryLanguage".into(), q.clone());
    }
    machine.insert("StartAt".into(), Value::String(name.clone()));
    machine.insert("States".into(), Value::Object(states));
    let prefix = format!("/States/{}", escape_pointer(&name));
    let parsed = parse_value(&Value::Object(machine), &opts).map_err(|diags| {
        diags
            .into_iter()
            .map(|mut d| {
                if let Some(rest) = d.path.strip_prefix(&prefix) {
                    d.path = rest.to_string();
                }
                d
            })
            .collect::<Vec<_>>()
    })?;
    Ok(TestDefinition {
        definition: parsed.definition,
        state: name,
    })
}

/// The state names a lone state transitions to.
fn targets(state: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |v: Option<&Value>| {
        if let Some(Value::String(s)) = v {
            out.push(s.clone());
        }
    };
    add(state.get("Next"));
    add(state.get("Default"));
    for list in ["Choices", "Catch"] {
        if let Some(Value::Array(items)) = state.get(list) {
            for item in items {
                add(item.get("Next"));
            }
        }
    }
    out
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_state_is_tested_under_its_own_name_with_its_targets_standing_in() {
        let t = parse_test_definition(
            r#"{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"One"}],"Default":"Other"}"#,
            None,
        )
        .unwrap();
        assert_eq!(t.state, LONE_STATE_NAME);
        assert!(t.definition.graph.state("One").is_some());
        assert!(t.definition.graph.state("Other").is_some());
    }

    #[test]
    fn a_whole_machine_needs_the_state_to_exist_and_defaults_to_start_at() {
        let def =
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}"#;
        assert_eq!(parse_test_definition(def, None).unwrap().state, "A");
        assert_eq!(parse_test_definition(def, Some("B")).unwrap().state, "B");
        let e = parse_test_definition(def, Some("C")).unwrap_err();
        assert!(e[0].message.contains("'C'"), "{e:?}");
    }

    #[test]
    fn diagnostics_point_into_the_lone_state() {
        let e = parse_test_definition(r#"{"Type":"Pass","InputPath":"x","End":true}"#, None)
            .unwrap_err();
        assert_eq!(e[0].path, "/InputPath", "{e:?}");
        let e = parse_test_definition(r#"{"Type":"Nope"}"#, None).unwrap_err();
        assert!(!e.is_empty());
        let e = parse_test_definition("[1]", None).unwrap_err();
        assert_eq!(e[0].code, codes::SCHEMA_VALIDATION_FAILED);
    }

    #[test]
    fn a_jsonata_state_keeps_its_query_language() {
        let t = parse_test_definition(
            r#"{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% $states.input.a %}","End":true}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            t.definition.graph.states[LONE_STATE_NAME].query_language,
            crate::model::QueryLanguage::Jsonata
        );
    }
}
