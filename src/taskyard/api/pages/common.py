"""What every page route shares: rendering with the viewer, headers, form bodies."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from taskyard.api.viewer import Viewer
from taskyard.model.errors import InvalidInput
from taskyard.web.render import render

# No inline script or style runs, and nothing loads from elsewhere: a page that somehow
# printed an attacker's markup still could not execute it.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def page(
    name: str, viewer: Viewer | None, *, status: int = 200, section: str = "", **context: Any
) -> HTMLResponse:
    """Render template ``name`` for ``viewer`` (None on pages seen before signing in)."""
    html = render(name, viewer=viewer, section=section, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def problem(viewer: Viewer | None, title: str, message: str, status: int) -> HTMLResponse:
    return page("problem.html", viewer, status=status, title=title, message=message)


async def form_fields(request: Request, limit: int = 64 * 1024) -> dict[str, str]:
    """A url-encoded or multipart form's text fields (files refused), within ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InvalidInput(f"The form is larger than {limit // 1024} KiB.")
    form = await request.form(max_files=0, max_fields=200)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def safe_next(path: str) -> str:
    """A path on this server, or "/": never an open redirect to another site."""
    if path.startswith("/") and not path.startswith(("//", "/\\")) and "\n" not in path:
        return path
    return "/"
