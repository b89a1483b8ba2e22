"""Response shapes of everything but tasks (see ``schemas``): what OpenAPI promises.

Times are ``datetime`` values read back as UTC (``taskyard.db.models.UtcDateTime``),
which pydantic writes with a ``Z``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorOut(BaseModel):
    """Every error: a machine-readable ``code`` and a ``message`` saying what to fix."""

    error: ErrorBody


class HealthOut(BaseModel):
    status: str
    engine: str


class UserOut(BaseModel):
    username: str
    name: str
    email: str
    admin: bool
    created_at: dt.datetime


class IdentityOut(BaseModel):
    user: str
    provider: str
    external_id: str
    login: str


class GitHubLinkOut(BaseModel):
    url: str  # open it in a browser; it works once
    expires_at: dt.datetime


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    revoked: bool


class TokenCreated(TokenOut):
    token: str
    user: str


class TemplateSummary(BaseModel):
    name: str
    version: int
    agent: str | None
    description: str
    created_at: dt.datetime


class TemplateOut(TemplateSummary):
    source: str
    spec: dict[str, Any]


class SecretOut(BaseModel):
    name: str
    updated_at: dt.datetime


class TeamOut(BaseModel):
    key: str
    slug: str
    name: str
    tasks: int
    max_running: int | None = Field(
        description="The team's own limit on agent runs at once; null: the installation's."
    )
    limit: int = Field(description="The limit in force (0: none).")
    running: int = Field(description="Its tasks running an agent now.")
    queued: int = Field(description="Its tasks waiting in line for a slot.")


class WorkflowOut(BaseModel):
    team: str
    name: str
    default: bool
    archived: bool
    stages: list[dict[str, Any]]
    active_tasks: int | None = None


class EventOut(BaseModel):
    id: int
    kind: str
    run_id: int | None
    data: dict[str, Any]
    created_at: dt.datetime


class EventPage(BaseModel):
    items: list[EventOut]
    next_after: int


class AuditEntryOut(BaseModel):
    id: int
    actor: str = Field(description="The username behind the token that acted.")
    token_id: int | None
    action: str = Field(description="`task.created`, `secret.set`, `token.revoked`...")
    target: str = Field(description="What it acted on: a task key, a name.")
    detail: dict[str, Any]
    created_at: dt.datetime


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_after: int = Field(description="Pass as `after` for the next page.")


class PullOut(BaseModel):
    number: int
    forge: str
    repository: str
    url: str
    title: str
    body: str
    head: str
    base: str
    state: str
    draft: bool = Field(description="Open as a draft: not yet ready for review.")
    head_sha: str
    files_changed: int
    additions: int
    deletions: int
    created_at: dt.datetime
    updated_at: dt.datetime


class OrganizationOut(BaseModel):
    slug: str
    name: str
    users: int
    created_at: dt.datetime
    repository_owners: list[str]


class OrganizationCreated(BaseModel):
    organization: OrganizationOut
    admin: str
    team: str
    token: str


class ForgeOut(BaseModel):
    kind: str
    url: str
    api_url: str


class RepositoryForgeOut(ForgeOut):
    repository: str


class ForgesOut(BaseModel):
    kinds: list[str] = Field(description="Every forge this server knows.")
    default: ForgeOut = Field(description="Where the organization's repositories are.")
    repositories: list[RepositoryForgeOut] = Field(description="Repositories with their own.")


class GitHubTriggerOut(BaseModel):
    id: int
    repository: str
    kind: str
    value: str
    paths: list[str]
    team: str | None
    template: str | None
    workflow: str | None
    prompt: str
    created_at: dt.datetime
