//! From JSON text to a [`Definition`], reporting every problem found (not just the first) as
//! [`Diagnostic`]s with JSON Pointers, the way ValidateStateMachineDefinition does.

mod choice;
mod fields;
mod graph;
mod reader;
mod single;
mod state;
#[cfg(test)]
mod tests;

use serde_json::Value;

use crate::diag::{codes, Diagnostic};
use crate::model::{Definition, QueryLanguage};

pub use reader::is_jsonata;
pub use single::{parse_test_definition, TestDefinition, LONE_STATE_NAME};

/// STANDARD or EXPRESS: some integrations (`.sync`, `.waitForTaskToken`) exist only in the
/// former.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MachineType {
    #[default]
    Standard,
    Express,
}

impl MachineType {
    pub fn as_str(self) -> &'static str {
        match self {
            MachineType::Standard => "STANDARD",
            MachineType::Express => "EXPRESS",
        }
    }
}

impl std::str::FromStr for MachineType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "STANDARD" => Ok(MachineType::Standard),
            "EXPRESS" => Ok(MachineType::Express),
            other => Err(format!(
                "unknown state machine type '{other}' (expected STANDARD or EXPRESS)"
            )),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    pub machine_type: MachineType,
}

/// A definition that parsed, with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub definition: Definition,
    pub warnings: Vec<Diagnostic>,
}

/// Parses definition text. JSON syntax errors, non-object definitions and every schema or
/// graph problem come back as diagnostics; this never panics, whatever the input.
pub fn parse_text(text: &str, opts: &ParseOptions) -> Result<Parsed, Vec<Diagnostic>> {
    if text.trim().is_empty() {
        return Err(vec![Diagnostic::error(
            codes::SCHEMA_VALIDATION_FAILED,
            "",
            "Definition must be a valid JSON object",
        )]);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![Diagnostic::error(
            codes::INVALID_JSON_DESCRIPTION,
            "",
            format!("Definition is not valid JSON: {e}"),
        )]
    })?;
    parse_value(&value, opts)
}

/// Parses a definition already read as JSON.
pub fn parse_value(value: &Value, opts: &ParseOptions) -> Result<Parsed, Vec<Diagnostic>> {
    let Value::Object(map) = value else {
        return Err(vec![Diagnostic::error(
            codes::SCHEMA_VALIDATION_FAILED,
            "",
            "Definition must be a valid JSON object",
        )]);
    };
    // Every reader below recurses into the definition (nested states, Choice rules,
    // templates): bounding its depth once, here, bounds them all.
    if let Some(ptr) = crate::json::first_too_deep(value, crate::json::MAX_DEPTH) {
        return Err(vec![Diagnostic::error(
            codes::SCHEMA_VALIDATION_FAILED,
            ptr,
            format!(
                "The definition nests arrays and objects more than {} deep",
                crate::json::MAX_DEPTH
            ),
        )]);
    }
    let mut p = reader::Parser::new(opts);
    let top = reader::Obj::new(map, String::new());
    let definition = state::parse_definition(&mut p, &top);
    if let Some(def) = &definition {
        graph::check(&mut p, def);
    }
    let (errors, warnings): (Vec<_>, Vec<_>) = p.diags.into_iter().partition(Diagnostic::is_error);
    match definition {
        Some(definition) if errors.is_empty() => Ok(Parsed {
            definition,
            warnings,
        }),
        _ => {
            let mut all = errors;
            if all.is_empty() {
                all.push(Diagnostic::error(
                    codes::SCHEMA_VALIDATION_FAILED,
                    "",
                    "Invalid definition",
                ));
            }
            Err(all)
        }
    }
}

/// The query language a definition declares at its top level (JSONPath when absent or
/// unreadable), for callers that need it before parsing succeeds.
pub fn declared_query_language(value: &Value) -> QueryLanguage {
    match value.get("QueryLanguage").and_then(Value::as_str) {
        Some("JSONata") => QueryLanguage::Jsonata,
        _ => QueryLanguage::JsonPath,
    }
}
