"""Templates (versioned YAML) and organization secrets."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from taskyard.api.deps import PrincipalDep, SessionDep, SettingsDep
from taskyard.db.models import Template
from taskyard.errors import InvalidInput
from taskyard.services import secrets, templates

router = APIRouter(prefix="/api/v1", tags=["templates"])
MAX_TEMPLATE = 256_000


class SecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str


def _out(row: Template, *, source: bool = False) -> dict[str, Any]:
    out = templates.summary(row)
    if source:
        out |= {"source": row.source, "spec": row.spec}
    return out


async def template_source(request: Request) -> str:
    """The pushed YAML: the raw body, or ``{"source": ...}`` when sent as JSON."""
    raw = await request.body()
    if len(raw) > MAX_TEMPLATE:
        raise InvalidInput("Template is larger than 256 kB.")
    text = raw.decode(errors="replace")
    if "json" not in request.headers.get("content-type", ""):
        return text
    try:
        return str(json.loads(text)["source"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput('JSON body must be {"source": "<template YAML>"}.') from exc


@router.post("/templates", status_code=201)
def push_template(
    source: Annotated[str, Depends(template_source)], session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Push a template as YAML (``Content-Type: application/yaml``) or ``{"source": ...}``."""
    principal.require("templates:write")
    return _out(templates.push_template(session, principal.org_id, source))


@router.get("/templates")
def list_templates(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    principal.require("templates:read")
    return [_out(r) for r in templates.list_templates(session, principal.org_id)]


@router.get("/templates/{name}")
def show_template(
    name: str, session: SessionDep, principal: PrincipalDep, version: int | None = None
) -> dict[str, Any]:
    principal.require("templates:read")
    return _out(templates.get_template(session, principal.org_id, name, version), source=True)


@router.get("/templates/{name}/versions")
def versions(name: str, session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    principal.require("templates:read")
    return [_out(r) for r in templates.template_versions(session, principal.org_id, name)]


@router.get("/secrets")
def list_secrets(session: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Names and dates only: a secret's value is never returned once set."""
    principal.require("secrets:write")
    return [
        {"name": s.name, "updated_at": s.updated_at}
        for s in secrets.list_secrets(session, principal.org_id)
    ]


@router.put("/secrets/{name}")
def set_secret(
    name: str, body: SecretIn, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    principal.require("secrets:write")
    secret = secrets.set_secret(session, settings, principal.org_id, name, body.value)
    return {"name": secret.name, "updated_at": secret.updated_at}


@router.delete("/secrets/{name}", status_code=204)
def delete_secret(name: str, session: SessionDep, principal: PrincipalDep) -> None:
    principal.require("secrets:write")
    secrets.delete_secret(session, principal.org_id, name)
