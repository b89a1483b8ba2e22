"""The API in-process (no engine) for fast tests of validation, auth and isolation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from taskyard.api.app import create_app
from taskyard.config import Settings
from taskyard.db.session import migrate, session_scope
from taskyard.services import teams, tokens, users
from taskyard.services.bootstrap import ensure_bootstrapped
from tests.conftest import ADMIN_TOKEN, LOOPBACK_ALLOWED, forge_stand_in_allowed
from tests.support.server import serve_app


def bootstrapped(directory: Path, database_url: str) -> Settings:
    """Settings for a migrated database with the first organization; local repositories
    may be anywhere under ``directory``."""
    settings = Settings(
        data_dir=directory / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        local_repository_roots=[directory],
        outbound_allowed_hosts=LOOPBACK_ALLOWED,
    )
    migrate(settings.resolved_database_url)
    with session_scope(settings.resolved_database_url) as session:
        ensure_bootstrapped(session, ADMIN_TOKEN)
    return settings


@pytest.fixture
def api_settings(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> Settings:
    return forge_stand_in_allowed(bootstrapped(tmp_path, database_url), request)


@pytest.fixture
def api(api_settings: Settings) -> Iterator[httpx.Client]:
    with serve_app(create_app(api_settings), ADMIN_TOKEN) as client:
        yield client


@pytest.fixture
def other_org_token(api_settings: Settings) -> str:
    """An admin token of a second organization."""
    with session_scope(api_settings.resolved_database_url) as session:
        org = teams.create_organization(session, "rival", "Rival Inc", "*")
        teams.create_team(session, org.id, "RV", "Rival team")
        user = users.create_user(session, org.id, "eve", is_admin=True)
        _, value = tokens.create_token(session, user, "eve", ["admin"])
    return value


def token_with(api: httpx.Client, *scopes: str, user: str = "admin") -> str:
    response = api.post("/api/v1/tokens", json={"name": "t", "scopes": list(scopes), "user": user})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def minimal_body(
    operation: dict[str, Any], components: dict[str, Any], text: str
) -> dict[str, Any]:
    """A JSON body with only the required fields of ``operation``'s, strings set to ``text``."""
    content = operation.get("requestBody", {}).get("content", {})
    return _required_fields(content.get("application/json", {}).get("schema", {}), components, text)


def _required_fields(
    schema: dict[str, Any], components: dict[str, Any], text: str
) -> dict[str, Any]:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    examples = {"string": text, "integer": 1, "boolean": False, "array": [], "object": {}}
    body: dict[str, Any] = {}
    for name in schema.get("required", []):
        field = schema["properties"][name]
        if "$ref" in field:  # a nested object: its own required fields
            body[name] = _required_fields(field, components, text)
            continue
        # An optional value (``int | None``) is an ``anyOf`` with null: take its type.
        kinds = [field.get("type")] + [o.get("type") for o in field.get("anyOf", [])]
        kind = next((k for k in kinds if k not in (None, "null")), "string")
        body[name] = examples.get(kind, text)
    return body
