"""The server's forge credentials go only to origins its operator allows.

An organization's admin names a forge's URLs; the token (or the GitHub App's signed
tokens) is the whole server's. A site elsewhere is refused when it is set, and again
wherever it is used, before a single request leaves the server.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from taskyard.config import Settings
from taskyard.db.models import ForgeSetting
from taskyard.db.session import session_scope
from taskyard.forges.github import GitHubForge
from taskyard.model.errors import InvalidInput
from taskyard.model.forge import ForgeSite, origin
from tests.conftest import ADMIN_TOKEN
from tests.forges.conftest import TOKEN
from tests.support.server import start_server

ALLOWED = "https://git.example.com"


class Listener:
    """A loopback port that counts the connections made to it and answers none."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.sock.close()


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"forge_origins": ALLOWED})


@pytest.mark.parametrize(
    "site",
    [
        {"url": "http://git.example.com"},  # another scheme: the token in clear text
        {"url": "https://git.example.com:8443"},  # another port, maybe another server
        {"url": "https://git.example.com.attacker.example"},
        {"api_url": "https://attacker.example/api/v3"},
        {"url": ALLOWED, "api_url": "http://169.254.169.254/latest"},
        {"api_url": "https://api.github.com.attacker.example"},
    ],
)
def test_an_organization_cannot_send_the_servers_credentials_elsewhere(
    api: httpx.Client, site: dict[str, str]
) -> None:
    body = {"kind": "github", **site}
    for path in ("/api/v1/forges/default", "/api/v1/forges/repositories/acme/shop"):
        response = api.put(path, json=body)
        assert response.status_code == 400, response.text
        message = response.json()["error"]["message"]
        assert "TASKYARD_FORGE_ORIGINS" in message and ALLOWED in message
    shown = api.get("/api/v1/forges").json()
    assert shown["default"] == {"kind": "github", "url": "", "api_url": ""}
    assert shown["repositories"] == []


@pytest.mark.parametrize(
    "site",
    [
        {"url": "https://GIT.example.com:443/", "api_url": "https://git.example.com/api/v3"},
        {"url": "https://github.com", "api_url": "https://api.github.com"},  # the defaults
        {"url": "", "api_url": ""},
    ],
)
def test_allowed_origins_are_compared_as_origins(api: httpx.Client, site: dict[str, str]) -> None:
    response = api.put("/api/v1/forges/default", json={"kind": "github", **site})
    assert response.status_code == 200, response.text


def test_a_site_saved_before_the_rule_fails_its_task_without_a_request(
    settings: Settings, listener: Listener
) -> None:
    """A setting written when any URL was taken (or before the operator narrowed the list)
    stops its task at once, saying why; nothing reaches the site, not even a connection."""
    configured = settings.model_copy(update={"github_token": TOKEN})
    with start_server(configured, ADMIN_TOKEN) as server:
        with session_scope(settings.resolved_database_url) as session:
            session.add(ForgeSetting(org_id=1, repository="", kind="github", url=listener.url))
        task = server.create_task(title="Leak", repository="acme/shop")
        server.wait_for(task["key"], "failed")
        done = server.task(task["key"])
        assert "TASKYARD_FORGE_ORIGINS" in done["status_message"]
        assert listener.url in done["status_message"]
        attempts = [e for e in server.events(task["key"]) if e["kind"] == "error"]
        assert len(attempts) <= 1  # refused at once, not retried
    assert listener.connections == 0


def test_every_credential_path_checks_the_site(tmp_path: Path) -> None:
    forge = GitHubForge()
    elsewhere = ForgeSite("github", api_url="https://attacker.example")
    app = Settings(data_dir=tmp_path, github_app_id=1, github_app_private_key="unused")
    token = Settings(data_dir=tmp_path, github_token=TOKEN)
    anonymous = Settings(data_dir=tmp_path)
    for settings in (app, token, anonymous):  # an App's signed token would be worst of all
        with pytest.raises(InvalidInput, match="TASKYARD_FORGE_ORIGINS"):
            forge.credentials(elsewhere, settings)
        with pytest.raises(InvalidInput, match="TASKYARD_FORGE_ORIGINS"):
            forge.remote("acme/shop", ForgeSite("github", "https://attacker.example"), settings)
    with pytest.raises(InvalidInput, match="TASKYARD_FORGE_ORIGINS"):
        forge.connect(elsewhere, token)
    # The REST API's own setting is a default origin: an operator's choice.
    moved = Settings(data_dir=tmp_path, github_token=TOKEN, github_api_url="https://ghe.example")
    assert forge.credentials(ForgeSite("github", api_url="https://ghe.example/api/v3"), moved)


def test_the_setting_takes_origins_only() -> None:
    listed = Settings(forge_origins=" https://a.example , http://b.example:8080 ")
    assert listed.allowed_forge_origins == {"https://a.example", "http://b.example:8080"}
    for wrong, hint in [
        ("https://a.example/api", "https://a.example"),
        ("https://a.example:443", "https://a.example"),
        ("ftp://a.example", "not an http(s) URL"),
        ("a.example", "not an http(s) URL"),
    ]:
        with pytest.raises(ValidationError, match=re.escape(f"TASKYARD_FORGE_ORIGINS: '{wrong}'")):
            Settings(forge_origins=wrong)
        with pytest.raises(ValidationError, match=re.escape(hint)):
            Settings(forge_origins=wrong)
    assert origin("HTTPS://[::1]:443/x") == "https://[::1]"
    assert origin("http://Git.Example.com.:8080") == "http://git.example.com:8080"
