"""Intake from other products (docs/intake.md): the sources, and their deliveries.

``/api/v1/intake/sources``: read with ``tasks:read``, changed with ``admin``.
``POST /webhooks/intake/{slug}``: no API token (Sentry or a support desk cannot send
one); the source's secret authenticates it (:mod:`taskyard.services.intake_receiver`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, Security
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel

from taskyard.api.deps import EngineDep, PrincipalDep, SessionDep, SettingsDep
from taskyard.api.openapi import errors, links
from taskyard.api.outputs import ErrorOut
from taskyard.db.models import IntakeSource
from taskyard.services import intake, intake_sources
from taskyard.services.intake_sources import SourceCreate

router = APIRouter(tags=["intake"])
SOURCES = "/api/v1/intake/sources"
SOURCE = SOURCES + "/{slug}"
Slug = Annotated[str, Path(max_length=64)]
# How a delivery proves its source, described as the route's security schemes (any one).
PROOFS = [
    Security(
        APIKeyHeader(
            name="Sentry-Hook-Signature",
            scheme_name="sentrySignature",
            description="Sentry sources: the hex HMAC-SHA256 of the body with the "
            "integration's client secret, as Sentry signs.",
            auto_error=False,
        )
    ),
    Security(
        HTTPBearer(
            scheme_name="intakeSecret",
            description="Support and webhook sources: the source's secret.",
            auto_error=False,
        )
    ),
    Security(
        APIKeyHeader(
            name="X-Taskyard-Signature",
            scheme_name="intakeSignature",
            description="Support and webhook sources: `sha256=` and the hex HMAC-SHA256 of "
            "the body with the source's secret.",
            auto_error=False,
        )
    ),
]


class IntakeSourceOut(BaseModel):
    slug: str
    name: str
    kind: str
    url: str  # where the product sends deliveries, relative to the server
    repository: str
    team: str | None
    template: str | None
    workflow: str | None
    prompt: str
    mapping: dict[str, str]
    created_at: dt.datetime


class IntakeSourceCreated(IntakeSourceOut):
    secret: str  # shown this once, never again


class IntakeOut(BaseModel):
    delivery: str
    outcome: str
    task: str  # the task made, or the open task the delivery was added to; "" for none
    count: int  # deliveries that task has had, this one included (0: none)


def _out(source: IntakeSource) -> dict[str, Any]:
    return {
        "slug": source.slug,
        "name": source.name,
        "kind": source.kind,
        "url": f"/webhooks/intake/{source.slug}",
        "repository": source.repository,
        "team": source.team,
        "template": source.template,
        "workflow": source.workflow,
        "prompt": source.prompt,
        "mapping": source.mapping,
        "created_at": source.created_at,
    }


@router.get(SOURCES, response_model=list[IntakeSourceOut])
def list_sources(session: SessionDep, principal: PrincipalDep) -> list[IntakeSourceOut]:
    """The organization's intake sources (their secrets are never shown)."""
    found = intake_sources.list_sources(session, principal)
    return [IntakeSourceOut.model_validate(_out(s)) for s in found]


@router.post(
    SOURCES,
    status_code=201,
    response_model=IntakeSourceCreated,
    responses={**links(201, "slug", ("GET", SOURCE, "slug"), ("DELETE", SOURCE, "slug")),
               **errors(409)},
)  # fmt: skip
def create_source(
    body: SourceCreate, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> IntakeSourceCreated:
    """Let another product open tasks (needs ``admin``). The answer holds the secret:
    the only time it is shown."""
    roots = settings.local_repository_roots
    source, secret = intake_sources.create(session, settings, principal, body, roots)
    return IntakeSourceCreated.model_validate({**_out(source), "secret": secret})


@router.get(SOURCE, response_model=IntakeSourceOut)
def get_source(slug: Slug, session: SessionDep, principal: PrincipalDep) -> IntakeSourceOut:
    """One intake source."""
    return IntakeSourceOut.model_validate(_out(intake_sources.get(session, principal, slug)))


@router.delete(SOURCE, status_code=204)
def delete_source(slug: Slug, session: SessionDep, principal: PrincipalDep) -> None:
    """Remove an intake source (needs ``admin``): its deliveries are refused from now on;
    its tasks stay."""
    intake_sources.delete(session, principal, slug)


async def _body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/webhooks/intake/{slug}",
    dependencies=PROOFS,
    status_code=201,
    response_model=IntakeOut,
    responses={
        200: {
            "model": IntakeOut,
            "description": "No task was created: the delivery was received before, is one "
            "taskyard does not act on, or was added (with its count) to the open task of "
            "its Sentry issue, ticket or key.",
        },
        401: {
            "model": ErrorOut,
            "description": "The signature or secret is missing or is not the source's.",
        },
        **errors(404, 413, 503),
    },
)
def intake_webhook(
    slug: Slug,
    request: Request,
    response: Response,
    body: Annotated[bytes, Depends(_body)],
    session: SessionDep,
    settings: SettingsDep,
    engine: EngineDep,
) -> IntakeOut:
    """Receive a delivery from an intake source: a Sentry webhook (signed with the
    integration's client secret in `Sentry-Hook-Signature`), a support ticket or any JSON
    (with `Authorization: Bearer <secret>` or `X-Taskyard-Signature: sha256=<HMAC>`).

    201: a task was created. 200: see that response.
    """
    got = intake.receive(session, settings, engine, slug, body, request.headers)
    if not got.created:
        response.status_code = 200
    return IntakeOut(delivery=got.delivery, outcome=got.outcome, task=got.task, count=got.count)
