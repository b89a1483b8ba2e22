"""GitHub's OpenAPI description of its REST API (``@octokit/openapi``): which
operation a request is, whether the request is one the description allows, and
whether an answer has what the description says it has.

Schemas are validated in place in the document (one ``jsonschema_rs`` registry;
each validator is a ``$ref`` to a JSON pointer), after OpenAPI 3.0's ``nullable``
is turned into JSON Schema's ``null`` type. GitHub ignores body properties and
query parameters it does not know, which is how a client bug goes unnoticed (a
``draft`` sent to ``PATCH .../pulls/{n}`` changes nothing): they are problems here.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, unquote

import jsonschema_rs

from tests.support.github.fixtures import package_file

URI = "urn:github-rest"
METHODS = ("get", "post", "put", "patch", "delete")
Json = Any


@dataclass(frozen=True)
class Operation:
    id: str  # GitHub's operationId, e.g. "pulls/update"
    method: str
    template: str  # e.g. "/repos/{owner}/{repo}/pulls/{pull_number}"
    pattern: re.Pattern[str]
    pointer: str  # of the operation object in the document


def _nullable(node: dict[str, Json]) -> dict[str, Json]:
    """``nullable: true`` said the JSON Schema way (a ``json.loads`` object hook:
    the children are done already)."""
    if node.pop("nullable", False) is not True:
        return node
    if "enum" in node:
        node["enum"] = [*node["enum"], None]
    if isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    elif "type" not in node:
        return {"anyOf": [node, {"type": "null"}]}
    return node


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class Description:
    def __init__(self, document: Json) -> None:
        self.document = document
        self._registry = jsonschema_rs.Registry([(URI, self.document)], draft=jsonschema_rs.Draft4)
        self._validators: dict[str, jsonschema_rs.Validator] = {}
        operations = []
        for template, item in self.document["paths"].items():
            regex = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template))
            for method in METHODS:
                if method in item:
                    pointer = f"/paths/{_escape(template)}/{method}"
                    operation_id = item[method]["operationId"]
                    operations.append(
                        Operation(operation_id, method, template, re.compile(regex), pointer)
                    )
        self.by_id = {operation.id: operation for operation in operations}
        # A literal segment wins over a parameter: /pulls/comments before /pulls/{n}.
        self.operations = sorted(operations, key=lambda o: o.template.count("{"))

    def at(self, pointer: str) -> tuple[str, Json]:
        """The node at ``pointer`` with ``$ref`` followed, and its own pointer."""
        node = self.document
        for part in pointer.split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, dict) and "$ref" in node:
            return self.at(node["$ref"].removeprefix("#"))
        return pointer, node

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for a request to ``path`` (percent-encoded) and its path parameters."""
        for operation in self.operations:
            found = operation.pattern.fullmatch(path)
            if found and operation.method == method.lower():
                names = re.findall(r"\{([^}]+)\}", operation.template)
                values = [unquote(value) for value in found.groups()]
                return operation, dict(zip(names, values, strict=True))
        return None

    def problems(self, pointer: str, value: Json, where: str) -> list[str]:
        """Where ``value`` breaks the schema at ``pointer``."""
        validator = self._validators.get(pointer)
        if validator is None:
            ref = {"$ref": f"{URI}#{quote(pointer, safe='/~')}"}
            validator = jsonschema_rs.Draft4Validator(ref, registry=self._registry)
            self._validators[pointer] = validator
        return [
            f"{where}{''.join(f'.{p}' for p in error.instance_path)}: {error.message}"
            for error in validator.iter_errors(value)
        ]

    def undeclared(self, pointer: str, value: Json, where: str) -> list[str]:
        """Object properties in ``value`` that the schema at ``pointer`` does not declare."""
        pointer, schema = self.at(pointer)
        branches = [(pointer, schema)] + [
            self.at(f"{pointer}/{word}/{index}")
            for word in ("allOf", "anyOf", "oneOf")
            for index in range(len(schema.get(word, [])))
        ]
        if isinstance(value, list) and "items" in schema:
            return [
                problem
                for index, item in enumerate(value)
                for problem in self.undeclared(f"{pointer}/items", item, f"{where}[{index}]")
            ]
        if not isinstance(value, dict) or not any("properties" in b for _, b in branches):
            return []
        if any(b.get("additionalProperties") not in (None, False) for _, b in branches):
            return []
        found = []
        for key, item in value.items():
            owner = next((p for p, b in branches if key in b.get("properties", {})), None)
            if owner is None:
                found.append(f"{where}.{key} is not in the description")
            else:
                found += self.undeclared(
                    f"{owner}/properties/{_escape(key)}", item, f"{where}.{key}"
                )
        return found

    def json_schema(self, pointer: str) -> str | None:
        """The pointer of the JSON schema of a request body or response at ``pointer``."""
        pointer, node = self.at(pointer)
        if "application/json" not in node.get("content", {}):
            return None
        return f"{pointer}/content/application~1json/schema"

    def example(self, operation: Operation, status: int) -> Json:
        """A copy of GitHub's example answer (the first of a list) for ``status``."""
        pointer = f"{operation.pointer}/responses/{status}"
        pointer, response = self.at(pointer)
        examples = response["content"]["application/json"]["examples"]
        _, example = self.at(f"{pointer}/content/application~1json/examples/{next(iter(examples))}")
        value = example["value"]
        while isinstance(value, dict) and "$ref" in value:  # to an example object
            value = self.at(value["$ref"].removeprefix("#"))[1]["value"]
        return copy.deepcopy(value[0] if isinstance(value, list) else value)


@cache
def github_description() -> Description:
    """api.github.com's description, loaded once per test process."""
    path = package_file("@octokit/openapi", "generated/api.github.com.json")
    return Description(json.loads(path.read_bytes(), object_hook=_nullable))
