//! The SAM template as data: YAML with CloudFormation's short-form tags (`!Ref`, `!GetAtt`,
//! `!Sub`, …) turned into their long forms, and the intrinsic functions a test stack needs
//! resolved against parameter values and the resources created so far.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use serde_norway::Value as Yaml;

use crate::InfraError;

/// What a created resource is known by: its `Ref` and its `GetAtt` attributes.
#[derive(Debug, Clone, Default)]
pub struct Created {
    pub reference: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub doc: Value,
}

fn err(m: impl Into<String>) -> InfraError {
    InfraError::Template(m.into())
}

/// A YAML value as JSON, with `!Tag x` as `{"Fn::Tag": x}` (`!Ref` as `{"Ref": x}`, and
/// `!GetAtt A.B` as `{"Fn::GetAtt": ["A", "B"]}`).
fn to_json(y: &Yaml) -> Result<Value, InfraError> {
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => serde_json::to_value(n).map_err(|e| err(e.to_string()))?,
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Sequence(s) => Value::Array(s.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    other => serde_norway::to_string(other)
                        .map_err(|e| err(e.to_string()))?
                        .trim()
                        .to_string(),
                };
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(t) => {
            let tag = t.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let inner = to_json(&t.value)?;
            let (name, value) = match (tag, inner) {
                ("Ref", v) => ("Ref".to_string(), v),
                ("GetAtt", Value::String(s)) => {
                    let (a, b) = s
                        .split_once('.')
                        .ok_or_else(|| err(format!("!GetAtt {s} needs Resource.Attribute")))?;
                    (
                        "Fn::GetAtt".to_string(),
                        Value::Array(vec![a.into(), b.into()]),
                    )
                }
                (other, v) => (format!("Fn::{other}"), v),
            };
            let mut m = Map::new();
            m.insert(name, value);
            Value::Object(m)
        }
    })
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, InfraError> {
        let y: Yaml = serde_norway::from_str(text).map_err(|e| err(e.to_string()))?;
        Ok(Template { doc: to_json(&y)? })
    }

    pub fn load(path: &std::path::Path) -> Result<Template, InfraError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        Template::parse(&text)
    }

    /// `(logical id, type, properties)` of every resource, in the template's order.
    pub fn resources(&self) -> Vec<(&str, &str, &Value)> {
        let Some(m) = self.doc["Resources"].as_object() else {
            return Vec::new();
        };
        m.iter()
            .map(|(id, r)| {
                (
                    id.as_str(),
                    r["Type"].as_str().unwrap_or(""),
                    &r["Properties"],
                )
            })
            .collect()
    }

    /// Parameter defaults, with `overrides` over them.
    pub fn parameters(&self, overrides: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(m) = self.doc["Parameters"].as_object() {
            for (k, p) in m {
                let v = match &p["Default"] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                out.insert(k.clone(), v);
            }
        }
        out.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }
}

/// Resolves intrinsic functions against parameters, pseudo parameters and created resources.
pub struct Resolver<'a> {
    pub parameters: &'a BTreeMap<String, String>,
    pub created: &'a BTreeMap<String, Created>,
    pub region: &'a str,
    pub account: &'a str,
}

/// What resolving found: a value, or nothing (`AWS::NoValue`, a false condition's branch).
pub const NO_VALUE: &str = "\u{0}no-value";

impl Resolver<'_> {
    fn reference(&self, name: &str) -> Result<String, InfraError> {
        match name {
            "AWS::Region" => Ok(self.region.to_string()),
            "AWS::AccountId" => Ok(self.account.to_string()),
            "AWS::Partition" => Ok("aws".into()),
            "AWS::URLSuffix" => Ok("amazonaws.com".into()),
            "AWS::NoValue" => Ok(NO_VALUE.into()),
            _ => self
                .parameters
                .get(name)
                .cloned()
                .or_else(|| self.created.get(name).map(|c| c.reference.clone()))
                .ok_or_else(|| {
                    err(format!(
                        "!Ref {name}: not a parameter or a created resource"
                    ))
                }),
        }
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, InfraError> {
        self.created
            .get(resource)
            .and_then(|c| c.attributes.get(attribute))
            .cloned()
            .ok_or_else(|| err(format!("!GetAtt {resource}.{attribute}: not created yet")))
    }

    fn substitute(&self, text: &str) -> Result<String, InfraError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| err(format!("!Sub {text}: unclosed ${{")))?;
            let name = &rest[start + 2..start + end];
            let value = match name.split_once('.') {
                Some((r, a)) if !name.starts_with("AWS::") => self.attribute(r, a)?,
                _ => self.reference(name)?,
            };
            out.push_str(&value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// A scalar's text (numbers and booleans as CloudFormation passes them: as text).
    pub fn text(&self, v: &Value) -> Result<String, InfraError> {
        match self.resolve(v)? {
            Value::String(s) => Ok(s),
            Value::Null => Ok(String::new()),
            other => Ok(other.to_string()),
        }
    }

    /// `v` with every intrinsic function it holds evaluated.
    pub fn resolve(&self, v: &Value) -> Result<Value, InfraError> {
        match v {
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().ok_or_else(|| err("empty object"))?;
                match k.as_str() {
                    "Ref" => Ok(Value::String(self.reference(&self.text(arg)?)?)),
                    "Fn::GetAtt" => {
                        let parts = arg.as_array().ok_or_else(|| err("!GetAtt needs a list"))?;
                        let (r, a) = match parts.as_slice() {
                            [r, a] => (self.text(r)?, self.text(a)?),
                            _ => return Err(err("!GetAtt needs two names")),
                        };
                        Ok(Value::String(self.attribute(&r, &a)?))
                    }
                    "Fn::Sub" => Ok(Value::String(
                        self.substitute(
                            arg.as_str()
                                .ok_or_else(|| err("!Sub takes a string here"))?,
                        )?,
                    )),
                    "Fn::Equals" => match arg.as_array().map(Vec::as_slice) {
                        Some([a, b]) => Ok(Value::Bool(self.text(a)? == self.text(b)?)),
                        _ => Err(err("!Equals needs two values")),
                    },
                    "Fn::Not" => match arg.as_array().map(Vec::as_slice) {
                        Some([a]) => Ok(Value::Bool(!self.truth(a)?)),
                        _ => Err(err("!Not needs one condition")),
                    },
                    "Condition" => self.resolve(&Value::Bool(self.truth(arg)?)),
                    _ => {
                        let mut out = Map::new();
                        out.insert(k.clone(), self.resolve(arg)?);
                        Ok(Value::Object(out))
                    }
                }
            }
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    let r = self.resolve(v)?;
                    if r != Value::String(NO_VALUE.into()) {
                        out.insert(k.clone(), r);
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(a) => Ok(Value::Array(
                a.iter()
                    .map(|v| self.resolve(v))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .filter(|v| *v != Value::String(NO_VALUE.into()))
                    .collect(),
            )),
            other => Ok(other.clone()),
        }
    }

    fn truth(&self, v: &Value) -> Result<bool, InfraError> {
        match self.resolve(v)? {
            Value::Bool(b) => Ok(b),
            Value::String(s) => Ok(s == "true"),
            other => Err(err(format!("not a condition: {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_become_long_forms_and_resolve() {
        let t = Template::parse(
            "Parameters:\n  Prefix:\n    Type: String\n    Default: wm\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub \"${Prefix}-q\"\n      Redrive: !GetAtt D.Arn\n      Account: !Ref AWS::AccountId\n",
        )
        .unwrap();
        let params = t.parameters(&BTreeMap::new());
        let mut created = BTreeMap::new();
        created.insert(
            "D".to_string(),
            Created {
                reference: "url".into(),
                attributes: [("Arn".to_string(), "arn:d".to_string())].into(),
            },
        );
        let r = Resolver {
            parameters: &params,
            created: &created,
            region: "us-east-1",
            account: "123",
        };
        let (_, kind, props) = t.resources()[0];
        assert_eq!(kind, "AWS::SQS::Queue");
        let v = r.resolve(props).unwrap();
        assert_eq!(v["QueueName"], "wm-q");
        assert_eq!(v["Redrive"], "arn:d");
        assert_eq!(v["Account"], "123");
    }
}
