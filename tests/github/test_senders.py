"""Who may start a task from GitHub: the sender's linked identity and, asked of the GitHub
stand-in at that moment, their permission on the repository."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from taskyard.config import Settings
from taskyard.db.session import get_sessionmaker, session_scope
from taskyard.forges.github_http import MAX_TRIES
from taskyard.model.errors import Unavailable
from taskyard.services import teams, users
from taskyard.services.access import Principal
from taskyard.services.github_senders import Sender, authorize
from tests.api.conftest import api_settings
from tests.forges.conftest import TOKEN, github
from tests.support.github.standin import GitHubStandIn

__all__ = ["api_settings", "github"]

PUBLIC = "https://taskyard.example"
REPO = "acme/shop"


def admin_of(org_id: int) -> Principal:
    return Principal(user_id=0, org_id=org_id, username="admin", scopes=frozenset({"admin"}))


def add_linked(settings: Settings, org_id: int, username: str, github_id: int, login: str) -> None:
    with session_scope(settings.resolved_database_url) as session:
        users.create_user(session, org_id, username)
        users.link_identity(session, admin_of(org_id), username, "github", str(github_id), login)


@pytest.fixture
def settings(api_settings: Settings, github: GitHubStandIn) -> Settings:
    add_linked(api_settings, 1, "alice", 123, "alice")
    github.records.users[123] = "alice"
    return api_settings.model_copy(
        update={"github_token": TOKEN, "github_api_url": github.url, "public_url": PUBLIC + "/"}
    )


@pytest.fixture
def sessions(settings: Settings) -> Callable[[], Session]:
    return get_sessionmaker(settings.resolved_database_url, write=False)


def person(github_id: int, login: str, kind: str = "User") -> dict[str, Any]:
    return {"id": github_id, "login": login, "type": kind}


async def check(
    sessions: Callable[[], Session], settings: Settings, sender: dict[str, Any], org_id: int = 1
) -> Sender:
    return await authorize(sessions, settings, org_id, REPO, sender)


@pytest.mark.parametrize("role", ["write", "maintain", "admin"])
async def test_a_linked_person_who_may_write_is_let_through(
    settings: Settings, sessions: Callable[[], Session], github: GitHubStandIn, role: str
) -> None:
    github.records.permissions[(REPO, "alice")] = role
    sender = await check(sessions, settings, person(123, "alice"))
    assert sender.user is not None and sender.user.username == "alice"
    assert sender.refusal == ""
    [asked] = [r for r in github.records.requests if "/permission" in r.url]
    assert asked.url.endswith("/repos/acme/shop/collaborators/alice/permission")
    assert asked.headers["authorization"] == f"Bearer {TOKEN}"


async def test_an_unlinked_person_is_told_where_to_link(
    settings: Settings, sessions: Callable[[], Session], github: GitHubStandIn
) -> None:
    sender = await check(sessions, settings, person(456, "mallory"))
    assert sender.user is None
    link = f"{PUBLIC}/settings/external-auth"
    assert sender.refusal == f"No taskyard user found with GitHub user ID 456: link it at {link}"
    assert not github.records.requests  # GitHub is not asked about strangers


@pytest.mark.parametrize("role", ["read", "triage", "none"])
async def test_a_linked_person_who_may_only_read_is_refused(
    settings: Settings, sessions: Callable[[], Session], github: GitHubStandIn, role: str
) -> None:
    github.records.permissions[(REPO, "alice")] = role
    sender = await check(sessions, settings, person(123, "alice"))
    assert sender.user is None
    assert sender.refusal.startswith(f"GitHub user alice has no write access to {REPO}")
    assert f"their role is {role}" in sender.refusal
    assert "grant them the write, maintain or admin role" in sender.refusal


async def test_someone_github_does_not_know_on_the_repository_is_refused(
    settings: Settings, sessions: Callable[[], Session], github: GitHubStandIn
) -> None:
    github.records.permissions[(REPO, "alice")] = None  # GitHub answers 404
    sender = await check(sessions, settings, person(123, "alice"))
    assert sender.user is None
    assert sender.refusal.startswith(f"GitHub user alice has no write access to {REPO}: ")
    assert "not know them as a collaborator" in sender.refusal


async def test_a_login_that_changed_hands_is_refused(
    settings: Settings, sessions: Callable[[], Session], github: GitHubStandIn
) -> None:
    # Account 123 was renamed and someone else took the login "alice" on GitHub.
    github.records.users = {999: "alice"}
    github.records.permissions[(REPO, "alice")] = "admin"
    sender = await check(sessions, settings, person(123, "alice"))
    assert sender.user is None
    assert "now belongs to another account than GitHub user ID 123" in sender.refusal


@pytest.mark.parametrize(
    "bot", [person(77, "dependabot[bot]", "Bot"), person(77, "ci-helper", "Bot")]
)
async def test_bots_are_refused_unless_allowed_by_name(
    settings: Settings, sessions: Callable[[], Session], bot: dict[str, Any]
) -> None:
    add_linked(settings, 1, "robot", 77, bot["login"])  # even linked: not allowed
    sender = await check(sessions, settings, bot)
    assert sender.user is None
    assert sender.refusal == (
        f"The GitHub bot {bot['login']} may not start taskyard tasks: a server admin can "
        "allow it by adding it to TASKYARD_GITHUB_ALLOWED_BOTS."
    )


async def test_an_allowed_bot_needs_a_linked_identity_but_no_collaborator_role(
    settings: Settings, sessions: Callable[[], Session], github: GitHubStandIn
) -> None:
    allowed = Settings.model_validate(
        {**settings.model_dump(), "github_allowed_bots": " Renovate , other[bot]"}
    )
    assert allowed.github_allowed_bots == ["Renovate", "other[bot]"]
    renovate = person(29139614, "renovate[bot]", "Bot")
    unlinked = await check(sessions, allowed, renovate)
    assert unlinked.refusal.startswith("No taskyard user found with GitHub user ID 29139614")
    add_linked(settings, 1, "renovate", 29139614, "renovate[bot]")
    linked = await check(sessions, allowed, renovate)
    assert linked.user is not None and linked.user.username == "renovate"
    assert not [r for r in github.records.requests if "/permission" in r.url]


async def test_a_github_account_linked_in_one_organization_means_nothing_in_another(
    settings: Settings, sessions: Callable[[], Session], github: GitHubStandIn
) -> None:
    github.records.permissions[(REPO, "alice")] = "admin"
    with session_scope(settings.resolved_database_url) as session:
        rival = teams.create_organization(session, "rival", "Rival Inc", "*").id
    sender = await check(sessions, settings, person(123, "alice"), org_id=rival)
    assert sender.user is None
    assert sender.refusal.startswith("No taskyard user found with GitHub user ID 123")
    add_linked(settings, rival, "alice2", 123, "alice")
    theirs = await check(sessions, settings, person(123, "alice"), org_id=rival)
    assert theirs.user is not None and (theirs.user.username, theirs.user.org_id) == (
        "alice2",
        rival,
    )


@pytest.mark.parametrize("sender", [{}, {"id": "123", "login": "alice"}, {"id": True}])
async def test_a_sender_without_an_id_is_refused(
    settings: Settings, sessions: Callable[[], Session], sender: dict[str, Any]
) -> None:
    refused = await check(sessions, settings, sender)
    assert refused.user is None and "without a sender id" in refused.refusal


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("", "has no GitHub credentials for it (an admin sets TASKYARD_GITHUB_TOKEN"),
        ("ghp_wrong", "credentials are wrong or expired: check TASKYARD_GITHUB_TOKEN"),
    ],
)
async def test_taskyards_own_credential_problems_are_explained(
    settings: Settings, sessions: Callable[[], Session], token: str, says: str
) -> None:
    sender = await check(
        sessions, settings.model_copy(update={"github_token": token}), person(123, "alice")
    )
    assert sender.user is None
    assert sender.refusal.startswith("taskyard cannot check alice's access to acme/shop")
    assert says in sender.refusal


async def test_rate_limits_are_waited_out_and_then_reported_as_unavailable(
    settings: Settings, sessions: Callable[[], Session], github: GitHubStandIn
) -> None:
    github.records.permissions[(REPO, "alice")] = "write"
    github.throttle(times=1, retry_after=0)
    sender = await check(sessions, settings, person(123, "alice"))
    assert sender.user is not None
    github.throttle(times=MAX_TRIES, retry_after=0)
    with pytest.raises(Unavailable, match="rate limit"):
        await check(sessions, settings, person(123, "alice"))
