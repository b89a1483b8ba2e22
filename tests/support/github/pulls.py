"""Pull requests, their reviews and review comments; and the GraphQL mutations REST
has no operation for: a draft is marked ready for review (or turned back into a
draft) only through GraphQL, ``PATCH .../pulls/{n}`` takes no ``draft``."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tests.support.github.answers import (
    Answer,
    GitHubError,
    bounded,
    example,
    not_found,
    overlay,
    page,
    repository,
    user,
)
from tests.support.github.checks import Call
from tests.support.github.git import head_sha
from tests.support.github.records import Pull, Review, ReviewComment
from tests.support.github.repos import known

if TYPE_CHECKING:
    from tests.support.github.standin import GitHubStandIn


def pull_json(standin: GitHubStandIn, pull: Pull, operation: str = "pulls/get") -> Any:
    owner = pull.repository.split("/")[0]
    repo = repository(standin, pull.repository)
    values = {
        "id": pull.number + 5000,
        "node_id": pull.node_id,
        "number": pull.number,
        "title": pull.title,
        "body": pull.body,
        "state": pull.state,
        "draft": pull.draft,
        "user": user(standin, pull.user),
        "url": f"{standin.url}/repos/{pull.repository}/pulls/{pull.number}",
        "html_url": f"{standin.url}/{pull.repository}/pull/{pull.number}",
        "head": {
            "ref": pull.head,
            "sha": pull.head_sha,
            "label": f"{owner}:{pull.head}",
            "repo": repo,
        },
        "base": {"ref": pull.base, "label": f"{owner}:{pull.base}", "repo": repo},
        "requested_reviewers": [],
        "requested_teams": [],
        "merged_at": "2026-01-01T00:00:00Z" if pull.merged else None,
    }
    if operation == "pulls/get":
        values["merged"] = pull.merged
    data = overlay(example(standin, operation), values)
    data["base"]["sha"] = head_sha(standin.root, pull.repository, pull.base) or data["base"]["sha"]
    return data


def _pull(standin: GitHubStandIn, call: Call) -> Pull:
    pull = standin.records.pull(known(standin, call), call.path["pull_number"])
    if pull is None:
        raise not_found()
    return pull


def create(standin: GitHubStandIn, call: Call) -> Answer:
    name, body = known(standin, call), call.body
    head = body["head"].split(":", 1)[-1]
    sha = head_sha(standin.root, name, f"refs/heads/{head}")
    if sha is None or head_sha(standin.root, name, f"refs/heads/{body['base']}") is None:
        field = "head" if sha is None else "base"
        error = {"resource": "PullRequest", "field": field, "code": "invalid"}
        raise GitHubError(422, "Validation Failed", [error])
    if any(
        p.head == head and p.base == body["base"] and p.state == "open"
        for p in standin.records.pulls
    ):
        owner = name.split("/")[0]
        message = f"A pull request already exists for {owner}:{head}."
        raise GitHubError(
            422,
            "Validation Failed",
            [{"resource": "PullRequest", "code": "custom", "message": message}],
        )
    bounded("PullRequest", body.get("body"))
    if not body.get("title"):
        error = {"resource": "PullRequest", "field": "title", "code": "missing_field"}
        raise GitHubError(422, "Validation Failed", [error])
    pull = Pull(
        name, standin.records.next_number(name), body["title"], body.get("body") or "", head,
        body["base"], sha, standin.login, draft=body.get("draft", False),
    )  # fmt: skip
    standin.records.pulls.append(pull)
    return Answer(201, pull_json(standin, pull))


def list_pulls(standin: GitHubStandIn, call: Call) -> Answer:
    name, query = known(standin, call), call.query
    pulls = [p for p in standin.records.pulls if p.repository == name]
    if query.get("state", "open") != "all":
        pulls = [p for p in pulls if p.state == query.get("state", "open")]
    if "head" in query:
        owner, _, branch = query["head"].partition(":")
        pulls = [p for p in pulls if p.head == branch and owner == name.split("/")[0]]
    if "base" in query:
        pulls = [p for p in pulls if p.base == query["base"]]
    return Answer(200, *page(call, [pull_json(standin, p, "pulls/list") for p in pulls]))


def get(standin: GitHubStandIn, call: Call) -> Answer:
    return Answer(200, pull_json(standin, _pull(standin, call)))


def update(standin: GitHubStandIn, call: Call) -> Answer:
    pull = _pull(standin, call)
    bounded("PullRequest", call.body.get("body"))
    for field in ("title", "body", "state", "base"):
        if field in call.body:
            setattr(pull, field, call.body[field])
    return Answer(200, pull_json(standin, pull))


def _on_pull(
    standin: GitHubStandIn,
    call: Call,
    items: Sequence[Review | ReviewComment],
    operation: str,
    values: Callable[[Any], dict[str, Any]],
) -> Answer:
    """The reviews or review comments of the call's pull request, as ``operation`` lists them."""
    pull = _pull(standin, call)
    found = []
    for item in items:
        if (item.repository, item.pull_number) == (pull.repository, pull.number):
            common = {
                "id": item.id,
                "user": user(standin, item.user),
                "body": item.body,
                "commit_id": pull.head_sha,
                "pull_request_url": f"{standin.url}/repos/{pull.repository}/pulls/{pull.number}",
            }
            found.append(overlay(example(standin, operation), {**common, **values(item)}))
    return Answer(200, *page(call, found))


def _review_values(standin: GitHubStandIn, review: Review) -> dict[str, Any]:
    anchor = f"pull/{review.pull_number}#pullrequestreview-{review.id}"
    link = f"{standin.url}/{review.repository}/{anchor}"
    return {"node_id": f"PRR_{review.id}", "state": review.state, "html_url": link}


def reviews(standin: GitHubStandIn, call: Call) -> Answer:
    def values(review: Review) -> dict[str, Any]:
        return _review_values(standin, review)

    return _on_pull(standin, call, standin.records.reviews, "pulls/list-reviews", values)


def get_review(standin: GitHubStandIn, call: Call) -> Answer:
    listed = reviews(standin, call).json or []
    found = [r for r in listed if r["id"] == call.path["review_id"]]
    if not found:
        raise not_found()
    return Answer(200, overlay(example(standin, "pulls/get-review"), found[0]))


def _comment_values(standin: GitHubStandIn, comment: ReviewComment) -> dict[str, Any]:
    anchor = f"pull/{comment.pull_number}#discussion_r{comment.id}"
    values = {
        "node_id": f"PRRC_{comment.id}",
        "pull_request_review_id": comment.review_id or None,
        "path": comment.path,
        "line": comment.line,
        "original_line": comment.line,
        "html_url": f"{standin.url}/{comment.repository}/{anchor}",
    }
    return {**values, "updated_at": comment.updated_at} if comment.updated_at else values


def review_comments(standin: GitHubStandIn, call: Call) -> Answer:
    def values(comment: ReviewComment) -> dict[str, Any]:
        return _comment_values(standin, comment)

    comments = standin.records.review_comments
    return _on_pull(standin, call, comments, "pulls/list-review-comments", values)


def comments_of_review(standin: GitHubStandIn, call: Call) -> Answer:
    """One review's comments, as GitHub lists them."""
    review = call.path["review_id"]
    if not any(r.id == review for r in standin.records.reviews):
        raise not_found()

    def values(comment: ReviewComment) -> dict[str, Any]:
        return _comment_values(standin, comment)

    comments = [c for c in standin.records.review_comments if c.review_id == review]
    return _on_pull(standin, call, comments, "pulls/list-comments-for-review", values)


DRAFT_AFTER = {"markPullRequestReadyForReview": False, "convertPullRequestToDraft": True}
MUTATION = re.compile(r"\bmutation\b[^{]*\{\s*(\w+)\s*\(")
INLINE_ID = re.compile(r"pullRequestId\s*:\s*(?:\"([^\"]+)\"|\$(\w+))")


def graphql(standin: GitHubStandIn, request: Any) -> Answer:
    """GitHub's answer to ``{"query", "variables"}``: errors in the body, status 200."""
    query = request.get("query", "") if isinstance(request, dict) else ""
    found = MUTATION.search(query)
    if found is None or found.group(1) not in DRAFT_AFTER:
        return _error(f"the stand-in answers only {sorted(DRAFT_AFTER)}, not: {query[:200]}")
    name = found.group(1)
    variables = request.get("variables") or {}
    given = (variables.get("input") or {}).get("pullRequestId") or variables.get("pullRequestId")
    inline = INLINE_ID.search(query)
    if given is None and inline is not None:
        given = inline.group(1) or variables.get(inline.group(2))
    pull = next((p for p in standin.records.pulls if p.node_id == given), None)
    if pull is None:
        return _error(f"Could not resolve to a node with the global id of '{given}'")
    pull.draft = DRAFT_AFTER[name]
    data = {"pullRequest": {"id": pull.node_id, "number": pull.number, "isDraft": pull.draft}}
    return Answer(200, {"data": {name: data}})


def _error(message: str) -> Answer:
    return Answer(200, {"data": None, "errors": [{"type": "NOT_FOUND", "message": message}]})


HANDLERS: dict[str, Callable[[GitHubStandIn, Call], Answer]] = {
    "pulls/create": create,
    "pulls/list": list_pulls,
    "pulls/get": get,
    "pulls/update": update,
    "pulls/list-reviews": reviews,
    "pulls/list-review-comments": review_comments,
    "pulls/get-review": get_review,
    "pulls/list-comments-for-review": comments_of_review,
}
