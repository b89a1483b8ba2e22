"""What notifications cost a task, and how fast the sending loop empties the outbox.

On a fresh SQLite database (no server, no Temporal):

1. a status change (``tasks.set_status`` in its own transaction) for a creator with no
   channel, and for one with two webhook channels that want every event (the outbox rows
   written in the same transaction);
2. the sending loop (one worker's ``NotificationLoop``) delivering ``--tasks`` tasks'
   notices to a loopback receiver answering 200 at once, beside a second channel whose
   receiver never answers: the time until the first receiver has them all.

Aim: a status change costs under 5 ms more with two channels; a receiver that never
answers does not hold up the other channel's deliveries.

Measured (2 shared cores, busy): +2 to +4 ms a status change; 300 deliveries in 6-9 s
(35-50/s) beside a hung channel, down from 55 s before the channels shared one TLS context.

Usage: python bench/notifications.py [--tasks 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from taskyard.config import Settings
from taskyard.db.models import Task, User
from taskyard.db.session import migrate, session_scope
from taskyard.engine.notifications import NotificationLoop
from taskyard.model.status import TaskStatus
from taskyard.notify.webhook import new_secret
from taskyard.services import notification_settings, tasks
from taskyard.services.access import Principal
from taskyard.services.bootstrap import ensure_bootstrapped
from taskyard.services.notification_settings import Preference
from taskyard.services.notifications import EVENTS
from taskyard.services.tasks import TaskCreate

TOKEN = "ty_bench_admin_token_0123456789"


def receiver(hang: bool) -> tuple[str, list[int], Callable[[], None]]:
    got: list[int] = []
    closing = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            if hang:
                closing.wait()
                return
            got.append(1)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    ThreadingHTTPServer.request_queue_size = 256  # a burst of sends is the point
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def close() -> None:
        closing.set()
        server.shutdown()

    return f"http://127.0.0.1:{server.server_address[1]}/", got, close


def setup(directory: Path) -> tuple[Settings, Principal]:
    settings = Settings(data_dir=directory, secret_key="bench", local_repository_roots=[directory])
    migrate(settings.resolved_database_url)
    with session_scope(settings.resolved_database_url) as session:
        ensure_bootstrapped(session, TOKEN)
        user = session.query(User).one()
        scopes = frozenset({"admin"})
        return settings, Principal(user.id, user.org_id, user.username, scopes)


def new_tasks(settings: Settings, principal: Principal, count: int) -> list[int]:
    ids = []
    with session_scope(settings.resolved_database_url) as session:
        for n in range(count):
            body = TaskCreate(title=f"t{n}", repository="acme/shop", run=False)
            ids.append(tasks.create_task(session, principal, body, local_roots=[]).id)
    return ids


def status_changes(settings: Settings, ids: list[int]) -> list[float]:
    took = []
    for task_id in ids:
        for status in (TaskStatus.WAITING, TaskStatus.FAILED):
            start = time.perf_counter()
            with session_scope(settings.resolved_database_url) as session:
                task = session.get(Task, task_id)
                assert task is not None
                tasks.set_status(session, task, status, "bench")
            took.append((time.perf_counter() - start) * 1000)
    return took


def add_channel(settings: Settings, principal: Principal, name: str, url: str) -> None:
    with session_scope(settings.resolved_database_url) as session:
        config = {"url": url, "secret": new_secret()}
        notification_settings.add_channel(session, settings, principal, "webhook", name, config)


async def drain(settings: Settings, got: list[int], expected: int) -> float:
    loop = NotificationLoop(settings)
    running = asyncio.create_task(loop.run())
    start = time.perf_counter()
    while len(got) < expected:
        await asyncio.sleep(0.01)
    took = time.perf_counter() - start
    loop.stop()
    running.cancel()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100)
    count = parser.parse_args().tasks
    with tempfile.TemporaryDirectory() as tmp:
        settings, principal = setup(Path(tmp))
        bare = statistics.median(status_changes(settings, new_tasks(settings, principal, 50)))
        fast_url, got, close_fast = receiver(hang=False)
        hung_url, _, close_hung = receiver(hang=True)
        add_channel(settings, principal, "fast", fast_url)
        add_channel(settings, principal, "hung", hung_url)
        with session_scope(settings.resolved_database_url) as session:
            everything = [Preference(event=e) for e in EVENTS]
            notification_settings.set_preferences(session, principal, everything)
        ids = new_tasks(settings, principal, count)
        notified = statistics.median(status_changes(settings, ids))
        expected = count * 3  # created, waiting, failed
        took = asyncio.run(drain(settings, got, expected))
        close_fast()
        close_hung()
    print(f"status change, no channel:     {bare:.2f} ms (median)")
    print(f"status change, two channels:   {notified:.2f} ms (median, +{notified - bare:.2f})")
    print(f"{expected} deliveries beside a hung channel: {took:.2f} s ({expected / took:.0f}/s)")


if __name__ == "__main__":
    main()
