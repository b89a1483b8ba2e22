"""Deleting a schedule twice at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.schedules.conftest import schedule_body
from tests.support.server import RunningServer


def test_deleting_twice_at_once_deletes_once(server: RunningServer, remote_repo: Path) -> None:
    body = schedule_body("gone-twice", remote_repo, "", cron="0 3 1 1 *")
    del body["task"]["template"]
    assert server.http.post("/api/v1/schedules", json=body).status_code == 201

    def delete(_: int) -> int:
        with httpx.Client(
            timeout=30, base_url=server.url, headers=dict(server.http.headers)
        ) as http:
            return http.delete("/api/v1/schedules/gone-twice").status_code

    with ThreadPoolExecutor(6) as pool:
        answers = sorted(pool.map(delete, range(6)))
    assert answers == [204] + [404] * 5
    assert server.http.delete("/api/v1/schedules/gone-twice").status_code == 404
