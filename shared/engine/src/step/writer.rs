//! A distributed Map's `ResultWriter`: what each child left, shaped by `WriterConfig`, becomes
//! the Map's result or is exported to Amazon S3 as AWS lays it out (developer guide,
//! "ResultWriter (Map)"): `PREFIX/RUN/manifest.json` beside `SUCCEEDED_0.json`,
//! `FAILED_0.json` and `PENDING_0.json`, and the Map's result is then only
//! `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`.
//!
//! The files are made by the step that ends the run and kept in the writing task's phase; the
//! request that goes through the home's queue names them only, and the runner fills them in
//! from the record ([`fill_request`]), so a queue message stays small however many children ran.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use waymark_asl::error::names;
use waymark_asl::json::{to_text, type_name};
use waymark_asl::model::{Map as MapState, ResultWriter, StateKind, Transformation};
use waymark_asl::Failure;

use super::{Stepper, TaskRequest};
use crate::map_children::{run_label, uuid_of, RunNames};
use crate::record::{ExecutionRecord, Fanout, Phase, TaskPhase};

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

/// A writing task's phase: the files to put, and what follows once they are written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriterPhase {
    pub bucket: String,
    /// `(key, body)`, the manifest last: a reader that finds the manifest finds every file.
    pub files: Vec<(String, String)>,
    /// The Map's result once written.
    pub result: Value,
    /// The run's failure, which the Map fails with after writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// The largest set of files one Map writes: bounded like any payload the engine holds, since
/// every file is made from results the execution record holds already.
const MAX_FILES_BYTES: usize = 64 * 1024 * 1024;

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
        let files = match make_files(&records, w, &target.bucket, &folder, &run_arn) {
            Ok(files) => files,
            Err(e) => return self.fail_map_run(fid, e),
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
            files,
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

    /// The children's records, by the status AWS files them under.
    fn child_records(&self, m: &MapState, state: &str, f: &Fanout, run_arn: &str) -> Records {
        let label = run_label(m.label.as_deref(), state, run_arn);
        // arn:aws:states:R:A:execution:MACHINE:NAME → arn:aws:states:R:A:execution:MACHINE/LABEL:
        let names = RunNames::new(&self.rec.execution_arn, &label, run_arn);
        let machine_arn = self.rec.state_machine_arn.clone();
        let mut out = Records::default();
        for i in 0..f.total {
            // Items before the window the fan-out holds all started: their logs have them.
            let item = i.checked_sub(f.first).and_then(|w| f.items.get(w));
            let name = names.name(i);
            let mut r = Map::new();
            let log = f.logs.get(i).and_then(Option::as_ref);
            let status = match (log, f.results.get(i).and_then(Option::as_ref)) {
                (None, _) => "PENDING",
                (Some(l), _) if l.failure.is_some() => "FAILED",
                (Some(l), Some(_)) if l.stop.is_some() => "SUCCEEDED",
                (Some(_), _) => "ABORTED",
            };
            if let Some(fail) = log.and_then(|l| l.failure.as_ref()) {
                r.insert(
                    "Cause".into(),
                    json!(fail.cause.clone().unwrap_or_default()),
                );
                r.insert(
                    "Error".into(),
                    json!(fail.error.clone().unwrap_or_default()),
                );
            }
            r.insert(
                "ExecutionArn".into(),
                json!(format!("{}{name}", names.execution_prefix)),
            );
            let input = log.map(|l| &l.input).or(item).unwrap_or(&Value::Null);
            r.insert("Input".into(), json!(to_text(input)));
            r.insert("InputDetails".into(), json!({"Included": true}));
            r.insert("Name".into(), json!(name));
            let output = (status == "SUCCEEDED")
                .then(|| f.results.get(i).and_then(Option::as_ref))
                .flatten();
            if let Some(o) = output {
                r.insert("Output".into(), json!(to_text(o)));
                r.insert("OutputDetails".into(), json!({"Included": true}));
            }
            r.insert("RedriveCount".into(), json!(0));
            r.insert("RedriveStatus".into(), json!("NOT_REDRIVABLE"));
            r.insert(
                "RedriveStatusReason".into(),
                json!(format!("Execution is {status} and cannot be redriven")),
            );
            if let Some(l) = log {
                r.insert("StartDate".into(), json!(date(l.start)));
            }
            r.insert(
                "StateMachineArn".into(),
                json!(format!("{machine_arn}/{label}")),
            );
            r.insert("Status".into(), json!(status));
            if let Some(stop) = log.and_then(|l| l.stop) {
                r.insert("StopDate".into(), json!(date(stop)));
            }
            let record = Child {
                record: Value::Object(r),
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

/// The result files and the manifest. Failed and pending children keep their whole records:
/// AWS returns a failed child's result unchanged whatever the transformation.
fn make_files(
    records: &Records,
    w: &ResultWriter,
    bucket: &str,
    folder: &str,
    run_arn: &str,
) -> Result<Vec<(String, String)>, Failure> {
    let mut files = Vec::new();
    let mut listed = Map::new();
    let mut total = 0usize;
    for (status, children, shaped) in [
        ("FAILED", &records.failed, false),
        ("PENDING", &records.pending, false),
        ("SUCCEEDED", &records.succeeded, true),
    ] {
        let mut entries = Vec::new();
        if !children.is_empty() {
            let values = if shaped {
                shape(children, w.transformation)
            } else {
                children.iter().map(|c| c.record.clone()).collect()
            };
            let body = if w.json_lines {
                let mut s = String::new();
                for v in &values {
                    s.push_str(&to_text(v));
                    s.push('\n');
                }
                s
            } else {
                to_text(&Value::Array(values))
            };
            total += body.len();
            if total > MAX_FILES_BYTES {
                return Err(Failure::new(
                    names::RESULT_WRITER_FAILED,
                    format!("The results come to more than {MAX_FILES_BYTES} bytes, more than Waymark writes from one Map"),
                ));
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
    Ok(files)
}

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The runner's half: a writing task's request gets the files its phase holds (the queued
/// request names none). `None` when the record no longer waits for that write.
pub fn fill_request(rec: &ExecutionRecord, req: &TaskRequest) -> Option<TaskRequest> {
    let frame = rec.frames.get(&req.frame)?;
    let Phase::Task(t) = &frame.phase else {
        return None;
    };
    let w = t.writer.as_deref()?;
    let files: Vec<Value> = w
        .files
        .iter()
        .map(|(k, b)| json!({"Key": k, "Body": b}))
        .collect();
    let mut filled = req.clone();
    filled.writer = Some(json!({"Bucket": w.bucket, "Files": files}));
    Some(filled)
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
