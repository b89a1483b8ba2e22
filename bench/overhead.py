"""How much time taskyard adds around an agent.

Starts a real ``taskyard serve`` (SQLite, embedded Temporal dev server, in-process
worker) in a temporary directory, then runs N tasks on a repository of ``--files``
small files (its mirror and checkout pool warmed by a first task) whose agent does
nothing but print the time it started and ended, in a bubblewrap sandbox (or none,
``--sandbox none``), through a Code stage that delivers:

- submit → agent start: from ``POST /api/v1/tasks`` to the agent's first instruction,
  and where that time goes, hop by hop, from the task's events (see :func:`hops`);
  beside it, a plain ``git clone --shared`` of the same tree, for scale;
- overhead: the task's whole time (POST → completed) minus the agent's own time;
- throughput: N tasks submitted at once, tasks completed per second, and the CPU each
  task took, twice: submitted and then waited for, as an intake (a webhook, a schedule)
  submits work nobody watches, and with each task's events followed live by its
  submitter, as ``taskyard tasks events --follow`` does (N streams on the same cores).
  The CPU is the server's, that of the processes it ran (git, bubblewrap, the agents),
  Temporal's and the whole machine's (see ``cpu.py``): a burst on this machine is bound
  by its cores;
- ``GET /healthz`` on one kept-alive connection and on a fresh connection each time:
  the server's own answer time, and that a kept-alive request waits on nothing.

Usage: python bench/overhead.py [-n 50] [--burst N] [--bursts 3] [--files 5000]
       [--sandbox bubblewrap] [--dir /var/tmp] [--apart]

``--apart``: the API and the worker as two processes, ``taskyard serve --no-worker`` and
``taskyard worker`` on the same data directory and a Temporal dev server of their own
(started as the embedded server starts its own), where ``taskyard serve`` runs both in one
interpreter. The API then cannot start a workflow eagerly (it has no worker of its own).

``--bursts``: each kind of burst is run this many times, and its throughput's median and
spread printed: on a shared virtual machine the same burst of the same code ran at 5.8
to 9.1 tasks/s, its CPU per task varying with it, so one burst proves little.

``--dir``: where the data directory and the repository go (not under /tmp: a sandbox has
its own). File creation costs differ between file systems, and even between directories
of one (a checkout of 5,000 files took 0.15 s in one directory of this machine's ext4 and
3 s in another): the yardstick clone is made there too, so the two compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cpu
import httpx
from workspace import make_repo, timed

from taskyard.engine.devserver import DevServer

TOKEN = "ty_bench_token_0123456789abcdef"
BENCH_KEY = "bench-only-shared-key-0123456789abcdefghijkl"
FINAL = ("completed", "failed", "cancelled")
TEMPLATE = """
name: noop
sandbox: {sandbox}
agent:
  kind: command
  command: date +%s.%N; date +%s.%N
"""
WORKFLOW = {
    "name": "bench",
    "stages": [{"key": "code", "agent": {}, "deliver": True}, {"key": "done"}],
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.contextmanager
def serving(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A benchmark's ``taskyard serve`` and its URL; its log's tail is shown if the
    benchmark fails, and it is stopped either way."""
    proc, url, log = start_server(data_dir)
    with running(proc, "server", log):
        yield proc, url


@contextlib.contextmanager
def running(proc: subprocess.Popen[str], name: str, log: Path) -> Iterator[None]:
    """Stop ``proc`` at the end either way; show its log's tail if the benchmark fails."""
    try:
        yield
    except BaseException:
        print(f"{name} log (tail):\n" + "".join(log.read_text().splitlines(True)[-40:]))
        raise
    finally:
        proc.terminate()
        proc.wait(30)


def start_server(
    data_dir: Path, *flags: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str, Path]:
    """``taskyard serve`` on a free port; its output goes to a log file beside its data."""
    log = data_dir.parent / "serve.log"
    command = ["serve", "--port", "0", *flags]
    proc, ready = started(command, data_dir, log, "taskyard is running at ", env)
    return proc, ready.split()[-1], log


def started(
    command: list[str], data_dir: Path, log: Path, ready: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """``taskyard <command>`` for a benchmark, once it has printed a line starting with
    ``ready`` (returned); its output goes to ``log``."""
    # Nothing of the caller's own deployment: the benchmark's server has its own.
    outside = ("TASKYARD_TEMPORAL_ADDRESS", "TASKYARD_DATABASE_URL")
    env = {
        **{name: value for name, value in os.environ.items() if name not in outside},
        "TASKYARD_DATA_DIR": str(data_dir),
        "TASKYARD_ADMIN_TOKEN": TOKEN,
        # The benchmarks' repositories sit beside the data directory; their templates are
        # trusted `sandbox: none` ones where the sandbox is not what is measured.
        "TASKYARD_LOCAL_REPOSITORY_ROOTS": str(data_dir.parent),
        "TASKYARD_ALLOW_UNSANDBOXED": "true",
        **(env or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "taskyard", *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    with log.open() as reader:
        while proc.poll() is None:
            line = reader.readline()
            if line.startswith(ready):
                return proc, line
            if not line:
                time.sleep(0.02)  # the process has printed nothing new yet
    raise SystemExit(f"taskyard {command[0]} did not start:\n" + log.read_text())


@contextlib.contextmanager
def serving_apart(data_dir: Path) -> Iterator[tuple[list[int], str]]:
    """``taskyard serve --no-worker`` and one ``taskyard worker`` on the same data directory
    (the same SQLite file), with a Temporal dev server of their own started as the embedded
    server starts its own: the API and the worker each with an interpreter of its own.
    Yields their pids and the API's URL."""
    dev = DevServer(data_dir / "temporal.db")
    asyncio.run(dev.start())
    # Two processes sharing a Temporal server are a scale-out: they need one key.
    env = {"TASKYARD_TEMPORAL_ADDRESS": dev.address, "TASKYARD_SECRET_KEY": BENCH_KEY}
    try:
        api, url, log = start_server(data_dir, "--no-worker", env=env)
        with running(api, "server", log):
            worker_log = data_dir.parent / "worker.log"
            worker, _ = started(["worker"], data_dir, worker_log, "taskyard worker polling", env)
            with running(worker, "worker", worker_log):
                yield [api.pid, worker.pid], url
    finally:
        dev.stop()


class TaskFailed(SystemExit):
    """A benchmark's task ended other than completed: the status event says why."""


def client(url: str, connections: int = 1) -> httpx.Client:
    return httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=300,
        limits=httpx.Limits(max_connections=connections),
    )


def submit(http: httpx.Client, repo: Path, title: str, template: str) -> tuple[str, float, float]:
    """POST one task: its key, and when it was submitted and answered (epoch seconds)."""
    submitted = time.time()
    body = {"title": title, "repository": str(repo), "template": template, "workflow": "bench"}
    response = http.post("/api/v1/tasks", json=body)
    response.raise_for_status()
    return response.json()["key"], submitted, time.time()


def run_task(url: str, repo: Path, title: str, template: str = "noop") -> dict[str, float]:
    """Submit one task, follow its events live until it ends; return its timings."""
    with client(url) as http:
        key, submitted, posted = submit(http, repo, title, template)
        seen: list[dict[str, Any]] = []
        with http.stream(
            "GET", f"/api/v1/tasks/{key}/events", headers={"Accept": "text/event-stream"}
        ) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if seen[-1]["kind"] == "status" and seen[-1]["data"]["status"] in FINAL:
                        break
        return timings(http, key, seen, submitted, posted)


def timings(
    http: httpx.Client, key: str, seen: list[dict[str, Any]], submitted: float, posted: float
) -> dict[str, float]:
    """A completed task's timings, from its events (``TaskFailed`` if it did not complete)."""
    stamps: list[float] = []  # the agent's own clock: its start and its end
    statuses: list[tuple[str, float]] = []  # as the server recorded them, in order
    first_output = turn_started = 0.0
    for event in seen:
        if event["kind"] == "output":
            try:
                stamps.append(float(event["data"]["line"]))
            except ValueError:
                continue  # not the agent's clock (a sandbox's error): its status says
            first_output = first_output or epoch(event["created_at"])
        elif event["kind"] == "agent" and event["data"].get("state") == "working":
            turn_started = turn_started or epoch(event["created_at"])
        elif event["kind"] == "status":
            statuses.append((event["data"]["status"], epoch(event["created_at"])))
    if not statuses or statuses[-1][0] != "completed":
        raise TaskFailed(f"{key} {[e['data'] for e in seen if e['kind'] == 'status'][-1:]}")
    ended = epoch(http.get(f"/api/v1/tasks/{key}").json()["ended_at"])
    total = ended - submitted
    return {
        "to_start": stamps[0] - submitted,
        "total": total,
        "overhead": total - (stamps[1] - stamps[0]),
        "ended": ended,
        **hops(submitted, posted, statuses, turn_started, stamps[0], first_output),
    }


def burst(
    url: str,
    repo: Path,
    n: int,
    template: str = "noop",
    follow: bool = False,
    ended: Callable[[], None] = lambda: None,
) -> tuple[list[dict[str, float]], list[str], float]:
    """Submit ``n`` tasks at once: the timings of those that completed, why the others did
    not, and the seconds from the first submit until the last completed one ended.

    ``follow``: each task's submitter follows its events live, as ``run_task`` does.
    Otherwise the tasks are submitted, then waited for with one request at a time, as
    an intake (a webhook, a schedule) submits work and nobody watches it; their events
    are read once all have ended (``bench/events.py`` measures live followers).
    ``ended``: called as soon as all have ended, before their events are read back.
    """

    def one(i: int) -> dict[str, float] | str:
        try:
            return run_task(url, repo, f"burst {i}", template)
        except TaskFailed as failed:
            return str(failed)

    started = time.time()
    if follow:
        with ThreadPoolExecutor(max_workers=n) as pool:
            outcomes = list(pool.map(one, range(n)))
        ended()
    else:
        with client(url, connections=n) as http, ThreadPoolExecutor(max_workers=n) as pool:
            posts = list(pool.map(lambda i: submit(http, repo, f"burst {i}", template), range(n)))
            wait_ended(http, [key for key, _, _ in posts])
            ended()
            outcomes = [_read_back(http, *post) for post in posts]
    results = [o for o in outcomes if not isinstance(o, str)]
    failures = [o for o in outcomes if isinstance(o, str)]
    return results, failures, max((r["ended"] for r in results), default=started) - started


def wait_ended(http: httpx.Client, keys: list[str], every: float = 0.2) -> None:
    """Until every task has ended, asking about the oldest unended one at a time (the
    throughput is counted from the tasks' own end times, not from when this saw them)."""
    for key in keys:
        while http.get(f"/api/v1/tasks/{key}").json()["status"] not in FINAL:
            time.sleep(every)  # polling, as a client with no stream does


def _read_back(
    http: httpx.Client, key: str, submitted: float, posted: float
) -> dict[str, float] | str:
    seen = http.get(f"/api/v1/tasks/{key}/events", params={"limit": 5000}).json()["items"]
    try:
        return timings(http, key, seen, submitted, posted)
    except TaskFailed as failed:
        return str(failed)


def hops(
    submitted: float,
    posted: float,
    statuses: list[tuple[str, float]],
    turn_started: float,
    agent_start: float,
    first_output: float,
) -> dict[str, float]:
    """Where the time from ``POST`` to the agent's first output line goes, hop by hop.

    Each hop ends at a point the task's events (the server's clock) or the agent (its
    own clock) record: the workflow's first step records "working" (entering the
    stage), then "provisioning" before the workspace activity, then "working" again
    once the workspace is ready and the run recorded; the turn records the agent's
    state "working" as it spawns the sandbox; the agent prints the time it started.
    """
    names = [status for status, _ in statuses]
    provisioning = names.index("provisioning")
    points = (
        ("POST answered", posted),
        ("workflow started", statuses[names.index("working")][1]),
        ("status provisioning", statuses[provisioning][1]),
        ("workspace ready", statuses[names.index("working", provisioning)][1]),
        ("agent spawned", turn_started),
        ("agent's first line", agent_start),
        ("first output stored", first_output),
    )
    result, previous = {}, submitted
    for label, at in points:
        result[f"hop {label}"], previous = at - previous, at
    return result


def epoch(stamp: str) -> float:
    """Seconds since the epoch of one of the API's timestamps (UTC if it names no zone)."""
    moment = dt.datetime.fromisoformat(stamp)
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def print_figures(name: str, label: str, values: list[float], digits: int = 0) -> None:
    print(
        f"  {name:<11} {label:<22} p50 {percentile(values, 0.5) * 1000:7.{digits}f} ms"
        f"   p95 {percentile(values, 0.95) * 1000:7.{digits}f} ms"
    )


def report(name: str, results: list[dict[str, float]]) -> None:
    for field, label in (("to_start", "submit → agent start"), ("overhead", "overhead")):
        print_figures(name, label, [r[field] for r in results])


def report_hops(name: str, results: list[dict[str, float]]) -> None:
    for field in results[0]:
        if field.startswith("hop "):
            print_figures(name, "  " + field[4:], [r[field] for r in results], digits=1)


def healthz(url: str, n: int) -> None:
    """``GET /healthz`` n times on one kept-alive connection, then on a fresh one each time."""
    for name, limits in (
        ("kept-alive", httpx.Limits()),
        ("fresh", httpx.Limits(max_keepalive_connections=0)),
    ):
        with httpx.Client(base_url=url, limits=limits) as http:
            http.get("/healthz").raise_for_status()  # a kept-alive connection is now open
            times = []
            for _ in range(n):
                started = time.perf_counter()
                http.get("/healthz").raise_for_status()
                times.append(time.perf_counter() - started)
        print_figures(name, "GET /healthz", times, digits=1)


def plain_clones(repo: Path, root: Path, n: int) -> None:
    """A plain ``git clone --shared`` of the same tree, n times: the yardstick."""
    times = [
        timed("git", "clone", "-q", "--shared", str(repo), str(root / f"c{i}")) for i in range(n)
    ]
    print_figures("plain", "git clone --shared", times, digits=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="tasks per phase (default 50)")
    parser.add_argument("--burst", type=int, help="tasks submitted at once (default: -n)")
    parser.add_argument("--files", type=int, default=5000, help="files in the repository")
    parser.add_argument("--sandbox", default="bubblewrap", help="the agent's sandbox provider")
    parser.add_argument("--dir", default="/var/tmp", help="where its files go (not under /tmp)")
    parser.add_argument(
        "--bursts", type=int, default=3, help="bursts of each kind, for their spread (default 3)"
    )
    parser.add_argument(
        "--apart",
        action="store_true",
        help="the API and the worker as two processes (serve --no-worker, worker)",
    )
    args = parser.parse_args()
    # Not under /tmp: a sandbox has its own, and would not see the data directory there.
    with tempfile.TemporaryDirectory(prefix="taskyard-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        repo = root / "remote.git"
        make_repo(repo, args.files)
        with served(root / "data", args.apart) as (server, url):
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
                template = TEMPLATE.format(sandbox=args.sandbox)
                http.post("/api/v1/templates", content=template).raise_for_status()
                http.post("/api/v1/workflows", json=WORKFLOW).raise_for_status()
            run_task(url, repo, "warm-up")
            print(
                f"taskyard overhead, {args.n} tasks, no-op agent in {args.sandbox}, "
                f"{args.files:,} files, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
                + (", the API and the worker apart" if args.apart else "")
            )
            healthz(url, 4 * args.n)
            sequential = [run_task(url, repo, f"seq {i}") for i in range(args.n)]
            report("one by one", sequential)
            report_hops("one by one", sequential)
            plain_clones(repo, root / "plain", args.n)
            n = args.n if args.burst is None else args.burst
            for label, follow in (("all at once", False), ("followed", True)):
                if n > 0:
                    rates = [
                        burst_phase(server, url, repo, n, label, follow, detail=i == 0)
                        for i in range(args.bursts)
                    ]
                    print(
                        f"  {label:<11} throughput over {len(rates)} bursts: median "
                        f"{statistics.median(rates):.1f} tasks/s, {min(rates):.1f} to "
                        f"{max(rates):.1f}"
                    )


@contextlib.contextmanager
def served(data_dir: Path, apart: bool) -> Iterator[tuple[list[int], str]]:
    """The server's processes and its URL: one ``taskyard serve``, or (``apart``) the API
    and a worker (:func:`serving_apart`)."""
    if apart:
        with serving_apart(data_dir) as (pids, url):
            yield pids, url
        return
    with serving(data_dir) as (proc, url):
        yield [proc.pid], url


def burst_phase(
    server: Sequence[int],
    url: str,
    repo: Path,
    n: int,
    label: str,
    follow: bool,
    detail: bool = True,
) -> float:
    """A burst of ``n`` tasks: throughput and the CPU each took (``server``: the server's
    processes), and with ``detail`` their timings hop by hop; returns the throughput, tasks/s."""
    before = cpu.times(server)
    spent: list[cpu.Times] = []
    results, failures, elapsed = burst(
        url, repo, n, follow=follow, ended=lambda: spent.append(cpu.times(server) - before)
    )
    if failures:
        raise SystemExit("\n".join(failures))
    if detail:
        report(label, results)
        report_hops(label, results)
    print(f"  {label:<11} throughput {n / elapsed:.1f} tasks/s ({n} tasks in {elapsed:.2f} s)")
    cpu.report(label, spent[0], n, elapsed)
    return n / elapsed


if __name__ == "__main__":
    main()
