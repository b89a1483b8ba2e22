"""Task parameters, checked against the template's parameter definitions."""

from __future__ import annotations

from typing import Any

from taskyard.errors import InvalidInput
from taskyard.services.template_spec import Parameter, TemplateSpec, compile_regex

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "bool": (bool,),
    "list": (list,),
}


def _check(param: Parameter, value: Any) -> None:
    name = param.name
    if isinstance(value, bool) and param.type == "number":
        raise InvalidInput(f"Parameter '{name}' must be a number.")
    if not isinstance(value, _TYPES[param.type]):
        raise InvalidInput(f"Parameter '{name}' must be of type {param.type}.")
    if param.options and value not in param.options:
        raise InvalidInput(f"Parameter '{name}' must be one of {param.options}.")
    if (
        param.regex is not None
        and isinstance(value, str)
        and not compile_regex(param.regex).fullmatch(value)
    ):
        raise InvalidInput(f"Parameter '{name}' must match {param.regex}.")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if param.min is not None and value < param.min:
            raise InvalidInput(f"Parameter '{name}' must be at least {param.min}.")
        if param.max is not None and value > param.max:
            raise InvalidInput(f"Parameter '{name}' must be at most {param.max}.")


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
