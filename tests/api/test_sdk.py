#!/usr/bin/env python3
"""The Step Functions API of `waymark serve`, driven by boto3 and the AWS CLI exactly as a
user would drive AWS: create, start, poll, read history, answer a task token (read from a real
SQS queue on a moto server), stop, redrive, list, sync executions, errors.

Usage: python3 tests/api/test_sdk.py [path/to/waymark]   (defaults to target/debug/waymark)
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

WAYMARK = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/debug/waymark")
ROLE = "arn:aws:iam::123456789012:role/waymark-test"
CREDS = dict(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, what):
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


class WaymarkApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        moto_port = free_port()
        cls.moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(moto_port, cls.moto, "moto_server")
        cls.moto_url = f"http://127.0.0.1:{moto_port}"
        port = free_port()
        cls.url = f"http://127.0.0.1:{port}"
        cls.log = open(os.path.join(cls.tmp.name, "serve.log"), "w")
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
        cls.server = subprocess.Popen(
            [WAYMARK, "serve", "--port", str(port), "--db", os.path.join(cls.tmp.name, "w.db"),
             "--wait-scale", "0", "--aws-endpoint", cls.moto_url],
            stdout=subprocess.DEVNULL, stderr=cls.log, env=env)
        wait_for_port(port, cls.server, "waymark serve")
        cls.sfn = boto3.client("stepfunctions", endpoint_url=cls.url,
                               config=Config(inject_host_prefix=False, retries={"max_attempts": 1}), **CREDS)
        cls.sqs = boto3.client("sqs", endpoint_url=cls.moto_url, **CREDS)

    @classmethod
    def tearDownClass(cls):
        for p in (cls.server, cls.moto):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        cls.log.close()
        cls.tmp.cleanup()

    def create(self, name, definition, kind="STANDARD"):
        return self.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE,
                                             type=kind)["stateMachineArn"]

    def wait_done(self, arn, timeout=30):
        deadline = time.time() + timeout
        while True:
            d = self.sfn.describe_execution(executionArn=arn)
            if d["status"] != "RUNNING" or time.time() > deadline:
                return d
            time.sleep(0.05)

    def test_create_start_poll_history(self):
        arn = self.create("hello", {"StartAt": "Hi", "States": {
            "Hi": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)"}, "Next": "Nap"},
            "Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}})
        self.assertEqual(self.sfn.describe_state_machine(stateMachineArn=arn)["status"], "ACTIVE")
        ex = self.sfn.start_execution(stateMachineArn=arn, name="first", input=json.dumps({"name": "Ada"}))
        d = self.wait_done(ex["executionArn"])
        self.assertEqual(d["status"], "SUCCEEDED")
        self.assertEqual(json.loads(d["output"]), {"greeting": "Hello, Ada!"})
        # Idempotent by name with the same input once done? AWS: ExecutionAlreadyExists.
        with self.assertRaises(ClientError) as e:
            self.sfn.start_execution(stateMachineArn=arn, name="first", input=json.dumps({"name": "Bob"}))
        self.assertEqual(e.exception.response["Error"]["Code"], "ExecutionAlreadyExists")
        events = self.sfn.get_execution_history(executionArn=ex["executionArn"])["events"]
        self.assertEqual([e["type"] for e in events],
                         ["ExecutionStarted", "PassStateEntered", "PassStateExited", "WaitStateEntered",
                          "WaitStateExited", "ExecutionSucceeded"])
        rev = self.sfn.get_execution_history(executionArn=ex["executionArn"], reverseOrder=True, maxResults=2)
        self.assertEqual([e["type"] for e in rev["events"]], ["ExecutionSucceeded", "WaitStateExited"])
        self.assertIn("nextToken", rev)
        paginator = self.sfn.get_paginator("get_execution_history")
        self.assertEqual(sum(len(p["events"]) for p in paginator.paginate(executionArn=ex["executionArn"],
                                                                           PaginationConfig={"PageSize": 2})), 6)

    def test_task_token_through_sqs(self):
        queue = self.sqs.create_queue(QueueName="approvals")["QueueUrl"]
        arn = self.create("approval", {"StartAt": "Ask", "States": {"Ask": {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
            "ResultPath": "$.decision", "End": True}}})
        ex = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps({"order": 42}))
        msgs = []
        deadline = time.time() + 10
        while not msgs and time.time() < deadline:
            msgs = self.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        body = json.loads(msgs[0]["Body"])
        self.assertEqual(body["order"], 42)
        self.assertEqual(self.sfn.describe_execution(executionArn=ex["executionArn"])["status"], "RUNNING")
        self.sfn.send_task_heartbeat(taskToken=body["token"])
        self.sfn.send_task_success(taskToken=body["token"], output=json.dumps({"approved": True}))
        d = self.wait_done(ex["executionArn"])
        self.assertEqual(json.loads(d["output"]), {"order": 42, "decision": {"approved": True}})
        with self.assertRaises(ClientError) as e:
            self.sfn.send_task_success(taskToken=body["token"], output="{}")
        self.assertEqual(e.exception.response["Error"]["Code"], "TaskTimedOut")

    def test_sync_jobs_and_put_events(self):
        # Glue and Athena's Run a Job pattern and EventBridge's PutEvents against moto; the
        # polls of the jobs are timers of the local home.
        glue = boto3.client("glue", endpoint_url=self.moto_url, **CREDS)
        glue.create_job(Name="nightly", Role="arn:aws:iam::123456789012:role/glue",
                        Command={"Name": "glueetl"})
        arn = self.create("etl", {"StartAt": "Run", "States": {
            "Run": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                    "Parameters": {"JobName": "nightly"}, "ResultPath": "$.run", "Next": "Query"},
            "Query": {"Type": "Task", "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
                      "Parameters": {"QueryString": "SELECT 1", "WorkGroup": "primary"},
                      "ResultSelector": {"state.$": "$.QueryExecution.Status.State"},
                      "ResultPath": "$.query", "Next": "Tell"},
            "Tell": {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents",
                     "Parameters": {"Entries": [{"Source": "etl", "DetailType": "Done",
                                                 "Detail": {"run.$": "$.run.Id"}}]},
                     "ResultSelector": {"failed.$": "$.FailedEntryCount"},
                     "ResultPath": "$.told", "End": True}}})
        ex = self.sfn.start_execution(stateMachineArn=arn, input="{}")
        d = self.wait_done(ex["executionArn"])
        self.assertEqual(d["status"], "SUCCEEDED", d.get("cause"))
        out = json.loads(d["output"])
        self.assertEqual(out["run"]["JobRunState"], "SUCCEEDED")
        self.assertEqual(out["query"], {"state": "SUCCEEDED"})
        self.assertEqual(out["told"], {"failed": 0})
        types = [e["type"] for e in self.sfn.get_execution_history(executionArn=ex["executionArn"])["events"]]
        self.assertEqual(types.count("TaskSubmitted"), 2, types)

    def test_item_reader_reads_from_s3(self):
        s3 = boto3.client("s3", endpoint_url=self.moto_url, **CREDS)
        s3.create_bucket(Bucket="dataset")
        s3.put_object(Bucket="dataset", Key="a.jsonl", Body=b'{"n": 1}\n{"n": 2}\n{"n": 3}\n')
        arn = self.create("reader", {"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "End": True,
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                           "ReaderConfig": {"InputType": "JSONL"},
                           "Parameters": {"Bucket": "dataset", "Key.$": "$.key"}},
            "ItemBatcher": {"MaxItemsPerBatch": 2},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                              "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}})
        d = self.wait_done(self.sfn.start_execution(stateMachineArn=arn, input='{"key": "a.jsonl"}')["executionArn"])
        self.assertEqual(d["status"], "SUCCEEDED", d.get("cause"))
        self.assertEqual(json.loads(d["output"]), [{"Items": [{"n": 1}, {"n": 2}]}, {"Items": [{"n": 3}]}])
        d = self.wait_done(self.sfn.start_execution(stateMachineArn=arn, input='{"key": "nope"}')["executionArn"])
        self.assertEqual(d["status"], "FAILED")
        self.assertEqual(d["error"], "States.ItemReaderFailed")

    def test_versions_and_aliases(self):
        def definition(r):
            return json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": r, "End": True}}})
        created = self.sfn.create_state_machine(name="versioned", definition=definition("one"), roleArn=ROLE,
                                                publish=True, versionDescription="first")
        sm = created["stateMachineArn"]
        self.assertEqual(created["stateMachineVersionArn"], sm + ":1")
        self.sfn.update_state_machine(stateMachineArn=sm, definition=definition("two"))
        v2 = self.sfn.publish_state_machine_version(stateMachineArn=sm, description="second")
        self.assertEqual(v2["stateMachineVersionArn"], sm + ":2")
        versions = self.sfn.list_state_machine_versions(stateMachineArn=sm)["stateMachineVersions"]
        self.assertEqual([v["stateMachineVersionArn"] for v in versions], [sm + ":2", sm + ":1"])
        self.assertEqual(self.sfn.describe_state_machine(stateMachineArn=sm + ":1")["description"], "first")
        alias = self.sfn.create_state_machine_alias(
            name="live", routingConfiguration=[{"stateMachineVersionArn": sm + ":1", "weight": 100}])
        alias_arn = alias["stateMachineAliasArn"]
        self.assertEqual(alias_arn, sm + ":live")
        ex = self.sfn.start_execution(stateMachineArn=alias_arn)
        d = self.wait_done(ex["executionArn"])
        self.assertEqual(json.loads(d["output"]), "one")
        self.assertEqual(d["stateMachineAliasArn"], alias_arn)
        self.assertEqual(d["stateMachineVersionArn"], sm + ":1")
        self.sfn.update_state_machine_alias(stateMachineAliasArn=alias_arn, routingConfiguration=[
            {"stateMachineVersionArn": sm + ":1", "weight": 30}, {"stateMachineVersionArn": sm + ":2", "weight": 70}])
        described = self.sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
        self.assertEqual([r["weight"] for r in described["routingConfiguration"]], [30, 70])
        aliases = self.sfn.list_state_machine_aliases(stateMachineArn=sm)["stateMachineAliases"]
        self.assertEqual([a["stateMachineAliasArn"] for a in aliases], [alias_arn])
        with self.assertRaises(ClientError) as e:
            self.sfn.delete_state_machine_version(stateMachineVersionArn=sm + ":2")
        self.assertEqual(e.exception.response["Error"]["Code"], "ConflictException")
        self.sfn.delete_state_machine_alias(stateMachineAliasArn=alias_arn)
        self.sfn.delete_state_machine_version(stateMachineVersionArn=sm + ":2")
        d = self.wait_done(self.sfn.start_execution(stateMachineArn=sm + ":1")["executionArn"])
        self.assertEqual(json.loads(d["output"]), "one")
        self.sfn.delete_state_machine(stateMachineArn=sm)

    def test_activities(self):
        act = self.sfn.create_activity(name="review", tags=[{"key": "team", "value": "ops"}])["activityArn"]
        self.assertEqual(self.sfn.describe_activity(activityArn=act)["name"], "review")
        self.assertIn(act, [a["activityArn"] for a in self.sfn.list_activities()["activities"]])
        self.assertEqual(self.sfn.list_tags_for_resource(resourceArn=act)["tags"], [{"key": "team", "value": "ops"}])
        arn = self.create("reviewed", {"StartAt": "Review", "States": {"Review": {
            "Type": "Task", "Resource": act, "ResultPath": "$.verdict", "End": True}}})
        ex = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps({"doc": 1}))
        # No HeartbeatSeconds: this server runs virtual time (--wait-scale 0), where a timeout
        # would end the task at once.
        task = self.sfn.get_activity_task(activityArn=act, workerName="worker-1")
        self.assertEqual(json.loads(task["input"]), {"doc": 1})
        self.sfn.send_task_heartbeat(taskToken=task["taskToken"])
        self.sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps("approved"))
        d = self.wait_done(ex["executionArn"])
        self.assertEqual(json.loads(d["output"]), {"doc": 1, "verdict": "approved"})
        events = self.sfn.get_execution_history(executionArn=ex["executionArn"])["events"]
        started = [e for e in events if e["type"] == "ActivityStarted"]
        self.assertEqual(started[0]["activityStartedEventDetails"]["workerName"], "worker-1")
        self.sfn.delete_activity(activityArn=act)
        with self.assertRaises(ClientError) as e:
            self.sfn.describe_activity(activityArn=act)
        self.assertEqual(e.exception.response["Error"]["Code"], "ActivityDoesNotExist")

    def test_map_runs(self):
        queue = self.sqs.create_queue(QueueName="map-items")["QueueUrl"]
        arn = self.create("mapper", {"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "MaxConcurrency": 1, "End": True,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                              "StartAt": "Ask", "States": {"Ask": {
                                  "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                                  "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
                                  "End": True}}}}}})
        ex = self.sfn.start_execution(stateMachineArn=arn, input=json.dumps([1, 2, 3]))["executionArn"]

        def answer(n):
            got = []
            deadline = time.time() + 10
            while len(got) < n and time.time() < deadline:
                for m in self.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
                    got.append(json.loads(m["Body"])["token"])
                    self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            for t in got:
                self.sfn.send_task_success(taskToken=t, output="1")
            return len(got)

        runs = self.sfn.list_map_runs(executionArn=ex)["mapRuns"]
        self.assertEqual(len(runs), 1)
        run = runs[0]["mapRunArn"]
        d = self.sfn.describe_map_run(mapRunArn=run)
        self.assertEqual((d["status"], d["maxConcurrency"], d["itemCounts"]["total"]), ("RUNNING", 1, 3))
        self.assertEqual(answer(1), 1)
        self.sfn.update_map_run(mapRunArn=run, maxConcurrency=0)
        self.assertEqual(answer(2), 2)
        self.assertEqual(self.wait_done(ex)["status"], "SUCCEEDED")
        d = self.sfn.describe_map_run(mapRunArn=run)
        self.assertEqual((d["status"], d["itemCounts"]["succeeded"]), ("SUCCEEDED", 3))
        with self.assertRaises(ClientError) as e:
            self.sfn.update_map_run(mapRunArn=run, maxConcurrency=2)
        self.assertEqual(e.exception.response["Error"]["Code"], "ValidationException")
        # Each item ran as a child execution of the run, which boto3's paginator pages through.
        pages = self.sfn.get_paginator("list_executions").paginate(
            mapRunArn=run, PaginationConfig={"PageSize": 2})
        children = [c for p in pages for c in p["executions"]]
        self.assertEqual([c["status"] for c in children], ["SUCCEEDED"] * 3)
        self.assertTrue(all(c["mapRunArn"] == run and c["itemCount"] == 1 for c in children))
        self.assertTrue(all(c["stateMachineArn"] == arn + "/Each" for c in children))
        child = self.sfn.describe_execution(executionArn=children[1]["executionArn"])
        self.assertEqual((child["input"], child["output"], child["mapRunArn"]), ("2", "1", run))

    def test_tags_failures_and_the_definition_of_an_execution(self):
        arn = self.create("tagged", {"StartAt": "Ask", "States": {"Ask": {
            "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": self.sqs.create_queue(QueueName="fail-me")["QueueUrl"],
                           "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}}})
        self.sfn.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}])
        self.sfn.untag_resource(resourceArn=arn, tagKeys=["a"])
        self.assertEqual(self.sfn.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "b", "value": "2"}])
        ex = self.sfn.start_execution(stateMachineArn=arn)["executionArn"]
        d = self.sfn.describe_state_machine_for_execution(executionArn=ex)
        self.assertEqual(d["name"], "tagged")
        self.assertIn("waitForTaskToken", d["definition"])
        queue = self.sqs.get_queue_url(QueueName="fail-me")["QueueUrl"]
        msgs = []
        deadline = time.time() + 10
        while not msgs and time.time() < deadline:
            msgs = self.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        token = json.loads(msgs[0]["Body"])["token"]
        self.sfn.send_task_failure(taskToken=token, error="Rejected", cause="no budget")
        d = self.wait_done(ex)
        self.assertEqual((d["status"], d["error"], d["cause"]), ("FAILED", "Rejected", "no budget"))

    def test_stop_and_redrive(self):
        arn = self.create("stoppable", {"StartAt": "Long", "States": {
            "Long": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                     "Parameters": {"QueueUrl": self.sqs.create_queue(QueueName="never")["QueueUrl"],
                                    "MessageBody.$": "$$.Task.Token"}, "End": True}}})
        ex = self.sfn.start_execution(stateMachineArn=arn)
        time.sleep(0.3)
        stopped = self.sfn.stop_execution(executionArn=ex["executionArn"], error="Operator", cause="no longer needed")
        self.assertIn("stopDate", stopped)
        d = self.sfn.describe_execution(executionArn=ex["executionArn"])
        self.assertEqual((d["status"], d["error"], d["cause"]), ("ABORTED", "Operator", "no longer needed"))
        self.sfn.redrive_execution(executionArn=ex["executionArn"])
        d = self.sfn.describe_execution(executionArn=ex["executionArn"])
        self.assertEqual((d["status"], d["redriveCount"]), ("RUNNING", 1))
        self.sfn.stop_execution(executionArn=ex["executionArn"])
        listed = self.sfn.list_executions(stateMachineArn=arn, statusFilter="ABORTED")["executions"]
        self.assertEqual([e["executionArn"] for e in listed], [ex["executionArn"]])

    def test_sync_execution_and_listing(self):
        arn = self.create("quick", {"StartAt": "Add", "States": {"Add": {
            "Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"}, "End": True}}}, kind="EXPRESS")
        r = self.sfn.start_sync_execution(stateMachineArn=arn, input=json.dumps({"a": 2, "b": 3}))
        self.assertEqual((r["status"], json.loads(r["output"])), ("SUCCEEDED", {"sum": 5}))
        names = [m["name"] for m in self.sfn.list_state_machines()["stateMachines"]]
        self.assertIn("quick", names)

    def test_errors_are_aws_errors(self):
        with self.assertRaises(ClientError) as e:
            self.sfn.create_state_machine(name="bad", roleArn=ROLE, definition=json.dumps(
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}))
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidDefinition")
        self.assertIn("MISSING_TRANSITION_TARGET", e.exception.response["Error"]["Message"])
        with self.assertRaises(self.sfn.exceptions.ExecutionDoesNotExist):
            self.sfn.describe_execution(executionArn="arn:aws:states:us-east-1:123456789012:execution:x:y")
        with self.assertRaises(ClientError) as e:
            self.sfn.start_execution(stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:nope")
        self.assertEqual(e.exception.response["Error"]["Code"], "StateMachineDoesNotExist")
        v = self.sfn.validate_state_machine_definition(definition=json.dumps({"StartAt": "A", "States": {}}))
        self.assertEqual(v["result"], "FAIL")

    def test_test_state_runs_one_state(self):
        # A real call: sqs:sendMessage to a queue on the moto server, at the DEBUG level.
        url = self.sqs.create_queue(QueueName="test-state")["QueueUrl"]
        task = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": url, "MessageBody.$": "$.msg"},
                "ResultSelector": {"id.$": "$.MessageId"}, "ResultPath": "$.sent", "Next": "After"}
        r = self.sfn.test_state(definition=json.dumps(task), roleArn=ROLE, input=json.dumps({"msg": "hi"}),
                                inspectionLevel="DEBUG")
        self.assertEqual((r["status"], r["nextState"]), ("SUCCEEDED", "After"))
        self.assertEqual(json.loads(r["inspectionData"]["afterParameters"]), {"QueueUrl": url, "MessageBody": "hi"})
        self.assertIn("MessageId", json.loads(r["inspectionData"]["result"]))
        sent = json.loads(r["output"])["sent"]["id"]
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
        self.assertEqual((got["MessageId"], got["Body"]), (sent, "hi"))
        # A state of a whole machine, with a mocked error its catcher takes.
        machine = {"StartAt": "T", "States": {"T": dict(task, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Oops"}]),
                                               "After": {"Type": "Succeed"}, "Oops": {"Type": "Fail"}}}
        r = self.sfn.test_state(definition=json.dumps(machine), stateName="T", inspectionLevel="DEBUG", input='{"msg": "m"}',
                                mock={"errorOutput": {"error": "SQS.Boom", "cause": "no"}})
        self.assertEqual((r["status"], r["nextState"], r["error"]), ("CAUGHT_ERROR", "Oops", "SQS.Boom"))
        self.assertEqual(r["inspectionData"]["errorDetails"], {"catchIndex": 0})
        with self.assertRaises(ClientError) as e:
            self.sfn.test_state(definition=json.dumps({"Type": "Pass", "Next": 3}))
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidDefinition")
        # TestState's endpoint has the host prefix "sync-", which a local endpoint cannot take.
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
                   AWS_DISABLE_HOST_PREFIX_INJECTION="true")
        out = subprocess.run(["aws", "stepfunctions", "test-state", "--endpoint-url", self.url, "--output", "json",
                              "--definition", json.dumps({"Type": "Pass", "Result": {"x": 1}, "End": True})],
                             capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(json.loads(out.stdout)["output"]), {"x": 1})

    def test_the_aws_cli_works_too(self):
        self.create("from-cli", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
        out = subprocess.run(["aws", "stepfunctions", "list-state-machines", "--endpoint-url", self.url, "--output", "json"],
                             capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("from-cli", [m["name"] for m in json.loads(out.stdout)["stateMachines"]])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
