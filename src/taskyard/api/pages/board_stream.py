"""The board's live stream: a Server-Sent Event each time a card of the viewer's
organization changes, upon which the board fetches its columns again.

Events written in this process wake the stream at once (:data:`events.bus`); those
written by workers elsewhere, through the app's one watch of the newest event
(:mod:`taskyard.services.event_watch`). Checks are spaced, so a burst of
changes costs one refresh, and each viewer holds a bounded number of streams, each for
a bounded time (the browser reconnects, and its session is checked again).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from taskyard.api.viewer import ViewerDep
from taskyard.db.session import session_scope
from taskyard.model.errors import TaskyardError
from taskyard.model.inputs import MAX_INT64
from taskyard.services import board, events
from taskyard.services.access import require
from taskyard.services.event_watch import EventWatch

router = APIRouter(include_in_schema=False)

GAP = 0.1  # before a check: a burst of changes makes one refresh
KEEPALIVE = 15.0
LIFETIME = 30 * 60.0
MAX_PER_VIEWER = 8


class TooManyStreams(TaskyardError):
    status = 429
    code = "too_many_streams"


def _changed(url: str, org_id: int, after: int | None, workflow: int | None) -> tuple[bool, int]:
    with session_scope(url, write=False) as session:
        return board.changed_since(session, org_id, after, workflow)


@router.get("/board/stream")
async def board_stream(
    request: Request,
    viewer: ViewerDep,
    workflow: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_INT64)] = None,
) -> StreamingResponse:
    """``changed`` events for tasks of the viewer's organization (on ``workflow``),
    counting from event id ``after`` (the one the board was rendered at)."""
    principal = viewer.principal
    require(principal, "tasks:read")
    holder = (principal.org_id, principal.user_id)
    open_streams = _open_streams(request)
    if open_streams[holder] >= MAX_PER_VIEWER:
        raise TooManyStreams(
            f"{MAX_PER_VIEWER} live boards are open for you already: close one and reload."
        )
    url = request.app.state.settings.resolved_database_url

    async def stream() -> AsyncIterator[str]:
        # Counted from the stream's first step: one never started never ends either.
        open_streams[holder] += 1
        try:
            async for frame in _frames(request, url, principal.org_id, workflow, after):
                yield frame
        finally:
            open_streams[holder] -= 1
            if not open_streams[holder]:
                del open_streams[holder]

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _open_streams(request: Request) -> Counter[tuple[int, int]]:
    """How many streams each viewer holds open on this app."""
    counts: Counter[tuple[int, int]] | None = getattr(request.app.state, "board_streams", None)
    if counts is None:
        counts = request.app.state.board_streams = Counter()
    return counts


async def _frames(
    request: Request, url: str, org_id: int, workflow: int | None, after: int | None
) -> AsyncIterator[str]:
    watch: EventWatch = request.app.state.event_watch
    started = last_frame = time.monotonic()
    yield "retry: 2000\n\n"
    with watch.following(events.ANY):
        while time.monotonic() - started < LIFETIME and not await request.is_disconnected():
            mark = watch.mark(events.ANY)
            changed, after = await asyncio.to_thread(_changed, url, org_id, after, workflow)
            now = time.monotonic()
            if changed:
                last_frame = now
                yield f"event: changed\ndata: {after}\n\n"
            elif now - last_frame >= KEEPALIVE:
                last_frame = now
                yield ": keepalive\n\n"
            await watch.wait(events.ANY, mark)
            await asyncio.sleep(GAP)
