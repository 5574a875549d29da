//! Waymark on a laptop: the engine's ports over an embedded SQLite file, timers fired by an
//! in-process scheduler, task answers and child executions handled locally. `waymark run`
//! and `waymark serve` both run on it.

mod registry;
pub mod runtime;
pub mod sqlite;

pub use runtime::{Integrations, Local, LocalEngine, LocalOptions};
pub use sqlite::SqliteStore;

mod gate;

use waymark_engine::memory::NoTasks;
use waymark_tasks::aws::AwsTasks;
use waymark_tasks::mock::MockTasks;

pub use gate::{Gate, Reach};

/// What runs Task states locally: mocked responses first, then the AWS integrations the user
/// pointed somewhere, and a clear failure for anything else.
pub type LocalIntegrations = MockTasks<Gate<AwsTasks<NoTasks>>>;

/// Assembles [`LocalIntegrations`].
pub fn integrations(
    mocks: waymark_tasks::mock::MockConfig,
    config: &waymark_tasks::TaskConfig,
    reach: Reach,
) -> LocalIntegrations {
    MockTasks::new(mocks, Gate::new(AwsTasks::new(config, NoTasks), reach))
}
