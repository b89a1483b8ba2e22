"""Pull requests of the local forge: a page each (``/pulls/{id}``), merged or closed here.

On one machine there is no GitHub to review on: this page is where the loop ends. The
work itself is :mod:`taskyard.services.local_pulls`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from taskyard.api.deps import EngineDep, SessionDep, SettingsDep
from taskyard.api.pages.common import page
from taskyard.api.viewer import CheckedViewerDep, ViewerDep
from taskyard.model.errors import NotFound
from taskyard.model.inputs import MAX_INT64
from taskyard.services import diffs, local_pulls
from taskyard.web.diffview import parse_diff

router = APIRouter(include_in_schema=False)


def _id(pull_id: int) -> int:
    if not 0 < pull_id <= MAX_INT64:
        raise NotFound(f"Pull request {pull_id} not found.")
    return pull_id


@router.get("/pulls/{pull_id}", response_class=HTMLResponse)
def pull_page(
    pull_id: int, viewer: ViewerDep, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    pull, task = local_pulls.get_pull(session, viewer.principal, _id(pull_id))
    return page(
        "pull.html",
        viewer,
        section="tasks",
        pull=pull,
        task=task,
        diff=parse_diff(diffs.masked(session, settings, task.org_id, pull.patch)),
        commentable=False,
    )


@router.post("/pulls/{pull_id}/merge")
async def merge(
    pull_id: int, viewer: CheckedViewerDep, session: SessionDep, engine: EngineDep
) -> RedirectResponse:
    principal = viewer.principal
    await run_in_threadpool(local_pulls.merge, session, engine, principal, _id(pull_id))
    return RedirectResponse(f"/pulls/{pull_id}", status_code=303)


@router.post("/pulls/{pull_id}/close")
async def close(
    pull_id: int, viewer: CheckedViewerDep, session: SessionDep, engine: EngineDep
) -> RedirectResponse:
    principal = viewer.principal
    await run_in_threadpool(local_pulls.close, session, engine, principal, _id(pull_id))
    return RedirectResponse(f"/pulls/{pull_id}", status_code=303)
