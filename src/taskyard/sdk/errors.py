"""The errors the SDK raises: the client's own, apart from the server's exceptions.

A program that only talks to a taskyard server imports none of the server to catch them::

    TaskyardError                 every SDK error: .message, .status, .code, .details
    ├── TaskyardAPIError          the server answered 4xx/5xx
    │   ├── InvalidInput          400, 413: the request is malformed or breaks a rule
    │   ├── Unauthenticated       401: no token, or one that does not verify
    │   ├── Forbidden             403: the token lacks a scope
    │   ├── NotFound              404: no such thing (or not in the caller's organization)
    │   ├── Conflict              409: the request clashes with the current state
    │   ├── Unavailable           503: the server's engine or database cannot be reached
    │   └── ServerError           500 and any other 5xx
    └── TaskyardConnectionError   the server could not be reached, or a stream broke for good

Any other status (405, 429, ...) is a plain :class:`TaskyardAPIError`. The class follows
the HTTP status, not the body, so a proxy's bare 502 is a :class:`ServerError` too.
"""

from __future__ import annotations

from typing import Any


class TaskyardError(Exception):
    """Base of every error the SDK raises.

    Attributes:
        message: What went wrong, written for a person.
        status: The HTTP status code, or None when no answer came.
        code: The server's machine-readable code (``invalid``, ``not_found``, ...).
        details: Anything else the server said about it (often empty).
    """

    status: int | None = None
    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class TaskyardAPIError(TaskyardError):
    """The server answered with an error: ``{"error": {"code", "message"}}`` and a 4xx/5xx."""

    status: int

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details=details)
        self.status = status
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.message!r})"


class InvalidInput(TaskyardAPIError):
    """400 or 413: the request is malformed, too large, or breaks a rule."""


class Unauthenticated(TaskyardAPIError):
    """401: no token, or a token that does not verify (revoked, mistyped)."""


class Forbidden(TaskyardAPIError):
    """403: the token lacks a scope the request needs."""


class NotFound(TaskyardAPIError):
    """404: no such thing, or not in the caller's organization."""


class Conflict(TaskyardAPIError):
    """409: the request clashes with the current state (approving a task not waiting)."""


class Unavailable(TaskyardAPIError):
    """503: the server cannot reach its engine or database now; try again later."""


class ServerError(TaskyardAPIError):
    """500 or another 5xx: the server (or a proxy in front of it) failed."""


class TaskyardConnectionError(TaskyardError):
    """The server could not be reached (or a live stream could not be resumed)."""

    code = "connection"


_BY_STATUS: dict[int, type[TaskyardAPIError]] = {
    400: InvalidInput,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidInput,
    503: Unavailable,
}


def api_error_for(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> TaskyardAPIError:
    """The error class an HTTP ``status`` stands for, made with what the server said."""
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else TaskyardAPIError)
    return kind(status, code, message, details)
