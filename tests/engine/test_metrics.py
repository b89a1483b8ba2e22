"""Prometheus metrics: what a worker did, served on its metrics address and, to
installation admins only, by the API."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from taskyard.config import Settings
from tests.conftest import ADMIN_TOKEN
from tests.engine.test_signals import ONE_STAGE, push
from tests.support.server import RunningServer, start_server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def metered(settings: Settings) -> Iterator[RunningServer]:
    address = f"127.0.0.1:{_free_port()}"
    with start_server(settings.model_copy(update={"metrics_address": address}), ADMIN_TOKEN) as s:
        yield s


def _value(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def test_a_workers_turns_are_counted_and_shown_only_to_installation_admins(
    metered: RunningServer, remote_repo: Path
) -> None:
    assert metered.http.post("/api/v1/workflows", json=ONE_STAGE).status_code == 201
    push(metered, "quick", "echo done")
    key = metered.create_task(
        title="t", repository=str(remote_repo), template="quick", workflow="one"
    )["key"]
    metered.wait_for(key, "completed")

    scraped = httpx.get(f"http://{metered.settings.metrics_address}/metrics").text
    assert _value(scraped, 'taskyard_turns_total{state="complete"}') >= 1
    assert _value(scraped, "taskyard_turn_seconds_count") >= 1
    assert _value(scraped, "taskyard_sandbox_start_seconds_count") >= 1
    assert _value(scraped, "taskyard_queue_wait_seconds_count") >= 1
    assert _value(scraped, "taskyard_events_written_total") >= 1
    assert "org" not in scraped and key not in scraped  # aggregate: no organization, no task

    # The first admin is an installation admin: the API adds the process's metrics.
    admin = metered.http.get("/metrics").text
    assert 'taskyard_tasks{status="completed"}' in admin and "taskyard_turns_total" in admin
    reader = metered.http.post("/api/v1/tokens", json={"name": "r", "scopes": ["tasks:read"]})
    headers = {"Authorization": f"Bearer {reader.json()['token']}"}
    mine = metered.http.get("/metrics", headers=headers).text
    assert 'taskyard_tasks{status="completed"}' in mine and "taskyard_turns_total" not in mine


def test_a_state_outside_the_known_ones_is_counted_as_other() -> None:
    from taskyard import telemetry

    before = _value(telemetry.exposition(), 'taskyard_turns_total{state="other"}')
    telemetry.count_turn("x" * 300, 0.1)  # whatever a plug-in's adapter said
    after = telemetry.exposition()
    assert _value(after, 'taskyard_turns_total{state="other"}') == before + 1
    assert "x" * 300 not in after
