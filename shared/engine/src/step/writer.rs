//! A distributed Map's `ResultWriter`: what each child left, shaped by `WriterConfig`, becomes
//! the Map's result or is exported to Amazon S3 as AWS lays it out (developer guide,
//! "ResultWriter (Map)"): `PREFIX/RUN/manifest.json` beside `SUCCEEDED_0.json`,
//! `FAILED_0.json` and `PENDING_0.json`, and the Map's result is then only
//! `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`.
//!
//! An export's files are made by the runner that performs the writing task ([`export`]), from
//! the run's children as the store keeps them, page by page, and written as they are made: a
//! file larger than a part goes up in parts (a multipart upload), and one past 5 GB goes on in
//! the status's next file, as on AWS. The record keeps no copy of what each child had and the
//! runner holds at most a part per status, so neither grows with the run. Only the items that
//! never started (of the window the Map held) travel in the writing task's phase. The request
//! that goes through the home's queue names no file.

use std::future::Future;

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

/// How big the pieces of an export are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSizes {
    /// A file's text is uploaded a part at a time once it grows past this (Amazon S3 takes
    /// parts of 5 MiB and more, the last excepted), so what is held in memory is at most a
    /// part per status, whatever the run's size.
    pub part: usize,
    /// The largest file: past it a status's records go on in its next file
    /// (`SUCCEEDED_1.json`), as AWS does at 5 GB ("ResultWriter (Map)", exporting to S3).
    pub file: u64,
}

impl Default for ExportSizes {
    fn default() -> Self {
        ExportSizes {
            part: 8 * 1024 * 1024,
            file: 5 * 1024 * 1024 * 1024,
        }
    }
}

/// One request of an export to the writing integration, as [`TaskRequest::writer`] carries
/// it. Small files go whole, with the manifest, in one last `Put`; a file that grows past a
/// part is a multipart upload (`Begin` answers `{"UploadId"}`, each `Part` `{"ETag"}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// `{"Files": [{"Key", "Body"}]}`: whole objects, put in order (the manifest last).
    Put(Vec<(String, String)>),
    /// `{"Begin": {"Key"}}`.
    Begin { key: String },
    /// `{"Part": {"Key", "UploadId", "PartNumber", "Body"}}`.
    Part {
        key: String,
        upload_id: String,
        number: u32,
        body: String,
    },
    /// `{"Complete": {"Key", "UploadId", "Parts": [{"ETag", "PartNumber"}]}}`.
    Complete {
        key: String,
        upload_id: String,
        parts: Vec<(u32, String)>,
    },
    /// `{"Abort": {"Key", "UploadId"}}`: an export that failed drops what it had uploaded.
    Abort { key: String, upload_id: String },
}

impl Write {
    /// `req` asking for this write to `bucket`.
    pub fn request(&self, req: &TaskRequest, bucket: &str) -> TaskRequest {
        let op = match self {
            Write::Put(files) => {
                let files: Vec<Value> = files
                    .iter()
                    .map(|(k, b)| json!({"Key": k, "Body": b}))
                    .collect();
                json!({"Bucket": bucket, "Files": files})
            }
            Write::Begin { key } => json!({"Bucket": bucket, "Begin": {"Key": key}}),
            Write::Part {
                key,
                upload_id,
                number,
                body,
            } => json!({"Bucket": bucket, "Part": {"Key": key, "UploadId": upload_id,
                "PartNumber": number, "Body": body}}),
            Write::Complete {
                key,
                upload_id,
                parts,
            } => {
                let parts: Vec<Value> = parts
                    .iter()
                    .map(|(n, etag)| json!({"ETag": etag, "PartNumber": n}))
                    .collect();
                json!({"Bucket": bucket, "Complete": {"Key": key, "UploadId": upload_id,
                    "Parts": parts}})
            }
            Write::Abort { key, upload_id } => {
                json!({"Bucket": bucket, "Abort": {"Key": key, "UploadId": upload_id}})
            }
        };
        let mut r = req.clone();
        r.writer = Some(op);
        r
    }
}

/// A multipart upload under way.
struct Upload {
    id: String,
    /// Part numbers and ETags, in order.
    parts: Vec<(u32, String)>,
}

/// One status's files: the one being written and those done.
struct StatusFiles {
    status: &'static str,
    /// `n` of `STATUS_n.json`.
    index: usize,
    /// The current file's text not uploaded yet.
    buf: String,
    /// The current file's size so far, uploaded or not.
    size: u64,
    /// Whether the current file has a value yet.
    started: bool,
    upload: Option<Upload>,
    /// Files written: key and size.
    done: Vec<(String, u64)>,
}

impl StatusFiles {
    fn new(status: &'static str) -> StatusFiles {
        StatusFiles {
            status,
            index: 0,
            buf: String::new(),
            size: 0,
            started: false,
            upload: None,
            done: Vec::new(),
        }
    }

    fn key(&self, folder: &str) -> String {
        format!("{folder}/{}_{}.json", self.status, self.index)
    }
}

/// An export's files made from the run's children, given one at a time in the order they
/// started, then the items that never started. Writes go through `send`, which performs one
/// [`Write`] and gives its answer.
pub struct Exporter<'a> {
    w: &'a WriterPhase,
    e: &'a Export,
    transformation: Transformation,
    sizes: ExportSizes,
    /// FAILED, PENDING, SUCCEEDED.
    files: [StatusFiles; 3],
    /// Files done that were never uploaded in parts: put whole with the manifest.
    whole: Vec<(String, String)>,
    run_status: &'a str,
    run_stop: Option<DateTime<Utc>>,
}

impl<'a> Exporter<'a> {
    /// `None` when the phase holds its files already.
    pub fn new(
        rec: &'a ExecutionRecord,
        w: &'a WriterPhase,
        sizes: ExportSizes,
    ) -> Option<Exporter<'a>> {
        let e = w.export.as_ref()?;
        let (run_status, run_stop) = rec
            .map_runs
            .iter()
            .find(|r| r.arn == e.run_arn)
            .map_or(("FAILED", None), |r| (r.status.as_str(), r.stop));
        Some(Exporter {
            w,
            e,
            transformation: transformation_of(&e.transformation),
            sizes,
            files: [
                StatusFiles::new("FAILED"),
                StatusFiles::new("PENDING"),
                StatusFiles::new("SUCCEEDED"),
            ],
            whole: Vec::new(),
            run_status,
            run_stop,
        })
    }

    pub fn run_arn(&self) -> &str {
        &self.e.run_arn
    }

    /// A child as a store keeps it (a child its run left running was aborted).
    pub async fn child<F, Fut>(&mut self, c: ChildExecution, send: &mut F) -> Result<(), Failure>
    where
        F: FnMut(Write) -> Fut,
        Fut: Future<Output = Result<Value, Failure>>,
    {
        let (status, child) = stored_child(&c.as_of_run(self.run_status, self.run_stop));
        self.add(status, child, send).await
    }

    /// Adds a child's record to its status's file (a succeeded child shaped by the
    /// transformation; failed and pending children keep their whole records, as on AWS).
    async fn add<F, Fut>(&mut self, status: &str, child: Child, send: &mut F) -> Result<(), Failure>
    where
        F: FnMut(Write) -> Fut,
        Fut: Future<Output = Result<Value, Failure>>,
    {
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
        for v in values {
            let text = to_text(&v);
            // The separator or bracket before the value, and the closing bracket.
            let f = &self.files[slot];
            if f.started && f.size + text.len() as u64 + 2 > self.sizes.file {
                self.close(slot, send).await?;
            }
            let json_lines = self.e.json_lines;
            let f = &mut self.files[slot];
            let before = f.buf.len();
            if json_lines {
                f.buf.push_str(&text);
                f.buf.push('\n');
            } else {
                f.buf.push(if f.started { ',' } else { '[' });
                f.buf.push_str(&text);
            }
            f.started = true;
            f.size += (f.buf.len() - before) as u64;
            if f.buf.len() >= self.sizes.part {
                self.upload_part(slot, send).await?;
            }
        }
        Ok(())
    }

    /// Uploads what the slot's file holds as its next part, starting its upload first.
    async fn upload_part<F, Fut>(&mut self, slot: usize, send: &mut F) -> Result<(), Failure>
    where
        F: FnMut(Write) -> Fut,
        Fut: Future<Output = Result<Value, Failure>>,
    {
        let key = self.files[slot].key(&self.e.folder);
        if self.files[slot].upload.is_none() {
            let answer = send(Write::Begin { key: key.clone() }).await?;
            let id = answered(&answer, "UploadId")?;
            self.files[slot].upload = Some(Upload {
                id,
                parts: Vec::new(),
            });
        }
        let f = &mut self.files[slot];
        let Some(up) = f.upload.as_mut() else {
            return Ok(());
        };
        let number = up.parts.len() as u32 + 1;
        let body = std::mem::take(&mut f.buf);
        let answer = send(Write::Part {
            key,
            upload_id: up.id.clone(),
            number,
            body,
        })
        .await?;
        up.parts.push((number, answered(&answer, "ETag")?));
        Ok(())
    }

    /// Ends the slot's current file: the last part and the upload's completion, or kept to be
    /// put whole; the slot's next file starts empty.
    async fn close<F, Fut>(&mut self, slot: usize, send: &mut F) -> Result<(), Failure>
    where
        F: FnMut(Write) -> Fut,
        Fut: Future<Output = Result<Value, Failure>>,
    {
        let json_lines = self.e.json_lines;
        let key = self.files[slot].key(&self.e.folder);
        let f = &mut self.files[slot];
        if !json_lines {
            f.buf.push(']');
            f.size += 1;
        }
        if f.upload.is_some() {
            if !f.buf.is_empty() {
                self.upload_part(slot, send).await?;
            }
            if let Some(up) = &self.files[slot].upload {
                send(Write::Complete {
                    key: key.clone(),
                    upload_id: up.id.clone(),
                    parts: up.parts.clone(),
                })
                .await?;
            }
            self.files[slot].upload = None;
        } else {
            let body = std::mem::take(&mut f.buf);
            self.whole.push((key.clone(), body));
        }
        let f = &mut self.files[slot];
        f.done.push((key, f.size));
        f.index += 1;
        f.size = 0;
        f.started = false;
        Ok(())
    }

    /// The items that never started, then the files' ends and the manifest (last: a reader
    /// that finds it finds every file). A status with no child has no file.
    pub async fn finish<F, Fut>(mut self, send: &mut F) -> Result<(), Failure>
    where
        F: FnMut(Write) -> Fut,
        Fut: Future<Output = Result<Value, Failure>>,
    {
        let done = self.finish_files(send).await;
        if done.is_err() {
            self.abort(send).await;
        }
        done
    }

    async fn finish_files<F, Fut>(&mut self, send: &mut F) -> Result<(), Failure>
    where
        F: FnMut(Write) -> Fut,
        Fut: Future<Output = Result<Value, Failure>>,
    {
        for record in &self.e.pending {
            let child = Child {
                record: record.clone(),
                output: None,
            };
            self.add("PENDING", child, send).await?;
        }
        for slot in 0..3 {
            if self.files[slot].started {
                self.close(slot, send).await?;
            }
        }
        let mut listed = Map::new();
        for f in &self.files {
            let entries = f
                .done
                .iter()
                .map(|(key, size)| json!({"Key": key, "Size": size}))
                .collect();
            listed.insert(f.status.to_string(), Value::Array(entries));
        }
        let manifest = json!({
            "DestinationBucket": self.w.bucket,
            "MapRunArn": self.e.run_arn,
            "ResultFiles": listed,
        });
        let mut whole = std::mem::take(&mut self.whole);
        whole.push((
            format!("{}/manifest.json", self.e.folder),
            to_text(&manifest),
        ));
        send(Write::Put(whole)).await.map(drop)
    }

    /// Drops the uploads under way, after a failure (best effort: the failure is what the
    /// Map reports).
    pub async fn abort<F, Fut>(&mut self, send: &mut F)
    where
        F: FnMut(Write) -> Fut,
        Fut: Future<Output = Result<Value, Failure>>,
    {
        for slot in 0..3 {
            let key = self.files[slot].key(&self.e.folder);
            if let Some(up) = self.files[slot].upload.take() {
                let _ = send(Write::Abort {
                    key,
                    upload_id: up.id,
                })
                .await;
            }
        }
    }
}

/// A string field of a write's answer.
fn answered(answer: &Value, field: &str) -> Result<String, Failure> {
    answer
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            Failure::new(
                names::RESULT_WRITER_FAILED,
                format!("Writing the results to Amazon S3 gave no {field}"),
            )
        })
}

/// The runner's half of an export: the files of the run the writing task's phase names,
/// made from its children as `store` keeps them (read a page at a time) and written through
/// `send`. A store that cannot be read is an error to retry; a write that fails is the task's
/// `States.ResultWriterFailed`.
pub async fn export<S, F, Fut>(
    store: &S,
    rec: &ExecutionRecord,
    w: &WriterPhase,
    sizes: ExportSizes,
    mut send: F,
) -> Result<Result<(), Failure>, StoreError>
where
    S: MapChildStore,
    F: FnMut(Write) -> Fut,
    Fut: Future<Output = Result<Value, Failure>>,
{
    let Some(mut x) = Exporter::new(rec, w, sizes) else {
        return Ok(send(Write::Put(w.files.clone())).await.map(drop));
    };
    let run_arn = x.run_arn().to_string();
    let mut token: Option<String> = None;
    loop {
        let page = match store
            .map_children(&run_arn, None, EXPORT_PAGE, token.as_deref())
            .await
        {
            Ok(p) => p,
            Err(e) => {
                x.abort(&mut send).await;
                return Err(e);
            }
        };
        for c in page.items {
            if let Err(f) = x.child(c, &mut send).await {
                x.abort(&mut send).await;
                return Ok(Err(f));
            }
        }
        match page.next_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(x.finish(&mut send).await)
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
