//! A callback task an execution waits on, and what the console needs to answer it: the task
//! token and the approval links. Both are read from the parameters the task was scheduled with,
//! which the history keeps as AWS records them (the token resolved in them); the token is taken
//! from the place where the state's template puts `$$.Task.Token`, so nothing is guessed from
//! the look of a string.

use serde::Serialize;
use serde_json::Value;

use crate::MAX_DEPTH;

/// A `.waitForTaskToken` task that has been scheduled and not answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waiting {
    /// The task's service and resource as the history names them (`sns:publish.waitForTaskToken`).
    pub resource: String,
    /// The token, when the state's template passes `$$.Task.Token` as a value of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Review pages of Waymark's signed approval links found in the parameters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approval: Vec<String>,
    /// The parameters as scheduled (JSON text), read once the definition is known.
    #[serde(skip)]
    pub(crate) parameters: Option<String>,
}

impl Waiting {
    pub(crate) fn scheduled(resource: String, parameters: Option<String>) -> Waiting {
        Waiting {
            resource,
            token: None,
            approval: Vec::new(),
            parameters,
        }
    }

    /// Fills in the token and the approval links from the state's definition.
    pub(crate) fn read(&mut self, state: Option<&Value>) {
        let Some(params) = self
            .parameters
            .as_deref()
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
        else {
            return;
        };
        if let Some(state) = state {
            let template = state.get("Parameters").or_else(|| state.get("Arguments"));
            let mut paths = Vec::new();
            if let Some(t) = template {
                token_paths(t, &mut Vec::new(), &mut paths, 0);
            }
            self.token = paths.iter().find_map(|p| {
                let mut v = &params;
                for seg in p {
                    v = match seg {
                        Seg::Key(k) => v.get(k.as_str())?,
                        Seg::Index(i) => v.get(*i)?,
                    };
                }
                v.as_str().map(str::to_string)
            });
        }
        let mut links = Vec::new();
        approval_links(&params, &mut links, 0);
        self.approval = links;
    }
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Where a template puts the token: a JSONPath field `"key.$": "$$.Task.Token"` or a JSONata
/// value `"{% $states.context.Task.Token %}"`.
fn token_paths(t: &Value, at: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match t {
        Value::Object(m) => {
            for (k, v) in m {
                if let (Some(key), Some(path)) = (k.strip_suffix(".$"), v.as_str()) {
                    if path.trim() == "$$.Task.Token" {
                        let mut p = at.clone();
                        p.push(Seg::Key(key.to_string()));
                        out.push(p);
                    }
                    continue;
                }
                at.push(Seg::Key(k.clone()));
                token_paths(v, at, out, depth + 1);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Seg::Index(i));
                token_paths(v, at, out, depth + 1);
                at.pop();
            }
        }
        Value::String(s) => {
            let inner = s
                .trim()
                .strip_prefix("{%")
                .and_then(|s| s.strip_suffix("%}"))
                .map(str::trim);
            if inner == Some("$states.context.Task.Token") {
                out.push(at.clone());
            }
        }
        _ => {}
    }
}

/// The review pages of the approval links in any string of `v` (`…/approvals/ID?exp=…&sig=…`,
/// without an `&action=`), each once.
fn approval_links(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::String(s) => {
            for (start, _) in s.match_indices("http") {
                let rest = &s[start..];
                if !(rest.starts_with("http://") || rest.starts_with("https://")) {
                    continue;
                }
                let end = rest
                    .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
                    .unwrap_or(rest.len());
                let url = rest[..end].trim_end_matches(['.', ',', ';']);
                let Some((_, tail)) = url.split_once("/approvals/") else {
                    continue;
                };
                let (id, query) = tail.split_once('?').unwrap_or((tail, ""));
                let params: Vec<&str> = query.split('&').collect();
                let exp = params.iter().find(|p| p.starts_with("exp="));
                let sig = params.iter().find(|p| p.starts_with("sig="));
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                    continue;
                }
                let (Some(exp), Some(sig)) = (exp, sig) else {
                    continue;
                };
                let base = &url[..url.len() - tail.len()];
                let page = format!("{base}{id}?{exp}&{sig}");
                if !out.contains(&page) {
                    out.push(page);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| approval_links(i, out, depth + 1)),
        Value::Object(m) => m.values().for_each(|i| approval_links(i, out, depth + 1)),
        _ => {}
    }
}

/// The state named `name` anywhere in a definition (state names are unique in a whole state
/// machine, branches and item processors included).
pub(crate) fn find_state<'a>(definition: &'a Value, name: &str, depth: usize) -> Option<&'a Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let states = definition.get("States")?.as_object()?;
    if let Some(s) = states.get(name) {
        return Some(s);
    }
    states.values().find_map(|s| {
        let mut inner: Vec<&Value> = Vec::new();
        if let Some(b) = s.get("Branches").and_then(Value::as_array) {
            inner.extend(b);
        }
        for k in ["ItemProcessor", "Iterator"] {
            if let Some(p) = s.get(k) {
                inner.push(p);
            }
        }
        inner
            .into_iter()
            .find_map(|d| find_state(d, name, depth + 1))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(state: Value, params: Value) -> Waiting {
        let mut w = Waiting::scheduled("x.waitForTaskToken".into(), Some(params.to_string()));
        w.read(Some(&state));
        w
    }

    #[test]
    fn the_token_is_read_where_the_template_puts_it() {
        let w = read(
            json!({"Parameters": {"QueueUrl": "q", "MessageBody": {"id.$": "$.id", "t.$": "$$.Task.Token"}}}),
            json!({"QueueUrl": "q", "MessageBody": {"id": "abc", "t": "tok-1"}}),
        );
        assert_eq!(w.token.as_deref(), Some("tok-1"));
        let w = read(
            json!({"Arguments": {"Payload": [{"token": "{% $states.context.Task.Token %}"}]}}),
            json!({"Payload": [{"token": "tok-2"}]}),
        );
        assert_eq!(w.token.as_deref(), Some("tok-2"));
        // A token folded into a longer string has no place of its own: not guessed.
        let w = read(
            json!({"Parameters": {"Message.$": "States.Format('{}', $$.Task.Token)"}}),
            json!({"Message": "tok-3"}),
        );
        assert_eq!(w.token, None);
    }

    #[test]
    fn approval_links_are_found_in_any_string_once() {
        let url = "http://127.0.0.1:8083/approvals/0123456789abcdef0123456789abcdef?exp=1767225600&sig=ab12";
        let w = read(
            json!({"Parameters": {"Message.$": "States.Format('{}', $$.Task.Approval.Url)"}}),
            json!({"Message": format!("Decide: {url}.\nApprove: {url}&action=approve"), "Other": "http://example.com/x"}),
        );
        assert_eq!(w.approval, vec![url.to_string()]);
        assert_eq!(w.token, None);
        let w = read(
            json!({}),
            json!({"M": "see http://h/approvals/zz?exp=1&sig=2"}),
        );
        assert!(w.approval.is_empty());
    }

    #[test]
    fn states_are_found_inside_branches_and_item_processors() {
        let def = json!({"States": {
            "P": {"Type": "Parallel", "Branches": [{"States": {"A": {"Type": "Pass"}}}]},
            "M": {"Type": "Map", "ItemProcessor": {"States": {"B": {"Type": "Task"}}}}
        }});
        assert_eq!(find_state(&def, "A", 0).unwrap()["Type"], "Pass");
        assert_eq!(find_state(&def, "B", 0).unwrap()["Type"], "Task");
        assert!(find_state(&def, "C", 0).is_none());
    }
}
