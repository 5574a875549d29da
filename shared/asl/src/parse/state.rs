//! Parsing the definition, its graphs and each state type.

use indexmap::IndexMap;
use serde_json::Value;

use super::choice::parse_choices;
use super::fields;
use super::reader::{is_jsonata, Obj, Parser};
use super::MachineType;
use crate::diag::{codes, pointer};
use crate::error::names;
use crate::model::*;
use crate::resource::INTEGRATIONS;
use crate::template::Template;
use crate::timestamp::Timestamp;

const STATE_TYPES: [&str; 8] = [
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
];
const MAX_STATE_NAME: usize = 80;

pub fn parse_definition(p: &mut Parser, top: &Obj) -> Option<Definition> {
    let missing: Vec<&str> = ["States", "StartAt"]
        .into_iter()
        .filter(|k| !top.has(k))
        .collect();
    if !missing.is_empty() {
        p.schema(
            "/",
            format!("These fields are required: [{}]", missing.join(", ")),
        );
    }
    p.only(top, fields::TOP_LEVEL, "the top level of a state machine");
    let comment = p.string(top, "Comment").map(str::to_string);
    let version = p.string(top, "Version").map(str::to_string);
    if let Some(v) = &version {
        if v != "1.0" {
            p.schema(
                top.at("Version"),
                format!("'Version' must be \"1.0\", not \"{v}\""),
            );
        }
    }
    let timeout_seconds = p.uint(top, "TimeoutSeconds", 1);
    let query_language = query_language(p, top).unwrap_or_default();
    let graph = if missing.is_empty() {
        parse_graph(p, top, query_language, query_language)
    } else {
        None
    };
    Some(Definition {
        comment,
        version,
        timeout_seconds,
        query_language,
        graph: graph?,
    })
}

fn query_language(p: &mut Parser, o: &Obj) -> Option<QueryLanguage> {
    match p.string(o, "QueryLanguage")? {
        "JSONPath" => Some(QueryLanguage::JsonPath),
        "JSONata" => Some(QueryLanguage::Jsonata),
        other => {
            p.schema(
                o.at("QueryLanguage"),
                format!("'QueryLanguage' must be 'JSONPath' or 'JSONata', not '{other}'"),
            );
            None
        }
    }
}

/// `StartAt` + `States`. `machine_ql` is the top level's language, which every state inherits
/// unless it sets its own.
fn parse_graph(
    p: &mut Parser,
    o: &Obj,
    machine_ql: QueryLanguage,
    _enclosing: QueryLanguage,
) -> Option<Graph> {
    let start_at = p.req_string(o, "StartAt");
    let states_obj = match o.get("States") {
        None => {
            p.schema(
                o.ptr_or_root(),
                "The field 'States' is required but was missing",
            );
            None
        }
        Some(_) => o.object(p, "States"),
    };
    let states_obj = states_obj?;
    if states_obj.map.is_empty() {
        p.schema(
            states_obj.ptr.clone(),
            "'States' must contain at least one state",
        );
    }
    let mut states = IndexMap::with_capacity(states_obj.map.len());
    p.graph_names
        .insert(o.ptr.clone(), states_obj.map.keys().cloned().collect());
    for (name, value) in states_obj.map {
        let ptr = states_obj.at(name);
        if name.is_empty() || name.chars().count() > MAX_STATE_NAME {
            p.error(
                codes::INVALID_STATE_NAME,
                ptr.clone(),
                format!("State names must be 1 to {MAX_STATE_NAME} characters long: '{name}'"),
            );
        }
        let Value::Object(map) = value else {
            p.schema(ptr, format!("State '{name}' must be an object"));
            continue;
        };
        if let Some(state) = parse_state(p, name, &Obj::new(map, ptr), machine_ql) {
            states.insert(name.clone(), state);
        }
    }
    // Returned even when some states failed to parse, so the graph checks still run; the
    // definition as a whole is refused by the errors already recorded.
    Some(Graph {
        start_at: start_at?.to_string(),
        states,
    })
}

fn parse_state(p: &mut Parser, name: &str, o: &Obj, machine_ql: QueryLanguage) -> Option<State> {
    let type_name = p.req_string(o, "Type")?;
    if !STATE_TYPES.contains(&type_name) {
        p.schema(
            o.at("Type"),
            format!(
                "'{type_name}' is not a valid state type (expected one of {})",
                STATE_TYPES.join(", ")
            ),
        );
        return None;
    }
    let ql = match query_language(p, o) {
        Some(QueryLanguage::JsonPath) if machine_ql == QueryLanguage::Jsonata => {
            p.schema(
                o.ptr.clone(),
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            );
            QueryLanguage::Jsonata
        }
        Some(ql) => ql,
        None => machine_ql,
    };
    check_fields(p, o, type_name, ql);
    let comment = p.string(o, "Comment").map(str::to_string);

    let has_transition = matches!(type_name, "Pass" | "Task" | "Wait" | "Parallel" | "Map");
    let transition = if has_transition {
        transition(p, o)
    } else {
        None
    };

    let io = parse_io(p, o, type_name, ql);
    let (retry, catch) = if matches!(type_name, "Task" | "Parallel" | "Map") {
        (parse_retry(p, o), parse_catch(p, o, ql))
    } else {
        (Vec::new(), Vec::new())
    };

    let kind = match type_name {
        "Pass" => {
            if let Some(r) = o.get("Result") {
                p.warn_static_result(&o.at("Result"), r);
            }
            StateKind::Pass(Pass {
                result: o.get("Result").cloned(),
            })
        }
        "Task" => StateKind::Task(parse_task(p, o, ql)?),
        "Choice" => StateKind::Choice(parse_choices(p, o, ql)?),
        "Wait" => StateKind::Wait(parse_wait(p, o, ql)?),
        "Succeed" => StateKind::Succeed,
        "Fail" => StateKind::Fail(parse_fail(p, o, ql)),
        "Parallel" => StateKind::Parallel(parse_parallel(p, o, machine_ql, ql)?),
        "Map" => StateKind::Map(Box::new(parse_map(p, o, machine_ql, ql)?)),
        _ => unreachable!("checked against STATE_TYPES"),
    };
    Some(State {
        name: name.to_string(),
        comment,
        query_language: ql,
        kind,
        io,
        transition: if has_transition { transition } else { None },
        retry,
        catch,
        uses_context: mentions_context(o.map),
        uses_execution_input: mentions_execution_input(o.map),
        uses_only_map_context: mentions_only_map_context(o.map),
    })
}

/// Whether anything in the state may read the execution's input from the context object.
fn mentions_execution_input(map: &serde_json::Map<String, Value>) -> bool {
    /// `pat` somewhere not followed by a `.`: the whole object, not one of its members.
    fn whole(s: &str, pat: &str) -> bool {
        s.match_indices(pat)
            .any(|(i, _)| !s[i + pat.len()..].starts_with('.'))
    }
    fn text(s: &str) -> bool {
        s.contains("Execution.Input")
            || whole(s, "$$")
            || whole(s, "$$.Execution")
            || whole(s, "context")
            || whole(s, "context.Execution")
            || whole(s, "$states")
    }
    fn walk(v: &Value) -> bool {
        match v {
            Value::String(s) => text(s),
            Value::Array(a) => a.iter().any(walk),
            Value::Object(m) => m.iter().any(|(k, v)| text(k) || walk(v)),
            _ => false,
        }
    }
    map.values().any(walk)
}

/// Whether anything in the state may read the context object (`$$…` paths, or
/// `$states.context` in JSONata). Over-approximate: a false positive only costs building it.
fn mentions_context(map: &serde_json::Map<String, Value>) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains("$$") || s.contains("context"),
            Value::Array(a) => a.iter().any(walk),
            Value::Object(m) => m.iter().any(|(k, v)| k.contains("context") || walk(v)),
            _ => false,
        }
    }
    map.values().any(walk)
}

/// Whether every `$$` in the state (its branches and processors too) starts `$$.Map` as a
/// whole name, and nothing names `context` (JSONata's `$states.context`). Under-approximate:
/// a false negative only costs building the whole context object.
fn mentions_only_map_context(map: &serde_json::Map<String, Value>) -> bool {
    fn text(s: &str) -> bool {
        !s.contains("context")
            && s.match_indices("$$").all(|(i, _)| {
                let rest = &s[i + 2..];
                rest.strip_prefix(".Map").is_some_and(|after| {
                    !after.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
    }
    fn walk(v: &Value) -> bool {
        match v {
            Value::String(s) => text(s),
            Value::Array(a) => a.iter().all(walk),
            Value::Object(m) => m.iter().all(|(k, v)| text(k) && walk(v)),
            _ => true,
        }
    }
    map.values().all(walk)
}

fn check_fields(p: &mut Parser, o: &Obj, type_name: &str, ql: QueryLanguage) {
    let allowed = fields::allowed(type_name, ql);
    for key in o.map.keys() {
        if allowed.contains(&key.as_str()) {
            continue;
        }
        let message = if ql == QueryLanguage::Jsonata
            && fields::JSONPATH_ONLY.contains(&key.as_str())
        {
            format!("The field '{key}' is not supported for JSONata states; use 'Arguments', 'Output' or an expression instead")
        } else if ql == QueryLanguage::JsonPath && fields::JSONATA_ONLY.contains(&key.as_str()) {
            format!("The field '{key}' is supported only when QueryLanguage is JSONata")
        } else {
            format!("The field '{key}' is not supported by Step Functions for {type_name} states")
        };
        p.schema(o.at(key), message);
    }
}

fn transition(p: &mut Parser, o: &Obj) -> Option<Transition> {
    let next = p.string(o, "Next");
    let end = p.bool(o, "End").unwrap_or(false);
    match (next, end) {
        (Some(_), true) => {
            p.schema(o.ptr.clone(), "'Next' and 'End' are mutually exclusive");
            None
        }
        (Some(n), false) => Some(Transition::Next(n.to_string())),
        (None, true) => Some(Transition::End),
        (None, false) => {
            if !o.has("Next") {
                p.schema(
                    o.ptr.clone(),
                    "The field 'Next' or 'End' is required (exactly one of them)",
                );
            }
            None
        }
    }
}

fn parse_io(p: &mut Parser, o: &Obj, type_name: &str, ql: QueryLanguage) -> Io {
    let mut io = Io::default();
    match ql {
        QueryLanguage::JsonPath => {
            io.input_path = p.nullable_path(o, "InputPath", false);
            io.output_path = p.nullable_path(o, "OutputPath", false);
            io.result_path = p.nullable_path(o, "ResultPath", true);
            // Map's deprecated Parameters is its ItemSelector; parse_map reads it.
            if type_name != "Map" {
                io.parameters = p.template(o, "Parameters");
            }
            io.result_selector = p.template(o, "ResultSelector");
        }
        QueryLanguage::Jsonata => {
            io.arguments = p.jsonata(o, "Arguments");
            io.output = p.jsonata(o, "Output");
        }
    }
    io.assign = p.assign(o, "Assign", ql);
    io
}

fn error_equals(p: &mut Parser, o: &Obj) -> Option<Vec<String>> {
    let Some(v) = o.get("ErrorEquals") else {
        p.schema(
            o.ptr.clone(),
            "The field 'ErrorEquals' is required but was missing",
        );
        return None;
    };
    let Value::Array(items) = v else {
        p.schema(
            o.at("ErrorEquals"),
            "'ErrorEquals' must be a non-empty array of error names",
        );
        return None;
    };
    if items.is_empty() {
        p.schema(
            o.at("ErrorEquals"),
            "'ErrorEquals' must be a non-empty array of error names",
        );
        return None;
    }
    let mut names_out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(s) => names_out.push(s.clone()),
            _ => p.schema(
                format!("{}/{i}", o.at("ErrorEquals")),
                "Error names must be strings",
            ),
        }
    }
    if names_out.iter().any(|n| n == names::ALL) && names_out.len() > 1 {
        p.schema(
            o.at("ErrorEquals"),
            "'States.ALL' must appear alone in 'ErrorEquals'",
        );
    }
    Some(names_out)
}

/// `States.ALL` must be in the last retrier or catcher.
fn check_all_is_last(p: &mut Parser, lists: &[(String, Option<Vec<String>>)], what: &str) {
    let n = lists.len();
    for (i, (ptr, names_in)) in lists.iter().enumerate() {
        if i + 1 < n
            && names_in
                .as_ref()
                .is_some_and(|v| v.iter().any(|e| e == names::ALL))
        {
            p.schema(
                format!("{ptr}/ErrorEquals"),
                format!("A {what} with 'States.ALL' must be the last one"),
            );
        }
    }
}

/// The entries of an array that are objects, each with its own pointer (entries that are not
/// objects are reported and skipped, without shifting the others' pointers).
fn array_of_objects<'v>(p: &mut Parser, o: &Obj<'v>, key: &str) -> Vec<Obj<'v>> {
    match o.get(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let ptr = format!("{}/{i}", o.at(key));
                match item {
                    Value::Object(m) => out.push(Obj::new(m, ptr)),
                    _ => p.schema(ptr, format!("Each entry of '{key}' must be an object")),
                }
            }
            out
        }
        Some(_) => {
            p.schema(o.at(key), format!("'{key}' must be an array"));
            Vec::new()
        }
    }
}

fn parse_retry(p: &mut Parser, o: &Obj) -> Vec<Retrier> {
    let entries = array_of_objects(p, o, "Retry");
    let mut lists = Vec::new();
    let mut out = Vec::new();
    for r in &entries {
        p.only(r, fields::RETRIER, "a retrier");
        let errs = error_equals(p, r);
        lists.push((r.ptr.clone(), errs.clone()));
        let mut retrier = Retrier {
            error_equals: errs.unwrap_or_default(),
            ..Retrier::default()
        };
        if let Some(n) = p.uint(r, "IntervalSeconds", 1) {
            retrier.interval_seconds = n;
        }
        if let Some(n) = p.uint(r, "MaxAttempts", 0) {
            retrier.max_attempts = n;
        }
        if let Some(b) = p.number(r, "BackoffRate") {
            if b < 1.0 {
                p.schema(
                    r.at("BackoffRate"),
                    format!("'BackoffRate' must be greater than or equal to 1.0, got {b}"),
                );
            }
            retrier.backoff_rate = b;
        }
        retrier.max_delay_seconds = p.uint(r, "MaxDelaySeconds", 1);
        match p.string(r, "JitterStrategy") {
            None | Some("NONE") => {}
            Some("FULL") => retrier.jitter = Jitter::Full,
            Some(other) => p.schema(
                r.at("JitterStrategy"),
                format!("'JitterStrategy' must be FULL or NONE, not '{other}'"),
            ),
        }
        out.push(retrier);
    }
    check_all_is_last(p, &lists, "retrier");
    out
}

fn parse_catch(p: &mut Parser, o: &Obj, ql: QueryLanguage) -> Vec<Catcher> {
    let entries = array_of_objects(p, o, "Catch");
    let mut lists = Vec::new();
    let mut out = Vec::new();
    for c in &entries {
        p.only(c, fields::catcher(ql), "a catcher");
        let errs = error_equals(p, c);
        lists.push((c.ptr.clone(), errs.clone()));
        // A catcher without a target is reported here and left out of the graph checks.
        let Some(next) = p.req_string(c, "Next").map(str::to_string) else {
            continue;
        };
        let index = c
            .ptr
            .rsplit('/')
            .next()
            .and_then(|i| i.parse().ok())
            .unwrap_or(0);
        let result_path = if ql == QueryLanguage::JsonPath {
            p.nullable_path(c, "ResultPath", true)
        } else {
            None
        };
        out.push(Catcher {
            index,
            error_equals: errs.unwrap_or_default(),
            next,
            result_path,
            output: p.jsonata(c, "Output"),
            assign: p.assign(c, "Assign", ql),
        });
    }
    check_all_is_last(p, &lists, "catcher");
    out
}

fn parse_task(p: &mut Parser, o: &Obj, ql: QueryLanguage) -> Option<Task> {
    let written = p.req_string(o, "Resource")?;
    check_resource(p, &o.at("Resource"), written);
    check_required_parameters(p, o, written, ql);
    // `arn:aws:states:REGION:ACCOUNT:lambda:invoke` runs as `arn:aws:states:::lambda:invoke`.
    let resource = crate::resource::canonical(written).into_owned();
    let timeout = p.dynamic_uint(
        o,
        "TimeoutSeconds",
        path_field(ql, "TimeoutSecondsPath"),
        1,
        ql,
    );
    let heartbeat = p.dynamic_uint(
        o,
        "HeartbeatSeconds",
        path_field(ql, "HeartbeatSecondsPath"),
        1,
        ql,
    );
    if let (Some(Dynamic::Literal(t)), Some(Dynamic::Literal(h))) = (&timeout, &heartbeat) {
        if h >= t {
            p.schema(
                o.at("HeartbeatSeconds"),
                "'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'",
            );
        }
    }
    let credentials = match o.object(p, "Credentials") {
        Some(c) => {
            if !c.has("RoleArn") && !c.has("RoleArn.$") {
                p.schema(
                    c.ptr.clone(),
                    "The field 'RoleArn' is required but was missing",
                );
            }
            Some(Value::Object(c.map.clone()))
        }
        None => None,
    };
    Some(Task {
        resource,
        timeout_seconds: timeout,
        heartbeat_seconds: heartbeat,
        credentials,
    })
}

fn path_field(ql: QueryLanguage, name: &'static str) -> Option<&'static str> {
    (ql == QueryLanguage::JsonPath).then_some(name)
}

/// The fields an integration cannot go without (SNS Publish: a destination and a message),
/// checked when the definition is created, as AWS does, in static Parameters (JSONPath) or an
/// Arguments object (JSONata). A field given by a path (`Message.$`) or an expression counts
/// as present: its value is checked when the task runs. Without Parameters the state's input
/// is the call's parameters, so nothing can be said before the run.
fn check_required_parameters(p: &mut Parser, o: &Obj, resource: &str, ql: QueryLanguage) {
    let Some(rest) = crate::resource::integration_part(resource) else {
        return;
    };
    let service_action = rest.split_once('.').map_or(rest, |(sa, _)| sa);
    let key = match ql {
        QueryLanguage::JsonPath => "Parameters",
        QueryLanguage::Jsonata => "Arguments",
    };
    let Some(Value::Object(fields)) = o.map.get(key) else {
        return;
    };
    let present = |name: &str| {
        let given = |k: &str| fields.get(k).is_some_and(|v| !v.is_null());
        given(name) || (ql == QueryLanguage::JsonPath && given(&format!("{name}.$")))
    };
    for names in crate::resource::missing_fields(service_action, present) {
        p.schema(o.at(key), crate::resource::missing_field_message(names));
    }
}

fn check_resource(p: &mut Parser, ptr: &str, resource: &str) {
    let express = p.opts.machine_type == MachineType::Express;
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    let partition_ok = parts
        .get(1)
        .is_some_and(|s| matches!(*s, "aws" | "aws-cn" | "aws-us-gov"));
    if parts.len() < 6 || parts[0] != "arn" || !partition_ok {
        if is_jsonata(resource) {
            return;
        }
        p.schema(ptr, format!("The resource provided {resource} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."));
        return;
    }
    if let Some(rest) = crate::resource::integration_part(resource) {
        let (service_action, pattern) = match rest.split_once('.') {
            Some((sa, pat)) => (sa, Some(pat)),
            None => (rest, None),
        };
        let known =
            INTEGRATIONS.contains(&service_action) || service_action.starts_with("aws-sdk:");
        let pattern_ok = matches!(
            pattern,
            None | Some("sync") | Some("sync:2") | Some("waitForTaskToken")
        );
        if !known || !pattern_ok {
            let shown = resource.replacen(parts[1], "<partition>", 1);
            p.schema(ptr, format!("The resource provided {shown} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."));
            return;
        }
        if express {
            match pattern {
                Some("sync") | Some("sync:2") => {
                    p.schema(ptr, "Express state machine does not support '.sync' service integration")
                }
                Some("waitForTaskToken") => p.schema(
                    ptr,
                    "Express state machine does not support '.waitForTaskToken' service integration ",
                ),
                _ => {}
            }
        }
        return;
    }
    match parts[2] {
        "states" if parts[5].starts_with("activity:") => {
            if express {
                p.schema(ptr, "Express state machine does not support Activities");
            }
        }
        "lambda" if parts[5].starts_with("function:") => {}
        _ => p.error(
            codes::INVALID_RESOURCE,
            ptr,
            format!("The resource provided {resource} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."),
        ),
    }
}

fn parse_wait(p: &mut Parser, o: &Obj, ql: QueryLanguage) -> Option<Wait> {
    let candidates = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"];
    let present: Vec<&str> = candidates.iter().copied().filter(|k| o.has(k)).collect();
    if present.len() != 1 {
        p.schema(
            o.ptr.clone(),
            format!(
                "A Wait state must have exactly one of 'Seconds', 'SecondsPath', 'Timestamp' or 'TimestampPath'{}",
                if present.is_empty() { String::new() } else { format!(", found {}", present.join(", ")) }
            ),
        );
        return None;
    }
    match present[0] {
        "Seconds" => p.dynamic_uint(o, "Seconds", None, 0, ql).map(Wait::Seconds),
        "SecondsPath" => p
            .path(o, "SecondsPath", true)
            .map(|x| Wait::Seconds(Dynamic::Path(x))),
        "TimestampPath" => p
            .path(o, "TimestampPath", true)
            .map(|x| Wait::Timestamp(Dynamic::Path(x))),
        _ => {
            let s = p.string(o, "Timestamp")?;
            if ql == QueryLanguage::Jsonata && is_jsonata(s) {
                return p
                    .jsonata(o, "Timestamp")
                    .map(|t| Wait::Timestamp(Dynamic::Jsonata(t)));
            }
            match Timestamp::parse(s) {
                Some(t) => Some(Wait::Timestamp(Dynamic::Literal(t))),
                None => {
                    p.schema(o.at("Timestamp"), "String does not match RFC3339 timestamp");
                    None
                }
            }
        }
    }
}

fn parse_fail(p: &mut Parser, o: &Obj, ql: QueryLanguage) -> Fail {
    let text = |p: &mut Parser, key: &str, path_key: &str| -> Option<DynamicText> {
        if o.has(key) && o.has(path_key) {
            p.schema(
                o.ptr.clone(),
                format!("'{key}' and '{path_key}' are mutually exclusive"),
            );
            return None;
        }
        if o.has(path_key) {
            let src = p.string(o, path_key)?;
            return match Template::compile_dynamic(path_key, src) {
                Ok(t) => Some(DynamicText::Path(t)),
                Err(message) => {
                    p.schema(o.at(path_key), message);
                    None
                }
            };
        }
        let s = p.string(o, key)?;
        if ql == QueryLanguage::Jsonata && is_jsonata(s) {
            p.jsonata(o, key).map(DynamicText::Jsonata)
        } else {
            Some(DynamicText::Literal(s.to_string()))
        }
    };
    let error = text(p, "Error", "ErrorPath");
    let cause = text(p, "Cause", "CausePath");
    Fail { error, cause }
}

fn parse_parallel(
    p: &mut Parser,
    o: &Obj,
    machine_ql: QueryLanguage,
    ql: QueryLanguage,
) -> Option<Parallel> {
    let Some(v) = o.get("Branches") else {
        p.schema(
            o.ptr.clone(),
            "The field 'Branches' is required but was missing",
        );
        return None;
    };
    let Value::Array(items) = v else {
        p.schema(o.at("Branches"), "'Branches' must be an array");
        return None;
    };
    if items.is_empty() {
        p.schema(
            o.at("Branches"),
            "'Branches' must contain at least one branch",
        );
        return None;
    }
    let mut branches = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let ptr = format!("{}/{i}", o.at("Branches"));
        let Value::Object(m) = item else {
            p.schema(
                ptr,
                "Each branch must be an object with 'StartAt' and 'States'",
            );
            ok = false;
            continue;
        };
        let b = Obj::new(m, ptr);
        p.only(&b, fields::GRAPH, "a branch");
        match parse_graph(p, &b, machine_ql, ql) {
            Some(g) => branches.push(g),
            None => ok = false,
        }
    }
    ok.then_some(Parallel { branches })
}

fn parse_map(p: &mut Parser, o: &Obj, machine_ql: QueryLanguage, ql: QueryLanguage) -> Option<Map> {
    let key = match (o.has("ItemProcessor"), o.has("Iterator")) {
        (true, true) => {
            p.schema(
                o.ptr.clone(),
                "'ItemProcessor' and 'Iterator' are mutually exclusive",
            );
            return None;
        }
        (false, false) => {
            p.schema(
                o.ptr.clone(),
                "The field 'ItemProcessor' is required but was missing",
            );
            return None;
        }
        (true, false) => "ItemProcessor",
        (false, true) => "Iterator",
    };
    let proc_obj = o.object(p, key)?;
    p.only(&proc_obj, fields::PROCESSOR, "an item processor");
    let mut mode = ProcessorMode::Inline;
    let mut execution_type = None;
    if let Some(cfg) = proc_obj.object(p, "ProcessorConfig") {
        p.only(&cfg, &["Mode", "ExecutionType"], "a ProcessorConfig");
        match p.string(&cfg, "Mode") {
            None | Some("INLINE") => {}
            Some("DISTRIBUTED") => mode = ProcessorMode::Distributed,
            Some(other) => p.schema(
                cfg.at("Mode"),
                format!("'Mode' must be INLINE or DISTRIBUTED, not '{other}'"),
            ),
        }
        match p.string(&cfg, "ExecutionType") {
            None => {}
            Some(t @ ("STANDARD" | "EXPRESS")) => execution_type = Some(t.to_string()),
            Some(other) => p.schema(
                cfg.at("ExecutionType"),
                format!("'ExecutionType' must be STANDARD or EXPRESS, not '{other}'"),
            ),
        }
    }
    if mode == ProcessorMode::Distributed
        && p.opts.machine_type == MachineType::Express
        && execution_type.as_deref() == Some("STANDARD")
    {
        p.schema(
            o.at(key),
            "Express state machines can only run EXPRESS child workflows in a distributed Map",
        );
    }
    let processor = parse_graph(p, &proc_obj, machine_ql, ql);

    let (item_selector, item_selector_jsonata) = match ql {
        QueryLanguage::JsonPath => {
            if o.has("ItemSelector") && o.has("Parameters") {
                p.schema(
                    o.ptr.clone(),
                    "'ItemSelector' and 'Parameters' are mutually exclusive",
                );
            }
            let key = if o.has("Parameters") {
                "Parameters"
            } else {
                "ItemSelector"
            };
            (p.template(o, key), None)
        }
        QueryLanguage::Jsonata => (None, p.jsonata(o, "ItemSelector")),
    };
    let items_path = if ql == QueryLanguage::JsonPath {
        p.path(o, "ItemsPath", true)
    } else {
        None
    };
    let items = match o.get("Items") {
        Some(Value::String(s)) if is_jsonata(s) => p.jsonata(o, "Items"),
        Some(Value::Array(_)) => p.jsonata(o, "Items"),
        Some(_) => {
            p.schema(
                o.at("Items"),
                "'Items' must be an array or a JSONata expression",
            );
            None
        }
        None => None,
    };
    let max_concurrency = p
        .dynamic_uint(
            o,
            "MaxConcurrency",
            path_field(ql, "MaxConcurrencyPath"),
            0,
            ql,
        )
        .unwrap_or(Dynamic::Literal(0));
    let tolerated_failure_count = p.dynamic_uint(
        o,
        "ToleratedFailureCount",
        path_field(ql, "ToleratedFailureCountPath"),
        0,
        ql,
    );
    let tolerated_failure_percentage = tolerated_percentage(p, o, ql);
    let label = p.string(o, "Label").map(str::to_string);
    for k in ["ItemReader", "ItemBatcher", "ResultWriter"] {
        if o.has(k) && mode != ProcessorMode::Distributed {
            p.schema(
                o.at(k),
                format!(
                    "'{k}' is only supported when the Map's ProcessorConfig Mode is DISTRIBUTED"
                ),
            );
        }
    }
    let item_reader = match o.object(p, "ItemReader") {
        Some(r) => {
            for k in ["ItemsPath", "Items"] {
                if o.has(k) {
                    p.error(
                        codes::UNSUPPORTED_FEATURE,
                        o.at(k),
                        format!("Waymark does not combine '{k}' with an ItemReader: the items are what the reader reads"),
                    );
                }
            }
            parse_item_reader(p, &r, ql).map(Box::new)
        }
        None => None,
    };
    let item_batcher = match o.object(p, "ItemBatcher") {
        Some(b) => parse_item_batcher(p, &b, ql).map(Box::new),
        None => None,
    };
    let result_writer = match o.object(p, "ResultWriter") {
        Some(w) => parse_result_writer(p, &w, ql).map(Box::new),
        None => None,
    };
    Some(Map {
        processor: processor?,
        legacy_iterator: key == "Iterator",
        mode,
        execution_type,
        items_path,
        items,
        item_selector,
        item_selector_jsonata,
        max_concurrency,
        tolerated_failure_percentage,
        tolerated_failure_count,
        item_batcher,
        item_reader,
        result_writer,
        label,
    })
}

/// The readers Waymark runs: (resource after `arn:aws:states:::`, input types it reads).
const READERS: &[(&str, &[&str])] = &[
    ("s3:getObject", &["CSV", "JSON", "JSONL", "MANIFEST"]),
    ("s3:listObjectsV2", &[]),
];

/// Kept out of `parse_map`'s frame, which recursion through nested Maps multiplies.
#[inline(never)]
fn parse_result_writer(p: &mut Parser, w: &Obj, ql: QueryLanguage) -> Option<ResultWriter> {
    let params_key = match ql {
        QueryLanguage::JsonPath => "Parameters",
        QueryLanguage::Jsonata => "Arguments",
    };
    p.only(
        w,
        &["Resource", params_key, "WriterConfig"],
        "a ResultWriter",
    );
    let resource = p.string(w, "Resource");
    if let Some(r) = resource {
        if crate::resource::integration_part(r) != Some("s3:putObject") {
            p.schema(
                w.at("Resource"),
                format!("The ResultWriter resource '{r}' is not one Step Functions writes with: arn:aws:states:::s3:putObject"),
            );
        }
    }
    // AWS's field combinations: WriterConfig alone, Resource with its parameters, or all three.
    match (resource.is_some(), w.has(params_key), w.has("WriterConfig")) {
        (true, true, _) | (false, false, true) => {}
        (true, false, _) => p.schema(
            w.ptr_or_root(),
            format!("A ResultWriter with a 'Resource' needs '{params_key}' with the 'Bucket' and 'Prefix' to write to"),
        ),
        (false, true, _) => p.schema(
            w.ptr_or_root(),
            format!("A ResultWriter with '{params_key}' needs the 'Resource' arn:aws:states:::s3:putObject"),
        ),
        (false, false, false) => p.schema(
            w.ptr_or_root(),
            "A ResultWriter cannot be empty: give 'WriterConfig', or 'Resource' with its parameters, or all three",
        ),
    }
    let (parameters, arguments) = match (ql, w.get(params_key)) {
        (_, None) => (None, None),
        (_, Some(v)) if !v.is_object() && ql == QueryLanguage::JsonPath => {
            p.schema(
                w.at(params_key),
                format!("'{params_key}' must be an object"),
            );
            (None, None)
        }
        (QueryLanguage::JsonPath, Some(v)) => {
            if let Some(m) = v.as_object() {
                let has = |k: &str| m.contains_key(k) || m.contains_key(&format!("{k}.$"));
                if !has("Bucket") {
                    p.schema(
                        w.at(params_key),
                        "The ResultWriter's 'Parameters' need the 'Bucket' to write to",
                    );
                }
                for k in m.keys() {
                    let name = k.strip_suffix(".$").unwrap_or(k);
                    if !["Bucket", "Prefix"].contains(&name) {
                        p.schema(
                            pointer(&w.at(params_key), k),
                            format!("The field '{k}' is not supported by Step Functions in a ResultWriter's Parameters: 'Bucket' and 'Prefix' are"),
                        );
                    }
                }
            }
            (p.template(w, params_key), None)
        }
        (QueryLanguage::Jsonata, Some(_)) => (None, p.jsonata(w, params_key)),
    };
    let mut transformation = if resource.is_some() {
        Transformation::None
    } else {
        Transformation::Compact
    };
    let mut json_lines = false;
    if let Some(c) = w.object(p, "WriterConfig") {
        p.only(&c, &["Transformation", "OutputType"], "a WriterConfig");
        match p.string(&c, "Transformation") {
            None => {}
            Some("NONE") => transformation = Transformation::None,
            Some("COMPACT") => transformation = Transformation::Compact,
            Some("FLATTEN") => transformation = Transformation::Flatten,
            Some(t) => p.schema(
                c.at("Transformation"),
                format!("'Transformation' must be NONE, COMPACT or FLATTEN, not '{t}'"),
            ),
        }
        match p.string(&c, "OutputType") {
            None | Some("JSON") => {}
            Some("JSONL") => json_lines = true,
            Some(t) => p.schema(
                c.at("OutputType"),
                format!("'OutputType' must be JSON or JSONL, not '{t}'"),
            ),
        }
    }
    Some(ResultWriter {
        resource: resource.map(str::to_string),
        parameters,
        arguments,
        transformation,
        json_lines,
    })
}

/// Kept out of `parse_map`'s frame, which recursion through nested Maps multiplies.
#[inline(never)]
fn parse_item_reader(p: &mut Parser, r: &Obj, ql: QueryLanguage) -> Option<ItemReader> {
    let params_key = match ql {
        QueryLanguage::JsonPath => "Parameters",
        QueryLanguage::Jsonata => "Arguments",
    };
    p.only(
        r,
        &["Resource", params_key, "ReaderConfig"],
        "an ItemReader",
    );
    let resource = p.req_string(r, "Resource")?;
    let action = crate::resource::integration_part(resource);
    let Some(&(action, types)) = READERS.iter().find(|(a, _)| Some(*a) == action) else {
        p.schema(
            r.at("Resource"),
            format!("The ItemReader resource '{resource}' is not one Waymark reads: arn:aws:states:::s3:getObject or arn:aws:states:::s3:listObjectsV2"),
        );
        return None;
    };
    let (parameters, arguments) = match (ql, r.get(params_key)) {
        (_, None) => (None, None),
        (QueryLanguage::JsonPath, Some(v)) if !v.is_object() => {
            p.schema(
                r.at(params_key),
                format!("'{params_key}' must be an object"),
            );
            (None, None)
        }
        (QueryLanguage::JsonPath, Some(_)) => (p.template(r, params_key), None),
        (QueryLanguage::Jsonata, Some(_)) => (None, p.jsonata(r, params_key)),
    };
    let mut config = serde_json::Map::new();
    let mut max_items = None;
    if let Some(c) = r.object(p, "ReaderConfig") {
        let allowed: &[&str] = match ql {
            QueryLanguage::JsonPath => &[
                "InputType",
                "CSVHeaderLocation",
                "CSVHeaders",
                "CSVDelimiter",
                "MaxItems",
                "MaxItemsPath",
                "ManifestType",
                "ItemsPointer",
            ],
            QueryLanguage::Jsonata => &[
                "InputType",
                "CSVHeaderLocation",
                "CSVHeaders",
                "CSVDelimiter",
                "MaxItems",
                "ManifestType",
                "ItemsPointer",
            ],
        };
        p.only(&c, allowed, "a ReaderConfig");
        max_items = p.dynamic_uint(&c, "MaxItems", path_field(ql, "MaxItemsPath"), 1, ql);
        let input_type = p.string(&c, "InputType");
        match (input_type, types.is_empty()) {
            (Some(t), true) => p.schema(
                c.at("InputType"),
                format!(
                    "'InputType' is for s3:getObject; {action} lists the objects ('{t}' given)"
                ),
            ),
            (Some(t), false) if !types.contains(&t) => {
                let code = if t == "PARQUET" {
                    codes::UNSUPPORTED_FEATURE
                } else {
                    codes::SCHEMA_VALIDATION_FAILED
                };
                p.error(
                    code,
                    c.at("InputType"),
                    format!(
                        "Waymark reads the InputTypes {} from s3:getObject, not '{t}'",
                        types.join(", ")
                    ),
                );
            }
            _ => {}
        }
        let manifest = input_type == Some("MANIFEST");
        match p.string(&c, "ManifestType") {
            Some("S3_INVENTORY") if manifest => {}
            Some("ATHENA_DATA") if manifest => p.error(
                codes::UNSUPPORTED_FEATURE,
                c.at("ManifestType"),
                "Waymark reads S3 inventory manifests, not Athena's (ATHENA_DATA) yet",
            ),
            Some(t) if manifest => p.schema(
                c.at("ManifestType"),
                format!("'ManifestType' must be S3_INVENTORY or ATHENA_DATA, not '{t}'"),
            ),
            Some(_) => p.schema(
                c.at("ManifestType"),
                "'ManifestType' is only for the MANIFEST InputType",
            ),
            None => {}
        }
        // A JSON Pointer (RFC 6901) to the array inside the JSON object read.
        if let Some(ptr) = p.string(&c, "ItemsPointer") {
            if input_type != Some("JSON") {
                p.schema(
                    c.at("ItemsPointer"),
                    "'ItemsPointer' is only for the JSON InputType",
                );
            } else if !(ptr.is_empty() || ptr.starts_with('/')) {
                p.schema(
                    c.at("ItemsPointer"),
                    format!("'ItemsPointer' must be a JSON Pointer such as /items, not '{ptr}'"),
                );
            }
        }
        let csv = input_type == Some("CSV");
        let location = p.string(&c, "CSVHeaderLocation");
        match location {
            Some("FIRST_ROW") | Some("GIVEN") if csv => {}
            Some(l) if csv => p.schema(
                c.at("CSVHeaderLocation"),
                format!("'CSVHeaderLocation' must be FIRST_ROW or GIVEN, not '{l}'"),
            ),
            None if csv => p.schema(
                c.ptr_or_root(),
                "A CSV ItemReader needs 'CSVHeaderLocation' (FIRST_ROW or GIVEN)",
            ),
            _ => {}
        }
        for k in ["CSVHeaderLocation", "CSVHeaders", "CSVDelimiter"] {
            if c.has(k) && !csv {
                p.schema(c.at(k), format!("'{k}' is only for the CSV InputType"));
            }
        }
        match (location, c.get("CSVHeaders")) {
            (Some("GIVEN"), Some(Value::Array(h)))
                if !h.is_empty() && h.iter().all(Value::is_string) => {}
            (Some("GIVEN"), _) => p.schema(
                c.at("CSVHeaders"),
                "With CSVHeaderLocation GIVEN, 'CSVHeaders' must be a non-empty array of strings",
            ),
            (Some("FIRST_ROW"), Some(_)) => p.schema(
                c.at("CSVHeaders"),
                "'CSVHeaders' is only for CSVHeaderLocation GIVEN",
            ),
            _ => {}
        }
        if let Some(d) = p.string(&c, "CSVDelimiter") {
            if !["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"].contains(&d) {
                p.schema(
                    c.at("CSVDelimiter"),
                    format!(
                        "'CSVDelimiter' must be COMMA, PIPE, SEMICOLON, SPACE or TAB, not '{d}'"
                    ),
                );
            }
        }
        if let Some(Value::Object(m)) = r.get("ReaderConfig") {
            config = m.clone();
            config.remove("MaxItems");
            config.remove("MaxItemsPath");
        }
    } else if !types.is_empty() {
        p.schema(
            r.ptr_or_root(),
            format!("An ItemReader with {action} needs a 'ReaderConfig' with its 'InputType'"),
        );
    }
    if !types.is_empty() && !config.contains_key("InputType") && r.has("ReaderConfig") {
        p.schema(
            r.at("ReaderConfig"),
            format!("An ItemReader with {action} needs 'InputType'"),
        );
    }
    Some(ItemReader {
        resource: resource.to_string(),
        parameters,
        arguments,
        config: Value::Object(config),
        max_items,
    })
}

/// Kept out of `parse_map`'s frame, which recursion through nested Maps multiplies.
#[inline(never)]
fn parse_item_batcher(p: &mut Parser, b: &Obj, ql: QueryLanguage) -> Option<ItemBatcher> {
    let allowed: &[&str] = match ql {
        QueryLanguage::JsonPath => &[
            "MaxItemsPerBatch",
            "MaxItemsPerBatchPath",
            "MaxInputBytesPerBatch",
            "MaxInputBytesPerBatchPath",
            "BatchInput",
        ],
        QueryLanguage::Jsonata => &["MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"],
    };
    p.only(b, allowed, "an ItemBatcher");
    let max_items = p.dynamic_uint(
        b,
        "MaxItemsPerBatch",
        path_field(ql, "MaxItemsPerBatchPath"),
        1,
        ql,
    );
    let max_bytes = p.dynamic_uint(
        b,
        "MaxInputBytesPerBatch",
        path_field(ql, "MaxInputBytesPerBatchPath"),
        1,
        ql,
    );
    if let Some(Dynamic::Literal(n)) = &max_bytes {
        if *n > MAX_BATCH_BYTES {
            p.schema(
                b.at("MaxInputBytesPerBatch"),
                format!("'MaxInputBytesPerBatch' must be at most {MAX_BATCH_BYTES} (256 KiB)"),
            );
        }
    }
    let limited = [
        "MaxItemsPerBatch",
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatch",
        "MaxInputBytesPerBatchPath",
    ]
    .iter()
    .any(|k| b.has(k));
    if !limited {
        p.schema(
            b.ptr_or_root(),
            "An ItemBatcher needs 'MaxItemsPerBatch' or 'MaxInputBytesPerBatch' (or a path to one)",
        );
    }
    let (batch_input, batch_input_jsonata) = match (ql, b.get("BatchInput")) {
        (_, None) => (None, None),
        (_, Some(v)) if !v.is_object() && ql == QueryLanguage::JsonPath => {
            p.schema(b.at("BatchInput"), "'BatchInput' must be an object");
            (None, None)
        }
        (QueryLanguage::JsonPath, Some(_)) => (p.template(b, "BatchInput"), None),
        (QueryLanguage::Jsonata, Some(_)) => (None, p.jsonata(b, "BatchInput")),
    };
    Some(ItemBatcher {
        max_items,
        max_bytes,
        batch_input,
        batch_input_jsonata,
    })
}

fn tolerated_percentage(p: &mut Parser, o: &Obj, ql: QueryLanguage) -> Option<Dynamic<f64>> {
    let key = "ToleratedFailurePercentage";
    let path_key = "ToleratedFailurePercentagePath";
    if ql == QueryLanguage::JsonPath && o.has(path_key) {
        if o.has(key) {
            p.schema(
                o.ptr.clone(),
                format!("'{key}' and '{path_key}' are mutually exclusive"),
            );
            return None;
        }
        return p.path(o, path_key, true).map(Dynamic::Path);
    }
    match o.get(key)? {
        Value::String(s) if ql == QueryLanguage::Jsonata && is_jsonata(s) => {
            p.jsonata(o, key).map(Dynamic::Jsonata)
        }
        _ => {
            let n = p.number(o, key)?;
            if !(0.0..=100.0).contains(&n) {
                p.schema(
                    o.at(key),
                    format!("'{key}' must be between 0 and 100, got {n}"),
                );
                return None;
            }
            Some(Dynamic::Literal(n))
        }
    }
}
