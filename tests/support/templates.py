"""Templates the tests push: a ``command`` agent running a script, outside any sandbox."""

from __future__ import annotations

import textwrap


def scripted(name: str, script: str, more: str = "") -> str:
    """A template whose agent runs ``script`` (one script can serve every stage: it sees
    ``TASKYARD_STAGE`` and ``TASKYARD_PROMPT``); ``more`` is YAML added at the end."""
    body = textwrap.indent(script.strip(), "    ")
    return (
        f"name: {name}\ndescription: a scripted command agent\nsandbox: none\n"
        f"agent:\n  kind: command\n  command: |\n{body}\n{more}"
    )
