"""What tests/web/test_pages_sweep.py walks and fills in: the app's page routes, a first
organization holding objects with hostile names, and requests that never wait forever."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from taskyard.api.app import create_app
from taskyard.api.errors import NOT_PAGES
from taskyard.config import Settings
from tests.web.visitors import Site

# Pages seen before signing in: the sign-in form, and linking GitHub (its state signs in).
SIGNED_OUT_PAGES = {"/login", "/settings/external-auth/github/start"}
SIGNED_OUT_PAGES |= {"/settings/external-auth/github/callback"}
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
HOSTILE = f"{SCRIPT}{ATTRIBUTE}"
WEBHOOK_SECRET = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"


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


def build_world(site: Site) -> World:
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
