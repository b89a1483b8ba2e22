"""Placeholder, filled below."""

from __future__ import annotations

from taskyard.model.github import GitHubEvent
from taskyard.services.github_context import IntakeContext


async def handle(context: IntakeContext, event: GitHubEvent) -> str:
    return "ignored"
