"""The pages taskyard's links point at (``/tasks/{key}``), and signing a browser in.

A browser sends no bearer token, so these read it from an HttpOnly cookie that
``POST /sign-in`` sets after checking it; an API client's ``Authorization`` header works
too. Errors are pages here, not JSON.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from taskyard.api.deps import SessionDep, bearer_token, principal_of
from taskyard.model.errors import TaskyardError, Unauthenticated
from taskyard.services import pulls, tasks
from taskyard.services.tokens import Principal
from taskyard.web.task_page import render_problem, render_sign_in, render_task

router = APIRouter(include_in_schema=False)
COOKIE = "taskyard_token"
MAX_FORM = 4096
COOKIE_DAYS = 30


def _principal(request: Request) -> Principal:
    token = bearer_token(request) or request.cookies.get(COOKIE, "")
    if not token:
        raise Unauthenticated("Sign in to see this page.")
    return principal_of(request, token)


@router.get("/tasks/{ref}", response_class=HTMLResponse)
def task_page(ref: str, request: Request, session: SessionDep) -> HTMLResponse:
    try:
        principal = _principal(request)
        task = tasks.get_task(session, principal, ref)
    except Unauthenticated as exc:
        return HTMLResponse(render_sign_in(request.url.path, exc.message), status_code=401)
    except TaskyardError as exc:
        return HTMLResponse(render_problem("Not here", exc.message), status_code=exc.status)
    return HTMLResponse(render_task(task, pulls.pulls_of(session, task.id)))


def _safe_next(path: str) -> str:
    """A path on this server, or "": never an open redirect to another site."""
    if path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return ""


@router.post("/sign-in")
async def sign_in(
    request: Request, content_length: Annotated[int | None, Header()] = None
) -> Response:
    if content_length is not None and content_length > MAX_FORM:
        return HTMLResponse(render_problem("Too large", "The form is too large."), 413)
    body = (await request.body())[:MAX_FORM].decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(body).items()}
    target = _safe_next(form.get("next", ""))
    token = form.get("token", "").strip()
    try:
        await run_in_threadpool(principal_of, request, token)
    except Unauthenticated as exc:
        return HTMLResponse(render_sign_in(target, exc.message), status_code=401)
    response: Response = (
        RedirectResponse(target, status_code=303)
        if target
        else HTMLResponse(render_problem("Signed in", "Follow a task's link again."))
    )
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_DAYS * 86400,
        httponly=True,
        samesite="lax",  # sent when following a link from a pull request, never by a form post
        secure=request.url.scheme == "https",
    )
    return response
