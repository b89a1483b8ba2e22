"""Turns every error into ``{"error": {"code", "message"}}`` with the right status, or,
for a person's browser asking for a page, into a problem page with that status: a page
never answers a browser with JSON, whichever layer refused it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from taskyard.api.headers import SECURITY_HEADERS
from taskyard.api.invalid import describe
from taskyard.api.pages.common import problem
from taskyard.api.viewer import SignInRequired
from taskyard.model.errors import TaskyardError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, **details: object) -> JSONResponse:
    body: dict[str, object] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


NOT_PAGES = ("/api/", "/webhooks/", "/healthz", "/metrics", "/openapi", "/static/")


def wants_page(path: str, headers: Mapping[str, str]) -> bool:
    """A person's browser asking for a whole page: errors are pages for it, not JSON (an
    htmx request takes JSON, and shows its message where it asked)."""
    return (
        not path.startswith(NOT_PAGES)
        and "text/html" in headers.get("accept", "")
        and not headers.get("hx-request")
    )


def _wants_page(request: Request) -> bool:
    return wants_page(request.url.path, request.headers)


def refusal(
    path: str, headers: Mapping[str, str], status: int, code: str, message: str, **details: object
) -> Response:
    """The answer to a request refused with ``status``: a problem page or JSON."""
    if wants_page(path, headers):
        title = "Something went wrong" if status >= 500 else "That did not work"
        return problem(None, title, message, status)
    return error_response(status, code, message, **details)


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if not _wants_page(request):
            return error_response(401, exc.code, exc.message)
        return RedirectResponse(f"/login?next={quote(exc.path, safe='')}", status_code=303)

    @app.exception_handler(TaskyardError)
    async def _taskyard(request: Request, exc: TaskyardError) -> Response:
        return refusal(
            request.url.path, request.headers, exc.status, exc.code, exc.message, **exc.details
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return refusal(request.url.path, request.headers, 400, "invalid", describe(exc))

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # Two requests raced to create the same thing; the loser is told, not crashed on.
        log.info("integrity error: %s", exc.orig)
        message = "This clashes with something just created; retry."
        return refusal(request.url.path, request.headers, 409, "conflict", message)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = str(exc.detail)[:500]
        return refusal(request.url.path, request.headers, exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        message = "Internal error; the server log has details."
        response = refusal(request.url.path, request.headers, 500, "internal", message)
        # Starlette answers this one outside every middleware, SecurityHeaders too.
        response.headers.update(SECURITY_HEADERS)
        return response
