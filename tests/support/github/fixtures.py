"""GitHub's own published files the stand-in checks against, installed from npm.

``@octokit/openapi`` (GitHub's OpenAPI description of its REST API) and
``@octokit/webhooks-examples`` (payloads GitHub sends), at the versions pinned by
``npm/package-lock.json``, are installed once into the shared tool cache under a
directory named by the digest of the pins, so a change of pins installs anew and
worktrees sharing the cache never see each other's versions.

Install them with ``scripts/fetch-github-fixtures`` (``make test`` does); a test that
needs them fails when they are missing under ``CI=true`` and is skipped elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from taskyard.agents.toolcache import NPM_FLAGS, cache_root

PINS = Path(__file__).with_name("npm")
FILES = ("package.json", "package-lock.json")


def install_dir() -> Path:
    digest = hashlib.sha256(b"".join((PINS / name).read_bytes() for name in FILES))
    return cache_root() / "github-fixtures" / digest.hexdigest()[:16]


def package_file(package: str, relative: str) -> Path:
    """The path of ``relative`` inside installed npm ``package``; fails or skips when absent."""
    path = install_dir() / "node_modules" / package / relative
    if path.is_file():
        return path
    message = (
        f"{package} is not installed at {path.parent}: run scripts/fetch-github-fixtures "
        "(with the same TASKYARD_TOOL_CACHE)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def install() -> Path:
    """Install the pinned packages unless they are there; renamed into place once whole,
    so a test never reads a half-written description."""
    final = install_dir()
    if (final / "node_modules").is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=".staging-") as staging:
        for name in FILES:
            shutil.copy(PINS / name, staging)
        flags = [flag for flag in NPM_FLAGS if flag != "--no-package-lock"]
        subprocess.run(["npm", "ci", "--prefix", staging, *flags], check=True)
        try:
            Path(staging).rename(final)
        except OSError:
            if not (final / "node_modules").is_dir():  # not a concurrent install that won
                raise
        else:
            Path(staging).mkdir()  # for the context manager to remove
    return final


if __name__ == "__main__":
    print(install())
