#!/usr/bin/env python3
"""Runs a folder of real state machine definitions end to end, and says how far each got.

Usage: scripts/corpus.py DEFS_DIR [--inputs DIR] [--waymark target/debug/waymark] [--json OUT]

For each `*.json` definition in DEFS_DIR (placeholders already filled as a deployment would):
`waymark validate`, then `waymark run` with
- `--aws-endpoint` a moto_server this script starts (S3, DynamoDB, SQS, SNS, EventBridge, ...),
  so every AWS SDK and optimised integration calls a real AWS-compatible API;
- `--lambda-endpoint` a small Lambda Invoke endpoint of its own that answers each function with
  the payload it was sent (moto cannot run functions without Docker): the workflow's data
  flows on through its Lambda steps;
- `--wait-scale 0` (Wait states and back-off take no wall-clock time), and the input found in
  `--inputs` under the definition's name (`NAME.json`), or `{}`.

Each definition lands in one bucket:
- `invalid`: `validate` refused it (Waymark's fault or the definition's: the message says);
- `succeeded`: the execution ran to SUCCEEDED;
- `failed-service`: it ran and failed on an error a service (moto, the echo Lambda) raised,
  e.g. a bucket the definition expects to exist, or reached an API Gateway endpoint on AWS,
  which a run against moto does not call (the environment, not Waymark);
- `failed-workflow`: it failed by the workflow's own logic (a Fail state, a Choice with no
  match, a path into data the echo Lambda did not produce);
- `failed-waymark`: Waymark could not run a part of it (`States.Runtime` naming something
  Waymark lacks, an integration it does not run);
- `waiting`: it waits for a task token or an activity (nothing answers them here);
- `timeout`: still running after the time limit.

"Runs end to end" in the report means `succeeded` + `failed-service` + `failed-workflow` +
`waiting`: Waymark ran every state it reached as AWS would, and what stopped it was outside
Waymark. The definitions are not part of this repository.
"""

import argparse
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

LIMIT_SECONDS = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EchoLambda(http.server.BaseHTTPRequestHandler):
    """POST /2015-03-31/functions/NAME/invocations answers the payload it got."""

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Amz-Executed-Version", "$LATEST")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:
            pass  # the run ended (a timeout, a stop) before reading the answer

    def log_message(self, *args):
        pass


def start_moto():
    exe = shutil.which("moto_server")
    if not exe:
        sys.exit("moto_server not found: scripts/test sets it up in target/test-venv/bin")
    port = free_port()
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("moto_server did not start")


WAYMARK_SIGNS = ("Waymark does not", "not supported", "no task integration is configured",
                 "Waymark reads", "does not read", "not built")


def bucket(run_out):
    status = run_out.get("status")
    if status == "SUCCEEDED":
        return "succeeded"
    if status in ("RUNNING",) or run_out.get("waitingFor"):
        return "waiting"
    error = run_out.get("error") or ""
    cause = run_out.get("cause") or ""
    if any(s in cause for s in WAYMARK_SIGNS) or error == "States.Runtime" and "Waymark" in cause:
        return "failed-waymark"
    if "." in error and not error.startswith("States."):
        return "failed-service"
    # An API Gateway on AWS, which a run against a local endpoint does not call.
    if "is an AWS host" in cause:
        return "failed-service"
    # A reader or writer that failed on what S3 answered (a missing bucket or key).
    if error in ("States.ItemReaderFailed", "States.ResultWriterFailed") and "S3." in cause:
        return "failed-service"
    if error.startswith("Lambda.") or error.endswith("Exception"):
        return "failed-service"
    return "failed-workflow"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("defs")
    ap.add_argument("--inputs")
    ap.add_argument("--waymark", default="target/debug/waymark")
    ap.add_argument("--json", help="write every definition's outcome here")
    args = ap.parse_args()
    waymark = os.path.abspath(args.waymark)
    defs = sorted(Path(args.defs).glob("*.json"))
    if not defs:
        sys.exit(f"no definitions in {args.defs}")
    moto, moto_url = start_moto()
    lam = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoLambda)
    threading.Thread(target=lam.serve_forever, daemon=True).start()
    lam_url = f"http://127.0.0.1:{lam.server_address[1]}"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION="us-east-1", NO_COLOR="1")
    results = []
    try:
        for d in defs:
            stem = d.name[:-len(".asl.json")] if d.name.endswith(".asl.json") else d.stem
            entry = {"file": d.name}
            v = subprocess.run([waymark, "validate", str(d), "--json"], capture_output=True,
                               text=True, env=env)
            if v.returncode != 0:
                try:
                    diags = json.loads(v.stdout).get("diagnostics", [])
                except json.JSONDecodeError:
                    diags = [{"message": v.stdout + v.stderr}]
                entry.update(bucket="invalid", detail=[
                    f"{x.get('code')} {x.get('path')}: {x.get('message')}" for x in diags
                    if x.get("severity", "ERROR") == "ERROR"][:3])
                results.append(entry)
                continue
            input_text = "{}"
            if args.inputs:
                p = Path(args.inputs) / f"{stem}.json"
                if p.exists():
                    input_text = p.read_text()
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    r = subprocess.run(
                        [waymark, "run", str(d.resolve()), "--json", "--wait-scale", "0",
                         "--aws-endpoint", moto_url, "--lambda-endpoint", lam_url,
                         "--input", input_text],
                        capture_output=True, text=True, env=env, cwd=tmp, timeout=LIMIT_SECONDS)
                except subprocess.TimeoutExpired:
                    entry.update(bucket="timeout")
                    results.append(entry)
                    continue
            try:
                out = json.loads(r.stdout.strip().splitlines()[-1])
            except (json.JSONDecodeError, IndexError):
                entry.update(bucket="failed-waymark", detail=[(r.stdout + r.stderr)[-300:]])
                results.append(entry)
                continue
            entry.update(bucket=bucket(out), status=out.get("status"),
                         error=out.get("error"), cause=(out.get("cause") or "")[:300])
            results.append(entry)
    finally:
        moto.kill()
        lam.shutdown()
    counts = Counter(r["bucket"] for r in results)
    total = len(results)
    end_to_end = sum(counts[b] for b in ("succeeded", "failed-service", "failed-workflow",
                                         "waiting"))
    print(f"{total} definitions")
    for b in ("succeeded", "failed-service", "failed-workflow", "waiting", "failed-waymark",
              "invalid", "timeout"):
        print(f"  {b:16} {counts[b]}")
    print(f"ran end to end (Waymark ran every state it reached): {end_to_end} of {total}")
    for r in results:
        if r["bucket"] in ("failed-waymark", "invalid", "timeout"):
            print(f"- {r['file']}: {r['bucket']}: {r.get('error') or ''} "
                  f"{r.get('cause') or '; '.join(r.get('detail', []))}"[:400])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
