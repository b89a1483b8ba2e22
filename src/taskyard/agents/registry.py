"""The agent kinds: adapters found through the ``taskyard.agents`` entry points.

taskyard's own adapters are declared in its ``pyproject.toml`` exactly as a
third party's are (see docs/extending.md).
"""

from __future__ import annotations

import contextlib

from taskyard.agents.base import AgentAdapter
from taskyard.model.registry import AGENTS, PluginError, Registry

AGENT_ADAPTERS: Registry[AgentAdapter] = Registry(AGENTS, "agent kind")


def adapter_for(kind: str) -> AgentAdapter:
    """The adapter of ``kind``; ``PluginError`` (listing the kinds there are) if none."""
    return AGENT_ADAPTERS.get(kind)


def private_files() -> list[str]:
    """The files any agent kind keeps in a checkout for itself: for every checkout,
    whichever agent works in it (a stage may run another template's agent)."""
    names: set[str] = set()
    for kind in AGENT_ADAPTERS.kinds():
        # A kind that fails to load says so when a task uses it, not in every checkout.
        with contextlib.suppress(PluginError):
            names.update(AGENT_ADAPTERS.get(kind).info.private_files)
    return sorted(names)
