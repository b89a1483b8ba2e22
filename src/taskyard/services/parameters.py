"""Task parameters, checked against the template's parameter definitions."""

from __future__ import annotations

from typing import Any

from taskyard.model.errors import InvalidInput
from taskyard.model.template import Parameter, TemplateSpec


def _check(param: Parameter, value: Any) -> None:
    problem = param.problem(value)
    if problem:
        raise InvalidInput(f"Parameter '{param.name}' {problem}.")


def resolve_parameters(
    spec: TemplateSpec, given: dict[str, Any], *, default_prompt: str
) -> dict[str, Any]:
    """Defaults filled in, unknown names and bad values refused.

    ``ai_prompt`` is always accepted: it carries the task's instructions and
    defaults to the description.
    """
    known = {p.name: p for p in spec.parameters}
    unknown = sorted(set(given) - set(known) - {"ai_prompt"})
    if unknown:
        raise InvalidInput(
            f"Unknown parameter(s) {', '.join(unknown)} for template '{spec.name}'. "
            f"Known: {', '.join(sorted(known | {'ai_prompt': None})) or 'none'}."
        )
    values: dict[str, Any] = {}
    for name, param in known.items():
        if name in given:
            _check(param, given[name])
            values[name] = given[name]
        elif param.default is not None:
            values[name] = param.default
        elif param.required:
            raise InvalidInput(f"Parameter '{name}' is required by template '{spec.name}'.")
    if "ai_prompt" in given and not isinstance(given["ai_prompt"], str):
        raise InvalidInput("Parameter 'ai_prompt' must be a string.")
    values["ai_prompt"] = given.get("ai_prompt") or values.get("ai_prompt") or default_prompt
    return values
