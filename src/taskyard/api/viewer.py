"""Who is looking at a page, and whether a form really came from one of our pages.

Pages read the session token from an HttpOnly cookie (an API client's bearer header
works too, without a cookie and so without CSRF exposure). Every form and every htmx
request that changes something carries the session's CSRF token, in the form field
``csrf_token`` or the ``X-CSRF-Token`` header; :func:`checked_viewer` refuses it
otherwise. The cookie is also ``SameSite=Lax``: two locks, since either alone has had
holes in some browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from taskyard.api.deps import bearer_token, principal_of
from taskyard.model.errors import Forbidden, TaskyardError
from taskyard.services import secrets, web_sessions
from taskyard.services.access import Principal

COOKIE = "taskyard_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM = 64 * 1024  # a form's body; larger ones (template YAML) say so in their route


class SignInRequired(TaskyardError):
    """No session, or one that ended: the browser is sent to the sign-in page."""

    status = 401
    code = "unauthenticated"

    def __init__(self, path: str, message: str = "") -> None:
        super().__init__(message or "Sign in to see this page.")
        self.path = path


@dataclass(frozen=True)
class Viewer:
    """The person a page is for: their principal, and the CSRF token of their forms."""

    principal: Principal
    csrf: str
    by_cookie: bool

    @property
    def username(self) -> str:
        return self.principal.username


def _csrf_key(request: Request) -> bytes:
    key: bytes | None = getattr(request.app.state, "csrf_key", None)
    if key is None:
        key = secrets.derived_key(request.app.state.settings, "dashboard-csrf")
        request.app.state.csrf_key = key
    return key


async def viewer(request: Request) -> Viewer:
    bearer = bearer_token(request)
    value = bearer or request.cookies.get(COOKIE, "")
    if not value:
        raise SignInRequired(_here(request))
    try:
        principal = await run_in_threadpool(principal_of, request, value)
    except TaskyardError as exc:
        raise SignInRequired(_here(request), exc.message) from exc
    csrf = web_sessions.csrf_token(_csrf_key(request), value)
    return Viewer(principal, csrf, by_cookie=not bearer)


async def optional_viewer(request: Request) -> Viewer | None:
    """The viewer, or None on a page anyone may see (the sign-in form)."""
    try:
        return await viewer(request)
    except SignInRequired:
        return None


async def checked_viewer(request: Request) -> Viewer:
    """The viewer of a request that changes something, once its CSRF token is checked."""
    seen = await viewer(request)
    if not seen.by_cookie:
        return seen  # a bearer header is never sent by a browser on its own
    offered = request.headers.get(CSRF_HEADER, "")
    if not offered and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form(max_files=0, max_fields=200)
        field = form.get(CSRF_FIELD)
        offered = field if isinstance(field, str) else ""
    value = request.cookies.get(COOKIE, "")
    if not offered or not web_sessions.csrf_matches(_csrf_key(request), value, offered):
        raise Forbidden(
            "This form's security token is missing or stale: reload the page and try again."
        )
    return seen


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


ViewerDep = Annotated[Viewer, Depends(viewer)]
CheckedViewerDep = Annotated[Viewer, Depends(checked_viewer)]
OptionalViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]
