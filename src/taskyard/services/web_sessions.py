"""Browsers signing in: a password or an API token buys a short-lived token of its own.

A browser's session is an API token (``expires_at`` set) whose value lives only in an
HttpOnly cookie, so every check the API makes on a token (its scopes, its organization,
revocation) holds for the dashboard too, with nothing to keep in step. Signing in with
an API token mints a child of it: revoking that token signs its browsers out. Signing
out revokes the session's token.

The CSRF token of a form is derived from the session's token (an HMAC under a key only
the server has), so a page from another site, which cannot read the cookie, cannot
make one either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
import time
from collections import deque

from pwdlib import PasswordHash
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskyard.db.models import ApiToken, Organization, User, utcnow
from taskyard.model.errors import InvalidInput, Unauthenticated
from taskyard.services import audit, tokens
from taskyard.services.access import ADMIN, PERSON_SCOPES, Principal

SESSION_NAME = "browser sign-in"
SESSION_LIFETIME = dt.timedelta(hours=12)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a bound keeps one request's cost bounded
FAILURES_ALLOWED = 5  # per username, per window, before sign-in is refused for a while
FAILURE_WINDOW = 300.0
WRONG = "Wrong username or password."

hasher = PasswordHash.recommended()
# Verified against when no such user exists, so a wrong username costs as long as a
# wrong password and timing does not tell which usernames exist.
_DECOY = hasher.hash("not a password of anyone's")


class _Throttle:
    """Recent failed sign-ins per username, in this process: slows password guessing."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, username: str) -> None:
        with self._lock:
            recent = self._recent(username)
            if len(recent) >= FAILURES_ALLOWED:
                wait = int(recent[0] + FAILURE_WINDOW - time.monotonic()) + 1
                raise Unauthenticated(
                    f"Too many failed sign-ins for {username!r}: try again in {wait} s."
                )

    def failed(self, username: str) -> None:
        with self._lock:
            self._recent(username).append(time.monotonic())

    def _recent(self, username: str) -> deque[float]:
        recent = self._failures.setdefault(username, deque(maxlen=FAILURES_ALLOWED))
        while recent and recent[0] < time.monotonic() - FAILURE_WINDOW:
            recent.popleft()
        return recent


throttle = _Throttle()


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"A password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters; "
            f"this one has {len(password)}."
        )


def set_password(session: Session, user: User, password: str) -> None:
    """Give ``user`` a password (rules checked); their browsers stay signed in."""
    check_password_rules(password)
    user.password_hash = hasher.hash(password)


def _candidates(session: Session, username: str, organization: str) -> list[User]:
    query = select(User).where(User.username == username)
    if organization:
        query = query.join(Organization, Organization.id == User.org_id).where(
            Organization.slug == organization
        )
    return list(session.scalars(query.limit(2)))


def _mint(session: Session, user: User, scopes: list[str], parent_id: int | None) -> str:
    token, value = tokens.create_token(session, user, SESSION_NAME, scopes, parent_id=parent_id)
    token.expires_at = utcnow() + SESSION_LIFETIME
    return value


def sign_in_with_password(
    session: Session, username: str, password: str, organization: str = ""
) -> str:
    """The value of a new session token for the user with that password, or Unauthenticated.

    ``organization`` (its slug) is needed only when the username exists in several.
    """
    username = username.strip()[:64]
    throttle.check(username)
    found = _candidates(session, username, organization.strip()[:64])
    if len(found) > 1:
        raise Unauthenticated(
            f"Several organizations have a user {username!r}: give your organization too."
        )
    user = found[0] if found else None
    if user is None or not user.password_hash or len(password) > MAX_PASSWORD:
        hasher.verify(password[:MAX_PASSWORD], _DECOY)  # as long as a real check
        throttle.failed(username)
        raise Unauthenticated(WRONG)
    if not hasher.verify(password, user.password_hash):
        throttle.failed(username)
        raise Unauthenticated(WRONG)
    scopes = [ADMIN] if user.is_admin else sorted(PERSON_SCOPES)
    value = _mint(session, user, scopes, parent_id=None)
    audit.record(session, _principal_of(user, scopes), "session.signed_in", user.username, {})
    return value


def sign_in_with_token(session: Session, value: str) -> str:
    """A session token for the holder of API token ``value``, with its scopes, as its child."""
    principal = tokens.authenticate(session, value)
    user = session.get(User, principal.user_id)
    assert user is not None  # authenticate just read it
    return _mint(session, user, sorted(principal.scopes), parent_id=principal.token_id)


def sign_out(session: Session, principal: Principal) -> None:
    """Revoke the session's token (only a browser session: never the API token behind it)."""
    token = session.get(ApiToken, principal.token_id) if principal.token_id else None
    if token is not None and token.expires_at is not None and token.revoked_at is None:
        token.revoked_at = utcnow()


def csrf_token(key: bytes, session_value: str) -> str:
    """The CSRF token for forms of the session whose token is ``session_value``."""
    return hmac.new(key, b"csrf:" + session_value.encode(), hashlib.sha256).hexdigest()


def csrf_matches(key: bytes, session_value: str, offered: str) -> bool:
    return hmac.compare_digest(csrf_token(key, session_value), offered)


def _principal_of(user: User, scopes: list[str]) -> Principal:
    return Principal(
        user_id=user.id, org_id=user.org_id, username=user.username, scopes=frozenset(scopes)
    )
