"""The page taskyard's links point at (``/tasks/{key}``), for a signed-in browser."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from taskyard.api.deps import SessionDep
from taskyard.api.viewer import ViewerDep
from taskyard.services import pulls, tasks
from taskyard.web.task_page import render_task

router = APIRouter(include_in_schema=False)


@router.get("/tasks/{ref}", response_class=HTMLResponse)
def task_page(ref: str, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    task = tasks.get_task(session, viewer.principal, ref)
    return HTMLResponse(render_task(task, pulls.pulls_of(session, task.id)))
