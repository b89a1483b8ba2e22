"""The GitHub client speaks GitHub's REST API; tested through an httpx transport seam."""

from __future__ import annotations

import json

import httpx
import pytest

from taskyard.forges.base import PullRequestDraft
from taskyard.forges.github import GitHubForge
from taskyard.model.errors import InvalidInput

DRAFT = PullRequestDraft("acme/shop", "TY-1: Fix", "body", "taskyard/TY-1-fix", "main")


def forge(handler: object) -> tuple[GitHubForge, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[operator]

    return GitHubForge("ghs_token", transport=httpx.MockTransport(record)), seen


async def test_opens_a_pull_request() -> None:
    github, seen = forge(
        lambda r: httpx.Response(
            201,
            json={"number": 7, "html_url": "https://github.com/acme/shop/pull/7", "state": "open"},
        )
    )
    pull = await github.open_or_update(DRAFT)
    assert (pull.number, pull.url) == (7, "https://github.com/acme/shop/pull/7")
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", "/repos/acme/shop/pulls")
    assert request.headers["authorization"] == "Bearer ghs_token"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert json.loads(request.content) == {
        "title": "TY-1: Fix",
        "body": "body",
        "head": "taskyard/TY-1-fix",
        "base": "main",
    }
    await github.aclose()


async def test_an_existing_pull_request_is_reused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(
                422,
                json={
                    "message": "Validation Failed",
                    "errors": [
                        {"message": "A pull request already exists for acme:taskyard/TY-1-fix."}
                    ],
                },
            )
        assert request.url.params["head"] == "acme:taskyard/TY-1-fix"
        return httpx.Response(
            200,
            json=[
                {"number": 3, "html_url": "https://github.com/acme/shop/pull/3", "state": "open"}
            ],
        )

    github, _ = forge(handler)
    assert (await github.open_or_update(DRAFT)).number == 3


async def test_comments_on_the_issue() -> None:
    github, seen = forge(lambda r: httpx.Response(201, json={"id": 1}))
    await github.comment("acme/shop", 12, "taskyard opened a PR")
    assert seen[0].url.path == "/repos/acme/shop/issues/12/comments"


async def test_refusals_say_what_to_check() -> None:
    github, _ = forge(lambda r: httpx.Response(404, json={"message": "Not Found"}))
    with pytest.raises(InvalidInput, match="Check the token's access"):
        await github.open_or_update(DRAFT)


def test_no_token_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="TASKYARD_GITHUB_TOKEN"):
        GitHubForge("")
