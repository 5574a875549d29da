//! A distributed Map's `ResultWriter`: what each child left, shaped by `WriterConfig`, becomes
//! the Map's result or is exported to Amazon S3 as AWS lays it out (developer guide,
//! "ResultWriter (Map)"): `PREFIX/RUN/manifest.json` beside `SUCCEEDED_0.json`,
//! `FAILED_0.json` and `PENDING_0.json`, and the Map's result is then only
//! `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`.
//!
//! An export's files are made by the runner that performs the writing task ([`export_files`]),
//! from the run's children as the store keeps them, page by page: the record keeps no copy of
//! what each child had, so a run's size is bounded by the files (at most 64 MiB), not by the
//! record. Only the items that never started (of the window the Map held) travel in the
//! writing task's phase. The request that goes through the home's queue names no file.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use waymark_asl::error::names;
use waymark_asl::json::{to_text, type_name};
use waymark_asl::model::{Map as MapState, ResultWriter, StateKind, Transformation};
use waymark_asl::Failure;

use super::{Stepper, TaskRequest};
use crate::map_children::{run_label, uuid_of, ChildExecution, RunNames};
use crate::ports::{MapChildStore, StoreError};
use crate::record::{ExecutionRecord, Fanout, Phase, Status, TaskPhase};

/// What a Map with a `ResultWriter` keeps of one child for the records it writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildLog {
    /// The child's input, after ItemSelector or batching.
    pub input: Value,
    pub start: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<DateTime<Utc>>,
    /// Why the child failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// A writing task's phase: what to export, and what follows once it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriterPhase {
    pub bucket: String,
    /// `(key, body)`, the manifest last: the files as the step made them (records written
    /// before exports were made by the runner; empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<(String, String)>,
    /// What the runner makes the files from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
    /// The Map's result once written.
    pub result: Value,
    /// The run's failure, which the Map fails with after writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// What an export's files are made of besides the run's children in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    pub run_arn: String,
    /// `PREFIX/RUN`, where the files go.
    pub folder: String,
    /// `NONE`, `COMPACT` or `FLATTEN`.
    pub transformation: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub json_lines: bool,
    /// The records of the items that never started (the run failed first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Value>,
}

/// The largest set of files one Map writes: they are made in memory.
const MAX_FILES_BYTES: usize = 64 * 1024 * 1024;

/// How many children one read of the store gives while an export's files are made.
const EXPORT_PAGE: usize = 1000;

impl Stepper<'_, '_> {
    /// The run's children are all done (or the run failed with `failure`): shape their
    /// records and finish the Map, writing to S3 first when the writer has a Resource.
    pub(crate) fn write_results(&mut self, fid: &str, failure: Option<Failure>) {
        let state = self.current_state(fid);
        let StateKind::Map(m) = &state.kind else {
            return;
        };
        let Some(w) = m.result_writer.as_deref() else {
            return;
        };
        let Phase::Children(f) = &self.frame(fid).phase else {
            return;
        };
        let run_arn = self
            .rec
            .map_runs
            .iter()
            .find(|r| r.fanout == f.id)
            .map(|r| r.arn.clone())
            .unwrap_or_default();
        let records = self.child_records(m, &state.name, f, &run_arn);
        if w.resource.is_none() {
            // WriterConfig alone: the shaped records are the Map's result.
            match failure {
                Some(f) => self.fail_map_run(fid, f),
                None => {
                    let result = shape(&records.succeeded, w.transformation);
                    self.finish_map_run(fid, Value::Array(result));
                }
            }
            return;
        }
        let target = match self.writer_target(fid, w) {
            Ok(t) => t,
            Err(e) => return self.fail_map_run(fid, e),
        };
        let run_id = uuid_of(&run_arn);
        let folder = match target.prefix.as_str() {
            "" => run_id.clone(),
            p if p.ends_with('/') => format!("{p}{run_id}"),
            p => format!("{p}/{run_id}"),
        };
        let export = Export {
            run_arn: run_arn.clone(),
            folder: folder.clone(),
            transformation: transformation_name(w.transformation).to_string(),
            json_lines: w.json_lines,
            pending: records.pending.into_iter().map(|c| c.record).collect(),
        };
        let manifest_key = format!("{folder}/manifest.json");
        let result = json!({
            "MapRunArn": run_arn,
            "ResultWriterDetails": {"Bucket": target.bucket, "Key": manifest_key},
        });
        let resource = w.resource.clone().unwrap_or_default();
        let parameters = json!({"Bucket": target.bucket, "Prefix": target.prefix});
        let phase = WriterPhase {
            bucket: target.bucket,
            files: Vec::new(),
            export: Some(export),
            result,
            failure,
        };
        let ctx = self.context(fid, None, None);
        let frame = self.frame_mut(fid);
        frame.seq += 1;
        frame.phase = Phase::Task(TaskPhase {
            token_hash: String::new(),
            heartbeats: 0,
            resource: resource.clone(),
            parameters: parameters.clone(),
            timeout_seconds: None,
            heartbeat_seconds: None,
            wait_for_token: false,
            job: None,
            polls: 0,
            reader: false,
            writer: Some(Box::new(phase)),
        });
        let seq = frame.seq;
        let state_name = state.name.clone();
        self.out
            .effects
            .push(super::Effect::Invoke(Box::new(TaskRequest {
                frame: fid.to_string(),
                seq,
                state: state_name,
                resource,
                parameters,
                token: String::new(),
                wait_for_token: false,
                timeout_seconds: None,
                heartbeat_seconds: None,
                credentials: None,
                context: ctx,
                test_case: self.rec.test_case.clone(),
                approval: None,
                job: None,
                reader: None,
                writer: Some(json!({"Files": "kept in the execution record"})),
            })));
    }

    /// The writing task answered: the Map finishes with the export's location, or fails with
    /// `States.ResultWriterFailed`; a run that had failed fails the Map as it would have.
    pub(crate) fn results_written(
        &mut self,
        fid: &str,
        w: WriterPhase,
        answer: Result<(), Failure>,
    ) {
        match (answer, w.failure) {
            (Err(f), _) => {
                let arn = w.result["MapRunArn"].as_str().unwrap_or_default();
                if let Some(run) = self.rec.map_runs.iter_mut().find(|r| r.arn == arn) {
                    run.status = "FAILED".into();
                }
                let failure = if f.error.as_deref() == Some(names::RESULT_WRITER_FAILED) {
                    f
                } else {
                    Failure::new(
                        names::RESULT_WRITER_FAILED,
                        format!(
                            "{}: {}",
                            f.error.as_deref().unwrap_or_default(),
                            f.cause.as_deref().unwrap_or_default()
                        ),
                    )
                };
                self.fail_map_run(fid, failure);
            }
            (Ok(()), Some(f)) => self.fail_map_run(fid, f),
            (Ok(()), None) => self.finish_map_run(fid, w.result),
        }
        self.runnable.push_back(fid.to_string());
    }

    /// The children's records, by the status AWS files them under. An export's children are
    /// read from the store by the runner: of those, only the items that never started are
    /// given here.
    fn child_records(&self, m: &MapState, state: &str, f: &Fanout, run_arn: &str) -> Records {
        let exports = m
            .result_writer
            .as_ref()
            .is_some_and(|w| w.resource.is_some());
        let label = run_label(m.label.as_deref(), state, run_arn);
        // arn:aws:states:R:A:execution:MACHINE:NAME → arn:aws:states:R:A:execution:MACHINE/LABEL:
        let names = RunNames::new(&self.rec.execution_arn, &label, run_arn);
        let machine_arn = self.rec.state_machine_arn.clone();
        let mut out = Records::default();
        let from = if exports { f.started } else { 0 };
        for i in from..f.total {
            // Items before the window the fan-out holds all started: their logs have them.
            let item = i.checked_sub(f.first).and_then(|w| f.items.get(w));
            let name = names.name(i);
            let log = f.logs.get(i).and_then(Option::as_ref);
            let status = match (log, f.results.get(i).and_then(Option::as_ref)) {
                (None, _) => "PENDING",
                (Some(l), _) if l.failure.is_some() => "FAILED",
                (Some(l), Some(_)) if l.stop.is_some() => "SUCCEEDED",
                (Some(_), _) => "ABORTED",
            };
            let output = (status == "SUCCEEDED")
                .then(|| f.results.get(i).and_then(Option::as_ref))
                .flatten();
            let r = RecordOf {
                execution_arn: format!("{}{name}", names.execution_prefix),
                name,
                state_machine_arn: format!("{machine_arn}/{label}"),
                status,
                input: log.map(|l| &l.input).or(item).unwrap_or(&Value::Null),
                output,
                failure: log.and_then(|l| l.failure.as_ref()),
                start: log.map(|l| l.start),
                stop: log.and_then(|l| l.stop),
            };
            let record = Child {
                record: r.record(),
                output: output.cloned(),
            };
            match status {
                "SUCCEEDED" => out.succeeded.push(record),
                "PENDING" => out.pending.push(record),
                _ => out.failed.push(record),
            }
        }
        out
    }

    /// The bucket and prefix the writer's Parameters or Arguments give.
    fn writer_target(&self, fid: &str, w: &ResultWriter) -> Result<Target, Failure> {
        let (raw, ctx) = self.raw(fid);
        let params = match (&w.parameters, &w.arguments) {
            (Some(t), _) => {
                let effective = self.input_path_only(fid, self.current_state(fid), &raw, &ctx)?;
                self.eval(fid, &effective, &ctx, |env| t.eval(env))?
            }
            (None, Some(t)) => {
                let states = Self::states_object(&raw, &ctx, None, None);
                self.eval_jsonata(fid, &states, |env| t.eval(env, "Arguments"))?
            }
            (None, None) => Value::Object(Map::new()),
        };
        let field = |k: &str| match params.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Failure::new(
                names::RESULT_WRITER_FAILED,
                format!(
                    "The ResultWriter's '{k}' must be a string, not {}",
                    type_name(other)
                ),
            )),
        };
        let Some(bucket) = field("Bucket")?.filter(|b| !b.is_empty()) else {
            return Err(Failure::new(
                names::RESULT_WRITER_FAILED,
                "The ResultWriter names no 'Bucket' to write to",
            ));
        };
        Ok(Target {
            bucket,
            prefix: field("Prefix")?.unwrap_or_default(),
        })
    }
}

/// What one child's record says.
struct RecordOf<'a> {
    execution_arn: String,
    name: String,
    state_machine_arn: String,
    status: &'a str,
    input: &'a Value,
    output: Option<&'a Value>,
    failure: Option<&'a Failure>,
    start: Option<DateTime<Utc>>,
    stop: Option<DateTime<Utc>>,
}

impl RecordOf<'_> {
    /// The record as AWS writes it, its fields in AWS's order.
    fn record(&self) -> Value {
        let mut r = Map::new();
        if let Some(fail) = self.failure {
            r.insert(
                "Cause".into(),
                json!(fail.cause.clone().unwrap_or_default()),
            );
            r.insert(
                "Error".into(),
                json!(fail.error.clone().unwrap_or_default()),
            );
        }
        r.insert("ExecutionArn".into(), json!(self.execution_arn));
        r.insert("Input".into(), json!(to_text(self.input)));
        r.insert("InputDetails".into(), json!({"Included": true}));
        r.insert("Name".into(), json!(self.name));
        if let Some(o) = self.output {
            r.insert("Output".into(), json!(to_text(o)));
            r.insert("OutputDetails".into(), json!({"Included": true}));
        }
        r.insert("RedriveCount".into(), json!(0));
        r.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
        r.insert(
            "RedriveStatusReason".into(),
            json!(format!(
                "Execution is {} and cannot be redriven",
                self.status
            )),
        );
        if let Some(start) = self.start {
            r.insert("StartDate".into(), json!(date(start)));
        }
        r.insert("StateMachineArn".into(), json!(self.state_machine_arn));
        r.insert("Status".into(), json!(self.status));
        if let Some(stop) = self.stop {
            r.insert("StopDate".into(), json!(date(stop)));
        }
        Value::Object(r)
    }
}

fn transformation_name(t: Transformation) -> &'static str {
    match t {
        Transformation::None => "NONE",
        Transformation::Compact => "COMPACT",
        Transformation::Flatten => "FLATTEN",
    }
}

fn transformation_of(name: &str) -> Transformation {
    match name {
        "COMPACT" => Transformation::Compact,
        "FLATTEN" => Transformation::Flatten,
        _ => Transformation::None,
    }
}

/// A child as the store keeps it, as its record says it (a child its run left running was
/// aborted).
fn stored_child(c: &ChildExecution) -> (&'static str, Child) {
    let status = match c.status {
        Status::Succeeded => "SUCCEEDED",
        Status::Failed | Status::TimedOut => "FAILED",
        Status::Running | Status::Aborted => "ABORTED",
    };
    let output = c.output.as_ref().filter(|_| status == "SUCCEEDED");
    let r = RecordOf {
        execution_arn: c.execution_arn.clone(),
        name: c.name.clone(),
        state_machine_arn: c.state_machine_arn.clone(),
        status,
        input: c.input.as_ref().unwrap_or(&Value::Null),
        output,
        failure: c.failure.as_ref(),
        start: Some(c.start),
        stop: c.stop,
    };
    let child = Child {
        record: r.record(),
        output: output.cloned(),
    };
    (status, child)
}

/// An export's files as they are made, child by child: each status's file is text from the
/// start, so what is held is what is written.
struct Files {
    transformation: Transformation,
    json_lines: bool,
    /// FAILED, PENDING, SUCCEEDED: the body so far, and whether it has a value yet.
    bodies: [(&'static str, String, bool); 3],
    total: usize,
}

impl Files {
    fn new(transformation: Transformation, json_lines: bool) -> Files {
        Files {
            transformation,
            json_lines,
            bodies: [
                ("FAILED", String::new(), false),
                ("PENDING", String::new(), false),
                ("SUCCEEDED", String::new(), false),
            ],
            total: 0,
        }
    }

    /// Adds a child's record to its status's file (a succeeded child shaped by the
    /// transformation; failed and pending children keep their whole records, as on AWS).
    fn add(&mut self, status: &str, child: Child) -> Result<(), Failure> {
        let slot = match status {
            "SUCCEEDED" => 2,
            "PENDING" => 1,
            _ => 0,
        };
        let values = if slot == 2 {
            shape(std::slice::from_ref(&child), self.transformation)
        } else {
            vec![child.record]
        };
        let (_, body, started) = &mut self.bodies[slot];
        let before = body.len();
        for v in values {
            if self.json_lines {
                body.push_str(&to_text(&v));
                body.push('\n');
            } else {
                body.push(if *started { ',' } else { '[' });
                body.push_str(&to_text(&v));
            }
            *started = true;
        }
        self.total += body.len() - before;
        if self.total > MAX_FILES_BYTES {
            return Err(Failure::new(
                names::RESULT_WRITER_FAILED,
                format!("The results come to more than {MAX_FILES_BYTES} bytes, more than Waymark writes from one Map"),
            ));
        }
        Ok(())
    }

    /// The files and the manifest (last: a reader that finds it finds every file). A status
    /// with no child has no file.
    fn finish(self, bucket: &str, folder: &str, run_arn: &str) -> Vec<(String, String)> {
        let mut files = Vec::new();
        let mut listed = Map::new();
        for (status, mut body, started) in self.bodies {
            let mut entries = Vec::new();
            if started || (self.json_lines && !body.is_empty()) {
                if !self.json_lines {
                    body.push(']');
                }
                let key = format!("{folder}/{status}_0.json");
                entries.push(json!({"Key": key, "Size": body.len()}));
                files.push((key, body));
            }
            listed.insert(status.to_string(), Value::Array(entries));
        }
        let manifest = json!({
            "DestinationBucket": bucket,
            "MapRunArn": run_arn,
            "ResultFiles": listed,
        });
        files.push((format!("{folder}/manifest.json"), to_text(&manifest)));
        files
    }
}

/// An export's files made from the run's children, given one at a time in the order they
/// started, then the items that never started.
pub struct Exporter<'a> {
    w: &'a WriterPhase,
    e: &'a Export,
    files: Files,
    run_status: &'a str,
    run_stop: Option<DateTime<Utc>>,
}

impl<'a> Exporter<'a> {
    /// `None` when the phase holds its files already.
    pub fn new(rec: &'a ExecutionRecord, w: &'a WriterPhase) -> Option<Exporter<'a>> {
        let e = w.export.as_ref()?;
        let (run_status, run_stop) = rec
            .map_runs
            .iter()
            .find(|r| r.arn == e.run_arn)
            .map_or(("FAILED", None), |r| (r.status.as_str(), r.stop));
        Some(Exporter {
            w,
            e,
            files: Files::new(transformation_of(&e.transformation), e.json_lines),
            run_status,
            run_stop,
        })
    }

    pub fn run_arn(&self) -> &str {
        &self.e.run_arn
    }

    /// A child as a store keeps it (a child its run left running was aborted).
    pub fn child(&mut self, c: ChildExecution) -> Result<(), Failure> {
        let (status, child) = stored_child(&c.as_of_run(self.run_status, self.run_stop));
        self.files.add(status, child)
    }

    /// The files, the items that never started last, then the manifest.
    pub fn finish(mut self) -> Result<Vec<(String, String)>, Failure> {
        for record in &self.e.pending {
            let child = Child {
                record: record.clone(),
                output: None,
            };
            self.files.add("PENDING", child)?;
        }
        Ok(self
            .files
            .finish(&self.w.bucket, &self.e.folder, &self.e.run_arn))
    }
}

/// The runner's half of an export: the files of the run the writing task's phase names,
/// made from its children as `store` keeps them (read a page at a time). A store that cannot
/// be read is an error to retry; files that outgrow what one Map writes are the task's
/// `States.ResultWriterFailed`.
pub async fn export_files<S: MapChildStore>(
    store: &S,
    rec: &ExecutionRecord,
    w: &WriterPhase,
) -> Result<Result<Vec<(String, String)>, Failure>, StoreError> {
    let Some(mut x) = Exporter::new(rec, w) else {
        return Ok(Ok(w.files.clone()));
    };
    let run_arn = x.run_arn().to_string();
    let mut token: Option<String> = None;
    loop {
        let page = store
            .map_children(&run_arn, None, EXPORT_PAGE, token.as_deref())
            .await?;
        for c in page.items {
            if let Err(f) = x.child(c) {
                return Ok(Err(f));
            }
        }
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(x.finish())
}

struct Target {
    bucket: String,
    prefix: String,
}

/// One child's record (Transformation NONE) and its output, for the other shapes.
struct Child {
    record: Value,
    output: Option<Value>,
}

#[derive(Default)]
struct Records {
    succeeded: Vec<Child>,
    failed: Vec<Child>,
    pending: Vec<Child>,
}

/// Succeeded children as the transformation shapes them: their records (NONE), their outputs
/// (COMPACT), or their outputs with arrays spliced in (FLATTEN).
fn shape(children: &[Child], t: Transformation) -> Vec<Value> {
    let mut out = Vec::with_capacity(children.len());
    for c in children {
        match (t, &c.output) {
            (Transformation::None, _) | (_, None) => out.push(c.record.clone()),
            (Transformation::Compact, Some(o)) => out.push(o.clone()),
            (Transformation::Flatten, Some(Value::Array(a))) => out.extend(a.iter().cloned()),
            (Transformation::Flatten, Some(o)) => out.push(o.clone()),
        }
    }
    out
}

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The phase of the writing task `req` asks for; `None` when the record no longer waits for
/// that write.
pub fn writer_phase<'r>(rec: &'r ExecutionRecord, req: &TaskRequest) -> Option<&'r WriterPhase> {
    let frame = rec.frames.get(&req.frame)?;
    match &frame.phase {
        Phase::Task(t) if frame.seq == req.seq => t.writer.as_deref(),
        _ => None,
    }
}

/// `req` with the files to write, as the writing integration takes them (the queued request
/// names none).
pub fn filled_with(req: &TaskRequest, bucket: &str, files: &[(String, String)]) -> TaskRequest {
    let files: Vec<Value> = files
        .iter()
        .map(|(k, b)| json!({"Key": k, "Body": b}))
        .collect();
    let mut filled = req.clone();
    filled.writer = Some(json!({"Bucket": bucket, "Files": files}));
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(output: Value) -> Child {
        Child {
            record: json!({"Status": "SUCCEEDED"}),
            output: Some(output),
        }
    }

    #[test]
    fn transformations_shape_outputs_as_the_developer_guide_shows() {
        let kids = [child(json!([{"a": 1}, {"a": 2}])), child(json!({"b": 3}))];
        assert_eq!(
            shape(&kids, Transformation::Compact),
            vec![json!([{"a": 1}, {"a": 2}]), json!({"b": 3})]
        );
        assert_eq!(
            shape(&kids, Transformation::Flatten),
            vec![json!({"a": 1}), json!({"a": 2}), json!({"b": 3})]
        );
        assert_eq!(
            shape(&kids, Transformation::None),
            vec![json!({"Status": "SUCCEEDED"}); 2]
        );
    }

    #[test]
    fn names_are_uuid_shaped_and_stable() {
        let a = uuid_of("run#0");
        assert_eq!(a, uuid_of("run#0"));
        assert_ne!(a, uuid_of("run#1"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
