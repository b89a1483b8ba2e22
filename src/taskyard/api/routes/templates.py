"""Templates (versioned YAML) and organization secrets."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from taskyard.api.deps import PrincipalDep, SessionDep, SettingsDep
from taskyard.api.openapi import links
from taskyard.api.outputs import SecretOut, TemplateOut, TemplateSummary
from taskyard.db.models import Secret, Template
from taskyard.model.errors import InvalidInput
from taskyard.model.inputs import MAX_INT32, Body, Digits
from taskyard.services import secrets, templates

router = APIRouter(prefix="/api/v1", tags=["templates"])

# The body is read by ``template_source``, so OpenAPI is told its two forms here.
TEMPLATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"source": {"type": "string"}},
                    "required": ["source"],
                    "additionalProperties": False,
                }
            },
        },
    }
}


class SecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Body


def _fields(row: Template) -> dict[str, Any]:
    return {
        "name": row.name,
        "version": row.version,
        "agent": row.spec.get("agent", {}).get("kind"),
        "description": row.spec.get("description", ""),
        "created_at": row.created_at,
    }


def _summary(row: Template) -> TemplateSummary:
    return TemplateSummary(**_fields(row))


async def template_source(request: Request) -> str:
    """The pushed YAML: the raw body, or ``{"source": ...}`` when sent as JSON.

    Its size was bounded at the edge (``TASKYARD_MAX_TEMPLATE_BYTES``).
    """
    raw = await request.body()
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise InvalidInput("Template must be UTF-8 text.") from exc
    if "json" not in request.headers.get("content-type", ""):
        return text
    try:
        source = json.loads(text)["source"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput('JSON body must be {"source": "<template YAML>"}.') from exc
    if not isinstance(source, str):
        raise InvalidInput('JSON body must be {"source": "<template YAML>"}.')
    return source


@router.post(
    "/templates",
    status_code=201,
    response_model=TemplateSummary,
    openapi_extra=TEMPLATE_BODY,
    responses=links(
        201,
        "name",
        ("GET", "/api/v1/templates/{name}", "name"),
        ("GET", "/api/v1/templates/{name}/versions", "name"),
    ),
)
def push_template(
    source: Annotated[str, Depends(template_source)],
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> TemplateSummary:
    """Push a template as YAML (``Content-Type: application/yaml``) or ``{"source": ...}``.

    A template whose sandbox or network this server does not allow is refused (400).
    """
    return _summary(templates.push_template(session, principal, source, settings))


@router.get("/templates", response_model=list[TemplateSummary])
def list_templates(session: SessionDep, principal: PrincipalDep) -> list[TemplateSummary]:
    return [_summary(r) for r in templates.list_templates(session, principal)]


@router.get("/templates/{name}", response_model=TemplateOut)
def show_template(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    version: Annotated[int | None, Digits, Query(ge=1, le=MAX_INT32)] = None,
) -> TemplateOut:
    row = templates.show_template(session, principal, name, version)
    return TemplateOut(**_fields(row), source=row.source, spec=row.spec)


@router.get("/templates/{name}/versions", response_model=list[TemplateSummary])
def versions(name: str, session: SessionDep, principal: PrincipalDep) -> list[TemplateSummary]:
    return [_summary(r) for r in templates.template_versions(session, principal, name)]


def _secret_out(secret: Secret) -> SecretOut:
    return SecretOut(name=secret.name, updated_at=secret.updated_at)


@router.get("/secrets", response_model=list[SecretOut])
def list_secrets(session: SessionDep, principal: PrincipalDep) -> list[SecretOut]:
    """Names and dates only: a secret's value is never returned once set."""
    return [_secret_out(s) for s in secrets.list_secrets(session, principal)]


@router.put("/secrets/{name}", response_model=SecretOut)
def set_secret(
    name: str, body: SecretIn, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> SecretOut:
    return _secret_out(secrets.set_secret(session, settings, principal, name, body.value))


@router.delete("/secrets/{name}", status_code=204)
def delete_secret(name: str, session: SessionDep, principal: PrincipalDep) -> None:
    secrets.delete_secret(session, principal, name)
