"""A request held against its operation in GitHub's description: its path
parameters, query and JSON body, read the way GitHub reads them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support.github.description import Description, Operation


@dataclass
class Call:
    """A request matched to an operation, its inputs typed by their schemas."""

    operation: Operation
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    url: str = ""  # as requested, for links to other pages
    invalid: list[str] = field(default_factory=list)  # GitHub answers 422
    ignored: list[str] = field(default_factory=list)  # GitHub ignores them; a client bug

    @property
    def repository(self) -> str:
        return f"{self.path['owner']}/{self.path['repo']}"


def _typed(schema: Mapping[str, Any], raw: str) -> Any:
    """A query or path value as the schema's type; left a string when it is not one."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    try:
        if "integer" in kinds:
            return int(raw)
        if "boolean" in kinds and raw in ("true", "false"):
            return raw == "true"
    except ValueError:
        return raw
    if "array" in kinds:
        return raw.split(",")
    return raw


def check_request(
    description: Description,
    operation: Operation,
    path: Mapping[str, str],
    query: Sequence[tuple[str, str]],
    body: bytes,
) -> Call:
    call = Call(operation, {}, {}, None)
    given = {"path": dict(path), "query": dict(query)}
    declared: set[str] = set()
    _, spec = description.at(operation.pointer)
    for index in range(len(spec.get("parameters", []))):
        pointer, parameter = description.at(f"{operation.pointer}/parameters/{index}")
        where, name = parameter["in"], parameter["name"]
        if where not in given:
            continue  # headers: GitHub's are optional
        declared.add(name)
        if name not in given[where]:
            if parameter.get("required"):
                call.invalid.append(f"{where} parameter {name} is required")
            continue
        _, schema = description.at(f"{pointer}/schema")
        value = _typed(schema, given[where][name])
        call.invalid += description.problems(f"{pointer}/schema", value, f"{where}.{name}")
        (call.path if where == "path" else call.query)[name] = value
    call.ignored += [
        f"query.{name} is not in the description" for name in set(given["query"]) - declared
    ]
    if len(query) > len(given["query"]):
        call.ignored.append("a query parameter is repeated")
    _check_body(description, operation, spec, body, call)
    return call


def _check_body(
    description: Description, operation: Operation, spec: Mapping[str, Any], raw: bytes, call: Call
) -> None:
    if "requestBody" not in spec:
        if raw.strip():
            call.ignored.append(f"{operation.id} takes no body")
        return
    if not raw.strip():
        if description.at(f"{operation.pointer}/requestBody")[1].get("required"):
            call.invalid.append("a body is required")
        call.body = {}
        return
    try:
        call.body = json.loads(raw)
    except ValueError:
        call.invalid.append("Problems parsing JSON")
        return
    schema = description.json_schema(f"{operation.pointer}/requestBody")
    if schema is None:
        call.invalid.append(f"{operation.id} takes no JSON body")
        return
    call.invalid += description.problems(schema, call.body, "body")
    call.ignored += description.undeclared(schema, call.body, "body")
