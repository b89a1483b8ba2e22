"""Repositories, users, App installation tokens, check runs and their logs."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tests.support.github import answers
from tests.support.github.answers import Answer, example, not_found, overlay, page
from tests.support.github.checks import Call
from tests.support.github.git import head_sha

if TYPE_CHECKING:
    from tests.support.github.standin import GitHubStandIn


def known(standin: GitHubStandIn, call: Call) -> str:
    """The call's repository; GitHub's 404 when the stand-in does not serve it."""
    if not (standin.root / f"{call.repository}.git").is_dir():
        raise not_found()
    return call.repository


def get_repository(standin: GitHubStandIn, call: Call) -> Answer:
    template = example(standin, "repos/get")
    for fork_only in ("parent", "source", "template_repository"):
        template.pop(fork_only, None)
    data = overlay(
        template, {**answers.repository(standin, known(standin, call)), "language": None}
    )
    return Answer(200, data)


def permission(standin: GitHubStandIn, call: Call) -> Answer:
    """A role's permission as GitHub words it: maintainers write, triagers read."""
    login = call.path["username"]
    # Unseeded: what GitHub answers for anyone on a public repository.
    role = standin.records.permissions.get((known(standin, call), login), "read")
    if role is None:
        raise not_found()
    level = {"maintain": "write", "triage": "read"}.get(role, role)
    user = answers.user(standin, login)
    values: dict[str, Any] = {"permission": level, "role_name": role, "user": user}
    values["user"]["role_name"] = role
    return Answer(200, overlay(example(standin, "repos/get-collaborator-permission-level"), values))


def user_by_id(standin: GitHubStandIn, call: Call) -> Answer:
    login = standin.records.users.get(call.path["account_id"])
    if login is None:
        raise not_found()
    return Answer(200, overlay(example(standin, "users/get-by-id"), answers.user(standin, login)))


def installation_token(standin: GitHubStandIn, call: Call) -> Answer:
    token = f"ghs_{secrets.token_hex(18)}"
    standin.records.installation_tokens.append(token)
    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = {"token": token, "expires_at": expires}
    return Answer(
        201, overlay(example(standin, "apps/create-installation-access-token", 201), values)
    )


def check_runs(standin: GitHubStandIn, call: Call) -> Answer:
    name = known(standin, call)
    ref = call.path["ref"]
    sha = ref if len(ref) == 40 else head_sha(standin.root, name, ref)
    runs = [r for r in standin.records.check_runs if (r.repository, r.head_sha) == (name, sha)]
    if "check_name" in call.query:
        runs = [r for r in runs if r.name == call.query["check_name"]]
    if "status" in call.query:
        runs = [r for r in runs if (r.conclusion is None) != (call.query["status"] == "completed")]
    answered: list[Any] = []
    for run in runs:
        done = run.conclusion is not None
        values = {
            "id": run.id,
            "node_id": f"CR_{run.id}",
            "head_sha": run.head_sha,
            "name": run.name,
            "status": "completed" if done else "in_progress",
            "conclusion": run.conclusion,
            "completed_at": "2026-01-01T00:10:00Z" if done else None,
            "url": f"{standin.url}/repos/{name}/check-runs/{run.id}",
            "html_url": f"{standin.url}/{name}/actions/runs/1/job/{run.id}",
            "details_url": f"{standin.url}/{name}/actions/runs/1/job/{run.id}",
            "output": {"title": run.name, "summary": run.conclusion or "", "text": None},
            "pull_requests": [],
        }
        answered.append(overlay(example(standin, "checks/list-for-ref")["check_runs"][0], values))
    shown, links = page(call, answered)
    return Answer(200, {"total_count": len(answered), "check_runs": shown}, links)


def job_log(standin: GitHubStandIn, call: Call) -> Answer:
    """A redirect to where the log is, as GitHub answers (to a short-lived storage URL)."""
    name = known(standin, call)
    job = call.path["job_id"]
    if not any((r.repository, r.id) == (name, job) for r in standin.records.check_runs):
        raise not_found()
    return Answer(302, None, {"Location": f"{standin.url}/_logs/{job}"})


HANDLERS: dict[str, Callable[[GitHubStandIn, Call], Answer]] = {
    "repos/get": get_repository,
    "repos/get-collaborator-permission-level": permission,
    "users/get-by-id": user_by_id,
    "apps/create-installation-access-token": installation_token,
    "checks/list-for-ref": check_runs,
    "actions/download-job-logs-for-workflow-run": job_log,
}
