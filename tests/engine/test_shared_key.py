"""Scale-out needs one secret key in every process: without it a process refuses to
start, and a secret stored under another key fails its task at once, saying why."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from taskyard.config import Settings
from taskyard.model.errors import Misconfigured
from taskyard.runtime import Runtime
from taskyard.services.secrets import require_shared_key
from tests.conftest import ADMIN_TOKEN
from tests.engine.test_signals import ONE_STAGE
from tests.support.history import attempts
from tests.support.server import start_server

# Nothing listens on the discard port: a process that got past the check would fail
# with another message (or hang), never with the refusal.
NOWHERE = "127.0.0.1:9"


@pytest.mark.parametrize(
    ("command", "shared", "named"),
    [
        (["worker"], {"TASKYARD_TEMPORAL_ADDRESS": NOWHERE}, "TASKYARD_TEMPORAL_ADDRESS"),
        (
            ["serve", "--no-worker", "--port", "0"],
            {"TASKYARD_DATABASE_URL": f"postgresql://taskyard@{NOWHERE}/taskyard"},
            "TASKYARD_DATABASE_URL",
        ),
    ],
)
def test_a_scale_out_process_without_the_shared_key_refuses_to_start(
    tmp_path: Path, command: list[str], shared: dict[str, str], named: str
) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKYARD_")}
    env.update(shared, TASKYARD_DATA_DIR=str(data))
    done = subprocess.run(
        [sys.executable, "-m", "taskyard", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done
    assert "TASKYARD_SECRET_KEY is not set" in done.stderr
    assert named in done.stderr
    assert "every `taskyard worker` need the same key" in done.stderr
    assert "Traceback" not in done.stderr
    assert not data.exists(), "nothing may start: no database, no Temporal state, no key"


def test_one_machine_keeps_its_generated_key(tmp_path: Path) -> None:
    embedded = Settings(data_dir=tmp_path, database_url="", temporal_address="", secret_key="")
    elsewhere = embedded.model_copy(update={"database_url": f"sqlite:///{tmp_path}/x.db"})
    for settings in (embedded, elsewhere):
        assert not settings.scale_out
        require_shared_key(settings)


def test_scale_out_is_a_database_server_or_a_temporal_cluster(tmp_path: Path) -> None:
    alone = Settings(data_dir=tmp_path, database_url="", temporal_address="", secret_key="")
    for update in (
        {"temporal_address": "temporal:7233"},
        {"database_url": "postgresql://taskyard@db/taskyard"},
    ):
        settings = alone.model_copy(update=update)
        assert settings.scale_out
        with pytest.raises(Misconfigured, match="TASKYARD_SECRET_KEY is not set"):
            require_shared_key(settings)
        require_shared_key(settings.model_copy(update={"secret_key": "shared"}))


@contextmanager
def worker_alone(settings: Settings) -> Iterator[None]:
    """What ``taskyard worker`` runs, in a thread: a worker with its own settings."""
    ready, stop = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    async def main() -> None:
        try:
            async with Runtime(settings, worker=True, bootstrap=False):
                ready.set()
                await asyncio.to_thread(stop.wait)
        except BaseException as exc:
            failed.append(exc)
            ready.set()
            raise

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(60), "the worker did not start"
    if failed:
        raise failed[0]
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def test_a_secret_stored_under_another_key_fails_the_task_at_once(
    settings: Settings, remote_repo: Path, tmp_path: Path
) -> None:
    api = settings.model_copy(update={"run_worker": False})
    other = settings.model_copy(update={"secret_key": "not-the-key-of-serve"})
    worker = other.model_copy(update={"data_dir": tmp_path / "worker"})
    with start_server(api, ADMIN_TOKEN) as server, worker_alone(worker):
        assert server.http.post("/api/v1/workflows", json=ONE_STAGE).status_code == 201
        template = """
name: needs-token
sandbox: none
secrets: [NPM_TOKEN]
agent: {kind: command, command: "echo never"}
"""
        assert server.http.post("/api/v1/templates", content=template).status_code == 201
        put = server.http.put("/api/v1/secrets/NPM_TOKEN", json={"value": "npm-token-value"})
        assert put.status_code == 200, put.text
        key = server.create_task(
            title="t", repository=str(remote_repo), template="needs-token", workflow="one"
        )["key"]
        # A retried failure never ends the task: reaching `failed` at all is the point.
        task = server.wait_for(key, "failed", timeout=30)
        message = task["status_message"]
        assert "The secret NPM_TOKEN cannot be decrypted" in message
        assert "share one TASKYARD_SECRET_KEY" in message
        last = [e["data"] for e in server.events(key) if e["kind"] == "status"][-1]
        assert (last["status"], last["message"]) == ("failed", message)
        assert not any(e["kind"] == "output" for e in server.events(key))
    # The first turn, which prepares the workspace and reads the secrets: once, never retried.
    tried = asyncio.run(attempts(settings, key))
    assert [(a.activity, a.attempt) for a in tried] == [("run_first_turn", 1)]
