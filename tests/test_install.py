"""``make run`` from a fresh shell: the install path and the CLI with a minimal PATH.

A fresh root shell has no ``~/.local/bin`` on ``PATH``, where the install step puts uv;
every script must find what the install step put in place by itself. This runs
``make run``'s own steps with ``PATH=/usr/sbin:/usr/bin:/sbin:/bin`` and ``HOME`` set,
gets the server healthy and ``bin/taskyard`` answering. It reuses the uv and agent CLIs
already installed (they are found, not reinstalled), as a second ``make run`` would.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from taskyard.agents import toolcache

ROOT = Path(__file__).resolve().parent.parent
MINIMAL_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
TOKEN = "ty_install_test_token_0123456789"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"HOME": str(Path.home()), "PATH": MINIMAL_PATH, "LANG": "C.UTF-8"}
    env["TASKYARD_CONFIG"] = str(tmp_path / "config.json")
    return {**env, **extra}


def test_uv_is_found_without_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UV", raising=False)
    monkeypatch.setenv("PATH", MINIMAL_PATH)
    found = toolcache.find_uv()
    assert Path(found).name == "uv" and os.access(found, os.X_OK)


@pytest.mark.slow
def test_make_run_from_a_fresh_shell(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path,
        TASKYARD_DATA_DIR=str(tmp_path / "data"),
        TASKYARD_PORT="0",
        TASKYARD_ADMIN_TOKEN=TOKEN,
        TASKYARD_SECRET_KEY="install-test-secret",
    )
    # Its own session, so the test can stop make and everything make started.
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        assert make.stdout is not None
        url = ""
        for line in make.stdout:
            seen.append(line)
            if line.startswith("taskyard is running at "):
                url = line.split()[-1]
                break
        assert url, "make run did not start the server:\n" + "".join(seen[-40:])
        assert any("bin/taskyard quickstart" in line for line in seen)
        assert httpx.get(f"{url}/healthz", timeout=30).json()["status"] == "ok"

        cli = subprocess.run(
            [str(ROOT / "bin" / "taskyard"), "--url", url, "--token", TOKEN, "teams", "list", "-q"],
            env=clean_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (cli.returncode, cli.stdout) == (0, "TY\n"), cli.stderr
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        try:
            make.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        if make.stdout is not None:
            make.stdout.close()


def test_ci_runs_with_the_path_a_fresh_shell_has() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "PATH=" not in ci
