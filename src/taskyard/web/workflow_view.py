"""A workflow's stages as the page shows them: each with its gate and the prompt it sends."""

from __future__ import annotations

from dataclasses import dataclass

from taskyard.db.models import Workflow
from taskyard.model.workflow import WorkflowSpec
from taskyard.services.prompts import stage_prompt

EXAMPLE = """name: quick
stages:
  - key: code
    agent:
      prompt: Implement the task and run its tests.
    deliver: true
  - key: review
    gate: approval
    request_changes_to: code
  - key: done
"""


@dataclass(frozen=True)
class StageView:
    key: str
    name: str
    gate: str
    agent: str  # "" when the stage runs no agent
    prompt: str
    prompt_is_builtin: bool  # the workflow gives none: a template's or taskyard's own is used
    deliver: bool
    back_to: str


def stages_of(workflow: Workflow) -> list[StageView]:
    spec = WorkflowSpec.model_validate({"name": workflow.name, "stages": workflow.stages})
    views = []
    for stage in spec.stages:
        agent = stage.agent
        views.append(
            StageView(
                key=stage.key,
                name=stage.name,
                gate=stage.gate,
                agent=(agent.template or "the task's template") if agent else "",
                prompt=stage_prompt(stage.key, agent.prompt, {}) if agent else "",
                prompt_is_builtin=bool(agent and not agent.prompt),
                deliver=stage.deliver,
                back_to=(stage.request_changes_to or stage.key) if stage.gate == "approval" else "",
            )
        )
    return views
