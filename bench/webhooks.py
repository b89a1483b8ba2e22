"""How fast ``POST /webhooks/github`` answers, and how soon the engine has handled a delivery.

Starts a real ``taskyard serve`` (SQLite, embedded Temporal dev server, in-process
worker) in a temporary directory, with a webhook secret, then sends GitHub's published
``issues labeled`` example, signed, N times one after another and N times all at once:

- answer: from sending to the 202 (the signature checked, the delivery stored, its
  workflow started); GitHub gives up after 10 s;
- handled: from sending until the delivery's outcome is recorded (here: no trigger
  fires, so this is the engine's own cost: a workflow, its activity, two short reads
  and a write).

Needs GitHub's webhook examples (``scripts/fetch-github-fixtures``).

Usage: python bench/webhooks.py [-n 50]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from overhead import percentile, serving

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from tests.support.github.webhooks import Delivery, webhook

SECRET = "bench-webhook-secret"


def handled_times(database: Path, ids: list[str], timeout: float = 120) -> dict[str, float]:
    """When (``time.monotonic()``) each delivery was first seen handled."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    with sqlite3.connect(database) as db:
        while len(seen) < len(ids):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(ids) - len(seen)} deliveries not handled")
            marks = ",".join("?" * len(ids))
            query = f"SELECT delivery_id FROM webhook_deliveries WHERE handled_at IS NOT NULL AND delivery_id IN ({marks})"  # noqa: E501
            now = time.monotonic()
            for (found,) in db.execute(query, ids).fetchall():
                seen.setdefault(found, now)
            time.sleep(0.005)
    return seen


def send(url: str, delivery: Delivery) -> tuple[float, float]:
    start = time.monotonic()
    response = httpx.post(url, content=delivery.body, headers=delivery.headers, timeout=30)
    assert response.status_code == 202, response.text
    return start, time.monotonic()


def report(name: str, answers: list[float], handled: list[float]) -> None:
    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:.0f}"

    print(
        f"{name}: answer p50 {ms(answers, 0.5)} ms, p95 {ms(answers, 0.95)} ms, "
        f"max {max(answers) * 1000:.0f} ms; handled p50 {ms(handled, 0.5)} ms, "
        f"p95 {ms(handled, 0.95)} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=50)
    count = parser.parse_args().n
    os.environ["TASKYARD_GITHUB_WEBHOOK_SECRET"] = SECRET
    with tempfile.TemporaryDirectory() as tmp, serving(Path(tmp) / "data") as (_, url):
        database = Path(tmp) / "data" / "taskyard.db"
        hook = f"{url}/webhooks/github"
        answers, handled = [], []
        for _ in range(count):  # one at a time: each handled before the next is sent
            delivery = webhook("issues", "labeled", SECRET)
            start, answered = send(hook, delivery)
            done = handled_times(database, [delivery.id])[delivery.id]
            answers.append(answered - start)
            handled.append(done - start)
        report("one at a time", answers, handled)
        deliveries = [webhook("issues", "labeled", SECRET) for _ in range(count)]
        with ThreadPoolExecutor(count) as pool:
            sent = list(pool.map(lambda d: send(hook, d), deliveries))
        done_at = handled_times(database, [d.id for d in deliveries])
        answers = [end - start for start, end in sent]
        handled = [done_at[d.id] - start for d, (start, _) in zip(deliveries, sent, strict=True)]
        report(f"{count} at once", answers, handled)


if __name__ == "__main__":
    main()
