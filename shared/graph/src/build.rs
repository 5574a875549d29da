//! A definition's JSON to its [`Graph`]. Meant for definitions that passed validation: what it
//! meets that is not a state machine is an error, never a panic, and nesting is bounded.

use serde_json::Value;

use crate::{state_id, Edge, EdgeKind, Graph, Node, NodeKind};

/// How deep Maps and Parallels may nest: the validator's own bound is far below this, so only
/// a definition that skipped validation meets it.
pub const MAX_DEPTH: usize = 64;

/// The longest Choice rule written on an edge; longer ones end with `…`.
const MAX_LABEL: usize = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError(pub String);

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GraphError {}

/// The graph of a definition (its JSON text parsed).
pub fn build(definition: &Value) -> Result<Graph, GraphError> {
    let mut g = Graph {
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    g.nodes
        .push(pseudo("start", NodeKind::Start, "Start", None));
    scope(&mut g, definition, "", None, "start", Some("end"), 0)?;
    g.nodes.push(pseudo("end", NodeKind::End, "End", None));
    // An edge to a Map or Parallel ends at its entry (a state may be named before it is met).
    let containers: std::collections::HashSet<String> = g
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Container)
        .map(|n| n.id.clone())
        .collect();
    for e in &mut g.edges {
        if containers.contains(&e.to) {
            e.to = format!("entry:{}", &e.to["state:".len()..]);
        }
    }
    Ok(g)
}

fn pseudo(id: &str, kind: NodeKind, label: &str, parent: Option<&str>) -> Node {
    Node {
        id: id.to_string(),
        kind,
        label: label.to_string(),
        parent: parent.map(str::to_string),
        state: None,
        state_type: None,
        detail: None,
        retry: Vec::new(),
    }
}

fn edge(g: &mut Graph, from: &str, to: &str, kind: EdgeKind, label: Option<String>) {
    g.edges.push(Edge {
        from: from.to_string(),
        to: to.to_string(),
        kind,
        label,
    });
}

/// One `{"StartAt", "States"}` object: the machine, a Parallel branch or a Map's processor.
/// `entry` is the node its StartAt is reached from; `exit` the node its ends lead to.
fn scope(
    g: &mut Graph,
    def: &Value,
    at: &str,
    parent: Option<&str>,
    entry: &str,
    exit: Option<&str>,
    depth: usize,
) -> Result<(), GraphError> {
    if depth > MAX_DEPTH {
        return Err(GraphError(format!(
            "{at}: Maps and Parallels nest deeper than {MAX_DEPTH}"
        )));
    }
    let bad = |what: &str| GraphError(format!("{}: {what}", if at.is_empty() { "/" } else { at }));
    let start = def
        .get("StartAt")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no StartAt"))?;
    let states = def
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no States"))?;
    edge(g, entry, &state_id(start), EdgeKind::Next, None);
    for (name, s) in states {
        let id = state_id(name);
        let here = format!("{at}/States/{name}");
        let kind = s.get("Type").and_then(Value::as_str).unwrap_or_default();
        let retry = s
            .get("Retry")
            .and_then(Value::as_array)
            .map(|rs| {
                rs.iter()
                    .flat_map(|r| errors(r.get("ErrorEquals")))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let container = matches!(kind, "Map" | "Parallel");
        g.nodes.push(Node {
            id: id.clone(),
            kind: if container {
                NodeKind::Container
            } else {
                NodeKind::State
            },
            label: name.clone(),
            parent: parent.map(str::to_string),
            state: Some(name.clone()),
            state_type: Some(kind.to_string()),
            detail: detail(kind, s),
            retry,
        });
        // Where this state's own edges leave from.
        let from = if container {
            let entry_id = format!("entry:{name}");
            let exit_id = format!("exit:{name}");
            g.nodes
                .push(pseudo(&entry_id, NodeKind::Entry, "", Some(&id)));
            if kind == "Parallel" {
                let branches = s
                    .get("Branches")
                    .and_then(Value::as_array)
                    .ok_or_else(|| GraphError(format!("{here}: no Branches")))?;
                for (i, b) in branches.iter().enumerate() {
                    let branch_id = format!("branch:{name}:{i}");
                    g.nodes.push(pseudo(
                        &branch_id,
                        NodeKind::Branch,
                        &format!("Branch {}", i + 1),
                        Some(&id),
                    ));
                    scope(
                        g,
                        b,
                        &format!("{here}/Branches/{i}"),
                        Some(&branch_id),
                        &entry_id,
                        Some(&exit_id),
                        depth + 1,
                    )?;
                }
            } else {
                let (field, processor) = match (s.get("ItemProcessor"), s.get("Iterator")) {
                    (Some(p), _) => ("ItemProcessor", p),
                    (None, Some(p)) => ("Iterator", p),
                    (None, None) => {
                        return Err(GraphError(format!("{here}: no ItemProcessor")));
                    }
                };
                scope(
                    g,
                    processor,
                    &format!("{here}/{field}"),
                    Some(&id),
                    &entry_id,
                    Some(&exit_id),
                    depth + 1,
                )?;
            }
            g.nodes
                .push(pseudo(&exit_id, NodeKind::Exit, "", Some(&id)));
            exit_id
        } else {
            id.clone()
        };
        if let Some(next) = s.get("Next").and_then(Value::as_str) {
            edge(g, &from, &state_id(next), EdgeKind::Next, None);
        }
        let ends = s.get("End") == Some(&Value::Bool(true)) || matches!(kind, "Succeed" | "Fail");
        if let (true, Some(exit)) = (ends, exit) {
            edge(g, &from, exit, EdgeKind::Next, None);
        }
        if kind == "Choice" {
            for rule in s
                .get("Choices")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(next) = rule.get("Next").and_then(Value::as_str) {
                    edge(
                        g,
                        &from,
                        &state_id(next),
                        EdgeKind::Choice,
                        Some(shorten(&rule_text(rule, 0))),
                    );
                }
            }
            if let Some(next) = s.get("Default").and_then(Value::as_str) {
                edge(
                    g,
                    &from,
                    &state_id(next),
                    EdgeKind::Default,
                    Some("Default".into()),
                );
            }
        }
        for catcher in s
            .get("Catch")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(next) = catcher.get("Next").and_then(Value::as_str) {
                let label = errors(catcher.get("ErrorEquals")).join(", ");
                edge(g, &from, &state_id(next), EdgeKind::Catch, Some(label));
            }
        }
    }
    Ok(())
}

fn errors(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// The second line of a state's box.
fn detail(kind: &str, s: &Value) -> Option<String> {
    match kind {
        "Task" => s.get("Resource").and_then(Value::as_str).map(|r| {
            // `arn:aws:states:::lambda:invoke` reads better as `lambda:invoke`.
            r.strip_prefix("arn:aws:states:::")
                .map(str::to_string)
                .unwrap_or_else(|| match r.split(':').collect::<Vec<_>>().as_slice() {
                    ["arn", _, "lambda", _, _, "function", name, ..] => format!("λ {name}"),
                    _ => r.to_string(),
                })
        }),
        "Map" => {
            let mode = s
                .pointer("/ItemProcessor/ProcessorConfig/Mode")
                .and_then(Value::as_str)
                .unwrap_or("INLINE");
            Some(if mode == "DISTRIBUTED" {
                "Distributed".to_string()
            } else {
                "Inline".to_string()
            })
        }
        "Wait" => ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
            .iter()
            .find_map(|k| s.get(*k).map(|v| format!("{k} {}", plain(v)))),
        _ => None,
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A Choice rule as one line: `$.x NumericEquals 1`, `And(…, …)`, or a JSONata Condition.
fn rule_text(rule: &Value, depth: usize) -> String {
    let Some(m) = rule.as_object() else {
        return String::new();
    };
    if depth > 8 {
        return "…".into();
    }
    if let Some(c) = m.get("Condition") {
        return plain(c);
    }
    let list = |k: &str| {
        m.get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| rule_text(r, depth + 1))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if m.contains_key("And") {
        return format!("And({})", list("And"));
    }
    if m.contains_key("Or") {
        return format!("Or({})", list("Or"));
    }
    if let Some(n) = m.get("Not") {
        return format!("Not({})", rule_text(n, depth + 1));
    }
    let variable = m.get("Variable").map(plain).unwrap_or_default();
    let test = m.iter().find(|(k, _)| {
        !matches!(
            k.as_str(),
            "Variable" | "Next" | "Comment" | "Assign" | "Output"
        )
    });
    match test {
        Some((op, v)) => format!("{variable} {op} {v}"),
        None => variable,
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_LABEL {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_LABEL - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ids(g: &Graph, kind: NodeKind) -> Vec<String> {
        g.nodes
            .iter()
            .filter(|n| n.kind == kind)
            .map(|n| n.id.clone())
            .collect()
    }

    fn edges(g: &Graph) -> Vec<(String, String, EdgeKind, Option<String>)> {
        g.edges
            .iter()
            .map(|e| (e.from.clone(), e.to.clone(), e.kind, e.label.clone()))
            .collect()
    }

    #[test]
    fn choices_catches_and_retries() {
        let g = build(&json!({"StartAt": "Check", "States": {
            "Check": {"Type": "Choice", "Choices": [
                {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
                {"And": [{"Variable": "$.a", "IsPresent": true}, {"Not": {"Variable": "$.b", "StringEquals": "x"}}], "Next": "Big"}],
                "Default": "Small"},
            "Big": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["States.Timeout", "Lambda.ServiceException"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Oops"}], "End": true},
            "Small": {"Type": "Succeed"},
            "Oops": {"Type": "Fail", "Error": "E"}}}))
        .unwrap();
        assert_eq!(
            edges(&g),
            [
                ("start".into(), "state:Check".into(), EdgeKind::Next, None),
                (
                    "state:Check".into(),
                    "state:Big".into(),
                    EdgeKind::Choice,
                    Some("$.n NumericGreaterThan 10".into())
                ),
                (
                    "state:Check".into(),
                    "state:Big".into(),
                    EdgeKind::Choice,
                    Some("And($.a IsPresent true, Not($.b StringEquals \"x\"))".into())
                ),
                (
                    "state:Check".into(),
                    "state:Small".into(),
                    EdgeKind::Default,
                    Some("Default".into())
                ),
                ("state:Big".into(), "end".into(), EdgeKind::Next, None),
                (
                    "state:Big".into(),
                    "state:Oops".into(),
                    EdgeKind::Catch,
                    Some("States.ALL".into())
                ),
                ("state:Small".into(), "end".into(), EdgeKind::Next, None),
                ("state:Oops".into(), "end".into(), EdgeKind::Next, None),
            ]
        );
        let big = g.nodes.iter().find(|n| n.id == "state:Big").unwrap();
        assert_eq!(big.retry, ["States.Timeout", "Lambda.ServiceException"]);
        assert_eq!(big.detail.as_deref(), Some("lambda:invoke"));
    }

    #[test]
    fn maps_and_parallels_are_containers_joined_through_entry_and_exit() {
        let g = build(&json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "M", "Catch": [{"ErrorEquals": ["X"], "Next": "M"}],
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 1, "Next": "C"},
                                                 "C": {"Type": "Succeed"}}}]},
            "M": {"Type": "Map", "End": true, "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                "StartAt": "D", "States": {"D": {"Type": "Pass", "End": true}}}}}}))
        .unwrap();
        assert_eq!(ids(&g, NodeKind::Container), ["state:P", "state:M"]);
        assert_eq!(ids(&g, NodeKind::Branch), ["branch:P:0", "branch:P:1"]);
        let parent = |id: &str| g.nodes.iter().find(|n| n.id == id).unwrap().parent.clone();
        assert_eq!(parent("state:A").as_deref(), Some("branch:P:0"));
        assert_eq!(parent("state:C").as_deref(), Some("branch:P:1"));
        assert_eq!(parent("branch:P:1").as_deref(), Some("state:P"));
        assert_eq!(parent("state:D").as_deref(), Some("state:M"));
        assert_eq!(parent("exit:M").as_deref(), Some("state:M"));
        let e = edges(&g);
        for (from, to, kind) in [
            ("start", "entry:P", EdgeKind::Next),
            ("entry:P", "state:A", EdgeKind::Next),
            ("state:A", "exit:P", EdgeKind::Next),
            ("entry:P", "state:B", EdgeKind::Next),
            ("state:B", "state:C", EdgeKind::Next),
            ("state:C", "exit:P", EdgeKind::Next),
            ("exit:P", "entry:M", EdgeKind::Next),
            ("exit:P", "entry:M", EdgeKind::Catch),
            ("entry:M", "state:D", EdgeKind::Next),
            ("state:D", "exit:M", EdgeKind::Next),
            ("exit:M", "end", EdgeKind::Next),
        ] {
            assert!(
                e.iter()
                    .any(|(f, t, k, _)| f == from && t == to && *k == kind),
                "{from} -> {to} ({kind:?}) in {e:?}"
            );
        }
        // dagre cannot route an edge to a container: none does.
        for (from, to, _, _) in &e {
            assert!(
                !from.starts_with("state:P") && !from.starts_with("state:M"),
                "{from}"
            );
            assert!(to != "state:P" && to != "state:M", "{to}");
        }
        let m = g.nodes.iter().find(|n| n.id == "state:M").unwrap();
        assert_eq!(m.detail.as_deref(), Some("Distributed"));
    }

    #[test]
    fn what_is_not_a_state_machine_is_an_error() {
        assert!(build(&json!({"States": {}})).is_err());
        assert!(build(&json!({"StartAt": "M", "States": {"M": {"Type": "Map"}}})).is_err());
        let mut deep = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}});
        for _ in 0..=MAX_DEPTH + 1 {
            deep = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [deep]}}});
        }
        let e = build(&deep).unwrap_err();
        assert!(e.0.contains("nest deeper"), "{e}");
    }
}
