"""What a GitHub delivery is about, read once from its payload, and which trigger it fires.

Everything here is the payload as GitHub sent it when the event happened: the issue's
title and body, the triggering comment, the files a push changed. Nothing is read
again later, so an edit made after the trigger never reaches the task.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import re2

from taskyard.db.models import GitHubTrigger
from taskyard.model.errors import InvalidInput
from taskyard.model.github import GitHubEvent
from taskyard.model.inputs import text_problem

MAX_GLOB = 300
MAX_CHANGED = 3_000  # files of one push looked at (GitHub lists at most 2,048 commits)


@dataclass(frozen=True)
class Subject:
    """The issue, pull request or push a delivery is about."""

    repository: str
    kind: str  # issue | pull request | push
    number: int  # 0 for a push
    title: str
    body: str
    author: str  # who wrote the issue or pull request
    url: str
    ref: str = ""  # a push's branch, refs/heads/...
    comment: str = ""  # the triggering comment, as it was when written
    comment_url: str = ""
    changed: tuple[str, ...] = ()

    @property
    def thread(self) -> str:
        """The conversation tasks answer: one open task per thread."""
        where = f"@{self.ref}" if self.kind == "push" else f"#{self.number}"
        return f"github:{self.repository}{where}"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _login(value: Any) -> str:
    return _text(_map(value).get("login"))


def subject_of(event: GitHubEvent) -> Subject | None:
    """The subject of an intake event, or None when the payload lacks it."""
    payload = event.payload
    repository = event.repository
    if not repository:
        return None
    if event.event == "push":
        return _push(repository, payload)
    item = _map(payload.get("issue") or payload.get("pull_request"))
    number = item.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        return None
    is_pull = event.event == "pull_request" or "pull_request" in item
    comment = _map(payload.get("comment"))
    return Subject(
        repository=repository,
        kind="pull request" if is_pull else "issue",
        number=number,
        title=_text(item.get("title")),
        body=_text(item.get("body")),
        author=_login(item.get("user")),
        url=_text(item.get("html_url")),
        comment=_text(comment.get("body")),
        comment_url=_text(comment.get("html_url")),
    )


def _push(repository: str, payload: Mapping[str, Any]) -> Subject | None:
    ref = _text(payload.get("ref"))
    if not ref.startswith("refs/heads/") or payload.get("deleted") is True:
        return None  # tags and deleted branches start nothing
    changed: dict[str, None] = {}
    commits = payload.get("commits")
    for commit in commits if isinstance(commits, list) else []:
        for key in ("added", "modified", "removed"):
            files = _map(commit).get(key)
            for name in files if isinstance(files, list) else []:
                if isinstance(name, str) and len(changed) < MAX_CHANGED:
                    changed[name] = None
    head = _map(payload.get("head_commit"))
    return Subject(
        repository=repository,
        kind="push",
        number=0,
        title=_text(head.get("message")).split("\n", 1)[0],
        body=_text(head.get("message")),
        author=_login(payload.get("pusher")) or _login(payload.get("sender")),
        url=_text(payload.get("compare")),
        ref=ref,
        changed=tuple(changed),
    )


def glob_pattern(glob: str) -> str:
    """``glob`` as an RE2 pattern over a repository path: ``**`` any directories,
    ``*`` and ``?`` within one name, ``[...]`` a character class; a glob without a
    slash matches a name in any directory, as in ``.gitignore``."""
    problem = text_problem(glob)
    if problem or not glob.strip() or len(glob) > MAX_GLOB:
        raise InvalidInput(f"Path glob '{glob[:100]}' must be 1 to {MAX_GLOB} characters of text.")
    if glob.startswith("/") or ".." in glob.split("/") or "\n" in glob:
        raise InvalidInput(f"Path glob '{glob[:100]}' must be relative to the repository's root.")
    out = [] if "/" in glob.rstrip("/") else ["(?:.*/)?"]
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = glob.find("]", i + 2)
            if end < 0:
                raise InvalidInput(f"Path glob '{glob[:100]}' opens '[' without closing it.")
            body = glob[i + 1 : end].replace("\\", "\\\\")
            out.append(f"[^{body[1:]}]" if body.startswith("!") else f"[{body}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    if glob.endswith("/"):
        out.append(".*")  # a directory: everything in it
    return "".join(out)


@cache
def compiled(glob: str) -> re2._Regexp:
    try:
        return re2.compile(glob_pattern(glob))
    except re2.error as exc:
        raise InvalidInput(f"Path glob '{glob[:100]}' is not valid: {exc}") from exc


def matches(globs: Sequence[str], path: str) -> bool:
    return any(compiled(glob).fullmatch(path) for glob in globs)


def phrase_at(comment: str, phrase: str) -> tuple[int, int] | None:
    """Where ``phrase`` stands as a whole word in ``comment`` (not inside a word, a
    path or a URL: ``/taskyard`` but not ``/taskyards`` or ``a/taskyard``)."""
    pattern = r"(?i)(?:^|\s)(" + re2.escape(phrase) + r")(?:$|[\s.,:;!?)])"
    found = re2.search(pattern, comment)
    return (found.start(1), found.end(1)) if found else None


def instruction_of(comment: str, phrase: str) -> str:
    """The comment without its phrase: what the person asks for."""
    span = phrase_at(comment, phrase)
    if span is None:
        return ""
    before, after = comment[: span[0]].rstrip(" \t"), comment[span[1] :].lstrip(" \t")
    joint = " " if before and after and not before.endswith("\n") and after[0] != "\n" else ""
    return (before + joint + after).strip()


def fires(trigger: GitHubTrigger, event: GitHubEvent, subject: Subject) -> bool:
    """Whether ``trigger`` starts a task for ``event``."""
    payload = event.payload
    kind, value = trigger.kind, trigger.value.casefold()
    if kind == "label":
        name = _text(_map(payload.get("label")).get("name"))
        return event.event == "issues" and name.casefold() == value
    if kind == "assigned":
        return event.event == "issues" and _login(payload.get("assignee")).casefold() == value
    if kind == "comment":
        return event.event == "issue_comment" and bool(phrase_at(subject.comment, trigger.value))
    if kind == "pull_request":
        return event.event == "pull_request" and event.action == "opened"
    if kind == "paths":
        return _touches(trigger.paths, subject.changed)
    return False


def _touches(globs: Sequence[str], changed: Sequence[str]) -> bool:
    return any(matches(globs, path) for path in changed)
