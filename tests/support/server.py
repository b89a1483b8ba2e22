"""A real taskyard server (API + engine + worker) in a background thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from taskyard.api.app import create_app
from taskyard.config import Settings
from taskyard.listen import tcp_listener
from taskyard.runtime import Runtime

FINAL = ("completed", "failed", "cancelled")


EVENTS_PAGE = 5000  # the most the API gives at once


@dataclass
class RunningServer:
    url: str
    settings: Settings
    http: httpx.Client
    runtime: Runtime

    def create_task(self, **body: Any) -> dict[str, Any]:
        response = self.http.post("/api/v1/tasks", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def task(self, key: str) -> dict[str, Any]:
        response = self.http.get(f"/api/v1/tasks/{key}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def events(self, key: str) -> list[dict[str, Any]]:
        """All the task's events, page after page (an agent's output alone can fill one)."""
        items: list[dict[str, Any]] = []
        after = 0
        while True:
            query = {"after": after, "limit": EVENTS_PAGE}
            page = self.http.get(f"/api/v1/tasks/{key}/events", params=query).json()
            items += page["items"]
            if len(page["items"]) < EVENTS_PAGE:  # the last page: no request more to say so
                return items
            after = page["next_after"]

    def last_event_id(self, key: str) -> int:
        """The id of the task's newest event (past the first page, if need be)."""
        found = self.events(key)
        return int(found[-1]["id"]) if found else 0

    def published_diff(self, key: str, after: int = 0, timeout: float = 60) -> str:
        """The task's diff once its worker has published one after event id ``after``.

        Diffs are published beside the workflow, a moment after the turn: poll for the
        ``diff`` event that says so, then read what the API serves.
        """
        deadline = time.monotonic() + timeout
        params: dict[str, Any] = {"kind": "diff", "after": after}
        while not self.http.get(f"/api/v1/tasks/{key}/events", params=params).json()["items"]:
            assert time.monotonic() < deadline, f"{key}: no diff published in {timeout} s"
            time.sleep(0.05)
        return self.http.get(f"/api/v1/tasks/{key}/diff").text

    def wait_for(
        self,
        key: str,
        *statuses: str,
        stage: str | None = None,
        after: int = 0,
        timeout: float = 60,
    ) -> dict[str, Any]:
        """Follow the task's live event stream until it reaches one of ``statuses``.

        Only events after event id ``after`` count; the stage is tracked from the start.
        """
        wanted = set(statuses)
        current_stage = ""
        with self.http.stream(
            "GET",
            f"/api/v1/tasks/{key}/events",
            headers={"Accept": "text/event-stream"},
            timeout=timeout,
        ) as response:
            assert response.status_code == 200, response.read()
            kind = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind in ("status", "stage"):
                    event = json.loads(line[6:])
                    data = event["data"]
                    if kind == "stage":
                        current_stage = data["stage"]
                    elif event["id"] <= after:
                        continue
                    elif data["status"] in wanted and stage in (None, current_stage):
                        return self.task(key)
                    elif data["status"] in FINAL and not wanted & set(FINAL):
                        raise AssertionError(f"{key} ended {data['status']}: {data['message']}")
        raise AssertionError(f"{key} stream ended before reaching {statuses}: {self.task(key)}")


@contextmanager
def serve_app(app: Any, token: str) -> Iterator[httpx.Client]:
    """Serve an ASGI app (no runtime) with uvicorn in a thread; yield a client for it."""
    sock = tcp_listener("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    started = threading.Event()

    async def main() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        started.set()
        await serving

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    started.wait(30)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@contextmanager
def start_server(settings: Settings, token: str) -> Iterator[RunningServer]:
    sock = tcp_listener("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if not settings.public_url:  # as `taskyard serve` does: links point at this server
        settings = settings.model_copy(update={"public_url": url})
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        try:
            async with Runtime(settings) as runtime:
                app = create_app(settings, engine=runtime.engine)
                server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
                holder.update(server=server, runtime=runtime, loop=asyncio.get_running_loop())
                serving = asyncio.create_task(server.serve(sockets=[sock]))
                while not server.started and not serving.done():
                    await asyncio.sleep(0.01)
                ready.set()
                await serving
        except BaseException as exc:
            holder["error"] = exc
            ready.set()
            raise

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    ready.wait(60)
    if "error" in holder:
        raise holder["error"]
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    try:
        yield RunningServer(url, settings, http, holder["runtime"])
    finally:
        http.close()
        holder["server"].should_exit = True
        thread.join(30)
