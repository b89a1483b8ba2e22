"""Signing a browser in and out, and where ``/`` leads.

The sign-in form is guarded against login CSRF (another site signing a browser in as
someone else) by a double-submit value: a random cookie set with the form, which the
post must repeat.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from taskyard.api.deps import SessionDep
from taskyard.api.pages.common import form_fields, page, safe_next
from taskyard.api.viewer import COOKIE, CheckedViewerDep, OptionalViewerDep, Viewer
from taskyard.model.errors import TaskyardError
from taskyard.services import web_sessions

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "taskyard_login"
MAX_LOGIN_FORM = 4096


def _login_page(
    next_path: str,
    problem: str = "",
    status: int = 200,
    viewer: Viewer | None = None,
    **fields: str,
) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = page(
        "login.html",
        viewer,
        status=status,
        next=safe_next(next_path),
        problem=problem,
        nonce=nonce,
        organization=fields.get("organization", ""),
    )
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", path="/login")
    return response


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/board", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(viewer: OptionalViewerDep, next: str = "/") -> Response:
    return _login_page(next[:2000], viewer=viewer)


@router.post("/login")
async def login(request: Request, session: SessionDep) -> Response:
    try:
        form = await form_fields(request, MAX_LOGIN_FORM)
    except TaskyardError as exc:
        return _login_page("/", exc.message, status=exc.status)
    target = safe_next(form.get("next", "/"))
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, form.get("nonce", "")):
        return _login_page(target, "The sign-in form had expired: try again.", status=403)
    token = form.get("token", "").strip()
    try:
        if token:
            value = await run_in_threadpool(web_sessions.sign_in_with_token, session, token)
        else:
            value = await run_in_threadpool(
                web_sessions.sign_in_with_password,
                session,
                form.get("username", ""),
                form.get("password", ""),
                form.get("organization", ""),
            )
    except TaskyardError as exc:
        return _login_page(
            target, exc.message, exc.status, organization=form.get("organization", "")
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(web_sessions.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https"
        or request.app.state.settings.public_url.startswith("https://"),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(viewer: CheckedViewerDep, session: SessionDep) -> RedirectResponse:
    await run_in_threadpool(web_sessions.sign_out, session, viewer.principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response
