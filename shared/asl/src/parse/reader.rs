//! Typed access to the fields of a JSON object, recording a diagnostic for every field of the
//! wrong type instead of stopping at the first.

use serde_json::{Map, Value};

use crate::diag::{codes, pointer, Diagnostic};
use crate::jsonata::JsonataTemplate;
use crate::model::{Assign, Dynamic, NullablePath, QueryLanguage};
use crate::path::Path;
use crate::template::Template;

use super::ParseOptions;

pub struct Parser<'o> {
    pub diags: Vec<Diagnostic>,
    pub opts: &'o ParseOptions,
    /// Every state name of every graph (by the graph's JSON Pointer), including states that
    /// did not parse, so that graph checks still run without reporting phantom problems.
    pub graph_names: std::collections::HashMap<String, Vec<String>>,
}

impl<'o> Parser<'o> {
    pub fn new(opts: &'o ParseOptions) -> Self {
        Parser {
            diags: Vec::new(),
            opts,
            graph_names: Default::default(),
        }
    }

    pub fn schema(&mut self, ptr: impl Into<String>, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(
            codes::SCHEMA_VALIDATION_FAILED,
            ptr,
            message,
        ));
    }

    pub fn error(
        &mut self,
        code: &'static str,
        ptr: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.diags.push(Diagnostic::error(code, ptr, message));
    }

    pub fn warn(&mut self, code: &'static str, ptr: impl Into<String>, message: impl Into<String>) {
        self.diags.push(Diagnostic::warning(code, ptr, message));
    }

    /// Reports fields not in `allowed`.
    pub fn only(&mut self, o: &Obj, allowed: &[&str], what: &str) {
        for key in o.map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.schema(
                    o.at(key),
                    format!("The field '{key}' is not supported by Step Functions in {what}"),
                );
            }
        }
    }

    pub fn string<'v>(&mut self, o: &Obj<'v>, key: &str) -> Option<&'v str> {
        match o.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.schema(
                    o.at(key),
                    format!(
                        "'{key}' must be a string, not {}",
                        crate::json::type_name(other)
                    ),
                );
                None
            }
        }
    }

    pub fn req_string<'v>(&mut self, o: &Obj<'v>, key: &str) -> Option<&'v str> {
        if !o.has(key) {
            self.schema(
                o.ptr_or_root(),
                format!("The field '{key}' is required but was missing"),
            );
            return None;
        }
        self.string(o, key)
    }

    pub fn bool(&mut self, o: &Obj, key: &str) -> Option<bool> {
        match o.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.schema(
                    o.at(key),
                    format!(
                        "'{key}' must be a boolean, not {}",
                        crate::json::type_name(other)
                    ),
                );
                None
            }
        }
    }

    /// A non-negative integer no smaller than `min`.
    pub fn uint(&mut self, o: &Obj, key: &str, min: u64) -> Option<u64> {
        let v = o.get(key)?;
        match v.as_u64().or_else(|| {
            crate::json::as_integer(v)
                .filter(|n| *n >= 0)
                .map(|n| n as u64)
        }) {
            Some(n) if n >= min => Some(n),
            _ => {
                let what = if min == 0 {
                    "a non-negative integer"
                } else {
                    "a positive integer"
                };
                self.schema(
                    o.at(key),
                    format!("'{key}' must be {what}, got {}", crate::json::to_text(v)),
                );
                None
            }
        }
    }

    pub fn number(&mut self, o: &Obj, key: &str) -> Option<f64> {
        match o.get(key)? {
            Value::Number(n) => n.as_f64(),
            other => {
                self.schema(
                    o.at(key),
                    format!(
                        "'{key}' must be a number, not {}",
                        crate::json::type_name(other)
                    ),
                );
                None
            }
        }
    }

    pub fn path(&mut self, o: &Obj, key: &str, reference: bool) -> Option<Path> {
        let src = self.string(o, key)?;
        self.path_text(&o.at(key), key, src, reference)
    }

    pub fn path_text(&mut self, ptr: &str, key: &str, src: &str, reference: bool) -> Option<Path> {
        let parsed = if reference {
            Path::parse_reference(src)
        } else {
            Path::parse(src)
        };
        match parsed {
            Ok(p) => Some(p),
            Err(e) => {
                let kind = if reference {
                    "a valid reference path"
                } else {
                    "a valid JSONPath"
                };
                self.schema(
                    ptr,
                    format!(
                        "The value for the field '{key}' must be {kind}: '{}': {e}",
                        crate::json::clip(src)
                    ),
                );
                None
            }
        }
    }

    /// InputPath, OutputPath, ResultPath: a path, or `null` for "nothing".
    pub fn nullable_path(&mut self, o: &Obj, key: &str, reference: bool) -> Option<NullablePath> {
        match o.get(key)? {
            Value::Null => Some(NullablePath::Null),
            _ => self.path(o, key, reference).map(NullablePath::Path),
        }
    }

    pub fn template(&mut self, o: &Obj, key: &str) -> Option<Template> {
        let v = o.get(key)?;
        self.warn_no_dollar(&o.at(key), v);
        match Template::compile(v) {
            Ok(t) => Some(t),
            Err(errors) => {
                for e in errors {
                    self.error(e.code, format!("{}{}", o.at(key), e.pointer), e.message);
                }
                None
            }
        }
    }

    /// A value with `{% %}` expressions inside (JSONata Arguments, Output, Items …).
    pub fn jsonata(&mut self, o: &Obj, key: &str) -> Option<JsonataTemplate> {
        let v = o.get(key)?;
        self.jsonata_at(&o.at(key), v)
    }

    pub fn jsonata_at(&mut self, ptr: &str, v: &Value) -> Option<JsonataTemplate> {
        match JsonataTemplate::compile(v) {
            Ok(t) => Some(t),
            Err(errors) => {
                for e in errors {
                    self.error(e.code, format!("{ptr}{}", e.pointer), e.message);
                }
                None
            }
        }
    }

    /// `Assign`: an object of variable names to values (templates in JSONPath states,
    /// expressions in JSONata states).
    pub fn assign(&mut self, o: &Obj, key: &str, ql: QueryLanguage) -> Option<Assign> {
        let v = o.get(key)?;
        let ptr = o.at(key);
        let Value::Object(map) = v else {
            self.schema(
                ptr,
                format!("'{key}' must be an object of variable names to values"),
            );
            return None;
        };
        for name in map.keys() {
            let var = match ql {
                QueryLanguage::JsonPath => name.strip_suffix(".$").unwrap_or(name),
                QueryLanguage::Jsonata => name.as_str(),
            };
            if !valid_variable_name(var) {
                self.schema(
                    pointer(&ptr, name),
                    format!("'{var}' is not a valid variable name: it must start with a letter or '_', hold only letters, digits and '_', and be at most 80 characters"),
                );
            } else if var == "states" {
                self.schema(
                    pointer(&ptr, name),
                    "'states' is reserved and cannot be assigned",
                );
            }
        }
        match ql {
            QueryLanguage::JsonPath => match Template::compile(v) {
                Ok(t) => Some(Assign::JsonPath(t)),
                Err(errors) => {
                    for e in errors {
                        self.error(e.code, format!("{ptr}{}", e.pointer), e.message);
                    }
                    None
                }
            },
            QueryLanguage::Jsonata => self.jsonata_at(&ptr, v).map(Assign::Jsonata),
        }
    }

    /// A number field that is a literal, a `…Path` sibling, or (JSONata) an expression.
    pub fn dynamic_uint(
        &mut self,
        o: &Obj,
        key: &str,
        path_key: Option<&str>,
        min: u64,
        ql: QueryLanguage,
    ) -> Option<Dynamic<u64>> {
        if let Some(pk) = path_key {
            if o.has(key) && o.has(pk) {
                self.schema(
                    o.ptr_or_root(),
                    format!("'{key}' and '{pk}' are mutually exclusive"),
                );
                return None;
            }
            if o.has(pk) {
                return self.path(o, pk, true).map(Dynamic::Path);
            }
        }
        match o.get(key)? {
            Value::String(s) if ql == QueryLanguage::Jsonata && is_jsonata(s) => {
                self.jsonata(o, key).map(Dynamic::Jsonata)
            }
            _ => self.uint(o, key, min).map(Dynamic::Literal),
        }
    }
}

impl Parser<'_> {
    /// A plain field whose value looks like a path or an intrinsic was probably meant to end
    /// in `.$`; AWS warns about it, and so do we.
    fn warn_no_dollar(&mut self, ptr: &str, v: &Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let here = pointer(ptr, k);
                    if let (false, Value::String(s)) = (k.ends_with(".$"), x) {
                        if s.starts_with("$.") || s.starts_with("$$.") || s.starts_with("States.") {
                            self.warn(
                                codes::NO_DOLLAR,
                                here.clone(),
                                format!("The value of '{k}' looks like a JSONPath or an intrinsic function, but the field name does not end with '.$', so it is used as a literal string"),
                            );
                        }
                    }
                    self.warn_no_dollar(&here, x);
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    self.warn_no_dollar(&format!("{ptr}/{i}"), x);
                }
            }
            _ => {}
        }
    }

    /// `Result` of a Pass state is used as written, `.$` fields included.
    pub fn warn_static_result(&mut self, ptr: &str, v: &Value) {
        let dynamic = match v {
            Value::Object(m) => m.keys().any(|k| k.ends_with(".$")),
            _ => false,
        };
        if dynamic {
            self.warn(
                codes::PASS_RESULT_IS_STATIC,
                ptr,
                "Fields ending in '.$' in a Pass state's 'Result' are not evaluated; use 'Parameters' to compute values",
            );
        }
    }
}

/// Variable names as AWS accepts them (JSONata identifiers).
pub fn valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 80
}

/// `{% … %}`: a JSONata expression in a JSONata state.
pub fn is_jsonata(s: &str) -> bool {
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

/// A JSON object being read, with its JSON Pointer.
pub struct Obj<'v> {
    pub map: &'v Map<String, Value>,
    pub ptr: String,
}

impl<'v> Obj<'v> {
    pub fn new(map: &'v Map<String, Value>, ptr: String) -> Self {
        Obj { map, ptr }
    }

    pub fn get(&self, key: &str) -> Option<&'v Value> {
        self.map.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn at(&self, key: &str) -> String {
        pointer(&self.ptr, key)
    }

    /// The pointer of this object; the root is `/` in AWS's messages.
    pub fn ptr_or_root(&self) -> String {
        if self.ptr.is_empty() {
            "/".into()
        } else {
            self.ptr.clone()
        }
    }

    /// A member that must be an object.
    pub fn object(&self, p: &mut Parser, key: &str) -> Option<Obj<'v>> {
        match self.get(key)? {
            Value::Object(m) => Some(Obj::new(m, self.at(key))),
            other => {
                p.schema(
                    self.at(key),
                    format!(
                        "'{key}' must be an object, not {}",
                        crate::json::type_name(other)
                    ),
                );
                None
            }
        }
    }
}
