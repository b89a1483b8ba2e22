"""What the settings, template and workflow pages share: bounded form fields, and pages
that say how a change went (a notice after a redirect, or the error in place)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from taskyard.api.pages.common import form_fields, page
from taskyard.api.viewer import MAX_FORM, Viewer
from taskyard.model.errors import InvalidInput, TaskyardError

MAX_NOTICE = 200  # a notice is one of ours, carried in the URL of the redirect


async def _posted(request: Request) -> dict[str, str]:
    return await form_fields(request, MAX_FORM)


async def _posted_large(request: Request) -> dict[str, str]:
    # A template's YAML, percent-encoded: the edge's body limit bounds it.
    return await form_fields(request, request.app.state.settings.max_body_bytes)


FormDep = Annotated[dict[str, str], Depends(_posted)]
LargeFormDep = Annotated[dict[str, str], Depends(_posted_large)]


def text(form: dict[str, str], name: str, limit: int, label: str = "") -> str:
    """Field ``name`` of ``form`` ("" when absent), refused when longer than ``limit``."""
    value = form.get(name, "")
    if len(value) > limit:
        raise InvalidInput(f"{label or name.capitalize()} is longer than {limit} characters.")
    return value


def redirect_done(path: str, notice: str) -> RedirectResponse:
    """Back to ``path`` after a change, saying what was done (post/redirect/get)."""
    joiner = "&" if "?" in path else "?"
    query = urlencode({"done": notice[:MAX_NOTICE]})
    return RedirectResponse(f"{path}{joiner}{query}", status_code=303)


def settings_page(
    template: str,
    viewer: Viewer,
    *,
    section: str,
    menu: str = "",
    done: str = "",
    error: TaskyardError | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page of the settings, templates or workflows, with what became of the last change
    above it: its notice, or its error (answered with the error's status)."""
    return page(
        template,
        viewer,
        status=error.status if error else 200,
        section=section,
        menu=menu,
        notice=done[:MAX_NOTICE],
        error=error.message if error else "",
        error_details=error.details if error else {},
        **context,
    )
