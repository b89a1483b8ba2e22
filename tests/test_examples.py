"""The example templates in examples/templates/: each one valid, named after its agent,
and pinned to the agent CLI version the test suite installs and drives."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskyard.agents.registry import AGENT_ADAPTERS
from taskyard.services.templates import parse_template

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "templates"
BUILT_IN = ["aider", "claude-code", "codex", "command", "gemini"]
PINNED = {
    kind: install.version if (install := AGENT_ADAPTERS.get(kind).info.install) else ""
    for kind in BUILT_IN
}


def test_there_is_one_example_per_agent_kind() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.yaml")) == BUILT_IN == AGENT_ADAPTERS.kinds()


@pytest.mark.parametrize("kind", sorted(PINNED))
def test_an_example_template_is_valid(kind: str) -> None:
    spec = parse_template((EXAMPLES / f"{kind}.yaml").read_text())
    assert spec.name == kind and spec.agent.kind == kind
    assert spec.agent.version == PINNED[kind]
    assert spec.description
