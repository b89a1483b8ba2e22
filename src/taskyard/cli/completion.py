"""``taskyard completion bash|zsh|fish``: shell completion, task keys included.

Commands, options and choices complete from the command tree; a task KEY completes from
the server's most recent tasks (with their titles where the shell shows help), asked
with a short timeout so a slow server never hangs the shell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from click.shell_completion import CompletionItem, get_completion_class

from taskyard.cli.context import server
from taskyard.sdk import Client

SHELLS = ("bash", "zsh", "fish")
COMPLETION_TIMEOUT = 2.0
RECENT = 100


def complete_task_key(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    try:
        with Client(*server(ctx), timeout=COMPLETION_TIMEOUT) as client:
            found = client.tasks.list(limit=RECENT)["items"]
    except Exception:  # completion must never print a traceback into the shell
        return []
    prefix = incomplete.upper()
    return [CompletionItem(t["key"], help=t["title"]) for t in found if t["key"].startswith(prefix)]


def task_key(f: Callable[..., Any]) -> Callable[..., Any]:
    """The KEY argument of a task command, completed from the server's tasks."""
    return click.argument("key", shell_complete=complete_task_key)(f)


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash:  echo 'eval "$(taskyard completion bash)"' >> ~/.bashrc
    zsh:   echo 'eval "$(taskyard completion zsh)"' >> ~/.zshrc
    fish:  taskyard completion fish > ~/.config/fish/completions/taskyard.fish
    """
    root = click.get_current_context().find_root()
    cls = get_completion_class(shell)
    assert cls is not None  # every name in SHELLS is one click knows
    click.echo(cls(root.command, {}, "taskyard", "_TASKYARD_COMPLETE").source())
