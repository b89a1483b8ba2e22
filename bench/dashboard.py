"""How fast the dashboard's board and task list answer with 10,000 tasks.

Starts a real ``taskyard serve`` (SQLite, embedded Temporal, in-process worker) in a
temporary directory, seeds N tasks straight into its database (bulk inserts through the
models: in every stage and status, from several repositories, origins and creators,
each with a run), signs a client in through the sign-in form, and asks each page R
times on one kept-alive connection: the board (all, filtered, searched), its columns
fragment, and the list (first page, other sorts, a page deep in, filtered, searched).

Aim: p95 under 100 ms per page.

Usage: python bench/dashboard.py [-n 10000] [-r 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from overhead import TOKEN, percentile, serving
from sqlalchemy import insert, select, update

from taskyard.db.models import Run, Task, Team, User, Workflow
from taskyard.db.session import session_scope

STATUSES = {
    "": ["queued"],
    "plan": ["working", "waiting"],
    "code": ["working", "failed"],
    "review": ["waiting", "cancelled"],
    "done": ["completed"],
}
REPOSITORIES = ["acme/shop", "acme/web", "acme/api", "acme/docs"]
ORIGINS = ["api", "dashboard", "github_issue", "cli"]
WORDS = [
    "fix",
    "add",
    "speed",
    "up",
    "remove",
    "refactor",
    "login",
    "search",
    "cart",
    "checkout",
    "docs",
    "tests",
    "cache",
]


def seed(url: str, n: int) -> None:
    """``n`` tasks of the first team, on its default workflow, in bulk."""
    rng = random.Random(11)
    now = dt.datetime.now(dt.UTC)
    with session_scope(url) as session:
        team = session.scalars(select(Team).order_by(Team.id)).first()
        assert team is not None
        workflow = session.scalars(
            select(Workflow).where(Workflow.team_id == team.id, Workflow.is_default)
        ).one()
        people = [session.scalars(select(User).where(User.username == "admin")).one()]
        for name in ("ana", "bo", "cy"):
            person = User(org_id=team.org_id, username=name)
            session.add(person)
            people.append(person)
        session.flush()
        rows = []
        for number in range(1, n + 1):
            stage = rng.choice(list(STATUSES))
            created = now - dt.timedelta(minutes=n - number)
            title = " ".join(rng.choice(WORDS) for _ in range(4)).capitalize()
            rows.append(
                {
                    "org_id": team.org_id,
                    "team_id": team.id,
                    "number": number,
                    "uid": uuid.uuid4().hex,
                    "key": f"{team.key}-{number}",
                    "slug": f"task-{number}",
                    "title": title,
                    "repository": rng.choice(REPOSITORIES),
                    "origin": rng.choice(ORIGINS),
                    "origin_context": {},
                    "creator_id": rng.choice(people).id,
                    "requested_by_id": people[0].id,
                    "agent": {},
                    "parameters": {},
                    "workflow_id": workflow.id,
                    "stage": stage,
                    "status": rng.choice(STATUSES[stage]),
                    "branch": f"taskyard/{team.key}-{number}",
                    "cost_usd": round(rng.random() * 3, 2),
                    "created_at": created,
                    "updated_at": created + dt.timedelta(seconds=rng.randint(0, 5000)),
                }
            )
        session.execute(insert(Task), rows)
        session.execute(update(Team).where(Team.id == team.id).values(next_number=n))
        ids = session.execute(select(Task.id, Task.stage).where(Task.stage != "")).all()
        session.execute(
            insert(Run),
            [{"task_id": i, "stage": s, "status": "done", "started_at": now} for i, s in ids],
        )


def sign_in(client: httpx.Client) -> None:
    form = client.get("/login")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce, form.text
    signed = client.post("/login", data={"token": TOKEN, "nonce": nonce.group(1), "next": "/"})
    assert signed.status_code == 303, signed.text


def deep_cursor(client: httpx.Client, pages: int) -> str:
    """The list's cursor ``pages`` pages in (by last update)."""
    url = "/tasks?sort=updated&order=desc"
    for _ in range(pages):
        found = re.search(r'rel="next" href="([^"]+)"', client.get(url).text)
        assert found
        url = found.group(1).replace("&amp;", "&")
    return url


def measure(client: httpx.Client, url: str, rounds: int) -> tuple[float, float, int]:
    timings = []
    size = 0
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:500])
        size = len(response.content)
    return percentile(timings, 0.5), percentile(timings, 0.95), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=10_000, help="tasks to seed")
    parser.add_argument("-r", type=int, default=200, help="requests per page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        with serving(data) as (_, url):
            started = time.perf_counter()
            seed(f"sqlite:///{data / 'taskyard.db'}", args.n)
            print(f"seeded {args.n} tasks in {time.perf_counter() - started:.1f} s")
            with httpx.Client(base_url=url, headers={"Accept": "text/html"}) as client:
                sign_in(client)
                pages = {
                    "board": "/board",
                    "board, status=working": "/board?status=working",
                    "board, search": "/board?q=login",
                    "board columns (live refresh)": "/board/columns",
                    "list, first page": "/tasks",
                    "list, by title": "/tasks?sort=title&order=asc",
                    "list, by key": "/tasks?sort=key",
                    "list, 100 pages in": deep_cursor(client, 100),
                    "list, repository + creator": "/tasks?repository=acme/web&creator=bo",
                    "list, search": "/tasks?q=cart+checkout",
                }
                print(f"{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'KiB':>6}")
                worst = 0.0
                for name, path in pages.items():
                    client.get(path)  # warm
                    p50, p95, size = measure(client, path, args.r)
                    worst = max(worst, p95)
                    print(f"{name:34} {p50:8.1f} {p95:8.1f} {size / 1024:6.0f}")
                verdict = "under" if worst < 100 else "OVER"
                print(f"worst p95: {worst:.1f} ms ({verdict} the 100 ms aim)")


if __name__ == "__main__":
    main()
