"""How long creating a task takes in a team that already has many.

Starts a real ``taskyard serve`` (SQLite) in a temporary directory, stores ``--tasks``
tasks in its team directly (titles ``Fix 0`` … ``Fix N``, so every slug starts with
``fix``), then times ``POST /api/v1/tasks`` (``run: false``) for titles of their own,
then once for ``Fix`` (its slug free, and a prefix of every other) and once more (taken:
numbered, which reads the numbered ones). A create's slug lookup once read every slug of
the team that starts with its own.

Usage: python bench/task_create.py [--tasks 20000] [-n 50] [--dir /var/tmp]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from overhead import TOKEN, serving
from sqlalchemy import insert, select, update


def store_tasks(data_dir: Path, count: int) -> None:
    """``count`` copies of the team's one task, slugs ``fix-0`` … (numbers, keys and uids
    their own), and the team's counter moved past them."""
    os.environ["TASKYARD_DATA_DIR"] = str(data_dir)
    from taskyard.config import Settings
    from taskyard.db.models import Task, Team
    from taskyard.db.session import get_engine, session_scope

    url = Settings().resolved_database_url
    with session_scope(url, write=False) as session:
        seed = session.scalars(select(Task)).one()
        columns = {c.name: getattr(seed, c.key) for c in Task.__table__.columns if c.name != "id"}
    rows = [
        {**columns, "number": i + 2, "key": f"TY-{i + 2}", "uid": f"b{i}"}
        | {"slug": f"fix-{i}", "title": f"Fix {i}"}
        for i in range(count)
    ]
    with get_engine(url).begin() as connection:
        connection.execute(insert(Task.__table__), rows)
        connection.execute(update(Team).values(next_number=count + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks already in the team")
    parser.add_argument("-n", type=int, default=50, help="creates timed per title")
    parser.add_argument("--dir", default="/var/tmp", help="where its files go")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="taskyard-bench-", dir=args.dir) as tmp,
        serving(Path(tmp) / "data") as (_, url),
    ):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=url, headers=headers) as http:
            body = {"repository": "acme/shop", "run": False}
            http.post("/api/v1/tasks", json={**body, "title": "seed"}).raise_for_status()
            store_tasks(Path(tmp) / "data", args.tasks)
            print(f"POST /api/v1/tasks, {args.tasks:,} tasks in the team (slugs fix-0 …)")

            def create(title: str) -> float:
                started = time.perf_counter()
                http.post("/api/v1/tasks", json={**body, "title": title}).raise_for_status()
                return (time.perf_counter() - started) * 1000

            own = [create(f"New feature {i}") for i in range(args.n)]
            print(f"  a title of its own, p50 of {args.n}:  {statistics.median(own):6.1f} ms")
            print(f"  'Fix', a prefix of every slug:  {create('Fix'):6.1f} ms")
            print(f"  'Fix' again, numbered:          {create('Fix'):6.1f} ms")


if __name__ == "__main__":
    main()
