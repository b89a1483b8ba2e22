"""Creating and reading tasks: validation, numbering, scopes, isolation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import event

from taskyard.config import Settings
from taskyard.db.session import get_engine
from tests.api.conftest import token_with


def create(api: httpx.Client, **body: object) -> dict[str, object]:
    response = api.post("/api/v1/tasks", json={"run": False, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def error_of(response: object) -> tuple[int, str, str]:
    data = response.json()  # type: ignore[attr-defined]
    return response.status_code, data["error"]["code"], data["error"]["message"]  # type: ignore[attr-defined]


def test_create_numbers_and_slugs(api: httpx.Client) -> None:
    first = create(api, title="Fix login bug!", repository="acme/shop", description="d")
    second = create(api, title="Fix login bug!", repository="acme/shop")
    assert (first["key"], first["slug"]) == ("TY-1", "fix-login-bug")
    assert (second["key"], second["slug"]) == ("TY-2", "fix-login-bug-2")
    assert second["branch"] == "taskyard/TY-2-fix-login-bug-2"
    assert first["status"] == "queued" and first["workflow"] == "default"
    assert first["parameters"] == {"ai_prompt": "d"}
    assert first["creator"] == "admin" and first["origin"] == "api"


def test_a_free_slug_is_looked_up_and_a_taken_one_numbered(
    api: httpx.Client, api_settings: Settings
) -> None:
    for title in ("Fix login bug", "Fix login bug", "Fix login bug 2", "Fix login bug"):
        create(api, title=title, repository="acme/shop")
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    engine = get_engine(api_settings.resolved_database_url)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        # A prefix of every slug so far: found free with one lookup, no scan of the others.
        assert create(api, title="Fix", repository="acme/shop")["slug"] == "fix"
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements and not [s for s in statements if "LIKE" in s.upper()]
    slugs = [t["slug"] for t in api.get("/api/v1/tasks?limit=10").json()["items"]]
    assert slugs[::-1] == [
        "fix-login-bug",
        "fix-login-bug-2",
        "fix-login-bug-2-2",
        "fix-login-bug-3",
        "fix",
    ]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"title": "", "repository": "acme/shop"}, 400, "Title must not be empty"),
        ({"title": "   ", "repository": "acme/shop"}, 400, "Title must not be empty"),
        ({"title": "t", "repository": "not a repo"}, 400, "must be 'org/repo'"),
        ({"title": "t", "repository": "/no/such/dir"}, 400, "outside the directories"),
        (
            {"title": "t", "repository": "acme/shop", "creator": "ghost"},
            400,
            "Unknown user 'ghost'",
        ),
        (
            {"title": "t", "repository": "acme/shop", "template": "nope"},
            404,
            "Template 'nope' not found",
        ),
        ({"title": "t", "repository": "acme/shop", "workflow": "nope"}, 404, "Workflow 'nope'"),
        ({"title": "t", "repository": "acme/shop", "team": "XX"}, 404, "Team 'XX' not found"),
        ({"title": "t", "repository": "acme/shop", "origin": "mars"}, 400, "origin"),
        ({"title": "t", "repository": "acme/shop", "colour": "red"}, 400, "colour: unknown field"),
        ({"repository": "acme/shop"}, 400, "title: Field required"),
        (
            {"title": "t", "repository": "acme/shop", "parameters": {"x": 1}},
            400,
            "Unknown parameter",
        ),
        (
            {"title": "t", "repository": "acme/shop", "agent": {"kind": "command"}},
            400,
            "needs a 'command'",
        ),
        ({"title": "t", "repository": "a/b", "thread": "gh:a/b#1\n"}, 400, "thread: Value error"),
        ({"title": "t", "repository": "a/b", "thread": "gh:\u202eb#1"}, 400, "only printable"),
        ({"title": "t", "repository": "a/b", "thread": " "}, 400, "thread: Value error, must not"),
        ({"title": "t", "repository": "a/b", "thread": "x" * 301}, 400, "at most 300 characters"),
    ],
)
def test_create_rejects_bad_input_clearly(
    api: httpx.Client, body: dict[str, object], status: int, fragment: str
) -> None:
    code, _, message = error_of(api.post("/api/v1/tasks", json={"run": False, **body}))
    assert code == status and fragment in message, message
    assert api.get("/api/v1/tasks").json()["items"] == []  # nothing half-written


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", '{"title": "\u00e9"'.encode()])
def test_malformed_bodies_get_400_not_500(api: httpx.Client, raw: bytes) -> None:
    response = api.post("/api/v1/tasks", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_local_repository_path_is_accepted(api: httpx.Client, remote_repo: Path) -> None:
    assert create(api, title="t", repository=str(remote_repo))["repository"] == str(remote_repo)
    assert create(api, title="t", repository=f"file://{remote_repo}")["key"] == "TY-2"


def test_no_default_workflow_is_a_clear_error(api: httpx.Client) -> None:
    custom = {"name": "mine", "stages": [{"key": "code", "agent": {}}], "default": True}
    assert api.post("/api/v1/workflows", json=custom).status_code == 201
    assert api.post("/api/v1/workflows/mine/archive").status_code == 409  # it is the default
    assert api.post("/api/v1/workflows/default/default").status_code == 200
    assert api.post("/api/v1/workflows/default/archive").status_code == 409
    assert api.post("/api/v1/workflows/mine/archive").status_code == 200
    code, _, message = error_of(
        api.post("/api/v1/tasks", json={"title": "t", "repository": "a/b", "workflow": "mine"})
    )
    assert code == 400 and "archived" in message


def test_auth_is_required_and_checked(api: httpx.Client) -> None:
    assert error_of(api.get("/api/v1/tasks", headers={"Authorization": ""}))[:2] == (
        401,
        "unauthenticated",
    )
    assert error_of(api.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"}))[0] == 401


def test_scopes_are_enforced(api: httpx.Client) -> None:
    reader = token_with(api, "tasks:read")
    response = api.post(
        "/api/v1/tasks",
        json={"title": "t", "repository": "a/b", "run": False},
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert error_of(response)[:2] == (403, "forbidden")
    assert "tasks:write" in error_of(response)[2]


def test_creating_for_another_user_needs_its_own_scope(api: httpx.Client) -> None:
    assert api.post("/api/v1/users", json={"username": "bob"}).status_code == 201
    writer = token_with(api, "tasks:read", "tasks:write")
    body = {"title": "t", "repository": "a/b", "run": False, "creator": "bob"}
    headers = {"Authorization": f"Bearer {writer}"}
    assert api.post("/api/v1/tasks", json=body, headers=headers).status_code == 403
    delegate = token_with(api, "tasks:read", "tasks:write", "tasks:create-for-others")
    response = api.post("/api/v1/tasks", json=body, headers={"Authorization": f"Bearer {delegate}"})
    assert response.status_code == 201
    assert (response.json()["creator"], response.json()["requested_by"]) == ("bob", "admin")


def test_tokens_are_hashed_at_rest_and_cannot_escalate(
    api: httpx.Client, api_settings: object
) -> None:
    from sqlalchemy import select

    from taskyard.db.models import ApiToken
    from taskyard.db.session import session_scope

    value = token_with(api, "tasks:read")
    with session_scope(api_settings.resolved_database_url) as session:  # type: ignore[attr-defined]
        stored = [t.token_hash for t in session.scalars(select(ApiToken))]
    assert value not in stored and all(len(h) == 64 for h in stored)
    response = api.post(
        "/api/v1/tokens",
        json={"name": "x", "scopes": ["admin"]},
        headers={"Authorization": f"Bearer {value}"},
    )
    assert response.status_code == 403


def test_organizations_are_isolated(api: httpx.Client, other_org_token: str) -> None:
    key = create(api, title="secret work", repository="acme/shop")["key"]
    rival = {"Authorization": f"Bearer {other_org_token}"}
    for path in (f"/api/v1/tasks/{key}", f"/api/v1/tasks/{key}/events", "/api/v1/tasks/1"):
        assert api.get(path, headers=rival).status_code == 404
    assert api.post(f"/api/v1/tasks/{key}/cancel", headers=rival).status_code == 404
    assert api.get("/api/v1/tasks", headers=rival).json()["items"] == []
    theirs = api.post(
        "/api/v1/tasks", json={"title": "x", "repository": "r/x", "run": False}, headers=rival
    ).json()
    assert theirs["key"] == "RV-1"


def test_list_filters_and_pages(api: httpx.Client) -> None:
    for i in range(5):
        create(
            api,
            title=f"t{i}",
            repository="acme/shop" if i % 2 else "acme/web",
            origin="error_tracking" if i == 4 else "api",
        )
    page = api.get("/api/v1/tasks", params={"limit": 2}).json()
    assert [t["key"] for t in page["items"]] == ["TY-5", "TY-4"]
    rest = api.get("/api/v1/tasks", params={"limit": 2, "before": page["next_before"]}).json()
    assert [t["key"] for t in rest["items"]] == ["TY-3", "TY-2"]
    assert len(api.get("/api/v1/tasks", params={"repository": "acme/shop"}).json()["items"]) == 2
    only = api.get("/api/v1/tasks", params={"origin": "error_tracking"}).json()["items"]
    assert [t["key"] for t in only] == ["TY-5"]
    assert api.get("/api/v1/tasks", params={"status": "bogus"}).status_code == 400
    assert api.get("/api/v1/tasks", params={"limit": 0}).status_code == 400


def test_cancel_of_a_task_never_started(api: httpx.Client) -> None:
    key = create(api, title="t", repository="acme/shop")["key"]
    assert api.post(f"/api/v1/tasks/{key}/cancel").json()["status"] == "cancelled"
    assert api.post(f"/api/v1/tasks/{key}/cancel").status_code == 409
    assert api.post(f"/api/v1/tasks/{key}/messages", json={"text": "hi"}).status_code == 409


def test_actions_need_an_engine_and_say_so(api: httpx.Client) -> None:
    response = api.post("/api/v1/tasks", json={"title": "t", "repository": "a/b"})
    assert error_of(response)[:2] == (503, "unavailable")


def test_openapi_lists_the_api(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/tasks",
        "/api/v1/tasks/{ref}/events",
        "/api/v1/tasks/{ref}/approve",
        "/api/v1/tasks/{ref}/request-changes",
        "/api/v1/tasks/{ref}/cancel",
        "/api/v1/tasks/{ref}/diff",
        "/api/v1/workflows",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/templates",
        "/healthz",
    ):
        assert path in paths


def test_a_thread_is_shown_and_its_open_task_must_have_started(api: httpx.Client) -> None:
    thread = "github:acme/shop#12"
    task = create(api, title="t", repository="acme/shop", thread=thread)
    assert task["thread"] == thread and api.get("/api/v1/tasks/TY-1").json()["thread"] == thread
    assert create(api, title="t", repository="acme/shop")["thread"] is None

    # The open task was never started (no engine here): nothing can take the message.
    again = api.post(
        "/api/v1/tasks", json={"title": "t", "repository": "acme/shop", "thread": thread}
    )
    code, _, message = error_of(again)
    assert code == 409 and "TY-1 is open on thread 'github:acme/shop#12'" in message, message
    assert "start it (taskyard tasks start TY-1) or cancel it" in message

    api.post("/api/v1/tasks/TY-1/cancel")  # an ended task frees its thread
    assert create(api, title="t", repository="acme/shop", thread=thread)["key"] == "TY-3"


def test_openapi_documents_both_answers_of_create(api: httpx.Client) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/tasks"]["post"]
    for status in ("200", "201"):
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/TaskOut"}
    assert "open task on the body's `thread`" in operation["responses"]["200"]["description"]
    body = api.get("/openapi.json").json()["components"]["schemas"]["TaskCreate"]
    assert body["properties"]["thread"]["anyOf"][0]["maxLength"] == 300
