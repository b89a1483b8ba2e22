"""A real taskyard (API, Temporal, worker) that other products send deliveries to.

Tasks run a command agent that saves each prompt it is given, by task and stage,
where the test can read it: what the agent saw, not what the task's record says.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer, start_server

from taskyard.config import Settings

PAYLOADS = Path(__file__).parent / "payloads"
SENTRY_SECRET = "sentry-client-secret-for-tests-0123456789"
SETTLED = ("waiting", "completed", "failed", "cancelled")


def sentry_payload(name: str) -> dict[str, Any]:
    """One of Sentry's published example payloads (docs: integration-platform/webhooks)."""
    payload: dict[str, Any] = json.loads((PAYLOADS / f"sentry_{name}.json").read_text())
    return copy.deepcopy(payload)


def sentry_headers(body: bytes, resource: str, secret: str = SENTRY_SECRET) -> dict[str, str]:
    """The headers Sentry sends: its resource, a request id, and the body's signature."""
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "Request-ID": str(uuid.uuid4()),
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": str(int(time.time())),
        "Sentry-Hook-Signature": signature,
    }


@dataclass
class Yard:
    server: RunningServer
    repository: str
    prompts: Path

    @property
    def http(self) -> httpx.Client:
        return self.server.http

    def source(self, kind: str, **body: Any) -> dict[str, Any]:
        fields = {"name": f"{kind} source", "repository": self.repository, "template": "saver"}
        response = self.http.post("/api/v1/intake/sources", json={"kind": kind, **fields, **body})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def post(self, source: dict[str, Any], body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST as the other product does: no API token."""
        return httpx.post(
            f"{self.server.url}{source['url']}", content=body, headers=headers, timeout=30
        )

    def sentry(
        self, source: dict[str, Any], payload: dict[str, Any], resource: str = "event_alert"
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        return self.post(source, body, sentry_headers(body, resource))

    def tasks(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.http.get("/api/v1/tasks").json()["items"]
        return items

    def prompt(self, key: str, stage: str = "plan", timeout: float = 60) -> str:
        """The first prompt the agent of ``key`` was given in ``stage``."""
        path = self.prompts / f"{key}-{stage}.txt"
        deadline = time.monotonic() + timeout
        while not path.exists() or not path.read_text().endswith("\n--end--\n"):
            assert time.monotonic() < deadline, f"{key} got no {stage} prompt"
            time.sleep(0.05)
        return path.read_text().removesuffix("\n--end--\n")

    def settle(self, timeout: float = 60) -> None:
        """Wait until no task is between steps, so the server stops between them."""
        deadline = time.monotonic() + timeout
        while any(t["status"] not in SETTLED for t in self.tasks()):
            assert time.monotonic() < deadline, f"tasks still busy: {self.tasks()}"
            time.sleep(0.1)


@pytest.fixture
def yard(settings: Settings, remote_repo: Path, tmp_path: Path) -> Iterator[Yard]:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    # The agent saves its prompt (with an end mark, so a half-written file is not read).
    command = (
        f'{{ cat; printf "\\n--end--\\n"; }} > "{prompts}/$TASKYARD_TASK-$TASKYARD_STAGE.tmp" '
        f'&& mv "{prompts}/$TASKYARD_TASK-$TASKYARD_STAGE.tmp" '
        f'"{prompts}/$TASKYARD_TASK-$TASKYARD_STAGE.txt"; echo saved'
    )
    template = (
        "name: saver\ndescription: saves its prompt\nsandbox: none\n"
        f"agent:\n  kind: command\n  command: {json.dumps(command)}\n"
    )
    with start_server(settings, ADMIN_TOKEN) as server:
        made = server.http.post(
            "/api/v1/templates", content=template, headers={"Content-Type": "application/yaml"}
        )
        assert made.status_code == 201, made.text
        yard = Yard(server, str(remote_repo), prompts)
        yield yard
        yard.settle()
