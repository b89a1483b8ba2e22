"""The schema of a template: the workspace and the agent a task runs in."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

AgentKind = Literal["claude-code", "codex", "gemini", "aider", "command"]
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
#: Validation context key: the template is being pushed, so check it fully.
NEW_TEMPLATE = "new_template"
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "bool": (bool,),
    "list": (list,),
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentSpec(Strict):
    kind: AgentKind = "claude-code"
    version: str = Field("", description="Package version of the agent CLI; empty means latest.")
    model: str = ""
    command: str = Field("", description="Shell command for the `command` agent.")
    args: list[str] = Field(default_factory=list, description="Extra CLI arguments.")

    @model_validator(mode="after")
    def _command_needs_command(self) -> AgentSpec:
        if self.kind == "command" and not self.command.strip():
            raise ValueError("agent kind 'command' needs a 'command'")
        return self


class Limits(Strict):
    timeout_minutes: float = Field(60, gt=0, description="Wall-clock limit of one agent turn.")
    idle_minutes: float = Field(15, gt=0, description="Limit on a turn printing nothing.")
    memory_mb: int = Field(4096, ge=16)
    processes: int = Field(512, ge=4)


class Budget(Strict):
    max_turns: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    max_cost_usd: float | None = Field(None, gt=0)
    max_minutes: float | None = Field(None, gt=0)


class ModelPrice(Strict):
    """What one model costs, in US dollars per million tokens."""

    input: float = Field(ge=0, description="Uncached input tokens.")
    output: float = Field(ge=0, description="Output tokens, reasoning included.")
    cached_input: float | None = Field(
        None, ge=0, description="Input read from the prompt cache; the input price if unset."
    )
    cache_write: float | None = Field(
        None, ge=0, description="Input written to the prompt cache; the input price if unset."
    )


class Network(Strict):
    policy: Literal["none", "allowlist", "full"] = "allowlist"
    allow: list[str] = Field(default_factory=list, description="Hosts reachable under allowlist.")
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=lambda: [80, 443],
        max_length=64,
        description="Ports reachable on allowed hosts under allowlist.",
    )


class Parameter(Strict):
    name: str
    type: Literal["string", "number", "bool", "list"] = "string"
    default: Any = None
    mutable: bool = True
    form: Literal["input", "textarea", "select"] = "input"
    options: list[Any] = Field(default_factory=list)
    description: str = ""
    required: bool = False
    regex: str | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Parameter:
        problems = []
        if self.form == "select" and not self.options:
            problems.append("form 'select' needs options")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                problems.append(f"bad regex: {exc}")
        # Checked when a template is pushed, not when a stored one is read back: a
        # version accepted before these checks existed must stay readable.
        if (info.context or {}).get(NEW_TEMPLATE):
            problems += self._inconsistencies(problems)
        if problems:
            raise ValueError(f"parameter {self.name!r}: " + "; ".join(problems))
        return self

    def _inconsistencies(self, earlier: list[str]) -> list[str]:
        """A definition that contradicts itself: no task could ever be given a value."""
        problems = []
        if self.min is not None and self.max is not None and self.min > self.max:
            problems.append(f"min {self.min:g} is above max {self.max:g}")
        if (self.min is not None or self.max is not None) and self.type != "number":
            problems.append("min and max apply to type 'number' only")
        bad_options = [o for o in self.options if self.problem(o, bounds=False)]
        if bad_options:
            problems.append(f"options {bad_options} are not of type {self.type}")
        if self.default is not None:
            # Bounds that contradict each other are reported above, not checked here.
            problem = self.problem(self.default, bounds=not (problems or earlier))
            if problem:
                problems.append(f"default {self.default!r}: {problem}")
        return problems

    def problem(self, value: Any, *, bounds: bool = True) -> str | None:
        """What is wrong with ``value`` for this parameter, or None if it fits."""
        if isinstance(value, bool) and self.type == "number":
            return "must be a number"
        if not isinstance(value, _TYPES[self.type]):
            return f"must be of type {self.type}"
        if not bounds:
            return None
        if self.options and value not in self.options:
            return f"must be one of {self.options}"
        if (
            self.regex is not None
            and isinstance(value, str)
            and not re.fullmatch(self.regex, value)
        ):
            return f"must match {self.regex}"
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.min is not None and value < self.min:
                return f"must be at least {self.min:g}"
            if self.max is not None and value > self.max:
                return f"must be at most {self.max:g}"
        return None


class TemplateSpec(Strict):
    name: str
    description: str = ""
    agent: AgentSpec = Field(default_factory=AgentSpec)
    sandbox: Literal["bubblewrap", "docker", "none"] = "bubblewrap"
    image: str = Field("", description="Container image for the docker sandbox.")
    setup: str = ""
    env: dict[str, str] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list, description="Org secrets passed inside.")
    limits: Limits = Field(default_factory=Limits)
    budget: Budget = Field(default_factory=Budget)
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        max_length=200,
        description="Model (or model name prefix) → price, over the built-in price table.",
    )
    network: Network = Field(default_factory=Network)
    prompts: dict[str, str] = Field(
        default_factory=dict, description="Stage key → prompt overriding the default."
    )
    parameters: list[Parameter] = Field(default_factory=list)

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
