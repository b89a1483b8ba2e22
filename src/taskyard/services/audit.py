"""The audit log: who did what to an organization's tasks and settings.

Every service that changes something a person is accountable for (a task created,
approved, sent back or cancelled; a template, secret, token, workflow, user or forge
setting changed) calls :func:`record` in the same transaction as the change, so an
entry exists exactly when the change does. Secrets' values never reach it: an entry
names what changed, not what it now holds. Only an organization's admins read it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import AuditEntry, utcnow
from taskyard.services.access import Principal, require_admin

ACTIONS = (
    "task.created",
    "task.started",
    "task.approved",
    "task.changes_requested",
    "task.cancelled",
    "task.reviewers_set",
    "template.pushed",
    "secret.set",
    "secret.deleted",
    "token.created",
    "token.revoked",
    "workflow.created",
    "workflow.made_default",
    "workflow.archived",
    "workflow.deleted",
    "user.created",
    "identity.linked",
    "team.created",
    "team.limit_set",
    "forge.set",
    "forge.removed",
    "organization.created",
    "organization.renamed",
    "organization.owners_set",
    "github_trigger.created",
    "github_trigger.deleted",
    "session.signed_in",
    "user.password_set",
    "intake_source.created",
    "intake_source.deleted",
    "schedule.created",
    "schedule.updated",
    "schedule.paused",
    "schedule.resumed",
    "schedule.triggered",
    "schedule.deleted",
    "pull.merged",
    "pull.closed",
)


def record(
    session: Session,
    principal: Principal,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Note that ``principal`` did ``action`` to ``target`` (a task key, a name...)."""
    assert action in ACTIONS, action
    session.add(
        AuditEntry(
            org_id=principal.org_id,
            actor=principal.username,
            token_id=principal.token_id,
            action=action,
            target=target[:500],
            detail=detail or {},
            created_at=utcnow(),
        )
    )


def entries(
    session: Session,
    principal: Principal,
    *,
    after: int = 0,
    limit: int = 100,
    action: str | None = None,
    actor: str | None = None,
) -> list[AuditEntry]:
    """The organization's entries after id ``after``, oldest first."""
    require_admin(principal)
    query = select(AuditEntry).where(AuditEntry.org_id == principal.org_id, AuditEntry.id > after)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    return list(session.scalars(query.order_by(AuditEntry.id).limit(limit)))
