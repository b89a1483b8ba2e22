"""The exception hierarchy of taskyard.

    TaskyardError                 base; carries an HTTP status and a machine code
    ├── InvalidInput (400)        the request is malformed or breaks a rule
    ├── Unauthenticated (401)     no token, or a token that does not verify
    ├── Forbidden (403)           the token lacks a scope
    ├── NotFound (404)            no such thing (or not in the caller's organization)
    ├── Conflict (409)            the request clashes with current state
    └── Unavailable (503)         a dependency (Temporal, the database) cannot be reached

One handler in ``taskyard.api.app`` turns them into ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from typing import Any


class TaskyardError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(TaskyardError):
    status = 400
    code = "invalid"


class Unauthenticated(TaskyardError):
    status = 401
    code = "unauthenticated"


class Forbidden(TaskyardError):
    status = 403
    code = "forbidden"


class NotFound(TaskyardError):
    status = 404
    code = "not_found"


class Conflict(TaskyardError):
    status = 409
    code = "conflict"


class Unavailable(TaskyardError):
    status = 503
    code = "unavailable"
