"""Open registries: plug-ins found by kind through entry points, checked when named."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from taskyard.config import Settings
from taskyard.model.errors import InvalidInput
from taskyard.model.registry import AGENTS, SANDBOXES, PluginError, Registry, kinds_in
from taskyard.model.template import NEW_TEMPLATE, AgentSpec, TemplateSpec
from taskyard.services.templates import parse_template
from taskyard.workspaces.providers import SANDBOX_PROVIDERS, provider_for


@dataclass(frozen=True)
class Thing:
    kind: str


def test_the_built_ins_come_from_taskyards_own_entry_points() -> None:
    registry: Registry[Thing] = Registry("taskyard.sandboxes", "sandbox provider")
    assert registry.kinds() == ["bubblewrap", "docker", "none"]
    assert kinds_in(SANDBOXES) == registry.kinds()
    assert {"claude-code", "codex", "gemini", "aider", "command"} <= set(kinds_in(AGENTS))


def test_kinds_registered_at_run_time_are_built_once_and_checked() -> None:
    registry: Registry[Thing] = Registry("taskyard.tests.nothing", "gadget")
    built: list[str] = []

    def gadget() -> Thing:
        built.append("gadget")
        return Thing("gadget")

    registry.register("gadget", gadget)
    registry.register("liar", lambda: Thing("other"))
    registry.register("broken", lambda: Thing(str(1 / 0)))
    assert registry.get("gadget") is registry.get("gadget") and built == ["gadget"]
    assert "gadget" in registry and "nothing" not in registry
    with pytest.raises(PluginError, match=r"No gadget 'nothing'\. Available: broken, gadget, liar"):
        registry.get("nothing")
    with pytest.raises(PluginError, match="registered as 'liar' calls itself 'other'"):
        registry.get("liar")
    with pytest.raises(PluginError, match="'broken' failed to load: division by zero"):
        registry.get("broken")
    assert issubclass(PluginError, InvalidInput)  # a 422 in the API, a permanent task failure
    registry.reload()  # forgets what was registered by hand, looks the group up again
    assert registry.kinds() == []


def test_a_pushed_template_names_registered_kinds_and_a_stored_one_loads_anyway() -> None:
    with pytest.raises(
        InvalidInput, match=r"No agent kind 'robot'\. Available: aider, claude-code"
    ):
        parse_template("name: x\nagent:\n  kind: robot\n")
    with pytest.raises(InvalidInput, match=r"No sandbox provider 'jail'\. Available: bubblewrap"):
        parse_template("name: x\nsandbox: jail\n")
    # Stored before its plug-in went away: it loads; running it fails (see tests/plugins).
    stored = TemplateSpec.model_validate(
        {"name": "x", "agent": {"kind": "robot"}, "sandbox": "jail"}
    )
    assert (stored.agent.kind, stored.sandbox) == ("robot", "jail")
    with pytest.raises(ValueError, match="No agent kind 'robot'"):
        AgentSpec.model_validate({"kind": "robot"}, context={NEW_TEMPLATE: True})
    with pytest.raises(ValueError, match="should match pattern"):
        AgentSpec.model_validate({"kind": "Robot Two"})


def test_a_sandbox_is_refused_unless_usable_here() -> None:
    with pytest.raises(PluginError, match=r"No sandbox provider 'jail'\. Available: bubblewrap"):
        provider_for("jail", Settings())
    assert not SANDBOX_PROVIDERS.get("none").info.isolated
    assert SANDBOX_PROVIDERS.get("docker").info.image
