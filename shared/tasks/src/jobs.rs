//! The Run a Job (`.sync`) pattern of the optimised integrations that start a job: the task
//! starts it, then the engine asks about it further and further apart
//! ([`TaskOutcome::Job`]) until it ends. Each job kind says how to name a started job, which
//! call describes it, and what its state means. Step Functions' developer guide
//! ("Run a Job"): the task's output is the job's description when it succeeds; a job that fails
//! or is stopped fails the task with `States.TaskFailed` and the description as the cause.

use serde_json::{json, Value};
use waymark_asl::error::names;
use waymark_asl::Failure;
use waymark_engine::ports::TaskOutcome;

/// What one service's jobs look like.
pub(crate) struct JobKind {
    pub service: &'static str,
    /// The action that starts a job (the one with the `.sync` pattern).
    pub start: &'static str,
    /// The action that describes a running job.
    pub describe: &'static str,
    /// The job's name for `describe`, from the task's parameters and the start call's answer.
    job: fn(&Value, &Value) -> Option<Value>,
    /// Where the job's state is in the description.
    state: &'static str,
    /// The part of the description that is the task's output.
    output: &'static str,
    running: &'static [&'static str],
    succeeded: &'static str,
    /// Whether a job in the `succeeded` state did succeed (an ECS task stops either way).
    ok: fn(&Value) -> bool,
}

pub(crate) const KINDS: &[JobKind] = &[
    JobKind {
        service: "athena",
        start: "startQueryExecution",
        describe: "getQueryExecution",
        job: |_, out| Some(json!({"QueryExecutionId": out.get("QueryExecutionId")?})),
        state: "/QueryExecution/Status/State",
        output: "",
        running: &["QUEUED", "RUNNING"],
        succeeded: "SUCCEEDED",
        ok: |_| true,
    },
    JobKind {
        service: "glue",
        start: "startJobRun",
        describe: "getJobRun",
        job: |params, out| {
            Some(json!({"JobName": params.get("JobName")?, "RunId": out.get("JobRunId")?}))
        },
        state: "/JobRun/JobRunState",
        output: "/JobRun",
        running: &["STARTING", "RUNNING", "STOPPING", "WAITING"],
        succeeded: "SUCCEEDED",
        ok: |_| true,
    },
    JobKind {
        service: "ecs",
        start: "runTask",
        describe: "describeTasks",
        job: |params, out| {
            let task = out.pointer("/Tasks/0/TaskArn")?;
            let mut job = json!({"Tasks": [task]});
            if let Some(c) = params.get("Cluster") {
                job["Cluster"] = c.clone();
            }
            Some(job)
        },
        state: "/Tasks/0/LastStatus",
        output: "/Tasks/0",
        running: &[
            "PROVISIONING",
            "PENDING",
            "ACTIVATING",
            "RUNNING",
            "DEACTIVATING",
            "STOPPING",
            "DEPROVISIONING",
        ],
        succeeded: "STOPPED",
        // A task stops whether its containers succeeded or not: every container that
        // reported an exit code must have exited with 0.
        ok: |d| {
            d.pointer("/Tasks/0/Containers")
                .and_then(Value::as_array)
                .is_none_or(|cs| {
                    cs.iter()
                        .all(|c| c.get("ExitCode").is_none_or(|e| e.as_i64() == Some(0)))
                })
        },
    },
    JobKind {
        service: "batch",
        start: "submitJob",
        describe: "describeJobs",
        job: |_, out| Some(json!({"Jobs": [out.get("JobId")?]})),
        state: "/Jobs/0/Status",
        output: "/Jobs/0",
        running: &["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"],
        succeeded: "SUCCEEDED",
        ok: |_| true,
    },
];

/// The developer guide's rule for ECS: `runTask` may answer 200 with `Failures`; Request
/// Response returns it, Run a Job and Wait for Callback fail with `AmazonECS.Unknown`.
pub(crate) fn check_started(service: &str, out: &Value) -> Result<(), Failure> {
    if service != "ecs" {
        return Ok(());
    }
    match out.get("Failures").and_then(Value::as_array) {
        Some(f) if !f.is_empty() => Err(Failure::new(
            "AmazonECS.Unknown",
            Value::Array(f.clone()).to_string(),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn kind(service: &str, action: &str) -> Option<&'static JobKind> {
    KINDS
        .iter()
        .find(|k| k.service == service && k.start == action)
}

impl JobKind {
    /// What the engine is told after the start call answered `out`.
    pub fn started(&self, params: &Value, out: Value) -> TaskOutcome {
        match (self.job)(params, &out) {
            Some(job) => TaskOutcome::Job {
                job,
                submitted: Some(out),
            },
            None => TaskOutcome::Failed(Failure::new(
                names::TASK_FAILED,
                format!(
                    "{}:{} answered without naming the job it started: {}",
                    self.service,
                    self.start,
                    waymark_asl::json::clip(&out.to_string())
                ),
            )),
        }
    }

    /// What the engine is told after `describe` answered `described` about `job`.
    pub fn verdict(&self, job: &Value, described: Value) -> TaskOutcome {
        let state = described
            .pointer(self.state)
            .and_then(Value::as_str)
            .unwrap_or_default();
        if state == self.succeeded && (self.ok)(&described) {
            let out = described
                .pointer(self.output)
                .cloned()
                .unwrap_or(Value::Null);
            return TaskOutcome::Succeeded(out);
        }
        if self.running.contains(&state) {
            return TaskOutcome::Job {
                job: job.clone(),
                submitted: None,
            };
        }
        let cause = described.pointer(self.output).unwrap_or(&described);
        TaskOutcome::Failed(Failure::new(names::TASK_FAILED, cause.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_job(o: &TaskOutcome) -> bool {
        matches!(o, TaskOutcome::Job { .. })
    }

    #[test]
    fn glue_runs_are_named_by_job_and_run_and_end_with_the_job_run() {
        let k = kind("glue", "startJobRun").unwrap();
        let started = k.started(&json!({"JobName": "etl"}), json!({"JobRunId": "jr_1"}));
        let TaskOutcome::Job { job, submitted } = started else {
            panic!("{started:?}")
        };
        assert_eq!(job, json!({"JobName": "etl", "RunId": "jr_1"}));
        assert_eq!(submitted, Some(json!({"JobRunId": "jr_1"})));
        let running = json!({"JobRun": {"Id": "jr_1", "JobRunState": "RUNNING"}});
        assert!(is_job(&k.verdict(&job, running)));
        let done = json!({"JobRun": {"Id": "jr_1", "JobRunState": "SUCCEEDED"}});
        assert!(matches!(k.verdict(&job, done),
            TaskOutcome::Succeeded(v) if v == json!({"Id": "jr_1", "JobRunState": "SUCCEEDED"})));
        for end in ["FAILED", "ERROR", "TIMEOUT", "STOPPED", "EXPIRED"] {
            let d = json!({"JobRun": {"Id": "jr_1", "JobRunState": end}});
            match k.verdict(&job, d) {
                TaskOutcome::Failed(f) => {
                    assert_eq!(f.error.as_deref(), Some("States.TaskFailed"));
                    assert!(f.cause.unwrap().contains(end));
                }
                other => panic!("{end}: {other:?}"),
            }
        }
        assert!(matches!(
            k.started(&json!({}), json!({"JobRunId": "jr_1"})),
            TaskOutcome::Failed(_)
        ));
    }

    #[test]
    fn athena_queries_end_with_the_whole_description() {
        let k = kind("athena", "startQueryExecution").unwrap();
        let job = json!({"QueryExecutionId": "q1"});
        let d =
            |s: &str| json!({"QueryExecution": {"QueryExecutionId": "q1", "Status": {"State": s}}});
        assert!(is_job(&k.verdict(&job, d("QUEUED"))));
        assert!(is_job(&k.verdict(&job, d("RUNNING"))));
        assert!(
            matches!(k.verdict(&job, d("SUCCEEDED")), TaskOutcome::Succeeded(v) if v == d("SUCCEEDED"))
        );
        assert!(matches!(
            k.verdict(&job, d("CANCELLED")),
            TaskOutcome::Failed(_)
        ));
        assert!(kind("athena", "getQueryResults").is_none());
    }

    #[test]
    fn ecs_tasks_succeed_when_they_stop_with_every_exit_code_zero() {
        let k = kind("ecs", "runTask").unwrap();
        let started = k.started(
            &json!({"Cluster": "c"}),
            json!({"Tasks": [{"TaskArn": "arn:t"}], "Failures": []}),
        );
        let TaskOutcome::Job { job, .. } = started else {
            panic!("{started:?}")
        };
        assert_eq!(job, json!({"Tasks": ["arn:t"], "Cluster": "c"}));
        let d = |status: &str, codes: &[i64]| {
            let cs: Vec<Value> = codes.iter().map(|c| json!({"ExitCode": c})).collect();
            json!({"Tasks": [{"TaskArn": "arn:t", "LastStatus": status, "Containers": cs}]})
        };
        assert!(is_job(&k.verdict(&job, d("PENDING", &[]))));
        assert!(is_job(&k.verdict(&job, d("RUNNING", &[]))));
        assert!(matches!(k.verdict(&job, d("STOPPED", &[0, 0])),
            TaskOutcome::Succeeded(v) if v["LastStatus"] == "STOPPED"));
        assert!(matches!(k.verdict(&job, d("STOPPED", &[0, 1])),
            TaskOutcome::Failed(f) if f.error.as_deref() == Some("States.TaskFailed")));
        let failures = json!({"Tasks": [], "Failures": [{"Reason": "MISSING"}]});
        let e = check_started("ecs", &failures).unwrap_err();
        assert_eq!(e.error.as_deref(), Some("AmazonECS.Unknown"));
        assert!(check_started("batch", &failures).is_ok());
    }

    #[test]
    fn batch_jobs_end_with_the_job_description() {
        let k = kind("batch", "submitJob").unwrap();
        let TaskOutcome::Job { job, .. } = k.started(&json!({}), json!({"JobId": "j1"})) else {
            panic!()
        };
        assert_eq!(job, json!({"Jobs": ["j1"]}));
        let d = |s: &str| json!({"Jobs": [{"JobId": "j1", "Status": s}]});
        for s in ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"] {
            assert!(is_job(&k.verdict(&job, d(s))), "{s}");
        }
        assert!(matches!(k.verdict(&job, d("SUCCEEDED")),
            TaskOutcome::Succeeded(v) if v == json!({"JobId": "j1", "Status": "SUCCEEDED"})));
        assert!(matches!(
            k.verdict(&job, d("FAILED")),
            TaskOutcome::Failed(_)
        ));
    }
}
