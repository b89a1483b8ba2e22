"""Where a field of a task is found in a webhook's JSON body: a small, bounded language.

An expression is one of:

- a path, ``$.alert.title``, ``$.items[0].name``, ``$['odd key']``: the value there;
- a template, ``[{{ $.service }}] {{ $.alert.title }}``: text with paths in ``{{ }}``;
- plain text without ``{{``, taken as it is (``WEB`` as a team).

Only member and index steps exist: no filters, wildcards, recursion or functions, so
evaluating one is a walk of at most :data:`MAX_STEPS` steps, and its result has a
size. Expressions are parsed when a source is configured (:func:`parse`, a 400 that
names what is wrong) and evaluated for each delivery (:func:`evaluate`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from taskyard.model.errors import InvalidInput

MAX_EXPRESSION = 2_000  # characters of one expression
MAX_STEPS = 16  # steps of one path
MAX_PLACES = 20  # paths in one template
MAX_INDEX = 9_999
STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]{0,99})|\[([0-9]{1,4})\]|\['([^'\\]{1,100})'\]")
PLACE = re.compile(r"\{\{(.*?)\}\}", re.S)

Step = str | int


@dataclass(frozen=True)
class Expression:
    """Literal text and paths, in order: ``parts[i]`` is a str or a path (a tuple)."""

    parts: tuple[str | tuple[Step, ...], ...]

    @property
    def whole_path(self) -> bool:
        return len(self.parts) == 1 and isinstance(self.parts[0], tuple)


def parse_path(text: str, where: str) -> tuple[Step, ...]:
    """The steps of ``$...``; 400 naming ``where`` when it is not one."""
    text = text.strip()
    if not text.startswith("$"):
        raise InvalidInput(f"{where}: '{text[:100]}' is not a path: paths start with '$'.")
    steps: list[Step] = []
    position = 1
    while position < len(text):
        match = STEP.match(text, position)
        if match is None:
            raise InvalidInput(
                f"{where}: '{text[:100]}' is not a path taskyard reads at character "
                f"{position + 1}: write $.name, $[0] or $['a name'] steps only."
            )
        name, index, quoted = match.groups()
        steps.append(int(index) if index is not None else (name or quoted))
        position = match.end()
    if len(steps) > MAX_STEPS:
        raise InvalidInput(f"{where}: a path has at most {MAX_STEPS} steps.")
    return tuple(steps)


def parse(text: str, where: str) -> Expression:
    """``text`` as an expression (see the module's docstring); 400 naming ``where``."""
    if len(text) > MAX_EXPRESSION:
        raise InvalidInput(f"{where} is longer than {MAX_EXPRESSION} characters.")
    if text.strip().startswith("$") and "{{" not in text:
        return Expression((parse_path(text, where),))
    parts: list[str | tuple[Step, ...]] = []
    position = 0
    for match in PLACE.finditer(text):
        parts.append(text[position : match.start()])
        parts.append(parse_path(match.group(1), where))
        position = match.end()
    rest = text[position:]
    if "{{" in rest or "}}" in rest:
        raise InvalidInput(f"{where}: a '{{{{' has no matching '}}}}' (or the other way).")
    parts.append(rest)
    if sum(isinstance(p, tuple) for p in parts) > MAX_PLACES:
        raise InvalidInput(f"{where}: a template holds at most {MAX_PLACES} paths.")
    return Expression(tuple(p for p in parts if p != ""))


def lookup(document: Any, steps: Sequence[Step]) -> Any:
    """The value at ``steps`` in ``document``, or None when there is none."""
    value = document
    for step in steps:
        if isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, Mapping):
            value = value.get(step)
        else:
            return None
    return value


def text_of(value: Any, limit: int) -> str:
    """A value as text: strings as they are, numbers and booleans as JSON writes them,
    objects and arrays as compact JSON; nothing (null, absent) as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:limit]
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))[:limit]


def evaluate(expression: Expression, document: Any, limit: int) -> str:
    """``expression`` applied to ``document``, at most ``limit`` characters."""
    out: list[str] = []
    size = 0
    for part in expression.parts:
        piece = part if isinstance(part, str) else text_of(lookup(document, part), limit)
        out.append(piece[: limit - size])
        size += len(out[-1])
        if size >= limit:
            break
    return "".join(out)
