"""A task's events (JSON, or live as Server-Sent Events), its diff and pull requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from sqlalchemy import select

from taskyard.api.deps import PrincipalDep, SessionDep, SettingsDep
from taskyard.api.outputs import EventOut, EventPage, PullOut
from taskyard.api.schemas import pull_out
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.model.inputs import MAX_INT64, Digits, Name, parse_id
from taskyard.model.status import FINAL
from taskyard.services import diffs, events, pulls, tasks
from taskyard.services.event_watch import EventWatch

router = APIRouter(prefix="/api/v1/tasks", tags=["events"])

KEEPALIVE = 15.0
PAGE = 5000  # events a stream reads at once
END = "event: end\ndata: {}\n\n"


@dataclass(frozen=True)
class Read:
    """One read of a live stream: its frames, whether the stream is over, and whether
    more is waiting already (a full page), to read at once rather than after a wake."""

    frames: str
    done: bool = False
    more: bool = False


def _wants_stream(request: Request, stream: bool) -> bool:
    return stream or "text/event-stream" in request.headers.get("accept", "")


@router.get(
    "/{ref}/events",
    response_model=EventPage,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
def list_events(
    ref: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    after: Annotated[int, Digits, Query(ge=0, le=MAX_INT64)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    kind: Annotated[list[Name] | None, Query(max_length=50)] = None,
    stream: bool = False,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventPage | StreamingResponse:
    """The task's events after ``after``; with ``Accept: text/event-stream``, live."""
    task = tasks.get_task(session, principal, ref)
    if _wants_stream(request, stream):
        resumed = parse_id(last_event_id or "")
        start = after if resumed is None else resumed
        session.commit()  # hold no transaction open for the life of the stream
        return StreamingResponse(
            _stream(settings.resolved_database_url, task.id, start, kind, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    rows = events.list_events(session, task.id, after=after, limit=limit, kinds=kind)
    return EventPage(
        items=[EventOut.model_validate(events.as_dict(e)) for e in rows],
        next_after=rows[-1].id if rows else after,
    )


def _fetch(url: str, task_id: int, after: int, kinds: list[str] | None) -> tuple[Read, int]:
    """The frames after ``after`` and the last id; a read that caught up also says
    whether the task has ended, so a stream needs no second read to learn either."""
    with session_scope(url, write=False) as session:
        frames, last = events.sse_frames(session, task_id, after=after, limit=PAGE, kinds=kinds)
        if len(frames) >= PAGE:
            return Read("".join(frames), more=True), last
        status = session.scalar(select(Task.status).where(Task.id == task_id))
        final = status is None or status in FINAL
        if final:
            # Each statement may see a newer snapshot (PostgreSQL's READ COMMITTED):
            # events committed with the final status, after the first read, are read
            # now, so the stream never ends without them.
            later, last = events.sse_frames(session, task_id, after=last, limit=PAGE, kinds=kinds)
            if len(frames) + len(later) >= PAGE:
                return Read("".join(frames + later), more=True), last
            frames += later
    return Read("".join(frames) + (END if final else ""), done=final), last


async def follow(
    read: Callable[[], Read], task_id: int, request: Request, lifetime: float = 0
) -> AsyncIterator[str]:
    """A live stream: what ``read`` (run in a thread) returns as it comes, woken by the
    event bus (or this app's watch, for events other processes wrote), with keepalives
    while idle; until ``read`` says it is done, the client goes, or ``lifetime`` seconds
    pass (0: no limit).

    One read per wake: one that caught up waits for the next (the mark taken before it
    covers whatever was written meanwhile), where reading again would find nothing.
    """
    watch: EventWatch = request.app.state.event_watch
    loop = asyncio.get_running_loop()
    ends = loop.time() + lifetime if lifetime else float("inf")
    said = loop.time()
    with watch.following(task_id):
        while loop.time() < ends and not await request.is_disconnected():
            mark = watch.mark(task_id)
            got = await asyncio.to_thread(read)
            if got.frames:
                said = loop.time()
                yield got.frames
            if got.done:
                return
            if got.more:
                continue
            if loop.time() - said >= KEEPALIVE:
                said = loop.time()
                yield ": keepalive\n\n"
            await watch.wait(task_id, mark)


def _stream(
    url: str, task_id: int, after: int, kinds: list[str] | None, request: Request
) -> AsyncIterator[str]:
    def read() -> Read:
        nonlocal after
        got, after = _fetch(url, task_id, after, kinds)
        return got

    return follow(read, task_id, request)


@router.get("/{ref}/diff", response_class=PlainTextResponse)
def diff(ref: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep) -> str:
    """The branch's changes against its base, as its worker last published them
    (after each turn of its agent, and at delivery)."""
    return diffs.shown_patch(session, settings, tasks.get_task(session, principal, ref))


@router.get("/{ref}/pulls", response_model=list[PullOut])
def task_pulls(ref: str, session: SessionDep, principal: PrincipalDep) -> list[PullOut]:
    task = tasks.get_task(session, principal, ref)
    return [pull_out(p) for p in pulls.pulls_of(session, task.id)]
