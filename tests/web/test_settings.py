"""The settings pages: your account and password, API tokens, secrets, linked accounts.

Each page works for its viewer, refuses a change posted without its CSRF token, shows
only the viewer's organization, and says what went wrong in place.
"""

from __future__ import annotations

import re

import httpx
import pytest

from taskyard.db.models import ApiToken, AuditEntry, User
from taskyard.db.session import session_scope
from taskyard.services import web_sessions
from tests.conftest import ADMIN_TOKEN
from tests.web import visitors
from tests.web.visitors import Site

site = visitors.site  # the fixture

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple of the battery horse"


def _password(site: Site, username: str, password: str = PASSWORD) -> None:
    with session_scope(site.settings.resolved_database_url) as session:
        user = session.query(User).filter_by(username=username).one()
        web_sessions.set_password(session, user, password)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Every change a settings page makes, with a body it would accept.
CHANGES = [
    ("/settings/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    ("/settings/tokens", {"name": "ci", "scope:tasks:read": "on"}),
    ("/settings/tokens/1/revoke", {}),
    ("/settings/secrets", {"name": "NPM_TOKEN", "value": "s3cret"}),
    ("/settings/secrets/NPM_TOKEN/delete", {}),
    ("/settings/external-auth/github", {}),
    ("/settings/notifications/channels", {"kind": "email", "name": "m", "address": "a@b.org"}),
    ("/settings/notifications/channels/1", {"enabled": "false"}),
    ("/settings/notifications/channels/1/delete", {}),
    ("/settings/notifications/preferences", {"event:task.created": "on"}),
    ("/templates", {"source": "name: t\nagent:\n  kind: command\n"}),
    ("/workflows", {"source": "name: w\nstages:\n  - key: done\n"}),
    ("/workflows/default/default", {"team": "TY"}),
]


def test_no_change_is_made_without_the_forms_csrf_token(site: Site) -> None:
    visitor = site.visitor()
    before = site.api.get("/api/v1/audit").json()["items"]
    for path, data in CHANGES:
        for token in (None, "0" * 64):
            fields = data if token is None else {**data, "csrf_token": token}
            refused = visitor.post(path, fields, csrf=False)
            assert refused.status_code == 403, (path, refused.text)
            assert "security token is missing or stale" in refused.text
    assert site.api.get("/api/v1/audit").json()["items"] == before
    assert site.api.get("/api/v1/secrets").json() == []


def test_changing_your_password_needs_the_current_one_and_signs_out_other_browsers(
    site: Site,
) -> None:
    bob = site.person("bob")
    _password(site, "bob")
    here, elsewhere = site.visitor(bob), site.visitor(bob)
    form = {"current_password": "wrong password!", "new_password": NEW_PASSWORD}
    wrong = here.post("/settings/password", {**form, "confirm_password": NEW_PASSWORD})
    assert wrong.status_code == 403
    assert 'role="alert"' in wrong.text and "current password is not right" in wrong.text
    differ = here.post(
        "/settings/password",
        {**form, "current_password": PASSWORD, "confirm_password": "something else!"},
    )
    assert differ.status_code == 400 and "differ" in differ.text
    short = here.post(
        "/settings/password",
        {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
    )
    assert short.status_code == 400 and "12 to 1024 characters" in short.text

    changed = here.post(
        "/settings/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303
    assert "Password changed" in here.get(changed.headers["location"]).text
    assert elsewhere.get("/settings").status_code == 303  # sent to sign in again
    assert site.api.get("/api/v1/users", headers=_bearer(bob)).status_code == 200  # tokens stay
    again = site.visitor(bob)
    assert again.sign_in(username="bob", password=PASSWORD).status_code == 401
    assert again.sign_in(username="bob", password=NEW_PASSWORD).status_code == 303
    with session_scope(site.settings.resolved_database_url) as session:
        entry = session.query(AuditEntry).filter_by(action="user.password_set").one()
        assert (entry.actor, entry.target, entry.detail) == ("bob", "bob", {"by": "self"})


def test_the_password_api_needs_the_current_password(site: Site) -> None:
    bob = site.person("bob")
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    none_yet = site.api.put("/api/v1/users/me/password", json=body, headers=_bearer(bob))
    assert none_yet.status_code == 400
    assert "taskyard admin set-password bob" in none_yet.json()["error"]["message"]
    _password(site, "bob")
    wrong = {**body, "current_password": "not it at all"}
    refused = site.api.put("/api/v1/users/me/password", json=wrong, headers=_bearer(bob))
    assert refused.status_code == 403
    done = site.api.put("/api/v1/users/me/password", json=body, headers=_bearer(bob))
    assert done.status_code == 204
    visitor = site.visitor()
    assert visitor.sign_in(username="bob", password=NEW_PASSWORD).status_code == 303


def test_a_token_is_shown_once_with_the_scopes_chosen_and_can_be_revoked(site: Site) -> None:
    bob = site.person("bob")
    visitor = site.visitor(bob)
    created = visitor.post(
        "/settings/tokens", {"name": "ci", "scope:tasks:read": "on", "scope:users:read": "on"}
    )
    assert created.status_code == 200 and "shown this once" in created.text
    shown = re.search(r'value="(ty_[^"]+)"', created.text)
    assert shown, created.text
    value = shown.group(1)
    listed = visitor.get("/settings/tokens").text
    assert value not in listed and value[:10] in listed
    assert "<td>ci</td>" in listed
    me = site.api.get("/api/v1/tokens", headers=_bearer(value))
    assert me.status_code == 403  # tasks:read and users:read only, as chosen
    assert site.api.get("/api/v1/users", headers=_bearer(value)).status_code == 200

    beyond = visitor.post("/settings/tokens", {"name": "root", "scope:admin": "on"})
    assert beyond.status_code == 403 and "cannot grant scopes you do not hold: admin" in beyond.text
    assert 'value="root"' in beyond.text  # the form keeps what was typed
    unnamed = visitor.post("/settings/tokens", {"name": " ", "scope:tasks:read": "on"})
    assert unnamed.status_code == 400 and "must not be empty" in unnamed.text
    assert visitor.post("/settings/tokens", {"name": "x" * 101}).status_code == 400

    with session_scope(site.settings.resolved_database_url) as session:
        token_id = session.query(ApiToken).filter_by(name="ci").one().id
    revoked = visitor.post(f"/settings/tokens/{token_id}/revoke")
    assert revoked.status_code == 303
    assert site.api.get("/api/v1/users", headers=_bearer(value)).status_code == 401
    # The name's cell: a token's random prefix may hold the letters "ci" too.
    assert "<td>ci</td>" not in visitor.get("/settings/tokens").text


def test_admins_see_and_revoke_their_organizations_tokens_and_no_one_elses(
    site: Site,
) -> None:
    bob = site.person("bob")
    eve = site.person("eve", ["admin"], org="rival")
    with session_scope(site.settings.resolved_database_url) as session:
        bob_token = session.query(ApiToken).filter_by(name="bob's").one().id
        eve_token = session.query(ApiToken).filter_by(name="eve's").one().id
    admin = site.visitor()
    page = admin.get("/settings/tokens").text
    assert "bob&#39;s" in page and "eve" not in page
    assert admin.post(f"/settings/tokens/{eve_token}/revoke").status_code == 404
    assert site.api.get("/api/v1/tokens", headers=_bearer(eve)).status_code == 200

    person = site.visitor(bob)
    assert "admin" not in person.get("/settings/tokens").text.split("<h2>Create")[0]
    assert person.post(f"/settings/tokens/{bob_token - 1}/revoke").status_code == 404

    assert admin.post(f"/settings/tokens/{bob_token}/revoke").status_code == 303
    assert site.api.get("/api/v1/users", headers=_bearer(bob)).status_code == 401
    rival = site.visitor(eve).get("/settings/tokens").text
    assert "bob" not in rival and "ty_admin" not in rival


def test_secrets_are_named_never_shown_and_kept_apart(site: Site) -> None:
    admin = site.visitor()
    saved = admin.post("/settings/secrets", {"name": "NPM_TOKEN", "value": "hunter2-value"})
    assert saved.status_code == 303
    page = admin.get(saved.headers["location"]).text
    assert "Set secret NPM_TOKEN." in page and "NPM_TOKEN" in page and "hunter2" not in page

    bad = admin.post("/settings/secrets", {"name": "npm token", "value": "hunter3-value"})
    assert bad.status_code == 400 and "UPPER_SNAKE_CASE" in bad.text
    assert "hunter3" not in bad.text  # not even back into the form
    empty = admin.post("/settings/secrets", {"name": "EMPTY", "value": ""})
    assert empty.status_code == 400 and "must not be empty" in empty.text

    rival = site.visitor(site.person("eve", ["admin"], org="rival")).get("/settings/secrets")
    assert rival.status_code == 200 and "NPM_TOKEN" not in rival.text
    bob = site.visitor(site.person("bob"))
    refused = bob.get("/settings/secrets")
    assert refused.status_code == 403 and "secrets:write" in refused.text
    assert "NPM_TOKEN" not in refused.text
    assert bob.post("/settings/secrets/NPM_TOKEN/delete").status_code == 403

    deleted = admin.post("/settings/secrets/NPM_TOKEN/delete")
    assert deleted.status_code == 303
    assert site.api.get("/api/v1/secrets").json() == []
    gone = admin.post("/settings/secrets/NPM_TOKEN/delete")
    assert gone.status_code == 404 and "not found" in gone.text


def test_linked_accounts_are_listed_and_linking_says_what_is_missing(site: Site) -> None:
    linked = {"provider": "github", "external_id": "4242", "login": "alice-gh"}
    assert site.api.post("/api/v1/users/admin/identities", json=linked).status_code == 201
    admin = site.visitor()
    page = admin.get("/settings/external-auth")
    assert page.status_code == 200 and "alice-gh" in page.text and "4242" in page.text
    assert 'aria-current="page">Linked accounts' in page.text
    rival = site.visitor(site.person("eve", ["admin"], org="rival"))
    assert "alice-gh" not in rival.get("/settings/external-auth").text
    started = admin.post("/settings/external-auth/github")
    assert started.status_code == 403  # this server has no GitHub OAuth App
    assert "TASKYARD_GITHUB_OAUTH_CLIENT_ID" in started.text and 'role="alert"' in started.text


@pytest.mark.parametrize(
    "path",
    ["/settings", "/settings/tokens", "/settings/secrets", "/settings/external-auth"],
)
def test_settings_pages_send_strangers_to_sign_in(site: Site, path: str) -> None:
    with httpx.Client(timeout=30, base_url=site.url, headers={"Accept": "text/html"}) as stranger:
        asked = stranger.get(path)
    assert asked.status_code == 303 and asked.headers["location"].startswith("/login?next=")


def test_a_token_without_the_scope_is_told_so_on_the_page(site: Site) -> None:
    reader = site.visitor(site.person("reader", ["tasks:read"]))
    page = reader.get("/settings/tokens")
    assert page.status_code == 403 and "tokens:read" in page.text
    assert ADMIN_TOKEN[:10] not in page.text
