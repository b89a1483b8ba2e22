"""GitHub's OAuth web flow, for people proving which GitHub account is theirs.

The browser goes to ``<github>/login/oauth/authorize`` with the OAuth App's client id, a
``state`` and where to come back; GitHub sends it back with a ``code``, which taskyard
exchanges at ``<github>/login/oauth/access_token`` for a token good for one request:
``GET /user``, whose ``id`` and ``login`` are the account. The token is not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from taskyard.forges.github_http import HEADERS, github_message
from taskyard.model.errors import InvalidInput, Unavailable

AGAIN = "Start again with `taskyard account link-github`."


@dataclass(frozen=True)
class OAuthApp:
    """An OAuth App (or a GitHub App's user authorization) on one GitHub."""

    client_id: str
    client_secret: str
    web_url: str  # https://github.com, or a GitHub Enterprise Server
    api_url: str


@dataclass(frozen=True)
class GitHubAccount:
    id: int
    login: str


def authorize_url(app: OAuthApp, state: str, redirect_uri: str) -> str:
    """Where the browser signs in to GitHub and is asked to let taskyard see who it is."""
    # No scope: reading the signed-in account's id and login needs none.
    query = urlencode(
        {
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "allow_signup": "false",
        }
    )
    return f"{app.web_url.rstrip('/')}/login/oauth/authorize?{query}"


async def account_for_code(
    app: OAuthApp,
    code: str,
    redirect_uri: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> GitHubAccount:
    """The GitHub account that signed in and was given ``code``."""
    async with httpx.AsyncClient(timeout=30, transport=transport) as http:
        try:
            exchanged = await http.post(
                f"{app.web_url.rstrip('/')}/login/oauth/access_token",
                headers={"Accept": "application/json", "User-Agent": "taskyard"},
                data={
                    "client_id": app.client_id,
                    "client_secret": app.client_secret,
                    "code": code,
                    "redirect_uri": redirect_uri,
                },
            )
            token = _token(exchanged)
            me = await http.get(
                f"{app.api_url.rstrip('/')}/user",
                headers={**HEADERS, "Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"GitHub unreachable: {exc}. {AGAIN}") from exc
    if me.status_code != 200:
        raise InvalidInput(
            f"GitHub did not say who signed in (GET /user answered {me.status_code}: "
            f"{github_message(me)}). {AGAIN}"
        )
    data = me.json()
    return GitHubAccount(int(data["id"]), str(data["login"])[:100])


def _token(response: httpx.Response) -> str:
    """The access token GitHub gave for the code; its refusal (sent with 200) explained."""
    if response.status_code >= 500:
        raise Unavailable(f"GitHub answered {response.status_code} to the code exchange. {AGAIN}")
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if token := data.get("access_token"):
        return str(token)
    error = str(data.get("error", f"status {response.status_code}"))[:100]
    said = str(data.get("error_description", ""))[:300]
    if error == "incorrect_client_credentials":
        raise InvalidInput(
            f"GitHub refused taskyard's OAuth App ({said or error}): an admin checks "
            "TASKYARD_GITHUB_OAUTH_CLIENT_ID and TASKYARD_GITHUB_OAUTH_CLIENT_SECRET."
        )
    if error == "redirect_uri_mismatch":
        raise InvalidInput(
            f"GitHub refused the callback URL ({said or error}): the OAuth App's callback URL "
            "must be <TASKYARD_PUBLIC_URL>/settings/external-auth/github/callback."
        )
    raise InvalidInput(f"GitHub did not accept the sign-in ({said or error}). {AGAIN}")
