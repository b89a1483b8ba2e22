"""A task's page, live: its new events as HTML fragments, over Server-Sent Events.

The htmx SSE extension on the page appends each ``timeline`` frame to the timeline,
replaces the header on ``head`` (status, stage, agent state, gates, pull requests or reviewers
changed), and fetches the diff again on ``diff``. The events are those the API's
stream reads (:func:`taskyard.api.routes.events`), woken by the same bus; a browser
that reconnects resumes after the last event it got (``Last-Event-ID``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from taskyard.api.deps import SessionDep, SettingsDep
from taskyard.api.pages.task import render_head
from taskyard.api.routes.events import Read, follow
from taskyard.api.viewer import Viewer, ViewerDep
from taskyard.db.models import Event, Task
from taskyard.db.session import session_scope
from taskyard.model.inputs import MAX_INT64, parse_id
from taskyard.services import events, tasks
from taskyard.web.timeline import live_html

router = APIRouter(include_in_schema=False)
BATCH = 200  # events rendered per read; a stream that is behind catches up in steps
HEAD_KINDS = frozenset(
    {"status", "stage", "approval", "request_changes", "delivery", "repair", "reviewers"}
)
# Seconds a stream lives; the browser reconnects where it left off. A task that ended
# keeps its stream open (idle) rather than have the browser reconnect again and again.
MAX_STREAM = 3600.0


def _frame(name: str, html: str, event_id: int | None = None) -> str:
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    where = f"id: {event_id}\n" if event_id is not None else ""
    return f"{where}event: {name}\n{lines}\n"


def _changes_head(event: Event) -> bool:
    return event.kind in HEAD_KINDS or (
        event.kind == "agent" and isinstance(event.data, dict) and event.data.get("type") == "state"
    )


def _read(url: str, viewer: Viewer, task_id: int, after: int) -> tuple[Read, int]:
    """The frames for the events after ``after``, and the last id."""
    with session_scope(url, write=False) as session:
        found = events.list_events(session, task_id, after=after, limit=BATCH)
        task = session.get(Task, task_id)
        if task is None:
            return Read(""), after
        frames = [
            _frame("timeline", live_html(e.id, e.kind, e.data, e.created_at), e.id) for e in found
        ]
        if any(_changes_head(e) for e in found):
            frames.append(_frame("head", render_head(session, viewer, task)))
        if any(e.kind == "diff" for e in found):
            frames.append(_frame("diff", ""))
        last = found[-1].id if found else after
        return Read("".join(frames), more=len(found) >= BATCH), last


@router.get("/tasks/{ref}/live")
def live(
    ref: str,
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    after: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    task = tasks.get_task(session, viewer.principal, ref)
    resumed = parse_id(last_event_id or "")
    session.commit()  # hold no transaction open for the life of the stream
    url, start = settings.resolved_database_url, after if resumed is None else resumed

    def read() -> Read:
        nonlocal start
        got, start = _read(url, viewer, task.id, start)
        return got

    return StreamingResponse(
        follow(read, task.id, request, MAX_STREAM),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
