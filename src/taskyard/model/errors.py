"""The exception hierarchy of taskyard.

    TaskyardError                 base; carries an HTTP status and a machine code
    ├── Permanent                 a retry cannot fix it: a person must act
    │   ├── InvalidInput (400)    the request is malformed or breaks a rule
    │   ├── Unauthenticated (401) no token, or a token that does not verify
    │   ├── Forbidden (403)       the token lacks a scope
    │   ├── NotFound (404)        no such thing (or not in the caller's organization)
    │   └── Misconfigured (500)   the server's configuration is wrong (e.g. its secret key)
    ├── Conflict (409)            the request clashes with current state
    └── Unavailable (503)         a dependency (Temporal, the database) cannot be reached

One handler in ``taskyard.api.app`` turns them into ``{"error": {"code", "message"}}``.
The engine fails a task at once on a :class:`Permanent` error, with its message,
and retries any other: an error that a retry cannot fix derives from it.
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


class Permanent(TaskyardError):
    """A failure that trying again cannot fix: the message says what a person must do."""


class InvalidInput(Permanent):
    status = 400
    code = "invalid"


class Unauthenticated(Permanent):
    status = 401
    code = "unauthenticated"


class Forbidden(Permanent):
    status = 403
    code = "forbidden"


class NotFound(Permanent):
    status = 404
    code = "not_found"


class Misconfigured(Permanent):
    code = "misconfigured"


class Conflict(TaskyardError):
    status = 409
    code = "conflict"


class Unavailable(TaskyardError):
    status = 503
    code = "unavailable"
