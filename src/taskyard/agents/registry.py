"""Looks up the adapter for an agent kind."""

from __future__ import annotations

from taskyard.agents.aider import AiderAgent
from taskyard.agents.base import AgentAdapter
from taskyard.agents.claude_code import ClaudeCodeAgent
from taskyard.agents.codex import CodexAgent
from taskyard.agents.command import CommandAgent
from taskyard.agents.gemini import GeminiAgent
from taskyard.model.errors import InvalidInput

_ADAPTERS: dict[str, AgentAdapter] = {
    a.kind: a
    for a in (ClaudeCodeAgent(), CodexAgent(), GeminiAgent(), AiderAgent(), CommandAgent())
}


def register(adapter: AgentAdapter) -> None:
    _ADAPTERS[adapter.kind] = adapter


def adapter_for(kind: str) -> AgentAdapter:
    try:
        return _ADAPTERS[kind]
    except KeyError:
        raise InvalidInput(
            f"No adapter for agent kind '{kind}'. Available: {', '.join(sorted(_ADAPTERS))}."
        ) from None
