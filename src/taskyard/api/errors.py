"""Turns every error into ``{"error": {"code", "message"}}`` with the right status."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

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


def _wants_page(request: Request) -> bool:
    """A person's browser asking for a page: errors are pages for it, not JSON."""
    return not request.url.path.startswith(NOT_PAGES) and "text/html" in request.headers.get(
        "accept", ""
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.headers.get("hx-request") or not _wants_page(request):
            return error_response(401, exc.code, exc.message)
        return RedirectResponse(f"/login?next={quote(exc.path, safe='')}", status_code=303)

    @app.exception_handler(TaskyardError)
    async def _taskyard(request: Request, exc: TaskyardError) -> Response:
        if _wants_page(request) and not request.headers.get("hx-request"):
            return problem(None, "That did not work", exc.message, exc.status)
        return error_response(exc.status, exc.code, exc.message, **exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "invalid", describe(exc))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # Two requests raced to create the same thing; the loser is told, not crashed on.
        log.info("integrity error: %s", exc.orig)
        return error_response(409, "conflict", "This clashes with something just created; retry.")

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, "internal", "Internal error; the server log has details.")
