"""How taskyard scales out: 1, 2 and 4 workers against one PostgreSQL and one Temporal server.

Starts the scale-out topology of the tests (``tests/support/topology.py``: PostgreSQL, a
standalone Temporal dev server, ``taskyard serve --no-worker``, workers each with a data
directory of its own), then, for each number of workers, submits a burst of N tasks whose
agents (in the bubblewrap sandbox) print the time they start and end, and between the two

- sleep (I/O-bound: the agent waits, the worker's pipeline is the work), or
- spin (CPU-bound: the agent keeps a core busy for the same time).

It prints, per row, the throughput (tasks completed per second, from the first submit to the
last end), the scaling ratio against 1 worker for the same agent, and p50/p95 of created →
first instruction (from ``POST /api/v1/tasks`` to the agent's first line's own timestamp,
as ``bench/overhead.py`` measures it).

The machine taskyard is developed on has 2 cores, shared with other work: 4 workers there
share the same 2 cores as 1 worker does, so CPU-bound agents cannot scale past 2x and
processes compete with the agents for CPU. Run it a few times and read the medians.

Usage: python bench/scaleout.py [-n 8] [--workers 1,2,4] [--hold 1.0]
(it runs itself under ``scripts/with-postgres`` unless TASKYARD_TEST_POSTGRES_URL names a
PostgreSQL server).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from overhead import TOKEN, WORKFLOW, burst, percentile
from workspace import make_repo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository, for tests/
from tests.conftest import fresh_database  # noqa: E402
from tests.support.topology import Topology, postgres_base_url, topology  # noqa: E402

AGENTS = {
    "sleep": "sleep {hold}",
    "spin": "timeout {hold} sh -c 'while :; do :; done' || true",
}


def template(kind: str, hold: float) -> str:
    work = AGENTS[kind].format(hold=hold)
    return f"name: {kind}\nagent:\n  kind: command\n  command: date +%s.%N; {work}; date +%s.%N\n"


def run_workers(yard: Topology, count: int) -> None:
    """Leave exactly ``count`` workers running (their data directories stay warm)."""
    for worker in yard.workers:
        worker.stop()
    yard.workers.clear()
    yard.add_workers(count)


def measure(yard: Topology, repo: Path, kind: str, n: int, base: dict[str, float]) -> str:
    """A burst of ``n`` tasks: completed tasks/s, its ratio to ``base`` (the first count's,
    per agent), how many failed, p50 and p95 of created → first instruction; the failures'
    reasons on lines of their own."""
    results, failures, elapsed = burst(yard.api.url, repo, n, kind)
    rate = len(results) / elapsed
    base.setdefault(kind, rate)
    starts = [r["to_start"] for r in results] or [float("nan")]
    ratio = rate / base[kind] if base[kind] else float("nan")
    row = (
        f"{kind:<6} {rate:>8.2f} {ratio:>5.2f}x {len(failures):>6}"
        f" {percentile(starts, 0.5) * 1000:>6.0f}ms {percentile(starts, 0.95) * 1000:>6.0f}ms"
    )
    return "\n".join([row, *(f"      failed: {reason}" for reason in failures)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=8, help="tasks per burst (default 8)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts (default 1,2,4)")
    parser.add_argument("--hold", type=float, default=1.0, help="agent's seconds (default 1)")
    args = parser.parse_args()
    if args.hold <= 0:  # `timeout 0` never times out: the spinning agents would not stop
        parser.error("--hold must be more than 0 seconds")
    if not postgres_base_url():
        script = str(ROOT / "scripts" / "with-postgres")
        os.execv(script, [script, sys.executable, *sys.argv])
    counts = [int(c) for c in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="taskyard-bench-") as tmp:
        root = Path(tmp)
        repo = root / "remote.git"
        make_repo(repo, 50)
        with (
            fresh_database(root) as database,
            topology(root / "yard", database, TOKEN, workers=0) as yard,
            yard.client() as http,
        ):
            for kind in AGENTS:
                http.post("/api/v1/templates", content=template(kind, args.hold)).raise_for_status()
            http.post("/api/v1/workflows", json=WORKFLOW).raise_for_status()
            print(
                f"taskyard scale-out, bursts of {args.n} tasks, agents hold {args.hold} s, "
                f"{os.cpu_count()} cores"
            )
            print(
                f"  {'workers':>7} {'agent':<6} {'tasks/s':>8} {'vs 1':>6} {'failed':>6}"
                f" {'p50':>8} {'p95':>8}"
            )
            base: dict[str, float] = {}
            for count in counts:
                run_workers(yard, count)
                burst(yard.api.url, repo, count, "sleep")  # warm: every worker's mirror
                for kind in AGENTS:
                    print(f"  {count:>7} {measure(yard, repo, kind, args.n, base)}", flush=True)


if __name__ == "__main__":
    main()
