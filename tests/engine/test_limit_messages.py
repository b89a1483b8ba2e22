"""A task stopped by its sandbox's limits says which limit, not an exit code."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import RunningServer

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")


def _run(
    server: RunningServer, remote_repo: Path, name: str, limits: str, command: str
) -> dict[str, Any]:
    template = (
        f"name: {name}\nsandbox: bubblewrap\nnetwork: {{policy: none}}\nlimits: {limits}\n"
        f"agent:\n  kind: command\n  command: {command!r}\n"
    )
    response = server.http.post(
        "/api/v1/templates", content=template, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text
    workflow = {"name": f"{name}-flow", "stages": [{"key": "code", "agent": {}}]}
    assert server.http.post("/api/v1/workflows", json=workflow).status_code == 201
    key = server.create_task(
        title=name, repository=str(remote_repo), template=name, workflow=f"{name}-flow"
    )["key"]
    return server.wait_for(key, "failed", "completed", timeout=90)


def test_memory_limit_is_named(server: RunningServer, remote_repo: Path) -> None:
    task = _run(
        server,
        remote_repo,
        "hog",
        "{memory_mb: 64}",
        "python3 -c 'b = bytearray(300 << 20); print(len(b))'",
    )
    assert task["status"] == "failed"
    assert task["status_message"] == "Code: Stopped: killed: memory limit 64 MB reached"
