"""The JSON Schema of tool arguments: declaring it, and checking arguments against it.

Arguments are checked before a tool runs, so a model that leaves out a field or sends a
number as a string is told exactly what to fix (as a tool error it can read, not a
protocol error). The checker covers the part of JSON Schema the tools use: objects with
``properties``/``required``/``additionalProperties: false``, strings (with ``minLength``),
integers with bounds, booleans, enums, string arrays and free-form objects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def check(schema: Mapping[str, Any], value: Any, where: str = "arguments") -> None:
    """Raise :class:`ValueError` saying what is wrong if ``value`` breaks ``schema``."""
    kind = schema.get("type")
    if kind is not None and not _TYPES[kind](value):
        raise ValueError(f"{where} must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}.")
    if "enum" in schema and value not in schema["enum"]:
        raise ValueError(f"{where} must be one of: {', '.join(map(str, schema['enum']))}.")
    if kind == "string" and len(value) < schema.get("minLength", 0):
        raise ValueError(f"{where} must not be empty.")
    if kind == "integer":
        if "minimum" in schema and value < schema["minimum"]:
            raise ValueError(f"{where} must be at least {schema['minimum']}.")
        if "maximum" in schema and value > schema["maximum"]:
            raise ValueError(f"{where} must be at most {schema['maximum']}.")
    if kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            check(schema["items"], item, f"{where}[{i}]")
    if kind == "object" and "properties" in schema:
        properties: Mapping[str, Any] = schema["properties"]
        missing = [name for name in schema.get("required", ()) if name not in value]
        if missing:
            raise ValueError(f"Missing required argument(s): {', '.join(missing)}.")
        if schema.get("additionalProperties") is False:
            unknown = sorted(set(value) - set(properties))
            if unknown:
                known = ", ".join(properties)
                raise ValueError(f"Unknown argument(s): {', '.join(unknown)} (known: {known}).")
        for name, item in value.items():
            if name in properties:
                check(properties[name], item, name)


def obj(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema for tool arguments: an object with exactly these properties."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def text(description: str, **extra: Any) -> dict[str, Any]:
    """A string property."""
    return {"type": "string", "description": description, **extra}
