// The Step Functions API of `waymark serve` through the AWS SDK for JavaScript v3
// (@aws-sdk/client-sfn): a second SDK's request and response serialisation, beside the boto3
// and AWS CLI tests. Starts its own server on a free port with an in-memory database.
//
// Usage: node test.mjs PATH/TO/waymark
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import assert from "node:assert/strict";
import {
  SFNClient,
  CreateStateMachineCommand,
  DescribeStateMachineCommand,
  UpdateStateMachineCommand,
  ListStateMachinesCommand,
  ValidateStateMachineDefinitionCommand,
  StartExecutionCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StopExecutionCommand,
  DescribeStateMachineForExecutionCommand,
  PublishStateMachineVersionCommand,
  ListStateMachineVersionsCommand,
  CreateStateMachineAliasCommand,
  DescribeStateMachineAliasCommand,
  ListStateMachineAliasesCommand,
  CreateActivityCommand,
  DescribeActivityCommand,
  ListActivitiesCommand,
  GetActivityTaskCommand,
  SendTaskSuccessCommand,
  DeleteActivityCommand,
  TagResourceCommand,
  ListTagsForResourceCommand,
  TestStateCommand,
  DeleteStateMachineCommand,
} from "@aws-sdk/client-sfn";

const waymark = process.argv[2] ?? "target/debug/waymark";
const ROLE = "arn:aws:iam::123456789012:role/any";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function waitForServer(url, server) {
  for (let i = 0; i < 200; i++) {
    if (server.exitCode !== null) throw new Error(`waymark serve exited with ${server.exitCode}`);
    try {
      await fetch(url, { method: "POST" });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("waymark serve did not listen");
}

async function waitDone(sfn, executionArn) {
  for (let i = 0; i < 200; i++) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== "RUNNING") return d;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${executionArn} did not end`);
}

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const server = spawn(waymark, ["serve", "--port", String(port), "--db", ":memory:", "--wait-scale", "0"], {
  stdio: ["ignore", "ignore", "ignore"],
});
let failed = false;
try {
  await waitForServer(url, server);
  const sfn = new SFNClient({
    endpoint: url,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
    // TestState and StartSyncExecution carry a `sync-` host prefix, meant for AWS's hosts.
    disableHostPrefix: true,
  });
  const ran = [];
  const check = async (name, fn) => {
    await fn();
    ran.push(name);
  };

  const definition = (result) =>
    JSON.stringify({
      StartAt: "Greet",
      States: {
        Greet: { Type: "Pass", Parameters: { "greeting.$": "States.Format('Hello, {}!', $.name)", result }, Next: "Wait" },
        Wait: { Type: "Wait", Seconds: 5, End: true },
      },
    });
  let sm;
  await check("state machines", async () => {
    const v = await sfn.send(new ValidateStateMachineDefinitionCommand({ definition: definition("one") }));
    assert.equal(v.result, "OK");
    const created = await sfn.send(
      new CreateStateMachineCommand({
        name: "js-hello", definition: definition("one"), roleArn: ROLE, publish: true,
        tags: [{ key: "sdk", value: "js" }],
      }),
    );
    sm = created.stateMachineArn;
    assert.equal(created.stateMachineVersionArn, `${sm}:1`);
    assert.ok(created.creationDate instanceof Date, "timestamps arrive as dates");
    const d = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: sm }));
    assert.equal(d.name, "js-hello");
    assert.equal(d.type, "STANDARD");
    const list = await sfn.send(new ListStateMachinesCommand({}));
    assert.ok(list.stateMachines.some((m) => m.stateMachineArn === sm));
    const tags = await sfn.send(new ListTagsForResourceCommand({ resourceArn: sm }));
    assert.deepEqual(tags.tags, [{ key: "sdk", value: "js" }]);
    await sfn.send(new TagResourceCommand({ resourceArn: sm, tags: [{ key: "more", value: "x" }] }));
  });

  await check("executions and history", async () => {
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: sm, name: "first", input: JSON.stringify({ name: "Ada" }) }),
    );
    const d = await waitDone(sfn, started.executionArn);
    assert.equal(d.status, "SUCCEEDED");
    assert.deepEqual(JSON.parse(d.output), { greeting: "Hello, Ada!", result: "one" });
    assert.ok(d.startDate instanceof Date && d.stopDate instanceof Date);
    const h = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn }));
    assert.deepEqual(
      h.events.map((e) => e.type),
      ["ExecutionStarted", "PassStateEntered", "PassStateExited", "WaitStateEntered", "WaitStateExited", "ExecutionSucceeded"],
    );
    assert.equal(typeof h.events[0].id, "number");
    const l = await sfn.send(new ListExecutionsCommand({ stateMachineArn: sm, statusFilter: "SUCCEEDED" }));
    assert.equal(l.executions[0].name, "first");
    const f = await sfn.send(new DescribeStateMachineForExecutionCommand({ executionArn: started.executionArn }));
    assert.equal(f.name, "js-hello");
    // AWS's error names arrive as the SDK's exception classes.
    await assert.rejects(
      sfn.send(new StopExecutionCommand({ executionArn: `${started.executionArn}-nope` })),
      (e) => e.name === "ExecutionDoesNotExist",
    );
  });

  await check("versions and aliases", async () => {
    await sfn.send(new UpdateStateMachineCommand({ stateMachineArn: sm, definition: definition("two") }));
    const v2 = await sfn.send(new PublishStateMachineVersionCommand({ stateMachineArn: sm, description: "second" }));
    assert.equal(v2.stateMachineVersionArn, `${sm}:2`);
    const versions = await sfn.send(new ListStateMachineVersionsCommand({ stateMachineArn: sm }));
    assert.deepEqual(versions.stateMachineVersions.map((v) => v.stateMachineVersionArn), [`${sm}:2`, `${sm}:1`]);
    const alias = await sfn.send(
      new CreateStateMachineAliasCommand({
        name: "live",
        routingConfiguration: [{ stateMachineVersionArn: `${sm}:1`, weight: 100 }],
      }),
    );
    const a = await sfn.send(new DescribeStateMachineAliasCommand({ stateMachineAliasArn: alias.stateMachineAliasArn }));
    assert.equal(a.routingConfiguration[0].weight, 100);
    const aliases = await sfn.send(new ListStateMachineAliasesCommand({ stateMachineArn: sm }));
    assert.equal(aliases.stateMachineAliases.length, 1);
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: alias.stateMachineAliasArn, input: JSON.stringify({ name: "Bo" }) }),
    );
    const d = await waitDone(sfn, started.executionArn);
    assert.equal(JSON.parse(d.output).result, "one");
    assert.equal(d.stateMachineVersionArn, `${sm}:1`);
    assert.equal(d.stateMachineAliasArn, alias.stateMachineAliasArn);
  });

  await check("activities", async () => {
    const act = (await sfn.send(new CreateActivityCommand({ name: "js-review" }))).activityArn;
    assert.equal((await sfn.send(new DescribeActivityCommand({ activityArn: act }))).name, "js-review");
    assert.ok((await sfn.send(new ListActivitiesCommand({}))).activities.some((x) => x.activityArn === act));
    const worker = await sfn.send(
      new CreateStateMachineCommand({
        name: "js-worker", roleArn: ROLE,
        definition: JSON.stringify({ StartAt: "Review", States: { Review: { Type: "Task", Resource: act, End: true } } }),
      }),
    );
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: worker.stateMachineArn, input: JSON.stringify({ doc: 3 }) }),
    );
    const task = await sfn.send(new GetActivityTaskCommand({ activityArn: act, workerName: "js" }));
    assert.deepEqual(JSON.parse(task.input), { doc: 3 });
    await sfn.send(new SendTaskSuccessCommand({ taskToken: task.taskToken, output: JSON.stringify({ ok: true }) }));
    const d = await waitDone(sfn, started.executionArn);
    assert.deepEqual(JSON.parse(d.output), { ok: true });
    await sfn.send(new DeleteActivityCommand({ activityArn: act }));
  });

  await check("TestState", async () => {
    const r = await sfn.send(
      new TestStateCommand({
        definition: JSON.stringify({ Type: "Pass", Parameters: { "sum.$": "States.MathAdd($.a, $.b)" }, End: true }),
        roleArn: ROLE,
        input: JSON.stringify({ a: 2, b: 3 }),
        inspectionLevel: "DEBUG",
      }),
    );
    assert.equal(r.status, "SUCCEEDED");
    assert.deepEqual(JSON.parse(r.output), { sum: 5 });
    assert.ok(r.inspectionData.afterParameters);
  });

  await sfn.send(new DeleteStateMachineCommand({ stateMachineArn: sm }));
  console.log(`js sdk: ${ran.length} groups passed: ${ran.join(", ")}`);
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  server.kill();
}
process.exit(failed ? 1 : 0);
