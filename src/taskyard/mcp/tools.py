"""What an MCP tool is: a name, a JSON Schema for its arguments, and the function it runs.

Arguments are checked against the schema before the function runs, so a model that
leaves out a field or sends a number as a string is told exactly what to fix (as a tool
error it can read, not a protocol error). The checker covers the part of JSON Schema
the tools use: objects with ``properties``/``required``/``additionalProperties: false``,
strings, integers with bounds, booleans, enums, string arrays and free-form objects.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from taskyard.sdk.errors import TaskyardError

log = logging.getLogger(__name__)

Handler = Callable[[Any, dict[str, Any]], Any]

_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


class ToolError(Exception):
    """A tool could not do its work; ``message`` is what the model is told."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check(schema: Mapping[str, Any], value: Any, where: str = "arguments") -> None:
    """Raise :class:`ToolError` saying what is wrong if ``value`` breaks ``schema``."""
    kind = schema.get("type")
    if kind is not None and not _TYPES[kind](value):
        raise ToolError(f"{where} must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}.")
    if "enum" in schema and value not in schema["enum"]:
        raise ToolError(f"{where} must be one of: {', '.join(map(str, schema['enum']))}.")
    if kind == "string" and len(value) < schema.get("minLength", 0):
        raise ToolError(f"{where} must not be empty.")
    if kind == "integer":
        if "minimum" in schema and value < schema["minimum"]:
            raise ToolError(f"{where} must be at least {schema['minimum']}.")
        if "maximum" in schema and value > schema["maximum"]:
            raise ToolError(f"{where} must be at most {schema['maximum']}.")
    if kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            check(schema["items"], item, f"{where}[{i}]")
    if kind == "object" and "properties" in schema:
        properties: Mapping[str, Any] = schema["properties"]
        missing = [name for name in schema.get("required", ()) if name not in value]
        if missing:
            raise ToolError(f"Missing required argument(s): {', '.join(missing)}.")
        if schema.get("additionalProperties") is False:
            unknown = sorted(set(value) - set(properties))
            if unknown:
                known = ", ".join(properties)
                raise ToolError(f"Unknown argument(s): {', '.join(unknown)} (known: {known}).")
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


@dataclass(frozen=True)
class Tool:
    """One tool: what ``tools/list`` shows of it and what ``tools/call`` runs.

    ``handler(context, arguments)`` returns the result: a dict (sent as JSON text and as
    ``structuredContent``) or a string (sent as text). A :class:`TaskyardError` it raises
    becomes an error result carrying the API's message.
    """

    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    handler: Handler
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False

    def describe(self) -> dict[str, Any]:
        """The tool as ``tools/list`` lists it."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            # Hints for the client's confirmation prompts; the server enforces nothing here.
            "annotations": {
                "title": self.title,
                "readOnlyHint": self.read_only,
                "destructiveHint": self.destructive,
                "idempotentHint": self.idempotent,
                "openWorldHint": False,
            },
        }

    def run(self, context: Any, arguments: dict[str, Any]) -> dict[str, Any]:
        """Check ``arguments``, run the handler; the ``tools/call`` result.

        Raises:
            ToolError: The arguments are wrong, or the API refused or could not be reached.
        """
        check(self.input_schema, arguments)
        try:
            result = self.handler(context, arguments)
        except TaskyardError as exc:
            raise ToolError(exc.message) from exc
        except Exception as exc:
            # Still an answer the model can read: the session goes on, the trace goes to stderr.
            log.exception("MCP tool %s failed", self.name)
            raise ToolError(f"Unexpected error in {self.name}: {exc!r}") from exc
        if isinstance(result, str):
            return {"content": [{"type": "text", "text": result}]}
        return {
            "content": [{"type": "text", "text": json.dumps(result, indent=2)}],
            "structuredContent": result,
        }
