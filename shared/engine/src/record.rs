//! The durable state of an execution: its record and the frames (threads of states) inside it.
//! Everything here is serialisable, so any store can keep it; nothing lives only in memory.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::frames::Frames;
use waymark_asl::parse::MachineType;
use waymark_asl::Failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }

    pub fn is_terminal(self) -> bool {
        self != Status::Running
    }
}

/// The SHA-256 of a task token, in hex: what stores keep and look tokens up by.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Frames are named by their path from the root: `""` is the execution itself, `"0/3"` the
/// fourth child (item or branch) of the first fan-out in the root, and so on. The names sort so
/// that a parent comes before its children.
pub type FrameId = String;

pub fn child_frame_id(parent: &str, fanout: u64, index: usize) -> FrameId {
    if parent.is_empty() {
        format!("{fanout}.{index}")
    } else {
        format!("{parent}/{fanout}.{index}")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    /// The revision of the state machine this execution runs.
    #[serde(default)]
    pub revision: u64,
    pub machine_type: MachineTypeRepr,
    pub role_arn: String,
    pub input: Value,
    #[serde(with = "crate::iso_time")]
    pub start_time: DateTime<Utc>,
    pub status: Status,
    pub output: Option<Value>,
    pub failure: Option<Failure>,
    pub stop_time: Option<DateTime<Utc>>,
    pub redrive_count: u32,
    /// Incremented by every committed step: the store's conditional writes check it.
    pub version: u64,
    pub next_event_id: u64,
    /// Counter for naming fan-outs uniquely within the execution.
    pub next_fanout: u64,
    /// Bumped by every step that yields with work left: only the newest
    /// `Signal::Resume` goes on with it.
    #[serde(default)]
    pub turn: u64,
    pub frames: Frames,
    /// Set when the execution ends unsuccessfully: where RedriveExecution starts again.
    #[serde(default)]
    pub redrive_point: Option<RedrivePoint>,
    /// While the execution runs: what a failed root-level inline Map or Parallel kept for a
    /// redrive, or what a redrive hands to the fan-out it starts again (see [`Kept`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<Kept>,
    /// The mock test case this execution's tasks are answered from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_case: Option<String>,
    /// The version this execution runs, when it was started through a version or an alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_arn: Option<String>,
    /// The alias it was started through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_arn: Option<String>,
    /// Its distributed Maps' runs, oldest first (at most [`MAX_MAP_RUNS`]), for the Map Run
    /// operations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map_runs: Vec<MapRun>,
}

/// How many map runs a record keeps: the oldest go first (the record must stay small).
pub const MAX_MAP_RUNS: usize = 100;

/// A distributed Map's run, as the Map Run operations show it. While it runs, its counts are
/// those of the Map's frame; they are copied here when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapRun {
    pub arn: String,
    /// The Map's frame and fan-out, while it runs.
    pub frame: FrameId,
    pub fanout: u64,
    /// RUNNING, SUCCEEDED, FAILED or ABORTED.
    pub status: String,
    pub start: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<DateTime<Utc>>,
    /// 0: no limit.
    pub max_concurrency: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_percentage: Option<f64>,
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub aborted: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedrivePoint {
    pub state: String,
    pub input: Value,
    pub vars: Map<String, Value>,
    /// The iterations or branches of an inline Map or Parallel that succeeded before it
    /// failed: a redrive runs only the others (RedriveExecution: "redrives only the iterations
    /// and branches that failed or aborted").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<Kept>,
}

/// Results a root-level inline Map or Parallel had when it failed, `None` where a child
/// failed or never ended. Kept in the record under the entry of the state that failed (its
/// StateEntered event's id), moved into the redrive point when the execution ends in that
/// entry, and handed back to the state's fan-out when a redrive enters it again
/// (`entered_event_id` 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub entered_event_id: u64,
    pub results: Vec<Option<Value>>,
}

/// `MachineType` with serde, kept apart so that the language crate needs no serde derive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MachineTypeRepr {
    Standard,
    Express,
}

impl From<MachineType> for MachineTypeRepr {
    fn from(t: MachineType) -> Self {
        match t {
            MachineType::Standard => MachineTypeRepr::Standard,
            MachineType::Express => MachineTypeRepr::Express,
        }
    }
}

impl From<MachineTypeRepr> for MachineType {
    fn from(t: MachineTypeRepr) -> Self {
        match t {
            MachineTypeRepr::Standard => MachineType::Standard,
            MachineTypeRepr::Express => MachineType::Express,
        }
    }
}

/// One thread of states: the execution's root, a Parallel branch or a Map iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Where the graph this frame runs is: `(state, branch)` pairs from the root graph.
    pub scope: Vec<(String, usize)>,
    pub parent: Option<FrameId>,
    /// Branch index (Parallel) or item index (Map) in the parent.
    pub index: usize,
    /// The item, for `$$.Map.Item.Value`.
    pub map_item: Option<Value>,
    pub state: String,
    /// The raw input of the current state.
    pub input: Value,
    pub entered_event_id: u64,
    #[serde(with = "crate::iso_time")]
    pub entered_time: DateTime<Utc>,
    /// The last history event of this frame, the `previousEventId` of its next one.
    pub last_event_id: u64,
    /// Changes with every phase, so that a late timer or task answer for an earlier phase is
    /// recognised and ignored.
    pub seq: u64,
    pub phase: Phase,
    /// Attempts made so far per retrier of the current state.
    pub retry_counts: Vec<u64>,
    /// Variables assigned in this frame's scope.
    pub vars: Map<String, Value>,
    /// Children of a distributed Map run as child workflows in AWS: their events belong to
    /// those, not to this execution's history.
    #[serde(default)]
    pub silent: bool,
    /// A distributed Map's STANDARD child keeps a history of its own, as its execution does
    /// on AWS: the events of the child's frames (and of frames nested in them) go there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_history: Option<OwnHistory>,
}

/// Whose history a frame's events go to, when not the execution's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnHistory {
    /// The Map's frame and fan-out, and the child's index in it: which child execution.
    pub map_frame: FrameId,
    pub fanout: u64,
    pub index: usize,
    /// The child's first frame, whose `next_event_id` numbers the child's events.
    pub root: FrameId,
    /// Meaningful in the root only.
    pub next_event_id: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase")]
pub enum Phase {
    /// About to enter `state`.
    Enter,
    /// Entered; its work starts (again, after a retry back-off) when the frame runs.
    Run,
    /// A Wait state, until `until`; then the frame exits with `output`.
    Waiting {
        #[serde(with = "crate::iso_time")]
        until: DateTime<Utc>,
        output: Value,
        assigned: Option<Map<String, Value>>,
    },
    /// Retry back-off: the state runs again at `until`.
    Backoff {
        #[serde(with = "crate::iso_time")]
        until: DateTime<Utc>,
    },
    /// A task is in flight.
    Task(TaskPhase),
    /// A Map or Parallel state waits for its children.
    Children(Fanout),
    /// Finished: succeeded with output, or failed.
    Done {
        output: Value,
    },
    Failed {
        failure: Failure,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskPhase {
    /// The SHA-256 of the task token, in hex: the token itself is handed to the task and
    /// never kept at rest.
    #[serde(alias = "token")]
    pub token_hash: String,
    /// Bumped by every SendTaskHeartbeat: only the newest heartbeat timer counts.
    pub heartbeats: u64,
    pub resource: String,
    pub parameters: Value,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    pub wait_for_token: bool,
    /// A `.sync` task's running job ([`crate::ports::TaskOutcome::Job`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<Value>,
    /// How many times the job has been asked about; only the newest poll timer counts.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub polls: u32,
    /// Not a Task's task: a distributed Map's ItemReader reading the items.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reader: bool,
    /// Not a Task's task: a distributed Map's ResultWriter writing the results to S3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<Box<crate::step::WriterPhase>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fanout {
    pub id: u64,
    pub is_map: bool,
    pub total: usize,
    pub started: usize,
    pub running: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub max_concurrency: usize,
    pub tolerated_count: Option<u64>,
    pub tolerated_percentage: Option<f64>,
    /// Parallel: every branch's input. Map: the effective input that ItemSelector reads.
    pub input: Value,
    /// Map: the items, each becoming a child's input (through ItemSelector) when it starts.
    /// Shared: they never change once the fan-out starts, and every step clones the record
    /// and compares it with the clone, which for ten thousand items cost more than the step.
    pub items: std::sync::Arc<Vec<Value>>,
    /// Results in order; `None` until the child is done.
    pub results: Vec<Option<Value>>,
    pub distributed: bool,
    /// A distributed Map with a `ResultWriter`: what each started child had and how it
    /// ended, for the records written about it; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<Option<crate::step::ChildLog>>,
    /// The index of `items[0]`: a distributed Map's ItemReader gives its items a window at a
    /// time, and each window starts where the one before ended.
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    pub first: usize,
    /// The ItemReader has more to read: what its next read asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more: Option<Box<NextRead>>,
    /// The next window is being read (the read's answer carries the frame's `seq`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reading: bool,
    /// With an ItemBatcher: items read but not batched yet, since the window's last batch may
    /// grow with the next window's items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unbatched: Vec<Value>,
}

/// What a distributed Map's next ItemReader read asks: the reader's parameters as evaluated
/// when the Map started, and its configuration with the cursor the last read gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextRead {
    pub parameters: Value,
    pub config: Value,
    /// Items read so far: the next window's first has this index (before batching).
    pub read: usize,
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}
