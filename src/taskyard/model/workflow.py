"""The words of a workflow: ordered stages, each with an optional agent and a gate."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from taskyard.model.errors import InvalidInput
from taskyard.model.inputs import Body, Label, Name

STAGE_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class StageAgent(BaseModel):
    """The agent a stage runs: a template (the task's when absent) and a prompt."""

    model_config = ConfigDict(extra="forbid")
    template: Name | None = None
    prompt: Body = ""


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Name
    name: Label = ""
    agent: StageAgent | None = None
    gate: Literal["auto", "approval"] = "auto"
    deliver: bool = Field(
        False, description="Commit, push and open a pull request after the agent."
    )
    request_changes_to: Name | None = Field(
        None, description="Stage that request-changes sends the task back to (default: this one)."
    )

    @model_validator(mode="after")
    def _check(self) -> Stage:
        if not STAGE_KEY.match(self.key):
            raise ValueError(
                f"stage key {self.key!r} must be lowercase letters, digits, '-' or '_'"
            )
        self.name = self.name or self.key.title()
        return self


class WorkflowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name = Field(min_length=1)
    stages: list[Stage] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _check(self) -> WorkflowSpec:
        keys = [s.key for s in self.stages]
        if len(set(keys)) != len(keys):
            raise ValueError("stage keys must be unique")
        for stage in self.stages:
            if stage.request_changes_to and stage.request_changes_to not in keys:
                raise ValueError(
                    f"stage {stage.key!r}: request_changes_to {stage.request_changes_to!r} "
                    "is not a stage of this workflow"
                )
        return self


DEFAULT_WORKFLOW = WorkflowSpec(
    name="default",
    stages=[
        Stage(key="plan", name="Plan", agent=StageAgent(), gate="approval"),
        Stage(key="code", name="Code", agent=StageAgent(), deliver=True),
        Stage(
            key="review",
            name="Review",
            agent=StageAgent(),
            gate="approval",
            request_changes_to="code",
        ),
        Stage(key="done", name="Done"),
    ],
)


def parse_spec(data: dict[str, Any]) -> WorkflowSpec:
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            f"Invalid workflow: {where + ': ' if where else ''}{first['msg']}"
        ) from exc
