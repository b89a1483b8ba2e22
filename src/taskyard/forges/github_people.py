"""What GitHub says about a person on a repository: their permission, asked at the moment
they ask taskyard for something (``GET /repos/{owner}/{repo}/collaborators/{username}/permission``).

GitHub words a role's permission in two fields: ``permission`` is the classic level
(``admin``, ``write``, ``read``, ``none``) and ``role_name`` the role itself, which also
names ``maintain`` (a write level) and ``triage`` (a read level) and custom roles.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from taskyard.forges.github_app import Credentials
from taskyard.forges.github_http import HEADERS, next_wait, refusal
from taskyard.model.errors import Unavailable

WRITE_LEVELS = frozenset({"admin", "write"})
WRITE_ROLES = frozenset({"admin", "maintain", "write"})


@dataclass(frozen=True)
class Permission:
    """A person's permission on a repository, as GitHub answered."""

    level: str  # admin, write, read or none
    role: str  # GitHub's role_name: admin, maintain, write, triage, read, or a custom role
    user_id: int  # whose login it is now (a login can change hands)

    @property
    def writes(self) -> bool:
        return self.level in WRITE_LEVELS or self.role in WRITE_ROLES


async def permission(
    credentials: Credentials,
    api_url: str,
    repository: str,
    login: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Permission | None:
    """``login``'s permission on ``repository``; None when GitHub answers 404 (no such
    user, or not one GitHub will say anything of on this repository).

    Raises what :func:`~taskyard.forges.github_http.refusal` makes of other refusals, and
    :class:`Unavailable` when GitHub cannot be reached or keeps rate-limiting.
    """
    # An App's token may need a request to GitHub: made in a thread, under its lock.
    token = await asyncio.to_thread(credentials.token, repository)
    path = f"/repos/{repository}/collaborators/{quote(login, safe='')}/permission"
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api_url, transport=transport, timeout=30) as http:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await http.get(path, headers=headers)
            except httpx.HTTPError as exc:
                raise Unavailable(f"GitHub unreachable: {exc}") from exc
            wait = next_wait(response, attempt, "GET", path)
            if wait is None:
                break
            await asyncio.sleep(wait)
    if response.status_code == 404:
        return None
    if error := refusal(response, "GET", path, repository):
        raise error
    try:
        data = response.json()
        user = data.get("user") or {}
    except (ValueError, AttributeError) as exc:
        raise Unavailable(f"GitHub answered GET {path} with no permission object") from exc
    return Permission(
        level=str(data.get("permission", "none")),
        role=str(data.get("role_name", "")),
        user_id=int(user.get("id", 0) or 0),
    )
