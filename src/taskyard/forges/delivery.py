"""Delivery: commit the agent's changes, push the branch, open the pull request."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from taskyard.config import Settings
from taskyard.forges.base import Forge, LocalForge
from taskyard.forges.github import GitHubForge
from taskyard.workspaces.git import git
from taskyard.workspaces.repos import auth_config, remote_url

MAX_PATCH = 2_000_000


@dataclass(frozen=True)
class DiffStats:
    files_changed: int
    additions: int
    deletions: int


def forge_for(repository: str, settings: Settings) -> Forge:
    if repository.startswith(("/", "file://")):
        return LocalForge()
    return GitHubForge(settings.github_token, settings.github_api_url)


async def has_changes(checkout: Path) -> bool:
    return bool((await git("status", "--porcelain", cwd=checkout)).strip())


async def commit_all(checkout: Path, message: str, settings: Settings) -> str:
    """Commit everything the agent changed; returns the new commit's sha."""
    await git("add", "-A", cwd=checkout)
    await git(
        "-c",
        f"user.name={settings.git_author_name}",
        "-c",
        f"user.email={settings.git_author_email}",
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        message,
        cwd=checkout,
    )
    return (await git("rev-parse", "HEAD", cwd=checkout)).strip()


async def push(checkout: Path, repository: str, branch: str, settings: Settings) -> None:
    url = remote_url(repository, settings)
    # taskyard owns the branch; a retried delivery may push the same commits again.
    await git(
        *auth_config(url, settings),
        "push",
        "--quiet",
        "--force",
        url,
        f"HEAD:refs/heads/{branch}",
        cwd=checkout,
    )


async def branch_stats(checkout: Path, base: str) -> tuple[DiffStats, str]:
    """Stats and patch of the branch against its base (committed work only)."""
    numstat = await git("diff", "--numstat", f"origin/{base}...HEAD", cwd=checkout)
    files = additions = deletions = 0
    for line in numstat.splitlines():
        added, deleted, _ = line.split("\t", 2)
        files += 1
        additions += int(added) if added.isdigit() else 0
        deletions += int(deleted) if deleted.isdigit() else 0
    patch = await git("diff", f"origin/{base}...HEAD", cwd=checkout)
    return DiffStats(files, additions, deletions), patch[:MAX_PATCH]


async def working_diff(checkout: Path, base: str) -> str:
    """Everything on the branch so far, committed or not, against the base."""
    await git("add", "--intent-to-add", "--all", cwd=checkout)
    merge_base = (await git("merge-base", f"origin/{base}", "HEAD", cwd=checkout)).strip()
    return (await git("diff", merge_base, cwd=checkout))[:MAX_PATCH]
