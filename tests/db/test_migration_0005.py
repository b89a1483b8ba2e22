"""Migration 0005 on a database that already holds tasks, on SQLite and PostgreSQL:
each task gets the forge its repository's name used to decide."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import select

from taskyard.api.app import create_app
from taskyard.db.models import Task
from taskyard.db.session import session_scope
from tests.api.conftest import bootstrapped
from tests.conftest import ADMIN_TOKEN
from tests.db.test_migration_0003 import alembic
from tests.support.server import serve_app


def test_existing_tasks_keep_the_forge_their_repository_named(
    tmp_path: Path, database_url: str, remote_repo: Path
) -> None:
    settings = bootstrapped(tmp_path, database_url)
    settings = settings.model_copy(update={"forge_origins": "https://git.example.com"})
    with serve_app(create_app(settings), ADMIN_TOKEN) as api:
        for repository in ("acme/shop", str(remote_repo), f"file://{remote_repo}"):
            body = {"title": "t", "repository": repository, "run": False}
            assert api.post("/api/v1/tasks", json=body).status_code == 201
        site = {"kind": "github", "url": "https://git.example.com"}
        assert api.put("/api/v1/forges/default", json=site).status_code == 200
    config = alembic(database_url)
    command.downgrade(config, "0004")
    command.upgrade(config, "head")
    with session_scope(database_url) as session:
        forges = [t.forge_site for t in session.scalars(select(Task).order_by(Task.id))]
    assert [(f.kind, f.url) for f in forges] == [("github", ""), ("local", ""), ("local", "")]
