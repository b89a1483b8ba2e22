"""Where a model provider's real key comes from: the organization's secret, else the server's.

An organization without the secret falls back to the server-wide setting, so one
operator key can serve every organization of a small installation.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import Secret
from taskyard.gateway.providers import Provider
from taskyard.model.errors import InvalidInput
from taskyard.services import secrets


def real_key(session: Session, settings: Settings, org_id: int, provider: Provider) -> str:
    """The organization's key for ``provider``, else the server-wide one, else ``""``."""
    stored = session.scalar(
        select(Secret.id).where(Secret.org_id == org_id, Secret.name == provider.secret)
    )
    if stored is not None:
        return secrets.reveal(session, settings, org_id, [provider.secret])[provider.secret]
    return provider.fallback_key(settings)


def require_key(session: Session, settings: Settings, org_id: int, provider: Provider) -> str:
    """:func:`real_key`, or ``InvalidInput`` saying how to provide one."""
    key = real_key(session, settings, org_id, provider)
    if not key:
        raise InvalidInput(
            f"No {provider.label} API key: set the organization secret {provider.secret} "
            f"(PUT /api/v1/secrets/{provider.secret}) or the server setting "
            f"{provider.setting_name()}."
        )
    return key
