"""The checkout pool's refills wait while a task of the process is on its way to its
agent (the claim's refill would otherwise take the interpreter and a core by turns with
the task that claimed), and never longer than ``pool_gate.MAX_WAIT``."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from tests.workspaces.test_repos import make_settings

from taskyard.config import Settings
from taskyard.workspaces import pool, pool_gate


def test_quiet_once_no_task_is_on_its_way() -> None:
    assert pool_gate.wait_for_quiet(0)
    with pool_gate.on_the_way():
        with pool_gate.on_the_way():
            assert not pool_gate.wait_for_quiet(0.01)
        assert not pool_gate.wait_for_quiet(0.01)  # one is still on its way
    assert pool_gate.wait_for_quiet(0)


def refills_started(monkeypatch: pytest.MonkeyPatch) -> tuple[list[float], threading.Event]:
    """Stand in for a refill's work: when each refill started, and an event set by one."""
    started: list[float] = []
    one = threading.Event()

    async def refill(*_: object) -> None:
        started.append(time.monotonic())
        one.set()

    monkeypatch.setattr(pool, "refill", refill)
    return started, one


def schedule(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path, pool_size=2)
    pool.schedule_refill(tmp_path / "mirror.git", "main", settings)
    return settings


def test_a_refill_waits_until_the_task_that_claimed_has_started_its_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_gate, "MAX_WAIT", 60.0)  # only the task's start lets it go
    started, one = refills_started(monkeypatch)
    with pool_gate.on_the_way():
        schedule(tmp_path)
        assert not one.wait(0.3)
        released = time.monotonic()
    assert one.wait(10)
    pool.wait_refills(10)
    assert started[0] >= released


def test_a_refill_waits_no_longer_than_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_gate, "MAX_WAIT", 0.2)
    started, one = refills_started(monkeypatch)
    with pool_gate.on_the_way():  # a setup script that runs for minutes, say
        scheduled = time.monotonic()
        schedule(tmp_path)
        assert one.wait(10)
    pool.wait_refills(10)
    assert started[0] - scheduled >= 0.2
