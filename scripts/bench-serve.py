#!/usr/bin/env python3
"""`waymark serve` against moto's server (Step Functions with execute_state_machine on), both
driven by boto3 the way a user's code drives Step Functions: StartExecution, then
DescribeExecution until the execution has ended.

Workloads (each run `--runs` times on the same server, the two servers taking turns; medians
reported):
- many five-state executions (Pass, Choice, Pass, Pass, Succeed), started and awaited by
  `--clients` client processes at once: wall time, executions per second, and the p50/p99 latency
  from sending StartExecution to the first DescribeExecution that sees the end;
- one inline Map of 1,000 items (Pass with States.Format), started and awaited.

A client checks every output; a wrong or failed execution fails the report (exit 1 when it
is Waymark's). Time is the client's: it includes boto3's own work (signing, parsing), the
same for both servers. Servers start before the clock and are not counted.

This is a report, never a test: CI prints it (.ci/run) and nothing asserts on a time.

The peer is moto's server, pinned below and installed in a venv of its own
(target/bench/moto-venv) when missing: 5.2.6, because 5.2.1 (the AWS tests' pin) fails every
StartExecution after the first one on a server with execute_state_machine on (it deep-copies a
state machine whose executions hold locks).

Usage: scripts/bench-serve.py [--waymark target/release/waymark] [--moto moto_server]
                              [--executions 200] [--clients 4] [--runs 5] [--out DIR]
"""

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from botocore.config import Config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOTO = "moto[server]==5.2.6"
ROLE = "arn:aws:iam::123456789012:role/bench"

FIVE_STATES = {
    "StartAt": "Receive",
    "States": {
        "Receive": {"Type": "Pass", "Parameters": {"order.$": "$.order", "qty.$": "$.qty"}, "Next": "Route"},
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.qty", "NumericGreaterThan": 10, "Next": "Bulk"}],
            "Default": "Single",
        },
        "Bulk": {"Type": "Pass", "Result": "bulk", "ResultPath": "$.kind", "Next": "Done"},
        "Single": {"Type": "Pass", "Result": "single", "ResultPath": "$.kind", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}

MAP_ITEMS = 1000
# Executions a client process takes from the pool at a time.
CHUNK = 12
MAP = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"value.$": "$$.Map.Item.Value", "total.$": "$.total"},
            "ItemProcessor": {
                "StartAt": "Label",
                "States": {
                    "Label": {
                        "Type": "Pass",
                        "Parameters": {"label.$": "States.Format('item {} of {}', $.value, $.total)"},
                        "OutputPath": "$.label",
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}


def ensure_moto(out):
    """moto_server of the pinned version, in a venv under `out` (set up once)."""
    venv = os.path.join(out, "moto-venv")
    server = os.path.join(venv, "bin", "moto_server")
    stamp = os.path.join(venv, ".requirement")
    if os.path.exists(server) and os.path.exists(stamp) and open(stamp).read() == MOTO:
        return server
    print(f"installing the peer ({MOTO} in {os.path.relpath(venv, REPO)})", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
    subprocess.run(
        [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", MOTO],
        check=True,
    )
    with open(stamp, "w") as f:
        f.write(MOTO)
    return server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what):
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"bench-serve: {what} exited with {proc.returncode} before it listened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench-serve: {what} did not listen on {port} within 30 s")


class Server:
    """One server process on a free loopback port."""

    def __init__(self, key, waymark, moto, tmp):
        self.key = key
        self.port = free_port()
        if key == "waymark":
            db = os.path.join(tmp, "waymark.db")
            cmd = [waymark, "serve", "--port", str(self.port), "--db", db]
        else:
            cmd = [moto, "-H", "127.0.0.1", "-p", str(self.port)]
        self.log = open(os.path.join(tmp, f"{key}.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        wait_listening(self.port, self.proc, key)
        self.url = f"http://127.0.0.1:{self.port}"
        if key == "moto":
            # moto runs state machines only when asked to (its StepFunctionBackend's docs).
            req = urllib.request.Request(
                self.url + "/moto-api/config",
                data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            urllib.request.urlopen(req, timeout=10).read()

    def client(self):
        return client_for(self.url)


    def cpu_seconds(self):
        """User and system CPU time the server process has used so far (Linux /proc)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def client_for(url):
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def await_end(sfn, arn, pause):
    """Polls until the execution has ended; the pause is taken only after a RUNNING answer."""
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(pause)


# One boto3 client per client process (set by the pool's initializer).
_client = None


def _init_client(url):
    global _client
    _client = client_for(url)
    _client.list_state_machines(maxResults=1)  # the connection, opened before the clock


def _one_execution(job):
    """Starts one five-state execution and awaits it: (index, seconds, problem or None)."""
    sm_arn, tag, i = job
    qty = i % 20
    t0 = time.perf_counter()
    arn = _client.start_execution(
        stateMachineArn=sm_arn, name=f"{tag}-{i}", input=json.dumps({"order": i, "qty": qty})
    )["executionArn"]
    d = await_end(_client, arn, 0.001)
    took = time.perf_counter() - t0
    want = {"order": i, "qty": qty, "kind": "bulk" if qty > 10 else "single"}
    if d["status"] != "SUCCEEDED" or json.loads(d.get("output", "null")) != want:
        return i, took, f"execution {i}: {d['status']} {d.get('output') or d.get('cause')}"
    return i, took, None


def five_states(pool, sm_arn, n, tag):
    """(wall seconds, latencies, first problem or None), the executions spread over the
    pool's client processes (processes, not threads: one Python process's boto3 work would
    be the bottleneck, not the server)."""
    # Handed out a dozen at a time: one execution per hand-out made the pool's own pickling and
    # pipe traffic (a fifth of the wall time against Waymark) part of the figure.
    started = time.perf_counter()
    done = pool.map(_one_execution, [(sm_arn, tag, i) for i in range(n)], chunksize=CHUNK)
    wall = time.perf_counter() - started
    problems = [p for _, _, p in done if p]
    return wall, [t for _, t, _ in done], (problems[0] if problems else None)


def one_map(server, sm_arn, tag):
    sfn = server.client()
    items = list(range(1, MAP_ITEMS + 1))
    t0 = time.perf_counter()
    arn = sfn.start_execution(
        stateMachineArn=sm_arn, name=tag, input=json.dumps({"total": MAP_ITEMS, "items": items})
    )["executionArn"]
    d = await_end(sfn, arn, 0.005)
    took = time.perf_counter() - t0
    want = [f"item {i} of {MAP_ITEMS}" for i in items]
    if d["status"] != "SUCCEEDED" or json.loads(d.get("output", "null")) != want:
        return took, f"{d['status']} {(d.get('output') or d.get('cause') or '')[:200]}"
    return took, None


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--waymark", default=os.path.join(REPO, "target", "release", "waymark"))
    ap.add_argument("--moto", default=None, help=f"moto_server (default: {MOTO} in target/bench/moto-venv)")
    ap.add_argument("--executions", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(REPO, "target", "bench"))
    a = ap.parse_args()
    if not os.path.exists(a.waymark):
        sys.exit(f"bench-serve: {a.waymark} does not exist (cargo build --release -p waymark)")
    os.makedirs(a.out, exist_ok=True)
    moto = a.moto or ensure_moto(a.out)

    results = {}
    failed = False
    keys = ("waymark", "moto")
    with tempfile.TemporaryDirectory() as tmp:
        servers, machines, pools = {}, {}, {}
        try:
            for key in keys:
                server = servers[key] = Server(key, a.waymark, moto, tmp)
                sfn = server.client()
                machines[key] = (
                    sfn.create_state_machine(
                        name="five-states", definition=json.dumps(FIVE_STATES), roleArn=ROLE
                    )["stateMachineArn"],
                    sfn.create_state_machine(name="map", definition=json.dumps(MAP), roleArn=ROLE)[
                        "stateMachineArn"
                    ],
                )
                pools[key] = multiprocessing.get_context("fork").Pool(
                    a.clients, initializer=_init_client, initargs=(server.url,)
                )
            runs = {k: {"five": [], "map": [], "cpu": [], "p_five": None, "p_map": None} for k in keys}
            # Runs alternate between the servers, so that a slower stretch of the machine
            # weighs on both rather than on whichever ran during it.
            for r in range(a.runs):
                for key in keys:
                    server, (five, each), got = servers[key], machines[key], runs[key]
                    before = server.cpu_seconds()
                    wall, lat, problem = five_states(pools[key], five, a.executions, f"r{r}")
                    got["cpu"].append(server.cpu_seconds() - before)
                    got["five"].append((wall, lat))
                    got["p_five"] = got["p_five"] or problem
                    took, problem = one_map(server, each, f"map-{r}")
                    got["map"].append(took)
                    got["p_map"] = got["p_map"] or problem
        finally:
            for pool in pools.values():
                pool.close()
                pool.join()
            for server in servers.values():
                server.stop()
        for key in keys:
            got = runs[key]
            wall = statistics.median(w for w, _ in got["five"])
            results[key] = {
                "five_states": {
                    "seconds": wall,
                    "executions_per_second": a.executions / wall,
                    "p50_ms": statistics.median(percentile(l, 50) * 1000 for _, l in got["five"]),
                    "p99_ms": statistics.median(percentile(l, 99) * 1000 for _, l in got["five"]),
                    "server_cpu_seconds": statistics.median(got["cpu"]),
                    "runs": [w for w, _ in got["five"]],
                    "error": got["p_five"],
                },
                "map": {"seconds": statistics.median(got["map"]), "runs": got["map"], "error": got["p_map"]},
            }
            if key == "waymark" and (got["p_five"] or got["p_map"]):
                failed = True
            print(f"  {key}: {a.executions} executions in {wall * 1000:.0f} ms, "
                  f"Map of {MAP_ITEMS} in {results[key]['map']['seconds'] * 1000:.0f} ms", flush=True)

    w, m = results["waymark"], results["moto"]
    cell = lambda x: "FAILED" if x["error"] else f"{x['seconds']:.2f} s"
    lines = [
        f"`waymark serve` against moto server (execute_state_machine on), both through boto3,",
        f"medians of {a.runs} runs on {os.cpu_count()} CPUs; {a.clients} client processes for the",
        "executions; latency is StartExecution sent to the first DescribeExecution that sees the end.",
        "",
        "| workload | Waymark | moto | ratio |",
        "|---|---|---|---|",
        f"| {a.executions} five-state executions started and awaited | {cell(w['five_states'])} "
        f"| {cell(m['five_states'])} | {m['five_states']['seconds'] / w['five_states']['seconds']:.1f}× |",
        f"| executions per second | {w['five_states']['executions_per_second']:.0f} "
        f"| {m['five_states']['executions_per_second']:.0f} | |",
        f"| server CPU time for them | {w['five_states']['server_cpu_seconds']:.2f} s "
        f"| {m['five_states']['server_cpu_seconds']:.2f} s | |",
        f"| latency p50 / p99 | {w['five_states']['p50_ms']:.1f} / {w['five_states']['p99_ms']:.1f} ms "
        f"| {m['five_states']['p50_ms']:.1f} / {m['five_states']['p99_ms']:.1f} ms | |",
        f"| one Map of {MAP_ITEMS:,} items started and awaited | {cell(w['map'])} | {cell(m['map'])} "
        f"| {m['map']['seconds'] / w['map']['seconds']:.1f}× |",
    ]
    for key, r in results.items():
        for what in ("five_states", "map"):
            if r[what]["error"]:
                lines.append(f"\n{key}, {what}: {r[what]['error']}")
    report = "\n".join(lines)
    print()
    print(report)
    with open(os.path.join(a.out, "serve.md"), "w") as f:
        f.write(report + "\n")
    with open(os.path.join(a.out, "serve.json"), "w") as f:
        json.dump(results, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
