"""Signing a visitor in and out: passwords, API tokens, CSRF, expiry, guessing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from taskyard.db.models import ApiToken, User
from taskyard.db.session import session_scope
from taskyard.model.errors import Unauthenticated
from taskyard.services import secrets, tokens, users, web_sessions
from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer
from tests.web.conftest import sign_in_with_token

PASSWORD = "correct horse battery"
HTML = {"Accept": "text/html"}


def _set_password(server: RunningServer, username: str = "admin") -> None:
    with session_scope(server.settings.resolved_database_url) as session:
        user = session.query(User).filter_by(username=username).one_or_none()
        if user is None:
            admin = session.query(User).filter_by(username="admin").one()
            user = users.create_user(session, admin.org_id, username)
        web_sessions.set_password(session, user, PASSWORD)


@pytest.fixture
def visitor(server: RunningServer) -> Iterator[httpx.Client]:
    """A client that behaves as a visitor does: cookies kept, pages asked for."""
    with httpx.Client(timeout=30, base_url=server.url, headers=HTML) as client:
        yield client


def _form(client: httpx.Client, next_path: str = "/") -> dict[str, str]:
    page = client.get(f"/login?next={next_path}")
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce, page.text
    return {"nonce": nonce.group(1), "next": next_path}


def _task(server: RunningServer) -> str:
    return str(server.create_task(title="Fix it", repository="acme/shop", run=False)["key"])


def test_password_sign_in_session_cookie_and_sign_out(
    server: RunningServer, visitor: httpx.Client
) -> None:
    key = _task(server)
    _set_password(server)
    asked = visitor.get(f"/tasks/{key}")
    assert asked.status_code == 303 and asked.headers["location"] == f"/login?next=%2Ftasks%2F{key}"

    wrong = visitor.post("/login", data={**_form(visitor), "username": "admin", "password": "x"})
    assert wrong.status_code == 401 and "Wrong username or password." in wrong.text
    nobody = visitor.post(
        "/login", data={**_form(visitor), "username": "nobody", "password": PASSWORD}
    )
    assert nobody.status_code == 401 and "Wrong username or password." in nobody.text

    signed = visitor.post(
        "/login",
        data={**_form(visitor, f"/tasks/{key}"), "username": "admin", "password": PASSWORD},
    )
    assert (signed.status_code, signed.headers["location"]) == (303, f"/tasks/{key}")
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    shown = visitor.get(f"/tasks/{key}")
    assert shown.status_code == 200

    # Signing out needs the page's CSRF token, and ends the session for good.
    assert visitor.post("/logout").status_code == 403
    assert visitor.post("/logout", data={"csrf_token": "0" * 64}).status_code == 403
    session_value = visitor.cookies["taskyard_session"]
    with session_scope(server.settings.resolved_database_url) as session:
        assert tokens.authenticate(session, session_value).username == "admin"
    csrf = web_sessions.csrf_token(
        secrets.derived_key(server.settings, "dashboard-csrf"), session_value
    )
    out = visitor.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    visitor.cookies.set("taskyard_session", session_value)  # as a thief who kept it would
    assert visitor.get(f"/tasks/{key}").status_code == 303


def test_the_sign_in_form_refuses_forged_posts_and_open_redirects(
    server: RunningServer, visitor: httpx.Client
) -> None:
    _set_password(server)
    forged = visitor.post("/login", data={"username": "admin", "password": PASSWORD, "next": "/"})
    assert forged.status_code == 403 and "expired" in forged.text
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        away = visitor.post(
            "/login",
            data={**_form(visitor), "next": target, "username": "admin", "password": PASSWORD},
        )
        assert (away.status_code, away.headers["location"]) == (303, "/")
    big = visitor.post(
        "/login",
        content=b"token=" + b"x" * 10_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert big.status_code == 400 and "larger than" in big.text


def test_guessing_passwords_is_throttled(server: RunningServer, visitor: httpx.Client) -> None:
    _set_password(server, "bob")  # throttling is per username: others sign in meanwhile
    for _ in range(web_sessions.FAILURES_ALLOWED):
        guess = visitor.post(
            "/login", data={**_form(visitor), "username": "bob", "password": "guess"}
        )
        assert guess.status_code == 401
    right = visitor.post("/login", data={**_form(visitor), "username": "bob", "password": PASSWORD})
    assert right.status_code == 401 and "Too many failed sign-ins" in right.text
    _set_password(server)
    admin = visitor.post(
        "/login", data={**_form(visitor), "username": "admin", "password": PASSWORD}
    )
    assert admin.status_code == 303


def test_a_token_session_dies_with_its_token_and_with_time(
    server: RunningServer, visitor: httpx.Client
) -> None:
    key = _task(server)
    with session_scope(server.settings.resolved_database_url) as session:
        admin = session.query(User).filter_by(username="admin").one()
        row, value = tokens.create_token(session, admin, "laptop", ["tasks:read"])
        parent_id = row.id
    signed = visitor.post("/login", data={**_form(visitor, f"/tasks/{key}"), "token": value})
    assert signed.status_code == 303
    assert visitor.get(f"/tasks/{key}").status_code == 200
    session_value = visitor.cookies["taskyard_session"]
    assert session_value != value  # the visitor holds a token of its own
    with session_scope(server.settings.resolved_database_url) as session:
        child = session.query(ApiToken).filter_by(parent_id=parent_id).one()
        assert child.scopes == ["tasks:read"] and child.expires_at is not None
        child.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert visitor.get(f"/tasks/{key}").status_code == 303
    with (
        pytest.raises(Unauthenticated, match="expired"),
        session_scope(server.settings.resolved_database_url) as session,
    ):
        tokens.authenticate(session, session_value)


def test_signing_in_and_out_in_a_real_browser(server: RunningServer, page: Page) -> None:
    key = _task(server)
    sign_in_with_token(page, server.url, ADMIN_TOKEN, f"/tasks/{key}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(key)
    page.goto(f"{server.url}/login")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{server.url}/login")
    page.goto(f"{server.url}/tasks/{key}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
