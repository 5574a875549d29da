//! Checks on the shape of each graph once its states parsed: transition targets exist, every
//! state is reachable, some state ends the graph, and state names are unique in the machine.

use std::collections::{HashMap, HashSet, VecDeque};

use super::reader::Parser;
use crate::diag::{codes, pointer};
use crate::model::{Definition, Graph, StateKind, Transition};

pub fn check(p: &mut Parser, def: &Definition) {
    let mut seen: HashMap<String, String> = HashMap::new();
    check_graph(p, &def.graph, "", &mut seen);
}

fn check_graph(p: &mut Parser, graph: &Graph, base: &str, seen: &mut HashMap<String, String>) {
    let states_ptr = pointer(base, "States");
    let state_ptr = |name: &str| pointer(&states_ptr, name);
    let names = p
        .graph_names
        .get(base)
        .cloned()
        .unwrap_or_else(|| graph.states.keys().cloned().collect());
    let exists = |n: &str| names.iter().any(|k| k == n);
    // States that did not parse: their own diagnostics say why; don't pile phantom ones on.
    let complete = names.len() == graph.states.len();

    if !exists(&graph.start_at) {
        p.error(
            codes::MISSING_TRANSITION_TARGET,
            pointer(base, "StartAt"),
            format!("Missing 'StartAt' target: {}", graph.start_at),
        );
    }

    let mut terminal = false;
    for (name, state) in &graph.states {
        if let Some(first) = seen.get(name) {
            p.error(
                codes::DUPLICATE_STATE_NAME,
                state_ptr(name),
                format!("Duplicate State name: {name} (also at {first})"),
            );
        } else {
            seen.insert(name.clone(), state_ptr(name));
        }
        let here = state_ptr(name);
        let target = |p: &mut Parser, field_ptr: String, what: &str, next: &str| {
            if !exists(next) {
                p.error(
                    codes::MISSING_TRANSITION_TARGET,
                    field_ptr,
                    format!("Missing '{what}' target: {next}"),
                );
            }
        };
        match &state.transition {
            Some(Transition::Next(next)) => target(p, pointer(&here, "Next"), "Next", next),
            Some(Transition::End) => terminal = true,
            None => {}
        }
        for c in &state.catch {
            target(p, format!("{here}/Catch/{}/Next", c.index), "Next", &c.next);
        }
        match &state.kind {
            StateKind::Succeed | StateKind::Fail(_) => terminal = true,
            StateKind::Choice(choice) => {
                for (i, b) in choice.choices.iter().enumerate() {
                    target(p, format!("{here}/Choices/{i}/Next"), "Next", &b.next);
                }
                if let Some(d) = &choice.default {
                    target(p, pointer(&here, "Default"), "Default", d);
                }
            }
            StateKind::Parallel(par) => {
                for (i, b) in par.branches.iter().enumerate() {
                    check_graph(p, b, &format!("{here}/Branches/{i}"), seen);
                }
            }
            StateKind::Map(m) => {
                let key = if m.legacy_iterator {
                    "Iterator"
                } else {
                    "ItemProcessor"
                };
                check_graph(p, &m.processor, &pointer(&here, key), seen);
            }
            StateKind::Pass(_) | StateKind::Task(_) | StateKind::Wait(_) => {}
        }
    }
    if !terminal && complete {
        p.error(
            codes::MISSING_END_STATE,
            if base.is_empty() {
                "/".to_string()
            } else {
                base.to_string()
            },
            "Workflow has no terminal state",
        );
    }

    // Reachability from StartAt.
    let mut reached: HashSet<&str> = HashSet::new();
    let mut queue = VecDeque::new();
    if graph.states.contains_key(&graph.start_at) {
        queue.push_back(graph.start_at.as_str());
    }
    while let Some(name) = queue.pop_front() {
        if !reached.insert(name) {
            continue;
        }
        let Some(state) = graph.states.get(name) else {
            continue;
        };
        let mut push = |n: &'_ str| {
            if let Some((k, _)) = graph.states.get_key_value(n) {
                queue.push_back(k.as_str());
            }
        };
        if let Some(Transition::Next(n)) = &state.transition {
            push(n);
        }
        for c in &state.catch {
            push(&c.next);
        }
        if let StateKind::Choice(choice) = &state.kind {
            for b in &choice.choices {
                push(&b.next);
            }
            if let Some(d) = &choice.default {
                push(d);
            }
        }
    }
    for name in graph.states.keys() {
        if complete
            && !reached.contains(name.as_str())
            && graph.states.contains_key(&graph.start_at)
        {
            p.error(
                codes::MISSING_TRANSITION_TARGET,
                state_ptr(name),
                format!("State \"{name}\" is not reachable."),
            );
        }
    }
}
