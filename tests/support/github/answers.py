"""How the GitHub stand-in answers: GitHub's error shape, and objects built from
GitHub's own examples in its description with the stand-in's values laid over."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import URL

from tests.support.github.checks import Call

if TYPE_CHECKING:
    from tests.support.github.standin import GitHubStandIn

DOCS = "https://docs.github.com/rest"
MAX_BODY = 65536  # characters of an issue, comment or pull request body


@dataclass
class Answer:
    status: int
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class GitHubError(Exception):
    """An answer GitHub gives as an error: ``{"message", "documentation_url", "status"}``."""

    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors

    def answer(self, headers: dict[str, str] | None = None) -> Answer:
        body: dict[str, Any] = {"message": self.message, "documentation_url": DOCS}
        if self.errors is not None:
            body["errors"] = self.errors
        body["status"] = str(self.status)
        return Answer(self.status, body, headers or {})


def not_found() -> GitHubError:
    return GitHubError(404, "Not Found")


def bounded(resource: str, text: str | None) -> None:
    """GitHub's refusal of a body over its size."""
    if text is not None and len(text) > MAX_BODY:
        message = f"body is too long (maximum is {MAX_BODY} characters)"
        error = {"resource": resource, "code": "custom", "field": "body", "message": message}
        raise GitHubError(422, "Validation Failed", [error])


def page(call: Call, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """The page of ``items`` the call asks for (30 by default), and GitHub's ``Link``
    header to the next and last pages."""
    size, number = call.query.get("per_page", 30), call.query.get("page", 1)
    last = max(1, -(-len(items) // size))
    links = []
    if number < last:
        for rel, to in (("next", number + 1), ("last", last)):
            links.append(f'<{URL(call.url).include_query_params(page=to)}>; rel="{rel}"')
    return items[(number - 1) * size : number * size], {"Link": ", ".join(links)} if links else {}


def overlay(base: Any, values: dict[str, Any]) -> Any:
    """``base`` with ``values`` laid over it, nested objects merged key by key."""
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            overlay(base[key], value)
        else:
            base[key] = value
    return base


def example(standin: GitHubStandIn, operation_id: str, status: int = 200) -> Any:
    return standin.description.example(standin.description.by_id[operation_id], status)


def user(standin: GitHubStandIn, login: str) -> dict[str, Any]:
    """A simple-user for ``login`` (its id is the one seeded, else derived from the login)."""
    known = {name: id for id, name in standin.records.users.items()}
    return {
        "login": login,
        "id": known.get(login, sum(login.encode()) + 100),
        "type": "Bot" if login.endswith("[bot]") else "User",
        "url": f"{standin.url}/users/{login}",
        "html_url": f"{standin.url}/{login}",
    }


def repository(standin: GitHubStandIn, full_name: str) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "name": name,
        "full_name": full_name,
        "owner": user(standin, owner),
        "private": False,
        "fork": False,
        "default_branch": "main",
        "html_url": f"{standin.url}/{full_name}",
        "url": f"{standin.url}/repos/{full_name}",
        "clone_url": f"{standin.url}/{full_name}.git",
    }
