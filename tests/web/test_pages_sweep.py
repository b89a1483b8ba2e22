"""Every page of the dashboard, attacked as an outsider would: forged forms, no session,
another organization's ids, garbage in every parameter, hostile names, open redirects.

The routes are walked from the app itself (as tests/api/test_access.py walks the API's),
so a page added later is swept too; its path parameters need a value in ``values``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from taskyard.api.app import create_app
from taskyard.api.errors import NOT_PAGES
from taskyard.config import Settings
from tests.web import visitors
from tests.web.visitors import HTML, Site, Visitor

site = visitors.site  # the fixture

STREAMS = {"/board/stream", "/tasks/{ref}/live"}  # answered, then held open: headers only
SIGNED_OUT_PAGES = {"/login", "/settings/external-auth/github/start"}
SIGNED_OUT_PAGES |= {"/settings/external-auth/github/callback"}
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
HOSTILE = f"{SCRIPT}{ATTRIBUTE}"
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
WEBHOOK_SECRET = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
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


def page_routes() -> list[tuple[str, str, APIRoute]]:
    found = []
    for context in iter_route_contexts(create_app(Settings()).routes):
        route = context.original_route
        path = str(context.path)
        page = isinstance(route, APIRoute) and not route.include_in_schema
        if page and not path.startswith(NOT_PAGES):
            found += [(method, path, route) for method in sorted(context.methods or ())]
    return found


ROUTES = page_routes()
GETS = [(path, route) for method, path, route in ROUTES if method == "GET"]
POSTS = [(path, route) for method, path, route in ROUTES if method != "GET"]


def query_names(dependant: Dependant) -> list[str]:
    """The query parameters a route reads, its dependencies' too."""
    names = [param.alias for param in dependant.query_params]
    for each in dependant.dependencies:
        names += query_names(each)
    return names


def ask(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request, its body read unless it is an event stream (which never ends)."""
    with client.stream(method, url, timeout=10, **kwargs) as response:
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            response.read()
            return response
    return httpx.Response(response.status_code, headers=response.headers, request=response.request)


@dataclass
class World:
    """What the first organization holds, named to hurt whoever prints it carelessly."""

    key: str
    token_id: int
    channel_id: int
    template: str
    secret: str
    workflow: str

    def values(self, path: str) -> dict[str, str]:
        name = self.template
        if path.startswith("/settings/secrets"):
            name = self.secret
        elif path.startswith("/workflows"):
            name = self.workflow
        return {
            "ref": self.key,
            "token_id": str(self.token_id),
            "channel_id": str(self.channel_id),
            "pull_id": "1",
            "action": "merge",
            "step": "cancel",
            "version": "1",
            "name": name,
        }

    def fill(self, path: str, **instead: str) -> str:
        """``path`` with a value in each parameter: ours, or ``instead`` percent-encoded
        (its own escapes, such as %ff, sent as they are)."""
        values = {**self.values(path), **{k: quote(v, safe="%") for k, v in instead.items()}}
        return re.sub(r"\{(\w+)\}", lambda m: values[m[1]], path)


def _made(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def world(site: Site) -> World:
    api = site.api
    task = _made(
        api.post(
            "/api/v1/tasks",
            json={
                "title": f"Title {HOSTILE}",
                "description": f"[click](javascript:alert(1)) {HOSTILE}",
                "repository": "acme/shop",
                "run": False,
                "origin": "github_issue",
                "origin_context": {"url": "javascript:alert(1)", "issue_url": "javascript:x"},
            },
        )
    )
    token = _made(api.post("/api/v1/tokens", json={"name": HOSTILE, "scopes": ["tasks:read"]}))
    channel = _made(
        api.post(
            "/api/v1/notifications/channels",
            json={
                "kind": "webhook",
                "name": HOSTILE[:60],
                "config": {"url": "https://hooks.example/x", "secret": WEBHOOK_SECRET},
            },
        )
    )
    template = f"name: sweep\ndescription: '{HOSTILE}'\nagent:\n  kind: command\n  command: x\n"
    pushed = _made(
        api.post("/api/v1/templates", content=template, headers={"content-type": "text/yaml"})
    )
    assert api.put("/api/v1/secrets/SWEEP_SECRET", json={"value": "v"}).status_code < 300
    stages = [{"key": "code", "agent": {}}, {"key": "done"}]
    flow = _made(api.post("/api/v1/workflows", json={"name": "sweep-flow", "stages": stages}))
    return World(
        key=task["key"],
        token_id=token["id"],
        channel_id=channel["id"],
        template=pushed["name"],
        secret="SWEEP_SECRET",
        workflow=flow["name"],
    )


def snapshot(site: Site) -> list[Any]:
    """What a refused request must leave as it was: the audit log and what it records."""
    paths = ["/api/v1/audit", "/api/v1/tasks", "/api/v1/tokens", "/api/v1/secrets"]
    paths += ["/api/v1/notifications/channels", "/api/v1/workflows", "/api/v1/templates"]
    return [site.api.get(path).json() for path in paths]


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
    with httpx.Client(base_url=site.url, headers=HTML) as stranger:
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
    from tests.conftest import ADMIN_TOKEN

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
