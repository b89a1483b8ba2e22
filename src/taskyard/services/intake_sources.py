"""Intake sources: the other products an organization lets open tasks (docs/intake.md).

Kinds: ``sentry`` (an internal integration's issue alerts and issue webhooks, signed
with its client secret), ``support`` (tickets from a support queue) and ``webhook``
(any JSON, read through a mapping, :mod:`taskyard.model.mapping`). Each has a secret,
stored encrypted with the organization secrets' key and shown once, when the source
is created; each names the repository, team, template and workflow of its tasks.

Tasks are created as the admin who configured the source: a person the organization
already trusts with what the source does, and whom the audit log and the task name.
Read with ``tasks:read``; created and removed with ``admin``, each change audit-logged.
"""

from __future__ import annotations

import re
import secrets as random
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import IntakeSource
from taskyard.model import mapping
from taskyard.model.errors import Conflict, InvalidInput, NotFound
from taskyard.model.inputs import text_problem
from taskyard.services import audit, secrets, teams, templates, workflows
from taskyard.services.access import Principal, require, require_admin, same_org
from taskyard.services.repositories import validate_repository
from taskyard.services.repository_owners import require_owner
from taskyard.services.tasks import slugify

KINDS = ("sentry", "support", "webhook")
FIELDS = ("title", "description", "repository", "template", "team", "dedup_key")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
MIN_SECRET = 16
MAX_SOURCES = 100  # per organization


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(max_length=20, description="sentry, support or webhook.")
    name: str = Field(max_length=200, min_length=1, description="What people call it.")
    slug: str = Field(
        "",
        max_length=64,
        description="The last part of its inbound URL, `/webhooks/intake/{slug}` "
        "(lowercase letters, digits, dashes); a random one when empty.",
    )
    secret: str = Field(
        "",
        max_length=500,
        description="The secret deliveries are verified with: Sentry's client secret for "
        "`sentry` (required); a random one is made for the others when empty. Shown once.",
    )
    repository: str = Field("", max_length=500, description="Repository of the tasks.")
    team: str | None = Field(None, max_length=64, description="Team key; the first team.")
    template: str | None = Field(None, max_length=100, description="Template; the team's.")
    workflow: str | None = Field(None, max_length=100, description="Workflow; the team's.")
    prompt: str = Field(
        "",
        max_length=10_000,
        description="The organization's instruction to the agent; a default per kind.",
    )
    mapping: dict[str, str] = Field(
        default_factory=dict,
        max_length=len(FIELDS),
        description="`webhook` only: where title (required), description, repository, "
        "template, team and dedup_key are in the JSON body: a path (`$.alert.title`), a "
        "template (`{{ $.service }}: {{ $.title }}`) or plain text.",
    )


def _mapping(body: SourceCreate) -> dict[str, str]:
    if body.kind != "webhook":
        if body.mapping:
            raise InvalidInput(f"A mapping is for webhook sources, not {body.kind}.")
        return {}
    unknown = sorted(set(body.mapping) - set(FIELDS))
    if unknown:
        raise InvalidInput(
            f"The mapping names '{unknown[0][:50]}': it maps {', '.join(FIELDS)} only."
        )
    if not body.mapping.get("title", "").strip():
        raise InvalidInput("A webhook source's mapping must say where the title is ('title').")
    for field, expression in body.mapping.items():
        if problem := text_problem(expression):
            raise InvalidInput(f"The mapping's '{field}' {problem}.")
        mapping.parse(expression, f"The mapping's '{field}'")
    return dict(body.mapping)


def _secret(body: SourceCreate) -> str:
    secret = body.secret.strip()
    if body.kind == "sentry" and not secret:
        raise InvalidInput(
            "A sentry source needs 'secret': the Client Secret of the Sentry integration."
        )
    if secret and len(secret) < MIN_SECRET:
        raise InvalidInput(f"A secret has at least {MIN_SECRET} characters.")
    if problem := text_problem(secret):
        raise InvalidInput(f"'secret' {problem}.")
    return secret or random.token_urlsafe(32)


def _checked_names(session: Session, org_id: int, body: SourceCreate) -> str | None:
    """The team's key when one is named; 400 for a team, template or workflow that
    does not exist (a mistake in this request, found now rather than at each delivery)."""
    try:
        team = teams.resolve_team(session, org_id, body.team)
        if body.template:
            templates.get_template(session, org_id, body.template)
        if body.workflow:
            workflows.get_workflow(session, team, body.workflow)
    except NotFound as exc:
        raise InvalidInput(exc.message) from exc
    return team.key if body.team else None


def create(
    session: Session,
    settings: Settings,
    principal: Principal,
    body: SourceCreate,
    local_roots: Sequence[Path],
) -> tuple[IntakeSource, str]:
    """The new source and its secret (the only time it is returned)."""
    require_admin(principal)
    if body.kind not in KINDS:
        raise InvalidInput(f"Unknown kind '{body.kind[:20]}': use {', '.join(KINDS)}.")
    found = _mapping(body)
    repository = body.repository.strip()
    if repository:
        repository = validate_repository(repository, local_roots)
        require_owner(session, principal.org_id, repository)
    elif "repository" not in found:
        raise InvalidInput("Name the tasks' 'repository' (or map it, for a webhook source).")
    for text, what in ((body.name, "name"), (body.prompt, "prompt")):
        if problem := text_problem(text):
            raise InvalidInput(f"'{what}' {problem}.")
    slug = body.slug.strip() or f"{slugify(body.name, 40)}-{random.token_hex(4)}"
    if not SLUG.fullmatch(slug):
        raise InvalidInput(
            "A slug is 3 to 64 lowercase letters, digits and dashes, starting with a letter "
            "or digit."
        )
    if session.scalar(select(IntakeSource.id).where(IntakeSource.slug == slug)) is not None:
        raise Conflict(f"The intake slug '{slug}' is taken: choose another.")
    mine = select(IntakeSource.id).where(IntakeSource.org_id == principal.org_id)
    if len(session.scalars(mine).all()) >= MAX_SOURCES:
        raise InvalidInput(f"An organization has at most {MAX_SOURCES} intake sources.")
    secret = _secret(body)
    source = IntakeSource(
        org_id=principal.org_id,
        slug=slug,
        name=body.name.strip(),
        kind=body.kind,
        secret=secrets.seal(settings, secret),
        creator_id=principal.user_id,
        repository=repository,
        team=_checked_names(session, principal.org_id, body),
        template=body.template,
        workflow=body.workflow,
        prompt=body.prompt,
        mapping=found,
    )
    session.add(source)
    session.flush()
    audit.record(session, principal, "intake_source.created", slug, {"kind": body.kind})
    return source, secret


def list_sources(session: Session, principal: Principal) -> list[IntakeSource]:
    require(principal, "tasks:read")
    query = select(IntakeSource).where(IntakeSource.org_id == principal.org_id)
    return list(session.scalars(query.order_by(IntakeSource.id)))


def get(session: Session, principal: Principal, slug: str) -> IntakeSource:
    require(principal, "tasks:read")
    missing = f"No intake source '{slug[:64]}'."
    source = session.scalar(select(IntakeSource).where(IntakeSource.slug == slug))
    if source is None:
        raise NotFound(missing)
    same_org(principal, source.org_id, missing)
    return source


def delete(session: Session, principal: Principal, slug: str) -> None:
    require_admin(principal)
    source = get(session, principal, slug)
    audit.record(session, principal, "intake_source.deleted", slug, {"kind": source.kind})
    session.delete(source)


def by_slug(session: Session, slug: str) -> IntakeSource:
    """The source a delivery names (no caller yet: the delivery is verified next)."""
    source = session.scalar(select(IntakeSource).where(IntakeSource.slug == slug[:64]))
    if source is None:
        raise NotFound(f"No intake source '{slug[:64]}': check the webhook's URL.")
    return source
