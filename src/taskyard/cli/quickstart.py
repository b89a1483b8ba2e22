"""``taskyard quickstart``: a first task from start to pull request, with no account anywhere.

It makes a small local repository and a template whose agent is a shell script (the
``command`` agent, so no model key is needed), then takes one task through Plan → Code →
Review. Each step is printed as the command a person would type, and run; with
``--manual`` the approvals are left to the person, in another terminal. It ends at the
task's pull request on the built-in local forge.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import click

from taskyard.cli import progress
from taskyard.cli.context import finish, globals_of, pass_client
from taskyard.cli.output import emit_json, hint, paint
from taskyard.sdk import FINAL_STATUSES, Client, InvalidInput, Task

TEMPLATE = """\
# The quickstart's template: a shell script stands in for the coding agent, so no
# model and no account are needed. To use Claude Code instead:
#   taskyard secrets set ANTHROPIC_API_KEY        (paste the key when asked)
#   agent: {kind: claude-code}                     (here, then push this file again)
name: quickstart
description: A shell script standing in for a coding agent
agent:
  kind: command
  command: |
    case "$TASKYARD_STAGE" in
      plan) echo "Plan: add GREETING.md, saying hello from $TASKYARD_TASK." ;;
      code) printf '# Hello from taskyard\\n\\nWritten for %s by the quickstart agent.\\n' \\
              "$TASKYARD_TASK" > GREETING.md
            echo "Wrote GREETING.md." ;;
      review) echo "Review: GREETING.md says hello, and nothing else changed." ;;
    esac
network: {policy: none}
"""
TITLE = "Add a greeting"
DESCRIPTION = "Add GREETING.md saying hello."
GIT_ENV = {
    "GIT_AUTHOR_NAME": "taskyard quickstart",
    "GIT_AUTHOR_EMAIL": "quickstart@taskyard.invalid",
    "GIT_COMMITTER_NAME": "taskyard quickstart",
    "GIT_COMMITTER_EMAIL": "quickstart@taskyard.invalid",
}


def _say(text: str = "") -> None:
    # The story goes to stdout, unless stdout is for JSON (or keys) only.
    found = globals_of()
    click.echo(text, err=found.fmt == "json" or found.quiet)


def _typed(*argv: str) -> None:
    """Show a command as a person would type it."""
    _say(paint("$ " + shlex.join(["taskyard", *argv]), "green", bold=True))


def _git(*args: str, cwd: Path | None = None) -> None:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def make_repository(path: Path) -> Path:
    """A bare repository with a README on ``main``: the task's remote (kept if present)."""
    if (path / "HEAD").is_file():
        return path
    path.mkdir(parents=True, exist_ok=True)
    _git("init", "-q", "--bare", "-b", "main", str(path))
    with tempfile.TemporaryDirectory(prefix="taskyard-quickstart-") as work:
        root = Path(work)
        _git("init", "-q", "-b", "main", str(root))
        (root / "README.md").write_text("# shop\n\nThe taskyard quickstart's repository.\n")
        _git("add", ".", cwd=root)
        _git("commit", "-q", "-m", "Start the shop", cwd=root)
        _git("push", "-q", str(path), "main", cwd=root)
    return path


def _gate(client: Client, key: str, stage: str, manual: bool, timeout: float) -> Task:
    """Wait for the approval gate at ``stage``; approve it, or let the person do it."""
    task = progress.wait(client, key, ("waiting",), stage=stage, timeout=timeout)
    if task["status"] in FINAL_STATUSES:  # a person (--manual) was quicker: it moved on
        return task
    _say(f"\n{key} waits at {stage}. What the agent said:")
    for event in client.tasks.events(key, kinds=("output", "agent"))["items"][-5:]:
        _say("  " + str(event["data"].get("line") or event["data"].get("text") or ""))
    if stage == "review":
        _typed("tasks", "diff", key)
        _say(client.tasks.diff(key).rstrip())
    _typed("tasks", "approve", key)
    if not manual:
        client.tasks.approve(key, "Approved by the quickstart")
    return task


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default="taskyard-quickstart",
    show_default=True,
    help="Where to put the example repository and template (on the server's machine).",
)
@click.option("--manual", is_flag=True, help="Leave the approvals to you, in another terminal.")
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=300,
    show_default=True,
    help="Seconds to wait at each step.",
)
@pass_client
def quickstart(client: Client, directory: Path, manual: bool, timeout: float) -> None:
    """Run a first task to a pull request, with no account or model key.

    Makes a local repository and a template whose agent is a shell script, then takes
    one task through Plan → Code → Review, printing each step as the command you would
    type. The server must run on this machine (`make run`).
    """
    directory = directory.resolve()
    repo = make_repository(directory / "shop.git")
    template = directory / "quickstart.yaml"
    if not template.exists():
        template.write_text(TEMPLATE)
    _say(f"Example repository: {repo}\nTemplate: {template}\n")

    _typed("templates", "push", str(template))
    pushed = client.templates.push(template)
    _say(f"Template {pushed['name']}, version {pushed['version']}.\n")

    _typed(
        "tasks",
        "create",
        "--title",
        TITLE,
        "--repo",
        str(repo),
        "--template",
        "quickstart",
        DESCRIPTION,
    )
    try:
        task = client.tasks.create_and_run(
            title=TITLE,
            repository=str(repo),
            template="quickstart",
            description=DESCRIPTION,
            origin="cli",
        )
    except InvalidInput as exc:
        if exc.details.get("setting") != "TASKYARD_LOCAL_REPOSITORY_ROOTS":
            raise
        raise click.ClickException(
            f"{exc.message}\nThe quickstart's repository is a local one ({repo}): start the "
            f"server with TASKYARD_LOCAL_REPOSITORY_ROOTS={directory} (or a directory above "
            "it) in its environment, then run the quickstart again. `make run` allows the "
            "directory it runs in."
        ) from exc
    key = task["key"]
    _say(f"Created {key}; it runs Plan → Code → Review. Follow it: taskyard tasks logs {key} -f")

    _gate(client, key, "plan", manual, timeout)
    _gate(client, key, "review", manual, timeout)
    task = progress.wait(client, key, timeout=timeout)
    finish(task)

    _say(f"\n{key} completed. Its pull request, on the local forge:")
    _typed("tasks", "pulls", key)
    page = f"{client.url.rstrip('/')}/tasks/{key}"
    for pull in task.get("pull_requests") or []:
        _say(
            f"  #{pull['number']} {pull['title']}: {pull['head']} → {pull['base']}, "
            f"+{pull['additions']} -{pull['deletions']}"
        )
    _say(f"  {page}  (sign in with your token)")
    _say("\nTo run Claude Code instead of the script:")
    _say("  taskyard secrets set ANTHROPIC_API_KEY")
    _say(f"  agent: {{kind: claude-code}}   in {template}, then push it again")
    if globals_of().fmt == "json":
        emit_json(task)
    elif globals_of().quiet:
        click.echo(key)
    hint("Next: `taskyard tasks list`, or `taskyard completion bash` for tab completion.")
