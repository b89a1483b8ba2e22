"""A task's reviewers hear of it as its creator does, each by their own preferences: with
the quiet defaults, what needs them and what failed, once each, and only from when they
were asked."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from taskyard.config import Settings
from taskyard.forges.base import RemotePullRequest
from taskyard.model.status import TaskStatus
from taskyard.services import deliveries
from tests.api.conftest import token_with
from tests.notify.conftest import add_webhook, change_status, send_all, want_everything
from tests.notify.receiver import Receiver, receiver

TASKS = "/api/v1/tasks"


@pytest.fixture
def bob(api: httpx.Client) -> Iterator[httpx.Client]:
    """A second person of the organization, with a client of their own."""
    assert api.post("/api/v1/users", json={"username": "bob"}).status_code == 201
    token = token_with(api, "tasks:read", "tasks:write", user="bob")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=str(api.base_url), headers=headers, timeout=10) as client:
        yield client


def _task(api: httpx.Client, reviewers: list[str]) -> dict[str, Any]:
    body = {"title": "Fix login", "repository": "acme/shop", "run": False, "reviewers": reviewers}
    response = api.post(TASKS, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _heard(hook: Receiver) -> Counter[str]:
    """What reached ``hook``, by event, once the loop has sent everything owed."""
    return Counter(json.loads(r.body)["type"] for r in hook.received)


def _pull_request_ready(settings: Settings, task_id: int) -> None:
    draft = deliveries.Draft(0, "acme/shop", RemotePullRequest(7, "https://x/pull/7"))
    deliveries.record_ready(settings, task_id, draft)


def test_a_reviewer_with_the_quiet_defaults_hears_what_needs_them_once(
    api: httpx.Client, api_settings: Settings, bob: httpx.Client
) -> None:
    with receiver() as creators, receiver() as reviewers:
        add_webhook(api, "mine", creators.url)
        want_everything(api)  # the creator hears of everything; bob keeps the defaults
        add_webhook(bob, "mine", reviewers.url)
        task = _task(api, ["bob"])
        change_status(api_settings, task["id"], TaskStatus.WORKING)
        change_status(api_settings, task["id"], TaskStatus.WAITING, "code: waiting for approval")
        _pull_request_ready(api_settings, task["id"])
        change_status(api_settings, task["id"], TaskStatus.FAILED, "tests fail")
        send_all(api_settings)
        assert _heard(reviewers) == Counter(["task.waiting", "task.pr_ready", "task.failed"])
        assert _heard(creators) == Counter(
            ["task.created", "task.waiting", "task.pr_ready", "task.failed"]
        )
        (failed,) = (json.loads(r.body) for r in reviewers.received if b"task.failed" in r.body)
        assert failed["data"]["task"]["key"] == task["key"]


def test_a_creator_who_is_also_a_reviewer_hears_once(
    api: httpx.Client, api_settings: Settings
) -> None:
    with receiver() as hook:
        add_webhook(api, "mine", hook.url)
        task = _task(api, ["admin"])
        assert task["reviewers"] == ["admin"]
        change_status(api_settings, task["id"], TaskStatus.FAILED, "tests fail")
        send_all(api_settings)
        assert _heard(hook) == Counter(["task.failed"])


def test_a_reviewer_added_later_hears_only_what_happens_after(
    api: httpx.Client, api_settings: Settings, bob: httpx.Client
) -> None:
    with receiver() as hook:
        add_webhook(bob, "mine", hook.url)
        task = _task(api, [])
        change_status(api_settings, task["id"], TaskStatus.WAITING, "code: waiting for approval")
        send_all(api_settings)
        assert hook.received == []
        added = api.put(f"{TASKS}/{task['key']}/reviewers", json={"reviewers": ["bob"]})
        assert added.status_code == 200, added.text
        change_status(api_settings, task["id"], TaskStatus.FAILED, "tests fail")
        send_all(api_settings)
        assert _heard(hook) == Counter(["task.failed"])
        # Taken off again: nothing more reaches them.
        removed = api.put(f"{TASKS}/{task['key']}/reviewers", json={"reviewers": []})
        assert removed.status_code == 200
        _pull_request_ready(api_settings, task["id"])
        send_all(api_settings)
        assert _heard(hook) == Counter(["task.failed"])
