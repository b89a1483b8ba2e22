"""Fixtures the engine tests share."""

from __future__ import annotations

import pytest

from tests.engine.test_signals import ONE_STAGE
from tests.support.server import RunningServer


@pytest.fixture
def one_stage(server: RunningServer) -> str:
    """The one-stage workflow (an agent's Code stage, then Done) on ``server``; its name."""
    assert server.http.post("/api/v1/workflows", json=ONE_STAGE).status_code == 201
    return "one"
