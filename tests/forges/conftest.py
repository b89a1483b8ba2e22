"""A GitHub stand-in on loopback, serving a copy of ``remote_repo`` as ``acme/shop``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import api, api_settings
from tests.conftest import git
from tests.forges.github_standin import GitHubStandIn
from tests.support.server import serve_app

__all__ = ["api", "api_settings", "github"]  # the API fixtures serve the forge settings tests

TOKEN = "ghs_standin0123456789abcdefSECRET"


@pytest.fixture
def github(tmp_path: Path, remote_repo: Path) -> Iterator[GitHubStandIn]:
    root = tmp_path / "github"
    git("clone", "--quiet", "--bare", str(remote_repo), str(root / "acme" / "shop.git"))
    standin = GitHubStandIn(root, TOKEN)
    with serve_app(standin.app(), "") as client:
        standin.url = str(client.base_url).rstrip("/")
        yield standin
