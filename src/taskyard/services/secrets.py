"""Organization secrets, encrypted at rest; values are never returned once set.

The key is ``TASKYARD_SECRET_KEY``, else one generated once in the data dir: right
for one machine, wrong for several, where a worker could not read what ``serve``
stored. A process that shares its database or Temporal with others therefore
refuses to start without the shared key (:func:`require_shared_key`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import Secret
from taskyard.model import redaction
from taskyard.model.errors import InvalidInput, Misconfigured, NotFound
from taskyard.services import audit
from taskyard.services.access import Principal, require

NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")


def _fernet_key(settings: Settings) -> bytes:
    """The key from TASKYARD_SECRET_KEY, else one generated once in the data dir."""
    if settings.secret_key:
        return base64.urlsafe_b64encode(hashlib.sha256(settings.secret_key.encode()).digest())
    path: Path = settings.data_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    return path.read_bytes().strip()


def _fernet(settings: Settings) -> Fernet:
    return Fernet(_fernet_key(settings))


def derived_key(settings: Settings, purpose: str) -> bytes:
    """A key for ``purpose`` (e.g. signing forms) derived from the secrets' key: one key
    to configure and share, and a key for one purpose tells nothing of the others."""
    return hmac.new(_fernet_key(settings), purpose.encode(), hashlib.sha256).digest()


def require_shared_key(settings: Settings) -> None:
    """Refuse to start a process of a scale-out deployment without the shared key:
    its own generated key could not read what the others store, nor they its."""
    if settings.secret_key or not settings.scale_out:
        return
    shared = (
        "a Temporal cluster (TASKYARD_TEMPORAL_ADDRESS)"
        if settings.temporal_address
        else "a database server (TASKYARD_DATABASE_URL)"
    )
    raise Misconfigured(
        f"TASKYARD_SECRET_KEY is not set, and this process shares {shared} with others. "
        "Secrets one process stores must be readable by every other, so `taskyard serve` "
        "and every `taskyard worker` need the same key: set TASKYARD_SECRET_KEY to one "
        "long random value (e.g. from `openssl rand -base64 32`) in all of them."
    )


def seal(settings: Settings, value: str) -> str:
    """``value`` encrypted with the secrets' key (for other stored credentials)."""
    return _fernet(settings).encrypt(value.encode()).decode()


def unseal(settings: Settings, ciphertext: str, name: str, again: str) -> str:
    """What :func:`seal` encrypted; ``Misconfigured`` naming ``name`` and how to set it
    ``again`` if this process's key cannot read it."""
    return _decrypt(_fernet(settings), settings, Secret(name=name, ciphertext=ciphertext), again)


def _decrypt(fernet: Fernet, settings: Settings, secret: Secret, again: str = "") -> str:
    try:
        return fernet.decrypt(secret.ciphertext.encode()).decode()
    except InvalidToken as exc:
        key = (
            "TASKYARD_SECRET_KEY"
            if settings.secret_key
            else f"key generated in {settings.data_dir / 'secret.key'} (TASKYARD_SECRET_KEY "
            "is not set)"
        )
        raise Misconfigured(
            f"The secret {secret.name} cannot be decrypted with this process's {key}: it was "
            "stored with another key. Every process (`taskyard serve` and each worker) must "
            "share one TASKYARD_SECRET_KEY; set the same value in all of them, or set the "
            f"secret again ({again or f'PUT /api/v1/secrets/{secret.name}'})."
        ) from exc


def set_secret(
    session: Session, settings: Settings, principal: Principal, name: str, value: str
) -> Secret:
    require(principal, "secrets:write")
    org_id = principal.org_id
    if not NAME.match(name):
        raise InvalidInput("Secret names are UPPER_SNAKE_CASE, e.g. NPM_TOKEN.")
    if not value:
        raise InvalidInput("Secret value must not be empty.")
    ciphertext = _fernet(settings).encrypt(value.encode()).decode()
    secret = session.scalar(select(Secret).where(Secret.org_id == org_id, Secret.name == name))
    if secret is None:
        secret = Secret(org_id=org_id, name=name, ciphertext=ciphertext)
        session.add(secret)
    else:
        secret.ciphertext = ciphertext
    session.flush()
    audit.record(session, principal, "secret.set", name)  # its name only, never its value
    return secret


def _secrets_of(session: Session, org_id: int) -> list[Secret]:
    return list(
        session.scalars(select(Secret).where(Secret.org_id == org_id).order_by(Secret.name))
    )


def list_secrets(session: Session, principal: Principal) -> list[Secret]:
    require(principal, "secrets:write")  # even names are for those who may set them
    return _secrets_of(session, principal.org_id)


def delete_secret(session: Session, principal: Principal, name: str) -> None:
    require(principal, "secrets:write")
    mine = Secret.org_id == principal.org_id
    secret = session.scalar(select(Secret).where(mine, Secret.name == name))
    if secret is None:
        raise NotFound(f"Secret '{name}' not found.")
    session.delete(secret)
    audit.record(session, principal, "secret.deleted", name)


def reveal(session: Session, settings: Settings, org_id: int, names: list[str]) -> dict[str, str]:
    """Decrypt the named secrets, for passing into a sandbox (never into a response)."""
    rows = {
        s.name: s
        for s in session.scalars(
            select(Secret).where(Secret.org_id == org_id, Secret.name.in_(names))
        )
    }
    missing = sorted(set(names) - set(rows))
    if missing:
        raise InvalidInput(f"Secret(s) not set in this organization: {', '.join(missing)}.")
    fernet = _fernet(settings)
    return {name: _decrypt(fernet, settings, rows[name]) for name in names}


# Server-wide settings whose values are secrets, masked and refused like an
# organization's own (named by their environment variable).
SERVER_SECRETS = (
    "admin_token",
    "secret_key",
    "github_token",
    "github_app_private_key",
    "github_oauth_client_secret",
    "anthropic_api_key",
    "openai_api_key",
    "gemini_api_key",
    "smtp_password",
)


def known_values(session: Session, settings: Settings, org_id: int) -> dict[str, str]:
    """Every secret value the server knows that a task of ``org_id`` could meet, by name:
    the organization's secrets and the server-wide keys and tokens.

    For masking (events, diffs, patches) and for refusing deliveries that carry
    one, never for display.
    """
    values = server_values(settings)
    fernet = _fernet(settings)
    for secret in _secrets_of(session, org_id):
        values[secret.name] = _decrypt(fernet, settings, secret)
    redaction.remember(values.values())
    return values


def server_values(settings: Settings) -> dict[str, str]:
    """The server-wide secrets (keys and tokens from the settings), by variable name."""
    return {
        f"TASKYARD_{name.upper()}": value
        for name in SERVER_SECRETS
        if (value := str(getattr(settings, name)))
    }
