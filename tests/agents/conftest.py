"""Fixtures for running real agent CLIs against scripted model servers.

The CLIs are installed through the tool cache, once per session. Set
``TASKYARD_TOOL_CACHE`` to a lasting directory to install them once across runs
(CI pre-installs them there); the versions are those the adapters pin.

A module driving one CLI names its agent in ``SPEC``; ``tool_paths`` installs it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskyard.agents.registry import adapter_for
from taskyard.model.template import AgentSpec


@pytest.fixture(scope="session")
def tool_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tool cache: ``TASKYARD_TOOL_CACHE`` if set, else a fresh directory."""
    configured = os.environ.get("TASKYARD_TOOL_CACHE")
    root = Path(configured or tmp_path_factory.mktemp("tools")).resolve()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASKYARD_TOOL_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def tool_paths(request: pytest.FixtureRequest, tool_cache: Path) -> list[Path]:
    """The directories of the module's agent CLI (``SPEC``), installed on first use."""
    spec: AgentSpec = request.module.SPEC
    return adapter_for(spec.kind).tool_paths(spec)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git checkout with one committed file, ``hello.txt``."""
    path = tmp_path / "repo"
    path.mkdir()
    (path / "hello.txt").write_text("old\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "initial"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The agent's private home, kept across the turns of one test."""
    path = tmp_path / "home"
    path.mkdir()
    return path
