"""Repository mirrors (one bare mirror per repository) and per-task checkouts.

A task's checkout is cloned from the local mirror with ``--shared`` (objects are
borrowed through ``alternates``), so a second task on the same repository costs no
network and almost no disk. Mirrors are fetched incrementally and never
garbage-collected with pruning, which keeps every borrowed object alive.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from taskyard.config import Settings
from taskyard.workspaces.git import GitError, git

PRIVATE_FILES = ("PLAN.md",)  # written by agents for people, never committed


def remote_url(repository: str, settings: Settings) -> str:
    """Where to fetch and push ``repository`` (``org/repo`` → GitHub)."""
    if repository.startswith(("/", "file://")):
        return repository
    return f"https://github.com/{repository}.git"


def auth_config(url: str, settings: Settings) -> list[str]:
    """``git -c`` arguments carrying the forge token without putting it in a URL."""
    if not url.startswith("https://github.com/") or not settings.github_token:
        return []
    basic = base64.b64encode(f"x-access-token:{settings.github_token}".encode()).decode()
    return ["-c", f"http.https://github.com/.extraheader=Authorization: Basic {basic}"]


def mirror_path(url: str, settings: Settings) -> Path:
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return settings.mirrors_dir / f"{digest}.git"


@contextlib.asynccontextmanager
async def _locked(path: Path) -> AsyncIterator[None]:
    """An exclusive file lock, so two workers never fetch one mirror at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_suffix(".lock").open("w") as handle:
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def ensure_mirror(repository: str, settings: Settings) -> Path:
    """Create the mirror on first use, fetch new objects on later uses."""
    url = remote_url(repository, settings)
    mirror = mirror_path(url, settings)
    auth = auth_config(url, settings)
    async with _locked(mirror):
        if (mirror / "HEAD").exists():
            await git(*auth, "fetch", "--prune", "--quiet", "origin", cwd=mirror)
        else:
            partial = mirror.with_suffix(".partial")
            shutil.rmtree(partial, ignore_errors=True)
            await git(*auth, "clone", "--mirror", "--quiet", url, str(partial))
            partial.rename(mirror)
    return mirror


async def default_branch(mirror: Path) -> str:
    ref = await git("symbolic-ref", "--short", "HEAD", cwd=mirror)
    return ref.strip()


async def create_checkout(
    repository: str, branch: str, base_branch: str, dest: Path, settings: Settings
) -> str:
    """Make ``dest`` a checkout of ``repository`` on ``branch``; returns the base branch.

    Idempotent: a retried activity finds the checkout already there and keeps it,
    with whatever the agent had already written.
    """
    mirror = await ensure_mirror(repository, settings)
    base = base_branch or await default_branch(mirror)
    if (dest / ".git").exists():
        return base
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    try:
        await git("clone", "--shared", "--quiet", "--no-checkout", str(mirror), str(partial))
        await git("checkout", "--quiet", "-b", branch, f"origin/{base}", cwd=partial)
    except GitError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if "origin/" in str(exc):
            raise GitError(["checkout", base], 1, f"Base branch '{base}' not found") from exc
        raise
    exclude = partial / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    exclude.write_text("".join(f"/{name}\n" for name in PRIVATE_FILES))
    partial.rename(dest)
    return base


def remove_checkout(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
