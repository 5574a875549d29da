#!/usr/bin/env python3
"""Whole-process comparison of `waymark run` with aws-local-stepfunctions, the fastest local
Step Functions emulator we know, on the same definitions and inputs.

Each workload runs in each engine `--runs` times (5 by default), alternating; the report gives
the median wall time (process start to exit, startup included) and the median peak RSS
(`ru_maxrss` of that one process, from wait4). Both engines must produce the expected output,
or the workload is reported as failed: a fast wrong answer is not a result (the script exits 1
when Waymark's answer is wrong).

This is a report, never a test: CI prints it (.ci/run) and nothing asserts on a time.

Usage: scripts/bench-compare.py [--waymark target/release/waymark] [--runs 5] [--out DIR]

The peer is pinned in tests/bench/package.json (its lockfile beside it); `npm ci` installs it
there when it is missing. Node.js 20 or later and npm are needed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER_DIR = os.path.join(REPO, "tests", "bench")
PEER_BIN = os.path.join(PEER_DIR, "node_modules", ".bin", "local-sfn")

# The loop turns as often as a Standard history allows: 2 states a turn, 2 events a state,
# 6,000 turns make 24,006 events of the 25,000 AWS allows.
TURNS = 6000
COUNTER = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Result": {"i": 0}, "Next": "Check"},
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.i", "NumericGreaterThanEquals": TURNS, "Next": "Done"}],
            "Default": "Inc",
        },
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"},
        "Done": {"Type": "Succeed"},
    },
}


def map_definition(distributed):
    processor = {
        "StartAt": "Label",
        "States": {
            "Label": {
                "Type": "Pass",
                "Parameters": {"label.$": "States.Format('item {} of {}', $.value, $.total)"},
                "OutputPath": "$.label",
                "End": True,
            }
        },
    }
    if distributed:
        processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 1000 if distributed else 0,
                "ItemSelector": {"value.$": "$$.Map.Item.Value", "total.$": "$.total"},
                "ItemProcessor": processor,
                "End": True,
            }
        },
    }


def map_input(n):
    return {"total": n, "items": list(range(1, n + 1))}


def map_output(n):
    return [f"item {i} of {n}" for i in range(1, n + 1)]


# (name, definition, input, expected output, what the peer's printed result must hold: Node
# prints the first 100 items of an array and counts the rest)
# An inline Map of 5,000 items leaves 20,005 events, within the Standard quota; 10,000 items
# need a distributed Map, whose children are executions of their own on AWS.
WORKLOADS = [
    (
        f"Pass/Choice counter loop, {TURNS:,} turns ({2 * TURNS + 2:,} states)",
        COUNTER,
        {},
        {"i": TURNS},
        [f"i: {TURNS}"],
    ),
    (
        "inline Map of 5,000 items × Pass with States.Format",
        map_definition(False),
        map_input(5000),
        map_output(5000),
        ["'item 100 of 5000'", "4900 more items"],
    ),
    (
        "distributed Map of 10,000 items × Pass with States.Format",
        map_definition(True),
        map_input(10000),
        map_output(10000),
        ["'item 100 of 10000'", "9900 more items"],
    ),
]


def run_measured(cmd, stdin_path):
    """Wall seconds, peak RSS in MB (this process alone: wait4 on its pid), exit code,
    stdout and stderr of one run."""
    with open(stdin_path, "rb") as stdin, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        took = time.perf_counter() - started
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in kilobytes on Linux.
        return took, usage.ru_maxrss / 1024, p.returncode, out.read().decode(), err.read().decode()


def ensure_peer():
    if os.path.exists(PEER_BIN):
        return
    print(f"installing the peer (npm ci in {os.path.relpath(PEER_DIR, REPO)})", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True
    )


def check_waymark(out, expected):
    try:
        result = json.loads(out)
    except ValueError:
        return f"not JSON: {out[:200]!r}"
    if result.get("status") != "SUCCEEDED":
        return f"{result.get('status')}: {result.get('error')} {result.get('cause')}"
    if result.get("output") != expected:
        return f"unexpected output: {json.dumps(result.get('output'))[:200]}"
    return None


def check_peer(code, out, err, markers):
    if code != 0:
        return f"exit {code}: {(err or out)[-300:]!r}"
    for marker in markers:
        if marker not in out:
            return f"the result lacks {marker!r}: {out[-300:]!r}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--waymark", default=os.path.join(REPO, "target", "release", "waymark"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(REPO, "target", "bench"))
    a = ap.parse_args()
    if not os.path.exists(a.waymark):
        sys.exit(f"bench-compare: {a.waymark} does not exist (cargo build --release -p waymark)")
    ensure_peer()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    os.makedirs(a.out, exist_ok=True)
    rows = []
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, definition, data, expected, marker) in enumerate(WORKLOADS):
            def_path = os.path.join(tmp, f"w{i}.asl.json")
            in_path = os.path.join(tmp, f"w{i}.input.json")
            with open(def_path, "w") as f:
                json.dump(definition, f)
            with open(in_path, "w") as f:
                json.dump(data, f)
            engines = {
                "waymark": ([a.waymark, "run", def_path, "--input", "@" + in_path, "--json"], os.devnull),
                "peer": ([PEER_BIN, "-f", def_path], in_path),
            }
            samples = {k: [] for k in engines}
            problem = {k: None for k in engines}
            for _ in range(a.runs):
                for key, (cmd, stdin_path) in engines.items():
                    took, rss, code, out, err = run_measured(cmd, stdin_path)
                    wrong = (
                        check_waymark(out, expected)
                        if key == "waymark"
                        else check_peer(code, out, err, marker)
                    )
                    if wrong:
                        problem[key] = wrong
                    samples[key].append((took, rss))
            row = {"workload": name}
            for key in engines:
                row[key] = {
                    "seconds": statistics.median(t for t, _ in samples[key]),
                    "peak_rss_mb": statistics.median(r for _, r in samples[key]),
                    "runs": [{"seconds": t, "peak_rss_mb": r} for t, r in samples[key]],
                    "error": problem[key],
                }
            # A wrong answer from Waymark fails the report; the peer's are reported only.
            if problem["waymark"]:
                failed = True
            row["ratio"] = row["peer"]["seconds"] / row["waymark"]["seconds"]
            rows.append(row)
            print(f"  {name}: waymark {row['waymark']['seconds'] * 1000:.0f} ms, "
                  f"peer {row['peer']['seconds'] * 1000:.0f} ms", flush=True)

    lines = [
        f"`waymark run` against aws-local-stepfunctions 3.0.0 (Node.js {node}), whole process,",
        f"medians of {a.runs} runs on {os.cpu_count()} CPUs. Peak RSS is the process's own.",
        "",
        "| workload | Waymark | peak RSS | aws-local-stepfunctions | peak RSS | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        w, p = r["waymark"], r["peer"]
        cell = lambda x: "FAILED" if x["error"] else f"{x['seconds'] * 1000:.0f} ms"
        lines.append(
            f"| {r['workload']} | {cell(w)} | {w['peak_rss_mb']:.0f} MB | {cell(p)} | "
            f"{p['peak_rss_mb']:.0f} MB | {r['ratio']:.1f}× |"
        )
    for r in rows:
        for key in ("waymark", "peer"):
            if r[key]["error"]:
                lines.append(f"\n{r['workload']}, {key}: {r[key]['error']}")
    report = "\n".join(lines)
    print()
    print(report)
    with open(os.path.join(a.out, "compare.md"), "w") as f:
        f.write(report + "\n")
    with open(os.path.join(a.out, "compare.json"), "w") as f:
        json.dump(rows, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
