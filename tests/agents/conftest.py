"""Fixtures for running real agent CLIs against scripted model servers.

The CLIs are installed through the tool cache, once per session. Set
``TASKYARD_TOOL_CACHE`` to a lasting directory to install them once across runs
(CI pre-installs them there); the versions are pinned in ``harness``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tool_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tool cache: ``TASKYARD_TOOL_CACHE`` if set, else a fresh directory."""
    configured = os.environ.get("TASKYARD_TOOL_CACHE")
    root = Path(configured or tmp_path_factory.mktemp("tools")).resolve()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASKYARD_TOOL_CACHE", str(root))
        yield root


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
