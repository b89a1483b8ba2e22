"""The examples: the templates in examples/templates/, each one valid, named after its
agent and pinned to the agent CLI version the test suite installs and drives; and the
workflows in examples/github-actions/, each using the GitHub Action as it is declared and
shown as it is in docs/github.md."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from taskyard.agents.registry import AGENT_ADAPTERS
from taskyard.services.templates import parse_template

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "templates"
WORKFLOWS = sorted((ROOT / "examples" / "github-actions").glob("*.yml"))
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


def test_there_is_a_workflow_for_each_kind_of_trigger() -> None:
    names = [p.stem for p in WORKFLOWS]
    assert names == ["label", "paths", "pull-request", "slash-command"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.stem)
def test_an_example_workflow_uses_the_action_as_declared(path: Path) -> None:
    declared = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    required = {name for name, spec in declared.items() if spec.get("required")}
    steps = [s for job in yaml.safe_load(path.read_text())["jobs"].values() for s in job["steps"]]
    uses = [s for s in steps if s.get("uses", "").endswith("/taskyard@v1")]
    assert uses, f"{path.name} does not use the action"
    for step in uses:
        given = set(step["with"])
        assert given <= set(declared), f"{path.name}: no input {given - set(declared)}"
        assert required <= given, f"{path.name}: missing {required - given}"
        assert step["with"]["taskyard-token"] == "${{ secrets.TASKYARD_TOKEN }}"
    # The docs show it whole, so what people copy is what is checked here.
    assert path.read_text() in (ROOT / "docs" / "github.md").read_text()
