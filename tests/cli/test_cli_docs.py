"""docs/cli.md is generated from ``--help``: it must match the commands as they are."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import click

from taskyard.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts/gen_cli_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _paths(command: click.Command, path: str) -> list[str]:
    found = [path]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _paths(sub, f"{path} {name}")
    return found


def test_cli_reference_is_up_to_date() -> None:
    expected = _generator().render()
    actual = (ROOT / "docs/cli.md").read_text()
    assert actual == expected, "docs/cli.md is stale: run `python scripts/gen_cli_docs.py`"


def test_every_command_has_a_section_and_a_summary() -> None:
    docs = (ROOT / "docs/cli.md").read_text()
    for path in _paths(cli, "taskyard"):
        assert f"# {path}\n" in docs, f"{path} is missing from docs/cli.md"
    for command in cli.commands.values():
        subcommands = command.commands.values() if isinstance(command, click.Group) else []
        for each in [command, *subcommands]:
            assert each.help, f"{each.name} has no help text"
