"""How fast an agent's output reaches a person watching the task live.

Starts a real ``taskyard serve`` (SQLite, embedded Temporal, in-process worker) and runs
tasks whose ``command`` agent prints numbered lines, each carrying the time it was
printed (``"<seq> <epoch>"``). A client follows the task's ``text/event-stream`` from
before the agent starts and records when each ``output`` event arrives:

- burst: the agent prints N lines as fast as it can; events/s from the first line
  printed to the last line stored, and received, and each line's latency;
- unwatched: the same with nobody following the output (what ingestion alone costs);
- viewers: the same with several clients following it at once;
- steady: the agent prints R lines a second for S seconds; latency p50/p95.

Each latency is split at the event's ``created_at`` (when the worker's event sink wrote
its batch): agent → database, and database → client.

Aim: at least 5,000 events/s, and p95 latency under 200 ms.

Usage: python bench/events.py [-n 20000] [--rate 1000] [--seconds 5] [--viewers 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from overhead import TOKEN, percentile, serving
from workspace import make_repo

WORKFLOW = {"name": "stream", "stages": [{"key": "code", "agent": {}}, {"key": "done"}]}
BURST = """\
import sys, time
out = sys.stdout
for i in range({n}):
    out.write(f"{{i}} {{time.time()}}\\n")
    out.flush()
"""
STEADY = """\
import sys, time
out, start = sys.stdout, time.time()
for i in range({n}):
    delay = start + i / {rate} - time.time()
    if delay > 0:
        time.sleep(delay)
    out.write(f"{{i}} {{time.time()}}\\n")
    out.flush()
"""


@dataclass
class Received:
    """What the client saw of one task's output: per line, when printed/stored/received."""

    printed: list[float] = field(default_factory=list)
    stored: list[float] = field(default_factory=list)
    received: list[float] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    status: str = ""


def template(name: str, script: str) -> str:
    """A ``command`` template running ``script`` with python3, outside any sandbox."""
    body = "".join(f"    {line}\n" for line in script.splitlines())
    return (
        f"name: {name}\nsandbox: none\nagent:\n  kind: command\n  command: |\n"
        f"    python3 -c '\n{body}    '\n"
    )


def timestamp(iso: str) -> float:
    value = dt.datetime.fromisoformat(iso)
    if value.tzinfo is None:  # SQLite hands datetimes back without their zone; they are UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def follow(
    http: httpx.Client, key: str, connected: threading.Event, into: Received, *kinds: str
) -> None:
    """Follow ``key``'s live events (of ``kinds``, or all) until it ends, recording each
    output line's times."""
    with http.stream(
        "GET",
        f"/api/v1/tasks/{key}/events",
        params={"kind": list(kinds)},
        headers={"Accept": "text/event-stream"},
    ) as stream:
        kind = ""
        for line in stream.iter_lines():
            now = time.time()
            if line.startswith("event: "):
                kind = line[7:]
                continue
            if not line.startswith("data: "):
                continue
            connected.set()  # the replay of the task's first events has arrived
            if kind == "end":
                return
            event = json.loads(line[6:])
            if kind == "output":
                seq, printed = event["data"]["line"].split()
                into.seqs.append(int(seq))
                into.printed.append(float(printed))
                into.stored.append(timestamp(event["created_at"]))
                into.received.append(now)
            elif kind == "status" and event["data"]["status"] in ("completed", "failed"):
                into.status = event["data"]["status"]


def stored_output(http: httpx.Client, key: str, into: Received) -> None:
    """Fill ``into`` from the stored events: for a run that had no live viewer."""
    after = 0
    while True:
        page = http.get(
            f"/api/v1/tasks/{key}/events", params={"after": after, "kind": "output", "limit": 5000}
        ).json()
        for event in page["items"]:
            seq, printed = event["data"]["line"].split()
            into.seqs.append(int(seq))
            into.printed.append(float(printed))
            into.stored.append(timestamp(event["created_at"]))
        if not page["items"]:
            return
        after = page["next_after"]


def run(http: httpx.Client, repo: Path, name: str, lines: int, viewers: int = 1) -> Received:
    """Create a task on template ``name``, follow it with ``viewers`` live clients, start
    it; what the first one saw. With no viewers, only status events are followed, and
    the output is read from the database afterwards (no arrival times then)."""
    body = {"title": name, "repository": str(repo), "template": name, "workflow": "stream"}
    key = http.post("/api/v1/tasks", json={**body, "run": False}).raise_for_status().json()["key"]
    watchers = [(Received(), threading.Event()) for _ in range(max(viewers, 1))]
    kinds = () if viewers else ("status",)
    threads = [
        threading.Thread(target=follow, args=(http, key, connected, into, *kinds))
        for into, connected in watchers
    ]
    for thread in threads:
        thread.start()
    if not all(connected.wait(30) for _, connected in watchers):
        raise SystemExit("the event stream did not connect")
    http.post(f"/api/v1/tasks/{key}/start").raise_for_status()
    for thread in threads:
        thread.join()
    received = watchers[0][0]
    if not viewers:
        stored_output(http, key, received)
    if received.status != "completed" or received.seqs != list(range(lines)):
        raise SystemExit(f"{key} {received.status}: {len(received.seqs)} of {lines} lines")
    return received


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:6.0f} ms"


def latencies(label: str, got: Received) -> None:
    """Latency percentiles: printed → received, and its two halves around the database."""
    rows = [("printed → stored", [s - p for p, s in zip(got.printed, got.stored, strict=True)])]
    if got.received:
        rows = [
            ("printed → received", [r - p for p, r in zip(got.printed, got.received, strict=True)]),
            ("  printed → stored", rows[0][1]),
            ("  stored → received", [r - s for s, r in zip(got.stored, got.received, strict=True)]),
        ]
    for name, values in rows:
        print(
            f"  {label:<9} {name:<20} p50 {ms(values, 0.5)}   p95 {ms(values, 0.95)}"
            f"   max {ms(values, 1.0)}"
        )


def burst(label: str, got: Received) -> None:
    """Events/s of a burst: into the database, and out to the client if there was one."""
    n, first = len(got.seqs), got.printed[0]
    printing = got.printed[-1] - first
    print(f"  {label:<9} {n} lines printed in {printing:.2f} s")
    print(f"  {label:<9} into the database     {n / (max(got.stored) - first):8,.0f} events/s")
    if got.received:
        print(f"  {label:<9} out to the client     {n / (got.received[-1] - first):8,.0f} events/s")
    latencies(label, got)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20000, help="lines in a burst (20000)")
    parser.add_argument("--rate", type=int, default=1000, help="steady lines/s (1000)")
    parser.add_argument("--seconds", type=float, default=5, help="steady duration (5)")
    parser.add_argument("--viewers", type=int, default=5, help="clients in the crowd run (5)")
    args = parser.parse_args()
    steady_lines = int(args.rate * args.seconds)
    with tempfile.TemporaryDirectory(prefix="taskyard-bench-") as tmp:
        root = Path(tmp)
        repo = root / "remote.git"
        make_repo(repo, 50)
        with serving(root / "data") as (proc, url):
            print(f"server pid {proc.pid} (py-spy record -p {proc.pid})", flush=True)
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=300
            ) as http:
                http.post("/api/v1/workflows", json=WORKFLOW).raise_for_status()
                for name, script in (
                    ("warm-up", BURST.format(n=100)),
                    ("burst", BURST.format(n=args.n)),
                    ("steady", STEADY.format(n=steady_lines, rate=args.rate)),
                ):
                    push = http.post("/api/v1/templates", content=template(name, script))
                    push.raise_for_status()
                run(http, repo, "warm-up", 100)
                print(f"taskyard live events, {os.cpu_count()} cores, SQLite")
                burst("burst", run(http, repo, "burst", args.n))
                burst("unwatched", run(http, repo, "burst", args.n, viewers=0))
                burst(f"{args.viewers} viewers", run(http, repo, "burst", args.n, args.viewers))
                print(f"  steady    {args.rate} lines/s for {args.seconds:g} s")
                latencies("steady", run(http, repo, "steady", steady_lines))


if __name__ == "__main__":
    main()
