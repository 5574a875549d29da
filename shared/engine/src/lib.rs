//! Executions of ASL state machines, advanced one step at a time. The pure decision of a step
//! lives in [`step`]; the ports (storage, timers, tasks, clock, ids) and their in-memory
//! implementations let the same engine run in memory, on SQLite and on AWS.

pub mod activity;
pub mod approval;
mod children;
pub mod context;
#[cfg(any(test, feature = "test-util"))]
pub mod contract;
pub mod frames;
pub mod history;
mod iso_time;
pub mod map_children;
pub mod memory;
pub mod ports;
pub mod record;
pub mod runner;
pub mod step;
pub mod test_state;
pub mod versions;
pub mod write_set;
