//! What happens when a state fails: Retry (Task, Parallel, Map), then Catch, then the failure
//! of the frame.

use chrono::Duration;
use waymark_asl::dataflow::{apply_result_path, error_output};
use waymark_asl::model::Transition;
use waymark_asl::Failure;

use super::{Stepper, TimerKind};
use crate::history;
use crate::record::Phase;

impl Stepper<'_, '_> {
    /// Fails the frame's current state with `f`, applying its retriers and catchers.
    pub(crate) fn fail_state(&mut self, fid: &str, f: Failure) {
        let state = self.current_state(fid);
        let error = f.error_name().to_string();

        if let Some(i) = state.retry.iter().position(|r| r.matches(&error)) {
            let retrier = &state.retry[i];
            let done = self.frame(fid).retry_counts.get(i).copied().unwrap_or(0);
            if done < retrier.max_attempts {
                let unit = (self.env.random.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                let delay = retrier.delay_seconds(done + 1, unit);
                let now = self.env.now;
                let frame = self.frame_mut(fid);
                if frame.retry_counts.len() <= i {
                    frame.retry_counts.resize(i + 1, 0);
                }
                frame.retry_counts[i] += 1;
                frame.seq += 1;
                if delay <= 0.0 {
                    frame.phase = Phase::Run;
                } else {
                    let until = now + Duration::milliseconds((delay * 1000.0).round() as i64);
                    frame.phase = Phase::Backoff { until };
                    self.schedule(fid, until, TimerKind::Wake);
                }
                return;
            }
        }

        // A Map or Parallel whose children failed says so; one whose own fields could not be
        // evaluated fails without that event, as AWS does.
        if let Phase::Children(f) = &self.frame(fid).phase {
            let is_map = f.is_map;
            self.emit(fid, history::fanout_event(is_map, "Failed", None));
        }

        if let Some(c) = state.catch.iter().find(|c| c.matches(&error)) {
            let raw = self.frame(fid).input.clone();
            match apply_result_path(c.result_path.as_ref(), &raw, error_output(&f)) {
                Ok(output) => {
                    self.transition(fid, Some(Transition::Next(c.next.clone())), output);
                }
                Err(e) => {
                    let e = self.field_error(fid, e);
                    let frame = self.frame_mut(fid);
                    frame.seq += 1;
                    frame.phase = Phase::Failed { failure: e };
                }
            }
            return;
        }

        let frame = self.frame_mut(fid);
        frame.seq += 1;
        frame.phase = Phase::Failed { failure: f };
    }
}
