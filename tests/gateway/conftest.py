"""Fixtures for the gateway: a database with a task, scripted upstreams, a running gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import migrate, session_scope
from taskyard.gateway import Gateway, Grant, new_credential
from taskyard.services import secrets, tasks, tokens
from taskyard.services.bootstrap import ensure_bootstrapped
from tests.agents.conftest import tool_cache
from tests.conftest import ADMIN_TOKEN
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.openai_server import OpenAIServer

__all__ = ["tool_cache"]  # the agent tests' tool cache, for the end-to-end tests

REAL_ANTHROPIC_KEY = "sk-ant-real-0123456789abcdef"
REAL_OPENAI_KEY = "sk-real-openai-0123456789abcdef"


@dataclass
class Upstreams:
    anthropic: AnthropicServer
    openai: OpenAIServer


@pytest.fixture
def upstreams() -> Iterator[Upstreams]:
    """Both fake APIs, each accepting only its real key (others get the API's 401)."""
    with (
        AnthropicServer([], api_key=REAL_ANTHROPIC_KEY) as anthropic,
        OpenAIServer([], api_key=REAL_OPENAI_KEY) as openai,
    ):
        yield Upstreams(anthropic, openai)


@pytest.fixture
def gw_settings(tmp_path: Path, database_url: str, upstreams: Upstreams) -> Settings:
    """A migrated database with the first organization, pointing at the fake upstreams."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        anthropic_base_url=upstreams.anthropic.url,
        openai_base_url=upstreams.openai.url + "/v1",
        openai_api_key=REAL_OPENAI_KEY,  # OpenAI from the server setting, Anthropic a secret
    )
    migrate(settings.resolved_database_url)
    with session_scope(settings.resolved_database_url) as session:
        ensure_bootstrapped(session, ADMIN_TOKEN)
        secrets.set_secret(session, settings, 1, "ANTHROPIC_API_KEY", REAL_ANTHROPIC_KEY)
    return settings


@pytest.fixture
def task(gw_settings: Settings) -> Task:
    """A task that is under way (not final)."""
    with session_scope(gw_settings.resolved_database_url) as session:
        principal = tokens.authenticate(session, ADMIN_TOKEN)
        body = tasks.TaskCreate(title="Gateway", repository="acme/shop", run=False)
        created = tasks.create_task(session, principal, body, local_roots=())
        tasks.set_status(session, created, "working", "agent working")
        return created


def finish(settings: Settings, task_id: int, status: str = "completed") -> None:
    """Move a task to a final status, as the engine does when it ends."""
    with session_scope(settings.resolved_database_url) as session:
        row = session.get(Task, task_id)
        assert row is not None
        tasks.set_status(session, row, status, "done")


@pytest.fixture
async def gateway(gw_settings: Settings) -> AsyncIterator[Gateway]:
    running = Gateway(gw_settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def issue(gateway: Gateway, task: Task, provider: str = "anthropic") -> str:
    """A credential for ``task`` (run 0) reaching ``provider``."""
    credential = new_credential()
    gateway.credentials.add(credential, Grant(task.id, task.key, task.org_id, 0, provider))
    return credential
