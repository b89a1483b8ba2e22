"""Who may start a task from GitHub: the event's sender, mapped to a taskyard user.

A person is let through when their GitHub account is linked to a user of the
organization (by an admin, or by themselves at ``/settings/external-auth``) and GitHub
says, at that moment, that they may write to the repository (``write``, ``maintain`` or
``admin``). A bot is refused unless ``TASKYARD_GITHUB_ALLOWED_BOTS`` names it; an allowed
bot still needs a linked identity (the user its tasks belong to), but its permission is
not asked: GitHub's collaborator endpoint does not answer for Apps' bots, and naming a
bot in the setting is the operator's grant. Every refusal is the comment taskyard posts
on the issue: it says why, and what to fix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.models import User
from taskyard.forges import github_people
from taskyard.forges.base import FORGES
from taskyard.forges.github import GitHubForge
from taskyard.model.errors import InvalidInput
from taskyard.model.forge import ForgeSite
from taskyard.services.forge_settings import site_for
from taskyard.services.users import user_for_identity

BOT_SUFFIX = "[bot]"


@dataclass(frozen=True)
class Sender:
    """Whom a GitHub event acts for: ``user`` when allowed, else the ``refusal`` to post."""

    user: User | None
    refusal: str = ""


def is_bot(sender: Mapping[str, Any]) -> bool:
    return sender.get("type") == "Bot" or str(sender.get("login", "")).endswith(BOT_SUFFIX)


def _bot_name(login: str) -> str:
    return login.strip().lower().removesuffix(BOT_SUFFIX)


def _lookup(
    session_factory: Callable[[], Session], org_id: int, repository: str, github_id: int
) -> tuple[User | None, ForgeSite]:
    with session_factory() as session:
        user = user_for_identity(session, org_id, "github", str(github_id))
        return user, site_for(session, org_id, repository)


async def authorize(
    session_factory: Callable[[], Session],
    settings: Settings,
    org_id: int,
    repository: str,
    sender: Mapping[str, Any],
) -> Sender:
    """The user of ``org_id`` the GitHub ``sender`` (the payload's ``sender``: id, login,
    type) acts as on ``repository`` (``owner/name``), or why they may not.

    Raises :class:`~taskyard.model.errors.Unavailable` when GitHub cannot be asked now
    (unreachable, rate-limited): the caller tries again later.
    """
    login = str(sender.get("login", ""))[:100]
    github_id = sender.get("id")
    if not isinstance(github_id, int) or isinstance(github_id, bool) or github_id <= 0:
        return Sender(None, "GitHub sent this event without a sender id: nothing was started.")
    bot = is_bot(sender)
    if bot and _bot_name(login) not in {_bot_name(name) for name in settings.github_allowed_bots}:
        return Sender(
            None,
            f"The GitHub bot {login} may not start taskyard tasks: a server admin can allow "
            "it by adding it to TASKYARD_GITHUB_ALLOWED_BOTS.",
        )
    user, site = await asyncio.to_thread(_lookup, session_factory, org_id, repository, github_id)
    if user is None:
        link = f"{settings.public_url.rstrip('/')}/settings/external-auth"
        return Sender(
            None, f"No taskyard user found with GitHub user ID {github_id}: link it at {link}"
        )
    if bot:
        return Sender(user)
    return await _writer(settings, site, repository, login, github_id, user)


async def _writer(
    settings: Settings, site: ForgeSite, repository: str, login: str, github_id: int, user: User
) -> Sender:
    """``user`` when GitHub says ``login`` may write to ``repository`` now."""
    forge = FORGES.get(site.kind) if site.kind in FORGES else None
    credentials = forge.credentials(site, settings) if isinstance(forge, GitHubForge) else None
    if credentials is None:
        return Sender(
            None,
            f"taskyard cannot check {login}'s access to {repository}: it has no GitHub "
            "credentials for it (an admin sets TASKYARD_GITHUB_TOKEN or a GitHub App, and "
            "puts the repository on a GitHub forge).",
        )
    api_url = site.api_url or settings.github_api_url
    try:
        found = await github_people.permission(credentials, api_url, repository, login)
    except InvalidInput as exc:  # taskyard's own credentials were refused: say how to fix
        return Sender(None, f"taskyard cannot check {login}'s access to {repository}: {exc}")
    if found is None:
        return Sender(
            None,
            f"GitHub user {login} has no write access to {repository}: GitHub does not know "
            "them as a collaborator. A repository admin can grant them the write, maintain "
            "or admin role.",
        )
    if found.user_id and found.user_id != github_id:
        return Sender(
            None,
            f"The GitHub login {login} now belongs to another account than GitHub user ID "
            f"{github_id}: nothing was started. Try again from the account itself.",
        )
    if not found.writes:
        role = found.role or found.level
        return Sender(
            None,
            f"GitHub user {login} has no write access to {repository} (their role is "
            f"{role}): taskyard starts tasks for people who may write to it. A repository "
            "admin can grant them the write, maintain or admin role.",
        )
    return Sender(user)
