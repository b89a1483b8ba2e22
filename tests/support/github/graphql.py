"""The GraphQL mutations REST has no operation for: a draft pull request is marked
ready for review (and turned back into a draft) only through GraphQL."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.support.github.answers import Answer

if TYPE_CHECKING:
    from tests.support.github.standin import GitHubStandIn

DRAFT_AFTER = {"markPullRequestReadyForReview": False, "convertPullRequestToDraft": True}
MUTATION = re.compile(r"\bmutation\b[^{]*\{\s*(\w+)\s*\(")
INLINE_ID = re.compile(r"pullRequestId\s*:\s*\"([^\"]+)\"")


def answer(standin: GitHubStandIn, request: Any) -> Answer:
    """GitHub's answer to ``{"query", "variables"}``: errors in the body, status 200."""
    query = request.get("query", "") if isinstance(request, dict) else ""
    found = MUTATION.search(query)
    if found is None or found.group(1) not in DRAFT_AFTER:
        return _error(f"the stand-in answers only {sorted(DRAFT_AFTER)}, not: {query[:200]}")
    name = found.group(1)
    variables = request.get("variables") or {}
    given = (variables.get("input") or {}).get("pullRequestId") or variables.get("pullRequestId")
    inline = INLINE_ID.search(query)
    node_id = given or (inline.group(1) if inline else None)
    pull = next((p for p in standin.records.pulls if p.node_id == node_id), None)
    if pull is None:
        return _error(f"Could not resolve to a node with the global id of '{node_id}'")
    pull.draft = DRAFT_AFTER[name]
    data = {"pullRequest": {"id": pull.node_id, "number": pull.number, "isDraft": pull.draft}}
    return Answer(200, {"data": {name: data}})


def _error(message: str) -> Answer:
    return Answer(200, {"data": None, "errors": [{"type": "NOT_FOUND", "message": message}]})
