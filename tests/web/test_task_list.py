"""The board and the list through HTTP: filters, search, sorting, keyset pages, bad input,
and a second organization that sees none of the first one's tasks."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.services import tasks, teams, tokens, users
from tests.support.server import RunningServer
from tests.web.visitors import visitor

KEYS = re.compile(r'<tr id="row-([A-Z]+-\d+)"')


@pytest.fixture
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with visitor(server) as signed_in:
        yield signed_in


def _seed(server: RunningServer) -> list[str]:
    """Seven tasks: two repositories, two origins, one started by bob, one working."""
    with session_scope(server.settings.resolved_database_url) as session:
        admin = users.find_user(session, 1, "admin")
        assert admin is not None
        users.create_user(session, admin.org_id, "bob")
    keys = []
    for n, title in enumerate(["Fix login", "Add search", "Speed up CI", "Fix logout"] * 2):
        if n == 7:
            break
        body = {"title": title, "repository": "acme/shop" if n % 2 else "acme/web", "run": False}
        if n == 3:
            body |= {"origin": "cli", "creator": "bob"}
        if n == 5:
            body["origin_context"] = {"issue_url": "https://github.com/acme/shop/issues/5"}
        keys.append(str(server.create_task(**body)["key"]))
    with session_scope(server.settings.resolved_database_url) as session:
        task = session.query(Task).filter_by(key=keys[2]).one()
        tasks.set_status(session, task, "working", stage="code")
    return keys


def _keys(html: str) -> list[str]:
    return KEYS.findall(html)


def test_filters_search_and_sorting(server: RunningServer, client: httpx.Client) -> None:
    keys = _seed(server)
    newest_first = list(reversed(keys))
    assert _keys(client.get("/tasks").text) == newest_first
    assert _keys(client.get("/tasks?order=asc").text) == keys
    assert _keys(client.get("/tasks?repository=acme/shop").text) == [keys[5], keys[3], keys[1]]
    assert _keys(client.get("/tasks?origin=cli").text) == [keys[3]]
    assert _keys(client.get("/tasks?creator=bob").text) == [keys[3]]
    assert _keys(client.get("/tasks?status=working").text) == [keys[2]]
    assert _keys(client.get("/tasks?team=TY&q=fix+log").text) == [keys[4], keys[3], keys[0]]
    assert _keys(client.get(f"/tasks?q={keys[1].lower()}").text) == [keys[1]]
    assert _keys(client.get("/tasks?q=100%25").text) == []  # LIKE's wildcard taken literally
    by_title = _keys(client.get("/tasks?sort=title&order=asc").text)
    assert by_title == [keys[1], keys[5], keys[0], keys[4], keys[3], keys[2], keys[6]]
    by_key = _keys(client.get("/tasks?sort=key&order=asc").text)
    assert by_key == keys  # TY-2 before TY-10: by number, not as text
    working = client.get("/tasks?status=working&sort=title&order=desc").text
    # Headers sort, keeping the filters; the sorted one turns its order around.
    assert 'href="/tasks?status=working&amp;sort=title&amp;order=asc"' in working
    assert 'href="/tasks?status=working&amp;sort=key&amp;order=desc"' in working
    shown = client.get("/tasks?origin=dashboard").text
    assert "No tasks match." in shown
    linked = client.get(f"/tasks?q={keys[5]}").text
    assert 'href="https://github.com/acme/shop/issues/5"' in linked


def test_pages_follow_a_cursor_in_any_order(server: RunningServer, client: httpx.Client) -> None:
    keys = _seed(server)
    for sort in ("created", "updated", "key", "status", "title"):
        for order in ("asc", "desc"):
            whole = _keys(client.get(f"/tasks?sort={sort}&order={order}").text)
            seen: list[str] = []
            url = f"/tasks?sort={sort}&order={order}&limit=3&status="
            while url:
                html = client.get(url).text
                seen += _keys(html)
                found = re.search(r'rel="next" href="([^"]+)"', html)
                url = found.group(1).replace("&amp;", "&") if found else ""
            assert seen == whole and sorted(seen) == sorted(keys), (sort, order)


def test_bad_filters_are_refused_with_what_to_fix(
    server: RunningServer, client: httpx.Client
) -> None:
    _seed(server)
    for url, words in [
        ("/tasks?status=done", "Unknown status &#39;done&#39;"),
        ("/tasks?sort=size", "Unknown sort &#39;size&#39;"),
        ("/tasks?after=bm9wZQ", "not valid for this order"),
        ("/tasks?sort=updated&after=WzEsMl0", "not valid for this order"),
        ("/tasks?team=XX", "Team &#39;XX&#39; not found"),
        ("/board?workflow=nope", "Workflow &#39;nope&#39; not found"),
    ]:
        response = client.get(url)
        assert response.status_code in (400, 404) and words in response.text, url
    assert client.get("/tasks?q=" + "x" * 201).status_code == 400
    assert client.get("/tasks?limit=0").status_code == 400


def test_the_board_puts_tasks_in_their_stage_columns(
    server: RunningServer, client: httpx.Client
) -> None:
    keys = _seed(server)
    html = client.get("/board").text
    columns = re.split(r'<section class="column"', html)[1:]
    names = [re.search(r'data-stage="([^"]*)"', c).group(1) for c in columns]  # type: ignore[union-attr]
    assert names == ["", "plan", "code", "review", "done"]
    assert keys[2] in columns[2] and keys[2] not in columns[0]
    assert all(k in columns[0] for k in keys if k != keys[2])
    assert "gate: approval" in columns[1] and "PLAN.md" in columns[1]  # the stage's prompt
    only_bob = client.get("/board/columns?creator=bob").text
    assert keys[3] in only_bob and keys[0] not in only_bob
    assert 'sse-connect="/board/stream?workflow=' in html


def test_a_second_organization_sees_none_of_it(server: RunningServer) -> None:
    keys = _seed(server)
    with session_scope(server.settings.resolved_database_url) as session:
        org = teams.create_organization(session, "rival", "Rival Inc", "*")
        teams.create_team(session, org.id, "RV", "Rival team")
        eve = users.create_user(session, org.id, "eve", is_admin=True)
        _, token = tokens.create_token(session, eve, "eve", ["admin"])
    with visitor(server, token) as rival:
        for url in ("/tasks", "/board", "/board/columns", "/tasks?team=RV", "/tasks?q=fix"):
            response = rival.get(url)
            assert response.status_code == 200, url
            assert not any(k in response.text for k in keys), url
            assert "Fix login" not in response.text and "acme/web" not in response.text, url
        assert rival.get("/tasks?team=TY").status_code == 404
        assert "No tasks match." in rival.get("/tasks").text
