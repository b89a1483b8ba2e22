"""Who taskyard is on GitHub: a personal access token, or a GitHub App's installations.

An App signs a JSON web token (RS256, issued by its id, backdated a minute for clock
drift, valid under ten minutes) to ask GitHub which installation holds a repository
(``GET /repos/{owner}/{repo}/installation``) and for that installation's token
(``POST /app/installations/{id}/access_tokens``). Tokens are kept per installation
until five minutes before they expire; callers at the same time wait for one request.

The calls are synchronous so that the git remote (a plain function) and the async REST
client (through a thread) share one cache and one lock per installation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from taskyard.config import Settings
from taskyard.forges.github_http import HEADERS, github_message, next_wait, refusal
from taskyard.model import redaction
from taskyard.model.errors import InvalidInput, Misconfigured, Unavailable

REFRESH_BEFORE = 300.0  # seconds before expiry an installation token is replaced
JWT_BACKDATE = 60
JWT_LIFETIME = 540  # GitHub refuses more than ten minutes


class Credentials(Protocol):
    def token(self, repository: str) -> str:
        """A token for the REST API and git on ``repository`` (may ask GitHub for one)."""


@dataclass(frozen=True)
class PersonalToken:
    value: str = field(repr=False)

    def token(self, repository: str) -> str:
        return self.value


@dataclass(frozen=True)
class InstallationToken:
    value: str = field(repr=False)
    expires_at: float  # seconds since the epoch


def private_key(settings: Settings) -> str:
    """The App's private key, from its file or the setting."""
    if settings.github_app_private_key_file:
        try:
            return settings.github_app_private_key_file.read_text()
        except OSError as exc:
            raise Misconfigured(
                f"Cannot read TASKYARD_GITHUB_APP_PRIVATE_KEY_FILE: {exc.strerror}."
            ) from exc
    if not settings.github_app_private_key:
        raise Misconfigured(
            "TASKYARD_GITHUB_APP_ID is set but the App has no private key: set "
            "TASKYARD_GITHUB_APP_PRIVATE_KEY_FILE (or TASKYARD_GITHUB_APP_PRIVATE_KEY)."
        )
    return settings.github_app_private_key


class GitHubApp:
    """One App on one GitHub API: its installations' tokens, kept for the process."""

    def __init__(self, app_id: int, key_pem: str, api_url: str) -> None:
        try:
            key = load_pem_private_key(key_pem.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise Misconfigured(
                "The GitHub App's private key is not an unencrypted PEM private key: use the "
                ".pem file GitHub generated for the App."
            ) from exc
        if not isinstance(key, RSAPrivateKey):
            raise Misconfigured("The GitHub App's private key must be an RSA key (GitHub's).")
        redaction.remember([key_pem.strip()])
        self.app_id = app_id
        self._key = key
        self.api_url = api_url
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._tokens: dict[int, InstallationToken] = {}
        self._installations: dict[str, int] = {}
        self._lookup = threading.Lock()  # one lookup at a time: they are once per repository

    def token(self, repository: str) -> str:
        """A token of the installation that holds ``repository``, fresh for five minutes."""
        installation = self.installation(repository)
        with self._guard:
            lock = self._locks.setdefault(installation, threading.Lock())
        with lock:  # one request for a new token per installation; the others wait for it
            held = self._tokens.get(installation)
            if held is None or held.expires_at - REFRESH_BEFORE <= time.time():
                held = self._tokens[installation] = self._issue(installation, repository)
            return held.value

    def installation(self, repository: str) -> int:
        """The id of the App's installation on ``repository``."""
        if (known := self._installations.get(repository)) is not None:
            return known
        with self._lookup:
            if (known := self._installations.get(repository)) is not None:
                return known  # found by the caller this one waited for
            return self._look_up(repository)

    def _look_up(self, repository: str) -> int:
        response = self._call("GET", f"/repos/{repository}/installation", repository, (404,))
        if response.status_code == 404:
            raise InvalidInput(
                f"The GitHub App {self.app_id} is not installed on {repository}, or there is "
                "no such repository: install the App on it (the App's page on GitHub, "
                "Install App), with the permissions in docs/forges.md."
            )
        installation = int(response.json()["id"])
        self._installations[repository] = installation
        return installation

    def web_token(self) -> str:
        """The App's JSON web token, for the requests it makes as itself."""
        now = int(time.time())
        claims = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": str(self.app_id)}
        return jwt.encode(claims, self._key, algorithm="RS256")

    def _issue(self, installation: int, repository: str) -> InstallationToken:
        path = f"/app/installations/{installation}/access_tokens"
        response = self._call("POST", path, repository, (403, 404))
        if response.status_code in (403, 404):
            self._installations.pop(repository, None)  # uninstalled, or suspended
            raise InvalidInput(
                f"GitHub refused a token for the App {self.app_id}'s installation {installation} "
                f"({response.status_code}): {github_message(response)}. Check that the App is "
                f"installed on {repository} and not suspended."
            )
        data = response.json()
        expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00"))
        redaction.remember([data["token"]])
        return InstallationToken(str(data["token"]), expires.timestamp())

    def _call(
        self, method: str, path: str, repository: str, handled: tuple[int, ...]
    ) -> httpx.Response:
        """A request as the App itself, waiting out rate limits; refusals but ``handled``
        ones raised, explained."""
        attempt = 0
        # A connection per call: an installation asks for a token about once an hour.
        with httpx.Client(base_url=self.api_url, headers=HEADERS, timeout=30) as http:
            while True:
                attempt += 1
                headers = {"Authorization": f"Bearer {self.web_token()}"}
                try:
                    response = http.request(method, path, headers=headers)
                except httpx.HTTPError as exc:
                    raise Unavailable(f"GitHub unreachable: {exc}") from exc
                wait = next_wait(response, attempt, method, path)
                if wait is None:
                    break
                time.sleep(wait)
        if response.status_code == 401:
            raise InvalidInput(
                f"GitHub refused the GitHub App's JSON web token ({github_message(response)}): "
                f"check that TASKYARD_GITHUB_APP_ID ({self.app_id}) is the App's id and the "
                "private key is one of the App's own (the App's settings, Private keys)."
            )
        if response.status_code in handled:
            return response
        if error := refusal(response, method, path, repository):
            raise error
        return response
