"""GitHub (github.com, or GitHub Enterprise Server at the configured site).

Owns: ``owner/name`` → ``<site>/owner/name.git``; the token (``TASKYARD_GITHUB_TOKEN``,
or a GitHub App installation's, see :mod:`taskyard.forges.github_app`) as a Basic
``x-access-token`` header for git, scoped to the site and passed in git's environment
(never in a URL, an argument or a config file), and as a bearer token for the REST
API; draft pull requests that close the originating issue.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
from typing import Any

import httpx

from taskyard.config import Settings
from taskyard.forges.base import (
    CommentGone,
    Forge,
    ForgeClient,
    PullRequestDraft,
    RemotePullRequest,
)
from taskyard.forges.github_app import Credentials, GitHubApp, PersonalToken, private_key
from taskyard.forges.github_http import HEADERS, next_wait, refusal
from taskyard.model.errors import InvalidInput, Unavailable
from taskyard.model.forge import ForgeSite, GitRemote, origin
from taskyard.model.redaction import redact_credentials

DEFAULT_URL = "https://github.com"
NO_DRAFTS = "Draft pull requests are not supported"
READY = (
    "mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) "
    "{ pullRequest { isDraft } } }"
)


def graphql_url(api_url: str) -> str:
    """GitHub's GraphQL endpoint beside its REST API: ``/graphql`` on api.github.com,
    ``/api/graphql`` on GitHub Enterprise Server (whose REST API is ``/api/v3``)."""
    base = api_url.rstrip("/")
    return base.removesuffix("/v3") + "/graphql"


def _remote(data: dict[str, Any]) -> RemotePullRequest:
    return RemotePullRequest(
        data["number"],
        data["html_url"],
        data["state"],
        node_id=str(data.get("node_id") or ""),
        draft=bool(data.get("draft")),
    )


FILES_PER_PAGE = 100
MAX_FILE_PAGES = 30  # GitHub lists at most 3,000 files of a pull request


class GitHubClient(ForgeClient):
    """GitHub's REST API for pull requests and issue comments, and its GraphQL API for
    what REST cannot do (marking a draft ready for review).

    Whatever taskyard writes there (titles, bodies, comments) is redacted of text shaped
    like a credential first: it may quote an agent, a log or a person.
    """

    def __init__(
        self,
        credentials: Credentials,
        api_url: str = "https://api.github.com",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._credentials = credentials
        self._graphql = graphql_url(api_url)
        self._client = httpx.AsyncClient(
            base_url=api_url, transport=transport, timeout=30, headers=HEADERS
        )

    async def _send(
        self, method: str, url: str, repository: str, **kwargs: object
    ) -> httpx.Response:
        """The answer to a request, once GitHub's rate limits let it through."""
        # An App's token may need a request to GitHub: made in a thread, under its lock.
        token = await asyncio.to_thread(self._credentials.token, repository)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._client.request(
                    method,
                    url,
                    headers={"Authorization": f"Bearer {token}"},
                    **kwargs,  # type: ignore[arg-type]
                )
            except httpx.HTTPError as exc:
                raise Unavailable(f"GitHub unreachable: {exc}") from exc
            wait = next_wait(response, attempt, method, url)
            if wait is None:
                return response
            await asyncio.sleep(wait)

    async def _request(
        self, method: str, path: str, repository: str, **kwargs: object
    ) -> httpx.Response:
        response = await self._send(method, path, repository, **kwargs)
        if error := refusal(response, method, path, repository):
            raise error
        return response

    async def open_or_update(self, draft: PullRequestDraft) -> RemotePullRequest:
        """Open the pull request as a draft (ready for review once Review approves it)."""
        owner = draft.repository.split("/", 1)[0]
        opened = {
            "title": redact_credentials(draft.title),
            "body": redact_credentials(draft.body),
            "head": draft.head,
            "base": draft.base,
            "draft": True,
        }
        path = f"/repos/{draft.repository}/pulls"
        response = await self._request("POST", path, draft.repository, json=opened)
        if response.status_code == 422 and NO_DRAFTS in response.text:
            # Drafts need a plan that has them (private repositories on free plans).
            opened["draft"] = False
            response = await self._request("POST", path, draft.repository, json=opened)
        if response.status_code == 201:
            return _remote(response.json())
        # 422 when a pull request for this head already exists: find it and keep it.
        existing = await self._request(
            "GET",
            path,
            draft.repository,
            params={"head": f"{owner}:{draft.head}", "state": "open"},
        )
        pulls = existing.json()
        if response.status_code == 422 and pulls:
            return _remote(pulls[0])
        raise InvalidInput(f"GitHub did not open the pull request: {response.text[:300]}")

    async def comment(self, repository: str, issue_number: int, body: str) -> int:
        response = await self._request(
            "POST",
            f"/repos/{repository}/issues/{issue_number}/comments",
            repository,
            json={"body": redact_credentials(body)},
        )
        return int(response.json()["id"])

    async def edit_comment(self, repository: str, comment_id: int, body: str) -> None:
        path = f"/repos/{repository}/issues/comments/{comment_id}"
        response = await self._send(
            "PATCH", path, repository, json={"body": redact_credentials(body)}
        )
        if response.status_code == 404:
            raise CommentGone(f"Comment {comment_id} on {repository} is gone.")
        if error := refusal(response, "PATCH", path, repository):
            raise error

    async def mark_ready(self, repository: str, pull: RemotePullRequest) -> None:
        """GraphQL's ``markPullRequestReadyForReview``: REST cannot change ``draft``."""
        response = await self._request(
            "POST",
            self._graphql,
            repository,
            json={"query": READY, "variables": {"id": pull.node_id}},
        )
        errors = response.json().get("errors")
        if errors:
            said = "; ".join(str(e.get("message", e))[:200] for e in errors[:3])
            raise InvalidInput(
                f"GitHub did not mark pull request #{pull.number} of {repository} ready for "
                f"review: {said}"
            )

    async def pull_files(self, repository: str, number: int) -> list[str]:
        """The files pull request ``number`` changes (GitHub lists at most 3,000)."""
        files: list[str] = []
        for page in range(1, MAX_FILE_PAGES + 1):
            response = await self._request(
                "GET",
                f"/repos/{repository}/pulls/{number}/files",
                repository,
                params={"per_page": FILES_PER_PAGE, "page": page},
            )
            found = response.json()
            if not isinstance(found, list):
                raise Unavailable(f"GitHub listed no files for {repository}#{number}.")
            files += [
                f["filename"]
                for f in found
                if isinstance(f, dict) and isinstance(f.get("filename"), str)
            ]
            if len(found) < FILES_PER_PAGE:
                break
        return files

    async def aclose(self) -> None:
        await self._client.aclose()


class GitHubForge(Forge):
    kind = "github"

    def __init__(self) -> None:
        self._apps: dict[tuple[str, int, str], GitHubApp] = {}
        self._apps_guard = threading.Lock()

    def default_origins(self, settings: Settings) -> frozenset[str]:
        return frozenset((origin(DEFAULT_URL), origin(settings.github_api_url)))

    def credentials(self, site: ForgeSite, settings: Settings) -> Credentials | None:
        """The App's installations when an App is configured, else the personal token."""
        self.check_site(site, settings)
        if settings.github_app_id:
            api_url = site.api_url or settings.github_api_url
            key = private_key(settings)
            # One App object (and token cache) per process for each App, API and key.
            known = (api_url, settings.github_app_id, hashlib.sha256(key.encode()).hexdigest())
            with self._apps_guard:
                if known not in self._apps:
                    self._apps[known] = GitHubApp(settings.github_app_id, key, api_url)
                return self._apps[known]
        return PersonalToken(settings.github_token) if settings.github_token else None

    def remote(self, repository: str, site: ForgeSite, settings: Settings) -> GitRemote:
        host = (site.url or DEFAULT_URL).rstrip("/")
        # Checks the site even where no credential is configured: a public fetch goes there too.
        credentials = self.credentials(site, settings)
        if credentials is None:
            return GitRemote(f"{host}/{repository}.git")  # public repositories still fetch
        token = credentials.token(repository)
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        # Only requests to this site carry the header, redirects elsewhere do not.
        env = {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{host}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }
        return GitRemote(f"{host}/{repository}.git", env)

    def connect(self, site: ForgeSite, settings: Settings) -> GitHubClient:
        credentials = self.credentials(site, settings)
        if credentials is None:
            raise InvalidInput(
                "No GitHub credentials configured: set TASKYARD_GITHUB_TOKEN, or "
                "TASKYARD_GITHUB_APP_ID and the App's private key, to deliver to GitHub."
            )
        return GitHubClient(credentials, site.api_url or settings.github_api_url)

    def closing_words(self, issue_number: int) -> str:
        return f"Fixes #{issue_number}"
