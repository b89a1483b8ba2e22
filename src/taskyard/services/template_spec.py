"""The schema of a template: the workspace and the agent a task runs in."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import re2
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from taskyard.services.inputs import MAX_INT64, Body, Label, Name, bounded_json

AgentKind = Literal["claude-code", "codex", "gemini", "aider", "command"]
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
MAX_MINUTES = 7 * 24 * 60
MAX_ITEMS = 200
# A parameter's regex runs in RE2: linear in the value's length whatever the pattern,
# so no pattern can stall the server (Python's `re` backtracks: `(a+)+b` takes ages).
RE2_OPTIONS = re2.Options()
RE2_OPTIONS.log_errors = False
RE2_OPTIONS.max_mem = 1 << 20


def compile_regex(pattern: str) -> Any:
    """``pattern`` compiled by RE2; ``ValueError`` if RE2 cannot run it."""
    try:
        return re2.compile(pattern, RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args else "invalid"
        raise ValueError(f"bad regex (RE2 syntax, no backreferences): {reason}") from exc


Value = Annotated[Any, AfterValidator(bounded_json(4, 16_000))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentSpec(Strict):
    kind: AgentKind = "claude-code"
    version: Name = Field("", description="Package version of the agent CLI; empty means latest.")
    model: Name = ""
    command: Body = Field("", description="Shell command for the `command` agent.")
    args: list[Label] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Extra CLI arguments."
    )

    @model_validator(mode="after")
    def _command_needs_command(self) -> AgentSpec:
        if self.kind == "command" and not self.command.strip():
            raise ValueError("agent kind 'command' needs a 'command'")
        return self


class Limits(Strict):
    timeout_minutes: float = Field(
        60, gt=0, le=MAX_MINUTES, description="Wall-clock limit of one agent turn."
    )
    idle_minutes: float = Field(
        15, gt=0, le=MAX_MINUTES, description="Limit on a turn printing nothing."
    )
    memory_mb: int = Field(4096, ge=16, le=1 << 24)
    processes: int = Field(512, ge=4, le=1 << 22)


class Budget(Strict):
    max_turns: int | None = Field(None, ge=1, le=1_000_000)
    max_tokens: int | None = Field(None, ge=1, le=MAX_INT64)
    max_cost_usd: float | None = Field(None, gt=0, le=1e9)
    max_minutes: float | None = Field(None, gt=0, le=1e9)


class Network(Strict):
    policy: Literal["none", "allowlist", "full"] = "allowlist"
    allow: list[Label] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Hosts reachable under allowlist."
    )


class Parameter(Strict):
    name: Name
    type: Literal["string", "number", "bool", "list"] = "string"
    default: Value = None
    mutable: bool = True
    form: Literal["input", "textarea", "select"] = "input"
    options: list[Value] = Field(default_factory=list, max_length=MAX_ITEMS)
    description: Body = ""
    required: bool = False
    regex: str | None = Field(None, max_length=1000)
    min: float | None = Field(None, allow_inf_nan=False)
    max: float | None = Field(None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _check(self) -> Parameter:
        if self.form == "select" and not self.options:
            raise ValueError(f"parameter {self.name!r}: form 'select' needs options")
        if self.regex is not None:
            try:
                compile_regex(self.regex)
            except ValueError as exc:
                raise ValueError(f"parameter {self.name!r}: {exc}") from exc
        return self


class TemplateSpec(Strict):
    name: str
    description: Body = ""
    agent: AgentSpec = Field(default_factory=AgentSpec)
    sandbox: Literal["bubblewrap", "docker", "none"] = "bubblewrap"
    image: Label = Field("", description="Container image for the docker sandbox.")
    setup: Body = ""
    env: dict[Name, Body] = Field(default_factory=dict, max_length=MAX_ITEMS)
    secrets: list[Name] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Org secrets passed inside."
    )
    limits: Limits = Field(default_factory=Limits)
    budget: Budget = Field(default_factory=Budget)
    network: Network = Field(default_factory=Network)
    prompts: dict[Name, Body] = Field(
        default_factory=dict,
        max_length=MAX_ITEMS,
        description="Stage key → prompt overriding the default.",
    )
    parameters: list[Parameter] = Field(default_factory=list, max_length=MAX_ITEMS)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not NAME.match(name):
            raise ValueError("must be lowercase letters, digits, '.', '_' or '-'")
        return name

    @model_validator(mode="after")
    def _check(self) -> TemplateSpec:
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError("parameter names must be unique")
        return self

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


BUILTIN_DEFAULT = TemplateSpec(
    name="default",
    description="Claude Code in a bubblewrap sandbox",
    parameters=[Parameter(name="ai_prompt", form="textarea", description="Task instructions")],
)
