"""The GitHub stand-in itself: it holds requests to GitHub's OpenAPI description,
answers as GitHub does, and builds webhook deliveries as GitHub signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import git
from tests.forges.conftest import TOKEN
from tests.support.github.fixtures import package_file
from tests.support.github.standin import GitHubStandIn, serve_github
from tests.support.github.webhooks import webhook

PULLS = "/repos/acme/shop/pulls"


@pytest.fixture
def api(github: GitHubStandIn) -> Iterator[httpx.Client]:
    git("branch", "feature", "main", cwd=github.root / "acme" / "shop.git")
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json"}
    with httpx.Client(timeout=30, base_url=github.url, headers=headers) as client:
        yield client


def problems(github: GitHubStandIn) -> list[str]:
    """The violations so far, forgotten: the test expected them."""
    found = [v.problem for v in github.records.violations]
    github.records.violations.clear()
    return found


def test_a_field_github_ignores_is_a_violation(github: GitHubStandIn, api: httpx.Client) -> None:
    pull = api.post(PULLS, json={"title": "T", "head": "feature", "base": "main", "draft": True})
    assert pull.status_code == 201 and pull.json()["draft"] is True
    number = pull.json()["number"]
    # GitHub takes the PATCH and ignores `draft`: only GraphQL makes a draft ready.
    answer = api.patch(f"{PULLS}/{number}", json={"title": "T2", "draft": False})
    assert answer.status_code == 200 and answer.json()["draft"] is True
    assert problems(github) == ["pulls/update: body.draft is not in the description"]
    mutation = "mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) { pullRequest { isDraft } } }"  # noqa: E501
    node = pull.json()["node_id"]
    ready = api.post("/graphql", json={"query": mutation, "variables": {"id": node}})
    assert ready.json()["data"]["markPullRequestReadyForReview"]["pullRequest"]["isDraft"] is False
    assert github.records.pulls[0].draft is False
    assert api.get(f"{PULLS}/{number}").json()["title"] == "T2"


def test_unknown_routes_and_invalid_bodies_are_answered_and_recorded(
    github: GitHubStandIn, api: httpx.Client
) -> None:
    unknown = api.get("/repos/acme/shop/pull-requests")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404",
    }
    invalid = api.post(PULLS, json={"title": 7, "head": "feature", "base": "main"})
    assert invalid.status_code == 422
    assert invalid.json()["message"].startswith("Invalid request.")
    assert 'body.title: 7 is not of type "string"' in invalid.json()["message"]
    assert not github.records.pulls
    assert len(problems(github)) == 2


def test_a_violation_fails_the_test_at_its_end(tmp_path: Path) -> None:
    unknown = r"pulls/list: query\.colour is not in the description"
    with pytest.raises(AssertionError, match=unknown), serve_github(tmp_path, TOKEN) as github:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        httpx.get(f"{github.url}{PULLS}?colour=red", headers=headers)


def test_authentication_as_github(github: GitHubStandIn) -> None:
    assert httpx.get(f"{github.url}/repos/acme/shop").json()["message"] == "Requires authentication"
    wrong = httpx.get(f"{github.url}/repos/acme/shop", headers={"Authorization": "Bearer ghp_no"})
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Bad credentials")
    jwt = {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2ln"}
    issued = httpx.post(f"{github.url}/app/installations/42/access_tokens", headers=jwt)
    assert issued.status_code == 201 and issued.json()["token"].startswith("ghs_")
    token = {"Authorization": f"token {issued.json()['token']}"}
    repo = httpx.get(f"{github.url}/repos/acme/shop", headers=token)
    assert repo.json()["full_name"] == "acme/shop"
    assert (
        httpx.post(f"{github.url}/app/installations/42/access_tokens", headers=token).json()[
            "message"
        ]
        == "A JSON web token could not be decoded"
    )
    assert not problems(github)


def test_pull_requests_comments_and_reviews(github: GitHubStandIn, api: httpx.Client) -> None:
    issue = github.records.add_issue("acme/shop", "Bug", labels=["taskyard"])
    assert (
        api.get(f"/repos/acme/shop/issues/{issue.number}").json()["labels"][0]["name"] == "taskyard"
    )
    created = api.post(
        f"/repos/acme/shop/issues/{issue.number}/comments", json={"body": "Task created"}
    )
    comment = created.json()
    assert created.status_code == 201 and comment["user"]["login"] == "taskyard-bot"
    edited = api.patch(f"/repos/acme/shop/issues/comments/{comment['id']}", json={"body": "Coding"})
    assert edited.json()["body"] == "Coding"
    assert github.records.comments[0].history == ["Task created"]
    listed = api.get(f"/repos/acme/shop/issues/{issue.number}/comments").json()
    assert [c["body"] for c in listed] == ["Coding"]
    assert api.post("/repos/acme/shop/issues/99/comments", json={"body": "x"}).status_code == 404

    body = {"title": "Fix", "head": "feature", "base": "main", "draft": True}
    number = api.post(PULLS, json=body).json()["number"]
    assert number == issue.number + 1  # issues and pull requests share numbers
    again = api.post(PULLS, json=body)
    assert again.status_code == 422 and "already exists" in again.json()["errors"][0]["message"]
    missing = api.post(PULLS, json={**body, "head": "nowhere"})
    assert missing.json()["errors"] == [
        {"resource": "PullRequest", "field": "head", "code": "invalid"}
    ]
    assert [p["number"] for p in api.get(PULLS, params={"head": "acme:feature"}).json()] == [number]
    assert api.get(PULLS, params={"head": "acme:other"}).json() == []
    api.patch(f"{PULLS}/{number}", json={"state": "closed"})
    assert api.get(PULLS).json() == []
    assert len(api.get(PULLS, params={"state": "closed"}).json()) == 1

    github.records.add_review("acme/shop", number, "octocat", "CHANGES_REQUESTED", "Rename it")
    github.records.add_review_comment("acme/shop", number, "octocat", "Typo", "hello.txt", 3)
    [review] = api.get(f"{PULLS}/{number}/reviews").json()
    assert (review["state"], review["body"]) == ("CHANGES_REQUESTED", "Rename it")
    [line] = api.get(f"{PULLS}/{number}/comments").json()
    assert (line["path"], line["line"], line["body"]) == ("hello.txt", 3, "Typo")
    assert not problems(github)


def test_checks_logs_permissions_users_and_rate_limits(
    github: GitHubStandIn, api: httpx.Client
) -> None:
    sha = git("rev-parse", "feature", cwd=github.root / "acme" / "shop.git").strip()
    failed = github.records.add_check_run(
        "acme/shop", sha, "test", "failure", "E   assert 1 == 2\n"
    )
    github.records.add_check_run("acme/shop", sha, "lint", None)
    runs = api.get("/repos/acme/shop/commits/feature/check-runs", params={"status": "completed"})
    [run] = runs.json()["check_runs"]
    assert (run["id"], run["conclusion"], run["head_sha"]) == (failed.id, "failure", sha)
    log = api.get(f"/repos/acme/shop/actions/jobs/{run['id']}/logs")
    assert log.status_code == 302
    assert httpx.get(log.headers["location"]).text == "E   assert 1 == 2\n"
    git("branch", "taskyard/TY-1", "feature", cwd=github.root / "acme" / "shop.git")
    by_branch = api.get("/repos/acme/shop/commits/taskyard%2FTY-1/check-runs")
    assert by_branch.json()["total_count"] == 2

    github.records.permissions[("acme/shop", "alice")] = "maintain"
    alice = api.get("/repos/acme/shop/collaborators/alice/permission").json()
    assert (alice["permission"], alice["role_name"]) == ("write", "maintain")
    bob = api.get("/repos/acme/shop/collaborators/bob/permission").json()
    assert bob["permission"] == "read"
    github.records.users[123] = "alice"
    assert api.get("/user/123").json()["login"] == "alice"
    assert api.get("/user/124").status_code == 404

    github.throttle(times=1, retry_after=2)
    limited = api.get("/repos/acme/shop")
    assert (limited.status_code, limited.headers["retry-after"]) == (403, "2")
    assert "secondary rate limit" in limited.json()["message"]
    github.throttle(primary=True)
    exhausted = api.get("/repos/acme/shop")
    assert (exhausted.status_code, exhausted.headers["x-ratelimit-remaining"]) == (403, "0")
    assert "retry-after" not in exhausted.headers
    assert "API rate limit exceeded" in exhausted.json()["message"]
    answered = api.get("/repos/acme/shop")
    assert answered.status_code == 200 and int(answered.headers["x-ratelimit-remaining"]) > 0
    assert not problems(github)


def test_lists_come_in_pages_and_bodies_have_a_size(
    github: GitHubStandIn, api: httpx.Client
) -> None:
    issue = github.records.add_issue("acme/shop", "Bug")
    comments = f"/repos/acme/shop/issues/{issue.number}/comments"
    for text in ("one", "two", "three"):
        github.records.add_comment("acme/shop", issue.number, text, "octocat")
    first = api.get(comments, params={"per_page": 2})
    assert [c["body"] for c in first.json()] == ["one", "two"]
    assert first.links["next"]["url"].endswith("per_page=2&page=2")
    second = api.get(first.links["next"]["url"])
    assert [c["body"] for c in second.json()] == ["three"] and "next" not in second.links
    assert len(api.get(comments).json()) == 3  # 30 a page unless asked

    too_long = api.post(comments, json={"body": "x" * 65537})
    assert too_long.status_code == 422
    assert (
        too_long.json()["errors"][0]["message"] == "body is too long (maximum is 65536 characters)"
    )
    assert len(github.records.comments) == 3
    assert not problems(github)


EVENTS = [
    ("issues", "labeled"),
    ("issues", "assigned"),
    ("issue_comment", "created"),
    ("pull_request", "opened"),
    ("push", None),
    ("pull_request_review", "submitted"),
    ("pull_request_review_comment", "created"),
    ("check_run", "completed"),
    ("pull_request", "closed"),
]


@pytest.mark.parametrize(("event", "action"), EVENTS)
def test_published_webhook_examples_are_signed_as_github_does(
    event: str, action: str | None
) -> None:
    delivery = webhook(event, action, "s3cret", repository="acme/shop", sender=("alice", 123))
    headers = delivery.headers
    expected = hmac.new(b"s3cret", delivery.body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    assert (headers["X-GitHub-Event"], headers["Content-Type"]) == (event, "application/json")
    assert headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert len(headers["X-GitHub-Delivery"]) == 36
    payload = json.loads(delivery.body)
    assert payload.get("action") == action
    assert payload["repository"]["full_name"] == "acme/shop"
    assert (payload["sender"]["login"], payload["sender"]["id"]) == ("alice", 123)


def test_examples_take_a_label_a_comment_and_more() -> None:
    labeled = webhook("issues", "labeled", "k", label="taskyard").payload
    assert labeled["label"]["name"] == "taskyard"
    assert "taskyard" in [label["name"] for label in labeled["issue"]["labels"]]
    said = webhook("issue_comment", "created", "k", comment="/taskyard fix it").payload
    assert said["comment"]["body"] == "/taskyard fix it"
    merged = webhook("pull_request", "closed", "k", more={"pull_request": {"merged": True}})
    assert merged.payload["pull_request"]["merged"] is True
    bot = webhook("issues", "labeled", "k", sender=("renovate[bot]", 9)).payload["sender"]
    assert bot["type"] == "Bot"


def test_missing_fixtures_fail_under_ci_and_skip_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKYARD_TOOL_CACHE", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="run scripts/fetch-github-fixtures"):
        package_file("@octokit/openapi", "generated/api.github.com.json")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="run scripts/fetch-github-fixtures"):
        package_file("@octokit/openapi", "generated/api.github.com.json")
