"""A real taskyard (API, Temporal, worker) that GitHub's stand-in sends webhooks to.

The organization's repositories are on the stand-in (``acme/shop``, a copy of
``remote_repo``); GitHub user 123 (``alice``) is linked to taskyard user ``alice`` and
may write to it; tasks run a scripted command agent that does nothing but answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from taskyard.config import Settings
from taskyard.db.models import WebhookDelivery
from taskyard.db.session import session_scope
from tests.conftest import ADMIN_TOKEN
from tests.forges.conftest import TOKEN, github
from tests.support.github.standin import GitHubStandIn
from tests.support.github.webhooks import Delivery
from tests.support.server import RunningServer, start_server

__all__ = ["github"]  # the stand-in, serving a copy of ``remote_repo`` as acme/shop

SECRET = "webhook-secret-for-tests"
REPO = "acme/shop"
ALICE = ("alice", 123)
SETTLED = ("waiting", "completed", "failed", "cancelled")
TEMPLATE = """
name: quiet
description: an agent that only answers
sandbox: none
agent:
  kind: command
  command: echo done
"""


@pytest.fixture
def hook_settings(settings: Settings, github: GitHubStandIn) -> Settings:
    return settings.model_copy(
        update={
            "github_webhook_secret": SECRET,
            "github_token": TOKEN,
            "github_api_url": github.url,
        }
    )


def outcome(settings: Settings, delivery_id: str, timeout: float = 30) -> str:
    """The delivery's outcome once the engine has handled it."""
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(settings.resolved_database_url, write=False) as session:
            row = session.scalar(
                select(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id)
            )
            if row is not None and row.handled_at is not None:
                return row.outcome
        assert time.monotonic() < deadline, f"delivery {delivery_id} not handled"
        time.sleep(0.05)


@dataclass
class Yard:
    """The server, the stand-in, and what tests do with them."""

    server: RunningServer
    github: GitHubStandIn

    @property
    def http(self) -> httpx.Client:
        return self.server.http

    def send(self, delivery: Delivery) -> httpx.Response:
        """POST the delivery as GitHub does: no API token."""
        return httpx.post(
            f"{self.server.url}/webhooks/github",
            content=delivery.body,
            headers=delivery.headers,
            timeout=30,
        )

    def trigger(self, **body: Any) -> dict[str, Any]:
        response = self.http.post(
            "/api/v1/github/triggers", json={"repository": REPO, "template": "quiet", **body}
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def outcome(self, delivery_id: str) -> str:
        return outcome(self.server.settings, delivery_id)

    def deliveries(self) -> list[WebhookDelivery]:
        url = self.server.settings.resolved_database_url
        with session_scope(url, write=False) as session:
            rows = list(session.scalars(select(WebhookDelivery)))
            session.expunge_all()
        return rows

    def settle(self, timeout: float = 60) -> None:
        """Wait until no task is between steps: a server stopped mid-step would leave
        the step's coroutine behind."""
        deadline = time.monotonic() + timeout
        while any(t["status"] not in SETTLED for t in self.tasks()):
            assert time.monotonic() < deadline, f"tasks still busy: {self.tasks()}"
            time.sleep(0.1)

    def tasks(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.http.get("/api/v1/tasks").json()["items"]
        return items


@pytest.fixture
def yard(hook_settings: Settings, github: GitHubStandIn) -> Iterator[Yard]:
    with start_server(hook_settings, ADMIN_TOKEN) as server:
        http = server.http
        forge = {"kind": "github", "url": github.url, "api_url": github.url}
        assert http.put("/api/v1/forges/default", json=forge).status_code == 200
        template = http.post(
            "/api/v1/templates", content=TEMPLATE, headers={"Content-Type": "application/yaml"}
        )
        assert template.status_code == 201, template.text
        login, github_id = ALICE
        assert http.post("/api/v1/users", json={"username": login}).status_code == 201
        identity = {"provider": "github", "external_id": str(github_id), "login": login}
        linked = http.post(f"/api/v1/users/{login}/identities", json=identity)
        assert linked.status_code == 201, linked.text
        github.records.users[github_id] = login
        github.records.permissions[(REPO, login)] = "write"
        yard = Yard(server, github)
        yield yard
        yard.settle()
