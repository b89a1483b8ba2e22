"""What GitHub's answers mean: a refusal a person can act on, or a rate limit to wait out.

Shared by the REST client (:mod:`taskyard.forges.github`) and the App's token requests
(:mod:`taskyard.forges.github_app`).
"""

from __future__ import annotations

import time

import httpx

from taskyard.model.errors import InvalidInput, TaskyardError, Unavailable

API_VERSION = "2022-11-28"
HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": API_VERSION,
    "User-Agent": "taskyard",
}
MAX_TRIES = 4  # requests per call while GitHub says to slow down
MAX_WAIT = 60.0  # seconds; a longer wait fails the call now rather than holding it


def github_message(response: httpx.Response) -> str:
    """GitHub's own ``message``, bounded, or the start of the body."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:300]
    return str(data.get("message", ""))[:300] if isinstance(data, dict) else ""


def rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds GitHub asks to wait before the same request again; None if it did not."""
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    if "retry-after" in headers:  # a secondary rate limit
        try:
            return max(float(headers["retry-after"]), 0.0)
        except ValueError:
            return MAX_WAIT
    if headers.get("x-ratelimit-remaining") == "0":  # the primary limit, spent until reset
        try:
            return max(float(headers.get("x-ratelimit-reset", "0")) - time.time(), 0.0)
        except ValueError:
            return MAX_WAIT
    if response.status_code == 429 or "rate limit" in github_message(response).lower():
        return MAX_WAIT  # GitHub's advice when it names no time: at least a minute
    return None


def next_wait(response: httpx.Response, attempt: int, method: str, path: str) -> float | None:
    """How long to wait before try ``attempt + 1``: None when ``response`` is the answer;
    raises :class:`Unavailable` when GitHub's limit outlasts the tries or the cap."""
    wait = rate_limit_wait(response)
    if wait is not None and (attempt >= MAX_TRIES or wait > MAX_WAIT):
        raise Unavailable(
            f"GitHub's rate limit refused {method} {path} ({response.status_code}): "
            f"{github_message(response)}; it asked to wait {wait:.0f} s"
            f"{'' if wait > MAX_WAIT else f' after {attempt} tries'}. Try again later."
        )
    return wait


def refusal(
    response: httpx.Response, method: str, path: str, repository: str
) -> TaskyardError | None:
    """The error a refused request is, saying what to fix; None when it was not refused."""
    status = response.status_code
    said = f"GitHub refused {method} {path} ({status}): {github_message(response)}."
    if status == 401:
        return InvalidInput(
            f"{said} The credentials are wrong or expired: check TASKYARD_GITHUB_TOKEN, or "
            "the GitHub App's id and private key."
        )
    if status == 403:
        needed = response.headers.get("x-accepted-github-permissions", "")
        return InvalidInput(
            f"{said} The token (or the GitHub App's installation) lacks a permission on "
            f"{repository}"
            + (f": it needs {needed}." if needed else ".")
            + " Grant it, see docs/forges.md for the permissions taskyard uses."
        )
    if status == 404:
        return InvalidInput(
            f"{said} Check the token's access to the repository: {repository} does not "
            "exist, or the token (or the GitHub App, if it is not installed on it) cannot "
            "see it."
        )
    if status >= 500:
        return Unavailable(f"GitHub answered {status} to {method} {path}")
    return None
