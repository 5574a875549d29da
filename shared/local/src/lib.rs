//! Waymark on a laptop: the engine's ports over an embedded SQLite file, timers fired by an
//! in-process scheduler, task answers and child executions handled locally. `waymark run`
//! and `waymark serve` both run on it.

mod children;
pub mod runtime;
pub mod sqlite;

pub use runtime::{Integrations, Local, LocalEngine, LocalOptions};
pub use sqlite::SqliteStore;
