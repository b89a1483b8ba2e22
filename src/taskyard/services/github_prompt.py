"""The task a GitHub trigger starts: its title and its prompt.

The trigger's prompt template is the organization's own words (trusted); the person
who triggered gives the instruction (``{comment}``: the rest of their comment). What
anyone else wrote (the issue's or pull request's title and body, a commit message,
file names) is never spliced into the instruction: ``{title}`` and ``{body}`` name the
fenced, labelled blocks that hold it (see :mod:`taskyard.model.fence`).
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from taskyard.model.errors import InvalidInput
from taskyard.model.fence import Untrusted, prompt_section
from taskyard.model.untrusted import sanitize
from taskyard.services.github_subject import Subject

FIELDS = ("repository", "number", "url", "title", "body", "comment", "kind", "ref")
DEFAULT = (
    "Work on GitHub {kind} #{number} of {repository} ({url}): its title and body are "
    "quoted below.\n\n{comment}"
)
DEFAULT_PUSH = (
    "Files watched by taskyard changed on {ref} of {repository} ({url}): the commit "
    "message and the changed files are quoted below. Do what the change needs.\n\n{comment}"
)
TITLE_LIMIT = 300
MAX_FILES_LISTED = 200


def check_template(template: str) -> None:
    """Refuse a prompt template with a field taskyard does not fill (400 naming it)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidInput(
            f"The prompt template is not valid: {exc} (write {{{{ for a {{)."
        ) from exc
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in FIELDS or spec or conversion:
            raise InvalidInput(
                f"The prompt template uses {{{field[:50]}}}: it may use {{"
                + "}, {".join(FIELDS)
                + "} only, without format specs."
            )


def _quoted(what: str, subject: Subject) -> str:
    where = "the push" if subject.kind == "push" else f"{subject.kind} #{subject.number}"
    return f"[the {what} of {where}, quoted below]"


def render(template: str, subject: Subject, instruction: str) -> str:
    default = DEFAULT_PUSH if subject.kind == "push" else DEFAULT
    values: Mapping[str, object] = {
        "repository": subject.repository,
        "number": subject.number,
        "url": subject.url,
        "title": _quoted("title", subject),
        "body": _quoted("body", subject),
        "comment": instruction,
        "kind": subject.kind,
        "ref": subject.ref.removeprefix("refs/heads/"),
    }
    return (template or default).format_map(values).strip()


def title_of(subject: Subject) -> str:
    """The task's title: the issue's, on one line, or what the push was."""
    title = " ".join(sanitize(subject.title, TITLE_LIMIT).split())[:TITLE_LIMIT]
    if subject.kind == "push":
        title = f"Push to {subject.ref.removeprefix('refs/heads/')}: {title}"[:TITLE_LIMIT]
    return title or f"{subject.kind} #{subject.number} of {subject.repository}"


def context_of(subject: Subject) -> list[Untrusted]:
    """Everyone's text but the requester's instruction, as fenced context."""
    by = f" by @{subject.author}" if subject.author else ""
    if subject.kind == "push":
        files = "\n".join(subject.changed[:MAX_FILES_LISTED])
        return [
            Untrusted(f"commit message of the push to {subject.ref}{by}", subject.body),
            Untrusted(f"files changed by the push to {subject.ref}", files),
        ]
    where = f"{subject.kind} #{subject.number}"
    return [
        Untrusted(f"title of {where}{by}", subject.title),
        Untrusted(f"body of {where}{by}", subject.body),
    ]


def prompt_of(template: str, subject: Subject, instruction: str, requester: str) -> str:
    """The task's prompt: the instruction, then the fenced context."""
    return prompt_section(
        render(template, subject, instruction), context_of(subject), requester=requester
    )
