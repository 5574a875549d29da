//! What happens when a state fails: Retry (Task, Parallel, Map), then Catch, then the failure
//! of the frame.

use chrono::Duration;
use waymark_asl::dataflow::error_output;
use waymark_asl::model::{is_terminal, StateKind, Transition};
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
                let retry = Some((i, delay.max(0.0)));
                if delay <= 0.0 {
                    frame.phase = Phase::Run;
                } else {
                    let until = now + Duration::milliseconds((delay * 1000.0).round() as i64);
                    frame.phase = Phase::Backoff { until };
                    self.schedule(fid, until, TimerKind::Wake);
                }
                self.handled(fid, f, retry, None);
                self.drop_kept(fid);
                return;
            }
        }

        // A Map or Parallel that fails says so, unless the error is one that ends the
        // execution outright (States.Runtime, States.DataLimitExceeded), as AWS does.
        let fanout = match &state.kind {
            StateKind::Map(_) => Some(true),
            StateKind::Parallel(_) => Some(false),
            _ => None,
        };
        if let (Some(is_map), false) = (fanout, is_terminal(&error)) {
            self.emit(fid, history::fanout_event(is_map, "Failed", None));
        }

        if let Some(c) = state.catch.iter().find(|c| c.matches(&error)) {
            self.handled(fid, f.clone(), None, Some(c.index));
            self.drop_kept(fid);
            match self.conclude_catch(fid, state, c, error_output(&f)) {
                Ok((output, assigned)) => {
                    self.assign_vars(fid, assigned);
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

        self.handled(fid, f.clone(), None, None);
        let frame = self.frame_mut(fid);
        frame.seq += 1;
        frame.phase = Phase::Failed { failure: f };
    }

    /// A root-level Map or Parallel whose failure is retried or caught will not be redriven
    /// from this failure: what its fan-out kept for that goes, rather than ride in the record
    /// for the rest of the run.
    fn drop_kept(&mut self, fid: &str) {
        if fid.is_empty() {
            self.rec.kept = None;
        }
    }

    fn handled(
        &mut self,
        fid: &str,
        failure: Failure,
        retry: Option<(usize, f64)>,
        catch: Option<usize>,
    ) {
        self.out.handled.push(super::Handled {
            frame: fid.to_string(),
            failure,
            retry,
            catch,
        });
    }
}
