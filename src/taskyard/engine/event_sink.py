"""Streams an agent's events into the database in small batches.

Agents print in bursts; one INSERT per line would make the database the
bottleneck. Events are written as soon as the writer is idle, and whatever
arrives while a write is in flight goes into the next one, so a quiet agent's
lines land at once and a burst is written in large batches, in a thread so the
event loop keeps reading output.

Usage the agent reports is added to the task's totals only when nothing better
counts it: a turn whose model calls go through the gateway is booked by the
gateway's meter, call by call, and the agent's own figures are kept as events
marked ``"counted": false``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from taskyard import telemetry
from taskyard.agents.base import AgentEvent
from taskyard.model.inputs import mend_text
from taskyard.model.redaction import Redactor
from taskyard.model.status import AgentState
from taskyard.services.task_store import TaskStore


class EventSink:
    def __init__(
        self,
        store: TaskStore,
        task_id: int,
        run_id: int,
        redactor: Redactor,
        *,
        count_usage: bool = True,
    ) -> None:
        self._store = store
        self._count_usage = count_usage
        self._task_id = task_id
        self._run_id = run_id
        self._redact = redactor
        self._buffer: list[AgentEvent] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._writer: asyncio.Task[None] | None = None
        self.usage = {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
        self.session_id = ""
        self.state: tuple[str, str] = (AgentState.WORKING, "")

    def __enter__(self) -> EventSink:
        self._writer = asyncio.create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()

    def add(self, event: AgentEvent) -> None:
        if event.type == "usage":
            for key in self.usage:
                self.usage[key] += event.data.get(key) or 0
        elif event.type == "session":
            self.session_id = str(event.data.get("session_id", ""))
        elif event.type == "state":
            # The turn's result carries it, and a failed turn's becomes the task's status
            # message: masked like the event it came with.
            message = self._redact.text(str(event.data.get("message", "")))
            self.state = (str(event.data.get("state", "")), message)
        self._buffer.append(event)
        self._wake.set()

    async def _run(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        batch, self._buffer = self._buffer, []
        if batch:
            await asyncio.to_thread(self._write, batch)

    async def close(self) -> None:
        """Write everything still buffered; returns once it is committed.

        The writer is allowed to finish rather than cancelled: a cancelled
        writer's thread would still be committing its batch after we return,
        and the task's next status could land before the agent's last lines.
        """
        self._closed = True
        self._wake.set()
        if self._writer is not None:
            await self._writer
        await self.flush()

    def _write(self, batch: list[AgentEvent]) -> None:
        items: list[tuple[str, dict[str, Any]]] = []
        usage: dict[str, Any] = {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
        state: tuple[str, str] | None = None
        for event in batch:
            data = self._redact.data(event.data)
            if event.type == "usage" and not self._count_usage:
                data = {**data, "counted": False}
            if event.type == "output":
                items.append(("output", data))
            else:
                items.append(("agent", {"type": event.type, **data}))
            if event.type == "usage" and self._count_usage:
                for key in usage:
                    usage[key] += event.data.get(key) or 0
            elif event.type == "state":
                state = (str(data.get("state", "")), mend_text(str(data.get("message", ""))))
        self._store.record_agent_batch(self._task_id, self._run_id, items, usage, state)
        telemetry.EVENTS.inc(len(items))
