"""The agent kinds: found through the entry points, each described in its adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskyard.agents.aider import AiderAgent
from taskyard.agents.base import AgentAdapter
from taskyard.agents.claude_code import ClaudeCodeAgent
from taskyard.agents.codex import CodexAgent
from taskyard.agents.command import CommandAgent
from taskyard.agents.gemini import GeminiAgent
from taskyard.agents.registry import AGENT_ADAPTERS, adapter_for, private_files
from taskyard.gateway.providers import provider_for_agent
from taskyard.model.registry import PluginError
from tests.agents.harness import pinned, spec_for

BUILT_IN: dict[str, type[AgentAdapter]] = {
    "claude-code": ClaudeCodeAgent,
    "codex": CodexAgent,
    "gemini": GeminiAgent,
    "aider": AiderAgent,
    "command": CommandAgent,
}
# Where each CLI lands in the tool cache, and its binary.
INSTALLED = {
    "claude-code": ("@anthropic-ai/claude-code@{}", "claude"),
    "codex": ("@openai/codex@{}", "codex"),
    "gemini": ("@google/gemini-cli@{}", "gemini"),
    "aider": ("pip/aider-chat@{}", "aider"),
}


@pytest.mark.parametrize("kind", sorted(BUILT_IN))
def test_registered(kind: str) -> None:
    assert isinstance(adapter_for(kind), BUILT_IN[kind])
    assert adapter_for(kind) is adapter_for(kind)  # built once


@pytest.mark.parametrize("kind", sorted(INSTALLED))
def test_installs_a_cli_that_runs(kind: str, tool_cache: Path) -> None:
    adapter = adapter_for(kind)
    root, bin_dir = adapter.tool_paths(spec_for(adapter, ""))
    where, binary = INSTALLED[kind]
    assert root == tool_cache / where.format(pinned(kind))
    assert (bin_dir / binary).exists() and bin_dir.is_relative_to(root)


def test_the_command_agent_installs_nothing() -> None:
    assert adapter_for("command").tool_paths(spec_for(adapter_for("claude-code"), "")) == []


def test_descriptors_say_what_each_cli_needs() -> None:
    assert {kind: adapter_for(kind).info.provider for kind in BUILT_IN} == {
        "claude-code": "anthropic",
        "codex": "openai",
        "gemini": "google",
        "aider": "openai",  # chat completions
        "command": "",
    }
    assert {p.name if p else "" for p in map(provider_for_agent, BUILT_IN)} == {
        "anthropic",
        "openai",
        "google",
        "",
    }
    assert [k for k in BUILT_IN if adapter_for(k).info.mcp] == [
        "claude-code",
        "codex",
        "gemini",
        "command",
    ]
    assert [k for k in BUILT_IN if adapter_for(k).info.resume] == [
        "claude-code",
        "codex",
        "gemini",
        "aider",
    ]
    assert private_files() == [".aider.tags.cache.v4"]


def test_an_unknown_kind_names_those_there_are() -> None:
    with pytest.raises(PluginError, match=r"No agent kind 'opencode'\. Available: aider, "):
        adapter_for("opencode")
    assert sorted(BUILT_IN) == AGENT_ADAPTERS.kinds()
