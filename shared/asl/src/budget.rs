//! How much one evaluation of a payload template or an intrinsic call may copy and build.
//!
//! A path copies what it selects, so a template of many `"x.$": "$"` fields, or an intrinsic
//! call such as `States.Array($, $, …)` or `States.Format` nested ten deep, multiplies the
//! input: a 1 MB definition over a 256 KiB input could ask for tens of gigabytes. AWS fails
//! any payload over 256 KiB; we stop the evaluation once the values it has copied or built add
//! up to [`MAX_EVALUATION_BYTES`], a wide margin above that, before it allocates more.

use std::cell::Cell;

use serde_json::Value;

use crate::error::{names, Failure};
use crate::json::payload_size;

/// What one evaluation of a template (or of one intrinsic call) may copy and build, counted
/// as JSON text: 16 times AWS's payload limit.
pub const MAX_EVALUATION_BYTES: usize = 4 << 20;

pub(crate) struct Budget {
    left: Cell<usize>,
}

impl Budget {
    pub(crate) fn new() -> Budget {
        Budget {
            left: Cell::new(MAX_EVALUATION_BYTES),
        }
    }

    /// Counts `v`, just copied or built for `what`; fails once the evaluation has used more
    /// than its share.
    pub(crate) fn take(&self, v: &Value, what: impl FnOnce() -> String) -> Result<(), Failure> {
        let size = payload_size(v);
        match self.left.get().checked_sub(size) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => Err(Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "{} made the evaluation copy or build more than {MAX_EVALUATION_BYTES} bytes",
                    what()
                ),
            )),
        }
    }
}
