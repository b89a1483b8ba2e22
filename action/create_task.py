#!/usr/bin/env python3
"""Create a taskyard task from a GitHub Actions run: the script of ``action.yml``.

It needs only Python's standard library, so it runs on any GitHub-hosted runner with
nothing installed. Its inputs arrive as ``INPUT_*`` environment variables (``action.yml``
maps each ``${{ inputs.x }}`` to one), the run's context in the variables GitHub sets
(``GITHUB_EVENT_PATH``, ``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY``, ``GITHUB_RUN_ID``...).

The task's thread is the issue (``github:acme/shop#12``), so a run on an issue whose
task is still open sends the prompt to that task instead of starting another. Text
from the issue or the comment that triggered the run was written by anyone: it goes to
the task as context (``origin_context``), which the agent reads as untrusted data; only
the ``prompt``, written by the workflow's author, is an instruction.

Outputs go to ``$GITHUB_OUTPUT``; a failure is an ``::error::`` annotation and exit 1.
Tokens are masked first and never printed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

ISSUE_URL = re.compile(r"https?://[^/\s]+/([\w.-]+)/([\w.-]+)/(?:issues|pull)/([0-9]{1,10})/?")
CONTEXT_BYTES = 8_000  # of each text from GitHub: the whole context must stay under 64 kB
TIMEOUT = 30
HINTS = {
    401: "Check the taskyard-token input: is the secret set, and is the token not revoked?",
    403: "Give the token that scope (an admin creates tokens with `taskyard tokens create`).",
}


class Failure(Exception):
    """What went wrong, said so that the person reading the run's log can fix it."""


def annotate(kind: str, text: str) -> None:
    """A workflow command (``::error::...``); its data escaped as the runner expects."""
    data = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    print(f"::{kind}::{data}", flush=True)


def value(name: str, *, required: bool = False) -> str:
    found = os.environ.get(f"INPUT_{name.upper().replace('-', '_')}", "").strip()
    if required and not found:
        raise Failure(f"The '{name}' input is required.")
    return found


def request(
    method: str, url: str, token: str, body: Any = None, more: dict[str, str] | None = None
) -> tuple[int, Any]:
    """Send a JSON request; the status and the decoded answer (None when not JSON)."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "User-Agent": "taskyard-action",
        **(more or {}),
    }
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data, headers, method=method), timeout=TIMEOUT
        ) as answer:
            return answer.status, _json(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, _json(error.read())
    except (urllib.error.URLError, OSError) as error:
        where = urllib.parse.urlsplit(url)
        reason = getattr(error, "reason", error)
        raise Failure(f"Cannot reach {where.scheme}://{where.netloc}: {reason}.") from error


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


class Taskyard:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def call(
        self, method: str, path: str, body: Any = None, hint: str = ""
    ) -> tuple[int, dict[str, Any]]:
        status, answer = request(method, f"{self.url}{path}", self.token, body)
        if status >= 400 or not isinstance(answer, dict):
            error = answer.get("error", {}) if isinstance(answer, dict) else {}
            message = error.get("message") or f"HTTP {status}: is {self.url} taskyard's URL?"
            said = f"taskyard answered {status} ({error.get('code', 'error')}): {message}"
            raise Failure(" ".join(filter(None, (said, HINTS.get(status, ""), hint))))
        return status, answer

    def creator(self, username: str, github_id: str) -> str | None:
        """The taskyard username the task is for; None: the token's own user."""
        if username or not github_id:
            return username or None
        if not github_id.isdigit():
            raise Failure(f"github-user-id must be a number, not '{github_id}'.")
        hint = "Or name the taskyard user with the taskyard-username input."
        _, identity = self.call("GET", f"/api/v1/identities/github/{github_id}", hint=hint)
        return str(identity["user"])


def event() -> dict[str, Any]:
    path = os.environ.get("GITHUB_EVENT_PATH", "")
    if not path or not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as file:
        found = json.load(file)
    return found if isinstance(found, dict) else {}


def clip(text: Any) -> str:
    raw = str(text or "").encode("utf-8")[:CONTEXT_BYTES]
    return raw.decode("utf-8", errors="ignore")


def subject_of(payload: dict[str, Any], issue_url: str) -> dict[str, Any]:
    """The event's issue or pull request, if it is the one the task answers."""
    found = payload.get("issue") or payload.get("pull_request") or {}
    if not isinstance(found, dict) or (issue_url and found.get("html_url") != issue_url):
        return {}
    return found


def task_body(payload: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, str, str] | None]:
    """The create request, and the issue it answers as (owner, repository, number)."""
    prompt = value("prompt", required=True)
    issue_url = value("github-issue-url") or str(subject_of(payload, "").get("html_url") or "")
    issue = None
    if issue_url:
        matched = ISSUE_URL.fullmatch(issue_url)
        if matched is None:
            raise Failure(
                f"github-issue-url '{issue_url}' is not the URL of an issue or pull request "
                "(https://github.com/OWNER/REPO/issues/NUMBER)."
            )
        issue = (matched[1], matched[2], matched[3])
    repository = value("repository") or os.environ.get("GITHUB_REPOSITORY", "")
    if not repository and issue:
        repository = f"{issue[0]}/{issue[1]}"
    if not repository:
        raise Failure("Say which repository to work on: set the 'repository' input.")
    body = {
        "title": value("title") or prompt.splitlines()[0][:300],
        "description": prompt,
        "repository": repository,
        "base_branch": value("base-branch") or None,
        "origin": "github_action",
        "origin_context": context_of(payload, repository, issue_url, issue),
        "team": value("taskyard-team") or None,
        "template": value("taskyard-template") or None,
        "workflow": value("taskyard-workflow") or None,
        "thread": f"github:{issue[0]}/{issue[1]}#{issue[2]}" if issue else None,
    }
    return {k: v for k, v in body.items() if v is not None}, issue


def context_of(
    payload: dict[str, Any], repository: str, issue_url: str, issue: tuple[str, str, str] | None
) -> dict[str, Any]:
    """What the task's origin knows: where the run is, and the issue's and comment's text."""
    env = os.environ.get
    context: dict[str, Any] = {"repository": repository, "event": env("GITHUB_EVENT_NAME", "")}
    if env("GITHUB_RUN_ID"):
        server, where = env("GITHUB_SERVER_URL", "https://github.com"), env("GITHUB_REPOSITORY")
        context["run_url"] = f"{server}/{where or repository}/actions/runs/{env('GITHUB_RUN_ID')}"
    if issue:
        context.update(issue_url=issue_url, issue_number=int(issue[2]))
    subject = subject_of(payload, issue_url)
    if subject:
        context.update(issue_title=clip(subject.get("title")), issue_body=clip(subject.get("body")))
    comment = payload.get("comment")
    if isinstance(comment, dict) and comment.get("body"):
        context["comment"] = clip(comment["body"])
    return {k: v for k, v in context.items() if v != ""}


def comment(issue: tuple[str, str, str], token: str, text: str) -> None:
    owner, name, number = issue
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    url = f"{api}/repos/{owner}/{name}/issues/{number}/comments"
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    status, answer = request("POST", url, token, {"body": text}, headers)
    if status >= 400:
        message = answer.get("message", "") if isinstance(answer, dict) else ""
        raise Failure(
            f"Could not comment on {owner}/{name}#{number}: GitHub answered {status} {message}. "
            "The workflow needs `permissions: issues: write` (pull-requests: write on a pull "
            "request) for the github-token input, or set comment-on-issue to false."
        )


def write_outputs(outputs: dict[str, str]) -> None:
    path = os.environ.get("GITHUB_OUTPUT", "")
    lines = "".join(f"{name}={text}\n" for name, text in outputs.items())
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(lines)
    else:
        print(lines, end="")


def run() -> None:
    taskyard = Taskyard(
        value("taskyard-url", required=True), value("taskyard-token", required=True)
    )
    payload = event()
    body, issue = task_body(payload)
    sender = payload.get("sender")
    sender_id = sender.get("id") if isinstance(sender, dict) else None
    github_id = value("github-user-id") or str(sender_id or "")
    creator = taskyard.creator(value("taskyard-username"), github_id)
    if creator:
        body["creator"] = creator
    status, task = taskyard.call("POST", "/api/v1/tasks", body)
    created, key = status == 201, str(task["key"])
    page = f"{taskyard.url}/tasks/{urllib.parse.quote(key)}"
    write_outputs({"task-key": key, "task-url": page, "task-created": str(created).lower()})
    if created:
        print(f"Created {key}: {page}", flush=True)
        news = f"Task created: [{key}]({page})"
    else:
        print(f"{key} is open on this issue: it got the prompt as a message. {page}", flush=True)
        news = f"Sent to the open task [{key}]({page})."
    if issue and value("comment-on-issue").lower() == "true":
        github_token = value("github-token")
        if not github_token:
            raise Failure("comment-on-issue needs the github-token input.")
        comment(issue, github_token, news)


def main() -> int:
    for secret in (value("taskyard-token"), value("github-token")):
        if secret:
            annotate("add-mask", secret)
    try:
        run()
    except Failure as failure:
        annotate("error", str(failure))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
