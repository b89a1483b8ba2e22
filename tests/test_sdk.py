"""The SDK against the real API: in-process on loopback, and through ``httpx.ASGITransport``.

The app runs without an engine, so routes that start or signal a
workflow answer 503; everything else, live event streams included, is real.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

import taskyard.sdk
from taskyard.api.app import create_app
from taskyard.api.schemas import TaskOut
from taskyard.config import Settings
from taskyard.db.session import migrate, session_scope
from taskyard.listen import tcp_listener
from taskyard.sdk import AsyncClient, Client, TaskyardAPIError, TaskyardConnectionError
from taskyard.sdk._wire import SSEDecoder
from taskyard.services.bootstrap import ensure_bootstrapped
from taskyard.services.tasks import TaskCreate
from tests.conftest import ADMIN_TOKEN
from tests.engine.test_signals import push
from tests.support.server import RunningServer

TOKEN = "ty_test_admin_token_123"
# Pushed, never run here (no engine): the default sandbox, as a server on the defaults allows.
TEMPLATE = "name: scripted\nagent:\n  kind: command\n  command: echo hi > hi.txt\n"


@dataclass
class Api:
    """The API app, and the URL it is served at on loopback (from a thread)."""

    app: FastAPI
    url: str

    def client(self, token: str = TOKEN) -> Client:
        return Client(self.url, token)


def make_app(data_dir: Path) -> FastAPI:
    """The real app on a fresh SQLite database, without the engine; admin token ``TOKEN``."""
    settings = Settings(data_dir=data_dir, secret_key="test-secret-key")
    migrate(settings.resolved_database_url)
    with session_scope(settings.resolved_database_url) as session:
        ensure_bootstrapped(session, TOKEN)
    return create_app(settings, engine=None)


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port, in a thread; yield its URL."""
    sock = tcp_listener("127.0.0.1", 0)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    app = make_app(tmp_path / "data")
    with serve(app) as url:
        yield Api(app, url)


@pytest.fixture
def client(api: Api) -> Iterator[Client]:
    with api.client() as client:
        yield client


def test_exports_are_pinned() -> None:
    assert {
        "Client",
        "AsyncClient",
        "TaskyardAPIError",
        "TaskyardConnectionError",
        "Task",
        "Event",
        "FINAL_STATUSES",
    } <= set(taskyard.sdk.__all__)
    assert all(hasattr(taskyard.sdk, name) for name in taskyard.sdk.__all__)


def test_models_match_the_server() -> None:
    """The TypedDicts describe what the server sends; drift shows up here."""
    assert set(taskyard.sdk.Task.__annotations__) == set(TaskOut.model_fields)
    aliases = taskyard.sdk._models.OPTION_ALIASES
    assert set(taskyard.sdk.TaskOptions.__annotations__) - set(aliases) <= set(
        TaskCreate.model_fields
    )
    assert set(aliases.values()) <= set(TaskCreate.model_fields)


def test_create_get_list_and_events(client: Client) -> None:
    task = client.tasks.create(
        title="Fix the crash",
        repository="acme/shop",
        description="TypeError in cart.py",
        origin="error_tracking",
        origin_context={"issue": 7},
        parameters=None,
    )
    assert (task["key"], task["status"], task["origin"]) == ("TY-1", "queued", "error_tracking")
    assert task["origin_context"] == {"issue": 7} and task["status_history"] is None

    shown = client.tasks.get("TY-1")
    assert shown["description"] == "TypeError in cart.py"
    assert [h["status"] for h in shown["status_history"] or []] == ["queued"]
    assert client.tasks.get(str(task["id"]))["key"] == "TY-1"

    page = client.tasks.events("TY-1")
    assert [e["kind"] for e in page["items"]] == ["created", "status"]
    assert page["next_after"] == page["items"][-1]["id"]
    assert client.tasks.events("TY-1", page["next_after"])["items"] == []
    assert [e["kind"] for e in client.tasks.events("TY-1", kinds=["status"])["items"]] == ["status"]
    assert client.tasks.diff("TY-1") == ""


def test_list_pages_and_filters(client: Client) -> None:
    for n in range(5):
        client.tasks.create(title=f"Task {n}", repository="acme/shop", origin="sdk")
    page = client.tasks.list(limit=2)
    assert [t["key"] for t in page["items"]] == ["TY-5", "TY-4"] and page["next_before"]
    assert [t["key"] for t in client.tasks.list(limit=2, before=page["next_before"])["items"]] == [
        "TY-3",
        "TY-2",
    ]
    assert [t["key"] for t in client.tasks.iter_all(page_size=2)] == [
        f"TY-{n}" for n in (5, 4, 3, 2, 1)
    ]
    client.tasks.cancel("TY-2")
    assert [t["key"] for t in client.tasks.iter_all(status="cancelled")] == ["TY-2"]
    assert client.tasks.list(origin="github_issue")["items"] == []


def test_follow_streams_live_until_the_task_ends(client: Client) -> None:
    client.tasks.create(title="Follow me", repository="acme/shop")
    stream = client.tasks.follow("TY-1")
    assert [next(stream)["kind"], next(stream)["kind"]] == ["created", "status"]
    # The stream is open and idle; an event written now arrives on it, then `end`.
    client.tasks.cancel("TY-1")
    rest = list(stream)
    assert [(e["kind"], e["data"]["status"]) for e in rest] == [("status", "cancelled")]
    after = rest[-1]["id"] - 1
    assert [e["id"] for e in client.tasks.follow("TY-1", after)] == [rest[-1]["id"]]


def test_wait_returns_when_a_status_is_reached(client: Client) -> None:
    client.tasks.create(title="Wait for me", repository="acme/shop")
    assert client.tasks.wait("TY-1", ["queued"])["status"] == "queued"
    done = threading.Thread(target=client.tasks.cancel, args=("TY-1",))
    done.start()  # wait() sees the change whether it lands before or after it starts following
    task = client.tasks.wait("TY-1", timeout=30)
    done.join()
    assert task["status"] == "cancelled" and task["status_history"]
    # An ended task cannot reach "waiting" any more: wait returns it as it is.
    assert client.tasks.wait("TY-1", ["waiting"])["status"] == "cancelled"


def test_wait_times_out(client: Client) -> None:
    client.tasks.create(title="Never ends", repository="acme/shop")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.tasks.wait("TY-1", timeout=0.3)
    assert time.monotonic() - started < 5


def test_reviewers_are_named_at_creation_and_replaced(client: Client) -> None:
    for name in ("bob", "cy"):
        client.users.create(name)
    task = client.tasks.create(title="Fix", repository="acme/shop", reviewers=["cy", "bob"])
    assert task["reviewers"] == ["bob", "cy"]
    assert client.tasks.set_reviewers(task["key"], ["cy"])["reviewers"] == ["cy"]
    assert client.tasks.get(task["key"])["reviewers"] == ["cy"]
    assert client.tasks.set_reviewers(task["key"], [])["reviewers"] == []
    with pytest.raises(TaskyardAPIError) as unknown:
        client.tasks.set_reviewers(task["key"], ["zed"])
    assert unknown.value.status == 400 and "'zed'" in unknown.value.message
    with pytest.raises(TypeError):
        client.tasks.set_reviewers(task["key"], "bob")


def test_api_errors_carry_status_code_and_message(api: Api, client: Client) -> None:
    with pytest.raises(TaskyardAPIError) as missing:
        client.tasks.get("TY-404")
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    assert missing.value.message == "Task 'TY-404' not found." == str(missing.value)

    with pytest.raises(TaskyardAPIError) as invalid:
        client.tasks.create(title="x", repository="not a repo")
    assert invalid.value.status == 400 and "must be 'org/repo'" in invalid.value.message

    client.tasks.create(title="Queued", repository="acme/shop")
    with pytest.raises(TaskyardAPIError) as conflict:
        client.tasks.approve("TY-1")
    assert (conflict.value.status, conflict.value.code) == (409, "conflict")

    with pytest.raises(TaskyardAPIError) as unavailable:  # no engine in these tests
        client.tasks.start("TY-1")
    assert unavailable.value.status == 503

    with api.client("ty_wrong") as stranger, pytest.raises(TaskyardAPIError) as denied:
        stranger.tasks.list()
    assert (denied.value.status, denied.value.code) == (401, "unauthenticated")
    with pytest.raises(TaskyardAPIError) as gone:
        list(client.tasks.follow("TY-9"))
    assert gone.value.status == 404


def test_unreachable_server_is_a_connection_error() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with Client(f"http://127.0.0.1:{port}", TOKEN) as client:
        with pytest.raises(TaskyardConnectionError, match="Cannot reach taskyard"):
            client.tasks.list()
        with pytest.raises(TaskyardConnectionError):
            next(client.tasks.follow("TY-1"))


def test_url_and_token_default_from_the_environment(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKYARD_URL", api.url + "/")
    monkeypatch.setenv("TASKYARD_TOKEN", TOKEN)
    with Client() as client:
        assert client.url == api.url
        assert client.teams.list()[0]["key"] == "TY"


def test_administration(api: Api, client: Client, tmp_path: Path) -> None:
    assert client.teams.create("WEB", name="Web")["key"] == "WEB"
    assert [t["key"] for t in client.teams.list()] == ["TY", "WEB"]
    assert client.teams.set_limit("web", 3)["limit"] == 3
    assert client.teams.get("WEB")["max_running"] == 3
    assert client.teams.set_limit("WEB", None)["max_running"] is None

    stages: list[dict[str, Any]] = [{"key": "code", "agent": {}}, {"key": "done"}]
    assert client.workflows.create("quick", stages, team="WEB")["default"] is False
    assert client.workflows.set_default("quick", team="WEB")["default"] is True
    assert [w["name"] for w in client.workflows.list(team="WEB")] == ["default", "quick"]
    client.workflows.set_default("default", team="WEB")
    assert client.workflows.archive("quick", team="WEB")["archived"] is True
    assert [w["name"] for w in client.workflows.list(team="WEB", archived=True)][-1] == "quick"
    client.workflows.delete("quick", team="WEB")
    assert [w["name"] for w in client.workflows.list(team="WEB", archived=True)] == ["default"]

    (tmp_path / "t.yaml").write_text(TEMPLATE)
    assert client.templates.push(tmp_path / "t.yaml")["version"] == 1
    assert client.templates.push(TEMPLATE.replace("echo hi", "echo ho"))["version"] == 2
    assert client.templates.get("scripted")["spec"]["agent"]["command"] == "echo ho > hi.txt"
    assert "echo hi" in client.templates.get("scripted", 1)["source"]
    assert [t["version"] for t in client.templates.versions("scripted")] == [1, 2]
    assert [t["name"] for t in client.templates.list()] == ["scripted"]
    with pytest.raises(FileNotFoundError):
        client.templates.push("missing.yaml")

    assert client.users.create("ada", name="Ada", email="ada@example.com")["username"] == "ada"
    assert client.users.get("ada")["email"] == "ada@example.com"
    assert client.users.link_identity("ada", "1234", login="ada-gh")["login"] == "ada-gh"
    assert client.users.find_identity("1234")["user"] == "ada"
    assert {u["username"] for u in client.users.list()} == {"admin", "ada"}

    made = client.tokens.create("ci", scopes=["tasks:read"])
    assert made["token"].startswith("ty_") and made["scopes"] == ["tasks:read"]
    with api.client(made["token"]) as ci:
        assert ci.tasks.list()["items"] == []
        with pytest.raises(TaskyardAPIError) as forbidden:
            ci.tasks.create(title="t", repository="acme/shop")
        assert forbidden.value.status == 403
        client.tokens.revoke(made["id"])
        with pytest.raises(TaskyardAPIError, match="revoked"):
            ci.tasks.list()
    assert [t["revoked"] for t in client.tokens.list()] == [False, True]

    assert client.secrets.set("NPM_TOKEN", "s3cret")["name"] == "NPM_TOKEN"
    assert [s["name"] for s in client.secrets.list()] == ["NPM_TOKEN"]
    client.secrets.delete("NPM_TOKEN")
    assert client.secrets.list() == []

    created = client.organizations.create("acme", name="Acme", admin="alice", team="AC")
    assert (created["admin"], created["team"]) == ("alice", "AC")
    with api.client(created["token"]) as alice:
        assert [t["key"] for t in alice.teams.list()] == ["AC"]
    assert client.organizations.rename("acme", "Acme Corp")["name"] == "Acme Corp"
    assert [o["slug"] for o in client.organizations.list()] == ["default", "acme"]


async def test_async_client_in_process(tmp_path: Path) -> None:
    """The async client through ``httpx.ASGITransport``: no sockets at all."""
    app = make_app(tmp_path / "data")
    async with AsyncClient("http://taskyard", TOKEN, transport=httpx.ASGITransport(app)) as client:
        task = await client.tasks.create(title="Async", repository="acme/shop", team="TY")
        assert task["key"] == "TY-1" and task["origin"] == "sdk"
        assert [t["key"] async for t in client.tasks.iter_all(page_size=1)] == ["TY-1"]
        assert (await client.tasks.get("TY-1"))["title"] == "Async"
        assert len((await client.tasks.events("TY-1"))["items"]) == 2
        await client.tasks.cancel("TY-1")
        # ASGITransport delivers a response whole, so only an ended task's stream is usable.
        assert [e["kind"] async for e in client.tasks.follow("TY-1")][-1] == "status"
        assert (await client.tasks.wait("TY-1"))["status"] == "cancelled"
        assert (await client.templates.push(TEMPLATE))["name"] == "scripted"
        assert [t["key"] for t in await client.teams.list()] == ["TY"]
        with pytest.raises(TaskyardAPIError) as missing:
            await client.tasks.send("TY-2", "hello")
        assert missing.value.status == 404


async def test_async_follow_and_wait_live(api: Api) -> None:
    async with AsyncClient(api.url, TOKEN) as client:
        await client.tasks.create(title="Live", repository="acme/shop")
        with pytest.raises(TimeoutError):
            await client.tasks.wait("TY-1", timeout=0.2)
        stream = client.tasks.follow("TY-1")
        assert [(await anext(stream))["kind"] for _ in range(2)] == ["created", "status"]
        await client.tasks.cancel("TY-1")
        assert [e["data"]["status"] async for e in stream] == ["cancelled"]
        assert (await client.tasks.wait("TY-1", timeout=10))["status"] == "cancelled"


# Threads, against a real server and engine ----------------------------------------

#: An agent whose first turn waits for the file ``gate``; later turns echo their prompt.
GATED = """
if [ "$TASKYARD_TURN" = 0 ]; then
  while [ ! -e {gate} ]; do sleep 0.05; done
else
  echo "got: $TASKYARD_PROMPT"
fi
"""


async def test_create_in_thread_makes_one_task_and_messages_it(
    server: RunningServer, remote_repo: Path, tmp_path: Path
) -> None:
    """Sync and async alike: the first call creates, the next ones message the open task
    (queued while its agent is busy, then each its own turn); once it ends, a new one."""
    gate = tmp_path / "go"
    template = push(server, "gated", GATED.format(gate=gate))
    workflow = {"name": "one", "stages": [{"key": "code", "agent": {}}, {"key": "done"}]}
    assert server.http.post("/api/v1/workflows", json=workflow).status_code == 201
    fields: Any = {
        "title": "Fix issue 12",
        "repository": str(remote_repo),
        "workflow": "one",
        "template": template,
    }
    thread = "github:acme/shop#12"
    with Client(server.url, ADMIN_TOKEN) as client:
        task, created = client.tasks.create_in_thread(thread, description="Fix it", **fields)
        assert created and task["thread"] == thread and task["status"] == "queued"
        again = client.tasks.create_in_thread(thread, description="Also the docs", **fields)
        assert again == taskyard.sdk.Created(again.task, False) and again.task["key"] == task["key"]
    async with AsyncClient(server.url, ADMIN_TOKEN) as aclient:
        last = await aclient.tasks.create_in_thread(thread, description="And tests", **fields)
        assert (last.task["key"], last.created) == (task["key"], False)
    gate.touch()

    done = server.wait_for(task["key"], "completed")
    lines = [e["data"]["line"] for e in server.events(task["key"]) if e["kind"] == "output"]
    assert lines == ["got: Also the docs", "got: And tests"]
    assert done["thread"] == thread
    with Client(server.url, ADMIN_TOKEN) as client:
        fresh, created = client.tasks.create_in_thread(thread, run=False, **fields)
        assert created and fresh["key"] != task["key"]


# The wire, with scripted servers -------------------------------------------------


def test_errors_that_are_not_ours_still_read_well() -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(502, text="<h1>Bad gateway</h1>"))
    with (
        Client("http://x", TOKEN, transport=transport) as client,
        pytest.raises(TaskyardAPIError) as bad,
    ):
        client.teams.list()
    assert (bad.value.status, bad.value.code, bad.value.message) == (
        502,
        "http_error",
        "<h1>Bad gateway</h1>",
    )


def test_follow_resumes_a_stream_cut_before_the_end() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("after"))
        assert request.headers["accept"] == "text/event-stream"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        if len(seen) == 1:  # a proxy cuts the first stream after one event
            body = 'id: 5\nevent: output\ndata: {"id": 5, "kind": "output"}\n\n'
        else:
            body = (
                ': keepalive\n\nid: 6\nevent: status\ndata: {"id": 6,\ndata:  "kind": "status"}\n\n'
            )
            body += "event: end\ndata: {}\n\n"
        return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})

    with Client("http://x", TOKEN, transport=httpx.MockTransport(handler)) as client:
        assert [e["id"] for e in client.tasks.follow("TY-1", 4)] == [5, 6]
    assert seen == ["4", "5"]


def test_sse_decoder() -> None:
    decoder = SSEDecoder()
    lines = ["retry: 10", ": comment", "id: 3", "event: status", "data: a", "data: b", "", ""]
    frames = [f for f in map(decoder.feed, lines) if f is not None]
    assert [(f.id, f.event, f.data) for f in frames] == [("3", "status", "a\nb")]
