"""How long ``taskyard tasks list`` takes from exec to exit, against a real server.

Starts a real ``taskyard serve`` with 50 tasks, then runs the installed ``taskyard``
entry point (what ``bin/taskyard`` execs) many times: with hyperfine when it is
installed (``apt-get install hyperfine``), otherwise timing the runs itself. Most of the
time is Python importing the client; the request itself is a few milliseconds.

Aim: under 250 ms (mean, on an otherwise idle machine; the CPU time it prints is the
figure to compare when the machine is busy).

Usage: python bench/cli_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from overhead import TOKEN, start_server

AIM_MS = 250


def _own_timing(argv: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    times, cpu = [], []
    for _ in range(runs):
        before = os.times()
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1000)
        after = os.times()
        cpu.append(
            (
                after.children_user
                + after.children_system
                - before.children_user
                - before.children_system
            )
            * 1000
        )
    return times, cpu


def _hyperfine(
    argv: list[str], env: dict[str, str], runs: int, out: Path
) -> tuple[list[float], list[float]]:
    command = " ".join(argv)
    subprocess.run(
        [
            "hyperfine",
            "-N",
            "--warmup",
            "3",
            "--runs",
            str(runs),
            "--export-json",
            str(out),
            command,
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    result = json.loads(out.read_text())["results"][0]
    cpu = [(result["user"] + result["system"]) * 1000]  # hyperfine reports the means
    return [t * 1000 for t in result["times"]], cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ty-bench-cli-") as root:
        proc, url, _ = start_server(Path(root) / "data")
        try:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
                for i in range(50):
                    body = {"title": f"Task {i}", "repository": "acme/shop", "run": False}
                    http.post("/api/v1/tasks", json=body).raise_for_status()
            env = {**os.environ, "TASKYARD_URL": url, "TASKYARD_TOKEN": TOKEN}
            env["XDG_CONFIG_HOME"] = str(Path(root) / "config")
            argv = [str(Path(sys.executable).with_name("taskyard")), "tasks", "list"]
            tool = "hyperfine" if shutil.which("hyperfine") else "own timing"
            if tool == "hyperfine":
                times, cpu = _hyperfine(argv, env, args.runs, Path(root) / "hyperfine.json")
            else:
                _own_timing(argv, env, 3)
                times, cpu = _own_timing(argv, env, args.runs)
        finally:
            proc.terminate()
            proc.wait(30)
    mean = statistics.mean(times)
    print(f"taskyard tasks list (50 tasks), {len(times)} runs, {tool}:")
    print(f"  mean {mean:.0f} ms, median {statistics.median(times):.0f} ms, ", end="")
    print(f"min {min(times):.0f} ms, max {max(times):.0f} ms")
    # CPU time barely moves when other work shares the machine; wall time does.
    print(f"  CPU (user+system) mean {statistics.mean(cpu):.0f} ms; load {os.getloadavg()[0]:.1f}")
    print(f"  aim: under {AIM_MS} ms: {'met' if mean < AIM_MS else 'MISSED'}")


if __name__ == "__main__":
    main()
