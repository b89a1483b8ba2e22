"""A YAML source as numbered lines, with each problem the validation found under its line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_LINES = 5000  # a template is at most a few hundred kB; beyond this the page says so


@dataclass
class Line:
    number: int
    text: str
    problems: list[str] = field(default_factory=list)


@dataclass
class AnnotatedSource:
    lines: list[Line]
    elsewhere: list[str]  # problems without a line (a missing field, say)
    cut: bool


def annotate(source: str, problems: Iterable[Mapping[str, Any]] = ()) -> AnnotatedSource:
    """``source``'s lines, each problem (``{"line", "field", "message"}``, as the API
    reports them) under its line."""
    lines = [Line(n, text) for n, text in enumerate(source.splitlines()[:MAX_LINES], 1)]
    elsewhere = []
    for problem in problems:
        number = problem.get("line")
        note = f"{problem.get('field', '')}: {problem.get('message', '')}".lstrip(": ")
        if isinstance(number, int) and lines and number >= 1:
            # YAML marks an unclosed bracket at the end, one line past the last.
            lines[min(number, len(lines)) - 1].problems.append(note)
        else:
            elsewhere.append(note)
    return AnnotatedSource(lines, elsewhere, cut=source.count("\n") >= MAX_LINES)
