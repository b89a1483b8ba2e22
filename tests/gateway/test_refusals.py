"""What the real CLIs show when the gateway refuses a stopped task's call: the reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from taskyard.agents.base import TurnRequest
from taskyard.agents.registry import adapter_for
from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.gateway import PROVIDERS, Gateway
from taskyard.model.template import AgentSpec
from taskyard.services import stops
from tests.agents.harness import pinned, run_turn
from tests.gateway.conftest import Upstreams, issue

pytestmark = pytest.mark.timeout(180)

CLIS = {
    "claude-code": (AgentSpec(kind="claude-code", version=pinned("claude-code")), "anthropic"),
    "codex": (AgentSpec(kind="codex", version=pinned("codex"), model="gpt-4.1"), "openai"),
}


def stop(settings: Settings, task_id: int, reason: str) -> None:
    with session_scope(settings.resolved_database_url) as session:
        row = session.get(Task, task_id)
        assert row is not None
        stops.request_stop(session, row, stops.Stop("budget", reason))


@pytest.mark.parametrize("kind", list(CLIS))
async def test_a_refused_call_shows_its_reason_in_the_agents_events(
    kind: str,
    gateway: Gateway,
    task: Task,
    gw_settings: Settings,
    upstreams: Upstreams,
    tool_cache: Path,
    tmp_path: Path,
) -> None:
    spec, provider = CLIS[kind]
    workdir, home = tmp_path / "work", tmp_path / "home"
    workdir.mkdir()
    home.mkdir()
    adapter = adapter_for(kind)
    tool_paths = await asyncio.to_thread(adapter.tool_paths, spec)
    await asyncio.to_thread(stop, gw_settings, task.id, "max_cost_usd (0.5)")
    request = TurnRequest(
        prompt="Say hi.",
        spec=spec,
        workdir=workdir,
        home=home,
        stage="code",
        task_key=task.key,
        turn=0,
        model_base_url=gateway.url + PROVIDERS[provider].prefix,
        model_api_key=issue(gateway, task, provider),
    )
    outcome = await run_turn(adapter, request, tool_paths)
    shown = [e["message"] for e in outcome.of("error")]
    assert any("Budget reached: max_cost_usd (0.5)" in m for m in shown), outcome
    assert outcome.state == "failure"
    assert upstreams.anthropic.requests == upstreams.openai.requests == []
