"""Which forge a repository lives on."""

from __future__ import annotations

from taskyard.config import Settings
from taskyard.forges.base import Forge, LocalForge
from taskyard.forges.github import GitHubForge


def forge_for(repository: str, settings: Settings) -> Forge:
    if repository.startswith(("/", "file://")):
        return LocalForge()
    return GitHubForge(settings.github_token, settings.github_api_url)
