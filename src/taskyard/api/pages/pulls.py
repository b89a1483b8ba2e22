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


ENDINGS = {"merge": local_pulls.merge, "close": local_pulls.close}


@router.post("/pulls/{pull_id}/{action}")
async def end(
    pull_id: int, action: str, viewer: CheckedViewerDep, session: SessionDep, engine: EngineDep
) -> RedirectResponse:
    """Merge or close the pull request."""
    ending = ENDINGS.get(action)
    if ending is None:
        raise NotFound(f"Pull requests can be merged or closed, not '{action[:40]}'.")
    await run_in_threadpool(ending, session, engine, viewer.principal, _id(pull_id))
    return RedirectResponse(f"/pulls/{pull_id}", status_code=303)
