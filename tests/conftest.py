"""Shared fixtures: a real Temporal dev server, real databases, real git, a real server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from taskyard.config import Settings
from taskyard.engine.devserver import DevServer
from tests.support.server import RunningServer, start_server

ADMIN_TOKEN = "ty_test_admin_token_0123456789"

# The tests' receivers (webhooks, Slack stand-ins) listen on loopback, which the default
# (`external`) refuses. Loopback, not `*`: tests of the default pass it explicitly. Set
# for the process too, since channels built by the registry read `get_settings()`.
LOOPBACK_ALLOWED = "loopback"
os.environ["TASKYARD_OUTBOUND_ALLOWED_HOSTS"] = LOOPBACK_ALLOWED
# Schedule tests fire every second or two, not every minute; servers they start in
# another process read it from the environment.
os.environ["TASKYARD_SCHEDULE_MIN_INTERVAL_SECONDS"] = "1"


@pytest.fixture(scope="session")
def temporal_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One dev server for the whole run; each test gets its own task queue."""
    address = os.environ.get("TASKYARD_TEST_TEMPORAL_ADDRESS")
    if address:
        yield address
        return
    server = DevServer(tmp_path_factory.mktemp("temporal") / "temporal.db")
    asyncio.run(server.start())
    yield server.address
    server.stop()


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """SQLite in ``directory``, or a fresh PostgreSQL database when
    TASKYARD_TEST_POSTGRES_URL names a server (CI sets it)."""
    base = os.environ.get("TASKYARD_TEST_POSTGRES_URL")
    if not base:
        yield f"sqlite:///{directory / 'taskyard.db'}"
        return
    name = f"ty_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        base.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + f"/{name}"
    from taskyard.db.session import get_engine

    get_engine(base.rsplit("/", 1)[0] + f"/{name}").dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


def forge_stand_in_allowed(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """``settings``, with the GitHub stand-in's loopback origin among the forge sites the
    server sends credentials to, when the test uses the stand-in."""
    if "github" not in request.fixturenames:
        return settings
    url = request.getfixturevalue("github").url
    return settings.model_copy(update={"forge_origins": url})


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, temporal_address: str, request: pytest.FixtureRequest
) -> Settings:
    configured = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        temporal_address=temporal_address,
        task_queue=f"test-{uuid.uuid4()}",
        admin_token=ADMIN_TOKEN,
        heartbeat_timeout=5.0,
        secret_key="test-secret-key",
        # Many engine tests run trusted `sandbox: none` templates for speed.
        allow_unsandboxed=True,
        local_repository_roots=[tmp_path],
        outbound_allowed_hosts=LOOPBACK_ALLOWED,
        # Schedule tests fire every second or two, not every minute.
        schedule_min_interval_seconds=1,
        # A task whose start the engine refused is started again within a second.
        start_sweep_seconds=0.5,
    )
    return forge_stand_in_allowed(configured, request)


@pytest.fixture
def server(settings: Settings) -> Iterator[RunningServer]:
    """The API, engine client and a worker, running in a thread on a random port."""
    with start_server(settings, ADMIN_TOKEN) as running:
        yield running


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", "-c", "safe.directory=*", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    ).stdout


@pytest.fixture
def remote_repo(tmp_path: Path) -> Path:
    """A bare repository with one commit on ``main``: the task's remote."""
    bare = tmp_path / "remote.git"
    work = tmp_path / "seed"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git("init", "--quiet", "--initial-branch=main", str(work))
    (work / "README.md").write_text("# demo\n")
    (work / "app.py").write_text("print('hello')\n")
    git("add", ".", cwd=work)
    git("commit", "--quiet", "-m", "initial", cwd=work)
    git("push", "--quiet", str(bare), "main", cwd=work)
    return bare
