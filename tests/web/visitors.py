"""A signed-in browser's HTTP traffic without a browser, for pages checked by their HTML:
a dashboard without the engine (the settings pages need none) and visitors of it who
behave as browsers do (cookies kept, pages asked for, each form's CSRF token sent back),
or a visitor of a running server holding the cookie signing in gives."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskyard.api.app import create_app
from taskyard.config import Settings
from taskyard.db.models import User
from taskyard.db.session import session_scope
from taskyard.services import teams, tokens, users, web_sessions
from taskyard.services.access import DEFAULT_SCOPES
from tests.api.conftest import bootstrapped
from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer, serve_app

HTML = {"Accept": "text/html"}
# What a person who is not an admin holds when signed in with a password.
PERSON = [*DEFAULT_SCOPES, "tokens:read", "tokens:write"]


class Visitor:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, headers=HTML, timeout=30)

    def close(self) -> None:
        self.http.close()

    def sign_in(self, token: str = "", username: str = "", password: str = "") -> httpx.Response:
        form = self.http.get("/login")
        nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
        assert nonce, form.text
        fields = {"token": token} if token else {"username": username, "password": password}
        return self.http.post("/login", data={"nonce": nonce.group(1), "next": "/", **fields})

    def csrf(self) -> str:
        found = re.search(r'name="csrf-token" content="([^"]+)"', self.get("/settings").text)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(
        self, path: str, data: dict[str, str] | None = None, csrf: bool = True
    ) -> httpx.Response:
        fields = dict(data or {})
        if csrf:
            fields["csrf_token"] = self.csrf()
        return self.http.post(path, data=fields)


@dataclass
class Site:
    url: str
    settings: Settings
    api: httpx.Client
    visitors: list[Visitor]

    def visitor(self, token: str = ADMIN_TOKEN) -> Visitor:
        visitor = Visitor(self.url)
        self.visitors.append(visitor)
        assert visitor.sign_in(token).status_code == 303
        return visitor

    def person(self, username: str, scopes: list[str] = PERSON, org: str = "") -> str:
        """A token of user ``username`` (made in organization ``org``, default the first)."""
        with session_scope(self.settings.resolved_database_url) as session:
            org_id = session.query(User).filter_by(username="admin").one().org_id
            if org:
                org_id = teams.create_organization(session, org, org.title(), "*").id
                teams.create_team(session, org_id, org[:2].upper(), f"{org} team")
            user = users.find_user(session, org_id, username) or users.create_user(
                session, org_id, username, is_admin="admin" in scopes
            )
            _, value = tokens.create_token(session, user, f"{username}'s", scopes)
        return value


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    settings = bootstrapped(tmp_path, database_url)
    app = create_app(settings)
    with serve_app(app, ADMIN_TOKEN) as api:
        made = Site(str(api.base_url), settings, api, [])
        yield made
        for each in made.visitors:
            each.close()


@contextmanager
def visitor(server: RunningServer, token: str = ADMIN_TOKEN) -> Iterator[httpx.Client]:
    """A client holding the session cookie that signing in with ``token`` gives."""
    with session_scope(server.settings.resolved_database_url) as session:
        value = web_sessions.sign_in_with_token(session, token)
    with httpx.Client(base_url=server.url, headers={"Accept": "text/html"}, timeout=30) as client:
        client.cookies.set("taskyard_session", value)
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)
