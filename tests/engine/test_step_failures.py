"""A step that fails without saying why: its task says so on the first try, a bug ends the
task after a few tries with the error as its message, and a failure that passes (the
database away for a moment) is retried to the end, told once."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy.exc

from taskyard.config import Settings
from taskyard.engine.step_failures import MAX_ATTEMPTS
from taskyard.engine.turns import TurnRunner
from taskyard.engine.types import TurnInput, TurnResult
from taskyard.model.errors import Unavailable
from taskyard.model.redaction import MASK
from tests.conftest import ADMIN_TOKEN
from tests.engine.test_signals import ONE_STAGE, push
from tests.support.history import attempts, history_of
from tests.support.server import RunningServer, start_server

TOKEN = "ghp_" + "A1b2" * 6  # a GitHub token's shape: never shown
PASSWORD = "rosebud-hunter-42"  # an organization's secret, of no known shape: never shown


def _task(server: RunningServer, repository: Path) -> str:
    assert server.http.post("/api/v1/workflows", json=ONE_STAGE).status_code == 201
    stored = server.http.put("/api/v1/secrets/DB_PASSWORD", json={"value": PASSWORD})
    assert stored.status_code == 200, stored.text
    template = push(server, "echo", "echo did it")
    body = {"title": "t", "repository": str(repository), "template": template, "workflow": "one"}
    return str(server.create_task(**body)["key"])


def _errors(server: RunningServer, key: str) -> list[dict[str, Any]]:
    return [e["data"] for e in server.events(key) if e["kind"] == "error"]


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            KeyError(f"stage at https://x:{TOKEN}@example.com"),
            "KeyError: 'stage at https://x:{}@example.com'",
        ),
        (
            FileNotFoundError(2, "No such file", f"/srv/{TOKEN}"),
            "FileNotFoundError: [Errno 2] No such file: '/srv/{}'",
        ),
        (RuntimeError(f"login as app:{PASSWORD} refused"), "RuntimeError: login as app:{} refused"),
    ],
    ids=["bug", "missing-file", "secret"],
)
def test_a_bug_in_a_step_fails_the_task_after_a_few_tries_saying_what(
    settings: Settings,
    remote_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    said: str,
) -> None:
    async def broken(self: TurnRunner, inp: TurnInput, beat: Callable[[], None]) -> TurnResult:
        await asyncio.to_thread(self.store.facts, inp.task_id)  # as a turn does, secrets too
        raise error

    monkeypatch.setattr(TurnRunner, "run", broken)
    with start_server(settings, ADMIN_TOKEN) as server:
        key = _task(server, remote_repo)
        task = server.wait_for(key, "failed", timeout=60)
        said = said.format(MASK)
        assert (
            task["status_message"] == f"The step run_first_turn failed {MAX_ATTEMPTS} times: {said}"
        )
        errors = _errors(server, key)
        assert [(e["step"], e["attempt"], e["retrying"]) for e in errors] == [
            ("run_first_turn", 1, True),
            ("run_first_turn", MAX_ATTEMPTS, False),
        ]
        assert errors[0]["message"] == (
            f"The step run_first_turn failed (attempt 1) and taskyard will try again: {said}"
        )
        told = str([server.events(key), server.task(key)])
        assert TOKEN not in told and PASSWORD not in told
    tried = asyncio.run(attempts(settings, key))
    assert [(a.activity, a.attempt) for a in tried] == [("run_first_turn", MAX_ATTEMPTS)]
    # Temporal keeps the failure too (its UI shows it): the masked text, never the error.
    history = asyncio.run(history_of(settings, key)).to_json()
    assert said in history and TOKEN not in history and PASSWORD not in history


@pytest.mark.parametrize(
    "away",
    [
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked")),
        Unavailable("GitHub answered 502 to PATCH /repos/acme/shop/pulls/7"),
        httpx.ConnectError("[Errno 111] Connection refused"),
    ],
    ids=["database", "forge", "http"],
)
def test_a_failure_that_passes_is_told_once_and_the_task_goes_on(
    settings: Settings, remote_repo: Path, monkeypatch: pytest.MonkeyPatch, away: Exception
) -> None:
    real = TurnRunner.run
    calls = itertools.count(1)
    failures = MAX_ATTEMPTS  # as many as end a bug: this kind is never cut short

    async def flaky(self: TurnRunner, inp: TurnInput, beat: Callable[[], None]) -> TurnResult:
        if next(calls) <= failures:
            raise away
        return await real(self, inp, beat)

    monkeypatch.setattr(TurnRunner, "run", flaky)
    with start_server(settings, ADMIN_TOKEN) as server:
        key = _task(server, remote_repo)
        server.wait_for(key, "completed", timeout=90)
        (told,) = _errors(server, key)
        assert (told["step"], told["attempt"], told["retrying"]) == ("run_first_turn", 1, True)
        assert f"{type(away).__name__}: {away}" in told["message"]
        assert any("did it" in str(e["data"]) for e in server.events(key) if e["kind"] == "output")
    tried = asyncio.run(attempts(settings, key))
    assert ("run_first_turn", failures + 1) in [(a.activity, a.attempt) for a in tried]
