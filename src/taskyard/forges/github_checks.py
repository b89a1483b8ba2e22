"""What the review loop reads from GitHub about a pull request taskyard opened: a
review and its line comments, the failing checks of a commit and the end of a GitHub
Actions job's log (who may ask for changes: :mod:`taskyard.forges.github_people`).

Reads only, through the REST client's retries and refusals
(:class:`taskyard.forges.github.GitHubClient`). A job's log is served by a redirect
to short-lived storage elsewhere: it is fetched without taskyard's token, and only its
end is kept, since that is where a failing job says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from taskyard.forges.github import GitHubClient
from taskyard.model.errors import InvalidInput, Unavailable

FAILING = frozenset({"failure", "timed_out", "startup_failure"})
PAGE = 100  # comments of one review, failing runs of one commit: one page is plenty
LOG_TAIL = 64 * 1024  # bytes of a job's log kept, from its end
LOG_READ_LIMIT = 64 << 20  # bytes of a job's log read at most before giving up on its end


MAX_FAILURES = 3  # failing checks whose output and log one repair turn carries


@dataclass(frozen=True)
class Failure:
    """A failing check run: its name, output and, for GitHub Actions, the end of its log."""

    check: str
    output: str
    log: str


def _text(run: Mapping[str, Any], *keys: str) -> str:
    """``run[keys[0]][keys[1]]...`` when it is text: a payload is GitHub's, or anyone's."""
    value: Any = run
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, str) else ""


class GitHubChecks(GitHubClient):
    """The reads of :mod:`taskyard.services.github_reviews`, on one GitHub site."""

    async def _json(self, path: str, repository: str, **params: object) -> Any:
        return (await self._request("GET", path, repository, params=params or None)).json()

    async def review(self, repository: str, number: int, review_id: int) -> dict[str, Any]:
        path = f"/repos/{repository}/pulls/{number}/reviews/{review_id}"
        data: dict[str, Any] = await self._json(path, repository)
        return data

    async def review_comments(
        self, repository: str, number: int, review_id: int
    ) -> list[dict[str, Any]]:
        """The line comments submitted with a review, oldest first."""
        path = f"/repos/{repository}/pulls/{number}/reviews/{review_id}/comments"
        comments: list[dict[str, Any]] = await self._json(path, repository, per_page=PAGE)
        return comments

    async def failing_runs(self, repository: str, sha: str) -> list[dict[str, Any]]:
        """The completed check runs of commit ``sha`` that failed."""
        path = f"/repos/{repository}/commits/{sha}/check-runs"
        data = await self._json(path, repository, status="completed", per_page=PAGE)
        return [run for run in data.get("check_runs", []) if run.get("conclusion") in FAILING]

    async def failures(self, repository: str, runs: Sequence[Mapping[str, Any]]) -> list[Failure]:
        """What the first few of ``runs`` (check runs that failed) say of why."""
        failures = []
        for run in runs[:MAX_FAILURES]:
            output = "\n\n".join(
                text for key in ("title", "summary", "text") if (text := _text(run, "output", key))
            )
            log, job = "", run.get("id")
            if _text(run, "app", "slug") == "github-actions" and isinstance(job, int):
                try:  # a check run of GitHub Actions has its job's id
                    log = await self.job_log(repository, job)
                except InvalidInput as exc:  # no `actions: read`: repair from the output
                    log = f"[taskyard could not read this job's log: {exc}]"
            failures.append(Failure(_text(run, "name")[:200], output, log))
        return failures

    async def job_log(self, repository: str, job_id: int) -> str:
        """The end of a GitHub Actions job's log (its check run's id is the job's)."""
        path = f"/repos/{repository}/actions/jobs/{job_id}/logs"
        answer = await self._request("GET", path, repository)  # not followed: see above
        where = answer.headers.get("location", "")
        if answer.status_code not in (301, 302, 307, 308) or not where:
            return answer.text[-LOG_TAIL:]
        tail, read = b"", 0
        # The storage URL carries its own signature: taskyard's token stays with GitHub.
        async with httpx.AsyncClient(timeout=60) as storage:
            try:
                async with storage.stream("GET", where) as response:
                    if response.status_code != 200:
                        raise Unavailable(f"GitHub's log storage answered {response.status_code}")
                    async for chunk in response.aiter_bytes():
                        read += len(chunk)
                        tail = (tail + chunk)[-LOG_TAIL:]
                        if read >= LOG_READ_LIMIT:
                            break
            except httpx.HTTPError as exc:
                raise Unavailable(f"GitHub's log storage unreachable: {exc}") from exc
        return tail.decode("utf-8", "replace")
