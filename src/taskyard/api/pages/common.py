"""What every page route shares: rendering with the viewer, headers, form bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse

from taskyard.api.viewer import Viewer
from taskyard.model.errors import InvalidInput
from taskyard.web.render import render


def page(
    name: str, viewer: Viewer | None, *, status: int = 200, section: str = "", **context: Any
) -> HTMLResponse:
    """Render template ``name`` for ``viewer`` (None on pages seen before signing in)."""
    html = render(name, viewer=viewer, section=section, **context)
    return HTMLResponse(html, status_code=status)  # headers: taskyard.api.headers


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
    """A path on this server, or "/": never an open redirect to another site.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so a
    slash, a tab and ``/evil.example`` (or a slash, a backslash and ``evil.example``)
    lead away as ``//evil.example`` does: a path holding any control character or
    backslash is refused whole, not cleaned.
    """
    if (
        path.startswith("/")
        and not path.startswith("//")
        and path.isprintable()
        and "\\" not in path
        and not urlsplit(path).netloc
    ):
        return path
    return "/"
