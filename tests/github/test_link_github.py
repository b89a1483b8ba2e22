"""People link their own GitHub account: the API's one-time URL, then a browser through
the GitHub stand-in's OAuth web flow and back, against a real server on a random port."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import update

from taskyard.api.app import create_app
from taskyard.config import Settings
from taskyard.db.models import OAuthState
from taskyard.db.session import session_scope
from taskyard.services.users import user_for_identity
from tests.api.conftest import api_settings, token_with
from tests.cli.test_cli_client import Cli
from tests.conftest import ADMIN_TOKEN
from tests.forges.conftest import github
from tests.support.github.standin import GitHubStandIn
from tests.support.server import serve_app

__all__ = ["api_settings", "github"]


@dataclass
class Site:
    api: httpx.Client  # as the admin
    settings: Settings
    github: GitHubStandIn
    alice: str  # alice's token: tasks:write only

    def link_url(self, token: str | None = None) -> str:
        response = self.api.post(
            "/api/v1/identities/github/link",
            headers={"Authorization": f"Bearer {token or self.alice}"},
        )
        assert response.status_code == 200, response.text
        url = str(response.json()["url"])
        assert url.startswith(f"{self.api.base_url}/settings/external-auth/github/start?state=")
        return url

    def linked(self, github_id: int) -> str | None:
        with session_scope(self.settings.resolved_database_url, write=False) as session:
            user = user_for_identity(session, 1, "github", str(github_id))
            return user.username if user else None


@pytest.fixture
def site(api_settings: Settings, github: GitHubStandIn) -> Iterator[Site]:
    settings = api_settings.model_copy(
        update={
            "github_oauth_client_id": github.oauth.client_id,
            "github_oauth_client_secret": github.oauth.client_secret,
        }
    )
    app = create_app(settings)
    with serve_app(app, ADMIN_TOKEN) as api:
        # Links point at this server, as `taskyard serve` makes them.
        settings = settings.model_copy(update={"public_url": str(api.base_url)})
        app.state.settings = settings
        forge = {"kind": "github", "url": github.url, "api_url": github.url}
        assert api.put("/api/v1/forges/default", json=forge).status_code == 200
        assert api.post("/api/v1/users", json={"username": "alice"}).status_code == 201
        alice = token_with(api, "tasks:write", user="alice")
        github.records.users[4242] = "alice-gh"
        yield Site(api, settings, github, alice)


def browse(url: str) -> httpx.Response:
    """A browser following every redirect, with no token of its own."""
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        return browser.get(url)


def test_a_person_links_their_github_account_once(site: Site) -> None:
    url = site.link_url()
    site.github.oauth.signs_in = "alice-gh"
    page = browse(url)
    assert page.status_code == 200, page.text
    assert "GitHub account alice-gh (ID 4242) is now linked to taskyard user alice" in page.text
    assert site.linked(4242) == "alice"
    hops = [str(r.url) for r in page.history]
    authorize = urlsplit(hops[1])
    assert f"{authorize.scheme}://{authorize.netloc}" == site.github.url
    query = parse_qs(authorize.query)
    assert query["client_id"] == [site.github.oauth.client_id]
    assert query["redirect_uri"] == [f"{site.api.base_url}/settings/external-auth/github/callback"]
    assert query["state"] == parse_qs(urlsplit(url).query)["state"]
    [exchange] = [r for r in site.github.records.requests if r.url.endswith("/access_token")]
    assert exchange.headers["accept"] == "application/json"
    audit = site.api.get("/api/v1/audit", params={"action": "identity.linked"}).json()
    [entry] = [e for e in audit["items"] if e["action"] == "identity.linked"]
    assert (entry["actor"], entry["target"]) == ("alice", "alice")
    assert entry["detail"] == {
        "provider": "github",
        "external_id": "4242",
        "login": "alice-gh",
        "via": "oauth",
    }

    replayed = browse(hops[-1])  # GitHub's redirect back, again: the state was spent
    assert replayed.status_code == 400
    assert "This link is not known: it was used already" in replayed.text
    again = browse(url)
    assert again.status_code == 400
    assert "This link is not known: it was used already" in again.text
    assert "taskyard account link-github" in again.text

    relinked = browse(site.link_url())
    assert relinked.status_code == 200
    assert "was already linked to taskyard user alice" in relinked.text


def test_the_cli_prints_the_url(site: Site) -> None:
    printed = Cli(str(site.api.base_url), site.alice)("account", "link-github").stdout
    assert printed.startswith("Open this URL in a browser to link your GitHub account:\n")
    url = printed.splitlines()[1]
    quiet = Cli(str(site.api.base_url), site.alice)("account", "link-github", "-q").stdout
    assert quiet.strip() != url  # a new one each time
    site.github.oauth.signs_in = "alice-gh"
    assert browse(url).status_code == 200
    assert site.linked(4242) == "alice"


def test_an_expired_link_is_refused(site: Site) -> None:
    url = site.link_url()
    site.github.oauth.signs_in = "alice-gh"
    with session_scope(site.settings.resolved_database_url) as session:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.execute(update(OAuthState).values(expires_at=past))
    page = browse(url)
    assert page.status_code == 400
    assert "This link expired: it is good for ten minutes." in page.text
    assert site.linked(4242) is None


def test_a_state_taskyard_did_not_make_is_refused(site: Site) -> None:
    site.link_url()
    site.github.oauth.signs_in = "alice-gh"
    for path in (
        "/settings/external-auth/github/start?state=forged",
        "/settings/external-auth/github/callback?state=forged&code=abc",
        "/settings/external-auth/github/callback",
        f"/settings/external-auth/github/callback?state={'x' * 101}&code=abc",
    ):
        page = browse(f"{site.api.base_url}{path}")
        assert page.status_code == 400, path
        assert "text/html" in page.headers["content-type"]
    assert site.linked(4242) is None


def test_an_account_linked_to_someone_else_is_refused(site: Site) -> None:
    site.api.post("/api/v1/users", json={"username": "bob"})
    linked = {"provider": "github", "external_id": "4242", "login": "alice-gh"}
    assert site.api.post("/api/v1/users/bob/identities", json=linked).status_code == 201
    site.github.oauth.signs_in = "alice-gh"
    page = browse(site.link_url())
    assert page.status_code == 409
    assert "GitHub account alice-gh (ID 4242) is already linked to another taskyard user" in (
        page.text
    )
    assert "bob" not in page.text
    assert site.linked(4242) == "bob"


def test_a_code_github_does_not_accept_is_explained(site: Site) -> None:
    with httpx.Client(timeout=30) as browser:
        start = browser.get(site.link_url())
        assert start.status_code == 302
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        callback = f"{site.api.base_url}/settings/external-auth/github/callback"
        page = browser.get(callback, params={"state": state, "code": "made-up"})
    assert page.status_code == 400
    assert "GitHub did not accept the sign-in (The code passed is incorrect or expired.)" in (
        page.text
    )
    assert site.linked(4242) is None


def test_a_wrong_client_secret_names_the_settings(site: Site) -> None:
    site.github.oauth.client_secret = "rotated"
    site.github.oauth.signs_in = "alice-gh"
    page = browse(site.link_url())
    assert page.status_code == 400
    assert "TASKYARD_GITHUB_OAUTH_CLIENT_SECRET" in page.text


def test_a_person_who_cancels_at_github_is_told(site: Site) -> None:
    page = browse(site.link_url())  # signs_in is None: they cancel
    assert page.status_code == 400
    assert "GitHub did not sign you in (access_denied)" in page.text


def test_without_an_oauth_app_people_are_sent_to_an_admin(
    api_settings: Settings, github: GitHubStandIn
) -> None:
    with serve_app(create_app(api_settings), ADMIN_TOKEN) as api:
        refused = api.post("/api/v1/identities/github/link")
        assert refused.status_code == 403
        assert "TASKYARD_GITHUB_OAUTH_CLIENT_ID" in refused.json()["error"]["message"]
        assert "taskyard users link" in refused.json()["error"]["message"]
        page = api.get("/settings/external-auth")
        assert page.status_code == 200
        assert "taskyard account link-github" in page.text
