"""Plug-ins from a distribution of their own, on real parts from end to end.

``echo/`` is a third party's package: an agent kind (``echo``) and a sandbox
provider (``marked``), declared as entry points in its ``pyproject.toml``. It is
installed as any distribution is (uv builds a wheel and unpacks it, ``.dist-info``
and all, into a directory on ``sys.path``) and taskyard finds it through the same
entry-point groups its own built-ins come from: no taskyard module is edited and
nothing is registered by hand. Then tasks run with it, through the API, Temporal,
git and the local forge.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from taskyard.agents.registry import AGENT_ADAPTERS
from taskyard.agents.toolcache import find_uv
from taskyard.workspaces.providers import SANDBOX_PROVIDERS
from tests.conftest import git
from tests.support.server import RunningServer

PACKAGE = Path(__file__).resolve().parent / "echo"
JUST_CODE = {"name": "just-code", "stages": [{"key": "code", "agent": {}, "deliver": True}]}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plug-in package, installed into a directory of its own."""
    target = tmp_path_factory.mktemp("site")
    install = [find_uv(), "pip", "install", "--quiet", "--offline", "--no-deps"]
    subprocess.run([*install, "--target", str(target), str(PACKAGE)], check=True)
    assert list(target.glob("taskyard_echo-*.dist-info/entry_points.txt"))
    return target


def reload_registries() -> None:
    AGENT_ADAPTERS.reload()
    SANDBOX_PROVIDERS.reload()


@contextmanager
def installing(site: Path) -> Iterator[None]:
    """The plug-in on ``sys.path``, as if installed into the environment, then gone."""
    sys.path.insert(0, str(site))
    reload_registries()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m.partition(".")[0] == "taskyard_echo"]:
            del sys.modules[name]
        reload_registries()


@pytest.fixture
def installed(site: Path) -> Iterator[None]:
    with installing(site):
        yield


def push(server: RunningServer, template: str) -> None:
    response = server.http.post(
        "/api/v1/templates", content=template, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text
    assert server.http.post("/api/v1/workflows", json=JUST_CODE).status_code == 201


def delivered(server: RunningServer, key: str, remote: Path) -> dict[str, str]:
    """The files of the task's branch on the remote, by name, once it completed."""
    task = server.wait_for(key, "completed", "failed")
    assert task["status"] == "completed", task["status_message"]
    names = git("ls-tree", "--name-only", task["branch"], cwd=remote).split()
    return {name: git("show", f"{task['branch']}:{name}", cwd=remote) for name in names}


def test_an_installed_agent_kind_runs_a_task(
    installed: None, server: RunningServer, remote_repo: Path
) -> None:
    assert "echo" in AGENT_ADAPTERS.kinds()
    push(server, "name: echoing\nsandbox: none\nagent:\n  kind: echo\n")
    key = server.create_task(
        title="Echo",
        description="Say it back",
        repository=str(remote_repo),
        template="echoing",
        workflow="just-code",
    )["key"]

    files = delivered(server, key, remote_repo)
    assert files["ECHO.md"].startswith("echo (code, turn 0): ")
    assert "Say it back" in files["ECHO.md"]
    # The cache the plug-in declared private stayed out of the delivered work.
    assert ".echo-cache" not in files
    said = [e["data"] for e in server.events(key) if e["kind"] == "agent"]
    texts = [d["text"] for d in said if d.get("type") == "text"]
    assert "wrote ECHO.md in an unmarked sandbox" in texts, server.events(key)
    assert server.task(key)["agent"] == "echo"


def test_an_installed_sandbox_provider_runs_a_task(
    installed: None,
    server: RunningServer,
    remote_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = tmp_path / "spawned.log"
    monkeypatch.setenv("ECHO_SANDBOX_LOG", str(log))
    assert "marked" in SANDBOX_PROVIDERS.kinds()
    script = 'echo "$TASKYARD_SANDBOX_MARK" > where.txt'
    push(server, f"name: marked\nsandbox: marked\nagent:\n  kind: command\n  command: '{script}'\n")
    key = server.create_task(
        title="Mark", repository=str(remote_repo), template="marked", workflow="just-code"
    )["key"]

    files = delivered(server, key, remote_repo)
    assert files["where.txt"] == "the marked sandbox\n"
    # The agent's turn and the export of its work both ran in the plug-in's sandbox.
    spawned = log.read_text().splitlines()
    assert [line.split()[0] for line in spawned] == [key] * len(spawned) and len(spawned) >= 2


def test_templates_name_only_kinds_there_are(server: RunningServer, remote_repo: Path) -> None:
    """Validation asks the registries: an unknown kind is refused, naming those there are."""
    for template, unknown, known in (
        ("name: t\nagent:\n  kind: echo\n", "agent kind 'echo'", "claude-code, codex"),
        ("name: t\nsandbox: marked\n", "sandbox provider 'marked'", "bubblewrap, docker"),
    ):
        response = server.http.post(
            "/api/v1/templates", content=template, headers={"Content-Type": "application/yaml"}
        )
        assert response.status_code == 400, response.text
        assert unknown in response.text and known in response.text, response.text
    response = server.http.post(
        "/api/v1/tasks",
        json={"title": "t", "repository": str(remote_repo), "agent": {"kind": "echo"}},
    )
    assert response.status_code == 400 and "agent kind 'echo'" in response.text, response.text


def test_a_template_whose_plug_in_went_away_fails_its_task_clearly(
    site: Path, server: RunningServer, remote_repo: Path
) -> None:
    with installing(site):
        push(server, "name: echoing\nsandbox: none\nagent:\n  kind: echo\n")
    # The stored template still loads (it is listed and shown); its task fails at run time.
    assert server.http.get("/api/v1/templates/echoing").status_code == 200
    key = server.create_task(
        title="Echo", repository=str(remote_repo), template="echoing", workflow="just-code"
    )["key"]
    task = server.wait_for(key, "completed", "failed")
    assert task["status"] == "failed"
    assert "No agent kind 'echo'. Available: aider, claude-code" in task["status_message"], task
