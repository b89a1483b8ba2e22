"""The organization's audit log: who did what (admins only; see services.audit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from taskyard.api.deps import PrincipalDep, SessionDep
from taskyard.api.outputs import AuditEntryOut, AuditPage
from taskyard.model.inputs import MAX_INT64, Digits, Name
from taskyard.services import audit

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def list_audit(
    session: SessionDep,
    principal: PrincipalDep,
    after: Annotated[int, Digits, Query(ge=0, le=MAX_INT64)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Name | None = None,
    actor: Name | None = None,
) -> AuditPage:
    """Entries after id ``after``, oldest first; filter by ``action`` or ``actor``."""
    rows = audit.entries(session, principal, after=after, limit=limit, action=action, actor=actor)
    items = [AuditEntryOut.model_validate(row, from_attributes=True) for row in rows]
    return AuditPage(items=items, next_after=rows[-1].id if rows else after)
