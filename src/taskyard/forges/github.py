"""GitHub (github.com, or GitHub Enterprise Server at the configured site).

Owns: ``owner/name`` → ``<site>/owner/name.git``; the token (``TASKYARD_GITHUB_TOKEN``)
as a Basic ``x-access-token`` header for git, scoped to the site and passed in
git's environment (never in a URL, an argument or a config file), and as a bearer
token for the REST API; pull requests that close the originating issue.
"""

from __future__ import annotations

import base64

import httpx

from taskyard.config import Settings
from taskyard.forges.base import Forge, ForgeClient, PullRequestDraft, RemotePullRequest
from taskyard.model.errors import InvalidInput, Unavailable
from taskyard.model.forge import ForgeSite, GitRemote

API_VERSION = "2022-11-28"
DEFAULT_URL = "https://github.com"


class GitHubClient(ForgeClient):
    """GitHub's REST API for pull requests and issue comments."""

    def __init__(
        self,
        token: str,
        api_url: str = "https://api.github.com",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not token:
            raise InvalidInput(
                "No GitHub token configured: set TASKYARD_GITHUB_TOKEN to deliver to GitHub."
            )
        self._client = httpx.AsyncClient(
            base_url=api_url,
            transport=transport,
            timeout=30,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "taskyard",
            },
        )

    async def _request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise Unavailable(f"GitHub unreachable: {exc}") from exc
        if response.status_code in (401, 403, 404):
            raise InvalidInput(
                f"GitHub refused {method} {path} ({response.status_code}): "
                f"{response.json().get('message', '') if response.content else ''}. "
                "Check the token's access to the repository."
            )
        if response.status_code >= 500:
            raise Unavailable(f"GitHub answered {response.status_code} to {method} {path}")
        return response

    async def open_or_update(self, draft: PullRequestDraft) -> RemotePullRequest:
        owner = draft.repository.split("/", 1)[0]
        response = await self._request(
            "POST",
            f"/repos/{draft.repository}/pulls",
            json={"title": draft.title, "body": draft.body, "head": draft.head, "base": draft.base},
        )
        if response.status_code == 201:
            data = response.json()
            return RemotePullRequest(data["number"], data["html_url"], data["state"])
        # 422 when a pull request for this head already exists: find it and keep it.
        existing = await self._request(
            "GET",
            f"/repos/{draft.repository}/pulls",
            params={"head": f"{owner}:{draft.head}", "state": "open"},
        )
        pulls = existing.json()
        if response.status_code == 422 and pulls:
            return RemotePullRequest(pulls[0]["number"], pulls[0]["html_url"], pulls[0]["state"])
        raise InvalidInput(f"GitHub did not open the pull request: {response.text[:300]}")

    async def comment(self, repository: str, issue_number: int, body: str) -> None:
        await self._request(
            "POST", f"/repos/{repository}/issues/{issue_number}/comments", json={"body": body}
        )

    async def aclose(self) -> None:
        await self._client.aclose()


class GitHubForge(Forge):
    kind = "github"

    def remote(self, repository: str, site: ForgeSite, settings: Settings) -> GitRemote:
        host = (site.url or DEFAULT_URL).rstrip("/")
        if not settings.github_token:
            return GitRemote(f"{host}/{repository}.git")  # public repositories still fetch
        basic = base64.b64encode(f"x-access-token:{settings.github_token}".encode()).decode()
        # Only requests to this site carry the header, redirects elsewhere do not.
        env = {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{host}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
        return GitRemote(f"{host}/{repository}.git", env)

    def connect(self, site: ForgeSite, settings: Settings) -> GitHubClient:
        return GitHubClient(settings.github_token, site.api_url or settings.github_api_url)

    def closing_words(self, issue_number: int) -> str:
        return f"Closes #{issue_number}"
