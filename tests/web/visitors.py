"""A signed-in browser's HTTP traffic without a browser: for pages checked by their HTML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from taskyard.db.session import session_scope
from taskyard.services import web_sessions
from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer


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
