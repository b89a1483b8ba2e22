"""Fixtures for notification tests: the API in-process (no engine) and helpers that
drive the sending loop to the end of what is owed."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.engine.notifications import NotificationLoop
from taskyard.notify.webhook import new_secret
from taskyard.services import tasks
from taskyard.services.notifications import EVENTS
from tests.api.conftest import api, api_settings

__all__ = ["api", "api_settings"]


def add_webhook(api: httpx.Client, name: str, url: str) -> tuple[int, str]:
    """A webhook channel of the caller's; its id and secret."""
    secret = new_secret()
    body = {"kind": "webhook", "name": name, "config": {"url": url, "secret": secret}}
    response = api.post("/api/v1/notifications/channels", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"]), secret


def want_everything(api: httpx.Client) -> None:
    body = {"preferences": [{"event": e, "enabled": True} for e in EVENTS]}
    response = api.put("/api/v1/notifications/preferences", json=body)
    assert response.status_code == 200, response.text


def new_task(api: httpx.Client, title: str = "Fix login") -> dict[str, Any]:
    body = {"title": title, "repository": "acme/shop", "run": False}
    response = api.post("/api/v1/tasks", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def change_status(settings: Settings, task_id: int, status: str, message: str = "") -> None:
    with session_scope(settings.resolved_database_url) as session:
        task = session.get(Task, task_id)
        assert task is not None
        tasks.set_status(session, task, status, message)


def send_all(settings: Settings) -> int:
    """Run the loop's passes until one finds nothing due; how many it sent (or tried)."""

    async def run() -> int:
        loop, claimed = NotificationLoop(settings), 0
        while found := await loop.run_once():
            await loop.drain()
            claimed += found
        return claimed

    return asyncio.run(run())
