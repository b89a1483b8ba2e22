"""Reviews, review comments, checks and closed pull requests (replaced by the review loop)."""

from __future__ import annotations

from taskyard.model.github import GitHubEvent
from taskyard.services.github_context import IntakeContext


async def handle(context: IntakeContext, event: GitHubEvent) -> str:
    return "ignored"
