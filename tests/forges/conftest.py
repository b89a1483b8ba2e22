"""A GitHub stand-in on loopback, serving a copy of ``remote_repo`` as ``acme/shop``;
a test fails if a request to it breaks GitHub's description."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import api, api_settings
from tests.conftest import git
from tests.support.github.standin import GitHubStandIn, serve_github

__all__ = ["api", "api_settings", "github"]  # the API fixtures serve the forge settings tests

TOKEN = "ghs_standin0123456789abcdefSECRET"


@pytest.fixture
def github(tmp_path: Path, remote_repo: Path) -> Iterator[GitHubStandIn]:
    root = tmp_path / "github"
    git("clone", "--quiet", "--bare", str(remote_repo), str(root / "acme" / "shop.git"))
    with serve_github(root, TOKEN) as standin:
        yield standin
