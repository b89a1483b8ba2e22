"""A template cannot take its agent into the server's own network unless the operator
lets it: templates are written by an organization's members, while the host's loopback
(an embedded Temporal server that answers anyone there, the API, the database), its
neighbours and the cloud's metadata service are the whole server's."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from taskyard.config import Settings
from taskyard.db.session import session_scope
from taskyard.services import templates, tokens
from tests.conftest import ADMIN_TOKEN
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not installed")

# Through the sandbox's egress proxy, as any HTTP client there goes (a tunnel, as an
# agent's gRPC or git would use), to the server's own Temporal frontend.
KNOCK = """python3 - <<'EOF'
import os, urllib.parse, http.client
proxy = urllib.parse.urlsplit(os.environ["HTTP_PROXY"])
connection = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=10)
connection.request("CONNECT", "127.0.0.1:{port}")
response = connection.getresponse()
print("knock:", response.status, response.read().decode().strip())
EOF"""


def template(name: str, network: str, command: str = "echo hello") -> str:
    return (
        f"name: {name}\nsandbox: bubblewrap\nnetwork: {network}\n"
        f"agent:\n  kind: command\n  command: |\n"
        + "".join(f"    {line}\n" for line in command.splitlines())
    )


@pytest.fixture
def strict_server(settings: Settings) -> Iterator[RunningServer]:
    """A server on the defaults: no non-public address for users, no full network, no
    unsandboxed agents."""
    update = {"outbound_allowed_hosts": "external", "allow_unsandboxed": False}
    configured = settings.model_copy(update=update)
    assert not configured.allow_full_network
    with start_server(configured, ADMIN_TOKEN) as running:
        yield running


def run(
    server: RunningServer, source: str, repository: Path, push: bool = True
) -> dict[str, object]:
    if push:
        response = server.http.post(
            "/api/v1/templates", content=source, headers={"Content-Type": "application/yaml"}
        )
        assert response.status_code == 201, response.text
    workflow = {"name": "once", "stages": [{"key": "code", "agent": {}}]}
    server.http.post("/api/v1/workflows", json=workflow)  # 409 once it exists
    name = source.split("\n", 1)[0].removeprefix("name: ")
    key = server.create_task(
        title="Reach", repository=str(repository), template=name, workflow="once"
    )["key"]
    return server.wait_for(key, "failed", "completed", timeout=90)


@pytest.mark.parametrize(
    ("source", "setting"),
    [
        (template("wide", "{policy: full}"), "FULL_NETWORK"),
        ("name: bare\nsandbox: none\nagent: {kind: command, command: 'true'}\n", "UNSANDBOXED"),
    ],
)
def test_a_template_the_server_does_not_allow_is_refused_when_pushed(
    strict_server: RunningServer, source: str, setting: str
) -> None:
    name = source.split("\n", 1)[0].removeprefix("name: ")
    as_yaml = {"Content-Type": "application/yaml"}
    response = strict_server.http.post("/api/v1/templates", content=source, headers=as_yaml)
    assert response.status_code == 400, response.text
    assert f"TASKYARD_ALLOW_{setting}" in response.json()["error"]["message"]
    assert strict_server.http.get(f"/api/v1/templates/{name}").status_code == 404
    assert not [
        e
        for e in strict_server.http.get("/api/v1/audit").json()["items"]
        if e["action"] == "template.pushed"
    ]


def test_a_stored_template_no_longer_allowed_fails_its_task_at_once(
    strict_server: RunningServer, settings: Settings, remote_repo: Path
) -> None:
    """Pushed while the operator allowed it; the check before each run still holds."""
    source = template("wide", "{policy: full}")
    with session_scope(settings.resolved_database_url) as session:
        principal = tokens.authenticate(session, ADMIN_TOKEN)
        allowed = settings.model_copy(update={"allow_full_network": True})
        templates.push_template(session, principal, source, allowed)
    task = run(strict_server, source, remote_repo, push=False)
    assert task["status"] == "failed"
    assert "TASKYARD_ALLOW_FULL_NETWORK" in str(task["status_message"])
    events = strict_server.events(str(task["key"]))
    assert not [e for e in events if e["kind"] == "output"]  # no agent ever started
    assert len([e for e in events if e["kind"] == "error"]) <= 1  # not retried


def test_listing_the_servers_loopback_does_not_reach_its_temporal(
    strict_server: RunningServer, settings: Settings, remote_repo: Path
) -> None:
    port = urlsplit(f"//{settings.temporal_address}").port
    network = f"{{policy: allowlist, allow: ['127.0.0.1'], ports: [{port}]}}"
    task = run(strict_server, template("near", network, KNOCK.format(port=port)), remote_repo)
    said = [
        e["data"]["line"]
        for e in strict_server.events(str(task["key"]))
        if e["kind"] == "output" and "knock:" in e["data"].get("line", "")
    ]
    assert said and said[0].startswith("knock: 403 taskyard egress proxy: 127.0.0.1 is 127.0.0.1")
    assert "TASKYARD_OUTBOUND_ALLOWED_HOSTS" in said[0]
