"""Issues and their comments; a comment's edits are kept in its history."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.support.github.answers import Answer, bounded, example, not_found, overlay, page, user
from tests.support.github.checks import Call
from tests.support.github.records import Comment
from tests.support.github.repos import known

if TYPE_CHECKING:
    from tests.support.github.standin import GitHubStandIn


def _thread(standin: GitHubStandIn, call: Call) -> int:
    """The issue or pull request number of the call; 404 when neither exists."""
    name, number = known(standin, call), call.path["issue_number"]
    if standin.records.issue(name, number) is None and standin.records.pull(name, number) is None:
        raise not_found()
    return int(number)


def _comment_json(standin: GitHubStandIn, comment: Comment) -> Any:
    base = f"{standin.url}/repos/{comment.repository}/issues"
    values = {
        "id": comment.id,
        "node_id": f"IC_{comment.id}",
        "body": comment.body,
        "user": user(standin, comment.user),
        "url": f"{base}/comments/{comment.id}",
        "issue_url": f"{base}/{comment.issue_number}",
        "html_url": f"{standin.url}/{comment.repository}/issues/{comment.issue_number}"
        f"#issuecomment-{comment.id}",
        "author_association": "NONE",
    }
    return overlay(example(standin, "issues/get-comment"), values)


def _comment(standin: GitHubStandIn, call: Call) -> Comment:
    name = known(standin, call)
    found = next(
        (
            c
            for c in standin.records.comments
            if (c.repository, c.id) == (name, call.path["comment_id"])
        ),
        None,
    )
    if found is None:
        raise not_found()
    return found


def get_issue(standin: GitHubStandIn, call: Call) -> Answer:
    issue = standin.records.issue(known(standin, call), call.path["issue_number"])
    if issue is None:
        raise not_found()
    labels = [
        {"id": index, "node_id": f"LA_{index}", "name": label,
         "url": f"{standin.url}/repos/{issue.repository}/labels/{label}", "color": "ededed",
         "description": None, "default": False}
        for index, label in enumerate(issue.labels, 1)
    ]  # fmt: skip
    values = {
        "number": issue.number,
        "title": issue.title,
        "body": issue.body,
        "state": issue.state,
        "labels": labels,
        "user": user(standin, issue.user),
        "url": f"{standin.url}/repos/{issue.repository}/issues/{issue.number}",
        "html_url": f"{standin.url}/{issue.repository}/issues/{issue.number}",
    }
    template = example(standin, "issues/get")
    template.pop("pull_request", None)
    return Answer(200, overlay(template, values))


def create_comment(standin: GitHubStandIn, call: Call) -> Answer:
    number = _thread(standin, call)
    bounded("IssueComment", call.body["body"])
    comment = standin.records.add_comment(call.repository, number, call.body["body"], standin.login)
    return Answer(201, _comment_json(standin, comment))


def update_comment(standin: GitHubStandIn, call: Call) -> Answer:
    comment = _comment(standin, call)
    bounded("IssueComment", call.body["body"])
    comment.history.append(comment.body)
    comment.body = call.body["body"]
    return Answer(200, _comment_json(standin, comment))


def get_comment(standin: GitHubStandIn, call: Call) -> Answer:
    return Answer(200, _comment_json(standin, _comment(standin, call)))


def list_comments(standin: GitHubStandIn, call: Call) -> Answer:
    number = _thread(standin, call)
    comments = [
        _comment_json(standin, c)
        for c in standin.records.comments
        if (c.repository, c.issue_number) == (call.repository, number)
    ]
    return Answer(200, *page(call, comments))


HANDLERS: dict[str, Callable[[GitHubStandIn, Call], Answer]] = {
    "issues/get": get_issue,
    "issues/create-comment": create_comment,
    "issues/update-comment": update_comment,
    "issues/get-comment": get_comment,
    "issues/list-comments": list_comments,
}
