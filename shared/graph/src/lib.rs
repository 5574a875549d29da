//! The picture of a state machine, as data: what the console and `waymark run --graph` draw.
//! [`build`] turns a definition into nodes and edges (every state, Choice rules, Catch edges,
//! Retry marks, Map and Parallel as containers); [`status`] reads an execution's history into
//! what happened to each state. Layout is left to the drawing side (dagre, in the browser).
//!
//! dagre lays out nested containers but cannot route an edge to a container itself, so edges
//! only ever join plain nodes: a container has an entry and an exit node inside it, edges into
//! a Map or Parallel end at its entry, and its Next and Catch edges leave from its exit.

mod build;
mod callback;
mod status;

pub use build::{build, GraphError, MAX_DEPTH};
pub use callback::Waiting;
pub use status::{status, StateRun, Status};

use serde::Serialize;

/// A state machine's graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// Where the execution starts.
    Start,
    /// Where it ends.
    End,
    /// A state that is not a container.
    State,
    /// A Map or Parallel state: holds its branches or its item processor.
    Container,
    /// One branch of a Parallel state.
    Branch,
    /// The point inside a container where its branches begin.
    Entry,
    /// The point inside a container where its branches end and its own edges leave.
    Exit,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    /// What the drawing writes in it.
    pub label: String,
    /// The containing node, for states inside a Map or a Parallel branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The state's name, for nodes that are states (and containers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The state's `Type`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub state_type: Option<String>,
    /// A Task's resource, a Map's mode: a second line under the label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The errors a Retry field retries, when the state has one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<String>,
}

/// Why an edge is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// `Next` or `StartAt`, or the end of a branch.
    Next,
    /// One of a Choice state's rules.
    Choice,
    /// A Choice state's `Default`.
    Default,
    /// A `Catch` field's `Next`.
    Catch,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The node id of the state named `name`.
pub fn state_id(name: &str) -> String {
    format!("state:{name}")
}
