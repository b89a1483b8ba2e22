"""The review loop on taskyard's pull requests: what GitHub says about one becomes a
signal to its task.

- A review that asks for changes (``changes_requested``, or ``commented`` with words),
  or a single review comment, from a person who may write to the repository: a change
  request, the reviewer's words and line comments (file and line) fenced as data.
- Failing checks on the pull request's head commit: a repair turn, a change request
  carrying each failing check's output and the end of its log, at most
  ``TASKYARD_GITHUB_REPAIR_ROUNDS`` per pull request and one per commit.
- Merged: the task completes. Closed unmerged: it is cancelled.

Pull requests taskyard did not open, on branches it did not make, are never acted on.
A change request reaches a task wherever it is: the workflow keeps it until the task
next waits at an approval gate (a review that arrives while the agent runs is not
lost). GitHub sends a review *and* a review comment event for a single comment: each
review is acted on once, as one change request (:func:`_review_counts`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import re2

from taskyard.forges import github_people
from taskyard.forges.github_checks import FAILING, Failure, GitHubChecks
from taskyard.model.errors import Conflict
from taskyard.model.github import GitHubEvent
from taskyard.model.signals import Signal
from taskyard.model.status import FINAL
from taskyard.model.untrusted import sanitize
from taskyard.services import review_store
from taskyard.services.github_context import IntakeContext
from taskyard.services.github_senders import is_bot
from taskyard.services.review_prompts import as_submitted, repair_feedback, review_feedback
from taskyard.services.review_store import PullTask

T = TypeVar("T")
# A person's login on GitHub (Enterprise managed users' have an underscore): it is quoted
# outside the fenced blocks, so nothing else is.
LOGIN = re2.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
SHOWN = 2_000  # characters of a reviewer's words kept in the task's event


def _map(value: Any, key: str) -> Mapping[str, Any]:
    found = value.get(key) if isinstance(value, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def _text(value: Mapping[str, Any], key: str) -> str:
    found = value.get(key)
    return found if isinstance(found, str) else ""


def _int(value: Mapping[str, Any], key: str) -> int:
    found = value.get(key)
    return found if isinstance(found, int) and not isinstance(found, bool) else 0


async def _db(context: IntakeContext, work: Callable[..., T], *args: Any) -> T:
    def run() -> T:
        with context.session() as session:
            return work(session, *args)

    return await asyncio.to_thread(run)


def _github(context: IntakeContext, found: PullTask) -> GitHubChecks | None:
    credentials = context.forge.credentials(found.site, context.settings)
    if credentials is None:
        return None
    return GitHubChecks(credentials, found.site.api_url or context.settings.github_api_url)


async def _pull_task(context: IntakeContext, event: GitHubEvent) -> PullTask | None:
    pull = _map(event.payload, "pull_request")
    head = _text(_map(pull, "head"), "ref")
    number = _int(pull, "number")
    return await _db(context, review_store.by_number, event.repository, number, head)


async def _refusal(
    context: IntakeContext, found: PullTask, author: Mapping[str, Any], what: str
) -> str:
    """Why ``author``'s review (``what``) is not acted on; "" when they may write to the
    repository."""
    login = _text(author, "login")[:100]
    if is_bot(author):
        return f"{what} by the bot {login} ignored: bots do not send taskyard's tasks back."
    if not LOGIN.fullmatch(login):
        return f"{what} by an author without a valid GitHub login ignored."
    credentials = context.forge.credentials(found.site, context.settings)
    if credentials is None:
        return f"{what} by @{login} ignored: taskyard has no GitHub credentials to check access."
    api_url = found.site.api_url or context.settings.github_api_url
    permission = await github_people.permission(credentials, api_url, found.repository, login)
    if permission is None or not permission.writes:
        role = (permission.role or permission.level) if permission else "none"
        return f"{what} by @{login} ignored: no write access to {found.repository} ({role})."
    if permission.user_id and permission.user_id != _int(author, "id"):
        return f"{what} by @{login} ignored: that login now belongs to another account."
    return ""


async def _request_changes(
    context: IntakeContext, found: PullTask, text: str, by: str, data: dict[str, Any]
) -> str:
    # Read before the signal: once the workflow takes it, the task no longer waits at the gate.
    to = await _db(context, review_store.gate_target, found.task_id)
    try:
        await context.engine.signal(found.uid, Signal("request_changes", text=text, by=by))
    except Conflict:
        return f"{found.key}'s workflow is not running: the change request from {by} was dropped."
    await _db(context, review_store.record_request, found, {"to": to, "by": by, **data})
    return f"Changes requested on {found.key} by {by}."


def _review_counts(review: Mapping[str, Any], comments: int) -> bool:
    """Whether a review is acted on as a whole; if not, its one comment is, by itself."""
    state = _text(review, "state").lower()
    return state == "changes_requested" or bool(_text(review, "body").strip()) or comments > 1


async def _reviewed(
    context: IntakeContext, event: GitHubEvent, author: Mapping[str, Any], what: str
) -> tuple[PullTask, GitHubChecks] | str:
    """The task a review (or review comment, ``what``) by ``author`` is about and a client
    to read the rest of it, when it may be acted on; else why not."""
    found = await _pull_task(context, event)
    if found is None:
        return f"{what} on a pull request taskyard did not open: ignored."
    if found.status in FINAL:
        return f"{what} ignored: {found.key} is {found.status}."
    if refused := await _refusal(context, found, author, what):
        return refused
    github = _github(context, found)
    assert github is not None  # _refusal checked the credentials
    return found, github


async def _review(context: IntakeContext, event: GitHubEvent) -> str:
    review = _map(event.payload, "review")
    state = _text(review, "state").lower()
    if state not in ("changes_requested", "commented"):
        return f"Review {state or 'without a state'}: nothing for the review loop to do."
    author = _map(review, "user") or event.sender
    reviewed = await _reviewed(context, event, author, "Review")
    if isinstance(reviewed, str):
        return reviewed
    found, github = reviewed
    try:
        comments = await github.review_comments(found.repository, found.number, _int(review, "id"))
    finally:
        await github.aclose()
    if not _review_counts(review, len(comments)):
        if not comments:
            return "Review without words or line comments: nothing to do."
        return "A single review comment: acted on from its own delivery."
    login = _text(author, "login")
    body = _text(review, "body")
    kept, edited = as_submitted(review, comments)
    text = review_feedback(found.repository, found.number, login, body, kept, edited)
    data = {"text": sanitize(body, SHOWN), "comments": len(kept), "via": "github review"}
    return await _request_changes(context, found, text, f"@{login}", data)


async def _review_comment(context: IntakeContext, event: GitHubEvent) -> str:
    comment = _map(event.payload, "comment")
    author = _map(comment, "user") or event.sender
    reviewed = await _reviewed(context, event, author, "Review comment")
    if isinstance(reviewed, str):
        return reviewed
    found, github = reviewed
    review_id = _int(comment, "pull_request_review_id")
    try:
        review = await github.review(found.repository, found.number, review_id)
        siblings = await github.review_comments(found.repository, found.number, review_id)
    finally:
        await github.aclose()
    if _review_counts(review, len(siblings)):
        return f"Review comment is part of review {review_id}: acted on with the review."
    login = _text(author, "login")
    text = review_feedback(found.repository, found.number, login, "", [comment])
    data = {"text": sanitize(_text(comment, "body"), SHOWN), "via": "github review comment"}
    return await _request_changes(context, found, text, f"@{login}", data)


async def _repair(
    context: IntakeContext,
    event: GitHubEvent,
    sha: str,
    about: tuple[str, list[int]],
    runs: list[Any],
) -> str:
    """A repair turn for failing checks on commit ``sha``; ``about``: the branch and the
    pull requests GitHub says they ran for, when it says."""
    found = await _db(context, review_store.by_head_sha, event.repository, sha)
    branch, numbers = about
    if (
        found is None
        or (branch and branch != found.head)
        or (numbers and found.number not in numbers)
    ):
        return f"Checks on {sha[:12]}, not the latest commit of a taskyard pull request: ignored."
    if found.status in FINAL:
        return f"Failing checks ignored: {found.key} is {found.status}."
    limit = context.settings.github_repair_rounds
    failures = [Failure(_text(run, "name")[:200], "", "") for run in runs]
    if await _db(context, review_store.repair_due, found, limit) == "granted":
        github = _github(context, found)
        if github is None:
            return f"Failing checks on {found.key} ignored: taskyard has no GitHub credentials."
        try:
            runs = runs or await github.failing_runs(found.repository, sha)
            failures = await github.failures(found.repository, runs)
        finally:
            await github.aclose()
        if not failures:
            return f"No failing check run on {sha[:12]}: nothing to repair."
    names = ", ".join(f.check for f in failures) or "a check suite"
    claim = await _db(context, review_store.claim_repair, found, names, limit)
    if claim.outcome == "duplicate":
        return f"A repair round for {found.key} at {sha[:12]} has started already: ignored."
    if claim.outcome == "limit":
        if not limit:
            return f"Repairs are off (TASKYARD_GITHUB_REPAIR_ROUNDS is 0): {names} failed."
        return f"{found.key} has had its {limit} repair rounds: no more repair turns ({names})."
    text = repair_feedback(found.number, sha, claim.round, limit, failures)
    try:
        await context.engine.signal(found.uid, Signal("request_changes", text=text, by="CI"))
    except Conflict:
        return f"{found.key}'s workflow is not running: repair round {claim.round} not sent."
    return f"Repair round {claim.round} of {limit} for {found.key}: {names} failed."


async def _checks(context: IntakeContext, event: GitHubEvent) -> str:
    """A check run or check suite completed: failing on a taskyard head commit, a repair."""
    run = _map(event.payload, "check_run")
    suite = _map(run, "check_suite") if run else _map(event.payload, "check_suite")
    what = run or suite
    conclusion = _text(what, "conclusion")
    if conclusion not in FAILING:
        return f"{event.event} {conclusion or 'without a conclusion'}: nothing to repair."
    listed = what.get("pull_requests")
    numbers = (
        [_int(p, "number") for p in listed if isinstance(p, Mapping)]
        if isinstance(listed, list)
        else []
    )
    about = (_text(suite, "head_branch"), numbers)
    return await _repair(context, event, _text(what, "head_sha"), about, [run] if run else [])


async def _closed(context: IntakeContext, event: GitHubEvent) -> str:
    found = await _pull_task(context, event)
    if found is None:
        return "A pull request taskyard did not open was closed: ignored."
    merged = _map(event.payload, "pull_request").get("merged") is True
    said = "merged" if merged else "closed without merging"
    if found.status in FINAL:
        await _db(context, review_store.end_pull, found, merged)
        return f"Pull request {said}; {found.key} was {found.status} already."
    by = f"@{_text(event.sender, 'login')[:100]}"
    ending = "completes" if merged else "is cancelled"
    outcome = f"Pull request {said}: {found.key} {ending}."
    try:
        await context.engine.signal(found.uid, Signal("merged" if merged else "closed", by=by))
    except Conflict:
        outcome = f"Pull request {said}, but {found.key}'s workflow is not running."
    await _db(context, review_store.end_pull, found, merged)
    return outcome


Handler = Callable[[IntakeContext, GitHubEvent], Awaitable[str]]
HANDLERS: dict[tuple[str, str], Handler] = {
    ("pull_request_review", "submitted"): _review,
    ("pull_request_review_comment", "created"): _review_comment,
    ("check_run", "completed"): _checks,
    ("check_suite", "completed"): _checks,
    ("pull_request", "closed"): _closed,
}


async def handle(context: IntakeContext, event: GitHubEvent) -> str:
    """Act on a review, review comment, check or closed pull request; the outcome, said
    in a sentence (kept with the delivery)."""
    handler = HANDLERS.get((event.event, event.action))
    if handler is None:
        return f"{event.event} {event.action}: nothing for the review loop to do."
    return await handler(context, event)
