"""The New task form's parameter fields: built from a template's parameters, and read
back from the posted form into the typed values the API takes.

Fields are named ``param.<name>``. What the form posts is text; a value that does not
read as its type is passed on as text, so the message about it is the API's own.
A parameter that is not ``mutable`` is shown with its default and never read back.
The form's Reviewers field is read here too: usernames, as people type lists of them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from taskyard.model.template import Parameter, TemplateSpec

PREFIX = "param."
PROMPT = Parameter(name="ai_prompt", form="textarea", description="Task instructions")
PARAMETER_PROBLEM = re.compile(r"^Parameter '([^']+)'")
SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Field:
    name: str  # the form field's name
    label: str
    control: str  # "textarea" | "select" | "checkbox" | "input"
    value: str
    options: list[tuple[str, str]]  # (value, text) for a select
    hint: str
    required: bool
    locked: bool  # not mutable: shown, not sent
    problem: str


def text_of(value: Any) -> str:
    """A parameter value as the form shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(text_of(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def _hint(param: Parameter) -> str:
    parts = [param.description] if param.description else []
    if param.min is not None or param.max is not None:
        low = "" if param.min is None else f"{param.min:g}"
        high = "" if param.max is None else f"{param.max:g}"
        parts.append(f"from {low or '…'} to {high or '…'}")
    if param.type == "list":
        parts.append("one item per line")
    if not param.mutable:
        parts.append("fixed by the template")
    return "; ".join(parts)


def parameters_of(spec: TemplateSpec) -> list[Parameter]:
    """The template's parameters, ``ai_prompt`` first (every task may have one)."""
    own = {p.name: p for p in spec.parameters}
    return [own.get("ai_prompt", PROMPT), *(p for p in spec.parameters if p.name != "ai_prompt")]


def fields(
    spec: TemplateSpec, posted: Mapping[str, str], problems: Mapping[str, str]
) -> list[Field]:
    """The form's fields for ``spec``, holding what was ``posted`` (else the defaults)."""
    result = []
    for param in parameters_of(spec):
        name = PREFIX + param.name
        value = text_of(param.default)
        if param.mutable and name in posted:
            value = posted[name]
        if param.form == "select" or param.options:
            control = "select"
        elif param.type == "bool":
            control = "checkbox"
        elif param.form == "textarea" or param.type == "list":
            control = "textarea"
        else:
            control = "input"
        options = [(text_of(o), text_of(o)) for o in param.options]
        if control == "select" and not param.required and param.default is None:
            options.insert(0, ("", "(none)"))
        result.append(
            Field(
                name=name,
                label=param.name.replace("_", " ").capitalize()
                if param.name != "ai_prompt"
                else "Instructions (ai_prompt)",
                control=control,
                value=value,
                options=options,
                hint=_hint(param),
                required=param.required,
                locked=not param.mutable,
                problem=problems.get(param.name, ""),
            )
        )
    return result


def _typed(param: Parameter, text: str) -> Any:
    """``text`` as the parameter's type; as it was when it does not read as one."""
    for option in param.options:
        if text_of(option) == text:
            return option
    if param.type == "bool":
        return {"true": True, "false": False}.get(text, text)
    if param.type == "number":
        if re.fullmatch(r"[+-]?\d{1,18}", text.strip()):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    if param.type == "list":
        return [line.strip() for line in text.splitlines() if line.strip()]
    return text


def read_parameters(spec: TemplateSpec, form: Mapping[str, str]) -> dict[str, Any]:
    """The parameter values a posted form gives; an empty field leaves the default."""
    values: dict[str, Any] = {}
    for param in parameters_of(spec):
        text = form.get(PREFIX + param.name)
        if not param.mutable or text is None:
            continue
        if param.type != "bool" and not text.strip():
            continue
        values[param.name] = _typed(param, text)
    return values


def usernames(text: str) -> list[str]:
    """The usernames typed into a field, separated by commas or spaces (a leading ``@``,
    as people write them, dropped)."""
    return [name.removeprefix("@") for name in SEPARATORS.split(text) if name.strip("@")]


def problem_field(message: str) -> str:
    """The parameter an error message is about ("" when it names none)."""
    found = PARAMETER_PROBLEM.match(message)
    return found.group(1) if found else ""
