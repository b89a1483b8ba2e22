"""Retention: ended tasks' workspaces go after the retention period, live ones stay."""

from __future__ import annotations

import datetime as dt
import subprocess
from functools import partial
from pathlib import Path

import pytest

from taskyard.config import Settings
from taskyard.db.session import migrate, session_scope
from taskyard.services import tasks, teams, tokens, users
from taskyard.services.bootstrap import ensure_bootstrapped
from taskyard.services.ended import expired_workspaces
from taskyard.workspaces import retention

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
TOKEN = "ty_retention_token_0123456789"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    settings = Settings(
        data_dir=tmp_path / "data", database_url=database_url, workspace_retention_hours=24
    )
    migrate(settings.resolved_database_url)
    with session_scope(settings.resolved_database_url) as session:
        ensure_bootstrapped(session, TOKEN)
    return settings


async def sweep(settings: Settings) -> list[str]:
    return await retention.sweep(
        settings, partial(expired_workspaces, settings), now=NOW.timestamp()
    )


def add_task(
    settings: Settings, status: str, ended_hours_ago: float | None, token: str = TOKEN
) -> str:
    """A task with ``status`` that ended that long before ``NOW``; its workspace's name."""
    with session_scope(settings.resolved_database_url) as session:
        principal = tokens.authenticate(session, token)
        task = tasks.create_task(
            session, principal, tasks.TaskCreate(title="t", repository="a/b"), local_roots=()
        )
        task.status = status
        if ended_hours_ago is not None:
            task.ended_at = NOW - dt.timedelta(hours=ended_hours_ago)
        return f"{task.org_id}/{task.key}"


def rival_token(settings: Settings) -> str:
    """A second organization, whose team has the same key, so its tasks the same keys."""
    with session_scope(settings.resolved_database_url) as session:
        org = teams.create_organization(session, "rival", "Rival", "*")
        teams.create_team(session, org.id, "TY", "Same key")
        user = users.create_user(session, org.id, "eve", is_admin=True)
        return tokens.create_token(session, user, "t", ["admin"])[1]


def lay_out(settings: Settings, key: str) -> list[Path]:
    """A checkout, a half-made checkout and a home of ``key``, on disk."""
    paths = retention.task_dirs(settings, key)
    for path in paths:
        (path / ".git").mkdir(parents=True)
        (path / "file.txt").write_text(key)
    return paths


async def test_only_workspaces_of_tasks_ended_long_ago_are_removed(settings: Settings) -> None:
    old_done = add_task(settings, "completed", 48)
    old_failed = add_task(settings, "failed", 30)
    recent = add_task(settings, "cancelled", 2)
    waiting = add_task(settings, "waiting", None)
    old_but_no_files = add_task(settings, "completed", 48)
    on_disk = {k: lay_out(settings, k) for k in (old_done, old_failed, recent, waiting)}
    unknown = lay_out(settings, "1/XX-404")  # no task has it: not ours to judge
    removed = await sweep(settings)
    assert removed == sorted([old_done, old_failed])
    assert old_but_no_files not in removed
    for key, paths in on_disk.items():
        assert all(p.exists() for p in paths) == (key in (recent, waiting))
    assert all(p.exists() for p in unknown)
    assert list((settings.data_dir / "trash").iterdir()) == []


async def test_the_same_key_in_another_org_has_its_own_workspace(settings: Settings) -> None:
    ended = add_task(settings, "completed", 48)
    live = add_task(settings, "working", None, token=rival_token(settings))
    assert ended.split("/")[1] == live.split("/")[1] == "TY-1" and ended != live
    ended_paths, live_paths = lay_out(settings, ended), lay_out(settings, live)
    assert await sweep(settings) == [ended]
    assert not any(p.exists() for p in ended_paths)
    assert all(p.exists() for p in live_paths)


async def test_the_retention_period_is_a_setting(settings: Settings) -> None:
    key = add_task(settings, "completed", 48)
    paths = lay_out(settings, key)
    week = settings.model_copy(update={"workspace_retention_hours": 24 * 7})
    assert await sweep(week) == []
    assert await sweep(settings) == [key]
    assert not any(p.exists() for p in paths)


async def test_the_vault_forgets_removed_tasks(settings: Settings, tmp_path: Path) -> None:
    done, recent = add_task(settings, "completed", 48), add_task(settings, "completed", 2)
    for key in (done, recent):
        lay_out(settings, key)
    store = settings.data_dir / "vault" / "repo.git"
    subprocess.run(["git", "init", "-q", "--bare", str(store)], check=True)
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=store,
        input="x",
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    tree = subprocess.run(
        ["git", "mktree"],
        cwd=store,
        input=f"100644 blob {blob}\tx\n",
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit-tree", tree, "-m", "w"],
        cwd=store,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for key in (done, recent):
        for kind in ("work", "live"):
            subprocess.run(
                ["git", "update-ref", f"refs/taskyard/{key}/{kind}", commit], cwd=store, check=True
            )
    await sweep(settings)
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)"], cwd=store, capture_output=True, text=True
    ).stdout.split()
    assert refs == [f"refs/taskyard/{recent}/live", f"refs/taskyard/{recent}/work"]
