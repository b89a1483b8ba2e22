"""A task's page (``/tasks/{key}``, where every link taskyard writes points), its diff,
and what people do from it: message, approve, request changes (also as comments on
the diff's lines), start, cancel. The actions are the API's (:mod:`taskyard.services.actions`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from taskyard.api.deps import EngineDep, SessionDep, SettingsDep
from taskyard.api.pages.common import form_fields, page
from taskyard.api.viewer import CheckedViewerDep, Viewer, ViewerDep
from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.model.errors import InvalidInput, NotFound
from taskyard.model.status import FINAL
from taskyard.services import actions, diffs, pulls, reviewers, task_views, tasks
from taskyard.services.review_prompts import line_review
from taskyard.web import timeline
from taskyard.web.diffview import parse_diff
from taskyard.web.render import render

router = APIRouter(include_in_schema=False)
MAX_COMMENTS = 60  # a form read for its CSRF token holds at most 200 fields
MAX_REVIEW_FORM = 512 * 1024


def head_context(session: Session, task: Task) -> dict[str, Any]:
    """What the page's header (redrawn live) shows, besides its viewer."""
    return {
        "task": task,
        "pulls": pulls.pulls_of(session, task.id),
        "creator": task_views.creator(session, task),
        "reviewers": reviewers.usernames(session, task.id),
        "source": task_views.source_link(task),
        "ended": task.status in FINAL,
    }


def render_head(session: Session, viewer: Viewer, task: Task) -> Markup:
    return Markup(render("task/head.html", viewer=viewer, **head_context(session, task)))


def render_diff(session: Session, settings: Settings, viewer: Viewer, task: Task) -> Markup:
    patch = diffs.shown_patch(session, settings, task)
    html = render("task/diff.html", viewer=viewer, task=task, diff=parse_diff(patch))
    return Markup(html)  # rendered with autoescape


@router.get("/tasks/{ref}", response_class=HTMLResponse)
def task_page(
    ref: str, viewer: ViewerDep, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    task = tasks.get_task(session, viewer.principal, ref)
    rows, earlier = task_views.recent_events(session, task.id)
    return page(
        "task/page.html",
        viewer,
        section="tasks",
        head=render_head(session, viewer, task),
        entries=timeline.entries(rows),
        entry_html=timeline.entry_html,
        earlier=earlier,
        last=rows[-1][0] if rows else 0,
        plan=task_views.plan(session, task.id),
        diff=render_diff(session, settings, viewer, task),
        **head_context(session, task),
    )


@router.get("/tasks/{ref}/diff", response_class=HTMLResponse)
def diff_fragment(
    ref: str, viewer: ViewerDep, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """The diff alone: the page fetches it again when a new one is published."""
    task = tasks.get_task(session, viewer.principal, ref)
    return HTMLResponse(render_diff(session, settings, viewer, task))


def _back(task: Task, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/tasks/{task.key}{anchor}", status_code=303)


@router.post("/tasks/{ref}/message", response_model=None)
async def message(
    ref: str, request: Request, viewer: CheckedViewerDep, session: SessionDep, engine: EngineDep
) -> Response:
    """Queue a message; sent by htmx, the page stays and the message arrives live."""
    text = (await form_fields(request, actions.MAX_MESSAGE + 4096)).get("text", "")
    task = await run_in_threadpool(actions.message, session, engine, viewer.principal, ref, text)
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204)
    return _back(task, "#timeline")


@router.post("/tasks/{ref}/approve")
async def approve(
    ref: str, request: Request, viewer: CheckedViewerDep, session: SessionDep, engine: EngineDep
) -> RedirectResponse:
    comment = (await form_fields(request)).get("comment", "")
    task = await run_in_threadpool(actions.approve, session, engine, viewer.principal, ref, comment)
    return _back(task)


@router.post("/tasks/{ref}/request-changes")
async def request_changes(
    ref: str, request: Request, viewer: CheckedViewerDep, session: SessionDep, engine: EngineDep
) -> RedirectResponse:
    text = (await form_fields(request, actions.MAX_MESSAGE + 4096)).get("text", "")
    principal = viewer.principal
    task = await run_in_threadpool(actions.request_changes, session, engine, principal, ref, text)
    return _back(task)


@router.post("/tasks/{ref}/review")
async def review(
    ref: str, request: Request, viewer: CheckedViewerDep, session: SessionDep, engine: EngineDep
) -> RedirectResponse:
    """The diff's line comments, sent back as one change request."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REVIEW_FORM:
        raise InvalidInput(f"The review is larger than {MAX_REVIEW_FORM // 1024} KiB.")
    form = await request.form(max_files=0, max_fields=3 * MAX_COMMENTS + 10)
    paths, lines, bodies = (form.getlist(k) for k in ("path", "line", "body"))
    if not len(paths) == len(lines) == len(bodies) or not all(str(n).isdigit() for n in lines):
        raise InvalidInput("Each line comment needs its file, its line number and its words.")
    comments = [
        {"path": str(p)[:300], "line": int(str(n)[:9]), "body": str(b)}
        for p, n, b in zip(paths, lines, bodies, strict=True)
        if str(b).strip()
    ]
    if not comments:
        raise InvalidInput("Comment on at least one line of the diff before sending the review.")
    summary = str(form.get("summary") or "")
    text = line_review(viewer.username, summary, comments)
    principal = viewer.principal
    task = await run_in_threadpool(actions.request_changes, session, engine, principal, ref, text)
    return _back(task)


STEPS = {"start": actions.start, "cancel": actions.cancel}


@router.post("/tasks/{ref}/{step}")
async def step(
    ref: str, step: str, viewer: CheckedViewerDep, session: SessionDep, engine: EngineDep
) -> RedirectResponse:
    """Start or cancel the task (the other actions, which carry words, are above)."""
    act = STEPS.get(step)
    if act is None:
        raise NotFound(f"A task has no action '{step[:40]}'.")
    task = await run_in_threadpool(act, session, engine, viewer.principal, ref)
    return _back(task)
