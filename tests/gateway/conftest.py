"""Fixtures for the gateway: a database with a task, scripted upstreams, a running gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import migrate, session_scope
from taskyard.gateway import Gateway, Grant, new_credential
from taskyard.model.template import Budget
from taskyard.services import secrets, tasks, tokens
from taskyard.services.bootstrap import ensure_bootstrapped
from taskyard.services.gateway_ledger import DatabaseLedger
from tests.agents.conftest import tool_cache
from tests.conftest import ADMIN_TOKEN
from tests.fakes.anthropic_server import AnthropicServer
from tests.fakes.openai_server import OpenAIServer
from tests.support.server import RunningServer, start_server

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
        admin = tokens.authenticate(session, ADMIN_TOKEN)
        secrets.set_secret(session, settings, admin, "ANTHROPIC_API_KEY", REAL_ANTHROPIC_KEY)
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


@asynccontextmanager
async def running_gateway(
    settings: Settings, upstream: Callable[[httpx.Request], httpx.Response] | None = None
) -> AsyncIterator[Gateway]:
    """A started gateway on the database, its upstream ``upstream`` if given (a stand-in)."""
    transport = httpx.MockTransport(upstream) if upstream else None
    running = Gateway(settings, DatabaseLedger(settings), transport=transport)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def gateway(gw_settings: Settings) -> AsyncIterator[Gateway]:
    async with running_gateway(gw_settings) as running:
        yield running


def issue(
    gateway: Gateway, task: Task, provider: str = "anthropic", budget: Budget | None = None
) -> str:
    """A credential for ``task`` (run 0) reaching ``provider``, keeping ``budget``."""
    credential = new_credential()
    grant = Grant(task.id, task.key, task.org_id, 0, provider, budget=budget or Budget())
    gateway.credentials.add(credential, grant)
    return credential


GATED = {
    "name": "gated",
    "stages": [{"key": "code", "agent": {}, "gate": "approval", "deliver": True}, {"key": "done"}],
}


@pytest.fixture
def anthropic() -> Iterator[AnthropicServer]:
    with AnthropicServer([], api_key=REAL_ANTHROPIC_KEY) as server:
        yield server


@pytest.fixture
def openai() -> Iterator[OpenAIServer]:
    with OpenAIServer([], api_key=REAL_OPENAI_KEY) as server:
        yield server


@pytest.fixture
def e2e(
    settings: Settings, anthropic: AnthropicServer, openai: OpenAIServer, tool_cache: Path
) -> Iterator[RunningServer]:
    """The whole server, its model proxy pointed at the scripted APIs."""
    upstreams = {"anthropic_base_url": anthropic.url, "openai_base_url": openai.url + "/v1"}
    with start_server(settings.model_copy(update=upstreams), ADMIN_TOKEN) as running:
        for name, value in (
            ("ANTHROPIC_API_KEY", REAL_ANTHROPIC_KEY),
            ("OPENAI_API_KEY", REAL_OPENAI_KEY),
        ):
            response = running.http.put(f"/api/v1/secrets/{name}", json={"value": value})
            assert response.status_code == 200, response.text
        assert running.http.post("/api/v1/workflows", json=GATED).status_code == 201
        yield running
