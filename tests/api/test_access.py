"""Every route of the app: a typed response, the scope it needs, and no access decided in it.

The routes are walked from the app itself, so a new route fails here until it is
given its scope in ``SCOPE`` (or is public) and a response model.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, get_args, get_origin

import httpx
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from taskyard.api import routes
from taskyard.api.app import create_app
from taskyard.config import Settings
from taskyard.services.access import ADMIN, INSTALLATION_ADMIN, SCOPES
from tests.api.conftest import minimal_body, token_with

TASK = "/api/v1/tasks/{ref}"
SCOPE = {
    ("POST", "/api/v1/tasks"): "tasks:write",
    ("GET", "/api/v1/tasks"): "tasks:read",
    ("GET", TASK): "tasks:read",
    ("POST", f"{TASK}/start"): "tasks:write",
    ("POST", f"{TASK}/messages"): "tasks:write",
    ("POST", f"{TASK}/approve"): "tasks:write",
    ("POST", f"{TASK}/request-changes"): "tasks:write",
    ("POST", f"{TASK}/cancel"): "tasks:write",
    ("PUT", f"{TASK}/reviewers"): "tasks:write",
    ("GET", f"{TASK}/events"): "tasks:read",
    ("GET", f"{TASK}/diff"): "tasks:read",
    ("GET", f"{TASK}/pulls"): "tasks:read",
    ("GET", "/api/v1/teams"): "tasks:read",
    ("POST", "/api/v1/teams"): ADMIN,
    ("GET", "/api/v1/teams/{team}"): "tasks:read",
    ("PATCH", "/api/v1/teams/{team}"): ADMIN,
    ("GET", "/api/v1/workflows"): "tasks:read",
    ("POST", "/api/v1/workflows"): "workflows:write",
    ("POST", "/api/v1/workflows/{name}/default"): "workflows:write",
    ("POST", "/api/v1/workflows/{name}/archive"): "workflows:write",
    ("DELETE", "/api/v1/workflows/{name}"): "workflows:write",
    ("GET", "/api/v1/users"): "users:read",
    ("POST", "/api/v1/users"): "users:write",
    ("GET", "/api/v1/users/{username}"): "users:read",
    ("PUT", "/api/v1/users/me/password"): "tokens:write",
    ("POST", "/api/v1/users/{username}/identities"): "users:write",
    ("POST", "/api/v1/identities/github/link"): "tasks:write",
    ("GET", "/api/v1/identities/{provider}/{external_id}"): "users:read",
    ("GET", "/api/v1/tokens"): "tokens:read",
    ("POST", "/api/v1/tokens"): "tokens:write",
    ("DELETE", "/api/v1/tokens/{token_id}"): "tokens:write",
    ("POST", "/api/v1/templates"): "templates:write",
    ("GET", "/api/v1/templates"): "templates:read",
    ("GET", "/api/v1/templates/{name}"): "templates:read",
    ("GET", "/api/v1/templates/{name}/versions"): "templates:read",
    ("GET", "/api/v1/secrets"): "secrets:write",
    ("PUT", "/api/v1/secrets/{name}"): "secrets:write",
    ("DELETE", "/api/v1/secrets/{name}"): "secrets:write",
    ("GET", "/api/v1/organizations"): INSTALLATION_ADMIN,
    ("POST", "/api/v1/organizations"): INSTALLATION_ADMIN,
    ("GET", "/api/v1/organizations/{slug}"): INSTALLATION_ADMIN,
    ("PATCH", "/api/v1/organizations/{slug}"): INSTALLATION_ADMIN,
    ("GET", "/api/v1/forges"): "tasks:read",
    ("GET", "/api/v1/audit"): ADMIN,
    ("PUT", "/api/v1/forges/default"): ADMIN,
    ("PUT", "/api/v1/forges/repositories/{owner}/{repo}"): ADMIN,
    ("DELETE", "/api/v1/forges/repositories/{owner}/{repo}"): ADMIN,
    ("GET", "/metrics"): "tasks:read",
    ("GET", "/api/v1/github/triggers"): "tasks:read",
    ("POST", "/api/v1/github/triggers"): ADMIN,
    ("DELETE", "/api/v1/github/triggers/{trigger_id}"): ADMIN,
    ("POST", "/api/v1/schedules"): "tasks:write",
    ("GET", "/api/v1/schedules"): "tasks:read",
    ("GET", "/api/v1/schedules/{name}"): "tasks:read",
    ("PATCH", "/api/v1/schedules/{name}"): "tasks:write",
    ("DELETE", "/api/v1/schedules/{name}"): "tasks:write",
    ("POST", "/api/v1/schedules/{name}/pause"): "tasks:write",
    ("POST", "/api/v1/schedules/{name}/resume"): "tasks:write",
    ("POST", "/api/v1/schedules/{name}/run"): "tasks:write",
    ("GET", "/api/v1/notifications/channels"): "tasks:read",
    ("POST", "/api/v1/notifications/channels"): "tasks:write",
    ("PATCH", "/api/v1/notifications/channels/{channel_id}"): "tasks:write",
    ("DELETE", "/api/v1/notifications/channels/{channel_id}"): "tasks:write",
    ("GET", "/api/v1/notifications/preferences"): "tasks:read",
    ("PUT", "/api/v1/notifications/preferences"): "tasks:write",
    ("GET", "/api/v1/notifications/teams/{team}"): "tasks:read",
    ("PUT", "/api/v1/notifications/teams/{team}"): ADMIN,
    ("GET", "/api/v1/notifications/deliveries"): "tasks:read",
    ("GET", "/api/v1/notifications/deliveries/{delivery_id}"): "tasks:read",
    ("POST", "/api/v1/notifications/deliveries/{delivery_id}/replay"): "tasks:write",
    ("GET", "/api/v1/intake/sources"): "tasks:read",
    ("POST", "/api/v1/intake/sources"): ADMIN,
    ("GET", "/api/v1/intake/sources/{slug}"): "tasks:read",
    ("DELETE", "/api/v1/intake/sources/{slug}"): ADMIN,
}
# No token needed: liveness, the dashboard's pages (each signs its viewer in from the
# session cookie and asks the services, which check scopes, as the API does), and GitHub's
# and other products' webhooks (authenticated by their signature or secret: they cannot
# send a token).
TASK_ACTIONS = ("message", "approve", "request-changes", "review", "{step}")
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/tasks/{ref}"),
    ("GET", "/tasks/{ref}/diff"),
    ("GET", "/tasks/{ref}/live"),
    *(("POST", f"/tasks/{{ref}}/{action}") for action in TASK_ACTIONS),
    ("GET", "/pulls/{pull_id}"),
    ("POST", "/pulls/{pull_id}/{action}"),
    ("GET", "/tasks/new"),
    ("GET", "/tasks/new/parameters"),
    ("POST", "/tasks/new"),
    ("GET", "/tasks"),
    ("GET", "/board"),
    ("GET", "/board/columns"),
    ("GET", "/board/stream"),
    ("POST", "/webhooks/github"),
    ("POST", "/webhooks/intake/{slug}"),  # the source's secret or signature authenticates it
    ("GET", "/settings"),
    ("POST", "/settings/password"),
    ("GET", "/settings/tokens"),
    ("POST", "/settings/tokens"),
    ("POST", "/settings/tokens/{token_id}/revoke"),
    ("GET", "/settings/secrets"),
    ("POST", "/settings/secrets"),
    ("POST", "/settings/secrets/{name}/delete"),
    ("GET", "/settings/external-auth"),
    ("POST", "/settings/external-auth/github"),
    ("GET", "/settings/notifications"),
    ("POST", "/settings/notifications/channels"),
    ("POST", "/settings/notifications/channels/{channel_id}"),
    ("POST", "/settings/notifications/channels/{channel_id}/delete"),
    ("POST", "/settings/notifications/preferences"),
    ("GET", "/templates"),
    ("POST", "/templates"),
    ("GET", "/templates/{name}"),
    ("GET", "/templates/{name}/{version}"),
    ("GET", "/workflows"),
    ("POST", "/workflows"),
    ("POST", "/workflows/{name}/default"),
    # Linking a GitHub account in a browser: the one-time state is the credential.
    ("GET", "/settings/external-auth/github/start"),
    ("GET", "/settings/external-auth/github/callback"),
}
# Path parameters: real-looking names, existing or not (the scope is checked first).
PATH_VALUES = {
    "ref": "TY-1",
    "username": "admin",
    "token_id": "1",
    "trigger_id": "1",
    "channel_id": "1",
    "delivery_id": "1",
    "name": "X",
    "slug": "default",
    "owner": "acme",
    "repo": "shop",
    "team": "TY",
    "provider": "github",
    "external_id": "123",
}


def app_routes() -> dict[tuple[str, str], APIRoute]:
    found = {}
    for context in iter_route_contexts(create_app(Settings()).routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for method in context.methods or ():
                found[method, str(context.path)] = route
    return found


def test_every_route_has_its_scope_in_the_table_or_is_public() -> None:
    assert not SCOPE.keys() & PUBLIC
    assert set(app_routes()) == SCOPE.keys() | PUBLIC
    assert set(SCOPE.values()) <= SCOPES


def _typed(model: Any) -> bool:
    if get_origin(model) is list:
        return _typed(get_args(model)[0])
    return isinstance(model, type) and issubclass(model, BaseModel)


def test_every_api_route_declares_a_typed_response() -> None:
    for (method, path), route in app_routes().items():
        if not route.include_in_schema:
            continue  # HTML pages
        if route.status_code == 204:
            assert route.response_model is None, (method, path)
        elif route.response_class is PlainTextResponse:
            assert route.response_model is str, (method, path)
        else:
            assert _typed(route.response_model), (method, path, route.response_model)


def test_a_token_without_the_scope_is_refused_on_every_route(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    others = {ADMIN, INSTALLATION_ADMIN}
    for scope in sorted(set(SCOPE.values())):
        # installation:admin is apart from admin: an organization's admin lacks it.
        held = SCOPES - {scope} - (set() if scope == INSTALLATION_ADMIN else others)
        headers = {"Authorization": f"Bearer {token_with(api, *sorted(held))}"}
        for (method, template), needed in SCOPE.items():
            if needed != scope:
                continue
            operation = spec["paths"][template][method.lower()]
            path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m[1]], template)
            body = minimal_body(operation, components, "x")
            kwargs: dict[str, Any] = {"json": body} if "requestBody" in operation else {}
            response = httpx.request(
                method, f"{api.base_url}{path}", headers=headers, timeout=10, **kwargs
            )
            assert response.status_code == 403, (method, path, response.text)
            assert scope in response.json()["error"]["message"], (method, path)


ACCESS_CALLS = {"require", "require_admin", "same_org", "has"}
IDENTITY = {"org_id", "user_id", "scopes"}


def test_routes_decide_no_access_and_hand_services_the_principal() -> None:
    """No route checks a scope, nor passes on parts of the principal a service could
    trust instead of checking: access is the services' to decide."""
    for module in Path(routes.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Call):
                called = node.func
                name = called.attr if isinstance(called, ast.Attribute) else ""
                name = called.id if isinstance(called, ast.Name) else name
                assert name not in ACCESS_CALLS, (module.name, node.lineno)
            if isinstance(node, ast.Attribute) and node.attr in IDENTITY:
                owner = node.value
                assert not (isinstance(owner, ast.Name) and owner.id == "principal"), (
                    module.name,
                    node.lineno,
                )
