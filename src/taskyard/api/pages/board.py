"""The board (tasks in columns by stage) and the list (sorted, paged): one set of filters,
carried in the query string so a view can be shared as a link."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from taskyard.api.deps import SessionDep
from taskyard.api.pages.common import page
from taskyard.api.viewer import ViewerDep
from taskyard.model.status import TaskStatus
from taskyard.services import board, teams
from taskyard.services.tasks import ORIGINS

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Query(max_length=100)]


def filters(
    team: Short = "",
    status: Short = "",
    origin: Short = "",
    repository: Annotated[str, Query(max_length=500)] = "",
    creator: Short = "",
    q: Annotated[str, Query(max_length=board.MAX_SEARCH)] = "",
) -> board.Filters:
    return board.Filters(team, status, origin, repository.strip(), creator.strip(), q)


FiltersDep = Annotated[board.Filters, Depends(filters)]
FILTER_NAMES = frozenset({"team", "status", "origin", "repository", "creator", "q"})
FILTER_CHOICES: dict[str, Any] = {"statuses": list(TaskStatus), "origins": ORIGINS}


@router.get("/board", response_class=HTMLResponse)
def board_page(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    chosen: FiltersDep,
    workflow: Short = "",
) -> HTMLResponse:
    shown = board.board(session, viewer.principal, chosen, workflow)
    return page(
        "board.html",
        viewer,
        section="board",
        board=shown,
        filters=chosen,
        teams=teams.list_teams(session, viewer.principal),
        query=request.url.query,
        list_query=_list_query(request),
        **FILTER_CHOICES,
    )


@router.get("/board/columns", response_class=HTMLResponse)
def board_columns(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    chosen: FiltersDep,
    workflow: Short = "",
) -> HTMLResponse:
    """The columns alone: what the board fetches again when its stream says a card changed."""
    shown = board.board(session, viewer.principal, chosen, workflow)
    return page("board_columns.html", viewer, board=shown, list_query=_list_query(request))


def _list_query(request: Request) -> str:
    """The board's filters as the list's query, newest changes first."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k in FILTER_NAMES and v]
    return urlencode([*kept, ("sort", "updated")])


@router.get("/tasks", response_class=HTMLResponse)
def task_list(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    chosen: FiltersDep,
    sort: Short = "created",
    order: Short = "desc",
    after: Annotated[str, Query(max_length=board.MAX_CURSOR)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> HTMLResponse:
    shown = board.task_page(
        session,
        viewer.principal,
        chosen,
        sort=sort,
        descending=order != "asc",
        cursor=after,
        limit=limit,
    )
    # Links keep every parameter but the one they change.
    kept = [(k, v) for k, v in request.query_params.multi_items() if v and k != "after"]
    return page(
        "tasks.html",
        viewer,
        section="tasks",
        page=shown,
        filters=chosen,
        sort=sort,
        order="asc" if order == "asc" else "desc",
        kept=kept,
        first_page=not after,
        teams=teams.list_teams(session, viewer.principal),
        **FILTER_CHOICES,
    )
