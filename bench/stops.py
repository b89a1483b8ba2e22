"""How fast a cancel takes hold: from its answer to the credential refused and the processes gone.

Starts a real ``taskyard serve`` (SQLite, embedded Temporal dev server, in-process
worker) in a temporary directory, then N times: a task whose agent runs in the default
sandbox (bubblewrap), leaves its status-tool URL (which carries the turn's credential)
in the checkout, starts a background process and loops. Once it loops, the task is
cancelled, and from the moment ``POST …/cancel`` answers 202 the bench measures:

- credential refused: the gateway refuses ``report_status`` with the turn's credential
  (it reads the task's stop from the database on each call, as the model proxy does);
- processes gone: no process of the sandbox's tree is left (descendants of the server);
- task cancelled: the task reads ``cancelled``.

Usage: python bench/stops.py [-n 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from overhead import TOKEN, percentile, serving
from workspace import make_repo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from tests.support.process import descendants

TEMPLATE = """
name: loop
agent:
  kind: command
  command: |
    sleep 1000 &
    echo "$TASKYARD_MCP_URL" > mcp-url
    while true; do echo tick; sleep 0.05; done
"""
WORKFLOW = {"name": "loop", "stages": [{"key": "code", "agent": {}}, {"key": "done"}]}
REPORT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "report_status", "arguments": {"state": "working", "summary": "bench"}},
}


def refused(mcp: httpx.Client, url: str) -> bool:
    response = mcp.post(url, json=REPORT)
    return response.status_code != 200 or bool(response.json()["result"]["isError"])


def until(check: Callable[[], object], timeout: float = 30, every: float = 0.002) -> float:
    """Poll ``check`` until it holds; returns when the check that held began.

    (For the credential: when the first refused call was sent.)
    """
    deadline = time.time() + timeout
    while True:
        began = time.time()
        if check():
            return began
        if began > deadline:
            raise SystemExit("timed out")
        time.sleep(every)


def run_once(http: httpx.Client, repo: Path, data: Path, server_pid: int) -> dict[str, float]:
    baseline = descendants(server_pid)
    key = http.post(
        "/api/v1/tasks",
        json={"title": "Loop", "repository": str(repo), "template": "loop", "workflow": "loop"},
    ).json()["key"]
    marker = data / "checkouts" / "1" / key / "mcp-url"
    until(lambda: marker.exists() and marker.read_text().strip(), every=0.02)
    url = marker.read_text().strip()
    tree = descendants(server_pid) - baseline
    with httpx.Client(timeout=10) as mcp:
        assert not refused(mcp, url), "the live credential must work"
        times: dict[str, float] = {}

        def watch(name: str, check: Callable[[], object]) -> threading.Thread:
            thread = threading.Thread(target=lambda: times.update({name: until(check)}))
            thread.start()
            return thread

        assert http.post(f"/api/v1/tasks/{key}/cancel").status_code == 202
        answered = time.time()
        threads = [
            watch("credential refused", lambda: refused(mcp, url)),
            watch("processes gone", lambda: not tree & descendants(server_pid)),
            watch(
                "task cancelled",
                lambda: http.get(f"/api/v1/tasks/{key}").json()["status"] == "cancelled",
            ),
        ]
        for thread in threads:
            thread.join()
    return {name: at - answered for name, at in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="cancelled tasks (default 20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="taskyard-bench-") as tmp:
        root = Path(tmp)
        repo = root / "remote.git"
        make_repo(repo, 50)
        with serving(root / "data") as (proc, url):
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
            ) as http:
                http.post("/api/v1/templates", content=TEMPLATE).raise_for_status()
                http.post("/api/v1/workflows", json=WORKFLOW).raise_for_status()
                run_once(http, repo, root / "data", proc.pid)  # warm-up
                runs = [run_once(http, repo, root / "data", proc.pid) for _ in range(args.n)]
            print(
                f"taskyard stops, {args.n} cancels of a looping agent (bubblewrap), "
                f"{os.cpu_count()} cores; from the cancel's 202:"
            )
            for name in runs[0]:
                values = [r[name] for r in runs]
                print(
                    f"  {name:<20} p50 {percentile(values, 0.5) * 1000:7.0f} ms"
                    f"   p95 {percentile(values, 0.95) * 1000:7.0f} ms"
                    f"   max {max(values) * 1000:7.0f} ms"
                )


if __name__ == "__main__":
    main()
