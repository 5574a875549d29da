//! AWS's JSONPath dialect (Jayway's, as Step Functions runs it).
//!
//! Reference paths — `$`, `$.a.b`, `$['x'][0]`, `$$.Execution.Id`, `$var.field` — are parsed and
//! evaluated here, and can also be *written* (ResultPath). Anything beyond a reference path
//! (wildcards, slices, unions, filters, deep scan) becomes an RFC 9535 query that
//! `serde_json_path_core` evaluates. Jayway's rule for the shape of the answer is kept: a
//! definite path yields the value itself (or nothing), an indefinite one always yields a list,
//! possibly empty.

mod filter;
mod parse;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde_json::Value;

use crate::error::Failure;
pub use filter::Filter;
pub use parse::{PathError, MAX_NESTING};
use serde_json_path_core::spec::query::{Query, QueryKind, Queryable};

/// What a path starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    Name(String),
    Index(i64),
    Wildcard,
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    Names(Vec<String>),
    Indices(Vec<i64>),
    /// A filter expression, as RFC 9535 evaluates it.
    Filter(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `..`: this selector applies to every descendant, not only to children.
    pub descendant: bool,
    pub selector: Selector,
}

/// A parsed path, with its source text kept for error messages.
#[derive(Debug, Clone)]
pub struct Path {
    source: String,
    root: Root,
    steps: Vec<Step>,
    /// Present when the path is indefinite: the RFC 9535 query (of the steps before the
    /// merged names, when there are some).
    query: Option<Query>,
    /// Several names in the last bracket: each value selected becomes an object of these.
    /// Boxed: a path sits in every state's model, and the definition parser's recursion
    /// (bounded, on small stacks) holds those models in its frames.
    merge: Option<Box<Merge>>,
    /// How many deep scans (`..`) the path holds, its filters' included.
    deep_scans: u32,
}

/// How many nodes one evaluation of an indefinite path may visit, estimated before it starts.
/// Each deep scan (`..`) after the first can visit every node once per ancestor, so
/// `$..a..b..c` over a document of N nodes nested D deep visits up to N·D² nodes: without a
/// bound a 250-byte path over a 256 KiB input runs for hours.
pub const MAX_PATH_VISITS: u64 = 20_000_000;

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

/// Why a value could not be written at a reference path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WriteError(pub String);

impl Path {
    pub fn parse(source: &str) -> Result<Path, PathError> {
        let (root, steps) = parse::parse_path(source)?;
        let merge = match steps.last() {
            Some(Step {
                descendant,
                selector: Selector::Names(names),
            }) if names.len() > 1 => Some(Box::new(Merge {
                names: names.clone(),
                scan: *descendant,
            })),
            _ => None,
        };
        let before = &steps[..steps.len() - usize::from(merge.is_some())];
        // A deep scan before merged names makes a list, whatever comes before it.
        let scan = merge.as_ref().is_some_and(|m| m.scan);
        let definite = before
            .iter()
            .all(|s| !s.descendant && matches!(s.selector, Selector::Name(_) | Selector::Index(_)));
        let query = if definite && !scan {
            None
        } else {
            Some(filter::query(QueryKind::Root, before)?)
        };
        Ok(Path {
            deep_scans: count_deep_scans(source),
            source: source.to_string(),
            root,
            steps,
            query,
            merge,
        })
    }

    /// Parses a path that must be a reference path (ResultPath, ItemsPath and the like).
    pub fn parse_reference(source: &str) -> Result<Path, PathError> {
        let path = Path::parse(source)?;
        if !path.is_reference() {
            return Err(PathError {
                message: "must be a reference path (no wildcards, filters, slices or deep scan)"
                    .into(),
            });
        }
        Ok(path)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// A reference path names at most one value with names and indices only: it can be
    /// written (ResultPath).
    pub fn is_reference(&self) -> bool {
        self.query.is_none() && self.merge.is_none()
    }

    /// Selects one value or nothing, never a list of what it found (Jayway's definite paths:
    /// the reference paths, and those ending in merged names after a reference path).
    pub fn is_definite(&self) -> bool {
        self.query.is_none()
    }

    /// Evaluates the path against the value its root designates. A definite path yields
    /// `None` when nothing is there; an indefinite one always yields a list. An indefinite
    /// path fails when it would visit more than [`MAX_PATH_VISITS`] nodes or copy more than
    /// [`MAX_EVALUATION_BYTES`](crate::budget::MAX_EVALUATION_BYTES).
    pub fn select<'a>(&self, root: &'a Value) -> Result<Option<Cow<'a, Value>>, Failure> {
        let Some(query) = &self.query else {
            let found = self.select_definite(root);
            return Ok(match &self.merge {
                None => found.map(Cow::Borrowed),
                Some(m) => found.and_then(|v| merged(v, &m.names)).map(Cow::Owned),
            });
        };
        if self.deep_scans >= 2 {
            let (nodes, depth) = crate::json::shape(root);
            let visits = (nodes as u64)
                .saturating_mul((depth.max(1) as u64).saturating_pow(self.deep_scans - 1));
            if visits > MAX_PATH_VISITS {
                return Err(Failure::runtime(format!(
                    "The path '{}' has {} deep scans (..): over this input ({nodes} nodes nested {depth} deep) it could visit about {visits} nodes, more than the maximum of {MAX_PATH_VISITS}",
                    crate::json::clip(&self.source),
                    self.deep_scans
                )));
            }
        }
        let found = query.query(root, root);
        let mut left = crate::budget::MAX_EVALUATION_BYTES;
        for v in &found {
            match crate::json::payload_size_within(v, left) {
                Some(n) => left -= n,
                None => {
                    return Err(Failure::new(
                        crate::error::names::DATA_LIMIT_EXCEEDED,
                        format!(
                            "The path '{}' selected more than {} bytes",
                            crate::json::clip(&self.source),
                            crate::budget::MAX_EVALUATION_BYTES
                        ),
                    ))
                }
            }
        }
        let found: Vec<Value> = match self.merge.as_deref() {
            None => found.into_iter().cloned().collect(),
            Some(Merge { names, scan: false }) => {
                found.into_iter().filter_map(|v| merged(v, names)).collect()
            }
            Some(Merge { names, scan: true }) => {
                let mut out = Vec::new();
                for v in found {
                    scan_merged(v, names, &mut out);
                }
                out
            }
        };
        Ok(Some(Cow::Owned(Value::Array(found))))
    }

    /// The value the steps select, the merged names aside, when they are names and indices.
    fn select_definite<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        let mut cur = root;
        let steps = &self.steps[..self.steps.len() - usize::from(self.merge.is_some())];
        for step in steps {
            cur = match (&step.selector, cur) {
                (Selector::Name(name), Value::Object(map)) => map.get(name)?,
                (Selector::Index(i), Value::Array(items)) => {
                    items.get(resolve_index(*i, items.len())?)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Writes `value` at this reference path inside `target`, creating missing objects on the
    /// way, as ResultPath does.
    pub fn write(&self, target: &mut Value, value: Value) -> Result<(), WriteError> {
        if !self.is_reference() {
            return Err(WriteError(format!(
                "'{}' is not a reference path",
                self.source
            )));
        }
        let mut cur = target;
        for (n, step) in self.steps.iter().enumerate() {
            let last = n + 1 == self.steps.len();
            cur = match &step.selector {
                Selector::Name(name) => {
                    let Value::Object(map) = cur else {
                        return Err(self.write_error(cur));
                    };
                    if last {
                        map.insert(name.clone(), value);
                        return Ok(());
                    }
                    map.entry(name.clone())
                        .or_insert_with(|| Value::Object(Default::default()))
                }
                Selector::Index(i) => {
                    let len = match &*cur {
                        Value::Array(items) => items.len(),
                        other => return Err(self.write_error(other)),
                    };
                    let Some(idx) = resolve_index(*i, len) else {
                        return Err(self.write_error(cur));
                    };
                    let Value::Array(items) = cur else {
                        unreachable!("checked above")
                    };
                    if last {
                        items[idx] = value;
                        return Ok(());
                    }
                    &mut items[idx]
                }
                _ => unreachable!("reference paths hold only names and indices"),
            };
        }
        *cur = value;
        Ok(())
    }

    fn write_error(&self, at: &Value) -> WriteError {
        WriteError(format!(
            "Unable to apply ResultPath '{}' to input: cannot write into {}",
            self.source,
            crate::json::type_name(at)
        ))
    }
}

/// Names merged at the end of a path (see [`merged`]).
#[derive(Debug, Clone)]
struct Merge {
    names: Vec<String>,
    /// After `..`: every object at or under the value that has all the names.
    scan: bool,
}

/// Jayway's `..['a','b']`: its scan visits the value and everything under it, depth first,
/// an object before what it holds, and merges the names of each object that has them all
/// (`ScanPathToken`'s predicate for a definite property token).
fn scan_merged(value: &Value, names: &[String], out: &mut Vec<Value>) {
    // A stack, not recursion: how deep the value is nested is not bounded here.
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if names.iter().all(|n| map.contains_key(n)) {
                    out.extend(merged(v, names));
                }
                stack.extend(map.values().rev());
            }
            Value::Array(items) => stack.extend(items.iter().rev()),
            _ => {}
        }
    }
}

/// Jayway's several names at the end of a path: an object of those of them `value` has, in
/// the path's order (a value that is not an object gives nothing).
fn merged(value: &Value, names: &[String]) -> Option<Value> {
    let Value::Object(map) = value else {
        return None;
    };
    let mut out = serde_json::Map::new();
    for name in names {
        if let Some(v) = map.get(name) {
            out.insert(name.clone(), v.clone());
        }
    }
    Some(Value::Object(out))
}

/// The deep scans (`..`) in a path's text, outside quoted names and strings.
fn count_deep_scans(source: &str) -> u32 {
    let mut count = 0;
    let mut quote = None;
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '.') if chars.peek() == Some(&'.') => {
                chars.next();
                count += 1;
            }
            _ => {}
        }
    }
    count
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let idx = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&idx).then_some(idx as usize)
}
