"""Which tasks have ended, for what sweeps up after them (their workspaces on disk)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select

from taskyard.config import Settings
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from taskyard.model.status import FINAL

BATCH = 500  # keys per query: well under every database's limit on parameters


def _as_utc(moment: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def expired_workspaces(settings: Settings, names: Iterable[str], ended_before: float) -> set[str]:
    """The workspace ``names`` whose tasks ended before ``ended_before`` (epoch seconds).

    A name is ``<org id>/<key>``, one task's. Names no task has are not expired.
    """
    by_org: dict[int, list[str]] = {}
    for name in names:
        org, _, key = name.partition("/")
        by_org.setdefault(int(org), []).append(key)
    expired: set[str] = set()
    with session_scope(settings.resolved_database_url, write=False) as session:
        for org_id, keys in by_org.items():
            for start in range(0, len(keys), BATCH):
                rows = session.execute(
                    select(Task.key, Task.status, Task.ended_at).where(
                        Task.org_id == org_id, Task.key.in_(keys[start : start + BATCH])
                    )
                )
                for key, status, ended_at in rows:
                    if (
                        status in FINAL
                        and ended_at is not None
                        and _as_utc(ended_at).timestamp() < ended_before
                    ):
                        expired.add(f"{org_id}/{key}")
    return expired
