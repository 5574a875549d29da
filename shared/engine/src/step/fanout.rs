//! Parallel and Map: a state that fans out into child frames, one per branch or item, and
//! gathers their results in order.

use serde_json::{Map, Value};
use waymark_asl::dataflow::select_or_invalid;
use waymark_asl::error::names;
use waymark_asl::json::{as_integer, payload_size, to_text};
use waymark_asl::jsonata::Prepared;
use waymark_asl::model::{
    Dynamic, Map as MapState, Parallel, ProcessorMode, QueryLanguage, State, StateKind,
};
use waymark_asl::Failure;

use super::io::Finish;
use super::{Flow, Stepper};
use crate::history;
use crate::map_children::{run_label, ChildUpdate, RunNames};
use crate::record::{child_frame_id, Fanout, Frame, NextRead, OwnHistory, Phase, Status};

/// What one ItemReader read gave: a window of the Map's items, and what the next read asks
/// when more are left.
pub(crate) struct Window {
    pub items: Vec<Value>,
    pub more: Option<Box<NextRead>>,
}

/// Iterations of an inline Map that run at once: AWS's documented ceiling ("In this mode, the
/// Map state supports up to 40 concurrent iterations"); MaxConcurrency may only lower it.
pub const INLINE_MAP_CONCURRENCY: usize = 40;

/// Child executions of a distributed Map's run that run at once: AWS's documented ceiling
/// ("up to 10,000 parallel child workflow executions", also what runs when MaxConcurrency is
/// unset or 0). It also bounds the frames one record holds.
pub const DISTRIBUTED_MAP_CONCURRENCY: usize = 10_000;

/// The most an inline Map or Parallel keeps of its children's results for a redrive (as JSON
/// text): the record keeps them until the execution is redriven or expires.
const MAX_KEPT: usize = 128 * 1024;

/// The children a fan-out runs at once, from the MaxConcurrency asked for (0: no limit asked).
fn concurrency(asked: usize, is_map: bool, distributed: bool) -> usize {
    match (is_map, distributed, asked) {
        // AWS runs at most 40 iterations of an inline Map at once, whatever MaxConcurrency
        // asks; that also bounds the frames a record holds.
        (true, false, 0) => INLINE_MAP_CONCURRENCY,
        (true, false, n) => n.min(INLINE_MAP_CONCURRENCY),
        (true, true, 0) => DISTRIBUTED_MAP_CONCURRENCY,
        (true, true, n) => n.min(DISTRIBUTED_MAP_CONCURRENCY),
        // A Parallel runs every branch its definition has.
        (false, _, _) => usize::MAX,
    }
}

impl Stepper<'_, '_> {
    pub(crate) fn run_parallel(
        &mut self,
        fid: &str,
        state: &State,
        p: &Parallel,
    ) -> Result<Flow, Failure> {
        let (raw, ctx) = self.raw(fid);
        let input = self.effective_input(fid, state, &raw, &ctx)?;
        self.emit(fid, history::fanout_event(false, "Started", None));
        let n = p.branches.len();
        Ok(self.begin_fanout(fid, false, input, Vec::new(), n, 0, None, None, false, None))
    }

    pub(crate) fn run_map(
        &mut self,
        fid: &str,
        state: &State,
        m: &MapState,
    ) -> Result<Flow, Failure> {
        self.run_map_over(fid, state, m, None)
    }

    /// A Map over `read`, the items its ItemReader read, or over the items its input holds;
    /// with an ItemReader and nothing read yet, the reading starts instead.
    pub(crate) fn run_map_over(
        &mut self,
        fid: &str,
        state: &State,
        m: &MapState,
        read: Option<Window>,
    ) -> Result<Flow, Failure> {
        let (raw, ctx) = self.raw(fid);
        let jsonata = state.query_language == QueryLanguage::Jsonata;
        let states = Self::states_object(&raw, &ctx, None, None);
        if let (Some(r), None) = (&m.item_reader, &read) {
            let effective = if jsonata {
                raw.clone()
            } else {
                self.input_path_only(fid, state, &raw, &ctx)?
            };
            return self.start_reading(fid, r, &effective, &ctx, &states, jsonata);
        }
        let mut more = None;
        let (effective, items) = if let Some(window) = read {
            let effective = if jsonata {
                raw.clone()
            } else {
                self.input_path_only(fid, state, &raw, &ctx)?
            };
            more = window.more;
            (effective, Value::Array(window.items))
        } else if jsonata {
            let items = match &m.items {
                Some(t) => {
                    self.eval_jsonata(fid, &states, |env| t.eval_as(env, "Items", "array"))?
                }
                None => raw.clone(),
            };
            (raw.clone(), items)
        } else {
            let effective = self.input_path_only(fid, state, &raw, &ctx)?;
            let items = match &m.items_path {
                None => effective.clone(),
                Some(p) => self.eval(fid, &effective, &ctx, |env| select_or_invalid(p, env))?,
            };
            (effective, items)
        };
        let Value::Array(items) = items else {
            let error = if jsonata {
                names::QUERY_EVALUATION_ERROR
            } else {
                names::RUNTIME
            };
            return Err(Failure::new(
                error,
                format!(
                    "Map state input must be an array but was: {}",
                    to_text(&items)
                ),
            ));
        };
        let max_concurrency = if jsonata {
            self.jsonata_count(fid, &states, &m.max_concurrency, "MaxConcurrency")?
        } else {
            self.eval(fid, &effective, &ctx, |env| {
                dynamic_count(
                    &m.max_concurrency,
                    env,
                    "MaxConcurrencyPath",
                    "MaxConcurrency",
                )
            })?
        };
        self.emit(
            fid,
            history::fanout_event(true, "Started", Some(items.len())),
        );
        let (tolerated_count, tolerated_percentage) = if jsonata {
            let tc = match &m.tolerated_failure_count {
                None => None,
                Some(d) => Some(self.jsonata_count(fid, &states, d, "ToleratedFailureCount")?),
            };
            let tp = match &m.tolerated_failure_percentage {
                None => None,
                Some(Dynamic::Literal(n)) => Some(*n),
                Some(Dynamic::Jsonata(t)) => {
                    let v = self.eval_jsonata(fid, &states, |env| {
                        t.eval_as(env, "ToleratedFailurePercentage", "number")
                    })?;
                    Some(v.as_f64().unwrap_or(0.0))
                }
                Some(Dynamic::Path(_)) => None,
            };
            (tc, tp)
        } else {
            self.eval(fid, &effective, &ctx, |env| -> Result<_, Failure> {
                let tc = match &m.tolerated_failure_count {
                    None => None,
                    Some(d) => Some(dynamic_count(
                        d,
                        env,
                        "ToleratedFailureCountPath",
                        "ToleratedFailureCount",
                    )?),
                };
                let tp = match &m.tolerated_failure_percentage {
                    None => None,
                    Some(d) => Some(dynamic_percentage(d, env)?),
                };
                Ok((tc, tp))
            })?
        };
        let distributed = m.mode == ProcessorMode::Distributed;
        let mut unbatched = Vec::new();
        let items = match &m.item_batcher {
            Some(b) if distributed => {
                let (batches, rest) = self.batch_items(
                    fid,
                    state,
                    m,
                    b,
                    &effective,
                    &ctx,
                    &states,
                    items,
                    0,
                    more.is_some(),
                )?;
                unbatched = rest;
                batches
            }
            _ => items,
        };
        if distributed {
            let arn = self.map_run_arn(&state.name);
            self.emit(fid, history::map_run_started(&arn));
            let run = crate::record::MapRun {
                arn,
                frame: fid.to_string(),
                fanout: self.rec.next_fanout,
                status: "RUNNING".into(),
                start: self.env.now,
                stop: None,
                max_concurrency,
                tolerated_count,
                tolerated_percentage,
                total: items.len(),
                succeeded: 0,
                failed: 0,
                aborted: 0,
            };
            let runs = &mut self.rec.map_runs;
            if runs.len() >= crate::record::MAX_MAP_RUNS {
                runs.remove(0);
            }
            runs.push(run);
        }
        let n = items.len();
        Ok(self.begin_fanout(
            fid,
            true,
            effective,
            items,
            n,
            max_concurrency as usize,
            tolerated_count,
            tolerated_percentage,
            distributed,
            more.map(|m| (m, unbatched)),
        ))
    }

    /// MaxConcurrency or ToleratedFailureCount of a JSONata Map: a number or an expression.
    fn jsonata_count(
        &self,
        fid: &str,
        states: &Value,
        d: &Dynamic<u64>,
        field: &str,
    ) -> Result<u64, Failure> {
        match d {
            Dynamic::Literal(n) => Ok(*n),
            Dynamic::Jsonata(t) => {
                let v = self.eval_jsonata(fid, states, |env| t.eval_as(env, field, "integer"))?;
                match as_integer(&v) {
                    Some(n) if n >= 0 => Ok(n as u64),
                    _ => Err(Failure::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!(
                            "The {field} field must be a non-negative integer, but was: {}",
                            to_text(&v)
                        ),
                    )),
                }
            }
            Dynamic::Path(_) => Err(Failure::runtime(
                "JSONPath fields are not supported in a JSONata state",
            )),
        }
    }

    /// Asks the integrations for a distributed Map's items: a task request with the reader's
    /// configuration in it, answered like a task (the frame waits in a task phase marked as a
    /// reader, with no task events).
    fn start_reading(
        &mut self,
        fid: &str,
        r: &waymark_asl::model::ItemReader,
        effective: &Value,
        ctx: &Value,
        states: &Value,
        jsonata: bool,
    ) -> Result<Flow, Failure> {
        let parameters = match (&r.parameters, &r.arguments) {
            (Some(t), _) => self.eval(fid, effective, ctx, |env| t.eval(env))?,
            (None, Some(t)) => self.eval_jsonata(fid, states, |env| t.eval(env, "Arguments"))?,
            (None, None) => Value::Object(Map::new()),
        };
        let config = self.reader_config(fid, r, effective, ctx, states, jsonata)?;
        let state = self.frame(fid).state.clone();
        let frame = self.frame_mut(fid);
        frame.seq += 1;
        frame.phase = Phase::Task(crate::record::TaskPhase {
            token_hash: String::new(),
            heartbeats: 0,
            resource: r.resource.clone(),
            parameters: parameters.clone(),
            timeout_seconds: None,
            heartbeat_seconds: None,
            wait_for_token: false,
            job: None,
            polls: 0,
            reader: true,
            writer: None,
        });
        let seq = frame.seq;
        self.out
            .effects
            .push(super::Effect::Invoke(Box::new(super::TaskRequest {
                frame: fid.to_string(),
                seq,
                state,
                resource: r.resource.clone(),
                parameters,
                token: String::new(),
                wait_for_token: false,
                timeout_seconds: None,
                heartbeat_seconds: None,
                credentials: None,
                context: ctx.clone(),
                test_case: self.rec.test_case.clone(),
                approval: None,
                job: None,
                reader: Some(config),
                writer: None,
            })));
        Ok(Flow::Blocked)
    }

    /// The ItemReader's configuration: its ReaderConfig, with `MaxItems` evaluated.
    fn reader_config(
        &self,
        fid: &str,
        r: &waymark_asl::model::ItemReader,
        effective: &Value,
        ctx: &Value,
        states: &Value,
        jsonata: bool,
    ) -> Result<Value, Failure> {
        let mut config = r.config.clone();
        if let Some(d) = &r.max_items {
            let n = self.batch_limit(fid, d, effective, ctx, states, jsonata, "MaxItems")?;
            config["MaxItems"] = Value::from(n);
        }
        Ok(config)
    }

    /// The ItemReader answered its first read: the Map goes on over what it read, or fails
    /// with `States.ItemReaderFailed`. `parameters`: what the read asked, asked again by the
    /// reads of later windows.
    pub(crate) fn items_read(
        &mut self,
        fid: &str,
        answer: Result<Value, Failure>,
        parameters: Value,
    ) {
        let state = self.current_state(fid);
        let StateKind::Map(m) = &state.kind else {
            return;
        };
        let flow = match answer.map_err(reader_failure).and_then(reader_answer) {
            Ok((items, cursor)) => {
                let more = match (cursor, &m.item_reader) {
                    (Some(c), Some(r)) => {
                        let (raw, ctx) = self.raw(fid);
                        let jsonata = state.query_language == QueryLanguage::Jsonata;
                        let states = Self::states_object(&raw, &ctx, None, None);
                        let effective = if jsonata {
                            Ok(raw.clone())
                        } else {
                            self.input_path_only(fid, state, &raw, &ctx)
                        };
                        effective
                            .and_then(|e| self.reader_config(fid, r, &e, &ctx, &states, jsonata))
                            .map(|mut config| {
                                config["Cursor"] = c;
                                Some(Box::new(NextRead {
                                    parameters,
                                    config,
                                    read: items.len(),
                                }))
                            })
                    }
                    _ => Ok(None),
                };
                more.and_then(|more| self.run_map_over(fid, state, m, Some(Window { items, more })))
            }
            Err(f) => Err(f),
        };
        if let Err(f) = flow {
            self.fail_evaluation(fid, f);
        }
        self.runnable.push_back(fid.to_string());
    }

    /// True when the frame's answer `seq` is that of a read of the next window of its Map's
    /// items.
    pub(crate) fn reads_window(&self, fid: &str, seq: u64) -> bool {
        self.rec
            .frames
            .get(fid)
            .is_some_and(|f| f.seq == seq && matches!(&f.phase, Phase::Children(c) if c.reading))
    }

    /// Asks the ItemReader for the next window of items: every child of this one has started.
    fn read_window(&mut self, fid: &str) {
        let state = self.current_state(fid);
        let StateKind::Map(m) = &state.kind else {
            return;
        };
        let Some(r) = &m.item_reader else { return };
        let ctx = self.context(fid, None, None);
        let frame = self.frame_mut(fid);
        frame.seq += 1;
        let seq = frame.seq;
        let f = self.fanout_mut(fid);
        let Some(next) = f.more.clone() else { return };
        f.reading = true;
        self.out
            .effects
            .push(super::Effect::Invoke(Box::new(super::TaskRequest {
                frame: fid.to_string(),
                seq,
                state: state.name.clone(),
                resource: r.resource.clone(),
                parameters: next.parameters,
                token: String::new(),
                wait_for_token: false,
                timeout_seconds: None,
                heartbeat_seconds: None,
                credentials: None,
                context: ctx,
                test_case: self.rec.test_case.clone(),
                approval: None,
                job: None,
                reader: Some(next.config),
                writer: None,
            })));
    }

    /// The ItemReader answered a read of the next window: its children start as the window
    /// before's did, or the run fails with `States.ItemReaderFailed`.
    pub(crate) fn window_read(&mut self, fid: &str, answer: Result<Value, Failure>) {
        let state = self.current_state(fid);
        let StateKind::Map(m) = &state.kind else {
            return;
        };
        let read = answer
            .map_err(reader_failure)
            .and_then(reader_answer)
            .and_then(|(items, cursor)| {
                let f = self.fanout_mut(fid);
                f.reading = false;
                let mut next = f.more.take().expect("a window was asked for");
                let carried = std::mem::take(&mut f.unbatched);
                // The index of the first item read that is not in a batch yet.
                let base = next.read - carried.len();
                next.read += items.len();
                let more = cursor.map(|c| {
                    next.config["Cursor"] = c;
                    next
                });
                let (items, unbatched) = match &m.item_batcher {
                    Some(b) => {
                        let (raw, ctx) = self.raw(fid);
                        let states = Self::states_object(&raw, &ctx, None, None);
                        let effective = self
                            .fanout(fid)
                            .map(|f| f.input.clone())
                            .unwrap_or_default();
                        let mut all = carried;
                        all.extend(items);
                        self.batch_items(
                            fid,
                            state,
                            m,
                            b,
                            &effective,
                            &ctx,
                            &states,
                            all,
                            base,
                            more.is_some(),
                        )?
                    }
                    None => (items, Vec::new()),
                };
                Ok((items, unbatched, more))
            });
        let (items, unbatched, more) = match read {
            Ok(r) => r,
            Err(failure) => return self.fail_run(fid, failure),
        };
        let writer = logs_children(state);
        let f = self.fanout_mut(fid);
        f.first = f.total;
        f.total += items.len();
        f.items = std::sync::Arc::new(items);
        f.more = more;
        f.unbatched = unbatched;
        let total = f.total;
        f.results.resize(total, None);
        if writer {
            f.logs.resize(total, None);
        }
        let id = f.id;
        let done = f.succeeded + f.failed == f.total && f.more.is_none();
        if let Some(run) = self.rec.map_runs.iter_mut().find(|r| r.fanout == id) {
            run.total = total;
        }
        if done {
            self.fanout_complete(fid);
            self.runnable.push_back(fid.to_string());
        } else {
            self.start_children(fid);
        }
    }

    /// A distributed Map's run fails as a whole with `failure`: its children are aborted,
    /// and a ResultWriter still writes what ran.
    fn fail_run(&mut self, fid: &str, failure: Failure) {
        let state = self.current_state(fid);
        self.end_map_run(fid, "FAILED");
        self.abort_children(fid);
        if has_writer(state) {
            self.write_results(fid, Some(failure));
        } else {
            self.fail_map_run(fid, failure);
        }
        self.runnable.push_back(fid.to_string());
    }

    /// Copies a distributed Map's counts into its run as the run ends.
    pub(crate) fn end_map_run(&mut self, fid: &str, status: &str) {
        let Some(f) = self.fanout(fid) else { return };
        let (id, succeeded, failed, total) = (f.id, f.succeeded, f.failed, f.total);
        let now = self.env.now;
        if let Some(run) = self.rec.map_runs.iter_mut().find(|r| r.fanout == id) {
            run.status = status.to_string();
            run.stop = Some(now);
            run.succeeded = succeeded;
            run.failed = failed;
            run.aborted = total - succeeded - failed;
        }
    }

    /// UpdateMapRun: a running distributed Map's concurrency and tolerated failures change;
    /// more children start if the new limit allows.
    pub(crate) fn update_map_run(
        &mut self,
        fanout: u64,
        max_concurrency: Option<u64>,
        tolerated_count: Option<u64>,
        tolerated_percentage: Option<f64>,
    ) {
        let Some(fid) = self
            .rec
            .frames
            .iter()
            .find(|(_, fr)| matches!(&fr.phase, Phase::Children(f) if f.id == fanout && f.distributed))
            .map(|(id, _)| id.to_string())
        else {
            return;
        };
        let f = self.fanout_mut(&fid);
        if let Some(n) = max_concurrency {
            f.max_concurrency = concurrency(n as usize, true, true);
        }
        if tolerated_count.is_some() {
            f.tolerated_count = tolerated_count;
        }
        if tolerated_percentage.is_some() {
            f.tolerated_percentage = tolerated_percentage;
        }
        if let Some(run) = self.rec.map_runs.iter_mut().find(|r| r.fanout == fanout) {
            if let Some(n) = max_concurrency {
                run.max_concurrency = n;
            }
            if tolerated_count.is_some() {
                run.tolerated_count = tolerated_count;
            }
            if tolerated_percentage.is_some() {
                run.tolerated_percentage = tolerated_percentage;
            }
        }
        self.start_children(&fid);
        self.runnable.push_back(fid);
    }

    /// Records a distributed Map's child as the execution it is on AWS: as it starts (with
    /// its input), or as it ends, merged into its start when that was this same step.
    fn record_child(
        &mut self,
        fid: &str,
        fanout: u64,
        index: usize,
        status: Status,
        fill: impl FnOnce(&mut ChildUpdate),
    ) {
        if status != Status::Running {
            if let Some(&at) = self.children_at.get(&(fanout, index)) {
                let c = &mut self.out.children[at];
                c.status = status;
                fill(c);
                return;
            }
        }
        let Some(mut c) = self.child_summary(fid, fanout, index, status) else {
            return;
        };
        fill(&mut c);
        if status == Status::Running {
            self.children_at
                .insert((fanout, index), self.out.children.len());
        }
        self.out.children.push(c);
    }

    /// A child's summary, without its input or end. None when the record no longer keeps its
    /// run (it keeps the newest [`crate::record::MAX_MAP_RUNS`]).
    fn child_summary(
        &mut self,
        fid: &str,
        fanout: u64,
        index: usize,
        status: Status,
    ) -> Option<ChildUpdate> {
        let names = self.run_names_of(fid, fanout)?;
        Some(ChildUpdate {
            run: names,
            index,
            status,
            start: self.env.now,
            stop: None,
            input: None,
            output: None,
            failure: None,
            item_count: 1,
        })
    }

    /// The names of a run's children (computed once per run and step).
    fn run_names_of(
        &mut self,
        fid: &str,
        fanout: u64,
    ) -> Option<std::sync::Arc<crate::map_children::RunNames>> {
        let cached = matches!(&self.run_names, Some((f, n, _)) if f == fid && *n == fanout);
        if !cached {
            let run = self
                .rec
                .map_runs
                .iter()
                .find(|r| r.frame == fid && r.fanout == fanout)?;
            let state = self.current_state(fid);
            let label = match &state.kind {
                StateKind::Map(m) => m.label.as_deref(),
                _ => None,
            };
            let label = run_label(label, &state.name, &run.arn);
            let names = RunNames::new(&self.rec.execution_arn, &label, &run.arn);
            self.run_names = Some((fid.to_string(), fanout, std::sync::Arc::new(names)));
        }
        self.run_names.as_ref().map(|(_, _, names)| names.clone())
    }

    /// Files an event of a STANDARD child's own history under the child's ARN.
    pub(crate) fn push_child_event(
        &mut self,
        own: &crate::record::OwnHistory,
        event: crate::history::HistoryEvent,
    ) {
        let Some(names) = self.run_names_of(&own.map_frame, own.fanout) else {
            return; // the record no longer keeps the run
        };
        let execution_arn = format!("{}{}", names.execution_prefix, names.name(own.index));
        self.out.child_events.push(crate::map_children::ChildEvent {
            execution_arn,
            map_run_arn: names.run_arn.clone(),
            index: own.index,
            event,
        });
    }

    /// The last event of a STANDARD child's history, after its first frame (which held
    /// `own` and the child's last event, `prev`) is gone.
    fn end_own_history(&mut self, own: &OwnHistory, prev: u64, d: history::Details) {
        let id = own.next_event_id;
        if id > crate::step::MAX_HISTORY_EVENTS {
            return;
        }
        let event = history::finish(d, id, prev, self.env.now);
        self.push_child_event(own, event);
    }

    /// A STANDARD child ended by its run or its execution: its history ends as a stopped
    /// execution's, without an error the run did not give it.
    pub(crate) fn abort_own_history(&mut self, own: &OwnHistory, prev: u64) {
        let aborted = Failure {
            error: None,
            cause: None,
        };
        self.end_own_history(own, prev, history::execution_aborted(&aborted));
    }

    fn map_run_arn(&self, state: &str) -> String {
        let exec = &self.rec.execution_arn;
        let base = exec.replacen(":execution:", ":mapRun:", 1);
        format!("{base}/{state}:{}", self.rec.next_fanout)
    }

    #[allow(clippy::too_many_arguments)]
    fn begin_fanout(
        &mut self,
        fid: &str,
        is_map: bool,
        input: Value,
        items: Vec<Value>,
        total: usize,
        max_concurrency: usize,
        tolerated_count: Option<u64>,
        tolerated_percentage: Option<f64>,
        distributed: bool,
        more: Option<(Box<NextRead>, Vec<Value>)>,
    ) -> Flow {
        let id = self.rec.next_fanout;
        self.rec.next_fanout += 1;
        // A redrive's root fan-out takes the results the failed one kept; any other root
        // fan-out (a retry, the state entered again) drops what an earlier one kept.
        let seed = if fid.is_empty() {
            self.rec
                .kept
                .take()
                .filter(|k| k.entered_event_id == 0 && k.results.len() == total && !distributed)
        } else {
            None
        };
        let results = seed.map_or_else(|| vec![None; total], |k| k.results);
        let succeeded = results.iter().filter(|r| r.is_some()).count();
        let fanout = Fanout {
            id,
            is_map,
            total,
            started: 0,
            running: 0,
            succeeded,
            failed: 0,
            max_concurrency: concurrency(max_concurrency, is_map, distributed),
            tolerated_count,
            tolerated_percentage,
            input,
            items: items.into(),
            results,
            distributed,
            // Only a ResultWriter that shapes the Map's result reads what each child had and
            // how it ended here; an export reads the children from the store.
            logs: if is_map && distributed && logs_children(self.current_state(fid)) {
                vec![None; total]
            } else {
                Vec::new()
            },
            first: 0,
            reading: false,
            unbatched: more.as_ref().map(|m| m.1.clone()).unwrap_or_default(),
            more: more.map(|m| m.0),
        };
        let more = fanout.more.is_some();
        let frame = self.frame_mut(fid);
        frame.seq += 1;
        frame.phase = Phase::Children(fanout);
        if total == 0 && !more {
            // Nothing to wait for: the state finishes within this step.
            self.fanout_complete(fid);
            Flow::Continue
        } else {
            self.start_children(fid);
            Flow::Blocked
        }
    }

    fn fanout(&self, fid: &str) -> Option<&Fanout> {
        match &self.rec.frames.get(fid)?.phase {
            Phase::Children(f) => Some(f),
            _ => None,
        }
    }

    fn fanout_mut(&mut self, fid: &str) -> &mut Fanout {
        match &mut self.frame_mut(fid).phase {
            Phase::Children(f) => f,
            _ => unreachable!("callers checked the phase"),
        }
    }

    /// Starts children while the concurrency limit allows.
    pub(crate) fn start_children(&mut self, fid: &str) {
        let state = self.current_state(fid);
        let jsonata_selector =
            matches!(&state.kind, StateKind::Map(m) if m.item_selector_jsonata.is_some());
        let mut prepared: Option<std::rc::Rc<Prepared>> = None;
        loop {
            let Some(f) = self.fanout(fid) else { return };
            if f.started >= f.total && f.more.is_some() && !f.reading {
                return self.read_window(fid);
            }
            if f.results.get(f.started).is_some_and(Option::is_some) {
                // Succeeded before a redrive: not run again.
                self.fanout_mut(fid).started += 1;
                continue;
            }
            let full = f.started >= f.total || f.running >= f.max_concurrency;
            if full || self.overflow.is_some() || !self.take_work() {
                return; // when the budget is spent, the next turn starts the rest
            }
            if jsonata_selector && prepared.is_none() {
                prepared = Some(self.prepared_input(fid));
            }
            let f = self.fanout(fid).expect("checked above");
            let index = f.started;
            let (is_map, fanout_id, distributed) = (f.is_map, f.id, f.distributed);
            let input = if is_map {
                // Borrowed, not copied: the Map's input can be large and is read once per item.
                match self.item_input(
                    fid,
                    state,
                    index,
                    f.items[index - f.first].clone(),
                    &f.input,
                    prepared.as_deref(),
                ) {
                    Ok(v) => v,
                    Err(e) => {
                        self.abort_children(fid);
                        self.fail_evaluation(fid, e);
                        self.runnable.push_back(fid.to_string());
                        return;
                    }
                }
            } else {
                f.input.clone()
            };
            {
                let now = self.env.now;
                let f = self.fanout_mut(fid);
                f.started += 1;
                f.running += 1;
                if let Some(log) = f.logs.get_mut(index) {
                    *log = Some(super::writer::ChildLog {
                        input: input.clone(),
                        start: now,
                        stop: None,
                        failure: None,
                    });
                }
            }
            if distributed {
                let batched = matches!(&state.kind, StateKind::Map(m) if m.item_batcher.is_some());
                let items = if batched {
                    input
                        .get("Items")
                        .and_then(Value::as_array)
                        .map_or(1, Vec::len)
                } else {
                    1
                };
                self.record_child(fid, fanout_id, index, Status::Running, |c| {
                    c.input = Some(input.clone());
                    c.item_count = items;
                });
            }
            let silent = distributed || self.quiet(fid);
            let last = if is_map && !silent {
                self.emit(fid, history::map_iteration("Started", &state.name, index))
            } else {
                self.frame(fid).last_event_id
            };
            let branch = if is_map { 0 } else { index };
            let mut scope = self.frame(fid).scope.clone();
            scope.push((state.name.clone(), branch));
            let graph = self.graph_of(&scope);
            let child_id = child_frame_id(fid, fanout_id, index);
            let standard = distributed
                && matches!(&state.kind, StateKind::Map(m)
                    if m.execution_type.as_deref() != Some("EXPRESS"));
            let own_history = if standard {
                Some(OwnHistory {
                    map_frame: fid.to_string(),
                    fanout: fanout_id,
                    index,
                    root: child_id.clone(),
                    next_event_id: 1,
                })
            } else if distributed {
                None
            } else {
                // Frames nested in a child write to the child's history.
                self.frame(fid).own_history.clone().map(|o| OwnHistory {
                    next_event_id: 0,
                    ..o
                })
            };
            let started = standard.then(|| history::execution_started(&input, &self.rec.role_arn));
            let child = Frame {
                scope,
                parent: Some(fid.to_string()),
                index,
                map_item: None,
                state: graph.start_at.clone(),
                input,
                entered_event_id: 0,
                entered_time: self.env.now,
                last_event_id: last,
                seq: 0,
                phase: Phase::Enter,
                retry_counts: Vec::new(),
                vars: Map::new(),
                silent,
                own_history,
            };
            self.rec.frames.insert(child_id.clone(), child);
            if let Some(d) = started {
                self.frame_mut(&child_id).last_event_id = 0;
                self.emit(&child_id, d);
            }
            self.runnable.push_back(child_id);
        }
    }

    /// The Map's input as a JSONata ItemSelector reads it (`$states.input`), converted once per
    /// fan-out and step rather than once per child: converting an input of 5,000 items for
    /// each of them made a JSONata Map twelve times slower than the same Map in JSONPath.
    fn prepared_input(&mut self, fid: &str) -> std::rc::Rc<Prepared> {
        let id = self.fanout(fid).map_or(0, |f| f.id);
        if let Some(p) = self.prepared_inputs.get(&id) {
            return p.clone();
        }
        let p = std::rc::Rc::new(Prepared::new(&self.frame(fid).input));
        self.prepared_inputs.insert(id, p.clone());
        p
    }

    /// A child frame finished: record its result, start the next ones, finish the fan-out.
    pub(crate) fn child_done(&mut self, parent: &str, child: &str, result: Result<Value, Failure>) {
        let Some(child_frame) = self.rec.frames.remove(child) else {
            return;
        };
        if let Some(own) = own_root(&child_frame, child) {
            let end = match &result {
                Ok(output) => history::execution_succeeded(output),
                Err(failure) => history::execution_failed(failure),
            };
            self.end_own_history(own, child_frame.last_event_id, end);
        }
        let Some(f) = self.fanout(parent) else { return };
        let (is_map, index) = (f.is_map, child_frame.index);
        if f.distributed {
            let status = match &result {
                Ok(_) => Status::Succeeded,
                Err(_) => Status::Failed,
            };
            let now = self.env.now;
            self.record_child(parent, f.id, index, status, |c| {
                c.stop = Some(now);
                match &result {
                    Ok(output) => c.output = Some(output.clone()),
                    Err(failure) => c.failure = Some(failure.clone()),
                }
            });
        }
        let state = self.current_state(parent);
        // The parent's next event follows the child's last one.
        if !child_frame.silent {
            self.frame_mut(parent).last_event_id = child_frame.last_event_id;
        }
        match result {
            Ok(output) => {
                if is_map && !child_frame.silent {
                    self.emit(
                        parent,
                        history::map_iteration("Succeeded", &state.name, index),
                    );
                }
                let now = self.env.now;
                // An export's records come from the store: the record keeps no output.
                let output = if exports(state) { Value::Null } else { output };
                let f = self.fanout_mut(parent);
                f.results[index] = Some(output);
                f.running -= 1;
                f.succeeded += 1;
                if let Some(Some(log)) = f.logs.get_mut(index) {
                    log.stop = Some(now);
                }
            }
            Err(failure) => {
                if is_map && !child_frame.silent {
                    self.emit(parent, history::map_iteration("Failed", &state.name, index));
                }
                let now = self.env.now;
                let f = self.fanout_mut(parent);
                f.running -= 1;
                f.failed += 1;
                f.results[index] = Some(Value::Null);
                if let Some(Some(log)) = f.logs.get_mut(index) {
                    log.stop = Some(now);
                    log.failure = Some(failure.clone());
                }
                // A percentage of a total still being read is reckoned once it is known.
                let tolerated = is_map
                    && (within_tolerance(f)
                        || (f.more.is_some() && f.tolerated_percentage.is_some()));
                if !tolerated {
                    // A distributed Map's run fails as a whole when its threshold (0 unless
                    // set: developer guide, "Tolerated failure threshold for Distributed Map
                    // state") is exceeded; a child's own error stays in the child's history.
                    let failure = if is_map
                        && (f.distributed
                            || f.tolerated_count.is_some()
                            || f.tolerated_percentage.is_some())
                    {
                        Failure::new(
                            names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                            "The specified tolerated failure threshold was exceeded",
                        )
                    } else {
                        failure
                    };
                    let distributed = f.distributed;
                    self.keep_for_redrive(parent, index);
                    if distributed {
                        self.end_map_run(parent, "FAILED");
                    }
                    self.abort_children(parent);
                    if distributed && has_writer(state) {
                        // AWS still writes what ran (and what never started) when a run fails.
                        self.write_results(parent, Some(failure));
                    } else if distributed {
                        self.fail_map_run(parent, failure);
                    } else {
                        self.fail_state(parent, failure);
                    }
                    self.runnable.push_back(parent.to_string());
                    return;
                }
            }
        }
        let f = self.fanout(parent).expect("still fanning out");
        if f.succeeded + f.failed == f.total && f.more.is_none() {
            self.fanout_complete(parent);
            self.runnable.push_back(parent.to_string());
        } else {
            self.start_children(parent);
        }
    }

    /// A root-level inline Map or Parallel fails because child `failed` did: what the others
    /// gave is kept for a redrive, which runs only the children that failed or were aborted.
    /// A fan-out that had tolerated failures before, or whose results come to more than
    /// [`MAX_KEPT`], runs again as a whole.
    fn keep_for_redrive(&mut self, fid: &str, failed: usize) {
        let Some(f) = self.fanout(fid) else { return };
        if !fid.is_empty() || f.distributed || f.failed != 1 {
            return;
        }
        let mut results = f.results.clone();
        if let Some(r) = results.get_mut(failed) {
            *r = None;
        }
        let size: usize = results.iter().flatten().map(payload_size).sum();
        if size > MAX_KEPT {
            return;
        }
        self.rec.kept = Some(crate::record::Kept {
            entered_event_id: self.frame(fid).entered_event_id,
            results,
        });
    }

    /// Every child is done: gather the results and leave the state.
    fn fanout_complete(&mut self, fid: &str) {
        let state = self.current_state(fid);
        let Phase::Children(f) = &self.frame(fid).phase else {
            return;
        };
        let is_map = f.is_map;
        let distributed = f.distributed;
        if distributed && f.failed > 0 && !within_tolerance(f) {
            // Failures a percentage allowed while the total was not known yet.
            return self.fail_run(
                fid,
                Failure::new(
                    names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    "The specified tolerated failure threshold was exceeded",
                ),
            );
        }
        if distributed {
            self.end_map_run(fid, "SUCCEEDED");
            if has_writer(state) {
                return self.write_results(fid, None);
            }
        }
        let Phase::Children(f) = &self.frame(fid).phase else {
            return;
        };
        let results = Value::Array(
            f.results
                .iter()
                .map(|r| r.clone().unwrap_or(Value::Null))
                .collect(),
        );
        if distributed {
            self.finish_map_run(fid, results);
        } else {
            self.leave_fanout(fid, is_map, results);
        }
    }

    /// A distributed Map's run succeeded with `result`: the run's event, then the state's.
    pub(crate) fn finish_map_run(&mut self, fid: &str, result: Value) {
        self.emit(fid, history::map_run_succeeded());
        self.leave_fanout(fid, true, result);
    }

    /// A distributed Map's run failed: the run's event, then the state fails.
    pub(crate) fn fail_map_run(&mut self, fid: &str, failure: Failure) {
        self.emit(fid, history::map_run_failed(&failure));
        self.fail_state(fid, failure);
    }

    fn leave_fanout(&mut self, fid: &str, is_map: bool, results: Value) {
        let state = self.current_state(fid);
        let (raw, ctx) = self.raw(fid);
        let finish = Finish {
            raw: &raw,
            ctx: &ctx,
            effective: &raw,
            result: Some(results),
            rule_assign: None,
            rule_output: None,
        };
        match self.conclude(fid, state, finish) {
            Ok((output, assigned)) => {
                self.emit(fid, history::fanout_event(is_map, "Succeeded", None));
                self.exit_state(fid, state, output, assigned);
            }
            Err(e) => self.fail_evaluation(fid, e),
        }
    }

    /// A Map item's input: ItemSelector (with `$$.Map.Item`), or the item itself.
    fn item_input(
        &self,
        fid: &str,
        state: &State,
        index: usize,
        item: Value,
        map_input: &Value,
        prepared: Option<&Prepared>,
    ) -> Result<Value, Failure> {
        let StateKind::Map(m) = &state.kind else {
            unreachable!("map fan-outs belong to Map states")
        };
        if m.item_batcher.is_some() && m.mode == ProcessorMode::Distributed {
            return Ok(item); // a batch, its items selected when it was made
        }
        self.select_item(fid, state, index, item, map_input, prepared)
    }

    /// ItemSelector (with `$$.Map.Item`) applied to one item, or the item itself.
    pub(crate) fn select_item(
        &self,
        fid: &str,
        state: &State,
        index: usize,
        item: Value,
        map_input: &Value,
        prepared: Option<&Prepared>,
    ) -> Result<Value, Failure> {
        let StateKind::Map(m) = &state.kind else {
            unreachable!("map fan-outs belong to Map states")
        };
        let ctx = self.context(fid, None, Some((index, &item)));
        match (&m.item_selector, &m.item_selector_jsonata) {
            (Some(t), _) => self.eval(fid, map_input, &ctx, |env| t.eval(env)),
            (None, Some(t)) => match prepared {
                // `$states.input` comes from `prepared`; the placeholder is never read.
                Some(p) => {
                    let states = Self::states_object(&Value::Null, &ctx, None, None);
                    self.eval_jsonata_prepared(fid, &states, Some(p), |env| {
                        t.eval(env, "ItemSelector")
                    })
                }
                None => {
                    let states = Self::states_object(&self.frame(fid).input, &ctx, None, None);
                    self.eval_jsonata(fid, &states, |env| t.eval(env, "ItemSelector"))
                }
            },
            (None, None) => Ok(item),
        }
    }

    /// Drops every running child (and their descendants) of a fan-out that failed.
    pub(crate) fn abort_children(&mut self, fid: &str) {
        let Some(f) = self.fanout(fid) else { return };
        let (is_map, fanout_id) = (f.is_map, f.id);
        let prefix = child_frame_id(fid, fanout_id, 0);
        let prefix = &prefix[..prefix.len() - 1]; // up to and including "<fanout>."
        let children = self.rec.frames.ids_with_prefix(prefix);
        let state = self.current_state(fid);
        for child in children {
            let Some(frame) = self.rec.frames.get(&child) else {
                continue;
            };
            if frame.parent.as_deref() == Some(fid) && is_map && !frame.silent {
                let index = frame.index;
                self.emit(fid, history::map_iteration("Aborted", &state.name, index));
            }
            if let Some(frame) = self.rec.frames.remove(&child) {
                if let Some(own) = own_root(&frame, &child) {
                    self.abort_own_history(own, frame.last_event_id);
                }
            }
        }
        self.runnable.retain(|r| !r.starts_with(prefix));
    }
}

/// The history a STANDARD child's first frame ends (its end is the child's); None for any
/// other frame.
pub(crate) fn own_root<'f>(frame: &'f Frame, id: &str) -> Option<&'f OwnHistory> {
    frame.own_history.as_ref().filter(|o| o.root == id)
}

/// A Map whose results a `ResultWriter` shapes or exports.
fn has_writer(state: &State) -> bool {
    matches!(&state.kind, StateKind::Map(m) if m.result_writer.is_some())
}

/// A Map whose ResultWriter exports to S3: its result is where, not what the children gave.
fn exports(state: &State) -> bool {
    matches!(&state.kind, StateKind::Map(m)
        if m.result_writer.as_ref().is_some_and(|w| w.resource.is_some()))
}

/// A Map whose ResultWriter shapes its result from its children's records (WriterConfig
/// alone): the fan-out keeps what each child had.
fn logs_children(state: &State) -> bool {
    has_writer(state) && !exports(state)
}

fn within_tolerance(f: &Fanout) -> bool {
    let by_count = f.tolerated_count.is_some_and(|n| f.failed as u64 <= n);
    let by_percentage = f
        .tolerated_percentage
        .is_some_and(|p| f.total > 0 && (f.failed as f64 * 100.0 / f.total as f64) <= p);
    by_count || by_percentage
}

fn dynamic_count(
    d: &Dynamic<u64>,
    env: &waymark_asl::env::Env,
    path_field: &str,
    field: &str,
) -> Result<u64, Failure> {
    match d {
        Dynamic::Literal(n) => Ok(*n),
        Dynamic::Path(p) => {
            let v = select_or_invalid(p, env)?;
            // Numbers given as text count too, as Java's Integer.parseInt reads them.
            let n =
                as_integer(&v).or_else(|| v.as_str().and_then(|s| s.trim().parse::<i64>().ok()));
            match n {
                Some(n) if n < 0 => Err(Failure::runtime(format!("{field} cannot be negative."))),
                Some(n) => Ok(n as u64),
                None => Err(Failure::runtime(format!(
                    "The {path_field} field refers to value \"{}\" which is not a valid integer: {}",
                    raw_text(&v),
                    p.source()
                ))),
            }
        }
        Dynamic::Jsonata(_) => Err(Failure::runtime(
            "JSONata expressions are not supported in a JSONPath state",
        )),
    }
}

fn dynamic_percentage(d: &Dynamic<f64>, env: &waymark_asl::env::Env) -> Result<f64, Failure> {
    match d {
        Dynamic::Literal(n) => Ok(*n),
        Dynamic::Path(p) => {
            let v = select_or_invalid(p, env)?;
            let n = v.as_f64().or_else(|| {
                v.as_str()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|f| f.is_finite())
            });
            match n {
                Some(n) if !(0.0..=100.0).contains(&n) => {
                    Err(Failure::runtime("ToleratedFailurePercentage must be between 0 and 100."))
                }
                Some(n) => Ok(n),
                None => Err(Failure::runtime(format!(
                    "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid float: {}",
                    raw_text(&v),
                    p.source()
                ))),
            }
        }
        Dynamic::Jsonata(_) => Err(Failure::runtime(
            "JSONata expressions are not supported in a JSONPath state",
        )),
    }
}

/// A value as AWS quotes it in messages: a string's own text, anything else as JSON.
fn raw_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => to_text(other),
    }
}

/// A reader's answer: its items alone (nothing more to read), or `{"Items", "Cursor"}` (the
/// next read starts at the cursor). Any failure is the Map's `States.ItemReaderFailed`.
fn reader_answer(answer: Value) -> Result<(Vec<Value>, Option<Value>), Failure> {
    match answer {
        Value::Array(items) => Ok((items, None)),
        Value::Object(mut o) if matches!(o.get("Items"), Some(Value::Array(_))) => {
            let Some(Value::Array(items)) = o.remove("Items") else {
                unreachable!("matched above")
            };
            Ok((items, o.remove("Cursor").filter(|c| !c.is_null())))
        }
        other => Err(Failure::new(
            names::ITEM_READER_FAILED,
            format!(
                "The ItemReader did not read an array but: {}",
                to_text(&other)
            ),
        )),
    }
}

/// A failure of an ItemReader's read, as the Map's `States.ItemReaderFailed`.
fn reader_failure(f: Failure) -> Failure {
    if f.error.as_deref() == Some(names::ITEM_READER_FAILED) {
        return f;
    }
    Failure::new(
        names::ITEM_READER_FAILED,
        format!(
            "{}: {}",
            f.error.as_deref().unwrap_or_default(),
            f.cause.as_deref().unwrap_or_default()
        ),
    )
}
