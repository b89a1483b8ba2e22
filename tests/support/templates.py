"""Templates the tests push: a ``command`` agent running a script, outside any sandbox."""

from __future__ import annotations

import textwrap


def scripted(name: str, script: str, description: str = "a scripted command agent") -> str:
    """A template whose agent runs ``script`` (one script can serve every stage: it sees
    ``TASKYARD_STAGE`` and ``TASKYARD_PROMPT``)."""
    body = textwrap.indent(script.strip(), "    ")
    return (
        f"name: {name}\ndescription: {description}\nsandbox: none\n"
        f"agent:\n  kind: command\n  command: |\n{body}\n"
    )
