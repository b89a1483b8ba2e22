"""Renders the settings table of docs/configuration.md from ``taskyard.config.Settings``.

``--check`` exits 1 when the page is stale (``tests/test_docs.py`` runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from taskyard.config import Settings

PAGE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"
SHOWN_DEFAULTS = {"data_dir": "~/.local/share/taskyard"}


def table() -> str:
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = SHOWN_DEFAULTS.get(name, field.default)
        shown = f"`{default}`" if default not in ("", None, []) else "(empty)"
        rows.append(f"| `TASKYARD_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


def render(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


if __name__ == "__main__":
    current = PAGE.read_text()
    wanted = render(current)
    if "--check" in sys.argv:
        sys.exit(0 if current == wanted else 1)
    PAGE.write_text(wanted)
