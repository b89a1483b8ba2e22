"""The schema of a template: the workspace and the agent a task runs in."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import re2
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from taskyard.model.inputs import MAX_INT64, Body, Label, Name, bounded_json
from taskyard.model.registry import AGENTS, SANDBOXES, PluginError, require_kind

# An agent kind or a sandbox provider: whatever the registries offer (checked when a
# template is pushed, so that one stored before its plug-in was removed still loads).
Kind = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
#: Validation context key: the template is being pushed, so check it fully.
NEW_TEMPLATE = "new_template"
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "bool": (bool,),
    "list": (list,),
}
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


def _registered(group: str, what: str, kind: str, info: ValidationInfo) -> str:
    if (info.context or {}).get(NEW_TEMPLATE):
        try:
            require_kind(group, what, kind)
        except PluginError as exc:
            raise ValueError(exc.message) from None
    return kind


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentSpec(Strict):
    kind: Kind = "claude-code"
    version: Name = Field("", description="Package version of the agent CLI; empty means latest.")
    model: Name = ""
    command: Body = Field("", description="Shell command for the `command` agent.")
    args: list[Label] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Extra CLI arguments."
    )

    @field_validator("kind")
    @classmethod
    def _kind(cls, kind: str, info: ValidationInfo) -> str:
        return _registered(AGENTS, "agent kind", kind, info)

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
    allow: list[Label] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Hosts reachable under allowlist."
    )
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=lambda: [80, 443],
        max_length=64,
        description="Ports reachable on allowed hosts under allowlist.",
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
    def _check(self, info: ValidationInfo) -> Parameter:
        problems = []
        if self.form == "select" and not self.options:
            problems.append("form 'select' needs options")
        if self.regex is not None:
            try:
                compile_regex(self.regex)
            except ValueError as exc:
                problems.append(str(exc))
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
            and not compile_regex(self.regex).fullmatch(value)
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
    description: Body = ""
    agent: AgentSpec = Field(default_factory=AgentSpec)
    sandbox: Kind = "bubblewrap"
    image: Label = Field("", description="Container image for the docker sandbox.")
    setup: Body = ""
    env: dict[Name, Body] = Field(default_factory=dict, max_length=MAX_ITEMS)
    secrets: list[Name] = Field(
        default_factory=list, max_length=MAX_ITEMS, description="Org secrets passed inside."
    )
    limits: Limits = Field(default_factory=Limits)
    budget: Budget = Field(default_factory=Budget)
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        max_length=200,
        description="Model (or model name prefix) → price, over the built-in price table.",
    )
    network: Network = Field(default_factory=Network)
    prompts: dict[Name, Body] = Field(
        default_factory=dict,
        max_length=MAX_ITEMS,
        description="Stage key → prompt overriding the default.",
    )
    parameters: list[Parameter] = Field(default_factory=list, max_length=MAX_ITEMS)

    @field_validator("sandbox")
    @classmethod
    def _sandbox(cls, kind: str, info: ValidationInfo) -> str:
        return _registered(SANDBOXES, "sandbox provider", kind, info)

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
