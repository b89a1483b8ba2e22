"""The GitHub forge: its REST client (through an httpx transport seam and against a
loopback stand-in), its remote and credentials for git, its pull request wording."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from taskyard.config import Settings
from taskyard.forges.base import (
    FORGES,
    DeliveredWork,
    PullRequestDraft,
    RemotePullRequest,
    git_remote,
)
from taskyard.forges.github import GitHubClient, GitHubForge, graphql_url
from taskyard.forges.github_app import PersonalToken
from taskyard.model.diff import DiffStats
from taskyard.model.errors import InvalidInput
from taskyard.model.forge import ForgeSite
from taskyard.workspaces import vault
from taskyard.workspaces.repos import ensure_mirror
from tests.conftest import git
from tests.forges.conftest import TOKEN
from tests.support.github.standin import GitHubStandIn

DRAFT = PullRequestDraft("acme/shop", "TY-1: Fix", "body", "taskyard/TY-1-fix", "main")


class RecordingTransport(httpx.MockTransport):
    """A transport that remembers being closed: what an open client leaks."""

    closed = False

    async def aclose(self) -> None:
        self.closed = True


def client(handler: object) -> tuple[GitHubClient, list[httpx.Request], RecordingTransport]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[operator]

    transport = RecordingTransport(record)
    return GitHubClient(PersonalToken("ghs_token"), transport=transport), seen, transport


async def test_opens_a_pull_request() -> None:
    github, seen, _ = client(
        lambda r: httpx.Response(
            201,
            json={"number": 7, "html_url": "https://github.com/acme/shop/pull/7", "state": "open"},
        )
    )
    async with github:
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
        "draft": True,
    }


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

    github, _, _ = client(handler)
    async with github:
        assert (await github.open_or_update(DRAFT)).number == 3


async def test_comments_on_the_issue() -> None:
    github, seen, _ = client(lambda r: httpx.Response(201, json={"id": 1}))
    async with github:
        assert await github.comment("acme/shop", 12, "taskyard opened a PR") == 1
    assert seen[0].url.path == "/repos/acme/shop/issues/12/comments"


async def test_a_repository_without_drafts_gets_an_ordinary_pull_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["draft"]:
            message = "Draft pull requests are not supported in this repository."
            error = {"resource": "PullRequest", "code": "custom", "message": message}
            return httpx.Response(422, json={"message": "Validation Failed", "errors": [error]})
        data = {"number": 8, "html_url": "https://github.com/acme/shop/pull/8", "state": "open"}
        return httpx.Response(201, json={**data, "node_id": "PR_8", "draft": False})

    github, seen, _ = client(handler)
    async with github:
        pull = await github.open_or_update(DRAFT)
    assert (pull.number, pull.node_id, pull.draft) == (8, "PR_8", False)
    assert [json.loads(r.content)["draft"] for r in seen] == [True, False]


async def test_marking_ready_is_a_graphql_mutation_and_its_errors_are_refusals() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"type": "FORBIDDEN", "message": "Resource not accessible by integration"}
        return httpx.Response(200, json={"data": None, "errors": [error]})

    github, seen, _ = client(handler)
    pull = RemotePullRequest(3, "https://github.com/acme/shop/pull/3", node_id="PR_3", draft=True)
    async with github:
        with pytest.raises(InvalidInput, match="ready for review: Resource not accessible"):
            await github.mark_ready("acme/shop", pull)
    assert str(seen[0].url) == "https://api.github.com/graphql"
    assert json.loads(seen[0].content)["variables"] == {"id": "PR_3"}
    assert graphql_url("https://git.example.com/api/v3/") == "https://git.example.com/api/graphql"


async def test_refusals_say_what_to_check() -> None:
    github, _, _ = client(lambda r: httpx.Response(404, json={"message": "Not Found"}))
    async with github:
        with pytest.raises(InvalidInput, match="Check the token's access"):
            await github.open_or_update(DRAFT)


async def test_the_client_is_closed_when_the_delivery_ends_even_on_failure() -> None:
    github, _, transport = client(lambda r: httpx.Response(404, json={"message": "Not Found"}))
    with pytest.raises(InvalidInput):
        async with github:
            await github.open_or_update(DRAFT)
    assert transport.closed


def test_no_token_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="TASKYARD_GITHUB_TOKEN"):
        GitHubForge().connect(ForgeSite("github"), Settings(data_dir=tmp_path, github_token=""))


def test_built_ins_are_found_through_the_entry_point_group() -> None:
    assert {"github", "local"} <= set(FORGES.kinds())
    assert isinstance(FORGES.get("github"), GitHubForge)


def test_the_remote_holds_no_token_and_git_gets_it_for_the_site_only(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, github_token=TOKEN, forge_origins="https://git.example.com"
    )
    remote = git_remote(ForgeSite("github"), "acme/shop", settings)
    assert remote.url == "https://github.com/acme/shop.git"
    assert TOKEN not in remote.url and TOKEN not in repr(remote)
    assert remote.env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    enterprise = ForgeSite("github", "https://git.example.com/", "https://git.example.com/api/v3")
    remote = git_remote(enterprise, "acme/shop", settings)
    assert remote.url == "https://git.example.com/acme/shop.git"
    assert remote.env["GIT_CONFIG_KEY_0"] == "http.https://git.example.com/.extraheader"
    public = git_remote(ForgeSite("github"), "acme/shop", Settings(data_dir=tmp_path))
    assert dict(public.env) == {}


def test_pull_requests_close_the_originating_issue_on_github_only() -> None:
    work = DeliveredWork(
        "acme/shop", "TY-4", "Fix it", "Details", "taskyard/TY-4-fix-it", "main",
        DiffStats(2, 5, 1), link="https://ty.example.com/tasks/TY-4", issue_number=9,
    )  # fmt: skip
    draft = FORGES.get("github").draft(work)
    assert draft.title == "TY-4: Fix it"
    assert draft.body.splitlines() == [
        "Opened by taskyard for task [TY-4](https://ty.example.com/tasks/TY-4).",
        "",
        "Details",
        "",
        "2 file(s) changed, +5 -1.",
        "",
        "Fixes #9",
    ]
    assert "Fixes" not in FORGES.get("local").draft(work).body


async def test_git_fetches_and_pushes_with_the_token_in_no_url_argument_or_file(
    github: GitHubStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings(data_dir=tmp_path / "data", github_token=TOKEN, forge_origins=github.url)
    remote = git_remote(ForgeSite("github", github.url), "acme/shop", settings)
    mirror = await ensure_mirror(remote, settings)
    store = await vault.open_vault(mirror, settings)
    main = git("rev-parse", "main", cwd=mirror).strip()
    await vault.push(store, main, remote, "taskyard/TY-1-pushed", "")

    pushed = git("rev-parse", "taskyard/TY-1-pushed", cwd=github.root / "acme" / "shop.git")
    assert pushed.strip() == main
    services = {r.url.split("service=")[-1] for r in github.records.requests if "service=" in r.url}
    assert services == {"git-upload-pack", "git-receive-pack"}
    assert all(
        r.headers.get("authorization", "").startswith("Basic ") for r in github.records.requests
    )
    assert not any(TOKEN in r.url for r in github.records.requests)
    assert TOKEN not in caplog.text
    written = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert written and not any(TOKEN.encode() in p.read_bytes() for p in written)


async def test_the_client_speaks_to_the_stand_in(github: GitHubStandIn, tmp_path: Path) -> None:
    git("branch", DRAFT.head, "main", cwd=github.root / "acme" / "shop.git")
    issue = github.records.add_issue("acme/shop", "Fix")
    settings = Settings(data_dir=tmp_path, github_token=TOKEN, forge_origins=github.url)
    async with FORGES.get("github").connect(
        ForgeSite("github", api_url=github.url), settings
    ) as api:
        first = await api.open_or_update(DRAFT)
        again = await api.open_or_update(DRAFT)  # the same head: the open one is kept
        await api.comment("acme/shop", issue.number, "hello")
    assert first is not None and again == first
    assert first.url == f"{github.url}/acme/shop/pull/{first.number}"
    [comment] = github.records.comments
    assert (comment.repository, comment.issue_number, comment.body) == ("acme/shop", 1, "hello")
    refused = settings.model_copy(update={"github_token": "ghs_wrong"})
    async with FORGES.get("github").connect(
        ForgeSite("github", api_url=github.url), refused
    ) as api:
        with pytest.raises(InvalidInput, match="GitHub refused POST"):
            await api.open_or_update(DRAFT)
