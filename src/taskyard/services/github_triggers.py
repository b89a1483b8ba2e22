"""What starts a task on a GitHub repository: an organization's triggers.

Kinds: ``label`` (an issue labelled ``value``, default ``taskyard``), ``assigned`` (an
issue assigned to the GitHub login ``value``), ``comment`` (a comment holding the
phrase ``value`` as a whole word, default ``/taskyard``), ``pull_request`` (a pull
request opened) and ``paths`` (a push, or a pull request opened or updated, that
touches a file matching one of ``paths``). Each names the team, template and
workflow of the task and the prompt it gets (see :mod:`taskyard.services.github_prompt`).

Read with ``tasks:read``; changed with ``admin``, each change audit-logged.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import GitHubTrigger, Organization
from taskyard.model.errors import Conflict, InvalidInput, NotFound
from taskyard.model.inputs import text_problem
from taskyard.services import audit, github_prompt, github_subject, teams, templates, workflows
from taskyard.services.access import Principal, require, require_admin, same_org
from taskyard.services.repository_owners import may_name, require_owner

KINDS = ("label", "assigned", "comment", "pull_request", "paths")
DEFAULT_VALUE = {"label": "taskyard", "comment": "/taskyard"}
REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")
PHRASE = re.compile(r"\S{1,50}")
MAX_LABEL = 50  # GitHub's own limit on a label's name
MAX_PATHS = 50
MAX_PROMPT = 10_000
MAX_TRIGGERS = 100  # per repository and organization


class TriggerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    repository: str = Field(max_length=200, description="`owner/name` on GitHub.")
    kind: str = Field(max_length=20, description="label, assigned, comment, pull_request or paths.")
    value: str = Field(
        "",
        max_length=300,
        description="The label (default `taskyard`), the GitHub login, or the phrase "
        "(default `/taskyard`); for pull_request and paths, an optional name.",
    )
    paths: list[str] = Field(
        default_factory=list,
        max_length=MAX_PATHS,
        description="Globs (`src/**/*.py`) of the files whose change starts a task (paths only).",
    )
    team: str | None = Field(None, max_length=64, description="Team key; the first team.")
    template: str | None = Field(None, max_length=100, description="Template; the team's.")
    workflow: str | None = Field(None, max_length=100, description="Workflow; the team's default.")
    prompt: str = Field(
        "",
        max_length=MAX_PROMPT,
        description="Prompt template: {repository}, {number}, {url}, {title}, {body}, "
        "{comment}; empty uses the default.",
    )


def _value(body: TriggerCreate) -> str:
    value = body.value.strip() or DEFAULT_VALUE.get(body.kind, "")
    if body.kind == "label" and not 0 < len(value) <= MAX_LABEL:
        raise InvalidInput(f"A label is 1 to {MAX_LABEL} characters.")
    if body.kind == "assigned" and not LOGIN.fullmatch(value):
        raise InvalidInput("An 'assigned' trigger names the GitHub login in 'value'.")
    if body.kind == "comment" and not PHRASE.fullmatch(value):
        raise InvalidInput("A comment's phrase is 1 to 50 characters without spaces.")
    if problem := text_problem(value):
        raise InvalidInput(f"'value' {problem}.")
    return value


def _checked(session: Session, org_id: int, body: TriggerCreate) -> GitHubTrigger:
    if body.kind not in KINDS:
        raise InvalidInput(f"Unknown trigger kind '{body.kind[:20]}': use {', '.join(KINDS)}.")
    if not REPOSITORY.fullmatch(body.repository):
        raise InvalidInput(f"'{body.repository[:200]}' is not a GitHub repository: owner/name.")
    require_owner(session, org_id, body.repository)
    if (body.kind == "paths") != bool(body.paths):
        raise InvalidInput("'paths' is given for a paths trigger, and only for one.")
    for glob in body.paths:
        github_subject.compiled(glob)
    if problem := text_problem(body.prompt):
        raise InvalidInput(f"'prompt' {problem}.")
    github_prompt.check_template(body.prompt)
    try:  # named things that do not exist are a mistake in this request: 400, not 404
        team = teams.resolve_team(session, org_id, body.team)
        if body.template:
            templates.get_template(session, org_id, body.template)
        if body.workflow:
            workflows.get_workflow(session, team, body.workflow)
    except NotFound as exc:
        raise InvalidInput(exc.message) from exc
    return GitHubTrigger(
        org_id=org_id,
        repository=body.repository.lower(),
        kind=body.kind,
        value=_value(body),
        paths=list(body.paths),
        team=team.key if body.team else None,
        template=body.template,
        workflow=body.workflow,
        prompt=body.prompt,
    )


def create(session: Session, principal: Principal, body: TriggerCreate) -> GitHubTrigger:
    require_admin(principal)
    trigger = _checked(session, principal.org_id, body)
    same = select(GitHubTrigger).where(
        GitHubTrigger.org_id == principal.org_id,
        GitHubTrigger.repository == trigger.repository,
    )
    rows = session.scalars(same).all()
    if any((r.kind, r.value) == (trigger.kind, trigger.value) for r in rows):
        raise Conflict(
            f"{trigger.repository} already has a {trigger.kind} trigger '{trigger.value}'."
        )
    if len(rows) >= MAX_TRIGGERS:
        raise InvalidInput(f"{trigger.repository} has {MAX_TRIGGERS} triggers, the most it may.")
    session.add(trigger)
    session.flush()
    detail = {"kind": trigger.kind, "value": trigger.value, "id": trigger.id}
    audit.record(session, principal, "github_trigger.created", trigger.repository, detail)
    return trigger


def list_triggers(
    session: Session, principal: Principal, repository: str = ""
) -> list[GitHubTrigger]:
    require(principal, "tasks:read")
    query = select(GitHubTrigger).where(GitHubTrigger.org_id == principal.org_id)
    if repository:
        query = query.where(GitHubTrigger.repository == repository.lower())
    return list(session.scalars(query.order_by(GitHubTrigger.repository, GitHubTrigger.id)))


def delete(session: Session, principal: Principal, trigger_id: int) -> None:
    require_admin(principal)
    missing = f"No GitHub trigger {trigger_id}."
    trigger = session.get(GitHubTrigger, trigger_id)
    if trigger is None:
        raise NotFound(missing)
    same_org(principal, trigger.org_id, missing)
    detail = {"kind": trigger.kind, "value": trigger.value, "id": trigger.id}
    audit.record(session, principal, "github_trigger.deleted", trigger.repository, detail)
    session.delete(trigger)


def for_repository(session: Session, repository: str) -> list[GitHubTrigger]:
    """The triggers on ``repository`` of every organization that may still name it (its
    owner granted: one taken back since starts nothing), oldest first (the engine's read)."""
    query = select(GitHubTrigger).where(GitHubTrigger.repository == repository.lower())
    triggers = list(session.scalars(query.order_by(GitHubTrigger.id)))
    if not triggers:  # most deliveries: no second read
        return []
    orgs = {t.org_id for t in triggers}
    rows = session.execute(
        select(Organization.id, Organization.repository_owners).where(Organization.id.in_(orgs))
    )
    granted = {org_id: owners for org_id, owners in rows}
    return [t for t in triggers if may_name(granted.get(t.org_id, ""), repository)]
