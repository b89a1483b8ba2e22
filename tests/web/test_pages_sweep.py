"""Every page of the dashboard, attacked as an outsider would: forged forms, no session,
another organization's ids, garbage in every parameter, hostile names, open redirects.

The routes are walked from the app itself (as tests/api/test_access.py walks the API's),
so a page added later is swept too; its path parameters need a value in
``tests.web.sweep.World.values``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.web import visitors
from tests.web.sweep import (
    GETS,
    HOSTILE,
    POSTS,
    ROUTES,
    SCRIPT,
    SIGNED_OUT_PAGES,
    World,
    ask,
    build_world,
    query_names,
    snapshot,
)
from tests.web.visitors import HTML, Site, Visitor

site = visitors.site  # the fixture

GARBAGE = [
    "x" * 10_000,
    "a\x00b",
    "%00",
    "%ff%fe",
    "-1",
    "99999999999999999999999",
    "../../etc/passwd",
    "\u202eevil\u202c",
    HOSTILE,
]
EVIL_NEXT = [
    "//evil.example",
    "https://evil.example",
    "/\\evil.example",
    "%2F%2Fevil.example",
    "\\\\evil",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "/%09/evil.example",
    "javascript:alert(1)",
]


@pytest.fixture
def world(site: Site) -> World:
    return build_world(site)


@pytest.fixture
def admin(site: Site) -> Visitor:
    return site.visitor()


def test_every_form_is_refused_without_its_sessions_csrf_token(
    site: Site, world: World, admin: Visitor
) -> None:
    other = site.visitor().csrf()  # the same user, another session
    before = snapshot(site)
    for path, _ in POSTS:
        if path == "/login":
            continue  # before a session: its own double-submit nonce (tests/web/test_sign_in)
        url = world.fill(path)
        for token in ("", other):
            fields = {"csrf_token": token} if token else {}
            for response in (
                ask(admin.http, "POST", url, data=fields),
                ask(admin.http, "POST", url, headers={"X-CSRF-Token": token or "x"}),
            ):
                assert response.status_code == 403, (path, token, response.text[:300])
    assert snapshot(site) == before
    assert admin.get("/settings").status_code == 200  # still signed in: logout was refused


def test_a_signed_out_visitor_is_sent_to_sign_in_and_changes_nothing(
    site: Site, world: World
) -> None:
    before = snapshot(site)
    with httpx.Client(timeout=30, base_url=site.url, headers=HTML) as stranger:
        for method, path, _ in ROUTES:
            url = world.fill(path)
            response = ask(stranger, method, url)
            assert response.status_code < 500, (method, path, response.text[:300])
            if path in SIGNED_OUT_PAGES or path == "/":
                continue
            if method == "GET":
                assert response.status_code in (302, 303), (path, response.status_code)
                target = urlsplit(response.headers["location"])
                assert (target.scheme, target.netloc, target.path) == ("", "", "/login")
                [back] = parse_qs(target.query)["next"]
                assert back.startswith("/") and not back.startswith("//")
            else:
                assert response.status_code in (303, 401, 403), (path, response.status_code)
                assert world.key not in response.text
    assert snapshot(site) == before


def test_another_organization_sees_and_changes_nothing_of_the_first(
    site: Site, world: World
) -> None:
    rival = site.visitor(site.person("eve", ["admin"], org="rival"))
    csrf = rival.csrf()
    before = snapshot(site)
    secrets = (world.key, "SWEEP_SECRET", "sweep-flow", "hooks.example", "Title ")
    for method, path, _ in ROUTES:
        if "{" not in path:
            continue
        url = world.fill(path)
        data = {"csrf_token": csrf} if method != "GET" else None
        response = ask(rival.http, method, url, data=data)
        assert response.status_code < 500, (method, path, response.text[:300])
        if response.status_code == 200:
            assert not any(s in response.text for s in secrets), (method, path)
        else:
            assert response.status_code in (303, 400, 404), (method, path, response.status_code)
    assert snapshot(site) == before


def _assert_refused_as_a_page(response: httpx.Response, where: Any) -> None:
    assert response.status_code < 500, (where, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("text/html"), (where, response.text)


def test_garbage_in_every_parameter_is_refused_with_a_page(
    site: Site, world: World, admin: Visitor
) -> None:
    csrf = admin.csrf()
    for method, path, route in ROUTES:
        names = re.findall(r"\{(\w+)\}", path)
        for value in GARBAGE:
            if method == "GET":
                for name in names:
                    url = world.fill(path, **{name: value})
                    _assert_refused_as_a_page(ask(admin.http, "GET", url), (path, name, value))
                for query in [*query_names(route.dependant), "unknown"]:
                    response = ask(admin.http, "GET", world.fill(path), params={query: value})
                    _assert_refused_as_a_page(response, (path, query, value[:20]))
            else:
                for name in names:
                    url = world.fill(path, **{name: value})
                    response = ask(admin.http, method, url, data={"csrf_token": csrf})
                    _assert_refused_as_a_page(response, (path, name, value[:20]))


def test_oversized_and_mistyped_bodies_are_refused_with_a_page(
    site: Site, world: World, admin: Visitor
) -> None:
    csrf = admin.csrf()
    limit = site.settings.max_body_bytes
    for path, _ in POSTS:
        url = world.fill(path)
        headers = {"X-CSRF-Token": csrf}
        huge = ask(admin.http, "POST", url, headers=headers, data={"text": "x" * (limit + 1)})
        assert huge.status_code == 413, (path, huge.status_code)
        _assert_refused_as_a_page(huge, path)
        over_form = ask(admin.http, "POST", url, headers=headers, data={"x": "y" * 70_000})
        _assert_refused_as_a_page(over_form, path)
        for content_type, body in [
            ("application/json", b'{"csrf_token": "x"}'),
            ("text/plain", b"csrf_token=x"),
            ("multipart/form-data; boundary=zz", b"--zz\r\nbroken"),
            ("application/x-www-form-urlencoded", b"%ff=%fe&a\x00=b"),
        ]:
            response = ask(
                admin.http,
                "POST",
                url,
                content=body,
                headers={**headers, "content-type": content_type},
            )
            _assert_refused_as_a_page(response, (path, content_type))
        filed = ask(
            admin.http, "POST", url, data={"csrf_token": csrf}, files={"f": (HOSTILE, b"x")}
        )
        _assert_refused_as_a_page(filed, (path, "file"))


class Injected(HTMLParser):
    """What markup a page holds that none of ours ever does."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.found.append("img")
        if tag == "script" and not (dict(attrs).get("src") or "").startswith("/static/"):
            self.found.append("inline script")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}")
            link = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name in ("href", "src", "action", "formaction") and link.startswith(
                ("javascript:", "data:", "vbscript:")
            ):
                self.found.append(f"{tag} {name}={value}")


SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def _assert_safe_page(response: httpx.Response, where: Any) -> None:
    for header, value in SECURITY.items():
        assert response.headers.get(header) == value, (where, header)
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, where
    if response.headers.get("content-type", "").startswith("text/html"):
        parser = Injected()
        parser.feed(response.text)
        assert parser.found == [], (where, parser.found)


def test_no_page_prints_hostile_names_and_every_page_forbids_framing(
    site: Site, world: World, admin: Visitor
) -> None:
    seen = 0
    for path, _ in GETS:
        response = ask(admin.http, "GET", world.fill(path))
        _assert_safe_page(response, path)
        seen += SCRIPT in response.text
    assert seen == 0
    # Where the hostile names are shown (escaped), and the pages of errors and of strangers
    for url in ["/board", "/tasks", f"/tasks/{world.key}", "/settings/tokens", "/templates"]:
        shown = admin.get(url)
        assert "&lt;script&gt;" in shown.text or "&lt;img" in shown.text, url
        assert 'href="javascript' not in shown.text, url  # the issue link is http(s) only
    for response in [
        admin.get("/no-such-page"),
        admin.get("/tasks?limit=-1"),
        admin.get("/pulls/abc"),
        httpx.get(f"{site.url}/login", headers=HTML),
        httpx.get(f"{site.url}/board", headers=HTML),
    ]:
        _assert_safe_page(response, response.url)


@pytest.fixture
def stranger(site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, headers=HTML, timeout=10) as client:
        yield client


def _on_this_server(site: Site, location: str) -> bool:
    # As a browser would read it: tabs and newlines dropped, backslashes as slashes.
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/").strip()
    target = urlsplit(urljoin(site.url + "/", cleaned))
    return target.netloc == urlsplit(site.url).netloc and target.scheme in ("http", "https")


def test_no_redirect_leaves_this_server(site: Site, stranger: httpx.Client) -> None:
    for evil in EVIL_NEXT:
        form = stranger.get("/login", params={"next": evil})
        assert form.status_code == 200
        shown = re.search(r'name="next" value="([^"]*)"', form.text)
        assert shown and _on_this_server(site, shown.group(1)), (evil, shown)
        nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
        assert nonce
        signed_in = stranger.post(
            "/login", data={"nonce": nonce.group(1), "next": evil, "token": ADMIN_TOKEN}
        )
        assert signed_in.status_code == 303
        assert _on_this_server(site, signed_in.headers["location"]), (evil, signed_in.headers)
        stranger.cookies.clear()
        # A signed-out visit of any path comes back to the same server after signing in.
        sent = stranger.get(f"/tasks/{quote(evil, safe='/%')}")
        if sent.status_code in (302, 303):
            assert _on_this_server(site, sent.headers["location"]), evil
