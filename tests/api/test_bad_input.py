"""Bad input, written as the attacks that once broke the server: each gets a 400 or 413
that says what to fix, and nothing is stored."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.services import events, tasks
from tests.api.conftest import token_with

JSON = {"Content-Type": "application/json"}


def raw_post(api: httpx.Client, path: str, body: str) -> httpx.Response:
    """POST JSON text as written: escapes such as \\ud800 reach the server unencoded."""
    return api.post(path, content=body.encode(), headers=JSON)


def task_count(api: httpx.Client) -> int:
    return len(api.get("/api/v1/tasks").json()["items"])


def create(api: httpx.Client, **body: object) -> dict[str, object]:
    response = api.post("/api/v1/tasks", json={"run": False, "repository": "acme/shop", **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_nested_origin_context_is_refused_and_nothing_is_stored(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/tasks",
        json={"title": "t", "repository": "acme/shop", "run": False, "origin_context": nested(9)},
    )
    assert response.status_code == 400
    assert "origin_context" in response.json()["error"]["message"]
    assert task_count(api) == 0
    # A context within the caps is stored and reads back, alone and in lists.
    key = create(api, title="ok", origin_context=nested(7))["key"]
    assert api.get(f"/api/v1/tasks/{key}").json()["origin_context"] == nested(7)
    assert api.get("/api/v1/tasks").status_code == 200


@pytest.mark.parametrize("depth", [33, 5000, 100_000])
def test_deep_json_anywhere_is_refused(api: httpx.Client, depth: int) -> None:
    body = '{"title": "t", "repository": "acme/shop", "parameters": ' + "[" * depth + "]" * depth
    response = raw_post(api, "/api/v1/tasks", body + "}")
    assert response.status_code == 400 and "nested deeper" in response.json()["error"]["message"]
    assert task_count(api) == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/tasks", '{"title": "t", "repository": "acme/shop", "description": "\\ud800"}'),
        ("/api/v1/tasks", '{"title": "t\\u0000", "repository": "acme/shop"}'),
        (
            "/api/v1/tasks",
            '{"title": "t", "repository": "acme/shop", "origin_context": {"\\udfff": 1}}',
        ),
        ("/api/v1/tokens", '{"name": "\\ud83d"}'),
        ("/api/v1/users", '{"username": "bob", "name": "\\udc00"}'),
    ],
)
def test_lone_surrogates_and_nul_are_refused(api: httpx.Client, path: str, body: str) -> None:
    response = raw_post(api, path, body)
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "lone surrogate" in message or "NUL" in message
    assert task_count(api) == 0


def test_a_secret_with_a_lone_surrogate_is_refused(api: httpx.Client) -> None:
    response = api.put("/api/v1/secrets/NPM_TOKEN", content=b'{"value": "x\\ud800"}', headers=JSON)
    assert response.status_code == 400
    assert api.get("/api/v1/secrets").json() == []


def test_a_message_with_a_lone_surrogate_never_reaches_the_agent(api: httpx.Client) -> None:
    key = create(api, title="t")["key"]
    before = api.get(f"/api/v1/tasks/{key}/events").json()["items"]
    response = raw_post(api, f"/api/v1/tasks/{key}/messages", '{"text": "hi \\ud800"}')
    assert response.status_code == 400 and "surrogate" in response.json()["error"]["message"]
    assert api.get(f"/api/v1/tasks/{key}/events").json()["items"] == before


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(api: httpx.Client, constant: str) -> None:
    body = f'{{"title": "t", "repository": "acme/shop", "parameters": {{"x": {constant}}}}}'
    response = raw_post(api, "/api/v1/tasks", body)
    assert response.status_code == 400 and constant in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/tasks?before=99999999999999999999999", None),
        ("GET", "/api/v1/tasks/TY-1/events?after=99999999999999999999", None),
        ("GET", "/api/v1/templates/x?version=2147483648", None),
        ("DELETE", "/api/v1/tokens/99999999999999999999", None),
        ("DELETE", "/api/v1/tokens/%20%2B1", None),
        ("DELETE", "/api/v1/tokens/1_0", None),
        ("GET", "/api/v1/tasks?before=1_0", None),
        ("GET", "/api/v1/templates/x?version=%C2%B2", None),
        ("POST", "/api/v1/tasks", {"title": "t", "repository": "a/b", "template_version": 2**40}),
        ("POST", "/api/v1/tasks", {"title": "t", "repository": "a/b", "parameters": {"n": 2**64}}),
    ],
)
def test_integers_too_big_for_the_database_or_not_ascii_digits_are_refused(
    api: httpx.Client, method: str, path: str, body: object
) -> None:
    response = api.request(method, path, json=body)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "ref", ["99999999999999999999999", "²", "TY-²", "TY-\u0661", "\u0663", "TY-1²"]
)
def test_task_references_are_ascii_digits_only(api: httpx.Client, ref: str) -> None:
    create(api, title="t")
    response = api.get(f"/api/v1/tasks/{ref}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_non_ascii_last_event_id_is_ignored(api: httpx.Client) -> None:
    key = create(api, title="t")["key"]
    api.post(f"/api/v1/tasks/{key}/cancel")
    with api.stream(
        "GET",
        f"/api/v1/tasks/{key}/events",
        headers={"Accept": "text/event-stream", "Last-Event-ID": "²".encode()},
    ) as response:
        assert response.status_code == 200
        assert "event: end" in response.read().decode()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/tasks", {"title": "t", "repository": "a/b", "description": "x" * 100_001}),
        ("/api/v1/tokens", {"name": "x" * 101}),
        ("/api/v1/users", {"username": "bob", "email": "x" * 201}),
        ("/api/v1/teams", {"key": "AB", "name": "x" * 201}),
    ],
)
def test_text_fields_have_lengths(api: httpx.Client, path: str, body: object) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 400 and "at most" in response.json()["error"]["message"]


def test_a_body_over_the_limit_is_refused_with_413(api: httpx.Client) -> None:
    body = {"title": "t", "repository": "a/b", "description": "x" * 2_000_000}
    response = api.post("/api/v1/tasks", json=body)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert task_count(api) == 0


def _answer_to(api: httpx.Client, head: bytes, body: bytes) -> bytes:
    """Send a request by hand and read the answer while the body is still owed."""
    with socket.create_connection((api.base_url.host, api.base_url.port), timeout=10) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_100_mb_body_is_refused_before_it_is_read(api: httpx.Client) -> None:
    head = (
        b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + api.headers["authorization"].split()[1].encode() + b"\r\n"
        b"Content-Length: 100000000\r\n\r\n"
    )
    # 1 kB sent of the 100 MB announced: the answer comes without the rest.
    assert _answer_to(api, head, b"{" + b" " * 1023).startswith(b"HTTP/1.1 413")


def test_a_chunked_body_is_refused_once_it_passes_the_limit(api: httpx.Client) -> None:
    head = (
        b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b" " * 65536
    chunks = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 17  # 1.1 MB, never terminated
    assert _answer_to(api, head, chunks).startswith(b"HTTP/1.1 413")


def test_a_nul_in_the_url_is_refused(api: httpx.Client) -> None:
    assert api.get("/api/v1/tasks?repository=a%00b").status_code == 400
    assert api.get("/api/v1/users/bob%00").status_code == 400


def test_a_local_path_outside_the_allowed_roots_is_refused(
    api: httpx.Client, tmp_path: Path
) -> None:
    outside = Path("/etc")
    link = tmp_path / "escape"
    link.symlink_to(outside)
    for repository in ("/etc", "file:///etc", str(tmp_path / ".." / ".." / "etc"), str(link)):
        response = api.post("/api/v1/tasks", json={"title": "t", "repository": repository})
        assert response.status_code == 400, repository
        assert "outside the directories" in response.json()["error"]["message"]
    inside = tmp_path / "repo"
    inside.mkdir()
    assert create(api, title="t", repository=str(inside))["repository"] == str(inside)


@pytest.mark.parametrize(
    "branch",
    [
        "--upload-pack=touch /tmp/pwned",
        "-b",
        "a..b",
        "a b",
        "x.lock",
        "a@{1}",
        "/a",
        "a/",
        "a//b",
        "a~1",
        "a:b",
        ".hidden",
        "@",
    ],
)
def test_a_base_branch_must_be_a_ref_name_and_never_an_option(
    api: httpx.Client, branch: str
) -> None:
    response = api.post(
        "/api/v1/tasks", json={"title": "t", "repository": "a/b", "base_branch": branch}
    )
    assert (
        response.status_code == 400
        and "not a valid git branch" in response.json()["error"]["message"]
    )


def test_ordinary_branch_names_are_accepted(api: httpx.Client) -> None:
    for branch in ("main", "release/1.2", "feature/x-y_z", "v2.0"):
        assert create(api, title="t", base_branch=branch)["base_branch"] == branch


@pytest.mark.parametrize("repository", ["../..", "a/..", "-x/y", "a/b/c"])
def test_repository_slugs_are_owner_and_name(api: httpx.Client, repository: str) -> None:
    response = api.post("/api/v1/tasks", json={"title": "t", "repository": repository})
    assert response.status_code == 400


def test_a_read_only_token_cannot_revoke_tokens(api: httpx.Client) -> None:
    reader = token_with(api, "tasks:read")
    ids = [t["id"] for t in api.get("/api/v1/tokens").json()]
    as_reader = {"Authorization": f"Bearer {reader}"}
    for token_id in ids:
        response = api.delete(f"/api/v1/tokens/{token_id}", headers=as_reader)
        assert response.status_code == 403 and "tokens:write" in response.json()["error"]["message"]
    assert not any(t["revoked"] for t in api.get("/api/v1/tokens").json())
    assert api.get("/api/v1/tokens", headers=as_reader).status_code == 403
    assert api.post("/api/v1/tokens", json={"name": "x"}, headers=as_reader).status_code == 403


def test_tokens_minted_by_a_token_die_with_it(api: httpx.Client) -> None:
    parent = token_with(api, "tokens:write", "tasks:read", "tokens:read")
    as_parent = {"Authorization": f"Bearer {parent}"}
    child = api.post(
        "/api/v1/tokens",
        json={"name": "child", "scopes": ["tasks:read", "tokens:write"]},
        headers=as_parent,
    ).json()
    grandchild = api.post(
        "/api/v1/tokens",
        json={"name": "grandchild", "scopes": ["tasks:read"]},
        headers={"Authorization": f"Bearer {child['token']}"},
    ).json()["token"]
    parent_id = next(
        t["id"] for t in api.get("/api/v1/tokens").json() if t["prefix"] == parent[:10]
    )
    assert api.delete(f"/api/v1/tokens/{parent_id}").status_code == 204
    for token in (parent, child["token"], grandchild):
        response = api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_json_bodies_are_checked_whatever_the_content_type_says(api: httpx.Client) -> None:
    body = b'{"title": "t\\u0000", "repository": "a/b"}'
    for content_type in ("application/json", "application/merge-patch+json", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = api.post("/api/v1/tasks", content=body, headers=headers)
        assert response.status_code == 400, content_type
    assert json.loads(api.get("/healthz").text)["status"] == "ok"


def test_what_an_agent_writes_is_stored_so_that_it_reads_back(
    api: httpx.Client, api_settings: Settings
) -> None:
    """An agent's output is recorded, not refused: what JSON or PostgreSQL cannot carry is
    mended on the way in, so the task's pages never answer 500 because of it."""
    key = str(create(api, title="t")["key"])
    with session_scope(api_settings.resolved_database_url) as session:
        task = session.scalar(select(Task).where(Task.key == key))
        assert task is not None
        events.append(session, task.id, "output", {"text": "a\ud800b\x00", "n": float("nan")})
        events.append_many(session, task.id, [("output", {"text": "\udfff"})])
        tasks.set_status(session, task, "failed", "agent crashed: \ud83d\x00")
    shown = api.get(f"/api/v1/tasks/{key}")
    assert shown.status_code == 200
    assert shown.json()["status_message"] == "agent crashed: \ufffd\ufffd"
    items = api.get(f"/api/v1/tasks/{key}/events").json()["items"]
    assert items[-3]["data"] == {"text": "a\ufffdb\ufffd", "n": None}
    assert items[-2]["data"] == {"text": "\ufffd"}
    with api.stream(
        "GET", f"/api/v1/tasks/{key}/events", headers={"Accept": "text/event-stream"}
    ) as stream:
        assert "event: end" in stream.read().decode()
