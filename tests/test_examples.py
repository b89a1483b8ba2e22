"""The example templates in examples/templates/: each one valid, named after its agent,
and pinned to the agent CLI version the test suite installs and drives."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskyard.model.template import AgentKind
from taskyard.services.templates import parse_template
from tests.agents.harness import AIDER_VERSION, CLAUDE_CODE_VERSION, CODEX_VERSION, GEMINI_VERSION

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "templates"
PINNED = {
    "claude-code": CLAUDE_CODE_VERSION,
    "codex": CODEX_VERSION,
    "gemini": GEMINI_VERSION,
    "aider": AIDER_VERSION,
    "command": "",
}


def test_there_is_one_example_per_agent_kind() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.yaml")) == sorted(AgentKind.__args__)


@pytest.mark.parametrize("kind", sorted(PINNED))
def test_an_example_template_is_valid(kind: str) -> None:
    spec = parse_template((EXAMPLES / f"{kind}.yaml").read_text())
    assert spec.name == kind and spec.agent.kind == kind
    assert spec.agent.version == PINNED[kind]
    assert spec.description
