"""Engine and session factory, and schema migration at start-up."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
WRITE_OPTION = "taskyard_write"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the API read while a worker writes; busy_timeout queues writers
    # instead of failing them when tasks are created concurrently.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# SQLite lets one writer in at a time and makes the others poll with sleeps of
# up to 100 ms, which collapses under a burst of tasks. Writers of this process
# queue on this lock instead; other processes still meet SQLite's own lock.
_SQLITE_WRITERS = threading.Lock()
_HOLDS_LOCK = "taskyard_holds_write_lock"


def _begin(conn: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with
    # SQLITE_BUSY when another writer got in between (busy_timeout does not
    # apply to lock upgrades), so sessions that write take the lock up front.
    # Readers stay deferred: in WAL mode they never block anyone.
    if not conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN")
        return
    _SQLITE_WRITERS.acquire()
    conn.info[_HOLDS_LOCK] = True
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _end(conn)
        raise


def _end(conn: Connection) -> None:
    if conn.info.pop(_HOLDS_LOCK, False):
        _SQLITE_WRITERS.release()


@functools.cache
def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Connections are cheap (a file handle), and every live event stream polls.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=32,
            max_overflow=96,
            pool_timeout=60,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin)
        event.listen(engine, "commit", _end)
        event.listen(engine, "rollback", _end)
        event.listen(
            engine,
            "connect",
            lambda dbapi_conn, _r: setattr(dbapi_conn, "isolation_level", None),
        )
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


@functools.cache
def get_sessionmaker(url: str, write: bool = True) -> sessionmaker[Session]:
    """Sessions for ``url``; ``write=False`` ones only read (no lock taken on SQLite)."""
    engine = get_engine(url)
    return sessionmaker(
        engine.execution_options(**{WRITE_OPTION: True}) if write else engine,
        expire_on_commit=False,
    )


@contextmanager
def session_scope(url: str, *, write: bool = True) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = get_sessionmaker(url, write)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def migrate(url: str) -> None:
    """Bring the schema at ``url`` up to the newest migration."""
    get_engine(url)  # creates the SQLite directory
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["engine"] = get_engine(url)
    command.upgrade(config, "head")
