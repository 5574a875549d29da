//! A distributed Map's children as executions of their own, as AWS shows them: each has an
//! ARN under the Map's label (`…:execution:MACHINE/LABEL:NAME`), a status, dates, an input
//! and an output, listed by ListExecutions with the run's `mapRunArn` and read by
//! DescribeExecution.
//!
//! The engine runs the children inside the parent's record (as silent frames); what it
//! records of each is this summary, written by the step that starts the child and again by
//! the step that ends it, in the same commit as the rest of the step (or from its outbox, for
//! a store that cannot). A STANDARD child's events go to a history of its own
//! ([`ChildEvent`]), kept the same way; an EXPRESS child has none, as on AWS.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use waymark_asl::Failure;

use crate::record::Status;

/// What a step records of one child: as it starts (RUNNING, with its input) or as it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildExecution {
    pub map_run_arn: String,
    /// The child's position in the run (its item, or its batch).
    pub index: usize,
    pub execution_arn: String,
    /// The parent's state machine under the Map's label: `…:stateMachine:MACHINE/LABEL`.
    pub state_machine_arn: String,
    pub name: String,
    pub status: Status,
    pub start: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<DateTime<Utc>>,
    /// The child's input as it started (after ItemSelector or batching). A summary written
    /// as the child ends carries none: stores keep the input and start of the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The items the child processes: 1, or the size of its batch.
    pub item_count: usize,
}

impl ChildExecution {
    /// This update written over what a store holds of the child: the first write's input
    /// and start stay.
    pub fn over(mut self, stored: Option<ChildExecution>) -> Self {
        if let Some(old) = stored {
            self.start = old.start;
            if self.input.is_none() {
                self.input = old.input;
            }
            self.item_count = old.item_count;
        }
        self
    }

    /// Where a child stands once its run is known: a child still RUNNING in a run that is
    /// not (the Map failed, the execution was stopped) was aborted when the run ended.
    pub fn as_of_run(mut self, run_status: &str, run_stop: Option<DateTime<Utc>>) -> Self {
        if self.status == Status::Running && run_status != "RUNNING" {
            self.status = Status::Aborted;
            self.stop = run_stop.or(self.stop);
        }
        self
    }
}

/// What a step writes of one child: [`ChildExecution`] with the run's names shared rather
/// than the child's own written out. A store that keys children by run and index (SQLite)
/// never needs the name; ten thousand children made naming a tenth of a Map's run.
#[derive(Debug, Clone)]
pub struct ChildUpdate {
    pub run: Arc<RunNames>,
    pub index: usize,
    pub status: Status,
    pub start: DateTime<Utc>,
    pub stop: Option<DateTime<Utc>>,
    /// As [`ChildExecution::input`]: only the first write of a child carries it.
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub failure: Option<Failure>,
    pub item_count: usize,
}

impl ChildUpdate {
    pub fn name(&self) -> String {
        self.run.name(self.index)
    }

    pub fn execution_arn(&self) -> String {
        format!("{}{}", self.run.execution_prefix, self.name())
    }

    /// The summary a store keeps and readers see.
    pub fn to_execution(&self) -> ChildExecution {
        let name = self.name();
        ChildExecution {
            map_run_arn: self.run.run_arn.clone(),
            index: self.index,
            execution_arn: format!("{}{name}", self.run.execution_prefix),
            state_machine_arn: self.run.state_machine_arn.clone(),
            name,
            status: self.status,
            start: self.start,
            stop: self.stop,
            input: self.input.clone(),
            output: self.output.clone(),
            failure: self.failure.clone(),
            item_count: self.item_count,
        }
    }
}

/// An event of a STANDARD child's own history: stores that keep children keep it under
/// the child's ARN, where GetExecutionHistory reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildEvent {
    pub execution_arn: String,
    /// The child's run and index, which a store may key the event by.
    pub map_run_arn: String,
    pub index: usize,
    pub event: crate::history::HistoryEvent,
}

/// The names of one run's children: computed once per run, not per child (a run may start
/// ten thousand).
#[derive(Debug, Clone)]
pub struct RunNames {
    pub run_arn: String,
    /// `…:execution:MACHINE/LABEL:`, the child's name follows.
    pub execution_prefix: String,
    /// `…:stateMachine:MACHINE/LABEL`.
    pub state_machine_arn: String,
    seed: (u64, u64),
}

impl RunNames {
    /// From the parent's execution ARN (`…:execution:MACHINE:EXECUTION`), the label the
    /// children run under ([`run_label`]) and the run's ARN.
    pub fn new(parent_execution_arn: &str, label: &str, run_arn: &str) -> RunNames {
        let machine = parent_execution_arn
            .rsplit_once(':')
            .map(|(head, _)| head)
            .unwrap_or(parent_execution_arn);
        let state_machine_arn = format!(
            "{}/{label}",
            machine.replacen(":execution:", ":stateMachine:", 1)
        );
        RunNames {
            run_arn: run_arn.to_string(),
            execution_prefix: format!("{machine}/{label}:"),
            state_machine_arn,
            seed: seed_of(run_arn),
        }
    }

    /// The name of the run's child `index`: a UUID that the same run and index always give,
    /// so a step decided again (after a conflict) names the child as before, and a
    /// ResultWriter's records name it as ListExecutions does.
    ///
    /// The run's seed makes the first half and masks the index in the second, so a store
    /// can tell the run and the index back from a name ([`NameParts`]) without an index of
    /// names.
    pub fn name(&self, index: usize) -> String {
        self.parts().name(index)
    }

    pub fn parts(&self) -> NameParts {
        NameParts {
            hi: self.seed.0 & HI_BITS,
            mask: self.seed.1 & LO_BITS,
        }
    }
}

/// The bits of a UUID's halves that are its own (not its version and variant).
const HI_BITS: u64 = 0xFFFF_FFFF_FFFF_0FFF;
const LO_BITS: u64 = 0x3FFF_FFFF_FFFF_FFFF;

/// What a run's children's names are made of: the same first half for all of them, and the
/// mask their index is written under in the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameParts {
    pub hi: u64,
    pub mask: u64,
}

impl NameParts {
    pub fn name(&self, index: usize) -> String {
        uuid_text(self.hi, self.mask ^ (index as u64 & LO_BITS))
    }

    /// A name's two halves without their version and variant bits: the run's `hi`, and the
    /// index under its mask.
    pub fn split(name: &str) -> Option<(u64, u64)> {
        if name.len() != 36 {
            return None;
        }
        let hex: String = name.chars().filter(|c| *c != '-').collect();
        if hex.len() != 32 {
            return None;
        }
        let hi = u64::from_str_radix(&hex[..16], 16).ok()?;
        let lo = u64::from_str_radix(&hex[16..], 16).ok()?;
        Some((hi & HI_BITS, lo & LO_BITS))
    }

    /// The index a name's second half holds under this run's mask.
    pub fn index_of(&self, lo: u64) -> usize {
        ((lo ^ self.mask) & LO_BITS) as usize
    }
}

/// [`crate::memory::uuid_v4`] without `format!`, which cost more than the rest of naming a
/// child.
fn uuid_text(hi: u64, lo: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    let mut out = String::with_capacity(36);
    for (i, b) in hi
        .to_be_bytes()
        .into_iter()
        .chain(lo.to_be_bytes())
        .enumerate()
    {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

fn seed_of(text: &str) -> (u64, u64) {
    use sha2::Digest;
    let d = sha2::Sha256::digest(text.as_bytes());
    let word = |i: usize| u64::from_be_bytes(d[i..i + 8].try_into().expect("8 bytes"));
    (word(0), word(8))
}

/// The label children run under: the Map's `Label`, else its state's name when that can
/// stand in an ARN (state names may hold spaces and colons), else a UUID of the run, as AWS
/// gives a Map without a label.
pub fn run_label(label: Option<&str>, state_name: &str, map_run_arn: &str) -> String {
    if let Some(l) = label {
        return l.to_string();
    }
    let fits =
        |c: char| !c.is_whitespace() && !c.is_control() && !"<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
    if !state_name.is_empty() && state_name.chars().count() <= 80 && state_name.chars().all(fits) {
        state_name.to_string()
    } else {
        uuid_of(&format!("{map_run_arn}#label"))
    }
}

/// A UUID-shaped name made from `seed`, the same every time.
pub(crate) fn uuid_of(seed: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(seed.as_bytes());
    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Whether an execution ARN names a Map's child (`…:execution:MACHINE/LABEL:NAME`): a
/// top-level execution's machine name has no `/`.
pub fn is_child_arn(execution_arn: &str) -> bool {
    execution_arn
        .split(':')
        .nth(6)
        .is_some_and(|machine| machine.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_named_under_the_label_of_their_map() {
        let parent = "arn:aws:states:us-east-1:123456789012:execution:orders:run-1";
        let run = "arn:aws:states:us-east-1:123456789012:mapRun:orders:run-1/Each:0";
        let names = RunNames::new(parent, "Each", run);
        assert_eq!(
            names.execution_prefix,
            "arn:aws:states:us-east-1:123456789012:execution:orders/Each:"
        );
        assert_eq!(
            names.state_machine_arn,
            "arn:aws:states:us-east-1:123456789012:stateMachine:orders/Each"
        );
        let name = names.name(7);
        assert_eq!(name, RunNames::new(parent, "Each", run).name(7));
        let all: std::collections::HashSet<String> = (0..10_000).map(|i| names.name(i)).collect();
        assert_eq!(all.len(), 10_000, "every child its own name");
        let (hi, lo) = NameParts::split(&name).unwrap();
        assert_eq!(hi, names.parts().hi, "the run is told from a name");
        assert_eq!(names.parts().index_of(lo), 7, "and the index");
        assert_eq!(NameParts::split("not-a-uuid"), None);
        assert_ne!(
            name,
            RunNames::new(parent, "Each", &format!("{run}1")).name(7)
        );
        assert_eq!(
            (name.len(), &name[14..15]),
            (36, "4"),
            "a version-4 UUID: {name}"
        );
        assert!(is_child_arn(&format!("{}{name}", names.execution_prefix)));
        assert!(!is_child_arn(parent));
        assert_eq!(run_label(Some("L"), "Each", "r"), "L");
        assert_eq!(run_label(None, "Each", "r"), "Each");
        let odd = run_label(None, "Process items: all", "r");
        assert_eq!((odd.len(), odd.clone()), (36, run_label(None, "x y", "r")));
    }

    #[test]
    fn uuids_are_written_as_the_memory_store_writes_them() {
        for (hi, lo) in [(0, 0), (u64::MAX, u64::MAX), (0x0123_4567_89ab_cdef, 42)] {
            assert_eq!(uuid_text(hi, lo), crate::memory::uuid_v4(hi, lo));
        }
    }

    #[test]
    fn a_child_left_running_by_its_run_was_aborted() {
        let at = Utc::now();
        let c = ChildExecution {
            map_run_arn: "r".into(),
            index: 0,
            execution_arn: "e".into(),
            state_machine_arn: "m".into(),
            name: "n".into(),
            status: Status::Running,
            start: at,
            stop: None,
            input: None,
            output: None,
            failure: None,
            item_count: 1,
        };
        assert_eq!(c.clone().as_of_run("RUNNING", None).status, Status::Running);
        let ended = c.clone().as_of_run("FAILED", Some(at));
        assert_eq!((ended.status, ended.stop), (Status::Aborted, Some(at)));
        let done = ChildExecution {
            status: Status::Succeeded,
            ..c
        };
        assert_eq!(done.as_of_run("FAILED", None).status, Status::Succeeded);
    }
}
